//! aws-cred's own caches (MFA sessions, later Cognito tokens): one JSON file per entry, mode
//! 0600 in 0700 directories, replaced atomically, with a lock per entry so concurrent runs
//! neither corrupt a file nor repeat a one-time action (an MFA code is accepted only once).
//! SSO uses it too: its login locks, and the AWS CLI's `~/.aws/sso/cache` files (exact bytes).

use crate::base::error::Problem;
use crate::os::fs::{self, FsError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a run waits for another run holding the same entry (it may be waiting on STS).
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

/// An exclusive hold on one cache entry; released on drop.
pub struct EntryLock {
    _file: std::fs::File,
}

impl Cache {
    pub fn new(dir: PathBuf) -> Self {
        Cache { dir }
    }

    pub fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// Read an entry; a missing, unreadable or corrupt entry is simply absent (it will be
    /// replaced), never an error that blocks the user.
    pub fn read<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let text = fs::read(&self.path(key)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    pub fn write<T: Serialize>(&self, key: &str, value: &T) -> anyhow::Result<()> {
        let mut bytes = serde_json::to_vec_pretty(value)?;
        bytes.push(b'\n');
        self.write_bytes(key, &bytes)
    }

    /// Replace an entry with exactly these bytes (mode 0600, atomically).
    pub fn write_bytes(&self, key: &str, bytes: &[u8]) -> anyhow::Result<()> {
        fs::ensure_dir(&self.dir).map_err(|e| Problem::failure(e.to_string()))?;
        fs::replace_file(&self.path(key), &self.dir, bytes, None)
            .map_err(|e| Problem::failure(e.to_string()))?;
        Ok(())
    }

    pub fn remove(&self, key: &str) {
        fs::remove(&self.path(key));
    }

    /// Remove an entry and say whether it was there.
    pub fn remove_entry(&self, key: &str) -> anyhow::Result<bool> {
        fs::remove_existing(&self.path(key)).map_err(|e| Problem::failure(e.to_string()).into())
    }

    /// The keys of every entry (`<key>.json`), sorted; none when the directory is missing.
    pub fn keys(&self) -> anyhow::Result<Vec<String>> {
        let files =
            fs::list_files(&self.dir, ".json").map_err(|e| Problem::failure(e.to_string()))?;
        Ok(files
            .iter()
            .filter_map(|path| path.file_name()?.to_str()?.strip_suffix(".json"))
            .map(str::to_string)
            .collect())
    }

    /// Lock one entry (a `<key>.json.lock` file beside it). Waits without blocking the runtime
    /// (so Ctrl-C still works), up to `timeout`; `waiting` runs once if the wait lasts over a
    /// second.
    pub async fn lock_async(
        &self,
        key: &str,
        timeout: Duration,
        waiting: impl FnOnce(),
    ) -> anyhow::Result<EntryLock> {
        fs::ensure_dir(&self.dir).map_err(|e| Problem::failure(e.to_string()))?;
        let lock_path = fs::lock_path_for(&self.path(key));
        match fs::acquire_lock_async(&lock_path, timeout, waiting).await {
            Ok(file) => Ok(EntryLock { _file: file }),
            Err(FsError::LockTimeout { .. }) => Err(Problem::failure(format!(
                "gave up after {} s waiting for another aws-cred holding {}",
                timeout.as_secs(),
                lock_path.display()
            ))
            .hint("wait for the other aws-cred to finish, or end it")
            .into()),
            Err(e) => Err(Problem::failure(e.to_string()).into()),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn entries_are_private_and_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().join("a").join("mfa"));
        assert_eq!(cache.read::<serde_json::Value>("k"), None);
        cache.write("k", &serde_json::json!({"x": 1})).unwrap();
        assert_eq!(
            cache.read::<serde_json::Value>("k"),
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
        assert_eq!(cache.read::<serde_json::Value>("k"), None);
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
