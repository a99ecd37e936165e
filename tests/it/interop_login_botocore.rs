//! Interop both ways with botocore's login provider (PyPI botocore with `awscrt`, the
//! `botocore[crt]` extra, from the CI venv): botocore refreshes the AWS CLI's cache and writes
//! it back, aws-cred uses and refreshes that file, and botocore uses and refreshes the one
//! aws-cred wrote. The loopback Sign-In verifies both clients' DPoP proofs.

use crate::fakes::signin as fake_signin;
use crate::support;

use fake_signin::{FakeSignin, SAME_DEVICE, SESSION_ARN, SigninRules, TEST_KEY, chrono_like};
use sha2::Digest as _;
use std::process::Command;
use std::time::SystemTime;
use support::{OutputExt, Sandbox, in_ci, require_venv_tool, run};

const BOTOCORE: &str = "import botocore.session\n\
s = botocore.session.Session(profile='console')\n\
print(s.get_credentials().get_frozen_credentials().access_key)\n";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn set_expiry(path: &std::path::Path, secs_from_now: u64) {
    let text = std::fs::read_to_string(path).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let old = doc["accessToken"]["expiresAt"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::write(
        path,
        text.replace(&old, &chrono_like(now() + secs_from_now)),
    )
    .unwrap();
}

#[test]
fn botocore_and_aws_cred_share_and_refresh_one_login_cache() {
    let Some(python) = require_venv_tool("python") else {
        return;
    };
    let has_crt = Command::new(&python)
        .args(["-c", "import awscrt.crypto"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_crt {
        assert!(!in_ci(), "the CI venv must have awscrt (botocore[crt])");
        eprintln!(
            "skipped: {} has no awscrt (botocore[crt])",
            python.display()
        );
        return;
    }
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "[profile console]\nlogin_session = {SESSION_ARN}\nregion = us-west-2\n"
    ));
    let signin = FakeSignin::start(SigninRules::default());
    signin.seed_refresh_token("cli-refresh", SAME_DEVICE, SESSION_ARN);
    let rel = format!(
        "home/.aws/login/cache/{}.json",
        hex::encode(sha2::Sha256::digest(SESSION_ARN.as_bytes()))
    );
    let path = sandbox.write(
        &rel,
        format!(
            r#"{{"accessToken": {{"accessKeyId": "ASIACLI", "secretAccessKey": "s", "sessionToken": "t", "accountId": "123456789012", "expiresAt": "{}"}}, "tokenType": "aws_sigv4", "clientId": "{SAME_DEVICE}", "refreshToken": "cli-refresh", "idToken": "a.b.c", "dpopKey": "{}"}}"#,
            chrono_like(now() + 60),
            TEST_KEY.replace('\n', "\\n")
        ),
    );
    let botocore = || {
        let out = run(Command::new(&python)
            .env_clear()
            .env("HOME", sandbox.home())
            .env("AWS_CONFIG_FILE", sandbox.config_path())
            .env("AWS_SHARED_CREDENTIALS_FILE", sandbox.credentials_path())
            .env("AWS_ENDPOINT_URL_SIGNIN", signin.url())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(["-c", BOTOCORE]));
        out.assert_success();
        out.stdout_str().trim().to_string()
    };
    let export = || {
        let out = run(sandbox
            .cmd()
            .env("AWS_ENDPOINT_URL_SIGNIN", signin.url())
            .args(["export", "--profile", "console", "--format", "json"]));
        out.assert_success();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["AccessKeyId"].as_str().unwrap().to_string()
    };

    // botocore refreshes the AWS CLI's file; aws-cred uses what it wrote.
    let first = botocore();
    assert_eq!(signin.refreshes(), 1, "{:?}", signin.rejections());
    let botocore_text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(export(), first);
    assert_eq!(signin.token_calls(), 1);
    // aws-cred refreshes botocore's file, writing the same shape botocore wrote.
    set_expiry(&path, 60);
    let second = export();
    assert_ne!(second, first);
    assert_eq!(signin.refreshes(), 2);
    let ours = std::fs::read_to_string(&path).unwrap();
    let theirs: serde_json::Value = serde_json::from_str(&botocore_text).unwrap();
    let mine: serde_json::Value = serde_json::from_str(&ours).unwrap();
    let mut expected = botocore_text.clone();
    for (a, b) in [
        (
            &theirs["accessToken"]["accessKeyId"],
            &mine["accessToken"]["accessKeyId"],
        ),
        (
            &theirs["accessToken"]["secretAccessKey"],
            &mine["accessToken"]["secretAccessKey"],
        ),
        (
            &theirs["accessToken"]["sessionToken"],
            &mine["accessToken"]["sessionToken"],
        ),
        (
            &theirs["accessToken"]["expiresAt"],
            &mine["accessToken"]["expiresAt"],
        ),
        (&theirs["refreshToken"], &mine["refreshToken"]),
    ] {
        expected = expected.replace(a.as_str().unwrap(), b.as_str().unwrap());
    }
    assert_eq!(
        ours, expected,
        "aws-cred's write-back is botocore's, byte for byte"
    );
    // botocore uses aws-cred's file, then refreshes it.
    assert_eq!(botocore(), second);
    assert_eq!(signin.token_calls(), 2);
    set_expiry(&path, 60);
    let third = botocore();
    assert_ne!(third, second);
    assert_eq!(signin.refreshes(), 3);
    assert_eq!(export(), third);
    assert_eq!(signin.rejections(), Vec::<String>::new());
}

/// `aws-cred login` (the browser flow, `BROWSER` following the redirect) writes the profile and
/// the cache; botocore uses both, and refreshes with the P-256 key aws-cred generated (so
/// awscrt reads the `dpopKey` PEM aws-cred wrote).
#[test]
fn botocore_uses_and_refreshes_what_aws_cred_login_wrote() {
    use std::os::unix::fs::PermissionsExt;
    let Some(python) = require_venv_tool("python") else {
        return;
    };
    let has_crt = Command::new(&python)
        .args(["-c", "import awscrt.crypto"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_crt {
        assert!(!in_ci(), "the CI venv must have awscrt (botocore[crt])");
        eprintln!(
            "skipped: {} has no awscrt (botocore[crt])",
            python.display()
        );
        return;
    }
    let sandbox = Sandbox::new();
    sandbox.write_config("[profile console]\noutput = json\n");
    let signin = FakeSignin::start(SigninRules::default());
    let browser = sandbox.write(
        "bin/browser",
        format!(
            "#!{}\nimport sys, urllib.request\nurllib.request.urlopen(sys.argv[-1], timeout=20).read()\n",
            python.display()
        ),
    );
    std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = run(sandbox
        .cmd()
        .env("AWS_ENDPOINT_URL_SIGNIN", signin.url())
        .env("BROWSER", &browser)
        .args([
            "login",
            "--profile",
            "console",
            "--region",
            "us-west-2",
            "--format",
            "json",
        ]));
    out.assert_success();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ours = doc["AccessKeyId"].as_str().unwrap().to_string();
    assert_eq!(
        sandbox.read("home/.aws/config"),
        format!(
            "[profile console]\noutput = json\nlogin_session = {SESSION_ARN}\nregion = us-west-2\n"
        )
    );
    let botocore = || {
        let out = run(Command::new(&python)
            .env_clear()
            .env("HOME", sandbox.home())
            .env("AWS_CONFIG_FILE", sandbox.config_path())
            .env("AWS_SHARED_CREDENTIALS_FILE", sandbox.credentials_path())
            .env("AWS_ENDPOINT_URL_SIGNIN", signin.url())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(["-c", BOTOCORE]));
        out.assert_success();
        out.stdout_str().trim().to_string()
    };
    assert_eq!(botocore(), ours);
    let path = sandbox.path(&format!(
        "home/.aws/login/cache/{}.json",
        hex::encode(sha2::Sha256::digest(SESSION_ARN.as_bytes()))
    ));
    set_expiry(&path, 60);
    let refreshed = botocore();
    assert_ne!(refreshed, ours);
    assert_eq!(signin.refreshes(), 1);
    assert_eq!(signin.rejections(), Vec::<String>::new());
}
