//! `aws-cred sso-login` and SSO profiles in the chain, against the loopback IAM Identity Center
//! in `fakes/sso.rs`; interop with botocore (the venv's) both ways. The "browser" is a script
//! named by `BROWSER` that follows the authorize URL like a browser whose user is signed in,
//! or the test itself reads the URL from stderr (`--no-browser`) and follows it.

use crate::fakes::sso as fake_sso;
use crate::support;

use fake_sso::{FakeSso, START_URL, SsoRules};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};
use support::browser::FakeBrowser;
use support::{OutputExt, Sandbox, http_request, require_venv_tool, run};

const CONFIG: &str = "[sso-session corp]\n\
sso_start_url = https://corp.awsapps.com/start\n\
sso_region = us-east-1\n\
sso_registration_scopes = sso:account:access\n\
\n\
[profile dev]\n\
sso_session = corp\n\
sso_account_id = 111111111111\n\
sso_role_name = PowerUserAccess\n\
region = ap-northeast-1\n\
\n\
[profile prod]\n\
sso_session = corp\n\
sso_account_id = 333333333333\n\
sso_role_name = ReadOnlyAccess\n\
\n\
[profile nope]\n\
sso_session = corp\n\
sso_account_id = 333333333333\n\
sso_role_name = PowerUserAccess\n\
\n\
[profile legacy]\n\
sso_start_url = https://corp.awsapps.com/start\n\
sso_region = us-east-1\n\
sso_account_id = 222222222222\n\
sso_role_name = PowerUserAccess\n";

/// sha1("corp"): the token file of the sso-session, as the AWS CLI names it.
const TOKEN_FILE: &str = "home/.aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json";
/// sha1 of the CLI's registration arguments for [sso-session corp] (known answer from Python:
/// json.dumps({"tool": "botocore", "startUrl": ..., "region": "us-east-1",
/// "scopes": ["sso:account:access"], "session_name": "corp"}, sort_keys=True)).
const REGISTRATION_FILE: &str = "home/.aws/sso/cache/1b56c55d6e723362537167a7f43960b8185b5a80.json";

fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.write_config(CONFIG);
    sb
}

/// The binary pointed at the fake, with short device-flow polling and login timeout.
fn cmd(sb: &Sandbox, fake: &FakeSso) -> Command {
    let mut cmd = sb.cmd();
    cmd.env("AWS_ENDPOINT_URL_SSO_OIDC", fake.url())
        .env("AWS_ENDPOINT_URL_SSO", fake.url())
        .env("AWS_CRED_SSO_POLL_MS", "20")
        .env("AWS_CRED_SSO_LOGIN_TIMEOUT", "30");
    cmd
}

fn aws_cred(sb: &Sandbox, fake: &FakeSso, args: &[&str]) -> Output {
    run(cmd(sb, fake).args(args))
}

/// No secret the fake handed out may reach stderr.
fn assert_no_secrets(out: &Output, fake: &FakeSso) {
    let err = out.stderr_str();
    for secret in fake.secrets() {
        assert!(!err.contains(&secret), "stderr leaks {secret}:\n{err}");
    }
}

fn exported(out: &Output, name: &str) -> Option<String> {
    let prefix = format!("export {name}='");
    out.stdout_str()
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.trim_end_matches('\'').to_string())
}

fn token_doc(sb: &Sandbox) -> serde_json::Value {
    serde_json::from_str(&sb.read(TOKEN_FILE)).unwrap()
}

