//! What a key may give: never more than it holds. A key that manages keys
//! over the API can only create, change, enable or rotate keys whose scopes
//! its own scopes cover, whose networks lie inside its own, that may travel
//! in the URL only if it may itself, and that stop working no later than it
//! does.

use chrono::NaiveDateTime;

use super::network::NetworkList;
use super::scope::ScopeSet;

/// What a key allows: its scopes, networks and the URL-query option, until
/// `until` (UTC; `None`: for ever).
#[derive(Debug, Clone, Copy)]
pub struct Grant<'a> {
    pub scopes: &'a ScopeSet,
    pub networks: &'a NetworkList,
    pub allow_query_key: bool,
    pub until: Option<NaiveDateTime>,
}

/// The earlier of two ends, `None` being never.
pub fn earliest(a: Option<NaiveDateTime>, b: Option<NaiveDateTime>) -> Option<NaiveDateTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// Why a key may not give a grant, naming what it lacks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Escalation {
    #[error(
        "This API key cannot give {0}: a key can only create, change or rotate keys whose scopes its own scopes cover."
    )]
    Scopes(String),
    #[error(
        "This API key cannot allow {0}: a key can only create, change or rotate keys whose networks lie inside its own ({1})."
    )]
    Networks(String, String),
    #[error(
        "This API key cannot allow a key in the URL query: it may not travel in the URL itself, so it cannot create, change or rotate keys that may."
    )]
    QueryKey,
    #[error(
        "This API key cannot give a key that works past {0} UTC, when this key itself stops working: set an expiry no later than that."
    )]
    Expiry(String),
}

impl Escalation {
    /// Stable code for problem+json answers.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Scopes(_) => "scope_escalation",
            Self::Networks(..) => "network_escalation",
            Self::QueryKey => "query_key_escalation",
            Self::Expiry(_) => "expiry_escalation",
        }
    }
}

impl Grant<'_> {
    /// Whether a key holding `self` may give `wanted`; if not, what it lacks.
    pub fn may_give(&self, wanted: &Grant<'_>) -> Result<(), Escalation> {
        let scopes = self.scopes.uncovered(wanted.scopes);
        if !scopes.is_empty() {
            let named: Vec<String> = scopes.iter().map(ToString::to_string).collect();
            return Err(Escalation::Scopes(named.join(", ")));
        }
        let networks = self.networks.uncovered(wanted.networks);
        if !networks.is_empty() {
            let named: Vec<String> = networks.iter().map(ToString::to_string).collect();
            let held: Vec<String> = self.networks.iter().map(ToString::to_string).collect();
            return Err(Escalation::Networks(named.join(", "), held.join(", ")));
        }
        if wanted.allow_query_key && !self.allow_query_key {
            return Err(Escalation::QueryKey);
        }
        if let Some(limit) = self.until
            && wanted.until.is_none_or(|until| until > limit)
        {
            return Err(Escalation::Expiry(limit.format("%Y-%m-%d %H:%M:%S").to_string()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::scope::Scope;

    fn scopes(raw: &[&str]) -> ScopeSet {
        ScopeSet::new(raw.iter().map(|s| Scope::parse_pair(s).expect("valid")).collect()).expect("valid")
    }

    #[test]
    fn a_key_gives_only_what_it_holds_and_says_what_it_lacks() {
        let (held_scopes, held_networks) = (
            scopes(&["admin:api-keys", "read:flights"]),
            NetworkList::parse_lines("10.0.0.0/8").expect("valid"),
        );
        let holder = Grant {
            scopes: &held_scopes,
            networks: &held_networks,
            allow_query_key: false,
            until: None,
        };
        let narrower_scopes = scopes(&["read:flights/1"]);
        let narrower_networks = NetworkList::parse_lines("10.1.0.0/16").expect("valid");
        let narrower = Grant {
            scopes: &narrower_scopes,
            networks: &narrower_networks,
            allow_query_key: false,
            until: None,
        };
        assert_eq!(holder.may_give(&narrower), Ok(()));
        assert_eq!(holder.may_give(&holder), Ok(()), "a key may keep what it has");

        let wider_scopes = scopes(&["read:flights", "write:flights", "*:*"]);
        let refused = holder
            .may_give(&Grant {
                scopes: &wider_scopes,
                ..narrower
            })
            .expect_err("wider scopes");
        assert_eq!(refused.code(), "scope_escalation");
        assert!(refused.to_string().contains("write on flights, * on *"), "{refused}");

        let anywhere = NetworkList::allow_all();
        let refused = holder
            .may_give(&Grant {
                networks: &anywhere,
                ..narrower
            })
            .expect_err("wider networks");
        assert_eq!(refused.code(), "network_escalation");
        assert!(refused.to_string().contains("0.0.0.0/0, ::/0") && refused.to_string().contains("(10.0.0.0/8)"));

        let refused = holder
            .may_give(&Grant {
                allow_query_key: true,
                ..narrower
            })
            .expect_err("query option");
        assert_eq!(refused, Escalation::QueryKey);
    }
}
