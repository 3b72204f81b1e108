//! The create and edit form of a key: its fields as typed, the messages
//! beside them (and in the summary at the top), what the template shows, the
//! changes a form can make to itself without JavaScript, and the parse of
//! the whole form into the domain's types (the scope choice is the domain's
//! own rule).

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;
use chrono::{TimeDelta, Utc};

use super::dialog::dialog_response;
use super::feedback::ReturnTo;
use crate::domain::ValidationError;
use crate::domain::api_key::{Expiry, KeyName};
use crate::domain::form_token::FormToken;
use crate::domain::network::{Network, NetworkList};
use crate::domain::permissions::Catalogue;
use crate::domain::scope::{Action, Scope, ScopeChoice, ScopeSet};
use crate::error::AppError;
use crate::service::keys::KeyDetail;
use crate::web::Layout;
use crate::web::htmx::HxRequest;

/// The fields of the create and edit forms, as typed: the domain parsers
/// say what is valid (README, "Layout").
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub expires_at: String,
    /// `full`, `read` or `custom`; blank until the administrator chooses.
    #[serde(default)]
    pub scope_mode: String,
    #[serde(default)]
    pub scope_action: Vec<String>,
    #[serde(default)]
    pub scope_resource: Vec<String>,
    /// Ticked catalogue permissions, as `ACTION:FILTER`.
    #[serde(default)]
    pub permission: Vec<String>,
    #[serde(default)]
    pub networks: String,
    #[serde(default)]
    pub allow_query_key: Option<String>,
    /// Set by the buttons that change the form itself (a quick pick, "Any
    /// address", a suggested network, "Add scope", "Remove scope N"): with
    /// JavaScript they act in the page; without it the form comes back with
    /// the change made, and nothing is saved.
    #[serde(default)]
    pub adjust: Option<String>,
    /// The create form's one-time token (see `service::keys::once`).
    #[serde(default)]
    pub form_token: String,
    /// Where Save (and Cancel) go back to; see `feedback::ReturnTo`.
    #[serde(default)]
    pub return_to: String,
}

/// The most custom rows the form shows: as many as a key may have scopes.
const MAX_ROWS: usize = ScopeSet::MAX;

/// The quick picks of the expiry field: label, days (`None`: never).
const EXPIRY_PICKS: [(&str, Option<i64>); 4] = [
    ("30 days", Some(30)),
    ("90 days", Some(90)),
    ("365 days", Some(365)),
    ("Never", None),
];

/// A new key's expiry unless the administrator picks another.
const DEFAULT_EXPIRY_DAYS: i64 = 90;

/// The date `days` from now, as the expiry field takes it (a date alone is
/// 00:00 UTC of that day; app.js computes the same).
fn date_in_days(days: i64) -> String {
    (Utc::now() + TimeDelta::days(days)).format("%Y-%m-%d").to_string()
}

