//! Link `profile`: the ~/.aws files. A profile resolves to a *plan*: one base source of
//! credentials (static keys, credential_process, SSO, web identity, or a named
//! credential_source) followed by the roles to assume, in order. Planning is pure (no I/O)
//! so it can be tested on its own; executing the plan makes the calls.

use super::{Found, Kind, Request, Step};
use crate::aws::sts::{self, RoleRequest};
use crate::base::error::Problem;
use crate::login::{How, LoginSession};
use crate::profile::Profiles;
use crate::sso::SsoConfig;
use aws_config::profile::Profile;
use aws_credential_types::Credentials;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    Static {
        profile: String,
    },
    Process {
        profile: String,
        command: String,
    },
    /// `credential_process = aws-cred keys process --profile ENTRY`: the keys are in the OS
    /// keyring, read directly (no process).
    Keyring {
        profile: String,
        entry: String,
    },
    Sso(SsoConfig),
    /// An `aws login` console session (`login_session`).
    Login(LoginSession),
    WebIdentity {
        profile: String,
        role: RoleRequest,
        token_file: String,
    },
    Named {
        profile: String,
        source: NamedSource,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedSource {
    Environment,
    Ec2InstanceMetadata,
    EcsContainer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleStep {
    pub profile: String,
    pub role: RoleRequest,
    pub mfa_serial: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub base: Base,
    /// Roles to assume, first to last.
    pub roles: Vec<RoleStep>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Planned {
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
        if profiles.selection.is_explicit() {
            let names = profiles.names();
            let available = if names.is_empty() {
                "there are no profiles".to_string()
            } else {
                format!("available: {}", names.join(", "))
            };
            return Err(Problem::usage(format!(
                "profile {selected:?} (from {}) is not in {} or {}; {available}",
                profiles.selection.describe(),
                profiles.files.config.display(),
                profiles.files.credentials.display()
            ))
            .hint("check the name, or create it with `aws configure --profile NAME`"));
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

/// The plan of the profile `selected`, which exists (`status` plans every profile with it;
/// pure, like [`plan`]).
pub fn plan_named(profiles: &Profiles, selected: &str) -> Result<Planned, Problem> {
    let set = &profiles.set;
    let mut roles: Vec<RoleStep> = Vec::new();
    let mut visited: Vec<&str> = Vec::new();
    let mut name = selected;
    // Every profile is visited at most once, so the loop ends within the number of profiles.
    let base = loop {
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
            match (
                profile.get("source_profile"),
                profile.get("credential_source"),
            ) {
                (Some(_), Some(_)) => {
                    return Err(config_error(
                        format!("profile {name:?} has both source_profile and credential_source"),
                        "keep only one of them",
                    ));
                }
                (None, None) => {
                    return Err(config_error(
                        format!(
                            "profile {name:?} has role_arn but no source_profile or credential_source"
                        ),
                        "add source_profile = PROFILE_WITH_KEYS (or credential_source = Environment | Ec2InstanceMetadata | EcsContainer)",
                    ));
                }
                (Some(source), None) if source != name => {
                    name = source;
                    continue;
                }
                // source_profile = itself, or credential_source: the base is in this profile.
                _ => {}
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
    Ok(RoleStep {
        profile: profile.name().to_string(),
        role: RoleRequest {
            role_arn: role_arn.to_string(),
            session_name: profile.get("role_session_name").map(str::to_string),
            external_id: profile.get("external_id").map(str::to_string),
            duration_seconds,
        },
        mfa_serial: profile.get("mfa_serial").map(str::to_string),
    })
}

/// The base source of one profile, in the SDKs' order: credential_source, web identity,
/// SSO, login_session (after SSO and before credential_process, as aws-config), static keys. `None`: the profile has none of them.
fn base_of(profiles: &Profiles, profile: &Profile) -> Result<Option<Base>, Problem> {
    let name = profile.name().to_string();
    if let Some(source) = profile.get("credential_source") {
        let source = match source.trim() {
            "Environment" => NamedSource::Environment,
            "Ec2InstanceMetadata" => NamedSource::Ec2InstanceMetadata,
            "EcsContainer" => NamedSource::EcsContainer,
            other => {
                return Err(config_error(
                    format!("profile {name:?}: unknown credential_source {other:?}"),
                    "use Environment, Ec2InstanceMetadata or EcsContainer",
                ));
            }
        };
        return Ok(Some(Base::Named {
            profile: name,
            source,
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

pub async fn resolve(req: &Request<'_>) -> anyhow::Result<Step> {
    if let Some(found) = long_term_convention(req)? {
        return Ok(Step::Found(found));
    }
    match plan(req.profiles)? {
        Planned::Nothing(reason) => Ok(Step::Skip(reason)),
        Planned::Plan(plan) => execute(req, &plan).await.map(Step::Found),
    }
}

/// Run a plan: get the base credentials, then assume each role with the previous ones.
pub async fn execute(req: &Request<'_>, plan: &Plan) -> anyhow::Result<Found> {
    // A plain MFA profile: today's session, when `aws-cred mfa` made one.
    if let (Base::Static { profile } | Base::Keyring { profile, .. }, true) =
        (&plan.base, plan.roles.is_empty())
        && let Some(serial) = crate::mfa::profile_serial(req.profiles, profile)
        && let Some(found) = cached_mfa_session(req, profile, &serial.value)?
    {
        return Ok(found);
    }
    let (mut credentials, mut location) = base_credentials(req, &plan.base).await?;
    let mut kind = kind_of_base(&plan.base, &credentials);
    for (i, step) in plan.roles.iter().enumerate() {
        // The MFA session stands in for the base keys, so it can only precede the first role;
        // later roles are assumed with the previous role's credentials, as `aws-cred mfa` does.
        if let (0, Some(serial)) = (i, &step.mfa_serial) {
            let (Base::Static { profile: source }
            | Base::Keyring {
                profile: source, ..
            }) = &plan.base
            else {
                return Err(Problem::usage(format!(
                    "profile {} has mfa_serial, but its source credentials are not an IAM user's long-term keys",
                    step.profile
                ))
                .hint("aws-cred makes MFA sessions from long-term keys (a source_profile with aws_access_key_id); remove mfa_serial or change the source")
                .into());
            };
            match cached_mfa_session(req, source, serial)? {
                Some(found) => {
                    credentials = found.credentials;
                    location = found.location;
                    kind = found.kind;
                }
                None => {
                    return Err(Problem::expired(format!(
                        "profile {} needs an MFA session (mfa_serial = {serial}) and none is cached or it has expired",
                        step.profile
                    ))
                    .hint(format!("run: aws-cred mfa CODE --profile {}", req.profiles.selected))
                    .into());
                }
            }
        }
        credentials = sts::assume_role(
            req.aws,
            req.sts_region(),
            credentials,
            &step.role,
            req.now(),
        )
        .await?;
        location = format!(
            "{location} -> role {} (profile {})",
            step.role.role_arn, step.profile
        );
        kind = kind.assume_role();
    }
    Ok(Found {
        credentials,
        kind,
        location,
    })
}

/// The kind of credentials a plan's base gives.
fn kind_of_base(base: &Base, credentials: &Credentials) -> Kind {
    match base {
        Base::Static { .. } | Base::Process { .. } | Base::Keyring { .. } => {
            Kind::of_keys(credentials)
        }
        // Console-session credentials from AWS Sign-In: neither a role nor GetSessionToken.
        Base::Login(_) => Kind::Session,
        Base::Named {
            source: NamedSource::Environment,
            ..
        } => Kind::of_keys(credentials),
        Base::Sso(_) | Base::WebIdentity { .. } | Base::Named { .. } => {
            Kind::RoleSession { chained: false }
        }
    }
}

/// The aws-mfa convention: keys in `[P-long-term]`, today's session for `[P]`. A valid cached
/// session wins; without one, a `[P]` that holds no keys of its own means "run aws-cred mfa".
fn long_term_convention(req: &Request<'_>) -> anyhow::Result<Option<Found>> {
    let profiles = req.profiles;
    let name = profiles.selected.as_str();
    let long = crate::profile::long_term::long_term_name(name);
    let long_has_keys = profiles.credential(&long, "aws_access_key_id").is_some()
        || crate::profile::long_term::keyring_entry_of_profile(profiles, &long).is_some();
    if !long_has_keys || profiles.get(name, "role_arn").is_some() {
        return Ok(None);
    }
    let Some(serial) = crate::mfa::profile_serial(profiles, name) else {
        return Ok(None);
    };
    if let Some(found) = cached_mfa_session(req, name, &serial.value)? {
        return Ok(Some(found));
    }
    if profiles.credential(name, "aws_access_key_id").is_none() {
        return Err(Problem::expired(format!(
            "no valid MFA session for profile {name} (keys in [{long}], device {})",
            serial.value
        ))
        .hint(format!("run: aws-cred mfa CODE --profile {name}"))
        .into());
    }
    Ok(None)
}

/// The cached MFA session made from `profile`'s long-term keys and `serial`, if still valid.
fn cached_mfa_session(
    req: &Request<'_>,
    profile: &str,
    serial: &str,
) -> anyhow::Result<Option<Found>> {
    let long_term = match crate::profile::long_term::long_term_of_profile(req.profiles, profile) {
        Some(result) => result?,
        None => return Ok(None),
    };
    let cache = crate::mfa::cache(req.ctx)?;
    let key = crate::mfa::cache_key(long_term.credentials.access_key_id(), serial);
    let margin = crate::mfa::margin(req.ctx, req.profiles, None)?;
    Ok(
        crate::mfa::cached(&cache, &key, req.now(), margin)?.map(|(_, credentials)| Found {
            credentials,
            kind: Kind::MfaSession,
            location: format!(
                "MFA session (device {serial}) made from {} by aws-cred mfa",
                long_term.describe()
            ),
        }),
    )
}

fn in_file(path: &Path) -> String {
    path.display().to_string()
}

async fn base_credentials(req: &Request<'_>, base: &Base) -> anyhow::Result<(Credentials, String)> {
    let profiles = req.profiles;
    match base {
        Base::Static { profile } => {
            let credentials = crate::profile::long_term::static_credentials(profiles, profile)?;
            Ok((
                credentials,
                format!(
                    "profile {profile} in {}",
                    in_file(profiles.defining_file(profile))
                ),
            ))
        }
        Base::Process { profile, command } => {
            let parents = req.ctx.var(super::process::PARENTS_VAR);
            let timeout = super::process::timeout(req.ctx.var(super::process::TIMEOUT_VAR))?;
            let credentials = super::process::run(profile, command, parents, timeout).await?;
            Ok((
                credentials,
                format!("credential_process of profile {profile}"),
            ))
        }
        Base::Keyring { profile, entry } => {
            let keys = crate::profile::long_term::keyring_credentials(entry)?;
            Ok((
                keys.credentials(),
                format!(
                    "profile {profile}: keys in the OS keyring (entry {entry}, read directly for its credential_process)"
                ),
            ))
        }
        Base::Sso(sso) => {
            let (Some(account), Some(role)) = (&sso.account_id, &sso.role_name) else {
                return Err(Problem::usage(format!(
                    "SSO profile {:?} has no sso_account_id / sso_role_name",
                    sso.profile
                ))
                .hint("add both to the profile, or pick them with aws-cred sso-login --profile P --account ID --role NAME")
                .into());
            };
            let (credentials, note) = super::sso::credentials(req, sso, account, role).await?;
            Ok((
                credentials,
                format!(
                    "SSO profile {} (role {role} in account {account}, token for {}{note})",
                    sso.profile, sso.start_url
                ),
            ))
        }
        Base::Login(session) => {
            let obtained = crate::login::obtain(req.ctx, req.aws, session, req.region).await?;
            let note = match obtained.how {
                How::Cached => "",
                How::Refreshed => ", refreshed",
                How::FromOther => ", refreshed by another process",
            };
            Ok((
                obtained.credentials,
                format!(
                    "login session {} (profile {}, cache {}{note})",
                    session.arn,
                    session.profile,
                    obtained.path.display()
                ),
            ))
        }
        Base::WebIdentity {
            profile,
            role,
            token_file,
        } => {
            let path = crate::profile::expand_home(token_file, req.ctx.home().as_deref())
                .unwrap_or_else(|| token_file.into());
            let credentials = super::web_identity::assume(req, role, &path).await?;
            Ok((
                credentials,
                format!(
                    "role {} with web identity token {} (profile {profile})",
                    role.role_arn, token_file
                ),
            ))
        }
        Base::Named { profile, source } => {
            let found = match source {
                NamedSource::Environment => super::env::from_env(req.ctx)?.ok_or_else(|| {
                    Problem::usage(format!(
                        "profile {profile:?} has credential_source = Environment, but AWS_ACCESS_KEY_ID is not set"
                    ))
                })?,
                NamedSource::Ec2InstanceMetadata => super::imds::fetch(req).await?,
                NamedSource::EcsContainer => super::ecs::fetch(req).await?,
            };
            Ok((
                found.credentials,
                format!(
                    "{} (credential_source of profile {profile})",
                    found.location
                ),
            ))
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "tests set up and inspect files and processes directly"
)]
mod tests {
    use super::*;

    fn planned(config: &str, credentials: &str, selected: &str) -> Result<Planned, Problem> {
        plan(&Profiles::from_text(config, credentials, selected))
    }

    fn role(profile: &str, arn: &str) -> RoleStep {
        RoleStep {
            profile: profile.into(),
            role: RoleRequest {
                role_arn: arn.into(),
                ..Default::default()
            },
            mfa_serial: None,
        }
    }

    #[test]
    fn static_keys() {
        let p = planned(
            "",
            "[a]\naws_access_key_id = k\naws_secret_access_key = s\n",
            "a",
        )
        .unwrap();
        assert_eq!(
            p,
            Planned::Plan(Plan {
                base: Base::Static {
                    profile: "a".into()
                },
                roles: vec![]
            })
        );
    }

    #[test]
    fn blank_keys_count_as_absent() {
        // Issue 11 item 4: `aws_access_key_id =` used to export empty keys with exit 0.
        let blank = "[a]\naws_access_key_id =\naws_secret_access_key =   \n";
        assert!(matches!(planned("", blank, "a"), Ok(Planned::Nothing(_))));
        let key_only = "[a]\naws_access_key_id = k\naws_secret_access_key =\n";
        let err = planned("", key_only, "a").unwrap_err();
        assert!(
            err.message.contains("aws_secret_access_key"),
            "{}",
            err.message
        );
        // A blank source profile is no source either.
        let config = "[profile top]\nrole_arn = arn:top\nsource_profile = a\n";
        assert!(planned(config, blank, "top").is_err());
        let profiles = Profiles::from_text("", blank, "a");
        assert_eq!(profiles.credential("a", "aws_access_key_id"), None);
        assert_eq!(
            profiles.get("a", "aws_access_key_id"),
            Some(""),
            "as written"
        );
        assert!(crate::profile::long_term::long_term_of_profile(&profiles, "a").is_none());
    }

    #[test]
    fn role_chain_ends_in_static_keys_and_assumes_in_order() {
        let config = "[profile top]\nrole_arn = arn:top\nsource_profile = mid\n\
                      [profile mid]\nrole_arn = arn:mid\nsource_profile = base\n";
        let creds = "[base]\naws_access_key_id = k\naws_secret_access_key = s\n";
        let Planned::Plan(p) = planned(config, creds, "top").unwrap() else {
            panic!("expected a plan")
        };
        assert_eq!(
            p.base,
            Base::Static {
                profile: "base".into()
            }
        );
        assert_eq!(
            p.roles,
            vec![role("mid", "arn:mid"), role("top", "arn:top")]
        );
    }

    #[test]
    fn source_profile_with_keys_wins_over_its_own_role() {
        let config = "[profile top]\nrole_arn = arn:top\nsource_profile = mid\n\
                      [profile mid]\nrole_arn = arn:mid\nsource_profile = nowhere\n\
                      aws_access_key_id = k\naws_secret_access_key = s\n";
        let Planned::Plan(p) = planned(config, "", "top").unwrap() else {
            panic!()
        };
        assert_eq!(
            p.base,
            Base::Static {
                profile: "mid".into()
            }
        );
        assert_eq!(p.roles, vec![role("top", "arn:top")]);
    }

    #[test]
    fn self_reference_uses_own_keys() {
        let config = "[profile a]\nrole_arn = arn:a\nsource_profile = a\naws_access_key_id = k\naws_secret_access_key = s\n";
        let Planned::Plan(p) = planned(config, "", "a").unwrap() else {
            panic!()
        };
        assert_eq!(
            p.base,
            Base::Static {
                profile: "a".into()
            }
        );
        assert_eq!(p.roles, vec![role("a", "arn:a")]);
    }

    #[test]
    fn loops_and_missing_sources_are_config_errors() {
        let config = "[profile a]\nrole_arn = arn:a\nsource_profile = b\n[profile b]\nrole_arn = arn:b\nsource_profile = a\n";
        let err = planned(config, "", "a").unwrap_err();
        assert!(err.message.contains("a -> b -> a"), "{}", err.message);
        let err = planned(
            "[profile a]\nrole_arn = x\nsource_profile = ghost\n",
            "",
            "a",
        )
        .unwrap_err();
        assert!(err.message.contains("ghost"));
        let err = planned("[profile a]\nrole_arn = x\n", "", "a").unwrap_err();
        assert!(
            err.message
                .contains("no source_profile or credential_source")
        );
        let err = planned(
            "[profile a]\nrole_arn = x\nsource_profile = b\ncredential_source = Environment\n",
            "",
            "a",
        )
        .unwrap_err();
        assert!(err.message.contains("both"));
    }

    #[test]
    fn credential_source_and_web_identity_and_process() {
        let Planned::Plan(p) = planned(
            "[profile a]\nrole_arn = arn:a\ncredential_source = EcsContainer\n",
            "",
            "a",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(
            p.base,
            Base::Named {
                profile: "a".into(),
                source: NamedSource::EcsContainer
            }
        );
        assert_eq!(p.roles.len(), 1);

        let Planned::Plan(p) = planned(
            "[profile w]\nrole_arn = arn:w\nweb_identity_token_file = /t\n",
            "",
            "w",
        )
        .unwrap() else {
            panic!()
        };
        assert!(matches!(p.base, Base::WebIdentity { ref token_file, .. } if token_file == "/t"));
        assert!(p.roles.is_empty());

        let Planned::Plan(p) =
            planned("[profile c]\ncredential_process = echo hi\n", "", "c").unwrap()
        else {
            panic!()
        };
        assert_eq!(
            p.base,
            Base::Process {
                profile: "c".into(),
                command: "echo hi".into()
            }
        );
        let Planned::Plan(p) = planned(
            "[profile k]\ncredential_process = aws-cred keys process --profile k\n",
            "",
            "k",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(
            p.base,
            Base::Keyring {
                profile: "k".into(),
                entry: "k".into()
            }
        );
        assert!(planned("[profile w]\nweb_identity_token_file = /t\n", "", "w").is_err());
        assert!(
            planned(
                "[profile x]\ncredential_source = Moon\nrole_arn = r\n",
                "",
                "x"
            )
            .is_err()
        );
    }

    #[test]
    fn sso_session_and_legacy() {
        let config = "[profile dev]\nsso_session = corp\nsso_account_id = 111\nsso_role_name = Dev\n\
                      [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = ap-northeast-1\n\
                      [profile old]\nsso_start_url = https://old/start\nsso_region = us-east-1\nsso_account_id = 2\nsso_role_name = R\n";
        let Planned::Plan(p) = planned(config, "", "dev").unwrap() else {
            panic!()
        };
        let Base::Sso(sso) = p.base else { panic!() };
        assert_eq!(sso.session_name.as_deref(), Some("corp"));
        assert_eq!(sso.start_url, "https://corp.awsapps.com/start");
        assert_eq!(sso.region, "ap-northeast-1");
        let Planned::Plan(p) = planned(config, "", "old").unwrap() else {
            panic!()
        };
        let Base::Sso(sso) = p.base else { panic!() };
        assert_eq!(sso.session_name, None);
        assert!(planned("[profile x]\nsso_session = nope\n", "", "x").is_err());
        assert!(
            planned(
                "[profile x]\nsso_start_url = u\nsso_region = r\nsso_account_id = 1\n",
                "",
                "x"
            )
            .is_err()
        );
    }

    #[test]
    fn login_session_is_a_base_and_a_source_profile() {
        let config = "[profile console]\nlogin_session = arn:aws:iam::123456789012:user/alice\nregion = eu-west-1\n\
                      [profile admin]\nrole_arn = arn:aws:iam::123456789012:role/Admin\nsource_profile = console\n";
        let session = LoginSession {
            profile: "console".into(),
            arn: "arn:aws:iam::123456789012:user/alice".into(),
            region: Some("eu-west-1".into()),
        };
        let Planned::Plan(p) = planned(config, "", "console").unwrap() else {
            panic!()
        };
        assert_eq!(p.base, Base::Login(session.clone()));
        assert!(p.roles.is_empty());
        let Planned::Plan(p) = planned(config, "", "admin").unwrap() else {
            panic!()
        };
        assert_eq!(p.base, Base::Login(session));
        assert_eq!(
            p.roles,
            vec![role("admin", "arn:aws:iam::123456789012:role/Admin")]
        );
    }

    #[test]
    fn empty_or_missing_profiles() {
        assert!(matches!(
            planned("[profile a]\nregion = x\n", "", "a").unwrap(),
            Planned::Nothing(_)
        ));
        let err = planned("[profile a]\nregion = x\n", "", "zzz").unwrap_err();
        assert!(err.message.contains("available: a"));
        let err = planned(
            "[profile a]\nrole_arn = r\nsource_profile = b\n[profile b]\nregion = x\n",
            "",
            "a",
        )
        .unwrap_err();
        assert!(
            err.message
                .contains("source profile \"b\" has no credentials")
        );
        let err = planned("[profile a]\naws_access_key_id = k\n", "", "a").unwrap_err();
        assert!(err.message.contains("aws_secret_access_key"));
    }

    #[test]
    fn role_options_are_carried() {
        let config = "[profile r]\nrole_arn = arn:r\nsource_profile = b\nexternal_id = ext\nrole_session_name = me\nduration_seconds = 3600\nmfa_serial = arn:mfa\n\
                      [profile b]\naws_access_key_id = k\naws_secret_access_key = s\n";
        let Planned::Plan(p) = planned(config, "", "r").unwrap() else {
            panic!()
        };
        let step = &p.roles[0];
        assert_eq!(step.role.external_id.as_deref(), Some("ext"));
        assert_eq!(step.role.session_name.as_deref(), Some("me"));
        assert_eq!(step.role.duration_seconds, Some(3600));
        assert_eq!(step.mfa_serial.as_deref(), Some("arn:mfa"));
        assert!(planned("[profile r]\nrole_arn = a\nsource_profile = r\nduration_seconds = soon\naws_access_key_id = k\naws_secret_access_key = s\n", "", "r").is_err());
    }
}
