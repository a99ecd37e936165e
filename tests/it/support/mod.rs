//! Shared helpers for aws-cred's integration tests: each test file does `mod support;`.
//!
//! - [`Sandbox`]: a temp dir with `home/.aws/`, and [`Sandbox::cmd`], the binary under a cleared,
//!   hermetic environment.
//! - [`run`] and friends: run a command with a bounded wait; [`OutputExt`] reads and asserts on
//!   its output.
//! - [`FakeHttp`]: a loopback HTTP/1.1 server driven by a closure (ECS, IMDS, STS errors, SSO), and
//!   [`FakeHttp::blackhole`], which accepts connections and never answers.
//! - [`Moto`]: moto_server from the CI venv on a loopback port.
//! - [`http_request`]: a tiny HTTP client that only talks to loopback.
//! - [`secret_service::SecretService`]: a private session bus with gnome-keyring's Secret Service,
//!   for the keyring tests.
//!
//! Nothing here reaches beyond 127.0.0.1: tests must never touch real AWS or 169.254.169.254.
#![allow(dead_code)]

pub(crate) mod browser;
pub(crate) mod secret_service;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use std::fs;
use std::io::{self, BufRead, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Component, Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// `PATH` with the directory of the aws-cred under test first, for programs that run it by
/// name (`credential_process = aws-cred …`, completion scripts).
pub(crate) fn path_with_aws_cred() -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_aws-cred"));
    let dir = bin.parent().expect("the binary is in a directory");
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// How long [`run`] lets a command run before killing it and failing the test.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// True when running under CI (`CI=true`), where missing test tools are an error, not a skip.
pub(crate) fn in_ci() -> bool {
    matches!(std::env::var("CI").as_deref(), Ok("true" | "1"))
}

// ---------------------------------------------------------------------------------------------
// Sandbox
// ---------------------------------------------------------------------------------------------

/// A temporary file tree for one test: `<root>/home/` is `HOME`, with an empty `home/.aws/`.
///
/// Paths given to [`Sandbox::path`] and [`Sandbox::write`] are relative to the root (a leading `/`
/// is ignored), so the layout matches the conformance suites, whose `fs/` folder is mounted at `/`
/// with `HOME=/home`. The tree is deleted when the sandbox is dropped.
pub(crate) struct Sandbox {
    _dir: tempfile::TempDir,
    root: PathBuf,
    home: PathBuf,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    pub(crate) fn new() -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("aws-cred-test-")
            .tempdir()
            .expect("create the sandbox temp dir");
        let root = dir
            .path()
            .canonicalize()
            .expect("canonicalize the sandbox temp dir");
        let home = root.join("home");
        fs::create_dir_all(home.join(".aws")).expect("create <sandbox>/home/.aws");
        Sandbox {
            _dir: dir,
            root,
            home,
        }
    }

    /// The sandbox root (the conformance suites' `/`).
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// `HOME` for commands from [`Sandbox::cmd`]: `<root>/home`.
    pub(crate) fn home(&self) -> &Path {
        &self.home
    }

    /// `<root>/home/.aws/config`, also given to the binary as `AWS_CONFIG_FILE`.
    pub(crate) fn config_path(&self) -> PathBuf {
        self.home.join(".aws").join("config")
    }

    /// `<root>/home/.aws/credentials`, also given as `AWS_SHARED_CREDENTIALS_FILE`.
    pub(crate) fn credentials_path(&self) -> PathBuf {
        self.home.join(".aws").join("credentials")
    }

    /// A path inside the sandbox, relative to the root: `path("home/.aws/sso/cache/x.json")`.
    /// A leading `/` is ignored; `..` is refused so nothing escapes the sandbox.
    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        let rel = Path::new(rel.trim_start_matches('/'));
        assert!(
            rel.components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir)),
            "Sandbox::path: {rel:?} must stay inside the sandbox"
        );
        self.root.join(rel)
    }

    /// A path inside `HOME`: `home_path(".aws/sso/cache/x.json")`.
    pub(crate) fn home_path(&self, rel: &str) -> PathBuf {
        self.path(&format!("home/{}", rel.trim_start_matches('/')))
    }

    /// Writes a file (creating parent folders) at a root-relative path and returns its full path.
    pub(crate) fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(rel);
        write_file(&path, contents.as_ref());
        path
    }

    /// Reads a root-relative file as UTF-8, panicking with the path if that fails.
    pub(crate) fn read(&self, rel: &str) -> String {
        let path = self.path(rel);
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// Replaces `~/.aws/config`.
    pub(crate) fn write_config(&self, contents: &str) -> PathBuf {
        let path = self.config_path();
        write_file(&path, contents.as_bytes());
        path
    }

    /// Replaces `~/.aws/credentials`.
    pub(crate) fn write_credentials(&self, contents: &str) -> PathBuf {
        let path = self.credentials_path();
        write_file(&path, contents.as_bytes());
        path
    }

    /// Copies a folder's contents (recursively) to a root-relative folder, e.g. a conformance
    /// case's `fs/` to `""` (the root).
    pub(crate) fn copy_dir(&self, src: &Path, rel: &str) {
        copy_dir_all(src, &self.path(rel));
    }

    /// The aws-cred binary with a cleared environment: only `PATH` (the test process's), `HOME`,
    /// `AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`, `AWS_EC2_METADATA_DISABLED=true`,
    /// `NO_COLOR=1` and `LANG=C.UTF-8`. Working dir `HOME`, stdin null. Add what a test needs with
    /// `.env(..)`/`.env_remove(..)`; run it with [`run`].
    pub(crate) fn cmd(&self) -> Command {
        self.program(env!("CARGO_BIN_EXE_aws-cred"))
    }

    /// Another program (a shell, kubectl, `script`, python) with the environment and working
    /// dir [`Sandbox::cmd`] gives aws-cred, so what it starts sees the same files.
    pub(crate) fn program(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        cmd.env("HOME", &self.home)
            .env("AWS_CONFIG_FILE", self.config_path())
            .env("AWS_SHARED_CREDENTIALS_FILE", self.credentials_path())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("NO_COLOR", "1")
            .env("LANG", "C.UTF-8")
            .current_dir(&self.home)
            .stdin(Stdio::null());
        cmd
    }

    /// [`Sandbox::program`] with the aws-cred under test first on `PATH` ([`path_with_aws_cred`]),
    /// for programs that run it by name (completion and shell-init scripts, a shell).
    pub(crate) fn program_with_aws_cred(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = self.program(program);
        cmd.env("PATH", path_with_aws_cred());
        cmd
    }

    /// Shorthand for `run(sandbox.cmd().args(args))`.
    pub(crate) fn aws_cred(&self, args: &[&str]) -> Output {
        run(self.cmd().args(args))
    }
}

