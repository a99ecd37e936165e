//! Injection safety and byte-exact round trips of aws-cred's output formats.
//!
//! Adversarial credentials and regions go in through three doors: the env link (values are
//! trimmed there, so only inner whitespace survives), a profile in the credentials file (INI:
//! no edge whitespace, no comment starts, newlines only as continuation lines), and a
//! `credential_process` (JSON: anything, leading and trailing spaces included). Real shells
//! then eval aws-cred's output in a scratch directory, print each variable with
//! `printf '%s\0'` into a file and dump their environment with `env -0`; the bytes are compared
//! here. Every `$(touch PWNED)` in the values must stay text: no `PWNED` file may appear.
//!
//! Shells: bash, dash and zsh for `--format sh`, fish for `--format fish` (missing ones print a
//! skip line, and fail under `CI=true`); pwsh for `--format powershell` when it happens to be
//! installed. cmd.exe does not exist here: the cmd format is checked line by line, refusals
//! included. dotenv output is read back with the venv's python-dotenv, JSON with serde_json.

use crate::support;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use support::{OutputExt, Sandbox, find_program, in_ci, require_program, require_venv_tool, run};

/// The variables a shell format sets or unsets, in the order they are checked.
const CHECKED: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
];

/// What the shell had before the eval: a session from yesterday, which must not survive.
const STALE: &[(&str, &str)] = &[
    ("AWS_SESSION_TOKEN", "STALE-session-token"),
    ("AWS_SECURITY_TOKEN", "STALE-security-token"),
    ("AWS_CREDENTIAL_EXPIRATION", "2001-01-01T00:00:00Z"),
];

/// Pieces of hostile text. None has whitespace at its edges (the env link trims it).
const ATOMS: &[&str] = &[
    "'",
    "''",
    "\"",
    "'\\''",
    "\\'",
    "'\"'\"'",
    "$(touch PWNED)",
    "`touch PWNED`",
    ";touch PWNED",
    "|touch PWNED",
    "&touch PWNED",
    "&&touch PWNED&",
    "'; touch PWNED; echo '",
    "\"; touch PWNED; echo \"",
    "'$(touch PWNED)'",
    "line1\nline2",
    "a\n$(touch PWNED)\nb",
    "cr\rinside",
    "\\",
    "a\\",
    "\\\\n",
    "\\n",
    "%PATH%",
    "%%",
    "^",
    "^&",
    "!",
    "!!",
    "!touch",
    "$HOME",
    "${x}",
    "${HOME:-x}",
    "$((1+1))",
    "$'\\x41'",
    "{a,b}",
    "*",
    "?",
    "~",
    "#not-a-comment",
    "a #hash",
    "a ;semi",
    "<in >out",
    "(sub)",
    "tab\tinside",
    "two  spaces",
    "日本語",
    "🔑🎉",
    "e\u{301}",
    "\u{2018}typographic\u{2019}",
    "nbsp\u{a0}inner\u{3000}ideographic",
];

// ---------------------------------------------------------------------------------------------
// Cases: what goes in, and so what must come out
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Creds {
    label: String,
    key: String,
    secret: String,
    token: Option<String>,
    region: Option<String>,
}

impl Creds {
    fn new(label: impl Into<String>, key: &str, secret: &str) -> Creds {
        Creds {
            label: label.into(),
            key: key.to_string(),
            secret: secret.to_string(),
            token: None,
            region: None,
        }
    }

    fn token(mut self, token: &str) -> Creds {
        self.token = Some(token.to_string());
        self
    }

    fn region(mut self, region: &str) -> Creds {
        self.region = Some(region.to_string());
        self
    }

    /// After eval'ing the output of a shell format: every checked variable's value, `None` for
    /// unset.
    fn expected_vars(&self) -> BTreeMap<&'static str, Option<String>> {
        let mut want = BTreeMap::new();
        want.insert("AWS_ACCESS_KEY_ID", Some(self.key.clone()));
        want.insert("AWS_SECRET_ACCESS_KEY", Some(self.secret.clone()));
        want.insert("AWS_SESSION_TOKEN", self.token.clone());
        want.insert("AWS_SECURITY_TOKEN", None);
        want.insert("AWS_CREDENTIAL_EXPIRATION", None);
        want.insert("AWS_REGION", self.region.clone());
        want.insert("AWS_DEFAULT_REGION", self.region.clone());
        want
    }

    fn values(&self) -> impl Iterator<Item = &str> {
        [
            Some(&self.key),
            Some(&self.secret),
            self.token.as_ref(),
            self.region.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
    }
}

/// Cases every door can carry: no whitespace at the edges of any value.
fn atom_cases() -> Vec<Creds> {
    let mut cases: Vec<Creds> = ATOMS
        .iter()
        .map(|atom| {
            Creds::new(format!("atom {atom:?}"), &format!("AKIA{atom}Z"), atom)
                .token(&format!("{atom}tok{atom}"))
                .region(&format!("r{atom}"))
        })
        .collect();
    let everything = ATOMS.join(" ");
    cases.push(
        Creds::new(
            "all atoms, session",
            &ATOMS.concat(),
            &format!("x {everything} y"),
        )
        .token(&everything)
        .region(&ATOMS.concat()),
    );
    // Long-term keys and no region: the stale token must be unset, AWS_REGION left alone.
    cases.push(Creds::new(
        "all atoms, long-term keys, no region",
        "AKIA'$(touch PWNED)'",
        &format!("s {everything} s"),
    ));
    for case in &cases {
        for value in case.values() {
            assert_eq!(
                value.trim(),
                value,
                "test bug: {} has edge whitespace",
                case.label
            );
        }
    }
    cases
}

