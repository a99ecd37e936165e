//! `aws-cred keys rotate`: a new access key for the IAM user, in the place the old one was
//! kept (the keyring, or the credentials file), and the old key deleted.
//!
//! The steps, and what a failure at each leaves behind (always one working key, stored):
//!
//! 1. IAM ListAccessKeys (signed by the old key). Two keys already (IAM's limit): stop, nothing
//!    changed, say which key to delete first.
//! 2. CreateAccessKey. Refused (LimitExceeded included): nothing changed, the old key is stored.
//! 3. Store the new key where the old one was. Failed: the old key is still stored; the new key
//!    is deleted again in IAM (or the person is told to).
//! 4. GetCallerIdentity with the new key, retried while IAM propagates it (up to ~15 s). Never
//!    worked: the old key is stored again, the new one deleted.
//! 5. DeleteAccessKey of the old key. Refused: the new key is stored and works; the old one is
//!    still active in IAM and the person is told to delete it.

use super::{IAM_REGION, NewKey, mask};
use crate::aws::{self, Aws, sts};
use crate::base::error::Problem;
use crate::os::Context;
use crate::profile::Profiles;
use crate::profile::long_term::{self, StoredKeys};
use crate::profile::writer::{self, HeaderStyle, WriteRequest};
use aws_credential_types::Credentials;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};
use zeroize::Zeroizing;

/// How long a new key may take to work (IAM is eventually consistent).
pub(crate) const PROPAGATION: Duration = Duration::from_secs(15);

/// Test-only switch (debug builds): seconds to wait for a new key instead of [`PROPAGATION`].
pub(crate) const PROPAGATION_TEST_VAR: &str = "AWS_CRED_TEST_KEY_PROPAGATION_SECONDS";

/// [`PROPAGATION`], or the test switch's value.
pub(crate) fn propagation(ctx: &Context) -> Duration {
    ctx.test_switch(PROPAGATION_TEST_VAR)
        .and_then(|s| s.parse::<u64>().ok())
        .map_or(PROPAGATION, Duration::from_secs)
}

/// One access key as IAM lists it.
#[derive(Debug, Clone)]
pub(crate) struct KeyInfo {
    pub access_key_id: String,
    pub status: String,
    pub created: Option<SystemTime>,
}

/// IAM ListAccessKeys for the user the credentials belong to.
pub(crate) async fn list_access_keys(
    aws: &Aws,
    creds: Credentials,
) -> anyhow::Result<Vec<KeyInfo>> {
    let (client, target) = aws.iam(IAM_REGION, Some(creds));
    let out = client
        .list_access_keys()
        .send()
        .await
        .map_err(|e| aws::failure("IAM ListAccessKeys", &target, e))?;
    Ok(out
        .access_key_metadata
        .into_iter()
        .filter_map(|k| {
            Some(KeyInfo {
                access_key_id: k.access_key_id?,
                status: k.status.map(|s| s.as_str().to_string()).unwrap_or_default(),
                created: k.create_date.and_then(|d| SystemTime::try_from(d).ok()),
            })
        })
        .collect())
}

/// Where the key lives.
#[derive(Debug, Clone)]
pub(crate) enum Holder {
    Keyring {
        entry: String,
    },
    File {
        path: PathBuf,
        profile: String,
        style: HeaderStyle,
    },
}

impl Holder {
    pub(crate) fn describe(&self) -> String {
        match self {
            Holder::Keyring { entry } => format!("the OS keyring (entry {entry})"),
            Holder::File { path, profile, .. } => format!("[{profile}] of {}", path.display()),
        }
    }

    fn store(&self, key: &StoredKeys) -> Result<(), Problem> {
        match self {
            Holder::Keyring { entry } => super::store(entry, key),
            Holder::File {
                path,
                profile,
                style,
            } => writer::write_profile(&WriteRequest {
                lock_timeout: super::LOCK_TIMEOUT,
                ..WriteRequest::edit(
                    path,
                    profile,
                    *style,
                    &[
                        ("aws_access_key_id", &key.access_key_id),
                        ("aws_secret_access_key", &key.secret_access_key),
                    ],
                    &[],
                )
            })
            .map(|_| ())
            .map_err(Problem::from),
        }
    }
}

/// What `rotate` needs.
pub(crate) struct RotateRequest<'a> {
    pub run: super::Run<'a>,
    /// How long the new key may take to work.
    pub propagation: Duration,
}