fn write_file(path: &Path, contents: &[u8]) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap_or_else(|e| panic!("create {}: {e}", parent.display()));
    }
    fs::write(path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn copy_dir_all(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap_or_else(|e| panic!("create {}: {e}", dst.display()));
    let entries = fs::read_dir(src).unwrap_or_else(|e| panic!("read dir {}: {e}", src.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("read dir {}: {e}", src.display()));
        let (from, to) = (entry.path(), dst.join(entry.file_name()));
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            copy_dir_all(&from, &to);
        } else {
            fs::copy(&from, &to)
                .unwrap_or_else(|e| panic!("copy {} to {}: {e}", from.display(), to.display()));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Running commands
// ---------------------------------------------------------------------------------------------

/// Runs a command to completion with stdout and stderr captured, killing it and failing the test
/// after [`DEFAULT_TIMEOUT`]. Stdin is whatever the command has (null from [`Sandbox::cmd`]).
pub(crate) fn run(cmd: &mut Command) -> Output {
    run_inner(cmd, None, DEFAULT_TIMEOUT)
}

/// [`run`] with another time limit.
pub(crate) fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Output {
    run_inner(cmd, None, timeout)
}

/// [`run`] with `input` written to the command's stdin (then closed).
pub(crate) fn run_with_input(cmd: &mut Command, input: &[u8]) -> Output {
    run_inner(cmd, Some(input), DEFAULT_TIMEOUT)
}

fn run_inner(cmd: &mut Command, input: Option<&[u8]>, timeout: Duration) -> Output {
    if input.is_some() {
        cmd.stdin(Stdio::piped());
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let what = describe(cmd);
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("failed to start {what}: {e}"));
    if let (Some(data), Some(mut stdin)) = (input, child.stdin.take()) {
        let data = data.to_vec();
        // A writer thread, so a child that does not read its stdin cannot block us.
        thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
    }
    let stdout = Collector::spawn(child.stdout.take());
    let stderr = Collector::spawn(child.stderr.take());
    let status = wait_bounded(&mut child, timeout);
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        let (out, err) = (
            stdout.finish(Duration::from_secs(2)),
            stderr.finish(Duration::from_secs(2)),
        );
        panic!(
            "timed out after {:?}: killed {what}\n--- stdout so far ---\n{}\n--- stderr so far ---\n{}",
            started.elapsed(),
            String::from_utf8_lossy(&out.0),
            String::from_utf8_lossy(&err.0),
        );
    };
    // The pipes close when the child exits, unless a process it started still holds them.
    let (out, out_done) = stdout.finish(Duration::from_secs(5));
    let (err, err_done) = stderr.finish(Duration::from_secs(5));
    assert!(
        out_done && err_done,
        "{what} exited ({status}) but its stdout/stderr stayed open for 5 s: \
         a process it started is still running\n--- stdout ---\n{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&err),
    );
    Output {
        status,
        stdout: out,
        stderr: err,
    }
}

/// Polls `child` until it exits or `timeout` passes (then `None`; the child is left running).
pub(crate) fn wait_bounded(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() >= deadline => return None,
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("waiting for child {}: {e}", child.id()),
        }
    }
}

