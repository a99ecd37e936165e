//! A command line split into a program and its arguments the way the AWS CLI splits a
//! `credential_process` on Windows (botocore's `compat_shell_split` there), which follows the
//! Microsoft C runtime's rules, with no shell in between:
//!
//! - only space and tab separate arguments, outside double quotes;
//! - a double quote starts or ends a quoted part; `""` gives an empty argument;
//! - backslashes are literal unless they run up to a double quote: then each pair gives one
//!   backslash, and an odd one left over makes the quote a literal `"`.
//!
//! Pure, so the rules are tested on any system (and against botocore's own splitter).

/// Why a command line could not be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// A quote is opened and never closed.
    #[error("a quote is not closed")]
    Unclosed,
    /// No program: the line is empty or only separators.
    #[error("the command is empty")]
    Empty,
}

/// The program and arguments of `line` (see the module's rules).
pub fn split_windows(line: &str) -> Result<Vec<String>, SplitError> {
    let mut parts = Vec::new();
    let mut current = String::new();
    // Whether `current` is an argument yet (it may be empty: `""`).
    let mut started = false;
    let mut quoted = false;
    let mut backslashes = 0usize;
    for c in line.chars() {
        match c {
            '\\' => {
                backslashes += 1;
                started = true;
            }
            '"' => {
                current.extend(std::iter::repeat_n('\\', backslashes / 2));
                let escaped = backslashes % 2 == 1;
                backslashes = 0;
                started = true;
                if escaped {
                    current.push('"');
                } else {
                    quoted = !quoted;
                }
            }
            ' ' | '\t' if !quoted => {
                current.extend(std::iter::repeat_n('\\', backslashes));
                backslashes = 0;
                if started {
                    parts.push(std::mem::take(&mut current));
                    started = false;
                }
            }
            _ => {
                current.extend(std::iter::repeat_n('\\', backslashes));
                backslashes = 0;
                current.push(c);
                started = true;
            }
        }
    }
    if quoted {
        return Err(SplitError::Unclosed);
    }
    current.extend(std::iter::repeat_n('\\', backslashes));
    if started {
        parts.push(current);
    }
    if parts.is_empty() {
        return Err(SplitError::Empty);
    }
    Ok(parts)
}

/// The program and arguments of `line` as a POSIX shell would split a simple command, with no
/// shell run and nothing expanded (`$`, `*`, `~` and `;` are plain characters): blanks
/// separate words; `'…'` is literal; in `"…"` a backslash escapes only `"`, `\\`, `$` and a
/// backquote; elsewhere a backslash makes the next character literal. For commands that name a
/// program to run (`mfa_process`), where a shell would only add ways to go wrong.
pub(crate) fn split_posix(line: &str) -> Result<Vec<String>, SplitError> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut started = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if started {
                    parts.push(std::mem::take(&mut current));
                    started = false;
                }
            }
            '\'' => {
                started = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => current.push(c),
                        None => return Err(SplitError::Unclosed),
                    }
                }
            }
            '"' => {
                started = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => current.push(c),
                            Some(c) => {
                                current.push('\\');
                                current.push(c);
                            }
                            None => return Err(SplitError::Unclosed),
                        },
                        Some(c) => current.push(c),
                        None => return Err(SplitError::Unclosed),
                    }
                }
            }
            '\\' => {
                started = true;
                if let Some(c) = chars.next() {
                    current.push(c);
                }
            }
            c => {
                started = true;
                current.push(c);
            }
        }
    }
    if started {
        parts.push(current);
    }
    if parts.is_empty() {
        return Err(SplitError::Empty);
    }
    Ok(parts)
}

/// [`split_windows`] on Windows, [`split_posix`] elsewhere: how this system's AWS tools split a
/// command they run without a shell.
pub(crate) fn split_native(line: &str) -> Result<Vec<String>, SplitError> {
    if cfg!(windows) {
        split_windows(line)
    } else {
        split_posix(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posix_words_quotes_and_nothing_expanded() {
        let split = |line: &str| split_posix(line).unwrap();
        assert_eq!(
            split("ykman oath accounts code --single 'AWS: me@example.com'"),
            [
                "ykman",
                "oath",
                "accounts",
                "code",
                "--single",
                "AWS: me@example.com"
            ]
        );
        assert_eq!(
            split(r#"a "b \"c\" \$d \x" e\ f"#),
            ["a", r#"b "c" $d \x"#, "e f"]
        );
        assert_eq!(split("echo $HOME; rm *"), ["echo", "$HOME;", "rm", "*"]);
        assert_eq!(split("  x  ''  "), ["x", ""]);
        assert_eq!(split_posix("a 'b"), Err(SplitError::Unclosed));
        assert_eq!(split_posix("a \"b"), Err(SplitError::Unclosed));
        assert_eq!(split_posix("   "), Err(SplitError::Empty));
    }

    fn split(line: &str) -> Vec<String> {
        split_windows(line).unwrap()
    }

    #[test]
    fn microsoft_rules() {
        // The examples of Microsoft's "Parsing C++ command-line arguments".
        assert_eq!(split(r#""abc" d e"#), ["abc", "d", "e"]);
        assert_eq!(split(r#"a\\b d"e f"g h"#), [r"a\\b", "de fg", "h"]);
        assert_eq!(split(r#"a\\\"b c d"#), [r#"a\"b"#, "c", "d"]);
        assert_eq!(split(r#"a\\\\"b c" d e"#), [r"a\\b c", "d", "e"]);
    }

    #[test]
    fn windows_paths_and_spaces() {
        assert_eq!(
            split(r#""C:\Program Files\Vault\vault.exe" export --profile "my prod""#),
            [
                r"C:\Program Files\Vault\vault.exe",
                "export",
                "--profile",
                "my prod"
            ]
        );
        assert_eq!(split("  a\t\tb  "), ["a", "b"]);
        assert_eq!(split(r#"a "" b"#), ["a", "", "b"]);
        assert_eq!(split(r"C:\dir\ x\"), [r"C:\dir\", r"x\"]);
        // Nothing a shell would do: no variables, no pipes, no globbing, no single quotes.
        assert_eq!(
            split("tool %USERPROFILE% | more 'a b' *.json &"),
            [
                "tool",
                "%USERPROFILE%",
                "|",
                "more",
                "'a",
                "b'",
                "*.json",
                "&"
            ]
        );
    }

    #[test]
    fn refusals() {
        assert_eq!(split_windows(r#"a "b"#), Err(SplitError::Unclosed));
        // botocore toggles on every unescaped quote (no `""` inside quotes rule).
        assert_eq!(split_windows(r#"a"b"" c d"#), Err(SplitError::Unclosed));
        assert_eq!(split_windows(""), Err(SplitError::Empty));
        assert_eq!(split_windows(" \t "), Err(SplitError::Empty));
    }
}
