//! Users, the one-time setup tokens that create the first one, and the record
//! of failed sign-ins used for throttling.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::organizations::Organization;
use super::schema::{organizations, setup_tokens, sign_in_failures, users};
use super::{DbConnection, UniqueRow as _};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub org_id: String,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub password_hash: String,
    pub disabled_at: Option<NaiveDateTime>,
    pub last_sign_in_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    /// When two-factor authentication was turned on; `None` while it is off.
    /// (The sealed secret itself is read only where a code is checked.)
    pub totp_enabled_at: Option<NaiveDateTime>,
    /// Set while their invitation is not yet accepted.
    pub invited_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: &'a str,
    pub org_id: &'a str,
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: &'a str,
    pub password_hash: &'a str,
    pub created_at: NaiveDateTime,
    pub invited_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, user: &NewUser<'_>) -> QueryResult<()> {
    diesel::insert_into(users::table).values(user).execute(conn).map(drop)
}

pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .unique_row(conn)
}

/// The user and their organization, in one query.
pub fn find_with_org(conn: &mut DbConnection, user_id: &str) -> QueryResult<Option<(User, Organization)>> {
    users::table
        .inner_join(organizations::table)
        .filter(users::id.eq(user_id))
        .select((User::as_select(), Organization::as_select()))
        .unique_row(conn)
}

pub fn set_password_hash(conn: &mut DbConnection, user_id: &str, hash: &str) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set(users::password_hash.eq(hash))
        .execute(conn)
        .map(drop)
}

pub fn record_sign_in(conn: &mut DbConnection, user_id: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set(users::last_sign_in_at.eq(Some(at)))
        .execute(conn)
        .map(drop)
}

/// Disables (or re-enables) a user; disabling also ends their sessions.
pub fn set_disabled(conn: &mut DbConnection, user_id: &str, disabled_at: Option<NaiveDateTime>) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set(users::disabled_at.eq(disabled_at))
        .execute(conn)?;
    if disabled_at.is_some() {
        super::sessions::delete_for_user(conn, user_id)?;
    }
    Ok(())
}

pub fn insert_setup_token(conn: &mut DbConnection, token_digest: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::insert_into(setup_tokens::table)
        .values((
            setup_tokens::token_digest.eq(token_digest),
            setup_tokens::created_at.eq(at),
        ))
        .execute(conn)
        .map(drop)
}

/// Whether a setup token exists and is unused.
pub fn setup_token_is_usable(conn: &mut DbConnection, token_digest: &str) -> QueryResult<bool> {
    let found: i64 = setup_tokens::table
        .filter(setup_tokens::token_digest.eq(token_digest))
        .filter(setup_tokens::used_at.is_null())
        .count()
        .get_result(conn)?;
    Ok(found == 1)
}

/// Marks the token used; returns false if it was not usable (already used,
/// unknown), so two racing submissions cannot both succeed.
pub fn use_setup_token(conn: &mut DbConnection, token_digest: &str, at: NaiveDateTime) -> QueryResult<bool> {
    let updated = diesel::update(
        setup_tokens::table
            .filter(setup_tokens::token_digest.eq(token_digest))
            .filter(setup_tokens::used_at.is_null()),
    )
    .set(setup_tokens::used_at.eq(Some(at)))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Serialises sign-in attempts on these subjects until the transaction ends.
/// SQLite's write transaction (`BEGIN IMMEDIATE`) already holds the one
/// database lock; PostgreSQL takes a transaction-scoped advisory lock per
/// subject, in one global order so two attempts never deadlock. Outside a
/// transaction it would protect nothing.
pub fn lock_sign_in_subjects(conn: &mut DbConnection, subjects: &[&str]) -> QueryResult<()> {
    let DbConnection::Postgres(pg) = conn else {
        return Ok(());
    };
    let mut keys: Vec<i64> = subjects.iter().map(|subject| advisory_key(subject)).collect();
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<diesel::sql_types::BigInt, _>(key)
            .execute(pg)?;
    }
    Ok(())
}

