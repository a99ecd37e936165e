//! Settings, each declared once: which flag, which variables, which key of the selected profile,
//! and the default. Every setting is resolved with the same precedence — the flag, then the
//! variables in order, then the profile's key, then the default — and comes back with its
//! [`Source`], so messages and `--explain` can say where a value came from.
//!
//! Blank values count as absent at every level (as the AWS SDKs do for variables). Values are
//! trimmed, except for settings declared `raw` (secrets are taken as they are).

use crate::base::error::Problem;
use crate::os::Context;
use crate::profile::Profiles;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// One setting's declaration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Setting {
    /// What it is, for messages: "region", "user pool id".
    pub what: &'static str,
    pub flag: Option<&'static str>,
    pub vars: &'static [&'static str],
    /// Key in the selected profile's section of the config files.
    pub key: Option<&'static str>,
    pub default: Option<&'static str>,
    /// Keep surrounding whitespace (secrets are used exactly as given).
    pub raw: bool,
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Flag(&'static str),
    Var(&'static str),
    Profile {
        key: &'static str,
        profile: String,
        file: PathBuf,
    },
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(flag) => f.write_str(flag),
            Source::Var(var) => f.write_str(var),
            Source::Profile { key, profile, file } => {
                write!(f, "{key} in profile {profile} ({})", file.display())
            }
            Source::Default => f.write_str("the default"),
        }
    }
}

/// A resolved value and its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Value {
    pub value: String,
    pub source: Source,
}

