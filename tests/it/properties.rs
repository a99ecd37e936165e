//! Property tests: reading and planning arbitrary ~/.aws files never panics, and whatever the
//! writer writes reads back through the same loading path as the keys it was given.

use aws_cred::chain::inspect::Inspector;
use aws_cred::chain::plan::{Base, Planned, plan};
use aws_cred::os::Context;
use aws_cred::profile::writer::{self, HeaderStyle};
use aws_cred::profile::{Profiles, Scope};
use proptest::prelude::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Settings both generators below use: every credential source the chain plans.
const SETTINGS: &[&str] = &[
    "role_arn = arn:aws:iam::1:role/R",
    "aws_access_key_id = AKIA",
    "aws_secret_access_key = s",
    "aws_session_token = t",
    "credential_source = Environment",
    "sso_session = a",
    "sso_start_url = https://x/start",
    "sso_region = us-east-1",
    "sso_account_id = 1",
    "sso_role_name = R",
    "# comment",
    "",
];

/// A header naming one of the short profile names (`[a-c]{1,3}`), in a `format` pattern.
fn header(pattern: &'static str) -> impl Strategy<Value = String> {
    "[a-c]{1,3}".prop_map(move |n| pattern.replace("{n}", &n))
}

/// Lines that look like AWS config files, mixed with noise.
fn config_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("[default]".to_string()),
        header("[profile {n}]"),
        header("[{n}]"),
        header("[sso-session {n}]"),
        header("source_profile = {n}"),
        prop::sample::select(SETTINGS).prop_map(str::to_string),
        prop::sample::select(vec![
            "credential_source = Moon",
            "web_identity_token_file = /nonexistent",
            "duration_seconds = nope",
            "s3 =",
            "  max_concurrent_requests = 20",
        ])
        .prop_map(str::to_string),
        "\\PC{0,20}",
    ]
}

/// Files the SDK parser accepts (mostly): a section first, then headers, properties and
/// comments.
fn parsable_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        "[a-c]{1,3}".prop_map(|n| format!("[{n}]")),
        "[a-c]{1,3}".prop_map(|n| format!("[profile {n}]")),
        Just("aws_access_key_id = AKIAOLD".to_string()),
        Just("aws_secret_access_key = old".to_string()),
        Just("aws_session_token = t".to_string()),
        Just("region = eu-west-1".to_string()),
        Just("s3 =\n  max_concurrent_requests = 20".to_string()),
        Just("# comment".to_string()),
        Just("; comment".to_string()),
        Just("".to_string()),
        Just("\r".to_string()),
    ];
    prop::collection::vec(line, 0..20).prop_map(|lines| format!("[default]\n{}", lines.join("\n")))
}

/// Files of headers, settings and comments only (no noise), so that most of them parse: the
/// batch path is exercised, not only the fall-back to the full parse.
fn structured_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        prop::sample::select(vec!["[default]", "[profile default]"]).prop_map(str::to_string),
        header("[profile {n}]"),
        header("[profile {n}-long-term]"),
        header("[{n}]"),
        header("[{n}-long-term]"),
        header("[sso-session {n}]"),
        header("source_profile = {n}"),
        prop::sample::select(SETTINGS).prop_map(str::to_string),
        prop::sample::select(vec![
            "aws_cred_expiration = 2030-01-01T00:00:00Z",
            "mfa_serial = arn:aws:iam::1:mfa/me",
            "credential_process = echo",
            "login_session = arn:aws:iam::1:user/me",
            "region = eu-west-1",
            "s3 =\n  max_concurrent_requests = 20",
        ])
        .prop_map(str::to_string),
    ];
    (
        "[a-c]{1,3}",
        prop::collection::vec(line, 0..30),
        prop::sample::select(vec!["\n", "\r\n"]),
        prop::sample::select(vec!["", "\n", "\r", "\r\n", " ; end"]),
    )
        // The odd spacing gets a name of its own: `[ profile  a ]` next to `[profile a]` is two
        // raw sections of one profile, which the SDK's normaliser merges in hash-map order (so
        // either value may win, in the full parse as in a batch).
        .prop_map(|(first, lines, newline, end)| {
            format!("[ profile  z{first} ]{newline}{}{end}", lines.join(newline))
        })
}

