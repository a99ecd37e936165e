//! `aws-cred login`: the authorization-code flow with PKCE against the Sign-In authorize page,
//! as `aws login` runs it. A fresh P-256 key signs the DPoP proof of the code redemption (and of
//! every later refresh); the cache file is written as the AWS CLI writes it.
//!
//! Where the code comes back is a [`CodeSource`]: the person pasting it (`--remote`, the
//! cross-device client, redirect to Sign-In's own confirmation page) or a loopback listener on
//! 127.0.0.1 (same device) — the flow does not care which.

use super::cache::{self, account_of};
use super::dpop::Key;
use super::token_api::{self, Failure, Grant, Issued};
use super::{CROSS_DEVICE_CLIENT, LoginSession};
use crate::auth::callback::{Answer, Arrived, Listener, OAuthError};
use crate::aws::Aws;
use crate::base::error::Problem;
use crate::base::secret::Secret;
use crate::os::Context;
use crate::os::callback::{NoAnswer, Page};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use std::path::PathBuf;
use std::time::Duration;
use tokio::time::Instant;

/// Where the authorization code comes back.
pub(crate) trait CodeSource {
    /// `arn:aws:signin:::devtools/same-device` or `…/cross-device`.
    fn client_id(&self) -> &'static str;
    fn redirect_uri(&self) -> &str;
    /// The code for the request that carried `state`, before `deadline`.
    fn code(
        &mut self,
        state: &str,
        deadline: Instant,
    ) -> impl std::future::Future<Output = anyhow::Result<Secret>>;
    /// The login's outcome (the browser's page waits for it): [`finish`] reports a failure to
    /// redeem the code or save the session; on success the caller reports once the rest of
    /// the login (the profile's update) is done too.
    fn finished(&mut self, outcome: Result<(), &str>) -> impl std::future::Future<Output = ()> {
        let _ = outcome;
        async {}
    }
}

pub(crate) use crate::auth::pkce::Pkce;

/// The Sign-In authorize page, in the AWS CLI's parameter order (`code_challenge` last).
pub(crate) fn authorize_url(
    base: &str,
    client_id: &str,
    state: &str,
    challenge: &str,
    redirect_uri: &str,
) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "{}/v1/authorize?response_type=code&client_id={}&state={}&code_challenge_method=SHA-256&scope=openid&redirect_uri={}&code_challenge={challenge}",
        base.trim_end_matches('/'),
        enc(client_id),
        enc(state),
        enc(redirect_uri),
    )
}

/// The scheme and host of the Sign-In endpoint (the override, or the region's), as the AWS CLI
/// derives the browser's base URL from the token endpoint.
pub(crate) async fn base_url(aws: &Aws, region: &str) -> anyhow::Result<String> {
    let endpoint = match aws.endpoint_url("Signin") {
        Some(url) => url,
        None => {
            use aws_sdk_signin::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
            let params = Params::builder()
                .region(region)
                .build()
                .map_err(|e| anyhow::anyhow!("Sign-In endpoint parameters: {e}"))?;
            DefaultResolver::new()
                .resolve_endpoint(&params)
                .await
                .map_err(|e| {
                    Problem::usage(format!("no AWS Sign-In endpoint for region {region}: {e}"))
                })?
                .url()
                .to_string()
        }
    };
    let parsed = url::Url::parse(&endpoint).map_err(|e| {
        Problem::usage(format!(
            "the Sign-In endpoint {endpoint:?} is not a URL: {e}"
        ))
    })?;
    Ok(parsed.origin().ascii_serialization())
}

/// A random UUID v4, the `state` of one login.
pub(crate) fn new_state() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The session a login made.
#[derive(Debug)]
pub(crate) struct LoggedIn {
    pub session_arn: String,
    pub credentials: aws_credential_types::Credentials,
    pub path: PathBuf,
}

/// Everything before the code comes back: the URL to open, and what redeems the code.
pub(crate) struct Pending {
    pub url: String,
    state: String,
    pkce: Pkce,
    key: Key,
    region: String,
}

