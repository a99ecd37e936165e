//! A child process that aws-cred stays the parent of (`exec --server`): spawned with exactly
//! the environment it is given, the terminal's signals passed on to it, and its end reported
//! the way shells report it (its exit code, or 128 + the signal that killed it).
//!
//! Kept apart from `process.rs` (credential_process) on purpose: the two have nothing in common
//! but the word "process".

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use tokio::signal::unix::{SignalKind, signal};

/// What to run: a program, its arguments, and its whole environment (nothing is inherited),
/// variables as bytes, whatever their encoding.
pub struct Spec {
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
pub struct Child {
    inner: tokio::process::Child,
    signals: Vec<(tokio::signal::unix::Signal, libc::c_int)>,
}

/// The signals a terminal or a supervisor sends that the child should get too.
const FORWARDED: [(SignalKind, libc::c_int); 3] = [
    (SignalKind::interrupt(), libc::SIGINT),
    (SignalKind::terminate(), libc::SIGTERM),
    (SignalKind::hangup(), libc::SIGHUP),
];

/// Start `spec` with stdin, stdout and stderr inherited. From here on SIGINT, SIGTERM and
/// SIGHUP no longer end aws-cred: they are kept for [`Child::wait_forwarding`].
pub fn spawn(spec: &Spec) -> std::io::Result<Child> {
    // Listen before the child exists, so no signal finds aws-cred with the default action.
    let mut signals = Vec::new();
    for (kind, number) in FORWARDED {
        signals.push((signal(kind)?, number));
    }
    let mut command = tokio::process::Command::new(&spec.program);
    command
        .args(&spec.args)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .kill_on_drop(false);
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
    Ok(Child {
        inner: command.spawn()?,
        signals,
    })
}

impl Child {
    /// Wait for the child to end, passing SIGINT, SIGTERM and SIGHUP on to it meanwhile.
    /// Returns the child's status as a shell reports it.
    pub async fn wait_forwarding(mut self) -> std::io::Result<u8> {
        let pid = self.inner.id().and_then(|p| libc::pid_t::try_from(p).ok());
        loop {
            let [(int, sigint), (term, sigterm), (hup, sighup)] = &mut self.signals[..] else {
                unreachable!("three signals")
            };
            let number = tokio::select! {
                status = self.inner.wait() => return Ok(shell_status(status?)),
                _ = int.recv() => *sigint,
                _ = term.recv() => *sigterm,
                _ = hup.recv() => *sighup,
            };
            if let Some(pid) = pid {
                // SAFETY: kill(2) on the child we spawned, not reaped yet (wait() has not
                // returned), so the pid cannot have been reused.
                unsafe {
                    libc::kill(pid, number);
                }
            }
        }
    }
}

/// Exit code as shells give it: the code, or 128 + the signal that ended the process.
pub fn shell_status(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(1),
        (None, Some(signal)) => u8::try_from((128 + signal) & 0xff).unwrap_or(1),
        (None, None) => 1,
    }
}

/// Wait for SIGINT or SIGTERM (a standalone server's way to end).
pub async fn interrupted_or_terminated() -> std::io::Result<()> {
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_as_shells_read_them() {
        assert_eq!(shell_status(ExitStatus::from_raw(0)), 0);
        assert_eq!(shell_status(ExitStatus::from_raw(3 << 8)), 3);
        // Killed by SIGKILL (9), SIGTERM (15).
        assert_eq!(shell_status(ExitStatus::from_raw(9)), 137);
        assert_eq!(shell_status(ExitStatus::from_raw(15)), 143);
    }
}
