//! `aws-cred console`: resolve credentials (the chain, or a Cognito sign-in), turn them into a
//! console sign-in URL (the `console` flow), then open it or print it. For SSO profiles,
//! `--sso-portal` builds the IAM Identity Center shortcut instead.
//!
//! The sign-in URL is a bearer credential: it leaves only through [`emit`] (stdout) or the
//! browser, never in a message.

use super::{Setup, emit};
use crate::aws::FALLBACK_REGION;
use crate::base::error::Problem;
use crate::base::secret::Secret;
use crate::chain::Kind;
use crate::cli::ConsoleArgs;
use crate::cognito;
use crate::console::links::{self, Place};
use crate::console::{self, Source};
use crate::os::browser::{self, Browser};
use crate::sso::SsoConfig;
use crate::sso::config::sso_of;
use std::time::Duration;

pub(crate) async fn run(setup: &Setup, args: &ConsoleArgs) -> anyhow::Result<()> {
    let place = place(args);
    let cognito = args.cognito_user.is_some() || args.cognito_guest;
    let region = setup
        .region
        .as_ref()
        .map(|r| r.name.clone())
        .unwrap_or_else(|| FALLBACK_REGION.to_string());
    // What can be checked without the network is checked first (a Cognito identity pool may
    // still choose the region: checked again below).
    if !cognito || setup.region.is_some() {
        console::check(&region, &place, args.duration)?;
    }
    if args.sso_portal {
        let url = sso_portal(setup, &region, &place)?;
        return deliver(setup, args, &url).await;
    }

    let (credentials, source, region) = if cognito {
        let obtained = super::obtain_cognito(
            setup,
            &cognito_settings(setup, args)?,
            &crate::cognito::obtain::Given::default(),
        )
        .await?;
        eprintln!(
            "console sign-in as Cognito identity {} (role session)",
            obtained.identity_id
        );
        (
            obtained.credentials,
            Source::RoleSession { chained: false },
            obtained.region,
        )
    } else {
        let resolution = setup.resolve(args.explain).await?;
        eprintln!(
            "console sign-in as {}: {}",
            resolution.kind.describe(),
            resolution.location
        );
        if sso_profile(setup).is_some() {
            eprintln!(
                "tip: --sso-portal opens this role through the IAM Identity Center portal instead (multi-session sign-in)"
            );
        }
        (resolution.credentials, source_of(resolution.kind), region)
    };

    let sign_in = console::sign_in(console::Request {
        aws: &setup.aws,
        credentials,
        source,
        duration: args.duration,
        region: &region,
        place,
        logout_first: args.logout_first,
    })
    .await?;
    for note in &sign_in.notes {
        eprintln!("note: {note}");
    }
    eprintln!("{}", how_long(setup, &sign_in));
    eprintln!(
        "the sign-in URL works for 15 minutes; it is a secret (anyone holding it is signed in as you)"
    );
    deliver(setup, args, &sign_in.url).await
}

/// How long the console session will last, for stderr.
fn how_long(setup: &Setup, sign_in: &console::SignIn) -> String {
    let now = setup.ctx.now();
    match (sign_in.session_duration, sign_in.credentials_expiry) {
        (Some(seconds), _) => format!(
            "the console session lasts until {} (--duration)",
            crate::base::time::describe_expiry(now, now + Duration::from_secs(seconds.into()))
        ),
        (None, Some(expiry)) => format!(
            "the console session lasts as long as the credentials: until {}",
            crate::base::time::describe_expiry(now, expiry)
        ),
        (None, None) => "the console session lasts as long as the credentials".to_string(),
    }
}

fn place(args: &ConsoleArgs) -> Place {
    match (&args.service, &args.destination) {
        (_, Some(url)) => Place::Url(url.clone()),
        (Some(service), None) => Place::Service(service.clone()),
        (None, None) => Place::Home,
    }
}

/// What the chain's kind of credentials means for console federation.
fn source_of(kind: Kind) -> Source {
    match kind {
        Kind::LongTerm => Source::LongTerm,
        Kind::MfaSession => Source::MfaSession,
        Kind::RoleSession { chained } => Source::RoleSession { chained },
        Kind::Session => Source::Unknown,
    }
}

