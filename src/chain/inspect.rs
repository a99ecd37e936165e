//! What each profile depends on, and the state of it, without calling anything (`status`).
//!
//! A profile's `plan` says where its credentials come from; the
//! flows' read side says how the thing it depends on stands: the SSO token (`sso::cache`), the
//! MFA session (`mfa`), the login session (`profile::login_session`), a session aws-cred wrote
//! into the profile (`aws_cred_expiration`). Nothing is refreshed, run or sent.

use super::plan::{Base, Plan, Planned, plan_named};
use crate::base::validity::Validity;
use crate::os::Context;
use crate::profile::{Profiles, login_session, long_term};
use crate::sso::SsoConfig;
use crate::sso::cache::Store;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

/// What kind of profile it is, as `status` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileKind {
    /// Long-term keys.
    Static,
    /// Session keys written into the profile (by aws-cred, or by hand).
    Session,
    /// Long-term keys with `mfa_serial`: the chain uses the cached MFA session.
    Mfa,
    /// A role, assumed with the credentials of its source chain.
    Role,
    /// IAM Identity Center (`sso_*` keys or `sso_session`).
    Sso,
    /// `aws login` (`login_session`).
    Login,
    /// `credential_process` (not aws-cred's keyring command).
    Process,
    /// `web_identity_token_file` with `role_arn`.
    WebIdentity,
    /// `credential_source` (Environment, Ec2InstanceMetadata, EcsContainer).
    CredentialSource,
    /// A profile without credentials (only settings, such as a region).
    None,
    /// A profile the planner refuses (the reason is in the state).
    Invalid,
}

impl ProfileKind {
    /// The stable word in `--json`.
    pub(crate) fn word(self) -> &'static str {
        match self {
            ProfileKind::Static => "static",
            ProfileKind::Session => "session",
            ProfileKind::Mfa => "mfa",
            ProfileKind::Role => "role",
            ProfileKind::Sso => "sso",
            ProfileKind::Login => "login",
            ProfileKind::Process => "credential-process",
            ProfileKind::WebIdentity => "web-identity",
            ProfileKind::CredentialSource => "credential-source",
            ProfileKind::None => "none",
            ProfileKind::Invalid => "invalid",
        }
    }
}

/// The state of what a profile (or one step of its plan) depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// A session or token with a state: what it is, the state, the command that renews it.
    Depends {
        /// The session or token, in words ("MFA session (device ...)").
        what: String,
        /// Whether it is there and how long it lasts.
        validity: Validity,
        /// The command that renews it, when there is one.
        fix: Option<String>,
    },
    /// Long-term keys: nothing expires.
    LongTerm,
    /// Only using it tells (a credential_process, the instance role); why.
    NotChecked(String),
    /// The profile has no credentials; why.
    NoCredentials(String),
    /// The profile is wrong; the planner's message.
    Error(String),
}

impl Status {
    /// The stable word in `--json`: a [`Validity`] word, `long-term`, `not-checked`, `none`,
    /// `error`.
    pub(crate) fn word(&self) -> &'static str {
        match self {
            Status::Depends { validity, .. } => validity.word(),
            Status::LongTerm => "long-term",
            Status::NotChecked(_) => "not-checked",
            Status::NoCredentials(_) => "none",
            Status::Error(_) => "error",
        }
    }
}

/// One step of the plan, in the order the chain walks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanStep {
    /// The step in a line ("assume role ARN (profile NAME)").
    pub text: String,
    /// The state of what the step depends on; `None` when it has nothing to check (a role).
    pub status: Option<Status>,
}

/// One profile, inspected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// What kind of profile it is.
    pub kind: ProfileKind,
    /// Where the credentials come from, in a line.
    pub source: String,
    /// The state that decides whether the profile works now (its base, or its MFA session).
    pub status: Status,
    /// Its plan, step by step; empty for a profile without credentials or a wrong one.
    pub steps: Vec<PlanStep>,
}

