//! The Windows build, end to end: this Linux harness drives `aws-cred.exe` under wine against the
//! same loopback fakes and moto the Linux tests use. wine does not pass `HOME` or `USERPROFILE`
//! on (it sets `USERPROFILE` to its own `C:\users\<name>`), so each run names its sandbox's
//! files as Windows paths (`AWS_CONFIG_FILE=Z:\tmp\…\home\.aws\config`, the credentials
//! file and `AWS_CRED_CACHE_DIR` likewise); one test uses wine's `%USERPROFILE%\.aws` itself.
//!
//! The program is `$AWS_CRED_WINDOWS_EXE` (`bash scripts/windows.sh build --dev` prints it) run by
//! `$AWS_CRED_WINE` (default `target/windows/wine`, the wrapper the script makes). Without them
//! the tests are skipped, except under `CI=true`, where .ci/run builds both and a missing one is
//! a failure.

use crate::fakes::cognito as fake_cognito;
use crate::fakes::signin as fake_signin;
use crate::fakes::sso as fake_sso;
use crate::fakes::sts as fake_sts;
use crate::support;

use fake_sts::{CODE, FakeSts, StsRules};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use support::{OutputExt, Sandbox, run_with_timeout};

/// wine starts in about a second; a cold prefix can take ten.
const TIMEOUT: Duration = Duration::from_secs(120);

const KEY: &str = "AKIAWINDOWS000000001";
const SERIAL: &str = "arn:aws:iam::123456789012:mfa/yuki";

/// The program and the wine that runs it, or `None` (skip) outside CI.
fn windows() -> Option<(PathBuf, PathBuf)> {
    let exe = std::env::var_os("AWS_CRED_WINDOWS_EXE").map(PathBuf::from);
    let wine = std::env::var_os("AWS_CRED_WINE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/windows/wine"));
    match exe {
        Some(exe) if exe.is_file() && wine.is_file() => {
            start_wineserver(&wine);
            Some((exe, wine))
        }
        _ => {
            let why = "AWS_CRED_WINDOWS_EXE or the wine wrapper is missing (bash scripts/windows.sh build --dev; .ci/run sets both)";
            assert!(!support::in_ci(), "{why}");
            eprintln!("skipped: {why}");
            None
        }
    }
}

/// Start the wine server (and wine's own services) once, with nothing inherited, and keep it for
/// a minute after the last program: a server started by a test's own wine would hold that test's
/// output pipes open after the program ends.
fn start_wineserver(wine: &Path) {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let quiet = |cmd: &mut Command| {
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if let Ok(mut child) = cmd.spawn() {
                let _ = support::wait_bounded(&mut child, TIMEOUT);
            }
        };
        quiet(Command::new(wine).args(["wineserver", "-p60"]));
        quiet(Command::new(wine).args(["cmd", "/c", "exit"]));
    });
}

/// `path` as a Windows program sees it under wine (drive Z: is `/`).
fn win_path(path: &Path) -> String {
    format!("Z:{}", path.display()).replace('/', "\\")
}

struct Win {
    sb: Sandbox,
    exe: PathBuf,
    wine: PathBuf,
}

impl Win {
    fn new() -> Option<Win> {
        let (exe, wine) = windows()?;
        Some(Win {
            sb: Sandbox::new(),
            exe,
            wine,
        })
    }

    /// `aws-cred.exe` under wine with a cleared environment: the sandbox's config, credentials
    /// and cache as Windows paths, IMDS off, `NO_COLOR`; stdin null, working folder the home.
    fn cmd(&self) -> Command {
        let mut cmd = self.wine_cmd();
        cmd.arg(&self.exe);
        cmd
    }

    /// wine itself, with the sandbox's environment, to run another Windows program.
    fn wine_cmd(&self) -> Command {
        let mut cmd = Command::new(&self.wine);
        cmd.env_clear()
            .env("AWS_CONFIG_FILE", win_path(&self.sb.config_path()))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                win_path(&self.sb.credentials_path()),
            )
            .env("AWS_CRED_CACHE_DIR", win_path(&self.cache_dir()))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("NO_COLOR", "1")
            .current_dir(self.sb.home())
            .stdin(Stdio::null());
        if let Some(prefix) = std::env::var_os("WINEPREFIX") {
            cmd.env("WINEPREFIX", prefix);
        }
        cmd
    }

    fn cache_dir(&self) -> PathBuf {
        self.sb.home().join(".aws").join("aws-cred").join("cache")
    }

    fn run(&self, args: &[&str]) -> Output {
        run_with_timeout(self.cmd().args(args), TIMEOUT)
    }
}

