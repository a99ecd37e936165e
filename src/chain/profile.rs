//! Link `profile`: the ~/.aws files. The selected profile's [plan](super::plan) is executed
//! here: the base credentials are fetched (keys read, a process run, the SSO or login session
//! used, a token exchanged), then each role is assumed with the previous credentials.

use super::plan::{Base, NamedSource, Plan, Planned, RoleStep, plan};
use super::{Found, Kind, Request, Step};
use crate::aws::sts::{self, RoleRequest};
use crate::base::error::Problem;
use aws_credential_types::Credentials;

pub(crate) async fn resolve(req: &Request<'_>) -> anyhow::Result<Step> {
    if let Some(found) = long_term_convention(req)? {
        if req.duration.is_some() {
            return Err(duration_without_role(req));
        }
        return Ok(Step::Found(found));
    }
    match plan(req.profiles)? {
        Planned::Nothing(reason) => Ok(Step::Skip(reason)),
        Planned::Plan(plan) => execute(req, &plan).await.map(Step::Found),
    }
}

/// `--duration` for a profile that assumes no role: a usage error saying where it applies.
fn duration_without_role(req: &Request<'_>) -> anyhow::Error {
    Problem::usage(format!(
        "--duration sets the length of a role session, and profile {} assumes no role",
        req.profiles.selected
    ))
    .hint("use it with a role profile (role_arn); an MFA session's length is aws-cred mfa --duration-seconds")
    .into()
}

