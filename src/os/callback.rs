//! The loopback listener an OAuth authorization-code flow sends the browser back to
//! (RFC 8252 §7.3: `http://127.0.0.1:PORT/PATH?code=…&state=…`). It knows nothing of the flow
//! that uses it (SSO's `sso-login` today, `aws-cred login` next): a path, the `state` the flow
//! put in its authorize URL, and a page to show when the flow is done.
//!
//! ```text
//! let mut listener = Listener::bind("/oauth/callback", &state).await?;   // 127.0.0.1:<ephemeral>
//! let url = authorize_url(…, listener.redirect_uri(), &state, …);        // open the browser
//! let arrival = listener.wait(deadline).await?;                          // Err(NoAnswer) at the deadline
//! let outcome = match &arrival.answer {
//!     Answer::Code(code) => exchange(code).await,                        // e.g. CreateToken
//!     Answer::Error(error) => Err(error.in_words()),                     // the IdP said no
//! };
//! arrival.respond(Page::success(…) or Page::failure(…)).await;          // the real outcome
//! ```
//!
//! The rules, each against a way a login went wrong (hardening issue items 15, 19–21):
//! - Connections are served concurrently (hyper's HTTP/1 server, one task each, at most
//!   [`MAX_CONNECTIONS`] at once, each bounded in time), so a browser's idle pre-connected
//!   socket or a slow local client never delays the login.
//! - A request for another path, or without the expected `state`, is answered 400 and ignored:
//!   the listener keeps waiting for the right one until the deadline. Another local user can
//!   therefore not end a login by sending junk; [`NoAnswer`] counts what was refused.
//! - The first request with the right state (a `code`, or the IdP's `error`) is handed to the
//!   flow as an [`Arrival`]; the browser's answer waits until the flow calls
//!   [`Arrival::respond`] with the outcome (up to [`VERDICT_TIMEOUT`]), so the page never claims
//!   success for a code the exchange then refused.
//! - The IdP's `error`/`error_description` reach the flow as given: they are untrusted text
//!   (escape them before showing them in a terminal); [`OAuthError::in_words`] says what
//!   happened in words.
//!
//! The code is a [`Secret`]; nothing here logs or prints.

use crate::base::secret::Secret;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

/// How long a connection may take to send its request head.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the browser's answer waits for the flow's verdict ([`Arrival::respond`]).
pub const VERDICT_TIMEOUT: Duration = Duration::from_secs(120);
/// Connections served at once; more are closed at once until some finish.
pub const MAX_CONNECTIONS: usize = 64;
/// The longest request head read (hyper's smallest buffer is 8 KiB).
const MAX_HEAD: usize = 16 * 1024;

/// A listener on `127.0.0.1`, waiting for one browser redirect.
pub struct Listener {
    redirect_uri: String,
    arrivals: mpsc::Receiver<Arrival>,
    shared: Arc<Shared>,
    _server: Arc<Server>,
}

/// The IdP's `error` (RFC 6749 §4.1.2.1) and `error_description`, as received (untrusted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub error: String,
    pub description: Option<String>,
}

/// What the right request carried.
#[derive(Debug)]
pub enum Answer {
    Code(Secret),
    Error(OAuthError),
}

/// The request with the right path and state; the browser waits for [`Arrival::respond`].
#[derive(Debug)]
pub struct Arrival {
    pub answer: Answer,
    reply: oneshot::Sender<Page>,
    written: oneshot::Receiver<()>,
    // Keeps the server (and so this connection) running until the page is sent.
    _server: Arc<Server>,
}

/// The page the browser shows: a title and one paragraph of plain text (escaped here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    status: u16,
    title: String,
    text: String,
}

/// The deadline passed without the right request; what was refused meanwhile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoAnswer {
    /// Requests for the callback path whose `state` was missing or another.
    pub wrong_state: usize,
    /// Other requests refused (another path or method, no code and no error, a second answer).
    pub other: usize,
}

