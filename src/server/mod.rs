//! The credential server: an endpoint in the ECS container-credentials format that the AWS SDKs
//! and CLIs ask again whenever their credentials near expiry (`serve`, `exec --server`).
//!
//! The format (botocore `ContainerProvider`, aws-config `ecs.rs`; /work/shared/PROTOCOLS.md):
//! the client reads `AWS_CONTAINER_CREDENTIALS_FULL_URI`, sends `GET` with
//! `Authorization: <AWS_CONTAINER_AUTHORIZATION_TOKEN>`, and wants `200` with
//! `{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}` (RFC 3339). Plain http only to a
//! loopback IP literal (or the ECS/EKS link-local addresses), so the URL says `127.0.0.1`.
//!
//! Security model, checked on every request, in this order:
//! 1. `Host` must be an IP literal (loopback unless `--listen`) or `localhost`, with our port:
//!    a web page cannot reach the server through DNS rebinding, whose Host is a name.
//! 2. `Authorization` must equal the token (≥ 128 bits from the OS, new each run), compared
//!    in constant time; missing or wrong → 403 with a body that says nothing more.
//! 3. `GET /` only. No CORS headers, ever: browsers keep cross-origin pages from reading.
//!
//! The token leaves the process only in the child's environment (`exec --server`) or on
//! stdout (`serve`, for the user to eval), never in argv, stderr or the access log; keys never
//! reach the log either. Credentials come from a [`Session`], which refreshes ahead of expiry
//! with one upstream call for any number of waiting requests and never hands out expired keys.
//! When the source needs a person (MFA session expired, SSO token revoked) the answer is an
//! error JSON `{"code", "message"}` naming the command that fixes it, and the server keeps
//! running, so the next request after the fix succeeds.

mod start;

pub(crate) use start::start;

use crate::base::error::{Exit, Problem, classify};
use crate::base::secret::Secret;
use crate::chain::{ChainFailure, Resolution, Session};
use crate::output::Variables;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::net::TcpListener;

/// The one path served.
pub(crate) const PATH: &str = "/";

/// Connections open at once. At the limit the oldest connection that has not sent a request
/// is closed for the new one; only when every one is serving a request does a new one wait in
/// the kernel's accept queue. (Lowered to fit the open-file limit, see [`connection_limit`].)
const MAX_CONNECTIONS: usize = 1024;

/// Connections from one address that have not sent a request (for [`SILENT_AFTER`]); more close
/// the oldest of them. (On 127.0.0.1 every client has the same address: then this is the bound on silent
/// connections, below [`MAX_CONNECTIONS`], so a flood of them leaves room for real clients.)
const MAX_SILENT_PER_PEER: usize = 256;

/// A client gets this long to send its request headers, and an idle keep-alive connection this
/// long to send the next request; a silent socket is closed then.
const HEADER_TIMEOUT: Duration = Duration::from_secs(2);

/// Credentials without an expiry (a session token from the environment) are handed out as if
/// they expired this soon, so clients ask again (the format requires an Expiration).
const UNKNOWN_EXPIRY_LEASE: Duration = Duration::from_secs(15 * 60);

/// Where and how to listen.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// `--listen ADDR`: a non-loopback address (a container network). `None`: 127.0.0.1.
    pub listen: Option<SocketAddr>,
    /// The port on 127.0.0.1 when `listen` is `None` (0: any free one).
    pub port: u16,
    /// Access log on stderr.
    pub verbose: bool,
}

/// A bound endpoint, not yet serving.
pub(crate) struct Endpoint {
    listener: TcpListener,
    addr: SocketAddr,
    token: Secret,
    verbose: bool,
}

