//! User pool sign-in: USER_SRP_AUTH, USER_PASSWORD_AUTH, ADMIN_USER_PASSWORD_AUTH, the
//! challenges a person can answer (NEW_PASSWORD_REQUIRED, SOFTWARE_TOKEN_MFA, SMS_MFA), and
//! REFRESH_TOKEN_AUTH. SECRET_HASH goes on every call when the app client has a secret;
//! challenge responses and refreshes use the internal user name.

use super::srp::{self, SrpClient};
use super::{Asker, MfaKind, Tokens};
use crate::aws::{self, Aws, Target};
use crate::base::error::Problem;
use crate::base::secret::Secret;
use crate::os::Context;
use aws_credential_types::Credentials;
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, AuthenticationResultType, ChallengeNameType,
};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::collections::HashMap;
use std::fmt::Debug;
use std::time::{Duration, SystemTime};

/// How many challenge rounds a sign-in may take (password verifier, new password, MFA, ...).
const MAX_ROUNDS: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Flow {
    /// USER_SRP_AUTH: the password never leaves this machine.
    Srp,
    /// USER_PASSWORD_AUTH: the password goes to Cognito over TLS.
    Password,
    /// ADMIN_USER_PASSWORD_AUTH: signed with AWS credentials from the provider chain.
    Admin,
}

impl Flow {
    pub fn api_name(self) -> &'static str {
        match self {
            Flow::Srp => "USER_SRP_AUTH",
            Flow::Password => "USER_PASSWORD_AUTH",
            Flow::Admin => "ADMIN_USER_PASSWORD_AUTH",
        }
    }

    /// The app client setting that enables the flow.
    pub fn client_setting(self) -> &'static str {
        match self {
            Flow::Srp => "ALLOW_USER_SRP_AUTH",
            Flow::Password => "ALLOW_USER_PASSWORD_AUTH",
            Flow::Admin => "ALLOW_ADMIN_USER_PASSWORD_AUTH",
        }
    }

    pub fn from_name(name: &str) -> Option<Flow> {
        match name.trim().to_ascii_lowercase().as_str() {
            "srp" | "user_srp_auth" => Some(Flow::Srp),
            "password" | "user_password_auth" => Some(Flow::Password),
            "admin" | "admin_user_password_auth" => Some(Flow::Admin),
            _ => None,
        }
    }
}

/// A user pool and one of its app clients.
#[derive(Debug, Clone)]
pub(crate) struct PoolClient {
    pub user_pool_id: String,
    /// The region part of the pool id: where the pool lives.
    pub region: String,
    /// The part after `_`: SRP's "pool name".
    pub pool_name: String,
    pub client_id: String,
    pub client_secret: Option<Secret>,
    /// Where the secret came from (a flag, a variable, a profile key), for hints.
    pub secret_origin: Option<String>,
}

impl PoolClient {
    /// `REGION_ID`, e.g. `us-east-1_AbCdEf123`.
    pub(crate) fn parse_pool_id(id: &str) -> Option<(String, String)> {
        let (region, name) = id.split_once('_')?;
        let region_ok = !region.is_empty()
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let name_ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric());
        (region_ok && name_ok).then(|| (region.to_string(), name.to_string()))
    }

    fn secret_hash(&self, username: &str) -> Option<String> {
        self.client_secret
            .as_ref()
            .map(|secret| srp::secret_hash(secret.expose(), username, &self.client_id))
    }

    /// The `Logins` key an identity pool expects for this user pool's ID tokens.
    pub(crate) fn provider_name(&self) -> String {
        format!(
            "cognito-idp.{}.amazonaws.com/{}",
            self.region, self.user_pool_id
        )
    }
}

/// One answer from InitiateAuth / RespondToAuthChallenge and their admin twins.
struct Step {
    challenge: Option<String>,
    session: Option<String>,
    params: HashMap<String, String>,
    result: Option<AuthenticationResultType>,
}

