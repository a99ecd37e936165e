//! Issue 11, items 5–7 and 9–11: endpoints and commands that answer badly. A trickling ECS
//! endpoint, bodies and outputs without end, a credential_process that never ends, times
//! out of range, truncated or foreign answers, and credentials that arrive expired. Each test
//! failed before the fix (hung, grew without bound, panicked with exit 101, or succeeded).

use crate::support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::{FakeHttp, OutputExt, Response, Sandbox, run, run_with_timeout};

const MIB: usize = 1024 * 1024;

fn no_panic(out: &std::process::Output) {
    assert_ne!(out.code(), Some(101), "panicked: {}", out.stderr_str());
    assert!(
        !out.stderr_str().contains("panicked"),
        "{}",
        out.stderr_str()
    );
}

/// A raw loopback server: each connection gets `head` at once, then `byte` every `pause`,
/// `count` times (bounded), then the connection is closed.
struct Trickle {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Trickle {
    fn start(head: &'static str, byte: &'static [u8], pause: Duration, count: usize) -> Trickle {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let flag = flag.clone();
                std::thread::spawn(move || {
                    stream.set_nonblocking(false).ok();
                    stream
                        .set_read_timeout(Some(Duration::from_millis(200)))
                        .ok();
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf);
                    if stream.write_all(head.as_bytes()).is_err() {
                        return;
                    }
                    for _ in 0..count {
                        if flag.load(Ordering::SeqCst) || stream.write_all(byte).is_err() {
                            return;
                        }
                        std::thread::sleep(pause);
                    }
                });
            }
        });
        Trickle { port, stop }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Trickle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

