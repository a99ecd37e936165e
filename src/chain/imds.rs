//! Link `imds`: the EC2 instance metadata service (IMDSv2), with short, bounded timeouts so a
//! laptop without IMDS does not wait.

use super::{Found, Request, Step};
use crate::base::error::Problem;
use aws_config::imds;
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_credential_types::provider::ProvideCredentials;
use std::time::Duration;

const IPV4_ENDPOINT: &str = "http://169.254.169.254";
const IPV6_ENDPOINT: &str = "http://[fd00:ec2::254]";

pub(super) async fn resolve(req: &Request<'_>) -> anyhow::Result<Step> {
    if req.ctx.flag("AWS_EC2_METADATA_DISABLED") {
        return Ok(Step::Skip("AWS_EC2_METADATA_DISABLED=true".into()));
    }
    // A misconfigured endpoint stops the chain; it is not "not on EC2".
    let (client, url) = client(req)?;
    match fetch_with(req, client, url).await {
        Ok(found) => Ok(Step::Found(found)),
        // No instance metadata service is the normal case off EC2: a miss, not a failure.
        Err(err) => Ok(Step::Skip(format!("{err:#}"))),
    }
}

fn endpoint(req: &Request<'_>) -> Result<String, Problem> {
    let ctx = req.ctx;
    let profile = |key| req.profiles.set.get(key).map(str::trim);
    if let Some(url) = ctx
        .var("AWS_EC2_METADATA_SERVICE_ENDPOINT")
        .or_else(|| profile("ec2_metadata_service_endpoint"))
    {
        return Ok(url.trim_end_matches('/').to_string());
    }
    let mode = ctx
        .var("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")
        .or_else(|| profile("ec2_metadata_service_endpoint_mode"));
    match mode {
        None => Ok(IPV4_ENDPOINT.to_string()),
        Some(m) if m.eq_ignore_ascii_case("ipv4") => Ok(IPV4_ENDPOINT.to_string()),
        Some(m) if m.eq_ignore_ascii_case("ipv6") => Ok(IPV6_ENDPOINT.to_string()),
        Some(other) => Err(Problem::usage(format!(
            "`{other}` is not a valid endpoint mode for the instance metadata service"
        ))
        .hint("set AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE or ec2_metadata_service_endpoint_mode to IPv4 or IPv6")),
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

/// The IMDS client for the configured endpoint, and that endpoint.
fn client(req: &Request<'_>) -> Result<(imds::Client, String), Problem> {
    let url = endpoint(req)?;
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
    Ok((client, url))
}

/// Fetch from IMDS; also serves `credential_source = Ec2InstanceMetadata`.
pub(super) async fn fetch(req: &Request<'_>) -> anyhow::Result<Found> {
    let (client, url) = client(req)?;
    fetch_with(req, client, url).await
}

async fn fetch_with(req: &Request<'_>, client: imds::Client, url: String) -> anyhow::Result<Found> {
    let (timeout, attempts) = limits(req);
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
                crate::base::error::causes(&err)
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
        kind: super::Kind::RoleSession { chained: false },
        location: format!("instance metadata service {url}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::Aws;
    use crate::os::Context;
    use crate::profile::Profiles;

    fn endpoint_with(vars: &[(&str, &str)], config: &str) -> Result<String, Problem> {
        let ctx = Context::with_env(vars.iter().copied());
        let profiles = Profiles::from_text(config, "", "default");
        let aws = Aws::new(&ctx, &profiles).unwrap();
        endpoint(&Request {
            ctx: &ctx,
            profiles: &profiles,
            aws: &aws,
            region: None,
            terminal: crate::os::process::Terminal::Shared,
            duration: None,
        })
    }

    #[test]
    fn endpoint_mode_is_ipv4_or_ipv6_in_any_case() {
        let mode = "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE";
        assert_eq!(endpoint_with(&[], "").unwrap(), IPV4_ENDPOINT);
        assert_eq!(endpoint_with(&[(mode, "IPv4")], "").unwrap(), IPV4_ENDPOINT);
        assert_eq!(endpoint_with(&[(mode, "ipV6")], "").unwrap(), IPV6_ENDPOINT);
        let config = "[default]\nec2_metadata_service_endpoint_mode = IPv6\n";
        assert_eq!(endpoint_with(&[], config).unwrap(), IPV6_ENDPOINT);
        let override_ = ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://override:456/");
        assert_eq!(
            endpoint_with(&[override_, (mode, "bogus")], "").unwrap(),
            "http://override:456"
        );
    }

    #[test]
    fn an_unknown_endpoint_mode_is_a_configuration_error() {
        let mode = "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE";
        let err = endpoint_with(&[(mode, "error")], "").unwrap_err();
        assert!(err.message.contains("`error` is not a valid endpoint mode"));
        let config = "[default]\nec2_metadata_service_endpoint_mode = IPv7\n";
        let err = endpoint_with(&[], config).unwrap_err();
        assert!(err.message.contains("`IPv7`"));
    }
}
