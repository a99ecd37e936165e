//! The ~/.aws files: where they are, reading them with aws-config's conformant parser,
//! and (in `writer`) changing one section without touching the rest.

mod batches;
pub(crate) mod keys;
pub(crate) mod login_session;
pub(crate) mod long_term;
pub(crate) mod select;

pub mod writer;

pub use batches::{Batch, Batches};

use crate::base::error::Problem;
use crate::os::Context;
use aws_config::profile::ProfileSet;
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// Where the two files are, after `AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE` and `~`.
#[derive(Debug, Clone)]
pub struct AwsFiles {
    /// The config file (`AWS_CONFIG_FILE`, else `~/.aws/config`).
    pub config: PathBuf,
    /// The credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`).
    pub credentials: PathBuf,
}

impl AwsFiles {
    /// The two paths from the context's variables and home directory; a `~` that cannot be
    /// expanded is a usage error.
    pub fn locate(ctx: &Context) -> Result<Self, Problem> {
        let home = ctx.home();
        // Paths are bytes: a variable that is not UTF-8 still names its file.
        let pick = |var: &str, default: &str| -> Result<PathBuf, Problem> {
            let raw = ctx.path_var(var).unwrap_or_else(|| PathBuf::from(default));
            expand_home_path(&raw, home.as_deref()).ok_or_else(|| {
                Problem::usage(format!(
                    "cannot find the home directory to expand {:?}",
                    raw.display().to_string()
                ))
                .hint(format!("set HOME, or set {var} to an absolute path"))
            })
        };
        Ok(AwsFiles {
            config: pick("AWS_CONFIG_FILE", "~/.aws/config")?,
            credentials: pick("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")?,
        })
    }
}

/// A value that is only spaces counts as absent.
pub(crate) fn nonblank(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.trim().is_empty())
}

/// `~` or `~/...` (on Windows also `~\...`) at the start of a path means the home directory.
pub(crate) fn expand_home(path: &str, home: Option<&Path>) -> Option<PathBuf> {
    crate::os::path::expand_home(Path::new(path), home)
}

/// [`expand_home`] for a path in any encoding.
pub(crate) fn expand_home_path(path: &Path, home: Option<&Path>) -> Option<PathBuf> {
    crate::os::path::expand_home(path, home)
}

/// How the profile name was chosen; an explicit choice that does not exist is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// `--profile`.
    Flag,
    /// A variable: `AWS_PROFILE`, else `AWS_DEFAULT_PROFILE`.
    Variable(&'static str),
    /// Nothing chose: the profile named `default`.
    Default,
}

impl Selection {
    pub(crate) fn is_explicit(&self) -> bool {
        !matches!(self, Selection::Default)
    }
    pub(crate) fn describe(&self) -> String {
        match self {
            Selection::Flag => "--profile".to_string(),
            Selection::Variable(var) => var.to_string(),
            Selection::Default => "default".to_string(),
        }
    }
}

/// How much of the files a run needs parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every profile (`status`, `sso populate`, ...).
    All,
    /// The selected profile and what it refers to (`export`, `whoami`, `exec`): only those
    /// sections reach the parser (`select`), so a 10,000-profile config stays fast. Falls
    /// back to [`Scope::All`] whenever the shortcut could differ.
    Selected,
    /// The selected profile's sections if it exists (the SDK clients' settings), nothing
    /// else: the command reads every profile itself, a batch at a time
    /// ([`Profiles::batches`], `status`). Falls back to [`Scope::All`] like `Selected`.
    Settings,
}

/// Profiles a "no such profile" error lists by name; past this it gives their number.
const MAX_LISTED: usize = 20;

/// Rounds of following `source_profile` before the fast path gives up and parses everything.
const MAX_SELECT_ROUNDS: usize = 32;

