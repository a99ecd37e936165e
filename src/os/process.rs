//! Child processes run for their output (`credential_process`), bounded in time and memory.
//!
//! The command runs the way the AWS CLI runs it: on Unix with `sh -c`, on Windows split into a
//! program and arguments by the C runtime's rules ([`crate::base::cmdline::split_windows`]) and
//! started with no shell. Everything it starts can be ended together, and is when the time limit
//! passes, when its output passes the size limit, and when the run is dropped (Ctrl-C ends
//! aws-cred): on Unix it runs in its own process group, killed with SIGKILL; on Windows in a
//! Job Object, terminated. On Unix, when aws-cred is the terminal's foreground job, the child's
//! group is made the foreground job while it runs (so it can prompt on the terminal, and Ctrl-C
//! reaches it), and aws-cred's own group gets the terminal back afterwards. On Windows the
//! console is shared and Ctrl-C reaches every process on it anyway.

use std::process::ExitStatus;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// The most a command may print on stdout (credential_process JSON is a few hundred bytes).
pub(crate) const MAX_OUTPUT: usize = 1024 * 1024;

/// Why a command gave no usable output.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunError {
    #[error("cannot start it: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("cannot split it into a program and arguments: {0}")]
    Split(#[source] crate::base::cmdline::SplitError),
    #[error("it printed more than {limit} bytes on stdout; it was stopped")]
    TooMuchOutput { limit: usize },
    #[error("it did not finish within {} s; it was stopped (with everything it started)", .0.as_secs())]
    Timeout(Duration),
    #[error("cannot read its output: {0}")]
    Read(#[source] std::io::Error),
}

/// What the command printed on stdout, and how it ended.
#[derive(Debug)]
pub(crate) struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
}

impl Finished {
    /// Ended by Ctrl-C at the terminal (SIGINT on Unix, STATUS_CONTROL_C_EXIT on Windows).
    pub(crate) fn interrupted(&self) -> bool {
        imp::interrupted(self.status)
    }
}

/// Whether `name` (a bare word, no path separator) is a program on `PATH`, as a shell would
/// find it: an executable file in one of its directories (on Windows also with an extension of
/// `PATHEXT`, default `.COM;.EXE;.BAT;.CMD`).
pub(crate) fn on_path(ctx: &crate::os::Context, name: &std::ffi::OsStr) -> bool {
    let text = name.to_string_lossy();
    if text.is_empty() || text.contains('/') || text.contains(std::path::MAIN_SEPARATOR) {
        return false;
    }
    let Some(path) = ctx.var_os("PATH") else {
        return false;
    };
    // Windows only: programs are found with their extensions.
    #[cfg(windows)]
    let extensions: Vec<String> = std::iter::once(String::new())
        .chain(
            ctx.var("PATHEXT")
                .unwrap_or(".COM;.EXE;.BAT;.CMD")
                .split(';')
                .filter(|e| !e.is_empty())
                .map(str::to_string),
        )
        .collect();
    #[cfg(not(windows))]
    let extensions = [String::new()];
    std::env::split_paths(path).take(1024).any(|dir| {
        extensions.iter().any(|ext| {
            let mut file = name.to_os_string();
            file.push(ext);
            is_executable(&dir.join(file))
        })
    })
}

fn is_executable(path: &std::path::Path) -> bool {
    let Ok(metadata) = std::fs::metadata(path) else {
        return false;
    };
    // Unix only: the execute bits; Windows runs any file with a program extension.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        metadata.is_file()
    }
}

/// Run `command` as the AWS CLI does on this system (see the module docs) with these extra
/// variables. Its stdin and stderr are ours, so a prompt or an error from it reaches the
/// person; its stdout is captured, up to `max_stdout` bytes. After `timeout` it is stopped
/// with everything it started.
///
/// With [`Terminal::None`] (the credential server refreshing while `exec --server`'s command
/// owns the terminal) it gets no terminal at all: stdin is empty, and on Unix it runs in a
/// session of its own, without a controlling terminal, so it can neither read the terminal nor
/// take its foreground from the command (which a job-control shell would then stop). A
/// command that needs a person then fails at once instead of waiting.
pub(crate) async fn run_command_line(
    command: &str,
    env: &[(&str, &str)],
    timeout: Duration,
    max_stdout: usize,
    terminal: Terminal,
) -> Result<Finished, RunError> {
    run_argv(
        &imp::shell_argv(command)?,
        env,
        timeout,
        max_stdout,
        terminal,
    )
    .await
}

