//! A loopback AWS console federation endpoint (IAM User Guide, "Enable custom identity broker
//! access to the AWS console"; ../shared/PROTOCOLS-login-federation.md part 2):
//!
//! - `GET /federation?Action=getSigninToken[&SessionDuration=N]&Session=<JSON>`: the `Session`
//!   JSON must hold exactly `sessionId`, `sessionKey`, `sessionToken`, and match credentials this
//!   fake was told about (their secret key and token). It refuses, with 400 as AWS does:
//!   unknown or mismatched credentials, GetSessionToken sessions, a `SessionDuration` outside
//!   900..=43200, and any `SessionDuration` for role-chained sessions and federation tokens.
//!   Otherwise `200 {"SigninToken": ...}`.
//! - `GET /federation?Action=login&Issuer&Destination&SigninToken`: a token it issued (once,
//!   within 15 minutes) → 302 to `Destination`; else 400.
//! - `GET /oauth?Action=logout&redirect_uri=..` → 302 to `redirect_uri`.
//!
//! Every request is recorded with the host it was meant for (`x-aws-cred-original-host` when
//! aws-cred's test redirect is on).
#![allow(dead_code)]

use crate::support::{FakeHttp, Request, Response, http_request, parse_urlencoded};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What kind of credentials the fake knows a key as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Role,
    ChainedRole,
    FederationToken,
    SessionToken,
}

#[derive(Clone, Debug)]
pub(crate) struct Known {
    pub secret: String,
    pub token: String,
    pub kind: Kind,
}

type Resolver = Box<dyn Fn(&str) -> Option<Known> + Send + Sync>;

/// One getSigninToken request as received.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    pub session: serde_json::Value,
    pub session_duration: Option<String>,
    /// The host the request was meant for (the test redirect's header), if redirected.
    pub original_host: Option<String>,
    pub original_scheme: Option<String>,
    pub status: u16,
}

#[derive(Default)]
struct State {
    known: HashMap<String, Known>,
    resolvers: Vec<Resolver>,
    seq: u64,
    /// SigninToken → (issued at, used).
    tokens: HashMap<String, (Instant, bool)>,
    seen: Vec<Seen>,
}

pub(crate) struct FakeFederation {
    pub http: FakeHttp,
    state: Arc<Mutex<State>>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

fn bad(message: &str) -> Response {
    Response::text(400, message)
}

impl FakeFederation {
    pub(crate) fn start() -> FakeFederation {
        let state: Arc<Mutex<State>> = Arc::default();
        let handler_state = state.clone();
        let http = FakeHttp::new(move |req| handle(&handler_state, req));
        FakeFederation { http, state }
    }

    pub(crate) fn url(&self) -> String {
        self.http.url()
    }

    /// Accept these credentials as `kind`.
    pub(crate) fn know(&self, access_key_id: &str, secret: &str, token: &str, kind: Kind) {
        lock(&self.state).known.insert(
            access_key_id.to_string(),
            Known {
                secret: secret.to_string(),
                token: token.to_string(),
                kind,
            },
        );
    }

    /// Ask `resolver` about keys not told with [`know`](Self::know) (credentials another fake
    /// issues while the test runs).
    pub(crate) fn know_with(
        &self,
        resolver: impl Fn(&str) -> Option<Known> + Send + Sync + 'static,
    ) {
        lock(&self.state).resolvers.push(Box::new(resolver));
    }

    /// Every getSigninToken request, in order.
    pub(crate) fn seen(&self) -> Vec<Seen> {
        lock(&self.state).seen.clone()
    }

    /// Every SigninToken handed out.
    pub(crate) fn signin_tokens(&self) -> Vec<String> {
        lock(&self.state).tokens.keys().cloned().collect()
    }

