//! Cognito: user pool sign-in (SRP, password, admin) and identity pool credentials, with a
//! token cache per (user pool, app client, user) so a script signs in once.

pub(crate) mod identity_pool;
pub(crate) mod obtain;
pub(crate) mod session;
pub(crate) mod settings;
pub(crate) mod srp;
pub(crate) mod user_pool;

pub(crate) use settings::{Flags, Settings};

use crate::base::error::Problem;
use crate::base::secret::Secret;
use crate::base::validity::Validity;
use crate::cache::Cache;
use crate::os::Context;
use aws_credential_types::Credentials;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// Cached ID tokens are reused while at least this much validity remains; cached AWS
/// credentials likewise.
pub(crate) const REUSE_MARGIN: Duration = Duration::from_secs(300);

/// What a sign-in may need to ask the person (or read from flags and variables).
#[allow(async_fn_in_trait)]
pub(crate) trait Asker {
    async fn password(&mut self) -> anyhow::Result<Secret>;
    async fn new_password(&mut self) -> anyhow::Result<Secret>;
    async fn mfa_code(
        &mut self,
        kind: MfaKind,
        destination: Option<&str>,
    ) -> anyhow::Result<String>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MfaKind {
    Totp,
    Sms,
}

/// A user pool sign-in's tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Tokens {
    pub id_token: Secret,
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    /// When the ID token expires (RFC 3339).
    pub expiration: String,
    /// `cognito:username`: what challenge answers and refreshes are hashed with.
    pub internal_username: String,
    pub sub: Option<String>,
}

impl Tokens {
    pub(crate) fn expiry(&self) -> Option<SystemTime> {
        crate::base::time::parse_time(&self.expiration)
    }

    pub(crate) fn valid_for(&self, now: SystemTime, margin: Duration) -> bool {
        self.expiry().is_some_and(|t| t > now + margin)
    }
}

/// The few claims we read from a JWT's payload (not verified: Cognito just gave it to us over
/// TLS, and we only use it to know when it expires and whom it names).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Claims {
    pub exp: Option<u64>,
    pub sub: Option<String>,
    #[serde(rename = "cognito:username")]
    pub username: Option<String>,
}

pub(crate) fn jwt_claims(token: &str) -> Option<Claims> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// AWS credentials from an identity pool, as cached.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CachedCredentials {
    pub identity_pool_id: String,
    pub role_arn: Option<String>,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
    pub expiration: String,
}

impl CachedCredentials {
    pub(crate) fn from_credentials(
        identity_pool_id: &str,
        role_arn: Option<&str>,
        creds: &Credentials,
    ) -> Option<Self> {
        Some(CachedCredentials {
            identity_pool_id: identity_pool_id.to_string(),
            role_arn: role_arn.map(str::to_string),
            access_key_id: creds.access_key_id().to_string(),
            secret_access_key: Secret::new(creds.secret_access_key()),
            session_token: creds.session_token().map(Secret::new),
            expiration: crate::base::time::rfc3339(creds.expiry()?),
        })
    }

    pub(crate) fn credentials(&self) -> Option<Credentials> {
        let mut builder = Credentials::builder()
            .access_key_id(&self.access_key_id)
            .secret_access_key(self.secret_access_key.expose())
            .provider_name(crate::base::PROVIDER)
            .expiry(crate::base::time::parse_time(&self.expiration)?);
        builder.set_session_token(self.session_token.as_ref().map(|s| s.expose().to_string()));
        Some(builder.build())
    }

    pub(crate) fn matches(&self, identity_pool_id: &str, role_arn: Option<&str>) -> bool {
        self.identity_pool_id == identity_pool_id && self.role_arn.as_deref() == role_arn
    }
}

/// One cache file: a user's tokens (none for guests), identity ids per identity pool, and the
/// last AWS credentials.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub version: u32,
    pub user_pool_id: Option<String>,
    pub client_id: Option<String>,
    pub username: Option<String>,
    pub tokens: Option<Tokens>,
    /// Identity pool id → identity id, so GetId is not repeated.
    #[serde(default)]
    pub identities: BTreeMap<String, String>,
    pub credentials: Option<CachedCredentials>,
}

pub(crate) const ENTRY_VERSION: u32 = 1;

pub(crate) fn cache(ctx: &Context) -> anyhow::Result<Cache> {
    let dir = ctx.cache_dir().ok_or_else(|| {
        Problem::usage("cannot find the home directory for the Cognito token cache")
            .hint("set HOME or AWS_CRED_CACHE_DIR")
    })?;
    Ok(Cache::new(dir.join("cognito")))
}

