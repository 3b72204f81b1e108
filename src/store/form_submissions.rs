//! The one-time tokens of forms that showed a secret, and the key each one
//! made or rotated (see the migration `create_form_submissions`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::form_submissions;
use crate::domain::form_token::FormToken;

/// The key an earlier submission of this form (in this organization) made
/// or rotated.
pub fn find(conn: &mut DbConnection, org_id: &str, token: &FormToken) -> QueryResult<Option<String>> {
    form_submissions::table
        .find((org_id, token.as_str()))
        .select(form_submissions::api_key_id)
        .first(conn)
        .optional()
}

/// Records a submission inside the transaction of the change it made; a
/// second one with the same token is a unique violation.
pub fn record(
    conn: &mut DbConnection,
    org_id: &str,
    token: &FormToken,
    api_key_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::insert_into(form_submissions::table)
        .values((
            form_submissions::org_id.eq(org_id),
            form_submissions::token.eq(token.as_str()),
            form_submissions::api_key_id.eq(api_key_id),
            form_submissions::created_at.eq(now),
        ))
        .execute(conn)
}

/// Prunes submissions recorded before `before`; returns how many.
pub fn delete_before(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(form_submissions::table.filter(form_submissions::created_at.lt(before))).execute(conn)
}
