//! `aws-cred mfa` against a loopback STS that checks codes, serials and sources the way AWS
//! does (moto accepts anything), plus one happy path on moto for the wire shapes.

use crate::fakes::sts as fake_sts;
use crate::support;

use fake_sts::{CODE, FakeSts, StsRules};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use support::{OutputExt, Sandbox, run};

const ALICE_KEY: &str = "AKIAALICE00000000001";
const ALICE_SERIAL: &str = "arn:aws:iam::123456789012:mfa/alice";
const BOB_KEY: &str = "AKIABOB0000000000001";
const BOB_SERIAL: &str = "arn:aws:iam::123456789012:mfa/bob";

fn rules() -> StsRules {
    let mut users = HashMap::new();
    users.insert(
        ALICE_KEY.to_string(),
        ("alice".to_string(), ALICE_SERIAL.to_string()),
    );
    users.insert(
        BOB_KEY.to_string(),
        ("bob".to_string(), BOB_SERIAL.to_string()),
    );
    StsRules {
        users,
        ..Default::default()
    }
}

/// alice: keys in [prod-long-term] (aws-mfa convention). bob: keys in [base], role profiles
/// `admin` and `readonly` share his device.
fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.write_credentials(&format!(
        "# my keys\n[prod-long-term]\naws_access_key_id = {ALICE_KEY}\naws_secret_access_key = alicesecret\nmfa_serial = {ALICE_SERIAL}\n\n\
         [base]\naws_access_key_id = {BOB_KEY}\naws_secret_access_key = bobsecret\n"
    ));
    sb.write_config(&format!(
        "[profile prod]\nregion = ap-northeast-1\n\n\
         [profile admin]\nrole_arn = arn:aws:iam::123456789012:role/Admin\nsource_profile = base\nmfa_serial = {BOB_SERIAL}\n\n\
         [profile readonly]\nrole_arn = arn:aws:iam::123456789012:role/ReadOnly\nsource_profile = base\nmfa_serial = {BOB_SERIAL}\nduration_seconds = 7200\n"
    ));
    sb
}

/// STS and IAM both answered by the fake (same query protocol).
fn aws_cred(sb: &Sandbox, sts: &FakeSts, args: &[&str]) -> std::process::Output {
    run(sb
        .cmd()
        .env("AWS_ENDPOINT_URL_STS", sts.url())
        .env("AWS_ENDPOINT_URL_IAM", sts.url())
        .args(args))
}

fn exported(stdout: &str, name: &str) -> Option<String> {
    let prefix = format!("export {name}='");
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.trim_end_matches('\'').to_string())
}

#[test]
fn morning_session_from_long_term_keys_with_the_code() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let out = aws_cred(&sb, &sts, &["mfa", CODE, "--profile", "prod"]);
    out.assert_success();
    let stdout = out.stdout_str();
    assert!(
        exported(&stdout, "AWS_ACCESS_KEY_ID")
            .unwrap()
            .starts_with("ASIASESSION")
    );
    assert!(
        exported(&stdout, "AWS_SESSION_TOKEN")
            .unwrap()
            .starts_with("sessiontoken")
    );
    assert_eq!(
        exported(&stdout, "AWS_REGION").as_deref(),
        Some("ap-northeast-1")
    );
    assert!(stdout.contains("\nunset AWS_PROFILE\n"));
    assert!(
        out.stderr_str()
            .contains("arn:aws:iam::123456789012:user/alice")
    );
    let gst = sts.requests_for("GetSessionToken");
    assert_eq!(gst.len(), 1);
    assert_eq!(
        FakeSts::signer_of(&gst[0]),
        ALICE_KEY,
        "signed with the long-term key"
    );
    assert_eq!(
        gst[0].form_param("SerialNumber").as_deref(),
        Some(ALICE_SERIAL)
    );
    assert_eq!(gst[0].form_param("TokenCode").as_deref(), Some(CODE));
    assert_eq!(
        gst[0].form_param("DurationSeconds").as_deref(),
        Some("43200")
    );
    // The session never reaches stderr.
    let stderr = out.stderr_str();
    assert!(!stderr.contains("sessionsecret") && !stderr.contains("sessiontoken"));
}

#[test]
fn stale_session_in_the_shell_is_not_the_source() {
    let sb = sandbox();
    sb.write_credentials(&format!(
        "[default]\naws_access_key_id = {ALICE_KEY}\naws_secret_access_key = alicesecret\nmfa_serial = {ALICE_SERIAL}\n"
    ));
    let sts = FakeSts::start(rules());
    let out = run(sb
        .cmd()
        .env("AWS_ENDPOINT_URL_STS", sts.url())
        .env("AWS_ACCESS_KEY_ID", "ASIAYESTERDAY0000001")
        .env("AWS_SECRET_ACCESS_KEY", "old")
        .env("AWS_SESSION_TOKEN", "yesterday")
        .args(["mfa", CODE]));
    out.assert_success();
    assert!(
        out.stderr_str()
            .contains("ignoring the session keys in the environment")
    );
    let gst = sts.requests_for("GetSessionToken");
    assert_eq!(FakeSts::signer_of(&gst[0]), ALICE_KEY);
    assert!(gst[0].header("x-amz-security-token").is_none());
}

