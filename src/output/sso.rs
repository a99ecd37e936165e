//! `aws-cred sso roles` (a table, or JSON with `schema_version` 1) and `sso populate` (the
//! summary for people, the diff of `--dry-run`). Text from the portal and the files is shown
//! with control characters escaped; JSON keeps exact values.

use super::status::escape;
use crate::sso::populate::Change;
use crate::sso::portal::Assignment;
use serde::Serialize;

#[derive(Serialize)]
struct RolesJson<'a> {
    schema_version: u32,
    sso_session: Option<&'a str>,
    start_url: &'a str,
    accounts: Vec<AccountJson<'a>>,
}

#[derive(Serialize)]
struct AccountJson<'a> {
    account_id: &'a str,
    account_name: Option<&'a str>,
    email: Option<&'a str>,
    roles: &'a [String],
}

pub(crate) fn roles_json(
    session: Option<&str>,
    start_url: &str,
    assignments: &[Assignment],
) -> serde_json::Result<String> {
    let doc = RolesJson {
        schema_version: 1,
        sso_session: session,
        start_url,
        accounts: assignments
            .iter()
            .map(|a| AccountJson {
                account_id: &a.account.id,
                account_name: a.account.name.as_deref(),
                email: a.account.email.as_deref(),
                roles: &a.roles,
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    Ok(text)
}

/// One line per (account, role): account id, account name, role, e-mail.
pub(crate) fn roles_table(assignments: &[Assignment]) -> String {
    let mut rows: Vec<[String; 4]> = vec![[
        "ACCOUNT".into(),
        "NAME".into(),
        "ROLE".into(),
        "EMAIL".into(),
    ]];
    for a in assignments {
        let name = escape(a.account.name.as_deref().unwrap_or("-"));
        let email = escape(a.account.email.as_deref().unwrap_or("-"));
        if a.roles.is_empty() {
            rows.push([
                escape(&a.account.id),
                name.clone(),
                "-".into(),
                email.clone(),
            ]);
        }
        for role in &a.roles {
            rows.push([
                escape(&a.account.id),
                name.clone(),
                escape(role),
                email.clone(),
            ]);
        }
    }
    let mut widths = [0usize; 4];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i < 3 {
                line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn section_lines(out: &mut String, sign: char, name: &str, entries: &[(String, String)]) {
    out.push_str(&format!("{sign}[profile {}]\n", escape(name)));
    for (k, v) in entries {
        out.push_str(&format!("{sign}{} = {}\n", escape(k), escape(v)));
    }
}

/// `--dry-run`: what would change in the config file, section by section.
pub(crate) fn populate_diff(file: &str, changes: &[Change]) -> String {
    let mut out = format!("--- {file}\n+++ {file} (after sso populate)\n");
    for change in changes {
        match change {
            Change::Added(wanted) => {
                out.push_str(&format!("@@ add [profile {}] @@\n", escape(&wanted.name)));
                section_lines(&mut out, '+', &wanted.name, &wanted.entries);
            }
            Change::Updated {
                name,
                before,
                after,
            } => {
                out.push_str(&format!("@@ update [profile {}] @@\n", escape(name)));
                for (k, v) in before {
                    out.push_str(&format!("-{} = {}\n", escape(k), escape(v)));
                }
                for (k, v) in after {
                    out.push_str(&format!("+{} = {}\n", escape(k), escape(v)));
                }
            }
            Change::Removed { name, before } => {
                out.push_str(&format!("@@ remove [profile {}] @@\n", escape(name)));
                section_lines(&mut out, '-', name, before);
            }
            Change::Unchanged(_) | Change::Stale(_) | Change::Clash(_) => {}
        }
    }
    out
}

/// The summary on stderr: counts, then each clash and stale profile by name.
pub(crate) fn populate_summary(file: &str, changes: &[Change], dry_run: bool) -> String {
    let count = |f: fn(&Change) -> bool| changes.iter().filter(|c| f(c)).count();
    let added = count(|c| matches!(c, Change::Added(_)));
    let updated = count(|c| matches!(c, Change::Updated { .. }));
    let removed = count(|c| matches!(c, Change::Removed { .. }));
    let unchanged = count(|c| matches!(c, Change::Unchanged(_)));
    let verb = if dry_run { "would write" } else { "wrote" };
    let mut out = format!(
        "{verb} {file}: {added} added, {updated} updated, {removed} removed, {unchanged} unchanged\n"
    );
    for change in changes {
        match change {
            Change::Clash(name) => out.push_str(&format!(
                "clash: [profile {}] exists and was not written by aws-cred sso populate for this sso-session; left as it is\n",
                escape(name)
            )),
            Change::Stale(name) => out.push_str(&format!(
                "stale: [profile {}] is no longer assigned; --prune removes it\n",
                escape(name)
            )),
            _ => {}
        }
    }
    out
}
