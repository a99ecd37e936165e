//! Differential testing against botocore (issue 6, item 2): a seeded generator writes a corpus of
//! config/credentials files and environments; aws-cred (`export --format json`) and botocore
//! (one Python process for the whole corpus, `tests/differential_botocore.py`) resolve every case,
//! and their outcomes must agree: the same credentials, both "no credentials", or both an error.
//!
//! The corpus covers static keys, odd profile names, upper/mixed-case key names, comments,
//! sub-properties, role chains ending in static keys, a credential_process or
//! `credential_source = Environment`, web identity, credential_process successes and failures,
//! missing pieces (no secret, no source profile, unknown profiles), malformed lines,
//! AWS_PROFILE set or unset, `--profile`, and key variables set, empty or half set.
//!
//! Role chains need STS: both sides talk to one loopback fake (`AWS_ENDPOINT_URL_STS`) whose
//! answers are a hash of what it was asked (the caller's access key and session token, role ARN,
//! external id, duration, or the web identity token), so equal final credentials prove that both
//! walked the same chain from the same base credentials with the same parameters.
//!
//! A case whose construction includes a documented deviation (a `Tag`) may disagree; it is
//! counted under that tag. Any other disagreement fails the test. docs/CONFORMANCE.md carries the
//! counts of this run and every tag's reason.

use crate::support;

use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use support::{FakeHttp, OutputExt, Response};

const SEED: u64 = 0x5eed_0006_2026_0001;
const CASES: usize = 300;

// ---------------------------------------------------------------------------------------------
// Documented deviations
// ---------------------------------------------------------------------------------------------

/// Features whose handling differs between aws-cred and botocore on purpose. A case gets a tag
/// when the generator puts the feature in it, never from its result; a disagreement is counted
/// under the first of the case's tags that explains its shape (`Tag::explains`), and is a
/// failure when none does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tag {
    DuplicateSection,
    WhitespaceOnlyEnvKey,
    LoneSecretVariable,
    MissingProfileWithEnvCredentials,
    SecretWithoutKeyInProfile,
    WebIdentityEnvBeforeProfileRole,
    ProcessAndKeysInOneProfile,
    InlineComment,
}

