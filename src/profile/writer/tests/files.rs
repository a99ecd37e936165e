//! The writer on disk: modes, symlinks, locks, refusals that name the file, concurrency.

use super::*;
use crate::os::fs::{IoAction, lock_path_for};
use aws_config::profile::ProfileSet;
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use aws_types::os_shim_internal::{Env, Fs};
use std::fs::{self, File};
use std::io;
// Unix only: the permission-bit tests below.
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Instant;

// Unix only: Unix permission bits (os::fs tests the Windows access lists).
#[cfg(unix)]
fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o7777
}

fn request<'a>(
    path: &'a Path,
    profile: &'a str,
    entries: &'a [(&'a str, &'a str)],
) -> WriteRequest<'a> {
    WriteRequest {
        lock_timeout: Duration::from_secs(30),
        ..WriteRequest::new(path, profile, entries)
    }
}

/// Parses a file with the AWS SDK for Rust's own profile parser.
fn sdk_load(path: &Path, kind: EnvConfigFileKind) -> ProfileSet {
    let files = EnvConfigFiles::builder().with_file(kind, path).build();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime");
    runtime
        .block_on(aws_config::profile::load(
            &Fs::real(),
            &Env::from_slice(&[]),
            &files,
            None,
        ))
        .expect("the SDK parses the written file")
}

fn assert_sdk_profile(set: &ProfileSet, name: &str, entries: &[(&str, &str)]) {
    let profile = set
        .get_profile(name)
        .unwrap_or_else(|| panic!("SDK sees profile {name}"));
    for (key, value) in entries {
        assert_eq!(profile.get(key), Some(*value), "profile {name} key {key}");
    }
}

// Unix only: Unix permission bits (os::fs tests the Windows access lists).
#[cfg(unix)]
#[test]
fn edit_on_disk_tightens_mode_and_does_not_create_files_to_remove_from() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("credentials");
    let remove = ["aws_access_key_id"];
    let req = WriteRequest {
        lock_timeout: Duration::from_secs(30),
        ..WriteRequest::edit(&path, "p", HeaderStyle::Credentials, &[], &remove)
    };
    assert!(!write_profile(&req).unwrap().changed);
    assert!(!path.exists());
    fs::write(&path, "[p]\naws_access_key_id = K\nregion = r\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    let outcome = write_profile(&req).unwrap();
    assert!(outcome.changed && !outcome.removed_section);
    assert_eq!(fs::read_to_string(&path).unwrap(), "[p]\nregion = r\n");
    // Every rewrite of a file that holds (or held) secrets leaves it owner-only.
    assert_eq!(mode_of(&path), 0o600);
}

// ---- files --------------------------------------------------------------------------------

// Unix only: Unix permission bits (os::fs tests the Windows access lists).
#[cfg(unix)]
#[test]
fn creates_missing_file_0600_and_missing_dirs_0700() {
    let temp = tempfile::tempdir().expect("tempdir");
    let home = temp.path().join("home");
    fs::create_dir(&home).expect("mkdir");
    fs::set_permissions(&home, fs::Permissions::from_mode(0o751)).expect("chmod");
    let path = home.join(".aws").join("nested").join("credentials");
    let outcome = write_profile(&request(&path, "p", SESSION)).expect("written");
    assert_eq!(
        outcome,
        WriteOutcome {
            created_file: true,
            replaced_existing: false,
            changed: true,
            removed_section: false,
            duplicate_sections: 0,
            tightened_mode: None,
        }
    );
    assert_eq!(mode_of(&path), 0o600);
    assert_eq!(mode_of(&home.join(".aws")), 0o700);
    assert_eq!(mode_of(&home.join(".aws/nested")), 0o700);
    assert_eq!(
        mode_of(&home),
        0o751,
        "existing directories are not touched"
    );
    assert!(
        !lock_path_for(&path).exists(),
        "the lock is removed when released"
    );
    let held = osfs::acquire_lock(&lock_path_for(&path), Duration::from_secs(1)).expect("lock");
    assert_eq!(mode_of(&lock_path_for(&path)), 0o600, "while it is held");
    drop(held);
    assert_sdk_profile(
        &sdk_load(&path, EnvConfigFileKind::Credentials),
        "p",
        SESSION,
    );
    let mut names: Vec<String> = fs::read_dir(home.join(".aws/nested"))
        .expect("read_dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    assert_eq!(names, ["credentials"], "no temporary or lock files left");
}

// Unix only: Unix permission bits (os::fs tests the Windows access lists).
#[cfg(unix)]
#[test]
fn loose_mode_is_tightened_and_reported() {
    // Was `existing_mode_is_preserved` (0640 kept): a file holding secrets is now made 0600.
    let temp = tempfile::tempdir().expect("tempdir");
    let path = temp.path().join("credentials");
    fs::write(&path, "[a]\nx = 1\n").expect("write");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).expect("chmod");
    let outcome = write_profile(&request(&path, "p", &[("k", "v")])).expect("written");
    assert!(!outcome.created_file);
    assert_eq!(mode_of(&path), 0o600);
    assert_eq!(
        outcome.tightened_mode,
        Some(osfs::Tightened {
            from: 0o640,
            to: 0o600
        })
    );
    let again = write_profile(&request(&path, "p", &[("k", "v")])).expect("written");
    assert_eq!(again.tightened_mode, None, "said once");
    assert_eq!(
        fs::read_to_string(&path).expect("read"),
        "[a]\nx = 1\n\n[p]\nk = v\n"
    );
}

