//! Building AWS SDK clients the same way for every service (region, endpoint overrides,
//! timeouts, retries) and turning SDK errors into messages with a next step.

pub(crate) mod http;
pub(crate) mod http_insecure;
pub(crate) mod plain;
pub(crate) mod presign;
pub(crate) mod sts;

use crate::base::error::{Exit, Problem};
use crate::base::text::escape;
use crate::os::Context;
use crate::profile::Profiles;
use aws_credential_types::Credentials;
use aws_runtime::env_config::EnvConfigValue;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use std::borrow::Cow;
use std::fmt::Debug;
use std::time::Duration;

/// How long a connection may take to open.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// STS and friends need a region to sign; without one we use the global partition's default.
pub(crate) const FALLBACK_REGION: &str = "us-east-1";

/// The service id of AWS Sign-In (console federation): `AWS_ENDPOINT_URL_SIGNIN`, or
/// `signin = endpoint_url = ...` in a `[services]` section.
pub(crate) const SIGNIN_SERVICE_ID: &str = "Signin";

/// What a client talks to, for messages.
#[derive(Debug, Clone)]
pub struct Target {
    /// The service's name in messages ("STS", "SSO OIDC").
    pub service: &'static str,
    /// The region the client signs for.
    pub region: String,
    /// The configured endpoint URL (AWS_ENDPOINT_URL*, `endpoint_url`); `None` is the default.
    pub endpoint: Option<String>,
    /// How long a call waits for an answer, retries included (`Aws::wait`).
    pub wait: Duration,
}

impl Target {
    pub(crate) fn describe(&self) -> String {
        match &self.endpoint {
            Some(url) => url.clone(),
            None => format!("the {} endpoint in {}", self.service, self.region),
        }
    }
}

/// Per-run settings shared by every SDK client.
#[derive(Clone)]
pub struct Aws {
    env: aws_types::os_shim_internal::Env,
    profiles: std::sync::Arc<aws_config::profile::ProfileSet>,
    ignore_configured_endpoints: bool,
    aws_http: SharedHttpClient,
    local_http: SharedHttpClient,
    /// The spinner shown while a call waits; off for calls made in the background.
    waiting: http::Waiting,
    wait: Duration,
    /// AWS_USE_FIPS_ENDPOINT / use_fips_endpoint and AWS_USE_DUALSTACK_ENDPOINT /
    /// use_dualstack_endpoint, as every SDK client honours them.
    use_fips: bool,
    use_dual_stack: bool,
}

impl Aws {
    /// Settings from the environment and the profiles, verifying TLS certificates.
    pub fn new(ctx: &Context, profiles: &Profiles) -> Result<Self, Problem> {
        Self::with_verification(ctx, profiles, true)
    }

