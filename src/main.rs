//! The `aws-cred` binary: parse the command line, run the command on a current-thread runtime,
//! and turn the result (or Ctrl-C, SIGTERM, SIGHUP) into a message and an exit code.

use aws_cred::base::error::{self, Exit};
use aws_cred::cli::Cli;
use aws_cred::os::Context;
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    aws_cred::os::signal::startup();
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
    let failure_statement = aws_cred::failure_statement(&cli, &ctx);
    // On failure, stdout gets the statement that makes `eval "$(aws-cred …)"` fail too.
    let fail_eval = || {
        if let Some(statement) = failure_statement {
            use std::io::Write as _;
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{statement}");
            let _ = stdout.flush();
        }
    };
    let result = runtime.block_on(async {
        if own_signals {
            // `serve` and `exec --server` decide themselves what Ctrl-C means.
            return Ok(aws_cred::run(cli, ctx).await);
        }
        use aws_cred::os::signal::Stop;
        tokio::select! {
            result = aws_cred::run(cli, ctx) => Ok(result),
            stop = aws_cred::os::signal::stopped() => Err(match stop {
                Stop::Interrupted => Exit::Interrupted,
                Stop::Terminated => Exit::Terminated,
                Stop::HungUp => Exit::HungUp,
            }),
        }
    });
    // Do not wait for a prompt still reading the terminal after a signal.
    runtime.shutdown_background();
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        // `exec --server`: the command's own status, passed on without a message.
        Ok(Err(err)) if matches!(error::classify(&err).0, Exit::Child(_)) => {
            ExitCode::from(error::classify(&err).0.code())
        }
        Ok(Err(err)) => {
            fail_eval();
            eprint!("{}", error::render(&err));
            ExitCode::from(error::classify(&err).0.code())
        }
        // Ctrl-C, SIGTERM or SIGHUP: put the terminal's echo back (a password prompt turns it
        // off), say so, and exit 130 / 143 / 129 as shells report a signal.
        Err(exit) => {
            aws_cred::os::restore_terminal();
            fail_eval();
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
