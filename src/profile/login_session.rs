//! Read side of `aws login` sessions (a profile's `login_session = <ARN>`), enough for
//! `status` and `logout`: the cache file's place and its expiry. The file is the AWS CLI's
//! (PROTOCOLS-login-federation.md): `<dir>/<sha256 hex of login_session>.json`, where the
//! directory is `$AWS_LOGIN_CACHE_DIRECTORY` or `~/.aws/login/cache`, holding
//! `{"accessToken": {..., "expiresAt"}, "clientId", "refreshToken", ...}`.
//!
//! It lives in `profile` (below the flows) because `status` inspects it from the chain's side
//! and reads only the file's shape; the `login` flow owns writing and refreshing the cache.

use crate::base::validity::Validity;
use crate::os::fs;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The profile key that names a login session.
pub(crate) const KEY: &str = "login_session";

/// What a cache file needs for its session to be refreshed once expired: the one rule, used by
/// `status` here and by the `login` flow's refresh (`login::cache`).
pub(crate) const REFRESH_FIELDS: [&str; 3] = ["clientId", "refreshToken", "dpopKey"];

/// The cache file of a session (the value hashed as written, as the AWS CLI does).
pub(crate) fn cache_path(dir: &Path, login_session: &str) -> PathBuf {
    dir.join(format!(
        "{}.json",
        hex::encode(Sha256::digest(login_session.as_bytes()))
    ))
}

/// The session's state: valid until `accessToken.expiresAt`; once expired, refreshable while
/// the file has every one of [`REFRESH_FIELDS`] (as the refresh needs them).
pub(crate) fn state(dir: &Path, login_session: &str, now: SystemTime) -> Validity {
    let path = cache_path(dir, login_session);
    // The trust rule of the chain's reads (os::fs::judge_shared): another user's file is not
    // this session's.
    let read = fs::read_regular_checked(&path, fs::MAX_CACHE_FILE, |metadata| {
        fs::judge_shared(&path, metadata).map(drop)
    });
    let bytes = match read {
        Ok(bytes) => bytes,
        Err(err) if err.is_not_found() => return Validity::Missing,
        Err(err) => return Validity::Unusable(err.to_string()),
    };
    parse_state(&bytes, now)
}

fn parse_state(bytes: &[u8], now: SystemTime) -> Validity {
    let Ok(serde_json::Value::Object(doc)) = serde_json::from_slice::<serde_json::Value>(bytes)
    else {
        return Validity::Unusable("it is not a JSON object".into());
    };
    let expires = doc
        .get("accessToken")
        .and_then(|t| t.get("expiresAt"))
        .and_then(serde_json::Value::as_str)
        .and_then(crate::base::time::parse_time);
    let Some(expires) = expires else {
        return Validity::Unusable("it has no accessToken.expiresAt".into());
    };
    let refreshable = REFRESH_FIELDS
        .iter()
        .all(|k| doc.get(*k).and_then(serde_json::Value::as_str).is_some());
    match Validity::from_expiry(now, expires) {
        Validity::Expired { at } if refreshable => Validity::Refreshable { expired: at },
        other => other,
    }
}

/// Remove one session's cache file (`logout`); the file, or `None` when there was none.
pub(crate) fn remove(dir: &Path, login_session: &str) -> Result<Option<PathBuf>, fs::FsError> {
    let path = cache_path(dir, login_session);
    Ok(fs::remove_existing(&path)?.then_some(path))
}

/// Remove every session file in `dir` of the documented shape (a JSON object with
/// `accessToken.expiresAt`); anything else there is left alone (`logout --all`).
pub(crate) fn remove_all(dir: &Path) -> Result<Vec<PathBuf>, fs::FsError> {
    let mut removed = Vec::new();
    for path in fs::list_files(dir, ".json")? {
        let shaped = fs::read_regular(&path, fs::MAX_CACHE_FILE).is_ok_and(|bytes| {
            !matches!(
                parse_state(&bytes, SystemTime::UNIX_EPOCH),
                Validity::Unusable(_)
            )
        });
        if shaped && fs::remove_existing(&path)? {
            removed.push(path);
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn file_name_is_sha256_of_the_arn() {
        let path = cache_path(Path::new("/c"), "arn:aws:iam::0123456789012:user/Admin");
        let name = path.file_name().unwrap().to_str().unwrap();
        assert_eq!(name.len(), 64 + 5);
        assert!(name.ends_with(".json"));
    }

    #[test]
    fn states_from_the_cli_shape() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let doc = |expires: &str, refresh: bool| {
            let extra = if refresh {
                r#", "clientId": "c", "refreshToken": "r", "dpopKey": "k""#
            } else {
                ""
            };
            format!(r#"{{"accessToken": {{"accessKeyId": "A", "expiresAt": "{expires}"}}{extra}}}"#)
        };
        let later = "2027-02-01T00:00:00Z";
        let earlier = "2020-01-01T00:00:00Z";
        assert_eq!(
            parse_state(doc(later, false).as_bytes(), now).word(),
            "valid"
        );
        assert_eq!(
            parse_state(doc(earlier, true).as_bytes(), now).word(),
            "refreshable"
        );
        assert_eq!(
            parse_state(doc(earlier, false).as_bytes(), now).word(),
            "expired"
        );
        assert_eq!(parse_state(b"[]", now).word(), "unusable");
        // Without the DPoP key the refresh cannot be made: expired, as `export` then says.
        let no_key = format!(
            r#"{{"accessToken": {{"accessKeyId": "A", "expiresAt": "{earlier}"}}, "clientId": "c", "refreshToken": "r"}}"#
        );
        assert_eq!(parse_state(no_key.as_bytes(), now).word(), "expired");
    }
}
