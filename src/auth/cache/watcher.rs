//! Following the change log: after this instance's own changes (before it
//! answers), and for the other instances' changes as PostgreSQL announces
//! them (`LISTEN` on a connection of its own) or on a timer, the keys the
//! log names are dropped from the cache.
//!
//! On PostgreSQL the listener pushes: each committed change is announced and
//! read within milliseconds. The log is still read on a slow timer while the
//! listener is up (a safety net), right after it (re)connects (what changed
//! while nobody listened), and on the fast timer while it is away, so losing
//! the listener costs speed, never a change. Losing it is logged once, as is
//! its return; the attempts in between are not. SQLite has one instance:
//! it reads the log on the timer, as ever.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::KeyCache;
use crate::error::AppError;
use crate::metrics::ChangeVia;
use crate::store::{Backend, DatabaseUrl, Db, key_changes};

/// How an instance follows the changes made on the others.
#[derive(Debug, Clone, Copy)]
pub struct FollowSettings {
    /// How often the log is read when nothing announces changes: always on
    /// SQLite, on PostgreSQL while the listener is away.
    pub poll: Duration,
    /// How often the log is still read while the listener is up.
    pub listening_poll: Duration,
    /// The first wait before a lost listener is opened again; each failed
    /// attempt doubles it, up to `MAX_RETRY`.
    pub first_retry: Duration,
}

/// The longest wait between two attempts to open the listener.
const MAX_RETRY: Duration = Duration::from_secs(30);
/// How long opening the listener, or its ping, may take.
const LISTENER_TIMEOUT: Duration = Duration::from_secs(5);

impl KeyCache {
    /// Starts reading the change log after its current end: what came
    /// before is not in this (empty) cache.
    pub async fn start_at_latest_change(&self, db: &Db) -> Result<(), AppError> {
        let latest = db.run(key_changes::latest).await?;
        self.last_change.fetch_max(latest, Ordering::SeqCst);
        Ok(())
    }