/// The parsed files plus which profile this run is about.
#[derive(Clone)]
pub struct Profiles {
    /// Where the files are.
    pub files: AwsFiles,
    /// Shared: the SDK clients' settings read the same set without a copy.
    pub set: std::sync::Arc<ProfileSet>,
    /// The name of the profile this run is about.
    pub selected: String,
    /// How that name was chosen.
    pub selection: Selection,
    /// Shared: a batch and a profile's copy for `--check` point at the same text.
    config_text: Option<std::sync::Arc<select::FileText>>,
    credentials_text: Option<std::sync::Arc<select::FileText>>,
    /// Whether `set` holds every profile of the files (a full parse), not only the sections
    /// one profile needs.
    complete: bool,
}

/// The file texts (and parsed values) hold keys: Debug shows where and which, not what.
impl std::fmt::Debug for Profiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profiles")
            .field("files", &self.files)
            .field("profiles", &self.names())
            .field("selected", &self.selected)
            .field("selection", &self.selection)
            .finish_non_exhaustive()
    }
}

impl Profiles {
    /// Every profile of both files.
    pub async fn load(ctx: &Context, flag: Option<&str>) -> anyhow::Result<Self> {
        Self::load_scoped(ctx, flag, Scope::All).await
    }

    /// The files parsed as much as `scope` needs, with the profile `flag`, `AWS_PROFILE`,
    /// `AWS_DEFAULT_PROFILE` or `default` selected.
    pub async fn load_scoped(
        ctx: &Context,
        flag: Option<&str>,
        scope: Scope,
    ) -> anyhow::Result<Self> {
        let files = AwsFiles::locate(ctx)?;
        let (selected, selection) = if let Some(name) = flag {
            (name.to_string(), Selection::Flag)
        } else if let Some(name) = ctx.text_var("AWS_PROFILE")? {
            (name.to_string(), Selection::Variable("AWS_PROFILE"))
        } else if let Some(name) = ctx.text_var("AWS_DEFAULT_PROFILE")? {
            (name.to_string(), Selection::Variable("AWS_DEFAULT_PROFILE"))
        } else {
            ("default".to_string(), Selection::Default)
        };
        let config_text = read_optional(&files.config)?.map(select::FileText::new);
        let credentials_text = read_optional(&files.credentials)?.map(select::FileText::new);
        let any_file = config_text.is_some() || credentials_text.is_some();
        let selected_only = match scope {
            Scope::Selected | Scope::Settings if any_file => {
                parse_selected(
                    ctx,
                    config_text.as_ref(),
                    credentials_text.as_ref(),
                    &selected,
                    // A profile named explicitly that is not there is an error listing every
                    // profile: that needs the full parse. A missing implicit default does not,
                    // nor (for status, which lists every profile) one named by AWS_PROFILE.
                    match scope {
                        Scope::Selected => selection.is_explicit(),
                        _ => selection == Selection::Flag,
                    },
                )
                .await
            }
            Scope::Selected | Scope::Settings | Scope::All => None,
        };
        let complete = selected_only.is_none();
        let set = if config_text.is_none() && credentials_text.is_none() {
            ProfileSet::default()
        } else if let Some(set) = selected_only {
            set
        } else {
            parse_files(
                &ctx.sdk_env(),
                &files,
                config_text.as_ref(),
                credentials_text.as_ref(),
                &selected,
            )
            .await?
        };
        Ok(Profiles {
            files,
            set: std::sync::Arc::new(set),
            selected,
            selection,
            config_text: config_text.map(std::sync::Arc::new),
            credentials_text: credentials_text.map(std::sync::Arc::new),
            complete,
        })
    }

