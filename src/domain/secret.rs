//! The deployment's root secret and the one way keys are derived from it.
//! Loading it from the environment or a file is `config`'s job.

use std::fmt;

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Sha256, Sha512};

/// The deployment's root secret. Every organization's key-signing key and the
/// cookie key derive from it; losing it invalidates every API key.
#[derive(Clone)]
pub struct ServerSecret(Vec<u8>);

/// A secret shorter than [`ServerSecret::MIN_LEN`] bytes (its length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretTooShort(pub usize);

impl ServerSecret {
    pub const MIN_LEN: usize = 32;

    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, SecretTooShort> {
        if bytes.len() < Self::MIN_LEN {
            return Err(SecretTooShort(bytes.len()));
        }
        Ok(Self(bytes))
    }

    /// A fresh random secret (first start, tests).
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; Self::MIN_LEN];
        rand::fill(&mut bytes[..]);
        Self(bytes)
    }

    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.0)
    }

    /// HMAC-SHA-256 of `parts` under the server secret: the one way keys are
    /// derived from it.
    pub fn derive(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// The 64 bytes of the key that signs and encrypts cookies.
    pub fn cookie_key_bytes(&self) -> [u8; 64] {
        let mut mac = <Hmac<Sha512> as KeyInit>::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        mac.update(b"keyward cookie key v1");
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerSecret(<redacted>)")
    }
}
