//! Auth tokens made locally from credentials, without a network call: the EKS bearer token
//! kubectl's exec plugin wants (as `aws eks get-token`), the RDS IAM database token (as
//! `aws rds generate-db-auth-token`) and the Aurora DSQL one (as `aws dsql
//! generate-db-connect-auth-token` / `generate-db-connect-admin-auth-token`).
//!
//! EKS tokens are cached ([`cache`]), so kubectl's call on every command costs a file read.

pub(crate) mod kubeconfig;

use crate::aws::presign::{self, Presign};
use crate::base::error::Problem;
use crate::base::time;
use crate::cache::Cache;
use crate::os::Context;
use crate::profile::Profiles;
use aws_credential_types::Credentials;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime};

/// What every EKS token starts with (aws-iam-authenticator's version 1).
pub(crate) const EKS_PREFIX: &str = "k8s-aws-v1.";
/// The header that binds an EKS token to one cluster.
pub(crate) const EKS_CLUSTER_HEADER: &str = "x-k8s-aws-id";
/// `X-Amz-Expires` of the EKS presigned URL, as the AWS CLI signs it. EKS ignores it and
/// accepts the URL for 15 minutes after its `X-Amz-Date`.
pub(crate) const EKS_URL_EXPIRES_SECS: u64 = 60;
/// The `expirationTimestamp` kubectl is told: 14 minutes, a minute inside EKS's 15.
pub(crate) const EKS_TOKEN_LIFETIME: Duration = Duration::from_secs(14 * 60);
/// A cached EKS token is handed out until this long before its expiration.
pub(crate) const CACHE_MARGIN: Duration = Duration::from_secs(60);
/// `X-Amz-Expires` of the RDS token (fixed, as botocore signs it) and DSQL's default.
pub(crate) const DB_TOKEN_EXPIRES_SECS: u64 = 900;

/// An EKS bearer token and until when kubectl may use it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct EksToken {
    pub token: String,
    pub expiration: SystemTime,
}

/// The token is a credential for the cluster: Debug never shows it.
impl std::fmt::Debug for EksToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EksToken")
            .field("expiration", &time::rfc3339(self.expiration))
            .finish_non_exhaustive()
    }
}

/// EKS cluster names (and the ids of local clusters on Outposts): a letter or digit, then
/// letters, digits, `-` and `_`, at most 100 characters (the EKS API's rule).
pub(crate) fn check_cluster(name: &str) -> Result<(), Problem> {
    let mut bytes = name.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric());
    let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if first_ok && rest_ok && name.len() <= 100 {
        return Ok(());
    }
    Err(Problem::usage(format!(
        "{} is not an EKS cluster name",
        crate::base::text::escape(name)
    ))
    .hint("cluster names start with a letter or digit and hold only letters, digits, - and _ (at most 100): aws-cred token eks --cluster prod"))
}

/// A database host name as RDS and DSQL endpoints have them: DNS labels of letters, digits and
/// `-`, separated by dots, at most 253 characters.
pub(crate) fn check_hostname(host: &str) -> Result<(), Problem> {
    let labels_ok = host.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    if !host.is_empty() && host.len() <= 253 && labels_ok {
        return Ok(());
    }
    let hint = if host.contains("://") || host.contains('/') {
        "give the host name alone, without a scheme or path"
    } else if host.contains(':') {
        "give the host name alone and the port with --port: --hostname mydb.abc123.eu-west-1.rds.amazonaws.com --port 5432"
    } else {
        "the database endpoint's host name, e.g. mydb.abc123.eu-west-1.rds.amazonaws.com"
    };
    Err(Problem::usage(format!(
        "{} is not a host name",
        crate::base::text::escape(host)
    ))
    .hint(hint))
}

/// A region name as it goes into a signature and a host name.
pub(crate) fn check_region(region: &str) -> Result<(), Problem> {
    if crate::base::text::is_region_name(region) {
        Ok(())
    } else {
        Err(Problem::usage(format!(
            "{} is not an AWS region name",
            crate::base::text::escape(region)
        ))
        .hint("regions look like us-east-1, eu-west-1, cn-north-1"))
    }
}

/// The region's STS host, the one botocore's STS client signs for (regional endpoints).
pub(crate) fn sts_host(region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else if region.starts_with("us-isob-") {
        "sc2s.sgov.gov"
    } else if region.starts_with("us-isof-") {
        "csp.hci.ic.gov"
    } else if region.starts_with("us-iso-") {
        "c2s.ic.gov"
    } else if region.starts_with("eu-isoe-") {
        "cloud.adc-e.uk"
    } else if region.starts_with("eusc-") {
        "amazonaws.eu"
    } else {
        "amazonaws.com"
    };
    format!("sts.{region}.{suffix}")
}