fn cli_time(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64;
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// A token file as the AWS CLI writes it (botocore's key order and `json.dumps` spacing).
fn write_cli_token(
    sb: &Sandbox,
    access: &str,
    expires_in: Duration,
    client: Option<(&str, &str, &str)>,
) {
    let mut text = format!(
        r#"{{"startUrl": "{START_URL}", "region": "us-east-1", "accessToken": "{access}", "expiresAt": "{}""#,
        cli_time(SystemTime::now() + expires_in)
    );
    if let Some((id, secret, refresh)) = client {
        text.push_str(&format!(
            r#", "clientId": "{id}", "clientSecret": "{secret}", "registrationExpiresAt": "{}", "refreshToken": "{refresh}""#,
            cli_time(SystemTime::now() + Duration::from_secs(80 * 86_400))
        ));
    }
    text.push('}');
    sb.write(TOKEN_FILE, text);
}

fn mode_of(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Issue 22, item 10: another local user gets nothing from the browser's one-time URL and
/// cannot answer the callback first (with the state it learned and a code of its own).
#[test]
fn another_local_user_cannot_answer_the_sso_sign_in() {
    if !support::is_root() {
        eprintln!("skipped: playing another local user needs root (setpriv)");
        return;
    }
    let sb = sandbox();
    let Some(browser) = FakeBrowser::new(&sb) else {
        return;
    };
    let fake = FakeSso::start(SsoRules::default());
    let out = run(browser
        .apply(&mut cmd(&sb, &fake))
        .env("FAKE_BROWSER_ATTACK", "1")
        .args(["sso-login", "--profile", "dev"]));
    out.assert_success();
    assert_eq!(browser.attacks(), vec!["closed", "closed"]);
    assert_eq!(fake.calls("CreateToken:authorization_code"), 1);
    let last = browser.last_pages();
    assert!(last.len() == 1 && last[0].starts_with("200 "), "{last:?}");
}

/// Issue 22, item 12: when the token cannot be saved, the browser's page says so (before:
/// "Signed in" while aws-cred exited 1).
#[test]
fn the_browser_page_fails_when_the_token_is_not_saved() {
    let sb = sandbox();
    let Some(browser) = FakeBrowser::new(&sb) else {
        return;
    };
    // A directory where the token file goes: the write (a rename over it) fails.
    std::fs::create_dir_all(sb.path(TOKEN_FILE)).unwrap();
    let fake = FakeSso::start(SsoRules::default());
    let out = run(browser
        .apply(&mut cmd(&sb, &fake))
        .args(["sso-login", "--profile", "dev"]));
    assert_eq!(out.code(), Some(1), "{}", out.stderr_str());
    out.assert_failed_eval();
    assert_eq!(fake.calls("CreateToken:authorization_code"), 1);
    let last = browser.last_pages();
    assert!(
        last.len() == 1 && last[0].starts_with("400 http://127.0.0.1:"),
        "{last:?}"
    );
}

#[test]
fn auth_code_login_opens_the_browser_caches_like_the_cli_and_exports_role_credentials() {
    let sb = sandbox();
    let Some(browser) = FakeBrowser::new(&sb) else {
        return;
    };
    let fake = FakeSso::start(SsoRules::default());
    let out = run(browser
        .apply(&mut cmd(&sb, &fake))
        .args(["sso-login", "--profile", "dev"]));
    out.assert_success();
    assert_no_secrets(&out, &fake);
    let err = out.stderr_str();
    assert!(err.contains("sso-session corp"), "{err}");
    assert!(err.contains("logged in to"), "{err}");
    assert!(
        exported(&out, "AWS_ACCESS_KEY_ID").is_some_and(|k| k.starts_with("ASIAFAKE")),
        "{}",
        out.stdout_str()
    );
    assert_eq!(
        exported(&out, "AWS_REGION").as_deref(),
        Some("ap-northeast-1")
    );

    // The browser was given a one-time loopback URL (nothing of the sign-in on its command
    // line) that led to the authorize URL on the OIDC endpoint (AWS_ENDPOINT_URL_SSO_OIDC).
    let opened = browser.opened();
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert!(support::browser::is_handoff(&opened[0]), "{opened:?}");
    let visits = browser.pages();
    let url = &visits[0];
    assert!(url.starts_with(&format!(
        "{}/authorize?response_type=code&client_id=",
        fake.url()
    )));
    for part in [
        "&redirect_uri=http%3A%2F%2F127.0.0.1%3A",
        "%2Foauth%2Fcallback&state=",
        "&code_challenge_method=S256&scopes=sso%3Aaccount%3Aaccess&code_challenge=",
    ] {
        assert!(url.contains(part), "{url} lacks {part}");
    }
    assert_eq!(fake.calls("RegisterClient"), 1);
    assert_eq!(fake.calls("Authorize"), 1);
    assert_eq!(fake.calls("CreateToken:authorization_code"), 1);
    assert_eq!(fake.calls("GetRoleCredentials"), 1);
    // The RegisterClient request carried the auth-code registration.
    let register = fake
        .http
        .requests()
        .into_iter()
        .find(|r| r.path == "/client/register")
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&register.body).unwrap();
    assert_eq!(body["clientType"], "public");
    assert_eq!(
        body["grantTypes"],
        serde_json::json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(
        body["redirectUris"],
        serde_json::json!(["http://127.0.0.1/oauth/callback"])
    );
    assert_eq!(body["issuerUrl"], START_URL);
    assert_eq!(body["scopes"], serde_json::json!(["sso:account:access"]));

    // The token file: exactly the AWS CLI's keys, in its order, its time format, 0600.
    let text = sb.read(TOKEN_FILE);
    let keys: Vec<&str> = text
        .trim_start_matches('{')
        .split(", \"")
        .map(|kv| kv.trim_start_matches('"').split('"').next().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "startUrl",
            "region",
            "accessToken",
            "expiresAt",
            "clientId",
            "clientSecret",
            "registrationExpiresAt",
            "refreshToken"
        ],
        "{text}"
    );
    let doc = token_doc(&sb);
    assert_eq!(doc["startUrl"], START_URL);
    assert_eq!(doc["region"], "us-east-1");
    let expires = doc["expiresAt"].as_str().unwrap();
    assert_eq!(expires.len(), 20, "{expires}");
    assert!(chrono::NaiveDateTime::parse_from_str(expires, "%Y-%m-%dT%H:%M:%SZ").is_ok());
    assert_eq!(mode_of(&sb.path(TOKEN_FILE)), 0o600);
    // The client registration, under the CLI's key, with its grant types.
    let reg: serde_json::Value = serde_json::from_str(&sb.read(REGISTRATION_FILE)).unwrap();
    assert_eq!(reg["clientId"], doc["clientId"]);
    assert_eq!(
        reg["grantTypes"],
        serde_json::json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(mode_of(&sb.path(REGISTRATION_FILE)), 0o600);

    // The chain now uses the token: export and role credentials for another profile.
    let out = aws_cred(
        &sb,
        &fake,
        &[
            "export",
            "--profile",
            "prod",
            "--format",
            "json",
            "--explain",
        ],
    );
    out.assert_success();
    assert!(
        out.stderr_str()
            .contains("SSO profile prod: role ReadOnlyAccess in account 333333333333, ")
    );
    assert_eq!(fake.calls("CreateToken"), 1, "no new login or refresh");
    assert_no_secrets(&out, &fake);
}

#[test]
fn no_browser_prints_the_url_and_following_it_completes_the_login() {
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules::default());
    let login = PendingLogin::start(&sb, &fake, &["--format", "json"]);
    let url = login.url.clone();
    // Be the browser: the authorize page redirects to the loopback callback.
    let answer = http_request("GET", &url, &[], b"").unwrap();
    assert_eq!(answer.status, 302, "{}", answer.body_str());
    let location = answer.header("location").unwrap().to_string();
    assert!(location.starts_with("http://127.0.0.1:"), "{location}");
    let page = http_request("GET", &location, &[], b"").unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body_str().contains("close this tab"));

    let (status, err, stdout) = login.finish(Duration::from_secs(30));
    assert!(status.success(), "{err}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["Version"], 1);
    assert!(doc["AccessKeyId"].as_str().unwrap().starts_with("ASIAFAKE"));
    assert!(!stdout.contains("authorize"), "the URL goes to stderr only");
    for secret in fake.secrets() {
        assert!(!err.contains(&secret), "stderr leaks {secret}");
    }
    assert_eq!(fake.calls("CreateToken:authorization_code"), 1);
}

#[test]
fn device_code_flow_keeps_polling_through_pending_and_slows_down() {
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules {
        device_answers: vec![
            "AuthorizationPendingException",
            "SlowDownException",
            "AuthorizationPendingException",
        ],
        ..Default::default()
    });
    let out = aws_cred(
        &sb,
        &fake,
        &[
            "sso-login",
            "--profile",
            "dev",
            "--use-device-code",
            "--no-browser",
        ],
    );
    out.assert_success();
    assert_no_secrets(&out, &fake);
    let err = out.stderr_str();
    assert!(
        err.contains(&format!(
            "{}/device?user_code={}",
            fake.url(),
            fake_sso::USER_CODE
        )),
        "{err}"
    );
    assert!(err.contains(fake_sso::USER_CODE));
    assert_eq!(fake.calls("StartDeviceAuthorization"), 1);
    assert_eq!(fake.calls("CreateToken:device_code"), 4);
    assert_eq!(fake.calls("Authorize"), 0);
    // interval 1 (x 20 ms); after SlowDownException the interval is 1 + 5.
    let polls = fake.device_polls();
    let gaps: Vec<Duration> = polls.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps[0] < Duration::from_millis(100), "{gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(115), "{gaps:?}");
    assert!(gaps[2] >= Duration::from_millis(115), "{gaps:?}");
    // A device-flow registration carries no grant types (the CLI's convention), and the
    // token has a refresh token (sso:account:access was registered).
    let reg: serde_json::Value = serde_json::from_str(&sb.read(REGISTRATION_FILE)).unwrap();
    assert!(reg.get("grantTypes").is_none(), "{reg}");
    assert!(token_doc(&sb)["refreshToken"].is_string());
    assert!(exported(&out, "AWS_SESSION_TOKEN").is_some());
}

