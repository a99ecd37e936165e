//! `credential_process`: run the command, read the Version 1 JSON from its stdout.
//! The command's stdout holds secrets: it never appears in an error message.

use crate::base::error::Problem;
use crate::os::process::{MAX_OUTPUT, RunError, Terminal};
use aws_credential_types::Credentials;
use serde::Deserialize;
use std::time::Duration;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProcessOutput {
    version: Option<serde_json::Value>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
    expiration: Option<String>,
    account_id: Option<String>,
}

/// Profiles whose credential_process is running aws-cred right now, outermost first; passed
/// down to child processes so a profile that calls aws-cred for itself fails at once instead
/// of forking forever.
pub(crate) const PARENTS_VAR: &str = "AWS_CRED_PROCESS_PROFILES";
const MAX_DEPTH: usize = 8;

/// Refuse to run `profile`'s credential_process again inside itself.
pub(crate) fn check_recursion(parents: Option<&str>, profile: &str) -> Result<(), Problem> {
    let parents: Vec<&str> = parents
        .map(|p| p.split(',').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    if parents.contains(&profile) {
        return Err(Problem::usage(format!(
            "credential_process recursion: profile {profile}'s credential_process runs aws-cred for profile {profile} again (chain: {} -> {profile})",
            parents.join(" -> ")
        ))
        .hint("point credential_process at another profile, e.g. credential_process = aws-cred export --format json --profile BASE"));
    }
    if parents.len() >= MAX_DEPTH {
        return Err(Problem::usage(format!(
            "credential_process nested {} levels deep ({})",
            parents.len(),
            parents.join(" -> ")
        )));
    }
    Ok(())
}

/// The variable of [`crate::settings::PROCESS_TIMEOUT`], for messages.
pub(crate) const TIMEOUT_VAR: &str = "AWS_CRED_PROCESS_TIMEOUT";

/// How long a credential_process may run ([`crate::settings::PROCESS_TIMEOUT`]).
pub(crate) fn timeout(ctx: &crate::os::Context) -> Result<Duration, Problem> {
    crate::settings::PROCESS_TIMEOUT.seconds(ctx, (1, 3600))
}

/// Run `command` as the AWS CLI does (`sh -c` on Unix, no shell on Windows), bounded by `timeout` and
/// [`MAX_OUTPUT`] bytes of stdout; its stderr goes to ours so a prompt or error from it
/// reaches the person.
pub(crate) async fn run(
    profile: &str,
    command: &str,
    parents: Option<&str>,
    timeout: Duration,
    terminal: Terminal,
) -> anyhow::Result<Credentials> {
    check_recursion(parents, profile)?;
    let chain = match parents {
        Some(p) if !p.is_empty() => format!("{p},{profile}"),
        _ => profile.to_string(),
    };
    let output = crate::os::process::run_command_line(
        command,
        &[(PARENTS_VAR, chain.as_str())],
        timeout,
        MAX_OUTPUT,
        terminal,
    )
    .await
    .map_err(|err| {
        let hint = match err {
            RunError::Timeout(_) => format!(
                "run the command by hand to see where it waits; if it needs longer, set {TIMEOUT_VAR} (seconds)"
            ),
            RunError::TooMuchOutput { .. } => {
                "it must print one small JSON document (credential_process Version 1)".to_string()
            }
            _ => "check the command in the profile's credential_process".to_string(),
        };
        Problem::failure(format!("credential_process of profile {profile}: {err}")).hint(hint)
    })?;
    if output.interrupted() {
        return Err(Problem::new(
            crate::base::error::Exit::Interrupted,
            format!("credential_process of profile {profile} was interrupted (Ctrl-C)"),
        )
        .into());
    }
    if !output.status.success() {
        let hint = match terminal {
            Terminal::Shared => format!(
                "run the profile's credential_process command by hand to see why (profile {profile})"
            ),
            // A prompt (a PIN, a touch) fails without a terminal: say so.
            Terminal::None => format!(
                "it ran without a terminal (the credential server refreshes in the background, while the command owns the terminal): if it needs you to type or confirm something, run it by hand first, or use a source that refreshes without a person (profile {profile})"
            ),
        };
        return Err(Problem::failure(format!(
            "credential_process of profile {profile} failed ({}); its own message is above",
            output.status
        ))
        .hint(hint)
        .into());
    }
    parse(profile, &output.stdout)
}

pub(crate) fn parse(profile: &str, stdout: &[u8]) -> anyhow::Result<Credentials> {
    let bad = |what: &str| -> anyhow::Error {
        Problem::failure(format!(
            "credential_process of profile {profile} printed {what}"
        ))
        .hint("it must print JSON: {\"Version\": 1, \"AccessKeyId\": ..., \"SecretAccessKey\": ..., \"SessionToken\"?: ..., \"Expiration\"?: ...}")
        .into()
    };
    let out: ProcessOutput =
        serde_json::from_slice(stdout).map_err(|_| bad("something that is not a JSON object"))?;
    match out.version.as_ref().and_then(|v| v.as_i64()) {
        Some(1) => {}
        Some(_) => return Err(bad("an unsupported Version (only 1 is defined)")),
        None => return Err(bad("JSON without \"Version\": 1")),
    }
    let access_key = out
        .access_key_id
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("JSON without AccessKeyId"))?;
    let secret = out
        .secret_access_key
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("JSON without SecretAccessKey"))?;
    let mut builder = Credentials::builder()
        .access_key_id(access_key)
        .secret_access_key(secret)
        .provider_name(crate::base::PROVIDER);
    builder.set_session_token(out.session_token.filter(|s| !s.is_empty()));
    if let Some(text) = out.expiration.filter(|s| !s.is_empty()) {
        let expiry = crate::base::time::parse_time(&text)
            .ok_or_else(|| bad("an Expiration that is not an RFC 3339 time"))?;
        builder.set_expiry(Some(expiry));
    }
    builder.set_account_id(out.account_id.map(Into::into));
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recursion_is_refused() {
        assert!(check_recursion(None, "a").is_ok());
        assert!(check_recursion(Some("b,c"), "a").is_ok());
        let err = check_recursion(Some("b,a"), "a").unwrap_err();
        assert!(err.message.contains("b -> a -> a"), "{}", err.message);
        assert!(check_recursion(Some("1,2,3,4,5,6,7,8"), "x").is_err());
    }

    #[test]
    fn timeout_setting() {
        use crate::os::Context;
        let of = |value: &str| timeout(&Context::with_env([(TIMEOUT_VAR, value)]));
        assert_eq!(
            timeout(&Context::with_env([])).unwrap(),
            Duration::from_secs(300)
        );
        assert_eq!(of("2").unwrap(), Duration::from_secs(2));
        for bad in ["0", "3601", "x", "-1"] {
            let err = of(bad).unwrap_err();
            assert!(err.message.contains(TIMEOUT_VAR), "{bad}: {}", err.message);
        }
    }

    #[test]
    fn parses_version_one() {
        let creds = parse(
            "p",
            br#"{"Version":1,"AccessKeyId":"AK","SecretAccessKey":"SK","SessionToken":"T","Expiration":"2030-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(creds.access_key_id(), "AK");
        assert_eq!(creds.session_token(), Some("T"));
        assert!(creds.expiry().is_some());
    }

    #[test]
    fn errors_never_echo_the_output() {
        for bad in [
            &br#"{"Version":2,"AccessKeyId":"AK","SecretAccessKey":"TOPSECRET"}"#[..],
            br#"{"AccessKeyId":"AK","SecretAccessKey":"TOPSECRET"}"#,
            br#"{"Version":1,"SecretAccessKey":"TOPSECRET"}"#,
            b"TOPSECRET not json",
        ] {
            let err = parse("p", bad).unwrap_err();
            let text = format!("{err:#} {err:?}");
            assert!(!text.contains("TOPSECRET"), "{text}");
        }
    }
}
