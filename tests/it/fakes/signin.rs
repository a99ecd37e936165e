//! A loopback AWS Sign-In that verifies what the real one verifies (PROTOCOLS-login-federation.md
//! part 1): CreateOAuth2Token (`POST /v1/token`, JSON body, unsigned) with a DPoP proof whose
//! ES256 signature must verify against the JWK in its own header, `typ`/`alg`, `htm = POST`,
//! `htu` = this server's token URL, an `iat` within [now-300, now+60] and a `jti` never seen
//! before; refresh tokens rotate (a used one is refused) and are bound to the RFC 7638
//! thumbprint of the key first seen with them; the authorization-code grant checks PKCE
//! (`SHA-256`, the CLI's name for S256), the client id and the `redirect_uri` given to
//! `/v1/authorize`, and a code is single-use. Errors are the model's: `X-Amzn-ErrorType` and
//! `{"error": OAuth2ErrorCode, "message"}`.
//!
//! It also answers STS GetCallerIdentity and AssumeRole (query protocol, POST /) for the access
//! keys it issued, so `whoami` and role profiles sourcing a login session run without moto.
#![allow(dead_code)] // each test file uses a different part

use crate::support::{FakeHttp, Request, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::{Value, json};
use sha2::Digest as _;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

pub(crate) const ACCOUNT: &str = "123456789012";
pub(crate) const SESSION_ARN: &str = "arn:aws:iam::123456789012:user/alice";
pub(crate) const SAME_DEVICE: &str = "arn:aws:signin:::devtools/same-device";
pub(crate) const CROSS_DEVICE: &str = "arn:aws:signin:::devtools/cross-device";

/// aws-config's test key (`src/login/dpop.rs`), as the AWS CLI writes a `dpopKey`.
pub(crate) const TEST_KEY: &str = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBMB/RwQERsVoqWRQG4zK8CnaAa5dfrpbm+9tFdBh3z4oAoGCCqGSM49\nAwEHoUQDQgAEWb1VLi1EA2hJaTz4yYuxSELvY+1GAfL+8rUTCAdiFid87Bf6GY+s\n2+1RpqDv0RpZiDIMCrZrsAh+RK9S3QCaGA==\n-----END EC PRIVATE KEY-----\n";

#[derive(Clone)]
pub(crate) struct SigninRules {
    /// `expiresIn` of issued credentials (the model allows 1..900).
    pub expires_in: u64,
    /// Refuse every refresh: (exception, OAuth2 error code), e.g. ("AccessDeniedException",
    /// "TOKEN_EXPIRED").
    pub refuse_refresh: Option<(&'static str, &'static str)>,
    /// Answer refreshes with 500 InternalServerException.
    pub broken: bool,
    /// Answer refreshes with something that is not AWS's: (HTTP status, content type, body),
    /// e.g. a proxy's HTML page.
    pub not_aws: Option<(u16, &'static str, &'static str)>,
    /// How long each token call takes (to widen race windows).
    pub delay: Duration,
    /// The session ARN the `idToken`'s `sub` names after a login.
    pub session_arn: &'static str,
    /// `/v1/authorize` redirects with a state other than the one it was given.
    pub tamper_state: bool,
}

impl Default for SigninRules {
    fn default() -> Self {
        SigninRules {
            expires_in: 900,
            refuse_refresh: None,
            broken: false,
            not_aws: None,
            delay: Duration::ZERO,
            session_arn: SESSION_ARN,
            tamper_state: false,
        }
    }
}

struct RefreshToken {
    client_id: String,
    arn: String,
    /// RFC 7638 thumbprint of the key it is bound to (bound at first use for seeded tokens).
    thumbprint: Option<String>,
    used: bool,
}

struct Code {
    client_id: String,
    redirect_uri: Option<String>,
    challenge: String,
    used: bool,
}

#[derive(Default)]
struct State {
    refresh_tokens: HashMap<String, RefreshToken>,
    codes: HashMap<String, Code>,
    jtis: HashSet<String>,
    /// Access key id → session ARN (and is it a role).
    keys: HashMap<String, String>,
    counter: u64,
    refreshes: usize,
    code_grants: usize,
    /// Why requests were refused (the tests assert it is empty when all should pass).
    rejections: Vec<String>,
}

pub(crate) struct FakeSignin {
    pub http: FakeHttp,
    state: Arc<Mutex<State>>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

fn error(status: u16, exception: &str, error: &str, message: &str) -> Response {
    Response::json(
        status,
        &json!({"error": error, "message": message}).to_string(),
    )
    .with_header("X-Amzn-ErrorType", exception)
    .with_header("Cache-Control", "no-store")
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `base64url(sha256(verifier))` without padding (the CLI's `SHA-256` method, RFC 7636 S256).
pub(crate) fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// RFC 7638 thumbprint of an EC JWK.
fn thumbprint(jwk: &Value) -> String {
    let canonical = format!(
        r#"{{"crv":"{}","kty":"{}","x":"{}","y":"{}"}}"#,
        jwk["crv"].as_str().unwrap_or_default(),
        jwk["kty"].as_str().unwrap_or_default(),
        jwk["x"].as_str().unwrap_or_default(),
        jwk["y"].as_str().unwrap_or_default()
    );
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(canonical.as_bytes()))
}

fn decode_json(part: &str) -> Result<Value, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| "a JWS part is not base64url without padding".to_string())?;
    serde_json::from_slice(&bytes).map_err(|_| "a JWS part is not JSON".to_string())
}

/// Check a DPoP proof as RFC 9449 section 4.3 says; the key's thumbprint when it holds.
fn verify_dpop(proof: &str, htu: &str, jtis: &mut HashSet<String>) -> Result<String, String> {
    let parts: Vec<&str> = proof.split('.').collect();
    let [h, p, s] = parts[..] else {
        return Err("the DPoP proof is not a compact JWS".into());
    };
    let header = decode_json(h)?;
    let payload = decode_json(p)?;
    if header["typ"] != "dpop+jwt" {
        return Err(format!("typ is {}", header["typ"]));
    }
    if header["alg"] != "ES256" {
        return Err(format!("alg is {}", header["alg"]));
    }
    let jwk = &header["jwk"];
    if jwk["kty"] != "EC" || jwk["crv"] != "P-256" {
        return Err("the jwk is not an EC P-256 key".into());
    }
    if jwk.get("d").is_some() {
        return Err("the jwk carries the private key".into());
    }
    let mut point = vec![4u8];
    for c in ["x", "y"] {
        let bytes = URL_SAFE_NO_PAD
            .decode(jwk[c].as_str().unwrap_or_default())
            .map_err(|_| format!("jwk.{c} is not base64url"))?;
        if bytes.len() != 32 {
            return Err(format!("jwk.{c} is not 32 bytes"));
        }
        point.extend(bytes);
    }
    let key = VerifyingKey::from_sec1_bytes(&point).map_err(|_| "jwk is not on P-256")?;
    let signature = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| "the signature is not base64url")?;
    let signature = Signature::from_slice(&signature).map_err(|_| "the signature is not r||s")?;
    key.verify(format!("{h}.{p}").as_bytes(), &signature)
        .map_err(|_| "the ES256 signature does not verify with the header's jwk")?;
    if payload["htm"] != "POST" {
        return Err(format!("htm is {}", payload["htm"]));
    }
    if payload["htu"] != htu {
        return Err(format!("htu is {}, not {htu}", payload["htu"]));
    }
    let iat = payload["iat"].as_u64().ok_or("iat is not an integer")?;
    let now = now_secs();
    if iat + 300 < now || iat > now + 60 {
        return Err(format!("iat {iat} is not fresh (now {now})"));
    }
    let jti = payload["jti"].as_str().ok_or("no jti")?;
    if jti.is_empty() || !jtis.insert(jti.to_string()) {
        return Err(format!("jti {jti:?} was used before"));
    }
    Ok(thumbprint(jwk))
}

