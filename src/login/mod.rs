//! `aws login` console sessions (AWS Sign-In, OAuth 2.0 with PKCE and DPoP): the cache the AWS
//! CLI v2 and the SDKs share (`~/.aws/login/cache/<sha256 of the login_session ARN>.json`, or
//! `AWS_LOGIN_CACHE_DIRECTORY`), the refresh the chain makes within 5 minutes of expiry, and the
//! login itself (`aws-cred login`).
//!
//! `obtain` is the chain's entry point: cached credentials while more than 5 minutes remain,
//! no network; else one CreateOAuth2Token (refresh-token grant, DPoP-signed with the cached
//! P-256 key) under a cross-process lock, so twenty parallel callers make one call, and the
//! file written back as the AWS CLI writes it. Anything that needs a new login stops with
//! exit 4 and "run aws-cred login --profile P".

pub(crate) mod authorize;
pub(crate) mod cache;
pub mod dpop;
pub(crate) mod token_api;

use crate::auth::obtain::{self as auth, Refresh, Refreshable, Stage, Step};
use crate::aws::{Aws, FALLBACK_REGION};
use crate::base::error::{Exit, Problem};
use crate::cache::Cache;
use crate::os::Context;
use aws_credential_types::Credentials;
use cache::Entry;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

pub(crate) use crate::auth::obtain::{How, Obtained};
use token_api::{Failure, Grant};

/// The client of a login in this browser (loopback redirect).
pub(crate) const SAME_DEVICE_CLIENT: &str = "arn:aws:signin:::devtools/same-device";
/// The client of a login on another device (the code is pasted back).
pub(crate) const CROSS_DEVICE_CLIENT: &str = "arn:aws:signin:::devtools/cross-device";
/// Refresh when this little is left (every SDK's threshold).
pub(crate) const REFRESH_WINDOW: Duration = Duration::from_secs(5 * 60);
pub(crate) const CACHE_DIR_VAR: &str = "AWS_LOGIN_CACHE_DIRECTORY";

/// The `aws login` session `arn` in words (`LoginSession::describe`, and `status` for a
/// profile whose `login_session` it reads without a plan).
pub(crate) fn describe_session(arn: &str) -> String {
    format!("aws login session {arn}")
}

/// A profile's `login_session`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginSession {
    /// The profile that holds `login_session`.
    pub profile: String,
    /// The login session ARN (`arn:aws:iam::123456789012:user/alice`, ...).
    pub arn: String,
    /// That profile's `region`, for the refresh call.
    pub region: Option<String>,
}

impl LoginSession {
    /// The session in words, as the chain's trace and `status` both name it.
    pub(crate) fn describe(&self) -> String {
        describe_session(&self.arn)
    }

    pub(crate) fn login_command(&self) -> String {
        format!("aws-cred login --profile {}", self.profile)
    }

    fn login_hint(&self) -> String {
        format!(
            "run {} (or: aws login --profile {})",
            self.login_command(),
            self.profile
        )
    }
}

/// `$AWS_LOGIN_CACHE_DIRECTORY` (with `~` and `$VAR` expanded, as the AWS CLI does), else
/// `~/.aws/login/cache`: [`crate::settings::login_cache_dir`], the one place that says so (the
/// chain, `login`, `status` and `logout` all ask it).
pub(crate) fn cache_dir(ctx: &Context) -> Result<PathBuf, Problem> {
    crate::settings::login_cache_dir(ctx).ok_or_else(|| {
        Problem::usage("cannot find the home directory for the login cache")
            .hint(format!("set HOME, or {CACHE_DIR_VAR}"))
    })
}

pub(crate) fn cache_path(ctx: &Context, session_arn: &str) -> Result<PathBuf, Problem> {
    Ok(cache_dir(ctx)?.join(cache::file_name(session_arn)))
}

/// What the cache holds for a session.
pub(crate) type Cached = crate::auth::obtain::Cached<Entry>;

