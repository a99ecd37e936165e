//! The keys a profile section may hold, and the ones that look like a typo of one: a
//! `mfa_serail` or `role_arm` is ignored by every SDK without a word, so the profile quietly
//! does something else (long-term keys instead of a role). Keys other tools own
//! (`granted_sso_*`, `common_fate_*`, …) are far from every known key and are left alone.

use super::writer::{HeaderStyle, find_section};
use super::{Profiles, nonblank};
use std::path::PathBuf;

/// Every key of a profile section the AWS CLI, the SDKs or aws-cred read.
pub(crate) const KNOWN: &[&str] = &[
    // Credentials and how to get them.
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_security_token",
    "aws_account_id",
    "role_arn",
    "source_profile",
    "credential_source",
    "external_id",
    "mfa_serial",
    "role_session_name",
    "duration_seconds",
    "web_identity_token_file",
    "credential_process",
    "login_session",
    "sso_session",
    "sso_start_url",
    "sso_region",
    "sso_account_id",
    "sso_role_name",
    "sso_registration_scopes",
    // Client settings.
    "region",
    "output",
    "ca_bundle",
    "endpoint_url",
    "services",
    "ignore_configured_endpoint_urls",
    "use_fips_endpoint",
    "use_dualstack_endpoint",
    "max_attempts",
    "retry_mode",
    "defaults_mode",
    "parameter_validation",
    "tcp_keepalive",
    "metadata_service_timeout",
    "metadata_service_num_attempts",
    "ec2_metadata_service_endpoint",
    "ec2_metadata_service_endpoint_mode",
    "ec2_metadata_v1_disabled",
    "sdk_ua_app_id",
    "request_min_compression_size_bytes",
    "disable_request_compression",
    "account_id_endpoint_mode",
    "sigv4a_signing_region_set",
    "auth_scheme_preference",
    "request_checksum_calculation",
    "response_checksum_validation",
    "s3",
    "cli_pager",
    "cli_timestamp_format",
    "cli_binary_format",
    "cli_auto_prompt",
    "cli_history",
    "cli_follow_urlparam",
    // aws-vault's and aws-mfa's, which aws-cred reads.
    "mfa_process",
    "session_tags",
    "transitive_session_tags",
    "source_identity",
    "aws_mfa_device",
    // aws-cred's own.
    "cognito_user_pool_id",
    "cognito_client_id",
    "cognito_client_secret",
    "cognito_identity_pool_id",
    "cognito_role_arn",
    "cognito_auth_flow",
    "cognito_user",
    "cognito_guest",
    "aws_cred_expiration",
    "aws_cred_populated",
];

/// A key of a profile that is probably a typo of a known one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mistyped {
    pub profile: String,
    pub file: PathBuf,
    pub key: String,
    pub meant: &'static str,
}

/// The keys of `names`' sections (in both files) that are within two edits of a known key
/// and are not themselves known.
pub(crate) fn mistyped<'a>(
    profiles: &Profiles,
    names: impl IntoIterator<Item = &'a str>,
) -> Vec<Mistyped> {
    let mut found = Vec::new();
    for name in names {
        for (text, style, path) in [
            (
                profiles.config_text.as_deref(),
                HeaderStyle::Config,
                &profiles.files.config,
            ),
            (
                profiles.credentials_text.as_deref(),
                HeaderStyle::Credentials,
                &profiles.files.credentials,
            ),
        ] {
            let Some(file) = text else {
                continue;
            };
            // The index the fast path built when it has one (no second scan of a large file).
            let sections = match file.sections_named(name).filter(|_| name != "default") {
                Some(sections) => sections,
                None => find_section(file.text(), name, style)
                    .map(|range| vec![&file.text()[range]])
                    .unwrap_or_default(),
            };
            for key in sections.iter().flat_map(|section| section_keys(section)) {
                let lower = key.to_ascii_lowercase();
                if KNOWN.contains(&lower.as_str()) {
                    continue;
                }
                if let Some(meant) = crate::base::text::closest(&lower, KNOWN.iter().copied()) {
                    found.push(Mistyped {
                        profile: name.to_string(),
                        file: path.clone(),
                        key: key.to_string(),
                        meant,
                    });
                }
            }
        }
    }
    found
}

/// The most profiles followed through `source_profile` (the chain's own limit).
const MAX_SOURCES: usize = 64;

/// The profile and the ones it takes credentials from (`source_profile`), each once.
pub(crate) fn with_sources(profiles: &Profiles, name: &str) -> Vec<String> {
    let mut names = vec![name.to_string()];
    while names.len() < MAX_SOURCES {
        let Some(next) =
            nonblank(profiles.get(names.last().map_or("", String::as_str), "source_profile"))
        else {
            break;
        };
        if names.iter().any(|n| n == next) {
            break;
        }
        names.push(next.to_string());
    }
    names
}

/// The property names of a section's text (its header line first): `name = value` lines that
/// do not start with whitespace (those continue the property above) or a comment.
fn section_keys(section: &str) -> impl Iterator<Item = &str> {
    section.lines().skip(1).filter_map(|line| {
        if line.starts_with([' ', '\t']) {
            return None;
        }
        let line = line.trim();
        if line.starts_with(['#', ';']) {
            return None;
        }
        let (key, _) = line.split_once('=')?;
        let key = key.trim();
        (!key.is_empty()).then_some(key)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_of_known_keys_are_found_and_other_tools_keys_are_not() {
        let profiles = Profiles::from_text(
            "[profile admin]\nrole_arm = arn:aws:iam::1:role/A\nsource_profile = base\nregion = eu-west-1\ngranted_sso_start_url = x\n  nested = 1\n# mfa_serail = commented\n",
            "[base]\naws_access_key_id = AKIA\naws_secret_access_key = s\nmfa_serail = arn\nREGION = x\n",
            "admin",
        );
        let found = mistyped(&profiles, ["admin", "base"]);
        let pairs: Vec<(&str, &str, &str)> = found
            .iter()
            .map(|m| (m.profile.as_str(), m.key.as_str(), m.meant))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("admin", "role_arm", "role_arn"),
                ("base", "mfa_serail", "mfa_serial")
            ]
        );
        assert!(found[1].file.ends_with("credentials"), "{found:?}");
        assert_eq!(with_sources(&profiles, "admin"), vec!["admin", "base"]);
    }

    #[test]
    fn a_source_loop_is_followed_once() {
        let profiles = Profiles::from_text(
            "[profile a]\nsource_profile = b\n[profile b]\nsource_profile = a\n",
            "",
            "a",
        );
        assert_eq!(with_sources(&profiles, "a"), vec!["a", "b"]);
    }
}
