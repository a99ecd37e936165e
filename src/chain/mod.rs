//! The provider chain: env → web-identity → profile (~/.aws files) → ecs → imds.
//!
//! Each link either finds credentials (and says where), skips (and says why), or fails.
//! A link that fails, or finds credentials that have expired, stops the chain: we never
//! fall through silently to a different identity.

mod ecs;
mod env;
pub(crate) use env::from_env as env_credentials;
pub(crate) use session::Session;
mod imds;
pub mod inspect;
pub mod plan;
pub(crate) mod process;
pub(crate) mod profile;
pub(crate) mod session;
pub(crate) mod sso;
mod web_identity;

use crate::aws::{Aws, FALLBACK_REGION};
use crate::base::error::{Exit, Problem, first_line};
use crate::os::Context;
use crate::profile::Profiles;
use aws_credential_types::Credentials;
use std::fmt;
use std::time::SystemTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Link {
    Env,
    WebIdentity,
    Profile,
    Ecs,
    Imds,
}

impl Link {
    pub(crate) const ALL: [Link; 5] = [
        Link::Env,
        Link::WebIdentity,
        Link::Profile,
        Link::Ecs,
        Link::Imds,
    ];
    pub(crate) fn name(self) -> &'static str {
        match self {
            Link::Env => "env",
            Link::WebIdentity => "web-identity",
            Link::Profile => "profile",
            Link::Ecs => "ecs",
            Link::Imds => "imds",
        }
    }
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What kind of credentials a link found, as far as the chain can tell. It decides what they
/// can be used for (the console federates role sessions, not GetSessionToken sessions) and
/// whether asking again can give new ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An IAM user's long-term keys (no session token).
    LongTerm,
    /// A GetSessionToken session made with an MFA code (`aws-cred mfa`).
    MfaSession,
    /// A role session: AssumeRole*, SSO role credentials, a container or instance role.
    /// `chained` when the role was assumed with another role's session (AWS caps those at
    /// one hour and the console federation refuses a `SessionDuration` for them).
    RoleSession { chained: bool },
    /// Other temporary credentials whose origin the chain cannot see (a session token in the
    /// environment, a credential_process, a session written into a profile).
    Session,
}

impl Kind {
    /// Keys with a session token are some session; without, long-term keys.
    pub(crate) fn of_keys(credentials: &Credentials) -> Kind {
        if credentials.session_token().is_some() {
            Kind::Session
        } else {
            Kind::LongTerm
        }
    }

    /// What a role assumed with credentials of this kind is.
    pub(crate) fn assume_role(self) -> Kind {
        Kind::RoleSession {
            chained: matches!(self, Kind::RoleSession { .. }),
        }
    }

    pub(crate) fn describe(self) -> &'static str {
        match self {
            Kind::LongTerm => "long-term keys",
            Kind::MfaSession => "MFA session (GetSessionToken)",
            Kind::RoleSession { chained: false } => "role session",
            Kind::RoleSession { chained: true } => "role session (role chaining)",
            Kind::Session => "session credentials",
        }
    }
}

/// Credentials a link found, what kind they are, and where.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub credentials: Credentials,
    pub kind: Kind,
    pub location: String,
}

/// What one link did.
pub(crate) enum Step {
    Found(Found),
    Skip(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Resolved(String),
    Skipped(String),
    Failed(String),
    NotTried,
}

#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    pub link: Link,
    pub outcome: Outcome,
}

/// The chain's trace, for `--explain`, `whoami` and the no-credentials message.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trace(pub Vec<Attempt>);

impl Trace {
    fn record(&mut self, link: Link, outcome: Outcome) {
        self.0.push(Attempt { link, outcome });
    }
    fn fill_not_tried(&mut self) {
        for link in Link::ALL {
            if !self.0.iter().any(|a| a.link == link) {
                self.record(link, Outcome::NotTried);
            }
        }
    }
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        for attempt in &self.0 {
            let (verb, text) = match &attempt.outcome {
                Outcome::Resolved(t) => ("resolved", t.as_str()),
                Outcome::Skipped(t) => ("skipped", t.as_str()),
                Outcome::Failed(t) => ("FAILED", t.as_str()),
                Outcome::NotTried => ("not tried", ""),
            };
            // Reasons quote files, variables and servers: one escaped line each.
            let line = if text.is_empty() {
                format!("  {:<13} {verb}\n", attempt.link.name())
            } else {
                format!(
                    "  {:<13} {verb}: {}\n",
                    attempt.link.name(),
                    crate::base::text::escape(text)
                )
            };
            out.push_str(&line);
        }
        out
    }
}

