//! [`Batches`]: every profile of the files, a few hundred parsed at a time (`status` over a
//! 10,000-profile config).

use super::{Profiles, parse_closed, parse_files, select};
use crate::base::error::Problem;
use crate::os::Context;
use aws_config::profile::ProfileSet;

/// Rounds of following `source_profile` for a batch before it falls back to the full parse
/// (fewer than for one profile: each round parses the whole batch again).
const MAX_BATCH_ROUNDS: usize = 8;

/// Profiles read a batch at a time, so that a command over every profile of a 10,000-profile
/// config (`status`) holds a few hundred parsed profiles at once, not 10,000 maps.
///
/// One scan of each file (`select::SectionIndex`) finds every profile name and its sections;
/// each batch is the SDK's parser run on the sections of its names, their `-long-term` twins
/// and `source_profile` chains, the default profile and every section that is not a profile:
/// what [`Scope::Selected`](super::Scope::Selected) parses for one profile, for many at once,
/// and so the same answers as the full parse (the property tests hold the two together). When
/// the run already parsed everything ([`Scope::All`](super::Scope::All)) the only batch is
/// that set.
pub struct Batches<'p> {
    root: &'p Profiles,
    env: aws_types::os_shim_internal::Env,
    size: usize,
    mode: BatchMode<'p>,
}

enum BatchMode<'p> {
    /// One batch: the whole files, parsed already (`Some`) or still to parse (`None`).
    Whole(Option<Option<std::sync::Arc<ProfileSet>>>),
    Indexed {
        names: Vec<&'p str>,
        next: usize,
        /// Set once a batch's `source_profile` chains were too long to follow a round at a
        /// time: the full parse, which then serves every later batch.
        whole: Option<std::sync::Arc<ProfileSet>>,
    },
}

/// Some profiles of the files: `profiles` holds each of `names` (sorted) and what it needs.
pub struct Batch {
    /// The files parsed for this batch only.
    pub profiles: Profiles,
    /// The profiles this batch is for.
    pub names: Vec<String>,
}

impl<'p> Batches<'p> {
    pub(super) fn new(root: &'p Profiles, ctx: &Context, size: usize) -> Self {
        let env = ctx.sdk_env();
        // Every batch parses the sections that are not a profile's again: with at least as
        // many profiles per batch as there are such sections, the batches together parse at
        // most twice what the full parse does (a config with an [sso-session] per profile).
        let shared = [&root.config_text, &root.credentials_text]
            .into_iter()
            .flatten()
            .map(|text| text.shared_sections())
            .sum::<usize>();
        let size = size.max(shared).max(1);
        if root.complete || !root.any_file_exists() {
            let mode = BatchMode::Whole(Some(Some(root.set.clone())));
            return Batches {
                root,
                env,
                size,
                mode,
            };
        }
        let names = |text: &'p Option<std::sync::Arc<select::FileText>>| match text {
            Some(text) => text.profile_names(),
            None => Some(Vec::new()),
        };
        let mode = match (names(&root.config_text), names(&root.credentials_text)) {
            (Some(mut names), Some(more)) => {
                names.extend(more);
                names.sort_unstable();
                names.dedup();
                BatchMode::Indexed {
                    names,
                    next: 0,
                    whole: None,
                }
            }
            // The scan that made `root` accepted these texts; should it not, parse them whole.
            _ => BatchMode::Whole(Some(None)),
        };
        Batches {
            root,
            env,
            size,
            mode,
        }
    }

    /// The next batch; `None` after the last.
    pub async fn next(&mut self) -> Option<Result<Batch, Problem>> {
        let root = self.root;
        match &mut self.mode {
            BatchMode::Whole(pending) => {
                let set = match pending.take()? {
                    Some(set) => set,
                    None => match parse_root(&self.env, root).await {
                        Ok(set) => set,
                        Err(problem) => return Some(Err(problem)),
                    },
                };
                let mut names: Vec<String> = set.profiles().map(str::to_string).collect();
                names.sort_unstable();
                Some(Ok(Batch {
                    profiles: root.with_set(set),
                    names,
                }))
            }
            BatchMode::Indexed { names, next, whole } => {
                let chunk = names
                    .get(*next..)?
                    .get(..self.size.min(names.len() - *next))?;
                if chunk.is_empty() {
                    return None;
                }
                *next += chunk.len();
                let set = match whole {
                    Some(set) => set.clone(),
                    None => {
                        let closed = parse_closed(
                            &self.env,
                            root.config_text.as_deref(),
                            root.credentials_text.as_deref(),
                            &root.selected,
                            chunk.iter().copied(),
                            MAX_BATCH_ROUNDS,
                        )
                        .await;
                        match closed {
                            Ok(Some(set)) => std::sync::Arc::new(set),
                            // Too long a chain to follow a round at a time: every section,
                            // parsed once for this batch and every later one.
                            Ok(None) => match parse_root(&self.env, root).await {
                                Ok(set) => whole.insert(set).clone(),
                                Err(problem) => return Some(Err(problem)),
                            },
                            Err(problem) => return Some(Err(problem)),
                        }
                    }
                };
                let names = chunk
                    .iter()
                    .filter(|name| set.get_profile(name).is_some())
                    .map(|name| name.to_string())
                    .collect();
                Some(Ok(Batch {
                    profiles: root.with_set(set),
                    names,
                }))
            }
        }
    }
}

/// The full parse of `root`'s files.
async fn parse_root(
    env: &aws_types::os_shim_internal::Env,
    root: &Profiles,
) -> Result<std::sync::Arc<ProfileSet>, Problem> {
    parse_files(
        env,
        &root.files,
        root.config_text.as_deref(),
        root.credentials_text.as_deref(),
        &root.selected,
    )
    .await
    .map(std::sync::Arc::new)
}
