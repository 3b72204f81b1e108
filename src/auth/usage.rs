//! Usage recording without a database write per request: counts and "last
//! used" are gathered in memory and flushed in one transaction every few
//! seconds and at shutdown. When that transaction fails, each key's counts
//! are written on their own: a key whose counts the database refuses (a row
//! that breaks a constraint) is dropped and logged, and the counts that could
//! not be written for another reason (the database is away) are kept for the
//! next flush.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DurationRound as _, NaiveDateTime, TimeDelta};

use crate::error::AppError;
use crate::store::{Db, DbConnection, usage, write_transaction};

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
    /// The counts, also after a thread panicked while holding them: what
    /// they hold is still counts, and dropping every later one would be worse.
    fn lock(&self) -> MutexGuard<'_, (Pending, CurrentHour)> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one request of a known key at `now`: `outcome` is "allowed" or
    /// the rejection code.
    pub fn record(&self, api_key_id: &str, org_id: &str, outcome: &'static str, ip: IpAddr, now: NaiveDateTime) {
        let mut guard = self.lock();
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
        std::mem::take(&mut self.lock().0)
    }

    fn restore(&self, pending: Pending) {
        self.lock().0.merge(pending);
    }

    /// Writes what has gathered in one transaction, or key by key when that
    /// fails; returns how many buckets were written.
    pub async fn flush(&self, db: &Db) -> Result<usize, AppError> {
        let mut pending = self.take();
        if pending.is_empty() {
            return Ok(0);
        }
        let writes: Vec<KeyWrite> = pending.0.iter().map(|(id, usage)| KeyWrite::of(id, usage)).collect();
        let buckets = writes.iter().map(|w| w.deltas.len()).sum();
        let batch = writes.clone();
        let error = match db
            .transaction(move |conn| batch.iter().try_for_each(|w| w.write(conn)).map_err(AppError::from))
            .await
            .map_err(AppError::from)
        {
            Ok(()) => return Ok(buckets),
            Err(error) => error,
        };
        let results = match db
            .run(move |conn| {
                Ok::<_, AppError>(
                    writes
                        .into_iter()
                        .map(|w| {
                            let result = write_transaction(conn, |conn| w.write(conn));
                            (w, result)
                        })
                        .collect::<Vec<_>>(),
                )
            })
            .await
            .map_err(AppError::from)
        {
            Ok(results) => results,
            Err(run_error) => {
                self.restore(pending);
                return Err(run_error);
            }
        };
        let mut written = 0;
        for (write, result) in results {
            match result {
                Ok(()) => {
                    written += write.deltas.len();
                    pending.0.remove(&write.api_key_id);
                }
                Err(row_error) if refuses_the_row(&row_error) => {
                    tracing::error!(
                        api_key_id = %write.api_key_id,
                        buckets = write.deltas.len(),
                        error = %row_error,
                        "dropped usage the database refuses to store"
                    );
                    pending.0.remove(&write.api_key_id);
                }
                // Kept for the next flush.
                Err(_) => {}
            }
        }
        if pending.is_empty() {
            Ok(written)
        } else {
            self.restore(pending);
            Err(error)
        }
    }
}

/// Whether the database refused a row for what it holds (so trying again
/// cannot help), rather than failing for a reason of its own.
fn refuses_the_row(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        error,
        Error::DatabaseError(
            DatabaseErrorKind::ForeignKeyViolation
                | DatabaseErrorKind::CheckViolation
                | DatabaseErrorKind::NotNullViolation
                | DatabaseErrorKind::UniqueViolation,
            _
        )
    )
}

/// What one key's flush writes.
#[derive(Clone)]
struct KeyWrite {
    api_key_id: String,
    deltas: Vec<usage::UsageDelta>,
    last_used: Option<(NaiveDateTime, String)>,
}

impl KeyWrite {
    fn of(api_key_id: &str, usage: &KeyUsage) -> Self {
        Self {
            api_key_id: api_key_id.to_owned(),
            deltas: usage
                .buckets
                .iter()
                .map(|(hour, outcome, count)| usage::UsageDelta {
                    api_key_id: api_key_id.to_owned(),
                    org_id: usage.org_id.clone(),
                    hour: *hour,
                    outcome: (*outcome).to_owned(),
                    count: *count,
                })
                .collect(),
            last_used: usage.last_used.map(|(at, ip)| (at, ip.to_string())),
        }
    }

    fn write(&self, conn: &mut DbConnection) -> diesel::QueryResult<()> {
        usage::add(conn, &self.deltas)?;
        if let Some((at, ip)) = &self.last_used {
            usage::touch_last_used(conn, &self.api_key_id, *at, ip)?;
        }
        Ok(())
    }
}

/// The periodic flusher, to be stopped before the final flush at shutdown.
pub struct Flusher {
    stop: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Flusher {
    /// Asks the flusher to stop and waits until it has: a flush it had begun
    /// (its counts taken from the buffer) ends first.
    pub async fn stop(self) {
        self.stop.notify_one();
        if let Err(error) = self.task.await {
            tracing::error!(%error, "the usage flusher ended abnormally");
        }
    }
}

/// Flushes every `every` until stopped; each flush that had something to
/// write is timed into `metrics`.
pub fn spawn_flusher(buffer: UsageBuffer, db: Db, every: Duration, metrics: crate::metrics::Metrics) -> Flusher {
    let stop = Arc::new(tokio::sync::Notify::new());
    let stopped = stop.clone();
    let task = tokio::spawn(async move {
        // Waiting for the stop signal with a timeout is the pause between
        // flushes; a signal sent mid-flush is kept by `Notify` until then.
        while tokio::time::timeout(every, stopped.notified()).await.is_err() {
            let started = std::time::Instant::now();
            match buffer.flush(&db).await {
                Ok(0) => {}
                Ok(rows) => metrics.record_usage_flush(started.elapsed(), Some(rows)),
                Err(error) => {
                    metrics.record_usage_flush(started.elapsed(), None);
                    tracing::warn!(%error, "usage flush failed; the counts are kept for the next attempt");
                }
            }
        }
    });
    Flusher { stop, task }
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
    fn counting_goes_on_after_a_thread_panicked_while_counting() {
        let buffer = UsageBuffer::default();
        let poisoner = buffer.clone();
        let panicked = std::thread::spawn(move || {
            let _held = poisoner.pending.lock();
            panic!("a panic while the counts are held");
        })
        .join();
        assert!(panicked.is_err());
        assert!(buffer.pending.is_poisoned());
        let ip: IpAddr = "10.0.0.1".parse().expect("ip");
        buffer.record("k1", "o1", "allowed", ip, crate::store::now());
        let pending = buffer.take();
        assert_eq!(pending.0["k1"].buckets.len(), 1, "the request was counted");
        buffer.restore(pending);
        assert!(!buffer.take().is_empty(), "and a failed flush can give the counts back");
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
