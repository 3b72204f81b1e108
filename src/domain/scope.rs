//! Scopes: an action plus a resource filter. Actions do not imply each other;
//! a filter covers the resource it names and everything below it.

use std::fmt;

use super::ValidationError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Read,
    Write,
    Admin,
    Any,
}

impl Action {
    pub const ALL: [Action; 4] = [Action::Read, Action::Write, Action::Admin, Action::Any];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Write => "write",
            Action::Admin => "admin",
            Action::Any => "*",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Action::Read => "Read",
            Action::Write => "Write (create, update, delete)",
            Action::Admin => "Admin",
            Action::Any => "Any action",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let raw = raw.trim();
        Self::ALL.into_iter().find(|a| a.as_str() == raw).ok_or_else(|| {
            ValidationError::new(format!(
                "\"{raw}\" is not an action: use read, write, admin or * (any)."
            ))
        })
    }

    /// Whether a scope granting `self` allows `needed` on `resource`: the
    /// one rule every scope check goes through. `*` allows every action but
    /// one: managing keys (`admin` on `api-keys`) needs an explicit `admin`,
    /// so that a "Full access" key cannot mint keys.
    pub fn allows(self, needed: Action, resource: &str) -> bool {
        self == needed || (self == Action::Any && !manages_keys(needed, resource))
    }
}

/// The resource that guards Keyward's own key management.
pub const KEY_MANAGEMENT: &str = "api-keys";

