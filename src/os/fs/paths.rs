//! Paths and directories: symbolic links followed by hand, lock and parent paths, private
//! directories created `0700`, listing and removing files.

use super::{FsError, IoAction, NEW_DIR_MODE};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

const MAX_SYMLINK_HOPS: usize = 40;

/// Whether anything (even a dangling link) is at `path`.
pub(crate) fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// Remove a file; a file already gone is fine.
pub(crate) fn remove(path: &Path) {
    let _ = fs::remove_file(path);
}

/// Remove a file and say whether it was there: `Ok(false)` when it was already gone.
pub(crate) fn remove_existing(path: &Path) -> Result<bool, FsError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(FsError::io(IoAction::Remove, path, e)),
    }
}

/// The regular files directly in `dir` whose names end with `suffix`, sorted; a missing
/// directory has none.
pub(crate) fn list_files(dir: &Path, suffix: &str) -> Result<Vec<PathBuf>, FsError> {
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
pub(crate) fn resolve_symlinks(path: &Path) -> Result<PathBuf, FsError> {
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

pub(crate) fn parent_dir(target: &Path) -> PathBuf {
    match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

pub(crate) fn lock_path_for(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

/// Creates `dir` and its missing ancestors with mode 0700. Existing directories are not touched.
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), FsError> {
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
