//! What an audit event changed, in words ("Scopes: removed write on assets,
//! added read on crew"), read from the details the event recorded: the
//! settings `before` and `after` (service::keys writes a key's), and the
//! step's own facts beside them (a rotation's new key id, a refused
//! visit's path). One reading for the Audit log, a key's History and the
//! audit CSV export; the raw details stay beside it on each.

use std::fmt;

use chrono::{DateTime, Timelike as _};
use serde_json::{Map, Value};

use super::audit::AuditAction;
use super::role::Role;
use super::time::for_people;
use super::token::shown_key_id;

/// The fields of a before/after in the order people read them; others
/// follow in the details' own order.
const FIELD_ORDER: [&str; 10] = [
    "name",
    "status",
    "enabled",
    "scopes",
    "networks",
    "expires_at",
    "allow_query_key",
    "email",
    "role",
    "slug",
];

/// The facts of a rotation, worded together rather than field by field.
const ROTATION_FIELDS: [&str; 3] = ["new_key_id", "grace_period", "old_secrets_end_at"];

/// What an event changed: one line per change, in reading order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeWords(Vec<String>);

impl ChangeWords {
    /// The words for an event of `action` (unknown actions read like any
    /// other) whose details are `details`.
    pub fn of(action: Option<AuditAction>, details: &Value) -> Self {
        let Some(details) = details.as_object() else {
            return Self::default();
        };
        let before = details.get("before").and_then(Value::as_object);
        let after = details.get("after").and_then(Value::as_object);
        let mut lines = Vec::new();
        if action == Some(AuditAction::AccessDenied)
            && let Some(line) = refused_visit(details)
        {
            lines.push(line);
        } else {
            let rotated = rotation(details);
            let rotation_worded = !rotated.is_empty();
            lines.extend(rotated);
            for (field, value) in details {
                let skipped = ["before", "after"].contains(&field.as_str())
                    || (rotation_worded && ROTATION_FIELDS.contains(&field.as_str()));
                if !skipped {
                    lines.push(format!("{}: {}", field_label(field), value_words(field, value)));
                }
            }
        }
        match (before, after) {
            (Some(before), Some(after)) => {
                let changed = differences(before, after);
                if changed.is_empty() && action != Some(AuditAction::ApiKeyRotated) {
                    lines.push("No settings changed".to_owned());
                }
                lines.extend(changed);
            }
            (None, Some(after)) => lines.extend(
                ordered_fields(after, None)
                    .map(|field| format!("{}: {}", field_label(field), value_words(field, &after[field]))),
            ),
            (Some(_), None) if action == Some(AuditAction::ApiKeyDeleted) => {
                lines.push("Secrets erased: the key can never be used again".to_owned());
            }
            (Some(before), None) => lines.extend(ordered_fields(before, None).map(|field| {
                format!(
                    "{}: {} (removed)",
                    field_label(field),
                    value_words(field, &before[field])
                )
            })),
            (None, None) => {}
        }
        Self(lines)
    }

    /// The lines, for a list on a page.
    pub fn lines(&self) -> &[String] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The lines as one sentence, for a CSV cell: "Scopes: removed write on
/// assets; networks: added 10.0.0.0/8".
impl fmt::Display for ChangeWords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, line) in self.0.iter().enumerate() {
            if i == 0 {
                f.write_str(line)?;
            } else {
                let mut chars = line.chars();
                let first: String = chars.next().map(|c| c.to_lowercase().collect()).unwrap_or_default();
                write!(f, "; {first}{}", chars.as_str())?;
            }
        }
        Ok(())
    }
}

/// The fields of `settings` (and of `other`, if given) in reading order.
fn ordered_fields<'a>(
    settings: &'a Map<String, Value>,
    other: Option<&'a Map<String, Value>>,
) -> impl Iterator<Item = &'a str> {
    let mut fields: Vec<&str> = FIELD_ORDER
        .into_iter()
        .filter(|field| settings.contains_key(*field) || other.is_some_and(|o| o.contains_key(*field)))
        .collect();
    for field in settings.keys().chain(other.into_iter().flat_map(Map::keys)) {
        if !fields.contains(&field.as_str()) {
            fields.push(field);
        }
    }
    fields.into_iter()
}

