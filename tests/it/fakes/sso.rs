//! A loopback IAM Identity Center: the OIDC service (RegisterClient, StartDeviceAuthorization,
//! CreateToken with the device-code, authorization-code + PKCE and refresh-token grants, and
//! the `/authorize` page, which answers 302 to the loopback redirect) and the portal
//! (GetRoleCredentials, ListAccounts, ListAccountRoles, paginated). No emulator on the
//! registries covers SSO, so this follows the API models (botocore `data/sso-oidc` and
//! `data/sso`, 2019-06-10): paths, JSON member names, required members, error names with their
//! HTTP statuses in `x-amzn-ErrorType`, OIDC error bodies `{"error", "error_description"}`,
//! portal error bodies `{"message"}`, Logout (revokes the token), and the 403 ForbiddenException "No access" AWS sends for
//! a role that is not assigned.

#![allow(dead_code)] // tests/it/sso.rs and tests/it/logout.rs each use a different part

use crate::support::{FakeHttp, Request, Response, form_encode};
use base64::Engine as _;
use serde_json::{Value, json};
use sha2::Digest as _;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

pub(crate) const START_URL: &str = "https://corp.awsapps.com/start";
pub(crate) const REGISTERED_REDIRECT: &str = "http://127.0.0.1/oauth/callback";
pub(crate) const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
pub(crate) const USER_CODE: &str = "WDDD-HRQX";

#[derive(Clone)]
pub(crate) struct FakeAccount {
    pub id: &'static str,
    pub name: &'static str,
    pub email: &'static str,
    pub roles: Vec<&'static str>,
}

#[derive(Clone)]
pub(crate) struct SsoRules {
    pub token_lifetime: Duration,
    /// Answers to device-code polls before the sign-in counts as approved, e.g.
    /// `AuthorizationPendingException`, `SlowDownException`; `ExpiredTokenException` ends it.
    pub device_answers: Vec<&'static str>,
    pub device_interval: i32,
    /// Every client is refused (401 InvalidClientException).
    pub reject_clients: bool,
    /// The authorization-code grant is refused (InvalidGrantException).
    pub reject_codes: bool,
    /// The refresh-token grant is refused (InvalidGrantException).
    pub reject_refresh: bool,
    /// `/authorize` redirects with a state other than the one it was given.
    pub tamper_state: bool,
    /// StartDeviceAuthorization's `verificationUri` and `verificationUriComplete` instead of
    /// the fake's own loopback page (e.g. `file:///etc/shadow`).
    pub verification_uri: Option<&'static str>,
    pub verification_uri_complete: Option<&'static str>,
    pub accounts: Vec<FakeAccount>,
    /// Items per page of ListAccounts / ListAccountRoles (the request's max_result caps it too).
    pub page_size: usize,
    /// Every page after the first names itself as the next one (a portal answering in circles).
    pub repeat_next_token: bool,
}

impl Default for SsoRules {
    fn default() -> Self {
        SsoRules {
            token_lifetime: Duration::from_secs(8 * 3600),
            device_answers: Vec::new(),
            device_interval: 1,
            reject_clients: false,
            reject_codes: false,
            reject_refresh: false,
            tamper_state: false,
            verification_uri: None,
            verification_uri_complete: None,
            accounts: vec![
                FakeAccount {
                    id: "111111111111",
                    name: "dev",
                    email: "dev@example.com",
                    roles: vec!["PowerUserAccess", "ReadOnlyAccess"],
                },
                FakeAccount {
                    id: "222222222222",
                    name: "staging",
                    email: "staging@example.com",
                    roles: vec!["PowerUserAccess"],
                },
                FakeAccount {
                    id: "333333333333",
                    name: "prod",
                    email: "prod@example.com",
                    roles: vec!["ReadOnlyAccess", "AdministratorAccess"],
                },
            ],
            page_size: 1,
            repeat_next_token: false,
        }
    }
}

struct Client {
    secret: String,
    grant_types: Vec<String>,
    redirect_uris: Vec<String>,
    scopes: Vec<String>,
}

struct AuthCode {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    used: bool,
}

struct Device {
    client_id: String,
    answers: Vec<&'static str>,
}

