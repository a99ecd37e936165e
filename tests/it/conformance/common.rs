//! What every runner shares: where the data is, the per-suite tally (pass, deviation, failure),
//! the check that docs/CONFORMANCE.md states the same numbers, and running the binary.

use crate::support::{self, OutputExt};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// `../shared/conformance` next to the repository, read in place. `None` (after printing that
/// the suite was skipped) when it is missing, except under `CI=true`, where that is a failure.
pub(super) fn data_dir(suite: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance");
    if dir.join("README.md").is_file() {
        return Some(dir);
    }
    assert!(
        !support::in_ci(),
        "conformance data not found at {}; CI=true, so {suite} must not be skipped",
        dir.display()
    );
    eprintln!(
        "skipped {suite}: no conformance data at {} (see docs/CONFORMANCE.md)",
        dir.display()
    );
    None
}

pub(super) fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// The outcome of every case of one suite.
pub(super) struct Tally {
    suite: &'static str,
    total: usize,
    passed: usize,
    deviations: Vec<(String, String)>,
    failures: Vec<String>,
    notes: Vec<String>,
}

impl Tally {
    pub(super) fn new(suite: &'static str) -> Tally {
        Tally {
            suite,
            total: 0,
            passed: 0,
            deviations: Vec::new(),
            failures: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Record one case from its result: `Ok` passes, `Err(why)` fails.
    pub(super) fn record(&mut self, case: &str, result: Result<(), String>) {
        self.total += 1;
        match result {
            Ok(()) => self.passed += 1,
            Err(why) => {
                println!("FAIL: {case}: {why}");
                self.failures.push(format!("{case}: {why}"));
            }
        }
    }

    /// A deliberate deviation that the runner does not execute (it does not apply to a CLI,
    /// or the platform is not Unix).
    pub(super) fn deviation(&mut self, case: &str, reason: &str) {
        self.total += 1;
        println!("deviation: {case}: {reason}");
        self.deviations.push((case.to_string(), reason.to_string()));
    }

    /// A deliberate deviation that the runner executes anyway: the case must still differ
    /// (`result` is `Err`), so a deviation that starts passing is reported as stale.
    pub(super) fn verified_deviation(
        &mut self,
        case: &str,
        reason: &str,
        result: Result<(), String>,
    ) {
        match result {
            Err(why) => {
                self.deviation(case, reason);
                println!("  (as expected, it differs: {why})");
            }
            Ok(()) => {
                self.total += 1;
                let why = format!("listed as a deviation ({reason}) but it passes: remove it");
                println!("FAIL: {case}: {why}");
                self.failures.push(format!("{case}: {why}"));
            }
        }
    }

    /// A soft check that did not hold (e.g. an SDK's error wording); printed, not counted.
    pub(super) fn note(&mut self, case: &str, text: &str) {
        println!("note: {case}: {text}");
        self.notes.push(format!("{case}: {text}"));
    }

    /// Print the summary, check docs/CONFORMANCE.md agrees, and fail on any failure.
    pub(super) fn finish(self) {
        let row = format!(
            "| {} | {} | {} | {} |",
            self.suite,
            self.total,
            self.passed,
            self.deviations.len()
        );
        println!(
            "suite {}: {} cases, {} passed, {} deviations, {} failed, {} notes",
            self.suite,
            self.total,
            self.passed,
            self.deviations.len(),
            self.failures.len(),
            self.notes.len()
        );
        assert!(
            self.failures.is_empty(),
            "{}: {} case(s) failed:\n{}",
            self.suite,
            self.failures.len(),
            self.failures.join("\n")
        );
        assert_eq!(
            self.passed + self.deviations.len(),
            self.total,
            "every case passes or is a deviation"
        );
        let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/CONFORMANCE.md");
        let doc = std::fs::read_to_string(&doc_path).unwrap_or_default();
        assert!(
            doc.contains(&row),
            "docs/CONFORMANCE.md must carry this run's numbers; expected the table row\n{row}"
        );
        for (case, _) in &self.deviations {
            assert!(
                doc.contains(&format!("`{case}`")),
                "docs/CONFORMANCE.md must list the deviation `{case}` of {}",
                self.suite
            );
        }
    }
}

/// A case's label: its position (1-based) and name, unique even when names repeat.
pub(super) fn label(index: usize, name: &str) -> String {
    format!("#{} {}", index + 1, name.trim())
}

/// The string at `key`, if it is one.
pub(super) fn str_at<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// A JSON object of strings as a map (non-strings are skipped).
pub(super) fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|obj| {
            obj.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The aws-cred binary with exactly `env` (plus `PATH`, so `sh` and the commands a
/// credential_process names can be found), working directory `cwd`, stdin null.
pub(super) fn aws_cred(env: &BTreeMap<String, String>, cwd: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aws-cred"));
    cmd.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd.envs(env)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .args(args);
    support::run(&mut cmd)
}

/// What `export --format json` printed, or why there is nothing to compare.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Printed {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// Unix seconds.
    pub expiry: Option<i64>,
    pub account_id: Option<String>,
}

pub(super) fn printed(out: &Output) -> Result<Printed, String> {
    if out.code() != Some(0) {
        return Err(format!(
            "exit {:?}: {}",
            out.code(),
            out.stderr_str().trim()
        ));
    }
    let doc: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("stdout is not JSON ({e}): {}", out.stdout_str()))?;
    let text = |key: &str| doc.get(key).and_then(Value::as_str).map(str::to_string);
    Ok(Printed {
        access_key_id: text("AccessKeyId").ok_or("no AccessKeyId")?,
        secret_access_key: text("SecretAccessKey").ok_or("no SecretAccessKey")?,
        session_token: text("SessionToken"),
        expiry: match text("Expiration") {
            None => None,
            Some(t) => Some(unix_seconds(&t).ok_or(format!("bad Expiration {t:?}"))?),
        },
        account_id: text("AccountId"),
    })
}

/// RFC 3339 → Unix seconds.
pub(super) fn unix_seconds(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.timestamp())
}

/// Compare one expected field; `None` means "must be absent".
pub(super) fn same<T: PartialEq + std::fmt::Debug>(
    what: &str,
    expected: &Option<T>,
    actual: &Option<T>,
) -> Result<(), String> {
    if expected == actual {
        Ok(())
    } else {
        Err(format!("{what}: expected {expected:?}, got {actual:?}"))
    }
}

/// The link lines of an `--explain` trace: `(link, verb)`, e.g. `("profile", "resolved")`.
pub(super) fn trace(stderr: &str) -> Vec<(String, String)> {
    const LINKS: [&str; 5] = ["env", "web-identity", "profile", "ecs", "imds"];
    stderr
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let link = words.next()?;
            let verb = words.next()?.trim_end_matches(':');
            LINKS
                .contains(&link)
                .then(|| (link.to_string(), verb.to_string()))
        })
        .collect()
}

