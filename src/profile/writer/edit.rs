//! Editing one section of a text. [`upsert_section`] and [`edit_section`] are thin over the one
//! edit, [`apply`]: validate, open the section ([`open_section`]), rebuild its body and splice it
//! back, or append a new section. [`remove_section`] takes a section out.

use super::sections::{
    WHITESPACE, dominant_line_ending, ends_with_blank_line, header_text, is_blank, lines,
    open_section, property_key,
};
use super::validate::{validate_entries, validate_key, validate_profile_name};
use super::{HeaderStyle, WriteError};
use std::fmt;

const ACCESS_KEY_ID: &str = "aws_access_key_id";
const SESSION_TOKEN_KEYS: [&str; 2] = ["aws_session_token", "aws_security_token"];

/// What to do to a section's keys. Values may be secrets.
#[derive(Clone, Copy)]
pub enum Change<'a> {
    /// Replace the section's body with these `(key, value)` lines, in this order (see the module
    /// docs), or append the section. At least one entry.
    Replace(&'a [(&'a str, &'a str)]),
    /// Set some keys and remove others, keeping every other line (see [`edit_section`]).
    Merge {
        /// `(key, value)` pairs to set: each replaces the key's line, or is added.
        set: &'a [(&'a str, &'a str)],
        /// Keys whose lines go.
        remove: &'a [&'a str],
    },
}

impl<'a> Change<'a> {
    /// The `(key, value)` pairs written.
    pub fn set(&self) -> &'a [(&'a str, &'a str)] {
        match *self {
            Change::Replace(entries) => entries,
            Change::Merge { set, .. } => set,
        }
    }

    /// The keys removed (besides those of [`Change::set`]).
    pub fn remove(&self) -> &'a [&'a str] {
        match *self {
            Change::Replace(_) => &[],
            Change::Merge { remove, .. } => remove,
        }
    }

    /// Refuses names, keys and values the AWS profile parsers would not read back; a
    /// replacement needs at least one entry.
    fn validate(&self, profile: &str) -> Result<(), WriteError> {
        validate_profile_name(profile)?;
        match *self {
            Change::Replace(entries) => validate_entries(profile, entries),
            Change::Merge { set, remove } => {
                if !set.is_empty() {
                    validate_entries(profile, set)?;
                }
                remove.iter().try_for_each(|key| validate_key(key))
            }
        }
    }
}

/// What [`apply`] made of a text.
pub(super) struct Applied {
    /// The whole new file text. Contains the written values: do not log it.
    pub(super) text: String,
    /// An existing section was edited (otherwise one was appended, or nothing changed).
    pub(super) replaced: bool,
    /// The text differs from the original.
    pub(super) changed: bool,
    /// The section had nothing left but blank lines and went, header included.
    pub(super) removed_section: bool,
    pub(super) duplicates: usize,
    /// [`Change::Replace`] only: the replaced section held `aws_access_key_id` and no session
    /// token.
    pub(super) previous_was_long_term: bool,
}

/// The one section edit behind [`upsert_section`], [`edit_section`] and
/// [`super::write_profile`]. Pure.
pub(super) fn apply(
    original: &str,
    name: &str,
    style: HeaderStyle,
    change: Change<'_>,
) -> Result<Applied, WriteError> {
    change.validate(name)?;
    let Some(found) = open_section(original, name, style)? else {
        let text = match change.set() {
            [] => original.to_owned(),
            set => append_section(original, name, style, set),
        };
        return Ok(Applied {
            changed: text != original,
            text,
            replaced: false,
            removed_section: false,
            duplicates: 0,
            previous_was_long_term: false,
        });
    };
    // A replaced section keeps its header's line ending.
    let eol = found.line_ending(original);
    let mut head = original
        .get(..found.header_end)
        .unwrap_or(original)
        .to_owned();
    let old_body = original
        .get(found.header_end..found.section.end)
        .unwrap_or_default();
    let tail = original.get(found.section.end..).unwrap_or_default();
    let (mut body, written) = match change {
        Change::Replace(entries) => (String::new(), vec![false; entries.len()]),
        Change::Merge { set, remove } => merge_body(old_body, set, remove),
    };
    append_unwritten(&mut head, &mut body, change.set(), &written, eol);
    let removed_section =
        change.set().is_empty() && lines(&body).all(|line| is_blank(line.content));
    let text = if removed_section {
        let before = original.get(..found.section.start).unwrap_or_default();
        format!("{before}{tail}")
    } else {
        format!("{head}{body}{tail}")
    };
    Ok(Applied {
        changed: text != original,
        text,
        replaced: true,
        removed_section,
        duplicates: found.duplicates,
        previous_was_long_term: matches!(change, Change::Replace(_))
            && holds_long_term_keys(old_body),
    })
}

/// `original` with a new section `name` of `entries` at its end, in the file's dominant line
/// ending, after a blank separator line (see the module docs).
fn append_section(
    original: &str,
    name: &str,
    style: HeaderStyle,
    entries: &[(&str, &str)],
) -> String {
    let eol = dominant_line_ending(original);
    let mut text = String::with_capacity(original.len() + 64);
    text.push_str(original);
    if !original.is_empty() {
        if !original.ends_with('\n') {
            text.push_str(eol);
        }
        if !ends_with_blank_line(&text) {
            text.push_str(eol);
        }
    }
    text.push_str(&header_text(name, style));
    text.push_str(eol);
    for (key, value) in entries {
        push_entry(&mut text, key, value, eol);
    }
    text
}

fn push_entry(text: &mut String, key: &str, value: &str, eol: &str) {
    text.push_str(key);
    text.push_str(" = ");
    text.push_str(value);
    text.push_str(eol);
}

/// The old body with each key of `set` replaced on its first line (later lines of it dropped)
/// and each key of `remove` dropped, continuation lines included; keys compared
/// case-insensitively as the SDK does. Also which keys of `set` were written.
fn merge_body(old_body: &str, set: &[(&str, &str)], remove: &[&str]) -> (String, Vec<bool>) {
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
    (body, written)
}

/// Adds the entries of `set` not yet `written` after the section's last line, ending the
/// header line (when the body is empty) or the body's last line first if it has no line ending.
fn append_unwritten(
    head: &mut String,
    body: &mut String,
    set: &[(&str, &str)],
    written: &[bool],
    eol: &str,
) {
    for ((name, value), done) in set.iter().zip(written) {
        if *done {
            continue;
        }
        let last = if body.is_empty() {
            &mut *head
        } else {
            &mut *body
        };
        if !last.ends_with('\n') {
            last.push_str(eol);
        }
        push_entry(body, name, value, eol);
    }
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

/// Result of [`upsert_section`].
pub struct Upserted {
    /// The whole new file text. Contains the written values: do not log it.
    pub text: String,
    /// An existing section was replaced (otherwise it was appended).
    pub replaced: bool,
    /// How many more headers name the same section, left as they were (the SDKs merge them).
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
    let applied = apply(original, header_name, style, Change::Replace(entries))?;
    Ok(Upserted {
        text: applied.text,
        replaced: applied.replaced,
        duplicates: applied.duplicates,
        previous_was_long_term: applied.previous_was_long_term,
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
    /// How many more headers name the same section, left as they were (the SDKs merge them).
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
    let applied = apply(original, header_name, style, Change::Merge { set, remove })?;
    Ok(Edited {
        text: applied.text,
        changed: applied.changed,
        removed_section: applied.removed_section,
        duplicates: applied.duplicates,
    })
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
    let Some(found) = open_section(original, header_name, style)? else {
        return Ok(None);
    };
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
