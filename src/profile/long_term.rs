//! Long-term keys in the ~/.aws files or the OS keyring, and the one rule about where they
//! live: the aws-mfa convention keeps an IAM user's keys in `[P-long-term]` so that `[P]` can
//! hold today's MFA session; `aws-cred keys add` moves them into the OS keyring and leaves
//! `credential_process = aws-cred keys process --profile P` in `[profile P]`, which aws-cred
//! reads as "the keys are in keyring entry P" (no process is started). Every flow that needs
//! long-term keys (mfa, the chain's cached MFA sessions) asks here.

use super::Profiles;
use crate::base::error::{Exit, Problem};
use crate::os::keyring::{self, KeyringError};
use aws_credential_types::Credentials;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Key where aws-cred records when written session credentials expire; AWS tools ignore it.
pub(crate) const EXPIRATION_KEY: &str = "aws_cred_expiration";

/// The credentials a profile holds as keys (long-term or a written session).
pub(crate) fn static_credentials(profiles: &Profiles, name: &str) -> anyhow::Result<Credentials> {
    let get = |key| profiles.credential(name, key);
    let (Some(key), Some(secret)) = (get("aws_access_key_id"), get("aws_secret_access_key")) else {
        return Err(Problem::usage(format!(
            "profile {name:?} needs both aws_access_key_id and aws_secret_access_key (blank values count as absent)"
        ))
        .hint("fill in both keys, or remove the section")
        .into());
    };
    let mut builder = Credentials::builder()
        .access_key_id(key)
        .secret_access_key(secret)
        .provider_name(crate::base::PROVIDER);
    builder.set_session_token(
        get("aws_session_token")
            .or_else(|| get("aws_security_token"))
            .map(str::to_string),
    );
    builder.set_account_id(get("aws_account_id").map(Into::into));
    if let Some(text) = get(EXPIRATION_KEY) {
        let expiry = crate::base::time::parse_time(text).ok_or_else(|| {
            Problem::usage(format!(
                "profile {name:?}: {EXPIRATION_KEY} = {text:?} is not an RFC 3339 time"
            ))
        })?;
        builder.set_expiry(Some(expiry));
    }
    Ok(builder.build())
}

/// When the session aws-cred wrote into a profile expires (`aws_cred_expiration`): `None` when
/// the profile has no such key, `Some(Err(_))` when the value is not a time.
pub(crate) fn written_session_expiry(
    profiles: &Profiles,
    name: &str,
) -> Option<Result<std::time::SystemTime, NotATime>> {
    let text = profiles.get(name, EXPIRATION_KEY)?;
    Some(crate::base::time::parse_time(text).ok_or_else(|| NotATime(text.to_string())))
}

/// An [`EXPIRATION_KEY`] value that is not a time (the value, as written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{EXPIRATION_KEY} = {0:?} is not an RFC 3339 time")]
pub(crate) struct NotATime(pub String);

/// Remove the sessions aws-cred wrote into the credentials file at `path` (`logout`): sections
/// with [`EXPIRATION_KEY`] and a session token, never one holding long-term keys. `only`
/// limits it to one profile. Decided on the text read under the writer's lock; the names
/// removed.
pub(crate) fn remove_written_sessions(
    path: &std::path::Path,
    only: Option<&str>,
) -> Result<Vec<String>, super::writer::WriteError> {
    use super::writer::{self, HeaderStyle};
    writer::edit_file(path, writer::DEFAULT_LOCK_TIMEOUT, |original| {
        let mut text = original.to_string();
        let mut names: Vec<String> = writer::section_names(original, HeaderStyle::Credentials)
            .into_iter()
            .filter(|name| only.is_none_or(|only| only == *name))
            .map(str::to_string)
            .collect();
        names.dedup();
        let mut removed = Vec::new();
        for name in names {
            let Some(entries) = writer::section_entries(&text, &name, HeaderStyle::Credentials)
            else {
                continue;
            };
            let has = |key: &str| entries.iter().any(|(k, _)| k == key);
            let written =
                has(EXPIRATION_KEY) && (has("aws_session_token") || has("aws_security_token"));
            if !written {
                continue;
            }
            if let Some(next) = writer::remove_section(&text, &name, HeaderStyle::Credentials)? {
                text = next;
                removed.push(name);
            }
        }
        Ok(((!removed.is_empty()).then_some(text), removed))
    })
}

/// Long-term keys to make an MFA session from, and where they live.
#[derive(Debug, Clone)]
pub(crate) struct LongTerm {
    /// The profile holding the keys; `None` for environment variables.
    pub profile: Option<String>,
    pub credentials: Credentials,
    /// The keys are in `[NAME-long-term]`, so the session belongs in `[NAME]`.
    pub convention_for: Option<String>,
    /// The keys came from this OS keyring entry (the profile's credential_process names it).
    pub keyring_entry: Option<String>,
}

