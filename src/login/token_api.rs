//! The one Sign-In call: CreateOAuth2Token (`POST /v1/token`, unsigned, JSON body), with the
//! DPoP proof added to every attempt (a retry gets a fresh `jti`), for the authorization-code
//! grant (a login) and the refresh-token grant (the chain, near expiry).

use super::dpop::Key;
use crate::aws::{Aws, Target};
use crate::base::secret::Secret;
use aws_sdk_signin::operation::create_o_auth2_token::CreateOAuth2TokenError;
use aws_sdk_signin::types::{CreateOAuth2TokenRequestBody, OAuth2ErrorCode};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::time::{Duration, SystemTime};

/// What to trade for credentials.
pub(crate) enum Grant<'a> {
    Refresh {
        client_id: &'a str,
        refresh_token: &'a Secret,
    },
    Code {
        client_id: &'a str,
        code: &'a Secret,
        code_verifier: &'a Secret,
        redirect_uri: &'a str,
    },
}

/// What CreateOAuth2Token gave.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Secret,
    pub expires_in: Duration,
    pub refresh_token: Secret,
    /// A JWT whose `sub` is the login session ARN (code grant only).
    pub id_token: Option<Secret>,
}

/// Why the call failed: the service's error (exception name and OAuth2 `error` code) when it
/// answered with one, else the SDK's failure as a [`crate::base::error::Problem`].
#[derive(Debug)]
pub(crate) enum Failure {
    Service {
        exception: String,
        /// `TOKEN_EXPIRED`, `USER_CREDENTIALS_CHANGED`, `INSUFFICIENT_PERMISSIONS`, ...
        error: String,
        message: String,
    },
    Other(anyhow::Error),
}

/// The DPoP header, signed at send time over the final URL.
#[derive(Debug)]
struct Dpop {
    key: Key,
    now: SystemTime,
}

impl Intercept for Dpop {
    fn name(&self) -> &'static str {
        "aws-cred DPoP proof"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let proof = self.key.proof("POST", request.uri(), self.now);
        request.headers_mut().insert("DPoP", proof);
        Ok(())
    }
}

pub(crate) async fn create_token(
    aws: &Aws,
    region: &str,
    grant: Grant<'_>,
    key: &Key,
    now: SystemTime,
) -> Result<Issued, Failure> {
    let (client, target) = aws.signin(region, None);
    let body = match grant {
        Grant::Refresh {
            client_id,
            refresh_token,
        } => CreateOAuth2TokenRequestBody::builder()
            .client_id(client_id)
            .grant_type("refresh_token")
            .refresh_token(refresh_token.expose()),
        Grant::Code {
            client_id,
            code,
            code_verifier,
            redirect_uri,
        } => CreateOAuth2TokenRequestBody::builder()
            .client_id(client_id)
            .grant_type("authorization_code")
            .code(code.expose())
            .code_verifier(code_verifier.expose())
            .redirect_uri(redirect_uri),
    };
    let body = body
        .build()
        .map_err(|e| Failure::Other(anyhow::anyhow!("CreateOAuth2Token request: {e}")))?;
    let sent = client
        .create_o_auth2_token()
        .token_input(body)
        .customize()
        .interceptor(Dpop {
            key: key.clone(),
            now,
        })
        .send()
        .await;
    let output = sent.map_err(|err| failure(&target, err))?;
    let invalid = |what: &str| {
        Failure::Other(
            crate::base::error::Problem::failure(format!(
                "CreateOAuth2Token: {} answered without {what}",
                target.describe()
            ))
            .hint("check that AWS_ENDPOINT_URL_SIGNIN (or [services] signin) points at AWS Sign-In")
            .into(),
        )
    };
    let body = output.token_output.ok_or_else(|| invalid("tokenOutput"))?;
    let access = body.access_token().ok_or_else(|| invalid("accessToken"))?;
    if body.refresh_token().is_empty() {
        return Err(invalid("a refreshToken"));
    }
    let expires_in = u64::try_from(body.expires_in())
        .ok()
        .filter(|s| *s > 0)
        .ok_or_else(|| invalid("a positive expiresIn"))?;
    Ok(Issued {
        access_key_id: access.access_key_id().to_string(),
        secret_access_key: Secret::new(access.secret_access_key()),
        session_token: Secret::new(access.session_token()),
        expires_in: Duration::from_secs(expires_in),
        refresh_token: Secret::new(body.refresh_token()),
        id_token: body.id_token().map(Secret::new),
    })
}

fn failure<R>(target: &Target, err: SdkError<CreateOAuth2TokenError, R>) -> Failure
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    use aws_smithy_types::error::metadata::ProvideErrorMetadata as _;
    if let SdkError::ServiceError(service) = &err
        && service.err().code().is_some()
    {
        let (exception, error, message) = match service.err() {
            CreateOAuth2TokenError::AccessDeniedException(e) => (
                "AccessDeniedException",
                code(e.error()),
                e.message().to_string(),
            ),
            CreateOAuth2TokenError::ValidationException(e) => (
                "ValidationException",
                code(e.error()),
                e.message().to_string(),
            ),
            CreateOAuth2TokenError::InternalServerException(e) => (
                "InternalServerException",
                code(e.error()),
                e.message().to_string(),
            ),
            CreateOAuth2TokenError::TooManyRequestsError(e) => (
                "TooManyRequestsError",
                code(e.error()),
                e.message().to_string(),
            ),
            other => (
                other.code().unwrap_or_default(),
                String::new(),
                other.message().unwrap_or_default().to_string(),
            ),
        };
        return Failure::Service {
            exception: exception.to_string(),
            error,
            message,
        };
    }
    // Anything else, an answer without an AWS error code among them (a proxy's HTML page,
    // garbage, a bare 500), is told with the endpoint and the HTTP status.
    Failure::Other(crate::aws::failure("CreateOAuth2Token", target, err))
}

fn code(code: &OAuth2ErrorCode) -> String {
    code.as_str().to_string()
}