#[test]
fn replacing_preserves_bytes_on_disk() {
    let temp = tempfile::tempdir().expect("tempdir");
    let path = temp.path().join("credentials");
    let original = "; hand written\r\n[a]\r\nx = 1 \r\n\r\n[p]\r\nold = 1\r\n\r\n[b]\r\ny = 2";
    fs::write(&path, original).expect("write");
    let outcome = write_profile(&request(&path, "p", &[("k", "v")])).expect("written");
    assert!(outcome.replaced_existing);
    assert_eq!(
        fs::read(&path).expect("read"),
        b"; hand written\r\n[a]\r\nx = 1 \r\n\r\n[p]\r\nk = v\r\n\r\n[b]\r\ny = 2"
    );
}

// Unix only: making a symbolic link on Windows needs a privilege or developer mode.
#[cfg(unix)]
#[test]
fn symlink_survives_and_target_is_updated() {
    let temp = tempfile::tempdir().expect("tempdir");
    let real_dir = temp.path().join("vault");
    fs::create_dir(&real_dir).expect("mkdir");
    let real = real_dir.join("creds");
    fs::write(&real, "[a]\nx = 1\n").expect("write");
    fs::set_permissions(&real, fs::Permissions::from_mode(0o600)).expect("chmod");
    let aws = temp.path().join(".aws");
    fs::create_dir(&aws).expect("mkdir");
    let link = aws.join("credentials");
    std::os::unix::fs::symlink("../vault/creds", &link).expect("symlink");

    write_profile(&request(&link, "p", &[("k", "v")])).expect("written");
    assert!(
        fs::symlink_metadata(&link)
            .expect("lstat")
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        fs::read_link(&link).expect("readlink"),
        Path::new("../vault/creds")
    );
    assert_eq!(
        fs::read_to_string(&real).expect("read"),
        "[a]\nx = 1\n\n[p]\nk = v\n"
    );
    assert!(
        !real_dir.join("creds.lock").exists() && !aws.join("credentials.lock").exists(),
        "the lock is removed when released"
    );
    // The lock sits next to the real file: held there, it makes the writer wait.
    let held =
        osfs::acquire_lock(&real_dir.join("creds.lock"), Duration::from_secs(1)).expect("lock");
    let err = write_profile(&WriteRequest {
        lock_timeout: Duration::from_millis(50),
        ..request(&link, "p", &[("k", "w")])
    })
    .expect_err("waits for the lock next to the real file");
    assert!(err.to_string().contains("creds.lock"), "{err}");
    drop(held);

    // A dangling link gets its target created.
    let dangling = aws.join("config");
    std::os::unix::fs::symlink("../vault/config", &dangling).expect("symlink");
    let outcome = write_profile(&request(&dangling, "p", &[("k", "v")])).expect("written");
    assert!(outcome.created_file);
    assert!(
        fs::symlink_metadata(&dangling)
            .expect("lstat")
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        fs::read_to_string(real_dir.join("config")).expect("read"),
        "[p]\nk = v\n"
    );
}

