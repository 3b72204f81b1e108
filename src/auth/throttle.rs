//! Throttling of failed sign-ins, per account and per client address. Kept in
//! the database so every instance counts the same failures.

use std::net::IpAddr;

use chrono::{NaiveDateTime, TimeDelta};

use crate::domain::user::Email;
use crate::error::AppError;
use crate::store::{DbConnection, users};

/// Failures are counted over this window.
pub const WINDOW: TimeDelta = TimeDelta::minutes(15);
/// Failed attempts on one account within the window before it is paused.
pub const MAX_PER_ACCOUNT: i64 = 5;
/// Failed attempts from one address within the window before it is paused.
pub const MAX_PER_ADDRESS: i64 = 20;

fn account_subject(email: &Email) -> String {
    format!("email:{email}")
}

fn address_subject(ip: IpAddr) -> String {
    format!("ip:{ip}")
}

/// Refuses the attempt if the account or the address has failed too often.
/// Unknown accounts are counted like known ones, so the answer reveals nothing.
pub fn check(conn: &mut DbConnection, email: &Email, ip: IpAddr, now: NaiveDateTime) -> Result<(), AppError> {
    let since = now - WINDOW;
    for (subject, limit) in [
        (account_subject(email), MAX_PER_ACCOUNT),
        (address_subject(ip), MAX_PER_ADDRESS),
    ] {
        let (failures, oldest) = users::sign_in_failures_since(conn, &subject, since)?;
        if failures >= limit {
            let unlock = oldest.unwrap_or(now) + WINDOW;
            let wait = (unlock - now).num_seconds().max(1);
            let minutes = (wait + 59) / 60;
            return Err(AppError::TooManyRequests {
                message: format!(
                    "Too many failed sign-in attempts. Wait {minutes} minute{} and try again, or ask a System Administrator to reset your password.",
                    if minutes == 1 { "" } else { "s" }
                ),
                retry_after_secs: u64::try_from(wait).unwrap_or(1),
            });
        }
    }
    Ok(())
}

pub fn record_failure(conn: &mut DbConnection, email: &Email, ip: IpAddr, now: NaiveDateTime) -> Result<(), AppError> {
    users::record_sign_in_failure(conn, &account_subject(email), now)?;
    users::record_sign_in_failure(conn, &address_subject(ip), now)?;
    Ok(())
}

/// A successful sign-in forgives the account's failures (not the address's).
pub fn record_success(conn: &mut DbConnection, email: &Email) -> Result<(), AppError> {
    users::clear_sign_in_failures(conn, &account_subject(email))?;
    Ok(())
}
