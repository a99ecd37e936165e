//! The login cache file, `<cache dir>/<sha256 hex of the login_session ARN>.json`, shared with
//! the AWS CLI v2 and the SDKs. Read as they read it (keys in any case); a new login is written
//! exactly as `aws login` writes it, and a refresh rewrites it as the AWS CLI does (the whole
//! document kept in its order, `accessToken` replaced by a new five-key object, `refreshToken`
//! updated, `json.dumps` bytes).

use super::dpop::{Key, KeyError};
use super::token_api::Issued;
use crate::auth::pyjson::Value;
use crate::base::PROVIDER;
use crate::base::error::Malformed;
use crate::base::secret::Secret;
use aws_credential_types::Credentials;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::time::SystemTime;

/// The token type CreateOAuth2Token issues.
pub(crate) const TOKEN_TYPE: &str = "aws_sigv4";

/// The cache file name for a login session, as the AWS CLI, botocore and the JS SDK name it.
pub(crate) fn file_name(session_arn: &str) -> String {
    format!(
        "{}.json",
        hex::encode(Sha256::digest(session_arn.as_bytes()))
    )
}

/// One cache file, parsed. Keeps the whole document so a refresh can rewrite it in place.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    doc: Value,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Secret,
    pub account_id: Option<String>,
    pub expires_at: SystemTime,
    pub client_id: Option<String>,
    pub refresh_token: Option<Secret>,
    dpop_key: Option<Secret>,
    /// The region the JS SDK records for the refresh (`signInRegion`); the AWS CLI writes none.
    pub sign_in_region: Option<String>,
}

/// What a refresh needs from the cache.
#[derive(Debug)]
pub(crate) struct RefreshParts<'a> {
    pub client_id: &'a str,
    pub refresh_token: &'a Secret,
    pub key: Key,
}

impl Entry {
    /// Parse a cache file; the error says what is wrong, never what is inside.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Entry, Malformed> {
        let doc = Value::parse(bytes).map_err(|_| Malformed::NotJson)?;
        if !matches!(doc, Value::Object(_)) {
            return Err(Malformed::NotAnObject);
        }
        let access = doc
            .get("accessToken")
            .ok_or(Malformed::Missing("accessToken"))?;
        if !matches!(access, Value::Object(_)) {
            return Err(Malformed::FieldNotAnObject("accessToken"));
        }
        let field = |name: &str| -> Result<String, Malformed> {
            access
                .string(name)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .ok_or_else(|| Malformed::MissingWithin {
                    within: "accessToken",
                    field: name.to_string(),
                })
        };
        let expires_at = field("expiresAt")?;
        let expires_at = crate::base::time::parse_time(&expires_at).ok_or(Malformed::NotATime(
            "accessToken.expiresAt",
            "an RFC 3339 time",
        ))?;
        let text = |name: &str| {
            doc.string(name)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        Ok(Entry {
            access_key_id: field("accessKeyId")?,
            secret_access_key: Secret::new(field("secretAccessKey")?),
            session_token: Secret::new(field("sessionToken")?),
            account_id: access.string("accountId").map(str::to_string),
            expires_at,
            client_id: text("clientId"),
            refresh_token: text("refreshToken").map(Secret::new),
            dpop_key: text("dpopKey").map(Secret::new),
            sign_in_region: text("signInRegion"),
            doc,
        })
    }

    pub(crate) fn credentials(&self) -> Credentials {
        let mut builder = Credentials::builder()
            .access_key_id(&self.access_key_id)
            .secret_access_key(self.secret_access_key.expose())
            .session_token(self.session_token.expose())
            .expiry(self.expires_at)
            .provider_name(PROVIDER);
        if let Some(account) = &self.account_id {
            builder = builder.account_id(account.as_str());
        }
        builder.build()
    }

