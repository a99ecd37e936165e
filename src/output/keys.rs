//! What `keys list` prints: a line per stored key for a person, or JSON (schema 1).

use serde::Serialize;

/// One key in the OS keyring, as listed.
#[derive(Serialize)]
pub(crate) struct Row {
    pub profile: String,
    /// Masked (`AKIA****WXYZ`).
    pub access_key: Option<String>,
    pub stored_at: Option<String>,
    /// Whether a profile's credential_process reads it.
    pub configured: bool,
    pub created: Option<String>,
    pub age_days: Option<u64>,
    /// IAM's word for it (`--check`).
    pub status: Option<String>,
    pub problem: Option<String>,
}

#[derive(Serialize)]
struct ListJson<'a> {
    schema_version: u32,
    keys: &'a [Row],
}

/// `keys list --json`, with its newline.
pub(crate) fn json(rows: &[Row]) -> serde_json::Result<String> {
    let doc = ListJson {
        schema_version: 1,
        keys: rows,
    };
    Ok(format!("{}\n", serde_json::to_string_pretty(&doc)?))
}

/// `keys list` for a person: tab-separated, a line per key; `check` adds age and IAM status.
pub(crate) fn table(rows: &[Row], check: bool) -> String {
    let mut text = String::new();
    for row in rows {
        let mut line = format!(
            "{}\t{}\t{}",
            row.profile,
            row.access_key.as_deref().unwrap_or("-"),
            row.stored_at
                .as_deref()
                .map(|t| format!("stored {t}"))
                .unwrap_or_else(|| "stored -".into()),
        );
        if check {
            match (&row.age_days, &row.status) {
                (Some(days), Some(status)) => {
                    line.push_str(&format!("\t{days} days old\t{status}"))
                }
                (None, Some(status)) => line.push_str(&format!("\t-\t{status}")),
                _ => {}
            }
        }
        if !row.configured {
            line.push_str("\t(no profile's credential_process reads it)");
        }
        if let Some(problem) = &row.problem {
            line.push_str(&format!("\t{}", problem.escape_debug()));
        }
        text.push_str(&line);
        text.push('\n');
    }
    text
}
