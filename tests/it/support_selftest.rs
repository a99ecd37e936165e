//! Tests of the shared test helpers in `tests/it/support` (FakeHttp, Sandbox, run): a broken helper
//! would make every other test's failure misleading.

use crate::support;

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::{FakeHttp, OutputExt, Response, Sandbox, http_request, read_response};

fn connect(fake: &FakeHttp) -> TcpStream {
    let stream = TcpStream::connect(fake.addr()).expect("connect to FakeHttp");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
}

#[test]
fn fake_http_round_trip_records_the_request() {
    let fake = FakeHttp::new(|req| {
        if req.form_param("Action").as_deref() == Some("GetSessionToken") {
            Response::xml(
                403,
                "<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>",
            )
        } else {
            Response::json(200, "{}")
        }
    });
    let resp = http_request(
        "POST",
        &format!("{}/some/path?role_name=Admin%20Role&account_id=123&flag", fake.url()),
        &[("Content-Type", "application/x-www-form-urlencoded"), ("X-Amz-Sso_Bearer_Token", "tok")],
        b"Action=GetSessionToken&Version=2011-06-15&SerialNumber=arn%3Aaws%3Aiam%3A%3A1%3Amfa%2Fme&TokenCode=123456",
    )
    .expect("request");
    assert_eq!(resp.status, 403);
    assert_eq!(resp.header("Content-Type"), Some("text/xml"));
    assert!(resp.body_str().contains("AccessDenied"));

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/some/path");
    assert_eq!(
        req.target,
        "/some/path?role_name=Admin%20Role&account_id=123&flag"
    );
    assert_eq!(req.query_param("role_name"), Some("Admin Role"));
    assert_eq!(req.query_param("account_id"), Some("123"));
    assert_eq!(req.query_param("flag"), Some(""));
    assert_eq!(req.query_param("missing"), None);
    assert_eq!(req.header("x-amz-sso_bearer_token"), Some("tok"));
    assert!(
        req.headers
            .iter()
            .any(|(k, _)| k == "x-amz-sso_bearer_token"),
        "names are lower-cased"
    );
    assert_eq!(
        req.form_param("SerialNumber").as_deref(),
        Some("arn:aws:iam::1:mfa/me")
    );
    assert_eq!(req.form_param("TokenCode").as_deref(), Some("123456"));
}

