//! The one way a cached token or session becomes usable, shared by IAM Identity Center tokens
//! (`sso::token`) and `aws login` sessions (`login`): read the cache file, decide; if there is
//! work, take the cross-process lock, read again (whoever held the lock may have done it), decide
//! again; refresh, and when the refresh fails decide once more (keep what still works, log in,
//! or stop). Each flow brings its own pure decision (with its table tests), its refresh call and
//! its messages through [`Refreshable`]; the order of the steps, and the bound on them, are here.

use crate::base::error::Problem;
use crate::cache::{Cache, EntryLock};
use crate::os::Context;
use std::future::Future;
use std::time::Duration;

/// What a cache file held when it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cached<T> {
    Missing,
    /// The file exists but cannot be used (the reason, without its contents).
    Unusable(String),
    Found(T),
}

impl<T> Cached<T> {
    pub(crate) fn found(&self) -> Option<&T> {
        match self {
            Cached::Found(value) => Some(value),
            _ => None,
        }
    }
}

/// Where the token or credentials came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum How {
    Cached,
    Refreshed,
    LoggedIn,
    /// Another process logged in or refreshed while this one waited for the lock.
    FromOther,
}

impl How {
    /// How the entry was got, as the chain's trace adds it after the source (`""` when it
    /// was simply read from the cache).
    pub(crate) fn note(self) -> &'static str {
        match self {
            How::Cached => "",
            How::Refreshed => ", refreshed",
            How::FromOther => ", refreshed by another process",
            How::LoggedIn => ", logged in",
        }
    }
}

#[derive(Debug)]
pub(crate) struct Obtained<T> {
    pub value: T,
    pub how: How,
}

