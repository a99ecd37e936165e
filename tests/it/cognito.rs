//! `aws-cred cognito` against a loopback Cognito that really verifies SRP proofs and
//! SECRET_HASH (tests/it/fakes/cognito.rs), and against moto_server for what moto checks
//! (USER_PASSWORD_AUTH, NEW_PASSWORD_REQUIRED, REFRESH_TOKEN_AUTH, TOTP, identity pools), ending
//! with the runbook's check: eval the exports, then `aws sts get-caller-identity`.

use crate::fakes::cognito as fake_cognito;
use crate::support;

use fake_cognito::{
    CLIENT_ID, Config, FakeCognito, IDENTITY_POOL_ID, MFA_CODE, Mfa, POOL_ID, Status, User,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::{Moto, OutputExt, Sandbox, run, run_with_input};

const ALICE_PW: &str = "Alice-Passw0rd!";
const BOB_PW: &str = "Bob-Passw0rd!";
const SECRET: &str = "s3cr3t-of-the-app-client-0123456789abcdef";
const ROLE: &str = "arn:aws:iam::123456789012:role/Editors";

fn users() -> Vec<User> {
    vec![User::new("alice", ALICE_PW), User::new("bob", BOB_PW)]
}

fn config() -> Config {
    Config {
        users: users(),
        ..Config::default()
    }
}

/// A sandbox whose `[profile myapp]` names the fake's pools.
fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.write_config(&format!(
        "[profile myapp]\nregion = us-east-1\ncognito_user_pool_id = {POOL_ID}\ncognito_client_id = {CLIENT_ID}\ncognito_identity_pool_id = {IDENTITY_POOL_ID}\n"
    ));
    sb
}

fn cmd(sb: &Sandbox, fake: &FakeCognito) -> Command {
    let mut cmd = sb.cmd();
    cmd.env("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", fake.url())
        .env("AWS_ENDPOINT_URL_COGNITO_IDENTITY", fake.url());
    cmd
}

/// `aws-cred cognito ARGS --profile myapp` with the password in the variable.
fn cognito(sb: &Sandbox, fake: &FakeCognito, password: &str, args: &[&str]) -> Output {
    let out = run(cmd(sb, fake)
        .env("AWS_CRED_COGNITO_PASSWORD", password)
        .arg("cognito")
        .args(args)
        .args(["--profile", "myapp"]));
    assert_no_secrets(&out, &[password]);
    out
}

fn exported(stdout: &str, name: &str) -> Option<String> {
    let prefix = format!("export {name}='");
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.trim_end_matches('\'').to_string())
}

