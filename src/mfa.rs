//! MFA sessions: STS GetSessionToken with long-term keys and a one-time code, cached per
//! (long-term key, MFA serial) so one code in the morning serves every profile all day.

use crate::aws::{self, Aws};
use crate::base::error::Problem;
use crate::base::validity::Validity;
use crate::cache::Cache;
use crate::os::Context;
use crate::profile::Profiles;
use crate::settings;
use aws_credential_types::Credentials;
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};
use std::time::{Duration, SystemTime};

pub(crate) const DEFAULT_DURATION: i32 = 43_200;
pub(crate) const MIN_DURATION: i32 = 900;
pub(crate) const MAX_DURATION: i32 = 129_600;
pub(crate) const DEFAULT_MARGIN: Duration = Duration::from_secs(600);

/// A cached session as stored on disk.
#[derive(Serialize, Deserialize)]
pub(crate) struct CachedSession {
    pub version: u32,
    pub serial: String,
    /// Who the session belongs to, when known (GetCallerIdentity).
    pub arn: Option<String>,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: String,
}

impl std::fmt::Debug for CachedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedSession")
            .field("serial", &self.serial)
            .field("arn", &self.arn)
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

impl CachedSession {
    pub(crate) fn credentials(&self) -> Option<Credentials> {
        let expiry = crate::base::time::parse_time(&self.expiration)?;
        Some(
            Credentials::builder()
                .access_key_id(&self.access_key_id)
                .secret_access_key(&self.secret_access_key)
                .session_token(&self.session_token)
                .expiry(expiry)
                .provider_name(crate::base::PROVIDER)
                .build(),
        )
    }
}

pub(crate) fn cache(ctx: &Context) -> anyhow::Result<Cache> {
    let dir = ctx.cache_dir().ok_or_else(|| {
        Problem::usage("cannot find the home directory for the MFA session cache")
            .hint("set HOME or AWS_CRED_CACHE_DIR")
    })?;
    Ok(Cache::new(dir.join("mfa")))
}

/// One entry per (long-term access key, serial). The key id is hashed so file names do not
/// reveal it.
pub(crate) fn cache_key(source_access_key_id: &str, serial: &str) -> String {
    let mut hasher = Sha1::new();
    hasher.update(source_access_key_id.as_bytes());
    hasher.update(b"\n");
    hasher.update(serial.as_bytes());
    hex::encode(hasher.finalize())
}

/// A cached MFA session in words, as the chain's trace and `status` both say it: `made_from`
/// is the long-term keys' [`describe`](crate::profile::long_term::LongTerm::describe)
/// (`profile base`, ...).
pub(crate) fn describe_session(serial: &str, made_from: &str) -> String {
    format!("MFA session (device {serial}) made from {made_from} by aws-cred mfa")
}

/// Remove every cached session made from the long-term key `source_access_key_id` (after the
/// key was rotated or removed); returns how many went. The serial is read from each entry, so
/// sessions for any device are found.
pub(crate) fn forget_sessions_of(cache: &Cache, source_access_key_id: &str) -> usize {
    let mut removed = 0;
    for key in cache.keys().unwrap_or_default() {
        let Ok(Some(session)) = cache.read::<CachedSession>(&key) else {
            continue;
        };
        if cache_key(source_access_key_id, &session.serial) == key {
            cache.remove(&key);
            removed += 1;
        }
    }
    removed
}

/// How much validity a cached session must have left to be reused
/// ([`settings::MFA_MARGIN_MINUTES`]: `--margin-minutes`, `AWS_CRED_MFA_MARGIN_MINUTES`, 10).
pub(crate) fn margin(
    ctx: &Context,
    profiles: &Profiles,
    flag_minutes: Option<u64>,
) -> anyhow::Result<Duration> {
    let flag = flag_minutes.map(|m| m.to_string());
    let found = settings::MFA_MARGIN_MINUTES.duration(
        flag.as_deref(),
        ctx,
        Some(profiles),
        (0, 24 * 60),
        Duration::from_secs(60),
        "minutes",
    )?;
    Ok(found.map_or(DEFAULT_MARGIN, |(margin, _)| margin))
}

