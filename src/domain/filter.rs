//! The keys list's query (`?q=…&status=…&sort=…&can=…&resource=…&page=…`)
//! as the backoffice and the API read it, and the filter it becomes.

use chrono::{NaiveDateTime, TimeDelta};

use super::ValidationError;
use super::api_key::KeyStatus;
use super::scope::{Action, ResourceFilter, ScopeSet};
use super::token::{cut_secret_from_search, key_id_if_key_shaped};

/// Keys per page of the list, in the backoffice and the API.
pub const PER_PAGE: i64 = 25;

/// "Expiring soon": an active key whose expiry is at most this far away.
pub const EXPIRING_SOON: TimeDelta = TimeDelta::days(14);

/// The list's banner names the active keys that expire this soon.
pub const EXPIRY_BANNER: TimeDelta = TimeDelta::days(7);

/// Whether a key with these columns is "expiring soon" at `now`: active (not
/// revoked, expired or disabled) and expiring within [`EXPIRING_SOON`].
pub fn expiring_soon(
    revoked_at: Option<NaiveDateTime>,
    expires_at: Option<NaiveDateTime>,
    enabled: bool,
    now: NaiveDateTime,
) -> bool {
    KeyStatus::of(revoked_at, expires_at, enabled, now) == KeyStatus::Active
        && expires_at.is_some_and(|at| at <= now + EXPIRING_SOON)
}

/// Which keys the Status filter shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    All,
    Only(KeyStatus),
    /// Active keys that expire within [`EXPIRING_SOON`] (see [`expiring_soon`]).
    ExpiringSoon,
}

impl StatusFilter {
    /// The spelling in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Only(status) => status.as_str(),
            Self::ExpiringSoon => "expiring",
        }
    }

    /// Whether a key with these columns passes the filter at `now`.
    pub fn admits(
        self,
        revoked_at: Option<NaiveDateTime>,
        expires_at: Option<NaiveDateTime>,
        enabled: bool,
        now: NaiveDateTime,
    ) -> bool {
        match self {
            Self::All => true,
            Self::Only(status) => KeyStatus::of(revoked_at, expires_at, enabled, now) == status,
            Self::ExpiringSoon => expiring_soon(revoked_at, expires_at, enabled, now),
        }
    }
}

/// How the list is ordered. Keys that never expire or were never used come
/// last in both directions of their order; ties go by id (in the order's
/// direction), so every order is total and pages neither repeat nor skip a
/// key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeySort {
    #[default]
    CreatedDesc,
    CreatedAsc,
    NameAsc,
    NameDesc,
    ValidUntilAsc,
    ValidUntilDesc,
    LastUsedDesc,
    LastUsedAsc,
}

impl KeySort {
    pub const ALL: [KeySort; 8] = [
        KeySort::CreatedDesc,
        KeySort::CreatedAsc,
        KeySort::NameAsc,
        KeySort::NameDesc,
        KeySort::ValidUntilAsc,
        KeySort::ValidUntilDesc,
        KeySort::LastUsedDesc,
        KeySort::LastUsedAsc,
    ];

    /// The spelling in URLs (`sort=name-asc`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreatedDesc => "created-desc",
            Self::CreatedAsc => "created-asc",
            Self::NameAsc => "name-asc",
            Self::NameDesc => "name-desc",
            Self::ValidUntilAsc => "valid-until-asc",
            Self::ValidUntilDesc => "valid-until-desc",
            Self::LastUsedDesc => "last-used-desc",
            Self::LastUsedAsc => "last-used-asc",
        }
    }

    /// The choice in the "Sort by" select.
    pub fn label(self) -> &'static str {
        match self {
            Self::CreatedDesc => "Newest first",
            Self::CreatedAsc => "Oldest first",
            Self::NameAsc => "Name, A to Z",
            Self::NameDesc => "Name, Z to A",
            Self::ValidUntilAsc => "Valid until, soonest first",
            Self::ValidUntilDesc => "Valid until, latest first",
            Self::LastUsedDesc => "Last used, most recent first",
            Self::LastUsedAsc => "Last used, longest ago first",
        }
    }

    /// The order as "Showing 1–25 of 40, …" ends.
    pub fn phrase(self) -> &'static str {
        match self {
            Self::CreatedDesc => "newest first",
            Self::CreatedAsc => "oldest first",
            Self::NameAsc => "by name, A to Z",
            Self::NameDesc => "by name, Z to A",
            Self::ValidUntilAsc => "soonest expiry first, keys that never expire last",
            Self::ValidUntilDesc => "latest expiry first, keys that never expire last",
            Self::LastUsedDesc => "most recently used first, never used last",
            Self::LastUsedAsc => "longest unused first, never used last",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(Self::default());
        }
        Self::ALL.into_iter().find(|s| s.as_str() == raw).ok_or_else(|| {
            ValidationError::new(format!(
                "\"{raw}\" is not an order: use {}.",
                Self::ALL.map(Self::as_str).join(", ")
            ))
        })
    }
}

