//! A kubeconfig whose user runs `aws-cred token eks` as kubectl's exec plugin: one cluster, one
//! user and one context, all under one name, as a whole `kind: Config` document (kubectl
//! merges it with others through `KUBECONFIG=a:b`).
//!
//! The YAML is written by hand: every string is a double-quoted scalar with JSON's escapes,
//! which YAML reads the same way, so no value can break the document's structure.

use crate::base::error::Problem;
use crate::base::text::escape;

/// What the document says.
#[derive(Debug, Clone)]
pub(crate) struct Entry<'a> {
    /// The name of the cluster, user and context entries.
    pub name: &'a str,
    pub cluster: &'a str,
    pub server: &'a str,
    /// The cluster's CA certificates (PEM); kubectl gets them as `certificate-authority-data`.
    pub ca_pem: Option<&'a [u8]>,
    pub region: &'a str,
    /// `--profile` for the plugin (none: the default chain).
    pub profile: Option<&'a str>,
    pub role_arn: Option<&'a str>,
    /// The program kubectl runs.
    pub command: &'a str,
}

/// The API server's URL: `https://` (or `http://` for a loopback test server), with a host.
pub(crate) fn check_server(server: &str) -> Result<(), Problem> {
    let parsed = url::Url::parse(server).ok();
    let ok = parsed
        .as_ref()
        .is_some_and(|u| matches!(u.scheme(), "https" | "http") && u.host_str().is_some());
    if ok {
        return Ok(());
    }
    Err(
        Problem::usage(format!("{} is not an API server URL", escape(server)))
            .hint("the cluster's endpoint, as `aws eks describe-cluster --query cluster.endpoint` prints it: https://ABC123.gr7.eu-west-1.eks.amazonaws.com"),
    )
}

/// PEM certificates, as EKS gives them (base64-decoded `certificateAuthority.data`).
pub(crate) fn check_ca(pem: &[u8]) -> Result<(), Problem> {
    let text = std::str::from_utf8(pem).unwrap_or("");
    if text.contains("-----BEGIN CERTIFICATE-----") && text.contains("-----END CERTIFICATE-----") {
        Ok(())
    } else {
        Err(Problem::usage("--ca: the file holds no PEM certificate")
            .hint("give the cluster's CA certificate as PEM (-----BEGIN CERTIFICATE----- ...)"))
    }
}

fn quoted(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// The plugin's arguments.
pub(crate) fn plugin_args(entry: &Entry<'_>) -> Vec<String> {
    let mut args: Vec<String> = [
        "token",
        "eks",
        "--cluster",
        entry.cluster,
        "--region",
        entry.region,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Some(profile) = entry.profile {
        args.extend(["--profile".to_string(), profile.to_string()]);
    }
    if let Some(role) = entry.role_arn {
        args.extend(["--role-arn".to_string(), role.to_string()]);
    }
    args
}

/// The three entries, each a block-sequence item at column 0 (`- name: ...` and its mapping),
/// in kubeconfig order: cluster, user, context.
fn items(entry: &Entry<'_>) -> [(&'static str, String); 3] {
    use base64::Engine as _;
    let name = quoted(entry.name);
    let mut cluster = format!(
        "- name: {name}\n  cluster:\n    server: {}\n",
        quoted(entry.server)
    );
    if let Some(pem) = entry.ca_pem {
        cluster.push_str("    certificate-authority-data: ");
        cluster.push_str(&quoted(
            &base64::engine::general_purpose::STANDARD.encode(pem),
        ));
        cluster.push('\n');
    }
    let mut user = format!(
        "- name: {name}\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: {}\n      args:\n",
        quoted(entry.command)
    );
    for arg in plugin_args(entry) {
        user.push_str("      - ");
        user.push_str(&quoted(&arg));
        user.push('\n');
    }
    let context = format!("- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\n");
    [
        ("clusters", cluster),
        ("users", user),
        ("contexts", context),
    ]
}

/// The whole document.
pub(crate) fn render(entry: &Entry<'_>) -> String {
    let mut out = String::from("apiVersion: v1\nkind: Config\n");
    for (key, item) in items(entry) {
        out.push_str(key);
        out.push_str(":\n");
        out.push_str(&item);
    }
    out.push_str("current-context: ");
    out.push_str(&quoted(entry.name));
    out.push('\n');
    out
}

/// What [`merge`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Merged {
    pub text: String,
    /// Entries of that name were there and were replaced (else added).
    pub replaced: bool,
    /// The current context was set (the file had none); else it stays as it was.
    pub set_current: bool,
}

