//! Atomic replacement: a temporary file in the same directory, fsync, rename, fsync of the
//! directory; the new file's owner and mode; temporary files a killed writer left behind.

#[cfg(unix)]
use super::current_uid;
use super::{FsError, IoAction, NEW_FILE_MODE};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// A temporary file of [`replace_file`] older than this is left over from a killed writer
/// (a live writer holds its temporary file for milliseconds) and is removed by the next write.
pub(crate) const STALE_TEMP_AGE: Duration = Duration::from_secs(60);
/// At most this many directory entries are looked at when removing stale temporary files.
const STALE_TEMP_SCAN: usize = 10_000;
/// The random part of a temporary file's name: `.<name>.<6 characters>.tmp`.
const TEMP_RANDOM_LEN: usize = 6;

/// Metadata of the existing target, `None` when it does not exist. Refuses anything but a regular
/// file (reading a FIFO would block, a directory cannot be replaced).
pub(crate) fn existing_metadata(target: &Path) -> Result<Option<fs::Metadata>, FsError> {
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
#[cfg_attr(windows, allow(dead_code, reason = "Unix file modes"))]
pub(crate) fn secret_mode(existing: Option<u32>) -> u32 {
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
pub(crate) fn replace_file(
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
