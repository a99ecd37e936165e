//! `aws-cred whoami`: STS GetCallerIdentity with the resolved credentials, and where they came
//! from.

use super::{Setup, emit};
use crate::aws::sts;
use crate::base::text::escape;
use crate::cli::WhoamiArgs;
use serde::Serialize;

/// `****WXYZ`: enough to tell keys apart, not enough to use.
pub(crate) fn mask(access_key: &str) -> String {
    let tail: String = {
        let chars: Vec<char> = access_key.chars().collect();
        let start = chars.len().saturating_sub(4);
        chars[start..].iter().collect()
    };
    format!("****{tail}")
}

#[derive(Serialize)]
struct WhoamiJson<'a> {
    schema_version: u32,
    account: &'a str,
    arn: &'a str,
    user_id: &'a str,
    source: Source<'a>,
    access_key: String,
    expiration: Option<String>,
    expires_in_seconds: Option<i64>,
    region: Option<&'a str>,
}

#[derive(Serialize)]
struct Source<'a> {
    link: &'a str,
    location: &'a str,
}

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
        let doc = WhoamiJson {
            schema_version: 1,
            account: &identity.account,
            arn: &identity.arn,
            user_id: &identity.user_id,
            source: Source {
                link: resolution.link.name(),
                location: &resolution.location,
            },
            access_key: mask(creds.access_key_id()),
            expiration: creds.expiry().map(crate::base::time::rfc3339),
            expires_in_seconds: creds.expiry().map(|t| match t.duration_since(now) {
                Ok(d) => d.as_secs() as i64,
                Err(e) => -(e.duration().as_secs() as i64),
            }),
            region,
        };
        let mut text = serde_json::to_string_pretty(&doc)?;
        text.push('\n');
        return emit(&text);
    }
    let expires = match creds.expiry() {
        Some(t) => crate::base::time::describe_expiry(now, t),
        None => "never (long-term keys)".to_string(),
    };
    let region_text = match &setup.region {
        Some(r) => format!("{} (from {})", r.name, r.source),
        None => "not set".to_string(),
    };
    emit(&format!(
        "Account:     {}\nARN:         {}\nUser ID:     {}\nSource:      {}: {}\nAccess key:  {}\nExpires:     {expires}\nRegion:      {region_text}\n",
        escape(&identity.account),
        escape(&identity.arn),
        escape(&identity.user_id),
        resolution.link,
        escape(&resolution.location),
        mask(creds.access_key_id()),
    ))
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn masks_all_but_last_four() {
        assert_eq!(mask("AKIAIOSFODNN7EXAMPLE"), "****MPLE");
        assert_eq!(mask("abc"), "****abc");
    }
}