/// "Which keys could write to assets?": an action (none: any action) on a
/// resource (none: some resource). A key has it when its scopes allow it by
/// the very rule authentication applies (`ScopeSet::allows`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capability {
    pub action: Option<Action>,
    pub resource: Option<ResourceFilter>,
}

impl Capability {
    pub fn allowed_by(&self, scopes: &ScopeSet) -> bool {
        let allows = |action: Action| match &self.resource {
            Some(resource) => scopes.allows(action, resource.as_str()),
            None => scopes.allows_somewhere(action),
        };
        match self.action {
            Some(action) => allows(action),
            None => Action::ALL.into_iter().any(allows),
        }
    }

    /// "could write on assets", for the list's empty state.
    pub fn describe(&self) -> String {
        let action = self.action.map_or("do anything", |action| match action {
            Action::Read => "read",
            Action::Write => "write",
            Action::Admin => "admin",
            Action::Any => "do every action (*)",
        });
        match &self.resource {
            Some(resource) => format!("could {action} on {resource}"),
            None => format!("could {action} on some resource"),
        }
    }
}

/// The part of the list's filter the database answers: search, status and
/// order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySelection {
    /// Matches the name (case-insensitive substring) or a key id prefix.
    pub query: Option<String>,
    pub status: StatusFilter,
    pub sort: KeySort,
}

impl Default for KeySelection {
    /// Every key, newest first.
    fn default() -> Self {
        Self {
            query: None,
            status: StatusFilter::All,
            sort: KeySort::default(),
        }
    }
}

/// What the list shows: a selection, narrowed to the keys that have a
/// capability (checked on their scopes in Rust: scopes are data with
/// wildcards, which SQL cannot match as authentication does).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyListFilter {
    pub selection: KeySelection,
    pub capability: Option<Capability>,
}

