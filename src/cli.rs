//! The command line: clap derive only. Doc comments are the help text.
#![allow(
    missing_docs,
    reason = "clap turns doc comments into --help text; each argument is documented by its help, and a doc added here would change it"
)]
#![allow(
    rustdoc::broken_intra_doc_links,
    reason = "the help text names sections as [NAME] and [PROFILE], as the AWS files write them; they are not links"
)]

use crate::output::Format;
use clap::{Args, Parser, Subcommand};

mod token;
pub use token::*;

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
    /// Do NOT verify TLS certificates of AWS endpoints (a TLS-inspecting proxy you cannot add
    /// with AWS_CA_BUNDLE). Anyone on the path can then read and change your credentials.
    #[arg(long, global = true)]
    pub no_verify_ssl: bool,
    /// Never ask at the terminal (for an MFA code a role profile needs): fail with the command
    /// to run instead, as without a terminal. Also AWS_CRED_NO_PROMPT=1.
    #[arg(long, global = true)]
    pub no_prompt: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Resolve credentials through the chain and print them for your shell or tool.
    #[command(
        after_help = "Examples:\n  eval \"$(aws-cred export)\"\n  aws-cred export --profile prod --format fish | source\n  aws-cred export --format json --explain\n  aws-cred export --profile admin --write-profile admin-session\n\nChain order: env -> web-identity -> profile (~/.aws files) -> ecs -> imds.\nAs a credential_process:  credential_process = aws-cred export --format json --profile base"
    )]
    Export(ExportArgs),
    /// Get an MFA session (STS GetSessionToken, then AssumeRole for role profiles) with a
    /// 6-digit code; cached, so one code in the morning serves the whole day.
    #[command(
        after_help = "The daily routine:\n  eval \"$(aws-cred mfa 123456 --profile prod)\"   # once in the morning\n  aws s3 ls                                       # all day\n  aws-cred whoami                                 # who am I, until when\n\nMore:\n  aws-cred mfa 123456 --profile admin            # role profile with mfa_serial + source_profile\n  aws-cred mfa 123456 --profile prod --write-profile   # session into [prod], keys in [prod-long-term]\n  aws-cred mfa --profile prod                     # reuse today's session, or prompt for a code"
    )]
    Mfa(MfaArgs),
    /// Log in to IAM Identity Center (SSO) in the browser, sharing the AWS CLI's token cache;
    /// then print the profile's role credentials, or list your accounts and roles.
    #[command(
        after_help = "Examples:\n  aws-cred sso-login --sso-session my-org          # log in once; every sso profile then works\n  eval \"$(aws-cred sso-login --profile dev)\"       # log in if needed, export dev's role credentials\n  aws-cred sso-login --profile dev --use-device-code   # approve with a code, on any device\n  aws-cred sso-login --sso-session my-org --account 111111111111 --role ReadOnlyAccess --format json\n\nA valid token (more than 15 minutes left) is reused; one near expiry is refreshed without a browser.\nTokens live in ~/.aws/sso/cache, where the AWS CLI and the SDKs find them."
    )]
    SsoLogin(SsoLoginArgs),
    /// Sign in with your AWS console identity (as `aws login`): the session goes into the login
    /// cache the AWS CLI and the SDKs share and into the profile as login_session; then print
    /// its credentials like export.
    #[command(
        after_help = "Examples:\n  eval \"$(aws-cred login --profile console --region eu-west-1)\"\n  aws-cred login --profile console --remote     # sign in on another device, paste the code\n  aws-cred export --profile console             # then, for up to 12 hours: refreshed as needed\n\nA valid session is reused (--force signs in again). The cache lives in ~/.aws/login/cache\n(AWS_LOGIN_CACHE_DIRECTORY); the endpoint moves with AWS_ENDPOINT_URL_SIGNIN."
    )]
    Login(LoginArgs),
    /// Show who the resolved credentials belong to, and where they came from.
    #[command(
        after_help = "Examples:\n  aws-cred whoami\n  aws-cred whoami --profile prod --json\n  PS1='[$(aws-cred whoami --short 2>/dev/null)] $ '"
    )]
    Whoami(WhoamiArgs),
    /// Sign in to a Cognito user pool as a user and get AWS credentials from an identity pool;
    /// tokens are cached, so a script that calls it fifty times signs in once.
    #[command(
        after_help = "A test script with two users:\n  eval \"$(aws-cred cognito --user alice --profile myapp)\"\n  aws s3 cp report.csv s3://bucket/alice/      # as alice's role\n  eval \"$(aws-cred cognito --user bob --profile myapp --tokens)\"\n  curl -H \"Authorization: $COGNITO_ID_TOKEN\" https://api.example.com/me\n\nSettings come from flags, then AWS_CRED_COGNITO_* variables, then the profile's keys:\n  [profile myapp]\n  region = ap-northeast-1\n  cognito_user_pool_id = ap-northeast-1_AbCdEf123\n  cognito_client_id = 1example23456789\n  cognito_identity_pool_id = ap-northeast-1:1f392b6a-751d-4760-8849-5924149f8e67\n\nThe password: a prompt on the terminal (no echo), --password-stdin, or AWS_CRED_COGNITO_PASSWORD."
    )]
    Cognito(CognitoArgs),
    /// Open the AWS console in the browser as the resolved identity (console federation).
    ///
    /// The sign-in URL is a bearer credential: whoever has it is signed in as you for 15
    /// minutes. aws-cred never writes it to stderr or logs; --print writes it to stdout only.
    #[command(
        after_help = "Examples:\n  aws-cred console --profile admin                  # the console home, in the browser\n  aws-cred console --profile admin --service s3 --region eu-west-1\n  aws-cred console --profile dev --sso-portal      # IAM Identity Center shortcut (multi-session)\n  aws-cred console --profile myapp --cognito-user alice\n  aws-cred console --profile admin --print | xclip  # the URL on stdout only\n\nSources: role sessions (role profiles, SSO, web identity, ECS/EC2 roles, Cognito) sign in\ndirectly; IAM user keys through STS GetFederationToken (name aws-cred-<user>, the user's own\npermissions); MFA sessions (GetSessionToken) cannot be federated: use the role profile.\nThe sign-in endpoint is AWS_ENDPOINT_URL_SIGNIN (or [services] signin) when set.\n\nThe printed URL is a secret: do not paste it into chats, tickets or shell history."
    )]
    Console(ConsoleArgs),
    /// Keep an IAM user's access key in the OS keyring instead of ~/.aws/credentials; every AWS
    /// tool reads it through credential_process. Rotate it in one command.
    #[command(
        after_help = "Examples:\n  aws-cred keys add --profile prod --from-credentials-file   # move them out of the file\n  aws-cred keys add --profile prod                           # type them (secret not shown)\n  printf '%s\\n%s\\n' \"$ID\" \"$SECRET\" | aws-cred keys add --profile prod --stdin\n  aws-cred keys list --check\n  aws-cred keys rotate --profile prod\n  aws-cred mfa 123456 --profile prod                         # the morning session, from the keyring\n\nOn Linux the keyring is a Secret Service (gnome-keyring, KeePassXC) on the D-Bus session bus.\nWithout one, or with it locked, keys commands fail with exit 4; there is no plain-text fallback."
    )]
    Keys(KeysArgs),
    /// Run a command with the resolved credentials and region in its environment
    /// (AWS_PROFILE removed); exits with the command's exit code.
    #[command(
        after_help = "Examples:\n  aws-cred exec --profile admin -- terraform plan\n  aws-cred exec admin -- terraform plan          # a first word that names a profile\n  aws-cred exec -- aws s3 ls\n  aws-cred exec --server --profile admin -- terraform apply   # credentials that refresh\n\nWith --server, COMMAND gets AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN\ninstead of keys: its SDK asks aws-cred for new credentials before they expire, so a job can\noutlast a one-hour role session. aws-cred stays the parent, passes on Ctrl-C, SIGTERM and SIGHUP,\nand exits with the command's status."
    )]
    Exec(ExecArgs),
    /// Every profile of ~/.aws/config and ~/.aws/credentials in one table: its kind, region and
    /// the state of what it depends on (SSO token, MFA session, login session, written
    /// session), plus cached Cognito sign-ins. Reads files only; --check asks AWS.
    #[command(
        after_help = "Examples:\n  aws-cred status\n  aws-cred status --profile admin      # one profile, its plan step by step\n  aws-cred status --json | jq -r '.profiles[] | select(.state == \"expired\") | .name'\n  aws-cred status --check              # one GetCallerIdentity per profile\n\nStates: valid, refreshable (renewed on next use without a login), expired, missing, unusable,\nlong-term (keys that do not expire), not-checked (only using it tells), none, error."
    )]
    Status(StatusArgs),
    /// IAM Identity Center inventory: the accounts and roles your SSO token can see, and one
    /// profile per (account, role) in ~/.aws/config.
    #[command(subcommand)]
    Sso(SsoCommand),
    /// End sessions: SSO (the portal's Logout, then the token file, as `aws sso logout`), cached
    /// MFA sessions, `aws login` sessions, Cognito sign-ins, and session sections aws-cred wrote
    /// into ~/.aws/credentials (never a section with long-term keys). Says what it removed.
    #[command(
        after_help = "Examples:\n  aws-cred logout --profile dev          # what profile dev depends on\n  aws-cred logout --sso-session corp     # one SSO session (every profile using it)\n  aws-cred logout --all                  # everything; asks first on a terminal\n  aws-cred logout --all --yes            # in a script"
    )]
    Logout(LogoutArgs),
    /// Serve refreshing credentials on 127.0.0.1 in the ECS container-credentials format, and
    /// print the variables that point the AWS SDKs and CLIs at it; serves until Ctrl-C.
    #[command(
        after_help = "Examples:\n  (umask 077; aws-cred serve --profile admin > ~/.aws-serve.sh) &   # keep it running\n  . ~/.aws-serve.sh && terraform apply                               # in any shell\n  aws-cred serve --profile admin --format dotenv --verbose           # access log on stderr\n\nThe variables: AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:PORT/ and\nAWS_CONTAINER_AUTHORIZATION_TOKEN (random, new each run: treat it as a password).\nEvery SDK asks the endpoint again before its credentials expire; the server refreshes them\nfrom the profile (role re-assumed, SSO token refreshed) ahead of expiry.\nFor one command's lifetime only: aws-cred exec --server -- COMMAND."
    )]
    Serve(ServeArgs),
    /// Auth tokens made locally from the chain's credentials, no AWS call: EKS (kubectl's exec
    /// plugin, cached), RDS IAM database authentication, Aurora DSQL.
    #[command(
        subcommand,
        after_help = "Examples:\n  aws-cred token kubeconfig --cluster prod --server https://ABC.gr7.eu-west-1.eks.amazonaws.com --ca ca.pem --region eu-west-1 > ~/.kube/prod.yaml\n  KUBECONFIG=~/.kube/prod.yaml kubectl get pods          # kubectl runs aws-cred token eks\n  aws-cred token eks --cluster prod --region eu-west-1   # the ExecCredential JSON\n  PGPASSWORD=\"$(aws-cred token rds --hostname mydb.abc.eu-west-1.rds.amazonaws.com --port 5432 --username app)\" psql ...\n  PGPASSWORD=\"$(aws-cred token dsql --hostname abc.dsql.us-east-1.on.aws --admin)\" psql ..."
    )]
    Token(TokenCommand),
    /// Print a shell function (`awsc` by default) that sets the credentials in the current
    /// shell without eval: `awsc prod`, `awsc --unset`.
    #[command(
        after_help = "Install (then open a new shell):\n  bash:       echo 'eval \"$(aws-cred shell-init bash)\"' >> ~/.bashrc\n  zsh:        echo 'eval \"$(aws-cred shell-init zsh)\"' >> ~/.zshrc\n  fish:       echo 'aws-cred shell-init fish | source' >> ~/.config/fish/config.fish\n  PowerShell: Add-Content $PROFILE 'aws-cred shell-init powershell | Out-String | Invoke-Expression'\n\nThen:\n  awsc prod          # the profile's credentials and region in this shell\n  awsc               # the default chain\n  awsc --unset       # clear them\nAWS_CRED_PROFILE and AWS_CRED_EXPIRATION say who you are and until when, for a prompt."
    )]
    ShellInit(ShellInitArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Install:\n  bash:       aws-cred completions bash > ~/.local/share/bash-completion/completions/aws-cred\n  zsh:        aws-cred completions zsh > \"${fpath[1]}/_aws-cred\"\n  fish:       aws-cred completions fish > ~/.config/fish/completions/aws-cred.fish\n  PowerShell: aws-cred completions powershell >> $PROFILE"
    )]
    Completions(CompletionsArgs),
    /// Print the man page (roff): aws-cred(1), or aws-cred-SUBCOMMAND(1); --dir writes them all.
    #[command(
        after_help = "Install:\n  aws-cred man --dir ~/.local/share/man/man1   # aws-cred.1 and aws-cred-export.1, ...\n  man aws-cred-export\n\nOne page to stdout:\n  aws-cred man export | man -l -"
    )]
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The subcommand whose page to print (aws-cred-SUBCOMMAND(1)); without it, aws-cred(1).
    #[arg(value_name = "SUBCOMMAND")]
    pub subcommand: Option<String>,
    /// Write every page (aws-cred.1 and one aws-cred-SUBCOMMAND.1 each) into DIR instead.
    #[arg(long, value_name = "DIR", conflicts_with = "subcommand")]
    pub dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// Open this service's console home in the region (s3, ec2, iam, lambda, ...).
    #[arg(long, value_name = "SERVICE", conflicts_with = "destination")]
    pub service: Option<String>,
    /// Open this console page (an https:// URL on the partition's console host).
    #[arg(long, value_name = "URL")]
    pub destination: Option<String>,
    /// Console session length in seconds: 900-43200 for role sessions (default: as long as the
    /// credentials); for IAM user keys the federation token's, 900-129600 (default 3600).
    /// AWS allows none for role-chained sessions, which end with the role session.
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<u32>,
    /// Write the sign-in URL to stdout, and nothing else there, instead of opening a browser.
    /// The URL is a bearer credential for 15 minutes: treat it like a password.
    #[arg(long)]
    pub print: bool,
    /// Do not start a browser; the URL goes to stdout (as with --print).
    #[arg(long, conflicts_with = "print")]
    pub no_browser: bool,
    /// Go through the console logout URL first, so an existing console session does not win.
    #[arg(long)]
    pub logout_first: bool,
    /// SSO profiles: open the IAM Identity Center access portal's shortcut for the profile's
    /// account and role instead (no federation; the console's multi-session sign-in).
    #[arg(long, conflicts_with_all = ["cognito_user", "cognito_guest", "duration", "logout_first"])]
    pub sso_portal: bool,
    /// Use this Cognito user's identity pool credentials (the cognito command's settings,
    /// variables and cache; sign in with `aws-cred cognito --user NAME` for more options).
    #[arg(long, value_name = "NAME")]
    pub cognito_user: Option<String>,
    /// Use the Cognito identity pool's guest credentials.
    #[arg(long, conflicts_with = "cognito_user")]
    pub cognito_guest: bool,
    /// Print the chain trace (which link resolved, why the others did not) on stderr.
    #[arg(long)]
    pub explain: bool,
}

