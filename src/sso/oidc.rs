//! The IAM Identity Center OIDC calls (RegisterClient, StartDeviceAuthorization, CreateToken
//! with the device-code, authorization-code and refresh-token grants), PKCE, the authorize URL
//! (the loopback listener that receives the browser's redirect is `os::callback`).

use super::SsoConfig;
use super::cache::{AUTH_CODE_GRANTS, Registration};
use crate::aws::{self, Aws, Target};
use crate::base::error::Problem;
use crate::base::secret::Secret;
use crate::base::text::escape;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::time::{Duration, SystemTime};

pub(crate) const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// Registered without a port; the request carries the listener's port (RFC 8252 loopback).
pub(crate) const REDIRECT_URI: &str = "http://127.0.0.1/oauth/callback";
pub(crate) const CALLBACK_PATH: &str = "/oauth/callback";

/// A failed call (the one service-error type, under the name this module has always used).
pub(crate) use crate::aws::ServiceError as Failure;

/// What CreateToken gives.
#[derive(Debug)]
pub(crate) struct Issued {
    pub access_token: Secret,
    pub expires_in: Duration,
    pub refresh_token: Option<Secret>,
}

/// StartDeviceAuthorization's answer.
#[derive(Debug)]
pub(crate) struct DeviceAuthorization {
    pub device_code: Secret,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub expires_in: Duration,
    pub interval: u64,
}

pub(crate) struct Oidc {
    client: aws_sdk_ssooidc::Client,
    target: Target,
}

impl Oidc {
    pub(crate) fn new(aws: &Aws, config: &SsoConfig) -> Oidc {
        let (client, target) = aws.sso_oidc(&config.region, None);
        Oidc { client, target }
    }

    /// The OIDC endpoint the SDK talks to (an `AWS_ENDPOINT_URL_SSO_OIDC` override included):
    /// the browser's `/authorize` URL is built on it.
    pub(crate) async fn endpoint(&self) -> anyhow::Result<String> {
        use aws_sdk_ssooidc::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
        let params = Params::builder()
            .region(self.target.region.clone())
            .set_endpoint(self.target.endpoint.clone())
            .build()
            .map_err(|e| {
                Problem::usage(format!("no OIDC endpoint for {}: {e}", self.target.region))
            })?;
        let endpoint = DefaultResolver::new()
            .resolve_endpoint(&params)
            .await
            .map_err(|e| {
                Problem::usage(format!(
                    "no OIDC endpoint for region {:?}: {e}",
                    self.target.region
                ))
                .hint("check sso_region")
            })?;
        Ok(endpoint.url().trim_end_matches('/').to_string())
    }

    /// RegisterClient: a public client for the device flow, or for the authorization-code
    /// flow with its grant types, loopback redirect and issuer URL.
    pub(crate) async fn register(
        &self,
        config: &SsoConfig,
        auth_code: bool,
        now: SystemTime,
    ) -> Result<Registration, Failure> {
        let scopes = config.scopes();
        let name = match &config.session_name {
            Some(session) => format!("aws-cred-{session}"),
            None => format!(
                "aws-cred-{}",
                now.duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs()
            ),
        };
        let mut request = self
            .client
            .register_client()
            .client_name(name)
            .client_type("public")
            .set_scopes(Some(scopes.clone()));
        if auth_code {
            request = request
                .set_grant_types(Some(
                    AUTH_CODE_GRANTS.iter().map(|g| g.to_string()).collect(),
                ))
                .redirect_uris(REDIRECT_URI)
                .issuer_url(&config.start_url);
        }
        let out = request
            .send()
            .await
            .map_err(|e| self.failure("RegisterClient", e))?;
        let (Some(id), Some(secret)) = (out.client_id, out.client_secret) else {
            return Err(self.incomplete("RegisterClient"));
        };
        Ok(Registration {
            client_id: id,
            client_secret: Secret::new(secret),
            expires_at: crate::base::time::from_unix_secs(
                "clientSecretExpiresAt",
                out.client_secret_expires_at.max(0),
            )
            .map_err(|err| self.out_of_range("RegisterClient", err))?,
            scopes: Some(scopes),
            grant_types: auth_code
                .then(|| AUTH_CODE_GRANTS.iter().map(|g| g.to_string()).collect()),
        })
    }

    pub(crate) async fn start_device_authorization(
        &self,
        registration: &Registration,
        start_url: &str,
    ) -> Result<DeviceAuthorization, Failure> {
        let out = self
            .client
            .start_device_authorization()
            .client_id(&registration.client_id)
            .client_secret(registration.client_secret.expose())
            .start_url(start_url)
            .send()
            .await
            .map_err(|e| self.failure("StartDeviceAuthorization", e))?;
        let (Some(device_code), Some(user_code), Some(verification_uri)) =
            (out.device_code, out.user_code, out.verification_uri)
        else {
            return Err(self.incomplete("StartDeviceAuthorization"));
        };
        Ok(DeviceAuthorization {
            device_code: Secret::new(device_code),
            user_code,
            verification_uri,
            verification_uri_complete: out.verification_uri_complete,
            expires_in: Duration::from_secs(u64::try_from(out.expires_in).unwrap_or(0)),
            interval: u64::try_from(out.interval).unwrap_or(0),
        })
    }

