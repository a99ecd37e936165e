//! `aws-cred login`: an `aws login` console session for a profile (reused while it lasts,
//! unless `--force`), `login_session` (and `region`) written into the profile, then the
//! credentials printed like `export`.

use super::Setup;
use crate::base::error::{Exit, Problem, classify, first_line};
use crate::base::text::escape;
use crate::cli::LoginArgs;
use crate::login::authorize::{self, CodeSource, Loopback, Pasted};
use crate::login::{self, LoginSession};
use crate::os::browser::{self, Browser};
use crate::profile::writer::{self, HeaderStyle, WriteRequest};
use aws_credential_types::Credentials;
use std::time::Duration;

/// Keys that give a profile credentials some other way: `aws login` refuses those profiles.
const OTHER_SOURCES: [&str; 7] = [
    "aws_access_key_id",
    "role_arn",
    "credential_process",
    "web_identity_token_file",
    "sso_session",
    "sso_start_url",
    "credential_source",
];

pub(crate) async fn run(setup: &Setup, args: &LoginArgs) -> anyhow::Result<()> {
    let profile = setup.profiles.selected.clone();
    refuse_other_sources(setup, &profile)?;
    let profile_region = setup
        .profiles
        .get(&profile, "region")
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    let region = setup.region.as_ref().map(|r| r.name.clone());
    if !args.force
        && let Some(credentials) = reuse(
            setup,
            &profile,
            profile_region.as_deref(),
            region.as_deref(),
        )
        .await?
    {
        return print(setup, args, &credentials);
    }

    let region = region.ok_or_else(|| {
        Problem::usage("aws-cred login needs a region: AWS Sign-In is regional")
            .hint(format!(
                "pass --region REGION (it is saved in the profile), or set region in [profile {profile}]"
            ))
    })?;
    let (logged_in, mut loopback) = sign_in(setup, args, &profile, &region).await?;
    let saved = save_in_profile(
        setup,
        args,
        &profile,
        profile_region.is_none(),
        &region,
        &logged_in,
    );
    // Same device: the browser's page waits until the profile is saved too.
    if let Some(source) = loopback.as_mut() {
        let outcome = match &saved {
            Ok(()) => Ok(()),
            Err(_) => Err(
                "You signed in and the session is cached, but the profile was not updated. Go back to the terminal to see why and what to do.",
            ),
        };
        source.finished(outcome).await;
    }
    saved?;
    print(setup, args, &logged_in.credentials)
}

/// `aws login` refuses a profile that gets credentials some other way; so do we.
fn refuse_other_sources(setup: &Setup, profile: &str) -> anyhow::Result<()> {
    match OTHER_SOURCES
        .iter()
        .find(|key| setup.profiles.get(profile, key).is_some())
    {
        Some(key) => Err(Problem::usage(format!(
            "profile {profile} already gets its credentials from {key}; a login_session there would not be used the same way by every tool"
        ))
        .hint("log in with a profile of its own: aws-cred login --profile console")
        .into()),
        None => Ok(()),
    }
}

/// The profile's login session while it lasts (refreshed if need be); `None` when it has
/// none, or it has ended (said, then a new sign-in follows).
async fn reuse(
    setup: &Setup,
    profile: &str,
    profile_region: Option<&str>,
    region: Option<&str>,
) -> anyhow::Result<Option<Credentials>> {
    let Some(arn) = setup.profiles.get(profile, "login_session") else {
        return Ok(None);
    };
    let session = LoginSession {
        profile: profile.to_string(),
        arn: arn.trim().to_string(),
        region: profile_region.map(str::to_string),
    };
    match login::obtain(&setup.ctx, &setup.aws, &session, region).await {
        Ok((obtained, path)) => {
            eprintln!(
                "using the login session {} of profile {profile} ({}); --force signs in again",
                session.arn,
                path.display()
            );
            Ok(Some(obtained.value))
        }
        Err(err) if classify(&err).0 == Exit::Expired => {
            eprintln!("{}; signing in again", first_line(&err));
            Ok(None)
        }
        Err(err) => Err(err),
    }
}

