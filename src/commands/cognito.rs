//! `aws-cred cognito --user NAME`: a user pool sign-in (cached), then identity pool
//! credentials, printed like `export` prints them.

use super::{Setup, deliver};
use crate::base::error::Problem;
use crate::base::secret::Secret;
use crate::base::text::escape;
use crate::cli::CognitoArgs;
use crate::cognito::identity_pool::IdentityPool;
use crate::cognito::session::{self, TokensFrom};
use crate::cognito::user_pool::{Flow, PoolClient, SignIn};
use crate::cognito::{self, Asker, MfaKind, Tokens};
use crate::output::{Exports, Extra};
use crate::settings::{self, Value};
use anyhow::Context as _;
use aws_credential_types::Credentials;

pub const VAR_CLIENT_SECRET: &str = "AWS_CRED_COGNITO_CLIENT_SECRET";
pub const VAR_PASSWORD: &str = "AWS_CRED_COGNITO_PASSWORD";
pub const VAR_NEW_PASSWORD: &str = "AWS_CRED_COGNITO_NEW_PASSWORD";

/// Flag, then variable, then the profile's key ([`settings`] declares each).
fn pick(setup: &Setup, setting: &settings::Setting, flag: Option<&str>) -> Option<Value> {
    setting.resolve(flag, &setup.ctx, Some(&setup.profiles))
}

/// Everything checked before the network is touched.
struct Settings {
    pool: Option<PoolClient>,
    identity_pool: IdentityPool,
    flow: Flow,
    role_arn: Option<Value>,
}

fn settings(setup: &Setup, args: &CognitoArgs) -> anyhow::Result<Settings> {
    let profiles = &setup.profiles;
    if profiles.selection.is_explicit() && profiles.set.get_profile(&profiles.selected).is_none() {
        return Err(Problem::usage(format!(
            "profile {} does not exist; available: {}",
            profiles.selected,
            profiles.names().join(", ")
        ))
        .hint(format!(
            "add [profile {}] with the cognito_* keys to {}",
            profiles.selected,
            profiles.files.config.display()
        ))
        .into());
    }
    if let Some(code) = &args.mfa_code {
        crate::mfa::validate_code(code.trim())?;
    }
    if let Some(user) = &args.user
        && user.trim().is_empty()
    {
        return Err(Problem::usage("--user needs a name").into());
    }

    let identity = pick(
        setup,
        &settings::COGNITO_IDENTITY_POOL_ID,
        args.identity_pool_id.as_deref(),
    )
    .ok_or_else(|| settings::COGNITO_IDENTITY_POOL_ID.missing(profiles))?;
    let identity_pool = IdentityPool::parse(&identity.value).ok_or_else(|| {
        Problem::usage(format!(
            "identity pool id {:?} (from {}) is not REGION:UUID",
            identity.value, identity.source
        ))
        .hint("it looks like ap-northeast-1:1f392b6a-751d-4760-8849-5924149f8e67 (Cognito console: identity pool > Identity pool ID)")
    })?;

    let role_arn = pick(setup, &settings::COGNITO_ROLE_ARN, args.role_arn.as_deref());
    if let Some(role) = &role_arn
        && !(role.value.starts_with("arn:") && role.value.contains(":role/"))
    {
        return Err(Problem::usage(format!(
            "{:?} (from {}) is not a role ARN",
            role.value, role.source
        ))
        .hint("it looks like arn:aws:iam::123456789012:role/NAME")
        .into());
    }

    let flow = match &args.auth_flow {
        Some(flow) => *flow,
        None => match pick(setup, &settings::COGNITO_AUTH_FLOW, None) {
            None => Flow::Srp,
            Some(setting) => Flow::from_name(&setting.value).ok_or_else(|| {
                Problem::usage(format!(
                    "auth flow {:?} (from {}) is not srp, password or admin",
                    setting.value, setting.source
                ))
            })?,
        },
    };

    if args.unauthenticated {
        return Ok(Settings {
            pool: None,
            identity_pool,
            flow,
            role_arn,
        });
    }

    let pool_id = pick(
        setup,
        &settings::COGNITO_USER_POOL_ID,
        args.user_pool_id.as_deref(),
    )
    .ok_or_else(|| settings::COGNITO_USER_POOL_ID.missing(profiles))?;
    let (region, pool_name) = PoolClient::parse_pool_id(&pool_id.value).ok_or_else(|| {
        Problem::usage(format!(
            "user pool id {:?} (from {}) is not REGION_ID",
            pool_id.value, pool_id.source
        ))
        .hint("it looks like ap-northeast-1_AbCdEf123 (Cognito console: user pool > User pool ID)")
    })?;
    let client_id = pick(
        setup,
        &settings::COGNITO_CLIENT_ID,
        args.client_id.as_deref(),
    )
    .ok_or_else(|| settings::COGNITO_CLIENT_ID.missing(profiles))?;
    if !client_id
        .value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'_')
    {
        return Err(Problem::usage(format!(
            "app client id {:?} (from {}) has characters Cognito client ids never have",
            client_id.value, client_id.source
        ))
        .hint("copy it from the user pool's App clients page (letters and digits, about 26 characters)")
        .into());
    }
    // Secrets are taken as they are (no trimming beyond blank = absent).
    let secret = pick(
        setup,
        &settings::COGNITO_CLIENT_SECRET,
        args.client_secret.as_ref().map(Secret::expose),
    );
    let (client_secret, secret_origin) = match secret {
        Some(found) => (
            Some(Secret::new(found.value)),
            Some(found.source.to_string()),
        ),
        None => (None, None),
    };
    Ok(Settings {
        pool: Some(PoolClient {
            user_pool_id: pool_id.value,
            region,
            pool_name,
            client_id: client_id.value,
            client_secret,
            secret_origin,
        }),
        identity_pool,
        flow,
        role_arn,
    })
}

