//! The state of something a profile depends on (an SSO token, an MFA session, a login session,
//! a session written into a profile, a Cognito sign-in), as `aws-cred status` reports it. Flows
//! compute it from their caches; the renderers show it.

use std::time::SystemTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Validity {
    /// Usable until then.
    Valid { until: SystemTime },
    /// Expired (or about to), but the cache holds what a refresh needs: the next use renews it
    /// without a login.
    Refreshable { expired: SystemTime },
    /// Expired at that time; a new login or code is needed.
    Expired { at: SystemTime },
    /// Nothing cached.
    Missing,
    /// A cache entry exists but cannot be used (why, never its contents).
    Unusable(String),
}

impl Validity {
    /// From an expiry time: valid while it is in the future.
    pub fn from_expiry(now: SystemTime, expiry: SystemTime) -> Validity {
        if expiry > now {
            Validity::Valid { until: expiry }
        } else {
            Validity::Expired { at: expiry }
        }
    }

    /// The stable word for scripts: `valid`, `refreshable`, `expired`, `missing`, `unusable`.
    pub fn word(&self) -> &'static str {
        match self {
            Validity::Valid { .. } => "valid",
            Validity::Refreshable { .. } => "refreshable",
            Validity::Expired { .. } => "expired",
            Validity::Missing => "missing",
            Validity::Unusable(_) => "unusable",
        }
    }

    /// The time that matters: when it ends or ended.
    pub fn time(&self) -> Option<SystemTime> {
        match self {
            Validity::Valid { until } => Some(*until),
            Validity::Refreshable { expired } => Some(*expired),
            Validity::Expired { at } => Some(*at),
            Validity::Missing | Validity::Unusable(_) => None,
        }
    }

    pub fn is_usable(&self) -> bool {
        matches!(self, Validity::Valid { .. } | Validity::Refreshable { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn expiry_decides_valid_or_expired() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let later = now + Duration::from_secs(1);
        assert_eq!(
            Validity::from_expiry(now, later),
            Validity::Valid { until: later }
        );
        assert_eq!(
            Validity::from_expiry(now, now),
            Validity::Expired { at: now }
        );
        assert_eq!(Validity::Missing.word(), "missing");
        assert!(Validity::Refreshable { expired: now }.is_usable());
        assert!(!Validity::Expired { at: now }.is_usable());
    }
}