/// Send a built InitiateAuth or RespondToAuthChallenge request (the user or the admin API:
/// the SDK gives them no common type), naming `$api` when it fails, and read the step of its
/// answer.
macro_rules! send_step {
    ($this:expr, $target:expr, $api:literal, $request:expr) => {{
        let out = $request
            .send()
            .await
            .map_err(|e| $this.explain($api, $target, e))?;
        Step {
            challenge: out.challenge_name().map(|c| c.as_str().to_string()),
            session: out.session().map(str::to_string),
            params: out.challenge_parameters().cloned().unwrap_or_default(),
            result: out.authentication_result().cloned(),
        }
    }};
}

/// What a sign-in needs besides the pool.
pub(crate) struct SignIn<'a> {
    pub aws: &'a Aws,
    pub pool: &'a PoolClient,
    pub flow: Flow,
    pub username: &'a str,
    /// AWS credentials for the admin flow.
    pub admin_credentials: Option<Credentials>,
    /// The clock: the proof's TIMESTAMP is taken when the proof is made, after any prompt.
    pub ctx: &'a Context,
}

impl SignIn<'_> {
    fn client(&self) -> (aws_sdk_cognitoidentityprovider::Client, Target) {
        self.aws
            .cognito_idp(&self.pool.region, self.admin_credentials.clone())
    }

    /// Sign in from scratch, answering challenges through `asker`.
    pub(crate) async fn run(&self, asker: &mut impl Asker) -> anyhow::Result<Tokens> {
        let password = asker.password().await?;
        let (client, target) = self.client();
        let (mut step, srp_client) = self.initiate(&client, &target, &password).await?;

        // The internal user name: Cognito names it in challenge parameters; until then, what
        // the person typed (an alias such as an email address may differ from it).
        let mut internal = self.username.to_string();
        for round in 0..MAX_ROUNDS {
            if let Some(name) = step
                .params
                .get("USERNAME")
                .or_else(|| step.params.get("USER_ID_FOR_SRP"))
                .filter(|n| !n.is_empty())
            {
                internal = name.clone();
            }
            if let Some(result) = step.result.take() {
                return tokens_from(&result, None, &internal, self.ctx.now());
            }
            let Some(challenge) = step.challenge.clone() else {
                return Err(Problem::failure(
                    "Cognito answered the sign-in with neither tokens nor a challenge",
                )
                .into());
            };
            let srp = srp_client.as_ref().filter(|_| round == 0);
            let mut responses = self
                .answer(asker, &challenge, &step.params, srp, &password)
                .await?;
            responses.push(("USERNAME", internal.clone()));
            if let Some(hash) = self.pool.secret_hash(&internal) {
                responses.push(("SECRET_HASH", hash));
            }
            step = self
                .respond(&client, &target, &challenge, step.session.take(), responses)
                .await?;
        }
        Err(Problem::failure(format!(
            "Cognito kept asking for challenges after {MAX_ROUNDS} answers; giving up"
        ))
        .into())
    }

    /// USERNAME and PASSWORD, and SECRET_HASH when the app client has a secret: what the two
    /// password flows send.
    fn password_parameters(&self, password: &Secret) -> HashMap<String, String> {
        self.parameters([("PASSWORD", password.expose().to_string())])
    }

    /// USERNAME, `extra`, and SECRET_HASH when the app client has a secret.
    fn parameters<const N: usize>(&self, extra: [(&str, String); N]) -> HashMap<String, String> {
        let mut parameters = HashMap::from([("USERNAME".to_string(), self.username.to_string())]);
        parameters.extend(extra.map(|(k, v)| (k.to_string(), v)));
        if let Some(hash) = self.pool.secret_hash(self.username) {
            parameters.insert("SECRET_HASH".to_string(), hash);
        }
        parameters
    }

    /// The first call of the flow (InitiateAuth, or AdminInitiateAuth), and for SRP the client
    /// that answers the PASSWORD_VERIFIER challenge it brings.
    async fn initiate(
        &self,
        client: &aws_sdk_cognitoidentityprovider::Client,
        target: &Target,
        password: &Secret,
    ) -> anyhow::Result<(Step, Option<SrpClient>)> {
        let pool = self.pool;
        let (auth_flow, parameters, srp) = match self.flow {
            Flow::Admin => {
                let step = send_step!(
                    self,
                    target,
                    "AdminInitiateAuth",
                    client
                        .admin_initiate_auth()
                        .auth_flow(AuthFlowType::AdminUserPasswordAuth)
                        .user_pool_id(&pool.user_pool_id)
                        .client_id(&pool.client_id)
                        .set_auth_parameters(Some(self.password_parameters(password)))
                );
                return Ok((step, None));
            }
            Flow::Srp => {
                let srp = SrpClient::new().map_err(|e| Problem::failure(e.to_string()))?;
                let parameters = self.parameters([("SRP_A", srp.srp_a())]);
                (AuthFlowType::UserSrpAuth, parameters, Some(srp))
            }
            Flow::Password => (
                AuthFlowType::UserPasswordAuth,
                self.password_parameters(password),
                None,
            ),
        };
        let step = send_step!(
            self,
            target,
            "InitiateAuth",
            client
                .initiate_auth()
                .auth_flow(auth_flow)
                .client_id(&pool.client_id)
                .set_auth_parameters(Some(parameters))
        );
        Ok((step, srp))
    }

    /// The responses to one challenge, without USERNAME and SECRET_HASH. `srp` is there on the
    /// first round of an SRP sign-in only: PASSWORD_VERIFIER is answered then, and never again.
    async fn answer(
        &self,
        asker: &mut impl Asker,
        challenge: &str,
        params: &HashMap<String, String>,
        srp: Option<&SrpClient>,
        password: &Secret,
    ) -> anyhow::Result<Vec<(&'static str, String)>> {
        let mut responses: Vec<(&'static str, String)> = Vec::new();
        match (challenge, srp) {
            ("PASSWORD_VERIFIER", Some(srp)) => {
                let get = |key: &'static str| -> anyhow::Result<&str> {
                    params.get(key).map(String::as_str).ok_or_else(|| {
                        Problem::failure(format!(
                            "Cognito's PASSWORD_VERIFIER challenge has no {key}"
                        ))
                        .into()
                    })
                };
                let user_id = get("USER_ID_FOR_SRP")?;
                let claim = srp
                    .claim(
                        &self.pool.pool_name,
                        &srp::Challenge {
                            salt_hex: get("SALT")?,
                            srp_b_hex: get("SRP_B")?,
                            secret_block: get("SECRET_BLOCK")?,
                            user_id,
                        },
                        password.expose(),
                        self.ctx.now(),
                    )
                    .map_err(|e| Problem::failure(format!("SRP sign-in: {e}")))?;
                responses.push(("PASSWORD_CLAIM_SECRET_BLOCK", claim.secret_block));
                responses.push(("PASSWORD_CLAIM_SIGNATURE", claim.signature));
                responses.push(("TIMESTAMP", claim.timestamp));
            }
            ("NEW_PASSWORD_REQUIRED", _) => {
                let new_password = asker.new_password().await?;
                responses.push(("NEW_PASSWORD", new_password.expose().to_string()));
            }
            ("SOFTWARE_TOKEN_MFA", _) => {
                let code = asker.mfa_code(MfaKind::Totp, None).await?;
                responses.push(("SOFTWARE_TOKEN_MFA_CODE", code));
            }
            ("SMS_MFA", _) => {
                let destination = params.get("CODE_DELIVERY_DESTINATION");
                let code = asker
                    .mfa_code(MfaKind::Sms, destination.map(String::as_str))
                    .await?;
                responses.push(("SMS_MFA_CODE", code));
            }
            (other, _) => return Err(unsupported_challenge(other).into()),
        }
        Ok(responses)
    }

    async fn respond(
        &self,
        client: &aws_sdk_cognitoidentityprovider::Client,
        target: &Target,
        challenge: &str,
        session: Option<String>,
        responses: Vec<(&str, String)>,
    ) -> anyhow::Result<Step> {
        let name = ChallengeNameType::from(challenge);
        let responses: HashMap<String, String> = responses
            .into_iter()
            .map(|(key, value)| (key.to_string(), value))
            .collect();
        let pool = self.pool;
        Ok(if self.flow == Flow::Admin {
            send_step!(
                self,
                target,
                "AdminRespondToAuthChallenge",
                client
                    .admin_respond_to_auth_challenge()
                    .user_pool_id(&pool.user_pool_id)
                    .client_id(&pool.client_id)
                    .challenge_name(name)
                    .set_session(session)
                    .set_challenge_responses(Some(responses))
            )
        } else {
            send_step!(
                self,
                target,
                "RespondToAuthChallenge",
                client
                    .respond_to_auth_challenge()
                    .client_id(&pool.client_id)
                    .challenge_name(name)
                    .set_session(session)
                    .set_challenge_responses(Some(responses))
            )
        })
    }

    fn explain<E, R>(&self, operation: &str, target: &Target, err: SdkError<E, R>) -> anyhow::Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: Debug + Send + Sync + 'static,
    {
        let known = aws::error_code(&err).map(|(c, m)| (c.to_string(), m.to_string()));
        if let Some((code, message)) = known
            && let Some(problem) = explain(
                &code,
                &message,
                &Situation {
                    pool: self.pool,
                    flow: Some(self.flow),
                    username: self.username,
                },
            )
        {
            // The first line says what happened in the person's words; AWS's code is the cause.
            return anyhow::Error::msg(format!("{operation} failed: {code}: {message}"))
                .context(problem);
        }
        aws::failure(operation, target, err)
    }
}