#[derive(Debug, Args)]
pub struct KeysRemoveArgs {
    /// Delete it even when the keyring holds the only copy of the secret (no question asked).
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Store the profile's access key in the OS keyring and point [profile P] of ~/.aws/config
    /// at it (credential_process = aws-cred keys process --profile P).
    Add(KeysAddArgs),
    /// Print the profile's stored key as credential_process JSON (Version 1); never prompts.
    Process,
    /// The profiles whose keys are in the keyring, key ids masked.
    List(KeysListArgs),
    /// Delete the profile's key from the keyring, and its credential_process line. When the
    /// keyring holds the only copy of the secret, asks first (--yes without a terminal).
    Remove(KeysRemoveArgs),
    /// Make a new access key in IAM, store it where the old one was, check it works, delete the
    /// old one.
    Rotate,
}

#[derive(Debug, Args)]
pub struct KeysAddArgs {
    /// Read two lines from standard input: the access key id, then the secret access key.
    #[arg(long, conflicts_with = "from_credentials_file")]
    pub stdin: bool,
    /// Move the keys of [PROFILE] in the shared credentials file: stored in the keyring, then
    /// removed from the file (other lines of the file stay as they were).
    #[arg(long)]
    pub from_credentials_file: bool,
    /// Store the key without checking it with STS GetCallerIdentity first.
    #[arg(long)]
    pub no_check: bool,
    /// Replace another key already stored for the profile, or a credential_process that is not
    /// aws-cred's.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct KeysListArgs {
    /// Ask IAM (ListAccessKeys, signed by each key) how old each key is and whether it is active.
    #[arg(long)]
    pub check: bool,
    /// Machine-readable output (schema_version 1).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Machine-readable output (schema_version 1).
    #[arg(long)]
    pub json: bool,
    /// Also confirm each profile with AWS: one GetCallerIdentity per profile (this resolves
    /// its credentials: runs credential_process, assumes roles, asks the SSO portal).
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Subcommand)]
pub enum SsoCommand {
    /// Every account and role the SSO token can see (all pages), with account names and
    /// e-mails. Uses the cached token (refreshed if needed); log in with sso-login first.
    #[command(
        after_help = "Examples:\n  aws-cred sso roles                      # the only [sso-session] of ~/.aws/config\n  aws-cred sso roles --sso-session corp --json\n  aws-cred sso roles --profile dev        # the token of profile dev's SSO settings"
    )]
    Roles(SsoRolesArgs),
    /// Write one [profile NAME] per (account, role) into ~/.aws/config, marked
    /// `aws_cred_populated = <sso-session>`; hand-written profiles are never touched.
    #[command(
        after_help = "Examples:\n  aws-cred sso populate --sso-session corp --dry-run\n  aws-cred sso populate --sso-session corp --region eu-west-1\n  aws-cred sso populate --template '{sso_session}-{account_id}-{role_name}' --prune\n\nTemplate fields: {account_name} {account_id} {role_name} {sso_session}. Characters a profile name\ncannot hold become '-'. --region defaults to the sso-session's sso_region."
    )]
    Populate(SsoPopulateArgs),
}

