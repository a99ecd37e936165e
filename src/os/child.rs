//! A child process that aws-cred stays the parent of (`exec --server`): spawned with exactly
//! the environment it is given, the terminal's signals passed on to it, and its end reported
//! the way shells report it (its exit code, or 128 + the signal that killed it).
//!
//! Kept apart from `process.rs` (credential_process) on purpose: the two have nothing in common
//! but the word "process".

use std::ffi::OsString;
use std::process::{ExitStatus, Stdio};

/// What to run: a program, its arguments, and its whole environment (nothing is inherited),
/// variables as bytes, whatever their encoding.
pub(crate) struct Spec {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
}

/// Variable names only: values may be credentials or the server's token.
impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spec")
            .field("program", &self.program)
            .field(
                "env",
                &self
                    .env
                    .iter()
                    .map(|(k, _)| k.as_os_str())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// A running child, and the signals to pass on to it.
pub(crate) struct Child {
    inner: tokio::process::Child,
    signals: imp::Signals,
}

/// Start `spec` with stdin, stdout and stderr inherited. From here on the signals that would
/// end aws-cred no longer do: on Unix SIGINT, SIGTERM and SIGHUP are kept for
/// [`Child::wait_forwarding`]; on Windows Ctrl-C and Ctrl-Break reach the child through the
/// console, and aws-cred waits for it to end.
pub(crate) fn spawn(spec: &Spec) -> std::io::Result<Child> {
    // Listen before the child exists, so no signal finds aws-cred with the default action.
    let signals = imp::Signals::listen()?;
    let mut command = tokio::process::Command::new(&spec.program);
    command
        .args(&spec.args)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .kill_on_drop(false);
    imp::prepare(&mut command);
    Ok(Child {
        inner: command.spawn()?,
        signals,
    })
}

impl Child {
    /// Wait for the child to end, passing signals on to it meanwhile (Unix; on Windows the
    /// console delivers them). Returns the child's status as a shell reports it.
    pub(crate) async fn wait_forwarding(mut self) -> std::io::Result<u8> {
        let pid = self.inner.id();
        loop {
            tokio::select! {
                status = self.inner.wait() => return Ok(shell_status(status?)),
                signal = self.signals.next() => imp::forward(pid, signal),
            }
        }
    }
}

/// Exit code as shells give it: the code, or 128 + the signal that ended the process (Unix);
/// on Windows a code above 255 (an NTSTATUS such as a crash) is 1, and Ctrl-C's is 130.
pub(crate) fn shell_status(status: ExitStatus) -> u8 {
    imp::shell_status(status)
}

/// Wait for the signal that ends a standalone server: SIGINT or SIGTERM; on Windows Ctrl-C,
/// Ctrl-Break, the console closing, logoff or shutdown.
pub(crate) async fn interrupted_or_terminated() -> std::io::Result<()> {
    imp::interrupted_or_terminated().await
}

#[cfg(unix)]
mod imp {
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;
    use tokio::signal::unix::{Signal, SignalKind, signal};

    /// SIGINT, SIGTERM and SIGHUP: what a terminal or a supervisor sends that the child should
    /// get too.
    pub(super) struct Signals {
        int: Signal,
        term: Signal,
        hup: Signal,
    }

    impl Signals {
        pub(super) fn listen() -> std::io::Result<Signals> {
            Ok(Signals {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
                hup: signal(SignalKind::hangup())?,
            })
        }

        /// The next signal's number.
        pub(super) async fn next(&mut self) -> libc::c_int {
            tokio::select! {
                _ = self.int.recv() => libc::SIGINT,
                _ = self.term.recv() => libc::SIGTERM,
                _ = self.hup.recv() => libc::SIGHUP,
            }
        }
    }

    pub(super) fn prepare(command: &mut tokio::process::Command) {
        // aws-cred ignores SIGXFSZ for its own writes; the command gets the default back. On
        // Linux the command also gets SIGTERM if aws-cred dies without passing a signal on
        // (SIGKILL, a crash): its credentials would stop refreshing without a word otherwise.
        // SAFETY: only async-signal-safe calls (signal, prctl) run between fork and exec.
        unsafe {
            command.pre_exec(|| {
                libc::signal(libc::SIGXFSZ, libc::SIG_DFL);
                #[cfg(target_os = "linux")]
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
    }

    pub(super) fn forward(pid: Option<u32>, signal: libc::c_int) {
        if let Some(pid) = pid.and_then(|p| libc::pid_t::try_from(p).ok()) {
            // SAFETY: kill(2) on the child we spawned, not reaped yet (wait() has not
            // returned), so the pid cannot have been reused.
            unsafe {
                libc::kill(pid, signal);
            }
        }
    }

    pub(super) fn shell_status(status: ExitStatus) -> u8 {
        match (status.code(), status.signal()) {
            (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(1),
            (None, Some(signal)) => u8::try_from((128 + signal) & 0xff).unwrap_or(1),
            (None, None) => 1,
        }
    }

    pub(super) async fn interrupted_or_terminated() -> std::io::Result<()> {
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        Ok(())
    }
}

#[cfg(windows)]
mod imp {
    use std::process::ExitStatus;
    use tokio::signal::windows::{CtrlBreak, CtrlC, ctrl_break, ctrl_c};

    /// Ctrl-C and Ctrl-Break, listened to so they do not end aws-cred: the console has
    /// delivered them to the child already.
    pub(super) struct Signals {
        int: CtrlC,
        brk: CtrlBreak,
    }

    impl Signals {
        pub(super) fn listen() -> std::io::Result<Signals> {
            Ok(Signals {
                int: ctrl_c()?,
                brk: ctrl_break()?,
            })
        }

        pub(super) async fn next(&mut self) {
            tokio::select! {
                _ = self.int.recv() => {}
                _ = self.brk.recv() => {}
            }
        }
    }

    pub(super) fn prepare(_command: &mut tokio::process::Command) {}

    /// Nothing to do: every process on the console got the event.
    pub(super) fn forward(_pid: Option<u32>, _signal: ()) {}

    pub(super) fn shell_status(status: ExitStatus) -> u8 {
        match status.code().map(|code| code as u32) {
            Some(crate::os::windows::CONTROL_C_EXIT) => 130,
            Some(code) => u8::try_from(code).unwrap_or(1),
            None => 1,
        }
    }

    pub(super) async fn interrupted_or_terminated() -> std::io::Result<()> {
        crate::os::signal::stopped().await;
        Ok(())
    }
}

// Unix only: the statuses are built from raw wait(2) values.
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn statuses_read_as_shells_read_them() {
        assert_eq!(shell_status(ExitStatus::from_raw(0)), 0);
        assert_eq!(shell_status(ExitStatus::from_raw(3 << 8)), 3);
        // Killed by SIGKILL (9), SIGTERM (15).
        assert_eq!(shell_status(ExitStatus::from_raw(9)), 137);
        assert_eq!(shell_status(ExitStatus::from_raw(15)), 143);
    }
}
