//! A faithful loopback STS for what moto does not check: MFA codes and serials, session
//! credentials as a GetSessionToken source, duration bounds, role-chaining caps, clock skew.
//! Error codes and messages are the ones AWS sends (STS API reference, real answers).
//! Also the IAM access-key calls (ListAccessKeys, CreateAccessKey, DeleteAccessKey) for
//! `keys rotate`, with switches to refuse them as AWS does; keys it creates or deletes are
//! accepted or refused by its STS from then on.
#![allow(dead_code)] // each test file uses a different part

use crate::support::{FakeHttp, Request, Response};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

pub(crate) const ACCOUNT: &str = "123456789012";

/// A botocore client of STS for `python SCRIPT SECONDS`: GetCallerIdentity every 250 ms with the
/// credentials its environment gives (an `exec --server` endpoint), then one JSON line
/// `{"calls": N, "errors": [..]}` on stdout.
pub(crate) const BOTOCORE_STS_CLIENT: &str = r#"
import json, sys, time
import botocore.session
deadline = time.monotonic() + float(sys.argv[1])
session = botocore.session.get_session()
client = session.create_client("sts")
calls, errors = 0, []
while time.monotonic() < deadline:
    try:
        client.get_caller_identity()
        calls += 1
    except Exception as e:
        errors.append(repr(e)[:300])
    time.sleep(0.25)
print(json.dumps({"calls": calls, "errors": errors}))
"#;
pub(crate) const CODE: &str = "123456";

#[derive(Clone, Default)]
pub(crate) struct StsRules {
    /// Long-term access key id → (user name, its MFA serial).
    pub users: HashMap<String, (String, String)>,
    /// Answer every call with "Signature expired" (clock skew).
    pub clock_skew: bool,
    /// IAM ListMFADevices answers: user name → device serials (default: the user's serial).
    pub devices: HashMap<String, Vec<String>>,
    /// Role sessions last this long whatever DurationSeconds asked (short-lived credentials for
    /// refresh tests; AWS's minimum is 900 s).
    pub role_lifetime: Option<Duration>,
    /// While true, AssumeRole answers AccessDenied (a source that fails for a while).
    pub deny_assume_role: Arc<std::sync::atomic::AtomicBool>,
    /// AssumeRole answers after this many milliseconds (a slow STS), whatever it answers.
    pub assume_role_delay_ms: Arc<std::sync::atomic::AtomicU64>,
    /// IAM CreateAccessKey answers AccessDenied.
    pub refuse_create_key: bool,
    /// IAM CreateAccessKey answers LimitExceeded (as when a key was made meanwhile).
    pub limit_on_create_key: bool,
    /// IAM DeleteAccessKey answers AccessDenied.
    pub refuse_delete_key: bool,
    /// STS never accepts the keys CreateAccessKey made (they never propagate).
    pub created_keys_never_work: bool,
}

struct Issued {
    arn: String,
    is_role: bool,
    expires: SystemTime,
    secret: String,
    token: String,
}

pub(crate) struct FakeSts {
    pub http: FakeHttp,
    /// Access key ids of role sessions assumed with another role's session (role chaining).
    pub chained_roles: Arc<Mutex<Vec<String>>>,
    users: Arc<Mutex<HashMap<String, (String, String)>>>,
    issued: Arc<Mutex<HashMap<String, Issued>>>,
}

fn error(status: u16, code: &str, message: &str) -> Response {
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    Response::xml(
        status,
        &format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fake-req</RequestId></ErrorResponse>"
        ),
    )
}

fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // civil-from-days (Howard Hinnant's algorithm)
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

fn signer(req: &Request) -> Option<String> {
    let auth = req.header("authorization")?;
    let start = auth.find("Credential=")? + "Credential=".len();
    let rest = &auth[start..];
    Some(rest.split('/').next()?.to_string())
}

fn credentials_xml(akid: &str, secret: &str, token: &str, expiration: SystemTime) -> String {
    format!(
        "<Credentials><AccessKeyId>{akid}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey><SessionToken>{token}</SessionToken><Expiration>{}</Expiration></Credentials>",
        rfc3339(expiration)
    )
}

