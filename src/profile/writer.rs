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
//! `aws_security_token`) is only overwritten with [`WriteRequest::force`].
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
//! next write once it is a minute old. Files over [`osfs::MAX_PROFILE_FILE`] are refused. A
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

use crate::base::error::{Exit, Problem};
use crate::os::fs::{self as osfs, FsError};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long [`write_profile`] waits for the lock by default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// Spaces and tabs: the only whitespace the AWS profile parsers trim.
const WHITESPACE: &[char] = &[' ', '\t'];
const COMMENT: &[char] = &['#', ';'];
const PROFILE_PREFIX: &str = "profile";
const DEFAULT_PROFILE: &str = "default";
const ACCESS_KEY_ID: &str = "aws_access_key_id";
const SESSION_TOKEN_KEYS: [&str; 2] = ["aws_session_token", "aws_security_token"];

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

/// One write of one profile section.
#[derive(Clone, Copy)]
pub struct WriteRequest<'a> {
    /// The file to edit; created if missing.
    pub path: &'a Path,
    /// Profile name, without any `profile ` prefix.
    pub profile: &'a str,
    pub style: HeaderStyle,
    /// `(key, value)` pairs written in this order. Values may be secrets.
    pub entries: &'a [(&'a str, &'a str)],
    /// Overwrite a section that holds long-term access keys.
    pub force: bool,
    /// How long to wait for another writer to release the lock.
    pub lock_timeout: Duration,
}

impl<'a> WriteRequest<'a> {
    /// A request for the credentials file style, without `force`, waiting
    /// [`DEFAULT_LOCK_TIMEOUT`] for the lock.
    pub fn new(path: &'a Path, profile: &'a str, entries: &'a [(&'a str, &'a str)]) -> Self {
        WriteRequest {
            path,
            profile,
            style: HeaderStyle::Credentials,
            entries,
            force: false,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
        }
    }
}

/// Shows keys only: values may be secrets.
impl fmt::Debug for WriteRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&str> = self.entries.iter().map(|(key, _)| *key).collect();
        f.debug_struct("WriteRequest")
            .field("path", &self.path)
            .field("profile", &self.profile)
            .field("style", &self.style)
            .field("keys", &keys)
            .field("force", &self.force)
            .field("lock_timeout", &self.lock_timeout)
            .finish()
    }
}

/// What [`write_profile`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOutcome {
    /// The file did not exist before.
    pub created_file: bool,
    /// An existing section was replaced (otherwise one was appended).
    pub replaced_existing: bool,
    /// Further sections with the same name, left untouched; the SDKs merge them over ours, so
    /// the caller should warn when this is not zero.
    pub duplicate_sections: usize,
    /// The file was readable or writable by others, or had setuid/setgid: its mode was
    /// tightened (the caller says so once).
    pub tightened_mode: Option<osfs::Tightened>,
}

/// Result of [`upsert_section`].
pub struct Upserted {
    /// The whole new file text. Contains the written values: do not log it.
    pub text: String,
    pub replaced: bool,
    pub duplicates: usize,
    /// The replaced section held `aws_access_key_id` and no session token.
    pub previous_was_long_term: bool,
}

/// Redacts the text, which holds secrets.
impl fmt::Debug for Upserted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upserted")
            .field(
                "text",
                &format_args!("<{} bytes redacted>", self.text.len()),
            )
            .field("replaced", &self.replaced)
            .field("duplicates", &self.duplicates)
            .field("previous_was_long_term", &self.previous_was_long_term)
            .finish()
    }
}

/// Why a profile could not be written. Messages never contain key values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    #[error("invalid profile name {name:?}: {reason}")]
    InvalidProfileName { name: String, reason: String },

    #[error("invalid key {key:?}: {reason}")]
    InvalidKey { key: String, reason: String },

    #[error(
        "cannot write the value of {key:?}: it {reason}, so AWS tools would read back something \
         else; nothing was written"
    )]
    InvalidValue { key: String, reason: &'static str },

    #[error("nothing to write for profile {profile:?}: no keys were given")]
    NoEntries { profile: String },

    #[error(
        "{}line {line}: the section header is indented; the AWS SDK for Rust reads an indented \
         line as the continuation of the previous value; the file was not changed",
        at_path(.path.as_deref())
    )]
    IndentedHeader { path: Option<PathBuf>, line: usize },

    #[error(
        "{}the text starts with a byte-order mark, which the AWS profile parsers do not accept; \
         the file was not changed",
        at_path(.path.as_deref())
    )]
    ByteOrderMark { path: Option<PathBuf> },

    #[error(
        "{} is not valid UTF-8 (first bad byte on line {line}); it was left untouched",
        .path.display()
    )]
    NotUtf8 { path: PathBuf, line: usize },

    #[error(
        "profile [{profile}] in {} holds long-term access keys (aws_access_key_id without a \
         session token); refusing to overwrite them without --force",
        .path.display()
    )]
    LongTermKeys { path: PathBuf, profile: String },

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
                "use --force to overwrite them, or write to another profile name"
            }
            _ => return None,
        })
    }

    /// As the one error type every command renders.
    pub fn into_problem(self) -> Problem {
        let problem = Problem::new(self.exit(), self.to_string());
        match self.hint() {
            Some(hint) => problem.hint(hint),
            None => problem,
        }
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

// ---------------------------------------------------------------------------------------------
// Text

/// One line of the file. Offsets are byte offsets of `\n`, so slicing at them never splits a
/// UTF-8 character.
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    start: usize,
    /// End including the line ending.
    end: usize,
    /// The line without its line ending.
    content: &'a str,
    has_eol: bool,
}

fn lines(text: &str) -> impl Iterator<Item = Line<'_>> {
    let mut start = 0;
    text.split_inclusive('\n').map(move |raw| {
        let line_start = start;
        start += raw.len();
        let (content, has_eol) = match raw.strip_suffix('\n') {
            Some(without_lf) => (without_lf.strip_suffix('\r').unwrap_or(without_lf), true),
            None => (raw, false),
        };
        Line {
            start: line_start,
            end: start,
            content,
            has_eol,
        }
    })
}

fn is_header_line(content: &str) -> bool {
    content.trim_start_matches(WHITESPACE).starts_with('[')
}

fn is_blank(content: &str) -> bool {
    content.trim_matches(WHITESPACE).is_empty()
}

/// A whole-line comment as the SDK sees it: `#` or `;` in the first column.
fn is_comment(content: &str) -> bool {
    content.starts_with(COMMENT)
}

/// The text between the brackets of a well-formed header, as the SDK's `prepare_line` cuts it.
fn header_inner(content: &str) -> Option<&str> {
    let line = content.trim_matches(WHITESPACE);
    let line = match line.find(COMMENT) {
        Some(comment) => line.get(..comment)?,
        None => line,
    };
    line.trim_matches(WHITESPACE)
        .strip_prefix('[')?
        .strip_suffix(']')
}

/// How strongly a header names the profile; lower wins. `None` when it does not name it.
fn header_rank(content: &str, name: &str, style: HeaderStyle) -> Option<u8> {
    let inner = header_inner(content)?.trim_matches(WHITESPACE);
    let (prefix, suffix) = match inner.split_once(WHITESPACE) {
        Some((prefix, suffix)) => (Some(prefix.trim()), suffix.trim()),
        None => (None, inner.trim()),
    };
    if suffix != name {
        return None;
    }
    match (style, prefix) {
        (HeaderStyle::Credentials, None) => Some(0),
        (HeaderStyle::Config, Some(PROFILE_PREFIX)) => Some(0),
        (HeaderStyle::Config, None) if name == DEFAULT_PROFILE => Some(1),
        _ => None,
    }
}

/// Where our section sits in a text.
#[derive(Debug)]
struct Located {
    /// 1-based line number of the header.
    header_line: usize,
    header_indented: bool,
    header_end: usize,
    header_has_eol: bool,
    /// Header line start .. end of the section (before the trailing blank/comment run).
    section: Range<usize>,
    /// 1-based line number of the header that ends the section, if it is indented.
    indented_next_header: Option<usize>,
    duplicates: usize,
}

fn locate(text: &str, name: &str, style: HeaderStyle) -> Option<Located> {
    let all: Vec<Line<'_>> = lines(text).collect();
    let mut best: Option<(u8, usize)> = None;
    let mut matches = 0usize;
    for (index, line) in all.iter().enumerate() {
        if !is_header_line(line.content) {
            continue;
        }
        if let Some(rank) = header_rank(line.content, name, style) {
            matches += 1;
            if best.is_none_or(|(best_rank, _)| rank < best_rank) {
                best = Some((rank, index));
            }
        }
    }
    let (_, header_index) = best?;
    let header = all.get(header_index)?;
    let rest = all.get(header_index + 1..).unwrap_or_default();
    let body_len = rest
        .iter()
        .position(|line| is_header_line(line.content))
        .unwrap_or(rest.len());
    let body = rest.get(..body_len).unwrap_or_default();
    let owned_len = body
        .iter()
        .rposition(|line| !(is_blank(line.content) || is_comment(line.content)))
        .map_or(0, |last| last + 1);
    let section_end = match owned_len.checked_sub(1).and_then(|last| body.get(last)) {
        Some(last_owned) => last_owned.end,
        None => header.end,
    };
    let indented_next_header = rest
        .get(body_len)
        .filter(|next| next.content.starts_with(WHITESPACE))
        .map(|_| header_index + 1 + body_len + 1);
    Some(Located {
        header_line: header_index + 1,
        header_indented: header.content.starts_with(WHITESPACE),
        header_end: header.end,
        header_has_eol: header.has_eol,
        section: header.start..section_end,
        indented_next_header,
        duplicates: matches.saturating_sub(1),
    })
}