#[test]
fn issue11_5_trickling_ecs_endpoint_is_cut_off() {
    let sb = Sandbox::new();
    // Headers, then one byte a second for up to two minutes.
    let ecs = Trickle::start(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
        b" ",
        Duration::from_millis(1000),
        120,
    );
    let started = Instant::now();
    let out = run_with_timeout(
        sb.cmd()
            .env(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                format!("{}/creds", ecs.url()),
            )
            .args(["export"]),
        Duration::from_secs(40),
    );
    out.assert_code(1);
    no_panic(&out);
    let err = out.stderr_str();
    assert!(err.contains(&ecs.url()) && err.contains("10 s"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

const STS_IDENTITY_HEAD: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n\r\n<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>";

#[test]
fn issue11_6_endless_sts_body_is_capped() {
    let sb = Sandbox::new();
    sb.write_credentials("[default]\naws_access_key_id = AKIA\naws_secret_access_key = s\n");
    // No length: 64 KiB chunks without end (bounded at 1 GiB, far more than the cap).
    static CHUNK: [u8; 65536] = [b'a'; 65536];
    let sts = Trickle::start(STS_IDENTITY_HEAD, &CHUNK, Duration::ZERO, 16 * 1024);
    let started = Instant::now();
    let out = run_with_timeout(
        sb.cmd()
            .env("AWS_ENDPOINT_URL_STS", sts.url())
            .args(["whoami"]),
        Duration::from_secs(50),
    );
    out.assert_code(1);
    no_panic(&out);
    let err = out.stderr_str();
    assert!(
        err.contains(&sts.url()) && err.contains(&MIB.to_string()),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    // A declared length over the cap is refused without reading it.
    let big = "x".repeat(2 * MIB);
    let fake = FakeHttp::new(move |_| Response::xml(200, &big));
    let out = run(sb
        .cmd()
        .env("AWS_ENDPOINT_URL_STS", fake.url())
        .args(["whoami"]));
    out.assert_code(1);
    assert!(
        out.stderr_str().contains(&MIB.to_string()),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn issue11_6_huge_ecs_body_is_capped() {
    let sb = Sandbox::new();
    let big = format!("{{\"AccessKeyId\": \"{}\"}}", "A".repeat(3 * MIB));
    let ecs = FakeHttp::new(move |_| Response::json(200, &big));
    let out = run(sb
        .cmd()
        .env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("{}/creds", ecs.url()),
        )
        .args(["export"]));
    out.assert_code(1);
    no_panic(&out);
    assert!(
        out.stderr_str().contains(&MIB.to_string()),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn issue11_6_huge_imds_body_is_capped() {
    let sb = Sandbox::new();
    let big = "x".repeat(2 * MIB);
    let imds = FakeHttp::new(move |req| match (req.method.as_str(), req.path.as_str()) {
        ("PUT", "/latest/api/token") => Response::text(200, "imds-token")
            .with_header("x-aws-ec2-metadata-token-ttl-seconds", "21600"),
        _ => Response::text(200, &big),
    });
    let out = run(sb
        .cmd()
        .env_remove("AWS_EC2_METADATA_DISABLED")
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url())
        .env("AWS_METADATA_SERVICE_TIMEOUT", "5")
        .args(["export", "--explain"]));
    no_panic(&out);
    // IMDS failing is a miss (not on EC2), so the chain ends with "no credentials".
    out.assert_code(3);
    let err = out.stderr_str();
    assert!(err.contains(&MIB.to_string()), "{err}");
}

fn process_profile(sb: &Sandbox, command: &str) {
    sb.write_config(&format!("[profile p]\ncredential_process = {command}\n"));
}

#[test]
fn issue11_6_endless_credential_process_output_is_capped() {
    let sb = Sandbox::new();
    process_profile(&sb, "cat /dev/zero");
    let out = run_with_timeout(
        sb.cmd().args(["export", "--profile", "p"]),
        Duration::from_secs(30),
    );
    out.assert_code(1);
    no_panic(&out);
    let err = out.stderr_str();
    assert!(
        err.contains("profile p") && err.contains(&MIB.to_string()),
        "{err}"
    );
}

fn pid_alive(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit(") ")
        .next()
        .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('Z'))
}

fn wait_dead(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while pid_alive(pid) {
        assert!(Instant::now() < deadline, "process {pid} survived");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn issue11_7_credential_process_timeout_kills_its_group() {
    let sb = Sandbox::new();
    let pid_file = sb.path("pid");
    process_profile(
        &sb,
        &format!(
            "sh -c 'sleep 100000 & echo $! > {}; wait'",
            pid_file.display()
        ),
    );
    let started = Instant::now();
    let out = run_with_timeout(
        sb.cmd()
            .env("AWS_CRED_PROCESS_TIMEOUT", "1")
            .args(["export", "--profile", "p"]),
        Duration::from_secs(30),
    );
    out.assert_code(1);
    let err = out.stderr_str();
    assert!(
        err.contains("within 1 s") && err.contains("AWS_CRED_PROCESS_TIMEOUT"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    wait_dead(pid);
    // A bad setting is a usage error.
    let out =
        run(sb
            .cmd()
            .env("AWS_CRED_PROCESS_TIMEOUT", "forever")
            .args(["export", "--profile", "p"]));
    out.assert_code(2);
}

#[test]
fn issue11_7_interrupt_kills_the_credential_process_group() {
    let sb = Sandbox::new();
    let pid_file = sb.path("pid");
    process_profile(
        &sb,
        &format!(
            "sh -c 'sleep 100000 & echo $! > {}; wait'",
            pid_file.display()
        ),
    );
    let mut child = sb
        .cmd()
        .args(["export", "--profile", "p"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let pid: i32 = loop {
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.trim().parse().ok())
        {
            break pid;
        }
        assert!(
            Instant::now() < deadline,
            "the credential_process never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let aws_cred = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(aws_cred, rustix::process::Signal::INT).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("aws-cred did not end on SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    wait_dead(pid);
}

#[test]
fn issue11_7_credential_process_in_its_own_group_can_still_prompt_on_the_terminal() {
    // Its own process group would be a background job, stopped (SIGTTIN) when it reads the
    // terminal; aws-cred hands it the terminal while it runs. `script` gives us a terminal.
    let Some(script) = support::require_program("script") else {
        return;
    };
    let sb = Sandbox::new();
    process_profile(
        &sb,
        r#"sh -c 'printf "code: " > /dev/tty; read x < /dev/tty; printf "{\"Version\":1,\"AccessKeyId\":\"AKTTY\",\"SecretAccessKey\":\"%s\"}" "$x"'"#,
    );
    let exe = env!("CARGO_BIN_EXE_aws-cred");
    let mut cmd = std::process::Command::new(script);
    cmd.args([
        "-qec",
        &format!("{exe} export --profile p --format json"),
        "/dev/null",
    ])
    .env_clear()
    .env("PATH", std::env::var("PATH").unwrap())
    .env("HOME", sb.home())
    .env("AWS_CONFIG_FILE", sb.config_path())
    .env("AWS_SHARED_CREDENTIALS_FILE", sb.credentials_path())
    .env("AWS_EC2_METADATA_DISABLED", "true")
    .env("AWS_CRED_PROCESS_TIMEOUT", "20");
    let started = Instant::now();
    let out = support::run_with_input(&mut cmd, b"typed-on-tty\n");
    out.assert_success();
    let text = out.stdout_str();
    assert!(
        text.contains("AKTTY") && text.contains("typed-on-tty"),
        "{text}"
    );
    assert!(started.elapsed() < Duration::from_secs(15));
}

// ---------------------------------------------------------------------------------------------
// Item 9: times out of range.

const START_URL: &str = "https://corp.awsapps.com/start";

fn sso_sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.write_config(
        "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Dev\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n\
         sso_registration_scopes = sso:account:access\n",
    );
    sb
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn rfc3339(unix: i64) -> String {
    let (days, rem) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

fn cache_sso_token(sb: &Sandbox) {
    sb.write(
        "home/.aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json",
        format!(
            r#"{{"startUrl":"{START_URL}","region":"us-east-1","accessToken":"cli-token","expiresAt":"{}"}}"#,
            rfc3339(unix_now() + 8 * 3600)
        ),
    );
}

fn portal_with_expiration(expiration: String) -> FakeHttp {
    FakeHttp::new(move |_| {
        Response::json(
            200,
            &format!(
                r#"{{"roleCredentials":{{"accessKeyId":"ASIASSO","secretAccessKey":"ssosecret","sessionToken":"ssotoken","expiration":{expiration}}}}}"#
            ),
        )
    })
}

#[test]
fn issue11_9_sso_expiration_out_of_range_is_an_error() {
    for expiration in [
        i64::MAX.to_string(),
        "253402300800000".to_string(),
        "-1".to_string(),
    ] {
        let sb = sso_sandbox();
        cache_sso_token(&sb);
        let portal = portal_with_expiration(expiration.clone());
        let out = run(sb.cmd().env("AWS_ENDPOINT_URL_SSO", portal.url()).args([
            "export",
            "--profile",
            "dev",
        ]));
        no_panic(&out);
        out.assert_code(1);
        out.assert_failed_eval();
        let err = out.stderr_str();
        assert!(
            err.contains("expiration") && err.contains(&expiration),
            "{err}"
        );
        assert!(!err.contains("ssosecret"));
    }
}

fn cognito_guest(expiration: &str) -> FakeHttp {
    let expiration = expiration.to_string();
    FakeHttp::new(move |req| {
        let reply = |body: String| {
            Response::new(200)
                .with_header("content-type", "application/x-amz-json-1.1")
                .with_body(body)
        };
        match req.header("x-amz-target").unwrap_or("") {
            "AWSCognitoIdentityService.GetId" => {
                reply(r#"{"IdentityId":"us-east-1:guest-1"}"#.to_string())
            }
            "AWSCognitoIdentityService.GetCredentialsForIdentity" => reply(format!(
                r#"{{"IdentityId":"us-east-1:guest-1","Credentials":{{"AccessKeyId":"ASIAGUEST","SecretKey":"guestsecret","SessionToken":"guesttoken","Expiration":{expiration}}}}}"#
            )),
            _ => Response::json(400, r#"{"__type":"UnknownOperationException"}"#),
        }
    })
}

fn run_guest(sb: &Sandbox, fake: &FakeHttp) -> std::process::Output {
    run(sb
        .cmd()
        .env("AWS_CRED_CACHE_DIR", sb.path("cache"))
        .env("AWS_ENDPOINT_URL_COGNITO_IDENTITY", fake.url())
        .args([
            "cognito",
            "--unauthenticated",
            "--identity-pool-id",
            "us-east-1:11111111-2222-3333-4444-555555555555",
        ]))
}

#[test]
fn issue11_9_cognito_expiration_out_of_range_is_an_error() {
    for expiration in ["9e15", "1e308", "253402300800", "-5"] {
        let sb = Sandbox::new();
        let fake = cognito_guest(expiration);
        let out = run_guest(&sb, &fake);
        no_panic(&out);
        out.assert_code(1);
        out.assert_failed_eval();
        let err = out.stderr_str();
        assert!(err.contains("Expiration"), "{expiration}: {err}");
        assert!(!err.contains("guestsecret"));
    }
}

fn jwt(exp: &str) -> String {
    use base64::Engine;
    let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.c2ln",
        enc(r#"{"alg":"RS256"}"#),
        enc(&format!(
            r#"{{"sub":"u-1","cognito:username":"alice","exp":{exp}}}"#
        ))
    )
}

#[test]
fn issue11_9_id_token_exp_out_of_range_is_an_error() {
    for exp in ["18446744073709551615", "10000000000000000"] {
        let sb = Sandbox::new();
        let id_token = jwt(exp);
        let fake = FakeHttp::new(move |req| {
            match req.header("x-amz-target").unwrap_or("") {
                "AWSCognitoIdentityProviderService.InitiateAuth" => Response::new(200)
                    .with_header("content-type", "application/x-amz-json-1.1")
                    .with_body(format!(
                        r#"{{"AuthenticationResult":{{"IdToken":"{id_token}","AccessToken":"{id_token}","RefreshToken":"refresh","ExpiresIn":3600,"TokenType":"Bearer"}},"ChallengeParameters":{{}}}}"#
                    )),
                _ => Response::json(400, r#"{"__type":"UnknownOperationException"}"#),
            }
        });
        let out = run(sb
            .cmd()
            .env("AWS_CRED_CACHE_DIR", sb.path("cache"))
            .env("AWS_ENDPOINT_URL", fake.url())
            .env("AWS_CRED_COGNITO_PASSWORD", "alicepassword")
            .args([
                "cognito",
                "--user",
                "alice",
                "--auth-flow",
                "password",
                "--user-pool-id",
                "us-east-1_Pool1",
                "--client-id",
                "client1",
                "--identity-pool-id",
                "us-east-1:11111111-2222-3333-4444-555555555555",
            ]));
        no_panic(&out);
        out.assert_code(1);
        let err = out.stderr_str();
        assert!(err.contains("exp") && err.contains(exp), "{exp}: {err}");
    }
}

#[test]
fn issue11_9_register_client_secret_expiry_out_of_range_is_an_error() {
    let sb = sso_sandbox();
    let oidc = FakeHttp::new(|req| {
        if req.path.starts_with("/client/register") {
            Response::json(
                200,
                &format!(
                    r#"{{"clientId":"cid","clientSecret":"clientsecretvalue","clientIdIssuedAt":1,"clientSecretExpiresAt":{}}}"#,
                    i64::MAX
                ),
            )
        } else {
            Response::json(400, r#"{"error":"invalid_request"}"#)
        }
    });
    let out = run(sb.cmd().env("AWS_ENDPOINT_URL_SSO_OIDC", oidc.url()).args([
        "sso-login",
        "--profile",
        "dev",
        "--use-device-code",
        "--no-browser",
    ]));
    no_panic(&out);
    out.assert_code(1);
    let err = out.stderr_str();
    assert!(err.contains("clientSecretExpiresAt"), "{err}");
    assert!(!err.contains("clientsecretvalue"));
}

// ---------------------------------------------------------------------------------------------
// Item 10: malformed answers.

fn role_sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.write_credentials("[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n");
    sb.write_config(
        "[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/Admin\nsource_profile = base\n",
    );
    sb
}

#[test]
fn issue11_10_truncated_assume_role_is_not_expired_at_1970() {
    for credentials in [
        "<Credentials><AccessKeyId>ASIAX</AccessKeyId><SecretAccessKey>rolesecret</SecretAccessKey><SessionToken>t</SessionToken></Credentials>",
        "",
    ] {
        let sb = role_sandbox();
        let body = format!(
            "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>{credentials}<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/Admin/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>"
        );
        let sts = FakeHttp::new(move |_| Response::xml(200, &body));
        let out = run(sb.cmd().env("AWS_ENDPOINT_URL_STS", sts.url()).args([
            "export",
            "--profile",
            "admin",
        ]));
        no_panic(&out);
        out.assert_code(1);
        out.assert_failed_eval();
        let err = out.stderr_str();
        assert!(
            err.contains(&sts.url()) && err.contains("AssumeRole"),
            "{err}"
        );
        assert!(!err.contains("1970"), "{err}");
        assert!(!err.contains("rolesecret"));
    }
}

#[test]
fn issue11_10_sso_role_credentials_without_expiration_are_an_error() {
    let sb = sso_sandbox();
    cache_sso_token(&sb);
    let portal = FakeHttp::new(|_| {
        Response::json(
            200,
            r#"{"roleCredentials":{"accessKeyId":"ASIASSO","secretAccessKey":"ssosecret","sessionToken":"ssotoken"}}"#,
        )
    });
    let out = run(sb.cmd().env("AWS_ENDPOINT_URL_SSO", portal.url()).args([
        "export",
        "--profile",
        "dev",
    ]));
    out.assert_code(1);
    out.assert_failed_eval();
    let err = out.stderr_str();
    assert!(
        err.contains(&portal.url()) && err.contains("expiration"),
        "{err}"
    );
}

#[test]
fn issue11_10_caller_identity_without_account_is_an_error() {
    let sb = Sandbox::new();
    sb.write_credentials("[default]\naws_access_key_id = AKIA\naws_secret_access_key = s\n");
    let sts = FakeHttp::new(|_| {
        Response::xml(
            200,
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/a</Arn><UserId>AIDA</UserId><Account></Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
        )
    });
    for args in [
        &["whoami"][..],
        &["whoami", "--short"],
        &["whoami", "--json"],
    ] {
        let out = run(sb.cmd().env("AWS_ENDPOINT_URL_STS", sts.url()).args(args));
        no_panic(&out);
        out.assert_code(1);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout_str());
        let err = out.stderr_str();
        assert!(err.contains(&sts.url()) && err.contains("Account"), "{err}");
    }
}

#[test]
fn issue11_10_html_page_or_redirect_names_endpoint_and_status() {
    for (status, response) in [
        (
            403,
            Response::new(403)
                .with_header("content-type", "text/html")
                .with_body("<html><body><h1>Forbidden by proxy</h1></body></html>"),
        ),
        (
            302,
            Response::new(302).with_header("location", "https://login.example.com/"),
        ),
    ] {
        let sb = Sandbox::new();
        sb.write_credentials("[default]\naws_access_key_id = AKIA\naws_secret_access_key = s\n");
        let sts = FakeHttp::new(move |_| Response {
            status: response.status,
            headers: response.headers.clone(),
            body: response.body.clone(),
        });
        let out = run(sb
            .cmd()
            .env("AWS_ENDPOINT_URL_STS", sts.url())
            .args(["whoami"]));
        no_panic(&out);
        out.assert_code(1);
        let err = out.stderr_str();
        assert!(
            err.contains(&sts.url()) && err.contains(&format!("HTTP {status}")),
            "{status}: {err}"
        );
        assert!(!err.contains("Unknown:"), "{err}");
    }
}

#[test]
fn issue11_10_html_page_from_the_sso_oidc_endpoint_names_endpoint_and_status() {
    let sb = sso_sandbox();
    let oidc = FakeHttp::new(|_| {
        Response::new(403)
            .with_header("content-type", "text/html")
            .with_body("<html><body>Access denied by the corporate proxy</body></html>")
    });
    let out = run(sb.cmd().env("AWS_ENDPOINT_URL_SSO_OIDC", oidc.url()).args([
        "sso-login",
        "--profile",
        "dev",
        "--use-device-code",
        "--no-browser",
    ]));
    no_panic(&out);
    out.assert_code(1);
    let err = out.stderr_str();
    assert!(
        err.contains(&oidc.url()) && err.contains("HTTP 403") && !err.contains("Unknown"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Item 11: credentials that arrive expired.

#[test]
fn issue11_11_expired_sso_login_credentials_exit_4() {
    let sb = sso_sandbox();
    cache_sso_token(&sb);
    let portal = portal_with_expiration(((unix_now() - 3600) * 1000).to_string());
    let out = run(sb.cmd().env("AWS_ENDPOINT_URL_SSO", portal.url()).args([
        "sso-login",
        "--profile",
        "dev",
    ]));
    out.assert_code(4);
    out.assert_failed_eval();
    let err = out.stderr_str();
    assert!(err.contains("expired") && err.contains("hint:"), "{err}");
    assert!(
        err.contains("aws-cred sso-login --profile dev --force"),
        "{err}"
    );
    assert!(!err.contains("ssosecret"));
}

#[test]
fn issue11_11_expired_cognito_guest_credentials_exit_4() {
    let sb = Sandbox::new();
    let fake = cognito_guest(&(unix_now() - 3600).to_string());
    let out = run_guest(&sb, &fake);
    out.assert_code(4);
    out.assert_failed_eval();
    let err = out.stderr_str();
    assert!(err.contains("expired") && err.contains("hint:"), "{err}");
    assert!(!err.contains("guestsecret"));
}