#[derive(Debug, Args)]
pub struct SsoRolesArgs {
    /// The [sso-session NAME] whose token to use (default: --profile's, or the only one).
    #[arg(long, value_name = "NAME")]
    pub sso_session: Option<String>,
    /// Machine-readable output (schema_version 1).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SsoPopulateArgs {
    /// The [sso-session NAME] to populate from (default: the only one in ~/.aws/config).
    #[arg(long, value_name = "NAME")]
    pub sso_session: Option<String>,
    /// How to name each profile.
    #[arg(long, value_name = "TEMPLATE", default_value = crate::sso::populate::DEFAULT_TEMPLATE)]
    pub template: String,
    /// Remove profiles this command wrote for the sso-session that are no longer assigned.
    #[arg(long)]
    pub prune: bool,
    /// Print what would change (a diff on stdout) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// End this [sso-session NAME]'s token (every profile that uses it).
    #[arg(long, value_name = "NAME", conflicts_with = "all")]
    pub sso_session: Option<String>,
    /// End every session aws-cred and the AWS CLI cached.
    #[arg(long)]
    pub all: bool,
    /// Do not ask before --all (required without a terminal).
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Serve refreshing credentials to the command from 127.0.0.1 (ECS container-credentials
    /// format) instead of putting keys in its environment.
    #[arg(long)]
    pub server: bool,
    /// With --server: listen on this address instead of 127.0.0.1 (e.g. a container network).
    /// Anyone who can reach it and has the token gets your credentials.
    #[arg(long, value_name = "ADDR:PORT", requires = "server")]
    pub listen: Option<std::net::SocketAddr>,
    /// With --server: an access log on stderr (time, path, status, expiry served; never keys
    /// or tokens).
    #[arg(long, requires = "server")]
    pub verbose: bool,
    /// The role session's length (role profiles): seconds, or 1h, 90m, 1h30m; 15m to 12h.
    #[arg(long, value_name = "DURATION", value_parser = role_duration)]
    pub duration: Option<u32>,
    /// The command and its arguments (after `--`). A first word that names a profile is the
    /// profile, as with --profile (aws-vault's `exec prod -- cmd`).
    #[arg(required = true, num_args = 1.., trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// How to print the variables to set (json here: {"schema_version": 1, "variables": {..},
    /// "unset": [..]}). Default: sh; on Windows the shell aws-cred runs in.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Port on 127.0.0.1 (default: any free one).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub port: u16,
    /// Listen on this address instead of 127.0.0.1, e.g. for containers on a Docker network.
    /// Anyone who can reach it and has the token gets your credentials.
    #[arg(long, value_name = "ADDR:PORT", conflicts_with = "port")]
    pub listen: Option<std::net::SocketAddr>,
    /// An access log on stderr (time, path, status, expiry served; never keys or tokens).
    #[arg(long)]
    pub verbose: bool,
    /// The role session's length (role profiles): seconds, or 1h, 90m, 1h30m; 15m to 12h.
    /// Each refresh asks for it again.
    #[arg(long, value_name = "DURATION", value_parser = role_duration)]
    pub duration: Option<u32>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, required_unless_present_any = ["list_profiles", "list_sso_sessions"])]
    pub shell: Option<clap_complete::Shell>,
    /// Print the profile names of ~/.aws/config and ~/.aws/credentials, one a line (what the
    /// completion scripts call to complete --profile).
    #[arg(long, hide = true, conflicts_with = "shell")]
    pub list_profiles: bool,
    /// Print the [sso-session NAME] names of ~/.aws/config, one a line (what the completion
    /// scripts call to complete --sso-session).
    #[arg(long, hide = true, conflicts_with_all = ["shell", "list_profiles"])]
    pub list_sso_sessions: bool,
}