/// The cache directory of `path`, under the trust rule of files shared with the AWS CLI (the
/// same as `~/.aws/sso/cache`'s, [`Cache::shared`]): a file or folder another user owns is
/// warned about and not used, a loose mode is warned about.
fn shared_cache(path: &std::path::Path) -> (Cache, String) {
    let key = path
        .file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".json").to_string())
        .unwrap_or_default();
    (Cache::shared(crate::os::fs::parent_dir(path)), key)
}

/// A session's cache file: missing, unusable (why), or its entry. A file that is there but
/// cannot be read (over 1 MiB, not a regular file) is an error naming it.
pub(crate) fn read(path: &std::path::Path) -> Result<Cached, Problem> {
    let (cache, key) = shared_cache(path);
    match cache.read_bytes_or_error(&key)? {
        Some(bytes) => Ok(match Entry::parse(&bytes) {
            Ok(entry) => Cached::Found(entry),
            Err(reason) => Cached::Unusable(reason.to_string()),
        }),
        None => Ok(Cached::Missing),
    }
}

/// What to do with a cached entry at `now`: the refresh decision, pure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// More than [`REFRESH_WINDOW`] left.
    Use,
    /// Within the window or expired, and the file has what a refresh needs.
    Refresh { still_valid: bool },
    /// Within the window, not refreshable, not expired yet: use it while it lasts.
    UseUntilExpiry,
    /// Expired and not refreshable.
    LoginAgain,
}

pub(crate) fn decide(expires_at: SystemTime, refreshable: bool, now: SystemTime) -> Decision {
    let still_valid = expires_at > now;
    if expires_at > now + REFRESH_WINDOW {
        Decision::Use
    } else if refreshable {
        Decision::Refresh { still_valid }
    } else if still_valid {
        Decision::UseUntilExpiry
    } else {
        Decision::LoginAgain
    }
}

/// The chain's way to a login session's credentials: the cached ones, or a refresh under the
/// lock; never a login (that is `aws-cred login`'s).
struct Sessions<'a> {
    ctx: &'a Context,
    aws: &'a Aws,
    session: &'a LoginSession,
    /// The region of the refresh call when neither the cache nor the profile says.
    region: Option<&'a str>,
    path: PathBuf,
}

impl Sessions<'_> {
    /// The pure [`decide`] on what `cached` holds.
    fn decision<'c>(&self, cached: &'c Cached) -> Option<(&'c Entry, Decision)> {
        let entry = cached.found()?;
        let refreshable = entry.missing_refresh_fields().is_empty();
        Some((entry, decide(entry.expires_at, refreshable, self.ctx.now())))
    }

    /// After a failed refresh: a passing outage does not end a session that still works (as
    /// the JS SDK); a refusal does.
    fn keeps(&self, current: &Entry, error: &anyhow::Error) -> bool {
        let keeps = current.expires_at > self.ctx.now()
            && crate::base::error::classify(error).0 == Exit::Failure
            && !is_refusal(error);
        if keeps {
            eprintln!(
                "warning: could not refresh the login session of profile {} ({}); using the cached credentials until they expire",
                self.session.profile,
                crate::base::error::first_line(error)
            );
        }
        keeps
    }
}

