//! The fast path for large files: the sections one profile needs, cut out of the text before
//! the SDK's parser sees it, so a 10,000-profile config costs a line scan instead of a parse
//! into 10,000 maps.
//!
//! It keeps the parse's meaning by construction: [`FileText::text_for`] drops whole sections (a
//! header line and every line up to the next line that starts with `[`, exactly where the SDK's
//! parser, `aws-runtime`'s `env_config::parse`, switches section), and the SDK's parser and
//! normaliser then run unchanged on what is left. A section of a profile the run needs is kept
//! with all its duplicates, in order; so are `[default]`, `[profile default]` and every section
//! that is not a profile (`[sso-session …]`, `[services …]`, …). A section is matched the way
//! the normaliser does it (prefix and name split at the first space or tab, each trimmed).
//!
//! Dropping a section must not hide an error the full parse would report: every line of the
//! file is checked against the parser's error conditions (a property before any section, a
//! property without `=` or without a name, a header without `[`…`]`, a continuation line with
//! no property to continue, a sub-property line without `=`), and on any of them — or on any
//! line it is unsure of — [`FileText::text_for`] returns `None` and the caller parses the whole file,
//! which reports the error as before.

const WHITESPACE: &[char] = &[' ', '\t'];
const COMMENT: &[char] = &['#', ';'];

/// `str::trim_matches(WHITESPACE)` on bytes (space and tab are ASCII, so the cuts are on
/// character boundaries); the scan's hot path.
fn trim_ws(text: &str) -> &str {
    let bytes = text.as_bytes();
    let start = bytes
        .iter()
        .position(|b| *b != b' ' && *b != b'\t')
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| *b != b' ' && *b != b'\t')
        .map_or(start, |last| last + 1);
    text.get(start..end).unwrap_or_default()
}

/// `prepare_line` of the SDK's parser: trim, cut a comment (one after whitespace only, for
/// property lines), trim again.
fn prepare_line(line: &str, comments_need_whitespace: bool) -> &str {
    let line = trim_ws(line);
    let mut prev_char_whitespace = false;
    let mut comment_idx = None;
    for (idx, chr) in line.char_indices() {
        if COMMENT.contains(&chr) && (prev_char_whitespace || !comments_need_whitespace) {
            comment_idx = Some(idx);
            break;
        }
        prev_char_whitespace = chr.is_whitespace();
    }
    trim_ws(comment_idx.and_then(|idx| line.get(..idx)).unwrap_or(line))
}

/// A property line's value, or `None` where the SDK's parser reports an error.
fn property_value(line: &str) -> Option<&str> {
    // Without `#` or `;` there is no comment to cut: prepare_line is a trim (the common case,
    // kept on bytes for speed).
    let prepared = if line.bytes().any(|b| b == b'#' || b == b';') {
        prepare_line(line, true)
    } else {
        line
    };
    let (key, value) = prepared.split_once('=')?;
    if trim_ws(key).is_empty() {
        return None;
    }
    Some(trim_ws(value))
}

/// What a section header makes of its section: a profile (kept when wanted), or a section
/// every profile may need (the default profile, `[sso-session …]`, `[services …]`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key<'t> {
    Profile(&'t str),
    Default,
    Other,
}

/// The header's key, split the way the normaliser does it (prefix and name split at the first
/// space or tab, each trimmed).
fn key_of(inner: &str) -> Key<'_> {
    let inner = inner.trim_matches(WHITESPACE);
    let (prefix, name) = match inner.split_once(WHITESPACE) {
        Some((prefix, name)) => (Some(prefix.trim()), name.trim()),
        None => (None, inner.trim()),
    };
    match prefix {
        Some(prefix) if prefix != "profile" => Key::Other,
        _ if name == "default" => Key::Default,
        _ => Key::Profile(name),
    }
}

/// A range of the text, in bytes (files are at most 16 MiB, so `u32` holds any offset).
type Span = (u32, u32);

/// The sections of one file, found in one scan, as offsets into its text; [`FileText`] keeps
/// the two together.
#[derive(Debug, Clone, Default)]
struct SectionIndex {
    /// Each section: the header line and every line up to the next header.
    sections: Vec<Span>,
    /// (profile name, section number), sorted by name then number: one allocation for every
    /// profile section of a large file, searched by halving.
    by_name: Vec<(Span, u32)>,
    /// The sections kept whatever is wanted, in file order.
    always: Vec<u32>,
    /// Whether a section is the default profile's.
    has_default: bool,
}

fn at(text: &str, (start, end): Span) -> &str {
    text.get(start as usize..end as usize).unwrap_or_default()
}

