//! How a run is told to stop from outside: Ctrl-C, a supervisor's SIGTERM, a closed terminal
//! (SIGHUP); on Windows Ctrl-C, Ctrl-Break, the console window closing, logoff and shutdown.

/// Why the run was stopped from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Ctrl-C (or Ctrl-Break on Windows).
    Interrupted,
    /// SIGTERM; on Windows, logoff or shutdown.
    Terminated,
    /// SIGHUP; on Windows, the console window was closed.
    HungUp,
}

/// Process-wide settings made once at start-up, before any thread exists. On Unix a file-size
/// limit (ulimit -f) must fail a write with an error aws-cred can report, not kill the process
/// half-way: SIGXFSZ is ignored.
pub fn startup() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to "ignore" at start-up, before any thread exists.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// Resolves when the run is told to stop (never, if nothing can be watched).
pub async fn stopped() -> Stop {
    imp::stopped().await
}

#[cfg(unix)]
mod imp {
    use super::Stop;
    use tokio::signal::unix::{SignalKind, signal};

    async fn one(kind: SignalKind) {
        match signal(kind) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    }

    pub(super) async fn stopped() -> Stop {
        tokio::select! {
            _ = one(SignalKind::interrupt()) => Stop::Interrupted,
            _ = one(SignalKind::terminate()) => Stop::Terminated,
            _ = one(SignalKind::hangup()) => Stop::HungUp,
        }
    }
}

#[cfg(windows)]
mod imp {
    use super::Stop;
    use tokio::signal::windows;

    /// Resolves when the console event arrives; never if it cannot be watched.
    macro_rules! event {
        ($make:expr) => {
            async {
                match $make {
                    Ok(mut event) => {
                        event.recv().await;
                    }
                    Err(_) => std::future::pending::<()>().await,
                }
            }
        };
    }

    pub(super) async fn stopped() -> Stop {
        tokio::select! {
            _ = event!(windows::ctrl_c()) => Stop::Interrupted,
            _ = event!(windows::ctrl_break()) => Stop::Interrupted,
            _ = event!(windows::ctrl_close()) => Stop::HungUp,
            _ = event!(windows::ctrl_logoff()) => Stop::Terminated,
            _ = event!(windows::ctrl_shutdown()) => Stop::Terminated,
        }
    }
}
