//! Format-preserving writer for the AWS shared credentials and config files.
//!
//! Every `--write-profile NAME` option goes through [`write_profile`]. It rewrites one section of
//! an INI-like profile file (`~/.aws/credentials`, or `~/.aws/config` with
//! [`HeaderStyle::Config`]) and leaves every other byte of the file as it was: comments, blank
//! lines, line endings (LF or CRLF), trailing whitespace, order of sections, and a missing final
//! newline.
//!
//! # How the file is read
//!
//! Lines are split on `\n`; a `\r` directly before the `\n` is part of the line ending, as in the
//! AWS SDK for Rust's parser (`aws-runtime`'s `env_config::parse`). A line is a *section header
//! line* when its first character other than space or tab is `[`. A header *names* a section when,
//! after cutting everything from the first `#` or `;` and trimming spaces and tabs, it reads
//! `[` inner `]`; the inner text is trimmed and split at its first space or tab like the SDK does,
//! so `[ prod ]   # main account` names `prod` and `[profile   prod]` names the config-file profile
//! `prod`. A header line that names nothing (for example `[prod` without `]`) still ends the
//! section above it; it is never treated as ours.
//!
//! # Which section is ours
//!
//! * [`HeaderStyle::Credentials`]: `[NAME]`. A `[profile NAME]` header does not count (the SDKs
//!   ignore it in the credentials file).
//! * [`HeaderStyle::Config`]: `[profile NAME]`; for `default` it is `[default]` or
//!   `[profile default]`. The SDKs let `[profile default]` win over `[default]`, so when both exist
//!   the first `[profile default]` is ours. New sections are written as `[profile NAME]` or
//!   `[default]`.
//!
//! If several headers name the section (a hand-edited file), the first one (see above for
//! `default`) is replaced and the others are left exactly as they are. Their number is reported in
//! [`WriteOutcome::duplicate_sections`] so the caller can warn: the SDKs merge duplicate sections,
//! so keys in a later duplicate override the ones just written.
//!
//! # Section boundaries
//!
//! A section is its header line plus the lines after it up to the next section header line (or
//! the end of the file). At the end of that stretch, the run of blank lines and comment lines
//! (lines whose very first character is `#` or `;`) is *not* part of the section: those lines
//! separate it from, or describe, whatever follows, so a comment written right above
//! `[staging]` stays with `[staging]`. [`find_section`] returns the range without that run.
//!
//! Replacing keeps the header line byte for byte and replaces the lines between it and that
//! trailing run with the new `key = value` lines, in the order given. Comments inside the old body
//! (above its last key) go with the old body.
//!
//! Indented header lines are ambiguous: the SDK for Rust reads a line that starts with a space or
//! tab as the continuation of the previous value, where other parsers may see a header. When our
//! header line, or the header line that ends our section, is indented, the write is refused
//! ([`WriteError::IndentedHeader`]) instead of guessing.
//!
//! A new section is appended at the end. If the file does not end with a newline one is added
//! first, then a blank separator line unless the file already ends with a blank line.
//!
//! Written lines of a replaced section take the line ending of its header line; everything else
//! uses the file's dominant line ending: CRLF when more lines end in CRLF than in a bare LF, LF
//! otherwise. Writing the same entries twice therefore gives the same bytes.
//!
//! # What is refused
//!
//! Only text that reads back unchanged through the AWS profile parsers is written:
//!
//! * profile names must be non-empty and use only letters, digits and `_ - / . % @ : +` (the
//!   SDKs' identifier rule; anything else, whitespace and brackets included, is refused);
//! * keys likewise, except `:` (Python's `configparser` splits keys at `:`);
//! * values must be non-empty, have no control characters (CR, LF, tab, ...), no leading or
//!   trailing whitespace, must not start with `#` or `;`, and must not contain whitespace
//!   followed by `#` or `;` (the SDK would cut that off as a comment);
//! * files that are not valid UTF-8, or start with a byte-order mark (which the parsers choke
//!   on), are left untouched and reported, never converted.
//!
//! An existing section holding long-term keys (`aws_access_key_id` without `aws_session_token` or
//! `aws_security_token`) is only overwritten with [`WriteRequest::overwrite_keys`].
//!
//! # On disk
//!
//! [`write_profile`] takes an exclusive advisory lock on `<file>.lock` (created `0600`, never
//! removed: removing lock files reintroduces the race they prevent), waits for it at most
//! [`WriteRequest::lock_timeout`], then reads, edits, writes a temporary file in the same
//! directory, syncs it, gives it the old file's owner and a private mode (`0600` for a new file;
//! an existing file keeps only its owner's read/write bits: group and other bits, setuid and
//! setgid are dropped, and [`WriteOutcome::tightened_mode`] says so), renames it over the target
//! and syncs the directory. A reader never sees a half-written file and a failure before the
//! rename leaves the original intact. A temporary file left by a killed writer is removed by the
//! next write once it is a minute old. Files over `osfs::MAX_PROFILE_FILE` are refused. A
//! symlinked file is written through to its target, so the link survives. A missing parent directory (typically `~/.aws`) is created with
//! mode `0700`; existing directories are never changed.
//!
//! Key values may be secrets: they never appear in errors, `Debug` output or panics.
//!
//! # Removing a section, and several edits at once
//!
//! [`remove_section`] takes out the section that [`find_section`] finds (its header line to its
//! last line that is not blank or a comment) and the blank lines right after it; comments after
//! it stay with what follows, and every other byte is kept. The same indented-header refusal
//! applies. [`edit_file`] runs any such pure edits (upserts and removals) under the same lock,
//! with the same atomic replacement and mode, re-reading the file inside the lock so concurrent
//! writers never lose each other's changes; [`section_entries`] reads a section's keys from the
//! text read under that lock, so decisions ("is this section ours?") are made on what is
//! replaced.
//!
//! # Layout
//!
//! `sections.rs` reads the text (lines, headers, where a section sits) and opens a section for
//! editing with the byte-order-mark and indented-header refusals, once for every editor;
//! `validate.rs` refuses names, keys and values; `edit.rs` holds the one section edit behind
//! [`upsert_section`] and [`edit_section`], and [`remove_section`]; `file.rs` holds the lock and
//! the atomic replacement behind [`write_profile`] (one [`WriteRequest`] for a replacement or an
//! edit) and [`edit_file`]. A [`WriteError`] becomes a [`Problem`] in one place, so it exits
//! with the same code from every command.