/// Inspects the profiles of one set of files, parsed whole or a batch at a time
/// ([`Profiles::batches`]); SSO tokens are read once per token file.
pub struct Inspector<'a> {
    ctx: &'a Context,
    login_dir: Option<PathBuf>,
    sso_store: Option<Store>,
    sso_tokens: HashMap<String, Validity>,
    /// The profiles each file defines, found in one pass each.
    in_config: HashSet<&'a str>,
    in_credentials: HashSet<&'a str>,
}

impl<'a> Inspector<'a> {
    /// `files`: the run's profiles (their files say where each profile is defined);
    /// `login_dir`: where `aws login` keeps its sessions (settings::LOGIN_CACHE_DIRECTORY).
    pub fn new(ctx: &'a Context, files: &'a Profiles, login_dir: Option<PathBuf>) -> Self {
        let (in_config, in_credentials) = files.defined_in();
        Inspector {
            ctx,
            login_dir,
            sso_store: Store::new(ctx).ok(),
            sso_tokens: HashMap::new(),
            in_config,
            in_credentials,
        }
    }

    /// The files that define `name`: `config`, `credentials`, or both.
    pub fn files_of(&self, name: &str) -> Vec<&'static str> {
        let mut files = Vec::new();
        if self.in_config.contains(name) {
            files.push("config");
        }
        if self.in_credentials.contains(name) {
            files.push("credentials");
        }
        files
    }

    /// `credentials` or `config`: the file a profile's keys come from (the credentials file
    /// wins, as in the SDKs' merge).
    fn file_word(&self, name: &str) -> &'static str {
        if self.in_credentials.contains(name) {
            "credentials"
        } else {
            "config"
        }
    }

    /// The profile `name` of `profiles`: the run's set, or a batch holding `name`.
    pub fn inspect(&mut self, profiles: &Profiles, name: &str) -> Inspection {
        Walk {
            ins: self,
            profiles,
        }
        .inspect(name)
    }
}

/// One inspection: the inspector's caches and the set that holds the profile.
struct Walk<'w, 'a> {
    ins: &'w mut Inspector<'a>,
    profiles: &'w Profiles,
}

impl Walk<'_, '_> {
    fn inspect(&mut self, name: &str) -> Inspection {
        let profiles = self.profiles;
        let login = profiles.get(name, login_session::KEY).map(str::to_string);
        if let Some(inspection) = self.long_term_convention(name) {
            return inspection;
        }
        let plan = match plan_named(profiles, name) {
            Ok(Planned::Plan(plan)) => plan,
            Ok(Planned::Nothing(reason)) => {
                return match login {
                    Some(session) => self.login(name, &session),
                    None => Inspection {
                        kind: ProfileKind::None,
                        source: "no credentials".into(),
                        status: Status::NoCredentials(reason),
                        steps: Vec::new(),
                    },
                };
            }
            Err(problem) => {
                return Inspection {
                    kind: ProfileKind::Invalid,
                    source: "not usable".into(),
                    status: Status::Error(problem.message),
                    steps: Vec::new(),
                };
            }
        };
        // login_session comes after credential_source, web identity and SSO, before
        // credential_process and keys (PROTOCOLS-login-federation.md).
        if let (Some(session), true, Base::Process { profile, .. } | Base::Static { profile }) =
            (&login, plan.roles.is_empty(), &plan.base)
            && profile == name
        {
            return self.login(name, session);
        }
        self.of_plan(name, &plan)
    }

    fn of_plan(&mut self, name: &str, plan: &Plan) -> Inspection {
        let (base_kind, base_text, base_status) = self.base(name, &plan.base);
        let mut steps = vec![PlanStep {
            text: base_text.clone(),
            status: Some(base_status.clone()),
        }];
        if plan.roles.is_empty() {
            return Inspection {
                kind: base_kind,
                source: base_text,
                status: base_status,
                steps: self.with_mfa_step(&plan.base, steps),
            };
        }
        let mut status = base_status;
        let mut chain = Vec::new();
        for (i, step) in plan.roles.iter().enumerate() {
            if let (0, Some(serial), Base::Static { profile: source }) =
                (i, &step.mfa_serial, &plan.base)
            {
                let mfa = self.mfa_status(source, serial, name);
                steps.push(PlanStep {
                    text: crate::mfa::describe_session(serial, &format!("profile {source}")),
                    status: Some(mfa.clone()),
                });
                status = mfa;
            }
            steps.push(PlanStep {
                text: format!(
                    "assume role {} (profile {})",
                    step.role.role_arn, step.profile
                ),
                status: None,
            });
            chain.push(step.role.role_arn.clone());
        }
        chain.reverse();
        chain.push(base_text);
        Inspection {
            kind: ProfileKind::Role,
            source: chain.join(" <- "),
            status,
            steps,
        }
    }