/// Whether the AWS profile parser reads `key=value` back as `value`, with each `\n` written as
/// a continuation line (`\n  `). Rules of aws-config's parser: spaces and tabs around a value
/// and around each continuation line are trimmed, blank continuation lines are dropped, CR
/// ends a line, and on the first line `#` or `;` after whitespace starts a comment.
fn ini_can_carry(value: &str) -> bool {
    let mut lines = value.split('\n');
    let first = lines.next().unwrap_or_default();
    let mut prev_ws = false;
    for c in first.chars() {
        if (c == '#' || c == ';') && prev_ws {
            return false;
        }
        prev_ws = c.is_whitespace();
    }
    !value.contains('\r')
        && value
            .split('\n')
            .all(|line| !line.is_empty() && line.trim_matches([' ', '\t']) == line)
}

fn ini_value(value: &str) -> String {
    value.replace('\n', "\n  ")
}

/// Cases only JSON (credential_process) can carry: whitespace at the edges, blank lines.
fn process_only_cases() -> Vec<Creds> {
    vec![
        Creds::new(
            "spaces around the secret",
            "AKIAPROCESS",
            "  leading and trailing spaces  ",
        )
        .token("\ttabs around\t"),
        Creds::new(
            "newlines around the secret",
            "AKIAPROCESS",
            "\n$(touch PWNED)\n",
        )
        .token(" '\n\n' ")
        .region("eu-west-1"),
        Creds::new("CRLF and quotes", "AKIAPROCESS", "\r\n'\"\r\n").token("\\\n"),
    ]
}

/// The three doors into aws-cred.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Feed {
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION.
    Env,
    /// `[adv]` in the credentials file, `region` in `[profile adv]` of the config file.
    Profile,
    /// `credential_process = cat <json>` in `[profile adv]`, region from `--region`.
    Process,
}

const FEEDS: &[Feed] = &[Feed::Env, Feed::Profile, Feed::Process];

fn cases_for(feed: Feed) -> Vec<Creds> {
    match feed {
        Feed::Env => atom_cases(),
        Feed::Profile => {
            let all = atom_cases();
            let total = all.len();
            let cases: Vec<Creds> = all
                .into_iter()
                .filter(|c| c.values().all(ini_can_carry))
                .collect();
            assert!(
                cases.len() * 2 > total,
                "test bug: too few cases fit in an INI file ({} of {total})",
                cases.len()
            );
            assert!(
                cases.iter().any(|c| c.secret.contains('\n')),
                "test bug: no continuation-line case"
            );
            cases
        }
        Feed::Process => {
            let mut cases = atom_cases();
            cases.extend(process_only_cases());
            cases
        }
    }
}

/// Runs `aws-cred export --format FORMAT` with `creds` coming in through `feed`.
fn export(sb: &Sandbox, feed: Feed, creds: &Creds, format: &str) -> Output {
    let mut cmd = sb.cmd();
    cmd.args(["export", "--format", format]);
    match feed {
        Feed::Env => {
            cmd.env("AWS_ACCESS_KEY_ID", &creds.key)
                .env("AWS_SECRET_ACCESS_KEY", &creds.secret);
            if let Some(token) = &creds.token {
                cmd.env("AWS_SESSION_TOKEN", token);
            }
            if let Some(region) = &creds.region {
                cmd.env("AWS_REGION", region);
            }
        }
        Feed::Profile => {
            let mut text = format!(
                "[adv]\naws_access_key_id={}\naws_secret_access_key={}\n",
                ini_value(&creds.key),
                ini_value(&creds.secret)
            );
            if let Some(token) = &creds.token {
                text.push_str(&format!("aws_session_token={}\n", ini_value(token)));
            }
            sb.write_credentials(&text);
            let mut config = "[profile adv]\n".to_string();
            if let Some(region) = &creds.region {
                config.push_str(&format!("region={}\n", ini_value(region)));
            }
            sb.write_config(&config);
            cmd.args(["--profile", "adv"]);
        }
        Feed::Process => {
            let mut doc = serde_json::json!({
                "Version": 1,
                "AccessKeyId": creds.key,
                "SecretAccessKey": creds.secret,
            });
            if let Some(token) = &creds.token {
                doc["SessionToken"] = token.as_str().into();
            }
            let json = sb.write("process/creds.json", doc.to_string());
            let path = json.to_str().expect("sandbox paths are UTF-8");
            assert!(!path.contains('\''), "test bug: quote in {path}");
            sb.write_config(&format!(
                "[profile adv]\ncredential_process = cat '{path}'\n"
            ));
            cmd.args(["--profile", "adv"]);
            if let Some(region) = &creds.region {
                cmd.arg(format!("--region={region}"));
            }
        }
    }
    run(&mut cmd)
}

// ---------------------------------------------------------------------------------------------
// Shells
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dialect {
    /// bash, dash, zsh: `eval "$(cat FILE)"`.
    Posix,
    /// fish: `source FILE`.
    Fish,
}

