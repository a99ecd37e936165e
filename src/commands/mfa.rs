//! `aws-cred mfa [CODE]`: the morning MFA session, for plain users and role profiles.

use super::{Delivery, Setup, deliver};
use crate::aws::sts;
use crate::base::error::Problem;
use crate::base::text::{escape, validate_mfa_code};
use crate::chain::plan::{self, Base, Planned, RoleStep};
use crate::cli::MfaArgs;
use crate::mfa::{self, CachedSession, Serial};
use crate::output::Exports;
use crate::profile::long_term::LongTerm;
use crate::profile::{Profiles, Selection};
use crate::settings;
use aws_credential_types::Credentials;

/// What the session is made from, and which roles to assume with it.
struct Source {
    long_term: LongTerm,
    serial: Option<Serial>,
    roles: Vec<RoleStep>,
}

pub(crate) async fn run(setup: &Setup, args: &MfaArgs) -> anyhow::Result<()> {
    // Everything that can be checked without the network is checked first.
    if let Some(code) = &args.code {
        validate_mfa_code(&mfa::normalize_code(code))?;
    }
    mfa::validate_duration(args.duration_seconds)?;
    if let Some(seconds) = args.role_duration_seconds
        && !(900..=43_200).contains(&seconds)
    {
        return Err(Problem::usage(format!(
            "--role-duration-seconds {seconds} is out of range (900-43200, and at most the role's maximum)"
        ))
        .into());
    }
    let margin = mfa::margin(&setup.ctx, &setup.profiles, args.margin_minutes)?;
    let source = find_source(setup)?;
    let serial = serial(setup, args, &source).await?;
    let write_target = write_target(setup, args, &source)?;

    let region = setup.sts_region();
    let (session, reused) =
        session(setup, args, &source.long_term, &serial, region, margin).await?;
    let mut creds = session
        .credentials()
        .ok_or_else(|| anyhow::anyhow!("the MFA session has an unreadable expiration"))?;

    let mut assumed = None;
    let last = source.roles.len().saturating_sub(1);
    for (i, step) in source.roles.iter().enumerate() {
        let mut role = step.role.clone();
        if i == last {
            role.duration_seconds = args.role_duration_seconds.or(role.duration_seconds);
        }
        creds = assume(setup, region, creds, &role, i > 0).await?;
        assumed = Some(role.role_arn);
    }

    let now = setup.ctx.now();
    let expiry = creds
        .expiry()
        .map(|t| crate::base::time::describe_expiry(now, t))
        .unwrap_or_default();
    let who = match (&assumed, &session.arn) {
        (Some(role), _) => format!("role {role}"),
        (None, Some(arn)) => arn.clone(),
        (None, None) => source.long_term.describe(),
    };
    eprintln!(
        "MFA session for {}, valid until {expiry}{}",
        escape(&who),
        if reused {
            " (reused today's session; --force gets a new one)"
        } else {
            ""
        }
    );
    let exports = Exports {
        credentials: &creds,
        region: setup.region.as_ref().map(|r| r.name.as_str()),
        unset_profile: true,
        extras: Vec::new(),
    };
    deliver(
        setup,
        Delivery {
            format: args.format,
            write_profile: write_target.as_deref(),
            overwrite_keys: args.overwrite_keys,
            print: args.print,
        },
        &exports,
    )
}

/// Long-term keys, never yesterday's session: a role profile's source profile, the
/// `[P-long-term]` convention, the profile's own keys, or long-term keys in the environment
/// when no profile was chosen.
fn find_source(setup: &Setup) -> anyhow::Result<Source> {
    let profiles = &setup.profiles;
    let ctx = &setup.ctx;
    let name = profiles.selected.as_str();
    let env_keys = crate::chain::env_credentials(ctx)?;

    if profiles.selection == Selection::Default
        && let Some(found) = &env_keys
    {
        if found.credentials.session_token().is_none() {
            return Ok(Source {
                long_term: LongTerm {
                    profile: None,
                    credentials: found.credentials.clone(),
                    convention_for: None,
                    keyring_entry: None,
                },
                serial: None,
                roles: Vec::new(),
            });
        }
        eprintln!(
            "note: ignoring the session keys in the environment (AWS_SESSION_TOKEN is set); using profile {name}"
        );
    }

    // Role profiles: role_arn + mfa_serial (+ source_profile).
    if profiles.get(name, "role_arn").is_some() {
        return role_source(profiles, name);
    }

    match crate::profile::long_term::long_term_of_profile(profiles, name) {
        Some(result) => Ok(Source {
            long_term: result?,
            serial: mfa::profile_serial(profiles, name),
            roles: Vec::new(),
        }),
        None => Err(no_keys(profiles, name, env_keys.is_some()).into()),
    }
}

