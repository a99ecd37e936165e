//! The AWS console in the browser for credentials we already have: console federation
//! (IAM User Guide, "Enable custom identity broker access to the AWS console"; the facts we
//! rely on are in ../shared/PROTOCOLS-login-federation.md, part 2).
//!
//! 1. Decide from where the credentials came ([`Source`], told by the caller) what AWS allows:
//!    role sessions federate directly; an IAM user's long-term keys first become a federation
//!    token (STS GetFederationToken); GetSessionToken sessions (MFA sessions) cannot be used.
//!    `SessionDuration` only for role sessions that are not role-chained.
//! 2. `GET <sign-in>/federation?Action=getSigninToken` with the `Session` JSON → `SigninToken`.
//! 3. The login URL `<sign-in>/federation?Action=login&Issuer&Destination&SigninToken`.
//!
//! **The SigninToken and the login URL are bearer credentials** (anyone holding them is signed
//! in as this identity for 15 minutes; the console session then lasts up to 12 hours): they are
//! [`Secret`]s, never in an error, a message or a log. Only the caller's output step exposes
//! the URL, to stdout or the browser.
//!
//! A flow: plain inputs (credentials, their [`Source`], region, destination), no chain.

pub(crate) mod links;
pub(crate) mod partition;

use crate::aws::sts::{self, FederationRequest};
use crate::aws::{Aws, SIGNIN_SERVICE_ID, Target};
use crate::base::error::Problem;
use crate::base::secret::Secret;
use aws_credential_types::Credentials;
use links::Place;
use partition::Partition;
use serde::Deserialize;

/// Console sessions from role credentials: `SessionDuration` 900..=43200 seconds.
pub(crate) const MAX_SESSION_DURATION: u32 = 43_200;
pub(crate) const MIN_DURATION: u32 = 900;
/// GetFederationToken `DurationSeconds` 900..=129600 (root: 3600).
pub(crate) const MAX_FEDERATION_DURATION: u32 = 129_600;
/// The federation token's duration (so the console session's) when `--duration` is not given.
pub(crate) const DEFAULT_FEDERATION_DURATION: u32 = 3600;

/// The session policy given to GetFederationToken: allow everything, so the federated user
/// has exactly the IAM user's permissions (the effective permissions are the intersection of
/// the user's policies and this one).
pub(crate) const PASS_THROUGH_POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// Where credentials came from, as far as console federation cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// AssumeRole*, IAM Identity Center role credentials, Cognito identity pools, container and
    /// instance roles. `chained`: assumed with another role's session.
    RoleSession { chained: bool },
    /// An IAM user's access keys.
    LongTerm,
    /// STS GetSessionToken (an MFA session).
    MfaSession,
    /// Temporary credentials of unknown origin: tried as they are.
    Unknown,
}

/// What federation will do, decided before any call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Federate the credentials, with this `SessionDuration` (or none).
    Direct { session_duration: Option<u32> },
    /// GetFederationToken with the keys (this `DurationSeconds`), then federate the token
    /// without `SessionDuration`, as AWS requires.
    FederationToken { duration_seconds: u32 },
}

/// A plan and what the person should know about it (for stderr; no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Planned {
    pub plan: Plan,
    pub notes: Vec<String>,
}

/// `--duration` in range before anything else happens.
pub(crate) fn check_duration(duration: Option<u32>) -> Result<(), Problem> {
    match duration {
        Some(d) if !(MIN_DURATION..=MAX_FEDERATION_DURATION).contains(&d) => {
            Err(Problem::usage(format!(
                "--duration {d} is out of range: console sessions last 900 to 43200 seconds \
                 (IAM user keys: up to 129600)"
            )))
        }
        _ => Ok(()),
    }
}

