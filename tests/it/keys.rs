//! `aws-cred keys`: long-term keys in the OS keyring (a real Secret Service: gnome-keyring in a
//! private `dbus-run-session`, see tests/it/support/secret_service.rs).

use crate::support;

use std::time::{Duration, Instant};
use support::secret_service::SecretService;

#[test]
fn the_test_secret_service_stores_and_reads_back() {
    let Some(ss) = SecretService::start() else {
        return;
    };
    let out = ss.secret_tool_with_input(
        &[
            "store",
            "--label=t",
            "service",
            "aws-cred-test",
            "username",
            "u",
        ],
        b"hello",
    );
    assert!(out.status.success(), "{out:?}\n{}", ss.log());
    let out = ss.secret_tool(&["lookup", "service", "aws-cred-test", "username", "u"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello");
    assert!(ss.keyring_files().join("login.keyring").exists());
}

#[test]
fn the_locked_test_keyring_refuses_at_once() {
    let Some(ss) = SecretService::start_locked(|_| {}) else {
        return;
    };
    let started = Instant::now();
    let out = ss.secret_tool(&["lookup", "service", "aws-cred-test", "username", "x"]);
    assert!(!out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty());
    assert!(started.elapsed() < Duration::from_secs(10));
}

// ---------------------------------------------------------------------------------------------
// aws-cred keys against the test Secret Service
// ---------------------------------------------------------------------------------------------

use crate::fakes::sts as fake_sts;

use fake_sts::{CODE, FakeSts, StsRules};
use std::collections::HashMap;
use std::process::{Command, Output};
use std::sync::OnceLock;
use support::{FakeHttp, Moto, OutputExt, Response, Sandbox, run, run_with_input};

const ALICE_KEY: &str = "AKIAALICE00000000001";
const ALICE_SECRET: &str = "alice/Secret+Key=000000000000000000001";
const ALICE_SERIAL: &str = "arn:aws:iam::123456789012:mfa/alice";
const OTHER_KEY: &str = "AKIAALICE00000000002";

fn rules() -> StsRules {
    let mut users = HashMap::new();
    users.insert(
        ALICE_KEY.to_string(),
        ("alice".to_string(), ALICE_SERIAL.to_string()),
    );
    StsRules {
        users,
        ..Default::default()
    }
}

/// aws-cred in the sandbox, on the test Secret Service, STS and IAM answered by `endpoint`.
fn keys_cmd(sb: &Sandbox, ss: &SecretService, endpoint: &str) -> Command {
    let mut cmd = sb.cmd();
    cmd.env("DBUS_SESSION_BUS_ADDRESS", ss.address())
        .env("AWS_ENDPOINT_URL_STS", endpoint)
        .env("AWS_ENDPOINT_URL_IAM", endpoint);
    cmd
}

fn add_from_stdin(sb: &Sandbox, ss: &SecretService, sts: &FakeSts, profile: &str) -> Output {
    run_with_input(
        keys_cmd(sb, ss, &sts.url()).args(["keys", "add", "--profile", profile, "--stdin"]),
        format!("{ALICE_KEY}\n{ALICE_SECRET}\n").as_bytes(),
    )
}

/// The keyring entry of `profile` as JSON, read with secret-tool (not with aws-cred).
fn stored(ss: &SecretService, profile: &str) -> Option<serde_json::Value> {
    let out = ss.secret_tool(&["lookup", "service", "aws-cred", "username", profile]);
    if !out.status.success() || out.stdout.is_empty() {
        return None;
    }
    Some(serde_json::from_slice(&out.stdout).expect("the entry is JSON"))
}

fn assert_no_secret(out: &Output, secret: &str) {
    assert!(
        !out.stderr_str().contains(secret)
            && !String::from_utf8_lossy(&out.stderr).contains(secret),
        "the secret reached stderr:\n{}",
        out.stderr_str()
    );
}

#[test]
fn add_from_the_credentials_file_moves_the_keys_and_keeps_every_other_byte() {
    let Some(ss) = SecretService::start() else {
        return;
    };
    let sb = Sandbox::new();
    let before_p = "# my keys\r\n[default]\r\nregion = eu-west-1\r\n\r\n";
    let after_p = "\r\n; staging below\r\n[staging]\r\naws_access_key_id = AKIASTAGING000000001\r\naws_secret_access_key = staging\r\n";
    sb.write_credentials(&format!(
        "{before_p}[prod]  # main account\r\naws_access_key_id = {ALICE_KEY}\r\nmfa_serial = {ALICE_SERIAL}\r\naws_secret_access_key = {ALICE_SECRET}\r\n{after_p}"
    ));
    sb.write_config("[profile prod]\nregion = ap-northeast-1\noutput = json\n");
    let sts = FakeSts::start(rules());
    let out = run(keys_cmd(&sb, &ss, &sts.url()).args([
        "keys",
        "add",
        "--profile",
        "prod",
        "--from-credentials-file",
    ]));
    out.assert_success();
    assert!(out.stdout.is_empty(), "{}", out.stdout_str());
    assert_no_secret(&out, ALICE_SECRET);
    assert!(
        out.stderr_str().contains("AKIA****0001"),
        "{}",
        out.stderr_str()
    );
    // Checked once with the key itself.
    assert_eq!(sts.actions(), vec!["GetCallerIdentity"]);
    let entry = stored(&ss, "prod").expect("an entry for prod");
    let search = ss.secret_tool(&["search", "service", "aws-cred", "username", "prod"]);
    assert!(
        String::from_utf8_lossy(&search.stdout)
            .contains("label = aws-cred: AWS access key of profile prod"),
        "{search:?}"
    );
    assert_eq!(entry["Version"], 1);
    assert_eq!(entry["AccessKeyId"], ALICE_KEY);
    assert_eq!(entry["SecretAccessKey"], ALICE_SECRET);
    assert_eq!(
        sb.read("home/.aws/credentials"),
        format!("{before_p}[prod]  # main account\r\nmfa_serial = {ALICE_SERIAL}\r\n{after_p}")
    );
    assert_eq!(
        sb.read("home/.aws/config"),
        "[profile prod]\nregion = ap-northeast-1\noutput = json\ncredential_process = aws-cred keys process --profile prod\n"
    );
}

#[test]
fn the_chain_reads_the_keyring_itself_and_process_prints_json_v1() {
    let Some(ss) = SecretService::start() else {
        return;
    };
    let sb = Sandbox::new();
    let sts = FakeSts::start(rules());
    add_from_stdin(&sb, &ss, &sts, "prod").assert_success();
    // No aws-cred on PATH: had the chain started the credential_process, it would fail.
    let out = run(keys_cmd(&sb, &ss, &sts.url())
        .env("PATH", "/usr/bin:/bin")
        .args([
            "export",
            "--profile",
            "prod",
            "--format",
            "json",
            "--explain",
        ]));
    out.assert_success();
    let creds: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(creds["AccessKeyId"], ALICE_KEY);
    assert_eq!(creds["SecretAccessKey"], ALICE_SECRET);
    assert!(
        out.stderr_str()
            .contains("keys of profile prod in the OS keyring (entry prod"),
        "{}",
        out.stderr_str()
    );

    let out = run(keys_cmd(&sb, &ss, &sts.url()).args(["keys", "process", "--profile", "prod"]));
    out.assert_success();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["Version"], 1);
    assert_eq!(json["AccessKeyId"], ALICE_KEY);
    assert_eq!(json["SecretAccessKey"], ALICE_SECRET);
    assert!(json.get("Expiration").is_none());
    assert!(out.stderr.is_empty(), "{}", out.stderr_str());

    let out = run(keys_cmd(&sb, &ss, &sts.url()).args(["keys", "list"]));
    out.assert_success();
    let listed = out.stdout_str();
    assert!(
        listed.starts_with("prod\tAKIA****0001\tstored "),
        "{listed}"
    );
    assert!(!listed.contains(ALICE_SECRET));
}

#[test]
fn a_key_aws_does_not_accept_is_not_stored() {
    let Some(ss) = SecretService::start() else {
        return;
    };
    let sb = Sandbox::new();
    let sts = FakeSts::start(StsRules::default()); // knows no key
    let out = add_from_stdin(&sb, &ss, &sts, "prod");
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr_str());
    assert!(
        out.stderr_str().contains("nothing was stored"),
        "{}",
        out.stderr_str()
    );
    assert_no_secret(&out, ALICE_SECRET);
    assert!(stored(&ss, "prod").is_none());
    assert!(!sb.config_path().exists());
    // Session keys are refused before anything is sent.
    let out = run_with_input(
        keys_cmd(&sb, &ss, &sts.url()).args(["keys", "add", "--profile", "p", "--stdin"]),
        b"ASIATEMPORARY0000001\nsecret\n",
    );
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr_str());
    assert!(out.stderr_str().contains("temporary (session) key"));
}