impl Tag {
    /// Whether this tag explains how the two outcomes differ; a tag that does not (a case
    /// that disagrees in some other way) leaves the disagreement undocumented.
    fn explains(self, ours: &Outcome, theirs: &Outcome) -> bool {
        use Outcome::{Credentials, Error, None};
        match self {
            Tag::DuplicateSection => {
                matches!(theirs, Error(e) if e.starts_with("ConfigParseError"))
            }
            // The comment changes a value (a key, a role ARN, a source_profile), so anything
            // downstream may differ; it is the last tag tried.
            Tag::InlineComment => true,
            Tag::WhitespaceOnlyEnvKey => matches!(
                theirs,
                Credentials { access_key_id, .. } if access_key_id.trim().is_empty()
            ),
            Tag::LoneSecretVariable => {
                matches!(ours, Error(e) if e.contains("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"))
                    && !matches!(theirs, Error(_))
            }
            Tag::MissingProfileWithEnvCredentials => {
                matches!(ours, Credentials { .. })
                    && matches!(theirs, Error(e) if e.starts_with("ProfileNotFound"))
            }
            Tag::WebIdentityEnvBeforeProfileRole => matches!(ours, Credentials { .. }),
            Tag::ProcessAndKeysInOneProfile => matches!(theirs, Credentials { .. }),
            Tag::SecretWithoutKeyInProfile => matches!((ours, theirs), (Error(_), None)),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Tag::DuplicateSection => "duplicate-section",
            Tag::InlineComment => "inline-comment",
            Tag::WhitespaceOnlyEnvKey => "whitespace-only-env-key",
            Tag::LoneSecretVariable => "lone-secret-variable",
            Tag::MissingProfileWithEnvCredentials => "missing-profile-with-env-credentials",
            Tag::WebIdentityEnvBeforeProfileRole => "web-identity-env-before-profile-role",
            Tag::ProcessAndKeysInOneProfile => "process-and-keys-in-one-profile",
            Tag::SecretWithoutKeyInProfile => "secret-without-key-in-profile",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A small seeded generator (SplitMix64), so the corpus is the same on every run
// ---------------------------------------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn token(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len())] as char)
            .collect()
    }
    fn access_key(&mut self) -> String {
        format!(
            "AKIA{}",
            self.token(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
        )
    }
    fn secret(&mut self) -> String {
        self.token(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+",
            40,
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

/// `{DIR}` in any text stands for the case's own directory, filled in when it is written.
const DIR: &str = "{DIR}";

/// One profile's lines, before rendering (key, value).
#[derive(Clone, Default)]
struct Section {
    name: String,
    in_credentials: bool,
    entries: Vec<(String, String)>,
}

impl Section {
    fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| k == key)
    }
}

struct Case {
    id: usize,
    summary: String,
    config: Option<String>,
    credentials: Option<String>,
    env: BTreeMap<String, String>,
    profile_flag: Option<String>,
    /// Files relative to the case directory: (path, contents, executable).
    files: Vec<(String, String, bool)>,
    tags: BTreeSet<Tag>,
}

const NAMES: [&str; 11] = [
    "dev",
    "prod-admin",
    "team.ops",
    "a_b",
    "x@corp",
    "p:1",
    "path/to",
    "pct%41",
    "plus+1",
    "MixedCase",
    "n0",
];

struct Gen {
    rng: Rng,
    role_counter: usize,
}

impl Gen {
    fn role_arn(&mut self) -> String {
        self.role_counter += 1;
        if self.rng.chance(5) {
            // The fake STS refuses this one: both sides must fail.
            return "arn:aws:iam::123456789012:role/Denied".to_string();
        }
        format!("arn:aws:iam::123456789012:role/Role{}", self.role_counter)
    }

    fn static_keys(&mut self, section: &mut Section, token: bool) {
        let (key, secret) = (self.rng.access_key(), self.rng.secret());
        section.entries.push(("aws_access_key_id".into(), key));
        section
            .entries
            .push(("aws_secret_access_key".into(), secret));
        if token {
            let token = self.rng.secret();
            section.entries.push(("aws_session_token".into(), token));
        }
    }

    /// A credential_process script (the same command works with botocore's shlex split and
    /// aws-cred's `sh -c`) and what it prints.
    fn process(&mut self, case: &mut Case, section: &mut Section) -> &'static str {
        let n = case.files.len();
        let path = format!("bin/process-{n}");
        let (kind, body) = match self.rng.below(10) {
            0 => (
                "exit 1",
                "#!/bin/sh\necho 'no credentials for you' >&2\nexit 1\n".to_string(),
            ),
            1 => ("invalid JSON", "#!/bin/sh\necho 'not json'\n".to_string()),
            2 => (
                "Version 2",
                format!(
                    "#!/bin/sh\ncat <<'EOF'\n{{\"Version\": 2, \"AccessKeyId\": \"{}\", \"SecretAccessKey\": \"{}\"}}\nEOF\n",
                    self.rng.access_key(),
                    self.rng.secret()
                ),
            ),
            3 => (
                "no secret",
                format!(
                    "#!/bin/sh\ncat <<'EOF'\n{{\"Version\": 1, \"AccessKeyId\": \"{}\"}}\nEOF\n",
                    self.rng.access_key()
                ),
            ),
            4..=6 => (
                "keys and token",
                format!(
                    "#!/bin/sh\ncat <<'EOF'\n{{\"Version\": 1, \"AccessKeyId\": \"{}\", \"SecretAccessKey\": \"{}\", \"SessionToken\": \"{}\", \"Expiration\": \"2099-01-01T00:00:00Z\"}}\nEOF\n",
                    self.rng.access_key(),
                    self.rng.secret(),
                    self.rng.secret()
                ),
            ),
            _ => (
                "keys",
                format!(
                    "#!/bin/sh\ncat <<'EOF'\n{{\"Version\": 1, \"AccessKeyId\": \"{}\", \"SecretAccessKey\": \"{}\"}}\nEOF\n",
                    self.rng.access_key(),
                    self.rng.secret()
                ),
            ),
        };
        case.files.push((path.clone(), body, true));
        section
            .entries
            .push(("credential_process".into(), format!("{DIR}/{path}")));
        kind
    }

    /// The base of a role chain or a standalone profile: what gives credentials.
    fn base(&mut self, case: &mut Case, section: &mut Section, notes: &mut Vec<String>) {
        match self.rng.below(20) {
            0..=12 => {
                let token = self.rng.chance(25);
                self.static_keys(section, token);
                notes.push(format!(
                    "static keys{}",
                    if token { " + token" } else { "" }
                ));
            }
            13..=16 => {
                let kind = self.process(case, section);
                notes.push(format!("credential_process ({kind})"));
                if self.rng.chance(15) {
                    // Keys next to the process: botocore and aws-cred order them differently.
                    self.static_keys(section, false);
                    case.tags.insert(Tag::ProcessAndKeysInOneProfile);
                    notes.push("and static keys".into());
                }
            }
            17 => {
                let file = if self.rng.chance(80) {
                    let n = case.files.len();
                    let path = format!("web-token-{n}");
                    case.files
                        .push((path.clone(), "profile-web-token".into(), false));
                    path
                } else {
                    "no-such-token".to_string()
                };
                let arn = self.role_arn();
                section.entries.push(("role_arn".into(), arn));
                section
                    .entries
                    .push(("web_identity_token_file".into(), format!("{DIR}/{file}")));
                notes.push("web identity profile".into());
            }
            _ => {
                // Nothing: a profile with settings but no credentials.
                section.entries.push(("region".into(), "eu-west-1".into()));
                notes.push("no credentials".into());
            }
        }
    }

    fn case(&mut self, id: usize) -> Case {
        let mut case = Case {
            id,
            summary: String::new(),
            config: None,
            credentials: None,
            env: BTreeMap::new(),
            profile_flag: None,
            files: Vec::new(),
            tags: BTreeSet::new(),
        };
        let mut notes: Vec<String> = Vec::new();
        let mut sections: Vec<Section> = Vec::new();

        // Which profile, and how it is chosen.
        let selected = if self.rng.chance(40) {
            "default".to_string()
        } else {
            self.rng.pick(&NAMES).to_string()
        };
        let selection = self.rng.below(100);
        let by_flag = if selected == "default" {
            match selection {
                0..=69 => false,
                70..=84 => {
                    case.env.insert("AWS_PROFILE".into(), selected.clone());
                    false
                }
                _ => true,
            }
        } else if selection < 65 {
            case.env.insert("AWS_PROFILE".into(), selected.clone());
            false
        } else {
            true
        };
        if by_flag {
            case.profile_flag = Some(selected.clone());
        }
        notes.push(format!(
            "profile {selected} ({})",
            if by_flag {
                "--profile"
            } else if case.env.contains_key("AWS_PROFILE") {
                "AWS_PROFILE"
            } else {
                "default"
            }
        ));

        // The selected profile.
        let mut top = Section {
            name: selected.clone(),
            in_credentials: self.rng.chance(40),
            entries: Vec::new(),
        };
        let shape = self.rng.below(100);
        let mut defined = true;
        // credential_source = Environment usually comes with the key variables set.
        let mut wants_env_keys = false;
        match shape {
            0..=29 => self.base(&mut case, &mut top, &mut notes),
            30..=59 => {
                // A role chain of 1-3 roles, ending in a base.
                let depth = 1 + self.rng.below(3);
                notes.push(format!("role chain of {depth}"));
                let mut current = top.clone();
                current.in_credentials = false;
                let mut used: Vec<String> = vec![selected.clone()];
                for level in 0..depth {
                    let arn = self.role_arn();
                    current.entries.push(("role_arn".into(), arn));
                    if self.rng.chance(20) {
                        current
                            .entries
                            .push(("external_id".into(), format!("ext-{level}")));
                    }
                    if self.rng.chance(15) {
                        current
                            .entries
                            .push(("duration_seconds".into(), "3600".into()));
                    }
                    if self.rng.chance(20) {
                        current
                            .entries
                            .push(("role_session_name".into(), format!("session-{level}")));
                    }
                    if level == 0 && self.rng.chance(10) {
                        // Keys next to role_arn in the selected profile: the role wins in both.
                        self.static_keys(&mut current, false);
                        notes.push("selected profile also has keys".into());
                    }
                    if level + 1 == depth && self.rng.chance(15) {
                        current
                            .entries
                            .push(("credential_source".into(), "Environment".into()));
                        wants_env_keys = true;
                        notes.push("credential_source = Environment".into());
                        sections.push(current.clone());
                        break;
                    }
                    let source = format!("src{level}-{}", self.rng.below(1000));
                    used.push(source.clone());
                    current
                        .entries
                        .push(("source_profile".into(), source.clone()));
                    sections.push(current.clone());
                    current = Section {
                        name: source,
                        in_credentials: self.rng.chance(50),
                        entries: Vec::new(),
                    };
                    if level + 1 == depth {
                        self.base(&mut case, &mut current, &mut notes);
                        sections.push(current.clone());
                    }
                }
                top = sections.remove(0);
            }
            60..=79 => {
                // Missing pieces.
                match self.rng.below(6) {
                    0 => {
                        let arn = self.role_arn();
                        top.entries.push(("role_arn".into(), arn));
                        notes.push("role_arn without a source".into());
                    }
                    1 => {
                        let arn = self.role_arn();
                        top.entries.push(("role_arn".into(), arn));
                        top.entries.push(("source_profile".into(), "ghost".into()));
                        notes.push("source_profile names a missing profile".into());
                    }
                    2 => {
                        let key = self.rng.access_key();
                        top.entries.push(("aws_access_key_id".into(), key));
                        notes.push("key without secret".into());
                    }
                    3 => {
                        let secret = self.rng.secret();
                        top.entries.push(("aws_secret_access_key".into(), secret));
                        case.tags.insert(Tag::SecretWithoutKeyInProfile);
                        notes.push("secret without key".into());
                    }
                    4 => {
                        let arn = self.role_arn();
                        top.entries.push(("role_arn".into(), arn));
                        top.entries
                            .push(("credential_source".into(), "Moon".into()));
                        notes.push("unknown credential_source".into());
                    }
                    _ => {
                        defined = false;
                        notes.push("selected profile is not defined".into());
                    }
                }
            }
            _ => {
                let token = self.rng.chance(30);
                self.static_keys(&mut top, token);
                notes.push("static keys".into());
            }
        }
        if defined {
            sections.insert(0, top);
        }

        // Other profiles, for noise.
        for _ in 0..self.rng.below(3) {
            let name = self.rng.pick(&NAMES).to_string();
            if sections.iter().any(|s| s.name == name) || name == selected {
                continue;
            }
            let mut other = Section {
                name,
                in_credentials: self.rng.chance(50),
                entries: Vec::new(),
            };
            self.static_keys(&mut other, false);
            sections.push(other);
        }

        // The environment.
        let env_keys = match self.rng.below(100) {
            n if wants_env_keys && n < 75 => 60,
            n => n,
        };
        let mut env_complete = false;
        match env_keys {
            0..=54 => {}
            55..=79 => {
                case.env
                    .insert("AWS_ACCESS_KEY_ID".into(), self.rng.access_key());
                case.env
                    .insert("AWS_SECRET_ACCESS_KEY".into(), self.rng.secret());
                if self.rng.chance(40) {
                    case.env
                        .insert("AWS_SESSION_TOKEN".into(), self.rng.secret());
                }
                env_complete = true;
                notes.push("key variables set".into());
            }
            80..=87 => {
                case.env.insert("AWS_ACCESS_KEY_ID".into(), String::new());
                case.env
                    .insert("AWS_SECRET_ACCESS_KEY".into(), String::new());
                notes.push("key variables empty".into());
            }
            88..=91 => {
                case.env.insert("AWS_ACCESS_KEY_ID".into(), " ".into());
                case.env.insert("AWS_SECRET_ACCESS_KEY".into(), "  ".into());
                case.tags.insert(Tag::WhitespaceOnlyEnvKey);
                notes.push("key variables whitespace".into());
            }
            _ => {
                let var = if self.rng.chance(50) {
                    "AWS_ACCESS_KEY_ID"
                } else {
                    "AWS_SECRET_ACCESS_KEY"
                };
                case.env.insert(var.into(), self.rng.access_key());
                if var == "AWS_SECRET_ACCESS_KEY" && !by_flag {
                    case.tags.insert(Tag::LoneSecretVariable);
                }
                notes.push(format!("only {var} set"));
            }
        }
        let web_identity_env = self.rng.chance(7);
        if web_identity_env {
            let n = case.files.len();
            let path = format!("env-web-token-{n}");
            case.files
                .push((path.clone(), "env-web-token".into(), false));
            case.env.insert(
                "AWS_WEB_IDENTITY_TOKEN_FILE".into(),
                format!("{DIR}/{path}"),
            );
            let arn = self.role_arn();
            case.env.insert("AWS_ROLE_ARN".into(), arn);
            if self.rng.chance(50) {
                case.env
                    .insert("AWS_ROLE_SESSION_NAME".into(), "env-session".into());
            }
            notes.push("web identity variables".into());
            let profile_role = sections.first().is_some_and(|s| {
                s.name == selected && (s.has("role_arn") || s.has("web_identity_token_file"))
            });
            if !by_flag && !env_complete && profile_role {
                case.tags.insert(Tag::WebIdentityEnvBeforeProfileRole);
            }
        }
        if !defined
            && !by_flag
            && (env_complete || web_identity_env)
            && case.env.contains_key("AWS_PROFILE")
        {
            case.tags.insert(Tag::MissingProfileWithEnvCredentials);
        }

        let (config, credentials) = self.render(&mut case, &sections, &mut notes);
        case.config = config;
        case.credentials = credentials;
        case.summary = notes.join(", ");
        case
    }

    /// Key names in the case the generator picked: lower, UPPER or Mixed.
    fn key_case(&mut self, key: &str) -> String {
        match self.rng.below(10) {
            0 => key.to_ascii_uppercase(),
            1 => key
                .split('_')
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
                .join("_"),
            _ => key.to_string(),
        }
    }

    fn render(
        &mut self,
        case: &mut Case,
        sections: &[Section],
        notes: &mut Vec<String>,
    ) -> (Option<String>, Option<String>) {
        let mut config = String::new();
        let mut credentials = String::new();
        if self.rng.chance(20) {
            config.push_str("# generated by the differential test\n");
        }
        let mut has_config = false;
        let mut has_credentials = false;
        for section in sections {
            let text = if section.in_credentials {
                has_credentials = true;
                &mut credentials
            } else {
                has_config = true;
                &mut config
            };
            let header = if section.in_credentials {
                format!("[{}]", section.name)
            } else if section.name == "default" && self.rng.chance(70) {
                "[default]".to_string()
            } else {
                format!("[profile {}]", section.name)
            };
            let split = self.rng.chance(1) && section.entries.len() >= 2;
            text.push_str(&header);
            if self.rng.chance(10) {
                text.push_str(if self.rng.chance(50) {
                    " # header comment"
                } else {
                    " ; header comment"
                });
            }
            text.push('\n');
            for (i, (key, value)) in section.entries.iter().enumerate() {
                if split && i == section.entries.len() / 2 {
                    // The same section again, later in the same file.
                    text.push_str(&format!("{header}\n"));
                    case.tags.insert(Tag::DuplicateSection);
                    notes.push("section split in two".into());
                }
                if self.rng.chance(10) {
                    text.push_str(if self.rng.chance(50) {
                        "# a comment\n"
                    } else {
                        "; a comment\n"
                    });
                }
                if self.rng.chance(5) {
                    text.push('\n');
                }
                let name = self.key_case(key);
                let sep = *self.rng.pick(&["=", " = ", "\t=\t", " =", "= "]);
                let comment = if self.rng.chance(1) {
                    case.tags.insert(Tag::InlineComment);
                    notes.push("inline comment after a value".into());
                    " # note"
                } else {
                    ""
                };
                text.push_str(&format!("{name}{sep}{value}{comment}\n"));
            }
            if !section.in_credentials && self.rng.chance(15) {
                text.push_str(
                    "s3 =\n    max_concurrent_requests = 20\n    addressing_style = path\n",
                );
                notes.push("sub-properties".into());
            }
            if self.rng.chance(10) {
                text.push_str("output = json\n");
            }
        }
        if self.rng.chance(6) {
            // A line that is neither a section, a property nor a comment.
            let target = if has_credentials && self.rng.chance(50) {
                &mut credentials
            } else {
                has_config = true;
                &mut config
            };
            target.push_str("this line is not a property\n");
            notes.push("malformed line".into());
        }
        let config = (has_config || self.rng.chance(30)).then_some(config);
        let credentials = (has_credentials || self.rng.chance(30)).then_some(credentials);
        (config, credentials)
    }
}

fn corpus() -> Vec<Case> {
    let mut generator = Gen {
        rng: Rng(SEED),
        role_counter: 0,
    };
    (0..CASES).map(|id| generator.case(id)).collect()
}

// ---------------------------------------------------------------------------------------------
// The deterministic STS both sides call
// ---------------------------------------------------------------------------------------------

fn digest(text: &str) -> String {
    hex::encode(Sha1::digest(text.as_bytes()))
}

/// The access key in a SigV4 `Authorization` header.
fn signer(req: &support::Request) -> String {
    req.header("authorization")
        .and_then(|h| h.split("Credential=").nth(1))
        .and_then(|c| c.split('/').next())
        .unwrap_or("unsigned")
        .to_string()
}

fn sts(req: &support::Request) -> Response {
    let param = |name: &str| req.form_param(name).unwrap_or_default();
    let action = param("Action");
    let role = param("RoleArn");
    let seed = match action.as_str() {
        "AssumeRole" => format!(
            "{}|{}|{role}|{}|{}",
            signer(req),
            req.header("x-amz-security-token").unwrap_or(""),
            param("ExternalId"),
            param("DurationSeconds")
        ),
        "AssumeRoleWithWebIdentity" => format!("web|{}|{role}", param("WebIdentityToken")),
        other => {
            return Response::xml(
                400,
                &format!(
                    "<ErrorResponse><Error><Code>InvalidAction</Code><Message>{other}</Message></Error></ErrorResponse>"
                ),
            );
        }
    };
    if role.ends_with("/Denied") {
        return Response::xml(
            403,
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized</Message></Error><RequestId>r</RequestId></ErrorResponse>",
        );
    }
    let h = digest(&seed);
    Response::xml(
        200,
        &format!(
            "<{action}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><{action}Result>\
             <Credentials><AccessKeyId>ASIA{}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey>\
             <SessionToken>token-{}</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>\
             <AssumedRoleUser><AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId>\
             <Arn>arn:aws:sts::123456789012:assumed-role/R/s</Arn></AssumedRoleUser>\
             </{action}Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{action}Response>",
            h[..16].to_ascii_uppercase(),
            &h[16..40],
            &h[..24],
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// Running both sides
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Credentials {
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
    },
    None,
    Error(String),
}

impl Outcome {
    fn class(&self) -> &'static str {
        match self {
            Outcome::Credentials { .. } => "credentials",
            Outcome::None => "none",
            Outcome::Error(_) => "error",
        }
    }
}

/// Write the case's files under `dir`, and return its environment.
fn materialize(case: &Case, dir: &Path, sts_url: &str) -> BTreeMap<String, String> {
    let dir_text = dir.to_string_lossy().into_owned();
    let fill = |text: &str| text.replace(DIR, &dir_text);
    std::fs::create_dir_all(dir.join("home")).expect("case home");
    for (path, contents, executable) in &case.files {
        let full = dir.join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(&full, fill(contents)).expect("write case file");
        if *executable {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&full, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
    }
    if let Some(text) = &case.config {
        std::fs::write(dir.join("config"), fill(text)).expect("write config");
    }
    if let Some(text) = &case.credentials {
        std::fs::write(dir.join("credentials"), fill(text)).expect("write credentials");
    }
    let mut env: BTreeMap<String, String> =
        case.env.iter().map(|(k, v)| (k.clone(), fill(v))).collect();
    env.insert("HOME".into(), format!("{dir_text}/home"));
    env.insert("AWS_CONFIG_FILE".into(), format!("{dir_text}/config"));
    env.insert(
        "AWS_SHARED_CREDENTIALS_FILE".into(),
        format!("{dir_text}/credentials"),
    );
    env.insert("AWS_EC2_METADATA_DISABLED".into(), "true".into());
    env.insert("AWS_REGION".into(), "us-east-1".into());
    env.insert("AWS_DEFAULT_REGION".into(), "us-east-1".into());
    env.insert("AWS_ENDPOINT_URL_STS".into(), sts_url.into());
    if let Some(path) = std::env::var_os("PATH") {
        env.insert("PATH".into(), path.to_string_lossy().into_owned());
    }
    env
}

fn aws_cred(env: &BTreeMap<String, String>, profile: Option<&str>, cwd: &Path) -> Outcome {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aws-cred"));
    cmd.env_clear()
        .envs(env)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .args(["export", "--format", "json"]);
    if let Some(profile) = profile {
        cmd.args(["--profile", profile]);
    }
    let out = support::run(&mut cmd);
    match out.code() {
        Some(0) => {
            let doc: Value = serde_json::from_slice(&out.stdout).expect("aws-cred JSON");
            let text = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_string);
            Outcome::Credentials {
                access_key_id: text("AccessKeyId").unwrap_or_default(),
                secret_access_key: text("SecretAccessKey").unwrap_or_default(),
                session_token: text("SessionToken"),
            }
        }
        Some(3) => Outcome::None,
        _ => Outcome::Error(out.stderr_str().lines().next().unwrap_or("").to_string()),
    }
}

fn botocore(python: &Path, corpus: &Path) -> BTreeMap<u64, Outcome> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential_botocore.py");
    let out = support::run_with_timeout(
        Command::new(python)
            .arg(&script)
            .arg(corpus)
            .env("PYTHONDONTWRITEBYTECODE", "1"),
        std::time::Duration::from_secs(300),
    );
    out.assert_success();
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).expect("botocore results JSON");
    results
        .into_iter()
        .map(|r| {
            let id = r["id"].as_u64().expect("id");
            let text = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
            let outcome = match r["outcome"].as_str() {
                Some("credentials") => Outcome::Credentials {
                    access_key_id: text("access_key_id").unwrap_or_default(),
                    secret_access_key: text("secret_access_key").unwrap_or_default(),
                    session_token: text("session_token"),
                },
                Some("none") => Outcome::None,
                _ => Outcome::Error(text("error").unwrap_or_default()),
            };
            (id, outcome)
        })
        .collect()
}

/// Both failed, both found nothing, or both found the same credentials.
fn agree(a: &Outcome, b: &Outcome) -> bool {
    match (a, b) {
        (Outcome::Error(_), Outcome::Error(_)) => true,
        _ => a == b,
    }
}

#[test]
fn aws_cred_agrees_with_botocore() {
    let Some(python) = support::require_venv_tool("python") else {
        return;
    };
    let corpus = corpus();
    let fake = FakeHttp::new(sts);
    let work = tempfile::Builder::new()
        .prefix("aws-cred-differential-")
        .tempdir()
        .expect("temp dir");
    let root = work.path().canonicalize().expect("canonical temp dir");

    let mut ours = BTreeMap::new();
    let mut for_python = Vec::new();
    for case in &corpus {
        let dir = root.join(format!("case-{:03}", case.id));
        let env = materialize(case, &dir, &fake.url());
        ours.insert(
            case.id as u64,
            aws_cred(&env, case.profile_flag.as_deref(), &dir),
        );
        for_python.push(json!({"id": case.id, "env": env, "profile": case.profile_flag}));
    }
    let corpus_path = root.join("corpus.json");
    std::fs::write(&corpus_path, Value::Array(for_python).to_string()).expect("write corpus");
    let theirs = botocore(&python, &corpus_path);

    // AWS_CRED_DIFFERENTIAL_VERBOSE=1 prints every case's outcomes, agreeing or not.
    let verbose = std::env::var_os("AWS_CRED_DIFFERENTIAL_VERBOSE").is_some();
    let mut agreed = 0;
    let mut by_tag: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut classes: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for case in &corpus {
        let (a, b) = (&ours[&(case.id as u64)], &theirs[&(case.id as u64)]);
        if verbose {
            println!(
                "case {} [{}]: aws-cred {a:?}, botocore {b:?}",
                case.id, case.summary
            );
        }
        if agree(a, b) {
            agreed += 1;
            *classes.entry(a.class()).or_default() += 1;
            continue;
        }
        let line = format!(
            "case {} [{}]\n    aws-cred: {a:?}\n    botocore: {b:?}",
            case.id, case.summary
        );
        match case.tags.iter().find(|tag| tag.explains(a, b)) {
            Some(tag) => {
                *by_tag.entry(tag.name()).or_default() += 1;
                let all: Vec<&str> = case.tags.iter().map(|t| t.name()).collect();
                println!("documented deviation ({}): {line}", all.join(", "));
            }
            None => {
                let line = format!(
                    "{line}\n    env: {:?} --profile {:?}\n    config:\n{}\n    credentials:\n{}",
                    case.env,
                    case.profile_flag,
                    case.config.as_deref().unwrap_or("(none)"),
                    case.credentials.as_deref().unwrap_or("(none)")
                );
                println!("DISAGREE: {line}");
                failures.push(line);
            }
        }
    }
    let documented: usize = by_tag.values().sum();
    println!(
        "differential: {} cases, {agreed} agree ({}), {documented} documented deviations {by_tag:?}, {} undocumented",
        corpus.len(),
        classes
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", "),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "aws-cred and botocore disagree on {} case(s) without a documented reason:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        corpus.len() >= 200,
        "the corpus must have at least 200 cases"
    );
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/CONFORMANCE.md"))
            .unwrap_or_default();
    let row = format!(
        "| botocore differential corpus | {} | {agreed} | {documented} |",
        corpus.len()
    );
    assert!(
        doc.contains(&row),
        "docs/CONFORMANCE.md must carry this run's numbers:\n{row}"
    );
    for (tag, count) in &by_tag {
        let entry = format!("| `{tag}` | {count} |");
        assert!(
            doc.contains(&entry),
            "docs/CONFORMANCE.md must list {entry}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// credential_process on Windows: the command line split as botocore splits it there
// ---------------------------------------------------------------------------------------------

/// botocore's own Windows splitter (`botocore.compat._windows_shell_split`, what the AWS CLI uses
/// for `credential_process` on Windows) on each line of a JSON list; `null` where it raises.
const BOTOCORE_SPLIT: &str = r#"
import json, sys
from botocore.compat import _windows_shell_split
out = []
for line in json.load(sys.stdin):
    try:
        out.append(_windows_shell_split(line))
    except ValueError:
        out.append(None)
print(json.dumps(out))
"#;

#[test]
fn windows_command_lines_split_as_botocore_splits_them() {
    use aws_cred::base::cmdline::{SplitError, split_windows};
    let Some(python) = support::require_venv_tool("python") else {
        return;
    };
    // Every line of up to 7 characters over the characters that matter, and 2,000 longer ones.
    let alphabet = ['a', ' ', '\t', '"', '\\', 'é'];
    let mut lines: Vec<String> = vec![String::new()];
    let mut frontier = vec![String::new()];
    for _ in 0..7 {
        frontier = frontier
            .iter()
            .flat_map(|prefix| alphabet.iter().map(move |c| format!("{prefix}{c}")))
            .collect();
        lines.extend(frontier.iter().cloned());
    }
    let mut rng = Rng(SEED);
    for _ in 0..2_000 {
        let len = 8 + rng.below(24);
        lines.push((0..len).map(|_| *rng.pick(&alphabet)).collect());
    }
    let mut child = Command::new(python)
        .arg("-c")
        .arg(BOTOCORE_SPLIT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let input = serde_json::to_vec(&lines).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        stdin.write_all(&input).unwrap();
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success());
    let theirs: Vec<Option<Vec<String>>> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(theirs.len(), lines.len());
    let mut differ = Vec::new();
    for (line, theirs) in lines.iter().zip(theirs) {
        let ours = match split_windows(line) {
            Ok(parts) => Some(parts),
            Err(SplitError::Empty) => Some(Vec::new()),
            Err(SplitError::Unclosed) => None,
        };
        if ours != theirs {
            differ.push(format!("{line:?}: ours {ours:?}, botocore {theirs:?}"));
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {} lines differ, e.g.:\n{}",
        differ.len(),
        lines.len(),
        differ[..differ.len().min(10)].join("\n")
    );
}
