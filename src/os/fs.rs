//! Files, the one way aws-cred touches them: reads with a size cap, private directories,
//! advisory locks (one implementation, waited on synchronously or asynchronously), and atomic
//! replacement (temporary file in the same directory, fsync, rename, fsync of the directory).
//!
//! The credentials writer and every cache go through here, so the promises are kept in one place:
//! a reader never sees a half-written file, a failure before the rename leaves the original
//! intact, new directories are `0700` and files holding secrets `0600`.
//!
//! And the defences against files aws-cred did not write (docs/SECURITY.md): reads refuse
//! FIFOs, devices and files over a size limit ([`read_regular`]); [`check_owner_and_mode`]
//! tells whether another user could have planted a file or directory; lock files are never
//! followed through a symbolic link ([`open_lock_file`]).

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const MAX_SYMLINK_HOPS: usize = 40;

/// The line ending of new text files: CRLF on Windows (as the AWS CLI writes them there), LF
/// elsewhere.
pub const NATIVE_LINE_ENDING: &str = if cfg!(windows) { "\r\n" } else { "\n" };
pub const NEW_FILE_MODE: u32 = 0o600;
pub const NEW_DIR_MODE: u32 = 0o700;

/// Size limits for the files aws-cred reads (docs/SECURITY.md lists them). A real config is a
/// few kilobytes and a populated organisation's a few megabytes; anything beyond is refused
/// rather than read into memory.
pub const MAX_PROFILE_FILE: u64 = 16 * 1024 * 1024;
/// Web identity and container authorization tokens (a JWT is a few kilobytes).
pub const MAX_TOKEN_FILE: u64 = 1024 * 1024;
/// One JSON entry of a cache (aws-cred's own, or `~/.aws/sso/cache`).
pub const MAX_CACHE_FILE: u64 = 1024 * 1024;
/// A PEM bundle of extra CA certificates (the system's whole bundle is about 200 KiB).
pub const MAX_CA_BUNDLE: u64 = 16 * 1024 * 1024;

/// A temporary file of [`replace_file`] older than this is left over from a killed writer
/// (a live writer holds its temporary file for milliseconds) and is removed by the next write.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(60);
/// At most this many directory entries are looked at when removing stale temporary files.
const STALE_TEMP_SCAN: usize = 10_000;
/// The random part of a temporary file's name: `.<name>.<6 characters>.tmp`.
const TEMP_RANDOM_LEN: usize = 6;

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
            IoAction::Read | IoAction::Inspect => "nothing was changed",
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
        "{} is not a regular file (a FIFO, device, socket or directory), so aws-cred will not \
         read it; point the setting at a regular file",
        .path.display()
    )]
    NotRegular { path: PathBuf },

    #[error(
        "{} is {size} bytes, over the limit of {limit} bytes for this kind of file; aws-cred \
         refuses to read it. Check that the path names the right file (see docs/SECURITY.md \
         for the limits)",
        .path.display()
    )]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },

    #[error("{} {problem}; aws-cred refuses to use it", .path.display())]
    NotPrivate {
        path: PathBuf,
        /// What is wrong (the fact only, not what aws-cred does about it), e.g. `is owned by
        /// uid 65534, not by you (uid 1000); another user may have planted it`.
        problem: String,
        /// The fix, e.g. `chmod 600 …`.
        fix: String,
        /// Owned by another user (rather than only a loose mode).
        foreign: bool,
    },

    #[error(
        "the lock file {} is a symbolic link (or another non-regular file); aws-cred does not \
         follow links for lock files. Remove it (another user may have planted it) and retry; \
         nothing was written",
        .path.display()
    )]
    LockNotRegular { path: PathBuf },

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
    /// The file (or directory) does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, FsError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    /// For [`FsError::NotPrivate`]: the path and what is wrong with it, without a verdict, for
    /// a warning about a file that is used anyway (the AWS CLI's shared SSO cache).
    pub fn fact(&self) -> Option<String> {
        match self {
            FsError::NotPrivate { path, problem, .. } => {
                Some(format!("{} {problem}", path.display()))
            }
            _ => None,
        }
    }

    /// The next step for errors that have one beyond their message.
    pub fn fix(&self) -> Option<&str> {
        match self {
            FsError::NotPrivate { fix, .. } => Some(fix),
            _ => None,
        }
    }

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