    /// A plain MFA profile (keys and `mfa_serial`): the chain takes the cached session first.
    fn with_mfa_step(&mut self, base: &Base, mut steps: Vec<PlanStep>) -> Vec<PlanStep> {
        if let Base::Static { profile } = base
            && let Some(serial) = crate::mfa::profile_serial(self.profiles, profile)
        {
            let status = self.mfa_status(profile, &serial.value, profile);
            if let Some(keys) = steps.first_mut() {
                keys.text = format!("otherwise {}", keys.text);
                keys.status = Some(Status::LongTerm);
            }
            steps.insert(
                0,
                PlanStep {
                    text: format!(
                        "cached MFA session (device {}), used instead of the keys while valid",
                        serial.value
                    ),
                    status: Some(status),
                },
            );
        }
        steps
    }

    fn base(&mut self, name: &str, base: &Base) -> (ProfileKind, String, Status) {
        let what = base.describe(|profile| self.ins.file_word(profile).to_string());
        let not_checked = |why: &str| Status::NotChecked(why.into());
        match base {
            Base::Static { profile } => self.static_base(name, profile, what),
            Base::Login(session) => {
                let inspection = self.login(&session.profile, &session.arn);
                (ProfileKind::Login, what, inspection.status)
            }
            Base::Keyring { .. } => (
                ProfileKind::Static,
                format!("long-term {what}"),
                not_checked(
                    "the keyring is read when the credentials are used (aws-cred keys list)",
                ),
            ),
            Base::Process { command, .. } => (
                ProfileKind::Process,
                format!("{what}: {command}"),
                not_checked("the process runs when the credentials are used"),
            ),
            Base::Sso(sso) => {
                let status = self.sso_status(name, sso);
                (ProfileKind::Sso, what, status)
            }
            Base::WebIdentity { token_file, .. } => (
                ProfileKind::WebIdentity,
                what,
                self.web_identity_status(token_file),
            ),
            Base::Named { .. } => (
                ProfileKind::CredentialSource,
                what,
                not_checked("read from the environment or the host when used"),
            ),
        }
    }

    /// Keys in the profile: with an MFA device, a session aws-cred wrote, session keys, or
    /// long-term keys.
    fn static_base(
        &mut self,
        name: &str,
        profile: &str,
        keys: String,
    ) -> (ProfileKind, String, Status) {
        let profiles = self.profiles;
        if let Some(serial) = crate::mfa::profile_serial(profiles, profile)
            && profile == name
        {
            let status = self.mfa_status(profile, &serial.value, name);
            let what = format!("{keys} with MFA device {}", serial.value);
            return (ProfileKind::Mfa, what, status);
        }
        match long_term::written_session_expiry(profiles, profile) {
            Some(Ok(expiry)) => (
                ProfileKind::Session,
                format!("session {keys}, written by aws-cred"),
                Status::Depends {
                    what: format!("session in profile {profile}"),
                    validity: Validity::from_expiry(self.ins.ctx.now(), expiry),
                    fix: Some("run the aws-cred command that wrote it again".into()),
                },
            ),
            Some(Err(not_a_time)) => (
                ProfileKind::Session,
                format!("session {keys}, written by aws-cred"),
                Status::Error(not_a_time.to_string()),
            ),
            None if profiles.get(profile, "aws_session_token").is_some()
                || profiles.get(profile, "aws_security_token").is_some() =>
            {
                (
                    ProfileKind::Session,
                    format!("session {keys}"),
                    Status::NotChecked(
                        "session keys without aws_cred_expiration: only AWS can tell".into(),
                    ),
                )
            }
            None => (
                ProfileKind::Static,
                format!("long-term {keys}"),
                Status::LongTerm,
            ),
        }
    }

