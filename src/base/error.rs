//! One place that turns failures into a message, a hint and an exit code.
//!
//! Library code returns `anyhow::Error`; where we know what the user should do next we
//! put a [`Problem`] in the error chain. `main` finds the first `Problem` and uses its
//! exit code and hint; anything else is exit code 1.

use crate::base::text::{escape, escape_lines};
use std::fmt;

/// Process exit codes, documented in README.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// AWS, network or I/O failure.
    Failure,
    /// Bad command line or bad configuration.
    Usage,
    /// No link of the chain had credentials.
    NoCredentials,
    /// Credentials exist but have expired (MFA session, SSO token, exported keys).
    Expired,
    /// The OS keyring holding the keys is locked or not available (same code as `Expired`:
    /// the credentials exist, and a person has to act before they can be used).
    KeyringUnavailable,
    /// Interrupted by Ctrl-C (SIGINT).
    Interrupted,
    /// Ended by SIGHUP (the terminal went away): 128 + 1.
    HungUp,
    /// Ended by SIGTERM: 128 + 15.
    Terminated,
    /// `exec`: the command could not be run (as shells report it).
    CannotExecute,
    /// `exec`: the command was not found.
    CommandNotFound,
    /// `exec --server`: the command's own exit status (128 + signal when a signal ended it),
    /// passed on without a message.
    Child(u8),
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> u8 {
        match self {
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::NoCredentials => 3,
            Exit::Expired | Exit::KeyringUnavailable => 4,
            Exit::Interrupted => 130,
            Exit::HungUp => 129,
            Exit::Terminated => 143,
            Exit::CannotExecute => 126,
            Exit::CommandNotFound => 127,
            Exit::Child(code) => code,
        }
    }
}