// Unix only: making a symbolic link on Windows needs a privilege or developer mode.
#[cfg(unix)]
#[test]
fn symlink_loop_is_an_error() {
    let temp = tempfile::tempdir().expect("tempdir");
    let a = temp.path().join("a");
    let b = temp.path().join("b");
    std::os::unix::fs::symlink(&b, &a).expect("symlink");
    std::os::unix::fs::symlink(&a, &b).expect("symlink");
    let err = write_profile(&request(&a, "p", &[("k", "v")])).expect_err("loop");
    assert!(
        matches!(
            err,
            WriteError::Fs(FsError::SymlinkLoop { .. }) | WriteError::Fs(FsError::Io { .. })
        ),
        "{err:?}"
    );
}

#[test]
fn long_term_keys_need_overwrite_keys() {
    let temp = tempfile::tempdir().expect("tempdir");
    let path = temp.path().join("credentials");
    let original =
        format!("[prod]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = {SECRET}\n");
    fs::write(&path, &original).expect("write");

    let err = write_profile(&request(&path, "prod", SESSION)).expect_err("guarded");
    assert!(matches!(err, WriteError::LongTermKeys { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains("[prod]") && message.contains("--overwrite-keys"),
        "{message}"
    );
    assert!(!message.contains(SECRET) && !format!("{err:?}").contains(SECRET));
    assert_eq!(
        fs::read_to_string(&path).expect("read"),
        original,
        "file untouched"
    );

    let forced = WriteRequest {
        overwrite_keys: true,
        ..request(&path, "prod", SESSION)
    };
    let outcome = write_profile(&forced).expect("forced write");
    assert!(outcome.replaced_existing);
    assert_sdk_profile(
        &sdk_load(&path, EnvConfigFileKind::Credentials),
        "prod",
        SESSION,
    );

    // Session credentials are not guarded.
    write_profile(&request(
        &path,
        "prod",
        &[("aws_access_key_id", "ASIA2"), ("aws_session_token", "t")],
    ))
    .expect("session credentials overwritten without overwrite_keys");
}

#[test]
fn non_utf8_file_is_refused_and_untouched() {
    let temp = tempfile::tempdir().expect("tempdir");
    let path = temp.path().join("credentials");
    let original: &[u8] = b"[a]\nx = 1\n# caf\xe9\n";
    fs::write(&path, original).expect("write");
    let err = write_profile(&request(&path, "p", &[("k", "v")])).expect_err("refused");
    assert!(
        matches!(err, WriteError::NotUtf8 { line: 3, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("UTF-8"));
    assert_eq!(fs::read(&path).expect("read"), original);
}

#[test]
fn byte_order_mark_is_refused() {
    let result = upsert_section(
        "\u{feff}[p]\nx = 1\n",
        "p",
        HeaderStyle::Credentials,
        &[("k", "v")],
    );
    assert!(matches!(
        result,
        Err(WriteError::ByteOrderMark { path: None })
    ));
}

#[test]
fn indented_header_error_names_the_file() {
    let temp = tempfile::tempdir().expect("tempdir");
    let path = temp.path().join("credentials");
    fs::write(&path, "[p]\nx = 1\n [q]\n").expect("write");
    let err = write_profile(&request(&path, "p", &[("k", "v")])).expect_err("refused");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(&path).expect("read"),
        "[p]\nx = 1\n [q]\n"
    );
}

#[test]
fn target_that_is_not_a_file_is_refused() {
    let temp = tempfile::tempdir().expect("tempdir");
    let err = write_profile(&request(temp.path(), "p", &[("k", "v")])).expect_err("dir");
    assert!(
        matches!(err, WriteError::Fs(FsError::NotAFile { .. })),
        "{err:?}"
    );
    let file = temp.path().join("plain");
    fs::write(&file, "").expect("write");
    let err = write_profile(&request(&file.join("credentials"), "p", &[("k", "v")]))
        .expect_err("parent is a file");
    assert!(
        matches!(err, WriteError::Fs(FsError::NotADirectory { .. })),
        "{err:?}"
    );
}

// Unix only: Unix permission bits (os::fs tests the Windows access lists).
#[cfg(unix)]
#[test]
fn permission_denied_names_the_path() {
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = temp.path().join("locked");
    fs::create_dir(&dir).expect("mkdir");
    let path = dir.join("credentials");
    fs::write(&path, "[a]\nx = 1\n").expect("write");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o500)).expect("chmod");
    if File::create(dir.join("probe")).is_ok() {
        // Running as root: permissions are not enforced, nothing to test.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).expect("chmod");
        return;
    }
    let err = write_profile(&request(&path, "p", &[("k", "v")])).expect_err("denied");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).expect("chmod");
    assert!(
        matches!(err, WriteError::Fs(FsError::PermissionDenied { .. })),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&dir.display().to_string()),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&path).expect("read"), "[a]\nx = 1\n");
}

