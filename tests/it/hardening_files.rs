//! Issue 11, items 1–4, 7 and 8: files aws-cred did not write. Planted cache entries, lock
//! files that are links, loose credentials files, blank keys, FIFOs and devices at the paths
//! aws-cred reads, and files too big to be real. Each test failed before the fix.

use crate::support;

use sha1::{Digest, Sha1};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime};
use support::{FakeHttp, OutputExt, Response, Sandbox, run, run_with_timeout};

const SERIAL: &str = "arn:aws:iam::123456789012:mfa/alice";
const LONG_TERM_KEY: &str = "AKIAPRODLONGTERM0001";

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn is_root() -> bool {
    rustix::process::getuid().is_root()
}

fn rfc3339_in(secs: u64) -> String {
    let t = SystemTime::now() + Duration::from_secs(secs);
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// `[prod]` with long-term keys and an MFA device; the cache in `<root>/cache`.
fn mfa_sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.write_credentials(&format!(
        "[prod]\naws_access_key_id = {LONG_TERM_KEY}\naws_secret_access_key = longtermsecret\nmfa_serial = {SERIAL}\n"
    ));
    sb
}

fn mfa_entry_path(sb: &Sandbox) -> std::path::PathBuf {
    let mut hasher = Sha1::new();
    hasher.update(LONG_TERM_KEY.as_bytes());
    hasher.update(b"\n");
    hasher.update(SERIAL.as_bytes());
    sb.path(&format!(
        "cache/mfa/{}.json",
        hex::encode(hasher.finalize())
    ))
}

/// Plant a valid-looking MFA session holding someone else's keys.
fn plant_mfa_session(sb: &Sandbox) -> std::path::PathBuf {
    let path = mfa_entry_path(sb);
    let body = serde_json::json!({
        "version": 1,
        "serial": SERIAL,
        "arn": null,
        "access_key_id": "ASIAPLANTED",
        "secret_access_key": "plantedsecret",
        "session_token": "plantedtoken",
        "expiration": rfc3339_in(6 * 3600),
    });
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    chmod(&sb.path("cache"), 0o700);
    chmod(path.parent().unwrap(), 0o700);
    std::fs::write(&path, serde_json::to_vec(&body).unwrap()).unwrap();
    chmod(&path, 0o600);
    path
}

fn export_prod(sb: &Sandbox) -> std::process::Output {
    run(sb.cmd().env("AWS_CRED_CACHE_DIR", sb.path("cache")).args([
        "export",
        "--profile",
        "prod",
        "--explain",
    ]))
}

#[test]
fn issue11_1_own_mfa_session_is_used() {
    // The control: an entry this user wrote, in private directories, is trusted.
    let sb = mfa_sandbox();
    plant_mfa_session(&sb);
    let out = export_prod(&sb);
    out.assert_success();
    assert!(out.stdout_str().contains("ASIAPLANTED"));
}

#[test]
fn issue11_1_mfa_cache_dir_writable_by_others_is_refused() {
    let sb = mfa_sandbox();
    let entry = plant_mfa_session(&sb);
    let dir = entry.parent().unwrap();
    chmod(dir, 0o777);
    let out = export_prod(&sb);
    out.assert_code(1);
    out.assert_failed_eval();
    let err = out.stderr_str();
    assert!(err.contains(&dir.display().to_string()), "{err}");
    assert!(err.contains("writable by group or others"), "{err}");
    assert!(err.contains("hint: chmod 700"), "{err}");
    assert!(!err.contains("plantedsecret"));
    // The cache root above it, too.
    chmod(dir, 0o700);
    chmod(&sb.path("cache"), 0o777);
    export_prod(&sb).assert_code(1);
}

#[test]
fn issue11_1_mfa_cache_file_writable_by_others_is_refused() {
    let sb = mfa_sandbox();
    let entry = plant_mfa_session(&sb);
    chmod(&entry, 0o666);
    let out = export_prod(&sb);
    out.assert_code(1);
    out.assert_failed_eval();
    let err = out.stderr_str();
    assert!(
        err.contains(&entry.display().to_string()) && err.contains("0666"),
        "{err}"
    );
}

