//! smithy-java's chain suites through the binary: the modular credential chain (2c; the cases
//! that apply to a CLI) and the IMDS v2.1 cases (2d) as far as they map.
//!
//! The suites' responses are abstract (`{accessKeyId, ...}` or `{error}`); the runner serves
//! them in each service's wire format from one [`FakeHttp`] behind the redirect, routed by the
//! original host: STS (query/XML), the SSO portal (JSON, with a cached token written for every
//! sso-session and start URL in the config), the container endpoint (JSON) and IMDS (token,
//! role name, credentials). Which link resolved is read from the `--explain` trace.

use crate::conformance::common::{self, Tally, label, str_at, string_map};
use crate::support::{self, FakeHttp, OutputExt, Response, Sandbox};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

const FAR_FUTURE: &str = "2099-01-01T00:00:00Z";

/// The 15 cases of 2c that apply to a CLI (README 2c); the others test plug-in assembly.
const APPLICABLE: [&str; 15] = [
    "1", "2", "3", "5", "7", "8", "9", "10", "11", "18", "20", "26", "27", "29", "30",
];

/// Cases that differ on purpose, with the reason; the runner still runs them and checks they
/// differ.
const CHAIN_DEVIATIONS: [(&str, &str); 1] = [(
    "9",
    "static keys and role_arn in one profile: this case has the keys win, while smithy-rs (assume-role-tests \"ignore explicit credentials\", \"self referential profile\"), Ruby (\"Role credentials have highest priority\") and botocore have the role win; aws-cred follows the majority (README \"Conflicts\")",
)];

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    str_at(value, key).unwrap_or("")
}

fn sts_response(req: &support::Request, sts: &Value) -> Response {
    if let Some(error) = str_at(sts, "error") {
        let (code, message) = error.split_once(": ").unwrap_or(("AccessDenied", error));
        return Response::xml(
            403,
            &format!(
                "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>r</RequestId></ErrorResponse>"
            ),
        );
    }
    let action = req
        .form_param("Action")
        .unwrap_or_else(|| "AssumeRole".into());
    let account = str_at(sts, "accountId").unwrap_or("123456789012");
    Response::xml(
        200,
        &format!(
            "<{action}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><{action}Result>\
             <Credentials><AccessKeyId>{}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey>\
             <SessionToken>{}</SessionToken><Expiration>{FAR_FUTURE}</Expiration></Credentials>\
             <AssumedRoleUser><AssumedRoleId>AROAEXAMPLE:session</AssumedRoleId>\
             <Arn>arn:aws:sts::{account}:assumed-role/Role/session</Arn></AssumedRoleUser>\
             </{action}Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{action}Response>",
            text(sts, "accessKeyId"),
            text(sts, "secretAccessKey"),
            text(sts, "sessionToken"),
        ),
    )
}

fn imds_credentials_json(creds: &Value) -> String {
    json!({
        "Code": "Success",
        "LastUpdated": "2026-01-01T00:00:00Z",
        "Type": "AWS-HMAC",
        "AccessKeyId": text(creds, "accessKeyId"),
        "SecretAccessKey": text(creds, "secretAccessKey"),
        "Token": text(creds, "sessionToken"),
        "Expiration": FAR_FUTURE,
    })
    .to_string()
}

fn imds_token() -> Response {
    Response::text(200, "imds-token").with_header("x-aws-ec2-metadata-token-ttl-seconds", "21600")
}

/// Serve the case's abstract responses in wire format.
fn chain_response(req: &support::Request, input: &Value) -> Response {
    let host = req.header("x-aws-cred-original-host").unwrap_or("");
    let not_found = || Response::text(404, "not found");
    if host.starts_with("sts.") {
        return input
            .get("stsResponse")
            .map_or_else(not_found, |sts| sts_response(req, sts));
    }
    if host.starts_with("portal.sso.") {
        return input.get("ssoResponse").map_or_else(not_found, |sso| {
            Response::json(
                200,
                &json!({"roleCredentials": {
                    "accessKeyId": text(sso, "accessKeyId"),
                    "secretAccessKey": text(sso, "secretAccessKey"),
                    "sessionToken": text(sso, "sessionToken"),
                    "expiration": 4_070_908_800_000u64,
                }})
                .to_string(),
            )
        });
    }
    if host == "169.254.169.254" {
        let Some(imds) = input.get("imdsResponse") else {
            return not_found();
        };
        return match (req.method.as_str(), req.path.as_str()) {
            ("PUT", "/latest/api/token") => imds_token(),
            ("GET", "/latest/meta-data/iam/security-credentials/") => {
                Response::text(200, "instance-role")
            }
            ("GET", "/latest/meta-data/iam/security-credentials/instance-role") => {
                Response::text(200, &imds_credentials_json(imds))
            }
            _ => not_found(),
        };
    }
    // Anything else is the container endpoint (169.254.170.2, a full URI's host).
    input.get("httpResponse").map_or_else(not_found, |ecs| {
        Response::json(
            200,
            &json!({
                "AccessKeyId": text(ecs, "accessKeyId"),
                "SecretAccessKey": text(ecs, "secretAccessKey"),
                "Token": text(ecs, "sessionToken"),
                "AccountId": text(ecs, "accountId"),
                "Expiration": FAR_FUTURE,
            })
            .to_string(),
        )
    })
}