/// A role profile's source: the long-term keys its plan starts from, the first `mfa_serial`
/// along the way, and the roles to assume.
fn role_source(profiles: &Profiles, name: &str) -> anyhow::Result<Source> {
    let Planned::Plan(plan) = plan::plan(profiles)? else {
        return Err(Problem::usage(format!("profile {name} has no credentials")).into());
    };
    let (Base::Static { profile: base } | Base::Keyring { profile: base, .. }) = &plan.base else {
        return Err(Problem::usage(format!(
            "profile {name} gets its source credentials from {:?}, not long-term keys; MFA sessions need an IAM user's keys",
            plan.base
        ))
        .into());
    };
    let long_term = match crate::profile::long_term::long_term_of_profile(profiles, base) {
        Some(result) => result?,
        None => {
            return Err(Problem::usage(format!("source profile {base} has no keys")).into());
        }
    };
    let serial = plan.roles.iter().find_map(|s| {
        s.mfa_serial.as_ref().map(|v| Serial {
            value: v.trim().to_string(),
            origin: format!("mfa_serial of profile {}", s.profile),
        })
    });
    Ok(Source {
        long_term,
        serial,
        roles: plan.roles,
    })
}

/// No long-term keys for profile `name`: it does not exist (when named explicitly), or has
/// none (`env_session`: and the environment's keys are a session).
fn no_keys(profiles: &Profiles, name: &str, env_session: bool) -> Problem {
    if let Some(missing) = profiles
        .no_such_profile()
        .filter(|_| name == profiles.selected)
    {
        return missing;
    }
    Problem::usage(format!(
        "no long-term keys for an MFA session: profile {name} has none{}",
        if env_session {
            ", and the keys in the environment are a session"
        } else {
            ""
        }
    ))
    .hint(format!(
        "put the IAM user's access keys in [{name}] or [{}] of {}, or in the OS keyring: aws-cred keys add --profile {name}",
        crate::profile::long_term::long_term_name(name),
        profiles.files.credentials.display()
    ))
}

async fn serial(setup: &Setup, args: &MfaArgs, source: &Source) -> anyhow::Result<Serial> {
    let serial = if let Some(value) = &args.serial_number {
        Serial {
            value: value.trim().to_string(),
            origin: "--serial-number".into(),
        }
    } else if let Some(value) = setup.ctx.var("AWS_MFA_SERIAL") {
        Serial {
            value: value.to_string(),
            origin: "AWS_MFA_SERIAL".into(),
        }
    } else if let Some(serial) = &source.serial {
        serial.clone()
    } else {
        discover_serial(setup, source).await?
    };
    let valid = (9..=256).contains(&serial.value.len())
        && serial
            .value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=/:,.@-".contains(c));
    if !valid {
        return Err(Problem::usage(format!(
            "the MFA serial {:?} (from {}) is not a device serial or ARN",
            serial.value, serial.origin
        ))
        .hint("it looks like arn:aws:iam::123456789012:mfa/NAME or a hardware serial such as GAHT12345678")
        .into());
    }
    Ok(serial)
}

/// No serial configured: ask IAM which devices the user has; exactly one is used (and we say
/// how to save it), none or several is an error that says what to do.
async fn discover_serial(setup: &Setup, source: &Source) -> anyhow::Result<Serial> {
    let profile = &setup.profiles.selected;
    let save = |serial: &str| format!("aws configure set mfa_serial {serial} --profile {profile}");
    let how = format!(
        "find it with `aws iam list-mfa-devices` (or the IAM console), then save it once:\n{}\nor pass --serial-number / set AWS_MFA_SERIAL",
        save("arn:aws:iam::ACCOUNT:mfa/NAME")
    );
    let devices =
        match mfa::list_mfa_devices(&setup.aws, source.long_term.credentials.clone()).await {
            Ok(devices) => devices,
            Err(err) => {
                return Err(err.context(
                Problem::usage(format!(
                    "no MFA device configured for profile {profile}, and IAM would not list them"
                ))
                .hint(how),
            ));
            }
        };
    match devices.as_slice() {
        [one] => {
            eprintln!(
                "using MFA device {} (the only one IAM lists for this user); save it with:\n  {}",
                escape(one),
                escape(&save(one))
            );
            Ok(Serial {
                value: one.clone(),
                origin: "IAM ListMFADevices".into(),
            })
        }
        [] => Err(Problem::usage(format!(
            "no MFA device is assigned to the IAM user of profile {profile}"
        ))
        .hint("assign a virtual MFA device in the IAM console (Security credentials), then retry")
        .into()),
        many => Err(Problem::usage(format!(
            "the IAM user of profile {profile} has {} MFA devices: {}",
            many.len(),
            many.join(", ")
        ))
        .hint(format!(
            "pick one with --serial-number, or save it: {}",
            save(&many[0])
        ))
        .into()),
    }
}