/// Byte range of the section that names `header_name` (a profile name, without `profile `):
/// from the start of its header line to the end of its last line that is not blank or a comment
/// (see the module docs for which header wins when several match). `None` when no header names it.
pub fn find_section(text: &str, header_name: &str, style: HeaderStyle) -> Option<Range<usize>> {
    locate(text, header_name, style).map(|found| found.section)
}

/// The profile names the text's headers name, in file order (duplicates kept): `[NAME]` in
/// [`HeaderStyle::Credentials`]; `[profile NAME]` and `[default]` in [`HeaderStyle::Config`].
/// One pass over the text.
pub fn section_names(text: &str, style: HeaderStyle) -> Vec<&str> {
    let mut names = Vec::new();
    for line in lines(text) {
        if !is_header_line(line.content) {
            continue;
        }
        let Some(inner) = header_inner(line.content) else {
            continue;
        };
        let inner = inner.trim_matches(WHITESPACE);
        let (prefix, suffix) = match inner.split_once(WHITESPACE) {
            Some((prefix, suffix)) => (Some(prefix.trim()), suffix.trim_matches(WHITESPACE)),
            None => (None, inner),
        };
        let name = match (style, prefix) {
            (HeaderStyle::Credentials, None) => suffix,
            (HeaderStyle::Config, Some(PROFILE_PREFIX)) => suffix,
            (HeaderStyle::Config, None) if suffix == DEFAULT_PROFILE => suffix,
            _ => continue,
        };
        if !name.is_empty() {
            names.push(name);
        }
    }
    names
}

fn is_identifier_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | '.' | '%' | '@' | ':' | '+')
}

fn describe_bad_char(c: char) -> String {
    match c {
        c if c.is_whitespace() => "contains whitespace".to_owned(),
        '[' | ']' => "contains a bracket".to_owned(),
        '#' | ';' => "contains a comment character".to_owned(),
        c if c.is_control() => "contains a control character".to_owned(),
        c => format!("contains {c:?}"),
    }
}

/// Refuses names the AWS profile parsers would not read back as the same profile.
///
/// # Errors
/// [`WriteError::InvalidProfileName`] with the reason.
pub fn validate_profile_name(name: &str) -> Result<(), WriteError> {
    let reason = if name.is_empty() {
        Some("it is empty".to_owned())
    } else {
        name.chars()
            .find(|c| !is_identifier_char(*c))
            .map(describe_bad_char)
    };
    match reason {
        Some(reason) => Err(WriteError::InvalidProfileName {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

fn validate_key(key: &str) -> Result<(), WriteError> {
    let reason = if key.is_empty() {
        Some("it is empty".to_owned())
    } else {
        key.chars()
            .find(|c| *c == ':' || !is_identifier_char(*c))
            .map(|c| match c {
                ':' | '=' => "contains a separator (= or :)".to_owned(),
                c => describe_bad_char(c),
            })
    };
    match reason {
        Some(reason) => Err(WriteError::InvalidKey {
            key: key.to_owned(),
            reason: format!("{reason}; keys use only letters, digits and _ - / . % @ +"),
        }),
        None => Ok(()),
    }
}

fn value_problem(value: &str) -> Option<&'static str> {
    if value.is_empty() {
        return Some("is empty");
    }
    if value.chars().any(char::is_control) {
        return Some("contains a control character (such as a line break or tab)");
    }
    if value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace) {
        return Some("has leading or trailing whitespace");
    }
    if value.starts_with(COMMENT) {
        return Some("starts with a comment character (# or ;)");
    }
    let mut previous_was_space = false;
    for c in value.chars() {
        if previous_was_space && COMMENT.contains(&c) {
            return Some("contains whitespace followed by # or ;, which starts a comment");
        }
        previous_was_space = c.is_whitespace();
    }
    None
}

fn validate_entries(profile: &str, entries: &[(&str, &str)]) -> Result<(), WriteError> {
    if entries.is_empty() {
        return Err(WriteError::NoEntries {
            profile: profile.to_owned(),
        });
    }
    for (index, (key, value)) in entries.iter().enumerate() {
        validate_key(key)?;
        let repeated = entries
            .iter()
            .take(index)
            .any(|(earlier, _)| earlier.eq_ignore_ascii_case(key));
        if repeated {
            return Err(WriteError::InvalidKey {
                key: (*key).to_owned(),
                reason: "it is given twice (keys are case-insensitive)".to_owned(),
            });
        }
        if let Some(reason) = value_problem(value) {
            return Err(WriteError::InvalidValue {
                key: (*key).to_owned(),
                reason,
            });
        }
    }
    Ok(())
}

/// The key of a property line, lower-cased, as the SDK reads it.
fn property_key(content: &str) -> Option<String> {
    if is_blank(content) || is_comment(content) || content.starts_with(WHITESPACE) {
        return None;
    }
    let (key, _) = content.split_once('=')?;
    let key = key.trim_matches(WHITESPACE);
    (!key.is_empty()).then(|| key.to_ascii_lowercase())
}

fn holds_long_term_keys(body: &str) -> bool {
    let keys: Vec<String> = lines(body)
        .filter_map(|line| property_key(line.content))
        .collect();
    let has_key_id = keys.iter().any(|key| key == ACCESS_KEY_ID);
    let has_token = keys
        .iter()
        .any(|key| SESSION_TOKEN_KEYS.contains(&key.as_str()));
    has_key_id && !has_token
}

/// The line ending most of `text`'s lines use; for a text without any (a new file), this
/// system's ([`crate::os::fs::NATIVE_LINE_ENDING`]: CRLF on Windows, as the AWS CLI writes).
fn dominant_line_ending(text: &str) -> &'static str {
    let crlf = text.matches("\r\n").count();
    let lf = text.matches('\n').count().saturating_sub(crlf);
    match (crlf, lf) {
        (0, 0) => crate::os::fs::NATIVE_LINE_ENDING,
        _ if crlf > lf => "\r\n",
        _ => "\n",
    }
}

fn ends_with_blank_line(text: &str) -> bool {
    let Some(without_eol) = text.strip_suffix('\n') else {
        return false;
    };
    let without_eol = without_eol.strip_suffix('\r').unwrap_or(without_eol);
    let last_line = without_eol.rsplit('\n').next().unwrap_or(without_eol);
    is_blank(last_line)
}

fn header_text(name: &str, style: HeaderStyle) -> String {
    match style {
        HeaderStyle::Config if name != DEFAULT_PROFILE => format!("[{PROFILE_PREFIX} {name}]"),
        _ => format!("[{name}]"),
    }
}

/// Replaces the section `header_name` in `original` with `entries`, or appends it. Pure: see the
/// module docs for the rules. Does not enforce the long-term keys guard; it reports
/// [`Upserted::previous_was_long_term`] for the caller to decide.
///
/// # Errors
/// Invalid name, keys or values, no entries, a byte-order mark, or an indented header around the
/// section ([`WriteError::IndentedHeader`]).
pub fn upsert_section(
    original: &str,
    header_name: &str,
    style: HeaderStyle,
    entries: &[(&str, &str)],
) -> Result<Upserted, WriteError> {
    validate_profile_name(header_name)?;
    validate_entries(header_name, entries)?;
    if original.starts_with('\u{feff}') {
        return Err(WriteError::ByteOrderMark { path: None });
    }
    let found = locate(original, header_name, style);
    // A replaced section keeps its header's line ending; anything else uses the file's.
    let eol = match &found {
        Some(found) if found.header_has_eol => original
            .get(found.section.start..found.header_end)
            .filter(|header| header.ends_with("\r\n"))
            .map_or("\n", |_| "\r\n"),
        _ => dominant_line_ending(original),
    };
    let mut body = String::new();
    for (key, value) in entries {
        body.push_str(key);
        body.push_str(" = ");
        body.push_str(value);
        body.push_str(eol);
    }

    let Some(found) = found else {
        let mut text = String::with_capacity(original.len() + body.len() + 64);
        text.push_str(original);
        if !original.is_empty() {
            if !original.ends_with('\n') {
                text.push_str(eol);
            }
            if !ends_with_blank_line(&text) {
                text.push_str(eol);
            }
        }
        text.push_str(&header_text(header_name, style));
        text.push_str(eol);
        text.push_str(&body);
        return Ok(Upserted {
            text,
            replaced: false,
            duplicates: 0,
            previous_was_long_term: false,
        });
    };

    if found.header_indented {
        return Err(WriteError::IndentedHeader {
            path: None,
            line: found.header_line,
        });
    }
    if let Some(line) = found.indented_next_header {
        return Err(WriteError::IndentedHeader { path: None, line });
    }
    let head = original.get(..found.header_end).unwrap_or(original);
    let old_body = original
        .get(found.header_end..found.section.end)
        .unwrap_or_default();
    let tail = original.get(found.section.end..).unwrap_or_default();
    let mut text = String::with_capacity(original.len() + body.len() + 2);
    text.push_str(head);
    if !found.header_has_eol {
        text.push_str(eol);
    }
    text.push_str(&body);
    text.push_str(tail);
    Ok(Upserted {
        text,
        replaced: true,
        duplicates: found.duplicates,
        previous_was_long_term: holds_long_term_keys(old_body),
    })
}

/// Result of [`edit_section`].
pub struct Edited {
    /// The whole new file text. Contains the written values: do not log it.
    pub text: String,
    /// The text differs from the original.
    pub changed: bool,
    /// The section had nothing left but blank lines and went, header included.
    pub removed_section: bool,
    pub duplicates: usize,
}

/// Redacts the text, which holds secrets.
impl fmt::Debug for Edited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Edited")
            .field(
                "text",
                &format_args!("<{} bytes redacted>", self.text.len()),
            )
            .field("changed", &self.changed)
            .field("removed_section", &self.removed_section)
            .field("duplicates", &self.duplicates)
            .finish()
    }
}