fn rules() -> StsRules {
    let mut users = HashMap::new();
    users.insert(KEY.to_string(), ("yuki".to_string(), SERIAL.to_string()));
    StsRules {
        users,
        ..Default::default()
    }
}

/// Yuki's morning: keys in `[default]` of a credentials file the AWS CLI wrote on Windows (CRLF).
fn morning(win: &Win) {
    win.sb.write_credentials(&format!(
        "[default]\r\naws_access_key_id = {KEY}\r\naws_secret_access_key = yukisecret\r\nmfa_serial = {SERIAL}\r\n"
    ));
    win.sb
        .write_config("[default]\r\nregion = ap-northeast-1\r\noutput = json\r\n");
}

#[test]
fn files_are_found_under_userprofile_and_export_prints_every_format() {
    let Some(win) = Win::new() else { return };
    morning(&win);
    let json = win.run(&["export", "--format", "json"]);
    json.assert_success();
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["AccessKeyId"], KEY);
    assert_eq!(doc["SecretAccessKey"], "yukisecret");
    let ps = win.run(&["export", "--format", "powershell"]);
    ps.assert_success();
    assert!(
        ps.stdout_str()
            .contains("$Env:AWS_SECRET_ACCESS_KEY = 'yukisecret'"),
        "{}",
        ps.stdout_str()
    );
    let cmd = win.run(&["export", "--format", "cmd"]);
    cmd.assert_success();
    assert!(
        cmd.stdout_str()
            .contains("set \"AWS_SECRET_ACCESS_KEY=yukisecret\""),
        "{}",
        cmd.stdout_str()
    );
    assert!(
        cmd.stdout_str()
            .contains("set \"AWS_REGION=ap-northeast-1\"")
    );
}

#[test]
fn a_missing_profile_is_a_usage_error_naming_the_windows_path() {
    let Some(win) = Win::new() else { return };
    morning(&win);
    let out = win.run(&["export", "--profile", "nope", "--format", "json"]);
    out.assert_code(2);
    assert!(
        out.stdout.is_empty(),
        "nothing for eval: {}",
        out.stdout_str()
    );
    let err = out.stderr_str();
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn without_the_variables_the_files_are_under_userprofile() {
    let Some(win) = Win::new() else { return };
    morning(&win);
    // cmd sets what wine will not pass on (HOME, USERPROFILE) and clears the file variables.
    let out = win.run_in_profile(&[], &["export", "--format", "json"]);
    out.assert_success();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["AccessKeyId"], KEY);
    // A missing profile's message shows the Windows path with one kind of separator.
    let out = win.run_in_profile(&[], &["mfa", CODE, "--profile", "nope", "--format", "json"]);
    assert_ne!(out.code(), Some(0));
    let err = out.stderr_str();
    let expected = format!("{}\\.aws\\", win_path(win.sb.home()));
    assert!(err.contains(&expected) && !err.contains(".aws/"), "{err}");
    // Git Bash: HOME as an MSYS path comes first.
    let out = win.batch(
        &[],
        &format!(
        "set USERPROFILE=C:\\nowhere\r\nset HOME=/z{}\r\nset AWS_CONFIG_FILE=\r\nset AWS_SHARED_CREDENTIALS_FILE=\r\n\"{}\" export --format json",
        win.sb.home().display(),
        win_path(&win.exe)
    ));
    out.assert_success();
}

impl Win {
    /// Run a batch file of these lines (after `@echo off`) in wine's cmd, with these variables.
    fn batch(&self, env: &[(&str, &str)], body: &str) -> Output {
        let file = self.sb.write("run.cmd", format!("@echo off\r\n{body}\r\n"));
        let mut cmd = self.wine_cmd();
        for (k, v) in env {
            cmd.env(k, v);
        }
        run_with_timeout(cmd.args(["cmd", "/c", &win_path(&file)]), TIMEOUT)
    }
}

