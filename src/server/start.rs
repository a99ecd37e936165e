//! Starting the credential server, as `serve` and `exec --server` both do: warn about what
//! would keep clients from it, check the source once, then bind.

use super::{Endpoint, Options};
use crate::base::error::{Exit, Problem, classify};
use crate::chain::Session;
use crate::os::Context;
use crate::profile::Profiles;

/// Check the source once, then bind. A source that needs a person (an expired MFA session)
/// does not stop the start: the endpoint answers with the fix until it is done. Any other
/// failure does, as do long-term keys, which SDKs cannot take from a container endpoint.
pub(crate) async fn start(
    ctx: &Context,
    profiles: &Profiles,
    session: &Session,
    options: &Options,
) -> anyhow::Result<Endpoint> {
    if let Some(addr) = options.listen
        && !addr.ip().is_loopback()
    {
        eprintln!(
            "WARNING: --listen {addr}: the credential server is reachable beyond this machine's loopback.\n\
             WARNING: anyone who can reach {addr} and learns the token gets your AWS credentials.\n\
             WARNING: use it only on a network you control (a Docker bridge), never on a public interface."
        );
    }
    warn_if_default_profile_has_credentials(profiles);
    match session.credentials(ctx.now()).await {
        Ok(resolution) if resolution.credentials.session_token().is_none() => {
            return Err(
                Problem::usage(super::long_term_refused(&resolution.location).message)
                    .hint("SDKs require a session token from a container endpoint; aws-cred exec (without --server) passes long-term keys")
                    .into(),
            );
        }
        Ok(resolution) => {
            if options.verbose {
                eprintln!(
                    "aws-cred: credentials from {}{}",
                    resolution.location,
                    crate::base::time::valid_until(ctx.now(), &resolution.credentials)
                );
            }
        }
        Err(failure) if classify(&failure.error).0 == Exit::Expired => {
            eprint!("{}", crate::base::error::render(&failure.error));
            eprintln!(
                "aws-cred: serving anyway; requests get this error until it is fixed (no restart needed)"
            );
        }
        Err(failure) => return Err(failure.error),
    }
    Endpoint::bind(options).await
}

/// SDKs look at the `[default]` profile before container credentials: one that holds
/// credentials wins over the endpoint in every client that does not name a profile.
fn warn_if_default_profile_has_credentials(profiles: &Profiles) {
    const KEYS: [&str; 7] = [
        "aws_access_key_id",
        "role_arn",
        "credential_process",
        "sso_session",
        "sso_start_url",
        "web_identity_token_file",
        "credential_source",
    ];
    if let Some(key) = KEYS
        .iter()
        .find(|key| profiles.get("default", key).is_some())
    {
        eprintln!(
            "warning: the [default] profile has {key} ({}): SDKs use it before the credential server;\n\
             warning: clients that name no profile will not use the server. Move those settings to a named profile.",
            profiles.defining_file("default").display()
        );
    }
}
