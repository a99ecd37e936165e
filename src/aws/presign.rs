//! SigV4 presigned URLs (query-string authentication), made locally without a network call:
//! the EKS, RDS and Aurora DSQL auth tokens.
//!
//! The URL is laid out as botocore lays it out when awscrt is installed (the AWS CLI v2 always
//! has it), so tokens equal the AWS CLI's byte for byte: the operation's parameters first, in
//! their order, then `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`,
//! `X-Amz-SignedHeaders`, `X-Amz-Expires`, `X-Amz-Security-Token` (session credentials only),
//! and `X-Amz-Signature` last. (botocore's pure-Python signer swaps `X-Amz-Expires` and
//! `X-Amz-SignedHeaders`; the signature is the same.) Names and values are percent-encoded
//! except `A-Z a-z 0-9 - _ . ~`. The canonical query string sorts the encoded pairs; the
//! payload hash is the empty body's; the `host` header is the lowercased host, with the port
//! unless it is 443.

use aws_credential_types::Credentials;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::time::SystemTime;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The payload hash of a presigned GET: the SHA-256 of the empty body (the parameters travel in
/// the query string). `UNSIGNED-PAYLOAD` is S3's, not these services'.
const EMPTY_PAYLOAD_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// One GET request to presign.
#[derive(Debug, Clone)]
pub(crate) struct Presign<'a> {
    /// The host as the URL carries it, with `:port` when there is one.
    pub authority: &'a str,
    /// The operation's parameters, in the order they appear in the URL.
    pub params: &'a [(&'a str, &'a str)],
    /// Headers signed besides `host` (names in lower case); the caller of the URL must send
    /// them.
    pub headers: &'a [(&'a str, &'a str)],
    /// The signing name (`sts`, `rds-db`, `dsql`) and region.
    pub service: &'a str,
    pub region: &'a str,
    /// `X-Amz-Expires`, in seconds.
    pub expires_secs: u64,
    pub now: SystemTime,
}

