//! Who did what, for the audit log.

use std::fmt;

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in person: id and email.
    User { id: String, email: String },
    /// An API key using the management API.
    ApiKey {
        api_key_id: String,
        key_id: String,
        name: String,
    },
    /// A provisioning command on the server.
    Cli,
    /// Keyward itself (first-run setup, demo seeding).
    System,
}

impl Actor {
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::User { .. } => "user",
            Actor::ApiKey { .. } => "api_key",
            Actor::Cli => "cli",
            Actor::System => "system",
        }
    }

    pub fn id(&self) -> Option<&str> {
        match self {
            Actor::User { id, .. } => Some(id),
            Actor::ApiKey { api_key_id, .. } => Some(api_key_id),
            Actor::Cli | Actor::System => None,
        }
    }

    /// The acting person, if a person acts.
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Actor::User { id, .. } => Some(id),
            _ => None,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::User { email, .. } => f.write_str(email),
            Actor::ApiKey { key_id, name, .. } => {
                write!(f, "API key {} ({name})", super::token::shown_key_id(key_id))
            }
            Actor::Cli => f.write_str("command line"),
            Actor::System => f.write_str("Keyward"),
        }
    }
}

/// What was done; the stored spelling is stable (exports and filters use it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    OrganizationCreated,
    UserCreated,
    SignedIn,
    SignInFailed,
    SignedOut,
    AccessDenied,
    ApiKeysBootstrapped,
    ApiKeyCreated,
    ApiKeyUpdated,
    ApiKeyEnabled,
    ApiKeyDisabled,
    ApiKeyRotated,
    ApiKeyRevoked,
    ApiKeyDeleted,
    TwoFactorEnabled,
    TwoFactorDisabled,
    RecoveryCodesRegenerated,
    RecoveryCodeUsed,
    TwoFactorCodeFailed,
    TwoFactorRequirementChanged,
}

impl AuditAction {
    pub const ALL: [AuditAction; 20] = [
        AuditAction::OrganizationCreated,
        AuditAction::UserCreated,
        AuditAction::SignedIn,
        AuditAction::SignInFailed,
        AuditAction::SignedOut,
        AuditAction::AccessDenied,
        AuditAction::ApiKeysBootstrapped,
        AuditAction::ApiKeyCreated,
        AuditAction::ApiKeyUpdated,
        AuditAction::ApiKeyEnabled,
        AuditAction::ApiKeyDisabled,
        AuditAction::ApiKeyRotated,
        AuditAction::ApiKeyRevoked,
        AuditAction::ApiKeyDeleted,
        AuditAction::TwoFactorEnabled,
        AuditAction::TwoFactorDisabled,
        AuditAction::RecoveryCodesRegenerated,
        AuditAction::RecoveryCodeUsed,
        AuditAction::TwoFactorCodeFailed,
        AuditAction::TwoFactorRequirementChanged,
    ];

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|action| action.as_str() == text)
    }

    /// The stored spelling with spaces, as the pages show it.
    pub fn label(self) -> String {
        self.as_str().replace('_', " ")
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::OrganizationCreated => "organization_created",
            AuditAction::UserCreated => "user_created",
            AuditAction::SignedIn => "signed_in",
            AuditAction::SignInFailed => "sign_in_failed",
            AuditAction::SignedOut => "signed_out",
            AuditAction::AccessDenied => "access_denied",
            AuditAction::ApiKeysBootstrapped => "api_keys_bootstrapped",
            AuditAction::ApiKeyCreated => "api_key_created",
            AuditAction::ApiKeyUpdated => "api_key_updated",
            AuditAction::ApiKeyEnabled => "api_key_enabled",
            AuditAction::ApiKeyDisabled => "api_key_disabled",
            AuditAction::ApiKeyRotated => "api_key_rotated",
            AuditAction::ApiKeyRevoked => "api_key_revoked",
            AuditAction::ApiKeyDeleted => "api_key_deleted",
            AuditAction::TwoFactorEnabled => "two_factor_enabled",
            AuditAction::TwoFactorDisabled => "two_factor_disabled",
            AuditAction::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            AuditAction::RecoveryCodeUsed => "recovery_code_used",
            AuditAction::TwoFactorCodeFailed => "two_factor_code_failed",
            AuditAction::TwoFactorRequirementChanged => "two_factor_requirement_changed",
        }
    }
}

/// What an event is about.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub kind: &'a str,
    pub id: &'a str,
    pub label: &'a str,
}

impl<'a> Target<'a> {
    pub fn organization(id: &'a str, name: &'a str) -> Self {
        Self {
            kind: "organization",
            id,
            label: name,
        }
    }

    pub fn user(id: &'a str, email: &'a str) -> Self {
        Self {
            kind: "user",
            id,
            label: email,
        }
    }
}
