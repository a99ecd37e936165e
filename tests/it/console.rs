//! `aws-cred console` against a loopback federation endpoint (`fakes/federation.rs`) that
//! checks the `Session` JSON against the credentials it was told about and applies AWS's
//! rules (no GetSessionToken sessions, no SessionDuration for role-chained sessions and
//! federation tokens). Sources: role profiles and role chains (`fakes/sts.rs`), SSO
//! (`fakes/sso.rs`), IAM user keys (GetFederationToken at moto), Cognito (moto), session
//! credentials in the environment; partitions through the test redirect.

use crate::fakes::federation as fake_federation;
use crate::fakes::sso as fake_sso;
use crate::fakes::sts as fake_sts;
use crate::support;

use fake_federation::{FakeFederation, Kind, Known, param};
use fake_sso::{FakeSso, SsoRules};
use fake_sts::{CODE, FakeSts, StsRules};
use std::collections::HashMap;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use support::browser::{FakeBrowser, is_handoff};
use support::{Moto, OutputExt, Sandbox, run};

const BASE_KEY: &str = "AKIABASE000000000001";
const BASE_SERIAL: &str = "arn:aws:iam::123456789012:mfa/bob";
const ALICE_KEY: &str = "AKIAALICE00000000001";
const ALICE_SERIAL: &str = "arn:aws:iam::123456789012:mfa/alice";

/// Role-like session credentials for the environment.
const ENV_KEY: &str = "ASIAENVROLE000000001";
const ENV_SECRET: &str = "env/role+secret=value";
const ENV_TOKEN: &str = "env-role-session-token//+==";

fn sts_rules() -> StsRules {
    let mut users = HashMap::new();
    users.insert(
        BASE_KEY.to_string(),
        ("bob".to_string(), BASE_SERIAL.to_string()),
    );
    users.insert(
        ALICE_KEY.to_string(),
        ("alice".to_string(), ALICE_SERIAL.to_string()),
    );
    StsRules {
        users,
        ..Default::default()
    }
}

/// `base`: bob's keys; `admin`: a role from them; `top`: a role from `admin` (role chaining);
/// `mfaadmin`: a role with bob's MFA device; `prod`: alice's MFA session (keys in
/// `[prod-long-term]`, the aws-mfa convention).
fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.write_credentials(&format!(
        "[base]\naws_access_key_id = {BASE_KEY}\naws_secret_access_key = bobsecret\n\n\
         [prod-long-term]\naws_access_key_id = {ALICE_KEY}\naws_secret_access_key = alicesecret\nmfa_serial = {ALICE_SERIAL}\n"
    ));
    sb.write_config(&format!(
        "[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/Admin\nsource_profile = base\n\n\
         [profile top]\nrole_arn = arn:aws:iam::123456789012:role/Top\nsource_profile = admin\n\n\
         [profile mfaadmin]\nrole_arn = arn:aws:iam::123456789012:role/MfaAdmin\nsource_profile = base\nmfa_serial = {BASE_SERIAL}\n\n\
         [profile prod]\nregion = us-east-1\n"
    ));
    sb
}

/// The federation fake knowing FakeSts's role sessions (`ASIAROLE<n>` → `rolesecret<n>`,
/// `roletoken<n>`; chained when FakeSts says so) and its GetSessionToken sessions.
fn federation_for(sts: &FakeSts) -> FakeFederation {
    let fed = FakeFederation::start();
    let chained = sts.chained_roles.clone();
    fed.know_with(move |akid| {
        let (kind, n, secret, token) = if let Some(n) = akid.strip_prefix("ASIAROLE") {
            let kind = if chained.lock().unwrap().iter().any(|k| k == akid) {
                Kind::ChainedRole
            } else {
                Kind::Role
            };
            (kind, n, "rolesecret", "roletoken")
        } else if let Some(n) = akid.strip_prefix("ASIASESSION") {
            (Kind::SessionToken, n, "sessionsecret", "sessiontoken")
        } else {
            return None;
        };
        let n: u64 = n.parse().ok()?;
        Some(Known {
            secret: format!("{secret}{n}"),
            token: format!("{token}{n}"),
            kind,
        })
    });
    fed
}

