//! A loopback Kubernetes API server of one EKS cluster. It authenticates
//! `Authorization: Bearer k8s-aws-v1.…` as aws-iam-authenticator does: decode the presigned STS
//! URL, check its host (the region's STS), action, version, parameters, that `x-k8s-aws-id` is
//! signed, the credential scope's region and service, and the age of `X-Amz-Date` (15
//! minutes); then "STS" checks the signature, here recomputed with the Rust SDK's own signer
//! (aws-sigv4) from the keys the fake is told, with `x-k8s-aws-id` set to *this* cluster's
//! name (so a token for another cluster fails). The identity's ARN must be mapped to a user.
//! It answers `GET /version` (and `/version/`, as the Python client asks); every refusal is a 401 and is recorded with its reason.
#![allow(dead_code)] // each test file uses a different part

use crate::support::{FakeHttp, Response};
use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Keys as STS knows them.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub secret: String,
    pub token: Option<String>,
    pub arn: String,
}

pub(crate) type Lookup = Arc<dyn Fn(&str) -> Option<Session> + Send + Sync>;

/// How long after `X-Amz-Date` EKS accepts a token.
pub(crate) const TOKEN_WINDOW: Duration = Duration::from_secs(15 * 60);

pub(crate) struct FakeEks {
    pub http: FakeHttp,
    pub tls: TlsFront,
    seen: Arc<Mutex<Vec<Result<String, String>>>>,
    bearers: Arc<Mutex<Vec<String>>>,
}

const ALLOWED: [&str; 9] = [
    "action",
    "version",
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-expires",
    "x-amz-security-token",
    "x-amz-signature",
    "x-amz-signedheaders",
];