/// Whether `action` on `resource` is managing keys: `admin` on `api-keys`
/// or anything below it.
pub fn manages_keys(action: Action, resource: &str) -> bool {
    let resource = resource.trim_matches('/');
    action == Action::Admin
        && resource
            .strip_prefix(KEY_MANAGEMENT)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// `*`, or `/`-separated segments of `[a-z0-9_.-]+` or `*` (one segment).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceFilter(String);

impl ResourceFilter {
    pub const MAX_LEN: usize = 200;

    pub fn everything() -> Self {
        Self("*".to_owned())
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let raw = raw.trim();
        // A blank filter is a forgotten field, not a choice: "everything" is
        // written `*`, so nobody grants it by leaving a field empty.
        if raw.is_empty() {
            return Err(ValidationError::new(
                "The resource filter is empty: write * for everything, or a resource such as assets.",
            ));
        }
        if raw == "*" {
            return Ok(Self::everything());
        }
        if raw.len() > Self::MAX_LEN {
            return Err(ValidationError::new(format!(
                "The resource filter is too long: at most {} characters.",
                Self::MAX_LEN
            )));
        }
        for segment in raw.split('/') {
            if segment.is_empty() {
                return Err(ValidationError::new(format!(
                    "\"{raw}\" has an empty segment: don't start or end with / or write //."
                )));
            }
            if segment == "." || segment == ".." {
                return Err(ValidationError::new(format!(
                    "\"{raw}\" cannot contain . or .. segments."
                )));
            }
            let valid = segment == "*"
                || segment
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-'));
            if !valid {
                return Err(ValidationError::new(format!(
                    "\"{segment}\" in \"{raw}\" is not a valid segment: use lower-case letters, digits, _ . - or * for any one segment."
                )));
            }
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_everything(&self) -> bool {
        self.0 == "*"
    }

    /// Whether this filter covers `resource` (a `/`-separated path): the
    /// resource it names and everything below it.
    pub fn covers(&self, resource: &str) -> bool {
        if self.is_everything() {
            return true;
        }
        let mut wanted = resource.trim_matches('/').split('/');
        for segment in self.0.split('/') {
            match wanted.next() {
                Some(part) if segment == "*" || segment == part => {}
                _ => return false,
            }
        }
        true
    }
}

impl fmt::Display for ResourceFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    pub action: Action,
    pub filter: ResourceFilter,
}

impl Scope {
    pub fn full_access() -> Self {
        Self {
            action: Action::Any,
            filter: ResourceFilter::everything(),
        }
    }

    /// The `ACTION:FILTER` form `parse_pair` reads (`read:assets`), as the
    /// API, the CLI and the form write scopes.
    pub fn to_pair(&self) -> String {
        format!("{}:{}", self.action.as_str(), self.filter)
    }

    pub fn parse_pair(raw: &str) -> Result<Self, ValidationError> {
        let (action, filter) = raw.split_once(':').ok_or_else(|| {
            ValidationError::new(format!(
                "\"{raw}\" is not a scope: write ACTION:FILTER, e.g. read:assets or *:*."
            ))
        })?;
        Ok(Self {
            action: Action::parse(action)?,
            filter: ResourceFilter::parse(filter)?,
        })
    }

    /// The API's reading: `ACTION:FILTER` exactly as `to_pair` writes it,
    /// with no white space anywhere (the forms trim each part).
    pub fn parse_exact(raw: &str) -> Result<Self, ValidationError> {
        let scope = Self::parse_pair(raw)?;
        if scope.to_pair() != raw {
            return Err(ValidationError::new(format!(
                "{raw:?} is not written as ACTION:FILTER: send it without white space, e.g. read:assets."
            )));
        }
        Ok(scope)
    }

    pub fn allows(&self, action: Action, resource: &str) -> bool {
        self.action.allows(action, resource) && self.filter.covers(resource)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", self.action.as_str(), self.filter)
    }
}

/// A key's scopes: at least one, no duplicates, in a stable order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeSet(Vec<Scope>);

impl ScopeSet {
    pub const MAX: usize = 100;

    pub fn new(mut scopes: Vec<Scope>) -> Result<Self, ValidationError> {
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            return Err(ValidationError::new(
                "Choose at least one scope: a key without scopes could do nothing. \"Full access\" is * on *.",
            ));
        }
        if scopes.len() > Self::MAX {
            return Err(ValidationError::new(format!(
                "A key can have at most {} scopes.",
                Self::MAX
            )));
        }
        Ok(Self(scopes))
    }

    pub fn full_access() -> Self {
        Self(vec![Scope::full_access()])
    }

    /// `read` on everything.
    pub fn read_only() -> Self {
        Self(vec![Scope {
            action: Action::Read,
            filter: ResourceFilter::everything(),
        }])
    }

    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }

    pub fn allows(&self, action: Action, resource: &str) -> bool {
        self.0.iter().any(|s| s.allows(action, resource))
    }

    /// Whether `action` is allowed on some resource: exactly when one of
    /// the scopes allows it on the resource its own filter names (a filter
    /// covers itself, and `*` manages keys nowhere that its filter does not
    /// already name), so `allows` stays the one rule.
    pub fn allows_somewhere(&self, action: Action) -> bool {
        self.0.iter().any(|s| self.allows(action, s.filter.as_str()))
    }

    /// A short summary for lists: "Full access", "Read only", or the scopes.
    pub fn summary(&self) -> String {
        if self
            .0
            .iter()
            .any(|s| s.action == Action::Any && s.filter.is_everything())
        {
            return "Full access".to_owned();
        }
        if *self == Self::read_only() {
            return "Read only".to_owned();
        }
        let shown: Vec<String> = self.0.iter().take(3).map(ToString::to_string).collect();
        let more = self.0.len().saturating_sub(3);
        if more > 0 {
            format!("{} +{more} more", shown.join(", "))
        } else {
            shown.join(", ")
        }
    }
}

/// The scope part of a key form as submitted: the choice (`full`, `read`
/// or `custom`), the custom rows and the ticked catalogue permissions
/// (`ACTION:FILTER`). Least privilege: nothing chosen gives nothing, never
/// Full access; rows filled in or permissions ticked with no choice made are
/// the choice (custom). Whatever was filled in is either taken or refused,
/// never dropped: a key must not get more than the form showed, nor less
/// than it asked for.
#[derive(Debug, Clone, Copy)]
pub struct ScopeChoice<'a> {
    pub mode: &'a str,
    /// The rows' action and resource fields, in form order.
    pub actions: &'a [String],
    pub resources: &'a [String],
    pub permissions: &'a [String],
}

