//! Ending SSO sessions, as `aws sso logout` does: the portal's Logout call with each token
//! (while it is still valid), then the token file. The client registration stays: it is not a
//! session, and the next login reuses it.

use super::SsoConfig;
use super::cache::{Store, Token};
use crate::aws::Aws;
use crate::os::Context;
use std::path::PathBuf;

/// One token ended.
#[derive(Debug)]
pub(crate) struct LoggedOut {
    pub path: PathBuf,
    /// The start URL the token was for.
    pub start_url: String,
    /// Whether the portal was told: `Ok(true)` it was, `Ok(false)` the token had expired
    /// (nothing to end), `Err` why the call failed (the file is removed anyway).
    pub portal: Result<bool, anyhow::Error>,
}

async fn end(ctx: &Context, aws: &Aws, path: PathBuf, token: Token) -> anyhow::Result<LoggedOut> {
    let portal = if token.is_valid(ctx.now()) && !token.region.is_empty() {
        super::portal::logout(aws, &token.region, &token.access_token)
            .await
            .map(|()| true)
    } else {
        Ok(false)
    };
    crate::os::fs::remove_existing(&path)
        .map_err(|e| crate::base::error::Problem::failure(e.to_string()))?;
    Ok(LoggedOut {
        path,
        start_url: token.start_url,
        portal,
    })
}

/// The token of one sso-session (or legacy start URL); `None` when none is cached. The region
/// of the Logout call is the configuration's.
pub(crate) async fn logout(
    ctx: &Context,
    aws: &Aws,
    config: &SsoConfig,
) -> anyhow::Result<Option<LoggedOut>> {
    let store = Store::new(ctx)?;
    let path = store.token_path(config);
    match store.read_token(config)? {
        super::cache::Cached::Found(mut token) => {
            token.region = config.region.clone();
            if token.start_url.is_empty() {
                token.start_url = config.start_url.clone();
            }
            end(ctx, aws, path, token).await.map(Some)
        }
        super::cache::Cached::Unusable(_) => {
            let removed = store.remove_token(config)?;
            Ok(removed.then(|| LoggedOut {
                path,
                start_url: config.start_url.clone(),
                portal: Ok(false),
            }))
        }
        super::cache::Cached::Missing => Ok(None),
    }
}

/// Every token in `~/.aws/sso/cache`.
pub(crate) async fn logout_all(ctx: &Context, aws: &Aws) -> anyhow::Result<Vec<LoggedOut>> {
    let store = Store::new(ctx)?;
    let mut out = Vec::new();
    for (path, token) in store.tokens() {
        out.push(end(ctx, aws, path, token).await?);
    }
    Ok(out)
}
