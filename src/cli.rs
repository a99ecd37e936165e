//! The command line: clap derive only. Doc comments are the help text.

use crate::output::Format;
use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "aws-cred",
    version,
    about = "Get AWS credentials the way you need them, and see where they came from.",
    after_help = "Examples:\n  eval \"$(aws-cred export --profile prod)\"\n  aws-cred whoami\n  aws-cred export --format json --explain"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Use this profile from ~/.aws/config and ~/.aws/credentials (ignores AWS_* key variables,
    /// as the AWS CLI does).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Region for AWS calls and for exported AWS_REGION (default: AWS_REGION, AWS_DEFAULT_REGION,
    /// then the profile's region).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Resolve credentials through the chain and print them for your shell or tool.
    #[command(after_help = "Examples:\n  eval \"$(aws-cred export)\"\n  aws-cred export --profile prod --format fish | source\n  aws-cred export --format json --explain\n  aws-cred export --profile admin --write-profile admin-session\n\nChain order: env -> web-identity -> profile (~/.aws files) -> ecs -> imds.\nAs a credential_process:  credential_process = aws-cred export --format json --profile base")]
    Export(ExportArgs),
    /// Show who the resolved credentials belong to, and where they came from.
    #[command(after_help = "Examples:\n  aws-cred whoami\n  aws-cred whoami --profile prod --json")]
    Whoami(WhoamiArgs),
}

#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Sh)]
    pub format: Format,
    /// Write the credentials into the shared credentials file under [NAME] instead of printing
    /// them.
    #[arg(long, value_name = "NAME")]
    pub write_profile: Option<String>,
    /// With --write-profile: overwrite a section that holds long-term keys.
    #[arg(long, requires = "write_profile")]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub output: OutputArgs,
    /// Print the chain trace (which link resolved, why the others did not) on stderr.
    #[arg(long)]
    pub explain: bool,
    /// Print the lines that clear every AWS credential variable instead.
    #[arg(long, conflicts_with_all = ["write_profile", "explain"])]
    pub unset: bool,
}

#[derive(Debug, Args)]
pub struct WhoamiArgs {
    /// Machine-readable output (schema_version 1).
    #[arg(long)]
    pub json: bool,
    /// Also print the chain trace on stderr.
    #[arg(long)]
    pub explain: bool,
}
