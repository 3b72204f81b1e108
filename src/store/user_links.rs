//! One-time links for a user: an invitation or a password reset. Rows are
//! keyed by the SHA-256 of the link's token, never the token itself.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::user_links;
use super::{DbConnection, UniqueRow as _};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user_links)]
pub struct UserLink {
    pub token_digest: String,
    pub org_id: String,
    pub user_id: String,
    pub purpose: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = user_links)]
pub struct NewUserLink<'a> {
    pub token_digest: &'a str,
    pub org_id: &'a str,
    pub user_id: &'a str,
    pub purpose: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, link: &NewUserLink<'_>) -> QueryResult<()> {
    diesel::insert_into(user_links::table)
        .values(link)
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConnection, token_digest: &str) -> QueryResult<Option<UserLink>> {
    user_links::table
        .find(token_digest)
        .select(UserLink::as_select())
        .unique_row(conn)
}

/// Marks the link used; false if it already was (or is gone), so two
/// racing submissions of one link cannot both succeed.
pub fn mark_used(conn: &mut DbConnection, token_digest: &str, at: NaiveDateTime) -> QueryResult<bool> {
    let updated = diesel::update(
        user_links::table
            .filter(user_links::token_digest.eq(token_digest))
            .filter(user_links::used_at.is_null()),
    )
    .set(user_links::used_at.eq(Some(at)))
    .execute(conn)?;
    Ok(updated == 1)
}

/// The user's unused link of `purpose`, newest first (there is at most
/// one: a new link replaces the last).
pub fn find_unused_for_user(conn: &mut DbConnection, user_id: &str, purpose: &str) -> QueryResult<Option<UserLink>> {
    user_links::table
        .filter(user_links::user_id.eq(user_id))
        .filter(user_links::purpose.eq(purpose))
        .filter(user_links::used_at.is_null())
        .order(user_links::created_at.desc())
        .select(UserLink::as_select())
        .first(conn)
        .optional()
}

/// Forgets the user's unused links of `purpose` (all purposes with `None`):
/// a new link replaces the last, and disabling a user ends theirs.
pub fn delete_unused_for_user(conn: &mut DbConnection, user_id: &str, purpose: Option<&str>) -> QueryResult<usize> {
    let unused = user_links::table
        .filter(user_links::user_id.eq(user_id))
        .filter(user_links::used_at.is_null());
    match purpose {
        Some(purpose) => diesel::delete(unused.filter(user_links::purpose.eq(purpose))).execute(conn),
        None => diesel::delete(unused).execute(conn),
    }
}