impl Refreshable for Sessions<'_> {
    type Entry = Entry;
    type Failure = anyhow::Error;

    fn read(&self) -> anyhow::Result<Cached> {
        Ok(read(&self.path)?)
    }

    fn decide(
        &self,
        before: &Cached,
        current: &Cached,
        stage: Stage<'_, anyhow::Error>,
    ) -> Step<Entry> {
        let Some((entry, decision)) = self.decision(current) else {
            return Step::Stop;
        };
        let use_it = || {
            let same = before.found().map(|b| &b.access_key_id) == Some(&entry.access_key_id);
            Step::Use(
                entry.clone(),
                if same { How::Cached } else { How::FromOther },
            )
        };
        match (stage, decision) {
            (Stage::RefreshFailed(Some(error)), _) if self.keeps(entry, error) => {
                Step::Use(entry.clone(), How::Cached)
            }
            (Stage::RefreshFailed(_), _) | (_, Decision::LoginAgain) => Step::Stop,
            (_, Decision::Use | Decision::UseUntilExpiry) => use_it(),
            (Stage::Unlocked, Decision::Refresh { .. }) => Step::Lock,
            (Stage::Locked, Decision::Refresh { .. }) => Step::Refresh(entry.clone()),
        }
    }

    /// Holding credentials that still work, wait only briefly for another aws-cred refreshing.
    async fn lock(&self, before: &Cached) -> anyhow::Result<crate::cache::EntryLock> {
        let still_valid = before
            .found()
            .is_some_and(|e| e.expires_at > self.ctx.now());
        let timeout = Duration::from_secs(if still_valid { 10 } else { 60 });
        lock(self.ctx, self.session, timeout).await
    }

    /// Said now, while the credentials still work, not first when they have expired.
    fn lock_failed(&self, before: Cached, err: anyhow::Error) -> anyhow::Result<Entry> {
        match before {
            Cached::Found(entry) if entry.expires_at > self.ctx.now() => {
                eprintln!(
                    "warning: could not refresh the login session of profile {} now: {}; using the cached credentials until {}",
                    self.session.profile,
                    crate::base::error::first_line(&err),
                    crate::base::time::rfc3339(entry.expires_at)
                );
                Ok(entry)
            }
            _ => Err(err),
        }
    }

    async fn refresh(&self, current: Entry) -> anyhow::Result<Refresh<Entry, anyhow::Error>> {
        let (session, path) = (self.session, &self.path);
        let parts = match current.refresh_parts() {
            Ok(Some(parts)) => parts,
            Ok(None) => return Err(not_refreshable(session, path, &current)),
            Err(reason) => return Err(unusable(session, path, &reason.to_string()).into()),
        };
        let region = current
            .sign_in_region
            .as_deref()
            .or(session.region.as_deref())
            .or(self.region)
            .unwrap_or(FALLBACK_REGION);
        let grant = Grant::Refresh {
            client_id: parts.client_id,
            refresh_token: parts.refresh_token,
        };
        let now = self.ctx.now();
        let issued = match token_api::create_token(self.aws, region, grant, &parts.key, now).await {
            Ok(issued) => issued,
            Err(failure) => return Ok(Err(Some(refresh_failure(session, failure)))),
        };
        let bytes = current.refreshed(&issued, now, &session.arn);
        replace(path, &bytes)?;
        let refreshed = Entry::parse(bytes.expose().as_bytes()).map_err(|reason| {
            anyhow::anyhow!("the refreshed login cache does not parse: {reason}")
        })?;
        Ok(Ok(refreshed))
    }

    fn stop(&self, current: &Cached, failure: Option<anyhow::Error>) -> anyhow::Error {
        let (session, path) = (self.session, self.path.as_path());
        match (current, failure) {
            (_, Some(error)) => error,
            (Cached::Found(entry), None) => not_refreshable(session, path, entry),
            (Cached::Missing, None) => Problem::expired(format!(
                "profile {} has login_session = {}, but there is no login for it here (no {})",
                session.profile,
                session.arn,
                path.display()
            ))
            .hint(session.login_hint())
            .into(),
            (Cached::Unusable(reason), None) => unusable(session, path, reason).into(),
        }
    }
}

/// The chain's credentials for a login session: cached, or refreshed under the lock; and the
/// cache file they came from.
pub(crate) async fn obtain(
    ctx: &Context,
    aws: &Aws,
    session: &LoginSession,
    region: Option<&str>,
) -> anyhow::Result<(Obtained<Credentials>, PathBuf)> {
    let path = cache_path(ctx, &session.arn)?;
    let sessions = Sessions {
        ctx,
        aws,
        session,
        region,
        path,
    };
    let obtained = auth::obtain(&sessions).await?;
    let credentials = Obtained {
        value: obtained.value.credentials(),
        how: obtained.how,
    };
    Ok((credentials, sessions.path))
}