impl Dialect {
    fn format(self) -> &'static str {
        match self {
            Dialect::Posix => "sh",
            Dialect::Fish => "fish",
        }
    }
}

struct Shell {
    name: &'static str,
    path: PathBuf,
    dialect: Dialect,
}

/// The shell, or `None` after a skip line (a failure under `CI=true`).
fn shell(name: &'static str, dialect: Dialect) -> Option<Shell> {
    let path = require_program(name)?;
    Some(Shell {
        name,
        path,
        dialect,
    })
}

/// The script: `$1`/`$argv[1]` is aws-cred's output, `$2` gets `set\0VALUE\0` or `unset\0` per
/// checked variable (the shell's own view), `$3` gets `env -0` (what it exports).
fn script(dialect: Dialect) -> String {
    let mut s = String::new();
    match dialect {
        Dialect::Posix => {
            s.push_str("eval \"$(cat \"$1\")\"\n{\n");
            for name in CHECKED {
                s.push_str(&format!(
                    "  if [ -n \"${{{name}+x}}\" ]; then printf 'set\\0%s\\0' \"${name}\"; \
                     else printf 'unset\\0'; fi\n"
                ));
            }
            s.push_str("} > \"$2\"\nenv -0 > \"$3\"\n");
        }
        Dialect::Fish => {
            s.push_str("source $argv[1]\nbegin\n");
            for name in CHECKED {
                s.push_str(&format!(
                    "  if set -q {name}; printf 'set\\0%s\\0' ${name}; else; printf 'unset\\0'; end\n"
                ));
            }
            s.push_str("end > $argv[2]\nenv -0 > $argv[3]\n");
        }
    }
    s
}

/// What a shell saw after eval'ing a file.
struct Observed {
    /// The shell's variables (`None`: unset).
    vars: BTreeMap<String, Option<Vec<u8>>>,
    /// Its exported environment.
    env: BTreeMap<Vec<u8>, Vec<u8>>,
    output: Output,
}

/// The shell's command, environment cleared: PATH, HOME, a UTF-8 locale and a stale session.
/// Working dir `<sandbox>/work`, where a `touch PWNED` would land.
fn shell_command(sb: &Sandbox, program: &Path) -> Command {
    let work = sb.path("work");
    fs::create_dir_all(&work).expect("create <sandbox>/work");
    let mut cmd = Command::new(program);
    cmd.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd.env("HOME", sb.home())
        .env("LANG", "C.UTF-8")
        .env("LC_ALL", "C.UTF-8")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(STALE.iter().copied())
        .current_dir(work)
        .stdin(Stdio::null());
    cmd
}

/// Evals `code` (aws-cred's stdout) in `shell` and reads back what it set.
fn eval_in(sb: &Sandbox, shell: &Shell, code: &[u8]) -> Observed {
    let input = sb.write("eval/input", code);
    let vars_file = sb.path("eval/vars.bin");
    let env_file = sb.path("eval/env.bin");
    let _ = fs::remove_file(&vars_file);
    let _ = fs::remove_file(&env_file);
    let mut cmd = shell_command(sb, &shell.path);
    match shell.dialect {
        Dialect::Posix if shell.name == "zsh" => cmd.arg("-f"),
        Dialect::Posix => &mut cmd,
        Dialect::Fish => cmd.arg("--no-config"),
    };
    cmd.arg("-c").arg(script(shell.dialect));
    if shell.dialect == Dialect::Posix {
        cmd.arg(shell.name); // $0
    }
    cmd.arg(&input).arg(&vars_file).arg(&env_file);
    let output = run(&mut cmd);
    let vars = fs::read(&vars_file).unwrap_or_default();
    let env = fs::read(&env_file).unwrap_or_default();
    Observed {
        vars: parse_vars(&vars),
        env: parse_env(&env),
        output,
    }
}

/// `set\0VALUE\0` / `unset\0`, once per [`CHECKED`] name, in order.
fn parse_vars(bytes: &[u8]) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut fields = bytes.split(|b| *b == 0);
    let mut out = BTreeMap::new();
    for name in CHECKED {
        let value = match fields.next() {
            Some(b"set") => Some(fields.next().unwrap_or_default().to_vec()),
            Some(b"unset") => None,
            _ => break, // incomplete: the comparison reports the missing names
        };
        out.insert(name.to_string(), value);
    }
    out
}

fn parse_env(bytes: &[u8]) -> BTreeMap<Vec<u8>, Vec<u8>> {
    bytes
        .split(|b| *b == 0)
        .filter(|entry| !entry.is_empty())
        .map(|entry| match entry.iter().position(|b| *b == b'=') {
            Some(i) => (entry[..i].to_vec(), entry[i + 1..].to_vec()),
            None => (entry.to_vec(), Vec::new()),
        })
        .collect()
}

fn show(bytes: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(bytes))
}

/// Every file or folder under the sandbox whose name contains `PWNED`.
fn pwned_files(sb: &Sandbox) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![sb.root().to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_name().to_string_lossy().contains("PWNED") {
                found.push(path.clone());
            }
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
            }
        }
    }
    found
}

fn assert_nothing_ran(sb: &Sandbox, what: &str) {
    let pwned = pwned_files(sb);
    assert!(pwned.is_empty(), "{what}: a value was executed: {pwned:?}");
}