#[test]
fn mfa_makes_the_morning_session_from_keyring_keys() {
    let Some(ss) = SecretService::start() else {
        return;
    };
    let sb = Sandbox::new();
    let sts = FakeSts::start(rules());
    add_from_stdin(&sb, &ss, &sts, "prod").assert_success();
    let config = sb.read("home/.aws/config");
    sb.write_config(&format!("{config}mfa_serial = {ALICE_SERIAL}\n"));
    let out = run(keys_cmd(&sb, &ss, &sts.url()).args([
        "mfa",
        CODE,
        "--profile",
        "prod",
        "--format",
        "json",
    ]));
    out.assert_success();
    let session: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        session["AccessKeyId"]
            .as_str()
            .unwrap()
            .starts_with("ASIASESSION")
    );
    let gst = sts.requests_for("GetSessionToken");
    assert_eq!(gst.len(), 1);
    assert_eq!(
        FakeSts::signer_of(&gst[0]),
        ALICE_KEY,
        "signed with the keyring key"
    );
    // All day: the chain finds today's session for the keyring profile.
    let out = run(keys_cmd(&sb, &ss, &sts.url()).args([
        "export",
        "--profile",
        "prod",
        "--format",
        "json",
    ]));
    out.assert_success();
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["AccessKeyId"], session["AccessKeyId"]);
    assert_eq!(sts.requests_for("GetSessionToken").len(), 1);
}

