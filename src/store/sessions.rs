//! Server-side browser sessions. Rows are keyed by the SHA-256 of the cookie's
//! session key, never the key itself.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::sessions;
use super::{DbConnection, UniqueRow as _};

#[derive(Debug, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub id: &'a str,
    pub user_id: Option<&'a str>,
    pub state: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, session: &NewSession<'_>) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values(session)
        .execute(conn)
        .map(drop)
}

/// The state of a live session.
pub fn load(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<Option<String>> {
    sessions::table
        .filter(sessions::id.eq(id))
        .filter(sessions::expires_at.gt(now))
        .select(sessions::state)
        .unique_row(conn)
}

/// Replaces state and expiry; returns false when the row is gone.
pub fn update(
    conn: &mut DbConnection,
    id: &str,
    user_id: Option<&str>,
    state: &str,
    expires_at: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(sessions::table.find(id))
        .set((
            sessions::user_id.eq(user_id),
            sessions::state.eq(state),
            sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

pub fn touch(conn: &mut DbConnection, id: &str, expires_at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(sessions::table.find(id))
        .set(sessions::expires_at.eq(expires_at))
        .execute(conn)
        .map(drop)
}

pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::delete(sessions::table.find(id)).execute(conn).map(drop)
}

pub fn delete_for_user(conn: &mut DbConnection, user_id: &str) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)
}

pub fn delete_expired(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::expires_at.le(now))).execute(conn)
}
