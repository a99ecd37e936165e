//! The process environment, read once. Everything below `main` asks the context, never
//! `std::env`, so tests can run the same code against a fake environment.
//!
//! Variables are kept exactly as given (bytes, `OsString`): `Context::var` serves text
//! (UTF-8) callers, `Context::text_var` says when a variable read as text is not UTF-8 (a
//! usage error naming it, never a silent fallback), `Context::path_var` takes a path as
//! bytes, and `Context::vars_os` hands every variable on unchanged (`exec`).
//!
//! This module is the OS seam: `clippy.toml` bans `std::env::var*`, `std::fs` and
//! `std::process::Command` everywhere else, and allows them here.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "src/os is the one place that touches the OS"
)]

pub(crate) mod browser;
pub(crate) mod callback;
pub(crate) mod child;
pub(crate) mod fs;
pub(crate) mod keyring;
pub(crate) mod path;
pub(crate) mod peer;
pub(crate) mod process;
pub(crate) mod shell;
pub mod signal;
pub(crate) mod spinner;
pub(crate) mod terminal;
#[cfg(windows)]
pub(crate) mod windows;

use crate::base::error::Problem;
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// Test-only switch: `AWS_CRED_TEST_NOW=<unix seconds>` freezes the clock, so recorded
/// traffic (whose credentials expired long ago) can be replayed, as the SDKs' harnesses do.
/// Like every `AWS_CRED_TEST_*` switch, only debug builds (what `cargo test` runs) honour it.
pub(crate) const TEST_NOW_VAR: &str = "AWS_CRED_TEST_NOW";

/// Whether `AWS_CRED_TEST_*` switches are honoured: in debug builds only, so a `cargo install`
/// binary cannot be told to freeze its clock (and print expired keys) or redirect its traffic.
pub(crate) const TEST_SWITCHES: bool = cfg!(debug_assertions);

/// The longest line read from standard input (docs/SECURITY.md, limits).
pub(crate) const MAX_STDIN_LINE: u64 = 64 * 1024;

/// The process environment: its variables, its clock, and which standard streams are terminals.
#[derive(Clone)]
pub struct Context {
    /// Every variable whose name and value are UTF-8.
    env: BTreeMap<String, String>,
    /// Every variable exactly as given, in the order given.
    raw: Vec<(OsString, OsString)>,
    /// Fixed clock for tests; `None` means the system clock.
    clock: Option<SystemTime>,
    /// Standard input is a terminal (a person can answer a prompt).
    pub stdin_is_tty: bool,
    /// Standard output is a terminal (not a pipe or a file).
    pub stdout_is_tty: bool,
    /// Standard error is a terminal (prompts, the spinner and colour go there).
    pub stderr_is_tty: bool,
}

