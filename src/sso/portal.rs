//! The SSO portal (`portal.sso.<region>.amazonaws.com`, unsigned, bearer token in
//! `x-amz-sso_bearer_token`): role credentials, and the accounts and roles assigned to the user.

use super::SsoConfig;
use crate::aws::{self, Aws, Target};
use crate::base::error::Problem;
use crate::base::secret::Secret;
use crate::base::text::escape;
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::fmt::Debug;

/// Pages one listing may take before it is an error (never a silent cut-off): 100,000 pages,
/// 10 million accounts at the portal's 100 a page.
const MAX_PAGES: usize = 100_000;

/// The paging rule of both listings: every page is read; a `nextToken` seen before is an error
/// (a portal answering in circles), and so is a listing over [`MAX_PAGES`]. A listing has
/// either ended normally or failed, so `sso populate --prune` never acts on part of one.
struct Pager {
    operation: String,
    target: String,
    seen: std::collections::HashSet<String>,
    pages: usize,
}

impl Pager {
    fn new(operation: impl Into<String>, target: &Target) -> Self {
        Pager {
            operation: operation.into(),
            target: target.describe(),
            seen: std::collections::HashSet::new(),
            pages: 0,
        }
    }

    /// After a page: the token of the next one, `None` when the listing ended.
    fn next(&mut self, token: Option<String>) -> Result<Option<String>, PortalError> {
        self.pages += 1;
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        let problem = if !self.seen.insert(token.clone()) {
            format!(
                "{}: {} sent a nextToken it had sent before (page {}); the listing would never end",
                self.operation, self.target, self.pages
            )
        } else if self.pages >= MAX_PAGES {
            format!(
                "{}: {} still had more after {MAX_PAGES} pages; stopped rather than use part of the listing",
                self.operation, self.target
            )
        } else {
            return Ok(Some(token));
        };
        Err(PortalError::other(
            Problem::failure(problem)
                .hint("nothing was changed; retry later, and if it persists check AWS_ENDPOINT_URL_SSO and any proxy")
                .into(),
        ))
    }
}

/// The portal rejected the token: revoked, or expired early (exit 4, log in again).
pub(crate) const UNAUTHORIZED: &str = "UnauthorizedException";

/// A portal error: the one service-error type.
pub(crate) use crate::aws::ServiceError as PortalError;

fn portal_error<E, R>(
    config: &SsoConfig,
    operation: &str,
    target: &Target,
    err: SdkError<E, R>,
    forbidden: impl FnOnce() -> Problem,
) -> PortalError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    let code = aws::error_code(&err).map(|(c, _)| c.to_string());
    let error = match code.as_deref() {
        Some(UNAUTHORIZED) => Problem::expired(format!(
            "{operation}: {} rejected the SSO token for {} (revoked, or ended early)",
            target.describe(),
            config.start_url
        ))
        .hint(format!("run {}", config.login_command()))
        .into(),
        // Not in the API model, but what AWS answers for a role the user is not assigned.
        Some("ForbiddenException") => forbidden().into(),
        _ => aws::failure(operation, target, err),
    };
    PortalError { code, error }
}

/// GetRoleCredentials with a token.
pub(crate) async fn role_credentials(
    aws: &Aws,
    config: &SsoConfig,
    account_id: &str,
    role_name: &str,
    token: &Secret,
) -> Result<Credentials, PortalError> {
    let (client, target) = aws.sso(&config.region, None);
    let answer = client
        .get_role_credentials()
        .account_id(account_id)
        .role_name(role_name)
        .access_token(token.expose())
        .send()
        .await;
    let out = match answer {
        Ok(out) => out,
        Err(err) => {
            let operation =
                format!("GetRoleCredentials for role {role_name} in account {account_id}");
            let failed = portal_error(config, &operation, &target, err, || {
                not_assigned(account_id, role_name)
            });
            if !failed.is("ForbiddenException") {
                return Err(failed);
            }
            return Err(PortalError {
                code: failed.code,
                error: not_assigned(account_id, role_name)
                    .hint(not_assigned_hint(aws, config, token, account_id, role_name).await)
                    .into(),
            });
        }
    };
    let incomplete = |what: &str| {
        PortalError {
        code: None,
        error: Problem::failure(format!(
            "GetRoleCredentials at {} returned {what}",
            target.describe()
        ))
        .hint("retry; if it persists, check that the endpoint (AWS_ENDPOINT_URL_SSO) is the real service")
        .into(),
    }
    };
    let role = out
        .role_credentials
        .ok_or_else(|| incomplete("no credentials"))?;
    let (Some(access_key), Some(secret)) = (role.access_key_id, role.secret_access_key) else {
        return Err(incomplete("incomplete credentials"));
    };
    let mut builder = Credentials::builder()
        .access_key_id(access_key)
        .secret_access_key(secret)
        .account_id(account_id)
        .provider_name(crate::base::PROVIDER);
    builder.set_session_token(role.session_token);
    // The portal gives epoch milliseconds; a missing one (read as 0) is a truncated answer,
    // not credentials that never expire.
    if role.expiration == 0 {
        return Err(incomplete("credentials without an expiration"));
    }
    let expiry = crate::base::time::from_unix_millis("expiration", role.expiration)
        .map_err(|err| incomplete(&format!("credentials whose {err}")))?;
    builder.set_expiry(Some(expiry));
    Ok(builder.build())
}

/// GetRoleCredentials' ForbiddenException: the user is not assigned this role.
fn not_assigned(account_id: &str, role_name: &str) -> Problem {
    Problem::failure(format!(
        "no access to role {} in account {} for this SSO user (ForbiddenException: No access)",
        escape(role_name),
        escape(account_id)
    ))
}

