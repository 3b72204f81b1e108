//! The budget of unknown API keys per client address. A key's checksum is
//! public, so anyone can make well-formed keys that pass the syntax check
//! and cost a database read each. Every address (IPv6: every /64) holds a
//! token bucket of look-ups that may come back empty; once it is spent, a key
//! id this instance does not know is refused with 429 before any read.
//!
//! The hot path never touches the budget: a key found in the key cache is
//! answered without it. A key id this instance has found in the database is
//! remembered apart from the key cache (which changes empty), so it is looked
//! up again even when its address has spent its budget.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How many empty look-ups an address may cause, per period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissBudgetSettings {
    /// The bucket's size: a burst of this many unknown keys is answered.
    pub misses: u32,
    /// The time in which a spent bucket fills up again (evenly).
    pub per: Duration,
}

impl Default for MissBudgetSettings {
    /// 20 unknown keys a minute per address.
    fn default() -> Self {
        Self {
            misses: 20,
            per: Duration::from_secs(60),
        }
    }
}

/// Addresses whose buckets are kept; the least used are forgotten first
/// (a forgotten address starts again with a full bucket).
const TRACKED_ADDRESSES: usize = 65_536;

/// Key ids found in the database that are remembered as existing.
const KNOWN_KEY_IDS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The per-address buckets. Cloning shares them.
#[derive(Clone)]
pub struct MissBudget {
    buckets: Arc<quick_cache::sync::Cache<IpAddr, Arc<Mutex<Bucket>>>>,
    known: Arc<quick_cache::sync::Cache<String, ()>>,
    size: f64,
    /// Tokens added per second.
    refill: f64,
}

/// A reservation taken before a look-up: give it back if the key exists.
#[must_use = "refund the reservation when the key turns out to exist"]
pub struct Reservation {
    bucket: Arc<Mutex<Bucket>>,
    size: f64,
}

impl Reservation {
    /// The key existed: the look-up was not a miss.
    pub fn refund(self) {
        let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        bucket.tokens = (bucket.tokens + 1.0).min(self.size);
    }
}

impl MissBudget {
    pub fn new(settings: MissBudgetSettings) -> Self {
        let size = f64::from(settings.misses.max(1));
        let per = settings.per.as_secs_f64().max(0.001);
        Self {
            buckets: Arc::new(quick_cache::sync::Cache::new(TRACKED_ADDRESSES)),
            known: Arc::new(quick_cache::sync::Cache::new(KNOWN_KEY_IDS)),
            size,
            refill: size / per,
        }
    }

    /// Whether `key_id` was found in the database before: such a look-up
    /// needs no token.
    pub fn knows(&self, key_id: &str) -> bool {
        self.known.peek(key_id).is_some()
    }

    /// After a look-up of `key_id`: remembers whether it exists.
    pub fn learn(&self, key_id: &str, exists: bool) {
        if exists {
            self.known.insert(key_id.to_owned(), ());
        } else {
            self.known.remove(key_id);
        }
    }

    /// Takes one token of `ip`'s bucket at `now`, or says how long until one
    /// is there again.
    pub fn reserve(&self, ip: IpAddr, now: Instant) -> Result<Reservation, Duration> {
        let full = Bucket {
            tokens: self.size,
            at: now,
        };
        let bucket = self
            .buckets
            .get_or_insert_with(&crate::auth::client_ip::client_block(ip), || {
                Ok::<_, std::convert::Infallible>(Arc::new(Mutex::new(full)))
            })
            .unwrap_or_else(|never| match never {});
        {
            let mut state = bucket.lock().unwrap_or_else(PoisonError::into_inner);
            let elapsed = now.saturating_duration_since(state.at).as_secs_f64();
            state.tokens = (state.tokens + elapsed * self.refill).min(self.size);
            state.at = now.max(state.at);
            if state.tokens < 1.0 {
                let wait = (1.0 - state.tokens) / self.refill;
                return Err(Duration::from_secs_f64(wait.clamp(0.0, 86_400.0)));
            }
            state.tokens -= 1.0;
        }
        Ok(Reservation {
            bucket,
            size: self.size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(misses: u32, secs: u64) -> MissBudget {
        MissBudget::new(MissBudgetSettings {
            misses,
            per: Duration::from_secs(secs),
        })
    }

    #[test]
    fn a_spent_bucket_refuses_until_it_refills() {
        let budget = budget(3, 60);
        let ip: IpAddr = "192.0.2.7".parse().expect("ip");
        let start = Instant::now();
        for _ in 0..3 {
            drop(budget.reserve(ip, start).expect("within the budget"));
        }
        let wait = budget.reserve(ip, start).err().expect("spent");
        assert_eq!(wait.as_secs(), 20, "one token every 20 s");
        let other: IpAddr = "192.0.2.8".parse().expect("ip");
        assert!(budget.reserve(other, start).is_ok(), "each address has its own bucket");
        assert!(budget.reserve(ip, start + Duration::from_secs(19)).is_err());
        assert!(budget.reserve(ip, start + Duration::from_secs(21)).is_ok());
    }

    #[test]
    fn key_ids_found_once_are_known_until_a_look_up_finds_them_gone() {
        let budget = budget(1, 3600);
        assert!(!budget.knows("AbCd12345678"));
        budget.learn("AbCd12345678", true);
        assert!(budget.knows("AbCd12345678"));
        budget.learn("AbCd12345678", false);
        assert!(!budget.knows("AbCd12345678"));
    }

    #[test]
    fn refunded_reservations_cost_nothing() {
        let budget = budget(2, 3600);
        let ip: IpAddr = "2001:db8::1".parse().expect("ip");
        let now = Instant::now();
        for _ in 0..10 {
            budget.reserve(ip, now).expect("refunded each time").refund();
        }
        assert!(budget.reserve(ip, now).is_ok());
    }

    #[test]
    fn ipv6_addresses_share_their_64_and_mapped_ipv4_is_ipv4() {
        let budget = budget(1, 3600);
        let now = Instant::now();
        drop(
            budget
                .reserve("2001:db8:1:2::1".parse().expect("ip"), now)
                .expect("first"),
        );
        assert!(
            budget
                .reserve("2001:db8:1:2:ffff::9".parse().expect("ip"), now)
                .is_err(),
            "same /64"
        );
        assert!(budget.reserve("2001:db8:1:3::1".parse().expect("ip"), now).is_ok());
        drop(budget.reserve("10.0.0.1".parse().expect("ip"), now).expect("first"));
        assert!(budget.reserve("::ffff:10.0.0.1".parse().expect("ip"), now).is_err());
    }
}