fn cmd(sb: &Sandbox, fed: &FakeFederation) -> Command {
    let mut c = sb.cmd();
    c.env("AWS_ENDPOINT_URL_SIGNIN", fed.url());
    c
}

fn with_sts(sb: &Sandbox, fed: &FakeFederation, sts: &FakeSts, args: &[&str]) -> Output {
    run(cmd(sb, fed)
        .env("AWS_ENDPOINT_URL_STS", sts.url())
        .env("AWS_ENDPOINT_URL_IAM", sts.url())
        .args(args))
}

/// The environment's role session (ENV_KEY, ENV_SECRET, ENV_TOKEN) on `cmd`.
fn env_session(cmd: &mut Command) -> &mut Command {
    cmd.env("AWS_ACCESS_KEY_ID", ENV_KEY)
        .env("AWS_SECRET_ACCESS_KEY", ENV_SECRET)
        .env("AWS_SESSION_TOKEN", ENV_TOKEN)
}

fn with_env_session(sb: &Sandbox, fed: &FakeFederation, args: &[&str]) -> Output {
    run(env_session(&mut cmd(sb, fed)).args(args))
}

/// `--print`: stdout is exactly one line, the URL; returns it.
fn printed_url(out: &Output) -> String {
    out.assert_success();
    let stdout = out.stdout_str();
    assert!(stdout.ends_with('\n'), "{stdout:?}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout must be the URL only: {stdout:?}");
    lines[0].to_string()
}

/// Nothing secret on stderr: no SigninToken, no secret key, no session token, no URL.
fn assert_quiet_stderr(out: &Output, fed: &FakeFederation, secrets: &[&str]) {
    let err = out.stderr_str();
    for token in fed.signin_tokens() {
        assert!(
            !err.contains(&token),
            "stderr leaks the SigninToken:\n{err}"
        );
    }
    for secret in secrets {
        assert!(!err.contains(secret), "stderr leaks {secret}:\n{err}");
    }
    assert!(!err.contains("SigninToken="), "stderr holds a URL:\n{err}");
    assert!(!err.contains("Action=login"), "stderr holds a URL:\n{err}");
}

/// The login URL on the fake: it accepts it (302 to the destination); returns the destination.
fn accepted(fed: &FakeFederation, url: &str) -> String {
    assert!(
        url.starts_with(&format!(
            "{}/federation?Action=login&Issuer=aws-cred&Destination=",
            fed.url()
        )),
        "{url}"
    );
    let answer = fed.visit(url);
    assert_eq!(answer.status, 302, "{}", answer.body_str());
    let location = answer.header("location").unwrap().to_string();
    assert_eq!(Some(location.clone()), param(url, "Destination"));
    // Once only.
    assert_eq!(fed.visit(url).status, 400);
    location
}

#[test]
fn role_profile_signs_in_with_the_role_session() {
    let sb = sandbox();
    let sts = FakeSts::start(sts_rules());
    let fed = federation_for(&sts);
    let out = with_sts(
        &sb,
        &fed,
        &sts,
        &["console", "--profile", "admin", "--print"],
    );
    let url = printed_url(&out);
    assert_eq!(
        accepted(&fed, &url),
        "https://console.aws.amazon.com/console/home?region=us-east-1"
    );
    let seen = fed.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].status, 200);
    assert!(
        seen[0].session["sessionId"]
            .as_str()
            .unwrap()
            .starts_with("ASIAROLE")
    );
    assert_eq!(seen[0].session_duration, None, "no --duration: none sent");
    assert_quiet_stderr(&out, &fed, &["rolesecret", "roletoken"]);
    let err = out.stderr_str();
    assert!(err.contains("role session"), "{err}");
    assert!(err.contains("role/Admin"), "{err}");

    // --duration is SessionDuration for a role session.
    let out = with_sts(
        &sb,
        &fed,
        &sts,
        &[
            "console",
            "--profile",
            "admin",
            "--print",
            "--duration",
            "7200",
        ],
    );
    accepted(&fed, &printed_url(&out));
    assert_eq!(fed.seen()[1].session_duration.as_deref(), Some("7200"));
}