/// What `rotate` did.
#[derive(Debug)]
pub(crate) struct Rotated {
    pub old_key_id: String,
    pub new_key_id: String,
    pub holder: Holder,
    pub arn: String,
}

/// Rotate the profile's long-term key. See the module docs for the steps and failures.
pub(crate) async fn rotate(req: &RotateRequest<'_>) -> anyhow::Result<Rotated> {
    let name = req.run.profile;
    let (holder, old) = key_to_rotate(req.run.profiles, name)?;
    let old_id = old.access_key_id().to_string();
    let old_stored = StoredKeys {
        access_key_id: old_id.clone(),
        secret_access_key: Zeroizing::new(old.secret_access_key().to_string()),
        stored_at: None,
    };

    // 1. IAM's limit is two keys per user.
    let keys = list_access_keys(req.run.aws, old.clone())
        .await
        .map_err(|err| {
            err.context(Problem::failure(format!(
                "cannot list the IAM user's access keys with {}; nothing was changed",
                mask(&old_id)
            )))
        })?;
    if keys.len() >= 2 {
        return Err(two_keys(name, &old_id, &keys).into());
    }

    // 2. The new key.
    let new = create_key(req, &old, &keys, &holder).await?;
    let new_id = new.access_key_id.clone();
    let mut new_stored = new.stored(req.run.ctx.now());
    new_stored.stored_at = Some(crate::base::time::rfc3339(req.run.ctx.now()));

    // 3. Store it where the old one was.
    if let Err(problem) = holder.store(&new_stored) {
        let cleanup = delete_key(req.run.aws, old.clone(), &new_id).await;
        return Err(anyhow::Error::new(problem).context(format!(
            "the new key {} could not be stored in {}; the old key {} is still stored there and works{}",
            mask(&new_id),
            holder.describe(),
            mask(&old_id),
            after_cleanup(&new_id, cleanup)
        )));
    }

    // 4. The new key works (IAM takes a few seconds to spread it).
    let new_creds = new_stored.credentials();
    let identity = match verify(req, new_creds).await {
        Ok(identity) => identity,
        Err(err) => {
            return Err(put_old_key_back(req, &holder, (&old, &old_stored), &new_id, err).await);
        }
    };

    // 5. The old key goes.
    if let Err(err) = delete_key(req.run.aws, old, &old_id).await {
        return Err(err.context(
            Problem::failure(format!(
                "the new key {} is stored in {} and works, but IAM did not delete the old key {}",
                mask(&new_id),
                holder.describe(),
                mask(&old_id)
            ))
            .hint(format!(
                "the old key still works until it is deleted: aws iam delete-access-key --access-key-id {old_id} --profile {name}\n(or deactivate it in the IAM console)"
            )),
        ));
    }
    Ok(Rotated {
        old_key_id: old_id,
        new_key_id: new_id,
        holder,
        arn: identity.arn,
    })
}

/// Where the profile's long-term key is kept, and the key.
fn key_to_rotate(profiles: &Profiles, name: &str) -> anyhow::Result<(Holder, Credentials)> {
    let long_term = match long_term::long_term_of_profile(profiles, name) {
        Some(found) => found?,
        None => {
            return Err(Problem::usage(format!(
                "profile {name} has no long-term access key to rotate (none in the keyring or the credentials file)"
            ))
            .hint(format!("store one first: aws-cred keys add --profile {name}"))
            .into());
        }
    };
    let holder_profile = long_term
        .profile
        .clone()
        .unwrap_or_else(|| name.to_string());
    let holder = match &long_term.keyring_entry {
        Some(entry) => Holder::Keyring {
            entry: entry.clone(),
        },
        None => {
            let path = profiles.defining_file(&holder_profile).to_path_buf();
            let style = if path == profiles.files.credentials {
                HeaderStyle::Credentials
            } else {
                HeaderStyle::Config
            };
            Holder::File {
                path,
                profile: holder_profile,
                style,
            }
        }
    };
    Ok((holder, long_term.credentials))
}