#[test]
fn long_term_keys_in_the_environment_are_a_source() {
    let sb = Sandbox::new();
    let sts = FakeSts::start(rules());
    let out = run(sb
        .cmd()
        .env("AWS_ENDPOINT_URL_STS", sts.url())
        .env("AWS_ACCESS_KEY_ID", ALICE_KEY)
        .env("AWS_SECRET_ACCESS_KEY", "alicesecret")
        .env("AWS_MFA_SERIAL", ALICE_SERIAL)
        .args(["mfa", CODE]));
    out.assert_success();
    assert_eq!(
        FakeSts::signer_of(&sts.requests_for("GetSessionToken")[0]),
        ALICE_KEY
    );
}

#[test]
fn a_session_as_the_only_source_is_refused_before_calling_aws() {
    let sb = Sandbox::new();
    sb.write_credentials("[prod]\naws_access_key_id = ASIAX\naws_secret_access_key = s\naws_session_token = t\nmfa_serial = arn:aws:iam::1:mfa/a\n");
    let sts = FakeSts::start(rules());
    let out = aws_cred(&sb, &sts, &["mfa", CODE, "--profile", "prod"]);
    out.assert_code(2);
    out.assert_failed_eval();
    assert!(
        out.stderr_str().contains("holds session credentials"),
        "{}",
        out.stderr_str()
    );
    assert!(sts.actions().is_empty());
}

#[test]
fn second_run_reuses_the_cached_session_and_force_renews_it() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let first = aws_cred(
        &sb,
        &sts,
        &["mfa", CODE, "--profile", "prod", "--format", "json"],
    );
    first.assert_success();
    // A new code, no --force: the cached session is reused, no STS call.
    let second = aws_cred(
        &sb,
        &sts,
        &["mfa", "654321", "--profile", "prod", "--format", "json"],
    );
    second.assert_success();
    assert_eq!(first.stdout, second.stdout);
    assert!(second.stderr_str().contains("reused"));
    // No code at all: still reused.
    aws_cred(&sb, &sts, &["mfa", "--profile", "prod"]).assert_success();
    assert_eq!(sts.requests_for("GetSessionToken").len(), 1);
    // --force: a new session.
    let forced = aws_cred(
        &sb,
        &sts,
        &[
            "mfa",
            CODE,
            "--profile",
            "prod",
            "--force",
            "--format",
            "json",
        ],
    );
    forced.assert_success();
    assert_ne!(forced.stdout, first.stdout);
    assert_eq!(sts.requests_for("GetSessionToken").len(), 2);
    // The cache file is private.
    let dir = sb.home_path(".aws/aws-cred/cache/mfa");
    let entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(entries.len(), 1);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&entries[0]).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn no_code_and_no_terminal_exits_4_with_the_command_to_run() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let out = aws_cred(&sb, &sts, &["mfa", "--profile", "prod"]);
    out.assert_code(4);
    out.assert_failed_eval();
    assert!(
        out.stderr_str()
            .contains("run aws-cred mfa CODE --profile prod")
    );
    assert!(sts.actions().is_empty());
}

#[test]
fn bad_code_format_and_duration_fail_before_any_call() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    for args in [
        &["mfa", "12345", "--profile", "prod"][..],
        &["mfa", "12345a", "--profile", "prod"],
        &[
            "mfa",
            CODE,
            "--profile",
            "prod",
            "--duration-seconds",
            "899",
        ],
        &[
            "mfa",
            CODE,
            "--profile",
            "prod",
            "--duration-seconds",
            "129601",
        ],
    ] {
        let out = aws_cred(&sb, &sts, args);
        out.assert_code(2);
        out.assert_failed_eval();
    }
    assert!(sts.actions().is_empty());
}

#[test]
fn rejected_code_says_wait_for_the_next_one() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let out = aws_cred(&sb, &sts, &["mfa", "000000", "--profile", "prod"]);
    out.assert_code(1);
    out.assert_failed_eval();
    let err = out.stderr_str();
    assert!(err.contains("MFA code rejected"), "{err}");
    assert!(err.contains("next code"), "{err}");
}