#[test]
fn fake_http_keeps_a_connection_alive_across_requests() {
    let count = AtomicUsize::new(0);
    let fake = FakeHttp::new(move |req| {
        let n = count.fetch_add(1, Ordering::SeqCst) + 1;
        Response::text(200, &format!("{n} {}", req.path))
    });
    let stream = connect(&fake);
    let mut reader = BufReader::new(&stream);
    let mut writer = &stream;

    writer
        .write_all(b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let first = read_response(&mut reader).expect("first response");
    assert_eq!((first.status, first.body_str().as_str()), (200, "1 /first"));
    assert_eq!(first.header("connection"), Some("keep-alive"));

    writer
        .write_all(b"PUT /second HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        .unwrap();
    let second = read_response(&mut reader).expect("second response");
    assert_eq!(second.body_str(), "2 /second");

    // `Connection: close` is honoured: the server closes after answering.
    writer
        .write_all(b"GET /third HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let third = read_response(&mut reader).expect("third response");
    assert_eq!(third.header("connection"), Some("close"));
    let mut rest = Vec::new();
    assert_eq!(reader.read_to_end(&mut rest).expect("read to EOF"), 0);

    assert_eq!(fake.connections(), 1);
    let requests = fake.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/first", "/second", "/third"]);
    assert_eq!(requests[1].body, b"abc");
}

#[test]
fn fake_http_reads_chunked_request_bodies() {
    let fake = FakeHttp::new(|req| Response::text(200, &format!("got {} bytes", req.body.len())));
    let stream = connect(&fake);
    let mut writer = &stream;
    writer
        .write_all(
            b"POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
              5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n\
              GET /after HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .unwrap();
    let mut reader = BufReader::new(&stream);
    assert_eq!(
        read_response(&mut reader).unwrap().body_str(),
        "got 12 bytes"
    );
    assert_eq!(
        read_response(&mut reader).unwrap().body_str(),
        "got 0 bytes"
    );
    let requests = fake.requests();
    assert_eq!(requests[0].body, b"hello, world");
    assert_eq!(requests[1].path, "/after");
}

#[test]
fn fake_http_answers_expect_100_continue() {
    let fake = FakeHttp::new(|req| Response::text(200, &req.body_str()));
    let stream = connect(&fake);
    let mut writer = &stream;
    writer
        .write_all(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
        )
        .unwrap();
    let mut reader = BufReader::new(&stream);
    let mut interim = [0u8; 25];
    reader.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    writer.write_all(b"body").unwrap();
    assert_eq!(read_response(&mut reader).unwrap().body_str(), "body");
}

#[test]
fn fake_http_turns_a_handler_panic_into_a_500() {
    let fake = FakeHttp::new(|_| panic!("no route for this"));
    let resp = http_request("GET", &format!("{}/x", fake.url()), &[], b"").unwrap();
    assert_eq!(resp.status, 500);
    assert!(
        resp.body_str().contains("no route for this"),
        "{}",
        resp.body_str()
    );
}

#[test]
fn fake_http_sends_response_headers_and_empty_bodies() {
    let fake = FakeHttp::new(|req| match req.method.as_str() {
        "PUT" => Response::text(200, "token")
            .with_header("x-aws-ec2-metadata-token-ttl-seconds", "21600"),
        _ => Response::new(204),
    });
    let put = http_request("PUT", &format!("{}/latest/api/token", fake.url()), &[], b"").unwrap();
    assert_eq!(
        put.header("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"),
        Some("21600")
    );
    assert_eq!(put.body_str(), "token");
    let empty = http_request("DELETE", &format!("{}/", fake.url()), &[], b"").unwrap();
    assert_eq!((empty.status, empty.body.len()), (204, 0));
}

#[test]
fn fake_http_blackhole_accepts_and_never_answers() {
    let fake = FakeHttp::blackhole();
    let stream = TcpStream::connect(fake.addr()).expect("the blackhole accepts connections");
    stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    (&stream)
        .write_all(b"GET /latest/meta-data/ HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 16];
    let err = (&stream)
        .read(&mut buf)
        .expect_err("the blackhole must not answer");
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{err:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(2);
    while fake.connections() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(fake.connections(), 1);
    assert!(fake.requests().is_empty());

    let started = Instant::now();
    drop(fake);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "dropping took {:?}",
        started.elapsed()
    );
    // Dropping closed the held socket: the client sees a reset (its request was never read) or EOF.
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    match (&stream).read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("expected the connection to be closed, got {other:?}"),
    }
}

#[test]
fn fake_http_stops_when_dropped_even_with_an_idle_keep_alive_connection() {
    let fake = FakeHttp::new(|_| Response::text(200, "ok"));
    let addr = fake.addr();
    let stream = connect(&fake);
    (&stream)
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    read_response(&mut BufReader::new(&stream)).unwrap();

    let started = Instant::now();
    drop(fake);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "dropping took {:?}",
        started.elapsed()
    );
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "still listening"
    );
}

#[test]
#[should_panic(expected = "not a loopback address")]
fn http_request_refuses_non_loopback_hosts() {
    // Refused before any connection is attempted.
    let _ = http_request("GET", "http://169.254.169.254/latest/meta-data/", &[], b"");
}

#[test]
fn url_encoding_helpers_round_trip() {
    let pairs = [("Action", "AssumeRole"), ("RoleSessionName", "a b+c/d=é&")];
    let encoded = support::form_encode(&pairs);
    assert_eq!(
        encoded,
        "Action=AssumeRole&RoleSessionName=a%20b%2Bc%2Fd%3D%C3%A9%26"
    );
    let decoded = support::parse_urlencoded(&encoded);
    assert_eq!(
        decoded[1],
        ("RoleSessionName".to_string(), "a b+c/d=é&".to_string())
    );
    assert_eq!(support::percent_decode("a+b%2x%41%"), "a b%2xA%");
}

#[test]
fn sandbox_lays_out_home_and_aws_files() {
    let sandbox = Sandbox::new();
    assert!(sandbox.home().join(".aws").is_dir());
    assert_eq!(sandbox.home(), sandbox.root().join("home"));

    let config = sandbox.write_config("[default]\nregion = eu-west-1\n");
    assert_eq!(config, sandbox.home().join(".aws/config"));
    let creds = sandbox.write_credentials("[default]\naws_access_key_id = AKIDEXAMPLE\n");
    assert_eq!(creds, sandbox.path("/home/.aws/credentials"));
    assert_eq!(
        sandbox.read("home/.aws/config"),
        "[default]\nregion = eu-west-1\n"
    );

    let token = sandbox.write("token.jwt", "jwt");
    assert_eq!(token, sandbox.root().join("token.jwt"));
    let cache = sandbox.write("home/.aws/sso/cache/abc.json", "{}");
    assert_eq!(cache, sandbox.home_path(".aws/sso/cache/abc.json"));
    assert!(cache.is_file());

    let root = sandbox.root().to_path_buf();
    drop(sandbox);
    assert!(!root.exists(), "the sandbox is removed on drop");
}

#[test]
#[should_panic(expected = "must stay inside the sandbox")]
fn sandbox_paths_cannot_escape() {
    Sandbox::new().path("home/../../etc/passwd");
}

#[test]
fn sandbox_copies_a_conformance_style_fs_tree() {
    let source = Sandbox::new();
    source.write("fs/home/.aws/config", "[profile a]\n");
    source.write("fs/token.jwt", "t");
    let sandbox = Sandbox::new();
    sandbox.copy_dir(&source.path("fs"), "/");
    assert_eq!(sandbox.read("home/.aws/config"), "[profile a]\n");
    assert_eq!(sandbox.read("token.jwt"), "t");
}

#[test]
fn sandbox_cmd_has_a_cleared_hermetic_environment() {
    let sandbox = Sandbox::new();
    let cmd = sandbox.cmd();
    assert!(cmd.get_program().to_string_lossy().ends_with("aws-cred"));
    let mut env: Vec<(String, String)> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v?.to_str()?.to_string())))
        .collect();
    env.sort();
    let home = sandbox.home().display().to_string();
    let mut expected = vec![
        ("AWS_CONFIG_FILE".to_string(), format!("{home}/.aws/config")),
        ("AWS_EC2_METADATA_DISABLED".to_string(), "true".to_string()),
        (
            "AWS_SHARED_CREDENTIALS_FILE".to_string(),
            format!("{home}/.aws/credentials"),
        ),
        ("HOME".to_string(), home.clone()),
        ("LANG".to_string(), "C.UTF-8".to_string()),
        ("NO_COLOR".to_string(), "1".to_string()),
    ];
    if let Ok(path) = std::env::var("PATH") {
        expected.push(("PATH".to_string(), path));
    }
    expected.sort();
    assert_eq!(env, expected);
    assert_eq!(cmd.get_current_dir(), Some(sandbox.home()));
}

#[test]
fn run_captures_output_and_exit_code() {
    let out = support::run(Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]));
    out.assert_code(3);
    assert_eq!(out.code(), Some(3));
    assert_eq!(out.stdout_str(), "out\n");
    assert_eq!(out.stderr_str(), "err\n");

    let out = support::run_with_input(&mut Command::new("cat"), b"piped input");
    out.assert_success();
    assert_eq!(out.stdout_str(), "piped input");
}

#[test]
fn run_drains_large_outputs_on_both_streams() {
    // More than a pipe buffer on each stream: a sequential reader would deadlock here.
    let script = "i=0; while [ $i -lt 2000 ]; do echo line-$i; echo err-$i >&2; i=$((i+1)); done";
    let out = support::run(Command::new("sh").args(["-c", script]));
    out.assert_success();
    assert_eq!(out.stdout_str().lines().count(), 2000);
    assert_eq!(out.stderr_str().lines().count(), 2000);
}

#[test]
#[should_panic(expected = "timed out")]
fn run_kills_a_command_that_overruns() {
    support::run_with_timeout(
        Command::new("sh").args(["-c", "echo started; exec sleep 30"]),
        Duration::from_millis(300),
    );
}