impl FakeSts {
    pub(crate) fn start(rules: StsRules) -> FakeSts {
        let issued: Arc<Mutex<HashMap<String, Issued>>> = Arc::default();
        let issued_view = issued.clone();
        let counter = Arc::new(AtomicUsize::new(0));
        let chained_roles: Arc<Mutex<Vec<String>>> = Arc::default();
        let chained = chained_roles.clone();
        let users = Arc::new(Mutex::new(rules.users.clone()));
        let shared_users = users.clone();
        let http = FakeHttp::new(move |req| {
            let users = &shared_users;
            if rules.clock_skew {
                return error(
                    403,
                    "SignatureDoesNotMatch",
                    "Signature expired: 20261122T000000Z is now earlier than 20261122T001500Z (20261122T003000Z - 15 min.)",
                );
            }
            let action = req.form_param("Action").unwrap_or_default();
            if action == "AssumeRole" {
                let delay = rules.assume_role_delay_ms.load(Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(delay));
            }
            if action == "AssumeRoleWithWebIdentity" {
                // Unsigned: the token is the proof.
                if req
                    .form_param("WebIdentityToken")
                    .unwrap_or_default()
                    .is_empty()
                {
                    return error(
                        400,
                        "ValidationError",
                        "1 validation error detected: Value null at 'webIdentityToken' failed to satisfy constraint: Member must not be null",
                    );
                }
                let role_arn = req.form_param("RoleArn").unwrap_or_default();
                let session = req.form_param("RoleSessionName").unwrap_or_default();
                let role_name = role_arn.rsplit('/').next().unwrap_or("role").to_string();
                let arn = format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/{session}");
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let akid = format!("ASIAROLE{n:012}");
                let expires = SystemTime::now() + Duration::from_secs(3600);
                issued.lock().unwrap().insert(
                    akid.clone(),
                    Issued {
                        arn: arn.clone(),
                        is_role: true,
                        expires,
                        secret: format!("rolesecret{n}"),
                        token: format!("roletoken{n}"),
                    },
                );
                return Response::xml(
                    200,
                    &format!(
                        "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleWithWebIdentityResult>{}<SubjectFromWebIdentityToken>test</SubjectFromWebIdentityToken><AssumedRoleUser><AssumedRoleId>AROAFAKE:{session}</AssumedRoleId><Arn>{arn}</Arn></AssumedRoleUser></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>",
                        credentials_xml(
                            &akid,
                            &format!("rolesecret{n}"),
                            &format!("roletoken{n}"),
                            expires
                        )
                    ),
                );
            }
            let Some(key) = signer(req) else {
                return error(
                    403,
                    "MissingAuthenticationToken",
                    "Request is missing Authentication Token",
                );
            };
            let with_token = req.header("x-amz-security-token").is_some();
            if rules.created_keys_never_work
                && key.starts_with("AKIAROTATED")
                && action == "GetCallerIdentity"
            {
                return error(
                    403,
                    "InvalidClientTokenId",
                    "The security token included in the request is invalid.",
                );
            }
            let mut issued = issued.lock().unwrap();
            let caller = if with_token {
                match issued.get(&key) {
                    Some(i) if i.expires <= SystemTime::now() => {
                        return error(
                            403,
                            "ExpiredToken",
                            "The security token included in the request is expired",
                        );
                    }
                    Some(i) => (i.arn.clone(), i.is_role),
                    None => {
                        return error(
                            403,
                            "InvalidClientTokenId",
                            "The security token included in the request is invalid.",
                        );
                    }
                }
            } else {
                match users.lock().unwrap().get(&key) {
                    Some((user, _)) => (format!("arn:aws:iam::{ACCOUNT}:user/{user}"), false),
                    None => {
                        return error(
                            403,
                            "InvalidClientTokenId",
                            "The security token included in the request is invalid.",
                        );
                    }
                }
            };
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let now = SystemTime::now();
            match action.as_str() {
                "GetSessionToken" => {
                    if with_token {
                        return error(
                            403,
                            "AccessDenied",
                            "Cannot call GetSessionToken with session credentials",
                        );
                    }
                    let duration: u64 = req
                        .form_param("DurationSeconds")
                        .and_then(|d| d.parse().ok())
                        .unwrap_or(43_200);
                    if !(900..=129_600).contains(&duration) {
                        return error(
                            400,
                            "ValidationError",
                            &format!(
                                "1 validation error detected: Value '{duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 129600"
                            ),
                        );
                    }
                    let (_, serial) = users.lock().unwrap()[&key].clone();
                    if req.form_param("SerialNumber").as_deref() != Some(serial.as_str()) {
                        return error(
                            403,
                            "AccessDenied",
                            "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user.",
                        );
                    }
                    if req.form_param("TokenCode").as_deref() != Some(CODE) {
                        return error(
                            403,
                            "AccessDenied",
                            "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
                        );
                    }
                    let akid = format!("ASIASESSION{n:09}");
                    issued.insert(
                        akid.clone(),
                        Issued {
                            arn: caller.0.clone(),
                            is_role: false,
                            expires: now + Duration::from_secs(duration),
                            secret: format!("sessionsecret{n}"),
                            token: format!("sessiontoken{n}"),
                        },
                    );
                    Response::xml(
                        200,
                        &format!(
                            "<GetSessionTokenResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetSessionTokenResult>{}</GetSessionTokenResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetSessionTokenResponse>",
                            credentials_xml(
                                &akid,
                                &format!("sessionsecret{n}"),
                                &format!("sessiontoken{n}"),
                                now + Duration::from_secs(duration)
                            )
                        ),
                    )
                }
                "AssumeRole" if rules.deny_assume_role.load(Ordering::SeqCst) => error(
                    403,
                    "AccessDenied",
                    "User is not authorized to perform: sts:AssumeRole",
                ),
                "AssumeRole" => {
                    let role_arn = req.form_param("RoleArn").unwrap_or_default();
                    let session = req.form_param("RoleSessionName").unwrap_or_default();
                    let duration: u64 = req
                        .form_param("DurationSeconds")
                        .and_then(|d| d.parse().ok())
                        .unwrap_or(3600);
                    if caller.1 && duration > 3600 {
                        return error(
                            400,
                            "ValidationError",
                            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
                        );
                    }
                    let role_name = role_arn.rsplit('/').next().unwrap_or("role").to_string();
                    let arn = format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/{session}");
                    let akid = format!("ASIAROLE{n:012}");
                    if caller.1 {
                        chained.lock().unwrap().push(akid.clone());
                    }
                    let lifetime = rules.role_lifetime.unwrap_or(Duration::from_secs(duration));
                    issued.insert(
                        akid.clone(),
                        Issued {
                            arn: arn.clone(),
                            is_role: true,
                            expires: now + lifetime,
                            secret: format!("rolesecret{n}"),
                            token: format!("roletoken{n}"),
                        },
                    );
                    Response::xml(
                        200,
                        &format!(
                            "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>{}<AssumedRoleUser><AssumedRoleId>AROAFAKE:{session}</AssumedRoleId><Arn>{arn}</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>",
                            credentials_xml(
                                &akid,
                                &format!("rolesecret{n}"),
                                &format!("roletoken{n}"),
                                now + lifetime
                            )
                        ),
                    )
                }
                "ListMFADevices" => {
                    let user = caller.0.rsplit('/').next().unwrap_or_default().to_string();
                    let serials = rules.devices.get(&user).cloned().unwrap_or_else(|| {
                        rules
                            .users
                            .values()
                            .filter(|(name, _)| *name == user)
                            .map(|(_, serial)| serial.clone())
                            .collect()
                    });
                    let members: String = serials
                        .iter()
                        .map(|s| format!("<member><UserName>{user}</UserName><SerialNumber>{s}</SerialNumber><EnableDate>2026-01-01T00:00:00Z</EnableDate></member>"))
                        .collect();
                    Response::xml(
                        200,
                        &format!(
                            "<ListMFADevicesResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ListMFADevicesResult><IsTruncated>false</IsTruncated><MFADevices>{members}</MFADevices></ListMFADevicesResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListMFADevicesResponse>"
                        ),
                    )
                }
                "ListAccessKeys" => {
                    let user = caller.0.rsplit('/').next().unwrap_or_default().to_string();
                    let mut keys: Vec<String> = users
                        .lock()
                        .unwrap()
                        .iter()
                        .filter(|(_, (name, _))| *name == user)
                        .map(|(key, _)| key.clone())
                        .collect();
                    keys.sort();
                    let members: String = keys
                        .iter()
                        .map(|k| format!("<member><UserName>{user}</UserName><AccessKeyId>{k}</AccessKeyId><Status>Active</Status><CreateDate>2026-01-01T00:00:00Z</CreateDate></member>"))
                        .collect();
                    Response::xml(
                        200,
                        &format!(
                            "<ListAccessKeysResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ListAccessKeysResult><UserName>{user}</UserName><AccessKeyMetadata>{members}</AccessKeyMetadata><IsTruncated>false</IsTruncated></ListAccessKeysResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListAccessKeysResponse>"
                        ),
                    )
                }
                "CreateAccessKey" => {
                    let user = caller.0.rsplit('/').next().unwrap_or_default().to_string();
                    if rules.refuse_create_key {
                        return error(
                            403,
                            "AccessDenied",
                            &format!(
                                "User: {} is not authorized to perform: iam:CreateAccessKey on resource: user {user} because no identity-based policy allows the iam:CreateAccessKey action",
                                caller.0
                            ),
                        );
                    }
                    let mut users = users.lock().unwrap();
                    let count = users.values().filter(|(name, _)| *name == user).count();
                    if rules.limit_on_create_key || count >= 2 {
                        return error(
                            409,
                            "LimitExceeded",
                            "Cannot exceed quota for AccessKeysPerUser: 2",
                        );
                    }
                    let serial = users.get(&key).map(|(_, s)| s.clone()).unwrap_or_default();
                    let akid = format!("AKIAROTATED{n:09}");
                    users.insert(akid.clone(), (user.clone(), serial));
                    Response::xml(
                        200,
                        &format!(
                            "<CreateAccessKeyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><CreateAccessKeyResult><AccessKey><UserName>{user}</UserName><AccessKeyId>{akid}</AccessKeyId><Status>Active</Status><SecretAccessKey>rotatedsecret{n}</SecretAccessKey><CreateDate>2026-11-29T00:00:00Z</CreateDate></AccessKey></CreateAccessKeyResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></CreateAccessKeyResponse>"
                        ),
                    )
                }
                "DeleteAccessKey" => {
                    let user = caller.0.rsplit('/').next().unwrap_or_default().to_string();
                    if rules.refuse_delete_key {
                        return error(
                            403,
                            "AccessDenied",
                            &format!(
                                "User: {} is not authorized to perform: iam:DeleteAccessKey on resource: user {user} because no identity-based policy allows the iam:DeleteAccessKey action",
                                caller.0
                            ),
                        );
                    }
                    let target = req.form_param("AccessKeyId").unwrap_or_default();
                    let mut users = users.lock().unwrap();
                    if users.get(&target).is_none_or(|(name, _)| *name != user) {
                        return error(
                            404,
                            "NoSuchEntity",
                            &format!("The Access Key with id {target} cannot be found."),
                        );
                    }
                    users.remove(&target);
                    Response::xml(
                        200,
                        "<DeleteAccessKeyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteAccessKeyResponse>",
                    )
                }
                "GetCallerIdentity" => Response::xml(
                    200,
                    &format!(
                        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>{}</Arn><UserId>AIDAFAKE</UserId><Account>{ACCOUNT}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
                        caller.0
                    ),
                ),
                other => error(
                    400,
                    "InvalidAction",
                    &format!("Could not find operation {other}"),
                ),
            }
        });
        FakeSts {
            http,
            chained_roles,
            users,
            issued: issued_view,
        }
    }

