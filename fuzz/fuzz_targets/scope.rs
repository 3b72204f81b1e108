//! Scopes, resource filters and the form's scope choice.
//!
//! Input: lines. `mode=`, `a=`, `r=` and `p=` lines fill the scope choice
//! (its mode, the rows' action and resource fields, ticked permissions);
//! every line is also tried as a scope pair and as a resource filter.
//!
//! - `Scope::parse_pair` → `to_pair` → `parse_pair` gives the same scope;
//! - `ResourceFilter::parse` is idempotent, and a filter covers itself;
//! - `ScopeChoice::scopes` never panics; with Full access, Read only or a
//!   blank mode anything filled in is refused; with custom it gives exactly
//!   the scopes of the filled rows and ticked permissions (nothing dropped,
//!   nothing added), or refuses.

#![no_main]

use keyward::domain::scope::{Action, ResourceFilter, Scope, ScopeChoice, ScopeSet};
use libfuzzer_sys::fuzz_target;

fn check_pair(raw: &str) {
    if let Ok(scope) = Scope::parse_pair(raw) {
        let pair = scope.to_pair();
        assert_eq!(Scope::parse_pair(&pair).as_ref(), Ok(&scope), "{raw:?} → {pair:?}");
        assert!(scope.covers(&scope), "{pair} covers itself");
    }
}

fn check_filter(raw: &str) {
    if let Ok(filter) = ResourceFilter::parse(raw) {
        assert_eq!(ResourceFilter::parse(filter.as_str()).as_ref(), Ok(&filter), "{raw:?}");
        assert_eq!(filter.to_string(), filter.as_str());
        assert!(filter.covers_filter(&filter));
        assert!(filter.covers(filter.as_str()), "{filter} covers its own resource");
        assert!(filter.as_str().len() <= ResourceFilter::MAX_LEN);
    }
}

/// What the choice must give, worked out from the fields alone: `None` when
/// it must be refused.
fn expected(mode: &str, actions: &[String], resources: &[String], permissions: &[String]) -> Option<ScopeSet> {
    let rows = actions.len().max(resources.len());
    let field = |list: &[String], i: usize| list.get(i).map_or("", String::as_str).to_owned();
    let filled: Vec<(String, String)> = (0..rows)
        .map(|i| (field(actions, i), field(resources, i)))
        .filter(|(a, r)| !a.trim().is_empty() || !r.trim().is_empty())
        .collect();
    let custom = || {
        let mut scopes = Vec::new();
        for (action, resource) in &filled {
            scopes.push(Scope {
                action: Action::parse(action).ok()?,
                filter: ResourceFilter::parse(resource).ok()?,
            });
        }
        for pair in permissions {
            scopes.push(Scope::parse_pair(pair).ok()?);
        }
        ScopeSet::new(scopes).ok()
    };
    let anything = !filled.is_empty() || !permissions.is_empty();
    match mode.trim() {
        "full" | "read" if anything => None,
        "full" => Some(ScopeSet::full_access()),
        "read" => Some(ScopeSet::read_only()),
        // Least privilege: no choice is no scope, unless rows were filled in
        // or permissions ticked, which are then the key's exact scopes.
        "custom" => custom(),
        "" if anything => custom(),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (mut mode, mut actions, mut resources, mut permissions) = ("", Vec::new(), Vec::new(), Vec::new());
    for line in text.split('\n') {
        check_pair(line);
        check_filter(line);
        let _ = Action::parse(line);
        if let Some(value) = line.strip_prefix("mode=") {
            mode = value;
        } else if let Some(value) = line.strip_prefix("a=") {
            actions.push(value.to_owned());
        } else if let Some(value) = line.strip_prefix("r=") {
            resources.push(value.to_owned());
        } else if let Some(value) = line.strip_prefix("p=") {
            permissions.push(value.to_owned());
        }
    }
    let choice = ScopeChoice {
        mode,
        actions: &actions,
        resources: &resources,
        permissions: &permissions,
    };
    let got = choice.scopes();
    let want = expected(mode, &actions, &resources, &permissions);
    assert_eq!(
        got.as_ref().ok(),
        want.as_ref(),
        "mode {mode:?}, actions {actions:?}, resources {resources:?}, permissions {permissions:?}: {got:?}"
    );
    if let Ok(set) = &got {
        assert!(!set.summary().is_empty());
        assert!(set.covers(set));
    }
});