/// The Cognito settings for a user (or guests), every other setting from
/// AWS_CRED_COGNITO_* variables and the profile's cognito_* keys.
fn cognito_settings(setup: &Setup, args: &ConsoleArgs) -> anyhow::Result<cognito::Settings> {
    let flags = cognito::Flags {
        user: args.cognito_user.as_deref(),
        unauthenticated: args.cognito_guest,
        ..cognito::Flags::default()
    };
    Ok(cognito::Settings::resolve(
        &setup.ctx,
        &setup.profiles,
        &flags,
    )?)
}

/// The selected profile's SSO settings, when it is an SSO profile.
fn sso_profile(setup: &Setup) -> Option<SsoConfig> {
    let profiles = &setup.profiles;
    let profile = profiles.set.get_profile(&profiles.selected)?;
    sso_of(profiles, profile).ok().flatten()
}

/// The IAM Identity Center shortcut for the profile's account and role. Without `--service`
/// or `--destination` it names no destination, so the permission set's relay state applies.
fn sso_portal(setup: &Setup, region: &str, place: &Place) -> anyhow::Result<Secret> {
    let profiles = &setup.profiles;
    let name = &profiles.selected;
    let profile = profiles.selected_profile()?;
    let sso = sso_of(profiles, profile)?.ok_or_else(|| {
        Problem::usage(format!(
            "--sso-portal: profile {name:?} is not an IAM Identity Center (SSO) profile"
        ))
        .hint("without --sso-portal, aws-cred console signs in with the profile's credentials")
    })?;
    let (Some(account), Some(role)) = (&sso.account_id, &sso.role_name) else {
        return Err(Problem::usage(format!(
            "--sso-portal: profile {name:?} has no sso_account_id / sso_role_name"
        ))
        .hint("add both to the profile (aws-cred sso-login --profile P lists your accounts and roles)")
        .into());
    };
    let destination = match place {
        Place::Home => None,
        other => {
            let partition = console::partition::Partition::of_region(region)?;
            Some(links::destination(partition, region, other)?)
        }
    };
    let url = links::portal_url(&sso.start_url, account, role, destination.as_deref())?;
    eprintln!(
        "IAM Identity Center shortcut: role {role} in account {account}, through {}",
        sso.start_url
    );
    Ok(Secret::new(url))
}

/// How long `console` waits for the browser to fetch the one-time loopback URL.
const HANDOFF_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Open the URL in the browser, or write it to stdout (`--print`, `--no-browser`, or no
/// browser here). Never on stderr.
async fn deliver(setup: &Setup, args: &ConsoleArgs, url: &Secret) -> anyhow::Result<()> {
    let line = format!("{}\n", url.expose());
    if args.print {
        return emit(&line);
    }
    match browser::choose(&setup.ctx, args.no_browser) {
        Browser::PrintOnly => {
            eprintln!("--no-browser: the URL is on stdout; open it within 15 minutes");
            emit(&line)
        }
        Browser::Unavailable(reason) => {
            eprintln!(
                "no browser to open here ({reason}): the URL is on stdout; open it within 15 minutes"
            );
            emit(&line)
        }
        Browser::Open => match browser::open(url.expose()).await {
            Ok(mut handoff) => {
                // The browser got a one-time loopback URL; the real one goes only to it.
                if handoff
                    .served(tokio::time::Instant::now() + HANDOFF_WAIT)
                    .await
                {
                    eprintln!("opened the console in the browser");
                    return Ok(());
                }
                let others = handoff.refused().other_users();
                Err(Problem::failure(format!(
                    "the browser started but did not ask for the page within {} seconds{others}",
                    HANDOFF_WAIT.as_secs()
                ))
                .hint(
                    "use --print to get the URL on stdout and open it yourself (within 15 minutes)",
                )
                .into())
            }
            Err(err) => Err(Problem::failure(format!(
                "could not start the browser: {}",
                err.to_string().replace(url.expose(), "<sign-in URL>")
            ))
            .hint("set BROWSER to your browser's command, or use --print to get the URL on stdout")
            .into()),
        },
    }
}