/// Why a kubeconfig is not edited.
fn refuse(line: usize, what: &str) -> Problem {
    Problem::usage(format!(
        "the kubeconfig is not changed: line {line}: {what}; aws-cred edits only the block style kubectl writes"
    ))
    .hint("print the document instead (without --write), save it as its own file and add it to KUBECONFIG")
}

/// A top-level key line (`key:` or `key: value` at column 0): the key and what follows the colon.
fn top_level_key(line: &str) -> Option<(&str, &str)> {
    let first = line.chars().next()?;
    if first.is_whitespace() || first == '#' || first == '-' {
        return None;
    }
    let (key, rest) = line.split_once(':')?;
    (!key.contains(' ') || key.starts_with('"')).then_some((key.trim_matches('"'), rest))
}

/// A scalar as kubectl writes names: plain (up to a ` #` comment), or single- or
/// double-quoted.
fn scalar(text: &str) -> Option<String> {
    let text = text.trim();
    if let Some(inner) = text.strip_prefix('"') {
        return serde_json::from_str::<String>(&format!("\"{}", inner.split(" #").next()?.trim()))
            .ok();
    }
    if let Some(inner) = text.strip_prefix('\'') {
        let end = inner.rfind('\'')?;
        return Some(inner[..end].replace("''", "'"));
    }
    Some(text.split(" #").next()?.trim().to_string())
}

/// The value of `name:` in one sequence item (its lines, the item's indentation).
fn item_name(lines: &[&str], indent: usize) -> Option<String> {
    let inner = indent + 2;
    for (i, line) in lines.iter().enumerate() {
        let body = if i == 0 {
            line.get(indent + 1..)?.trim_start()
        } else if line.len() > inner
            && line[..inner].trim().is_empty()
            && !line[inner..].starts_with(' ')
        {
            &line[inner..]
        } else {
            continue;
        };
        if let Some(value) = body.strip_prefix("name:") {
            return scalar(value);
        }
    }
    None
}

/// `entry` merged into a kubeconfig's text, everything else byte for byte: in each of
/// `clusters`, `users` and `contexts` the item of that name is replaced, or ours is appended;
/// a missing list is added; `current-context` is set only when the file has none. Line endings
/// follow the file's. Flow style, anchors, tabs and several documents are refused.
pub(crate) fn merge(existing: &str, entry: &Entry<'_>) -> Result<Merged, Problem> {
    if existing.trim().is_empty() {
        return Ok(Merged {
            text: render(entry),
            replaced: false,
            set_current: true,
        });
    }
    let crlf = existing.contains("\r\n");
    let text = existing.replace("\r\n", "\n");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    check_block_style(&lines)?;
    let mut replaced = false;
    for (key, item) in items(entry) {
        replaced |= merge_list(&mut lines, key, &item, entry.name)?;
    }
    let set_current = set_current_context(&mut lines, entry.name);
    let ending = if crlf { "\r\n" } else { "\n" };
    let mut out = lines.join(ending);
    out.push_str(ending);
    Ok(Merged {
        text: out,
        replaced,
        set_current,
    })
}

