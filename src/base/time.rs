//! Times as AWS writes them and as people read them.

use aws_credential_types::Credentials;
use chrono::{DateTime, SecondsFormat, Utc};
use std::time::{Duration, SystemTime};

/// The latest time aws-cred accepts from a server or a file: 9999-12-31T23:59:59Z. Later
/// times cannot be written as RFC 3339 (which has four-digit years) and read back, so they
/// are refused where they come in.
pub(crate) const MAX_UNIX_SECS: i64 = 253_402_300_799;

/// A time from a server or a file that aws-cred cannot represent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} = {value} is not a usable time (it must fall between 1970 and the year 9999)")]
pub(crate) struct OutOfRange {
    pub field: String,
    pub value: String,
}

fn out_of_range(field: &str, value: impl std::fmt::Display) -> OutOfRange {
    OutOfRange {
        field: field.to_string(),
        value: value.to_string(),
    }
}

/// Credentials that expired before they could be used (a server that answers with past
/// expirations, or this computer's clock): the error names `source` and adds `hint`.
pub(crate) fn refuse_expired(
    now: SystemTime,
    creds: &Credentials,
    source: &str,
    hint: &str,
) -> Result<(), crate::base::error::Problem> {
    match creds.expiry() {
        Some(expiry) if expiry <= now => Err(crate::base::error::Problem::expired(format!(
            "the credentials from {source} expired at {} (before they could be used)",
            rfc3339(expiry)
        ))
        .hint(format!(
            "{hint}; if this repeats, check this computer's clock (e.g. `timedatectl`)"
        ))),
        _ => Ok(()),
    }
}

/// Seconds since 1970 (a server's `Expiration`, a JWT's `exp`), checked.
pub(crate) fn from_unix_secs(field: &str, secs: i64) -> Result<SystemTime, OutOfRange> {
    if !(0..=MAX_UNIX_SECS).contains(&secs) {
        return Err(out_of_range(field, secs));
    }
    Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs()))
}

/// [`from_unix_secs`] for unsigned values (JWT claims).
pub(crate) fn from_unix_secs_u64(field: &str, secs: u64) -> Result<SystemTime, OutOfRange> {
    i64::try_from(secs)
        .map_err(|_| out_of_range(field, secs))
        .and_then(|secs| from_unix_secs(field, secs))
}

/// Milliseconds since 1970 (the SSO portal's `expiration`), checked.
pub(crate) fn from_unix_millis(field: &str, millis: i64) -> Result<SystemTime, OutOfRange> {
    if !(0..=MAX_UNIX_SECS.saturating_mul(1000)).contains(&millis) {
        return Err(out_of_range(field, millis));
    }
    Ok(SystemTime::UNIX_EPOCH + Duration::from_millis(millis.unsigned_abs()))
}

/// `now` plus a duration a server gave (`expiresIn`), checked.
pub(crate) fn after(
    field: &str,
    now: SystemTime,
    duration: Duration,
) -> Result<SystemTime, OutOfRange> {
    now.checked_add(duration)
        .filter(|t| *t <= SystemTime::UNIX_EPOCH + Duration::from_secs(MAX_UNIX_SECS as u64))
        .ok_or_else(|| out_of_range(field, format!("{} s from now", duration.as_secs())))
}

/// For formatting: a time chrono can always represent (clamped to 1970..=9999), so no
/// formatting path can panic or print a year that does not read back.
fn utc(time: SystemTime) -> DateTime<Utc> {
    let secs = match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(_) => 0,
    };
    DateTime::from_timestamp(secs.clamp(0, MAX_UNIX_SECS), 0).unwrap_or_default()
}

/// RFC 3339 / ISO 8601 with offset, as SDKs write expirations.
pub fn parse_time(text: &str) -> Option<SystemTime> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(SystemTime::from)
}

