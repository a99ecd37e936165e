//! Interop both ways with the Rust SDK's `LoginCredentialsProvider` (aws-config, feature
//! `credentials-login`): it uses and refreshes a login cache aws-cred wrote, and aws-cred uses
//! and refreshes the file the SDK wrote back (its own key order and fractional times). The SDK
//! reads the process environment, so this file holds one test, which sets it first.

use crate::fakes::signin as fake_signin;
use crate::support;

use aws_config::login::LoginCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::ProvideCredentials as _;
use fake_signin::{FakeSignin, SAME_DEVICE, SESSION_ARN, SigninRules, TEST_KEY, chrono_like};
use sha2::Digest as _;
use std::time::SystemTime;
use support::{OutputExt, Sandbox, run};

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
    let new = chrono_like(now() + secs_from_now);
    // Keep every other byte the writer wrote: only the time changes.
    std::fs::write(path, text.replace(&old, &new)).unwrap();
}

fn sdk_access_key(runtime: &tokio::runtime::Runtime) -> String {
    let config =
        ProviderConfig::without_region().with_region(Some(aws_config::Region::new("us-west-2")));
    let provider = LoginCredentialsProvider::builder(SESSION_ARN)
        .configure(&config)
        .build();
    runtime
        .block_on(provider.provide_credentials())
        .expect("the SDK's login provider gives credentials")
        .access_key_id()
        .to_string()
}

#[test]
fn the_rust_sdk_and_aws_cred_share_and_refresh_one_login_cache() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "[profile console]\nlogin_session = {SESSION_ARN}\nregion = us-west-2\n"
    ));
    let signin = FakeSignin::start(SigninRules::default());
    signin.seed_refresh_token("cli-refresh", SAME_DEVICE, SESSION_ARN);
    let cache_dir = sandbox.path("home/.aws/login/cache");
    let path = cache_dir.join(format!(
        "{}.json",
        hex::encode(sha2::Sha256::digest(SESSION_ARN.as_bytes()))
    ));
    std::fs::create_dir_all(&cache_dir).unwrap();
    std::fs::write(
        &path,
        format!(
            r#"{{"accessToken": {{"accessKeyId": "ASIACLI", "secretAccessKey": "s", "sessionToken": "t", "accountId": "123456789012", "expiresAt": "{}"}}, "tokenType": "aws_sigv4", "clientId": "{SAME_DEVICE}", "refreshToken": "cli-refresh", "idToken": "a.b.c", "dpopKey": "{}"}}"#,
            chrono_like(now() + 60),
            TEST_KEY.replace('\n', "\\n")
        ),
    )
    .unwrap();
    // SAFETY: the only test in this binary, before any thread of ours reads the environment.
    unsafe {
        std::env::set_var("AWS_LOGIN_CACHE_DIRECTORY", &cache_dir);
        std::env::set_var("AWS_ENDPOINT_URL_SIGNIN", signin.url());
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    }
    let export = || {
        let out = run(sandbox
            .cmd()
            .env("AWS_ENDPOINT_URL_SIGNIN", signin.url())
            .args(["export", "--profile", "console", "--format", "json"]));
        out.assert_success();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["AccessKeyId"].as_str().unwrap().to_string()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    // aws-cred refreshes the AWS CLI's file and writes it back.
    let first = export();
    assert_eq!(signin.refreshes(), 1);
    // The SDK uses what aws-cred wrote, without a call.
    assert_eq!(sdk_access_key(&runtime), first);
    assert_eq!(signin.token_calls(), 1);
    // Near expiry, the SDK refreshes the file aws-cred wrote (its DPoP verified by the fake)…
    set_expiry(&path, 60);
    let second = sdk_access_key(&runtime);
    assert_ne!(second, first);
    assert_eq!(signin.refreshes(), 2, "{:?}", signin.rejections());
    // …and aws-cred uses the file the SDK wrote back, then refreshes it in turn.
    assert_eq!(export(), second);
    set_expiry(&path, 60);
    let third = export();
    assert_ne!(third, second);
    assert_eq!(signin.refreshes(), 3);
    assert_eq!(signin.rejections(), Vec::<String>::new());
    assert_eq!(sdk_access_key(&runtime), third);
    assert_eq!(signin.token_calls(), 3);
}
