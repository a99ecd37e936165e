//! `aws-cred exec -- CMD ARGS...`: run a command with the credentials in its environment.
//!
//! aws-cred replaces itself with the command (exec), so the command gets every signal
//! (Ctrl-C, SIGTERM from a supervisor) directly and its exit status is the exit status.
//!
//! With `--server`, aws-cred stays the parent instead: it serves refreshing credentials on
//! 127.0.0.1 for as long as the command runs, passes SIGINT, SIGTERM and SIGHUP on to it, and
//! exits with its status (128 + the signal that ended it).

use super::Setup;
use crate::base::error::{Exit, Problem};
use crate::base::text::escape;
use crate::cli::ExecArgs;
use crate::os::child;
use crate::server::{self, Options};
use std::ffi::OsString;
use std::sync::Arc;

/// `exec prod -- cmd` and `exec prod cmd` (aws-vault's habit): when no profile was chosen and
/// the first word names a profile of the files, it is the profile; the answer is the word and
/// how many words it takes (with the `--` after it). A word that is both a profile and a
/// program on `PATH` is an error that gives both readings.
pub(crate) fn profile_word(
    setup: &Setup,
    command: &[OsString],
) -> anyhow::Result<Option<(String, usize)>> {
    let Some(word) = command.first().and_then(|w| w.to_str()) else {
        return Ok(None);
    };
    let (config, credentials) = setup.profiles.defined_in();
    if !config.contains(word) && !credentials.contains(word) {
        return Ok(None);
    }
    let taken = if command.get(1).is_some_and(|w| w == "--") {
        2
    } else {
        1
    };
    if command.len() <= taken {
        return Err(Problem::usage(format!(
            "exec {} needs a command to run with the profile's credentials",
            escape(word)
        ))
        .hint(format!(
            "aws-cred exec {} -- COMMAND [ARGS...]",
            escape(word)
        ))
        .into());
    }
    if crate::os::process::on_path(&setup.ctx, &command[0]) {
        return Err(Problem::usage(format!(
            "{} is both a profile and a program on PATH; say which one you mean",
            escape(word)
        ))
        .hint(format!(
            "the profile: aws-cred exec --profile {w} -- COMMAND; the program: give the profile with --profile (aws-cred exec --profile NAME -- {w} ...), or the program by its path (\"$(command -v {w})\")",
            w = escape(word)
        ))
        .into());
    }
    Ok(Some((word.to_string(), taken)))
}

/// Set by `exec` (and the `shell-init` function) to the profile whose credentials are in the
/// environment.
const PROFILE_VAR: &str = "AWS_CRED_PROFILE";

/// aws-vault's guard: an `exec` inside a shell that already holds a profile's credentials
/// (an `exec` subshell, the `shell-init` function) says so, since the command gets the new
/// profile's credentials, not the ones the shell shows.
fn warn_if_nested(setup: &Setup) {
    if let Some(current) = setup.ctx.var(PROFILE_VAR).filter(|p| !p.is_empty()) {
        eprintln!(
            "warning: this shell already holds the credentials of profile {} ({PROFILE_VAR}); the command gets profile {}'s",
            escape(current),
            escape(&setup.profiles.selected)
        );
    }
}

pub(crate) async fn run(setup: &Setup, args: &ExecArgs) -> anyhow::Result<()> {
    let Some((program, rest)) = args.command.split_first() else {
        return Err(
            Problem::usage("exec needs a command: aws-cred exec -- COMMAND [ARGS...]").into(),
        );
    };
    warn_if_nested(setup);
    if args.server {
        return run_with_server(setup, args, program, rest).await;
    }
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
                        | "AWS_CRED_PROFILE"
                        | "AWS_CRED_EXPIRATION"
                )
            )
        })
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
    let mut set = |key: &str, value: &str| env.push((key.into(), value.into()));
    // Who the command runs as, for prompts and the nested-exec warning.
    set(PROFILE_VAR, &setup.profiles.selected);
    if let Some(expiry) = creds.expiry() {
        set("AWS_CRED_EXPIRATION", &crate::base::time::rfc3339(expiry));
    }
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
    Err(cannot_run(
        program,
        crate::os::process::exec_replacing(program, rest, env),
    ))
}

async fn run_with_server(
    setup: &Setup,
    args: &ExecArgs,
    program: &OsString,
    rest: &[OsString],
) -> anyhow::Result<()> {
    let options = Options {
        listen: args.listen,
        port: 0,
        verbose: args.verbose,
    };
    let session = Arc::new(setup.session());
    let endpoint = server::start(&setup.ctx, &setup.profiles, &session, &options).await?;
    let variables = server::variables(&endpoint, setup.region.as_ref().map(|r| r.name.as_str()));
    // The command sees the environment we were given, less what would make its SDK pick
    // other credentials than the endpoint's, plus the endpoint.
    let mut env: Vec<(OsString, OsString)> = setup
        .ctx
        .vars_os()
        .filter(|(key, _)| {
            let key = key.to_str();
            !key.is_some_and(|key| {
                variables.unset.contains(&key) || variables.set.iter().any(|(k, _)| *k == key)
            })
        })
        .map(|(k, v)| (k.to_os_string(), v.to_os_string()))
        .collect();
    env.extend(
        variables
            .set
            .into_iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v))),
    );
    let spec = child::Spec {
        program: program.clone(),
        args: rest.to_vec(),
        env,
    };
    let child = child::spawn(&spec).map_err(|err| cannot_run(program, err))?;
    // Serving ends when the command does: the future is dropped with the listener.
    let status = tokio::select! {
        status = child.wait_forwarding() => status?,
        result = endpoint.serve(session, std::future::pending()) => {
            result?;
            unreachable!("the server only stops when told to")
        }
    };
    match status {
        0 => Ok(()),
        code => {
            Err(Problem::new(Exit::Child(code), format!("the command exited with {code}")).into())
        }
    }
}

fn cannot_run(program: &OsString, err: std::io::Error) -> anyhow::Error {
    let shown = program.to_string_lossy();
    let (exit, what) = match err.kind() {
        std::io::ErrorKind::NotFound => (Exit::CommandNotFound, "not found"),
        std::io::ErrorKind::PermissionDenied => (Exit::CannotExecute, "not executable"),
        _ => (Exit::CannotExecute, "cannot be run"),
    };
    Problem::new(exit, format!("{shown}: {what} ({err})"))
        .hint("check the command name and your PATH")
        .into()
}
