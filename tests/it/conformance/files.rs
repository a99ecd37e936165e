//! The profile-file suites, through aws-cred's own loading path: the parser suites (smithy-rs
//! 1d, smithy-java 2a), file locations (1e, 2b, Linux cases) and Ruby's profile tests.
//!
//! Each case's text is written to temporary files named by `AWS_CONFIG_FILE` and
//! `AWS_SHARED_CREDENTIALS_FILE` in a [`Context::with_env`], loaded with [`Profiles::load`], and
//! read back with `profiles.set` / `profiles.get`. The parsed `Profile` has no key iterator, so
//! a case checks every expected key and value and that the sets of profile and sso-session
//! names are equal; a key the parser invented would go unnoticed (the SDK suites have no case
//! that needs that).

use crate::conformance::common::{self, Tally, label, str_at, string_map};
use aws_cred::os::Context;
use aws_cred::profile::{AwsFiles, Profiles};
use serde_json::Value;
use std::collections::BTreeSet;

/// Load `config` / `credentials` (absent: no such file) as aws-cred does.
pub(super) fn load(
    config: Option<&str>,
    credentials: Option<&str>,
    profile: Option<&str>,
) -> anyhow::Result<Profiles> {
    load_with_env(&[], config, credentials, profile).map(|(_, profiles)| profiles)
}

/// [`load`] in an environment that also has `env`; returns that context too.
pub(super) fn load_with_env(
    env: &[(String, String)],
    config: Option<&str>,
    credentials: Option<&str>,
    profile: Option<&str>,
) -> anyhow::Result<(Context, Profiles)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let config_path = dir.path().join("config");
    let credentials_path = dir.path().join("credentials");
    if let Some(text) = config {
        std::fs::write(&config_path, text).expect("write config");
    }
    if let Some(text) = credentials {
        std::fs::write(&credentials_path, text).expect("write credentials");
    }
    let mut vars: Vec<(String, String)> = vec![
        ("HOME".into(), dir.path().to_string_lossy().into_owned()),
        (
            "AWS_CONFIG_FILE".into(),
            config_path.to_string_lossy().into_owned(),
        ),
        (
            "AWS_SHARED_CREDENTIALS_FILE".into(),
            credentials_path.to_string_lossy().into_owned(),
        ),
    ];
    vars.extend(env.iter().cloned());
    let ctx = Context::with_env(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let profiles = common::block_on(Profiles::load(&ctx, profile))?;
    Ok((ctx, profiles))
}

/// Which properties a section must have: name → expected value (a string, or for smithy-java
/// a map of sub-properties).
fn check_section(
    kind: &str,
    name: &str,
    expected: &Value,
    get: &dyn Fn(&str) -> Option<String>,
    sub_properties_as_maps: bool,
) -> Result<(), String> {
    let expected = expected.as_object().ok_or(format!(
        "{kind} {name}: expected properties are not an object"
    ))?;
    for (key, want) in expected {
        let got = get(key).ok_or(format!("{kind} {name}: property {key:?} missing"))?;
        match want {
            Value::String(want) if *want == got => {}
            Value::Object(map) if sub_properties_as_maps => {
                let got_map = sub_properties(&got);
                let want_map = string_map(Some(&Value::Object(map.clone())));
                if got_map != want_map {
                    return Err(format!(
                        "{kind} {name}: sub-properties of {key:?}: expected {want_map:?}, got {got_map:?} (raw {got:?})"
                    ));
                }
            }
            _ => {
                return Err(format!(
                    "{kind} {name}: {key:?}: expected {want}, got {got:?}"
                ));
            }
        }
    }
    Ok(())
}

/// smithy-java (2a) represents a sub-property block as a map and drops entries whose names are
/// not valid identifiers; aws-config keeps the raw text (`"\nname = value"`). This turns the
/// raw text into 2a's map; it is the runner's conversion, aws-cred itself only reads the
/// `[services]` sub-properties, through aws-config.
fn sub_properties(raw: &str) -> std::collections::BTreeMap<String, String> {
    let valid = |name: &str| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-/.%@:+".contains(c))
    };
    raw.lines()
        .filter_map(|line| {
            let (name, value) = line.split_once('=')?;
            let name = name.trim();
            valid(name).then(|| (name.to_ascii_lowercase(), value.trim().to_string()))
        })
        .collect()
}

/// One parser case: `input` in, the expected profiles / sso-sessions or an error out.
fn parser_case(
    tally: &mut Tally,
    case: &str,
    input: &Value,
    expected_profiles: Option<&Value>,
    expected_sessions: Option<&Value>,
    error: Option<&str>,
    sub_properties_as_maps: bool,
) {
    let loaded = load(
        str_at(input, "configFile"),
        str_at(input, "credentialsFile"),
        None,
    );
    let result = match (loaded, error) {
        (Err(err), Some(want)) => {
            let text = format!("{err:#}");
            if !text.contains(want) {
                tally.note(case, &format!("error {text:?} does not contain {want:?}"));
            }
            Ok(())
        }
        (Ok(_), Some(want)) => Err(format!("parsed, but expected an error containing {want:?}")),
        (Err(err), None) => Err(format!("failed to parse: {err:#}")),
        (Ok(profiles), None) => check_names_and_sections(
            &profiles,
            expected_profiles,
            expected_sessions,
            sub_properties_as_maps,
        ),
    };
    tally.record(case, result);
}