    /// Profiles parsed from in-memory text, as if the files were at `/home/.aws/` (tests and
    /// fuzzing). The parser does no I/O here, so `block_on` with any executor finishes at once.
    pub async fn parse(config: &str, credentials: &str, selected: &str) -> Result<Self, Problem> {
        let files = EnvConfigFiles::builder()
            .include_default_config_file(false)
            .include_default_credentials_file(false)
            .with_contents(EnvConfigFileKind::Config, config)
            .with_contents(EnvConfigFileKind::Credentials, credentials)
            .build();
        let set = aws_config::profile::load(
            &aws_types::os_shim_internal::Fs::from_slice(&[]),
            &aws_types::os_shim_internal::Env::from_slice(&[]),
            &files,
            Some(Cow::Owned(selected.to_string())),
        )
        .await
        .map_err(|err| Problem::usage(crate::base::error::causes_keeping_lines(&err)))?;
        Ok(Profiles {
            set: std::sync::Arc::new(set),
            files: AwsFiles {
                config: PathBuf::from("/home/.aws/config"),
                credentials: PathBuf::from("/home/.aws/credentials"),
            },
            selected: selected.to_string(),
            selection: Selection::Flag,
            config_text: Some(std::sync::Arc::new(select::FileText::new(config.into()))),
            credentials_text: Some(std::sync::Arc::new(select::FileText::new(
                credentials.into(),
            ))),
            complete: true,
        })
    }

    #[cfg(test)]
    pub(crate) fn from_text(config: &str, credentials: &str, selected: &str) -> Self {
        block_on_for_tests(Self::parse(config, credentials, selected)).expect("test profiles parse")
    }

    /// The texts of the config and credentials files as read (`None`: no such file).
    pub(crate) fn file_texts(&self) -> [Option<&str>; 2] {
        [
            self.config_text.as_deref().map(select::FileText::text),
            self.credentials_text.as_deref().map(select::FileText::text),
        ]
    }

    /// The selected profile, for a command that needs it there: else the error of
    /// [`Profiles::no_such_profile`] (or, for the implicit `default`, that it is not there).
    pub(crate) fn selected_profile(&self) -> Result<&aws_config::profile::Profile, Problem> {
        self.set.get_profile(&self.selected).ok_or_else(|| {
            self.no_such_profile().unwrap_or_else(|| {
                Problem::usage(format!("there is no profile {:?}", self.selected))
                    .hint("choose one with --profile; aws-cred status lists every profile")
            })
        })
    }

    /// The profile named explicitly (`--profile`, `AWS_PROFILE`) is in neither file: the one
    /// error that says so, with the names there are and the nearest one. `None` when it exists,
    /// or when nobody named it (the implicit `default`).
    pub(crate) fn no_such_profile(&self) -> Option<Problem> {
        let selected = self.selected.as_str();
        if !self.selection.is_explicit() || self.set.get_profile(selected).is_some() {
            return None;
        }
        let names = self.names();
        let available = match names.len() {
            0 => "there are no profiles".to_string(),
            1..=MAX_LISTED => format!("available: {}", names.join(", ")),
            many => format!("{many} profiles there (aws-cred status lists them)"),
        };
        let hint = match crate::base::text::closest(selected, names.iter().copied()) {
            Some(near) => format!(
                "did you mean {}? (or create {selected:?} with `aws configure --profile NAME`)",
                crate::base::text::escape(near)
            ),
            None => "check the name, or create it with `aws configure --profile NAME`".into(),
        };
        Some(
            Problem::usage(format!(
                "profile {selected:?} (from {}) is not in {} or {}; {available}",
                self.selection.describe(),
                self.files.config.display(),
                self.files.credentials.display()
            ))
            .hint(hint),
        )
    }

    pub(crate) fn any_file_exists(&self) -> bool {
        self.config_text.is_some() || self.credentials_text.is_some()
    }

    /// A key of a named profile, as written (an empty value is a value: the profile
    /// conformance suites say so).
    pub fn get(&self, profile: &str, key: &str) -> Option<&str> {
        self.set.get_profile(profile)?.get(key)
    }

    /// A credential setting (keys, token, `mfa_serial`) of a named profile: a blank value
    /// (`aws_access_key_id =`) counts as absent, as blank variables do (the Go and JavaScript
    /// SDKs agree).
    pub(crate) fn credential(&self, profile: &str, key: &str) -> Option<&str> {
        nonblank(self.get(profile, key))
    }

