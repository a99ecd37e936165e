//! Tests of `output/status.rs`.

use super::*;
use crate::chain::inspect::ProfileKind;
use std::time::Duration;

fn render_table(report: &Report, colour: bool) -> String {
    let mut table = Table::new(report.now);
    for row in &report.profiles {
        table.push(row);
    }
    table.render(&report.cognito, colour, None)
}

/// Issue 23, item 10: in a narrow terminal the widest column is cut with `…` until every
/// line fits; nothing is cut when it fits, and no column goes below its heading.
#[test]
fn the_table_fits_the_width() {
    let mut widths = [40, 4, 9, 30, 60];
    fit(&mut widths, &[7, 4, 6, 5, 6], 100);
    assert_eq!(widths.iter().sum::<usize>() + 8, 100, "{widths:?}");
    assert_eq!(&widths[1..3], &[4, 9]);
    let mut roomy = [10, 4, 9, 30, 20];
    fit(&mut roomy, &[7, 4, 6, 5, 6], 200);
    assert_eq!(roomy, [10, 4, 9, 30, 20]);
    // Too narrow for even the headings: each column at its floor, no panic.
    let mut tiny = [40, 4, 9, 30, 60];
    fit(&mut tiny, &[7, 4, 6, 5, 6], 20);
    assert_eq!(tiny, [7, 4, 6, 5, 6]);
    assert_eq!(cut("production-account-admin", 10), "productio…");
    assert_eq!(cut("dev", 10), "dev");

    let mut report = report(Status::Depends {
        what: "SSO token \"corp\"".into(),
        validity: Validity::Missing,
        fix: None,
    });
    report.profiles[0].name = format!("very-long-profile-name-{}", "x".repeat(60));
    let mut table = Table::new(report.now);
    table.push(&report.profiles[0]);
    let text = table.render(&[], false, Some(60));
    for line in text.lines().take(2) {
        assert!(line.chars().count() <= 60, "{line:?}");
    }
    assert!(text.contains('…'), "{text}");
}

fn report(status: Status) -> Report {
    Report {
        now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        profiles: vec![ProfileRow {
            name: "dev\x1b[2J".into(),
            files: vec!["config"],
            region: Some("eu-west-1".into()),
            inspection: Inspection {
                kind: ProfileKind::Sso,
                source: "sso-session corp".into(),
                status,
                steps: Vec::new(),
            },
            check: None,
        }],
        cognito: Vec::new(),
    }
}

/// The streamed report is byte for byte the whole report pretty-printed in one go: with no
/// profile, one, several, plans, checks and Cognito sign-ins.
#[test]
fn the_stream_writes_what_pretty_printing_the_whole_report_writes() {
    #[derive(Serialize)]
    struct Whole<'a> {
        schema_version: u32,
        now: String,
        profiles: Vec<JsonProfile<'a>>,
        cognito: Vec<JsonSignIn<'a>>,
    }
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let one = report(Status::Depends {
        what: "SSO token \"corp\"\n".into(),
        validity: Validity::Valid {
            until: now + Duration::from_secs(60),
        },
        fix: None,
    });
    let mut many = one.clone();
    let mut second = many.profiles[0].clone();
    second.name = "z\u{e9}".into();
    second.region = None;
    second.inspection.steps = vec![PlanStep {
        text: "step".into(),
        status: Some(Status::LongTerm),
    }];
    second.check = Some(Check::Failed {
        why: "denied".into(),
    });
    many.profiles.push(second);
    many.cognito = vec![SignIn {
        key: "k".into(),
        user_pool_id: Some("eu-west-1_x".into()),
        client_id: None,
        username: Some("alice".into()),
        identity_pools: vec!["eu-west-1:p".into()],
        tokens: Some(Validity::Missing),
        credentials: None,
    }];
    let empty = Report {
        now,
        profiles: Vec::new(),
        cognito: Vec::new(),
    };
    let only_cognito = Report {
        profiles: Vec::new(),
        ..many.clone()
    };
    for r in [&empty, &one, &many, &only_cognito] {
        for detail in [false, true] {
            let whole = Whole {
                schema_version: SCHEMA_VERSION,
                now: rfc3339(r.now),
                profiles: r
                    .profiles
                    .iter()
                    .map(|row| profile_json(r.now, row, detail))
                    .collect(),
                cognito: sign_ins_json(r.now, &r.cognito),
            };
            let expected = serde_json::to_string_pretty(&whole).unwrap() + "\n";
            assert_eq!(render_json(r, detail).unwrap(), expected);
        }
    }
}

#[test]
fn control_characters_are_escaped_and_colour_is_optional() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let r = report(Status::Depends {
        what: "SSO token of sso-session corp".into(),
        validity: Validity::Expired {
            at: now - Duration::from_secs(180),
        },
        fix: Some("aws-cred sso-login --sso-session corp".into()),
    });
    let plain = render_table(&r, false);
    assert!(plain.contains("dev\\x1b[2J"), "{plain}");
    assert!(!plain.contains('\x1b'), "{plain}");
    assert!(plain.contains("expired 3m 00s ago"), "{plain}");
    assert!(!plain.contains("expired expired"), "said once: {plain}");
    assert!(
        plain.contains("to fix:\n  dev\\x1b[2J: SSO token of sso-session corp: aws-cred sso-login --sso-session corp"),
        "{plain}"
    );
    let coloured = render_table(&r, true);
    assert!(coloured.contains("\x1b[31mexpired"), "{coloured}");
    let json = render_json(&r, false).unwrap();
    assert!(json.contains(r#""name": "dev\u001b[2J""#), "{json}");
    assert!(json.contains(r#""expires_in_seconds": -180"#), "{json}");
}
