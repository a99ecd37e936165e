//! What `whoami` prints: the identity STS named, where the credentials came from, and when they
//! end; as a block for a person (escaped) or as JSON (exact values).

use crate::aws::sts::Identity;
use crate::base::text::escape;
use crate::chain::Resolution;
use serde::Serialize;
use std::time::SystemTime;

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

/// `whoami --json` (schema 1), with its newline.
pub(crate) fn json(
    identity: &Identity,
    resolution: &Resolution,
    region: Option<&str>,
    now: SystemTime,
) -> serde_json::Result<String> {
    let creds = &resolution.credentials;
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
    Ok(text)
}

/// `whoami` for a person; `region` says which region and where it came from.
pub(crate) fn text(
    identity: &Identity,
    resolution: &Resolution,
    region: &str,
    now: SystemTime,
) -> String {
    let creds = &resolution.credentials;
    let expires = match creds.expiry() {
        Some(t) => crate::base::time::describe_expiry(now, t),
        None => "never (long-term keys)".to_string(),
    };
    format!(
        "Account:     {}\nARN:         {}\nUser ID:     {}\nSource:      {}: {}\nAccess key:  {}\nExpires:     {expires}\nRegion:      {region}\n",
        escape(&identity.account),
        escape(&identity.arn),
        escape(&identity.user_id),
        resolution.link,
        escape(&resolution.location),
        mask(creds.access_key_id()),
    )
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