/// Everything a link may need.
pub(crate) struct Request<'a> {
    pub ctx: &'a Context,
    pub profiles: &'a Profiles,
    pub aws: &'a Aws,
    /// Region for STS calls made while resolving.
    pub region: Option<&'a str>,
    /// Whether a `credential_process` may use the terminal (not in the credential server's
    /// background refreshes).
    pub terminal: crate::os::process::Terminal,
    /// `--duration`: the last role's session length in seconds, over its `duration_seconds`
    /// (role profiles only; capped at 1 hour for a role assumed with a role session).
    pub duration: Option<u32>,
}

impl Request<'_> {
    pub(crate) fn sts_region(&self) -> &str {
        self.region.unwrap_or(FALLBACK_REGION)
    }
    pub(crate) fn now(&self) -> SystemTime {
        self.ctx.now()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Resolution {
    pub credentials: Credentials,
    pub kind: Kind,
    pub link: Link,
    pub location: String,
    pub trace: Trace,
}

/// The chain stopped: the error, and the trace up to the stop.
#[derive(Debug)]
pub(crate) struct ChainFailure {
    pub error: anyhow::Error,
    pub trace: Trace,
}

/// Run the chain.
pub(crate) async fn resolve(req: &Request<'_>) -> Result<Resolution, ChainFailure> {
    let mut trace = Trace::default();
    for link in Link::ALL {
        let step = match link {
            Link::Env => env::resolve(req),
            Link::WebIdentity => web_identity::resolve(req).await,
            Link::Profile => profile::resolve(req).await,
            Link::Ecs => ecs::resolve(req).await,
            Link::Imds => imds::resolve(req).await,
        };
        let step = step.and_then(|step| match step {
            Step::Found(found) => check_not_expired(req, link, found).map(Step::Found),
            skip => Ok(skip),
        });
        match step {
            Ok(Step::Found(found)) => {
                trace.record(link, Outcome::Resolved(found.location.clone()));
                trace.fill_not_tried();
                return Ok(Resolution {
                    credentials: found.credentials,
                    kind: found.kind,
                    link,
                    location: found.location,
                    trace,
                });
            }
            Ok(Step::Skip(reason)) => trace.record(link, Outcome::Skipped(reason)),
            Err(error) => {
                trace.record(link, Outcome::Failed(first_line(&error)));
                trace.fill_not_tried();
                // A mistake in the command line or the files (a profile that is not there,
                // half a key pair) is the message itself; a failure to get the credentials
                // says which link it was in.
                let usage = error
                    .downcast_ref::<Problem>()
                    .is_some_and(|problem| problem.exit == Exit::Usage);
                let error = match usage {
                    true => error,
                    false => {
                        error.context(format!("the {link} link could not provide credentials"))
                    }
                };
                return Err(ChainFailure { error, trace });
            }
        }
    }
    let mut message =
        String::from("no credentials found; every link of the chain came up empty:\n");
    message.push_str(trace.render().trim_end());
    let error = anyhow::Error::new(Problem::new(Exit::NoCredentials, message).hint(
        "configure a profile (aws configure --profile NAME), choose one with --profile or AWS_PROFILE,\n\
         or get a session: aws-cred mfa CODE, aws-cred sso-login",
    ));
    Err(ChainFailure { error, trace })
}

fn check_not_expired(req: &Request<'_>, link: Link, found: Found) -> anyhow::Result<Found> {
    let Some(expiry) = found.credentials.expiry() else {
        return Ok(found);
    };
    if expiry > req.now() {
        return Ok(found);
    }
    let when = crate::base::time::rfc3339(expiry);
    let hint = match link {
        Link::Env => {
            "the shell holds an old session: clear it with eval \"$(aws-cred export --unset)\",\n\
                      then get a new one (aws-cred mfa CODE, aws-cred sso-login)"
                .to_string()
        }
        _ => format!(
            "refresh the credentials at {} (for a session written by aws-cred: run the command that wrote it again)",
            found.location
        ),
    };
    Err(Problem::expired(format!(
        "the credentials from {} expired at {when}",
        found.location
    ))
    .hint(hint)
    .into())
}
