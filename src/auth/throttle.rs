//! Throttling of failed sign-ins, per account and per client address. Kept in
//! the database so every instance counts the same failures.
//!
//! An attempt is reserved before its password is checked: under a lock on its
//! subjects, the recent failures are counted and, below the limits, a row is
//! written for the account and one for the address. A wrong password leaves
//! the rows as its failures; a right one deletes them. So parallel guesses can
//! never have more than the limit checked per window.

use std::net::IpAddr;

use chrono::{NaiveDateTime, TimeDelta};

use super::client_ip;
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

/// IPv4 clients are counted per address; IPv6 clients per /64.
fn address_subject(ip: IpAddr) -> String {
    match client_ip::client_block(ip) {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(block) => format!("ip:{block}/64"),
    }
}

/// The rows an attempt reserved; they count as its failure unless released.
#[derive(Debug, Clone, Copy)]
pub struct Reservation {
    account_row: i64,
    address_row: i64,
}

/// Reserves one attempt for the account and the address, or refuses it if
/// either has failed too often within the window. Unknown accounts are
/// counted like known ones, so the answer reveals nothing. Must run inside a
/// write transaction (`store::write_transaction`): that, with the subjects'
/// lock, makes the count and the reservation one step.
pub fn reserve(
    conn: &mut DbConnection,
    email: &Email,
    ip: IpAddr,
    now: NaiveDateTime,
) -> Result<Reservation, AppError> {
    let account = account_subject(email);
    let address = address_subject(ip);
    users::lock_sign_in_subjects(conn, &[&account, &address])?;
    let since = now - WINDOW;
    for (subject, limit) in [(&account, MAX_PER_ACCOUNT), (&address, MAX_PER_ADDRESS)] {
        let (failures, oldest) = users::sign_in_failures_since(conn, subject, since)?;
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
    Ok(Reservation {
        account_row: users::record_sign_in_failure(conn, &account, now)?,
        address_row: users::record_sign_in_failure(conn, &address, now)?,
    })
}

/// The password was right: the attempt is not a failure.
pub fn release(conn: &mut DbConnection, reservation: Reservation) -> Result<(), AppError> {
    users::delete_sign_in_failure(conn, reservation.account_row)?;
    users::delete_sign_in_failure(conn, reservation.address_row)?;
    Ok(())
}

/// A successful sign-in releases its attempt and forgives the account's
/// failures (not the address's).
pub fn record_success(conn: &mut DbConnection, email: &Email, reservation: Reservation) -> Result<(), AppError> {
    release(conn, reservation)?;
    users::clear_sign_in_failures(conn, &account_subject(email))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn ipv6_addresses_are_counted_per_64() {
        assert_eq!(address_subject(ip("2001:db8:1:2::1")), "ip:2001:db8:1:2::/64");
        assert_eq!(
            address_subject(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")),
            address_subject(ip("2001:db8:1:2::1"))
        );
        assert_ne!(
            address_subject(ip("2001:db8:1:3::1")),
            address_subject(ip("2001:db8:1:2::1"))
        );
    }

    #[test]
    fn ipv4_addresses_are_counted_one_by_one_however_written() {
        assert_eq!(address_subject(ip("203.0.113.7")), "ip:203.0.113.7");
        assert_eq!(address_subject(ip("::ffff:203.0.113.7")), "ip:203.0.113.7");
        assert_ne!(address_subject(ip("203.0.113.8")), address_subject(ip("203.0.113.7")));
    }
}
