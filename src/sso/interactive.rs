//! `sso-login`'s side of IAM Identity Center: a new login with a person at the browser, by the
//! authorization-code flow with PKCE (a loopback redirect) or the device flow (a code to
//! approve on any device), after a client registration (cached, shared with the AWS CLI). The
//! chain never comes here: it gets its token from `token`, which has no way to this file;
//! [`obtain`] is `sso-login`'s, the same steps as the chain's with a login at the end.

use super::SsoConfig;
use super::cache::{Cached, Registration, Store, Token};
use super::oidc::{self, Failure, Issued, Oidc, Pkce};
use super::token::{DEFAULT_LOGIN_TIMEOUT, Obtained, Tokens};
use crate::auth::callback::{Answer, Arrived, Listener, OAuthError};
use crate::auth::obtain::{self as auth, Refresh, Refreshable, Stage, Step};
use crate::aws::Aws;
use crate::base::error::{Problem, first_line};
use crate::base::text::escape;
use crate::cache::EntryLock;
use crate::os::Context;
use crate::os::browser::{self, Browser};
use crate::os::callback::{NoAnswer, Page};
use crate::os::spinner::Spinner;
use std::time::Duration;
use tokio::time::Instant;

/// Polls of the device flow at most, whatever the interval (a bound for the loop).
const MAX_POLLS: usize = 10_000;

/// How a login may proceed (`sso-login`).
#[derive(Debug, Clone)]
pub(crate) struct Interactive {
    /// Log in even if the cached token is fresh.
    pub force: bool,
    /// `--use-device-code`.
    pub device_code: bool,
    pub browser: Browser,
    /// The longest wait for the person (browser callback, device approval).
    pub timeout: Duration,
    /// One second of the device flow's polling interval (shorter in tests).
    pub poll_unit: Duration,
}

impl Interactive {
    /// Timeouts from `AWS_CRED_SSO_LOGIN_TIMEOUT` (seconds, default 300) and
    /// `AWS_CRED_SSO_POLL_MS` (default 1000).
    pub(crate) fn from_env(
        ctx: &Context,
        force: bool,
        device_code: bool,
        no_browser: bool,
    ) -> anyhow::Result<Interactive> {
        use crate::settings::{SSO_LOGIN_TIMEOUT, SSO_POLL_MS};
        let seconds = Duration::from_secs(1);
        let timeout = SSO_LOGIN_TIMEOUT.duration(None, ctx, None, (1, 3600), seconds, "seconds")?;
        let millis = Duration::from_millis(1);
        let poll = SSO_POLL_MS.duration(None, ctx, None, (1, 60_000), millis, "milliseconds")?;
        Ok(Interactive {
            force,
            device_code,
            browser: browser::choose(ctx, no_browser),
            timeout: timeout.map_or(DEFAULT_LOGIN_TIMEOUT, |(t, _)| t),
            poll_unit: poll.map_or(Duration::from_secs(1), |(p, _)| p),
        })
    }
}

/// sso-login's way to a token: the cached one while it is fresh (unless `--force`), a refresh,
/// else a new login with a person at the browser.
struct LoggingIn<'a> {
    tokens: Tokens<'a>,
    interactive: &'a Interactive,
}

impl Refreshable for LoggingIn<'_> {
    type Entry = Token;
    type Failure = Failure;

    fn read(&self) -> anyhow::Result<Cached> {
        self.tokens.read()
    }

    fn decide(&self, before: &Cached, current: &Cached, stage: Stage<'_, Failure>) -> Step<Token> {
        self.tokens.decide(before, current, stage)
    }

    /// As long as another aws-cred's login may take, and a minute.
    async fn lock(&self, _: &Cached) -> anyhow::Result<EntryLock> {
        let timeout = self.interactive.timeout + Duration::from_secs(60);
        self.tokens.lock(timeout).await
    }

    fn lock_failed(&self, _: Cached, err: anyhow::Error) -> anyhow::Result<Token> {
        Err(err)
    }

    async fn refresh(&self, token: Token) -> anyhow::Result<Refresh<Token, Failure>> {
        self.tokens.refresh(token).await
    }

    async fn log_in(&self, _: &Cached, failure: Option<Failure>) -> anyhow::Result<Token> {
        if let Some(failure) = &failure {
            eprintln!(
                "could not refresh the token ({}); logging in again",
                first_line(&failure.error)
            );
        }
        let Tokens {
            ctx,
            config,
            store,
            oidc,
            ..
        } = &self.tokens;
        login(ctx, oidc, store, config, self.interactive).await
    }

    fn stop(&self, current: &Cached, failure: Option<Failure>) -> anyhow::Error {
        self.tokens.stop(current, failure)
    }
}