impl<'a> ScopeChoice<'a> {
    /// The custom rows that were filled in, as typed: (row number from 1,
    /// action, resource). Rows run to the longer of the two field lists: a
    /// request may send more of one than of the other, and a field without
    /// its partner is still filled in.
    pub fn filled_rows(&self) -> impl Iterator<Item = (usize, &'a str, &'a str)> + use<'a> {
        fn field(list: &[String], i: usize) -> &str {
            list.get(i).map_or("", String::as_str)
        }
        let (actions, resources) = (self.actions, self.resources);
        (0..actions.len().max(resources.len()))
            .map(move |i| (i + 1, field(actions, i), field(resources, i)))
            .filter(|(_, action, resource)| !action.trim().is_empty() || !resource.trim().is_empty())
    }

    /// The scopes chosen, or every problem found, in one message.
    pub fn scopes(&self) -> Result<ScopeSet, ValidationError> {
        let mode = self.mode.trim();
        let rows = self.filled_rows().next().is_some();
        let ticked = !self.permissions.is_empty();
        if matches!(mode, "full" | "read") && (rows || ticked) {
            let what = match (rows, ticked) {
                (true, false) => "You filled in custom scope rows",
                (true, true) => "You filled in custom scope rows and ticked permissions from the list",
                _ => "You ticked permissions from the list",
            };
            let chosen = if mode == "read" { "Read only" } else { "Full access" };
            return Err(ValidationError::new(format!(
                "{what}, but “{chosen}” is selected: choose “Custom scopes” to give the key exactly those, or clear them to keep “{chosen}”."
            )));
        }
        match mode {
            "full" => Ok(ScopeSet::full_access()),
            "read" => Ok(ScopeSet::read_only()),
            "custom" => self.custom(),
            "" if rows || ticked => self.custom(),
            "" => Err(ValidationError::new(
                "Choose what the key may do: “Full access”, “Read only”, or “Custom scopes” (rows or permissions from the list). A new key has no scopes until you choose.",
            )),
            other => Err(ValidationError::new(format!(
                "\"{other}\" is not a scope choice: use full, read or custom."
            ))),
        }
    }

    fn custom(&self) -> Result<ScopeSet, ValidationError> {
        let mut scopes = Vec::new();
        let mut errors = Vec::new();
        for (row, action, resource) in self.filled_rows() {
            let action = if action.trim().is_empty() {
                Err(ValidationError::new(format!(
                    "choose an action for \"{}\".",
                    resource.trim()
                )))
            } else {
                Action::parse(action)
            };
            match (action, ResourceFilter::parse(resource)) {
                (Ok(action), Ok(filter)) => scopes.push(Scope { action, filter }),
                (Err(e), _) | (_, Err(e)) => errors.push(format!("Scope {row}: {}", e.0)),
            }
        }
        for value in self.permissions {
            match Scope::parse_pair(value) {
                Ok(scope) => scopes.push(scope),
                Err(e) => errors.push(e.0),
            }
        }
        if !errors.is_empty() {
            return Err(ValidationError::new(errors.join(" ")));
        }
        ScopeSet::new(scopes)
    }
}

impl ResourceFilter {
    /// Whether every resource `other` covers is covered by `self` too.
    pub fn covers_filter(&self, other: &ResourceFilter) -> bool {
        if self.is_everything() {
            return true;
        }
        if other.is_everything() {
            return false;
        }
        // `self` covers resources with at least its segment count whose
        // segments match; `other`'s must be at least as long and as specific.
        let mut theirs = other.0.split('/');
        self.0
            .split('/')
            .all(|mine| theirs.next().is_some_and(|their| mine == "*" || mine == their))
    }

    /// Whether some resource this filter covers lies in key management.
    fn reaches_key_management(&self) -> bool {
        self.is_everything() || matches!(self.0.split('/').next(), Some("*" | KEY_MANAGEMENT))
    }
}

impl Scope {
    /// Whether `self` allows everything `other` allows, on every resource:
    /// the same action (or `*`, unless `other` manages keys) on a filter
    /// that covers `other`'s.
    pub fn covers(&self, other: &Scope) -> bool {
        let action = self.action == other.action
            || (self.action == Action::Any
                && !(other.action == Action::Admin && other.filter.reaches_key_management()));
        action && self.filter.covers_filter(&other.filter)
    }
}

