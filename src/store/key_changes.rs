//! The log of key changes that other instances read to drop stale cache
//! entries. Numbers come from one counter row, taken inside the writing
//! transaction (see the migration `create_key_changes`): changes commit in
//! the order of their numbers, with no gaps, whatever the writers' clocks say.
//!
//! On PostgreSQL each change is also announced with `NOTIFY` in the same
//! transaction (so only a committed change is announced, and only once it
//! has committed), and `listen` opens the one connection per instance that
//! receives the announcements. The log stays the truth: an announcement
//! only says "read the log now".

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{key_change_counter, key_changes};
use super::{DatabaseUrl, DbConnection};

/// The channel changes are announced on; the payload is the change's number.
pub const CHANNEL: &str = "keyward_key_changes";

/// The `application_name` of the listening connection, so an operator (or a
/// test) can tell it from the pool's in `pg_stat_activity`.
pub const LISTENER_APPLICATION_NAME: &str = "keyward-key-changes";

/// Appends a change of `api_key_id` inside the caller's transaction; the
/// counter row stays locked until that transaction ends. On PostgreSQL the
/// change is announced on `CHANNEL`, delivered when (and only if) the
/// transaction commits.
pub fn record(conn: &mut DbConnection, org_id: &str, api_key_id: &str, now: NaiveDateTime) -> QueryResult<i64> {
    diesel::update(key_change_counter::table.find(1))
        .set(key_change_counter::last_change.eq(key_change_counter::last_change + 1))
        .execute(conn)?;
    let number = latest(conn)?;
    diesel::insert_into(key_changes::table)
        .values((
            key_changes::id.eq(number),
            key_changes::api_key_id.eq(api_key_id),
            key_changes::org_id.eq(org_id),
            key_changes::created_at.eq(now),
        ))
        .execute(conn)?;
    if let DbConnection::Postgres(pg) = conn {
        // The payload is our own integer, so it is written into the
        // statement: nothing a caller chose reaches it.
        diesel::sql_query(format!("SELECT pg_notify('{CHANNEL}', '{number}')")).execute(pg)?;
    }
    Ok(number)
}

/// The number of the newest committed change (0 before the first).
pub fn latest(conn: &mut DbConnection) -> QueryResult<i64> {
    key_change_counter::table
        .find(1)
        .select(key_change_counter::last_change)
        .get_result(conn)
}

/// (number, key, when it was made by its writer's clock) of the changes
/// after `last_seen`, oldest first.
pub fn after(conn: &mut DbConnection, last_seen: i64) -> QueryResult<Vec<(i64, String, NaiveDateTime)>> {
    key_changes::table
        .filter(key_changes::id.gt(last_seen))
        .order(key_changes::id)
        .select((key_changes::id, key_changes::api_key_id, key_changes::created_at))
        .load(conn)
}

/// Prunes changes recorded before `before`; returns how many.
pub fn delete_before(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(key_changes::table.filter(key_changes::created_at.lt(before))).execute(conn)
}

/// Why the listening connection could not be opened or was lost; its text
/// is the driver's and never holds the URL or its password.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ListenError(String);

/// A connection that has run `LISTEN` on `CHANNEL`. The announcements arrive
/// on `announcements` (each the change's number, `None` for a payload that
/// is not one); the channel closes when the connection is lost.
pub struct Listener {
    client: tokio_postgres::Client,
    pub announcements: tokio::sync::mpsc::UnboundedReceiver<Option<i64>>,
}

impl Listener {
    /// Asks the server something, to find out whether the connection is still
    /// there when no announcement came for a while (a connection cut without
    /// a word from the other side would otherwise look like a quiet one).
    pub async fn ping(&self, timeout: Duration) -> Result<(), ListenError> {
        match tokio::time::timeout(timeout, self.client.simple_query("")).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(ListenError(error.to_string())),
            Err(_) => Err(ListenError(format!("no answer within {} ms", timeout.as_millis()))),
        }
    }
}

/// Opens a connection of its own (outside the pool) to the PostgreSQL
/// database `url` names and listens on `CHANNEL`. Without TLS: the
/// tokio-postgres connection is plain, so a server that demands TLS refuses
/// it, and the instance keeps reading the log on a timer instead.
pub async fn listen(url: &DatabaseUrl, connect_timeout: Duration) -> Result<Listener, ListenError> {
    let mut config: tokio_postgres::Config = url
        .connection_string()
        .parse()
        .map_err(|error: tokio_postgres::Error| ListenError(format!("cannot read the database URL: {error}")))?;
    config
        .application_name(LISTENER_APPLICATION_NAME)
        .connect_timeout(connect_timeout)
        // A peer that vanishes without closing the socket is noticed by the
        // pings too; keepalives make the kernel give up on it sooner.
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(30));
    let (client, mut connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|error| ListenError(error.to_string()))?;
    let (sender, announcements) = tokio::sync::mpsc::unbounded_channel();
    // The connection does the socket's work (queries and announcements
    // alike) only while it is polled: this task polls it until it ends,
    // and dropping the sender then closes `announcements`.
    tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(tokio_postgres::AsyncMessage::Notification(notification))) => {
                    if sender.send(notification.payload().parse().ok()).is_err() {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    tracing::debug!(%error, "the key change listener's connection ended");
                    return;
                }
                None => return,
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .await
        .map_err(|error| ListenError(error.to_string()))?;
    Ok(Listener { client, announcements })
}
