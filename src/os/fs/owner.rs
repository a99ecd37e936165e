//! Whether a file or directory could have been planted or changed by another user: its owner
//! and mode on Unix, its owner and access list on Windows.

use super::{FsError, IoAction};
use std::fs;
use std::io;
use std::path::Path;

/// The uid this process runs as.
#[cfg_attr(windows, allow(dead_code, reason = "Unix user ids"))]
pub(crate) fn current_uid() -> u32 {
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
pub(crate) enum Strictness {
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
pub(crate) fn judge_shared(
    path: &Path,
    metadata: &fs::Metadata,
) -> Result<Option<FsError>, FsError> {
    match check_owner_and_mode(path, metadata, Strictness::Private) {
        Ok(()) => Ok(None),
        Err(err @ FsError::NotPrivate { foreign: false, .. }) => Ok(Some(err)),
        Err(err) => Err(err),
    }
}

/// Whether `metadata` (of `path`) is safe to trust for `strictness`; the error names the file,
/// its owner or mode, and the fix.
pub(crate) fn check_owner_and_mode(
    path: &Path,
    metadata: &fs::Metadata,
    strictness: Strictness,
) -> Result<(), FsError> {
    #[cfg(unix)]
    {
        check_unix(path, metadata, strictness)
    }
    #[cfg(windows)]
    {
        check_windows(path, metadata, strictness)
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = (path, metadata, strictness);
        Ok(())
    }
}

/// [`check_owner_and_mode`] on Unix: the owner's uid and the mode bits.
#[cfg(unix)]
fn check_unix(path: &Path, metadata: &fs::Metadata, strictness: Strictness) -> Result<(), FsError> {
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

/// [`check_owner_and_mode`] on Windows: the owner and the access list.
#[cfg(windows)]
fn check_windows(
    path: &Path,
    metadata: &fs::Metadata,
    strictness: Strictness,
) -> Result<(), FsError> {
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

/// Checks a directory (if it exists) with [`check_owner_and_mode`]; `Ok(false)` when missing.
pub(crate) fn check_dir(path: &Path, strictness: Strictness) -> Result<bool, FsError> {
    match fs::metadata(path) {
        Ok(metadata) => check_owner_and_mode(path, &metadata, strictness).map(|()| true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(FsError::io(IoAction::Inspect, path, e)),
    }
}
