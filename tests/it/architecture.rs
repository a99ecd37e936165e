//! The layer rule of `src/lib.rs`, checked: a module may import (`crate::…`) only from layers
//! below its own. Flows (one layer) do not import each other. A module missing from the table
//! fails too, so a new module has to be given a place.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Top-level module → layer. Lower numbers are lower layers. Keep in step with `src/lib.rs`.
const LAYERS: &[(&str, u8)] = &[
    ("base", 0),
    ("os", 1),
    ("profile", 2),
    // Flag → variable → profile key → default, declared once; flows and the chain read it.
    ("settings", 3),
    ("cache", 4),
    ("aws", 5),
    // What the two OAuth flows share (PKCE, how a browser sign-in failed).
    ("auth", 6),
    // Flows: one folder per way of getting credentials. They never import the chain.
    ("mfa", 7),
    ("sso", 7),
    ("cognito", 7),
    ("login", 7),
    ("keys", 7),
    ("token", 7),
    ("console", 7),
    ("chain", 8),
    ("output", 9),
    ("server", 10),
    ("cli", 11),
    ("commands", 12),
];

fn layer(module: &str) -> Option<u8> {
    LAYERS
        .iter()
        .find(|(name, _)| *name == module)
        .map(|(_, layer)| *layer)
}

/// The top-level module a source file belongs to (`src/chain/env.rs` → `chain`); `None` for the
/// crate root files, which may use anything.
fn module_of(relative: &Path) -> Option<String> {
    let mut parts = relative.components();
    let first = parts.next()?.as_os_str().to_str()?.to_string();
    if parts.next().is_some() {
        return Some(first);
    }
    let stem = first.strip_suffix(".rs")?;
    (!matches!(stem, "lib" | "main")).then(|| stem.to_string())
}

/// Source text without comments and string literals, so neither can hide or fake an import.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                out.push_str("\"\"");
            }
            b'\'' if bytes.get(i + 2) == Some(&b'\'') => {
                // A char literal such as '"' (lifetimes have no closing quote).
                i += 3;
            }
            b'\'' if bytes.get(i + 1) == Some(&b'\\') => {
                i += 2;
                while i < bytes.len() && bytes[i] != b'\'' {
                    i += 1;
                }
                i += 1;
            }
            c => {
                out.push(c as char);
                i += 1;
            }
        }
    }
    out
}

/// Every top-level module named by a `crate::` path: `crate::a::b`, `crate::{a, b::c}`.
fn imported_modules(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `aws_cred_crate::` and the like
        }
        let rest_trim = rest.trim_start();
        if let Some(group) = rest_trim.strip_prefix('{') {
            let mut depth = 1;
            let mut item = String::new();
            let mut items = Vec::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => {
                        items.push(std::mem::take(&mut item));
                        continue;
                    }
                    _ => {}
                }
                if depth == 1 {
                    item.push(c);
                }
            }
            items.push(item);
            for item in items {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.push(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push(name);
            }
        }
    }
    found
}

