//! The loopback socket a browser is sent back to (RFC 8252 §7.3:
//! `http://127.0.0.1:PORT/PATH?…`), and the pages it answers with. It knows nothing of OAuth:
//! the flow gives a path and a [`Check`] of the query string (`auth::callback` is the OAuth
//! one: the `state`, then a `code` or an `error`), and a page to show when it is done.
//!
//! ```text
//! let mut listener = Listener::bind("/oauth/callback", check).await?;    // 127.0.0.1:<ephemeral>
//! let url = authorize_url(…, listener.redirect_uri(), …);                // open the browser
//! let arrival = listener.wait(deadline).await?;                          // Err(NoAnswer) at the deadline
//! let outcome = use(arrival.accepted);                                   // what `check` made of the query
//! arrival.respond(Page::success(…) or Page::failure(…)).await;          // the real outcome
//! ```
//!
//! The rules, each against a way a login went wrong (hardening issue items 15, 19–21):
//! - Connections are served concurrently (hyper's HTTP/1 server, one task each, at most
//!   [`MAX_CONNECTIONS`] at once, each bounded in time), so a browser's idle pre-connected
//!   socket or a slow local client never delays the login.
//! - A request for another path, or one the check refuses (another `state`), is answered 400
//!   and ignored: the listener keeps waiting for the right one until the deadline. Another
//!   local user can therefore not end a login by sending junk; [`NoAnswer`] counts what was
//!   refused.
//! - The first request the check accepts is handed to the flow as an [`Arrival`]; the browser's
//!   answer waits until the flow calls [`Arrival::respond`] with the outcome (up to
//!   [`VERDICT_TIMEOUT`]), so the page never claims success for a code the exchange then
//!   refused.
//!
//! - Only the user running aws-cred is served (issue 22, item 10): each connection's owner is
//!   looked up ([`crate::os::peer`]) and a connection of another local user is closed unread
//!   ([`NoAnswer::other_user`] counts them). Where the platform does not say, all are served.
//! - [`HandOff`]: the browser is started on a one-time loopback URL that redirects (303) to the
//!   real page, so what the real URL carries (the `state` and PKCE challenge of a sign-in, the
//!   sign-in token of a console URL) is never in a command line that `ps` shows. It is served
//!   once, to this user, then answers 410.
//!
//! The hand-off target is a [`Secret`], and what a check accepts is the flow's (the OAuth
//! check keeps the code as a `Secret`); nothing here logs or prints.

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
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

/// How long a connection may take to send its request head.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the browser's answer waits for the flow's verdict ([`Arrival::respond`]).
pub(crate) const VERDICT_TIMEOUT: Duration = Duration::from_secs(120);
/// Connections served at once; more are closed at once until some finish.
pub(crate) const MAX_CONNECTIONS: usize = 64;
/// The longest request head read (hyper's smallest buffer is 8 KiB).
const MAX_HEAD: usize = 16 * 1024;

/// How long a hand-off waits for the browser before it closes (the flow may still be waiting
/// for the sign-in's callback, on its own listener).
pub(crate) const HANDOFF_LIFETIME: Duration = Duration::from_secs(600);

/// A listener on `127.0.0.1`, waiting for one browser redirect.
pub(crate) struct Listener<T> {
    redirect_uri: String,
    arrivals: mpsc::Receiver<Arrival<T>>,
    shared: Arc<Shared<T>>,
    _server: Arc<Server>,
}

/// A one-time page on `127.0.0.1` that sends the browser on to the real URL (see the module
/// docs); the server stops when this is dropped.
#[must_use = "the hand-off stops when dropped: wait for it (served) or detach it"]
pub(crate) struct HandOff {
    url: String,
    served: watch::Receiver<bool>,
    shared: Arc<Shared<()>>,
    server: Arc<Server>,
}

/// Why a request for the listener's path is not the answer, with the text the browser shows:
/// counted as a wrong `state`, or as another refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    WrongState(&'static str),
    Other(&'static str),
}

/// The flow's judgement of a request's query string (without the `?`): what it carries (for
/// the flow's [`Arrival`]), or why it is not the answer.
pub(crate) type Check<T> = Box<dyn Fn(&str) -> Result<T, Refused> + Send + Sync>;

/// The request with the right path that the check accepted; the browser waits for
/// [`Arrival::respond`].
#[derive(Debug)]
pub(crate) struct Arrival<T> {
    /// What the check made of its query string.
    pub accepted: T,
    reply: oneshot::Sender<Page>,
    written: oneshot::Receiver<()>,
    // Keeps the server (and so this connection) running until the page is sent.
    _server: Arc<Server>,
}

