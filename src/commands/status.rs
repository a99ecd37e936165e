//! `aws-cred status`: every profile with its kind and the state of what it depends on, from
//! the files and caches alone (`--check` asks AWS); `--profile P` shows one in detail.
//!
//! Every profile is read a batch at a time ([`Profiles::batches`]) and, with `--json`, written
//! as it is inspected: a 10,000-profile config never sits parsed in memory at once.

use super::{Setup, Stream, emit};
use crate::base::error::{Problem, first_line};
use crate::chain::inspect::Inspector;
use crate::chain::{self, Step};
use crate::cli::StatusArgs;
use crate::os::Context;
use crate::output::status::{self, Check, JsonStream, ProfileRow, Report, Table};
use crate::profile::{Batch, Profiles, Selection};
use crate::settings;
use tokio::sync::mpsc;

/// Profiles parsed at once: large enough that the sections every batch repeats (the default
/// profile, `[sso-session …]`) cost little, small enough to keep memory flat.
const BATCH: usize = 256;

/// Debug builds: the parsing thread panics after this many batches (tests of that path).
const PANIC_TEST_VAR: &str = "AWS_CRED_TEST_STATUS_PARSER_PANIC_AFTER";

pub(crate) async fn run(setup: &Setup, args: &StatusArgs) -> anyhow::Result<()> {
    let ctx = &setup.ctx;
    let profiles = &setup.profiles;
    let mut inspector = Inspector::new(ctx, profiles, settings::login_cache_dir(ctx));
    if profiles.selection == Selection::Flag {
        // The run parsed the selected profile and what it needs: enough for the detail.
        let name = profiles.selected.as_str();
        profiles.selected_profile()?;
        let mut row = inspected(&mut inspector, profiles, name);
        if args.check {
            row.check = Some(check_one(setup, profiles, name, row.region.as_deref()).await);
        }
        let failed = usize::from(row.check_failed());
        let report = Report {
            now: ctx.now(),
            profiles: vec![row],
            cognito: Vec::new(),
        };
        let text = match args.json {
            true => status::render_json(&report, true)?,
            false => status::render_detail(&report, settings::colour(ctx)),
        };
        emit(&text)?;
        return checks_passed(failed, 1);
    }
    let (mut failed, mut checked) = (0, 0);
    let mut batches = ParseAhead::start(ctx, profiles);
    if args.json {
        let mut json = JsonStream::new(ctx.now(), false);
        let mut out = Stream::new();
        let written: anyhow::Result<()> = async {
            out.write(&json.head()?)?;
            while let Some(batch) = batches.next().await {
                let batch = batch?;
                for row in rows(setup, &mut inspector, &batch, args.check).await {
                    checked += 1;
                    failed += usize::from(row.check_failed());
                    out.write(&json.profile(&row)?)?;
                }
                batches.done(batch);
            }
            let cognito = crate::cognito::sign_ins(ctx).unwrap_or_default();
            out.write(&json.tail(&cognito)?)
        }
        .await;
        return match written {
            Ok(()) => {
                out.finish()?;
                checks_passed(failed, checked)
            }
            Err(err) => {
                // A report cut short is not a report: nothing more reaches stdout, and the
                // exit status is not 0.
                out.abandon();
                Err(err)
            }
        };
    }
    let mut table = Table::new(ctx.now());
    while let Some(batch) = batches.next().await {
        let batch = batch?;
        for row in rows(setup, &mut inspector, &batch, args.check).await {
            checked += 1;
            failed += usize::from(row.check_failed());
            table.push(&row);
        }
        batches.done(batch);
    }
    let cognito = crate::cognito::sign_ins(ctx).unwrap_or_default();
    let mut out = Stream::new();
    table.write(
        &cognito,
        settings::colour(ctx),
        settings::table_width(ctx),
        |line| out.write(line),
    )?;
    out.finish()?;
    checks_passed(failed, checked)
}

/// `status --check`: the report is out whole; the exit status says whether every profile
/// passed (1 when any failed, so scripts can act on it).
fn checks_passed(failed: usize, checked: usize) -> anyhow::Result<()> {
    super::checks_passed(
        failed,
        checked,
        ("profile", "the report"),
        "each failed profile's line says why; aws-cred status --profile NAME --check shows one in detail",
    )
}

/// Every profile's batch, parsed on a blocking thread one batch ahead of the inspection
/// (parsing is about half the work, so on two cores the two halves overlap). Batches sent back
/// on [`ParseAhead::done`] are freed on that thread too.
struct ParseAhead {
    batches: mpsc::Receiver<Result<Batch, Problem>>,
    used: std::sync::mpsc::Sender<Batch>,
    /// The parsing thread: when the channel ends, whether it ended by finishing or by a panic.
    parser: Option<tokio::task::JoinHandle<()>>,
}

