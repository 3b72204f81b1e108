//! Who did what, for the audit log.

use std::fmt;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use super::scope::{Action, ResourceFilter, Scope};
use super::token::key_id_prefix;

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

/// The audit log's actions, one line each: variant, stored spelling (stable:
/// exports, filters and the API use it), the label the pages show, and the
/// group the Action filter files it under. A new action is one more line.
macro_rules! audit_actions {
    ($($variant:ident => $stored:literal, $label:literal, $group:ident;)*) => {
        /// What was done.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AuditAction {
            $($variant,)*
        }

        impl AuditAction {
            /// Every action, in the order the Action filter lists them.
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $stored,)*
                }
            }

            /// What the pages call it: "Key disabled".
            pub fn label(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $label,)*
                }
            }

            pub fn group(self) -> ActionGroup {
                match self {
                    $(AuditAction::$variant => ActionGroup::$group,)*
                }
            }
        }
    };
}

audit_actions! {
    ApiKeyCreated => "api_key_created", "Key created", KeyChanges;
    ApiKeyUpdated => "api_key_updated", "Key edited", KeyChanges;
    ApiKeyEnabled => "api_key_enabled", "Key enabled", KeyChanges;
    ApiKeyDisabled => "api_key_disabled", "Key disabled", KeyChanges;
    ApiKeyRotated => "api_key_rotated", "Key rotated", KeyChanges;
    ApiKeyRevoked => "api_key_revoked", "Key revoked", KeyChanges;
    ApiKeyDeleted => "api_key_deleted", "Key deleted", KeyChanges;
    SignedIn => "signed_in", "Signed in", SignIns;
    SignInFailed => "sign_in_failed", "Sign-in failed", SignIns;
    SignedOut => "signed_out", "Signed out", SignIns;
    AccessDenied => "access_denied", "Access refused", SignIns;
    OrganizationCreated => "organization_created", "Organization created", Organization;
    UserCreated => "user_created", "User created", Organization;
    ApiKeysBootstrapped => "api_keys_bootstrapped", "API keys set up", Organization;
    TwoFactorEnabled => "two_factor_enabled", "Two-factor turned on", SignIns;
    TwoFactorDisabled => "two_factor_disabled", "Two-factor turned off", SignIns;
    RecoveryCodesRegenerated => "recovery_codes_regenerated", "Recovery codes renewed", SignIns;
    RecoveryCodeUsed => "recovery_code_used", "Recovery code used", SignIns;
    TwoFactorCodeFailed => "two_factor_code_failed", "Authentication code refused", SignIns;
    TwoFactorRequirementChanged => "two_factor_requirement_changed", "Two-factor requirement changed", Organization;
    // People administration (issue 13 item 3).
    UserInvited => "user_invited", "User invited", Organization;
    InvitationAccepted => "invitation_accepted", "Invitation accepted", Organization;
    InvitationRenewed => "invitation_renewed", "Invitation link renewed", Organization;
    UserRoleChanged => "user_role_changed", "Role changed", Organization;
    UserDisabled => "user_disabled", "User disabled", Organization;
    UserEnabled => "user_enabled", "User enabled", Organization;
    TwoFactorReset => "two_factor_reset", "Two-factor reset", SignIns;
    PasswordResetIssued => "password_reset_issued", "Password reset issued", SignIns;
    PasswordResetUsed => "password_reset_used", "Password reset used", SignIns;
    IdentityConfirmed => "identity_confirmed", "Identity confirmed", SignIns;
    IdentityConfirmationFailed => "identity_confirmation_failed", "Identity not confirmed", SignIns;
}

impl AuditAction {
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|action| action.as_str() == text)
    }
}

/// How the Action filter groups the actions. `KeyChanges` is also the
/// "Key changes" preset: a key's lifecycle, without sign-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionGroup {
    KeyChanges,
    SignIns,
    Organization,
}

impl ActionGroup {
    pub const ALL: [ActionGroup; 3] = [ActionGroup::KeyChanges, ActionGroup::SignIns, ActionGroup::Organization];

