//! Advisory locks: one implementation, waited on synchronously or asynchronously; lock files
//! are never followed through a symbolic link and, on Unix, removed as they are released.

#[cfg(unix)]
use super::NEW_FILE_MODE;
use super::{FsError, IoAction};
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Opens (creating it `0600` if needed) the file that carries an advisory lock; lock it with
/// `File::try_lock`, as [`acquire_lock`] does. Never follows a symbolic link (`O_NOFOLLOW`),
/// so a planted `x.lock -> /elsewhere` cannot make aws-cred create or open `/elsewhere`; a
/// lock path that is not a regular file is refused.
pub(crate) fn open_lock_file(lock_path: &Path) -> Result<File, FsError> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .mode(NEW_FILE_MODE)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    // Windows: open a link itself, not what it points to; the check below then refuses it.
    #[cfg(windows)]
    std::os::windows::fs::OpenOptionsExt::custom_flags(
        &mut options,
        windows_sys::Win32::Storage::FileSystem::FILE_FLAG_OPEN_REPARSE_POINT,
    );
    let file = options.open(lock_path).map_err(|e| {
        #[cfg(unix)]
        if e.raw_os_error() == Some(libc::ELOOP) {
            return FsError::LockNotRegular {
                path: lock_path.to_path_buf(),
            };
        }
        FsError::io(IoAction::OpenLock, lock_path, e)
    })?;
    let metadata = file
        .metadata()
        .map_err(|e| FsError::io(IoAction::OpenLock, lock_path, e))?;
    if !metadata.is_file() {
        return Err(FsError::LockNotRegular {
            path: lock_path.to_path_buf(),
        });
    }
    Ok(file)
}

/// A held advisory lock, released when dropped. On Unix its lock file is removed as it is
/// released, so no `*.lock` file stays behind (`~/.aws/config.lock`, the caches' locks): the
/// holder removes it while still holding it, and whoever locks a file next checks that it is
/// still the one at the path, and starts again on the new one if not.
pub(crate) struct Lock {
    /// Held for its lock; on Unix also compared with the path on release.
    #[cfg_attr(
        windows,
        allow(dead_code, reason = "Windows only holds it for its lock")
    )]
    file: File,
    path: PathBuf,
}

impl std::fmt::Debug for Lock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lock").field("path", &self.path).finish()
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Unix only: a removed lock file is recreated by the next taker, which checks the
        // inode (`is_current`). Windows keeps the file: an open file there cannot be removed
        // for everyone at once.
        #[cfg(unix)]
        if is_current(&self.file, &self.path) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Whether `path` still names the file `file` has open (Unix: same device and inode).
#[cfg(unix)]
fn is_current(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::symlink_metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

/// The wait for a lock held by another process: back off from a few milliseconds to
/// `max_pause`, give up at `timeout`. Sync and async waits share it.
struct LockWait<'a> {
    file: File,
    lock_path: &'a Path,
    started: Instant,
    pause: Duration,
    max_pause: Duration,
    timeout: Duration,
}

impl<'a> LockWait<'a> {
    fn new(
        lock_path: &'a Path,
        timeout: Duration,
        first: Duration,
        max_pause: Duration,
    ) -> Result<Self, FsError> {
        Ok(LockWait {
            file: open_lock_file(lock_path)?,
            lock_path,
            started: Instant::now(),
            pause: first,
            max_pause,
            timeout,
        })
    }

    /// Try once: the lock, or how long to sleep before the next try.
    fn poll(mut self) -> Result<Result<Lock, (Self, Duration)>, FsError> {
        match self.file.try_lock() {
            // Unix only: the holder before us removed the file as it let go; take the one now
            // at the path (bounded by the timeout below like any wait).
            #[cfg(unix)]
            Ok(()) if !is_current(&self.file, self.lock_path) => {
                self.file = open_lock_file(self.lock_path)?;
                if self.started.elapsed() >= self.timeout {
                    return Err(FsError::LockTimeout {
                        lock_path: self.lock_path.to_path_buf(),
                        timeout: self.timeout,
                    });
                }
                return Ok(Err((self, Duration::ZERO)));
            }
            Ok(()) => {
                return Ok(Ok(Lock {
                    file: self.file,
                    path: self.lock_path.to_path_buf(),
                }));
            }
            Err(fs::TryLockError::WouldBlock) => {}
            Err(fs::TryLockError::Error(e)) => {
                return Err(FsError::io(IoAction::Lock, self.lock_path, e));
            }
        }
        let waited = self.started.elapsed();
        if waited >= self.timeout {
            return Err(FsError::LockTimeout {
                lock_path: self.lock_path.to_path_buf(),
                timeout: self.timeout,
            });
        }
        let sleep = self.pause.min(self.timeout.saturating_sub(waited));
        self.pause = (self.pause * 2).min(self.max_pause);
        Ok(Err((self, sleep)))
    }

