//! Hourly usage counts per key (allowed, and rejected by code).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::usage_buckets;

/// (key, hour, outcome, count) rows of these keys since `since`.
pub fn buckets_since(
    conn: &mut DbConnection,
    api_key_ids: &[String],
    since: NaiveDateTime,
) -> QueryResult<Vec<(String, NaiveDateTime, String, i64)>> {
    usage_buckets::table
        .filter(usage_buckets::api_key_id.eq_any(api_key_ids))
        .filter(usage_buckets::hour.ge(since))
        .select((
            usage_buckets::api_key_id,
            usage_buckets::hour,
            usage_buckets::outcome,
            usage_buckets::count,
        ))
        .load(conn)
}
