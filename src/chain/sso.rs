//! SSO profiles in the chain: the token the AWS CLI and aws-cred share (refreshed with the
//! refresh-token grant when near expiry, never with a browser), then GetRoleCredentials.
//! A missing or expired token stops the chain with "run aws-cred sso-login" (exit 4).

use super::Request;
use crate::sso::portal;
use crate::sso::token;
use aws_credential_types::Credentials;

pub(crate) use crate::sso::SsoConfig;

/// Role credentials for `account`/`role` with the cached (or refreshed) token, and how the
/// token was got (`How::note`).
pub(crate) async fn credentials(
    req: &Request<'_>,
    sso: &SsoConfig,
    account: &str,
    role: &str,
) -> anyhow::Result<(Credentials, &'static str)> {
    let obtained = token::cached(req.ctx, req.aws, sso).await?;
    let credentials =
        portal::role_credentials(req.aws, sso, account, role, &obtained.value.access_token).await?;
    Ok((credentials, obtained.how.note()))
}