#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Output format.
    /// Default: sh; on Windows the shell aws-cred runs in (Git Bash: sh, PowerShell,
    /// cmd).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the credentials into the shared credentials file under [NAME] instead of printing
    /// them.
    #[arg(long, value_name = "NAME")]
    pub write_profile: Option<String>,
    /// With --write-profile: replace a section that holds long-term keys (aws_access_key_id
    /// without a session token). Without it, such a section is never overwritten.
    #[arg(long, requires = "write_profile")]
    pub overwrite_keys: bool,
    /// Print the shell lines even when stdout is the terminal (without it, that is refused:
    /// they would show the keys and set nothing; use eval).
    #[arg(long, conflicts_with = "write_profile")]
    pub print: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The profile, as with --profile (aws-vault's `export prod`).
    #[arg(value_name = "PROFILE")]
    pub profile_word: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Before --overwrite-keys, --force meant it here; now it stops with that advice.
    #[arg(long, hide = true)]
    pub force: bool,
    /// Print the chain trace (which link resolved, why the others did not) on stderr.
    #[arg(long)]
    pub explain: bool,
    /// Print the lines that clear every AWS credential variable instead.
    #[arg(long, conflicts_with_all = ["write_profile", "explain"])]
    pub unset: bool,
    /// The role session's length (role profiles): seconds, or 1h, 90m, 1h30m; 15m to 12h, at
    /// most 1h for a role assumed with another role's session. Default: the profile's
    /// duration_seconds, else AWS's (1h).
    #[arg(long, value_name = "DURATION", value_parser = role_duration)]
    pub duration: Option<u32>,
}