#[test]
fn wrong_serial_names_the_serial_and_its_origin() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let out = aws_cred(
        &sb,
        &sts,
        &[
            "mfa",
            CODE,
            "--profile",
            "prod",
            "--serial-number",
            "arn:aws:iam::123456789012:mfa/mallory",
        ],
    );
    out.assert_code(1);
    let err = out.stderr_str();
    assert!(
        err.contains("arn:aws:iam::123456789012:mfa/mallory"),
        "{err}"
    );
    assert!(err.contains("--serial-number"), "{err}");
    // From the profile: the message says so.
    sb.write_credentials(&format!(
        "[prod-long-term]\naws_access_key_id = {ALICE_KEY}\naws_secret_access_key = s\nmfa_serial = {BOB_SERIAL}\n"
    ));
    let out = aws_cred(&sb, &sts, &["mfa", CODE, "--profile", "prod"]);
    assert!(
        out.stderr_str()
            .contains("mfa_serial of profile prod-long-term"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn unknown_key_and_clock_skew_get_their_hints() {
    let sb = Sandbox::new();
    sb.write_credentials(&format!(
        "[gone]\naws_access_key_id = AKIADELETED000000001\naws_secret_access_key = s\nmfa_serial = {ALICE_SERIAL}\n"
    ));
    let sts = FakeSts::start(rules());
    let out = aws_cred(&sb, &sts, &["mfa", CODE, "--profile", "gone"]);
    out.assert_code(1);
    assert!(
        out.stderr_str()
            .contains("deleted, deactivated or mistyped"),
        "{}",
        out.stderr_str()
    );

    let skewed = FakeSts::start(StsRules {
        clock_skew: true,
        ..rules()
    });
    let sb = sandbox();
    let out = aws_cred(&sb, &skewed, &["mfa", CODE, "--profile", "prod"]);
    out.assert_code(1);
    assert!(out.stderr_str().contains("clock"), "{}", out.stderr_str());
}

#[test]
fn missing_serial_is_discovered_when_the_user_has_exactly_one_device() {
    let sb = Sandbox::new();
    sb.write_credentials(&format!(
        "[plain]\naws_access_key_id = {ALICE_KEY}\naws_secret_access_key = s\n"
    ));
    let sts = FakeSts::start(rules());
    let out = aws_cred(&sb, &sts, &["mfa", CODE, "--profile", "plain"]);
    out.assert_success();
    let err = out.stderr_str();
    assert!(
        err.contains(&format!(
            "aws configure set mfa_serial {ALICE_SERIAL} --profile plain"
        )),
        "{err}"
    );
    assert_eq!(sts.actions()[0], "ListMFADevices");
    let gst = &sts.requests_for("GetSessionToken")[0];
    assert_eq!(
        gst.form_param("SerialNumber").as_deref(),
        Some(ALICE_SERIAL)
    );
}

#[test]
fn missing_serial_with_no_or_several_devices_says_what_to_do() {
    let sb = Sandbox::new();
    sb.write_credentials(&format!(
        "[plain]\naws_access_key_id = {ALICE_KEY}\naws_secret_access_key = s\n"
    ));
    let mut none = rules();
    none.devices.insert("alice".into(), vec![]);
    let sts = FakeSts::start(none);
    let out = aws_cred(&sb, &sts, &["mfa", CODE, "--profile", "plain"]);
    out.assert_code(2);
    assert!(
        out.stderr_str().contains("no MFA device is assigned"),
        "{}",
        out.stderr_str()
    );
    assert!(sts.requests_for("GetSessionToken").is_empty());

    let mut two = rules();
    two.devices.insert(
        "alice".into(),
        vec![
            ALICE_SERIAL.into(),
            "arn:aws:iam::123456789012:mfa/alice-backup".into(),
        ],
    );
    let sts = FakeSts::start(two);
    let out = aws_cred(&sb, &sts, &["mfa", CODE, "--profile", "plain"]);
    out.assert_code(2);
    let err = out.stderr_str();
    assert!(
        err.contains("2 MFA devices")
            && err.contains("alice-backup")
            && err.contains("--serial-number"),
        "{err}"
    );
}

#[test]
fn role_profiles_share_one_mfa_session_all_day() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let out = aws_cred(&sb, &sts, &["mfa", CODE, "--profile", "admin"]);
    out.assert_success();
    assert!(
        exported(&out.stdout_str(), "AWS_ACCESS_KEY_ID")
            .unwrap()
            .starts_with("ASIAROLE")
    );
    assert_eq!(
        sts.actions(),
        vec!["GetSessionToken", "GetCallerIdentity", "AssumeRole"]
    );
    let assume = &sts.requests_for("AssumeRole")[0];
    assert!(
        FakeSts::signer_of(assume).starts_with("ASIASESSION"),
        "AssumeRole signed with the MFA session"
    );
    assert_eq!(
        assume.form_param("RoleArn").as_deref(),
        Some("arn:aws:iam::123456789012:role/Admin")
    );

    // Later in the day: export and whoami for another role profile sharing the device,
    // no code, no GetSessionToken.
    let out = aws_cred(
        &sb,
        &sts,
        &[
            "export",
            "--profile",
            "readonly",
            "--format",
            "json",
            "--explain",
        ],
    );
    out.assert_success();
    assert!(
        out.stderr_str().contains("MFA session"),
        "{}",
        out.stderr_str()
    );
    let readonly = sts.requests_for("AssumeRole").pop().unwrap();
    assert_eq!(
        readonly.form_param("RoleArn").as_deref(),
        Some("arn:aws:iam::123456789012:role/ReadOnly")
    );
    assert_eq!(
        readonly.form_param("DurationSeconds").as_deref(),
        Some("7200")
    );
    let out = aws_cred(&sb, &sts, &["whoami", "--profile", "admin"]);
    out.assert_success();
    assert!(
        out.stdout_str().contains("assumed-role/Admin"),
        "{}",
        out.stdout_str()
    );
    assert_eq!(sts.requests_for("GetSessionToken").len(), 1);
}

#[test]
fn role_profile_without_a_session_asks_for_mfa_with_exit_4() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let out = aws_cred(&sb, &sts, &["export", "--profile", "admin"]);
    out.assert_code(4);
    out.assert_failed_eval();
    assert!(
        out.stderr_str()
            .contains("aws-cred mfa CODE --profile admin")
    );
    assert!(sts.actions().is_empty());
}