impl Endpoint {
    /// Bind the address and make this run's token.
    pub(crate) async fn bind(options: &Options) -> anyhow::Result<Endpoint> {
        let wanted = options.listen.unwrap_or(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            options.port,
        ));
        let listener = TcpListener::bind(wanted).await.map_err(|err| {
            Problem::failure(format!("cannot listen on {wanted}: {err}"))
                .hint("choose another port, or 0 for any free one")
        })?;
        let addr = listener.local_addr()?;
        Ok(Endpoint {
            listener,
            addr,
            token: new_token()?,
            verbose: options.verbose,
        })
    }

    /// `AWS_CONTAINER_CREDENTIALS_FULL_URI`: `http://127.0.0.1:PORT/`. For an unspecified
    /// `--listen` address (0.0.0.0, ::) the loopback form; clients elsewhere use the address
    /// they reach this host by.
    pub(crate) fn url(&self) -> String {
        let ip = match self.addr.ip() {
            ip if ip.is_unspecified() && ip.is_ipv4() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip if ip.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}{PATH}", SocketAddr::new(ip, self.addr.port()))
    }

    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
    pub(crate) fn token(&self) -> &Secret {
        &self.token
    }

    /// Serve credentials from `session` until `shutdown` completes.
    pub(crate) async fn serve(
        self,
        session: Arc<Session>,
        shutdown: impl Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let state = Arc::new(State {
            token: self.token,
            port: self.addr.port(),
            loopback_only: self.addr.ip().is_loopback(),
            session,
            verbose: self.verbose,
            last_error: Mutex::new(None),
        });
        let limit = connection_limit();
        let slots = Arc::new(tokio::sync::Semaphore::new(limit));
        let mut open = Connections::default();
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                () = &mut shutdown => return Ok(()),
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    // Out of file descriptors and the like: try again shortly.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
            };
            open.make_room(peer.ip(), slots.available_permits() == 0);
            let permit = tokio::select! {
                () = &mut shutdown => return Ok(()),
                permit = slots.clone().acquire_owned() => permit?,
            };
            let _ = stream.set_nodelay(true);
            let socket = crate::os::peer::raw_socket(&stream);
            let state = state.clone();
            let asked = Arc::new(AtomicBool::new(false));
            let flag = asked.clone();
            let task = tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    flag.store(true, Ordering::Relaxed);
                    let state = state.clone();
                    async move { Ok::<_, Infallible>(state.answer(&req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
                drop(permit);
            });
            open.add(Open {
                peer: peer.ip(),
                socket,
                since: std::time::Instant::now(),
                task: task.abort_handle(),
                asked,
            });
        }
    }
}

/// The connections open now, oldest first, for [`Connections::make_room`].
#[derive(Default)]
struct Connections(std::collections::VecDeque<Open>);

struct Open {
    peer: IpAddr,
    /// The connection's socket, owned by its task (looked at, never read or closed here).
    socket: crate::os::peer::RawSocket,
    since: std::time::Instant,
    task: tokio::task::AbortHandle,
    /// Set once the connection has sent a request (it is then never closed to make room).
    asked: Arc<AtomicBool>,
}

/// A connection is silent (may be closed to make room) once it has been open this long without
/// a request, and none is waiting in its socket: a real client's request follows its connect
/// within a few milliseconds, even when a flood of connections keeps the server from reading it
/// at once.
const SILENT_AFTER: Duration = Duration::from_millis(200);

impl Open {
    /// Open for [`SILENT_AFTER`] without a request (cheap: no system call).
    fn quiet(&self, now: std::time::Instant) -> bool {
        !self.asked.load(Ordering::Relaxed) && now.duration_since(self.since) >= SILENT_AFTER
    }

    /// [`Open::quiet`], and nothing waiting in its socket.
    fn silent(&self, now: std::time::Instant) -> bool {
        self.quiet(now) && !crate::os::peer::has_pending(self.socket)
    }
}

impl Connections {
    fn add(&mut self, open: Open) {
        self.0.push_back(open);
    }

    /// Before serving a new connection from `peer`: close the oldest silent connection of that
    /// address when it has [`MAX_SILENT_PER_PEER`] of them, and the oldest silent one of all
    /// when every slot is taken (`full`), so silent sockets never keep a real client waiting.
    /// Dropping its task drops the connection and its slot.
    fn make_room(&mut self, peer: IpAddr, full: bool) {
        // Finished tasks first: a socket looked at below is still open (on the current-thread
        // runtime no task runs while this does).
        self.0.retain(|conn| !conn.task.is_finished());
        let now = std::time::Instant::now();
        let of_peer = self
            .0
            .iter()
            .filter(|conn| conn.peer == peer && conn.quiet(now))
            .count();
        // The oldest silent one (the socket is looked at only for the candidates, oldest first).
        let victim = if of_peer >= MAX_SILENT_PER_PEER {
            self.0
                .iter()
                .position(|conn| conn.peer == peer && conn.silent(now))
        } else if full {
            self.0.iter().position(|conn| conn.silent(now))
        } else {
            None
        };
        if let Some(conn) = victim.and_then(|index| self.0.remove(index)) {
            conn.task.abort();
        }
    }
}

/// [`MAX_CONNECTIONS`], or fewer when the process may not open that many files: each
/// connection is one descriptor, and 64 are kept for the rest (the listener, the upstream
/// calls, a `credential_process`).
fn connection_limit() -> usize {
    let files = crate::os::open_file_limit();
    match files {
        Some(files) => MAX_CONNECTIONS
            .min(files.saturating_sub(64) as usize)
            .max(16),
        None => MAX_CONNECTIONS,
    }
}

/// Variables that would make an SDK choose other credentials than the endpoint's (or another
/// container endpoint, or another token): cleared for `exec --server`, unset by `serve`'s lines.
pub(crate) const DISPLACED: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
];