/// REFRESH_TOKEN_AUTH. `Ok(None)` when Cognito no longer accepts the refresh token (expired,
/// revoked, signed out): then a full sign-in follows.
pub(crate) async fn refresh(
    aws: &Aws,
    pool: &PoolClient,
    tokens: &Tokens,
    now: SystemTime,
) -> anyhow::Result<Option<Tokens>> {
    let Some(refresh_token) = &tokens.refresh_token else {
        return Ok(None);
    };
    let (client, target) = aws.cognito_idp(&pool.region, None);
    let mut request = client
        .initiate_auth()
        .auth_flow(AuthFlowType::RefreshTokenAuth)
        .client_id(&pool.client_id)
        .auth_parameters("REFRESH_TOKEN", refresh_token.expose());
    // With a client secret, the hash is over the internal user name (for pools that sign in
    // with an email or phone number, that is the user's UUID), not what the person typed.
    if let Some(hash) = pool.secret_hash(&tokens.internal_username) {
        request = request.auth_parameters("SECRET_HASH", hash);
    }
    match request.send().await {
        Ok(out) => {
            let Some(result) = out.authentication_result() else {
                return Ok(None);
            };
            tokens_from(result, Some(refresh_token), &tokens.internal_username, now).map(Some)
        }
        Err(err) => {
            let code = aws::error_code(&err).map(|(c, m)| (c.to_string(), m.to_string()));
            match code {
                Some((code, message)) if code == "NotAuthorizedException" => {
                    let lower = message.to_ascii_lowercase();
                    if lower.contains("secret hash") || lower.contains("secret_hash") {
                        let situation = Situation {
                            pool,
                            flow: None,
                            username: &tokens.internal_username,
                        };
                        if let Some(problem) = explain(&code, &message, &situation) {
                            return Err(problem.into());
                        }
                    }
                    Ok(None)
                }
                Some((code, message)) => {
                    let situation = Situation {
                        pool,
                        flow: None,
                        username: &tokens.internal_username,
                    };
                    match explain(&code, &message, &situation) {
                        Some(problem) => Err(anyhow::Error::msg(format!(
                            "InitiateAuth (REFRESH_TOKEN_AUTH) failed: {code}"
                        ))
                        .context(problem)),
                        None => Err(aws::failure(
                            "InitiateAuth (REFRESH_TOKEN_AUTH)",
                            &target,
                            err,
                        )),
                    }
                }
                None => Err(aws::failure(
                    "InitiateAuth (REFRESH_TOKEN_AUTH)",
                    &target,
                    err,
                )),
            }
        }
    }
}