/// A cached session with at least `margin` left. An entry another user could have planted is
/// an error (see [`Cache::read`]).
pub(crate) fn cached(
    cache: &Cache,
    key: &str,
    now: SystemTime,
    margin: Duration,
) -> Result<Option<(CachedSession, Credentials)>, Problem> {
    let Some(session) = cache.read::<CachedSession>(key)? else {
        return Ok(None);
    };
    let Some(creds) = session.credentials() else {
        return Ok(None);
    };
    let fresh = creds
        .expiry()
        .is_some_and(|expiry| now.checked_add(margin).is_some_and(|limit| expiry > limit));
    Ok(fresh.then_some((session, creds)))
}

/// Where the cached session made from `profile`'s long-term keys and `serial` lives: the cache
/// and the entry's key. `None` when the profile has no long-term keys.
pub(crate) fn session_entry(
    ctx: &Context,
    profiles: &Profiles,
    profile: &str,
    serial: &str,
) -> Option<anyhow::Result<(Cache, String)>> {
    let long_term = match crate::profile::long_term::long_term_of_profile(profiles, profile)? {
        Ok(long_term) => long_term,
        Err(err) => return Some(Err(err)),
    };
    let key = cache_key(long_term.credentials.access_key_id(), serial);
    Some(cache(ctx).map(|cache| (cache, key)))
}

/// The state of the MFA session for `profile`'s keys and `serial`, for `status` (whatever the
/// reuse margin: the chain stops reusing it [`margin`] before this time).
pub(crate) fn session_state(
    ctx: &Context,
    profiles: &Profiles,
    profile: &str,
    serial: &str,
) -> Validity {
    let (cache, key) = match session_entry(ctx, profiles, profile, serial) {
        None => return Validity::Unusable(format!("profile {profile} has no long-term keys")),
        Some(Err(err)) => return Validity::Unusable(crate::base::error::first_line(&err)),
        Some(Ok(entry)) => entry,
    };
    if !crate::os::fs::exists(&cache.path(&key)) {
        return Validity::Missing;
    }
    match cache.read::<CachedSession>(&key) {
        Err(problem) => Validity::Unusable(problem.message),
        Ok(session) => match session.and_then(|s| s.credentials()?.expiry()) {
            Some(expiry) => Validity::from_expiry(ctx.now(), expiry),
            None => Validity::Unusable("the cache entry cannot be read".into()),
        },
    }
}

/// Remove the cached session made from `profile`'s keys and `serial` (`logout`); the file it
/// was in, or `None` when there was none.
pub(crate) fn remove_session(
    ctx: &Context,
    profiles: &Profiles,
    profile: &str,
    serial: &str,
) -> anyhow::Result<Option<std::path::PathBuf>> {
    let Some(entry) = session_entry(ctx, profiles, profile, serial) else {
        return Ok(None);
    };
    let (cache, key) = entry?;
    Ok(cache.remove_entry(&key)?.then(|| cache.path(&key)))
}

/// Remove every cached MFA session (`logout --all`); the files removed.
pub(crate) fn remove_all_sessions(ctx: &Context) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let cache = cache(ctx)?;
    let mut removed = Vec::new();
    for key in cache.keys()? {
        if cache.remove_entry(&key)? {
            removed.push(cache.path(&key));
        }
    }
    Ok(removed)
}

/// Check the code before any network call: exactly six ASCII digits.
/// In an error chain: the profile needs a new MFA session (none is cached, or it expired). A
/// command with a terminal asks for the code and goes on (`commands::Setup::resolve`).
#[derive(Debug, thiserror::Error)]
#[error("a new MFA session is needed")]
pub(crate) struct NeedsSession;

/// Whether an error says that a new MFA session is needed ([`NeedsSession`] in its chain).
pub(crate) fn needs_session(err: &anyhow::Error) -> bool {
    err.downcast_ref::<NeedsSession>().is_some() || err.chain().any(|e| e.is::<NeedsSession>())
}

/// A code as people type it from an authenticator app: `123 456` and `123-456` are `123456`.
pub(crate) fn normalize_code(typed: &str) -> String {
    typed
        .trim()
        .chars()
        .filter(|c| *c != ' ' && *c != '-')
        .collect()
}

