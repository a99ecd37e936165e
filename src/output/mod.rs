//! Renderers: one per output format. Only these write what goes to stdout.

pub(crate) mod keys;
pub(crate) mod man;
pub(crate) mod picker;
pub(crate) mod quote;
pub(crate) mod sso;
pub(crate) mod status;
pub(crate) mod token;
pub(crate) mod whoami;

use aws_credential_types::Credentials;
use serde::Serialize;
use std::collections::BTreeMap;

pub(crate) use quote::Unrepresentable;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// POSIX shells: bash, zsh, dash, ksh (`export K='v'`).
    #[value(alias = "bash", alias = "zsh", alias = "env")]
    Sh,
    /// fish (`set -gx K 'v'`).
    Fish,
    /// PowerShell (`$Env:K = 'v'`).
    #[value(alias = "pwsh")]
    Powershell,
    /// Windows cmd.exe (`set "K=v"`).
    #[value(alias = "windows-cmd")]
    Cmd,
    /// A .env file (`K=v`).
    Dotenv,
    /// The credential_process JSON (Version 1).
    #[value(alias = "process")]
    Json,
}

impl Format {
    /// The format asked for, else the one of the shell aws-cred runs in: sh on Unix; on Windows
    /// sh in Git Bash, PowerShell or cmd by the parent process ([`crate::os::shell::detect`]).
    pub fn or_native(chosen: Option<Format>, ctx: &crate::os::Context) -> Format {
        use crate::os::shell::{Shell, detect};
        chosen.unwrap_or_else(|| match detect(ctx) {
            Shell::Posix => Format::Sh,
            Shell::PowerShell => Format::Powershell,
            Shell::Cmd => Format::Cmd,
        })
    }

    /// Lines for a shell to run (not json or a .env file).
    pub fn is_shell(self) -> bool {
        matches!(
            self,
            Format::Sh | Format::Fish | Format::Powershell | Format::Cmd
        )
    }

    /// What stdout carries when the command fails, so that `eval "$(…)"` (and its kin) fails
    /// too instead of running nothing and returning 0: one statement that fails and does
    /// nothing else. `None` for json and dotenv, whose readers want an empty stdout.
    /// - sh, fish: `false` (status 1; stops a `set -e` script, and fish's `| source; or exit`);
    /// - PowerShell: a `throw`, which stops `… | Invoke-Expression` with a terminating error;
    /// - cmd: `cmd /d /c exit 1`, which sets ERRORLEVEL 1 for `if errorlevel 1` after the
    ///   `for /f` loop (`exit /b 1` would also close an interactive window).
    pub fn failure_statement(self) -> Option<&'static str> {
        match self {
            Format::Sh | Format::Fish => Some("false"),
            Format::Powershell => {
                Some("throw 'aws-cred failed: its error is above, nothing was set'")
            }
            Format::Cmd => Some("cmd /d /c exit 1"),
            Format::Dotenv | Format::Json => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Sh => "sh",
            Format::Fish => "fish",
            Format::Powershell => "powershell",
            Format::Cmd => "cmd",
            Format::Dotenv => "dotenv",
            Format::Json => "json",
        }
    }
}

/// An extra variable some flows add (Cognito tokens): its shell name and its JSON key.
#[derive(Clone)]
pub(crate) struct Extra {
    pub variable: &'static str,
    pub json_key: &'static str,
    pub value: String,
}

impl std::fmt::Debug for Extra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extra")
            .field("variable", &self.variable)
            .finish_non_exhaustive()
    }
}

/// Everything a renderer prints.
#[derive(Debug, Clone)]
pub(crate) struct Exports<'a> {
    pub credentials: &'a Credentials,
    pub region: Option<&'a str>,
    /// `mfa` clears AWS_PROFILE so tools that prefer a profile over env keys use the session.
    pub unset_profile: bool,
    pub extras: Vec<Extra>,
}

/// The variables that carry credentials; `export --unset` clears them all.
pub(crate) const CREDENTIAL_VARIABLES: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
];

