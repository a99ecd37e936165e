//! `aws-cred sso-login`: log in to IAM Identity Center (or reuse / refresh the shared token),
//! then print the role credentials, or list the accounts and roles to pick from.

use super::Setup;
use crate::base::error::Problem;
use crate::base::secret::Secret;
use crate::base::text::{escape, escape_lines};
use crate::cli::SsoLoginArgs;
use crate::profile::Selection;
use crate::sso::SsoConfig;
use crate::sso::cache::Token;
use crate::sso::config::{sso_of, sso_session_config};
use crate::sso::interactive::{self, Interactive};
use crate::sso::portal::{self, PortalError, UNAUTHORIZED};
use crate::sso::token::{How, Obtained};

/// Accounts whose roles are listed one by one; past this, only the accounts are.
const MAX_ACCOUNTS_WITH_ROLES: usize = 50;

pub(crate) async fn run(setup: &Setup, args: &SsoLoginArgs) -> anyhow::Result<()> {
    // Everything that can be checked without the network is checked first.
    let config = sso_config(setup, args)?;
    check_account_and_role(args)?;
    let interactive = Interactive::from_env(
        &setup.ctx,
        args.force,
        args.use_device_code,
        args.no_browser,
    )?;
    let mut session = Session {
        setup,
        config: &config,
        interactive,
        obtained: None,
    };
    session.obtain(false).await?;

    let account = args.account.clone().or_else(|| config.account_id.clone());
    let role = args.role.clone().or_else(|| config.role_name.clone());
    match (account, role) {
        (Some(account), Some(role)) => session.deliver_role(args, &account, &role).await,
        (Some(account), None) => session.show_roles(&account).await,
        (None, _) => session.show_accounts().await,
    }
}

fn check_account_and_role(args: &SsoLoginArgs) -> Result<(), Problem> {
    if let Some(account) = &args.account
        && !(account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(Problem::usage(format!(
            "--account {account:?} is not an AWS account ID (12 digits)"
        )));
    }
    if args.role.as_deref().is_some_and(|r| r.trim().is_empty()) {
        return Err(Problem::usage("--role needs a name"));
    }
    Ok(())
}

/// The token and how to get it again when the portal rejects it.
struct Session<'a> {
    setup: &'a Setup,
    config: &'a SsoConfig,
    interactive: Interactive,
    obtained: Option<Obtained<Token>>,
}