/// A config file the writer refuses to edit is a usage error (exit 2, as the same refusal is from
/// export --write-profile and login), with the line to add by hand; the key stays stored.
#[test]
fn add_into_a_config_the_writer_refuses_is_exit_2_with_the_line_to_add() {
    let Some(ss) = SecretService::start() else {
        return;
    };
    let sb = Sandbox::new();
    let sts = FakeSts::start(rules());
    let config = "[profile prod]\noutput = json\n  [profile other]\n";
    sb.write_config(config);
    let out = add_from_stdin(&sb, &ss, &sts, "prod");
    let err = out.stderr_str();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("could not be updated") && err.contains("indented"),
        "{err}"
    );
    assert!(
        err.contains("credential_process = aws-cred keys process --profile prod"),
        "{err}"
    );
    assert_no_secret(&out, ALICE_SECRET);
    assert!(stored(&ss, "prod").is_some());
    assert_eq!(sb.read("home/.aws/config"), config);
}

#[test]
fn remove_deletes_the_entry_and_the_credential_process_line() {
    let Some(ss) = SecretService::start() else {
        return;
    };
    let sb = Sandbox::new();
    let sts = FakeSts::start(rules());
    sb.write_config("[profile prod]\nregion = eu-west-1\n");
    add_from_stdin(&sb, &ss, &sts, "prod").assert_success();
    assert!(stored(&ss, "prod").is_some());
    // The keyring holds the only copy of the secret (issue 23, item 9): without a terminal to
    // ask on, nothing is deleted without --yes, and the way to keep a copy is said.
    let out = run(keys_cmd(&sb, &ss, &sts.url()).args(["keys", "remove", "--profile", "prod"]));
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr_str());
    assert!(
        out.stderr_str().contains("only copy"),
        "{}",
        out.stderr_str()
    );
    assert!(
        out.stderr_str()
            .contains("aws-cred keys process --profile prod"),
        "{}",
        out.stderr_str()
    );
    assert!(stored(&ss, "prod").is_some(), "nothing deleted");
    let out =
        run(keys_cmd(&sb, &ss, &sts.url()).args(["keys", "remove", "--profile", "prod", "--yes"]));
    out.assert_success();
    assert!(
        out.stderr_str().contains("to use the key again"),
        "{}",
        out.stderr_str()
    );
    assert!(stored(&ss, "prod").is_none());
    assert_eq!(
        sb.read("home/.aws/config"),
        "[profile prod]\nregion = eu-west-1\n"
    );
    let out = run(keys_cmd(&sb, &ss, &sts.url()).args(["keys", "remove", "--profile", "prod"]));
    assert_eq!(out.status.code(), Some(2));
    let out = run(keys_cmd(&sb, &ss, &sts.url()).args(["keys", "process", "--profile", "prod"]));
    assert_eq!(out.status.code(), Some(3), "{}", out.stderr_str());
    assert!(
        out.stderr_str()
            .contains("aws-cred keys add --profile prod")
    );
}

