//! `aws-cred sso roles` and `aws-cred sso populate`: the accounts and roles the SSO token can
//! see, listed or written into ~/.aws/config as one profile each.

use super::{Setup, emit};
use crate::base::error::Problem;
use crate::cli::{SsoCommand, SsoPopulateArgs, SsoRolesArgs};
use crate::output;
use crate::profile::Selection;
use crate::settings;
use crate::sso::SsoConfig;
use crate::sso::populate;
use crate::sso::portal::Assignment;
use crate::sso::token;

pub(crate) async fn run(setup: &Setup, command: &SsoCommand) -> anyhow::Result<()> {
    match command {
        SsoCommand::Roles(args) => roles(setup, args).await,
        SsoCommand::Populate(args) => populate(setup, args).await,
    }
}

async fn roles(setup: &Setup, args: &SsoRolesArgs) -> anyhow::Result<()> {
    let config = sso_config(setup, args.sso_session.as_deref(), true)?;
    let assignments = assignments(setup, &config).await?;
    let text = match args.json {
        true => output::sso::roles_json(
            config.session_name.as_deref(),
            &config.start_url,
            &assignments,
        )?,
        false => output::sso::roles_table(&assignments),
    };
    emit(&text)
}

async fn populate(setup: &Setup, args: &SsoPopulateArgs) -> anyhow::Result<()> {
    let config = sso_config(setup, args.sso_session.as_deref(), false)?;
    let Some(session) = config.session_name.clone() else {
        return Err(Problem::usage("sso populate needs an [sso-session NAME]").into());
    };
    // --region, else the sso-session's own region (not AWS_REGION: the profiles are written
    // for everyone who reads the file).
    let region = match &setup.region {
        Some(r) if Some(r.source.as_str()) == settings::REGION.flag => r.name.clone(),
        _ => config.region.clone(),
    };
    let assignments = assignments(setup, &config).await?;
    let wanted = populate::wanted(&assignments, &session, &args.template, &region);
    let file = &setup.profiles.files.config;
    let changes = populate::populate(file, &session, &wanted, args.prune, args.dry_run)
        .map_err(crate::base::error::Problem::from)?;
    let shown = file.display().to_string();
    if args.dry_run {
        emit(&output::sso::populate_diff(&shown, &changes))?;
    }
    eprint!(
        "{}",
        output::sso::populate_summary(&shown, &changes, args.dry_run)
    );
    Ok(())
}

/// Every account and role, with the cached token (refreshed if near expiry, never a login).
async fn assignments(setup: &Setup, config: &SsoConfig) -> anyhow::Result<Vec<Assignment>> {
    let obtained = token::cached(&setup.ctx, &setup.aws, config).await?;
    Ok(crate::sso::portal::assignments(&setup.aws, config, &obtained.value.access_token).await?)
}

/// `--sso-session`, else (where allowed) `--profile`'s SSO settings, else the only sso-session.
fn sso_config(
    setup: &Setup,
    flag: Option<&str>,
    profile_allowed: bool,
) -> anyhow::Result<SsoConfig> {
    let profiles = &setup.profiles;
    if let Some(name) = flag {
        return Ok(crate::sso::config::sso_session_config(profiles, name)?);
    }
    if profile_allowed && profiles.selection == Selection::Flag {
        let name = &profiles.selected;
        let profile = profiles.selected_profile()?;
        return crate::sso::config::sso_of(profiles, profile)?.ok_or_else(|| {
            Problem::usage(format!("profile {name:?} has no SSO settings"))
                .hint("name an sso-session with --sso-session NAME")
                .into()
        });
    }
    let mut sessions: Vec<&str> = profiles.set.sso_sessions().collect();
    sessions.sort_unstable();
    match sessions.as_slice() {
        [only] => Ok(crate::sso::config::sso_session_config(profiles, only)?),
        [] => Err(Problem::usage(format!(
            "there is no [sso-session NAME] in {}",
            profiles.files.config.display()
        ))
        .hint("add one with sso_start_url and sso_region (aws configure sso writes one)")
        .into()),
        many => Err(
            Problem::usage(format!("choose an sso-session: {}", many.join(", ")))
                .hint("pass --sso-session NAME")
                .into(),
        ),
    }
}
