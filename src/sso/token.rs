//! Getting a usable token: the cached one while it is fresh, a refresh (refresh-token grant,
//! no browser) when it is near expiry, and — for `sso-login` only — a new login, which is
//! `interactive`'s (the browser and device flows live there, not here). Refresh and login
//! happen under a cross-process lock, so parallel callers share one login.

use super::SsoConfig;
use super::cache::{Cached, Store, Token};
use super::oidc::{Failure, Oidc};
use crate::auth::obtain::{self as auth, Refresh, Refreshable, Stage, Step};
use crate::aws::Aws;
use crate::base::error::Problem;
use crate::base::error::first_line;
use crate::cache::EntryLock;
use crate::os::Context;
use std::time::{Duration, SystemTime};

pub(crate) use crate::auth::obtain::{How, Obtained};

/// The longest wait for a person at the browser, and so for a login another aws-cred holds.
pub(crate) const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(300);

/// The whole policy of getting a token: a fresh token is used; the chain never logs in, and
/// takes the lock only when there is something to refresh; under the lock, a token another
/// aws-cred just made wins; then the refresh grant; then a login, or for the chain a token that
/// still works, or "log in again". `force` (sso-login --force) skips reuse and refresh.
pub(super) fn decide(
    before: Option<&Token>,
    current: Option<&Token>,
    stage: &Stage<'_, Failure>,
    chain: bool,
    force: bool,
    now: SystemTime,
) -> Step<Token> {
    let still_works = |token: Option<&Token>| match token {
        Some(token) if token.is_valid(now) => Step::Use(token.clone(), How::Cached),
        _ => Step::Stop,
    };
    match stage {
        Stage::Unlocked => match before {
            Some(token) if !force && token.is_fresh(now) => Step::Use(token.clone(), How::Cached),
            // Nothing to refresh: say what is missing without taking a lock.
            token if chain && token.is_none_or(|t| t.refresh_parts(now).is_none()) => {
                still_works(token)
            }
            _ => Step::Lock,
        },
        Stage::Locked => match current {
            Some(token) if token.is_fresh(now) && (!force || before != Some(token)) => {
                let how = if before == Some(token) {
                    How::Cached
                } else {
                    How::FromOther
                };
                Step::Use(token.clone(), how)
            }
            Some(token) if !force && token.refresh_parts(now).is_some() => {
                Step::Refresh(token.clone())
            }
            token if chain => still_works(token),
            _ => Step::LogIn,
        },
        Stage::RefreshFailed(_) if chain => still_works(current),
        Stage::RefreshFailed(_) => Step::LogIn,
    }
}

/// What getting a token needs, whoever asks: the cache, the service, and the policy's switches.
pub(super) struct Tokens<'a> {
    pub ctx: &'a Context,
    pub config: &'a SsoConfig,
    pub store: Store,
    pub oidc: Oidc,
    /// The chain's policy (never a login), or sso-login's.
    pub chain: bool,
    /// sso-login --force.
    pub force: bool,
}

impl<'a> Tokens<'a> {
    pub(super) fn new(ctx: &'a Context, aws: &Aws, config: &'a SsoConfig) -> anyhow::Result<Self> {
        Ok(Tokens {
            ctx,
            config,
            store: Store::new(ctx)?,
            oidc: Oidc::new(aws, config),
            chain: true,
            force: false,
        })
    }

    pub(super) fn read(&self) -> anyhow::Result<Cached> {
        Ok(self.store.read_token(self.config)?)
    }

    pub(super) fn decide(
        &self,
        before: &Cached,
        current: &Cached,
        stage: Stage<'_, Failure>,
    ) -> Step<Token> {
        let now = self.ctx.now();
        decide(
            before.found(),
            current.found(),
            &stage,
            self.chain,
            self.force,
            now,
        )
    }

    /// The token's lock, waited for up to `timeout`.
    pub(super) async fn lock(&self, timeout: Duration) -> anyhow::Result<EntryLock> {
        let key = self.config.cache_key();
        auth::lock(self.ctx, "sso", &key, timeout, || {
            eprintln!(
                "waiting for another aws-cred that is logging in to {} (up to {} s)...",
                self.config.describe(),
                timeout.as_secs()
            )
        })
        .await
    }

    /// Refresh with the refresh-token grant; `Err(None)` when the token does not carry what
    /// that needs. A refreshed token is written at once.
    pub(super) async fn refresh(&self, token: Token) -> anyhow::Result<Refresh<Token, Failure>> {
        let (ctx, store, config) = (self.ctx, &self.store, self.config);
        let Some((client_id, client_secret, refresh_token)) = token.refresh_parts(ctx.now()) else {
            return Ok(Err(None));
        };
        let refreshing = self
            .oidc
            .refresh_token(client_id, client_secret, refresh_token);
        let issued = match refreshing.await {
            Ok(issued) => issued,
            Err(failure) => {
                if failure.is("InvalidClientException")
                    && store
                        .read_registration(config)
                        .is_some_and(|r| r.client_id == client_id)
                {
                    store.remove_registration(config);
                }
                return Ok(Err(Some(failure)));
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
        Ok(match store.write_token(config, &refreshed) {
            Ok(()) => Ok(refreshed),
            Err(err) => Err(Some(Failure::other(err))),
        })
    }

    pub(super) fn stop(&self, current: &Cached, failure: Option<Failure>) -> anyhow::Error {
        login_needed(&self.store, self.config, current, failure)
    }
}

/// The chain's way: cached or refreshed, never a browser.
struct Chain<'a>(Tokens<'a>);

impl Refreshable for Chain<'_> {
    type Entry = Token;
    type Failure = Failure;