impl LongTerm {
    pub(crate) fn describe(&self) -> String {
        match (&self.profile, &self.keyring_entry) {
            (Some(p), Some(entry)) => {
                format!("profile {p} (keys in the OS keyring, entry {entry})")
            }
            (Some(p), None) => format!("profile {p}"),
            (None, _) => "environment variables".to_string(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Keys in the OS keyring

/// The credential_process value `aws-cred keys add --profile NAME` writes.
pub(crate) fn keyring_process_line(entry: &str) -> String {
    format!("aws-cred keys process --profile {entry}")
}

/// The keyring entry a credential_process command reads, when it is exactly
/// `aws-cred keys process --profile NAME` (any spacing); any other command is run as usual.
pub(crate) fn keyring_entry_of(command: &str) -> Option<&str> {
    let words: Vec<&str> = command.split_whitespace().collect();
    match words.as_slice() {
        ["aws-cred", "keys", "process", "--profile", entry] => Some(entry),
        _ => None,
    }
}

/// The keyring entry profile `name` gets its keys from, if its credential_process is ours.
pub(crate) fn keyring_entry_of_profile<'a>(profiles: &'a Profiles, name: &str) -> Option<&'a str> {
    profiles
        .get(name, "credential_process")
        .and_then(keyring_entry_of)
}

/// An IAM user's access key as aws-cred keeps it in one keyring entry (JSON, `Version` 1).
pub(crate) struct StoredKeys {
    pub access_key_id: String,
    pub secret_access_key: Zeroizing<String>,
    /// When aws-cred stored the key (RFC 3339).
    pub stored_at: Option<String>,
}

/// The key id only: the secret never reaches Debug output.
impl std::fmt::Debug for StoredKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKeys")
            .field("access_key_id", &self.access_key_id)
            .field("stored_at", &self.stored_at)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct WireOut<'a> {
    version: u32,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    stored_at: Option<&'a str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireIn {
    version: u32,
    access_key_id: String,
    secret_access_key: String,
    stored_at: Option<String>,
}

impl StoredKeys {
    /// The entry's text; it holds the secret, so it is zeroed when dropped.
    pub(crate) fn encode(&self) -> Zeroizing<String> {
        // Room for everything up front: a growing buffer would leave copies of the secret.
        let mut out = Zeroizing::new(Vec::with_capacity(
            256 + self.access_key_id.len() + self.secret_access_key.len(),
        ));
        let wire = WireOut {
            version: 1,
            access_key_id: &self.access_key_id,
            secret_access_key: &self.secret_access_key,
            stored_at: self.stored_at.as_deref(),
        };
        // Serializing strings into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &wire);
        Zeroizing::new(String::from_utf8(std::mem::take(&mut *out)).unwrap_or_default())
    }

    pub(crate) fn decode(entry: &str, text: &str) -> Result<Self, Problem> {
        let wire: WireIn = serde_json::from_str(text).map_err(|_| {
            Problem::failure(format!(
                "keyring entry {entry} (service {}) does not hold keys aws-cred can read",
                keyring::SERVICE
            ))
            .hint(format!(
                "store the keys again: aws-cred keys add --profile {entry}"
            ))
        })?;
        if wire.version != 1 {
            return Err(Problem::failure(format!(
                "keyring entry {entry} has format version {}, this aws-cred reads version 1",
                wire.version
            ))
            .hint(
                "use the aws-cred that stored it, or store the keys again with aws-cred keys add",
            ));
        }
        Ok(StoredKeys {
            access_key_id: wire.access_key_id,
            secret_access_key: Zeroizing::new(wire.secret_access_key),
            stored_at: wire.stored_at,
        })
    }

