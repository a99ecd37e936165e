//! `aws-cred cognito --user NAME`: a user pool sign-in (cached), then identity pool
//! credentials, printed like `export` prints them.

use super::{Setup, deliver};
use crate::base::error::Problem;
use crate::base::secret::Secret;
use crate::base::text::escape;
use crate::cli::CognitoArgs;
use crate::cognito::session::{self, TokensFrom};
use crate::cognito::user_pool::{Flow, PoolClient, SignIn};
use crate::cognito::{self, Asker, Flags, MfaKind, Settings, Tokens};
use crate::output::{Exports, Extra};
use anyhow::Context as _;
use aws_credential_types::Credentials;
use std::time::SystemTime;

pub(crate) const VAR_CLIENT_SECRET: &str = "AWS_CRED_COGNITO_CLIENT_SECRET";
pub(crate) const VAR_PASSWORD: &str = "AWS_CRED_COGNITO_PASSWORD";
pub(crate) const VAR_NEW_PASSWORD: &str = "AWS_CRED_COGNITO_NEW_PASSWORD";

/// The flow's settings for the command's flags. An explicitly named profile that does not
/// exist is reported before a malformed `--mfa-code`, and that before the other settings.
fn settings(setup: &Setup, args: &CognitoArgs) -> anyhow::Result<Settings> {
    if let Some(code) = &args.mfa_code {
        if let Some(missing) = setup.profiles.no_such_profile() {
            return Err(missing.into());
        }
        crate::mfa::validate_code(code.trim())?;
    }
    let flags = Flags {
        user: args.user.as_deref(),
        user_pool_id: args.user_pool_id.as_deref(),
        client_id: args.client_id.as_deref(),
        client_secret: args.client_secret.as_ref(),
        identity_pool_id: args.identity_pool_id.as_deref(),
        auth_flow: args.auth_flow,
        role_arn: args.role_arn.as_deref(),
        unauthenticated: args.unauthenticated,
    };
    Ok(Settings::resolve(&setup.ctx, &setup.profiles, &flags)?)
}

/// The answers a sign-in may need that were given on the command line; `Default` is none
/// (the variables, standard input or the terminal give them).
#[derive(Default)]
pub(crate) struct Given<'a> {
    pub password_stdin: bool,
    pub new_password: Option<&'a Secret>,
    pub mfa_code: Option<&'a str>,
}

/// What a Cognito sign-in gave: the identity pool's AWS credentials, the identity, the user's
/// tokens (none for guests), and the region (`--region`, else the identity pool's).
pub(crate) struct Obtained {
    pub credentials: Credentials,
    pub identity_id: String,
    pub tokens: Option<Tokens>,
    pub region: String,
}

pub(crate) async fn run(setup: &Setup, args: &CognitoArgs) -> anyhow::Result<()> {
    super::force_was_renamed(args.force)?;
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
    let given = Given {
        password_stdin: args.password_stdin,
        new_password: args.new_password.as_ref(),
        mfa_code: args.mfa_code.as_deref(),
    };
    let Obtained {
        credentials: creds,
        identity_id,
        tokens,
        region,
    } = obtain(setup, &settings, &given).await?;
    let extras = if args.tokens {
        token_extras(tokens.as_ref(), identity_id)
    } else {
        Vec::new()
    };
    let exports = Exports {
        credentials: &creds,
        region: Some(&region),
        unset_profile: true,
        extras,
    };
    deliver(setup, (&args.output).into(), &exports)
}

/// `--tokens`: the user's tokens (none for guests) and the identity id, beside the credentials.
fn token_extras(tokens: Option<&Tokens>, identity_id: String) -> Vec<Extra> {
    let mut extras = Vec::new();
    if let Some(tokens) = tokens {
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
    extras
}

/// Sign in (or reuse the cache) and get the identity pool's credentials: what `cognito`
/// prints and what `console --cognito-user` federates.
pub(crate) async fn obtain(
    setup: &Setup,
    settings: &Settings,
    given: &Given<'_>,
) -> anyhow::Result<Obtained> {
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
            let username = settings.username.as_str();
            let flow = settings.flow;
            let sign_in = async || sign_in(setup, given, pool, flow, username).await;
            let obtained =
                session::user(&setup.aws, &cache, pool, username, &target, now, sign_in).await?;
            if let Some((tokens, from)) = &obtained.tokens {
                report_tokens(now, pool, username, flow, tokens, from);
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

/// On stderr: where the user's tokens came from, and until when the ID token is valid.
fn report_tokens(
    now: SystemTime,
    pool: &PoolClient,
    username: &str,
    flow: Flow,
    tokens: &Tokens,
    from: &TokensFrom,
) {
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
    given: &Given<'_>,
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
        given,
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
    given: &'a Given<'a>,
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
        if self.given.password_stdin {
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
        if let Some(value) = self.given.new_password.filter(|v| !v.is_empty()) {
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
        if let Some(code) = self.given.mfa_code {
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
