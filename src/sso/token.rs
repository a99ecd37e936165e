//! Getting a usable token: the cached one while it is fresh, a refresh (refresh-token grant,
//! no browser) when it is near expiry, and — for `sso-login` only — a new login, which is
//! `interactive`'s (the browser and device flows live there, not here). Refresh and login
//! happen under a cross-process lock, so parallel callers share one login.

use super::SsoConfig;
use super::cache::{Cached, Store, Token};
use super::interactive::{DEFAULT_LOGIN_TIMEOUT, Interactive, login};
use super::oidc::{Failure, Oidc};
use crate::aws::Aws;
use crate::base::error::Problem;
use crate::base::error::first_line;
use crate::cache::Cache;
use crate::os::Context;
use std::time::{Duration, SystemTime};

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

#[cfg(test)]
mod tests {
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
}