#[test]
fn mfa_caches_the_session_and_ten_parallel_runs_make_one_call() {
    let Some(win) = Win::new() else { return };
    morning(&win);
    let sts = FakeSts::start(rules());
    let children: Vec<_> = (0..10)
        .map(|_| {
            win.cmd()
                .env("AWS_ENDPOINT_URL_STS", sts.url())
                .args(["mfa", CODE, "--format", "json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect();
    for out in &outputs {
        out.assert_success();
        assert_eq!(out.stdout, outputs[0].stdout, "one session for all");
    }
    assert_eq!(sts.requests_for("GetSessionToken").len(), 1);
    // The next run reuses the cached session without a code or a call.
    let again = win.run_env(
        &[("AWS_ENDPOINT_URL_STS", &sts.url())],
        &["mfa", "--format", "json"],
    );
    again.assert_success();
    assert_eq!(again.stdout, outputs[0].stdout);
    assert_eq!(sts.requests_for("GetSessionToken").len(), 1);
    assert!(win.cache_dir().is_dir());
}

impl Win {
    fn run_env(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        let mut cmd = self.cmd();
        for (k, v) in env {
            cmd.env(k, v);
        }
        run_with_timeout(cmd.args(args), TIMEOUT)
    }
}

#[test]
fn write_profile_keeps_a_crlf_credentials_file_byte_for_byte() {
    let Some(win) = Win::new() else { return };
    morning(&win);
    let before = std::fs::read(win.sb.credentials_path()).unwrap();
    let sts = FakeSts::start(rules());
    let out = win.run_env(
        &[("AWS_ENDPOINT_URL_STS", &sts.url())],
        &["mfa", CODE, "--write-profile", "session"],
    );
    out.assert_success();
    assert!(out.stdout.is_empty(), "{}", out.stdout_str());
    let after = std::fs::read(win.sb.credentials_path()).unwrap();
    assert!(after.starts_with(&before), "every byte before is kept");
    let added = String::from_utf8(after[before.len()..].to_vec()).unwrap();
    assert!(added.contains("[session]\r\n"), "{added:?}");
    assert!(
        !added.replace("\r\n", "").contains('\n'),
        "CRLF only: {added:?}"
    );
    assert!(added.contains("aws_session_token = "), "{added:?}");
}

/// The variables a Windows child got, from `set` written to `file` by cmd.
fn cmd_set_output(path: &Path) -> HashMap<String, String> {
    let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_ascii_uppercase(), v.trim_end_matches('\r').to_string()))
        .collect()
}

#[test]
fn exec_runs_a_windows_child_with_the_credentials_and_passes_its_exit_code() {
    let Some(win) = Win::new() else { return };
    morning(&win);
    let out_file = win.sb.path("child-env.txt");
    let script = format!("set AWS_> {}& exit 7", win_path(&out_file));
    let out = win.run(&["exec", "--", "cmd", "/c", &script]);
    assert_eq!(out.code(), Some(7), "{}", out.stderr_str());
    let env = cmd_set_output(&out_file);
    assert_eq!(env.get("AWS_ACCESS_KEY_ID").map(String::as_str), Some(KEY));
    assert_eq!(
        env.get("AWS_SECRET_ACCESS_KEY").map(String::as_str),
        Some("yukisecret")
    );
    assert_eq!(
        env.get("AWS_REGION").map(String::as_str),
        Some("ap-northeast-1")
    );
    // A program that does not exist: the exec error, not a crash.
    let missing = win.run(&["exec", "--", "no-such-program-here.exe"]);
    assert_eq!(missing.code(), Some(127), "{}", missing.stderr_str());
    assert!(missing.stderr_str().contains("no-such-program-here"));
}

#[test]
fn credential_process_runs_a_windows_program_without_a_shell() {
    let Some(win) = Win::new() else { return };
    let json = win.sb.write(
        "process out.json",
        r#"{"Version": 1, "AccessKeyId": "AKIAFROMPROCESS00001", "SecretAccessKey": "s&e^c%r"}"#,
    );
    // A path with a space, quoted the Windows way; `type` is a cmd builtin, so cmd runs it.
    win.sb.write_config(&format!(
        "[profile vault]\r\ncredential_process = cmd /c type \"{}\"\r\n",
        win_path(&json)
    ));
    let out = win.run(&["export", "--profile", "vault", "--format", "json"]);
    out.assert_success();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["AccessKeyId"], "AKIAFROMPROCESS00001");
    assert_eq!(doc["SecretAccessKey"], "s&e^c%r");
    // An unclosed quote is refused before anything runs, naming the profile.
    win.sb
        .write_config("[profile broken]\r\ncredential_process = cmd /c \"type x\r\n");
    let out = win.run(&["export", "--profile", "broken", "--format", "json"]);
    assert_ne!(out.code(), Some(0));
    assert!(out.stdout.is_empty());
    let err = out.stderr_str();
    assert!(err.contains("broken") && err.contains("quote"), "{err}");
}

#[test]
fn credential_process_time_limit_ends_the_whole_tree() {
    let Some(win) = Win::new() else { return };
    // cmd starts a second cmd that loops for ever.
    win.sb.write_config(
        "[profile slow]\r\ncredential_process = cmd /c cmd /c \"for /l %i in (0,0,1) do @rem\"\r\n",
    );
    let started = std::time::Instant::now();
    let out = run_with_timeout(
        win.cmd().env("AWS_CRED_PROCESS_TIMEOUT", "2").args([
            "export",
            "--profile",
            "slow",
            "--format",
            "json",
        ]),
        TIMEOUT,
    );
    assert_eq!(out.code(), Some(1), "{}", out.stderr_str());
    assert!(
        out.stderr_str().contains("did not finish within 2 s"),
        "{}",
        out.stderr_str()
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn status_lists_profiles_and_an_expired_session_exits_4() {
    let Some(win) = Win::new() else { return };
    win.sb.write_credentials(&format!(
        "[default]\r\naws_access_key_id = {KEY}\r\naws_secret_access_key = yukisecret\r\n\r\n\
         [old]\r\naws_access_key_id = ASIAOLD0000000000001\r\naws_secret_access_key = s\r\naws_session_token = t\r\naws_cred_expiration = 2020-01-01T00:00:00Z\r\n"
    ));
    let status = win.run(&["status", "--json"]);
    status.assert_success();
    let doc: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let text = doc.to_string();
    assert!(
        text.contains("\"default\"") && text.contains("\"old\""),
        "{text}"
    );
    let expired = win.run(&["export", "--profile", "old", "--format", "json"]);
    expired.assert_code(4);
    assert!(expired.stdout.is_empty());
}

#[test]
fn the_default_format_is_the_shells() {
    let Some(win) = Win::new() else { return };
    morning(&win);
    // Git Bash: MSYSTEM is set.
    let out = win.run_env(&[("MSYSTEM", "MINGW64")], &["export"]);
    out.assert_success();
    assert!(
        out.stdout_str()
            .contains("export AWS_SECRET_ACCESS_KEY='yukisecret'"),
        "{}",
        out.stdout_str()
    );
    // From cmd: cmd's format.
    let exe = win_path(&win.exe);
    let out = run_with_timeout(win.wine_cmd().args(["cmd", "/c", &exe, "export"]), TIMEOUT);
    out.assert_success();
    assert!(
        out.stdout_str()
            .contains("set \"AWS_SECRET_ACCESS_KEY=yukisecret\""),
        "{}",
        out.stdout_str()
    );
    // Anything else (here wine's start-up): PowerShell.
    let out = win.run(&["export"]);
    out.assert_success();
    assert!(
        out.stdout_str()
            .contains("$Env:AWS_SECRET_ACCESS_KEY = 'yukisecret'"),
        "{}",
        out.stdout_str()
    );
}

/// A PowerShell line `$Env:NAME = '…'` read by PowerShell's grammar for verbatim strings: any of
/// the single-quote characters ends it, and two of them in a row stand for one.
fn powershell_assignment(line: &str) -> Option<(String, String)> {
    const QUOTES: [char; 5] = ['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];
    let rest = line.strip_prefix("$Env:")?;
    let (name, rest) = rest.split_once(" = ")?;
    let mut chars = rest.chars().peekable();
    if !QUOTES.contains(&chars.next()?) {
        return None;
    }
    let mut value = String::new();
    while let Some(c) = chars.next() {
        if QUOTES.contains(&c) {
            match chars.peek() {
                Some(next) if QUOTES.contains(next) => {
                    value.push(*next);
                    chars.next();
                }
                // The closing quote: nothing may follow on the line.
                _ => return chars.next().is_none().then(|| (name.to_string(), value)),
            }
        } else {
            value.push(c);
        }
    }
    None
}

#[test]
fn hostile_values_survive_powershell_cmd_and_git_bash_quoting() {
    let Some(win) = Win::new() else { return };
    // A session token as hostile as a file can hold: PowerShell's $ and backtick, both quotes,
    // the smart quotes PowerShell also reads as quotes, cmd's specials, spaces, non-ASCII.
    let token = "a$b`c'd\"e f%g!h&i^j<k>l|m(n)o ‘p’ 東京 ü";
    win.sb.write_credentials(&format!(
        "[default]\r\naws_access_key_id = ASIAHOSTILE000000001\r\naws_secret_access_key = s$e`c'r\"e t\r\naws_session_token = {token}\r\n"
    ));
    // PowerShell, by its grammar.
    let ps = win.run(&["export", "--format", "powershell"]);
    ps.assert_success();
    let vars: HashMap<String, String> = ps
        .stdout_str()
        .lines()
        .filter(|line| line.starts_with("$Env:"))
        .map(|line| {
            powershell_assignment(line).unwrap_or_else(|| panic!("not one assignment: {line}"))
        })
        .collect();
    assert_eq!(vars["AWS_SESSION_TOKEN"], token);
    assert_eq!(vars["AWS_SECRET_ACCESS_KEY"], "s$e`c'r\"e t");
    // Git Bash: the sh lines, evaluated by a POSIX shell.
    let sh = win.run(&["export", "--format", "sh"]);
    sh.assert_success();
    let shell = std::process::Command::new("sh")
        .arg("-c")
        .arg("eval \"$1\"; printf '%s\\n%s' \"$AWS_SESSION_TOKEN\" \"$AWS_SECRET_ACCESS_KEY\"")
        .arg("sh")
        .arg(sh.stdout_str())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&shell.stdout),
        format!("{token}\ns$e`c'r\"e t")
    );
    // cmd cannot carry % ! or " inside set "K=v": refused with nothing on stdout.
    let cmd = win.run(&["export", "--format", "cmd"]);
    assert_eq!(cmd.code(), Some(2), "{}", cmd.stderr_str());
    assert_eq!(cmd.stdout_str().trim_end(), "cmd /d /c exit 1");
}

/// Issue 23, item 3, in cmd itself: a failed export leaves ERRORLEVEL 1 after the `for /f`
/// (the statement README names), sets nothing, and does not end the batch on its own.
#[test]
fn a_failed_export_sets_errorlevel_in_cmd() {
    let Some(win) = Win::new() else { return };
    let out_file = win.sb.path("cmd-after.txt");
    let out = win.batch(
        &[],
        &format!(
            "set AWS_ACCESS_KEY_ID=YESTERDAY\r\nfor /f \"delims=\" %%i in ('\"{}\" export --profile nope') do %%i\r\nif errorlevel 1 (echo failed %AWS_ACCESS_KEY_ID%> \"{out}\") else (echo went on> \"{out}\")",
            win_path(&win.exe),
            out = win_path(&out_file)
        ),
    );
    // The batch ends with ERRORLEVEL still 1 (echo does not reset it).
    out.assert_code(1);
    assert_eq!(
        std::fs::read_to_string(&out_file)
            .unwrap_or_default()
            .trim_end(),
        "failed YESTERDAY",
        "{}",
        out.stderr_str()
    );
}

#[test]
fn cmd_lines_set_what_they_say_in_cmd_itself() {
    let Some(win) = Win::new() else { return };
    // What cmd can carry: its specials inside the quotes, spaces, parentheses. No --format: the
    // morning routine of README, where cmd (the parent) picks the format.
    let token = "a&b^c<d>e|f(g)h i'j";
    win.sb.write_credentials(&format!(
        "[default]\r\naws_access_key_id = ASIACMD0000000000001\r\naws_secret_access_key = plain\r\naws_session_token = {token}\r\n"
    ));
    let out_file = win.sb.path("cmd-env.txt");
    let out = win.batch(
        &[],
        &format!(
            "for /f \"delims=\" %%i in ('\"{}\" export') do %%i\r\nset AWS_> \"{}\"",
            win_path(&win.exe),
            win_path(&out_file)
        ),
    );
    out.assert_success();
    let env = cmd_set_output(&out_file);
    assert_eq!(
        env.get("AWS_SESSION_TOKEN").map(String::as_str),
        Some(token)
    );
    assert_eq!(
        env.get("AWS_ACCESS_KEY_ID").map(String::as_str),
        Some("ASIACMD0000000000001")
    );
}

#[test]
fn keys_live_in_the_credential_manager() {
    let Some(win) = Win::new() else { return };
    let sts = FakeSts::start(rules());
    // Unique per run: the prefix's Credential Manager outlives the sandbox.
    let profile = format!("win-{}", std::process::id());
    let with_sts = |cmd: &mut Command| {
        cmd.env("AWS_ENDPOINT_URL_STS", sts.url())
            .env("AWS_ENDPOINT_URL_IAM", sts.url());
    };
    let mut add = win.cmd();
    with_sts(&mut add);
    let out = support::run_with_input(
        add.args(["keys", "add", "--profile", &profile, "--stdin"]),
        format!("{KEY}\nyukisecret\n").as_bytes(),
    );
    out.assert_success();
    assert!(!out.stderr_str().contains("yukisecret"));
    let mut list = win.cmd();
    with_sts(&mut list);
    let listed = run_with_timeout(list.args(["keys", "list"]), TIMEOUT);
    listed.assert_success();
    assert!(
        listed
            .stdout_str()
            .contains(&format!("{profile}\tAKIA****0001")),
        "{}",
        listed.stdout_str()
    );
    // The profile now names the keyring entry, and the chain reads the stored key from it.
    let config = std::fs::read_to_string(win.sb.config_path()).unwrap();
    assert!(config.contains("keys process"), "{config}");
    assert!(!config.contains("yukisecret"), "{config}");
    let mut export = win.cmd();
    with_sts(&mut export);
    let out = run_with_timeout(
        export.args(["export", "--profile", &profile, "--format", "json"]),
        TIMEOUT,
    );
    out.assert_success();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["SecretAccessKey"], "yukisecret");
    let mut remove = win.cmd();
    with_sts(&mut remove);
    let out = run_with_timeout(
        remove.args(["keys", "remove", "--profile", &profile, "--yes"]),
        TIMEOUT,
    );
    out.assert_success();
    let mut list = win.cmd();
    with_sts(&mut list);
    let listed = run_with_timeout(list.args(["keys", "list"]), TIMEOUT);
    assert!(
        !listed.stdout_str().contains(&profile),
        "{}",
        listed.stdout_str()
    );
}

impl Win {
    /// Run aws-cred.exe from a batch file that sets `USERPROFILE` to the sandbox home and clears
    /// the file variables, so everything under `%USERPROFILE%\.aws` (the SSO cache too) is the
    /// sandbox's. `args` must need no quoting beyond double quotes.
    fn run_in_profile(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        for arg in args {
            assert!(
                !arg.contains(['%', '"', '!', '^', '&', '|', '<', '>']),
                "{arg}"
            );
        }
        let quoted: Vec<String> = args.iter().map(|a| format!("\"{a}\"")).collect();
        self.batch(
            env,
            &format!(
                "set USERPROFILE={}\r\nset AWS_CONFIG_FILE=\r\nset AWS_SHARED_CREDENTIALS_FILE=\r\nset AWS_CRED_CACHE_DIR=\r\n\"{}\" {}",
                win_path(self.sb.home()),
                win_path(&self.exe),
                quoted.join(" ")
            ),
        )
    }
}

#[test]
fn sso_login_with_a_device_code_writes_the_aws_cli_cache_under_userprofile() {
    let Some(win) = Win::new() else { return };
    win.sb.write_config(
        "[sso-session corp]\r\nsso_start_url = https://corp.awsapps.com/start\r\nsso_region = us-east-1\r\nsso_registration_scopes = sso:account:access\r\n\r\n\
         [profile dev]\r\nsso_session = corp\r\nsso_account_id = 111111111111\r\nsso_role_name = PowerUserAccess\r\nregion = ap-northeast-1\r\n",
    );
    let fake = fake_sso::FakeSso::start(fake_sso::SsoRules::default());
    let url = fake.url();
    let env = [
        ("AWS_ENDPOINT_URL_SSO_OIDC", url.as_str()),
        ("AWS_ENDPOINT_URL_SSO", url.as_str()),
        ("AWS_CRED_SSO_POLL_MS", "20"),
        ("AWS_CRED_SSO_LOGIN_TIMEOUT", "30"),
    ];
    let out = win.run_in_profile(
        &env,
        &[
            "sso-login",
            "--profile",
            "dev",
            "--use-device-code",
            "--no-browser",
            "--format",
            "json",
        ],
    );
    out.assert_success();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["AccessKeyId"].is_string(), "{doc}");
    assert!(out.stderr_str().contains(fake_sso::USER_CODE));
    // The token, where the AWS CLI keeps it (sha1 of the session name).
    let token = win
        .sb
        .home_path(".aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json");
    let cached: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&token).unwrap()).unwrap();
    assert!(cached["accessToken"].is_string() && cached["refreshToken"].is_string());
    assert_eq!(fake.calls("StartDeviceAuthorization"), 1);
    // A second export uses the cached token: no new sign-in.
    let out = win.run_in_profile(&env, &["export", "--profile", "dev", "--format", "json"]);
    out.assert_success();
    assert_eq!(fake.calls("StartDeviceAuthorization"), 1);
}