impl ScopeSet {
    /// The scopes of `other` that no scope of `self` covers: what a key
    /// holding `self` lacks to give `other`.
    pub fn uncovered<'a>(&self, other: &'a ScopeSet) -> Vec<&'a Scope> {
        other
            .iter()
            .filter(|wanted| !self.iter().any(|held| held.covers(wanted)))
            .collect()
    }

    /// Whether `self` allows everything `other` allows.
    pub fn covers(&self, other: &ScopeSet) -> bool {
        self.uncovered(other).is_empty()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_api_reads_scopes_exactly_as_written() {
        for good in ["read:assets", "*:*", "admin:api-keys", "write:a/*/b.c"] {
            assert_eq!(Scope::parse_exact(good).map(|s| s.to_pair()), Ok(good.to_owned()));
        }
        for spaced in [" read:assets", "read :assets", "read: assets", "read:assets\t"] {
            assert!(Scope::parse_pair(spaced).is_ok(), "the forms trim {spaced:?}");
            assert!(Scope::parse_exact(spaced).is_err(), "the API refuses {spaced:?}");
        }
    }

    #[test]
    fn bad_filters_say_what_is_wrong() {
        for bad in ["a//b", "/a", "a/", "a/../b", "Assets", "a b", "a/./b"] {
            assert!(ResourceFilter::parse(bad).is_err(), "{bad}");
        }
        assert!(ResourceFilter::parse("registries/private/*").is_ok());
        assert_eq!(ResourceFilter::parse("*").map(|f| f.is_everything()), Ok(true));
    }

    #[test]
    fn a_blank_filter_is_refused_not_taken_for_everything() {
        for blank in ["", "  "] {
            let error = ResourceFilter::parse(blank).expect_err("a blank filter is refused");
            assert!(error.0.contains("write * for everything"), "{}", error.0);
        }
        assert!(Scope::parse_pair("read:").is_err());
        assert!(Scope::parse_pair("read: ").is_err());
    }

    #[test]
    fn actions_do_not_imply_each_other() {
        let write = Scope::parse_pair("write:assets").expect("valid");
        assert!(write.allows(Action::Write, "assets/1"));
        assert!(!write.allows(Action::Read, "assets/1"));
        assert!(
            Scope::parse_pair("*:assets")
                .expect("valid")
                .allows(Action::Admin, "assets")
        );
        let full = Scope::full_access();
        assert!(!full.allows(Action::Admin, "api-keys"), "* does not manage keys");
        assert!(!full.allows(Action::Admin, "api-keys/1"));
        assert!(full.allows(Action::Read, "api-keys"));
        assert!(full.allows(Action::Admin, "api-keysmith"));
        assert!(
            Scope::parse_pair("admin:*")
                .expect("valid")
                .allows(Action::Admin, "api-keys")
        );
        assert!(Action::parse("delete").is_err());
    }

    #[test]
    fn filters_cover_their_subtree_only() {
        let filter = ResourceFilter::parse("registries/private").expect("valid");
        assert!(filter.covers("registries/private"));
        assert!(filter.covers("registries/private/items/42"));
        assert!(!filter.covers("registries/public"));
        assert!(!filter.covers("registries/privateer"));
        assert!(!filter.covers("registries"));
        let wildcard = ResourceFilter::parse("registries/*/items").expect("valid");
        assert!(wildcard.covers("registries/private/items/7"));
        assert!(!wildcard.covers("registries/private/owners"));
    }

    #[test]
    fn empty_scope_sets_are_refused_and_summaries_read_well() {
        assert!(ScopeSet::new(vec![]).is_err());
        assert_eq!(ScopeSet::full_access().summary(), "Full access");
        let read = ScopeSet::new(vec![Scope::parse_pair("read:*").expect("valid")]).expect("valid");
        assert_eq!(read.summary(), "Read only");
    }

    fn segment() -> impl Strategy<Value = String> {
        "[a-z0-9_-]{1,6}"
    }

    proptest! {
        #[test]
        fn a_filter_covers_exactly_its_subtree(
            base in proptest::collection::vec(segment(), 1..4),
            below in proptest::collection::vec(segment(), 0..3),
            other in segment(),
        ) {
            let filter = ResourceFilter::parse(&base.join("/")).expect("generated filters are valid");
            let mut inside = base.clone();
            inside.extend(below);
            prop_assert!(filter.covers(&inside.join("/")));
            let mut sibling = base.clone();
            let last = sibling.len() - 1;
            prop_assume!(sibling[last] != other);
            sibling[last] = other;
            prop_assert!(!filter.covers(&sibling.join("/")));
            // nor its parent
            prop_assert!(!filter.covers(&base[..last].join("/")));
        }
    }
}