    /// A role assumed with a web identity token: whether its token file is there.
    fn web_identity_status(&self, token_file: &str) -> Status {
        let path = crate::profile::expand_home(token_file, self.ins.ctx.home().as_deref())
            .unwrap_or_else(|| token_file.into());
        if crate::os::fs::exists(&path) {
            Status::NotChecked("the token file is there; STS judges it when used".into())
        } else {
            Status::Depends {
                what: format!("web identity token file {token_file}"),
                validity: Validity::Missing,
                fix: None,
            }
        }
    }

    /// The aws-mfa convention: keys in `[P-long-term]`, the session for `[P]`.
    fn long_term_convention(&mut self, name: &str) -> Option<Inspection> {
        let profiles = self.profiles;
        let long = long_term::long_term_name(name);
        if profiles.get(&long, "aws_access_key_id").is_none()
            || profiles.get(name, "role_arn").is_some()
        {
            return None;
        }
        let serial = crate::mfa::profile_serial(profiles, name)?;
        let status = self.mfa_status(name, &serial.value, name);
        let file = self.ins.file_word(&long);
        Some(Inspection {
            kind: ProfileKind::Mfa,
            source: crate::mfa::describe_session(
                &serial.value,
                &format!("profile {long} ({file})"),
            ),
            status: status.clone(),
            steps: vec![
                PlanStep {
                    text: crate::mfa::describe_session(&serial.value, &format!("profile {long}")),
                    status: Some(status),
                },
                PlanStep {
                    text: format!("otherwise the keys of [{name}] itself, if it has any"),
                    status: None,
                },
            ],
        })
    }

    fn mfa_status(&self, keys_profile: &str, serial: &str, selected: &str) -> Status {
        Status::Depends {
            what: format!("MFA session (device {serial})"),
            validity: crate::mfa::session_state(self.ins.ctx, self.profiles, keys_profile, serial),
            fix: Some(format!("aws-cred mfa CODE --profile {selected}")),
        }
    }

    fn sso_status(&mut self, name: &str, sso: &SsoConfig) -> Status {
        let key = sso.cache_key();
        let validity = match (self.ins.sso_tokens.get(&key), &self.ins.sso_store) {
            (Some(known), _) => known.clone(),
            (None, Some(store)) => {
                let validity = store.token_state(sso, self.ins.ctx.now());
                self.ins.sso_tokens.insert(key, validity.clone());
                validity
            }
            (None, None) => Validity::Unusable("no home directory for ~/.aws/sso/cache".into()),
        };
        let (what, fix) = match &sso.session_name {
            Some(session) => (
                format!("SSO token of sso-session {session}"),
                format!("aws-cred sso-login --sso-session {session}"),
            ),
            None => (
                format!("SSO token for {}", sso.start_url),
                format!("aws-cred sso-login --profile {name}"),
            ),
        };
        Status::Depends {
            what,
            validity,
            fix: Some(fix),
        }
    }