impl ParseAhead {
    fn start(ctx: &Context, profiles: &Profiles) -> Self {
        let (tx, batches) = mpsc::channel(1);
        let (used, used_rx) = std::sync::mpsc::channel::<Batch>();
        let (ctx, root) = (ctx.clone(), profiles.clone());
        // Tests (debug builds only): the parser dies after this many batches.
        let die_after: Option<usize> = ctx.test_switch(PANIC_TEST_VAR).and_then(|n| n.parse().ok());
        let parser = tokio::task::spawn_blocking(move || {
            let runtime = tokio::runtime::Handle::current();
            let mut all = root.batches(&ctx, BATCH);
            // The parser reads nothing (the texts are in memory): block_on only polls it. A
            // closed channel (the command failed) ends the loop.
            let mut sent = 0;
            while let Some(batch) = runtime.block_on(all.next()) {
                if die_after == Some(sent) {
                    panic!("{PANIC_TEST_VAR}: the parser dies after {sent} batches");
                }
                sent += 1;
                if tx.blocking_send(batch).is_err() {
                    break;
                }
                // Free what was inspected meanwhile, here rather than on the inspecting thread.
                while let Ok(used) = used_rx.try_recv() {
                    drop(used);
                }
            }
        });
        ParseAhead {
            batches,
            used,
            parser: Some(parser),
        }
    }

    /// The next batch; `None` after the last. A parser that died (a panic) is an error, not
    /// the end of the profiles.
    async fn next(&mut self) -> Option<Result<Batch, Problem>> {
        if let Some(batch) = self.batches.recv().await {
            return Some(batch);
        }
        match self.parser.take()?.await {
            Ok(()) => None,
            // The panic's own text went to stderr through the panic hook already.
            Err(_) => Some(Err(Problem::failure(
                "reading the profiles stopped on an internal error; the report is incomplete",
            )
            .hint(
                "run aws-cred status again; if it happens again, report it with the message above",
            ))),
        }
    }

    /// Hands an inspected batch back to be freed (on this thread if the parser has ended).
    fn done(&self, batch: Batch) {
        let _ = self.used.send(batch);
    }
}

/// `--check` calls in flight at once: a few hundred profiles are checked in seconds instead of
/// one STS round trip after another, without a burst that STS would throttle.
const CHECKS_AT_ONCE: usize = 8;

/// The profiles of a batch in order, inspected; with `check`, confirmed by GetCallerIdentity,
/// [`CHECKS_AT_ONCE`] at a time. A profile whose credentials come from a credential_process
/// is checked alone, after the others: the process may talk to the terminal.
async fn rows(
    setup: &Setup,
    inspector: &mut Inspector<'_>,
    batch: &Batch,
    check: bool,
) -> Vec<ProfileRow> {
    use futures_util::stream::{self, StreamExt};
    let profiles = &batch.profiles;
    let mut rows: Vec<ProfileRow> = batch
        .names
        .iter()
        .map(|name| inspected(inspector, profiles, name))
        .collect();
    if !check {
        return rows;
    }
    let (alone, together): (Vec<usize>, Vec<usize>) =
        (0..rows.len()).partition(|i| runs_a_process(profiles, &rows[*i].name));
    let checked: Vec<(usize, Check)> = stream::iter(together.iter().map(|i| {
        let row = &rows[*i];
        async move {
            let result = check_one(setup, profiles, &row.name, row.region.as_deref()).await;
            (*i, result)
        }
    }))
    .buffered(CHECKS_AT_ONCE)
    .collect()
    .await;
    for (i, result) in checked {
        rows[i].check = Some(result);
    }
    for i in alone {
        let result = check_one(setup, profiles, &rows[i].name, rows[i].region.as_deref()).await;
        rows[i].check = Some(result);
    }
    rows
}

/// Whether resolving `name` runs a credential_process (its own, or its source's).
fn runs_a_process(profiles: &Profiles, name: &str) -> bool {
    matches!(
        chain::plan::plan_named(profiles, name),
        Ok(chain::plan::Planned::Plan(plan)) if matches!(plan.base, chain::plan::Base::Process { .. })
    )
}

/// One profile of `profiles` (the run's set or a batch), inspected; not checked yet.
fn inspected(inspector: &mut Inspector<'_>, profiles: &Profiles, name: &str) -> ProfileRow {
    ProfileRow {
        name: name.to_string(),
        files: inspector.files_of(name),
        region: profiles.get(name, "region").map(str::to_string),
        inspection: inspector.inspect(profiles, name),
        check: None,
    }
}

/// `--check`: resolve the profile as the chain's profile link would, then GetCallerIdentity.
async fn check_one(setup: &Setup, profiles: &Profiles, name: &str, region: Option<&str>) -> Check {
    let one = profiles.with_selected(name);
    let region = region.or(setup.region.as_ref().map(|r| r.name.as_str()));
    let req = chain::Request {
        ctx: &setup.ctx,
        profiles: &one,
        aws: &setup.aws,
        region,
        terminal: crate::os::process::Terminal::Shared,
        duration: None,
    };
    let found = match chain::profile::resolve(&req).await {
        Ok(Step::Found(found)) => found,
        Ok(Step::Skip(why)) => return Check::Failed { why },
        Err(err) => {
            return Check::Failed {
                why: first_line(&err),
            };
        }
    };
    match crate::aws::sts::get_caller_identity(&setup.aws, req.sts_region(), found.credentials)
        .await
    {
        Ok(identity) => Check::Confirmed { arn: identity.arn },
        Err(err) => Check::Failed {
            why: first_line(&err),
        },
    }
}
