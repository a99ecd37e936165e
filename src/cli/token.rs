//! The arguments of `aws-cred token` (EKS, RDS, DSQL, kubeconfig).
#![allow(
    missing_docs,
    reason = "clap turns doc comments into --help text; each argument is documented by its help, and a doc added here would change it"
)]

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// kubectl's ExecCredential with an EKS bearer token (as `aws eks get-token`), reused from
    /// aws-cred's cache until a minute before it expires.
    #[command(
        after_help = "Examples:\n  aws-cred token eks --cluster prod --region eu-west-1\n  aws-cred token eks --cluster prod --profile admin --role-arn arn:aws:iam::111111111111:role/eks-admin\n\nThe token is valid 14 minutes (less when the credentials end sooner). KUBERNETES_EXEC_INFO\n(set by kubectl) picks the apiVersion of the answer. Tokens are cached per identity (the\nprofile, the AWS files and AWS_* variables), cluster, region and role; logout empties the cache."
    )]
    Eks(TokenEksArgs),
    /// An RDS IAM database authentication token, valid 15 minutes (as `aws rds
    /// generate-db-auth-token`): the password for the database user.
    #[command(
        after_help = "Example:\n  PGPASSWORD=\"$(aws-cred token rds --hostname mydb.abc.eu-west-1.rds.amazonaws.com --port 5432 --username app)\" psql \"host=mydb.abc.eu-west-1.rds.amazonaws.com user=app sslmode=verify-full\""
    )]
    Rds(TokenRdsArgs),
    /// An Aurora DSQL authentication token (as `aws dsql generate-db-connect-auth-token`, or
    /// with --admin `generate-db-connect-admin-auth-token`).
    #[command(
        after_help = "Example:\n  PGPASSWORD=\"$(aws-cred token dsql --hostname abc.dsql.us-east-1.on.aws --admin)\" psql \"host=abc.dsql.us-east-1.on.aws user=admin dbname=postgres sslmode=require\""
    )]
    Dsql(TokenDsqlArgs),
    /// Print a kubeconfig (cluster, user, context) whose user runs `aws-cred token eks`, or
    /// merge it into ~/.kube/config with --write.
    #[command(
        after_help = "Example:\n  aws-cred token kubeconfig --cluster prod --server https://ABC.gr7.eu-west-1.eks.amazonaws.com --ca ca.pem --profile admin --region eu-west-1 > ~/.kube/prod.yaml\n  export KUBECONFIG=~/.kube/config:~/.kube/prod.yaml   # kubectl merges the files\n\n  aws-cred token kubeconfig --cluster prod --server https://ABC.gr7.eu-west-1.eks.amazonaws.com --ca ca.pem --write   # into ~/.kube/config\n\n--profile and --region go into the plugin's arguments, so kubectl needs neither."
    )]
    Kubeconfig(TokenKubeconfigArgs),
}

/// How a database token is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TokenFormat {
    /// The token alone, for PGPASSWORD=$(...).
    #[default]
    Text,
    /// {"token": ..., "expiration": ...}.
    Json,
}

#[derive(Debug, Args)]
pub struct TokenEksArgs {
    /// The cluster's name (or, for a local cluster on Outposts, its id).
    #[arg(
        long,
        value_name = "NAME",
        visible_alias = "cluster-name",
        alias = "cluster-id"
    )]
    pub cluster: String,
    /// Assume this role with the resolved credentials first, and sign with its session.
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,
    /// Neither use nor keep a cached token.
    #[arg(long)]
    pub no_cache: bool,
}

#[derive(Debug, Args)]
pub struct TokenRdsArgs {
    /// The database endpoint's host name.
    #[arg(long, value_name = "HOST")]
    pub hostname: String,
    /// The database port.
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,
    /// The database user to log in as.
    #[arg(long, value_name = "USER")]
    pub username: String,
    #[arg(long, value_enum, default_value_t)]
    pub format: TokenFormat,
}

#[derive(Debug, Args)]
pub struct TokenDsqlArgs {
    /// The cluster endpoint's host name.
    #[arg(long, value_name = "HOST")]
    pub hostname: String,
    /// A token for the admin role (DbConnectAdmin) instead of a custom role (DbConnect).
    #[arg(long)]
    pub admin: bool,
    /// How long the token is valid, in seconds (1 to 604800).
    #[arg(long, value_name = "SECONDS", default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..=604_800))]
    pub expires_in: u64,
    #[arg(long, value_enum, default_value_t)]
    pub format: TokenFormat,
}

#[derive(Debug, Args)]
pub struct TokenKubeconfigArgs {
    /// The cluster's name.
    #[arg(long, value_name = "NAME")]
    pub cluster: String,
    /// The API server endpoint (https://...).
    #[arg(long, value_name = "URL")]
    pub server: String,
    /// The cluster's CA certificate (PEM), embedded as certificate-authority-data.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<std::path::PathBuf>,
    /// The name of the cluster, user and context entries (default: the cluster's name).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// The plugin assumes this role first (token eks --role-arn).
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,
    /// The program kubectl runs (default: aws-cred, found on kubectl's PATH).
    #[arg(long, value_name = "PROGRAM", default_value = "aws-cred")]
    pub command: String,
    /// Merge the entries into the kubeconfig file instead of printing them: entries of the same
    /// name are replaced, everything else is kept byte for byte.
    #[arg(long)]
    pub write: bool,
    /// With --write: the file (default: the first of KUBECONFIG, else ~/.kube/config).
    #[arg(long, value_name = "FILE", requires = "write")]
    pub kubeconfig: Option<std::path::PathBuf>,
}
