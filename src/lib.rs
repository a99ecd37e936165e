//! aws-cred: AWS credentials the way people need them.

pub mod aws;
pub mod cache;
pub mod chain;
pub mod cli;
pub mod cognito;
pub mod commands;
pub mod context;
pub mod error;
pub mod mfa;
pub mod output;
pub mod profile;
pub mod secret;
pub mod sts;

use cli::{Cli, Command};
use commands::Setup;
use context::Context;

/// Run one command line to completion.
pub async fn run(cli: Cli, ctx: Context) -> anyhow::Result<()> {
    let setup = Setup::new(ctx, &cli.global).await?;
    match &cli.command {
        Command::Export(args) => commands::export::run(&setup, args).await,
        Command::Mfa(args) => commands::mfa::run(&setup, args).await,
        Command::Whoami(args) => commands::whoami::run(&setup, args).await,
        Command::Cognito(args) => commands::cognito::run(&setup, args).await,
    }
}
