//! The credential server (`serve`, `exec --server`) against real clients: botocore's container
//! provider, the AWS CLI v1, the Rust SDK's default chain; with a loopback STS that issues
//! six-second role sessions, so a client crosses three expiries in under twenty seconds. Also
//! the security points, the MFA-expired answer and the signals and exit codes of exec --server.

use crate::fakes::sts as fake_sts;
use crate::support;

use fake_sts::{CODE, FakeSts, StsRules};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{OutputExt, Sandbox, http_request, read_response, require_venv_tool, run};

const BOB_KEY: &str = "AKIABOB0000000000001";
const BOB_SECRET: &str = "bobsecret";
const BOB_SERIAL: &str = "arn:aws:iam::123456789012:mfa/bob";
/// Role sessions from the fake last this long: the server refreshes them every 4–5 s.
const ROLE_LIFETIME: Duration = Duration::from_secs(6);
/// How long the refresh clients run: at least four role sessions, three expiries crossed.
const CLIENT_SECONDS: u64 = 18;

fn rules() -> StsRules {
    let mut users = HashMap::new();
    users.insert(
        BOB_KEY.to_string(),
        ("bob".to_string(), BOB_SERIAL.to_string()),
    );
    StsRules {
        users,
        role_lifetime: Some(ROLE_LIFETIME),
        ..Default::default()
    }
}

/// bob's keys in [base]; `admin` assumes a role with them, `mfa-admin` needs his MFA session.
fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.write_credentials(&format!(
        "[base]\naws_access_key_id = {BOB_KEY}\naws_secret_access_key = {BOB_SECRET}\n"
    ));
    sb.write_config(&format!(
        "[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/Admin\nsource_profile = base\nregion = us-east-1\n\n\
         [profile mfa-admin]\nrole_arn = arn:aws:iam::123456789012:role/Admin\nsource_profile = base\nmfa_serial = {BOB_SERIAL}\nregion = us-east-1\n\n\
         [profile keys]\naws_access_key_id = {BOB_KEY}\naws_secret_access_key = {BOB_SECRET}\nregion = us-east-1\n"
    ));
    sb
}

fn cmd(sb: &Sandbox, sts: &FakeSts) -> Command {
    let mut cmd = sb.cmd();
    cmd.env("AWS_ENDPOINT_URL_STS", sts.url())
        .env("AWS_ENDPOINT_URL_IAM", sts.url());
    cmd
}