#[test]
fn without_a_display_or_over_ssh_the_device_flow_is_used() {
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules::default());
    let out = run(cmd(&sb, &fake)
        .env("SSH_CONNECTION", "10.0.0.1 50000 10.0.0.2 22")
        .env("DISPLAY", ":0")
        .args(["sso-login", "--sso-session", "corp"]));
    out.assert_success();
    let err = out.stderr_str();
    assert!(err.contains("SSH session"), "{err}");
    assert!(err.contains("device code"), "{err}");
    assert_eq!(fake.calls("StartDeviceAuthorization"), 1);
    assert_eq!(fake.calls("Authorize"), 0);
}

#[test]
fn an_expired_device_code_ends_with_a_clear_message() {
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules {
        device_answers: vec!["AuthorizationPendingException", "ExpiredTokenException"],
        ..Default::default()
    });
    let out = aws_cred(
        &sb,
        &fake,
        &[
            "sso-login",
            "--profile",
            "dev",
            "--use-device-code",
            "--no-browser",
        ],
    );
    out.assert_code(4);
    out.assert_failed_eval();
    let err = out.stderr_str();
    assert!(err.contains("ExpiredTokenException"), "{err}");
    assert!(err.contains("not approved in time"), "{err}");
    assert!(!sb.path(TOKEN_FILE).exists());
}

