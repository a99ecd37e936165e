//! Tests of `chain/plan.rs`.

use super::*;

fn planned(config: &str, credentials: &str, selected: &str) -> Result<Planned, Problem> {
    plan(&Profiles::from_text(config, credentials, selected))
}

fn role(profile: &str, arn: &str) -> RoleStep {
    RoleStep {
        profile: profile.into(),
        role: RoleRequest {
            role_arn: arn.into(),
            ..Default::default()
        },
        mfa_serial: None,
    }
}

#[test]
fn static_keys() {
    let p = planned(
        "",
        "[a]\naws_access_key_id = k\naws_secret_access_key = s\n",
        "a",
    )
    .unwrap();
    assert_eq!(
        p,
        Planned::Plan(Plan {
            base: Base::Static {
                profile: "a".into()
            },
            roles: vec![]
        })
    );
}

#[test]
fn blank_keys_count_as_absent() {
    // Issue 11 item 4: `aws_access_key_id =` used to export empty keys with exit 0.
    let blank = "[a]\naws_access_key_id =\naws_secret_access_key =   \n";
    assert!(matches!(planned("", blank, "a"), Ok(Planned::Nothing(_))));
    let key_only = "[a]\naws_access_key_id = k\naws_secret_access_key =\n";
    let err = planned("", key_only, "a").unwrap_err();
    assert!(
        err.message.contains("aws_secret_access_key"),
        "{}",
        err.message
    );
    // A blank source profile is no source either.
    let config = "[profile top]\nrole_arn = arn:top\nsource_profile = a\n";
    assert!(planned(config, blank, "top").is_err());
    let profiles = Profiles::from_text("", blank, "a");
    assert_eq!(profiles.credential("a", "aws_access_key_id"), None);
    assert_eq!(
        profiles.get("a", "aws_access_key_id"),
        Some(""),
        "as written"
    );
    assert!(crate::profile::long_term::long_term_of_profile(&profiles, "a").is_none());
}

#[test]
fn role_chain_ends_in_static_keys_and_assumes_in_order() {
    let config = "[profile top]\nrole_arn = arn:top\nsource_profile = mid\n\
                  [profile mid]\nrole_arn = arn:mid\nsource_profile = base\n";
    let creds = "[base]\naws_access_key_id = k\naws_secret_access_key = s\n";
    let Planned::Plan(p) = planned(config, creds, "top").unwrap() else {
        panic!("expected a plan")
    };
    assert_eq!(
        p.base,
        Base::Static {
            profile: "base".into()
        }
    );
    assert_eq!(
        p.roles,
        vec![role("mid", "arn:mid"), role("top", "arn:top")]
    );
}

#[test]
fn source_profile_with_keys_wins_over_its_own_role() {
    let config = "[profile top]\nrole_arn = arn:top\nsource_profile = mid\n\
                  [profile mid]\nrole_arn = arn:mid\nsource_profile = nowhere\n\
                  aws_access_key_id = k\naws_secret_access_key = s\n";
    let Planned::Plan(p) = planned(config, "", "top").unwrap() else {
        panic!()
    };
    assert_eq!(
        p.base,
        Base::Static {
            profile: "mid".into()
        }
    );
    assert_eq!(p.roles, vec![role("top", "arn:top")]);
}

#[test]
fn self_reference_uses_own_keys() {
    let config = "[profile a]\nrole_arn = arn:a\nsource_profile = a\naws_access_key_id = k\naws_secret_access_key = s\n";
    let Planned::Plan(p) = planned(config, "", "a").unwrap() else {
        panic!()
    };
    assert_eq!(
        p.base,
        Base::Static {
            profile: "a".into()
        }
    );
    assert_eq!(p.roles, vec![role("a", "arn:a")]);
}

