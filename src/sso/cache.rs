//! The files in `~/.aws/sso/cache` that aws-cred shares with the AWS CLI v2 and the SDKs:
//! the token (`<sha1 of session name or start URL>.json`) and the OIDC client registration
//! (`<sha1 of the CLI's registration arguments>.json`). Written the way botocore writes them
//! (`json.dumps` bytes, times as `%Y-%m-%dT%H:%M:%SZ`, mode 0600), atomically; read as every
//! SDK reads them (keys in any case).

use super::SsoConfig;
use crate::auth::pyjson::Value;
use crate::base::error::{Malformed, Problem};
use crate::base::secret::Secret;
use crate::base::validity::Validity;
use crate::cache::Cache;
use crate::os::Context;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// A token or registration this close to its expiry counts as expired (botocore's window).
pub(crate) const EXPIRY_WINDOW: Duration = Duration::from_secs(15 * 60);

/// A cached SSO token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub start_url: String,
    pub region: String,
    pub access_token: Secret,
    pub expires_at: SystemTime,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub registration_expires_at: Option<SystemTime>,
    pub refresh_token: Option<Secret>,
}

impl Token {
    /// Not expired at all.
    pub(crate) fn is_valid(&self, now: SystemTime) -> bool {
        self.expires_at > now
    }

    /// More than [`EXPIRY_WINDOW`] left: use it as it is.
    pub(crate) fn is_fresh(&self, now: SystemTime) -> bool {
        self.expires_at > now + EXPIRY_WINDOW
    }

    /// What a refresh needs (client id and secret, refresh token, a registration that has not
    /// expired), as botocore and aws-config check it.
    pub(crate) fn refresh_parts(&self, now: SystemTime) -> Option<(&str, &Secret, &Secret)> {
        let expires = self.registration_expires_at?;
        if expires <= now {
            return None;
        }
        Some((
            self.client_id.as_deref()?,
            self.client_secret.as_ref()?,
            self.refresh_token.as_ref()?,
        ))
    }

    /// Its state for `status`: valid until it expires; once expired, refreshable while the
    /// cache holds what a refresh needs.
    pub(crate) fn validity(&self, now: SystemTime) -> Validity {
        if self.is_valid(now) {
            Validity::Valid {
                until: self.expires_at,
            }
        } else if self.refresh_parts(now).is_some() {
            Validity::Refreshable {
                expired: self.expires_at,
            }
        } else {
            Validity::Expired {
                at: self.expires_at,
            }
        }
    }

    /// The file's bytes, exactly as botocore's `_sso_json_dumps` writes this dictionary.
    pub(crate) fn to_cli_json(&self) -> String {
        let expires_at = cli_time(self.expires_at);
        let registration_expires_at = self.registration_expires_at.map(cli_time);
        let mut pairs = vec![
            ("startUrl", Value::str(&self.start_url)),
            ("region", Value::str(&self.region)),
            ("accessToken", Value::str(self.access_token.expose())),
            ("expiresAt", Value::str(&expires_at)),
        ];
        if let Some(id) = &self.client_id {
            pairs.push(("clientId", Value::str(id)));
        }
        if let Some(secret) = &self.client_secret {
            pairs.push(("clientSecret", Value::str(secret.expose())));
        }
        if let Some(at) = &registration_expires_at {
            pairs.push(("registrationExpiresAt", Value::str(at)));
        }
        if let Some(refresh) = &self.refresh_token {
            pairs.push(("refreshToken", Value::str(refresh.expose())));
        }
        Value::pairs(pairs).dumps()
    }

    /// Parse a token file; the error says what is wrong, never what is inside.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Token, Malformed> {
        let doc = JsonObject::parse(bytes)?;
        let access_token = doc.required("accessToken")?;
        let expires_at = doc.required("expiresAt")?;
        let expires_at = parse_cli_time(&expires_at).ok_or(NOT_A_TIME)?;
        Ok(Token {
            start_url: doc.string("startUrl").unwrap_or_default(),
            region: doc.string("region").unwrap_or_default(),
            access_token: Secret::new(access_token),
            expires_at,
            client_id: doc.string("clientId"),
            client_secret: doc.string("clientSecret").map(Secret::new),
            registration_expires_at: doc
                .string("registrationExpiresAt")
                .and_then(|t| parse_cli_time(&t)),
            refresh_token: doc.string("refreshToken").map(Secret::new),
        })
    }
}