/// Where [`obtain`] is when it asks [`Refreshable::decide`].
#[derive(Debug)]
pub(crate) enum Stage<'a, F> {
    /// Before the lock: `before` and `current` are the same read.
    Unlocked,
    /// Under the lock, with what the file holds now.
    Locked,
    /// Under the lock, after a refresh that failed (why, when the flow said).
    RefreshFailed(Option<&'a F>),
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step<T> {
    /// Use this as it is.
    Use(T, How),
    /// Take the lock, then decide again with what the file says then.
    Lock,
    /// Refresh this.
    Refresh(T),
    /// A new login (only a flow with a person at the terminal gets here).
    LogIn,
    /// Stop: [`Refreshable::stop`] says what is wrong and the command that fixes it.
    Stop,
}

/// What a refresh gave.
pub(crate) type Refresh<T, F> = Result<T, Option<F>>;

/// One kind of cached, refreshable token, for [`obtain`].
pub(crate) trait Refreshable: Sync {
    /// The usable thing (a token, a session entry).
    type Entry: Send + Sync;
    /// Why a refresh failed.
    type Failure: Send + Sync;

    /// The cache file as it is now.
    fn read(&self) -> anyhow::Result<Cached<Self::Entry>>;
    /// The flow's policy: what `before` (read before the lock) and `current` call for.
    fn decide(
        &self,
        before: &Cached<Self::Entry>,
        current: &Cached<Self::Entry>,
        stage: Stage<'_, Self::Failure>,
    ) -> Step<Self::Entry>;
    /// The cross-process lock of this entry, waited for up to a time that depends on `before`.
    fn lock(
        &self,
        before: &Cached<Self::Entry>,
    ) -> impl Future<Output = anyhow::Result<EntryLock>> + Send;
    /// The lock could not be taken: what to use instead (as cached), or the error.
    fn lock_failed(
        &self,
        before: Cached<Self::Entry>,
        err: anyhow::Error,
    ) -> anyhow::Result<Self::Entry>;
    /// Refresh `entry` and write the result back. `Err` is a failure to stop with at once;
    /// `Ok(Err(why))` is one [`Stage::RefreshFailed`] decides about.
    fn refresh(
        &self,
        entry: Self::Entry,
    ) -> impl Future<Output = anyhow::Result<Refresh<Self::Entry, Self::Failure>>> + Send;
    /// A new login, when [`Refreshable::decide`] asks for one, after a refresh that failed for
    /// `failure` if one did. By default there is none: a flow that never logs in (the chain's)
    /// stops with what is wrong with `current`.
    fn log_in(
        &self,
        current: &Cached<Self::Entry>,
        failure: Option<Self::Failure>,
    ) -> impl Future<Output = anyhow::Result<Self::Entry>> + Send {
        let stop = self.stop(current, failure);
        async move { Err(stop) }
    }
    /// The error that says what is wrong with `current` (and the refresh), and what to run.
    fn stop(&self, current: &Cached<Self::Entry>, failure: Option<Self::Failure>) -> anyhow::Error;
}

/// A usable entry of `flow`: [`Refreshable::decide`] says what to do at each step, this does it.
pub(crate) async fn obtain<R: Refreshable>(flow: &R) -> anyhow::Result<Obtained<R::Entry>> {
    let before = flow.read()?;
    match flow.decide(&before, &before, Stage::Unlocked) {
        Step::Use(value, how) => return Ok(Obtained { value, how }),
        Step::Lock | Step::Refresh(_) | Step::LogIn => {}
        Step::Stop => return Err(flow.stop(&before, None)),
    }
    let _lock = match flow.lock(&before).await {
        Ok(lock) => lock,
        Err(err) => {
            let value = flow.lock_failed(before, err)?;
            return Ok(Obtained {
                value,
                how: How::Cached,
            });
        }
    };
    let current = flow.read()?;
    let mut failure = None;
    let mut refreshed = false;
    // At most: a refresh, then the decision after its failure.
    for _ in 0..2 {
        let stage = if refreshed {
            Stage::RefreshFailed(failure.as_ref())
        } else {
            Stage::Locked
        };
        match flow.decide(&before, &current, stage) {
            Step::Use(value, how) => return Ok(Obtained { value, how }),
            Step::Refresh(entry) if !refreshed => match flow.refresh(entry).await? {
                Ok(value) => {
                    return Ok(Obtained {
                        value,
                        how: How::Refreshed,
                    });
                }
                Err(why) => {
                    failure = why;
                    refreshed = true;
                }
            },
            Step::LogIn => {
                let value = flow.log_in(&current, failure).await?;
                return Ok(Obtained {
                    value,
                    how: How::LoggedIn,
                });
            }
            Step::Lock | Step::Refresh(_) | Step::Stop => break,
        }
    }
    Err(flow.stop(&current, failure))
}

/// Lock `key` in aws-cred's own cache directory `<cache>/<place>` (so a cache shared with the
/// AWS CLI holds only what the AWS CLI puts there), saying `waiting` once if it takes a while.
pub(crate) async fn lock(
    ctx: &Context,
    place: &str,
    key: &str,
    timeout: Duration,
    waiting: impl FnOnce(),
) -> anyhow::Result<EntryLock> {
    let locks = Cache::new(
        ctx.cache_dir()
            .ok_or_else(|| Problem::usage("cannot find the home directory for aws-cred's cache"))?
            .join(place),
    );
    locks.lock_async(key, timeout, waiting).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A flow whose cache, decisions and refresh results are scripted, recording what
    /// [`obtain`] asked of it.
    struct Script {
        reads: Mutex<Vec<Cached<u32>>>,
        decisions: Mutex<Vec<Step<u32>>>,
        refresh: Mutex<Option<anyhow::Result<Refresh<u32, &'static str>>>>,
        calls: Mutex<Vec<String>>,
        /// Where the lock is taken; none: it cannot be.
        locks: Option<tempfile::TempDir>,
    }

    impl Script {
        fn new(reads: Vec<Cached<u32>>, decisions: Vec<Step<u32>>) -> Script {
            Script {
                reads: Mutex::new(reads),
                decisions: Mutex::new(decisions),
                refresh: Mutex::new(None),
                calls: Mutex::new(Vec::new()),
                locks: None,
            }
        }
        fn lockable(mut self) -> Script {
            self.locks = Some(tempfile::tempdir().unwrap());
            self
        }
        fn refreshing(self, result: anyhow::Result<Refresh<u32, &'static str>>) -> Script {
            *self.refresh.lock().unwrap() = Some(result);
            self
        }
        fn call(&self, what: String) {
            self.calls.lock().unwrap().push(what);
        }
        fn calls(&self) -> Vec<String> {
            self.calls.lock().unwrap().clone()
        }
    }

    impl Refreshable for Script {
        type Entry = u32;
        type Failure = &'static str;
        fn read(&self) -> anyhow::Result<Cached<u32>> {
            self.call("read".into());
            Ok(self.reads.lock().unwrap().remove(0))
        }
        fn decide(
            &self,
            before: &Cached<u32>,
            current: &Cached<u32>,
            stage: Stage<'_, &'static str>,
        ) -> Step<u32> {
            self.call(format!("decide {before:?} {current:?} {stage:?}"));
            self.decisions.lock().unwrap().remove(0)
        }
        async fn lock(&self, _: &Cached<u32>) -> anyhow::Result<EntryLock> {
            self.call("lock".into());
            match &self.locks {
                Some(dir) => {
                    let wait = Duration::from_secs(1);
                    Cache::new(dir.path().to_path_buf())
                        .lock_async("k", wait, || {})
                        .await
                }
                None => Err(anyhow::anyhow!("held")),
            }
        }
        fn lock_failed(&self, before: Cached<u32>, _: anyhow::Error) -> anyhow::Result<u32> {
            self.call("lock_failed".into());
            before
                .found()
                .copied()
                .ok_or_else(|| anyhow::anyhow!("no lock"))
        }
        async fn refresh(&self, entry: u32) -> anyhow::Result<Refresh<u32, &'static str>> {
            self.call(format!("refresh {entry}"));
            self.refresh.lock().unwrap().take().unwrap()
        }
        async fn log_in(
            &self,
            _: &Cached<u32>,
            failure: Option<&'static str>,
        ) -> anyhow::Result<u32> {
            self.call(format!("log_in {failure:?}"));
            Ok(99)
        }
        fn stop(&self, current: &Cached<u32>, failure: Option<&'static str>) -> anyhow::Error {
            anyhow::anyhow!("stop {current:?} {failure:?}")
        }
    }

    fn run(script: &Script) -> anyhow::Result<Obtained<u32>> {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(obtain(script))
    }

    #[test]
    fn a_usable_entry_needs_one_read_and_no_lock() {
        let script = Script::new(vec![Cached::Found(1)], vec![Step::Use(1, How::Cached)]);
        let got = run(&script).unwrap();
        assert_eq!((got.value, got.how), (1, How::Cached));
        assert_eq!(
            script.calls(),
            ["read", "decide Found(1) Found(1) Unlocked"]
        );
    }

    #[test]
    fn stopping_before_the_lock_says_what_was_read() {
        let script = Script::new(vec![Cached::Missing], vec![Step::Stop]);
        let err = run(&script).unwrap_err();
        assert_eq!(err.to_string(), "stop Missing None");
        assert_eq!(script.calls().len(), 2);
    }

    #[test]
    fn a_lock_that_cannot_be_taken_leaves_it_to_the_flow() {
        let script = Script::new(vec![Cached::Found(3)], vec![Step::Lock]);
        let got = run(&script).unwrap();
        assert_eq!((got.value, got.how), (3, How::Cached));
        assert_eq!(&script.calls()[2..], ["lock", "lock_failed"]);
    }

    #[test]
    fn under_the_lock_the_entry_is_read_again_and_refreshed() {
        let script = Script::new(
            vec![Cached::Found(1), Cached::Found(2)],
            vec![Step::Lock, Step::Refresh(2)],
        )
        .lockable()
        .refreshing(Ok(Ok(5)));
        let got = run(&script).unwrap();
        assert_eq!((got.value, got.how), (5, How::Refreshed));
        assert_eq!(
            &script.calls()[2..],
            [
                "lock",
                "read",
                "decide Found(1) Found(2) Locked",
                "refresh 2"
            ]
        );
    }

    #[test]
    fn a_failed_refresh_is_decided_on_with_its_reason() {
        // The flow logs in, and learns why the refresh failed.
        let script = Script::new(
            vec![Cached::Found(1), Cached::Found(1)],
            vec![Step::Lock, Step::Refresh(1), Step::LogIn],
        )
        .lockable()
        .refreshing(Ok(Err(Some("down"))));
        let got = run(&script).unwrap();
        assert_eq!((got.value, got.how), (99, How::LoggedIn));
        let calls = script.calls();
        assert_eq!(
            calls[calls.len() - 2],
            "decide Found(1) Found(1) RefreshFailed(Some(\"down\"))"
        );
        assert_eq!(calls[calls.len() - 1], "log_in Some(\"down\")");

        // Or it stops, with the reason.
        let script = Script::new(
            vec![Cached::Found(1), Cached::Found(1)],
            vec![Step::Lock, Step::Refresh(1), Step::Stop],
        )
        .lockable()
        .refreshing(Ok(Err(Some("down"))));
        let err = run(&script).unwrap_err();
        assert_eq!(err.to_string(), "stop Found(1) Some(\"down\")");

        // An error from the refresh itself ends it at once.
        let script = Script::new(
            vec![Cached::Found(1), Cached::Found(1)],
            vec![Step::Lock, Step::Refresh(1)],
        )
        .lockable()
        .refreshing(Err(anyhow::anyhow!("unusable")));
        assert_eq!(run(&script).unwrap_err().to_string(), "unusable");
    }

    #[test]
    fn there_is_one_refresh_at_most() {
        let script = Script::new(
            vec![Cached::Found(1), Cached::Found(1)],
            vec![Step::Lock, Step::Refresh(1), Step::Refresh(1)],
        )
        .lockable()
        .refreshing(Ok(Err(None)));
        let err = run(&script).unwrap_err();
        assert_eq!(err.to_string(), "stop Found(1) None");
        assert_eq!(
            script
                .calls()
                .iter()
                .filter(|c| c.starts_with("refresh"))
                .count(),
            1
        );
    }
}
