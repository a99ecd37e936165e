//! The man pages: `aws-cred(1)` with every subcommand, and one `aws-cred-SUBCOMMAND(1)` each,
//! from the command line's own definition (clap), with the sections clap cannot know: EXIT
//! STATUS, ENVIRONMENT, FILES and SEE ALSO.

use clap::Command;

/// A man page: its file name (`aws-cred-export.1`) and its roff text.
pub(crate) struct Page {
    pub file_name: String,
    pub text: String,
}

/// Variables, by what reads them.
const CHAIN_ENV: &[(&str, &str)] = &[
    (
        "AWS_PROFILE, AWS_DEFAULT_PROFILE",
        "The profile, when --profile is not given.",
    ),
    (
        "AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE",
        "The config and credentials files (default ~/.aws/config, ~/.aws/credentials).",
    ),
    (
        "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_CREDENTIAL_EXPIRATION",
        "Credentials in the environment: the chain's first link (ignored with --profile).",
    ),
    (
        "AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN, AWS_ROLE_SESSION_NAME",
        "Web identity: the chain's second link.",
    ),
    (
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "The container credentials endpoint (ECS, aws-cred serve).",
    ),
    (
        "AWS_EC2_METADATA_DISABLED, AWS_EC2_METADATA_SERVICE_ENDPOINT",
        "The instance metadata service: off, or elsewhere.",
    ),
    (
        "AWS_CRED_NO_PROMPT",
        "1: never ask at the terminal (an MFA code, a profile), as --no-prompt.",
    ),
    (
        "AWS_CRED_MFA_PROCESS",
        "A command that prints the MFA code (the mfa_process profile key).",
    ),
    (
        "AWS_CRED_PROCESS_TIMEOUT",
        "Seconds a credential_process may run (default 300).",
    ),
];

const NETWORK_ENV: &[(&str, &str)] = &[
    (
        "AWS_REGION, AWS_DEFAULT_REGION",
        "The region, when --region is not given.",
    ),
    (
        "AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
        "Endpoint overrides (_STS, _SSO, _SSO_OIDC, _SIGNIN, _IAM, _COGNITO_IDENTITY, _COGNITO_IDENTITY_PROVIDER).",
    ),
    (
        "AWS_CA_BUNDLE, HTTPS_PROXY, HTTP_PROXY, NO_PROXY",
        "Extra trusted certificates and the proxy.",
    ),
    (
        "AWS_CRED_READ_TIMEOUT",
        "Seconds one AWS call waits for its answer, retries included (default 20).",
    ),
];

const HOME_ENV: &[(&str, &str)] = &[(
    "HOME",
    "Where ~/.aws is (on Windows USERPROFILE, then HOMEDRIVE and HOMEPATH).",
)];

const CONFIG_FILES: &[(&str, &str)] = &[
    (
        "~/.aws/config",
        "Profiles and their settings (AWS_CONFIG_FILE).",
    ),
    (
        "~/.aws/credentials",
        "Keys and written sessions (AWS_SHARED_CREDENTIALS_FILE).",
    ),
];

const CACHE_FILES: &[(&str, &str)] = &[
    (
        "~/.aws/aws-cred/cache/mfa/",
        "MFA sessions made by aws-cred mfa (AWS_CRED_CACHE_DIR moves ~/.aws/aws-cred/cache).",
    ),
    (
        "~/.aws/sso/cache/",
        "SSO tokens and client registrations, shared with the AWS CLI.",
    ),
    (
        "~/.aws/login/cache/",
        "aws login sessions, shared with the AWS CLI (AWS_LOGIN_CACHE_DIRECTORY).",
    ),
];

/// What a subcommand reads (beyond its options) and writes.
struct Extra {
    env: &'static [&'static [(&'static str, &'static str)]],
    own_env: &'static [(&'static str, &'static str)],
    files: &'static [&'static [(&'static str, &'static str)]],
    own_files: &'static [(&'static str, &'static str)],
}

type Items = &'static [(&'static str, &'static str)];

const CHAIN: &[Items] = &[CHAIN_ENV, NETWORK_ENV, HOME_ENV];
const NETWORK: &[Items] = &[NETWORK_ENV, HOME_ENV];
const READS: &[Items] = &[CONFIG_FILES, CACHE_FILES];
const CONFIG: &[Items] = &[CONFIG_FILES];

const WRITTEN_SESSION: (&str, &str) = (
    "~/.aws/credentials (written)",
    "With --write-profile NAME: the session in [NAME], the rest of the file byte for byte; mode 0600; lock ~/.aws/credentials.lock.",
);