fn tokens_from(
    result: &AuthenticationResultType,
    previous_refresh: Option<&Secret>,
    internal: &str,
    now: SystemTime,
) -> anyhow::Result<Tokens> {
    let id_token = result
        .id_token()
        .ok_or_else(|| Problem::failure("Cognito's answer has no ID token"))?;
    let access_token = result
        .access_token()
        .ok_or_else(|| Problem::failure("Cognito's answer has no access token"))?;
    let claims = super::jwt_claims(id_token);
    let expires_in = u64::try_from(result.expires_in()).unwrap_or(0);
    let expiry = match claims.as_ref().and_then(|c| c.exp) {
        Some(exp) => crate::base::time::from_unix_secs_u64("the ID token's exp", exp),
        None => crate::base::time::after("ExpiresIn", now, Duration::from_secs(expires_in.max(60))),
    }
    .map_err(|err| Problem::failure(format!("Cognito's sign-in answer has {err}")))?;
    let internal_username = claims
        .as_ref()
        .and_then(|c| c.username.clone())
        .unwrap_or_else(|| internal.to_string());
    Ok(Tokens {
        id_token: Secret::new(id_token),
        access_token: Secret::new(access_token),
        refresh_token: result
            .refresh_token()
            .map(Secret::new)
            .or_else(|| previous_refresh.cloned()),
        expiration: crate::base::time::rfc3339(expiry),
        internal_username,
        sub: claims.and_then(|c| c.sub),
    })
}

