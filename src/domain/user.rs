//! A user's email, display name and password, as validated values.

use std::fmt;

use validator::ValidateEmail;

use super::ValidationError;

/// A syntactically valid email address, trimmed and lower-cased (sign-in is
/// case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(ValidationError::new("Enter an email address."));
        }
        if email.chars().count() > Self::MAX_LEN {
            return Err(ValidationError::new(format!(
                "That email address is too long: at most {} characters.",
                Self::MAX_LEN
            )));
        }
        if !email.validate_email() {
            return Err(ValidationError::new(
                "That is not an email address: it should look like name@example.com.",
            ));
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a person is shown in the backoffice and the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_LEN: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(ValidationError::new("Enter a name."));
        }
        if name.chars().count() > Self::MAX_LEN {
            return Err(ValidationError::new(format!(
                "That name is too long: at most {} characters.",
                Self::MAX_LEN
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(ValidationError::new("A name cannot contain control characters."));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password as typed; never printed.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_LEN: usize = 12;
    pub const MAX_LEN: usize = 1024;

    pub fn parse(raw: String) -> Result<Self, ValidationError> {
        let length = raw.chars().count();
        if length < Self::MIN_LEN {
            return Err(ValidationError::new(format!(
                "The password is too short: use at least {} characters.",
                Self::MIN_LEN
            )));
        }
        if length > Self::MAX_LEN {
            return Err(ValidationError::new(format!(
                "The password is too long: at most {} characters.",
                Self::MAX_LEN
            )));
        }
        Ok(Self(raw))
    }

    /// A random password for generated accounts (demo, CLI without stdin).
    pub fn generate() -> Self {
        use rand::RngExt as _;
        let password: String = rand::rng()
            .sample_iter(rand::distr::Alphanumeric)
            .take(20)
            .map(char::from)
            .collect();
        Self(password)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").map(|e| e.to_string()),
            Ok("ada@example.com".into())
        );
        assert!(Email::parse("").is_err());
        assert!(Email::parse("not-an-email").is_err());
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(10_000))).is_err());
    }

    #[test]
    fn passwords_have_bounds_and_never_print() {
        assert!(NewPassword::parse("short".into()).is_err());
        assert!(NewPassword::parse("x".repeat(1025)).is_err());
        let password = NewPassword::parse("correct horse battery".into()).expect("valid");
        assert_eq!(format!("{password:?}"), "NewPassword(<redacted>)");
        assert_eq!(NewPassword::generate().expose().len(), 20);
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(
            DisplayName::parse(" Ada ").map(|n| n.as_str().to_owned()),
            Ok("Ada".into())
        );
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"a".repeat(101)).is_err());
    }
}