/// What to do about a role the user lacks: the accounts and roles the token has, when the
/// portal says.
async fn not_assigned_hint(
    aws: &Aws,
    config: &SsoConfig,
    token: &Secret,
    account_id: &str,
    role_name: &str,
) -> String {
    match seen_by(aws, config, token).await {
        Some(seen) => format!(
            "this SSO user has {seen}; fix the profile's sso_account_id / sso_role_name, or ask your administrator to assign {} in {}",
            escape(role_name),
            escape(account_id)
        ),
        None => format!(
            "ask your administrator to assign the permission set, or pick another: {} without --account/--role lists yours",
            config.login_command()
        ),
    }
}

/// The accounts shown in a "no access" hint with their roles; beyond them, only a count.
const ASSIGNMENTS_SHOWN: usize = 10;

/// What the token can use, in a line (`111111111111 (Dev): Admin, ReadOnly; …`), for the
/// hint of a role it lacks; `None` when the portal will not say.
async fn seen_by(aws: &Aws, config: &SsoConfig, token: &Secret) -> Option<String> {
    let (seen, accounts) = assignments_of_first(aws, config, token, ASSIGNMENTS_SHOWN)
        .await
        .ok()?;
    if accounts == 0 {
        return Some("no account at all".to_string());
    }
    let mut parts: Vec<String> = seen
        .iter()
        .map(|Assignment { account, roles }| {
            let name = account
                .name
                .as_deref()
                .map_or(String::new(), |name| format!(" ({})", escape(name)));
            let roles: Vec<_> = roles.iter().map(|r| escape(r)).collect();
            format!("{}{name}: {}", escape(&account.id), roles.join(", "))
        })
        .collect();
    if accounts > seen.len() {
        parts.push(format!(
            "and {} more accounts (aws-cred sso roles lists them all)",
            accounts - seen.len()
        ));
    }
    Some(parts.join("; "))
}

/// Logout: the portal ends the session behind the token (what `aws sso logout` calls before it
/// deletes the token file).
pub(crate) async fn logout(aws: &Aws, region: &str, token: &Secret) -> anyhow::Result<()> {
    let (client, target) = aws.sso(region, None);
    client
        .logout()
        .access_token(token.expose())
        .send()
        .await
        .map_err(|err| aws::failure("Logout", &target, err))?;
    Ok(())
}

/// One account and its roles, as the portal lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Assignment {
    pub account: Account,
    pub roles: Vec<String>,
}

/// An account assigned to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Account {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// ListAccounts, every page.
pub(crate) async fn list_accounts(
    aws: &Aws,
    config: &SsoConfig,
    token: &Secret,
) -> Result<Vec<Account>, PortalError> {
    let (client, target) = aws.sso(&config.region, None);
    let mut accounts = Vec::new();
    let mut next: Option<String> = None;
    let mut pager = Pager::new("ListAccounts", &target);
    loop {
        let out = client
            .list_accounts()
            .access_token(token.expose())
            .max_results(100)
            .set_next_token(next.take())
            .send()
            .await
            .map_err(|err| {
                portal_error(config, "ListAccounts", &target, err, || {
                    Problem::failure("ListAccounts: no access (ForbiddenException)")
                })
            })?;
        for account in out.account_list.unwrap_or_default() {
            if let Some(id) = account.account_id {
                accounts.push(Account {
                    id,
                    name: account.account_name,
                    email: account.email_address,
                });
            }
        }
        match pager.next(out.next_token)? {
            Some(token) => next = Some(token),
            None => return Ok(accounts),
        }
    }
}

/// ListAccountRoles for one account, every page: the role names.
pub(crate) async fn list_roles(
    aws: &Aws,
    config: &SsoConfig,
    token: &Secret,
    account_id: &str,
) -> Result<Vec<String>, PortalError> {
    let (client, target) = aws.sso(&config.region, None);
    let mut roles = Vec::new();
    let mut next: Option<String> = None;
    let mut pager = Pager::new(
        format!("ListAccountRoles for account {account_id}"),
        &target,
    );
    loop {
        let out = client
            .list_account_roles()
            .access_token(token.expose())
            .account_id(account_id)
            .max_results(100)
            .set_next_token(next.take())
            .send()
            .await
            .map_err(|err| {
                portal_error(
                    config,
                    &format!("ListAccountRoles for account {account_id}"),
                    &target,
                    err,
                    || {
                        Problem::failure(format!(
                            "no access to account {account_id} for this SSO user (ForbiddenException)"
                        ))
                    },
                )
            })?;
        roles.extend(
            out.role_list
                .unwrap_or_default()
                .into_iter()
                .filter_map(|r| r.role_name),
        );
        match pager.next(out.next_token)? {
            Some(token) => next = Some(token),
            None => return Ok(roles),
        }
    }
}

/// Every account and its roles (all pages of each listing).
pub(crate) async fn assignments(
    aws: &Aws,
    config: &SsoConfig,
    token: &Secret,
) -> Result<Vec<Assignment>, PortalError> {
    Ok(assignments_of_first(aws, config, token, usize::MAX)
        .await?
        .0)
}

/// The first `most` accounts with their roles, and how many accounts there are in all.
async fn assignments_of_first(
    aws: &Aws,
    config: &SsoConfig,
    token: &Secret,
    most: usize,
) -> Result<(Vec<Assignment>, usize), PortalError> {
    let accounts = list_accounts(aws, config, token).await?;
    let total = accounts.len();
    let mut out = Vec::new();
    for account in accounts.into_iter().take(most) {
        let roles = list_roles(aws, config, token, &account.id).await?;
        out.push(Assignment { account, roles });
    }
    Ok((out, total))
}
