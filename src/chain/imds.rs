//! Link `imds`: the EC2 instance metadata service (IMDSv2), with short, bounded timeouts so a
//! laptop without IMDS does not wait.

use super::{Found, Request, Step};
use crate::error::Problem;
use aws_config::imds;
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_credential_types::provider::ProvideCredentials;
use std::time::Duration;

const IPV4_ENDPOINT: &str = "http://169.254.169.254";
const IPV6_ENDPOINT: &str = "http://[fd00:ec2::254]";

pub async fn resolve(req: &Request<'_>) -> anyhow::Result<Step> {
    if req.ctx.flag("AWS_EC2_METADATA_DISABLED") {
        return Ok(Step::Skip("AWS_EC2_METADATA_DISABLED=true".into()));
    }
    match fetch(req).await {
        Ok(found) => Ok(Step::Found(found)),
        // No instance metadata service is the normal case off EC2: a miss, not a failure.
        Err(err) => Ok(Step::Skip(format!("{err:#}"))),
    }
}

fn endpoint(req: &Request<'_>) -> String {
    let ctx = req.ctx;
    let profile = |key| req.profiles.set.get(key).map(str::trim);
    if let Some(url) = ctx
        .var("AWS_EC2_METADATA_SERVICE_ENDPOINT")
        .or_else(|| profile("ec2_metadata_service_endpoint"))
    {
        return url.trim_end_matches('/').to_string();
    }
    let mode = ctx
        .var("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")
        .or_else(|| profile("ec2_metadata_service_endpoint_mode"));
    match mode {
        Some(m) if m.eq_ignore_ascii_case("ipv6") => IPV6_ENDPOINT.to_string(),
        _ => IPV4_ENDPOINT.to_string(),
    }
}

/// Per-request timeout and attempts, as botocore reads them.
fn limits(req: &Request<'_>) -> (Duration, u32) {
    let ctx = req.ctx;
    let timeout = ctx
        .var("AWS_METADATA_SERVICE_TIMEOUT")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v > 0.0 && *v <= 60.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(Duration::from_secs(1));
    let attempts = ctx
        .var("AWS_METADATA_SERVICE_NUM_ATTEMPTS")
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|v| (1..=10).contains(v))
        .unwrap_or(1);
    (timeout, attempts)
}

/// Fetch from IMDS; also serves `credential_source = Ec2InstanceMetadata`.
pub async fn fetch(req: &Request<'_>) -> anyhow::Result<Found> {
    let url = endpoint(req);
    let (timeout, attempts) = limits(req);
    let client = imds::Client::builder()
        .configure(&req.aws.local_provider_config())
        .endpoint(&url)
        .map_err(|err| {
            Problem::usage(format!("invalid instance metadata endpoint {url:?}: {err}"))
                .hint("fix AWS_EC2_METADATA_SERVICE_ENDPOINT or ec2_metadata_service_endpoint")
        })?
        .max_attempts(attempts)
        .connect_timeout(timeout)
        .read_timeout(timeout)
        .operation_timeout(timeout * attempts * 3)
        .build();
    let provider = ImdsCredentialsProvider::builder()
        .imds_client(client)
        .build();
    // The token, the role name and the credentials are three requests; one overall bound
    // keeps a black-holed endpoint from costing more than about one timeout.
    let overall = timeout * attempts + Duration::from_millis(100);
    let credentials = match tokio::time::timeout(overall, provider.provide_credentials()).await {
        Ok(Ok(credentials)) => credentials,
        Ok(Err(err)) => {
            return Err(anyhow::anyhow!(
                "no instance metadata credentials at {url}: {}",
                crate::error::causes(&err)
            ));
        }
        Err(_) => {
            return Err(anyhow::anyhow!(
                "no answer from the instance metadata service at {url} within {} ms",
                overall.as_millis()
            ));
        }
    };
    Ok(Found {
        credentials,
        location: format!("instance metadata service {url}"),
    })
}
