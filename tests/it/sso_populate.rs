//! `aws-cred sso roles` and `aws-cred sso populate` against the loopback IAM Identity Center
//! (`fakes/sso.rs`): every page read, one profile per (account, role), a renamed account, a
//! removed assignment with `--prune`, a clash with a hand-written profile, CRLF and comments
//! kept, `--dry-run`, and 20 concurrent populate/write runs that lose nothing.

use crate::fakes::sso as fake_sso;
use crate::support;

use aws_cred::profile::writer::{self, HeaderStyle, WriteRequest};
use fake_sso::{FakeAccount, FakeSso, START_URL, SsoRules};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};
use support::{OutputExt, Sandbox, run};

/// CRLF line endings and comments, a hand-written profile that clashes with a populated name.
const CONFIG: &str = "# corp SSO, by hand\r\n\
[sso-session corp]\r\n\
sso_start_url = https://corp.awsapps.com/start\r\n\
sso_region = us-east-1\r\n\
\r\n\
; mine, not the tool's\r\n\
[profile dev.ReadOnlyAccess]\r\n\
region = eu-west-1   \r\n\
output = json\r\n";

/// sha1("corp").
const TOKEN_FILE: &str = "home/.aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json";

fn cli_time(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64;
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// A valid token for [sso-session corp], issued by `fake`, as the AWS CLI writes it.
fn login(sb: &Sandbox, fake: &FakeSso) {
    let (_, _, access, _) = fake.issue_for_test(Duration::from_secs(3600));
    sb.write(
        TOKEN_FILE,
        format!(
            r#"{{"startUrl": "{START_URL}", "region": "us-east-1", "accessToken": "{access}", "expiresAt": "{}"}}"#,
            cli_time(SystemTime::now() + Duration::from_secs(3600))
        ),
    );
}

fn cmd(sb: &Sandbox, fake: &FakeSso) -> Command {
    let mut cmd = sb.cmd();
    cmd.env("AWS_ENDPOINT_URL_SSO_OIDC", fake.url())
        .env("AWS_ENDPOINT_URL_SSO", fake.url());
    cmd
}

fn aws_cred(sb: &Sandbox, fake: &FakeSso, args: &[&str]) -> Output {
    run(cmd(sb, fake).args(args))
}

fn sandbox(fake: &FakeSso) -> Sandbox {
    let sb = Sandbox::new();
    sb.write_config(CONFIG);
    login(&sb, fake);
    sb
}

fn config(sb: &Sandbox) -> String {
    std::fs::read_to_string(sb.config_path()).unwrap()
}

/// The profile names AWS tools read from the file (through aws-cred's conformant parser).
fn profile_names(sb: &Sandbox, fake: &FakeSso) -> Vec<String> {
    let out = aws_cred(sb, fake, &["status", "--json"]);
    out.assert_success();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout_str()).unwrap();
    doc["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

fn section(account: &str, role: &str, region: &str) -> String {
    format!(
        "sso_session = corp\r\nsso_account_id = {account}\r\nsso_role_name = {role}\r\nregion = {region}\r\naws_cred_populated = corp\r\n"
    )
}

#[test]
fn roles_lists_every_account_and_role_on_every_page() {
    let fake = FakeSso::start(SsoRules::default());
    let sb = sandbox(&fake);
    let out = aws_cred(&sb, &fake, &["sso", "roles"]);
    out.assert_success();
    assert_eq!(
        out.stdout_str(),
        "ACCOUNT       NAME     ROLE                 EMAIL\n\
         111111111111  dev      PowerUserAccess      dev@example.com\n\
         111111111111  dev      ReadOnlyAccess       dev@example.com\n\
         222222222222  staging  PowerUserAccess      staging@example.com\n\
         333333333333  prod     ReadOnlyAccess       prod@example.com\n\
         333333333333  prod     AdministratorAccess  prod@example.com\n"
    );
    // Page size 1: every page was read.
    assert_eq!(fake.calls("ListAccounts"), 3);
    assert_eq!(fake.calls("ListAccountRoles"), 5);

    let out = aws_cred(
        &sb,
        &fake,
        &["sso", "roles", "--sso-session", "corp", "--json"],
    );
    out.assert_success();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout_str()).unwrap();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["sso_session"], "corp");
    assert_eq!(doc["accounts"][2]["account_name"], "prod");
    assert_eq!(doc["accounts"][2]["email"], "prod@example.com");
    assert_eq!(
        doc["accounts"][2]["roles"],
        serde_json::json!(["ReadOnlyAccess", "AdministratorAccess"])
    );
    for secret in fake.secrets() {
        assert!(!out.stderr_str().contains(&secret));
    }

    // Without a token: the login command, no portal call.
    std::fs::remove_file(sb.path(TOKEN_FILE)).unwrap();
    let out = aws_cred(&sb, &fake, &["sso", "roles"]);
    assert_eq!(out.code(), Some(4), "{}", out.stderr_str());
    assert!(
        out.stderr_str().contains("aws-cred sso-login"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn populate_writes_one_profile_per_role_keeps_every_other_byte_and_reports_the_clash() {
    let fake = FakeSso::start(SsoRules::default());
    let sb = sandbox(&fake);
    std::fs::set_permissions(sb.config_path(), std::fs::Permissions::from_mode(0o640)).unwrap();

    let out = aws_cred(&sb, &fake, &["sso", "populate", "--region", "eu-central-1"]);
    out.assert_success();
    assert!(out.stdout.is_empty());
    let err = out.stderr_str();
    assert!(
        err.contains(": 4 added, 0 updated, 0 removed, 0 unchanged"),
        "{err}"
    );
    assert!(
        err.contains("clash: [profile dev.ReadOnlyAccess] exists and was not written by aws-cred sso populate"),
        "{err}"
    );
    let text = config(&sb);
    assert!(
        text.starts_with(CONFIG),
        "the hand-written part is byte for byte the same"
    );
    let expected_tail = format!(
        "\r\n[profile dev.PowerUserAccess]\r\n{}\r\n[profile staging.PowerUserAccess]\r\n{}\r\n[profile prod.ReadOnlyAccess]\r\n{}\r\n[profile prod.AdministratorAccess]\r\n{}",
        section("111111111111", "PowerUserAccess", "eu-central-1"),
        section("222222222222", "PowerUserAccess", "eu-central-1"),
        section("333333333333", "ReadOnlyAccess", "eu-central-1"),
        section("333333333333", "AdministratorAccess", "eu-central-1"),
    );
    assert_eq!(&text[CONFIG.len()..], expected_tail);
    let mode = std::fs::metadata(sb.config_path())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o640);

    // Again: nothing changes, not a byte.
    let out = aws_cred(&sb, &fake, &["sso", "populate", "--region", "eu-central-1"]);
    out.assert_success();
    assert!(
        out.stderr_str()
            .contains(": 0 added, 0 updated, 0 removed, 4 unchanged")
    );
    assert_eq!(config(&sb), text);

    // The profiles work: role credentials from the portal.
    let out = aws_cred(
        &sb,
        &fake,
        &["export", "--profile", "prod.AdministratorAccess"],
    );
    out.assert_success();
    assert!(out.stdout_str().contains("AWS_ACCESS_KEY_ID='ASIAFAKE"));
}

#[test]
fn a_renamed_account_and_a_removed_assignment_with_prune() {
    let fake = FakeSso::start(SsoRules::default());
    let sb = sandbox(&fake);
    aws_cred(&sb, &fake, &["sso", "populate"]).assert_success();
    let first = config(&sb);
    assert!(
        first.contains("[profile staging.PowerUserAccess]\r\n")
            && first.contains("region = us-east-1\r\n")
    );

    // The next day: account 111 is renamed (with characters a profile name cannot hold), and
    // staging is no longer assigned.
    let rules = SsoRules {
        accounts: vec![
            FakeAccount {
                id: "111111111111",
                name: "Dev Team (new)",
                email: "dev@example.com",
                roles: vec!["PowerUserAccess", "ReadOnlyAccess"],
            },
            FakeAccount {
                id: "333333333333",
                name: "prod",
                email: "prod@example.com",
                roles: vec!["ReadOnlyAccess", "AdministratorAccess"],
            },
        ],
        ..SsoRules::default()
    };
    let fake = FakeSso::start(rules);
    login(&sb, &fake);

    // Without --prune the old profiles stay and are reported.
    let out = aws_cred(&sb, &fake, &["sso", "populate"]);
    out.assert_success();
    let err = out.stderr_str();
    assert!(
        err.contains(": 2 added, 0 updated, 0 removed, 2 unchanged"),
        "{err}"
    );
    assert!(
        err.contains("stale: [profile dev.PowerUserAccess] is no longer assigned"),
        "{err}"
    );
    assert!(
        err.contains("stale: [profile staging.PowerUserAccess]"),
        "{err}"
    );
    assert!(
        !err.contains("clash"),
        "dev.ReadOnlyAccess is not generated any more: {err}"
    );

    // --dry-run --prune: the diff, nothing written.
    let before = config(&sb);
    let out = aws_cred(&sb, &fake, &["sso", "populate", "--prune", "--dry-run"]);
    out.assert_success();
    assert_eq!(config(&sb), before);
    let diff = out.stdout_str();
    assert!(diff.contains("@@ remove [profile staging.PowerUserAccess] @@\n-[profile staging.PowerUserAccess]\n-sso_session = corp\n"), "{diff}");
    assert!(
        diff.contains("@@ remove [profile dev.PowerUserAccess] @@"),
        "{diff}"
    );
    assert!(
        out.stderr_str().contains("would write "),
        "{}",
        out.stderr_str()
    );

    let out = aws_cred(&sb, &fake, &["sso", "populate", "--prune"]);
    out.assert_success();
    assert!(
        out.stderr_str()
            .contains(": 0 added, 0 updated, 2 removed, 4 unchanged"),
        "{}",
        out.stderr_str()
    );
    let text = config(&sb);
    assert!(text.starts_with(CONFIG), "{text:?}");
    assert!(!text.contains("staging") && !text.contains("[profile dev.PowerUserAccess]"));
    // The sanitised names read back as written.
    let names = profile_names(&sb, &fake);
    for name in [
        "Dev-Team--new-.PowerUserAccess",
        "Dev-Team--new-.ReadOnlyAccess",
        "prod.ReadOnlyAccess",
        "prod.AdministratorAccess",
        "dev.ReadOnlyAccess",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
    assert_eq!(names.len(), 5, "{names:?}");
}

#[test]
fn twenty_concurrent_populate_and_write_runs_lose_nothing() {
    let fake = FakeSso::start(SsoRules {
        page_size: 100,
        ..SsoRules::default()
    });
    let sb = sandbox(&fake);
    let children: Vec<std::process::Child> = (0..10)
        .map(|_| {
            cmd(&sb, &fake)
                .args(["sso", "populate"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let path = sb.config_path();
    let writers: Vec<std::thread::JoinHandle<()>> = (0..10)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let name = format!("hand-{i}");
                let value = format!("eu-west-{i}");
                let entries = [("region", value.as_str())];
                writer::write_profile(&WriteRequest {
                    style: HeaderStyle::Config,
                    lock_timeout: Duration::from_secs(60),
                    ..WriteRequest::new(&path, &name, &entries)
                })
                .unwrap();
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    for mut child in children {
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success());
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "populate runs did not finish"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let text = config(&sb);
    assert!(text.starts_with(CONFIG));
    for i in 0..10 {
        assert_eq!(
            text.matches(&format!("[profile hand-{i}]")).count(),
            1,
            "{text}"
        );
    }
    for name in [
        "dev.PowerUserAccess",
        "staging.PowerUserAccess",
        "prod.ReadOnlyAccess",
        "prod.AdministratorAccess",
    ] {
        assert_eq!(
            text.matches(&format!("[profile {name}]")).count(),
            1,
            "{text}"
        );
    }
    assert_eq!(profile_names(&sb, &fake).len(), 15);
}

/// 150 accounts, one a page: every page is read (the listing once stopped at 100 pages,
/// silently, and `--prune` then removed the profiles of the accounts it had not seen).
#[test]
fn a_listing_longer_than_a_hundred_pages_is_read_to_the_end() {
    let accounts: Vec<FakeAccount> = (0..150)
        .map(|i| FakeAccount {
            id: Box::leak(format!("{:012}", 100_000_000_000u64 + i).into_boxed_str()),
            name: Box::leak(format!("acct{i}").into_boxed_str()),
            email: "team@example.com",
            roles: vec!["ReadOnlyAccess"],
        })
        .collect();
    let fake = FakeSso::start(SsoRules {
        accounts,
        ..SsoRules::default()
    });
    let sb = sandbox(&fake);
    let out = aws_cred(&sb, &fake, &["sso", "roles", "--json"]);
    out.assert_success();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout_str()).unwrap();
    assert_eq!(doc["accounts"].as_array().unwrap().len(), 150);
    assert_eq!(doc["accounts"][149]["account_name"], "acct149");
    assert_eq!(fake.calls("ListAccounts"), 150);
}

/// A portal that repeats a nextToken: an error naming it, and `--prune` removes nothing.
#[test]
fn a_repeating_next_token_fails_and_prune_changes_nothing() {
    let fake = FakeSso::start(SsoRules::default());
    let sb = sandbox(&fake);
    aws_cred(&sb, &fake, &["sso", "populate"]).assert_success();
    let before = config(&sb);
    assert!(before.contains("[profile prod.AdministratorAccess]"));

    let circling = FakeSso::start(SsoRules {
        repeat_next_token: true,
        ..SsoRules::default()
    });
    login(&sb, &circling);
    let out = aws_cred(&sb, &circling, &["sso", "populate", "--prune"]);
    assert_eq!(out.code(), Some(1), "{}", out.stderr_str());
    assert!(
        out.stderr_str()
            .contains("sent a nextToken it had sent before"),
        "{}",
        out.stderr_str()
    );
    assert!(out.stdout.is_empty());
    assert_eq!(config(&sb), before, "nothing pruned, nothing written");
    assert!(circling.calls("ListAccounts") <= 3);

    let out = aws_cred(&sb, &circling, &["sso", "roles"]);
    assert_eq!(out.code(), Some(1), "{}", out.stderr_str());
}