impl Session<'_> {
    async fn obtain(&mut self, force: bool) -> anyhow::Result<()> {
        let mut interactive = self.interactive.clone();
        interactive.force |= force;
        let ctx = &self.setup.ctx;
        let obtained = interactive::obtain(ctx, &self.setup.aws, self.config, &interactive).await?;
        let until = crate::base::time::describe_expiry(ctx.now(), obtained.value.expires_at);
        let what = escape(&self.config.describe()).into_owned();
        match obtained.how {
            How::Cached => eprintln!(
                "using the cached token for {what}, valid until {until} (--force logs in again)"
            ),
            How::Refreshed => eprintln!("refreshed the token for {what}, valid until {until}"),
            How::LoggedIn => eprintln!("logged in to {what}; the token is valid until {until}"),
            How::FromOther => eprintln!(
                "another aws-cred just logged in to {what}; using its token, valid until {until}"
            ),
        }
        self.obtained = Some(obtained);
        Ok(())
    }

    /// The role's credentials, delivered as the flags say.
    async fn deliver_role(
        &mut self,
        args: &SsoLoginArgs,
        account: &str,
        role: &str,
    ) -> anyhow::Result<()> {
        let (setup, config) = (self.setup, self.config);
        let credentials = self
            .portal(async |token: Secret| {
                portal::role_credentials(&setup.aws, config, account, role, &token).await
            })
            .await?;
        super::refuse_expired(
            setup,
            &credentials,
            &format!("GetRoleCredentials (role {role} in account {account})"),
            &format!("log in again: {} --force", config.login_command()),
        )?;
        let until = crate::base::time::valid_until(setup.ctx.now(), &credentials);
        eprintln!(
            "role {} in account {}{until}",
            escape(role),
            escape(account)
        );
        super::deliver_credentials(setup, (&args.output).into(), &credentials)
    }

    /// The roles of `account`, on stderr, with how to pick one.
    async fn show_roles(&mut self, account: &str) -> anyhow::Result<()> {
        let (setup, config) = (self.setup, self.config);
        let roles = self
            .portal(async |token: Secret| {
                portal::list_roles(&setup.aws, config, &token, account).await
            })
            .await?;
        let mut text = format!(
            "{} available to you in account {}:\n",
            plural(roles.len(), "role is", "roles are"),
            escape(account)
        );
        for role in &roles {
            text.push_str(&format!("  {}\n", escape(role)));
        }
        text.push_str(&pick_hint(config, Some(account)));
        eprint!("{}", escape_lines(&text));
        Ok(())
    }

    /// Every account, with the roles of the first [`MAX_ACCOUNTS_WITH_ROLES`], on stderr.
    async fn show_accounts(&mut self) -> anyhow::Result<()> {
        let (setup, config) = (self.setup, self.config);
        let accounts = self
            .portal(async |token: Secret| {
                let accounts = portal::list_accounts(&setup.aws, config, &token).await?;
                let mut listed = Vec::with_capacity(accounts.len());
                for (i, account) in accounts.into_iter().enumerate() {
                    let roles = if i < MAX_ACCOUNTS_WITH_ROLES {
                        Some(portal::list_roles(&setup.aws, config, &token, &account.id).await?)
                    } else {
                        None
                    };
                    listed.push((account, roles));
                }
                Ok(listed)
            })
            .await?;
        eprint!("{}", escape_lines(&listing(config, &accounts)));
        Ok(())
    }

    /// Run a portal call; if it rejects a token we did not just get (revoked, or ended
    /// early), log in again once and retry.
    async fn portal<T>(
        &mut self,
        call: impl AsyncFn(Secret) -> Result<T, PortalError>,
    ) -> anyhow::Result<T> {
        let obtained = self.obtained.as_ref().expect("obtain runs first");
        let reused = matches!(obtained.how, How::Cached | How::FromOther);
        match call(obtained.value.access_token.clone()).await {
            Err(err) if reused && err.code.as_deref() == Some(UNAUTHORIZED) => {
                eprintln!(
                    "the cached token was rejected (revoked, or ended early); logging in again"
                );
                self.obtain(true).await?;
                let token = self.obtained.as_ref().expect("just obtained");
                Ok(call(token.value.access_token.clone()).await?)
            }
            result => Ok(result?),
        }
    }
}