/// The EKS token for `cluster`: `k8s-aws-v1.` and the base64url (unpadded) of a presigned STS
/// GetCallerIdentity URL bound to the cluster by the `x-k8s-aws-id` header. It expires 14
/// minutes after signing, or when the credentials do, whichever is first.
pub(crate) fn eks(
    credentials: &Credentials,
    cluster: &str,
    region: &str,
    now: SystemTime,
) -> EksToken {
    use base64::Engine as _;
    let host = sts_host(region);
    let url = presign::presign(
        &Presign {
            authority: &host,
            params: &[("Action", "GetCallerIdentity"), ("Version", "2011-06-15")],
            headers: &[(EKS_CLUSTER_HEADER, cluster)],
            service: "sts",
            region,
            expires_secs: EKS_URL_EXPIRES_SECS,
            now,
        },
        credentials,
    );
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("https://{url}"));
    let mut expiration = now + EKS_TOKEN_LIFETIME;
    if let Some(expiry) = credentials.expiry() {
        expiration = expiration.min(expiry);
    }
    // Whole seconds, as kubectl is told.
    let secs = expiration
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    EksToken {
        token: format!("{EKS_PREFIX}{encoded}"),
        expiration: SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
    }
}

/// The RDS IAM authentication token for `user` at `host:port` (botocore's
/// `generate_db_auth_token`): `host:port/?Action=connect&DBUser=…&X-Amz-…`, valid 15 minutes.
pub(crate) fn rds(
    credentials: &Credentials,
    host: &str,
    port: u16,
    user: &str,
    region: &str,
    now: SystemTime,
) -> String {
    let authority = format!("{host}:{port}");
    presign::presign(
        &Presign {
            authority: &authority,
            params: &[("Action", "connect"), ("DBUser", user)],
            headers: &[],
            service: "rds-db",
            region,
            expires_secs: DB_TOKEN_EXPIRES_SECS,
            now,
        },
        credentials,
    )
}

/// The Aurora DSQL token for `host` (botocore's `generate_db_connect_auth_token`, or with
/// `admin` `generate_db_connect_admin_auth_token`): `host/?Action=DbConnect…`.
pub(crate) fn dsql(
    credentials: &Credentials,
    host: &str,
    admin: bool,
    region: &str,
    expires_secs: u64,
    now: SystemTime,
) -> String {
    let action = if admin { "DbConnectAdmin" } else { "DbConnect" };
    presign::presign(
        &Presign {
            authority: host,
            params: &[("Action", action)],
            headers: &[],
            service: "dsql",
            region,
            expires_secs,
            now,
        },
        credentials,
    )
}

/// The client authentication API versions kubectl may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ApiVersion {
    V1,
    V1Beta1,
    V1Alpha1,
}

impl ApiVersion {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V1 => "client.authentication.k8s.io/v1",
            ApiVersion::V1Beta1 => "client.authentication.k8s.io/v1beta1",
            ApiVersion::V1Alpha1 => "client.authentication.k8s.io/v1alpha1",
        }
    }

    /// The version `KUBERNETES_EXEC_INFO` asks for, as the AWS CLI reads it: v1 and v1beta1 as
    /// asked, v1alpha1 with a deprecation warning, v1beta1 (with a warning) when the variable
    /// is malformed or names another version, v1beta1 when it is unset. The warning is for
    /// stderr.
    pub(crate) fn from_exec_info(exec_info: Option<&str>) -> (ApiVersion, Option<String>) {
        let Some(raw) = exec_info.filter(|raw| !raw.is_empty()) else {
            return (ApiVersion::V1Beta1, None);
        };
        let fallback = ApiVersion::V1Beta1.as_str();
        let Ok(info) = serde_json::from_str::<serde_json::Value>(raw) else {
            return (
                ApiVersion::V1Beta1,
                Some(format!(
                    "KUBERNETES_EXEC_INFO is not JSON; answering {fallback} (update your Kubernetes client)"
                )),
            );
        };
        match info.get("apiVersion").and_then(|v| v.as_str()) {
            Some(v) if v == ApiVersion::V1.as_str() => (ApiVersion::V1, None),
            Some(v) if v == ApiVersion::V1Beta1.as_str() => (ApiVersion::V1Beta1, None),
            Some(v) if v == ApiVersion::V1Alpha1.as_str() => (
                ApiVersion::V1Alpha1,
                Some(format!(
                    "the kubeconfig user entry uses the deprecated {v}; run aws-cred token kubeconfig to update it"
                )),
            ),
            other => (
                ApiVersion::V1Beta1,
                Some(format!(
                    "KUBERNETES_EXEC_INFO asks for {}, which aws-cred does not know; answering {fallback}",
                    crate::base::text::escape(other.unwrap_or("no apiVersion"))
                )),
            ),
        }
    }
}

