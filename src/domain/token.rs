//! The API key format and its digest.
//!
//! !!! NEVER CHANGE: the prefix, the lengths, the alphabet, the checksum and
//! !!! the digest construction. Every key ever issued, and every secret
//! !!! scanner rule written for them, depends on them.
//!
//! `ask_` + 58 random base62 characters + 6 base62 characters of CRC32 over
//! everything before them = 68 characters. The first 12 random characters are
//! the public key id; the other 46 are the secret part.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use super::ValidationError;

pub const PREFIX: &str = "ask_";
pub const RANDOM_LEN: usize = 58;
pub const KEY_ID_LEN: usize = 12;
pub const CHECKSUM_LEN: usize = 6;
pub const TOKEN_LEN: usize = PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A syntactically valid key whose checksum matches. Holds the secret: no
/// `Display`, and `Debug` shows only the key id.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeyToken(String);

/// Why a presented key was refused before any lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the key is empty")]
    Empty,
    #[error("the key does not have the Keyward format (ask_ followed by 64 letters and digits)")]
    Malformed,
    #[error("the key's checksum does not match: it was mistyped or truncated")]
    BadChecksum,
}

fn checksum(body: &str) -> [u8; CHECKSUM_LEN] {
    let mut value = crc32fast::hash(body.as_bytes());
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    out
}

impl ApiKeyToken {
    /// A new key from the OS CSPRNG.
    pub fn generate() -> Self {
        use rand::RngExt as _;
        let mut rng = rand::rng();
        let random: String = (0..RANDOM_LEN)
            .map(|_| char::from(BASE62[rng.random_range(0..BASE62.len())]))
            .collect();
        let mut token = format!("{PREFIX}{random}");
        let sum = checksum(&token);
        token.extend(sum.iter().map(|&b| char::from(b)));
        Self(token)
    }

    /// Checks format and checksum, without touching any storage.
    pub fn parse(raw: &str) -> Result<Self, TokenError> {
        if raw.is_empty() {
            return Err(TokenError::Empty);
        }
        if raw.len() != TOKEN_LEN
            || !raw.starts_with(PREFIX)
            // `&` rather than a short-circuit: no branch per byte on random
            // characters, so the check vectorizes (it was half the parse).
            || !raw[PREFIX.len()..]
                .bytes()
                .fold(true, |ok, b| ok & b.is_ascii_alphanumeric())
        {
            return Err(TokenError::Malformed);
        }
        let (body, sum) = raw.split_at(TOKEN_LEN - CHECKSUM_LEN);
        // The checksum is public (anyone can compute it): a plain compare.
        if checksum(body) == sum.as_bytes() {
            Ok(Self(raw.to_owned()))
        } else {
            Err(TokenError::BadChecksum)
        }
    }

    /// The public key id: the first 12 random characters.
    pub fn key_id(&self) -> KeyId {
        KeyId(self.0[PREFIX.len()..PREFIX.len() + KEY_ID_LEN].to_owned())
    }

    /// The whole key, to be shown once to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// HMAC-SHA-256 of the whole key under the organization's signing key,
    /// hex: the only form in which a key is stored.
    pub fn digest(&self, signing_key: &OrgSigningKey) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&signing_key.0).expect("HMAC takes any key length");
        mac.update(self.0.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Constant-time comparison of this key's digest with a stored one.
    pub fn matches(&self, signing_key: &OrgSigningKey, stored_digest: &str) -> bool {
        self.digest(signing_key)
            .as_bytes()
            .ct_eq(stored_digest.as_bytes())
            .into()
    }
}

impl fmt::Debug for ApiKeyToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeyToken({}…)", self.key_id().hint())
    }
}

/// The key id of `text` when it is a key, or the start of one longer than
/// its key id (`ask_` and 13 to 64 letters and digits, checksum or not):
/// text that holds secret characters and must not be echoed, put in a URL
/// or logged. A key id alone (`ask_` and 12) is not secret: `None`.
pub fn key_id_if_key_shaped(text: &str) -> Option<KeyId> {
    let body = text.strip_prefix(PREFIX)?;
    let shaped = (KEY_ID_LEN + 1..=TOKEN_LEN - PREFIX.len()).contains(&body.len())
        && body.bytes().all(|b| b.is_ascii_alphanumeric());
    shaped.then(|| KeyId(body[..KEY_ID_LEN].to_owned()))
}

/// Cuts a key (or more of one than its key id) in a search field `q` to its
/// key id, so that no secret goes on into a page, an address or history;
/// true if it did.
pub fn cut_secret_from_search(q: &mut Option<String>) -> bool {
    match q.as_deref().map(str::trim).and_then(key_id_if_key_shaped) {
        Some(id) => {
            *q = Some(id.hint());
            true
        }
        None => false,
    }
}

/// The key id, or the start of one, that a search `text` spells: with or
/// without `ask_` and the pages' trailing "…", letters and digits only, at
/// most a key id long. `ask_` or `…` alone spell none, so that they look
/// for names rather than for every key.
pub fn key_id_prefix(text: &str) -> Option<&str> {
    let id = text.strip_prefix(PREFIX).unwrap_or(text).trim_end_matches('…');
    (!id.is_empty() && id.len() <= KEY_ID_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(id)
}

/// The 12-character public key id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key id with the key's prefix, `ask_AbCd12345678`: what Search
    /// takes, and the start of the key it belongs to.
    pub fn hint(&self) -> String {
        format!("{PREFIX}{}", self.0)
    }
}

