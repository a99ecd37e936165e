//! PKCE (RFC 7636) for the OAuth authorization-code flows (IAM Identity Center and `aws
//! login`): a 64-character verifier of `[A-Za-z0-9-._~]` from the system random source, and its
//! S256 challenge.

use crate::base::secret::Secret;
use base64::Engine;
use sha2::Digest;

/// A PKCE pair: a 64-character verifier and its S256 challenge.
#[derive(Debug)]
pub(crate) struct Pkce {
    pub verifier: Secret,
    pub challenge: String,
}

impl Pkce {
    pub(crate) fn new() -> anyhow::Result<Pkce> {
        const ALPHABET: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
        // Rejection sampling keeps every character equally likely (3 * 66 = 198 <= 256).
        let limit = (256 / ALPHABET.len() * ALPHABET.len()) as u8;
        let mut verifier = String::with_capacity(64);
        // Each round keeps 198/256 of its bytes; 64 rounds of 64 bytes cannot all fall short.
        for _ in 0..64 {
            let mut bytes = [0u8; 64];
            getrandom::fill(&mut bytes)
                .map_err(|e| anyhow::anyhow!("no system random source: {e}"))?;
            for b in bytes.into_iter().filter(|b| *b < limit) {
                if verifier.len() == 64 {
                    break;
                }
                verifier.push(ALPHABET[b as usize % ALPHABET.len()] as char);
            }
            if verifier.len() == 64 {
                break;
            }
        }
        if verifier.len() != 64 {
            return Err(anyhow::anyhow!("the system random source kept failing"));
        }
        let challenge = challenge_of(&verifier);
        Ok(Pkce {
            verifier: Secret::new(verifier),
            challenge,
        })
    }
}

/// base64url(SHA-256(verifier)) without padding (RFC 7636, S256).
pub(crate) fn challenge_of(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}