/// `inner` (a slice of `text`) as a span of `text`.
fn span_in(text: &str, inner: &str) -> Option<Span> {
    let start = (inner.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    Some((
        u32::try_from(start).ok()?,
        u32::try_from(start + inner.len()).ok()?,
    ))
}

impl SectionIndex {
    /// Scans `text`; `None` when the file has a line the full parse would refuse, or one this
    /// scan is not sure of (see the module docs): parse it whole.
    fn scan(text: &str) -> Option<Self> {
        #[derive(PartialEq)]
        enum State {
            Starting,
            InSection { property: bool, sub: bool },
        }
        let mut state = State::Starting;
        let mut index = SectionIndex::default();
        // Where the current section starts (lines before the first header belong to none).
        let mut open: Option<(usize, Key<'_>)> = None;
        let close = |index: &mut SectionIndex, start: usize, end: usize, key: Key<'_>| {
            let number = u32::try_from(index.sections.len()).ok()?;
            index
                .sections
                .push((u32::try_from(start).ok()?, u32::try_from(end).ok()?));
            match key {
                Key::Profile(name) => index.by_name.push((span_in(text, name)?, number)),
                Key::Default => {
                    index.has_default = true;
                    index.always.push(number);
                }
                Key::Other => index.always.push(number),
            }
            Some(())
        };
        let mut offset = 0;
        for raw in text.split_inclusive('\n') {
            let line_start = offset;
            offset += raw.len();
            let line = match raw.strip_suffix('\n') {
                Some(without) => without.strip_suffix('\r').unwrap_or(without),
                None => raw,
            };
            if line.bytes().all(|b| b == b' ' || b == b'\t') || line.starts_with(COMMENT) {
                continue;
            }
            if line.starts_with('[') {
                let inner = prepare_line(line, false)
                    .strip_prefix('[')?
                    .strip_suffix(']')?;
                if let Some((start, key)) = open.take() {
                    close(&mut index, start, line_start, key)?;
                }
                open = Some((line_start, key_of(inner)));
                state = State::InSection {
                    property: false,
                    sub: false,
                };
            } else if line.starts_with(WHITESPACE) {
                match state {
                    State::InSection {
                        property: true,
                        sub,
                    } => {
                        if sub {
                            property_value(line)?;
                        }
                    }
                    _ => return None,
                }
            } else {
                if state == State::Starting {
                    return None;
                }
                let value = property_value(line)?;
                state = State::InSection {
                    property: true,
                    sub: value.is_empty(),
                };
            }
        }
        if let Some((start, key)) = open {
            close(&mut index, start, text.len(), key)?;
        }
        index
            .by_name
            .sort_unstable_by(|(a, i), (b, j)| at(text, *a).cmp(at(text, *b)).then(i.cmp(j)));
        Some(index)
    }
}

/// A config or credentials file's text, with its sections found by one scan the first time
/// they are needed (the selected profile's cut and `status`'s batches share it).
#[derive(Default)]
pub(crate) struct FileText {
    text: String,
    index: std::sync::OnceLock<Option<SectionIndex>>,
}

/// The text holds keys: Debug shows its size only.
impl std::fmt::Debug for FileText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileText")
            .field("bytes", &self.text.len())
            .finish_non_exhaustive()
    }
}

impl FileText {
    pub(crate) fn new(text: String) -> Self {
        FileText {
            text,
            index: std::sync::OnceLock::new(),
        }
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The scan's index; `None` when the file has a line the full parse would refuse, or one
    /// the scan is not sure of: parse it whole.
    fn index(&self) -> Option<&SectionIndex> {
        self.index
            .get_or_init(|| SectionIndex::scan(&self.text))
            .as_ref()
    }

    /// The text of the sections `wanted` needs: theirs, in file order with their duplicates,
    /// and every section that is not a profile's (see the module docs); `None` as for
    /// [`index`](Self::index).
    pub(crate) fn text_for<'w>(&self, wanted: impl IntoIterator<Item = &'w str>) -> Option<String> {
        let index = self.index()?;
        let text = self.text.as_str();
        let mut kept = index.always.clone();
        for name in wanted {
            let first = index.by_name.partition_point(|(n, _)| at(text, *n) < name);
            kept.extend(
                index.by_name[first..]
                    .iter()
                    .take_while(|(n, _)| at(text, *n) == name)
                    .map(|(_, i)| *i),
            );
        }
        kept.sort_unstable();
        kept.dedup();
        // Sections stay in file order, so only the last can lack a final newline, and it stays
        // last: the parser reads the same lines (a final lone `\r` included) as in the file.
        let mut out = String::new();
        for i in kept {
            out.push_str(index.sections.get(i as usize).map_or("", |s| at(text, *s)));
        }
        Some(out)
    }