/// The whole file, as bytes, if it is a regular file of at most `max_bytes` (symlinks are
/// followed). A FIFO, a device such as `/dev/zero` or a directory is refused without blocking
/// (opened with `O_NONBLOCK`) and without reading; so is a larger file.
pub fn read_regular(path: &Path, max_bytes: u64) -> Result<Vec<u8>, FsError> {
    read_regular_checked(path, max_bytes, |_| Ok(()))
}

/// [`read_regular`], with `check` run on the opened file's metadata before anything is read
/// (so the check and the read see the same file).
pub fn read_regular_checked(
    path: &Path,
    max_bytes: u64,
    check: impl FnOnce(&fs::Metadata) -> Result<(), FsError>,
) -> Result<Vec<u8>, FsError> {
    use std::io::Read;
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options
        .open(path)
        .map_err(|e| FsError::io(IoAction::Read, path, e))?;
    let metadata = file
        .metadata()
        .map_err(|e| FsError::io(IoAction::Inspect, path, e))?;
    if !metadata.is_file() {
        return Err(FsError::NotRegular {
            path: path.to_path_buf(),
        });
    }
    if metadata.len() > max_bytes {
        return Err(FsError::TooLarge {
            path: path.to_path_buf(),
            size: metadata.len(),
            limit: max_bytes,
        });
    }
    check(&metadata)?;
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    // The file may grow while it is read: never take more than the limit (plus one byte, to
    // tell that it grew past it).
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| FsError::io(IoAction::Read, path, e))?;
    if bytes.len() as u64 > max_bytes {
        return Err(FsError::TooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            limit: max_bytes,
        });
    }
    Ok(bytes)
}

/// [`read_regular`] for files that may be absent: `Ok(None)` when the path does not exist.
pub fn read_optional(path: &Path, max_bytes: u64) -> Result<Option<Vec<u8>>, FsError> {
    match read_regular(path, max_bytes) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The uid this process runs as.
pub fn current_uid() -> u32 {
    #[cfg(unix)]
    {
        rustix::process::getuid().as_raw()
    }
    #[cfg(not(unix))]
    {
        0
    }
}

/// How strictly [`check_owner_and_mode`] judges a file or directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// aws-cred's own caches: owned by this user, not writable by group or others.
    Private,
    /// A directory above a private cache: owned by this user or root, not writable by group
    /// or others unless it has the sticky bit (as `/tmp` has), where nobody can rename or
    /// replace another user's entries.
    Ancestor,
}

/// The one rule for a file shared with other tools (the AWS CLI's SSO and login caches), used
/// by [`crate::cache::Cache`] and by `status`: owned by another user → refused (`Err`, never
/// used: it could have been planted); owned by this user but readable or writable by others →
/// used, with the fact to warn about (`Ok(Some)`), as the AWS CLI still uses it; else
/// `Ok(None)`.
pub fn judge_shared(path: &Path, metadata: &fs::Metadata) -> Result<Option<FsError>, FsError> {
    match check_owner_and_mode(path, metadata, Strictness::Private) {
        Ok(()) => Ok(None),
        Err(err @ FsError::NotPrivate { foreign: false, .. }) => Ok(Some(err)),
        Err(err) => Err(err),
    }
}