/// `state` is the one the code source expects back (see [`new_state`]).
pub(crate) async fn start(
    aws: &Aws,
    region: &str,
    source: &impl CodeSource,
    state: String,
) -> anyhow::Result<Pending> {
    let key = Key::generate().map_err(|e| anyhow::anyhow!("{e}"))?;
    let pkce = Pkce::new()?;
    let base = base_url(aws, region).await?;
    let url = authorize_url(
        &base,
        source.client_id(),
        &state,
        &pkce.challenge,
        source.redirect_uri(),
    );
    Ok(Pending {
        url,
        state,
        pkce,
        key,
        region: region.to_string(),
    })
}

/// Wait for the code, redeem it, write the cache file.
pub(crate) async fn finish(
    ctx: &Context,
    aws: &Aws,
    profile: &str,
    pending: Pending,
    source: &mut impl CodeSource,
    timeout: Duration,
) -> anyhow::Result<LoggedIn> {
    let code = source
        .code(&pending.state, Instant::now() + timeout)
        .await?;
    let now = ctx.now();
    let grant = Grant::Code {
        client_id: source.client_id(),
        code: &code,
        code_verifier: &pending.pkce.verifier,
        redirect_uri: source.redirect_uri(),
    };
    let redeemed = token_api::create_token(aws, &pending.region, grant, &pending.key, now)
        .await
        .map_err(|failure| code_failure(profile, failure))
        .and_then(|issued| Ok((session_of(&issued)?, issued)));
    let (session_arn, issued) = match redeemed {
        Ok(redeemed) => redeemed,
        Err(err) => {
            let page = "AWS Sign-In did not accept the sign-in; the terminal says why.";
            return failed(source, page, err).await;
        }
    };
    let account = account_of(&session_arn).unwrap_or_default().to_string();
    let bytes = cache::new_login(&issued, &account, source.client_id(), &pending.key, now);
    let session = LoginSession {
        profile: profile.to_string(),
        arn: session_arn.clone(),
        region: Some(pending.region.clone()),
    };
    let path = match super::write_cache(ctx, &session, &bytes).await {
        Ok(path) => path,
        Err(err) => {
            let page = "You signed in, but aws-cred could not save the session. Go back to the terminal to see why and what to do.";
            return failed(source, page, err).await;
        }
    };
    let entry = cache::Entry::parse(bytes.expose().as_bytes())
        .map_err(|reason| anyhow::anyhow!("the new login cache does not parse: {reason}"))?;
    Ok(LoggedIn {
        session_arn,
        credentials: entry.credentials(),
        path,
    })
}

/// A login that failed after the code came back: the browser's page says `page` (the code
/// source's [`CodeSource::finished`]), the terminal gets `err`.
async fn failed<T>(
    source: &mut impl CodeSource,
    page: &str,
    err: anyhow::Error,
) -> anyhow::Result<T> {
    source.finished(Err(page)).await;
    Err(err)
}

/// The login session ARN: the `sub` of the ID token (the AWS CLI requires it too).
fn session_of(issued: &Issued) -> anyhow::Result<String> {
    let invalid = || {
        Problem::failure("AWS Sign-In answered the login without an ID token naming the session")
            .hint("check that AWS_ENDPOINT_URL_SIGNIN (or [services] signin) points at AWS Sign-In")
    };
    let token = issued.id_token.as_ref().ok_or_else(invalid)?;
    let payload = token.expose().split('.').nth(1).ok_or_else(invalid)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| invalid())?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let sub = claims["sub"].as_str().filter(|s| s.starts_with("arn:"));
    Ok(sub.ok_or_else(invalid)?.to_string())
}