#[test]
fn issue11_1_mfa_cache_file_owned_by_another_user_is_refused() {
    if !is_root() {
        eprintln!("skipped: chown needs root");
        return;
    }
    let sb = mfa_sandbox();
    let entry = plant_mfa_session(&sb);
    std::os::unix::fs::chown(&entry, Some(65534), Some(65534)).unwrap();
    let out = export_prod(&sb);
    out.assert_code(1);
    out.assert_failed_eval();
    let err = out.stderr_str();
    assert!(
        err.contains(&entry.display().to_string()) && err.contains("uid 65534"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
    // `aws-cred mfa` refuses the same entry rather than reusing it.
    let out = run(sb
        .cmd()
        .env("AWS_CRED_CACHE_DIR", sb.path("cache"))
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .args(["mfa", "123456", "--profile", "prod"]));
    out.assert_code(1);
    assert!(
        out.stderr_str().contains("uid 65534"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn issue11_1_cognito_cache_writable_by_others_is_refused() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.path("cache/cognito")).unwrap();
    chmod(&sb.path("cache"), 0o700);
    chmod(&sb.path("cache/cognito"), 0o777);
    let fake = FakeHttp::new(|_| Response::json(500, "{}"));
    let out = run(sb
        .cmd()
        .env("AWS_CRED_CACHE_DIR", sb.path("cache"))
        .env("AWS_ENDPOINT_URL", fake.url())
        .args([
            "cognito",
            "--unauthenticated",
            "--identity-pool-id",
            "us-east-1:11111111-2222-3333-4444-555555555555",
        ]));
    out.assert_code(1);
    let err = out.stderr_str();
    assert!(
        err.contains("cache/cognito") && err.contains("writable by group or others"),
        "{err}"
    );
    assert!(fake.requests().is_empty(), "refused before any call");
}

#[test]
fn issue11_1_sso_token_owned_by_another_user_is_never_used() {
    if !is_root() {
        eprintln!("skipped: chown needs root");
        return;
    }
    let sb = Sandbox::new();
    sb.write_config(
        "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Dev\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n",
    );
    let token = sb.write(
        "home/.aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json",
        format!(
            r#"{{"startUrl":"https://corp.awsapps.com/start","region":"us-east-1","accessToken":"planted-token","expiresAt":"{}"}}"#,
            rfc3339_in(3600)
        ),
    );
    std::os::unix::fs::chown(&token, Some(65534), Some(65534)).unwrap();
    let portal = FakeHttp::new(|_| Response::json(500, "{}"));
    let out =
        run(sb
            .cmd()
            .env("AWS_ENDPOINT_URL", portal.url())
            .args(["export", "--profile", "dev"]));
    assert_ne!(out.code(), Some(0));
    out.assert_failed_eval();
    let err = out.stderr_str();
    assert!(
        err.contains("warning:") && err.contains("uid 65534"),
        "{err}"
    );
    assert!(portal.requests().is_empty(), "the planted token was sent");

    // A token of ours with a loose mode: a warning, and it is used (the AWS CLI shares it).
    std::os::unix::fs::chown(&token, Some(0), Some(0)).unwrap();
    chmod(&token, 0o666);
    let out =
        run(sb
            .cmd()
            .env("AWS_ENDPOINT_URL", portal.url())
            .args(["export", "--profile", "dev"]));
    let err = out.stderr_str();
    assert!(err.contains("warning:") && err.contains("0666"), "{err}");
    // Issue 22, item 19: the words match what happens (it is used, so no "refuses").
    assert!(
        !err.contains("refuses") && err.contains("still uses it") && err.contains("chmod 600"),
        "{err}"
    );
    assert!(!portal.requests().is_empty(), "our own token is used");
}

#[test]
fn issue11_2_planted_lock_link_creates_nothing() {
    let sb = mfa_sandbox();
    let entry = mfa_entry_path(&sb);
    std::fs::create_dir_all(entry.parent().unwrap()).unwrap();
    chmod(&sb.path("cache"), 0o700);
    chmod(entry.parent().unwrap(), 0o700);
    let victim = sb.path("victim-root-only");
    let mut lock = entry.clone().into_os_string();
    lock.push(".lock");
    std::os::unix::fs::symlink(&victim, &lock).unwrap();
    let out = run(sb
        .cmd()
        .env("AWS_CRED_CACHE_DIR", sb.path("cache"))
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .args(["mfa", "123456", "--profile", "prod"]));
    out.assert_code(1);
    assert!(!victim.exists(), "the lock link was followed");
    assert!(
        out.stderr_str().contains("symbolic link"),
        "{}",
        out.stderr_str()
    );

    // The credentials file's lock, too.
    let victim = sb.path("victim-2");
    std::os::unix::fs::symlink(&victim, sb.home_path(".aws/credentials.lock")).unwrap();
    let out = run(sb
        .cmd()
        .env("AWS_ACCESS_KEY_ID", "AKIAENV")
        .env("AWS_SECRET_ACCESS_KEY", "envsecret")
        .args(["export", "--write-profile", "x"]));
    out.assert_code(1);
    assert!(!victim.exists(), "the lock link was followed");
}

fn write_profile(sb: &Sandbox) -> std::process::Output {
    run(sb
        .cmd()
        .env("AWS_ACCESS_KEY_ID", "ASIANEW")
        .env("AWS_SECRET_ACCESS_KEY", "newsecret")
        .env("AWS_SESSION_TOKEN", "newtoken")
        .args(["export", "--write-profile", "session"]))
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn issue11_3_loose_credentials_file_is_tightened_once() {
    for loose in [0o644, 0o777, 0o4755, 0o2660] {
        let sb = Sandbox::new();
        let path =
            sb.write_credentials("[a]\naws_access_key_id = AKIA\naws_secret_access_key = s\n");
        chmod(&path, loose);
        let out = write_profile(&sb);
        out.assert_success();
        assert_eq!(mode(&path), 0o600, "from {loose:o}");
        let err = out.stderr_str();
        assert_eq!(err.matches("warning:").count(), 1, "{err}");
        assert!(
            err.contains(&format!("{loose:04o}")) && err.contains("0600"),
            "{err}"
        );
        assert!(!err.contains("newsecret") && !err.contains("newtoken"));
        // Said once: the next write has nothing to say.
        let out = write_profile(&sb);
        assert!(
            !out.stderr_str().contains("warning:"),
            "{}",
            out.stderr_str()
        );
    }
}

#[test]
fn issue11_3_symlinked_target_is_tightened() {
    let sb = Sandbox::new();
    let real = sb.write("vault/creds", "[a]\nx = 1\n");
    chmod(&real, 0o644);
    std::fs::remove_file(sb.credentials_path()).ok();
    std::os::unix::fs::symlink(&real, sb.credentials_path()).unwrap();
    write_profile(&sb).assert_success();
    assert_eq!(mode(&real), 0o600);
    assert!(
        std::fs::symlink_metadata(sb.credentials_path())
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn issue11_3_stale_temporary_file_is_removed_by_the_next_write() {
    let sb = Sandbox::new();
    sb.write_credentials("[a]\nx = 1\n");
    let stale = sb.write(
        "home/.aws/.credentials.Ab12Cd.tmp",
        "[half]\naws_secret_access_key = lost\n",
    );
    let old = SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let unrelated = sb.write("home/.aws/.credentials.mine.tmp", "keep");
    write_profile(&sb).assert_success();
    assert!(
        !stale.exists(),
        "the killed writer's temporary file is still there"
    );
    assert!(unrelated.exists());
}

#[test]
fn issue11_4_blank_keys_count_as_absent() {
    let sb = Sandbox::new();
    sb.write_credentials("[foo]\naws_access_key_id =\naws_secret_access_key =\n");
    let out = sb.aws_cred(&["export", "--profile", "foo"]);
    out.assert_code(3);
    out.assert_failed_eval();
    // One blank key is a configuration error naming it.
    sb.write_credentials("[foo]\naws_access_key_id = AKIA\naws_secret_access_key =  \n");
    let out = sb.aws_cred(&["export", "--profile", "foo"]);
    out.assert_code(2);
    assert!(out.stderr_str().contains("aws_secret_access_key"));
    // The mfa command's long-term source likewise.
    sb.write_credentials(&format!(
        "[foo]\naws_access_key_id =\naws_secret_access_key =\nmfa_serial = {SERIAL}\n"
    ));
    let out = run(sb
        .cmd()
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .args(["mfa", "123456", "--profile", "foo"]));
    assert!(
        matches!(out.code(), Some(2 | 3)),
        "{:?} {}",
        out.code(),
        out.stderr_str()
    );
    out.assert_failed_eval();
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn issue11_7_fifo_and_devices_at_file_paths_are_refused() {
    let sb = Sandbox::new();
    let fifo = sb.path("fifo");
    mkfifo(&fifo);
    for (var, path) in [
        ("AWS_SHARED_CREDENTIALS_FILE", fifo.as_path()),
        ("AWS_CONFIG_FILE", fifo.as_path()),
        ("AWS_CONFIG_FILE", Path::new("/dev/zero")),
        ("AWS_SHARED_CREDENTIALS_FILE", Path::new("/dev/zero")),
    ] {
        let out = run_with_timeout(
            sb.cmd().env(var, path).args(["export"]),
            Duration::from_secs(20),
        );
        out.assert_code(2);
        let err = out.stderr_str();
        assert!(
            err.contains("not a regular file") && err.contains(&path.display().to_string()),
            "{var}={}: {err}",
            path.display()
        );
    }
    for token in [fifo.as_path(), Path::new("/dev/zero")] {
        let out = run_with_timeout(
            sb.cmd()
                .env("AWS_WEB_IDENTITY_TOKEN_FILE", token)
                .env("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/R")
                .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
                .args(["export"]),
            Duration::from_secs(20),
        );
        out.assert_code(1);
        assert!(
            out.stderr_str().contains("not a regular file"),
            "{}",
            out.stderr_str()
        );
    }
    // The container authorization token file (read by the SDK's ECS provider).
    let out = run_with_timeout(
        sb.cmd()
            .env(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "http://127.0.0.1:9/creds",
            )
            .env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &fifo)
            .args(["export"]),
        Duration::from_secs(20),
    );
    out.assert_code(1);
    assert!(
        out.stderr_str().contains("not a regular file"),
        "{}",
        out.stderr_str()
    );
    let out = run_with_timeout(
        sb.cmd()
            .env("AWS_CA_BUNDLE", "/dev/zero")
            .env("AWS_ACCESS_KEY_ID", "AKIA")
            .env("AWS_SECRET_ACCESS_KEY", "s")
            .args(["export"]),
        Duration::from_secs(20),
    );
    out.assert_code(2);
    assert!(
        out.stderr_str().contains("not a regular file"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn issue11_8_oversized_files_are_refused() {
    let sb = Sandbox::new();
    // Sparse files: no disk, but the size a reader would have to take in.
    let big = sb.path("big-config");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(17 * 1024 * 1024)
        .unwrap();
    let out = run(sb.cmd().env("AWS_CONFIG_FILE", &big).args(["export"]));
    out.assert_code(2);
    let err = out.stderr_str();
    assert!(
        err.contains("big-config") && err.contains(&(16 * 1024 * 1024).to_string()),
        "{err}"
    );
    // --write-profile into a huge credentials file.
    std::fs::File::create(sb.credentials_path())
        .unwrap()
        .set_len(17 * 1024 * 1024)
        .unwrap();
    let out = write_profile(&sb);
    assert_ne!(out.code(), Some(0));
    assert!(out.stderr_str().contains("limit"), "{}", out.stderr_str());
    // A token file over 1 MiB.
    let token = sb.path("token");
    std::fs::File::create(&token)
        .unwrap()
        .set_len(1024 * 1024 + 1)
        .unwrap();
    std::fs::File::create(sb.credentials_path()).unwrap();
    let out = run(sb
        .cmd()
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token)
        .env("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/R")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .args(["export"]));
    out.assert_code(1);
    assert!(out.stderr_str().contains("limit"), "{}", out.stderr_str());
}
