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
    let own_signals = aws_cred::handles_own_signals(&cli);
    let result = runtime.block_on(async {
        if own_signals {
            // `serve` and `exec --server` decide themselves what Ctrl-C means.
            return Some(aws_cred::run(cli, ctx).await);
        }
        tokio::select! {
            result = aws_cred::run(cli, ctx) => Some(result),
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    // Do not wait for a prompt still reading the terminal after Ctrl-C.
    runtime.shutdown_background();
    match result {
        Some(Ok(())) => ExitCode::SUCCESS,
        Some(Err(err)) if matches!(error::classify(&err).0, Exit::Child(_)) => {
            ExitCode::from(error::classify(&err).0.code())
        }
        Some(Err(err)) => {
            eprint!("{}", error::render(&err));
            ExitCode::from(error::classify(&err).0.code())
        }
        None => {
            aws_cred::os::restore_terminal();
            eprintln!("interrupted");
            ExitCode::from(Exit::Interrupted.code())
        }
    }
}