#[test]
fn web_identity_and_container_roles_sign_in_directly() {
    let sb = Sandbox::new();
    let sts = FakeSts::start(sts_rules());
    let fed = federation_for(&sts);
    let token = sb.write(
        "token.jwt",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2ln\n",
    );
    let out = run(cmd(&sb, &fed)
        .env("AWS_ENDPOINT_URL_STS", sts.url())
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token)
        .env("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/WebRole")
        .args(["console", "--print", "--duration", "43200"]));
    accepted(&fed, &printed_url(&out));
    assert_eq!(sts.actions(), ["AssumeRoleWithWebIdentity"]);
    assert_eq!(fed.seen()[0].session_duration.as_deref(), Some("43200"));
    assert_quiet_stderr(&out, &fed, &["rolesecret", "roletoken"]);

    // A container role (ECS): a role session too.
    let expiration = "2099-01-01T00:00:00Z";
    let ecs = support::FakeHttp::new(move |_| {
        support::Response::json(
            200,
            &format!(
                r#"{{"AccessKeyId":"ASIAECS","SecretAccessKey":"ecs/secret","Token":"ecs+token","Expiration":"{expiration}"}}"#
            ),
        )
    });
    fed.know("ASIAECS", "ecs/secret", "ecs+token", Kind::Role);
    let out = run(cmd(&sb, &fed)
        .env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("{}/creds", ecs.url()),
        )
        .args(["console", "--print", "--service", "ecs"]));
    accepted(&fed, &printed_url(&out));
    assert_eq!(fed.seen()[1].session["sessionId"], "ASIAECS");
    assert!(
        out.stderr_str()
            .contains("role session: container endpoint"),
        "{}",
        out.stderr_str()
    );
    assert_quiet_stderr(&out, &fed, &["ecs/secret", "ecs+token"]);
}

#[test]
fn role_chained_session_sends_no_session_duration_and_says_why() {
    let sb = sandbox();
    let sts = FakeSts::start(sts_rules());
    let fed = federation_for(&sts);
    let out = with_sts(
        &sb,
        &fed,
        &sts,
        &[
            "console",
            "--profile",
            "top",
            "--print",
            "--duration",
            "3600",
        ],
    );
    let url = printed_url(&out);
    accepted(&fed, &url);
    let seen = fed.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].session_duration, None);
    let err = out.stderr_str();
    assert!(err.contains("role chaining"), "{err}");
    assert!(err.contains("lasts as long as the role session"), "{err}");
    assert!(err.contains("--duration is ignored"), "{err}");
    assert_quiet_stderr(&out, &fed, &["rolesecret", "roletoken"]);
}

#[test]
fn mfa_session_of_a_plain_profile_is_refused_and_a_role_profile_uses_its_role_session() {
    let sb = sandbox();
    let sts = FakeSts::start(sts_rules());
    let fed = federation_for(&sts);
    with_sts(&sb, &fed, &sts, &["mfa", CODE, "--profile", "prod"]).assert_success();
    let out = with_sts(
        &sb,
        &fed,
        &sts,
        &["console", "--profile", "prod", "--print"],
    );
    out.assert_code(2);
    assert!(out.stdout.is_empty());
    let err = out.stderr_str();
    assert!(err.contains("MFA session"), "{err}");
    assert!(err.contains("GetSessionToken"), "{err}");
    assert!(err.contains("role profile"), "{err}");
    assert!(fed.seen().is_empty(), "refused before any federation call");

    // A role profile with mfa_serial: the role assumed with the MFA session federates.
    with_sts(&sb, &fed, &sts, &["mfa", CODE, "--profile", "mfaadmin"]).assert_success();
    let out = with_sts(
        &sb,
        &fed,
        &sts,
        &["console", "--profile", "mfaadmin", "--print"],
    );
    accepted(&fed, &printed_url(&out));
    assert!(
        fed.seen()[0].session["sessionId"]
            .as_str()
            .unwrap()
            .starts_with("ASIAROLE")
    );
    assert_quiet_stderr(&out, &fed, &["rolesecret", "roletoken", "sessionsecret"]);
}

