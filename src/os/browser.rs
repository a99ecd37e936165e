//! Opening the sign-in page. The browser is started through the `webbrowser` crate, which
//! honours `BROWSER` (a command, as on every Unix) before the desktop's default; where no
//! browser can show a page to the person (an SSH session, no display) login uses the device
//! code flow instead.

use crate::base::secret::Secret;
use crate::os::Context;
pub(crate) use crate::os::callback::HandOff;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Browser {
    /// Open the page and print its URL too.
    Open,
    /// `--no-browser`: print the URL only.
    PrintOnly,
    /// No browser here (the reason): use the device code flow.
    Unavailable(String),
}

/// Decide from the environment: `BROWSER` set means a browser; an SSH session (without
/// `BROWSER`) means the page would open on the wrong machine; on Linux and the BSDs, no
/// `DISPLAY`/`WAYLAND_DISPLAY` means no graphical browser.
pub(crate) fn choose(ctx: &Context, no_browser: bool) -> Browser {
    if no_browser {
        return Browser::PrintOnly;
    }
    if ctx.var("BROWSER").is_some() {
        return Browser::Open;
    }
    if let Some(var) = ["SSH_CONNECTION", "SSH_TTY"]
        .into_iter()
        .find(|v| ctx.var(v).is_some())
    {
        return Browser::Unavailable(format!("this is an SSH session ({var} is set)"));
    }
    let needs_display = !cfg!(any(target_os = "macos", target_os = "windows"));
    if needs_display && ctx.var("DISPLAY").is_none() && ctx.var("WAYLAND_DISPLAY").is_none() {
        return Browser::Unavailable(
            "there is no display (DISPLAY and WAYLAND_DISPLAY are unset)".into(),
        );
    }
    Browser::Open
}

/// Whether `url` may be handed to a browser: `https://`, or `http://` to a loopback address
/// (local test endpoints, the loopback callback). A URL from a server could otherwise name a
/// local file (`file:///etc/shadow`), a share (`smb://…`) or a custom scheme that starts a
/// program. `Err` says why not.
pub(crate) fn check_url(url: &str) -> Result<(), OpenError> {
    let parsed = url::Url::parse(url).map_err(OpenError::NotAUrl)?;
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(()),
        "http" => match parsed.host() {
            Some(url::Host::Domain("localhost")) => Ok(()),
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(()),
            _ => Err(OpenError::NotLocalHttp),
        },
        scheme => Err(OpenError::Scheme(scheme.to_string())),
    }
}

/// Why a page was not opened.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OpenError {
    #[error("it is not a URL ({0})")]
    NotAUrl(url::ParseError),
    #[error("only https:// pages are opened (http:// only on this computer)")]
    NotLocalHttp,
    #[error("its scheme is {0}:, and only https:// pages are opened")]
    Scheme(String),
    #[error("cannot listen on 127.0.0.1 to hand the page to the browser: {0}")]
    HandOff(std::io::Error),
    #[error("{0}")]
    Launch(std::io::Error),
    #[error("{0}")]
    Task(tokio::task::JoinError),
}

/// Start the browser on `url`, if [`check_url`] allows it. The browser is given a one-time
/// loopback URL that redirects to `url` ([`HandOff`]), never `url` itself: a command line is
/// readable by every local user, and `url` may carry a sign-in's state or a console session.
/// Waits up to 5 s for the launcher (a text-mode browser runs in the foreground and may take
/// longer: it is left running). The caller waits for the hand-off ([`HandOff::served`]) or
/// lets it run on ([`HandOff::detach`]).
pub(crate) async fn open(url: &str) -> Result<HandOff, OpenError> {
    check_url(url)?;
    let handoff = HandOff::start(&Secret::new(url))
        .await
        .map_err(OpenError::HandOff)?;
    let local = handoff.url().to_string();
    let launch = tokio::task::spawn_blocking(move || launch(&local));
    match tokio::time::timeout(Duration::from_secs(5), launch).await {
        Ok(Ok(Ok(()))) | Err(_) => Ok(handoff),
        Ok(Ok(Err(err))) => Err(OpenError::Launch(err)),
        Ok(Err(err)) => Err(OpenError::Task(err)),
    }
}