/// `--duration`: `3600`, `1h`, `90m`, `1h30m`, `2700s`; 900 to 43200 seconds (AssumeRole's
/// range).
pub fn role_duration(text: &str) -> Result<u32, BadDuration> {
    let text = text.trim();
    let seconds = match text.parse::<u64>() {
        Ok(seconds) => seconds,
        Err(_) => {
            let mut total: u64 = 0;
            let mut number = String::new();
            let mut units = 0;
            for c in text.chars() {
                match c {
                    '0'..='9' => number.push(c),
                    'h' | 'm' | 's' if !number.is_empty() && units < 3 => {
                        let n: u64 = number
                            .parse()
                            .map_err(|_| BadDuration::TooLong(text.to_string()))?;
                        let scale = match c {
                            'h' => 3600,
                            'm' => 60,
                            _ => 1,
                        };
                        total = total.saturating_add(n.saturating_mul(scale));
                        number.clear();
                        units += 1;
                    }
                    _ => return Err(BadDuration::NotADuration(text.to_string())),
                }
            }
            if !number.is_empty() || units == 0 {
                return Err(BadDuration::NotADuration(text.to_string()));
            }
            total
        }
    };
    if !(900..=43_200).contains(&seconds) {
        return Err(BadDuration::OutOfRange(seconds));
    }
    Ok(seconds as u32)
}

