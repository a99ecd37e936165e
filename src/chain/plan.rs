//! The plan of a profile in the ~/.aws files: one base source of credentials (static keys, the
//! OS keyring, credential_process, SSO, an `aws login` session, web identity, or a named
//! credential_source) followed by the roles to assume, in order. Pure: no I/O, no clock, so it
//! is tested on its own (and `status` walks it without calling anything). Executing a plan is
//! the `profile` link's job (`chain/profile.rs`).

use crate::aws::sts::RoleRequest;
use crate::base::error::Problem;
use crate::login::LoginSession;
use crate::profile::Profiles;
use crate::sso::SsoConfig;
use aws_config::profile::Profile;

/// Where the chain's first credentials come from, before any role is assumed. `profile` is
/// the profile that holds the source (the selected one, or the end of its `source_profile`
/// chain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// `aws_access_key_id` and `aws_secret_access_key` in the profile.
    Static {
        /// The profile with the keys.
        profile: String,
    },
    /// `credential_process`: a command that prints the credentials as JSON.
    Process {
        /// The profile that names the command.
        profile: String,
        /// The command line, as written in the profile.
        command: String,
    },
    /// `credential_process = aws-cred keys process --profile ENTRY`: the keys are in the OS
    /// keyring, read directly (no process).
    Keyring {
        /// The profile that names the command.
        profile: String,
        /// The keyring entry holding the keys (the command's `--profile`).
        entry: String,
    },
    /// IAM Identity Center: role credentials got with the cached SSO token.
    Sso(SsoConfig),
    /// An `aws login` console session (`login_session`).
    Login(LoginSession),
    /// `web_identity_token_file` with `role_arn`: AssumeRoleWithWebIdentity with the token.
    WebIdentity {
        /// The profile with the token file.
        profile: String,
        /// The role to assume (its ARN and session name only).
        role: RoleRequest,
        /// The path of the file holding the OIDC token.
        token_file: String,
    },
    /// `credential_source`: credentials from where the program runs.
    Named {
        /// The role profile that names the source.
        profile: String,
        /// Which source it names.
        source: NamedSource,
    },
}

/// The values of `credential_source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedSource {
    /// The `AWS_*` key variables.
    Environment,
    /// The EC2 instance metadata service (the instance profile's role).
    Ec2InstanceMetadata,
    /// The ECS container credentials endpoint.
    EcsContainer,
}

impl Base {
    /// Where the base's credentials come from, in words: the one description the chain's
    /// trace and `status`'s inspection both start from (each adds what it alone knows: the
    /// trace how the credentials were got, status what the keys are). `file` names the file
    /// that defines a profile: a path in the trace, `credentials` or `config` in status.
    pub(crate) fn describe(&self, file: impl Fn(&str) -> String) -> String {
        match self {
            Base::Static { profile } => format!("keys of profile {profile} ({})", file(profile)),
            Base::Process { profile, .. } => format!("credential_process of profile {profile}"),
            Base::Keyring { profile, entry } => format!(
                "keys of profile {profile} in the OS keyring (entry {entry} of service aws-cred)"
            ),
            Base::Sso(sso) => match (&sso.account_id, &sso.role_name) {
                (Some(account), Some(role)) => format!(
                    "SSO profile {}: role {role} in account {account}, {}",
                    sso.profile,
                    sso.describe()
                ),
                _ => format!(
                    "SSO profile {}: account and role chosen at login, {}",
                    sso.profile,
                    sso.describe()
                ),
            },
            Base::Login(session) => session.describe(),
            Base::WebIdentity {
                profile,
                role,
                token_file,
            } => format!(
                "role {} with the web identity token {token_file} (profile {profile})",
                role.role_arn
            ),
            Base::Named { profile, source } => {
                format!("credential_source = {} (profile {profile})", source.word())
            }
        }
    }
}

impl NamedSource {
    /// The value of `credential_source` that names it.
    pub(crate) fn word(&self) -> &'static str {
        match self {
            NamedSource::Environment => "Environment",
            NamedSource::Ec2InstanceMetadata => "Ec2InstanceMetadata",
            NamedSource::EcsContainer => "EcsContainer",
        }
    }
}