#[test]
fn a_locked_keyring_is_exit_4_with_a_hint_and_no_fallback() {
    let Some(ss) = SecretService::start_locked(|ss| {
        let entry = format!(
            "{{\"Version\":1,\"AccessKeyId\":\"{ALICE_KEY}\",\"SecretAccessKey\":\"{ALICE_SECRET}\"}}"
        );
        let out = ss.secret_tool_with_input(
            &[
                "store",
                "--label=prod",
                "service",
                "aws-cred",
                "username",
                "prod",
            ],
            entry.as_bytes(),
        );
        assert!(out.status.success(), "{out:?}");
    }) else {
        return;
    };
    let sb = Sandbox::new();
    sb.write_config("[profile prod]\ncredential_process = aws-cred keys process --profile prod\n");
    let started = Instant::now();
    let out = run(keys_cmd(&sb, &ss, "http://127.0.0.1:9").args([
        "keys",
        "process",
        "--profile",
        "prod",
    ]));
    assert_eq!(out.status.code(), Some(4), "{}", out.stderr_str());
    assert!(out.stdout.is_empty());
    assert!(out.stderr_str().contains("locked"), "{}", out.stderr_str());
    assert!(
        out.stderr_str().contains("hint: unlock the keyring"),
        "{}",
        out.stderr_str()
    );
    let out = run(keys_cmd(&sb, &ss, "http://127.0.0.1:9").args(["export", "--profile", "prod"]));
    assert_eq!(out.status.code(), Some(4), "{}", out.stderr_str());
    let out = run_with_input(
        keys_cmd(&sb, &ss, "http://127.0.0.1:9").args([
            "keys",
            "add",
            "--profile",
            "new",
            "--stdin",
            "--no-check",
        ]),
        format!("{ALICE_KEY}\n{ALICE_SECRET}\n").as_bytes(),
    );
    assert_eq!(out.status.code(), Some(4), "{}", out.stderr_str());
    assert!(!sb.credentials_path().exists(), "no plain-text fallback");
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn no_secret_service_is_exit_4_with_a_hint() {
    // Runs everywhere: the bus address points at nothing.
    let sb = Sandbox::new();
    sb.write_config("[profile prod]\ncredential_process = aws-cred keys process --profile prod\n");
    let nobus = format!("unix:path={}", sb.path("no-bus").display());
    for args in [
        &["keys", "process", "--profile", "prod"][..],
        &["export", "--profile", "prod"],
        &["keys", "list"],
    ] {
        let out = run(sb.cmd().env("DBUS_SESSION_BUS_ADDRESS", &nobus).args(args));
        assert_eq!(out.status.code(), Some(4), "{args:?}: {}", out.stderr_str());
        // Only `export` prints for eval; its stdout is the failing statement.
        let expected: &[u8] = if args[0] == "export" { b"false\n" } else { b"" };
        assert_eq!(out.stdout, expected, "{args:?}");
        let err = out.stderr_str();
        assert!(err.contains("no OS keyring is available"), "{err}");
        assert!(err.contains("gnome-keyring-daemon --unlock"), "{err}");
    }
    let out = run_with_input(
        sb.cmd().env("DBUS_SESSION_BUS_ADDRESS", &nobus).args([
            "keys",
            "add",
            "--profile",
            "p",
            "--stdin",
            "--no-check",
        ]),
        format!("{ALICE_KEY}\n{ALICE_SECRET}\n").as_bytes(),
    );
    assert_eq!(out.status.code(), Some(4), "{}", out.stderr_str());
    assert!(!sb.credentials_path().exists(), "no plain-text fallback");
}

#[test]
fn add_at_the_terminal_does_not_echo_the_secret() {
    // `script` gives aws-cred a real terminal; what the terminal shows is the typescript.
    let Some(ss) = SecretService::start() else {
        return;
    };
    let Some(script) = support::require_program("script") else {
        return;
    };
    let sb = Sandbox::new();
    let (status, shown) = support::terminal_dialogue(
        sb.program_with_aws_cred(&script)
            .env("DBUS_SESSION_BUS_ADDRESS", ss.address())
            .env("TERM", "dumb")
            .args([
                "-qefc",
                "aws-cred keys add --profile prod --no-check",
                "/dev/null",
            ]),
        &[
            ("AWS access key ID for profile prod", ALICE_KEY),
            ("Secret access key (not shown)", ALICE_SECRET),
        ],
    );
    assert!(status.success(), "{status}\n{shown}");
    assert!(shown.contains(ALICE_KEY), "the key id is echoed: {shown}");
    assert!(
        !shown.contains(ALICE_SECRET),
        "the secret was echoed:\n{shown}"
    );
    assert_eq!(
        stored(&ss, "prod").unwrap()["SecretAccessKey"],
        ALICE_SECRET
    );
}

// ---------------------------------------------------------------------------------------------
// moto: the AWS CLI through credential_process, and rotate against IAM
// ---------------------------------------------------------------------------------------------

fn moto() -> Option<&'static Moto> {
    static MOTO: OnceLock<Option<Moto>> = OnceLock::new();
    MOTO.get_or_init(Moto::start).as_ref()
}

