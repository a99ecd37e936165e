//! Identity pools: GetId and GetCredentialsForIdentity, with `Logins` for signed-in users,
//! none for guests, and `CustomRoleArn` for rule- or token-based roles.

use crate::aws::{self, Aws, Target};
use crate::base::error::Problem;
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::fmt::Debug;

/// An identity pool id, `REGION:UUID`, and its region.
#[derive(Debug, Clone)]
pub(crate) struct IdentityPool {
    pub id: String,
    pub region: String,
}

impl IdentityPool {
    pub(crate) fn parse(id: &str) -> Option<IdentityPool> {
        let (region, uuid) = id.split_once(':')?;
        let region_ok = !region.is_empty()
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let uuid_ok = !uuid.is_empty() && uuid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
        (region_ok && uuid_ok).then(|| IdentityPool {
            id: id.to_string(),
            region: region.to_string(),
        })
    }
}

/// A signed-in user's login for the identity pool: provider name and ID token.
#[derive(Clone, Copy)]
pub(crate) struct Login<'a> {
    pub provider: &'a str,
    pub id_token: &'a str,
}

/// What the caller asked for, for hints.
pub(crate) struct Request<'a> {
    pub pool: &'a IdentityPool,
    pub login: Option<Login<'a>>,
    pub role_arn: Option<&'a str>,
}

pub(crate) async fn get_id(aws: &Aws, request: &Request<'_>) -> anyhow::Result<String> {
    let (client, target) = aws.cognito_identity(&request.pool.region, None);
    let mut call = client.get_id().identity_pool_id(&request.pool.id);
    if let Some(login) = request.login {
        call = call.logins(login.provider, login.id_token);
    }
    let out = call
        .send()
        .await
        .map_err(|e| failure("GetId", &target, e, request))?;
    out.identity_id()
        .map(str::to_string)
        .ok_or_else(|| Problem::failure("GetId answered without an IdentityId").into())
}

/// The error of GetCredentialsForIdentity, kept apart so a stale cached identity id can be
/// retried with a fresh GetId.
pub(crate) enum CredentialsError {
    /// The identity id is unknown to the pool (deleted, or from another pool or user).
    StaleIdentity(anyhow::Error),
    Other(anyhow::Error),
}

pub(crate) async fn credentials(
    aws: &Aws,
    request: &Request<'_>,
    identity_id: &str,
) -> Result<Credentials, CredentialsError> {
    let (client, target) = aws.cognito_identity(&request.pool.region, None);
    let mut call = client
        .get_credentials_for_identity()
        .identity_id(identity_id);
    if let Some(login) = request.login {
        call = call.logins(login.provider, login.id_token);
    }
    if let Some(role) = request.role_arn {
        call = call.custom_role_arn(role);
    }
    let out = match call.send().await {
        Ok(out) => out,
        Err(err) => {
            let stale = aws::error_code(&err).is_some_and(|(code, message)| {
                code == "ResourceNotFoundException"
                    || (code == "NotAuthorizedException"
                        && message.to_ascii_lowercase().contains("identity"))
                    || (code == "InvalidParameterException"
                        && message.to_ascii_lowercase().contains("identityid"))
            });
            let err = failure("GetCredentialsForIdentity", &target, err, request);
            return Err(if stale {
                CredentialsError::StaleIdentity(err)
            } else {
                CredentialsError::Other(err)
            });
        }
    };
    let creds = out.credentials().ok_or_else(|| {
        CredentialsError::Other(
            Problem::failure("GetCredentialsForIdentity answered without credentials").into(),
        )
    })?;
    let (Some(akid), Some(secret)) = (creds.access_key_id(), creds.secret_key()) else {
        return Err(CredentialsError::Other(
            Problem::failure("GetCredentialsForIdentity answered with incomplete credentials")
                .into(),
        ));
    };
    let mut builder = Credentials::builder()
        .access_key_id(akid)
        .secret_access_key(secret)
        .provider_name(crate::base::PROVIDER);
    builder.set_session_token(creds.session_token().map(str::to_string));
    if let Some(expiration) = creds.expiration() {
        let expiry =
            crate::base::time::from_unix_secs("Expiration", expiration.secs()).map_err(|err| {
                CredentialsError::Other(
                    Problem::failure(format!("GetCredentialsForIdentity answered with {err}"))
                        .into(),
                )
            })?;
        builder.set_expiry(Some(expiry));
    }
    Ok(builder.build())
}