/// Percent-encode as botocore's `percent_encode` does (every byte but the unreserved ones).
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// The `host` header for an authority: lower case, without the default HTTPS port.
fn host_header(authority: &str) -> String {
    let lower = authority.to_ascii_lowercase();
    match lower.strip_suffix(":443") {
        Some(host) => host.to_string(),
        None => lower,
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The presigned URL without its scheme: `authority/?query` (the form RDS and DSQL take as a
/// password; EKS puts `https://` in front).
pub(crate) fn presign(request: &Presign<'_>, credentials: &Credentials) -> String {
    let stamp = crate::base::time::format_utc(request.now, "%Y%m%dT%H%M%SZ");
    let date = &stamp[..8];
    let scope = format!("{date}/{}/{}/aws4_request", request.region, request.service);
    let host = host_header(request.authority);
    let mut headers: Vec<(String, String)> = vec![("host".to_string(), host)];
    headers.extend(request.headers.iter().map(|(name, value)| {
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        (name.to_ascii_lowercase(), value)
    }));
    headers.sort();
    let signed_headers = headers
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");

    let credential = format!("{}/{scope}", credentials.access_key_id());
    let expires = request.expires_secs.to_string();
    let mut pairs: Vec<(String, String)> = request
        .params
        .iter()
        .map(|(name, value)| (encode(name), encode(value)))
        .collect();
    let mut auth: Vec<(&str, &str)> = vec![
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", &credential),
        ("X-Amz-Date", &stamp),
        ("X-Amz-SignedHeaders", &signed_headers),
        ("X-Amz-Expires", &expires),
    ];
    if let Some(token) = credentials.session_token() {
        auth.push(("X-Amz-Security-Token", token));
    }
    pairs.extend(
        auth.iter()
            .map(|(name, value)| (encode(name), encode(value))),
    );
    let query = pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&");

    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort();
    let canonical_query = sorted
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&");
    let canonical_headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}:{value}\n"))
        .collect();
    let canonical_request = format!(
        "GET\n/\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{EMPTY_PAYLOAD_SHA256}"
    );
    let string_to_sign = format!(
        "{ALGORITHM}\n{stamp}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let secret = zeroize::Zeroizing::new(format!("AWS4{}", credentials.secret_access_key()));
    let key = [date, request.region, request.service, "aws4_request"]
        .iter()
        .fold(
            zeroize::Zeroizing::new(secret.as_bytes().to_vec()),
            |key, part| zeroize::Zeroizing::new(hmac(&key, part.as_bytes())),
        );
    let signature = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    format!("{}/?{query}&X-Amz-Signature={signature}", request.authority)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn keys(token: Option<&str>) -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            token.map(str::to_string),
            None,
            "test",
        )
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn encoding_leaves_only_unreserved_bytes() {
        assert_eq!(encode("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(encode("a/b c+d=é"), "a%2Fb%20c%2Bd%3D%C3%A9");
        assert_eq!(encode("host;x-k8s-aws-id"), "host%3Bx-k8s-aws-id");
    }

    #[test]
    fn host_header_is_lower_case_without_the_https_port() {
        assert_eq!(host_header("DB.Example.com:5432"), "db.example.com:5432");
        assert_eq!(host_header("db.example.com:443"), "db.example.com");
        assert_eq!(
            host_header("Cluster.dsql.us-east-1.on.aws"),
            "cluster.dsql.us-east-1.on.aws"
        );
    }

    #[test]
    fn layout_is_operation_params_then_auth_params_then_signature() {
        let url = presign(
            &Presign {
                authority: "db.example.com:5432",
                params: &[("Action", "connect"), ("DBUser", "app user")],
                headers: &[],
                service: "rds-db",
                region: "us-east-1",
                expires_secs: 900,
                now: at(1_700_000_000),
            },
            &keys(Some("tok/en=")),
        );
        let (authority, query) = url.split_once("/?").unwrap();
        assert_eq!(authority, "db.example.com:5432");
        let names: Vec<&str> = query
            .split('&')
            .map(|pair| pair.split_once('=').unwrap().0)
            .collect();
        assert_eq!(
            names,
            [
                "Action",
                "DBUser",
                "X-Amz-Algorithm",
                "X-Amz-Credential",
                "X-Amz-Date",
                "X-Amz-SignedHeaders",
                "X-Amz-Expires",
                "X-Amz-Security-Token",
                "X-Amz-Signature"
            ]
        );
        assert!(query.contains("DBUser=app%20user&"), "{query}");
        assert!(
            query.contains(
                "X-Amz-Credential=AKIDEXAMPLE%2F20231114%2Fus-east-1%2Frds-db%2Faws4_request&"
            ),
            "{query}"
        );
        assert!(query.contains("X-Amz-Date=20231114T221320Z&"), "{query}");
        assert!(
            query.contains("X-Amz-Security-Token=tok%2Fen%3D&"),
            "{query}"
        );
        let signature = query.rsplit_once("X-Amz-Signature=").unwrap().1;
        assert_eq!(signature.len(), 64);
        assert!(signature.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn every_signed_input_changes_the_signature() {
        let base = Presign {
            authority: "sts.us-west-2.amazonaws.com",
            params: &[("Action", "GetCallerIdentity"), ("Version", "2011-06-15")],
            headers: &[("x-k8s-aws-id", "prod")],
            service: "sts",
            region: "us-west-2",
            expires_secs: 60,
            now: at(1_700_000_000),
        };
        let signature = |request: &Presign<'_>, creds: &Credentials| {
            presign(request, creds)
                .rsplit_once('=')
                .unwrap()
                .1
                .to_string()
        };
        let creds = keys(None);
        let reference = signature(&base, &creds);
        assert_eq!(reference, signature(&base, &creds), "deterministic");
        let variants = [
            Presign {
                headers: &[("x-k8s-aws-id", "staging")],
                ..base.clone()
            },
            Presign {
                region: "us-east-1",
                ..base.clone()
            },
            Presign {
                expires_secs: 61,
                ..base.clone()
            },
            Presign {
                now: at(1_700_000_001),
                ..base.clone()
            },
            Presign {
                authority: "sts.us-east-1.amazonaws.com",
                ..base.clone()
            },
        ];
        for variant in &variants {
            assert_ne!(signature(variant, &creds), reference, "{variant:?}");
        }
        assert_ne!(signature(&base, &keys(Some("t"))), reference);
    }
}
