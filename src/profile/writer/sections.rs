//! Reading the file's text: lines, headers, and where a section sits. [`open_section`] is the
//! one opening every section editor shares: the byte-order-mark refusal, finding the section,
//! and the indented-header refusal.

use super::{HeaderStyle, WriteError};
use std::ops::Range;

/// Spaces and tabs: the only whitespace the AWS profile parsers trim.
pub(super) const WHITESPACE: &[char] = &[' ', '\t'];
pub(super) const COMMENT: &[char] = &['#', ';'];
const PROFILE_PREFIX: &str = "profile";
const DEFAULT_PROFILE: &str = "default";

/// One line of the file. Offsets are byte offsets of `\n`, so slicing at them never splits a
/// UTF-8 character.
#[derive(Debug, Clone, Copy)]
pub(super) struct Line<'a> {
    pub(super) start: usize,
    /// End including the line ending.
    pub(super) end: usize,
    /// The line without its line ending.
    pub(super) content: &'a str,
    pub(super) has_eol: bool,
}

pub(super) fn lines(text: &str) -> impl Iterator<Item = Line<'_>> {
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

pub(super) fn is_blank(content: &str) -> bool {
    content.trim_matches(WHITESPACE).is_empty()
}

/// A whole-line comment as the SDK sees it: `#` or `;` in the first column.
pub(super) fn is_comment(content: &str) -> bool {
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
pub(super) struct Located {
    /// 1-based line number of the header.
    pub(super) header_line: usize,
    pub(super) header_indented: bool,
    pub(super) header_end: usize,
    pub(super) header_has_eol: bool,
    /// Header line start .. end of the section (before the trailing blank/comment run).
    pub(super) section: Range<usize>,
    /// 1-based line number of the header that ends the section, if it is indented.
    pub(super) indented_next_header: Option<usize>,
    pub(super) duplicates: usize,
}

impl Located {
    /// The line ending written lines of this section take: its header line's, or the file's
    /// dominant one when the header line has none.
    pub(super) fn line_ending(&self, text: &str) -> &'static str {
        if self.header_has_eol {
            text.get(self.section.start..self.header_end)
                .filter(|header| header.ends_with("\r\n"))
                .map_or("\n", |_| "\r\n")
        } else {
            dominant_line_ending(text)
        }
    }
}

pub(super) fn locate(text: &str, name: &str, style: HeaderStyle) -> Option<Located> {
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

/// The section `name` of a text about to be edited: refuses a text that starts with a
/// byte-order mark, and a found section whose header line, or the header line that ends it, is
/// indented (see the module docs). `Ok(None)` when no header names it.
pub(super) fn open_section(
    text: &str,
    name: &str,
    style: HeaderStyle,
) -> Result<Option<Located>, WriteError> {
    if text.starts_with('\u{feff}') {
        return Err(WriteError::ByteOrderMark { path: None });
    }
    let Some(found) = locate(text, name, style) else {
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
    Ok(Some(found))
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

/// The key of a property line, lower-cased, as the SDK reads it.
pub(super) fn property_key(content: &str) -> Option<String> {
    if is_blank(content) || is_comment(content) || content.starts_with(WHITESPACE) {
        return None;
    }
    let (key, _) = content.split_once('=')?;
    let key = key.trim_matches(WHITESPACE);
    (!key.is_empty()).then(|| key.to_ascii_lowercase())
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

/// The line ending most of `text`'s lines use; for a text without any (a new file), this
/// system's ([`crate::os::fs::NATIVE_LINE_ENDING`]: CRLF on Windows, as the AWS CLI writes).
pub(super) fn dominant_line_ending(text: &str) -> &'static str {
    let crlf = text.matches("\r\n").count();
    let lf = text.matches('\n').count().saturating_sub(crlf);
    match (crlf, lf) {
        (0, 0) => crate::os::fs::NATIVE_LINE_ENDING,
        _ if crlf > lf => "\r\n",
        _ => "\n",
    }
}

pub(super) fn ends_with_blank_line(text: &str) -> bool {
    let Some(without_eol) = text.strip_suffix('\n') else {
        return false;
    };
    let without_eol = without_eol.strip_suffix('\r').unwrap_or(without_eol);
    let last_line = without_eol.rsplit('\n').next().unwrap_or(without_eol);
    is_blank(last_line)
}

pub(super) fn header_text(name: &str, style: HeaderStyle) -> String {
    match style {
        HeaderStyle::Config if name != DEFAULT_PROFILE => format!("[{PROFILE_PREFIX} {name}]"),
        _ => format!("[{name}]"),
    }
}
