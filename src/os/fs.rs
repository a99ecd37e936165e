//! Files, the one way aws-cred touches them: reads with a size cap, private directories,
//! advisory locks (one implementation, waited on synchronously or asynchronously), and atomic
//! replacement (temporary file in the same directory, fsync, rename, fsync of the directory).
//!
//! The credentials writer and every cache go through here, so the promises are kept in one place:
//! a reader never sees a half-written file, a failure before the rename leaves the original
//! intact, new directories are `0700` and new files `0600`.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const MAX_SYMLINK_HOPS: usize = 40;
pub const NEW_FILE_MODE: u32 = 0o600;
pub const NEW_DIR_MODE: u32 = 0o700;

/// The file operation that failed, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoAction {
    Inspect,
    Read,
    CreateDir,
    OpenLock,
    Lock,
    CreateTemp,
    WriteTemp,
    Replace,
    SyncDir,
    Remove,
}

impl IoAction {
    fn verb(self) -> &'static str {
        match self {
            IoAction::Inspect => "inspect",
            IoAction::Read => "read",
            IoAction::CreateDir => "create directory",
            IoAction::OpenLock => "create or open lock file",
            IoAction::Lock => "lock",
            IoAction::CreateTemp => "create a temporary file in",
            IoAction::WriteTemp => "write a temporary file for",
            IoAction::Replace => "replace",
            IoAction::SyncDir => "sync directory",
            IoAction::Remove => "remove",
        }
    }

    /// What state the target file is in after this step failed.
    fn aftermath(self) -> &'static str {
        match self {
            IoAction::SyncDir => {
                "the file was replaced, but the change may not survive a crash or power loss"
            }
            _ => "the original file was left unchanged",
        }
    }
}

impl fmt::Display for IoAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.verb())
    }
}

/// A file system step that failed. Messages name the file and the state it was left in.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FsError {
    #[error(
        "timed out after {:.1}s waiting for the lock {}: another process is writing the same \
         file. Retry when it has finished; the file was not changed",
        .timeout.as_secs_f64(),
        .lock_path.display()
    )]
    LockTimeout {
        lock_path: PathBuf,
        timeout: Duration,
    },

    #[error(
        "{} is not a regular file; give the path of a regular file (or of a symlink to one); \
         nothing was written",
        .path.display()
    )]
    NotAFile { path: PathBuf },

    #[error(
        "{} exists but is not a directory, so the file cannot be created in it; nothing was \
         written",
        .path.display()
    )]
    NotADirectory { path: PathBuf },

    #[error(
        "too many levels of symbolic links at {}; fix the link chain and retry",
        .path.display()
    )]
    SymlinkLoop { path: PathBuf },

    #[error(
        "permission denied: cannot {action} {}; check its owner and mode (ls -l) or write to a \
         file you own; {}",
        .path.display(),
        .action.aftermath()
    )]
    PermissionDenied {
        action: IoAction,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "no space left (disk or quota full): cannot {action} {}; {}. Free some space and retry",
        .path.display(),
        .action.aftermath()
    )]
    DiskFull {
        action: IoAction,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("cannot {action} {}; {}", .path.display(), .action.aftermath())]
    Io {
        action: IoAction,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl FsError {
    pub fn io(action: IoAction, path: &Path, source: io::Error) -> Self {
        let path = path.to_path_buf();
        match source.kind() {
            io::ErrorKind::PermissionDenied => FsError::PermissionDenied {
                action,
                path,
                source,
            },
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => FsError::DiskFull {
                action,
                path,
                source,
            },
            _ => FsError::Io {
                action,
                path,
                source,
            },
        }
    }
}

/// The whole file, as bytes.
pub fn read(path: &Path) -> Result<Vec<u8>, FsError> {
    fs::read(path).map_err(|e| FsError::io(IoAction::Read, path, e))
}

/// Remove a file; a file already gone is fine.
pub fn remove(path: &Path) {
    let _ = fs::remove_file(path);
}

/// The whole file, or `None` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, FsError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(FsError::io(IoAction::Read, path, e)),
    }
}

/// Whether a path exists (follows symlinks; an unreadable parent counts as absent).
pub fn exists(path: &Path) -> bool {
    fs::metadata(path).is_ok()
}

/// Remove a file and say whether it was there: `Ok(false)` when it was already gone.
pub fn remove_existing(path: &Path) -> Result<bool, FsError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(FsError::io(IoAction::Remove, path, e)),
    }
}

/// The regular files directly in `dir` whose names end with `suffix`, sorted; a missing
/// directory has none.
pub fn list_files(dir: &Path, suffix: &str) -> Result<Vec<PathBuf>, FsError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(FsError::io(IoAction::Read, dir, e)),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(suffix) && !n.starts_with('.'))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Follows symlinks so the write goes to the real file and the link survives. A dangling link is
/// followed by hand, so its target gets created.
pub fn resolve_symlinks(path: &Path) -> Result<PathBuf, FsError> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_SYMLINK_HOPS {
        let metadata = match fs::symlink_metadata(&current) {
            Ok(metadata) => metadata,
            // Missing, or a parent is not a directory: `ensure_dir` reports the latter.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                return Ok(current);
            }
            Err(e) => return Err(FsError::io(IoAction::Inspect, &current, e)),
        };
        if !metadata.file_type().is_symlink() {
            return Ok(current);
        }
        match fs::canonicalize(&current) {
            Ok(resolved) => return Ok(resolved),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(FsError::io(IoAction::Inspect, &current, e)),
        }
        let link =
            fs::read_link(&current).map_err(|e| FsError::io(IoAction::Inspect, &current, e))?;
        current = match current.parent() {
            Some(parent) => parent.join(link),
            None => link,
        };
    }
    Err(FsError::SymlinkLoop {
        path: path.to_path_buf(),
    })
}

