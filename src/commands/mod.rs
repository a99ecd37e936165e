//! Subcommands. Each takes validated arguments and the shared `Setup`, and writes to stdout
//! only through `deliver` / `emit`.

pub(crate) mod cognito;
pub(crate) mod console;
pub(crate) mod exec;
pub(crate) mod export;
pub(crate) mod keys;
pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod mfa;
pub(crate) mod pick;
pub(crate) mod serve;
pub(crate) mod shell;
pub(crate) mod sso;
pub(crate) mod sso_login;
pub(crate) mod status;
pub(crate) mod token;
pub(crate) mod whoami;

use crate::aws::Aws;
use crate::base::error::Problem;
use crate::base::text::escape;
use crate::chain::{self, ChainFailure, Resolution};
use crate::cli::{GlobalArgs, OutputArgs};
use crate::os::Context;
use crate::output::{self, Exports};
use crate::profile::writer::{self, Change, HeaderStyle, WriteRequest};
use crate::profile::{Profiles, Scope};
use crate::settings;
use std::io::Write;
use std::time::Duration;

/// A region and where it came from.
#[derive(Debug, Clone)]
pub struct Region {
    /// The region's code, e.g. `eu-west-1`.
    pub name: String,
    /// Where it came from (`--region`, a variable, the profile), for messages.
    pub source: String,
}

/// What every subcommand starts from: the environment, the parsed files, the SDK settings.
pub(crate) struct Setup {
    pub ctx: Context,
    pub profiles: Profiles,
    pub aws: Aws,
    pub region: Option<Region>,
    /// `--no-prompt`: never ask at the terminal ([`settings::may_prompt`]).
    pub no_prompt: bool,
    /// `--duration` of `export`, `exec`, `serve`: the role session's length in seconds.
    pub duration: Option<u32>,
}

impl Setup {
    pub(crate) async fn new(
        ctx: Context,
        global: &GlobalArgs,
        scope: Scope,
    ) -> anyhow::Result<Self> {
        if let Some(name) = &global.profile
            && name.trim().is_empty()
        {
            return Err(Problem::usage("--profile needs a name").into());
        }
        let profiles = Profiles::load_scoped(&ctx, global.profile.as_deref(), scope).await?;
        // A region variable that is not UTF-8 is an error, not a silent fallback.
        if global.region.is_none() {
            for var in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
                if ctx.text_var(var)?.is_some() {
                    break;
                }
            }
        }
        let region = resolve_region(&ctx, global.region.as_deref(), &profiles);
        if global.no_verify_ssl {
            eprintln!(
                "WARNING: --no-verify-ssl: TLS certificates of AWS endpoints are NOT verified.\n\
                 WARNING: anyone on the network path can read and change these credentials.\n\
                 WARNING: prefer AWS_CA_BUNDLE=/path/to/your-proxy-ca.pem, which keeps verification on."
            );
        }
        let aws = Aws::with_verification(&ctx, &profiles, !global.no_verify_ssl)?;
        Ok(Setup {
            ctx,
            profiles,
            aws,
            region,
            no_prompt: global.no_prompt,
            duration: None,
        })
    }

    /// The region for STS and the other calls that sign with one: the run's, else
    /// [`crate::aws::FALLBACK_REGION`] (as [`chain::Request::sts_region`]).
    pub(crate) fn sts_region(&self) -> &str {
        self.region
            .as_ref()
            .map_or(crate::aws::FALLBACK_REGION, |r| r.name.as_str())
    }

    pub(crate) fn request(&self) -> chain::Request<'_> {
        chain::Request {
            ctx: &self.ctx,
            profiles: &self.profiles,
            aws: &self.aws,
            region: self.region.as_ref().map(|r| r.name.as_str()),
            terminal: crate::os::process::Terminal::Shared,
            duration: self.duration,
        }
    }

    /// A session over the chain that can be asked again and refreshes itself (the credential
    /// server's source).
    pub(crate) fn session(&self) -> chain::Session {
        chain::Session::new(
            self.ctx.clone(),
            self.profiles.clone(),
            self.aws.clone(),
            self.region.as_ref().map(|r| r.name.clone()),
            self.duration,
        )
    }

    /// Run the chain; with `explain`, print the trace on stderr whatever the outcome. When the
    /// profile needs a new MFA session and a person is at the terminal (or `mfa_process` prints
    /// the code), get the code there (as `aws-cred mfa` does, cached the same way) and run the
    /// chain again.
    pub(crate) async fn resolve(&self, explain: bool) -> anyhow::Result<Resolution> {
        self.warn_mistyped_keys();
        let mut result = chain::resolve(&self.request()).await;
        let code_at_hand = settings::may_prompt(&self.ctx, self.no_prompt)
            || settings::MFA_PROCESS
                .resolve(None, &self.ctx, Some(&self.profiles))
                .is_some();
        let needs_session = match &result {
            Err(failure) => crate::mfa::needs_session(&failure.error),
            Ok(resolution) => self.mfa_skipped(resolution),
        };
        if needs_session && code_at_hand {
            mfa::session_for_profile(self).await?;
            result = chain::resolve(&self.request()).await;
        }
        if let Ok(resolution) = &result
            && self.mfa_skipped(resolution)
        {
            eprintln!(
                "warning: profile {name} has an MFA device ({}) but no MFA session: these are its long-term keys, used without MFA (make a session: aws-cred mfa CODE --profile {name})",
                crate::mfa::profile_serial(&self.profiles, &self.profiles.selected)
                    .map_or_else(String::new, |serial| escape(&serial.value).into_owned()),
                name = escape(&self.profiles.selected),
            );
        }
        if explain {
            let trace = match &result {
                Ok(resolution) => &resolution.trace,
                Err(ChainFailure { trace, .. }) => trace,
            };
            eprintln!(
                "credential chain (profile {} from {}):\n{}",
                escape(&self.profiles.selected),
                self.profiles.selection.describe(),
                trace.render().trim_end()
            );
            if let Some(region) = &self.region {
                eprintln!("region: {} (from {})", escape(&region.name), region.source);
            }
            for (what, value, source) in settings::explained(&self.ctx, &self.profiles) {
                eprintln!(
                    "{what}: {} (from {})",
                    escape(&value),
                    escape(&source.to_string())
                );
            }
        }
        result.map_err(|failure| failure.error)
    }
}

