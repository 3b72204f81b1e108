//! Usage recording without a database write per request: counts and "last
//! used" are gathered in memory and flushed in one transaction every few
//! seconds and at shutdown. A failed flush keeps its counts for the next one.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DurationRound as _, NaiveDateTime, TimeDelta};

use crate::error::AppError;
use crate::store::{self, Db, usage};

type BucketKey = (String, String, NaiveDateTime, &'static str);

#[derive(Debug, Default)]
struct Pending {
    /// (api key id, org id, hour, outcome) → count
    counts: HashMap<BucketKey, i64>,
    /// api key id → (last use, client address)
    last_used: HashMap<String, (NaiveDateTime, IpAddr)>,
}

impl Pending {
    fn merge(&mut self, other: Pending) {
        for (key, count) in other.counts {
            *self.counts.entry(key).or_default() += count;
        }
        for (id, (at, ip)) in other.last_used {
            let entry = self.last_used.entry(id).or_insert((at, ip));
            if at > entry.0 {
                *entry = (at, ip);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.counts.is_empty() && self.last_used.is_empty()
    }
}

/// The in-memory usage counts of one instance.
#[derive(Clone, Default)]
pub struct UsageBuffer {
    pending: Arc<Mutex<Pending>>,
}

impl UsageBuffer {
    /// Counts one request of a known key: `outcome` is "allowed" or the
    /// rejection code.
    pub fn record(&self, api_key_id: &str, org_id: &str, outcome: &'static str, ip: IpAddr) {
        let now = store::now();
        let hour = now.duration_trunc(TimeDelta::hours(1)).unwrap_or(now);
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        *pending
            .counts
            .entry((api_key_id.to_owned(), org_id.to_owned(), hour, outcome))
            .or_default() += 1;
        if outcome == "allowed" {
            pending.last_used.insert(api_key_id.to_owned(), (now, ip));
        }
    }

    fn take(&self) -> Pending {
        self.pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }

    fn restore(&self, pending: Pending) {
        if let Ok(mut current) = self.pending.lock() {
            current.merge(pending);
        }
    }

    /// Writes what has gathered in one transaction; returns how many buckets.
    pub async fn flush(&self, db: &Db) -> Result<usize, AppError> {
        let pending = self.take();
        if pending.is_empty() {
            return Ok(0);
        }
        let deltas: Vec<usage::UsageDelta> = pending
            .counts
            .iter()
            .map(|((api_key_id, org_id, hour, outcome), count)| usage::UsageDelta {
                api_key_id: api_key_id.clone(),
                org_id: org_id.clone(),
                hour: *hour,
                outcome: (*outcome).to_owned(),
                count: *count,
            })
            .collect();
        let last_used: Vec<(String, NaiveDateTime, String)> = pending
            .last_used
            .iter()
            .map(|(id, (at, ip))| (id.clone(), *at, ip.to_string()))
            .collect();
        let buckets = deltas.len();
        let result = db
            .transaction(move |conn| {
                usage::add(conn, &deltas)?;
                for (id, at, ip) in &last_used {
                    usage::touch_last_used(conn, id, *at, ip)?;
                }
                Ok(())
            })
            .await;
        match result {
            Ok(()) => Ok(buckets),
            Err(error) => {
                self.restore(pending);
                Err(error)
            }
        }
    }
}

/// Flushes every `every` until the process ends.
pub fn spawn_flusher(buffer: UsageBuffer, db: Db, every: Duration) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            if let Err(error) = buffer.flush(&db).await {
                tracing::warn!(%error, "usage flush failed; the counts are kept for the next attempt");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_gather_per_key_hour_and_outcome() {
        let buffer = UsageBuffer::default();
        let ip: IpAddr = "10.0.0.1".parse().expect("ip");
        buffer.record("k1", "o1", "allowed", ip);
        buffer.record("k1", "o1", "allowed", ip);
        buffer.record("k1", "o1", "ip_not_allowed", ip);
        let pending = buffer.take();
        assert_eq!(pending.counts.len(), 2);
        assert_eq!(pending.counts.values().sum::<i64>(), 3);
        assert_eq!(pending.last_used.len(), 1);
        buffer.restore(pending);
        assert_eq!(
            buffer.take().counts.values().sum::<i64>(),
            3,
            "a failed flush keeps its counts"
        );
    }
}
