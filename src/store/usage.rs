//! Hourly usage counts per key (allowed, and rejected by code).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::usage_buckets;

/// (key, hour, outcome, count) rows of organization `org_id` since `since`:
/// of the keys `only` names, or of all its keys. The organization is always
/// in the query, so another organization's key id reads nothing.
pub fn buckets_since(
    conn: &mut DbConnection,
    org_id: &str,
    only: Option<&[String]>,
    since: NaiveDateTime,
) -> QueryResult<Vec<(String, NaiveDateTime, String, i64)>> {
    let mut query = usage_buckets::table
        .filter(usage_buckets::org_id.eq(org_id))
        .filter(usage_buckets::hour.ge(since))
        .select((
            usage_buckets::api_key_id,
            usage_buckets::hour,
            usage_buckets::outcome,
            usage_buckets::count,
        ))
        .into_boxed();
    if let Some(ids) = only {
        query = query.filter(usage_buckets::api_key_id.eq_any(ids));
    }
    query.load(conn)
}

/// Counts to add to one hourly bucket.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = usage_buckets)]
pub struct UsageDelta {
    pub api_key_id: String,
    pub org_id: String,
    pub hour: NaiveDateTime,
    pub outcome: String,
    pub count: i64,
}

/// Adds each delta to its bucket (insert, or add to what is there), so
/// several instances can flush into one database without losing counts.
pub fn add(conn: &mut DbConnection, deltas: &[UsageDelta]) -> QueryResult<()> {
    use diesel::upsert::excluded;
    // MultiConnection has no ON CONFLICT; both inner connections do, with the
    // same statement.
    macro_rules! upsert {
        ($conn:expr, $delta:expr) => {
            diesel::insert_into(usage_buckets::table)
                .values($delta)
                .on_conflict((
                    usage_buckets::api_key_id,
                    usage_buckets::hour,
                    usage_buckets::outcome,
                ))
                .do_update()
                .set(usage_buckets::count.eq(usage_buckets::count + excluded(usage_buckets::count)))
                .execute($conn)
        };
    }
    for delta in deltas {
        match conn {
            DbConnection::Postgres(c) => upsert!(c, delta)?,
            DbConnection::Sqlite(c) => upsert!(c, delta)?,
        };
    }
    Ok(())
}

/// Moves a key's "last used" forward (never back: instances flush in any order).
pub fn touch_last_used(conn: &mut DbConnection, api_key_id: &str, at: NaiveDateTime, ip: &str) -> QueryResult<()> {
    use super::schema::api_keys;
    diesel::update(
        api_keys::table
            .filter(api_keys::id.eq(api_key_id))
            .filter(api_keys::last_used_at.is_null().or(api_keys::last_used_at.lt(at))),
    )
    .set((api_keys::last_used_at.eq(Some(at)), api_keys::last_used_ip.eq(Some(ip))))
    .execute(conn)
    .map(drop)
}
