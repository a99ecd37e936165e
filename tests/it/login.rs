//! `aws login` console sessions: the chain resolving `login_session` profiles from the login
//! cache the AWS CLI writes, the refresh near expiry (DPoP-signed, verified by the loopback
//! Sign-In in `fakes/signin.rs`), the write-back in the AWS CLI's format, the lock that makes
//! twenty parallel callers refresh once, and every failure with its exit code and hint.

use crate::fakes::signin as fake_signin;
use crate::support;

use fake_signin::{FakeSignin, SAME_DEVICE, SESSION_ARN, SigninRules, TEST_KEY, chrono_like};
use sha2::Digest as _;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};
use support::browser::{FakeBrowser, is_handoff};
use support::{OutputExt, Sandbox, run};

const CONFIG: &str = "[profile console]\n\
login_session = arn:aws:iam::123456789012:user/alice\n\
region = us-west-2\n\
\n\
[profile admin]\n\
role_arn = arn:aws:iam::123456789012:role/Admin\n\
source_profile = console\n\
role_session_name = alice-admin\n";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `~/.aws/login/cache/<sha256 of the ARN>.json`, relative to the sandbox root.
fn cache_file(arn: &str) -> String {
    format!(
        "home/.aws/login/cache/{}.json",
        hex::encode(sha2::Sha256::digest(arn.as_bytes()))
    )
}

/// A cache file exactly as `aws login` (AWS CLI v2) writes it.
fn cli_cache(access_key_id: &str, expires_at: u64, refresh_token: &str) -> String {
    format!(
        r#"{{"accessToken": {{"accessKeyId": "{access_key_id}", "secretAccessKey": "cli-secret", "sessionToken": "cli-session-token", "accountId": "123456789012", "expiresAt": "{}"}}, "tokenType": "aws_sigv4", "clientId": "{SAME_DEVICE}", "refreshToken": "{refresh_token}", "idToken": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "dpopKey": "{}"}}"#,
        chrono_like(expires_at),
        TEST_KEY.replace('\n', "\\n")
    )
}

struct World {
    sandbox: Sandbox,
    signin: FakeSignin,
}

impl World {
    fn new(rules: SigninRules) -> World {
        let sandbox = Sandbox::new();
        sandbox.write_config(CONFIG);
        World {
            sandbox,
            signin: FakeSignin::start(rules),
        }
    }

    /// An AWS-CLI-written session whose credentials expire in `secs` (negative: ago).
    fn session_expiring_in(&self, secs: i64) -> String {
        let refresh = "cli-refresh-token-1";
        self.signin
            .seed_refresh_token(refresh, SAME_DEVICE, SESSION_ARN);
        self.signin.seed_access_key("ASIACLI", SESSION_ARN);
        let text = cli_cache("ASIACLI", (now() as i64 + secs) as u64, refresh);
        let path = self.sandbox.write(&cache_file(SESSION_ARN), &text);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        text
    }

    fn cmd(&self) -> Command {
        let mut cmd = self.sandbox.cmd();
        cmd.env("AWS_ENDPOINT_URL_SIGNIN", self.signin.url())
            .env("AWS_ENDPOINT_URL_STS", self.signin.url());
        cmd
    }

    fn aws_cred(&self, args: &[&str]) -> Output {
        run(self.cmd().args(args))
    }

    fn cache_text(&self) -> String {
        self.sandbox.read(&cache_file(SESSION_ARN))
    }

    fn cache_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.cache_text()).unwrap()
    }
}

fn json_out(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stderr_str()))
}

#[test]
fn a_valid_cache_is_used_without_a_network_call() {
    let world = World::new(SigninRules::default());
    let before = world.session_expiring_in(3600);
    let out = world.aws_cred(&[
        "export",
        "--profile",
        "console",
        "--format",
        "json",
        "--explain",
    ]);
    out.assert_success();
    let doc = json_out(&out);
    assert_eq!(doc["AccessKeyId"], "ASIACLI");
    assert_eq!(doc["SecretAccessKey"], "cli-secret");
    assert_eq!(doc["SessionToken"], "cli-session-token");
    let stderr = out.stderr_str();
    assert!(
        stderr.contains("profile       resolved: aws login session arn:aws:iam::123456789012:user/alice (profile console, cache ")
            && stderr.contains(&world.sandbox.path(&cache_file(SESSION_ARN)).display().to_string()),
        "{stderr}"
    );
    assert_eq!(world.signin.http.requests().len(), 0, "no call while valid");
    assert_eq!(world.cache_text(), before, "the file is not touched");
}