    fn waited(&self) -> Duration {
        self.started.elapsed()
    }
}

/// Take the exclusive advisory lock on `lock_path`, sleeping the thread between tries.
pub(crate) fn acquire_lock(lock_path: &Path, timeout: Duration) -> Result<Lock, FsError> {
    let mut wait = LockWait::new(
        lock_path,
        timeout,
        Duration::from_millis(2),
        Duration::from_millis(50),
    )?;
    // Bounded: `poll` fails once `timeout` has passed.
    loop {
        match wait.poll()? {
            Ok(file) => return Ok(file),
            Err((next, sleep)) => {
                std::thread::sleep(sleep);
                wait = next;
            }
        }
    }
}

/// Who holds the lock on `lock_path`, in words for a message: `process 4242 (aws-cred), for
/// 75 s`. Linux: the `flock` in `/proc/locks` on the file's device and inode, the holder's name
/// from `/proc/PID/comm`, the age from the lock file's modification time (a lock file is made
/// new by each holder). `None` elsewhere, or when no holder is found.
pub(crate) fn lock_holder(lock_path: &Path) -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        use std::io::Read;
        use std::os::unix::fs::MetadataExt;
        let metadata = fs::symlink_metadata(lock_path).ok()?;
        let device = format!(
            "{:02x}:{:02x}:{}",
            libc::major(metadata.dev()),
            libc::minor(metadata.dev()),
            metadata.ino()
        );
        let mut locks = String::new();
        File::open("/proc/locks")
            .ok()?
            .take(16 * 1024 * 1024)
            .read_to_string(&mut locks)
            .ok()?;
        let pid: u32 = locks.lines().find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // "1: FLOCK ADVISORY WRITE <pid> <maj:min:inode> 0 EOF"
            (fields.get(1) == Some(&"FLOCK") && fields.get(5) == Some(&device.as_str()))
                .then(|| fields.get(4)?.parse().ok())
                .flatten()
        })?;
        let mut name = String::new();
        let _ = File::open(format!("/proc/{pid}/comm"))
            .and_then(|f| f.take(64).read_to_string(&mut name));
        let name = crate::base::text::escape(name.trim());
        let age = metadata
            .modified()
            .ok()
            .and_then(|at| std::time::SystemTime::now().duration_since(at).ok())
            .map(|age| format!(", for {} s", age.as_secs()))
            .unwrap_or_default();
        Some(if name.is_empty() {
            format!("process {pid}{age}")
        } else {
            format!("process {pid} ({name}){age}")
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = lock_path;
        None
    }
}

/// Take the lock without blocking the async runtime (so Ctrl-C still works); `waiting` runs
/// once when the wait passes a second (to tell the person why nothing happens).
pub(crate) async fn acquire_lock_async(
    lock_path: &Path,
    timeout: Duration,
    waiting: impl FnOnce(),
) -> Result<Lock, FsError> {
    let mut wait = LockWait::new(
        lock_path,
        timeout,
        Duration::from_millis(10),
        Duration::from_millis(100),
    )?;
    let mut waiting = Some(waiting);
    loop {
        match wait.poll()? {
            Ok(file) => return Ok(file),
            Err((next, sleep)) => {
                if next.waited() >= Duration::from_secs(1)
                    && let Some(tell) = waiting.take()
                {
                    tell();
                }
                tokio::time::sleep(sleep).await;
                wait = next;
            }
        }
    }
}