    /// `verify_tls = false` is `--no-verify-ssl`: AWS endpoints' certificates are not checked.
    pub(crate) fn with_verification(
        ctx: &Context,
        profiles: &Profiles,
        verify_tls: bool,
    ) -> Result<Self, Problem> {
        let ignore_configured_endpoints = crate::settings::IGNORE_CONFIGURED_ENDPOINTS
            .resolve(None, ctx, Some(profiles))
            .is_some_and(|found| found.value.eq_ignore_ascii_case("true"));
        let ca_bundle = crate::settings::CA_BUNDLE
            .path(ctx, Some(profiles))
            .map(|(path, _)| path);
        let settings =
            http::HttpSettings::load(ca_bundle.as_deref(), ctx.test_switch(http::REDIRECT_VAR))?;
        let wait = crate::settings::READ_TIMEOUT
            .parse(
                None,
                ctx,
                Some(profiles),
                "a number of seconds (0-600)",
                |text| {
                    text.parse::<f64>()
                        .ok()
                        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 600.0)
                        .map(Duration::from_secs_f64)
                },
            )?
            .map(|(timeout, _)| timeout)
            // The setting has a default, so this is never taken.
            .ok_or_else(|| crate::settings::READ_TIMEOUT.missing(profiles))?;
        let env = ctx.sdk_env();
        // The variable wins over the profile; anything but `true` means off (the SDKs warn and
        // ignore values that are not booleans).
        let enabled = |var: &str, key: &str| {
            EnvConfigValue::new()
                .env(var)
                .profile(key)
                .load(&env, Some(&*profiles.set))
                .is_some_and(|(value, _)| value.trim().eq_ignore_ascii_case("true"))
        };
        let use_fips = enabled("AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint");
        let use_dual_stack = enabled("AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint");
        let waiting = http::Waiting::new(crate::settings::spinner(ctx));
        Ok(Aws {
            env,
            profiles: profiles.set.clone(),
            ignore_configured_endpoints,
            aws_http: waiting.around(if verify_tls {
                http::aws_client(&settings)?
            } else {
                http::redirected(crate::aws::http_insecure::client(), &settings)
            }),
            local_http: waiting.around(http::local_client(&settings)?),
            waiting,
            wait,
            use_fips,
            use_dual_stack,
        })
    }

    /// The client for ECS and IMDS (no proxy), as aws-config's providers take it.
    pub(crate) fn local_provider_config(&self) -> aws_config::provider_config::ProviderConfig {
        aws_config::provider_config::ProviderConfig::without_region()
            .with_http_client(self.local_http.clone())
    }

    /// `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, the profile's `[services]` section,
    /// then its `endpoint_url`, unless configured endpoints are ignored.
    pub fn endpoint_url(&self, service_id: &str) -> Option<String> {
        if self.ignore_configured_endpoints {
            return None;
        }
        EnvConfigValue::new()
            .env("AWS_ENDPOINT_URL")
            .profile("endpoint_url")
            .service_id(service_id)
            .load(&self.env, Some(&*self.profiles))
            .map(|(value, _)| value.trim().to_string())
            .filter(|value| !value.is_empty())
    }

    pub(crate) fn target(&self, service: &'static str, service_id: &str, region: &str) -> Target {
        Target {
            service,
            region: region.to_string(),
            endpoint: self.endpoint_url(service_id),
            wait: self.wait,
        }
    }

    /// How long one call waits for its answer, retries included
    /// ([`crate::settings::READ_TIMEOUT`]).
    pub(crate) fn wait(&self) -> Duration {
        self.wait
    }

    /// Calls from now on are made in the background (the credential server's refreshes, while
    /// its command owns the terminal): no spinner.
    pub(crate) fn in_background(&self) {
        self.waiting.silence();
    }

    /// Connect within 5 s; the whole call (every attempt, retries and their pauses included)
    /// within [`Aws::wait`]: an endpoint that accepts and never answers is given up on then,
    /// not retried past it.
    fn timeouts(&self) -> TimeoutConfig {
        let wait = self.wait;
        TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(wait))
            .read_timeout(wait)
            .operation_attempt_timeout(wait)
            .operation_timeout(wait)
            .build()
    }

    fn retries() -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(200))
            .with_max_backoff(Duration::from_secs(5))
    }
}

macro_rules! client_builder {
    ($name:ident, $krate:ident, $service:literal, $service_id:literal) => {
        impl Aws {
            pub(crate) fn $name(
                &self,
                region: &str,
                credentials: Option<Credentials>,
            ) -> ($krate::Client, Target) {
                let target = self.target($service, $service_id, region);
                let mut config = $krate::Config::builder()
                    .behavior_version($krate::config::BehaviorVersion::latest())
                    .region($krate::config::Region::new(region.to_string()))
                    .http_client(self.aws_http.clone())
                    .timeout_config(self.timeouts())
                    .retry_config(Self::retries())
                    .use_fips(self.use_fips)
                    .use_dual_stack(self.use_dual_stack);
                if let Some(credentials) = credentials {
                    config = config.credentials_provider(credentials);
                }
                if let Some(url) = &target.endpoint {
                    config = config.endpoint_url(url.clone());
                }
                ($krate::Client::from_conf(config.build()), target)
            }
        }
    };
}

client_builder!(sts, aws_sdk_sts, "STS", "STS");
client_builder!(sso, aws_sdk_sso, "SSO", "SSO");
client_builder!(iam, aws_sdk_iam, "IAM", "IAM");
client_builder!(sso_oidc, aws_sdk_ssooidc, "SSO OIDC", "SSO OIDC");
client_builder!(signin, aws_sdk_signin, "Sign-In", "Signin");
client_builder!(
    cognito_identity,
    aws_sdk_cognitoidentity,
    "Cognito Identity",
    "Cognito Identity"
);
client_builder!(
    cognito_idp,
    aws_sdk_cognitoidentityprovider,
    "Cognito user pools",
    "Cognito Identity Provider"
);