impl Setup {
    /// A key of the profile (or of a profile it takes credentials from) that is a typo of a
    /// known one is ignored by every AWS tool: said on stderr with the key it resembles.
    fn warn_mistyped_keys(&self) {
        let names = crate::profile::keys::with_sources(&self.profiles, &self.profiles.selected);
        for found in
            crate::profile::keys::mistyped(&self.profiles, names.iter().map(String::as_str))
        {
            eprintln!(
                "warning: profile {} ({}) has a key {}, which no AWS tool reads: did you mean {}?",
                escape(&found.profile),
                escape(&found.file.display().to_string()),
                escape(&found.key),
                found.meant
            );
        }
    }

    /// A plain profile with an MFA device (`mfa_serial`, or aws-mfa's `aws_mfa_device`) that
    /// gave its long-term keys: no MFA session was cached for it.
    fn mfa_skipped(&self, resolution: &Resolution) -> bool {
        let selected = self.profiles.selected.as_str();
        resolution.kind == chain::Kind::LongTerm
            && resolution.link == chain::Link::Profile
            && self.profiles.get(selected, "role_arn").is_none()
            && crate::mfa::profile_serial(&self.profiles, selected).is_some()
    }
}

/// After a report with `--check` (`status`, `keys list`): exit 1 when any of the `checked`
/// items (`noun`, shown in `report`) failed, with `hint`.
pub(crate) fn checks_passed(
    failed: usize,
    checked: usize,
    (noun, report): (&str, &str),
    hint: &str,
) -> anyhow::Result<()> {
    if failed == 0 {
        return Ok(());
    }
    Err(Problem::failure(format!(
        "{failed} of {checked} {noun}{} failed the check (see {report})",
        if checked == 1 { "" } else { "s" }
    ))
    .hint(hint.to_string())
    .into())
}

/// Credentials that have already expired are an error (exit 4), whichever command got them,
/// as the chain treats them for `export`: printing them would only fail later, elsewhere.
pub(crate) fn refuse_expired(
    setup: &Setup,
    creds: &aws_credential_types::Credentials,
    source: &str,
    hint: &str,
) -> anyhow::Result<()> {
    Ok(crate::base::time::refuse_expired(
        setup.ctx.now(),
        creds,
        source,
        hint,
    )?)
}

/// Warn on stderr when credentials expire within 15 minutes.
pub(crate) fn warn_if_expiring(setup: &Setup, creds: &aws_credential_types::Credentials) {
    let Some(expiry) = creds.expiry() else { return };
    let now = setup.ctx.now();
    if expiry > now && expiry <= now + Duration::from_secs(15 * 60) {
        eprintln!(
            "warning: these credentials expire {} ({})",
            crate::base::time::remaining(now, expiry),
            crate::base::time::rfc3339(expiry)
        );
    }
}

/// `--region`, AWS_REGION, AWS_DEFAULT_REGION, then the profile's `region`
/// (`settings::REGION`).
pub fn resolve_region(ctx: &Context, flag: Option<&str>, profiles: &Profiles) -> Option<Region> {
    settings::REGION
        .resolve(flag, ctx, Some(profiles))
        .map(|found| Region {
            name: found.value,
            source: found.source.to_string(),
        })
}

