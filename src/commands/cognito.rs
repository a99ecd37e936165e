//! `aws-cred cognito --user NAME`: a user pool sign-in (cached), then identity pool
//! credentials, printed like `export` prints them.

use super::{Setup, deliver};
use crate::cli::CognitoArgs;
use crate::cognito::obtain::{Given, Obtained, VAR_CLIENT_SECRET, VAR_NEW_PASSWORD};
use crate::cognito::{Flags, Settings, Tokens};
use crate::output::{Exports, Extra};

/// The flow's settings for the command's flags. An explicitly named profile that does not
/// exist is reported before a malformed `--mfa-code`, and that before the other settings.
fn settings(setup: &Setup, args: &CognitoArgs) -> anyhow::Result<Settings> {
    if let Some(code) = &args.mfa_code {
        if let Some(missing) = setup.profiles.no_such_profile() {
            return Err(missing.into());
        }
        crate::base::text::validate_mfa_code(code.trim())?;
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

pub(crate) async fn run(setup: &Setup, args: &CognitoArgs) -> anyhow::Result<()> {
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
    } = super::obtain_cognito(setup, &settings, &given).await?;
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