/// Run a program with these arguments, no shell in between, under the rules of
/// [`run_command_line`] (bounded in time and stdout, the whole tree stopped at the timeout).
pub(crate) async fn run_argv(
    argv: &[String],
    env: &[(&str, &str)],
    timeout: Duration,
    max_stdout: usize,
    terminal: Terminal,
) -> Result<Finished, RunError> {
    let (program, args) = argv
        .split_first()
        .ok_or(RunError::Split(crate::base::cmdline::SplitError::Empty))?;
    let mut command = captured(program, terminal);
    command.args(args).envs(env.iter().copied());
    let (mut child, mut tree) = imp::spawn(command, terminal)?;
    // Dropped before `tree` (declared after it): the terminal comes back first, then the
    // tree is killed if it has not finished.
    let _foreground = match terminal {
        Terminal::Shared => tree.take_foreground(),
        Terminal::None => None,
    };
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
        Ok(_) => tree.release(),
        Err(_) => tree.kill(),
    }
    result
}

/// Run `program` in place of aws-cred with exactly the environment `env`: its exit status
/// becomes aws-cred's. On Unix this process is replaced (exec(2)): the command then gets every
/// signal directly; SIGXFSZ, which aws-cred ignores for its own writes, is back to its default.
/// Windows has no exec: the command is started and waited for, Ctrl-C and Ctrl-Break reach it
/// (they reach every process on the console) without ending aws-cred first, and aws-cred exits
/// with its exit code. Returns only when the command could not be started.
pub(crate) fn exec_replacing(
    program: &std::ffi::OsStr,
    args: &[std::ffi::OsString],
    env: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> std::io::Error {
    let mut command = std::process::Command::new(program);
    command.args(args).env_clear().envs(env);
    imp::exec_replacing(command)
}

/// Whether a command run by [`run_command_line`] may use the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Terminal {
    /// Ours: its stdin, and the foreground while it runs (a prompt from it reaches the person).
    Shared,
    /// None: see [`run_command_line`].
    None,
}