    /// A session it issued, as STS knows it: (secret key, session token, ARN), to check a
    /// signature made with it (the EKS fake asks, as EKS asks STS).
    pub(crate) fn issued_session(&self, akid: &str) -> Option<(String, String, String)> {
        let issued = self.issued.lock().unwrap();
        let session = issued.get(akid)?;
        Some((
            session.secret.clone(),
            session.token.clone(),
            session.arn.clone(),
        ))
    }

    /// The long-term keys it accepts now (after creations and deletions), sorted.
    pub(crate) fn live_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.users.lock().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    }

    pub(crate) fn url(&self) -> String {
        self.http.url()
    }

    /// The actions received, in order.
    pub(crate) fn actions(&self) -> Vec<String> {
        self.http
            .requests()
            .iter()
            .map(|r| r.form_param("Action").unwrap_or_default())
            .collect()
    }

    /// How many calls of `action` were received.
    pub(crate) fn count(&self, action: &str) -> usize {
        self.requests_for(action).len()
    }

    /// The distinct access keys that signed GetCallerIdentity after its first `skip` calls, in
    /// order of first use.
    pub(crate) fn keys_used_after(&self, skip: usize) -> Vec<String> {
        let mut seen = Vec::new();
        for req in self
            .requests_for("GetCallerIdentity")
            .into_iter()
            .skip(skip)
        {
            let key = FakeSts::signer_of(&req);
            if !seen.contains(&key) {
                seen.push(key);
            }
        }
        seen
    }

    /// A client ([`BOTOCORE_STS_CLIENT`]'s `summary`) ran across three expiries of short role
    /// sessions: no error, four or more role sessions each used, one AssumeRole for each.
    /// `earlier`: AssumeRole and GetCallerIdentity calls made before the server started.
    pub(crate) fn assert_refreshed_across_expiries(
        &self,
        summary: &serde_json::Value,
        earlier: (usize, usize),
    ) {
        assert_eq!(summary["errors"], serde_json::json!([]), "{summary}");
        assert!(summary["calls"].as_u64().unwrap() >= 20, "{summary}");
        let keys = self.keys_used_after(earlier.1);
        assert!(
            keys.len() >= 4,
            "expected four role sessions or more, got {keys:?}"
        );
        assert!(keys.iter().all(|k| k.starts_with("ASIAROLE")), "{keys:?}");
        assert_eq!(
            self.count("AssumeRole"),
            keys.len() + earlier.0,
            "one AssumeRole per refresh, each session used"
        );
    }

    pub(crate) fn requests_for(&self, action: &str) -> Vec<Request> {
        self.http
            .requests()
            .into_iter()
            .filter(|r| r.form_param("Action").as_deref() == Some(action))
            .collect()
    }

    pub(crate) fn signer_of(req: &Request) -> String {
        signer(req).unwrap_or_default()
    }
}