/// The venv's AWS CLI v1 against moto, with aws-cred on PATH and the test keyring's bus.
fn aws_cli(moto: &Moto, sb: &Sandbox, ss: &SecretService, args: &[&str]) -> Output {
    let aws = support::require_venv_tool("aws").expect("the venv has the AWS CLI");
    run(Command::new(aws)
        .env_clear()
        .env("PATH", support::path_with_aws_cred())
        .env("HOME", sb.home())
        .env("AWS_CONFIG_FILE", sb.config_path())
        .env("AWS_SHARED_CREDENTIALS_FILE", sb.credentials_path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", moto.url())
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("DBUS_SESSION_BUS_ADDRESS", ss.address())
        .env("LANG", "C.UTF-8")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(sb.home())
        .args(args))
}

/// A new IAM user in moto with one access key: (key id, secret).
fn moto_user(moto: &Moto, sb: &Sandbox, ss: &SecretService, user: &str) -> (String, String) {
    sb.write_credentials(
        "[moto-admin]\naws_access_key_id = AKIAMOTOADMIN0000001\naws_secret_access_key = admin\n",
    );
    let out = aws_cli(
        moto,
        sb,
        ss,
        &[
            "iam",
            "create-user",
            "--user-name",
            user,
            "--profile",
            "moto-admin",
        ],
    );
    out.assert_success();
    let out = aws_cli(
        moto,
        sb,
        ss,
        &[
            "iam",
            "create-access-key",
            "--user-name",
            user,
            "--profile",
            "moto-admin",
        ],
    );
    out.assert_success();
    let key: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        key["AccessKey"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_string(),
        key["AccessKey"]["SecretAccessKey"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

fn moto_keys_of(moto: &Moto, sb: &Sandbox, ss: &SecretService, user: &str) -> Vec<String> {
    let out = aws_cli(
        moto,
        sb,
        ss,
        &[
            "iam",
            "list-access-keys",
            "--user-name",
            user,
            "--profile",
            "moto-admin",
        ],
    );
    out.assert_success();
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    listed["AccessKeyMetadata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["AccessKeyId"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_aws_cli_reads_keyring_keys_through_credential_process() {
    let Some(ss) = SecretService::start() else {
        return;
    };
    let Some(moto) = moto() else {
        return;
    };
    let sb = Sandbox::new();
    let (id, secret) = moto_user(moto, &sb, &ss, "cli-user");
    let out = run_with_input(
        keys_cmd(&sb, &ss, &moto.url()).args(["keys", "add", "--profile", "dev", "--stdin"]),
        format!("{id}\n{secret}\n").as_bytes(),
    );
    out.assert_success();
    assert!(
        out.stderr_str().contains("user/cli-user"),
        "{}",
        out.stderr_str()
    );
    let out = aws_cli(
        moto,
        &sb,
        &ss,
        &["sts", "get-caller-identity", "--profile", "dev"],
    );
    out.assert_success();
    let who: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        who["Arn"].as_str().unwrap().ends_with(":user/cli-user"),
        "{who}"
    );
}

/// A cached MFA session as `aws-cred mfa` writes it, made from `key` with `serial`.
fn seed_mfa_session(sb: &Sandbox, key: &str, serial: &str) -> std::path::PathBuf {
    use sha1::{Digest, Sha1};
    let mut hasher = Sha1::new();
    hasher.update(key.as_bytes());
    hasher.update(b"\n");
    hasher.update(serial.as_bytes());
    let name = hex::encode(hasher.finalize());
    sb.write(
        &format!("home/.aws/aws-cred/cache/mfa/{name}.json"),
        format!(
            "{{\"version\":1,\"serial\":\"{serial}\",\"arn\":null,\"access_key_id\":\"ASIAOLDSESSION000001\",\"secret_access_key\":\"s\",\"session_token\":\"t\",\"expiration\":\"2099-01-01T00:00:00Z\"}}"
        ),
    )
}

#[test]
fn rotate_against_moto_replaces_the_key_everywhere() {
    let Some(ss) = SecretService::start() else {
        return;
    };
    let Some(moto) = moto() else {
        return;
    };
    let sb = Sandbox::new();
    let (old_id, secret) = moto_user(moto, &sb, &ss, "rotating-user");
    let out = run_with_input(
        keys_cmd(&sb, &ss, &moto.url()).args(["keys", "add", "--profile", "dev", "--stdin"]),
        format!("{old_id}\n{secret}\n").as_bytes(),
    );
    out.assert_success();
    let config_before = sb.read("home/.aws/config");
    let session = seed_mfa_session(&sb, &old_id, "arn:aws:iam::123456789012:mfa/rotating-user");
    let other_session = seed_mfa_session(&sb, "AKIASOMEONEELSE00001", "arn:aws:iam::1:mfa/x");

    let out = run(keys_cmd(&sb, &ss, &moto.url()).args(["keys", "rotate", "--profile", "dev"]));
    out.assert_success();
    assert_no_secret(&out, &secret);
    let entry = stored(&ss, "dev").unwrap();
    let new_id = entry["AccessKeyId"].as_str().unwrap().to_string();
    assert_ne!(new_id, old_id);
    assert_eq!(
        moto_keys_of(moto, &sb, &ss, "rotating-user"),
        vec![new_id.clone()]
    );
    assert_eq!(
        sb.read("home/.aws/config"),
        config_before,
        "the profile still reads the keyring"
    );
    assert!(!session.exists(), "the old key's MFA session is gone");
    assert!(other_session.exists());
    // The new key works for every tool.
    let out = aws_cli(
        moto,
        &sb,
        &ss,
        &["sts", "get-caller-identity", "--profile", "dev"],
    );
    out.assert_success();
    assert!(out.stdout_str().contains("user/rotating-user"));
}

#[test]
fn rotate_a_key_in_the_credentials_file_against_moto() {
    let Some(ss) = SecretService::start() else {
        return;
    };
    let Some(moto) = moto() else {
        return;
    };
    let sb = Sandbox::new();
    let (old_id, secret) = moto_user(moto, &sb, &ss, "file-user");
    let admin = sb.read("home/.aws/credentials");
    sb.write_credentials(&format!(
        "{admin}\n# dev keys\n[dev]\naws_access_key_id = {old_id}\naws_secret_access_key = {secret}\nregion = eu-west-1\n"
    ));
    let out = run(keys_cmd(&sb, &ss, &moto.url()).args(["keys", "rotate", "--profile", "dev"]));
    out.assert_success();
    let keys = moto_keys_of(moto, &sb, &ss, "file-user");
    assert_eq!(keys.len(), 1);
    assert_ne!(keys[0], old_id);
    let text = sb.read("home/.aws/credentials");
    assert!(
        text.starts_with(&format!(
            "{admin}\n# dev keys\n[dev]\naws_access_key_id = {}\naws_secret_access_key = ",
            keys[0]
        )),
        "{text}"
    );
    assert!(text.ends_with("\nregion = eu-west-1\n"), "{text}");
    assert!(!text.contains(&secret));
}

// ---------------------------------------------------------------------------------------------
// rotate's failure paths, against the fake IAM
// ---------------------------------------------------------------------------------------------

/// alice's key in the keyring for profile prod.
fn rotate_setup(rules: StsRules) -> Option<(SecretService, Sandbox, FakeSts)> {
    let ss = SecretService::start()?;
    let sb = Sandbox::new();
    let sts = FakeSts::start(rules);
    add_from_stdin(&sb, &ss, &sts, "prod").assert_success();
    Some((ss, sb, sts))
}

fn rotate(sb: &Sandbox, ss: &SecretService, sts: &FakeSts) -> Output {
    run(keys_cmd(sb, ss, &sts.url()).args(["keys", "rotate", "--profile", "prod"]))
}

#[test]
fn rotate_with_two_keys_already_stops_before_changing_anything() {
    let mut rules = rules();
    rules.users.insert(
        OTHER_KEY.to_string(),
        ("alice".to_string(), ALICE_SERIAL.to_string()),
    );
    let Some((ss, sb, sts)) = rotate_setup(rules) else {
        return;
    };
    let out = rotate(&sb, &ss, &sts);
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr_str());
    let err = out.stderr_str();
    assert!(
        err.contains("two access keys") && err.contains("nothing was changed"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "aws iam delete-access-key --access-key-id {OTHER_KEY}"
        )),
        "{err}"
    );
    assert!(!sts.actions().contains(&"CreateAccessKey".to_string()));
    assert_eq!(stored(&ss, "prod").unwrap()["AccessKeyId"], ALICE_KEY);
    assert_eq!(
        sts.live_keys(),
        vec![ALICE_KEY.to_string(), OTHER_KEY.to_string()]
    );
}

#[test]
fn rotate_when_iam_refuses_create_access_key_keeps_the_old_key() {
    for (refuse, limit) in [(true, false), (false, true)] {
        let mut rules = rules();
        rules.refuse_create_key = refuse;
        rules.limit_on_create_key = limit;
        let Some((ss, sb, sts)) = rotate_setup(rules) else {
            return;
        };
        let out = rotate(&sb, &ss, &sts);
        assert!(!out.status.success());
        let err = out.stderr_str();
        assert!(err.contains("nothing was changed"), "{err}");
        if refuse {
            assert!(
                err.contains("AKIA****0001 is still stored in the OS keyring"),
                "{err}"
            );
        }
        assert_eq!(stored(&ss, "prod").unwrap()["AccessKeyId"], ALICE_KEY);
        assert_eq!(sts.live_keys(), vec![ALICE_KEY.to_string()]);
    }
}

#[test]
fn rotate_when_iam_refuses_delete_access_key_keeps_the_new_key_and_says_so() {
    let mut rules = rules();
    rules.refuse_delete_key = true;
    let Some((ss, sb, sts)) = rotate_setup(rules) else {
        return;
    };
    let out = rotate(&sb, &ss, &sts);
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr_str());
    let entry = stored(&ss, "prod").unwrap();
    let new_id = entry["AccessKeyId"].as_str().unwrap();
    assert!(new_id.starts_with("AKIAROTATED"), "{entry}");
    let err = out.stderr_str();
    assert!(
        err.contains("is stored in the OS keyring (entry prod) and works"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "aws iam delete-access-key --access-key-id {ALICE_KEY}"
        )),
        "{err}"
    );
    // Both keys live in IAM; the stored one is the new one, which STS accepts.
    assert_eq!(sts.live_keys().len(), 2);
    let out = run(keys_cmd(&sb, &ss, &sts.url()).args(["whoami", "--profile", "prod"]));
    out.assert_success();
}