/// Another program (a shell, `script`) with the sandbox's environment, aws-cred first on PATH,
/// and the Cognito endpoints at `endpoint`.
fn other_program(sb: &Sandbox, program: &Path, endpoint: &str) -> Command {
    let mut c = Command::new(program);
    c.env_clear()
        .env("PATH", support::path_with_aws_cred())
        .env("HOME", sb.home())
        .env("AWS_CONFIG_FILE", sb.config_path())
        .env("AWS_SHARED_CREDENTIALS_FILE", sb.credentials_path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("LANG", "C.UTF-8")
        .env("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", endpoint)
        .env("AWS_ENDPOINT_URL_COGNITO_IDENTITY", endpoint)
        .current_dir(sb.home())
        .stdin(std::process::Stdio::null());
    c
}

/// Nothing secret on stderr: passwords, tokens, secret keys, the client secret.
fn assert_no_secrets(out: &Output, extra: &[&str]) {
    let stderr = out.stderr_str();
    for needle in ["c2lnbmF0dXJl", "secret-", "token-", "refresh-", SECRET]
        .iter()
        .chain(extra)
    {
        assert!(
            !stderr.contains(needle),
            "stderr shows a secret ({needle}):\n{stderr}"
        );
    }
}

/// A failure: the exit code, nothing on stdout, and the hint.
fn assert_fails(out: &Output, code: i32, hint_part: &str) {
    out.assert_code(code);
    out.assert_failed_eval();
    let stderr = out.stderr_str();
    assert!(
        stderr.contains(hint_part),
        "stderr should mention {hint_part:?}:\n{stderr}"
    );
}

fn cache_files(sb: &Sandbox) -> Vec<PathBuf> {
    let dir = sb.home_path(".aws/aws-cred/cache/cognito");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

// ---------------------------------------------------------------------------------------------
// SRP against the verifying fake
// ---------------------------------------------------------------------------------------------

#[test]
fn srp_signs_in_against_a_server_that_verifies_the_proof() {
    let sb = sandbox();
    let fake = FakeCognito::start(config());
    let out = cognito(&sb, &fake, ALICE_PW, &["--user", "alice"]);
    out.assert_success();
    let stdout = out.stdout_str();
    assert!(
        exported(&stdout, "AWS_ACCESS_KEY_ID")
            .unwrap()
            .starts_with("ASIAALICEAUTHENTICATED")
    );
    assert!(exported(&stdout, "AWS_SESSION_TOKEN").is_some());
    assert!(exported(&stdout, "AWS_CREDENTIAL_EXPIRATION").is_some());
    assert_eq!(
        exported(&stdout, "AWS_REGION").as_deref(),
        Some("us-east-1")
    );
    assert!(stdout.contains("\nunset AWS_PROFILE\n"));
    assert!(
        !stdout.contains("COGNITO_ID_TOKEN"),
        "tokens only with --tokens"
    );
    assert_eq!(
        fake.operations(),
        [
            "InitiateAuth",
            "RespondToAuthChallenge",
            "GetId",
            "GetCredentialsForIdentity"
        ]
    );
    let init = &fake.bodies("InitiateAuth")[0];
    assert_eq!(init["AuthFlow"], "USER_SRP_AUTH");
    assert_eq!(init["AuthParameters"]["USERNAME"], "alice");
    assert!(init["AuthParameters"].get("SECRET_HASH").is_none());
    let answer = &fake.bodies("RespondToAuthChallenge")[0];
    assert_eq!(answer["ChallengeName"], "PASSWORD_VERIFIER");
    // SRP: the password never travels.
    for req in fake.http.requests() {
        assert!(!req.body_str().contains(ALICE_PW));
    }
    let get_id = &fake.bodies("GetId")[0];
    assert!(get_id["Logins"][fake_cognito::provider_name()].is_string());
    let stderr = out.stderr_str();
    assert!(stderr.contains("signed in with USER_SRP_AUTH"), "{stderr}");
    assert!(stderr.contains("identity us-east-1:"), "{stderr}");
}

#[test]
fn srp_with_a_wrong_password_fails_and_caches_nothing() {
    let sb = sandbox();
    let fake = FakeCognito::start(config());
    let out = cognito(&sb, &fake, "Alice-Passw0rd?", &["--user", "alice"]);
    assert_fails(&out, 1, "wrong user name or password for alice");
    assert!(out.stderr_str().contains("hint:"));
    assert_eq!(fake.count("GetId"), 0);
    for file in cache_files(&sb) {
        assert!(!std::fs::read_to_string(file).unwrap().contains("id_token"));
    }
}

#[test]
fn password_and_admin_flows() {
    let sb = sandbox();
    let fake = FakeCognito::start(config());
    let out = cognito(
        &sb,
        &fake,
        ALICE_PW,
        &["--user", "alice", "--auth-flow", "password"],
    );
    out.assert_success();
    let init = &fake.bodies("InitiateAuth")[0];
    assert_eq!(init["AuthFlow"], "USER_PASSWORD_AUTH");
    assert_eq!(init["AuthParameters"]["PASSWORD"], ALICE_PW);

    // The admin flow is signed with the chain's credentials (here: a profile with keys).
    sb.write_credentials(
        "[myapp]\naws_access_key_id = AKIAADMIN00000000001\naws_secret_access_key = adminsecret\n",
    );
    let out = cognito(
        &sb,
        &fake,
        BOB_PW,
        &["--user", "bob", "--auth-flow", "admin"],
    );
    out.assert_success();
    let admin = fake.requests_for("AdminInitiateAuth");
    assert_eq!(admin.len(), 1);
    assert!(
        admin[0]
            .header("authorization")
            .unwrap()
            .contains("Credential=AKIAADMIN00000000001/")
    );
    let body: serde_json::Value = serde_json::from_slice(&admin[0].body).unwrap();
    assert_eq!(body["AuthFlow"], "ADMIN_USER_PASSWORD_AUTH");
    assert_eq!(body["UserPoolId"], POOL_ID);
    assert!(
        exported(&out.stdout_str(), "AWS_ACCESS_KEY_ID")
            .unwrap()
            .starts_with("ASIABOB")
    );

    // Without any AWS credentials the admin flow says why it needs them.
    let sb2 = sandbox();
    let out = cognito(
        &sb2,
        &fake,
        BOB_PW,
        &["--user", "bob", "--auth-flow", "admin"],
    );
    out.assert_code(3);
    out.assert_failed_eval();
    assert!(
        out.stderr_str()
            .contains("ADMIN_USER_PASSWORD_AUTH is signed with AWS credentials")
    );
}

// ---------------------------------------------------------------------------------------------
// Client secrets, aliases, refresh
// ---------------------------------------------------------------------------------------------

/// alice's internal name is a UUID; she signs in with her email address.
fn alias_config() -> Config {
    let mut alice = User::new("7d1c4e2a-9b3f-4a51-8c6d-0e2f3a4b5c6d", ALICE_PW);
    alice.aliases = vec!["alice@example.com".to_string()];
    Config {
        users: vec![alice, User::new("bob", BOB_PW)],
        client_secret: Some(SECRET.to_string()),
        ..Config::default()
    }
}

#[test]
fn secret_client_hashes_the_alias_then_the_internal_name() {
    let sb = sandbox();
    let fake = FakeCognito::start(alias_config());
    let out = run(cmd(&sb, &fake)
        .env("AWS_CRED_COGNITO_PASSWORD", ALICE_PW)
        .env("AWS_CRED_COGNITO_CLIENT_SECRET", SECRET)
        .args([
            "cognito",
            "--user",
            "alice@example.com",
            "--profile",
            "myapp",
        ]));
    out.assert_success();
    assert_no_secrets(&out, &[ALICE_PW]);
    let init = &fake.bodies("InitiateAuth")[0];
    assert_eq!(
        init["AuthParameters"]["SECRET_HASH"],
        fake_cognito::secret_hash(SECRET, "alice@example.com")
    );
    let answer = &fake.bodies("RespondToAuthChallenge")[0];
    assert_eq!(
        answer["ChallengeResponses"]["USERNAME"],
        "7d1c4e2a-9b3f-4a51-8c6d-0e2f3a4b5c6d"
    );
}

#[test]
fn missing_or_wrong_client_secret() {
    let sb = sandbox();
    let fake = FakeCognito::start(alias_config());
    let out = cognito(&sb, &fake, BOB_PW, &["--user", "bob"]);
    assert_fails(&out, 2, "AWS_CRED_COGNITO_CLIENT_SECRET");
    assert!(
        out.stderr_str()
            .contains("has a client secret, and none was given")
    );

    let out = cognito(
        &sb,
        &fake,
        BOB_PW,
        &["--user", "bob", "--client-secret", "not-the-secret"],
    );
    assert_fails(&out, 2, "does not belong to app client");
    assert!(out.stderr_str().contains("from --client-secret"));

    // The profile key works too, and a flag beats it.
    sb.write_config(&format!(
        "[profile myapp]\ncognito_user_pool_id = {POOL_ID}\ncognito_client_id = {CLIENT_ID}\ncognito_identity_pool_id = {IDENTITY_POOL_ID}\ncognito_client_secret = {SECRET}\n"
    ));
    let out = cognito(
        &sb,
        &fake,
        BOB_PW,
        &["--user", "bob", "--client-secret", "not-the-secret"],
    );
    assert_fails(&out, 2, "does not belong");
    cognito(&sb, &fake, BOB_PW, &["--user", "bob"]).assert_success();
}

#[test]
fn expired_tokens_are_refreshed_with_the_internal_name_then_sign_in_again_when_revoked() {
    let sb = sandbox();
    let mut config = alias_config();
    // Tokens live 2 minutes: less than the 5-minute reuse margin, so the next run refreshes.
    config.token_seconds = 120;
    config.credentials_seconds = 120;
    let fake = FakeCognito::start(config);
    let base = |sb: &Sandbox| {
        let mut c = cmd(sb, &fake);
        c.env("AWS_CRED_COGNITO_CLIENT_SECRET", SECRET).args([
            "cognito",
            "--user",
            "alice@example.com",
            "--profile",
            "myapp",
        ]);
        c
    };
    run(base(&sb).env("AWS_CRED_COGNITO_PASSWORD", ALICE_PW)).assert_success();

    // No password this time: the refresh token is enough.
    let out = run(&mut base(&sb));
    out.assert_success();
    assert!(
        out.stderr_str().contains("tokens refreshed"),
        "{}",
        out.stderr_str()
    );
    let inits = fake.bodies("InitiateAuth");
    assert_eq!(inits.len(), 2);
    assert_eq!(inits[1]["AuthFlow"], "REFRESH_TOKEN_AUTH");
    assert_eq!(
        inits[1]["AuthParameters"]["SECRET_HASH"],
        fake_cognito::secret_hash(SECRET, "7d1c4e2a-9b3f-4a51-8c6d-0e2f3a4b5c6d"),
        "refreshes hash the internal user name"
    );
    assert_eq!(fake.count("GetId"), 1, "the identity id is cached");

    // A revoked refresh token means a full sign-in, which needs the password again.
    fake.revoke_refresh_tokens();
    let out = run(&mut base(&sb));
    assert_fails(&out, 2, "--password-stdin");
    let out = run(base(&sb).env("AWS_CRED_COGNITO_PASSWORD", ALICE_PW));
    out.assert_success();
    let stderr = out.stderr_str();
    assert!(
        stderr.contains("refresh token was not accepted"),
        "{stderr}"
    );
    assert!(stderr.contains("signed in with USER_SRP_AUTH"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// Challenges
// ---------------------------------------------------------------------------------------------

#[test]
fn new_password_required() {
    let sb = sandbox();
    let mut config = config();
    config.users[0].status = Status::ForceChangePassword;
    let fake = FakeCognito::start(config);
    let out = cognito(&sb, &fake, ALICE_PW, &["--user", "alice"]);
    assert_fails(&out, 2, "--new-password");
    assert!(
        out.stderr_str()
            .contains("requires a new password for alice")
    );

    let out = cognito(
        &sb,
        &fake,
        ALICE_PW,
        &["--user", "alice", "--new-password", "short"],
    );
    assert_fails(&out, 2, "password policy");

    let out = run(cmd(&sb, &fake)
        .env("AWS_CRED_COGNITO_PASSWORD", ALICE_PW)
        .env("AWS_CRED_COGNITO_NEW_PASSWORD", "Brand-New-Passw0rd")
        .args(["cognito", "--user", "alice", "--profile", "myapp"]));
    out.assert_success();
    assert_no_secrets(&out, &[ALICE_PW, "Brand-New-Passw0rd"]);
    assert_eq!(fake.password_of("alice"), "Brand-New-Passw0rd");
    let answers = fake.bodies("RespondToAuthChallenge");
    let last = answers.last().unwrap();
    assert_eq!(last["ChallengeName"], "NEW_PASSWORD_REQUIRED");
    assert_eq!(last["ChallengeResponses"]["USERNAME"], "alice");
    assert!(last["Session"].is_string());
}

#[test]
fn software_token_and_sms_mfa() {
    let sb = sandbox();
    let mut config = config();
    config.users[0].mfa = Some(Mfa::Totp);
    config.users[1].mfa = Some(Mfa::Sms);
    config.client_secret = Some(SECRET.to_string());
    let fake = FakeCognito::start(config);
    let with_secret = |user: &str, pw: &str, extra: &[&str]| {
        let out = run(cmd(&sb, &fake)
            .env("AWS_CRED_COGNITO_PASSWORD", pw)
            .env("AWS_CRED_COGNITO_CLIENT_SECRET", SECRET)
            .args(["cognito", "--user", user, "--profile", "myapp"])
            .args(extra));
        assert_no_secrets(&out, &[pw]);
        out
    };

    let out = with_secret("alice", ALICE_PW, &[]);
    assert_fails(&out, 2, "--mfa-code");
    assert!(out.stderr_str().contains("SOFTWARE_TOKEN_MFA"));
    assert_fails(
        &with_secret("alice", ALICE_PW, &["--mfa-code", "12345"]),
        2,
        "6 digits",
    );
    assert_fails(
        &with_secret("alice", ALICE_PW, &["--mfa-code", "654321"]),
        1,
        "the MFA code is wrong",
    );
    with_secret("alice", ALICE_PW, &["--mfa-code", MFA_CODE]).assert_success();
    let answers = fake.bodies("RespondToAuthChallenge");
    let totp = answers.last().unwrap();
    assert_eq!(totp["ChallengeName"], "SOFTWARE_TOKEN_MFA");
    assert_eq!(
        totp["ChallengeResponses"]["SOFTWARE_TOKEN_MFA_CODE"],
        MFA_CODE
    );

    let out = with_secret("bob", BOB_PW, &[]);
    assert_fails(&out, 2, "SMS_MFA");
    with_secret("bob", BOB_PW, &["--mfa-code", MFA_CODE]).assert_success();
    let answers = fake.bodies("RespondToAuthChallenge");
    let sms = answers.last().unwrap();
    assert_eq!(sms["ChallengeName"], "SMS_MFA");
    assert_eq!(sms["ChallengeResponses"]["SMS_MFA_CODE"], MFA_CODE);
    assert_eq!(
        sms["ChallengeResponses"]["SECRET_HASH"],
        fake_cognito::secret_hash(SECRET, "bob")
    );
}

// ---------------------------------------------------------------------------------------------
// Cache, scripts, several users
// ---------------------------------------------------------------------------------------------

#[test]
fn fifty_calls_sign_in_once() {
    let sb = sandbox();
    let fake = FakeCognito::start(config());
    for _ in 0..50 {
        let out = cognito(
            &sb,
            &fake,
            ALICE_PW,
            &["--user", "alice", "--format", "json"],
        );
        out.assert_success();
        let doc: serde_json::Value = serde_json::from_str(&out.stdout_str()).unwrap();
        assert_eq!(doc["Version"], 1);
    }
    assert_eq!(fake.count("InitiateAuth"), 1);
    assert_eq!(fake.count("RespondToAuthChallenge"), 1);
    assert_eq!(fake.count("GetId"), 1);
    assert_eq!(fake.count("GetCredentialsForIdentity"), 1);
}

#[test]
fn two_users_in_one_script_get_distinct_credentials_and_caches() {
    let Some(sh) = support::find_program("sh") else {
        return;
    };
    let sb = sandbox();
    let fake = FakeCognito::start(config());
    let script = r#"
set -e
eval "$(AWS_CRED_COGNITO_PASSWORD="$ALICE_PW" aws-cred cognito --user alice --profile myapp --tokens)"
echo "alice $AWS_ACCESS_KEY_ID $COGNITO_IDENTITY_ID ${#COGNITO_ID_TOKEN}"
eval "$(AWS_CRED_COGNITO_PASSWORD="$BOB_PW" aws-cred cognito --user bob --profile myapp --tokens)"
echo "bob $AWS_ACCESS_KEY_ID $COGNITO_IDENTITY_ID ${#COGNITO_ID_TOKEN}"
eval "$(aws-cred cognito --user alice --profile myapp)"
echo "alice-again $AWS_ACCESS_KEY_ID"
"#;
    let out = run(other_program(&sb, &sh, &fake.url())
        .env("ALICE_PW", ALICE_PW)
        .env("BOB_PW", BOB_PW)
        .args(["-c", script]));
    out.assert_success();
    assert_no_secrets(&out, &[ALICE_PW, BOB_PW]);
    let lines: Vec<Vec<String>> = out
        .stdout_str()
        .lines()
        .map(|l| l.split(' ').map(str::to_string).collect())
        .collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout_str());
    let (alice, bob, again) = (&lines[0], &lines[1], &lines[2]);
    assert!(alice[1].starts_with("ASIAALICE"), "{alice:?}");
    assert!(bob[1].starts_with("ASIABOB"), "{bob:?}");
    assert_ne!(alice[2], bob[2], "distinct identities");
    assert!(alice[3].parse::<usize>().unwrap() > 20, "ID token exported");
    assert_eq!(again[1], alice[1], "alice's cached credentials");
    assert_eq!(fake.count("InitiateAuth"), 2);

    let files = cache_files(&sb);
    assert_eq!(files.len(), 2);
    for file in &files {
        assert_eq!(mode(file), 0o600);
        let name = file.file_name().unwrap().to_string_lossy();
        assert!(!name.contains("alice") && !name.contains("bob"));
        let text = std::fs::read_to_string(file).unwrap();
        assert!(!text.contains(ALICE_PW) && !text.contains(BOB_PW));
    }
    assert_eq!(mode(&sb.home_path(".aws/aws-cred/cache/cognito")), 0o700);
}

#[test]
fn tokens_and_identity_id_in_json_and_shell() {
    let sb = sandbox();
    let fake = FakeCognito::start(config());
    let out = cognito(
        &sb,
        &fake,
        ALICE_PW,
        &["--user", "alice", "--tokens", "--format", "json"],
    );
    out.assert_success();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout_str()).unwrap();
    assert!(doc["CognitoIdToken"].as_str().unwrap().contains('.'));
    assert!(doc["CognitoAccessToken"].as_str().unwrap().contains('.'));
    assert!(
        doc["CognitoIdentityId"]
            .as_str()
            .unwrap()
            .starts_with("us-east-1:")
    );
    assert!(
        doc["SecretAccessKey"]
            .as_str()
            .unwrap()
            .starts_with("secret-alice")
    );

    let out = cognito(
        &sb,
        &fake,
        ALICE_PW,
        &["--user", "alice", "--format", "fish", "--tokens"],
    );
    out.assert_success();
    assert!(out.stdout_str().contains("set -gx COGNITO_ID_TOKEN '"));

    // --write-profile writes the credentials; tokens cannot go there.
    let out = cognito(
        &sb,
        &fake,
        ALICE_PW,
        &["--user", "alice", "--write-profile", "alice"],
    );
    out.assert_success();
    assert_eq!(out.stdout_str(), "");
    assert!(
        sb.read("home/.aws/credentials")
            .contains("[alice]\naws_access_key_id = ASIAALICE")
    );
    let out = cognito(
        &sb,
        &fake,
        ALICE_PW,
        &["--user", "alice", "--write-profile", "alice", "--tokens"],
    );
    out.assert_code(2);
}

// ---------------------------------------------------------------------------------------------
// Identity pool: guests, roles, trust, stale identities
// ---------------------------------------------------------------------------------------------

#[test]
fn unauthenticated_guests() {
    let sb = sandbox();
    let fake = FakeCognito::start(config());
    let out = run(cmd(&sb, &fake).args(["cognito", "--unauthenticated", "--profile", "myapp"]));
    out.assert_success();
    assert!(
        exported(&out.stdout_str(), "AWS_ACCESS_KEY_ID")
            .unwrap()
            .starts_with("ASIAGUESTUNAUTHENTICATED")
    );
    assert!(fake.bodies("GetId")[0].get("Logins").is_none());
    assert_eq!(fake.count("InitiateAuth"), 0);
    // The guest identity (and its credentials) are cached.
    run(cmd(&sb, &fake).args(["cognito", "--unauthenticated", "--profile", "myapp"]))
        .assert_success();
    assert_eq!(fake.count("GetId"), 1);

    let out = run(cmd(&sb, &fake).args([
        "cognito",
        "--unauthenticated",
        "--user",
        "alice",
        "--profile",
        "myapp",
    ]));
    out.assert_code(2);

    let fake = FakeCognito::start(Config {
        allow_unauthenticated: false,
        ..config()
    });
    let sb = sandbox();
    let out = run(cmd(&sb, &fake).args(["cognito", "--unauthenticated", "--profile", "myapp"]));
    assert_fails(&out, 2, "sign in with --user NAME");
}

#[test]
fn custom_role_arn() {
    let sb = sandbox();
    let fake = FakeCognito::start(Config {
        custom_roles: vec![ROLE.to_string()],
        ..config()
    });
    let out = cognito(
        &sb,
        &fake,
        ALICE_PW,
        &["--user", "alice", "--role-arn", ROLE],
    );
    out.assert_success();
    assert!(
        exported(&out.stdout_str(), "AWS_ACCESS_KEY_ID")
            .unwrap()
            .starts_with("ASIAALICEEDITORS")
    );
    assert_eq!(
        fake.bodies("GetCredentialsForIdentity")[0]["CustomRoleArn"],
        ROLE
    );
    assert!(out.stderr_str().contains(&format!("role {ROLE}")));

    // Cached credentials are per role: the default role needs a new call.
    let out = cognito(&sb, &fake, ALICE_PW, &["--user", "alice"]);
    out.assert_success();
    assert!(
        exported(&out.stdout_str(), "AWS_ACCESS_KEY_ID")
            .unwrap()
            .starts_with("ASIAALICEAUTHENTICATED")
    );
    assert_eq!(fake.count("GetCredentialsForIdentity"), 2);
    assert_eq!(fake.count("InitiateAuth"), 1);

    let other = "arn:aws:iam::123456789012:role/Admins";
    let out = cognito(
        &sb,
        &fake,
        ALICE_PW,
        &["--user", "alice", "--role-arn", other],
    );
    assert_fails(
        &out,
        1,
        "--role-arn must be a role the pool may give this user",
    );
    let out = cognito(
        &sb,
        &fake,
        ALICE_PW,
        &["--user", "alice", "--role-arn", "Editors"],
    );
    assert_fails(&out, 2, "is not a role ARN");
}

#[test]
fn identity_pool_trust_failures() {
    let sb = sandbox();
    let fake = FakeCognito::start(Config {
        trusted_providers: vec!["cognito-idp.us-east-1.amazonaws.com/us-east-1_Other".into()],
        ..config()
    });
    let out = cognito(&sb, &fake, ALICE_PW, &["--user", "alice"]);
    assert_fails(&out, 2, "add the user pool as an authentication provider");
    assert!(out.stderr_str().contains("does not trust this user pool"));

    let sb = sandbox();
    let fake = FakeCognito::start(Config {
        role_trust_ok: false,
        ..config()
    });
    let out = cognito(&sb, &fake, ALICE_PW, &["--user", "alice"]);
    assert_fails(&out, 1, "TRUST policy");
    assert!(out.stderr_str().contains("access policy"));
    // The sign-in itself was kept: fixing the role needs no new sign-in.
    let out = cognito(&sb, &fake, ALICE_PW, &["--user", "alice"]);
    out.assert_code(1);
    assert_eq!(fake.count("InitiateAuth"), 1);
}

#[test]
fn a_cached_identity_the_pool_forgot_is_replaced() {
    let sb = sandbox();
    let fake = FakeCognito::start(Config {
        credentials_seconds: 60,
        ..config()
    });
    let first = cognito(&sb, &fake, ALICE_PW, &["--user", "alice", "--tokens"]);
    first.assert_success();
    fake.delete_identities();
    let second = cognito(&sb, &fake, ALICE_PW, &["--user", "alice", "--tokens"]);
    second.assert_success();
    assert_eq!(fake.count("GetId"), 2);
    assert_ne!(
        exported(&first.stdout_str(), "COGNITO_IDENTITY_ID"),
        exported(&second.stdout_str(), "COGNITO_IDENTITY_ID")
    );
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[test]
fn user_pool_errors_have_hints_and_empty_stdout() {
    let sb = sandbox();
    let mut config = config();
    config.users.push(User {
        status: Status::ResetRequired,
        ..User::new("carol", "Carol-Passw0rd!")
    });
    config.users.push(User {
        status: Status::Unconfirmed,
        ..User::new("dave", "Dave-Passw0rd!")
    });
    config.users.push(User {
        enabled: false,
        ..User::new("erin", "Erin-Passw0rd!")
    });
    let fake = FakeCognito::start(config);
    let cases: [(&str, &str, &[&str], i32, &str); 7] = [
        (
            "mallory",
            "Mallory-Passw0rd!",
            &[],
            1,
            "does not exist in user pool",
        ),
        (
            "carol",
            "Carol-Passw0rd!",
            &[],
            1,
            "admin-set-user-password",
        ),
        ("dave", "Dave-Passw0rd!", &[], 1, "admin-confirm-sign-up"),
        ("erin", "Erin-Passw0rd!", &[], 1, "admin-enable-user"),
        (
            "alice",
            "Wrong-Passw0rd!",
            &["--auth-flow", "password"],
            1,
            "wrong user name or password",
        ),
        (
            "alice",
            ALICE_PW,
            &["--client-id", "nosuchclient"],
            2,
            "check the user pool id",
        ),
        (
            "alice",
            ALICE_PW,
            &["--auth-flow", "admin"],
            3,
            "ADMIN_USER_PASSWORD_AUTH",
        ),
    ];
    for (user, pw, extra, code, hint) in cases {
        let mut args = vec!["--user", user];
        args.extend_from_slice(extra);
        let out = cognito(&sb, &fake, pw, &args);
        assert_fails(&out, code, hint);
        // The first line says what happened in the person's words, not AWS's exception name
        // (which follows as the cause).
        let stderr = out.stderr_str();
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            !first.contains("Exception") && !first.contains("failed:"),
            "{user}: {stderr}"
        );
    }
    let out = cognito(&sb, &fake, "Mallory-Passw0rd!", &["--user", "mallory"]);
    let stderr = out.stderr_str();
    assert!(
        stderr.starts_with("error: user mallory does not exist in user pool"),
        "{stderr}"
    );
    assert!(
        stderr.contains("caused by: InitiateAuth failed: UserNotFoundException"),
        "{stderr}"
    );
}

#[test]
fn flows_the_app_client_does_not_allow_are_named() {
    let sb = sandbox();
    let fake = FakeCognito::start(Config {
        flows: vec!["ALLOW_USER_PASSWORD_AUTH"],
        ..config()
    });
    let out = cognito(&sb, &fake, ALICE_PW, &["--user", "alice"]);
    assert_fails(&out, 2, "enable ALLOW_USER_SRP_AUTH");
    assert!(out.stderr_str().contains("does not allow USER_SRP_AUTH"));
    assert!(out.stderr_str().contains("--auth-flow"));

    let fake = FakeCognito::start(Config {
        flows: vec!["ALLOW_USER_SRP_AUTH"],
        ..config()
    });
    let out = cognito(
        &sb,
        &fake,
        ALICE_PW,
        &["--user", "alice", "--auth-flow", "password"],
    );
    assert_fails(&out, 2, "enable ALLOW_USER_PASSWORD_AUTH");
    sb.write_credentials(
        "[myapp]\naws_access_key_id = AKIAADMIN00000000001\naws_secret_access_key = adminsecret\n",
    );
    let out = cognito(
        &sb,
        &fake,
        ALICE_PW,
        &["--user", "alice", "--auth-flow", "admin"],
    );
    assert_fails(&out, 2, "enable ALLOW_ADMIN_USER_PASSWORD_AUTH");
}

#[test]
fn throttling_is_retried_then_explained() {
    let sb = sandbox();
    let fake = FakeCognito::start(Config {
        throttle: true,
        ..config()
    });
    let out = cognito(&sb, &fake, ALICE_PW, &["--user", "alice"]);
    assert_fails(&out, 1, "throttling");
    assert!(fake.count("InitiateAuth") >= 2, "the SDK retried");
}

// ---------------------------------------------------------------------------------------------
// Configuration and passwords
// ---------------------------------------------------------------------------------------------

#[test]
fn configuration_precedence_flags_then_variables_then_profile() {
    let sb = Sandbox::new();
    sb.write_config(&format!(
        "[profile myapp]\ncognito_user_pool_id = {POOL_ID}\ncognito_client_id = profileclient\ncognito_identity_pool_id = {IDENTITY_POOL_ID}\n"
    ));
    let fake = FakeCognito::start(config());
    // The profile's client id is wrong...
    let out = cognito(&sb, &fake, ALICE_PW, &["--user", "alice"]);
    assert_fails(&out, 2, "profileclient");
    // ...the variable beats it...
    let ok = run(cmd(&sb, &fake)
        .env("AWS_CRED_COGNITO_PASSWORD", ALICE_PW)
        .env("AWS_CRED_COGNITO_CLIENT_ID", CLIENT_ID)
        .args(["cognito", "--user", "alice", "--profile", "myapp"]));
    ok.assert_success();
    // ...and a flag beats the variable.
    let out = run(cmd(&sb, &fake)
        .env("AWS_CRED_COGNITO_PASSWORD", ALICE_PW)
        .env("AWS_CRED_COGNITO_CLIENT_ID", CLIENT_ID)
        .args([
            "cognito",
            "--user",
            "bob",
            "--profile",
            "myapp",
            "--client-id",
            "flagclient",
        ]));
    assert_fails(&out, 2, "flagclient");

    // Everything from flags, no profile at all.
    let bare = Sandbox::new();
    let out = run(cmd(&bare, &fake)
        .env("AWS_CRED_COGNITO_PASSWORD", BOB_PW)
        .args([
            "cognito",
            "--user",
            "bob",
            "--user-pool-id",
            POOL_ID,
            "--client-id",
            CLIENT_ID,
            "--identity-pool-id",
            IDENTITY_POOL_ID,
        ]));
    out.assert_success();

    // Missing and malformed settings are usage errors naming every way to set them.
    let out = run(cmd(&bare, &fake).args(["cognito", "--user", "bob"]));
    assert_fails(
        &out,
        2,
        "--identity-pool-id, set AWS_CRED_COGNITO_IDENTITY_POOL_ID, or add `cognito_identity_pool_id",
    );
    let out = run(cmd(&bare, &fake).args([
        "cognito",
        "--user",
        "bob",
        "--identity-pool-id",
        IDENTITY_POOL_ID,
    ]));
    assert_fails(&out, 2, "AWS_CRED_COGNITO_USER_POOL_ID");
    let out = run(cmd(&bare, &fake).args([
        "cognito",
        "--user",
        "bob",
        "--identity-pool-id",
        IDENTITY_POOL_ID,
        "--user-pool-id",
        "nounderscore",
    ]));
    assert_fails(&out, 2, "is not REGION_ID");
    let out = run(cmd(&bare, &fake).args(["cognito", "--user", "bob", "--profile", "nope"]));
    assert_fails(&out, 2, "profile \"nope\" (from --profile) is not in");
    assert_eq!(fake.count("InitiateAuth"), 4);
}

#[test]
fn password_from_stdin_and_none_without_a_terminal() {
    let sb = sandbox();
    let fake = FakeCognito::start(config());
    let out = run(cmd(&sb, &fake).args(["cognito", "--user", "alice", "--profile", "myapp"]));
    assert_fails(&out, 2, "--password-stdin");
    assert!(out.stderr_str().contains("AWS_CRED_COGNITO_PASSWORD"));
    assert_eq!(
        fake.count("InitiateAuth"),
        0,
        "nothing sent without a password"
    );

    let out = run_with_input(
        cmd(&sb, &fake).args([
            "cognito",
            "--user",
            "alice",
            "--profile",
            "myapp",
            "--password-stdin",
        ]),
        format!("{ALICE_PW}\n").as_bytes(),
    );
    out.assert_success();
    assert_no_secrets(&out, &[ALICE_PW]);

    let sb = sandbox();
    let out = run_with_input(
        cmd(&sb, &fake).args([
            "cognito",
            "--user",
            "alice",
            "--profile",
            "myapp",
            "--password-stdin",
        ]),
        b"",
    );
    assert_fails(&out, 2, "standard input has no password");
}

#[test]
fn the_terminal_prompt_does_not_echo_the_password() {
    // `script` gives aws-cred a real terminal; what the terminal shows is the typescript.
    let Some(script) = support::find_program("script") else {
        eprintln!("skipping: script (util-linux) not found");
        return;
    };
    let sb = sandbox();
    let fake = FakeCognito::start(config());
    let inner = "aws-cred cognito --user alice --profile myapp --format json";
    // The password is typed only once the prompt is up (typed-ahead input would be echoed by
    // the terminal before aws-cred could turn echo off, as in any program).
    let (status, shown) = support::terminal_dialogue(
        other_program(&sb, &script, &fake.url()).args(["-qefc", inner, "/dev/null"]),
        &[("Password for alice", ALICE_PW)],
    );
    assert!(status.success(), "{status}");
    assert!(shown.contains("Password for alice"), "{shown}");
    assert!(
        !shown.contains(ALICE_PW),
        "the password was echoed:\n{shown}"
    );
    assert!(shown.contains("\"AccessKeyId\": \"ASIAALICE"), "{shown}");
}

// ---------------------------------------------------------------------------------------------
// moto_server
// ---------------------------------------------------------------------------------------------

/// The venv's AWS CLI v1 against moto, answering JSON.
fn aws(moto: &Moto, sb: &Sandbox, args: &[&str]) -> serde_json::Value {
    let cli = support::venv_tool("aws").expect("the venv has the AWS CLI");
    let out = run(Command::new(cli)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", sb.home())
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_ENDPOINT_URL", moto.url())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .args(args)
        .args(["--output", "json"]));
    out.assert_success();
    let text = out.stdout_str();
    if text.trim().is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

struct MotoPools {
    pool: String,
    client: String,
    identity_pool: String,
}

fn moto_pools(moto: &Moto, sb: &Sandbox) -> MotoPools {
    let pool = aws(
        moto,
        sb,
        &["cognito-idp", "create-user-pool", "--pool-name", "app"],
    )["UserPool"]["Id"]
        .as_str()
        .unwrap()
        .to_string();
    let client = aws(
        moto,
        sb,
        &[
            "cognito-idp",
            "create-user-pool-client",
            "--user-pool-id",
            &pool,
            "--client-name",
            "web",
            "--explicit-auth-flows",
            "ALLOW_USER_PASSWORD_AUTH",
            "ALLOW_USER_SRP_AUTH",
            "ALLOW_REFRESH_TOKEN_AUTH",
        ],
    )["UserPoolClient"]["ClientId"]
        .as_str()
        .unwrap()
        .to_string();
    let provider =
        format!("ProviderName=cognito-idp.us-east-1.amazonaws.com/{pool},ClientId={client}");
    let identity_pool = aws(
        moto,
        sb,
        &[
            "cognito-identity",
            "create-identity-pool",
            "--identity-pool-name",
            "app",
            "--allow-unauthenticated-identities",
            "--cognito-identity-providers",
            &provider,
        ],
    )["IdentityPoolId"]
        .as_str()
        .unwrap()
        .to_string();
    sb.write_config(&format!(
        "[profile myapp]\nregion = us-east-1\ncognito_user_pool_id = {pool}\ncognito_client_id = {client}\ncognito_identity_pool_id = {identity_pool}\n"
    ));
    MotoPools {
        pool,
        client,
        identity_pool,
    }
}

fn moto_user(
    moto: &Moto,
    sb: &Sandbox,
    pools: &MotoPools,
    name: &str,
    password: &str,
    permanent: bool,
) {
    aws(
        moto,
        sb,
        &[
            "cognito-idp",
            "admin-create-user",
            "--user-pool-id",
            &pools.pool,
            "--username",
            name,
        ],
    );
    let mut args = vec![
        "cognito-idp",
        "admin-set-user-password",
        "--user-pool-id",
        &pools.pool,
        "--username",
        name,
        "--password",
        password,
    ];
    args.push(if permanent {
        "--permanent"
    } else {
        "--no-permanent"
    });
    aws(moto, sb, &args);
}

fn moto_cmd(sb: &Sandbox, moto: &Moto) -> Command {
    let mut c = sb.cmd();
    c.env("AWS_ENDPOINT_URL", moto.url());
    c
}

#[test]
fn moto_done_when_eval_then_sts_get_caller_identity() {
    let Some(moto) = Moto::start() else { return };
    let Some(cli) = support::require_venv_tool("aws") else {
        return;
    };
    let Some(sh) = support::find_program("sh") else {
        return;
    };
    let sb = Sandbox::new();
    let pools = moto_pools(&moto, &sb);
    moto_user(&moto, &sb, &pools, "alice", ALICE_PW, true);
    let script = format!(
        "set -e\neval \"$(aws-cred cognito --user alice --profile myapp)\"\necho \"key=$AWS_ACCESS_KEY_ID\"\n{} sts get-caller-identity --output json\n",
        cli.display()
    );
    let out = run(other_program(&sb, &sh, &moto.url())
        .env("AWS_ENDPOINT_URL", moto.url())
        .env("AWS_CRED_COGNITO_PASSWORD", ALICE_PW)
        .args(["-c", &script]));
    out.assert_success();
    let stdout = out.stdout_str();
    assert!(stdout.contains("key=TESTACCESSKEY12345"), "{stdout}");
    let json_start = stdout.find('{').unwrap();
    let identity: serde_json::Value = serde_json::from_str(&stdout[json_start..]).unwrap();
    assert!(identity["Account"].is_string(), "{identity}");
    assert!(identity["Arn"].as_str().unwrap().starts_with("arn:aws:"));
    assert!(out.stderr_str().contains("signed in with USER_SRP_AUTH"));
    let _ = (&pools.client, &pools.identity_pool);

    // Guests too.
    let out =
        run(moto_cmd(&sb, &moto).args(["cognito", "--unauthenticated", "--profile", "myapp"]));
    out.assert_success();
}

#[test]
fn moto_password_flow_new_password_and_refresh() {
    let Some(moto) = Moto::start() else { return };
    let sb = Sandbox::new();
    let pools = moto_pools(&moto, &sb);
    moto_user(&moto, &sb, &pools, "bob", "Temp-Passw0rd!", false);
    let base = |extra: &[&str]| {
        let mut c = moto_cmd(&sb, &moto);
        c.args([
            "cognito",
            "--user",
            "bob",
            "--profile",
            "myapp",
            "--auth-flow",
            "password",
        ])
        .args(extra);
        c
    };
    // FORCE_CHANGE_PASSWORD: moto asks for a new password.
    let out = run(base(&[]).env("AWS_CRED_COGNITO_PASSWORD", "Temp-Passw0rd!"));
    assert_fails(&out, 2, "--new-password");
    let out = run(base(&["--new-password", "Bobs-New-Passw0rd!", "--tokens"])
        .env("AWS_CRED_COGNITO_PASSWORD", "Temp-Passw0rd!"));
    out.assert_success();
    assert!(exported(&out.stdout_str(), "COGNITO_ID_TOKEN").is_some());
    // The old password no longer works; the new one does (moto checks passwords).
    let fresh = Sandbox::new();
    std::fs::copy(sb.config_path(), fresh.config_path()).unwrap();
    let wrong = run(moto_cmd(&fresh, &moto)
        .env("AWS_CRED_COGNITO_PASSWORD", "Temp-Passw0rd!")
        .args([
            "cognito",
            "--user",
            "bob",
            "--profile",
            "myapp",
            "--auth-flow",
            "password",
        ]));
    assert_fails(&wrong, 1, "wrong user name or password");
    run(moto_cmd(&fresh, &moto)
        .env("AWS_CRED_COGNITO_PASSWORD", "Bobs-New-Passw0rd!")
        .args([
            "cognito",
            "--user",
            "bob",
            "--profile",
            "myapp",
            "--auth-flow",
            "password",
        ]))
    .assert_success();

    // Make the cached ID token look expired: the next run refreshes (no password needed).
    let files = cache_files(&sb);
    assert_eq!(files.len(), 1);
    let mut entry: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    entry["tokens"]["expiration"] = "2020-01-01T00:00:00Z".into();
    std::fs::write(&files[0], entry.to_string()).unwrap();
    let out = run(&mut base(&[]));
    out.assert_success();
    assert!(
        out.stderr_str().contains("tokens refreshed"),
        "{}",
        out.stderr_str()
    );
}

/// RFC 6238 TOTP (HMAC-SHA1, 30 s, 6 digits) for moto's fixed secret `asdfasdfasdf`.
fn totp(secret_b32: &str, unix: u64) -> String {
    use sha1::{Digest, Sha1};
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut nbits = 0;
    let mut key = Vec::new();
    for c in secret_b32.to_ascii_uppercase().chars() {
        let v = alphabet.find(c).unwrap() as u64;
        bits = (bits << 5) | v;
        nbits += 5;
        if nbits >= 8 {
            key.push((bits >> (nbits - 8)) as u8);
            nbits -= 8;
            bits &= (1 << nbits) - 1;
        }
    }
    let msg = (unix / 30).to_be_bytes();
    let mut k = [0u8; 64];
    k[..key.len()].copy_from_slice(&key);
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha1::new().chain_update(&ipad).chain_update(msg).finalize();
    let mac = Sha1::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize();
    let offset = (mac[19] & 0x0f) as usize;
    let code = u32::from_be_bytes([
        mac[offset] & 0x7f,
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]);
    format!("{:06}", code % 1_000_000)
}

/// A code with at least 5 seconds of its 30-second window left.
fn fresh_totp() -> String {
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        if now % 30 < 25 {
            return totp("asdfasdfasdf", now);
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

#[test]
fn totp_known_answer() {
    // RFC 6238 appendix B, SHA-1: secret "12345678901234567890" (base32 GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ).
    assert_eq!(totp("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 59), "287082");
    assert_eq!(
        totp("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 1_111_111_109),
        "081804"
    );
}

#[test]
fn moto_software_token_mfa_with_real_codes() {
    let Some(moto) = Moto::start_with_env(&[("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true")])
    else {
        return;
    };
    let sb = Sandbox::new();
    let pools = moto_pools(&moto, &sb);
    moto_user(&moto, &sb, &pools, "carol", "Carol-Passw0rd!", true);
    let auth = aws(
        &moto,
        &sb,
        &[
            "cognito-idp",
            "initiate-auth",
            "--client-id",
            &pools.client,
            "--auth-flow",
            "USER_PASSWORD_AUTH",
            "--auth-parameters",
            "USERNAME=carol,PASSWORD=Carol-Passw0rd!",
        ],
    );
    let access = auth["AuthenticationResult"]["AccessToken"]
        .as_str()
        .unwrap()
        .to_string();
    let assoc = aws(
        &moto,
        &sb,
        &[
            "cognito-idp",
            "associate-software-token",
            "--access-token",
            &access,
        ],
    );
    assert_eq!(assoc["SecretCode"], "asdfasdfasdf");
    aws(
        &moto,
        &sb,
        &[
            "cognito-idp",
            "verify-software-token",
            "--access-token",
            &access,
            "--user-code",
            &fresh_totp(),
        ],
    );
    aws(
        &moto,
        &sb,
        &[
            "cognito-idp",
            "set-user-mfa-preference",
            "--access-token",
            &access,
            "--software-token-mfa-settings",
            "Enabled=true,PreferredMfa=true",
        ],
    );
    let base = |code: &str| {
        let mut c = moto_cmd(&sb, &moto);
        c.env("AWS_CRED_COGNITO_PASSWORD", "Carol-Passw0rd!").args([
            "cognito",
            "--user",
            "carol",
            "--profile",
            "myapp",
            "--auth-flow",
            "password",
            "--mfa-code",
            code,
        ]);
        c
    };
    let good = fresh_totp();
    let wrong = if good == "000000" { "111111" } else { "000000" };
    assert_fails(&run(&mut base(wrong)), 1, "the MFA code is wrong");
    let out = run(&mut base(&fresh_totp()));
    out.assert_success();
    assert!(
        out.stderr_str()
            .contains("signed in with USER_PASSWORD_AUTH")
    );
}

/// Issue 22, item 18: a line on standard input is read up to 64 KiB, not to its end. 300 MB
/// without a line break, under a 128 MiB data limit: before the bound the read ran out of memory
/// (the process aborted); now it stops with a message and nothing is sent.
#[test]
fn a_huge_line_on_stdin_is_refused_without_reading_it_into_memory() {
    let sb = sandbox();
    let fake = FakeCognito::start(config());
    let big = sb.path("huge-stdin");
    // Sparse: 300 MB of zero bytes that cost no disk.
    std::fs::File::create(&big)
        .unwrap()
        .set_len(300 * 1024 * 1024)
        .unwrap();
    // The sandbox's environment, with aws-cred started by sh under the data limit.
    let command = cmd(&sb, &fake);
    let mut limited = Command::new("sh");
    limited
        .env_clear()
        .envs(command.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .env("AWS_CRED_BIN", env!("CARGO_BIN_EXE_aws-cred"))
        .arg("-c")
        .arg(
            "ulimit -d 131072 && exec \"$AWS_CRED_BIN\" cognito --user alice --profile myapp \
             --password-stdin",
        )
        .current_dir(sb.home())
        .stdin(std::fs::File::open(&big).unwrap());
    let out = run(&mut limited);
    assert_fails(&out, 1, "longer than 64 KiB");
    assert_eq!(fake.count("InitiateAuth"), 0, "nothing sent");
}
