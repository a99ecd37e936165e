//! `aws-cred token` (issue 24): EKS, RDS and DSQL auth tokens.
//!
//! - Byte for byte against botocore: every token is recomputed by botocore at the token's own
//!   `X-Amz-Date` (the RDS and DSQL generators, and the AWS CLI's `eks get-token` code), with
//!   the signer the AWS CLI v2 uses (awscrt's) and with botocore's pure-Python one.
//! - A real client: kubectl, with a kubeconfig `token kubeconfig` wrote, authenticates to a
//!   loopback EKS API server (tests/it/fakes/eks.rs) from a static, an MFA role and an SSO
//!   profile; another cluster's token, an expired token and an unmapped identity are refused.
//!   The Python `kubernetes` client gets the same (cached) token from the same kubeconfig.

use crate::fakes::eks as fake_eks;
use crate::fakes::sso as fake_sso;
use crate::fakes::sts as fake_sts;
use crate::support;

use fake_eks::{FakeEks, Lookup, Session};
use fake_sso::{FakeSso, SsoRules};
use fake_sts::{CODE, FakeSts, StsRules};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use support::{OutputExt, Sandbox, run, run_with_input};

const KEY: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// A session token with characters that must be encoded.
const TOKEN: &str = "FwoGZXIvYXdzE/tok+en=";
/// 2023-11-14T22:13:20Z.
const FIXED_NOW: &str = "1700000000";

fn decode_eks(token: &str) -> String {
    use base64::Engine as _;
    let encoded = token.strip_prefix("k8s-aws-v1.").expect("EKS token prefix");
    String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(encoded)
            .unwrap(),
    )
    .unwrap()
}

/// The query parameters of a presigned URL, sorted (the signer-independent content).
fn params_of(url: &str) -> Vec<String> {
    let query = url.split_once("/?").expect("a presigned URL").1;
    let mut params: Vec<String> = query.split('&').map(str::to_string).collect();
    params.sort();
    params
}

/// botocore's tokens for each case, at each token's own X-Amz-Date: `{"crt": ..., "python":
/// ...}` (the awscrt signer the AWS CLI v2 uses, and botocore's pure-Python one).
const BOTOCORE_TOKENS: &str = r#"
import base64, datetime, json, re, sys
from unittest import mock
import botocore.auth, botocore.session
import botocore.crt.auth
from awscli.customizations.eks.get_token import STSClientFactory, TokenGenerator

def text_of(case):
    if case["kind"] != "eks":
        return case["ours"]
    encoded = case["ours"][len("k8s-aws-v1."):]
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()

def token(case):
    session = botocore.session.get_session()
    session.set_credentials(case["akid"], case["secret"], case.get("token"))
    if case["kind"] == "rds":
        client = session.create_client("rds", region_name=case["region"])
        return client.generate_db_auth_token(case["host"], case["port"], case["user"])
    if case["kind"] == "dsql":
        client = session.create_client("dsql", region_name=case["region"])
        make = (client.generate_db_connect_admin_auth_token if case["admin"]
                else client.generate_db_connect_auth_token)
        return make(case["host"], case["region"], ExpiresIn=case["expires"])
    sts = STSClientFactory(session).get_sts_client(region_name=case["region"])
    return TokenGenerator(sts).get_token(case["cluster"])

out = []
for case in json.load(sys.stdin):
    stamp = re.search(r"X-Amz-Date=(\d{8}T\d{6}Z)", text_of(case)).group(1)
    at = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    def now(remove_tzinfo=True):
        return at.replace(tzinfo=None) if remove_tzinfo else at
    with mock.patch("botocore.crt.auth.get_current_datetime", now), \
         mock.patch("botocore.auth.get_current_datetime", now):
        crt = token(case)
        with mock.patch.dict(botocore.auth.AUTH_TYPE_MAPS, {"v4-query": botocore.auth.SigV4QueryAuth}):
            python = token(case)
    out.append({"crt": crt, "python": python})
print(json.dumps(out))
"#;

