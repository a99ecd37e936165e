//! [`FakeBrowser`]: a `BROWSER` command (the venv's Python) that records the URL aws-cred gives
//! it and fetches it as a signed-in browser would. aws-cred hands the browser a one-time
//! loopback URL that redirects (303) to the real page, so tests read both: what was on the
//! command line ([`FakeBrowser::opened`]) and where the hand-off led ([`FakeBrowser::pages`]).
//!
//! `FAKE_BROWSER_MODE` (set on the aws-cred command): `follow` (default) follows every
//! redirect, up to 10; `handoff` fetches only the opened URL and records where it redirects;
//! `ignore` fetches nothing. `FAKE_BROWSER_ATTACK=1` plays another local user too (uid 65534,
//! through `setpriv`; the tests that set it run as root): first it fetches the opened URL, as one
//! who read it from `ps` would; then, having learned the sign-in's `state` from the authorize
//! page, it answers the callback first with a code of its own. What that user got back is
//! logged ([`FakeBrowser::attacks`]: `closed` when the connection was closed unanswered).

use super::{Sandbox, require_venv_tool};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const SCRIPT: &str = r#"
import os, sys, subprocess, urllib.parse, http.client
mode = os.environ.get("FAKE_BROWSER_MODE", "follow")
attack = os.environ.get("FAKE_BROWSER_ATTACK") == "1"

def log(kind, text):
    with open(os.environ["FAKE_BROWSER_LOG"], "a") as f:
        f.write(kind + " " + text + "\n")

def get(url):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
    conn.request("GET", u.path + ("?" + u.query if u.query else ""))
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status, response.getheader("Location")

def as_other_user(url):
    u = urllib.parse.urlsplit(url)
    request = "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (
        u.path + ("?" + u.query if u.query else ""), u.netloc)
    script = 'exec 3<>/dev/tcp/127.0.0.1/%d || exit 0; printf %%s "$1" >&3; timeout 10 cat <&3' % u.port
    done = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
         "bash", "-c", script, "attacker", request],
        capture_output=True, timeout=30)
    first = done.stdout.split(b"\r\n", 1)[0].decode("latin-1")
    return first or "closed"

url = sys.argv[-1]
log("open", url)
if mode == "ignore":
    sys.exit(0)
if attack:
    log("attack", as_other_user(url))
for _ in range(10):
    status, location = get(url)
    if location is None or status not in (301, 302, 303, 307, 308):
        break
    url = urllib.parse.urljoin(url, location)
    log("hop", url)
    if mode == "handoff":
        break
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    if attack and "redirect_uri" in query and "state" in query:
        forged = query["redirect_uri"] + "?code=EVIL&state=" + urllib.parse.quote(query["state"])
        log("attack", as_other_user(forged))
log("status", "%d %s" % (status, url))
"#;

pub(crate) struct FakeBrowser {
    pub script: PathBuf,
    log: PathBuf,
}

impl FakeBrowser {
    /// `None` (skip) without the venv's Python, except under CI=true.
    pub(crate) fn new(sb: &Sandbox) -> Option<FakeBrowser> {
        use std::os::unix::fs::PermissionsExt;
        let python = require_venv_tool("python")?;
        let script = sb.write("bin/browser", format!("#!{}\n{SCRIPT}", python.display()));
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        Some(FakeBrowser {
            log: sb.path("browser.log"),
            script,
        })
    }

    /// `BROWSER` and the log's path on `cmd`.
    pub(crate) fn apply<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        cmd.env("BROWSER", &self.script)
            .env("FAKE_BROWSER_LOG", &self.log)
    }

    fn entries(&self, kind: &str) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.strip_prefix(kind)?.strip_prefix(' '))
            .map(str::to_string)
            .collect()
    }

    /// The URLs aws-cred put on the browser's command line.
    pub(crate) fn opened(&self) -> Vec<String> {
        self.entries("open")
    }

    /// For each opened URL, the page it led to: where its loopback hand-off redirected, or
    /// the URL itself when it was not a hand-off (or was not fetched).
    pub(crate) fn pages(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let mut pages: Vec<String> = Vec::new();
        let mut after_open = false;
        for line in text.lines() {
            if let Some(url) = line.strip_prefix("open ") {
                pages.push(url.to_string());
                after_open = true;
            } else if let Some(url) = line.strip_prefix("hop ") {
                if after_open
                    && let Some(last) = pages.last_mut()
                    && is_handoff(last)
                {
                    *last = url.to_string();
                }
                after_open = false;
            }
        }
        pages
    }

    /// What the other user got back, per attempt (`closed`: nothing).
    pub(crate) fn attacks(&self) -> Vec<String> {
        self.entries("attack")
    }

    /// The HTTP status of the last page of each visit, with its URL (`200 http://…`). The
    /// browser logs it once it has read the page, which can be just after aws-cred (which waits
    /// only until the page is sent) has exited: this waits, 10 s at most, until every opened
    /// URL has its line.
    pub(crate) fn last_pages(&self) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let pages = self.entries("status");
            if pages.len() >= self.opened().len() || Instant::now() >= deadline {
                return pages;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// aws-cred's one-time loopback URL: `http://127.0.0.1:PORT/aws-cred/<32 hex digits>`.
pub(crate) fn is_handoff(url: &str) -> bool {
    url.strip_prefix("http://127.0.0.1:")
        .and_then(|rest| rest.split_once("/aws-cred/"))
        .is_some_and(|(port, nonce)| {
            port.parse::<u16>().is_ok()
                && nonce.len() == 32
                && nonce.bytes().all(|b| b.is_ascii_hexdigit())
        })
}
