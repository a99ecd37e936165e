//! `aws-cred keys`: an IAM user's long-term access key kept in the OS keyring instead of
//! `~/.aws/credentials`.
//!
//! - `add` reads the key (terminal prompt without echo, two lines on stdin, or the `[P]` section
//!   of the credentials file), checks it once with GetCallerIdentity, stores it in keyring entry
//!   `P` (service `aws-cred`), and writes `credential_process = aws-cred keys process --profile P`
//!   into `[profile P]` of the config file, so every AWS tool keeps working. Keys moved from the
//!   credentials file are removed from it last, once the keyring and the config hold them.
//! - `process` prints the stored key as credential_process JSON; aws-cred's own chain reads the
//!   keyring directly when it meets that line (`profile::long_term`).
//! - `list`, `remove`, and `rotate` (in [`rotate`]).
//!
//! The keyring is never replaced by a plain-text fallback: without one, every command fails with
//! exit 4 and says how to get one. Secrets stay in zeroizing buffers and never reach argv,
//! child environments, messages or Debug output.

pub(crate) mod rotate;

use crate::aws::{self, Aws, sts};
use crate::base::error::Problem;
use crate::os::Context;
use crate::os::keyring;
use crate::profile::Profiles;
use crate::profile::long_term::{self, StoredKeys, keyring_problem};
use crate::profile::writer::{self, HeaderStyle, WriteRequest};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use zeroize::Zeroizing;

const LOCK_TIMEOUT: Duration = Duration::from_secs(10);
const KEY_ID: &str = "aws_access_key_id";
const SECRET_KEY: &str = "aws_secret_access_key";

/// `AKIA****WXYZ`: enough to tell keys apart, not enough to use.
pub(crate) fn mask(access_key_id: &str) -> String {
    let chars: Vec<char> = access_key_id.chars().collect();
    if chars.len() < 12 {
        return "****".to_string();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// Where `add` reads the key from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The terminal: the key id, then the secret without echo.
    Prompt,
    /// Two lines on standard input: the key id, then the secret.
    Stdin,
    /// The `[P]` section of the shared credentials file (removed from it afterwards).
    CredentialsFile,
}

/// A key typed or read, before it is stored.
pub(crate) struct NewKey {
    pub access_key_id: String,
    pub secret_access_key: Zeroizing<String>,
}

impl NewKey {
    /// The key as typed or read: surrounding whitespace dropped from both halves.
    fn trimmed(id: &str, secret: &str) -> NewKey {
        NewKey {
            access_key_id: id.trim().to_string(),
            secret_access_key: Zeroizing::new(secret.trim().to_string()),
        }
    }

    fn stored(&self, now: SystemTime) -> StoredKeys {
        StoredKeys {
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.clone(),
            stored_at: Some(crate::base::time::rfc3339(now)),
        }
    }
}

/// Refuse what is not an IAM user's access key, before anything is sent or stored.
pub(crate) fn validate(key: &NewKey) -> Result<(), Problem> {
    let id = key.access_key_id.as_str();
    if id.starts_with("ASIA") {
        return Err(Problem::usage(format!(
            "{} is a temporary (session) key id; the keyring is for an IAM user's long-term key (AKIA...)",
            mask(id)
        ))
        .hint("sessions come and go: get them with aws-cred mfa or aws-cred export instead"));
    }
    let id_ok = (16..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric());
    if !id_ok {
        return Err(Problem::usage(format!(
            "the access key id must be 16-128 letters and digits, such as AKIAIOSFODNN7EXAMPLE (got {} characters)",
            id.chars().count()
        ))
        .hint("the id comes first, the secret second"));
    }
    let secret = key.secret_access_key.as_str();
    if secret.is_empty() || secret.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Problem::usage(
            "the secret access key is empty or contains spaces or control characters",
        )
        .hint("paste the secret exactly as IAM showed it"));
    }
    Ok(())
}

/// The run and the profile a keys operation works on (`add`, `rotate`).
#[derive(Clone, Copy)]
pub(crate) struct Run<'a> {
    pub ctx: &'a Context,
    pub profiles: &'a Profiles,
    pub aws: &'a Aws,
    /// Region to sign STS calls for.
    pub region: &'a str,
    /// The profile (and keyring entry) name.
    pub profile: &'a str,
}

/// What `add` needs.
pub(crate) struct AddRequest<'a> {
    pub run: Run<'a>,
    pub source: Source,
    pub check: bool,
    /// Replace a different key already stored, or a credential_process that is not ours.
    pub force: bool,
}

