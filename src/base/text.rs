//! Untrusted text shown to a person: what a server, a cache or a config file said may hold
//! escape sequences (change the window title, clear the screen, forge a `hint:` line) or
//! bidirectional overrides (show text in another order than it is). [`escape`] makes every
//! such character visible as a Rust-style escape; everything else passes unchanged.
//!
//! Escaped: C0 controls (U+0000–U+001F, `\n` `\r` `\t` included), DEL (U+007F), C1 controls
//! (U+0080–U+009F), the Unicode line and paragraph separators U+2028 and U+2029 (which some
//! terminals and viewers break lines at), the bidi embeddings and overrides U+202A–U+202E, the
//! isolates U+2066–U+2069, and the marks U+200E, U+200F, U+061C. Machine output (`--json`)
//! keeps exact values and does not use this.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal as is.
pub(crate) fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{2028}' | '\u{2029}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | '\u{200e}' | '\u{200f}' | '\u{61c}')
}

/// `text` with every unsafe character escaped (`\n`, `\r`, `\t`, `\x1b`, `\u{202e}`), on one line.
/// Whether `text` has the shape of an AWS region name (`eu-west-1`): lower-case letters,
/// digits and `-`, 1 to 64 of them. It goes into host names and signatures.
pub(crate) fn is_region_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The candidate closest to `word` when it is probably what was meant (a typo): at most two
/// edits away and less than half the word; ties go to the first candidate.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word_chars: Vec<char> = word.chars().collect();
    let limit = 2.min(word_chars.len().saturating_sub(1) / 2 + 1);
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (edit_distance(&word_chars, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance, in characters (bounded inputs: names of profiles).
fn edit_distance(a: &[char], b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

pub(crate) fn escape(text: &str) -> Cow<'_, str> {
    escape_keeping(text, false)
}

/// Like [`escape`], but line breaks (`\n`) stay: for text of several lines we wrote ourselves
/// that may embed untrusted parts already escaped.
pub(crate) fn escape_lines(text: &str) -> Cow<'_, str> {
    escape_keeping(text, true)
}

fn escape_keeping(text: &str, newlines: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| is_unsafe(c) && !(newlines && c == '\n');
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !unsafe_char(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    Cow::Owned(out)
}

/// A one-time code from an MFA device (IAM's or Cognito's): exactly six digits.
pub(crate) fn validate_mfa_code(code: &str) -> Result<(), crate::base::error::Problem> {
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(crate::base::error::Problem::usage(format!(
            "the MFA code must be exactly 6 digits (got {} characters)",
            code.chars().count()
        ))
        .hint("type the 6-digit code your authenticator app shows now"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mfa_codes_are_six_digits() {
        assert!(validate_mfa_code("123456").is_ok());
        for bad in ["12345", "1234567", "12345a", "１２３４５６", " 12345", ""] {
            assert!(validate_mfa_code(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_near_name_is_suggested_a_far_one_is_not() {
        let names = ["prod", "staging", "dev", "prod-admin"];
        assert_eq!(closest("prdo", names), Some("prod"));
        assert_eq!(closest("stagin", names), Some("staging"));
        assert_eq!(closest("Dev", names), Some("dev"));
        assert_eq!(closest("qa", names), None);
        assert_eq!(closest("x", names), None);
        assert_eq!(
            closest("prod", names),
            None,
            "the word itself is no suggestion"
        );
    }

    #[test]
    fn control_and_bidi_characters_are_escaped() {
        let cases = [
            ("plain text: é ü 日本", "plain text: é ü 日本"),
            ("a\nhint: run rm", "a\\nhint: run rm"),
            ("\u{1b}]0;pwned\u{7}\u{1b}[2J", "\\x1b]0;pwned\\x07\\x1b[2J"),
            ("tab\there\r", "tab\\there\\r"),
            ("nul\0del\u{7f}", "nul\\x00del\\x7f"),
            ("c1\u{85}\u{9b}31m", "c1\\u{85}\\u{9b}31m"),
            ("evil\u{202e}txt.exe", "evil\\u{202e}txt.exe"),
            ("\u{2066}x\u{2069}\u{202a}", "\\u{2066}x\\u{2069}\\u{202a}"),
            ("back\\slash", "back\\slash"),
            (
                "line\u{2028}hint: paragraph\u{2029}x",
                "line\\u{2028}hint: paragraph\\u{2029}x",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(escape(input), want, "{input:?}");
        }
        assert!(matches!(escape("clean"), Cow::Borrowed(_)));
    }

    #[test]
    fn escape_lines_keeps_line_breaks_only() {
        assert_eq!(escape_lines("one\ntwo\u{1b}[1m\r"), "one\ntwo\\x1b[1m\\r");
    }

    #[test]
    fn escaping_twice_changes_nothing_more() {
        let once = escape("\u{1b}[31m\n\u{202e}").into_owned();
        assert_eq!(escape(&once), once);
    }
}
