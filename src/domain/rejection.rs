//! Why a request's API key was refused: the stable codes, the HTTP status
//! each means and the message shown to the caller.

use std::net::IpAddr;

use crate::domain::scope::Action;

/// Why a request's key was refused. Codes are a stable contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRejection {
    MissingKey,
    ConflictingKeys,
    QueryKeyNotAllowed,
    InvalidKey(String),
    KeyRevoked,
    KeyExpired(String),
    KeyDisabled,
    IpNotAllowed(IpAddr),
    InsufficientScope {
        action: Action,
        resource: String,
    },
    /// The gateway check: no route of the route map matches the request.
    RouteNotMapped {
        method: String,
        uri: String,
    },
    /// The client's address has presented too many unknown keys.
    TooManyInvalidKeys {
        retry_after_secs: u64,
    },
}

impl KeyRejection {
    /// Every code `code` gives, one per variant (the metrics register a
    /// series for each before the first request).
    pub const CODES: [&'static str; 11] = [
        "missing_key",
        "conflicting_keys",
        "query_key_not_allowed",
        "invalid_key",
        "key_revoked",
        "key_expired",
        "key_disabled",
        "ip_not_allowed",
        "insufficient_scope",
        "route_not_mapped",
        "too_many_invalid_keys",
    ];

    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingKey => "missing_key",
            Self::ConflictingKeys => "conflicting_keys",
            Self::QueryKeyNotAllowed => "query_key_not_allowed",
            Self::InvalidKey(_) => "invalid_key",
            Self::KeyRevoked => "key_revoked",
            Self::KeyExpired(_) => "key_expired",
            Self::KeyDisabled => "key_disabled",
            Self::IpNotAllowed(_) => "ip_not_allowed",
            Self::InsufficientScope { .. } => "insufficient_scope",
            Self::RouteNotMapped { .. } => "route_not_mapped",
            Self::TooManyInvalidKeys { .. } => "too_many_invalid_keys",
        }
    }

    /// The HTTP status this refusal is answered with (`error.rs` turns it
    /// into the framework's type).
    pub fn http_status(&self) -> u16 {
        match self {
            Self::ConflictingKeys => 400,
            Self::TooManyInvalidKeys { .. } => 429,
            Self::IpNotAllowed(_) | Self::InsufficientScope { .. } | Self::RouteNotMapped { .. } => 403,
            _ => 401,
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::MissingKey => "No API key was sent. Send it in the X-API-Key header (or as Authorization: Bearer).".into(),
            Self::ConflictingKeys => "Two different API keys were sent in one request. Send exactly one.".into(),
            Self::QueryKeyNotAllowed => "This key may not be sent in the URL, where it would end up in logs and histories. Send it in the X-API-Key header.".into(),
            Self::InvalidKey(why) => format!("The API key is not valid: {why}."),
            Self::KeyRevoked => "This API key has been revoked. Ask an administrator for a new key.".into(),
            Self::KeyExpired(why) => why.clone(),
            Self::KeyDisabled => "This API key is disabled. An administrator can enable it again.".into(),
            Self::IpNotAllowed(ip) => format!("This API key may not be used from {ip}. An administrator can add your network to the key's allowed networks."),
            Self::InsufficientScope { action, resource } => format!(
                "This API key lacks the scope this request needs: {} on {resource}.",
                action.as_str()
            ),
            Self::RouteNotMapped { method, uri } => {
                format!("No gateway route allows {method} {uri}. Routes without an entry in the route map are refused.")
            }
            Self::TooManyInvalidKeys { retry_after_secs } => format!(
                "Too many unknown API keys came from your address. Check the key you send, and try again in {retry_after_secs} s."
            ),
        }
    }
}

/// What people read for a rejection code on the usage pages (the usage
/// buckets store the code); `None` for a code this version does not know.
pub fn label_of_code(code: &str) -> Option<&'static str> {
    Some(match code {
        "missing_key" => "No key sent",
        "conflicting_keys" => "Two different keys sent",
        "query_key_not_allowed" => "Key sent in the URL",
        "invalid_key" => "Invalid key",
        "key_revoked" => "Key revoked",
        "key_expired" => "Key expired",
        "key_disabled" => "Key disabled",
        "ip_not_allowed" => "Address not allowed",
        "insufficient_scope" => "Missing scope",
        "route_not_mapped" => "Route not in the route map",
        "too_many_invalid_keys" => "Too many unknown keys",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_has_a_label_of_its_own() {
        let every = [
            KeyRejection::MissingKey,
            KeyRejection::ConflictingKeys,
            KeyRejection::QueryKeyNotAllowed,
            KeyRejection::InvalidKey("bad checksum".into()),
            KeyRejection::KeyRevoked,
            KeyRejection::KeyExpired("expired".into()),
            KeyRejection::KeyDisabled,
            KeyRejection::IpNotAllowed(IpAddr::from([10, 0, 0, 1])),
            KeyRejection::InsufficientScope {
                action: Action::Read,
                resource: "assets".into(),
            },
            KeyRejection::RouteNotMapped {
                method: "GET".into(),
                uri: "/".into(),
            },
            KeyRejection::TooManyInvalidKeys { retry_after_secs: 60 },
        ];
        let mut labels: Vec<&str> = every
            .iter()
            .map(|rejection| {
                label_of_code(rejection.code()).unwrap_or_else(|| panic!("{} has no label", rejection.code()))
            })
            .collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), every.len(), "two refusals share a label: {labels:?}");
        let mut codes: Vec<&str> = every.iter().map(KeyRejection::code).collect();
        codes.sort_unstable();
        let mut listed = KeyRejection::CODES.to_vec();
        listed.sort_unstable();
        assert_eq!(codes, listed, "KeyRejection::CODES lists every code once");
        assert_eq!(label_of_code("something_new"), None);
    }
}