/// Step 2: IAM CreateAccessKey, signed by the old key. Nothing has changed when it fails.
async fn create_key(
    req: &RotateRequest<'_>,
    old: &Credentials,
    keys: &[KeyInfo],
    holder: &Holder,
) -> anyhow::Result<NewKey> {
    let name = req.run.profile;
    let old_id = old.access_key_id();
    let (client, target) = req.run.aws.iam(IAM_REGION, Some(old.clone()));
    let created =
        match client.create_access_key().send().await {
            Ok(out) => out.access_key,
            Err(err) => {
                if aws::error_code(&err).is_some_and(|(code, _)| code == "LimitExceeded") {
                    return Err(two_keys(name, old_id, keys).into());
                }
                return Err(aws::failure("IAM CreateAccessKey", &target, err).context(format!(
                "no new key was made; nothing was changed: {} is still stored in {} and works",
                mask(old_id),
                holder.describe()
            )));
            }
        };
    let Some(created) = created else {
        return Err(Problem::failure("IAM CreateAccessKey answered without a key").into());
    };
    Ok(NewKey {
        access_key_id: created.access_key_id,
        secret_access_key: Zeroizing::new(created.secret_access_key),
    })
}

/// Step 4 failed: the old key is stored again and the new one deleted in IAM; the error says
/// how far that got.
async fn put_old_key_back(
    req: &RotateRequest<'_>,
    holder: &Holder,
    (old, old_stored): (&Credentials, &StoredKeys),
    new_id: &str,
    err: anyhow::Error,
) -> anyhow::Error {
    let name = req.run.profile;
    let old_id = &old_stored.access_key_id;
    let restored = holder.store(old_stored);
    let cleanup = delete_key(req.run.aws, old.clone(), new_id).await;
    let state = match restored {
        Ok(()) => format!(
            "the old key {} is stored again in {} and works",
            mask(old_id),
            holder.describe()
        ),
        Err(_) => format!(
            "and putting the old key {} back into {} failed too: store it again with aws-cred keys add --profile {name} --force",
            mask(old_id),
            holder.describe()
        ),
    };
    err.context(format!(
        "the new key {} did not work within {} s; {state}{}",
        mask(new_id),
        req.propagation.as_secs(),
        after_cleanup(new_id, cleanup)
    ))
}

fn two_keys(name: &str, current: &str, keys: &[KeyInfo]) -> Problem {
    let described: Vec<String> = keys
        .iter()
        .map(|k| {
            let this = if k.access_key_id == current {
                ", this profile's"
            } else {
                ""
            };
            format!("{} ({}{this})", k.access_key_id, k.status)
        })
        .collect();
    let other = keys
        .iter()
        .find(|k| k.access_key_id != current)
        .map(|k| k.access_key_id.as_str())
        .unwrap_or("OTHER_KEY_ID");
    Problem::usage(format!(
        "the IAM user already has two access keys, IAM's limit: {}; nothing was changed",
        described.join(", ")
    ))
    .hint(format!(
        "delete the key no tool uses any more, then rotate again:\n\
         aws iam delete-access-key --access-key-id {other} --profile {name}\n\
         aws-cred keys rotate --profile {name}"
    ))
}

/// GetCallerIdentity with the new key until it works or `propagation` has passed.
async fn verify(req: &RotateRequest<'_>, creds: Credentials) -> anyhow::Result<sts::Identity> {
    let deadline = Instant::now() + req.propagation;
    // Bounded by the deadline, and by a count in case each attempt fails at once.
    let mut last = None;
    for _ in 0..60 {
        match sts::get_caller_identity(req.run.aws, req.run.region, creds.clone()).await {
            Ok(identity) => return Ok(identity),
            Err(err) => last = Some(err),
        }
        if Instant::now() + Duration::from_secs(1) > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("GetCallerIdentity was not tried")))
}

async fn delete_key(aws: &Aws, signer: Credentials, key_id: &str) -> anyhow::Result<()> {
    let (client, target) = aws.iam(IAM_REGION, Some(signer));
    client
        .delete_access_key()
        .access_key_id(key_id)
        .send()
        .await
        .map_err(|e| aws::failure("IAM DeleteAccessKey", &target, e))?;
    Ok(())
}

fn after_cleanup(new_id: &str, cleanup: anyhow::Result<()>) -> String {
    match cleanup {
        Ok(()) => format!(" (the new key {} was deleted again in IAM)", mask(new_id)),
        Err(_) => format!(
            "; the new key could not be deleted in IAM: aws iam delete-access-key --access-key-id {new_id}"
        ),
    }
}
