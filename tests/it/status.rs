//! `aws-cred status`: hermetic fixtures for every kind of profile and every state of what it
//! depends on, on a frozen clock (`AWS_CRED_TEST_NOW`), checked against a JSON snapshot
//! (`tests/snapshots/status.json`; `UPDATE_SNAPSHOTS=1` rewrites it); the table, one profile in
//! detail, colour rules, and `--check` against the loopback STS.

use crate::fakes::sts as fake_sts;
use crate::support;

use support::{OutputExt, Sandbox, run};

/// 2027-01-15T08:00:00Z.
const NOW: &str = "1800000000";
const LATER: &str = "2027-01-15T11:00:00Z";
const EARLIER: &str = "2027-01-15T06:00:00Z";
const MFA_SERIAL: &str = "arn:aws:iam::123456789012:mfa/alice";
const LOGIN_VALID: &str = "arn:aws:iam::123456789012:user/valid";
const LOGIN_REFRESH: &str = "arn:aws:iam::123456789012:user/refresh";
const LOGIN_EXPIRED: &str = "arn:aws:iam::123456789012:user/expired";

const CONFIG: &str = "\
[default]
region = eu-west-1

[sso-session valid]
sso_start_url = https://valid.awsapps.com/start
sso_region = us-east-1
[sso-session refresh]
sso_start_url = https://refresh.awsapps.com/start
sso_region = us-east-1
[sso-session expired]
sso_start_url = https://expired.awsapps.com/start
sso_region = us-east-1
[sso-session missing]
sso_start_url = https://missing.awsapps.com/start
sso_region = us-east-1
[sso-session broken]
sso_start_url = https://broken.awsapps.com/start
sso_region = us-east-1

[profile sso-valid]
sso_session = valid
sso_account_id = 111111111111
sso_role_name = ReadOnly
region = ap-northeast-1
[profile sso-refreshable]
sso_session = refresh
sso_account_id = 111111111111
sso_role_name = ReadOnly
[profile sso-expired]
sso_session = expired
sso_account_id = 111111111111
sso_role_name = ReadOnly
[profile sso-missing]
sso_session = missing
sso_account_id = 111111111111
sso_role_name = ReadOnly
[profile sso-unusable]
sso_session = broken
sso_account_id = 111111111111
sso_role_name = ReadOnly
[profile sso-legacy]
sso_start_url = https://legacy.awsapps.com/start
sso_region = us-east-1
sso_account_id = 222222222222
sso_role_name = Admin

[profile role-over-sso]
role_arn = arn:aws:iam::333333333333:role/Deploy
source_profile = sso-valid
[profile role-mfa]
role_arn = arn:aws:iam::123456789012:role/Admin
source_profile = mfa-user
mfa_serial = arn:aws:iam::123456789012:mfa/alice
[profile role-chain]
role_arn = arn:aws:iam::444444444444:role/Top
source_profile = role-static
[profile role-static]
role_arn = arn:aws:iam::444444444444:role/Mid
source_profile = keys

[profile login-valid]
login_session = arn:aws:iam::123456789012:user/valid
[profile login-refreshable]
login_session = arn:aws:iam::123456789012:user/refresh
[profile login-expired]
login_session = arn:aws:iam::123456789012:user/expired
[profile login-missing]
login_session = arn:aws:iam::123456789012:user/nobody

[profile process]
credential_process = /bin/false
[profile web]
role_arn = arn:aws:iam::123456789012:role/Web
web_identity_token_file = /nonexistent/token
[profile ecs]
role_arn = arn:aws:iam::123456789012:role/Task
credential_source = EcsContainer
[profile prod]
region = eu-west-1
[profile settings-only]
output = json
[profile broken-role]
role_arn = arn:aws:iam::123456789012:role/Nowhere
source_profile = ghost
";

const CREDENTIALS: &str = "\
[keys]
aws_access_key_id = AKIAKEYS000000000001
aws_secret_access_key = secret-keys

[mfa-user]
aws_access_key_id = AKIAALICE00000000001
aws_secret_access_key = secret-alice
mfa_serial = arn:aws:iam::123456789012:mfa/alice

