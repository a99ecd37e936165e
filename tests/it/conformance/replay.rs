//! smithy-rs directory cases (1a default-credential-provider-chain, 1b profile-provider), run
//! through the binary: `aws-cred export --format json --explain`, with every HTTP request sent
//! by `AWS_CRED_TEST_REDIRECT_ALL_HTTP` to a [`FakeHttp`] that replays `http-traffic.json`.
//!
//! As in the SDK harness, the N-th request gets connection N's recorded response whatever its
//! host; afterwards every recorded connection must have been used, each request's scheme,
//! host[:port], path and set of query parameters must match the recording, and so must the
//! `content-type` and `x-aws-ec2-metadata-token` headers when recorded. Methods and bodies are
//! not compared. `fs/` becomes the root of a sandbox: absolute paths in `env.json` (HOME, token
//! files) and `web_identity_token_file = /...` lines get the sandbox root in front. The clock is
//! frozen at the Unix epoch (`AWS_CRED_TEST_NOW=0`), as the harness froze it, so the recorded
//! credentials (which expired years ago) are still valid.

use crate::conformance::common::{self, Printed, Tally, Target};
use crate::support::{self, FakeHttp, OutputExt, Response, Sandbox};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// One recorded connection: the request, and the response served for it.
#[derive(Debug, Default)]
struct Exchange {
    uri: String,
    headers: BTreeMap<String, String>,
    status: Option<u16>,
    response_headers: Vec<(String, String)>,
    body: String,
}

fn exchanges(traffic: &Value) -> Vec<Exchange> {
    let mut by_id: BTreeMap<u64, Exchange> = BTreeMap::new();
    for event in traffic["events"].as_array().into_iter().flatten() {
        let id = event["connection_id"].as_u64().expect("connection_id");
        let exchange = by_id.entry(id).or_default();
        let action = &event["action"];
        if let Some(request) = action.pointer("/Request/request") {
            exchange.uri = common::str_at(request, "uri").unwrap_or("").to_string();
            for (name, values) in request["headers"].as_object().into_iter().flatten() {
                if let Some(first) = values.get(0).and_then(Value::as_str) {
                    exchange
                        .headers
                        .insert(name.to_ascii_lowercase(), first.to_string());
                }
            }
        } else if let Some(response) = action.pointer("/Response/response/Ok") {
            exchange.status = response["status"].as_u64().map(|s| s as u16);
            for (name, values) in response["headers"].as_object().into_iter().flatten() {
                for value in values.as_array().into_iter().flatten() {
                    if let Some(value) = value.as_str() {
                        exchange
                            .response_headers
                            .push((name.clone(), value.to_string()));
                    }
                }
            }
        } else if let Some(data) = action.get("Data")
            && common::str_at(data, "direction") == Some("Response")
        {
            exchange.body.push_str(
                data.pointer("/data/Utf8")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
            );
        }
    }
    by_id.into_values().collect()
}

/// The headers the SDK harness compares.
const COMPARED_HEADERS: [&str; 2] = ["content-type", "x-aws-ec2-metadata-token"];

/// Serves the recording in order and notes every difference.
struct Replay {
    exchanges: Vec<Exchange>,
    next: AtomicUsize,
    problems: Mutex<Vec<String>>,
}

impl Replay {
    fn serve(&self, req: &support::Request) -> Response {
        let index = self.next.fetch_add(1, Ordering::SeqCst);
        let actual = Target::of_request(req);
        let Some(exchange) = self.exchanges.get(index) else {
            self.problem(format!(
                "unrecorded request #{index}: {} {actual}",
                req.method
            ));
            return Response::text(500, "no recorded response for this request");
        };
        let expected = Target::parse(&exchange.uri);
        if expected != actual {
            self.problem(format!(
                "request #{index}: expected {expected}, got {actual}"
            ));
        }
        for name in COMPARED_HEADERS {
            if let Some(want) = exchange.headers.get(name)
                && req.header(name) != Some(want.as_str())
            {
                self.problem(format!(
                    "request #{index}: header {name}: expected {want:?}, got {:?}",
                    req.header(name)
                ));
            }
        }
        let mut response = Response::new(exchange.status.unwrap_or(500));
        for (name, value) in &exchange.response_headers {
            if !matches!(
                name.to_ascii_lowercase().as_str(),
                "content-length" | "transfer-encoding" | "connection"
            ) {
                response = response.with_header(name, value);
            }
        }
        response.with_body(exchange.body.clone())
    }