fn unsupported_challenge(name: &str) -> Problem {
    let hint = match name {
        "MFA_SETUP" => {
            "the user must set up MFA before signing in here: sign in once in the app (or the hosted UI) and register an authenticator"
        }
        "SELECT_MFA_TYPE" => {
            "the user has more than one MFA method and no preferred one: set a preferred method (aws cognito-idp admin-set-user-mfa-preference)"
        }
        "CUSTOM_CHALLENGE" => {
            "the pool uses custom authentication (Lambda triggers), which aws-cred cannot answer: try --auth-flow srp or password on an app client without it"
        }
        "DEVICE_SRP_AUTH" | "DEVICE_PASSWORD_VERIFIER" => {
            "the pool asks for remembered-device authentication, which aws-cred does not do: turn off device tracking for this client, or use another flow"
        }
        _ => "aws-cred answers NEW_PASSWORD_REQUIRED, SOFTWARE_TOKEN_MFA and SMS_MFA only",
    };
    Problem::failure(format!(
        "Cognito asked for the {name} challenge, which aws-cred cannot answer"
    ))
    .hint(hint)
}

/// What we were doing, for hints.
pub(crate) struct Situation<'a> {
    pub pool: &'a PoolClient,
    /// `None` for a refresh.
    pub flow: Option<Flow>,
    pub username: &'a str,
}

/// The user pool failures people meet, with what to do about each.
pub(crate) fn explain(code: &str, message: &str, situation: &Situation<'_>) -> Option<Problem> {
    let lower = message.to_ascii_lowercase();
    let pool = situation.pool;
    let user = situation.username;
    if code == "NotAuthorizedException" {
        return not_authorized(message, situation);
    }
    let problem = match code {
        "UserNotFoundException" => Problem::failure(format!(
            "user {user} does not exist in user pool {}",
            pool.user_pool_id
        ))
        .hint("check --user and the user pool id (aws cognito-idp admin-get-user --user-pool-id POOL --username NAME)"),
        "PasswordResetRequiredException" => Problem::failure(format!(
            "user {user} must reset the password before signing in"
        ))
        .hint("reset it with the app's \"forgot password\" flow, or an administrator sets one: aws cognito-idp admin-set-user-password --permanent"),
        "UserNotConfirmedException" => Problem::failure(format!(
            "user {user} has not confirmed the sign-up yet"
        ))
        .hint("confirm with the code Cognito sent (aws cognito-idp confirm-sign-up), or an administrator confirms: aws cognito-idp admin-confirm-sign-up"),
        "InvalidParameterException"
            if lower.contains("not enabled")
                || lower.contains("not supported")
                || lower.contains("flow") =>
        {
            let (flow, setting) = match situation.flow {
                Some(flow) => (flow.api_name(), flow.client_setting()),
                None => ("REFRESH_TOKEN_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"),
            };
            Problem::usage(format!(
                "app client {} does not allow {flow}: {message}",
                pool.client_id
            ))
            .hint(format!(
                "enable {setting} in the app client's authentication flows (console: App client > Authentication flows; CLI: aws cognito-idp update-user-pool-client --explicit-auth-flows {setting} ALLOW_REFRESH_TOKEN_AUTH ...), or choose a flow it allows with --auth-flow srp|password|admin"
            ))
        }
        "ResourceNotFoundException" => Problem::usage(format!(
            "Cognito does not know this user pool or app client: {message}"
        ))
        .hint(format!(
            "check the user pool id ({}) and the app client id ({}), and that the pool is in {}",
            pool.user_pool_id, pool.client_id, pool.region
        )),
        "CodeMismatchException" => Problem::failure("the MFA code is wrong")
            .hint("type the code your authenticator app (or the SMS) shows now; codes change every 30 seconds"),
        "ExpiredCodeException" => Problem::failure("the MFA code has expired")
            .hint("run the command again and type the newest code"),
        "InvalidPasswordException" => Problem::usage(format!(
            "the new password does not meet the pool's password policy: {message}"
        ))
        .hint("choose a longer password with upper and lower case letters, digits and symbols"),
        "TooManyRequestsException" | "LimitExceededException" | "TooManyFailedAttemptsException" => {
            Problem::failure(format!("Cognito is throttling these requests ({code}): {message}"))
                .hint("aws-cred already retried with backoff; wait a little, run fewer sign-ins at once, and let the token cache do its work")
        }
        "AccessDeniedException" | "UnrecognizedClientException" | "InvalidSignatureException"
            if situation.flow == Some(Flow::Admin) =>
        {
            Problem::failure(format!(
                "the AWS credentials used for ADMIN_USER_PASSWORD_AUTH were refused: {message}"
            ))
            .hint("the admin flow is signed with credentials from the provider chain (see aws-cred whoami --explain): they need cognito-idp:AdminInitiateAuth and cognito-idp:AdminRespondToAuthChallenge on this pool")
        }
        _ => return None,
    };
    Some(problem)
}