/// A valid cached SSO token for every `[sso-session NAME]` and `sso_start_url` in `config`.
fn write_sso_tokens(sandbox: &Sandbox, config: &str) {
    let mut keys = Vec::new();
    for line in config.lines() {
        let line = line.trim();
        if let Some(name) = line
            .strip_prefix("[sso-session")
            .and_then(|rest| rest.strip_suffix(']'))
        {
            keys.push(name.trim().to_string());
        } else if let Some((key, value)) = line.split_once('=')
            && key.trim() == "sso_start_url"
        {
            keys.push(value.trim().to_string());
        }
    }
    for key in keys {
        let file = hex::encode(Sha1::digest(key.as_bytes()));
        sandbox.write(
            &format!("home/.aws/sso/cache/{file}.json"),
            format!(r#"{{"accessToken":"sso-access-token","expiresAt":"{FAR_FUTURE}"}}"#),
        );
    }
}

/// The aws-cred link for a smithy-java provider name.
fn link_of(provider: &str) -> &'static str {
    match provider {
        "Environment" => "env",
        "WebIdentityTokenEnv" => "web-identity",
        "EcsContainer" => "ecs",
        "Ec2InstanceMetadata" => "imds",
        _ => "profile",
    }
}

fn chain_case(test: &Value) -> Result<(), String> {
    let input = &test["input"];
    let sandbox = Sandbox::new();
    let root = sandbox.root().to_string_lossy().into_owned();
    let config = input.pointer("/configFiles/aws").and_then(Value::as_str);
    if let Some(config) = config {
        sandbox.write_config(config);
        write_sso_tokens(&sandbox, config);
    }
    let mut env = string_map(input.get("env"));
    if let Some(path) = env.get_mut("AWS_WEB_IDENTITY_TOKEN_FILE") {
        // The suite's STS is abstract; the token file must merely exist.
        sandbox.write(path, "web-identity-token");
        *path = format!("{root}{path}");
    }
    env.insert("HOME".into(), sandbox.home().to_string_lossy().into_owned());
    let served = input.clone();
    let fake = FakeHttp::new(move |req| chain_response(req, &served));
    common::harness_env(&mut env, &fake.url());
    let mut args = vec!["export", "--format", "json", "--explain"];
    if let Some(profile) = str_at(input, "profileNameOverride") {
        args.extend(["--profile", profile]);
    }
    let out = common::aws_cred(&env, sandbox.home(), &args);
    drop(fake);
    let stderr = out.stderr_str();
    let expected = &test["expected"];
    if let Some(want) = expected.get("resolved") {
        let got = common::printed(&out)?;
        let field = |k: &str| str_at(want, k).map(str::to_string);
        common::same(
            "accessKeyId",
            &field("accessKeyId"),
            &Some(got.access_key_id),
        )?;
        common::same(
            "secretAccessKey",
            &field("secretAccessKey"),
            &Some(got.secret_access_key),
        )?;
        common::same("sessionToken", &field("sessionToken"), &got.session_token)?;
        if got.account_id.is_some() {
            common::same("accountId", &field("accountId"), &got.account_id)?;
        }
        if let Some(provider) = str_at(expected, "selectedProvider") {
            let want = Some(link_of(provider).to_string());
            common::same("resolving link", &want, &common::resolved_link(&stderr))?;
        }
        return Ok(());
    }
    let Some(error) = expected.get("resolutionError") else {
        return Err("case expects neither resolved nor resolutionError".into());
    };
    if out.code() == Some(0) {
        return Err(format!(
            "expected a resolution error, got {}",
            out.stdout_str()
        ));
    }
    let tried: Vec<&str> = error["providersTried"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(link_of)
        .collect();
    let failed: Vec<String> = common::trace(&stderr)
        .into_iter()
        .filter(|(_, verb)| verb == "FAILED")
        .map(|(link, _)| link)
        .collect();
    if tried.is_empty() {
        // Nothing configured: every link misses, exit code 3.
        if out.code() != Some(3) || !failed.is_empty() {
            return Err(format!(
                "expected \"no credentials\" (exit 3), got exit {:?}: {stderr}",
                out.code()
            ));
        }
    } else if failed != tried {
        return Err(format!(
            "expected the {tried:?} link to fail, trace: {stderr}"
        ));
    }
    Ok(())
}

#[test]
fn smithy_java_modular_chain() {
    let Some(dir) = common::data_dir("smithy-java modular-credential-chain") else {
        return;
    };
    let data = common::read_json(
        &dir.join("smithy-java/aws-credential-chain/modular-credential-chain-tests.json"),
    );
    let mut tally = Tally::new("smithy-java modular-credential-chain-tests.json");
    for test in data.as_array().expect("a list") {
        let id = str_at(test, "id").unwrap_or("?");
        let case = format!("id {id}");
        if !APPLICABLE.contains(&id) {
            tally.deviation(
                &case,
                "tests plug-in assembly of smithy-java's modular chain (installed modules, custom providers, invalidation, preloaded files or token identities); a CLI's chain is fixed",
            );
            continue;
        }
        let result = chain_case(test);
        match CHAIN_DEVIATIONS.iter().find(|(d, _)| *d == id) {
            Some((_, reason)) => tally.verified_deviation(&case, reason, result),
            None => tally.record(&case, result),
        }
    }
    tally.finish();
}

/// Per-path FIFO queues, as the smithy-java harness serves 2d: the token PUT always succeeds,
/// a path with nothing (left) in its queue answers 404. Trailing slashes are ignored when
/// matching paths (aws-cred lists roles at `/security-credentials/`, the suite writes it
/// without the slash).
struct ImdsQueues(Mutex<BTreeMap<String, VecDeque<(u16, String)>>>);

impl ImdsQueues {
    fn new(expectations: &Value) -> ImdsQueues {
        let mut queues: BTreeMap<String, VecDeque<(u16, String)>> = BTreeMap::new();
        for expectation in expectations.as_array().into_iter().flatten() {
            let path = text(expectation, "get").trim_end_matches('/').to_string();
            let response = &expectation["response"];
            let status = response["status"].as_u64().unwrap_or(500) as u16;
            let body = match &response["body"] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            queues.entry(path).or_default().push_back((status, body));
        }
        ImdsQueues(Mutex::new(queues))
    }

    fn serve(&self, req: &support::Request) -> Response {
        if req.method == "PUT" && req.path == "/latest/api/token" {
            return imds_token();
        }
        let path = req.path.trim_end_matches('/');
        let mut queues = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match queues.get_mut(path).and_then(VecDeque::pop_front) {
            Some((status, body)) => Response::text(status, &body),
            None => Response::text(404, "not found"),
        }
    }
}

/// 2d cases (by summary) that differ on purpose; still run, and checked to differ.
const IMDS_DEVIATIONS: [(&str, &str); 1] = [(
    "Test IMDS credentials provider against legacy API returns valid credentials",
    "the second outcome relies on the provider caching the role name inside one process (the queue serves the role list once); every aws-cred run is a new process that asks for the role list again",
)];

#[test]
fn smithy_java_imds_v21() {
    let Some(dir) = common::data_dir("smithy-java imds-v21-tests") else {
        return;
    };
    let data = common::read_json(&dir.join("smithy-java/aws-credentials-imds/imds-v21-tests.json"));
    let mut tally = Tally::new("smithy-java imds-v21-tests.json");
    for (i, test) in data.as_array().expect("a list").iter().enumerate() {
        let case = label(i, text(test, "summary"));
        let config = &test["config"];
        if str_at(config, "ec2InstanceProfileName").is_some() {
            tally.deviation(
                &case,
                "configures the instance profile name (ec2InstanceProfileName), an SDK setting aws-cred does not have; aws-cred always asks IMDS for the role name",
            );
            continue;
        }
        let extended = test["expectations"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| {
                text(e, "get").contains("security-credentials-extended")
                    && e.pointer("/response/status").and_then(Value::as_u64) == Some(200)
            });
        if extended {
            tally.deviation(
                &case,
                "needs the IMDS v2.1 extended API (security-credentials-extended, with AccountId); aws-cred uses aws-config's IMDS provider, which implements only the legacy /security-credentials/ API",
            );
            continue;
        }
        let result = imds_case(test);
        match IMDS_DEVIATIONS.iter().find(|(d, _)| case.ends_with(d)) {
            Some((_, reason)) => tally.verified_deviation(&case, reason, result),
            None => tally.record(&case, result),
        }
    }
    tally.finish();
}

/// Every outcome is one run of the binary against the same queues.
fn imds_case(test: &Value) -> Result<(), String> {
    let queues = std::sync::Arc::new(ImdsQueues::new(&test["expectations"]));
    let fake = {
        let queues = queues.clone();
        FakeHttp::new(move |req| queues.serve(req))
    };
    let sandbox = Sandbox::new();
    let mut env = string_map(test.pointer("/config/envVars"));
    env.insert("HOME".into(), sandbox.home().to_string_lossy().into_owned());
    common::harness_env(&mut env, &fake.url());
    for (n, outcome) in test["outcomes"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let out = common::aws_cred(&env, sandbox.home(), &["export", "--format", "json"]);
        match (text(outcome, "result"), common::printed(&out)) {
            ("credentials", Ok(_)) => {}
            ("credentials", Err(why)) => return Err(format!("outcome {}: {why}", n + 1)),
            (_, Ok(got)) => {
                return Err(format!(
                    "outcome {}: expected no credentials, got {}",
                    n + 1,
                    got.access_key_id
                ));
            }
            (_, Err(_)) => {}
        }
    }
    Ok(())
}