/// Covering, checked against its meaning: a holder covers a grant exactly when
/// every (action, resource) the grant allows, the holder allows too.
#[cfg(test)]
mod covering_tests {
    use proptest::prelude::*;

    use super::*;

    const SEGMENTS: [&str; 4] = ["a", "b", KEY_MANAGEMENT, "*"];

    fn filter() -> impl Strategy<Value = ResourceFilter> {
        prop_oneof![
            1 => Just(ResourceFilter::everything()),
            6 => proptest::collection::vec(proptest::sample::select(&SEGMENTS[..]), 1..4).prop_map(|segments| {
                ResourceFilter::parse(&segments.join("/")).expect("generated filters are valid")
            }),
        ]
    }

    fn scope() -> impl Strategy<Value = Scope> {
        (proptest::sample::select(&Action::ALL[..]), filter()).prop_map(|(action, filter)| Scope { action, filter })
    }

    fn scope_set() -> impl Strategy<Value = ScopeSet> {
        proptest::collection::vec(scope(), 1..4).prop_map(|scopes| ScopeSet::new(scopes).expect("not empty"))
    }

    /// Every resource of up to four segments over the filters' literals plus
    /// one they never name: enough to tell any two generated filters apart.
    fn resources() -> Vec<String> {
        let alphabet = ["a", "b", KEY_MANAGEMENT, "zz"];
        let mut all = vec![String::new()];
        let mut level = vec![String::new()];
        for _ in 0..4 {
            level = level
                .iter()
                .flat_map(|prefix| {
                    alphabet.iter().map(move |s| {
                        if prefix.is_empty() {
                            (*s).to_owned()
                        } else {
                            format!("{prefix}/{s}")
                        }
                    })
                })
                .collect();
            all.extend(level.iter().cloned());
        }
        all
    }

    fn allows_everything_of(holder: impl Fn(Action, &str) -> bool, grant: impl Fn(Action, &str) -> bool) -> bool {
        resources()
            .iter()
            .all(|r| Action::ALL.iter().all(|&a| !grant(a, r) || holder(a, r)))
    }

    proptest! {
        #[test]
        fn a_scope_covers_another_exactly_when_it_allows_all_it_allows(held in scope(), wanted in scope()) {
            let meaning = allows_everything_of(|a, r| held.allows(a, r), |a, r| wanted.allows(a, r));
            prop_assert_eq!(held.covers(&wanted), meaning, "{} covers {}?", held, wanted);
        }

        #[test]
        fn a_set_allows_an_action_somewhere_exactly_when_some_resource_shows_it(held in scope_set()) {
            for action in Action::ALL {
                let somewhere = resources().iter().any(|r| held.allows(action, r));
                prop_assert_eq!(held.allows_somewhere(action), somewhere, "{:?} {}", held, action.as_str());
            }
        }

        #[test]
        fn a_covering_scope_set_allows_all_the_granted_set_allows(held in scope_set(), wanted in scope_set()) {
            if held.covers(&wanted) {
                prop_assert!(allows_everything_of(|a, r| held.allows(a, r), |a, r| wanted.allows(a, r)));
            }
            prop_assert!(held.covers(&held), "every set covers itself");
        }
    }

