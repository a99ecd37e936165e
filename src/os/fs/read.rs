//! Reads with a size cap: only regular files (never a FIFO or a device), at most a given
//! number of bytes.

use super::{FsError, IoAction};
use std::fs::{self, OpenOptions};
use std::path::Path;

/// The whole file, as bytes, if it is a regular file of at most `max_bytes` (symlinks are
/// followed). A FIFO, a device such as `/dev/zero` or a directory is refused without blocking
/// (opened with `O_NONBLOCK`) and without reading; so is a larger file.
pub(crate) fn read_regular(path: &Path, max_bytes: u64) -> Result<Vec<u8>, FsError> {
    read_regular_checked(path, max_bytes, |_| Ok(()))
}

/// [`read_regular`], with `check` run on the opened file's metadata before anything is read
/// (so the check and the read see the same file).
pub(crate) fn read_regular_checked(
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
pub(crate) fn read_optional(path: &Path, max_bytes: u64) -> Result<Option<Vec<u8>>, FsError> {
    match read_regular(path, max_bytes) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}
