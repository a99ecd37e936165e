//! `aws-cred sso populate`: one `[profile NAME]` in `~/.aws/config` per (account, role) the SSO
//! user is assigned, each marked `aws_cred_populated = <sso-session>` so that a later run
//! updates and (with `--prune`) removes only profiles it wrote.
//!
//! Rules:
//! * Names come from a template (`{account_name}`, `{account_id}`, `{role_name}`,
//!   `{sso_session}`); every character the profile parsers would not read back as the same name
//!   becomes `-` ([`sanitise`]), and two assignments that would get the same name are told apart
//!   with `-<account id>`.
//! * A section that exists without our marker for this sso-session was written by someone else:
//!   it is reported as a clash and never changed.
//! * Everything is decided on the text read under the config writer's lock
//!   ([`writer::edit_file`]), and written with its promises: bytes outside the written sections
//!   identical, atomic, mode kept. Concurrent runs (and other writers) lose nothing.

use super::portal::{Account, Assignment};
use crate::profile::writer::{self, HeaderStyle, WriteError};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// The key that marks a profile as written by `sso populate` for an sso-session.
pub(crate) const MARKER: &str = "aws_cred_populated";
pub(crate) const DEFAULT_TEMPLATE: &str = "{account_name}.{role_name}";

/// A profile this run wants in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wanted {
    pub name: String,
    pub entries: Vec<(String, String)>,
}

/// What happened (or, with `--dry-run`, would happen) to one profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    Added(Wanted),
    Updated {
        name: String,
        before: Vec<(String, String)>,
        after: Vec<(String, String)>,
    },
    Unchanged(String),
    /// `--prune`: a profile this tool wrote for the sso-session that is no longer assigned.
    Removed {
        name: String,
        before: Vec<(String, String)>,
    },
    /// Written by this tool, no longer assigned, kept because `--prune` was not given.
    Stale(String),
    /// A profile of that name exists and is not ours: left alone.
    Clash(String),
}

/// Characters the profile parsers read back unchanged in a name (the writer's rule).
fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | '.' | '%' | '@' | ':' | '+')
}

/// A profile name that reads back as itself: every other character becomes `-`.
pub(crate) fn sanitise(name: &str) -> String {
    name.chars()
        .map(|c| if name_char(c) { c } else { '-' })
        .collect()
}

/// The template filled in, sanitised. Unknown `{...}` stay as they are (then sanitised).
pub(crate) fn render_name(template: &str, session: &str, account: &Account, role: &str) -> String {
    let account_name = account.name.as_deref().unwrap_or(&account.id);
    let text = template
        .replace("{account_name}", account_name)
        .replace("{account_id}", &account.id)
        .replace("{role_name}", role)
        .replace("{sso_session}", session);
    sanitise(&text)
}

/// The profiles to write, in the portal's order.
pub(crate) fn wanted(
    assignments: &[Assignment],
    session: &str,
    template: &str,
    region: &str,
) -> Vec<Wanted> {
    let mut named: Vec<(String, &Account, &str)> = Vec::new();
    for assignment in assignments {
        for role in &assignment.roles {
            let name = render_name(template, session, &assignment.account, role);
            named.push((name, &assignment.account, role));
        }
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, _, _) in &named {
        *counts.entry(name.as_str()).or_default() += 1;
    }
    let repeated: HashSet<String> = counts
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(name, _)| name.to_string())
        .collect();
    named
        .into_iter()
        .map(|(name, account, role)| {
            let name = if repeated.contains(&name) {
                format!("{name}-{}", account.id)
            } else {
                name
            };
            let name = if name.is_empty() {
                account.id.clone()
            } else {
                name
            };
            Wanted {
                name,
                entries: vec![
                    ("sso_session".into(), session.into()),
                    ("sso_account_id".into(), account.id.clone()),
                    ("sso_role_name".into(), role.to_string()),
                    ("region".into(), region.into()),
                    (MARKER.into(), session.into()),
                ],
            }
        })
        .collect()
}

