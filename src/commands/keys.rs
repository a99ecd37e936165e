//! `aws-cred keys add | process | list | remove | rotate`: long-term keys in the OS keyring.

use super::{Setup, emit};
use crate::base::error::Problem;
use crate::cli::{KeysAddArgs, KeysArgs, KeysCommand, KeysListArgs, KeysRemoveArgs};
use crate::keys::{self, mask};
use crate::output::keys::Row;
use crate::output::{self, Exports, Format};
use crate::profile::long_term;
use std::time::SystemTime;

pub(crate) async fn run(setup: &Setup, args: &KeysArgs) -> anyhow::Result<()> {
    match &args.command {
        KeysCommand::Add(add) => run_add(setup, add).await,
        KeysCommand::Process => process(setup),
        KeysCommand::List(list) => run_list(setup, list).await,
        KeysCommand::Remove(remove_args) => remove(setup, remove_args),
        KeysCommand::Rotate => rotate(setup).await,
    }
}

async fn run_add(setup: &Setup, args: &KeysAddArgs) -> anyhow::Result<()> {
    let profile = setup.profiles.selected.as_str();
    let source = if args.from_credentials_file {
        keys::Source::CredentialsFile
    } else if args.stdin {
        keys::Source::Stdin
    } else {
        keys::Source::Prompt
    };
    let added = keys::add(&keys::AddRequest {
        run: keys_run(setup, profile),
        source,
        check: !args.no_check,
        force: args.force,
    })
    .await?;
    let owner = added
        .arn
        .as_deref()
        .map(|arn| format!(" ({arn})"))
        .unwrap_or_default();
    eprintln!(
        "stored key {}{owner} in the OS keyring (service aws-cred, entry {profile})",
        mask(&added.access_key_id)
    );
    eprintln!(
        "[profile {profile}] of {} now reads it: credential_process = {}",
        added.config.display(),
        long_term::keyring_process_line(profile)
    );
    if let Some(path) = &added.moved_from {
        eprintln!("removed the key from [{profile}] of {}", path.display());
    }
    for note in &added.notes {
        eprintln!("note: {note}");
    }
    Ok(())
}

/// credential_process: the JSON on stdout, nothing else; never a prompt.
fn process(setup: &Setup) -> anyhow::Result<()> {
    let profile = setup.profiles.selected.as_str();
    let stored = long_term::keyring_credentials(profile)?;
    let credentials = stored.credentials();
    let exports = Exports {
        credentials: &credentials,
        region: None,
        unset_profile: false,
        extras: Vec::new(),
    };
    let text =
        output::render(Format::Json, &exports).map_err(|err| Problem::failure(err.to_string()))?;
    emit(&text)
}

async fn run_list(setup: &Setup, args: &KeysListArgs) -> anyhow::Result<()> {
    let listed = keys::list(&setup.profiles, &setup.aws, args.check).await?;
    let now = setup.ctx.now();
    let rows: Vec<Row> = listed
        .into_iter()
        .map(|l| Row {
            access_key: l.access_key_id.as_deref().map(mask),
            created: l.created.map(crate::base::time::rfc3339),
            age_days: l.created.map(|c| age_days(now, c)),
            profile: l.profile,
            stored_at: l.stored_at,
            configured: l.configured,
            status: l.status,
            problem: l.problem,
        })
        .collect();
    if args.json {
        emit(&output::keys::json(&rows)?)?;
        return keys_checked(&rows, args.check);
    }
    if rows.is_empty() {
        eprintln!(
            "the OS keyring holds no aws-cred keys; store some with aws-cred keys add --profile NAME"
        );
        return Ok(());
    }
    emit(&output::keys::table(&rows, args.check))?;
    keys_checked(&rows, args.check)
}

/// With `--check`, the run fails (after the whole list) when a key could not be read or IAM
/// does not call it Active, as `status --check` fails for a profile.
fn keys_checked(rows: &[Row], check: bool) -> anyhow::Result<()> {
    let failed = rows
        .iter()
        .filter(|row| row.problem.is_some() || row.status.as_deref() != Some("Active"))
        .count();
    if !check {
        return Ok(());
    }
    super::checks_passed(
        failed,
        rows.len(),
        ("key", "the list"),
        "each failed key's line says why; aws-cred keys rotate --profile NAME replaces a key",
    )
}