const EXEC_ENV: Items = &[(
    "AWS_CRED_PROFILE, AWS_CRED_EXPIRATION",
    "Set for the command (who and until when, for a prompt); a nested exec warns.",
)];
const BROWSER_ENV: Items = &[(
    "BROWSER",
    "The browser to open (a :-separated list; %s is the URL).",
)];
const TOKEN_ENV: Items = &[
    (
        "KUBERNETES_EXEC_INFO",
        "kubectl's; its apiVersion picks the answer's.",
    ),
    (
        "KUBECONFIG",
        "token kubeconfig --write: its first file is the one written.",
    ),
];
const TOKEN_FILES: Items = &[
    (
        "~/.aws/aws-cred/cache/eks/",
        "Cached EKS tokens (mode 0600).",
    ),
    (
        "~/.kube/config",
        "token kubeconfig --write: one cluster, user and context.",
    ),
];
const MFA_ENV: Items = &[
    (
        "AWS_MFA_SERIAL",
        "The MFA device, when --serial-number is not given.",
    ),
    (
        "AWS_CRED_MFA_MARGIN_MINUTES",
        "Minutes a cached session must still have to be reused (default 10).",
    ),
];
const MFA_FILES: Items = &[
    (
        "~/.aws/aws-cred/cache/mfa/<sha1>.json",
        "One session per (long-term key, device); mode 0600.",
    ),
    WRITTEN_SESSION,
];
const SSO_ENV: Items = &[
    (
        "AWS_CRED_SSO_LOGIN_TIMEOUT",
        "Seconds the login waits for the browser or the device approval (default 300).",
    ),
    (
        "BROWSER, DISPLAY, WAYLAND_DISPLAY, SSH_CONNECTION, SSH_TTY",
        "Which browser, and whether there is one here (else the device flow).",
    ),
];
const SSO_FILES: Items = &[
    (
        "~/.aws/sso/cache/<sha1>.json",
        "The token and the client registration, in the AWS CLI's format; mode 0600.",
    ),
    (
        "~/.aws/config (written)",
        "sso populate: one marked profile per (account, role).",
    ),
];
const LOGIN_ENV: Items = &[
    (
        "AWS_LOGIN_CACHE_DIRECTORY",
        "Where the sessions go (default ~/.aws/login/cache).",
    ),
    (
        "AWS_CRED_LOGIN_TIMEOUT",
        "Seconds the sign-in waits for the browser (default 600).",
    ),
    ("BROWSER", "The browser to open."),
];
const LOGIN_FILES: Items = &[
    (
        "~/.aws/login/cache/<sha256>.json",
        "The session, in the AWS CLI's format; mode 0600.",
    ),
    (
        "~/.aws/config (written)",
        "login_session and region in the profile; lock ~/.aws/config.lock.",
    ),
];
const COGNITO_ENV: Items = &[(
    "AWS_CRED_COGNITO_USER_POOL_ID, AWS_CRED_COGNITO_CLIENT_ID, AWS_CRED_COGNITO_CLIENT_SECRET, AWS_CRED_COGNITO_IDENTITY_POOL_ID, AWS_CRED_COGNITO_AUTH_FLOW, AWS_CRED_COGNITO_ROLE_ARN, AWS_CRED_COGNITO_PASSWORD, AWS_CRED_COGNITO_NEW_PASSWORD",
    "The pools, the app client, the flow and the password, when not given as options.",
)];
const COGNITO_FILES: Items = &[(
    "~/.aws/aws-cred/cache/cognito/<sha256>.json",
    "Tokens, identity ids and the last credentials per (pool, client, user); mode 0600.",
)];
const KEYS_FILES: Items = &[
    (
        "the OS keyring, service aws-cred",
        "One entry per profile (Secret Service, Keychain, Credential Manager).",
    ),
    (
        "~/.aws/config (written)",
        "keys add: the profile's credential_process line.",
    ),
];
const STATUS_ENV: Items = &[
    (
        "COLUMNS",
        "The table's width, when stdout is not a terminal.",
    ),
    ("NO_COLOR", "No colour."),
];
const LOGOUT_FILES: Items = &[(
    "the caches above",
    "Removed: SSO tokens, MFA sessions, login sessions, Cognito sign-ins, EKS tokens, and session sections aws-cred wrote into ~/.aws/credentials.",
)];