pub(crate) fn validate_duration(seconds: i32) -> Result<(), Problem> {
    if (MIN_DURATION..=MAX_DURATION).contains(&seconds) {
        Ok(())
    } else {
        Err(Problem::usage(format!(
            "--duration-seconds {seconds} is out of range: AWS accepts 900 to 129600 (36 h) for IAM users"
        ))
        .hint("the default is 43200 (12 h); root users are capped at 3600 by AWS"))
    }
}

/// Where the serial number came from, for error messages.
#[derive(Debug, Clone)]
pub(crate) struct Serial {
    pub value: String,
    pub origin: String,
}

/// The MFA devices of the IAM user the long-term keys belong to (IAM ListMFADevices).
pub(crate) async fn list_mfa_devices(
    aws: &Aws,
    source: Credentials,
) -> anyhow::Result<Vec<String>> {
    // IAM is global; its requests are signed for us-east-1.
    let (client, target) = aws.iam(crate::aws::FALLBACK_REGION, Some(source));
    let out = client
        .list_mfa_devices()
        .send()
        .await
        .map_err(|e| aws::failure("IAM ListMFADevices", &target, e))?;
    Ok(out
        .mfa_devices
        .into_iter()
        .map(|device| device.serial_number)
        .collect())
}

/// STS GetSessionToken; errors explained in the words the runbook needs.
pub(crate) async fn get_session_token(
    aws: &Aws,
    region: &str,
    source: Credentials,
    serial: &Serial,
    code: &str,
    duration: i32,
) -> anyhow::Result<Credentials> {
    let (client, target) = aws.sts(region, Some(source));
    let result = client
        .get_session_token()
        .serial_number(&serial.value)
        .token_code(code)
        .duration_seconds(duration)
        .send()
        .await;
    let out = match result {
        Ok(out) => out,
        Err(err) => {
            let known = aws::error_code(&err).map(|(c, m)| (c.to_string(), m.to_string()));
            if let Some(problem) = known.and_then(|(c, m)| explain(&c, &m, serial)) {
                return Err(problem.into());
            }
            return Err(aws::failure("GetSessionToken", &target, err));
        }
    };
    crate::aws::sts::convert("GetSessionToken", &target, out.credentials, None)
}

/// The MFA-specific failures (STS error texts from the STS documentation and real answers).
pub(crate) fn explain(code: &str, message: &str, serial: &Serial) -> Option<Problem> {
    let lower = message.to_ascii_lowercase();
    if code == "AccessDenied" && lower.contains("invalid mfa one time pass code") {
        return Some(
            Problem::failure("MFA code rejected by AWS")
                .hint("wait for the next code and try again; if it keeps failing, check the time on the device that shows the code"),
        );
    }
    if code == "AccessDenied" && lower.contains("unable to validate mfa code") {
        return Some(
            Problem::failure(format!(
                "AWS could not validate the code against MFA device {} (from {})",
                serial.value, serial.origin
            ))
            .hint("check that this serial is the device assigned to this IAM user (aws iam list-mfa-devices), and fix it where it came from"),
        );
    }
    if code == "AccessDenied" && lower.contains("session credentials") {
        return Some(
            Problem::usage("GetSessionToken was called with session credentials, not long-term keys")
                .hint("use the IAM user's access keys (AKIA...) as the source: a profile with aws_access_key_id, or [PROFILE-long-term]"),
        );
    }
    if code == "InvalidClientTokenId" {
        return Some(
            Problem::failure("AWS does not know the long-term access key used for the MFA session")
                .hint("the key was deleted, deactivated or mistyped: create a new access key and update the profile"),
        );
    }
    if code == "ValidationError" && lower.contains("durationseconds") {
        return Some(
            Problem::usage(format!("AWS refused the session duration: {message}"))
                .hint("root users are limited to 3600 seconds; IAM users to 900-129600"),
        );
    }
    None
}