fn code_failure(profile: &str, failure: Failure) -> anyhow::Error {
    let retry = format!("run aws-cred login --profile {profile} again");
    match failure {
        Failure::Other(err) => err.context("could not complete the login"),
        Failure::Service { error, .. } if error == "AUTHCODE_EXPIRED" => Problem::failure(
            "the authorization code expired before it was redeemed (AUTHCODE_EXPIRED)",
        )
        .hint(retry)
        .into(),
        Failure::Service { error, .. } if error == "INSUFFICIENT_PERMISSIONS" => Problem::failure(
            "this identity may not use console sessions for local development: it lacks signin:AuthorizeOAuth2Access / signin:CreateOAuth2Token (INSUFFICIENT_PERMISSIONS)",
        )
        .hint("ask an administrator for the AWS managed policy SignInLocalDevelopmentAccess")
        .into(),
        Failure::Service {
            exception,
            error,
            message,
        } => Problem::failure(format!(
            "AWS Sign-In refused the authorization code ({exception} {error}: {})",
            super::printable(&message)
        ))
        .hint(retry)
        .into(),
    }
}

/// Same device: the browser comes back to a listener on 127.0.0.1 (any other request, or one
/// with another `state`, is refused and the wait goes on); its page shows the real outcome.
pub(crate) struct Loopback {
    listener: Listener,
    arrival: Option<Arrived>,
    /// The spinner while the browser is away, as `sso-login` shows it.
    spinner: Option<crate::os::spinner::Look>,
}

/// The path of the loopback redirect, as the AWS CLI uses it.
pub(crate) const CALLBACK_PATH: &str = "/oauth/callback";

impl Loopback {
    pub(crate) async fn bind(
        state: &str,
        spinner: Option<crate::os::spinner::Look>,
    ) -> anyhow::Result<Loopback> {
        let listener = Listener::bind(CALLBACK_PATH, state).await.map_err(|e| {
            Problem::failure(format!(
                "cannot listen on 127.0.0.1 for the browser's redirect: {e}"
            ))
            .hint("use --remote")
        })?;
        Ok(Loopback {
            listener,
            arrival: None,
            spinner,
        })
    }
}

impl CodeSource for Loopback {
    fn client_id(&self) -> &'static str {
        super::SAME_DEVICE_CLIENT
    }
    fn redirect_uri(&self) -> &str {
        self.listener.redirect_uri()
    }
    async fn code(&mut self, _state: &str, deadline: Instant) -> anyhow::Result<Secret> {
        let mut spinner = crate::os::spinner::Spinner::start(
            self.spinner,
            "waiting for the sign-in in the browser...",
        );
        let arrival = self.listener.wait(deadline).await;
        spinner.stop();
        let arrival = arrival.map_err(no_answer)?;
        let answer = match arrival.answer() {
            Answer::Code(code) => Ok(code.clone()),
            Answer::Error(error) => Err(denied(error)),
        };
        match answer {
            Ok(code) => {
                self.arrival = Some(arrival);
                Ok(code)
            }
            Err(err) => {
                arrival
                    .respond(Page::failure(
                        "Sign-in failed",
                        "The sign-in did not complete. Go back to the terminal.",
                    ))
                    .await;
                Err(err)
            }
        }
    }
    async fn finished(&mut self, outcome: Result<(), &str>) {
        if let Some(arrival) = self.arrival.take() {
            let page = match outcome {
                Ok(()) => Page::success(
                    "Signed in",
                    "aws-cred has your console session. You can close this tab.",
                ),
                Err(why) => Page::failure("Sign-in failed", why),
            };
            arrival.respond(page).await;
        }
    }
}

/// The browser came back with Sign-In's `error`.
fn denied(error: &OAuthError) -> anyhow::Error {
    crate::auth::oauth::denied(error, "run aws-cred login again")
}

/// No right answer before the deadline.
fn no_answer(refused: NoAnswer) -> anyhow::Error {
    crate::auth::oauth::no_answer(
        refused,
        "run aws-cred login again and finish the sign-in in the browser (or use --remote); AWS_CRED_LOGIN_TIMEOUT sets the wait in seconds",
    )
}

/// `--remote`: the browser runs anywhere; Sign-In's confirmation page shows a code (base64 of
/// `code=…&state=…`) that the person pastes here.
pub(crate) struct Pasted<F> {
    redirect_uri: String,
    read: F,
}

impl<F: FnMut() -> Option<String>> Pasted<F> {
    /// `base` is the Sign-In origin; `read` gets one pasted line.
    pub(crate) fn new(base: &str, read: F) -> Self {
        Pasted {
            redirect_uri: format!("{}/v1/sessions/confirmation", base.trim_end_matches('/')),
            read,
        }
    }
}