fn extra(name: &str) -> Extra {
    let (env, own_env, files, own_files): (&[Items], Items, &[Items], Items) = match name {
        "export" => (CHAIN, &[], READS, &[WRITTEN_SESSION]),
        "whoami" | "serve" => (CHAIN, &[], READS, &[]),
        "exec" => (CHAIN, EXEC_ENV, READS, &[]),
        "console" => (CHAIN, BROWSER_ENV, READS, &[]),
        "token" => (CHAIN, TOKEN_ENV, READS, TOKEN_FILES),
        "mfa" => (CHAIN, MFA_ENV, CONFIG, MFA_FILES),
        "sso-login" | "sso" => (NETWORK, SSO_ENV, CONFIG, SSO_FILES),
        "login" => (NETWORK, LOGIN_ENV, CONFIG, LOGIN_FILES),
        "cognito" => (NETWORK, COGNITO_ENV, CONFIG, COGNITO_FILES),
        "keys" => (NETWORK, &[], CONFIG, KEYS_FILES),
        "status" => (&[CHAIN_ENV, HOME_ENV], STATUS_ENV, READS, &[]),
        "logout" => (NETWORK, &[], CONFIG, LOGOUT_FILES),
        _ => (&[], &[], &[], &[]),
    };
    Extra {
        env,
        own_env,
        files,
        own_files,
    }
}

const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "Success."),
    (
        "1",
        "An AWS, network or file failure; the message names the endpoint or the file.",
    ),
    (
        "2",
        "A usage error or a bad configuration; the message names the option, or the file and line.",
    ),
    (
        "3",
        "No credentials: every link of the chain came up empty (each link's reason is listed).",
    ),
    (
        "4",
        "A session expired or is missing; the hint names the command that renews it. Also a locked or absent OS keyring.",
    ),
    ("130, 143, 129", "Interrupted: Ctrl-C, SIGTERM, SIGHUP."),
];

const EXEC_STATUS: &[(&str, &str)] = &[
    (
        "126, 127",
        "The command cannot be run, or was not found; otherwise the command's own status.",
    ),
    ("128+N", "exec --server: the command was ended by signal N."),
];

/// `aws-cred(1)`: the program, every subcommand in a section of its own, and the sections
/// every page has.
pub(crate) fn main_page(cli: &Command) -> std::io::Result<Page> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cli.clone()).render(&mut page)?;
    let mut text = String::from_utf8_lossy(&page).into_owned();
    text.extend(cli.get_subcommands().map(subcommand_section));
    text.push_str(&sections(None, cli));
    Ok(Page {
        file_name: "aws-cred.1".to_string(),
        text,
    })
}

/// aws-cred(1)'s section for one subcommand: what it does, its options, its examples.
pub(crate) fn subcommand_section(sub: &Command) -> String {
    let mut out = format!(".SH \"AWS\\-CRED {}\"\n", sub.get_name().to_uppercase());
    if let Some(about) = sub.get_long_about().or(sub.get_about()) {
        out.push_str(&format!("{}\n", roff(&about.to_string())));
    }
    for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
        let id = arg.get_id().as_str();
        if id == "help" || id == "version" {
            continue;
        }
        let mut head = String::new();
        if let Some(long) = arg.get_long() {
            head.push_str(&format!("\\fB\\-\\-{}\\fR", roff(long)));
        }
        if let Some(short) = arg.get_short() {
            head.push_str(&format!(", \\fB\\-{short}\\fR"));
        }
        let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
        if takes_value {
            let name = arg
                .get_value_names()
                .and_then(|names| names.first().map(|n| n.to_string()))
                .unwrap_or_else(|| id.to_uppercase());
            if !head.is_empty() {
                head.push(' ');
            }
            head.push_str(&format!("\\fI{}\\fR", roff(&name)));
        }
        let help = arg
            .get_long_help()
            .or(arg.get_help())
            .map(|h| roff(&h.to_string()))
            .unwrap_or_default();
        out.push_str(&format!(".TP\n{head}\n{help}\n"));
    }
    if let Some(after) = sub.get_after_help() {
        out.push_str(&format!(".PP\n.nf\n{}\n.fi\n", roff(&after.to_string())));
    }
    out
}

/// `aws-cred-NAME(1)`; `None` for a name that is not a subcommand.
pub(crate) fn subcommand_page(cli: &Command, name: &str) -> std::io::Result<Option<Page>> {
    let mut built = cli.clone();
    built.build();
    let Some(sub) = built.find_subcommand(name) else {
        return Ok(None);
    };
    let full = format!("aws-cred-{name}");
    let sub = sub
        .clone()
        .name(full.clone())
        .bin_name(format!("aws-cred {name}"))
        .version(cli.get_version().unwrap_or_default().to_string());
    let mut page = Vec::new();
    clap_mangen::Man::new(sub).render(&mut page)?;
    let mut text = String::from_utf8_lossy(&page).into_owned();
    text.push_str(&sections(Some(name), cli));
    Ok(Some(Page {
        file_name: format!("{full}.1"),
        text,
    }))
}

