//! The OAuth half of the loopback redirect both sign-ins use (RFC 6749 §4.1.2, RFC 8252 §7.3):
//! which request is the answer (the `state` the flow put in its authorize URL, compared in
//! constant time; then a `code`, or the IdP's `error` and `error_description`), and what an
//! error means in words. The socket, the connection limits and the pages are the OS seam's
//! (`os::callback`).
//!
//! ```text
//! let mut listener = Listener::bind("/oauth/callback", &state).await?;   // 127.0.0.1:<ephemeral>
//! let url = authorize_url(…, listener.redirect_uri(), &state, …);        // open the browser
//! let arrived = listener.wait(deadline).await?;                          // Err(NoAnswer) at the deadline
//! let outcome = match arrived.answer() {
//!     Answer::Code(code) => exchange(code).await,                        // e.g. CreateToken
//!     Answer::Error(error) => Err(error.in_words()),                     // the IdP said no
//! };
//! arrived.respond(Page::success(…) or Page::failure(…)).await;          // the real outcome
//! ```
//!
//! The IdP's `error`/`error_description` reach the flow as given: they are untrusted text
//! (escape them before showing them in a terminal).

use crate::base::secret::Secret;
use crate::os::callback::{self, Check, NoAnswer, Page, Refused};
use tokio::time::Instant;

/// The IdP's `error` (RFC 6749 §4.1.2.1) and `error_description`, as received (untrusted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OAuthError {
    pub error: String,
    pub description: Option<String>,
}

impl OAuthError {
    /// What happened, in words, for a person (no raw OAuth code alone).
    pub(crate) fn in_words(&self) -> &'static str {
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

/// What the right request carried.
#[derive(Debug)]
pub(crate) enum Answer {
    Code(Secret),
    Error(OAuthError),
}

/// A loopback listener waiting for the redirect of one sign-in.
pub(crate) struct Listener(callback::Listener<Answer>);

/// The sign-in's answer; the browser waits for [`Arrived::respond`].
#[derive(Debug)]
pub(crate) struct Arrived(callback::Arrival<Answer>);

impl Listener {
    /// Listen on `127.0.0.1` on a port the system picks, for `GET {path}?…&state={state}`.
    pub(crate) async fn bind(path: &str, state: &str) -> std::io::Result<Listener> {
        let state = state.to_string();
        let check: Check<Answer> = Box::new(move |query| check(query, &state));
        Ok(Listener(callback::Listener::bind(path, check).await?))
    }

    /// `http://127.0.0.1:PORT/PATH`, for the authorize URL.
    pub(crate) fn redirect_uri(&self) -> &str {
        self.0.redirect_uri()
    }

    /// Wait until `deadline` for the request with the right path and state.
    pub(crate) async fn wait(&mut self, deadline: Instant) -> Result<Arrived, NoAnswer> {
        Ok(Arrived(self.0.wait(deadline).await?))
    }
}

impl Arrived {
    /// The code, or the IdP's error.
    pub(crate) fn answer(&self) -> &Answer {
        &self.0.accepted
    }

    /// Answer the browser with `page`, and wait (a few seconds at most) until it is sent.
    pub(crate) async fn respond(self, page: Page) {
        self.0.respond(page).await;
    }
}

fn params(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// The first non-empty value of `name`.
fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// A `code`, else the IdP's `error`; `None` when there is neither.
fn answer(params: &[(String, String)]) -> Option<Answer> {
    match (get(params, "code"), get(params, "error")) {
        (Some(code), _) => Some(Answer::Code(Secret::new(code))),
        (None, Some(error)) => Some(Answer::Error(OAuthError {
            error: error.to_string(),
            description: get(params, "error_description").map(str::to_string),
        })),
        (None, None) => None,
    }
}

/// The answer of this sign-in: its `state`, and a code or an error.
fn check(query: &str, state: &str) -> Result<Answer, Refused> {
    let params = params(query);
    if !get(&params, "state").is_some_and(|s| same(s, state)) {
        return Err(Refused::WrongState(
            "This answer did not belong to the sign-in in progress (state mismatch); it was ignored and nothing was saved.",
        ));
    }
    answer(&params).ok_or(Refused::Other(
        "This answer carried neither a code nor an error; it was ignored.",
    ))
}

/// Equal strings, compared in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::os::callback::MAX_CONNECTIONS;
    use crate::os::callback::tests::get;
    use std::time::Duration;
    use tokio::net::TcpStream;

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
        match arrival.answer() {
            Answer::Code(code) => assert_eq!(code.expose(), "c&d"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            listener.0.refused(),
            NoAnswer {
                wrong_state: 2,
                other: 2,
                other_user: 0
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
        match arrival.answer() {
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
}