/// A running `aws-cred serve --format json`, its variables, and its stderr so far.
struct Served {
    child: Child,
    variables: BTreeMap<String, String>,
    unset: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

fn serve(sb: &Sandbox, sts: &FakeSts, args: &[&str]) -> Served {
    let mut child = cmd(sb, sts)
        .args(["serve", "--format", "json"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start aws-cred serve");
    let stderr = Arc::new(Mutex::new(String::new()));
    {
        let (mut pipe, stderr) = (child.stderr.take().unwrap(), stderr.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                stderr
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
    }
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            text.push_str(&line);
            text.push('\n');
            if line == "}" {
                break;
            }
        }
        let _ = tx.send(text);
    });
    let text = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
    let doc: serde_json::Value = match serde_json::from_str(&text) {
        Ok(doc) => doc,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(100));
            panic!(
                "serve printed no variables: {text:?}; stderr: {}",
                stderr.lock().unwrap()
            );
        }
    };
    assert_eq!(doc["schema_version"], 1);
    let variables = doc["variables"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    let unset = doc["unset"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    Served {
        child,
        variables,
        unset,
        stderr,
    }
}

impl Served {
    fn url(&self) -> &str {
        &self.variables["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
    }
    fn token(&self) -> &str {
        &self.variables["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
    }
    fn port(&self) -> u16 {
        let rest = self.url().strip_prefix("http://127.0.0.1:").unwrap();
        rest.trim_end_matches('/').parse().unwrap()
    }
    fn get(&self, authorization: Option<&str>) -> support::Response {
        let headers: Vec<(&str, &str)> = authorization
            .map(|a| vec![("authorization", a)])
            .unwrap_or_default();
        http_request("GET", self.url(), &headers, b"").expect("GET the endpoint")
    }
    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
    fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
    /// SIGTERM, then the exit status and stderr.
    fn stop(mut self) -> (std::process::ExitStatus, String) {
        signal(self.child.id(), libc::SIGTERM);
        let status = wait_bounded(&mut self.child, Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(100));
        (status, self.stderr())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(pid: u32, number: libc::c_int) {
    // SAFETY: kill(2) on a child this test spawned and has not reaped.
    unsafe {
        libc::kill(pid as libc::pid_t, number);
    }
}

fn wait_bounded(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the process did not end within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One request with a Host of our choosing (http_request always sends the URL's).
fn get_with_host(port: u16, host: &str, token: &str) -> support::Response {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET / HTTP/1.1\r\nhost: {host}\r\nauthorization: {token}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    read_response(&mut BufReader::new(&stream)).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The endpoint and its format
// ---------------------------------------------------------------------------------------------

#[test]
fn serve_prints_the_variables_and_answers_in_the_container_format() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let served = serve(&sb, &sts, &["--profile", "admin"]);
    assert!(
        served.url().starts_with("http://127.0.0.1:") && served.url().ends_with('/'),
        "{}",
        served.url()
    );
    let token = served.token().to_string();
    assert!(
        token.len() >= 32 && token.bytes().all(|c| c.is_ascii_hexdigit()),
        "at least 128 bits"
    );
    assert_eq!(
        served.variables.get("AWS_REGION").map(String::as_str),
        Some("us-east-1")
    );
    for name in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
    ] {
        assert!(served.unset.iter().any(|u| u == name), "{name} is cleared");
    }

    let resp = served.get(Some(&token));
    assert_eq!(resp.status, 200, "{}", resp.body_str());
    let doc: serde_json::Value = serde_json::from_str(&resp.body_str()).unwrap();
    assert!(doc["AccessKeyId"].as_str().unwrap().starts_with("ASIAROLE"));
    assert!(
        doc["SecretAccessKey"]
            .as_str()
            .unwrap()
            .starts_with("rolesecret")
    );
    assert!(doc["Token"].as_str().unwrap().starts_with("roletoken"));
    let expiration = doc["Expiration"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(expiration).is_ok(),
        "{expiration}"
    );
    assert_eq!(resp.header("content-type"), Some("application/json"));
    assert!(
        resp.headers
            .iter()
            .all(|(name, _)| !name.to_ascii_lowercase().starts_with("access-control-")),
        "no CORS headers: {:?}",
        resp.headers
    );
    // Asked again within the session's life: the same credentials, no new AssumeRole.
    let again: serde_json::Value =
        serde_json::from_str(&served.get(Some(&token)).body_str()).unwrap();
    assert_eq!(again["AccessKeyId"], doc["AccessKeyId"]);
    assert_eq!(sts.count("AssumeRole"), 1);

    // A second server has its own token.
    let other = serve(&sb, &sts, &["--profile", "admin"]);
    assert_ne!(other.token(), token);
    assert_eq!(other.get(Some(&token)).status, 403);
    drop(other);

    let secret = doc["SecretAccessKey"].as_str().unwrap().to_string();
    let (status, stderr) = served.stop();
    assert!(
        status.success(),
        "SIGTERM ends serve cleanly: {status:?}\n{stderr}"
    );
    assert!(!stderr.contains(&token), "the token never reaches stderr");
    assert!(!stderr.contains(&secret));
}

#[test]
fn verbose_access_log_shows_path_status_and_expiry_but_no_secrets() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let served = serve(&sb, &sts, &["--profile", "admin", "--verbose"]);
    let token = served.token().to_string();
    let doc: serde_json::Value =
        serde_json::from_str(&served.get(Some(&token)).body_str()).unwrap();
    assert_eq!(served.get(Some("wrong")).status, 403);
    let (_, stderr) = served.stop();
    let expiration = doc["Expiration"].as_str().unwrap();
    assert!(
        stderr.contains(&format!("GET / 200 expires {expiration}")),
        "{stderr}"
    );
    assert!(stderr.contains("GET / 403"), "{stderr}");
    for secret in [
        token.as_str(),
        doc["SecretAccessKey"].as_str().unwrap(),
        doc["Token"].as_str().unwrap(),
        doc["AccessKeyId"].as_str().unwrap(),
        BOB_SECRET,
    ] {
        assert!(!stderr.contains(secret), "{secret} leaked: {stderr}");
    }
}

#[test]
fn long_term_keys_are_refused_at_start() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let out = run(cmd(&sb, &sts).args(["serve", "--profile", "keys"]));
    out.assert_code(2);
    assert!(out.stderr_str().contains("temporary credentials only"));
    assert!(out.stdout_str().is_empty());
    assert!(!out.stderr_str().contains(BOB_SECRET));
}

// ---------------------------------------------------------------------------------------------
// Security
// ---------------------------------------------------------------------------------------------

#[test]
fn no_token_or_a_wrong_one_gets_403_without_detail() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let served = serve(&sb, &sts, &["--profile", "admin"]);
    let token = served.token().to_string();
    let mut flipped = token.clone().into_bytes();
    flipped[10] = if flipped[10] == b'a' { b'b' } else { b'a' };
    let flipped = String::from_utf8(flipped).unwrap();
    let answers: Vec<support::Response> = [
        None,
        Some(""),
        Some("wrong"),
        Some(flipped.as_str()),
        Some(&token[..token.len() - 1]),
        Some(&format!("{token}0")),
        Some(&format!("Bearer {token}")),
    ]
    .into_iter()
    .map(|auth| served.get(auth))
    .collect();
    for resp in &answers {
        assert_eq!(resp.status, 403);
        assert_eq!(resp.body, answers[0].body, "one body for every reason");
        assert!(!resp.body_str().to_lowercase().contains("token"));
    }
    // A browser's preflight gets nothing either.
    let preflight = http_request(
        "OPTIONS",
        served.url(),
        &[
            ("origin", "https://evil.example"),
            ("access-control-request-method", "GET"),
        ],
        b"",
    )
    .unwrap();
    assert_eq!(preflight.status, 403);
    assert!(
        preflight
            .headers
            .iter()
            .all(|(n, _)| !n.to_ascii_lowercase().starts_with("access-control-"))
    );
    assert_eq!(sts.count("AssumeRole"), 1, "only the start-up check");
    assert_eq!(served.get(Some(&token)).status, 200);
}

#[test]
fn a_foreign_host_is_refused_even_with_the_token() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let served = serve(&sb, &sts, &["--profile", "admin"]);
    let (port, token) = (served.port(), served.token().to_string());
    for host in [
        format!("evil.example:{port}"),
        format!("127.0.0.1.nip.io:{port}"),
        format!("127.0.0.1:{}", port.wrapping_add(1)),
        "127.0.0.1".to_string(),
    ] {
        let resp = get_with_host(port, &host, &token);
        assert_eq!(resp.status, 403, "Host {host}");
        assert!(!resp.body_str().contains("AccessKeyId"));
    }
    for host in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
        assert_eq!(
            get_with_host(port, &host, &token).status,
            200,
            "Host {host}"
        );
    }
}

/// Listening sockets on `port` in /proc/net/tcp{,6}: their local addresses (hex, as the kernel
/// writes them).
fn listening_addresses(port: u16) -> Vec<String> {
    let mut found = Vec::new();
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state)) = (fields.get(1), fields.get(3)) else {
                continue;
            };
            if *state == "0A" && local.ends_with(&format!(":{port:04X}")) {
                found.push(local.rsplit_once(':').unwrap().0.to_string());
            }
        }
    }
    found
}

