//! A Cognito user's (or guest's) AWS credentials, with the cache: one entry per (user pool, app
//! client, user) or per identity pool for guests, locked while in use so concurrent runs sign
//! in once. Tokens are reused while valid, refreshed with the refresh token, or obtained by a
//! new sign-in (which the caller provides: it may need a person or the provider chain); the
//! identity id is reused; credentials are reused while valid, else asked for again.

use super::identity_pool::{self, CredentialsError, IdentityPool, Login};
use super::user_pool::{self, PoolClient};
use super::{CachedCredentials, ENTRY_VERSION, Entry, REUSE_MARGIN, Tokens};
use crate::aws::Aws;
use crate::cache::{Cache, LOCK_TIMEOUT};
use aws_credential_types::Credentials;
use std::time::SystemTime;

/// How the tokens were had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokensFrom {
    Cache,
    Refreshed,
    SignIn,
    /// The refresh token was refused (revoked, expired, a changed password), so a new sign-in.
    SignInAfterRefusedRefresh,
}

/// What [`user`] and [`guest`] give.
#[derive(Debug)]
pub(crate) struct Obtained {
    pub credentials: Credentials,
    pub identity_id: String,
    /// The credentials came from the cache.
    pub reused: bool,
    /// For users: their tokens, and how they were had.
    pub tokens: Option<(Tokens, TokensFrom)>,
}

/// Where to get credentials: the identity pool, the role to ask for.
pub(crate) struct Target<'a> {
    pub identity_pool: &'a IdentityPool,
    pub role_arn: Option<&'a str>,
}

/// The cached entry, or a new one; a cache file aws-cred cannot trust is an error.
fn read_entry(cache: &Cache, key: &str) -> anyhow::Result<Entry> {
    Ok(cache
        .read::<Entry>(key)?
        .filter(|e| e.version == ENTRY_VERSION)
        .unwrap_or(Entry {
            version: ENTRY_VERSION,
            ..Default::default()
        }))
}

fn waiting() {
    eprintln!("waiting for another aws-cred signing in as the same user...");
}

/// A guest: the identity pool's unauthenticated role.
pub(crate) async fn guest(
    aws: &Aws,
    cache: &Cache,
    target: &Target<'_>,
    now: SystemTime,
) -> anyhow::Result<Obtained> {
    let key = super::guest_key(&target.identity_pool.id);
    let _lock = cache.lock_async(&key, LOCK_TIMEOUT, waiting).await?;
    let mut entry = read_entry(cache, &key)?;
    let request = identity_pool::Request {
        pool: target.identity_pool,
        login: None,
        role_arn: target.role_arn,
    };
    written_back(aws, cache, &key, &request, &mut entry, now).await
}

/// A user of a user pool: tokens (cached, refreshed, or from `sign_in`), then the identity
/// pool's credentials for them.
pub(crate) async fn user(
    aws: &Aws,
    cache: &Cache,
    pool: &PoolClient,
    username: &str,
    target: &Target<'_>,
    now: SystemTime,
    sign_in: impl AsyncFnOnce() -> anyhow::Result<Tokens>,
) -> anyhow::Result<Obtained> {
    let key = super::user_key(&pool.user_pool_id, &pool.client_id, username);
    let _lock = cache.lock_async(&key, LOCK_TIMEOUT, waiting).await?;
    let mut entry = read_entry(cache, &key)?;
    entry.user_pool_id = Some(pool.user_pool_id.clone());
    entry.client_id = Some(pool.client_id.clone());
    entry.username = Some(username.to_string());

    let (tokens, from) = match entry.tokens.take() {
        Some(tokens) if tokens.valid_for(now, REUSE_MARGIN) => (tokens, TokensFrom::Cache),
        Some(old) => match user_pool::refresh(aws, pool, &old, now).await? {
            Some(tokens) => (tokens, TokensFrom::Refreshed),
            None => {
                // Said before the sign-in, which may ask for a password.
                eprintln!("note: the refresh token was not accepted; signing in again");
                (sign_in().await?, TokensFrom::SignInAfterRefusedRefresh)
            }
        },
        None => (sign_in().await?, TokensFrom::SignIn),
    };
    entry.tokens = Some(tokens.clone());
    // Keep the sign-in even if the identity pool step fails below.
    cache.write(&key, &entry)?;

    let provider = pool.provider_name();
    let request = identity_pool::Request {
        pool: target.identity_pool,
        login: Some(Login {
            provider: &provider,
            id_token: tokens.id_token.expose(),
        }),
        role_arn: target.role_arn,
    };
    let mut obtained = written_back(aws, cache, &key, &request, &mut entry, now).await?;
    obtained.tokens = Some((tokens, from));
    Ok(obtained)
}

/// The identity pool's credentials ([`identity_credentials`]), with the entry written back to
/// the cache under `key`.
async fn written_back(
    aws: &Aws,
    cache: &Cache,
    key: &str,
    request: &identity_pool::Request<'_>,
    entry: &mut Entry,
    now: SystemTime,
) -> anyhow::Result<Obtained> {
    let (credentials, identity_id, reused) = identity_credentials(aws, request, entry, now).await?;
    cache.write(key, entry)?;
    Ok(Obtained {
        credentials,
        identity_id,
        reused,
        tokens: None,
    })
}

/// Cached credentials for this identity pool and role while they last; otherwise
/// GetCredentialsForIdentity with the cached identity id (GetId only the first time, or when
/// the pool no longer knows the cached id).
async fn identity_credentials(
    aws: &Aws,
    request: &identity_pool::Request<'_>,
    entry: &mut Entry,
    now: SystemTime,
) -> anyhow::Result<(Credentials, String, bool)> {
    let pool_id = &request.pool.id;
    if let (Some(cached), Some(identity_id)) = (&entry.credentials, entry.identities.get(pool_id))
        && cached.matches(pool_id, request.role_arn)
        && let Some(creds) = cached.credentials()
        && creds.expiry().is_some_and(|t| t > now + REUSE_MARGIN)
    {
        return Ok((creds, identity_id.clone(), true));
    }
    let cached_id = entry.identities.get(pool_id).cloned();
    let identity_id = match &cached_id {
        Some(id) => id.clone(),
        None => identity_pool::get_id(aws, request).await?,
    };
    entry
        .identities
        .insert(pool_id.clone(), identity_id.clone());
    let result = identity_pool::credentials(aws, request, &identity_id).await;
    let (creds, identity_id) = match result {
        Ok(creds) => (creds, identity_id),
        Err(CredentialsError::StaleIdentity(_)) if cached_id.is_some() => {
            entry.identities.remove(pool_id);
            let fresh = identity_pool::get_id(aws, request).await?;
            entry.identities.insert(pool_id.clone(), fresh.clone());
            match identity_pool::credentials(aws, request, &fresh).await {
                Ok(creds) => (creds, fresh),
                Err(CredentialsError::StaleIdentity(e) | CredentialsError::Other(e)) => {
                    return Err(e);
                }
            }
        }
        Err(CredentialsError::StaleIdentity(e) | CredentialsError::Other(e)) => return Err(e),
    };
    entry.credentials = CachedCredentials::from_credentials(pool_id, request.role_arn, &creds);
    Ok((creds, identity_id, false))
}