#[derive(Default)]
struct State {
    seq: u64,
    clients: HashMap<String, Client>,
    codes: HashMap<String, AuthCode>,
    devices: HashMap<String, Device>,
    /// access token → (expires, revoked)
    tokens: HashMap<String, (SystemTime, bool)>,
    /// refresh token → client id
    refresh: HashMap<String, String>,
    calls: HashMap<String, usize>,
    device_polls: Vec<Instant>,
    /// Everything secret this fake handed out, for leak checks.
    secrets: Vec<String>,
    /// Role credentials handed out: access key id → (secret key, session token, ARN).
    role_sessions: HashMap<String, (String, String, String)>,
}

impl State {
    fn next(&mut self, prefix: &str) -> String {
        self.seq += 1;
        format!("{prefix}{:06}x{}", self.seq, std::process::id())
    }
    fn secret(&mut self, prefix: &str) -> String {
        let s = self.next(prefix);
        self.secrets.push(s.clone());
        s
    }
    fn count(&mut self, what: &str) {
        *self.calls.entry(what.to_string()).or_default() += 1;
    }
}

pub(crate) struct FakeSso {
    pub http: FakeHttp,
    state: Arc<Mutex<State>>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

fn oidc_error(status: u16, name: &str, error: &str, description: &str) -> Response {
    Response::json(
        status,
        &json!({"error": error, "error_description": description}).to_string(),
    )
    .with_header("x-amzn-ErrorType", name)
}

fn portal_error(status: u16, name: &str, message: &str) -> Response {
    Response::json(status, &json!({"message": message}).to_string())
        .with_header("x-amzn-ErrorType", name)
}

fn invalid_request(what: &str) -> Response {
    oidc_error(400, "InvalidRequestException", "invalid_request", what)
}

fn epoch(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs()
}

pub(crate) fn challenge_of(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

impl FakeSso {
    pub(crate) fn start(rules: SsoRules) -> FakeSso {
        let state: Arc<Mutex<State>> = Arc::default();
        let handler_state = state.clone();
        let http = FakeHttp::new(move |req| handle(&rules, &handler_state, req));
        FakeSso { http, state }
    }

    pub(crate) fn url(&self) -> String {
        self.http.url()
    }

    /// How often an operation was called: `RegisterClient`, `StartDeviceAuthorization`,
    /// `Authorize`, `CreateToken` (all grants) or `CreateToken:<grant>` (`authorization_code`,
    /// `refresh_token`, `device_code`), `GetRoleCredentials`, `ListAccounts`, `ListAccountRoles`.
    pub(crate) fn calls(&self, op: &str) -> usize {
        lock(&self.state).calls.get(op).copied().unwrap_or(0)
    }

    pub(crate) fn device_polls(&self) -> Vec<Instant> {
        lock(&self.state).device_polls.clone()
    }

    /// Every secret handed out so far (tokens, client secrets, role keys).
    /// Role credentials it handed out: (secret key, session token, ARN) of an access key id,
    /// to check a signature made with them (the EKS fake asks, as EKS asks STS).
    pub(crate) fn role_session(&self, akid: &str) -> Option<(String, String, String)> {
        lock(&self.state).role_sessions.get(akid).cloned()
    }

    pub(crate) fn secrets(&self) -> Vec<String> {
        lock(&self.state).secrets.clone()
    }

    /// Revoke every access token (the portal then answers 401 UnauthorizedException).
    pub(crate) fn revoke_tokens(&self) {
        for (_, revoked) in lock(&self.state).tokens.values_mut() {
            *revoked = true;
        }
    }

    /// Whether an access token still works (not revoked by Logout, not expired).
    pub(crate) fn token_works(&self, access: &str) -> bool {
        lock(&self.state)
            .tokens
            .get(access)
            .is_some_and(|(expires, revoked)| !revoked && *expires > SystemTime::now())
    }

    /// Forget every registered client (cached registrations become invalid).
    pub(crate) fn forget_clients(&self) {
        lock(&self.state).clients.clear();
    }

    /// Register a client and issue it a token, as a login by the AWS CLI would have: for
    /// writing cache files in the CLI's format. Returns (client id, client secret, access
    /// token, refresh token).
    pub(crate) fn issue_for_test(&self, lifetime: Duration) -> (String, String, String, String) {
        let mut st = lock(&self.state);
        let id = st.next("cli-client-");
        let secret = st.secret("cli-secret-");
        st.clients.insert(
            id.clone(),
            Client {
                secret: secret.clone(),
                grant_types: vec!["authorization_code".into(), "refresh_token".into()],
                redirect_uris: vec![REGISTERED_REDIRECT.into()],
                scopes: vec!["sso:account:access".into()],
            },
        );
        let access = st.secret("cli-access-");
        let refresh = st.secret("cli-refresh-");
        st.tokens
            .insert(access.clone(), (SystemTime::now() + lifetime, false));
        st.refresh.insert(refresh.clone(), id.clone());
        (id, secret, access, refresh)
    }
}

fn handle(rules: &SsoRules, state: &Mutex<State>, req: &Request) -> Response {
    match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/client/register") => register_client(state, req),
        ("POST", "/device_authorization") => start_device(rules, state, req),
        ("POST", "/token") => create_token(rules, state, req),
        ("GET", "/authorize") => authorize(rules, state, req),
        ("GET", "/federation/credentials") => role_credentials(rules, state, req),
        ("GET", "/assignment/accounts") => list_accounts(rules, state, req),
        ("GET", "/assignment/roles") => list_roles(rules, state, req),
        ("POST", "/logout") => logout(state, req),
        _ => Response::json(404, r#"{"message":"no such operation in the fake"}"#),
    }
}

fn body(req: &Request) -> Result<Value, Response> {
    let value: Value =
        serde_json::from_slice(&req.body).map_err(|_| invalid_request("the body is not JSON"))?;
    if !value.is_object() {
        return Err(invalid_request("the body is not a JSON object"));
    }
    Ok(value)
}

fn string<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn strings(v: &Value, key: &str) -> Option<Vec<String>> {
    v.get(key)?.as_array().map(|a| {
        a.iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    })
}

fn register_client(state: &Mutex<State>, req: &Request) -> Response {
    let mut st = lock(state);
    st.count("RegisterClient");
    let v = match body(req) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (Some(_name), Some(kind)) = (string(&v, "clientName"), string(&v, "clientType")) else {
        return invalid_request("clientName and clientType are required");
    };
    if kind != "public" {
        return oidc_error(
            400,
            "InvalidClientMetadataException",
            "invalid_client_metadata",
            "clientType must be public",
        );
    }
    let grant_types = strings(&v, "grantTypes").unwrap_or_default();
    let redirect_uris = strings(&v, "redirectUris").unwrap_or_default();
    if grant_types.iter().any(|g| g == "authorization_code") {
        if redirect_uris.is_empty() || string(&v, "issuerUrl").is_none() {
            return invalid_request("authorization_code clients need redirectUris and issuerUrl");
        }
        if redirect_uris
            .iter()
            .any(|u| !u.starts_with("http://127.0.0.1"))
        {
            return oidc_error(
                400,
                "InvalidRedirectUriException",
                "invalid_redirect_uri",
                "only loopback redirects are allowed for public clients",
            );
        }
    }
    let id = st.next("client-");
    let secret = st.secret("client-secret-");
    let now = SystemTime::now();
    st.clients.insert(
        id.clone(),
        Client {
            secret: secret.clone(),
            grant_types,
            redirect_uris,
            scopes: strings(&v, "scopes").unwrap_or_default(),
        },
    );
    Response::json(
        200,
        &json!({
            "clientId": id,
            "clientSecret": secret,
            "clientIdIssuedAt": epoch(now),
            "clientSecretExpiresAt": epoch(now + Duration::from_secs(90 * 86_400)),
        })
        .to_string(),
    )
}

/// The client named by clientId/clientSecret, or the 401 an unknown one gets.
fn check_client(rules: &SsoRules, st: &State, v: &Value) -> Result<String, Response> {
    let (Some(id), Some(secret)) = (string(v, "clientId"), string(v, "clientSecret")) else {
        return Err(invalid_request("clientId and clientSecret are required"));
    };
    match st.clients.get(id) {
        Some(client) if client.secret == secret && !rules.reject_clients => Ok(id.to_string()),
        _ => Err(oidc_error(
            401,
            "InvalidClientException",
            "invalid_client",
            "Invalid client provided",
        )),
    }
}

fn start_device(rules: &SsoRules, state: &Mutex<State>, req: &Request) -> Response {
    let mut st = lock(state);
    st.count("StartDeviceAuthorization");
    let v = match body(req) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let client_id = match check_client(rules, &st, &v) {
        Ok(id) => id,
        Err(r) => return r,
    };
    if string(&v, "startUrl").is_none() {
        return invalid_request("startUrl is required");
    }
    let device_code = st.secret("device-");
    st.devices.insert(
        device_code.clone(),
        Device {
            client_id,
            answers: rules.device_answers.clone(),
        },
    );
    let host = req.header("host").unwrap_or("127.0.0.1");
    Response::json(
        200,
        &json!({
            "deviceCode": device_code,
            "userCode": USER_CODE,
            "verificationUri": rules
                .verification_uri
                .map_or_else(|| format!("http://{host}/device"), str::to_string),
            "verificationUriComplete": rules
                .verification_uri_complete
                .map_or_else(|| format!("http://{host}/device?user_code={USER_CODE}"), str::to_string),
            "expiresIn": 600,
            "interval": rules.device_interval,
        })
        .to_string(),
    )
}

fn authorize(rules: &SsoRules, state: &Mutex<State>, req: &Request) -> Response {
    let mut st = lock(state);
    st.count("Authorize");
    let q = |k: &str| req.query_param(k).unwrap_or("");
    let page = |text: &str| {
        Response::new(400)
            .with_header("content-type", "text/html")
            .with_body(format!("<p>{text}</p>"))
    };
    if q("response_type") != "code" || q("code_challenge_method") != "S256" {
        return page("response_type=code and code_challenge_method=S256 are required");
    }
    let Some(client) = st.clients.get(q("client_id")) else {
        return page("unknown client");
    };
    if !client.grant_types.iter().any(|g| g == "authorization_code") {
        return page("this client was not registered for the authorization code grant");
    }
    // RFC 8252 7.3: a loopback redirect matches the registered one whatever its port.
    let redirect = q("redirect_uri");
    let Some(rest) = redirect.strip_prefix("http://127.0.0.1:") else {
        return page("redirect_uri must be http://127.0.0.1:PORT/oauth/callback");
    };
    let (port, path) = rest.split_once('/').unwrap_or((rest, ""));
    if port.parse::<u16>().is_err()
        || format!("/{path}") != "/oauth/callback"
        || !client
            .redirect_uris
            .iter()
            .any(|u| u == REGISTERED_REDIRECT)
    {
        return page("redirect_uri does not match the registration");
    }
    let scopes: Vec<&str> = q("scopes").split(' ').filter(|s| !s.is_empty()).collect();
    if scopes.is_empty() || scopes.iter().any(|s| !client.scopes.iter().any(|c| c == s)) {
        return page("scopes must be among the registered ones");
    }
    if q("state").is_empty() || q("code_challenge").is_empty() {
        return page("state and code_challenge are required");
    }
    let code = st.secret("code-");
    let (client_id, challenge) = (q("client_id").to_string(), q("code_challenge").to_string());
    st.codes.insert(
        code.clone(),
        AuthCode {
            client_id,
            redirect_uri: redirect.to_string(),
            challenge,
            used: false,
        },
    );
    let state_back = if rules.tamper_state {
        "00000000-0000-4000-8000-000000000000"
    } else {
        q("state")
    };
    Response::new(302).with_header(
        "location",
        &format!(
            "{redirect}?{}",
            form_encode(&[("code", &code), ("state", state_back)])
        ),
    )
}

fn issue(rules: &SsoRules, st: &mut State, client_id: &str) -> Response {
    let access = st.secret("access-");
    st.tokens.insert(
        access.clone(),
        (SystemTime::now() + rules.token_lifetime, false),
    );
    let mut out = json!({
        "accessToken": access,
        "tokenType": "Bearer",
        "expiresIn": rules.token_lifetime.as_secs(),
    });
    // Auth-code clients get refresh tokens through their grant; device clients through scopes.
    let refreshable = st.clients.get(client_id).is_some_and(|c| {
        c.grant_types.iter().any(|g| g == "refresh_token")
            || (c.grant_types.is_empty() && !c.scopes.is_empty())
    });
    if refreshable {
        let refresh = st.secret("refresh-");
        st.refresh.insert(refresh.clone(), client_id.to_string());
        out["refreshToken"] = json!(refresh);
    }
    Response::json(200, &out.to_string())
}

fn create_token(rules: &SsoRules, state: &Mutex<State>, req: &Request) -> Response {
    let mut st = lock(state);
    st.count("CreateToken");
    let v = match body(req) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(grant) = string(&v, "grantType").map(str::to_string) else {
        return invalid_request("grantType is required");
    };
    let short = if grant == DEVICE_GRANT {
        "device_code"
    } else {
        grant.as_str()
    };
    st.count(&format!("CreateToken:{short}"));
    let client_id = match check_client(rules, &st, &v) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let invalid_grant =
        |text: &str| oidc_error(400, "InvalidGrantException", "invalid_grant", text);
    match short {
        "device_code" => {
            st.device_polls.push(Instant::now());
            let Some(code) = string(&v, "deviceCode") else {
                return invalid_request("deviceCode is required");
            };
            let Some(device) = st.devices.get_mut(code) else {
                return invalid_grant("Invalid device code provided");
            };
            if device.client_id != client_id {
                return invalid_grant("the device code belongs to another client");
            }
            if !device.answers.is_empty() {
                let answer = device.answers.remove(0);
                let (error, text) = match answer {
                    "AuthorizationPendingException" => {
                        ("authorization_pending", "Authorization is still pending")
                    }
                    "SlowDownException" => ("slow_down", "Client is polling too quickly"),
                    "ExpiredTokenException" => ("expired_token", "Device code has expired"),
                    "AccessDeniedException" => ("access_denied", "The user denied the request"),
                    other => (other, other),
                };
                return oidc_error(400, answer, error, text);
            }
            st.devices.remove(code);
            issue(rules, &mut st, &client_id)
        }
        "authorization_code" => {
            let (Some(code), Some(redirect), Some(verifier)) = (
                string(&v, "code"),
                string(&v, "redirectUri"),
                string(&v, "codeVerifier"),
            ) else {
                return invalid_request("code, redirectUri and codeVerifier are required");
            };
            if rules.reject_codes {
                return invalid_grant("Invalid grant provided");
            }
            let Some(auth) = st.codes.get_mut(code) else {
                return invalid_grant("Invalid authorization code");
            };
            if auth.used || auth.client_id != client_id || auth.redirect_uri != redirect {
                return invalid_grant(
                    "the code was used, or belongs to another client or redirect",
                );
            }
            // RFC 7636 4.6: S256 of the verifier must be the challenge sent to /authorize.
            if challenge_of(verifier) != auth.challenge {
                return invalid_grant("PKCE verification failed");
            }
            auth.used = true;
            issue(rules, &mut st, &client_id)
        }
        "refresh_token" => {
            let Some(refresh) = string(&v, "refreshToken").map(str::to_string) else {
                return invalid_request("refreshToken is required");
            };
            if rules.reject_refresh || st.refresh.get(&refresh) != Some(&client_id) {
                return invalid_grant("Invalid refresh token provided");
            }
            // Refresh tokens rotate: the old one is spent.
            st.refresh.remove(&refresh);
            issue(rules, &mut st, &client_id)
        }
        _ => oidc_error(
            400,
            "UnsupportedGrantTypeException",
            "unsupported_grant_type",
            "Unsupported grant type",
        ),
    }
}

/// The bearer token's check: 401 UnauthorizedException unless known, unexpired, unrevoked.
fn check_token(st: &State, req: &Request) -> Result<(), Response> {
    let ok = req
        .header("x-amz-sso_bearer_token")
        .and_then(|t| st.tokens.get(t))
        .is_some_and(|(expires, revoked)| !revoked && *expires > SystemTime::now());
    if ok {
        Ok(())
    } else {
        Err(portal_error(
            401,
            "UnauthorizedException",
            "Session token not found or invalid",
        ))
    }
}

fn role_credentials(rules: &SsoRules, state: &Mutex<State>, req: &Request) -> Response {
    let mut st = lock(state);
    st.count("GetRoleCredentials");
    if let Err(r) = check_token(&st, req) {
        return r;
    }
    let (Some(account), Some(role)) = (req.query_param("account_id"), req.query_param("role_name"))
    else {
        return portal_error(
            400,
            "InvalidRequestException",
            "account_id and role_name are required",
        );
    };
    let assigned = rules
        .accounts
        .iter()
        .any(|a| a.id == account && a.roles.contains(&role));
    if !assigned {
        return portal_error(403, "ForbiddenException", "No access");
    }
    let key = st.next("ASIAFAKE");
    let secret = st.secret("role-secret-");
    let session = st.secret("role-session-");
    let arn = format!("arn:aws:sts::{account}:assumed-role/AWSReservedSSO_{role}_fake/fake-user");
    st.role_sessions
        .insert(key.clone(), (secret.clone(), session.clone(), arn));
    let expiration_ms = (epoch(SystemTime::now()) + 3600) * 1000;
    Response::json(
        200,
        &json!({"roleCredentials": {
            "accessKeyId": key,
            "secretAccessKey": secret,
            "sessionToken": session,
            "expiration": expiration_ms,
        }})
        .to_string(),
    )
}

/// Logout: the token stops working; an unknown or expired one is 401, as for any portal call.
fn logout(state: &Mutex<State>, req: &Request) -> Response {
    let mut st = lock(state);
    st.count("Logout");
    if let Err(r) = check_token(&st, req) {
        return r;
    }
    if let Some(entry) = req
        .header("x-amz-sso_bearer_token")
        .map(str::to_string)
        .and_then(|t| st.tokens.get_mut(&t))
    {
        entry.1 = true;
    }
    Response::new(200)
}

/// One page of `items` after `next_token` (an index), with the next token if more remain.
fn page<T: Clone>(
    rules: &SsoRules,
    req: &Request,
    items: &[T],
) -> Result<(Vec<T>, Option<String>), Response> {
    let start = match req.query_param("next_token") {
        None => 0,
        Some(t) => match t.strip_prefix("page-").and_then(|n| n.parse().ok()) {
            Some(n) => n,
            None => {
                return Err(portal_error(
                    400,
                    "InvalidRequestException",
                    "invalid next_token",
                ));
            }
        },
    };
    let max = req
        .query_param("max_result")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(100);
    if !(1..=100).contains(&max) {
        return Err(portal_error(
            400,
            "InvalidRequestException",
            "max_result must be 1-100",
        ));
    }
    let size = max.min(rules.page_size);
    let end = (start + size).min(items.len());
    let next = (end < items.len()).then(|| format!("page-{end}"));
    if rules.repeat_next_token && start > 0 {
        return Ok((
            items.get(start..end).unwrap_or_default().to_vec(),
            Some(format!("page-{start}")),
        ));
    }
    Ok((items.get(start..end).unwrap_or_default().to_vec(), next))
}

fn list_accounts(rules: &SsoRules, state: &Mutex<State>, req: &Request) -> Response {
    let mut st = lock(state);
    st.count("ListAccounts");
    if let Err(r) = check_token(&st, req) {
        return r;
    }
    let accounts: Vec<Value> = rules
        .accounts
        .iter()
        .map(|a| json!({"accountId": a.id, "accountName": a.name, "emailAddress": a.email}))
        .collect();
    match page(rules, req, &accounts) {
        Ok((items, next)) => {
            let mut out = json!({"accountList": items});
            if let Some(next) = next {
                out["nextToken"] = json!(next);
            }
            Response::json(200, &out.to_string())
        }
        Err(r) => r,
    }
}

fn list_roles(rules: &SsoRules, state: &Mutex<State>, req: &Request) -> Response {
    let mut st = lock(state);
    st.count("ListAccountRoles");
    if let Err(r) = check_token(&st, req) {
        return r;
    }
    let Some(account) = req.query_param("account_id") else {
        return portal_error(400, "InvalidRequestException", "account_id is required");
    };
    let Some(found) = rules.accounts.iter().find(|a| a.id == account) else {
        return portal_error(403, "ForbiddenException", "No access");
    };
    let roles: Vec<Value> = found
        .roles
        .iter()
        .map(|r| json!({"roleName": r, "accountId": account}))
        .collect();
    match page(rules, req, &roles) {
        Ok((items, next)) => {
            let mut out = json!({"roleList": items});
            if let Some(next) = next {
                out["nextToken"] = json!(next);
            }
            Response::json(200, &out.to_string())
        }
        Err(r) => r,
    }
}
