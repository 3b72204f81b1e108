//! The in-memory cache of key records on the hot path. Bounded. Every key
//! change is numbered in the database's change log (`store::key_changes`);
//! each instance reads the log after its own changes (before answering) and
//! twice a second for the others' changes, and drops the changed keys only.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use crate::domain::network::NetworkList;
use crate::domain::scope::ScopeSet;
use crate::domain::token::{ApiKeyToken, OrgSigningKey};
use crate::error::AppError;
use crate::store::{Db, DbConnection, api_keys, key_changes};

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
    secret: &crate::domain::secret::ServerSecret,
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

/// Key records by key id, including "no such key" answers. quick_cache
/// rather than moka: a read is a hash probe under a shard's read lock, with no
/// read log to replay, which halved the cost of a hit on the hot path.
#[derive(Clone)]
pub struct KeyCache {
    entries: Arc<quick_cache::sync::Cache<String, CachedLookup>>,
    max_age: TimeDelta,
    /// Bumped by every invalidation. A load that began under an older
    /// generation may have read the database before a change committed, so
    /// it is not kept (see `insert`). One counter for the whole cache, not
    /// one per key: a miss knows only the key id it asks for, not which key
    /// (`api_key_id`) it will turn out to be, and changes are rare enough
    /// that a load skipped now and then costs nothing.
    generation: Arc<AtomicU64>,
    /// The number of the last entry of the change log this instance has
    /// acted on.
    last_change: Arc<AtomicI64>,
}

#[derive(Clone)]
struct CachedLookup {
    loaded_at: NaiveDateTime,
    record: Option<Arc<KeyRecord>>,
}

/// What a miss notes before it reads the database; `KeyCache::insert` keeps
/// the record only if no invalidation happened since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation(u64);

