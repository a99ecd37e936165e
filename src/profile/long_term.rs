//! Long-term keys in the ~/.aws files, and the one rule about where they live: the aws-mfa
//! convention keeps an IAM user's keys in `[P-long-term]` so that `[P]` can hold today's MFA
//! session. Every flow that needs long-term keys (mfa, the chain's cached MFA sessions) asks here.

use super::Profiles;
use crate::base::error::Problem;
use aws_credential_types::Credentials;

/// Key where aws-cred records when written session credentials expire; AWS tools ignore it.
pub const EXPIRATION_KEY: &str = "aws_cred_expiration";

/// The credentials a profile holds as keys (long-term or a written session).
pub fn static_credentials(profiles: &Profiles, name: &str) -> anyhow::Result<Credentials> {
    let get = |key| profiles.credential(name, key);
    let (Some(key), Some(secret)) = (get("aws_access_key_id"), get("aws_secret_access_key")) else {
        return Err(Problem::usage(format!(
            "profile {name:?} needs both aws_access_key_id and aws_secret_access_key (blank values count as absent)"
        ))
        .hint("fill in both keys, or remove the section")
        .into());
    };
    let mut builder = Credentials::builder()
        .access_key_id(key)
        .secret_access_key(secret)
        .provider_name(crate::base::PROVIDER);
    builder.set_session_token(
        get("aws_session_token")
            .or_else(|| get("aws_security_token"))
            .map(str::to_string),
    );
    builder.set_account_id(get("aws_account_id").map(Into::into));
    if let Some(text) = get(EXPIRATION_KEY) {
        let expiry = crate::base::time::parse_time(text).ok_or_else(|| {
            Problem::usage(format!(
                "profile {name:?}: {EXPIRATION_KEY} = {text:?} is not an RFC 3339 time"
            ))
        })?;
        builder.set_expiry(Some(expiry));
    }
    Ok(builder.build())
}

/// Long-term keys to make an MFA session from, and where they live.
#[derive(Debug, Clone)]
pub struct LongTerm {
    /// The profile holding the keys; `None` for environment variables.
    pub profile: Option<String>,
    pub credentials: Credentials,
    /// The keys are in `[NAME-long-term]`, so the session belongs in `[NAME]`.
    pub convention_for: Option<String>,
}

impl LongTerm {
    pub fn describe(&self) -> String {
        match &self.profile {
            Some(p) => format!("profile {p}"),
            None => "environment variables".to_string(),
        }
    }
}

pub fn long_term_name(profile: &str) -> String {
    format!("{profile}-long-term")
}

/// The long-term keys for `name`: `[name-long-term]` (the aws-mfa convention) first, then the
/// profile's own keys when they are not a session. `None` when the profile has no keys.
pub fn long_term_of_profile(profiles: &Profiles, name: &str) -> Option<anyhow::Result<LongTerm>> {
    let long = long_term_name(name);
    let has_keys = |p: &str| profiles.credential(p, "aws_access_key_id").is_some();
    let (holder, convention_for) = if has_keys(&long) {
        (long, Some(name.to_string()))
    } else if has_keys(name) {
        (name.to_string(), None)
    } else {
        return None;
    };
    let creds = match static_credentials(profiles, &holder) {
        Ok(c) => c,
        Err(e) => return Some(Err(e)),
    };
    if creds.session_token().is_some() {
        return Some(Err(Problem::usage(format!(
            "profile {holder} holds session credentials (aws_session_token), not long-term keys"
        ))
        .hint(format!(
            "keep the IAM user's access keys (AKIA...) in [{}] and let aws-cred write sessions to [{name}]",
            long_term_name(name)
        ))
        .into()));
    }
    Some(Ok(LongTerm {
        profile: Some(holder),
        credentials: creds,
        convention_for,
    }))
}