/// The names of the subcommands that get a page of their own.
pub(crate) fn subcommands(cli: &Command) -> Vec<String> {
    cli.get_subcommands()
        .map(|sub| sub.get_name().to_string())
        .filter(|name| name != "help")
        .collect()
}

/// EXIT STATUS, ENVIRONMENT, FILES and SEE ALSO for one subcommand (`None`: the main page,
/// which lists what every subcommand reads).
fn sections(name: Option<&str>, cli: &Command) -> String {
    let mut out = String::from(".SH \"EXIT STATUS\"\n");
    let exec = name == Some("exec");
    for (code, meaning) in EXIT_STATUS.iter().chain(if exec || name.is_none() {
        EXEC_STATUS
    } else {
        &[]
    }) {
        out.push_str(&item(code, meaning));
    }
    let (env, files) = match name {
        Some(name) => {
            let extra = extra(name);
            let env: Vec<(&str, &str)> = extra
                .env
                .iter()
                .flat_map(|group| group.iter().copied())
                .chain(extra.own_env.iter().copied())
                .collect();
            let files: Vec<(&str, &str)> = extra
                .files
                .iter()
                .flat_map(|group| group.iter().copied())
                .chain(extra.own_files.iter().copied())
                .collect();
            (env, files)
        }
        None => (
            [CHAIN_ENV, NETWORK_ENV, HOME_ENV].concat(),
            [CONFIG_FILES, CACHE_FILES].concat(),
        ),
    };
    if !env.is_empty() {
        out.push_str(".SH ENVIRONMENT\n");
        for (var, meaning) in env {
            out.push_str(&item(var, meaning));
        }
    }
    if !files.is_empty() {
        out.push_str(".SH FILES\n");
        for (file, meaning) in files {
            out.push_str(&item(file, meaning));
        }
    }
    out.push_str(".SH \"SEE ALSO\"\n");
    let mut see: Vec<String> = match name {
        Some(_) => vec!["\\fBaws\\-cred\\fR(1)".to_string()],
        None => subcommands(cli)
            .iter()
            .map(|sub| format!("\\fBaws\\-cred\\-{}\\fR(1)", roff(sub)))
            .collect(),
    };
    see.push("\\fBaws\\fR(1)".to_string());
    out.push_str(&see.join(", "));
    out.push('\n');
    out
}

fn item(term: &str, text: &str) -> String {
    format!(".TP\n\\fB{}\\fR\n{}\n", roff(term), roff(text))
}

/// Text for roff: backslashes and hyphens escaped, and a line that starts with a control
/// character made plain.
pub(crate) fn roff(text: &str) -> String {
    text.lines()
        .map(|line| {
            let escaped = line.replace('\\', "\\e").replace('-', "\\-");
            if escaped.starts_with('.') || escaped.starts_with('\'') {
                format!("\\&{escaped}")
            } else {
                escaped
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli() -> Command {
        Command::new("aws-cred")
            .version("1.0")
            .subcommand(Command::new("export").about("Print credentials"))
            .subcommand(Command::new("exec").about("Run a command"))
            .subcommand(Command::new("man").about("Man pages"))
    }

    #[test]
    fn roff_escapes_what_troff_would_interpret() {
        assert_eq!(roff(".hidden"), "\\&.hidden");
        assert_eq!(roff("a-b \\ c"), "a\\-b \\e c");
    }

    #[test]
    fn a_subcommand_page_has_its_own_title_and_sections() {
        let page = subcommand_page(&cli(), "export").unwrap().unwrap();
        assert_eq!(page.file_name, "aws-cred-export.1");
        assert!(page.text.contains(".TH aws-cred-export 1"), "{}", page.text);
        for section in [
            ".SH \"EXIT STATUS\"",
            ".SH ENVIRONMENT",
            ".SH FILES",
            ".SH \"SEE ALSO\"",
        ] {
            assert!(page.text.contains(section), "{section}: {}", page.text);
        }
        assert!(page.text.contains("AWS_PROFILE"));
        assert!(page.text.contains("\\-\\-write\\-profile"));
        // exec's exit statuses are exec's.
        assert!(!page.text.contains("128+N"));
        let exec = subcommand_page(&cli(), "exec").unwrap().unwrap();
        assert!(exec.text.contains("128+N"));
        assert!(subcommand_page(&cli(), "nope").unwrap().is_none());
        // man reads no file and no variable: those sections are left out.
        let man = subcommand_page(&cli(), "man").unwrap().unwrap();
        assert!(!man.text.contains(".SH ENVIRONMENT") && !man.text.contains(".SH FILES"));
    }
}
