//! The file API: a profile file under its lock, replaced atomically (see "On disk" in the
//! module docs). [`write_profile`] takes one [`WriteRequest`] for every section write;
//! [`edit_file`] runs any pure edit under the same lock.

use super::edit::{self, Change};
use super::validate::{validate_entries, validate_profile_name};
use super::{DEFAULT_LOCK_TIMEOUT, HeaderStyle, WriteError};
use crate::os::fs as osfs;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use zeroize::Zeroizing;

/// A profile file held under its lock (`<file>.lock`), with its text as read then (empty for a
/// missing file). The lock is released when it is dropped.
struct Locked {
    target: PathBuf,
    dir: PathBuf,
    existing: Option<std::fs::Metadata>,
    text: String,
    _lock: osfs::Lock,
}

impl Locked {
    /// Lock `target` (symlinks already resolved), creating its directory `0700` if needed, and
    /// read it: a regular UTF-8 file of at most [`osfs::MAX_PROFILE_FILE`] bytes, or nothing.
    fn open(target: PathBuf, lock_timeout: Duration) -> Result<Locked, WriteError> {
        let dir = osfs::parent_dir(&target);
        osfs::ensure_dir(&dir)?;
        let lock = osfs::acquire_lock(&osfs::lock_path_for(&target), lock_timeout)?;
        let existing = osfs::existing_metadata(&target)?;
        let bytes = match &existing {
            Some(_) => osfs::read_regular(&target, osfs::MAX_PROFILE_FILE)?,
            None => Vec::new(),
        };
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = e.as_bytes().get(..e.utf8_error().valid_up_to());
            let line = 1 + valid.map_or(0, |bytes| bytes.iter().filter(|b| **b == b'\n').count());
            WriteError::NotUtf8 {
                path: target.clone(),
                line,
            }
        })?;
        Ok(Locked {
            target,
            dir,
            existing,
            text,
            _lock: lock,
        })
    }

    /// Replace the file with `text`, atomically, with `mode`'s permission bits.
    fn replace(
        &self,
        text: &str,
        mode: osfs::FileMode,
    ) -> Result<Option<osfs::Tightened>, WriteError> {
        Ok(osfs::replace_file(
            &self.target,
            &self.dir,
            text.as_bytes(),
            self.existing.as_ref(),
            mode,
        )?)
    }
}

/// Locks `path`, reads it (empty when missing), lets `edit` compute the new text, and replaces
/// the file atomically (mode kept; `0600` when new) when `edit` returns one. See the module docs.
///
/// # Errors
/// The lock timed out, the file is not UTF-8, `edit` refused, or the file system failed; the
/// file is then unchanged.
pub fn edit_file<T>(
    path: &Path,
    lock_timeout: Duration,
    edit: impl FnOnce(&str) -> Result<(Option<String>, T), WriteError>,
) -> Result<T, WriteError> {
    let file = Locked::open(osfs::resolve_symlinks(path)?, lock_timeout)?;
    let (new_text, result) = edit(&file.text).map_err(|e| e.in_file(&file.target))?;
    if let Some(text) = new_text
        && text != file.text
    {
        file.replace(&text, osfs::FileMode::Keep)?;
    }
    Ok(result)
}

/// One write of one profile section: a replacement ([`WriteRequest::new`]) or an edit of some
/// keys ([`WriteRequest::edit`]).
#[derive(Clone, Copy)]
pub struct WriteRequest<'a> {
    /// The file to edit; created if missing (for an edit, only when it sets something).
    pub path: &'a Path,
    /// Profile name, without any `profile ` prefix.
    pub profile: &'a str,
    /// How the section header is written: `[NAME]` or `[profile NAME]`.
    pub style: HeaderStyle,
    /// What to write. Values may be secrets.
    pub change: Change<'a>,
    /// Overwrite a section that holds long-term access keys with a [`Change::Replace`].
    pub overwrite_keys: bool,
    /// How long to wait for another writer to release the lock.
    pub lock_timeout: Duration,
}

