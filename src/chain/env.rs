//! Link `env`: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (or the legacy
//! AWS_SECURITY_TOKEN) and AWS_CREDENTIAL_EXPIRATION. Blank values count as absent.

use super::{Found, Request, Step};
use crate::base::error::Problem;
use crate::os::Context;
use aws_credential_types::Credentials;

pub(super) fn resolve(req: &Request<'_>) -> anyhow::Result<Step> {
    if req.profiles.selection == crate::profile::Selection::Flag {
        return Ok(Step::Skip(
            "--profile given: key variables are ignored, as the AWS CLI does".into(),
        ));
    }
    Ok(match from_env(req.ctx)? {
        Some(found) => Step::Found(found),
        None => Step::Skip("AWS_ACCESS_KEY_ID is not set".into()),
    })
}

/// Credentials from the environment, shared with `credential_source = Environment`.
pub(crate) fn from_env(ctx: &Context) -> anyhow::Result<Option<Found>> {
    // A key variable that is not UTF-8 is an error, never "unset" (another identity).
    let access_key = ctx.text_var("AWS_ACCESS_KEY_ID")?;
    let secret_key = ctx.text_var("AWS_SECRET_ACCESS_KEY")?;
    let (access_key, secret_key) = match (access_key, secret_key) {
        (None, None) => return Ok(None),
        (Some(a), Some(s)) => (a, s),
        (Some(_), None) => {
            return Err(Problem::usage(
                "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",
            )
            .hint("set both, or clear both with: eval \"$(aws-cred export --unset)\"")
            .into());
        }
        (None, Some(_)) => {
            return Err(Problem::usage(
                "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not",
            )
            .hint("set both, or clear both with: eval \"$(aws-cred export --unset)\"")
            .into());
        }
    };
    let (token, token_var) = match ctx.text_var("AWS_SESSION_TOKEN")? {
        Some(t) => (Some(t), Some("AWS_SESSION_TOKEN")),
        None => match ctx.text_var("AWS_SECURITY_TOKEN")? {
            Some(t) => (Some(t), Some("AWS_SECURITY_TOKEN")),
            None => (None, None),
        },
    };
    let expiry = match ctx.var("AWS_CREDENTIAL_EXPIRATION") {
        Some(text) => Some(crate::base::time::parse_time(text).ok_or_else(|| {
            Problem::usage(format!(
                "AWS_CREDENTIAL_EXPIRATION is not an RFC 3339 time: {text:?}"
            ))
            .hint("use a time like 2026-11-22T18:00:00Z, or unset the variable")
        })?),
        None => None,
    };
    let mut builder = Credentials::builder()
        .access_key_id(access_key)
        .secret_access_key(secret_key)
        .provider_name(crate::base::PROVIDER);
    builder.set_session_token(token.map(str::to_string));
    builder.set_expiry(expiry);
    let mut vars = vec!["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];
    vars.extend(token_var);
    let credentials = builder.build();
    Ok(Some(Found {
        kind: super::Kind::of_keys(&credentials),
        credentials,
        location: format!("environment variables {}", vars.join(", ")),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_keys_are_absent() {
        let ctx = Context::with_env([("AWS_ACCESS_KEY_ID", " "), ("AWS_SECRET_ACCESS_KEY", "")]);
        assert!(from_env(&ctx).unwrap().is_none());
    }

    #[test]
    fn half_set_keys_stop_the_chain() {
        let ctx = Context::with_env([("AWS_ACCESS_KEY_ID", "AKIA")]);
        let err = from_env(&ctx).unwrap_err();
        assert!(err.to_string().contains("AWS_SECRET_ACCESS_KEY is not"));
    }

    #[test]
    fn legacy_security_token_and_expiration() {
        let ctx = Context::with_env([
            ("AWS_ACCESS_KEY_ID", "ASIA"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("AWS_SECURITY_TOKEN", "legacy"),
            ("AWS_CREDENTIAL_EXPIRATION", "2026-11-22T10:00:00+09:00"),
        ]);
        let found = from_env(&ctx).unwrap().unwrap();
        assert_eq!(found.credentials.session_token(), Some("legacy"));
        assert_eq!(
            crate::base::time::rfc3339(found.credentials.expiry().unwrap()),
            "2026-11-22T01:00:00Z"
        );
        assert!(found.location.contains("AWS_SECURITY_TOKEN"));
    }

    #[test]
    fn session_token_wins_over_legacy() {
        let ctx = Context::with_env([
            ("AWS_ACCESS_KEY_ID", "ASIA"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("AWS_SESSION_TOKEN", "new"),
            ("AWS_SECURITY_TOKEN", "old"),
        ]);
        let found = from_env(&ctx).unwrap().unwrap();
        assert_eq!(found.credentials.session_token(), Some("new"));
    }
}