/// One line per field whose value differs between `before` and `after`.
fn differences(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<String> {
    ordered_fields(before, Some(after))
        .filter_map(|field| {
            let (old, new) = (
                before.get(field).unwrap_or(&Value::Null),
                after.get(field).unwrap_or(&Value::Null),
            );
            if old == new {
                return None;
            }
            let label = field_label(field);
            if let (Some(old), Some(new)) = (old.as_array(), new.as_array()) {
                let removed: Vec<&Value> = old.iter().filter(|v| !new.contains(v)).collect();
                let added: Vec<&Value> = new.iter().filter(|v| !old.contains(v)).collect();
                let mut parts = Vec::new();
                if !removed.is_empty() {
                    parts.push(format!("removed {}", list_words(field, &removed)));
                }
                if !added.is_empty() {
                    parts.push(format!("added {}", list_words(field, &added)));
                }
                // The same entries in another order changed nothing.
                return (!parts.is_empty()).then(|| format!("{label}: {}", parts.join(", ")));
            }
            Some(format!(
                "{label}: {} → {}",
                value_words(field, old),
                value_words(field, new)
            ))
        })
        .collect()
}

/// A rotation's new secret and when the previous ones stop; nothing for
/// details that are not a rotation's.
fn rotation(details: &Map<String, Value>) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(key_id) = details.get("new_key_id").and_then(Value::as_str) {
        lines.push(format!("New secret: {}", shown_key_id(key_id)));
    }
    match (
        details.get("grace_period").and_then(Value::as_str),
        details.get("old_secrets_end_at").and_then(Value::as_str),
    ) {
        (Some("now"), _) => lines.push("Previous secrets: stopped working at once".to_owned()),
        (Some(_) | None, Some(end)) => lines.push(format!("Previous secrets: stop working at {}", instant_words(end))),
        (Some(_), None) | (None, None) => {}
    }
    lines
}

/// "Refused GET /backoffice/settings/api-keys: signed in as Member, needs
/// System Administrator".
fn refused_visit(details: &Map<String, Value>) -> Option<String> {
    let method = details.get("method")?.as_str()?;
    let path = details.get("path")?.as_str()?;
    let mut line = format!("Refused {method} {path}");
    if let Some(role) = details.get("role") {
        line.push_str(&format!(": signed in as {}", value_words("role", role)));
        if let Some(required) = details.get("required_role") {
            line.push_str(&format!(", needs {}", value_words("role", required)));
        }
    }
    Some(line)
}

