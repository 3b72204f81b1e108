//! One key record as authentication needs it, and its loader: a key id's
//! secret, key and organization read from the store, with the HMAC state
//! keyed once.

use chrono::NaiveDateTime;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use crate::domain::network::NetworkList;
use crate::domain::scope::ScopeSet;
use crate::domain::secret::ServerSecret;
use crate::domain::token::{ApiKeyToken, OrgSigningKey};
use crate::error::AppError;
use crate::store::{DbConnection, api_keys};

/// What authentication needs to know about one secret and its key.
#[derive(Clone)]
pub struct KeyRecord {
    pub api_key_id: String,
    pub org_id: String,
    pub org_name: String,
    pub name: String,
    pub key_id: String,
    pub enabled: bool,
    pub allow_query_key: bool,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub not_after: Option<NaiveDateTime>,
    pub scopes: ScopeSet,
    pub networks: NetworkList,
    /// HMAC state already keyed with the organization's signing key: cloning
    /// it is cheaper than keying anew on every request.
    pub(super) keyed_mac: Hmac<Sha256>,
    pub(super) digest: [u8; 32],
}

/// By hand: the digest and the keyed MAC state never reach a log line.
impl std::fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRecord")
            .field("api_key_id", &self.api_key_id)
            .field("org_id", &self.org_id)
            .field("org_name", &self.org_name)
            .field("name", &self.name)
            .field("key_id", &self.key_id)
            .field("enabled", &self.enabled)
            .field("allow_query_key", &self.allow_query_key)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .field("not_after", &self.not_after)
            .field("scopes", &self.scopes)
            .field("networks", &self.networks)
            .field("keyed_mac", &"[redacted]")
            .field("digest", &"[redacted]")
            .finish()
    }
}

impl KeyRecord {
    /// Constant-time check that `token` is this secret.
    pub fn matches(&self, token: &ApiKeyToken) -> bool {
        let mut mac = self.keyed_mac.clone();
        mac.update(token.expose().as_bytes());
        let computed: [u8; 32] = mac.finalize().into_bytes().into();
        computed.ct_eq(&self.digest).into()
    }
}

/// Reads the record of one key id; `None` for unknown or deleted keys.
pub fn load(conn: &mut DbConnection, secret: &ServerSecret, key_id: &str) -> Result<Option<KeyRecord>, AppError> {
    let Some((stored, key, org)) = api_keys::find_for_auth(conn, key_id)? else {
        return Ok(None);
    };
    let (Some(digest_hex), Some(salt)) = (stored.digest.as_deref(), org.key_salt.as_deref()) else {
        return Ok(None);
    };
    let mut digest = [0u8; 32];
    hex::decode_to_slice(digest_hex, &mut digest).map_err(AppError::unexpected)?;
    let scopes = api_keys::scopes_of_key(conn, &key.id)?;
    let networks = api_keys::networks_of_key(conn, &key.id)?;
    let (scopes, networks) = api_keys::settings_from_rows(&key.id, &scopes, &networks).map_err(AppError::unexpected)?;
    Ok(Some(KeyRecord {
        api_key_id: key.id,
        org_id: org.id.clone(),
        org_name: org.name.clone(),
        name: key.name,
        key_id: stored.key_id,
        enabled: key.enabled,
        allow_query_key: key.allow_query_key,
        expires_at: key.expires_at,
        revoked_at: key.revoked_at,
        not_after: stored.not_after,
        scopes,
        networks,
        keyed_mac: <Hmac<Sha256> as KeyInit>::new_from_slice(OrgSigningKey::derive(secret, &org.id, salt).as_bytes())
            .map_err(AppError::unexpected)?,
        digest,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_record_never_shows_its_digest_or_mac_state() {
        let digest = [0xab_u8; 32];
        let record = KeyRecord {
            api_key_id: "k1".into(),
            org_id: "o1".into(),
            org_name: "Acme Aviation".into(),
            name: "Flight sync".into(),
            key_id: "AbCd12345678".into(),
            enabled: true,
            allow_query_key: false,
            expires_at: None,
            revoked_at: None,
            not_after: None,
            scopes: ScopeSet::full_access(),
            networks: NetworkList::allow_all(),
            keyed_mac: <Hmac<Sha256> as KeyInit>::new_from_slice(b"signing key").expect("any length"),
            digest,
        };
        let shown = format!("{record:?}");
        assert!(
            !shown.contains(&hex::encode(digest)) && !shown.contains("171, 171"),
            "{shown}"
        );
        assert!(shown.contains("AbCd12345678") && shown.contains("[redacted]"));
    }
}