#[test]
fn login_remote_signs_in_with_a_pasted_code_and_writes_the_profile() {
    let Some(win) = Win::new() else { return };
    let signin = fake_signin::FakeSignin::start(fake_signin::SigninRules::default());
    win.sb.write_config(
        "[default]\r\nregion = ap-northeast-1\r\n\r\n[profile console]\r\noutput = json\r\n",
    );
    let cache_dir = win.sb.home().join(".aws").join("login").join("cache");
    let child = win
        .cmd()
        .env("AWS_ENDPOINT_URL_SIGNIN", signin.url())
        .env("AWS_ENDPOINT_URL_STS", signin.url())
        .env("AWS_LOGIN_CACHE_DIRECTORY", win_path(&cache_dir))
        .args([
            "login",
            "--profile",
            "console",
            "--remote",
            "--region",
            "eu-west-1",
            "--format",
            "json",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The person opens the URL on another device and pastes the code it shows.
    let out = signin.answer_remote_login(child, None);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_str());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["AccessKeyId"].is_string(), "{doc}");
    let config = std::fs::read_to_string(win.sb.config_path()).unwrap();
    assert!(
        config.contains(&format!("login_session = {}\r\n", fake_signin::SESSION_ARN)),
        "the profile is edited in place, CRLF kept: {config:?}"
    );
    let cached = std::fs::read_dir(&cache_dir).unwrap().count();
    assert_eq!(cached, 1, "one cache file");
}

