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
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod lock;
mod owner;
mod paths;
mod read;
mod replace;
#[cfg(test)]
mod tests;

pub(crate) use lock::{Lock, acquire_lock, acquire_lock_async, lock_holder};
#[cfg_attr(windows, allow(unused_imports, reason = "Unix user ids"))]
pub(crate) use owner::current_uid;
pub(crate) use owner::{Strictness, check_dir, check_owner_and_mode, judge_shared};
pub(crate) use paths::{
    ensure_dir, exists, list_files, lock_path_for, parent_dir, remove, remove_existing,
    resolve_symlinks,
};
pub(crate) use read::{read_optional, read_regular, read_regular_checked};
pub(crate) use replace::{FileMode, Tightened, existing_metadata, replace_file};

/// The line ending of new text files: CRLF on Windows (as the AWS CLI writes them there), LF
/// elsewhere.
pub(crate) const NATIVE_LINE_ENDING: &str = if cfg!(windows) { "\r\n" } else { "\n" };
#[cfg_attr(windows, allow(dead_code, reason = "Unix file modes"))]
pub(crate) const NEW_FILE_MODE: u32 = 0o600;
pub(crate) const NEW_DIR_MODE: u32 = 0o700;

/// Size limits for the files aws-cred reads (docs/SECURITY.md lists them). A real config is a
/// few kilobytes and a populated organisation's a few megabytes; anything beyond is refused
/// rather than read into memory.
pub(crate) const MAX_PROFILE_FILE: u64 = 16 * 1024 * 1024;
/// Web identity and container authorization tokens (a JWT is a few kilobytes).
pub(crate) const MAX_TOKEN_FILE: u64 = 1024 * 1024;
/// One JSON entry of a cache (aws-cred's own, or `~/.aws/sso/cache`).
pub(crate) const MAX_CACHE_FILE: u64 = 1024 * 1024;
/// A PEM bundle of extra CA certificates (the system's whole bundle is about 200 KiB).
pub(crate) const MAX_CA_BUNDLE: u64 = 16 * 1024 * 1024;

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
