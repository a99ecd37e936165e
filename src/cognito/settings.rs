//! What a Cognito sign-in needs, resolved and checked before the network is touched: each
//! setting from its flag, then its variable, then the profile's `cognito_*` key
//! ([`crate::settings`] declares them), as uv's `*Settings::resolve` does.

use super::identity_pool::IdentityPool;
use super::user_pool::{Flow, PoolClient};
use crate::base::error::Problem;
use crate::base::secret::Secret;
use crate::os::Context;
use crate::profile::Profiles;
use crate::settings::{self, Setting, Value};

/// The settings given on the command line; `Default` is none (every setting from its variable
/// or the profile).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Flags<'a> {
    /// The user to sign in as; `None` for guests.
    pub user: Option<&'a str>,
    pub user_pool_id: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub client_secret: Option<&'a Secret>,
    pub identity_pool_id: Option<&'a str>,
    pub auth_flow: Option<Flow>,
    pub role_arn: Option<&'a str>,
    /// Guest credentials from the identity pool: no user pool, no sign-in.
    pub unauthenticated: bool,
}

/// Everything checked before the network is touched.
pub(crate) struct Settings {
    /// The user pool and its app client; `None` for guests.
    pub pool: Option<PoolClient>,
    /// The user name, trimmed (empty for guests).
    pub username: String,
    pub identity_pool: IdentityPool,
    pub flow: Flow,
    pub role_arn: Option<Value>,
}

impl Settings {
    /// The settings for `flags` in the selected profile; a usage error names the setting, where
    /// its value came from, and what it should look like.
    pub(crate) fn resolve(
        ctx: &Context,
        profiles: &Profiles,
        flags: &Flags<'_>,
    ) -> Result<Settings, Problem> {
        if let Some(missing) = profiles.no_such_profile() {
            return Err(missing);
        }
        if let Some(user) = flags.user
            && user.trim().is_empty()
        {
            return Err(Problem::usage("--user needs a name"));
        }
        let pick =
            |setting: &Setting, flag: Option<&str>| setting.resolve(flag, ctx, Some(profiles));
        let identity_pool = identity_pool(
            profiles,
            pick(&settings::COGNITO_IDENTITY_POOL_ID, flags.identity_pool_id),
        )?;
        let role_arn = role_arn(pick(&settings::COGNITO_ROLE_ARN, flags.role_arn))?;
        let flow = match flags.auth_flow {
            Some(flow) => flow,
            None => flow(pick(&settings::COGNITO_AUTH_FLOW, None))?,
        };
        let pool = if flags.unauthenticated {
            None
        } else {
            Some(pool_client(profiles, &pick, flags)?)
        };
        Ok(Settings {
            pool,
            username: flags.user.unwrap_or_default().trim().to_string(),
            identity_pool,
            flow,
            role_arn,
        })
    }
}

fn identity_pool(profiles: &Profiles, found: Option<Value>) -> Result<IdentityPool, Problem> {
    let identity = found.ok_or_else(|| settings::COGNITO_IDENTITY_POOL_ID.missing(profiles))?;
    IdentityPool::parse(&identity.value).ok_or_else(|| {
        Problem::usage(format!(
            "identity pool id {:?} (from {}) is not REGION:UUID",
            identity.value, identity.source
        ))
        .hint("it looks like ap-northeast-1:1f392b6a-751d-4760-8849-5924149f8e67 (Cognito console: identity pool > Identity pool ID)")
    })
}

fn role_arn(found: Option<Value>) -> Result<Option<Value>, Problem> {
    if let Some(role) = &found
        && !(role.value.starts_with("arn:") && role.value.contains(":role/"))
    {
        return Err(Problem::usage(format!(
            "{:?} (from {}) is not a role ARN",
            role.value, role.source
        ))
        .hint("it looks like arn:aws:iam::123456789012:role/NAME"));
    }
    Ok(found)
}

/// The auth flow from the variable or the profile (the flag is taken as it is); SRP when unset.
fn flow(found: Option<Value>) -> Result<Flow, Problem> {
    match found {
        None => Ok(Flow::Srp),
        Some(setting) => Flow::from_name(&setting.value).ok_or_else(|| {
            Problem::usage(format!(
                "auth flow {:?} (from {}) is not srp, password or admin",
                setting.value, setting.source
            ))
        }),
    }
}

/// The user pool and its app client (id, and secret when the client has one).
fn pool_client(
    profiles: &Profiles,
    pick: &impl Fn(&Setting, Option<&str>) -> Option<Value>,
    flags: &Flags<'_>,
) -> Result<PoolClient, Problem> {
    let pool_id = pick(&settings::COGNITO_USER_POOL_ID, flags.user_pool_id)
        .ok_or_else(|| settings::COGNITO_USER_POOL_ID.missing(profiles))?;
    let (region, pool_name) = PoolClient::parse_pool_id(&pool_id.value).ok_or_else(|| {
        Problem::usage(format!(
            "user pool id {:?} (from {}) is not REGION_ID",
            pool_id.value, pool_id.source
        ))
        .hint("it looks like ap-northeast-1_AbCdEf123 (Cognito console: user pool > User pool ID)")
    })?;
    let client_id = pick(&settings::COGNITO_CLIENT_ID, flags.client_id)
        .ok_or_else(|| settings::COGNITO_CLIENT_ID.missing(profiles))?;
    if !client_id
        .value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'_')
    {
        return Err(Problem::usage(format!(
            "app client id {:?} (from {}) has characters Cognito client ids never have",
            client_id.value, client_id.source
        ))
        .hint("copy it from the user pool's App clients page (letters and digits, about 26 characters)"));
    }
    // Secrets are taken as they are (no trimming beyond blank = absent).
    let secret = pick(
        &settings::COGNITO_CLIENT_SECRET,
        flags.client_secret.map(Secret::expose),
    );
    let (client_secret, secret_origin) = match secret {
        Some(found) => (
            Some(Secret::new(found.value)),
            Some(found.source.to_string()),
        ),
        None => (None, None),
    };
    Ok(PoolClient {
        user_pool_id: pool_id.value,
        region,
        pool_name,
        client_id: client_id.value,
        client_secret,
        secret_origin,
    })
}