    /// One CreateToken with the device-code grant (the caller polls).
    pub(crate) async fn device_token(
        &self,
        registration: &Registration,
        device: &DeviceAuthorization,
    ) -> Result<Issued, Failure> {
        let request = self.token_request(&registration.client_id, &registration.client_secret);
        self.create_token(
            request
                .grant_type(DEVICE_GRANT)
                .device_code(device.device_code.expose()),
        )
        .await
    }

    /// CreateToken with the authorization code, its PKCE verifier and the redirect URI used.
    pub(crate) async fn code_token(
        &self,
        registration: &Registration,
        code: &Secret,
        redirect_uri: &str,
        verifier: &Secret,
    ) -> Result<Issued, Failure> {
        let request = self.token_request(&registration.client_id, &registration.client_secret);
        self.create_token(
            request
                .grant_type("authorization_code")
                .code(code.expose())
                .redirect_uri(redirect_uri)
                .code_verifier(verifier.expose()),
        )
        .await
    }

    /// CreateToken with the refresh-token grant.
    pub(crate) async fn refresh_token(
        &self,
        client_id: &str,
        client_secret: &Secret,
        refresh_token: &Secret,
    ) -> Result<Issued, Failure> {
        self.create_token(
            self.token_request(client_id, client_secret)
                .grant_type("refresh_token")
                .refresh_token(refresh_token.expose()),
        )
        .await
    }

    /// A CreateToken for this registered client; the caller adds the grant.
    fn token_request(
        &self,
        client_id: &str,
        client_secret: &Secret,
    ) -> aws_sdk_ssooidc::operation::create_token::builders::CreateTokenFluentBuilder {
        self.client
            .create_token()
            .client_id(client_id)
            .client_secret(client_secret.expose())
    }

    async fn create_token(
        &self,
        request: aws_sdk_ssooidc::operation::create_token::builders::CreateTokenFluentBuilder,
    ) -> Result<Issued, Failure> {
        let out = request
            .send()
            .await
            .map_err(|e| self.failure("CreateToken", e))?;
        let Some(access_token) = out.access_token else {
            return Err(self.incomplete("CreateToken"));
        };
        Ok(Issued {
            access_token: Secret::new(access_token),
            expires_in: Duration::from_secs(u64::try_from(out.expires_in).unwrap_or(0)),
            refresh_token: out.refresh_token.map(Secret::new),
        })
    }

    /// A time in the answer aws-cred cannot represent (item 9 of issue 11: never a panic).
    fn out_of_range(&self, operation: &str, err: crate::base::time::OutOfRange) -> Failure {
        Failure {
            code: None,
            error: Problem::failure(format!(
                "{operation}: {} answered with {err}",
                self.target.describe()
            ))
            .hint("check that the endpoint (AWS_ENDPOINT_URL_SSO_OIDC) is the real service")
            .into(),
        }
    }

    fn incomplete(&self, operation: &str) -> Failure {
        Failure {
            code: None,
            error: Problem::failure(format!(
                "{operation}: {} answered without the fields it must send",
                self.target.describe()
            ))
            .into(),
        }
    }

    /// An SDK error as a [`Failure`]. OIDC errors carry their text in `error_description`
    /// (not `message`), so it is read from the response body; it never holds our secrets.
    fn failure<E>(&self, operation: &str, err: SdkError<E, HttpResponse>) -> Failure
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let code = aws::error_code(&err).map(|(c, _)| c.to_string());
        let description = match &err {
            SdkError::ServiceError(service) => {
                let from_body = service
                    .raw()
                    .body()
                    .bytes()
                    .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
                    .and_then(|v| {
                        ["error_description", "message", "Message", "error"]
                            .iter()
                            .find_map(|k| v.get(k).and_then(|s| s.as_str()).map(str::to_string))
                    });
                from_body
                    .or_else(|| service.err().message().map(str::to_string))
                    .unwrap_or_default()
            }
            _ => String::new(),
        };
        let foreign = matches!(&err, SdkError::ServiceError(s) if s.err().code().is_none())
            && description.is_empty();
        let error = match code.as_deref() {
            // No AWS error code and no OIDC error text: not an OIDC answer (an HTML page, a
            // redirect); aws::failure names the endpoint and the HTTP status.
            Some(_) if foreign => aws::failure(operation, &self.target, err),
            Some(code) => {
                let (exit, hint) = hint_for(code);
                let mut problem = Problem::new(
                    exit,
                    format!(
                        "{operation} at {} failed: {code}{}",
                        self.target.describe(),
                        if description.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", escape(&description))
                        }
                    ),
                );
                problem.hint = hint.map(str::to_string);
                problem.into()
            }
            None => aws::failure(operation, &self.target, err),
        };
        Failure { code, error }
    }
}

