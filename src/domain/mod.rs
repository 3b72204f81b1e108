//! Pure types and rules, no I/O. Input is parsed into these once, at the edge;
//! nothing below a handler takes a raw string for a name, email or role.

pub mod api_key;
pub mod audit;
pub mod audit_change;
pub mod filter;
pub mod form_token;
pub mod grant;
pub mod network;
pub mod organization;
pub mod people;
pub mod permissions;
pub mod public_url;
pub mod rejection;
pub mod role;
pub mod routes;
pub mod scope;
pub mod secret;
pub mod time;
pub mod token;
pub mod two_factor;
pub mod user;

/// Why a value was refused. `Display` is safe to show the user and says how to
/// fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValidationError(pub String);

impl ValidationError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// `raw` as it was written, refused when it begins or ends with white space.
/// The forms and the CLI trim what people type; the API reads exactly what
/// a program sent, as its OpenAPI document describes it.
pub fn as_written(raw: &str) -> Result<&str, ValidationError> {
    if raw.trim() == raw {
        Ok(raw)
    } else {
        Err(ValidationError::new(format!(
            "{raw:?} begins or ends with white space: send it without."
        )))
    }
}