/// The sso-session of `--sso-session`, else the SSO settings of the chosen profile.
fn sso_config(setup: &Setup, args: &SsoLoginArgs) -> anyhow::Result<SsoConfig> {
    let profiles = &setup.profiles;
    if let Some(session) = &args.sso_session {
        if profiles.selection == Selection::Flag {
            return Err(Problem::usage("give either --profile or --sso-session, not both").into());
        }
        return Ok(sso_session_config(profiles, session)?);
    }
    let name = profiles.selected.as_str();
    let Some(profile) = profiles.set.get_profile(name) else {
        let mut problem = Problem::usage(format!(
            "profile {name:?} (from {}) is not in {}",
            profiles.selection.describe(),
            profiles.files.config.display()
        ));
        problem.hint = Some(if profiles.selection.is_explicit() {
            format!("available profiles: {}", profiles.names().join(", "))
        } else {
            "choose a profile with --profile NAME, or an sso-session with --sso-session NAME"
                .to_string()
        });
        return Err(problem.into());
    };
    match sso_of(profiles, profile)? {
        Some(config) => Ok(config),
        None => Err(Problem::usage(format!(
            "profile {name} has no SSO settings (sso_session, or sso_start_url and sso_region)"
        ))
        .hint("add sso_session = NAME and an [sso-session NAME] section (aws configure sso writes both)")
        .into()),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn pick_hint(config: &SsoConfig, account: Option<&str>) -> String {
    let account_text = account.unwrap_or("ACCOUNT_ID");
    let mut text = format!(
        "pick one with: {} --account {account_text} --role ROLE_NAME\n",
        config.login_command()
    );
    let (section, name) = if config.profile.is_empty() {
        ("[profile NAME]".to_string(), "NAME".to_string())
    } else {
        (
            format!("[profile {}]", config.profile),
            config.profile.clone(),
        )
    };
    text.push_str(&format!(
        "or name them in {section} of ~/.aws/config:\n  sso_account_id = {account_text}\n  sso_role_name = ROLE_NAME\nthen: eval \"$(aws-cred export --profile {name})\"\n"
    ));
    text
}

fn listing(config: &SsoConfig, accounts: &[(portal::Account, Option<Vec<String>>)]) -> String {
    let roles: usize = accounts
        .iter()
        .filter_map(|(_, r)| r.as_ref().map(Vec::len))
        .sum();
    let mut text = format!(
        "{} available to you ({}):\n",
        plural(accounts.len(), "account is", "accounts are"),
        plural(roles, "role", "roles")
    );
    for (account, roles) in accounts {
        // Names come from the portal: escaped for the terminal.
        let mut line = format!("  {}", escape(&account.id));
        if let Some(name) = &account.name {
            line.push_str(&format!("  {}", escape(name)));
        }
        if let Some(email) = &account.email {
            line.push_str(&format!(" <{}>", escape(email)));
        }
        text.push_str(&line);
        text.push('\n');
        match roles {
            Some(roles) => {
                for role in roles {
                    text.push_str(&format!("      {}\n", escape(role)));
                }
            }
            None => text.push_str("      (roles: --account ID lists them)\n"),
        }
    }
    let only = match accounts {
        [(account, _)] => Some(account.id.as_str()),
        _ => None,
    };
    text.push_str(&pick_hint(config, only));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_says_how_to_pick() {
        let config = SsoConfig {
            profile: String::new(),
            session_name: Some("my-org".into()),
            start_url: "https://my-org.awsapps.com/start".into(),
            region: "ap-northeast-1".into(),
            registration_scopes: None,
            account_id: None,
            role_name: None,
        };
        let accounts = vec![
            (
                portal::Account {
                    id: "111111111111".into(),
                    name: Some("dev".into()),
                    email: Some("dev@example.com".into()),
                },
                Some(vec![
                    "PowerUserAccess".to_string(),
                    "ReadOnlyAccess".to_string(),
                ]),
            ),
            (
                portal::Account {
                    id: "222222222222".into(),
                    name: None,
                    email: None,
                },
                None,
            ),
        ];
        let text = listing(&config, &accounts);
        assert!(
            text.starts_with("2 accounts are available to you (2 roles):\n"),
            "{text}"
        );
        assert!(text.contains("  111111111111  dev <dev@example.com>\n      PowerUserAccess\n"));
        assert!(text.contains("222222222222\n      (roles: --account ID lists them)"));
        assert!(text.contains(
            "pick one with: aws-cred sso-login --sso-session my-org --account ACCOUNT_ID --role ROLE_NAME"
        ));
    }

    #[test]
    fn listing_escapes_what_the_portal_said() {
        let config = SsoConfig {
            profile: "dev".into(),
            session_name: Some("corp".into()),
            start_url: "https://corp.awsapps.com/start".into(),
            region: "us-east-1".into(),
            registration_scopes: None,
            account_id: None,
            role_name: None,
        };
        let accounts = vec![(
            portal::Account {
                id: "111111111111".into(),
                name: Some("dev\u{1b}]0;x\u{7}\n  999999999999  prod".into()),
                email: Some("a@b\u{202e}".into()),
            },
            Some(vec!["Admin\u{1b}[2J".to_string()]),
        )];
        let text = listing(&config, &accounts);
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{202e}'),
            "{text:?}"
        );
        assert!(
            text.contains(
                "  111111111111  dev\\x1b]0;x\\x07\\n  999999999999  prod <a@b\\u{202e}>\n"
            )
        );
        assert!(text.contains("      Admin\\x1b[2J\n"));
    }
}