fn hint_for(code: &str) -> (crate::base::error::Exit, Option<&'static str>) {
    use crate::base::error::Exit;
    match code {
        "InvalidClientException" | "UnauthorizedClientException" => (
            Exit::Failure,
            Some(
                "the OIDC client registration is not accepted: check sso_start_url and sso_region",
            ),
        ),
        "InvalidGrantException" => (
            Exit::Expired,
            Some("the code or token was expired, already used or revoked: log in again"),
        ),
        "ExpiredTokenException" => (
            Exit::Expired,
            Some("the sign-in was not approved in time: run the login again and approve it"),
        ),
        "AccessDeniedException" => (
            Exit::Failure,
            Some(
                "the sign-in was denied: approve the request in the browser, or ask your administrator",
            ),
        ),
        "InvalidScopeException" => (
            Exit::Usage,
            Some("sso_registration_scopes names a scope this IAM Identity Center does not allow"),
        ),
        "InvalidRequestRegionException" => (
            Exit::Usage,
            Some("sso_region is not the region of this IAM Identity Center instance"),
        ),
        "SlowDownException" | "InternalServerException" => (
            Exit::Failure,
            Some("IAM Identity Center is busy: wait a little and try again"),
        ),
        _ => (Exit::Failure, None),
    }
}

pub(crate) use crate::auth::pkce::Pkce;

fn random(buf: &mut [u8]) -> anyhow::Result<()> {
    getrandom::fill(buf).map_err(|e| anyhow::anyhow!("no system random source: {e}"))
}

/// A random UUID (version 4) for the `state` parameter, as the AWS CLI sends.
pub(crate) fn new_state() -> anyhow::Result<String> {
    let mut b = [0u8; 16];
    random(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

/// `{endpoint}/authorize?response_type=code&client_id=…&redirect_uri=…&state=…&
/// code_challenge_method=S256&scopes=…&code_challenge=…`, in the AWS CLI's order.
pub(crate) fn authorize_url(
    endpoint: &str,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    scopes: &[String],
    challenge: &str,
) -> anyhow::Result<String> {
    let mut url = url::Url::parse(&format!("{}/authorize", endpoint.trim_end_matches('/')))
        .map_err(|e| Problem::usage(format!("the OIDC endpoint {endpoint:?} is not a URL: {e}")))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state)
        .append_pair("code_challenge_method", "S256")
        .append_pair("scopes", &scopes.join(" "))
        .append_pair("code_challenge", challenge);
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::pkce::challenge_of;

    #[test]
    fn pkce_verifier_and_challenge() {
        // python3: base64.urlsafe_b64encode(hashlib.sha256(v).digest()).rstrip(b'=')
        assert_eq!(
            challenge_of("dBjftJeZ4CVP-mJ92K9X7YYv7Q0Rnz2D2m2RrWxzEgE"),
            "4gWUm-h4UFyxf6XADa4cgnAo1--Q0mXO0z4vH-69ui8"
        );
        let pkce = Pkce::new().unwrap();
        let v = pkce.verifier.expose();
        assert_eq!(v.len(), 64);
        assert!(
            v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
        );
        assert_eq!(pkce.challenge, challenge_of(v));
        assert_ne!(Pkce::new().unwrap().verifier, pkce.verifier);
    }

    #[test]
    fn state_is_a_v4_uuid() {
        let s = new_state().unwrap();
        assert_eq!(s.len(), 36);
        assert_eq!(&s[14..15], "4");
        assert!("89ab".contains(&s[19..20]));
    }

    #[test]
    fn authorize_url_is_the_aws_cli_shape() {
        let url = authorize_url(
            "https://oidc.us-east-1.amazonaws.com/",
            "talZLySVYgj361Y2ynGFfnVzLWVhc3QtMQ",
            "http://127.0.0.1:55088/oauth/callback",
            "23f72d2f-a7d9-43fe-ab05-af6860a59aed",
            &["sso:account:access".to_string()],
            "ZkAZOn61mq9YPhUqILgIeRAT519eh6PDf709IaEYAck",
        )
        .unwrap();
        // The URL the AWS CLI printed in the runbook (seeds/000).
        assert_eq!(
            url,
            "https://oidc.us-east-1.amazonaws.com/authorize?response_type=code&client_id=talZLySVYgj361Y2ynGFfnVzLWVhc3QtMQ&redirect_uri=http%3A%2F%2F127.0.0.1%3A55088%2Foauth%2Fcallback&state=23f72d2f-a7d9-43fe-ab05-af6860a59aed&code_challenge_method=S256&scopes=sso%3Aaccount%3Aaccess&code_challenge=ZkAZOn61mq9YPhUqILgIeRAT519eh6PDf709IaEYAck"
        );
    }
}
