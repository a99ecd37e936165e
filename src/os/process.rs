//! Child processes run for their output (`credential_process`), bounded in time and memory.
//!
//! The command runs with `sh -c` in its own process group, so everything it starts can be
//! ended together: the whole group is killed (SIGKILL) when the time limit passes, when its
//! output passes the size limit, and when the run is dropped (Ctrl-C ends aws-cred). When
//! aws-cred is the terminal's foreground job, the child's group is made the foreground job
//! while it runs (so it can prompt on the terminal, and Ctrl-C reaches it), and aws-cred's own
//! group gets the terminal back afterwards.

use std::fs::{File, OpenOptions};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// The most a command may print on stdout (credential_process JSON is a few hundred bytes).
pub const MAX_OUTPUT: usize = 1024 * 1024;

/// Why a command gave no usable output.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot start it: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("it printed more than {limit} bytes on stdout; it was stopped")]
    TooMuchOutput { limit: usize },
    #[error("it did not finish within {} s; it was stopped (with everything it started)", .0.as_secs())]
    Timeout(Duration),
    #[error("cannot read its output: {0}")]
    Read(#[source] std::io::Error),
}

/// What the command printed on stdout, and how it ended.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
}

impl Finished {
    /// Ended by SIGINT: Ctrl-C at the terminal while it was the foreground job.
    pub fn interrupted(&self) -> bool {
        use std::os::unix::process::ExitStatusExt;
        self.status.signal() == Some(libc::SIGINT)
    }
}

/// Kills the child's process group when dropped, unless the child finished on its own.
struct GroupGuard {
    pgid: Option<rustix::process::Pid>,
}

impl GroupGuard {
    fn kill(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The terminal's foreground handed to the child's group; given back on drop.
struct Foreground {
    tty: File,
    ours: rustix::process::Pid,
}

impl Foreground {
    fn hand_to(child: rustix::process::Pid) -> Option<Foreground> {
        use std::os::unix::fs::OpenOptionsExt;
        let tty = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
            .open("/dev/tty")
            .ok()?;
        let ours = rustix::process::getpgrp();
        if rustix::termios::tcgetpgrp(&tty).ok()? != ours {
            return None;
        }
        rustix::termios::tcsetpgrp(&tty, child).ok()?;
        // It may have touched the terminal before it was in the foreground, and been stopped.
        let _ = rustix::process::kill_process_group(child, rustix::process::Signal::CONT);
        Some(Foreground { tty, ours })
    }
}

impl Drop for Foreground {
    fn drop(&mut self) {
        // aws-cred is in the background now: taking the terminal back raises SIGTTOU, which
        // would stop it unless ignored for the moment.
        // SAFETY: changing a signal's disposition to ignore and back to the default; no
        // handler runs, and no other code of aws-cred relies on SIGTTOU.
        unsafe {
            libc::signal(libc::SIGTTOU, libc::SIG_IGN);
        }
        let _ = rustix::termios::tcsetpgrp(&self.tty, self.ours);
        // SAFETY: as above.
        unsafe {
            libc::signal(libc::SIGTTOU, libc::SIG_DFL);
        }
    }
}

/// Run `command` with `sh -c` (as the AWS SDKs do on Unix) and these extra variables. Its
/// stdin and stderr are ours, so a prompt or an error from it reaches the person; its stdout
/// is captured, up to `max_stdout` bytes. After `timeout` it is stopped with everything it
/// started.
pub async fn run_shell(
    command: &str,
    env: &[(&str, &str)],
    timeout: Duration,
    max_stdout: usize,
) -> Result<Finished, RunError> {
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .envs(env.iter().copied())
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(RunError::Spawn)?;
    let pgid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(rustix::process::Pid::from_raw);
    let mut guard = GroupGuard { pgid };
    // Dropped before `guard` (declared after it): the terminal comes back first, then the
    // group is killed if it has not finished.
    let _foreground = pgid.and_then(Foreground::hand_to);
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| RunError::Read(std::io::Error::other("no stdout pipe")))?;
    let work = async {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = stdout.read(&mut buf).await.map_err(RunError::Read)?;
            if n == 0 {
                break;
            }
            if out.len() + n > max_stdout {
                return Err(RunError::TooMuchOutput { limit: max_stdout });
            }
            out.extend_from_slice(&buf[..n]);
        }
        let status = child.wait().await.map_err(RunError::Read)?;
        Ok(Finished {
            status,
            stdout: out,
        })
    };
    let result = match tokio::time::timeout(timeout, work).await {
        Ok(result) => result,
        Err(_) => Err(RunError::Timeout(timeout)),
    };
    match &result {
        // Finished on its own: whatever it left running in the background is its business.
        Ok(_) => guard.pgid = None,
        Err(_) => guard.kill(),
    }
    result
}

/// Replace this process with `program` (exec(2)), with exactly the environment `env`: the
/// command then gets every signal directly and its exit status is the exit status. SIGXFSZ,
/// which aws-cred ignores for its own writes, is back to its default for the command. Returns
/// only when the exec failed.
pub fn exec_replacing(
    program: &std::ffi::OsStr,
    args: &[std::ffi::OsString],
    env: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> std::io::Error {
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new(program);
    command.args(args).env_clear().envs(env);
    // SAFETY: only async-signal-safe `signal` runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_DFL);
            Ok(())
        });
    }
    command.exec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn output_and_status_come_back() {
        let done = runtime()
            .block_on(run_shell(
                "printf %s \"$X\"; exit 3",
                &[("X", "hello")],
                Duration::from_secs(10),
                MAX_OUTPUT,
            ))
            .unwrap();
        assert_eq!(done.stdout, b"hello");
        assert_eq!(done.status.code(), Some(3));
    }

    #[test]
    fn endless_output_is_cut_at_the_limit() {
        let started = Instant::now();
        let err = runtime()
            .block_on(run_shell(
                "cat /dev/zero",
                &[],
                Duration::from_secs(30),
                64 * 1024,
            ))
            .unwrap_err();
        assert!(
            matches!(err, RunError::TooMuchOutput { limit: 65536 }),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let command = format!("sleep 100000 & echo $! > {}; wait", pid_file.display());
        let started = Instant::now();
        let err = runtime()
            .block_on(run_shell(
                &command,
                &[],
                Duration::from_millis(500),
                MAX_OUTPUT,
            ))
            .unwrap_err();
        assert!(matches!(err, RunError::Timeout(_)), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The grandchild is gone (reaped by init, or a zombie for a moment).
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let alive = state
                .rsplit(") ")
                .next()
                .is_some_and(|rest| !rest.starts_with('Z'));
            if !alive {
                break;
            }
            assert!(Instant::now() < deadline, "grandchild {pid} survived");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