    /// The refresh token, client id and DPoP key, if the file has all three. `Err`: the key is
    /// there but unusable.
    pub(crate) fn refresh_parts(&self) -> Result<Option<RefreshParts<'_>>, KeyError> {
        let (Some(client_id), Some(refresh_token), Some(key)) =
            (&self.client_id, &self.refresh_token, &self.dpop_key)
        else {
            return Ok(None);
        };
        Ok(Some(RefreshParts {
            client_id,
            refresh_token,
            key: Key::from_pem(key.expose())?,
        }))
    }

    /// The names of the refresh fields the file lacks (for messages), of
    /// [`crate::profile::login_session::REFRESH_FIELDS`].
    pub(crate) fn missing_refresh_fields(&self) -> Vec<&'static str> {
        let [client_id, refresh_token, dpop_key] = crate::profile::login_session::REFRESH_FIELDS;
        [
            (client_id, self.client_id.is_none()),
            (refresh_token, self.refresh_token.is_none()),
            (dpop_key, self.dpop_key.is_none()),
        ]
        .into_iter()
        .filter_map(|(name, missing)| missing.then_some(name))
        .collect()
    }

    /// The file after a refresh, as the AWS CLI rewrites it: `accessToken` becomes
    /// `{accessKeyId, secretAccessKey, sessionToken, accountId, expiresAt}` (the account kept,
    /// or taken from the session ARN when the file had none), `refreshToken` the new one;
    /// every other member stays as and where it was. The bytes hold secrets.
    pub(crate) fn refreshed(&self, issued: &Issued, now: SystemTime, session_arn: &str) -> Secret {
        let account = self
            .account_id
            .clone()
            .or_else(|| account_of(session_arn).map(str::to_string))
            .unwrap_or_default();
        let mut doc = self.doc.clone();
        doc.set("accessToken", access_token(issued, &account, now));
        doc.set(
            "refreshToken",
            Value::Str(issued.refresh_token.expose().into()),
        );
        Secret::new(doc.dumps())
    }
}

/// A new cache file, as `aws login` writes it (key order, `json.dumps`, no final newline).
pub(crate) fn new_login(
    issued: &Issued,
    account_id: &str,
    client_id: &str,
    key: &Key,
    now: SystemTime,
) -> Secret {
    let mut pairs = vec![
        ("accessToken", access_token(issued, account_id, now)),
        ("tokenType", Value::str(TOKEN_TYPE)),
        ("clientId", Value::str(client_id)),
        ("refreshToken", Value::str(issued.refresh_token.expose())),
    ];
    if let Some(id_token) = &issued.id_token {
        pairs.push(("idToken", Value::str(id_token.expose())));
    }
    pairs.push(("dpopKey", Value::Str(key.to_pem())));
    Secret::new(Value::pairs(pairs).dumps())
}

fn access_token(issued: &Issued, account_id: &str, now: SystemTime) -> Value {
    let expires_at = cli_time(now + issued.expires_in);
    Value::pairs(vec![
        ("accessKeyId", Value::str(&issued.access_key_id)),
        (
            "secretAccessKey",
            Value::str(issued.secret_access_key.expose()),
        ),
        ("sessionToken", Value::str(issued.session_token.expose())),
        ("accountId", Value::str(account_id)),
        ("expiresAt", Value::str(&expires_at)),
    ])
}

