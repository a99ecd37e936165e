//! The DPoP key and proofs (RFC 9449) that bind a login session's refresh token to this
//! machine: an ES256 (ECDSA P-256, SHA-256) JWS whose header carries the public key as a JWK
//! and whose payload names the request (`htm`, `htu`), the time (`iat`) and a fresh `jti`.
//!
//! The key lives in the cache as the AWS CLI writes it: SEC1 DER (`EC PRIVATE KEY`, with the
//! curve OID and the public key) in PEM, wrapped at 64 columns.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p256::SecretKey;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use std::fmt;
use std::time::SystemTime;

/// A P-256 private key. Its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct Key(SecretKey);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(** redacted **)")
    }
}

/// What is wrong with a key, without any of its bytes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// Not base64 once the PEM armour lines are dropped.
    #[error("its dpopKey is not a PEM/base64 EC private key")]
    NotPem,
    /// The decoded bytes are not a SEC1 P-256 private key.
    #[error("its dpopKey is not a P-256 EC private key")]
    NotP256,
    /// The system's random source failed (why), or gave no valid key.
    #[error("no system random source: {0}")]
    Random(String),
}

impl Key {
    /// A new key from the system's random source.
    pub fn generate() -> Result<Key, KeyError> {
        // A 32-byte string is a valid scalar unless it is 0 or >= n (about 2^-32): a few
        // tries always suffice.
        for _ in 0..16 {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).map_err(|e| KeyError::Random(e.to_string()))?;
            if let Ok(key) = SecretKey::from_slice(&bytes) {
                return Ok(Key(key));
            }
        }
        Err(KeyError::Random("no valid P-256 scalar in 16 tries".into()))
    }

    /// Read the cache's `dpopKey` as every SDK does: PEM armour lines dropped, the rest
    /// base64 SEC1 DER; literal `\n` sequences (a hand-edited file) count as line breaks.
    pub fn from_pem(text: &str) -> Result<Key, KeyError> {
        let text = text.replace("\\n", "\n");
        let body: String = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.starts_with("-----"))
            .collect();
        let der = STANDARD.decode(body.trim()).map_err(|_| KeyError::NotPem)?;
        SecretKey::from_sec1_der(&der)
            .map(Key)
            .map_err(|_| KeyError::NotP256)
    }

    /// `-----BEGIN EC PRIVATE KEY-----\n…\n-----END EC PRIVATE KEY-----\n`, as the AWS CLI
    /// writes it: RFC 5915 `ECPrivateKey` with the curve OID and the public key (which p256's
    /// own encoder leaves out), base64 in 64-column lines. The text is the private key: it goes
    /// into the cache file only.
    pub(crate) fn to_pem(&self) -> String {
        let mut der = Vec::with_capacity(121);
        // SEQUENCE { INTEGER 1, OCTET STRING d, [0] { OID prime256v1 }, [1] { BIT STRING Q } }
        der.extend_from_slice(&[0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20]);
        der.extend_from_slice(&self.0.to_bytes());
        der.extend_from_slice(&[
            0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
        ]);
        der.extend_from_slice(&[0xa1, 0x44, 0x03, 0x42, 0x00]);
        der.extend_from_slice(self.0.public_key().to_encoded_point(false).as_bytes());
        let body = STANDARD.encode(&der);
        let mut pem = String::from("-----BEGIN EC PRIVATE KEY-----\n");
        for line in body.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END EC PRIVATE KEY-----\n");
        pem
    }

    /// The public key's JWK coordinates, base64url without padding.
    fn coordinates(&self) -> (String, String) {
        let point = self.0.public_key().to_encoded_point(false);
        let encode = |b: Option<&p256::FieldBytes>| b.map(|b| URL_SAFE_NO_PAD.encode(b));
        (
            encode(point.x()).unwrap_or_default(),
            encode(point.y()).unwrap_or_default(),
        )
    }

    /// The `DPoP` header value for `method` on `url` (without its query) at `now`.
    pub fn proof(&self, method: &str, url: &str, now: SystemTime) -> String {
        let (x, y) = self.coordinates();
        let json = |s: &str| serde_json::Value::from(s).to_string();
        // Key order as the AWS CLI and aws-config write them.
        let header = format!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{{"kty":"EC","x":{},"y":{},"crv":"P-256"}}}}"#,
            json(&x),
            json(&y)
        );
        let iat = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let payload = format!(
            r#"{{"jti":{},"htm":{},"htu":{},"iat":{iat}}}"#,
            json(&uuid::Uuid::new_v4().to_string()),
            json(method),
            json(url.split(['?', '#']).next().unwrap_or(url)),
        );
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        // RFC 6979 deterministic nonces: no random source needed to sign.
        let signature: Signature = SigningKey::from(&self.0).sign(message.as_bytes());
        format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier as _;
    use std::time::Duration;

    // aws-config's test key (src/login/dpop.rs) and its known public coordinates.
    const TEST_KEY: &str = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBMB/RwQERsVoqWRQG4zK8CnaAa5dfrpbm+9tFdBh3z4oAoGCCqGSM49\nAwEHoUQDQgAEWb1VLi1EA2hJaTz4yYuxSELvY+1GAfL+8rUTCAdiFid87Bf6GY+s\n2+1RpqDv0RpZiDIMCrZrsAh+RK9S3QCaGA==\n-----END EC PRIVATE KEY-----\n";

    fn decode_json(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn reads_the_cli_key_and_writes_it_back_byte_for_byte() {
        let key = Key::from_pem(TEST_KEY).unwrap();
        assert_eq!(
            key.coordinates(),
            (
                "Wb1VLi1EA2hJaTz4yYuxSELvY-1GAfL-8rUTCAdiFic".to_string(),
                "fOwX-hmPrNvtUaag79EaWYgyDAq2a7AIfkSvUt0Amhg".to_string()
            )
        );
        assert_eq!(key.to_pem(), TEST_KEY);
        let escaped = TEST_KEY.replace('\n', "\\n");
        assert!(Key::from_pem(&escaped).is_ok());
        assert_eq!(Key::from_pem("nope!").unwrap_err(), KeyError::NotPem);
        assert_eq!(Key::from_pem("AAAA").unwrap_err(), KeyError::NotP256);
        assert!(!format!("{key:?}").contains("MHc"));
    }

    #[test]
    fn proof_verifies_against_its_own_jwk() {
        let key = Key::generate().unwrap();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let proof = key.proof("POST", "http://127.0.0.1:9/v1/token?x=1", now);
        let parts: Vec<&str> = proof.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = decode_json(parts[0]);
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        let payload = decode_json(parts[1]);
        assert_eq!(payload["htm"], "POST");
        assert_eq!(payload["htu"], "http://127.0.0.1:9/v1/token");
        assert_eq!(payload["iat"], 1_800_000_000);
        let jwk = &header["jwk"];
        let mut point = vec![4u8];
        for c in ["x", "y"] {
            point.extend(URL_SAFE_NO_PAD.decode(jwk[c].as_str().unwrap()).unwrap());
        }
        let verifying = VerifyingKey::from_sec1_bytes(&point).unwrap();
        let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).unwrap();
        let message = format!("{}.{}", parts[0], parts[1]);
        verifying.verify(message.as_bytes(), &signature).unwrap();
        let again = key.proof("POST", "http://127.0.0.1:9/v1/token", now);
        assert_ne!(
            decode_json(again.split('.').nth(1).unwrap())["jti"],
            payload["jti"]
        );
    }
}