/// What points an SDK at `endpoint`: the URL, the token, the region; and what to clear.
pub(crate) fn variables(endpoint: &Endpoint, region: Option<&str>) -> Variables<'static> {
    let mut set = vec![
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", endpoint.url()),
        (
            "AWS_CONTAINER_AUTHORIZATION_TOKEN",
            endpoint.token().expose().to_string(),
        ),
    ];
    if let Some(region) = region {
        set.push(("AWS_REGION", region.to_string()));
        set.push(("AWS_DEFAULT_REGION", region.to_string()));
    }
    Variables {
        set,
        unset: DISPLACED.to_vec(),
    }
}

/// 32 bytes from the OS, hex: 256 bits, new for every run.
fn new_token() -> anyhow::Result<Secret> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|err| Problem::failure(format!("no system random source: {err}")))?;
    Ok(Secret::new(hex::encode(bytes)))
}

/// Equal in time that depends only on the length (the token's length is no secret).
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    if given.len() != expected.len() {
        return false;
    }
    let diff = given
        .iter()
        .zip(expected)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(diff) == 0
}

/// A Host header we answer: an IP literal or `localhost`, with our port (absent means 80).
/// Bound to loopback, the IP must be a loopback one. A name other than `localhost` is what a
/// DNS-rebinding page would send, so it is refused.
fn host_allowed(host: &str, port: u16, loopback_only: bool) -> bool {
    if host.contains('@') {
        return false;
    }
    let Ok(authority) = host.parse::<http::uri::Authority>() else {
        return false;
    };
    if authority.port_u16().unwrap_or(80) != port {
        return false;
    }
    let name = authority.host();
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let literal = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    match literal.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback() || !loopback_only,
        Err(_) => false,
    }
}

/// The container-credentials document.
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct Document<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    token: &'a str,
    expiration: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<&'a str>,
}

/// What the endpoint answers instead of credentials.
#[derive(Debug, serde::Serialize, PartialEq, Eq)]
pub(crate) struct ErrorBody {
    pub code: &'static str,
    pub message: String,
}

struct State {
    token: Secret,
    port: u16,
    loopback_only: bool,
    session: Arc<Session>,
    verbose: bool,
    /// The last source failure written to stderr, so a failing source is reported once, not
    /// on every request.
    last_error: Mutex<Option<String>>,
}

impl State {
    async fn answer(&self, req: &Request<Incoming>) -> Response<Full<Bytes>> {
        let now = self.session.context().now();
        let (response, served) = self.respond(req, now).await;
        if self.verbose {
            // Time, method, path, status and expiry: never keys, tokens or query strings.
            let expiry = served
                .map(|t| format!(" expires {}", crate::base::time::rfc3339(t)))
                .unwrap_or_default();
            eprintln!(
                "{} {} {} {}{expiry}",
                crate::base::time::rfc3339(SystemTime::now()),
                req.method(),
                printable(req.uri().path()),
                response.status().as_u16(),
            );
        }
        response
    }

    async fn respond(
        &self,
        req: &Request<Incoming>,
        now: SystemTime,
    ) -> (Response<Full<Bytes>>, Option<SystemTime>) {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok());
        if !host.is_some_and(|h| host_allowed(h, self.port, self.loopback_only)) {
            return (forbidden(), None);
        }
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !same_secret(given, self.token.expose().as_bytes()) {
            return (forbidden(), None);
        }
        if req.method() != Method::GET {
            return (
                error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    &ErrorBody {
                        code: "MethodNotAllowed",
                        message: "only GET is served".into(),
                    },
                ),
                None,
            );
        }
        if req.uri().path() != PATH {
            return (
                error(
                    StatusCode::NOT_FOUND,
                    &ErrorBody {
                        code: "NotFound",
                        message: format!("credentials are served at {PATH}"),
                    },
                ),
                None,
            );
        }
        match self.session.credentials(now).await {
            Ok(resolution) => match document(&resolution, now) {
                Ok((body, expiry)) => (ok(body), Some(expiry)),
                Err(body) => (self.failed(StatusCode::INTERNAL_SERVER_ERROR, body), None),
            },
            Err(failure) => {
                let (status, body) = failure_body(&failure);
                (self.failed(status, body), None)
            }
        }
    }

    /// An error answer; its message also goes to stderr once, until it changes.
    fn failed(&self, status: StatusCode, body: ErrorBody) -> Response<Full<Bytes>> {
        let mut last = self
            .last_error
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if last.as_deref() != Some(body.message.as_str()) {
            eprintln!(
                "aws-cred server: answering {} {}: {}",
                status.as_u16(),
                body.code,
                printable(&body.message)
            );
            *last = Some(body.message.clone());
        }
        error(status, &body)
    }
}