impl Setting {
    /// A setting with only a description; add the places it is read from with the builders.
    pub(crate) const fn new(what: &'static str) -> Setting {
        Setting {
            what,
            flag: None,
            vars: &[],
            key: None,
            default: None,
            raw: false,
        }
    }
    pub(crate) const fn flag(mut self, flag: &'static str) -> Setting {
        self.flag = Some(flag);
        self
    }
    pub(crate) const fn vars(mut self, vars: &'static [&'static str]) -> Setting {
        self.vars = vars;
        self
    }
    pub(crate) const fn key(mut self, key: &'static str) -> Setting {
        self.key = Some(key);
        self
    }
    pub(crate) const fn default(mut self, default: &'static str) -> Setting {
        self.default = Some(default);
        self
    }
    pub(crate) const fn raw(mut self) -> Setting {
        self.raw = true;
        self
    }

    fn clean<'a>(&self, value: &'a str) -> Option<&'a str> {
        if value.trim().is_empty() {
            None
        } else if self.raw {
            Some(value)
        } else {
            Some(value.trim())
        }
    }

    /// The first place that has a value: `flag_value` (what the command line gave for
    /// [`Setting::flag`]), the variables, the selected profile's key, the default.
    pub(crate) fn resolve(
        &self,
        flag_value: Option<&str>,
        ctx: &Context,
        profiles: Option<&Profiles>,
    ) -> Option<Value> {
        let value = |value: &str, source| Value {
            value: value.to_string(),
            source,
        };
        if let (Some(flag), Some(given)) = (self.flag, flag_value.and_then(|v| self.clean(v))) {
            return Some(value(given, Source::Flag(flag)));
        }
        for var in self.vars {
            if let Some(given) = ctx.raw_var(var).and_then(|v| self.clean(v)) {
                return Some(value(given, Source::Var(var)));
            }
        }
        if let (Some(key), Some(profiles)) = (self.key, profiles)
            && let Some(given) = profiles
                .get(&profiles.selected, key)
                .and_then(|v| self.clean(v))
        {
            let file = profiles.files.config.clone();
            let profile = profiles.selected.clone();
            return Some(value(given, Source::Profile { key, profile, file }));
        }
        self.default.map(|d| value(d, Source::Default))
    }

    /// A path: a variable is taken in any encoding ([`Context::path_var`]), a profile key as
    /// text; `~` is expanded in both. With where it came from.
    pub(crate) fn path(
        &self,
        ctx: &Context,
        profiles: Option<&Profiles>,
    ) -> Option<(PathBuf, Source)> {
        let home = ctx.home();
        for var in self.vars {
            if let Some(path) = ctx.path_var(var) {
                let path = crate::profile::expand_home_path(&path, home.as_deref()).unwrap_or(path);
                return Some((path, Source::Var(var)));
            }
        }
        let text_only = Setting { vars: &[], ..*self };
        let found = text_only.resolve(None, ctx, profiles)?;
        let path = crate::profile::expand_home(&found.value, home.as_deref())
            .unwrap_or_else(|| found.value.clone().into());
        Some((path, found.source))
    }

    /// Resolve and convert; a value that does not convert is a usage error naming the value,
    /// its source and what was expected.
    pub(crate) fn parse<T>(
        &self,
        flag_value: Option<&str>,
        ctx: &Context,
        profiles: Option<&Profiles>,
        expected: &str,
        convert: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Option<(T, Source)>, Problem> {
        let Some(found) = self.resolve(flag_value, ctx, profiles) else {
            return Ok(None);
        };
        match convert(&found.value) {
            Some(value) => Ok(Some((value, found.source))),
            None => Err(Problem::usage(format!(
                "{} = {:?} (from {}) is not {expected}",
                self.what, found.value, found.source
            ))),
        }
    }

    /// A whole number of `unit_secs`-second units between `min` and `max`, as a duration.
    pub(crate) fn duration(
        &self,
        flag_value: Option<&str>,
        ctx: &Context,
        profiles: Option<&Profiles>,
        (min, max): (u64, u64),
        unit: Duration,
        unit_name: &str,
    ) -> Result<Option<(Duration, Source)>, Problem> {
        self.parse(
            flag_value,
            ctx,
            profiles,
            &format!("a number of {unit_name} ({min}-{max})"),
            |text| {
                let n = text
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (min..=max).contains(n))?;
                unit.checked_mul(u32::try_from(n).ok()?)
            },
        )
    }

    /// Whole seconds between `min` and `max` from the variables, else the default (a setting
    /// without a default that is not set is a usage error).
    pub(crate) fn seconds(
        &self,
        ctx: &Context,
        (min, max): (u64, u64),
    ) -> Result<Duration, Problem> {
        self.duration(
            None,
            ctx,
            None,
            (min, max),
            Duration::from_secs(1),
            "seconds",
        )?
        .map(|(seconds, _)| seconds)
        .ok_or_else(|| Problem::usage(format!("no {} configured", self.what)))
    }

    /// The error for a setting that is required and has no value: every place it can be given.
    pub(crate) fn missing(&self, profiles: &Profiles) -> Problem {
        let mut places = Vec::new();
        if let Some(flag) = self.flag {
            places.push(format!("pass {flag}"));
        }
        if !self.vars.is_empty() {
            places.push(format!("set {}", self.vars.join(" or ")));
        }
        if let Some(key) = self.key {
            places.push(format!(
                "add `{key} = ...` to [profile {}] in {}",
                profiles.selected,
                profiles.files.config.display()
            ));
        }
        let hint = match places.len() {
            0 => String::new(),
            1 => places.remove(0),
            _ => {
                let last = places.pop().unwrap_or_default();
                format!("{}, or {last}", places.join(", "))
            }
        };
        Problem::usage(format!("no {} configured", self.what)).hint(hint)
    }
}

// ---------------------------------------------------------------------------------------------
// The declarations.

pub(crate) const REGION: Setting = Setting::new("region")
    .flag("--region")
    .vars(&["AWS_REGION", "AWS_DEFAULT_REGION"])
    .key("region");

pub(crate) const MFA_MARGIN_MINUTES: Setting = Setting::new("MFA session reuse margin")
    .flag("--margin-minutes")
    .vars(&["AWS_CRED_MFA_MARGIN_MINUTES"])
    .default("10");

/// What `--explain` reports after the chain: the settings that shape how credentials are
/// fetched, each with its value and where it came from (the default included).
const EXPLAINED: [&Setting; 6] = [
    &READ_TIMEOUT,
    &PROCESS_TIMEOUT,
    &MFA_MARGIN_MINUTES,
    &MFA_PROCESS,
    &NO_PROMPT,
    &IGNORE_CONFIGURED_ENDPOINTS,
];