impl FakeSignin {
    pub(crate) fn start(rules: SigninRules) -> FakeSignin {
        let state: Arc<Mutex<State>> = Arc::default();
        let handler_state = state.clone();
        let own_url: Arc<Mutex<String>> = Arc::default();
        let url_for_handler = own_url.clone();
        let http = FakeHttp::new(move |req| {
            let base = lock_url(&url_for_handler);
            handle(&rules, &handler_state, &base, req)
        });
        *own_url.lock().unwrap() = http.url();
        FakeSignin { http, state }
    }

    pub(crate) fn url(&self) -> String {
        self.http.url()
    }

    /// Plays the person of `aws-cred login --remote` for `child` (stdin, stdout and stderr
    /// piped): reads the URL it prints on stderr, checks it names the cross-device client, opens
    /// it "on another device" (the authorize page, redirected to this fake's confirmation page)
    /// and pastes the code shown there (or `tamper`) on its stdin. Returns the child's output,
    /// with everything it wrote on stderr.
    pub(crate) fn answer_remote_login(
        &self,
        mut child: std::process::Child,
        tamper: Option<&str>,
    ) -> std::process::Output {
        use std::io::{BufRead, BufReader, Read, Write};
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        let mut url = None;
        for _ in 0..50 {
            let mut line = String::new();
            if stderr.read_line(&mut line).unwrap() == 0 {
                break;
            }
            seen.push_str(&line);
            if let Some(at) = line.find("http://") {
                url = Some(line[at..].trim().to_string());
                break;
            }
        }
        let url = url.unwrap_or_else(|| panic!("no URL on stderr:\n{seen}"));
        assert!(
            url.contains("client_id=arn%3Aaws%3Asignin%3A%3A%3Adevtools%2Fcross-device"),
            "{url}"
        );
        let page = crate::support::http_request("GET", &url, &[], b"").unwrap();
        assert_eq!(page.status, 302, "{}", page.body_str());
        let location = page.header("location").unwrap().to_string();
        assert!(location.starts_with(&format!("{}/v1/sessions/confirmation?", self.url())));
        let confirmation = crate::support::http_request("GET", &location, &[], b"").unwrap();
        let code = confirmation.body_str().lines().nth(1).unwrap().to_string();
        let code = tamper.map_or(code, str::to_string);
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{code}").unwrap();
        drop(stdin);
        let mut rest = String::new();
        stderr.read_to_string(&mut rest).unwrap();
        let mut out = child.wait_with_output().unwrap();
        out.stderr = format!("{seen}{rest}").into_bytes();
        out
    }