fn sha256_hex(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}

/// The file for a user: SHA-256 of (user pool, app client, user name), so file names reveal
/// neither the user nor the pool.
pub(crate) fn user_key(user_pool_id: &str, client_id: &str, username: &str) -> String {
    sha256_hex(&["user", user_pool_id, client_id, username])
}

/// The file for guests of an identity pool.
pub(crate) fn guest_key(identity_pool_id: &str) -> String {
    sha256_hex(&["guest", identity_pool_id])
}

/// One cached sign-in, for `status` and `logout`: no token, only whom and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SignIn {
    /// The cache entry's key (its file is `<key>.json`).
    pub key: String,
    pub user_pool_id: Option<String>,
    pub client_id: Option<String>,
    /// `None` for an identity pool's guests.
    pub username: Option<String>,
    pub identity_pools: Vec<String>,
    /// The user pool tokens: valid, refreshable (expired with a refresh token), expired.
    pub tokens: Option<Validity>,
    /// The last AWS credentials from the identity pool.
    pub credentials: Option<Validity>,
}

/// Every cached sign-in, in file order; an unreadable entry is listed as such.
pub(crate) fn sign_ins(ctx: &Context) -> anyhow::Result<Vec<SignIn>> {
    let cache = cache(ctx)?;
    let now = ctx.now();
    let mut out = Vec::new();
    for key in cache.keys()? {
        let Ok(Some(entry)) = cache.read::<Entry>(&key) else {
            out.push(SignIn {
                key,
                user_pool_id: None,
                client_id: None,
                username: None,
                identity_pools: Vec::new(),
                tokens: Some(Validity::Unusable("the cache entry cannot be read".into())),
                credentials: None,
            });
            continue;
        };
        let tokens = entry.tokens.as_ref().map(|tokens| match tokens.expiry() {
            None => Validity::Unusable("no expiry".into()),
            Some(at) if at > now => Validity::Valid { until: at },
            Some(at) if tokens.refresh_token.is_some() => Validity::Refreshable { expired: at },
            Some(at) => Validity::Expired { at },
        });
        let credentials = entry.credentials.as_ref().map(|c| {
            match crate::base::time::parse_time(&c.expiration) {
                Some(at) => Validity::from_expiry(now, at),
                None => Validity::Unusable("no expiry".into()),
            }
        });
        let mut identity_pools: Vec<String> = entry.identities.keys().cloned().collect();
        if let Some(c) = &entry.credentials
            && !identity_pools.contains(&c.identity_pool_id)
        {
            identity_pools.push(c.identity_pool_id.clone());
        }
        out.push(SignIn {
            key,
            user_pool_id: entry.user_pool_id,
            client_id: entry.client_id,
            username: entry.username,
            identity_pools,
            tokens,
            credentials,
        });
    }
    Ok(out)
}

/// Remove one cached sign-in (`logout`); `Ok(false)` when it was gone already.
pub(crate) fn remove_sign_in(ctx: &Context, key: &str) -> anyhow::Result<bool> {
    cache(ctx)?.remove_entry(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_from_a_jwt_payload() {
        // header.payload.signature with payload {"exp":1795370400,"sub":"u-1","cognito:username":"alice"}
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"exp":1795370400,"sub":"u-1","cognito:username":"alice"}"#);
        let token = format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln");
        let claims = jwt_claims(&token).unwrap();
        assert_eq!(claims.exp, Some(1_795_370_400));
        assert_eq!(claims.sub.as_deref(), Some("u-1"));
        assert_eq!(claims.username.as_deref(), Some("alice"));
        assert!(jwt_claims("not-a-jwt").is_none());
    }

    #[test]
    fn keys_differ_per_user_and_hide_names() {
        let a = user_key("us-east-1_P", "c", "alice");
        let b = user_key("us-east-1_P", "c", "bob");
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(!a.contains("alice"));
        assert_ne!(guest_key("us-east-1:1"), guest_key("us-east-1:2"));
    }

    #[test]
    fn debug_of_an_entry_shows_no_secret() {
        let entry = Entry {
            tokens: Some(Tokens {
                id_token: Secret::new("ID-TOKEN-VALUE"),
                access_token: Secret::new("ACCESS-TOKEN-VALUE"),
                refresh_token: Some(Secret::new("REFRESH-TOKEN-VALUE")),
                expiration: "2026-11-22T18:00:00Z".into(),
                internal_username: "alice".into(),
                sub: None,
            }),
            ..Default::default()
        };
        let text = format!("{entry:?}");
        assert!(!text.contains("TOKEN-VALUE"), "{text}");
    }
}
