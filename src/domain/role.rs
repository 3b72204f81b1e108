//! The three roles of a user within their organization.

use std::fmt;
use std::str::FromStr;

use super::ValidationError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    SystemAdministrator,
    Administrator,
    Member,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::SystemAdministrator, Role::Administrator, Role::Member];

    /// The stored and command-line spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::SystemAdministrator => "system-administrator",
            Role::Administrator => "administrator",
            Role::Member => "member",
        }
    }

    /// The name people read.
    pub fn label(self) -> &'static str {
        match self {
            Role::SystemAdministrator => "System Administrator",
            Role::Administrator => "Administrator",
            Role::Member => "Member",
        }
    }
}

impl FromStr for Role {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s.trim())
            .ok_or_else(|| {
                ValidationError::new(format!(
                    "unknown role \"{s}\": use system-administrator, administrator or member"
                ))
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_stored_spelling() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
