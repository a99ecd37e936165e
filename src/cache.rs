//! aws-cred's own caches (MFA sessions, later Cognito tokens): one JSON file per entry, mode
//! 0600 in 0700 directories, replaced atomically, with a lock per entry so concurrent runs
//! neither corrupt a file nor repeat a one-time action (an MFA code is accepted only once).
//! SSO uses it too: its login locks, and the AWS CLI's `~/.aws/sso/cache` files (exact bytes).
//!
//! Nothing is trusted that another user could have planted: see [`Trust`]. Entries are read
//! with [`fs::read_regular_checked`] (no FIFOs or devices, at most [`fs::MAX_CACHE_FILE`]),
//! and lock files are never followed if they are links.

use crate::base::error::Problem;
use crate::os::fs::{self, FsError, Strictness};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a run waits for another run holding the same entry (it may be waiting on STS).
pub(crate) const LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// Whom a cache's files are trusted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trust {
    /// aws-cred's own caches: an entry or directory not owned by this user, or writable by
    /// group or others, is refused with an error (another user could have planted it).
    Private,
    /// Files shared with other tools (the AWS CLI's `~/.aws/sso/cache`): a loose mode gets a
    /// warning on stderr; a file owned by someone else is warned about and never used.
    Shared,
}

#[derive(Debug, Clone)]
pub(crate) struct Cache {
    dir: PathBuf,
    trust: Trust,
}

/// An exclusive hold on one cache entry; released on drop.
pub(crate) struct EntryLock {
    _lock: fs::Lock,
}

/// A file system error as a [`Problem`], with the fix as its hint when there is one.
pub(crate) fn problem(err: FsError) -> Problem {
    let fix = err.fix().map(str::to_string);
    let problem = Problem::failure(err.to_string());
    match fix {
        Some(fix) => problem.hint(fix),
        None => problem,
    }
}

/// Warn once per process and path (shared caches only).
fn warn_once(path: &Path, message: &str) {
    static WARNED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
    let mut warned = WARNED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if !warned.iter().any(|p| p == path) {
        warned.push(path.to_path_buf());
        eprintln!("warning: {message}");
    }
}

/// The warning for a loose file or folder of a shared cache, which is used anyway (the AWS CLI
/// uses it too): what is wrong, that it is still used, and the fix.
fn shared_warning(err: &FsError) -> String {
    format!(
        "{}; aws-cred still uses it, as the AWS CLI does; fix: {}",
        err.fact().unwrap_or_else(|| err.to_string()),
        err.fix().unwrap_or("")
    )
}

impl Cache {
    /// One of aws-cred's own caches ([`Trust::Private`]).
    pub(crate) fn new(dir: PathBuf) -> Self {
        Cache {
            dir,
            trust: Trust::Private,
        }
    }

    /// A directory shared with other tools ([`Trust::Shared`]).
    pub(crate) fn shared(dir: PathBuf) -> Self {
        Cache {
            dir,
            trust: Trust::Shared,
        }
    }