/// Whether `metadata` (of `path`) is safe to trust for `strictness`; the error names the file,
/// its owner or mode, and the fix.
pub fn check_owner_and_mode(
    path: &Path,
    metadata: &fs::Metadata,
    strictness: Strictness,
) -> Result<(), FsError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let me = current_uid();
        let owner = metadata.uid();
        let mode = metadata.mode() & 0o7777;
        let kind = if metadata.is_dir() {
            "directory"
        } else {
            "file"
        };
        let owner_ok = owner == me || (strictness == Strictness::Ancestor && owner == 0);
        if !owner_ok {
            return Err(FsError::NotPrivate {
                path: path.to_path_buf(),
                problem: format!(
                    "is owned by uid {owner}, not by you (uid {me}); another user may have \
                     planted it"
                ),
                fix: format!(
                    "remove it if you did not make it (rm -r {}), and keep aws-cred's cache in a \
                     directory only you can write (AWS_CRED_CACHE_DIR)",
                    path.display()
                ),
                foreign: true,
            });
        }
        let sticky = mode & 0o1000 != 0;
        let loose = mode & 0o022 != 0 && !(strictness == Strictness::Ancestor && sticky);
        if loose {
            let wanted = if metadata.is_dir() { "700" } else { "600" };
            return Err(FsError::NotPrivate {
                path: path.to_path_buf(),
                problem: format!(
                    "is a {kind} writable by group or others (mode {mode:04o}), so another user \
                     could plant entries"
                ),
                fix: format!("chmod {wanted} {}", path.display()),
                foreign: false,
            });
        }
        Ok(())
    }
    #[cfg(windows)]
    {
        // The access list, read by path. A volume without access lists (FAT, some shares)
        // gives nothing to judge: the file is used as before.
        let Ok(trust) = crate::os::windows::trust(path) else {
            return Ok(());
        };
        let kind = if metadata.is_dir() { "folder" } else { "file" };
        let owner_ok =
            trust.owned_by_me || (strictness == Strictness::Ancestor && trust.owned_by_system);
        if !owner_ok {
            return Err(FsError::NotPrivate {
                path: path.to_path_buf(),
                problem: "is owned by another account, not by you; another user may have \
                          planted it"
                    .into(),
                fix: format!(
                    "remove it if you did not make it (Remove-Item -Recurse \"{}\"), and keep \
                     aws-cred's cache in a folder only you can write (AWS_CRED_CACHE_DIR)",
                    path.display()
                ),
                foreign: true,
            });
        }
        if let Some(who) = trust.writable_by {
            return Err(FsError::NotPrivate {
                path: path.to_path_buf(),
                problem: format!(
                    "is a {kind} that {who} may change, so another user could plant entries"
                ),
                fix: format!(
                    "icacls \"{}\" /inheritance:r /grant:r \"%USERNAME%:F\"",
                    path.display()
                ),
                foreign: false,
            });
        }
        Ok(())
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = (path, metadata, strictness);
        Ok(())
    }
}