impl KeyCache {
    /// `max_age` is a safety net: changes arrive through the change log
    /// (`catch_up`, after this instance's own changes and from the watcher).
    pub fn new(capacity: u64, max_age: Duration) -> Self {
        Self {
            entries: Arc::new(quick_cache::sync::Cache::new(
                usize::try_from(capacity).unwrap_or(usize::MAX),
            )),
            max_age: TimeDelta::from_std(max_age).unwrap_or(TimeDelta::MAX),
            generation: Arc::new(AtomicU64::new(0)),
            last_change: Arc::new(AtomicI64::new(0)),
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

    /// To be read before a miss reads the database.
    pub fn generation(&self) -> Generation {
        Generation(self.generation.load(Ordering::SeqCst))
    }

    /// Keeps what a miss read, unless an invalidation happened since
    /// `loaded_under` was read; returns whether it was kept. The entry is
    /// written first and the generation checked after: an invalidation
    /// either bumped the generation before that check (and the entry is
    /// taken out again here) or runs its removal after the entry was written
    /// (and removes it itself). Either way no stale entry stays.
    pub fn insert(
        &self,
        key_id: String,
        record: Option<Arc<KeyRecord>>,
        now: NaiveDateTime,
        loaded_under: Generation,
    ) -> bool {
        if self.generation() != loaded_under {
            return false;
        }
        self.entries
            .insert(key_id.clone(), CachedLookup { loaded_at: now, record });
        if self.generation() != loaded_under {
            self.entries.remove(&key_id);
            return false;
        }
        true
    }

    /// Drops every entry: when changes cannot be seen, nothing is trusted.
    pub fn invalidate_all(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries.clear();
    }

    /// Drops the cached records of these keys (all their secrets); every
    /// other key stays cached. Cached "no such key" answers stay too: no
    /// change makes a key id that was unknown known (new secrets get new,
    /// random key ids) and deleted keys stay unknown.
    pub fn invalidate_keys(&self, api_key_ids: &HashSet<String>) {
        if api_key_ids.is_empty() {
            return;
        }
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries.retain(|_, lookup| {
            !lookup
                .record
                .as_ref()
                .is_some_and(|r| api_key_ids.contains(&r.api_key_id))
        });
    }

    /// Starts reading the change log after its current end: what came
    /// before is not in this (empty) cache.
    pub async fn start_at_latest_change(&self, db: &Db) -> Result<(), AppError> {
        let latest = db.run(key_changes::latest).await?;
        self.last_change.fetch_max(latest, Ordering::SeqCst);
        Ok(())
    }

    /// Reads the change log past the last entry acted on and drops the keys
    /// it names. The numbers have no gaps, so one missing between the last
    /// entry acted on and the counter means entries were pruned before this
    /// instance saw them: then, as when the log cannot be read, everything
    /// is dropped.
    pub async fn catch_up(&self, db: &Db) {
        let last_seen = self.last_change.load(Ordering::SeqCst);
        // The counter first: every change up to it has committed, so the
        // log read next holds all of them unless some were pruned.
        let read = db
            .run(move |conn| {
                let latest = key_changes::latest(conn)?;
                Ok::<_, AppError>((latest, key_changes::after(conn, last_seen)?))
            })
            .await;
        match read {
            Ok((latest, changes)) => {
                let newest = changes.last().map_or(last_seen, |(number, _)| *number);
                let complete = newest >= latest
                    && changes
                        .iter()
                        .zip(last_seen + 1..)
                        .all(|((number, _), expected)| *number == expected);
                if complete {
                    let ids: HashSet<String> = changes.into_iter().map(|(_, id)| id).collect();
                    self.invalidate_keys(&ids);
                } else {
                    tracing::warn!(
                        last_seen,
                        latest,
                        "key changes were pruned before this instance saw them; clearing the key cache"
                    );
                    self.invalidate_all();
                }
                self.last_change.fetch_max(newest.max(latest), Ordering::SeqCst);
            }
            Err(error) => {
                tracing::warn!(%error, "could not read the key change log; clearing the key cache");
                self.invalidate_all();
            }
        }
    }
}

/// Every `every`, reads the change log for changes made on any instance:
/// one indexed query per poll, however many keys are cached.
pub fn spawn_change_watcher(db: Db, cache: KeyCache, every: Duration) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            cache.catch_up(&db).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(api_key_id: &str, org_id: &str) -> Option<Arc<KeyRecord>> {
        Some(Arc::new(KeyRecord {
            api_key_id: api_key_id.to_owned(),
            org_id: org_id.to_owned(),
            org_name: org_id.to_owned(),
            name: api_key_id.to_owned(),
            key_id: format!("{api_key_id}-secret"),
            enabled: true,
            allow_query_key: false,
            expires_at: None,
            revoked_at: None,
            not_after: None,
            scopes: ScopeSet::new(vec![
                crate::domain::scope::Scope::parse_pair("read:flights").expect("scope"),
            ])
            .expect("scopes"),
            networks: NetworkList::parse_lines("0.0.0.0/0").expect("networks"),
            keyed_mac: <Hmac<Sha256> as KeyInit>::new_from_slice(&[7; 32]).expect("hmac key"),
            digest: [0; 32],
        }))
    }

    fn changed(ids: &[&str]) -> HashSet<String> {
        ids.iter().map(|id| (*id).to_owned()).collect()
    }

    #[test]
    fn a_load_that_began_before_a_change_was_seen_is_not_kept() {
        let cache = KeyCache::new(100, Duration::from_secs(300));
        let now = crate::store::now();
        // A miss notes the generation, then reads the key (still enabled)…
        let began = cache.generation();
        let read_before_the_change = record("key-a", "org-a");
        // …while a change of that key commits and is seen…
        cache.invalidate_keys(&changed(&["key-a"]));
        // …and only then comes back: what it read is not kept.
        assert!(!cache.insert("secret-a".into(), read_before_the_change, now, began));
        assert!(cache.get("secret-a", now).is_none(), "the next request reads afresh");

        // A load that begins after the change is kept.
        let began = cache.generation();
        assert!(cache.insert("secret-a".into(), record("key-a", "org-a"), now, began));
        assert!(cache.get("secret-a", now).is_some());
    }

    #[test]
    fn a_load_that_began_before_the_cache_was_cleared_is_not_kept() {
        let cache = KeyCache::new(100, Duration::from_secs(300));
        let now = crate::store::now();
        let began = cache.generation();
        cache.invalidate_all();
        assert!(!cache.insert("secret-a".into(), record("key-a", "org-a"), now, began));
        assert!(cache.get("secret-a", now).is_none());
    }

    #[test]
    fn a_change_drops_only_the_changed_keys_entries() {
        let cache = KeyCache::new(100, Duration::from_secs(300));
        let now = crate::store::now();
        let began = cache.generation();
        assert!(cache.insert("secret-a1".into(), record("key-a", "org-a"), now, began));
        assert!(cache.insert("secret-a2".into(), record("key-a", "org-a"), now, began));
        assert!(cache.insert("secret-a3".into(), record("key-a3", "org-a"), now, began));
        assert!(cache.insert("secret-b".into(), record("key-b", "org-b"), now, began));
        assert!(cache.insert("unknown".into(), None, now, began));

        cache.invalidate_keys(&changed(&["key-a"]));

        assert!(
            cache.get("secret-a1", now).is_none(),
            "every secret of the changed key goes"
        );
        assert!(cache.get("secret-a2", now).is_none());
        assert!(
            cache.get("secret-a3", now).is_some(),
            "another key of the same organization stays"
        );
        assert!(cache.get("secret-b", now).is_some(), "another organization's key stays");
        assert_eq!(
            cache.get("unknown", now).map(|r| r.is_none()),
            Some(true),
            "a cached unknown key id stays"
        );
    }

    #[test]
    fn nothing_is_kept_past_the_safety_net_lifetime() {
        let cache = KeyCache::new(100, Duration::from_secs(1));
        let now = crate::store::now();
        assert!(cache.insert("secret-a".into(), record("key-a", "org-a"), now, cache.generation()));
        assert!(cache.get("secret-a", now + TimeDelta::milliseconds(999)).is_some());
        assert!(cache.get("secret-a", now + TimeDelta::seconds(1)).is_none());
    }
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