/// Changes some keys of the section `header_name` and keeps every other line of it: each key of
/// `set` replaces its first line in place (or is added after the section's last line), each
/// key of `remove` loses its lines (with their indented continuation lines), keys compared
/// case-insensitively as the SDK does. A section left with nothing but blank lines is removed,
/// header included; everything outside the section stays byte for byte. A missing section is
/// appended when `set` has entries, and left missing otherwise. Pure, like [`upsert_section`],
/// with the same refusals.
///
/// # Errors
/// Invalid name, keys or values, a byte-order mark, or an indented header around the section.
pub fn edit_section(
    original: &str,
    header_name: &str,
    style: HeaderStyle,
    set: &[(&str, &str)],
    remove: &[&str],
) -> Result<Edited, WriteError> {
    validate_profile_name(header_name)?;
    if !set.is_empty() {
        validate_entries(header_name, set)?;
    }
    for key in remove {
        validate_key(key)?;
    }
    if original.starts_with('\u{feff}') {
        return Err(WriteError::ByteOrderMark { path: None });
    }
    let Some(found) = locate(original, header_name, style) else {
        if set.is_empty() {
            return Ok(Edited {
                text: original.to_owned(),
                changed: false,
                removed_section: false,
                duplicates: 0,
            });
        }
        let upserted = upsert_section(original, header_name, style, set)?;
        return Ok(Edited {
            text: upserted.text,
            changed: true,
            removed_section: false,
            duplicates: 0,
        });
    };
    if found.header_indented {
        return Err(WriteError::IndentedHeader {
            path: None,
            line: found.header_line,
        });
    }
    if let Some(line) = found.indented_next_header {
        return Err(WriteError::IndentedHeader { path: None, line });
    }
    let eol = if found.header_has_eol {
        original
            .get(found.section.start..found.header_end)
            .filter(|header| header.ends_with("\r\n"))
            .map_or("\n", |_| "\r\n")
    } else {
        dominant_line_ending(original)
    };
    let head = original.get(..found.header_end).unwrap_or(original);
    let old_body = original
        .get(found.header_end..found.section.end)
        .unwrap_or_default();
    let tail = original.get(found.section.end..).unwrap_or_default();

    let matches = |key: &str, wanted: &str| key.eq_ignore_ascii_case(wanted);
    let mut written = vec![false; set.len()];
    let mut body = String::with_capacity(old_body.len() + 64);
    let mut in_dropped_property = false;
    for line in lines(old_body) {
        let raw = old_body.get(line.start..line.end).unwrap_or_default();
        let continuation = line.content.starts_with(WHITESPACE) && !is_blank(line.content);
        if continuation && in_dropped_property {
            continue;
        }
        in_dropped_property = false;
        let Some(key) = property_key(line.content) else {
            body.push_str(raw);
            continue;
        };
        if let Some(index) = set.iter().position(|(wanted, _)| matches(&key, wanted)) {
            in_dropped_property = true;
            if !written[index] {
                written[index] = true;
                let (name, value) = set[index];
                body.push_str(name);
                body.push_str(" = ");
                body.push_str(value);
                body.push_str(raw.get(line.content.len()..).unwrap_or_default());
            }
            continue;
        }
        if remove.iter().any(|wanted| matches(&key, wanted)) {
            in_dropped_property = true;
            continue;
        }
        body.push_str(raw);
    }
    let mut head = head.to_owned();
    for ((name, value), done) in set.iter().zip(&written) {
        if *done {
            continue;
        }
        let ends_line = if body.is_empty() {
            head.ends_with('\n')
        } else {
            body.ends_with('\n')
        };
        if !ends_line {
            if body.is_empty() {
                head.push_str(eol);
            } else {
                body.push_str(eol);
            }
        }
        body.push_str(name);
        body.push_str(" = ");
        body.push_str(value);
        body.push_str(eol);
    }
    let removed_section = set.is_empty() && lines(&body).all(|line| is_blank(line.content));
    let text = if removed_section {
        let before = original.get(..found.section.start).unwrap_or_default();
        format!("{before}{tail}")
    } else {
        format!("{head}{body}{tail}")
    };
    Ok(Edited {
        changed: text != original,
        text,
        removed_section,
        duplicates: found.duplicates,
    })
}

/// The `key = value` lines of the section `header_name` (keys lower-cased, both trimmed), as
/// the SDK reads them; `None` when no header names it. Values may be secrets.
pub fn section_entries(
    text: &str,
    header_name: &str,
    style: HeaderStyle,
) -> Option<Vec<(String, String)>> {
    let found = locate(text, header_name, style)?;
    let body = text
        .get(found.header_end..found.section.end)
        .unwrap_or_default();
    Some(
        lines(body)
            .filter_map(|line| {
                let key = property_key(line.content)?;
                let (_, value) = line.content.split_once('=')?;
                Some((key, value.trim_matches(WHITESPACE).to_string()))
            })
            .collect(),
    )
}

/// Removes the section `header_name` (see the module docs); `Ok(None)` when no header names it.
/// The returned text holds the file's values: do not log it.
///
/// # Errors
/// A byte-order mark, or an indented header around the section.
pub fn remove_section(
    original: &str,
    header_name: &str,
    style: HeaderStyle,
) -> Result<Option<String>, WriteError> {
    if original.starts_with('\u{feff}') {
        return Err(WriteError::ByteOrderMark { path: None });
    }
    let Some(found) = locate(original, header_name, style) else {
        return Ok(None);
    };
    if found.header_indented {
        return Err(WriteError::IndentedHeader {
            path: None,
            line: found.header_line,
        });
    }
    if let Some(line) = found.indented_next_header {
        return Err(WriteError::IndentedHeader { path: None, line });
    }
    let tail = original.get(found.section.end..).unwrap_or_default();
    let blank_run: usize = lines(tail)
        .take_while(|line| line.has_eol && is_blank(line.content))
        .map(|line| line.end - line.start)
        .sum();
    let mut text = String::with_capacity(original.len());
    text.push_str(original.get(..found.section.start).unwrap_or_default());
    text.push_str(tail.get(blank_run..).unwrap_or_default());
    Ok(Some(text))
}

// ---------------------------------------------------------------------------------------------
// Files

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

/// Writes one profile section into `req.path`: locked, atomic, format-preserving. See the module
/// docs.
///
/// # Errors
/// Everything [`upsert_section`] refuses, plus [`WriteError::LongTermKeys`] without `force`,
/// [`WriteError::LockTimeout`], [`WriteError::NotUtf8`], and file system failures. On any error
/// before the final rename the original file is unchanged.
pub fn write_profile(req: &WriteRequest<'_>) -> Result<WriteOutcome, WriteError> {
    validate_profile_name(req.profile)?;
    validate_entries(req.profile, req.entries)?;
    let file = Locked::open(osfs::resolve_symlinks(req.path)?, req.lock_timeout)?;
    let upserted = upsert_section(&file.text, req.profile, req.style, req.entries)
        .map_err(|e| e.in_file(&file.target))?;
    if upserted.previous_was_long_term && !req.force {
        return Err(WriteError::LongTermKeys {
            path: file.target,
            profile: req.profile.to_owned(),
        });
    }
    let tightened = file.replace(&upserted.text, req.style.file_mode())?;
    Ok(WriteOutcome {
        created_file: file.existing.is_none(),
        replaced_existing: upserted.replaced,
        duplicate_sections: upserted.duplicates,
        tightened_mode: tightened,
    })
}

/// One [`edit_profile`] call: keys to set and keys to remove in one section.
#[derive(Clone, Copy)]
pub struct EditRequest<'a> {
    pub path: &'a Path,
    pub profile: &'a str,
    pub style: HeaderStyle,
    /// `(key, value)` pairs; values may be secrets.
    pub set: &'a [(&'a str, &'a str)],
    pub remove: &'a [&'a str],
    pub lock_timeout: Duration,
}

/// Shows keys only: values may be secrets.
impl fmt::Debug for EditRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&str> = self.set.iter().map(|(key, _)| *key).collect();
        f.debug_struct("EditRequest")
            .field("path", &self.path)
            .field("profile", &self.profile)
            .field("style", &self.style)
            .field("set", &keys)
            .field("remove", &self.remove)
            .field("lock_timeout", &self.lock_timeout)
            .finish()
    }
}

/// What [`edit_profile`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EditOutcome {
    /// The file was written (it had something to change).
    pub changed: bool,
    pub created_file: bool,
    pub removed_section: bool,
    pub duplicate_sections: usize,
}