/// Refuses what [`merge`] does not edit: tabs in the indentation, several documents, an
/// anchor, alias or tag on a top-level key.
fn check_block_style(lines: &[String]) -> Result<(), Problem> {
    for (n, line) in lines.iter().enumerate() {
        let content = line.trim_start();
        if line.starts_with('\t') || (line.starts_with(' ') && content.starts_with('\t')) {
            return Err(refuse(n + 1, "a tab in the indentation"));
        }
        if n > 0 && (line.starts_with("---") || line.starts_with("...")) {
            return Err(refuse(n + 1, "more than one document"));
        }
        if let Some((_, rest)) = top_level_key(line) {
            let rest = rest.trim();
            if rest.starts_with('&') || rest.starts_with('*') || rest.starts_with('!') {
                return Err(refuse(n + 1, "an anchor, alias or tag"));
            }
        }
    }
    Ok(())
}

/// Our `item` merged into the top-level list `key` (`clusters`, `users` or `contexts`): a
/// missing or empty list (`[]`, `null`, `~`, or no items) gets it, else [`replace_item`]
/// places it. Whether an item of that name was replaced.
fn merge_list(lines: &mut Vec<String>, key: &str, item: &str, name: &str) -> Result<bool, Problem> {
    let start = lines
        .iter()
        .position(|l| top_level_key(l).is_some_and(|(k, _)| k == key));
    let Some(start) = start else {
        // No such list: add it at the end.
        lines.push(format!("{key}:"));
        lines.extend(item.lines().map(str::to_string));
        return Ok(false);
    };
    let inline = top_level_key(&lines[start])
        .map(|(_, rest)| rest.trim())
        .unwrap_or("");
    let inline = inline.split(" #").next().unwrap_or("").trim();
    let end = (start + 1..lines.len())
        .find(|&i| top_level_key(&lines[i]).is_some() || lines[i].starts_with("---"))
        .unwrap_or(lines.len());
    if !inline.is_empty() {
        if matches!(inline, "[]" | "null" | "~") {
            let block: Vec<String> = std::iter::once(format!("{key}:"))
                .chain(item.lines().map(str::to_string))
                .collect();
            lines.splice(start..start + 1, block);
            return Ok(false);
        }
        return Err(refuse(
            start + 1,
            &format!("{key} is written in flow style"),
        ));
    }
    // The items: lines starting with `-` at the first item's indentation.
    let content: Vec<usize> = (start + 1..end)
        .filter(|&i| {
            let t = lines[i].trim_start();
            !t.is_empty() && !t.starts_with('#')
        })
        .collect();
    let Some(&first) = content.first() else {
        let block: Vec<String> = item.lines().map(str::to_string).collect();
        lines.splice(start + 1..start + 1, block);
        return Ok(false);
    };
    let indent = lines[first].len() - lines[first].trim_start().len();
    if !lines[first][indent..].starts_with('-') {
        return Err(refuse(first + 1, &format!("{key} is not a list")));
    }
    Ok(replace_item(lines, &content, indent, item, name))
}

/// In a list whose `content` lines (neither blank nor comments; at least one) hold items
/// starting with `-` at `indent`: our `item` replaces the one named `name`, or follows the
/// last. Whether it replaced one.
fn replace_item(
    lines: &mut Vec<String>,
    content: &[usize],
    indent: usize,
    item: &str,
    name: &str,
) -> bool {
    let starts: Vec<usize> = content
        .iter()
        .copied()
        .filter(|&i| {
            let line = &lines[i];
            line.len() > indent
                && line[..indent].trim().is_empty()
                && line[indent..].starts_with('-')
        })
        .collect();
    let last_content = *content.last().expect("one item at least");
    let ours: Vec<String> = item
        .lines()
        .map(|l| format!("{}{l}", " ".repeat(indent)))
        .collect();
    let mut found = None;
    for (k, &item_start) in starts.iter().enumerate() {
        let item_end = starts.get(k + 1).copied().unwrap_or(last_content + 1);
        let item_lines: Vec<&str> = lines[item_start..item_end]
            .iter()
            .map(String::as_str)
            .collect();
        if item_name(&item_lines, indent).as_deref() == Some(name) {
            found = Some((item_start, item_end));
            break;
        }
    }
    match found {
        Some((item_start, item_end)) => {
            // Keep comment and blank lines that end the item (they come before the next).
            let mut item_end = item_end;
            while item_end > item_start + 1 {
                let t = lines[item_end - 1].trim_start();
                if t.is_empty() || t.starts_with('#') {
                    item_end -= 1;
                } else {
                    break;
                }
            }
            lines.splice(item_start..item_end, ours);
            true
        }
        None => {
            lines.splice(last_content + 1..last_content + 1, ours);
            false
        }
    }
}

