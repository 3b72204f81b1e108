//! The in-memory cache of key records on the hot path. Bounded. A change on
//! this instance clears it at once; changes made on other instances are found
//! by a watcher that asks the database twice a second which keys changed.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use crate::domain::network::NetworkList;
use crate::domain::scope::ScopeSet;
use crate::domain::token::{ApiKeyToken, OrgSigningKey};
use crate::error::AppError;
use crate::lifecycle;
use crate::store::{Db, DbConnection, api_keys};

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
    keyed_mac: Hmac<Sha256>,
    digest: [u8; 32],
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
pub fn load(
    conn: &mut DbConnection,
    secret: &crate::config::ServerSecret,
    key_id: &str,
) -> Result<Option<KeyRecord>, AppError> {
    let Some((stored, key, org)) = api_keys::find_for_auth(conn, key_id)? else {
        return Ok(None);
    };
    let (Some(digest_hex), Some(salt)) = (stored.digest.as_deref(), org.key_salt.as_deref()) else {
        return Ok(None);
    };
    let mut digest = [0u8; 32];
    hex::decode_to_slice(digest_hex, &mut digest).map_err(AppError::unexpected)?;
    let (scopes, networks) = lifecycle::settings(conn, &key.id)?;
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

/// Key records by key id, including "no such key" answers. quick_cache
/// rather than moka: a read is a hash probe under a shard's read lock, with no
/// read log to replay, which halved the cost of a hit on the hot path.
#[derive(Clone)]
pub struct KeyCache {
    entries: Arc<quick_cache::sync::Cache<String, CachedLookup>>,
    max_age: TimeDelta,
}

#[derive(Clone)]
struct CachedLookup {
    loaded_at: NaiveDateTime,
    record: Option<Arc<KeyRecord>>,
}

impl KeyCache {
    /// `max_age` is a safety net: changes arrive through `invalidate_keys`
    /// (this instance at once, others through the change watcher).
    pub fn new(capacity: u64, max_age: Duration) -> Self {
        Self {
            entries: Arc::new(quick_cache::sync::Cache::new(
                usize::try_from(capacity).unwrap_or(usize::MAX),
            )),
            max_age: TimeDelta::from_std(max_age).unwrap_or(TimeDelta::MAX),
        }
    }

    /// The cached answer for `key_id` at `now` (the request's clock, read
    /// once): `Some(None)` is a cached "no such key".
    pub fn get(&self, key_id: &str, now: NaiveDateTime) -> Option<Option<Arc<KeyRecord>>> {
        self.entries
            .get(key_id)
            .filter(|lookup| now - lookup.loaded_at < self.max_age)
            .map(|lookup| lookup.record)
    }

    pub fn insert(&self, key_id: String, record: Option<Arc<KeyRecord>>, now: NaiveDateTime) {
        self.entries.insert(key_id, CachedLookup { loaded_at: now, record });
    }

    /// After a key change on this instance: the next request reads afresh.
    pub fn invalidate_all(&self) {
        self.entries.clear();
    }

    /// Drops the cached records of these keys (all their secrets).
    pub fn invalidate_keys(&self, api_key_ids: HashSet<String>) {
        if api_key_ids.is_empty() {
            return;
        }
        self.entries.retain(|_, lookup| {
            !lookup
                .record
                .as_ref()
                .is_some_and(|r| api_key_ids.contains(&r.api_key_id))
        });
    }
}

/// How far back each poll looks: covers commits that land after their
/// `updated_at` was stamped, and clocks of instances that differ a little.
const CHANGE_OVERLAP: TimeDelta = TimeDelta::seconds(5);

/// Every `every`, asks the database which keys changed (on any instance) and
/// drops them from this instance's cache: one query per poll, however many
/// keys are cached.
pub fn spawn_change_watcher(db: Db, cache: KeyCache, every: Duration) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut since = crate::store::now();
        loop {
            interval.tick().await;
            let started = crate::store::now();
            let query_since = since - CHANGE_OVERLAP;
            match db.run(move |conn| api_keys::changed_since(conn, query_since)).await {
                Ok(ids) => {
                    cache.invalidate_keys(ids.into_iter().collect());
                    since = started;
                }
                Err(error) => {
                    // Nothing can be trusted while changes cannot be seen.
                    tracing::warn!(%error, "could not look for key changes; clearing the key cache");
                    cache.invalidate_all();
                }
            }
        }
    });
}

#[cfg(test)]
mod debug_tests {
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
