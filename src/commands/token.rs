//! `aws-cred token eks|rds|dsql|kubeconfig`: auth tokens presigned from the chain's
//! credentials (see [`crate::token`]).

use super::{Setup, emit};
use crate::aws::sts::{self, RoleRequest};
use crate::base::error::Problem;
use crate::base::text::escape;
use crate::cli::{
    TokenCommand, TokenDsqlArgs, TokenEksArgs, TokenFormat, TokenKubeconfigArgs, TokenRdsArgs,
};
use crate::output;
use crate::token::{self, ApiVersion, TokenFor, kubeconfig};
use aws_credential_types::Credentials;
use std::time::{Duration, SystemTime};

/// The role session name `aws eks get-token --role-arn` uses.
const EKS_ROLE_SESSION: &str = "EKSGetTokenAuth";

pub(crate) async fn run(setup: &Setup, command: &TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Eks(args) => eks(setup, args).await,
        TokenCommand::Rds(args) => rds(setup, args).await,
        TokenCommand::Dsql(args) => dsql(setup, args).await,
        TokenCommand::Kubeconfig(args) => kubeconfig(setup, args),
    }
}

/// The region the token is signed for: a usage error (before any credential work) without one.
fn region<'s>(setup: &'s Setup, what: &str) -> Result<&'s str, Problem> {
    let region = setup.region.as_ref().map(|r| r.name.as_str()).ok_or_else(|| {
        Problem::usage(format!("{what} is signed for a region, and none is set"))
            .hint("pass --region (e.g. --region eu-west-1), set AWS_REGION, or add region = ... to the profile")
    })?;
    token::check_region(region)?;
    Ok(region)
}

fn check_role_arn(role_arn: Option<&str>) -> Result<(), Problem> {
    match role_arn {
        Some(arn) if !(arn.starts_with("arn:") && arn.contains(":role/")) => Err(Problem::usage(
            format!("--role-arn {} is not a role ARN", escape(arn)),
        )
        .hint("role ARNs look like arn:aws:iam::111111111111:role/eks-admin")),
        _ => Ok(()),
    }
}

/// The chain's credentials, refused when already expired.
async fn credentials(setup: &Setup) -> anyhow::Result<Credentials> {
    let resolution = setup.resolve(false).await?;
    super::refuse_expired(
        setup,
        &resolution.credentials,
        resolution.link.name(),
        "run the command again",
    )?;
    Ok(resolution.credentials)
}

async fn eks(setup: &Setup, args: &TokenEksArgs) -> anyhow::Result<()> {
    token::check_cluster(&args.cluster)?;
    check_role_arn(args.role_arn.as_deref())?;
    let region = region(setup, "an EKS token")?;
    let (api_version, warning) = ApiVersion::from_exec_info(setup.ctx.var("KUBERNETES_EXEC_INFO"));
    if let Some(warning) = warning {
        eprintln!("warning: {warning}");
    }
    let target = TokenFor {
        cluster: &args.cluster,
        region,
        role_arn: args.role_arn.as_deref(),
    };
    let now = setup.ctx.now();
    let cache = if args.no_cache {
        None
    } else {
        let cache = token::cache(&setup.ctx)?;
        let key = token::cache_key(&setup.ctx, &setup.profiles, &target);
        if let Some(cached) = token::cached(&cache, &key, now)? {
            return emit(&output::token::exec_credential(
                api_version.as_str(),
                &cached.token,
                cached.expiration,
            ));
        }
        Some((cache, key))
    };

    let mut creds = credentials(setup).await?;
    if let Some(role_arn) = &args.role_arn {
        let role = RoleRequest {
            role_arn: role_arn.clone(),
            session_name: Some(EKS_ROLE_SESSION.to_string()),
            ..RoleRequest::default()
        };
        creds = sts::assume_role(&setup.aws, region, creds, &role, now).await?;
    }
    let made = token::eks(&creds, &args.cluster, region, now);
    if let Some((cache, key)) = cache
        && let Err(err) = token::store(&cache, &key, &made, now)
    {
        eprintln!("warning: the token works but was not cached: {err:#}");
    }
    emit(&output::token::exec_credential(
        api_version.as_str(),
        &made.token,
        made.expiration,
    ))
}

/// Until when a database token works: its own lifetime, or the credentials' end if sooner.
fn db_expiration(creds: &Credentials, now: SystemTime, expires_secs: u64) -> SystemTime {
    let own = now + Duration::from_secs(expires_secs);
    creds.expiry().map_or(own, |expiry| own.min(expiry))
}