/// The credentials as the SDKs want them, and the expiry they were given.
fn document(resolution: &Resolution, now: SystemTime) -> Result<(Vec<u8>, SystemTime), ErrorBody> {
    let creds = &resolution.credentials;
    let Some(token) = creds.session_token() else {
        return Err(long_term_refused(&resolution.location));
    };
    let expiry = creds.expiry().unwrap_or(now + UNKNOWN_EXPIRY_LEASE);
    let doc = Document {
        access_key_id: creds.access_key_id(),
        secret_access_key: creds.secret_access_key(),
        token,
        expiration: crate::base::time::rfc3339(expiry),
        account_id: creds.account_id().map(|a| a.as_str()),
    };
    let body = serde_json::to_vec(&doc).expect("plain strings always serialize");
    Ok((body, expiry))
}

/// The endpoint hands out temporary credentials only: SDK clients require a `Token`.
pub(crate) fn long_term_refused(location: &str) -> ErrorBody {
    ErrorBody {
        code: "LongTermKeys",
        message: format!(
            "the credentials from {location} are long-term keys; the credential server hands out temporary credentials only. \
             Use a role profile (role_arn + source_profile), an MFA session (aws-cred mfa CODE) or SSO"
        ),
    }
}

/// A chain failure as an answer: 503 when a person has to act (the message names the
/// command), 502 when AWS or the network failed (retried on the next request), 500 for
/// configuration errors.
pub(crate) fn failure_body(failure: &ChainFailure) -> (StatusCode, ErrorBody) {
    let (exit, hint) = classify(&failure.error);
    let (status, code) = match exit {
        Exit::Expired => (StatusCode::SERVICE_UNAVAILABLE, "CredentialsExpired"),
        Exit::NoCredentials => (StatusCode::SERVICE_UNAVAILABLE, "NoCredentials"),
        Exit::Usage => (StatusCode::INTERNAL_SERVER_ERROR, "ConfigurationError"),
        _ => (StatusCode::BAD_GATEWAY, "SourceFailed"),
    };
    let mut message = crate::base::error::causes(failure.error.as_ref());
    if let Some(hint) = hint {
        message.push_str(" (");
        message.push_str(&hint.replace('\n', " "));
        message.push(')');
    }
    (status, ErrorBody { code, message })
}

/// Control characters escaped, for text from a request or a server shown on stderr.
fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

fn ok(body: Vec<u8>) -> Response<Full<Bytes>> {
    response(StatusCode::OK, body)
}

fn error(status: StatusCode, body: &ErrorBody) -> Response<Full<Bytes>> {
    response(
        status,
        serde_json::to_vec(body).expect("plain strings always serialize"),
    )
}

/// 403 for a wrong Host or token: the same body for every reason.
fn forbidden() -> Response<Full<Bytes>> {
    response(
        StatusCode::FORBIDDEN,
        br#"{"code":"Forbidden","message":"Forbidden"}"#.to_vec(),
    )
}

fn response(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_literals_and_localhost_with_our_port() {
        for host in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST:8080",
            "[::1]:8080",
            "127.1.2.3:8080",
        ] {
            assert!(host_allowed(host, 8080, true), "{host}");
        }
        for host in [
            "127.0.0.1:8081",
            "127.0.0.1",
            "evil.example:8080",
            "127.0.0.1.nip.io:8080",
            "10.0.0.1:8080",
            "",
            "127.0.0.1:8080/x",
            "user@127.0.0.1:8080",
        ] {
            assert!(!host_allowed(host, 8080, true), "{host}");
        }
    }

    #[test]
    fn listen_admits_other_ip_literals_but_never_names() {
        assert!(host_allowed("172.17.0.1:9911", 9911, false));
        assert!(host_allowed("169.254.170.2", 80, false));
        assert!(host_allowed("[fd00:ec2::23]:9911", 9911, false));
        assert!(!host_allowed("host.docker.internal:9911", 9911, false));
    }

    #[test]
    fn tokens_are_256_bits_and_new_each_time() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_eq!(a.expose().len(), 64);
        assert!(a.expose().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.expose(), b.expose());
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abcd", b"abcd"));
        assert!(!same_secret(b"abce", b"abcd"));
        assert!(!same_secret(b"abc", b"abcd"));
        assert!(!same_secret(b"", b"abcd"));
    }

    #[test]
    fn a_person_needed_is_503_with_the_fix_in_the_message() {
        let failure = ChainFailure {
            error: anyhow::Error::new(
                Problem::expired("profile admin needs an MFA session")
                    .hint("run: aws-cred mfa CODE --profile admin"),
            )
            .context("the profile link could not provide credentials"),
            trace: Default::default(),
        };
        let (status, body) = failure_body(&failure);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body.code, "CredentialsExpired");
        assert!(body.message.contains("aws-cred mfa CODE --profile admin"));
    }
}
