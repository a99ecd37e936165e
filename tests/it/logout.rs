//! `aws-cred logout` against the loopback IAM Identity Center (`fakes/sso.rs`): the portal's
//! Logout is called, then the token file goes; cached MFA sessions, login sessions, Cognito
//! sign-ins and written session sections are removed; long-term keys and everything else stay.

use crate::fakes::sso as fake_sso;
use crate::support;

use fake_sso::{FakeSso, START_URL, SsoRules};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};
use support::{OutputExt, Sandbox, run};

const CONFIG: &str = "[sso-session corp]\n\
sso_start_url = https://corp.awsapps.com/start\n\
sso_region = us-east-1\n\
sso_registration_scopes = sso:account:access\n\
\n\
[profile dev]\n\
sso_session = corp\n\
sso_account_id = 111111111111\n\
sso_role_name = PowerUserAccess\n\
\n\
[profile web]\n\
login_session = arn:aws:iam::123456789012:user/web\n\
\n\
[profile app]\n\
cognito_user_pool_id = eu-west-1_Pool\n\
cognito_client_id = client1\n";

const CREDENTIALS: &str = "# keys of the team\n\
[prod-long-term]\n\
aws_access_key_id = AKIACAROL00000000001\n\
aws_secret_access_key = long-term-secret\n\
mfa_serial = arn:aws:iam::123456789012:mfa/carol\n\
\n\
[prod]\n\
aws_access_key_id = ASIAWRITTEN000000001\n\
aws_secret_access_key = written-secret\n\
aws_session_token = written-token\n\
aws_cred_expiration = 2030-01-01T00:00:00Z\n\
\n\
# a hand-made section that happens to carry the marker but holds long-term keys\n\
[odd]\n\
aws_access_key_id = AKIAODD0000000000001\n\
aws_secret_access_key = odd-secret\n\
aws_cred_expiration = 2030-01-01T00:00:00Z\n\
\n\
[ci]\n\
aws_access_key_id = ASIACI00000000000001\n\
aws_secret_access_key = ci-secret\n\
aws_session_token = ci-token\n\
aws_cred_expiration = 2020-01-01T00:00:00Z\n";

/// sha1("corp").
const TOKEN_FILE: &str = "home/.aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json";
const REGISTRATION_FILE: &str = "home/.aws/sso/cache/1b56c55d6e723362537167a7f43960b8185b5a80.json";

