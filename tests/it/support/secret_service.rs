//! A private Secret Service for the keyring tests: `dbus-run-session` running gnome-keyring's
//! daemon (`--components=secrets`) with HOME and XDG_DATA_HOME in a temp dir, so its keyring
//! files are the test's own and nothing touches the person's keyring.
//!
//! ```ignore
//! let Some(ss) = SecretService::start() else { return }; // skipped (outside CI) without it
//! sandbox.cmd().env("DBUS_SESSION_BUS_ADDRESS", ss.address())
//! ```
//!
//! `.ci/run` installs the Debian packages (gnome-keyring, dbus, dbus-x11, libsecret-tools);
//! under `CI=true` a missing one fails the test instead of skipping it. DISPLAY is unset, so a
//! request that needs an unlock prompt fails at once instead of waiting for a person.

use super::{missing_tool, wait_bounded};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// The password of the test keyring.
pub(crate) const PASSWORD: &str = "aws-cred-test-keyring";

/// Runs inside `dbus-run-session`: start the daemon, wait (bounded) until it owns
/// `org.freedesktop.secrets`, print the bus address, then keep the session until stdin closes.
const SESSION_SCRIPT: &str = r#"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
if [ "$KEYRING_MODE" = unlocked ]; then
  printf '%s' "$KEYRING_PASSWORD" | gnome-keyring-daemon --foreground --unlock --components=secrets >"$KEYRING_LOG" 2>&1 &
else
  gnome-keyring-daemon --foreground --start --components=secrets </dev/null >"$KEYRING_LOG" 2>&1 &
fi
daemon=$!
unset KEYRING_PASSWORD
i=0
while [ "$i" -lt 600 ]; do
  if dbus-send --session --print-reply --dest=org.freedesktop.DBus / \
       org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; then
    echo "ADDRESS=$DBUS_SESSION_BUS_ADDRESS"
    cat >/dev/null
    kill "$daemon" 2>/dev/null
    wait "$daemon" 2>/dev/null
    exit 0
  fi
  i=$((i + 1))
  sleep 0.05
done
echo "NOT-READY"
kill "$daemon" 2>/dev/null
exit 1
"#;

const TOOLS: [&str; 4] = [
    "dbus-run-session",
    "dbus-send",
    "gnome-keyring-daemon",
    "secret-tool",
];

/// One running session bus with a Secret Service on it. Dropping it ends both.
pub(crate) struct SecretService {
    child: Child,
    stdin: Option<ChildStdin>,
    address: String,
    dir: tempfile::TempDir,
}

impl SecretService {
    /// An unlocked keyring. `None` (after a skip line) when the tools are missing, except under
    /// `CI=true`, where that is a panic.
    pub(crate) fn start() -> Option<SecretService> {
        if !tools_present() {
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("aws-cred-keyring-")
            .tempdir()
            .expect("keyring temp dir");
        Some(SecretService::spawn(dir, true))
    }

    /// A keyring that exists (it was created with [`PASSWORD`], holding one unrelated item and
    /// whatever `prepare` stored) and is locked: the daemon was restarted on the same files
    /// without `--unlock`.
    pub(crate) fn start_locked(prepare: impl FnOnce(&SecretService)) -> Option<SecretService> {
        let first = SecretService::start()?;
        prepare(&first);
        let out = first.secret_tool_with_input(
            &[
                "store",
                "--label=unrelated",
                "service",
                "aws-cred-test",
                "username",
                "x",
            ],
            b"unrelated",
        );
        assert!(out.status.success(), "secret-tool store: {out:?}");
        let dir = first.into_dir();
        Some(SecretService::spawn(dir, false))
    }

    fn spawn(dir: tempfile::TempDir, unlocked: bool) -> SecretService {
        let root = dir.path().to_path_buf();
        let mut cmd = Command::new("dbus-run-session");
        cmd.args(["--", "sh", "-c", SESSION_SCRIPT])
            .env_clear()
            .env("HOME", &root)
            .env("XDG_DATA_HOME", root.join("data"))
            .env("XDG_RUNTIME_DIR", root.join("run"))
            .env("XDG_CONFIG_HOME", root.join("config"))
            .env("LANG", "C.UTF-8")
            .env("KEYRING_MODE", if unlocked { "unlocked" } else { "locked" })
            .env("KEYRING_PASSWORD", PASSWORD)
            .env("KEYRING_LOG", root.join("daemon.log"))
            .current_dir(&root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start dbus-run-session: {e}"));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(40)).unwrap_or_default();
        let mut service = SecretService {
            child,
            stdin,
            address: String::new(),
            dir,
        };
        match line.trim().strip_prefix("ADDRESS=") {
            Some(address) if !address.is_empty() => {
                service.address = address.to_string();
                service
            }
            _ => {
                let log = service.log();
                drop(service);
                panic!(
                    "the Secret Service did not come up within 30 s (got {line:?})\n--- daemon log ---\n{log}"
                );
            }
        }
    }

    /// The session bus, for `DBUS_SESSION_BUS_ADDRESS`.
    pub(crate) fn address(&self) -> &str {
        &self.address
    }

    /// The daemon's HOME (its keyring files are under `data/keyrings`).
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn keyring_files(&self) -> PathBuf {
        self.dir.path().join("data").join("keyrings")
    }

    /// The daemon's output so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("daemon.log")).unwrap_or_default()
    }

    /// `secret-tool ARGS` on this session bus (stdin empty).
    pub(crate) fn secret_tool(&self, args: &[&str]) -> Output {
        self.secret_tool_with_input(args, b"")
    }

    /// `secret-tool ARGS` with `input` on stdin (`store` reads the secret there).
    pub(crate) fn secret_tool_with_input(&self, args: &[&str], input: &[u8]) -> Output {
        let mut cmd = Command::new("secret-tool");
        cmd.args(args)
            .env_clear()
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("HOME", self.dir.path())
            .env("LANG", "C.UTF-8");
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        super::run_with_input(&mut cmd, input)
    }

    /// Stop the session, keeping its files (to restart the daemon on them).
    fn into_dir(mut self) -> tempfile::TempDir {
        self.stop();
        let placeholder = tempfile::tempdir().expect("placeholder temp dir");
        std::mem::replace(&mut self.dir, placeholder)
    }

    fn stop(&mut self) {
        // Closing stdin ends `cat`; the script stops the daemon and dbus-run-session its bus.
        drop(self.stdin.take());
        if wait_bounded(&mut self.child, Duration::from_secs(5)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        self.stop();
    }
}

fn tools_present() -> bool {
    let missing: Vec<&str> = TOOLS
        .iter()
        .copied()
        .filter(|tool| super::find_program(tool).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    missing_tool(&format!(
        "no Secret Service for the keyring tests: {} not found (Debian: gnome-keyring dbus dbus-x11 libsecret-tools; .ci/run installs them)",
        missing.join(", ")
    ));
    false
}