/// Each setting of [`EXPLAINED`] that has a value, then the two paths ([`CA_BUNDLE`], the
/// login cache): what it is, the value, and its source.
pub(crate) fn explained(ctx: &Context, profiles: &Profiles) -> Vec<(&'static str, String, Source)> {
    let text = EXPLAINED.iter().filter_map(|setting| {
        let found = setting.resolve(None, ctx, Some(profiles))?;
        Some((setting.what, found.value, found.source))
    });
    let ca_bundle = CA_BUNDLE
        .path(ctx, Some(profiles))
        .map(|(path, source)| (CA_BUNDLE.what, path.display().to_string(), source));
    let login_cache = login_cache_dir_from(ctx).map(|(dir, source)| {
        (
            LOGIN_CACHE_DIRECTORY.what,
            dir.display().to_string(),
            source,
        )
    });
    text.chain(ca_bundle).chain(login_cache).collect()
}

/// `true` turns off the configured endpoint URLs (`AWS_ENDPOINT_URL*`, `[services]`,
/// `endpoint_url`); the variable wins over the profile's key, as in the SDKs.
pub(crate) const IGNORE_CONFIGURED_ENDPOINTS: Setting =
    Setting::new("ignore configured endpoint URLs")
        .vars(&["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"])
        .key("ignore_configured_endpoint_urls");

/// Seconds a `credential_process` may run before it is stopped with everything it started
/// (1–3600; it may prompt for an MFA code or open a browser).
pub(crate) const PROCESS_TIMEOUT: Setting = Setting::new("credential_process time limit")
    .vars(&["AWS_CRED_PROCESS_TIMEOUT"])
    .default("300");

/// Seconds one AWS call waits for its answer, retries included (fractions allowed, up to 600).
pub(crate) const READ_TIMEOUT: Setting = Setting::new("AWS answer timeout")
    .vars(&["AWS_CRED_READ_TIMEOUT"])
    .default("20");

/// A command that prints the current MFA code (aws-vault's `mfa_process`, e.g. `ykman oath
/// accounts code --single NAME`), run instead of asking at the terminal; split as this system's
/// AWS tools split a command and run without a shell.
pub(crate) const MFA_PROCESS: Setting = Setting::new("MFA code command")
    .vars(&["AWS_CRED_MFA_PROCESS"])
    .key("mfa_process");

/// `AWS_CRED_NO_PROMPT=1` (or `true`): never ask at the terminal (as `--no-prompt`).
pub(crate) const NO_PROMPT: Setting = Setting::new("no prompts").vars(&["AWS_CRED_NO_PROMPT"]);

/// Whether a command may ask the person at the terminal for something it needs (an MFA code):
/// not with `--no-prompt` (`flag`) or [`NO_PROMPT`] set to `1`/`true`, and only with a terminal
/// on stdin and stderr (where the question and the answer go).
pub(crate) fn may_prompt(ctx: &Context, flag: bool) -> bool {
    let off = NO_PROMPT.resolve(None, ctx, None).is_some_and(|found| {
        matches!(
            found.value.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes"
        )
    });
    !flag && !off && ctx.stdin_is_tty && ctx.stderr_is_tty
}

/// <https://no-color.org>: any non-empty value turns colour off.
pub(crate) const NO_COLOR: Setting = Setting::new("no colour").vars(&["NO_COLOR"]);

/// `COLUMNS`: the width tables for people are fitted to.
pub(crate) const COLUMNS: Setting = Setting::new("table width").vars(&["COLUMNS"]);

/// How wide a table for people may be: `COLUMNS` when it is a number (at least 20, as
/// Python's `shutil.get_terminal_size` reads it first), else the width of the terminal on
/// stdout; `None` (no limit) when stdout is not a terminal and `COLUMNS` is unset.
pub(crate) fn table_width(ctx: &Context) -> Option<usize> {
    COLUMNS
        .resolve(None, ctx, None)
        .and_then(|found| found.value.trim().parse::<usize>().ok())
        .filter(|columns| *columns >= 20)
        .or_else(crate::os::terminal::stdout_columns)
}

/// Extra certificate authorities for HTTPS (a PEM file), as the AWS CLI and SDKs read them.
pub(crate) const CA_BUNDLE: Setting = Setting::new("CA bundle")
    .vars(&["AWS_CA_BUNDLE"])
    .key("ca_bundle");