/// The page the browser shows: a title and one paragraph of plain text (escaped here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page {
    status: u16,
    title: String,
    text: String,
}

/// The deadline passed without the right request; what was refused meanwhile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct NoAnswer {
    /// Requests for the callback path whose `state` was missing or another.
    pub wrong_state: usize,
    /// Other requests refused (another path or method, no code and no error, a second answer).
    pub other: usize,
    /// Connections from another local user, closed unread.
    pub other_user: usize,
}

impl<T: Send + 'static> Listener<T> {
    /// Listen on `127.0.0.1` on a port the system picks, for `GET {path}?…` that `check`
    /// accepts.
    pub(crate) async fn bind(path: &str, check: Check<T>) -> std::io::Result<Listener<T>> {
        let (sender, arrivals) = mpsc::channel(1);
        let callback = Callback {
            path: path.to_string(),
            check,
            taken: AtomicBool::new(false),
            arrivals: sender,
        };
        let (port, shared, server) = start(Some(callback), None).await?;
        Ok(Listener {
            redirect_uri: format!("http://127.0.0.1:{port}{path}"),
            arrivals,
            shared,
            _server: server,
        })
    }

    /// `http://127.0.0.1:PORT/PATH`, for the authorize URL.
    pub(crate) fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Wait until `deadline` for the request with the right path that the check accepts.
    pub(crate) async fn wait(&mut self, deadline: Instant) -> Result<Arrival<T>, NoAnswer> {
        match tokio::time::timeout_at(deadline, self.arrivals.recv()).await {
            Ok(Some(arrival)) => Ok(arrival),
            // The server task cannot end before the listener; treat it as no answer.
            Ok(None) | Err(_) => Err(self.refused()),
        }
    }

    /// What was refused so far.
    pub(crate) fn refused(&self) -> NoAnswer {
        self.shared.refused()
    }
}

impl HandOff {
    /// Serve `http://127.0.0.1:PORT/aws-cred/<random>` once, as a 303 to `target`.
    pub(crate) async fn start(target: &Secret) -> std::io::Result<HandOff> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(std::io::Error::other)?;
        let path = format!("/aws-cred/{}", hex::encode(nonce));
        // The Location header must be able to carry it (a URL is ASCII).
        http::HeaderValue::from_str(target.expose())
            .map_err(|_| std::io::Error::other("the URL cannot be sent as a redirect"))?;
        let (sender, served) = watch::channel(false);
        let once = Once {
            path: path.clone(),
            target: target.clone(),
            used: AtomicBool::new(false),
            served: sender,
        };
        let (port, shared, server) = start(None, Some(once)).await?;
        Ok(HandOff {
            url: format!("http://127.0.0.1:{port}{path}"),
            served,
            shared,
            server,
        })
    }

    /// The URL to give the browser (it carries nothing but the port and a random path).
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Wait until `deadline` for the redirect to have been sent; whether it was.
    pub(crate) async fn served(&mut self, deadline: Instant) -> bool {
        let wait = self.served.wait_for(|served| *served);
        matches!(tokio::time::timeout_at(deadline, wait).await, Ok(Ok(_)))
    }

    /// What was refused so far.
    pub(crate) fn refused(&self) -> NoAnswer {
        self.shared.refused()
    }

    /// Keep serving in the background until the redirect was sent or [`HANDOFF_LIFETIME`]
    /// passed (or the program ends), for a flow that goes on meanwhile.
    pub(crate) fn detach(mut self) {
        tokio::spawn(async move {
            let _ = self.served(Instant::now() + HANDOFF_LIFETIME).await;
            drop(self.server);
        });
    }
}

impl<T> Arrival<T> {
    /// Answer the browser with `page`, and wait (a few seconds at most) until it is sent.
    pub(crate) async fn respond(self, page: Page) {
        if self.reply.send(page).is_ok() {
            let _ = tokio::time::timeout(REQUEST_TIMEOUT, self.written).await;
        }
    }
}

impl Page {
    /// 200: the flow got what it needed.
    pub(crate) fn success(title: impl Into<String>, text: impl Into<String>) -> Page {
        Page {
            status: 200,
            title: title.into(),
            text: text.into(),
        }
    }

