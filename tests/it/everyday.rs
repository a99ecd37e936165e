//! Everyday polish: exec, credential_process hygiene, corporate networks (proxy, CA bundle),
//! completions and man page, whoami --short, expiry warnings.

use crate::fakes::sts as fake_sts;
use crate::support;

use std::process::Stdio;
use std::time::{Duration, Instant};
use support::{FakeHttp, OutputExt, Response, Sandbox, run};

fn static_profile(sb: &Sandbox) {
    sb.write_credentials(
        "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = basesecret\n",
    );
    sb.write_config("[profile base]\nregion = eu-west-3\n");
}

#[test]
fn exec_passes_credentials_and_region_and_removes_aws_profile() {
    let sb = Sandbox::new();
    static_profile(&sb);
    let out = run(sb
        .cmd()
        .env("AWS_PROFILE", "base")
        .env("AWS_SESSION_TOKEN", "stale")
        .args(["exec", "--", "sh", "-c", "printf '%s|%s|%s|%s|%s' \"$AWS_ACCESS_KEY_ID\" \"$AWS_SECRET_ACCESS_KEY\" \"$AWS_REGION\" \"${AWS_PROFILE-none}\" \"${AWS_SESSION_TOKEN-none}\""]));
    out.assert_success();
    assert_eq!(out.stdout_str(), "AKIABASE|basesecret|eu-west-3|none|none");
}

#[test]
fn exec_exits_with_the_commands_code() {
    let sb = Sandbox::new();
    static_profile(&sb);
    let out = sb.aws_cred(&["exec", "--profile", "base", "--", "sh", "-c", "exit 7"]);
    out.assert_code(7);
    let out = sb.aws_cred(&[
        "exec",
        "--profile",
        "base",
        "--",
        "definitely-not-a-command-xyz",
    ]);
    out.assert_code(127);
    assert!(
        out.stderr_str()
            .contains("definitely-not-a-command-xyz: not found")
    );
}

#[test]
fn exec_refuses_an_empty_command() {
    let sb = Sandbox::new();
    static_profile(&sb);
    let out = sb.aws_cred(&["exec", "--profile", "base", "--"]);
    out.assert_code(2);
    let out = sb.aws_cred(&["exec", "--profile", "base"]);
    out.assert_code(2);
}

#[test]
fn exec_failure_to_resolve_runs_nothing() {
    let sb = Sandbox::new();
    let marker = sb.path("ran");
    let out = sb.aws_cred(&["exec", "--", "touch", marker.to_str().unwrap()]);
    out.assert_code(3);
    assert!(!marker.exists());
}