#[test]
fn session_credentials_the_endpoint_refuses_are_explained() {
    let sb = Sandbox::new();
    let fed = FakeFederation::start();
    fed.know(ENV_KEY, ENV_SECRET, ENV_TOKEN, Kind::SessionToken);
    let out = with_env_session(&sb, &fed, &["console", "--print"]);
    out.assert_code(1);
    assert!(out.stdout.is_empty());
    let err = out.stderr_str();
    assert!(
        err.contains("refused these credentials (HTTP 400)"),
        "{err}"
    );
    assert!(err.contains("GetSessionToken"), "{err}");
    assert_quiet_stderr(&out, &fed, &[ENV_SECRET, ENV_TOKEN]);
    assert_eq!(fed.seen().len(), 1);
}

#[test]
fn service_destination_and_region_make_the_url() {
    let sb = Sandbox::new();
    let fed = FakeFederation::start();
    fed.know(ENV_KEY, ENV_SECRET, ENV_TOKEN, Kind::Role);

    let out = with_env_session(
        &sb,
        &fed,
        &[
            "console",
            "--service",
            "s3",
            "--region",
            "eu-west-1",
            "--print",
        ],
    );
    let url = printed_url(&out);
    assert_eq!(
        accepted(&fed, &url),
        "https://eu-west-1.console.aws.amazon.com/s3/home?region=eu-west-1"
    );
    assert_quiet_stderr(&out, &fed, &[ENV_SECRET, ENV_TOKEN]);
    // The Session JSON is exactly the credentials.
    assert_eq!(
        fed.seen()[0].session,
        serde_json::json!({"sessionId": ENV_KEY, "sessionKey": ENV_SECRET, "sessionToken": ENV_TOKEN})
    );

    let page = "https://us-west-2.console.aws.amazon.com/lambda/home?region=us-west-2#/functions";
    let out = with_env_session(
        &sb,
        &fed,
        &[
            "console",
            "--destination",
            page,
            "--print",
            "--duration",
            "900",
        ],
    );
    assert_eq!(accepted(&fed, &printed_url(&out)), page);
    assert_eq!(fed.seen()[1].session_duration.as_deref(), Some("900"));

    // Bad input is refused before any call.
    for args in [
        &[
            "console",
            "--destination",
            "https://evil.example/",
            "--print",
        ][..],
        &["console", "--service", "s3/../../x", "--print"],
        &["console", "--duration", "60", "--print"],
        &["console", "--region", "us-iso-east-1", "--print"],
    ] {
        let out = with_env_session(&sb, &fed, args);
        out.assert_code(2);
        assert!(out.stdout.is_empty());
    }
    assert_eq!(fed.seen().len(), 2);
}

#[test]
fn partition_hosts_for_china_and_govcloud_and_regional_sign_in() {
    let sb = Sandbox::new();
    let fed = FakeFederation::start();
    fed.know(ENV_KEY, ENV_SECRET, ENV_TOKEN, Kind::Role);
    for (region, signin, console) in [
        (
            "eu-west-1",
            "eu-west-1.signin.aws.amazon.com",
            "eu-west-1.console.aws.amazon.com",
        ),
        ("cn-north-1", "signin.amazonaws.cn", "console.amazonaws.cn"),
        (
            "us-gov-west-1",
            "signin.amazonaws-us-gov.com",
            "console.amazonaws-us-gov.com",
        ),
    ] {
        // No endpoint override: the real host, sent to the fake by the test redirect.
        let out = run(env_session(&mut sb.cmd())
            .env("AWS_CRED_TEST_REDIRECT_ALL_HTTP", fed.url())
            .args(["console", "--region", region, "--print"]));
        let url = printed_url(&out);
        assert!(
            url.starts_with(&format!(
                "https://{signin}/federation?Action=login&Issuer=aws-cred&Destination="
            )),
            "{url}"
        );
        assert_eq!(
            param(&url, "Destination").unwrap(),
            format!("https://{console}/console/home?region={region}")
        );
        let seen = fed.seen().pop().unwrap();
        assert_eq!(seen.original_host.as_deref(), Some(signin));
        assert_eq!(seen.original_scheme.as_deref(), Some("https"));
        assert_eq!(seen.status, 200);
        // The token is redeemed where it was issued: the same host.
        let answer = fed.visit(&url);
        assert_eq!(answer.status, 302);
        assert_quiet_stderr(&out, &fed, &[ENV_SECRET, ENV_TOKEN]);
    }
}

