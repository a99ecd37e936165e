//! The STS calls every flow shares.

use crate::aws::{self, Aws, Target};
use crate::base::error::Problem;
use aws_credential_types::Credentials;
use std::time::SystemTime;

/// A role to assume, as a profile describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleRequest {
    pub role_arn: String,
    pub session_name: Option<String>,
    pub external_id: Option<String>,
    pub duration_seconds: Option<i32>,
    /// `source_identity` (set once, carried through role chaining, shown in CloudTrail).
    pub source_identity: Option<String>,
    /// `session_tags = key=value,…` (aws-vault's key): the session's tags.
    pub tags: Vec<(String, String)>,
    /// `transitive_session_tags = key,…`: the tags that go on to roles this session assumes.
    pub transitive_tag_keys: Vec<String>,
}

/// Who the credentials belong to.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub account: String,
    pub arn: String,
    pub user_id: String,
}

pub(crate) fn default_session_name(now: SystemTime) -> String {
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("aws-cred-{secs}")
}

/// An STS answer that parsed but lacks what every such answer has (a truncated or forged
/// response): an error naming the operation, the endpoint and the missing field.
pub(crate) fn incomplete(operation: &str, target: &Target, what: &str) -> anyhow::Error {
    Problem::failure(format!(
        "{operation}: {} sent an incomplete answer ({what})",
        target.describe()
    ))
    .hint("retry; if it persists, check that the endpoint (AWS_ENDPOINT_URL*) is the real STS and no proxy alters its answers")
    .into()
}

/// STS's credentials as the SDK's type; the account comes from an ARN when one is given.
/// Credentials without keys, or without an expiration (the SDK fills a missing one with
/// 1970-01-01), are refused: they are a truncated answer, not an expired session.
pub(crate) fn convert(
    operation: &str,
    target: &Target,
    creds: Option<aws_sdk_sts::types::Credentials>,
    account_from_arn: Option<&str>,
) -> anyhow::Result<Credentials> {
    let creds = creds.ok_or_else(|| incomplete(operation, target, "no Credentials"))?;
    if creds.access_key_id.trim().is_empty() || creds.secret_access_key.trim().is_empty() {
        return Err(incomplete(
            operation,
            target,
            "no AccessKeyId or SecretAccessKey",
        ));
    }
    if creds.expiration.secs() <= 0 {
        return Err(incomplete(operation, target, "no Expiration"));
    }
    let expiry = crate::base::time::from_unix_secs("Expiration", creds.expiration.secs())
        .map_err(|err| Problem::failure(format!("{operation}: {}: {err}", target.describe())))?;
    let mut builder = Credentials::builder()
        .access_key_id(creds.access_key_id)
        .secret_access_key(creds.secret_access_key)
        .session_token(creds.session_token)
        .provider_name(crate::base::PROVIDER);
    builder.set_expiry(Some(expiry));
    builder.set_account_id(account_from_arn.and_then(account_of_arn).map(Into::into));
    Ok(builder.build())
}

/// The account id in an ARN (`arn:aws:sts::123456789012:assumed-role/...`).
pub(crate) fn account_of_arn(arn: &str) -> Option<String> {
    let account = arn.split(':').nth(4)?;
    (!account.is_empty()).then(|| account.to_string())
}

pub(crate) async fn assume_role(
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
        .set_source_identity(role.source_identity.clone())
        .set_tags(tags(role)?)
        .set_transitive_tag_keys(
            (!role.transitive_tag_keys.is_empty()).then(|| role.transitive_tag_keys.clone()),
        )
        .send()
        .await
        .map_err(|e| aws::failure(&format!("AssumeRole {}", role.role_arn), &target, e))?;
    let arn = out.assumed_role_user.map(|u| u.arn);
    convert("AssumeRole", &target, out.credentials, arn.as_deref())
}

/// The request's session tags in the SDK's type; `None` when there are none.
fn tags(role: &RoleRequest) -> anyhow::Result<Option<Vec<aws_sdk_sts::types::Tag>>> {
    if role.tags.is_empty() {
        return Ok(None);
    }
    role.tags
        .iter()
        .map(|(key, value)| {
            aws_sdk_sts::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|e| anyhow::anyhow!("session tag {key:?}: {e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()
        .map(Some)
}

pub(crate) async fn assume_role_with_web_identity(
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
    let arn = out.assumed_role_user.map(|u| u.arn);
    convert(
        "AssumeRoleWithWebIdentity",
        &target,
        out.credentials,
        arn.as_deref(),
    )
}

/// A federation token request: the federated user's name (2-32 characters of `[\w+=,.@-]`), the
/// session policy, and its duration (900-129600 seconds; AWS caps root at 3600).
#[derive(Debug, Clone)]
pub(crate) struct FederationRequest<'a> {
    pub name: &'a str,
    pub policy: &'a str,
    pub duration_seconds: i32,
}

/// GetFederationToken with an IAM user's long-term keys.
pub(crate) async fn get_federation_token(
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
    let arn = out.federated_user.map(|u| u.arn);
    convert(
        "GetFederationToken",
        &target,
        out.credentials,
        arn.as_deref(),
    )
}

pub(crate) async fn get_caller_identity(
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
    let field = |value: Option<String>, name: &str| {
        value
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| incomplete("GetCallerIdentity", &target, &format!("no {name}")))
    };
    Ok(Identity {
        account: field(out.account, "Account")?,
        arn: field(out.arn, "Arn")?,
        user_id: field(out.user_id, "UserId")?,
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