/// The cross-process lock of one session's cache file (in aws-cred's own cache directory, so
/// the shared login cache holds only what the AWS CLI puts there).
async fn lock(
    ctx: &Context,
    session: &LoginSession,
    timeout: Duration,
) -> anyhow::Result<crate::cache::EntryLock> {
    let key = cache::file_name(&session.arn);
    auth::lock(ctx, "login", key.trim_end_matches(".json"), timeout, || {
        eprintln!(
            "waiting for another aws-cred using the login session of profile {}...",
            session.profile
        )
    })
    .await
}

/// Replace the cache file atomically, mode 0600 (its folder judged as in [`read`]).
fn replace(path: &std::path::Path, bytes: &crate::base::secret::Secret) -> anyhow::Result<()> {
    let (cache, key) = shared_cache(path);
    cache
        .write_bytes(&key, bytes.expose().as_bytes())
        .map_err(|e| e.context(format!("cannot write the login cache {}", path.display())))
}

/// Write a new login's cache file (under the session's lock); its path.
pub(crate) async fn write_cache(
    ctx: &Context,
    session: &LoginSession,
    bytes: &crate::base::secret::Secret,
) -> anyhow::Result<PathBuf> {
    let path = cache_path(ctx, &session.arn)?;
    let _lock = lock(ctx, session, Duration::from_secs(60)).await?;
    replace(&path, bytes)?;
    Ok(path)
}

fn unusable(session: &LoginSession, path: &std::path::Path, reason: &str) -> Problem {
    Problem::expired(format!(
        "the login cache file {} (login_session of profile {}) cannot be used: {reason}",
        path.display(),
        session.profile
    ))
    .hint(format!("{} to replace it", session.login_hint()))
}

fn not_refreshable(session: &LoginSession, path: &std::path::Path, entry: &Entry) -> anyhow::Error {
    let missing = entry.missing_refresh_fields();
    let why = if missing.is_empty() {
        String::new()
    } else {
        format!(
            " and cannot be refreshed ({} has no {})",
            path.display(),
            missing.join(", ")
        )
    };
    Problem::expired(format!(
        "the login session {} of profile {} expired at {}{why}",
        session.arn,
        session.profile,
        crate::base::time::rfc3339(entry.expires_at)
    ))
    .hint(session.login_hint())
    .into()
}

/// Marker for refusals by Sign-In (never replaced by the cached credentials).
#[derive(Debug)]
struct Refused;
impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("refused by AWS Sign-In")
    }
}
impl std::error::Error for Refused {}

fn is_refusal(error: &anyhow::Error) -> bool {
    error.chain().any(|e| e.is::<Refused>())
}

/// Untrusted text from a server, for a terminal: control characters escaped.
fn printable(text: &str) -> String {
    text.chars()
        .flat_map(char::escape_default)
        .collect::<String>()
        .replace("\\'", "'")
        .replace("\\\"", "\"")
}