    /// GET a URL aws-cred printed, on this fake (its scheme and host replaced by the fake's),
    /// as a browser would: the answer, not following redirects.
    pub(crate) fn visit(&self, url: &str) -> Response {
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let path = rest.find('/').map_or("/", |i| &rest[i..]);
        http_request("GET", &format!("{}{path}", self.url()), &[], b"").expect("visit the fake")
    }
}

fn handle(state: &Mutex<State>, req: &Request) -> Response {
    if req.method != "GET" {
        return Response::text(405, "method not allowed");
    }
    match (req.path.as_str(), req.query_param("Action")) {
        ("/federation", Some("getSigninToken")) => get_signin_token(state, req),
        ("/federation", Some("login")) => login(state, req),
        ("/oauth", Some("logout")) => match req.query_param("redirect_uri") {
            Some(to) => Response::new(302).with_header("location", to),
            None => bad("redirect_uri is required"),
        },
        _ => Response::text(404, "not found"),
    }
}

fn get_signin_token(state: &Mutex<State>, req: &Request) -> Response {
    let mut st = lock(state);
    let duration = req.query_param("SessionDuration").map(str::to_string);
    let raw = req.query_param("Session").unwrap_or_default().to_string();
    let session: serde_json::Value = serde_json::from_str(&raw).unwrap_or(serde_json::Value::Null);
    let (answer, status) = check(&st, &session, duration.as_deref());
    let answer = match answer {
        Ok(()) => {
            st.seq += 1;
            let token = format!("FAKE-SIGNIN-TOKEN-{}x{}", st.seq, std::process::id());
            st.tokens.insert(token.clone(), (Instant::now(), false));
            Response::json(
                200,
                &serde_json::json!({ "SigninToken": token }).to_string(),
            )
        }
        Err(message) => bad(&message),
    };
    st.seen.push(Seen {
        session,
        session_duration: duration,
        original_host: req.header("x-aws-cred-original-host").map(str::to_string),
        original_scheme: req.header("x-aws-cred-original-scheme").map(str::to_string),
        status,
    });
    answer
}

fn check(
    st: &State,
    session: &serde_json::Value,
    duration: Option<&str>,
) -> (Result<(), String>, u16) {
    let fail = |m: &str| (Err(m.to_string()), 400);
    let Some(object) = session.as_object() else {
        return fail("Session is not a JSON object");
    };
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    if keys != ["sessionId", "sessionKey", "sessionToken"] {
        return fail("Session must hold sessionId, sessionKey and sessionToken");
    }
    let field = |k: &str| object[k].as_str().unwrap_or_default().to_string();
    let (id, key, token) = (
        field("sessionId"),
        field("sessionKey"),
        field("sessionToken"),
    );
    let known = st
        .known
        .get(&id)
        .cloned()
        .or_else(|| st.resolvers.iter().find_map(|r| r(&id)));
    let Some(known) = known else {
        return fail("Invalid credentials");
    };
    if known.secret != key || known.token != token {
        return fail("Invalid credentials");
    }
    if known.kind == Kind::SessionToken {
        return fail(
            "Only federation tokens or assume role tokens may be used for federated login.",
        );
    }
    if let Some(d) = duration {
        if matches!(known.kind, Kind::ChainedRole | Kind::FederationToken) {
            return fail("Invalid credentials parameter: SessionDuration");
        }
        match d.parse::<u32>() {
            Ok(n) if (900..=43_200).contains(&n) => {}
            _ => return fail("SessionDuration must be between 900 and 43200"),
        }
    }
    (Ok(()), 200)
}

fn login(state: &Mutex<State>, req: &Request) -> Response {
    let mut st = lock(state);
    let (Some(_issuer), Some(destination), Some(token)) = (
        req.query_param("Issuer"),
        req.query_param("Destination"),
        req.query_param("SigninToken"),
    ) else {
        return bad("Issuer, Destination and SigninToken are required");
    };
    match st.tokens.get_mut(token) {
        Some((issued, used)) if !*used && issued.elapsed() < Duration::from_secs(900) => {
            *used = true;
            Response::new(302).with_header("location", destination)
        }
        _ => bad("The sign-in token is invalid or expired"),
    }
}

/// The query of a URL, decoded.
pub(crate) fn query_of(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let query = query.split('#').next().unwrap_or_default();
    parse_urlencoded(query)
}

pub(crate) fn param(url: &str, name: &str) -> Option<String> {
    query_of(url)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}