/// Sets `current-context` to `name` when the file has none (or an empty one); whether it did.
fn set_current_context(lines: &mut Vec<String>, name: &str) -> bool {
    let current = lines
        .iter()
        .position(|l| top_level_key(l).is_some_and(|(k, _)| k == "current-context"));
    let new_current = format!("current-context: {}", quoted(name));
    match current {
        None => {
            lines.push(new_current);
            true
        }
        Some(i) => {
            let value = top_level_key(&lines[i]).and_then(|(_, rest)| scalar(rest));
            if value.as_deref().is_none_or(str::is_empty) {
                lines[i] = new_current;
                true
            } else {
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_names_everything_once_and_quotes_every_value() {
        let entry = Entry {
            name: "prod",
            cluster: "prod",
            server: "https://ABC.gr7.eu-west-1.eks.amazonaws.com",
            ca_pem: Some(b"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"),
            region: "eu-west-1",
            profile: Some("admin \"x\"\n"),
            role_arn: None,
            command: "aws-cred",
        };
        let doc = render(&entry);
        assert!(doc.starts_with("apiVersion: v1\nkind: Config\nclusters:\n- name: \"prod\"\n"));
        assert!(doc.contains("    server: \"https://ABC.gr7.eu-west-1.eks.amazonaws.com\"\n"));
        assert!(doc.contains("    certificate-authority-data: \"LS0tLS1CRUdJTi"));
        assert!(
            doc.contains("      - \"--profile\"\n      - \"admin \\\"x\\\"\\n\"\n"),
            "{doc}"
        );
        assert!(doc.ends_with("current-context: \"prod\"\n"));
        assert_eq!(doc.matches("\n- name: \"prod\"").count(), 3);
    }

    fn entry(name: &'static str) -> Entry<'static> {
        Entry {
            name,
            cluster: name,
            server: "https://new.example.com",
            ca_pem: None,
            region: "eu-west-1",
            profile: None,
            role_arn: None,
            command: "aws-cred",
        }
    }

    /// A kubeconfig as kubectl writes it, with two clusters and a comment.
    const KUBECTL: &str = "apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: AAAA
    server: https://one.example.com
  name: one
- cluster:
    server: https://prod.old.example.com
  name: prod
contexts:
- context:
    cluster: one
    user: one
  name: one
# my own note
current-context: one
kind: Config
preferences: {}
users:
- name: one
  user:
    token: secret-one
";

    #[test]
    fn merging_adds_our_entries_and_keeps_every_other_byte() {
        let merged = merge(KUBECTL, &entry("dev")).unwrap();
        assert!(!merged.replaced && !merged.set_current);
        let expected_added = [
            "  name: prod\n- name: \"dev\"\n  cluster:\n    server: \"https://new.example.com\"\ncontexts:",
            "  name: one\n- name: \"dev\"\n  context:\n    cluster: \"dev\"\n    user: \"dev\"\n# my own note",
            "    token: secret-one\n- name: \"dev\"\n  user:\n    exec:\n",
        ];
        for added in expected_added {
            assert!(merged.text.contains(added), "{added}\n---\n{}", merged.text);
        }
        // Every line of the file is still there, in order; ours are the only new ones.
        let mut merged_lines = merged.text.lines();
        for line in KUBECTL.lines() {
            assert!(merged_lines.any(|l| l == line), "{line} kept in order");
        }
        assert_eq!(
            merged.text.lines().count(),
            KUBECTL.lines().count() + render(&entry("dev")).lines().count() - 6,
            "only our three items were added"
        );
        let again = merge(&merged.text, &entry("dev")).unwrap();
        assert_eq!(again.text, merged.text, "merging twice changes nothing");
        assert!(again.replaced);
    }

    #[test]
    fn an_entry_of_the_same_name_is_replaced_in_place() {
        let merged = merge(KUBECTL, &entry("prod")).unwrap();
        assert!(merged.replaced);
        assert!(!merged.text.contains("prod.old.example.com"));
        assert!(merged.text.contains("  name: one\n- name: \"prod\"\n  cluster:\n    server: \"https://new.example.com\"\ncontexts:"), "{}", merged.text);
        assert_eq!(
            merged.text.matches("name: one").count(),
            3,
            "the other entries stay"
        );
        assert!(
            merged
                .text
                .contains("# my own note\ncurrent-context: one\nkind: Config\npreferences: {}\n")
        );
    }

    #[test]
    fn empty_lists_missing_lists_and_no_current_context_are_filled() {
        let merged = merge(
            "apiVersion: v1\nclusters: []\nkind: Config\nusers: null\n",
            &entry("dev"),
        )
        .unwrap();
        assert!(merged.set_current);
        assert!(
            merged
                .text
                .starts_with("apiVersion: v1\nclusters:\n- name: \"dev\"\n"),
            "{}",
            merged.text
        );
        assert!(
            merged
                .text
                .contains("kind: Config\nusers:\n- name: \"dev\"\n")
        );
        assert!(merged.text.contains("contexts:\n- name: \"dev\"\n"));
        assert!(merged.text.ends_with("current-context: \"dev\"\n"));
        let fresh = merge("", &entry("dev")).unwrap();
        assert_eq!(fresh.text, render(&entry("dev")));
        let merged = merge("current-context: \"\"\n", &entry("dev")).unwrap();
        assert!(merged.set_current && merged.text.starts_with("current-context: \"dev\"\n"));
    }

    #[test]
    fn indented_items_quoted_names_and_crlf_are_kept() {
        let text = "clusters:\r\n  - name: 'prod'\r\n    cluster:\r\n      server: https://x\r\n";
        let merged = merge(text, &entry("prod")).unwrap();
        assert!(merged.replaced);
        assert!(merged.text.contains("clusters:\r\n  - name: \"prod\"\r\n    cluster:\r\n      server: \"https://new.example.com\"\r\n"), "{:?}", merged.text);
        assert!(
            !merged.text.replace("\r\n", "").contains('\n'),
            "CRLF throughout"
        );
    }

    #[test]
    fn what_aws_cred_cannot_edit_safely_is_refused() {
        for text in [
            "clusters: [{name: a, cluster: {server: https://x}}]\n",
            "clusters:\n\t- name: a\n",
            "apiVersion: v1\n---\nkind: Config\n",
            "users: &u\n- name: a\n",
            "clusters:\n  server: x\n",
        ] {
            let err = merge(text, &entry("dev")).unwrap_err();
            assert_eq!(err.exit, crate::base::error::Exit::Usage, "{text}");
            assert!(err.message.contains("not changed"), "{}", err.message);
        }
    }

    #[test]
    fn server_and_ca_are_checked() {
        assert!(check_server("https://abc.eks.amazonaws.com").is_ok());
        assert!(check_server("http://127.0.0.1:6443").is_ok());
        for bad in ["", "abc.eks.amazonaws.com", "ftp://x", "https://"] {
            assert!(check_server(bad).is_err(), "{bad}");
        }
        assert!(
            check_ca(b"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n").is_ok()
        );
        assert!(check_ca(b"not a cert").is_err());
    }
}