/// Why a JSON cache file cannot be used; never what is inside it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Malformed {
    #[error("it is not valid JSON")]
    NotJson,
    #[error("it is not a JSON object")]
    NotAnObject,
    #[error("it has no {0}")]
    Missing(&'static str),
    #[error("its {within} has no {field}")]
    MissingWithin { within: &'static str, field: String },
    #[error("its {0} is not an object")]
    FieldNotAnObject(&'static str),
    /// A time field that does not parse, and the kind of time expected ("a time", "an RFC
    /// 3339 time").
    #[error("its {0} is not {1}")]
    NotATime(&'static str, &'static str),
}

/// A failure we understand: what went wrong, which exit code, and what to do about it.
#[derive(Debug)]
pub struct Problem {
    /// The exit code `main` returns.
    pub exit: Exit,
    /// What went wrong.
    pub message: String,
    /// What to do about it, shown after the message.
    pub hint: Option<String>,
}

impl Problem {
    pub(crate) fn new(exit: Exit, message: impl Into<String>) -> Self {
        Problem {
            exit,
            message: message.into(),
            hint: None,
        }
    }
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }
    pub(crate) fn failure(message: impl Into<String>) -> Self {
        Self::new(Exit::Failure, message)
    }
    pub(crate) fn expired(message: impl Into<String>) -> Self {
        Self::new(Exit::Expired, message)
    }
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

/// The exit code and hint carried by the first [`Problem`] in the chain.
pub fn classify(err: &anyhow::Error) -> (Exit, Option<&str>) {
    // A Problem attached with `.context(..)` is only visible to anyhow's own downcast.
    let attached = err.downcast_ref::<Problem>();
    match attached.or_else(|| err.chain().find_map(|e| e.downcast_ref::<Problem>())) {
        Some(p) => (p.exit, p.hint.as_deref()),
        None => (Exit::Failure, None),
    }
}

/// An error and its sources as one line, `a: b: c`, each distinct message once. Use instead
/// of `DisplayErrorContext`, which appends Debug output. Sources quote servers and files, so
/// each part is escaped for a terminal ([`escape`], line breaks included).
pub(crate) fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    causes_with(err, |text| escape(text).into_owned())
}

/// [`causes`] for a local parser whose messages span lines by design (aws-config's profile
/// parser names the file and line, then the problem on the next): line breaks stay, every
/// other control character is escaped.
pub(crate) fn causes_keeping_lines(err: &(dyn std::error::Error + 'static)) -> String {
    causes_with(err, |text| escape_lines(text).into_owned())
}

fn causes_with(err: &(dyn std::error::Error + 'static), clean: impl Fn(&str) -> String) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = clean(&e.to_string());
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// The first line of an error's message (for traces and one-line causes).
pub(crate) fn first_line(err: &anyhow::Error) -> String {
    err.to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Render an error for stderr: `error:`, one `caused by:` per cause, then a `hint:`. Control
/// and bidi characters are escaped (`escape_lines`): messages quote servers and files; text
/// from a server is escaped where it enters a message, line breaks included, so that it cannot
/// forge a `hint:` line.
pub fn render(err: &anyhow::Error) -> String {
    let mut out = format!("error: {}\n", escape_lines(&err.to_string()));
    let mut last = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        // SDK errors often repeat their source's text; print each distinct message once.
        if text.is_empty() || last.contains(&text) {
            continue;
        }
        out.push_str(&format!("caused by: {}\n", escape_lines(&text)));
        last = text;
    }
    if let (_, Some(hint)) = classify(err) {
        for (i, line) in hint.lines().enumerate() {
            let lead = if i == 0 { "hint: " } else { "      " };
            out.push_str(lead);
            out.push_str(&escape_lines(line));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    #[test]
    fn first_problem_in_chain_decides_exit_and_hint() {
        let err = Err::<(), _>(Problem::expired("token expired").hint("run aws-cred sso-login"))
            .context("resolving profile dev")
            .unwrap_err();
        let (exit, hint) = classify(&err);
        assert_eq!(exit, Exit::Expired);
        assert_eq!(hint, Some("run aws-cred sso-login"));
        let text = render(&err);
        assert_eq!(
            text,
            "error: resolving profile dev\ncaused by: token expired\nhint: run aws-cred sso-login\n"
        );
    }

    #[test]
    fn problem_attached_as_context_is_found() {
        let err = anyhow::anyhow!("AssumeRole failed")
            .context(Problem::usage("chained role").hint("use 3600"));
        assert_eq!(classify(&err), (Exit::Usage, Some("use 3600")));
    }

    #[test]
    fn plain_errors_are_failures_without_hint() {
        let err = anyhow::anyhow!("disk on fire");
        assert_eq!(classify(&err), (Exit::Failure, None));
        assert_eq!(render(&err), "error: disk on fire\n");
    }

    #[test]
    fn render_escapes_control_characters() {
        let err = anyhow::anyhow!("AssumeRole of arn:aws:iam::1:role/x\u{1b}]0;t\u{7}")
            .context(Problem::usage("bad \u{202e}profile\r").hint("fix it\u{1b}[2J"));
        let text = render(&err);
        assert!(!text.contains('\u{1b}') && !text.contains('\r'), "{text:?}");
        assert!(text.contains("\\x1b]0;t\\x07"), "{text}");
        assert!(text.contains("bad \\u{202e}profile\\r"), "{text}");
        assert!(text.contains("hint: fix it\\x1b[2J\n"), "{text}");
    }

    /// Every exit, its code, and the README's row for it: a new `Exit` does not compile here
    /// until it has both.
    #[test]
    fn every_exit_has_a_stable_code_and_a_readme_row() {
        fn row(exit: Exit) -> (u8, &'static str) {
            match exit {
                Exit::Failure => (1, "| 1 | AWS, network or file failure"),
                Exit::Usage => (2, "| 2 | usage error"),
                Exit::NoCredentials => (3, "| 3 | no credentials"),
                Exit::Expired => (4, "| 4 | a session expired"),
                Exit::KeyringUnavailable => {
                    (4, "the OS keyring holding the keys (`keys`) is locked")
                }
                Exit::Interrupted => (130, "| 130 | interrupted (Ctrl-C)"),
                Exit::HungUp => (129, "129 on SIGHUP"),
                Exit::Terminated => (143, "143 on SIGTERM"),
                Exit::CannotExecute => (126, "| 126, 127 | `exec`: the command cannot be run"),
                Exit::CommandNotFound => (
                    127,
                    "| 126, 127 | `exec`: the command cannot be run / was not found",
                ),
                Exit::Child(code) => (
                    code,
                    "| 128+N | `exec --server`: the command was ended by signal N",
                ),
            }
        }
        let readme = include_str!("../../README.md");
        let table = &readme[readme.find("## Exit codes").expect("README has exit codes")..];
        let table = &table[..table[3..].find("\n## ").map_or(table.len(), |end| end + 3)];
        for exit in [
            Exit::Failure,
            Exit::Usage,
            Exit::NoCredentials,
            Exit::Expired,
            Exit::KeyringUnavailable,
            Exit::Interrupted,
            Exit::HungUp,
            Exit::Terminated,
            Exit::CannotExecute,
            Exit::CommandNotFound,
            Exit::Child(137),
        ] {
            let (code, documented) = row(exit);
            assert_eq!(exit.code(), code, "{exit:?}");
            assert!(
                table.contains(documented),
                "README's exit codes lack {exit:?}: {documented:?}"
            );
        }
    }
}
