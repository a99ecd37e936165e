//! IAM Identity Center (SSO): the settings of an sso-session or legacy SSO profile, the token
//! and client-registration caches shared with the AWS CLI, the OIDC flows that log in and
//! refresh, and the portal calls (role credentials, accounts, roles).
//!
//! A token comes through `auth::obtain`'s steps in one of two ways: [`token::cached`], the
//! chain's, which never opens a browser (and cannot reach `interactive`), or
//! [`interactive::obtain`], `aws-cred sso-login`'s, which may log in.

pub(crate) mod cache;
pub(crate) mod config;
pub(crate) mod interactive;
pub(crate) mod logout;
pub(crate) mod oidc;
pub(crate) mod populate;
pub(crate) mod portal;
pub(crate) mod token;

use sha1::{Digest, Sha1};

/// Scopes registered when `sso_registration_scopes` is not set, as `aws configure sso` offers.
pub(crate) const DEFAULT_SCOPE: &str = "sso:account:access";

/// The SSO settings of a profile (after following `sso_session`) or of an sso-session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoConfig {
    /// The profile these settings come from; empty for `--sso-session NAME`.
    pub profile: String,
    pub session_name: Option<String>,
    pub start_url: String,
    pub region: String,
    /// `sso_registration_scopes` split on commas; `None` when the key is absent (the AWS CLI
    /// keys its registration cache on exactly this).
    pub registration_scopes: Option<Vec<String>>,
    pub account_id: Option<String>,
    pub role_name: Option<String>,
}

impl SsoConfig {
    /// The token cache key: sha1 of the session name, or of the start URL for legacy profiles.
    pub fn cache_key(&self) -> String {
        let input = self.session_name.as_deref().unwrap_or(&self.start_url);
        hex::encode(Sha1::digest(input.as_bytes()))
    }

    /// The AWS CLI v2's client-registration cache key: sha1 of
    /// `json.dumps({"tool": "botocore", "startUrl", "region", "scopes", "session_name"},
    /// sort_keys=True)`.
    pub fn registration_cache_key(&self) -> String {
        use crate::auth::pyjson::Value;
        let scopes = self.registration_scopes.as_deref();
        let text = Value::pairs(vec![
            ("region", Value::str(&self.region)),
            ("scopes", scopes.map_or(Value::Null, Value::list)),
            (
                "session_name",
                self.session_name.as_deref().map_or(Value::Null, Value::str),
            ),
            ("startUrl", Value::str(&self.start_url)),
            ("tool", Value::str("botocore")),
        ])
        .dumps();
        hex::encode(Sha1::digest(text.as_bytes()))
    }

    /// The scopes to register and authorize with.
    pub fn scopes(&self) -> Vec<String> {
        match &self.registration_scopes {
            Some(scopes) if !scopes.is_empty() => scopes.clone(),
            _ => vec![DEFAULT_SCOPE.to_string()],
        }
    }

    pub fn login_command(&self) -> String {
        match &self.session_name {
            Some(s) if self.profile.is_empty() => format!("aws-cred sso-login --sso-session {s}"),
            _ => format!("aws-cred sso-login --profile {}", self.profile),
        }
    }

    /// `sso-session corp (https://corp.awsapps.com/start)` or the start URL alone.
    pub fn describe(&self) -> String {
        match &self.session_name {
            Some(s) => format!("sso-session {s} ({})", self.start_url),
            None => self.start_url.clone(),
        }
    }
}

/// `sso_registration_scopes` as the AWS CLI reads it: comma-separated, trimmed, empties dropped.
pub(crate) fn parse_scopes(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SsoConfig {
        SsoConfig {
            profile: "p".into(),
            session_name: Some("my-sso".into()),
            start_url: "https://d-123.awsapps.com/start".into(),
            region: "us-east-1".into(),
            registration_scopes: None,
            account_id: None,
            role_name: None,
        }
    }

    #[test]
    fn cache_key_is_sha1_of_session_name_or_start_url() {
        let mut c = config();
        assert_eq!(c.cache_key(), "0ad374308c5a4e22f723adf10145eafad7c4031c");
        c.session_name = None;
        assert_eq!(c.cache_key(), "2b829a45f04c9828cb45b7d092d8e4aa30818393");
    }

    #[test]
    fn registration_key_matches_the_aws_cli() {
        // Known answers from Python: hashlib.sha1(json.dumps(args, sort_keys=True).encode())
        let mut c = config();
        c.session_name = Some("corp".into());
        c.start_url = "https://corp.awsapps.com/start".into();
        c.registration_scopes = Some(vec!["sso:account:access".into()]);
        assert_eq!(
            c.registration_cache_key(),
            "1b56c55d6e723362537167a7f43960b8185b5a80"
        );
        let legacy = SsoConfig {
            session_name: None,
            start_url: "https://old/start".into(),
            registration_scopes: None,
            ..c
        };
        assert_eq!(
            legacy.registration_cache_key(),
            "c4eedfb49679f4bb337d12f921d4c2c4a4cc7c13"
        );
    }

    #[test]
    fn scopes_default_and_parse() {
        let mut c = config();
        assert_eq!(c.scopes(), vec![DEFAULT_SCOPE.to_string()]);
        c.registration_scopes = Some(parse_scopes(
            " sso:account:access, ,codewhisperer:completions",
        ));
        assert_eq!(
            c.scopes(),
            vec![
                "sso:account:access".to_string(),
                "codewhisperer:completions".to_string()
            ]
        );
        assert_eq!(config().login_command(), "aws-cred sso-login --profile p");
        let session = SsoConfig {
            profile: String::new(),
            ..config()
        };
        assert_eq!(
            session.login_command(),
            "aws-cred sso-login --sso-session my-sso"
        );
    }
}
