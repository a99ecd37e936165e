//! A plain HTTPS GET through the AWS HTTP client (proxy, CA bundle, TLS settings, timeouts and
//! retries as every SDK call has them), for AWS endpoints that are not SDK services: the
//! console federation endpoint (`/federation?Action=getSigninToken`).
//!
//! The request URL may carry secrets (the federation `Session` parameter holds the secret key
//! and session token), so nothing here ever puts the URL in an error: a failure names the
//! operation and the endpoint base only, and any cause text is scrubbed of the given secrets.

use super::{Aws, Target};
use crate::base::error::Problem;
use aws_smithy_runtime::client::orchestrator::operation::Operation;
use aws_smithy_runtime::client::retries::classifiers::{
    HttpStatusCodeClassifier, TransientErrorClassifier,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::body::SdkBody;
use std::convert::Infallible;

/// An HTTP answer: status and body. The body may itself be a secret (a SigninToken).
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("status", &self.status)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

impl Aws {
    /// `GET <base><path_and_query>`. Any HTTP status is an answer (the caller reads it); only
    /// failing to get one is an error. 5xx answers and connection failures are retried.
    /// `secrets` are removed from any error text.
    pub async fn get(
        &self,
        operation: &'static str,
        target: &Target,
        base: &str,
        path_and_query: String,
        secrets: &[&str],
    ) -> anyhow::Result<Answer> {
        let call = Operation::builder()
            .service_name(target.service)
            .operation_name(operation)
            .behavior_version(
                aws_smithy_runtime_api::client::behavior_version::BehaviorVersion::latest(),
            )
            .http_client(self.aws_http.clone())
            .endpoint_url(base)
            .no_auth()
            .timeout_config(self.timeouts())
            .standard_retry(&Self::retries())
            .retry_classifier(HttpStatusCodeClassifier::default())
            .retry_classifier(TransientErrorClassifier::<Infallible>::new())
            .serializer(move |path_and_query: String| {
                let request = http::Request::builder()
                    .method("GET")
                    .uri(path_and_query)
                    .body(SdkBody::empty())?;
                Ok(HttpRequest::try_from(request)?)
            })
            .deserializer::<Answer, Infallible>(|response| {
                Ok(Answer {
                    status: response.status().as_u16(),
                    body: response.body().bytes().unwrap_or_default().to_vec(),
                })
            })
            .build();
        call.invoke(path_and_query).await.map_err(|err| {
            let what = match &err {
                SdkError::TimeoutError(_) => {
                    return super::timed_out(operation, target, &err).into();
                }
                SdkError::DispatchFailure(d) if d.is_timeout() => {
                    return super::timed_out(operation, target, &err).into();
                }
                SdkError::DispatchFailure(_) => "could not reach".to_string(),
                _ => "failed at".to_string(),
            };
            let mut causes = crate::base::error::causes(&err);
            for secret in secrets.iter().filter(|s| !s.is_empty()) {
                causes = causes.replace(secret, "<redacted>");
            }
            anyhow::Error::new(
                Problem::failure(format!(
                    "{operation}: {what} {}: {causes}",
                    target.describe()
                ))
                .hint(super::network_hint()),
            )
        })
    }
}
