//! The profile picker: `export`, `exec`, `console` and `whoami` run at a terminal with nothing
//! that names a profile (no `--profile`, no profile word, no `AWS_PROFILE`, no `[default]`,
//! no credentials in the environment) ask which one, as granted's `assume` does. Each profile
//! shows its kind and state as `status` sees them, from the files and caches alone.
//!
//! Key by key where the terminal allows it (Unix terminals, Windows consoles); elsewhere (Git
//! Bash's mintty, which has no console, and `TERM=dumb`) a numbered list and a line to answer.
//! Never without a terminal, nor with `--no-prompt`.

use super::Setup;
use crate::base::error::Problem;
use crate::base::text::escape;
use crate::chain::inspect::Inspector;
use crate::cli::{Cli, Command};
use crate::os::terminal::{Keys, Terminal};
use crate::output::picker::{Entry, Picker, Step, decode};
use crate::profile::{Profiles, Scope, Selection};
use crate::settings;

/// Variables that give the chain credentials before any profile is read.
const CREDENTIAL_VARS: [&str; 4] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
];

/// Entries drawn at once at most.
const ROWS: usize = 10;

/// Key presses read before the picker gives up (a stuck key, a paste of a file).
const MAX_READS: usize = 10_000;

/// Whether this run should ask which profile to use.
pub(crate) fn wanted(setup: &Setup, cli: &Cli) -> bool {
    let command = matches!(
        cli.command,
        Command::Export(_) | Command::Exec(_) | Command::Console(_) | Command::Whoami(_)
    );
    command
        && cli.global.profile.is_none()
        && setup.profiles.selection == Selection::Default
        && setup.profiles.set.get_profile("default").is_none()
        && !CREDENTIAL_VARS
            .iter()
            .any(|var| setup.ctx.var(var).is_some_and(|v| !v.trim().is_empty()))
        && settings::may_prompt(&setup.ctx, setup.no_prompt)
}

/// The profile the person picks; `None` when the files have none to offer (the run goes on
/// as it would have). Cancelling is an error that says how to name one.
pub(crate) async fn profile(setup: &Setup) -> anyhow::Result<Option<String>> {
    let ctx = &setup.ctx;
    let all = Profiles::load_scoped(ctx, None, Scope::All).await?;
    let entries = entries(setup, &all);
    if entries.is_empty() {
        return Ok(None);
    }
    let Some(terminal) = Terminal::open() else {
        return Ok(None);
    };
    let dumb = ctx.var("TERM") == Some("dumb");
    let picked = match terminal.keys().filter(|_| !dumb) {
        Some(keys) => by_keys(keys, entries, settings::colour_on_stderr(ctx)),
        None => by_line(&terminal, &entries),
    };
    match picked {
        Some(name) => {
            eprintln!("aws-cred: profile {}", escape(&name));
            Ok(Some(name))
        }
        None => Err(Problem::usage("no profile was picked")
            .hint("name one with --profile NAME (aws-cred status lists them), or set AWS_PROFILE")
            .into()),
    }
}

/// Every profile but the `-long-term` twins of others (aws-vault's key store), with its kind
/// and state.
fn entries(setup: &Setup, all: &Profiles) -> Vec<Entry> {
    let names = all.names();
    let twin = |name: &str| {
        name.strip_suffix("-long-term")
            .is_some_and(|base| all.set.get_profile(base).is_some())
    };
    let mut inspector = Inspector::new(&setup.ctx, all, settings::login_cache_dir(&setup.ctx));
    let now = setup.ctx.now();
    names
        .into_iter()
        .filter(|name| !twin(name))
        .map(|name| Entry {
            name: name.to_string(),
            detail: crate::output::status::brief(now, &inspector.inspect(all, name)),
        })
        .collect()
}

fn by_keys(mut keys: Keys<'_>, entries: Vec<Entry>, colour: bool) -> Option<String> {
    let mut picker = Picker::new(entries);
    let mut outcome = None;
    for _ in 0..MAX_READS {
        let (columns, rows) = keys.size().unwrap_or((80, 24));
        let rows = ROWS.min(rows.saturating_sub(2)).max(1);
        let lines = picker.view(rows, columns.saturating_sub(1).max(10), colour);
        // Drawn from the filter line down, then the cursor goes back to the filter's end.
        let back = match lines.len() {
            0 | 1 => String::new(),
            n => format!("\x1b[{}A", n - 1),
        };
        keys.write(&format!(
            "\r\x1b[J{}{back}\r\x1b[{}C",
            lines.join("\r\n"),
            lines.first().map_or(0, |l| l.chars().count())
        ));
        let Some(bytes) = keys.read() else { break };
        let mut done = false;
        for key in decode(&bytes) {
            match picker.press(key, rows) {
                Step::Continue => {}
                Step::Picked(name) => {
                    outcome = Some(name);
                    done = true;
                    break;
                }
                Step::Cancelled => {
                    done = true;
                    break;
                }
            }
        }
        if done {
            break;
        }
    }
    // The picker leaves nothing behind on the screen.
    keys.write("\r\x1b[J");
    outcome
}

/// A numbered list on stderr and a line to answer: a number or a name.
fn by_line(terminal: &Terminal, entries: &[Entry]) -> Option<String> {
    let width = entries
        .iter()
        .map(|e| escape(&e.name).chars().count())
        .max()
        .unwrap_or(0);
    let mut list = String::from("Profiles:\n");
    for (i, entry) in entries.iter().enumerate() {
        list.push_str(&format!(
            "{:>4}  {:<width$}  {}\n",
            i + 1,
            escape(&entry.name),
            escape(&entry.detail)
        ));
    }
    eprint!("{list}");
    for _ in 0..3 {
        let answer = terminal.ask("profile (number or name, empty to cancel): ")?;
        let answer = answer.trim();
        let by_number = answer
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| entries.get(i));
        if let Some(entry) = by_number.or_else(|| entries.iter().find(|e| e.name == answer)) {
            return Some(entry.name.clone());
        }
        eprintln!("no profile {}: give its number or its name", escape(answer));
    }
    None
}
