//! Other tools accept what aws-cred produces: botocore and the AWS CLI v1 (from the CI venv)
//! take it as a `credential_process`, and the AWS CLI uses what `eval "$(aws-cred ...)"` exports
//! in bash, for `export` and for the morning `mfa` routine. Every AWS call goes to a loopback
//! moto_server.
//!
//! The Python tools run with the sandbox's environment only (HOME, the two ~/.aws files,
//! `AWS_EC2_METADATA_DISABLED=true`, `AWS_ENDPOINT_URL=<moto>`, `AWS_DEFAULT_REGION`), and with
//! every proxy variable pointing at a loopback trap that answers 403 and records what reached it:
//! a request that escaped the endpoint settings would land there (and fail the test) rather than
//! on real AWS. Requests to 127.0.0.1 bypass the trap through `NO_PROXY`.
//!
//! `--debug` makes the AWS CLI log the signed request: `Credential=<access key id>/...` and the
//! `X-Amz-Security-Token` header show which credentials it actually used, which moto (it accepts
//! any key) cannot tell us.

use crate::support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use support::{
    FakeHttp, Moto, OutputExt, Response, Sandbox, require_program, require_venv_tool, run,
};

const BIN: &str = env!("CARGO_BIN_EXE_aws-cred");

const BASE_KEY: &str = "AKIAINTEROPBASE00001";
const BASE_SECRET: &str = "interop/base+secret=key";

/// One moto_server for the whole file (STS keeps no state these tests depend on). A `Moto` in a
/// static is never dropped; it still dies with the test process (see `support::Moto`).
fn moto() -> Option<&'static Moto> {
    static MOTO: OnceLock<Option<Moto>> = OnceLock::new();
    MOTO.get_or_init(Moto::start).as_ref()
}

/// The venv tools and moto, or `None` after a skip line (a panic under `CI=true`).
struct Tools {
    moto: &'static Moto,
    aws: PathBuf,
    python: PathBuf,
    bash: PathBuf,
}

fn tools() -> Option<Tools> {
    let aws = require_venv_tool("aws")?;
    let python = require_venv_tool("python")?;
    let bash = require_program("bash")?;
    let moto = moto()?;
    Some(Tools {
        moto,
        aws,
        python,
        bash,
    })
}

/// A sandbox plus what the Python tools need: `<root>/bin` with `aws-cred` and `aws`, and the
/// proxy trap.
struct World {
    sb: Sandbox,
    bin: PathBuf,
    trap: FakeHttp,
    moto_url: String,
}

impl World {
    fn new(tools: &Tools) -> World {
        let sb = Sandbox::new();
        let bin = sb.path("bin");
        fs::create_dir_all(&bin).expect("create <sandbox>/bin");
        std::os::unix::fs::symlink(BIN, bin.join("aws-cred")).expect("link aws-cred");
        std::os::unix::fs::symlink(&tools.aws, bin.join("aws")).expect("link aws");
        let trap = FakeHttp::new(|req| {
            Response::text(
                403,
                &format!(
                    "blocked by the aws-cred tests: {} {} must not leave loopback",
                    req.method, req.target
                ),
            )
        });
        World {
            sb,
            bin,
            trap,
            moto_url: tools.moto.url(),
        }
    }

    /// `program` with a cleared environment: the sandbox's files, IMDS off, moto as the
    /// endpoint, us-east-1, the proxy trap, and `PATH` = `<sandbox>/bin` then the test's PATH.
    fn command(&self, program: &Path) -> Command {
        let mut path = self.bin.clone().into_os_string();
        if let Some(outer) = std::env::var_os("PATH") {
            path.push(":");
            path.push(outer);
        }
        let trap = self.trap.url();
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", path)
            .env("HOME", self.sb.home())
            .env("AWS_CONFIG_FILE", self.sb.config_path())
            .env("AWS_SHARED_CREDENTIALS_FILE", self.sb.credentials_path())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL", &self.moto_url)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("LANG", "C.UTF-8")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .current_dir(self.sb.home())
            .stdin(Stdio::null());
        for var in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"] {
            cmd.env(var, &trap).env(var.to_ascii_lowercase(), &trap);
        }
        cmd.env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost");
        cmd
    }

    /// `bash -c SCRIPT`.
    fn bash(&self, tools: &Tools, script: &str) -> Output {
        run(self.command(&tools.bash).arg("-c").arg(script))
    }

    /// Fails the test if anything tried to leave loopback.
    fn assert_stayed_on_loopback(&self) {
        let escaped = self.trap.requests();
        assert!(
            escaped.is_empty(),
            "requests went past the endpoint settings: {:?}",
            escaped
                .iter()
                .map(|r| format!("{} {}", r.method, r.target))
                .collect::<Vec<_>>()
        );
    }
}