#[test]
fn tokens_equal_botocores_byte_for_byte() {
    let Some(python) = support::require_venv_tool("python") else {
        return;
    };
    let sb = Sandbox::new();
    // (arguments, case for botocore)
    let mut cases: Vec<(Vec<&str>, Value)> = vec![
        (
            vec![
                "rds",
                "--hostname",
                "MyDB.abc.us-east-1.rds.amazonaws.com",
                "--port",
                "5432",
                "--username",
                "app user",
                "--region",
                "us-east-1",
            ],
            json!({"kind": "rds", "host": "MyDB.abc.us-east-1.rds.amazonaws.com", "port": 5432, "user": "app user", "region": "us-east-1"}),
        ),
        (
            vec![
                "rds",
                "--hostname",
                "db.example.com",
                "--port",
                "443",
                "--username",
                "iam_user+x/y@z",
                "--region",
                "eu-west-1",
            ],
            json!({"kind": "rds", "host": "db.example.com", "port": 443, "user": "iam_user+x/y@z", "region": "eu-west-1"}),
        ),
        (
            vec![
                "rds",
                "--hostname",
                "db.cn.example",
                "--port",
                "3306",
                "--username",
                "ü",
                "--region",
                "cn-north-1",
            ],
            json!({"kind": "rds", "host": "db.cn.example", "port": 3306, "user": "ü", "region": "cn-north-1"}),
        ),
        (
            vec![
                "dsql",
                "--hostname",
                "abc.dsql.us-east-1.on.aws",
                "--admin",
                "--region",
                "us-east-1",
            ],
            json!({"kind": "dsql", "host": "abc.dsql.us-east-1.on.aws", "admin": true, "expires": 900, "region": "us-east-1"}),
        ),
        (
            vec![
                "dsql",
                "--hostname",
                "Abc.dsql.eu-west-1.on.aws",
                "--expires-in",
                "60",
                "--region",
                "eu-west-1",
            ],
            json!({"kind": "dsql", "host": "Abc.dsql.eu-west-1.on.aws", "admin": false, "expires": 60, "region": "eu-west-1"}),
        ),
        (
            vec![
                "dsql",
                "--hostname",
                "x.dsql.us-west-2.on.aws",
                "--admin",
                "--expires-in",
                "604800",
                "--region",
                "us-west-2",
            ],
            json!({"kind": "dsql", "host": "x.dsql.us-west-2.on.aws", "admin": true, "expires": 604800, "region": "us-west-2"}),
        ),
        (
            vec!["eks", "--cluster", "prod", "--region", "eu-west-1"],
            json!({"kind": "eks", "cluster": "prod", "region": "eu-west-1"}),
        ),
        (
            vec!["eks", "--cluster", "my_cluster-2", "--region", "us-east-1"],
            json!({"kind": "eks", "cluster": "my_cluster-2", "region": "us-east-1"}),
        ),
        (
            vec!["eks", "--cluster", "c1", "--region", "cn-north-1"],
            json!({"kind": "eks", "cluster": "c1", "region": "cn-north-1"}),
        ),
        (
            vec![
                "eks",
                "--cluster",
                "0a1b2c3d-aaaa-bbbb-cccc-0123456789ab",
                "--region",
                "us-gov-west-1",
            ],
            json!({"kind": "eks", "cluster": "0a1b2c3d-aaaa-bbbb-cccc-0123456789ab", "region": "us-gov-west-1"}),
        ),
    ];
    // Every case once with a session token and once with long-term keys.
    let mut all = Vec::new();
    for (args, case) in cases.drain(..) {
        for session_token in [Some(TOKEN), None] {
            let mut cmd = sb.cmd();
            cmd.env("AWS_ACCESS_KEY_ID", KEY)
                .env("AWS_SECRET_ACCESS_KEY", SECRET)
                .env("AWS_CRED_TEST_NOW", FIXED_NOW)
                .arg("token")
                .args(&args);
            if args[0] == "eks" {
                cmd.arg("--no-cache");
            }
            if let Some(token) = session_token {
                cmd.env("AWS_SESSION_TOKEN", token);
            }
            let out = run(&mut cmd);
            assert!(out.status.success(), "{args:?}: {}", out.stderr_str());
            let ours = if args[0] == "eks" {
                let doc: Value = serde_json::from_str(&out.stdout_str()).unwrap();
                doc["status"]["token"].as_str().unwrap().to_string()
            } else {
                out.stdout_str().trim_end().to_string()
            };
            let mut case = case.clone();
            case["ours"] = json!(ours);
            case["akid"] = json!(KEY);
            case["secret"] = json!(SECRET);
            if let Some(token) = session_token {
                case["token"] = json!(token);
            }
            all.push(case);
        }
    }
    let mut cmd = Command::new(python);
    cmd.env_clear()
        .env("HOME", sb.home())
        .env("AWS_CONFIG_FILE", sb.path("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", sb.path("no-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["-c", BOTOCORE_TOKENS]);
    let out = run_with_input(&mut cmd, serde_json::to_string(&all).unwrap().as_bytes());
    assert!(out.status.success(), "botocore: {}", out.stderr_str());
    let theirs: Vec<Value> = serde_json::from_str(&out.stdout_str()).unwrap();
    assert_eq!(theirs.len(), all.len());
    for (case, theirs) in all.iter().zip(&theirs) {
        let ours = case["ours"].as_str().unwrap();
        let crt = theirs["crt"].as_str().unwrap();
        let python = theirs["python"].as_str().unwrap();
        assert_eq!(ours, crt, "byte for byte as the AWS CLI v2 signs: {case}");
        let (ours_url, python_url) = if case["kind"] == "eks" {
            (decode_eks(ours), decode_eks(python))
        } else {
            (ours.to_string(), python.to_string())
        };
        assert_eq!(
            params_of(&ours_url),
            params_of(&python_url),
            "the same parameters and signature as botocore's pure-Python signer: {case}"
        );
        assert_eq!(
            ours_url.split_once("/?").unwrap().0,
            python_url.split_once("/?").unwrap().0
        );
    }
}

#[test]
fn usage_errors_come_before_any_credential_work() {
    let sb = Sandbox::new();
    let cases: [(&[&str], &str); 9] = [
        (
            &["eks", "--cluster", "bad name", "--region", "eu-west-1"],
            "not an EKS cluster name",
        ),
        (&["eks", "--cluster", "prod"], "none is set"),
        (
            &["eks", "--cluster", "prod", "--region", "EU west"],
            "not an AWS region name",
        ),
        (
            &[
                "eks",
                "--cluster",
                "prod",
                "--region",
                "eu-west-1",
                "--role-arn",
                "admin",
            ],
            "not a role ARN",
        ),
        (
            &[
                "rds",
                "--hostname",
                "db.example.com:5432",
                "--port",
                "5432",
                "--username",
                "u",
                "--region",
                "eu-west-1",
            ],
            "--port",
        ),
        (
            &[
                "rds",
                "--hostname",
                "db.example.com",
                "--port",
                "0",
                "--username",
                "u",
                "--region",
                "eu-west-1",
            ],
            "0",
        ),
        (
            &[
                "dsql",
                "--hostname",
                "https://x.dsql.us-east-1.on.aws",
                "--region",
                "us-east-1",
            ],
            "scheme",
        ),
        (
            &[
                "dsql",
                "--hostname",
                "x.dsql.us-east-1.on.aws",
                "--expires-in",
                "604801",
                "--region",
                "us-east-1",
            ],
            "604801",
        ),
        (
            &[
                "kubeconfig",
                "--cluster",
                "prod",
                "--server",
                "prod.example.com",
                "--region",
                "eu-west-1",
            ],
            "not an API server URL",
        ),
    ];
    for (args, expect) in cases {
        // No credentials anywhere: a usage error must not even look for them.
        let out = run(sb.cmd().arg("token").args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", out.stderr_str());
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(
            out.stderr_str().contains(expect),
            "{args:?}: {}",
            out.stderr_str()
        );
        assert!(
            !out.stderr_str().contains("chain"),
            "{args:?}: {}",
            out.stderr_str()
        );
    }
}

#[test]
fn a_cached_eks_token_is_reused_for_the_same_identity_only() {
    let sb = Sandbox::new();
    sb.write_credentials(&format!(
        "[a]\naws_access_key_id = AKIAFIRST\naws_secret_access_key = {SECRET}\n\
         [b]\naws_access_key_id = AKIASECOND\naws_secret_access_key = {SECRET}\n"
    ));
    let token = |profile: &str, cluster: &str, now: u64, extra: &[&str]| {
        let out = run(sb
            .cmd()
            .env("AWS_CRED_TEST_NOW", now.to_string())
            .args([
                "token",
                "eks",
                "--region",
                "eu-west-1",
                "--cluster",
                cluster,
                "--profile",
                profile,
            ])
            .args(extra));
        assert!(out.status.success(), "{}", out.stderr_str());
        let doc: Value = serde_json::from_str(&out.stdout_str()).unwrap();
        (
            doc["status"]["token"].as_str().unwrap().to_string(),
            doc["status"]["expirationTimestamp"]
                .as_str()
                .unwrap()
                .to_string(),
        )
    };
    let t0 = 1_700_000_000;
    let (first, expires) = token("a", "prod", t0, &[]);
    assert_eq!(expires, "2023-11-14T22:27:20Z", "14 minutes");
    assert!(decode_eks(&first).contains("AKIAFIRST"));
    // Until a minute before it expires, the same token; then a new one.
    assert_eq!(token("a", "prod", t0 + 12 * 60 + 59, &[]).0, first);
    let renewed = token("a", "prod", t0 + 13 * 60, &[]).0;
    assert_ne!(renewed, first);
    assert!(decode_eks(&renewed).contains("X-Amz-Date=20231114T222620Z"));
    // Another identity, another cluster, --no-cache: never the cached one.
    let other = token("b", "prod", t0 + 60, &[]).0;
    assert!(
        decode_eks(&other).contains("AKIASECOND"),
        "{}",
        decode_eks(&other)
    );
    assert_ne!(token("a", "staging", t0 + 60, &[]).0, first);
    assert_ne!(token("a", "prod", t0 + 60, &["--no-cache"]).0, first);
    // The files changed (new keys under the same profile name): a new token.
    sb.write_credentials(&format!(
        "[a]\naws_access_key_id = AKIAROTATED\naws_secret_access_key = {SECRET}\n"
    ));
    let rotated = token("a", "prod", t0 + 120, &[]).0;
    assert!(decode_eks(&rotated).contains("AKIAROTATED"));
    // The cache is private, and holds no key.
    let dir = sb.home_path(".aws/aws-cred/cache/eks");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
            assert!(!std::fs::read_to_string(&path).unwrap().contains(SECRET));
        }
    }
    // Logging out of anything forgets every cached token.
    let entries = || {
        std::fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "json")
            })
            .count()
    };
    // (a, prod) renewed in place, (b, prod), (a, staging), (a, prod) after the rotation.
    assert_eq!(entries(), 4);
    let out = sb.aws_cred(&["logout", "--profile", "a"]);
    assert!(out.status.success(), "{}", out.stderr_str());
    assert!(
        out.stderr_str().contains("removed 4 cached EKS tokens"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(entries(), 0);
}

#[test]
fn kubernetes_exec_info_picks_the_answers_api_version() {
    let sb = Sandbox::new();
    let version = |info: Option<&str>| {
        let mut cmd = sb.cmd();
        cmd.env("AWS_ACCESS_KEY_ID", KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .args(["token", "eks", "--cluster", "prod", "--region", "eu-west-1"]);
        if let Some(info) = info {
            cmd.env("KUBERNETES_EXEC_INFO", info);
        }
        let out = run(&mut cmd);
        assert!(out.status.success(), "{}", out.stderr_str());
        let doc: Value = serde_json::from_str(&out.stdout_str()).unwrap();
        (
            doc["apiVersion"].as_str().unwrap().to_string(),
            out.stderr_str(),
        )
    };
    assert_eq!(version(None).0, "client.authentication.k8s.io/v1beta1");
    let v1 = r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}"#;
    assert_eq!(
        version(Some(v1)),
        ("client.authentication.k8s.io/v1".to_string(), String::new())
    );
    let (api, stderr) = version(Some("{oops"));
    assert_eq!(api, "client.authentication.k8s.io/v1beta1");
    assert!(stderr.contains("not JSON"), "{stderr}");
}

/// `arn:aws:sts::A:assumed-role/R/S` → `arn:aws:iam::A:role/R`, as aws-iam-authenticator maps
/// role sessions to roles.
fn canonical_arn(arn: &str) -> String {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts[..] {
        [_, partition, "sts", _, account, resource] if resource.starts_with("assumed-role/") => {
            let role = resource.split('/').nth(1).unwrap_or_default();
            format!("arn:{partition}:iam::{account}:role/{role}")
        }
        _ => arn.to_string(),
    }
}

const CONFIG: &str = "\
[profile static]
region = eu-west-1
[profile unmapped]
region = eu-west-1
[profile base]
region = eu-west-1
[profile admin]
role_arn = arn:aws:iam::123456789012:role/admin
source_profile = base
mfa_serial = arn:aws:iam::123456789012:mfa/alice
region = eu-west-1
[profile dev]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = PowerUserAccess
region = eu-west-1
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
";

const CREDENTIALS: &str = "\
[static]
aws_access_key_id = AKIASTATIC0000000001
aws_secret_access_key = staticsecret
[unmapped]
aws_access_key_id = AKIAUNMAPPED00000001
aws_secret_access_key = unmappedsecret
[base]
aws_access_key_id = AKIABASE000000000001
aws_secret_access_key = basesecret
";

/// sha1("corp"): the sso-session's token file, as the AWS CLI names it.
const SSO_TOKEN_FILE: &str = "home/.aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json";

struct Cluster {
    sb: Sandbox,
    sts: Arc<FakeSts>,
    sso: Arc<FakeSso>,
    eks: FakeEks,
}

impl Cluster {
    fn start() -> Cluster {
        let sb = Sandbox::new();
        sb.write_config(CONFIG);
        sb.write_credentials(CREDENTIALS);
        let sts = Arc::new(FakeSts::start(StsRules {
            users: HashMap::from([(
                "AKIABASE000000000001".to_string(),
                (
                    "alice".to_string(),
                    "arn:aws:iam::123456789012:mfa/alice".to_string(),
                ),
            )]),
            ..StsRules::default()
        }));
        let sso = Arc::new(FakeSso::start(SsoRules::default()));
        let (_, _, access, _) = sso.issue_for_test(Duration::from_secs(3600));
        let expires =
            chrono::DateTime::<chrono::Utc>::from(SystemTime::now() + Duration::from_secs(3600))
                .format("%Y-%m-%dT%H:%M:%SZ");
        sb.write(
            SSO_TOKEN_FILE,
            format!(
                r#"{{"startUrl": "https://corp.awsapps.com/start", "region": "us-east-1", "accessToken": "{access}", "expiresAt": "{expires}"}}"#
            ),
        );
        let (sts_keys, sso_keys) = (sts.clone(), sso.clone());
        let lookup: Lookup = Arc::new(move |akid: &str| {
            let statics = [
                (
                    "AKIASTATIC0000000001",
                    "staticsecret",
                    "arn:aws:iam::123456789012:user/static",
                ),
                (
                    "AKIAUNMAPPED00000001",
                    "unmappedsecret",
                    "arn:aws:iam::123456789012:user/unmapped",
                ),
            ];
            if let Some((_, secret, arn)) = statics.iter().find(|(key, _, _)| *key == akid) {
                return Some(Session {
                    secret: secret.to_string(),
                    token: None,
                    arn: arn.to_string(),
                });
            }
            let (secret, token, arn) = sts_keys
                .issued_session(akid)
                .or_else(|| sso_keys.role_session(akid))?;
            Some(Session {
                secret,
                token: Some(token),
                arn: canonical_arn(&arn),
            })
        });
        let eks = FakeEks::start(
            "prod",
            "eu-west-1",
            vec![
                "arn:aws:iam::123456789012:user/static".to_string(),
                "arn:aws:iam::123456789012:role/admin".to_string(),
                "arn:aws:iam::111111111111:role/AWSReservedSSO_PowerUserAccess_fake".to_string(),
            ],
            lookup,
        );
        Cluster { sb, sts, sso, eks }
    }

    /// aws-cred with the fakes' endpoints.
    fn cmd(&self) -> Command {
        let mut cmd = self.sb.cmd();
        self.endpoints(&mut cmd);
        cmd
    }

    fn endpoints(&self, cmd: &mut Command) {
        cmd.env("AWS_ENDPOINT_URL_STS", self.sts.url())
            .env("AWS_ENDPOINT_URL_SSO", self.sso.url())
            .env("AWS_ENDPOINT_URL_SSO_OIDC", self.sso.url())
            .env("AWS_ENDPOINT_URL_IAM", self.sts.url());
    }

    /// A kubeconfig (written by `token kubeconfig`) for `profile`'s user of `cluster`.
    fn kubeconfig(&self, profile: &str, cluster: &str) -> std::path::PathBuf {
        let ca = self.sb.write("kube/ca.pem", &self.eks.tls.ca_pem);
        let mut cmd = self.cmd();
        cmd.args([
            "token",
            "kubeconfig",
            "--cluster",
            cluster,
            "--server",
            &self.eks.url(),
            "--region",
            "eu-west-1",
            "--profile",
            profile,
            "--command",
            env!("CARGO_BIN_EXE_aws-cred"),
            "--ca",
        ])
        .arg(&ca);
        let out = run(&mut cmd);
        assert!(out.status.success(), "{}", out.stderr_str());
        self.sb
            .write(&format!("kube/{profile}-{cluster}.yaml"), out.stdout)
    }

    /// kubectl with the same environment aws-cred gets (it passes it on to the plugin).
    fn kubectl(
        &self,
        kubectl: &std::path::Path,
        kubeconfig: &std::path::Path,
    ) -> std::process::Output {
        let mut kubectl_cmd = self.sb.program(kubectl);
        self.endpoints(&mut kubectl_cmd);
        kubectl_cmd
            .current_dir(self.sb.home())
            .args(["--kubeconfig"])
            .arg(kubeconfig)
            .args(["get", "--raw", "/version", "--request-timeout", "20s"]);
        run(&mut kubectl_cmd)
    }

    /// The bearer tokens the API server accepted, with the identity each proved.
    fn accepted(&self) -> Vec<String> {
        self.eks.seen().into_iter().filter_map(Result::ok).collect()
    }
}

#[test]
fn kubectl_authenticates_with_token_eks_from_static_mfa_role_and_sso_profiles() {
    let Some(kubectl) = support::require_program("kubectl") else {
        return;
    };
    let cluster = Cluster::start();

    // A static profile.
    let out = cluster.kubectl(&kubectl, &cluster.kubeconfig("static", "prod"));
    assert!(
        out.status.success(),
        "kubectl: {} {:?}",
        out.stderr_str(),
        cluster.eks.seen()
    );
    assert!(
        out.stdout_str().contains("v1.31.0-eks-fake"),
        "{}",
        out.stdout_str()
    );
    let accepted = cluster.accepted();
    assert!(!accepted.is_empty());
    assert!(
        accepted
            .iter()
            .all(|arn| arn == "arn:aws:iam::123456789012:user/static"),
        "{accepted:?}"
    );

    // An MFA role: the morning's `mfa` makes the session the plugin then uses.
    let admin = cluster.kubeconfig("admin", "prod");
    let out = run(cluster.cmd().args(["mfa", CODE, "--profile", "admin"]));
    assert!(out.status.success(), "mfa: {}", out.stderr_str());
    let out = cluster.kubectl(&kubectl, &admin);
    assert!(out.status.success(), "kubectl: {}", out.stderr_str());
    assert_eq!(
        cluster.accepted().last().map(String::as_str),
        Some("arn:aws:iam::123456789012:role/admin")
    );

    // An SSO profile, twice: the second kubectl call gets the cached token, no AWS call.
    let dev = cluster.kubeconfig("dev", "prod");
    for _ in 0..2 {
        let out = cluster.kubectl(&kubectl, &dev);
        assert!(out.status.success(), "kubectl: {}", out.stderr_str());
    }
    assert_eq!(
        cluster.sso.calls("GetRoleCredentials"),
        1,
        "the second token came from the cache"
    );
    assert_eq!(
        cluster.accepted().last().map(String::as_str),
        Some("arn:aws:iam::111111111111:role/AWSReservedSSO_PowerUserAccess_fake")
    );

    // Refused: an identity the cluster does not map, and a token for another cluster.
    for kubeconfig in [
        cluster.kubeconfig("unmapped", "prod"),
        cluster.kubeconfig("static", "staging"),
    ] {
        let refused_before = cluster.eks.seen().iter().filter(|s| s.is_err()).count();
        let out = cluster.kubectl(&kubectl, &kubeconfig);
        assert!(!out.status.success(), "{}", out.stdout_str());
        assert!(
            out.stderr_str().contains("Unauthorized"),
            "{}",
            out.stderr_str()
        );
        let seen = cluster.eks.seen();
        let refusals: Vec<&String> = seen.iter().filter_map(|s| s.as_ref().err()).collect();
        assert!(refusals.len() > refused_before);
        let reason = refusals.last().unwrap();
        assert!(
            reason.contains("not mapped") || reason.contains("SignatureDoesNotMatch"),
            "{reason}"
        );
    }
}

#[test]
fn an_expired_or_altered_token_is_refused_by_the_api_server() {
    let cluster = Cluster::start();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let bearer = |age: u64| {
        let out = run(cluster
            .cmd()
            .env("AWS_CRED_TEST_NOW", (now - age).to_string())
            .args([
                "token",
                "eks",
                "--cluster",
                "prod",
                "--region",
                "eu-west-1",
                "--profile",
                "static",
                "--no-cache",
            ]));
        assert!(out.status.success(), "{}", out.stderr_str());
        let doc: Value = serde_json::from_str(&out.stdout_str()).unwrap();
        doc["status"]["token"].as_str().unwrap().to_string()
    };
    let ask = |token: &str| {
        support::http_request(
            "GET",
            &format!("{}/version", cluster.eks.http.url()),
            &[("Authorization", &format!("Bearer {token}"))],
            b"",
        )
        .unwrap()
        .status
    };
    assert_eq!(ask(&bearer(0)), 200);
    assert_eq!(ask(&bearer(14 * 60)), 200, "inside EKS's 15 minutes");
    assert_eq!(ask(&bearer(16 * 60)), 401, "expired");
    assert!(
        cluster
            .eks
            .seen()
            .last()
            .unwrap()
            .as_ref()
            .unwrap_err()
            .contains("expired")
    );
    // One character of the signature changed.
    let url = decode_eks(&bearer(0));
    let altered = format!(
        "{}{}",
        &url[..url.len() - 1],
        if url.ends_with('0') { '1' } else { '0' }
    );
    use base64::Engine as _;
    let altered = format!(
        "k8s-aws-v1.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(altered)
    );
    assert_eq!(ask(&altered), 401);
    assert_eq!(
        cluster.eks.seen().last().unwrap().as_ref().unwrap_err(),
        "SignatureDoesNotMatch"
    );
}

/// The Python kubernetes client's exec provider runs the plugin from the same kubeconfig; it
/// gets the token kubectl got (the cached one) and is let in.
#[test]
fn the_python_kubernetes_client_gets_the_same_token() {
    let (Some(kubectl), Some(python)) = (
        support::require_program("kubectl"),
        support::require_venv_tool("python"),
    ) else {
        return;
    };
    let cluster = Cluster::start();
    let kubeconfig = cluster.kubeconfig("static", "prod");
    let out = cluster.kubectl(&kubectl, &kubeconfig);
    assert!(out.status.success(), "kubectl: {}", out.stderr_str());
    let script = r#"
import json, sys
from kubernetes import client, config
config.load_kube_config(config_file=sys.argv[1])
conf = client.Configuration.get_default_copy()
version = client.VersionApi().get_code()
print(json.dumps({"authorization": conf.api_key.get("BearerToken"), "git_version": version.git_version}))
"#;
    let mut cmd = cluster.sb.program(python);
    cluster.endpoints(&mut cmd);
    cmd.args(["-c", script]).arg(&kubeconfig);
    let out = run(&mut cmd);
    assert!(
        out.status.success(),
        "python kubernetes: {}",
        out.stderr_str()
    );
    let got: Value = serde_json::from_str(&out.stdout_str()).unwrap();
    assert_eq!(got["git_version"], "v1.31.0-eks-fake");
    let mut accepted_tokens = cluster.eks.bearers();
    accepted_tokens.dedup();
    assert_eq!(
        accepted_tokens.len(),
        1,
        "kubectl and python sent the one cached token"
    );
    assert_eq!(
        got["authorization"].as_str().unwrap(),
        format!("Bearer {}", accepted_tokens[0])
    );
}

#[test]
fn an_identity_that_needs_a_person_says_which_command_fixes_it() {
    let sb = Sandbox::new();
    sb.write_config(CONFIG);
    sb.write_credentials(CREDENTIALS);
    // No MFA session yet, no SSO token: nothing is signed, and the message names the fix.
    for (profile, fix) in [("admin", "aws-cred mfa"), ("dev", "sso-login")] {
        let out = run(sb
            .cmd()
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .args(["token", "eks", "--cluster", "prod", "--profile", profile]));
        assert_eq!(
            out.status.code(),
            Some(4),
            "{profile}: {}",
            out.stderr_str()
        );
        assert!(out.stdout.is_empty());
        assert!(
            out.stderr_str().contains(fix),
            "{profile}: {}",
            out.stderr_str()
        );
    }
}

/// `token kubeconfig --write` merges into a kubeconfig kubectl wrote: kubectl then reaches the
/// cluster through the new context, the other entries stay line for line, and a second write
/// replaces the entries instead of adding more.
#[test]
fn kubeconfig_write_merges_into_the_file_kubectl_wrote() {
    let Some(kubectl) = support::require_program("kubectl") else {
        return;
    };
    let cluster = Cluster::start();
    let file = cluster.sb.path("kube/config");
    let kubectl_config = |args: &[&str]| {
        let out = run(Command::new(&kubectl)
            .env_clear()
            .env("HOME", cluster.sb.home())
            .arg("--kubeconfig")
            .arg(&file)
            .args(args));
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            out.stderr_str()
        );
        out.stdout_str()
    };
    kubectl_config(&[
        "config",
        "set-cluster",
        "other",
        "--server=https://other.example.com",
    ]);
    kubectl_config(&["config", "set-credentials", "other", "--token=other-token"]);
    kubectl_config(&[
        "config",
        "set-context",
        "other",
        "--cluster=other",
        "--user=other",
    ]);
    kubectl_config(&["config", "use-context", "other"]);
    let before = std::fs::read_to_string(&file).unwrap();

    let ca = cluster.sb.write("kube/ca.pem", &cluster.eks.tls.ca_pem);
    let write = || {
        let out = run(cluster
            .cmd()
            .args([
                "token",
                "kubeconfig",
                "--cluster",
                "prod",
                "--server",
                &cluster.eks.url(),
            ])
            .args([
                "--region",
                "eu-west-1",
                "--profile",
                "static",
                "--write",
                "--kubeconfig",
            ])
            .arg(&file)
            .args(["--command", env!("CARGO_BIN_EXE_aws-cred"), "--ca"])
            .arg(&ca));
        assert!(out.status.success(), "{}", out.stderr_str());
        assert!(out.stdout.is_empty(), "nothing on stdout");
        out.stderr_str()
    };
    let said = write();
    assert!(
        said.contains("added the cluster, user and context prod"),
        "{said}"
    );
    assert!(said.contains("kubectl config use-context prod"), "{said}");
    let after = std::fs::read_to_string(&file).unwrap();
    let mut lines = after.lines();
    for line in before.lines() {
        assert!(
            lines.any(|l| l == line),
            "{line:?} kept, in order:\n{after}"
        );
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "kubectl's mode kept");

    let view: Value =
        serde_json::from_str(&kubectl_config(&["config", "view", "-o", "json"])).unwrap();
    assert_eq!(
        view["current-context"], "other",
        "the current context stays"
    );
    let names = |key: &str| -> Vec<String> {
        view[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names("clusters"), ["other", "prod"]);
    assert_eq!(names("users"), ["other", "prod"]);
    assert_eq!(names("contexts"), ["other", "prod"]);

    let mut cmd = cluster.sb.program(&kubectl);
    let out = run(cmd.arg("--kubeconfig").arg(&file).args([
        "--context",
        "prod",
        "get",
        "--raw",
        "/version",
        "--request-timeout",
        "20s",
    ]));
    assert!(out.status.success(), "kubectl: {}", out.stderr_str());
    assert!(out.stdout_str().contains("v1.31.0-eks-fake"));

    // Again: the entries are replaced, not repeated.
    let said = write();
    assert!(said.contains("replaced"), "{said}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), after);
}

/// `--role-arn`: the role is assumed with the profile's credentials (session name
/// EKSGetTokenAuth, as the AWS CLI), and the token proves the role's identity.
#[test]
fn role_arn_signs_with_the_assumed_roles_session() {
    let cluster = Cluster::start();
    let out = run(cluster.cmd().args([
        "token",
        "eks",
        "--cluster",
        "prod",
        "--region",
        "eu-west-1",
        "--profile",
        "base",
        "--role-arn",
        "arn:aws:iam::123456789012:role/admin",
    ]));
    assert!(out.status.success(), "{}", out.stderr_str());
    let doc: Value = serde_json::from_str(&out.stdout_str()).unwrap();
    let token = doc["status"]["token"].as_str().unwrap();
    assert!(
        decode_eks(token).contains("ASIAROLE"),
        "{}",
        decode_eks(token)
    );
    let assumed = cluster.sts.requests_for("AssumeRole");
    assert_eq!(assumed.len(), 1);
    assert_eq!(
        assumed[0].form_param("RoleSessionName").as_deref(),
        Some("EKSGetTokenAuth")
    );
    let status = support::http_request(
        "GET",
        &format!("{}/version", cluster.eks.http.url()),
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
    )
    .unwrap()
    .status;
    assert_eq!(status, 200, "{:?}", cluster.eks.seen());
    assert_eq!(cluster.accepted(), ["arn:aws:iam::123456789012:role/admin"]);
}
