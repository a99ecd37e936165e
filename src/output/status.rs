//! `aws-cred status`: a table for people, one profile in detail, and JSON for scripts
//! (`schema_version` 1). Text from the files is shown with its control characters escaped;
//! JSON keeps exact values. Colour only when the caller says so (a terminal, no `NO_COLOR`).

use crate::base::time::{remaining, rfc3339};
use crate::base::validity::Validity;
use crate::chain::inspect::{Inspection, PlanStep, Status};
use crate::cognito::SignIn;
use serde::Serialize;
use std::time::SystemTime;

pub(crate) const SCHEMA_VERSION: u32 = 1;

/// One profile's line.
#[derive(Debug, Clone)]
pub(crate) struct ProfileRow {
    pub name: String,
    /// `config`, `credentials` or both: where it is defined.
    pub files: Vec<&'static str>,
    pub region: Option<String>,
    pub inspection: Inspection,
    /// `--check`: what it found.
    pub check: Option<Check>,
}

impl ProfileRow {
    /// Whether `--check` ran for it and failed.
    pub(crate) fn check_failed(&self) -> bool {
        matches!(self.check, Some(Check::Failed { .. }))
    }
}

/// What `status --check` found for one profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Check {
    /// GetCallerIdentity answered with this ARN.
    Confirmed { arn: String },
    /// Resolving the credentials, or the call, failed: the first line of why.
    Failed { why: String },
}

/// Everything `status` shows.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub now: SystemTime,
    pub profiles: Vec<ProfileRow>,
    pub cognito: Vec<SignIn>,
}

/// [`crate::base::text::escape`] as an owned string, for table cells.
pub(crate) fn escape(text: &str) -> String {
    crate::base::text::escape(text).into_owned()
}

// ---------------------------------------------------------------------------------------------
// JSON

#[derive(Serialize)]
struct JsonProfile<'a> {
    name: &'a str,
    files: &'a [&'static str],
    kind: &'static str,
    source: &'a str,
    region: Option<&'a str>,
    #[serde(flatten)]
    state: JsonState<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<Vec<JsonStep<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    check: Option<JsonCheck<'a>>,
}

#[derive(Serialize)]
struct JsonState<'a> {
    state: &'static str,
    until: Option<String>,
    expires_in_seconds: Option<i64>,
    depends_on: Option<&'a str>,
    fix: Option<&'a str>,
    reason: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonStep<'a> {
    step: &'a str,
    #[serde(flatten)]
    state: Option<JsonState<'a>>,
}

#[derive(Serialize)]
struct JsonCheck<'a> {
    ok: bool,
    arn: Option<&'a str>,
    error: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonSignIn<'a> {
    user_pool_id: Option<&'a str>,
    client_id: Option<&'a str>,
    username: Option<&'a str>,
    identity_pools: &'a [String],
    tokens: Option<JsonState<'a>>,
    credentials: Option<JsonState<'a>>,
}

fn seconds_left(now: SystemTime, at: SystemTime) -> i64 {
    match at.duration_since(now) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

fn validity_json(now: SystemTime, validity: &Validity) -> JsonState<'_> {
    JsonState {
        state: validity.word(),
        until: validity.time().map(rfc3339),
        expires_in_seconds: validity.time().map(|t| seconds_left(now, t)),
        depends_on: None,
        fix: None,
        reason: match validity {
            Validity::Unusable(reason) => Some(reason),
            _ => None,
        },
    }
}

fn state_json(now: SystemTime, status: &Status) -> JsonState<'_> {
    match status {
        Status::Depends {
            what,
            validity,
            fix,
        } => JsonState {
            depends_on: Some(what),
            fix: (!matches!(
                validity,
                Validity::Valid { .. } | Validity::Refreshable { .. }
            ))
            .then_some(fix.as_deref())
            .flatten(),
            ..validity_json(now, validity)
        },
        Status::LongTerm => JsonState {
            state: status.word(),
            until: None,
            expires_in_seconds: None,
            depends_on: None,
            fix: None,
            reason: None,
        },
        Status::NotChecked(reason) | Status::NoCredentials(reason) | Status::Error(reason) => {
            JsonState {
                state: status.word(),
                until: None,
                expires_in_seconds: None,
                depends_on: None,
                fix: None,
                reason: Some(reason),
            }
        }
    }
}