/// The serial configured for a profile (or its `-long-term` twin): `mfa_serial`, or the
/// `aws_mfa_device` key the aws-mfa tool keeps in `[P-long-term]`.
pub(crate) fn profile_serial(profiles: &crate::profile::Profiles, name: &str) -> Option<Serial> {
    let long_term = crate::profile::long_term::long_term_name(name);
    let places = [
        (name, "mfa_serial"),
        (long_term.as_str(), "mfa_serial"),
        (long_term.as_str(), "aws_mfa_device"),
    ];
    places.into_iter().find_map(|(holder, key)| {
        let value = profiles.credential(holder, key)?.trim();
        (!value.is_empty()).then(|| Serial {
            value: value.to_string(),
            origin: format!("{key} of profile {holder}"),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::text::validate_mfa_code;

    #[test]
    fn codes_are_taken_as_authenticator_apps_show_them() {
        for typed in ["123456", "123 456", "123-456", " 123456\n", "12 34 56"] {
            assert_eq!(normalize_code(typed), "123456", "{typed:?}");
        }
        assert!(validate_mfa_code(&normalize_code("123 45")).is_err());
        assert!(validate_mfa_code(&normalize_code("123.456")).is_err());
    }

    #[test]
    fn the_marker_is_found_under_a_problem_and_more_context() {
        let err = anyhow::Error::new(NeedsSession)
            .context(Problem::expired("needs a session"))
            .context("resolving profile admin");
        assert!(needs_session(&err));
        assert!(!needs_session(&anyhow::Error::new(Problem::expired("x"))));
    }

    #[test]
    fn duration_bounds() {
        assert!(validate_duration(900).is_ok());
        assert!(validate_duration(129_600).is_ok());
        assert!(validate_duration(899).is_err());
        assert!(validate_duration(129_601).is_err());
    }

    #[test]
    fn cache_key_depends_on_key_and_serial() {
        let a = cache_key("AKIA1", "arn:aws:iam::1:mfa/a");
        assert_ne!(a, cache_key("AKIA2", "arn:aws:iam::1:mfa/a"));
        assert_ne!(a, cache_key("AKIA1", "arn:aws:iam::1:mfa/b"));
        assert!(!a.contains("AKIA"));
        assert_eq!(a.len(), 40);
    }

    #[test]
    fn sts_errors_become_runbook_answers() {
        let serial = Serial {
            value: "arn:aws:iam::1:mfa/me".into(),
            origin: "profile prod (mfa_serial)".into(),
        };
        let p = explain(
            "AccessDenied",
            "MultiFactorAuthentication failed with invalid MFA one time pass code.",
            &serial,
        )
        .unwrap();
        assert!(p.hint.unwrap().contains("next code"));
        let p = explain("AccessDenied", "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user.", &serial).unwrap();
        assert!(p.message.contains("arn:aws:iam::1:mfa/me") && p.message.contains("profile prod"));
        let p = explain(
            "AccessDenied",
            "Cannot call GetSessionToken with session credentials",
            &serial,
        )
        .unwrap();
        assert!(p.message.contains("session credentials"));
        assert!(explain("AccessDenied", "User is not authorized", &serial).is_none());
    }

    #[test]
    fn forgetting_a_key_removes_only_its_sessions() {
        let cache_dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(cache_dir.path().to_path_buf());
        let session = |serial: &str| CachedSession {
            version: 1,
            serial: serial.into(),
            arn: None,
            access_key_id: "ASIA".into(),
            secret_access_key: "x".into(),
            session_token: "t".into(),
            expiration: "2030-01-01T00:00:00Z".into(),
        };
        for (key, serial) in [("AKIAOLD", "s1"), ("AKIAOLD", "s2"), ("AKIANEW", "s1")] {
            cache
                .write(&cache_key(key, serial), &session(serial))
                .unwrap();
        }
        assert_eq!(forget_sessions_of(&cache, "AKIAOLD"), 2);
        assert_eq!(cache.keys().unwrap(), vec![cache_key("AKIANEW", "s1")]);
    }

    #[test]
    fn margin_rules() {
        let cache_dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(cache_dir.path().to_path_buf());
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000);
        let session = |secs_left: u64| CachedSession {
            version: 1,
            serial: "s".into(),
            arn: None,
            access_key_id: "ASIA".into(),
            secret_access_key: "x".into(),
            session_token: "t".into(),
            expiration: crate::base::time::rfc3339(now + Duration::from_secs(secs_left)),
        };
        cache.write("k", &session(601)).unwrap();
        assert!(cached(&cache, "k", now, DEFAULT_MARGIN).unwrap().is_some());
        cache.write("k", &session(599)).unwrap();
        assert!(cached(&cache, "k", now, DEFAULT_MARGIN).unwrap().is_none());
        assert!(cached(&cache, "k", now, Duration::ZERO).unwrap().is_some());
    }
}
