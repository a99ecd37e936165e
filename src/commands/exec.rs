//! `aws-cred exec -- CMD ARGS...`: run a command with the credentials in its environment.
//!
//! aws-cred replaces itself with the command (exec), so the command gets every signal
//! (Ctrl-C, SIGTERM from a supervisor) directly and its exit status is the exit status.

use super::Setup;
use crate::base::error::{Exit, Problem};
use crate::cli::ExecArgs;
use std::os::unix::process::CommandExt;
use std::process::Command;

pub async fn run(setup: &Setup, args: &ExecArgs) -> anyhow::Result<()> {
    let Some((program, rest)) = args.command.split_first() else {
        return Err(
            Problem::usage("exec needs a command: aws-cred exec -- COMMAND [ARGS...]").into(),
        );
    };
    let resolution = setup.resolve(false).await?;
    super::warn_if_expiring(setup, &resolution.credentials);
    let creds = &resolution.credentials;

    let mut command = Command::new(program);
    command.args(rest).env_clear();
    // The command sees the same environment we were given (every variable, in any encoding,
    // unchanged), less anything that would make it pick other credentials than these.
    for (key, value) in setup.ctx.vars_os() {
        if !matches!(
            key.to_str(),
            Some(
                "AWS_PROFILE"
                    | "AWS_DEFAULT_PROFILE"
                    | "AWS_SESSION_TOKEN"
                    | "AWS_SECURITY_TOKEN"
                    | "AWS_CREDENTIAL_EXPIRATION"
            )
        ) {
            command.env(key, value);
        }
    }
    command
        .env("AWS_ACCESS_KEY_ID", creds.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", creds.secret_access_key());
    if let Some(token) = creds.session_token() {
        command.env("AWS_SESSION_TOKEN", token);
    }
    if let Some(expiry) = creds.expiry() {
        command.env(
            "AWS_CREDENTIAL_EXPIRATION",
            crate::base::time::rfc3339(expiry),
        );
    }
    if let Some(region) = &setup.region {
        command
            .env("AWS_REGION", &region.name)
            .env("AWS_DEFAULT_REGION", &region.name);
    }
    // aws-cred ignores SIGXFSZ for its own writes; the command gets the default back.
    // SAFETY: only async-signal-safe `signal` runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_DFL);
            Ok(())
        });
    }
    // Only returns on failure.
    let err = command.exec();
    let shown = program.to_string_lossy();
    let (exit, what) = match err.kind() {
        std::io::ErrorKind::NotFound => (Exit::CommandNotFound, "not found"),
        std::io::ErrorKind::PermissionDenied => (Exit::CannotExecute, "not executable"),
        _ => (Exit::CannotExecute, "cannot be run"),
    };
    Err(Problem::new(exit, format!("{shown}: {what} ({err})"))
        .hint("check the command name and your PATH")
        .into())
}
