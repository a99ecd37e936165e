//! Tests of `profile/mod.rs`.

use super::*;

// Unix only: Unix paths; on Windows `~/x` becomes `<home>\x` (os::path's tests check both).
#[cfg(unix)]
#[test]
fn home_expansion() {
    let home = Path::new("/h");
    assert_eq!(
        expand_home("~/.aws/x", Some(home)),
        Some(PathBuf::from("/h/.aws/x"))
    );
    assert_eq!(expand_home("~", Some(home)), Some(PathBuf::from("/h")));
    assert_eq!(expand_home("/abs/x", None), Some(PathBuf::from("/abs/x")));
    assert_eq!(expand_home("~/x", None), None);
    assert_eq!(
        expand_home("~user/x", Some(home)),
        Some(PathBuf::from("~user/x"))
    );
}

#[test]
fn the_fast_path_without_any_file_is_an_empty_set() {
    let ctx = Context::with_env([
        ("HOME", "/nonexistent-home"),
        ("AWS_CONFIG_FILE", "/nonexistent-home/config"),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent-home/credentials",
        ),
    ]);
    let profiles =
        block_on_for_tests(Profiles::load_scoped(&ctx, Some("x"), Scope::Selected)).unwrap();
    assert!(profiles.names().is_empty());
    assert!(!profiles.any_file_exists());
}

#[test]
fn defining_file_prefers_credentials() {
    let p = Profiles::from_text(
        "[profile a]\nregion = x\n[profile b]\nregion = y\n",
        "[a]\naws_access_key_id = k\naws_secret_access_key = s\n",
        "a",
    );
    assert_eq!(p.defining_file("a"), Path::new("/home/.aws/credentials"));
    assert_eq!(p.defining_file("b"), Path::new("/home/.aws/config"));
    assert_eq!(p.names(), vec!["a", "b"]);
}
