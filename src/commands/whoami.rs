//! `aws-cred whoami`: STS GetCallerIdentity with the resolved credentials, and where they came
//! from.

use super::{Setup, emit};
use crate::aws::sts;
use crate::base::text::escape;
use crate::cli::WhoamiArgs;
use crate::output;

pub(crate) async fn run(setup: &Setup, args: &WhoamiArgs) -> anyhow::Result<()> {
    let resolution = setup.resolve(args.explain).await?;
    let creds = &resolution.credentials;
    let region = setup.region.as_ref().map(|r| r.name.as_str());
    let identity = sts::get_caller_identity(&setup.aws, setup.sts_region(), creds.clone()).await?;
    let now = setup.ctx.now();
    // For a person (and a PS1): escaped; --json keeps exact values.
    if args.short {
        return emit(&format!("{}\n", escape(&identity.arn)));
    }
    super::warn_if_expiring(setup, creds);
    if args.json {
        return emit(&output::whoami::json(&identity, &resolution, region, now)?);
    }
    let region_text = match &setup.region {
        Some(r) => format!("{} (from {})", r.name, r.source),
        None => "not set".to_string(),
    };
    emit(&output::whoami::text(
        &identity,
        &resolution,
        &region_text,
        now,
    ))
}