/// Reads a pipe to its end on a thread, so stdout and stderr drain concurrently.
struct Collector {
    data: Arc<Mutex<Vec<u8>>>,
    done: Arc<AtomicBool>,
}

impl Collector {
    fn spawn(pipe: Option<impl Read + Send + 'static>) -> Collector {
        let data = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::new(AtomicBool::new(pipe.is_none()));
        if let Some(mut pipe) = pipe {
            let (data, done) = (data.clone(), done.clone());
            thread::spawn(move || {
                let mut buf = [0u8; 8192];
                loop {
                    match pipe.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => lock(&data).extend_from_slice(&buf[..n]),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
                done.store(true, Ordering::SeqCst);
            });
        }
        Collector { data, done }
    }

    /// Waits up to `grace` for the end of the pipe; returns what was read and whether it ended.
    fn finish(self, grace: Duration) -> (Vec<u8>, bool) {
        let deadline = Instant::now() + grace;
        while !self.done.load(Ordering::SeqCst) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(2));
        }
        let done = self.done.load(Ordering::SeqCst);
        (std::mem::take(&mut *lock(&self.data)), done)
    }
}

/// `program arg1 arg2` for messages (arguments quoted with Debug; the environment is left out).
fn describe(cmd: &Command) -> String {
    let mut s = format!("`{}", cmd.get_program().to_string_lossy());
    for arg in cmd.get_args() {
        s.push(' ');
        let arg = arg.to_string_lossy();
        if arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@".contains(c))
            && !arg.is_empty()
        {
            s.push_str(&arg);
        } else {
            s.push_str(&format!("{arg:?}"));
        }
    }
    s.push('`');
    s
}

/// Reading and asserting on a finished command's [`Output`].
pub(crate) trait OutputExt {
    /// Stdout as a String (lossy UTF-8).
    fn stdout_str(&self) -> String;
    /// Stderr as a String (lossy UTF-8).
    fn stderr_str(&self) -> String;
    /// The exit code, or `None` if a signal ended the process.
    fn code(&self) -> Option<i32>;
    /// Panics, showing both streams, unless the exit code is 0.
    fn assert_success(&self) -> &Self;
    /// Panics, showing both streams, unless the exit code is `code`.
    fn assert_code(&self, code: i32) -> &Self;
    /// A failed command whose stdout is meant for `eval`, in the sh or fish format: stdout is
    /// exactly the one statement that makes `eval` fail (`false`), nothing else.
    fn assert_failed_eval(&self) -> &Self;
    /// Panics, showing stderr, unless one of its `hint: ` lines contains `text`.
    fn assert_hint(&self, text: &str) -> &Self;
}

impl OutputExt for Output {
    fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    fn code(&self) -> Option<i32> {
        self.status.code()
    }

    fn assert_success(&self) -> &Self {
        self.assert_code(0)
    }

    fn assert_failed_eval(&self) -> &Self {
        assert!(
            !self.status.success() && self.stdout == b"false\n",
            "expected a failure with `false` on stdout, got {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            self.stdout_str(),
            self.stderr_str(),
        );
        self
    }

    fn assert_hint(&self, text: &str) -> &Self {
        let err = self.stderr_str();
        assert!(
            err.lines()
                .any(|l| l.starts_with("hint: ") && l.contains(text)),
            "expected a hint line with {text:?}\n--- stderr ---\n{err}"
        );
        self
    }

    fn assert_code(&self, code: i32) -> &Self {
        assert!(
            self.status.code() == Some(code),
            "expected exit code {code}, got {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            self.stdout_str(),
            self.stderr_str(),
        );
        self
    }
}

// ---------------------------------------------------------------------------------------------
// Finding external tools
// ---------------------------------------------------------------------------------------------

