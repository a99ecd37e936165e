//! The HTTP clients every AWS call goes through: one for AWS endpoints (honouring
//! HTTPS_PROXY / HTTP_PROXY / NO_PROXY and extra CA certificates from AWS_CA_BUNDLE or the
//! profile's `ca_bundle`), one for the link-local credential endpoints (ECS, IMDS), which never
//! go through a proxy.
//!
//! A test-only switch, `AWS_CRED_TEST_REDIRECT_ALL_HTTP=http://127.0.0.1:PORT`, sends every
//! request to one loopback server (keeping method, path and query; the original host goes in
//! `x-aws-cred-original-host` and the original scheme in `x-aws-cred-original-scheme`) so
//! recorded traffic can be replayed whatever host it names.

use crate::base::error::Problem;
use crate::os::spinner::{Look, Spinner};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, Connector};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub(crate) const REDIRECT_VAR: &str = "AWS_CRED_TEST_REDIRECT_ALL_HTTP";

/// The largest response body aws-cred reads from any endpoint (STS, SSO, Cognito, ECS, IMDS):
/// real answers are a few kilobytes; a larger body is cut off with [`BodyTooLarge`].
pub(crate) const MAX_RESPONSE_BODY: usize = 1024 * 1024;

/// A response body went over [`MAX_RESPONSE_BODY`].
#[derive(Debug, thiserror::Error)]
#[error(
    "the response body is larger than {MAX_RESPONSE_BODY} bytes, aws-cred's limit for an answer"
)]
pub(crate) struct BodyTooLarge;

/// What the clients need to know, read once from the environment and profile.
#[derive(Debug, Clone, Default)]
pub(crate) struct HttpSettings {
    /// Extra trusted roots (PEM), for TLS-inspecting proxies.
    pub ca_bundle: Option<Vec<u8>>,
    pub redirect: Option<String>,
}

impl HttpSettings {
    pub(crate) fn load(
        ca_bundle_path: Option<&Path>,
        redirect: Option<&str>,
    ) -> Result<Self, Problem> {
        let ca_bundle = match ca_bundle_path {
            None => None,
            Some(path) => {
                let pem = crate::os::fs::read_regular(path, crate::os::fs::MAX_CA_BUNDLE)
                    .map_err(|err| {
                        Problem::usage(format!(
                            "cannot read the CA bundle: {}",
                            crate::base::error::causes(&err)
                        )).hint(
                            "fix AWS_CA_BUNDLE or the profile's ca_bundle (a PEM file of at most 16 MiB)",
                        )
                    })?;
                if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
                    return Err(Problem::usage(format!(
                        "the CA bundle {} holds no PEM certificate",
                        path.display()
                    ))
                    .hint("it must contain -----BEGIN CERTIFICATE----- blocks"));
                }
                Some(pem)
            }
        };
        if let Some(target) = redirect {
            let host = split_uri(target).0;
            let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
            if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
                return Err(Problem::usage(format!(
                    "{REDIRECT_VAR} may only point at a loopback address, not {target:?}"
                )));
            }
        }
        Ok(HttpSettings {
            ca_bundle,
            redirect: redirect.map(str::to_string),
        })
    }
}

fn connector_fn(
    proxy: ProxyConfig,
    tls_context: TlsContext,
) -> impl Fn(Option<&HttpConnectorSettings>, Option<&RuntimeComponents>) -> Connector
+ Send
+ Sync
+ 'static {
    move |settings, components| {
        let mut builder = Connector::builder();
        builder.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            builder.set_sleep_impl(components.sleep_impl());
        }
        builder
            .proxy_config(proxy.clone())
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .tls_context(tls_context.clone())
            .build()
    }
}

fn tls_context(settings: &HttpSettings) -> Result<TlsContext, Problem> {
    let mut store = TrustStore::default();
    if let Some(pem) = &settings.ca_bundle {
        store.add_pem_certificate(pem.clone());
    }
    TlsContext::builder()
        .with_trust_store(store)
        .build()
        .map_err(|err| Problem::usage(format!("invalid TLS settings: {err}")))
}

/// The client for AWS service endpoints.
pub(crate) fn aws_client(settings: &HttpSettings) -> Result<SharedHttpClient, Problem> {
    let client = Builder::new().build_with_connector_fn(connector_fn(
        ProxyConfig::from_env(),
        tls_context(settings)?,
    ));
    Ok(redirected(client, settings))
}

/// The client for ECS and IMDS endpoints: direct, never through a proxy.
pub(crate) fn local_client(settings: &HttpSettings) -> Result<SharedHttpClient, Problem> {
    let client = Builder::new().build_with_connector_fn(connector_fn(
        ProxyConfig::disabled(),
        tls_context(settings)?,
    ));
    Ok(redirected(client, settings))
}

/// Every client's last step: bodies capped at [`MAX_RESPONSE_BODY`], and the test-only
/// redirect when it is set.
pub(crate) fn redirected(client: SharedHttpClient, settings: &HttpSettings) -> SharedHttpClient {
    let client = SharedHttpClient::new(Capped { inner: client });
    match &settings.redirect {
        Some(target) => SharedHttpClient::new(Redirect {
            inner: client,
            target: target.trim_end_matches('/').to_string(),
        }),
        None => client,
    }
}

/// Caps response bodies at [`MAX_RESPONSE_BODY`]: a larger one (declared or streamed) fails
/// with [`BodyTooLarge`] after at most that many bytes, whatever the server sends.
#[derive(Debug)]
struct Capped {
    inner: SharedHttpClient,
}

impl HttpClient for Capped {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(CappedConnector {
            inner: self.inner.http_connector(settings, components),
        })
    }
}