pub fn parent_dir(target: &Path) -> PathBuf {
    match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

pub fn lock_path_for(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

/// Creates `dir` and its missing ancestors with mode 0700. Existing directories are not touched.
pub fn ensure_dir(dir: &Path) -> Result<(), FsError> {
    let mut missing = Vec::new();
    let mut current = dir;
    loop {
        match fs::metadata(current) {
            Ok(metadata) if metadata.is_dir() => break,
            Ok(_) => {
                return Err(FsError::NotADirectory {
                    path: current.to_path_buf(),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => missing.push(current),
            Err(e) => return Err(FsError::io(IoAction::Inspect, current, e)),
        }
        match current.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => current = parent,
            _ => break,
        }
    }
    for dir in missing.into_iter().rev() {
        create_private_dir(dir)?;
    }
    Ok(())
}

fn create_private_dir(dir: &Path) -> Result<(), FsError> {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, NEW_DIR_MODE);
    match builder.create(dir) {
        Ok(()) => set_mode(dir, NEW_DIR_MODE).map_err(|e| FsError::io(IoAction::CreateDir, dir, e)),
        // Another writer created it meanwhile: it is not ours to chmod.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(FsError::io(IoAction::CreateDir, dir, e)),
    }
}

/// Sets the permission bits exactly, whatever the umask.
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// Opens (creating it `0600` if needed) the file that carries an advisory lock; lock it with
/// `File::try_lock`, as [`acquire_lock`] does.
pub fn open_lock_file(lock_path: &Path) -> Result<File, FsError> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, NEW_FILE_MODE);
    options
        .open(lock_path)
        .map_err(|e| FsError::io(IoAction::OpenLock, lock_path, e))
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

    /// Try once: the locked file, or how long to sleep before the next try.
    fn poll(mut self) -> Result<Result<File, (Self, Duration)>, FsError> {
        match self.file.try_lock() {
            Ok(()) => return Ok(Ok(self.file)),
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
pub fn acquire_lock(lock_path: &Path, timeout: Duration) -> Result<File, FsError> {
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

/// Take the lock without blocking the async runtime (so Ctrl-C still works); `waiting` runs
/// once when the wait passes a second (to tell the person why nothing happens).
pub async fn acquire_lock_async(
    lock_path: &Path,
    timeout: Duration,
    waiting: impl FnOnce(),
) -> Result<File, FsError> {
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

/// Metadata of the existing target, `None` when it does not exist. Refuses anything but a regular
/// file (reading a FIFO would block, a directory cannot be replaced).
pub fn existing_metadata(target: &Path) -> Result<Option<fs::Metadata>, FsError> {
    match fs::metadata(target) {
        Ok(metadata) if metadata.is_file() => Ok(Some(metadata)),
        Ok(_) => Err(FsError::NotAFile {
            path: target.to_path_buf(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(FsError::io(IoAction::Inspect, target, e)),
    }
}

pub fn replace_file(
    target: &Path,
    dir: &Path,
    contents: &[u8],
    existing: Option<&fs::Metadata>,
) -> Result<(), FsError> {
    let file_name = target
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{file_name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| FsError::io(IoAction::CreateTemp, dir, e))?;
    let write_error = |e| FsError::io(IoAction::WriteTemp, target, e);
    temp.write_all(contents).map_err(write_error)?;
    temp.flush().map_err(write_error)?;
    copy_mode_and_owner(temp.as_file(), existing).map_err(write_error)?;
    temp.as_file().sync_all().map_err(write_error)?;
    temp.persist(target)
        .map_err(|e| FsError::io(IoAction::Replace, target, e.error))?;
    sync_dir(dir).map_err(|e| FsError::io(IoAction::SyncDir, dir, e))
}

/// Gives the new file the old one's permission bits (0600 for a new file) and, best effort, its
/// owner: when root edits a user's file, the user keeps it.
fn copy_mode_and_owner(file: &File, existing: Option<&fs::Metadata>) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let mode = existing.map_or(NEW_FILE_MODE, |metadata| metadata.mode() & 0o7777);
        if let Some(metadata) = existing {
            let mine = file.metadata()?;
            if mine.uid() != metadata.uid() || mine.gid() != metadata.gid() {
                // Only root may give a file away; anyone else keeps owning the new file.
                let _ = std::os::unix::fs::fchown(file, Some(metadata.uid()), Some(metadata.gid()));
            }
        }
        file.set_permissions(fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (file, existing);
        Ok(())
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}