fn ours(entries: &[(String, String)], session: &str) -> bool {
    entries.iter().any(|(k, v)| k == MARKER && v == session)
}

/// Apply `wanted` to the config text: add, update ours, report clashes, and (with `prune`)
/// remove ours that are no longer wanted. Pure. Returns the new text and the changes.
///
/// # Errors
/// What the writer refuses (an invalid value, an indented header, a byte-order mark).
pub(crate) fn apply(
    original: &str,
    session: &str,
    wanted: &[Wanted],
    prune: bool,
) -> Result<(String, Vec<Change>), WriteError> {
    let mut text = original.to_string();
    let mut changes = Vec::new();
    for want in wanted {
        let entries: Vec<(&str, &str)> = want
            .entries
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        match writer::section_entries(&text, &want.name, HeaderStyle::Config) {
            None => {
                text =
                    writer::upsert_section(&text, &want.name, HeaderStyle::Config, &entries)?.text;
                changes.push(Change::Added(want.clone()));
            }
            Some(before) if ours(&before, session) => {
                // Only the keys it writes are its own: lines a person added to the profile
                // stay, whether the portal changed anything or not.
                let current = |key: &str| {
                    before
                        .iter()
                        .rev()
                        .find(|(k, _)| k == key)
                        .map(|(_, v)| v.as_str())
                };
                let same = want
                    .entries
                    .iter()
                    .all(|(k, v)| current(k) == Some(v.as_str()));
                if same {
                    changes.push(Change::Unchanged(want.name.clone()));
                } else {
                    text = writer::edit_section(
                        &text,
                        &want.name,
                        HeaderStyle::Config,
                        &entries,
                        &[],
                    )?
                    .text;
                    changes.push(Change::Updated {
                        name: want.name.clone(),
                        before,
                        after: want.entries.clone(),
                    });
                }
            }
            Some(_) => changes.push(Change::Clash(want.name.clone())),
        }
    }
    let wanted_names: HashSet<&str> = wanted.iter().map(|w| w.name.as_str()).collect();
    let mut seen = HashSet::new();
    let existing: Vec<String> = writer::section_names(original, HeaderStyle::Config)
        .into_iter()
        .filter(|name| !wanted_names.contains(name) && seen.insert(*name))
        .map(str::to_string)
        .collect();
    for name in existing {
        let Some(before) = writer::section_entries(&text, &name, HeaderStyle::Config) else {
            continue;
        };
        if !ours(&before, session) {
            continue;
        }
        if prune {
            if let Some(next) = writer::remove_section(&text, &name, HeaderStyle::Config)? {
                text = next;
                changes.push(Change::Removed { name, before });
            }
        } else {
            changes.push(Change::Stale(name));
        }
    }
    Ok((text, changes))
}