    fn problem(&self, text: String) {
        self.problems
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(text);
    }

    fn finish(&self) -> Vec<String> {
        let mut problems =
            std::mem::take(&mut *self.problems.lock().unwrap_or_else(|e| e.into_inner()));
        let used = self.next.load(Ordering::SeqCst);
        if used < self.exchanges.len() {
            problems.push(format!(
                "only {used} of {} recorded connections were used (next: {})",
                self.exchanges.len(),
                self.exchanges[used].uri
            ));
        }
        problems
    }
}

/// Environment variables whose absolute paths point into the case's `fs/`.
const PATH_VARS: [&str; 5] = [
    "HOME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
];

/// Cases whose credentials come from IMDS: recorded with the clock at the epoch, where the
/// Rust SDK's static stability extends expired IMDS credentials from the real clock, so their
/// expiry is not compared (README "IMDS expiry").
const IMDS_EXPIRY_NOT_COMPARED: [&str; 3] = [
    "imds_default_chain_success",
    "imds_default_chain_retries",
    "imds_config_with_no_creds",
];

/// Run one case directory; `profile_flag` runs only the profile link (1b). Soft-check notes
/// (an SDK's error wording) go to `notes`.
fn run_case(
    dir: &Path,
    name: &str,
    profile_flag: bool,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    let env_json = common::read_json(&dir.join("env.json"));
    let test_case = common::read_json(&dir.join("test-case.json"));
    let traffic = common::read_json(&dir.join("http-traffic.json"));

    let sandbox = Sandbox::new();
    let root = sandbox.root().to_string_lossy().into_owned();
    if dir.join("fs").is_dir() {
        sandbox.copy_dir(&dir.join("fs"), "");
    }
    for file in ["home/.aws/config", "home/.aws/credentials"] {
        let path = sandbox.path(file);
        if let Ok(text) = std::fs::read_to_string(&path) {
            std::fs::write(&path, rewrite_token_file_lines(&text, &root)).expect("rewrite");
        }
    }
    let mut env = common::string_map(Some(&env_json));
    for var in PATH_VARS {
        if let Some(value) = env.get_mut(var)
            && value.starts_with('/')
        {
            *value = format!("{root}{value}");
        }
    }
    // A case without HOME gets the sandbox's (empty) home, so the user's real files are never
    // read.
    env.entry("HOME".into())
        .or_insert_with(|| sandbox.home().to_string_lossy().into_owned());

    let replay = Arc::new(Replay {
        exchanges: exchanges(&traffic),
        next: AtomicUsize::new(0),
        problems: Mutex::new(Vec::new()),
    });
    let fake = {
        let replay = replay.clone();
        FakeHttp::new(move |req| replay.serve(req))
    };
    common::harness_env(&mut env, &fake.url());

    let selected = env
        .get("AWS_PROFILE")
        .cloned()
        .unwrap_or_else(|| "default".to_string());
    let mut args = vec!["export", "--format", "json", "--explain"];
    if profile_flag {
        args.extend(["--profile", selected.as_str()]);
    }
    let out = common::aws_cred(&env, sandbox.home(), &args);
    drop(fake);

    let mut problems = replay.finish();
    let stderr = out.stderr_str().replace(&root, "");
    match (
        &test_case["result"].get("Ok"),
        common::str_at(&test_case["result"], "ErrorContains"),
    ) {
        (Some(ok), _) => match common::printed(&out) {
            Err(why) => problems.push(why.replace(&root, "")),
            Ok(got) => problems.extend(compare(ok, &got, name)),
        },
        (None, Some(want)) => {
            if out.code() == Some(0) {
                problems.push(format!(
                    "succeeded, but expected an error containing {want:?}: {}",
                    out.stdout_str()
                ));
            } else if !stderr.contains(want) && problems.is_empty() {
                notes.push(format!("stderr does not contain {want:?}"));
            }
        }
        _ => problems.push("test-case.json has no result".into()),
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\n    stderr: {}",
            problems.join("; "),
            stderr.trim().replace('\n', "\n            ")
        ))
    }
}