#[test]
fn rotate_against_the_fake_iam_verifies_then_deletes_the_old_key() {
    let Some((ss, sb, sts)) = rotate_setup(rules()) else {
        return;
    };
    let out = rotate(&sb, &ss, &sts);
    out.assert_success();
    let new_id = stored(&ss, "prod").unwrap()["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(sts.live_keys(), vec![new_id.clone()]);
    let actions = sts.actions();
    let tail: Vec<&str> = actions.iter().map(String::as_str).skip(1).collect();
    assert_eq!(
        tail,
        vec![
            "ListAccessKeys",
            "CreateAccessKey",
            "GetCallerIdentity",
            "DeleteAccessKey"
        ]
    );
    let verify = sts.requests_for("GetCallerIdentity");
    assert_eq!(FakeSts::signer_of(verify.last().unwrap()), new_id);
}

#[test]
fn list_check_asks_iam_and_role_profiles_use_keyring_keys_for_mfa() {
    let Some(ss) = SecretService::start() else {
        return;
    };
    let sb = Sandbox::new();
    let sts = FakeSts::start(rules());
    add_from_stdin(&sb, &ss, &sts, "base").assert_success();
    let out = run(keys_cmd(&sb, &ss, &sts.url()).args(["keys", "list", "--check", "--json"]));
    out.assert_success();
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["schema_version"], 1);
    let key = &listed["keys"][0];
    assert_eq!(key["profile"], "base");
    assert_eq!(key["access_key"], "AKIA****0001");
    assert_eq!(key["status"], "Active");
    assert_eq!(key["created"], "2026-01-01T00:00:00Z");
    assert_eq!(key["configured"], true);
    let list_calls = sts.requests_for("ListAccessKeys");
    assert_eq!(FakeSts::signer_of(&list_calls[0]), ALICE_KEY);

    // A role profile on top of the keyring profile: MFA session, then the role.
    let config = sb.read("home/.aws/config");
    sb.write_config(&format!(
        "{config}\n[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/Admin\nsource_profile = base\nmfa_serial = {ALICE_SERIAL}\n"
    ));
    let out = run(keys_cmd(&sb, &ss, &sts.url()).args([
        "mfa",
        CODE,
        "--profile",
        "admin",
        "--format",
        "json",
    ]));
    out.assert_success();
    let creds: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        creds["AccessKeyId"]
            .as_str()
            .unwrap()
            .starts_with("ASIAROLE"),
        "{creds}"
    );
    assert_eq!(
        FakeSts::signer_of(&sts.requests_for("GetSessionToken")[0]),
        ALICE_KEY
    );
    // Later runs of the chain reuse the morning session for the role.
    let out = run(keys_cmd(&sb, &ss, &sts.url()).args([
        "export",
        "--profile",
        "admin",
        "--format",
        "json",
    ]));
    out.assert_success();
    assert_eq!(sts.requests_for("GetSessionToken").len(), 1);
    // The role profile itself cannot hold a key.
    let out = run_with_input(
        keys_cmd(&sb, &ss, &sts.url()).args(["keys", "add", "--profile", "admin", "--stdin"]),
        format!("{ALICE_KEY}\n{ALICE_SECRET}\n").as_bytes(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr_str());
    assert!(out.stderr_str().contains("has role_arn"));
    // A key IAM refuses fails the check: the whole list first, then exit 1 (as status --check).
    let refusing = FakeHttp::new(|_| {
        Response::xml(
            403,
            "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error></ErrorResponse>",
        )
    });
    let out = run(keys_cmd(&sb, &ss, &refusing.url()).args(["keys", "list", "--check"]));
    out.assert_code(1);
    assert!(
        out.stdout_str().starts_with("base\tAKIA****0001"),
        "{}",
        out.stdout_str()
    );
    assert!(
        out.stdout_str().contains("InvalidClientTokenId"),
        "{}",
        out.stdout_str()
    );
    assert!(
        out.stderr_str().contains("1 of 1 key failed the check"),
        "{}",
        out.stderr_str()
    );
    // Without --check nothing is asked, and nothing fails.
    run(keys_cmd(&sb, &ss, &refusing.url()).args(["keys", "list"])).assert_success();
}

