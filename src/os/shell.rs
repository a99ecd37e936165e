//! Which shell aws-cred runs in, for the default output format. On Unix the answer is always a
//! POSIX shell (`eval "$(aws-cred …)"` works in bash, zsh, dash and ksh; fish users pass
//! `--format fish`). On Windows it is read from the environment and the parent process: Git Bash
//! and other MSYS shells set `MSYSTEM`; otherwise the parent is PowerShell (`powershell.exe`,
//! `pwsh.exe`) or `cmd.exe`; anything else gets PowerShell, Windows' own shell.

use crate::os::Context;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(
    clippy::enum_variant_names,
    reason = "PowerShell is the shell's own name"
)]
pub(crate) enum Shell {
    Posix,
    PowerShell,
    Cmd,
}

/// The shell aws-cred was started from (see the module docs).
pub(crate) fn detect(ctx: &Context) -> Shell {
    if cfg!(windows) {
        on_windows(ctx.var("MSYSTEM").is_some(), parent_program().as_deref())
    } else {
        Shell::Posix
    }
}

#[cfg(windows)]
fn parent_program() -> Option<String> {
    crate::os::windows::parent_program()
}

#[cfg(not(windows))]
fn parent_program() -> Option<String> {
    None
}

/// The Windows rule, given `MSYSTEM`'s presence and the parent's program name.
fn on_windows(msystem: bool, parent: Option<&str>) -> Shell {
    if msystem {
        return Shell::Posix;
    }
    let name = parent.unwrap_or_default().to_ascii_lowercase();
    let name = name.rsplit(['\\', '/']).next().unwrap_or_default();
    match name {
        "cmd.exe" | "cmd" => Shell::Cmd,
        "bash.exe" | "sh.exe" | "zsh.exe" | "dash.exe" | "ksh.exe" => Shell::Posix,
        _ => Shell::PowerShell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_shells_by_environment_and_parent() {
        assert_eq!(on_windows(true, Some("cmd.exe")), Shell::Posix);
        assert_eq!(on_windows(false, Some("bash.exe")), Shell::Posix);
        assert_eq!(on_windows(false, Some("CMD.EXE")), Shell::Cmd);
        assert_eq!(on_windows(false, Some("pwsh.exe")), Shell::PowerShell);
        assert_eq!(on_windows(false, Some("powershell.exe")), Shell::PowerShell);
        assert_eq!(on_windows(false, Some("explorer.exe")), Shell::PowerShell);
        assert_eq!(on_windows(false, None), Shell::PowerShell);
    }

    #[test]
    fn unix_is_always_posix() {
        if cfg!(unix) {
            let ctx = Context::with_env([("MSYSTEM", "MINGW64")]);
            assert_eq!(detect(&ctx), Shell::Posix);
        }
    }
}