    /// 400: the sign-in did not work; `text` says what to do (usually: back to the terminal).
    pub(crate) fn failure(title: impl Into<String>, text: impl Into<String>) -> Page {
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

impl NoAnswer {
    /// `"; N connection(s) from another user …"` when there were any, else empty: for the end
    /// of a message that says the wait ended.
    pub(crate) fn other_users(&self) -> String {
        if self.other_user == 0 {
            return String::new();
        }
        format!(
            "; {} connection(s) from another user on this computer were refused",
            self.other_user
        )
    }
}

impl std::fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} request(s) with another state, {} other request(s) refused, {} connection(s) from another user closed",
            self.wrong_state, self.other, self.other_user
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

struct Shared<T> {
    callback: Option<Callback<T>>,
    handoff: Option<Once>,
    wrong_state: AtomicUsize,
    other: AtomicUsize,
    other_user: AtomicUsize,
    /// The server, for the arrival to keep it running (weak: the server's task holds this).
    server: OnceLock<Weak<Server>>,
}

impl<T> Shared<T> {
    fn refused(&self) -> NoAnswer {
        NoAnswer {
            wrong_state: self.wrong_state.load(Ordering::Relaxed),
            other: self.other.load(Ordering::Relaxed),
            other_user: self.other_user.load(Ordering::Relaxed),
        }
    }
}

/// The redirect a [`Listener`] waits for.
struct Callback<T> {
    path: String,
    check: Check<T>,
    /// The right request came (later ones are refused).
    taken: AtomicBool,
    arrivals: mpsc::Sender<Arrival<T>>,
}

/// A [`HandOff`]'s one page.
struct Once {
    path: String,
    target: Secret,
    used: AtomicBool,
    /// Set once the redirect was written.
    served: watch::Sender<bool>,
}

/// Bind `127.0.0.1:0` and serve `callback` and/or `handoff` until the server is dropped.
async fn start<T: Send + 'static>(
    callback: Option<Callback<T>>,
    handoff: Option<Once>,
) -> std::io::Result<(u16, Arc<Shared<T>>, Arc<Server>)> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let port = listener.local_addr()?.port();
    let shared = Arc::new(Shared {
        callback,
        handoff,
        wrong_state: AtomicUsize::new(0),
        other: AtomicUsize::new(0),
        other_user: AtomicUsize::new(0),
        server: OnceLock::new(),
    });
    let server = Arc::new(Server(tokio::spawn(accept(listener, shared.clone()))));
    let _ = shared.server.set(Arc::downgrade(&server));
    Ok((port, shared, server))
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
async fn accept<T: Send + 'static>(listener: TcpListener, shared: Arc<Shared<T>>) {
    let Ok(local) = listener.local_addr() else {
        return;
    };
    let mut connections = JoinSet::new();
    let mut open: std::collections::VecDeque<Open> = std::collections::VecDeque::new();
    loop {
        while connections.try_join_next().is_some() {}
        open.retain(|conn| !conn.task.is_finished());
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
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
        let task = connections.spawn(serve(stream, local, peer, shared.clone(), asked.clone()));
        open.push_back(Open { task, asked });
    }
}

/// What to do once a connection's answer is written (or the connection ended).
type AfterWrite = Arc<Mutex<Option<Box<dyn FnOnce() + Send>>>>;

/// One connection, one request (no keep-alive), bounded in time; `asked` is set when its
/// request has arrived. A connection of another user is closed before anything is read.
async fn serve<T: Send + 'static>(
    stream: TcpStream,
    local: std::net::SocketAddr,
    peer: std::net::SocketAddr,
    shared: Arc<Shared<T>>,
    asked: Arc<AtomicBool>,
) {
    let owner = tokio::task::spawn_blocking(move || crate::os::peer::owner(local, peer)).await;
    if !owner.is_ok_and(|owner| owner.allowed()) {
        asked.store(true, Ordering::Relaxed);
        shared.other_user.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let written: AfterWrite = Arc::default();
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
    let after = written.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(after) = after {
        after();
    }
}

async fn handle<T: Send + 'static>(
    shared: Arc<Shared<T>>,
    written: AfterWrite,
    request: Request<Incoming>,
) -> Result<Response<String>, Infallible> {
    let refuse = |counter: &AtomicUsize, text: &str| {
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(render(&Page::failure("Not the sign-in's answer", text)))
    };
    let path = request.uri().path();
    if request.method() == Method::GET
        && let Some(once) = shared.handoff.as_ref().filter(|once| once.path == path)
    {
        return Ok(hand_off(once, &written));
    }
    let Some(callback) = shared
        .callback
        .as_ref()
        .filter(|callback| request.method() == Method::GET && callback.path == path)
    else {
        return refuse(
            &shared.other,
            "This address only serves aws-cred's sign-in; this request was ignored.",
        );
    };
    let query = request.uri().query().unwrap_or("");
    match (callback.check)(query) {
        Ok(accepted) => arrive(&shared, callback, &written, accepted).await,
        Err(Refused::WrongState(text)) => refuse(&shared.wrong_state, text),
        Err(Refused::Other(text)) => refuse(&shared.other, text),
    }
}