/// `--write-profile` target; without a name, the profile whose keys are in `[P-long-term]`.
/// Never the section the long-term keys come from.
fn write_target(setup: &Setup, args: &MfaArgs, source: &Source) -> anyhow::Result<Option<String>> {
    let Some(requested) = &args.write_profile else {
        return Ok(None);
    };
    let target = if requested.is_empty() {
        match &source.long_term.convention_for {
            Some(name) => name.clone(),
            None => {
                return Err(Problem::usage(
                    "--write-profile needs a NAME here (the profile's keys are not in [PROFILE-long-term])",
                )
                .hint(format!(
                    "e.g. --write-profile {}-mfa",
                    setup.profiles.selected
                ))
                .into());
            }
        }
    } else {
        requested.clone()
    };
    if source.long_term.profile.as_deref() == Some(target.as_str()) {
        return Err(Problem::usage(format!(
            "refusing to write the session over [{target}]: that section holds the long-term keys it is made from"
        ))
        .hint(format!(
            "move the keys to [{}] (then --write-profile writes [{target}]), or write elsewhere",
            crate::profile::long_term::long_term_name(&target)
        ))
        .into());
    }
    Ok(Some(target))
}

/// A cached session with enough time left, or a new one with a code; under a lock, so
/// concurrent runs use one code once.
async fn session(
    setup: &Setup,
    args: &MfaArgs,
    long_term: &LongTerm,
    serial: &Serial,
    region: &str,
    margin: std::time::Duration,
) -> anyhow::Result<(CachedSession, bool)> {
    let cache = mfa::cache(&setup.ctx)?;
    let key = mfa::cache_key(long_term.credentials.access_key_id(), &serial.value);
    // Async, so Ctrl-C still works while another run holds the session.
    let _lock = cache
        .lock_async(&key, crate::cache::LOCK_TIMEOUT, || {
            eprintln!("waiting for another aws-cred that is getting the same MFA session...")
        })
        .await?;
    let now = setup.ctx.now();
    if !args.force
        && let Some((session, _)) = mfa::cached(&cache, &key, now, margin)?
    {
        return Ok((session, true));
    }
    let code = match &args.code {
        Some(code) => mfa::normalize_code(code),
        None => match settings::MFA_PROCESS.resolve(None, &setup.ctx, Some(&setup.profiles)) {
            Some(found) => code_from_process(&found).await?,
            None => ask_code(setup, serial).await?,
        },
    };
    let creds = mfa::get_session_token(
        &setup.aws,
        region,
        long_term.credentials.clone(),
        serial,
        &code,
        args.duration_seconds,
    )
    .await?;
    let arn = sts::get_caller_identity(&setup.aws, region, creds.clone())
        .await
        .ok()
        .map(|identity| identity.arn);
    let session = CachedSession {
        version: 1,
        serial: serial.value.clone(),
        arn,
        access_key_id: creds.access_key_id().to_string(),
        secret_access_key: creds.secret_access_key().to_string(),
        session_token: creds.session_token().unwrap_or_default().to_string(),
        expiration: creds
            .expiry()
            .map(crate::base::time::rfc3339)
            .unwrap_or_default(),
    };
    cache.write(&key, &session)?;
    Ok((session, false))
}

