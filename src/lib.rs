//! aws-cred: AWS credentials the way people need them.
//!
//! # The layer rule
//!
//! Modules are layered; each imports only from the layers before it (checked by
//! `tests/it/architecture.rs`, which fails on an upward `use crate::…`):
//!
//! 0. `base` — times, secrets, errors and exit classes.
//! 1. `os` — the only place the OS is touched: environment, files (atomic writes, locks,
//!    private directories), clock, child processes, terminal, browser.
//! 2. `profile` — ~/.aws read, the `[P-long-term]` rule, the format-preserving writer.
//! 3. `settings` — flag → variable → profile key → default, each setting declared once.
//! 4. `cache` — aws-cred's JSON caches. 5. `aws` — SDK clients, HTTP, service errors, STS.
//! 6. `auth` — what the two OAuth flows (`sso`, `login`) share: PKCE, how a sign-in failed,
//!    their caches' JSON, and the one `obtain` (read, decide, lock, refresh, write back).
//! 7. flows, one module per way of getting (or using) credentials: `mfa`, `sso`, `cognito`,
//!    `console`, `keys` (long-term keys in the OS keyring), `login`, `token` (auth tokens
//!    presigned from credentials: EKS, RDS, DSQL). A flow never imports the
//!    chain or another flow.
//! 8. `chain` — the provider chain, one file per link, and refreshable sessions.
//! 9. `output` — renderers; the one place that writes to stdout. 10. `server`.
//! 11. `cli`, 12. `commands` — the command line, and one short file per command.

// Unit tests set up and inspect files and processes directly; the OS-seam bans (clippy.toml)
// still hold for every non-test build of the library, which `clippy --all-targets` checks too.
#![cfg_attr(
    test,
    allow(
        clippy::disallowed_methods,
        clippy::disallowed_types,
        reason = "unit tests set up and inspect files and processes directly"
    )
)]

pub mod base;
pub mod os;

pub mod aws;
pub(crate) mod cache;
pub mod profile;
pub(crate) mod settings;

pub(crate) mod auth;

pub(crate) mod cognito;
pub(crate) mod console;
pub(crate) mod keys;
pub mod login;
pub(crate) mod mfa;
pub(crate) mod sso;
pub(crate) mod token;

pub mod chain;

pub(crate) mod output;

pub(crate) mod server;

pub mod cli;
pub mod commands;

use cli::{Cli, Command};
use commands::Setup;
use os::Context;

/// Run one command line to completion.
pub async fn run(mut cli: Cli, ctx: Context) -> anyhow::Result<()> {
    // The old spelling of --overwrite-keys stops before anything else is read or asked.
    match &cli.command {
        Command::Export(args) => commands::force_was_renamed(args.force)?,
        Command::Cognito(args) => commands::force_was_renamed(args.force)?,
        _ => {}
    }
    // These need no configuration at all.
    match &cli.command {
        Command::Completions(args) => match args.shell {
            Some(shell) => return commands::shell::completions(shell),
            None if args.list_sso_sessions => {
                return commands::shell::list_sso_sessions(&ctx).await;
            }
            None => return commands::shell::list_profiles(&ctx).await,
        },
        Command::Man(args) => return commands::shell::man(args),
        Command::ShellInit(args) => return commands::shell::init(args),
        Command::Export(args) if args.unset => return commands::export::unset(args, &ctx),
        _ => {}
    }
    // The hot paths need only the selected profile parsed (fast on a 10,000-profile config).
    let scope = match &cli.command {
        Command::Export(_) | Command::Whoami(_) | Command::Exec(_) | Command::Token(_) => {
            profile::Scope::Selected
        }
        // status reads every profile itself, a batch at a time.
        Command::Status(_) => profile::Scope::Settings,
        _ => profile::Scope::All,
    };
    let mut setup = setup_with_profile(&mut cli, ctx, scope).await?;
    // `--duration`: the role session's length, for the commands that hand credentials on.
    setup.duration = match &cli.command {
        Command::Export(args) => args.duration,
        Command::Exec(args) => args.duration,
        Command::Serve(args) => args.duration,
        _ => None,
    };
    match &cli.command {
        Command::Export(args) => commands::export::run(&setup, args).await,
        Command::Mfa(args) => commands::mfa::run(&setup, args).await,
        Command::SsoLogin(args) => commands::sso_login::run(&setup, args).await,
        Command::Whoami(args) => commands::whoami::run(&setup, args).await,
        Command::Exec(args) => commands::exec::run(&setup, args).await,
        Command::Completions(_) | Command::Man(_) | Command::ShellInit(_) => {
            unreachable!("handled above")
        }
        Command::Cognito(args) => commands::cognito::run(&setup, args).await,
        Command::Console(args) => commands::console::run(&setup, args).await,
        Command::Keys(args) => commands::keys::run(&setup, args).await,
        Command::Login(args) => commands::login::run(&setup, args).await,
        Command::Status(args) => commands::status::run(&setup, args).await,
        Command::Sso(command) => commands::sso::run(&setup, command).await,
        Command::Logout(args) => commands::logout::run(&setup, args).await,
        Command::Serve(args) => commands::serve::run(&setup, args).await,
        Command::Token(command) => commands::token::run(&setup, command).await,
    }
}

