//! The provider chain end to end, hermetic: every link resolves (and says where), skips (and
//! says why) or stops the chain; against moto for the STS links and loopback fakes for ECS,
//! IMDS and the SSO portal.

use crate::support;

use std::time::{Duration, SystemTime};
use support::{FakeHttp, OutputExt, Response, Sandbox, run};

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\n{}",
            out.stdout_str(),
            out.stderr_str()
        )
    })
}

fn rfc3339_in(secs: i64) -> String {
    let t = if secs >= 0 {
        SystemTime::now() + Duration::from_secs(secs as u64)
    } else {
        SystemTime::now() - Duration::from_secs((-secs) as u64)
    };
    let out = std::process::Command::new("date")
        .args([
            "-u",
            "-d",
            &format!(
                "@{}",
                t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs()
            ),
            "+%Y-%m-%dT%H:%M:%SZ",
        ])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn env_link_resolves_and_names_the_variables() {
    let sb = Sandbox::new();
    let out = run(sb
        .cmd()
        .env("AWS_ACCESS_KEY_ID", "AKIAENV")
        .env("AWS_SECRET_ACCESS_KEY", "envsecret")
        .env("AWS_SESSION_TOKEN", "envtoken")
        .args(["export", "--format", "json", "--explain"]));
    out.assert_success();
    let doc = json(&out);
    assert_eq!(doc["AccessKeyId"], "AKIAENV");
    assert_eq!(doc["SecretAccessKey"], "envsecret");
    assert_eq!(doc["SessionToken"], "envtoken");
    assert_eq!(doc["Version"], 1);
    let err = out.stderr_str();
    assert!(err.contains("env           resolved: environment variables AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN"), "{err}");
    assert!(err.contains("profile       not tried"), "{err}");
}

/// `--explain` says which settings were in effect and where each came from: a variable, a
/// profile key, or the default.
#[test]
fn explain_reports_each_setting_and_its_source() {
    let sb = Sandbox::new();
    sb.write_config("[default]\nmfa_process = ykman oath accounts code --single aws\n");
    let Some((ca, _, _)) = super::everyday::test_ca(&sb) else {
        return;
    };
    std::fs::copy(ca, sb.home().join("proxy-ca.pem")).unwrap();
    let out = run(sb
        .cmd()
        .env("AWS_ACCESS_KEY_ID", "AKIAENV")
        .env("AWS_SECRET_ACCESS_KEY", "envsecret")
        .env("AWS_CRED_READ_TIMEOUT", "7")
        .env("AWS_CA_BUNDLE", "~/proxy-ca.pem")
        .args(["export", "--format", "json", "--explain"]));
    out.assert_success();
    let err = out.stderr_str();
    let home = sb.home();
    for line in [
        "AWS answer timeout: 7 (from AWS_CRED_READ_TIMEOUT)".to_string(),
        "credential_process time limit: 300 (from the default)".to_string(),
        format!(
            "MFA code command: ykman oath accounts code --single aws (from mfa_process in profile default ({}))",
            sb.config_path().display()
        ),
        format!(
            "CA bundle: {} (from AWS_CA_BUNDLE)",
            home.join("proxy-ca.pem").display()
        ),
        format!(
            "login session cache directory: {} (from the default)",
            home.join(".aws/login/cache").display()
        ),
    ] {
        assert!(err.contains(&line), "missing {line:?} in:\n{err}");
    }
    assert!(!err.contains("ignore configured endpoint URLs"), "{err}");
}

#[test]
fn blank_env_values_count_as_absent() {
    let sb = Sandbox::new();
    sb.write_credentials(
        "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = filesecret\n",
    );
    let out = run(sb
        .cmd()
        .env("AWS_ACCESS_KEY_ID", "   ")
        .env("AWS_SECRET_ACCESS_KEY", "")
        .args(["export", "--format", "json"]));
    out.assert_success();
    assert_eq!(json(&out)["AccessKeyId"], "AKIAFILE");
}

#[test]
fn nothing_configured_lists_every_link_with_empty_stdout() {
    let sb = Sandbox::new();
    let out = sb.aws_cred(&["export", "--format", "json"]);
    out.assert_code(3);
    assert!(out.stdout.is_empty());
    let err = out.stderr_str();
    for line in [
        "env           skipped: AWS_ACCESS_KEY_ID is not set",
        "web-identity  skipped: AWS_WEB_IDENTITY_TOKEN_FILE is not set",
        "profile       skipped: no ",
        "ecs           skipped: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI are not set",
        "imds          skipped: AWS_EC2_METADATA_DISABLED=true",
    ] {
        assert!(err.contains(line), "missing {line:?} in\n{err}");
    }
}

#[test]
fn expired_session_in_the_environment_stops_the_chain() {
    let sb = Sandbox::new();
    sb.write_credentials("[default]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = s\n");
    let out = run(sb
        .cmd()
        .env("AWS_ACCESS_KEY_ID", "ASIAOLD")
        .env("AWS_SECRET_ACCESS_KEY", "old")
        .env("AWS_SESSION_TOKEN", "old")
        .env("AWS_CREDENTIAL_EXPIRATION", rfc3339_in(-60))
        .args(["export"]));
    out.assert_code(4);
    out.assert_failed_eval();
    assert!(
        out.stderr_str().contains("aws-cred export --unset"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn half_set_environment_keys_are_a_usage_error() {
    let sb = Sandbox::new();
    let out = run(sb.cmd().env("AWS_ACCESS_KEY_ID", "AKIA").args(["export"]));
    out.assert_code(2);
    assert!(out.stderr_str().contains("AWS_SECRET_ACCESS_KEY is not"));
}

#[test]
fn explicit_profile_skips_env_and_names_the_file() {
    let sb = Sandbox::new();
    sb.write_credentials(
        "# team keys\n[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = basesecret\n",
    );
    let out = run(sb
        .cmd()
        .env("AWS_ACCESS_KEY_ID", "AKIAENV")
        .env("AWS_SECRET_ACCESS_KEY", "envsecret")
        .args([
            "export",
            "--profile",
            "base",
            "--format",
            "json",
            "--explain",
        ]));
    out.assert_success();
    assert_eq!(json(&out)["AccessKeyId"], "AKIABASE");
    let err = out.stderr_str();
    assert!(
        err.contains("env           skipped: --profile given"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "keys of profile base ({})",
            sb.credentials_path().display()
        )),
        "{err}"
    );
}

#[test]
fn aws_profile_variable_selects_and_unknown_profiles_list_the_known_ones() {
    let sb = Sandbox::new();
    sb.write_credentials("[a]\naws_access_key_id = AKIAA\naws_secret_access_key = s\n");
    sb.write_config("[profile b]\nregion = eu-west-1\n");
    let out = run(sb
        .cmd()
        .env("AWS_PROFILE", "a")
        .args(["export", "--format", "json"]));
    out.assert_success();
    assert_eq!(json(&out)["AccessKeyId"], "AKIAA");
    let out = run(sb.cmd().env("AWS_PROFILE", "typo").args(["export"]));
    out.assert_code(2);
    out.assert_failed_eval();
    let err = out.stderr_str();
    assert!(
        err.contains("\"typo\" (from AWS_PROFILE)") && err.contains("available: a, b"),
        "{err}"
    );
    assert!(!err.contains("did you mean"), "nothing near typo: {err}");
    // A near name is suggested (issue 23, item 12).
    sb.write_credentials(
        "[a]\naws_access_key_id = AKIAA\naws_secret_access_key = s\n[production]\naws_access_key_id = AKIAP\naws_secret_access_key = s\n",
    );
    let out = run(sb.cmd().args(["export", "--profile", "prodution"]));
    out.assert_code(2);
    assert!(
        out.stderr_str().contains("did you mean production?"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn malformed_config_names_file_and_line_without_panicking() {
    let sb = Sandbox::new();
    sb.write_config("[profile ok]\nregion = x\nthis line is not a property\n");
    let out = sb.aws_cred(&["export"]);
    out.assert_code(2);
    let err = out.stderr_str();
    assert!(
        err.contains(&sb.config_path().display().to_string()),
        "{err}"
    );
    assert!(err.contains("line 3"), "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn region_precedence() {
    let sb = Sandbox::new();
    sb.write_credentials("[default]\naws_access_key_id = AKIA\naws_secret_access_key = s\n");
    sb.write_config("[default]\nregion = from-profile\n");
    let region = |cmd: &mut std::process::Command| {
        let out = run(cmd.args(["export"]));
        out.assert_success();
        out.stdout_str().lines().find_map(|l| {
            l.strip_prefix("export AWS_REGION='")
                .map(|v| v.trim_end_matches('\'').to_string())
        })
    };
    assert_eq!(region(&mut sb.cmd()).as_deref(), Some("from-profile"));
    assert_eq!(
        region(sb.cmd().env("AWS_DEFAULT_REGION", "from-default")).as_deref(),
        Some("from-default")
    );
    assert_eq!(
        region(
            sb.cmd()
                .env("AWS_DEFAULT_REGION", "from-default")
                .env("AWS_REGION", "from-region")
        )
        .as_deref(),
        Some("from-region")
    );
    assert_eq!(
        region(
            sb.cmd()
                .env("AWS_REGION", "from-region")
                .args(["--region", "from-flag"])
        )
        .as_deref(),
        Some("from-flag")
    );
}

#[test]
fn credential_process_profile_and_its_failures() {
    let sb = Sandbox::new();
    let good = sb.write(
        "bin/good.sh",
        "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIAPROC\", \"SecretAccessKey\": \"procsecret\", \"SessionToken\": \"proctoken\", \"Expiration\": \"2099-01-01T00:00:00Z\"}'\n",
    );
    let bad = sb.write("bin/bad.sh", "#!/bin/sh\necho 'TOPSECRETOUTPUT not json'\n");
    let fails = sb.write(
        "bin/fails.sh",
        "#!/bin/sh\necho 'token expired, run login' >&2\nexit 3\n",
    );
    sb.write_config(&format!(
        "[profile good]\ncredential_process = sh {}\n[profile bad]\ncredential_process = sh {}\n[profile fails]\ncredential_process = sh {}\n",
        good.display(),
        bad.display(),
        fails.display()
    ));
    let out = sb.aws_cred(&[
        "export",
        "--profile",
        "good",
        "--format",
        "json",
        "--explain",
    ]);
    out.assert_success();
    let doc = json(&out);
    assert_eq!(doc["AccessKeyId"], "AKIAPROC");
    assert_eq!(doc["Expiration"], "2099-01-01T00:00:00Z");
    assert!(
        out.stderr_str()
            .contains("credential_process of profile good")
    );

    let out = sb.aws_cred(&["export", "--profile", "bad"]);
    out.assert_code(1);
    out.assert_failed_eval();
    assert!(
        !out.stderr_str().contains("TOPSECRETOUTPUT"),
        "process output must not be echoed"
    );

    let out = sb.aws_cred(&["export", "--profile", "fails"]);
    out.assert_code(1);
    let err = out.stderr_str();
    assert!(
        err.contains("token expired, run login"),
        "the process's own stderr reaches the user: {err}"
    );
    assert!(
        err.contains("credential_process of profile fails failed"),
        "{err}"
    );
}

#[test]
fn written_session_that_expired_is_reported_not_used() {
    let sb = Sandbox::new();
    sb.write_credentials(&format!(
        "[old]\naws_access_key_id = ASIAOLD\naws_secret_access_key = s\naws_session_token = t\naws_cred_expiration = {}\n",
        rfc3339_in(-3600)
    ));
    let out = sb.aws_cred(&["export", "--profile", "old"]);
    out.assert_code(4);
    out.assert_failed_eval();
    assert!(
        out.stderr_str().contains("expired at"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn web_identity_from_env_and_from_profile_against_moto() {
    let Some(moto) = support::Moto::start() else {
        return;
    };
    let sb = Sandbox::new();
    let token = sb.write(
        "token.jwt",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2ln\n",
    );
    let out = run(sb
        .cmd()
        .env("AWS_ENDPOINT_URL", moto.url())
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token)
        .env("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/WebRole")
        .env("AWS_ROLE_SESSION_NAME", "ci-job")
        .args(["export", "--format", "json", "--explain"]));
    out.assert_success();
    let doc = json(&out);
    assert!(doc["SessionToken"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(doc["Expiration"].is_string());
    let err = out.stderr_str();
    assert!(
        err.contains("web-identity  resolved: role arn:aws:iam::123456789012:role/WebRole"),
        "{err}"
    );
    assert!(err.contains(&token.display().to_string()), "{err}");

    sb.write_config(&format!(
        "[profile wi]\nrole_arn = arn:aws:iam::123456789012:role/ProfileWebRole\nweb_identity_token_file = {}\n",
        token.display()
    ));
    let who = run(sb.cmd().env("AWS_ENDPOINT_URL", moto.url()).args([
        "whoami",
        "--profile",
        "wi",
        "--json",
    ]));
    who.assert_success();
    let doc = json(&who);
    assert!(
        doc["arn"].as_str().unwrap().contains("ProfileWebRole"),
        "{doc}"
    );
    assert_eq!(doc["source"]["link"], "profile");
}

#[test]
fn role_chain_via_source_profiles_against_moto() {
    let Some(moto) = support::Moto::start() else {
        return;
    };
    let sb = Sandbox::new();
    sb.write_credentials(
        "[base]\naws_access_key_id = AKIABASE00000000000\naws_secret_access_key = basesecret\n",
    );
    sb.write_config(
        "[profile middle]\nrole_arn = arn:aws:iam::123456789012:role/Middle\nsource_profile = base\n\
         [profile top]\nrole_arn = arn:aws:iam::123456789012:role/Top\nsource_profile = middle\nrole_session_name = me\nregion = eu-central-1\n",
    );
    let out = run(sb.cmd().env("AWS_ENDPOINT_URL", moto.url()).args([
        "whoami",
        "--profile",
        "top",
        "--explain",
    ]));
    out.assert_success();
    let text = out.stdout_str();
    assert!(
        text.contains("ARN:         arn:aws:sts::123456789012:assumed-role/Top/me"),
        "{text}"
    );
    assert!(text.contains("Account:     123456789012"));
    assert!(text.contains("keys of profile base ("), "{text}");
    assert!(text.contains("-> role arn:aws:iam::123456789012:role/Middle (profile middle) -> role arn:aws:iam::123456789012:role/Top (profile top)"), "{text}");
    assert!(text.contains("Region:      eu-central-1"), "{text}");
    let export = run(sb.cmd().env("AWS_ENDPOINT_URL", moto.url()).args([
        "export",
        "--profile",
        "top",
        "--format",
        "json",
    ]));
    export.assert_success();
    assert_ne!(json(&export)["AccessKeyId"], "AKIABASE00000000000");
}

#[test]
fn whoami_shows_account_arn_source_masked_key() {
    let Some(moto) = support::Moto::start() else {
        return;
    };
    let sb = Sandbox::new();
    sb.write_credentials(
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = s\n",
    );
    let out = run(sb
        .cmd()
        .env("AWS_ENDPOINT_URL_STS", moto.url())
        .args(["whoami"]));
    out.assert_success();
    let text = out.stdout_str();
    assert!(text.contains("Account:     123456789012"), "{text}");
    assert!(text.contains("ARN:         arn:aws:"), "{text}");
    assert!(text.contains("Access key:  ****MPLE"), "{text}");
    assert!(
        text.contains("Expires:     never (long-term keys)"),
        "{text}"
    );
    let out = run(sb
        .cmd()
        .env("AWS_ENDPOINT_URL_STS", moto.url())
        .args(["whoami", "--json"]));
    let doc = json(&out);
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["account"], "123456789012");
    assert_eq!(doc["source"]["link"], "profile");
    assert_eq!(doc["access_key"], "****MPLE");
    assert!(doc["expiration"].is_null());
}

#[test]
fn unreachable_sts_names_the_endpoint() {
    let sb = Sandbox::new();
    sb.write_credentials("[default]\naws_access_key_id = AKIA\naws_secret_access_key = s\n");
    let port = support::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let out = run(sb.cmd().env("AWS_ENDPOINT_URL_STS", &url).args(["whoami"]));
    out.assert_code(1);
    assert!(out.stdout.is_empty());
    assert!(out.stderr_str().contains(&url), "{}", out.stderr_str());
}

fn ecs_fake(expected_token: &'static str) -> FakeHttp {
    let expiration = rfc3339_in(3600);
    FakeHttp::new(move |req| {
        if req.path != "/creds" {
            return Response::json(404, "{}");
        }
        if req.header("authorization") != Some(expected_token) {
            return Response::json(401, r#"{"message":"bad token"}"#);
        }
        Response::json(
            200,
            &format!(
                r#"{{"AccessKeyId":"ASIAECS","SecretAccessKey":"ecssecret","Token":"ecstoken","Expiration":"{expiration}","AccountId":"123456789012"}}"#
            ),
        )
    })
}

#[test]
fn ecs_full_uri_with_token_and_token_file() {
    let sb = Sandbox::new();
    let fake = ecs_fake("Bearer s3cret");
    let out = run(sb
        .cmd()
        .env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("{}/creds", fake.url()),
        )
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer s3cret")
        .args(["export", "--format", "json", "--explain"]));
    out.assert_success();
    assert_eq!(json(&out)["AccessKeyId"], "ASIAECS");
    assert!(out.stderr_str().contains(&format!(
        "ecs           resolved: container endpoint {}/creds",
        fake.url()
    )));
    assert_eq!(
        fake.requests()[0].header("authorization"),
        Some("Bearer s3cret")
    );

    // The token file wins over the variable (EKS Pod Identity).
    let file = sb.write("eks-token", "Bearer s3cret");
    let out = run(sb
        .cmd()
        .env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("{}/creds", fake.url()),
        )
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong")
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &file)
        .args(["export", "--format", "json"]));
    out.assert_success();

    // A wrong token: the endpoint refuses, the chain stops with the URL.
    let out = run(sb
        .cmd()
        .env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("{}/creds", fake.url()),
        )
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong")
        .args(["export"]));
    out.assert_code(1);
    out.assert_failed_eval();
    assert!(out.stderr_str().contains("/creds"));
}

#[test]
fn ecs_refuses_plain_http_to_a_non_loopback_host() {
    let sb = Sandbox::new();
    // Refused by the allowed-host rule before any connection is made.
    let out = run(sb
        .cmd()
        .env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://192.0.2.10/creds",
        )
        .args(["export"]));
    out.assert_code(1);
    out.assert_failed_eval();
}

fn imds_fake() -> FakeHttp {
    let expiration = rfc3339_in(6 * 3600);
    FakeHttp::new(move |req| {
        let token_ok = req.header("x-aws-ec2-metadata-token") == Some("imds-token");
        match (req.method.as_str(), req.path.as_str()) {
            ("PUT", "/latest/api/token") => {
                match req.header("x-aws-ec2-metadata-token-ttl-seconds") {
                    Some(ttl) => Response::text(200, "imds-token")
                        .with_header("x-aws-ec2-metadata-token-ttl-seconds", ttl),
                    None => Response::text(400, "missing ttl"),
                }
            }
            (_, _) if !token_ok => Response::text(401, "unauthorized"),
            ("GET", "/latest/meta-data/iam/security-credentials/") => {
                Response::text(200, "my-role")
            }
            ("GET", "/latest/meta-data/iam/security-credentials/my-role") => Response::json(
                200,
                &format!(
                    r#"{{"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"ASIAIMDS","SecretAccessKey":"imdssecret","Token":"imdstoken","Expiration":"{expiration}"}}"#
                ),
            ),
            _ => Response::text(404, "not found"),
        }
    })
}

#[test]
fn imds_v2_with_token_and_ttl_header() {
    let sb = Sandbox::new();
    let fake = imds_fake();
    let out = run(sb
        .cmd()
        .env_remove("AWS_EC2_METADATA_DISABLED")
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", fake.url())
        .args(["export", "--format", "json", "--explain"]));
    out.assert_success();
    assert_eq!(json(&out)["AccessKeyId"], "ASIAIMDS");
    assert!(out.stderr_str().contains(&format!(
        "imds          resolved: instance metadata service {}",
        fake.url()
    )));
    let requests = fake.requests();
    assert_eq!(requests[0].method, "PUT");
    assert!(
        requests[1..]
            .iter()
            .all(|r| r.header("x-aws-ec2-metadata-token") == Some("imds-token"))
    );
}

#[test]
fn blackholed_imds_is_a_bounded_miss() {
    let sb = Sandbox::new();
    let hole = FakeHttp::blackhole();
    let out = run(sb
        .cmd()
        .env_remove("AWS_EC2_METADATA_DISABLED")
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", hole.url())
        .args(["export"]));
    out.assert_code(3);
    out.assert_failed_eval();
    let err = out.stderr_str();
    let imds_line = err
        .lines()
        .find(|l| l.contains("imds          skipped:"))
        .unwrap_or_default();
    assert!(
        imds_line.contains(&hole.url())
            && (imds_line.contains("timed out") || imds_line.contains("no answer")),
        "{err}"
    );
    assert!(hole.connections() >= 1, "it did try the endpoint");
}

#[test]
fn sso_profile_without_a_login_says_run_sso_login() {
    let sb = Sandbox::new();
    sb.write_config(
        "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Dev\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n",
    );
    let out = sb.aws_cred(&["export", "--profile", "dev"]);
    out.assert_code(4);
    out.assert_failed_eval();
    assert!(
        out.stderr_str()
            .contains("run aws-cred sso-login --profile dev"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn sso_profile_uses_the_cached_token_with_the_portal() {
    let sb = Sandbox::new();
    sb.write_config(
        "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Dev\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n",
    );
    // sha1("corp") names the cache file, as the AWS CLI does.
    sb.write(
        "home/.aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json",
        format!(r#"{{"startUrl":"https://corp.awsapps.com/start","region":"us-east-1","accessToken":"cli-token","expiresAt":"{}"}}"#, rfc3339_in(3600)),
    );
    let expires_ms = (SystemTime::now() + Duration::from_secs(3600))
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let portal = FakeHttp::new(move |req| {
        if req.header("x-amz-sso_bearer_token") != Some("cli-token") {
            return Response::json(401, r#"{"message":"Session token not found or invalid"}"#)
                .with_header("x-amzn-ErrorType", "UnauthorizedException");
        }
        if req.path == "/federation/credentials"
            && req.query_param("account_id") == Some("111122223333")
            && req.query_param("role_name") == Some("Dev")
        {
            return Response::json(
                200,
                &format!(
                    r#"{{"roleCredentials":{{"accessKeyId":"ASIASSO","secretAccessKey":"ssosecret","sessionToken":"ssotoken","expiration":{expires_ms}}}}}"#
                ),
            );
        }
        Response::json(403, r#"{"message":"No access"}"#)
            .with_header("x-amzn-ErrorType", "ForbiddenException")
    });
    let out = run(sb.cmd().env("AWS_ENDPOINT_URL_SSO", portal.url()).args([
        "export",
        "--profile",
        "dev",
        "--format",
        "json",
        "--explain",
    ]));
    out.assert_success();
    let doc = json(&out);
    assert_eq!(doc["AccessKeyId"], "ASIASSO");
    assert!(doc["Expiration"].as_str().is_some());
    assert!(
        out.stderr_str()
            .contains("SSO profile dev: role Dev in account 111122223333, "),
        "{}",
        out.stderr_str()
    );

    // A role the user is not assigned to: name account and role.
    sb.write_config(
        "[profile dev]\nsso_session = corp\nsso_account_id = 999999999999\nsso_role_name = Admin\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n",
    );
    let out = run(sb.cmd().env("AWS_ENDPOINT_URL_SSO", portal.url()).args([
        "export",
        "--profile",
        "dev",
    ]));
    out.assert_code(1);
    let err = out.stderr_str();
    assert!(
        err.contains("Admin") && err.contains("999999999999"),
        "{err}"
    );
}

#[test]
fn write_profile_keeps_every_other_byte_and_guards_long_term_keys() {
    let sb = Sandbox::new();
    let original = "# keep me\r\n[base]\r\naws_access_key_id = AKIABASE\r\naws_secret_access_key = s\r\n\r\n; trailing comment\r\n";
    sb.write_credentials(original);
    let out = run(sb
        .cmd()
        .env("AWS_ACCESS_KEY_ID", "ASIANEW")
        .env("AWS_SECRET_ACCESS_KEY", "newsecret")
        .env("AWS_SESSION_TOKEN", "newtoken")
        .args(["export", "--write-profile", "session"]));
    out.assert_success();
    assert!(out.stdout.is_empty());
    let after = sb.read("home/.aws/credentials");
    assert!(after.starts_with(original), "{after:?}");
    assert!(
        after.contains("[session]\r\naws_access_key_id = ASIANEW\r\n"),
        "{after:?}"
    );
    // Writing again replaces in place.
    let out = run(sb
        .cmd()
        .env("AWS_ACCESS_KEY_ID", "ASIANEWER")
        .env("AWS_SECRET_ACCESS_KEY", "newsecret")
        .env("AWS_SESSION_TOKEN", "newtoken")
        .args(["export", "--write-profile", "session"]));
    out.assert_success();
    let again = sb.read("home/.aws/credentials");
    assert_eq!(again.matches("[session]").count(), 1);
    assert!(again.contains("ASIANEWER") && !again.contains("ASIANEW\r"));
    // Long-term keys are not overwritten without --overwrite-keys.
    let write_base = |flag: Option<&str>| {
        let mut cmd = sb.cmd();
        cmd.env("AWS_ACCESS_KEY_ID", "ASIAX")
            .env("AWS_SECRET_ACCESS_KEY", "x")
            .env("AWS_SESSION_TOKEN", "x")
            .args(["export", "--write-profile", "base"]);
        cmd.args(flag);
        run(&mut cmd)
    };
    let out = write_base(None);
    out.assert_code(2);
    assert!(
        out.stderr_str().contains("--overwrite-keys"),
        "{}",
        out.stderr_str()
    );
    assert!(sb.read("home/.aws/credentials").contains("AKIABASE"));
    // The old spelling stops with the new one, and writes nothing.
    write_base(Some("--force"))
        .assert_failed_eval()
        .assert_code(2)
        .assert_hint("--overwrite-keys");
    assert!(sb.read("home/.aws/credentials").contains("AKIABASE"));
    write_base(Some("--overwrite-keys")).assert_success();
    assert!(!sb.read("home/.aws/credentials").contains("AKIABASE"));
}

#[test]
fn twenty_concurrent_writers_lose_nothing() {
    let sb = Sandbox::new();
    sb.write_credentials("[keep]\naws_access_key_id = AKIAKEEP\naws_secret_access_key = s\n");
    let children: Vec<_> = (0..20)
        .map(|i| {
            sb.cmd()
                .env("AWS_ACCESS_KEY_ID", format!("ASIA{i:04}"))
                .env("AWS_SECRET_ACCESS_KEY", "s")
                .env("AWS_SESSION_TOKEN", "t")
                .args(["export", "--write-profile", &format!("p{i}")])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = sb.read("home/.aws/credentials");
    assert!(text.contains("[keep]"));
    for i in 0..20 {
        assert_eq!(
            text.matches(&format!("[p{i}]\n")).count(),
            1,
            "section p{i} in\n{text}"
        );
        assert!(text.contains(&format!("ASIA{i:04}")));
    }
    // Each section reads back through the chain.
    let out = sb.aws_cred(&["export", "--profile", "p7", "--format", "json"]);
    assert_eq!(json(&out)["AccessKeyId"], "ASIA0007");
}

#[test]
fn unset_prints_lines_that_clear_everything() {
    let sb = Sandbox::new();
    let out = sb.aws_cred(&["export", "--unset"]);
    out.assert_success();
    assert_eq!(
        out.stdout_str(),
        "unset AWS_ACCESS_KEY_ID\nunset AWS_SECRET_ACCESS_KEY\nunset AWS_SESSION_TOKEN\nunset AWS_SECURITY_TOKEN\nunset AWS_CREDENTIAL_EXPIRATION\n"
    );
}

#[test]
fn write_profile_errors_keep_their_class_and_hint() {
    let sb = Sandbox::new();
    sb.write_credentials(
        "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = basesecret\n",
    );
    // A name that cannot round-trip is a usage error (exit 2), the fix on the hint line.
    let out = run(sb
        .cmd()
        .args(["export", "--profile", "base", "--write-profile", "[z"]));
    out.assert_code(2);
    out.assert_failed_eval();
    out.assert_hint("letters, digits");
    assert!(out.stderr_str().contains("invalid profile name"));
    // Long-term keys are not overwritten without --overwrite-keys: usage, with the flag on the
    // hint line.
    let out = run(sb
        .cmd()
        .args(["export", "--profile", "base", "--write-profile", "base"]));
    out.assert_code(2).assert_hint("--overwrite-keys");
    assert!(!out.stderr_str().contains("basesecret"));
}

/// Issue 23, item 12: a key that is a typo of a known one (`role_arm`, `mfa_serail`) is
/// ignored by every AWS tool, so the profile silently does something else: aws-cred says
/// which key it resembles, for the profile and the profiles it takes credentials from.
/// Other tools' keys are left alone.
#[test]
fn a_mistyped_config_key_gets_a_did_you_mean() {
    let sb = Sandbox::new();
    sb.write_config(
        "[profile admin]\nrole_arm = arn:aws:iam::123456789012:role/Admin\nsource_profile = base\ngranted_sso_region = x\n",
    );
    sb.write_credentials(
        "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = basesecret\nmfa_serail = arn:aws:iam::123456789012:mfa/bob\n",
    );
    let out = sb.aws_cred(&["export", "--profile", "admin", "--format", "json"]);
    let err = out.stderr_str();
    assert!(
        err.contains("profile admin (")
            && err.contains("has a key role_arm, which no AWS tool reads: did you mean role_arn?"),
        "{err}"
    );
    assert!(
        err.contains("has a key mfa_serail, which no AWS tool reads: did you mean mfa_serial?"),
        "{err}"
    );
    assert!(!err.contains("granted_sso_region"), "{err}");
    // Only warnings: without the role, the profile has no credentials of its own, as before.
    assert!(out.stdout.is_empty() || !out.stdout_str().contains("AKIABASE"));
    // Spelled right, nothing is said.
    sb.write_config(
        "[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/Admin\nsource_profile = base\n",
    );
    sb.write_credentials(
        "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = basesecret\n",
    );
    let out = sb.aws_cred(&["export", "--profile", "base", "--format", "json"]);
    out.assert_success();
    assert!(
        !out.stderr_str().contains("did you mean"),
        "{}",
        out.stderr_str()
    );
}