    /// A refresh token the AWS CLI got at its login, for a cache file a test writes.
    pub(crate) fn seed_refresh_token(&self, token: &str, client_id: &str, arn: &str) {
        lock(&self.state).refresh_tokens.insert(
            token.to_string(),
            RefreshToken {
                client_id: client_id.to_string(),
                arn: arn.to_string(),
                thumbprint: None,
                used: false,
            },
        );
    }

    /// Access keys a test writes into a cache file, known to the STS side.
    pub(crate) fn seed_access_key(&self, access_key_id: &str, arn: &str) {
        lock(&self.state)
            .keys
            .insert(access_key_id.to_string(), arn.to_string());
    }

    /// Successful refresh-token grants.
    pub(crate) fn refreshes(&self) -> usize {
        lock(&self.state).refreshes
    }

    pub(crate) fn code_grants(&self) -> usize {
        lock(&self.state).code_grants
    }

    /// CreateOAuth2Token calls, answered or refused.
    pub(crate) fn token_calls(&self) -> usize {
        self.http
            .requests()
            .iter()
            .filter(|r| r.path == "/v1/token")
            .count()
    }

    pub(crate) fn rejections(&self) -> Vec<String> {
        lock(&self.state).rejections.clone()
    }

    /// Whether a refresh token is live (issued or seeded, and not yet used).
    pub(crate) fn is_live(&self, token: &str) -> bool {
        lock(&self.state)
            .refresh_tokens
            .get(token)
            .is_some_and(|t| !t.used)
    }
}

fn lock_url(url: &Mutex<String>) -> String {
    url.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

fn handle(rules: &SigninRules, state: &Mutex<State>, base: &str, req: &Request) -> Response {
    match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/v1/token") => {
            std::thread::sleep(rules.delay);
            let response = token(rules, state, base, req);
            if response.status != 200 {
                let mut s = lock(state);
                let why = format!("{} {}", response.status, response.body_str());
                s.rejections.push(why);
            }
            response
        }
        ("GET", "/v1/authorize") => authorize(rules, state, req),
        ("GET", "/v1/sessions/confirmation") => confirmation(req),
        ("POST", "/") => sts(state, req),
        _ => Response::text(404, "not found"),
    }
}

