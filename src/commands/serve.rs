//! `aws-cred serve`: the credential server on its own, until Ctrl-C or SIGTERM; and
//! [`start`], which `exec --server` shares.

use super::{Setup, emit};
use crate::base::error::{Exit, Problem, classify};
use crate::chain::Session;
use crate::cli::ServeArgs;
use crate::output;
use crate::server::{self, Endpoint, Options};
use std::sync::Arc;

pub(crate) async fn run(setup: &Setup, args: &ServeArgs) -> anyhow::Result<()> {
    let options = Options {
        listen: args.listen,
        port: args.port,
        verbose: args.verbose,
    };
    let (endpoint, session) = start(setup, &options).await?;
    let variables = server::variables(&endpoint, setup.region.as_ref().map(|r| r.name.as_str()));
    let text = output::render_variables(
        output::Format::or_native(args.format, &setup.ctx),
        &variables,
    )
    .map_err(|err| Problem::usage(err.to_string()))?;
    emit(&text)?;
    eprintln!(
        "aws-cred: serving credentials at {} until Ctrl-C (the token is on stdout only)",
        endpoint.url()
    );
    let stop = async {
        if crate::os::child::interrupted_or_terminated().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    endpoint.serve(session, stop).await?;
    eprintln!("aws-cred: server stopped");
    Ok(())
}

/// Check the source once, then bind. A source that needs a person (an expired MFA session)
/// does not stop the start: the endpoint answers with the fix until it is done. Any other
/// failure does, as do long-term keys, which SDKs cannot take from a container endpoint.
pub(crate) async fn start(
    setup: &Setup,
    options: &Options,
) -> anyhow::Result<(Endpoint, Arc<Session>)> {
    if let Some(addr) = options.listen
        && !addr.ip().is_loopback()
    {
        eprintln!(
            "WARNING: --listen {addr}: the credential server is reachable beyond this machine's loopback.\n\
             WARNING: anyone who can reach {addr} and learns the token gets your AWS credentials.\n\
             WARNING: use it only on a network you control (a Docker bridge), never on a public interface."
        );
    }
    warn_if_default_profile_has_credentials(setup);
    let session = Arc::new(setup.session());
    match session.credentials(setup.ctx.now()).await {
        Ok(resolution) if resolution.credentials.session_token().is_none() => {
            return Err(
                Problem::usage(server::long_term_refused(&resolution.location).message)
                    .hint("SDKs require a session token from a container endpoint; aws-cred exec (without --server) passes long-term keys")
                    .into(),
            );
        }
        Ok(resolution) => {
            if options.verbose {
                eprintln!(
                    "aws-cred: credentials from {}{}",
                    resolution.location,
                    crate::base::time::valid_until(setup.ctx.now(), &resolution.credentials)
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
    let endpoint = Endpoint::bind(options).await?;
    Ok((endpoint, session))
}

/// SDKs look at the `[default]` profile before container credentials: one that holds
/// credentials wins over the endpoint in every client that does not name a profile.
fn warn_if_default_profile_has_credentials(setup: &Setup) {
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
        .find(|key| setup.profiles.get("default", key).is_some())
    {
        eprintln!(
            "warning: the [default] profile has {key} ({}): SDKs use it before the credential server;\n\
             warning: clients that name no profile will not use the server. Move those settings to a named profile.",
            setup.profiles.defining_file("default").display()
        );
    }
}