/// A dialogue at a real terminal: `cmd` runs a program under `script -qefc …` (which gives it
/// a terminal; its stdout is what the terminal shows). For each `(prompt, answer)`, wait until
/// the terminal has shown `prompt` once more than the steps before asked for, pause so the
/// program can turn echo off, and type `answer`. Then wait for the end. Everything is bounded:
/// 30 s for each prompt and for the end. Returns the exit status and what the terminal showed.
pub(crate) fn terminal_dialogue(cmd: &mut Command, steps: &[(&str, &str)]) -> (ExitStatus, String) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the terminal program");
    let shown = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let shown = shown.clone();
        let mut stdout = child.stdout.take().expect("piped stdout");
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                lock(&shown).extend_from_slice(&buf[..n]);
            }
        })
    };
    let text = |shown: &Mutex<Vec<u8>>| String::from_utf8_lossy(&lock(shown)).into_owned();
    let mut stdin = child.stdin.take().expect("piped stdin");
    for (i, (prompt, answer)) in steps.iter().enumerate() {
        let times = 1 + steps[..i].iter().filter(|(p, _)| p == prompt).count();
        let deadline = Instant::now() + Duration::from_secs(30);
        while text(&shown).matches(prompt).count() < times {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no {prompt:?} within 30 s:\n{}", text(&shown));
            }
            thread::sleep(Duration::from_millis(20));
        }
        // Typed-ahead input would be echoed before the program could turn echo off.
        thread::sleep(Duration::from_millis(200));
        stdin
            .write_all(format!("{answer}\n").as_bytes())
            .and_then(|()| stdin.flush())
            .expect("type at the terminal");
    }
    let status = wait_bounded(&mut child, Duration::from_secs(30)).unwrap_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "the terminal program did not finish within 30 s:\n{}",
            text(&shown)
        )
    });
    drop(stdin);
    let _ = reader.join();
    (status, text(&shown))
}

/// Whether the tests run as root (some play another local user with `setpriv`).
pub(crate) fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

/// `name` found on `PATH`, if any (e.g. `zsh`, `fish`, `dash`, `pwsh`).
pub(crate) fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

/// Like [`find_program`], for tools CI installs (zsh, fish, dash): under `CI=true` a missing one
/// fails the test; elsewhere it prints a skip line to stderr and returns `None`. Use
/// `let Some(zsh) = require_program("zsh") else { return };`. (pwsh is never installed by CI:
/// use [`find_program`] for it.)
pub(crate) fn require_program(name: &str) -> Option<PathBuf> {
    let found = find_program(name);
    if found.is_none() {
        missing_tool(&format!("{name} not found on PATH (run .ci/run)"));
    }
    found
}

/// The Python venv that `.ci/run` builds: `$AWS_CRED_VENV`, else `<crate>/.venv`; the first of the
/// two that has `bin/<tool>`. Returns that tool's path.
pub(crate) fn venv_tool(tool: &str) -> Option<PathBuf> {
    let from_env = std::env::var_os("AWS_CRED_VENV").map(PathBuf::from);
    let in_crate = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv");
    from_env
        .into_iter()
        .chain([in_crate])
        .map(|venv| venv.join("bin").join(tool))
        .find(|p| is_executable(p))
}

/// [`venv_tool`] with the CI rule of [`require_program`] (`aws`, `python`, `moto_server`).
pub(crate) fn require_venv_tool(tool: &str) -> Option<PathBuf> {
    let found = venv_tool(tool);
    if found.is_none() {
        missing_tool(&format!(
            "{tool} not found (run .ci/run or set AWS_CRED_VENV)"
        ));
    }
    found
}

fn missing_tool(what: &str) {
    assert!(
        !in_ci(),
        "{what}; CI=true, so this test must not be skipped"
    );
    eprintln!("skipping: {what}");
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

// ---------------------------------------------------------------------------------------------
// HTTP messages (shared by FakeHttp and http_request)
// ---------------------------------------------------------------------------------------------

/// A request as [`FakeHttp`] received it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Request {
    pub method: String,
    /// The request target as sent, query string included (not decoded).
    pub target: String,
    /// The path part of the target, not percent-decoded.
    pub path: String,
    /// Query parameters in order, percent-decoded (`+` is a space).
    pub query: Vec<(String, String)>,
    /// Headers in order; names lower-cased, values trimmed.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked if it came with `Transfer-Encoding: chunked`.
    pub body: Vec<u8>,
}

