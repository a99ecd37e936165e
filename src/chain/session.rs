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
use crate::os::process::Terminal;
use crate::profile::Profiles;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::Mutex;

/// Refresh when less than this remains…
pub(crate) const REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);

/// …or less than this part of the credentials' lifetime, when that is shorter.
pub(crate) const REFRESH_FRACTION: u32 = 4;

/// What the chain needs to run, owned, so a session can live as long as a server.
pub(crate) struct Session {
    ctx: Context,
    profiles: Profiles,
    aws: Aws,
    region: Option<String>,
    /// What was found last; locked only to read or replace it, never across an await.
    current: std::sync::Mutex<Option<Held>>,
    /// Held by the one caller running the chain (single flight).
    refreshing: Mutex<()>,
    /// The last failed run of the chain with nothing valid held: its answer goes to every
    /// caller for [`RETRY_AFTER`] (the ones that waited for that run included), so a failing
    /// source is asked at most once per [`RETRY_AFTER`] however many callers there are.
    failed: std::sync::Mutex<Option<Failed>>,
    /// The chain has run once (the start's check): later runs are refreshes in the
    /// background, while `exec --server`'s command may own the terminal, so they run without
    /// one ([`Terminal::None`]).
    ran: std::sync::atomic::AtomicBool,
    /// `--duration` for the role session.
    duration: Option<u32>,
}

/// A failure to hand out again: what a [`ChainFailure`] tells a caller (exit class, message,
/// hint, trace), as a copy each caller can own.
struct Failed {
    at: SystemTime,
    exit: crate::base::error::Exit,
    message: String,
    hint: Option<String>,
    trace: super::Trace,
}

impl Failed {
    fn of(failure: &ChainFailure, at: SystemTime) -> Failed {
        let (exit, hint) = crate::base::error::classify(&failure.error);
        Failed {
            at,
            exit,
            message: crate::base::error::causes(failure.error.as_ref()),
            hint: hint.map(str::to_string),
            trace: failure.trace.clone(),
        }
    }

    fn copy(&self) -> ChainFailure {
        let mut problem = crate::base::error::Problem::new(self.exit, self.message.clone());
        if let Some(hint) = &self.hint {
            problem = problem.hint(hint.clone());
        }
        ChainFailure {
            error: problem.into(),
            trace: self.trace.clone(),
        }
    }
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
pub(crate) const RETRY_AFTER: Duration = Duration::from_secs(5);

/// When credentials obtained at `obtained` and expiring at `expiry` should be replaced: less
/// than [`REFRESH_BEFORE`] left, or less than a quarter of their lifetime if that is shorter.
/// Credentials without an expiry never need it.
pub(crate) fn refresh_due(
    obtained: SystemTime,
    expiry: Option<SystemTime>,
    now: SystemTime,
) -> bool {
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
    pub(crate) fn new(
        ctx: Context,
        profiles: Profiles,
        aws: Aws,
        region: Option<String>,
        duration: Option<u32>,
    ) -> Self {
        Session {
            ctx,
            profiles,
            aws,
            region,
            current: std::sync::Mutex::new(None),
            refreshing: Mutex::new(()),
            failed: std::sync::Mutex::new(None),
            ran: std::sync::atomic::AtomicBool::new(false),
            duration,
        }
    }

    pub(crate) fn context(&self) -> &Context {
        &self.ctx
    }

    fn request(&self) -> Request<'_> {
        use std::sync::atomic::Ordering;
        let terminal = if self.ran.swap(true, Ordering::SeqCst) {
            // Nor a spinner while an answer is slow.
            self.aws.in_background();
            Terminal::None
        } else {
            Terminal::Shared
        };
        Request {
            ctx: &self.ctx,
            profiles: &self.profiles,
            aws: &self.aws,
            region: self.region.as_deref(),
            terminal,
            duration: self.duration,
        }
    }

    /// Credentials valid at `now`: the ones held, unless a refresh is due, else the chain's
    /// new answer. Never expired ones: the chain refuses those with the command that renews
    /// them, and so does this, also when held credentials expire while a refresh is running.
    ///
    /// One caller at a time runs the chain; the others are given the held credentials while
    /// those are still valid (they are refreshed ahead of expiry, so nobody waits for STS),
    /// and wait for the refresh only when nothing valid is held. A refresh that fails answers
    /// all who waited for it at once, and for [`RETRY_AFTER`] every later caller too: the
    /// source is asked again only after that pause.
    ///
    /// When a refresh fails while the held credentials are still valid (STS unreachable for a
    /// moment, an MFA session that ends before the role session does), the held ones are
    /// served until they expire, and the chain is asked again [`RETRY_AFTER`] later.
    ///
    /// A caller that gives up (its future dropped) ends its own run of the chain; the next
    /// caller starts a new one.
    pub(crate) async fn credentials(
        &self,
        now: SystemTime,
    ) -> Result<Arc<Resolution>, ChainFailure> {
        if let Some(fresh) = self.held(now, true) {
            return Ok(fresh);
        }
        if let Some(failed) = self.recent_failure(now, None) {
            return Err(failed);
        }
        let (_flight, waited_since) = match self.refreshing.try_lock() {
            Ok(flight) => (flight, None),
            Err(_) => {
                // Someone is running the chain: what we hold will do while it is valid.
                if let Some(valid) = self.held(now, false) {
                    return Ok(valid);
                }
                let since = self.ctx.now();
                (self.refreshing.lock().await, Some(since))
            }
        };
        // A refresh may have ended while we waited for the lock, and time has passed.
        let now = now.max(self.ctx.now());
        if let Some(fresh) = self.held(now, true) {
            return Ok(fresh);
        }
        // The run we waited for failed: its answer is ours.
        if let Some(failed) = self.recent_failure(now, waited_since) {
            return Err(failed);
        }
        let result = super::resolve(&self.request()).await;
        // The run may have taken long: what was valid before it may not be any more.
        let after = now.max(self.ctx.now());
        let mut current = self.lock_current();
        let resolution = match result {
            Ok(resolution) => Arc::new(resolution),
            Err(failure) => {
                return match current.as_mut() {
                    Some(held) if valid_at(&held.resolution, after) => {
                        held.failed_at = Some(after);
                        Ok(held.resolution.clone())
                    }
                    _ => {
                        *current = None;
                        drop(current);
                        *self.lock_failed() = Some(Failed::of(&failure, after));
                        Err(failure)
                    }
                };
            }
        };
        *self.lock_failed() = None;
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

    /// The answer of a failed run of the chain to give instead of running it again: to a
    /// caller that waited for that run (`waited_since`: when it began waiting), and to anyone
    /// for [`RETRY_AFTER`] after it, unless a person has to act (an expired MFA session or SSO
    /// login, a locked keyring): then the next caller looks again at once, so the endpoint
    /// recovers as soon as the person has run `aws-cred mfa` (such checks read files only).
    fn recent_failure(
        &self,
        now: SystemTime,
        waited_since: Option<SystemTime>,
    ) -> Option<ChainFailure> {
        use crate::base::error::Exit;
        let failed = self.lock_failed();
        let failed = failed.as_ref()?;
        let same_run = waited_since.is_some_and(|since| failed.at >= since);
        let person = matches!(failed.exit, Exit::Expired | Exit::KeyringUnavailable);
        let pausing = !person && now < failed.at + RETRY_AFTER;
        (same_run || pausing).then(|| failed.copy())
    }

    fn lock_failed(&self) -> std::sync::MutexGuard<'_, Option<Failed>> {
        self.failed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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
