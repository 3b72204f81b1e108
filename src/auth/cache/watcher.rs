//! Following the change log: after this instance's own changes (before it
//! answers) and on a timer for the other instances' changes, the keys the
//! log names are dropped from the cache.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::KeyCache;
use crate::error::AppError;
use crate::store::{Db, key_changes};

impl KeyCache {
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