#[test]
fn role_chaining_over_one_hour_is_explained() {
    let sb = sandbox();
    sb.write_config(&format!(
        "[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/Admin\nsource_profile = base\nmfa_serial = {BOB_SERIAL}\n\
         [profile deep]\nrole_arn = arn:aws:iam::123456789012:role/Deep\nsource_profile = admin\nduration_seconds = 7200\n"
    ));
    let sts = FakeSts::start(rules());
    let out = aws_cred(&sb, &sts, &["mfa", CODE, "--profile", "deep"]);
    out.assert_code(2);
    assert!(out.stderr_str().contains("1 hour"), "{}", out.stderr_str());
}

#[test]
fn write_profile_with_the_long_term_convention_writes_the_plain_name() {
    let sb = sandbox();
    let before = sb.read("home/.aws/credentials");
    let sts = FakeSts::start(rules());
    let out = aws_cred(
        &sb,
        &sts,
        &["mfa", CODE, "--profile", "prod", "--write-profile"],
    );
    out.assert_success();
    assert!(
        out.stdout.is_empty(),
        "nothing on stdout when writing a profile"
    );
    let after = sb.read("home/.aws/credentials");
    assert!(after.starts_with(&before), "existing bytes untouched");
    assert!(
        after.contains("[prod]\naws_access_key_id = ASIASESSION"),
        "{after}"
    );
    assert!(after.contains("aws_cred_expiration = "));
    // Every other tool can now use --profile prod; aws-cred reads it back too.
    let out = aws_cred(
        &sb,
        &sts,
        &["export", "--profile", "prod", "--format", "json"],
    );
    out.assert_success();
    assert!(out.stdout_str().contains("ASIASESSION"));
}

#[test]
fn never_writes_the_session_over_its_own_long_term_keys() {
    let sb = Sandbox::new();
    sb.write_credentials(&format!(
        "[alice]\naws_access_key_id = {ALICE_KEY}\naws_secret_access_key = s\nmfa_serial = {ALICE_SERIAL}\n"
    ));
    let sts = FakeSts::start(rules());
    for extra in [&[][..], &["--overwrite-keys"][..], &["--force"][..]] {
        let mut args = vec![
            "mfa",
            CODE,
            "--profile",
            "alice",
            "--write-profile",
            "alice",
        ];
        args.extend_from_slice(extra);
        let out = aws_cred(&sb, &sts, &args);
        out.assert_code(2);
        assert!(out.stderr_str().contains("long-term keys it is made from"));
    }
    assert!(sb.read("home/.aws/credentials").contains(ALICE_KEY));
    assert!(sts.actions().is_empty(), "refused before any call");
}

#[test]
fn force_gets_a_new_session_and_only_overwrite_keys_replaces_long_term_keys() {
    let sb = Sandbox::new();
    sb.write_credentials(&format!(
        "[alice]\naws_access_key_id = {ALICE_KEY}\naws_secret_access_key = s\nmfa_serial = {ALICE_SERIAL}\n\n[ci]\naws_access_key_id = AKIACIKEEPME\naws_secret_access_key = c\n"
    ));
    let sts = FakeSts::start(rules());
    let write = |extra: &str| {
        let args = [
            "mfa",
            CODE,
            "--profile",
            "alice",
            "--write-profile",
            "ci",
            extra,
        ];
        aws_cred(&sb, &sts, &args)
    };
    let sessions = || sts.requests_for("GetSessionToken").len();
    aws_cred(
        &sb,
        &sts,
        &["mfa", CODE, "--profile", "alice", "--format", "json"],
    )
    .assert_success();
    assert_eq!(sessions(), 1);
    // --force means a new session (a second GetSessionToken though one is cached), nothing
    // more: [ci]'s keys stay, and the hint names the flag that would replace them.
    write("--force")
        .assert_code(2)
        .assert_hint("--overwrite-keys");
    assert_eq!(sessions(), 2, "--force made a new session");
    assert!(sb.read("home/.aws/credentials").contains("AKIACIKEEPME"));
    // --overwrite-keys alone reuses the session and replaces [ci].
    write("--overwrite-keys").assert_success();
    assert_eq!(sessions(), 2, "the cached session was reused");
    let file = sb.read("home/.aws/credentials");
    assert!(!file.contains("AKIACIKEEPME"), "{file}");
    assert!(file.contains(ALICE_KEY), "the source section stays: {file}");
    // Without --write-profile, --overwrite-keys has nothing to apply to: a usage error.
    let out = aws_cred(
        &sb,
        &sts,
        &["mfa", CODE, "--profile", "alice", "--overwrite-keys"],
    );
    out.assert_code(2);
    assert!(out.stdout.is_empty());
}