/// A yes/no question for the person at the terminal (asked on the terminal, never stdout).
/// `yes` (a `--yes` flag) answers it; without a terminal the answer is `unattended`, and any
/// answer but yes is `declined`.
pub(crate) fn confirm(
    ctx: &Context,
    yes: bool,
    question: &str,
    unattended: Problem,
    declined: Problem,
) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    if !(ctx.stdin_is_tty || ctx.stderr_is_tty) {
        return Err(unattended.into());
    }
    match ctx.prompt_line(question).as_deref().map(str::trim) {
        Some("y" | "Y" | "yes" | "YES" | "Yes") => Ok(()),
        _ => Err(declined.into()),
    }
}

/// Stdout written a piece at a time (a long report); a closed pipe ends the writing quietly,
/// as in [`emit`].
pub(crate) struct Stream {
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
    closed: bool,
}

impl Stream {
    pub(crate) fn new() -> Self {
        Stream {
            out: std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock()),
            closed: false,
        }
    }

    pub(crate) fn write(&mut self, text: &str) -> anyhow::Result<()> {
        if self.closed {
            return Ok(());
        }
        let written = self.out.write_all(text.as_bytes());
        self.check(written)
    }

    /// Ends the stream after a failure: what is still buffered is dropped, not written (only
    /// what went out before stays on stdout, and the exit status says it is incomplete).
    pub(crate) fn abandon(self) {
        let (_stdout, _unwritten) = self.out.into_parts();
    }

    pub(crate) fn finish(mut self) -> anyhow::Result<()> {
        if self.closed {
            return Ok(());
        }
        let flushed = self.out.flush();
        self.check(flushed)
    }

    fn check(&mut self, result: std::io::Result<()>) -> anyhow::Result<()> {
        self.closed |= pipe_closed(result)?;
        Ok(())
    }
}

impl Default for Stream {
    fn default() -> Self {
        Self::new()
    }
}

/// Write to stdout; a closed pipe (`| head`) is not an error worth a message.
pub(crate) fn emit(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    pipe_closed(
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush()),
    )?;
    Ok(())
}

/// The outcome of a write to stdout: whether the reader went away (a closed pipe, which is
/// not an error worth a message), or the error to report.
fn pipe_closed(result: std::io::Result<()>) -> anyhow::Result<bool> {
    match result {
        Ok(()) => Ok(false),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(true),
        Err(err) => Err(Problem::failure(format!("cannot write to stdout: {err}")).into()),
    }
}

/// Where credentials go: stdout in a format, or a section of the credentials file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Delivery<'a> {
    /// `None`: the shell's own ([`output::Format::or_native`]).
    pub format: Option<output::Format>,
    pub write_profile: Option<&'a str>,
    /// `--overwrite-keys`: a section holding long-term keys may be replaced.
    pub overwrite_keys: bool,
    /// `--print`: shell lines to a terminal are printed anyway.
    pub print: bool,
}

impl<'a> From<&'a OutputArgs> for Delivery<'a> {
    fn from(args: &'a OutputArgs) -> Self {
        Delivery {
            format: args.format,
            write_profile: args.write_profile.as_deref(),
            overwrite_keys: args.overwrite_keys,
            print: args.print,
        }
    }
}

/// A Cognito identity's credentials (`cognito`, `console --cognito-user`): the flow, with
/// `--region` and, for ADMIN_USER_PASSWORD_AUTH, the provider chain's credentials.
pub(crate) async fn obtain_cognito(
    setup: &Setup,
    settings: &crate::cognito::Settings,
    given: &crate::cognito::obtain::Given<'_>,
) -> anyhow::Result<crate::cognito::obtain::Obtained> {
    use anyhow::Context as _;
    let run = crate::cognito::obtain::Run {
        ctx: &setup.ctx,
        aws: &setup.aws,
        region: setup.region.as_ref().map(|r| r.name.as_str()),
        admin: async || {
            let resolution = setup.resolve(false).await.context(
                "ADMIN_USER_PASSWORD_AUTH is signed with AWS credentials from the provider chain, and it found none",
            )?;
            Ok(resolution.credentials)
        },
    };
    crate::cognito::obtain::obtain(&run, settings, given).await
}

/// `export` and `cognito` took `--force` for what is now `--overwrite-keys`; a script that
/// still passes it stops here with the new name rather than with clap's "unexpected
/// argument".
pub(crate) fn force_was_renamed(force: bool) -> anyhow::Result<()> {
    if force {
        return Err(Problem::usage(
            "--force is not an option of this command: replacing a section that holds long-term keys is --overwrite-keys",
        )
        .hint("with --write-profile NAME, add --overwrite-keys instead of --force")
        .into());
    }
    Ok(())
}