/// RFC 3339 in UTC, whole seconds; times after 9999 are clamped (they are refused where they
/// come in).
pub(crate) fn rfc3339(time: SystemTime) -> String {
    utc(time).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A time in a given `strftime` format, UTC, clamped like [`rfc3339`].
pub(crate) fn format_utc(time: SystemTime, format: &str) -> String {
    utc(time).format(format).to_string()
}

/// Local wall-clock time and time left, for people: `2026-11-22 18:00:00 +09:00 (in 11h 59m)`.
pub(crate) fn describe_expiry(now: SystemTime, expiry: SystemTime) -> String {
    let local = utc(expiry)
        .with_timezone(&chrono::Local)
        .format("%Y-%m-%d %H:%M:%S %:z");
    format!("{local} ({})", remaining(now, expiry))
}

/// `, valid until <describe_expiry>` for credentials that expire, else nothing.
pub(crate) fn valid_until(now: SystemTime, creds: &Credentials) -> String {
    creds
        .expiry()
        .map(|t| format!(", valid until {}", describe_expiry(now, t)))
        .unwrap_or_default()
}

/// A span for people: `340 days` (from two days on), `11h 59m`, `4m 10s`, `5s`.
pub(crate) fn span(secs: u64) -> String {
    if secs >= 2 * 86_400 {
        format!("{} days", secs / 86_400)
    } else if secs >= 3600 {
        format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60)
    } else if secs >= 60 {
        format!("{}m {:02}s", secs / 60, secs % 60)
    } else {
        format!("{secs}s")
    }
}

/// How long ago `at` was, `now` being later: `2h 00m ago`, `340 days ago` (`0s ago` for a
/// time not yet come).
pub(crate) fn ago(now: SystemTime, at: SystemTime) -> String {
    let secs = now.duration_since(at).map_or(0, |d| d.as_secs());
    format!("{} ago", span(secs))
}

/// `in 11h 59m`, `in 4m 10s`, `expired 3m ago`.
pub(crate) fn remaining(now: SystemTime, expiry: SystemTime) -> String {
    let (secs, past) = match expiry.duration_since(now) {
        Ok(left) => (left.as_secs(), false),
        Err(err) => (err.duration().as_secs(), true),
    };
    let text = span(secs);
    if past {
        format!("expired {text} ago")
    } else {
        format!("in {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn remaining_time_reads_naturally() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let at = |s: u64| now + Duration::from_secs(s);
        assert_eq!(remaining(now, at(43_140)), "in 11h 59m");
        assert_eq!(remaining(now, at(250)), "in 4m 10s");
        assert_eq!(remaining(now, at(5)), "in 5s");
        assert_eq!(remaining(at(180), now), "expired 3m 00s ago");
        assert_eq!(remaining(now, at(30 * 3600)), "in 30h 00m");
        assert_eq!(
            remaining(at(340 * 86_400 + 3600), now),
            "expired 340 days ago"
        );
        assert_eq!(ago(at(7200), now), "2h 00m ago");
        assert_eq!(ago(now, at(5)), "0s ago");
    }

    #[test]
    fn server_times_out_of_range_are_errors_not_panics() {
        assert!(from_unix_secs("Expiration", i64::MAX).is_err());
        assert!(from_unix_secs("Expiration", -1).is_err());
        assert!(from_unix_secs("Expiration", MAX_UNIX_SECS + 1).is_err());
        let last = from_unix_secs("Expiration", MAX_UNIX_SECS).unwrap();
        assert_eq!(rfc3339(last), "9999-12-31T23:59:59Z");
        assert_eq!(parse_time(&rfc3339(last)), Some(last), "reads back");
        assert!(from_unix_secs_u64("exp", u64::MAX).is_err());
        assert!(from_unix_secs_u64("exp", 10_000_000_000_000_000).is_err());
        assert!(from_unix_millis("expiration", i64::MAX).is_err());
        assert_eq!(
            from_unix_millis("expiration", 1_500).unwrap(),
            UNIX_EPOCH + Duration::from_millis(1_500)
        );
        let err = from_unix_secs("clientSecretExpiresAt", i64::MAX).unwrap_err();
        assert!(err.to_string().contains("clientSecretExpiresAt"), "{err}");
        let now = UNIX_EPOCH + Duration::from_secs(2_000_000_000);
        assert!(after("expiresIn", now, Duration::from_secs(u64::MAX)).is_err());
        assert!(after("expiresIn", now, Duration::from_secs(3600)).is_ok());
        // Formatting never panics, whatever the time.
        // Year 17814: past 9999, and inside Windows' SystemTime range (up to the year 30828).
        let far = UNIX_EPOCH + Duration::from_secs(500_000_000_000);
        assert_eq!(rfc3339(far), "9999-12-31T23:59:59Z");
        let _ = describe_expiry(now, far);
        let _ = remaining(now, far);
    }
}
