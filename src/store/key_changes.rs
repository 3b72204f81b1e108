//! The log of key changes that other instances read to drop stale cache
//! entries. Numbers come from one counter row, taken inside the writing
//! transaction (see the migration `create_key_changes`): changes commit in
//! the order of their numbers, with no gaps, whatever the writers' clocks say.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{key_change_counter, key_changes};

/// Appends a change of `api_key_id` inside the caller's transaction; the
/// counter row stays locked until that transaction ends.
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
    Ok(number)
}

/// The number of the newest committed change (0 before the first).
pub fn latest(conn: &mut DbConnection) -> QueryResult<i64> {
    key_change_counter::table
        .find(1)
        .select(key_change_counter::last_change)
        .get_result(conn)
}

/// (number, key) of the changes after `last_seen`, oldest first.
pub fn after(conn: &mut DbConnection, last_seen: i64) -> QueryResult<Vec<(i64, String)>> {
    key_changes::table
        .filter(key_changes::id.gt(last_seen))
        .order(key_changes::id)
        .select((key_changes::id, key_changes::api_key_id))
        .load(conn)
}

/// Prunes changes recorded before `before`; returns how many.
pub fn delete_before(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(key_changes::table.filter(key_changes::created_at.lt(before))).execute(conn)
}