/// Compares what the shell saw with what `want` says, variable by variable, bytes exact, both
/// as shell variables and as exported environment.
fn assert_observed(
    what: &str,
    code: &[u8],
    observed: &Observed,
    want: &BTreeMap<&'static str, Option<String>>,
) {
    let context = || {
        format!(
            "{what}\n--- aws-cred output ---\n{}\n--- shell stdout ---\n{}\n--- shell stderr ---\n{}",
            show(code),
            observed.output.stdout_str(),
            observed.output.stderr_str()
        )
    };
    assert!(
        observed.output.status.success(),
        "shell failed ({}): {}",
        observed.output.status,
        context()
    );
    assert!(
        observed.output.stdout.is_empty() && observed.output.stderr.is_empty(),
        "the shell printed something while eval'ing: {}",
        context()
    );
    for (name, value) in want {
        let want_bytes = value.as_ref().map(|v| v.as_bytes().to_vec());
        let Some(got) = observed.vars.get(*name) else {
            panic!("the shell did not report {name}: {}", context());
        };
        assert!(
            *got == want_bytes,
            "{name} in the shell: expected {}, got {}: {}",
            want_bytes.as_deref().map_or("unset".into(), show),
            got.as_deref().map_or("unset".into(), show),
            context()
        );
        let exported = observed.env.get(name.as_bytes());
        assert!(
            exported.map(Vec::as_slice) == want_bytes.as_deref(),
            "{name} in the exported environment: expected {}, got {}: {}",
            want_bytes.as_deref().map_or("absent".into(), show),
            exported.map_or("absent".into(), |v| show(v)),
            context()
        );
    }
}

/// Every case through every door, aws-cred's output eval'd by `shell`.
fn round_trip_in(name: &'static str, dialect: Dialect) {
    let Some(shell) = shell(name, dialect) else {
        return;
    };
    let mut checked = 0;
    for &feed in FEEDS {
        for creds in cases_for(feed) {
            let what = format!("{name}, {feed:?} feed, {}", creds.label);
            let sb = Sandbox::new();
            let out = export(&sb, feed, &creds, dialect.format());
            out.assert_success();
            let observed = eval_in(&sb, &shell, &out.stdout);
            assert_nothing_ran(&sb, &what);
            assert_observed(&what, &out.stdout, &observed, &creds.expected_vars());
            checked += 1;
        }
    }
    eprintln!("{name}: {checked} cases round-tripped byte-exact");
}

#[test]
fn sh_format_round_trips_byte_exact_in_bash() {
    round_trip_in("bash", Dialect::Posix);
}

#[test]
fn sh_format_round_trips_byte_exact_in_dash() {
    round_trip_in("dash", Dialect::Posix);
}

#[test]
fn sh_format_round_trips_byte_exact_in_zsh() {
    round_trip_in("zsh", Dialect::Posix);
}

#[test]
fn fish_format_round_trips_byte_exact_in_fish() {
    round_trip_in("fish", Dialect::Fish);
}

/// The harness itself: a line that does inject must leave a `PWNED` file and be seen, so the
/// round-trip tests cannot pass by not looking (no `touch` on PATH, output going nowhere).
#[test]
fn the_harness_notices_an_injection_when_there_is_one() {
    for shell in all_shells() {
        let sb = Sandbox::new();
        let unsafe_line: &[u8] = match shell.dialect {
            Dialect::Posix => b"export AWS_ACCESS_KEY_ID=x$(touch PWNED)y\n",
            Dialect::Fish => b"set -gx AWS_ACCESS_KEY_ID x(touch PWNED; echo)y\n",
        };
        let observed = eval_in(&sb, &shell, unsafe_line);
        assert!(
            !pwned_files(&sb).is_empty(),
            "{}: the injected touch left no PWNED file: {}",
            shell.name,
            observed.output.stderr_str()
        );
        assert_eq!(
            observed.vars.get("AWS_ACCESS_KEY_ID"),
            Some(&Some(b"xy".to_vec())),
            "{}",
            shell.name
        );
        assert_eq!(
            observed
                .env
                .get(&b"AWS_SESSION_TOKEN"[..])
                .map(Vec::as_slice),
            Some(&b"STALE-session-token"[..]),
            "{}: the stale session is not visible",
            shell.name
        );
    }
}

/// The shells this machine has, each required by the CI policy of `require_program`.
fn all_shells() -> Vec<Shell> {
    [
        ("bash", Dialect::Posix),
        ("dash", Dialect::Posix),
        ("zsh", Dialect::Posix),
        ("fish", Dialect::Fish),
    ]
    .into_iter()
    .filter_map(|(name, dialect)| shell(name, dialect))
    .collect()
}