fn sha1_hex(text: &str) -> String {
    use sha1::Digest as _;
    hex::encode(sha1::Sha1::digest(text.as_bytes()))
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

fn cli_time(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64;
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn cmd(sb: &Sandbox, fake: &FakeSso) -> Command {
    let mut cmd = sb.cmd();
    cmd.env("AWS_ENDPOINT_URL_SSO_OIDC", fake.url())
        .env("AWS_ENDPOINT_URL_SSO", fake.url());
    cmd
}

fn logout(sb: &Sandbox, fake: &FakeSso, args: &[&str]) -> Output {
    run(cmd(sb, fake).arg("logout").args(args))
}

/// A token for [sso-session corp] as the AWS CLI writes it; returns the access token.
fn sso_token(sb: &Sandbox, fake: &FakeSso, rel: &str, start_url: &str) -> String {
    let (id, secret, access, refresh) = fake.issue_for_test(Duration::from_secs(3600));
    sb.write(
        rel,
        format!(
            r#"{{"startUrl": "{start_url}", "region": "us-east-1", "accessToken": "{access}", "expiresAt": "{}", "clientId": "{id}", "clientSecret": "{secret}", "registrationExpiresAt": "{}", "refreshToken": "{refresh}"}}"#,
            cli_time(SystemTime::now() + Duration::from_secs(3600)),
            cli_time(SystemTime::now() + Duration::from_secs(80 * 86_400)),
        ),
    );
    access
}

fn mfa_session(sb: &Sandbox, access_key: &str, serial: &str) -> String {
    let rel = format!(
        "home/.aws/aws-cred/cache/mfa/{}.json",
        sha1_hex(&format!("{access_key}\n{serial}"))
    );
    sb.write(
        &rel,
        format!(
            r#"{{"version": 1, "serial": "{serial}", "arn": null, "access_key_id": "ASIAMFA", "secret_access_key": "mfa-secret", "session_token": "mfa-token", "expiration": "2030-01-01T00:00:00Z"}}"#
        ),
    );
    rel
}

fn login_session(sb: &Sandbox, arn: &str) -> String {
    let rel = format!("home/.aws/login/cache/{}.json", sha256_hex(arn));
    sb.write(
        &rel,
        r#"{"accessToken": {"accessKeyId": "ASIALOGIN", "secretAccessKey": "login-secret", "sessionToken": "login-token", "accountId": "123456789012", "expiresAt": "2030-01-01T00:00:00Z"}, "tokenType": "aws_sigv4", "clientId": "c", "refreshToken": "login-refresh"}"#,
    );
    rel
}

fn cognito_entry(sb: &Sandbox, name: &str, pool: &str, user: &str) -> String {
    let rel = format!("home/.aws/aws-cred/cache/cognito/{}.json", sha256_hex(name));
    sb.write(
        &rel,
        format!(
            r#"{{"version": 1, "user_pool_id": "{pool}", "client_id": "client1", "username": "{user}", "tokens": null, "identities": {{}}, "credentials": null}}"#
        ),
    );
    rel
}

fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.write_config(CONFIG);
    sb.write_credentials(CREDENTIALS);
    sb
}

fn exists(sb: &Sandbox, rel: &str) -> bool {
    sb.path(rel).exists()
}

#[test]
fn an_sso_session_is_ended_at_the_portal_then_its_token_file_removed() {
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules::default());
    let access = sso_token(&sb, &fake, TOKEN_FILE, START_URL);
    sb.write(
        REGISTRATION_FILE,
        r#"{"clientId": "c", "clientSecret": "s", "expiresAt": "2030-01-01T00:00:00Z"}"#,
    );
    let out = logout(&sb, &fake, &["--sso-session", "corp"]);
    out.assert_success();
    assert_eq!(fake.calls("Logout"), 1);
    assert!(!fake.token_works(&access), "the portal session is over");
    assert!(!exists(&sb, TOKEN_FILE));
    assert!(
        exists(&sb, REGISTRATION_FILE),
        "the registration is not a session"
    );
    let err = out.stderr_str();
    assert!(
        err.contains("removed the SSO token for https://corp.awsapps.com/start")
            && err.contains("(the portal ended the session)"),
        "{err}"
    );
    for secret in fake.secrets() {
        assert!(!err.contains(&secret), "stderr leaks {secret}");
    }
    assert!(out.stdout.is_empty());

    // Again: nothing left.
    let out = logout(&sb, &fake, &["--sso-session", "corp"]);
    out.assert_success();
    assert!(out.stderr_str().contains("nothing to log out of"));
    assert_eq!(fake.calls("Logout"), 1);
}