/// The identity (ARN) a bearer token proves for `cluster` in `region` at `now`, or why not.
pub(crate) fn authenticate(
    bearer: &str,
    cluster: &str,
    region: &str,
    now: SystemTime,
    lookup: &Lookup,
) -> Result<String, String> {
    use base64::Engine as _;
    let encoded = bearer
        .strip_prefix("k8s-aws-v1.")
        .ok_or("no k8s-aws-v1. prefix")?;
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .map_err(|e| format!("not base64url: {e}"))?;
    let text = String::from_utf8(decoded).map_err(|_| "not UTF-8".to_string())?;
    let url = url::Url::parse(&text).map_err(|e| format!("not a URL: {e}"))?;
    let host = format!("sts.{region}.amazonaws.com");
    if url.scheme() != "https" || url.host_str() != Some(host.as_str()) || url.port().is_some() {
        return Err(format!("not this region's STS: {text}"));
    }
    if url.path() != "/" {
        return Err(format!("path {}", url.path()));
    }
    let mut params = std::collections::HashMap::new();
    for (name, value) in url.query_pairs() {
        let lower = name.to_ascii_lowercase();
        if !ALLOWED.contains(&lower.as_str()) {
            return Err(format!("parameter {name} is not allowed"));
        }
        if params.insert(lower, value.into_owned()).is_some() {
            return Err(format!("parameter {name} twice"));
        }
    }
    let param = |name: &str| params.get(name).map(String::as_str).unwrap_or("");
    if param("action") != "GetCallerIdentity" || param("version") != "2011-06-15" {
        return Err("not GetCallerIdentity 2011-06-15".into());
    }
    let signed: HashSet<&str> = param("x-amz-signedheaders").split(';').collect();
    if !signed.contains("x-k8s-aws-id") || !signed.contains("host") {
        return Err("x-k8s-aws-id is not signed".into());
    }
    let date = chrono::NaiveDateTime::parse_from_str(param("x-amz-date"), "%Y%m%dT%H%M%SZ")
        .map_err(|_| "bad X-Amz-Date".to_string())?
        .and_utc();
    let signed_at = SystemTime::UNIX_EPOCH + Duration::from_secs(date.timestamp().max(0) as u64);
    if signed_at + TOKEN_WINDOW < now {
        return Err("expired".into());
    }
    if signed_at > now + Duration::from_secs(300) {
        return Err("signed in the future".into());
    }
    let expires: u64 = param("x-amz-expires")
        .parse()
        .map_err(|_| "bad X-Amz-Expires".to_string())?;
    if expires == 0 || expires > 900 {
        return Err(format!("X-Amz-Expires {expires}"));
    }
    let credential = param("x-amz-credential");
    let parts: Vec<&str> = credential.split('/').collect();
    let [akid, day, scope_region, service, "aws4_request"] = parts[..] else {
        return Err(format!("bad credential scope {credential}"));
    };
    if scope_region != region || service != "sts" || day != &param("x-amz-date")[..8] {
        return Err(format!("credential scope {credential}"));
    }
    let session = lookup(akid).ok_or_else(|| format!("unknown access key {akid}"))?;
    if params.get("x-amz-security-token") != session.token.as_ref() {
        return Err("session token does not match the key".into());
    }

    // STS's part: the signature over this cluster's name, with the key's secret.
    let identity = aws_credential_types::Credentials::new(
        akid,
        &session.secret,
        session.token.clone(),
        None,
        "eks-fake",
    )
    .into();
    let mut settings = aws_sigv4::http_request::SigningSettings::default();
    settings.signature_location = aws_sigv4::http_request::SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(expires));
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(signed_at)
        .settings(settings)
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let unsigned = format!("https://{host}/?Action=GetCallerIdentity&Version=2011-06-15");
    let headers = [("host", host.as_str()), ("x-k8s-aws-id", cluster)];
    let request = aws_sigv4::http_request::SignableRequest::new(
        "GET",
        &unsigned,
        headers.into_iter(),
        aws_sigv4::http_request::SignableBody::Bytes(&[]),
    )
    .map_err(|e| e.to_string())?;
    let (_, expected) = aws_sigv4::http_request::sign(request, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    let given = url
        .query_pairs()
        .find(|(name, _)| name.eq_ignore_ascii_case("x-amz-signature"))
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    if given != expected {
        return Err("SignatureDoesNotMatch".into());
    }
    Ok(session.arn)
}

impl FakeEks {
    /// The API server of `cluster` in `region`; `users` are the ARNs mapped to a Kubernetes
    /// user (aws-auth), `lookup` tells the keys STS knows.
    pub(crate) fn start(
        cluster: &str,
        region: &str,
        users: Vec<String>,
        lookup: Lookup,
    ) -> FakeEks {
        let seen: Arc<Mutex<Vec<Result<String, String>>>> = Arc::default();
        let record = seen.clone();
        let bearers: Arc<Mutex<Vec<String>>> = Arc::default();
        let accepted = bearers.clone();
        let (cluster, region) = (cluster.to_string(), region.to_string());
        let http = FakeHttp::new(move |req| {
            let bearer = req
                .header("authorization")
                .and_then(|h| h.strip_prefix("Bearer "))
                .unwrap_or("");
            let outcome = authenticate(bearer, &cluster, &region, SystemTime::now(), &lookup)
                .and_then(|arn| {
                    if users.contains(&arn) {
                        Ok(arn)
                    } else {
                        Err(format!("{arn} is not mapped to a user"))
                    }
                });
            record.lock().unwrap().push(outcome.clone());
            if outcome.is_ok() {
                accepted.lock().unwrap().push(bearer.to_string());
            }
            match outcome {
                Ok(_) if req.path == "/version" || req.path == "/version/" => Response::json(
                    200,
                    r#"{"major":"1","minor":"31","gitVersion":"v1.31.0-eks-fake","gitCommit":"0000000000000000000000000000000000000000","gitTreeState":"clean","buildDate":"2026-01-01T00:00:00Z","goVersion":"go1.24.0","compiler":"gc","platform":"linux/amd64"}"#,
                ),
                Ok(_) => Response::json(
                    404,
                    r#"{"kind":"Status","apiVersion":"v1","status":"Failure","code":404,"reason":"NotFound"}"#,
                ),
                Err(_) => Response::json(
                    401,
                    r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#,
                ),
            }
        });
        let tls = TlsFront::start(http.addr());
        FakeEks {
            http,
            tls,
            seen,
            bearers,
        }
    }