/// What `add` did.
#[derive(Debug)]
pub(crate) struct Added {
    pub access_key_id: String,
    /// Who the key belongs to (GetCallerIdentity), unless `--no-check`.
    pub arn: Option<String>,
    pub config: PathBuf,
    /// The credentials file the keys were moved out of.
    pub moved_from: Option<PathBuf>,
    /// Things the person should know (stderr).
    pub notes: Vec<String>,
}

/// Store a profile's key in the keyring and point its config at it. See the module docs.
pub(crate) async fn add(req: &AddRequest<'_>) -> anyhow::Result<Added> {
    let name = req.run.profile;
    writer::validate_profile_name(name).map_err(|err| Problem::usage(err.to_string()))?;
    check_profile_can_hold_keys(req.run.profiles, name, req.force)?;
    let key = read_key(req).await?;
    validate(&key)?;
    check_stored_key(name, &key, req.force)?;
    let arn = if req.check {
        Some(check_with_aws(req, &key).await?)
    } else {
        None
    };

    store(name, &key.stored(req.run.ctx.now()))?;

    let config = req.run.profiles.files.config.clone();
    point_config_at_keyring(&config, name)?;

    let mut notes = Vec::new();
    let credentials = &req.run.profiles.files.credentials;
    let moved_from = if req.source == Source::CredentialsFile {
        remove_from_credentials_file(&config, credentials, name)?;
        Some(credentials.clone())
    } else {
        if req.run.profiles.defining_file(name) == credentials.as_path()
            && req.run.profiles.get(name, KEY_ID).is_some()
        {
            notes.push(format!(
                "[{name}] in {} still holds keys in plain text, and AWS tools read them before credential_process; \
                 remove them (or run aws-cred keys add --profile {name} --from-credentials-file next time)",
                credentials.display()
            ));
        }
        None
    };
    Ok(Added {
        access_key_id: key.access_key_id,
        arn,
        config,
        moved_from,
        notes,
    })
}

/// A different key already stored for the profile is replaced only with `force`.
fn check_stored_key(name: &str, key: &NewKey, force: bool) -> anyhow::Result<()> {
    let existing = long_term::read_keyring(name)?;
    if let Some(old) = &existing
        && old.access_key_id != key.access_key_id
        && !force
    {
        return Err(Problem::usage(format!(
            "the keyring already holds another key for profile {name} ({})",
            mask(&old.access_key_id)
        ))
        .hint(format!(
            "replace it with --force, or rotate it in IAM and the keyring at once: aws-cred keys rotate --profile {name}"
        ))
        .into());
    }
    Ok(())
}

/// GetCallerIdentity with the key: who it belongs to, before anything is stored.
async fn check_with_aws(req: &AddRequest<'_>, key: &NewKey) -> anyhow::Result<String> {
    let creds = key.stored(req.run.ctx.now()).credentials();
    let identity = sts::get_caller_identity(req.run.aws, req.run.region, creds)
        .await
        .map_err(|err| {
            err.context(Problem::failure(format!(
                "AWS did not accept the key {}; nothing was stored",
                mask(&key.access_key_id)
            ))
            .hint("check the key id and secret (IAM > Users > Security credentials); --no-check stores them without asking AWS"))
        })?;
    Ok(identity.arn)
}

/// Set and remove keys of `[profile NAME]` in the config file, under the writer's lock.
fn edit_config(
    config: &Path,
    name: &str,
    set: &[(&str, &str)],
    remove: &[&str],
) -> Result<writer::WriteOutcome, writer::WriteError> {
    writer::write_profile(&WriteRequest {
        lock_timeout: LOCK_TIMEOUT,
        ..WriteRequest::edit(config, name, HeaderStyle::Config, set, remove)
    })
}

/// Writes `credential_process = aws-cred keys process --profile NAME` into `[profile NAME]`.
fn point_config_at_keyring(config: &Path, name: &str) -> Result<(), Problem> {
    let line = long_term::keyring_process_line(name);
    edit_config(config, name, &[("credential_process", &line)], &[]).map_err(|err| {
        Problem::new(
            err.exit(),
            format!(
                "the key is in the keyring (entry {name}), but {} could not be updated: {err}",
                config.display()
            ),
        )
        .hint(format!(
            "add this line to [profile {name}] by hand:\ncredential_process = {line}"
        ))
    })?;
    Ok(())
}