fn failure<E, R>(
    operation: &str,
    target: &Target,
    err: SdkError<E, R>,
    request: &Request<'_>,
) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    let known = aws::error_code(&err).map(|(c, m)| (c.to_string(), m.to_string()));
    if let Some((code, message)) = known
        && let Some(problem) = explain(&code, &message, request)
    {
        // The first line says what happened in the person's words; AWS's code is the cause.
        return anyhow::Error::msg(format!("{operation} failed: {code}: {message}"))
            .context(problem);
    }
    aws::failure(operation, target, err)
}

/// Identity pool failures, with the runbook's distinction between a role's *trust* policy (who
/// may become the role) and its *access* policy (what the role may do).
pub(crate) fn explain(code: &str, message: &str, request: &Request<'_>) -> Option<Problem> {
    let lower = message.to_ascii_lowercase();
    let pool = &request.pool.id;
    let trust_hint = "this is the role's TRUST policy, not its access policy: the role must trust cognito-identity.amazonaws.com with sts:AssumeRoleWithWebIdentity, \
         with the conditions \"cognito-identity.amazonaws.com:aud\" = the identity pool id and \"cognito-identity.amazonaws.com:amr\" = \"authenticated\" (or \"unauthenticated\" for guests).\n\
         An AccessDenied later, on S3 or DynamoDB, is the access policy instead.";
    let problem = match code {
        "NotAuthorizedException" if lower.contains("unauthenticated access") => {
            Problem::usage(format!("identity pool {pool} does not allow guest (unauthenticated) identities"))
                .hint("sign in with --user NAME, or turn on guest access in the identity pool (\"Allow unauthenticated identities\")")
        }
        "NotAuthorizedException" if request.login.is_some() && lower.contains("expired") => {
            Problem::failure(format!(
                "identity pool {pool} says the ID token has expired: {message}"
            ))
            .hint("check this computer's clock (aws-cred refreshes tokens that have less than 5 minutes left), then run the command again")
        }
        "NotAuthorizedException"
            if request.login.is_some()
                && (lower.contains("issuer")
                    || lower.contains("provider")
                    || lower.contains("token is not from a supported")
                    || lower.contains("invalid login token")) =>
        {
            let provider = request.login.map(|l| l.provider).unwrap_or_default();
            Problem::usage(format!(
                "identity pool {pool} does not trust this user pool or app client: {message}"
            ))
            .hint(format!(
                "add the user pool as an authentication provider of the identity pool (provider {provider}, with this app client id), or use the identity pool that belongs to it"
            ))
        }
        "InvalidIdentityPoolConfigurationException" => Problem::failure(format!(
            "identity pool {pool} could not give this identity a role: {message}"
        ))
        .hint(format!(
            "check the identity pool's authenticated/unauthenticated roles (and role rules); {trust_hint}"
        )),
        "AccessDeniedException" | "NotAuthorizedException" | "InvalidParameterException"
            if request.role_arn.is_some() =>
        {
            Problem::failure(format!(
                "identity pool {pool} refused role {}: {message}",
                request.role_arn.unwrap_or_default()
            ))
            .hint(format!(
                "--role-arn must be a role the pool may give this user: with \"Choose role from token\" one of the user's groups' roles (cognito:roles), or a role of a matching rule; {trust_hint}"
            ))
        }
        "ResourceNotFoundException" => Problem::usage(format!(
            "identity pool {pool} was not found: {message}"
        ))
        .hint(format!(
            "check the identity pool id (REGION:UUID) and that it is in {}",
            request.pool.region
        )),
        "TooManyRequestsException" | "LimitExceededException" => Problem::failure(format!(
            "Cognito Identity is throttling these requests ({code}): {message}"
        ))
        .hint("aws-cred already retried with backoff; wait a little and run fewer at once (cached credentials are reused while valid)"),
        _ => return None,
    };
    Some(problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_pool_ids() {
        let p = IdentityPool::parse("ap-northeast-1:1f392b6a-751d-4760-8849-5924149f8e67").unwrap();
        assert_eq!(p.region, "ap-northeast-1");
        for bad in ["", "ap-northeast-1", ":abc", "us-east-1:xyz", "US:abc"] {
            assert!(IdentityPool::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn trust_failures_explain_trust_versus_access() {
        let pool = IdentityPool::parse("us-east-1:0000").unwrap();
        let request = Request {
            pool: &pool,
            login: None,
            role_arn: None,
        };
        let p = explain(
            "InvalidIdentityPoolConfigurationException",
            "Invalid identity pool configuration. Check assigned IAM roles for this pool.",
            &request,
        )
        .unwrap();
        let hint = p.hint.unwrap();
        assert!(hint.contains("TRUST policy") && hint.contains("access policy"));
        assert!(explain("Weird", "", &request).is_none());
    }
}