/// A 64-bit advisory-lock key for a subject (PostgreSQL's own `hashtext` has
/// 32 bits, few enough for chosen collisions).
fn advisory_key(subject: &str) -> i64 {
    use sha2::{Digest as _, Sha256};
    let digest = Sha256::digest(format!("keyward sign-in {subject}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// Records one attempt (a failure until it is deleted again); returns its id.
/// The caller holds the subject's lock, so the newest row is this one.
pub fn record_sign_in_failure(conn: &mut DbConnection, subject: &str, at: NaiveDateTime) -> QueryResult<i64> {
    diesel::insert_into(sign_in_failures::table)
        .values((
            sign_in_failures::subject.eq(subject),
            sign_in_failures::created_at.eq(at),
        ))
        .execute(conn)?;
    sign_in_failures::table
        .filter(sign_in_failures::subject.eq(subject))
        .select(diesel::dsl::max(sign_in_failures::id))
        .get_result::<Option<i64>>(conn)?
        .ok_or(diesel::result::Error::NotFound)
}

pub fn delete_sign_in_failure(conn: &mut DbConnection, id: i64) -> QueryResult<()> {
    diesel::delete(sign_in_failures::table.find(id)).execute(conn).map(drop)
}

/// Failures for `subject` since `since`, and the oldest of them.
pub fn sign_in_failures_since(
    conn: &mut DbConnection,
    subject: &str,
    since: NaiveDateTime,
) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    let recent = sign_in_failures::table
        .filter(sign_in_failures::subject.eq(subject))
        .filter(sign_in_failures::created_at.gt(since));
    let count = recent.count().get_result(conn)?;
    let oldest = recent
        .select(diesel::dsl::min(sign_in_failures::created_at))
        .first::<Option<NaiveDateTime>>(conn)?;
    Ok((count, oldest))
}

pub fn clear_sign_in_failures(conn: &mut DbConnection, subject: &str) -> QueryResult<()> {
    diesel::delete(sign_in_failures::table.filter(sign_in_failures::subject.eq(subject)))
        .execute(conn)
        .map(drop)
}

pub fn delete_sign_in_failures_before(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(sign_in_failures::table.filter(sign_in_failures::created_at.lt(before))).execute(conn)
}

// People administration: every query takes the organization's id.

/// The organization's users, by name then email.
pub fn list_in_org(conn: &mut DbConnection, org_id: &str) -> QueryResult<Vec<User>> {
    users::table
        .filter(users::org_id.eq(org_id))
        .order((users::display_name.asc(), users::email.asc()))
        .select(User::as_select())
        .load(conn)
}

/// A user of this organization; `None` for anyone else's.
pub fn find_in_org(conn: &mut DbConnection, org_id: &str, user_id: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::org_id.eq(org_id))
        .filter(users::id.eq(user_id))
        .select(User::as_select())
        .unique_row(conn)
}

/// Holds the organization's row until the transaction ends, so two changes
/// to its System Administrators are made one after the other and each
/// counts what the other left. SQLite's write transaction (`BEGIN
/// IMMEDIATE`) already holds the one database lock; on PostgreSQL a count
/// inside a transaction alone would let two demotions both see the other.
pub fn lock_org_people(conn: &mut DbConnection, org_id: &str) -> QueryResult<()> {
    let DbConnection::Postgres(pg) = conn else {
        return Ok(());
    };
    diesel::sql_query("SELECT id FROM organizations WHERE id = $1 FOR UPDATE")
        .bind::<diesel::sql_types::Text, _>(org_id)
        .execute(pg)
        .map(drop)
}

/// System Administrators of the organization who can act: enabled, and past
/// their invitation.
pub fn count_active_system_administrators(conn: &mut DbConnection, org_id: &str) -> QueryResult<i64> {
    users::table
        .filter(users::org_id.eq(org_id))
        .filter(users::role.eq(crate::domain::role::Role::SystemAdministrator.as_str()))
        .filter(users::disabled_at.is_null())
        .filter(users::invited_at.is_null())
        .count()
        .get_result(conn)
}

pub fn set_role(conn: &mut DbConnection, org_id: &str, user_id: &str, role: &str) -> QueryResult<()> {
    diesel::update(
        users::table
            .filter(users::org_id.eq(org_id))
            .filter(users::id.eq(user_id)),
    )
    .set(users::role.eq(role))
    .execute(conn)
    .map(drop)
}

/// Accepting an invitation: their name and password, and no longer invited.
pub fn accept_invitation(
    conn: &mut DbConnection,
    user_id: &str,
    display_name: &str,
    password_hash: &str,
) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::display_name.eq(display_name),
            users::password_hash.eq(password_hash),
            users::invited_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
        .map(drop)
}
