//! A faithful loopback Cognito (user pools and identity pools, JSON 1.1 protocol) for what moto
//! does not check: it stores a real SRP verifier per user, computes B, and checks
//! PASSWORD_CLAIM_SIGNATURE (so a wrong password fails); it checks SECRET_HASH on every call
//! (challenge answers and refreshes against the *internal* user name); it asks
//! NEW_PASSWORD_REQUIRED, SOFTWARE_TOKEN_MFA and SMS_MFA; and its identity pool checks that
//! `Logins` names the trusted user pool with a token that pool issued, that identities are used
//! by their owners, and which role was asked for.
//!
//! The SRP server side here is written from the SRP-6a definition (B = k·v + g^b,
//! S = (A·v^u)^b), independently of src/cognito/srp.rs.

use crate::support::{FakeHttp, Request, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use num_bigint::BigUint;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub(crate) const REGION: &str = "us-east-1";
pub(crate) const POOL_ID: &str = "us-east-1_FakePool7";
pub(crate) const POOL_NAME: &str = "FakePool7";
pub(crate) const CLIENT_ID: &str = "fakeclient1234567890abcdef";
pub(crate) const IDENTITY_POOL_ID: &str = "us-east-1:00000000-1111-2222-3333-444444444444";
/// The code the fake accepts for both SOFTWARE_TOKEN_MFA and SMS_MFA.
pub(crate) const MFA_CODE: &str = "123456";

pub(crate) fn provider_name() -> String {
    format!("cognito-idp.{REGION}.amazonaws.com/{POOL_ID}")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Confirmed,
    ForceChangePassword,
    ResetRequired,
    Unconfirmed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mfa {
    Totp,
    Sms,
}

#[derive(Clone, Debug)]
pub(crate) struct User {
    /// The internal user name (for alias sign-in pools, a UUID).
    pub username: String,
    /// Other names the user signs in with (an email address).
    pub aliases: Vec<String>,
    pub password: String,
    pub status: Status,
    pub mfa: Option<Mfa>,
    pub enabled: bool,
}

impl User {
    pub(crate) fn new(username: &str, password: &str) -> User {
        User {
            username: username.to_string(),
            aliases: Vec::new(),
            password: password.to_string(),
            status: Status::Confirmed,
            mfa: None,
            enabled: true,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub client_secret: Option<String>,
    /// The app client's explicit auth flows.
    pub flows: Vec<&'static str>,
    /// ID and access token lifetime.
    pub token_seconds: u64,
    pub users: Vec<User>,
    /// Answer every call with TooManyRequestsException.
    pub throttle: bool,
    // Identity pool
    pub allow_unauthenticated: bool,
    /// The provider names the identity pool trusts.
    pub trusted_providers: Vec<String>,
    /// The roles' trust policies allow Cognito (else InvalidIdentityPoolConfigurationException).
    pub role_trust_ok: bool,
    /// Roles a caller may ask for with CustomRoleArn.
    pub custom_roles: Vec<String>,
    pub credentials_seconds: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            client_secret: None,
            flows: vec![
                "ALLOW_USER_SRP_AUTH",
                "ALLOW_USER_PASSWORD_AUTH",
                "ALLOW_ADMIN_USER_PASSWORD_AUTH",
                "ALLOW_REFRESH_TOKEN_AUTH",
            ],
            token_seconds: 3600,
            users: Vec::new(),
            throttle: false,
            allow_unauthenticated: true,
            trusted_providers: vec![provider_name()],
            role_trust_ok: true,
            custom_roles: Vec::new(),
            credentials_seconds: 3600,
        }
    }
}

// --- SRP, server side --------------------------------------------------------------------------

const N_HEX: &str = concat!(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74",
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437",
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05",
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB",
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718",
    "3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33",
    "A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7",
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864",
    "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2",
    "08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
);

fn big_n() -> BigUint {
    BigUint::parse_bytes(N_HEX.as_bytes(), 16).unwrap()
}

/// Big-endian bytes with a leading zero byte when the high bit is set.
fn padded(n: &BigUint) -> Vec<u8> {
    let mut b = n.to_bytes_be();
    if b[0] >= 0x80 {
        b.insert(0, 0);
    }
    b
}

fn h(parts: &[&[u8]]) -> Vec<u8> {
    let mut d = Sha256::new();
    for p in parts {
        d.update(p);
    }
    d.finalize().to_vec()
}

fn mac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut m = <Hmac<Sha256>>::new_from_slice(key).unwrap();
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

fn k_value() -> BigUint {
    BigUint::from_bytes_be(&h(&[&padded(&big_n()), &padded(&BigUint::from(2u8))]))
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).unwrap();
    b
}

struct Verifier {
    salt: BigUint,
    v: BigUint,
}

fn verifier(internal: &str, password: &str) -> Verifier {
    let salt = BigUint::from_bytes_be(&random_bytes(16));
    let inner = h(&[format!("{POOL_NAME}{internal}:{password}").as_bytes()]);
    let x = BigUint::from_bytes_be(&h(&[&padded(&salt), &inner]));
    let v = BigUint::from(2u8).modpow(&x, &big_n());
    Verifier { salt, v }
}

pub(crate) fn secret_hash(secret: &str, username: &str) -> String {
    STANDARD.encode(mac(
        secret.as_bytes(),
        &[username.as_bytes(), CLIENT_ID.as_bytes()],
    ))
}

/// `EEE MMM d HH:mm:ss UTC yyyy`, day without a leading zero, within 5 minutes of now.
fn timestamp_ok(ts: &str) -> bool {
    let fields: Vec<&str> = ts.split(' ').collect();
    if fields.len() != 6 || fields[4] != "UTC" || fields[2].starts_with('0') {
        return false;
    }
    let Ok(parsed) = chrono::NaiveDateTime::parse_from_str(ts, "%a %b %e %H:%M:%S UTC %Y") else {
        return false;
    };
    let now = chrono::Utc::now().naive_utc();
    (now - parsed).num_seconds().abs() < 300
}

// --- State ------------------------------------------------------------------------------------

struct SrpSession {
    internal: String,
    big_a: BigUint,
    b: BigUint,
    big_b: BigUint,
}

struct Identity {
    /// `None` for guests.
    owner: Option<String>,
}

struct State {
    config: Config,
    verifiers: HashMap<String, Verifier>,
    srp: HashMap<String, SrpSession>,
    /// Session → (internal user, the challenge it answers).
    sessions: HashMap<String, (String, &'static str)>,
    refresh_tokens: HashMap<String, String>,
    /// ID token → (internal user, expiry).
    id_tokens: HashMap<String, (String, SystemTime)>,
    identities: HashMap<String, Identity>,
    counter: u64,
}

pub(crate) struct FakeCognito {
    pub http: FakeHttp,
    state: Arc<Mutex<State>>,
}

fn error(code: &str, message: &str) -> Response {
    Response::new(400)
        .with_header("content-type", "application/x-amz-json-1.1")
        .with_header("x-amzn-requestid", "fake-request")
        .with_body(json!({"__type": code, "message": message}).to_string())
}

fn ok(body: Value) -> Response {
    Response::new(200)
        .with_header("content-type", "application/x-amz-json-1.1")
        .with_header("x-amzn-requestid", "fake-request")
        .with_body(body.to_string())
}

fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

impl FakeCognito {
    pub(crate) fn start(config: Config) -> FakeCognito {
        let verifiers = config
            .users
            .iter()
            .map(|u| (u.username.clone(), verifier(&u.username, &u.password)))
            .collect();
        let state = Arc::new(Mutex::new(State {
            config,
            verifiers,
            srp: HashMap::new(),
            sessions: HashMap::new(),
            refresh_tokens: HashMap::new(),
            id_tokens: HashMap::new(),
            identities: HashMap::new(),
            counter: 0,
        }));
        let shared = state.clone();
        let http = FakeHttp::new(move |req| {
            let mut st = shared.lock().unwrap_or_else(|p| p.into_inner());
            st.handle(req)
        });
        FakeCognito { http, state }
    }

    pub(crate) fn url(&self) -> String {
        self.http.url()
    }

    /// The operations received (`InitiateAuth`, `GetId`, ...), in order.
    pub(crate) fn operations(&self) -> Vec<String> {
        self.http.requests().iter().map(operation).collect()
    }

    pub(crate) fn count(&self, op: &str) -> usize {
        self.operations().iter().filter(|o| *o == op).count()
    }

    /// The JSON bodies of the requests for `op`.
    pub(crate) fn bodies(&self, op: &str) -> Vec<Value> {
        self.http
            .requests()
            .iter()
            .filter(|r| operation(r) == op)
            .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
            .collect()
    }

    pub(crate) fn requests_for(&self, op: &str) -> Vec<Request> {
        self.http
            .requests()
            .into_iter()
            .filter(|r| operation(r) == op)
            .collect()
    }

    /// The user's current password (after NEW_PASSWORD_REQUIRED).
    pub(crate) fn password_of(&self, internal: &str) -> String {
        let st = self.state.lock().unwrap();
        st.config
            .users
            .iter()
            .find(|u| u.username == internal)
            .map(|u| u.password.clone())
            .unwrap_or_default()
    }

    /// Forget every refresh token (a global sign-out).
    pub(crate) fn revoke_refresh_tokens(&self) {
        self.state.lock().unwrap().refresh_tokens.clear();
    }

    /// Forget every identity (the pool was recreated, or identities deleted).
    pub(crate) fn delete_identities(&self) {
        self.state.lock().unwrap().identities.clear();
    }
}

fn operation(req: &Request) -> String {
    req.header("x-amz-target")
        .and_then(|t| t.split('.').nth(1))
        .unwrap_or("")
        .to_string()
}

impl State {
    fn handle(&mut self, req: &Request) -> Response {
        if self.config.throttle {
            return error("TooManyRequestsException", "Too many requests");
        }
        let target = req.header("x-amz-target").unwrap_or("");
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let signed = req
            .header("authorization")
            .is_some_and(|a| a.contains("Credential="));
        match target {
            "AWSCognitoIdentityProviderService.InitiateAuth" => self.initiate(&body, false),
            "AWSCognitoIdentityProviderService.AdminInitiateAuth" => {
                if !signed {
                    return error(
                        "MissingAuthenticationTokenException",
                        "Missing Authentication Token",
                    );
                }
                self.initiate(&body, true)
            }
            "AWSCognitoIdentityProviderService.RespondToAuthChallenge" => {
                self.respond(&body, false)
            }
            "AWSCognitoIdentityProviderService.AdminRespondToAuthChallenge" => {
                if !signed {
                    return error(
                        "MissingAuthenticationTokenException",
                        "Missing Authentication Token",
                    );
                }
                self.respond(&body, true)
            }
            "AWSCognitoIdentityService.GetId" => self.get_id(&body),
            "AWSCognitoIdentityService.GetCredentialsForIdentity" => self.credentials(&body),
            other => error(
                "UnknownOperationException",
                &format!("unknown operation {other}"),
            ),
        }
    }

    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn user(&self, name: &str) -> Option<User> {
        self.config
            .users
            .iter()
            .find(|u| u.username == name || u.aliases.iter().any(|a| a == name))
            .cloned()
    }

    fn allows(&self, flow: &str) -> bool {
        self.config.flows.contains(&flow)
    }

    /// SECRET_HASH over `username`, if the client has a secret.
    fn check_secret(&self, params: &Value, username: &str) -> Option<Response> {
        let secret = self.config.client_secret.as_ref()?;
        match s(params, "SECRET_HASH") {
            None => Some(error(
                "NotAuthorizedException",
                &format!(
                    "Client {CLIENT_ID} is configured with secret but SECRET_HASH was not received"
                ),
            )),
            Some(hash) if hash != secret_hash(secret, username) => Some(error(
                "NotAuthorizedException",
                &format!("Unable to verify secret hash for client {CLIENT_ID}"),
            )),
            Some(_) => None,
        }
    }

    fn initiate(&mut self, body: &Value, admin: bool) -> Response {
        if s(body, "ClientId") != Some(CLIENT_ID) {
            return error(
                "ResourceNotFoundException",
                &format!(
                    "User pool client {} does not exist.",
                    s(body, "ClientId").unwrap_or("")
                ),
            );
        }
        if admin && s(body, "UserPoolId") != Some(POOL_ID) {
            return error(
                "ResourceNotFoundException",
                &format!(
                    "User pool {} does not exist.",
                    s(body, "UserPoolId").unwrap_or("")
                ),
            );
        }
        let params = body.get("AuthParameters").cloned().unwrap_or(Value::Null);
        let flow = s(body, "AuthFlow").unwrap_or("");
        match (flow, admin) {
            ("USER_SRP_AUTH", false) if !self.allows("ALLOW_USER_SRP_AUTH") => error(
                "InvalidParameterException",
                "USER_SRP_AUTH is not enabled for the client.",
            ),
            ("USER_PASSWORD_AUTH", false) if !self.allows("ALLOW_USER_PASSWORD_AUTH") => error(
                "InvalidParameterException",
                "USER_PASSWORD_AUTH flow not enabled for this client",
            ),
            ("ADMIN_USER_PASSWORD_AUTH", true)
                if !self.allows("ALLOW_ADMIN_USER_PASSWORD_AUTH") =>
            {
                error(
                    "InvalidParameterException",
                    "Auth flow not enabled for this client",
                )
            }
            ("REFRESH_TOKEN_AUTH", _) if !self.allows("ALLOW_REFRESH_TOKEN_AUTH") => error(
                "InvalidParameterException",
                "Refresh Token flow not enabled for this client",
            ),
            ("USER_SRP_AUTH", false) => self.srp_start(&params),
            ("USER_PASSWORD_AUTH", false) | ("ADMIN_USER_PASSWORD_AUTH", true) => {
                self.password_auth(&params)
            }
            ("REFRESH_TOKEN_AUTH", _) => self.refresh(&params),
            _ => error(
                "InvalidParameterException",
                &format!("Initiate Auth method not supported: {flow}"),
            ),
        }
    }

    /// A user who may sign in, or the error Cognito gives.
    fn signable(&self, username: &str) -> Result<User, Response> {
        let Some(user) = self.user(username) else {
            return Err(error("UserNotFoundException", "User does not exist."));
        };
        if !user.enabled {
            return Err(error("NotAuthorizedException", "User is disabled."));
        }
        match user.status {
            Status::Unconfirmed => {
                Err(error("UserNotConfirmedException", "User is not confirmed."))
            }
            Status::ResetRequired => Err(error(
                "PasswordResetRequiredException",
                "Password reset required for the user",
            )),
            _ => Ok(user),
        }
    }

    fn srp_start(&mut self, params: &Value) -> Response {
        let username = s(params, "USERNAME").unwrap_or("");
        if let Some(resp) = self.check_secret(params, username) {
            return resp;
        }
        let user = match self.signable(username) {
            Ok(u) => u,
            Err(resp) => return resp,
        };
        let Some(big_a) = s(params, "SRP_A").and_then(|a| BigUint::parse_bytes(a.as_bytes(), 16))
        else {
            return error(
                "InvalidParameterException",
                "Missing required parameter SRP_A",
            );
        };
        let n = big_n();
        if &big_a % &n == BigUint::ZERO {
            return error("NotAuthorizedException", "Incorrect username or password.");
        }
        let verifier = &self.verifiers[&user.username];
        let b = BigUint::from_bytes_be(&random_bytes(64));
        let big_b = (k_value() * &verifier.v + BigUint::from(2u8).modpow(&b, &n)) % &n;
        let block = STANDARD.encode(random_bytes(96));
        let salt = verifier.salt.to_str_radix(16);
        self.srp.insert(
            block.clone(),
            SrpSession {
                internal: user.username.clone(),
                big_a,
                b,
                big_b: big_b.clone(),
            },
        );
        // Like Cognito: no Session for PASSWORD_VERIFIER; the secret block carries it.
        ok(json!({
            "ChallengeName": "PASSWORD_VERIFIER",
            "ChallengeParameters": {
                "SALT": salt,
                "SRP_B": big_b.to_str_radix(16),
                "SECRET_BLOCK": block,
                "USER_ID_FOR_SRP": user.username,
                "USERNAME": user.username,
            }
        }))
    }

    fn password_auth(&mut self, params: &Value) -> Response {
        let username = s(params, "USERNAME").unwrap_or("");
        if let Some(resp) = self.check_secret(params, username) {
            return resp;
        }
        let user = match self.signable(username) {
            Ok(u) => u,
            Err(resp) => return resp,
        };
        if s(params, "PASSWORD") != Some(user.password.as_str()) {
            return error("NotAuthorizedException", "Incorrect username or password.");
        }
        self.after_password(&user)
    }

    /// What follows a correct password: a new password, MFA, or tokens.
    fn after_password(&mut self, user: &User) -> Response {
        if user.status == Status::ForceChangePassword {
            return self.challenge(
                user,
                "NEW_PASSWORD_REQUIRED",
                json!({"USER_ID_FOR_SRP": user.username, "requiredAttributes": "[]", "userAttributes": "{}"}),
            );
        }
        match user.mfa {
            Some(Mfa::Totp) => self.challenge(
                user,
                "SOFTWARE_TOKEN_MFA",
                json!({"USER_ID_FOR_SRP": user.username}),
            ),
            Some(Mfa::Sms) => self.challenge(
                user,
                "SMS_MFA",
                json!({
                    "USER_ID_FOR_SRP": user.username,
                    "CODE_DELIVERY_DELIVERY_MEDIUM": "SMS",
                    "CODE_DELIVERY_DESTINATION": "+*******1234",
                }),
            ),
            None => self.tokens(&user.username, true),
        }
    }

    fn challenge(&mut self, user: &User, name: &'static str, params: Value) -> Response {
        let session = format!("session-{}-{}", self.next(), hex::encode(random_bytes(8)));
        self.sessions
            .insert(session.clone(), (user.username.clone(), name));
        ok(json!({"ChallengeName": name, "Session": session, "ChallengeParameters": params}))
    }

    fn tokens(&mut self, internal: &str, with_refresh: bool) -> Response {
        let n = self.next();
        let now = SystemTime::now();
        let expiry = now + Duration::from_secs(self.config.token_seconds);
        let exp = expiry.duration_since(UNIX_EPOCH).unwrap().as_secs();
        let jwt = |use_: &str| {
            let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"fake"}"#);
            let payload = URL_SAFE_NO_PAD.encode(
                json!({
                    "sub": format!("sub-{internal}"),
                    "cognito:username": internal,
                    "username": internal,
                    "iss": format!("https://cognito-idp.{REGION}.amazonaws.com/{POOL_ID}"),
                    "aud": CLIENT_ID,
                    "token_use": use_,
                    "exp": exp,
                    "n": n,
                })
                .to_string(),
            );
            format!("{header}.{payload}.c2lnbmF0dXJl{n}")
        };
        let id = jwt("id");
        let access = jwt("access");
        self.id_tokens
            .insert(id.clone(), (internal.to_string(), expiry));
        let mut result = json!({
            "IdToken": id,
            "AccessToken": access,
            "ExpiresIn": self.config.token_seconds,
            "TokenType": "Bearer",
        });
        if with_refresh {
            let refresh = format!("refresh-{n}-{}", hex::encode(random_bytes(8)));
            self.refresh_tokens
                .insert(refresh.clone(), internal.to_string());
            result["RefreshToken"] = json!(refresh);
        }
        ok(json!({"AuthenticationResult": result, "ChallengeParameters": {}}))
    }

    fn refresh(&mut self, params: &Value) -> Response {
        let token = s(params, "REFRESH_TOKEN").unwrap_or("");
        let Some(internal) = self.refresh_tokens.get(token).cloned() else {
            return error("NotAuthorizedException", "Invalid Refresh Token");
        };
        // Cognito hashes refreshes with the internal user name, whatever the person typed.
        if let Some(resp) = self.check_secret(params, &internal) {
            return resp;
        }
        self.tokens(&internal, false)
    }

    fn respond(&mut self, body: &Value, _admin: bool) -> Response {
        if s(body, "ClientId") != Some(CLIENT_ID) {
            return error(
                "ResourceNotFoundException",
                "User pool client does not exist.",
            );
        }
        let name = s(body, "ChallengeName").unwrap_or("");
        let answers = body
            .get("ChallengeResponses")
            .cloned()
            .unwrap_or(Value::Null);
        let username = s(&answers, "USERNAME").unwrap_or("").to_string();
        if name == "PASSWORD_VERIFIER" {
            let block = s(&answers, "PASSWORD_CLAIM_SECRET_BLOCK").unwrap_or("");
            let Some(session) = self.srp.remove(block) else {
                return error("NotAuthorizedException", "Invalid session for the user.");
            };
            // Answers name the user by the internal name, and hash the secret with it.
            if username != session.internal {
                return error("NotAuthorizedException", "Incorrect username or password.");
            }
            if let Some(resp) = self.check_secret(&answers, &session.internal) {
                return resp;
            }
            let ts = s(&answers, "TIMESTAMP").unwrap_or("");
            if !timestamp_ok(ts) {
                return error(
                    "InvalidParameterException",
                    &format!("TIMESTAMP {ts:?} is not in the expected format"),
                );
            }
            let n = big_n();
            let verifier = &self.verifiers[&session.internal];
            let u = BigUint::from_bytes_be(&h(&[&padded(&session.big_a), &padded(&session.big_b)]));
            let server_s = (&session.big_a * verifier.v.modpow(&u, &n) % &n).modpow(&session.b, &n);
            let prk = mac(&padded(&u), &[&padded(&server_s)]);
            let key = &mac(&prk, &[b"Caldera Derived Key", &[1]])[..16];
            let block_bytes = STANDARD.decode(block).unwrap();
            let expected = STANDARD.encode(mac(
                key,
                &[
                    POOL_NAME.as_bytes(),
                    session.internal.as_bytes(),
                    &block_bytes,
                    ts.as_bytes(),
                ],
            ));
            if s(&answers, "PASSWORD_CLAIM_SIGNATURE") != Some(expected.as_str()) {
                return error("NotAuthorizedException", "Incorrect username or password.");
            }
            let user = self.user(&session.internal).unwrap();
            return self.after_password(&user);
        }
        let Some((internal, expected)) = s(body, "Session").and_then(|s| self.sessions.remove(s))
        else {
            return error("NotAuthorizedException", "Invalid session for the user.");
        };
        if name != expected || username != internal {
            return error(
                "InvalidParameterException",
                &format!("expected {expected} for {internal}, got {name} for {username}"),
            );
        }
        if let Some(resp) = self.check_secret(&answers, &internal) {
            return resp;
        }
        let user = self.user(&internal).unwrap();
        match name {
            "NEW_PASSWORD_REQUIRED" => {
                let new = s(&answers, "NEW_PASSWORD").unwrap_or("");
                if new.len() < 8 || !new.chars().any(|c| c.is_ascii_digit()) {
                    // Keep the session usable, as Cognito does, for a second try.
                    return error(
                        "InvalidPasswordException",
                        "Password does not conform to policy: Password not long enough",
                    );
                }
                let new = new.to_string();
                let updated = {
                    let u = self
                        .config
                        .users
                        .iter_mut()
                        .find(|u| u.username == internal)
                        .unwrap();
                    u.password = new.clone();
                    u.status = Status::Confirmed;
                    u.clone()
                };
                self.verifiers
                    .insert(internal.clone(), verifier(&internal, &new));
                self.after_password(&updated)
            }
            "SOFTWARE_TOKEN_MFA" | "SMS_MFA" => {
                let code = s(&answers, &format!("{name}_CODE")).unwrap_or("");
                if code != MFA_CODE {
                    return error("CodeMismatchException", "Invalid code received for user");
                }
                self.tokens(&user.username, true)
            }
            _ => error("InvalidParameterException", "unexpected challenge"),
        }
    }

    // --- Identity pool ----------------------------------------------------------------------

    /// The user a `Logins` map proves, `Ok(None)` for none, or the error.
    fn login(&self, body: &Value) -> Result<Option<String>, Response> {
        let Some(logins) = body.get("Logins").and_then(Value::as_object) else {
            return Ok(None);
        };
        if logins.is_empty() {
            return Ok(None);
        }
        let mut user = None;
        for (provider, token) in logins {
            if !self.config.trusted_providers.contains(provider) {
                return Err(error(
                    "NotAuthorizedException",
                    "Token is not from a supported provider of this identity pool.",
                ));
            }
            let token = token.as_str().unwrap_or("");
            match self.id_tokens.get(token) {
                None => {
                    return Err(error(
                        "NotAuthorizedException",
                        "Invalid login token. Not a valid OpenId Connect identity token.",
                    ));
                }
                Some((_, expiry)) if *expiry <= SystemTime::now() => {
                    return Err(error(
                        "NotAuthorizedException",
                        "Invalid login token. Token expired.",
                    ));
                }
                Some((internal, _)) => user = Some(internal.clone()),
            }
        }
        Ok(user)
    }

    fn get_id(&mut self, body: &Value) -> Response {
        if s(body, "IdentityPoolId") != Some(IDENTITY_POOL_ID) {
            return error(
                "ResourceNotFoundException",
                &format!(
                    "IdentityPool '{}' not found.",
                    s(body, "IdentityPoolId").unwrap_or("")
                ),
            );
        }
        let owner = match self.login(body) {
            Ok(owner) => owner,
            Err(resp) => return resp,
        };
        if owner.is_none() && !self.config.allow_unauthenticated {
            return error(
                "NotAuthorizedException",
                "Unauthenticated access is not supported for this identity pool.",
            );
        }
        // Signed-in users keep their identity; every guest GetId makes a new one.
        if let Some(owner) = &owner
            && let Some((id, _)) = self
                .identities
                .iter()
                .find(|(_, i)| i.owner.as_deref() == Some(owner))
        {
            return ok(json!({"IdentityId": id}));
        }
        let n = self.next();
        let id = format!("{REGION}:{n:08x}-0000-4000-8000-{n:012x}");
        self.identities.insert(id.clone(), Identity { owner });
        ok(json!({"IdentityId": id}))
    }

    fn credentials(&mut self, body: &Value) -> Response {
        let id = s(body, "IdentityId").unwrap_or("").to_string();
        let Some(identity) = self.identities.get(&id) else {
            return error(
                "ResourceNotFoundException",
                &format!("Identity '{id}' not found."),
            );
        };
        let owner = identity.owner.clone();
        let caller = match self.login(body) {
            Ok(caller) => caller,
            Err(resp) => return resp,
        };
        if caller != owner {
            return error(
                "NotAuthorizedException",
                "Logins don't match. Please include at least one valid login for this identity or identity pool.",
            );
        }
        if !self.config.role_trust_ok {
            return error(
                "InvalidIdentityPoolConfigurationException",
                "Invalid identity pool configuration. Check assigned IAM roles for this pool.",
            );
        }
        let role = match s(body, "CustomRoleArn") {
            Some(role) if !self.config.custom_roles.iter().any(|r| r == role) => {
                return error(
                    "NotAuthorizedException",
                    "The role you are trying to assume is not valid for this identity.",
                );
            }
            Some(role) => role.rsplit('/').next().unwrap_or("role").to_string(),
            None if owner.is_some() => "Authenticated".to_string(),
            None => "Unauthenticated".to_string(),
        };
        let n = self.next();
        let who = owner.as_deref().unwrap_or("guest");
        let expiration = SystemTime::now() + Duration::from_secs(self.config.credentials_seconds);
        ok(json!({
            "IdentityId": id,
            "Credentials": {
                "AccessKeyId": format!("ASIA{}{}{n:04}", who.to_ascii_uppercase(), role.to_ascii_uppercase()),
                "SecretKey": format!("secret-{who}-{role}-{n}"),
                "SessionToken": format!("token-{who}-{role}-{n}"),
                "Expiration": expiration.duration_since(UNIX_EPOCH).unwrap().as_secs_f64(),
            }
        }))
    }
}