/// `2026-11-22T06:20:00Z`: the AWS CLI's `%Y-%m-%dT%H:%M:%SZ`.
pub(crate) fn cli_time(time: SystemTime) -> String {
    DateTime::<Utc>::from(time)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The account field of an ARN (`arn:aws:iam::123456789012:user/alice` → `123456789012`).
pub(crate) fn account_of(arn: &str) -> Option<&str> {
    let account = arn.split(':').nth(4)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    pub(super) const KEY: &str = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBMB/RwQERsVoqWRQG4zK8CnaAa5dfrpbm+9tFdBh3z4oAoGCCqGSM49\nAwEHoUQDQgAEWb1VLi1EA2hJaTz4yYuxSELvY+1GAfL+8rUTCAdiFid87Bf6GY+s\n2+1RpqDv0RpZiDIMCrZrsAh+RK9S3QCaGA==\n-----END EC PRIVATE KEY-----\n";

    fn issued() -> Issued {
        Issued {
            access_key_id: "ASIANEW".into(),
            secret_access_key: Secret::new("new-secret"),
            session_token: Secret::new("new-token"),
            expires_in: Duration::from_secs(900),
            refresh_token: Secret::new("rt-2"),
            id_token: Some(Secret::new("id.jwt.sig")),
        }
    }

    #[test]
    fn file_name_is_sha256_of_the_arn() {
        // aws-config's known answer (src/login/cache.rs).
        assert_eq!(
            file_name("arn:aws:iam::0123456789012:user/Admin"),
            "36db1d138ff460920374e4c3d8e01f53f9f73537e89c88d639f68393df0e2726.json"
        );
    }

    #[test]
    fn new_login_is_the_aws_cli_bytes() {
        let key = Key::from_pem(KEY).unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let text = new_login(
            &issued(),
            "123456789012",
            "arn:aws:signin:::devtools/same-device",
            &key,
            now,
        );
        let expected = format!(
            r#"{{"accessToken": {{"accessKeyId": "ASIANEW", "secretAccessKey": "new-secret", "sessionToken": "new-token", "accountId": "123456789012", "expiresAt": "2027-01-15T08:15:00Z"}}, "tokenType": "aws_sigv4", "clientId": "arn:aws:signin:::devtools/same-device", "refreshToken": "rt-2", "idToken": "id.jwt.sig", "dpopKey": "{}"}}"#,
            KEY.replace('\n', "\\n")
        );
        assert_eq!(text.expose(), expected);
        let entry = Entry::parse(text.expose().as_bytes()).unwrap();
        assert_eq!(entry.expires_at, now + Duration::from_secs(900));
        assert!(entry.refresh_parts().unwrap().is_some());
    }

    #[test]
    fn refresh_rewrites_like_the_aws_cli() {
        // A file the JS SDK wrote (pretty, fractional time, signInRegion), refreshed: the CLI
        // keeps the members' order and replaces accessToken whole.
        let js = r#"{
  "signInRegion": "eu-west-1",
  "accessToken": {"accountId": "123456789012", "accessKeyId": "ASIAOLD", "secretAccessKey": "s", "sessionToken": "t", "expiresAt": "2027-01-15T08:00:17.309Z", "extra": 1},
  "refreshToken": "rt-1",
  "clientId": "arn:aws:signin:::devtools/same-device",
  "dpopKey": "k"
}"#;
        let entry = Entry::parse(js.as_bytes()).unwrap();
        assert_eq!(entry.sign_in_region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            entry.expires_at,
            UNIX_EPOCH + Duration::from_millis(1_800_000_017_309)
        );
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let text = entry.refreshed(&issued(), now, "arn:aws:iam::123456789012:user/a");
        assert_eq!(
            text.expose(),
            r#"{"signInRegion": "eu-west-1", "accessToken": {"accessKeyId": "ASIANEW", "secretAccessKey": "new-secret", "sessionToken": "new-token", "accountId": "123456789012", "expiresAt": "2027-01-15T08:15:00Z"}, "refreshToken": "rt-2", "clientId": "arn:aws:signin:::devtools/same-device", "dpopKey": "k"}"#
        );
    }

    #[test]
    fn broken_files_say_what_is_wrong_without_secrets() {
        let reason = |bytes: &[u8]| Entry::parse(bytes).unwrap_err().to_string();
        assert_eq!(reason(b"{nope"), "it is not valid JSON");
        assert_eq!(reason(b"[]"), "it is not a JSON object");
        assert_eq!(reason(b"{}"), "it has no accessToken");
        assert_eq!(
            reason(br#"{"accessToken": {"secretAccessKey": "sekrit"}}"#),
            "its accessToken has no expiresAt"
        );
        let err = reason(
            br#"{"accessToken": {"accessKeyId": "A", "secretAccessKey": "sekrit", "sessionToken": "t", "expiresAt": "soon"}}"#,
        );
        assert_eq!(err, "its accessToken.expiresAt is not an RFC 3339 time");
        assert!(
            err.contains("expiresAt") && !err.contains("sekrit"),
            "{err}"
        );
        let entry = Entry::parse(
            br#"{"AccessToken": {"AccessKeyId": "A", "SecretAccessKey": "s", "SessionToken": "t", "ExpiresAt": "2027-01-15T08:15:00Z"}}"#,
        )
        .unwrap();
        assert!(entry.refresh_parts().unwrap().is_none());
        assert_eq!(
            entry.missing_refresh_fields(),
            vec!["clientId", "refreshToken", "dpopKey"]
        );
        assert_eq!(
            account_of("arn:aws:iam::123456789012:user/a"),
            Some("123456789012")
        );
        assert_eq!(account_of("nope"), None);
    }
}