/// Why a `--duration` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadDuration {
    #[error("{0:?} is too long")]
    TooLong(String),
    #[error("{0:?} is not a duration (use seconds, or 1h, 90m, 1h30m)")]
    NotADuration(String),
    #[error("{0} seconds is outside what AWS allows for a role session (15m to 12h)")]
    OutOfRange(u64),
}

#[derive(Debug, Args)]
pub struct MfaArgs {
    /// The 6-digit code from your MFA device; without it, a cached session is reused or the
    /// terminal asks for one.
    pub code: Option<String>,
    /// MFA device serial or ARN (default: AWS_MFA_SERIAL, then the profile's mfa_serial).
    #[arg(long, value_name = "SERIAL")]
    pub serial_number: Option<String>,
    /// Session length for GetSessionToken, 900-129600 (root users: at most 3600).
    #[arg(long, value_name = "SECONDS", default_value_t = crate::mfa::DEFAULT_DURATION)]
    pub duration_seconds: i32,
    /// Role session length for role profiles (default: the profile's duration_seconds, else 3600).
    #[arg(long, value_name = "SECONDS")]
    pub role_duration_seconds: Option<i32>,
    /// Reuse a cached session only while this many minutes remain (default 10, or
    /// AWS_CRED_MFA_MARGIN_MINUTES).
    #[arg(long, value_name = "MINUTES")]
    pub margin_minutes: Option<u64>,
    /// Output format.
    /// Default: sh; on Windows the shell aws-cred runs in (Git Bash: sh, PowerShell,
    /// cmd).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Print the shell lines even when stdout is the terminal (without it, that is refused:
    /// they would show the keys and set nothing; use eval).
    #[arg(long)]
    pub print: bool,
    /// Write the session into the shared credentials file under [NAME] instead of printing it.
    /// Without NAME: the profile itself, when its keys live in [PROFILE-long-term].
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "")]
    pub write_profile: Option<String>,
    /// With --write-profile: replace a section that holds long-term keys (never the one the
    /// session is made from).
    #[arg(long, requires = "write_profile")]
    pub overwrite_keys: bool,
    /// Get a new session even if a cached one is valid.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct SsoLoginArgs {
    /// Log in to this [sso-session NAME] of ~/.aws/config (instead of --profile's).
    #[arg(long, value_name = "NAME")]
    pub sso_session: Option<String>,
    /// Sign in with a device code (approve on any device) instead of the browser redirect.
    /// Used on its own when no browser can open here (SSH session, no display).
    #[arg(long)]
    pub use_device_code: bool,
    /// Do not start a browser; print the URL to open.
    #[arg(long)]
    pub no_browser: bool,
    /// Log in again even if the cached token is valid.
    #[arg(long)]
    pub force: bool,
    /// Account for the role credentials (default: the profile's sso_account_id).
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
    /// Role (permission set) for the role credentials (default: the profile's sso_role_name).
    #[arg(long, value_name = "NAME")]
    pub role: Option<String>,
    // Where the role credentials go.
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Sign in on another device: open the printed URL in any browser, then paste the code it
    /// shows here.
    #[arg(long)]
    pub remote: bool,
    /// Do not start a browser; print the URL to open.
    #[arg(long)]
    pub no_browser: bool,
    /// Sign in again even if the profile's session is valid.
    #[arg(long)]
    pub force: bool,
    // Where the credentials go.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Replace the profile's login_session with the new session's without asking, when they
    /// differ (on a terminal aws-cred asks; without one it needs --yes).
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct WhoamiArgs {
    /// Machine-readable output (schema_version 1).
    #[arg(long, conflicts_with = "short")]
    pub json: bool,
    /// Just the ARN, for shell prompts.
    #[arg(long)]
    pub short: bool,
    /// Also print the chain trace on stderr.
    #[arg(long)]
    pub explain: bool,
}