    /// The file that holds `[name]` (credentials file) or `[profile name]` (config file);
    /// the credentials file wins, as it does for the SDKs' merge.
    pub(crate) fn defining_file(&self, name: &str) -> &Path {
        let in_credentials = self.credentials_text.as_deref().is_some_and(|text| {
            writer::find_section(text.text(), name, writer::HeaderStyle::Credentials).is_some()
        });
        if in_credentials {
            &self.files.credentials
        } else {
            &self.files.config
        }
    }

    /// The same files and selection with another parsed set (a [`Batch`]).
    fn with_set(&self, set: std::sync::Arc<ProfileSet>) -> Profiles {
        Profiles {
            files: self.files.clone(),
            set,
            selected: self.selected.clone(),
            selection: self.selection.clone(),
            config_text: self.config_text.clone(),
            credentials_text: self.credentials_text.clone(),
            complete: false,
        }
    }

    /// The same files with another profile selected (`status --check` asks each profile).
    pub(crate) fn with_selected(&self, name: &str) -> Profiles {
        Profiles {
            selected: name.to_string(),
            selection: Selection::Flag,
            ..self.clone()
        }
    }

    /// The profile names each file defines: (config, credentials), in one pass over each.
    pub(crate) fn defined_in(
        &self,
    ) -> (
        std::collections::HashSet<&str>,
        std::collections::HashSet<&str>,
    ) {
        fn names(
            text: Option<&select::FileText>,
            style: writer::HeaderStyle,
        ) -> std::collections::HashSet<&str> {
            text.map(|t| writer::section_names(t.text(), style).into_iter().collect())
                .unwrap_or_default()
        }
        (
            names(self.config_text.as_deref(), writer::HeaderStyle::Config),
            names(
                self.credentials_text.as_deref(),
                writer::HeaderStyle::Credentials,
            ),
        )
    }

    /// Every profile of the files, a batch of about `size` names at a time, in name order
    /// (see [`Batches`]).
    pub fn batches(&self, ctx: &Context, size: usize) -> Batches<'_> {
        Batches::new(self, ctx, size)
    }

    /// The profiles of the set, sorted (every profile when the run parsed them all: [`Scope::All`]).
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.set.profiles().collect();
        names.sort_unstable();
        names
    }
}

/// The fast path of [`Scope::Selected`]: parse only the sections `selected` needs (itself, its
/// `-long-term` twin, its `source_profile` chain, the default profile and every non-profile
/// section). `None` whenever the answer could differ from a full parse: a line the parser would
/// refuse, a selected profile that is not there (when `must_exist`), a parse error, too long a
/// chain.
async fn parse_selected(
    ctx: &Context,
    config: Option<&select::FileText>,
    credentials: Option<&select::FileText>,
    selected: &str,
    must_exist: bool,
) -> Option<ProfileSet> {
    let set = parse_closed(
        &ctx.sdk_env(),
        config,
        credentials,
        selected,
        [selected],
        MAX_SELECT_ROUNDS,
    )
    .await
    .ok()??;
    (!must_exist || set.get_profile(selected).is_some()).then_some(set)
}

/// The sections `names` need, parsed: theirs and their `-long-term` twins', then, a round at a
/// time, those of every `source_profile` (and its twin) they name, until no round adds one.
/// `Ok(None)` when a file's scan refused it or the chains need more than `rounds` rounds: parse
/// the files whole instead.
async fn parse_closed<'n>(
    env: &aws_types::os_shim_internal::Env,
    config: Option<&select::FileText>,
    credentials: Option<&select::FileText>,
    selected: &str,
    names: impl IntoIterator<Item = &'n str>,
    rounds: usize,
) -> Result<Option<ProfileSet>, Problem> {
    let with_twin = |name: &str| [name.to_string(), long_term::long_term_name(name)];
    let mut wanted: std::collections::HashSet<String> =
        names.into_iter().flat_map(with_twin).collect();
    for _ in 0..rounds {
        let cut = |text: Option<&select::FileText>| match text {
            Some(text) => text.text_for(wanted.iter().map(String::as_str)).map(Some),
            None => Some(None),
        };
        let (Some(config), Some(credentials)) = (cut(config), cut(credentials)) else {
            return Ok(None);
        };
        let set = parse_texts(env, config, credentials, selected).await?;
        let more: Vec<String> = wanted
            .iter()
            .filter_map(|name| set.get_profile(name)?.get("source_profile"))
            .flat_map(with_twin)
            .filter(|name| !wanted.contains(name))
            .collect();
        if more.is_empty() {
            return Ok(Some(set));
        }
        wanted.extend(more);
    }
    Ok(None)
}