mod edit;
mod file;
mod sections;
#[cfg(test)]
mod tests;
mod validate;

pub use edit::{Change, Edited, Upserted, edit_section, remove_section, upsert_section};
pub use file::{WriteOutcome, WriteRequest, edit_file, write_profile};
pub use sections::{find_section, section_entries, section_names};
pub use validate::validate_profile_name;

use crate::base::error::{Exit, Problem};
use crate::os::fs::{self as osfs, FsError};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long [`write_profile`] waits for the lock by default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// Which header form names a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeaderStyle {
    /// `~/.aws/credentials`: `[NAME]`.
    #[default]
    Credentials,
    /// `~/.aws/config`: `[profile NAME]`, and `[default]` for the default profile.
    Config,
}

impl HeaderStyle {
    /// The credentials file holds secrets and is kept owner-only; the config file keeps the
    /// mode its owner gave it.
    pub fn file_mode(self) -> osfs::FileMode {
        match self {
            HeaderStyle::Credentials => osfs::FileMode::Private,
            HeaderStyle::Config => osfs::FileMode::Keep,
        }
    }
}

/// Why a profile could not be written. Messages never contain key values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// A profile name the AWS parsers would not read back as the same profile.
    #[error("invalid profile name {name:?}: {reason}")]
    InvalidProfileName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A key that is empty, has a character keys cannot have, or is given twice.
    #[error("invalid key {key:?}: {reason}")]
    InvalidKey {
        /// The key as given.
        key: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A value the parsers would read back differently (empty, a control character, edge
    /// whitespace, a comment).
    #[error(
        "cannot write the value of {key:?}: it {reason}, so AWS tools would read back something \
         else; nothing was written"
    )]
    InvalidValue {
        /// The key whose value it is (never the value: it may be a secret).
        key: String,
        /// What is wrong with the value, completing "it ..." ("is empty").
        reason: &'static str,
    },

    /// No keys to write at all.
    #[error("nothing to write for profile {profile:?}: no keys were given")]
    NoEntries {
        /// The profile that was to be written.
        profile: String,
    },

    /// The section's header, or the next one, is indented: the SDK for Rust would read it as
    /// part of the value before it.
    #[error(
        "{}line {line}: the section header is indented; the AWS SDK for Rust reads an indented \
         line as the continuation of the previous value; the file was not changed",
        at_path(.path.as_deref())
    )]
    IndentedHeader {
        /// The file; `None` while only the text is known.
        path: Option<PathBuf>,
        /// The line of the indented header, counted from 1.
        line: usize,
    },

    /// The text starts with a byte-order mark.
    #[error(
        "{}the text starts with a byte-order mark, which the AWS profile parsers do not accept; \
         the file was not changed",
        at_path(.path.as_deref())
    )]
    ByteOrderMark {
        /// The file; `None` while only the text is known.
        path: Option<PathBuf>,
    },

    /// The file is not UTF-8.
    #[error(
        "{} is not valid UTF-8 (first bad byte on line {line}); it was left untouched",
        .path.display()
    )]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// The line of the first invalid byte, counted from 1.
        line: usize,
    },

    /// A replacement would overwrite long-term access keys, and `overwrite_keys` was not given.
    #[error(
        "profile [{profile}] in {} holds long-term access keys (aws_access_key_id without a \
         session token); refusing to overwrite them without --overwrite-keys",
        .path.display()
    )]
    LongTermKeys {
        /// The file with the section.
        path: PathBuf,
        /// The profile whose keys they are.
        profile: String,
    },

    /// Locking, reading or replacing the file failed.
    #[error(transparent)]
    Fs(#[from] FsError),
}