/// Removes the key lines of `[NAME]` from the credentials file, once the keyring and the config
/// hold the key.
fn remove_from_credentials_file(
    config: &Path,
    credentials: &Path,
    name: &str,
) -> Result<(), Problem> {
    writer::write_profile(&WriteRequest {
        lock_timeout: LOCK_TIMEOUT,
        ..WriteRequest::edit(
            credentials,
            name,
            HeaderStyle::Credentials,
            &[],
            &[KEY_ID, SECRET_KEY],
        )
    })
    .map_err(|err| {
        Problem::new(
            err.exit(),
            format!(
                "the key is in the keyring and {} points at it, but it could not be removed from {}: {err}",
                config.display(),
                credentials.display()
            ),
        )
        .hint(format!(
            "delete the {KEY_ID} and {SECRET_KEY} lines of [{name}] in {} by hand",
            credentials.display()
        ))
    })?;
    Ok(())
}

/// A role, SSO or web-identity profile gets its base credentials elsewhere: the keys belong in
/// its source profile. A credential_process that is not ours is not replaced without `force`.
fn check_profile_can_hold_keys(
    profiles: &Profiles,
    name: &str,
    force: bool,
) -> Result<(), Problem> {
    for key in [
        "role_arn",
        "sso_session",
        "sso_start_url",
        "web_identity_token_file",
        "credential_source",
    ] {
        if profiles.get(name, key).is_some() {
            return Err(Problem::usage(format!(
                "profile {name} has {key}: it does not use an access key of its own"
            ))
            .hint("store the key in the profile its source_profile names, or in a new profile"));
        }
    }
    if let Some(command) = profiles.get(name, "credential_process")
        && long_term::keyring_entry_of(command) != Some(name)
        && !force
    {
        return Err(Problem::usage(format!(
            "profile {name} already has credential_process = {command}"
        ))
        .hint("--force replaces it with aws-cred keys process"));
    }
    Ok(())
}

async fn read_key(req: &AddRequest<'_>) -> anyhow::Result<NewKey> {
    let name = req.run.profile;
    match req.source {
        Source::CredentialsFile => {
            let profiles = req.run.profiles;
            let credentials = &profiles.files.credentials;
            let in_file = profiles.defining_file(name) == credentials.as_path();
            let (Some(id), Some(secret), true) = (
                profiles.get(name, KEY_ID),
                profiles.get(name, SECRET_KEY),
                in_file,
            ) else {
                return Err(Problem::usage(format!(
                    "[{name}] in {} holds no {KEY_ID} and {SECRET_KEY}",
                    credentials.display()
                ))
                .hint("without --from-credentials-file, aws-cred keys add asks for the key (or reads it with --stdin)")
                .into());
            };
            if profiles.get(name, "aws_session_token").is_some() {
                return Err(Problem::usage(format!(
                    "[{name}] in {} holds session credentials (aws_session_token), not an IAM user's key",
                    credentials.display()
                ))
                .into());
            }
            Ok(NewKey::trimmed(id, secret))
        }
        Source::Stdin => {
            let ctx = req.run.ctx.clone();
            let lines = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
                let id = Zeroizing::new(ctx.read_stdin_line()?);
                let secret = Zeroizing::new(ctx.read_stdin_line()?);
                Ok((id, secret))
            })
            .await
            .map_err(|err| anyhow::anyhow!("reading standard input: {err}"))?
            .map_err(|err| Problem::failure(format!("cannot read standard input: {err}")))?;
            let (id, secret) = lines;
            if id.trim().is_empty() || secret.is_empty() {
                return Err(Problem::usage(
                    "--stdin needs two lines: the access key id, then the secret access key",
                )
                .into());
            }
            Ok(NewKey::trimmed(&id, &secret))
        }
        Source::Prompt => {
            let ctx = req.run.ctx.clone();
            let id_prompt = format!("AWS access key ID for profile {name}: ");
            let answers = tokio::task::spawn_blocking(move || {
                let id = ctx.prompt_line(&id_prompt)?;
                let secret = Zeroizing::new(ctx.prompt_secret("Secret access key (not shown): ")?);
                Some((id, secret))
            })
            .await
            .ok()
            .flatten();
            let Some((id, secret)) = answers else {
                return Err(Problem::usage("no terminal to ask for the key on")
                    .hint(format!(
                        "pipe two lines (key id, secret) into aws-cred keys add --profile {name} --stdin,\n\
                         or move the keys already in the credentials file: --from-credentials-file"
                    ))
                    .into());
            };
            Ok(NewKey::trimmed(&id, &secret))
        }
    }
}

/// Store keys in entry `name` and read them back.
pub(crate) fn store(name: &str, keys: &StoredKeys) -> Result<(), Problem> {
    let text = keys.encode();
    let label = format!("aws-cred: AWS access key of profile {name}");
    keyring::set(name, &text, &label).map_err(|err| {
        keyring_problem(
            err,
            &format!("cannot store the key in keyring entry {name}"),
        )
    })?;
    match long_term::read_keyring(name)? {
        Some(back) if back.access_key_id == keys.access_key_id => Ok(()),
        _ => Err(Problem::failure(format!(
            "the keyring did not keep the key for profile {name} (reading it back gave something else)"
        ))),
    }
}