    fn read(&self) -> anyhow::Result<Cached> {
        self.0.read()
    }

    fn decide(&self, before: &Cached, current: &Cached, stage: Stage<'_, Failure>) -> Step<Token> {
        self.0.decide(before, current, stage)
    }

    /// Holding a token that still works, wait only briefly for another aws-cred refreshing it;
    /// without one, wait for a login in progress, as long as a login takes.
    async fn lock(&self, before: &Cached) -> anyhow::Result<EntryLock> {
        let usable = before.found().is_some_and(|t| t.is_valid(self.0.ctx.now()));
        let timeout = if usable {
            Duration::from_secs(10)
        } else {
            DEFAULT_LOGIN_TIMEOUT + Duration::from_secs(60)
        };
        self.0.lock(timeout).await
    }

    fn lock_failed(&self, before: Cached, err: anyhow::Error) -> anyhow::Result<Token> {
        match before {
            Cached::Found(token) if token.is_valid(self.0.ctx.now()) => Ok(token),
            _ => Err(err),
        }
    }

    async fn refresh(&self, token: Token) -> anyhow::Result<Refresh<Token, Failure>> {
        self.0.refresh(token).await
    }

    fn stop(&self, current: &Cached, failure: Option<Failure>) -> anyhow::Error {
        self.0.stop(current, failure)
    }
}

/// The token for `config` as the chain may get it: cached, or refreshed with the refresh-token
/// grant under the lock; never a login (that is `sso-login`'s, in `interactive`).
pub(crate) async fn cached(
    ctx: &Context,
    aws: &Aws,
    config: &SsoConfig,
) -> anyhow::Result<Obtained<Token>> {
    auth::obtain(&Chain(Tokens::new(ctx, aws, config)?)).await
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
        use super::super::{How, Stage, Step, decide};
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
                &Stage::Unlocked,
                true,
                false,
                now(),
            );
            assert_eq!(d, Step::Use(fresh.clone(), How::Cached));
            let d = decide(
                Some(&fresh),
                Some(&fresh),
                &Stage::Unlocked,
                false,
                true,
                now(),
            );
            assert_eq!(d, Step::Lock);
        }

        #[test]
        fn the_chain_takes_no_lock_when_nothing_can_be_refreshed() {
            // Near expiry, not refreshable, still works: used.
            let near = token(60, false, "a");
            let d = decide(
                Some(&near),
                Some(&near),
                &Stage::Unlocked,
                true,
                false,
                now(),
            );
            assert_eq!(d, Step::Use(near.clone(), How::Cached));
            // Expired and not refreshable, or missing: log in again.
            let expired = token(-60, false, "a");
            let d = decide(
                Some(&expired),
                Some(&expired),
                &Stage::Unlocked,
                true,
                false,
                now(),
            );
            assert_eq!(d, Step::Stop);
            assert_eq!(
                decide(None, None, &Stage::Unlocked, true, false, now()),
                Step::Stop
            );
            // Refreshable: take the lock.
            let refreshable = token(-60, true, "a");
            let d = decide(
                Some(&refreshable),
                Some(&refreshable),
                &Stage::Unlocked,
                true,
                false,
                now(),
            );
            assert_eq!(d, Step::Lock);
        }

        #[test]
        fn under_the_lock_a_token_another_run_made_wins() {
            let old = token(60, true, "old");
            let new = token(3600, true, "new");
            let d = decide(Some(&old), Some(&new), &Stage::Locked, true, false, now());
            assert_eq!(d, Step::Use(new.clone(), How::FromOther));
            // Even for a forced login, a token made by someone else while we waited.
            let d = decide(Some(&old), Some(&new), &Stage::Locked, false, true, now());
            assert_eq!(d, Step::Use(new.clone(), How::FromOther));
            // But a forced login never takes back the token it was asked to replace.
            let d = decide(Some(&new), Some(&new), &Stage::Locked, false, true, now());
            assert_eq!(d, Step::LogIn);
        }

        #[test]
        fn under_the_lock_refresh_then_log_in_or_stop() {
            let near = token(60, true, "a");
            let d = decide(Some(&near), Some(&near), &Stage::Locked, true, false, now());
            assert_eq!(d, Step::Refresh(near.clone()));
            // The refresh failed: the chain keeps a token that still works, else stops.
            let d = decide(
                Some(&near),
                Some(&near),
                &Stage::RefreshFailed(None),
                true,
                false,
                now(),
            );
            assert_eq!(d, Step::Use(near.clone(), How::Cached));
            let expired = token(-1, true, "a");
            let d = decide(
                Some(&expired),
                Some(&expired),
                &Stage::RefreshFailed(None),
                true,
                false,
                now(),
            );
            assert_eq!(d, Step::Stop);
            // sso-login logs in.
            let d = decide(
                Some(&expired),
                Some(&expired),
                &Stage::RefreshFailed(None),
                false,
                false,
                now(),
            );
            assert_eq!(d, Step::LogIn);
            assert_eq!(
                decide(None, None, &Stage::Locked, false, false, now()),
                Step::LogIn
            );
        }
    }
}