#[derive(Debug, Args)]
pub struct CognitoArgs {
    /// The user to sign in as: the user name, or an alias (email, phone) if the pool allows it.
    #[arg(long, value_name = "NAME", required_unless_present = "unauthenticated")]
    pub user: Option<String>,
    /// User pool id, REGION_ID (default: AWS_CRED_COGNITO_USER_POOL_ID, then the profile's
    /// cognito_user_pool_id).
    #[arg(long, value_name = "ID")]
    pub user_pool_id: Option<String>,
    /// App client id (default: AWS_CRED_COGNITO_CLIENT_ID, then cognito_client_id).
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// App client secret, for clients that have one (default: AWS_CRED_COGNITO_CLIENT_SECRET,
    /// then cognito_client_secret). Other local users can see command lines: prefer those.
    // Secret-taking options accept values starting with `-`: clap's "unexpected argument"
    // error would otherwise repeat the secret.
    #[arg(long, value_name = "SECRET", allow_hyphen_values = true)]
    pub client_secret: Option<crate::base::secret::Secret>,
    /// Identity pool id, REGION:UUID (default: AWS_CRED_COGNITO_IDENTITY_POOL_ID, then
    /// cognito_identity_pool_id).
    #[arg(long, value_name = "ID")]
    pub identity_pool_id: Option<String>,
    /// How to sign in (default: AWS_CRED_COGNITO_AUTH_FLOW, then cognito_auth_flow, else srp).
    /// admin is signed with AWS credentials from the provider chain.
    #[arg(long, value_enum, value_name = "FLOW")]
    pub auth_flow: Option<crate::cognito::user_pool::Flow>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// The new password when Cognito requires one (first sign-in of an admin-created user);
    /// without it, AWS_CRED_COGNITO_NEW_PASSWORD or the terminal (command lines are visible to
    /// other local users).
    #[arg(long, value_name = "PASSWORD", allow_hyphen_values = true)]
    pub new_password: Option<crate::base::secret::Secret>,
    /// The 6-digit code when Cognito asks for MFA (authenticator app or SMS); without it, the
    /// terminal asks.
    #[arg(long, value_name = "CODE")]
    pub mfa_code: Option<String>,
    /// Get guest credentials from the identity pool: no user, no sign-in.
    #[arg(long, conflicts_with_all = ["user", "auth_flow", "password_stdin", "new_password", "mfa_code"])]
    pub unauthenticated: bool,
    /// Ask the identity pool for this role (CustomRoleArn: rule-based or token-based roles)
    /// (default: AWS_CRED_COGNITO_ROLE_ARN, then cognito_role_arn).
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,
    /// Also print COGNITO_ID_TOKEN, COGNITO_ACCESS_TOKEN and COGNITO_IDENTITY_ID (json:
    /// CognitoIdToken, CognitoAccessToken, CognitoIdentityId), for APIs behind a Cognito
    /// authorizer.
    #[arg(long, conflicts_with = "write_profile")]
    pub tokens: bool,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Before --overwrite-keys, --force meant it here; now it stops with that advice.
    #[arg(long, hide = true)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ShellInitArgs {
    /// The shell the function is for.
    #[arg(value_enum)]
    pub shell: InitShell,
    /// The function's name.
    #[arg(long, value_name = "NAME", default_value = "awsc")]
    pub name: String,
}

/// Shells `shell-init` writes a function for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InitShell {
    Bash,
    Zsh,
    Fish,
    #[value(alias = "pwsh")]
    Powershell,
}

#[cfg(test)]
mod tests;