impl Request {
    /// The first header called `name` (any case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The first query parameter called `name`.
    pub(crate) fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as `application/x-www-form-urlencoded` pairs (how STS and the other AWS query
    /// protocol services get their parameters: `Action`, `Version`, `SerialNumber`, ...).
    pub(crate) fn form(&self) -> Vec<(String, String)> {
        parse_urlencoded(&String::from_utf8_lossy(&self.body))
    }

    /// The first form parameter called `name` in the body.
    pub(crate) fn form_param(&self, name: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// The body as a String (lossy UTF-8).
    pub(crate) fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A response: what a [`FakeHttp`] handler returns, and what [`http_request`] gives back.
/// `Content-Length` and `Connection` are written by the server; don't set them.
#[derive(Clone, Debug)]
pub(crate) struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// A response with no headers and an empty body.
    pub(crate) fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// `application/json` (SSO, OIDC, Cognito, ECS).
    pub(crate) fn json(status: u16, body: &str) -> Response {
        Response::new(status)
            .with_header("content-type", "application/json")
            .with_body(body)
    }

    /// `text/plain; charset=utf-8` (IMDS).
    pub(crate) fn text(status: u16, body: &str) -> Response {
        Response::new(status)
            .with_header("content-type", "text/plain; charset=utf-8")
            .with_body(body)
    }

    /// `text/xml` (STS and the other query-protocol services, errors included).
    pub(crate) fn xml(status: u16, body: &str) -> Response {
        Response::new(status)
            .with_header("content-type", "text/xml")
            .with_body(body)
    }

    /// Adds a header, e.g. `x-amzn-ErrorType` or `x-aws-ec2-metadata-token-ttl-seconds`.
    pub(crate) fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub(crate) fn with_body(mut self, body: impl Into<Vec<u8>>) -> Response {
        self.body = body.into();
        self
    }

    /// The first header called `name` (any case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    pub(crate) fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Decodes `%XX` escapes and `+` (as a space); invalid escapes are kept as they are.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex_value(bytes[i + 1]), hex_value(bytes[i + 2]))
            {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `k=v&k2=v2`, each part percent-encoded: for query strings and form bodies.
pub(crate) fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Parses `k=v&k2=v2` (query strings, form bodies) into decoded pairs; `k` alone gives `(k, "")`.
pub(crate) fn parse_urlencoded(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

const MAX_HEAD: usize = 1 << 20;

/// One CRLF- (or LF-) terminated line without its terminator; `None` at a clean end of stream.
fn read_line(r: &mut impl BufRead, budget: &mut usize) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    let n = r
        .by_ref()
        .take(*budget as u64 + 1)
        .read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if n > *budget {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "HTTP head too long",
        ));
    }
    *budget -= n;
    if line.last() != Some(&b'\n') {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line)
        .map(Some)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "HTTP head is not UTF-8"))
}

fn read_headers(r: &mut impl BufRead, budget: &mut usize) -> io::Result<Vec<(String, String)>> {
    let mut headers = Vec::new();
    loop {
        let line = read_line(r, budget)?.ok_or(io::ErrorKind::UnexpectedEof)?;
        if line.is_empty() {
            return Ok(headers);
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad header line"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
}

/// A `Transfer-Encoding: chunked` body (chunk extensions and trailers are read and dropped).
fn read_chunked(r: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut budget = MAX_HEAD;
    loop {
        let line = read_line(r, &mut budget)?.ok_or(io::ErrorKind::UnexpectedEof)?;
        let size = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
        if size == 0 {
            read_headers(r, &mut budget)?; // trailers, up to the blank line
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..])?;
        let mut crlf = [0u8; 2];
        r.read_exact(&mut crlf)?;
        if &crlf != b"\r\n" {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "chunk not followed by CRLF",
            ));
        }
    }
}

fn is_chunked(headers: &[(String, String)]) -> bool {
    find_header(headers, "transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"))
}

fn content_length(headers: &[(String, String)]) -> io::Result<Option<usize>> {
    find_header(headers, "content-length")
        .map(|v| {
            v.parse()
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad content-length"))
        })
        .transpose()
}

/// Reads one response (skipping `1xx` interim ones). A body with neither `Content-Length` nor
/// chunking runs to the end of the stream.
pub(crate) fn read_response(r: &mut impl BufRead) -> io::Result<Response> {
    loop {
        let mut budget = MAX_HEAD;
        let line = read_line(r, &mut budget)?.ok_or(io::ErrorKind::UnexpectedEof)?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .filter(|_| line.starts_with("HTTP/"))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("bad status line {line:?}"),
                )
            })?;
        let headers = read_headers(r, &mut budget)?;
        if (100..200).contains(&status) {
            continue;
        }
        let body = if matches!(status, 204 | 304) {
            Vec::new()
        } else if is_chunked(&headers) {
            read_chunked(r)?
        } else if let Some(n) = content_length(&headers)? {
            let mut body = vec![0u8; n];
            r.read_exact(&mut body)?;
            body
        } else {
            let mut body = Vec::new();
            r.read_to_end(&mut body)?;
            body
        };
        return Ok(Response {
            status,
            headers,
            body,
        });
    }
}

