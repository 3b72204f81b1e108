//! The create and edit form of a key: its fields as typed, the messages
//! beside them, what the template shows, and the parse of the whole form
//! into the domain's types (the scope choice is the domain's own rule).

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;
use chrono::Utc;

use super::dialog::dialog_response;
use crate::domain::ValidationError;
use crate::domain::api_key::{Expiry, KeyName};
use crate::domain::network::NetworkList;
use crate::domain::permissions::{Catalogue, Permission, PermissionGroup};
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
    /// `full`, `read` or `custom`.
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
}

/// Messages beside each field.
#[derive(Debug, Default)]
pub struct KeyFormErrors {
    pub name: Option<String>,
    pub expires_at: Option<String>,
    pub scopes: Option<String>,
    pub networks: Option<String>,
}

impl KeyFormErrors {
    /// The store refused the name (another key of the organization has it).
    pub fn name_taken(message: String) -> Self {
        Self {
            name: Some(message),
            ..Self::default()
        }
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
    let networks = NetworkList::parse_lines(&form.networks)
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

/// What the key form template shows.
pub struct KeyFormView {
    pub name: String,
    pub expires_at: String,
    pub scope_mode: String,
    pub rows: Vec<ScopeRow>,
    pub networks: String,
    pub networks_wildcard: bool,
    pub allow_query_key: bool,
    pub actions: Vec<(&'static str, &'static str)>,
    /// Ticked catalogue permissions.
    pub permissions: Vec<String>,
}

impl KeyFormView {
    /// The form as submitted, shown again with its messages. Echoed fields
    /// are cut to a length the page can show.
    pub fn from_form(form: &KeyForm) -> Self {
        let mut rows: Vec<ScopeRow> = form
            .scope_choice()
            .filled_rows()
            .map(|(_, action, resource)| ScopeRow {
                action: action.to_owned(),
                resource: resource.to_owned(),
            })
            .collect();
        while rows.len() < 3 {
            rows.push(ScopeRow {
                action: String::new(),
                resource: String::new(),
            });
        }
        Self {
            name: form.name.chars().take(200).collect(),
            expires_at: form.expires_at.chars().take(100).collect(),
            scope_mode: if form.scope_mode.is_empty() {
                "full".into()
            } else {
                form.scope_mode.clone()
            },
            rows,
            networks_wildcard: form.networks.contains("/0"),
            networks: form.networks.chars().take(20_000).collect(),
            allow_query_key: form.allow_query_key.is_some(),
            actions: Action::ALL.iter().map(|a| (a.as_str(), a.label())).collect(),
            permissions: form.permission.clone(),
        }
    }

    pub fn blank() -> Self {
        Self::from_form(&KeyForm {
            networks: NetworkList::allow_all().to_lines(),
            ..KeyForm::default()
        })
    }

    pub fn of_key(detail: &KeyDetail, catalogue: &Catalogue) -> Self {
        let full = detail.scopes == ScopeSet::full_access();
        let read = detail.scopes == ScopeSet::read_only();
        let offered: Vec<String> = catalogue
            .groups
            .iter()
            .flat_map(|g| g.permissions.iter().map(Permission::value))
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
        })
    }
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
    pub catalogue: Vec<PermissionGroup>,
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
            form,
            errors,
            catalogue: catalogue.groups.clone(),
        }
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
            .respond(hx, StatusCode::UNPROCESSABLE_ENTITY)
    }
}
