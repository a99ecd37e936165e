use aws_cred::base::error::{self, Exit};
use aws_cred::cli::Cli;
use aws_cred::os::Context;
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // A file-size limit (ulimit -f) must fail a write with an error we can report, not kill
    // the process half-way.
    // SAFETY: setting a signal's disposition to "ignore" at start-up, before any thread exists.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let cli = Cli::parse();
    let ctx = Context::from_process();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(Exit::Failure.code());
        }
    };
    let result = runtime.block_on(async {
        use tokio::signal::unix::SignalKind;
        tokio::select! {
            result = aws_cred::run(cli, ctx) => Ok(result),
            _ = tokio::signal::ctrl_c() => Err(Exit::Interrupted),
            _ = signalled(SignalKind::terminate()) => Err(Exit::Terminated),
            _ = signalled(SignalKind::hangup()) => Err(Exit::HungUp),
        }
    });
    // Do not wait for a prompt still reading the terminal after a signal.
    runtime.shutdown_background();
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(err)) => {
            eprint!("{}", error::render(&err));
            ExitCode::from(error::classify(&err).0.code())
        }
        // Ctrl-C, SIGTERM or SIGHUP: put the terminal's echo back (a password prompt turns it
        // off), say so, and exit 130 / 143 / 129 as shells report a signal.
        Err(exit) => {
            aws_cred::os::restore_terminal();
            eprintln!(
                "{}",
                match exit {
                    Exit::Terminated => "terminated",
                    Exit::HungUp => "hung up",
                    _ => "interrupted",
                }
            );
            ExitCode::from(exit.code())
        }
    }
}

/// Resolves when the signal arrives; never if it cannot be watched.
async fn signalled(kind: tokio::signal::unix::SignalKind) {
    match tokio::signal::unix::signal(kind) {
        Ok(mut signal) => {
            signal.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}