/// One role to assume with the credentials of the step before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleStep {
    /// The profile with the `role_arn`.
    pub profile: String,
    /// The AssumeRole call: ARN, session name, external id, duration, tags.
    pub role: RoleRequest,
    /// The profile's `mfa_serial`: the MFA device whose code the role requires.
    pub mfa_serial: Option<String>,
}

/// How a profile gets its credentials: a base source, then roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The source of the first credentials.
    pub base: Base,
    /// Roles to assume, first to last.
    pub roles: Vec<RoleStep>,
}

/// What [`plan`] found for the selected profile.
#[derive(Debug, PartialEq, Eq)]
pub enum Planned {
    /// The profile has credentials, got this way.
    Plan(Plan),
    /// The selected profile exists (or is the implicit default) but yields no credentials.
    Nothing(String),
}

fn config_error(message: String, hint: &str) -> Problem {
    Problem::usage(message).hint(hint.to_string())
}

/// Work out how `profiles.selected` gets its credentials.
pub fn plan(profiles: &Profiles) -> Result<Planned, Problem> {
    let set = &profiles.set;
    let selected = profiles.selected.as_str();
    if set.get_profile(selected).is_none() {
        if let Some(problem) = profiles.no_such_profile() {
            return Err(problem);
        }
        return Ok(Planned::Nothing(if profiles.any_file_exists() {
            "no [default] profile; choose one with --profile or AWS_PROFILE".to_string()
        } else {
            format!(
                "no {} or {}",
                profiles.files.config.display(),
                profiles.files.credentials.display()
            )
        }));
    }
    plan_named(profiles, selected)
}

/// How many profiles one `source_profile` chain may pass through: far more than any real role
/// chain (AWS caps chained role sessions at an hour; people use two or three), and few enough
/// that `status` on a config of thousands of chained profiles stays quick and small.
pub(crate) const MAX_CHAIN: usize = 64;

/// The plan of the profile `selected`, which exists (`status` plans every profile with it;
/// pure, like [`plan`]).
pub(crate) fn plan_named(profiles: &Profiles, selected: &str) -> Result<Planned, Problem> {
    let set = &profiles.set;
    let mut roles: Vec<RoleStep> = Vec::new();
    let mut visited: Vec<&str> = Vec::new();
    let mut name = selected;
    // Every profile is visited at most once, and at most MAX_CHAIN of them.
    let base = loop {
        if visited.len() >= MAX_CHAIN {
            return Err(config_error(
                format!(
                    "profile {selected:?}: its source_profile chain is longer than {MAX_CHAIN} profiles ({} -> ...); aws-cred follows at most {MAX_CHAIN}",
                    visited[..3].join(" -> ")
                ),
                "real role chains are a few profiles long: point source_profile at the profile with the keys",
            ));
        }
        let Some(profile) = set.get_profile(name) else {
            return Err(config_error(
                format!(
                    "profile {:?} names source_profile {name:?}, which does not exist",
                    visited.last().copied().unwrap_or(selected)
                ),
                "fix source_profile, or create the missing profile",
            ));
        };
        if visited.contains(&name) {
            visited.push(name);
            return Err(config_error(
                format!("source_profile loop: {}", visited.join(" -> ")),
                "one profile in the chain must hold keys or another credential source",
            ));
        }
        visited.push(name);

        // A source profile with keys is used as keys, whatever else it says.
        if visited.len() > 1 && has_static_keys(profile) {
            break Base::Static {
                profile: name.to_string(),
            };
        }

        let role_arn = profile.get("role_arn");
        let web_identity = profile.get("web_identity_token_file");
        if let (Some(role_arn), None) = (role_arn, web_identity) {
            roles.push(role_step(profile, role_arn)?);
            if let Some(source) = source_of_role(profile)? {
                name = source;
                continue;
            }
        }
        match base_of(profiles, profile)? {
            Some(base) => break base,
            None if visited.len() == 1 && roles.is_empty() => {
                return Ok(Planned::Nothing(format!(
                    "profile {name:?} in {} has no credentials (no keys, role_arn, sso_*, login_session, credential_process or web_identity_token_file)",
                    profiles.defining_file(name).display()
                )));
            }
            None => {
                return Err(config_error(
                    format!("source profile {name:?} has no credentials"),
                    "give it aws_access_key_id/aws_secret_access_key or another credential source",
                ));
            }
        }
    };
    roles.reverse();
    Ok(Planned::Plan(Plan { base, roles }))
}

