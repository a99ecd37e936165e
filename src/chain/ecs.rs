//! Link `ecs`: the ECS / EKS Pod Identity container endpoint
//! (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN
//! or _TOKEN_FILE). aws-config's provider does the fetching and the allowed-host rules.

use super::{Found, Request, Step};
use crate::base::error::Problem;
use aws_config::ecs::EcsCredentialsProvider;
use std::time::Duration;

const ECS_HOST: &str = "http://169.254.170.2";

/// The whole exchange with the container endpoint (connect 2 s, each read 5 s, retries
/// included) ends within this, even if the endpoint trickles its answer a byte at a time.
pub(super) const OVERALL_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) async fn resolve(req: &Request<'_>) -> anyhow::Result<Step> {
    match location(req) {
        None => Ok(Step::Skip(
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI are not set".into(),
        )),
        Some(_) => fetch(req).await.map(Step::Found),
    }
}

fn location(req: &Request<'_>) -> Option<String> {
    let ctx = req.ctx;
    if let Some(relative) = ctx.var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        return Some(format!("{ECS_HOST}{relative}"));
    }
    ctx.var("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .map(str::to_string)
}

/// Fetch from the container endpoint; also serves `credential_source = EcsContainer`.
pub(super) async fn fetch(req: &Request<'_>) -> anyhow::Result<Found> {
    let Some(url) = location(req) else {
        return Err(Problem::usage(
            "credential_source = EcsContainer, but no container credentials endpoint is set",
        )
        .hint("this only works inside ECS or EKS, where AWS_CONTAINER_CREDENTIALS_* is set")
        .into());
    };
    // The SDK reads the token file itself: refuse a FIFO, a device or a huge file first.
    if let Some(path) = req.ctx.var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        crate::os::fs::read_regular(std::path::Path::new(path), crate::os::fs::MAX_TOKEN_FILE)
            .map_err(|err| {
                Problem::failure(format!(
                    "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: {}",
                    crate::base::error::causes(&err)
                ))
                .hint("it must name a regular file of at most 1 MiB (in EKS, the mounted token)")
            })?;
    }
    let provider = EcsCredentialsProvider::builder()
        .configure(&req.aws.local_provider_config())
        .connect_timeout(Duration::from_secs(2))
        .read_timeout(Duration::from_secs(5))
        .build();
    let credentials = match tokio::time::timeout(OVERALL_TIMEOUT, provider.credentials()).await {
        Ok(result) => result.map_err(|err| {
            Problem::failure(format!(
                "the container credentials endpoint {url} failed: {}",
                crate::base::error::causes(&err)
            ))
            .hint("full URIs must be https, or http on a loopback or the ECS/EKS link-local address;\ncheck AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)")
        })?,
        Err(_) => {
            return Err(Problem::failure(format!(
                "the container credentials endpoint {url} did not answer completely within {} s",
                OVERALL_TIMEOUT.as_secs()
            ))
            .hint("check that AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI points at the container credentials endpoint")
            .into());
        }
    };
    let auth = if req
        .ctx
        .var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
        .is_some()
    {
        " (token from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)"
    } else if req.ctx.var("AWS_CONTAINER_AUTHORIZATION_TOKEN").is_some() {
        " (token from AWS_CONTAINER_AUTHORIZATION_TOKEN)"
    } else {
        ""
    };
    Ok(Found {
        credentials,
        kind: super::Kind::RoleSession { chained: false },
        location: format!("container endpoint {url}{auth}"),
    })
}
