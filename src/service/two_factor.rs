//! Two-factor authentication, for the backoffice and the command line
//! alike: setting it up, verifying a second factor (at sign-in, before
//! turning it off or making new recovery codes, and for any other check
//! that asks for "your current code"), the organization's requirement and
//! the reset from the command line. Every change is audited, with what it
//! was before and after.
//!
//! Each function takes a connection inside a write transaction
//! (`Db::transaction`): a check and what it spends (a code's time step, a
//! recovery code, a throttle slot) are one step.

use std::net::IpAddr;

use chrono::{NaiveDateTime, TimeDelta};

use crate::auth::throttle;
use crate::domain::audit::{Actor, AuditAction, Target};
use crate::domain::two_factor::{
    AuthenticationCode, FactorKind, RECOVERY_CODE_COUNT, RecoveryCode, SecondFactor, TotpSecret, TwoFactorKeys,
};
use crate::domain::user::Email;
use crate::error::AppError;
use crate::store::organizations::{self, Organization};
use crate::store::two_factor::{self as store, Enrolment};
use crate::store::users::User;
use crate::store::{DbConnection, audit, sessions};

/// How long a secret being set up is kept: a page left open longer shows a
/// new one.
pub const SETUP_LIFETIME: TimeDelta = TimeDelta::hours(1);

/// A secret being set up, opened for the page that shows it.
pub struct PendingSetup {
    /// Sent back by the form, so it confirms the secret it showed.
    pub id: String,
    pub secret: TotpSecret,
}

fn seal_error(error: crate::domain::two_factor::SealBroken) -> AppError {
    AppError::unexpected(error)
}

fn unix_seconds(at: NaiveDateTime) -> u64 {
    u64::try_from(at.and_utc().timestamp()).unwrap_or(0)
}

/// The user's secret being set up: the one started within
/// [`SETUP_LIFETIME`], else a new one. Two pages opened at once show the
/// same secret, so neither is left with a QR code that cannot be confirmed.
pub fn start_setup(
    conn: &mut DbConnection,
    keys: &TwoFactorKeys,
    user_id: &str,
    now: NaiveDateTime,
) -> Result<PendingSetup, AppError> {
    store::delete_stale_enrolment(conn, user_id, now - SETUP_LIFETIME)?;
    let fresh = Enrolment {
        user_id: user_id.to_owned(),
        id: crate::store::new_id(),
        secret: keys.seal(user_id, &TotpSecret::generate()).map_err(seal_error)?,
        created_at: now,
    };
    store::insert_enrolment_unless_one_exists(conn, &fresh)?;
    let enrolment = store::find_enrolment(conn, user_id)?.ok_or(diesel::result::Error::NotFound)?;
    Ok(PendingSetup {
        secret: keys.open(user_id, &enrolment.secret).map_err(seal_error)?,
        id: enrolment.id,
    })
}

/// Turns two-factor authentication on with the secret being set up, if
/// `code` is its current code, and returns the new recovery codes (shown
/// once, stored only as digests). A refusal is a `Validation` whose message
/// goes beside the code field.
pub fn confirm_setup(
    conn: &mut DbConnection,
    keys: &TwoFactorKeys,
    user: &User,
    setup_id: &str,
    code: &AuthenticationCode,
    client_ip: Option<IpAddr>,
    now: NaiveDateTime,
) -> Result<Vec<RecoveryCode>, AppError> {
    if user.totp_enabled_at.is_some() {
        return Err(AppError::Conflict(
            "Two-factor authentication is already on for your account.".to_owned(),
        ));
    }
    let Some(enrolment) = store::find_enrolment(conn, &user.id)?.filter(|e| e.created_at >= now - SETUP_LIFETIME)
    else {
        return Err(AppError::Validation(
            "This setup has expired or was finished in another window. Scan the QR code shown now and enter its code."
                .to_owned(),
        ));
    };
    if enrolment.id != setup_id {
        return Err(AppError::Validation(
            "This setup was restarted in another window: scan the QR code shown now and enter its code.".to_owned(),
        ));
    }
    let secret = keys.open(&user.id, &enrolment.secret).map_err(seal_error)?;
    let Some(step) = secret.matching_step(code, unix_seconds(now)) else {
        return Err(AppError::Validation(
            "That code does not match. Enter the code your authenticator app shows now for Keyward, and check that your device's clock is right."
                .to_owned(),
        ));
    };
    if !store::take_enrolment(conn, &user.id, &enrolment.id)? {
        return Err(AppError::Validation(
            "This setup was finished in another window. Scan the QR code shown now and enter its code.".to_owned(),
        ));
    }
    let step = i64::try_from(step).map_err(AppError::unexpected)?;
    if !store::enable(conn, &user.id, &enrolment.secret, step, now)? {
        return Err(AppError::Conflict(
            "Two-factor authentication is already on for your account.".to_owned(),
        ));
    }
    let codes = new_recovery_codes(conn, keys, &user.id, now)?;
    record_own(
        conn,
        user,
        AuditAction::TwoFactorEnabled,
        serde_json::json!({
            "before": { "two_factor": false },
            "after": { "two_factor": true, "unused_recovery_codes": codes.len() },
        }),
        client_ip,
    )?;
    Ok(codes)
}

