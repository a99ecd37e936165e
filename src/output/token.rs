//! Auth tokens: kubectl's ExecCredential, and database tokens bare or as JSON.

use serde::Serialize;
use std::time::SystemTime;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExecCredential<'a> {
    kind: &'static str,
    api_version: &'a str,
    spec: serde_json::Map<String, serde_json::Value>,
    status: ExecStatus<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExecStatus<'a> {
    expiration_timestamp: String,
    token: &'a str,
}

/// The ExecCredential kubectl reads from an exec plugin, as `aws eks get-token` prints it.
pub(crate) fn exec_credential(api_version: &str, token: &str, expiration: SystemTime) -> String {
    let doc = ExecCredential {
        kind: "ExecCredential",
        api_version,
        spec: serde_json::Map::new(),
        status: ExecStatus {
            expiration_timestamp: crate::base::time::format_utc(expiration, "%Y-%m-%dT%H:%M:%SZ"),
            token,
        },
    };
    let mut text = serde_json::to_string_pretty(&doc).expect("plain data serializes");
    text.push('\n');
    text
}

/// A database token: alone on its line, or `{"token": …, "expiration": …}`.
pub(crate) fn db_token(token: &str, expiration: SystemTime, json: bool) -> String {
    if !json {
        return format!("{token}\n");
    }
    let mut text = serde_json::to_string_pretty(&serde_json::json!({
        "token": token,
        "expiration": crate::base::time::rfc3339(expiration),
    }))
    .expect("plain data serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn exec_credential_has_kubectls_shape() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_840);
        let text = exec_credential("client.authentication.k8s.io/v1", "k8s-aws-v1.abc", at);
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            doc,
            serde_json::json!({
                "kind": "ExecCredential",
                "apiVersion": "client.authentication.k8s.io/v1",
                "spec": {},
                "status": {"expirationTimestamp": "2023-11-14T22:27:20Z", "token": "k8s-aws-v1.abc"}
            })
        );
    }

    #[test]
    fn db_tokens_are_bare_or_json() {
        let at = SystemTime::UNIX_EPOCH;
        assert_eq!(db_token("h:1/?a", at, false), "h:1/?a\n");
        let doc: serde_json::Value = serde_json::from_str(&db_token("h:1/?a", at, true)).unwrap();
        assert_eq!(doc["token"], "h:1/?a");
        assert_eq!(doc["expiration"], "1970-01-01T00:00:00Z");
    }
}
