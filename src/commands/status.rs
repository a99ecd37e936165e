//! `aws-cred status`: every profile with its kind and the state of what it depends on, from
//! the files and caches alone (`--check` asks AWS); `--profile P` shows one in detail.

use super::{Setup, emit};
use crate::base::error::{Problem, first_line};
use crate::chain::inspect::Inspector;
use crate::chain::{self, Step};
use crate::cli::StatusArgs;
use crate::output::status::{self, ProfileRow, Report};
use crate::profile::Selection;
use crate::settings;

pub async fn run(setup: &Setup, args: &StatusArgs) -> anyhow::Result<()> {
    let ctx = &setup.ctx;
    let profiles = &setup.profiles;
    let detail = profiles.selection == Selection::Flag;
    let names: Vec<&str> = if detail {
        let name = profiles.selected.as_str();
        if profiles.set.get_profile(name).is_none() {
            return Err(Problem::usage(format!("there is no profile {name:?}"))
                .hint("aws-cred status lists every profile")
                .into());
        }
        vec![name]
    } else {
        profiles.names()
    };
    let mut inspector = Inspector::new(ctx, profiles, settings::login_cache_dir(ctx));
    let mut rows = Vec::with_capacity(names.len());
    for name in names {
        let files = inspector.files_of(name);
        let region = profiles.get(name, "region").map(str::to_string);
        let check = match args.check {
            true => Some(check(setup, name, region.as_deref()).await),
            false => None,
        };
        rows.push(ProfileRow {
            name: name.to_string(),
            files,
            region,
            inspection: inspector.inspect(name),
            check,
        });
    }
    let cognito = match detail {
        true => Vec::new(),
        false => crate::cognito::sign_ins(ctx).unwrap_or_default(),
    };
    let report = Report {
        now: ctx.now(),
        profiles: rows,
        cognito,
    };
    let colour = settings::colour(ctx);
    let text = match (args.json, detail) {
        (true, _) => status::render_json(&report, detail)?,
        (false, true) => status::render_detail(&report, colour),
        (false, false) => status::render_table(&report, colour),
    };
    emit(&text)
}

/// `--check`: resolve the profile as the chain's profile link would, then GetCallerIdentity.
async fn check(setup: &Setup, name: &str, region: Option<&str>) -> Result<String, String> {
    let one = setup.profiles.with_selected(name);
    let region = region.or(setup.region.as_ref().map(|r| r.name.as_str()));
    let req = chain::Request {
        ctx: &setup.ctx,
        profiles: &one,
        aws: &setup.aws,
        region,
    };
    let found = match chain::profile::resolve(&req).await {
        Ok(Step::Found(found)) => found,
        Ok(Step::Skip(reason)) => return Err(reason),
        Err(err) => return Err(first_line(&err)),
    };
    crate::aws::sts::get_caller_identity(&setup.aws, req.sts_region(), found.credentials)
        .await
        .map(|identity| identity.arn)
        .map_err(|err| first_line(&err))
}
