//! Two-factor authentication: a user's sealed TOTP secret, when it was
//! turned on and the last time step whose code was accepted (columns of
//! `users`), the secret being set up (`totp_enrolments`) and the digests of
//! recovery codes (`recovery_codes`). Secrets arrive here already sealed and
//! recovery codes already digested: nothing in this file sees either.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{recovery_codes, totp_enrolments, users};
use super::{DbConnection, UniqueRow as _};

/// A secret being set up.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = totp_enrolments)]
pub struct Enrolment {
    pub user_id: String,
    /// Names this attempt: the form that showed its QR code sends it back.
    pub id: String,
    pub secret: String,
    pub created_at: NaiveDateTime,
}

/// The sealed secret of a user whose two-factor authentication is on.
pub fn sealed_secret(conn: &mut DbConnection, user_id: &str) -> QueryResult<Option<String>> {
    Ok(users::table
        .find(user_id)
        .filter(users::totp_enabled_at.is_not_null())
        .select(users::totp_secret)
        .unique_row::<Option<String>>(conn)?
        .flatten())
}

/// Drops the user's enrolment if it began before `before`.
pub fn delete_stale_enrolment(conn: &mut DbConnection, user_id: &str, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(
        totp_enrolments::table
            .filter(totp_enrolments::user_id.eq(user_id))
            .filter(totp_enrolments::created_at.lt(before)),
    )
    .execute(conn)
}

/// Stores `enrolment` unless the user has one already: of two racing
/// starts, the first one's secret stays and both pages show it.
pub fn insert_enrolment_unless_one_exists(conn: &mut DbConnection, enrolment: &Enrolment) -> QueryResult<()> {
    let row = (
        totp_enrolments::user_id.eq(&enrolment.user_id),
        totp_enrolments::id.eq(&enrolment.id),
        totp_enrolments::secret.eq(&enrolment.secret),
        totp_enrolments::created_at.eq(enrolment.created_at),
    );
    // MultiConnection has no ON CONFLICT; both inner connections do, with
    // the same statement.
    macro_rules! insert {
        ($conn:expr) => {
            diesel::insert_into(totp_enrolments::table)
                .values(row)
                .on_conflict(totp_enrolments::user_id)
                .do_nothing()
                .execute($conn)
        };
    }
    match conn {
        DbConnection::Postgres(c) => insert!(c)?,
        DbConnection::Sqlite(c) => insert!(c)?,
    };
    Ok(())
}

pub fn find_enrolment(conn: &mut DbConnection, user_id: &str) -> QueryResult<Option<Enrolment>> {
    totp_enrolments::table
        .find(user_id)
        .select(Enrolment::as_select())
        .unique_row(conn)
}

/// Removes the enrolment `id` of the user; false if it is no longer there
/// (confirmed or restarted meanwhile), so two confirmations cannot both win.
pub fn take_enrolment(conn: &mut DbConnection, user_id: &str, id: &str) -> QueryResult<bool> {
    let deleted = diesel::delete(
        totp_enrolments::table
            .filter(totp_enrolments::user_id.eq(user_id))
            .filter(totp_enrolments::id.eq(id)),
    )
    .execute(conn)?;
    Ok(deleted == 1)
}

pub fn delete_enrolments_before(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(totp_enrolments::table.filter(totp_enrolments::created_at.lt(before))).execute(conn)
}

/// Turns two-factor authentication on with `sealed` as the secret and
/// `step` as the step already used; false if it was on already.
pub fn enable(
    conn: &mut DbConnection,
    user_id: &str,
    sealed: &str,
    step: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(users::table.find(user_id).filter(users::totp_enabled_at.is_null()))
        .set((
            users::totp_secret.eq(Some(sealed)),
            users::totp_enabled_at.eq(Some(now)),
            users::totp_last_step.eq(Some(step)),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Turns it off: the secret, its last step, every recovery code and any
/// enrolment are gone. False if it was off.
pub fn disable(conn: &mut DbConnection, user_id: &str) -> QueryResult<bool> {
    let updated = diesel::update(users::table.find(user_id).filter(users::totp_enabled_at.is_not_null()))
        .set((
            users::totp_secret.eq(None::<String>),
            users::totp_enabled_at.eq(None::<NaiveDateTime>),
            users::totp_last_step.eq(None::<i64>),
        ))
        .execute(conn)?;
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id))).execute(conn)?;
    diesel::delete(totp_enrolments::table.filter(totp_enrolments::user_id.eq(user_id))).execute(conn)?;
    Ok(updated == 1)
}

/// Records `step` as used if it is later than the last one used: false for
/// a step already used (or an earlier one), so a code works once, however
/// many requests bring it at the same time.
pub fn use_step(conn: &mut DbConnection, user_id: &str, step: i64) -> QueryResult<bool> {
    let updated = diesel::update(
        users::table
            .find(user_id)
            .filter(users::totp_enabled_at.is_not_null())
            .filter(users::totp_last_step.is_null().or(users::totp_last_step.lt(step))),
    )
    .set(users::totp_last_step.eq(Some(step)))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Replaces every recovery code of the user with `digests`.
pub fn replace_recovery_codes(
    conn: &mut DbConnection,
    user_id: &str,
    digests: &[String],
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id))).execute(conn)?;
    // One statement a row: MultiConnection has no batch insert.
    for digest in digests {
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::id.eq(super::new_id()),
                recovery_codes::user_id.eq(user_id),
                recovery_codes::digest.eq(digest),
                recovery_codes::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Spends the unused recovery code with `digest`: false if the user has no
/// such code or it was spent, so of two requests with one code one wins.
pub fn use_recovery_code(
    conn: &mut DbConnection,
    user_id: &str,
    digest: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::digest.eq(digest))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(Some(now)))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Whether the user has a recovery code with `digest` that was spent.
pub fn recovery_code_was_used(conn: &mut DbConnection, user_id: &str, digest: &str) -> QueryResult<bool> {
    let used: i64 = recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::digest.eq(digest))
        .filter(recovery_codes::used_at.is_not_null())
        .count()
        .get_result(conn)?;
    Ok(used > 0)
}

/// How many of the user's recovery codes are still unused.
pub fn unused_recovery_codes(conn: &mut DbConnection, user_id: &str) -> QueryResult<i64> {
    recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)
}
