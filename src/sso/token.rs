//! Getting a usable token: the cached one while it is fresh, a refresh (refresh-token grant,
//! no browser) when it is near expiry, and — for `sso-login` only — a new login. Refresh and
//! login happen under a cross-process lock, so parallel callers share one login.

use super::SsoConfig;
use super::cache::{Cached, Registration, Store, Token};
use super::oidc::{self, Failure, Issued, Oidc, Pkce};
use crate::aws::Aws;
use crate::base::error::Problem;
use crate::base::error::first_line;
use crate::base::text::escape;
use crate::cache::Cache;
use crate::os::Context;
use crate::os::browser::{self, Browser};
use crate::os::callback::{Answer, Arrival, Listener, NoAnswer, OAuthError, Page};
use crate::os::spinner::Spinner;
use std::time::{Duration, SystemTime};
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

/// What to do next with the cached token, decided without I/O from what the file held before
/// the lock (`before`), what it holds now (`current`; the same until the lock is taken), what
/// has been tried, and the time.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Decision {
    /// Use this token as it is.
    Use(Token, How),
    /// Take the lock, then decide again with what the file says then.
    Lock,
    /// Try the refresh-token grant with this token.
    Refresh(Token),
    /// Log in (browser or device code).
    LogIn,
    /// The chain cannot log in: stop with what is wrong and the command that fixes it.
    LoginNeeded,
}

/// Where [`obtain`] is: before the lock, under it, or under it after a refresh failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Unlocked,
    Locked,
    RefreshFailed,
}

/// The whole policy of [`obtain`]: a fresh token is used; the chain never logs in, and takes
/// the lock only when there is something to refresh; under the lock, a token another aws-cred
/// just made wins; then the refresh grant; then a login, or for the chain a token that still
/// works, or "log in again". `force` (sso-login --force) skips reuse and refresh.
fn decide(
    before: Option<&Token>,
    current: Option<&Token>,
    stage: Stage,
    chain: bool,
    force: bool,
    now: SystemTime,
) -> Decision {
    let still_works = |token: Option<&Token>| match token {
        Some(token) if token.is_valid(now) => Decision::Use(token.clone(), How::Cached),
        _ => Decision::LoginNeeded,
    };
    match stage {
        Stage::Unlocked => match before {
            Some(token) if !force && token.is_fresh(now) => {
                Decision::Use(token.clone(), How::Cached)
            }
            // Nothing to refresh: say what is missing without taking a lock.
            token if chain && token.is_none_or(|t| t.refresh_parts(now).is_none()) => {
                still_works(token)
            }
            _ => Decision::Lock,
        },
        Stage::Locked => match current {
            Some(token) if token.is_fresh(now) && (!force || before != Some(token)) => {
                let how = if before == Some(token) {
                    How::Cached
                } else {
                    How::FromOther
                };
                Decision::Use(token.clone(), how)
            }
            Some(token) if !force && token.refresh_parts(now).is_some() => {
                Decision::Refresh(token.clone())
            }
            token if chain => still_works(token),
            _ => Decision::LogIn,
        },
        Stage::RefreshFailed if chain => still_works(current),
        Stage::RefreshFailed => Decision::LogIn,
    }
}

fn found(cached: &Cached) -> Option<&Token> {
    match cached {
        Cached::Found(token) => Some(token),
        _ => None,
    }
}

