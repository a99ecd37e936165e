//! `aws-cred keys`: long-term keys in the OS keyring (a real Secret Service: gnome-keyring in a
//! private `dbus-run-session`, see tests/support/secret_service.rs).

mod support;

use std::time::{Duration, Instant};
use support::secret_service::SecretService;

#[test]
fn the_test_secret_service_stores_and_reads_back() {
    let Some(ss) = SecretService::start() else {
        return;
    };
    let out = ss.secret_tool_with_input(
        &[
            "store",
            "--label=t",
            "service",
            "aws-cred-test",
            "username",
            "u",
        ],
        b"hello",
    );
    assert!(out.status.success(), "{out:?}\n{}", ss.log());
    let out = ss.secret_tool(&["lookup", "service", "aws-cred-test", "username", "u"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello");
    assert!(ss.keyring_files().join("login.keyring").exists());
}

#[test]
fn the_locked_test_keyring_refuses_at_once() {
    let Some(ss) = SecretService::start_locked() else {
        return;
    };
    let started = Instant::now();
    let out = ss.secret_tool(&["lookup", "service", "aws-cred-test", "username", "x"]);
    assert!(!out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty());
    assert!(started.elapsed() < Duration::from_secs(10));
}