impl Listener {
    /// Listen on `127.0.0.1` on a port the system picks, for `GET {path}?…&state={state}`.
    pub async fn bind(path: &str, state: &str) -> std::io::Result<Listener> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let (sender, arrivals) = mpsc::channel(1);
        let shared = Arc::new(Shared {
            path: path.to_string(),
            state: state.to_string(),
            taken: AtomicBool::new(false),
            arrivals: sender,
            wrong_state: AtomicUsize::new(0),
            other: AtomicUsize::new(0),
            server: OnceLock::new(),
        });
        let server = Arc::new(Server(tokio::spawn(accept(listener, shared.clone()))));
        let _ = shared.server.set(Arc::downgrade(&server));
        Ok(Listener {
            redirect_uri: format!("http://127.0.0.1:{port}{path}"),
            arrivals,
            shared,
            _server: server,
        })
    }

    /// `http://127.0.0.1:PORT/PATH`, for the authorize URL.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Wait until `deadline` for the request with the right path and state.
    pub async fn wait(&mut self, deadline: Instant) -> Result<Arrival, NoAnswer> {
        match tokio::time::timeout_at(deadline, self.arrivals.recv()).await {
            Ok(Some(arrival)) => Ok(arrival),
            // The server task cannot end before the listener; treat it as no answer.
            Ok(None) | Err(_) => Err(self.refused()),
        }
    }

    /// What was refused so far.
    pub fn refused(&self) -> NoAnswer {
        NoAnswer {
            wrong_state: self.shared.wrong_state.load(Ordering::Relaxed),
            other: self.shared.other.load(Ordering::Relaxed),
        }
    }
}

impl Arrival {
    /// Answer the browser with `page`, and wait (a few seconds at most) until it is sent.
    pub async fn respond(self, page: Page) {
        if self.reply.send(page).is_ok() {
            let _ = tokio::time::timeout(REQUEST_TIMEOUT, self.written).await;
        }
    }
}

impl Page {
    /// 200: the flow got what it needed.
    pub fn success(title: impl Into<String>, text: impl Into<String>) -> Page {
        Page {
            status: 200,
            title: title.into(),
            text: text.into(),
        }
    }

    /// 400: the sign-in did not work; `text` says what to do (usually: back to the terminal).
    pub fn failure(title: impl Into<String>, text: impl Into<String>) -> Page {
        Page {
            status: 400,
            title: title.into(),
            text: text.into(),
        }
    }

    fn html(&self) -> String {
        format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>aws-cred: {title}</title></head><body><h1>{title}</h1><p>{text}</p></body></html>",
            title = html_escape(&self.title),
            text = html_escape(&self.text)
        )
    }
}

impl OAuthError {
    /// What happened, in words, for a person (no raw OAuth code alone).
    pub fn in_words(&self) -> &'static str {
        match self.error.as_str() {
            "access_denied" => "the sign-in was denied or cancelled in the browser",
            "invalid_scope" => "the identity provider refused the requested scopes",
            "unauthorized_client" | "unsupported_response_type" => {
                "the identity provider does not allow this client to sign in this way"
            }
            "server_error" | "temporarily_unavailable" => {
                "the identity provider could not complete the sign-in just now"
            }
            _ => "the identity provider ended the sign-in with an error",
        }
    }
}

impl std::fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} request(s) with another state, {} other request(s) refused",
            self.wrong_state, self.other
        )
    }
}

/// The accept loop's task, stopped when the listener and every arrival are gone.
#[derive(Debug)]
struct Server(JoinHandle<()>);

impl Drop for Server {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Shared {
    path: String,
    state: String,
    /// The right request came (later ones are refused).
    taken: AtomicBool,
    arrivals: mpsc::Sender<Arrival>,
    wrong_state: AtomicUsize,
    other: AtomicUsize,
    /// The server, for the arrival to keep it running (weak: the server's task holds this).
    server: OnceLock<Weak<Server>>,
}

/// One open connection: its task, and whether it has sent its request yet.
struct Open {
    task: tokio::task::AbortHandle,
    asked: Arc<AtomicBool>,
}

/// Accept until aborted (the listener's lifetime bounds this loop); each connection gets its
/// own task, all of them aborted with this one. At [`MAX_CONNECTIONS`], the oldest connection
/// that has sent nothing is closed to make room, so a flood of silent connections cannot keep
/// the browser's redirect out; only when all of them have asked is a new one turned away.
async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    let mut open: std::collections::VecDeque<Open> = std::collections::VecDeque::new();
    loop {
        while connections.try_join_next().is_some() {}
        open.retain(|conn| !conn.task.is_finished());
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of descriptors and the like: do not spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        open.retain(|conn| !conn.task.is_finished());
        if open.len() >= MAX_CONNECTIONS {
            match open
                .iter()
                .position(|conn| !conn.asked.load(Ordering::Relaxed))
            {
                Some(silent) => {
                    if let Some(conn) = open.remove(silent) {
                        conn.task.abort();
                    }
                }
                None => {
                    drop(stream);
                    continue;
                }
            }
        }
        let asked = Arc::new(AtomicBool::new(false));
        let task = connections.spawn(serve(stream, shared.clone(), asked.clone()));
        open.push_back(Open { task, asked });
    }
}