/// [`edit_section`] on a file, with the promises of [`write_profile`]: locked, atomic, mode and
/// symlinks kept, parent directory created `0700`. A missing file is created only when there is
/// something to set; a file that would not change is not rewritten.
///
/// # Errors
/// Everything [`edit_section`] refuses, plus lock, UTF-8 and file system failures; on any error
/// the original file is unchanged.
pub fn edit_profile(req: &EditRequest<'_>) -> Result<EditOutcome, WriteError> {
    validate_profile_name(req.profile)?;
    let target = osfs::resolve_symlinks(req.path)?;
    if osfs::existing_metadata(&target)?.is_none() && req.set.is_empty() {
        return Ok(EditOutcome {
            changed: false,
            created_file: false,
            removed_section: false,
            duplicate_sections: 0,
        });
    }
    let mut file = Locked::open(target, req.lock_timeout)?;
    // Both texts may hold keys: zeroed when they go, whatever happens.
    let original = zeroize::Zeroizing::new(std::mem::take(&mut file.text));
    let edited = edit_section(&original, req.profile, req.style, req.set, req.remove)
        .map_err(|e| e.in_file(&file.target))?;
    let text = zeroize::Zeroizing::new(edited.text);
    if edited.changed {
        file.replace(&text, req.style.file_mode())?;
    }
    Ok(EditOutcome {
        changed: edited.changed,
        created_file: file.existing.is_none() && edited.changed,
        removed_section: edited.removed_section,
        duplicate_sections: edited.duplicates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::os::fs::{IoAction, lock_path_for};
    use aws_config::profile::ProfileSet;
    use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
    use aws_types::os_shim_internal::{Env, Fs};
    use proptest::prelude::*;
    use std::fs::{self, File};
    use std::io;
    // Unix only: the permission-bit tests below.
    #[cfg(unix)]
    use std::os::unix::fs::PermissionsExt;
    use std::process::{Command, Stdio};
    use std::time::Instant;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYSECRETKEY";
    const SESSION: &[(&str, &str)] = &[
        ("aws_access_key_id", "ASIAEXAMPLE"),
        ("aws_secret_access_key", SECRET),
        ("aws_session_token", "FwoGZXIvYXdzE+token/with=base64=="),
    ];

    fn upsert(text: &str, name: &str, entries: &[(&str, &str)]) -> Upserted {
        upsert_section(text, name, HeaderStyle::Credentials, entries).expect("upsert succeeds")
    }

    // Unix only: Unix permission bits (os::fs tests the Windows access lists).
    #[cfg(unix)]
    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).expect("metadata").permissions().mode() & 0o7777
    }

    fn request<'a>(
        path: &'a Path,
        profile: &'a str,
        entries: &'a [(&'a str, &'a str)],
    ) -> WriteRequest<'a> {
        WriteRequest {
            lock_timeout: Duration::from_secs(30),
            ..WriteRequest::new(path, profile, entries)
        }
    }

    /// Parses a file with the AWS SDK for Rust's own profile parser.
    fn sdk_load(path: &Path, kind: EnvConfigFileKind) -> ProfileSet {
        let files = EnvConfigFiles::builder().with_file(kind, path).build();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("tokio runtime");
        runtime
            .block_on(aws_config::profile::load(
                &Fs::real(),
                &Env::from_slice(&[]),
                &files,
                None,
            ))
            .expect("the SDK parses the written file")
    }

    fn assert_sdk_profile(set: &ProfileSet, name: &str, entries: &[(&str, &str)]) {
        let profile = set
            .get_profile(name)
            .unwrap_or_else(|| panic!("SDK sees profile {name}"));
        for (key, value) in entries {
            assert_eq!(profile.get(key), Some(*value), "profile {name} key {key}");
        }
    }

    // ---- text: editing some keys of a section ---------------------------------------------------

    fn edit(text: &str, name: &str, set: &[(&str, &str)], remove: &[&str]) -> Edited {
        edit_section(text, name, HeaderStyle::Credentials, set, remove).expect("edit succeeds")
    }

    #[test]
    fn edit_removes_keys_and_their_continuations_and_keeps_the_rest() {
        let before = "# c\n[a]\nx = 1\n\n[p]  # mine\nregion = r\nAWS_ACCESS_KEY_ID = K\naws_secret_access_key = S\n  continued\n; inner\nout = json\n# c2\n\n[q]\ny = 2\n";
        let edited = edit(
            before,
            "p",
            &[],
            &["aws_access_key_id", "aws_secret_access_key"],
        );
        assert_eq!(
            edited.text,
            "# c\n[a]\nx = 1\n\n[p]  # mine\nregion = r\n; inner\nout = json\n# c2\n\n[q]\ny = 2\n"
        );
        assert!(edited.changed && !edited.removed_section);
    }

    #[test]
    fn edit_removes_a_section_left_empty() {
        let before = "[a]\nx = 1\n\n[p]\naws_access_key_id = K\naws_secret_access_key = S\n\n# about q\n[q]\ny = 2\n";
        let edited = edit(
            before,
            "p",
            &[],
            &["aws_access_key_id", "aws_secret_access_key"],
        );
        assert_eq!(edited.text, "[a]\nx = 1\n\n\n# about q\n[q]\ny = 2\n");
        assert!(edited.removed_section);
        let last = "[a]\nx = 1\n[p]\naws_access_key_id = K";
        assert_eq!(
            edit(last, "p", &[], &["aws_access_key_id"]).text,
            "[a]\nx = 1\n"
        );
    }

    #[test]
    fn edit_sets_in_place_or_appends_keeping_line_endings() {
        let crlf = "[profile p]\r\nregion = r\r\ncredential_process = old\r\noutput = json\r\n";
        let edited = edit_section(
            crlf,
            "p",
            HeaderStyle::Config,
            &[("credential_process", "aws-cred keys process --profile p")],
            &[],
        )
        .unwrap();
        assert_eq!(
            edited.text,
            "[profile p]\r\nregion = r\r\ncredential_process = aws-cred keys process --profile p\r\noutput = json\r\n"
        );
        let no_final_newline = "[profile p]\nregion = r";
        let edited = edit_section(
            no_final_newline,
            "p",
            HeaderStyle::Config,
            &[("credential_process", "c")],
            &[],
        )
        .unwrap();
        assert_eq!(
            edited.text,
            "[profile p]\nregion = r\ncredential_process = c\n"
        );
        let header_only = "[a]\nx = 1\n[profile p]";
        let edited =
            edit_section(header_only, "p", HeaderStyle::Config, &[("k", "v")], &[]).unwrap();
        assert_eq!(edited.text, "[a]\nx = 1\n[profile p]\nk = v\n");
    }

    #[test]
    fn edit_of_a_missing_section_appends_or_does_nothing() {
        let before = "[a]\nx = 1\n";
        let edited = edit(before, "p", &[], &["aws_access_key_id"]);
        assert_eq!(edited.text, before);
        assert!(!edited.changed);
        let edited = edit(before, "p", &[("k", "v")], &[]);
        assert_eq!(edited.text, "[a]\nx = 1\n\n[p]\nk = v\n");
        assert!(
            edit_section(before, "p", HeaderStyle::Credentials, &[("k", "a\nb")], &[]).is_err()
        );
        assert!(edit_section(" [p]\nk = v\n", "p", HeaderStyle::Credentials, &[], &["k"]).is_err());
    }

    // Unix only: Unix permission bits (os::fs tests the Windows access lists).
    #[cfg(unix)]
    #[test]
    fn edit_profile_on_disk_tightens_mode_and_does_not_create_files_to_remove_from() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        let remove = ["aws_access_key_id"];
        let req = EditRequest {
            path: &path,
            profile: "p",
            style: HeaderStyle::Credentials,
            set: &[],
            remove: &remove,
            lock_timeout: Duration::from_secs(30),
        };
        assert!(!edit_profile(&req).unwrap().changed);
        assert!(!path.exists());
        fs::write(&path, "[p]\naws_access_key_id = K\nregion = r\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let outcome = edit_profile(&req).unwrap();
        assert!(outcome.changed && !outcome.removed_section);
        assert_eq!(fs::read_to_string(&path).unwrap(), "[p]\nregion = r\n");
        // Every rewrite of a file that holds (or held) secrets leaves it owner-only.
        assert_eq!(mode_of(&path), 0o600);
    }

    // ---- text: byte preservation -------------------------------------------------------------

    #[test]
    fn replace_keeps_every_byte_outside_the_section() {
        let before = "# top comment\n; semicolon comment\n\n[default]   \nregion = eu-west-1  \n\n";
        let after = "# about staging\n[staging]\naws_access_key_id = AKIA1\n\t\n; end\n";
        let original = format!("{before}[prod]\nold = 1\n# inner\nolder = 2\n\n{after}");
        let out = upsert(&original, "prod", &[("k1", "v1"), ("k2", "v2")]);
        assert_eq!(
            out.text,
            format!("{before}[prod]\nk1 = v1\nk2 = v2\n\n{after}")
        );
        assert!(out.replaced);
        assert_eq!(out.duplicates, 0);
    }

    #[test]
    fn crlf_file_stays_crlf_on_replace() {
        let original = "# c\r\n[a]\r\nx = 1\r\n\r\n[prod]\r\nold = 1\r\n\r\n[z]\r\ny = 2\r\n";
        let out = upsert(original, "prod", &[("k", "v")]);
        assert_eq!(
            out.text,
            "# c\r\n[a]\r\nx = 1\r\n\r\n[prod]\r\nk = v\r\n\r\n[z]\r\ny = 2\r\n"
        );
    }

    #[test]
    fn crlf_file_stays_crlf_on_append() {
        let original = "[a]\r\nx = 1\r\n";
        let out = upsert(original, "new", &[("k", "v")]);
        assert_eq!(out.text, "[a]\r\nx = 1\r\n\r\n[new]\r\nk = v\r\n");
        assert!(!out.replaced);
    }

    #[test]
    fn mixed_line_endings_use_the_dominant_one() {
        let original = "[a]\r\nx = 1\r\ny = 2\n";
        assert!(
            upsert(original, "b", &[("k", "v")])
                .text
                .ends_with("\r\n[b]\r\nk = v\r\n")
        );
        let original = "[a]\nx = 1\ny = 2\r\n";
        assert!(
            upsert(original, "b", &[("k", "v")])
                .text
                .ends_with("\n\n[b]\nk = v\n")
        );
    }

    #[test]
    fn append_to_file_without_final_newline() {
        let original = "[a]\nx = 1   ";
        let out = upsert(original, "b", &[("k", "v")]);
        assert_eq!(out.text, "[a]\nx = 1   \n\n[b]\nk = v\n");
    }

    #[test]
    fn append_after_trailing_blank_line_adds_no_second_blank() {
        let out = upsert("[a]\nx = 1\n\n", "b", &[("k", "v")]);
        assert_eq!(out.text, "[a]\nx = 1\n\n[b]\nk = v\n");
    }

    #[test]
    fn replace_last_section_without_final_newline() {
        let out = upsert("[a]\nx = 1\n\n[prod]\nold = 1", "prod", &[("k", "v")]);
        assert_eq!(out.text, "[a]\nx = 1\n\n[prod]\nk = v\n");
        let out = upsert("[a]\nx = 1\n[prod]", "prod", &[("k", "v")]);
        assert_eq!(out.text, "[a]\nx = 1\n[prod]\nk = v\n");
    }

    #[test]
    fn trailing_comment_without_newline_is_kept() {
        let out = upsert("[prod]\nold = 1\n# last words", "prod", &[("k", "v")]);
        assert_eq!(out.text, "[prod]\nk = v\n# last words");
    }

    #[test]
    fn append_to_empty_text() {
        let out = upsert("", "prod", &[("a", "1"), ("b", "2")]);
        // A new file takes this system's line ending (CRLF on Windows, as the AWS CLI writes).
        let n = crate::os::fs::NATIVE_LINE_ENDING;
        assert_eq!(out.text, format!("[prod]{n}a = 1{n}b = 2{n}"));
        assert!(!out.replaced);
    }

    #[test]
    fn keys_are_written_in_the_given_order() {
        let entries = [("zeta", "1"), ("alpha", "2"), ("mid", "3")];
        let out = upsert("", "p", &entries);
        let n = crate::os::fs::NATIVE_LINE_ENDING;
        assert_eq!(out.text, format!("[p]{n}zeta = 1{n}alpha = 2{n}mid = 3{n}"));
    }

    // ---- text: section matching ---------------------------------------------------------------

    #[test]
    fn header_with_inner_spaces_and_comment_is_replaced_in_place() {
        let original = "[a]\nx = 1\n  \t[ prod ]   # main account\nold = 1\n[b]\ny = 2\n";
        // Indented headers are refused; the same header unindented is matched and kept as is.
        assert!(matches!(
            upsert_section(original, "prod", HeaderStyle::Credentials, &[("k", "v")]),
            Err(WriteError::IndentedHeader { line: 3, .. })
        ));
        let original = "[a]\nx = 1\n[ prod ]   # main account\nold = 1\n[b]\ny = 2\n";
        let out = upsert(original, "prod", &[("k", "v")]);
        assert_eq!(
            out.text,
            "[a]\nx = 1\n[ prod ]   # main account\nk = v\n[b]\ny = 2\n"
        );
        let out = upsert("[\tprod\t];c\nold = 1\n", "prod", &[("k", "v")]);
        assert_eq!(out.text, "[\tprod\t];c\nk = v\n");
    }

    #[test]
    fn indented_next_header_is_refused() {
        let original = "[prod]\nold = 1\n  [b]\ny = 2\n";
        let err = upsert_section(original, "prod", HeaderStyle::Credentials, &[("k", "v")])
            .expect_err("refused");
        assert!(
            matches!(err, WriteError::IndentedHeader { line: 3, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("line 3"));
    }

    #[test]
    fn writing_twice_never_duplicates() {
        let first = upsert("[a]\nx = 1\n", "prod", &[("k", "v1")]);
        let second = upsert(&first.text, "prod", &[("k", "v2")]);
        assert!(second.replaced);
        assert_eq!(second.text, "[a]\nx = 1\n\n[prod]\nk = v2\n");
        assert_eq!(second.text.matches("[prod]").count(), 1);
        let third = upsert(&second.text, "prod", &[("k", "v2")]);
        assert_eq!(third.text, second.text);
    }

    #[test]
    fn comments_before_next_header_belong_to_next_section() {
        let original = "[prod]\nold = 1\n; old note\n\n# staging account\n[staging]\ny = 2\n";
        let out = upsert(original, "prod", &[("k", "v")]);
        assert_eq!(
            out.text,
            "[prod]\nk = v\n; old note\n\n# staging account\n[staging]\ny = 2\n"
        );
        // An indented comment is a continuation line for the SDK, so it goes with the old body.
        let out = upsert("[prod]\nold = 1\n  # more\n[s]\n", "prod", &[("k", "v")]);
        assert_eq!(out.text, "[prod]\nk = v\n[s]\n");
    }

    #[test]
    fn duplicates_first_is_replaced_rest_untouched_and_counted() {
        let original = "[prod]\nold = 1\n[x]\n[prod]\nold = 2\n[ prod ]\nold = 3\n";
        let out = upsert(original, "prod", &[("k", "v")]);
        assert_eq!(
            out.text,
            "[prod]\nk = v\n[x]\n[prod]\nold = 2\n[ prod ]\nold = 3\n"
        );
        assert_eq!(out.duplicates, 2);
    }

    #[test]
    fn names_are_matched_exactly() {
        let original = "[prod-eu]\na = 1\n[PROD]\nb = 2\n[profile prod]\nc = 3\n[prod\nd = 4\n";
        assert_eq!(
            find_section(original, "prod", HeaderStyle::Credentials),
            None
        );
        let out = upsert(original, "prod", &[("k", "v")]);
        assert!(!out.replaced);
        assert!(out.text.starts_with(original));
    }

    #[test]
    fn malformed_header_ends_the_section_but_never_matches() {
        let original = "[prod]\nold = 1\n[broken\nkeep = me\n";
        let out = upsert(original, "prod", &[("k", "v")]);
        assert_eq!(out.text, "[prod]\nk = v\n[broken\nkeep = me\n");
    }

    #[test]
    fn config_style_headers() {
        let original = "[default]\nregion = a\n[prod]\nx = 1\n[profile prod]\ny = 2\n";
        let range = find_section(original, "prod", HeaderStyle::Config).expect("found");
        assert_eq!(&original[range], "[profile prod]\ny = 2\n");
        let range = find_section(original, "prod", HeaderStyle::Credentials).expect("found");
        assert_eq!(&original[range], "[prod]\nx = 1\n");

        let out = upsert_section(original, "prod", HeaderStyle::Config, &[("k", "v")]).expect("ok");
        assert_eq!(
            out.text,
            "[default]\nregion = a\n[prod]\nx = 1\n[profile prod]\nk = v\n"
        );
        let n = crate::os::fs::NATIVE_LINE_ENDING;
        let out = upsert_section("", "dev", HeaderStyle::Config, &[("k", "v")]).expect("ok");
        assert_eq!(out.text, format!("[profile dev]{n}k = v{n}"));
        let out = upsert_section("", "default", HeaderStyle::Config, &[("k", "v")]).expect("ok");
        assert_eq!(out.text, format!("[default]{n}k = v{n}"));
        let out =
            upsert_section(original, "default", HeaderStyle::Config, &[("k", "v")]).expect("ok");
        assert!(out.replaced);
        assert!(out.text.starts_with("[default]\nk = v\n[prod]"));
    }

    #[test]
    fn config_style_prefers_profile_default() {
        let original = "[default]\na = 1\n[profile   default]\nb = 2\n";
        let out =
            upsert_section(original, "default", HeaderStyle::Config, &[("k", "v")]).expect("ok");
        assert_eq!(out.text, "[default]\na = 1\n[profile   default]\nk = v\n");
        assert_eq!(out.duplicates, 1);
    }

    #[test]
    fn find_section_ranges() {
        let text = "[a]\nx = 1\n\n# about b\n[b]\ny = 2\n; tail\n";
        assert_eq!(
            find_section(text, "a", HeaderStyle::Credentials),
            Some(0..10)
        );
        assert_eq!(
            &text[find_section(text, "b", HeaderStyle::Credentials).expect("b")],
            "[b]\ny = 2\n"
        );
        assert_eq!(find_section(text, "c", HeaderStyle::Credentials), None);
        assert_eq!(
            find_section("[e]\n# only a comment\n", "e", HeaderStyle::Credentials),
            Some(0..4)
        );
        assert_eq!(
            find_section("\u{e9}[\u{e9}]", "x", HeaderStyle::Credentials),
            None
        );
    }

    // ---- text: long-term keys -----------------------------------------------------------------

    #[test]
    fn long_term_keys_are_detected() {
        let entries = [("k", "v")];
        let long_term = "[p]\naws_access_key_id = AKIA\naws_secret_access_key = s\n";
        assert!(upsert(long_term, "p", &entries).previous_was_long_term);
        let shouting = "[p]\n  AWS_Access_Key_ID\t= AKIA\n";
        // Indented: a continuation line, not a key, for the SDK.
        assert!(!upsert(shouting, "p", &entries).previous_was_long_term);
        let shouting = "[p]\nAWS_ACCESS_KEY_ID\t=AKIA\n";
        assert!(upsert(shouting, "p", &entries).previous_was_long_term);
        let session = "[p]\naws_access_key_id = ASIA\naws_session_token = t\n";
        assert!(!upsert(session, "p", &entries).previous_was_long_term);
        let legacy = "[p]\naws_access_key_id = ASIA\n Aws_Security_Token = t\n";
        assert!(upsert(legacy, "p", &entries).previous_was_long_term);
        let legacy = "[p]\naws_access_key_id = ASIA\nAws_Security_Token = t\n";
        assert!(!upsert(legacy, "p", &entries).previous_was_long_term);
        let commented = "[p]\n# aws_access_key_id = AKIA\nregion = x\n";
        assert!(!upsert(commented, "p", &entries).previous_was_long_term);
        let elsewhere = "[p]\nregion = x\n[q]\naws_access_key_id = AKIA\n";
        assert!(!upsert(elsewhere, "p", &entries).previous_was_long_term);
    }

    // ---- validation ---------------------------------------------------------------------------

    #[test]
    fn invalid_profile_names_are_refused() {
        for name in [
            "",
            " prod",
            "prod ",
            "a b",
            "a\tb",
            "[a",
            "a]",
            "a#b",
            "a;b",
            "a\rb",
            "a\nb",
            "a=b",
            "caf\u{e9}",
            "a\u{a0}b",
            "profile a",
        ] {
            let err = validate_profile_name(name).expect_err(name);
            assert!(
                matches!(err, WriteError::InvalidProfileName { .. }),
                "{name:?}"
            );
            assert!(upsert_section("", name, HeaderStyle::Credentials, &[("k", "v")]).is_err());
        }
        for name in ["default", "prod", "a:b/c%d.e@f+g_h-i", "123", "profile"] {
            validate_profile_name(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn invalid_keys_are_refused() {
        for key in ["", " k", "k ", "a b", "a=b", "a:b", "a#b", "a[b", "k\n"] {
            let result = upsert_section("", "p", HeaderStyle::Credentials, &[(key, "v")]);
            assert!(
                matches!(result, Err(WriteError::InvalidKey { .. })),
                "{key:?}"
            );
        }
        let result = upsert_section("", "p", HeaderStyle::Credentials, &[("k", "1"), ("K", "2")]);
        assert!(matches!(result, Err(WriteError::InvalidKey { .. })));
        let result = upsert_section("", "p", HeaderStyle::Credentials, &[]);
        assert!(matches!(result, Err(WriteError::NoEntries { .. })));
    }

    #[test]
    fn invalid_values_are_refused_without_showing_them() {
        // `S` stands for a secret that must never show up in the error.
        for template in [
            "",
            " S",
            "S ",
            "\tS",
            "S\rb",
            "S\nb",
            "S\r\nb",
            "S\tb",
            "#S",
            ";S",
            "S #b",
            "S ;b",
            "S\u{a0}#b",
            "S\u{a0}",
            "\u{2003}S",
            "S\0",
        ] {
            let secret_value = template.replace('S', SECRET);
            let value = secret_value.as_str();
            let result = upsert_section("", "p", HeaderStyle::Credentials, &[("key", value)]);
            let Err(err) = result else {
                panic!("value {value:?} was accepted");
            };
            assert!(
                matches!(err, WriteError::InvalidValue { .. }),
                "{value:?}: {err:?}"
            );
            assert!(!err.to_string().contains(SECRET));
            assert!(!format!("{err:?}").contains(SECRET));
        }
        for value in ["a#b", "a;b", "x=y==", "tok/en+", "a b", "\u{e9}t\u{e9}"] {
            upsert_section("", "p", HeaderStyle::Credentials, &[("key", value)])
                .unwrap_or_else(|e| panic!("{value:?}: {e}"));
        }
    }

    #[test]
    fn debug_output_redacts_values() {
        let request = WriteRequest::new(Path::new("/x"), "p", SESSION);
        let shown = format!("{request:?}");
        assert!(shown.contains("aws_secret_access_key"));
        assert!(!shown.contains(SECRET));
        let upserted = upsert("", "p", SESSION);
        assert!(upserted.text.contains(SECRET));
        assert!(!format!("{upserted:?}").contains(SECRET));
    }

    // ---- files --------------------------------------------------------------------------------

    // Unix only: Unix permission bits (os::fs tests the Windows access lists).
    #[cfg(unix)]
    #[test]
    fn creates_missing_file_0600_and_missing_dirs_0700() {
        let temp = tempfile::tempdir().expect("tempdir");
        let home = temp.path().join("home");
        fs::create_dir(&home).expect("mkdir");
        fs::set_permissions(&home, fs::Permissions::from_mode(0o751)).expect("chmod");
        let path = home.join(".aws").join("nested").join("credentials");
        let outcome = write_profile(&request(&path, "p", SESSION)).expect("written");
        assert_eq!(
            outcome,
            WriteOutcome {
                created_file: true,
                replaced_existing: false,
                duplicate_sections: 0,
                tightened_mode: None,
            }
        );
        assert_eq!(mode_of(&path), 0o600);
        assert_eq!(mode_of(&home.join(".aws")), 0o700);
        assert_eq!(mode_of(&home.join(".aws/nested")), 0o700);
        assert_eq!(
            mode_of(&home),
            0o751,
            "existing directories are not touched"
        );
        assert!(
            !lock_path_for(&path).exists(),
            "the lock is removed when released"
        );
        let held = osfs::acquire_lock(&lock_path_for(&path), Duration::from_secs(1)).expect("lock");
        assert_eq!(mode_of(&lock_path_for(&path)), 0o600, "while it is held");
        drop(held);
        assert_sdk_profile(
            &sdk_load(&path, EnvConfigFileKind::Credentials),
            "p",
            SESSION,
        );
        let mut names: Vec<String> = fs::read_dir(home.join(".aws/nested"))
            .expect("read_dir")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        assert_eq!(names, ["credentials"], "no temporary or lock files left");
    }

    // Unix only: Unix permission bits (os::fs tests the Windows access lists).
    #[cfg(unix)]
    #[test]
    fn loose_mode_is_tightened_and_reported() {
        // Was `existing_mode_is_preserved` (0640 kept): a file holding secrets is now made 0600.
        let temp = tempfile::tempdir().expect("tempdir");
        let path = temp.path().join("credentials");
        fs::write(&path, "[a]\nx = 1\n").expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).expect("chmod");
        let outcome = write_profile(&request(&path, "p", &[("k", "v")])).expect("written");
        assert!(!outcome.created_file);
        assert_eq!(mode_of(&path), 0o600);
        assert_eq!(
            outcome.tightened_mode,
            Some(osfs::Tightened {
                from: 0o640,
                to: 0o600
            })
        );
        let again = write_profile(&request(&path, "p", &[("k", "v")])).expect("written");
        assert_eq!(again.tightened_mode, None, "said once");
        assert_eq!(
            fs::read_to_string(&path).expect("read"),
            "[a]\nx = 1\n\n[p]\nk = v\n"
        );
    }

    #[test]
    fn replacing_preserves_bytes_on_disk() {
        let temp = tempfile::tempdir().expect("tempdir");
        let path = temp.path().join("credentials");
        let original = "; hand written\r\n[a]\r\nx = 1 \r\n\r\n[p]\r\nold = 1\r\n\r\n[b]\r\ny = 2";
        fs::write(&path, original).expect("write");
        let outcome = write_profile(&request(&path, "p", &[("k", "v")])).expect("written");
        assert!(outcome.replaced_existing);
        assert_eq!(
            fs::read(&path).expect("read"),
            b"; hand written\r\n[a]\r\nx = 1 \r\n\r\n[p]\r\nk = v\r\n\r\n[b]\r\ny = 2"
        );
    }

    // Unix only: making a symbolic link on Windows needs a privilege or developer mode.
    #[cfg(unix)]
    #[test]
    fn symlink_survives_and_target_is_updated() {
        let temp = tempfile::tempdir().expect("tempdir");
        let real_dir = temp.path().join("vault");
        fs::create_dir(&real_dir).expect("mkdir");
        let real = real_dir.join("creds");
        fs::write(&real, "[a]\nx = 1\n").expect("write");
        fs::set_permissions(&real, fs::Permissions::from_mode(0o600)).expect("chmod");
        let aws = temp.path().join(".aws");
        fs::create_dir(&aws).expect("mkdir");
        let link = aws.join("credentials");
        std::os::unix::fs::symlink("../vault/creds", &link).expect("symlink");

        write_profile(&request(&link, "p", &[("k", "v")])).expect("written");
        assert!(
            fs::symlink_metadata(&link)
                .expect("lstat")
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            fs::read_link(&link).expect("readlink"),
            Path::new("../vault/creds")
        );
        assert_eq!(
            fs::read_to_string(&real).expect("read"),
            "[a]\nx = 1\n\n[p]\nk = v\n"
        );
        assert!(
            !real_dir.join("creds.lock").exists() && !aws.join("credentials.lock").exists(),
            "the lock is removed when released"
        );
        // The lock sits next to the real file: held there, it makes the writer wait.
        let held =
            osfs::acquire_lock(&real_dir.join("creds.lock"), Duration::from_secs(1)).expect("lock");
        let err = write_profile(&WriteRequest {
            lock_timeout: Duration::from_millis(50),
            ..request(&link, "p", &[("k", "w")])
        })
        .expect_err("waits for the lock next to the real file");
        assert!(err.to_string().contains("creds.lock"), "{err}");
        drop(held);

        // A dangling link gets its target created.
        let dangling = aws.join("config");
        std::os::unix::fs::symlink("../vault/config", &dangling).expect("symlink");
        let outcome = write_profile(&request(&dangling, "p", &[("k", "v")])).expect("written");
        assert!(outcome.created_file);
        assert!(
            fs::symlink_metadata(&dangling)
                .expect("lstat")
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            fs::read_to_string(real_dir.join("config")).expect("read"),
            "[p]\nk = v\n"
        );
    }

    // Unix only: making a symbolic link on Windows needs a privilege or developer mode.
    #[cfg(unix)]
    #[test]
    fn symlink_loop_is_an_error() {
        let temp = tempfile::tempdir().expect("tempdir");
        let a = temp.path().join("a");
        let b = temp.path().join("b");
        std::os::unix::fs::symlink(&b, &a).expect("symlink");
        std::os::unix::fs::symlink(&a, &b).expect("symlink");
        let err = write_profile(&request(&a, "p", &[("k", "v")])).expect_err("loop");
        assert!(
            matches!(
                err,
                WriteError::Fs(FsError::SymlinkLoop { .. }) | WriteError::Fs(FsError::Io { .. })
            ),
            "{err:?}"
        );
    }

    #[test]
    fn long_term_keys_need_force() {
        let temp = tempfile::tempdir().expect("tempdir");
        let path = temp.path().join("credentials");
        let original =
            format!("[prod]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = {SECRET}\n");
        fs::write(&path, &original).expect("write");

        let err = write_profile(&request(&path, "prod", SESSION)).expect_err("guarded");
        assert!(matches!(err, WriteError::LongTermKeys { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(
            message.contains("[prod]") && message.contains("--force"),
            "{message}"
        );
        assert!(!message.contains(SECRET) && !format!("{err:?}").contains(SECRET));
        assert_eq!(
            fs::read_to_string(&path).expect("read"),
            original,
            "file untouched"
        );

        let forced = WriteRequest {
            force: true,
            ..request(&path, "prod", SESSION)
        };
        let outcome = write_profile(&forced).expect("forced write");
        assert!(outcome.replaced_existing);
        assert_sdk_profile(
            &sdk_load(&path, EnvConfigFileKind::Credentials),
            "prod",
            SESSION,
        );

        // Session credentials are not guarded.
        write_profile(&request(
            &path,
            "prod",
            &[("aws_access_key_id", "ASIA2"), ("aws_session_token", "t")],
        ))
        .expect("session credentials overwritten without force");
    }

    #[test]
    fn non_utf8_file_is_refused_and_untouched() {
        let temp = tempfile::tempdir().expect("tempdir");
        let path = temp.path().join("credentials");
        let original: &[u8] = b"[a]\nx = 1\n# caf\xe9\n";
        fs::write(&path, original).expect("write");
        let err = write_profile(&request(&path, "p", &[("k", "v")])).expect_err("refused");
        assert!(
            matches!(err, WriteError::NotUtf8 { line: 3, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("UTF-8"));
        assert_eq!(fs::read(&path).expect("read"), original);
    }

    #[test]
    fn byte_order_mark_is_refused() {
        let result = upsert_section(
            "\u{feff}[p]\nx = 1\n",
            "p",
            HeaderStyle::Credentials,
            &[("k", "v")],
        );
        assert!(matches!(
            result,
            Err(WriteError::ByteOrderMark { path: None })
        ));
    }

    #[test]
    fn indented_header_error_names_the_file() {
        let temp = tempfile::tempdir().expect("tempdir");
        let path = temp.path().join("credentials");
        fs::write(&path, "[p]\nx = 1\n [q]\n").expect("write");
        let err = write_profile(&request(&path, "p", &[("k", "v")])).expect_err("refused");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        assert_eq!(
            fs::read_to_string(&path).expect("read"),
            "[p]\nx = 1\n [q]\n"
        );
    }

    #[test]
    fn target_that_is_not_a_file_is_refused() {
        let temp = tempfile::tempdir().expect("tempdir");
        let err = write_profile(&request(temp.path(), "p", &[("k", "v")])).expect_err("dir");
        assert!(
            matches!(err, WriteError::Fs(FsError::NotAFile { .. })),
            "{err:?}"
        );
        let file = temp.path().join("plain");
        fs::write(&file, "").expect("write");
        let err = write_profile(&request(&file.join("credentials"), "p", &[("k", "v")]))
            .expect_err("parent is a file");
        assert!(
            matches!(err, WriteError::Fs(FsError::NotADirectory { .. })),
            "{err:?}"
        );
    }

    // Unix only: Unix permission bits (os::fs tests the Windows access lists).
    #[cfg(unix)]
    #[test]
    fn permission_denied_names_the_path() {
        let temp = tempfile::tempdir().expect("tempdir");
        let dir = temp.path().join("locked");
        fs::create_dir(&dir).expect("mkdir");
        let path = dir.join("credentials");
        fs::write(&path, "[a]\nx = 1\n").expect("write");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o500)).expect("chmod");
        if File::create(dir.join("probe")).is_ok() {
            // Running as root: permissions are not enforced, nothing to test.
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).expect("chmod");
            return;
        }
        let err = write_profile(&request(&path, "p", &[("k", "v")])).expect_err("denied");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).expect("chmod");
        assert!(
            matches!(err, WriteError::Fs(FsError::PermissionDenied { .. })),
            "{err:?}"
        );
        assert!(
            err.to_string().contains(&dir.display().to_string()),
            "{err}"
        );
        assert_eq!(fs::read_to_string(&path).expect("read"), "[a]\nx = 1\n");
    }

    #[test]
    fn io_errors_are_classified() {
        let full = FsError::io(
            IoAction::WriteTemp,
            Path::new("/h/.aws/credentials"),
            io::Error::from(io::ErrorKind::StorageFull),
        );
        assert!(matches!(full, FsError::DiskFull { .. }));
        let message = full.to_string();
        assert!(message.contains("/h/.aws/credentials") && message.contains("left unchanged"));
        let denied = FsError::io(
            IoAction::Replace,
            Path::new("/h/.aws/credentials"),
            io::Error::from(io::ErrorKind::PermissionDenied),
        );
        assert!(matches!(denied, FsError::PermissionDenied { .. }));
        assert!(denied.to_string().contains("/h/.aws/credentials"));
    }

    #[test]
    fn lock_wait_is_bounded_and_names_the_lock_file() {
        let temp = tempfile::tempdir().expect("tempdir");
        let path = temp.path().join("credentials");
        let holder = File::create(lock_path_for(&path)).expect("lock file");
        holder.lock().expect("hold the lock");
        let req = WriteRequest {
            lock_timeout: Duration::from_millis(300),
            ..WriteRequest::new(&path, "p", &[("k", "v")])
        };
        let started = Instant::now();
        let err = write_profile(&req).expect_err("times out");
        let waited = started.elapsed();
        assert!(
            matches!(err, WriteError::Fs(FsError::LockTimeout { .. })),
            "{err:?}"
        );
        assert!(err.to_string().contains("credentials.lock"), "{err}");
        assert!(
            waited >= Duration::from_millis(300) && waited < Duration::from_secs(5),
            "{waited:?}"
        );
        assert!(!path.exists(), "nothing written without the lock");
        // Closing the holder's handle frees the lock (on Windows an explicit unlock after another
        // handle's failed attempt is refused by wine).
        drop(holder);
        write_profile(&req).expect("written once the lock is free");
    }

    #[test]
    fn config_file_round_trips_through_the_sdk() {
        let temp = tempfile::tempdir().expect("tempdir");
        let path = temp.path().join("config");
        fs::write(
            &path,
            "[default]\nregion = eu-west-1\n\n[sso-session s]\nsso_region = us-east-1\n",
        )
        .expect("write");
        let entries = [("region", "us-west-2"), ("output", "json")];
        for name in ["dev", "default"] {
            let req = WriteRequest {
                style: HeaderStyle::Config,
                ..request(&path, name, &entries)
            };
            write_profile(&req).expect("written");
        }
        let set = sdk_load(&path, EnvConfigFileKind::Config);
        assert_sdk_profile(&set, "dev", &entries);
        assert_sdk_profile(&set, "default", &entries);
        assert!(set.sso_session("s").is_some());
    }

    // ---- concurrency --------------------------------------------------------------------------

    fn profile_entries(index: usize) -> Vec<(String, String)> {
        vec![
            ("aws_access_key_id".to_owned(), format!("ASIA{index:04}")),
            (
                "aws_secret_access_key".to_owned(),
                format!("secret/{index}+x="),
            ),
            ("aws_session_token".to_owned(), format!("token{index}")),
        ]
    }

    fn assert_all_profiles(path: &Path, count: usize) {
        let text = fs::read_to_string(path).expect("read");
        let set = sdk_load(path, EnvConfigFileKind::Credentials);
        for index in 0..count {
            let name = format!("writer-{index}");
            assert_eq!(
                text.matches(&format!("[{name}]\n")).count(),
                1,
                "{name} once"
            );
            let owned = profile_entries(index);
            let entries: Vec<(&str, &str)> = owned
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            assert_sdk_profile(&set, &name, &entries);
        }
        assert_sdk_profile(&set, "keep", &[("region", "eu-west-1")]);
    }

    fn write_numbered(path: &Path, index: usize) -> Result<WriteOutcome, WriteError> {
        let owned = profile_entries(index);
        let entries: Vec<(&str, &str)> = owned
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let name = format!("writer-{index}");
        write_profile(&request(path, &name, &entries))
    }

    #[test]
    fn twenty_threads_lose_nothing() {
        let temp = tempfile::tempdir().expect("tempdir");
        let path = temp.path().join("credentials");
        fs::write(&path, "# shared\n[keep]\nregion = eu-west-1\n").expect("write");
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..20)
                .map(|index| {
                    let path = &path;
                    scope.spawn(move || write_numbered(path, index))
                })
                .collect();
            for handle in handles {
                handle
                    .join()
                    .expect("thread finished")
                    .expect("write succeeded");
            }
        });
        assert_all_profiles(&path, 20);
        assert!(
            fs::read_to_string(&path)
                .expect("read")
                .starts_with("# shared\n[keep]\n")
        );
    }

    const CHILD_PATH_VAR: &str = "AWS_CRED_WRITER_TEST_CHILD_PATH";
    const CHILD_INDEX_VAR: &str = "AWS_CRED_WRITER_TEST_CHILD_INDEX";
    const CHILD_DONE: &str = "writer-child-done";

    /// Child side of `twenty_processes_lose_nothing`; without the variables it does nothing.
    #[test]
    #[allow(clippy::disallowed_methods)]
    fn child_process_writer() {
        let (Some(path), Some(index)) = (
            std::env::var_os(CHILD_PATH_VAR),
            std::env::var_os(CHILD_INDEX_VAR),
        ) else {
            return;
        };
        let index: usize = index.to_str().and_then(|s| s.parse().ok()).expect("index");
        write_numbered(Path::new(&path), index).expect("child write");
        println!("{CHILD_DONE}");
    }

    #[test]
    fn twenty_processes_lose_nothing() {
        let temp = tempfile::tempdir().expect("tempdir");
        let path = temp.path().join("credentials");
        fs::write(&path, "[keep]\nregion = eu-west-1\n").expect("write");
        let exe = std::env::current_exe().expect("test binary");
        let module = module_path!()
            .split_once("::")
            .map_or(module_path!(), |(_, rest)| rest);
        let test_name = format!("{module}::child_process_writer");
        let mut children: Vec<_> = (0..20)
            .map(|index| {
                Command::new(&exe)
                    .args(["--exact", &test_name, "--nocapture", "--test-threads=1"])
                    .env(CHILD_PATH_VAR, &path)
                    .env(CHILD_INDEX_VAR, index.to_string())
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn child")
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut pending: Vec<usize> = (0..children.len()).collect();
        while !pending.is_empty() {
            pending.retain(|&i| children[i].try_wait().expect("try_wait").is_none());
            if Instant::now() > deadline {
                for &i in &pending {
                    let _ = children[i].kill();
                }
                panic!("children {pending:?} did not finish within 60 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for child in children {
            let output = child.wait_with_output().expect("child output");
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success() && stdout.contains(CHILD_DONE),
                "child failed: {}\n{stdout}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        assert_all_profiles(&path, 20);
    }

    // ---- properties ---------------------------------------------------------------------------

    fn line_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("[p]".to_owned()),
            Just("[ p ]  # c".to_owned()),
            Just("[q]".to_owned()),
            Just("[profile p]".to_owned()),
            Just("[p".to_owned()),
            Just("".to_owned()),
            Just("   ".to_owned()),
            Just("# comment".to_owned()),
            Just("; other".to_owned()),
            Just("  continued".to_owned()),
            Just("aws_access_key_id = AKIA".to_owned()),
            Just("aws_session_token=t".to_owned()),
            "[a-z_]{1,8} = [ -~]{0,10}",
            "\\PC{0,12}",
        ]
    }

    fn file_strategy() -> impl Strategy<Value = String> {
        (
            prop::collection::vec((line_strategy(), any::<bool>()), 0..12),
            any::<bool>(),
        )
            .prop_map(|(lines, final_eol)| {
                let mut text = String::new();
                let count = lines.len();
                for (index, (line, crlf)) in lines.into_iter().enumerate() {
                    text.push_str(&line);
                    if index + 1 < count || final_eol {
                        text.push_str(if crlf { "\r\n" } else { "\n" });
                    }
                }
                text
            })
    }

    /// Keys and values of the section at `range`, read the way the SDK reads them.
    fn read_section(text: &str, range: Range<usize>) -> Vec<(String, String)> {
        lines(&text[range])
            .skip(1)
            .filter(|line| !is_blank(line.content) && !is_comment(line.content))
            .map(|line| {
                let (key, value) = line.content.split_once('=').expect("property line");
                (key.trim().to_owned(), value.trim().to_owned())
            })
            .collect()
    }

    #[test]
    fn remove_section_keeps_every_other_byte() {
        let text = "# top\r\n[a]\r\nk = 1\r\n\r\n[profile b] ; note\r\nk = 2\r\n# inside\r\nj = 3\r\n\r\n\r\n# about c\r\n[profile c]\r\nk = 3";
        let out = remove_section(text, "b", HeaderStyle::Config)
            .unwrap()
            .unwrap();
        assert_eq!(
            out,
            "# top\r\n[a]\r\nk = 1\r\n\r\n# about c\r\n[profile c]\r\nk = 3"
        );
        let out = remove_section(text, "c", HeaderStyle::Config)
            .unwrap()
            .unwrap();
        assert_eq!(
            out,
            "# top\r\n[a]\r\nk = 1\r\n\r\n[profile b] ; note\r\nk = 2\r\n# inside\r\nj = 3\r\n\r\n\r\n# about c\r\n"
        );
        assert_eq!(
            remove_section(text, "zz", HeaderStyle::Config).unwrap(),
            None
        );
        assert!(matches!(
            remove_section("[a]\nk = 1\n  [b]\n", "a", HeaderStyle::Credentials),
            Err(WriteError::IndentedHeader { line: 3, .. })
        ));
    }

    #[test]
    fn removing_then_appending_gives_the_same_bytes() {
        let text = "[profile a]\nk = 1\n\n[profile b]\nk = 2\n";
        let removed = remove_section(text, "b", HeaderStyle::Config)
            .unwrap()
            .unwrap();
        assert_eq!(removed, "[profile a]\nk = 1\n\n");
        let back = upsert_section(&removed, "b", HeaderStyle::Config, &[("k", "2")]).unwrap();
        assert_eq!(back.text, text);
    }

    #[test]
    fn section_entries_read_keys_as_the_sdk() {
        let text =
            "[profile x]\nSSO_Session = corp \n# c\n  continued\nregion=eu-west-1\n[profile y]\n";
        assert_eq!(
            section_entries(text, "x", HeaderStyle::Config),
            Some(vec![
                ("sso_session".to_string(), "corp".to_string()),
                ("region".to_string(), "eu-west-1".to_string())
            ])
        );
        assert_eq!(
            section_entries(text, "y", HeaderStyle::Config),
            Some(vec![])
        );
        assert_eq!(section_entries(text, "z", HeaderStyle::Config), None);
        assert_eq!(
            section_names(
                "[default]\n[profile a]\n[sso-session s]\n[b]\n",
                HeaderStyle::Config
            ),
            vec!["default", "a"]
        );
    }

    // Unix only: Unix permission bits (os::fs tests the Windows access lists).
    #[cfg(unix)]
    #[test]
    fn edit_file_keeps_mode_and_skips_unchanged_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        fs::write(&path, "[profile a]\nk = 1\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let removed = edit_file(&path, Duration::from_secs(5), |text| {
            let out = remove_section(text, "a", HeaderStyle::Config)?;
            let found = out.is_some();
            Ok((out, found))
        })
        .unwrap();
        assert!(removed);
        assert_eq!(fs::read_to_string(&path).unwrap(), "");
        assert_eq!(mode_of(&path), 0o640);
        let missing = dir.path().join("none");
        edit_file(&missing, Duration::from_secs(5), |_| Ok((None, ()))).unwrap();
        assert!(!missing.exists(), "no change, no file");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC*|[\\[\\]#; \t\r\nab=]*") {
            let _ = find_section(&text, "ab", HeaderStyle::Credentials);
            let _ = upsert_section(&text, "ab", HeaderStyle::Config, &[("k", "v")]);
            let _ = upsert_section(&text, "ab", HeaderStyle::Credentials, &[("k", "v")]);
        }

        #[test]
        fn upsert_preserves_outside_bytes_and_reads_back(
            original in file_strategy(),
            values in prop::collection::vec("[A-Za-z0-9/+=]{1,12}", 1..4),
        ) {
            let keys = ["aws_access_key_id", "aws_secret_access_key", "aws_session_token", "region"];
            let entries: Vec<(&str, &str)> =
                keys.iter().copied().zip(values.iter().map(String::as_str)).collect();
            let before = locate(&original, "p", HeaderStyle::Credentials);
            let result = upsert_section(&original, "p", HeaderStyle::Credentials, &entries);
            let out = match (&before, result) {
                (Some(found), Err(WriteError::IndentedHeader { .. })) => {
                    prop_assert!(found.header_indented || found.indented_next_header.is_some());
                    return Ok(());
                }
                (_, Err(err)) => return Err(TestCaseError::fail(format!("unexpected {err}"))),
                (_, Ok(out)) => out,
            };
            let after = find_section(&out.text, "p", HeaderStyle::Credentials).expect("section present");
            match &before {
                Some(found) => {
                    prop_assert!(out.replaced);
                    prop_assert_eq!(&out.text[..found.section.start], &original[..found.section.start]);
                    prop_assert_eq!(&out.text[after.end..], &original[found.section.end..]);
                    prop_assert_eq!(out.duplicates, found.duplicates);
                }
                None => {
                    prop_assert!(!out.replaced);
                    prop_assert!(out.text.starts_with(&original));
                }
            }
            let expected: Vec<(String, String)> =
                entries.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
            prop_assert_eq!(read_section(&out.text, after), expected);
            let again = upsert_section(&out.text, "p", HeaderStyle::Credentials, &entries).expect("second write");
            prop_assert_eq!(again.text, out.text);
        }
    }
}