/// Which link resolved, from an `--explain` trace.
pub(super) fn resolved_link(stderr: &str) -> Option<String> {
    trace(stderr)
        .into_iter()
        .find(|(_, verb)| verb == "resolved")
        .map(|(link, _)| link)
}

/// `scheme://host[:port]/path?query` split the way the SDK harness compares requests: scheme,
/// host with a non-default port, path (`/` when empty) and the query as a sorted list.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Target {
    pub scheme: String,
    pub host: String,
    pub path: String,
    pub query: Vec<(String, String)>,
}

impl Target {
    pub(super) fn parse(uri: &str) -> Target {
        let (scheme, rest) = uri.split_once("://").unwrap_or(("http", uri));
        let (authority, path_query) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => match rest.find('?') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            },
        };
        let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
        Target::new(scheme, authority, path, query)
    }

    /// What the redirected binary sent, as the fake saw it.
    pub(super) fn of_request(req: &support::Request) -> Target {
        let scheme = req.header("x-aws-cred-original-scheme").unwrap_or("?");
        let host = req.header("x-aws-cred-original-host").unwrap_or("?");
        let query = req.target.split_once('?').map_or("", |(_, q)| q);
        Target::new(scheme, host, &req.path, query)
    }

    fn new(scheme: &str, authority: &str, path: &str, query: &str) -> Target {
        let scheme = scheme.to_ascii_lowercase();
        let default_port = if scheme == "https" { ":443" } else { ":80" };
        let host = authority
            .strip_suffix(default_port)
            .unwrap_or(authority)
            .to_ascii_lowercase();
        let path = if path.is_empty() { "/" } else { path }.to_string();
        let mut query = support::parse_urlencoded(query);
        query.sort();
        Target {
            scheme,
            host,
            path,
            query,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.host, self.path)?;
        for (i, (k, v)) in self.query.iter().enumerate() {
            write!(f, "{}{k}={v}", if i == 0 { '?' } else { '&' })?;
        }
        Ok(())
    }
}

/// The environment every binary run gets on top of a case's own: the redirect to the fake
/// and the frozen clock (Unix epoch, as the SDK harness freezes it).
pub(super) fn harness_env(env: &mut BTreeMap<String, String>, fake_url: &str) {
    env.insert("AWS_CRED_TEST_REDIRECT_ALL_HTTP".into(), fake_url.into());
    env.insert("AWS_CRED_TEST_NOW".into(), "0".into());
}

/// Run `future` to completion on a fresh current-thread runtime.
pub(super) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(future)
}