/// The cache of EKS tokens: `<aws-cred cache>/eks`, private to the user like every aws-cred
/// cache (a token is a credential for the cluster).
pub(crate) fn cache(ctx: &Context) -> Result<Cache, Problem> {
    let dir = ctx.cache_dir().ok_or_else(|| {
        Problem::usage("cannot find the home directory for the EKS token cache")
            .hint("set HOME or AWS_CRED_CACHE_DIR, or pass --no-cache")
    })?;
    Ok(Cache::new(dir.join("eks")))
}

/// What an EKS token is for: one entry per identity, cluster, region and role.
pub(crate) struct TokenFor<'a> {
    pub cluster: &'a str,
    pub region: &'a str,
    pub role_arn: Option<&'a str>,
}

/// The cache key of a token. The identity is everything the chain resolves credentials from,
/// taken without resolving them: the selected profile, both AWS files as they are now, and
/// every `AWS_*` variable (but the test clock). Any change to them is another identity (a new token, never
/// another identity's one); the key is a hash, so file names tell nothing.
pub(crate) fn cache_key(ctx: &Context, profiles: &Profiles, token: &TokenFor<'_>) -> String {
    let mut hasher = Sha256::new();
    let mut field = |name: &str, value: &[u8]| {
        hasher.update((name.len() as u64).to_le_bytes());
        hasher.update(name.as_bytes());
        hasher.update((value.len() as u64).to_le_bytes());
        hasher.update(value);
    };
    field("kind", b"eks-token-v1");
    field("cluster", token.cluster.as_bytes());
    field("region", token.region.as_bytes());
    field("role", token.role_arn.unwrap_or("").as_bytes());
    field("profile", profiles.selected.as_bytes());
    let [config, credentials] = profiles.file_texts();
    field("config", config.unwrap_or("").as_bytes());
    field("credentials", credentials.unwrap_or("").as_bytes());
    let mut vars: Vec<(&std::ffi::OsStr, &std::ffi::OsStr)> = ctx
        .vars_os()
        .filter(|(name, _)| {
            let name = name.as_encoded_bytes();
            // The test clock is not an identity.
            name.starts_with(b"AWS_") && !name.starts_with(b"AWS_CRED_TEST_")
        })
        .collect();
    vars.sort();
    for (name, value) in vars {
        field(
            &String::from_utf8_lossy(name.as_encoded_bytes()),
            value.as_encoded_bytes(),
        );
    }
    hex::encode(hasher.finalize())
}

#[derive(Serialize, Deserialize)]
struct CachedToken {
    token: String,
    expiration: String,
    signed_at: String,
}

/// A cached token still good at `now` for at least [`CACHE_MARGIN`], signed no later than now
/// (a clock set back never makes an old token look new).
pub(crate) fn cached(
    cache: &Cache,
    key: &str,
    now: SystemTime,
) -> Result<Option<EksToken>, Problem> {
    let Some(entry) = cache.read::<CachedToken>(key)? else {
        return Ok(None);
    };
    let (Some(expiration), Some(signed_at)) = (
        time::parse_time(&entry.expiration),
        time::parse_time(&entry.signed_at),
    ) else {
        return Ok(None);
    };
    let fresh = signed_at <= now
        && expiration <= signed_at + EKS_TOKEN_LIFETIME
        && now + CACHE_MARGIN < expiration;
    if !fresh || !entry.token.starts_with(EKS_PREFIX) {
        return Ok(None);
    }
    Ok(Some(EksToken {
        token: entry.token,
        expiration,
    }))
}

/// Keep a token for the next call. A token with less than [`CACHE_MARGIN`] left is not kept.
pub(crate) fn store(
    cache: &Cache,
    key: &str,
    token: &EksToken,
    now: SystemTime,
) -> anyhow::Result<()> {
    if now + CACHE_MARGIN >= token.expiration {
        return Ok(());
    }
    cache.write(
        key,
        &CachedToken {
            token: token.token.clone(),
            expiration: time::rfc3339(token.expiration),
            signed_at: time::rfc3339(now),
        },
    )
}