/// [`deliver`] credentials as they are: the run's region, no extra variables.
pub(crate) fn deliver_credentials(
    setup: &Setup,
    delivery: Delivery<'_>,
    credentials: &aws_credential_types::Credentials,
) -> anyhow::Result<()> {
    let exports = Exports {
        credentials,
        region: setup.region.as_ref().map(|r| r.name.as_str()),
        unset_profile: false,
        extras: Vec::new(),
    };
    deliver(setup, delivery, &exports)
}

/// Print the credentials in the chosen format, or write them into the credentials file.
pub(crate) fn deliver(
    setup: &Setup,
    delivery: Delivery<'_>,
    exports: &Exports<'_>,
) -> anyhow::Result<()> {
    match delivery.write_profile {
        Some(name) => write_profile(setup, name, delivery.overwrite_keys, exports),
        None => {
            let format = output::Format::or_native(delivery.format, &setup.ctx);
            refuse_forgotten_eval(&setup.ctx, format, delivery.print)?;
            let text = output::render(format, exports).map_err(|err| {
                let hint = if err.what == "a NUL byte" {
                    "no environment variable can hold a NUL byte; --format json carries it"
                } else {
                    "use --format sh, fish, powershell or json, which carry any other value"
                };
                Problem::usage(err.to_string()).hint(hint)
            })?;
            emit(&text)
        }
    }
}

/// Shell lines with stdout on the terminal (and no `--print`): `eval` was forgotten. Nothing
/// is printed (the keys would show and nothing would be set); the hint is this very command
/// inside the shell's way of running what it prints.
pub(crate) fn refuse_forgotten_eval(
    ctx: &Context,
    format: output::Format,
    print: bool,
) -> anyhow::Result<()> {
    if !ctx.stdout_is_tty || !format.is_shell() || print {
        return Ok(());
    }
    let run = output::eval_command(format, &without_secrets(Context::arguments()));
    Err(Problem::usage(
        "these are lines for your shell to run, and stdout is this terminal: nothing was printed or set",
    )
    .hint(format!(
        "run: {run}   (or add --print to see the lines, --format json for tools)"
    ))
    .into())
}

/// Flags whose value is a secret: shown as `SECRET` when a message repeats the command.
const SECRET_FLAGS: [&str; 2] = ["--client-secret", "--new-password"];

/// The arguments with the values of [`SECRET_FLAGS`] replaced (`--flag VALUE` and
/// `--flag=VALUE`).
fn without_secrets(args: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut hide_next = false;
    for arg in args {
        if std::mem::take(&mut hide_next) {
            out.push("SECRET".to_string());
            continue;
        }
        match arg.split_once('=') {
            Some((flag, _)) if SECRET_FLAGS.contains(&flag) => out.push(format!("{flag}=SECRET")),
            _ => {
                hide_next = SECRET_FLAGS.contains(&arg.as_str());
                out.push(arg);
            }
        }
    }
    out
}

fn write_profile(
    setup: &Setup,
    name: &str,
    overwrite_keys: bool,
    exports: &Exports<'_>,
) -> anyhow::Result<()> {
    let creds = exports.credentials;
    let expiration = creds.expiry().map(crate::base::time::rfc3339);
    let mut entries: Vec<(&str, &str)> = vec![
        ("aws_access_key_id", creds.access_key_id()),
        ("aws_secret_access_key", creds.secret_access_key()),
    ];
    if let Some(token) = creds.session_token() {
        entries.push(("aws_session_token", token));
    }
    if let Some(expiration) = &expiration {
        entries.push((crate::profile::long_term::EXPIRATION_KEY, expiration));
    }
    let path = &setup.profiles.files.credentials;
    let outcome = writer::write_profile(&WriteRequest {
        path,
        profile: name,
        style: HeaderStyle::Credentials,
        change: Change::Replace(&entries),
        overwrite_keys,
        lock_timeout: Duration::from_secs(10),
    })
    .map_err(Problem::from)?;
    if let Some(change) = outcome.tightened_mode {
        eprintln!(
            "warning: {} was mode {:04o}; it holds secrets, so aws-cred made it {:04o} (owner only)",
            path.display(),
            change.from,
            change.to
        );
    }
    let until = crate::base::time::valid_until(setup.ctx.now(), creds);
    eprintln!(
        "wrote profile [{name}] to {}{until}{}",
        path.display(),
        if outcome.duplicate_sections > 0 {
            " (note: the file has more than one [NAME] section; only the first was replaced)"
        } else {
            ""
        }
    );
    eprintln!("use it with: --profile {name}  or  export AWS_PROFILE={name}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_commands_never_show_a_secret_flags_value() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            without_secrets(args(&[
                "cognito",
                "--client-secret",
                "s3cr3t",
                "--new-password=pw",
                "--user",
                "alice"
            ])),
            args(&[
                "cognito",
                "--client-secret",
                "SECRET",
                "--new-password=SECRET",
                "--user",
                "alice"
            ])
        );
    }
}