/// Issue 22, item 16: a chain longer than MAX_CHAIN is an error, one of MAX_CHAIN works.
#[test]
fn chains_are_followed_up_to_the_cap() {
    let chain = |depth: usize| {
        let mut config = String::new();
        for i in 0..depth {
            config.push_str(&format!(
                "[profile p{i}]\nrole_arn = arn:r{i}\nsource_profile = p{}\n",
                i + 1
            ));
        }
        let credentials = format!("[p{depth}]\naws_access_key_id = A\naws_secret_access_key = s\n");
        planned(&config, &credentials, "p0")
    };
    let Planned::Plan(p) = chain(MAX_CHAIN - 1).expect("MAX_CHAIN profiles in all") else {
        panic!("a plan")
    };
    assert_eq!(p.roles.len(), MAX_CHAIN - 1);
    let err = chain(3000).unwrap_err();
    assert!(
        err.message.contains("longer than 64 profiles"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("p0 -> p1 -> p2 -> ..."),
        "{}",
        err.message
    );
    assert!(err.message.len() < 300, "short: {}", err.message);
}

#[test]
fn loops_and_missing_sources_are_config_errors() {
    let config = "[profile a]\nrole_arn = arn:a\nsource_profile = b\n[profile b]\nrole_arn = arn:b\nsource_profile = a\n";
    let err = planned(config, "", "a").unwrap_err();
    assert!(err.message.contains("a -> b -> a"), "{}", err.message);
    let err = planned(
        "[profile a]\nrole_arn = x\nsource_profile = ghost\n",
        "",
        "a",
    )
    .unwrap_err();
    assert!(err.message.contains("ghost"));
    let err = planned("[profile a]\nrole_arn = x\n", "", "a").unwrap_err();
    assert!(
        err.message
            .contains("no source_profile or credential_source")
    );
    let err = planned(
        "[profile a]\nrole_arn = x\nsource_profile = b\ncredential_source = Environment\n",
        "",
        "a",
    )
    .unwrap_err();
    assert!(err.message.contains("both"));
}

#[test]
fn credential_source_and_web_identity_and_process() {
    let Planned::Plan(p) = planned(
        "[profile a]\nrole_arn = arn:a\ncredential_source = EcsContainer\n",
        "",
        "a",
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(
        p.base,
        Base::Named {
            profile: "a".into(),
            source: NamedSource::EcsContainer
        }
    );
    assert_eq!(p.roles.len(), 1);

    let Planned::Plan(p) = planned(
        "[profile w]\nrole_arn = arn:w\nweb_identity_token_file = /t\n",
        "",
        "w",
    )
    .unwrap() else {
        panic!()
    };
    assert!(matches!(p.base, Base::WebIdentity { ref token_file, .. } if token_file == "/t"));
    assert!(p.roles.is_empty());

    let Planned::Plan(p) = planned("[profile c]\ncredential_process = echo hi\n", "", "c").unwrap()
    else {
        panic!()
    };
    assert_eq!(
        p.base,
        Base::Process {
            profile: "c".into(),
            command: "echo hi".into()
        }
    );
    let Planned::Plan(p) = planned(
        "[profile k]\ncredential_process = aws-cred keys process --profile k\n",
        "",
        "k",
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(
        p.base,
        Base::Keyring {
            profile: "k".into(),
            entry: "k".into()
        }
    );
    assert!(planned("[profile w]\nweb_identity_token_file = /t\n", "", "w").is_err());
    assert!(
        planned(
            "[profile x]\ncredential_source = Moon\nrole_arn = r\n",
            "",
            "x"
        )
        .is_err()
    );
}

#[test]
fn sso_session_and_legacy() {
    let config = "[profile dev]\nsso_session = corp\nsso_account_id = 111\nsso_role_name = Dev\n\
                  [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = ap-northeast-1\n\
                  [profile old]\nsso_start_url = https://old/start\nsso_region = us-east-1\nsso_account_id = 2\nsso_role_name = R\n";
    let Planned::Plan(p) = planned(config, "", "dev").unwrap() else {
        panic!()
    };
    let Base::Sso(sso) = p.base else { panic!() };
    assert_eq!(sso.session_name.as_deref(), Some("corp"));
    assert_eq!(sso.start_url, "https://corp.awsapps.com/start");
    assert_eq!(sso.region, "ap-northeast-1");
    let Planned::Plan(p) = planned(config, "", "old").unwrap() else {
        panic!()
    };
    let Base::Sso(sso) = p.base else { panic!() };
    assert_eq!(sso.session_name, None);
    assert!(planned("[profile x]\nsso_session = nope\n", "", "x").is_err());
    assert!(
        planned(
            "[profile x]\nsso_start_url = u\nsso_region = r\nsso_account_id = 1\n",
            "",
            "x"
        )
        .is_err()
    );
}

#[test]
fn login_session_is_a_base_and_a_source_profile() {
    let config = "[profile console]\nlogin_session = arn:aws:iam::123456789012:user/alice\nregion = eu-west-1\n\
                  [profile admin]\nrole_arn = arn:aws:iam::123456789012:role/Admin\nsource_profile = console\n";
    let session = LoginSession {
        profile: "console".into(),
        arn: "arn:aws:iam::123456789012:user/alice".into(),
        region: Some("eu-west-1".into()),
    };
    let Planned::Plan(p) = planned(config, "", "console").unwrap() else {
        panic!()
    };
    assert_eq!(p.base, Base::Login(session.clone()));
    assert!(p.roles.is_empty());
    let Planned::Plan(p) = planned(config, "", "admin").unwrap() else {
        panic!()
    };
    assert_eq!(p.base, Base::Login(session));
    assert_eq!(
        p.roles,
        vec![role("admin", "arn:aws:iam::123456789012:role/Admin")]
    );
}

#[test]
fn empty_or_missing_profiles() {
    assert!(matches!(
        planned("[profile a]\nregion = x\n", "", "a").unwrap(),
        Planned::Nothing(_)
    ));
    let err = planned("[profile a]\nregion = x\n", "", "zzz").unwrap_err();
    assert!(err.message.contains("available: a"));
    // Up to 20 names are listed; past that, their number (a 10,000-profile config must not
    // print 300 KB), and the nearest name is still the hint.
    let config = |n: usize| -> String {
        (0..n)
            .map(|i| format!("[profile p{i:02}]\nregion = x\n"))
            .collect()
    };
    let err = planned(&config(20), "", "p1x").unwrap_err();
    assert!(err.message.contains("available: p00, p01,") && err.message.contains("p19"));
    let err = planned(&config(21), "", "p1x").unwrap_err();
    assert!(
        err.message
            .ends_with("; 21 profiles there (aws-cred status lists them)")
    );
    assert!(!err.message.contains("p00"), "{}", err.message);
    assert!(
        err.hint
            .as_deref()
            .is_some_and(|h| h.contains("did you mean p1"))
    );
    let err = planned(
        "[profile a]\nrole_arn = r\nsource_profile = b\n[profile b]\nregion = x\n",
        "",
        "a",
    )
    .unwrap_err();
    assert!(
        err.message
            .contains("source profile \"b\" has no credentials")
    );
    let err = planned("[profile a]\naws_access_key_id = k\n", "", "a").unwrap_err();
    assert!(err.message.contains("aws_secret_access_key"));
}

#[test]
fn role_options_are_carried() {
    let config = "[profile r]\nrole_arn = arn:r\nsource_profile = b\nexternal_id = ext\nrole_session_name = me\nduration_seconds = 3600\nmfa_serial = arn:mfa\n\
                  [profile b]\naws_access_key_id = k\naws_secret_access_key = s\n";
    let Planned::Plan(p) = planned(config, "", "r").unwrap() else {
        panic!()
    };
    let step = &p.roles[0];
    assert_eq!(step.role.external_id.as_deref(), Some("ext"));
    assert_eq!(step.role.session_name.as_deref(), Some("me"));
    assert_eq!(step.role.duration_seconds, Some(3600));
    assert_eq!(step.mfa_serial.as_deref(), Some("arn:mfa"));
    assert!(planned("[profile r]\nrole_arn = a\nsource_profile = r\nduration_seconds = soon\naws_access_key_id = k\naws_secret_access_key = s\n", "", "r").is_err());
}

/// Issue 23, item 8: aws-vault's session_tags / transitive_session_tags and
/// source_identity reach the role request; malformed lists are config errors.
#[test]
fn session_tags_and_source_identity() {
    let config = |extra: &str| {
        format!(
            "[profile r]\nrole_arn = arn:r\nsource_profile = b\n{extra}\n[profile b]\naws_access_key_id = k\naws_secret_access_key = s\n"
        )
    };
    let Planned::Plan(p) = planned(
        &config("session_tags = team=platform, env = prod ,x=\ntransitive_session_tags = Team\nsource_identity = alice\n"),
        "",
        "r",
    )
    .unwrap() else {
        panic!()
    };
    let role = &p.roles[0].role;
    assert_eq!(
        role.tags,
        vec![
            ("team".to_string(), "platform".to_string()),
            ("env".to_string(), "prod".to_string()),
            ("x".to_string(), String::new())
        ]
    );
    assert_eq!(role.transitive_tag_keys, vec!["Team".to_string()]);
    assert_eq!(role.source_identity.as_deref(), Some("alice"));
    for bad in [
        "session_tags = team",
        "session_tags = =v",
        "session_tags = a=1,A=2",
        "session_tags = a=1\ntransitive_session_tags = b",
    ] {
        assert!(planned(&config(bad), "", "r").is_err(), "{bad}");
    }
}