/// `web_identity_token_file = /x` → `web_identity_token_file = <root>/x`.
fn rewrite_token_file_lines(text: &str, root: &str) -> String {
    text.lines()
        .map(|line| match line.split_once('=') {
            Some((key, value))
                if key.trim().eq_ignore_ascii_case("web_identity_token_file")
                    && value.trim().starts_with('/') =>
            {
                format!("{key}= {root}{}", value.trim())
            }
            _ => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn compare(expected: &Value, got: &Printed, name: &str) -> Vec<String> {
    let text = |key: &str| common::str_at(expected, key).map(str::to_string);
    let mut problems = Vec::new();
    let mut check = |result: Result<(), String>| {
        if let Err(e) = result {
            problems.push(e);
        }
    };
    check(common::same(
        "access_key_id",
        &text("access_key_id"),
        &Some(got.access_key_id.clone()),
    ));
    check(common::same(
        "secret_access_key",
        &text("secret_access_key"),
        &Some(got.secret_access_key.clone()),
    ));
    check(common::same(
        "session_token",
        &text("session_token"),
        &got.session_token,
    ));
    if !IMDS_EXPIRY_NOT_COMPARED.contains(&name) {
        check(common::same(
            "expiry",
            &expected["expiry"].as_i64(),
            &got.expiry,
        ));
    }
    // `export --format json` prints the credential_process document, which has no account id
    // today; compared as soon as it carries one.
    if got.account_id.is_some() {
        check(common::same(
            "account_id",
            &text("account_id"),
            &got.account_id,
        ));
    }
    problems
}

fn run_suite(suite: &'static str, rel: &str, profile_flag: bool, deviations: &[(&str, &str)]) {
    let Some(data) = common::data_dir(suite) else {
        return;
    };
    let base = data.join(rel);
    let mut names: Vec<String> = std::fs::read_dir(&base)
        .unwrap_or_else(|e| panic!("read {}: {e}", base.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("test-case.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut tally = Tally::new(suite);
    for name in &names {
        let mut notes = Vec::new();
        let result = run_case(&base.join(name), name, profile_flag, &mut notes);
        for note in notes {
            tally.note(name, &note);
        }
        match deviations.iter().find(|(case, _)| case == name) {
            Some((_, reason)) => tally.verified_deviation(name, reason, result),
            None => tally.record(name, result),
        }
    }
    for (case, _) in deviations {
        assert!(
            names.iter().any(|n| n == case),
            "deviation for unknown case {case}"
        );
    }
    tally.finish();
}

#[test]
fn smithy_rs_default_credential_provider_chain() {
    run_suite(
        "smithy-rs default-credential-provider-chain",
        "smithy-rs/aws-config/test-data/default-credential-provider-chain",
        false,
        &[
            (
                "profile_overrides_web_identity",
                "chain order: aws-cred tries web identity from AWS_WEB_IDENTITY_TOKEN_FILE/AWS_ROLE_ARN before the profile (env -> web-identity -> profile -> ecs -> imds, SEP 2c's order); the Rust SDK (and botocore, whose assume-role provider comes first) resolve profile A first, so the case expects A's error and no STS call",
            ),
            (
                "imds_default_chain_retries",
                "retries: aws-cred makes one IMDS attempt unless AWS_METADATA_SERVICE_NUM_ATTEMPTS says more (botocore's default, so a laptop off EC2 does not wait); the recording retries each 503",
            ),
            (
                "sso_server_error",
                "retries: aws-cred's SSO client retries the 503 (standard retry mode, 3 attempts) and then fails as expected; the recording has a single attempt",
            ),
        ],
    );
}

#[test]
fn smithy_rs_profile_provider() {
    run_suite(
        "smithy-rs profile-provider",
        "smithy-rs/aws-config/test-data/profile-provider",
        true,
        &[],
    );
}