#[test]
fn it_binds_loopback_only_unless_listen_is_given_with_a_warning() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let served = serve(&sb, &sts, &["--profile", "admin"]);
    assert_eq!(
        listening_addresses(served.port()),
        vec!["0100007F".to_string()],
        "127.0.0.1 only"
    );
    assert!(!served.stderr().contains("WARNING"));
    drop(served);

    // --port takes a port, not an address.
    let out = run(cmd(&sb, &sts).args(["serve", "--profile", "admin", "--port", "0.0.0.0:9"]));
    out.assert_code(2);

    // --listen with a non-loopback address warns loudly before binding. 192.0.2.1 (TEST-NET-1)
    // is not on this machine, so the bind fails and nothing listens beyond loopback.
    let out = run(cmd(&sb, &sts).args(["serve", "--profile", "admin", "--listen", "192.0.2.1:0"]));
    let stderr = out.stderr_str();
    assert!(
        stderr.contains("WARNING: --listen 192.0.2.1:0") && stderr.contains("token"),
        "{stderr}"
    );
    assert!(stderr.contains("cannot listen on 192.0.2.1:0"), "{stderr}");
    assert!(
        out.stdout_str().is_empty(),
        "no variables for a server that did not start"
    );
    assert!(!out.status.success());

    // A loopback --listen address is no exposure: no warning.
    let served = serve(
        &sb,
        &sts,
        &["--profile", "admin", "--listen", "127.0.0.1:0"],
    );
    assert!(!served.stderr().contains("WARNING"));
    assert_eq!(served.get(Some(served.token())).status, 200);

    // exec: --listen only with --server.
    let out = run(cmd(&sb, &sts).args(["exec", "--listen", "127.0.0.1:0", "--", "true"]));
    out.assert_code(2);
}