/// The rule for one file: each violation as a line.
fn violations(relative: &Path, text: &str) -> Vec<String> {
    let Some(module) = module_of(relative) else {
        return Vec::new();
    };
    let Some(own) = layer(&module) else {
        return vec![format!(
            "{}: module `{module}` has no layer; add it to LAYERS in tests/it/architecture.rs and to the rule in src/lib.rs",
            relative.display()
        )];
    };
    let mut out = Vec::new();
    for target in imported_modules(&code_only(text)) {
        if target == module || matches!(target.as_str(), "self" | "super") {
            continue;
        }
        match layer(&target) {
            None => out.push(format!(
                "{}: imports crate::{target}, which has no layer",
                relative.display()
            )),
            Some(theirs) if theirs >= own => out.push(format!(
                "{}: `{module}` (layer {own}) imports crate::{target} (layer {theirs}); a module may only import from lower layers",
                relative.display()
            )),
            Some(_) => {}
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read src")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_imports_from_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(
        files.len() > 20,
        "found only {} files under src",
        files.len()
    );
    let mut all = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for path in &files {
        let relative = path.strip_prefix(&src).expect("under src");
        if let Some(module) = module_of(relative) {
            *seen.entry(module).or_default() += 1;
        }
        let text = std::fs::read_to_string(path).expect("read source");
        all.extend(violations(relative, &text));
    }
    assert!(all.is_empty(), "layer violations:\n{}", all.join("\n"));
    for must in ["base", "os", "chain", "commands"] {
        assert!(seen.contains_key(must), "no files for module {must}");
    }
}

#[test]
fn the_checker_catches_upward_imports() {
    let upward = violations(
        Path::new("base/time.rs"),
        "use crate::chain::Request;\nfn f() {}\n",
    );
    assert_eq!(upward.len(), 1, "{upward:?}");
    let grouped = violations(
        Path::new("mfa.rs"),
        "use crate::{aws::Aws, chain::parse_time, sso::SsoConfig};\n",
    );
    assert_eq!(
        grouped.len(),
        2,
        "chain (above) and sso (a sibling flow): {grouped:?}"
    );
    let inline = violations(
        Path::new("sso/token.rs"),
        "fn f() { crate::chain::first_line(&e); }\n",
    );
    assert_eq!(inline.len(), 1, "{inline:?}");
    let unknown = violations(Path::new("newthing/mod.rs"), "");
    assert_eq!(unknown.len(), 1, "{unknown:?}");
}

#[test]
fn the_checker_allows_downward_imports_and_ignores_comments_and_strings() {
    let ok = violations(
        Path::new("commands/export.rs"),
        "use crate::{chain, output::Format};\n// crate::commands is fine anyway\nlet s = \"crate::cli\";\n",
    );
    assert!(ok.is_empty(), "{ok:?}");
    let hidden = violations(
        Path::new("os/fs.rs"),
        "// use crate::chain;\n/* crate::commands */\nlet s = \"crate::chain\";\n",
    );
    assert!(hidden.is_empty(), "{hidden:?}");
    assert!(violations(Path::new("lib.rs"), "use crate::commands;").is_empty());
}

/// Lines outside `src/os/` that make code depend on the platform (`cfg(unix)`, `cfg(windows)`,
/// `target_os`, `std::os::unix`/`windows`), unless a comment in the three lines above says why
/// ("Unix only: …" or "Windows only: …"). The OS seam is `src/os/`; elsewhere only tests may be
/// platform-bound, and they say why.
fn unexplained_platform_code(relative: &Path, text: &str) -> Vec<String> {
    if relative.starts_with("os") {
        return Vec::new();
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    // The indentation of an explained `cfg` item being read: its body is explained too.
    let mut inside: Option<usize> = None;
    for (index, line) in lines.iter().enumerate() {
        let indent = line.len() - line.trim_start().len();
        if let Some(level) = inside {
            let closes = indent == level && (line.trim() == "}" || line.trim_end().ends_with(';'));
            if closes {
                inside = None;
            }
            continue;
        }
        let code = line.split("//").next().unwrap_or_default();
        let compact = code.replace(' ', "");
        let platform = [
            "cfg(unix",
            "cfg(windows",
            "cfg(not(unix",
            "cfg(not(windows",
            "target_os",
        ]
        .iter()
        .any(|needle| compact.contains(needle))
            || code.contains("std::os::unix")
            || code.contains("std::os::windows");
        if !platform {
            continue;
        }
        let explained = lines[index.saturating_sub(3)..index]
            .iter()
            .any(|above| above.contains("Unix only") || above.contains("Windows only"));
        if explained && compact.starts_with("#[cfg(") {
            inside = Some(indent);
        } else if !explained {
            found.push(format!(
                "src/{}:{}: {}",
                relative.display(),
                index + 1,
                line.trim()
            ));
        }
    }
    found
}

#[test]
fn platform_code_lives_in_the_os_seam() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut all = Vec::new();
    for path in &files {
        let relative = path.strip_prefix(&src).expect("under src");
        let text = std::fs::read_to_string(path).expect("read source");
        all.extend(unexplained_platform_code(relative, &text));
    }
    assert!(
        all.is_empty(),
        "platform-bound code outside src/os without a reason:\n{}",
        all.join("\n")
    );
}

#[test]
fn the_platform_check_catches_a_bare_cfg_and_accepts_a_reason() {
    let bare = "fn f() {}\n#[cfg(windows)]\nfn g() {}\n";
    assert_eq!(
        unexplained_platform_code(Path::new("chain/x.rs"), bare).len(),
        1
    );
    let import = "use std::os::unix::fs::PermissionsExt;\n";
    assert_eq!(
        unexplained_platform_code(Path::new("cache.rs"), import).len(),
        1
    );
    let explained = "    // Unix only: file modes.\n    #[cfg(unix)]\n    #[test]\n    fn t() {\n        std::os::unix::fs::chown(p, None, None);\n    }\n";
    assert!(unexplained_platform_code(Path::new("cache.rs"), explained).is_empty());
    // After the explained item ends, a bare one is caught again.
    let after = format!(
        "{explained}    fn u() {{\n        std::os::unix::fs::chown(p, None, None);\n    }}\n"
    );
    assert_eq!(
        unexplained_platform_code(Path::new("cache.rs"), &after).len(),
        1
    );
    assert!(unexplained_platform_code(Path::new("os/fs.rs"), bare).is_empty());
}

/// What the chain's side of a sign-in flow may not name: the person-at-the-browser half (SSO's
/// `interactive`, login's `authorize`) and the OS pieces only that half uses.
const INTERACTIVE_ONLY: &[&str] = &["interactive", "authorize::", "os::browser", "callback::"];

/// Each use of an interactive-only piece in `text`, as a line.
fn reaches_the_browser(relative: &Path, text: &str) -> Vec<String> {
    let code = code_only(text);
    INTERACTIVE_ONLY
        .iter()
        .filter(|piece| code.contains(*piece))
        .map(|piece| format!("{}: names `{piece}`", relative.display()))
        .collect()
}

#[test]
fn the_chain_cannot_reach_a_browser_even_statically() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src.join("chain"), &mut files);
    for file in [
        "sso/token.rs",
        "sso/cache.rs",
        "sso/oidc.rs",
        "sso/portal.rs",
        "sso/config.rs",
        "login/mod.rs",
        "login/cache.rs",
        "login/dpop.rs",
        "login/token_api.rs",
        "auth/obtain.rs",
    ] {
        files.push(src.join(file));
    }
    let mut all = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("read source");
        all.extend(reaches_the_browser(path.strip_prefix(&src).unwrap(), &text));
    }
    assert!(
        all.is_empty(),
        "the chain's side reaches the interactive side:\n{}",
        all.join("\n")
    );
    // The check sees a real import.
    let planted = "use super::interactive::login;\nfn f() {}\n";
    assert_eq!(
        reaches_the_browser(Path::new("sso/token.rs"), planted).len(),
        1
    );
}