fn field_label(field: &str) -> String {
    match field {
        "name" => "Name".to_owned(),
        "status" | "enabled" => "Status".to_owned(),
        "scopes" => "Scopes".to_owned(),
        "networks" => "Networks".to_owned(),
        "expires_at" => "Expiry".to_owned(),
        "allow_query_key" => "Key in URL query".to_owned(),
        "key_id" => "Key id".to_owned(),
        "two_factor" => "Two-factor authentication".to_owned(),
        other => {
            let spaced = other.replace('_', " ");
            let mut chars = spaced.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
    }
}

/// `value` of `field` in words.
fn value_words(field: &str, value: &Value) -> String {
    match (field, value) {
        ("expires_at", Value::Null) => "never".to_owned(),
        (_, Value::Null) => "none".to_owned(),
        ("enabled", Value::Bool(enabled)) => if *enabled { "enabled" } else { "disabled" }.to_owned(),
        ("allow_query_key", Value::Bool(allowed)) => if *allowed { "allowed" } else { "not allowed" }.to_owned(),
        ("two_factor", Value::Bool(on)) => if *on { "on" } else { "off" }.to_owned(),
        (_, Value::Bool(yes)) => if *yes { "yes" } else { "no" }.to_owned(),
        ("name", Value::String(name)) => format!("\"{name}\""),
        ("role" | "required_role", Value::String(role)) => role
            .parse::<Role>()
            .map_or_else(|_| role.clone(), |role| role.label().to_owned()),
        ("key_id" | "new_key_id", Value::String(key_id)) => shown_key_id(key_id),
        (field, Value::String(text)) if field.ends_with("_at") => instant_words(text),
        (_, Value::String(text)) => text.clone(),
        (_, Value::Number(number)) => number.to_string(),
        (field, Value::Array(values)) if values.is_empty() => if field == "scopes" {
            "none (it can do nothing)"
        } else {
            "none"
        }
        .to_owned(),
        (field, Value::Array(values)) => list_words(field, &values.iter().collect::<Vec<_>>()),
        (_, Value::Object(_)) => value.to_string(),
    }
}

/// "a", "a and b", "a, b and c".
fn list_words(field: &str, values: &[&Value]) -> String {
    let words: Vec<String> = values.iter().map(|v| value_words(field, v)).collect();
    match words.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// An RFC 3339 instant as the pages write it, with its seconds when it has
/// any (an API may set them), else as written.
fn instant_words(text: &str) -> String {
    match DateTime::parse_from_rfc3339(text) {
        Ok(at) => {
            let at = at.naive_utc();
            if at.second() == 0 {
                for_people(at)
            } else {
                at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
            }
        }
        Err(_) => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn words(action: AuditAction, details: Value) -> Vec<String> {
        ChangeWords::of(Some(action), &details).lines().to_vec()
    }

    fn key(name: &str, scopes: &[&str], networks: &[&str], expires_at: Value) -> Value {
        json!({
            "name": name,
            "enabled": true,
            "expires_at": expires_at,
            "allow_query_key": false,
            "scopes": scopes,
            "networks": networks,
        })
    }

    #[test]
    fn an_edit_says_each_setting_it_changed() {
        let before = key(
            "Flight sync",
            &["read on assets", "write on assets"],
            &["0.0.0.0/0"],
            json!("2027-01-01T00:00:00Z"),
        );
        let after = key(
            "Flight sync v2",
            &["read on assets", "read on crew"],
            &["0.0.0.0/0", "10.0.0.0/8"],
            Value::Null,
        );
        assert_eq!(
            words(AuditAction::ApiKeyUpdated, json!({ "before": before, "after": after })),
            [
                "Name: \"Flight sync\" → \"Flight sync v2\"",
                "Scopes: removed write on assets, added read on crew",
                "Networks: added 10.0.0.0/8",
                "Expiry: 2027-01-01 00:00 UTC → never",
            ]
        );
    }

    #[test]
    fn the_sentence_joins_the_lines_for_a_csv_cell() {
        let before = key("K", &["write on assets"], &["0.0.0.0/0"], Value::Null);
        let after = key(
            "K",
            &["read on crew"],
            &["0.0.0.0/0", "10.0.0.0/8"],
            json!("2027-01-01T00:00:00Z"),
        );
        let change = ChangeWords::of(
            Some(AuditAction::ApiKeyUpdated),
            &json!({ "before": before, "after": after }),
        );
        assert_eq!(
            change.to_string(),
            "Scopes: removed write on assets, added read on crew; networks: added 10.0.0.0/8; \
             expiry: never → 2027-01-01 00:00 UTC"
        );
    }

    #[test]
    fn several_entries_read_as_a_list_and_removals_come_first() {
        let before = key(
            "K",
            &["admin on *", "read on a", "write on b"],
            &["10.0.0.0/8", "::/0"],
            Value::Null,
        );
        let after = key(
            "K",
            &["read on a", "read on c", "read on d"],
            &["192.168.0.0/16"],
            Value::Null,
        );
        assert_eq!(
            words(AuditAction::ApiKeyUpdated, json!({ "before": before, "after": after })),
            [
                "Scopes: removed admin on * and write on b, added read on c and read on d",
                "Networks: removed 10.0.0.0/8 and ::/0, added 192.168.0.0/16",
            ]
        );
    }

    #[test]
    fn an_edit_that_changed_nothing_says_so_and_order_alone_is_no_change() {
        let before = key("K", &["read on a", "read on b"], &["0.0.0.0/0"], Value::Null);
        let after = key("K", &["read on b", "read on a"], &["0.0.0.0/0"], Value::Null);
        assert_eq!(
            words(AuditAction::ApiKeyUpdated, json!({ "before": before, "after": after })),
            ["No settings changed"]
        );
    }

    #[test]
    fn expiry_is_worded_in_utc_both_ways_with_seconds_when_it_has_them() {
        let change = |old: Value, new: Value| {
            words(
                AuditAction::ApiKeyUpdated,
                json!({ "before": { "expires_at": old }, "after": { "expires_at": new } }),
            )
        };
        assert_eq!(
            change(Value::Null, json!("2027-01-31T13:45:00Z")),
            ["Expiry: never → 2027-01-31 13:45 UTC"]
        );
        assert_eq!(
            change(json!("2027-01-31T13:45:00Z"), json!("2027-01-31T13:45:30Z")),
            ["Expiry: 2027-01-31 13:45 UTC → 2027-01-31 13:45:30 UTC"]
        );
    }

    #[test]
    fn the_url_query_choice_and_enabling_are_worded() {
        assert_eq!(
            words(
                AuditAction::ApiKeyUpdated,
                json!({ "before": { "allow_query_key": false }, "after": { "allow_query_key": true } })
            ),
            ["Key in URL query: not allowed → allowed"]
        );
        assert_eq!(
            words(
                AuditAction::ApiKeyDisabled,
                json!({ "before": { "enabled": true }, "after": { "enabled": false } })
            ),
            ["Status: enabled → disabled"]
        );
        assert_eq!(
            words(
                AuditAction::ApiKeyEnabled,
                json!({ "before": { "enabled": false }, "after": { "enabled": true } })
            ),
            ["Status: disabled → enabled"]
        );
        assert_eq!(
            words(
                AuditAction::ApiKeyRevoked,
                json!({ "before": { "status": "active" }, "after": { "status": "revoked" } })
            ),
            ["Status: active → revoked"]
        );
    }

    #[test]
    fn a_rotation_names_the_new_secret_and_when_the_old_ones_stop() {
        let settings = key("K", &["read on a"], &["0.0.0.0/0"], Value::Null);
        assert_eq!(
            words(
                AuditAction::ApiKeyRotated,
                json!({
                    "grace_period": "24h",
                    "old_secrets_end_at": "2026-11-24T14:05:00Z",
                    "new_key_id": "AbCd12345678",
                    "before": settings,
                    "after": settings,
                })
            ),
            [
                "New secret: ask_AbCd12345678…",
                "Previous secrets: stop working at 2026-11-24 14:05 UTC",
            ],
            "settings that stayed are not listed"
        );
        let expired = key("K", &["read on a"], &["0.0.0.0/0"], json!("2026-01-01T00:00:00Z"));
        assert_eq!(
            words(
                AuditAction::ApiKeyRotated,
                json!({
                    "grace_period": "now",
                    "old_secrets_end_at": "2026-11-23T14:05:00Z",
                    "new_key_id": "AbCd12345678",
                    "before": expired,
                    "after": settings,
                })
            ),
            [
                "New secret: ask_AbCd12345678…",
                "Previous secrets: stopped working at once",
                "Expiry: 2026-01-01 00:00 UTC → never",
            ]
        );
    }

    #[test]
    fn a_new_key_lists_its_settings_and_a_deleted_one_says_its_secrets_are_gone() {
        let settings = key("Flight sync", &["read on assets"], &["10.0.0.0/8"], Value::Null);
        assert_eq!(
            words(
                AuditAction::ApiKeyCreated,
                json!({ "after": settings, "key_id": "AbCd12345678" })
            ),
            [
                "Key id: ask_AbCd12345678…",
                "Name: \"Flight sync\"",
                "Status: enabled",
                "Scopes: read on assets",
                "Networks: 10.0.0.0/8",
                "Expiry: never",
                "Key in URL query: not allowed",
            ]
        );
        assert_eq!(
            words(AuditAction::ApiKeyDeleted, json!({ "before": settings })),
            ["Secrets erased: the key can never be used again"]
        );
    }

    #[test]
    fn people_and_refused_visits_read_plainly() {
        assert_eq!(
            words(
                AuditAction::UserCreated,
                json!({ "after": { "email": "ada@acme.test", "role": "system-administrator" } })
            ),
            ["Email: ada@acme.test", "Role: System Administrator"]
        );
        assert_eq!(
            words(
                AuditAction::AccessDenied,
                json!({ "method": "GET", "path": "/backoffice/settings/api-keys", "role": "member", "required_role": "system-administrator" })
            ),
            ["Refused GET /backoffice/settings/api-keys: signed in as Member, needs System Administrator"]
        );
        assert_eq!(
            words(AuditAction::SignInFailed, json!({ "email": "eve@acme.test" })),
            ["Email: eve@acme.test"]
        );
        assert!(words(AuditAction::SignedIn, json!({})).is_empty());
    }

    #[test]
    fn people_administration_reads_as_before_and_after() {
        assert_eq!(
            words(
                AuditAction::UserRoleChanged,
                json!({ "sessions_ended": 2, "before": { "role": "member" }, "after": { "role": "system-administrator" } })
            ),
            ["Sessions ended: 2", "Role: Member → System Administrator"]
        );
        assert_eq!(
            words(
                AuditAction::UserDisabled,
                json!({ "before": { "status": "Active" }, "after": { "status": "Disabled" } })
            ),
            ["Status: Active → Disabled"]
        );
        assert_eq!(
            words(
                AuditAction::TwoFactorReset,
                json!({ "before": { "two_factor": true }, "after": { "two_factor": false } })
            ),
            ["Two-factor authentication: on → off"]
        );
    }

    #[test]
    fn details_of_an_unknown_shape_are_worded_field_by_field_never_dropped() {
        assert_eq!(
            ChangeWords::of(
                None,
                &json!({ "before": { "code_count": 10 }, "after": { "code_count": 9 }, "method_used": "totp" })
            )
            .lines(),
            ["Method used: totp", "Code count: 10 → 9"]
        );
        assert!(ChangeWords::of(None, &json!("not an object")).is_empty());
        assert!(ChangeWords::of(None, &Value::Null).is_empty());
    }
}