/// Unix: `BROWSER` when it is set ([`run_browser_variable`]), else the `webbrowser` crate (the
/// desktop's default).
#[cfg(not(windows))]
fn launch(url: &str) -> std::io::Result<()> {
    match std::env::var("BROWSER")
        .ok()
        .filter(|b| !b.trim().is_empty())
    {
        Some(browser) => run_browser_variable(&browser, url),
        None => webbrowser::open_browser_with_options(
            webbrowser::Browser::Default,
            url,
            webbrowser::BrowserOptions::new().with_suppress_output(true),
        ),
    }
}

/// How long a `BROWSER` command may take to say it failed; one still running then is taken to
/// be the browser itself (a text-mode browser in the foreground) and left running.
#[cfg(not(windows))]
const BROWSER_VERDICT: Duration = Duration::from_secs(4);

/// `BROWSER` as the convention has it: commands separated by `:`, tried in order, each given
/// the URL in place of `%s` or as its last argument. Run by `/bin/sh` with the URL as `$1`, so
/// the URL is never parsed by the shell. A command that exits non-zero is a failure, and when
/// every one fails that is the error (the `webbrowser` crate would quietly fall back to
/// another browser instead); the message never holds the URL.
#[cfg(not(windows))]
fn run_browser_variable(browser: &str, url: &str) -> std::io::Result<()> {
    use std::process::{Command, Stdio};
    let deadline = std::time::Instant::now() + BROWSER_VERDICT;
    let mut failures = Vec::new();
    for entry in browser.split(':').map(str::trim).filter(|e| !e.is_empty()) {
        let script = if entry.contains("%s") {
            entry.replace("%s", "\"$1\"")
        } else {
            format!("{entry} \"$1\"")
        };
        let spawned = Command::new("/bin/sh")
            .args(["-c", &script, "aws-cred-browser", url])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(err) => {
                failures.push(format!("{entry}: {err}"));
                continue;
            }
        };
        // Bounded by the deadline.
        loop {
            match child.try_wait()? {
                Some(status) if status.success() => return Ok(()),
                Some(status) => {
                    let code = status
                        .code()
                        .map_or_else(|| "a signal".to_string(), |c| format!("status {c}"));
                    failures.push(format!("`{entry}` exited with {code}"));
                    break;
                }
                None if std::time::Instant::now() >= deadline => return Ok(()),
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
    Err(std::io::Error::other(format!(
        "the BROWSER command failed: {}",
        failures.join("; ")
    )))
}

/// Windows: `BROWSER` (a program, given the URL as its one argument), else ShellExecute, which
/// hands the URL to the default browser without a shell (`cmd /c start` would cut it at `&`).
#[cfg(windows)]
fn launch(url: &str) -> std::io::Result<()> {
    match std::env::var_os("BROWSER").filter(|b| !b.is_empty()) {
        Some(browser) => std::process::Command::new(browser)
            .arg(url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .map(drop),
        None => crate::os::windows::shell_open(url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_and_loopback_http_are_opened() {
        for ok in [
            "https://device.sso.us-east-1.amazonaws.com/?user_code=ABCD-EFGH",
            "http://127.0.0.1:8080/device",
            "http://localhost/x",
            "http://[::1]:9/x",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "file:///etc/shadow",
            "smb://evil/share",
            "x-custom-handler://run?cmd=sh",
            "javascript:alert(1)",
            "http://evil.example.com/",
            "http://10.0.0.1/",
            "not a url",
            "",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn choice_follows_the_environment() {
        let ctx = |vars: &[(&'static str, &'static str)]| Context::with_env(vars.iter().copied());
        assert_eq!(choose(&ctx(&[]), true), Browser::PrintOnly);
        assert_eq!(choose(&ctx(&[("BROWSER", "w3m")]), false), Browser::Open);
        assert!(matches!(
            choose(&ctx(&[("SSH_CONNECTION", "1 2 3 4"), ("DISPLAY", ":0")]), false),
            Browser::Unavailable(r) if r.contains("SSH")
        ));
        if cfg!(target_os = "linux") {
            assert!(matches!(choose(&ctx(&[]), false), Browser::Unavailable(_)));
            assert_eq!(
                choose(&ctx(&[("WAYLAND_DISPLAY", "wayland-0")]), false),
                Browser::Open
            );
        }
    }
}