/// A shell that still holds yesterday's session gets long-term keys: the token, the legacy
/// token and the expiration must be gone afterwards, not left to break the new keys.
/// `export --unset` then clears the keys as well.
#[test]
fn eval_unsets_a_stale_session_and_export_unset_clears_everything() {
    for shell in all_shells() {
        let sb = Sandbox::new();
        let creds = Creds::new("long-term keys", "AKIALONGTERM", "long/term+secret");
        let out = export(&sb, Feed::Env, &creds, shell.dialect.format());
        out.assert_success();
        let code = String::from_utf8(out.stdout.clone()).expect("UTF-8 output");
        for stale in [
            "AWS_SESSION_TOKEN",
            "AWS_SECURITY_TOKEN",
            "AWS_CREDENTIAL_EXPIRATION",
        ] {
            assert!(code.contains(stale), "no line for {stale}:\n{code}");
        }
        let observed = eval_in(&sb, &shell, &out.stdout);
        let what = format!("{}: long-term keys over a stale session", shell.name);
        assert_observed(&what, &out.stdout, &observed, &creds.expected_vars());

        // `export --unset` in the same shell, after the keys: nothing is left.
        let unset = run(sb
            .cmd()
            .args(["export", "--unset", "--format", shell.dialect.format()]));
        unset.assert_success();
        let mut both = out.stdout.clone();
        both.extend_from_slice(&unset.stdout);
        let observed = eval_in(&sb, &shell, &both);
        let want: BTreeMap<_, _> = CHECKED.iter().map(|name| (*name, None)).collect();
        let what = format!("{}: export --unset after export", shell.name);
        assert_observed(&what, &both, &observed, &want);
    }
}