/// Populate the config file at `path`: locked, atomic, mode kept; with `dry_run` nothing is
/// written and the changes say what would be.
///
/// # Errors
/// The writer's.
pub(crate) fn populate(
    path: &Path,
    session: &str,
    wanted: &[Wanted],
    prune: bool,
    dry_run: bool,
) -> Result<Vec<Change>, WriteError> {
    writer::edit_file(path, writer::DEFAULT_LOCK_TIMEOUT, |original| {
        let (text, changes) = apply(original, session, wanted, prune)?;
        Ok(((!dry_run).then_some(text), changes))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, name: &str) -> Account {
        Account {
            id: id.into(),
            name: Some(name.into()),
            email: None,
        }
    }

    /// Account `id` named `name`, with the one role Admin.
    fn admin_of(id: &str, name: &str) -> Assignment {
        Assignment {
            account: account(id, name),
            roles: vec!["Admin".into()],
        }
    }

    #[test]
    fn names_are_sanitised_to_round_trip() {
        let a = account("111", "My Team [prod]#1");
        assert_eq!(
            render_name(DEFAULT_TEMPLATE, "corp", &a, "Read Only"),
            "My-Team--prod--1.Read-Only"
        );
        assert_eq!(
            render_name("{sso_session}/{account_id}/{role_name}", "corp", &a, "R"),
            "corp/111/R"
        );
        for name in ["a b", "x\ty", "é", "a=b", "[p]"] {
            assert!(
                writer::validate_profile_name(&sanitise(name)).is_ok(),
                "{name}"
            );
        }
    }

    #[test]
    fn same_names_are_told_apart_by_account() {
        let assignments = vec![admin_of("111", "app"), admin_of("222", "app")];
        let names: Vec<String> = wanted(&assignments, "corp", DEFAULT_TEMPLATE, "eu-west-1")
            .into_iter()
            .map(|w| w.name)
            .collect();
        assert_eq!(names, vec!["app.Admin-111", "app.Admin-222"]);
    }

    /// Issue 22, item 15: lines a person added inside a populated profile stay, when nothing
    /// changed at the portal and when something did.
    #[test]
    fn lines_a_person_added_to_a_populated_profile_stay() {
        let want = |region: &str| {
            vec![Wanted {
                name: "dev.Admin".into(),
                entries: vec![
                    ("sso_session".into(), "corp".into()),
                    ("sso_account_id".into(), "111".into()),
                    ("sso_role_name".into(), "Admin".into()),
                    ("region".into(), region.into()),
                    (MARKER.into(), "corp".into()),
                ],
            }]
        };
        // As populate wrote it, plus two lines of the person's.
        let text = "[profile dev.Admin]\nsso_session = corp\nsso_account_id = 111\nsso_role_name = Admin\nregion = eu-west-1\naws_cred_populated = corp\noutput = json\n# my note\n";
        let (same, changes) = apply(text, "corp", &want("eu-west-1"), false).unwrap();
        assert_eq!(
            same, text,
            "nothing changed at the portal: nothing rewritten"
        );
        assert!(matches!(&changes[..], [Change::Unchanged(_)]));
        let (updated, changes) = apply(text, "corp", &want("us-east-1"), false).unwrap();
        assert!(matches!(&changes[..], [Change::Updated { .. }]));
        assert!(updated.contains("region = us-east-1\n"), "{updated}");
        assert!(
            updated.contains("output = json\n# my note\n"),
            "the person's lines stay: {updated}"
        );
    }

    #[test]
    fn apply_adds_updates_clashes_and_prunes_only_ours() {
        let original = "# mine\r\n[profile dev.Admin]\r\nregion = x\r\n\r\n[profile old.Admin]\r\nsso_session = corp\r\naws_cred_populated = corp\r\n\r\n[profile other.Admin]\r\naws_cred_populated = elsewhere\r\n";
        let assignments = vec![admin_of("111", "dev"), admin_of("222", "new")];
        let want = wanted(&assignments, "corp", DEFAULT_TEMPLATE, "eu-west-1");
        let (text, changes) = apply(original, "corp", &want, false).unwrap();
        assert_eq!(changes[0], Change::Clash("dev.Admin".into()));
        assert!(matches!(changes[1], Change::Added(ref w) if w.name == "new.Admin"));
        assert_eq!(changes[2], Change::Stale("old.Admin".into()));
        assert!(text.starts_with(original), "appended only");
        assert!(text.ends_with("[profile new.Admin]\r\nsso_session = corp\r\nsso_account_id = 222\r\nsso_role_name = Admin\r\nregion = eu-west-1\r\naws_cred_populated = corp\r\n"), "{text:?}");

        let (pruned, changes) = apply(&text, "corp", &want, true).unwrap();
        assert_eq!(changes[1], Change::Unchanged("new.Admin".into()));
        assert!(matches!(changes[2], Change::Removed { ref name, .. } if name == "old.Admin"));
        assert!(!pruned.contains("old.Admin"));
        assert!(pruned.contains("[profile other.Admin]\r\naws_cred_populated = elsewhere"));
        assert!(pruned.starts_with(
            "# mine\r\n[profile dev.Admin]\r\nregion = x\r\n\r\n[profile other.Admin]"
        ));
    }
}