/// Variable names only: values may be credentials.
impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("variables", &self.env.keys().collect::<Vec<_>>())
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// Snapshot of the real process. The only place that reads `std::env::vars`.
    pub fn from_process() -> Self {
        let raw: Vec<(OsString, OsString)> = std::env::vars_os().collect();
        let env = utf8_only(&raw);
        let clock = env
            .get(TEST_NOW_VAR)
            .filter(|_| TEST_SWITCHES)
            .and_then(|secs| secs.trim().parse::<u64>().ok())
            .and_then(|secs| SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs)));
        Context {
            env,
            raw,
            clock,
            stdin_is_tty: std::io::stdin().is_terminal(),
            stdout_is_tty: std::io::stdout().is_terminal(),
            stderr_is_tty: std::io::stderr().is_terminal(),
        }
    }

    /// This run's arguments after the program name, for messages that repeat the command.
    pub(crate) fn arguments() -> Vec<String> {
        std::env::args_os()
            .skip(1)
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect()
    }

    /// A context with exactly these variables (tests).
    pub fn with_env<'a>(vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self::with_os_env(vars.into_iter().map(|(k, v)| (k.into(), v.into())))
    }

    /// A context with exactly these variables, in any encoding (tests).
    pub(crate) fn with_os_env(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Self {
        let raw: Vec<(OsString, OsString)> = vars.into_iter().collect();
        Context {
            env: utf8_only(&raw),
            raw,
            clock: None,
            stdin_is_tty: false,
            stdout_is_tty: false,
            stderr_is_tty: false,
        }
    }

    #[cfg(test)]
    pub(crate) fn at_time(mut self, now: SystemTime) -> Self {
        self.clock = Some(now);
        self
    }

    /// The raw value of a variable, even if blank.
    pub(crate) fn raw_var(&self, name: &str) -> Option<&str> {
        self.env.get(name).map(String::as_str)
    }

    /// A variable's value, trimmed; blank values count as absent (as the AWS SDKs do).
    pub(crate) fn var(&self, name: &str) -> Option<&str> {
        self.raw_var(name)
            .map(str::trim)
            .filter(|value| !value.is_empty())
    }

    /// A variable's value as given, in any encoding (the last one if set twice).
    pub(crate) fn var_os(&self, name: &str) -> Option<&OsStr> {
        self.raw
            .iter()
            .rev()
            .find(|(k, _)| k.as_os_str() == OsStr::new(name))
            .map(|(_, v)| v.as_os_str())
    }

    /// [`Context::var`] for a variable aws-cred reads as text: set but not UTF-8 is a usage
    /// error naming it (exit 2), not a silent "unset".
    pub(crate) fn text_var(&self, name: &str) -> Result<Option<&str>, Problem> {
        match self.var_os(name) {
            Some(value) if value.to_str().is_none() => Err(Problem::usage(format!(
                "{name} is not valid UTF-8 ({})",
                crate::base::text::escape(&value.to_string_lossy())
            ))
            .hint(format!("set {name} to a UTF-8 value, or unset it"))),
            _ => Ok(self.var(name)),
        }
    }

    /// A variable holding a path, in any encoding; surrounding ASCII whitespace is trimmed and
    /// a blank value counts as absent, as [`Context::var`] does. On Windows an MSYS path from
    /// Git Bash (`/c/Users/me`) is read as the Windows path it names (`C:\Users\me`).
    pub(crate) fn path_var(&self, name: &str) -> Option<PathBuf> {
        let trimmed = path::trim_ascii_whitespace(self.var_os(name)?);
        (!trimmed.is_empty()).then(|| path::from_msys(PathBuf::from(trimmed)))
    }

    /// Every variable exactly as given (names and values in any encoding).
    pub(crate) fn vars_os(&self) -> impl Iterator<Item = (&OsStr, &OsStr)> {
        self.raw.iter().map(|(k, v)| (k.as_os_str(), v.as_os_str()))
    }

    /// A test-only switch (`AWS_CRED_TEST_*`); always `None` in release builds.
    pub(crate) fn test_switch(&self, name: &str) -> Option<&str> {
        if TEST_SWITCHES { self.var(name) } else { None }
    }

    /// A boolean variable: `true` (any case) is true, anything else false.
    pub(crate) fn flag(&self, name: &str) -> bool {
        self.var(name)
            .is_some_and(|value| value.eq_ignore_ascii_case("true"))
    }

    /// The home directory, found as the AWS SDKs find it: `HOME`; on Windows then
    /// `USERPROFILE`, then `HOMEDRIVE` + `HOMEPATH`; else the system's record of the user.
    pub(crate) fn home(&self) -> Option<PathBuf> {
        self.home_on(cfg!(windows))
    }

    /// [`Context::home`] with the Windows rules or without (both are tested on any system).
    fn home_on(&self, windows: bool) -> Option<PathBuf> {
        if let Some(home) = self.path_var("HOME") {
            return Some(home);
        }
        if windows {
            if let Some(profile) = self.path_var("USERPROFILE") {
                return Some(profile);
            }
            if let (Some(drive), Some(rest)) = (self.var("HOMEDRIVE"), self.var("HOMEPATH")) {
                return Some(PathBuf::from(format!("{drive}{rest}")));
            }
        }
        if self.clock.is_none() {
            dirs::home_dir()
        } else {
            None
        }
    }

    /// Ask the person at the terminal (never stdout) and read one line. `None` when there is no
    /// terminal.
    pub(crate) fn prompt_line(&self, prompt: &str) -> Option<String> {
        self.terminal()?.ask(prompt)
    }

    /// Like [`Context::prompt_line`], with echo turned off while the person types (passwords).
    /// The terminal's settings come back afterwards, and also when Ctrl-C ends the run
    /// ([`restore_terminal`]).
    pub(crate) fn prompt_secret(&self, prompt: &str) -> Option<String> {
        self.terminal()?.ask_secret(prompt)
    }

    /// The person's terminal, when they are at one (stdin or stderr is a terminal).
    fn terminal(&self) -> Option<terminal::Terminal> {
        if !(self.stdin_is_tty || self.stderr_is_tty) {
            return None;
        }
        terminal::Terminal::open()
    }

    /// Colour escapes are understood on stdout: a terminal (on Windows a console that takes
    /// virtual terminal sequences, turned on here, or mintty). Asked only by what colours.
    pub(crate) fn stdout_ansi(&self) -> bool {
        self.stdout_is_tty && terminal::supports_ansi(&std::io::stdout())
    }

    /// [`Context::stdout_ansi`] for stderr.
    pub(crate) fn stderr_ansi(&self) -> bool {
        self.stderr_is_tty && terminal::supports_ansi(&std::io::stderr())
    }

    /// The first line of standard input, without its line ending (`--password-stdin`, `keys add
    /// --stdin`, the code `login --remote` asks for). At most [`MAX_STDIN_LINE`] bytes are read:
    /// a longer line is an error, so a stream of hundreds of megabytes costs no memory.
    pub(crate) fn read_stdin_line(&self) -> std::io::Result<String> {
        use std::io::{BufRead, Read};
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .take(MAX_STDIN_LINE + 1)
            .read_line(&mut line)?;
        if line.len() as u64 > MAX_STDIN_LINE {
            zeroize::Zeroize::zeroize(&mut line);
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "its first line is longer than {} KiB; aws-cred reads one short line (a \
                     password, a key, a code)",
                    MAX_STDIN_LINE / 1024
                ),
            ));
        }
        // Trimmed in place: the line may be a password, which must not leave copies behind.
        let len = line.trim_end_matches(['\r', '\n']).len();
        line.truncate(len);
        Ok(line)
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.clock.unwrap_or_else(SystemTime::now)
    }

    /// Where aws-cred keeps its own caches: `$AWS_CRED_CACHE_DIR`, else `~/.aws/aws-cred/cache`.
    pub(crate) fn cache_dir(&self) -> Option<PathBuf> {
        if let Some(dir) = self.path_var("AWS_CRED_CACHE_DIR") {
            return Some(dir);
        }
        Some(self.home()?.join(".aws").join("aws-cred").join("cache"))
    }

    /// Variables as the aws-config shims want them.
    pub(crate) fn sdk_env(&self) -> aws_types::os_shim_internal::Env {
        let map: std::collections::HashMap<String, String> = self
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        aws_types::os_shim_internal::Env::from(map)
    }
}