    /// Reads the change log past the last entry acted on and drops the keys
    /// it names; `via` says why it reads (for the lag metric). The numbers
    /// have no gaps, so one missing between the last entry acted on and the
    /// counter means entries were pruned before this instance saw them:
    /// then, as when the log cannot be read, everything is dropped.
    pub async fn catch_up(&self, db: &Db, via: ChangeVia) {
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
                let newest = changes.last().map_or(last_seen, |(number, _, _)| *number);
                let complete = newest >= latest
                    && changes
                        .iter()
                        .zip(last_seen + 1..)
                        .all(|((number, _, _), expected)| *number == expected);
                if complete {
                    let ids: HashSet<&str> = changes.iter().map(|(_, id, _)| id.as_str()).collect();
                    self.invalidate_keys(&ids);
                    // Two reads at once (this instance's own and its
                    // listener's) find the same changes; the one that moves
                    // the mark past a change counts its lag.
                    let previous = self.last_change.fetch_max(newest.max(latest), Ordering::SeqCst);
                    let now = crate::store::now();
                    for (_, _, made_at) in changes.iter().filter(|(number, _, _)| *number > previous) {
                        // A writer whose clock runs ahead would give a
                        // negative lag: counted as none.
                        let lag = (now - *made_at).to_std().unwrap_or_default();
                        self.metrics.record_key_change_lag(via, lag);
                    }
                } else {
                    tracing::warn!(
                        last_seen,
                        latest,
                        "key changes were pruned before this instance saw them; clearing the key cache"
                    );
                    self.invalidate_all();
                    self.last_change.fetch_max(newest.max(latest), Ordering::SeqCst);
                }
            }
            Err(error) => {
                tracing::warn!(%error, "could not read the key change log; clearing the key cache");
                self.invalidate_all();
            }
        }
    }

    /// Acts on the announcements of one listener until its connection is
    /// lost (returned as the reason), reading the log on `every` meanwhile
    /// and asking the connection whether it is still there.
    async fn follow(&self, db: &Db, mut listener: key_changes::Listener, every: Duration) -> String {
        let mut safety_net = tokio::time::interval(every);
        safety_net.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is at once; the log was just read.
        safety_net.tick().await;
        loop {
            tokio::select! {
                announced = listener.announcements.recv() => {
                    let Some(first) = announced else {
                        return "the connection closed".to_owned();
                    };
                    // A burst of changes: one read of the log covers every
                    // announcement already waiting.
                    let mut behind = self.is_behind(first);
                    while let Ok(next) = listener.announcements.try_recv() {
                        behind |= self.is_behind(next);
                    }
                    if behind {
                        self.catch_up(db, ChangeVia::Push).await;
                    }
                }
                _ = safety_net.tick() => {
                    self.catch_up(db, ChangeVia::Poll).await;
                    if let Err(error) = listener.ping(LISTENER_TIMEOUT).await {
                        return error.to_string();
                    }
                }
            }
        }
    }

    /// Whether an announced change is one this instance has not acted on
    /// (its own changes it has, before they were announced). A payload that
    /// is not a number counts as new.
    fn is_behind(&self, announced: Option<i64>) -> bool {
        announced.is_none_or(|number| number > self.last_change.load(Ordering::SeqCst))
    }

    /// Reads the log every `every` until `until` (for ever when `None`).
    /// Safe to drop at any await: a read whose answer is dropped changed
    /// nothing.
    async fn poll(&self, db: &Db, every: Duration, until: Option<Instant>) {
        loop {
            self.catch_up(db, ChangeVia::Poll).await;
            let wait = match until {
                None => every,
                Some(until) => match until.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left.min(every),
                    _ => return,
                },
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// Follows the changes made on any instance: on PostgreSQL through the
/// listener, with the timer as its stand-in while it is away; on SQLite
/// through the timer (one indexed query per poll, however many keys are
/// cached).
pub fn spawn_change_watcher(db: Db, cache: KeyCache, url: DatabaseUrl, settings: FollowSettings) {
    match url.backend() {
        Backend::Sqlite => {
            tokio::spawn(async move { cache.poll(&db, settings.poll, None).await });
        }
        Backend::Postgres => {
            tokio::spawn(async move { follow_announcements(&db, &cache, &url, settings).await });
        }
    }
}

async fn follow_announcements(db: &Db, cache: &KeyCache, url: &DatabaseUrl, settings: FollowSettings) {
    let poll_ms = settings.poll.as_millis();
    let mut retry = settings.first_retry;
    // Whether the listener being away has been logged: it is logged once
    // when it goes (or cannot be opened at start), and once when it is back.
    let mut away_logged = false;
    loop {
        // The timer goes on while the listener is being opened: connecting
        // to a loaded server can take seconds, and the changes made
        // meanwhile must not wait for it.
        let attempt = tokio::select! {
            attempt = key_changes::listen(url, LISTENER_TIMEOUT) => attempt,
            () = cache.poll(db, settings.poll, None) => continue,
        };
        match attempt {
            Ok(listener) => {
                // (It is set again below: the listener only returns lost.)
                if away_logged {
                    tracing::info!("listening for key changes again; the change log is read on the slow timer");
                } else {
                    tracing::debug!("listening for key changes");
                }
                cache.metrics.set_key_change_listener_connected(true);
                retry = settings.first_retry;
                // What changed while nobody listened (or before LISTEN ran).
                cache.catch_up(db, ChangeVia::Poll).await;
                let reason = cache.follow(db, listener, settings.listening_poll).await;
                cache.metrics.set_key_change_listener_connected(false);
                cache.metrics.count_key_change_listener_loss();
                tracing::warn!(
                    %reason,
                    poll_ms,
                    "lost the connection that listens for key changes; reading the change log every {poll_ms} ms until it is back"
                );
                away_logged = true;
            }
            Err(error) if !away_logged => {
                cache.metrics.set_key_change_listener_connected(false);
                tracing::warn!(
                    %error,
                    poll_ms,
                    "cannot listen for key changes; reading the change log every {poll_ms} ms and trying again"
                );
                away_logged = true;
            }
            Err(error) => {
                tracing::debug!(%error, retry_ms = retry.as_millis(), "the key change listener is still away");
            }
        }
        // Until the next attempt, the timer stands in for the listener.
        cache.poll(db, settings.poll, Some(Instant::now() + retry)).await;
        retry = (retry * 2).min(MAX_RETRY);
    }
}
