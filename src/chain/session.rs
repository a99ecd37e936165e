//! Credentials that can be asked for again: a [`Session`] runs the chain once, keeps what it
//! found, and runs it again when those credentials near their expiry. Running the chain again
//! is the refresh: it re-assumes roles from the cached MFA session or the source keys, refreshes
//! the SSO token (under its cross-process lock) and asks for new role credentials, re-reads the
//! web identity token, asks the container or instance endpoint again.
//!
//! Inside one process a refresh is single-flight: callers that ask while one is under way wait
//! for it and share its result, so two hundred requests to the credential server cause one
//! upstream call. Across processes the flows' own locks (MFA, SSO) do the same.
//!
//! `export` and `whoami` ask once; the credential server asks many times.

use super::{ChainFailure, Request, Resolution};
use crate::aws::Aws;
use crate::os::Context;
use crate::profile::Profiles;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::Mutex;

/// Refresh when less than this remains…
pub const REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);

/// …or less than this part of the credentials' lifetime, when that is shorter.
pub const REFRESH_FRACTION: u32 = 4;

/// What the chain needs to run, owned, so a session can live as long as a server.
pub struct Session {
    ctx: Context,
    profiles: Profiles,
    aws: Aws,
    region: Option<String>,
    /// What was found last; locked only to read or replace it, never across an await.
    current: std::sync::Mutex<Option<Held>>,
    /// Held by the one caller running the chain (single flight).
    refreshing: Mutex<()>,
}

struct Held {
    resolution: Arc<Resolution>,
    obtained: SystemTime,
    /// When the last refresh of these failed: they are served while valid, and the chain is
    /// asked again only after [`RETRY_AFTER`].
    failed_at: Option<SystemTime>,
}

/// After a failed refresh, how long still-valid credentials are served before the chain is
/// asked again (so a slow or failing source is not called on every request).
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

/// When credentials obtained at `obtained` and expiring at `expiry` should be replaced: less
/// than [`REFRESH_BEFORE`] left, or less than a quarter of their lifetime if that is shorter.
/// Credentials without an expiry never need it.
pub fn refresh_due(obtained: SystemTime, expiry: Option<SystemTime>, now: SystemTime) -> bool {
    let Some(expiry) = expiry else {
        return false;
    };
    let Ok(lifetime) = expiry.duration_since(obtained) else {
        // Expired when obtained (a skewed clock): nothing to keep.
        return true;
    };
    let window = REFRESH_BEFORE.min(lifetime / REFRESH_FRACTION);
    match expiry.duration_since(now) {
        Ok(left) => left <= window,
        Err(_) => true,
    }
}

impl Session {
    pub fn new(ctx: Context, profiles: Profiles, aws: Aws, region: Option<String>) -> Self {
        Session {
            ctx,
            profiles,
            aws,
            region,
            current: std::sync::Mutex::new(None),
            refreshing: Mutex::new(()),
        }
    }