/// [`explain`] for NotAuthorizedException: a missing or wrong client secret, a disabled user,
/// too many attempts, a wrong password.
fn not_authorized(message: &str, situation: &Situation<'_>) -> Option<Problem> {
    let lower = message.to_ascii_lowercase();
    let pool = situation.pool;
    let user = situation.username;
    let secret_places =
        "--client-secret, AWS_CRED_COGNITO_CLIENT_SECRET or cognito_client_secret in the profile";
    let no_secret = || {
        Problem::usage(format!(
            "app client {} has a client secret, and none was given",
            pool.client_id
        ))
        .hint(format!("pass the app client's secret with {secret_places}"))
    };
    let problem = if lower.contains("secret_hash was not received")
        || (lower.contains("configured with secret") && !lower.contains("unable to verify"))
    {
        no_secret()
    } else if lower.contains("unable to verify secret hash")
        || lower.contains("secret hash")
        || lower.contains("secret_hash")
    {
        match &pool.client_secret {
            Some(_) => Problem::usage(format!(
                "Cognito rejected the SECRET_HASH: the client secret (from {}) does not belong to app client {}",
                pool.secret_origin.as_deref().unwrap_or("the configuration"),
                pool.client_id
            ))
            .hint("copy the secret again from the app client (aws cognito-idp describe-user-pool-client --user-pool-id ... --client-id ...); clients without a secret need none"),
            None => no_secret(),
        }
    } else if lower.contains("disabled") {
        Problem::failure(format!(
            "user {user} is disabled in user pool {}",
            pool.user_pool_id
        ))
        .hint("an administrator must enable the user (aws cognito-idp admin-enable-user)")
    } else if lower.contains("attempts exceeded") {
        Problem::failure(format!("too many failed sign-ins for user {user}"))
            .hint("wait a few minutes before trying again; check the password first")
    } else if lower.contains("incorrect username or password") || lower.contains("incorrect") {
        Problem::failure(format!("wrong user name or password for {user}"))
            .hint("check the password (prompt, --password-stdin or AWS_CRED_COGNITO_PASSWORD) and the user name; pools that hide whether a user exists also answer this for unknown users")
    } else if situation.flow.is_some() {
        Problem::failure(format!(
            "Cognito refused the sign-in for {user}: {message}"
        ))
        .hint("check the password (prompt, --password-stdin or AWS_CRED_COGNITO_PASSWORD) and the user name")
    } else {
        return None;
    };
    Some(problem)
}

#[cfg(test)]
mod tests;
