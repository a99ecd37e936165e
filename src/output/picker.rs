//! The profile picker: a list filtered as the person types, moved through with the arrow
//! keys, chosen with Enter (granted's `assume` habit). Pure: keys in, lines out; the command
//! reads the keys and draws the lines on the terminal.

use super::status::cut;
use crate::base::text::escape;

/// A key press, decoded from what the terminal sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Key {
    Char(char),
    Backspace,
    /// Ctrl-U: the filter is cleared.
    Clear,
    Up,
    Down,
    PageUp,
    PageDown,
    Enter,
    /// Esc, Ctrl-C, Ctrl-D.
    Cancel,
}

/// Every key in what one read from the terminal gave (a paste or a fast typist sends several;
/// an escape sequence arrives whole). Sequences that are not known are skipped.
pub(crate) fn decode(bytes: &[u8]) -> Vec<Key> {
    let text = String::from_utf8_lossy(bytes);
    let mut keys = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let key = match c {
            '\r' | '\n' => Key::Enter,
            '\u{7f}' | '\u{8}' => Key::Backspace,
            '\u{15}' => Key::Clear,
            '\u{3}' | '\u{4}' => Key::Cancel,
            '\u{10}' => Key::Up,  // Ctrl-P
            '\u{e}' => Key::Down, // Ctrl-N
            '\u{1b}' => match chars.peek() {
                None => Key::Cancel,
                Some('[' | 'O') => {
                    chars.next();
                    // CSI: parameters, then one final byte in @..~.
                    let mut body = String::new();
                    for c in chars.by_ref() {
                        body.push(c);
                        if ('@'..='~').contains(&c) || body.len() > 16 {
                            break;
                        }
                    }
                    match body.as_str() {
                        "A" => Key::Up,
                        "B" => Key::Down,
                        "5~" => Key::PageUp,
                        "6~" => Key::PageDown,
                        _ => continue,
                    }
                }
                Some(_) => Key::Cancel,
            },
            c if c.is_control() => continue,
            c => Key::Char(c),
        };
        keys.push(key);
    }
    keys
}

/// One profile to choose: its name and a word on its kind and state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub name: String,
    pub detail: String,
}

/// What a key press led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Continue,
    Picked(String),
    Cancelled,
}

pub(crate) struct Picker {
    entries: Vec<Entry>,
    filter: String,
    /// The entries the filter lets through, by index.
    shown: Vec<usize>,
    /// The highlighted one, in `shown`.
    cursor: usize,
    /// The first one drawn, in `shown`.
    top: usize,
}

/// The longest filter kept (a paste of a book is not a filter).
const MAX_FILTER: usize = 256;

impl Picker {
    pub(crate) fn new(entries: Vec<Entry>) -> Picker {
        let shown = (0..entries.len()).collect();
        Picker {
            entries,
            filter: String::new(),
            shown,
            cursor: 0,
            top: 0,
        }
    }

    /// Every word of the filter is in the name or the detail, whatever the case.
    fn matches(&self, entry: &Entry) -> bool {
        let name = entry.name.to_lowercase();
        let detail = entry.detail.to_lowercase();
        self.filter
            .to_lowercase()
            .split_whitespace()
            .all(|word| name.contains(word) || detail.contains(word))
    }

    fn refilter(&mut self) {
        self.shown = (0..self.entries.len())
            .filter(|&i| self.matches(&self.entries[i]))
            .collect();
        // A name the filter spells exactly comes first.
        let exact = self.filter.trim();
        if let Some(at) = self
            .shown
            .iter()
            .position(|&i| self.entries[i].name.eq_ignore_ascii_case(exact))
        {
            let i = self.shown.remove(at);
            self.shown.insert(0, i);
        }
        self.cursor = 0;
        self.top = 0;
    }

    pub(crate) fn press(&mut self, key: Key, page: usize) -> Step {
        let last = self.shown.len().saturating_sub(1);
        match key {
            Key::Char(c) => {
                if self.filter.chars().count() < MAX_FILTER {
                    self.filter.push(c);
                    self.refilter();
                }
            }
            Key::Backspace => {
                self.filter.pop();
                self.refilter();
            }
            Key::Clear => {
                self.filter.clear();
                self.refilter();
            }
            Key::Up => self.cursor = self.cursor.checked_sub(1).unwrap_or(last),
            Key::Down => {
                self.cursor = if self.cursor >= last {
                    0
                } else {
                    self.cursor + 1
                }
            }
            Key::PageUp => self.cursor = self.cursor.saturating_sub(page.max(1)),
            Key::PageDown => self.cursor = (self.cursor + page.max(1)).min(last),
            Key::Enter => {
                return match self.shown.get(self.cursor) {
                    Some(&i) => Step::Picked(self.entries[i].name.clone()),
                    None => Step::Continue,
                };
            }
            Key::Cancel => return Step::Cancelled,
        }
        Step::Continue
    }