/// Sends one HTTP/1.1 request to a loopback `http://` URL with hyper's client and reads the
/// response. Panics if the URL's host is not loopback. Connect timeout 2 s, whole exchange 10 s.
pub(crate) fn http_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Response> {
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("http_request: only http:// URLs, got {url}"));
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = loopback_addr(authority)
        .unwrap_or_else(|| panic!("http_request: {url} is not a loopback address"));
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_nonblocking(true)?;
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", authority);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::copy_from_slice(body)))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    runtime().block_on(async move {
        let exchange = async {
            let stream = tokio::net::TcpStream::from_std(stream)?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(io::Error::other)?;
            tokio::spawn(conn);
            let answer = sender
                .send_request(request)
                .await
                .map_err(io::Error::other)?;
            let status = answer.status().as_u16();
            let headers = headers_of(answer.headers());
            let body = collect(answer.into_body()).await?;
            Ok(Response {
                status,
                headers,
                body,
            })
        };
        tokio::time::timeout(Duration::from_secs(10), exchange)
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))?
    })
}

/// `127.x.x.x[:port]`, `localhost[:port]` or `[::1][:port]` (port 80 if absent) as an address.
fn loopback_addr(authority: &str) -> Option<SocketAddr> {
    let with_port = if authority.ends_with(']') || !authority.contains(':') {
        format!("{authority}:80")
    } else {
        authority.to_string()
    };
    let host = with_port.rsplit_once(':')?.0;
    if !(host == "localhost" || host == "[::1]" || host.starts_with("127.")) {
        return None;
    }
    with_port
        .to_socket_addrs()
        .ok()?
        .find(|a| a.ip().is_loopback())
}

// ---------------------------------------------------------------------------------------------
// FakeHttp
// ---------------------------------------------------------------------------------------------

type Handler = dyn Fn(&Request) -> Response + Send + Sync + 'static;

/// The most a fake or the client reads of one body (a runaway must not take the machine).
const MAX_BODY: usize = 64 << 20;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime for the test HTTP helpers")
}

fn headers_of(map: &hyper::HeaderMap) -> Vec<(String, String)> {
    map.iter()
        .map(|(name, value)| {
            (
                name.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(value.as_bytes()).trim().to_string(),
            )
        })
        .collect()
}

async fn collect(body: Incoming) -> io::Result<Vec<u8>> {
    let collected = http_body_util::Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    Ok(collected.to_bytes().to_vec())
}

/// A loopback HTTP/1.1 server on `127.0.0.1:<ephemeral>` answering every request with a closure,
/// on hyper's server (keep-alive, `Content-Length` and chunked bodies, `Expect: 100-continue`).
///
/// Every request is recorded before the handler runs. Connections are served concurrently; the
/// handler runs on a blocking thread, so it may sleep. A panicking handler answers 500 with the
/// panic message. Dropping the server stops it (within about a second; it does not wait for a
/// handler stuck in its own code).
///
/// ```ignore
/// let fake = FakeHttp::new(|req| match (req.method.as_str(), req.path.as_str()) {
///     ("PUT", "/latest/api/token") => Response::text(200, "tok")
///         .with_header("x-aws-ec2-metadata-token-ttl-seconds", "21600"),
///     _ => Response::text(404, "not found"),
/// });
/// cmd.env("AWS_EC2_METADATA_SERVICE_ENDPOINT", fake.url());
/// ```
pub(crate) struct FakeHttp {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

struct Shared {
    requests: Mutex<Vec<Request>>,
    connections: AtomicUsize,
}

impl FakeHttp {
    /// Starts a server that answers with `handler`.
    pub(crate) fn new(handler: impl Fn(&Request) -> Response + Send + Sync + 'static) -> FakeHttp {
        FakeHttp::start(Some(Arc::new(handler)))
    }

    /// Starts a server that accepts connections, reads nothing and never answers; the sockets
    /// stay open until the server is dropped. For timeouts (an unreachable IMDS or ECS endpoint).
    pub(crate) fn blackhole() -> FakeHttp {
        FakeHttp::start(None)
    }