[mfa-nosession]
aws_access_key_id = AKIABOB0000000000001
aws_secret_access_key = secret-bob
mfa_serial = arn:aws:iam::123456789012:mfa/bob

[prod-long-term]
aws_access_key_id = AKIACAROL00000000001
aws_secret_access_key = secret-carol
mfa_serial = arn:aws:iam::123456789012:mfa/carol

[written-valid]
aws_access_key_id = ASIAWRITTEN000000001
aws_secret_access_key = secret-written
aws_session_token = token-written
aws_cred_expiration = 2027-01-15T11:00:00Z

[written-expired]
aws_access_key_id = ASIAWRITTEN000000002
aws_secret_access_key = secret-written
aws_session_token = token-written
aws_cred_expiration = 2027-01-15T06:00:00Z

[session-by-hand]
aws_access_key_id = ASIAHAND000000000001
aws_secret_access_key = secret-hand
aws_session_token = token-hand
";

fn sha1_hex(text: &str) -> String {
    {
        use sha1::Digest as _;
        hex::encode(sha1::Sha1::digest(text.as_bytes()))
    }
}

fn sha256_hex(text: &str) -> String {
    {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(text.as_bytes()))
    }
}

fn sso_token(sb: &Sandbox, key: &str, expires: &str, refreshable: bool) {
    let mut text = format!(
        r#"{{"startUrl": "https://x.awsapps.com/start", "region": "us-east-1", "accessToken": "sso-access-token-secret", "expiresAt": "{expires}""#
    );
    if refreshable {
        text.push_str(r#", "clientId": "cid", "clientSecret": "client-secret-value", "registrationExpiresAt": "2027-03-01T00:00:00Z", "refreshToken": "refresh-token-secret""#);
    }
    text.push('}');
    sb.write(&format!("home/.aws/sso/cache/{}.json", sha1_hex(key)), text);
}

fn mfa_session(sb: &Sandbox, access_key: &str, serial: &str, expiration: &str) {
    let key = sha1_hex(&format!("{access_key}\n{serial}"));
    sb.write(
        &format!("home/.aws/aws-cred/cache/mfa/{key}.json"),
        format!(
            r#"{{"version": 1, "serial": "{serial}", "arn": null, "access_key_id": "ASIAMFA", "secret_access_key": "mfa-secret", "session_token": "mfa-token", "expiration": "{expiration}"}}"#
        ),
    );
}

fn login_session(sb: &Sandbox, arn: &str, expires: &str, refreshable: bool) {
    let extra = if refreshable {
        // What a refresh needs, as the AWS CLI writes it: client, refresh token, DPoP key.
        r#", "clientId": "arn:aws:signin:::devtools/same-device", "refreshToken": "login-refresh-secret", "dpopKey": "-----BEGIN EC PRIVATE KEY-----\nlogin-key\n-----END EC PRIVATE KEY-----\n""#
    } else {
        ""
    };
    sb.write(
        &format!("home/.aws/login/cache/{}.json", sha256_hex(arn)),
        format!(
            r#"{{"accessToken": {{"accessKeyId": "ASIALOGIN", "secretAccessKey": "login-secret", "sessionToken": "login-token", "accountId": "123456789012", "expiresAt": "{expires}"}}, "tokenType": "aws_sigv4"{extra}}}"#
        ),
    );
}

fn cognito_entry(sb: &Sandbox, name: &str, doc: &str) {
    sb.write(
        &format!("home/.aws/aws-cred/cache/cognito/{name}.json"),
        doc,
    );
}

/// Every kind and every state.
fn fixtures() -> Sandbox {
    let sb = Sandbox::new();
    sb.write_config(CONFIG);
    sb.write_credentials(CREDENTIALS);
    sso_token(&sb, "valid", LATER, false);
    sso_token(&sb, "refresh", EARLIER, true);
    sso_token(&sb, "expired", EARLIER, false);
    sb.write(
        &format!("home/.aws/sso/cache/{}.json", sha1_hex("broken")),
        "{not json",
    );
    mfa_session(&sb, "AKIAALICE00000000001", MFA_SERIAL, LATER);
    mfa_session(
        &sb,
        "AKIACAROL00000000001",
        "arn:aws:iam::123456789012:mfa/carol",
        EARLIER,
    );
    login_session(&sb, LOGIN_VALID, LATER, false);
    login_session(&sb, LOGIN_REFRESH, EARLIER, true);
    login_session(&sb, LOGIN_EXPIRED, EARLIER, false);
    cognito_entry(
        &sb,
        &sha256_hex("alice"),
        &format!(
            r#"{{"version": 1, "user_pool_id": "eu-west-1_Pool", "client_id": "client1", "username": "alice",
               "tokens": {{"id_token": "id-token-secret", "access_token": "access-token-secret", "refresh_token": "refresh-secret",
                          "expiration": "{EARLIER}", "internal_username": "alice", "sub": null}},
               "identities": {{"eu-west-1:pool-1": "eu-west-1:identity-1"}},
               "credentials": {{"identity_pool_id": "eu-west-1:pool-1", "role_arn": null, "access_key_id": "ASIACOGNITO",
                               "secret_access_key": "cognito-secret", "session_token": "cognito-token", "expiration": "{LATER}"}}}}"#
        ),
    );
    cognito_entry(
        &sb,
        &sha256_hex("guest"),
        r#"{"version": 1, "user_pool_id": null, "client_id": null, "username": null, "tokens": null,
            "identities": {"eu-west-1:pool-2": "eu-west-1:identity-2"}, "credentials": null}"#,
    );
    sb
}

