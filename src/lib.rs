//! aws-cred: AWS credentials the way people need them.

pub mod aws;
pub mod cache;
pub mod chain;
pub mod cli;
pub mod cognito;
pub mod commands;
pub mod context;
pub mod error;
pub mod http;
pub mod http_insecure;
pub mod mfa;
pub mod output;
pub mod profile;
pub mod secret;
pub mod sso;
pub mod sts;

use cli::{Cli, Command};
use commands::Setup;
use context::Context;

/// Run one command line to completion.
pub async fn run(cli: Cli, ctx: Context) -> anyhow::Result<()> {
    // These need no configuration at all.
    match &cli.command {
        Command::Completions(args) => return commands::shell::completions(args.shell),
        Command::Man => return commands::shell::man(),
        _ => {}
    }
    let setup = Setup::new(ctx, &cli.global).await?;
    match &cli.command {
        Command::Export(args) => commands::export::run(&setup, args).await,
        Command::Mfa(args) => commands::mfa::run(&setup, args).await,
        Command::SsoLogin(args) => commands::sso_login::run(&setup, args).await,
        Command::Whoami(args) => commands::whoami::run(&setup, args).await,
        Command::Exec(args) => commands::exec::run(&setup, args).await,
        Command::Completions(_) | Command::Man => unreachable!("handled above"),
        Command::Cognito(args) => commands::cognito::run(&setup, args).await,
    }
}