impl<F: FnMut() -> Option<String>> CodeSource for Pasted<F> {
    fn client_id(&self) -> &'static str {
        CROSS_DEVICE_CLIENT
    }
    fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }
    async fn code(&mut self, state: &str, _deadline: Instant) -> anyhow::Result<Secret> {
        let line = (self.read)().ok_or_else(|| {
            Problem::usage("no authorization code was entered").hint(
                "paste the code the browser shows after the sign-in (on a terminal, or on standard input)",
            )
        })?;
        pasted_code(&line, state)
    }
}

/// Decode a pasted code: base64 of a query string with `code` and `state` (both required);
/// the state must be this login's.
pub(crate) fn pasted_code(line: &str, state: &str) -> anyhow::Result<Secret> {
    let bad = || {
        Problem::usage("that is not the code the sign-in page shows")
            .hint("copy the whole code from the browser and paste it again (run the login again)")
    };
    let decoded = STANDARD
        .decode(line.trim())
        .or_else(|_| URL_SAFE_NO_PAD.decode(line.trim().trim_end_matches('=')))
        .map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let query = text.rsplit_once('?').map_or(text.as_str(), |(_, q)| q);
    let mut code = None;
    let mut got_state = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "code" => code = Some(v.into_owned()),
            "state" => got_state = Some(v.into_owned()),
            _ => {}
        }
    }
    let (Some(code), Some(got_state)) = (code, got_state) else {
        return Err(bad().into());
    };
    if got_state != state {
        return Err(Problem::usage(
            "the pasted code belongs to another login (its state does not match)",
        )
        .hint("paste the code of the page this login opened, or run the login again")
        .into());
    }
    Ok(Secret::new(code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::pkce::challenge_of;

    #[test]
    fn pkce_and_the_authorize_url_match_the_aws_cli() {
        let pkce = Pkce::new().unwrap();
        assert_eq!(pkce.verifier.expose().len(), 64);
        assert_eq!(pkce.challenge.len(), 43);
        // RFC 7636 appendix B.
        assert_eq!(
            challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(
            authorize_url(
                "https://us-east-1.signin.aws.amazon.com",
                "arn:aws:signin:::devtools/same-device",
                "s-1",
                "CH",
                "http://127.0.0.1:5/oauth/callback"
            ),
            "https://us-east-1.signin.aws.amazon.com/v1/authorize?response_type=code&client_id=arn%3Aaws%3Asignin%3A%3A%3Adevtools%2Fsame-device&state=s-1&code_challenge_method=SHA-256&scope=openid&redirect_uri=http%3A%2F%2F127.0.0.1%3A5%2Foauth%2Fcallback&code_challenge=CH"
        );
    }

    #[test]
    fn pasted_codes_are_checked() {
        let line = STANDARD.encode("code=abc%2F1&state=s-1");
        assert_eq!(pasted_code(&line, "s-1").unwrap().expose(), "abc/1");
        assert!(
            pasted_code(&line, "s-2")
                .unwrap_err()
                .to_string()
                .contains("another login")
        );
        assert!(pasted_code("!!", "s-1").is_err());
        assert!(pasted_code(&STANDARD.encode("code=abc"), "s-1").is_err());
    }

    #[test]
    fn the_session_is_the_id_tokens_subject() {
        let claims = URL_SAFE_NO_PAD.encode(r#"{"sub":"arn:aws:iam::123456789012:user/a"}"#);
        let issued = |id: Option<String>| Issued {
            access_key_id: "A".into(),
            secret_access_key: Secret::new("s"),
            session_token: Secret::new("t"),
            expires_in: Duration::from_secs(900),
            refresh_token: Secret::new("r"),
            id_token: id.map(Secret::new),
        };
        assert_eq!(
            session_of(&issued(Some(format!("h.{claims}.s")))).unwrap(),
            "arn:aws:iam::123456789012:user/a"
        );
        assert!(session_of(&issued(None)).is_err());
        assert!(session_of(&issued(Some("h.e30.s".into()))).is_err());
    }
}