/// Where `aws login` keeps its sessions (the AWS CLI's variable); default `~/.aws/login/cache`.
pub(crate) const LOGIN_CACHE_DIRECTORY: Setting =
    Setting::new("login session cache directory").vars(&["AWS_LOGIN_CACHE_DIRECTORY"]);

/// Whether people-facing output on stdout may use colour: on a terminal that understands the
/// escapes, without `NO_COLOR`.
pub(crate) fn colour(ctx: &Context) -> bool {
    NO_COLOR.resolve(None, ctx, None).is_none() && ctx.stdout_ansi()
}

/// [`colour`] for messages on stderr (the SSO spinner).
pub(crate) fn colour_on_stderr(ctx: &Context) -> bool {
    NO_COLOR.resolve(None, ctx, None).is_none() && ctx.stderr_ansi()
}

/// How a spinner is drawn on stderr while the person waits: only when stderr is a terminal
/// that is not `TERM=dumb`; in colour as [`colour_on_stderr`] says.
pub(crate) fn spinner(ctx: &Context) -> Option<crate::os::spinner::Look> {
    (ctx.stderr_is_tty && ctx.var("TERM") != Some("dumb")).then(|| crate::os::spinner::Look {
        colour: colour_on_stderr(ctx),
    })
}

/// The `aws login` session cache: [`LOGIN_CACHE_DIRECTORY`] with `$VAR`, `${VAR}` and `~`
/// expanded (as the AWS CLI expands it), else `~/.aws/login/cache`. `None` without a home.
pub(crate) fn login_cache_dir(ctx: &Context) -> Option<PathBuf> {
    login_cache_dir_from(ctx).map(|(dir, _)| dir)
}

/// [`login_cache_dir`], and where it came from.
fn login_cache_dir_from(ctx: &Context) -> Option<(PathBuf, Source)> {
    let home = ctx.home();
    match LOGIN_CACHE_DIRECTORY.resolve(None, ctx, None) {
        Some(found) => {
            let dir = expand_vars(ctx, &found.value);
            let dir = crate::profile::expand_home(&dir, home.as_deref())?;
            Some((dir, found.source))
        }
        None => Some((
            home?.join(".aws").join("login").join("cache"),
            Source::Default,
        )),
    }
}

