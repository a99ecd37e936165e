//! smithy-rs `assume-role-tests.json` (1f) against `chain::plan::plan`, the pure planner
//! behind the profile link. Each case's profiles become a config file; the plan is rendered in
//! the suite's own shape (`[base, AssumeRole...]`) and compared as JSON. An `Error` case must
//! give a planning error or "this profile has no credentials" (`Planned::Nothing`, which the
//! chain treats as a miss, like the SDK's "not loaded").

use crate::conformance::common::{self, Tally, str_at};
use crate::conformance::files;
use aws_cred::chain::plan::{Base, NamedSource, Planned, plan};
use aws_cred::profile::Profiles;
use serde_json::{Map, Value, json};

fn insert_some(map: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(value) = value {
        map.insert(key.to_string(), Value::String(value.to_string()));
    }
}

/// A plan in the suite's shape.
fn render(profiles: &Profiles, base: &Base, roles: &[aws_cred::chain::plan::RoleStep]) -> Value {
    let base = match base {
        Base::Static { profile } => {
            let mut keys = Map::new();
            insert_some(
                &mut keys,
                "access_key_id",
                profiles.get(profile, "aws_access_key_id"),
            );
            insert_some(
                &mut keys,
                "secret_access_key",
                profiles.get(profile, "aws_secret_access_key"),
            );
            insert_some(
                &mut keys,
                "account_id",
                profiles.get(profile, "aws_account_id"),
            );
            json!({ "AccessKey": keys })
        }
        Base::Named { source, .. } => json!({
            "NamedSource": match source {
                NamedSource::Environment => "Environment",
                NamedSource::Ec2InstanceMetadata => "Ec2InstanceMetadata",
                NamedSource::EcsContainer => "EcsContainer",
            }
        }),
        Base::WebIdentity {
            role, token_file, ..
        } => {
            let mut web = Map::new();
            web.insert("role_arn".into(), json!(role.role_arn));
            web.insert("web_identity_token_file".into(), json!(token_file));
            insert_some(&mut web, "role_session_name", role.session_name.as_deref());
            json!({ "WebIdentityToken": web })
        }
        Base::Sso(sso) => {
            let mut fields = Map::new();
            insert_some(&mut fields, "sso_session", sso.session_name.as_deref());
            fields.insert("sso_region".into(), json!(sso.region));
            fields.insert("sso_start_url".into(), json!(sso.start_url));
            insert_some(&mut fields, "sso_account_id", sso.account_id.as_deref());
            insert_some(&mut fields, "sso_role_name", sso.role_name.as_deref());
            json!({ "Sso": fields })
        }
        Base::Process { command, .. } => json!({ "CredentialProcess": command }),
        // aws-cred reads the keyring itself; to the SDKs it is a credential_process.
        Base::Keyring { profile, .. } => {
            json!({ "CredentialProcess": profiles.get(profile, "credential_process") })
        }
        // smithy-rs `BaseProvider::LoginSession`; the suite has no such case yet.
        Base::Login(session) => json!({ "LoginSession": session.arn }),
    };
    let mut chain = vec![base];
    for step in roles {
        let mut role = Map::new();
        role.insert("role_arn".into(), json!(step.role.role_arn));
        insert_some(&mut role, "external_id", step.role.external_id.as_deref());
        insert_some(
            &mut role,
            "role_session_name",
            step.role.session_name.as_deref(),
        );
        chain.push(json!({ "AssumeRole": role }));
    }
    Value::Array(chain)
}

fn run_case(test: &Value) -> Result<(), String> {
    let input = &test["input"];
    let text = files::config_text(input.get("profiles"), input.get("sso_sessions"));
    let selected = str_at(input, "selected_profile").unwrap_or("default");
    let profiles = files::load(Some(&text), None, Some(selected)).map_err(|e| format!("{e:#}"))?;
    let planned = plan(&profiles);
    let output = &test["output"];
    match (output.get("ProfileChain"), str_at(output, "Error"), planned) {
        (Some(want), _, Ok(Planned::Plan(p))) => {
            let got = render(&profiles, &p.base, &p.roles);
            if &got == want {
                Ok(())
            } else {
                Err(format!("expected {want}, got {got}"))
            }
        }
        (Some(want), _, Ok(Planned::Nothing(why))) => {
            Err(format!("expected {want}, got no credentials: {why}"))
        }
        (Some(want), _, Err(e)) => Err(format!("expected {want}, got error: {}", e.message)),
        (None, Some(_), Err(_) | Ok(Planned::Nothing(_))) => Ok(()),
        (None, Some(want), Ok(Planned::Plan(p))) => Err(format!(
            "expected an error ({want}), got {}",
            render(&profiles, &p.base, &p.roles)
        )),
        (None, None, _) => Err("case has neither ProfileChain nor Error".into()),
    }
}

#[test]
fn smithy_rs_assume_role_plans() {
    let Some(dir) = common::data_dir("smithy-rs assume-role-tests") else {
        return;
    };
    let data =
        common::read_json(&dir.join("smithy-rs/aws-config/test-data/assume-role-tests.json"));
    let mut tally = Tally::new("smithy-rs assume-role-tests.json");
    for (i, test) in data.as_array().expect("a list").iter().enumerate() {
        let case = common::label(i, str_at(test, "docs").unwrap_or(""));
        tally.record(&case, run_case(test));
    }
    tally.finish();
}