/// Issue 22, item 5: the login cache follows the trust rule of `~/.aws/sso/cache` (one rule,
/// os::fs::judge_shared): a file another user owns is warned about and never used (before: it
/// was read and its credentials exported), also by `status`; a file others may write is warned
/// about and still used, as the AWS CLI uses it.
#[test]
fn the_login_cache_follows_the_shared_cache_trust_rule() {
    use std::os::unix::fs::MetadataExt;
    let world = World::new(SigninRules::default());
    world.session_expiring_in(3600);
    let path = world.sandbox.path(&cache_file(SESSION_ARN));

    // Writable by others: used, with a warning naming the fix.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = world.aws_cred(&["export", "--profile", "console", "--format", "json"]);
    out.assert_success();
    assert_eq!(json_out(&out)["AccessKeyId"], "ASIACLI");
    let err = out.stderr_str();
    assert!(
        err.contains("warning:") && err.contains("still uses it") && err.contains("chmod"),
        "{err}"
    );

    // Owned by another user (one who could have planted it): not used.
    if !support::is_root() {
        eprintln!("skipped the other-owner half: chown needs root");
        return;
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().uid(), 65534);
    let out = world.aws_cred(&["export", "--profile", "console", "--format", "json"]);
    assert_eq!(out.code(), Some(4), "{}", out.stderr_str());
    assert!(out.stdout.is_empty());
    let err = out.stderr_str();
    assert!(
        err.contains("ignored") && err.contains("hint: run aws-cred login"),
        "{err}"
    );
    let status = world.aws_cred(&["status", "--json"]);
    let text = status.stdout_str();
    assert!(
        !text.contains("\"valid\""),
        "status trusts the planted file: {text}"
    );
}

/// Issue 22, item 8: a refresh lock held by a program that hangs is reported at once, naming
/// the holder and how long it has held it, while the cached credentials still work (before:
/// nothing was said until they had expired and the wait gave up).
#[test]
fn a_held_refresh_lock_is_reported_while_the_credentials_still_work() {
    use std::io::BufRead as _;
    let world = World::new(SigninRules::default());
    world.session_expiring_in(60);
    let locks = world.sandbox.home_path(".aws/aws-cred/cache/login");
    std::fs::create_dir_all(&locks).unwrap();
    for dir in [
        locks.parent().unwrap().parent().unwrap(),
        locks.parent().unwrap(),
        &locks,
    ] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let lock = locks.join(format!(
        "{}.json.lock",
        hex::encode(sha2::Sha256::digest(SESSION_ARN.as_bytes()))
    ));
    // Another program takes the lock and hangs (bounded: it sleeps 60 s at most).
    let mut holder = Command::new("python3")
        .args([
            "-c",
            "import fcntl, sys, time\nf = open(sys.argv[1], 'a')\nfcntl.flock(f, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep(60)",
        ])
        .arg(&lock)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "locked");
    let out = world.aws_cred(&["export", "--profile", "console", "--format", "json"]);
    let _ = holder.kill();
    let _ = holder.wait();
    out.assert_success();
    assert_eq!(json_out(&out)["AccessKeyId"], "ASIACLI");
    let err = out.stderr_str();
    assert!(
        err.contains("could not refresh the login session of profile console now")
            && err.contains(&format!("process {}", holder.id()))
            && err.contains("using the cached credentials until"),
        "{err}"
    );
    assert_eq!(world.signin.refreshes(), 0);
}

#[test]
fn near_expiry_it_refreshes_once_and_writes_back_like_the_aws_cli() {
    let world = World::new(SigninRules::default());
    world.session_expiring_in(120);
    let started = now();
    let out = world.aws_cred(&["export", "--profile", "console", "--format", "json"]);
    out.assert_success();
    assert_eq!(world.signin.rejections(), Vec::<String>::new());
    assert_eq!(world.signin.refreshes(), 1);
    let doc = json_out(&out);
    assert_eq!(doc["AccessKeyId"], "ASIALOGIN00000000001");
    assert_eq!(doc["SecretAccessKey"], "login-secret-1");
    assert!(
        !world.signin.is_live("cli-refresh-token-1"),
        "the old refresh token is spent"
    );

    // The AWS CLI's bytes: same member order, accessToken replaced whole, new refresh token.
    let text = world.cache_text();
    let cache = world.cache_json();
    let expires = cache["accessToken"]["expiresAt"]
        .as_str()
        .unwrap()
        .to_string();
    let refresh = cache["refreshToken"].as_str().unwrap().to_string();
    assert!(world.signin.is_live(&refresh));
    let expected = format!(
        r#"{{"accessToken": {{"accessKeyId": "ASIALOGIN00000000001", "secretAccessKey": "login-secret-1", "sessionToken": "login-session-token-1", "accountId": "123456789012", "expiresAt": "{expires}"}}, "tokenType": "aws_sigv4", "clientId": "{SAME_DEVICE}", "refreshToken": "{refresh}", "idToken": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "dpopKey": "{}"}}"#,
        TEST_KEY.replace('\n', "\\n")
    );
    assert_eq!(text, expected);
    let window: Vec<String> = (started + 900..=now() + 900).map(chrono_like).collect();
    assert!(window.contains(&expires), "{expires} not in {window:?}");
    let path = world.sandbox.path(&cache_file(SESSION_ARN));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // Then the refreshed cache is used as it is.
    let out = world.aws_cred(&["export", "--profile", "console", "--format", "json"]);
    out.assert_success();
    assert_eq!(json_out(&out)["AccessKeyId"], "ASIALOGIN00000000001");
    assert_eq!(world.signin.token_calls(), 1);
}