fn steps_json(now: SystemTime, steps: &[PlanStep]) -> Vec<JsonStep<'_>> {
    steps
        .iter()
        .map(|step| JsonStep {
            step: &step.text,
            state: step.status.as_ref().map(|s| state_json(now, s)),
        })
        .collect()
}

fn profile_json(now: SystemTime, row: &ProfileRow, detail: bool) -> JsonProfile<'_> {
    JsonProfile {
        name: &row.name,
        files: &row.files,
        kind: row.inspection.kind.word(),
        source: &row.inspection.source,
        region: row.region.as_deref(),
        state: state_json(now, &row.inspection.status),
        plan: detail.then(|| steps_json(now, &row.inspection.steps)),
        check: row.check.as_ref().map(|check| match check {
            Check::Confirmed { arn } => JsonCheck {
                ok: true,
                arn: Some(arn),
                error: None,
            },
            Check::Failed { why } => JsonCheck {
                ok: false,
                arn: None,
                error: Some(why),
            },
        }),
    }
}

/// `value` pretty-printed as it would be `depth` levels down in a pretty-printed document
/// (JSON strings hold no raw newline, so every newline is the printer's own).
fn pretty_at<T: Serialize>(value: &T, depth: usize) -> serde_json::Result<String> {
    /// Writes through, with `depth` more levels of indentation after each newline.
    struct Indented {
        out: Vec<u8>,
        depth: usize,
    }
    impl std::io::Write for Indented {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            // Most pieces serde_json writes are a key, a value or punctuation, with no newline.
            if !buf.contains(&b'\n') {
                self.out.extend_from_slice(buf);
                return Ok(buf.len());
            }
            for (i, part) in buf.split(|b| *b == b'\n').enumerate() {
                if i > 0 {
                    self.out.push(b'\n');
                    self.out.extend(std::iter::repeat_n(b' ', 2 * self.depth));
                }
                self.out.extend_from_slice(part);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut writer = Indented {
        out: Vec::with_capacity(512),
        depth,
    };
    serde_json::to_writer_pretty(&mut writer, value)?;
    // serde_json writes UTF-8, and the indentation is ASCII.
    String::from_utf8(writer.out).map_err(|err| serde_json::Error::io(std::io::Error::other(err)))
}

fn sign_ins_json(now: SystemTime, cognito: &[SignIn]) -> Vec<JsonSignIn<'_>> {
    cognito
        .iter()
        .map(|s| JsonSignIn {
            user_pool_id: s.user_pool_id.as_deref(),
            client_id: s.client_id.as_deref(),
            username: s.username.as_deref(),
            identity_pools: &s.identity_pools,
            tokens: s.tokens.as_ref().map(|v| validity_json(now, v)),
            credentials: s.credentials.as_ref().map(|v| validity_json(now, v)),
        })
        .collect()
}

/// `status --json` a piece at a time: [`head`](Self::head), then [`profile`](Self::profile)
/// for each row, then [`tail`](Self::tail) make the same bytes as the whole report
/// pretty-printed, so a 10,000-profile report is written as it is made instead of held.
pub(crate) struct JsonStream {
    now: SystemTime,
    detail: bool,
    rows: usize,
}

impl JsonStream {
    /// `detail` adds each profile's plan.
    pub(crate) fn new(now: SystemTime, detail: bool) -> Self {
        JsonStream {
            now,
            detail,
            rows: 0,
        }
    }

    pub(crate) fn head(&self) -> serde_json::Result<String> {
        Ok(format!(
            "{{\n  \"schema_version\": {SCHEMA_VERSION},\n  \"now\": {},\n  \"profiles\": [",
            serde_json::to_string(&rfc3339(self.now))?
        ))
    }

    pub(crate) fn profile(&mut self, row: &ProfileRow) -> serde_json::Result<String> {
        let separator = if self.rows == 0 { "" } else { "," };
        self.rows += 1;
        Ok(format!(
            "{separator}\n    {}",
            pretty_at(&profile_json(self.now, row, self.detail), 2)?
        ))
    }

    pub(crate) fn tail(&self, cognito: &[SignIn]) -> serde_json::Result<String> {
        let sign_ins = sign_ins_json(self.now, cognito);
        let close = if self.rows == 0 { "]" } else { "\n  ]" };
        Ok(format!(
            "{close},\n  \"cognito\": {}\n}}\n",
            pretty_at(&sign_ins, 1)?
        ))
    }
}

/// The report as JSON; `detail` adds each profile's plan.
pub(crate) fn render_json(report: &Report, detail: bool) -> serde_json::Result<String> {
    let mut stream = JsonStream::new(report.now, detail);
    let mut text = stream.head()?;
    for row in &report.profiles {
        text.push_str(&stream.profile(row)?);
    }
    text.push_str(&stream.tail(&report.cognito)?);
    Ok(text)
}

// ---------------------------------------------------------------------------------------------
// Text

#[derive(Clone, Copy)]
enum Tone {
    Good,
    Warn,
    Bad,
    Plain,
}

fn paint(text: &str, tone: Tone, colour: bool) -> String {
    let code = match tone {
        Tone::Good => "32",
        Tone::Warn => "33",
        Tone::Bad => "31",
        Tone::Plain => return text.to_string(),
    };
    if colour {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn validity_text(now: SystemTime, validity: &Validity) -> (String, Tone) {
    match validity {
        Validity::Valid { until } => (format!("valid, {} left", left(now, *until)), Tone::Good),
        Validity::Refreshable { .. } => ("refreshable".into(), Tone::Warn),
        Validity::Expired { at } => (
            format!("expired {}", crate::base::time::ago(now, *at)),
            Tone::Bad,
        ),
        Validity::Missing => ("missing".into(), Tone::Bad),
        Validity::Unusable(_) => ("unusable".into(), Tone::Bad),
    }
}

/// `3h 00m` from `in 3h 00m`.
fn left(now: SystemTime, until: SystemTime) -> String {
    let text = remaining(now, until);
    text.strip_prefix("in ").map(str::to_string).unwrap_or(text)
}

fn status_text(now: SystemTime, status: &Status) -> (String, Tone) {
    match status {
        Status::Depends { validity, .. } => validity_text(now, validity),
        Status::LongTerm => ("long-term keys".into(), Tone::Plain),
        Status::NotChecked(_) => ("not checked".into(), Tone::Plain),
        Status::NoCredentials(_) => ("no credentials".into(), Tone::Plain),
        Status::Error(_) => ("config error".into(), Tone::Bad),
    }
}

/// A profile's kind and state in a few words (`sso · valid, 7h 59m left`), as the picker
/// shows them beside its name.
pub(crate) fn brief(now: SystemTime, inspection: &crate::chain::inspect::Inspection) -> String {
    format!(
        "{} · {}",
        inspection.kind.word(),
        status_text(now, &inspection.status).0
    )
}

/// What to run, for states that need something done.
fn fix_of(status: &Status) -> Option<String> {
    match status {
        Status::Depends {
            what,
            validity,
            fix,
        } if !validity.is_usable() => {
            let why = match validity {
                Validity::Unusable(reason) => format!("{what}: {reason}"),
                _ => what.clone(),
            };
            Some(match fix {
                Some(fix) => format!("{why}: {fix}"),
                None => why,
            })
        }
        Status::Error(message) => Some(message.clone()),
        _ => None,
    }
}

/// One line per profile, then what to run for those that need it, then Cognito sign-ins; built
/// a row at a time: each row keeps only its cells and its fix, so a
/// 10,000-profile table does not hold every inspection until the end (the column widths need
/// every row before the first line).
pub(crate) struct Table {
    now: SystemTime,
    rows: Vec<([String; 5], Tone)>,
    /// What to run, for the rows that need something done (and what `--check` said).
    fixes: Vec<String>,
    /// Failed checks of rows that need nothing done otherwise: listed after the fixes.
    failed_checks: Vec<String>,
}

impl Table {
    pub(crate) fn new(now: SystemTime) -> Self {
        Table {
            now,
            rows: Vec::new(),
            fixes: Vec::new(),
            failed_checks: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, row: &ProfileRow) {
        let (state, tone) = status_text(self.now, &row.inspection.status);
        let state = match &row.check {
            Some(Check::Confirmed { .. }) => format!("{state}; checked"),
            Some(Check::Failed { .. }) => format!("{state}; CHECK FAILED"),
            None => state,
        };
        self.rows.push((
            [
                escape(&row.name),
                row.inspection.kind.word().to_string(),
                escape(row.region.as_deref().unwrap_or("-")),
                state,
                escape(&row.inspection.source),
            ],
            tone,
        ));
        match (fix_of(&row.inspection.status), &row.check) {
            (Some(mut text), check) => {
                if let Some(Check::Failed { why }) = check {
                    text.push_str(&format!("; check: {why}"));
                }
                self.fixes
                    .push(format!("  {}: {}", escape(&row.name), escape(&text)));
            }
            (None, Some(Check::Failed { why })) => self.failed_checks.push(format!(
                "  {}: check failed: {}",
                escape(&row.name),
                escape(why)
            )),
            (None, _) => {}
        }
    }

    /// [`Table::write`] into a string.
    #[cfg(test)]
    pub(crate) fn render(self, cognito: &[SignIn], colour: bool, width: Option<usize>) -> String {
        let mut text = String::new();
        let written: Result<(), std::convert::Infallible> =
            self.write(cognito, colour, width, |piece| {
                text.push_str(piece);
                Ok(())
            });
        match written {
            Ok(()) => text,
        }
    }

    /// The table, a line at a time into `out`, fitted to `width` columns when given (a
    /// terminal's): the widest column is cut (its cells end in `…`) until the lines fit, no
    /// column below its heading; `--json` has every name whole. Each row is freed once its line
    /// is out, so a 10,000-profile table never holds its rows and its text at once.
    pub(crate) fn write<E>(
        self,
        cognito: &[SignIn],
        colour: bool,
        width: Option<usize>,
        mut out: impl FnMut(&str) -> Result<(), E>,
    ) -> Result<(), E> {
        let header = ["PROFILE", "KIND", "REGION", "STATE", "SOURCE"];
        let mut widths = header.map(|h| h.chars().count());
        for (cells, _) in &self.rows {
            for (width, cell) in widths.iter_mut().zip(cells) {
                *width = (*width).max(cell.chars().count());
            }
        }
        if let Some(limit) = width {
            fit(&mut widths, &header.map(|h| h.chars().count()), limit);
        }
        if self.rows.is_empty() {
            out("no profiles in the config or credentials file\n")?;
        } else {
            out(&table_line(&widths, header, Tone::Plain, false))?;
            for (cells, tone) in self.rows {
                let [a, b, c, d, e] = &cells;
                out(&table_line(&widths, [a, b, c, d, e], tone, colour))?;
            }
        }
        if !self.fixes.is_empty() || !self.failed_checks.is_empty() {
            out("\nto fix:\n")?;
            for fix in self.fixes.iter().chain(&self.failed_checks) {
                out(&format!("{fix}\n"))?;
            }
        }
        if !cognito.is_empty() {
            out("\nCognito sign-ins (aws-cred cognito):\n")?;
            for sign_in in cognito {
                out(&format!("  {}\n", sign_in_line(self.now, sign_in, colour)))?;
            }
        }
        Ok(())
    }
}

/// One line of the table: each cell cut to its column's width and padded (the state painted),
/// the last cell as it is, no trailing blanks.
fn table_line(widths: &[usize; 5], cells: [&str; 5], tone: Tone, colour: bool) -> String {
    let mut line = String::new();
    for (i, cell) in cells.iter().enumerate() {
        let cut = cut(cell, widths[i]);
        let cell = cut.as_str();
        if i == 4 {
            line.push_str(cell);
            break;
        }
        match i {
            3 => line.push_str(&paint(cell, tone, colour)),
            _ => line.push_str(cell),
        }
        let pad = widths[i].saturating_sub(cell.chars().count());
        line.extend(std::iter::repeat_n(' ', pad + 2));
    }
    line.truncate(line.trim_end().len());
    line.push('\n');
    line
}

/// Narrow the widest columns until a line (columns and their 2-space gaps) fits in `limit`,
/// none below `least` (its heading) or 4; bounded: each pass narrows one column.
fn fit(widths: &mut [usize; 5], least: &[usize; 5], limit: usize) {
    let total = |widths: &[usize; 5]| widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
    for _ in 0..widths.len() * 2 {
        let over = total(widths).saturating_sub(limit);
        if over == 0 {
            return;
        }
        let Some((widest, _)) = widths
            .iter()
            .enumerate()
            .filter(|(i, w)| **w > least[*i].max(4))
            .max_by_key(|(_, w)| **w)
        else {
            return;
        };
        let floor = least[widest].max(4);
        widths[widest] = widths[widest].saturating_sub(over).max(floor);
    }
}

/// `cell` in at most `width` characters: cut with `…` when longer (tables and the picker).
pub(crate) fn cut(cell: &str, width: usize) -> String {
    if cell.chars().count() <= width {
        return cell.to_string();
    }
    let mut kept: String = cell.chars().take(width.saturating_sub(1)).collect();
    kept.push('…');
    kept
}

fn sign_in_line(now: SystemTime, s: &SignIn, colour: bool) -> String {
    let who = match (&s.username, &s.user_pool_id) {
        (Some(user), Some(pool)) => format!("user {} in {}", escape(user), escape(pool)),
        (Some(user), None) => format!("user {}", escape(user)),
        (None, _) if !s.identity_pools.is_empty() => {
            format!("guest of {}", escape(&s.identity_pools.join(", ")))
        }
        (None, _) => format!("entry {}", s.key),
    };
    let mut parts = vec![who];
    if let Some(tokens) = &s.tokens {
        let (text, tone) = validity_text(now, tokens);
        parts.push(format!("tokens {}", paint(&text, tone, colour)));
    }
    if let Some(credentials) = &s.credentials {
        let (text, tone) = validity_text(now, credentials);
        parts.push(format!("AWS credentials {}", paint(&text, tone, colour)));
    }
    parts.join(": ")
}

/// One profile in detail: where it is, its kind, its state, and its plan as the chain would walk
/// it (nothing was called).
pub(crate) fn render_detail(report: &Report, colour: bool) -> String {
    let now = report.now;
    let mut out = String::new();
    for row in &report.profiles {
        let inspection = &row.inspection;
        let (state, tone) = status_text(now, &inspection.status);
        let mut state = paint(&state, tone, colour);
        if let Status::Depends { what, validity, .. } = &inspection.status {
            state.push_str(&format!(" ({}", escape(what)));
            if let Some(at) = validity.time() {
                state.push_str(&format!(", until {}", rfc3339(at)));
            }
            state.push(')');
        }
        out.push_str(&format!(
            "profile: {}\nfile:    {}\nkind:    {}\nregion:  {}\nstate:   {state}\nsource:  {}\n",
            escape(&row.name),
            row.files.join(", "),
            inspection.kind.word(),
            escape(row.region.as_deref().unwrap_or("-")),
            escape(&inspection.source),
        ));
        if !inspection.steps.is_empty() {
            out.push_str("plan (as `export --explain` would walk it; nothing was called):\n");
            for (i, step) in inspection.steps.iter().enumerate() {
                let state = match &step.status {
                    Some(Status::Depends { validity, .. }) => {
                        let (text, tone) = validity_text(now, validity);
                        format!(": {}", paint(&text, tone, colour))
                    }
                    _ => String::new(),
                };
                out.push_str(&format!("  {}. {}{state}\n", i + 1, escape(&step.text)));
            }
        }
        if let Some(fix) = fix_of(&inspection.status) {
            out.push_str(&format!("fix:     {}\n", escape(&fix)));
        }
        match &row.check {
            Some(Check::Confirmed { arn }) => {
                out.push_str(&format!("checked: {}\n", escape(arn)));
            }
            Some(Check::Failed { why }) => {
                out.push_str(&format!("checked: FAILED: {}\n", escape(why)));
            }
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests;