    pub fn label(self) -> &'static str {
        match self {
            ActionGroup::KeyChanges => "Key changes",
            ActionGroup::SignIns => "Sign-ins and access",
            ActionGroup::Organization => "Organization",
        }
    }

    /// Its actions, in the table's order.
    pub fn actions(self) -> impl Iterator<Item = AuditAction> {
        AuditAction::ALL
            .iter()
            .copied()
            .filter(move |action| action.group() == self)
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

/// The audit log's query as the page and its export read it:
/// `?action=…&action=…&q=…&from=YYYY-MM-DD&to=YYYY-MM-DD&page=…`. `action`
/// may repeat (several actions); an empty one means none.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct AuditQuery {
    #[serde(default, rename = "action")]
    pub actions: Vec<String>,
    pub q: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub page: Option<i64>,
}

/// What the audit log shows, parsed from an [`AuditQuery`].
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Empty: every action.
    pub actions: Vec<AuditAction>,
    pub search: Option<AuditSearch>,
    /// From this time on.
    pub since: Option<NaiveDateTime>,
    /// Before this time.
    pub until: Option<NaiveDateTime>,
}

/// The audit log's Search: what the text matches.
#[derive(Debug, Clone)]
pub struct AuditSearch {
    /// Lower-cased: a substring of who acted, what the event is about or
    /// the client address.
    pub text: String,
    /// A key id, or its start, that the text spells: events about that key
    /// or done with it, whichever of its secrets the id is of.
    pub key_id_prefix: Option<String>,
    /// A scope the text spells (`write:assets`, `write on assets`): events
    /// whose settings before or after name it.
    pub scope: Option<Scope>,
}

impl AuditSearch {
    /// Longest search text kept.
    pub const MAX_LEN: usize = 200;

    pub fn parse(raw: &str) -> Option<Self> {
        let text: String = raw.trim().chars().take(Self::MAX_LEN).collect();
        if text.is_empty() {
            return None;
        }
        let scope = Scope::parse_pair(&text).ok().or_else(|| {
            let (action, filter) = text.split_once(" on ")?;
            Some(Scope {
                action: Action::parse(action).ok()?,
                filter: ResourceFilter::parse(filter).ok()?,
            })
        });
        Some(Self {
            key_id_prefix: key_id_prefix(&text).map(str::to_owned),
            scope,
            text: text.to_lowercase(),
        })
    }
}