/// A token for `config` for `sso-login`: cached, refreshed, or from a new login, as
/// `interactive` allows.
pub(crate) async fn obtain(
    ctx: &Context,
    aws: &Aws,
    config: &SsoConfig,
    interactive: &Interactive,
) -> anyhow::Result<Obtained<Token>> {
    let mut tokens = Tokens::new(ctx, aws, config)?;
    tokens.chain = false;
    tokens.force = interactive.force;
    auth::obtain(&LoggingIn {
        tokens,
        interactive,
    })
    .await
}

/// Log in: a registration (cached, or new), then the authorization-code flow or the device
/// flow. A cached registration the service no longer accepts is replaced once.
async fn login(
    ctx: &Context,
    oidc: &Oidc,
    store: &Store,
    config: &SsoConfig,
    interactive: &Interactive,
) -> anyhow::Result<Token> {
    let mut device = interactive.device_code;
    if !device && let Browser::Unavailable(reason) = &interactive.browser {
        eprintln!("{reason}: signing in with a device code instead");
        device = true;
    }
    let deadline = Instant::now() + interactive.timeout;
    for attempt in 0..2 {
        let (registration, from_cache) = registration(ctx, oidc, store, config, !device).await?;
        let sign_in = SignIn {
            ctx,
            oidc,
            config,
            interactive,
            registration: &registration,
            deadline,
        };
        let result = if device {
            sign_in.device().await.map(|issued| (issued, None))
        } else {
            sign_in
                .auth_code()
                .await
                .map(|(issued, arrival)| (issued, Some(arrival)))
        };
        match result {
            Ok((issued, arrival)) => {
                let token = token_from(ctx, config, &registration, issued);
                // The browser's page waits for the write, so it shows the real outcome.
                let written = store.write_token(config, &token);
                if let Some(arrival) = arrival {
                    let page = match &written {
                        Ok(()) => Page::success(
                            "Signed in",
                            format!(
                                "aws-cred has your sign-in to {}. You can close this tab.",
                                config.describe()
                            ),
                        ),
                        Err(_) => Page::failure(
                            "Sign-in not saved",
                            "You signed in, but aws-cred could not save the token. Go back to the terminal to see why and what to do.",
                        ),
                    };
                    arrival.respond(page).await;
                }
                written?;
                return Ok(token);
            }
            Err(failure) if from_cache && attempt == 0 && failure.is("InvalidClientException") => {
                eprintln!(
                    "the cached client registration was not accepted any more; registering a new one"
                );
                store.remove_registration(config);
            }
            Err(failure) => return Err(failure.error),
        }
    }
    unreachable!("the second attempt always returns")
}

async fn registration(
    ctx: &Context,
    oidc: &Oidc,
    store: &Store,
    config: &SsoConfig,
    auth_code: bool,
) -> anyhow::Result<(Registration, bool)> {
    if let Some(cached) = store.read_registration(config)
        && cached.usable(ctx.now(), auth_code)
    {
        return Ok((cached, true));
    }
    let registration = oidc.register(config, auth_code, ctx.now()).await?;
    store.write_registration(config, &registration)?;
    Ok((registration, false))
}

fn token_from(
    ctx: &Context,
    config: &SsoConfig,
    registration: &Registration,
    issued: Issued,
) -> Token {
    Token {
        start_url: config.start_url.clone(),
        region: config.region.clone(),
        access_token: issued.access_token,
        expires_at: ctx.now() + issued.expires_in,
        client_id: Some(registration.client_id.clone()),
        client_secret: Some(registration.client_secret.clone()),
        registration_expires_at: Some(registration.expires_at),
        refresh_token: issued.refresh_token,
    }
}

async fn show_and_open(interactive: &Interactive, url: &str) {
    if interactive.browser == Browser::Open {
        match browser::open(url).await {
            Ok(handoff) => handoff.detach(),
            Err(err) => eprintln!("could not start a browser ({err}): open the URL above yourself"),
        }
    }
}

