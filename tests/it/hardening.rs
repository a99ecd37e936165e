//! Hardening: crashes and full disks never corrupt the credentials file, concurrent writers
//! lose nothing, secrets never reach stderr, and network faults end in clear, bounded errors.

use crate::support;

use std::process::Stdio;
use std::time::{Duration, Instant};
use support::{FakeHttp, OutputExt, Response, Sandbox, run};

/// A credentials file big enough that writing it takes a moment, so kills land mid-write.
fn big_credentials() -> String {
    let mut text = String::from(
        "# team file\n[keep]\naws_access_key_id = AKIAKEEP\naws_secret_access_key = s\n\n",
    );
    for i in 0..20_000 {
        text.push_str(&format!(
            "# padding line {i} so the write takes a while ..................\n"
        ));
    }
    text.push_str("[victim]\naws_access_key_id = ASIAOLD\naws_secret_access_key = old\naws_session_token = old\n");
    text
}

fn write_victim(sb: &Sandbox, key: &str) -> std::process::Command {
    let mut cmd = sb.cmd();
    cmd.env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", "newsecret")
        .env("AWS_SESSION_TOKEN", "newtoken")
        .args(["export", "--write-profile", "victim"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

#[test]
fn sigkill_at_any_point_leaves_the_old_or_the_new_file() {
    let sb = Sandbox::new();
    let original = big_credentials();
    sb.write_credentials(&original);
    // The complete result of one write, made undisturbed in a twin sandbox.
    let twin = Sandbox::new();
    twin.write_credentials(&original);
    let started = Instant::now();
    assert!(write_victim(&twin, "ASIANEW").status().unwrap().success());
    // How long one whole run takes; kills are spread over twice that.
    let span = started.elapsed().as_micros() as u64 * 2;
    let expected_new = twin.read("home/.aws/credentials");
    assert_ne!(expected_new, original);

    let mut saw_old = 0;
    let mut saw_new = 0;
    for i in 0..40u64 {
        sb.write_credentials(&original);
        let mut child = write_victim(&sb, "ASIANEW").spawn().unwrap();
        // Kill after a varying delay: before, during and after the write.
        std::thread::sleep(Duration::from_micros(span * i / 40));
        let _ = child.kill();
        let _ = child.wait();
        let now = sb.read("home/.aws/credentials");
        if now == original {
            saw_old += 1;
        } else if now == expected_new {
            saw_new += 1;
        } else {
            panic!(
                "kill #{i} left a file that is neither the old nor the new one ({} bytes)",
                now.len()
            );
        }
    }
    eprintln!("old {saw_old}, new {saw_new}");
    assert_eq!(saw_old + saw_new, 40);
    assert!(
        saw_old > 0 && saw_new > 0,
        "kills must land before and after the rename"
    );
}

#[test]
fn file_size_limit_leaves_the_original_and_says_so() {
    let sb = Sandbox::new();
    let original = big_credentials();
    sb.write_credentials(&original);
    let exe = env!("CARGO_BIN_EXE_aws-cred");
    // ulimit -f 16: at most 8-16 KiB per file (dash counts 512-byte blocks, bash 1 KiB), far
    // less than the file, so the temporary copy cannot be written.
    let out = run(std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -f 16; exec \"$EXE\" export --write-profile victim")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("EXE", exe)
        .env("HOME", sb.home())
        .env("AWS_SHARED_CREDENTIALS_FILE", sb.credentials_path())
        .env("AWS_CONFIG_FILE", sb.config_path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "ASIANEW")
        .env("AWS_SECRET_ACCESS_KEY", "newsecret")
        .env("AWS_SESSION_TOKEN", "newtoken"));
    out.assert_code(1);
    out.assert_failed_eval();
    let err = out.stderr_str();
    assert!(
        err.contains(&sb.credentials_path().display().to_string()) || err.contains(".aws"),
        "{err}"
    );
    assert!(
        err.to_lowercase().contains("unchanged") || err.to_lowercase().contains("intact"),
        "{err}"
    );
    assert_eq!(sb.read("home/.aws/credentials"), original);
}

#[test]
fn read_only_aws_directory_gives_a_clear_error() {
    let Some(setpriv) = support::require_program("setpriv") else {
        return;
    };
    let sb = Sandbox::new();
    sb.write_credentials("[keep]\naws_access_key_id = AKIAKEEP\naws_secret_access_key = s\n");
    use std::os::unix::fs::PermissionsExt;
    // World-readable, writable by nobody but root; the writer runs as `nobody`.
    for dir in [sb.root(), sb.home()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let aws_dir = sb.home().join(".aws");
    std::fs::set_permissions(&aws_dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    std::fs::set_permissions(
        sb.credentials_path(),
        std::fs::Permissions::from_mode(0o444),
    )
    .unwrap();
    let exe = env!("CARGO_BIN_EXE_aws-cred");
    let out = run(std::process::Command::new(setpriv)
        .args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            exe,
            "export",
            "--write-profile",
            "new",
        ])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("HOME", sb.home())
        .env("AWS_SHARED_CREDENTIALS_FILE", sb.credentials_path())
        .env("AWS_CONFIG_FILE", sb.config_path())
        .env("AWS_CRED_CACHE_DIR", sb.root().join("cache"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "ASIANEW")
        .env("AWS_SECRET_ACCESS_KEY", "newsecret"));
    std::fs::set_permissions(&aws_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    out.assert_code(1);
    let err = out.stderr_str();
    assert!(
        err.to_lowercase().contains("permission") || err.contains("read-only"),
        "{err}"
    );
    assert!(err.contains(".aws"), "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn fifty_concurrent_writers_lose_nothing() {
    let sb = Sandbox::new();
    sb.write_credentials(
        "# shared\n[keep]\naws_access_key_id = AKIAKEEP\naws_secret_access_key = s\n",
    );
    let children: Vec<_> = (0..50)
        .map(|i| {
            sb.cmd()
                .env("AWS_ACCESS_KEY_ID", format!("ASIA{i:05}"))
                .env("AWS_SECRET_ACCESS_KEY", "s")
                .env("AWS_SESSION_TOKEN", "t")
                .args(["export", "--write-profile", &format!("w{i}")])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = sb.read("home/.aws/credentials");
    assert!(text.starts_with("# shared\n[keep]\n"));
    for i in 0..50 {
        assert_eq!(text.matches(&format!("[w{i}]\n")).count(), 1, "w{i}");
        assert!(text.contains(&format!("ASIA{i:05}")));
    }
}

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY";
const TOKEN: &str = "IQoJb3JpZ2luX2VjSESSIONTOKENVALUE";

fn assert_no_secret(what: &str, out: &std::process::Output) {
    let err = out.stderr_str();
    for secret in [
        SECRET,
        TOKEN,
        "sessionsecret",
        "sessiontoken",
        "rolesecret",
        "roletoken",
        "alicesecret",
    ] {
        assert!(
            !err.contains(secret),
            "{what}: stderr leaks {secret}:\n{err}"
        );
    }
}

#[test]
fn no_subcommand_prints_a_secret_to_stderr() {
    let sb = Sandbox::new();
    sb.write_credentials(&format!(
        "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = {SECRET}\naws_session_token = {TOKEN}\n\
         [prod-long-term]\naws_access_key_id = AKIAALICE00000000001\naws_secret_access_key = alicesecret\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\n"
    ));
    sb.write_config(
        "[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/Admin\nsource_profile = base\n",
    );
    let refused = FakeHttp::new(|_| {
        Response::xml(
            403,
            "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>nope</Message></Error></ErrorResponse>",
        )
    });
    let down = format!("http://127.0.0.1:{}", support::free_port());
    for endpoint in [refused.url(), down] {
        for args in [
            &[
                "export",
                "--profile",
                "base",
                "--explain",
                "--format",
                "json",
            ][..],
            &["export", "--profile", "admin", "--explain"],
            &["whoami", "--profile", "base", "--explain"],
            &["whoami", "--profile", "admin", "--explain", "--json"],
            &["mfa", "123456", "--profile", "prod"],
            &[
                "mfa",
                "123456",
                "--profile",
                "prod",
                "--write-profile",
                "prod",
                "--format",
                "json",
            ],
            &["exec", "--profile", "admin", "--", "true"],
            &["console", "--profile", "base", "--print"],
            &[
                "console",
                "--profile",
                "admin",
                "--print",
                "--duration",
                "3600",
            ],
        ] {
            let out = run(sb
                .cmd()
                .env("AWS_ENDPOINT_URL", &endpoint)
                .env("AWS_CRED_READ_TIMEOUT", "2")
                .args(args));
            assert_no_secret(&format!("{args:?} against {endpoint}"), &out);
        }
    }
    // Successful runs too: the values go to stdout only.
    let out = sb.aws_cred(&["export", "--profile", "base", "--explain"]);
    out.assert_success();
    assert!(out.stdout_str().contains(SECRET));
    assert_no_secret("export --explain", &out);
    // Env credentials with a malformed expiration: the error names the variable, not the keys.
    let out = run(sb
        .cmd()
        .env("AWS_ACCESS_KEY_ID", "AKIAENV")
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_SESSION_TOKEN", TOKEN)
        .env("AWS_CREDENTIAL_EXPIRATION", "tomorrow")
        .args(["export", "--explain"]));
    out.assert_code(2);
    assert_no_secret("bad expiration", &out);
}

fn identity_xml() -> &'static str {
    "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/retry</Arn><UserId>AIDA</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
}

fn static_profile(sb: &Sandbox) {
    sb.write_credentials("[default]\naws_access_key_id = AKIA\naws_secret_access_key = s\n");
}

#[test]
fn server_errors_and_throttling_are_retried_within_a_bound() {
    for (status, code) in [
        (503, "ServiceUnavailable"),
        (400, "Throttling"),
        (500, "InternalError"),
    ] {
        let sb = Sandbox::new();
        static_profile(&sb);
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = calls.clone();
        let fake = FakeHttp::new(move |_| {
            if seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2 {
                Response::xml(
                    status,
                    &format!(
                        "<ErrorResponse><Error><Type>Receiver</Type><Code>{code}</Code><Message>try later</Message></Error></ErrorResponse>"
                    ),
                )
            } else {
                Response::xml(200, identity_xml())
            }
        });
        let out = run(sb
            .cmd()
            .env("AWS_ENDPOINT_URL_STS", fake.url())
            .args(["whoami", "--short"]));
        out.assert_success();
        assert_eq!(
            fake.requests().len(),
            3,
            "{code}: two failures, then success"
        );
    }
    // Always failing: gives up after the bound (3 attempts) with the code in the message.
    let sb = Sandbox::new();
    static_profile(&sb);
    let fake = FakeHttp::new(|_| {
        Response::xml(
            503,
            "<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code><Message>down</Message></Error></ErrorResponse>",
        )
    });
    let out = run(sb
        .cmd()
        .env("AWS_ENDPOINT_URL_STS", fake.url())
        .args(["whoami"]));
    out.assert_code(1);
    assert_eq!(fake.requests().len(), 3);
    assert!(out.stderr_str().contains("ServiceUnavailable"));
}

#[test]
fn a_server_that_never_answers_is_cut_off_with_a_clear_message() {
    let sb = Sandbox::new();
    static_profile(&sb);
    let hole = FakeHttp::blackhole();
    let started = Instant::now();
    let out = run(sb
        .cmd()
        .env("AWS_ENDPOINT_URL_STS", hole.url())
        .env("AWS_CRED_READ_TIMEOUT", "1")
        .args(["whoami"]));
    out.assert_code(1);
    assert!(out.stdout.is_empty());
    let err = out.stderr_str();
    // Said as what happened: the endpoint took the connection and never answered.
    assert!(
        err.contains(&format!("no answer from {} in 1 s", hole.url())),
        "{err}"
    );
    assert!(!err.contains("connecting"), "{err}");
    assert!(err.contains("AWS_CRED_READ_TIMEOUT"), "{err}");
    // The wait bounds the whole call: a stalled endpoint is not asked again past it.
    assert_eq!(hole.connections(), 1);
    assert!(started.elapsed() < Duration::from_secs(60));
    // No spinner without a terminal.
    assert!(!err.contains("waiting for"), "{err}");
}

/// At a terminal, a call that has waited a second shows a spinner naming the endpoint (on the
/// terminal, cleared before the error); the error then says how long it waited.
#[test]
fn a_slow_answer_shows_a_spinner_at_the_terminal() {
    let Some(script) = support::require_program("script") else {
        return;
    };
    let sb = Sandbox::new();
    static_profile(&sb);
    let hole = FakeHttp::blackhole();
    let exe = env!("CARGO_BIN_EXE_aws-cred");
    let mut cmd = sb.program(&script);
    cmd.env("AWS_ENDPOINT_URL_STS", hole.url())
        .env("AWS_CRED_READ_TIMEOUT", "3")
        .env("TERM", "xterm")
        .env("NO_COLOR", "1")
        .args(["-qefc", &format!("{exe} whoami"), "/dev/null"]);
    let out = support::run_with_input(&mut cmd, b"");
    let shown = out.stdout_str();
    assert_eq!(out.status.code(), Some(1), "{shown}");
    let host = hole.url().trim_start_matches("http://").to_string();
    let spinner = format!("waiting for an answer from {host} (");
    assert!(shown.contains(&format!("{spinner}1 s)")), "{shown}");
    assert!(shown.contains(&format!("{spinner}2 s)")), "{shown}");
    assert!(!shown.contains("\x1b[36m"), "NO_COLOR: {shown}");
    // Cleared: the error starts on a line of its own after the spinner's last frame.
    let error = shown.find("no answer from").expect("the error");
    let last_frame = shown.rfind(&spinner).expect("a frame");
    assert!(last_frame < error, "{shown}");
    let between = &shown[last_frame..error];
    assert!(
        between.contains("\r "),
        "the line was not cleared: {between:?}"
    );
    // TERM=dumb: no spinner.
    let mut cmd = sb.program(&script);
    cmd.env("AWS_ENDPOINT_URL_STS", hole.url())
        .env("AWS_CRED_READ_TIMEOUT", "1.5")
        .env("TERM", "dumb")
        .args(["-qefc", &format!("{exe} whoami"), "/dev/null"]);
    let out = support::run_with_input(&mut cmd, b"");
    let shown = out.stdout_str();
    assert!(shown.contains("no answer from"), "{shown}");
    assert!(shown.contains("in 1.5 s"), "{shown}");
    assert!(!shown.contains("waiting for"), "{shown}");
}

#[test]
fn malformed_responses_are_errors_not_panics() {
    for body in [
        "",
        "not xml at all",
        "<GetCallerIdentityResponse><Oops>",
        "\u{0}\u{1}binary",
    ] {
        let sb = Sandbox::new();
        static_profile(&sb);
        let served = body.to_string();
        let fake = FakeHttp::new(move |_| Response::xml(200, &served));
        let out = run(sb
            .cmd()
            .env("AWS_ENDPOINT_URL_STS", fake.url())
            .args(["whoami"]));
        assert_ne!(out.code(), Some(0), "{body:?}");
        assert!(
            out.code() != Some(101),
            "panic on {body:?}: {}",
            out.stderr_str()
        );
        assert!(!out.stderr_str().contains("panicked"));
    }
    // A credential_process or ECS endpoint with garbage: same rule.
    let sb = Sandbox::new();
    let ecs = FakeHttp::new(|_| Response::json(200, "{\"AccessKeyId\": 12"));
    let out = run(sb
        .cmd()
        .env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("{}/c", ecs.url()),
        )
        .args(["export"]));
    out.assert_code(1);
    assert!(!out.stderr_str().contains("panicked"));
}