/// Issue 22, item 4: a slowloris (600 silent sockets) does not keep a client with a full
/// request waiting, and cannot keep more than 256 silent connections from one address: once
/// that many have been silent for 200 ms, each new connection closes the oldest of them
/// (before: all stayed open until the 10 s header timeout); the rest close within the 2 s
/// header timeout.
#[test]
fn silent_connections_do_not_delay_a_real_client() {
    // SAFETY: getrlimit with a valid pointer.
    let files = unsafe {
        let mut limit = std::mem::zeroed::<libc::rlimit>();
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur
    };
    if files < 1_000 {
        assert!(!support::in_ci(), "CI needs 1,000 open files for this test");
        eprintln!("skipped: the open-file limit ({files}) is below 1,000");
        return;
    }
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let served = serve(&sb, &sts, &["--profile", "admin"]);
    let port = served.port();
    let connect = || TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut silent: Vec<TcpStream> = (0..300).map(|_| connect()).collect();
    std::thread::sleep(Duration::from_millis(400));
    silent.extend((0..300).map(|_| connect()));
    let started = Instant::now();
    let answer = get_with_host(port, &format!("127.0.0.1:{port}"), served.token());
    let waited = started.elapsed();
    assert_eq!(answer.status, 200, "{}", answer.body_str());
    assert!(
        waited < Duration::from_secs(2),
        "the real client waited {waited:?} behind the silent ones"
    );
    // The oldest silent sockets were closed to make room (end of stream, or a reset); the
    // newest are still open.
    std::thread::sleep(Duration::from_millis(200));
    let open = |socket: &TcpStream| {
        socket.set_nonblocking(true).unwrap();
        let mut byte = [0u8; 1];
        matches!(socket.peek(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    };
    let closed_early = silent[..40].iter().filter(|s| !open(s)).count();
    assert_eq!(closed_early, 40, "the oldest silent sockets are still open");
    assert!(
        open(&silent[599]),
        "the newest silent socket was closed at once"
    );
    let (status, stderr) = served.stop();
    assert!(status.success(), "{stderr}");
}

/// Issue 22, item 3: `exec --server` with a `credential_process` source, at a terminal. The
/// check at the start may use the terminal (a prompt there reaches the person); the refreshes
/// while the command runs do not: the process runs in a session of its own without a
/// controlling terminal, so it can neither take the terminal's foreground from the command
/// (before: it did, and a job-control shell stopped the command) nor read it.
#[test]
fn exec_server_refreshes_a_credential_process_without_the_terminal() {
    use std::os::unix::fs::PermissionsExt;
    let Some(script) = support::require_program("script") else {
        return;
    };
    let Some(python) = support::require_venv_tool("python") else {
        return;
    };
    let sb = Sandbox::new();
    let log = sb.path("process.log");
    // Credentials for 4 s: the server refreshes them after 3 s.
    let process = sb.write(
        "bin/creds",
        format!(
            "#!/bin/sh\nif (exec 3</dev/tty) 2>/dev/null; then echo tty >> '{log}'; else echo none >> '{log}'; fi\nprintf '{{\"Version\": 1, \"AccessKeyId\": \"ASIAPROC\", \"SecretAccessKey\": \"s\", \"SessionToken\": \"t\", \"Expiration\": \"%s\"}}' \"$(date -u -d '+4 seconds' +%Y-%m-%dT%H:%M:%SZ)\"\n",
            log = log.display()
        ),
    );
    std::fs::set_permissions(&process, std::fs::Permissions::from_mode(0o755)).unwrap();
    sb.write_config(&format!(
        "[profile proc]\ncredential_process = {}\nregion = us-east-1\n",
        process.display()
    ));
    // The command asks the endpoint, waits past the refresh point, and asks again.
    let client = sb.write(
        "bin/client.py",
        concat!(
            "import os, time, urllib.request\n",
            "def ask():\n",
            "    request = urllib.request.Request(os.environ['AWS_CONTAINER_CREDENTIALS_FULL_URI'], headers={'Authorization': os.environ['AWS_CONTAINER_AUTHORIZATION_TOKEN']})\n",
            "    return urllib.request.urlopen(request, timeout=20).status\n",
            "print('first', ask(), flush=True)\n",
            "time.sleep(3.5)\n",
            "print('second', ask(), flush=True)\n",
        ),
    );
    let bin = env!("CARGO_BIN_EXE_aws-cred");
    let line = format!(
        "'{bin}' exec --server --profile proc -- '{}' '{}'",
        python.display(),
        client.display()
    );
    let out = support::run(
        sb.program(&script)
            .args(["-qefc", &line, "/dev/null"])
            .env("AWS_EC2_METADATA_DISABLED", "true"),
    );
    let shown = out.stdout_str();
    assert!(
        out.status.success() && shown.contains("first 200") && shown.contains("second 200"),
        "{shown}\n{}",
        out.stderr_str()
    );
    let runs = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        runs, "tty\nnone\n",
        "the start may use the terminal, the refresh not"
    );
}

// ---------------------------------------------------------------------------------------------
// A person needed: the MFA session expired
// ---------------------------------------------------------------------------------------------

#[test]
fn without_an_mfa_session_the_endpoint_names_aws_cred_mfa_and_recovers_after_it() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let mut served = serve(&sb, &sts, &["--profile", "mfa-admin"]);
    assert!(
        served.stderr().contains("serving anyway"),
        "{}",
        served.stderr()
    );
    let token = served.token().to_string();
    for _ in 0..2 {
        let resp = served.get(Some(&token));
        assert_eq!(resp.status, 503, "{}", resp.body_str());
        let doc: serde_json::Value = serde_json::from_str(&resp.body_str()).unwrap();
        assert_eq!(doc["code"], "CredentialsExpired");
        assert!(
            doc["message"]
                .as_str()
                .unwrap()
                .contains("aws-cred mfa CODE --profile mfa-admin"),
            "{doc}"
        );
        assert!(served.running(), "the server keeps running");
    }
    assert_eq!(sts.count("AssumeRole"), 0);

    // The person runs aws-cred mfa in another terminal; the next request succeeds.
    run(cmd(&sb, &sts).args(["mfa", CODE, "--profile", "mfa-admin"])).assert_success();
    let resp = served.get(Some(&token));
    assert_eq!(resp.status, 200, "{}", resp.body_str());
    let doc: serde_json::Value = serde_json::from_str(&resp.body_str()).unwrap();
    assert!(doc["AccessKeyId"].as_str().unwrap().starts_with("ASIAROLE"));
    // The role was assumed with the MFA session, not bob's keys.
    let assumed = sts.requests_for("AssumeRole");
    assert!(
        FakeSts::signer_of(assumed.last().unwrap()).starts_with("ASIASESSION"),
        "signed with the MFA session"
    );
    assert!(!served.stderr().contains(&token));
}

