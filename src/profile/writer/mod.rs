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
mod tests;