/// One sign-in attempt with one client registration: what both flows work with.
#[derive(Clone, Copy)]
struct SignIn<'a> {
    ctx: &'a Context,
    oidc: &'a Oidc,
    config: &'a SsoConfig,
    interactive: &'a Interactive,
    registration: &'a Registration,
    /// When the person has waited long enough (`AWS_CRED_SSO_LOGIN_TIMEOUT`).
    deadline: Instant,
}

impl SignIn<'_> {
    /// The authorization-code flow: the browser's redirect to a loopback listener.
    async fn auth_code(self) -> Result<(Issued, Arrived), Failure> {
        let endpoint = self.oidc.endpoint().await.map_err(Failure::other)?;
        let state = oidc::new_state().map_err(Failure::other)?;
        let mut listener = Listener::bind(oidc::CALLBACK_PATH, &state)
            .await
            .map_err(|e| {
                Failure::other(
                    Problem::failure(format!(
                        "cannot listen on 127.0.0.1 for the browser's redirect: {e}"
                    ))
                    .hint("use --use-device-code")
                    .into(),
                )
            })?;
        let redirect_uri = listener.redirect_uri().to_string();
        let pkce = Pkce::new().map_err(Failure::other)?;
        let url = oidc::authorize_url(
            &endpoint,
            &self.registration.client_id,
            &redirect_uri,
            &state,
            &self.config.scopes(),
            &pkce.challenge,
        )
        .map_err(Failure::other)?;
        match self.interactive.browser {
            Browser::Open => eprintln!(
                "Signing in to {} in your browser.\nIf no browser opens, open this URL in a browser on this computer:\n\n  {url}\n",
                self.config.describe()
            ),
            _ => eprintln!(
                "To sign in to {}, open this URL in a browser on this computer:\n\n  {url}\n",
                self.config.describe()
            ),
        }
        show_and_open(self.interactive, &url).await;
        let mut spinner = Spinner::start(
            crate::settings::spinner(self.ctx),
            "waiting for the sign-in in the browser...",
        );
        let arrival = listener.wait(self.deadline).await;
        spinner.stop();
        let arrival = arrival.map_err(|refused| Failure::other(no_answer(refused)))?;
        // The browser's page waits for the exchange (and, on success, for the token's write: the
        // caller answers then), so it shows the real outcome.
        let result = match arrival.answer() {
            Answer::Code(code) => {
                self.oidc
                    .code_token(self.registration, code, &redirect_uri, &pkce.verifier)
                    .await
            }
            Answer::Error(error) => Err(Failure::other(denied(error))),
        };
        match result {
            Ok(issued) => Ok((issued, arrival)),
            Err(failure) => {
                let page = failure_page(arrival.answer(), &failure);
                arrival.respond(page).await;
                Err(failure)
            }
        }
    }

    /// The device flow: a URL and a code to approve on any device, then polling.
    async fn device(self) -> Result<Issued, Failure> {
        let device = self
            .oidc
            .start_device_authorization(self.registration, &self.config.start_url)
            .await?;
        let url = device_url(&device).map_err(Failure::other)?.to_string();
        eprintln!(
            "To sign in to {}, open this URL on any device:\n\n  {}\n\nand check that the page shows this code: {}\n",
            self.config.describe(),
            escape(&url),
            escape(&device.user_code)
        );
        show_and_open(self.interactive, &url).await;
        let deadline = if device.expires_in.is_zero() {
            self.deadline
        } else {
            self.deadline.min(Instant::now() + device.expires_in)
        };
        // RFC 8628: 5 s when the server does not say.
        let interval = if device.interval == 0 {
            5
        } else {
            device.interval
        };
        let mut spinner = Spinner::start(
            crate::settings::spinner(self.ctx),
            "waiting for the sign-in to be approved...",
        );
        let result = self.poll(&device, deadline, interval).await;
        spinner.stop();
        result
    }

    /// Ask for the device's token every `interval` seconds (more when told to slow down)
    /// until it is approved, refused, or `deadline` passes.
    async fn poll(
        self,
        device: &oidc::DeviceAuthorization,
        deadline: Instant,
        mut interval: u64,
    ) -> Result<Issued, Failure> {
        const TIMED_OUT: &str = "run the login again and approve it; AWS_CRED_SSO_LOGIN_TIMEOUT sets the wait in seconds";
        for _ in 0..MAX_POLLS {
            let wait = u32::try_from(interval).unwrap_or(60);
            let next = Instant::now() + self.interactive.poll_unit * wait;
            if next > deadline {
                tokio::time::sleep_until(deadline).await;
                return Err(Failure::other(
                    Problem::expired("the sign-in was not approved before the login timed out")
                        .hint(TIMED_OUT)
                        .into(),
                ));
            }
            tokio::time::sleep_until(next).await;
            match self.oidc.device_token(self.registration, device).await {
                Ok(issued) => return Ok(issued),
                Err(f) if f.is("AuthorizationPendingException") => {}
                // RFC 8628 3.5: slow down adds 5 seconds to the interval.
                Err(f) if f.is("SlowDownException") => interval += 5,
                Err(f) => return Err(f),
            }
        }
        Err(Failure::other(anyhow::anyhow!(
            "gave up after {MAX_POLLS} polls for the device sign-in"
        )))
    }
}