#[test]
fn botocore_surfaces_the_mfa_error_with_the_fix() {
    let Some(python) = require_venv_tool("python") else {
        return;
    };
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let script = sb.write(
        "one_call.py",
        "import botocore.session\n\
         s = botocore.session.get_session()\n\
         try:\n    s.create_client('sts').get_caller_identity()\nexcept Exception as e:\n    print('ERROR', e)\n",
    );
    let out = run(cmd(&sb, &sts)
        .args(["exec", "--server", "--profile", "mfa-admin", "--"])
        .arg(&python)
        .arg(&script));
    out.assert_success();
    let stdout = out.stdout_str();
    assert!(stdout.starts_with("ERROR"), "{stdout}");
    assert!(
        stdout.contains("aws-cred mfa CODE --profile mfa-admin"),
        "botocore shows the answer's message: {stdout}"
    );
}

// ---------------------------------------------------------------------------------------------
// Real clients across expiries
// ---------------------------------------------------------------------------------------------

#[test]
fn botocore_under_exec_server_keeps_working_across_three_expiries() {
    let Some(python) = require_venv_tool("python") else {
        return;
    };
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let script = sb.write("long_job.py", fake_sts::BOTOCORE_STS_CLIENT);
    let out = support::run_with_timeout(
        cmd(&sb, &sts)
            // Stale keys in the shell: exec --server must not hand them on.
            .env("AWS_ACCESS_KEY_ID", "AKIASTALE")
            .env("AWS_SECRET_ACCESS_KEY", "stale")
            .args(["exec", "--server", "--profile", "admin", "--"])
            .arg(&python)
            .arg(&script)
            .arg(CLIENT_SECONDS.to_string()),
        Duration::from_secs(CLIENT_SECONDS + 40),
    );
    out.assert_success();
    let summary: serde_json::Value = serde_json::from_str(out.stdout_str().trim())
        .unwrap_or_else(|_| panic!("{}\n{}", out.stdout_str(), out.stderr_str()));
    sts.assert_refreshed_across_expiries(&summary, (0, 0));
    assert_eq!(sts.count("GetSessionToken"), 0);
}

/// The case: a role profile with mfa_serial. One `aws-cred mfa CODE` in the morning;
/// every refresh re-assumes the role with the cached MFA session, never asking for a code.
#[test]
fn botocore_under_exec_server_with_an_mfa_role_profile_reassumes_from_the_mfa_session() {
    let Some(python) = require_venv_tool("python") else {
        return;
    };
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    run(cmd(&sb, &sts).args(["mfa", CODE, "--profile", "mfa-admin"])).assert_success();
    let before = (sts.count("AssumeRole"), sts.count("GetCallerIdentity"));
    let script = sb.write("long_job.py", fake_sts::BOTOCORE_STS_CLIENT);
    let out = support::run_with_timeout(
        cmd(&sb, &sts)
            .args(["exec", "--server", "--profile", "mfa-admin", "--"])
            .arg(&python)
            .arg(&script)
            .arg(CLIENT_SECONDS.to_string()),
        Duration::from_secs(CLIENT_SECONDS + 40),
    );
    out.assert_success();
    let summary: serde_json::Value = serde_json::from_str(out.stdout_str().trim())
        .unwrap_or_else(|_| panic!("{}\n{}", out.stdout_str(), out.stderr_str()));
    sts.assert_refreshed_across_expiries(&summary, before);
    assert_eq!(
        sts.count("GetSessionToken"),
        1,
        "the code was asked for once"
    );
    for req in sts.requests_for("AssumeRole") {
        assert!(FakeSts::signer_of(&req).starts_with("ASIASESSION"));
    }
}