    /// `profile`'s `login_session`: the fix is the one `export` names for it.
    fn login(&self, profile: &str, session: &str) -> Inspection {
        let validity = match &self.ins.login_dir {
            Some(dir) => login_session::state(dir, session, self.ins.ctx.now()),
            None => Validity::Unusable("no home directory for ~/.aws/login/cache".into()),
        };
        let status = Status::Depends {
            what: "login session".into(),
            validity,
            fix: Some(format!(
                "aws-cred login --profile {profile} (or: aws login --profile {profile})"
            )),
        };
        let dir = self.ins.login_dir.as_ref().map_or_else(
            || "~/.aws/login/cache".to_string(),
            |dir| dir.display().to_string(),
        );
        let what = crate::login::describe_session(session);
        Inspection {
            kind: ProfileKind::Login,
            source: what.clone(),
            status: status.clone(),
            steps: vec![PlanStep {
                text: format!("{what} ({dir})"),
                status: Some(status),
            }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inspect(config: &str, credentials: &str, name: &str) -> Inspection {
        let profiles = Profiles::from_text(config, credentials, name);
        let ctx = Context::with_env([("HOME", "/nonexistent-home")])
            .at_time(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000));
        Inspector::new(&ctx, &profiles, None).inspect(&profiles, name)
    }

    #[test]
    fn kinds_from_plans() {
        let creds = "[keys]\naws_access_key_id = AKIA\naws_secret_access_key = s\n\
                     [written]\naws_access_key_id = ASIA\naws_secret_access_key = s\naws_session_token = t\naws_cred_expiration = 2027-02-01T00:00:00Z\n";
        let config = "[profile role]\nrole_arn = arn:aws:iam::1:role/R\nsource_profile = keys\n\
                      [profile proc]\ncredential_process = echo\n\
                      [profile empty]\nregion = eu-west-1\n\
                      [profile bad]\nrole_arn = x\n\
                      [profile src]\nrole_arn = arn:r\ncredential_source = Environment\n";
        let kind = |name: &str| inspect(config, creds, name).kind;
        assert_eq!(kind("keys"), ProfileKind::Static);
        assert_eq!(kind("written"), ProfileKind::Session);
        assert_eq!(kind("role"), ProfileKind::Role);
        assert_eq!(kind("proc"), ProfileKind::Process);
        assert_eq!(kind("empty"), ProfileKind::None);
        assert_eq!(kind("bad"), ProfileKind::Invalid);
        // credential_source always comes with role_arn: a role over it.
        assert_eq!(kind("src"), ProfileKind::Role);
        let written = inspect(config, creds, "written");
        assert_eq!(written.status.word(), "valid");
        let role = inspect(config, creds, "role");
        assert_eq!(
            role.source,
            "arn:aws:iam::1:role/R <- long-term keys of profile keys (credentials)"
        );
        assert_eq!(role.status, Status::LongTerm);
        assert_eq!(role.steps.len(), 2);
    }

    /// `status` starts from the same words for a base as the chain's trace: `Base::describe`,
    /// with the file named by its word instead of its path.
    #[test]
    fn status_words_every_base_as_the_chain_does() {
        let creds = "[keys]\naws_access_key_id = AKIA\naws_secret_access_key = s\n";
        let config = "[profile proc]\ncredential_process = echo\n\
                      [profile ring]\ncredential_process = aws-cred keys process --profile ring\n\
                      [profile dev]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = R\n\
                      [sso-session corp]\nsso_start_url = https://x/start\nsso_region = us-east-1\n\
                      [profile web]\nlogin_session = arn:aws:iam::1:user/me\n\
                      [profile wid]\nrole_arn = arn:aws:iam::1:role/W\nweb_identity_token_file = /t\n\
                      [profile ecs]\nrole_arn = arn:aws:iam::1:role/E\ncredential_source = EcsContainer\n";
        let names = ["keys", "proc", "ring", "dev", "web", "wid", "ecs"];
        let mut kinds = std::collections::HashSet::new();
        for name in names {
            let profiles = Profiles::from_text(config, creds, name);
            let Ok(Planned::Plan(plan)) = plan_named(&profiles, name) else {
                panic!("{name} has a plan")
            };
            kinds.insert(std::mem::discriminant(&plan.base));
            let file = |p: &str| if p == "keys" { "credentials" } else { "config" }.to_string();
            let words = plan.base.describe(file);
            let source = inspect(config, creds, name).source;
            assert!(
                source.contains(&words),
                "{name}: {source:?} lacks {words:?}"
            );
        }
        assert_eq!(kinds.len(), names.len(), "one profile per kind of base");
    }

    #[test]
    fn sso_and_login_depend_on_their_caches() {
        let config = "[profile dev]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = R\n\
                      [sso-session corp]\nsso_start_url = https://x/start\nsso_region = us-east-1\n\
                      [profile web]\nlogin_session = arn:aws:iam::1:user/me\n";
        let dev = inspect(config, "", "dev");
        assert_eq!(dev.kind, ProfileKind::Sso);
        assert_eq!(dev.status.word(), "missing");
        let Status::Depends { fix, .. } = dev.status else {
            panic!()
        };
        assert_eq!(
            fix.as_deref(),
            Some("aws-cred sso-login --sso-session corp")
        );
        let web = inspect(config, "", "web");
        assert_eq!(web.kind, ProfileKind::Login);
        assert_eq!(web.status.word(), "unusable");
    }
}
