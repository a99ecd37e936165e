//! `aws-cred export`: resolve through the chain and print or write the credentials.

use super::{Setup, emit};
use crate::cli::ExportArgs;
use crate::output;

/// `export --unset`: lines that clear the credential variables. It needs no configuration, so
/// it runs before (and whatever) the files say.
pub(crate) fn unset(args: &ExportArgs, ctx: &crate::os::Context) -> anyhow::Result<()> {
    let format = output::Format::or_native(args.output.format, ctx);
    super::refuse_forgotten_eval(ctx, format, args.output.print)?;
    emit(&output::render_unset(format))
}

/// Lines for a shell with stdout on the terminal: refused before anything is resolved (no MFA
/// prompt, no call, no picker for credentials that would not be printed).
pub(crate) fn refuse_forgotten_eval(setup: &Setup, args: &ExportArgs) -> anyhow::Result<()> {
    if args.output.write_profile.is_some() {
        return Ok(());
    }
    let format = output::Format::or_native(args.output.format, &setup.ctx);
    super::refuse_forgotten_eval(&setup.ctx, format, args.output.print)
}

pub(crate) async fn run(setup: &Setup, args: &ExportArgs) -> anyhow::Result<()> {
    if args.unset {
        return unset(args, &setup.ctx);
    }
    refuse_forgotten_eval(setup, args)?;
    let resolution = setup.resolve(args.explain).await?;
    super::warn_if_expiring(setup, &resolution.credentials);
    super::deliver_credentials(setup, (&args.output).into(), &resolution.credentials)
}