/// The variables whose name and value are both UTF-8 (the last one if set twice).
fn utf8_only(raw: &[(OsString, OsString)]) -> BTreeMap<String, String> {
    raw.iter()
        .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v.to_str()?.to_string())))
        .collect()
}

/// The most files this process may open (the soft limit), `None` when unlimited or where
/// there is no such limit to read (Windows). Not raised: `exec --server`'s command would
/// inherit a raised limit.
#[cfg(unix)]
pub(crate) fn open_file_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

#[cfg(not(unix))]
pub(crate) fn open_file_limit() -> Option<u64> {
    None
}

/// Put back the terminal's echo if a no-echo prompt was interrupted (Ctrl-C).
pub fn restore_terminal() {
    terminal::restore();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_names_not_values() {
        let ctx = Context::with_env([("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI")]);
        let text = format!("{ctx:?}");
        assert!(
            text.contains("AWS_SECRET_ACCESS_KEY") && !text.contains("wJalr"),
            "{text}"
        );
    }

    #[test]
    fn blank_values_count_as_absent() {
        let ctx = Context::with_env([("A", "  "), ("B", " x "), ("C", "")]);
        assert_eq!(ctx.var("A"), None);
        assert_eq!(ctx.var("B"), Some("x"));
        assert_eq!(ctx.var("C"), None);
        assert_eq!(ctx.raw_var("C"), Some(""));
        assert_eq!(ctx.var("D"), None);
    }

    // Unix only: the bytes below are not valid UTF-16 either, and Windows variables are UTF-16.
    #[cfg(unix)]
    #[test]
    fn values_in_any_encoding_are_kept() {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::ffi::OsStringExt;
        let bad = || OsString::from_vec(b"prod\xff".to_vec());
        let ctx = Context::with_os_env([
            ("AWS_PROFILE".into(), bad()),
            ("P".into(), OsString::from_vec(b"  /tmp/\xfe/c  ".to_vec())),
            (OsString::from_vec(b"N\xff".to_vec()), "v".into()),
            ("OK".into(), "fine".into()),
            ("BLANK".into(), " ".into()),
        ]);
        // Text callers: the variable is not UTF-8, and text_var says so.
        assert_eq!(ctx.var("AWS_PROFILE"), None);
        let err = ctx.text_var("AWS_PROFILE").unwrap_err();
        assert_eq!(err.exit, crate::base::error::Exit::Usage);
        assert!(err.message.contains("AWS_PROFILE"), "{}", err.message);
        assert_eq!(ctx.text_var("OK").unwrap(), Some("fine"));
        assert_eq!(ctx.text_var("NONE").unwrap(), None);
        // Paths: bytes.
        assert_eq!(
            ctx.path_var("P").unwrap().as_os_str().as_bytes(),
            b"/tmp/\xfe/c"
        );
        assert_eq!(ctx.path_var("BLANK"), None);
        // Everything, unchanged.
        assert_eq!(ctx.vars_os().count(), 5);
        assert_eq!(ctx.var_os("AWS_PROFILE"), Some(bad().as_os_str()));
    }

    #[test]
    fn home_is_found_as_the_sdks_find_it() {
        let at = |vars: &[(&'static str, &'static str)], windows: bool| {
            Context::with_env(vars.iter().copied())
                .at_time(SystemTime::UNIX_EPOCH)
                .home_on(windows)
                .map(|p| p.to_string_lossy().into_owned())
        };
        let all = [
            ("HOME", "/home/me"),
            ("USERPROFILE", "C:\\Users\\me"),
            ("HOMEDRIVE", "D:"),
            ("HOMEPATH", "\\Users\\other"),
        ];
        assert_eq!(at(&all, true).as_deref(), Some("/home/me"));
        assert_eq!(at(&all[1..], true).as_deref(), Some("C:\\Users\\me"));
        assert_eq!(at(&all[2..], true).as_deref(), Some("D:\\Users\\other"));
        assert_eq!(at(&all[3..], true), None, "HOMEPATH alone is no home");
        // Elsewhere only HOME counts.
        assert_eq!(at(&all[1..], false), None);
        assert_eq!(at(&[("HOME", " ")], true), None, "blank is absent");
    }

    #[test]
    fn flags_are_case_insensitive_true() {
        let ctx = Context::with_env([("A", "TRUE"), ("B", "1"), ("C", "True ")]);
        assert!(ctx.flag("A"));
        assert!(!ctx.flag("B"));
        assert!(ctx.flag("C"));
    }
}