/// `[profile app]` running aws-cred as its credential_process for `--profile base`.
fn credential_process_config() -> String {
    assert!(!BIN.contains('\''), "test bug: quote in {BIN}");
    format!("[profile app]\ncredential_process = '{BIN}' export --format json --profile base\n")
}

/// What botocore resolves for `profile`, as JSON: method, keys, token, expiry (UTC, `Z`).
const BOTOCORE_CREDENTIALS: &str = r#"
import datetime, json, sys
import botocore.session
creds = botocore.session.Session(profile=sys.argv[1]).get_credentials()
frozen = creds.get_frozen_credentials()
expiry = getattr(creds, "_expiry_time", None)
if expiry is not None:
    expiry = expiry.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
print(json.dumps({
    "method": creds.method,
    "access_key": frozen.access_key,
    "secret_key": frozen.secret_key,
    "token": frozen.token,
    "expiry": expiry,
}))
"#;

fn botocore_credentials(world: &World, tools: &Tools, profile: &str) -> serde_json::Value {
    let out = run(world
        .command(&tools.python)
        .args(["-c", BOTOCORE_CREDENTIALS, profile]));
    out.assert_success();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("botocore printed no JSON ({e}):\n{}", out.stdout_str()))
}

/// Checks `aws sts get-caller-identity` output (moto's identity) and that the signed request
/// used `access_key` (the debug log is on stderr).
fn assert_caller_identity(out: &Output, access_key: &str) {
    out.assert_success();
    let identity: serde_json::Value = serde_json::from_str(
        out.stdout_str()
            .lines()
            .skip_while(|l| !l.starts_with('{'))
            .collect::<Vec<_>>()
            .join("\n")
            .as_str(),
    )
    .unwrap_or_else(|e| panic!("no identity JSON ({e}):\n{}", out.stdout_str()));
    assert_eq!(identity["Account"], "123456789012", "{identity}");
    let signed = format!("Credential={access_key}/");
    assert!(
        out.stderr_str().contains(&signed),
        "the AWS CLI did not sign with {access_key}; its requests:\n{}",
        debug_lines(out, "Credential=")
    );
}