#[test]
fn no_keys_subcommand_prints_the_secret_to_stderr() {
    let Some(ss) = SecretService::start() else {
        return;
    };
    let sb = Sandbox::new();
    let sts = FakeSts::start(rules());
    add_from_stdin(&sb, &ss, &sts, "prod").assert_success();
    let refused = support::FakeHttp::new(|_| {
        support::Response::xml(
            403,
            "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>nope</Message></Error></ErrorResponse>",
        )
    });
    let down = format!("http://127.0.0.1:{}", support::free_port());
    for endpoint in [refused.url(), down] {
        for args in [
            &["keys", "rotate", "--profile", "prod"][..],
            &["keys", "list", "--check"],
            &["whoami", "--profile", "prod", "--explain"],
            &[
                "mfa",
                CODE,
                "--profile",
                "prod",
                "--serial-number",
                ALICE_SERIAL,
            ],
        ] {
            let out = run(keys_cmd(&sb, &ss, &endpoint)
                .env("AWS_CRED_READ_TIMEOUT", "2")
                .args(args));
            assert_no_secret(&out, ALICE_SECRET);
            assert!(!out.stdout_str().contains(ALICE_SECRET), "{args:?}");
        }
        let out = run_with_input(
            keys_cmd(&sb, &ss, &endpoint)
                .env("AWS_CRED_READ_TIMEOUT", "2")
                .args(["keys", "add", "--profile", "other", "--stdin"]),
            format!("{ALICE_KEY}\n{ALICE_SECRET}\n").as_bytes(),
        );
        assert_eq!(out.status.code(), Some(1), "{}", out.stderr_str());
        assert_no_secret(&out, ALICE_SECRET);
    }
    assert_eq!(stored(&ss, "prod").unwrap()["AccessKeyId"], ALICE_KEY);
}