fn new_recovery_codes(
    conn: &mut DbConnection,
    keys: &TwoFactorKeys,
    user_id: &str,
    now: NaiveDateTime,
) -> Result<Vec<RecoveryCode>, AppError> {
    let codes = RecoveryCode::generate_set();
    let digests: Vec<String> = codes.iter().map(|code| keys.recovery_digest(user_id, code)).collect();
    store::replace_recovery_codes(conn, user_id, &digests, now)?;
    Ok(codes)
}

fn actor_of(user: &User) -> Actor {
    Actor::User {
        id: user.id.clone(),
        email: user.email.clone(),
    }
}

/// Records what `user` did to their own two-factor authentication (or, for
/// `service::step_up`, to prove who they are).
pub(crate) fn record_own(
    conn: &mut DbConnection,
    user: &User,
    action: AuditAction,
    details: serde_json::Value,
    client_ip: Option<IpAddr>,
) -> Result<(), AppError> {
    audit::record(
        conn,
        Some(&user.org_id),
        &actor_of(user),
        action,
        Some(&Target::user(&user.id, &user.email)),
        details,
        client_ip,
    )?;
    Ok(())
}

/// Why a second factor was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Wrong,
    /// Right, but spent: the code's time step was used, or the recovery code.
    AlreadyUsed,
}

impl Refused {
    fn as_str(self) -> &'static str {
        match self {
            Self::Wrong => "wrong",
            Self::AlreadyUsed => "already_used",
        }
    }

    /// What the page says beside the field.
    pub fn message(self, kind: FactorKind) -> &'static str {
        match (self, kind) {
            (Self::Wrong, FactorKind::AuthenticationCode) => {
                "That code is not right. Enter the code your authenticator app shows now for Keyward, and check that your device's clock is right."
            }
            (Self::AlreadyUsed, FactorKind::AuthenticationCode) => {
                "That code was used already: each code works once. Wait for your app to show the next one and enter it."
            }
            (Self::Wrong, FactorKind::RecoveryCode) => "That is not one of your recovery codes.",
            (Self::AlreadyUsed, FactorKind::RecoveryCode) => {
                "That recovery code was used already: each one works once. Enter another."
            }
        }
    }
}

/// Why a second factor is asked for, as the audit log says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    SignIn,
    TurnOff,
    RegenerateRecoveryCodes,
    /// Confirming it's you before a dangerous action (`service::step_up`).
    StepUp,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::TurnOff => "turn_off",
            Self::RegenerateRecoveryCodes => "regenerate_recovery_codes",
            Self::StepUp => "step_up",
        }
    }
}