#[test]
fn expired_credentials_are_refreshed_with_the_refresh_token() {
    let world = World::new(SigninRules::default());
    world.session_expiring_in(-3600);
    let out = world.aws_cred(&["export", "--profile", "console"]);
    out.assert_success();
    assert!(
        out.stdout_str()
            .contains("export AWS_ACCESS_KEY_ID='ASIALOGIN00000000001'")
    );
    assert_eq!(world.signin.refreshes(), 1);
    assert_eq!(world.signin.rejections(), Vec::<String>::new());
}

#[test]
fn twenty_parallel_exports_make_one_refresh() {
    let world = World::new(SigninRules {
        delay: Duration::from_millis(300),
        ..SigninRules::default()
    });
    world.session_expiring_in(120);
    let children: Vec<_> = (0..20)
        .map(|_| {
            world
                .cmd()
                .args(["export", "--profile", "console", "--format", "json"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut keys = Vec::new();
    for child in children {
        assert!(
            std::time::Instant::now() < deadline,
            "exports took too long"
        );
        let out = child.wait_with_output().unwrap();
        out.assert_success();
        keys.push(json_out(&out)["AccessKeyId"].as_str().unwrap().to_string());
    }
    assert_eq!(
        world.signin.token_calls(),
        1,
        "{:?}",
        world.signin.rejections()
    );
    assert!(keys.iter().all(|k| k == "ASIALOGIN00000000001"), "{keys:?}");
}

#[test]
fn whoami_and_its_json_name_the_link_the_session_and_the_cache() {
    let world = World::new(SigninRules::default());
    world.session_expiring_in(3600);
    let out = world.aws_cred(&["whoami", "--profile", "console", "--json"]);
    out.assert_success();
    let doc = json_out(&out);
    assert_eq!(doc["arn"], SESSION_ARN);
    assert_eq!(doc["source"]["link"], "profile");
    let location = doc["source"]["location"].as_str().unwrap();
    assert!(location.contains(SESSION_ARN), "{location}");
    assert!(
        location.contains(
            &world
                .sandbox
                .path(&cache_file(SESSION_ARN))
                .display()
                .to_string()
        ),
        "{location}"
    );
    let out = world.aws_cred(&["whoami", "--profile", "console"]);
    out.assert_success();
    assert!(
        out.stdout_str().contains(
            "Source:      profile: aws login session arn:aws:iam::123456789012:user/alice"
        ),
        "{}",
        out.stdout_str()
    );
}

#[test]
fn a_role_profile_sources_the_login_session() {
    let world = World::new(SigninRules::default());
    world.session_expiring_in(120);
    let out = world.aws_cred(&["whoami", "--profile", "admin", "--json"]);
    out.assert_success();
    let doc = json_out(&out);
    assert_eq!(
        doc["arn"],
        "arn:aws:sts::123456789012:assumed-role/Admin/alice-admin"
    );
    let location = doc["source"]["location"].as_str().unwrap();
    assert!(
        location.contains("login session arn:aws:iam::123456789012:user/alice")
            && location.contains(", refreshed)")
            && location.contains("-> role arn:aws:iam::123456789012:role/Admin (profile admin)"),
        "{location}"
    );
    assert_eq!(world.signin.refreshes(), 1);
}

fn assert_stops(out: &Output, code: i32, needles: &[&str]) {
    assert_eq!(out.status.code(), Some(code), "{}", out.stderr_str());
    out.assert_failed_eval();
    let stderr = out.stderr_str();
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in:\n{stderr}");
    }
    for secret in [
        "cli-secret",
        "cli-refresh-token",
        "cli-session-token",
        "MHcCAQ",
        "login-secret",
    ] {
        assert!(!stderr.contains(secret), "{secret} leaked:\n{stderr}");
    }
}

#[test]
fn each_refusal_has_its_own_message_and_exit_code() {
    let cases: [(&str, i32, &[&str]); 3] = [
        (
            "TOKEN_EXPIRED",
            4,
            &[
                "TOKEN_EXPIRED",
                "hint: run aws-cred login --profile console",
            ],
        ),
        (
            "USER_CREDENTIALS_CHANGED",
            4,
            &[
                "password changed",
                "hint: run aws-cred login --profile console",
                "new password",
            ],
        ),
        (
            "INSUFFICIENT_PERMISSIONS",
            1,
            &[
                "signin:CreateOAuth2Token",
                "INSUFFICIENT_PERMISSIONS",
                "SignInLocalDevelopmentAccess",
            ],
        ),
    ];
    for (code, exit, needles) in cases {
        let world = World::new(SigninRules {
            refuse_refresh: Some(("AccessDeniedException", code)),
            ..SigninRules::default()
        });
        let before = world.session_expiring_in(60);
        let out = world.aws_cred(&["export", "--profile", "console"]);
        assert_stops(&out, exit, needles);
        assert_eq!(
            world.cache_text(),
            before,
            "{code}: the cache is left as it was"
        );
    }
}

#[test]
fn a_rotated_refresh_token_is_refused_and_says_log_in_again() {
    let world = World::new(SigninRules::default());
    world.session_expiring_in(-60);
    // Another machine (or a lost write) already spent this refresh token.
    world.sandbox.write(
        &cache_file(SESSION_ARN),
        cli_cache("ASIACLI", now() - 60, "never-issued"),
    );
    let out = world.aws_cred(&["export", "--profile", "console"]);
    assert_stops(
        &out,
        4,
        &[
            "ValidationException INVALID_REQUEST",
            "hint: run aws-cred login --profile console",
        ],
    );
}

#[test]
fn an_outage_near_expiry_keeps_the_still_valid_credentials() {
    let world = World::new(SigninRules {
        broken: true,
        ..SigninRules::default()
    });
    world.session_expiring_in(120);
    let out = world.aws_cred(&["export", "--profile", "console", "--format", "json"]);
    out.assert_success();
    assert_eq!(json_out(&out)["AccessKeyId"], "ASIACLI");
    assert!(
        out.stderr_str()
            .contains("warning: could not refresh the login session")
    );
    // Once expired, the same outage stops the chain.
    world.session_expiring_in(-10);
    let out = world.aws_cred(&["export", "--profile", "console"]);
    assert_stops(&out, 1, &["InternalServerException"]);
}

/// Issue 22, item 9: an answer that is not AWS Sign-In's names the endpoint and the HTTP status
/// (it once said "AWS Sign-In answered Unknown").
#[test]
fn an_answer_that_is_not_aws_names_the_endpoint_and_the_status() {
    for (status, content_type, body) in [
        (
            502,
            "text/html",
            "<html><body>Bad gateway (corporate proxy)</body></html>",
        ),
        (500, "application/json", ""),
        (200, "application/json", "garbage{"),
    ] {
        let world = World::new(SigninRules {
            not_aws: Some((status, content_type, body)),
            ..SigninRules::default()
        });
        world.session_expiring_in(-10);
        let out = world.aws_cred(&["export", "--profile", "console"]);
        assert_eq!(out.code(), Some(1), "{status}: {}", out.stderr_str());
        out.assert_failed_eval();
        let err = out.stderr_str();
        assert!(!err.contains("Unknown"), "{status}: {err}");
        assert!(err.contains("127.0.0.1:"), "the endpoint, {status}: {err}");
        if status != 200 {
            assert!(err.contains(&format!("HTTP {status}")), "{err}");
        }
    }
}

#[test]
fn no_cache_or_a_corrupt_one_stops_with_the_fix() {
    let world = World::new(SigninRules::default());
    let out = world.aws_cred(&["export", "--profile", "console"]);
    let path = world.sandbox.path(&cache_file(SESSION_ARN));
    assert_stops(
        &out,
        4,
        &[
            &path.display().to_string(),
            "hint: run aws-cred login --profile console (or: aws login --profile console)",
        ],
    );
    world
        .sandbox
        .write(&cache_file(SESSION_ARN), "{\"accessToken\": ");
    let out = world.aws_cred(&["export", "--profile", "console"]);
    assert_stops(
        &out,
        4,
        &[
            &path.display().to_string(),
            "it is not valid JSON",
            "hint: run aws-cred login",
        ],
    );
    // Expired and nothing to refresh with.
    world.sandbox.write(
        &cache_file(SESSION_ARN),
        r#"{"accessToken": {"accessKeyId": "A", "secretAccessKey": "cli-secret", "sessionToken": "t", "accountId": "123456789012", "expiresAt": "2020-01-01T00:00:00Z"}}"#,
    );
    let out = world.aws_cred(&["export", "--profile", "console"]);
    assert_stops(
        &out,
        4,
        &[
            "expired at 2020-01-01T00:00:00Z",
            "no clientId, refreshToken, dpopKey",
        ],
    );
    assert_eq!(world.signin.token_calls(), 0);
}

/// Issue 21's drift: a session with clientId and refreshToken but no dpopKey cannot be
/// refreshed (the refresh needs a DPoP proof); status and export say the same of it.
#[test]
fn a_session_without_a_dpop_key_is_expired_for_status_and_export_alike() {
    let world = World::new(SigninRules::default());
    let text = world.session_expiring_in(-600);
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc.as_object_mut().unwrap().remove("dpopKey");
    world
        .sandbox
        .write(&cache_file(SESSION_ARN), doc.to_string());
    let out = world.aws_cred(&["status", "--json"]);
    out.assert_success();
    let status: serde_json::Value = serde_json::from_str(&out.stdout_str()).unwrap();
    let console = status["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "console")
        .unwrap()
        .clone();
    assert_eq!(console["state"], "expired", "{console}");
    assert_eq!(
        console["fix"],
        "aws-cred login --profile console (or: aws login --profile console)"
    );
    let out = world.aws_cred(&["export", "--profile", "console"]);
    assert_stops(
        &out,
        4,
        &[
            "dpopKey",
            "hint: run aws-cred login --profile console (or: aws login --profile console)",
        ],
    );
    assert_eq!(world.signin.token_calls(), 0);
}

#[test]
fn the_cache_directory_variable_and_services_section_move_things() {
    let world = World::new(SigninRules::default());
    world.session_expiring_in(60);
    let moved: PathBuf = world.sandbox.path("elsewhere/login");
    std::fs::create_dir_all(&moved).unwrap();
    let name = cache_file(SESSION_ARN)
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    std::fs::rename(
        world.sandbox.path(&cache_file(SESSION_ARN)),
        moved.join(&name),
    )
    .unwrap();
    // The endpoint from a [services] section instead of the variable.
    world.sandbox.write_config(&format!(
        "[profile console]\nlogin_session = {SESSION_ARN}\nservices = local\n\n[services local]\nsignin =\n  endpoint_url = {}\n",
        world.signin.url()
    ));
    let out = run(world
        .sandbox
        .cmd()
        .env("AWS_LOGIN_CACHE_DIRECTORY", &moved)
        .args(["export", "--profile", "console", "--format", "json"]));
    out.assert_success();
    assert_eq!(json_out(&out)["AccessKeyId"], "ASIALOGIN00000000001");
    let written = std::fs::read_to_string(moved.join(&name)).unwrap();
    assert!(written.contains("ASIALOGIN00000000001"));
    assert!(!world.sandbox.path(&cache_file(SESSION_ARN)).exists());

    // The variable with `$VAR` in it: status and logout find the cache where login and the
    // chain do (one function says where; status once expanded only `~`).
    let with_var = |args: &[&str]| {
        run(world
            .sandbox
            .cmd()
            .env("SANDBOX_ROOT", world.sandbox.root())
            .env(
                "AWS_LOGIN_CACHE_DIRECTORY",
                "$SANDBOX_ROOT/elsewhere/${NO_SUCH}login",
            )
            .env("NO_SUCH", "")
            .args(args))
    };
    let out = with_var(&["status", "--json"]);
    out.assert_success();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout_str()).unwrap();
    let console = doc["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "console")
        .unwrap()
        .clone();
    assert_ne!(console["state"], "missing", "{console}");
    let out = with_var(&["logout", "--profile", "console"]);
    out.assert_success();
    assert!(
        out.stderr_str().contains("removed the login session"),
        "{}",
        out.stderr_str()
    );
    assert!(!moved.join(&name).exists());
}

/// Run `aws-cred login … --remote`: read the URL from stderr, be the browser on "another
/// device" (authorize page → confirmation page), paste the code it shows on stdin.
fn remote_login(world: &World, args: &[&str], tamper: Option<&str>) -> Output {
    let child = world
        .cmd()
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    world.signin.answer_remote_login(child, tamper)
}

#[test]
fn remote_login_writes_the_cache_and_the_profile_then_prints_credentials() {
    let world = World::new(SigninRules::default());
    world.sandbox.write_config(
        "# my config\n[default]\nregion = ap-northeast-1\n\n[profile console]\noutput = json\n\n[sso-session corp]\nsso_region = us-east-1\n",
    );
    let out = remote_login(
        &world,
        &[
            "login",
            "--profile",
            "console",
            "--remote",
            "--region",
            "eu-west-1",
            "--format",
            "json",
        ],
        None,
    );
    out.assert_success();
    assert_eq!(world.signin.code_grants(), 1);
    assert_eq!(world.signin.rejections(), Vec::<String>::new());
    let doc = json_out(&out);
    assert_eq!(doc["AccessKeyId"], "ASIALOGIN00000000002");
    // The profile, edited in place; everything else byte for byte.
    assert_eq!(
        world.sandbox.read("home/.aws/config"),
        format!(
            "# my config\n[default]\nregion = ap-northeast-1\n\n[profile console]\noutput = json\nlogin_session = {SESSION_ARN}\nregion = eu-west-1\n\n[sso-session corp]\nsso_region = us-east-1\n"
        )
    );
    // The cache, as `aws login` writes it, mode 0600.
    let text = world.cache_text();
    let cache = world.cache_json();
    let keys: Vec<&str> = cache
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert!(text.starts_with(r#"{"accessToken": {"accessKeyId": "ASIALOGIN00000000002", "secretAccessKey": "login-secret-2", "sessionToken": "login-session-token-2", "accountId": "123456789012", "expiresAt": ""#), "{text}");
    assert!(text.contains(r#""tokenType": "aws_sigv4", "clientId": "arn:aws:signin:::devtools/cross-device", "refreshToken": "rt-2-"#));
    assert!(
        text.ends_with("-----END EC PRIVATE KEY-----\\n\"}"),
        "{text}"
    );
    assert_eq!(keys.len(), 6);
    let mode = std::fs::metadata(world.sandbox.path(&cache_file(SESSION_ARN)))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    // The chain uses it; near expiry it refreshes with the key the login made.
    let out = world.aws_cred(&["export", "--profile", "console", "--format", "json"]);
    out.assert_success();
    assert_eq!(json_out(&out)["AccessKeyId"], "ASIALOGIN00000000002");
    let near = text.replace(
        cache["accessToken"]["expiresAt"].as_str().unwrap(),
        &chrono_like(now() + 60),
    );
    world.sandbox.write(&cache_file(SESSION_ARN), near);
    let out = world.aws_cred(&["export", "--profile", "console", "--format", "json"]);
    out.assert_success();
    assert_eq!(json_out(&out)["AccessKeyId"], "ASIALOGIN00000000003");
    assert_eq!(world.signin.refreshes(), 1);
    // A second login reuses the valid session; --force signs in again.
    let out = world.aws_cred(&["login", "--profile", "console", "--format", "json"]);
    out.assert_success();
    assert!(
        out.stderr_str().contains("using the login session"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(json_out(&out)["AccessKeyId"], "ASIALOGIN00000000003");
    assert_eq!(world.signin.code_grants(), 1);
    let out = remote_login(
        &world,
        &["login", "--profile", "console", "--remote", "--force"],
        None,
    );
    out.assert_success();
    assert_eq!(world.signin.code_grants(), 2);
    assert!(
        out.stdout_str()
            .contains("export AWS_ACCESS_KEY_ID='ASIALOGIN00000000005'")
    );

    // logout deletes that session's cache; then the chain says to log in.
    let out = world.aws_cred(&["logout", "--profile", "console"]);
    out.assert_success();
    assert!(out.stderr_str().contains("removed"), "{}", out.stderr_str());
    assert!(!world.sandbox.path(&cache_file(SESSION_ARN)).exists());
    let out = world.aws_cred(&["export", "--profile", "console"]);
    assert_stops(&out, 4, &["hint: run aws-cred login --profile console"]);
}

/// Signing in as another identity than the profile's `login_session`: without a terminal it
/// needs --yes (nothing on stdout, the profile untouched, the new session cached); with --yes
/// the profile points at the new session.
#[test]
fn replacing_another_login_session_needs_a_yes() {
    let world = World::new(SigninRules::default());
    let bob = "arn:aws:iam::123456789012:user/bob";
    let config = format!("[profile console]\nlogin_session = {bob}\nregion = eu-west-1\n");
    world.sandbox.write_config(&config);
    let login = ["login", "--profile", "console", "--remote", "--force"];
    let out = remote_login(&world, &login, None);
    assert_stops(
        &out,
        2,
        &["you signed in as", "user/alice", "user/bob", "add --yes"],
    );
    assert_eq!(world.sandbox.read("home/.aws/config"), config);
    assert!(world.sandbox.path(&cache_file(SESSION_ARN)).exists());

    let out = remote_login(&world, &[&login[..], &["--yes"]].concat(), None);
    out.assert_success();
    assert!(
        out.stdout_str().contains("AWS_ACCESS_KEY_ID"),
        "{}",
        out.stdout_str()
    );
    assert_eq!(
        world.sandbox.read("home/.aws/config"),
        format!("[profile console]\nlogin_session = {SESSION_ARN}\nregion = eu-west-1\n")
    );
    // The same identity again: nothing to ask.
    let out = remote_login(&world, &login, None);
    out.assert_success();
}

/// Issue 22, item 12: the browser's page says "Signed in" only when the whole login worked;
/// a profile change that needs a yes nobody can give ends it with a failure page (before: 200
/// "Signed in" while aws-cred exited 2).
#[test]
fn the_browser_page_fails_when_the_profile_is_not_updated() {
    let world = World::new(SigninRules::default());
    let bob = "arn:aws:iam::123456789012:user/bob";
    let config = format!("[profile console]\nlogin_session = {bob}\nregion = eu-west-1\n");
    world.sandbox.write_config(&config);
    let Some(browser) = FakeBrowser::new(&world.sandbox) else {
        return;
    };
    let out =
        run(browser
            .apply(&mut world.cmd())
            .args(["login", "--profile", "console", "--force"]));
    assert_stops(&out, 2, &["you signed in as", "add --yes"]);
    let last = browser.last_pages();
    assert!(
        last.len() == 1 && last[0].starts_with("400 http://127.0.0.1:"),
        "{last:?}"
    );
    assert_eq!(world.sandbox.read("home/.aws/config"), config);

    // With --yes the same flow ends on the success page.
    std::fs::remove_file(world.sandbox.path("browser.log")).unwrap();
    let out = run(browser.apply(&mut world.cmd()).args([
        "login",
        "--profile",
        "console",
        "--force",
        "--yes",
    ]));
    out.assert_success();
    let last = browser.last_pages();
    assert!(last.len() == 1 && last[0].starts_with("200 "), "{last:?}");
}

/// Issue 22, item 10: another local user who reads the browser's command line gets nothing
/// from the one-time URL, and one who learned the state and answers the callback first with
/// a code of their own is not served: the login ends with this user's own identity.
#[test]
fn another_local_user_cannot_answer_the_sign_in() {
    if !support::is_root() {
        eprintln!("skipped: playing another local user needs root (setpriv)");
        return;
    }
    let world = World::new(SigninRules::default());
    let Some(browser) = FakeBrowser::new(&world.sandbox) else {
        return;
    };
    let out = run(browser
        .apply(&mut world.cmd())
        .env("FAKE_BROWSER_ATTACK", "1")
        .args(["login", "--profile", "console", "--format", "json"]));
    out.assert_success();
    assert_eq!(browser.attacks(), vec!["closed", "closed"]);
    assert_eq!(world.signin.code_grants(), 1);
    assert_eq!(
        world.signin.rejections(),
        Vec::<String>::new(),
        "no forged code reached Sign-In"
    );
    assert_eq!(json_out(&out)["AccessKeyId"], "ASIALOGIN00000000002");
    assert!(
        world
            .sandbox
            .read("home/.aws/config")
            .contains(&format!("login_session = {SESSION_ARN}"))
    );
}

#[test]
fn a_pasted_code_of_another_login_is_refused_and_nothing_is_written() {
    use base64::Engine as _;
    let world = World::new(SigninRules::default());
    let foreign =
        base64::engine::general_purpose::STANDARD.encode("code=code-1&state=someone-else");
    let out = remote_login(
        &world,
        &["login", "--profile", "console", "--remote"],
        Some(&foreign),
    );
    assert_stops(&out, 2, &["another login"]);
    assert_eq!(world.signin.token_calls(), 0);
    assert!(!world.sandbox.path(&cache_file(SESSION_ARN)).exists());
    assert_eq!(world.sandbox.read("home/.aws/config"), CONFIG);
}

#[test]
fn login_refuses_profiles_with_other_credentials() {
    let world = World::new(SigninRules::default());
    let out = world.aws_cred(&["login", "--profile", "admin", "--remote"]);
    assert_stops(
        &out,
        2,
        &["role_arn", "hint: log in with a profile of its own"],
    );
    assert_eq!(world.sandbox.read("home/.aws/config"), CONFIG);
}

#[test]
fn browser_login_on_this_computer_uses_pkce_and_the_loopback_redirect() {
    let world = World::new(SigninRules::default());
    let Some(browser) = FakeBrowser::new(&world.sandbox) else {
        return;
    };
    let out = run(browser.apply(&mut world.cmd()).args([
        "login",
        "--profile",
        "console",
        "--format",
        "json",
    ]));
    out.assert_success();
    assert_eq!(
        world.signin.code_grants(),
        1,
        "{:?}",
        world.signin.rejections()
    );
    // The browser's command line held a one-time loopback URL, not the authorize URL with its
    // state and challenge (issue 22, item 10); that led to the authorize page.
    let on_command_line = browser.opened();
    assert!(
        on_command_line.len() == 1 && is_handoff(&on_command_line[0]),
        "{on_command_line:?}"
    );
    let opened = browser.pages().join("\n");
    assert!(
        opened.contains("client_id=arn%3Aaws%3Asignin%3A%3A%3Adevtools%2Fsame-device")
            && opened.contains("code_challenge_method=SHA-256")
            && opened.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A"),
        "{opened}"
    );
    assert_eq!(json_out(&out)["AccessKeyId"], "ASIALOGIN00000000002");
    // The profile keeps its region (it had one) and gains login_session.
    assert!(world.sandbox.read("home/.aws/config").starts_with(
        "[profile console]\nlogin_session = arn:aws:iam::123456789012:user/alice\nregion = us-west-2\n\n[profile admin]"
    ));
    assert!(
        world
            .cache_text()
            .contains(r#""clientId": "arn:aws:signin:::devtools/same-device""#)
    );
    // Issue 22, item 20: no lock file is left anywhere under ~/.aws.
    let mut left = Vec::new();
    let mut dirs = vec![world.sandbox.home_path(".aws")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.to_string_lossy().ends_with(".lock") {
                left.push(path);
            }
        }
    }
    assert!(left.is_empty(), "lock files left: {left:?}");
}

#[test]
fn a_redirect_with_another_state_is_refused_and_nothing_is_saved() {
    let world = World::new(SigninRules {
        tamper_state: true,
        ..SigninRules::default()
    });
    let Some(browser) = FakeBrowser::new(&world.sandbox) else {
        return;
    };
    let out = run(browser
        .apply(&mut world.cmd())
        .env("AWS_CRED_LOGIN_TIMEOUT", "3")
        .args(["login", "--profile", "console"]));
    assert_stops(&out, 1, &["another state", "nothing was saved"]);
    assert_eq!(world.signin.token_calls(), 0);
    assert!(!world.sandbox.path(&cache_file(SESSION_ARN)).exists());
    assert_eq!(world.sandbox.read("home/.aws/config"), CONFIG);
}

/// At a terminal, `login` shows the spinner `sso-login` shows while the browser is away, and
/// clears it before the error.
#[test]
fn the_browser_wait_shows_a_spinner_at_the_terminal() {
    let world = World::new(SigninRules::default());
    let Some(browser) = FakeBrowser::new(&world.sandbox) else {
        return;
    };
    let Some(script) = support::require_program("script") else {
        return;
    };
    let exe = env!("CARGO_BIN_EXE_aws-cred");
    let mut cmd = world.sandbox.program(&script);
    browser
        .apply(&mut cmd)
        .env("FAKE_BROWSER_MODE", "ignore")
        .env("AWS_ENDPOINT_URL_SIGNIN", world.signin.url())
        .env("AWS_ENDPOINT_URL_STS", world.signin.url())
        .env("AWS_CRED_LOGIN_TIMEOUT", "2")
        .env("TERM", "xterm")
        .args([
            "-qefc",
            &format!("{exe} login --profile console"),
            "/dev/null",
        ]);
    let out = support::run_with_input(&mut cmd, b"");
    let shown = out.stdout_str();
    assert_eq!(out.status.code(), Some(4), "{shown}");
    let spinner = "waiting for the sign-in in the browser...";
    let frame = shown.rfind(spinner).expect("the spinner");
    let error = shown.find("no answer from the browser").expect("the error");
    assert!(frame < error, "{shown}");
    assert!(shown[frame..error].contains("\r "), "not cleared: {shown}");
}

/// The fake is only worth its tests if it refuses what AWS refuses: proofs for another URL,
/// replayed, tampered with, stale, or made with another key than the refresh token's.
#[test]
fn the_fake_sign_in_refuses_bad_dpop_proofs() {
    use aws_cred::login::dpop::Key;
    let signin = FakeSignin::start(SigninRules::default());
    signin.seed_refresh_token("rt-seed", SAME_DEVICE, SESSION_ARN);
    let key = Key::from_pem(TEST_KEY).unwrap();
    let token_url = format!("{}/v1/token", signin.url());
    let body = |refresh: &str| {
        serde_json::json!({"clientId": SAME_DEVICE, "grantType": "refresh_token", "refreshToken": refresh})
            .to_string()
    };
    let send = |proof: &str, refresh: &str| {
        support::http_request(
            "POST",
            &token_url,
            &[("content-type", "application/json"), ("dpop", proof)],
            body(refresh).as_bytes(),
        )
        .unwrap()
    };
    let now = SystemTime::now();
    let refused = |proof: &str, why: &str| {
        let answer = send(proof, "rt-seed");
        assert_eq!(answer.status, 400, "{why}: {}", answer.body_str());
        assert_eq!(
            answer.header("x-amzn-errortype"),
            Some("ValidationException")
        );
        assert!(
            answer.body_str().contains(why),
            "{why}: {}",
            answer.body_str()
        );
    };
    refused(
        &key.proof("POST", "http://127.0.0.1:1/v1/token", now),
        "htu",
    );
    refused(&key.proof("GET", &token_url, now), "htm");
    refused(
        &key.proof("POST", &token_url, now - Duration::from_secs(600)),
        "not fresh",
    );
    let good = key.proof("POST", &token_url, now);
    let (message, signature) = good.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    refused(
        &format!("{message}.{flipped}{}", &signature[1..]),
        "signature",
    );
    // The good proof works once; its jti cannot be replayed.
    let answer = send(&good, "rt-seed");
    assert_eq!(answer.status, 200, "{}", answer.body_str());
    let issued: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    let next = issued["refreshToken"].as_str().unwrap();
    let replay = send(&good, next);
    assert!(
        replay.body_str().contains("used before"),
        "{}",
        replay.body_str()
    );
    // The spent refresh token is refused; the new one only with the key it is bound to.
    let spent = send(&key.proof("POST", &token_url, now), "rt-seed");
    assert!(
        spent.body_str().contains("invalid, expired, revoked"),
        "{}",
        spent.body_str()
    );
    let other = Key::generate().unwrap();
    let stolen = send(&other.proof("POST", &token_url, now), next);
    assert!(stolen.body_str().contains("bound"), "{}", stolen.body_str());
    assert_eq!(send(&key.proof("POST", &token_url, now), next).status, 200);
}