/// One connection, one request (no keep-alive), bounded in time; `asked` is set when its
/// request has arrived.
async fn serve(stream: TcpStream, shared: Arc<Shared>, asked: Arc<AtomicBool>) {
    let written: Arc<Mutex<Option<oneshot::Sender<()>>>> = Arc::default();
    let slot = written.clone();
    let service = service_fn(move |request| {
        asked.store(true, Ordering::Relaxed);
        handle(shared.clone(), slot.clone(), request)
    });
    let connection = http1::Builder::new()
        .keep_alive(false)
        .timer(TokioTimer::new())
        .header_read_timeout(REQUEST_TIMEOUT)
        .max_buf_size(MAX_HEAD)
        .serve_connection(TokioIo::new(stream), service);
    let bound = REQUEST_TIMEOUT * 2 + VERDICT_TIMEOUT;
    let _ = tokio::time::timeout(bound, connection).await;
    let done = written.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(done) = done {
        let _ = done.send(());
    }
}

async fn handle(
    shared: Arc<Shared>,
    written: Arc<Mutex<Option<oneshot::Sender<()>>>>,
    request: Request<Incoming>,
) -> Result<Response<String>, Infallible> {
    let refuse = |counter: &AtomicUsize, text: &str| {
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(render(&Page::failure("Not the sign-in's answer", text)))
    };
    if request.method() != Method::GET || request.uri().path() != shared.path {
        return refuse(
            &shared.other,
            "This address only receives aws-cred's sign-in answer; this request was ignored.",
        );
    }
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let get = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    if !get("state").is_some_and(|s| same(s, &shared.state)) {
        return refuse(
            &shared.wrong_state,
            "This answer did not belong to the sign-in in progress (state mismatch); it was ignored and nothing was saved.",
        );
    }
    let answer = match (get("code"), get("error")) {
        (Some(code), _) => Answer::Code(Secret::new(code)),
        (None, Some(error)) => Answer::Error(OAuthError {
            error: error.to_string(),
            description: get("error_description").map(str::to_string),
        }),
        (None, None) => {
            return refuse(
                &shared.other,
                "This answer carried neither a code nor an error; it was ignored.",
            );
        }
    };
    let Some(server) = shared.server.get().and_then(Weak::upgrade) else {
        return refuse(
            &shared.other,
            "aws-cred is no longer waiting for this sign-in. Go back to the terminal.",
        );
    };
    if shared.taken.swap(true, Ordering::SeqCst) {
        return refuse(
            &shared.other,
            "This sign-in was already answered; go back to the terminal.",
        );
    }
    let (reply, verdict) = oneshot::channel();
    let (done, done_rx) = oneshot::channel();
    *written.lock().unwrap_or_else(|p| p.into_inner()) = Some(done);
    let arrival = Arrival {
        answer,
        reply,
        written: done_rx,
        _server: server,
    };
    let page = if shared.arrivals.send(arrival).await.is_ok() {
        match tokio::time::timeout(VERDICT_TIMEOUT, verdict).await {
            Ok(Ok(page)) => page,
            _ => Page::failure(
                "Sign-in not finished",
                "aws-cred stopped before it could finish the sign-in. Go back to the terminal to see what happened.",
            ),
        }
    } else {
        Page::failure(
            "Sign-in not finished",
            "aws-cred is no longer waiting for this sign-in. Go back to the terminal.",
        )
    };
    Ok(render(&page))
}

fn render(page: &Page) -> Response<String> {
    let mut response = Response::new(page.html());
    *response.status_mut() = StatusCode::from_u16(page.status).unwrap_or(StatusCode::BAD_REQUEST);
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    response
}