    /// The API server's `https://` URL (kubectl sends exec-plugin credentials only over TLS);
    /// its CA is [`TlsFront::ca_pem`].
    pub(crate) fn url(&self) -> String {
        format!("https://{}", self.tls.addr)
    }

    /// The bearer tokens it let in, in order.
    pub(crate) fn bearers(&self) -> Vec<String> {
        self.bearers.lock().unwrap().clone()
    }

    /// Every request's outcome: the ARN it authenticated, or why it was refused.
    pub(crate) fn seen(&self) -> Vec<Result<String, String>> {
        self.seen.lock().unwrap().clone()
    }
}

/// A TLS front for a loopback HTTP fake, with a self-signed certificate for 127.0.0.1 made by
/// the `openssl` command. One request per connection (answered with `Connection: close`),
/// each in its own thread, bounded in size and time.
pub(crate) struct TlsFront {
    pub addr: SocketAddr,
    /// The certificate, to trust as the cluster's CA.
    pub ca_pem: Vec<u8>,
    stop: Arc<AtomicBool>,
    _dir: tempfile::TempDir,
}

const MAX_MESSAGE: usize = 1024 * 1024;

impl TlsFront {
    pub(crate) fn start(upstream: SocketAddr) -> TlsFront {
        use rustls::pki_types::pem::PemObject as _;
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let out = std::process::Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
            ])
            .args([
                "-nodes",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ])
            .args(["-days", "1", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("openssl (run .ci/run)");
        assert!(
            out.status.success(),
            "openssl: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ca_pem = std::fs::read(&cert).unwrap();
        let certs = rustls::pki_types::CertificateDer::pem_file_iter(&cert)
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = rustls::pki_types::PrivateKeyDer::from_pem_file(&key).unwrap();
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            for tcp in listener.incoming().take(10_000) {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(tcp) = tcp else { continue };
                let config = config.clone();
                std::thread::spawn(move || {
                    let _ = relay(config, tcp, upstream);
                });
            }
        });
        TlsFront {
            addr,
            ca_pem,
            stop,
            _dir: dir,
        }
    }
}

/// One request over TLS to the plain upstream, its answer back.
fn relay(
    config: Arc<rustls::ServerConfig>,
    mut tcp: TcpStream,
    upstream: SocketAddr,
) -> std::io::Result<()> {
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    tcp.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut conn = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tls.read(&mut chunk)?;
        if n == 0 || head.len() + n > MAX_MESSAGE {
            return Ok(());
        }
        head.extend_from_slice(&chunk[..n]);
    }
    // GET requests only (kubectl's /version): no body follows the head.
    let text = String::from_utf8_lossy(&head);
    let mut request: String = text
        .trim_end()
        .lines()
        .filter(|line| !line.to_ascii_lowercase().starts_with("connection:"))
        .map(|line| format!("{line}\r\n"))
        .collect();
    request.push_str("Connection: close\r\n\r\n");
    let mut plain = TcpStream::connect_timeout(&upstream, Duration::from_secs(2))?;
    plain.set_read_timeout(Some(Duration::from_secs(10)))?;
    plain.write_all(request.as_bytes())?;
    let mut answer = Vec::new();
    plain.take(MAX_MESSAGE as u64).read_to_end(&mut answer)?;
    tls.write_all(&answer)?;
    tls.flush()?;
    conn.send_close_notify();
    let _ = conn.write_tls(&mut tcp);
    Ok(())
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}
