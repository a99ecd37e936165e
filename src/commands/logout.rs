//! `aws-cred logout`: end what one profile, one sso-session or everything depends on, and say
//! on stderr what was removed. Cached EKS tokens go whatever was logged out of (their names
//! are hashes, so which sessions made them is not known).

use super::Setup;
use crate::base::error::Problem;
use crate::chain::plan::{Base, Planned, plan_named};
use crate::cli::LogoutArgs;
use crate::output::status::escape;
use crate::profile::{Selection, login_session, long_term};
use crate::settings;
use crate::sso::logout::LoggedOut;
use std::path::Path;

pub(crate) async fn run(setup: &Setup, args: &LogoutArgs) -> anyhow::Result<()> {
    let by_profile = setup.profiles.selection == Selection::Flag;
    if by_profile && (args.all || args.sso_session.is_some()) {
        return Err(Problem::usage("choose one of --profile, --sso-session and --all").into());
    }
    let mut said = Vec::new();
    if args.all {
        confirm(setup, args.yes)?;
        everything(setup, &mut said).await?;
    } else if let Some(session) = &args.sso_session {
        let config = crate::sso::config::sso_session_config(&setup.profiles, session)?;
        let ended = crate::sso::logout::logout(&setup.ctx, &setup.aws, &config).await?;
        said.extend(ended.iter().map(sso_line));
    } else if by_profile {
        profile(setup, &mut said).await?;
    } else {
        return Err(Problem::usage("say what to log out of")
            .hint("aws-cred logout --profile NAME, --sso-session NAME, or --all")
            .into());
    }
    match crate::token::forget_all(&setup.ctx)? {
        0 => {}
        1 => said.push("removed 1 cached EKS token".to_string()),
        n => said.push(format!("removed {n} cached EKS tokens")),
    }
    if said.is_empty() {
        eprintln!("nothing to log out of: no cached session was found");
    }
    for line in said {
        eprintln!("{line}");
    }
    Ok(())
}

/// `--all` asks on a terminal; without one it needs `--yes`.
fn confirm(setup: &Setup, yes: bool) -> anyhow::Result<()> {
    super::confirm(
        &setup.ctx,
        yes,
        "End every session (SSO tokens, MFA sessions, login sessions, Cognito sign-ins, written sessions)? [y/N] ",
        Problem::usage("logout --all ends every session and there is no terminal to confirm on")
            .hint("add --yes"),
        Problem::usage("logout --all cancelled; nothing was removed"),
    )
}

fn sso_line(ended: &LoggedOut) -> String {
    let portal = match &ended.portal {
        Ok(true) => " (the portal ended the session)".to_string(),
        Ok(false) => " (the token had expired)".to_string(),
        Err(error) => format!(
            " (warning: the portal's Logout failed: {}; the token was removed anyway)",
            escape(&crate::base::error::first_line(error))
        ),
    };
    format!(
        "removed the SSO token for {}: {}{portal}",
        escape(&ended.start_url),
        ended.path.display()
    )
}

fn file_line(what: &str, path: &Path) -> String {
    format!("removed {what}: {}", path.display())
}

fn sections_line(names: &[String], file: &Path) -> Option<String> {
    (!names.is_empty()).then(|| {
        let names: Vec<String> = names.iter().map(|n| format!("[{}]", escape(n))).collect();
        format!(
            "removed the session section{} {} from {}",
            if names.len() == 1 { "" } else { "s" },
            names.join(", "),
            file.display()
        )
    })
}