    fn start(handler: Option<Arc<Handler>>) -> FakeHttp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("make the listener non-blocking");
        let addr = listener.local_addr().expect("listener address");
        let shared = Arc::new(Shared {
            requests: Mutex::new(Vec::new()),
            connections: AtomicUsize::new(0),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let server = {
            let shared = shared.clone();
            thread::Builder::new()
                .name(format!("fake-http-{}", addr.port()))
                .spawn(move || {
                    let runtime = runtime();
                    runtime.block_on(serve(listener, shared, handler, stopped));
                    // Connection tasks still running end with the runtime; a handler busy on a
                    // blocking thread is not waited for beyond this.
                    runtime.shutdown_timeout(Duration::from_secs(1));
                })
                .expect("spawn the FakeHttp thread")
        };
        FakeHttp {
            addr,
            shared,
            stop: Some(stop),
            server: Some(server),
        }
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every request received so far, in arrival order.
    pub(crate) fn requests(&self) -> Vec<Request> {
        lock(&self.shared.requests).clone()
    }

    /// How many connections were accepted so far (the blackhole counts them too).
    pub(crate) fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }
}

impl Drop for FakeHttp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
    }
}

async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    handler: Option<Arc<Handler>>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    let mut held = Vec::new(); // the blackhole's open sockets
    loop {
        let stream = tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    continue;
                }
            },
        };
        shared.connections.fetch_add(1, Ordering::SeqCst);
        let Some(handler) = &handler else {
            held.push(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (handler, shared) = (handler.clone(), shared.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let (handler, shared) = (handler.clone(), shared.clone());
                async move { answer(req, &handler, &shared).await }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
    drop(held);
}

async fn answer(
    req: hyper::Request<Incoming>,
    handler: &Arc<Handler>,
    shared: &Arc<Shared>,
) -> Result<hyper::Response<Full<Bytes>>, io::Error> {
    let (parts, body) = req.into_parts();
    let body = collect(body).await?;
    // As sent: origin form (`/path?q`), or absolute form (`http://host/path`) to a proxy.
    let target = parts.uri.to_string();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let request = Request {
        method: parts.method.as_str().to_string(),
        target: target.clone(),
        path: path.to_string(),
        query: parse_urlencoded(query),
        headers: headers_of(&parts.headers),
        body,
    };
    lock(&shared.requests).push(request.clone());
    let closing = request
        .header("connection")
        .is_some_and(|c| c.to_ascii_lowercase().contains("close"));
    let handler = handler.clone();
    let response = tokio::task::spawn_blocking(move || {
        catch_unwind(AssertUnwindSafe(|| handler(&request))).unwrap_or_else(|panic| {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Response::text(500, &format!("FakeHttp handler panicked: {msg}"))
        })
    })
    .await
    .map_err(io::Error::other)?;
    let mut builder = hyper::Response::builder().status(response.status);
    for (name, value) in &response.headers {
        let lower = name.to_ascii_lowercase();
        if !matches!(
            lower.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        ) {
            builder = builder.header(name.as_str(), value.as_str());
        }
    }
    // hyper keeps HTTP/1.1 connections open and says `connection: close` when it will not;
    // say the first out loud too, as clients that log headers expect.
    if !closing {
        builder = builder.header("connection", "keep-alive");
    }
    builder
        .body(Full::new(Bytes::from(response.body)))
        .map_err(|e| {
            io::Error::other(format!(
                "FakeHttp: the handler's response is not valid HTTP: {e}"
            ))
        })
}

/// Locks a mutex, ignoring poisoning (a panicking test thread must not hide the real failure).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------------------------------------
// Moto
// ---------------------------------------------------------------------------------------------

/// Runs in the venv's Python between the test and moto_server, as
/// `python -c MOTO_WRAPPER <temp dir> moto_server ARGS...`. It starts moto_server tied to itself
/// (PR_SET_PDEATHSIG: moto dies with it), and when its stdin reaches EOF it kills moto and removes
/// the temp dir. Stdin reaches EOF when the Moto value is dropped *or* when the test process dies
/// for any reason, since the test holds the only write end of that pipe: so a Moto kept in a
/// `static` (never dropped) leaks neither the server nor its dir.
const MOTO_WRAPPER: &str = r#"
import ctypes, os, shutil, signal, subprocess, sys, threading
workdir, argv = sys.argv[1], sys.argv[2:]
parent = os.getpid()
libc = ctypes.CDLL(None) if sys.platform.startswith("linux") else None
def tie_to_parent():
    if libc is not None:
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)
child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, preexec_fn=tie_to_parent)
released = threading.Event()
def stop(*_):
    child.kill()
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
def watch_stdin():
    try:
        sys.stdin.buffer.read()
    finally:
        released.set()
        child.kill()
threading.Thread(target=watch_stdin, daemon=True).start()
code = child.wait()
if released.is_set() and os.path.basename(workdir).startswith("aws-cred-moto-"):
    shutil.rmtree(workdir, ignore_errors=True)
sys.exit(code)
"#;

