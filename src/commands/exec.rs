//! `aws-cred exec -- CMD ARGS...`: run a command with the credentials in its environment.
//!
//! aws-cred replaces itself with the command (exec), so the command gets every signal
//! (Ctrl-C, SIGTERM from a supervisor) directly and its exit status is the exit status.

use super::Setup;
use crate::base::error::{Exit, Problem};
use crate::cli::ExecArgs;
use std::ffi::OsString;

pub async fn run(setup: &Setup, args: &ExecArgs) -> anyhow::Result<()> {
    let Some((program, rest)) = args.command.split_first() else {
        return Err(
            Problem::usage("exec needs a command: aws-cred exec -- COMMAND [ARGS...]").into(),
        );
    };
    let resolution = setup.resolve(false).await?;
    super::warn_if_expiring(setup, &resolution.credentials);
    let creds = &resolution.credentials;

    // The command sees the same environment we were given (every variable, in any encoding,
    // unchanged), less anything that would make it pick other credentials than these.
    let mut env: Vec<(OsString, OsString)> = setup
        .ctx
        .vars_os()
        .filter(|(key, _)| {
            !matches!(
                key.to_str(),
                Some(
                    "AWS_PROFILE"
                        | "AWS_DEFAULT_PROFILE"
                        | "AWS_ACCESS_KEY_ID"
                        | "AWS_SECRET_ACCESS_KEY"
                        | "AWS_SESSION_TOKEN"
                        | "AWS_SECURITY_TOKEN"
                        | "AWS_CREDENTIAL_EXPIRATION"
                )
            )
        })
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
    let mut set = |key: &str, value: &str| env.push((key.into(), value.into()));
    set("AWS_ACCESS_KEY_ID", creds.access_key_id());
    set("AWS_SECRET_ACCESS_KEY", creds.secret_access_key());
    if let Some(token) = creds.session_token() {
        set("AWS_SESSION_TOKEN", token);
    }
    if let Some(expiry) = creds.expiry() {
        set(
            "AWS_CREDENTIAL_EXPIRATION",
            &crate::base::time::rfc3339(expiry),
        );
    }
    if let Some(region) = &setup.region {
        set("AWS_REGION", &region.name);
        set("AWS_DEFAULT_REGION", &region.name);
    }
    // Only returns on failure.
    let err = crate::os::process::exec_replacing(program, rest, env);
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