/// How a key is shown where its secret must not be, from its stored key id:
/// `ask_AbCd12345678…`.
pub fn shown_key_id(key_id: &str) -> String {
    format!("{PREFIX}{key_id}…")
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The key-signing key of one organization:
/// `HMAC-SHA-256(server secret, "keyward org signing v1" ‖ org id ‖ salt)`.
/// Derived on demand, never stored.
#[derive(Clone)]
pub struct OrgSigningKey([u8; 32]);

impl OrgSigningKey {
    pub fn derive(secret: &crate::domain::secret::ServerSecret, org_id: &str, salt: &str) -> Self {
        Self(secret.derive(&[b"keyward org signing v1", org_id.as_bytes(), salt.as_bytes()]))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for OrgSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OrgSigningKey(<redacted>)")
    }
}

impl From<TokenError> for ValidationError {
    fn from(error: TokenError) -> Self {
        ValidationError::new(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn searches_spell_a_key_id_prefix_and_a_pasted_key_is_cut_to_its_id() {
        assert_eq!(key_id_prefix("ask_AbCd12"), Some("AbCd12"));
        assert_eq!(key_id_prefix("AbCd12345678…"), Some("AbCd12345678"));
        assert_eq!(key_id_prefix("ask_"), None);
        assert_eq!(key_id_prefix("…"), None);
        assert_eq!(key_id_prefix("AbCd123456789"), None, "longer than a key id");
        assert_eq!(key_id_prefix("10.0.0.1"), None);
        let key = ApiKeyToken::generate();
        let mut q = Some(format!(" {} ", key.expose()));
        assert!(cut_secret_from_search(&mut q));
        assert_eq!(q, Some(key.key_id().hint()));
        assert!(!cut_secret_from_search(&mut q), "a key id alone is no secret");
    }

    #[test]
    fn whole_keys_are_recognised_by_their_shape_alone() {
        let token = ApiKeyToken::generate();
        let id = key_id_if_key_shaped(token.expose()).expect("a key has the shape of a key");
        assert_eq!(id, token.key_id());
        // A mistyped checksum is still a secret.
        let mut mistyped = token.expose().to_owned();
        mistyped.pop();
        mistyped.push(if token.expose().ends_with('0') { '1' } else { '0' });
        assert_eq!(key_id_if_key_shaped(&mistyped), Some(token.key_id()));
        // So is a key cut short, as long as it has more than its key id.
        assert_eq!(key_id_if_key_shaped(&token.expose()[..17]), Some(token.key_id()));
        let too_long = format!("{}0", token.expose());
        for not_a_key in [
            "",
            "ask_",
            &token.key_id().hint(),
            &token.expose()[1..],
            &too_long,
            "Flight sync",
        ] {
            assert_eq!(key_id_if_key_shaped(not_a_key), None, "{not_a_key}");
        }
    }

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let token = ApiKeyToken::generate();
        assert_eq!(token.expose().len(), 68);
        assert!(token.expose().starts_with("ask_"));
        assert_eq!(token.key_id().as_str().len(), 12);
        assert_eq!(token.key_id().hint(), format!("ask_{}", &token.expose()[4..16]));
        assert!(!format!("{token:?}").contains(&token.expose()[16..]));
    }

    #[test]
    fn garbage_is_refused_before_any_lookup() {
        assert_eq!(ApiKeyToken::parse(""), Err(TokenError::Empty));
        assert_eq!(ApiKeyToken::parse("ask_short"), Err(TokenError::Malformed));
        assert_eq!(
            ApiKeyToken::parse(&format!("xyz_{}", "a".repeat(64))),
            Err(TokenError::Malformed)
        );
        assert_eq!(
            ApiKeyToken::parse(&format!("ask_{} ", "a".repeat(63))),
            Err(TokenError::Malformed)
        );
        assert_eq!(
            ApiKeyToken::parse(&format!("ask_{}", "a".repeat(64))),
            Err(TokenError::BadChecksum)
        );
    }

    #[test]
    fn digests_depend_on_the_organization() {
        let secret = crate::domain::secret::ServerSecret::generate();
        let token = ApiKeyToken::generate();
        let a = OrgSigningKey::derive(&secret, "org-a", "salt");
        let b = OrgSigningKey::derive(&secret, "org-b", "salt");
        assert_ne!(token.digest(&a), token.digest(&b));
        assert!(token.matches(&a, &token.digest(&a)));
        assert!(!token.matches(&b, &token.digest(&a)));
    }

    proptest! {
        #[test]
        fn generated_tokens_always_parse(_seed in 0u32..200) {
            let token = ApiKeyToken::generate();
            prop_assert_eq!(ApiKeyToken::parse(token.expose()), Ok(token));
        }

        #[test]
        fn changing_one_character_always_fails_the_checksum(position in 4usize..68, replacement in 0usize..62) {
            let token = ApiKeyToken::generate();
            let mut bytes = token.expose().as_bytes().to_vec();
            let new = BASE62[replacement];
            prop_assume!(bytes[position] != new);
            bytes[position] = new;
            let changed = String::from_utf8(bytes).expect("ascii");
            prop_assert_eq!(ApiKeyToken::parse(&changed), Err(TokenError::BadChecksum));
        }
    }
}