/// The lines of `out`'s stderr that mention `needle` (a debug log is long).
fn debug_lines(out: &Output, needle: &str) -> String {
    out.stderr_str()
        .lines()
        .filter(|l| l.contains(needle))
        .map(|l| l.chars().take(400).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn botocore_and_the_aws_cli_take_aws_cred_as_credential_process() {
    let Some(tools) = tools() else { return };
    let world = World::new(&tools);
    world.sb.write_credentials(&format!(
        "[base]\naws_access_key_id = {BASE_KEY}\naws_secret_access_key = {BASE_SECRET}\n"
    ));
    world.sb.write_config(&credential_process_config());

    let creds = botocore_credentials(&world, &tools, "app");
    assert_eq!(
        creds,
        serde_json::json!({
            "method": "custom-process",
            "access_key": BASE_KEY,
            "secret_key": BASE_SECRET,
            "token": null,
            "expiry": null,
        })
    );

    let out = run(world.command(&tools.aws).args([
        "sts",
        "get-caller-identity",
        "--profile",
        "app",
        "--debug",
    ]));
    assert_caller_identity(&out, BASE_KEY);
    world.assert_stayed_on_loopback();
}

/// A session (token plus aws-cred's `aws_cred_expiration`) in `[base]`: the JSON carries the
/// token and the expiry, and botocore keeps both; the AWS CLI sends the token.
#[test]
fn botocore_and_the_aws_cli_get_the_token_and_expiry_of_a_session() {
    let Some(tools) = tools() else { return };
    let world = World::new(&tools);
    let expiry = (chrono::Utc::now() + chrono::Duration::hours(6))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (key, secret, token) = (
        "ASIAINTEROPSESSION01",
        "session/secret+key",
        "IQoJb3JpZ2luX2VjEXAMPLE/session+token==",
    );
    world.sb.write_credentials(&format!(
        "[base]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n\
         aws_session_token = {token}\naws_cred_expiration = {expiry}\n"
    ));
    world.sb.write_config(&credential_process_config());

    let creds = botocore_credentials(&world, &tools, "app");
    assert_eq!(
        creds,
        serde_json::json!({
            "method": "custom-process",
            "access_key": key,
            "secret_key": secret,
            "token": token,
            "expiry": expiry,
        })
    );

    let out = run(world.command(&tools.aws).args([
        "sts",
        "get-caller-identity",
        "--profile",
        "app",
        "--debug",
    ]));
    assert_caller_identity(&out, key);
    assert!(
        out.stderr_str()
            .contains(&format!("'X-Amz-Security-Token': b'{token}'")),
        "the AWS CLI did not send the session token:\n{}",
        debug_lines(&out, "Security-Token")
    );
    world.assert_stayed_on_loopback();
}

/// `eval "$(aws-cred export --profile base)"` in bash, no AWS_PROFILE: the AWS CLI finds the
/// keys in the environment.
#[test]
fn the_aws_cli_uses_what_eval_export_sets_in_bash() {
    let Some(tools) = tools() else { return };
    let world = World::new(&tools);
    world.sb.write_credentials(&format!(
        "[base]\naws_access_key_id = {BASE_KEY}\naws_secret_access_key = {BASE_SECRET}\n"
    ));
    let out = world.bash(
        &tools,
        r#"unset AWS_PROFILE
eval "$(aws-cred export --profile base)" || exit 90
printf 'profile=%s\n' "${AWS_PROFILE-unset}"
aws sts get-caller-identity --debug"#,
    );
    assert!(
        out.stdout_str().starts_with("profile=unset\n"),
        "{}",
        out.stdout_str()
    );
    assert_caller_identity(&out, BASE_KEY);
    assert!(
        out.stderr_str()
            .contains("Found credentials in environment variables"),
        "the AWS CLI did not take the exported keys:\n{}",
        debug_lines(&out, "credentials")
    );
    world.assert_stayed_on_loopback();
}

/// The morning routine with an `aws-mfa` style `[prod-long-term]`: the shell had
/// `AWS_PROFILE=prod`; after the eval it is unset and the AWS CLI signs with the session.
#[test]
fn mfa_eval_unsets_aws_profile_and_the_aws_cli_uses_the_session() {
    let Some(tools) = tools() else { return };
    let world = World::new(&tools);
    let long_term_key = "AKIAINTEROPPRODLT001";
    world.sb.write_credentials(&format!(
        "[prod-long-term]\naws_access_key_id = {long_term_key}\n\
         aws_secret_access_key = prod/long+term\n\
         mfa_serial = arn:aws:iam::123456789012:mfa/alice\n"
    ));
    let out = world.bash(
        &tools,
        r#"export AWS_PROFILE=prod
eval "$(aws-cred mfa 123456 --profile prod)" || exit 90
printf 'profile=%s\n' "${AWS_PROFILE-unset}"
printf 'key=%s\n' "$AWS_ACCESS_KEY_ID"
printf 'token=%s\n' "${AWS_SESSION_TOKEN:+present}"
printf 'expiration=%s\n' "${AWS_CREDENTIAL_EXPIRATION:+present}"
aws sts get-caller-identity --debug"#,
    );
    out.assert_success();
    let stdout = out.stdout_str();
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("profile=unset"), "{stdout}");
    let session_key = lines
        .next()
        .and_then(|l| l.strip_prefix("key="))
        .unwrap_or_else(|| panic!("no key line:\n{stdout}"))
        .to_string();
    assert!(
        !session_key.is_empty() && session_key != long_term_key,
        "the exported key is not a session key: {session_key:?}"
    );
    assert_eq!(lines.next(), Some("token=present"), "{stdout}");
    assert_eq!(lines.next(), Some("expiration=present"), "{stdout}");
    assert_caller_identity(&out, &session_key);
    assert!(
        out.stderr_str().contains("'X-Amz-Security-Token': b'"),
        "the AWS CLI did not send the session token:\n{}",
        debug_lines(&out, "Security-Token")
    );
    // The session was cached under the sandbox HOME, nowhere else.
    assert!(
        world.sb.home_path(".aws/aws-cred/cache/mfa").is_dir(),
        "no MFA cache in the sandbox HOME"
    );
    world.assert_stayed_on_loopback();
}

/// A failing aws-cred prints only `false` on stdout, so the eval around it sets nothing, the
/// shell keeps what it had, and the eval itself fails (`eval ""` would succeed: that is why the
/// statement is there).
#[test]
fn a_failing_aws_cred_inside_eval_runs_nothing() {
    let Some(bash) = require_program("bash") else {
        return;
    };
    let sb = Sandbox::new();
    sb.write_credentials(&format!(
        "[base]\naws_access_key_id = {BASE_KEY}\naws_secret_access_key = {BASE_SECRET}\n"
    ));

    let direct = sb.aws_cred(&["export", "--profile", "missing"]);
    direct.assert_code(2);
    direct.assert_failed_eval();
    assert!(
        direct.stderr_str().contains("missing"),
        "{}",
        direct.stderr_str()
    );

    let run_bash = |script: &str| {
        run(Command::new(&bash)
            .arg("-c")
            .arg(script)
            .arg("bash")
            .arg(BIN)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", sb.home())
            .env("AWS_CONFIG_FILE", sb.config_path())
            .env("AWS_SHARED_CREDENTIALS_FILE", sb.credentials_path())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("LANG", "C.UTF-8")
            .env("AWS_ACCESS_KEY_ID", "PREVIOUS-KEY")
            .env("AWS_SESSION_TOKEN", "PREVIOUS-TOKEN")
            .current_dir(sb.home())
            .stdin(Stdio::null()))
    };

    let out = run_bash(r#"eval "$("$1" export --profile missing)"; echo "rc=$?""#);
    out.assert_success();
    assert_eq!(
        out.stdout_str(),
        "rc=1\n",
        "the eval itself fails (issue 23, item 3)"
    );
    assert!(
        out.stderr_str().contains("missing"),
        "aws-cred's message did not reach the terminal:\n{}",
        out.stderr_str()
    );

    let out = run_bash(
        r#"code=$("$1" export --profile missing); rc=$?
printf 'rc=%s bytes=%s\n' "$rc" "${#code}"
eval "$code"; printf 'eval_rc=%s\n' "$?"
printf 'key=%s token=%s region=%s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SESSION_TOKEN" "${AWS_REGION-unset}""#,
    );
    out.assert_success();
    assert_eq!(
        out.stdout_str(),
        "rc=2 bytes=5\neval_rc=1\nkey=PREVIOUS-KEY token=PREVIOUS-TOKEN region=unset\n"
    );
}

/// The trap works: with the endpoint pointing off loopback, the AWS CLI's request reaches the
/// trap (as a proxy CONNECT) and fails. The host is under `.invalid` (RFC 2606), which never
/// resolves, so even a broken trap would send nothing anywhere.
#[test]
fn the_proxy_trap_catches_a_request_that_leaves_loopback() {
    let Some(tools) = tools() else { return };
    let world = World::new(&tools);
    world.sb.write_credentials(&format!(
        "[base]\naws_access_key_id = {BASE_KEY}\naws_secret_access_key = {BASE_SECRET}\n"
    ));
    let out = run(world
        .command(&tools.aws)
        .args(["sts", "get-caller-identity", "--profile", "base"])
        .env("AWS_ENDPOINT_URL", "https://sts.aws-cred-tests.invalid")
        .env("AWS_MAX_ATTEMPTS", "1"));
    assert!(!out.status.success(), "{}", out.stdout_str());
    let caught = world.trap.requests();
    assert!(
        caught
            .iter()
            .any(|r| r.target.contains("sts.aws-cred-tests.invalid")),
        "the trap saw {:?}; the AWS CLI said:\n{}",
        caught.iter().map(|r| &r.target).collect::<Vec<_>>(),
        out.stderr_str()
    );
}