fn config_text() -> impl Strategy<Value = String> {
    prop::collection::vec(config_line(), 0..25).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn loading_and_planning_never_panic(config in config_text(), credentials in config_text(), selected in "[a-c]{1,3}|default") {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("config");
        let credentials_path = dir.path().join("credentials");
        std::fs::write(&config_path, &config).unwrap();
        std::fs::write(&credentials_path, &credentials).unwrap();
        let ctx = Context::with_env([
            ("HOME", dir.path().to_str().unwrap()),
            ("AWS_CONFIG_FILE", config_path.to_str().unwrap()),
            ("AWS_SHARED_CREDENTIALS_FILE", credentials_path.to_str().unwrap()),
        ]);
        // Either a parse error (a usage problem naming the file) or a plan / a reason: never a panic.
        if let Ok(profiles) = runtime().block_on(Profiles::load(&ctx, Some(&selected))) {
            let _ = plan(&profiles);
        }
    }

    #[test]
    fn written_sections_read_back_through_the_loader(
        existing in parsable_text(),
        name in "[A-Za-z0-9_.@%+:/-]{1,12}",
        key in "AKIA[A-Z0-9]{4,16}",
        secret in "[A-Za-z0-9/+=]{1,40}",
    ) {
        let entries = [("aws_access_key_id", key.as_str()), ("aws_secret_access_key", secret.as_str())];
        let load = |text: &str| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("credentials");
            std::fs::write(&path, text).unwrap();
            let ctx = Context::with_env([
                ("HOME", dir.path().to_str().unwrap()),
                ("AWS_CONFIG_FILE", dir.path().join("none").to_str().unwrap()),
                ("AWS_SHARED_CREDENTIALS_FILE", path.to_str().unwrap()),
            ]);
            runtime().block_on(Profiles::load(&ctx, Some(&name)))
        };
        // Only files the SDK parser accepts are interesting: the writer must keep them parsable.
        prop_assume!(load(&existing).is_ok());
        let Ok(upserted) = writer::upsert_section(&existing, &name, HeaderStyle::Credentials, &entries) else {
            // The writer may refuse a file it cannot edit safely (an indented header next to
            // the section); it must never corrupt one.
            return Ok(());
        };
        let dir = tempfile::tempdir().unwrap();
        let credentials_path = dir.path().join("credentials");
        std::fs::write(&credentials_path, &upserted.text).unwrap();
        let ctx = Context::with_env([
            ("HOME", dir.path().to_str().unwrap()),
            ("AWS_CONFIG_FILE", dir.path().join("none").to_str().unwrap()),
            ("AWS_SHARED_CREDENTIALS_FILE", credentials_path.to_str().unwrap()),
        ]);
        let profiles = runtime()
            .block_on(Profiles::load(&ctx, Some(&name)))
            .expect("the writer turned a parsable file into an unparsable one");
        prop_assert_eq!(profiles.get(&name, "aws_access_key_id"), Some(key.as_str()));
        prop_assert_eq!(profiles.get(&name, "aws_secret_access_key"), Some(secret.as_str()));
        if let Ok(Planned::Plan(p)) = plan(&profiles) {
            let base = format!("{:?}", p.base);
            prop_assert!(base.contains(&name), "plan base {} does not name {}", base, name);
        }
    }

    /// The fast path for large files (only the sections the selected profile needs reach the
    /// parser) answers exactly as the full parse: the same error, or the same plan and the same
    /// keys for every profile of the plan.
    #[test]
    fn the_selected_profile_fast_path_answers_as_the_full_parse(
        config in prop_oneof![config_text(), structured_text()],
        credentials in prop_oneof![config_text(), structured_text()],
        selected in "[a-c]{1,3}|default",
        explicit in any::<bool>(),
    ) {
        // Not explicit: no flag, so the implicit default profile (which may be missing).
        let (flag, selected) = match explicit {
            true => (Some(selected.as_str()), selected.clone()),
            false => (None, "default".to_string()),
        };
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("config");
        let credentials_path = dir.path().join("credentials");
        std::fs::write(&config_path, &config).unwrap();
        std::fs::write(&credentials_path, &credentials).unwrap();
        let ctx = Context::with_env([
            ("HOME", dir.path().to_str().unwrap()),
            ("AWS_CONFIG_FILE", config_path.to_str().unwrap()),
            ("AWS_SHARED_CREDENTIALS_FILE", credentials_path.to_str().unwrap()),
        ]);
        let full = runtime().block_on(Profiles::load_scoped(&ctx, flag, Scope::All));
        let fast = runtime().block_on(Profiles::load_scoped(&ctx, flag, Scope::Selected));
        match (full, fast) {
            (Err(a), Err(b)) => prop_assert_eq!(format!("{a:#}"), format!("{b:#}")),
            (Ok(full), Ok(fast)) => {
                let (a, b) = (plan(&full), plan(&fast));
                prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
                let mut names = vec![selected.clone(), format!("{selected}-long-term")];
                if let Ok(Planned::Plan(p)) = &a {
                    names.extend(p.roles.iter().map(|r| r.profile.clone()));
                    names.push(match &p.base {
                        Base::Static { profile }
                        | Base::Process { profile, .. }
                        | Base::Keyring { profile, .. }
                        | Base::WebIdentity { profile, .. }
                        | Base::Named { profile, .. } => profile.clone(),
                        Base::Sso(sso) => sso.profile.clone(),
                        Base::Login(session) => session.profile.clone(),
                    });
                }
                for name in names {
                    let props = |set: &Profiles| {
                        set.set.get_profile(&name).map(|p| {
                            let mut keys: Vec<(String, String)> = ["role_arn", "source_profile", "aws_access_key_id",
                                "aws_secret_access_key", "aws_session_token", "mfa_serial", "region",
                                "credential_source", "sso_session", "sso_start_url", "s3"]
                                .iter()
                                .filter_map(|k| p.get(k).map(|v| (k.to_string(), v.to_string())))
                                .collect();
                            keys.sort();
                            keys
                        })
                    };
                    prop_assert_eq!(props(&full), props(&fast), "profile {}", name);
                }
                prop_assert_eq!(full.set.get("region"), fast.set.get("region"));
            }
            (a, b) => prop_assert!(false, "full {:?} vs fast {:?}", a.map(|_| ()), b.map(|_| ())),
        }
    }

    /// `status` reads every profile a few at a time ([`Profiles::batches`]): the batches name
    /// exactly the profiles of the full parse, in order, and inspect each one as the full parse
    /// does (same kind, source, state and plan), sources and `-long-term` twins included.
    #[test]
    fn batches_answer_as_the_full_parse(
        config in prop_oneof![1 => config_text(), 4 => structured_text()],
        credentials in prop_oneof![1 => config_text(), 4 => structured_text()],
        selected in "[a-c]{1,3}|default",
        size in 1usize..4,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("config");
        let credentials_path = dir.path().join("credentials");
        std::fs::write(&config_path, &config).unwrap();
        std::fs::write(&credentials_path, &credentials).unwrap();
        let ctx = Context::with_env([
            ("HOME", dir.path().to_str().unwrap()),
            ("AWS_CONFIG_FILE", config_path.to_str().unwrap()),
            ("AWS_SHARED_CREDENTIALS_FILE", credentials_path.to_str().unwrap()),
        ]);
        let rt = runtime();
        let full = rt.block_on(Profiles::load_scoped(&ctx, None, Scope::All));
        let root = rt.block_on(Profiles::load_scoped(&ctx, Some(&selected), Scope::Settings));
        match (full, root) {
            (Err(a), Err(b)) => prop_assert_eq!(format!("{a:#}"), format!("{b:#}")),
            (Ok(full), Ok(root)) => {
                let mut whole = Inspector::new(&ctx, &full, None);
                let mut batched = Inspector::new(&ctx, &root, None);
                let mut names = Vec::new();
                let mut batches = root.batches(&ctx, size);
                let mut rounds = 0;
                while let Some(batch) = rt.block_on(batches.next()) {
                    rounds += 1;
                    prop_assert!(rounds <= 100, "batches do not end");
                    let batch = batch.unwrap();
                    for name in &batch.names {
                        prop_assert_eq!(
                            batched.inspect(&batch.profiles, name),
                            whole.inspect(&full, name),
                            "profile {}", name
                        );
                        prop_assert_eq!(batched.files_of(name), whole.files_of(name));
                        for key in ["region", "sso_session", "source_profile", "aws_access_key_id"] {
                            prop_assert_eq!(batch.profiles.get(name, key), full.get(name, key), "{}.{}", name, key);
                        }
                        names.push(name.clone());
                    }
                }
                prop_assert_eq!(names, full.names());
            }
            (a, b) => prop_assert!(false, "full {:?} vs settings {:?}", a.map(|_| ()), b.map(|_| ())),
        }
    }
}