/// A NUL cannot live in an environment variable (bash and dash would drop it silently, zsh
/// cut the value, fish refuse the file), so every shell format refuses it: exit 2, nothing on
/// stdout, and the text around it never runs.
#[test]
fn a_nul_in_a_value_never_executes_anything() {
    let hostile = [
        "AK\u{0}'; touch PWNED; echo '",
        "\u{0}$(touch PWNED)",
        "x\u{0}\ntouch PWNED\n",
        "\u{0}'\u{0}`touch PWNED`\u{0}'",
    ];
    for shell in all_shells() {
        for value in hostile {
            let sb = Sandbox::new();
            let creds = Creds::new("NUL", value, value).token(value);
            let out = export(&sb, Feed::Process, &creds, shell.dialect.format());
            out.assert_code(2);
            assert_eq!(
                out.stdout_str(),
                failure_stdout(shell.dialect.format()),
                "failed and printed: {}",
                show(&out.stdout)
            );
            assert!(
                out.stderr_str().contains("a NUL byte"),
                "{}",
                out.stderr_str()
            );
            let observed = eval_in(&sb, &shell, &out.stdout);
            assert_nothing_ran(&sb, &format!("{}: {value:?}", shell.name));
            assert!(
                observed.output.stdout.is_empty(),
                "{}: {value:?}: the shell printed {}",
                shell.name,
                observed.output.stdout_str()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// PowerShell
// ---------------------------------------------------------------------------------------------

/// `$args[0]`: aws-cred's output; `$args[1]` gets `set\0VALUE\0` / `unset\0` per variable.
const PWSH_SCRIPT: &str = r#"
$ErrorActionPreference = 'Stop'
Invoke-Expression ([IO.File]::ReadAllText($args[0], [Text.UTF8Encoding]::new($false)))
$out = [Text.StringBuilder]::new()
foreach ($name in $args[2..($args.Count - 1)]) {
  $value = [Environment]::GetEnvironmentVariable($name)
  if ($null -eq $value) { [void]$out.Append("unset`0") }
  else { [void]$out.Append("set`0").Append($value).Append("`0") }
}
[IO.File]::WriteAllText($args[1], $out.ToString(), [Text.UTF8Encoding]::new($false))
"#;

/// pwsh is in no registry reachable here (Debian 12 lacks it; npm's `pwsh` downloads it from
/// GitHub at install time) and CI does not install it, so this test skips without it, under
/// CI too; the quoting itself is unit-tested in src/output/quote.rs.
#[test]
fn powershell_format_round_trips_in_pwsh_when_installed() {
    let Some(pwsh) = find_program("pwsh") else {
        eprintln!("skipping: pwsh not found on PATH (CI cannot install it; see the comment)");
        return;
    };
    for &feed in FEEDS {
        for creds in cases_for(feed) {
            let what = format!("pwsh, {feed:?} feed, {}", creds.label);
            let sb = Sandbox::new();
            let out = export(&sb, feed, &creds, "powershell");
            out.assert_success();
            let input = sb.write("eval/input.ps1", &out.stdout);
            let script = sb.write("eval/roundtrip.ps1", PWSH_SCRIPT);
            let vars_file = sb.path("eval/vars.bin");
            let mut cmd = shell_command(&sb, &pwsh);
            cmd.args(["-NoLogo", "-NoProfile", "-NonInteractive", "-File"])
                .arg(&script)
                .arg(&input)
                .arg(&vars_file)
                .args(CHECKED);
            let output = run(&mut cmd);
            assert_nothing_ran(&sb, &what);
            assert!(
                output.status.success() && output.stderr.is_empty(),
                "{what}: pwsh failed\n{}\n{}",
                output.stdout_str(),
                output.stderr_str()
            );
            let got = parse_vars(&fs::read(&vars_file).unwrap_or_default());
            for (name, want) in creds.expected_vars() {
                let want = want.map(String::into_bytes);
                assert!(
                    got.get(name) == Some(&want),
                    "{what}: {name}: expected {:?}, got {:?}\n--- output ---\n{}",
                    want.as_deref().map(show),
                    got.get(name).map(|v| v.as_deref().map(show)),
                    show(&out.stdout)
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// cmd
// ---------------------------------------------------------------------------------------------

#[test]
fn cmd_format_renders_safe_values_as_quoted_set_lines() {
    let sb = Sandbox::new();
    // Inside `set "K=v"`, & | < > ^ ( ) are literal for cmd.
    let session = Creds::new("session", "AKIA&KEY", "a&b|c<d>e^f(g)h 日本語 'x'")
        .token("t^&|")
        .region("us-east-1");
    let out = export(&sb, Feed::Env, &session, "cmd");
    out.assert_success();
    assert_eq!(
        out.stdout_str(),
        "set \"AWS_ACCESS_KEY_ID=AKIA&KEY\"\n\
         set \"AWS_SECRET_ACCESS_KEY=a&b|c<d>e^f(g)h 日本語 'x'\"\n\
         set \"AWS_SESSION_TOKEN=t^&|\"\n\
         set AWS_SECURITY_TOKEN=\n\
         set AWS_CREDENTIAL_EXPIRATION=\n\
         set \"AWS_REGION=us-east-1\"\n\
         set \"AWS_DEFAULT_REGION=us-east-1\"\n"
    );

    let long_term = Creds::new("long-term", "AKIALONG", "long^secret");
    let out = export(&sb, Feed::Env, &long_term, "cmd");
    out.assert_success();
    assert_eq!(
        out.stdout_str(),
        "set \"AWS_ACCESS_KEY_ID=AKIALONG\"\n\
         set \"AWS_SECRET_ACCESS_KEY=long^secret\"\n\
         set AWS_SESSION_TOKEN=\n\
         set AWS_SECURITY_TOKEN=\n\
         set AWS_CREDENTIAL_EXPIRATION=\n"
    );
}

/// `%` and `!` expand inside `set "..."`, a `"` or a line break ends it, and cmd has no escape
/// for any of them: aws-cred must refuse, print nothing on stdout, name the variable and not
/// echo the value.
#[test]
fn cmd_format_refuses_percent_bang_quote_and_line_breaks() {
    let bad_bits = ["%", "%PATH%", "!", "!x!", "\"", "\n", "\r", "a\r\nb"];
    for bad in bad_bits {
        let value = format!("SeCrEt{bad}TaIl");
        for (variable, creds) in [
            (
                "AWS_ACCESS_KEY_ID",
                Creds::new("key", &value, "fine").token("fine"),
            ),
            (
                "AWS_SECRET_ACCESS_KEY",
                Creds::new("secret", "AKIAFINE", &value).token("fine"),
            ),
            (
                "AWS_SESSION_TOKEN",
                Creds::new("token", "AKIAFINE", "fine").token(&value),
            ),
            (
                "AWS_REGION",
                Creds::new("region", "AKIAFINE", "fine").region(&value),
            ),
        ] {
            let sb = Sandbox::new();
            let out = export(&sb, Feed::Env, &creds, "cmd");
            let what = format!("{variable} = {value:?}");
            assert!(
                !out.status.success() && out.status.code().is_some(),
                "{what}: expected a refusal, got {}\n{}",
                out.status,
                out.stdout_str()
            );
            assert_eq!(
                out.stdout_str(),
                failure_stdout("cmd"),
                "{what}: refused and printed {}",
                show(&out.stdout)
            );
            let err = out.stderr_str();
            assert!(
                err.contains(variable),
                "{what}: stderr does not name it:\n{err}"
            );
            assert!(
                err.contains("cmd"),
                "{what}: stderr does not name the format:\n{err}"
            );
            assert!(
                !err.contains("SeCrEt"),
                "{what}: stderr echoes the value:\n{err}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// dotenv
// ---------------------------------------------------------------------------------------------

#[test]
fn dotenv_format_prints_bare_or_single_quoted_lines() {
    let sb = Sandbox::new();
    let creds = Creds::new("dotenv", "AKIAEXAMPLE", "wJal/rX+U=tn.F_E:M@I-,K")
        .token("a b'c\\d $HOME")
        .region("eu-west-1");
    let out = export(&sb, Feed::Env, &creds, "dotenv");
    out.assert_success();
    assert_eq!(
        out.stdout_str(),
        "AWS_ACCESS_KEY_ID=AKIAEXAMPLE\n\
         AWS_SECRET_ACCESS_KEY=wJal/rX+U=tn.F_E:M@I-,K\n\
         AWS_SESSION_TOKEN='a b\\'c\\\\d $HOME'\n\
         AWS_REGION=eu-west-1\n\
         AWS_DEFAULT_REGION=eu-west-1\n"
    );

    // A .env file cannot unset anything: no lines for the absent token.
    let out = export(
        &sb,
        Feed::Env,
        &Creds::new("lt", "AKIALT", "s#;x"),
        "dotenv",
    );
    out.assert_success();
    assert_eq!(
        out.stdout_str(),
        "AWS_ACCESS_KEY_ID=AKIALT\nAWS_SECRET_ACCESS_KEY='s#;x'\n"
    );

    // Readers disagree about line breaks: refused, nothing on stdout.
    for bad in ["a\nb", "a\rb"] {
        let out = export(&sb, Feed::Env, &Creds::new("nl", "AKIA", bad), "dotenv");
        assert!(
            !out.status.success(),
            "{bad:?} accepted: {}",
            out.stdout_str()
        );
        assert!(
            out.stdout.is_empty(),
            "{bad:?}: printed {}",
            show(&out.stdout)
        );
        assert!(out.stderr_str().contains("AWS_SECRET_ACCESS_KEY"));
    }
}

/// Reads every file with python-dotenv: `{path: {"raw": {...}, "interpolated": {...}}}`, raw
/// with `interpolate=False`, interpolated with the library's default (`${VAR}` expansion).
const DOTENV_READER: &str = r#"
import json, sys
from dotenv import dotenv_values
out = {}
for path in sys.argv[1:]:
    out[path] = {
        "raw": dotenv_values(path, interpolate=False),
        "interpolated": dotenv_values(path),
    }
sys.stdout.write(json.dumps(out))
"#;

/// The venv's python, if it can import python-dotenv (pinned in .ci/requirements.txt, so
/// missing under CI is a failure).
fn python_with_dotenv() -> Option<PathBuf> {
    let python = require_venv_tool("python")?;
    let probe = run(Command::new(&python)
        .args(["-c", "import dotenv"])
        .env_clear()
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("LANG", "C.UTF-8"));
    if probe.status.success() {
        return Some(python);
    }
    assert!(
        !in_ci(),
        "python-dotenv is not importable in the venv ({}); CI=true, so this test must not be \
         skipped\n{}",
        python.display(),
        probe.stderr_str()
    );
    eprintln!(
        "skipping: python-dotenv is not importable in {}",
        python.display()
    );
    None
}

#[test]
fn dotenv_format_reads_back_exactly_with_python_dotenv() {
    let Some(python) = python_with_dotenv() else {
        return;
    };
    let sb = Sandbox::new();
    let mut files = Vec::new();
    for &feed in FEEDS {
        for (i, creds) in cases_for(feed).into_iter().enumerate() {
            // dotenv refuses line breaks (checked above).
            if creds.values().any(|v| v.contains(['\n', '\r'])) {
                continue;
            }
            let case_sb = Sandbox::new();
            let out = export(&case_sb, feed, &creds, "dotenv");
            // python-dotenv expands `${NAME}` even in single quotes, so dotenv refuses it.
            if creds.values().any(|v| v.contains("${")) {
                out.assert_code(2);
                assert!(out.stdout.is_empty());
                continue;
            }
            out.assert_success();
            let path = sb.write(&format!("dotenv/{feed:?}-{i}.env"), &out.stdout);
            files.push((path, creds, out.stdout));
        }
    }
    assert!(
        files.len() > 60,
        "test bug: only {} dotenv cases",
        files.len()
    );
    let out = run(Command::new(&python)
        .arg("-c")
        .arg(DOTENV_READER)
        .args(files.iter().map(|(path, _, _)| path))
        .env_clear()
        .env("HOME", sb.home())
        .env("LANG", "C.UTF-8")
        .env("PYTHONIOENCODING", "utf-8")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(sb.root()));
    out.assert_success();
    assert!(
        out.stderr.is_empty(),
        "python-dotenv complained:\n{}",
        out.stderr_str()
    );
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("reader's JSON");
    let mut interpolation_checked = 0;
    for (path, creds, text) in &files {
        let key = path.to_str().expect("UTF-8 path");
        let mut want = serde_json::Map::new();
        for (name, value) in creds.expected_vars() {
            if let Some(value) = value {
                want.insert(name.to_string(), value.into());
            }
        }
        let want = serde_json::Value::Object(want);
        assert_eq!(
            parsed[key]["raw"],
            want,
            "{}: python-dotenv (interpolate=False) read back something else from\n{}",
            creds.label,
            show(text)
        );
        // Values with `${` were refused above, so the default (interpolating) reader must read
        // every written value back too.
        assert_eq!(
            parsed[key]["interpolated"],
            want,
            "{}: python-dotenv (default) read back something else from\n{}",
            creds.label,
            show(text)
        );
        interpolation_checked += 1;
    }
    assert!(
        interpolation_checked > 40,
        "test bug: {interpolation_checked}"
    );
}

// ---------------------------------------------------------------------------------------------
// json
// ---------------------------------------------------------------------------------------------

#[test]
fn json_format_carries_every_value_exactly() {
    for &feed in FEEDS {
        for creds in cases_for(feed) {
            let sb = Sandbox::new();
            let out = export(&sb, feed, &creds, "json");
            out.assert_success();
            let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
                panic!("{}: not JSON ({e}):\n{}", creds.label, out.stdout_str())
            });
            let mut want = serde_json::json!({
                "Version": 1,
                "AccessKeyId": creds.key,
                "SecretAccessKey": creds.secret,
            });
            if let Some(token) = &creds.token {
                want["SessionToken"] = token.as_str().into();
            }
            assert_eq!(got, want, "{feed:?} feed, {}", creds.label);
            assert_nothing_ran(&sb, &creds.label);
        }
    }

    // An expiration in any offset comes out in UTC with a `Z`.
    let sb = Sandbox::new();
    let out = run(sb
        .cmd()
        .args(["export", "--format", "json"])
        .env("AWS_ACCESS_KEY_ID", "ASIA'x")
        .env("AWS_SECRET_ACCESS_KEY", "s\"\\\n")
        .env("AWS_SESSION_TOKEN", "t$(touch PWNED)")
        .env("AWS_CREDENTIAL_EXPIRATION", "2031-05-06T07:08:09+02:00"));
    out.assert_success();
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        got,
        serde_json::json!({
            "Version": 1,
            "AccessKeyId": "ASIA'x",
            "SecretAccessKey": "s\"\\",
            "SessionToken": "t$(touch PWNED)",
            "Expiration": "2031-05-06T05:08:09Z",
        })
    );
}

// ---------------------------------------------------------------------------------------------
// Failures
// ---------------------------------------------------------------------------------------------

/// What stdout carries when `export` fails in `format` (README, "A failed `eval` fails"): one
/// statement that fails and does nothing else; nothing for json and dotenv.
fn failure_stdout(format: &str) -> &'static str {
    match format {
        "sh" | "fish" => "false\n",
        "powershell" => "throw 'aws-cred failed: its error is above, nothing was set'\n",
        "cmd" => "cmd /d /c exit 1\n",
        _ => "",
    }
}

/// Whatever fails, stdout carries only the failing statement (sh here: `false`), or nothing
/// for json and dotenv, so `eval "$(aws-cred ...)"` runs nothing else and fails.
#[test]
fn failures_print_only_the_failing_statement() {
    let sb = Sandbox::new();
    sb.write_credentials("[base]\naws_access_key_id=AKIA\naws_secret_access_key=s\n");
    let cases: Vec<(&str, Output)> = vec![
        (
            "cmd refusal",
            export(&sb, Feed::Env, &Creds::new("c", "AKIA", "50%"), "cmd"),
        ),
        (
            "dotenv refusal",
            export(&sb, Feed::Env, &Creds::new("d", "AKIA", "a\nb"), "dotenv"),
        ),
        (
            "missing profile",
            sb.aws_cred(&["export", "--profile", "missing"]),
        ),
        (
            "only AWS_ACCESS_KEY_ID",
            run(sb.cmd().args(["export"]).env("AWS_ACCESS_KEY_ID", "AKIA")),
        ),
        (
            "no credentials anywhere",
            run(sb
                .cmd()
                .args(["export"])
                .env("AWS_SHARED_CREDENTIALS_FILE", sb.path("nowhere"))),
        ),
    ];
    for (what, out) in cases {
        assert!(
            !out.status.success() && out.status.code().is_some(),
            "{what}: expected a failure exit, got {}",
            out.status
        );
        let format = match what {
            "cmd refusal" => "cmd",
            "dotenv refusal" => "dotenv",
            _ => "sh",
        };
        assert_eq!(
            out.stdout_str(),
            failure_stdout(format),
            "{what}: printed {}",
            show(&out.stdout)
        );
        assert!(!out.stderr.is_empty(), "{what}: no message on stderr");
    }
    // Machine formats keep an empty stdout.
    let out = sb.aws_cred(&["export", "--profile", "missing", "--format", "json"]);
    out.assert_code(2);
    assert!(out.stdout.is_empty(), "{}", out.stdout_str());
}

/// Issue 23, item 3: in each real shell, the daily idiom stops a script when aws-cred fails
/// (before: `eval` of an empty string returned 0 and the script went on with whatever
/// credentials it had), and a successful one goes on with status 0.
#[test]
fn a_failed_eval_stops_a_script_in_every_shell() {
    let sb = Sandbox::new();
    sb.write_credentials("[base]\naws_access_key_id=AKIABASE\naws_secret_access_key=s\n");
    let bin = env!("CARGO_BIN_EXE_aws-cred");
    for shell in all_shells() {
        let script = |profile: &str| match shell.dialect {
            Dialect::Posix => format!(
                "set -e\neval \"$('{bin}' export --profile {profile})\"\necho \"went on as $AWS_ACCESS_KEY_ID\"\n"
            ),
            Dialect::Fish => format!(
                "'{bin}' export --profile {profile} --format fish | source; or exit 3\necho \"went on as $AWS_ACCESS_KEY_ID\"\n"
            ),
        };
        let failed = run(sb
            .program(&shell.path)
            .args(["-c", &script("missing")])
            .env("AWS_ACCESS_KEY_ID", "AKIAYESTERDAY"));
        assert!(
            !failed.status.success() && !failed.stdout_str().contains("went on"),
            "{}: the script went on after a failed export:\n{}{}",
            shell.name,
            failed.stdout_str(),
            failed.stderr_str()
        );
        if matches!(shell.dialect, Dialect::Fish) {
            assert_eq!(failed.code(), Some(3), "{}", shell.name);
        }
        let worked = run(sb.program(&shell.path).args(["-c", &script("base")]));
        worked.assert_success();
        assert_eq!(
            worked.stdout_str(),
            "went on as AKIABASE\n",
            "{}",
            shell.name
        );
    }
}

/// fish's idiom `aws-cred export --format fish | source; or exit 1` needs a successful source to
/// end with status 0, also when the lines unset variables that were never set.
#[test]
fn a_successful_fish_source_ends_with_status_0() {
    let Some(fish) = require_program("fish") else {
        return;
    };
    let sb = Sandbox::new();
    let creds = Creds::new("long-term keys", "AKIALONGTERM", "long/term+secret");
    let out = export(&sb, Feed::Env, &creds, "fish");
    out.assert_success();
    assert!(out.stdout_str().contains("set -e AWS_SESSION_TOKEN"));
    let input = sb.write("fish-input", &out.stdout);
    let mut cmd = shell_command(&sb, &fish);
    for (name, _) in STALE {
        cmd.env_remove(name);
    }
    let ran = run(cmd.arg("-c").arg(format!(
        "source {} ; or exit 9; echo status=$status",
        input.display()
    )));
    ran.assert_success();
    assert_eq!(ran.stdout_str().trim(), "status=0", "{}", ran.stderr_str());
}