impl<'a> WriteRequest<'a> {
    /// Replace (or append) the section with `entries`, in the credentials file style, without
    /// `overwrite_keys`, waiting [`DEFAULT_LOCK_TIMEOUT`] for the lock.
    pub fn new(path: &'a Path, profile: &'a str, entries: &'a [(&'a str, &'a str)]) -> Self {
        WriteRequest {
            path,
            profile,
            style: HeaderStyle::Credentials,
            change: Change::Replace(entries),
            overwrite_keys: false,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
        }
    }

    /// Set the keys of `set` and remove those of `remove`, keeping every other line of the
    /// section ([`super::edit_section`]), waiting [`DEFAULT_LOCK_TIMEOUT`] for the lock.
    pub fn edit(
        path: &'a Path,
        profile: &'a str,
        style: HeaderStyle,
        set: &'a [(&'a str, &'a str)],
        remove: &'a [&'a str],
    ) -> Self {
        WriteRequest {
            style,
            change: Change::Merge { set, remove },
            ..WriteRequest::new(path, profile, &[])
        }
    }
}

/// Shows keys only: values may be secrets.
impl fmt::Debug for WriteRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&str> = self.change.set().iter().map(|(key, _)| *key).collect();
        f.debug_struct("WriteRequest")
            .field("path", &self.path)
            .field("profile", &self.profile)
            .field("style", &self.style)
            .field("replace", &matches!(self.change, Change::Replace(_)))
            .field("keys", &keys)
            .field("remove", &self.change.remove())
            .field("overwrite_keys", &self.overwrite_keys)
            .field("lock_timeout", &self.lock_timeout)
            .finish()
    }
}

/// What [`write_profile`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteOutcome {
    /// The file did not exist before.
    pub created_file: bool,
    /// An existing section was replaced or edited (otherwise one was appended).
    pub replaced_existing: bool,
    /// The text changed. An edit that changes nothing is not written; a replacement always is.
    pub changed: bool,
    /// An edit left the section nothing but blank lines, and it went, header included.
    pub removed_section: bool,
    /// Further sections with the same name, left untouched; the SDKs merge them over ours, so
    /// the caller should warn when this is not zero.
    pub duplicate_sections: usize,
    /// The file was readable or writable by others, or had setuid/setgid: its mode was
    /// tightened (the caller says so once).
    pub tightened_mode: Option<osfs::Tightened>,
}

/// Writes one profile section into `req.path`: locked, atomic, format-preserving, mode and
/// symlinks kept, parent directory created `0700`. See the module docs. An edit
/// ([`Change::Merge`]) creates a missing file only when it sets something, and does not rewrite
/// a file it would not change.
///
/// # Errors
/// Everything [`super::upsert_section`] and [`super::edit_section`] refuse, plus
/// [`WriteError::LongTermKeys`] for a replacement without `overwrite_keys`, a lock timeout,
/// [`WriteError::NotUtf8`], and file system failures. On any error before the final rename the
/// original file is unchanged.
pub fn write_profile(req: &WriteRequest<'_>) -> Result<WriteOutcome, WriteError> {
    validate_profile_name(req.profile)?;
    if let Change::Replace(entries) = req.change {
        validate_entries(req.profile, entries)?;
    }
    let target = osfs::resolve_symlinks(req.path)?;
    if let Change::Merge { set: [], .. } = req.change
        && osfs::existing_metadata(&target)?.is_none()
    {
        return Ok(WriteOutcome::default());
    }
    let mut file = Locked::open(target, req.lock_timeout)?;
    // Both texts may hold keys: zeroed when they go, whatever happens.
    let original = Zeroizing::new(std::mem::take(&mut file.text));
    let applied = edit::apply(&original, req.profile, req.style, req.change)
        .map_err(|e| e.in_file(&file.target))?;
    let text = Zeroizing::new(applied.text);
    if applied.previous_was_long_term && !req.overwrite_keys {
        return Err(WriteError::LongTermKeys {
            path: file.target,
            profile: req.profile.to_owned(),
        });
    }
    let write = matches!(req.change, Change::Replace(_)) || applied.changed;
    let tightened_mode = if write {
        file.replace(&text, req.style.file_mode())?
    } else {
        None
    };
    Ok(WriteOutcome {
        created_file: file.existing.is_none() && write,
        replaced_existing: applied.replaced,
        changed: applied.changed,
        removed_section: applied.removed_section,
        duplicate_sections: applied.duplicates,
        tightened_mode,
    })
}