/// A failed AWS call, the one shape every flow uses: the service's exception name when it
/// answered with one (so callers can react to `InvalidGrantException`, `UnauthorizedException`…)
/// and the error to show (a [`Problem`] naming the operation and endpoint).
#[derive(Debug)]
pub(crate) struct ServiceError {
    pub code: Option<String>,
    pub error: anyhow::Error,
}

impl ServiceError {
    /// A failure that is not a service's answer (a callback, a cache file, the network).
    pub(crate) fn other(error: anyhow::Error) -> ServiceError {
        ServiceError { code: None, error }
    }

    pub(crate) fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

impl From<ServiceError> for anyhow::Error {
    fn from(e: ServiceError) -> Self {
        e.error
    }
}

/// The service error's code and message, if the service answered with one. Both are escaped
/// for a terminal (control and bidi characters, line breaks included): a server's text.
pub(crate) fn error_code<E, R>(err: &SdkError<E, R>) -> Option<(Cow<'_, str>, Cow<'_, str>)>
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            Some((
                escape(e.code().unwrap_or("Unknown")),
                escape(e.message().unwrap_or("")),
            ))
        }
        _ => None,
    }
}

/// Turn an SDK error into a [`Problem`] that names the operation and endpoint and says what
/// to do next. Messages come from AWS and never contain the caller's secrets.
pub(crate) fn failure<E, R>(operation: &str, target: &Target, err: SdkError<E, R>) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    let status = err
        .raw_response()
        .and_then(|raw| (raw as &dyn std::any::Any).downcast_ref::<HttpResponse>())
        .map(|raw| raw.status().as_u16());
    let too_large = std::iter::successors(Some(&err as &(dyn std::error::Error + 'static)), |e| {
        e.source()
    })
    .any(|e| e.is::<http::BodyTooLarge>());
    if too_large {
        return anyhow::Error::new(
            Problem::failure(format!(
                "{operation}: {} sent an answer larger than {} bytes; aws-cred stopped reading it",
                target.describe(),
                http::MAX_RESPONSE_BODY
            ))
            .hint("check that the endpoint (AWS_ENDPOINT_URL*) points at the real service"),
        );
    }
    let problem = match &err {
        SdkError::ServiceError(service) if service.err().code().is_none() => {
            // Not an AWS error document: an HTML page from a proxy, a redirect, a wrong URL.
            let status = status.map_or("an unknown status".to_string(), |s| format!("HTTP {s}"));
            Problem::failure(format!(
                "{operation} failed: {} answered {status} without an AWS error code (not an AWS answer: a proxy, a login page, a redirect or a wrong endpoint?)",
                target.describe()
            ))
            .hint("check the endpoint (AWS_ENDPOINT_URL*) and any proxy (HTTPS_PROXY, NO_PROXY)")
        }
        SdkError::ServiceError(_) => {
            let (code, message) = error_code(&err).unwrap_or(("Unknown".into(), "".into()));
            let (exit, hint) = hint_for(&code, &message);
            let mut p = Problem::new(exit, format!("{operation} failed: {code}: {message}"));
            p.hint = hint;
            p
        }
        SdkError::TimeoutError(_) => timed_out(operation, target, &err),
        SdkError::DispatchFailure(dispatch) if dispatch.is_timeout() => {
            timed_out(operation, target, &err)
        }
        SdkError::DispatchFailure(_) => Problem::failure(format!(
            "{operation}: could not reach {}: {}",
            target.describe(),
            crate::base::error::causes(&err)
        ))
        .hint(network_hint()),
        SdkError::ResponseError(_) => Problem::failure(format!(
            "{operation}: {} sent a response{} that is not a valid {} answer: {}",
            target.describe(),
            status.map_or(String::new(), |s| format!(" (HTTP {s})")),
            target.service,
            crate::base::error::causes(&err)
        ))
        .hint("check that the endpoint (AWS_ENDPOINT_URL*) points at the real service"),
        _ => Problem::failure(format!(
            "{operation} failed: {}",
            crate::base::error::causes(&err)
        )),
    };
    anyhow::Error::new(problem)
}