/// The dates a filter accepts: four-digit years, as the page shows them.
/// (`%Y` also reads `+262142-12-31`, the last date chrono knows, whose next
/// day does not exist.)
const FIRST_DATE: NaiveDate = NaiveDate::from_ymd_opt(1, 1, 1).expect("a valid date");
const LAST_DATE: NaiveDate = NaiveDate::from_ymd_opt(9999, 12, 31).expect("a valid date");

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("\"{text}\" is not a date: enter it as YYYY-MM-DD, e.g. 2026-11-23."))?;
    if !(FIRST_DATE..=LAST_DATE).contains(&date) {
        return Err(format!(
            "\"{text}\" is out of range: enter a date from 0001-01-01 to 9999-12-31."
        ));
    }
    Ok(date)
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl AuditQuery {
    /// The actions asked for, as written (empty ones dropped).
    pub fn action_values(&self) -> impl Iterator<Item = &str> {
        self.actions.iter().map(|a| a.trim()).filter(|a| !a.is_empty())
    }

    /// Whether any filter is set (the page then says that nothing matched
    /// them, rather than that nothing was recorded).
    pub fn is_filtered(&self) -> bool {
        self.action_values().next().is_some() || [&self.q, &self.from, &self.to].iter().any(|v| non_empty(v).is_some())
    }

    /// The filter, or the message for each field (`action`, `from`, `to`)
    /// that is wrong.
    pub fn filter(&self) -> Result<AuditFilter, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let mut actions = Vec::new();
        for text in self.action_values() {
            match AuditAction::parse(text) {
                Some(action) if !actions.contains(&action) => actions.push(action),
                Some(_) => {}
                None if errors.iter().any(|(field, _)| *field == "action") => {}
                None => errors.push((
                    "action",
                    format!("\"{text}\" is not an action: tick the ones to show from the list."),
                )),
            }
        }
        let mut date = |field: &'static str, value: &Option<String>| {
            non_empty(value).and_then(|text| parse_date(text).map_err(|e| errors.push((field, e))).ok())
        };
        let from = date("from", &self.from);
        let to = date("to", &self.to);
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            errors.push((
                "to",
                "This date is before “From”: choose a later one, or swap them.".to_owned(),
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(AuditFilter {
            actions,
            search: self.q.as_deref().and_then(AuditSearch::parse),
            since: from.map(|d| d.and_time(NaiveTime::MIN)),
            // "To" is inclusive: everything before the next day.
            // Checked although parse_date bounds the year: no date from a URL may panic.
            until: to.map(|d| d.succ_opt().unwrap_or(d).and_time(NaiveTime::MIN)),
        })
    }

    /// The page asked for, bounded like the key list's: an absurd page is an
    /// empty one, not an overflow.
    pub fn page(&self) -> i64 {
        self.page.unwrap_or(1).clamp(1, 1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn query(actions: &[&str], q: Option<&str>) -> AuditQuery {
        AuditQuery {
            actions: actions.iter().map(|a| (*a).to_owned()).collect(),
            q: q.map(str::to_owned),
            ..AuditQuery::default()
        }
    }

    #[test]
    fn every_action_has_its_own_spelling_and_label_and_parses_back() {
        let stored: HashSet<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        let labels: HashSet<&str> = AuditAction::ALL.iter().map(|a| a.label()).collect();
        assert_eq!(stored.len(), AuditAction::ALL.len());
        assert_eq!(labels.len(), AuditAction::ALL.len());
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(*action));
        }
        assert_eq!(AuditAction::ApiKeyDisabled.label(), "Key disabled");
        let grouped: usize = ActionGroup::ALL.iter().map(|g| g.actions().count()).sum();
        assert_eq!(grouped, AuditAction::ALL.len(), "every action is in one group");
    }

    #[test]
    fn the_key_changes_group_is_the_key_lifecycle_without_sign_ins() {
        let key_changes: Vec<AuditAction> = ActionGroup::KeyChanges.actions().collect();
        assert_eq!(key_changes.len(), 7);
        assert!(key_changes.iter().all(|a| a.as_str().starts_with("api_key_")));
        assert!(!key_changes.contains(&AuditAction::SignedIn));
    }

    #[test]
    fn several_actions_are_read_once_each_and_empty_ones_mean_none() {
        let filter = query(&["api_key_created", "", "api_key_disabled", "api_key_created"], None)
            .filter()
            .expect("valid");
        assert_eq!(
            filter.actions,
            [AuditAction::ApiKeyCreated, AuditAction::ApiKeyDisabled]
        );
        assert!(query(&[""], None).filter().expect("valid").actions.is_empty());
        assert!(!query(&[""], None).is_filtered());
    }

    #[test]
    fn an_unknown_action_and_wrong_dates_are_refused_by_field() {
        let errors = query(&["api_key_created", "api_key.disable", "nope"], None)
            .filter()
            .expect_err("refused");
        assert_eq!(errors.len(), 1, "one message for the field: {errors:?}");
        assert_eq!(errors[0].0, "action");
        assert!(
            errors[0].1.contains("\"api_key.disable\" is not an action"),
            "{errors:?}"
        );
        let dates = AuditQuery {
            from: Some("2026-11-23".into()),
            to: Some("2026-11-01".into()),
            ..AuditQuery::default()
        };
        assert_eq!(dates.filter().expect_err("refused")[0].0, "to");
        let no_date = AuditQuery {
            from: Some("yesterday".into()),
            ..AuditQuery::default()
        };
        assert_eq!(no_date.filter().expect_err("refused")[0].0, "from");
    }

    #[test]
    fn the_search_reads_key_ids_and_scopes_in_either_spelling() {
        let search = |q: &str| AuditSearch::parse(q).expect("some text");
        assert_eq!(search("ask_AbCd1234").key_id_prefix.as_deref(), Some("AbCd1234"));
        assert_eq!(
            search("ask_AbCd12345678…").key_id_prefix.as_deref(),
            Some("AbCd12345678")
        );
        assert_eq!(search("ask_").key_id_prefix, None);
        assert_eq!(search("10.0.0.7").key_id_prefix, None);
        assert_eq!(search("10.0.0.7").text, "10.0.0.7");
        for written in ["write:assets", "write on assets", " write:assets "] {
            assert_eq!(
                search(written).scope.map(|s| s.to_string()).as_deref(),
                Some("write on assets"),
                "{written}"
            );
        }
        assert!(search("write on Assets").scope.is_none(), "not a scope: plain text");
        assert_eq!(search("Flight SYNC").text, "flight sync");
        assert!(AuditSearch::parse("   ").is_none());
    }
}