/// The grant types the authorization-code flow registers (and caches) its client with.
pub(crate) const AUTH_CODE_GRANTS: [&str; 2] = ["authorization_code", "refresh_token"];

/// A cached OIDC client registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Registration {
    pub client_id: String,
    pub client_secret: Secret,
    pub expires_at: SystemTime,
    pub scopes: Option<Vec<String>>,
    /// Present for authorization-code registrations only (the AWS CLI's convention).
    pub grant_types: Option<Vec<String>>,
}

impl Registration {
    /// Usable for a new login: more than [`EXPIRY_WINDOW`] left, and made for this flow (the
    /// device flow does not reuse auth-code registrations and vice versa, as the AWS CLI).
    pub(crate) fn usable(&self, now: SystemTime, auth_code: bool) -> bool {
        let for_auth_code = self
            .grant_types
            .as_ref()
            .is_some_and(|g| g.iter().any(|t| t == "authorization_code"));
        self.expires_at > now + EXPIRY_WINDOW && for_auth_code == auth_code
    }

    pub(crate) fn to_cli_json(&self) -> String {
        let expires_at = cli_time(self.expires_at);
        let mut pairs = vec![
            ("clientId", Value::str(&self.client_id)),
            ("clientSecret", Value::str(self.client_secret.expose())),
            ("expiresAt", Value::str(&expires_at)),
        ];
        if let Some(scopes) = &self.scopes {
            pairs.push(("scopes", Value::list(scopes)));
        }
        if let Some(grants) = &self.grant_types {
            pairs.push(("grantTypes", Value::list(grants)));
        }
        Value::pairs(pairs).dumps()
    }

    pub(crate) fn parse(bytes: &[u8]) -> Result<Registration, Malformed> {
        let doc = JsonObject::parse(bytes)?;
        let expires_at = doc.required("expiresAt")?;
        Ok(Registration {
            client_id: doc.required("clientId")?,
            client_secret: Secret::new(doc.required("clientSecret")?),
            expires_at: parse_cli_time(&expires_at).ok_or(NOT_A_TIME)?,
            scopes: doc.strings("scopes"),
            grant_types: doc.strings("grantTypes"),
        })
    }
}

/// What is in the token file.
pub(crate) type Cached = crate::auth::obtain::Cached<Token>;

/// `~/.aws/sso/cache`: one `<key>.json` per entry, like aws-cred's own caches.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    files: Cache,
}

impl Store {
    pub(crate) fn new(ctx: &Context) -> Result<Store, Problem> {
        let home = ctx.home().ok_or_else(|| {
            Problem::usage("cannot find the home directory for the SSO token cache")
                .hint("set HOME")
        })?;
        Ok(Store {
            files: Cache::shared(home.join(".aws").join("sso").join("cache")),
        })
    }

    pub(crate) fn token_path(&self, config: &SsoConfig) -> PathBuf {
        self.files.path(&config.cache_key())
    }

    /// The token file, read as the AWS CLI's shared cache is read ([`Cache::shared`]): a file
    /// owned by someone else is warned about and never used, a FIFO or an oversized file is
    /// unusable.
    pub(crate) fn read_token(&self, config: &SsoConfig) -> Result<Cached, Problem> {
        let path = self.token_path(config);
        if !crate::os::fs::exists(&path) {
            return Ok(Cached::Missing);
        }
        Ok(match self.files.read_bytes(&config.cache_key())? {
            Some(bytes) => match Token::parse(&bytes) {
                Ok(token) => Cached::Found(token),
                Err(reason) => Cached::Unusable(reason.to_string()),
            },
            None => Cached::Unusable(
                "it cannot be used (not a regular file you own, unreadable, or over 1 MiB)"
                    .to_string(),
            ),
        })
    }