fn check_names_and_sections(
    profiles: &Profiles,
    expected_profiles: Option<&Value>,
    expected_sessions: Option<&Value>,
    sub_properties_as_maps: bool,
) -> Result<(), String> {
    if let Some(expected) = expected_profiles.and_then(Value::as_object) {
        let want: BTreeSet<&str> = expected.keys().map(String::as_str).collect();
        let got: BTreeSet<&str> = profiles.set.profiles().collect();
        if want != got {
            return Err(format!("profiles: expected {want:?}, got {got:?}"));
        }
        for (name, props) in expected {
            check_section(
                "profile",
                name,
                props,
                &|key| profiles.get(name, key).map(str::to_string),
                sub_properties_as_maps,
            )?;
        }
    }
    if let Some(expected) = expected_sessions.and_then(Value::as_object) {
        let want: BTreeSet<&str> = expected.keys().map(String::as_str).collect();
        let got: BTreeSet<&str> = profiles.set.sso_sessions().collect();
        if want != got {
            return Err(format!("sso-sessions: expected {want:?}, got {got:?}"));
        }
        for (name, props) in expected {
            let section = profiles.set.sso_session(name);
            check_section(
                "sso-session",
                name,
                props,
                &|key| section.and_then(|s| s.get(key)).map(str::to_string),
                sub_properties_as_maps,
            )?;
        }
    }
    Ok(())
}

#[test]
fn smithy_rs_profile_parser() {
    let Some(dir) = common::data_dir("smithy-rs profile-parser") else {
        return;
    };
    let data =
        common::read_json(&dir.join("smithy-rs/aws-runtime/test-data/profile-parser-tests.json"));
    let mut tally = Tally::new("smithy-rs profile-parser-tests.json");
    for (i, test) in data["tests"].as_array().expect("tests").iter().enumerate() {
        let case = label(i, str_at(test, "name").unwrap_or(""));
        let output = &test["output"];
        let config = output.get("config");
        parser_case(
            &mut tally,
            &case,
            &test["input"],
            config.and_then(|c| c.get("profiles")),
            config.and_then(|c| c.get("sso_sessions")),
            str_at(output, "errorContaining"),
            false,
        );
    }
    tally.finish();
}

#[test]
fn smithy_java_config_file_parser() {
    let Some(dir) = common::data_dir("smithy-java config-file-parser") else {
        return;
    };
    let data = common::read_json(&dir.join("smithy-java/aws-config/config-file-parser-tests.json"));
    let mut tally = Tally::new("smithy-java config-file-parser-tests.json");
    for (i, test) in data["tests"].as_array().expect("tests").iter().enumerate() {
        let case = label(i, str_at(test, "name").unwrap_or(""));
        let output = &test["output"];
        parser_case(
            &mut tally,
            &case,
            &test["input"],
            output.get("profiles"),
            output.get("ssoSessions"),
            str_at(output, "errorContaining"),
            true,
        );
    }
    tally.finish();
}

/// 1e and 2b: which files and which profile, from the environment. `languageSpecificHome` is the
/// home directory the platform reports when `HOME` is unset; for aws-cred that is
/// `dirs::home_dir()`, so the runner expects the paths under it.
fn file_locations(suite: &'static str, path: &str) {
    let Some(dir) = common::data_dir(suite) else {
        return;
    };
    let data = common::read_json(&dir.join(path));
    let mut tally = Tally::new(suite);
    for (i, test) in data["tests"].as_array().expect("tests").iter().enumerate() {
        let case = label(i, str_at(test, "name").unwrap_or(""));
        if str_at(test, "platform") != Some("linux") {
            tally.deviation(
                &case,
                "Windows-only case; aws-cred's file lookup is the Unix one ($HOME), the tier-1 scope is the Linux cases",
            );
            continue;
        }
        tally.record(&case, location_case(test));
    }
    tally.finish();
}