/// Why a list query was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterError {
    /// A value no control offers (a hand-made address): the request is
    /// refused as a whole.
    Request(ValidationError),
    /// Fields a person picks or types ("can", "resource"), each with the
    /// message to show beside it.
    Fields(Vec<(&'static str, String)>),
}

/// `?q=…&status=…&sort=…&can=…&resource=…&page=…`
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ListQuery {
    pub q: Option<String>,
    pub status: Option<String>,
    pub sort: Option<String>,
    pub can: Option<String>,
    pub resource: Option<String>,
    pub page: Option<i64>,
}

/// `value` trimmed, `None` when blank.
fn non_blank(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl ListQuery {
    /// The status filter; `active` unless another one is asked for.
    pub fn status(&self) -> Result<StatusFilter, ValidationError> {
        match non_blank(&self.status) {
            None => Ok(StatusFilter::Only(KeyStatus::Active)),
            Some("all") => Ok(StatusFilter::All),
            Some("expiring") => Ok(StatusFilter::ExpiringSoon),
            Some(other) => KeyStatus::parse(other).map(StatusFilter::Only).ok_or_else(|| {
                ValidationError(format!(
                    "\"{other}\" is not a status filter: use active, expiring, disabled, expired, revoked or all."
                ))
            }),
        }
    }

    pub fn sort(&self) -> Result<KeySort, ValidationError> {
        KeySort::parse(self.sort.as_deref().unwrap_or_default())
    }

    /// The capability asked for ("Can" and "Resource"), or the message for
    /// each of the two fields that is wrong.
    pub fn capability(&self) -> Result<Option<Capability>, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let action = non_blank(&self.can).and_then(|raw| {
            Action::parse(raw)
                .map_err(|_| {
                    errors.push((
                        "can",
                        format!("\"{raw}\" is not an action: choose read, write, admin or * (every action)."),
                    ));
                })
                .ok()
        });
        let resource = non_blank(&self.resource).and_then(|raw| {
            // A key is judged (and echoed) by its key id alone.
            let raw = key_id_if_key_shaped(raw).map_or_else(|| raw.to_owned(), |id| id.hint());
            ResourceFilter::parse(&raw)
                .map_err(|e| {
                    errors.push((
                        "resource",
                        format!(
                            "{} A resource is a path such as assets or assets/42, or * for everything.",
                            e.0
                        ),
                    ));
                })
                .ok()
        });
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok((action.is_some() || resource.is_some()).then_some(Capability { action, resource }))
    }

    /// This query with a key (or more of one than its key id) in `q` or
    /// `resource` replaced by its key id (`ask_` + 12 characters), and
    /// whether it had one: a secret pasted into Search finds its key, one
    /// pasted into Resource is refused by its key id, and neither goes
    /// further (no page, URL or history).
    pub fn without_secret(mut self) -> (Self, bool) {
        let in_search = cut_secret_from_search(&mut self.q);
        let in_resource = cut_secret_from_search(&mut self.resource);
        (self, in_search || in_resource)
    }

    /// The search, status and order asked for.
    pub fn selection(&self) -> Result<KeySelection, ValidationError> {
        Ok(KeySelection {
            query: non_blank(&self.q).map(|q| match key_id_if_key_shaped(q) {
                Some(id) => id.hint(),
                None => q.chars().take(200).collect(),
            }),
            status: self.status()?,
            sort: self.sort()?,
        })
    }

    pub fn filter(&self) -> Result<KeyListFilter, FilterError> {
        let selection = self.selection().map_err(FilterError::Request)?;
        let capability = self.capability().map_err(FilterError::Fields)?;
        Ok(KeyListFilter { selection, capability })
    }

    /// The status filter as the list's URL spells it.
    pub fn status_value(&self) -> &'static str {
        self.status().map_or("all", StatusFilter::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> ListQuery {
        let get = |name: &str| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned());
        ListQuery {
            q: get("q"),
            status: get("status"),
            sort: get("sort"),
            can: get("can"),
            resource: get("resource"),
            page: None,
        }
    }

    #[test]
    fn expiring_soon_is_an_active_key_within_fourteen_days() {
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .expect("a time")
            .naive_utc();
        let at = |delta: TimeDelta| Some(now + delta);
        assert!(
            expiring_soon(None, at(TimeDelta::days(14)), true, now),
            "the 14th day is in"
        );
        assert!(expiring_soon(
            None,
            at(TimeDelta::days(13) + TimeDelta::hours(23)),
            true,
            now
        ));
        assert!(!expiring_soon(
            None,
            at(TimeDelta::days(14) + TimeDelta::minutes(1)),
            true,
            now
        ));
        assert!(!expiring_soon(None, None, true, now), "never is not soon");
        assert!(!expiring_soon(None, at(TimeDelta::days(3)), false, now), "disabled");
        assert!(!expiring_soon(Some(now), at(TimeDelta::days(3)), true, now), "revoked");
        assert!(!expiring_soon(None, Some(now), true, now), "expired");
    }

    #[test]
    fn the_list_query_reads_status_sort_and_capability() {
        let filter = query(&[
            ("status", "expiring"),
            ("sort", "valid-until-asc"),
            ("can", "write"),
            ("resource", " assets/42 "),
        ])
        .filter()
        .expect("valid");
        assert_eq!(filter.selection.status, StatusFilter::ExpiringSoon);
        assert_eq!(filter.selection.sort, KeySort::ValidUntilAsc);
        assert_eq!(
            filter.capability,
            Some(Capability {
                action: Some(Action::Write),
                resource: Some(ResourceFilter::parse("assets/42").expect("valid")),
            })
        );
        let plain = query(&[]).filter().expect("valid");
        assert_eq!(plain.selection.status, StatusFilter::Only(KeyStatus::Active));
        assert_eq!(plain.selection.sort, KeySort::CreatedDesc);
        assert_eq!(plain.capability, None, "blank Can and Resource filter nothing");
        for sort in KeySort::ALL {
            assert_eq!(KeySort::parse(sort.as_str()), Ok(sort));
        }
    }

    #[test]
    fn bad_filters_are_refused_with_a_message_for_their_field() {
        assert!(matches!(
            query(&[("sort", "size")]).filter(),
            Err(FilterError::Request(_))
        ));
        assert!(matches!(
            query(&[("status", "soon")]).filter(),
            Err(FilterError::Request(_))
        ));
        let Err(FilterError::Fields(fields)) = query(&[("can", "delete"), ("resource", "Assets//x")]).filter() else {
            panic!("field errors");
        };
        let names: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ["can", "resource"]);
        assert!(fields[1].1.contains("assets/42"), "{}", fields[1].1);
    }

    #[test]
    fn a_capability_is_checked_by_the_rule_authentication_applies() {
        let set = |pairs: &[&str]| {
            ScopeSet::new(
                pairs
                    .iter()
                    .map(|p| super::super::scope::Scope::parse_pair(p).expect("valid"))
                    .collect(),
            )
            .expect("valid")
        };
        let can = |action: Option<Action>, resource: Option<&str>| Capability {
            action,
            resource: resource.map(|r| ResourceFilter::parse(r).expect("valid")),
        };
        let write_assets = can(Some(Action::Write), Some("assets/42"));
        assert!(write_assets.allowed_by(&set(&["write:assets"])), "a path prefix");
        assert!(write_assets.allowed_by(&set(&["write:*/42"])), "a wildcard segment");
        assert!(write_assets.allowed_by(&ScopeSet::full_access()));
        assert!(!write_assets.allowed_by(&ScopeSet::read_only()));
        assert!(!write_assets.allowed_by(&set(&["write:assets/43", "read:*"])));
        let manage = can(Some(Action::Admin), Some("api-keys"));
        assert!(!manage.allowed_by(&ScopeSet::full_access()), "* does not manage keys");
        assert!(manage.allowed_by(&set(&["admin:api-keys"])));
        let anything = can(None, Some("assets"));
        assert!(anything.allowed_by(&ScopeSet::read_only()));
        assert!(!anything.allowed_by(&set(&["write:crew"])));
        let writes = can(Some(Action::Write), None);
        assert!(writes.allowed_by(&set(&["write:crew"])));
        assert!(!writes.allowed_by(&ScopeSet::read_only()));
    }
}