/// The SDK's parser on texts in memory (no I/O, so the future finishes when first polled).
async fn parse_texts(
    env: &aws_types::os_shim_internal::Env,
    config: Option<String>,
    credentials: Option<String>,
    selected: &str,
) -> Result<ProfileSet, Problem> {
    let mut builder = EnvConfigFiles::builder()
        .include_default_config_file(false)
        .include_default_credentials_file(false);
    if let Some(text) = config {
        builder = builder.with_contents(EnvConfigFileKind::Config, text);
    }
    if let Some(text) = credentials {
        builder = builder.with_contents(EnvConfigFileKind::Credentials, text);
    }
    aws_config::profile::load(
        &aws_types::os_shim_internal::Fs::from_slice(&[]),
        env,
        &builder.build(),
        Some(Cow::Owned(selected.to_string())),
    )
    .await
    .map_err(|err| Problem::usage(crate::base::error::causes_keeping_lines(&err)))
}

/// The full parse of both files, from the texts already read (each file is read once): the
/// parser gets them under their paths, so its errors name the file.
async fn parse_files(
    env: &aws_types::os_shim_internal::Env,
    files: &AwsFiles,
    config: Option<&select::FileText>,
    credentials: Option<&select::FileText>,
    selected: &str,
) -> Result<ProfileSet, Problem> {
    let mut builder = EnvConfigFiles::builder()
        .include_default_config_file(false)
        .include_default_credentials_file(false);
    let mut read = std::collections::HashMap::new();
    for (kind, path, text) in [
        (EnvConfigFileKind::Config, &files.config, config),
        (
            EnvConfigFileKind::Credentials,
            &files.credentials,
            credentials,
        ),
    ] {
        if let Some(text) = text {
            builder = builder.with_file(kind, path);
            read.insert(path.as_os_str().to_owned(), text.text().as_bytes().to_vec());
        }
    }
    aws_config::profile::load(
        &aws_types::os_shim_internal::Fs::from_raw_map(read),
        env,
        &builder.build(),
        Some(Cow::Owned(selected.to_string())),
    )
    .await
    .map_err(|err| {
        Problem::usage(crate::base::error::causes_keeping_lines(&err))
            .hint("fix the line named above; `aws configure list` shows how the AWS CLI reads it")
    })
}

/// A config or credentials file: absent is fine; a FIFO, a device or a file over
/// [`MAX_PROFILE_FILE`](crate::os::fs::MAX_PROFILE_FILE) is refused before anything is read.
fn read_optional(path: &Path) -> Result<Option<String>, Problem> {
    use crate::os::fs::{FsError, MAX_PROFILE_FILE, read_optional};
    match read_optional(path, MAX_PROFILE_FILE) {
        Ok(Some(bytes)) => String::from_utf8(bytes).map(Some).map_err(|_| {
            Problem::usage(format!("{} is not valid UTF-8", path.display()))
                .hint("save the file as UTF-8")
        }),
        Ok(None) => Ok(None),
        Err(err @ (FsError::NotRegular { .. } | FsError::TooLarge { .. })) => {
            Err(Problem::usage(err.to_string()).hint(
                "AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE must name regular files of at most 16 MiB",
            ))
        }
        Err(err) => Err(Problem::failure(crate::base::error::causes(&err))),
    }
}

/// Tests parse in-memory profiles without a runtime; the loader future never waits on I/O
/// there, so polling it once is enough.
#[cfg(test)]
fn block_on_for_tests<F: std::future::Future>(fut: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("test runtime")
        .block_on(fut)
}

#[cfg(test)]
mod tests;
