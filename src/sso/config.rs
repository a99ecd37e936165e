//! SSO settings from the ~/.aws files: a profile's `sso_*` keys, following `sso_session` to its
//! `[sso-session NAME]` section, as the AWS CLI reads them.

use super::SsoConfig;
use crate::base::error::Problem;
use crate::profile::Profiles;
use aws_config::profile::Profile;

fn config_error(message: String, hint: &str) -> Problem {
    Problem::usage(message).hint(hint.to_string())
}

/// SSO settings of a profile, following `sso_session`; `None` when it has no sso_* keys.
pub(crate) fn sso_of(profiles: &Profiles, profile: &Profile) -> Result<Option<SsoConfig>, Problem> {
    let name = profile.name();
    let keys = [
        "sso_session",
        "sso_start_url",
        "sso_region",
        "sso_account_id",
        "sso_role_name",
    ];
    if keys.iter().all(|k| profile.get(k).is_none()) {
        return Ok(None);
    }
    let account_id = profile.get("sso_account_id");
    let role_name = profile.get("sso_role_name");
    match (account_id, role_name) {
        (Some(_), None) => {
            return Err(config_error(
                format!("profile {name:?} sets sso_account_id but not sso_role_name"),
                "set both, or neither to choose at login",
            ));
        }
        (None, Some(_)) => {
            return Err(config_error(
                format!("profile {name:?} sets sso_role_name but not sso_account_id"),
                "set both, or neither to choose at login",
            ));
        }
        _ => {}
    }
    let base = match profile.get("sso_session") {
        Some(session) => {
            for key in ["sso_start_url", "sso_region"] {
                if profile.get(key).is_some() {
                    return Err(config_error(
                        format!(
                            "profile {name:?} sets {key} and sso_session; {key} belongs in [sso-session {session}]"
                        ),
                        "remove it from the profile",
                    ));
                }
            }
            if profiles.set.sso_session(session).is_none() {
                return Err(config_error(
                    format!(
                        "profile {name:?} names sso_session {session:?}, but there is no [sso-session {session}] section"
                    ),
                    "add the section with sso_start_url and sso_region",
                ));
            }
            sso_session_config(profiles, session)?
        }
        None => {
            let missing = |key: &str| {
                config_error(
                    format!("profile {name:?} is an SSO profile without {key}"),
                    "add it (aws configure sso writes a complete profile)",
                )
            };
            let get = |key: &str| profile.get(key).ok_or_else(|| missing(key));
            SsoConfig {
                profile: String::new(),
                session_name: None,
                start_url: get("sso_start_url")?.to_string(),
                region: get("sso_region")?.to_string(),
                registration_scopes: profile
                    .get("sso_registration_scopes")
                    .map(super::parse_scopes),
                account_id: None,
                role_name: None,
            }
        }
    };
    Ok(Some(SsoConfig {
        profile: name.to_string(),
        account_id: account_id.map(str::to_string),
        role_name: role_name.map(str::to_string),
        ..base
    }))
}

/// The settings of `[sso-session NAME]` itself (`sso-login --sso-session NAME`).
pub(crate) fn sso_session_config(profiles: &Profiles, name: &str) -> Result<SsoConfig, Problem> {
    let Some(section) = profiles.set.sso_session(name) else {
        let mut sessions: Vec<&str> = profiles.set.sso_sessions().collect();
        sessions.sort_unstable();
        let available = if sessions.is_empty() {
            "there are none".to_string()
        } else {
            format!("available: {}", sessions.join(", "))
        };
        return Err(config_error(
            format!(
                "there is no [sso-session {name}] in {}; {available}",
                profiles.files.config.display()
            ),
            "add it with sso_start_url and sso_region (aws configure sso writes one)",
        ));
    };
    let missing = |key: &str| {
        config_error(
            format!("[sso-session {name}] has no {key}"),
            "add sso_start_url and sso_region to the section",
        )
    };
    Ok(SsoConfig {
        profile: String::new(),
        session_name: Some(name.to_string()),
        start_url: section
            .get("sso_start_url")
            .ok_or_else(|| missing("sso_start_url"))?
            .to_string(),
        region: section
            .get("sso_region")
            .ok_or_else(|| missing("sso_region"))?
            .to_string(),
        registration_scopes: section
            .get("sso_registration_scopes")
            .map(super::parse_scopes),
        account_id: None,
        role_name: None,
    })
}