/// What a Cognito sign-in gave: the identity pool's AWS credentials, the identity, the user's
/// tokens (none for guests), and the region (`--region`, else the identity pool's).
pub struct Obtained {
    pub credentials: Credentials,
    pub identity_id: String,
    pub tokens: Option<Tokens>,
    pub region: String,
}

pub async fn run(setup: &Setup, args: &CognitoArgs) -> anyhow::Result<()> {
    let Obtained {
        credentials: creds,
        identity_id,
        tokens,
        region,
    } = obtain(setup, args).await?;
    let mut extras = Vec::new();
    if args.tokens {
        if let Some(tokens) = &tokens {
            extras.push(Extra {
                variable: "COGNITO_ID_TOKEN",
                json_key: "CognitoIdToken",
                value: tokens.id_token.expose().to_string(),
            });
            extras.push(Extra {
                variable: "COGNITO_ACCESS_TOKEN",
                json_key: "CognitoAccessToken",
                value: tokens.access_token.expose().to_string(),
            });
        }
        extras.push(Extra {
            variable: "COGNITO_IDENTITY_ID",
            json_key: "CognitoIdentityId",
            value: identity_id,
        });
    }
    let exports = Exports {
        credentials: &creds,
        region: Some(&region),
        unset_profile: true,
        extras,
    };
    deliver(setup, (&args.output).into(), &exports)
}