async fn everything(setup: &Setup, said: &mut Vec<String>) -> anyhow::Result<()> {
    let ctx = &setup.ctx;
    for ended in crate::sso::logout::logout_all(ctx, &setup.aws).await? {
        said.push(sso_line(&ended));
    }
    for path in crate::mfa::remove_all_sessions(ctx)? {
        said.push(file_line("an MFA session", &path));
    }
    if let Some(dir) = settings::login_cache_dir(ctx) {
        let removed =
            login_session::remove_all(&dir).map_err(|e| Problem::failure(e.to_string()))?;
        for path in removed {
            said.push(file_line("a login session", &path));
        }
    }
    for sign_in in crate::cognito::sign_ins(ctx)? {
        if crate::cognito::remove_sign_in(ctx, &sign_in.key)? {
            said.push(cognito_line(&sign_in));
        }
    }
    let file = &setup.profiles.files.credentials;
    let names = long_term::remove_written_sessions(file, None)
        .map_err(crate::base::error::Problem::from)?;
    said.extend(sections_line(&names, file));
    Ok(())
}

fn cognito_line(sign_in: &crate::cognito::SignIn) -> String {
    let who = match (&sign_in.username, &sign_in.user_pool_id) {
        (Some(user), Some(pool)) => format!("user {} in {}", escape(user), escape(pool)),
        (Some(user), None) => format!("user {}", escape(user)),
        (None, _) => format!("guests of {}", escape(&sign_in.identity_pools.join(", "))),
    };
    format!("removed the Cognito sign-in of {who}")
}

/// What one profile depends on: its SSO token, MFA session, login session, Cognito sign-ins and
/// the session written into its section.
async fn profile(setup: &Setup, said: &mut Vec<String>) -> anyhow::Result<()> {
    let (ctx, profiles) = (&setup.ctx, &setup.profiles);
    let name = profiles.selected.as_str();
    profiles.selected_profile()?;
    let mut mfa: Vec<(String, String)> = Vec::new();
    if let Some(serial) = crate::mfa::profile_serial(profiles, name) {
        mfa.push((name.to_string(), serial.value));
    }
    if let Ok(Planned::Plan(plan)) = plan_named(profiles, name) {
        if let Base::Sso(config) = &plan.base {
            let ended = crate::sso::logout::logout(ctx, &setup.aws, config).await?;
            said.extend(ended.iter().map(sso_line));
        }
        if let Base::Static { profile: source } = &plan.base {
            let serial = match plan.roles.first() {
                Some(step) => step.mfa_serial.clone(),
                None => crate::mfa::profile_serial(profiles, source).map(|s| s.value),
            };
            if let Some(serial) = serial {
                mfa.push((source.clone(), serial));
            }
        }
    }
    mfa.dedup();
    for (keys, serial) in mfa {
        if let Some(path) = crate::mfa::remove_session(ctx, profiles, &keys, &serial)? {
            said.push(file_line("the MFA session", &path));
        }
    }
    if let (Some(session), Some(dir)) = (
        profiles.get(name, login_session::KEY),
        settings::login_cache_dir(ctx),
    ) && let Some(path) =
        login_session::remove(&dir, session).map_err(|e| Problem::failure(e.to_string()))?
    {
        said.push(file_line("the login session", &path));
    }
    let pool = profiles.get(name, "cognito_user_pool_id");
    let client = profiles.get(name, "cognito_client_id");
    let identity_pool = profiles.get(name, "cognito_identity_pool_id");
    for sign_in in crate::cognito::sign_ins(ctx)? {
        let user_match = pool.is_some()
            && sign_in.user_pool_id.as_deref() == pool
            && client.is_none_or(|c| sign_in.client_id.as_deref() == Some(c));
        let guest_match = sign_in.username.is_none()
            && identity_pool.is_some_and(|p| sign_in.identity_pools.iter().any(|i| i == p));
        if (user_match || guest_match) && crate::cognito::remove_sign_in(ctx, &sign_in.key)? {
            said.push(cognito_line(&sign_in));
        }
    }
    let file = &profiles.files.credentials;
    let names = long_term::remove_written_sessions(file, Some(name))
        .map_err(crate::base::error::Problem::from)?;
    said.extend(sections_line(&names, file));
    Ok(())
}
