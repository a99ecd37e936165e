//! Tests of the file layer: bounded reads, locks, owner and mode checks, atomic replacement.

use super::replace::secret_mode;
use super::*;
#[cfg(windows)]
use std::fs::OpenOptions;
use std::fs::{self, File};
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo");
    assert!(status.success());
}

// Unix only: FIFOs and /dev/zero (Windows has neither; its named pipes live in \\.\pipe).
#[cfg(unix)]
#[test]
fn non_regular_files_are_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    // Would block forever without O_NONBLOCK (no writer), or read forever (/dev/zero).
    for path in [fifo.as_path(), Path::new("/dev/zero"), dir.path()] {
        let err = read_regular(path, 1024).unwrap_err();
        assert!(
            matches!(err, FsError::NotRegular { .. }),
            "{}: {err}",
            path.display()
        );
        assert!(err.to_string().contains(&path.display().to_string()));
    }
}

#[test]
fn files_over_the_limit_are_refused_with_the_limit_named() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big");
    // Sparse: costs no disk.
    File::create(&big)
        .unwrap()
        .set_len(MAX_PROFILE_FILE + 1)
        .unwrap();
    let err = read_regular(&big, MAX_PROFILE_FILE).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, FsError::TooLarge { .. }), "{text}");
    assert!(
        text.contains(&MAX_PROFILE_FILE.to_string()) && text.contains("big"),
        "{text}"
    );
    fs::write(&big, b"small").unwrap();
    assert_eq!(read_regular(&big, 5).unwrap(), b"small");
    assert!(
        read_optional(&dir.path().join("missing"), 5)
            .unwrap()
            .is_none()
    );
}

/// Removing the lock file on release keeps mutual exclusion: threads that each take the
/// lock, read a counter, pause, and write it back one higher lose no update.
#[test]
fn a_lock_removed_on_release_still_excludes() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("counter.lock");
    let counter = dir.path().join("counter");
    fs::write(&counter, b"0").unwrap();
    let (threads, rounds) = (6, 40);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (lock, counter) = (lock.clone(), counter.clone());
            std::thread::spawn(move || {
                for _ in 0..rounds {
                    let held = acquire_lock(&lock, Duration::from_secs(30)).unwrap();
                    let n: u32 = fs::read_to_string(&counter).unwrap().parse().unwrap();
                    std::thread::yield_now();
                    fs::write(&counter, (n + 1).to_string()).unwrap();
                    drop(held);
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    assert_eq!(
        fs::read_to_string(&counter).unwrap(),
        (threads * rounds).to_string()
    );
    // Unix only: Windows keeps its lock files (see `Lock`).
    #[cfg(unix)]
    assert!(!lock.exists(), "no lock file left");
}

// Unix only: making a symbolic link on Windows needs a privilege or developer mode.
#[cfg(unix)]
#[test]
fn lock_files_never_follow_links() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    let lock = dir.path().join("x.json.lock");
    std::os::unix::fs::symlink(&victim, &lock).unwrap();
    let err = super::lock::open_lock_file(&lock).unwrap_err();
    assert!(matches!(err, FsError::LockNotRegular { .. }), "{err}");
    assert!(!victim.exists(), "the link's target must not be created");
    // A link to an existing file is not opened either.
    fs::write(&victim, b"keep").unwrap();
    assert!(acquire_lock(&lock, Duration::from_millis(10)).is_err());
    assert_eq!(fs::read(&victim).unwrap(), b"keep");
}

// Unix modes and uids; windows_access_lists below is the Windows form.
#[cfg(unix)]
#[test]
fn owner_and_mode_checks() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("entry.json");
    fs::write(&file, b"{}").unwrap();
    let check = |path: &Path, strictness| {
        check_owner_and_mode(path, &fs::metadata(path).unwrap(), strictness)
    };
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
    assert!(check(&file, Strictness::Private).is_ok());
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    assert!(
        check(&file, Strictness::Private).is_ok(),
        "readable is fine"
    );
    fs::set_permissions(&file, fs::Permissions::from_mode(0o666)).unwrap();
    let err = check(&file, Strictness::Private).unwrap_err();
    assert!(err.to_string().contains("0666"), "{err}");
    assert_eq!(
        err.fix(),
        Some(format!("chmod 600 {}", file.display()).as_str())
    );
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o1777)).unwrap();
    assert!(check(dir.path(), Strictness::Private).is_err());
    assert!(check(dir.path(), Strictness::Ancestor).is_ok(), "sticky");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
    if current_uid() == 0 {
        std::os::unix::fs::chown(&file, Some(65534), None).unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
        let err = check(&file, Strictness::Private).unwrap_err();
        assert!(
            matches!(err, FsError::NotPrivate { foreign: true, .. })
                && err.to_string().contains("uid 65534"),
            "{err}"
        );
    }
}

