//! Times as AWS writes them and as people read them.

use aws_credential_types::Credentials;
use chrono::{DateTime, SecondsFormat, Utc};
use std::time::SystemTime;

/// RFC 3339 / ISO 8601 with offset, as SDKs write expirations.
pub fn parse_time(text: &str) -> Option<SystemTime> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(SystemTime::from)
}

pub fn rfc3339(time: SystemTime) -> String {
    DateTime::<Utc>::from(time).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Local wall-clock time and time left, for people: `2026-11-22 18:00:00 +09:00 (in 11h 59m)`.
pub fn describe_expiry(now: SystemTime, expiry: SystemTime) -> String {
    let local = DateTime::<chrono::Local>::from(expiry).format("%Y-%m-%d %H:%M:%S %:z");
    format!("{local} ({})", remaining(now, expiry))
}

/// `, valid until <describe_expiry>` for credentials that expire, else nothing.
pub fn valid_until(now: SystemTime, creds: &Credentials) -> String {
    creds
        .expiry()
        .map(|t| format!(", valid until {}", describe_expiry(now, t)))
        .unwrap_or_default()
}

/// `in 11h 59m`, `in 4m 10s`, `expired 3m ago`.
pub fn remaining(now: SystemTime, expiry: SystemTime) -> String {
    let (secs, past) = match expiry.duration_since(now) {
        Ok(left) => (left.as_secs(), false),
        Err(err) => (err.duration().as_secs(), true),
    };
    let text = if secs >= 3600 {
        format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60)
    } else if secs >= 60 {
        format!("{}m {:02}s", secs / 60, secs % 60)
    } else {
        format!("{secs}s")
    };
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
    }
}