#[test]
fn io_errors_are_classified() {
    let full = FsError::io(
        IoAction::WriteTemp,
        Path::new("/h/.aws/credentials"),
        io::Error::from(io::ErrorKind::StorageFull),
    );
    assert!(matches!(full, FsError::DiskFull { .. }));
    let message = full.to_string();
    assert!(message.contains("/h/.aws/credentials") && message.contains("left unchanged"));
    let denied = FsError::io(
        IoAction::Replace,
        Path::new("/h/.aws/credentials"),
        io::Error::from(io::ErrorKind::PermissionDenied),
    );
    assert!(matches!(denied, FsError::PermissionDenied { .. }));
    assert!(denied.to_string().contains("/h/.aws/credentials"));
}

#[test]
fn lock_wait_is_bounded_and_names_the_lock_file() {
    let temp = tempfile::tempdir().expect("tempdir");
    let path = temp.path().join("credentials");
    let holder = File::create(lock_path_for(&path)).expect("lock file");
    holder.lock().expect("hold the lock");
    let req = WriteRequest {
        lock_timeout: Duration::from_millis(300),
        ..WriteRequest::new(&path, "p", &[("k", "v")])
    };
    let started = Instant::now();
    let err = write_profile(&req).expect_err("times out");
    let waited = started.elapsed();
    assert!(
        matches!(err, WriteError::Fs(FsError::LockTimeout { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("credentials.lock"), "{err}");
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    assert!(!path.exists(), "nothing written without the lock");
    // Closing the holder's handle frees the lock (on Windows an explicit unlock after another
    // handle's failed attempt is refused by wine).
    drop(holder);
    write_profile(&req).expect("written once the lock is free");
}

#[test]
fn config_file_round_trips_through_the_sdk() {
    let temp = tempfile::tempdir().expect("tempdir");
    let path = temp.path().join("config");
    fs::write(
        &path,
        "[default]\nregion = eu-west-1\n\n[sso-session s]\nsso_region = us-east-1\n",
    )
    .expect("write");
    let entries = [("region", "us-west-2"), ("output", "json")];
    for name in ["dev", "default"] {
        let req = WriteRequest {
            style: HeaderStyle::Config,
            ..request(&path, name, &entries)
        };
        write_profile(&req).expect("written");
    }
    let set = sdk_load(&path, EnvConfigFileKind::Config);
    assert_sdk_profile(&set, "dev", &entries);
    assert_sdk_profile(&set, "default", &entries);
    assert!(set.sso_session("s").is_some());
}

// ---- concurrency --------------------------------------------------------------------------

fn profile_entries(index: usize) -> Vec<(String, String)> {
    vec![
        ("aws_access_key_id".to_owned(), format!("ASIA{index:04}")),
        (
            "aws_secret_access_key".to_owned(),
            format!("secret/{index}+x="),
        ),
        ("aws_session_token".to_owned(), format!("token{index}")),
    ]
}

fn assert_all_profiles(path: &Path, count: usize) {
    let text = fs::read_to_string(path).expect("read");
    let set = sdk_load(path, EnvConfigFileKind::Credentials);
    for index in 0..count {
        let name = format!("writer-{index}");
        assert_eq!(
            text.matches(&format!("[{name}]\n")).count(),
            1,
            "{name} once"
        );
        let owned = profile_entries(index);
        let entries: Vec<(&str, &str)> = owned
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_sdk_profile(&set, &name, &entries);
    }
    assert_sdk_profile(&set, "keep", &[("region", "eu-west-1")]);
}

fn write_numbered(path: &Path, index: usize) -> Result<WriteOutcome, WriteError> {
    let owned = profile_entries(index);
    let entries: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let name = format!("writer-{index}");
    write_profile(&request(path, &name, &entries))
}

#[test]
fn twenty_threads_lose_nothing() {
    let temp = tempfile::tempdir().expect("tempdir");
    let path = temp.path().join("credentials");
    fs::write(&path, "# shared\n[keep]\nregion = eu-west-1\n").expect("write");
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|index| {
                let path = &path;
                scope.spawn(move || write_numbered(path, index))
            })
            .collect();
        for handle in handles {
            handle
                .join()
                .expect("thread finished")
                .expect("write succeeded");
        }
    });
    assert_all_profiles(&path, 20);
    assert!(
        fs::read_to_string(&path)
            .expect("read")
            .starts_with("# shared\n[keep]\n")
    );
}