/// The one page the browser was sent to, after checking that its command line held only the
/// one-time loopback URL (issue 22, item 11: the sign-in token never in a command line).
fn handed_off(browser: &FakeBrowser) -> String {
    let opened = browser.opened();
    assert!(
        opened.len() == 1 && is_handoff(&opened[0]),
        "the browser's command line: {opened:?}"
    );
    let pages = browser.pages();
    assert_eq!(pages.len(), 1, "{pages:?}");
    pages[0].clone()
}

#[test]
fn the_browser_gets_the_url_and_logout_first_goes_through_the_logout_url() {
    let sb = Sandbox::new();
    let fed = FakeFederation::start();
    fed.know(ENV_KEY, ENV_SECRET, ENV_TOKEN, Kind::Role);
    let Some(browser) = FakeBrowser::new(&sb) else {
        return;
    };
    let out = run(browser
        .apply(env_session(&mut cmd(&sb, &fed)))
        .env("FAKE_BROWSER_MODE", "handoff")
        .args(["console", "--logout-first"]));
    out.assert_success();
    assert!(out.stdout.is_empty(), "{}", out.stdout_str());
    assert!(
        out.stderr_str()
            .contains("opened the console in the browser")
    );
    assert_quiet_stderr(&out, &fed, &[ENV_SECRET, ENV_TOKEN]);
    let opened = handed_off(&browser);
    let opened = opened.as_str();
    assert!(
        opened.starts_with(&format!("{}/oauth?Action=logout&redirect_uri=", fed.url())),
        "{opened}"
    );
    let logout = fed.visit(opened);
    assert_eq!(logout.status, 302);
    let login = logout.header("location").unwrap().to_string();
    assert_eq!(
        accepted(&fed, &login),
        "https://console.aws.amazon.com/console/home?region=us-east-1"
    );

    // --help says the URL is a secret.
    let help = sb.aws_cred(&["console", "--help"]);
    help.assert_success();
    assert!(help.stdout_str().contains("bearer credential"));
    assert!(help.stdout_str().contains("--print"));

    // --no-browser: the URL on stdout, no browser started.
    let out = with_env_session(&sb, &fed, &["console", "--no-browser"]);
    accepted(&fed, &printed_url(&out));
    assert_eq!(browser.opened().len(), 1);
}

/// Issue 22, item 11: another local user who reads the browser's command line (`ps`) and
/// fetches the one-time URL first gets nothing; the browser still gets the console.
#[test]
fn another_local_user_gets_nothing_from_the_console_hand_off() {
    if !support::is_root() {
        eprintln!("skipped: playing another local user needs root (setpriv)");
        return;
    }
    let sb = Sandbox::new();
    let fed = FakeFederation::start();
    fed.know(ENV_KEY, ENV_SECRET, ENV_TOKEN, Kind::Role);
    let Some(browser) = FakeBrowser::new(&sb) else {
        return;
    };
    let out = run(browser
        .apply(env_session(&mut cmd(&sb, &fed)))
        .env("FAKE_BROWSER_MODE", "handoff")
        .env("FAKE_BROWSER_ATTACK", "1")
        .args(["console"]));
    out.assert_success();
    assert_eq!(browser.attacks(), vec!["closed"]);
    assert_eq!(
        accepted(&fed, &handed_off(&browser)),
        "https://console.aws.amazon.com/console/home?region=us-east-1"
    );
}

const SSO_CONFIG: &str = "[sso-session corp]\n\
sso_start_url = https://corp.awsapps.com/start\n\
sso_region = us-east-1\n\
sso_registration_scopes = sso:account:access\n\
\n\
[profile dev]\n\
sso_session = corp\n\
sso_account_id = 111111111111\n\
sso_role_name = PowerUserAccess\n\
region = ap-northeast-1\n";

/// sha1("corp"): the sso-session's token file, as the AWS CLI names it.
const SSO_TOKEN_FILE: &str = "home/.aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json";