/// What AWS allows for credentials from `source` (fact sheet: "Which credentials work",
/// "SessionDuration").
pub(crate) fn plan(source: Source, duration: Option<u32>) -> Result<Planned, Problem> {
    check_duration(duration)?;
    let mut notes = Vec::new();
    let plan = match source {
        Source::RoleSession { chained: true } => {
            if duration.is_some() {
                notes.push("--duration is ignored: AWS refuses a SessionDuration for role-chained sessions".to_string());
            }
            notes.push("this role was assumed with another role's session (role chaining): the console session lasts as long as the role session".to_string());
            Plan::Direct {
                session_duration: None,
            }
        }
        Source::RoleSession { chained: false } | Source::Unknown => {
            if let Some(d) = duration
                && d > MAX_SESSION_DURATION
            {
                return Err(Problem::usage(format!(
                    "--duration {d}: console sessions from role credentials last at most 43200 seconds (12 hours)"
                )));
            }
            Plan::Direct {
                session_duration: duration,
            }
        }
        Source::LongTerm => {
            let duration_seconds = duration.unwrap_or(DEFAULT_FEDERATION_DURATION);
            notes.push(format!(
                "long-term IAM user keys cannot sign in to the console directly: asking STS for a federation token ({duration_seconds} s) with the user's permissions"
            ));
            Plan::FederationToken { duration_seconds }
        }
        Source::MfaSession => {
            return Err(Problem::usage(
                "an MFA session (STS GetSessionToken) cannot be turned into a console session: \
                 AWS federates only role sessions and federation tokens",
            )
            .hint(
                "for a role profile (role_arn + source_profile + mfa_serial), run aws-cred console --profile ROLE:\n\
                 the role session made with the MFA session is used; or sign in to the console\n\
                 with the IAM user's password and MFA device",
            ));
        }
    };
    Ok(Planned { plan, notes })
}

/// The federated user's name: `aws-cred-<user>`, cut to STS's 32 characters, from the caller's
/// ARN (`arn:aws:iam::123456789012:user/path/alice` → `aws-cred-alice`; root → `aws-cred-root`).
pub(crate) fn federated_name(caller_arn: &str) -> String {
    let resource = caller_arn.splitn(6, ':').nth(5).unwrap_or_default();
    let user = match resource {
        "root" => "root",
        r => r
            .strip_prefix("user/")
            .and_then(|path| path.rsplit('/').next())
            .unwrap_or_default(),
    };
    let user: String = user
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(*c))
        .collect();
    let name = if user.is_empty() {
        "aws-cred".to_string()
    } else {
        format!("aws-cred-{user}")
    };
    name.chars().take(32).collect()
}

/// Where the federation endpoint is: `AWS_ENDPOINT_URL_SIGNIN` / `[services] signin`, else the
/// partition's sign-in host for the region.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub base: String,
    pub overridden: bool,
}

impl Endpoint {
    pub(crate) fn resolve(aws: &Aws, partition: Partition, region: &str) -> Endpoint {
        match aws.endpoint_url(SIGNIN_SERVICE_ID) {
            Some(url) => Endpoint {
                base: url.trim_end_matches('/').to_string(),
                overridden: true,
            },
            None => Endpoint {
                base: format!("https://{}", partition.signin_host(region)),
                overridden: false,
            },
        }
    }

    fn target(&self, region: &str, wait: std::time::Duration) -> Target {
        Target {
            service: "Sign-In",
            region: region.to_string(),
            endpoint: Some(format!("{}/federation", self.base)),
            wait,
        }
    }
}

/// Everything one sign-in needs.
pub(crate) struct Request<'a> {
    pub aws: &'a Aws,
    pub credentials: Credentials,
    pub source: Source,
    pub duration: Option<u32>,
    /// The console's region (also the partition's and, for GetFederationToken, STS's).
    pub region: &'a str,
    pub place: Place,
    pub logout_first: bool,
}

/// The result: the URL to open (a secret), and notes for stderr.
pub(crate) struct SignIn {
    pub url: Secret,
    pub notes: Vec<String>,
    /// The `SessionDuration` sent; without one the console session lasts as long as the
    /// credentials federated, which end at `credentials_expiry`.
    pub session_duration: Option<u32>,
    pub credentials_expiry: Option<std::time::SystemTime>,
}

/// Checks that need no network: partition, destination, duration rules.
pub(crate) struct Checked {
    pub partition: Partition,
    pub destination: String,
}

pub(crate) fn check(
    region: &str,
    place: &Place,
    duration: Option<u32>,
) -> Result<Checked, Problem> {
    let partition = Partition::of_region(region)?;
    let destination = links::destination(partition, region, place)?;
    check_duration(duration)?;
    Ok(Checked {
        partition,
        destination,
    })
}