/// A new sign-in, in this computer's browser or on another device; the loopback source of a
/// same-device sign-in, whose page waits for the outcome.
async fn sign_in(
    setup: &Setup,
    args: &LoginArgs,
    profile: &str,
    region: &str,
) -> anyhow::Result<(authorize::LoggedIn, Option<Loopback>)> {
    let timeout = login_timeout(&setup.ctx)?;
    let browser = browser::choose(&setup.ctx, args.no_browser);
    let remote = match (&browser, args.remote) {
        (_, true) => true,
        (Browser::Unavailable(reason), false) => {
            eprintln!("{reason}: signing in on another device instead (as with --remote)");
            true
        }
        _ => false,
    };
    let state = authorize::new_state();
    if remote {
        let base = authorize::base_url(&setup.aws, region).await?;
        let ctx = setup.ctx.clone();
        let mut source = Pasted::new(&base, move || read_code(&ctx));
        let pending = authorize::start(&setup.aws, region, &source, state).await?;
        eprintln!(
            "Sign in on any device: open this URL in a browser there\n\n  {}\n\nthen paste here the code the page shows.",
            pending.url
        );
        let (ctx, aws) = (&setup.ctx, &setup.aws);
        let logged_in = authorize::finish(ctx, aws, profile, pending, &mut source, timeout).await?;
        return Ok((logged_in, None));
    }
    let mut source = Loopback::bind(&state, crate::settings::spinner(&setup.ctx)).await?;
    let pending = authorize::start(&setup.aws, region, &source, state).await?;
    match browser {
        Browser::Open => eprintln!(
            "Signing in to AWS in your browser.\nIf no browser opens, open this URL in a browser on this computer:\n\n  {}\n",
            pending.url
        ),
        _ => eprintln!(
            "To sign in, open this URL in a browser on this computer:\n\n  {}\n",
            pending.url
        ),
    }
    if browser == Browser::Open {
        match browser::open(&pending.url).await {
            Ok(handoff) => handoff.detach(),
            Err(err) => eprintln!("could not start a browser ({err}): open the URL above yourself"),
        }
    }
    let (ctx, aws) = (&setup.ctx, &setup.aws);
    let logged_in = authorize::finish(ctx, aws, profile, pending, &mut source, timeout).await?;
    Ok((logged_in, Some(source)))
}

/// `login_session` (and `region`, when the profile had none) into the profile, after asking
/// before replacing another identity's session.
fn save_in_profile(
    setup: &Setup,
    args: &LoginArgs,
    profile: &str,
    add_region: bool,
    region: &str,
    logged_in: &authorize::LoggedIn,
) -> anyhow::Result<()> {
    // Another identity than the profile's: replacing it is the person's call (the AWS CLI
    // asks too). The new session stays cached either way.
    if let Some(old) = setup
        .profiles
        .get(profile, "login_session")
        .map(str::trim)
        .filter(|old| !old.is_empty() && *old != logged_in.session_arn)
    {
        let (old, new) = (escape(old), escape(&logged_in.session_arn));
        let cached = logged_in.path.display();
        super::confirm(
            &setup.ctx,
            args.yes,
            &format!("Profile {profile} has login_session {old}; replace it with {new}? [y/N] "),
            Problem::usage(format!(
                "you signed in as {new}, not as the login_session of profile {profile} ({old}); there is no terminal to confirm replacing it (the new session is cached in {cached})"
            ))
            .hint(
                "add --yes to replace it, or sign in with a profile of its own: aws-cred login --profile NAME",
            ),
            Problem::usage(format!(
                "profile {profile} keeps login_session {old}; the session of {new} is cached in {cached} but not saved in the profile"
            ))
            .hint("to use both, sign in with a profile of its own: aws-cred login --profile NAME"),
        )?;
    }

    let mut entries = vec![("login_session", logged_in.session_arn.as_str())];
    if add_region {
        entries.push(("region", region));
    }
    let config = &setup.profiles.files.config;
    writer::write_profile(&WriteRequest::edit(
        config,
        profile,
        HeaderStyle::Config,
        &entries,
        &[],
    ))
    .map_err(Problem::from)?;
    eprintln!(
        "signed in as {}; login_session saved in profile {profile} of {}, credentials cached in {}",
        logged_in.session_arn,
        config.display(),
        logged_in.path.display()
    );
    Ok(())
}

/// `AWS_CRED_LOGIN_TIMEOUT` seconds (1-3600; default 600, as the AWS CLI waits).
fn login_timeout(ctx: &crate::os::Context) -> anyhow::Result<Duration> {
    Ok(crate::settings::LOGIN_TIMEOUT.seconds(ctx, (1, 3600))?)
}

/// The pasted code: from the terminal when there is one, else the first line of stdin.
fn read_code(ctx: &crate::os::Context) -> Option<String> {
    if ctx.stdin_is_tty || ctx.stderr_is_tty {
        return ctx.prompt_line("Code: ");
    }
    ctx.read_stdin_line()
        .ok()
        .map(|line| line.trim().to_string())
        .filter(|line| !line.is_empty())
}

fn print(setup: &Setup, args: &LoginArgs, credentials: &Credentials) -> anyhow::Result<()> {
    super::warn_if_expiring(setup, credentials);
    super::deliver_credentials(setup, (&args.output).into(), credentials)
}