/// Run a plan: get the base credentials, then assume each role with the previous ones.
pub(crate) async fn execute(req: &Request<'_>, plan: &Plan) -> anyhow::Result<Found> {
    if req.duration.is_some() && plan.roles.is_empty() {
        return Err(duration_without_role(req));
    }
    // A plain MFA profile: today's session, when `aws-cred mfa` made one.
    if let (Base::Static { profile } | Base::Keyring { profile, .. }, true) =
        (&plan.base, plan.roles.is_empty())
        && let Some(serial) = crate::mfa::profile_serial(req.profiles, profile)
        && let Some(found) = cached_mfa_session(req, profile, &serial.value)?
    {
        return Ok(found);
    }
    // A chain of roles: the last is assumed with a role session. Said before any call.
    if let (Some(seconds), [.., _, last]) = (req.duration, plan.roles.as_slice()) {
        with_duration(last, seconds, Kind::RoleSession { chained: false })?;
    }
    let (mut credentials, mut location) = base_credentials(req, &plan.base).await?;
    let mut kind = kind_of_base(&plan.base, &credentials);
    for (i, step) in plan.roles.iter().enumerate() {
        // The MFA session stands in for the base keys, so it can only precede the first role;
        // later roles are assumed with the previous role's credentials, as `aws-cred mfa` does.
        if let (0, Some(serial)) = (i, &step.mfa_serial) {
            let found = mfa_session_for(req, &plan.base, step, serial)?;
            (credentials, location, kind) = (found.credentials, found.location, found.kind);
        }
        let last = i + 1 == plan.roles.len();
        credentials = assume(req, step, credentials, kind, last).await?;
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

/// The cached MFA session of `base`'s keys, for the first role (`step`) of a plan that has
/// `mfa_serial`; "run aws-cred mfa" (exit 4) when there is none.
fn mfa_session_for(
    req: &Request<'_>,
    base: &Base,
    step: &RoleStep,
    serial: &str,
) -> anyhow::Result<Found> {
    let (Base::Static { profile: source }
    | Base::Keyring {
        profile: source, ..
    }) = base
    else {
        return Err(Problem::usage(format!(
            "profile {} has mfa_serial, but its source credentials are not an IAM user's long-term keys",
            step.profile
        ))
        .hint("aws-cred makes MFA sessions from long-term keys (a source_profile with aws_access_key_id); remove mfa_serial or change the source")
        .into());
    };
    cached_mfa_session(req, source, serial)?.ok_or_else(|| {
        anyhow::Error::new(crate::mfa::NeedsSession).context(
            Problem::expired(format!(
                "profile {} needs an MFA session (mfa_serial = {serial}) and none is cached or it has expired",
                step.profile
            ))
            .hint(format!(
                "run: aws-cred mfa CODE --profile {}",
                req.profiles.selected
            )),
        )
    })
}

/// Assume `step`'s role with `credentials` (of `kind`); `--duration` applies to the `last`.
async fn assume(
    req: &Request<'_>,
    step: &RoleStep,
    credentials: Credentials,
    kind: Kind,
    last: bool,
) -> anyhow::Result<Credentials> {
    let role = match req.duration.filter(|_| last) {
        Some(seconds) => with_duration(step, seconds, kind)?,
        None => step.role.clone(),
    };
    sts::assume_role(req.aws, req.sts_region(), credentials, &role, req.now())
        .await
        .map_err(|err| {
            if last && req.duration.is_some() && format!("{err:#}").contains("DurationSeconds exceeds")
            {
                err.context(
                    Problem::usage(format!(
                        "role {} does not allow sessions of {} seconds (its maximum session duration is lower)",
                        step.role.role_arn,
                        req.duration.unwrap_or_default()
                    ))
                    .hint("ask for less with --duration, or raise the role's MaxSessionDuration in IAM"),
                )
            } else {
                err
            }
        })
}

/// The role request with `--duration` in place of its `duration_seconds`. AWS caps a role
/// assumed with another role's session (role chaining) at one hour: asking for more is refused
/// here, with the reason, before any call.
fn with_duration(step: &RoleStep, seconds: u32, before: Kind) -> anyhow::Result<RoleRequest> {
    if matches!(before, Kind::RoleSession { .. }) && seconds > 3600 {
        return Err(Problem::usage(format!(
            "--duration {seconds}: profile {} assumes its role with another role's session (role chaining), which AWS caps at 1 hour",
            step.profile
        ))
        .hint("ask for --duration 1h or less")
        .into());
    }
    Ok(RoleRequest {
        duration_seconds: i32::try_from(seconds).ok(),
        ..step.role.clone()
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
        return Err(anyhow::Error::new(crate::mfa::NeedsSession).context(
            Problem::expired(format!(
                "no valid MFA session for profile {name} (keys in [{long}], device {})",
                serial.value
            ))
            .hint(format!("run: aws-cred mfa CODE --profile {name}")),
        ));
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
            location: crate::mfa::describe_session(serial, &long_term.describe()),
        }),
    )
}

/// The base's credentials, and [`Base::describe`] with what this run did to get them (how a
/// token or session was got, where a `credential_source` was found).
async fn base_credentials(req: &Request<'_>, base: &Base) -> anyhow::Result<(Credentials, String)> {
    let profiles = req.profiles;
    let what = base.describe(|profile| profiles.defining_file(profile).display().to_string());
    let (credentials, how) = match base {
        Base::Static { profile } => (
            crate::profile::long_term::static_credentials(profiles, profile)?,
            String::new(),
        ),
        Base::Process { profile, command } => {
            let parents = req.ctx.var(super::process::PARENTS_VAR);
            let timeout = super::process::timeout(req.ctx)?;
            let credentials =
                super::process::run(profile, command, parents, timeout, req.terminal).await?;
            (credentials, String::new())
        }
        Base::Keyring { entry, .. } => (
            crate::profile::long_term::keyring_credentials(entry)?.credentials(),
            ", read directly for its credential_process".to_string(),
        ),
        Base::Sso(sso) => sso_credentials(req, sso).await?,
        Base::Login(session) => login_credentials(req, session).await?,
        Base::WebIdentity {
            role, token_file, ..
        } => {
            let path = crate::profile::expand_home(token_file, req.ctx.home().as_deref())
                .unwrap_or_else(|| token_file.into());
            let credentials = super::web_identity::assume(req, role, &path).await?;
            (credentials, String::new())
        }
        Base::Named { profile, source } => named_credentials(req, profile, source).await?,
    };
    Ok((credentials, format!("{what}{how}")))
}

/// An SSO profile's role credentials, with the cached (or refreshed) token.
async fn sso_credentials(
    req: &Request<'_>,
    sso: &super::sso::SsoConfig,
) -> anyhow::Result<(Credentials, String)> {
    let (Some(account), Some(role)) = (&sso.account_id, &sso.role_name) else {
        return Err(Problem::usage(format!(
            "SSO profile {:?} has no sso_account_id / sso_role_name",
            sso.profile
        ))
        .hint("add both to the profile, or pick them with aws-cred sso-login --profile P --account ID --role NAME")
        .into());
    };
    let (credentials, note) = super::sso::credentials(req, sso, account, role).await?;
    Ok((credentials, note.to_string()))
}

/// A login session's credentials: cached, or refreshed.
async fn login_credentials(
    req: &Request<'_>,
    session: &crate::login::LoginSession,
) -> anyhow::Result<(Credentials, String)> {
    let (obtained, path) = crate::login::obtain(req.ctx, req.aws, session, req.region).await?;
    let how = format!(
        " (profile {}, cache {}{})",
        session.profile,
        path.display(),
        obtained.how.note()
    );
    Ok((obtained.value, how))
}

/// A `credential_source`'s credentials.
async fn named_credentials(
    req: &Request<'_>,
    profile: &str,
    source: &NamedSource,
) -> anyhow::Result<(Credentials, String)> {
    let found = match source {
        NamedSource::Environment => super::env::from_env(req.ctx)?.ok_or_else(|| {
            Problem::usage(format!(
                "profile {profile:?} has credential_source = Environment, but AWS_ACCESS_KEY_ID is not set"
            ))
        })?,
        NamedSource::Ec2InstanceMetadata => super::imds::fetch(req).await?,
        NamedSource::EcsContainer => super::ecs::fetch(req).await?,
    };
    Ok((found.credentials, format!(": {}", found.location)))
}