/// Forget every cached EKS token (`logout`: a token must not outlive the sessions it was made
/// from, and which ones those were is not in the hashed names); says how many went.
pub(crate) fn forget_all(ctx: &Context) -> anyhow::Result<usize> {
    let Ok(cache) = cache(ctx) else {
        return Ok(0);
    };
    let mut removed = 0;
    for key in cache.keys()? {
        if cache.remove_entry(&key)? {
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn keys(expiry: Option<SystemTime>) -> Credentials {
        Credentials::new("AKIDEXAMPLE", "secret", None, expiry, "test")
    }

    #[test]
    fn cluster_names_follow_the_eks_rule() {
        for good in [
            "prod",
            "a",
            "my_cluster-2",
            "0a1b2c3d-aaaa-bbbb-cccc-0123456789ab",
        ] {
            assert!(check_cluster(good).is_ok(), "{good}");
        }
        for bad in ["", "-x", "_x", "a b", "a/b", "a.b", "ü", &"x".repeat(101)] {
            let err = check_cluster(bad).unwrap_err();
            assert_eq!(err.exit, crate::base::error::Exit::Usage, "{bad}");
        }
    }

    #[test]
    fn host_names_are_dns_names_and_a_port_gets_its_own_hint() {
        assert!(check_hostname("mydb.abc.eu-west-1.rds.amazonaws.com").is_ok());
        assert!(check_hostname("Cluster1.dsql.us-east-1.on.aws").is_ok());
        for bad in ["", "a..b", "-a.b", "a b", "a/b", "a?b", "a@b", "a#b"] {
            assert!(check_hostname(bad).is_err(), "{bad}");
        }
        let err = check_hostname("db.example.com:5432").unwrap_err();
        assert!(err.hint.unwrap().contains("--port"));
        let err = check_hostname("https://db.example.com").unwrap_err();
        assert!(err.hint.unwrap().contains("scheme"));
    }

    #[test]
    fn sts_hosts_follow_the_partition() {
        assert_eq!(sts_host("us-east-1"), "sts.us-east-1.amazonaws.com");
        assert_eq!(sts_host("cn-north-1"), "sts.cn-north-1.amazonaws.com.cn");
        assert_eq!(sts_host("us-gov-west-1"), "sts.us-gov-west-1.amazonaws.com");
        assert_eq!(sts_host("us-iso-east-1"), "sts.us-iso-east-1.c2s.ic.gov");
        assert_eq!(
            sts_host("us-isob-east-1"),
            "sts.us-isob-east-1.sc2s.sgov.gov"
        );
        assert_eq!(
            sts_host("eusc-de-east-1"),
            "sts.eusc-de-east-1.amazonaws.eu"
        );
    }

    #[test]
    fn eks_token_is_a_presigned_get_caller_identity_url() {
        use base64::Engine as _;
        let token = eks(&keys(None), "prod", "eu-west-1", at(1_700_000_000));
        let encoded = token.token.strip_prefix(EKS_PREFIX).unwrap();
        assert!(!encoded.contains('='), "unpadded");
        let url = String::from_utf8(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(encoded)
                .unwrap(),
        )
        .unwrap();
        assert!(
            url.starts_with("https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&"),
            "{url}"
        );
        assert!(url.contains("&X-Amz-Expires=60&"), "{url}");
        assert!(
            url.contains("&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&"),
            "{url}"
        );
        assert_eq!(token.expiration, at(1_700_000_000 + 14 * 60));
    }

    #[test]
    fn eks_token_never_outlives_its_credentials() {
        let token = eks(
            &keys(Some(at(1_700_000_300))),
            "prod",
            "us-east-1",
            at(1_700_000_000),
        );
        assert_eq!(token.expiration, at(1_700_000_300));
    }

    #[test]
    fn db_tokens_have_their_actions_and_no_scheme() {
        let rds = rds(
            &keys(None),
            "db.example.com",
            5432,
            "app",
            "us-east-1",
            at(0),
        );
        assert!(
            rds.starts_with("db.example.com:5432/?Action=connect&DBUser=app&X-Amz-"),
            "{rds}"
        );
        assert!(rds.contains("&X-Amz-Expires=900&"));
        let dsql_user = dsql(
            &keys(None),
            "c.dsql.us-east-1.on.aws",
            false,
            "us-east-1",
            900,
            at(0),
        );
        assert!(dsql_user.starts_with("c.dsql.us-east-1.on.aws/?Action=DbConnect&X-Amz-"));
        let dsql_admin = dsql(
            &keys(None),
            "c.dsql.us-east-1.on.aws",
            true,
            "us-east-1",
            60,
            at(0),
        );
        assert!(dsql_admin.starts_with("c.dsql.us-east-1.on.aws/?Action=DbConnectAdmin&X-Amz-"));
        assert!(dsql_admin.contains("&X-Amz-Expires=60&"));
    }

    #[test]
    fn exec_info_is_read_as_the_aws_cli_reads_it() {
        let v = |raw: Option<&str>| ApiVersion::from_exec_info(raw);
        assert_eq!(v(None), (ApiVersion::V1Beta1, None));
        assert_eq!(v(Some("")), (ApiVersion::V1Beta1, None));
        let info = |version: &str| {
            format!(
                r#"{{"kind":"ExecCredential","apiVersion":"{version}","spec":{{"interactive":false}}}}"#
            )
        };
        assert_eq!(
            v(Some(&info("client.authentication.k8s.io/v1"))).0,
            ApiVersion::V1
        );
        assert_eq!(
            v(Some(&info("client.authentication.k8s.io/v1beta1"))),
            (ApiVersion::V1Beta1, None)
        );
        let (version, warning) = v(Some(&info("client.authentication.k8s.io/v1alpha1")));
        assert_eq!(version, ApiVersion::V1Alpha1);
        assert!(warning.unwrap().contains("deprecated"));
        let (version, warning) = v(Some(&info("client.authentication.k8s.io/v2")));
        assert_eq!(version, ApiVersion::V1Beta1);
        assert!(warning.unwrap().contains("v2"));
        let (version, warning) = v(Some("{not json"));
        assert_eq!(version, ApiVersion::V1Beta1);
        assert!(warning.is_some());
    }

    #[test]
    fn a_cached_token_is_used_only_while_fresh() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().join("eks"));
        let now = at(1_700_000_000);
        let token = eks(&keys(None), "prod", "us-east-1", now);
        store(&cache, "k", &token, now).unwrap();
        assert_eq!(cached(&cache, "k", now).unwrap(), Some(token.clone()));
        let later = now + EKS_TOKEN_LIFETIME - CACHE_MARGIN - Duration::from_secs(1);
        assert!(cached(&cache, "k", later).unwrap().is_some());
        assert!(
            cached(&cache, "k", later + Duration::from_secs(1))
                .unwrap()
                .is_none()
        );
        assert!(
            cached(&cache, "k", now - Duration::from_secs(1))
                .unwrap()
                .is_none(),
            "clock set back"
        );
        assert!(cached(&cache, "other", now).unwrap().is_none());

        // A token about to end with its credentials is not kept at all.
        let short = eks(
            &keys(Some(now + Duration::from_secs(30))),
            "prod",
            "us-east-1",
            now,
        );
        store(&cache, "short", &short, now).unwrap();
        assert!(cached(&cache, "short", now).unwrap().is_none());
    }

    #[test]
    fn the_cache_key_changes_with_every_input() {
        let profiles = |config: &str| Profiles::from_text(config, "", "default");
        let ctx = |vars: &[(&str, &str)]| Context::with_env(vars.iter().copied());
        let base_ctx = ctx(&[("AWS_PROFILE", "a"), ("HOME", "/h")]);
        let base_profiles = profiles("[profile a]\nregion = us-east-1\n");
        let target = TokenFor {
            cluster: "prod",
            region: "us-east-1",
            role_arn: None,
        };
        let reference = cache_key(&base_ctx, &base_profiles, &target);
        assert_eq!(reference, cache_key(&base_ctx, &base_profiles, &target));
        assert_eq!(
            reference,
            cache_key(
                &ctx(&[("AWS_PROFILE", "a"), ("HOME", "/elsewhere")]),
                &base_profiles,
                &target
            ),
            "a variable outside AWS_* does not matter"
        );
        let others = [
            cache_key(
                &ctx(&[("AWS_PROFILE", "b"), ("HOME", "/h")]),
                &base_profiles,
                &target,
            ),
            cache_key(
                &ctx(&[("AWS_PROFILE", "a"), ("AWS_ACCESS_KEY_ID", "AKID")]),
                &base_profiles,
                &target,
            ),
            cache_key(
                &base_ctx,
                &profiles("[profile a]\nregion = us-east-2\n"),
                &target,
            ),
            cache_key(
                &base_ctx,
                &base_profiles,
                &TokenFor {
                    cluster: "dev",
                    ..target
                },
            ),
            cache_key(
                &base_ctx,
                &base_profiles,
                &TokenFor {
                    region: "eu-west-1",
                    ..target
                },
            ),
            cache_key(
                &base_ctx,
                &base_profiles,
                &TokenFor {
                    role_arn: Some("arn:aws:iam::1:role/r"),
                    ..target
                },
            ),
        ];
        for other in others {
            assert_ne!(other, reference);
        }
    }
}