fn location_case(test: &Value) -> Result<(), String> {
    let env = string_map(test.get("environment"));
    let ctx = Context::with_env(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let files = AwsFiles::locate(&ctx).map_err(|e| e.to_string())?;
    let mut want_config = str_at(test, "configLocation").unwrap_or("").to_string();
    let mut want_credentials = str_at(test, "credentialsLocation")
        .unwrap_or("")
        .to_string();
    if !env.contains_key("HOME")
        && let Some(home) = str_at(test, "languageSpecificHome")
    {
        let platform_home = dirs::home_dir().ok_or("no platform home directory")?;
        let platform_home = platform_home.to_string_lossy();
        want_config = want_config.replacen(home, &platform_home, 1);
        want_credentials = want_credentials.replacen(home, &platform_home, 1);
    }
    let got_config = files.config.to_string_lossy();
    let got_credentials = files.credentials.to_string_lossy();
    if got_config != want_config || got_credentials != want_credentials {
        return Err(format!(
            "expected ({want_config}, {want_credentials}), got ({got_config}, {got_credentials})"
        ));
    }
    if let Some(want) = str_at(test, "profile") {
        // The selected profile, as Profiles::load chooses it; the files are pointed at paths
        // that do not exist so the user's real ones are never read.
        let mut env = env.clone();
        env.insert(
            "AWS_CONFIG_FILE".into(),
            "/nonexistent/aws-cred/config".into(),
        );
        env.insert(
            "AWS_SHARED_CREDENTIALS_FILE".into(),
            "/nonexistent/aws-cred/credentials".into(),
        );
        let ctx = Context::with_env(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let profiles =
            common::block_on(Profiles::load(&ctx, None)).map_err(|e| format!("{e:#}"))?;
        if profiles.selected != want {
            return Err(format!(
                "profile: expected {want}, got {}",
                profiles.selected
            ));
        }
    }
    Ok(())
}

#[test]
fn smithy_rs_file_locations() {
    file_locations(
        "smithy-rs file-location-tests.json",
        "smithy-rs/aws-runtime/test-data/file-location-tests.json",
    );
}

#[test]
fn smithy_java_file_locations() {
    file_locations(
        "smithy-java config-file-location-tests.json",
        "smithy-java/aws-config/config-file-location-tests.json",
    );
}

/// A config file holding `profiles` (`[profile name]` sections) and `sso_sessions`.
pub(super) fn config_text(profiles: Option<&Value>, sso_sessions: Option<&Value>) -> String {
    let mut text = String::new();
    for (kind, sections) in [("profile", profiles), ("sso-session", sso_sessions)] {
        for (name, props) in sections.and_then(Value::as_object).into_iter().flatten() {
            text.push_str(&format!("[{kind} {name}]\n"));
            for (key, value) in string_map(Some(props)) {
                text.push_str(&format!("{key} = {value}\n"));
            }
        }
    }
    text
}

/// Ruby's config-file-profile-tests.json: the region of a profile, and which kind of
/// credentials a profile yields (role over session keys over basic keys), from
/// `chain::plan::plan`.
#[test]
fn ruby_config_file_profiles() {
    use aws_cred::chain::plan::{Base, Planned, plan};
    let Some(dir) = common::data_dir("Ruby config-file-profile-tests") else {
        return;
    };
    let data = common::read_json(
        &dir.join("aws-sdk-ruby/gems/aws-sdk-core/spec/aws/profile/config-file-profile-tests.json"),
    );
    let mut tally = Tally::new("Ruby config-file-profile-tests.json");
    for suite in data["testSuites"].as_array().expect("testSuites") {
        let text = config_text(suite.get("profiles"), None);
        let region_tests = match &suite["regionTests"] {
            Value::Array(tests) => tests.clone(),
            Value::Null => Vec::new(),
            one => vec![one.clone()],
        };
        for test in &region_tests {
            let case = str_at(test, "name").unwrap_or("").to_string();
            let profile = str_at(test, "profile").unwrap_or("default");
            let result = load(Some(&text), None, Some(profile))
                .map_err(|e| format!("{e:#}"))
                .and_then(|profiles| {
                    let ctx = Context::with_env([]);
                    let region =
                        aws_cred::commands::resolve_region(&ctx, None, &profiles).map(|r| r.name);
                    let want = str_at(&test["output"], "region").map(str::to_string);
                    common::same("region", &want, &region)
                });
            tally.record(&case, result);
        }
        for test in suite["credentialsTests"].as_array().into_iter().flatten() {
            let case = str_at(test, "name").unwrap_or("").to_string();
            let profile = str_at(test, "profile").unwrap_or("default");
            let want = str_at(&test["output"], "credentialType").unwrap_or("");
            let result = load(Some(&text), None, Some(profile))
                .map_err(|e| format!("{e:#}"))
                .and_then(|profiles| {
                    let kind = match plan(&profiles) {
                        Ok(Planned::Plan(p)) if !p.roles.is_empty() => "assumeRole",
                        Ok(Planned::Plan(p)) => match &p.base {
                            Base::Static { profile }
                                if profiles.get(profile, "aws_session_token").is_some() =>
                            {
                                "session"
                            }
                            Base::Static { .. } => "basic",
                            other => return Err(format!("unexpected base {other:?}")),
                        },
                        Ok(Planned::Nothing(why)) => return Err(format!("no credentials: {why}")),
                        Err(e) => return Err(e.to_string()),
                    };
                    if kind == want {
                        Ok(())
                    } else {
                        Err(format!("expected {want}, got {kind}"))
                    }
                });
            tally.record(&case, result);
        }
    }
    tally.finish();
}