#[test]
fn a_valid_token_means_no_login_and_force_logs_in_again_with_the_cached_registration() {
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules::default());
    let login = [
        "sso-login",
        "--profile",
        "dev",
        "--use-device-code",
        "--no-browser",
    ];
    aws_cred(&sb, &fake, &login).assert_success();
    let first = token_doc(&sb);
    let out = aws_cred(&sb, &fake, &login);
    out.assert_success();
    assert!(
        out.stderr_str().contains("using the cached token"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(fake.calls("StartDeviceAuthorization"), 1);
    assert_eq!(fake.calls("CreateToken"), 1);
    assert_eq!(token_doc(&sb), first);

    let mut forced = login.to_vec();
    forced.push("--force");
    aws_cred(&sb, &fake, &forced).assert_success();
    assert_eq!(fake.calls("StartDeviceAuthorization"), 2);
    assert_eq!(
        fake.calls("RegisterClient"),
        1,
        "the registration is reused"
    );
    assert_ne!(token_doc(&sb)["accessToken"], first["accessToken"]);
}

#[test]
fn sso_login_refreshes_a_token_near_expiry_without_a_browser() {
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules::default());
    let (id, secret, access, refresh) = fake.issue_for_test(Duration::from_secs(600));
    write_cli_token(
        &sb,
        &access,
        Duration::from_secs(600),
        Some((&id, &secret, &refresh)),
    );
    // No BROWSER, no display: a login would have to use the device flow, and must not happen.
    let out = aws_cred(&sb, &fake, &["sso-login", "--profile", "dev"]);
    out.assert_success();
    assert!(
        out.stderr_str().contains("refreshed the token"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(fake.calls("CreateToken:refresh_token"), 1);
    assert_eq!(fake.calls("StartDeviceAuthorization"), 0);
    let doc = token_doc(&sb);
    assert_ne!(doc["accessToken"], access.as_str());
    assert_ne!(
        doc["refreshToken"],
        refresh.as_str(),
        "the rotated refresh token is kept"
    );
    assert_eq!(doc["clientId"], id.as_str());
    assert_no_secrets(&out, &fake);
}

#[test]
fn export_refreshes_a_near_expiry_token_written_by_the_aws_cli() {
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules::default());
    let (id, secret, access, refresh) = fake.issue_for_test(Duration::from_secs(300));
    write_cli_token(
        &sb,
        &access,
        Duration::from_secs(300),
        Some((&id, &secret, &refresh)),
    );
    let out = aws_cred(&sb, &fake, &["export", "--profile", "dev", "--explain"]);
    out.assert_success();
    assert_no_secrets(&out, &fake);
    assert!(
        out.stderr_str()
            .lines()
            .any(|l| l.contains("resolved: SSO profile dev: ") && l.ends_with(", refreshed")),
        "{}",
        out.stderr_str()
    );
    assert_eq!(fake.calls("CreateToken:refresh_token"), 1);
    assert_eq!(fake.calls("CreateToken"), 1);
    // Written back in the CLI's format, the registration carried over.
    let doc = token_doc(&sb);
    assert_eq!(doc["clientId"], id.as_str());
    assert_eq!(doc["clientSecret"], secret.as_str());
    assert!(sb.read(TOKEN_FILE).starts_with(&format!(
        "{{\"startUrl\": \"{START_URL}\", \"region\": \"us-east-1\", \"accessToken\": "
    )));
    // Fresh now: the next export does not refresh again.
    aws_cred(&sb, &fake, &["export", "--profile", "dev"]).assert_success();
    assert_eq!(fake.calls("CreateToken"), 1);
}

#[test]
fn ten_parallel_logins_with_an_expired_token_log_in_once() {
    let sb = sandbox();
    let Some(browser) = FakeBrowser::new(&sb) else {
        return;
    };
    let fake = FakeSso::start(SsoRules::default());
    // Yesterday's token, no refresh token: only a login helps.
    write_cli_token(&sb, "stale", Duration::ZERO, None);
    std::thread::sleep(Duration::from_millis(1100));
    let outputs: Vec<Output> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..10)
            .map(|_| {
                s.spawn(|| {
                    run(browser.apply(&mut cmd(&sb, &fake)).args([
                        "sso-login",
                        "--profile",
                        "dev",
                        "--format",
                        "json",
                    ]))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for out in &outputs {
        out.assert_success();
        assert_no_secrets(out, &fake);
    }
    assert_eq!(fake.calls("RegisterClient"), 1);
    assert_eq!(fake.calls("CreateToken"), 1);
    assert_eq!(browser.opened().len(), 1, "one browser prompt");
    let others = outputs
        .iter()
        .filter(|o| o.stderr_str().contains("another aws-cred just logged in"))
        .count();
    assert_eq!(others, 9);
    assert_eq!(fake.calls("GetRoleCredentials"), 10);
}

#[test]
fn ten_parallel_exports_with_a_token_near_expiry_refresh_once() {
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules::default());
    let (id, secret, access, refresh) = fake.issue_for_test(Duration::from_secs(120));
    write_cli_token(
        &sb,
        &access,
        Duration::from_secs(120),
        Some((&id, &secret, &refresh)),
    );
    let outputs: Vec<Output> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..10)
            .map(|_| s.spawn(|| aws_cred(&sb, &fake, &["export", "--profile", "dev"])))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for out in &outputs {
        out.assert_success();
        assert_no_secrets(out, &fake);
    }
    assert_eq!(fake.calls("CreateToken:refresh_token"), 1);
    assert_eq!(fake.calls("CreateToken"), 1);
}

/// The venv's Python with a clean environment pointed at the sandbox and the fake.
fn python(sb: &Sandbox, fake: &FakeSso, code: &str) -> Option<Output> {
    let python = require_venv_tool("python")?;
    Some(run(Command::new(python)
        .env_clear()
        .env("HOME", sb.home())
        .env("AWS_CONFIG_FILE", sb.config_path())
        .env("AWS_SHARED_CREDENTIALS_FILE", sb.credentials_path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL_SSO", fake.url())
        .env("AWS_ENDPOINT_URL_SSO_OIDC", fake.url())
        .env("LANG", "C.UTF-8")
        .args(["-c", code])))
}

#[test]
fn botocore_resolves_credentials_from_the_token_aws_cred_wrote() {
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules::default());
    aws_cred(
        &sb,
        &fake,
        &[
            "sso-login",
            "--sso-session",
            "corp",
            "--use-device-code",
            "--no-browser",
        ],
    )
    .assert_success();
    let path = sb.path(TOKEN_FILE);
    let code = format!(
        r#"
import json, botocore.session
from botocore.tokens import _sso_json_dumps
raw = open({path:?}).read()
# byte for byte what botocore itself would write for this dictionary
assert _sso_json_dumps(json.loads(raw)) == raw, raw
creds = botocore.session.Session(profile="dev").get_credentials().get_frozen_credentials()
print(creds.access_key)
"#
    );
    let Some(out) = python(&sb, &fake, &code) else {
        return;
    };
    out.assert_success();
    assert!(
        out.stdout_str().trim().starts_with("ASIAFAKE"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(
        fake.calls("GetRoleCredentials"),
        1,
        "botocore asked the fake portal"
    );
    assert_eq!(
        fake.calls("CreateToken:refresh_token"),
        0,
        "fresh: no refresh"
    );
}

#[test]
fn aws_cred_uses_the_token_botocore_refreshed_and_wrote() {
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules::default());
    let (id, secret, access, refresh) = fake.issue_for_test(Duration::from_secs(300));
    write_cli_token(
        &sb,
        &access,
        Duration::from_secs(300),
        Some((&id, &secret, &refresh)),
    );
    // botocore refreshes within 15 minutes of expiry and writes the cache file itself.
    let code = r#"
import botocore.session
creds = botocore.session.Session(profile="dev").get_credentials().get_frozen_credentials()
print(creds.access_key)
"#;
    let Some(out) = python(&sb, &fake, code) else {
        return;
    };
    out.assert_success();
    assert_eq!(
        fake.calls("CreateToken:refresh_token"),
        1,
        "{}",
        out.stderr_str()
    );
    let written = token_doc(&sb);
    assert_ne!(
        written["accessToken"],
        access.as_str(),
        "botocore wrote a new token"
    );

    let out = aws_cred(
        &sb,
        &fake,
        &["export", "--profile", "prod", "--format", "json"],
    );
    out.assert_success();
    assert_eq!(
        fake.calls("CreateToken"),
        1,
        "aws-cred used botocore's token as it is"
    );
    assert_eq!(fake.calls("GetRoleCredentials"), 2);
}

#[test]
fn a_revoked_token_stops_the_chain_and_sso_login_logs_in_again() {
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules::default());
    let login = [
        "sso-login",
        "--profile",
        "dev",
        "--use-device-code",
        "--no-browser",
    ];
    aws_cred(&sb, &fake, &login).assert_success();
    fake.revoke_tokens();

    let out = aws_cred(&sb, &fake, &["export", "--profile", "dev"]);
    out.assert_code(4);
    out.assert_failed_eval();
    let err = out.stderr_str();
    assert!(
        err.contains("UnauthorizedException") || err.contains("rejected the SSO token"),
        "{err}"
    );
    assert!(
        err.contains("hint: run aws-cred sso-login --profile dev"),
        "{err}"
    );

    let out = aws_cred(&sb, &fake, &login);
    out.assert_success();
    assert!(
        out.stderr_str().contains("logging in again"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(fake.calls("StartDeviceAuthorization"), 2);
    aws_cred(&sb, &fake, &["export", "--profile", "dev"]).assert_success();
}

#[test]
fn a_role_that_is_not_assigned_names_account_and_role() {
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules::default());
    let out = aws_cred(
        &sb,
        &fake,
        &[
            "sso-login",
            "--profile",
            "nope",
            "--use-device-code",
            "--no-browser",
        ],
    );
    out.assert_code(1);
    out.assert_failed_eval();
    let err = out.stderr_str();
    assert!(
        err.contains("no access to role PowerUserAccess in account 333333333333"),
        "{err}"
    );
    assert!(err.contains("No access"), "{err}");
    // The hint lists what the token can use (issue 23, item 12).
    assert!(
        err.contains("this SSO user has 111111111111 (dev): PowerUserAccess, ReadOnlyAccess; 222222222222 (staging): PowerUserAccess; 333333333333 (prod): ReadOnlyAccess, AdministratorAccess; fix the profile's sso_account_id / sso_role_name"),
        "{err}"
    );
    // The login itself succeeded and is kept.
    assert!(sb.path(TOKEN_FILE).exists());
    // The chain says the same (the token is cached now).
    let out = aws_cred(&sb, &fake, &["export", "--profile", "nope"]);
    out.assert_code(1);
    let err = out.stderr_str();
    assert!(
        err.contains("this SSO user has 111111111111 (dev): PowerUserAccess, ReadOnlyAccess"),
        "{err}"
    );
}

#[test]
fn a_cached_registration_that_is_no_longer_accepted_is_replaced_once() {
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules::default());
    let login = [
        "sso-login",
        "--profile",
        "dev",
        "--use-device-code",
        "--no-browser",
        "--force",
    ];
    aws_cred(&sb, &fake, &login).assert_success();
    fake.forget_clients();
    let out = aws_cred(&sb, &fake, &login);
    out.assert_success();
    assert!(
        out.stderr_str().contains("registering a new one"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(fake.calls("RegisterClient"), 2);

    // A service that refuses every client: a clear error, exit 1.
    let fake = FakeSso::start(SsoRules {
        reject_clients: true,
        ..Default::default()
    });
    let out = aws_cred(&sb, &fake, &login);
    out.assert_code(1);
    let err = out.stderr_str();
    assert!(
        err.contains("InvalidClientException: Invalid client provided"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
    assert_no_secrets(&out, &fake);
}

#[test]
fn a_rejected_authorization_code_is_an_error() {
    let sb = sandbox();
    let Some(browser) = FakeBrowser::new(&sb) else {
        return;
    };
    let fake = FakeSso::start(SsoRules {
        reject_codes: true,
        ..Default::default()
    });
    let out = run(browser
        .apply(&mut cmd(&sb, &fake))
        .args(["sso-login", "--profile", "dev"]));
    out.assert_code(4);
    let err = out.stderr_str();
    assert!(err.contains("CreateToken"), "{err}");
    assert!(err.contains("InvalidGrantException"), "{err}");
    assert!(!sb.path(TOKEN_FILE).exists());
}

#[test]
fn an_expired_token_whose_refresh_is_refused_says_log_in() {
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules {
        reject_refresh: true,
        ..Default::default()
    });
    let (id, secret, access, refresh) = fake.issue_for_test(Duration::ZERO);
    write_cli_token(&sb, &access, Duration::ZERO, Some((&id, &secret, &refresh)));
    std::thread::sleep(Duration::from_millis(1100));
    let out = aws_cred(&sb, &fake, &["whoami", "--profile", "dev"]);
    out.assert_code(4);
    let err = out.stderr_str();
    assert!(err.contains("expired at"), "{err}");
    assert!(err.contains("could not be refreshed"), "{err}");
    assert!(err.contains("InvalidGrantException"), "{err}");
    assert!(
        err.contains("hint: run aws-cred sso-login --profile dev"),
        "{err}"
    );
    assert_eq!(fake.calls("CreateToken:refresh_token"), 1);
    assert_no_secrets(&out, &fake);
}

#[test]
fn an_unreachable_endpoint_is_a_network_error() {
    let sb = sandbox();
    let port = support::free_port();
    let out = run(sb
        .cmd()
        .env(
            "AWS_ENDPOINT_URL_SSO_OIDC",
            format!("http://127.0.0.1:{port}"),
        )
        .env("AWS_ENDPOINT_URL_SSO", format!("http://127.0.0.1:{port}"))
        .args([
            "sso-login",
            "--profile",
            "dev",
            "--use-device-code",
            "--no-browser",
        ]));
    out.assert_code(1);
    let err = out.stderr_str();
    assert!(err.contains("RegisterClient"), "{err}");
    assert!(
        err.contains("could not reach") || err.contains("timed out"),
        "{err}"
    );
    assert!(err.contains(&port.to_string()), "{err}");
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn a_callback_with_another_state_is_refused_and_nothing_is_saved() {
    let sb = sandbox();
    let Some(browser) = FakeBrowser::new(&sb) else {
        return;
    };
    let fake = FakeSso::start(SsoRules {
        tamper_state: true,
        ..Default::default()
    });
    // A wrong state is ignored until the timeout (another program cannot end a login).
    let out = run(browser
        .apply(&mut cmd(&sb, &fake))
        .env("AWS_CRED_SSO_LOGIN_TIMEOUT", "3")
        .args(["sso-login", "--profile", "dev"]));
    out.assert_code(1);
    let err = out.stderr_str();
    assert!(err.contains("state mismatch"), "{err}");
    assert_eq!(fake.calls("CreateToken"), 0, "the code is never exchanged");
    assert!(!sb.path(TOKEN_FILE).exists());
}

#[test]
fn a_browser_that_never_comes_back_times_out() {
    let sb = sandbox();
    let Some(browser) = FakeBrowser::new(&sb) else {
        return;
    };
    let fake = FakeSso::start(SsoRules::default());
    let started = Instant::now();
    let out = run(browser
        .apply(&mut cmd(&sb, &fake))
        .env("FAKE_BROWSER_MODE", "ignore")
        .env("AWS_CRED_SSO_LOGIN_TIMEOUT", "2")
        .args(["sso-login", "--profile", "dev"]));
    out.assert_code(4);
    assert!(started.elapsed() < Duration::from_secs(20));
    let err = out.stderr_str();
    assert!(err.contains("no answer from the browser"), "{err}");
    assert!(err.contains("AWS_CRED_SSO_LOGIN_TIMEOUT"), "{err}");
    assert_eq!(browser.opened().len(), 1);
}

#[test]
fn without_account_and_role_it_lists_every_page_and_says_how_to_pick() {
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules::default());
    let out = aws_cred(
        &sb,
        &fake,
        &[
            "sso-login",
            "--sso-session",
            "corp",
            "--use-device-code",
            "--no-browser",
        ],
    );
    out.assert_success();
    assert!(out.stdout.is_empty(), "the listing is for people: stderr");
    let err = out.stderr_str();
    assert!(
        err.contains("3 accounts are available to you (5 roles):"),
        "{err}"
    );
    assert!(
        err.contains(
            "  111111111111  dev <dev@example.com>\n      PowerUserAccess\n      ReadOnlyAccess\n"
        ),
        "{err}"
    );
    assert!(err.contains("  333333333333  prod <prod@example.com>\n      ReadOnlyAccess\n      AdministratorAccess\n"), "{err}");
    assert!(err.contains("pick one with: aws-cred sso-login --sso-session corp --account ACCOUNT_ID --role ROLE_NAME"), "{err}");
    // Page size 1: every page was read.
    assert_eq!(fake.calls("ListAccounts"), 3);
    assert_eq!(fake.calls("ListAccountRoles"), 5);

    let out = aws_cred(
        &sb,
        &fake,
        &[
            "sso-login",
            "--sso-session",
            "corp",
            "--account",
            "333333333333",
        ],
    );
    out.assert_success();
    let err = out.stderr_str();
    assert!(err.contains("2 roles are available to you in account 333333333333:\n  ReadOnlyAccess\n  AdministratorAccess\n"), "{err}");
}

#[test]
fn account_and_role_flags_override_the_profile_and_can_write_a_profile() {
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules::default());
    let out = aws_cred(
        &sb,
        &fake,
        &[
            "sso-login",
            "--profile",
            "dev",
            "--use-device-code",
            "--no-browser",
            "--account",
            "333333333333",
            "--role",
            "AdministratorAccess",
            "--write-profile",
            "prod-admin",
        ],
    );
    out.assert_success();
    assert!(out.stdout.is_empty());
    let creds = sb.read("home/.aws/credentials");
    assert!(
        creds.contains("[prod-admin]\naws_access_key_id = ASIAFAKE"),
        "{creds}"
    );
    assert!(
        creds.contains("aws_session_token = role-session-"),
        "{creds}"
    );
    let call = fake
        .http
        .requests()
        .into_iter()
        .find(|r| r.path == "/federation/credentials")
        .unwrap();
    assert_eq!(call.query_param("account_id"), Some("333333333333"));
    assert_eq!(call.query_param("role_name"), Some("AdministratorAccess"));
}

#[test]
fn legacy_profiles_key_the_token_by_start_url() {
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules::default());
    let out = aws_cred(
        &sb,
        &fake,
        &[
            "sso-login",
            "--profile",
            "legacy",
            "--use-device-code",
            "--no-browser",
            "--format",
            "json",
        ],
    );
    out.assert_success();
    // sha1("https://corp.awsapps.com/start")
    let path = "home/.aws/sso/cache/a51746d4aa793ae07b25e90c3a5db96fc7832bd7.json";
    let doc: serde_json::Value = serde_json::from_str(&sb.read(path)).unwrap();
    assert_eq!(doc["startUrl"], START_URL);
    aws_cred(&sb, &fake, &["export", "--profile", "legacy"]).assert_success();
}

#[test]
fn usage_errors_come_before_any_call() {
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules::default());
    let cases: &[(&[&str], &str)] = &[
        (
            &["sso-login", "--profile", "dev", "--account", "12345"],
            "12 digits",
        ),
        (
            &["sso-login", "--profile", "dev", "--sso-session", "corp"],
            "not both",
        ),
        (&["sso-login", "--sso-session", "nosuch"], "available: corp"),
        (&["sso-login", "--profile", "ghost"], "available profiles"),
    ];
    for (args, expected) in cases {
        let out = aws_cred(&sb, &fake, args);
        out.assert_code(2);
        assert!(
            out.stderr_str().contains(expected),
            "{args:?}: {}",
            out.stderr_str()
        );
    }
    sb.write_config("[profile keys]\nregion = us-east-1\n");
    let out = aws_cred(&sb, &fake, &["sso-login", "--profile", "keys"]);
    out.assert_code(2);
    assert!(out.stderr_str().contains("has no SSO settings"));
    assert!(fake.http.requests().is_empty());
}

/// `sso-login --no-browser` running, with the authorize URL it printed; the test is the browser.
struct PendingLogin {
    child: std::process::Child,
    url: String,
    stderr: std::thread::JoinHandle<String>,
    stdout: std::thread::JoinHandle<String>,
}

impl PendingLogin {
    fn start(sb: &Sandbox, fake: &FakeSso, extra: &[&str]) -> PendingLogin {
        let mut child = cmd(sb, fake)
            .args(["sso-login", "--profile", "dev", "--no-browser"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let stderr = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line.clone());
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        let stdout = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stdout.read_to_string(&mut s);
            s
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let prefix = format!("{}/authorize?", fake.url());
        let url = loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("aws-cred printed the authorize URL within 30 s");
            if line.trim().starts_with(&prefix) {
                break line.trim().to_string();
            }
        };
        PendingLogin {
            child,
            url,
            stderr,
            stdout,
        }
    }

    fn param(&self, name: &str) -> String {
        let query = self.url.split_once('?').unwrap().1;
        support::parse_urlencoded(query)
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
            .unwrap()
    }

    /// The loopback callback, e.g. `http://127.0.0.1:PORT/oauth/callback`.
    fn redirect_uri(&self) -> String {
        self.param("redirect_uri")
    }

    /// Wait (bounded) for the exit: (status, stderr, stdout).
    fn finish(mut self, within: Duration) -> (std::process::ExitStatus, String, String) {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("aws-cred did not finish within {within:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        (
            status,
            self.stderr.join().unwrap(),
            self.stdout.join().unwrap(),
        )
    }
}

#[test]
fn an_idle_connection_to_the_callback_does_not_delay_the_login() {
    // issue 11 item 19: a browser's spare pre-connected socket stalled the login for 10 s.
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules::default());
    let login = PendingLogin::start(&sb, &fake, &[]);
    let port = login
        .redirect_uri()
        .strip_prefix("http://127.0.0.1:")
        .and_then(|r| r.split('/').next())
        .unwrap()
        .parse::<u16>()
        .unwrap();
    let _idle = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let started = Instant::now();
    let answer = http_request("GET", &login.url, &[], b"").unwrap();
    assert_eq!(answer.status, 302, "{}", answer.body_str());
    let page = http_request("GET", answer.header("location").unwrap(), &[], b"").unwrap();
    assert_eq!(page.status, 200, "{}", page.body_str());
    assert!(page.body_str().contains("close this tab"));
    let (status, err, _) = login.finish(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the login took {:?}",
        started.elapsed()
    );
}

#[test]
fn junk_and_wrong_state_requests_are_ignored_until_the_right_answer() {
    // issue 11 item 15: any local user could abort a login with `?state=wrong`.
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules::default());
    let login = PendingLogin::start(&sb, &fake, &[]);
    let callback = login.redirect_uri();
    let base = callback.trim_end_matches("/oauth/callback").to_string();
    let wrong = http_request(
        "GET",
        &format!("{callback}?code=stolen&state=wrong"),
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(wrong.status, 400);
    assert!(wrong.body_str().contains("state mismatch"));
    for i in 0..64 {
        let url = match i % 4 {
            0 => format!("{base}/favicon.ico"),
            1 => format!("{callback}?code=junk{i}"),
            2 => format!("{callback}?error=access_denied&state=nope"),
            _ => format!("{base}/oauth/callback/../x?state={}", login.param("state")),
        };
        let answer = http_request("GET", &url, &[], b"").unwrap();
        assert_eq!(answer.status, 400, "{url}");
    }
    let answer = http_request("GET", &login.url, &[], b"").unwrap();
    assert_eq!(answer.status, 302, "{}", answer.body_str());
    let page = http_request("GET", answer.header("location").unwrap(), &[], b"").unwrap();
    assert_eq!(page.status, 200, "{}", page.body_str());
    let (status, err, stdout) = login.finish(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(
        stdout.contains("export AWS_ACCESS_KEY_ID='ASIAFAKE"),
        "{stdout}"
    );
    assert_eq!(fake.calls("CreateToken:authorization_code"), 1);
    assert!(sb.path(TOKEN_FILE).exists());
}

#[test]
fn the_browser_page_tells_the_outcome_of_the_code_exchange() {
    // issue 11 item 20: the page said "Signed in" before CreateToken refused the code.
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules {
        reject_codes: true,
        ..Default::default()
    });
    let login = PendingLogin::start(&sb, &fake, &[]);
    let answer = http_request("GET", &login.url, &[], b"").unwrap();
    assert_eq!(answer.status, 302, "{}", answer.body_str());
    let page = http_request("GET", answer.header("location").unwrap(), &[], b"").unwrap();
    let body = page.body_str();
    assert_eq!(page.status, 400, "{body}");
    assert!(!body.contains("close this tab"), "{body}");
    assert!(body.contains("InvalidGrantException"), "{body}");
    assert!(body.contains("terminal"), "{body}");
    let (status, err, _) = login.finish(Duration::from_secs(20));
    assert_eq!(status.code(), Some(4), "{err}");
    assert!(err.contains("InvalidGrantException"), "{err}");
    assert!(!sb.path(TOKEN_FILE).exists());
}

#[test]
fn a_denied_sign_in_says_what_happened_and_escapes_the_description() {
    // issue 11 item 21 (and 12): a bare `access_denied:` page; the description reached the
    // terminal raw.
    let sb = sandbox();
    let fake = FakeSso::start(SsoRules::default());
    let login = PendingLogin::start(&sb, &fake, &[]);
    let description = "User said no\u{1b}]0;pwned\u{7}\nhint: run rm -rf ~";
    let url = format!(
        "{}?{}",
        login.redirect_uri(),
        support::form_encode(&[
            ("error", "access_denied"),
            ("error_description", description),
            ("state", &login.param("state")),
        ])
    );
    let page = http_request("GET", &url, &[], b"").unwrap();
    let body = page.body_str();
    assert_eq!(page.status, 400, "{body}");
    assert!(body.contains("denied"), "{body}");
    assert!(body.contains("Go back to the terminal"), "{body}");
    assert!(!body.contains("access_denied:"), "{body}");
    let (status, err, _) = login.finish(Duration::from_secs(20));
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("denied or cancelled"), "{err}");
    assert!(err.contains("\\x1b]0;pwned\\x07\\nhint: run rm"), "{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
    assert!(!err.lines().any(|l| l.starts_with("hint: run rm")), "{err}");
    assert_eq!(fake.calls("CreateToken"), 0);
}

#[test]
fn the_device_flow_opens_only_https_or_loopback_pages() {
    // issue 11 item 14: `verificationUriComplete` was opened as given (file://, smb://, ...).
    let sb = sandbox();
    let Some(browser) = FakeBrowser::new(&sb) else {
        return;
    };
    // Two polls pending: the browser fetches its hand-off page meanwhile (a person approves
    // in that page, so the flow never ends before it was fetched).
    let fake = FakeSso::start(SsoRules {
        verification_uri_complete: Some("file:///etc/shadow"),
        device_answers: vec!["AuthorizationPendingException"; 2],
        ..Default::default()
    });
    let out = run(browser
        .apply(&mut cmd(&sb, &fake))
        .env("FAKE_BROWSER_MODE", "handoff")
        .args(["sso-login", "--profile", "dev", "--use-device-code"]));
    out.assert_success();
    let err = out.stderr_str();
    assert!(err.contains("not using the sign-in link"), "{err}");
    assert!(err.contains("file:"), "{err}");
    // The browser command runs detached: give it a moment to log its visit.
    let deadline = Instant::now() + Duration::from_secs(10);
    while browser
        .pages()
        .first()
        .is_none_or(|p| support::browser::is_handoff(p))
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        browser.pages(),
        vec![format!("{}/device", fake.url())],
        "{err}"
    );

    // Nothing safe to open: a clear error, no browser.
    let sb = sandbox();
    let Some(browser) = FakeBrowser::new(&sb) else {
        return;
    };
    let fake = FakeSso::start(SsoRules {
        verification_uri: Some("x-custom-handler://run?cmd=sh"),
        verification_uri_complete: Some("smb://evil/share"),
        ..Default::default()
    });
    let out = run(browser
        .apply(&mut cmd(&sb, &fake))
        .env("FAKE_BROWSER_MODE", "ignore")
        .args(["sso-login", "--profile", "dev", "--use-device-code"]));
    out.assert_code(1);
    let err = out.stderr_str();
    assert!(err.contains("will not open"), "{err}");
    assert!(err.contains("hint:"), "{err}");
    std::thread::sleep(Duration::from_millis(500));
    assert!(browser.opened().is_empty());
    assert_eq!(fake.calls("CreateToken"), 0);
}