/// The profile a role profile takes its credentials from; `None` when they are in the
/// profile itself (`credential_source`, or `source_profile` naming itself).
fn source_of_role(profile: &Profile) -> Result<Option<&str>, Problem> {
    let name = profile.name();
    match (
        profile.get("source_profile"),
        profile.get("credential_source"),
    ) {
        (Some(_), Some(_)) => Err(config_error(
            format!("profile {name:?} has both source_profile and credential_source"),
            "keep only one of them",
        )),
        (None, None) => Err(config_error(
            format!("profile {name:?} has role_arn but no source_profile or credential_source"),
            "add source_profile = PROFILE_WITH_KEYS (or credential_source = Environment | Ec2InstanceMetadata | EcsContainer)",
        )),
        (Some(source), None) if source != name => Ok(Some(source)),
        _ => Ok(None),
    }
}

/// A key of one profile; blank values count as absent (see [`Profiles::get`]).
fn key<'a>(profile: &'a Profile, name: &str) -> Option<&'a str> {
    crate::profile::nonblank(profile.get(name))
}

fn has_static_keys(profile: &Profile) -> bool {
    key(profile, "aws_access_key_id").is_some() && key(profile, "aws_secret_access_key").is_some()
}

fn role_step(profile: &Profile, role_arn: &str) -> Result<RoleStep, Problem> {
    let duration_seconds = match profile.get("duration_seconds") {
        None => None,
        Some(text) => Some(text.trim().parse::<i32>().map_err(|_| {
            config_error(
                format!(
                    "profile {:?}: duration_seconds = {text:?} is not a number of seconds",
                    profile.name()
                ),
                "use a whole number between 900 and 43200",
            )
        })?),
    };
    let (tags, transitive_tag_keys) = session_tags(profile)?;
    Ok(RoleStep {
        profile: profile.name().to_string(),
        role: RoleRequest {
            role_arn: role_arn.to_string(),
            session_name: profile.get("role_session_name").map(str::to_string),
            external_id: profile.get("external_id").map(str::to_string),
            duration_seconds,
            source_identity: key(profile, "source_identity").map(|v| v.trim().to_string()),
            tags,
            transitive_tag_keys,
        },
        mfa_serial: profile.get("mfa_serial").map(str::to_string),
    })
}

/// Session tags, key and value, in the profile's order.
type Tags = Vec<(String, String)>;

/// The most session tags AWS takes in one AssumeRole.
const MAX_SESSION_TAGS: usize = 50;

/// `session_tags = key=value,key2=value2` and `transitive_session_tags = key,key2`, as
/// aws-vault reads them: pairs split at `,` and at the first `=`, each part trimmed; every
/// transitive key must be one of the tags. A malformed list is a config error naming the key.
fn session_tags(profile: &Profile) -> Result<(Tags, Vec<String>), Problem> {
    let bad = |what: String| {
        config_error(
            format!("profile {:?}: {what}", profile.name()),
            "write session_tags = key=value,key2=value2 and transitive_session_tags = key,key2 (keys of session_tags)",
        )
    };
    let mut tags: Tags = Vec::new();
    for pair in key(profile, "session_tags")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
    {
        let (name, value) = pair
            .split_once('=')
            .map(|(k, v)| (k.trim(), v.trim()))
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| bad(format!("session_tags has {pair:?}, not key=value")))?;
        if tags.iter().any(|(k, _)| k.eq_ignore_ascii_case(name)) {
            return Err(bad(format!("session_tags names {name:?} twice")));
        }
        tags.push((name.to_string(), value.to_string()));
    }
    if tags.len() > MAX_SESSION_TAGS {
        return Err(bad(format!(
            "session_tags has {} tags; AWS takes at most {MAX_SESSION_TAGS}",
            tags.len()
        )));
    }
    let mut transitive = Vec::new();
    for name in key(profile, "transitive_session_tags")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        if !tags.iter().any(|(k, _)| k.eq_ignore_ascii_case(name)) {
            return Err(bad(format!(
                "transitive_session_tags names {name:?}, which is not in session_tags"
            )));
        }
        transitive.push(name.to_string());
    }
    Ok((tags, transitive))
}

