//! Where aws-cred sends requests: the ECS container endpoint (smithy-rs 1g, Ruby request and
//! response suites) and the IMDS endpoint (1h), observed through the binary with the
//! redirect; botocore's configured-endpoint-url suite against `Aws::endpoint_url`.

use crate::conformance::common::{self, Tally, Target, label, str_at, string_map};
use crate::conformance::files;
use crate::support::{self, FakeHttp, OutputExt, Response, Sandbox};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Output;

/// Credentials the fake container endpoint serves (valid until 2099).
const ECS_BODY: &str = r#"{"AccessKeyId":"AKIDECS","SecretAccessKey":"ecssecret","Token":"ecstoken","Expiration":"2099-01-01T00:00:00Z"}"#;

/// Run `export` in an empty sandbox with `env` (token-file paths mapped into the sandbox),
/// every request redirected to a fake answering with `respond`. Returns the output and the
/// requests the fake saw.
fn observe(
    env: &BTreeMap<String, String>,
    files: &BTreeMap<String, String>,
    respond: impl Fn(&support::Request) -> Response + Send + Sync + 'static,
) -> (Output, Vec<support::Request>, String) {
    let sandbox = Sandbox::new();
    let root = sandbox.root().to_string_lossy().into_owned();
    for (path, contents) in files {
        sandbox.write(path, contents);
    }
    let mut env = env.clone();
    if let Some(path) = env.get_mut("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
        && path.starts_with('/')
    {
        *path = format!("{root}{path}");
    }
    env.entry("HOME".into())
        .or_insert_with(|| sandbox.home().to_string_lossy().into_owned());
    let fake = FakeHttp::new(respond);
    common::harness_env(&mut env, &fake.url());
    let out = common::aws_cred(&env, sandbox.root(), &["export", "--format", "json"]);
    let requests = fake.requests();
    (out, requests, root)
}

/// The first request must go to `want`; `Err` results must make none and fail.
fn first_request(
    out: &Output,
    requests: &[support::Request],
    want: Result<&str, &str>,
) -> Result<(), String> {
    match want {
        Ok(uri) => {
            let first = requests.first().ok_or(format!(
                "no request was made; stderr: {}",
                out.stderr_str().trim()
            ))?;
            let (want, got) = (Target::parse(uri), Target::of_request(first));
            if want == got {
                Ok(())
            } else {
                Err(format!("first request: expected {want}, got {got}"))
            }
        }
        Err(_) if !requests.is_empty() => Err(format!(
            "expected an error and no request, but it called {}",
            Target::of_request(&requests[0])
        )),
        Err(_) if out.code() == Some(0) => Err("expected an error, but it succeeded".into()),
        Err(_) => Ok(()),
    }
}

fn ecs_env(env: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut env = env.clone();
    // Only the container link is under test.
    env.insert("AWS_EC2_METADATA_DISABLED".into(), "true".into());
    env
}

#[test]
fn smithy_rs_ecs_endpoints() {
    let Some(dir) = common::data_dir("smithy-rs ecs-tests") else {
        return;
    };
    let data = common::read_json(&dir.join("smithy-rs/aws-config/test-data/ecs-tests.json"));
    let mut tally = Tally::new("smithy-rs ecs-tests.json");
    for (i, test) in data["tests"].as_array().expect("tests").iter().enumerate() {
        let case = label(i, str_at(test, "docs").unwrap_or(""));
        let env = ecs_env(&string_map(test.get("env")));
        let (out, requests, _) = observe(&env, &BTreeMap::new(), |_| Response::json(200, ECS_BODY));
        let want = match str_at(&test["result"], "Ok") {
            Some(uri) => Ok(uri),
            None => Err(str_at(&test["result"], "ErrorContains").unwrap_or("")),
        };
        tally.record(&case, first_request(&out, &requests, want));
    }
    tally.finish();
}

#[test]
fn ruby_ecs_credentials_request() {
    let Some(dir) = common::data_dir("Ruby ecs_credentials_request") else {
        return;
    };
    let data = common::read_json(
        &dir.join("aws-sdk-ruby/gems/aws-sdk-core/spec/aws/ecs_credentials_request.json"),
    );
    let mut tally = Tally::new("Ruby ecs_credentials_request.json");
    for (i, test) in data.as_array().expect("a list").iter().enumerate() {
        let case = label(i, str_at(test, "description").unwrap_or(""));
        let env = ecs_env(&string_map(test.get("env")));
        let mut files = BTreeMap::new();
        if let (Some(path), Some("success")) = (
            env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"),
            test.pointer("/token_file/type").and_then(Value::as_str),
        ) {
            let content = test.pointer("/token_file/content").and_then(Value::as_str);
            files.insert(path.clone(), content.unwrap_or("").to_string());
        }
        let (out, requests, _) = observe(&env, &files, |_| Response::json(200, ECS_BODY));
        let expect = &test["expect"];
        let result = match str_at(expect, "type") {
            Some("success") => {
                let request = &expect["request"];
                first_request(&out, &requests, Ok(str_at(request, "uri").unwrap_or(""))).and_then(
                    |()| {
                        let first = &requests[0];
                        if Some(first.method.as_str()) != str_at(request, "method") {
                            return Err(format!("method {}", first.method));
                        }
                        let want = string_map(request.get("headers"));
                        let auth = want.get("Authorization").map(String::as_str);
                        common::same("Authorization", &auth, &first.header("authorization"))?;
                        common::printed(&out).map(|_| ())
                    },
                )
            }
            _ => first_request(&out, &requests, Err(str_at(expect, "reason").unwrap_or(""))),
        };
        tally.record(&case, result);
    }
    tally.finish();
}

#[test]
fn ruby_ecs_credentials_response() {
    let Some(dir) = common::data_dir("Ruby ecs_credentials_response") else {
        return;
    };
    let data = common::read_json(
        &dir.join("aws-sdk-ruby/gems/aws-sdk-core/spec/aws/ecs_credentials_response.json"),
    );
    let mut tally = Tally::new("Ruby ecs_credentials_response.json");
    for (i, test) in data.as_array().expect("a list").iter().enumerate() {
        let case = label(i, str_at(test, "description").unwrap_or(""));
        let env = ecs_env(&BTreeMap::from([(
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI".to_string(),
            "/credentials".to_string(),
        )]));
        let served = test["response"].clone();
        let (out, _, _) = observe(&env, &BTreeMap::new(), move |_| {
            let mut response = Response::new(served["status"].as_u64().unwrap_or(500) as u16);
            for (name, value) in string_map(served.get("headers")) {
                response = response.with_header(&name, &value);
            }
            response.with_body(str_at(&served, "body").unwrap_or("").to_string())
        });
        let expect = &test["expect"];
        let result = match (str_at(expect, "type"), common::printed(&out)) {
            (Some("success"), Ok(got)) => {
                let want = &expect["credentials"];
                let text = |k: &str| str_at(want, k).map(str::to_string);
                common::same(
                    "access_key_id",
                    &text("access_key_id"),
                    &Some(got.access_key_id),
                )
                .and(common::same(
                    "secret_access_key",
                    &text("secret_access_key"),
                    &Some(got.secret_access_key),
                ))
                .and(common::same(
                    "session_token",
                    &text("session_token"),
                    &got.session_token,
                ))
                .and(common::same(
                    "expiry",
                    &text("expiration").and_then(|t| common::unix_seconds(&t)),
                    &got.expiry,
                ))
            }
            (Some("success"), Err(why)) => Err(why),
            (_, Ok(_)) => Err("expected an error, but it succeeded".into()),
            (_, Err(_)) => Ok(()),
        };
        tally.record(&case, result);
    }
    tally.finish();
}

#[test]
fn smithy_rs_imds_endpoints() {
    let Some(dir) = common::data_dir("smithy-rs imds-endpoint-tests") else {
        return;
    };
    let data = common::read_json(
        &dir.join("smithy-rs/aws-config/test-data/imds-config/imds-endpoint-tests.json"),
    );
    let mut tally = Tally::new("smithy-rs imds-endpoint-tests.json");
    for (i, test) in data["tests"].as_array().expect("tests").iter().enumerate() {
        let case = label(i, str_at(test, "docs").unwrap_or(""));
        if test.get("endpoint_override").is_some() || test.get("mode_override").is_some() {
            tally.deviation(
                &case,
                "endpoint_override / mode_override are options of the SDK's IMDS client builder; aws-cred has no equivalent flag (the environment and profile settings are covered by the other cases)",
            );
            continue;
        }
        let env = string_map(test.get("env"));
        let files = string_map(test.get("fs"));
        // The token request is refused, so the run ends at the first request.
        let (out, requests, _) = observe(&env, &files, |_| Response::text(403, "forbidden"));
        let want = match str_at(&test["result"], "Ok") {
            Some(uri) => Ok(uri),
            None => Err(str_at(&test["result"], "Err").unwrap_or("")),
        };
        let result = first_request(&out, &requests, want).and_then(|()| match requests.first() {
            Some(first) if first.method != "PUT" => Err(format!(
                "the first IMDS request is {}, not PUT",
                first.method
            )),
            _ => Ok(()),
        });
        tally.record(&case, result);
    }
    tally.finish();
}

/// botocore's configured-endpoint-url suite (SEP): precedence among `AWS_ENDPOINT_URL_<SERVICE>`,
/// `AWS_ENDPOINT_URL`, `[services]` sections, `endpoint_url` and
/// `ignore_configured_endpoint_urls`, against `Aws::endpoint_url` (the code every aws-cred client
/// uses), for the suite's services S3 and DynamoDB. `None` from aws-cred means "the SDK's
/// default endpoint", which is the expected `https://<service>.<region>.amazonaws.com`.
#[test]
fn botocore_configured_endpoint_urls() {
    let Some(dir) = common::data_dir("botocore configured_endpoint_urls") else {
        return;
    };
    let data = common::read_json(
        &dir.join("botocore/tests/functional/configured_endpoint_urls/profile-tests.json"),
    );
    let mut tally = Tally::new("botocore configured_endpoint_urls profile-tests.json");
    let mut index = 0;
    for suite in data["testSuites"].as_array().expect("testSuites") {
        let mut config = files::config_text(suite.get("profiles"), None);
        for (name, services) in suite["services"].as_object().into_iter().flatten() {
            config.push_str(&format!("[services {name}]\n"));
            for (service, settings) in services.as_object().into_iter().flatten() {
                config.push_str(&format!("{service} =\n"));
                for (key, value) in string_map(Some(settings)) {
                    config.push_str(&format!("  {key} = {value}\n"));
                }
            }
        }
        for test in suite["endpointUrlTests"].as_array().expect("tests") {
            let case = label(index, str_at(test, "name").unwrap_or(""));
            index += 1;
            let client_config = str_at(test, "client_config").unwrap_or("default");
            if suite
                .pointer(&format!("/client_configs/{client_config}"))
                .and_then(Value::as_object)
                .is_some_and(|c| !c.is_empty())
            {
                tally.deviation(
                    &case,
                    "client configuration (botocore's Config / endpoint_url argument) has no aws-cred equivalent",
                );
                continue;
            }
            tally.record(&case, endpoint_case(suite, test, &config));
        }
    }
    tally.finish();
}

fn endpoint_case(suite: &Value, test: &Value, config: &str) -> Result<(), String> {
    let profile = str_at(test, "profile").unwrap_or("default");
    let environment = str_at(test, "environment").unwrap_or("default");
    let env: Vec<(String, String)> =
        string_map(suite.pointer(&format!("/environments/{environment}")))
            .into_iter()
            .collect();
    let (ctx, profiles) = files::load_with_env(&env, Some(config), None, Some(profile))
        .map_err(|e| format!("{e:#}"))?;
    let aws = aws_cred::aws::Aws::new(&ctx, &profiles).map_err(|e| e.to_string())?;
    let service = str_at(test, "service").unwrap_or("");
    let service_id = match service {
        "s3" => "S3",
        "dynamodb" => "DynamoDB",
        other => return Err(format!("unknown service {other}")),
    };
    let region = profiles.get(profile, "region").unwrap_or("us-east-1");
    let want = str_at(&test["output"], "endpointUrl").unwrap_or("");
    let default = format!("https://{service}.{region}.amazonaws.com");
    let want = (want != default).then(|| want.to_string());
    common::same("endpoint", &want, &aws.endpoint_url(service_id))
}