#[derive(Debug)]
struct CappedConnector {
    inner: SharedHttpConnector,
}

impl HttpConnector for CappedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        use http_body_util::BodyExt;
        let call = self.inner.call(request);
        HttpConnectorFuture::new(async move {
            let mut response = call.await?;
            let declared = response
                .headers()
                .get("content-length")
                .and_then(|len| len.trim().parse::<u64>().ok());
            if declared.is_some_and(|len| len > MAX_RESPONSE_BODY as u64) {
                // Not one byte of it is read.
                *response.body_mut() = SdkBody::from_body_1_x(TooLargeBody);
                return Ok(response);
            }
            let body = response.take_body();
            let limited = http_body_util::Limited::new(body, MAX_RESPONSE_BODY).map_err(|err| {
                if err.is::<http_body_util::LengthLimitError>() {
                    Box::new(BodyTooLarge) as aws_smithy_types::body::Error
                } else {
                    err
                }
            });
            *response.body_mut() = SdkBody::from_body_1_x(limited);
            Ok(response)
        })
    }
}

/// A body that fails at once with [`BodyTooLarge`] (the server declared too many bytes).
struct TooLargeBody;

impl http_body::Body for TooLargeBody {
    type Data = bytes::Bytes;
    type Error = BodyTooLarge;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(Some(Err(BodyTooLarge)))
    }
}

#[derive(Debug)]
struct Redirect {
    inner: SharedHttpClient,
    target: String,
}

impl HttpClient for Redirect {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(RedirectConnector {
            inner: self.inner.http_connector(settings, components),
            target: self.target.clone(),
        })
    }
}

#[derive(Debug)]
struct RedirectConnector {
    inner: SharedHttpConnector,
    target: String,
}

impl HttpConnector for RedirectConnector {
    fn call(&self, mut request: HttpRequest) -> HttpConnectorFuture {
        let original = request.uri().to_string();
        let (host, path) = split_uri(&original);
        let scheme = original
            .split_once("://")
            .map_or("http", |(scheme, _)| scheme);
        let new_uri = format!("{}{path}", self.target);
        if let Err(err) = request.set_uri(new_uri.as_str()) {
            return HttpConnectorFuture::ready(Err(
                aws_smithy_runtime_api::client::result::ConnectorError::user(Box::new(err)),
            ));
        }
        request
            .headers_mut()
            .insert("x-aws-cred-original-host", host.to_string());
        request
            .headers_mut()
            .insert("x-aws-cred-original-scheme", scheme.to_string());
        self.inner.call(request)
    }
}

/// `https://host:1/p?q` → (`host:1`, `/p?q`).
/// How long an answer may take before the person is shown that aws-cred is waiting for it.
pub(crate) const SPINNER_AFTER: Duration = Duration::from_secs(1);

/// Whether a spinner may show while a call waits: shared by every clone of the client, so the
/// credential server can turn it off once its command owns the terminal.
#[derive(Debug, Clone)]
pub(crate) struct Waiting {
    look: Option<Look>,
    on: Arc<AtomicBool>,
}

impl Waiting {
    pub(crate) fn new(look: Option<Look>) -> Waiting {
        Waiting {
            look,
            on: Arc::new(AtomicBool::new(look.is_some())),
        }
    }

    /// No spinner from now on (calls made in the background).
    pub(crate) fn silence(&self) {
        self.on.store(false, Ordering::SeqCst);
    }

    /// `client` with a spinner on stderr ("waiting for an answer from HOST (N s)") whenever a
    /// request has had no answer for [`SPINNER_AFTER`].
    pub(crate) fn around(&self, client: SharedHttpClient) -> SharedHttpClient {
        SharedHttpClient::new(WaitingClient {
            inner: client,
            waiting: self.clone(),
        })
    }
}

#[derive(Debug)]
struct WaitingClient {
    inner: SharedHttpClient,
    waiting: Waiting,
}

impl HttpClient for WaitingClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(WaitingConnector {
            inner: self.inner.http_connector(settings, components),
            waiting: self.waiting.clone(),
        })
    }
}

#[derive(Debug)]
struct WaitingConnector {
    inner: SharedHttpConnector,
    waiting: Waiting,
}

impl HttpConnector for WaitingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let look = self
            .waiting
            .look
            .filter(|_| self.waiting.on.load(Ordering::SeqCst));
        let spinner = look.map(|look| {
            let uri = request.uri().to_string();
            let host = crate::base::text::escape(split_uri(&uri).0).into_owned();
            Spinner::after(
                SPINNER_AFTER,
                Some(look),
                format!("waiting for an answer from {host}"),
            )
        });
        let call = self.inner.call(request);
        HttpConnectorFuture::new(async move {
            let answer = call.await;
            drop(spinner);
            answer
        })
    }
}

fn split_uri(uri: &str) -> (&str, &str) {
    let rest = uri.split_once("://").map(|(_, r)| r).unwrap_or(uri);
    match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_split_keeps_path_and_query() {
        assert_eq!(
            split_uri("https://sts.us-east-1.amazonaws.com/?Action=x"),
            ("sts.us-east-1.amazonaws.com", "/?Action=x")
        );
        assert_eq!(
            split_uri("http://169.254.169.254:80/latest/api/token"),
            ("169.254.169.254:80", "/latest/api/token")
        );
        assert_eq!(split_uri("http://h"), ("h", "/"));
    }

    #[test]
    fn ca_bundle_must_be_pem() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.pem");
        std::fs::write(&bad, "not a cert").unwrap();
        assert!(HttpSettings::load(Some(&bad), None).is_err());
        assert!(HttpSettings::load(Some(&dir.path().join("missing.pem")), None).is_err());
    }
}