async fn rds(setup: &Setup, args: &TokenRdsArgs) -> anyhow::Result<()> {
    token::check_hostname(&args.hostname)?;
    if args.username.is_empty() {
        return Err(Problem::usage("--username needs the database user's name").into());
    }
    let region = region(setup, "an RDS token")?;
    let creds = credentials(setup).await?;
    let now = setup.ctx.now();
    let made = token::rds(
        &creds,
        &args.hostname,
        args.port,
        &args.username,
        region,
        now,
    );
    emit(&output::token::db_token(
        &made,
        db_expiration(&creds, now, token::DB_TOKEN_EXPIRES_SECS),
        args.format == TokenFormat::Json,
    ))
}

async fn dsql(setup: &Setup, args: &TokenDsqlArgs) -> anyhow::Result<()> {
    token::check_hostname(&args.hostname)?;
    let region = region(setup, "a DSQL token")?;
    let creds = credentials(setup).await?;
    let now = setup.ctx.now();
    let made = token::dsql(
        &creds,
        &args.hostname,
        args.admin,
        region,
        args.expires_in,
        now,
    );
    emit(&output::token::db_token(
        &made,
        db_expiration(&creds, now, args.expires_in),
        args.format == TokenFormat::Json,
    ))
}

fn kubeconfig(setup: &Setup, args: &TokenKubeconfigArgs) -> anyhow::Result<()> {
    token::check_cluster(&args.cluster)?;
    kubeconfig::check_server(&args.server)?;
    check_role_arn(args.role_arn.as_deref())?;
    let name = args.name.as_deref().unwrap_or(&args.cluster);
    if name.trim().is_empty() || name.chars().any(char::is_control) {
        return Err(Problem::usage("--name needs a name without control characters").into());
    }
    if args.command.trim().is_empty() {
        return Err(Problem::usage("--command needs a program").into());
    }
    let region = region(setup, "the plugin's EKS token")?;
    let ca = match &args.ca {
        Some(path) => {
            let pem = crate::os::fs::read_regular(path, crate::os::fs::MAX_TOKEN_FILE).map_err(
                |err| {
                    Problem::usage(format!("--ca {}: {err}", escape(&path.to_string_lossy())))
                        .hint("give the cluster's CA certificate file (PEM)")
                },
            )?;
            kubeconfig::check_ca(&pem)?;
            Some(pem)
        }
        None => None,
    };
    let profiles = &setup.profiles;
    let profile = profiles
        .selection
        .is_explicit()
        .then_some(profiles.selected.as_str());
    let entry = kubeconfig::Entry {
        name,
        cluster: &args.cluster,
        server: &args.server,
        ca_pem: ca.as_deref(),
        region,
        profile,
        role_arn: args.role_arn.as_deref(),
        command: &args.command,
    };
    if !args.write {
        return emit(&kubeconfig::render(&entry));
    }
    let path = match &args.kubeconfig {
        Some(path) => path.clone(),
        None => kubeconfig_path(&setup.ctx)?,
    };
    let merged = crate::profile::writer::edit_file(&path, crate::cache::LOCK_TIMEOUT, |text| {
        Ok(match kubeconfig::merge(text, &entry) {
            Ok(merged) => (Some(merged.text.clone()), Ok(merged)),
            Err(problem) => (None, Err(problem)),
        })
    })
    .map_err(crate::base::error::Problem::from)??;
    eprintln!(
        "{} the cluster, user and context {} in {}",
        if merged.replaced { "replaced" } else { "added" },
        escape(name),
        path.display()
    );
    if merged.set_current {
        eprintln!("current context: {}", escape(name));
    } else {
        eprintln!(
            "the current context stays; use this one with: kubectl config use-context {}",
            escape(name)
        );
    }
    Ok(())
}

/// kubectl's file: the first of `KUBECONFIG` (a path list), else `~/.kube/config`.
fn kubeconfig_path(ctx: &crate::os::Context) -> Result<std::path::PathBuf, Problem> {
    if let Some(list) = ctx.var_os("KUBECONFIG")
        && let Some(first) = std::env::split_paths(list).find(|p| !p.as_os_str().is_empty())
    {
        return Ok(first);
    }
    let home = ctx.home().ok_or_else(|| {
        Problem::usage("cannot find the home directory for ~/.kube/config")
            .hint("pass --kubeconfig FILE, or set HOME")
    })?;
    Ok(home.join(".kube").join("config"))
}