/// What `remove` did.
#[derive(Debug)]
pub(crate) struct Removed {
    /// The key id that was stored, when there was an entry.
    pub access_key_id: Option<String>,
    /// The `credential_process` line went from this config file.
    pub config_cleaned: Option<PathBuf>,
}

/// Delete keyring entry `name`, and the credential_process line that pointed at it.
pub(crate) fn remove(profiles: &Profiles, name: &str) -> anyhow::Result<Removed> {
    let existing = match long_term::read_keyring(name) {
        Ok(keys) => keys.map(|k| k.access_key_id),
        // An entry aws-cred cannot parse is still removed.
        Err(problem) if problem.exit == crate::base::error::Exit::Failure => None,
        Err(problem) => return Err(problem.into()),
    };
    let deleted = keyring::delete(name)
        .map_err(|err| keyring_problem(err, &format!("cannot delete keyring entry {name}")))?;
    let mut config_cleaned = None;
    if long_term::keyring_entry_of_profile(profiles, name) == Some(name) {
        let config = &profiles.files.config;
        edit_config(config, name, &[], &["credential_process"]).map_err(|err| {
            Problem::new(
                err.exit(),
                format!(
                    "the keyring entry is gone, but {} could not be updated: {err}",
                    config.display()
                ),
            )
        })?;
        config_cleaned = Some(config.clone());
    }
    if !deleted && config_cleaned.is_none() {
        return Err(
            Problem::usage(format!("the OS keyring has no keys for profile {name}"))
                .hint("aws-cred keys list shows the profiles it has")
                .into(),
        );
    }
    Ok(Removed {
        access_key_id: existing,
        config_cleaned,
    })
}

/// One keyring entry, for `list`.
#[derive(Debug)]
pub(crate) struct Listed {
    pub profile: String,
    pub access_key_id: Option<String>,
    pub stored_at: Option<String>,
    /// A profile's credential_process reads this entry.
    pub configured: bool,
    /// Why the entry could not be read.
    pub problem: Option<String>,
    /// From IAM with `--check`: when the key was created, and whether it is Active.
    pub created: Option<SystemTime>,
    pub status: Option<String>,
}

/// Every entry aws-cred stored, with its key id; with `check`, the key's age and status from
/// IAM (each key asks about itself).
pub(crate) async fn list(
    profiles: &Profiles,
    aws: &Aws,
    check: bool,
) -> anyhow::Result<Vec<Listed>> {
    let names =
        keyring::names().map_err(|err| keyring_problem(err, "cannot list the keyring entries"))?;
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let configured = profiles
            .names()
            .iter()
            .any(|p| long_term::keyring_entry_of_profile(profiles, p) == Some(name.as_str()));
        let mut listed = Listed {
            profile: name.clone(),
            access_key_id: None,
            stored_at: None,
            configured,
            problem: None,
            created: None,
            status: None,
        };
        match long_term::read_keyring(&name) {
            Ok(Some(keys)) => {
                if check {
                    match key_metadata(aws, &keys).await {
                        Ok((created, status)) => {
                            listed.created = created;
                            listed.status = status;
                        }
                        Err(err) => listed.problem = Some(crate::base::error::first_line(&err)),
                    }
                }
                listed.access_key_id = Some(keys.access_key_id);
                listed.stored_at = keys.stored_at;
            }
            Ok(None) => continue,
            Err(problem) if problem.exit == crate::base::error::Exit::Failure => {
                listed.problem = Some(problem.message);
            }
            Err(problem) => return Err(problem.into()),
        }
        out.push(listed);
    }
    Ok(out)
}

/// IAM ListAccessKeys, signed by the key itself: its creation time and status.
async fn key_metadata(
    aws: &Aws,
    keys: &StoredKeys,
) -> anyhow::Result<(Option<SystemTime>, Option<String>)> {
    let listed = rotate::list_access_keys(aws, keys.credentials()).await?;
    let this = listed
        .into_iter()
        .find(|k| k.access_key_id == keys.access_key_id);
    Ok(match this {
        Some(k) => (k.created, Some(k.status)),
        None => (None, Some("unknown to IAM".to_string())),
    })
}

/// The IAM region: IAM is global, its calls are signed for us-east-1.
pub(crate) const IAM_REGION: &str = aws::FALLBACK_REGION;