fn token(rules: &SigninRules, state: &Mutex<State>, base: &str, req: &Request) -> Response {
    if req.header("authorization").is_some() {
        return error(
            400,
            "ValidationException",
            "INVALID_REQUEST",
            "CreateOAuth2Token is not signed",
        );
    }
    let Some(proof) = req.header("dpop") else {
        return error(
            400,
            "ValidationException",
            "INVALID_REQUEST",
            "missing DPoP header",
        );
    };
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return error(
            400,
            "ValidationException",
            "INVALID_REQUEST",
            "the body is not JSON",
        );
    };
    let mut s = lock(state);
    let thumb = match verify_dpop(proof, &format!("{base}/v1/token"), &mut s.jtis) {
        Ok(thumb) => thumb,
        Err(why) => {
            return error(
                400,
                "ValidationException",
                "INVALID_REQUEST",
                &format!("invalid DPoP proof: {why}"),
            );
        }
    };
    let field = |k: &str| body[k].as_str().map(str::to_string);
    let client_id = field("clientId").unwrap_or_default();
    if client_id != SAME_DEVICE && client_id != CROSS_DEVICE {
        return error(
            400,
            "ValidationException",
            "INVALID_REQUEST",
            "clientId does not match the pattern",
        );
    }
    let invalid_grant = || {
        error(
            400,
            "ValidationException",
            "INVALID_REQUEST",
            "The provided authorization grant is invalid, expired, revoked, or malformed",
        )
    };
    let (arn, with_id_token) = match field("grantType").as_deref() {
        Some("refresh_token") => {
            let Some(refresh) = field("refreshToken") else {
                return invalid_grant();
            };
            if let Some((status, content_type, body)) = rules.not_aws {
                return Response::new(status)
                    .with_header("content-type", content_type)
                    .with_body(body);
            }
            if rules.broken {
                return error(
                    500,
                    "InternalServerException",
                    "server_error",
                    "try again later",
                );
            }
            if let Some((exception, code)) = rules.refuse_refresh {
                return error(400, exception, code, "The refresh token has expired.");
            }
            let Some(record) = s.refresh_tokens.get_mut(&refresh) else {
                return invalid_grant();
            };
            if record.used || record.client_id != client_id {
                return invalid_grant();
            }
            match &record.thumbprint {
                Some(bound) if *bound != thumb => {
                    return error(
                        400,
                        "ValidationException",
                        "INVALID_REQUEST",
                        "the DPoP key is not the one the refresh token is bound to",
                    );
                }
                _ => {}
            }
            record.used = true;
            let arn = record.arn.clone();
            s.refreshes += 1;
            (arn, false)
        }
        Some("authorization_code") => {
            let (Some(code), Some(verifier)) = (field("code"), field("codeVerifier")) else {
                return invalid_grant();
            };
            let Some(record) = s.codes.get_mut(&code) else {
                return invalid_grant();
            };
            if record.used
                || record.client_id != client_id
                || record.challenge != challenge_of(&verifier)
                || record
                    .redirect_uri
                    .as_deref()
                    .is_some_and(|r| Some(r) != field("redirectUri").as_deref())
            {
                record.used = true;
                return invalid_grant();
            }
            record.used = true;
            s.code_grants += 1;
            (rules.session_arn.to_string(), true)
        }
        _ => {
            return error(
                400,
                "ValidationException",
                "INVALID_REQUEST",
                "unsupported grantType",
            );
        }
    };
    s.counter += 1;
    let n = s.counter;
    let access_key_id = format!("ASIALOGIN{n:011}");
    let refresh_token = format!("rt-{n}-{}", uuid_like(n));
    s.keys.insert(access_key_id.clone(), arn.clone());
    s.refresh_tokens.insert(
        refresh_token.clone(),
        RefreshToken {
            client_id: client_id.clone(),
            arn: arn.clone(),
            thumbprint: Some(thumb),
            used: false,
        },
    );
    let mut out = json!({
        "accessToken": {
            "accessKeyId": access_key_id,
            "secretAccessKey": format!("login-secret-{n}"),
            "sessionToken": format!("login-session-token-{n}"),
        },
        "tokenType": "aws_sigv4",
        "expiresIn": rules.expires_in,
        "refreshToken": refresh_token,
    });
    if with_id_token {
        let now = now_secs();
        let claims = json!({"iss": "https://signin.aws.amazon.com/signin", "iat": now, "exp": now + 900, "aud": client_id, "sub": arn, "session_arn": arn});
        out["idToken"] = Value::from(format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        ));
    }
    Response::json(200, &out.to_string()).with_header("Cache-Control", "no-store")
}