/// A call cut off by a timeout: the connection could not be opened in time, or (what a
/// stalled endpoint or proxy looks like) it was opened and no answer came within the wait.
fn timed_out(operation: &str, target: &Target, err: &(dyn std::error::Error + 'static)) -> Problem {
    // The HTTP client says which of its timeouts fired only in its text.
    if crate::base::error::causes(err).contains("connect timeout") {
        Problem::failure(format!(
            "{operation}: could not connect to {} within {}",
            target.describe(),
            seconds(CONNECT_TIMEOUT.min(target.wait))
        ))
        .hint(network_hint())
    } else {
        Problem::failure(format!(
            "{operation}: no answer from {} in {}",
            target.describe(),
            seconds(target.wait)
        ))
        .hint("it accepted the connection but did not answer: check the endpoint (AWS_ENDPOINT_URL*) and any proxy (HTTPS_PROXY, NO_PROXY); AWS_CRED_READ_TIMEOUT=SECONDS waits longer")
    }
}

/// `20 s`, `1.5 s`.
fn seconds(wait: Duration) -> String {
    if wait.subsec_millis() == 0 {
        format!("{} s", wait.as_secs())
    } else {
        format!("{:.1} s", wait.as_secs_f64())
    }
}

fn network_hint() -> String {
    "check your network or proxy (HTTPS_PROXY), and any AWS_ENDPOINT_URL* override".to_string()
}

/// Hints for the failures people actually meet (the runbooks' error tables).
pub(crate) fn hint_for(code: &str, message: &str) -> (Exit, Option<String>) {
    let hint = |s: &str| Some(s.to_string());
    match code {
        "InvalidClientTokenId" | "UnrecognizedClientException" => (
            Exit::Failure,
            hint(
                "AWS does not know this access key: it was deleted, deactivated or mistyped.\nSee which key was used with `aws-cred whoami --explain`, then fix the profile or variables.",
            ),
        ),
        "SignatureDoesNotMatch" if message.contains("Signature expired") => (
            Exit::Failure,
            hint(
                "your computer's clock is off by more than 5 minutes: sync it (e.g. `sudo timedatectl set-ntp true`) and retry",
            ),
        ),
        "SignatureDoesNotMatch" => (
            Exit::Failure,
            hint("the secret access key does not match the access key ID: copy it again"),
        ),
        "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => (
            Exit::Expired,
            hint(
                "these session credentials have expired: get new ones (aws-cred mfa CODE, aws-cred sso-login),\nor clear stale variables with: eval \"$(aws-cred export --unset)\"",
            ),
        ),
        "AccessDenied" | "AccessDeniedException" => (
            Exit::Failure,
            hint(
                "the identity is not allowed to do this; if a policy requires MFA, run `aws-cred mfa CODE` first",
            ),
        ),
        "Throttling" | "ThrottlingException" | "TooManyRequestsException" => (
            Exit::Failure,
            hint("AWS is throttling these requests: wait a little and try again"),
        ),
        "RegionDisabledException" => (
            Exit::Failure,
            hint(
                "STS is not activated in this region: activate it in IAM account settings or use another --region",
            ),
        ),
        _ => (Exit::Failure, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A call gives up within 20 s by default, retries included; AWS_CRED_READ_TIMEOUT
    /// sets that whole wait, not one attempt's.
    #[test]
    fn the_whole_call_is_bounded_by_the_wait() {
        let profiles = crate::profile::Profiles::from_text("", "", "default");
        let timeouts = Aws::new(&Context::with_env([]), &profiles)
            .unwrap()
            .timeouts();
        assert_eq!(timeouts.operation_timeout(), Some(Duration::from_secs(20)));
        assert_eq!(timeouts.connect_timeout(), Some(Duration::from_secs(5)));
        let ctx = Context::with_env([("AWS_CRED_READ_TIMEOUT", "2.5")]);
        let aws = Aws::new(&ctx, &profiles).unwrap();
        let timeouts = aws.timeouts();
        assert_eq!(
            timeouts.operation_timeout(),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(
            timeouts.connect_timeout(),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(aws.target("STS", "STS", "us-east-1").wait, aws.wait());
        assert_eq!(seconds(aws.wait()), "2.5 s");
    }

    /// The variable wins over the profile's key, also when it says `false` (as in the SDKs).
    #[test]
    fn ignoring_configured_endpoints_follows_the_setting_order() {
        let profiles = crate::profile::Profiles::from_text(
            "[profile p]\nendpoint_url = http://profile\nignore_configured_endpoint_urls = true\n",
            "",
            "p",
        );
        let aws = Aws::new(&Context::with_env([]), &profiles).unwrap();
        assert_eq!(aws.endpoint_url("STS"), None);
        let ctx = Context::with_env([("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false")]);
        let aws = Aws::new(&ctx, &profiles).unwrap();
        assert_eq!(aws.endpoint_url("STS").as_deref(), Some("http://profile"));
    }

    #[test]
    fn endpoint_precedence() {
        let profiles = crate::profile::Profiles::from_text(
            "[profile p]\nendpoint_url = http://profile\nservices = local\n[services local]\nsts =\n  endpoint_url = http://services-sts\n",
            "",
            "p",
        );
        let ctx = Context::with_env([]);
        let aws = Aws::new(&ctx, &profiles).unwrap();
        assert_eq!(
            aws.endpoint_url("STS").as_deref(),
            Some("http://services-sts")
        );
        assert_eq!(aws.endpoint_url("SSO").as_deref(), Some("http://profile"));

        let ctx = Context::with_env([
            ("AWS_ENDPOINT_URL", "http://global"),
            ("AWS_ENDPOINT_URL_SSO_OIDC", "http://oidc"),
        ]);
        let aws = Aws::new(&ctx, &profiles).unwrap();
        assert_eq!(aws.endpoint_url("STS").as_deref(), Some("http://global"));
        assert_eq!(aws.endpoint_url("SSO OIDC").as_deref(), Some("http://oidc"));

        // The console federation endpoint: service id "Signin".
        let ctx = Context::with_env([("AWS_ENDPOINT_URL_SIGNIN", "http://127.0.0.1:9")]);
        let aws = Aws::new(&ctx, &profiles).unwrap();
        assert_eq!(
            aws.endpoint_url(SIGNIN_SERVICE_ID).as_deref(),
            Some("http://127.0.0.1:9")
        );
        let services = crate::profile::Profiles::from_text(
            "[profile p]\nservices = local\n[services local]\nsignin =\n  endpoint_url = http://services-signin\n",
            "",
            "p",
        );
        let aws = Aws::new(&Context::with_env([]), &services).unwrap();
        assert_eq!(
            aws.endpoint_url(SIGNIN_SERVICE_ID).as_deref(),
            Some("http://services-signin")
        );

        let ctx = Context::with_env([
            ("AWS_ENDPOINT_URL", "http://global"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ]);
        assert_eq!(Aws::new(&ctx, &profiles).unwrap().endpoint_url("STS"), None);
    }

    #[test]
    fn fips_and_dual_stack_from_variable_or_profile() {
        let profiles = crate::profile::Profiles::from_text(
            "[profile p]\nuse_fips_endpoint = true\nuse_dualstack_endpoint = TRUE\n",
            "",
            "p",
        );
        let aws = Aws::new(&Context::with_env([]), &profiles).unwrap();
        assert!(aws.use_fips && aws.use_dual_stack);
        let ctx = Context::with_env([("AWS_USE_FIPS_ENDPOINT", "false")]);
        let aws = Aws::new(&ctx, &profiles).unwrap();
        assert!(!aws.use_fips && aws.use_dual_stack);
        let plain = crate::profile::Profiles::from_text("[profile p]\n", "", "p");
        let ctx = Context::with_env([("AWS_USE_DUALSTACK_ENDPOINT", "true")]);
        let aws = Aws::new(&ctx, &plain).unwrap();
        assert!(!aws.use_fips && aws.use_dual_stack);
    }

    #[test]
    fn clock_skew_and_expiry_hints() {
        let (exit, hint) = hint_for(
            "SignatureDoesNotMatch",
            "Signature expired: 20260101T000000Z is now earlier than 20260101T001500Z",
        );
        assert_eq!(exit, Exit::Failure);
        assert!(hint.unwrap().contains("clock"));
        assert_eq!(hint_for("ExpiredToken", "").0, Exit::Expired);
        assert!(hint_for("Nope", "").1.is_none());
    }
}