/// Checks a directory (if it exists) with [`check_owner_and_mode`]; `Ok(false)` when missing.
pub fn check_dir(path: &Path, strictness: Strictness) -> Result<bool, FsError> {
    match fs::metadata(path) {
        Ok(metadata) => check_owner_and_mode(path, &metadata, strictness).map(|()| true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(FsError::io(IoAction::Inspect, path, e)),
    }
}

/// Whether anything (even a dangling link) is at `path`.
pub fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// The names of the files in `dir` (not sorted); an unreadable or missing folder has none.
pub fn file_names(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect()
}

/// Remove a file; a file already gone is fine.
pub fn remove(path: &Path) {
    let _ = fs::remove_file(path);
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
    #[cfg_attr(not(unix), allow(unused_mut, reason = "the mode is set on Unix only"))]
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

/// Sets the permission bits exactly, whatever the umask. On Windows a private mode (no group or
/// other bits) gives the folder an access list for the current user alone, inherited by what
/// is created in it.
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
    }
    #[cfg(windows)]
    {
        if mode & 0o077 == 0 {
            crate::os::windows::make_private(path, true)?;
        }
        Ok(())
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// Opens (creating it `0600` if needed) the file that carries an advisory lock; lock it with
/// `File::try_lock`, as [`acquire_lock`] does. Never follows a symbolic link (`O_NOFOLLOW`),
/// so a planted `x.lock -> /elsewhere` cannot make aws-cred create or open `/elsewhere`; a
/// lock path that is not a regular file is refused.
pub fn open_lock_file(lock_path: &Path) -> Result<File, FsError> {
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
pub struct Lock {
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
pub fn acquire_lock(lock_path: &Path, timeout: Duration) -> Result<Lock, FsError> {
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
pub fn lock_holder(lock_path: &Path) -> Option<String> {
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
pub async fn acquire_lock_async(
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

/// The permission bits a file holding secrets gets when it replaces `existing`: the owner's
/// read and write bits only (`0600` for a new file); group and other bits, setuid, setgid and
/// sticky are dropped.
pub fn secret_mode(existing: Option<u32>) -> u32 {
    match existing.map(|mode| mode & 0o600) {
        None | Some(0) => NEW_FILE_MODE,
        Some(kept) => kept,
    }
}

/// A file's mode was tightened when it was replaced: `from` → `to` (permission bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tightened {
    pub from: u32,
    pub to: u32,
}

/// The permission bits a replaced file gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileMode {
    /// The file holds secrets: owner-only ([`secret_mode`]), and the caller says so when that
    /// tightened it.
    Private,
    /// The old file's permission bits (without setuid, setgid, sticky); `0600` for a new file.
    Keep,
    /// Not a secret (a man page): the old file's permission bits; `0644` for a new file.
    Public,
}

/// Replace `target` (in `dir`) with `contents`: a temporary file in the same directory, synced,
/// given the old file's owner and a private mode ([`secret_mode`]), renamed over the target,
/// then the directory synced. Temporary files a killed writer left behind (named like ours,
/// older than [`STALE_TEMP_AGE`], owned by this user) are removed first. Returns the mode
/// change when the old file was readable or writable by others.
pub fn replace_file(
    target: &Path,
    dir: &Path,
    contents: &[u8],
    existing: Option<&fs::Metadata>,
    mode: FileMode,
) -> Result<Option<Tightened>, FsError> {
    let file_name = target
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{file_name}.");
    remove_stale_temps(dir, &prefix);
    let mut temp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .rand_bytes(TEMP_RANDOM_LEN)
        .tempfile_in(dir)
        .map_err(|e| FsError::io(IoAction::CreateTemp, dir, e))?;
    let write_error = |e| FsError::io(IoAction::WriteTemp, target, e);
    // Windows: the secret's file is the user's alone before anything is written to it.
    #[cfg(windows)]
    if mode == FileMode::Private {
        crate::os::windows::make_private(temp.path(), false).map_err(write_error)?;
    }
    temp.write_all(contents).map_err(write_error)?;
    temp.flush().map_err(write_error)?;
    let tightened = copy_owner_and_mode(temp.as_file(), existing, mode).map_err(write_error)?;
    temp.as_file().sync_all().map_err(write_error)?;
    persist(temp, target).map_err(|e| FsError::io(IoAction::Replace, target, e))?;
    sync_dir(dir).map_err(|e| FsError::io(IoAction::SyncDir, dir, e))?;
    Ok(tightened)
}

/// How long a replace waits for other processes to let go of the target (Windows).
const REPLACE_WAIT: Duration = Duration::from_secs(3);

/// Rename `temp` over `target`. On Windows a file another process holds open without sharing
/// deletion (an editor, a virus scanner, an AWS CLI reading it) cannot be replaced for a
/// moment: the rename is retried, with a growing pause, for up to [`REPLACE_WAIT`].
fn persist(mut temp: tempfile::NamedTempFile, target: &Path) -> io::Result<()> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        match temp.persist(target) {
            Ok(_) => return Ok(()),
            Err(err) if held_open(&err.error) && started.elapsed() < REPLACE_WAIT => {
                temp = err.file;
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(200));
            }
            Err(err) => return Err(err.error),
        }
    }
}

/// Windows' answer when another process has the file open: access denied (5), sharing
/// violation (32) or lock violation (33). Never on other systems.
fn held_open(err: &io::Error) -> bool {
    cfg!(windows) && matches!(err.raw_os_error(), Some(5 | 32 | 33))
}

/// Whether `name` is one of [`replace_file`]'s temporary files for `prefix` (`.<name>.`):
/// the prefix, exactly [`TEMP_RANDOM_LEN`] alphanumeric characters, `.tmp`.
fn is_temp_name(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(".tmp"))
        .is_some_and(|random| {
            random.len() == TEMP_RANDOM_LEN && random.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

/// Best effort: remove temporary files a killed writer left in `dir` (see [`replace_file`]).
/// Only regular files (not followed through links) owned by this user and older than
/// [`STALE_TEMP_AGE`]; at most [`STALE_TEMP_SCAN`] entries are looked at.
fn remove_stale_temps(dir: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let now = std::time::SystemTime::now();
    for entry in entries.take(STALE_TEMP_SCAN).flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !is_temp_name(name, prefix) {
            continue;
        }
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        #[cfg(unix)]
        let mine = std::os::unix::fs::MetadataExt::uid(&metadata) == current_uid();
        #[cfg(not(unix))]
        let mine = true;
        let old = metadata
            .modified()
            .ok()
            .and_then(|modified| now.duration_since(modified).ok())
            .is_some_and(|age| age >= STALE_TEMP_AGE);
        if metadata.file_type().is_file() && mine && old {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Gives the new file the old one's owner (best effort: when root edits a user's file, the
/// user keeps it) and [`secret_mode`] of the old one's mode.
fn copy_owner_and_mode(
    file: &File,
    existing: Option<&fs::Metadata>,
    policy: FileMode,
) -> io::Result<Option<Tightened>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let old = existing.map(|metadata| metadata.mode() & 0o7777);
        let mode = match policy {
            FileMode::Private => secret_mode(old),
            // Never setuid, setgid or sticky; a new file is private.
            FileMode::Keep => old.map_or(NEW_FILE_MODE, |old| old & 0o777),
            FileMode::Public => old.map_or(0o644, |old| old & 0o777),
        };
        if let Some(metadata) = existing {
            let mine = file.metadata()?;
            if mine.uid() != metadata.uid() || mine.gid() != metadata.gid() {
                // Only root may give a file away; anyone else keeps owning the new file.
                let _ = std::os::unix::fs::fchown(file, Some(metadata.uid()), Some(metadata.gid()));
            }
        }
        // After fchown, which may clear setuid/setgid anyway.
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        Ok(old
            .filter(|old| *old != mode && policy == FileMode::Private)
            .map(|from| Tightened { from, to: mode }))
    }
    #[cfg(not(unix))]
    {
        let _ = (file, existing, policy);
        Ok(None)
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

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(unix)]
    use std::os::unix::fs::PermissionsExt;

    #[cfg(unix)]
    fn mkfifo(path: &Path) {
        let status = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .expect("mkfifo");
        assert!(status.success());
    }

    // Unix only: FIFOs and /dev/zero (Windows has neither; its named pipes live in \\.\pipe).
    #[cfg(unix)]
    #[test]
    fn non_regular_files_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        // Would block forever without O_NONBLOCK (no writer), or read forever (/dev/zero).
        for path in [fifo.as_path(), Path::new("/dev/zero"), dir.path()] {
            let err = read_regular(path, 1024).unwrap_err();
            assert!(
                matches!(err, FsError::NotRegular { .. }),
                "{}: {err}",
                path.display()
            );
            assert!(err.to_string().contains(&path.display().to_string()));
        }
    }

    #[test]
    fn files_over_the_limit_are_refused_with_the_limit_named() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        // Sparse: costs no disk.
        File::create(&big)
            .unwrap()
            .set_len(MAX_PROFILE_FILE + 1)
            .unwrap();
        let err = read_regular(&big, MAX_PROFILE_FILE).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, FsError::TooLarge { .. }), "{text}");
        assert!(
            text.contains(&MAX_PROFILE_FILE.to_string()) && text.contains("big"),
            "{text}"
        );
        fs::write(&big, b"small").unwrap();
        assert_eq!(read_regular(&big, 5).unwrap(), b"small");
        assert!(
            read_optional(&dir.path().join("missing"), 5)
                .unwrap()
                .is_none()
        );
    }

    /// Removing the lock file on release keeps mutual exclusion: threads that each take the
    /// lock, read a counter, pause, and write it back one higher lose no update.
    #[test]
    fn a_lock_removed_on_release_still_excludes() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join("counter.lock");
        let counter = dir.path().join("counter");
        fs::write(&counter, b"0").unwrap();
        let (threads, rounds) = (6, 40);
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (lock, counter) = (lock.clone(), counter.clone());
                std::thread::spawn(move || {
                    for _ in 0..rounds {
                        let held = acquire_lock(&lock, Duration::from_secs(30)).unwrap();
                        let n: u32 = fs::read_to_string(&counter).unwrap().parse().unwrap();
                        std::thread::yield_now();
                        fs::write(&counter, (n + 1).to_string()).unwrap();
                        drop(held);
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        assert_eq!(
            fs::read_to_string(&counter).unwrap(),
            (threads * rounds).to_string()
        );
        // Unix only: Windows keeps its lock files (see `Lock`).
        #[cfg(unix)]
        assert!(!lock.exists(), "no lock file left");
    }

    // Unix only: making a symbolic link on Windows needs a privilege or developer mode.
    #[cfg(unix)]
    #[test]
    fn lock_files_never_follow_links() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        let lock = dir.path().join("x.json.lock");
        std::os::unix::fs::symlink(&victim, &lock).unwrap();
        let err = open_lock_file(&lock).unwrap_err();
        assert!(matches!(err, FsError::LockNotRegular { .. }), "{err}");
        assert!(!victim.exists(), "the link's target must not be created");
        // A link to an existing file is not opened either.
        fs::write(&victim, b"keep").unwrap();
        assert!(acquire_lock(&lock, Duration::from_millis(10)).is_err());
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
    }

    // Unix modes and uids; windows_access_lists below is the Windows form.
    #[cfg(unix)]
    #[test]
    fn owner_and_mode_checks() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("entry.json");
        fs::write(&file, b"{}").unwrap();
        let check = |path: &Path, strictness| {
            check_owner_and_mode(path, &fs::metadata(path).unwrap(), strictness)
        };
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(check(&file, Strictness::Private).is_ok());
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(
            check(&file, Strictness::Private).is_ok(),
            "readable is fine"
        );
        fs::set_permissions(&file, fs::Permissions::from_mode(0o666)).unwrap();
        let err = check(&file, Strictness::Private).unwrap_err();
        assert!(err.to_string().contains("0666"), "{err}");
        assert_eq!(
            err.fix(),
            Some(format!("chmod 600 {}", file.display()).as_str())
        );
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(check(dir.path(), Strictness::Private).is_err());
        assert!(check(dir.path(), Strictness::Ancestor).is_ok(), "sticky");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        if current_uid() == 0 {
            std::os::unix::fs::chown(&file, Some(65534), None).unwrap();
            fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
            let err = check(&file, Strictness::Private).unwrap_err();
            assert!(
                matches!(err, FsError::NotPrivate { foreign: true, .. })
                    && err.to_string().contains("uid 65534"),
                "{err}"
            );
        }
    }

    #[test]
    fn secret_files_keep_only_the_owners_read_write_bits() {
        assert_eq!(secret_mode(None), 0o600);
        assert_eq!(secret_mode(Some(0o644)), 0o600);
        assert_eq!(secret_mode(Some(0o777)), 0o600);
        assert_eq!(secret_mode(Some(0o4755)), 0o600);
        assert_eq!(secret_mode(Some(0o6600)), 0o600);
        assert_eq!(secret_mode(Some(0o400)), 0o400);
        assert_eq!(secret_mode(Some(0o000)), 0o600);
    }

    #[test]
    fn stale_temporary_files_are_removed_by_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("credentials");
        let old = std::time::SystemTime::now() - Duration::from_secs(120);
        let plant = |name: &str, modified| {
            let path = dir.path().join(name);
            let file = File::create(&path).unwrap();
            file.set_modified(modified).unwrap();
            path
        };
        let stale = plant(".credentials.a1B2c3.tmp", old);
        let fresh = plant(".credentials.d4E5f6.tmp", std::time::SystemTime::now());
        let other = plant(".credentials.keep.tmp", old);
        let unrelated = plant(".config.a1B2c3.tmp", old);
        replace_file(&target, dir.path(), b"x", None, FileMode::Private).unwrap();
        assert!(
            !stale.exists(),
            "a killed writer's temporary file is removed"
        );
        assert!(fresh.exists(), "a live writer's temporary file is kept");
        assert!(other.exists() && unrelated.exists(), "other names are kept");
        assert_eq!(fs::read(&target).unwrap(), b"x");
    }

    #[cfg(windows)]
    #[test]
    fn windows_access_lists() {
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("private");
        ensure_dir(&private).unwrap();
        let trust = crate::os::windows::trust(&private).unwrap();
        assert!(trust.owned_by_me, "{trust:?}");
        assert_eq!(trust.writable_by, None);
        let target = private.join("credentials");
        replace_file(&target, &private, b"secret", None, FileMode::Private).unwrap();
        let trust = crate::os::windows::trust(&target).unwrap();
        assert!(
            trust.owned_by_me && trust.writable_by.is_none(),
            "{trust:?}"
        );
        let metadata = fs::metadata(&target).unwrap();
        assert!(check_owner_and_mode(&target, &metadata, Strictness::Private).is_ok());
        assert_eq!(fs::read(&target).unwrap(), b"secret");
        // A folder Everyone may write is refused, with the fix.
        crate::os::windows::grant_everyone_write(&private).unwrap();
        let err = check_dir(&private, Strictness::Private).unwrap_err();
        assert!(
            matches!(err, FsError::NotPrivate { foreign: false, .. })
                && err.to_string().contains("Everyone"),
            "{err}"
        );
        assert!(err.fix().unwrap().starts_with("icacls "), "{err:?}");
    }

    #[cfg(windows)]
    #[test]
    fn a_file_held_open_is_replaced_once_it_is_let_go() {
        use std::os::windows::fs::OpenOptionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("credentials");
        fs::write(&target, b"old").unwrap();
        // Another process's way of holding it: no sharing at all.
        let held = OpenOptions::new()
            .read(true)
            .share_mode(0)
            .open(&target)
            .unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(held);
        });
        replace_file(&target, dir.path(), b"new", None, FileMode::Keep).unwrap();
        release.join().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
    }
}