enum Line<'a> {
    Set(&'a str, String),
    Unset(&'a str),
}

fn lines<'a>(exports: &'a Exports<'a>) -> Vec<Line<'a>> {
    let creds = exports.credentials;
    let mut out = vec![
        Line::Set("AWS_ACCESS_KEY_ID", creds.access_key_id().to_string()),
        Line::Set(
            "AWS_SECRET_ACCESS_KEY",
            creds.secret_access_key().to_string(),
        ),
    ];
    match creds.session_token() {
        Some(token) => out.push(Line::Set("AWS_SESSION_TOKEN", token.to_string())),
        // A stale token left in the shell would break new long-term keys.
        None => out.push(Line::Unset("AWS_SESSION_TOKEN")),
    }
    out.push(Line::Unset("AWS_SECURITY_TOKEN"));
    match creds.expiry() {
        Some(expiry) => out.push(Line::Set(
            "AWS_CREDENTIAL_EXPIRATION",
            crate::base::time::rfc3339(expiry),
        )),
        None => out.push(Line::Unset("AWS_CREDENTIAL_EXPIRATION")),
    }
    if let Some(region) = exports.region {
        out.push(Line::Set("AWS_REGION", region.to_string()));
        out.push(Line::Set("AWS_DEFAULT_REGION", region.to_string()));
    }
    for extra in &exports.extras {
        out.push(Line::Set(extra.variable, extra.value.clone()));
    }
    if exports.unset_profile {
        out.push(Line::Unset("AWS_PROFILE"));
        out.push(Line::Unset("AWS_DEFAULT_PROFILE"));
    }
    out
}

fn render_lines(format: Format, lines: &[Line<'_>]) -> Result<String, Unrepresentable> {
    let mut out = String::new();
    for line in lines {
        // No environment variable can hold a NUL byte; shells would cut or drop it silently.
        if let Line::Set(k, v) = line
            && v.contains('\0')
        {
            return Err(Unrepresentable {
                variable: k.to_string(),
                format: format.name(),
                what: "a NUL byte",
            });
        }
        let text = match (format, line) {
            (Format::Sh, Line::Set(k, v)) => format!("export {k}={}", quote::sh(v)),
            (Format::Sh, Line::Unset(k)) => format!("unset {k}"),
            (Format::Fish, Line::Set(k, v)) => format!("set -gx {k} {}", quote::fish(v)),
            // `set -e` of a variable that is not set fails (status 4); `or true` keeps a
            // successful `… | source` at status 0 for fish's `; or exit` idiom.
            (Format::Fish, Line::Unset(k)) => format!("set -e {k}; or true"),
            (Format::Powershell, Line::Set(k, v)) => format!("$Env:{k} = {}", quote::powershell(v)),
            (Format::Powershell, Line::Unset(k)) => {
                format!("Remove-Item -ErrorAction SilentlyContinue Env:{k}")
            }
            (Format::Cmd, Line::Set(k, v)) => quote::cmd(k, v)?,
            (Format::Cmd, Line::Unset(k)) => format!("set {k}="),
            (Format::Dotenv, Line::Set(k, v)) => format!("{k}={}", quote::dotenv(k, v)?),
            // A .env file cannot unset anything.
            (Format::Dotenv, Line::Unset(_)) => continue,
            (Format::Json, _) => unreachable!("json is rendered separately"),
        };
        out.push_str(&text);
        out.push('\n');
    }
    Ok(out)
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ProcessJson<'a> {
    version: u8,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<String>,
    #[serde(flatten)]
    extras: BTreeMap<&'static str, &'a str>,
}

fn render_json(exports: &Exports<'_>) -> String {
    let creds = exports.credentials;
    let doc = ProcessJson {
        version: 1,
        access_key_id: creds.access_key_id(),
        secret_access_key: creds.secret_access_key(),
        session_token: creds.session_token(),
        expiration: creds.expiry().map(crate::base::time::rfc3339),
        extras: exports
            .extras
            .iter()
            .map(|e| (e.json_key, e.value.as_str()))
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&doc).expect("plain strings always serialize");
    text.push('\n');
    text
}

/// Render credentials in `format`.
pub(crate) fn render(format: Format, exports: &Exports<'_>) -> Result<String, Unrepresentable> {
    match format {
        Format::Json => Ok(render_json(exports)),
        _ => render_lines(format, &lines(exports)),
    }
}

/// A set of variables to set and to clear, other than credentials (`serve`: the endpoint's URL
/// and token). JSON: `{"schema_version": 1, "variables": {NAME: VALUE}, "unset": [NAME]}`.
#[derive(Clone)]
pub(crate) struct Variables<'a> {
    pub set: Vec<(&'a str, String)>,
    pub unset: Vec<&'a str>,
}

/// Names only: values may be tokens.
impl std::fmt::Debug for Variables<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Variables")
            .field("set", &self.set.iter().map(|(k, _)| *k).collect::<Vec<_>>())
            .field("unset", &self.unset)
            .finish()
    }
}