fn status(sb: &Sandbox, args: &[&str]) -> std::process::Output {
    run(sb
        .cmd()
        .env("AWS_CRED_TEST_NOW", NOW)
        .arg("status")
        .args(args))
}

const SECRETS: &[&str] = &[
    "secret-",
    "token-written",
    "token-hand",
    "sso-access-token-secret",
    "client-secret-value",
    "refresh-token-secret",
    "mfa-secret",
    "mfa-token",
    "login-secret",
    "login-token",
    "login-refresh-secret",
    "id-token-secret",
    "access-token-secret",
    "cognito-secret",
    "cognito-token",
];

fn assert_no_secrets(out: &std::process::Output) {
    for text in [out.stdout_str(), out.stderr_str()] {
        for secret in SECRETS {
            assert!(!text.contains(secret), "{secret} leaked:\n{text}");
        }
    }
}

#[test]
fn json_snapshot_of_every_kind_and_state() {
    let sb = fixtures();
    let out = status(&sb, &["--json"]);
    out.assert_success();
    assert_no_secrets(&out);
    // The one machine-dependent part: the sandbox's path in messages.
    let actual = out
        .stdout_str()
        .replace(&sb.root().display().to_string(), "<sandbox>");
    let snapshot =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/status.json");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(snapshot.parent().unwrap()).unwrap();
        std::fs::write(&snapshot, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(&snapshot)
        .expect("tests/snapshots/status.json (UPDATE_SNAPSHOTS=1 writes it)");
    assert_eq!(actual, expected, "status --json differs from the snapshot");

    // The snapshot covers every kind and state (so a new one cannot slip past it).
    let doc: serde_json::Value = serde_json::from_str(&actual).unwrap();
    assert_eq!(doc["schema_version"], 1);
    let profiles = doc["profiles"].as_array().unwrap();
    let field = |name: &str, key: &str| -> String {
        let p = profiles
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name}"));
        p[key].as_str().unwrap_or_default().to_string()
    };
    for kind in [
        "static",
        "session",
        "mfa",
        "role",
        "sso",
        "login",
        "credential-process",
        "web-identity",
        "none",
        "invalid",
    ] {
        assert!(profiles.iter().any(|p| p["kind"] == kind), "kind {kind}");
    }
    for state in [
        "valid",
        "refreshable",
        "expired",
        "missing",
        "unusable",
        "long-term",
        "not-checked",
        "none",
        "error",
    ] {
        assert!(
            profiles.iter().any(|p| p["state"] == state),
            "state {state}"
        );
    }
    assert_eq!(field("sso-valid", "state"), "valid");
    assert_eq!(field("sso-valid", "until"), LATER);
    assert_eq!(field("sso-refreshable", "state"), "refreshable");
    assert_eq!(
        field("sso-expired", "fix"),
        "aws-cred sso-login --sso-session expired"
    );
    assert_eq!(
        field("sso-legacy", "fix"),
        "aws-cred sso-login --profile sso-legacy"
    );
    assert_eq!(field("role-mfa", "state"), "valid");
    assert_eq!(field("mfa-user", "kind"), "mfa");
    assert_eq!(field("mfa-nosession", "state"), "missing");
    assert_eq!(field("prod", "kind"), "mfa");
    assert_eq!(field("prod", "state"), "expired");
    assert_eq!(field("written-valid", "state"), "valid");
    assert_eq!(field("written-expired", "state"), "expired");
    assert_eq!(field("session-by-hand", "state"), "not-checked");
    assert_eq!(field("login-refreshable", "state"), "refreshable");
    assert_eq!(field("login-missing", "state"), "missing");
    assert_eq!(field("role-over-sso", "state"), "valid");
    assert_eq!(field("web", "state"), "missing");
    assert_eq!(field("ecs", "kind"), "role");
    assert_eq!(
        field("ecs", "source"),
        "arn:aws:iam::123456789012:role/Task <- credential_source = EcsContainer (profile ecs)"
    );
    assert_eq!(field("broken-role", "state"), "error");
    let cognito = doc["cognito"].as_array().unwrap();
    assert_eq!(cognito.len(), 2);
    let alice = cognito.iter().find(|c| c["username"] == "alice").unwrap();
    assert_eq!(alice["tokens"]["state"], "refreshable");
    assert_eq!(alice["credentials"]["state"], "valid");
}