#[test]
fn rotate_when_the_new_key_never_works_puts_the_old_key_back() {
    let mut rules = rules();
    rules.created_keys_never_work = true;
    let Some((ss, sb, sts)) = rotate_setup(rules) else {
        return;
    };
    let out = run(keys_cmd(&sb, &ss, &sts.url())
        .env("AWS_CRED_TEST_KEY_PROPAGATION_SECONDS", "2")
        .args(["keys", "rotate", "--profile", "prod"]));
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr_str());
    let err = out.stderr_str();
    assert!(err.contains("did not work within 2 s"), "{err}");
    assert!(
        err.contains(
            "the old key AKIA****0001 is stored again in the OS keyring (entry prod) and works"
        ),
        "{err}"
    );
    assert!(err.contains("was deleted again in IAM"), "{err}");
    assert_eq!(stored(&ss, "prod").unwrap()["AccessKeyId"], ALICE_KEY);
    assert_eq!(sts.live_keys(), vec![ALICE_KEY.to_string()]);
    assert!(
        !sts.actions().contains(&"DeleteAccessKey".to_string()) || {
            let deleted = sts.requests_for("DeleteAccessKey");
            deleted.iter().all(|r| {
                r.form_param("AccessKeyId")
                    .unwrap_or_default()
                    .starts_with("AKIAROTATED")
            })
        }
    );
}