/// Render a variable set in `format`: the clearing lines first, then the settings.
pub(crate) fn render_variables(
    format: Format,
    variables: &Variables<'_>,
) -> Result<String, Unrepresentable> {
    if format == Format::Json {
        let doc = serde_json::json!({
            "schema_version": 1,
            "variables": variables
                .set
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone())))
                .collect::<serde_json::Map<_, _>>(),
            "unset": variables.unset,
        });
        let mut text = serde_json::to_string_pretty(&doc).expect("plain strings always serialize");
        text.push('\n');
        return Ok(text);
    }
    let lines: Vec<Line<'_>> = variables
        .unset
        .iter()
        .map(|k| Line::Unset(k))
        .chain(variables.set.iter().map(|(k, v)| Line::Set(k, v.clone())))
        .collect();
    render_lines(format, &lines)
}

/// Lines that clear every credential variable (`export --unset`). Empty for json/dotenv,
/// which cannot unset.
pub(crate) fn render_unset(format: Format) -> String {
    let lines: Vec<Line<'_>> = CREDENTIAL_VARIABLES
        .iter()
        .map(|k| Line::Unset(k))
        .collect();
    match format {
        Format::Json => String::new(),
        _ => render_lines(format, &lines).expect("unset lines carry no values"),
    }
}