fn at_path(path: Option<&Path>) -> String {
    path.map(|p| format!("{}, ", p.display()))
        .unwrap_or_default()
}

impl WriteError {
    /// The exit class: what the person asked for cannot be written (usage, 2), or the file
    /// system failed (1).
    pub fn exit(&self) -> Exit {
        match self {
            WriteError::Fs(_) => Exit::Failure,
            _ => Exit::Usage,
        }
    }

    /// What to do about it, for the `hint:` line.
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            WriteError::InvalidProfileName { .. } => {
                "use only letters, digits and _ - / . % @ : + in profile names"
            }
            WriteError::IndentedHeader { .. } => "remove the leading whitespace and retry",
            WriteError::ByteOrderMark { .. } => "save the file as UTF-8 without BOM and retry",
            WriteError::NotUtf8 { .. } => "save the file as UTF-8 and retry",
            WriteError::LongTermKeys { .. } => {
                "add --overwrite-keys to replace them, or write to another profile name"
            }
            _ => return None,
        })
    }

    /// Fills in the file for errors found by the pure text functions.
    fn in_file(self, file: &Path) -> Self {
        match self {
            WriteError::IndentedHeader { path: None, line } => WriteError::IndentedHeader {
                path: Some(file.to_path_buf()),
                line,
            },
            WriteError::ByteOrderMark { path: None } => WriteError::ByteOrderMark {
                path: Some(file.to_path_buf()),
            },
            other => other,
        }
    }
}

/// As the one error type every command renders, with [`WriteError::exit`] and
/// [`WriteError::hint`]: the same write error exits with the same code from every command.
impl From<WriteError> for Problem {
    fn from(err: WriteError) -> Problem {
        let problem = Problem::new(err.exit(), err.to_string());
        match err.hint() {
            Some(hint) => problem.hint(hint),
            None => problem,
        }
    }
}
