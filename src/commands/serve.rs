//! `aws-cred serve`: the credential server on its own, until Ctrl-C or SIGTERM.

use super::{Setup, emit};
use crate::base::error::Problem;
use crate::cli::ServeArgs;
use crate::output;
use crate::server::{self, Options};
use std::sync::Arc;

pub(crate) async fn run(setup: &Setup, args: &ServeArgs) -> anyhow::Result<()> {
    let options = Options {
        listen: args.listen,
        port: args.port,
        verbose: args.verbose,
    };
    let session = Arc::new(setup.session());
    let endpoint = server::start(&setup.ctx, &setup.profiles, &session, &options).await?;
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