#[test]
fn concurrent_runs_use_the_code_once() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let children: Vec<_> = (0..6)
        .map(|_| {
            sb.cmd()
                .env("AWS_ENDPOINT_URL_STS", sts.url())
                .args(["mfa", CODE, "--profile", "prod", "--format", "json"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for out in &outputs {
        out.assert_success();
        assert_eq!(
            out.stdout, outputs[0].stdout,
            "every run prints the same session"
        );
    }
    assert_eq!(sts.requests_for("GetSessionToken").len(), 1);
}

#[test]
fn moto_happy_path_then_whoami_with_the_session() {
    let Some(moto) = support::Moto::start() else {
        return;
    };
    let sb = sandbox();
    let out = run(sb.cmd().env("AWS_ENDPOINT_URL", moto.url()).args([
        "mfa",
        CODE,
        "--profile",
        "admin",
        "--format",
        "json",
    ]));
    out.assert_success();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (key, secret, token) = (
        doc["AccessKeyId"].as_str().unwrap(),
        doc["SecretAccessKey"].as_str().unwrap(),
        doc["SessionToken"].as_str().unwrap(),
    );
    let who = run(sb
        .cmd()
        .env("AWS_ENDPOINT_URL", moto.url())
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_SESSION_TOKEN", token)
        .args(["whoami", "--json"]));
    who.assert_success();
    let doc: serde_json::Value = serde_json::from_slice(&who.stdout).unwrap();
    assert!(
        doc["arn"].as_str().unwrap().contains("assumed-role/Admin"),
        "{doc}"
    );
    assert_eq!(doc["source"]["link"], "env");
}

/// `aws-cred ARGS` in a real terminal (`script`), with the STS fake; each time the terminal
/// shows one more "MFA code for", the next answer is typed. Returns the exit status and what
/// the terminal showed; `None` (skipped) without `script`.
fn in_terminal(
    sb: &Sandbox,
    sts: &FakeSts,
    args: &str,
    extra_env: &[(&str, &str)],
    answers: &[&str],
) -> Option<(std::process::ExitStatus, String)> {
    let script = support::require_program("script")?;
    let inner = format!("{} {args}", env!("CARGO_BIN_EXE_aws-cred"));
    let mut cmd = sb.program(script);
    cmd.env("SHELL", "/bin/sh")
        .env("AWS_ENDPOINT_URL_STS", sts.url())
        .env("AWS_ENDPOINT_URL_IAM", sts.url())
        .envs(extra_env.iter().copied())
        .args(["-qefc", &inner, "/dev/null"]);
    let steps: Vec<(&str, &str)> = answers.iter().map(|a| ("MFA code for", *a)).collect();
    Some(support::terminal_dialogue(&mut cmd, &steps))
}

#[test]
fn a_role_profile_asks_for_the_code_inline_on_a_terminal() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    // A malformed answer is asked again; the code as apps show it ("123 456") is accepted.
    let spaced = format!("{} {}", &CODE[..3], &CODE[3..]);
    let Some((status, shown)) = in_terminal(
        &sb,
        &sts,
        "export --profile admin --format json",
        &[],
        &["12 34", &spaced],
    ) else {
        return;
    };
    assert!(status.success(), "{shown}");
    assert_eq!(
        shown.matches(&format!("MFA code for {BOB_SERIAL}")).count(),
        2,
        "{shown}"
    );
    assert!(shown.contains("exactly 6 digits"), "{shown}");
    assert!(shown.contains("\"AccessKeyId\": \"ASIAROLE"), "{shown}");
    assert_eq!(sts.count("GetSessionToken"), 1);
    assert_eq!(sts.count("AssumeRole"), 1);

    // The session was cached as `mfa` caches it: no terminal needed for the rest of the day.
    let out = aws_cred(
        &sb,
        &sts,
        &["export", "--profile", "admin", "--format", "json"],
    );
    assert!(out.status.success(), "{}", out.stderr_str());
    assert_eq!(sts.count("GetSessionToken"), 1);

    // --dash form, from exec.
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let dashed = format!("{}-{}", &CODE[..3], &CODE[3..]);
    let Some((status, shown)) = in_terminal(
        &sb,
        &sts,
        "exec --profile admin -- sh -c 'echo key=$AWS_ACCESS_KEY_ID'",
        &[],
        &[&dashed],
    ) else {
        return;
    };
    assert!(status.success(), "{shown}");
    assert!(shown.contains("key=ASIAROLE"), "{shown}");

    // The [P-long-term] convention (a plain profile): whoami asks too.
    let Some((status, shown)) = in_terminal(&sb, &sts, "whoami --profile prod", &[], &[CODE])
    else {
        return;
    };
    assert!(status.success(), "{shown}");
    assert!(
        shown.contains(&format!("MFA code for {ALICE_SERIAL}")),
        "{shown}"
    );
    assert!(shown.contains("user/alice"), "{shown}");
}

/// Issue 23, item 2: `mfa_process` (aws-vault's key) or `AWS_CRED_MFA_PROCESS` prints the
/// code: no terminal is needed, the command runs without a shell (`;` and `$` are plain
/// arguments), `123 456` counts as `123456`, and what it printed never reaches stderr.
#[test]
fn mfa_process_prints_the_code_without_a_terminal() {
    use std::os::unix::fs::PermissionsExt;
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let log = sb.path("args.log");
    let program = sb.write(
        "bin/otp",
        format!(
            "#!/bin/sh\nprintf '%s|' \"$@\" > '{}'\necho '{} {}'\necho extra line\n",
            log.display(),
            &CODE[..3],
            &CODE[3..]
        ),
    );
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = sb.read("home/.aws/config").replace(
        "[profile admin]\n",
        &format!(
            "[profile admin]\nmfa_process = {} --account 'AWS: bob' $HOME;x\n",
            program.display()
        ),
    );
    sb.write_config(&config);
    let out = aws_cred(
        &sb,
        &sts,
        &["export", "--profile", "admin", "--format", "json"],
    );
    out.assert_success();
    assert!(
        out.stdout_str().contains("ASIAROLE"),
        "{}",
        out.stdout_str()
    );
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "--account|AWS: bob|$HOME;x|"
    );
    assert_eq!(sts.count("GetSessionToken"), 1);
    let err = out.stderr_str();
    assert!(
        !err.contains(&format!("{} {}", &CODE[..3], &CODE[3..])) && !err.contains("extra line"),
        "{err}"
    );
    // `aws-cred mfa` without a code uses it too (the session is reused first: --force).
    let out = aws_cred(
        &sb,
        &sts,
        &["mfa", "--profile", "admin", "--force", "--format", "json"],
    );
    out.assert_success();
    assert_eq!(sts.count("GetSessionToken"), 2);

    // From the variable; a command that prints no code is an error that says so.
    let sb = sandbox();
    let out = run(sb
        .cmd()
        .env("AWS_ENDPOINT_URL_STS", sts.url())
        .env("AWS_ENDPOINT_URL_IAM", sts.url())
        .env("AWS_CRED_MFA_PROCESS", "echo not-a-code")
        .args(["export", "--profile", "admin", "--format", "json"]));
    assert_eq!(out.code(), Some(1), "{}", out.stderr_str());
    let err = out.stderr_str();
    assert!(
        err.contains("mfa_process (from AWS_CRED_MFA_PROCESS) did not print a 6-digit code")
            && !err.contains("not-a-code"),
        "{err}"
    );
}

/// Issue 23's test list: an `mfa_process` that prints a gigabyte is stopped after 4 KiB, and
/// one that hangs is stopped at its 60 s limit; each says so, and nothing is sent to STS.
#[test]
fn an_mfa_process_that_floods_or_hangs_is_stopped() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    // Past the 60 s the hanging one is given (support's `run` stops a run at 60 s).
    let attempt = |command: &str| {
        support::run_with_timeout(
            sb.cmd()
                .env("AWS_ENDPOINT_URL_STS", sts.url())
                .env("AWS_ENDPOINT_URL_IAM", sts.url())
                .env("AWS_CRED_MFA_PROCESS", command)
                .args(["export", "--profile", "admin", "--format", "json"]),
            Duration::from_secs(90),
        )
    };
    let started = Instant::now();
    let out = attempt("head -c 1000000000 /dev/zero");
    assert_eq!(out.code(), Some(1), "{}", out.stderr_str());
    assert!(
        out.stderr_str()
            .contains("printed more than 4096 bytes on stdout; it was stopped"),
        "{}",
        out.stderr_str()
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    let out = attempt("sleep 600");
    assert_eq!(out.code(), Some(1), "{}", out.stderr_str());
    assert!(
        out.stderr_str().contains("did not finish within 60 s"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(sts.count("GetSessionToken"), 0);
}

/// Issue 23, item 8: aws-vault's `session_tags` / `transitive_session_tags` and
/// `source_identity` go on the AssumeRole request, as STS's query protocol spells them.
#[test]
fn session_tags_and_source_identity_reach_assume_role() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let config = sb.read("home/.aws/config");
    sb.write_config(&format!(
        "{config}\n[profile tagged]\nrole_arn = arn:aws:iam::123456789012:role/Tagged\nsource_profile = base\nsession_tags = team=platform, env=prod\ntransitive_session_tags = team\nsource_identity = bob\n"
    ));
    let out = aws_cred(
        &sb,
        &sts,
        &["export", "--profile", "tagged", "--format", "json"],
    );
    out.assert_success();
    let assume = sts.requests_for("AssumeRole").pop().unwrap();
    for (name, value) in [
        ("Tags.member.1.Key", "team"),
        ("Tags.member.1.Value", "platform"),
        ("Tags.member.2.Key", "env"),
        ("Tags.member.2.Value", "prod"),
        ("TransitiveTagKeys.member.1", "team"),
        ("SourceIdentity", "bob"),
    ] {
        assert_eq!(assume.form_param(name).as_deref(), Some(value), "{name}");
    }
    // A transitive key that is not a tag is a config error, before any call.
    sb.write_config(&format!(
        "{config}\n[profile tagged]\nrole_arn = arn:aws:iam::123456789012:role/Tagged\nsource_profile = base\nsession_tags = team=platform\ntransitive_session_tags = env\n"
    ));
    let before = sts.count("AssumeRole");
    let out = aws_cred(
        &sb,
        &sts,
        &["export", "--profile", "tagged", "--format", "json"],
    );
    assert_eq!(out.code(), Some(2), "{}", out.stderr_str());
    assert!(
        out.stderr_str().contains("transitive_session_tags"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(sts.count("AssumeRole"), before);
}

/// Issue 23, item 8: `--duration` on export (and exec, serve) sets the role session's length
/// (over `duration_seconds`), in seconds or 1h/90m; role chaining is capped at 1 hour with the
/// reason; a profile without a role, or a length AWS does not allow, is a usage error before
/// any call.
#[test]
fn duration_sets_the_role_session_length() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let config = sb.read("home/.aws/config");
    sb.write_config(&format!(
        "{config}\n[profile plain-role]\nrole_arn = arn:aws:iam::123456789012:role/Plain\nsource_profile = base\nduration_seconds = 3600\n\n[profile chained]\nrole_arn = arn:aws:iam::123456789012:role/Next\nsource_profile = plain-role\n"
    ));
    let export = |args: &[&str]| {
        let mut all = vec!["export", "--format", "json"];
        all.extend_from_slice(args);
        aws_cred(&sb, &sts, &all)
    };
    for (given, seconds) in [("7200", "7200"), ("90m", "5400"), ("1h30m", "5400")] {
        let out = export(&["--profile", "plain-role", "--duration", given]);
        out.assert_success();
        let assume = sts.requests_for("AssumeRole").pop().unwrap();
        assert_eq!(
            assume.form_param("DurationSeconds").as_deref(),
            Some(seconds),
            "{given}"
        );
    }
    // Without it, the profile's duration_seconds.
    export(&["--profile", "plain-role"]).assert_success();
    let assume = sts.requests_for("AssumeRole").pop().unwrap();
    assert_eq!(
        assume.form_param("DurationSeconds").as_deref(),
        Some("3600")
    );

    let calls = sts.count("AssumeRole");
    let refused = [
        (
            vec!["--profile", "chained", "--duration", "2h"],
            "role chaining",
        ),
        (
            vec!["--profile", "base", "--duration", "1h"],
            "assumes no role",
        ),
        (
            vec!["--profile", "plain-role", "--duration", "10m"],
            "15m to 12h",
        ),
        (
            vec!["--profile", "plain-role", "--duration", "soon"],
            "not a duration",
        ),
    ];
    for (args, needle) in refused {
        let out = export(&args);
        assert_eq!(out.code(), Some(2), "{args:?}: {}", out.stderr_str());
        assert!(
            out.stderr_str().contains(needle),
            "{args:?}: {}",
            out.stderr_str()
        );
    }
    // The chained role gets its 1 hour (AssumeRole twice: the first role, then the next).
    export(&["--profile", "chained", "--duration", "1h"]).assert_success();
    let assume = sts.requests_for("AssumeRole").pop().unwrap();
    assert_eq!(
        assume.form_param("RoleArn").as_deref(),
        Some("arn:aws:iam::123456789012:role/Next")
    );
    assert_eq!(
        assume.form_param("DurationSeconds").as_deref(),
        Some("3600")
    );
    assert_eq!(
        sts.count("AssumeRole"),
        calls + 2,
        "no call for the refused ones"
    );
}

#[test]
fn no_prompt_or_no_terminal_keeps_the_exit_4_and_the_command_to_run() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    // JSON: shell lines with stdout on the terminal would be refused first (a forgotten eval).
    for (args, env) in [
        ("export --profile admin --no-prompt --format json", vec![]),
        (
            "export --profile admin --format json",
            vec![("AWS_CRED_NO_PROMPT", "1")],
        ),
    ] {
        let Some((status, shown)) = in_terminal(&sb, &sts, args, &env, &[]) else {
            return;
        };
        assert_eq!(status.code(), Some(4), "{args}: {shown}");
        assert!(!shown.contains("MFA code for"), "{args}: {shown}");
        assert!(
            shown.contains("aws-cred mfa CODE --profile admin"),
            "{shown}"
        );
    }
    let out = aws_cred(&sb, &sts, &["export", "--profile", "admin"]);
    assert_eq!(out.status.code(), Some(4), "{}", out.stderr_str());
    out.assert_failed_eval();
    assert!(
        out.stderr_str()
            .contains("aws-cred mfa CODE --profile admin")
    );
    assert_eq!(sts.count("GetSessionToken"), 0);
}

/// Issue 23, item 12: a plain profile with `mfa_serial` and no MFA session. At a terminal the
/// code is asked for, as for role profiles; without one its long-term keys are handed out, as
/// the AWS CLI does, with a warning that says so and how to make a session.
#[test]
fn a_plain_mfa_profile_without_a_session_asks_or_says_it_gives_long_term_keys() {
    let sb = Sandbox::new();
    sb.write_credentials(&format!(
        "[plain]\naws_access_key_id = {BOB_KEY}\naws_secret_access_key = bobsecret\n"
    ));
    sb.write_config(&format!("[profile plain]\nmfa_serial = {BOB_SERIAL}\n"));
    let sts = FakeSts::start(rules());
    let out = aws_cred(
        &sb,
        &sts,
        &["export", "--profile", "plain", "--format", "json"],
    );
    out.assert_success();
    assert!(out.stdout_str().contains(BOB_KEY), "{}", out.stdout_str());
    let err = out.stderr_str();
    assert!(
        err.contains(&format!(
            "warning: profile plain has an MFA device ({BOB_SERIAL}) but no MFA session: these are its long-term keys"
        )),
        "{err}"
    );
    assert!(err.contains("aws-cred mfa CODE --profile plain"), "{err}");
    assert_eq!(sts.count("GetSessionToken"), 0);
    // At a terminal: asked, and the session is what is exported.
    let Some((status, shown)) = in_terminal(
        &sb,
        &sts,
        "export --profile plain --format json",
        &[],
        &[CODE],
    ) else {
        return;
    };
    assert!(status.success(), "{shown}");
    assert!(
        shown.contains(&format!("MFA code for {BOB_SERIAL}")),
        "{shown}"
    );
    assert!(shown.contains("\"SessionToken\""), "{shown}");
    assert!(!shown.contains("warning:"), "{shown}");
    assert_eq!(sts.count("GetSessionToken"), 1);
    // From then on the cached session, without a word.
    let out = aws_cred(
        &sb,
        &sts,
        &["export", "--profile", "plain", "--format", "json"],
    );
    out.assert_success();
    assert!(out.stdout_str().contains("SessionToken"));
    assert!(
        !out.stderr_str().contains("warning"),
        "{}",
        out.stderr_str()
    );
}

/// aws-mfa keeps the device as `aws_mfa_device` in `[P-long-term]`: it is read as
/// `mfa_serial` is.
#[test]
fn aws_mfa_device_in_the_long_term_section_is_the_device() {
    let sb = Sandbox::new();
    sb.write_credentials(&format!(
        "[prod-long-term]\naws_access_key_id = {ALICE_KEY}\naws_secret_access_key = alicesecret\naws_mfa_device = {ALICE_SERIAL}\n"
    ));
    sb.write_config("[profile prod]\nregion = ap-northeast-1\n");
    let sts = FakeSts::start(rules());
    let out = aws_cred(&sb, &sts, &["export", "--profile", "prod"]);
    out.assert_code(4);
    assert!(
        out.stderr_str().contains(ALICE_SERIAL),
        "{}",
        out.stderr_str()
    );
    let out = aws_cred(&sb, &sts, &["mfa", CODE, "--profile", "prod"]);
    out.assert_success();
    assert_eq!(sts.count("GetSessionToken"), 1);
    assert_eq!(
        sts.requests_for("GetSessionToken")[0]
            .form_param("SerialNumber")
            .as_deref(),
        Some(ALICE_SERIAL)
    );
    let out = aws_cred(&sb, &sts, &["whoami", "--profile", "prod"]);
    out.assert_success();
    assert!(
        out.stdout_str().contains("user/alice"),
        "{}",
        out.stdout_str()
    );
}

/// A mistyped profile gets the same "not in the files; did you mean" error from every command
/// that takes `--profile` (one check, `Profiles::no_such_profile`), as its first line (not
/// under "the profile link could not provide credentials"), before any call to STS.
#[test]
fn a_mistyped_profile_is_named_with_the_nearest_one() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    for args in [
        &["mfa", CODE, "--profile", "prdo"][..],
        &["export", "--profile", "prdo"],
        &["whoami", "--profile", "prdo"],
        &["exec", "--profile", "prdo", "--", "true"],
        &["status", "--profile", "prdo"],
        &["logout", "--profile", "prdo"],
        &["console", "--profile", "prdo", "--sso-portal", "--print"],
    ] {
        let out = aws_cred(&sb, &sts, args);
        out.assert_code(2);
        let err = out.stderr_str();
        assert!(
            err.starts_with("error: profile \"prdo\" (from --profile) is not in")
                && err.contains("hint: did you mean prod?"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(sts.count("GetSessionToken"), 0);
}