/// The run's [`Setup`], with the profile the command line means: `export prod` and
/// `exec prod -- cmd` (a first word that names a profile), or the one the person picks when
/// nothing names one at a terminal.
async fn setup_with_profile(
    cli: &mut Cli,
    ctx: Context,
    scope: profile::Scope,
) -> anyhow::Result<Setup> {
    // `export prod`: the word is the profile, as with --profile.
    if let Command::Export(args) = &cli.command
        && let Some(word) = &args.profile_word
    {
        match &cli.global.profile {
            Some(flag) if flag != word => {
                return Err(base::error::Problem::usage(format!(
                    "two profiles were given: {} and --profile {}",
                    base::text::escape(word),
                    base::text::escape(flag)
                ))
                .hint("give one: aws-cred export PROFILE, or aws-cred export --profile PROFILE")
                .into());
            }
            _ => cli.global.profile = Some(word.clone()),
        }
    }
    let mut setup = Setup::new(ctx, &cli.global, scope).await?;
    // `exec prod -- cmd`: a first word that names a profile is the profile.
    if let Command::Exec(args) = &mut cli.command
        && cli.global.profile.is_none()
        && let Some((word, taken)) = commands::exec::profile_word(&setup, &args.command)?
    {
        args.command.drain(..taken);
        cli.global.profile = Some(word);
        setup = Setup::new(setup.ctx.clone(), &cli.global, scope).await?;
    }
    // `export` whose lines would only reach the terminal is refused before anyone is asked.
    if let Command::Export(args) = &cli.command {
        commands::export::refuse_forgotten_eval(&setup, args)?;
    }
    // Nothing names a profile and a person is at the terminal: ask which.
    if commands::pick::wanted(&setup, cli)
        && let Some(name) = commands::pick::profile(&setup).await?
    {
        cli.global.profile = Some(name);
        setup = Setup::new(setup.ctx.clone(), &cli.global, scope).await?;
    }
    Ok(setup)
}

/// The statement stdout carries when this command fails (`output::Format::failure_statement`):
/// for the commands whose stdout is meant for `eval` (`export`, `mfa`, `sso-login`, `login`,
/// `cognito`) in a shell format, when stdout is not a terminal (a person reading it needs no
/// statement, and the forgotten-`eval` refusal prints nothing there).
pub fn failure_statement(cli: &Cli, ctx: &Context) -> Option<&'static str> {
    if ctx.stdout_is_tty {
        return None;
    }
    let chosen = match &cli.command {
        Command::Export(args) => args.output.format,
        Command::Mfa(args) => args.format,
        Command::SsoLogin(args) => args.output.format,
        Command::Login(args) => args.output.format,
        Command::Cognito(args) => args.output.format,
        _ => return None,
    };
    output::Format::or_native(chosen, ctx).failure_statement()
}

/// Whether the command handles SIGINT/SIGTERM itself (`serve` ends cleanly on them, `exec
/// --server` passes them on to its command), instead of `main` ending on Ctrl-C.
pub fn handles_own_signals(cli: &Cli) -> bool {
    match &cli.command {
        Command::Serve(_) => true,
        Command::Exec(args) => args.server,
        _ => false,
    }
}
