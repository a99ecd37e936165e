//! The STS calls every flow shares.

use crate::aws::{self, Aws};
use aws_credential_types::Credentials;
use std::time::SystemTime;

/// A role to assume, as a profile describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleRequest {
    pub role_arn: String,
    pub session_name: Option<String>,
    pub external_id: Option<String>,
    pub duration_seconds: Option<i32>,
}

/// Who the credentials belong to.
#[derive(Debug, Clone)]
pub struct Identity {
    pub account: String,
    pub arn: String,
    pub user_id: String,
}

pub fn default_session_name(now: SystemTime) -> String {
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("aws-cred-{secs}")
}

/// STS's credentials as the SDK's type; the account comes from an ARN when one is given.
pub fn convert(
    creds: aws_sdk_sts::types::Credentials,
    account_from_arn: Option<&str>,
) -> Credentials {
    let mut builder = Credentials::builder()
        .access_key_id(creds.access_key_id)
        .secret_access_key(creds.secret_access_key)
        .session_token(creds.session_token)
        .provider_name(crate::base::PROVIDER);
    builder.set_expiry(SystemTime::try_from(creds.expiration).ok());
    builder.set_account_id(account_from_arn.and_then(account_of_arn).map(Into::into));
    builder.build()
}

/// The account id in an ARN (`arn:aws:sts::123456789012:assumed-role/...`).
pub fn account_of_arn(arn: &str) -> Option<String> {
    let account = arn.split(':').nth(4)?;
    (!account.is_empty()).then(|| account.to_string())
}

pub async fn assume_role(
    aws: &Aws,
    region: &str,
    source: Credentials,
    role: &RoleRequest,
    now: SystemTime,
) -> anyhow::Result<Credentials> {
    let (client, target) = aws.sts(region, Some(source));
    let out = client
        .assume_role()
        .role_arn(&role.role_arn)
        .role_session_name(
            role.session_name
                .clone()
                .unwrap_or_else(|| default_session_name(now)),
        )
        .set_external_id(role.external_id.clone())
        .set_duration_seconds(role.duration_seconds)
        .send()
        .await
        .map_err(|e| aws::failure(&format!("AssumeRole {}", role.role_arn), &target, e))?;
    let creds = out
        .credentials
        .ok_or_else(|| anyhow::anyhow!("AssumeRole returned no credentials"))?;
    let arn = out.assumed_role_user.map(|u| u.arn);
    Ok(convert(creds, arn.as_deref()))
}

pub async fn assume_role_with_web_identity(
    aws: &Aws,
    region: &str,
    role: &RoleRequest,
    token: &str,
    now: SystemTime,
) -> anyhow::Result<Credentials> {
    let (client, target) = aws.sts(region, None);
    let out = client
        .assume_role_with_web_identity()
        .role_arn(&role.role_arn)
        .role_session_name(
            role.session_name
                .clone()
                .unwrap_or_else(|| default_session_name(now)),
        )
        .web_identity_token(token)
        .set_duration_seconds(role.duration_seconds)
        .send()
        .await
        .map_err(|e| {
            aws::failure(
                &format!("AssumeRoleWithWebIdentity {}", role.role_arn),
                &target,
                e,
            )
        })?;
    let creds = out
        .credentials
        .ok_or_else(|| anyhow::anyhow!("AssumeRoleWithWebIdentity returned no credentials"))?;
    let arn = out.assumed_role_user.map(|u| u.arn);
    Ok(convert(creds, arn.as_deref()))
}

/// A federation token request: the federated user's name (2-32 characters of `[\w+=,.@-]`), the
/// session policy, and its duration (900-129600 seconds; AWS caps root at 3600).
#[derive(Debug, Clone)]
pub struct FederationRequest<'a> {
    pub name: &'a str,
    pub policy: &'a str,
    pub duration_seconds: i32,
}

/// GetFederationToken with an IAM user's long-term keys.
pub async fn get_federation_token(
    aws: &Aws,
    region: &str,
    keys: Credentials,
    request: &FederationRequest<'_>,
) -> anyhow::Result<Credentials> {
    let (client, target) = aws.sts(region, Some(keys));
    let out = client
        .get_federation_token()
        .name(request.name)
        .policy(request.policy)
        .duration_seconds(request.duration_seconds)
        .send()
        .await
        .map_err(|e| aws::failure("GetFederationToken", &target, e))?;
    let creds = out
        .credentials
        .ok_or_else(|| anyhow::anyhow!("GetFederationToken returned no credentials"))?;
    let arn = out.federated_user.map(|u| u.arn);
    Ok(convert(creds, arn.as_deref()))
}

pub async fn get_caller_identity(
    aws: &Aws,
    region: &str,
    creds: Credentials,
) -> anyhow::Result<Identity> {
    let (client, target) = aws.sts(region, Some(creds));
    let out = client
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| aws::failure("GetCallerIdentity", &target, e))?;
    Ok(Identity {
        account: out.account.unwrap_or_default(),
        arn: out.arn.unwrap_or_default(),
        user_id: out.user_id.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_from_arn() {
        assert_eq!(
            account_of_arn("arn:aws:sts::123456789012:assumed-role/R/s").as_deref(),
            Some("123456789012")
        );
        assert_eq!(account_of_arn("nonsense"), None);
    }
}