#[test]
fn the_table_has_one_line_per_profile_and_says_what_to_run() {
    let sb = fixtures();
    let out = status(&sb, &[]);
    out.assert_success();
    assert_no_secrets(&out);
    let text = out.stdout_str();
    assert!(!text.contains('\x1b'), "no colour off a terminal:\n{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("PROFILE"), "{text}");
    // 28 profiles: every section of both files that names one.
    let profile_lines = lines.iter().skip(1).take_while(|l| !l.is_empty()).count();
    assert_eq!(profile_lines, 28, "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("sso-valid ") && l.contains("valid, 3h 00m left")),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("sso-expired ") && l.contains("expired 2h 00m ago")),
        "{text}"
    );
    assert!(
        text.contains("  sso-missing: SSO token of sso-session missing: aws-cred sso-login --sso-session missing"),
        "{text}"
    );
    assert!(
        text.contains("  mfa-nosession: MFA session (device arn:aws:iam::123456789012:mfa/bob): aws-cred mfa CODE --profile mfa-nosession"),
        "{text}"
    );
    assert!(
        text.contains("Cognito sign-ins (aws-cred cognito):\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "user alice in eu-west-1_Pool: tokens refreshable: AWS credentials valid, 3h 00m left"
        ),
        "{text}"
    );
    assert!(text.contains("guest of eu-west-1:pool-2"), "{text}");
    // NO_COLOR unset changes nothing off a terminal.
    let out = run(sb
        .cmd()
        .env_remove("NO_COLOR")
        .env("AWS_CRED_TEST_NOW", NOW)
        .arg("status"));
    assert!(!out.stdout_str().contains('\x1b'));
}

#[test]
fn one_profile_in_detail_walks_its_plan_without_calling_anything() {
    let sb = fixtures();
    let out = status(&sb, &["--profile", "role-mfa"]);
    out.assert_success();
    let text = out.stdout_str();
    assert!(
        text.contains("profile: role-mfa\nfile:    config\nkind:    role\n"),
        "{text}"
    );
    assert!(
        text.contains("  1. long-term keys of profile mfa-user (credentials)\n  2. MFA session (device arn:aws:iam::123456789012:mfa/alice) made from profile mfa-user by aws-cred mfa: valid, 3h 00m left\n  3. assume role arn:aws:iam::123456789012:role/Admin (profile role-mfa)\n"),
        "{text}"
    );
    let out = status(&sb, &["--profile", "role-chain", "--json"]);
    out.assert_success();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout_str()).unwrap();
    let plan = doc["profiles"][0]["plan"].as_array().unwrap();
    assert_eq!(plan.len(), 3);
    assert_eq!(
        plan[2]["step"],
        "assume role arn:aws:iam::444444444444:role/Top (profile role-chain)"
    );
    assert_eq!(doc["cognito"].as_array().unwrap().len(), 0);

    let out = status(&sb, &["--profile", "nope"]);
    out.assert_code(2);
    assert!(
        out.stderr_str()
            .starts_with("error: profile \"nope\" (from --profile) is not in"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn control_characters_from_the_files_are_escaped_for_people_and_exact_in_json() {
    let sb = Sandbox::new();
    sb.write_config("[profile evil]\nregion = us\x1b[31m-east-1\n");
    let out = status(&sb, &[]);
    out.assert_success();
    let text = out.stdout_str();
    assert!(
        !text.contains('\x1b') && text.contains("us\\x1b[31m-east-1"),
        "{text}"
    );
    let out = status(&sb, &["--json"]);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout_str()).unwrap();
    assert_eq!(doc["profiles"][0]["region"], "us\x1b[31m-east-1");
}

#[test]
fn no_files_no_profiles() {
    let sb = Sandbox::new();
    let out = status(&sb, &[]);
    out.assert_success();
    assert_eq!(
        out.stdout_str(),
        "no profiles in the config or credentials file\n"
    );
}

/// `--check` over many profiles (they are checked several at a time, a credential_process one
/// alone): every row keeps its own answer, in name order, in the table as in the JSON.
#[test]
fn check_answers_stay_with_their_profiles() {
    let sb = Sandbox::new();
    let mut users = std::collections::HashMap::new();
    let mut credentials = String::new();
    for i in 0..24 {
        let key = format!("AKIAKEYS{i:012}");
        credentials.push_str(&format!(
            "[k{i:02}]\naws_access_key_id = {key}\naws_secret_access_key = s\n"
        ));
        users.insert(
            key,
            (
                format!("user{i:02}"),
                format!("arn:aws:iam::123456789012:mfa/user{i:02}"),
            ),
        );
    }
    sb.write_credentials(&credentials);
    let script = sb.write(
        "process.sh",
        "printf '{\"Version\": 1, \"AccessKeyId\": \"AKIAKEYS000000000007\", \"SecretAccessKey\": \"s\"}'\n",
    );
    sb.write_config(&format!(
        "[profile proc]\ncredential_process = sh {}\n[profile nothing]\nregion = us-east-1\n",
        script.display()
    ));
    let sts = fake_sts::FakeSts::start(fake_sts::StsRules {
        users,
        ..Default::default()
    });
    let out = run(sb
        .cmd()
        .env("AWS_ENDPOINT_URL_STS", sts.url())
        .args(["status", "--check", "--json"]));
    // The whole report, and exit 1 because a check failed (issue 23, item 10).
    assert_eq!(out.code(), Some(1), "{}", out.stderr_str());
    assert!(
        out.stderr_str()
            .contains("1 of 26 profiles failed the check"),
        "{}",
        out.stderr_str()
    );
    let doc: serde_json::Value = serde_json::from_str(&out.stdout_str()).unwrap();
    let profiles = doc["profiles"].as_array().unwrap();
    let names: Vec<&str> = profiles
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let mut expected: Vec<String> = (0..24).map(|i| format!("k{i:02}")).collect();
    expected.extend(["nothing".to_string(), "proc".to_string()]);
    assert_eq!(names, expected);
    for profile in profiles {
        let name = profile["name"].as_str().unwrap();
        let check = &profile["check"];
        let user = match name {
            "nothing" => {
                assert_eq!(check["ok"], false, "{name}: {check}");
                continue;
            }
            "proc" => "user07".to_string(),
            _ => format!("user{}", &name[1..]),
        };
        assert_eq!(check["ok"], true, "{name}: {check}");
        let arn = check["arn"].as_str().unwrap();
        assert!(arn.ends_with(&format!("/{user}")), "{name}: {arn}");
    }
    let table = run(sb
        .cmd()
        .env("AWS_ENDPOINT_URL_STS", sts.url())
        .args(["status", "--check"]));
    assert_eq!(table.code(), Some(1), "{}", table.stderr_str());
    let text = table.stdout_str();
    assert_eq!(text.matches("; checked").count(), 25, "{text}");
    assert!(text.contains("nothing: check failed"), "{text}");
}

#[test]
fn check_confirms_each_profile_with_get_caller_identity() {
    let sb = Sandbox::new();
    sb.write_credentials(
        "[good]\naws_access_key_id = AKIAGOOD000000000001\naws_secret_access_key = s\n",
    );
    sb.write_config("[profile empty]\nregion = us-east-1\n");
    let mut users = std::collections::HashMap::new();
    users.insert(
        "AKIAGOOD000000000001".to_string(),
        (
            "good".to_string(),
            "arn:aws:iam::123456789012:mfa/good".to_string(),
        ),
    );
    let sts = fake_sts::FakeSts::start(fake_sts::StsRules {
        users,
        ..Default::default()
    });
    let out = run(sb
        .cmd()
        .env("AWS_ENDPOINT_URL_STS", sts.url())
        .args(["status", "--check", "--json"]));
    assert_eq!(out.code(), Some(1), "{}", out.stderr_str());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout_str()).unwrap();
    let good = &doc["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "good")
        .unwrap()["check"];
    assert_eq!(good["ok"], true, "{doc}");
    assert!(
        good["arn"].as_str().unwrap().starts_with("arn:aws:"),
        "{doc}"
    );
    let empty = &doc["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "empty")
        .unwrap()["check"];
    assert_eq!(empty["ok"], false, "{doc}");
    // Every check passes: exit 0.
    let out = run(sb.cmd().env("AWS_ENDPOINT_URL_STS", sts.url()).args([
        "status",
        "--check",
        "--profile",
        "good",
    ]));
    out.assert_success();
    let out = run(sb.cmd().env("AWS_ENDPOINT_URL_STS", sts.url()).args([
        "status",
        "--check",
        "--profile",
        "empty",
    ]));
    assert_eq!(out.code(), Some(1), "{}", out.stderr_str());
    assert!(!out.stdout.is_empty(), "the detail is printed");
}

/// More profiles than one batch holds (`status` parses 256 at a time on a second thread):
/// every profile once, in name order, each role with the source that sits in another batch,
/// the `-long-term` convention across batches, and the table agreeing with the JSON.
#[test]
fn many_profiles_are_read_in_batches_and_each_is_listed_once_in_order() {
    let sb = Sandbox::new();
    let mut config = String::from("[default]\nregion = eu-west-1\n");
    let mut credentials = String::new();
    for i in 0..700 {
        match i % 7 {
            // A role whose source (keys: 352 % 7 == 2) is far away in name order: another
            // batch.
            0 => config.push_str(&format!(
                "[profile p{i:03}]\nrole_arn = arn:aws:iam::123456789012:role/R{i}\nsource_profile = p{:03}\n",
                (i + 352) % 700
            )),
            // The aws-mfa convention: [pNNN-long-term] holds the keys of [pNNN].
            1 => {
                config.push_str(&format!("[profile p{i:03}]\nmfa_serial = {MFA_SERIAL}\n"));
                credentials.push_str(&format!(
                    "[p{i:03}-long-term]\naws_access_key_id = AKIALONG{i:012}\naws_secret_access_key = secret-{i}\n"
                ));
            }
            _ => credentials.push_str(&format!(
                "[p{i:03}]\naws_access_key_id = AKIAKEYS{i:012}\naws_secret_access_key = secret-{i}\n"
            )),
        }
    }
    sb.write_config(&config);
    sb.write_credentials(&credentials);
    let out = status(&sb, &["--json"]);
    out.assert_success();
    assert_no_secrets(&out);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout_str()).unwrap();
    let profiles = doc["profiles"].as_array().unwrap();
    let names: Vec<&str> = profiles
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let mut expected: Vec<String> = (0..700).map(|i| format!("p{i:03}")).collect();
    expected.extend(
        (0..700)
            .filter(|i| i % 7 == 1)
            .map(|i| format!("p{i:03}-long-term")),
    );
    expected.push("default".into());
    expected.sort();
    assert_eq!(names, expected);
    for profile in profiles {
        let name = profile["name"].as_str().unwrap();
        let Some(i) = name
            .strip_prefix('p')
            .and_then(|n| n.get(..3))
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|_| !name.ends_with("-long-term"))
        else {
            continue;
        };
        let source = profile["source"].as_str().unwrap();
        match i % 7 {
            0 => {
                let keys = format!(
                    "arn:aws:iam::123456789012:role/R{i} <- long-term keys of profile p{:03} (credentials)",
                    (i + 352) % 700
                );
                assert_eq!(profile["kind"], "role", "{name}");
                assert_eq!(source, keys, "{name}");
            }
            1 => {
                assert_eq!(profile["kind"], "mfa", "{name}");
                assert!(
                    source.contains(&format!(
                        "made from profile p{i:03}-long-term (credentials)"
                    )),
                    "{name}: {source}"
                );
            }
            _ => assert_eq!(profile["kind"], "static", "{name}"),
        }
    }
    let table = status(&sb, &[]);
    table.assert_success();
    let lines = table.stdout_str();
    let rows: Vec<&str> = lines
        .lines()
        .skip(1)
        .take_while(|line| !line.is_empty())
        .map(|line| line.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(rows, names);
}

/// The thread that parses the batches dies (a panic, forced by a debug-build switch) after the
/// first batch: the run fails with a message instead of ending the list early with status 0,
/// and the table prints nothing.
#[test]
fn a_parser_that_dies_fails_the_run_instead_of_cutting_the_list() {
    let sb = Sandbox::new();
    let credentials: String = (0..600)
        .map(|i| format!("[p{i:03}]\naws_access_key_id = AKIAKEYS{i:012}\naws_secret_access_key = secret-{i}\n"))
        .collect();
    sb.write_credentials(&credentials);
    let die = ("AWS_CRED_TEST_STATUS_PARSER_PANIC_AFTER", "1");
    let table = run(sb.cmd().env(die.0, die.1).arg("status"));
    assert_eq!(table.status.code(), Some(1), "{}", table.stderr_str());
    assert!(table.stdout.is_empty(), "{}", table.stdout_str());
    assert!(
        table.stderr_str().contains("the report is incomplete"),
        "{}",
        table.stderr_str()
    );
    let json = run(sb.cmd().env(die.0, die.1).args(["status", "--json"]));
    assert_eq!(json.status.code(), Some(1), "{}", json.stderr_str());
    assert!(
        serde_json::from_slice::<serde_json::Value>(&json.stdout).is_err(),
        "a cut report must not parse as a whole one"
    );
    assert_no_secrets(&json);
    // Without the switch, all 600.
    let whole = status(&sb, &["--json"]);
    whole.assert_success();
    let doc: serde_json::Value = serde_json::from_str(&whole.stdout_str()).unwrap();
    assert_eq!(doc["profiles"].as_array().unwrap().len(), 600);
}

/// Issue 22, item 16: a 3,000-deep source_profile chain: each profile is followed at most 64
/// deep (it was every profile to the end: 52 s, 504 MB, 180 MB of output), the deep ones say
/// why, and the report stays small.
#[test]
fn a_very_deep_source_profile_chain_is_cut_at_the_cap_and_says_so() {
    let sb = Sandbox::new();
    let depth = 3000;
    let mut config = String::new();
    for i in 0..depth {
        config.push_str(&format!(
            "[profile p{i}]\nrole_arn = arn:aws:iam::123456789012:role/r{i}\nsource_profile = p{}\n",
            i + 1
        ));
    }
    sb.write_config(&config);
    sb.write_credentials(&format!(
        "[p{depth}]\naws_access_key_id = AKIA\naws_secret_access_key = s\n"
    ));
    let out = run(sb.cmd().args(["status", "--json"]));
    out.assert_success();
    assert!(
        out.stdout.len() < 8 * 1024 * 1024,
        "{} bytes",
        out.stdout.len()
    );
    let doc: serde_json::Value = serde_json::from_str(&out.stdout_str()).unwrap();
    let profiles = doc["profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), depth + 1);
    let find = |name: &str| profiles.iter().find(|p| p["name"] == name).unwrap();
    assert_eq!(find("p0")["kind"], "invalid");
    assert!(
        find("p0")["reason"]
            .as_str()
            .unwrap()
            .contains("longer than 64 profiles"),
        "{}",
        find("p0")
    );
    // Near the keys, the chain is short enough: a role.
    assert_eq!(find(&format!("p{}", depth - 10))["kind"], "role");
}