#[test]
fn aws_cli_v1_runs_as_the_command_of_exec_server() {
    let Some(aws) = require_venv_tool("aws") else {
        return;
    };
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let out = run(cmd(&sb, &sts)
        .args(["exec", "--server", "--profile", "admin", "--"])
        .arg(&aws)
        .args(["sts", "get-caller-identity", "--output", "json"]));
    out.assert_success();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout_str()).unwrap();
    assert_eq!(
        doc["Arn"].as_str().unwrap().rsplit_once('/').unwrap().0,
        "arn:aws:sts::123456789012:assumed-role/Admin"
    );
    let keys = sts.keys_used_after(0);
    assert_eq!(keys.len(), 1);
    assert!(
        keys[0].starts_with("ASIAROLE"),
        "the CLI used the served role session"
    );
}

/// Runs only as the child of [`rust_sdk_default_chain_keeps_working_across_three_expiries`]
/// (the SDK's default chain reads the process environment, which a test cannot set safely).
#[test]
fn rust_sdk_client_child() {
    let Ok(seconds) = std::env::var("AWS_CRED_TEST_RUST_CLIENT_SECONDS") else {
        return;
    };
    let seconds: u64 = seconds.parse().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let summary = runtime.block_on(async {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let client = aws_sdk_sts::Client::new(&config);
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let (mut calls, mut errors) = (0u32, Vec::<String>::new());
        while Instant::now() < deadline {
            match client.get_caller_identity().send().await {
                Ok(_) => calls += 1,
                Err(err) => errors.push(format!(
                    "{}",
                    aws_smithy_types::error::display::DisplayErrorContext(&err)
                )),
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        serde_json::json!({"calls": calls, "errors": errors})
    });
    println!("\nRUST_CLIENT {summary}");
}

#[test]
fn rust_sdk_default_chain_keeps_working_across_three_expiries() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let served = serve(&sb, &sts, &["--profile", "admin"]);
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "server::rust_sdk_client_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_clear()
        .env("HOME", sb.home())
        .env("AWS_CONFIG_FILE", sb.config_path())
        .env("AWS_SHARED_CREDENTIALS_FILE", sb.credentials_path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL_STS", sts.url())
        .env(
            "AWS_CRED_TEST_RUST_CLIENT_SECONDS",
            CLIENT_SECONDS.to_string(),
        );
    for (name, value) in &served.variables {
        child.env(name, value);
    }
    let out = support::run_with_timeout(&mut child, Duration::from_secs(CLIENT_SECONDS + 40));
    out.assert_success();
    let stdout = out.stdout_str();
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("RUST_CLIENT ").map(|(_, json)| json))
        .unwrap_or_else(|| panic!("no summary: {stdout}"));
    let summary: serde_json::Value = serde_json::from_str(line).unwrap();
    sts.assert_refreshed_across_expiries(&summary, (0, 0));
    let (status, _) = served.stop();
    assert!(status.success());
}

// ---------------------------------------------------------------------------------------------
// exec --server: environment, exit status, signals
// ---------------------------------------------------------------------------------------------

#[test]
fn exec_server_gives_the_command_the_endpoint_and_no_keys() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let out = run(cmd(&sb, &sts)
        .env("AWS_ACCESS_KEY_ID", "AKIASTALE")
        .env("AWS_SECRET_ACCESS_KEY", "stale")
        .env("AWS_SESSION_TOKEN", "stale")
        .env("AWS_SECURITY_TOKEN", "stale")
        .env("AWS_CREDENTIAL_EXPIRATION", "2020-01-01T00:00:00Z")
        .env("AWS_PROFILE", "admin")
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/elsewhere")
        .env("KEEP_ME", "kept")
        .args(["exec", "--server", "--", "env"]));
    out.assert_success();
    let env: HashMap<String, String> = out
        .stdout_str()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let url = &env["AWS_CONTAINER_CREDENTIALS_FULL_URI"];
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_eq!(env["AWS_CONTAINER_AUTHORIZATION_TOKEN"].len(), 64);
    assert_eq!(env["AWS_REGION"], "us-east-1");
    assert_eq!(env["AWS_DEFAULT_REGION"], "us-east-1");
    assert_eq!(env["KEEP_ME"], "kept");
    let removed: HashSet<&str> = [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_CREDENTIAL_EXPIRATION",
        "AWS_PROFILE",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    ]
    .into();
    for name in removed {
        assert!(!env.contains_key(name), "{name} must be removed");
    }
    assert!(
        !out.stderr_str()
            .contains(&env["AWS_CONTAINER_AUTHORIZATION_TOKEN"])
    );
    // Serving stopped with the command.
    let port: u16 = url
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn exec_server_exits_with_the_commands_status() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let exec = |script: &str| {
        run(cmd(&sb, &sts).args([
            "exec",
            "--server",
            "--profile",
            "admin",
            "--",
            "sh",
            "-c",
            script,
        ]))
    };
    exec("exit 0").assert_success();
    let out = exec("exit 7");
    out.assert_code(7);
    assert!(
        out.stderr_str().is_empty(),
        "the status passes silently: {}",
        out.stderr_str()
    );
    // Killed by a signal: 128 + the signal, as shells report it.
    exec("kill -KILL $$").assert_code(137);
    exec("kill -TERM $$").assert_code(143);
    let out = run(cmd(&sb, &sts).args([
        "exec",
        "--server",
        "--profile",
        "admin",
        "--",
        "/nonexistent/command",
    ]));
    out.assert_code(127);
}

