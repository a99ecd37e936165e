//! Getting a Cognito identity's credentials: a user pool sign-in (or the cached tokens), then
//! the identity pool's credentials (or its guest identity's), what `cognito` prints and what
//! `console --cognito-user` federates. The answers a sign-in needs come from flags, variables,
//! standard input or the terminal; AWS credentials for ADMIN_USER_PASSWORD_AUTH come from
//! the caller (the provider chain, which a flow does not import).

use super::session::{self, TokensFrom};
use super::user_pool::{Flow, PoolClient, SignIn};
use super::{Asker, MfaKind, Settings, Tokens};
use crate::aws::Aws;
use crate::base::error::Problem;
use crate::base::secret::Secret;
use crate::base::text::escape;
use crate::os::Context;
use aws_credential_types::Credentials;
use std::time::SystemTime;

/// The app client's secret, when not given with `--client-secret` or in the profile.
pub(crate) const VAR_CLIENT_SECRET: &str = "AWS_CRED_COGNITO_CLIENT_SECRET";
/// The user's password, without a terminal or `--password-stdin`.
pub(crate) const VAR_PASSWORD: &str = "AWS_CRED_COGNITO_PASSWORD";
/// The new password Cognito asks for (first sign-in, or after an administrator reset it).
pub(crate) const VAR_NEW_PASSWORD: &str = "AWS_CRED_COGNITO_NEW_PASSWORD";

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

/// What a sign-in works with from the run.
pub(crate) struct Run<'a, A> {
    pub ctx: &'a Context,
    pub aws: &'a Aws,
    /// `--region`: the credentials' region instead of the identity pool's.
    pub region: Option<&'a str>,
    /// The AWS credentials ADMIN_USER_PASSWORD_AUTH is signed with, asked for only when that
    /// flow signs in.
    pub admin: A,
}

/// Sign in (or reuse the cache) and get the identity pool's credentials: what `cognito`
/// prints and what `console --cognito-user` federates.
pub(crate) async fn obtain<A>(
    run: &Run<'_, A>,
    settings: &Settings,
    given: &Given<'_>,
) -> anyhow::Result<Obtained>
where
    A: AsyncFn() -> anyhow::Result<Credentials>,
{
    let cache = super::cache(run.ctx)?;
    let role_arn = settings.role_arn.as_ref().map(|r| r.value.as_str());
    let ipool = &settings.identity_pool;
    let target = session::Target {
        identity_pool: ipool,
        role_arn,
    };
    let now = run.ctx.now();
    let obtained = match &settings.pool {
        None => {
            let obtained = session::guest(run.aws, &cache, &target, now).await?;
            eprintln!(
                "Cognito guest identity {} (identity pool {}){}",
                escape(&obtained.identity_id),
                escape(&ipool.id),
                describe_credentials(run.ctx.now(), &obtained.credentials, obtained.reused)
            );
            obtained
        }
        Some(pool) => {
            let username = settings.username.as_str();
            let flow = settings.flow;
            let sign_in = async || sign_in(run, given, pool, flow, username).await;
            let obtained =
                session::user(run.aws, &cache, pool, username, &target, now, sign_in).await?;
            if let Some((tokens, from)) = &obtained.tokens {
                report_tokens(now, pool, username, flow, tokens, from);
            }
            eprintln!(
                "identity {}{}{}",
                escape(&obtained.identity_id),
                role_arn
                    .map(|r| format!(", role {}", escape(r)))
                    .unwrap_or_default(),
                describe_credentials(run.ctx.now(), &obtained.credentials, obtained.reused)
            );
            obtained
        }
    };
    let (creds, identity_id) = (obtained.credentials, obtained.identity_id);
    let tokens = obtained.tokens.map(|(tokens, _)| tokens);
    crate::base::time::refuse_expired(
        run.ctx.now(),
        &creds,
        &format!("identity pool {}", ipool.id),
        "run aws-cred cognito again; if the identity pool keeps answering with expired credentials, check its roles",
    )?;
    let region = run.region.unwrap_or(&ipool.region).to_string();
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
    let token_until = valid_until(now, "ID token", tokens.expiry());
    eprintln!(
        "Cognito user {} (user pool {}): {how}{token_until}",
        escape(username),
        escape(&pool.user_pool_id)
    );
}

fn describe_credentials(now: SystemTime, creds: &Credentials, reused: bool) -> String {
    let until = valid_until(now, "credentials", creds.expiry());
    format!("{until}{}", if reused { " (cached)" } else { "" })
}

/// `, WHAT valid until …` when `expiry` is known, else nothing.
fn valid_until(now: SystemTime, what: &str, expiry: Option<SystemTime>) -> String {
    expiry
        .map(|t| {
            format!(
                ", {what} valid until {}",
                crate::base::time::describe_expiry(now, t)
            )
        })
        .unwrap_or_default()
}

async fn sign_in<A>(
    run: &Run<'_, A>,
    given: &Given<'_>,
    pool: &PoolClient,
    flow: Flow,
    username: &str,
) -> anyhow::Result<Tokens>
where
    A: AsyncFn() -> anyhow::Result<Credentials>,
{
    let admin_credentials = if flow == Flow::Admin {
        Some((run.admin)().await?)
    } else {
        None
    };
    let mut answers = Answers {
        ctx: run.ctx,
        given,
        username,
        pool_id: &pool.user_pool_id,
    };
    SignIn {
        aws: run.aws,
        pool,
        flow,
        username,
        admin_credentials,
        ctx: run.ctx,
    }
    .run(&mut answers)
    .await
}

/// Answers from flags, variables, standard input or the terminal.
struct Answers<'a> {
    ctx: &'a Context,
    given: &'a Given<'a>,
    username: &'a str,
    pool_id: &'a str,
}

impl Answers<'_> {
    async fn ask(&self, prompt: String, secret: bool) -> Option<String> {
        let ctx = self.ctx.clone();
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
        let ctx = self.ctx;
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
        if let Some(value) = self.ctx.raw_var(VAR_NEW_PASSWORD).filter(|v| !v.is_empty()) {
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
        let code = code.trim();
        crate::base::text::validate_mfa_code(code)?;
        Ok(code.to_string())
    }
}
