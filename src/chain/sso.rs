//! SSO (IAM Identity Center) profiles: the cached token the AWS CLI and aws-cred share,
//! and GetRoleCredentials with it.

use crate::aws::{self, Aws};
use crate::context::Context;
use crate::error::Problem;
use aws_credential_types::Credentials;
use serde::Deserialize;
use sha1::{Digest, Sha1};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// The SSO settings of a profile, after following `sso_session`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoConfig {
    pub profile: String,
    pub session_name: Option<String>,
    pub start_url: String,
    pub region: String,
    pub account_id: Option<String>,
    pub role_name: Option<String>,
}

impl SsoConfig {
    /// The token cache key: sha1 of the session name, or of the start URL for legacy profiles.
    pub fn cache_key(&self) -> String {
        let input = self.session_name.as_deref().unwrap_or(&self.start_url);
        hex::encode(Sha1::digest(input.as_bytes()))
    }

    pub fn login_command(&self) -> String {
        match &self.session_name {
            Some(s) if self.profile.is_empty() => format!("aws-cred sso-login --sso-session {s}"),
            _ => format!("aws-cred sso-login --profile {}", self.profile),
        }
    }
}

pub fn token_cache_dir(ctx: &Context) -> Option<PathBuf> {
    Some(ctx.home()?.join(".aws").join("sso").join("cache"))
}

/// The fields aws-cred needs from a cached token (keys matched case-insensitively by serde
/// aliases, as aws-config does).
#[derive(Debug, Deserialize)]
pub struct CachedToken {
    #[serde(rename = "accessToken", alias = "AccessToken", alias = "accesstoken")]
    pub access_token: String,
    #[serde(rename = "expiresAt", alias = "ExpiresAt", alias = "expiresat")]
    pub expires_at: String,
}

/// Read the cached token; missing or expired tokens are "log in again" (exit 4).
pub fn read_token(ctx: &Context, config: &SsoConfig) -> anyhow::Result<String> {
    let login = config.login_command();
    let dir = token_cache_dir(ctx)
        .ok_or_else(|| Problem::usage("cannot find the home directory for the SSO token cache"))?;
    let path = dir.join(format!("{}.json", config.cache_key()));
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(Problem::expired(format!(
                "no SSO login for {} yet (no token at {})",
                config.start_url,
                path.display()
            ))
            .hint(format!("run {login}"))
            .into());
        }
        Err(err) => {
            return Err(Problem::failure(format!(
                "cannot read the SSO token {}: {err}",
                path.display()
            ))
            .into());
        }
    };
    let token: CachedToken = serde_json::from_str(&text).map_err(|_| {
        Problem::expired(format!(
            "the SSO token file {} is not valid (needs accessToken and expiresAt)",
            path.display()
        ))
        .hint(format!("run {login}"))
    })?;
    let expires = super::env::parse_time(&token.expires_at).ok_or_else(|| {
        Problem::expired(format!(
            "the SSO token file {} has an unreadable expiresAt",
            path.display()
        ))
        .hint(format!("run {login}"))
    })?;
    if expires <= ctx.now() {
        return Err(Problem::expired(format!(
            "the SSO token for {} expired at {}",
            config.start_url,
            crate::output::rfc3339(expires)
        ))
        .hint(format!("run {login}"))
        .into());
    }
    Ok(token.access_token)
}

/// GetRoleCredentials with a valid token.
pub async fn role_credentials(
    aws: &Aws,
    config: &SsoConfig,
    account_id: &str,
    role_name: &str,
    token: &str,
) -> anyhow::Result<Credentials> {
    let (client, target) = aws.sso(&config.region, None);
    let out = client
        .get_role_credentials()
        .account_id(account_id)
        .role_name(role_name)
        .access_token(token)
        .send()
        .await
        .map_err(|err| {
            let code = aws::error_code(&err).map(|(c, _)| c.to_string());
            let base = aws::failure(
                &format!("GetRoleCredentials for role {role_name} in account {account_id}"),
                &target,
                err,
            );
            match code.as_deref() {
                Some("UnauthorizedException") => Problem::expired(format!(
                    "the SSO token was rejected (revoked or expired) by {}",
                    target.describe()
                ))
                .hint(format!("run {}", config.login_command()))
                .into(),
                Some("ForbiddenException") => Problem::failure(format!(
                    "no access to role {role_name} in account {account_id} for this SSO user"
                ))
                .hint("ask your administrator to assign the permission set, or pick another role (aws-cred sso-login lists them)")
                .into(),
                _ => base,
            }
        })?;
    let role = out
        .role_credentials
        .ok_or_else(|| anyhow::anyhow!("GetRoleCredentials returned no credentials"))?;
    let (Some(access_key), Some(secret)) = (role.access_key_id, role.secret_access_key) else {
        return Err(anyhow::anyhow!(
            "GetRoleCredentials returned incomplete credentials"
        ));
    };
    let mut builder = Credentials::builder()
        .access_key_id(access_key)
        .secret_access_key(secret)
        .account_id(account_id)
        .provider_name(crate::sts::PROVIDER);
    builder.set_session_token(role.session_token);
    // The portal gives epoch milliseconds.
    builder.set_expiry(
        u64::try_from(role.expiration)
            .ok()
            .map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms)),
    );
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_key_is_sha1_of_session_name_or_start_url() {
        let mut c = SsoConfig {
            profile: "p".into(),
            session_name: Some("my-sso".into()),
            start_url: "https://d-123.awsapps.com/start".into(),
            region: "us-east-1".into(),
            account_id: None,
            role_name: None,
        };
        assert_eq!(c.cache_key(), "0ad374308c5a4e22f723adf10145eafad7c4031c");
        c.session_name = None;
        assert_eq!(c.cache_key(), "2b829a45f04c9828cb45b7d092d8e4aa30818393");
    }
}