#[test]
fn exec_server_passes_sigint_sigterm_and_sighup_to_the_command() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    for (number, name, code) in [
        (libc::SIGINT, "INT", 43),
        (libc::SIGTERM, "TERM", 42),
        (libc::SIGHUP, "HUP", 44),
    ] {
        let script = format!(
            "trap 'exit {code}' {name}; echo ready; i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; exit 99"
        );
        let mut child = cmd(&sb, &sts)
            .args([
                "exec",
                "--server",
                "--profile",
                "admin",
                "--",
                "sh",
                "-c",
                &script,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "ready\n");
        signal(child.id(), number);
        let status = wait_bounded(&mut child, Duration::from_secs(20));
        assert_eq!(
            status.code(),
            Some(code),
            "SIG{name} reached the command and aws-cred kept running until it ended"
        );
    }
}

#[test]
fn a_default_profile_with_keys_is_warned_about() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let text = sb.read("home/.aws/credentials");
    sb.write_credentials(&format!(
        "{text}\n[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = x\n"
    ));
    let out = run(cmd(&sb, &sts).args(["exec", "--server", "--profile", "admin", "--", "true"]));
    out.assert_success();
    assert!(
        out.stderr_str()
            .contains("the [default] profile has aws_access_key_id"),
        "{}",
        out.stderr_str()
    );
    assert!(!out.stderr_str().contains("AKIADEFAULT"));
}

#[test]
fn a_failed_refresh_serves_the_still_valid_credentials_and_never_expired_ones() {
    let sb = sandbox();
    let lifetime = Duration::from_secs(12);
    let rules = StsRules {
        role_lifetime: Some(lifetime),
        ..rules()
    };
    let deny = rules.deny_assume_role.clone();
    let sts = FakeSts::start(rules);
    let served = serve(&sb, &sts, &["--profile", "admin"]);
    let started = Instant::now();
    let token = served.token().to_string();
    let first: serde_json::Value =
        serde_json::from_str(&served.get(Some(&token)).body_str()).unwrap();
    let expiry = chrono::DateTime::parse_from_rfc3339(first["Expiration"].as_str().unwrap())
        .unwrap()
        .timestamp();
    deny.store(true, std::sync::atomic::Ordering::SeqCst);
    // In the last quarter of the session (refresh due), the refresh fails: the held
    // credentials are still valid, so they are served.
    std::thread::sleep((started + lifetime * 4 / 5).saturating_duration_since(Instant::now()));
    for _ in 0..3 {
        let resp = served.get(Some(&token));
        assert_eq!(resp.status, 200, "{}", resp.body_str());
        let doc: serde_json::Value = serde_json::from_str(&resp.body_str()).unwrap();
        assert_eq!(doc["AccessKeyId"], first["AccessKeyId"]);
    }
    let tries = sts.count("AssumeRole");
    assert_eq!(
        tries, 2,
        "one failed refresh, then a pause before the next try"
    );
    // Past their expiry: an error, never the expired credentials.
    while chrono::Utc::now().timestamp() <= expiry {
        std::thread::sleep(Duration::from_millis(100));
    }
    let resp = served.get(Some(&token));
    assert_eq!(resp.status, 502, "{}", resp.body_str());
    assert!(!resp.body_str().contains("AccessKeyId"));
    // The source recovers: after the pause that rests a failing source (RETRY_AFTER, 5 s),
    // the next request gets new credentials.
    deny.store(false, std::sync::atomic::Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(5));
    let resp = served.get(Some(&token));
    assert_eq!(resp.status, 200, "{}", resp.body_str());
    let doc: serde_json::Value = serde_json::from_str(&resp.body_str()).unwrap();
    assert_ne!(doc["AccessKeyId"], first["AccessKeyId"]);
}