/// The browser's page when the sign-in did not give a token.
fn failure_page(answer: &Answer, failure: &Failure) -> Page {
    match answer {
        Answer::Error(error) => Page::failure(
            "Sign-in not completed",
            format!(
                "{}, so aws-cred got no access. Go back to the terminal: run the login again to retry, or ask your administrator for access.",
                capitalized(error.in_words())
            ),
        ),
        Answer::Code(_) => Page::failure(
            "Sign-in failed",
            format!(
                "IAM Identity Center did not accept the sign-in ({}). Go back to the terminal to see what happened and what to do.",
                failure
                    .code
                    .as_deref()
                    .unwrap_or("the token exchange failed")
            ),
        ),
    }
}

/// The browser came back with the IdP's `error`.
fn denied(error: &OAuthError) -> anyhow::Error {
    crate::auth::oauth::denied(
        error,
        "run the login again and approve the request in the browser; if access is refused, ask your administrator",
    )
}

/// No right answer before the deadline.
fn no_answer(refused: NoAnswer) -> anyhow::Error {
    crate::auth::oauth::no_answer(
        refused,
        "run the login again and finish it in the browser (or use --use-device-code); AWS_CRED_SSO_LOGIN_TIMEOUT sets the wait in seconds",
    )
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The device flow's page: `verificationUriComplete` (the code filled in), else
/// `verificationUri`, whichever the browser may open (https://; see [`browser::check_url`]).
fn device_url(device: &oidc::DeviceAuthorization) -> anyhow::Result<&str> {
    let complete = device.verification_uri_complete.as_deref();
    if let Some(url) = complete {
        match browser::check_url(url) {
            Ok(()) => return Ok(url),
            Err(why) => eprintln!(
                "warning: not using the sign-in link IAM Identity Center sent ({}): {why}",
                escape(url)
            ),
        }
    }
    let url = device.verification_uri.as_str();
    browser::check_url(url).map_err(|why| {
        Problem::failure(format!(
            "IAM Identity Center sent a sign-in page that aws-cred will not open or show ({}): {why}",
            escape(url)
        ))
        .hint("check sso_region and AWS_ENDPOINT_URL_SSO_OIDC: the real service sends https:// pages")
    })?;
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_settings_come_from_the_environment_and_are_checked() {
        let ctx = Context::with_env([
            ("AWS_CRED_SSO_LOGIN_TIMEOUT", "20"),
            ("AWS_CRED_SSO_POLL_MS", "5"),
        ]);
        let i = Interactive::from_env(&ctx, true, false, true).unwrap();
        assert_eq!(i.timeout, Duration::from_secs(20));
        assert_eq!(i.poll_unit, Duration::from_millis(5));
        assert_eq!(i.browser, Browser::PrintOnly);
        assert!(i.force && !i.device_code);
        let i = Interactive::from_env(&Context::with_env([]), false, true, false).unwrap();
        assert_eq!(i.timeout, DEFAULT_LOGIN_TIMEOUT);
        assert_eq!(i.poll_unit, Duration::from_secs(1));
        for bad in ["0", "soon", "3601"] {
            let ctx = Context::with_env([("AWS_CRED_SSO_LOGIN_TIMEOUT", bad)]);
            let err = Interactive::from_env(&ctx, false, false, false).unwrap_err();
            assert_eq!(
                crate::base::error::classify(&err).0,
                crate::base::error::Exit::Usage
            );
        }
    }
}