    /// The token's state, for `status` (read-only: nothing is refreshed).
    pub(crate) fn token_state(&self, config: &SsoConfig, now: SystemTime) -> Validity {
        match self.read_token(config) {
            Ok(Cached::Found(token)) => token.validity(now),
            Ok(Cached::Missing) => Validity::Missing,
            Ok(Cached::Unusable(reason)) => Validity::Unusable(reason),
            Err(problem) => Validity::Unusable(problem.message),
        }
    }

    /// Remove the token file (`logout`); `Ok(false)` when there was none.
    pub(crate) fn remove_token(&self, config: &SsoConfig) -> anyhow::Result<bool> {
        self.files.remove_entry(&config.cache_key())
    }

    /// Every token file in the cache (files with an accessToken and expiresAt, as the AWS CLI's
    /// logout picks them; registrations are not tokens), with its token.
    pub(crate) fn tokens(&self) -> Vec<(PathBuf, Token)> {
        let files = crate::os::fs::list_files(self.files.dir(), ".json").unwrap_or_default();
        files
            .into_iter()
            .filter_map(|path| {
                let bytes =
                    crate::os::fs::read_regular(&path, crate::os::fs::MAX_CACHE_FILE).ok()?;
                Some((path, Token::parse(&bytes).ok()?))
            })
            .collect()
    }

    /// Written as botocore writes it: the exact bytes, mode 0600 (whatever the old file had).
    pub(crate) fn write_token(&self, config: &SsoConfig, token: &Token) -> anyhow::Result<()> {
        self.files
            .write_bytes(&config.cache_key(), token.to_cli_json().as_bytes())
    }

    /// A cached registration; an unreadable one counts as absent (it is replaced).
    pub(crate) fn read_registration(&self, config: &SsoConfig) -> Option<Registration> {
        let bytes = self
            .files
            .read_bytes(&config.registration_cache_key())
            .ok()
            .flatten()?;
        Registration::parse(&bytes).ok()
    }

    pub(crate) fn write_registration(
        &self,
        config: &SsoConfig,
        registration: &Registration,
    ) -> anyhow::Result<()> {
        self.files.write_bytes(
            &config.registration_cache_key(),
            registration.to_cli_json().as_bytes(),
        )
    }

    pub(crate) fn remove_registration(&self, config: &SsoConfig) {
        self.files.remove(&config.registration_cache_key());
    }
}

/// `2026-11-22T06:20:00Z`: botocore's `%Y-%m-%dT%H:%M:%SZ`.
pub(crate) fn cli_time(time: SystemTime) -> String {
    crate::base::time::format_utc(time, "%Y-%m-%dT%H:%M:%SZ")
}

/// RFC 3339, and the `2019-11-14T04:05:45UTC` form older AWS CLI versions wrote.
pub(crate) fn parse_cli_time(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    let normalized = match text.strip_suffix("UTC") {
        Some(rest) => format!("{rest}Z"),
        None => text.to_string(),
    };
    crate::base::time::parse_time(&normalized)
}

const NOT_A_TIME: Malformed = Malformed::NotATime("expiresAt", "a time");

/// A JSON object whose keys are matched case-insensitively, as aws-config does.
struct JsonObject(serde_json::Map<String, serde_json::Value>);

impl JsonObject {
    fn parse(bytes: &[u8]) -> Result<JsonObject, Malformed> {
        match serde_json::from_slice(bytes) {
            Ok(serde_json::Value::Object(map)) => Ok(JsonObject(map)),
            Ok(_) => Err(Malformed::NotAnObject),
            Err(_) => Err(Malformed::NotJson),
        }
    }

    fn required(&self, key: &'static str) -> Result<String, Malformed> {
        self.string(key).ok_or(Malformed::Missing(key))
    }