/// aws-cred killed outright (no signal to pass on): the command is told with SIGTERM rather
/// than left running without its credential server (Linux: PR_SET_PDEATHSIG).
#[cfg(target_os = "linux")]
#[test]
fn the_command_gets_sigterm_when_aws_cred_is_killed() {
    let sb = sandbox();
    let sts = FakeSts::start(rules());
    let marker = sb.path("got-term");
    let script = format!(
        "trap 'echo term > {}; exit 0' TERM; echo ready; i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done",
        marker.display()
    );
    let mut child = cmd(&sb, &sts)
        .args([
            "exec",
            "--server",
            "--profile",
            "admin",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "ready\n");
    signal(child.id(), libc::SIGKILL);
    let _ = wait_bounded(&mut child, Duration::from_secs(10));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !marker.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(marker.exists(), "the command got SIGTERM");
}

/// `serve --profile admin` over role sessions of `lifetime`, with its first answer taken: the
/// sandbox and STS (kept alive), the server, its token, the expiry served (unix seconds), and
/// the switches that make STS refuse AssumeRole and answer it slowly.
struct FailingSource {
    _sb: Sandbox,
    sts: FakeSts,
    served: Served,
    token: String,
    expiry: i64,
    deny: Arc<std::sync::atomic::AtomicBool>,
    delay: Arc<std::sync::atomic::AtomicU64>,
}

fn serve_with_a_source_that_can_fail(lifetime: Duration) -> FailingSource {
    let sb = sandbox();
    let rules = StsRules {
        role_lifetime: Some(lifetime),
        ..rules()
    };
    let (deny, delay) = (
        rules.deny_assume_role.clone(),
        rules.assume_role_delay_ms.clone(),
    );
    let sts = FakeSts::start(rules);
    let served = serve(&sb, &sts, &["--profile", "admin"]);
    let token = served.token().to_string();
    let first = served.get(Some(&token));
    assert_eq!(first.status, 200, "{}", first.body_str());
    let doc: serde_json::Value = serde_json::from_str(&first.body_str()).unwrap();
    let expiry = chrono::DateTime::parse_from_rfc3339(doc["Expiration"].as_str().unwrap())
        .unwrap()
        .timestamp();
    FailingSource {
        _sb: sb,
        sts,
        served,
        token,
        expiry,
        deny,
        delay,
    }
}

/// Issue 22, item 1: credentials that expire while a refresh is running are not served when
/// that refresh fails (the request that ran it once got them, with 200).
#[test]
fn credentials_that_expire_during_a_failed_refresh_are_not_served() {
    let FailingSource {
        _sb,
        sts: _sts,
        served,
        token,
        expiry,
        deny,
        delay,
    } = serve_with_a_source_that_can_fail(Duration::from_secs(8));
    // Refresh due (the last quarter), a slow STS that then refuses: the refresh ends after
    // the held credentials did.
    deny.store(true, std::sync::atomic::Ordering::SeqCst);
    delay.store(4000, std::sync::atomic::Ordering::SeqCst);
    while chrono::Utc::now().timestamp() < expiry - 1 {
        std::thread::sleep(Duration::from_millis(50));
    }
    let resp = served.get(Some(&token));
    assert!(
        chrono::Utc::now().timestamp() > expiry,
        "the refresh outlasted the credentials"
    );
    assert_ne!(
        resp.status,
        200,
        "expired credentials served: {}",
        resp.body_str()
    );
    assert!(!resp.body_str().contains("AccessKeyId"));
}

/// Issue 22, item 2: clients waiting for one refresh share its failure (all answered when it
/// ends, one upstream call), and for a few seconds more nobody calls upstream again.
#[test]
fn clients_waiting_for_a_failed_refresh_share_its_answer_and_the_source_is_rested() {
    let FailingSource {
        _sb,
        sts,
        served,
        token,
        expiry,
        deny,
        delay,
    } = serve_with_a_source_that_can_fail(Duration::from_secs(6));
    deny.store(true, std::sync::atomic::Ordering::SeqCst);
    delay.store(2000, std::sync::atomic::Ordering::SeqCst);
    while chrono::Utc::now().timestamp() <= expiry {
        std::thread::sleep(Duration::from_millis(50));
    }
    let before = sts.count("AssumeRole");
    let url = served.url().to_string();
    let started = Instant::now();
    let clients: Vec<_> = (0..6)
        .map(|_| {
            let (url, token) = (url.clone(), token.clone());
            std::thread::spawn(move || {
                let resp = http_request("GET", &url, &[("authorization", &token)], b"").unwrap();
                (resp.status, started.elapsed())
            })
        })
        .collect();
    for client in clients {
        let (status, took) = client.join().unwrap();
        assert_eq!(status, 502);
        assert!(
            took < Duration::from_millis(3500),
            "answered after {took:?}: waiting clients were not given the one refresh's answer"
        );
    }
    assert_eq!(sts.count("AssumeRole"), before + 1, "one upstream call");
    // Right after: the same answer, no new call.
    let resp = served.get(Some(&token));
    assert_eq!(resp.status, 502);
    assert_eq!(sts.count("AssumeRole"), before + 1, "the source is rested");
    // After the pause, with the source back: new credentials.
    deny.store(false, std::sync::atomic::Ordering::SeqCst);
    delay.store(0, std::sync::atomic::Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(5));
    let resp = served.get(Some(&token));
    assert_eq!(resp.status, 200, "{}", resp.body_str());
}