    /// The texts of the sections whose header names profile `name` (not `default`), found by
    /// the scan's index; `None` as for [`index`](Self::index).
    pub(crate) fn sections_named(&self, name: &str) -> Option<Vec<&str>> {
        let index = self.index()?;
        let text = self.text.as_str();
        let first = index.by_name.partition_point(|(n, _)| at(text, *n) < name);
        Some(
            index.by_name[first..]
                .iter()
                .take_while(|(n, _)| at(text, *n) == name)
                .filter_map(|(_, i)| index.sections.get(*i as usize))
                .map(|span| at(text, *span))
                .collect(),
        )
    }

    /// How many sections every cut keeps (the default profile's and every section that is not
    /// a profile's); 0 when the scan refused the file.
    pub(crate) fn shared_sections(&self) -> usize {
        self.index().map_or(0, |index| index.always.len())
    }

    /// The profile names the file's headers give, sorted, without repeats, with `default`
    /// when it has a default section; `None` as for [`index`](Self::index). A superset: the
    /// normaliser drops some of them (a bare `[name]` in the config file, a name that is not
    /// an identifier).
    pub(crate) fn profile_names(&self) -> Option<Vec<&str>> {
        let index = self.index()?;
        let text = self.text.as_str();
        let mut names: Vec<&str> = index.has_default.then_some("default").into_iter().collect();
        names.extend(
            index
                .by_name
                .chunk_by(|(a, _), (b, _)| at(text, *a) == at(text, *b))
                .filter_map(|same| same.first().map(|(name, _)| at(text, *name))),
        );
        Some(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn sections_for(text: &str, wanted: &HashSet<String>) -> Option<String> {
        FileText::new(text.to_string()).text_for(wanted.iter().map(String::as_str))
    }

    fn wanted(names: &[&str]) -> HashSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn keeps_the_wanted_profiles_default_and_every_other_section() {
        let text = "# top\n[default]\nregion = a\n[profile a]\nk = 1\n[profile b]\nk = 2\n\
                    s3 =\n  max = 3\n[sso-session s]\nx = y\n[ profile\ta ] ; dup\nj = 2\n[b]\nk=3\n";
        let out = sections_for(text, &wanted(&["a"])).unwrap();
        assert_eq!(
            out,
            "[default]\nregion = a\n[profile a]\nk = 1\n[sso-session s]\nx = y\n[ profile\ta ] ; dup\nj = 2\n"
        );
    }

    #[test]
    fn what_the_parser_refuses_means_parse_it_all() {
        let w = wanted(&["a"]);
        for bad in [
            "k = v\n[profile a]\n",
            "[profile a]\n[profile b]\nno equals\n",
            "[profile a]\n[profile b]\n= v\n",
            "[profile a]\n[profile b\nk = v\n",
            "[profile a]\n[profile b]\n  continued\n",
            "[profile a]\n[profile b]\ns3 =\n  nope\n",
            "  indented = before\n[profile a]\n",
        ] {
            assert_eq!(sections_for(bad, &w), None, "{bad:?}");
        }
        assert!(sections_for("[profile a]\nk = v\n  more\n[b]\n", &w).is_some());
    }

    #[test]
    fn the_byte_trim_is_the_parsers_trim() {
        for text in ["", " ", "\t a b \t", "a", " é ", "\u{a0}x\u{a0}", "  =  "] {
            assert_eq!(trim_ws(text), text.trim_matches(WHITESPACE), "{text:?}");
        }
        assert_eq!(property_value(" k = v # not a comment"), Some("v"));
        assert_eq!(property_value("k = v;x"), Some("v;x"));
        assert_eq!(property_value("k=#x"), Some("#x"));
        assert_eq!(property_value("k = "), Some(""));
        assert_eq!(property_value(" = v"), None);
    }

    #[test]
    fn crlf_and_a_missing_final_newline() {
        let out = sections_for(
            "[profile a]\r\nk = v\r\n[profile b]\r\nk = w",
            &wanted(&["b"]),
        )
        .unwrap();
        assert_eq!(out, "[profile b]\r\nk = w");
        // A lone `\r` at the very end is part of the value for the parser: kept as it is.
        let out = sections_for(
            "[profile a]\nregion = x\n[profile b]\nregion = y\r",
            &wanted(&["b"]),
        )
        .unwrap();
        assert_eq!(out, "[profile b]\nregion = y\r");
    }
}