/// `aws-cred ARGS` as the shell of `format` runs what it prints: `eval "$(…)"` (sh), `… | source`
/// (fish), `… | Invoke-Expression` (PowerShell), `for /f` (cmd). Each argument is quoted for that
/// shell when it needs to be.
pub(crate) fn eval_command(format: Format, args: &[String]) -> String {
    let plain = |arg: &str| {
        !arg.is_empty()
            && arg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b))
    };
    let line = |quote: &dyn Fn(&str) -> String| {
        std::iter::once("aws-cred".to_string())
            .chain(args.iter().map(|arg| match plain(arg) {
                true => arg.clone(),
                false => quote(arg),
            }))
            .collect::<Vec<_>>()
            .join(" ")
    };
    match format {
        Format::Fish => format!("{} | source", line(&quote::fish)),
        Format::Powershell => format!("{} | Invoke-Expression", line(&quote::powershell)),
        Format::Cmd => format!(
            "for /f \"delims=\" %i in ('{}') do @%i",
            line(&|arg: &str| format!("\"{arg}\""))
        ),
        _ => format!("eval \"$({})\"", line(&quote::sh)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One statement each, that fails and does nothing else; PowerShell's is a `throw` of a
    /// single-quoted string (no `'` inside, so nothing in it is expanded or ends it early).
    #[test]
    fn failure_statements_are_one_failing_statement() {
        assert_eq!(Format::Sh.failure_statement(), Some("false"));
        assert_eq!(Format::Fish.failure_statement(), Some("false"));
        assert_eq!(Format::Cmd.failure_statement(), Some("cmd /d /c exit 1"));
        let ps = Format::Powershell.failure_statement().unwrap();
        let text = ps
            .strip_prefix("throw '")
            .and_then(|rest| rest.strip_suffix('\''))
            .unwrap();
        assert!(!text.contains('\'') && !text.contains('\n'), "{ps}");
        assert_eq!(Format::Json.failure_statement(), None);
        assert_eq!(Format::Dotenv.failure_statement(), None);
    }

    #[test]
    fn the_eval_hint_is_the_command_in_each_shells_form() {
        let args: Vec<String> = ["export", "--profile", "my prod"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            eval_command(Format::Sh, &args),
            "eval \"$(aws-cred export --profile 'my prod')\""
        );
        assert!(eval_command(Format::Fish, &args).ends_with(" | source"));
        assert!(eval_command(Format::Powershell, &args).ends_with(" | Invoke-Expression"));
        assert!(
            eval_command(Format::Cmd, &args)
                .starts_with("for /f \"delims=\" %i in ('aws-cred export")
        );
        assert!(Format::Sh.is_shell() && !Format::Json.is_shell() && !Format::Dotenv.is_shell());
    }
    use std::time::{Duration, UNIX_EPOCH};

    fn session() -> Credentials {
        Credentials::builder()
            .access_key_id("ASIAEXAMPLE")
            .secret_access_key("se'cret")
            .session_token("tok")
            .expiry(UNIX_EPOCH + Duration::from_secs(1_790_000_000))
            .provider_name("test")
            .build()
    }

    fn long_term() -> Credentials {
        Credentials::builder()
            .access_key_id("AKIAEXAMPLE")
            .secret_access_key("secret")
            .provider_name("test")
            .build()
    }

    #[test]
    fn sh_session_with_region() {
        let creds = session();
        let text = render(
            Format::Sh,
            &Exports {
                credentials: &creds,
                region: Some("ap-northeast-1"),
                unset_profile: true,
                extras: vec![],
            },
        )
        .unwrap();
        assert_eq!(
            text,
            "export AWS_ACCESS_KEY_ID='ASIAEXAMPLE'\n\
             export AWS_SECRET_ACCESS_KEY='se'\\''cret'\n\
             export AWS_SESSION_TOKEN='tok'\n\
             unset AWS_SECURITY_TOKEN\n\
             export AWS_CREDENTIAL_EXPIRATION='2026-09-21T14:13:20Z'\n\
             export AWS_REGION='ap-northeast-1'\n\
             export AWS_DEFAULT_REGION='ap-northeast-1'\n\
             unset AWS_PROFILE\n\
             unset AWS_DEFAULT_PROFILE\n"
        );
    }

    #[test]
    fn long_term_keys_unset_stale_token_in_every_shell() {
        let creds = long_term();
        let exports = Exports {
            credentials: &creds,
            region: None,
            unset_profile: false,
            extras: vec![],
        };
        let sh = render(Format::Sh, &exports).unwrap();
        assert!(sh.contains("unset AWS_SESSION_TOKEN\n"));
        assert!(sh.contains("unset AWS_CREDENTIAL_EXPIRATION\n"));
        assert!(!sh.contains("AWS_REGION"));
        let fish = render(Format::Fish, &exports).unwrap();
        assert!(fish.contains("set -e AWS_SESSION_TOKEN; or true\n"));
        let ps = render(Format::Powershell, &exports).unwrap();
        assert!(ps.contains("Remove-Item -ErrorAction SilentlyContinue Env:AWS_SESSION_TOKEN\n"));
        let cmd = render(Format::Cmd, &exports).unwrap();
        assert!(cmd.contains("set AWS_SESSION_TOKEN=\n"));
        let dotenv = render(Format::Dotenv, &exports).unwrap();
        assert_eq!(
            dotenv,
            "AWS_ACCESS_KEY_ID=AKIAEXAMPLE\nAWS_SECRET_ACCESS_KEY=secret\n"
        );
    }

    #[test]
    fn json_is_the_credential_process_schema() {
        let creds = session();
        let exports = Exports {
            credentials: &creds,
            region: Some("us-east-1"),
            unset_profile: false,
            extras: vec![],
        };
        let value: serde_json::Value =
            serde_json::from_str(&render(Format::Json, &exports).unwrap()).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "Version": 1,
                "AccessKeyId": "ASIAEXAMPLE",
                "SecretAccessKey": "se'cret",
                "SessionToken": "tok",
                "Expiration": "2026-09-21T14:13:20Z",
            })
        );
        let creds = long_term();
        let exports = Exports {
            credentials: &creds,
            ..exports
        };
        let value: serde_json::Value =
            serde_json::from_str(&render(Format::Json, &exports).unwrap()).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"Version": 1, "AccessKeyId": "AKIAEXAMPLE", "SecretAccessKey": "secret"})
        );
    }

    #[test]
    fn extras_reach_shell_and_json() {
        let creds = session();
        let exports = Exports {
            credentials: &creds,
            region: None,
            unset_profile: false,
            extras: vec![Extra {
                variable: "COGNITO_ID_TOKEN",
                json_key: "CognitoIdToken",
                value: "eyJ".into(),
            }],
        };
        assert!(
            render(Format::Sh, &exports)
                .unwrap()
                .contains("export COGNITO_ID_TOKEN='eyJ'\n")
        );
        assert!(
            render(Format::Json, &exports)
                .unwrap()
                .contains("\"CognitoIdToken\": \"eyJ\"")
        );
    }

    #[test]
    fn unset_clears_every_credential_variable() {
        assert_eq!(
            render_unset(Format::Sh),
            "unset AWS_ACCESS_KEY_ID\nunset AWS_SECRET_ACCESS_KEY\nunset AWS_SESSION_TOKEN\n\
             unset AWS_SECURITY_TOKEN\nunset AWS_CREDENTIAL_EXPIRATION\n"
        );
        assert_eq!(render_unset(Format::Json), "");
    }

    #[test]
    fn nul_bytes_are_refused_in_every_shell_format() {
        let creds = Credentials::builder()
            .access_key_id("AKIA")
            .secret_access_key("s\0x")
            .provider_name("test")
            .build();
        let exports = Exports {
            credentials: &creds,
            region: None,
            unset_profile: false,
            extras: vec![],
        };
        for format in [
            Format::Sh,
            Format::Fish,
            Format::Powershell,
            Format::Cmd,
            Format::Dotenv,
        ] {
            let err = render(format, &exports).unwrap_err();
            assert_eq!(err.variable, "AWS_SECRET_ACCESS_KEY");
            assert_eq!(err.what, "a NUL byte");
        }
        assert!(render(Format::Json, &exports).unwrap().contains("\\u0000"));
    }

    #[test]
    fn variable_sets_clear_then_set_and_json_lists_both() {
        let variables = Variables {
            set: vec![("AWS_CONTAINER_AUTHORIZATION_TOKEN", "t'k".to_string())],
            unset: vec!["AWS_PROFILE"],
        };
        assert_eq!(
            render_variables(Format::Sh, &variables).unwrap(),
            "unset AWS_PROFILE\nexport AWS_CONTAINER_AUTHORIZATION_TOKEN='t'\\''k'\n"
        );
        assert_eq!(
            render_variables(Format::Dotenv, &variables).unwrap(),
            "AWS_CONTAINER_AUTHORIZATION_TOKEN='t\\'k'\n"
        );
        let value: serde_json::Value =
            serde_json::from_str(&render_variables(Format::Json, &variables).unwrap()).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "schema_version": 1,
                "variables": {"AWS_CONTAINER_AUTHORIZATION_TOKEN": "t'k"},
                "unset": ["AWS_PROFILE"],
            })
        );
        assert!(!format!("{variables:?}").contains("t'k"));
    }

    #[test]
    fn cmd_refuses_unsafe_region() {
        let creds = long_term();
        let exports = Exports {
            credentials: &creds,
            region: Some("us-east-1%PATH%"),
            unset_profile: false,
            extras: vec![],
        };
        let err = render(Format::Cmd, &exports).unwrap_err();
        assert_eq!(err.variable, "AWS_REGION");
    }
}