    #[test]
    fn full_access_covers_all_but_key_management() {
        let full = ScopeSet::full_access();
        let pair = |raw: &str| Scope::parse_pair(raw).expect("valid");
        assert!(full.covers(&ScopeSet::new(vec![pair("admin:flights"), pair("read:*")]).expect("valid")));
        for manages in ["admin:api-keys", "admin:*", "admin:*/x", "admin:api-keys/1"] {
            let wanted = ScopeSet::new(vec![pair(manages)]).expect("valid");
            assert_eq!(full.uncovered(&wanted), vec![&pair(manages)], "{manages}");
        }
        let filter = |raw: &str| ResourceFilter::parse(raw).expect("valid");
        assert!(filter("a/*").covers_filter(&filter("a/b/c")));
        assert!(!filter("a/b").covers_filter(&filter("a/*")));
        assert!(!filter("a/b").covers_filter(&filter("a")));
        assert!(filter("a").covers_filter(&filter("a/b")));
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    #[test]
    fn a_scope_choice_never_drops_what_was_filled_in() {
        let (actions, resources) = (strings(&["write", ""]), strings(&["assets", ""]));
        let none: Vec<String> = vec![];
        let choice = |mode, permissions: &'static [&'static str]| {
            let permissions = strings(permissions);
            ScopeChoice {
                mode,
                actions: &actions,
                resources: &resources,
                permissions: &permissions,
            }
            .scopes()
        };
        let refused = choice("full", &[]).expect_err("rows beside Full access");
        assert!(refused.0.contains("Custom scopes"), "{}", refused.0);
        assert!(
            choice("read", &["read:assets"]).is_err(),
            "a ticked permission beside Read only"
        );
        let custom = choice("custom", &["read:logs"]).expect("custom");
        assert_eq!(
            custom.iter().map(Scope::to_pair).collect::<Vec<_>>(),
            ["read:logs", "write:assets"]
        );
        let blank = ScopeChoice {
            mode: "",
            actions: &none,
            resources: &none,
            permissions: &none,
        };
        let refused = blank
            .scopes()
            .expect_err("nothing chosen is no scope, never Full access");
        assert!(refused.0.contains("Choose what the key may do"), "{}", refused.0);
        let rows_alone = choice("", &["read:logs"]).expect("rows and ticks with no choice are the choice");
        assert_eq!(
            rows_alone.iter().map(Scope::to_pair).collect::<Vec<_>>(),
            ["read:logs", "write:assets"]
        );
        assert!(choice("everything", &[]).is_err());
    }

    /// Found by the `scope` fuzz target: a resource field beyond the last
    /// action field (a hand-made request) was dropped, so Full access was
    /// granted beside it and a custom choice lost the row.
    #[test]
    fn a_resource_without_an_action_field_is_not_dropped() {
        let (no_actions, resources, none) = (strings(&[]), strings(&["flights"]), strings(&[]));
        let choice = |mode, permissions: &[String]| {
            ScopeChoice {
                mode,
                actions: &no_actions,
                resources: &resources,
                permissions,
            }
            .scopes()
        };
        assert!(
            choice("", &none).is_err(),
            "a filled row beside the default Full access"
        );
        assert!(choice("full", &none).is_err());
        let message = choice("custom", &strings(&["read:logs"]))
            .expect_err("a row without an action")
            .0;
        assert!(
            message.contains("Scope 1: choose an action for \"flights\""),
            "{message}"
        );
    }

    #[test]
    fn every_bad_custom_row_is_named_by_its_number() {
        let (actions, resources) = (strings(&["", "fly", "read"]), strings(&["assets", "x", "ok"]));
        let permissions = strings(&["nonsense"]);
        let message = ScopeChoice {
            mode: "custom",
            actions: &actions,
            resources: &resources,
            permissions: &permissions,
        }
        .scopes()
        .expect_err("bad rows")
        .0;
        assert!(message.contains("Scope 1: choose an action"), "{message}");
        assert!(message.contains("Scope 2:"), "{message}");
        assert!(!message.contains("Scope 3"), "{message}");
        assert!(message.contains("\"nonsense\" is not a scope"), "{message}");
    }
}
