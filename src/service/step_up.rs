//! Step-up: before a dangerous action, a user whose last strong check is
//! older than `auth::session::STEP_UP_WINDOW` proves who they are again —
//! with their authentication code (or a recovery code) if they have
//! two-factor authentication, else with their password. Each try is a
//! sign-in attempt for the throttle; every answer is audited.
//!
//! Each function takes a connection inside a write transaction
//! (`Db::transaction`) that is committed whatever the answer, so a refusal
//! stays counted.

use std::net::IpAddr;

use chrono::NaiveDateTime;

use super::two_factor::{self, Purpose, Refused, record_own};
use crate::auth::throttle::{self, Reservation};
use crate::domain::audit::AuditAction;
use crate::domain::two_factor::{SecondFactor, TwoFactorKeys};
use crate::domain::user::Email;
use crate::error::AppError;
use crate::store::DbConnection;
use crate::store::users::User;

/// The actions that ask again (DESIGN.md "Sessions and requests from
/// browsers"), as the dialog and the audit log name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DangerousAction {
    CreateFullAccessKey,
    WidenKeyToFullAccess,
    RotateKey,
    RevokeKey,
    DeleteKey,
    TurnOffTwoFactorRequirement,
    ChangeRole,
}

impl DangerousAction {
    /// The audit log's `for`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreateFullAccessKey => "create_full_access_key",
            Self::WidenKeyToFullAccess => "widen_key_to_full_access",
            Self::RotateKey => "rotate_key",
            Self::RevokeKey => "revoke_key",
            Self::DeleteKey => "delete_key",
            Self::TurnOffTwoFactorRequirement => "turn_off_two_factor_requirement",
            Self::ChangeRole => "change_role",
        }
    }

    /// What the dialog says the confirmation is for.
    pub fn describe(self) -> &'static str {
        match self {
            Self::CreateFullAccessKey => "Creating a key with Full access",
            Self::WidenKeyToFullAccess => "Giving a key Full access",
            Self::RotateKey => "Rotating a key",
            Self::RevokeKey => "Revoking a key",
            Self::DeleteKey => "Deleting a key",
            Self::TurnOffTwoFactorRequirement => "Turning off the two-factor requirement",
            Self::ChangeRole => "Changing a user's role",
        }
    }
}

/// What a step-up is answered with.
pub enum Proof<'a> {
    /// With two-factor authentication on: a code or a recovery code.
    SecondFactor(&'a SecondFactor),
    /// Without: whether the password (checked off the transaction, argon2
    /// being slow) matched, and the throttle slot `reserve_password` took.
    Password { matched: bool, reservation: Reservation },
}

/// Reserves the throttle slot of a password step-up, before the password
/// is checked (so a parallel burst gets no more tries than sign-in does).
pub fn reserve_password(
    conn: &mut DbConnection,
    user: &User,
    client_ip: IpAddr,
    now: NaiveDateTime,
) -> Result<Reservation, AppError> {
    throttle::reserve(conn, &Email::parse(&user.email)?, client_ip, now)
}

/// Judges `proof` for `action`: `Ok(Ok(()))` means it's them, and the
/// caller records the strong check on its session. A wrong answer stays a
/// failure for the throttle; both outcomes are audited.
pub fn confirm(
    conn: &mut DbConnection,
    keys: &TwoFactorKeys,
    user: &User,
    proof: Proof<'_>,
    action: DangerousAction,
    client_ip: IpAddr,
    now: NaiveDateTime,
) -> Result<Result<(), Refused>, AppError> {
    let (factor, outcome) = match proof {
        Proof::SecondFactor(factor) => (
            factor.kind().as_str(),
            two_factor::verify(conn, keys, user, factor, Purpose::StepUp, client_ip, now)?,
        ),
        Proof::Password {
            matched: true,
            reservation,
        } => {
            throttle::record_success(conn, &Email::parse(&user.email)?, reservation)?;
            ("password", Ok(()))
        }
        // The reservation stays as the failure.
        Proof::Password { matched: false, .. } => ("password", Err(Refused::Wrong)),
    };
    match outcome {
        Ok(()) => record_own(
            conn,
            user,
            AuditAction::IdentityConfirmed,
            serde_json::json!({ "for": action.as_str(), "factor": factor }),
            Some(client_ip),
        )?,
        // A refused code is audited by `two_factor::verify` already (as
        // `two_factor_code_failed` during `step_up`); a password here.
        Err(_) if factor == "password" => record_own(
            conn,
            user,
            AuditAction::IdentityConfirmationFailed,
            serde_json::json!({ "for": action.as_str(), "factor": factor, "reason": "wrong" }),
            Some(client_ip),
        )?,
        Err(_) => {}
    }
    Ok(outcome)
}