/// Turn credentials into a console sign-in URL.
pub(crate) async fn sign_in(request: Request<'_>) -> anyhow::Result<SignIn> {
    let Checked {
        partition,
        destination,
    } = check(request.region, &request.place, request.duration)?;
    let Planned { plan, mut notes } = plan(request.source, request.duration)?;
    let (credentials, session_duration, federated) = match plan {
        Plan::Direct { session_duration } => (request.credentials, session_duration, false),
        Plan::FederationToken { duration_seconds } => {
            let (token, name) = federation_token(
                request.aws,
                request.region,
                request.credentials,
                duration_seconds,
            )
            .await?;
            notes.push(format!("federated user {name}"));
            (token, None, true)
        }
    };
    let endpoint = Endpoint::resolve(request.aws, partition, request.region);
    let token = signin_token(
        request.aws,
        &endpoint,
        request.region,
        &credentials,
        session_duration,
        if federated {
            Source::RoleSession { chained: false }
        } else {
            request.source
        },
    )
    .await?;
    let login = links::login_url(&endpoint.base, &destination, &token);
    let url = if request.logout_first {
        let base = if endpoint.overridden {
            endpoint.base.clone()
        } else {
            links::logout_base(partition)
        };
        links::logout_then(&base, &login)
    } else {
        login
    };
    Ok(SignIn {
        url,
        notes,
        session_duration,
        credentials_expiry: credentials.expiry(),
    })
}

/// GetCallerIdentity (for the user's name), then GetFederationToken with the pass-through
/// policy.
async fn federation_token(
    aws: &Aws,
    region: &str,
    keys: Credentials,
    duration_seconds: u32,
) -> anyhow::Result<(Credentials, String)> {
    let identity = sts::get_caller_identity(aws, region, keys.clone()).await?;
    let name = federated_name(&identity.arn);
    let token = sts::get_federation_token(
        aws,
        region,
        keys,
        &FederationRequest {
            name: &name,
            policy: PASS_THROUGH_POLICY,
            duration_seconds: duration_seconds as i32,
        },
    )
    .await
    .map_err(|err| {
        if !err.to_string().contains("AccessDenied") {
            return err;
        }
        err.context(
            Problem::failure(format!(
                "STS refused a federation token for {}",
                identity.arn
            ))
            .hint(
                "long-term keys reach the console through a federation token: the IAM user needs\n\
                 sts:GetFederationToken (root: --duration 3600 at most); or use a role profile",
            ),
        )
    })?;
    Ok((token, name))
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(rename = "SigninToken")]
    signin_token: Option<Secret>,
}

/// Step 1: the SigninToken for these credentials.
async fn signin_token(
    aws: &Aws,
    endpoint: &Endpoint,
    region: &str,
    credentials: &Credentials,
    session_duration: Option<u32>,
    source: Source,
) -> anyhow::Result<Secret> {
    let Some(session_token) = credentials.session_token() else {
        // Long-term keys never get here (they become a federation token first).
        return Err(Problem::usage("console federation needs session credentials").into());
    };
    let session = links::session_json(
        credentials.access_key_id(),
        credentials.secret_access_key(),
        session_token,
    );
    let query = links::signin_token_query(&session, session_duration);
    let target = endpoint.target(region, aws.wait());
    let answer = aws
        .get(
            "getSigninToken",
            &target,
            &endpoint.base,
            query.expose().to_string(),
            &[
                credentials.secret_access_key(),
                session_token,
                session.expose(),
                query.expose(),
            ],
        )
        .await?;
    if answer.status == 200 {
        let parsed: Option<TokenAnswer> = serde_json::from_slice(&answer.body).ok();
        return match parsed.and_then(|a| a.signin_token).filter(|t| !t.is_empty()) {
            Some(token) => Ok(token),
            None => Err(Problem::failure(format!(
                "{} answered getSigninToken without a SigninToken",
                target.describe()
            ))
            .hint("check that AWS_ENDPOINT_URL_SIGNIN (or [services] signin) points at the AWS sign-in endpoint")
            .into()),
        };
    }
    Err(refusal(answer.status, &target, source, session_duration).into())
}