fn uuid_like(n: u64) -> String {
    hex::encode(sha2::Sha256::digest(
        format!("rt{n}{}", now_secs()).as_bytes(),
    ))[..24]
        .to_string()
}

/// The authorize page of a signed-in browser: straight to the redirect with a code.
fn authorize(rules: &SigninRules, state: &Mutex<State>, req: &Request) -> Response {
    let q = |k: &str| req.query_param(k).map(str::to_string);
    let bad = |why: &str| Response::text(400, why);
    if q("response_type").as_deref() != Some("code") {
        return bad("response_type must be code");
    }
    if q("code_challenge_method").as_deref() != Some("SHA-256") {
        return bad("code_challenge_method must be SHA-256");
    }
    if q("scope").as_deref() != Some("openid") {
        return bad("scope must be openid");
    }
    let (Some(client_id), Some(st), Some(challenge)) =
        (q("client_id"), q("state"), q("code_challenge"))
    else {
        return bad("client_id, state and code_challenge are required");
    };
    if challenge.len() != 43 {
        return bad("code_challenge must be 43 characters");
    }
    let redirect = q("redirect_uri");
    let mut s = lock(state);
    s.counter += 1;
    let code = format!("code-{}", s.counter);
    s.codes.insert(
        code.clone(),
        Code {
            client_id: client_id.clone(),
            redirect_uri: redirect.clone(),
            challenge,
            used: false,
        },
    );
    let st = if rules.tamper_state {
        "tampered".to_string()
    } else {
        st
    };
    let enc = |v: &str| crate::support::percent_encode(v);
    match (client_id.as_str(), redirect) {
        (SAME_DEVICE, Some(redirect)) => Response::new(302).with_header(
            "location",
            &format!("{redirect}?code={}&state={}", enc(&code), enc(&st)),
        ),
        (CROSS_DEVICE, Some(redirect)) => Response::new(302).with_header(
            "location",
            &format!("{redirect}?code={}&state={}", enc(&code), enc(&st)),
        ),
        _ => bad("redirect_uri is required"),
    }
}

/// The cross-device confirmation page: shows the code to paste, base64 of `code=..&state=..`.
fn confirmation(req: &Request) -> Response {
    let code = req.query_param("code").unwrap_or_default();
    let st = req.query_param("state").unwrap_or_default();
    let text = STANDARD.encode(format!("code={code}&state={st}"));
    Response::text(200, &format!("Paste this code in your terminal:\n{text}\n"))
}

/// Enough STS for the credentials issued here (signatures are not checked).
fn sts(state: &Mutex<State>, req: &Request) -> Response {
    let auth = req.header("authorization").unwrap_or_default();
    let key = auth
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split('/').next())
        .unwrap_or_default()
        .to_string();
    let mut s = lock(state);
    let Some(arn) = s.keys.get(&key).cloned() else {
        return Response::xml(
            403,
            "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error></ErrorResponse>",
        );
    };
    match req.form_param("Action").as_deref() {
        Some("GetCallerIdentity") => Response::xml(
            200,
            &format!(
                "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>{arn}</Arn><UserId>AIDALOGIN</UserId><Account>{ACCOUNT}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
            ),
        ),
        Some("AssumeRole") => {
            let role = req.form_param("RoleArn").unwrap_or_default();
            let session = req.form_param("RoleSessionName").unwrap_or_default();
            let name = role.rsplit('/').next().unwrap_or_default().to_string();
            s.counter += 1;
            let akid = format!("ASIAROLE{:012}", s.counter);
            let assumed = format!("arn:aws:sts::{ACCOUNT}:assumed-role/{name}/{session}");
            s.keys.insert(akid.clone(), assumed.clone());
            let expiration = chrono_like(now_secs() + 3600);
            Response::xml(
                200,
                &format!(
                    "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult><Credentials><AccessKeyId>{akid}</AccessKeyId><SecretAccessKey>role-secret</SecretAccessKey><SessionToken>role-token</SessionToken><Expiration>{expiration}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROAFAKE:{session}</AssumedRoleId><Arn>{assumed}</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>"
                ),
            )
        }
        _ => Response::xml(
            400,
            "<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>",
        ),
    }
}

/// `%Y-%m-%dT%H:%M:%SZ` for a unix time.
pub(crate) fn chrono_like(secs: u64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(secs as i64, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}