#[test]
fn secret_files_keep_only_the_owners_read_write_bits() {
    assert_eq!(secret_mode(None), 0o600);
    assert_eq!(secret_mode(Some(0o644)), 0o600);
    assert_eq!(secret_mode(Some(0o777)), 0o600);
    assert_eq!(secret_mode(Some(0o4755)), 0o600);
    assert_eq!(secret_mode(Some(0o6600)), 0o600);
    assert_eq!(secret_mode(Some(0o400)), 0o400);
    assert_eq!(secret_mode(Some(0o000)), 0o600);
}

#[test]
fn stale_temporary_files_are_removed_by_the_next_write() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("credentials");
    let old = std::time::SystemTime::now() - Duration::from_secs(120);
    let plant = |name: &str, modified| {
        let path = dir.path().join(name);
        let file = File::create(&path).unwrap();
        file.set_modified(modified).unwrap();
        path
    };
    let stale = plant(".credentials.a1B2c3.tmp", old);
    let fresh = plant(".credentials.d4E5f6.tmp", std::time::SystemTime::now());
    let other = plant(".credentials.keep.tmp", old);
    let unrelated = plant(".config.a1B2c3.tmp", old);
    replace_file(&target, dir.path(), b"x", None, FileMode::Private).unwrap();
    assert!(
        !stale.exists(),
        "a killed writer's temporary file is removed"
    );
    assert!(fresh.exists(), "a live writer's temporary file is kept");
    assert!(other.exists() && unrelated.exists(), "other names are kept");
    assert_eq!(fs::read(&target).unwrap(), b"x");
}

#[cfg(windows)]
#[test]
fn windows_access_lists() {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("private");
    ensure_dir(&private).unwrap();
    let trust = crate::os::windows::trust(&private).unwrap();
    assert!(trust.owned_by_me, "{trust:?}");
    assert_eq!(trust.writable_by, None);
    let target = private.join("credentials");
    replace_file(&target, &private, b"secret", None, FileMode::Private).unwrap();
    let trust = crate::os::windows::trust(&target).unwrap();
    assert!(
        trust.owned_by_me && trust.writable_by.is_none(),
        "{trust:?}"
    );
    let metadata = fs::metadata(&target).unwrap();
    assert!(check_owner_and_mode(&target, &metadata, Strictness::Private).is_ok());
    assert_eq!(fs::read(&target).unwrap(), b"secret");
    // A folder Everyone may write is refused, with the fix.
    crate::os::windows::grant_everyone_write(&private).unwrap();
    let err = check_dir(&private, Strictness::Private).unwrap_err();
    assert!(
        matches!(err, FsError::NotPrivate { foreign: false, .. })
            && err.to_string().contains("Everyone"),
        "{err}"
    );
    assert!(err.fix().unwrap().starts_with("icacls "), "{err:?}");
}

#[cfg(windows)]
#[test]
fn a_file_held_open_is_replaced_once_it_is_let_go() {
    use std::os::windows::fs::OpenOptionsExt;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("credentials");
    fs::write(&target, b"old").unwrap();
    // Another process's way of holding it: no sharing at all.
    let held = OpenOptions::new()
        .read(true)
        .share_mode(0)
        .open(&target)
        .unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(held);
    });
    replace_file(&target, dir.path(), b"new", None, FileMode::Keep).unwrap();
    release.join().unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"new");
}