const CHILD_PATH_VAR: &str = "AWS_CRED_WRITER_TEST_CHILD_PATH";
const CHILD_INDEX_VAR: &str = "AWS_CRED_WRITER_TEST_CHILD_INDEX";
const CHILD_DONE: &str = "writer-child-done";

/// Child side of `twenty_processes_lose_nothing`; without the variables it does nothing.
#[test]
#[allow(clippy::disallowed_methods)]
fn child_process_writer() {
    let (Some(path), Some(index)) = (
        std::env::var_os(CHILD_PATH_VAR),
        std::env::var_os(CHILD_INDEX_VAR),
    ) else {
        return;
    };
    let index: usize = index.to_str().and_then(|s| s.parse().ok()).expect("index");
    write_numbered(Path::new(&path), index).expect("child write");
    println!("{CHILD_DONE}");
}

#[test]
fn twenty_processes_lose_nothing() {
    let temp = tempfile::tempdir().expect("tempdir");
    let path = temp.path().join("credentials");
    fs::write(&path, "[keep]\nregion = eu-west-1\n").expect("write");
    let exe = std::env::current_exe().expect("test binary");
    let module = module_path!()
        .split_once("::")
        .map_or(module_path!(), |(_, rest)| rest);
    let test_name = format!("{module}::child_process_writer");
    let mut children: Vec<_> = (0..20)
        .map(|index| {
            Command::new(&exe)
                .args(["--exact", &test_name, "--nocapture", "--test-threads=1"])
                .env(CHILD_PATH_VAR, &path)
                .env(CHILD_INDEX_VAR, index.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn child")
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut pending: Vec<usize> = (0..children.len()).collect();
    while !pending.is_empty() {
        pending.retain(|&i| children[i].try_wait().expect("try_wait").is_none());
        if Instant::now() > deadline {
            for &i in &pending {
                let _ = children[i].kill();
            }
            panic!("children {pending:?} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for child in children {
        let output = child.wait_with_output().expect("child output");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains(CHILD_DONE),
            "child failed: {}\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_all_profiles(&path, 20);
}

// Unix only: Unix permission bits (os::fs tests the Windows access lists).
#[cfg(unix)]
#[test]
fn edit_file_keeps_mode_and_skips_unchanged_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    fs::write(&path, "[profile a]\nk = 1\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    let removed = edit_file(&path, Duration::from_secs(5), |text| {
        let out = remove_section(text, "a", HeaderStyle::Config)?;
        let found = out.is_some();
        Ok((out, found))
    })
    .unwrap();
    assert!(removed);
    assert_eq!(fs::read_to_string(&path).unwrap(), "");
    assert_eq!(mode_of(&path), 0o640);
    let missing = dir.path().join("none");
    edit_file(&missing, Duration::from_secs(5), |_| Ok((None, ()))).unwrap();
    assert!(!missing.exists(), "no change, no file");
}
