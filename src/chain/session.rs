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
    current: Mutex<Option<Held>>,
}

#[derive(Clone)]
struct Held {
    resolution: Resolution,
    obtained: SystemTime,
}

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
            current: Mutex::new(None),
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
    pub async fn credentials(&self, now: SystemTime) -> Result<Resolution, ChainFailure> {
        let mut current = self.current.lock().await;
        if let Some(held) = current.as_ref()
            && !refresh_due(held.obtained, held.resolution.credentials.expiry(), now)
        {
            return Ok(held.resolution.clone());
        }
        let resolution = super::resolve(&self.request()).await?;
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
        });
        Ok(resolution)
    }

    /// Forget what is held, so the next call runs the chain (after a person fixed the source).
    pub async fn forget(&self) {
        *self.current.lock().await = None;
    }
}

fn same_keys(a: &Resolution, b: &Resolution) -> bool {
    a.credentials.access_key_id() == b.credentials.access_key_id()
        && a.credentials.expiry() == b.credentials.expiry()
}

#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "tests set up and inspect files and processes directly"
)]
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