impl KeyForm {
    fn scope_choice(&self) -> ScopeChoice<'_> {
        ScopeChoice {
            mode: &self.scope_mode,
            actions: &self.scope_action,
            resources: &self.scope_resource,
            permissions: &self.permission,
        }
    }

    /// The custom rows as submitted, blank ones included (a row may come
    /// with its action and without its resource, or the other way round).
    fn rows(&self) -> Vec<(String, String)> {
        let len = self.scope_action.len().max(self.scope_resource.len()).min(MAX_ROWS);
        let at = |list: &[String], i: usize| list.get(i).cloned().unwrap_or_default();
        (0..len)
            .map(|i| (at(&self.scope_action, i), at(&self.scope_resource, i)))
            .collect()
    }

    fn set_rows(&mut self, rows: Vec<(String, String)>) {
        (self.scope_action, self.scope_resource) = rows.into_iter().unzip();
    }

    /// The form with the change its `adjust` button asks for, to be shown
    /// again; `None` when it was sent to be saved. An `adjust` the form does
    /// not know changes nothing, and still saves nothing.
    pub fn adjusted(&self) -> Option<KeyForm> {
        let adjust = self.adjust.as_deref()?;
        let mut form = self.clone();
        form.adjust = None;
        if let Some(pick) = adjust.strip_prefix("expiry:") {
            if let Some((_, days)) = EXPIRY_PICKS.iter().find(|(_, days)| pick_value(*days) == pick) {
                form.expires_at = days.map(date_in_days).unwrap_or_default();
            }
        } else if adjust == "networks:any" {
            form.networks = NetworkList::allow_all().to_lines();
        } else if adjust == "networks:fix" {
            form.networks = with_host_bits_fixed(&form.networks);
        } else if adjust == "scope:add" {
            let mut rows = form.rows();
            if rows.len() < MAX_ROWS {
                rows.push((String::new(), String::new()));
            }
            form.set_rows(rows);
        } else if let Some(row) = adjust.strip_prefix("scope:remove:")
            && let Ok(row) = row.parse::<usize>()
        {
            let mut rows = form.rows();
            if (1..=rows.len()).contains(&row) {
                rows.remove(row - 1);
            }
            form.set_rows(rows);
        }
        Some(form)
    }
}

/// `adjust`'s value for a quick pick.
fn pick_value(days: Option<i64>) -> String {
    days.map_or_else(|| "never".to_owned(), |d| d.to_string())
}