/// Equal strings, compared in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// One raw GET to the listener; the whole response as text.
    async fn get(uri: &str, target: &str) -> String {
        let authority = uri
            .strip_prefix("http://")
            .and_then(|r| r.split('/').next())
            .unwrap();
        let mut stream = TcpStream::connect(authority).await.unwrap();
        let request = format!("GET {target} HTTP/1.1\r\nhost: {authority}\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        tokio::time::timeout(
            Duration::from_secs(10),
            stream.read_to_string(&mut response),
        )
        .await
        .unwrap()
        .unwrap();
        response
    }

    #[tokio::test]
    async fn ignores_what_is_not_the_answer_and_replies_with_the_verdict() {
        let mut listener = Listener::bind("/cb", "s-1").await.unwrap();
        let uri = listener.redirect_uri().to_string();
        assert!(
            uri.starts_with("http://127.0.0.1:") && uri.ends_with("/cb"),
            "{uri}"
        );
        let client = tokio::spawn(async move {
            let _idle =
                TcpStream::connect(uri.trim_start_matches("http://").trim_end_matches("/cb"))
                    .await
                    .unwrap();
            let mut refused = Vec::new();
            for target in [
                "/cb?code=x&state=s-2",
                "/cb?code=x",
                "/other?state=s-1",
                "/cb?state=s-1",
            ] {
                refused.push(get(&uri, target).await);
            }
            let answer = get(&uri, "/cb?code=c%26d&state=s-1").await;
            (refused, answer)
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        let arrival = listener.wait(deadline).await.unwrap();
        match &arrival.answer {
            Answer::Code(code) => assert_eq!(code.expose(), "c&d"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            listener.refused(),
            NoAnswer {
                wrong_state: 2,
                other: 2
            }
        );
        arrival.respond(Page::success("Done", "<all> good")).await;
        let (refused, answer) = client.await.unwrap();
        for response in refused {
            assert!(response.starts_with("HTTP/1.1 400"), "{response}");
        }
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("&lt;all&gt; good"), "{answer}");
        // Later answers are refused, and the deadline ends the wait.
        let late = Instant::now() + Duration::from_millis(50);
        assert!(listener.wait(late).await.is_err());
    }

    /// Issue 22, item 7: many silent connections (more than MAX_CONNECTIONS) do not keep the
    /// real redirect out.
    #[tokio::test]
    async fn silent_connections_do_not_keep_the_answer_out() {
        let mut listener = Listener::bind("/cb", "s-1").await.unwrap();
        let uri = listener.redirect_uri().to_string();
        let authority = uri
            .trim_start_matches("http://")
            .trim_end_matches("/cb")
            .to_string();
        let mut silent = Vec::new();
        for _ in 0..MAX_CONNECTIONS * 2 {
            silent.push(TcpStream::connect(&authority).await.unwrap());
        }
        // Let the listener take them all in.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let client = tokio::spawn(async move { get(&uri, "/cb?code=c&state=s-1").await });
        let arrival = listener
            .wait(Instant::now() + Duration::from_secs(10))
            .await
            .expect("the answer arrives");
        arrival.respond(Page::success("Done", "ok")).await;
        let answer = client.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        drop(silent);
    }

    #[tokio::test]
    async fn an_error_answer_and_a_dropped_arrival() {
        let mut listener = Listener::bind("/cb", "s").await.unwrap();
        let uri = listener.redirect_uri().to_string();
        let client = tokio::spawn(async move {
            get(
                &uri,
                "/cb?error=access_denied&error_description=no%1b&state=s",
            )
            .await
        });
        let arrival = listener
            .wait(Instant::now() + Duration::from_secs(20))
            .await
            .unwrap();
        match &arrival.answer {
            Answer::Error(e) => {
                assert_eq!(e.error, "access_denied");
                assert_eq!(e.description.as_deref(), Some("no\u{1b}"));
                assert!(e.in_words().contains("denied"));
            }
            other => panic!("{other:?}"),
        }
        drop(arrival);
        let page = client.await.unwrap();
        assert!(page.starts_with("HTTP/1.1 400"), "{page}");
        assert!(page.contains("Go back to the terminal"), "{page}");
    }

    #[test]
    fn pages_escape_html() {
        assert_eq!(html_escape("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
    }
}