fn age_days(now: SystemTime, created: SystemTime) -> u64 {
    now.duration_since(created)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0)
}

/// Whether the credentials file holds the key `access_key_id` in some section (a copy of the
/// secret besides the keyring's).
fn copy_in_credentials_file(setup: &Setup, access_key_id: &str) -> bool {
    let profiles = &setup.profiles;
    profiles
        .names()
        .into_iter()
        .any(|name| profiles.credential(name, "aws_access_key_id") == Some(access_key_id))
}

fn remove(setup: &Setup, args: &KeysRemoveArgs) -> anyhow::Result<()> {
    let profile = setup.profiles.selected.as_str();
    // The keyring may hold the only copy of the secret (after `keys add
    // --from-credentials-file`): deleting it then is for good, so ask first.
    let only_copy = long_term::keyring_credentials(profile)
        .ok()
        .map(|stored| stored.credentials().access_key_id().to_string())
        .filter(|id| !copy_in_credentials_file(setup, id));
    if let Some(id) = &only_copy {
        super::confirm(
            &setup.ctx,
            args.yes,
            &format!(
                "The OS keyring holds the only copy of the secret of key {} (profile {profile}); once deleted it cannot be shown again. Delete it? [y/N] ",
                mask(id)
            ),
            Problem::usage(format!(
                "keys remove would delete the only copy of the secret of key {}, and there is no terminal to confirm on",
                mask(id)
            ))
            .hint(format!(
                "keep a copy first if you need one (aws-cred keys process --profile {profile} prints it as JSON), then add --yes"
            )),
            Problem::usage("keys remove cancelled; the key stays in the OS keyring"),
        )?;
    }
    let removed = keys::remove(&setup.profiles, profile)?;
    match &removed.access_key_id {
        Some(id) => eprintln!(
            "deleted key {} of profile {profile} from the OS keyring; it still works in IAM until you deactivate or delete it",
            mask(id)
        ),
        None => eprintln!("the OS keyring had no readable key for profile {profile}"),
    }
    if let Some(config) = &removed.config_cleaned {
        eprintln!(
            "removed credential_process from [profile {profile}] of {}",
            config.display()
        );
    }
    if let Some(id) = &removed.access_key_id
        && let Ok(cache) = crate::mfa::cache(&setup.ctx)
    {
        crate::mfa::forget_sessions_of(&cache, id);
    }
    if only_copy.is_some() {
        eprintln!(
            "to use the key again: aws-cred keys add --profile {profile} (with its secret); without the secret, make a new key in IAM (aws iam create-access-key) and delete this one"
        );
    }
    Ok(())
}

async fn rotate(setup: &Setup) -> anyhow::Result<()> {
    let profile = setup.profiles.selected.as_str();
    let rotated = keys::rotate::rotate(&keys::rotate::RotateRequest {
        run: keys_run(setup, profile),
        propagation: keys::rotate::propagation(&setup.ctx),
    })
    .await?;
    let forgotten = crate::mfa::cache(&setup.ctx)
        .map(|cache| crate::mfa::forget_sessions_of(&cache, &rotated.old_key_id))
        .unwrap_or(0);
    eprintln!(
        "rotated the key of profile {profile} ({}): {} -> {}, stored in {}; the old key is deleted in IAM",
        rotated.arn,
        mask(&rotated.old_key_id),
        mask(&rotated.new_key_id),
        rotated.holder.describe()
    );
    if forgotten > 0 {
        eprintln!(
            "removed {forgotten} cached MFA session(s) made from the old key; run aws-cred mfa again for a new one"
        );
    }
    Ok(())
}

/// The run and `profile`, as the keys flows take them.
fn keys_run<'a>(setup: &'a Setup, profile: &'a str) -> keys::Run<'a> {
    keys::Run {
        ctx: &setup.ctx,
        profiles: &setup.profiles,
        aws: &setup.aws,
        region: setup.sts_region(),
        profile,
    }
}
