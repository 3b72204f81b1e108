//! The in-memory cache of key records on the hot path. Bounded. Every key
//! change is numbered in the database's change log (`store::key_changes`);
//! each instance reads the log after its own changes (before answering), and
//! for the others' changes when PostgreSQL announces one (`LISTEN`) or on a
//! timer (SQLite, and PostgreSQL while the listener is away), and drops the
//! changed keys only.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};

mod record;
mod watcher;

pub use record::{KeyRecord, load};
pub use watcher::{FollowSettings, spawn_change_watcher};

use crate::metrics::Metrics;

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
    /// Where the changes' lag and the listener's state are counted.
    metrics: Metrics,
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
    pub fn new(capacity: u64, max_age: Duration, metrics: Metrics) -> Self {
        Self {
            entries: Arc::new(quick_cache::sync::Cache::new(
                usize::try_from(capacity).unwrap_or(usize::MAX),
            )),
            max_age: TimeDelta::from_std(max_age).unwrap_or(TimeDelta::MAX),
            generation: Arc::new(AtomicU64::new(0)),
            last_change: Arc::new(AtomicI64::new(0)),
            metrics,
        }
    }

    /// How many entries the cache holds (records and "no such key" answers).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
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
    pub fn invalidate_keys(&self, api_key_ids: &HashSet<&str>) {
        if api_key_ids.is_empty() {
            return;
        }
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries.retain(|_, lookup| {
            !lookup
                .record
                .as_ref()
                .is_some_and(|r| api_key_ids.contains(r.api_key_id.as_str()))
        });
    }
}

#[cfg(test)]
mod tests {
    use hmac::{Hmac, KeyInit};
    use sha2::Sha256;

    use super::*;
    use crate::domain::network::NetworkList;
    use crate::domain::scope::ScopeSet;

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

    fn changed<'a>(ids: &[&'a str]) -> HashSet<&'a str> {
        ids.iter().copied().collect()
    }

    #[test]
    fn a_load_that_began_before_a_change_was_seen_is_not_kept() {
        let cache = KeyCache::new(100, Duration::from_secs(300), Metrics::default());
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
        let cache = KeyCache::new(100, Duration::from_secs(300), Metrics::default());
        let now = crate::store::now();
        let began = cache.generation();
        cache.invalidate_all();
        assert!(!cache.insert("secret-a".into(), record("key-a", "org-a"), now, began));
        assert!(cache.get("secret-a", now).is_none());
    }

    #[test]
    fn a_change_drops_only_the_changed_keys_entries() {
        let cache = KeyCache::new(100, Duration::from_secs(300), Metrics::default());
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
        let cache = KeyCache::new(100, Duration::from_secs(1), Metrics::default());
        let now = crate::store::now();
        assert!(cache.insert("secret-a".into(), record("key-a", "org-a"), now, cache.generation()));
        assert!(cache.get("secret-a", now + TimeDelta::milliseconds(999)).is_some());
        assert!(cache.get("secret-a", now + TimeDelta::seconds(1)).is_none());
    }
}