/// Whether `factor` is right for the user now, spending it if so: a code's
/// time step (within one step of skew either way) can be used once, later
/// steps only after earlier ones; a recovery code once.
fn check(
    conn: &mut DbConnection,
    keys: &TwoFactorKeys,
    user_id: &str,
    factor: &SecondFactor,
    now: NaiveDateTime,
) -> Result<Result<(), Refused>, AppError> {
    match factor {
        SecondFactor::Code(code) => {
            let Some(sealed) = store::sealed_secret(conn, user_id)? else {
                return Ok(Err(Refused::Wrong));
            };
            let secret = keys.open(user_id, &sealed).map_err(seal_error)?;
            let Some(step) = secret.matching_step(code, unix_seconds(now)) else {
                return Ok(Err(Refused::Wrong));
            };
            let step = i64::try_from(step).map_err(AppError::unexpected)?;
            Ok(if store::use_step(conn, user_id, step)? {
                Ok(())
            } else {
                Err(Refused::AlreadyUsed)
            })
        }
        SecondFactor::Recovery(code) => {
            let digest = keys.recovery_digest(user_id, code);
            if store::use_recovery_code(conn, user_id, &digest, now)? {
                return Ok(Ok(()));
            }
            Ok(Err(if store::recovery_code_was_used(conn, user_id, &digest)? {
                Refused::AlreadyUsed
            } else {
                Refused::Wrong
            }))
        }
    }
}

/// Verifies the user's second factor: the one way it is checked. Each try
/// is a sign-in attempt for the throttle (reserved before the check, so a
/// burst of guesses in parallel gets no more tries than the limit, and
/// `TooManyRequests` once it is spent); a refusal is audited, and a
/// recovery code used. Runs inside a write transaction that is committed
/// whatever the answer, so a refusal stays counted.
pub fn verify(
    conn: &mut DbConnection,
    keys: &TwoFactorKeys,
    user: &User,
    factor: &SecondFactor,
    purpose: Purpose,
    client_ip: IpAddr,
    now: NaiveDateTime,
) -> Result<Result<(), Refused>, AppError> {
    let email = Email::parse(&user.email)?;
    let reservation = throttle::reserve(conn, &email, client_ip, now)?;
    let checked = check(conn, keys, &user.id, factor, now)?;
    match checked {
        Ok(()) => {
            throttle::record_success(conn, &email, reservation)?;
            if factor.kind() == FactorKind::RecoveryCode {
                let unused = store::unused_recovery_codes(conn, &user.id)?;
                record_own(
                    conn,
                    user,
                    AuditAction::RecoveryCodeUsed,
                    serde_json::json!({
                        "during": purpose.as_str(),
                        "before": { "unused_recovery_codes": unused + 1 },
                        "after": { "unused_recovery_codes": unused },
                    }),
                    Some(client_ip),
                )?;
            }
        }
        Err(refused) => {
            record_own(
                conn,
                user,
                AuditAction::TwoFactorCodeFailed,
                serde_json::json!({
                    "during": purpose.as_str(),
                    "factor": factor.kind().as_str(),
                    "reason": refused.as_str(),
                }),
                Some(client_ip),
            )?;
        }
    }
    Ok(checked)
}

/// The refusal when two-factor authentication is off and a page asks to
/// change it.
fn not_on() -> AppError {
    AppError::Validation(
        "Two-factor authentication is not on for your account, so there is nothing to change. Set it up first."
            .to_owned(),
    )
}

/// Turns the user's two-factor authentication off, if `factor` verifies.
pub fn turn_off(
    conn: &mut DbConnection,
    keys: &TwoFactorKeys,
    user: &User,
    factor: &SecondFactor,
    client_ip: IpAddr,
    now: NaiveDateTime,
) -> Result<Result<(), Refused>, AppError> {
    if user.totp_enabled_at.is_none() {
        return Err(not_on());
    }
    if let Err(refused) = verify(conn, keys, user, factor, Purpose::TurnOff, client_ip, now)? {
        return Ok(Err(refused));
    }
    let unused = store::unused_recovery_codes(conn, &user.id)?;
    store::disable(conn, &user.id)?;
    record_own(
        conn,
        user,
        AuditAction::TwoFactorDisabled,
        serde_json::json!({
            "before": { "two_factor": true, "unused_recovery_codes": unused },
            "after": { "two_factor": false, "unused_recovery_codes": 0 },
        }),
        Some(client_ip),
    )?;
    Ok(Ok(()))
}