#[test]
fn exec_signals_reach_the_command() {
    let sb = Sandbox::new();
    static_profile(&sb);
    let ready = sb.path("ready");
    let script = format!(
        "trap 'exit 42' INT; touch {}; i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; exit 1",
        ready.display()
    );
    let mut child = sb
        .cmd()
        .args(["exec", "--profile", "base", "--", "sh", "-c", &script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready.exists() {
        assert!(Instant::now() < deadline, "the command never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SIGINT to the pid we started: with exec it is the command itself.
    // SAFETY: a plain kill(2) on the child we started.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(sent, 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        assert!(Instant::now() < deadline, "the command ignored SIGINT");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(code, Some(42));
}

#[test]
fn exec_uses_the_cached_mfa_session() {
    let sb = Sandbox::new();
    let key = "AKIAALICE00000000001";
    let serial = "arn:aws:iam::123456789012:mfa/alice";
    sb.write_credentials(&format!(
        "[prod-long-term]\naws_access_key_id = {key}\naws_secret_access_key = s\nmfa_serial = {serial}\n"
    ));
    let mut users = std::collections::HashMap::new();
    users.insert(key.to_string(), ("alice".to_string(), serial.to_string()));
    let sts = fake_sts::FakeSts::start(fake_sts::StsRules {
        users,
        ..Default::default()
    });
    run(sb.cmd().env("AWS_ENDPOINT_URL_STS", sts.url()).args([
        "mfa",
        fake_sts::CODE,
        "--profile",
        "prod",
    ]))
    .assert_success();
    let out = run(sb.cmd().env("AWS_ENDPOINT_URL_STS", sts.url()).args([
        "exec",
        "--profile",
        "prod",
        "--",
        "sh",
        "-c",
        "printf %s \"$AWS_ACCESS_KEY_ID\"",
    ]));
    out.assert_success();
    assert!(
        out.stdout_str().starts_with("ASIASESSION"),
        "{}",
        out.stdout_str()
    );
}

#[test]
fn credential_process_calling_itself_fails_fast() {
    let sb = Sandbox::new();
    let exe = env!("CARGO_BIN_EXE_aws-cred");
    sb.write_config(&format!(
        "[profile loop]\ncredential_process = {exe} export --format json --profile loop\n"
    ));
    let started = Instant::now();
    let out = sb.aws_cred(&["export", "--profile", "loop"]);
    assert_ne!(out.code(), Some(0));
    out.assert_failed_eval();
    assert!(
        out.stderr_str().contains("credential_process recursion"),
        "{}",
        out.stderr_str()
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn credential_process_never_prompts_without_a_terminal() {
    // An MFA role profile with no session: as a credential_process (no terminal, stdout a
    // pipe) aws-cred fails at once with the command to run instead of waiting for a code.
    let sb = Sandbox::new();
    sb.write_credentials("[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n");
    sb.write_config("[profile admin]\nrole_arn = arn:aws:iam::1:role/A\nsource_profile = base\nmfa_serial = arn:aws:iam::1:mfa/me\n");
    let out = sb.aws_cred(&["export", "--format", "json", "--profile", "admin"]);
    out.assert_code(4);
    assert!(
        out.stderr_str()
            .contains("aws-cred mfa CODE --profile admin")
    );
    let out = sb.aws_cred(&["mfa", "--profile", "admin"]);
    out.assert_code(4);
}

fn sts_identity_xml() -> String {
    "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/via-proxy</Arn><UserId>AIDA</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>".to_string()
}

#[test]
fn https_proxy_and_no_proxy_are_honoured() {
    let sb = Sandbox::new();
    static_profile(&sb);
    // A loopback HTTP proxy: it receives absolute-form requests and answers as STS itself, so
    // the (unresolvable) target host is never contacted.
    let proxy = FakeHttp::new(|_| Response::xml(200, &sts_identity_xml()));
    let target = "http://sts.proxy-test.invalid";
    let out = run(sb
        .cmd()
        .env("HTTP_PROXY", proxy.url())
        .env("AWS_ENDPOINT_URL_STS", target)
        .args(["whoami", "--profile", "base", "--short"]));
    out.assert_success();
    assert_eq!(
        out.stdout_str(),
        "arn:aws:iam::123456789012:user/via-proxy\n"
    );
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0].target.starts_with("http://sts.proxy-test.invalid"),
        "{}",
        seen[0].target
    );

    // NO_PROXY for that host: no proxy, so the unresolvable host fails and the proxy sees nothing.
    let out = run(sb
        .cmd()
        .env("HTTP_PROXY", proxy.url())
        .env("NO_PROXY", "sts.proxy-test.invalid")
        .env("AWS_ENDPOINT_URL_STS", target)
        .args(["whoami", "--profile", "base"]));
    out.assert_code(1);
    assert_eq!(proxy.requests().len(), 1);
}

/// A CA, and a certificate for 127.0.0.1 signed by it, made with the openssl CLI.
pub(crate) fn test_ca(
    sb: &Sandbox,
) -> Option<(std::path::PathBuf, std::path::PathBuf, std::path::PathBuf)> {
    let openssl = support::require_program("openssl")?;
    let dir = sb.path("tls");
    std::fs::create_dir_all(&dir).unwrap();
    let sh = |script: &str| {
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(&dir)
            .env("OPENSSL", &openssl)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "{script}");
    };
    sh(
        "\"$OPENSSL\" req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=aws-cred-test-ca",
    );
    sh(
        "\"$OPENSSL\" req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1",
    );
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    sh(
        "\"$OPENSSL\" x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext.cnf",
    );
    Some((
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    ))
}

/// A loopback server written in Python: runs `script` (which must listen on `port` and exit
/// when its stdin closes), waits until the port answers, and is killed when dropped.
struct PythonServer {
    child: std::process::Child,
    port: u16,
}

impl PythonServer {
    fn start(script: &str, port: u16, what: &str) -> Option<PythonServer> {
        let python = support::require_program("python3")?;
        let child = std::process::Command::new(python)
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = PythonServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "{what} did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(server)
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback HTTPS server (Python's ssl + http.server) that answers every POST as STS.
struct TlsSts;

impl TlsSts {
    fn start(cert: &std::path::Path, key: &std::path::Path) -> Option<PythonServer> {
        let port = support::free_port();
        let script = format!(
            r#"
import http.server, ssl, sys, threading, os
body = {body:?}.encode()
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get('content-length', 0)))
        self.send_response(200); self.send_header('content-type', 'text/xml'); self.send_header('content-length', str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
srv = http.server.HTTPServer(('127.0.0.1', {port}), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain({cert:?}, {key:?})
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
srv.timeout = 0.5
import time
end = time.time() + 120
while time.time() < end:
    srv.handle_request()
"#,
            body = sts_identity_xml(),
            cert = cert.display().to_string(),
            key = key.display().to_string(),
        );
        PythonServer::start(&script, port, "TLS test server")
    }
}

#[test]
fn ca_bundle_from_env_and_profile_trusts_a_private_ca() {
    let sb = Sandbox::new();
    static_profile(&sb);
    let Some((ca, cert, key)) = test_ca(&sb) else {
        return;
    };
    let Some(server) = TlsSts::start(&cert, &key) else {
        return;
    };
    let url = format!("https://127.0.0.1:{}", server.port);
    // Without the CA: the certificate is not trusted.
    let out = run(sb
        .cmd()
        .env("AWS_ENDPOINT_URL_STS", &url)
        .args(["whoami", "--profile", "base"]));
    out.assert_code(1);
    assert!(out.stdout.is_empty());
    // AWS_CA_BUNDLE adds the CA.
    let out = run(sb
        .cmd()
        .env("AWS_ENDPOINT_URL_STS", &url)
        .env("AWS_CA_BUNDLE", &ca)
        .args(["whoami", "--profile", "base", "--short"]));
    out.assert_success();
    assert_eq!(
        out.stdout_str(),
        "arn:aws:iam::123456789012:user/via-proxy\n"
    );
    // So does the profile's ca_bundle.
    sb.write_config(&format!(
        "[profile base]\nregion = eu-west-3\nca_bundle = {}\n",
        ca.display()
    ));
    let out = run(sb.cmd().env("AWS_ENDPOINT_URL_STS", &url).args([
        "whoami",
        "--profile",
        "base",
        "--short",
    ]));
    out.assert_success();
    // A bundle that is not PEM is a clear usage error.
    let bad = sb.write("bad.pem", "nope");
    let out = run(sb
        .cmd()
        .env("AWS_CA_BUNDLE", &bad)
        .args(["whoami", "--profile", "base"]));
    out.assert_code(2);
    assert!(out.stderr_str().contains("holds no PEM certificate"));
}

#[test]
fn completions_generate_for_every_shell_and_load_in_bash() {
    let sb = Sandbox::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = sb.aws_cred(&["completions", shell]);
        out.assert_success();
        assert!(out.stdout_str().contains("aws-cred"), "{shell}");
    }
    let Some(bash) = support::require_program("bash") else {
        return;
    };
    // Profiles for --profile come from the files (issue 23, item 7).
    sb.write_credentials("[prod]\naws_access_key_id = A\naws_secret_access_key = s\n");
    sb.write_config(
        "[profile staging]\nregion = eu-west-1\n[default]\nregion = eu-west-1\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n\
         [sso-session acme]\nsso_start_url = https://acme.awsapps.com/start\nsso_region = eu-west-1\n",
    );
    let listed = sb.aws_cred(&["completions", "--list-profiles"]);
    listed.assert_success();
    assert_eq!(listed.stdout_str(), "default\nprod\nstaging\n");
    let sessions = sb.aws_cred(&["completions", "--list-sso-sessions"]);
    sessions.assert_success();
    assert_eq!(sessions.stdout_str(), "acme\ncorp\n");
    let script = sb.write(
        "completion.bash",
        sb.aws_cred(&["completions", "bash"]).stdout,
    );
    // Complete `WORDS` (the last one being typed) as bash would, through the registered
    // function; the candidates, one a line.
    let complete = |words: &[&str]| {
        let list = words
            .iter()
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(" ");
        let code = format!(
            "source {}; f=$(complete -p aws-cred | sed -E 's/.*-F ([^ ]+).*/\\1/'); COMP_WORDS=({list}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); $f aws-cred \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        );
        let out = run(sb.program_with_aws_cred(&bash).arg("-c").arg(code));
        out.assert_success();
        out.stdout_str()
    };
    // zsh: the script loads, --profile and export's profile word complete with the names
    // (compadd stands in for the completion system, which only runs inside the line editor).
    if let Some(zsh) = support::require_program("zsh") {
        let text = sb.aws_cred(&["completions", "zsh"]).stdout_str();
        assert!(
            text.contains("as the AWS CLI does)]:NAME:_aws_cred_profiles'"),
            "--profile does not complete profiles in zsh"
        );
        assert!(
            text.contains("`export prod`):_aws_cred_profiles'"),
            "{text}"
        );
        let zscript = sb.write("completion.zsh", &text);
        let out = run(sb.program_with_aws_cred(&zsh)
            .arg("-c")
            .arg(format!(
                "autoload -U compinit && compinit -u -D && source {} && compadd() {{ [[ $1 == -a ]] && print -l -- ${{(P)2}} }} && _aws_cred_profiles",
                zscript.display()
            )));
        out.assert_success();
        assert_eq!(
            out.stdout_str(),
            "default\nprod\nstaging\n",
            "{}",
            out.stderr_str()
        );
        // --sso-session, on every subcommand that has it.
        assert_eq!(
            text.matches(":NAME:_aws_cred_sso_sessions'").count(),
            4,
            "{text}"
        );
        let out = run(sb.program_with_aws_cred(&zsh)
            .arg("-c")
            .arg(format!(
                "autoload -U compinit && compinit -u -D && source {} && compadd() {{ [[ $1 == -a ]] && print -l -- ${{(P)2}} }} && _aws_cred_sso_sessions",
                zscript.display()
            )));
        assert_eq!(out.stdout_str(), "acme\ncorp\n", "{}", out.stderr_str());
    }
    let first = complete(&["aws-cred", "ex"]);
    assert!(
        first.contains("export") && first.contains("exec"),
        "{first}"
    );
    // The second word and later: flags and values (the generated script once stopped here).
    let flags = complete(&["aws-cred", "export", "--for"]);
    assert!(flags.lines().any(|l| l == "--format"), "{flags}");
    let values = complete(&["aws-cred", "export", "--format", ""]);
    assert!(values.lines().any(|l| l == "fish"), "{values}");
    let profiles = complete(&["aws-cred", "export", "--profile", "st"]);
    assert_eq!(profiles.trim(), "staging", "{profiles}");
    let sessions = complete(&["aws-cred", "sso-login", "--sso-session", "c"]);
    assert_eq!(sessions.trim(), "corp", "{sessions}");
    let sessions = complete(&["aws-cred", "logout", "--sso-session", ""]);
    assert_eq!(sessions, "acme\ncorp\n", "{sessions}");

    // fish, when it is here (CI installs it): the same, through its own completion engine.
    let Some(fish) = support::require_program("fish") else {
        return;
    };
    let fish_script = sb.write(
        "completion.fish",
        sb.aws_cred(&["completions", "fish"]).stdout,
    );
    let out = run(sb.program_with_aws_cred(&fish).arg("-c").arg(format!(
        "source {}; complete -C 'aws-cred export --profile p'",
        fish_script.display()
    )));
    out.assert_success();
    assert!(out.stdout_str().starts_with("prod"), "{}", out.stdout_str());
    let out = run(sb.program_with_aws_cred(fish).arg("-c").arg(format!(
        "source {}; complete -C 'aws-cred sso roles --sso-session a'",
        fish_script.display()
    )));
    assert_eq!(out.stdout_str().trim(), "acme", "{}", out.stderr_str());
}

#[test]
fn man_page_renders_every_subcommand() {
    let sb = Sandbox::new();
    let out = sb.aws_cred(&["man"]);
    out.assert_success();
    let page = out.stdout_str();
    assert!(
        page.starts_with(".ie") || page.contains(".TH aws-cred"),
        "{}",
        &page[..200.min(page.len())]
    );
    for sub in ["EXPORT", "WHOAMI", "MFA", "EXEC"] {
        assert!(page.contains(&format!(".SH \"AWS\\-CRED {sub}\"")), "{sub}");
    }
    if let Some(man) = support::find_program("man") {
        let file = sb.write("aws-cred.1", page);
        let out = run(std::process::Command::new(man)
            .arg("-l")
            .arg(&file)
            .env("MANPAGER", "cat")
            .env("TERM", "dumb"));
        assert!(out.stdout_str().contains("aws-cred"));
    }
}

/// Issue 23, item 13: a page per subcommand, aws-cred-NAME(1), with EXIT STATUS, ENVIRONMENT
/// and FILES; `man --dir` writes them all, readable by others (not secrets); groff renders
/// each without a warning.
#[test]
fn every_subcommand_has_a_man_page_of_its_own() {
    let sb = Sandbox::new();
    let out = sb.aws_cred(&["man", "export"]);
    out.assert_success();
    let page = out.stdout_str();
    assert!(page.contains(".TH aws-cred-export 1"), "{page}");
    for section in [
        ".SH \"EXIT STATUS\"",
        ".SH ENVIRONMENT",
        ".SH FILES",
        ".SH \"SEE ALSO\"",
        "\\fBaws\\-cred export\\fR",
    ] {
        assert!(page.contains(section), "{section}: {page}");
    }
    let out = sb.aws_cred(&["man", "exprot"]);
    out.assert_code(2);
    assert!(out.stderr_str().contains("there is no subcommand exprot"));
    let dir = sb.path("man1");
    let out = run(sb.cmd().args(["man", "--dir"]).arg(&dir));
    out.assert_success();
    assert!(out.stdout.is_empty());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for expected in [
        "aws-cred.1",
        "aws-cred-export.1",
        "aws-cred-exec.1",
        "aws-cred-sso-login.1",
        "aws-cred-token.1",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected}: {names:?}");
    }
    assert_eq!(names.len(), 18, "{names:?}");
    for name in &names {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o644,
            "{name}"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(".SH \"EXIT STATUS\""), "{name}");
        if let Some(groff) = support::find_program("groff") {
            let out = run(std::process::Command::new(groff)
                .args(["-man", "-Tutf8", "-ww", "-z"])
                .arg(&path));
            assert!(
                out.status.success() && out.stderr.is_empty(),
                "{name}: {}",
                out.stderr_str()
            );
        }
    }
    let exec = std::fs::read_to_string(dir.join("aws-cred-exec.1")).unwrap();
    assert!(
        exec.contains("128+N") && exec.contains("AWS_CRED_PROFILE"),
        "{exec}"
    );
}

#[test]
fn help_texts_have_examples() {
    let sb = Sandbox::new();
    for sub in ["export", "whoami", "mfa", "exec", "completions", "man"] {
        let out = sb.aws_cred(&[sub, "--help"]);
        out.assert_success();
        let text = out.stdout_str();
        assert!(
            text.contains("Examples:")
                || text.contains("Install:")
                || text.contains("daily routine"),
            "{sub}: {text}"
        );
    }
}

#[test]
fn expiring_credentials_get_a_warning_on_stderr() {
    let sb = Sandbox::new();
    let soon = std::process::Command::new("date")
        .args(["-u", "-d", "+5 minutes", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    let soon = String::from_utf8(soon.stdout).unwrap();
    let out = run(sb
        .cmd()
        .env("AWS_ACCESS_KEY_ID", "ASIA")
        .env("AWS_SECRET_ACCESS_KEY", "s")
        .env("AWS_SESSION_TOKEN", "t")
        .env("AWS_CREDENTIAL_EXPIRATION", soon.trim())
        .args(["export"]));
    out.assert_success();
    assert!(
        out.stderr_str()
            .contains("warning: these credentials expire in"),
        "{}",
        out.stderr_str()
    );
    assert!(!out.stdout_str().contains("warning"));
}

#[test]
fn whoami_short_prints_only_the_arn() {
    let Some(moto) = support::Moto::start() else {
        return;
    };
    let sb = Sandbox::new();
    static_profile(&sb);
    let out = run(sb.cmd().env("AWS_ENDPOINT_URL", moto.url()).args([
        "whoami",
        "--profile",
        "base",
        "--short",
    ]));
    out.assert_success();
    let text = out.stdout_str();
    assert_eq!(text.lines().count(), 1);
    assert!(text.starts_with("arn:aws:"), "{text}");
}

/// A CONNECT proxy on loopback (Python): it tunnels to the host the client names (only
/// 127.0.0.1 is accepted) and records each CONNECT line in `log`.
struct ConnectProxy;

impl ConnectProxy {
    fn start(log: &std::path::Path) -> Option<PythonServer> {
        let port = support::free_port();
        let script = format!(
            r#"
import socket, threading, sys, os, time
log = open({log:?}, 'a')
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', {port})); srv.listen(16); srv.settimeout(0.5)
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d: break
            b.sendall(d)
    except OSError: pass
    finally:
        for s in (a, b):
            try: s.shutdown(socket.SHUT_RDWR)
            except OSError: pass
def handle(c):
    head = b''
    while b'\r\n\r\n' not in head and len(head) < 8192:
        d = c.recv(1)
        if not d: return
        head += d
    line = head.split(b'\r\n')[0].decode()
    log.write(line + '\n'); log.flush()
    method, target, _ = line.split(' ')
    host, p = target.rsplit(':', 1)
    if method != 'CONNECT' or host != '127.0.0.1':
        c.sendall(b'HTTP/1.1 403 Forbidden\r\n\r\n'); c.close(); return
    up = socket.create_connection((host, int(p)), timeout=10)
    c.sendall(b'HTTP/1.1 200 Connection established\r\n\r\n')
    threading.Thread(target=pipe, args=(c, up), daemon=True).start()
    pipe(up, c)
end = time.time() + 120
while time.time() < end:
    try: c, _ = srv.accept()
    except socket.timeout: continue
    threading.Thread(target=handle, args=(c,), daemon=True).start()
"#,
            log = log.display().to_string(),
        );
        PythonServer::start(&script, port, "CONNECT proxy")
    }
}

#[test]
fn no_verify_ssl_accepts_an_untrusted_certificate_loudly_also_through_a_proxy() {
    let sb = Sandbox::new();
    static_profile(&sb);
    let Some((_ca, cert, key)) = test_ca(&sb) else {
        return;
    };
    let Some(server) = TlsSts::start(&cert, &key) else {
        return;
    };
    let url = format!("https://127.0.0.1:{}", server.port);
    // Verified by default: the private CA is unknown.
    let out = run(sb
        .cmd()
        .env("AWS_ENDPOINT_URL_STS", &url)
        .args(["whoami", "--profile", "base"]));
    out.assert_code(1);
    // --no-verify-ssl: accepted, with a warning that says what it costs.
    let out = run(sb.cmd().env("AWS_ENDPOINT_URL_STS", &url).args([
        "whoami",
        "--profile",
        "base",
        "--short",
        "--no-verify-ssl",
    ]));
    out.assert_success();
    assert_eq!(
        out.stdout_str(),
        "arn:aws:iam::123456789012:user/via-proxy\n"
    );
    let err = out.stderr_str();
    assert!(
        err.contains("WARNING: --no-verify-ssl") && err.contains("AWS_CA_BUNDLE"),
        "{err}"
    );
    // Through an HTTPS proxy (CONNECT tunnel), as behind a corporate proxy.
    let log = sb.path("proxy.log");
    let Some(proxy) = ConnectProxy::start(&log) else {
        return;
    };
    let out = run(sb
        .cmd()
        .env("AWS_ENDPOINT_URL_STS", &url)
        .env("HTTPS_PROXY", format!("http://127.0.0.1:{}", proxy.port))
        .args(["whoami", "--profile", "base", "--short", "--no-verify-ssl"]));
    out.assert_success();
    let seen = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        seen.contains(&format!("CONNECT 127.0.0.1:{} HTTP/1.1", server.port)),
        "{seen}"
    );
}

/// Issue 23, item 6: the aws-vault habit, `exec prod -- cmd` and `export prod`: a first word
/// that names a profile is the profile; a word that is both a profile and a program is an
/// error that gives both readings; a word that is no profile is the command, as before.
#[test]
fn a_leading_profile_name_is_the_profile() {
    let sb = Sandbox::new();
    sb.write_credentials(
        "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = basesecret\n\
         [other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = othersecret\n\
         [sh]\naws_access_key_id = AKIASH\naws_secret_access_key = shsecret\n",
    );
    sb.write_config("[profile base]\nregion = eu-west-3\n");
    let key = "printf '%s' \"$AWS_ACCESS_KEY_ID\"";
    for args in [
        vec!["exec", "base", "--", "sh", "-c", key],
        vec!["exec", "base", "sh", "-c", key],
        vec!["exec", "--", "base", "--", "sh", "-c", key],
    ] {
        let out = run(sb.cmd().env("AWS_PROFILE", "other").args(&args));
        assert!(out.status.success(), "{args:?}: {}", out.stderr_str());
        assert_eq!(out.stdout_str(), "AKIABASE", "{args:?}");
    }
    // Not a profile: the command, as always (and --profile means the word is the command).
    let out = run(sb
        .cmd()
        .args(["exec", "--profile", "base", "--", "sh", "-c", key]));
    assert_eq!(out.stdout_str(), "AKIABASE");
    // Both a profile and a program: say which.
    let out = run(sb.cmd().args(["exec", "sh", "-c", key]));
    assert_eq!(out.code(), Some(2), "{}", out.stderr_str());
    assert!(out.stdout.is_empty());
    let err = out.stderr_str();
    assert!(
        err.contains("sh is both a profile and a program")
            && err.contains("--profile sh -- COMMAND")
            && err.contains("command -v sh"),
        "{err}"
    );
    // A profile and nothing to run.
    let out = run(sb.cmd().args(["exec", "base", "--"]));
    assert_eq!(out.code(), Some(2), "{}", out.stderr_str());
    assert!(
        out.stderr_str().contains("needs a command"),
        "{}",
        out.stderr_str()
    );

    // export PROFILE.
    let out = run(sb.cmd().args(["export", "base", "--format", "json"]));
    assert!(out.status.success(), "{}", out.stderr_str());
    assert!(out.stdout_str().contains("AKIABASE"));
    let out = run(sb.cmd().args(["export", "base", "--profile", "other"]));
    assert_eq!(out.code(), Some(2), "{}", out.stderr_str());
    assert!(out.stderr_str().contains("two profiles were given"));
    let out = run(sb.cmd().args(["export", "nosuch"]));
    assert_ne!(out.code(), Some(0));
    out.assert_failed_eval();
}

/// Issue 23, item 4: shell lines to a terminal mean `eval` was forgotten: nothing is printed
/// (no keys on the screen), exit 2, and the hint is the command inside `eval "$(…)"`;
/// `--print` prints them anyway; JSON is printed as always.
#[test]
fn a_forgotten_eval_prints_no_keys_and_says_how() {
    let Some(script) = support::require_program("script") else {
        return;
    };
    let sb = Sandbox::new();
    static_profile(&sb);
    let in_terminal = |args: &str| {
        let exe = env!("CARGO_BIN_EXE_aws-cred");
        let mut cmd = sb.program(&script);
        cmd.env("SHELL", "/bin/sh")
            .args(["-qefc", &format!("{exe} {args}"), "/dev/null"]);
        let out = support::run_with_input(&mut cmd, b"");
        (out.status.code(), out.stdout_str())
    };
    let (code, shown) = in_terminal("export --profile base");
    assert_eq!(code, Some(2), "{shown}");
    assert!(
        !shown.contains("AKIABASE") && !shown.contains("basesecret"),
        "{shown}"
    );
    assert!(
        shown.contains("eval \"$(aws-cred export --profile base)\""),
        "{shown}"
    );
    let (code, shown) = in_terminal("export --profile base --format fish");
    assert_eq!(code, Some(2), "{shown}");
    assert!(
        shown.contains("aws-cred export --profile base --format fish | source"),
        "{shown}"
    );
    let (code, shown) = in_terminal("export --profile base --print");
    assert_eq!(code, Some(0), "{shown}");
    assert!(
        shown.contains("export AWS_ACCESS_KEY_ID='AKIABASE'"),
        "{shown}"
    );
    let (code, shown) = in_terminal("export --profile base --format json");
    assert_eq!(code, Some(0), "{shown}");
    assert!(shown.contains("\"AccessKeyId\": \"AKIABASE\""), "{shown}");
    // Piped, as under eval: the lines, as always.
    let out = run(sb.cmd().args(["export", "--profile", "base"]));
    out.assert_success();
    assert!(out.stdout_str().contains("AKIABASE"));
}

/// Issue 23, item 5: `shell-init` gives a function that sets the credentials in the current
/// shell without eval, in real bash, zsh and fish: `awsc base`, then `awsc --unset`; a failure
/// changes nothing and returns non-zero; AWS_CRED_PROFILE/AWS_CRED_EXPIRATION for prompts; an
/// exec from such a shell warns.
#[test]
fn shell_init_sets_and_unsets_in_the_current_shell() {
    let sb = Sandbox::new();
    static_profile(&sb);
    let posix = "eval \"$(aws-cred shell-init SHELL)\"; \
        awsc base; echo \"1:$AWS_ACCESS_KEY_ID:$AWS_REGION:$AWS_CRED_PROFILE\"; \
        awsc nosuch 2>/dev/null; echo \"2:$?:$AWS_ACCESS_KEY_ID\"; \
        aws-cred exec base -- true 2>&1 | grep -c 'already holds' | sed 's/^/3:/'; \
        awsc --unset; echo \"4:${AWS_ACCESS_KEY_ID-unset}:${AWS_CRED_PROFILE-unset}\"";
    let fish = "aws-cred shell-init fish | source; \
        awsc base; echo \"1:$AWS_ACCESS_KEY_ID:$AWS_REGION:$AWS_CRED_PROFILE\"; \
        awsc nosuch 2>/dev/null; echo \"2:$status:$AWS_ACCESS_KEY_ID\"; \
        aws-cred exec base -- true 2>&1 | grep -c 'already holds' | sed 's/^/3:/'; \
        awsc --unset; set -q AWS_ACCESS_KEY_ID; or echo \"4:unset:unset\"";
    let mut ran = 0;
    for (shell, script) in [
        ("bash", posix.replace("SHELL", "bash")),
        ("zsh", posix.replace("SHELL", "zsh")),
        ("fish", fish.to_string()),
    ] {
        let Some(program) = support::require_program(shell) else {
            continue;
        };
        let mut cmd = sb.program_with_aws_cred(program);
        cmd.current_dir(sb.home()).args(["-c", &script]);
        let out = run(&mut cmd);
        let text = out.stdout_str();
        assert!(
            text.contains("1:AKIABASE:eu-west-3:base"),
            "{shell}: {text} {}",
            out.stderr_str()
        );
        assert!(
            text.contains("2:1:AKIABASE"),
            "{shell}: a failure changes nothing: {text}"
        );
        assert!(text.contains("3:1"), "{shell}: nested exec warns: {text}");
        assert!(text.contains("4:unset:unset"), "{shell}: {text}");
        ran += 1;
    }
    assert!(ran > 0 || !support::in_ci());
    // PowerShell (no pwsh here): the function is written, with the name asked for.
    let out = run(sb
        .cmd()
        .args(["shell-init", "powershell", "--name", "use-aws"]));
    out.assert_success();
    assert!(out.stdout_str().contains("function use-aws {"));
    let out = run(sb.cmd().args(["shell-init", "bash", "--name", "bad name"]));
    assert_eq!(out.code(), Some(2));
}

/// Three profiles and no `[default]`: what the picker offers.
fn picker_profiles(sb: &Sandbox) {
    sb.write_credentials(
        "[dev]\naws_access_key_id = AKIADEV\naws_secret_access_key = devsecret\n\
         [prod]\naws_access_key_id = AKIAPROD\naws_secret_access_key = prodsecret\n",
    );
    sb.write_config(
        "[profile dev]\nregion = eu-west-3\n[profile prod]\nregion = eu-west-1\n\
         [profile prod-admin]\nrole_arn = arn:aws:iam::123456789012:role/admin\nsource_profile = prod\n",
    );
}

/// `aws-cred ARGS` at a real terminal (`script`); at each `(shown, typed)` step, once the
/// terminal shows `shown`, the keys `typed` are sent, then Enter.
fn at_terminal(
    sb: &Sandbox,
    args: &str,
    env: &[(&str, &str)],
    steps: &[(&str, &str)],
) -> Option<(std::process::ExitStatus, String)> {
    let script = support::require_program("script")?;
    let mut cmd = sb.program(script);
    cmd.env("SHELL", "/bin/sh")
        .env("TERM", "xterm")
        .envs(env.iter().copied())
        .args([
            "-qefc",
            &format!("{} {args}", env!("CARGO_BIN_EXE_aws-cred")),
            "/dev/null",
        ]);
    Some(support::terminal_dialogue(&mut cmd, steps))
}

/// With nothing naming a profile and a person at the terminal, `export`, `exec`, `whoami` and
/// `console` ask which one: type to filter, arrows to move, Enter to pick. Each profile shows
/// its kind and state.
#[test]
fn with_no_profile_at_a_terminal_a_picker_asks_which() {
    let sb = Sandbox::new();
    picker_profiles(&sb);
    // The arrows: Down from `dev` is `prod`.
    let Some((status, shown)) = at_terminal(
        &sb,
        "export --format json",
        &[],
        &[("Esc to cancel)>", "\x1b[B")],
    ) else {
        return;
    };
    assert!(status.success(), "{shown}");
    assert!(shown.contains("profile (3 of 3;"), "{shown}");
    assert!(shown.contains("static · long-term keys"), "{shown}");
    assert!(
        shown.contains("prod-admin  role · long-term keys"),
        "{shown}"
    );
    assert!(shown.contains("aws-cred: profile prod"), "{shown}");
    assert!(shown.contains("\"AccessKeyId\": \"AKIAPROD\""), "{shown}");
    assert!(!shown.contains("AKIADEV\""), "{shown}");
    // Typing filters: "dev" leaves one, and exec runs the command with it.
    let Some((status, shown)) = at_terminal(
        &sb,
        "exec -- sh -c 'echo key=$AWS_ACCESS_KEY_ID region=$AWS_REGION'",
        &[],
        &[("Esc to cancel)>", "dev")],
    ) else {
        return;
    };
    assert!(status.success(), "{shown}");
    assert!(shown.contains("aws-cred: profile dev"), "{shown}");
    assert!(shown.contains("key=AKIADEV region=eu-west-3"), "{shown}");
}

/// Esc (or Ctrl-C) cancels: exit 2 with how to name a profile, nothing on stdout.
#[test]
fn cancelling_the_picker_says_how_to_name_a_profile() {
    let sb = Sandbox::new();
    picker_profiles(&sb);
    // Esc then Enter: the Enter is never read, the picker ended at Esc.
    let Some((status, shown)) = at_terminal(&sb, "whoami", &[], &[("Esc to cancel)>", "\x1b")])
    else {
        return;
    };
    assert_eq!(status.code(), Some(2), "{shown}");
    assert!(shown.contains("no profile was picked"), "{shown}");
    assert!(shown.contains("--profile NAME"), "{shown}");
}

/// A terminal that cannot be read key by key (TERM=dumb here; Git Bash's mintty on Windows)
/// gets a numbered list and a line to answer.
#[test]
fn a_dumb_terminal_picks_by_number() {
    let sb = Sandbox::new();
    picker_profiles(&sb);
    let Some((status, shown)) = at_terminal(
        &sb,
        "export --format json",
        &[("TERM", "dumb")],
        &[("number or name", "7"), ("number or name", "2")],
    ) else {
        return;
    };
    assert!(status.success(), "{shown}");
    assert!(
        shown.contains("   1  dev         static · long-term keys"),
        "{shown}"
    );
    assert!(shown.contains("no profile 7"), "{shown}");
    assert!(shown.contains("\"AccessKeyId\": \"AKIAPROD\""), "{shown}");
}

/// No picker when something names the profile, when the environment has credentials, when a
/// `[default]` profile exists, with --no-prompt, or without a terminal: the run goes on as
/// before.
#[test]
fn the_picker_stays_away_when_a_profile_is_known_or_nobody_is_there() {
    let sb = Sandbox::new();
    picker_profiles(&sb);
    for (args, env, expect) in [
        (
            "export --format json",
            vec![("AWS_PROFILE", "dev")],
            "AKIADEV",
        ),
        (
            "export --format json",
            vec![
                ("AWS_ACCESS_KEY_ID", "AKIAENV"),
                ("AWS_SECRET_ACCESS_KEY", "envsecret"),
            ],
            "AKIAENV",
        ),
        ("export dev --format json", vec![], "AKIADEV"),
        ("export --format json --no-prompt", vec![], "no credentials"),
    ] {
        let Some((_, shown)) = at_terminal(&sb, args, &env, &[]) else {
            return;
        };
        assert!(!shown.contains("Esc to cancel"), "{args}: {shown}");
        assert!(shown.contains(expect), "{args}: {shown}");
    }
    // A forgotten eval is refused before anyone is asked: no picker for lines nobody runs.
    let Some((status, shown)) = at_terminal(&sb, "export", &[], &[]) else {
        return;
    };
    assert_eq!(status.code(), Some(2), "{shown}");
    assert!(!shown.contains("Esc to cancel"), "{shown}");
    assert!(shown.contains("nothing was printed or set"), "{shown}");
    // Without a terminal.
    let out = run(sb.cmd().args(["export", "--format", "json"]));
    assert!(!out.stderr_str().contains("Esc to cancel"));
    out.assert_code(3);
    // A [default] profile is the profile.
    sb.write_config("[default]\nregion = eu-west-2\n[profile dev]\nregion = eu-west-3\n");
    sb.write_credentials("[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = s\n");
    let Some((_, shown)) = at_terminal(&sb, "export --format json", &[], &[]) else {
        return;
    };
    assert!(!shown.contains("Esc to cancel"), "{shown}");
    assert!(shown.contains("AKIADEFAULT"), "{shown}");
}