/// Every entry that has host bits set replaced by the network it meant,
/// one entry a line.
fn with_host_bits_fixed(text: &str) -> String {
    text.split(['\n', ','])
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| Network::meant(entry).map_or_else(|| entry.to_owned(), |net| net.to_string()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Messages beside each field.
#[derive(Debug, Default)]
pub struct KeyFormErrors {
    pub name: Option<String>,
    pub expires_at: Option<String>,
    pub scopes: Option<String>,
    pub networks: Option<String>,
}

/// One line of the summary at the top of a refused form: a link to the
/// field (its id), the field's name and its message.
pub struct Problem {
    pub field_id: &'static str,
    pub field: &'static str,
    pub message: String,
}

impl KeyFormErrors {
    /// The store refused the name (another key of the organization has it).
    pub fn name_taken(message: String) -> Self {
        Self {
            name: Some(message),
            ..Self::default()
        }
    }

    /// Every message, in the order of the fields.
    pub fn problems(&self) -> Vec<Problem> {
        [
            ("key-name", "Name", &self.name),
            ("key-expires", "Expires at", &self.expires_at),
            ("key-scopes", "Scopes", &self.scopes),
            ("key-networks", "Allowed networks", &self.networks),
        ]
        .into_iter()
        .filter_map(|(field_id, field, message)| {
            message.clone().map(|message| Problem {
                field_id,
                field,
                message,
            })
        })
        .collect()
    }
}

/// A form that passed: what the create and edit flows hand to the service.
pub struct ParsedKeyForm {
    pub name: KeyName,
    pub expiry: Option<Expiry>,
    pub scopes: ScopeSet,
    pub networks: NetworkList,
}

/// Validates the whole form, collecting every field's message.
/// `stored` is the key being edited (`None` on create).
pub fn parse(form: &KeyForm, stored: Option<&KeyDetail>) -> Result<ParsedKeyForm, KeyFormErrors> {
    let mut errors = KeyFormErrors::default();
    let name = KeyName::parse(&form.name).map_err(|e| errors.name = Some(e.0)).ok();
    let expiry = parse_expiry(form, stored)
        .map_err(|e| errors.expires_at = Some(e.0))
        .ok();
    let scopes = form.scope_choice().scopes().map_err(|e| errors.scopes = Some(e.0)).ok();
    let networks = parse_networks(&form.networks)
        .map_err(|e| errors.networks = Some(e.0))
        .ok();
    match (name, expiry, scopes, networks) {
        (Some(name), Some(expiry), Some(scopes), Some(networks)) => Ok(ParsedKeyForm {
            name,
            expiry,
            scopes,
            networks,
        }),
        _ => Err(errors),
    }
}

/// The form starts with no network: where a key may be called from is
/// chosen, never assumed, and "every address" is the one-click choice the
/// message names.
fn parse_networks(text: &str) -> Result<NetworkList, ValidationError> {
    if text.trim().is_empty() {
        return Err(ValidationError::new(
            "Choose where the key may be called from: list its networks, or choose “Any address” to allow every address.",
        ));
    }
    NetworkList::parse_lines(text)
}

/// A stored expiry as the edit form shows it: to the minute, or to the
/// second when it has seconds (set through the API), so nothing is hidden.
fn shown_expiry(detail: &KeyDetail) -> String {
    use chrono::Timelike as _;
    detail
        .key
        .expires_at
        .map(|t| {
            let format = if t.second() == 0 && t.nanosecond() == 0 {
                "%Y-%m-%dT%H:%M"
            } else {
                "%Y-%m-%dT%H:%M:%S"
            };
            t.format(format).to_string()
        })
        .unwrap_or_default()
}

/// The expiry a submitted form asks for. On edit, a field left as the form
/// showed it keeps the stored instant exactly (seconds included, and even
/// when it has passed: renaming an expired key does not need a new date).
fn parse_expiry(form: &KeyForm, stored: Option<&KeyDetail>) -> Result<Option<Expiry>, ValidationError> {
    if let Some(detail) = stored
        && form.expires_at.trim() == shown_expiry(detail)
    {
        return Ok(detail.key.expires_at.map(|t| Expiry::at_instant(t.and_utc())));
    }
    Expiry::parse(&form.expires_at, Utc::now())
}

/// One custom scope row of the form.
pub struct ScopeRow {
    pub action: String,
    pub resource: String,
}

/// One quick pick of the expiry field.
pub struct ExpiryPick {
    pub label: &'static str,
    /// Its `adjust` value (no JavaScript) and its `data-expiry-days` (blank: never).
    pub adjust: String,
    pub days: String,
    /// Whether the field holds what this pick gives.
    pub pressed: bool,
}

/// What the key form template shows.
pub struct KeyFormView {
    pub name: String,
    pub expires_at: String,
    pub expiry_picks: Vec<ExpiryPick>,
    pub scope_mode: String,
    pub rows: Vec<ScopeRow>,
    pub networks: String,
    pub networks_wildcard: bool,
    /// Entries with host bits set and the network each meant, as typed.
    pub network_fixes: Vec<(String, String)>,
    pub allow_query_key: bool,
    pub actions: Vec<(&'static str, &'static str)>,
    /// Ticked catalogue permissions.
    pub permissions: Vec<String>,
    /// The create form's one-time token; blank on edit.
    pub form_token: String,
}

impl KeyFormView {
    /// The form as submitted, shown again with its messages. Echoed fields
    /// are cut to a length the page can show.
    pub fn from_form(form: &KeyForm) -> Self {
        let mut rows: Vec<ScopeRow> = form
            .rows()
            .into_iter()
            .map(|(action, resource)| ScopeRow { action, resource })
            .collect();
        if rows.is_empty() {
            rows.push(ScopeRow {
                action: String::new(),
                resource: String::new(),
            });
        }
        let expires_at: String = form.expires_at.chars().take(100).collect();
        let expiry_picks = EXPIRY_PICKS
            .iter()
            .map(|&(label, days)| ExpiryPick {
                label,
                adjust: format!("expiry:{}", pick_value(days)),
                days: days.map(|d| d.to_string()).unwrap_or_default(),
                pressed: expires_at.trim() == days.map(date_in_days).unwrap_or_default(),
            })
            .collect();
        Self {
            name: form.name.chars().take(200).collect(),
            expires_at,
            expiry_picks,
            scope_mode: form.scope_mode.clone(),
            rows,
            networks_wildcard: form
                .networks
                .split(['\n', ','])
                .any(|entry| entry.trim().ends_with("/0")),
            network_fixes: NetworkList::host_bit_fixes(&form.networks)
                .into_iter()
                .take(10)
                .map(|(typed, meant)| (typed.chars().take(100).collect(), meant.to_string()))
                .collect(),
            networks: form.networks.chars().take(20_000).collect(),
            allow_query_key: form.allow_query_key.is_some(),
            actions: Action::ALL.iter().map(|a| (a.as_str(), a.label())).collect(),
            permissions: form.permission.clone(),
            form_token: FormToken::parse(&form.form_token)
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default(),
        }
    }

    /// A new key's form: least privilege. No scope and no network chosen,
    /// an expiry in 90 days.
    pub fn blank() -> Self {
        Self::from_form(&KeyForm {
            expires_at: date_in_days(DEFAULT_EXPIRY_DAYS),
            form_token: FormToken::generate().as_str().to_owned(),
            ..KeyForm::default()
        })
    }

    pub fn of_key(detail: &KeyDetail, catalogue: &Catalogue) -> Self {
        let full = detail.scopes == ScopeSet::full_access();
        let read = detail.scopes == ScopeSet::read_only();
        let offered: Vec<String> = catalogue
            .groups
            .iter()
            .flat_map(|g| g.permissions.iter().map(|p| p.value()))
            .collect();
        // Full access and Read only are their radio alone: no rows, which
        // would otherwise be refused as filled in beside another choice.
        let (permissions, rows): (Vec<&Scope>, Vec<&Scope>) = detail
            .scopes
            .iter()
            .filter(|_| !full && !read)
            .partition(|s| offered.contains(&s.to_pair()));
        Self::from_form(&KeyForm {
            name: detail.key.name.clone(),
            expires_at: shown_expiry(detail),
            scope_mode: if full {
                "full"
            } else if read {
                "read"
            } else {
                "custom"
            }
            .to_owned(),
            scope_action: rows.iter().map(|s| s.action.as_str().to_owned()).collect(),
            permission: permissions.iter().map(|s| s.to_pair()).collect(),
            scope_resource: rows.iter().map(|s| s.filter.as_str().to_owned()).collect(),
            networks: detail.networks.to_lines(),
            allow_query_key: detail.key.allow_query_key.then(String::new),
            ..KeyForm::default()
        })
    }
}

/// One catalogue permission as the form shows it.
pub struct PermissionView {
    /// The checkbox's id.
    pub id: String,
    pub value: String,
    pub name: String,
    /// "read on assets".
    pub scope: String,
    pub checked: bool,
    /// The values of the other permissions that cover this one (app.js
    /// says "covered by …" when one of them is ticked).
    pub covered_by: String,
    /// "covered by read on assets" when a ticked permission covers it.
    pub covered_note: Option<String>,
}

pub struct PermissionGroupView {
    pub name: String,
    /// Open when one of its permissions is ticked.
    pub open: bool,
    pub permissions: Vec<PermissionView>,
}

/// The catalogue with what `ticked` ticks, and which permission covers which.
fn catalogue_view(catalogue: &Catalogue, ticked: &[String]) -> Vec<PermissionGroupView> {
    let all: Vec<&Scope> = catalogue
        .groups
        .iter()
        .flat_map(|g| g.permissions.iter().map(|p| &p.scope))
        .collect();
    // Of two permissions with the same scope, the later one is the covered one.
    let covers = |(i, holder): (usize, &Scope), (j, wanted): (usize, &Scope)| {
        i != j && holder.covers(wanted) && (holder != wanted || i < j)
    };
    let mut index = 0;
    catalogue
        .groups
        .iter()
        .map(|group| {
            let permissions: Vec<PermissionView> = group
                .permissions
                .iter()
                .map(|permission| {
                    let me = (index, &permission.scope);
                    index += 1;
                    let mut coverers: Vec<&Scope> = Vec::new();
                    for (i, holder) in all.iter().enumerate() {
                        if covers((i, holder), me) && !coverers.contains(holder) {
                            coverers.push(holder);
                        }
                    }
                    let value = permission.value();
                    PermissionView {
                        id: format!("permission-{}", me.0 + 1),
                        checked: ticked.contains(&value),
                        covered_by: coverers.iter().map(|s| s.to_pair()).collect::<Vec<_>>().join(" "),
                        covered_note: coverers
                            .iter()
                            .find(|s| ticked.contains(&s.to_pair()))
                            .map(|s| format!("covered by {s}")),
                        value,
                        name: permission.name.clone(),
                        scope: permission.scope.to_string(),
                    }
                })
                .collect();
            PermissionGroupView {
                name: group.name.clone(),
                open: permissions.iter().any(|p| p.checked),
                permissions,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "api_keys/key_form.html", blocks = ["dialog"])]
pub struct KeyFormDialog {
    pub layout: Layout,
    /// `None` = create.
    pub key_id: Option<String>,
    pub title: &'static str,
    pub form: KeyFormView,
    pub errors: KeyFormErrors,
    /// The summary at the top: every message, linked to its field.
    pub problems: Vec<Problem>,
    pub catalogue: Vec<PermissionGroupView>,
    /// Where Save and Cancel go back to (the list, or the key's page).
    pub back: ReturnTo,
}

impl KeyFormDialog {
    /// The create form (`key_id` `None`) or the edit form of `key_id`.
    pub fn new(
        layout: Layout,
        key_id: Option<String>,
        form: KeyFormView,
        errors: KeyFormErrors,
        catalogue: &Catalogue,
    ) -> Self {
        Self {
            layout,
            title: if key_id.is_some() {
                "Edit API key"
            } else {
                "Create API key"
            },
            key_id,
            catalogue: catalogue_view(catalogue, &form.permissions),
            form,
            problems: errors.problems(),
            errors,
            back: ReturnTo::list(),
        }
    }

    /// The same dialog, going back to `back` after Save or Cancel.
    pub fn returning_to(self, back: ReturnTo) -> Self {
        Self { back, ..self }
    }

    pub fn respond(self, hx: HxRequest, status: StatusCode) -> Result<HttpResponse, AppError> {
        dialog_response!(hx, status, self)
    }

    /// The submitted form again, with its messages (422).
    pub fn again(
        layout: Layout,
        key_id: Option<String>,
        form: &KeyForm,
        errors: KeyFormErrors,
        catalogue: &Catalogue,
        hx: HxRequest,
    ) -> Result<HttpResponse, AppError> {
        Self::new(layout, key_id, KeyFormView::from_form(form), errors, catalogue)
            .returning_to(ReturnTo::or_list(Some(&form.return_to)))
            .respond(hx, StatusCode::UNPROCESSABLE_ENTITY)
    }

    /// A form that changed itself (`KeyForm::adjusted`), shown again (200).
    pub fn adjusted(
        layout: Layout,
        key_id: Option<String>,
        form: &KeyForm,
        catalogue: &Catalogue,
        hx: HxRequest,
    ) -> Result<HttpResponse, AppError> {
        Self::new(
            layout,
            key_id,
            KeyFormView::from_form(form),
            KeyFormErrors::default(),
            catalogue,
        )
        .returning_to(ReturnTo::or_list(Some(&form.return_to)))
        .respond(hx, StatusCode::OK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adjusted(form: KeyForm, adjust: &str) -> KeyForm {
        KeyForm {
            adjust: Some(adjust.to_owned()),
            ..form
        }
        .adjusted()
        .expect("an adjustment")
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    #[test]
    fn a_form_sent_to_be_saved_is_not_an_adjustment() {
        assert!(KeyForm::default().adjusted().is_none());
        let unknown = adjusted(
            KeyForm {
                name: "Kept".into(),
                ..KeyForm::default()
            },
            "nonsense",
        );
        assert_eq!(unknown.name, "Kept");
        assert!(unknown.adjust.is_none());
    }

    #[test]
    fn quick_picks_networks_and_rows_change_the_form_as_their_buttons_say() {
        let form = KeyForm {
            expires_at: "2099-01-01".into(),
            networks: "10.1.2.3/8, 192.168.0.0/16\n2001:db8::1/32".into(),
            scope_action: strings(&["read", "write"]),
            scope_resource: strings(&["assets"]),
            ..KeyForm::default()
        };
        assert_eq!(adjusted(form.clone(), "expiry:never").expires_at, "");
        assert_eq!(adjusted(form.clone(), "expiry:30").expires_at, date_in_days(30));
        assert_eq!(adjusted(form.clone(), "expiry:12").expires_at, "2099-01-01");
        assert_eq!(adjusted(form.clone(), "networks:any").networks, "0.0.0.0/0\n::/0");
        assert_eq!(
            adjusted(form.clone(), "networks:fix").networks,
            "10.0.0.0/8\n192.168.0.0/16\n2001:db8::/32"
        );
        let added = adjusted(form.clone(), "scope:add");
        assert_eq!(added.scope_action, strings(&["read", "write", ""]));
        assert_eq!(added.scope_resource, strings(&["assets", "", ""]));
        let removed = adjusted(form.clone(), "scope:remove:1");
        assert_eq!(
            (removed.scope_action, removed.scope_resource),
            (strings(&["write"]), strings(&[""]))
        );
        let out_of_range = adjusted(form, "scope:remove:9");
        assert_eq!(out_of_range.scope_action.len(), 2);
    }

    #[test]
    fn a_new_key_starts_with_no_scope_no_network_and_ninety_days() {
        let blank = KeyFormView::blank();
        assert_eq!(blank.scope_mode, "");
        assert_eq!(blank.networks, "");
        assert_eq!(blank.expires_at, date_in_days(90));
        let pressed: Vec<&str> = blank
            .expiry_picks
            .iter()
            .filter(|p| p.pressed)
            .map(|p| p.label)
            .collect();
        assert_eq!(pressed, ["90 days"]);
        assert!(FormToken::parse(&blank.form_token).is_some());
        assert_eq!(blank.rows.len(), 1);
    }

    #[test]
    fn the_summary_lists_every_message_in_field_order() {
        let errors = KeyFormErrors {
            networks: Some("n".into()),
            name: Some("a".into()),
            ..KeyFormErrors::default()
        };
        let problems: Vec<(&str, &str)> = errors.problems().iter().map(|p| (p.field_id, p.field)).collect();
        assert_eq!(problems, [("key-name", "Name"), ("key-networks", "Allowed networks")]);
    }

    #[test]
    fn a_ticked_permission_says_which_other_ticked_one_covers_it() {
        let catalogue = Catalogue::parse(
            r#"
            [[group]]
            name = "Assets"
            permissions = [
              { name = "Search Assets", action = "read", resource = "assets" },
              { name = "Get Children of Asset", action = "read", resource = "assets/children" },
              { name = "Search Assets again", action = "read", resource = "assets" },
            ]
            "#,
        )
        .expect("a catalogue");
        let view = catalogue_view(&catalogue, &strings(&["read:assets", "read:assets/children"]));
        let permissions = &view[0].permissions;
        assert!(view[0].open);
        assert_eq!(permissions[0].covered_note, None);
        assert_eq!(
            permissions[1].covered_note.as_deref(),
            Some("covered by read on assets")
        );
        assert_eq!(permissions[1].covered_by, "read:assets");
        assert_eq!(
            permissions[0].covered_by, "",
            "the first of two equal ones is not covered"
        );
        assert_eq!(permissions[2].covered_by, "read:assets");
    }
}