#[test]
fn a_profile_logs_out_of_what_it_depends_on() {
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules::default());
    sso_token(&sb, &fake, TOKEN_FILE, START_URL);
    let out = logout(&sb, &fake, &["--profile", "dev"]);
    out.assert_success();
    assert_eq!(fake.calls("Logout"), 1);
    assert!(!exists(&sb, TOKEN_FILE));

    // The aws-mfa convention: the MFA session of [prod-long-term]'s keys and the session
    // written into [prod]; the long-term keys and the comments stay.
    let mfa = mfa_session(
        &sb,
        "AKIACAROL00000000001",
        "arn:aws:iam::123456789012:mfa/carol",
    );
    let out = logout(&sb, &fake, &["--profile", "prod"]);
    out.assert_success();
    let err = out.stderr_str();
    assert!(!exists(&sb, &mfa), "{err}");
    assert!(err.contains("removed the MFA session: "), "{err}");
    assert!(
        err.contains("removed the session section [prod] from "),
        "{err}"
    );
    let creds = std::fs::read_to_string(sb.credentials_path()).unwrap();
    assert_eq!(creds, CREDENTIALS.replace("[prod]\naws_access_key_id = ASIAWRITTEN000000001\naws_secret_access_key = written-secret\naws_session_token = written-token\naws_cred_expiration = 2030-01-01T00:00:00Z\n\n", ""));
    for secret in [
        "written-secret",
        "written-token",
        "long-term-secret",
        "mfa-secret",
    ] {
        assert!(!err.contains(secret));
    }

    // A login session and the profile's Cognito sign-ins (not other pools').
    let login = login_session(&sb, "arn:aws:iam::123456789012:user/web");
    let out = logout(&sb, &fake, &["--profile", "web"]);
    out.assert_success();
    assert!(!exists(&sb, &login));
    assert!(out.stderr_str().contains("removed the login session: "));
    let alice = cognito_entry(&sb, "alice", "eu-west-1_Pool", "alice");
    let other = cognito_entry(&sb, "bob", "eu-west-1_Other", "bob");
    let out = logout(&sb, &fake, &["--profile", "app"]);
    out.assert_success();
    assert!(!exists(&sb, &alice));
    assert!(exists(&sb, &other));
    assert!(
        out.stderr_str()
            .contains("removed the Cognito sign-in of user alice in eu-west-1_Pool"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn all_with_yes_ends_everything_and_keeps_long_term_keys() {
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules::default());
    let legacy_file = format!(
        "home/.aws/sso/cache/{}.json",
        sha1_hex("https://old.awsapps.com/start")
    );
    sso_token(&sb, &fake, TOKEN_FILE, START_URL);
    sso_token(&sb, &fake, &legacy_file, "https://old.awsapps.com/start");
    // An expired token: no Logout call, the file goes all the same.
    let expired_file = format!("home/.aws/sso/cache/{}.json", sha1_hex("gone"));
    sb.write(&expired_file, r#"{"startUrl": "https://gone/start", "region": "us-east-1", "accessToken": "x", "expiresAt": "2020-01-01T00:00:00Z"}"#);
    sb.write(
        REGISTRATION_FILE,
        r#"{"clientId": "c", "clientSecret": "s", "expiresAt": "2030-01-01T00:00:00Z"}"#,
    );
    let mfa = mfa_session(
        &sb,
        "AKIACAROL00000000001",
        "arn:aws:iam::123456789012:mfa/carol",
    );
    let login = login_session(&sb, "arn:aws:iam::123456789012:user/web");
    sb.write("home/.aws/login/cache/notes.json", "[\"not a session\"]");
    let alice = cognito_entry(&sb, "alice", "eu-west-1_Pool", "alice");

    let out = logout(&sb, &fake, &["--all", "--yes"]);
    out.assert_success();
    let err = out.stderr_str();
    assert_eq!(fake.calls("Logout"), 2, "{err}");
    for rel in [
        TOKEN_FILE,
        legacy_file.as_str(),
        expired_file.as_str(),
        mfa.as_str(),
        login.as_str(),
        alice.as_str(),
    ] {
        assert!(!exists(&sb, rel), "{rel} is still there\n{err}");
    }
    assert!(exists(&sb, REGISTRATION_FILE));
    assert!(
        exists(&sb, "home/.aws/login/cache/notes.json"),
        "not of the documented shape"
    );
    assert!(
        err.contains("removed the session sections [prod], [ci] from "),
        "{err}"
    );
    let creds = std::fs::read_to_string(sb.credentials_path()).unwrap();
    assert!(
        creds.contains("[prod-long-term]") && creds.contains("[odd]"),
        "{creds}"
    );
    assert!(
        !creds.contains("[prod]") && !creds.contains("[ci]"),
        "{creds}"
    );
    assert!(creds.starts_with("# keys of the team\n"));
    assert_eq!(std::fs::read_to_string(sb.config_path()).unwrap(), CONFIG);
}

#[test]
fn a_failed_portal_logout_warns_and_still_removes_the_token() {
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules::default());
    sso_token(&sb, &fake, TOKEN_FILE, START_URL);
    fake.revoke_tokens();
    let out = logout(&sb, &fake, &["--sso-session", "corp"]);
    out.assert_success();
    assert!(!exists(&sb, TOKEN_FILE));
    let err = out.stderr_str();
    assert!(err.contains("warning: the portal's Logout failed"), "{err}");
}

#[test]
fn all_needs_a_terminal_or_yes_and_one_target_is_required() {
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules::default());
    sso_token(&sb, &fake, TOKEN_FILE, START_URL);
    let out = logout(&sb, &fake, &["--all"]);
    out.assert_code(2);
    assert!(
        out.stderr_str().contains("add --yes"),
        "{}",
        out.stderr_str()
    );
    assert!(exists(&sb, TOKEN_FILE));
    assert_eq!(fake.calls("Logout"), 0);

    logout(&sb, &fake, &[]).assert_code(2);
    logout(&sb, &fake, &["--profile", "dev", "--all", "--yes"]).assert_code(2);
    logout(&sb, &fake, &["--profile", "nope"]).assert_code(2);
    assert!(exists(&sb, TOKEN_FILE));
    assert_eq!(fake.calls("Logout"), 0);
}