/// Each refusal with its own message and fix.
fn refresh_failure(session: &LoginSession, failure: Failure) -> anyhow::Error {
    let (exception, error, message) = match failure {
        Failure::Other(err) => {
            return err.context(format!(
                "could not refresh the login session of profile {}",
                session.profile
            ));
        }
        Failure::Service {
            exception,
            error,
            message,
        } => (exception, error, printable(&message)),
    };
    let profile = &session.profile;
    let said = if message.is_empty() {
        format!("{exception} {error}")
    } else {
        format!("{exception} {error}: {message}")
    };
    let problem = match (exception.as_str(), error.as_str()) {
        (_, "TOKEN_EXPIRED") => Problem::expired(format!(
            "the login session of profile {profile} has ended (TOKEN_EXPIRED): sessions last up to 12 hours, or it was signed out"
        ))
        .hint(session.login_hint()),
        (_, "USER_CREDENTIALS_CHANGED") => Problem::expired(format!(
            "the login session of profile {profile} cannot be refreshed because the password changed since the sign-in (USER_CREDENTIALS_CHANGED)"
        ))
        .hint(format!("{} and sign in with the new password", session.login_hint())),
        (_, "INSUFFICIENT_PERMISSIONS") => Problem::failure(format!(
            "the login session of profile {profile} cannot be refreshed: the identity {} is not allowed signin:CreateOAuth2Token (INSUFFICIENT_PERMISSIONS)",
            session.arn
        ))
        .hint("ask an administrator to allow signin:CreateOAuth2Token (the AWS managed policy SignInLocalDevelopmentAccess has it), then log in again"),
        ("AccessDeniedException" | "ValidationException", _) => Problem::expired(format!(
            "AWS Sign-In refused to refresh the login session of profile {profile} ({said})"
        ))
        .hint(session.login_hint()),
        ("TooManyRequestsError", _) => Problem::failure(format!(
            "AWS Sign-In is throttling refreshes of the login session of profile {profile} ({said})"
        ))
        .hint("wait a little and try again"),
        _ => {
            return anyhow::Error::new(Problem::failure(format!(
                "could not refresh the login session of profile {profile}: AWS Sign-In answered {said}"
            )));
        }
    };
    anyhow::Error::new(Refused).context(problem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn the_refresh_decision() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let at = |s: i64| UNIX_EPOCH + Duration::from_secs((1_800_000_000 + s) as u64);
        assert_eq!(decide(at(301), true, now), Decision::Use);
        assert_eq!(decide(at(301), false, now), Decision::Use);
        assert_eq!(
            decide(at(300), true, now),
            Decision::Refresh { still_valid: true }
        );
        assert_eq!(decide(at(120), false, now), Decision::UseUntilExpiry);
        assert_eq!(
            decide(at(0), true, now),
            Decision::Refresh { still_valid: false }
        );
        assert_eq!(
            decide(at(-3600), true, now),
            Decision::Refresh { still_valid: false }
        );
        assert_eq!(decide(at(0), false, now), Decision::LoginAgain);
    }

    #[test]
    fn cache_dir_from_the_variable_with_expansion() {
        let ctx = Context::with_env([("HOME", "/home/a"), ("WHERE", "x")]);
        assert_eq!(
            cache_dir(&ctx).unwrap(),
            PathBuf::from("/home/a/.aws/login/cache")
        );
        let ctx = Context::with_env([
            ("HOME", "/home/a"),
            ("WHERE", "x"),
            (CACHE_DIR_VAR, "~/c/$WHERE/${WHERE}y/$NOPE"),
        ]);
        assert_eq!(
            cache_dir(&ctx).unwrap(),
            PathBuf::from("/home/a/c/x/xy/$NOPE")
        );
    }

    #[test]
    fn refusals_have_their_own_messages_and_exit_codes() {
        let session = LoginSession {
            profile: "console".into(),
            arn: "arn:aws:iam::123456789012:user/alice".into(),
            region: None,
        };
        let refusal = |error: &str| {
            refresh_failure(
                &session,
                Failure::Service {
                    exception: "AccessDeniedException".into(),
                    error: error.into(),
                    message: "no\x1b[31m".into(),
                },
            )
        };
        let expired = refusal("TOKEN_EXPIRED");
        assert_eq!(
            crate::base::error::classify(&expired),
            (
                Exit::Expired,
                Some("run aws-cred login --profile console (or: aws login --profile console)")
            )
        );
        assert!(expired.to_string().contains("TOKEN_EXPIRED"));
        let changed = refusal("USER_CREDENTIALS_CHANGED");
        assert!(changed.to_string().contains("password"));
        assert_eq!(crate::base::error::classify(&changed).0, Exit::Expired);
        let perms = refusal("INSUFFICIENT_PERMISSIONS");
        assert!(perms.to_string().contains("signin:CreateOAuth2Token"));
        assert_eq!(crate::base::error::classify(&perms).0, Exit::Failure);
        assert!(is_refusal(&perms));
        let other = refusal("INVALID_REQUEST");
        assert!(!other.to_string().contains('\x1b'), "{other}");
        assert_eq!(crate::base::error::classify(&other).0, Exit::Expired);
    }
}