/// Sign in (or reuse the cache) and get the identity pool's credentials: what `cognito`
/// prints and what `console --cognito-user` federates.
pub async fn obtain(setup: &Setup, args: &CognitoArgs) -> anyhow::Result<Obtained> {
    let settings = settings(setup, args)?;
    if args.client_secret.is_some() {
        eprintln!(
            "note: --client-secret is visible to other local users (ps); {VAR_CLIENT_SECRET} or cognito_client_secret keep it private"
        );
    }
    if args.new_password.is_some() {
        eprintln!(
            "note: --new-password is visible to other local users (ps); the prompt or {VAR_NEW_PASSWORD} keep it private"
        );
    }
    let cache = cognito::cache(&setup.ctx)?;
    let role_arn = settings.role_arn.as_ref().map(|r| r.value.as_str());
    let ipool = &settings.identity_pool;
    let target = session::Target {
        identity_pool: ipool,
        role_arn,
    };
    let now = setup.ctx.now();
    let obtained = match &settings.pool {
        None => {
            let obtained = session::guest(&setup.aws, &cache, &target, now).await?;
            eprintln!(
                "Cognito guest identity {} (identity pool {}){}",
                escape(&obtained.identity_id),
                escape(&ipool.id),
                describe_credentials(setup, &obtained.credentials, obtained.reused)
            );
            obtained
        }
        Some(pool) => {
            let username = args.user.as_deref().unwrap_or_default().trim();
            let flow = settings.flow;
            let sign_in = async || sign_in(setup, args, pool, flow, username).await;
            let obtained =
                session::user(&setup.aws, &cache, pool, username, &target, now, sign_in).await?;
            if let Some((tokens, from)) = &obtained.tokens {
                let how = match from {
                    TokensFrom::Cache => "cached tokens".to_string(),
                    TokensFrom::Refreshed => "tokens refreshed".to_string(),
                    TokensFrom::SignIn | TokensFrom::SignInAfterRefusedRefresh => {
                        format!("signed in with {}", flow.api_name())
                    }
                };
                let token_until = tokens
                    .expiry()
                    .map(|t| {
                        format!(
                            ", ID token valid until {}",
                            crate::base::time::describe_expiry(now, t)
                        )
                    })
                    .unwrap_or_default();
                eprintln!(
                    "Cognito user {} (user pool {}): {how}{token_until}",
                    escape(username),
                    escape(&pool.user_pool_id)
                );
            }
            eprintln!(
                "identity {}{}{}",
                escape(&obtained.identity_id),
                role_arn
                    .map(|r| format!(", role {}", escape(r)))
                    .unwrap_or_default(),
                describe_credentials(setup, &obtained.credentials, obtained.reused)
            );
            obtained
        }
    };
    let (creds, identity_id) = (obtained.credentials, obtained.identity_id);
    let tokens = obtained.tokens.map(|(tokens, _)| tokens);
    super::refuse_expired(
        setup,
        &creds,
        &format!("identity pool {}", ipool.id),
        "run aws-cred cognito again; if the identity pool keeps answering with expired credentials, check its roles",
    )?;

    let region = setup
        .region
        .as_ref()
        .map(|r| r.name.clone())
        .unwrap_or_else(|| ipool.region.clone());
    Ok(Obtained {
        credentials: creds,
        identity_id,
        tokens,
        region,
    })
}

fn describe_credentials(setup: &Setup, creds: &Credentials, reused: bool) -> String {
    let until = creds
        .expiry()
        .map(|t| {
            format!(
                ", credentials valid until {}",
                crate::base::time::describe_expiry(setup.ctx.now(), t)
            )
        })
        .unwrap_or_default();
    format!("{until}{}", if reused { " (cached)" } else { "" })
}

async fn sign_in(
    setup: &Setup,
    args: &CognitoArgs,
    pool: &PoolClient,
    flow: Flow,
    username: &str,
) -> anyhow::Result<Tokens> {
    let admin_credentials = if flow == Flow::Admin {
        let resolution = setup.resolve(false).await.context(
            "ADMIN_USER_PASSWORD_AUTH is signed with AWS credentials from the provider chain, and it found none",
        )?;
        Some(resolution.credentials)
    } else {
        None
    };
    let mut answers = Answers {
        setup,
        args,
        username,
        pool_id: &pool.user_pool_id,
    };
    SignIn {
        aws: &setup.aws,
        pool,
        flow,
        username,
        admin_credentials,
        ctx: &setup.ctx,
    }
    .run(&mut answers)
    .await
}

/// Answers from flags, variables, standard input or the terminal.
struct Answers<'a> {
    setup: &'a Setup,
    args: &'a CognitoArgs,
    username: &'a str,
    pool_id: &'a str,
}

