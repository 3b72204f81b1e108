//! Usage recording without a database write per request: counts and "last
//! used" are gathered in memory and flushed in one transaction every few
//! seconds and at shutdown. A failed flush keeps its counts for the next one.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DurationRound as _, NaiveDateTime, TimeDelta};

use crate::error::AppError;
use crate::store::{Db, usage};

/// What one key gathered since the last flush.
#[derive(Debug)]
struct KeyUsage {
    org_id: String,
    /// (hour, outcome, count): rarely more than two entries, so a list
    /// searched in place beats hashing on every request.
    buckets: Vec<(NaiveDateTime, &'static str, i64)>,
    last_used: Option<(NaiveDateTime, IpAddr)>,
}

impl KeyUsage {
    fn add(&mut self, hour: NaiveDateTime, outcome: &'static str, count: i64) {
        match self.buckets.iter_mut().find(|(h, o, _)| *h == hour && *o == outcome) {
            Some((_, _, total)) => *total += count,
            None => self.buckets.push((hour, outcome, count)),
        }
    }
}

/// api key id → its usage. Keyed by the key alone so the hot path finds an
/// existing entry without allocating; foldhash because the ids are those of
/// keys that passed the digest check, never chosen by a caller.
#[derive(Debug, Default)]
struct Pending(HashMap<String, KeyUsage, foldhash::fast::RandomState>);

/// The hour requests are being counted in, kept so that most requests
/// compare two times instead of truncating one.
#[derive(Debug, Default)]
struct CurrentHour(Option<(NaiveDateTime, NaiveDateTime)>);

impl CurrentHour {
    fn of(&mut self, now: NaiveDateTime) -> NaiveDateTime {
        match self.0 {
            Some((start, end)) if start <= now && now < end => start,
            _ => {
                let start = now.duration_trunc(TimeDelta::hours(1)).unwrap_or(now);
                self.0 = Some((start, start + TimeDelta::hours(1)));
                start
            }
        }
    }
}

impl Pending {
    fn merge(&mut self, other: Pending) {
        for (id, usage) in other.0 {
            match self.0.get_mut(&id) {
                None => {
                    self.0.insert(id, usage);
                }
                Some(mine) => {
                    for (hour, outcome, count) in usage.buckets {
                        mine.add(hour, outcome, count);
                    }
                    if usage.last_used.map(|u| u.0) > mine.last_used.map(|u| u.0) {
                        mine.last_used = usage.last_used;
                    }
                }
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The in-memory usage counts of one instance.
#[derive(Clone, Default)]
pub struct UsageBuffer {
    pending: Arc<Mutex<(Pending, CurrentHour)>>,
}

impl UsageBuffer {
    /// Counts one request of a known key at `now`: `outcome` is "allowed" or
    /// the rejection code.
    pub fn record(&self, api_key_id: &str, org_id: &str, outcome: &'static str, ip: IpAddr, now: NaiveDateTime) {
        let Ok(mut guard) = self.pending.lock() else {
            return;
        };
        let (pending, current_hour) = &mut *guard;
        let hour = current_hour.of(now);
        let usage = match pending.0.get_mut(api_key_id) {
            Some(usage) => usage,
            None => pending.0.entry(api_key_id.to_owned()).or_insert_with(|| KeyUsage {
                org_id: org_id.to_owned(),
                buckets: Vec::new(),
                last_used: None,
            }),
        };
        usage.add(hour, outcome, 1);
        if outcome == "allowed" {
            usage.last_used = Some((now, ip));
        }
    }

    fn take(&self) -> Pending {
        self.pending
            .lock()
            .map(|mut guard| std::mem::take(&mut guard.0))
            .unwrap_or_default()
    }

    fn restore(&self, pending: Pending) {
        if let Ok(mut guard) = self.pending.lock() {
            guard.0.merge(pending);
        }
    }

    /// Writes what has gathered in one transaction; returns how many buckets.
    pub async fn flush(&self, db: &Db) -> Result<usize, AppError> {
        let pending = self.take();
        if pending.is_empty() {
            return Ok(0);
        }
        let deltas: Vec<usage::UsageDelta> = pending
            .0
            .iter()
            .flat_map(|(api_key_id, usage)| {
                usage
                    .buckets
                    .iter()
                    .map(move |(hour, outcome, count)| usage::UsageDelta {
                        api_key_id: api_key_id.clone(),
                        org_id: usage.org_id.clone(),
                        hour: *hour,
                        outcome: (*outcome).to_owned(),
                        count: *count,
                    })
            })
            .collect();
        let last_used: Vec<(String, NaiveDateTime, String)> = pending
            .0
            .iter()
            .filter_map(|(id, usage)| usage.last_used.map(|(at, ip)| (id.clone(), at, ip.to_string())))
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
        let now = crate::store::now();
        buffer.record("k1", "o1", "allowed", ip, now);
        buffer.record("k1", "o1", "allowed", ip, now);
        buffer.record("k1", "o1", "ip_not_allowed", ip, now);
        let total = |pending: &Pending| {
            pending
                .0
                .values()
                .flat_map(|u| u.buckets.iter().map(|b| b.2))
                .sum::<i64>()
        };
        let pending = buffer.take();
        assert_eq!(pending.0["k1"].buckets.len(), 2);
        assert_eq!(total(&pending), 3);
        assert!(pending.0["k1"].last_used.is_some());
        buffer.restore(pending);
        assert_eq!(total(&buffer.take()), 3, "a failed flush keeps its counts");
    }

    #[test]
    fn requests_either_side_of_an_hour_count_in_their_own_hours() {
        let buffer = UsageBuffer::default();
        let ip: IpAddr = "10.0.0.1".parse().expect("ip");
        let at = |text: &str| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("time");
        buffer.record("k1", "o1", "allowed", ip, at("2026-11-23 10:59:59"));
        buffer.record("k1", "o1", "allowed", ip, at("2026-11-23 11:00:00"));
        buffer.record("k1", "o1", "allowed", ip, at("2026-11-23 10:30:00"));
        let mut buckets = buffer.take().0.remove("k1").expect("k1 counted").buckets;
        buckets.sort();
        assert_eq!(
            buckets,
            vec![
                (at("2026-11-23 10:00:00"), "allowed", 2),
                (at("2026-11-23 11:00:00"), "allowed", 1)
            ]
        );
    }
}
