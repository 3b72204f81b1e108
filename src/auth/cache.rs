//! The in-memory cache of key records on the hot path. Bounded; each entry
//! lives at most `ttl` (default 1 s), so a change made on another instance is
//! seen within that time, and a change on this instance clears it at once.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use crate::domain::network::NetworkList;
use crate::domain::scope::ScopeSet;
use crate::domain::token::{ApiKeyToken, OrgSigningKey};
use crate::error::AppError;
use crate::lifecycle;
use crate::store::{DbConnection, api_keys, organizations};

/// What authentication needs to know about one secret and its key.
#[derive(Debug, Clone)]
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
    signing_key: OrgSigningKey,
    digest: [u8; 32],
}

impl KeyRecord {
    /// Constant-time check that `token` is this secret.
    pub fn matches(&self, token: &ApiKeyToken) -> bool {
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(self.signing_key.as_bytes()) else {
            return false;
        };
        mac.update(token.expose().as_bytes());
        let computed: [u8; 32] = mac.finalize().into_bytes().into();
        computed.ct_eq(&self.digest).into()
    }
}

/// Reads the record of one key id; `None` for unknown or deleted keys.
pub fn load(
    conn: &mut DbConnection,
    secret: &crate::config::ServerSecret,
    key_id: &str,
) -> Result<Option<KeyRecord>, AppError> {
    let Some(stored) = api_keys::find_secret(conn, key_id)? else {
        return Ok(None);
    };
    let Some(digest_hex) = stored.digest.as_deref() else {
        return Ok(None);
    };
    let Some(key) = api_keys::find(conn, &stored.org_id, &stored.api_key_id)? else {
        return Ok(None);
    };
    let org = organizations::find(conn, &stored.org_id)?;
    let Some(salt) = org.key_salt.as_deref() else {
        return Ok(None);
    };
    let mut digest = [0u8; 32];
    hex::decode_to_slice(digest_hex, &mut digest).map_err(AppError::unexpected)?;
    let detail = lifecycle::details(conn, vec![key])?.pop().ok_or(AppError::NotFound)?;
    Ok(Some(KeyRecord {
        api_key_id: detail.key.id.clone(),
        org_id: org.id.clone(),
        org_name: org.name.clone(),
        name: detail.key.name.clone(),
        key_id: stored.key_id.clone(),
        enabled: detail.key.enabled,
        allow_query_key: detail.key.allow_query_key,
        expires_at: detail.key.expires_at,
        revoked_at: detail.key.revoked_at,
        not_after: stored.not_after,
        scopes: detail.scopes,
        networks: detail.networks,
        signing_key: OrgSigningKey::derive(secret, &org.id, salt),
        digest,
    }))
}

/// Key records by key id, including "no such key" answers.
#[derive(Clone)]
pub struct KeyCache {
    entries: moka::sync::Cache<String, Arc<Option<KeyRecord>>>,
}

impl KeyCache {
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        Self {
            entries: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
        }
    }

    pub fn get(&self, key_id: &str) -> Option<Arc<Option<KeyRecord>>> {
        self.entries.get(key_id)
    }

    pub fn insert(&self, key_id: String, record: Arc<Option<KeyRecord>>) {
        self.entries.insert(key_id, record);
    }

    /// After any key change on this instance: the next request reads afresh.
    /// Changes are rare next to lookups, so clearing everything is simplest.
    pub fn invalidate_all(&self) {
        self.entries.invalidate_all();
    }
}