#[test]
fn exec_server_serves_a_client_that_refreshes_across_expiries() {
    use std::io::Write;
    let Some(win) = Win::new() else { return };
    let Some(python) = support::require_venv_tool("python") else {
        return;
    };
    let mut rules = rules();
    rules.role_lifetime = Some(Duration::from_secs(6));
    let sts = FakeSts::start(rules);
    win.sb.write_credentials(&format!(
        "[base]\r\naws_access_key_id = {KEY}\r\naws_secret_access_key = yukisecret\r\n"
    ));
    win.sb.write_config(
        "[profile admin]\r\nrole_arn = arn:aws:iam::123456789012:role/Admin\r\nsource_profile = base\r\nregion = us-east-1\r\n",
    );
    // The command: a Windows program that records its environment, then waits for a line.
    let env_file = win.sb.path("server-env.txt");
    let script = format!("set AWS_> {}& set /p x=", win_path(&env_file));
    let mut child = win
        .cmd()
        .env("AWS_ENDPOINT_URL_STS", sts.url())
        .args([
            "exec",
            "--server",
            "--profile",
            "admin",
            "--",
            "cmd",
            "/c",
            &script,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let env = loop {
        let env = std::fs::read(&env_file)
            .ok()
            .map(|_| cmd_set_output(&env_file))
            .filter(|env| env.contains_key("AWS_CONTAINER_AUTHORIZATION_TOKEN"));
        if let Some(env) = env {
            break env;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the command never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!env.contains_key("AWS_ACCESS_KEY_ID"), "{env:?}");
    // A Linux botocore client, through the Windows server, across three role expiries.
    let client = win.sb.write("client.py", fake_sts::BOTOCORE_STS_CLIENT);
    let out = run_with_timeout(
        Command::new(python)
            .arg(&client)
            .arg("18")
            .env_clear()
            .env(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                &env["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
            )
            .env(
                "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                &env["AWS_CONTAINER_AUTHORIZATION_TOKEN"],
            )
            .env("AWS_ENDPOINT_URL_STS", sts.url())
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("HOME", win.sb.home()),
        Duration::from_secs(60),
    );
    out.assert_success();
    let summary: serde_json::Value = serde_json::from_str(out.stdout_str().trim()).unwrap();
    sts.assert_refreshed_across_expiries(&summary, (0, 0));
    // The command ends when it reads a line; the server ends with it, with its exit code.
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin).unwrap();
    drop(stdin);
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "exec --server did not end"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
}

#[test]
fn cognito_signs_a_user_in_with_srp_and_prints_powershell_lines() {
    use fake_cognito::{CLIENT_ID, Config, FakeCognito, IDENTITY_POOL_ID, POOL_ID, User};
    let Some(win) = Win::new() else { return };
    let password = "Yuki-Passw0rd!";
    let fake = FakeCognito::start(Config {
        users: vec![User::new("yuki", password)],
        ..Config::default()
    });
    win.sb.write_config(&format!(
        "[profile myapp]\r\nregion = us-east-1\r\ncognito_user_pool_id = {POOL_ID}\r\ncognito_client_id = {CLIENT_ID}\r\ncognito_identity_pool_id = {IDENTITY_POOL_ID}\r\n"
    ));
    let out = run_with_timeout(
        win.cmd()
            .env("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", fake.url())
            .env("AWS_ENDPOINT_URL_COGNITO_IDENTITY", fake.url())
            .env("AWS_CRED_COGNITO_PASSWORD", password)
            .args([
                "cognito",
                "--user",
                "yuki",
                "--profile",
                "myapp",
                "--format",
                "powershell",
            ]),
        TIMEOUT,
    );
    out.assert_success();
    assert!(!out.stderr_str().contains(password));
    let vars: HashMap<String, String> = out
        .stdout_str()
        .lines()
        .filter(|line| line.starts_with("$Env:"))
        .map(|line| powershell_assignment(line).unwrap_or_else(|| panic!("{line}")))
        .collect();
    assert!(vars["AWS_ACCESS_KEY_ID"].starts_with("ASIA"), "{vars:?}");
    assert!(!vars["AWS_SESSION_TOKEN"].is_empty());
    assert_eq!(fake.count("InitiateAuth"), 1, "{:?}", fake.operations());
}

#[test]
fn the_morning_routine_against_moto_in_powershell_and_git_bash() {
    let Some(win) = Win::new() else { return };
    let Some(moto) = support::Moto::start() else {
        return;
    };
    morning(&win);
    let whoami_with = |vars: &HashMap<String, String>| {
        let mut cmd = win.cmd();
        cmd.env("AWS_ENDPOINT_URL", moto.url());
        for name in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
        ] {
            cmd.env(name, &vars[name]);
        }
        let out = run_with_timeout(cmd.args(["whoami", "--json"]), TIMEOUT);
        out.assert_success();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            doc["arn"].as_str().unwrap().starts_with("arn:aws:"),
            "{doc}"
        );
        assert_eq!(doc["source"]["link"], "env", "{doc}");
    };
    // PowerShell: `aws-cred mfa 123456 | Invoke-Expression`, read by PowerShell's grammar.
    let ps = win.run_env(
        &[("AWS_ENDPOINT_URL", &moto.url())],
        &["mfa", CODE, "--format", "powershell"],
    );
    ps.assert_success();
    let vars: HashMap<String, String> = ps
        .stdout_str()
        .lines()
        .filter(|line| line.starts_with("$Env:"))
        .map(|line| powershell_assignment(line).unwrap_or_else(|| panic!("{line}")))
        .collect();
    // moto's session: its fixed example key, with a token (not the long-term key).
    assert_ne!(vars["AWS_ACCESS_KEY_ID"], KEY, "{vars:?}");
    assert!(!vars["AWS_SESSION_TOKEN"].is_empty(), "{vars:?}");
    whoami_with(&vars);
    // Git Bash: `eval "$(aws-cred mfa 123456)"` (MSYSTEM picks sh); the cached session again.
    let sh = win.run_env(
        &[("AWS_ENDPOINT_URL", &moto.url()), ("MSYSTEM", "MINGW64")],
        &["mfa"],
    );
    sh.assert_success();
    let shell = Command::new("sh")
        .arg("-c")
        .arg("eval \"$1\" && env")
        .arg("sh")
        .arg(sh.stdout_str())
        .env_clear()
        .output()
        .unwrap();
    assert!(shell.status.success());
    let from_sh: HashMap<String, String> = String::from_utf8_lossy(&shell.stdout)
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(
        from_sh["AWS_ACCESS_KEY_ID"], vars["AWS_ACCESS_KEY_ID"],
        "one cached session"
    );
    whoami_with(&from_sh);
}