/// Replaces the user's recovery codes with new ones, if `factor` verifies;
/// the old ones stop working.
pub fn regenerate_recovery_codes(
    conn: &mut DbConnection,
    keys: &TwoFactorKeys,
    user: &User,
    factor: &SecondFactor,
    client_ip: IpAddr,
    now: NaiveDateTime,
) -> Result<Result<Vec<RecoveryCode>, Refused>, AppError> {
    if user.totp_enabled_at.is_none() {
        return Err(not_on());
    }
    if let Err(refused) = verify(
        conn,
        keys,
        user,
        factor,
        Purpose::RegenerateRecoveryCodes,
        client_ip,
        now,
    )? {
        return Ok(Err(refused));
    }
    let unused = store::unused_recovery_codes(conn, &user.id)?;
    let codes = new_recovery_codes(conn, keys, &user.id, now)?;
    record_own(
        conn,
        user,
        AuditAction::RecoveryCodesRegenerated,
        serde_json::json!({
            "before": { "unused_recovery_codes": unused },
            "after": { "unused_recovery_codes": codes.len() },
        }),
        Some(client_ip),
    )?;
    debug_assert_eq!(codes.len(), RECOVERY_CODE_COUNT);
    Ok(Ok(codes))
}

/// Sets the organization's rule that its System Administrators use
/// two-factor authentication. Turning it on needs the acting administrator
/// to have it on themselves (as GitHub asks), so the rule never starts by
/// sending its author away. Returns whether the rule changed.
pub fn set_requirement(
    conn: &mut DbConnection,
    org: &Organization,
    actor: &User,
    require: bool,
    client_ip: Option<IpAddr>,
) -> Result<bool, AppError> {
    if require && actor.totp_enabled_at.is_none() {
        return Err(AppError::Validation(
            "Set up two-factor authentication for your own account first: then require it of the other System Administrators."
                .to_owned(),
        ));
    }
    let before = organizations::set_require_totp(conn, &org.id, require)?;
    if before == require {
        return Ok(false);
    }
    audit::record(
        conn,
        Some(&org.id),
        &actor_of(actor),
        AuditAction::TwoFactorRequirementChanged,
        Some(&Target::organization(&org.id, &org.name)),
        serde_json::json!({
            "before": { "require_two_factor_for_system_administrators": before },
            "after": { "require_two_factor_for_system_administrators": require },
        }),
        client_ip,
    )?;
    Ok(true)
}

/// Turns a user's two-factor authentication off without a code, for the
/// one who lost both their phone and their recovery codes, and ends every
/// session they have (on every instance: sessions live in the database).
/// Returns false, changing nothing, if it was off.
pub fn reset(conn: &mut DbConnection, user: &User, actor: &Actor, client_ip: Option<IpAddr>) -> Result<bool, AppError> {
    if user.totp_enabled_at.is_none() {
        return Ok(false);
    }
    let unused = store::unused_recovery_codes(conn, &user.id)?;
    store::disable(conn, &user.id)?;
    let sessions_ended = sessions::delete_for_user(conn, &user.id)?;
    audit::record(
        conn,
        Some(&user.org_id),
        actor,
        AuditAction::TwoFactorReset,
        Some(&Target::user(&user.id, &user.email)),
        serde_json::json!({
            "reason": "reset",
            "sessions_ended": sessions_ended,
            "before": { "two_factor": true, "unused_recovery_codes": unused },
            "after": { "two_factor": false, "unused_recovery_codes": 0 },
        }),
        client_ip,
    )?;
    Ok(true)
}

/// What the account page says of a user's two-factor authentication.
pub struct Status {
    pub enabled_at: Option<NaiveDateTime>,
    pub unused_recovery_codes: i64,
}

pub fn status(conn: &mut DbConnection, user: &User) -> Result<Status, AppError> {
    Ok(Status {
        enabled_at: user.totp_enabled_at,
        unused_recovery_codes: store::unused_recovery_codes(conn, &user.id)?,
    })
}