    fn get(&self, key: &str) -> Option<&serde_json::Value> {
        self.0.get(key).or_else(|| {
            self.0
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
    }

    fn string(&self, key: &str) -> Option<String> {
        self.get(key)?.as_str().map(str::to_string)
    }

    fn strings(&self, key: &str) -> Option<Vec<String>> {
        let items = self.get(key)?.as_array()?;
        Some(
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn token() -> Token {
        Token {
            start_url: "https://corp.awsapps.com/start".into(),
            region: "us-east-1".into(),
            access_token: Secret::new("at"),
            expires_at: at(1_790_000_000),
            client_id: Some("cid".into()),
            client_secret: Some(Secret::new("cs")),
            registration_expires_at: Some(at(1_797_776_000)),
            refresh_token: Some(Secret::new("rt")),
        }
    }

    #[test]
    fn token_file_is_botocores_bytes() {
        // json.dumps of botocore's dictionary, in its key order.
        assert_eq!(
            token().to_cli_json(),
            r#"{"startUrl": "https://corp.awsapps.com/start", "region": "us-east-1", "accessToken": "at", "expiresAt": "2026-09-21T14:13:20Z", "clientId": "cid", "clientSecret": "cs", "registrationExpiresAt": "2026-12-20T14:13:20Z", "refreshToken": "rt"}"#
        );
        assert_eq!(Token::parse(token().to_cli_json().as_bytes()), Ok(token()));
    }

    #[test]
    fn tokens_from_other_writers_parse() {
        let t =
            Token::parse(br#"{"AccessToken":"x","EXPIRESAT":"2019-11-14T04:05:45UTC"}"#).unwrap();
        assert_eq!(t.access_token.expose(), "x");
        assert_eq!(t.expires_at, at(1_573_704_345));
        assert!(t.refresh_parts(at(0)).is_none());
        assert!(Token::parse(b"[]").is_err());
        assert!(Token::parse(br#"{"accessToken":"x"}"#).is_err());
        let err = Token::parse(br#"{"accessToken":"sekrit","expiresAt":"soon"}"#).unwrap_err();
        assert_eq!(err.to_string(), "its expiresAt is not a time");
        let err = Token::parse(br#"{"accessToken":"x"}"#).unwrap_err();
        assert_eq!(err.to_string(), "it has no expiresAt");
    }

    #[test]
    fn freshness_and_refresh_rules() {
        let t = token();
        let exp = t.expires_at;
        assert!(t.is_fresh(exp - Duration::from_secs(16 * 60)));
        assert!(!t.is_fresh(exp - Duration::from_secs(14 * 60)));
        assert!(t.is_valid(exp - Duration::from_secs(1)));
        assert!(!t.is_valid(exp));
        assert!(t.refresh_parts(exp).is_some());
        assert!(
            t.refresh_parts(at(1_797_776_000)).is_none(),
            "registration expired"
        );
    }

    #[test]
    fn registrations_are_kept_per_flow() {
        let reg = Registration {
            client_id: "cid".into(),
            client_secret: Secret::new("cs"),
            expires_at: at(1_797_776_000),
            scopes: Some(vec!["sso:account:access".into()]),
            grant_types: Some(AUTH_CODE_GRANTS.iter().map(|s| s.to_string()).collect()),
        };
        assert_eq!(
            reg.to_cli_json(),
            r#"{"clientId": "cid", "clientSecret": "cs", "expiresAt": "2026-12-20T14:13:20Z", "scopes": ["sso:account:access"], "grantTypes": ["authorization_code", "refresh_token"]}"#
        );
        assert_eq!(
            Registration::parse(reg.to_cli_json().as_bytes()),
            Ok(reg.clone())
        );
        let now = at(1_790_000_000);
        assert!(reg.usable(now, true));
        assert!(!reg.usable(now, false));
        assert!(
            !reg.usable(at(1_797_776_000 - 600), true),
            "within 15 min of expiry"
        );
        let device = Registration {
            grant_types: None,
            ..reg
        };
        assert!(device.usable(now, false));
    }
}