    /// The lines to draw: the filter line, then at most `rows` entries around the highlighted
    /// one, each cut to `width` columns. Names and details are escaped (they come from files).
    pub(crate) fn view(&mut self, rows: usize, width: usize, colour: bool) -> Vec<String> {
        let rows = rows.max(1);
        if self.cursor < self.top {
            self.top = self.cursor;
        } else if self.cursor >= self.top + rows {
            self.top = self.cursor + 1 - rows;
        }
        let mut lines = vec![cut(
            &format!(
                "profile ({} of {}; type to filter, ↑↓ to move, Enter to pick, Esc to cancel)> {}",
                self.shown.len(),
                self.entries.len(),
                escape(&self.filter)
            ),
            width,
        )];
        let name_width = self
            .shown
            .iter()
            .map(|&i| escape(&self.entries[i].name).chars().count())
            .max()
            .unwrap_or(0)
            .min(width / 2);
        for (at, &i) in self.shown.iter().enumerate().skip(self.top).take(rows) {
            let entry = &self.entries[i];
            let here = at == self.cursor;
            let name = escape(&entry.name);
            let line = cut(
                &format!(
                    "{} {name:<name_width$}  {}",
                    if here { '>' } else { ' ' },
                    escape(&entry.detail)
                ),
                width,
            );
            lines.push(if here && colour {
                format!("\x1b[7m{line}\x1b[0m")
            } else {
                line
            });
        }
        if self.shown.is_empty() {
            lines.push(cut("  (no profile matches; Backspace to widen)", width));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(names: &[(&str, &str)]) -> Vec<Entry> {
        names
            .iter()
            .map(|(name, detail)| Entry {
                name: name.to_string(),
                detail: detail.to_string(),
            })
            .collect()
    }

    fn type_in(picker: &mut Picker, bytes: &[u8]) -> Step {
        let mut step = Step::Continue;
        for key in decode(bytes) {
            step = picker.press(key, 5);
        }
        step
    }

    #[test]
    fn keys_are_decoded_as_terminals_send_them() {
        assert_eq!(
            decode(b"ab\x1b[A\x1bOB\r"),
            vec![
                Key::Char('a'),
                Key::Char('b'),
                Key::Up,
                Key::Down,
                Key::Enter
            ]
        );
        assert_eq!(decode(b"\x1b"), vec![Key::Cancel]);
        assert_eq!(decode(b"\x03"), vec![Key::Cancel]);
        assert_eq!(
            decode(b"\x7f\x15\x1b[5~\x1b[6~"),
            vec![Key::Backspace, Key::Clear, Key::PageUp, Key::PageDown]
        );
        // An unknown sequence (F1, Home) is skipped, not typed into the filter.
        assert_eq!(decode(b"\x1b[11~\x1b[Hx"), vec![Key::Char('x')]);
        assert_eq!(decode("é".as_bytes()), vec![Key::Char('é')]);
    }

    #[test]
    fn typing_filters_and_enter_picks_the_highlighted_one() {
        let mut picker = Picker::new(entries(&[
            ("dev", "sso · valid"),
            ("prod-admin", "role · expired"),
            ("prod-read", "role · missing"),
        ]));
        assert_eq!(type_in(&mut picker, b"prod"), Step::Continue);
        let view = picker.view(10, 80, false);
        assert!(view[0].starts_with("profile (2 of 3;"), "{view:?}");
        assert!(view[0].ends_with("> prod"), "{view:?}");
        assert_eq!(view.len(), 3);
        assert!(view[1].starts_with("> prod-admin"), "{view:?}");
        assert_eq!(
            type_in(&mut picker, b"\x1b[B\r"),
            Step::Picked("prod-read".into())
        );
        // Words match the detail too; Up from the top wraps to the end.
        let mut picker = Picker::new(entries(&[
            ("a", "sso · valid"),
            ("b", "role · expired"),
            ("c", "role · valid"),
        ]));
        assert_eq!(
            type_in(&mut picker, b"role\x1b[A\r"),
            Step::Picked("c".into())
        );
        // Nothing shown: Enter does nothing; Backspace widens again; Esc cancels.
        let mut picker = Picker::new(entries(&[("a", ""), ("b", "")]));
        assert_eq!(type_in(&mut picker, b"zz\r"), Step::Continue);
        assert!(picker.view(5, 80, false)[1].contains("no profile matches"));
        assert_eq!(
            type_in(&mut picker, b"\x7f\x7f\x1b[B\r"),
            Step::Picked("b".into())
        );
        assert_eq!(type_in(&mut picker, b"\x1b"), Step::Cancelled);
    }

    #[test]
    fn an_exact_name_comes_first() {
        let mut picker = Picker::new(entries(&[("prod-admin", ""), ("prod", "")]));
        assert_eq!(type_in(&mut picker, b"prod\r"), Step::Picked("prod".into()));
    }

    #[test]
    fn the_view_scrolls_fits_the_width_and_escapes_names() {
        let names: Vec<String> = (0..30).map(|i| format!("p{i:02}")).collect();
        let mut picker = Picker::new(
            names
                .iter()
                .map(|n| Entry {
                    name: n.clone(),
                    detail: "static · long-term keys".into(),
                })
                .collect(),
        );
        for _ in 0..12 {
            picker.press(Key::Down, 5);
        }
        let view = picker.view(5, 20, true);
        assert_eq!(view.len(), 6);
        assert!(view[5].contains("> p12"), "{view:?}");
        assert!(view[5].starts_with("\x1b[7m"), "{view:?}");
        assert!(
            view[1..5].iter().all(|l| l.chars().count() <= 20),
            "{view:?}"
        );
        let mut evil = Picker::new(entries(&[("x\x1b[2Jy", "a\u{202e}b")]));
        let view = evil.view(5, 80, false);
        assert!(
            !view[1].contains('\x1b') && !view[1].contains('\u{202e}'),
            "{view:?}"
        );
    }
}