/// The base source of one profile, in the SDKs' order: credential_source, web identity,
/// SSO, login_session (after SSO and before credential_process, as aws-config), static keys. `None`: the profile has none of them.
fn base_of(profiles: &Profiles, profile: &Profile) -> Result<Option<Base>, Problem> {
    let name = profile.name().to_string();
    if let Some(source) = profile.get("credential_source") {
        return Ok(Some(Base::Named {
            source: named_source(&name, source)?,
            profile: name,
        }));
    }
    match (
        profile.get("role_arn"),
        profile.get("web_identity_token_file"),
    ) {
        (Some(role_arn), Some(token_file)) => {
            return Ok(Some(Base::WebIdentity {
                profile: name,
                role: RoleRequest {
                    role_arn: role_arn.to_string(),
                    session_name: profile.get("role_session_name").map(str::to_string),
                    ..Default::default()
                },
                token_file: token_file.to_string(),
            }));
        }
        (None, Some(_)) => {
            return Err(config_error(
                format!("profile {name:?} has web_identity_token_file but no role_arn"),
                "add role_arn = the role to assume with the token",
            ));
        }
        _ => {}
    }
    if let Some(sso) = crate::sso::config::sso_of(profiles, profile)? {
        return Ok(Some(Base::Sso(sso)));
    }
    if let Some(arn) = profile
        .get("login_session")
        .map(str::trim)
        .filter(|arn| !arn.is_empty())
    {
        return Ok(Some(Base::Login(LoginSession {
            profile: name,
            arn: arn.to_string(),
            region: profile
                .get("region")
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_string),
        })));
    }
    if let Some(command) = profile.get("credential_process") {
        if let Some(entry) = crate::profile::long_term::keyring_entry_of(command) {
            return Ok(Some(Base::Keyring {
                profile: name,
                entry: entry.to_string(),
            }));
        }
        return Ok(Some(Base::Process {
            profile: name,
            command: command.to_string(),
        }));
    }
    static_keys(profile)
}

fn named_source(name: &str, source: &str) -> Result<NamedSource, Problem> {
    match source.trim() {
        "Environment" => Ok(NamedSource::Environment),
        "Ec2InstanceMetadata" => Ok(NamedSource::Ec2InstanceMetadata),
        "EcsContainer" => Ok(NamedSource::EcsContainer),
        other => Err(config_error(
            format!("profile {name:?}: unknown credential_source {other:?}"),
            "use Environment, Ec2InstanceMetadata or EcsContainer",
        )),
    }
}

/// Keys in the profile (both halves, or neither).
fn static_keys(profile: &Profile) -> Result<Option<Base>, Problem> {
    let name = profile.name().to_string();
    let (key, secret, token) = (
        key(profile, "aws_access_key_id"),
        key(profile, "aws_secret_access_key"),
        key(profile, "aws_session_token"),
    );
    match (key, secret, token) {
        (None, None, None) => Ok(None),
        (Some(_), Some(_), _) => Ok(Some(Base::Static { profile: name })),
        (None, _, _) => Err(config_error(
            format!("profile {name:?} has no aws_access_key_id"),
            "add aws_access_key_id next to aws_secret_access_key",
        )),
        (Some(_), None, _) => Err(config_error(
            format!("profile {name:?} has no aws_secret_access_key"),
            "add aws_secret_access_key next to aws_access_key_id",
        )),
    }
}

#[cfg(test)]
mod tests;
