//! Paths as people write them: `~` for the home directory, and on Windows also `~\`, drive
//! letters, either separator, and the MSYS form Git Bash uses (`/c/Users/me`).
//!
//! The rules are written once, for both systems, as pure functions over a [`Style`]; the public
//! functions apply this system's style, and the unit tests check both styles on any system.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// How this system writes paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Unix,
    Windows,
}

const NATIVE: Style = if cfg!(windows) {
    Style::Windows
} else {
    Style::Unix
};

/// `s` without leading and trailing ASCII whitespace, in any encoding.
pub(crate) fn trim_ascii_whitespace(s: &OsStr) -> &OsStr {
    let bytes = s.as_encoded_bytes().trim_ascii();
    // SAFETY: only ASCII bytes were cut off the ends, so what is left starts and ends on a
    // boundary of the encoding, as `from_encoded_bytes_unchecked` requires.
    unsafe { OsStr::from_encoded_bytes_unchecked(bytes) }
}

/// On Windows, an MSYS path (`/c/Users/me`, from Git Bash) as the Windows path it names
/// (`C:\Users\me`); any other path unchanged.
pub(crate) fn from_msys(path: PathBuf) -> PathBuf {
    match (NATIVE, path.to_str().and_then(msys_to_windows)) {
        (Style::Windows, Some(windows)) => PathBuf::from(windows),
        _ => path,
    }
}

/// `/c/rest` → `C:\rest` (a drive letter between the first two slashes); `None` otherwise.
fn msys_to_windows(path: &str) -> Option<String> {
    let rest = path.strip_prefix('/')?;
    let mut chars = rest.chars();
    let drive = chars.next().filter(char::is_ascii_alphabetic)?;
    let after = chars.as_str();
    if !(after.is_empty() || after.starts_with('/')) {
        return None;
    }
    let tail = after.trim_start_matches('/').replace('/', "\\");
    Some(format!("{}:\\{tail}", drive.to_ascii_uppercase()))
}

/// `~` or `~/...` (on Windows also `~\...`) at the start of a path means the home directory;
/// `None` when it does and there is no home. On Windows the rest is joined with `\`, so a
/// message shows one kind of separator.
pub(crate) fn expand_home(path: &Path, home: Option<&Path>) -> Option<PathBuf> {
    expand_home_in(NATIVE, path, home)
}

fn expand_home_in(style: Style, path: &Path, home: Option<&Path>) -> Option<PathBuf> {
    let bytes = path.as_os_str().as_encoded_bytes();
    if bytes == b"~" {
        return home.map(Path::to_path_buf);
    }
    let rest = match style {
        Style::Unix => bytes.strip_prefix(b"~/"),
        Style::Windows => bytes
            .strip_prefix(b"~/")
            .or_else(|| bytes.strip_prefix(b"~\\")),
    };
    let Some(rest) = rest else {
        return Some(path.to_path_buf());
    };
    let home = home?;
    // SAFETY: `rest` is what follows an ASCII prefix of a valid encoded string.
    let rest = unsafe { OsStr::from_encoded_bytes_unchecked(rest) };
    Some(match style {
        Style::Unix => home.join(rest),
        Style::Windows => join_windows(home, rest),
    })
}

/// `home` joined with each part of `rest`, split at either separator, joined with `\`.
fn join_windows(home: &Path, rest: &OsStr) -> PathBuf {
    let mut text = home.as_os_str().to_os_string();
    for part in rest
        .as_encoded_bytes()
        .split(|b| *b == b'/' || *b == b'\\')
        .filter(|part| !part.is_empty())
    {
        if !text.as_encoded_bytes().ends_with(b"\\") && !text.as_encoded_bytes().ends_with(b"/") {
            text.push("\\");
        }
        // SAFETY: split at ASCII separators of a valid encoded string.
        text.push(unsafe { OsStr::from_encoded_bytes_unchecked(part) });
    }
    PathBuf::from(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_is_trimmed_in_any_encoding() {
        assert_eq!(
            trim_ascii_whitespace(OsStr::new("  a b \t\n")),
            OsStr::new("a b")
        );
        assert_eq!(trim_ascii_whitespace(OsStr::new(" é ")), OsStr::new("é"));
        assert_eq!(trim_ascii_whitespace(OsStr::new("   ")), OsStr::new(""));
    }

    #[test]
    fn msys_paths_name_windows_drives() {
        assert_eq!(
            msys_to_windows("/c/Users/me").as_deref(),
            Some("C:\\Users\\me")
        );
        assert_eq!(msys_to_windows("/d").as_deref(), Some("D:\\"));
        assert_eq!(msys_to_windows("/c/").as_deref(), Some("C:\\"));
        assert_eq!(msys_to_windows("/tmp/x"), None);
        assert_eq!(msys_to_windows("/1/x"), None);
        assert_eq!(msys_to_windows("C:\\Users"), None);
        assert_eq!(msys_to_windows("c/Users"), None);
    }

    #[test]
    fn home_expands_with_this_systems_separators() {
        let home = Path::new("/h");
        let unix = |p: &str| expand_home_in(Style::Unix, Path::new(p), Some(home));
        assert_eq!(unix("~/.aws/x"), Some(PathBuf::from("/h/.aws/x")));
        assert_eq!(unix("~"), Some(PathBuf::from("/h")));
        assert_eq!(unix("~\\x"), Some(PathBuf::from("~\\x")));
        assert_eq!(unix("/abs"), Some(PathBuf::from("/abs")));
        assert_eq!(expand_home_in(Style::Unix, Path::new("~/x"), None), None);

        let home = Path::new("C:\\Users\\me");
        let win = |p: &str| expand_home_in(Style::Windows, Path::new(p), Some(home));
        let text = |p: Option<PathBuf>| p.unwrap().to_string_lossy().into_owned();
        assert_eq!(text(win("~/.aws/config")), "C:\\Users\\me\\.aws\\config");
        assert_eq!(text(win("~\\.aws\\config")), "C:\\Users\\me\\.aws\\config");
        assert_eq!(
            text(win("~/.aws\\sso//cache")),
            "C:\\Users\\me\\.aws\\sso\\cache"
        );
        assert_eq!(text(win("D:/x/y")), "D:/x/y");
        let root = |p: &str| expand_home_in(Style::Windows, Path::new(p), Some(Path::new("C:\\")));
        assert_eq!(text(root("~/a")), "C:\\a");
    }
}