/// A token for `config`, as `mode` allows: the I/O around [`decide`].
pub async fn obtain(
    ctx: &Context,
    aws: &Aws,
    config: &SsoConfig,
    mode: Mode<'_>,
) -> anyhow::Result<Obtained> {
    let store = Store::new(ctx)?;
    let chain = matches!(mode, Mode::Chain);
    let force = matches!(mode, Mode::Login(i) if i.force);
    let before = store.read_token(config)?;
    let before_token = found(&before);
    match decide(
        before_token,
        before_token,
        Stage::Unlocked,
        chain,
        force,
        ctx.now(),
    ) {
        Decision::Use(token, how) => return Ok(Obtained { token, how }),
        Decision::LoginNeeded => return Err(login_needed(&store, config, &before, None)),
        _ => {}
    }

    // The chain, holding a token that still works, waits only briefly for another aws-cred
    // refreshing it; without one it waits for a login in progress, as long as a login takes.
    let usable_now = before_token.filter(|t| t.is_valid(ctx.now()));
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
    let oidc = Oidc::new(aws, config);
    let mut refresh_failure = None;
    let mut stage = Stage::Locked;
    // At most: a refresh, then the decision after its failure.
    for _ in 0..2 {
        let decision = decide(
            before_token,
            found(&current),
            stage,
            chain,
            force,
            ctx.now(),
        );
        match decision {
            Decision::Use(token, how) => return Ok(Obtained { token, how }),
            Decision::Refresh(token) => match refresh(ctx, &oidc, &store, config, &token).await {
                Some(Ok(token)) => {
                    return Ok(Obtained {
                        token,
                        how: How::Refreshed,
                    });
                }
                Some(Err(failure)) => {
                    refresh_failure = Some(failure);
                    stage = Stage::RefreshFailed;
                }
                None => stage = Stage::RefreshFailed,
            },
            Decision::LoginNeeded | Decision::Lock => {
                return Err(login_needed(&store, config, &current, refresh_failure));
            }
            Decision::LogIn => {
                let Mode::Login(interactive) = mode else {
                    return Err(login_needed(&store, config, &current, refresh_failure));
                };
                if let Some(failure) = &refresh_failure {
                    eprintln!(
                        "could not refresh the token ({}); logging in again",
                        first_line(&failure.error)
                    );
                }
                let token = login(ctx, &oidc, &store, config, interactive).await?;
                return Ok(Obtained {
                    token,
                    how: How::LoggedIn,
                });
            }
        }
    }
    Err(login_needed(&store, config, &current, refresh_failure))
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
            device_flow(ctx, oidc, config, interactive, &registration, deadline)
                .await
                .map(|issued| (issued, None))
        } else {
            auth_code_flow(ctx, oidc, config, interactive, &registration, deadline)
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

async fn auth_code_flow(
    ctx: &Context,
    oidc: &Oidc,
    config: &SsoConfig,
    interactive: &Interactive,
    registration: &Registration,
    deadline: Instant,
) -> Result<(Issued, Arrival), Failure> {
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
    let mut spinner = Spinner::start(
        crate::settings::spinner(ctx),
        "waiting for the sign-in in the browser...",
    );
    let arrival = listener.wait(deadline).await;
    spinner.stop();
    let arrival = arrival.map_err(|refused| Failure::other(no_answer(refused)))?;
    // The browser's page waits for the exchange (and, on success, for the token's write: the
    // caller answers then), so it shows the real outcome.
    let result = match &arrival.answer {
        Answer::Code(code) => {
            oidc.code_token(registration, code, &redirect_uri, &pkce.verifier)
                .await
        }
        Answer::Error(error) => Err(Failure::other(denied(error))),
    };
    let page = match (result, &arrival.answer) {
        (Ok(issued), _) => return Ok((issued, arrival)),
        (Err(failure), Answer::Error(error)) => (
            failure,
            Page::failure(
                "Sign-in not completed",
                format!(
                    "{}, so aws-cred got no access. Go back to the terminal: run the login again to retry, or ask your administrator for access.",
                    capitalized(error.in_words())
                ),
            ),
        ),
        (Err(failure), Answer::Code(_)) => {
            let page = Page::failure(
                "Sign-in failed",
                format!(
                    "IAM Identity Center did not accept the sign-in ({}). Go back to the terminal to see what happened and what to do.",
                    failure
                        .code
                        .as_deref()
                        .unwrap_or("the token exchange failed")
                ),
            );
            (failure, page)
        }
    };
    let (failure, page) = page;
    arrival.respond(page).await;
    Err(failure)
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
    let mut spinner = Spinner::start(
        crate::settings::spinner(ctx),
        "waiting for the sign-in to be approved...",
    );
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

    mod decide {
        use super::super::{Decision, How, Stage, decide};
        use crate::base::secret::Secret;
        use crate::sso::cache::Token;
        use std::time::{Duration, SystemTime, UNIX_EPOCH};

        const NOW: u64 = 1_800_000_000;

        fn now() -> SystemTime {
            UNIX_EPOCH + Duration::from_secs(NOW)
        }

        /// A token expiring `left` seconds from now (negative: expired), refreshable or not.
        fn token(left: i64, refreshable: bool, access: &str) -> Token {
            let at = |secs: i64| UNIX_EPOCH + Duration::from_secs((NOW as i64 + secs) as u64);
            Token {
                start_url: "https://example.awsapps.com/start".into(),
                region: "eu-west-1".into(),
                access_token: Secret::new(access),
                expires_at: at(left),
                client_id: refreshable.then(|| "client".into()),
                client_secret: refreshable.then(|| Secret::new("client-secret")),
                registration_expires_at: refreshable.then(|| at(86_400)),
                refresh_token: refreshable.then(|| Secret::new("refresh")),
            }
        }

        #[test]
        fn a_fresh_token_is_used_without_a_lock_unless_forced() {
            let fresh = token(3600, true, "a");
            let d = decide(
                Some(&fresh),
                Some(&fresh),
                Stage::Unlocked,
                true,
                false,
                now(),
            );
            assert_eq!(d, Decision::Use(fresh.clone(), How::Cached));
            let d = decide(
                Some(&fresh),
                Some(&fresh),
                Stage::Unlocked,
                false,
                true,
                now(),
            );
            assert_eq!(d, Decision::Lock);
        }

        #[test]
        fn the_chain_takes_no_lock_when_nothing_can_be_refreshed() {
            // Near expiry, not refreshable, still works: used.
            let near = token(60, false, "a");
            let d = decide(
                Some(&near),
                Some(&near),
                Stage::Unlocked,
                true,
                false,
                now(),
            );
            assert_eq!(d, Decision::Use(near.clone(), How::Cached));
            // Expired and not refreshable, or missing: log in again.
            let expired = token(-60, false, "a");
            let d = decide(
                Some(&expired),
                Some(&expired),
                Stage::Unlocked,
                true,
                false,
                now(),
            );
            assert_eq!(d, Decision::LoginNeeded);
            assert_eq!(
                decide(None, None, Stage::Unlocked, true, false, now()),
                Decision::LoginNeeded
            );
            // Refreshable: take the lock.
            let refreshable = token(-60, true, "a");
            let d = decide(
                Some(&refreshable),
                Some(&refreshable),
                Stage::Unlocked,
                true,
                false,
                now(),
            );
            assert_eq!(d, Decision::Lock);
        }

        #[test]
        fn under_the_lock_a_token_another_run_made_wins() {
            let old = token(60, true, "old");
            let new = token(3600, true, "new");
            let d = decide(Some(&old), Some(&new), Stage::Locked, true, false, now());
            assert_eq!(d, Decision::Use(new.clone(), How::FromOther));
            // Even for a forced login, a token made by someone else while we waited.
            let d = decide(Some(&old), Some(&new), Stage::Locked, false, true, now());
            assert_eq!(d, Decision::Use(new.clone(), How::FromOther));
            // But a forced login never takes back the token it was asked to replace.
            let d = decide(Some(&new), Some(&new), Stage::Locked, false, true, now());
            assert_eq!(d, Decision::LogIn);
        }

        #[test]
        fn under_the_lock_refresh_then_log_in_or_stop() {
            let near = token(60, true, "a");
            let d = decide(Some(&near), Some(&near), Stage::Locked, true, false, now());
            assert_eq!(d, Decision::Refresh(near.clone()));
            // The refresh failed: the chain keeps a token that still works, else stops.
            let d = decide(
                Some(&near),
                Some(&near),
                Stage::RefreshFailed,
                true,
                false,
                now(),
            );
            assert_eq!(d, Decision::Use(near.clone(), How::Cached));
            let expired = token(-1, true, "a");
            let d = decide(
                Some(&expired),
                Some(&expired),
                Stage::RefreshFailed,
                true,
                false,
                now(),
            );
            assert_eq!(d, Decision::LoginNeeded);
            // sso-login logs in.
            let d = decide(
                Some(&expired),
                Some(&expired),
                Stage::RefreshFailed,
                false,
                false,
                now(),
            );
            assert_eq!(d, Decision::LogIn);
            assert_eq!(
                decide(None, None, Stage::Locked, false, false, now()),
                Decision::LogIn
            );
        }
    }

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
