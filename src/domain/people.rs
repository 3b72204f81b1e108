//! People administration's rules: what a one-time link is for and how long
//! it lasts, what a user's status is, and the last System Administrator.

use chrono::{NaiveDateTime, TimeDelta};

use super::ValidationError;
use super::role::Role;

/// What a one-time link lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Accept an invitation: set a name and a first password.
    Invitation,
    /// Set a new password.
    PasswordReset,
}

impl LinkPurpose {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Invitation => "invitation",
            LinkPurpose::PasswordReset => "password_reset",
        }
    }

    /// How long the link works after it is issued.
    pub fn validity(self) -> TimeDelta {
        match self {
            LinkPurpose::Invitation => TimeDelta::hours(24),
            LinkPurpose::PasswordReset => TimeDelta::hours(1),
        }
    }

    /// "24 hours", "1 hour": as the pages and the command line say it.
    pub fn validity_words(self) -> &'static str {
        match self {
            LinkPurpose::Invitation => "24 hours",
            LinkPurpose::PasswordReset => "1 hour",
        }
    }

    /// The page the link opens, with `?token=…` after it.
    pub fn path(self) -> &'static str {
        match self {
            LinkPurpose::Invitation => "/invitation",
            LinkPurpose::PasswordReset => "/password-reset",
        }
    }
}

/// Why a link cannot be used: each gets its own clear page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    /// No such link (or one of another purpose).
    Unknown,
    Used,
    Expired,
    /// Its user was disabled since.
    UserDisabled,
}

impl LinkRefusal {
    /// Judges a link found for `purpose` at `now`.
    pub fn judge(
        used_at: Option<NaiveDateTime>,
        expires_at: NaiveDateTime,
        user_disabled: bool,
        now: NaiveDateTime,
    ) -> Result<(), Self> {
        if used_at.is_some() {
            Err(LinkRefusal::Used)
        } else if user_disabled {
            Err(LinkRefusal::UserDisabled)
        } else if expires_at <= now {
            Err(LinkRefusal::Expired)
        } else {
            Ok(())
        }
    }

    /// What the page says; it reveals nothing the holder of the link does not know.
    pub fn message(self, purpose: LinkPurpose) -> &'static str {
        match (self, purpose) {
            (LinkRefusal::Unknown, _) => {
                "This link is not valid. Check that you copied all of it, or ask a System Administrator for a new one."
            }
            (LinkRefusal::Used, LinkPurpose::Invitation) => {
                "This invitation has already been accepted. Sign in with the password you chose."
            }
            (LinkRefusal::Used, LinkPurpose::PasswordReset) => {
                "This password-reset link has already been used. Each link works once: ask a System Administrator for a new one."
            }
            (LinkRefusal::Expired, LinkPurpose::Invitation) => {
                "This invitation has expired: it worked for 24 hours. Ask a System Administrator to send you a new invitation link."
            }
            (LinkRefusal::Expired, LinkPurpose::PasswordReset) => {
                "This password-reset link has expired: it worked for 1 hour. Ask a System Administrator for a new one."
            }
            (LinkRefusal::UserDisabled, _) => {
                "This account is disabled, so the link no longer works. Ask a System Administrator of your organization to enable it."
            }
        }
    }
}

/// What the Users table says of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    Active,
    /// Invited and not yet accepted.
    Invited,
    Disabled,
}

impl UserStatus {
    pub fn of(disabled_at: Option<NaiveDateTime>, invited_at: Option<NaiveDateTime>) -> Self {
        match (disabled_at, invited_at) {
            (Some(_), _) => UserStatus::Disabled,
            (None, Some(_)) => UserStatus::Invited,
            (None, None) => UserStatus::Active,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            UserStatus::Active => "Active",
            UserStatus::Invited => "Invited",
            UserStatus::Disabled => "Disabled",
        }
    }
}

/// Refuses a change that would leave the organization without an active
/// System Administrator: `others` counts the active ones besides the user
/// changed, `keeps_admin` whether the user is still one after the change.
pub fn keep_a_system_administrator(
    current_role: Role,
    active: bool,
    keeps_admin: bool,
    others: i64,
) -> Result<(), ValidationError> {
    if current_role == Role::SystemAdministrator && active && !keeps_admin && others == 0 {
        return Err(ValidationError::new(
            "This is the organization's last System Administrator: make someone else a System Administrator first.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_system_administrator_stays_one() {
        let sysadmin = Role::SystemAdministrator;
        assert!(keep_a_system_administrator(sysadmin, true, false, 0).is_err());
        assert!(keep_a_system_administrator(sysadmin, true, false, 1).is_ok());
        assert!(keep_a_system_administrator(sysadmin, true, true, 0).is_ok());
        assert!(keep_a_system_administrator(sysadmin, false, false, 0).is_ok());
        assert!(keep_a_system_administrator(Role::Member, true, false, 0).is_ok());
    }

    #[test]
    fn a_link_is_refused_once_used_disabled_or_expired() {
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .expect("instant")
            .naive_utc();
        let later = now + TimeDelta::minutes(1);
        assert_eq!(LinkRefusal::judge(None, later, false, now), Ok(()));
        assert_eq!(LinkRefusal::judge(Some(now), later, false, now), Err(LinkRefusal::Used));
        assert_eq!(
            LinkRefusal::judge(None, later, true, now),
            Err(LinkRefusal::UserDisabled)
        );
        assert_eq!(LinkRefusal::judge(None, now, false, now), Err(LinkRefusal::Expired));
        assert_eq!(LinkPurpose::Invitation.validity(), TimeDelta::hours(24));
        assert_eq!(LinkPurpose::PasswordReset.validity(), TimeDelta::hours(1));
    }
}