/// `$NAME` and `${NAME}` from the environment, as Python's `os.path.expandvars` (unknown
/// names stay as they are).
fn expand_vars(ctx: &Context, text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, len) = match after.strip_prefix('{') {
            Some(braced) => match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            },
            None => {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        match ctx.raw_var(name).filter(|_| !name.is_empty()) {
            Some(value) => out.push_str(value),
            None => out.push_str(&rest[at..at + 1 + len]),
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

pub(crate) const SSO_LOGIN_TIMEOUT: Setting = Setting::new("SSO login timeout")
    .vars(&["AWS_CRED_SSO_LOGIN_TIMEOUT"])
    .default("300");

pub(crate) const LOGIN_TIMEOUT: Setting = Setting::new("login timeout")
    .vars(&["AWS_CRED_LOGIN_TIMEOUT"])
    .default("600");

pub(crate) const SSO_POLL_MS: Setting = Setting::new("SSO device-flow polling unit")
    .vars(&["AWS_CRED_SSO_POLL_MS"])
    .default("1000");

pub(crate) const COGNITO_USER_POOL_ID: Setting = Setting::new("user pool id")
    .flag("--user-pool-id")
    .vars(&["AWS_CRED_COGNITO_USER_POOL_ID"])
    .key("cognito_user_pool_id");

pub(crate) const COGNITO_CLIENT_ID: Setting = Setting::new("app client id")
    .flag("--client-id")
    .vars(&["AWS_CRED_COGNITO_CLIENT_ID"])
    .key("cognito_client_id");

pub(crate) const COGNITO_CLIENT_SECRET: Setting = Setting::new("app client secret")
    .flag("--client-secret")
    .vars(&["AWS_CRED_COGNITO_CLIENT_SECRET"])
    .key("cognito_client_secret")
    .raw();

pub(crate) const COGNITO_IDENTITY_POOL_ID: Setting = Setting::new("identity pool id")
    .flag("--identity-pool-id")
    .vars(&["AWS_CRED_COGNITO_IDENTITY_POOL_ID"])
    .key("cognito_identity_pool_id");

pub(crate) const COGNITO_AUTH_FLOW: Setting = Setting::new("auth flow")
    .flag("--auth-flow")
    .vars(&["AWS_CRED_COGNITO_AUTH_FLOW"])
    .key("cognito_auth_flow")
    .default("srp");

pub(crate) const COGNITO_ROLE_ARN: Setting = Setting::new("role")
    .flag("--role-arn")
    .vars(&["AWS_CRED_COGNITO_ROLE_ARN"])
    .key("cognito_role_arn");

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: Setting = Setting::new("demo")
        .flag("--demo")
        .vars(&["DEMO_A", "DEMO_B"])
        .key("demo")
        .default("d");

    fn profiles() -> Profiles {
        Profiles::from_text("[profile p]\ndemo = from-profile\n", "", "p")
    }

    #[test]
    fn flag_then_variables_in_order_then_profile_then_default() {
        let p = profiles();
        let ctx = Context::with_env([("DEMO_A", " a "), ("DEMO_B", "b")]);
        let v = DEMO.resolve(Some("f"), &ctx, Some(&p)).unwrap();
        assert_eq!((v.value.as_str(), v.source), ("f", Source::Flag("--demo")));
        let v = DEMO.resolve(None, &ctx, Some(&p)).unwrap();
        assert_eq!((v.value.as_str(), v.source), ("a", Source::Var("DEMO_A")));
        let ctx = Context::with_env([("DEMO_A", "  "), ("DEMO_B", "b")]);
        assert_eq!(DEMO.resolve(Some(" "), &ctx, Some(&p)).unwrap().value, "b");
        let ctx = Context::with_env([]);
        let v = DEMO.resolve(None, &ctx, Some(&p)).unwrap();
        assert_eq!(v.value, "from-profile");
        assert!(v.source.to_string().starts_with("demo in profile p ("));
        let other = Profiles::from_text("[profile q]\n", "", "q");
        let v = DEMO.resolve(None, &ctx, Some(&other)).unwrap();
        assert_eq!((v.value.as_str(), v.source), ("d", Source::Default));
    }

    #[test]
    fn raw_settings_keep_whitespace_but_blank_is_still_absent() {
        const SECRET: Setting = Setting::new("secret").vars(&["S"]).raw();
        let p = profiles();
        let ctx = Context::with_env([("S", " x ")]);
        assert_eq!(SECRET.resolve(None, &ctx, Some(&p)).unwrap().value, " x ");
        let ctx = Context::with_env([("S", "   ")]);
        assert_eq!(SECRET.resolve(None, &ctx, Some(&p)), None);
    }

    #[test]
    fn bad_values_name_their_source_and_missing_ones_every_place() {
        let p = profiles();
        let ctx = Context::with_env([("DEMO_B", "soon")]);
        let err = DEMO
            .duration(
                None,
                &ctx,
                Some(&p),
                (0, 60),
                Duration::from_secs(1),
                "seconds",
            )
            .unwrap_err();
        assert_eq!(
            err.message,
            "demo = \"soon\" (from DEMO_B) is not a number of seconds (0-60)"
        );
        let ctx = Context::with_env([("DEMO_B", "61")]);
        assert!(
            DEMO.duration(None, &ctx, Some(&p), (0, 60), Duration::from_secs(1), "s")
                .is_err()
        );
        let ctx = Context::with_env([("DEMO_B", "7")]);
        let (d, source) = DEMO
            .duration(
                None,
                &ctx,
                Some(&p),
                (0, 60),
                Duration::from_secs(60),
                "minutes",
            )
            .unwrap()
            .unwrap();
        assert_eq!(
            (d, source),
            (Duration::from_secs(420), Source::Var("DEMO_B"))
        );
        let missing = Setting::new("thing")
            .flag("--thing")
            .vars(&["THING"])
            .key("thing")
            .missing(&p);
        assert_eq!(missing.message, "no thing configured");
        assert!(
            missing
                .hint
                .as_deref()
                .unwrap()
                .starts_with("pass --thing, set THING, or add `thing = ...` to [profile p]")
        );
    }
}