    pub fn context(&self) -> &Context {
        &self.ctx
    }

    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    fn request(&self) -> Request<'_> {
        Request {
            ctx: &self.ctx,
            profiles: &self.profiles,
            aws: &self.aws,
            region: self.region.as_deref(),
        }
    }

    /// Credentials valid at `now`: the ones held, unless a refresh is due, else the chain's
    /// new answer. Never expired ones: the chain refuses those with the command that renews
    /// them, and so does this.
    ///
    /// One caller at a time runs the chain; the others are given the held credentials while
    /// those are still valid (they are refreshed ahead of expiry, so nobody waits for STS),
    /// and wait for the refresh only when nothing valid is held.
    ///
    /// When a refresh fails while the held credentials are still valid (STS unreachable for a
    /// moment, an MFA session that ends before the role session does), the held ones are
    /// served until they expire, and the chain is asked again [`RETRY_AFTER`] later.
    pub async fn credentials(&self, now: SystemTime) -> Result<Arc<Resolution>, ChainFailure> {
        if let Some(fresh) = self.held(now, true) {
            return Ok(fresh);
        }
        let _flight = match self.refreshing.try_lock() {
            Ok(flight) => flight,
            Err(_) => {
                // Someone is running the chain: what we hold will do while it is valid.
                if let Some(valid) = self.held(now, false) {
                    return Ok(valid);
                }
                self.refreshing.lock().await
            }
        };
        // A refresh may have ended while we waited for the lock, and time has passed.
        let now = now.max(self.ctx.now());
        if let Some(fresh) = self.held(now, true) {
            return Ok(fresh);
        }
        let result = super::resolve(&self.request()).await;
        let mut current = self.lock_current();
        let resolution = match result {
            Ok(resolution) => Arc::new(resolution),
            Err(failure) => {
                return match current.as_mut() {
                    Some(held) if valid_at(&held.resolution, now) => {
                        held.failed_at = Some(now);
                        Ok(held.resolution.clone())
                    }
                    _ => {
                        *current = None;
                        Err(failure)
                    }
                };
            }
        };
        // The chain may answer with what it answered before (a cached MFA session, an ECS
        // endpoint that has not rotated yet): keep the first time we saw those, so their
        // lifetime is not reset and an expiring answer is asked again next time.
        let obtained = match current.as_ref() {
            Some(held) if same_keys(&held.resolution, &resolution) => held.obtained,
            _ => self.ctx.now(),
        };
        *current = Some(Held {
            resolution: resolution.clone(),
            obtained,
            failed_at: None,
        });
        Ok(resolution)
    }

    /// The held credentials if valid at `now` and, with `fresh`, not due for a refresh (or
    /// a failed refresh is not to be retried yet).
    fn held(&self, now: SystemTime, fresh: bool) -> Option<Arc<Resolution>> {
        let current = self.lock_current();
        let held = current.as_ref()?;
        if !valid_at(&held.resolution, now) {
            return None;
        }
        let retry_later = held
            .failed_at
            .is_some_and(|failed| now < failed + RETRY_AFTER);
        let due = refresh_due(held.obtained, held.resolution.credentials.expiry(), now);
        (!fresh || retry_later || !due).then(|| held.resolution.clone())
    }

    fn lock_current(&self) -> std::sync::MutexGuard<'_, Option<Held>> {
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Forget what is held, so the next call runs the chain (after a person fixed the source).
    pub async fn forget(&self) {
        *self.lock_current() = None;
    }
}

fn valid_at(resolution: &Resolution, now: SystemTime) -> bool {
    resolution
        .credentials
        .expiry()
        .is_none_or(|expiry| expiry > now)
}

fn same_keys(a: &Resolution, b: &Resolution) -> bool {
    a.credentials.access_key_id() == b.credentials.access_key_id()
        && a.credentials.expiry() == b.credentials.expiry()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
    }

    #[test]
    fn an_hour_long_session_refreshes_five_minutes_before_expiry() {
        let (obtained, expiry) = (at(0), Some(at(3600)));
        assert!(!refresh_due(obtained, expiry, at(0)));
        assert!(!refresh_due(obtained, expiry, at(3600 - 301)));
        assert!(refresh_due(obtained, expiry, at(3600 - 300)));
        assert!(refresh_due(obtained, expiry, at(3601)));
    }

    #[test]
    fn short_sessions_refresh_in_their_last_quarter() {
        // 60-second credentials: a quarter is 15 s, shorter than five minutes.
        let (obtained, expiry) = (at(0), Some(at(60)));
        assert!(!refresh_due(obtained, expiry, at(44)));
        assert!(refresh_due(obtained, expiry, at(45)));
    }

    #[test]
    fn credentials_without_expiry_never_refresh_and_expired_ones_always_do() {
        assert!(!refresh_due(at(0), None, at(1_000_000)));
        // Obtained "after" expiry (clock skew): lifetime zero, refresh at once.
        assert!(refresh_due(at(100), Some(at(50)), at(10)));
    }
}