/// The credential_process contract, the same on every system: stdin (with
/// [`Terminal::Shared`]) and stderr are ours, stdout is captured, and the child is killed if its
/// handle is dropped.
fn captured(program: impl AsRef<std::ffi::OsStr>, terminal: Terminal) -> tokio::process::Command {
    use std::process::Stdio;
    let mut command = tokio::process::Command::new(program);
    command
        .stdin(match terminal {
            Terminal::Shared => Stdio::inherit(),
            Terminal::None => Stdio::null(),
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    command
}

#[cfg(unix)]
mod imp {
    use super::RunError;
    use std::fs::{File, OpenOptions};
    use std::process::ExitStatus;

    pub(super) fn interrupted(status: ExitStatus) -> bool {
        use std::os::unix::process::ExitStatusExt;
        status.signal() == Some(libc::SIGINT)
    }

    /// A command line, as the AWS CLI runs one here: `sh -c LINE`.
    pub(super) fn shell_argv(command: &str) -> Result<Vec<String>, RunError> {
        Ok(vec!["sh".into(), "-c".into(), command.into()])
    }

    /// Start `sh` in a process group of its own (a session of its own without the terminal).
    pub(super) fn spawn(
        mut sh: tokio::process::Command,
        terminal: super::Terminal,
    ) -> Result<(tokio::process::Child, Tree), RunError> {
        match terminal {
            super::Terminal::Shared => {
                sh.process_group(0);
            }
            // A session of its own (also a process group of its own, with the same id): no
            // controlling terminal, so /dev/tty cannot be opened and no job control touches it.
            // SAFETY: setsid(2) is async-signal-safe, and the closure touches nothing else.
            super::Terminal::None => unsafe {
                sh.pre_exec(|| rustix::process::setsid().map(drop).map_err(Into::into));
            },
        }
        let child = sh.spawn().map_err(RunError::Spawn)?;
        let pgid = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .and_then(rustix::process::Pid::from_raw);
        Ok((child, Tree { pgid }))
    }

    /// The child's process group: killed when dropped, unless released.
    pub(super) struct Tree {
        pgid: Option<rustix::process::Pid>,
    }

    impl Tree {
        pub(super) fn kill(&mut self) {
            if let Some(pgid) = self.pgid.take() {
                let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
            }
        }

        pub(super) fn release(&mut self) {
            self.pgid = None;
        }

        /// The terminal handed to the group while it runs, when aws-cred is in the foreground.
        pub(super) fn take_foreground(&self) -> Option<Foreground> {
            self.pgid.and_then(Foreground::hand_to)
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            self.kill();
        }
    }

    /// The terminal's foreground handed to the child's group; given back on drop.
    pub(super) struct Foreground {
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

    /// exec(2) `command` in place of aws-cred, SIGXFSZ back to its default.
    pub(super) fn exec_replacing(mut command: std::process::Command) -> std::io::Error {
        use std::os::unix::process::CommandExt;
        // SAFETY: only async-signal-safe `signal` runs between fork and exec.
        unsafe {
            command.pre_exec(|| {
                libc::signal(libc::SIGXFSZ, libc::SIG_DFL);
                Ok(())
            });
        }
        command.exec()
    }
}

#[cfg(windows)]
mod imp {
    use super::RunError;
    use crate::os::windows::{CONTROL_C_EXIT, Job};
    use std::process::ExitStatus;

    pub(super) fn interrupted(status: ExitStatus) -> bool {
        status.code().map(|code| code as u32) == Some(CONTROL_C_EXIT)
    }

    /// A command line, as the AWS CLI runs one here: split, no shell.
    pub(super) fn shell_argv(command: &str) -> Result<Vec<String>, RunError> {
        crate::base::cmdline::split_windows(command).map_err(RunError::Split)
    }

    /// Start `command` and put it in a Job Object of its own. The terminal choice changes
    /// nothing here: a console has no foreground group to hand over, and `captured`
    /// has already given a `Terminal::None` child an empty stdin.
    pub(super) fn spawn(
        mut command: tokio::process::Command,
        _terminal: super::Terminal,
    ) -> Result<(tokio::process::Child, Tree), RunError> {
        let job = Job::new().map_err(RunError::Spawn)?;
        let child = command.spawn().map_err(RunError::Spawn)?;
        // What the child starts from here on is in the job too. (A grandchild started in the
        // microseconds before this call would escape it; a process takes milliseconds to start.)
        if let Some(handle) = child.raw_handle() {
            job.assign(handle).map_err(RunError::Spawn)?;
        }
        Ok((child, Tree { job: Some(job) }))
    }

    pub(super) struct Foreground;

    /// The child's Job Object: terminated when dropped, unless released.
    pub(super) struct Tree {
        job: Option<Job>,
    }

    impl Tree {
        pub(super) fn kill(&mut self) {
            if let Some(job) = self.job.take() {
                job.terminate();
            }
        }

        pub(super) fn release(&mut self) {
            self.job = None;
        }

        /// Windows consoles have no foreground job to hand over.
        pub(super) fn take_foreground(&self) -> Option<Foreground> {
            None
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            self.kill();
        }
    }

    /// Start `command`, wait for it, and exit with its code (Windows has no exec).
    pub(super) fn exec_replacing(mut command: std::process::Command) -> std::io::Error {
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(err) => return err,
        };
        // From here Ctrl-C and Ctrl-Break are the command's to act on.
        crate::os::windows::ignore_console_interrupts();
        match child.wait() {
            // The whole 32-bit code, as cmd and PowerShell show it.
            Ok(status) => std::process::exit(status.code().unwrap_or(1)),
            Err(err) => err,
        }
    }
}

// Unix only: the commands here are sh scripts and the checks read /proc. tests/it/windows.rs runs a
// Windows credential_process (and its time limit) through aws-cred.exe under wine.
#[cfg(all(test, unix))]
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
            .block_on(run_command_line(
                "printf %s \"$X\"; exit 3",
                &[("X", "hello")],
                Duration::from_secs(10),
                MAX_OUTPUT,
                Terminal::Shared,
            ))
            .unwrap();
        assert_eq!(done.stdout, b"hello");
        assert_eq!(done.status.code(), Some(3));
    }

    /// Issue 22, item 3: without a terminal, the command cannot open /dev/tty (no controlling
    /// terminal: its own session) and reads an empty stdin, whatever aws-cred has.
    #[cfg(unix)]
    #[test]
    fn without_a_terminal_there_is_none_to_take() {
        let done = runtime()
            .block_on(run_command_line(
                "if (exec 3</dev/tty) 2>/dev/null; then echo has-tty; else echo no-tty; fi; cat; echo \"sid=$(ps -o sid= -p $$ | tr -d ' ') pid=$$\"",
                &[],
                Duration::from_secs(10),
                MAX_OUTPUT,
                Terminal::None,
            ))
            .unwrap();
        let out = String::from_utf8(done.stdout).unwrap();
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some("no-tty"), "{out}");
        let ids = lines.next().unwrap();
        let (sid, pid) = ids.split_once(' ').unwrap();
        assert_eq!(
            sid.trim_start_matches("sid="),
            pid.trim_start_matches("pid="),
            "{out}"
        );
    }

    #[test]
    fn endless_output_is_cut_at_the_limit() {
        let started = Instant::now();
        let err = runtime()
            .block_on(run_command_line(
                "cat /dev/zero",
                &[],
                Duration::from_secs(30),
                64 * 1024,
                Terminal::Shared,
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
            .block_on(run_command_line(
                &command,
                &[],
                Duration::from_millis(500),
                MAX_OUTPUT,
                // Its own session: the group is still killed whole.
                Terminal::None,
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