fn cli_time(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64;
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[test]
fn sso_profile_federates_the_role_credentials_or_opens_the_portal_shortcut() {
    let sb = Sandbox::new();
    sb.write_config(SSO_CONFIG);
    let sso = Arc::new(FakeSso::start(SsoRules::default()));
    let (_, _, access, _) = sso.issue_for_test(Duration::from_secs(3600));
    sb.write(
        SSO_TOKEN_FILE,
        format!(
            r#"{{"startUrl": "https://corp.awsapps.com/start", "region": "us-east-1", "accessToken": "{access}", "expiresAt": "{}"}}"#,
            cli_time(SystemTime::now() + Duration::from_secs(3600))
        ),
    );
    let fed = FakeFederation::start();
    let issued = sso.clone();
    fed.know_with(move |akid| {
        // The role credentials the SSO fake handed out: its secrets, in pairs.
        if !akid.starts_with("ASIAFAKE") {
            return None;
        }
        let secrets = issued.secrets();
        let secret = secrets
            .iter()
            .rev()
            .find(|s| s.starts_with("role-secret-"))?;
        let token = secrets
            .iter()
            .rev()
            .find(|s| s.starts_with("role-session-"))?;
        Some(Known {
            secret: secret.clone(),
            token: token.clone(),
            kind: Kind::Role,
        })
    });
    let out = run(cmd(&sb, &fed)
        .env("AWS_ENDPOINT_URL_SSO", sso.url())
        .env("AWS_ENDPOINT_URL_SSO_OIDC", sso.url())
        .args(["console", "--profile", "dev", "--service", "ec2", "--print"]));
    let url = printed_url(&out);
    assert_eq!(
        accepted(&fed, &url),
        "https://ap-northeast-1.console.aws.amazon.com/ec2/home?region=ap-northeast-1"
    );
    assert_eq!(sso.calls("GetRoleCredentials"), 1);
    let secrets = sso.secrets();
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    assert_quiet_stderr(&out, &fed, &secrets);
    assert!(
        out.stderr_str().contains("--sso-portal"),
        "the shortcut is offered"
    );

    // --sso-portal: the access portal's shortcut, no call at all.
    let out = run(cmd(&sb, &fed).env("AWS_ENDPOINT_URL_SSO", sso.url()).args([
        "console",
        "--profile",
        "dev",
        "--sso-portal",
        "--print",
    ]));
    assert_eq!(
        printed_url(&out),
        "https://corp.awsapps.com/start/#/console?account_id=111111111111&role_name=PowerUserAccess"
    );
    let out = run(cmd(&sb, &fed).args([
        "console",
        "--profile",
        "dev",
        "--sso-portal",
        "--service",
        "s3",
        "--print",
    ]));
    assert_eq!(
        printed_url(&out),
        "https://corp.awsapps.com/start/#/console?account_id=111111111111&role_name=PowerUserAccess&destination=https%3A%2F%2Fap-northeast-1.console.aws.amazon.com%2Fs3%2Fhome%3Fregion%3Dap-northeast-1"
    );
    assert_eq!(sso.calls("GetRoleCredentials"), 1);
    assert_eq!(fed.seen().len(), 1);

    // Not an SSO profile: a clear usage error.
    sb.write_config(&format!(
        "{SSO_CONFIG}\n[profile plain]\naws_access_key_id = AKIAPLAIN0000000001\naws_secret_access_key = s\n"
    ));
    let out =
        run(cmd(&sb, &fed).args(["console", "--profile", "plain", "--sso-portal", "--print"]));
    out.assert_code(2);
    assert!(out.stderr_str().contains("not an IAM Identity Center"));
}

/// The AWS CLI of the venv against moto.
fn aws_cli(moto: &Moto, sb: &Sandbox, args: &[&str]) -> serde_json::Value {
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

#[test]
fn iam_user_keys_go_through_get_federation_token_at_moto() {
    let Some(moto) = Moto::start() else { return };
    if support::require_venv_tool("aws").is_none() {
        return;
    }
    let sb = Sandbox::new();
    let user = "console-tester-with-a-long-name";
    aws_cli(&moto, &sb, &["iam", "create-user", "--user-name", user]);
    let key = aws_cli(
        &moto,
        &sb,
        &["iam", "create-access-key", "--user-name", user],
    );
    let (akid, secret) = (
        key["AccessKey"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_string(),
        key["AccessKey"]["SecretAccessKey"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    sb.write_credentials(&format!(
        "[iamuser]\naws_access_key_id = {akid}\naws_secret_access_key = {secret}\n"
    ));
    // The federation token moto hands out (the same for every call).
    let fed = FakeFederation::start();
    fed.know(
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
        "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==",
        Kind::FederationToken,
    );
    for extra in [&[][..], &["--duration", "7200"]] {
        let mut args = vec!["console", "--profile", "iamuser", "--print"];
        args.extend_from_slice(extra);
        let out = run(cmd(&sb, &fed)
            .env("AWS_ENDPOINT_URL_STS", moto.url())
            .args(&args));
        let url = printed_url(&out);
        accepted(&fed, &url);
        let seen = fed.seen().pop().unwrap();
        assert_eq!(seen.session["sessionId"], "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(
            seen.session_duration, None,
            "federation tokens take no SessionDuration"
        );
        let err = out.stderr_str();
        // aws-cred-<user>, cut to STS's 32 characters.
        assert!(
            err.contains("federated user aws-cred-console-tester-with-a-l\n"),
            "{err}"
        );
        assert!(err.contains("GetFederationToken") || err.contains("federation token"));
        assert_quiet_stderr(&out, &fed, &[&secret, "wJalrXUtnFEMI", "AQoDYXdzEPT"]);
    }
    let log = moto.log();
    assert!(
        log.matches("POST / HTTP").count() >= 4,
        "GetCallerIdentity and GetFederationToken, twice:\n{log}"
    );
}

#[test]
fn cognito_identity_credentials_sign_in_at_moto() {
    let Some(moto) = Moto::start() else { return };
    if support::require_venv_tool("aws").is_none() {
        return;
    }
    let sb = Sandbox::new();
    let pool = aws_cli(
        &moto,
        &sb,
        &["cognito-idp", "create-user-pool", "--pool-name", "app"],
    )["UserPool"]["Id"]
        .as_str()
        .unwrap()
        .to_string();
    let client = aws_cli(
        &moto,
        &sb,
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
    let identity_pool = aws_cli(
        &moto,
        &sb,
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
    let password = "Alice-Passw0rd!";
    aws_cli(
        &moto,
        &sb,
        &[
            "cognito-idp",
            "admin-create-user",
            "--user-pool-id",
            &pool,
            "--username",
            "alice",
        ],
    );
    aws_cli(
        &moto,
        &sb,
        &[
            "cognito-idp",
            "admin-set-user-password",
            "--user-pool-id",
            &pool,
            "--username",
            "alice",
            "--password",
            password,
            "--permanent",
        ],
    );
    sb.write_config(&format!(
        "[profile myapp]\nregion = us-east-1\ncognito_user_pool_id = {pool}\ncognito_client_id = {client}\ncognito_identity_pool_id = {identity_pool}\n"
    ));
    let fed = FakeFederation::start();
    let moto_cmd = || {
        let mut c = cmd(&sb, &fed);
        c.env("AWS_ENDPOINT_URL", moto.url())
            .env("AWS_ENDPOINT_URL_SIGNIN", fed.url())
            .env("AWS_CRED_COGNITO_PASSWORD", password);
        c
    };
    // The identity pool's credentials, as `cognito` gets (and caches) them.
    let out = run(moto_cmd().args([
        "cognito",
        "--user",
        "alice",
        "--profile",
        "myapp",
        "--format",
        "json",
    ]));
    out.assert_success();
    let creds: serde_json::Value = serde_json::from_str(&out.stdout_str()).unwrap();
    let (akid, secret, token) = (
        creds["AccessKeyId"].as_str().unwrap(),
        creds["SecretAccessKey"].as_str().unwrap(),
        creds["SessionToken"].as_str().unwrap(),
    );
    fed.know(akid, secret, token, Kind::Role);

    let out = run(moto_cmd().args([
        "console",
        "--profile",
        "myapp",
        "--cognito-user",
        "alice",
        "--service",
        "s3",
        "--print",
    ]));
    let url = printed_url(&out);
    assert_eq!(
        accepted(&fed, &url),
        "https://console.aws.amazon.com/s3/home?region=us-east-1"
    );
    assert_eq!(fed.seen()[0].session["sessionId"], akid);
    assert!(
        out.stderr_str().contains("Cognito identity"),
        "{}",
        out.stderr_str()
    );
    assert_quiet_stderr(&out, &fed, &[secret, token, password]);

    // Guests of the identity pool (moto gives every identity the same keys).
    let out = run(moto_cmd().args([
        "console",
        "--profile",
        "myapp",
        "--cognito-guest",
        "--print",
    ]));
    accepted(&fed, &printed_url(&out));
    assert_eq!(fed.seen().len(), 2);
    assert_quiet_stderr(&out, &fed, &[secret, token]);
}

#[test]
fn a_failing_or_unreachable_sign_in_endpoint_is_reported_without_secrets() {
    let sb = Sandbox::new();
    let env_cmd = |endpoint: &str| {
        let mut c = sb.cmd();
        env_session(&mut c)
            .env("AWS_ENDPOINT_URL_SIGNIN", endpoint)
            .env("AWS_CRED_READ_TIMEOUT", "5")
            .args(["console", "--print"]);
        c
    };
    let no_secret = |out: &Output| {
        assert!(out.stdout.is_empty());
        let err = out.stderr_str();
        for secret in [ENV_SECRET, ENV_TOKEN, "sessionKey", "Session="] {
            assert!(!err.contains(secret), "stderr leaks {secret}:\n{err}");
        }
        err
    };

    // 5xx: retried, then reported.
    let failing = support::FakeHttp::new(|_| support::Response::text(503, "slow down"));
    let out = run(&mut env_cmd(&failing.url()));
    out.assert_code(1);
    let err = no_secret(&out);
    assert!(err.contains("failed (HTTP 503)"), "{err}");
    assert_eq!(failing.requests().len(), 3, "three attempts");

    // 200 without a SigninToken: not a sign-in endpoint.
    let odd = support::FakeHttp::new(|_| support::Response::json(200, "{}"));
    let out = run(&mut env_cmd(&odd.url()));
    out.assert_code(1);
    assert!(no_secret(&out).contains("without a SigninToken"));

    // Nothing listening.
    let closed = format!("http://127.0.0.1:{}", support::free_port());
    let out = run(&mut env_cmd(&closed));
    out.assert_code(1);
    let err = no_secret(&out);
    assert!(err.contains("could not reach"), "{err}");
}

/// Issue 22, item 13: a `BROWSER` command that fails is an error with the way out (`--print`),
/// not a quiet fall-back to another browser and exit 0; in a `BROWSER` list the next command
/// is tried first.
#[test]
fn a_failing_browser_command_is_reported() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let fed = FakeFederation::start();
    fed.know(ENV_KEY, ENV_SECRET, ENV_TOKEN, Kind::Role);
    let failing = sb.write("bin/broken-browser", "#!/bin/sh\nexit 3\n");
    std::fs::set_permissions(&failing, std::fs::Permissions::from_mode(0o755)).unwrap();
    let console = |browser: &str| {
        run(env_session(&mut cmd(&sb, &fed))
            .env("BROWSER", browser)
            .env("FAKE_BROWSER_LOG", sb.path("browser.log"))
            .env("FAKE_BROWSER_MODE", "handoff")
            .env("DISPLAY", ":0")
            .args(["console"]))
    };
    let out = console(&failing.display().to_string());
    assert_eq!(out.code(), Some(1), "{}", out.stderr_str());
    assert!(out.stdout.is_empty());
    let err = out.stderr_str();
    assert!(err.contains("could not start the browser"), "{err}");
    assert!(err.contains("exited with status 3"), "{err}");
    assert!(err.contains("--print"), "{err}");
    assert_quiet_stderr(&out, &fed, &[ENV_SECRET, ENV_TOKEN]);

    // A list: the failing one, then one that works.
    let Some(working) = FakeBrowser::new(&sb) else {
        return;
    };
    let out = console(&format!(
        "{}:{}",
        failing.display(),
        working.script.display()
    ));
    out.assert_success();
    accepted(&fed, &handed_off(&working));
}
