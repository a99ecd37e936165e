//! Getting a usable token: the cached one while it is fresh, a refresh (refresh-token grant,
//! no browser) when it is near expiry, and — for `sso-login` only — a new login. Refresh and
//! login happen under a cross-process lock, so parallel callers share one login.

use super::SsoConfig;
use super::cache::{Cached, Registration, Store, Token};
use super::oidc::{self, Failure, Issued, Oidc, Pkce};
use super::spinner::Spinner;
use crate::aws::Aws;
use crate::base::error::Problem;
use crate::base::error::first_line;
use crate::base::text::escape;
use crate::cache::Cache;
use crate::os::Context;
use crate::os::browser::{self, Browser};
use crate::os::callback::{Answer, Listener, NoAnswer, OAuthError, Page};
use std::time::Duration;
use tokio::time::Instant;

pub const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(300);
/// Polls of the device flow at most, whatever the interval (a bound for the loop).
const MAX_POLLS: usize = 10_000;

/// How a login may proceed (`sso-login`).
#[derive(Debug, Clone)]
pub struct Interactive {
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
    pub fn from_env(
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

#[derive(Debug, Clone, Copy)]
pub enum Mode<'a> {
    /// The chain: cached or refreshed, never a browser.
    Chain,
    Login(&'a Interactive),
}

/// Where the token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    Cached,
    Refreshed,
    LoggedIn,
    /// Another aws-cred logged in or refreshed while this one waited for the lock.
    FromOther,
}

#[derive(Debug)]
pub struct Obtained {
    pub token: Token,
    pub how: How,
}

/// A token for `config`, as `mode` allows.
pub async fn obtain(
    ctx: &Context,
    aws: &Aws,
    config: &SsoConfig,
    mode: Mode<'_>,
) -> anyhow::Result<Obtained> {
    let store = Store::new(ctx)?;
    let before = store.read_token(config)?;
    let before_token = match &before {
        Cached::Found(token) => Some(token.clone()),
        _ => None,
    };
    let force = matches!(mode, Mode::Login(i) if i.force);
    if !force
        && let Some(token) = &before_token
        && token.is_fresh(ctx.now())
    {
        return Ok(Obtained {
            token: token.clone(),
            how: How::Cached,
        });
    }
    if let Mode::Chain = mode {
        // Nothing to refresh: say what is missing without taking a lock.
        let refreshable = before_token
            .as_ref()
            .is_some_and(|t| t.refresh_parts(ctx.now()).is_some());
        if !refreshable {
            return match before_token {
                Some(token) if token.is_valid(ctx.now()) => Ok(Obtained {
                    token,
                    how: How::Cached,
                }),
                _ => Err(login_needed(&store, config, &before, None)),
            };
        }
    }

    // The chain, holding a token that still works, waits only briefly for another aws-cred
    // refreshing it; without one it waits for a login in progress, as long as a login takes.
    let usable_now = before_token.as_ref().filter(|t| t.is_valid(ctx.now()));
    let lock_timeout = match (mode, usable_now) {
        (Mode::Login(i), _) => i.timeout + Duration::from_secs(60),
        (Mode::Chain, Some(_)) => Duration::from_secs(10),
        (Mode::Chain, None) => DEFAULT_LOGIN_TIMEOUT + Duration::from_secs(60),
    };
    let locks = Cache::new(
        ctx.cache_dir()
            .ok_or_else(|| Problem::usage("cannot find the home directory for aws-cred's cache"))?
            .join("sso"),
    );
    let locked = locks
        .lock_async(&config.cache_key(), lock_timeout, || {
            eprintln!(
                "waiting for another aws-cred that is logging in to {} (up to {} s)...",
                config.describe(),
                lock_timeout.as_secs()
            )
        })
        .await;
    let _lock = match (locked, mode, usable_now) {
        (Ok(lock), _, _) => lock,
        (Err(_), Mode::Chain, Some(token)) => {
            return Ok(Obtained {
                token: token.clone(),
                how: How::Cached,
            });
        }
        (Err(err), _, _) => return Err(err),
    };

    // Whoever held the lock may have done the work.
    let current = store.read_token(config)?;
    let current_token = match &current {
        Cached::Found(token) => Some(token.clone()),
        _ => None,
    };
    if let Some(token) = &current_token
        && token.is_fresh(ctx.now())
        && (!force || before_token.as_ref() != Some(token))
    {
        let how = if before_token.as_ref() == Some(token) {
            How::Cached
        } else {
            How::FromOther
        };
        return Ok(Obtained {
            token: token.clone(),
            how,
        });
    }

    let oidc = Oidc::new(aws, config);
    let mut refresh_failure = None;
    if !force && let Some(token) = &current_token {
        match refresh(ctx, &oidc, &store, config, token).await {
            Some(Ok(token)) => {
                return Ok(Obtained {
                    token,
                    how: How::Refreshed,
                });
            }
            Some(Err(failure)) => refresh_failure = Some(failure),
            None => {}
        }
    }

    match mode {
        Mode::Chain => match current_token {
            Some(token) if token.is_valid(ctx.now()) => Ok(Obtained {
                token,
                how: How::Cached,
            }),
            _ => Err(login_needed(&store, config, &current, refresh_failure)),
        },
        Mode::Login(interactive) => {
            if let Some(failure) = refresh_failure {
                eprintln!(
                    "could not refresh the token ({}); logging in again",
                    first_line(&failure.error)
                );
            }
            let token = login(ctx, &oidc, &store, config, interactive).await?;
            store.write_token(config, &token)?;
            Ok(Obtained {
                token,
                how: How::LoggedIn,
            })
        }
    }
}

/// Refresh with the refresh-token grant when the token carries what that needs. `None`: it
/// does not. A refreshed token is written at once.
async fn refresh(
    ctx: &Context,
    oidc: &Oidc,
    store: &Store,
    config: &SsoConfig,
    token: &Token,
) -> Option<Result<Token, Failure>> {
    let (client_id, client_secret, refresh_token) = token.refresh_parts(ctx.now())?;
    let issued = match oidc
        .refresh_token(client_id, client_secret, refresh_token)
        .await
    {
        Ok(issued) => issued,
        Err(failure) => {
            if failure.is("InvalidClientException")
                && store
                    .read_registration(config)
                    .is_some_and(|r| r.client_id == client_id)
            {
                store.remove_registration(config);
            }
            return Some(Err(failure));
        }
    };
    let refreshed = Token {
        start_url: config.start_url.clone(),
        region: config.region.clone(),
        access_token: issued.access_token,
        expires_at: ctx.now() + issued.expires_in,
        refresh_token: issued.refresh_token.or_else(|| token.refresh_token.clone()),
        ..token.clone()
    };
    Some(match store.write_token(config, &refreshed) {
        Ok(()) => Ok(refreshed),
        Err(err) => Err(Failure::other(err)),
    })
}

/// The chain's "log in again" (exit 4), saying what is wrong with the cached token.
fn login_needed(
    store: &Store,
    config: &SsoConfig,
    cached: &Cached,
    refresh_failure: Option<Failure>,
) -> anyhow::Error {
    let path = store.token_path(config);
    let message = match cached {
        Cached::Missing => format!(
            "no SSO login for {} yet (no token at {})",
            config.describe(),
            path.display()
        ),
        Cached::Unusable(reason) => format!(
            "the SSO token file {} cannot be used: {reason}",
            path.display()
        ),
        // The chain uses a token that still works; only expired ones get here.
        Cached::Found(token) => format!(
            "the SSO token for {} expired at {}{}",
            config.describe(),
            crate::base::time::rfc3339(token.expires_at),
            if refresh_failure.is_some() {
                " and could not be refreshed"
            } else {
                ""
            }
        ),
    };
    let problem = Problem::expired(message).hint(format!("run {}", config.login_command()));
    match refresh_failure {
        // The refresh failure is the cause; the Problem decides exit code and hint.
        Some(failure) => anyhow::anyhow!("{}", first_line(&failure.error)).context(problem),
        None => problem.into(),
    }
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
        let result = if device {
            device_flow(ctx, oidc, config, interactive, &registration, deadline).await
        } else {
            auth_code_flow(ctx, oidc, config, interactive, &registration, deadline).await
        };
        match result {
            Ok(issued) => return Ok(token_from(ctx, config, &registration, issued)),
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
    if interactive.browser == Browser::Open
        && let Err(err) = browser::open(url).await
    {
        eprintln!("could not start a browser ({err}): open the URL above yourself");
    }
}

async fn auth_code_flow(
    ctx: &Context,
    oidc: &Oidc,
    config: &SsoConfig,
    interactive: &Interactive,
    registration: &Registration,
    deadline: Instant,
) -> Result<Issued, Failure> {
    let endpoint = oidc.endpoint().await.map_err(Failure::other)?;
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
        &registration.client_id,
        &redirect_uri,
        &state,
        &config.scopes(),
        &pkce.challenge,
    )
    .map_err(Failure::other)?;
    match interactive.browser {
        Browser::Open => eprintln!(
            "Signing in to {} in your browser.\nIf no browser opens, open this URL in a browser on this computer:\n\n  {url}\n",
            config.describe()
        ),
        _ => eprintln!(
            "To sign in to {}, open this URL in a browser on this computer:\n\n  {url}\n",
            config.describe()
        ),
    }
    show_and_open(interactive, &url).await;
    let mut spinner = Spinner::start(ctx, "waiting for the sign-in in the browser...");
    let arrival = listener.wait(deadline).await;
    spinner.stop();
    let arrival = arrival.map_err(|refused| Failure::other(no_answer(refused)))?;
    // The browser's page waits for the exchange, so it shows the real outcome.
    let result = match &arrival.answer {
        Answer::Code(code) => {
            oidc.code_token(registration, code, &redirect_uri, &pkce.verifier)
                .await
        }
        Answer::Error(error) => Err(Failure::other(denied(error))),
    };
    let page = match (&result, &arrival.answer) {
        (Ok(_), _) => Page::success(
            "Signed in",
            format!(
                "aws-cred has your sign-in to {}. You can close this tab.",
                config.describe()
            ),
        ),
        (Err(_), Answer::Error(error)) => Page::failure(
            "Sign-in not completed",
            format!(
                "{}, so aws-cred got no access. Go back to the terminal: run the login again to retry, or ask your administrator for access.",
                capitalized(error.in_words())
            ),
        ),
        (Err(failure), Answer::Code(_)) => Page::failure(
            "Sign-in failed",
            format!(
                "IAM Identity Center did not accept the sign-in ({}). Go back to the terminal to see what happened and what to do.",
                failure
                    .code
                    .as_deref()
                    .unwrap_or("the token exchange failed")
            ),
        ),
    };
    arrival.respond(page).await;
    result
}

/// The browser came back with the IdP's `error`: in words, with its code and description
/// (escaped: untrusted text).
fn denied(error: &OAuthError) -> anyhow::Error {
    let detail = match &error.description {
        Some(description) => format!("{}: {}", escape(&error.error), escape(description)),
        None => escape(&error.error).into_owned(),
    };
    Problem::failure(format!(
        "the sign-in did not complete: {} ({detail})",
        error.in_words()
    ))
    .hint("run the login again and approve the request in the browser; if access is refused, ask your administrator")
    .into()
}

/// No right answer before the deadline: a timeout, unless answers with another state came
/// (refused: they may be another program's, or a tampered redirect).
fn no_answer(refused: NoAnswer) -> anyhow::Error {
    if refused.wrong_state > 0 {
        return Problem::failure(format!(
            "the browser's answer carried another state than this login sent (state mismatch): {} such answer(s) refused, nothing was saved, and no answer for this login came before the timeout",
            refused.wrong_state
        ))
        .hint("run the login again; if this repeats, another program is answering on the loopback callback")
        .into();
    }
    Problem::expired("no answer from the browser before the login timed out")
        .hint("run the login again and finish it in the browser (or use --use-device-code); AWS_CRED_SSO_LOGIN_TIMEOUT sets the wait in seconds")
        .into()
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

async fn device_flow(
    ctx: &Context,
    oidc: &Oidc,
    config: &SsoConfig,
    interactive: &Interactive,
    registration: &Registration,
    deadline: Instant,
) -> Result<Issued, Failure> {
    let device = oidc
        .start_device_authorization(registration, &config.start_url)
        .await?;
    let url = device_url(&device).map_err(Failure::other)?.to_string();
    eprintln!(
        "To sign in to {}, open this URL on any device:\n\n  {}\n\nand check that the page shows this code: {}\n",
        config.describe(),
        escape(&url),
        escape(&device.user_code)
    );
    show_and_open(interactive, &url).await;
    let deadline = if device.expires_in.is_zero() {
        deadline
    } else {
        deadline.min(Instant::now() + device.expires_in)
    };
    // RFC 8628: 5 s when the server does not say.
    let mut interval = if device.interval == 0 {
        5
    } else {
        device.interval
    };
    let mut spinner = Spinner::start(ctx, "waiting for the sign-in to be approved...");
    let result = async {
        for _ in 0..MAX_POLLS {
            let next = Instant::now() + interactive.poll_unit * u32::try_from(interval).unwrap_or(60);
            if next > deadline {
                tokio::time::sleep_until(deadline).await;
                return Err(Failure::other(
                    Problem::expired("the sign-in was not approved before the login timed out")
                        .hint("run the login again and approve it; AWS_CRED_SSO_LOGIN_TIMEOUT sets the wait in seconds")
                        .into(),
                ));
            }
            tokio::time::sleep_until(next).await;
            match oidc.device_token(registration, &device).await {
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
    .await;
    spinner.stop();
    result
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
