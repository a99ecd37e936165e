//! The OS keyring: one secret per name under the service `aws-cred`, through the `keyring`
//! crate (Secret Service over D-Bus on Linux and the BSDs, Keychain on macOS, Credential Manager
//! on Windows). This file is the whole seam: a port to another store changes only this file.
//!
//! Secrets come back in [`Zeroizing`] buffers. Errors never carry a secret: the `keyring`
//! crate's errors can hold the stored bytes (`BadEncoding`, `BadDataFormat`), so they are
//! turned into [`KeyringError`] here and never formatted with `Debug`.

use std::collections::HashMap;
use zeroize::Zeroizing;

/// The service name of every entry aws-cred stores.
pub(crate) const SERVICE: &str = "aws-cred";

/// Why the keyring could not be used. Messages hold no secrets.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeyringError {
    /// No keyring service at all (no Secret Service on the session bus, no session bus).
    #[error("no OS keyring is available ({0})")]
    Unavailable(String),
    /// The keyring exists but is locked, or access was refused.
    #[error("the OS keyring is locked or refused access ({0})")]
    Locked(String),
    /// Anything else the keyring reported.
    #[error("the OS keyring failed: {0}")]
    Failure(String),
}

/// What to do when no keyring answers, for this platform.
#[cfg(all(unix, not(target_os = "macos")))]
pub(crate) const UNAVAILABLE_HINT: &str = "aws-cred keeps these keys in the OS keyring, and none answered. On Linux that is a Secret Service\n\
     (gnome-keyring, KeePassXC) on the D-Bus session bus: log in to a desktop session, or on a headless machine run\n\
     dbus-run-session -- sh -c 'printf PASSWORD | gnome-keyring-daemon --unlock --components=secrets; exec $SHELL'.\n\
     Or keep the keys in ~/.aws/credentials instead: aws-cred never falls back to plain text on its own.";
#[cfg(not(all(unix, not(target_os = "macos"))))]
pub(crate) const UNAVAILABLE_HINT: &str = "aws-cred keeps these keys in the OS keyring (Keychain on macOS, Credential Manager on Windows), and it did not answer.\n\
     Or keep the keys in ~/.aws/credentials instead: aws-cred never falls back to plain text on its own.";

/// What to do when the keyring is locked.
pub(crate) const LOCKED_HINT: &str = "unlock the keyring (log in to the desktop session, or unlock it in your keyring manager: Passwords and Keys, KeePassXC, Keychain Access), then retry";

fn store() -> Result<(), KeyringError> {
    match keyring::Entry::store_status() {
        Ok(()) => Ok(()),
        Err(err) => Err(KeyringError::Unavailable(describe(err))),
    }
}

fn entry(name: &str) -> Result<keyring::Entry, KeyringError> {
    store()?;
    keyring::Entry::new(SERVICE, name).map_err(classify)
}

/// The secret stored under `name`; `None` when there is no such entry.
pub(crate) fn get(name: &str) -> Result<Option<Zeroizing<String>>, KeyringError> {
    match entry(name)?.get_password() {
        Ok(secret) => Ok(Some(Zeroizing::new(secret))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(err) => Err(classify(err)),
    }
}

/// Store (or replace) the secret under `name`; a new entry gets `label`, which keyring
/// managers (Passwords and Keys, Keychain Access) show, where the store takes one.
pub(crate) fn set(name: &str, secret: &str, label: &str) -> Result<(), KeyringError> {
    store()?;
    let modifiers: HashMap<&str, &str> = HashMap::from([("label", label)]);
    match keyring_core::Entry::new_with_modifiers(SERVICE, name, &modifiers) {
        Ok(labelled) => labelled.set_password(secret).map_err(classify),
        // A store without labels.
        Err(keyring::Error::Invalid(..)) => entry(name)?.set_password(secret).map_err(classify),
        Err(err) => Err(classify(err)),
    }
}

/// Delete the entry `name`; `false` when there was none.
pub(crate) fn delete(name: &str) -> Result<bool, KeyringError> {
    match entry(name)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(err) => Err(classify(err)),
    }
}

/// The names of every entry under [`SERVICE`], sorted.
pub(crate) fn names() -> Result<Vec<String>, KeyringError> {
    store()?;
    let mut names = stored_names()?;
    names.sort();
    names.dedup();
    Ok(names)
}

/// Windows: the Credential Manager's target names `<name>.aws-cred`, read directly (the store's
/// own search dereferences entries without checking them).
#[cfg(windows)]
fn stored_names() -> Result<Vec<String>, KeyringError> {
    crate::os::windows::credential_names(&format!(".{SERVICE}"))
        .map_err(|err| KeyringError::Failure(format!("cannot list the Credential Manager: {err}")))
}

#[cfg(not(windows))]
fn stored_names() -> Result<Vec<String>, KeyringError> {
    let spec: HashMap<&str, &str> = HashMap::from([("service", SERVICE)]);
    let entries = keyring_core::Entry::search(&spec).map_err(classify)?;
    let mut names = Vec::with_capacity(entries.len());
    for entry in entries {
        // The Secret Service store keeps the name in the `username` attribute; others return
        // it as the entry's specifiers.
        let name = match entry.get_specifiers() {
            Some((service, user)) if service == SERVICE => Some(user),
            _ => entry
                .get_attributes()
                .ok()
                .and_then(|mut attrs| attrs.remove("username")),
        };
        if let Some(name) = name {
            names.push(name);
        }
    }
    Ok(names)
}

/// The `keyring` error as one of ours, without any stored bytes.
fn classify(err: keyring::Error) -> KeyringError {
    let text = describe(&err);
    match err {
        keyring::Error::NoStorageAccess(_) => KeyringError::Locked(text),
        keyring::Error::NoDefaultStore => KeyringError::Unavailable(text),
        _ => KeyringError::Failure(text),
    }
}

fn describe(err: &keyring::Error) -> String {
    match err {
        keyring::Error::NoEntry => "no such entry".to_string(),
        keyring::Error::BadEncoding(_) => "the stored value is not UTF-8".to_string(),
        keyring::Error::BadDataFormat(..) => "the stored value is malformed".to_string(),
        keyring::Error::Ambiguous(items) => {
            format!("{} entries match one name", items.len())
        }
        keyring::Error::PlatformFailure(inner) | keyring::Error::NoStorageAccess(inner) => {
            let mut text = inner.to_string();
            let mut next = inner.source();
            while let Some(cause) = next {
                let more = cause.to_string();
                if !text.contains(&more) {
                    text.push_str(": ");
                    text.push_str(&more);
                }
                next = cause.source();
            }
            text
        }
        other => other.to_string(),
    }
}