impl Answers<'_> {
    async fn ask(&self, prompt: String, secret: bool) -> Option<String> {
        let ctx = self.setup.ctx.clone();
        tokio::task::spawn_blocking(move || {
            if secret {
                ctx.prompt_secret(&prompt)
            } else {
                ctx.prompt_line(&prompt)
            }
        })
        .await
        .ok()
        .flatten()
    }
}

impl Asker for Answers<'_> {
    async fn password(&mut self) -> anyhow::Result<Secret> {
        let ctx = &self.setup.ctx;
        if self.args.password_stdin {
            let line = ctx.read_stdin_line().map_err(|e| {
                Problem::failure(format!("cannot read the password from standard input: {e}"))
            })?;
            if line.is_empty() {
                return Err(Problem::usage("--password-stdin: standard input has no password")
                    .hint("pipe the password in: printf '%s\\n' \"$PASSWORD\" | aws-cred cognito --user NAME --password-stdin")
                    .into());
            }
            return Ok(Secret::new(line));
        }
        if let Some(value) = ctx.raw_var(VAR_PASSWORD).filter(|v| !v.is_empty()) {
            return Ok(Secret::new(value));
        }
        let prompt = format!(
            "Password for {} (user pool {}): ",
            self.username, self.pool_id
        );
        match self.ask(prompt, true).await {
            Some(password) => Ok(Secret::new(password)),
            None => Err(Problem::usage(format!(
                "no password for {}: no cached tokens, and no terminal to ask on",
                self.username
            ))
            .hint(format!(
                "pipe it with --password-stdin, or set {VAR_PASSWORD} (CI secrets); never put it on the command line"
            ))
            .into()),
        }
    }

    async fn new_password(&mut self) -> anyhow::Result<Secret> {
        if let Some(value) = self.args.new_password.as_ref().filter(|v| !v.is_empty()) {
            return Ok(value.clone());
        }
        if let Some(value) = self
            .setup
            .ctx
            .raw_var(VAR_NEW_PASSWORD)
            .filter(|v| !v.is_empty())
        {
            return Ok(Secret::new(value));
        }
        let need = || {
            Problem::usage(format!(
                "Cognito requires a new password for {} (first sign-in, or an administrator reset it)",
                self.username
            ))
            .hint(format!(
                "run on a terminal to choose one, or pass --new-password / set {VAR_NEW_PASSWORD}"
            ))
        };
        let first = self
            .ask(format!("New password for {}: ", self.username), true)
            .await
            .ok_or_else(need)?;
        let again = self
            .ask("Repeat the new password: ".to_string(), true)
            .await
            .ok_or_else(need)?;
        if first != again {
            return Err(Problem::usage("the two new passwords differ; nothing was changed").into());
        }
        Ok(Secret::new(first))
    }

    async fn mfa_code(
        &mut self,
        kind: MfaKind,
        destination: Option<&str>,
    ) -> anyhow::Result<String> {
        if let Some(code) = &self.args.mfa_code {
            return Ok(code.trim().to_string());
        }
        let prompt = match (kind, destination) {
            (MfaKind::Totp, _) => {
                format!("Code from the authenticator app for {}: ", self.username)
            }
            (MfaKind::Sms, Some(to)) => format!("Code sent by SMS to {to}: "),
            (MfaKind::Sms, None) => format!("Code sent by SMS for {}: ", self.username),
        };
        let code = self.ask(prompt, false).await.ok_or_else(|| {
            Problem::usage(format!(
                "Cognito asks for an MFA code ({}) for {}, and there is no terminal to ask on",
                match kind {
                    MfaKind::Totp => "SOFTWARE_TOKEN_MFA",
                    MfaKind::Sms => "SMS_MFA",
                },
                self.username
            ))
            .hint("pass it with --mfa-code CODE")
        })?;
        crate::mfa::validate_code(code.trim())?;
        Ok(code.trim().to_string())
    }
}