/// Why the federation endpoint may have said no, for the credentials we sent.
fn refusal(status: u16, target: &Target, source: Source, session_duration: Option<u32>) -> Problem {
    let at = target.describe();
    if status >= 500 {
        return Problem::failure(format!("the sign-in endpoint {at} failed (HTTP {status})"))
            .hint("AWS sign-in had a problem: try again in a moment");
    }
    let mut hint = match source {
        Source::Unknown => "AWS federates only role sessions (AssumeRole*, IAM Identity Center) and federation tokens;\n\
             session credentials from GetSessionToken (such as an MFA session) cannot be used.\n\
             Use a role profile (role_arn with source_profile, or sso_*) instead"
            .to_string(),
        _ => "the credentials may have expired or been revoked: get new ones and try again".to_string(),
    };
    if let Some(d) = session_duration {
        hint.push_str(&format!(
            "\nSessionDuration={d} was sent (--duration): AWS refuses it for role-chained sessions and federation tokens; try without --duration"
        ));
    }
    Problem::failure(format!(
        "the sign-in endpoint {at} refused these credentials (HTTP {status})"
    ))
    .hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::error::Exit;

    #[test]
    fn role_sessions_federate_directly_with_duration_unless_chained() {
        let p = plan(Source::RoleSession { chained: false }, Some(3600)).unwrap();
        assert_eq!(
            p.plan,
            Plan::Direct {
                session_duration: Some(3600)
            }
        );
        assert!(p.notes.is_empty());
        let p = plan(Source::RoleSession { chained: false }, None).unwrap();
        assert_eq!(
            p.plan,
            Plan::Direct {
                session_duration: None
            }
        );
        assert!(plan(Source::RoleSession { chained: false }, Some(43_201)).is_err());

        let p = plan(Source::RoleSession { chained: true }, Some(3600)).unwrap();
        assert_eq!(
            p.plan,
            Plan::Direct {
                session_duration: None
            }
        );
        assert!(p.notes.iter().any(|n| n.contains("--duration is ignored")));
        assert!(
            p.notes
                .iter()
                .any(|n| n.contains("lasts as long as the role session"))
        );
    }

    #[test]
    fn long_term_keys_go_through_a_federation_token_and_mfa_sessions_are_refused() {
        let p = plan(Source::LongTerm, None).unwrap();
        assert_eq!(
            p.plan,
            Plan::FederationToken {
                duration_seconds: 3600
            }
        );
        let p = plan(Source::LongTerm, Some(129_600)).unwrap();
        assert_eq!(
            p.plan,
            Plan::FederationToken {
                duration_seconds: 129_600
            }
        );
        let err = plan(Source::MfaSession, None).unwrap_err();
        assert_eq!(err.exit, Exit::Usage);
        assert!(err.message.contains("GetSessionToken"), "{}", err.message);
        assert!(err.hint.unwrap().contains("role profile"));
        assert!(plan(Source::Unknown, Some(899)).is_err());
        assert!(plan(Source::LongTerm, Some(129_601)).is_err());
    }

    #[test]
    fn federated_user_names() {
        assert_eq!(
            federated_name("arn:aws:iam::123456789012:user/alice"),
            "aws-cred-alice"
        );
        assert_eq!(
            federated_name("arn:aws:iam::123456789012:user/division/team/bob"),
            "aws-cred-bob"
        );
        assert_eq!(
            federated_name("arn:aws-cn:iam::123456789012:root"),
            "aws-cred-root"
        );
        let long =
            federated_name("arn:aws:iam::123456789012:user/a-very-long-user-name-that-goes-on");
        assert_eq!(long, "aws-cred-a-very-long-user-name-t");
        assert_eq!(long.len(), 32);
        assert_eq!(federated_name("nonsense"), "aws-cred");
    }

    #[test]
    fn refusals_explain_without_secrets() {
        let target = Target {
            service: "Sign-In",
            region: "us-east-1".into(),
            endpoint: Some("https://signin.aws.amazon.com/federation".into()),
            wait: std::time::Duration::from_secs(20),
        };
        let p = refusal(400, &target, Source::Unknown, None);
        assert!(p.message.contains("HTTP 400"));
        assert!(p.hint.as_deref().unwrap().contains("GetSessionToken"));
        let p = refusal(
            400,
            &target,
            Source::RoleSession { chained: false },
            Some(3600),
        );
        assert!(p.hint.as_deref().unwrap().contains("SessionDuration=3600"));
        let p = refusal(503, &target, Source::Unknown, None);
        assert!(p.message.contains("failed (HTTP 503)"));
    }
}