/// moto_server (the venv's, see [`venv_tool`]) on `127.0.0.1:<free port>`, in its own temp dir,
/// logging to a file there. Dropping it kills the server and waits for it.
///
/// ```ignore
/// let Some(moto) = Moto::start() else { return }; // skipped (outside CI) without the venv
/// cmd.env("AWS_ENDPOINT_URL", moto.url());
/// ```
pub(crate) struct Moto {
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
    dir: tempfile::TempDir,
}

impl Moto {
    /// Starts moto_server and waits (up to 30 s) until it answers. Returns `None` after printing
    /// a skip line when there is no venv, except under `CI=true`, where that is a panic.
    pub(crate) fn start() -> Option<Moto> {
        Moto::start_with_env(&[])
    }

    /// [`Moto::start`] with extra environment for the server, e.g.
    /// `("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true")`. Its environment is otherwise
    /// cleared except for `PATH`.
    pub(crate) fn start_with_env(env: &[(&str, &str)]) -> Option<Moto> {
        let moto_server = require_venv_tool("moto_server")?;
        let python = moto_server.with_file_name("python");
        let mut last_log = String::new();
        // A free port can be taken by someone else before moto binds it: try a few.
        for _ in 0..3 {
            let port = free_port();
            let dir = tempfile::Builder::new()
                .prefix("aws-cred-moto-")
                .tempdir()
                .expect("moto temp dir");
            let log = fs::File::create(dir.path().join("moto.log")).expect("create moto.log");
            let mut cmd = Command::new(&python);
            cmd.arg("-c")
                .arg(MOTO_WRAPPER)
                .arg(dir.path())
                .arg(&moto_server)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env_clear()
                .env("HOME", dir.path())
                .env("LANG", "C.UTF-8")
                .env("PYTHONUNBUFFERED", "1")
                .envs(env.iter().copied())
                .current_dir(dir.path())
                .stdin(Stdio::piped())
                .stdout(log.try_clone().expect("clone moto.log handle"))
                .stderr(log);
            if let Some(path) = std::env::var_os("PATH") {
                cmd.env("PATH", path);
            }
            let mut child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("start {}: {e}", moto_server.display()));
            let stdin = child.stdin.take();
            let mut moto = Moto {
                child,
                stdin,
                port,
                dir,
            };
            match moto.wait_ready(Duration::from_secs(30)) {
                Ok(()) => return Some(moto),
                Err(Some(_exit)) => last_log = moto.log(), // exited early (port taken?): retry
                Err(None) => panic!(
                    "moto_server did not answer within 30 s\n--- moto.log ---\n{}",
                    moto.log()
                ),
            }
        }
        panic!("moto_server kept exiting at start\n--- moto.log ---\n{last_log}");
    }

    /// Polls `GET /moto-api/` until moto answers; `Err(Some(status))` if it exited, `Err(None)`
    /// on timeout.
    fn wait_ready(&mut self, timeout: Duration) -> Result<(), Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(Some(status));
            }
            if let Ok(resp) = http_request("GET", &format!("{}/moto-api/", self.url()), &[], b"") {
                // Also check that this is moto, not something else that took the port.
                if resp.status == 200 && resp.body_str().to_ascii_lowercase().contains("moto") {
                    return match self.child.try_wait() {
                        Ok(Some(status)) => Err(Some(status)),
                        _ => Ok(()),
                    };
                }
            }
            thread::sleep(Duration::from_millis(50));
        }
        Err(None)
    }

    /// `http://127.0.0.1:PORT` (no trailing slash): use it as `AWS_ENDPOINT_URL` or a
    /// per-service `AWS_ENDPOINT_URL_<SERVICE>`.
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Clears all of moto's state (`POST /moto-api/reset`).
    pub(crate) fn reset(&self) {
        let resp = http_request("POST", &format!("{}/moto-api/reset", self.url()), &[], b"")
            .unwrap_or_else(|e| {
                panic!(
                    "POST /moto-api/reset: {e}\n--- moto.log ---\n{}",
                    self.log()
                )
            });
        assert_eq!(
            resp.status,
            200,
            "POST /moto-api/reset: {}",
            resp.body_str()
        );
    }

    /// moto_server's output so far (one line per request served).
    pub(crate) fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Where moto_server's output goes (inside a temp dir removed when moto stops).
    pub(crate) fn log_path(&self) -> PathBuf {
        self.dir.path().join("moto.log")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // Closing stdin makes the wrapper kill moto and exit; if it does not within 5 s, kill the
        // wrapper by its PID (moto then gets SIGKILL from PR_SET_PDEATHSIG).
        drop(self.stdin.take());
        if wait_bounded(&mut self.child, Duration::from_secs(5)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A port that was free a moment ago on 127.0.0.1 (for servers that need a port number up front).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free port on 127.0.0.1")
}