/// The accepted request: handed to the flow, the browser's page waiting for its verdict.
async fn arrive<T>(
    shared: &Shared<T>,
    callback: &Callback<T>,
    written: &AfterWrite,
    accepted: T,
) -> Result<Response<String>, Infallible> {
    let refuse = |text: &str| {
        shared.other.fetch_add(1, Ordering::Relaxed);
        Ok(render(&Page::failure("Not the sign-in's answer", text)))
    };
    let Some(server) = shared.server.get().and_then(Weak::upgrade) else {
        return refuse("aws-cred is no longer waiting for this sign-in. Go back to the terminal.");
    };
    if callback.taken.swap(true, Ordering::SeqCst) {
        return refuse("This sign-in was already answered; go back to the terminal.");
    }
    let (reply, verdict) = oneshot::channel();
    let (done, done_rx) = oneshot::channel();
    *written.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(move || {
        let _ = done.send(());
    }));
    let arrival = Arrival {
        accepted,
        reply,
        written: done_rx,
        _server: server,
    };
    let page = if callback.arrivals.send(arrival).await.is_ok() {
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

/// The hand-off's one answer: 303 to the target the first time (marked served once written),
/// 410 after.
fn hand_off(once: &Once, written: &AfterWrite) -> Response<String> {
    if once.used.swap(true, Ordering::SeqCst) {
        let page = Page {
            status: 410,
            title: "Link already used".into(),
            text: "This one-time link of aws-cred was already opened. Go back to the terminal and run the command again for a new one.".into(),
        };
        return render(&page);
    }
    let served = once.served.clone();
    *written.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(move || {
        let _ = served.send(true);
    }));
    let mut response = render(&Page::success(
        "Opening the page",
        "Your browser is being sent on to the page aws-cred opened.",
    ));
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(location) = http::HeaderValue::from_str(once.target.expose()) {
        response
            .headers_mut()
            .insert(http::header::LOCATION, location);
    }
    response.headers_mut().insert(
        http::header::REFERRER_POLICY,
        http::HeaderValue::from_static("no-referrer"),
    );
    response
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
pub(crate) mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// One raw GET to a loopback listener; the whole response as text.
    pub(crate) async fn get(uri: &str, target: &str) -> String {
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

    /// The hand-off answers once, with a 303 to the target and nothing of it in the URL it
    /// hands out; later requests get 410, other paths 400; `served` turns true once written.
    #[tokio::test]
    async fn a_hand_off_redirects_once() {
        let target = Secret::new("https://example.com/authorize?state=s3cret&code_challenge=c");
        let mut handoff = HandOff::start(&target).await.unwrap();
        let url = handoff.url().to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        assert!(
            !url.contains("s3cret") && !url.contains("example.com"),
            "{url}"
        );
        let path = url::Url::parse(&url).unwrap().path().to_string();
        assert_eq!(path.len(), "/aws-cred/".len() + 32, "{path}");
        assert!(
            !handoff
                .served(Instant::now() + Duration::from_millis(50))
                .await
        );
        let wrong = get(&url, "/aws-cred/0000").await;
        assert!(wrong.starts_with("HTTP/1.1 400"), "{wrong}");
        let first = get(&url, &path).await;
        assert!(first.starts_with("HTTP/1.1 303"), "{first}");
        assert!(
            first.to_ascii_lowercase().contains(
                "location: https://example.com/authorize?state=s3cret&code_challenge=c\r\n"
            ),
            "{first}"
        );
        assert!(
            handoff
                .served(Instant::now() + Duration::from_secs(10))
                .await
        );
        let again = get(&url, &path).await;
        assert!(again.starts_with("HTTP/1.1 410"), "{again}");
        assert!(!again.contains("s3cret"), "{again}");
        assert_eq!(handoff.refused().other_user, 0);
        // A target that cannot be a Location header is refused up front.
        assert!(HandOff::start(&Secret::new("https://x/\n")).await.is_err());
    }

    #[test]
    fn pages_escape_html() {
        assert_eq!(html_escape("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
    }
}