/// How long `mfa_process` may take (a hardware key may wait for a touch).
const MFA_PROCESS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The code `mfa_process` prints: its first line, `123 456` and `123-456` as `123456`. The
/// command runs without a shell, with the terminal (a key may ask for a touch or a PIN), at most
/// [`MFA_PROCESS_TIMEOUT`] and 4 KiB of output; what it printed is never shown (it is a code).
async fn code_from_process(found: &settings::Value) -> anyhow::Result<String> {
    use crate::os::process::{RunError, Terminal, run_argv};
    let origin = found.source.to_string();
    let fail = |what: String| {
        Problem::failure(format!("mfa_process (from {origin}) {what}"))
            .hint("run the command by hand to see what it prints; it must print the 6-digit code on its first line")
    };
    let argv = crate::base::cmdline::split_native(&found.value)
        .map_err(|err| Problem::usage(format!("mfa_process (from {origin}): {err}")))?;
    let done = run_argv(&argv, &[], MFA_PROCESS_TIMEOUT, 4096, Terminal::Shared)
        .await
        .map_err(|err| match err {
            RunError::Timeout(limit) => {
                fail(format!("did not finish within {} s", limit.as_secs()))
            }
            other => fail(format!("could not be run: {other}")),
        })?;
    if !done.status.success() {
        return Err(fail(format!(
            "failed ({}); its own message is above",
            done.status
        ))
        .into());
    }
    let text = String::from_utf8_lossy(&done.stdout);
    let code = mfa::normalize_code(text.lines().next().unwrap_or("").trim());
    validate_mfa_code(&code)
        .map_err(|_| fail("did not print a 6-digit code on its first line".into()))?;
    Ok(code)
}

/// How many times a malformed code is asked for again.
const CODE_ATTEMPTS: usize = 3;

/// The code, asked at the terminal: `123 456` and `123-456` count as `123456`; a malformed
/// answer is asked for again, up to [`CODE_ATTEMPTS`] times.
async fn ask_code(setup: &Setup, serial: &Serial) -> anyhow::Result<String> {
    let mut last_error = None;
    for _ in 0..CODE_ATTEMPTS {
        let prompt = format!("MFA code for {}: ", escape(&serial.value));
        // Off the runtime's thread, so Ctrl-C is handled while the person types.
        let ctx = setup.ctx.clone();
        let answer = tokio::task::spawn_blocking(move || ctx.prompt_line(&prompt))
            .await
            .ok()
            .flatten();
        let Some(answer) = answer else {
            return Err(Problem::expired(
                "no valid MFA session and no code given (no terminal to ask on)",
            )
            .hint(format!(
                "run aws-cred mfa CODE --profile {}",
                setup.profiles.selected
            ))
            .into());
        };
        let code = mfa::normalize_code(&answer);
        match validate_mfa_code(&code) {
            Ok(()) => return Ok(code),
            Err(problem) => {
                eprintln!("{}", problem.message);
                last_error = Some(problem);
            }
        }
    }
    Err(last_error
        .expect("at least one attempt")
        .hint(format!(
            "{CODE_ATTEMPTS} answers were not a 6-digit code; run the command again"
        ))
        .into())
}

/// Make sure the selected profile has a valid MFA session, asking for the code at the terminal
/// when none is cached (the inline prompt of `export`, `exec`, `whoami`, `console`, `token`):
/// the session is made and cached exactly as `aws-cred mfa` makes it. Nothing goes to stdout.
pub(crate) async fn session_for_profile(setup: &Setup) -> anyhow::Result<()> {
    let args = MfaArgs {
        code: None,
        serial_number: None,
        duration_seconds: mfa::DEFAULT_DURATION,
        role_duration_seconds: None,
        margin_minutes: None,
        format: None,
        write_profile: None,
        overwrite_keys: false,
        force: false,
        print: false,
    };
    let margin = mfa::margin(&setup.ctx, &setup.profiles, None)?;
    let source = find_source(setup)?;
    let serial = serial(setup, &args, &source).await?;
    let region = setup.sts_region();
    let (session, reused) =
        session(setup, &args, &source.long_term, &serial, region, margin).await?;
    if !reused {
        eprintln!(
            "MFA session for {}, valid until {}",
            escape(&source.long_term.describe()),
            crate::base::time::describe_expiry(
                setup.ctx.now(),
                session
                    .credentials()
                    .and_then(|c| c.expiry())
                    .unwrap_or_else(|| setup.ctx.now())
            )
        );
    }
    Ok(())
}

async fn assume(
    setup: &Setup,
    region: &str,
    creds: Credentials,
    role: &sts::RoleRequest,
    chained: bool,
) -> anyhow::Result<Credentials> {
    sts::assume_role(&setup.aws, region, creds, role, setup.ctx.now())
        .await
        .map_err(|err| {
            let text = format!("{err:#}");
            if text.contains("DurationSeconds exceeds") || (chained && text.contains("1 hour")) {
                err.context(Problem::usage(format!(
                    "AWS caps sessions of roles assumed with another role's credentials (role chaining) at 1 hour; {} asked for more",
                    role.role_arn
                ))
                .hint("set duration_seconds = 3600 (or less) on the chained role profile, or --role-duration-seconds 3600"))
            } else {
                err
            }
        })
}