    pub(crate) fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// Check the cache directory and the one above it before trusting anything in them.
    fn check_dirs(&self) -> Result<(), Problem> {
        let mut checks = vec![(self.dir.as_path(), Strictness::Private)];
        if let Some(parent) = self.dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            checks.push((parent, Strictness::Ancestor));
        }
        for (dir, strictness) in checks {
            match (fs::check_dir(dir, strictness), self.trust) {
                (Ok(_), _) => {}
                (Err(err @ FsError::NotPrivate { .. }), Trust::Shared) => {
                    warn_once(dir, &shared_warning(&err));
                }
                (Err(err), _) => return Err(problem(err)),
            }
        }
        Ok(())
    }

    /// An entry's bytes. `None` when it is missing, unreadable, not a regular file or over
    /// [`fs::MAX_CACHE_FILE`] (it will be replaced). An entry (or directory) another user could
    /// have planted is an error for private caches; for shared ones a warning, and a file owned
    /// by someone else is never used.
    pub(crate) fn read_bytes(&self, key: &str) -> Result<Option<Vec<u8>>, Problem> {
        match self.read_trusted(key)? {
            Ok(bytes) => Ok(bytes),
            Err(_) => Ok(None),
        }
    }

    /// Like [`Cache::read_bytes`], but an entry that is there and cannot be read (over the
    /// size limit, not a regular file, unreadable) is an error rather than absent: for files
    /// aws-cred does not own the replacement of (the AWS CLI's login cache).
    pub(crate) fn read_bytes_or_error(&self, key: &str) -> Result<Option<Vec<u8>>, Problem> {
        self.read_trusted(key)?.map_err(problem)
    }

    /// The trust rule applied (the outer error: refused); the inner result is the read's,
    /// with a missing entry as `Ok(None)`.
    fn read_trusted(&self, key: &str) -> Result<Result<Option<Vec<u8>>, FsError>, Problem> {
        self.check_dirs()?;
        let path = self.path(key);
        let trust = self.trust;
        let result = fs::read_regular_checked(&path, fs::MAX_CACHE_FILE, |metadata| match trust {
            Trust::Private => fs::check_owner_and_mode(&path, metadata, Strictness::Private),
            Trust::Shared => {
                if let Some(loose) = fs::judge_shared(&path, metadata)? {
                    warn_once(&path, &shared_warning(&loose));
                }
                Ok(())
            }
        });
        match result {
            Ok(bytes) => Ok(Ok(Some(bytes))),
            Err(err @ FsError::NotPrivate { .. }) => match self.trust {
                Trust::Private => Err(problem(err)),
                Trust::Shared => {
                    warn_once(&path, &format!("{err}; it is ignored"));
                    Ok(Ok(None))
                }
            },
            Err(err) if err.is_not_found() => Ok(Ok(None)),
            Err(err) => Ok(Err(err)),
        }
    }

    /// Read an entry; a missing, unreadable or corrupt entry is simply absent (it will be
    /// replaced), never an error that blocks the user. An untrusted one is an error (see
    /// [`Cache::read_bytes`]).
    pub(crate) fn read<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Problem> {
        Ok(self
            .read_bytes(key)?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    pub(crate) fn write<T: Serialize>(&self, key: &str, value: &T) -> anyhow::Result<()> {
        let mut bytes = serde_json::to_vec_pretty(value)?;
        bytes.push(b'\n');
        self.write_bytes(key, &bytes)
    }

    /// Replace an entry with exactly these bytes (mode 0600, atomically).
    pub(crate) fn write_bytes(&self, key: &str, bytes: &[u8]) -> anyhow::Result<()> {
        fs::ensure_dir(&self.dir).map_err(problem)?;
        self.check_dirs()?;
        fs::replace_file(
            &self.path(key),
            &self.dir,
            bytes,
            None,
            fs::FileMode::Private,
        )
        .map_err(problem)?;
        Ok(())
    }

    pub(crate) fn remove(&self, key: &str) {
        fs::remove(&self.path(key));
    }

    /// Remove an entry and say whether it was there.
    pub(crate) fn remove_entry(&self, key: &str) -> anyhow::Result<bool> {
        fs::remove_existing(&self.path(key)).map_err(|e| Problem::failure(e.to_string()).into())
    }

    /// The keys of every entry (`<key>.json`), sorted; none when the directory is missing.
    pub(crate) fn keys(&self) -> anyhow::Result<Vec<String>> {
        let files =
            fs::list_files(&self.dir, ".json").map_err(|e| Problem::failure(e.to_string()))?;
        Ok(files
            .iter()
            .filter_map(|path| path.file_name()?.to_str()?.strip_suffix(".json"))
            .map(str::to_string)
            .collect())
    }

    /// Lock one entry (a `<key>.json.lock` file beside it, never followed if it is a link).
    /// Waits without blocking the runtime (so Ctrl-C still works), up to `timeout`; `waiting`
    /// runs once if the wait lasts over a second.
    pub(crate) async fn lock_async(
        &self,
        key: &str,
        timeout: Duration,
        waiting: impl FnOnce(),
    ) -> anyhow::Result<EntryLock> {
        fs::ensure_dir(&self.dir).map_err(problem)?;
        self.check_dirs()?;
        let lock_path = fs::lock_path_for(&self.path(key));
        match fs::acquire_lock_async(&lock_path, timeout, waiting).await {
            Ok(lock) => Ok(EntryLock { _lock: lock }),
            Err(FsError::LockTimeout { .. }) => {
                let holder = fs::lock_holder(&lock_path)
                    .map(|holder| format!(" ({holder})"))
                    .unwrap_or_default();
                Err(Problem::failure(format!(
                    "gave up after {} s waiting for the lock {}, held by another program{holder}",
                    timeout.as_secs(),
                    lock_path.display()
                ))
                .hint("wait for it to finish, or end it if it hangs")
                .into())
            }
            Err(e) => Err(problem(e).into()),
        }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // Unix only: the permission-bit tests below.
    #[cfg(unix)]
    use std::os::unix::fs::PermissionsExt;

    // Unix only: Unix permission bits (os::fs tests the Windows access lists).
    #[cfg(unix)]
    #[test]
    fn entries_are_private_and_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().join("a").join("mfa"));
        assert_eq!(cache.read::<serde_json::Value>("k").unwrap(), None);
        cache.write("k", &serde_json::json!({"x": 1})).unwrap();
        assert_eq!(
            cache.read::<serde_json::Value>("k").unwrap(),
            Some(serde_json::json!({"x": 1}))
        );
        let mode = std::fs::metadata(cache.path("k"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = std::fs::metadata(cache.dir()).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700);
        std::fs::write(cache.path("k"), "{corrupt").unwrap();
        assert_eq!(cache.read::<serde_json::Value>("k").unwrap(), None);
    }

    // Unix only: Unix permission bits (os::fs tests the Windows access lists).
    #[cfg(unix)]
    #[test]
    fn private_caches_refuse_what_others_could_plant_shared_ones_warn() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("c");
        let private = Cache::new(dir.clone());
        let shared = Cache::shared(dir.clone());
        private.write("k", &serde_json::json!({"x": 1})).unwrap();
        let chmod = |path: &Path, mode| {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
        };
        chmod(&private.path("k"), 0o666);
        let err = private.read::<serde_json::Value>("k").unwrap_err();
        assert!(err.message.contains("0666") && err.hint.is_some(), "{err}");
        assert!(shared.read::<serde_json::Value>("k").unwrap().is_some());
        chmod(&private.path("k"), 0o600);
        chmod(&dir, 0o777);
        assert!(private.read::<serde_json::Value>("k").is_err());
        assert!(private.write("k", &1).is_err(), "nothing is written there");
        assert!(shared.read::<serde_json::Value>("k").unwrap().is_some());
        chmod(&dir, 0o700);
        if fs::current_uid() == 0 {
            std::os::unix::fs::chown(private.path("k"), Some(65534), None).unwrap();
            let err = private.read::<serde_json::Value>("k").unwrap_err();
            assert!(err.message.contains("uid 65534"), "{err}");
            assert_eq!(shared.read_bytes("k").unwrap(), None, "never used");
        }
    }

    #[test]
    fn lock_is_exclusive_between_holders() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().to_path_buf());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let held = runtime
            .block_on(cache.lock_async("k", Duration::from_secs(5), || {}))
            .unwrap();
        let lock_path = fs::lock_path_for(&cache.path("k"));
        let err = fs::acquire_lock(&lock_path, Duration::from_millis(50));
        assert!(err.is_err(), "second holder must wait and time out");
        drop(held);
        assert!(fs::acquire_lock(&lock_path, Duration::from_millis(50)).is_ok());
    }
}
