//! Quoting for every shell we print to. All of it lives here.
//!
//! The rule for each: a value goes into the one quoting form of that shell in which no
//! character is special except the closing quote itself (and, for fish and PowerShell, the
//! escape that quote needs). Values that a format cannot carry safely are refused, never
//! printed half-quoted.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("{variable} cannot be written in {format} format: its value contains {what}")]
pub(crate) struct Unrepresentable {
    pub variable: String,
    pub format: &'static str,
    pub what: &'static str,
}

/// `'...'` around `value`, each character written by `write` (itself, or escaped).
fn single_quoted(value: &str, write: impl Fn(&mut String, char)) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        write(&mut out, c);
    }
    out.push('\'');
    out
}

/// POSIX sh, bash, dash, zsh: `'...'`, with each `'` written as `'\''`.
pub(crate) fn sh(value: &str) -> String {
    single_quoted(value, |out, c| match c {
        '\'' => out.push_str("'\\''"),
        c => out.push(c),
    })
}

/// fish: inside `'...'` only `\'` and `\\` are escapes.
pub(crate) fn fish(value: &str) -> String {
    single_quoted(value, |out, c| {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    })
}

/// PowerShell: verbatim `'...'` strings; a quote is doubled. PowerShell also treats the
/// typographic single quotes U+2018..U+201B as quote characters, so those are doubled too.
pub(crate) fn powershell(value: &str) -> String {
    single_quoted(value, |out, c| {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
        out.push(c);
    })
}

/// cmd.exe: `set "NAME=value"`. Inside the quotes `& | < > ^` are literal, but `%` and `!`
/// still expand and `"` or a line break would end the command, and cmd has no escape for
/// them on the command line: such values are refused.
pub(crate) fn cmd(variable: &str, value: &str) -> Result<String, Unrepresentable> {
    let bad = |what| Unrepresentable {
        variable: variable.to_string(),
        format: "cmd",
        what,
    };
    if value.contains('%') {
        return Err(bad("'%'"));
    }
    if value.contains('!') {
        return Err(bad("'!'"));
    }
    if value.contains('"') {
        return Err(bad("a double quote"));
    }
    if value.contains(['\r', '\n']) {
        return Err(bad("a line break"));
    }
    Ok(format!("set \"{variable}={value}\""))
}

/// dotenv: bare when the value is made of characters every dotenv reader takes literally
/// (credential values always are), else single-quoted with `\\` and `\'` escapes as
/// python-dotenv reads them. Line breaks are refused: readers disagree about them.
pub(crate) fn dotenv(variable: &str, value: &str) -> Result<String, Unrepresentable> {
    let refuse = |what| {
        Err(Unrepresentable {
            variable: variable.to_string(),
            format: "dotenv",
            what,
        })
    };
    if value.contains(['\r', '\n']) {
        return refuse("a line break");
    }
    // python-dotenv expands `${NAME}` even inside single quotes and has no escape for it.
    if value.contains("${") {
        return refuse("\"${\" (dotenv readers expand it)");
    }
    let bare = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/+=._:@-,".contains(c));
    if bare {
        return Ok(value.to_string());
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_tables() {
        type Quote = fn(&str) -> String;
        let cases: &[(&str, Quote, &str, &str)] = &[
            ("sh", sh, "", "''"),
            ("sh", sh, "abc", "'abc'"),
            ("sh", sh, "it's", r"'it'\''s'"),
            ("sh", sh, "$(rm -rf /)", "'$(rm -rf /)'"),
            ("sh", sh, "`id`;|&", "'`id`;|&'"),
            ("sh", sh, "a\nb", "'a\nb'"),
            ("sh", sh, "\\", "'\\'"),
            ("sh", sh, "日本語", "'日本語'"),
            ("fish", fish, "abc", "'abc'"),
            ("fish", fish, "it's", r"'it\'s'"),
            ("fish", fish, r"back\slash", r"'back\\slash'"),
            ("fish", fish, "$(x) (y)", "'$(x) (y)'"),
            ("powershell", powershell, "abc", "'abc'"),
            ("powershell", powershell, "it's", "'it''s'"),
            ("powershell", powershell, "$env:X `n", "'$env:X `n'"),
            (
                "powershell",
                powershell,
                "a\u{2019}b",
                "'a\u{2019}\u{2019}b'",
            ),
        ];
        for (shell, quote, input, expected) in cases {
            assert_eq!(quote(input), *expected, "{shell}: input {input:?}");
        }
    }

    #[test]
    fn cmd_refuses_what_it_cannot_carry() {
        assert_eq!(cmd("K", "a&b|c^").unwrap(), "set \"K=a&b|c^\"");
        for bad in ["50%", "a!b", "a\"b", "a\nb", "a\rb"] {
            assert!(cmd("K", bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn dotenv_bare_or_quoted() {
        assert_eq!(dotenv("K", "AKIA/x+y=").unwrap(), "AKIA/x+y=");
        assert_eq!(dotenv("K", "a b").unwrap(), "'a b'");
        assert_eq!(dotenv("K", r"it's\").unwrap(), r"'it\'s\\'");
        assert!(dotenv("K", "a\nb").is_err());
        assert!(dotenv("K", "a${HOME}").is_err());
        assert_eq!(dotenv("K", "a$HOME").unwrap(), "'a$HOME'");
    }
}