    pub(crate) fn credentials(&self) -> Credentials {
        Credentials::builder()
            .access_key_id(&self.access_key_id)
            .secret_access_key(self.secret_access_key.as_str())
            .provider_name(crate::base::PROVIDER)
            .build()
    }
}

/// A keyring failure as the person should read it: what failed, exit 4 when the keyring is
/// locked or missing, and how to get going again. Never a fallback to plain text.
pub(crate) fn keyring_problem(err: KeyringError, doing: &str) -> Problem {
    let message = format!("{doing}: {err}");
    match err {
        KeyringError::Unavailable(_) => {
            Problem::new(Exit::KeyringUnavailable, message).hint(keyring::UNAVAILABLE_HINT)
        }
        KeyringError::Locked(_) => {
            Problem::new(Exit::KeyringUnavailable, message).hint(keyring::LOCKED_HINT)
        }
        KeyringError::Failure(_) => Problem::failure(message),
    }
}

/// The keys in keyring entry `entry`; `None` when there is no such entry.
pub(crate) fn read_keyring(entry: &str) -> Result<Option<StoredKeys>, Problem> {
    let text = keyring::get(entry)
        .map_err(|err| keyring_problem(err, &format!("cannot read keyring entry {entry}")))?;
    text.map(|text| StoredKeys::decode(entry, &text))
        .transpose()
}

/// The keys of keyring entry `entry`, which a profile's credential_process names; a missing
/// entry is "no credentials" with the command that stores them.
pub(crate) fn keyring_credentials(entry: &str) -> Result<StoredKeys, Problem> {
    read_keyring(entry)?.ok_or_else(|| {
        Problem::new(
            Exit::NoCredentials,
            format!(
                "the OS keyring has no keys for profile {entry} (service {}, entry {entry})",
                keyring::SERVICE
            ),
        )
        .hint(format!("store them: aws-cred keys add --profile {entry}"))
    })
}

pub(crate) fn long_term_name(profile: &str) -> String {
    format!("{profile}-long-term")
}

/// The long-term keys for `name`: `[name-long-term]` (the aws-mfa convention) first, then the
/// profile's own keys when they are not a session. `None` when the profile has no keys.
pub(crate) fn long_term_of_profile(
    profiles: &Profiles,
    name: &str,
) -> Option<anyhow::Result<LongTerm>> {
    let long = long_term_name(name);
    let has_keys = |p: &str| {
        profiles.credential(p, "aws_access_key_id").is_some()
            || keyring_entry_of_profile(profiles, p).is_some()
    };
    let (holder, convention_for) = if has_keys(&long) {
        (long, Some(name.to_string()))
    } else if has_keys(name) {
        (name.to_string(), None)
    } else {
        return None;
    };
    // The SDKs' order: credential_process before keys in the profile.
    if let Some(entry) = keyring_entry_of_profile(profiles, &holder) {
        return Some(
            keyring_credentials(entry)
                .map(|keys| LongTerm {
                    profile: Some(holder.clone()),
                    credentials: keys.credentials(),
                    convention_for,
                    keyring_entry: Some(entry.to_string()),
                })
                .map_err(Into::into),
        );
    }
    let creds = match static_credentials(profiles, &holder) {
        Ok(c) => c,
        Err(e) => return Some(Err(e)),
    };
    if creds.session_token().is_some() {
        return Some(Err(Problem::usage(format!(
            "profile {holder} holds session credentials (aws_session_token), not long-term keys"
        ))
        .hint(format!(
            "keep the IAM user's access keys (AKIA...) in [{}] and let aws-cred write sessions to [{name}]",
            long_term_name(name)
        ))
        .into()));
    }
    Some(Ok(LongTerm {
        profile: Some(holder),
        credentials: creds,
        convention_for,
        keyring_entry: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_keys_process_line_names_a_keyring_entry() {
        assert_eq!(
            keyring_entry_of(&keyring_process_line("prod")),
            Some("prod")
        );
        assert_eq!(
            keyring_entry_of("  aws-cred   keys process --profile a/b "),
            Some("a/b")
        );
        for other in [
            "aws-cred keys process",
            "aws-cred keys process --profile a --region x",
            "/usr/bin/aws-cred keys process --profile a",
            "aws-cred export --format json --profile a",
            "sh -c 'aws-cred keys process --profile a'",
        ] {
            assert_eq!(keyring_entry_of(other), None, "{other}");
        }
    }

    #[test]
    fn stored_keys_round_trip_and_never_show_the_secret() {
        let keys = StoredKeys {
            access_key_id: "AKIAEXAMPLE123456789".into(),
            secret_access_key: Zeroizing::new("wJalr/SECRET+key".into()),
            stored_at: Some("2026-11-29T09:00:00Z".into()),
        };
        let text = keys.encode();
        assert!(text.starts_with("{\"Version\":1,"), "{}", text.as_str());
        let back = StoredKeys::decode("p", &text).unwrap();
        assert_eq!(back.access_key_id, keys.access_key_id);
        assert_eq!(back.secret_access_key.as_str(), "wJalr/SECRET+key");
        assert!(!format!("{back:?}").contains("SECRET"));
        let err = StoredKeys::decode("p", "SECRET not json").unwrap_err();
        assert!(!format!("{err:?}").contains("SECRET"));
        assert!(
            StoredKeys::decode(
                "p",
                r#"{"Version":2,"AccessKeyId":"A","SecretAccessKey":"S"}"#
            )
            .is_err()
        );
    }
}
