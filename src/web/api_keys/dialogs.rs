//! The key dialogs: create (then the one-time secret), edit, rotate (then the
//! secret), revoke and delete confirmations, and the enable/disable toggle.
//! For htmx each answers the fragment that goes into the page's `<dialog>`
//! (or the updated row); without JavaScript the same content is a page.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;

use super::BASE;
use super::list::{KeyRowPartial, rows_for};
use crate::auth::client_ip::{self, TrustedProxies};
use crate::auth::guard::CurrentUser;
use std::net::IpAddr;

use crate::domain::ValidationError;
use crate::domain::api_key::{Expiry, KeyName, KeyStatus};
use crate::domain::audit::Actor;
use crate::domain::network::NetworkList;
use crate::domain::permissions::{Catalogue, Permission, PermissionGroup};
use crate::domain::scope::{Action, ResourceFilter, Scope, ScopeSet};
use crate::domain::secret::ServerSecret;
use crate::domain::token::ApiKeyToken;
use crate::error::AppError;
use crate::service::keys::{self, GracePeriod, KeyChanges, KeyDetail, KeyService, NewKey, Rotation};
use crate::store::DbConnection;
use crate::store::{self, Db};
use crate::web::forms::HtmlForm;
use crate::web::htmx::HxRequest;
use crate::web::{Layout, render, see_other};

/// htmx: refresh the list and close the dialog.
const CHANGED: &str = r#"{"api-keys-changed": true, "close-modal": true}"#;
/// htmx: refresh the list (the dialog stays, showing the secret).
const CHANGED_KEEP_DIALOG: &str = "api-keys-changed";

fn with_trigger(mut response: HttpResponse, trigger: &'static str) -> HttpResponse {
    response.headers_mut().insert(
        header::HeaderName::from_static("hx-trigger"),
        HeaderValue::from_static(trigger),
    );
    response
}

/// Renders a dialog as a fragment (htmx) or as a page.
macro_rules! dialog_response {
    ($hx:expr, $status:expr, $template:expr) => {
        if $hx.wants_fragment() {
            render($status, &$template.as_dialog())
        } else {
            render($status, &$template)
        }
    };
}

/// The fields of the create and edit forms, as typed.
#[derive(Debug, Clone, Default, serde::Deserialize, validator::Validate)]
pub struct KeyForm {
    #[serde(default)]
    #[validate(length(max = 1000, message = "The name is far too long."))]
    pub name: String,
    #[serde(default)]
    #[validate(length(max = 100, message = "That is not a date."))]
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

/// Messages beside each field.
#[derive(Debug, Default)]
pub struct KeyFormErrors {
    pub name: Option<String>,
    pub expires_at: Option<String>,
    pub scopes: Option<String>,
    pub networks: Option<String>,
    pub form: Option<String>,
}

impl KeyFormErrors {
    fn any(&self) -> bool {
        self.name.is_some()
            || self.expires_at.is_some()
            || self.scopes.is_some()
            || self.networks.is_some()
            || self.form.is_some()
    }
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
    fn from_form(form: &KeyForm) -> Self {
        let mut rows: Vec<ScopeRow> = form
            .scope_action
            .iter()
            .zip(form.scope_resource.iter().chain(std::iter::repeat(&String::new())))
            .filter(|(a, r)| !a.is_empty() || !r.is_empty())
            .map(|(a, r)| ScopeRow {
                action: a.clone(),
                resource: r.clone(),
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

    fn blank() -> Self {
        Self::from_form(&KeyForm {
            networks: NetworkList::allow_all().to_lines(),
            ..KeyForm::default()
        })
    }

    fn of_key(detail: &KeyDetail, catalogue: &Catalogue) -> Self {
        let full = detail.scopes.summary() == "Full access" && detail.scopes.iter().count() == 1;
        let read = detail.scopes.summary() == "Read only";
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

/// The custom rows that were filled in, as typed: (row number, action, resource).
fn filled_rows(form: &KeyForm) -> impl Iterator<Item = (usize, &str, &str)> {
    let resources = form
        .scope_resource
        .iter()
        .map(String::as_str)
        .chain(std::iter::repeat(""));
    form.scope_action
        .iter()
        .map(String::as_str)
        .zip(resources)
        .enumerate()
        .filter(|(_, (action, resource))| !action.trim().is_empty() || !resource.trim().is_empty())
        .map(|(i, (action, resource))| (i + 1, action, resource))
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

fn parse_scopes(form: &KeyForm) -> Result<ScopeSet, ValidationError> {
    // Whatever was filled in for "Custom scopes" is either taken or refused,
    // never dropped: a key must not get more than the form shows.
    let mode = form.scope_mode.as_str();
    if matches!(mode, "" | "full" | "read") {
        let rows = filled_rows(form).count() > 0;
        if rows || !form.permission.is_empty() {
            let what = match (rows, form.permission.is_empty()) {
                (true, true) => "You filled in custom scope rows",
                (true, false) => "You filled in custom scope rows and ticked permissions from the list",
                _ => "You ticked permissions from the list",
            };
            let chosen = if mode == "read" { "Read only" } else { "Full access" };
            return Err(ValidationError::new(format!(
                "{what}, but “{chosen}” is selected: choose “Custom scopes” to give the key exactly those, or clear them to keep “{chosen}”."
            )));
        }
    }
    match mode {
        "" | "full" => Ok(ScopeSet::full_access()),
        "read" => ScopeSet::new(vec![Scope {
            action: Action::Read,
            filter: ResourceFilter::everything(),
        }]),
        "custom" => {
            let mut scopes = Vec::new();
            let mut errors = Vec::new();
            for (row, action, resource) in filled_rows(form) {
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
            for value in &form.permission {
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
        other => Err(ValidationError::new(format!(
            "\"{other}\" is not a scope choice: use full, read or custom."
        ))),
    }
}

/// Validates the whole form, collecting every field's message.
/// `stored` is the key being edited (`None` on create).
fn parse_key_form(
    form: &KeyForm,
    stored: Option<&KeyDetail>,
) -> Result<(KeyName, Option<Expiry>, ScopeSet, NetworkList), KeyFormErrors> {
    let mut errors = KeyFormErrors::default();
    if let Err(e) = validator::Validate::validate(form) {
        errors.form = Some(e.to_string());
    }
    let name = KeyName::parse(&form.name).map_err(|e| errors.name = Some(e.0)).ok();
    let expiry = parse_expiry(form, stored)
        .map_err(|e| errors.expires_at = Some(e.0))
        .ok();
    let scopes = parse_scopes(form).map_err(|e| errors.scopes = Some(e.0)).ok();
    let networks = NetworkList::parse_lines(&form.networks)
        .map_err(|e| errors.networks = Some(e.0))
        .ok();
    match (name, expiry, scopes, networks) {
        (Some(name), Some(expiry), Some(scopes), Some(networks)) if !errors.any() => {
            Ok((name, expiry, scopes, networks))
        }
        _ => Err(errors),
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

#[derive(Template)]
#[template(path = "api_keys/secret.html", blocks = ["dialog"])]
pub struct SecretDialog {
    pub layout: Layout,
    pub key_name: String,
    pub secret: String,
    pub rotated: bool,
}

fn secret_response(
    hx: HxRequest,
    layout: Layout,
    detail: &KeyDetail,
    token: &ApiKeyToken,
    rotated: bool,
) -> Result<HttpResponse, AppError> {
    let dialog = SecretDialog {
        layout,
        key_name: detail.key.name.clone(),
        secret: token.expose().to_owned(),
        rotated,
    };
    let response = dialog_response!(hx, StatusCode::OK, dialog)?;
    Ok(with_trigger(response, CHANGED_KEEP_DIALOG))
}

/// `GET …/new`
pub async fn new_api_key_form(
    catalogue: web::Data<Catalogue>,
    layout: Layout,
    hx: HxRequest,
) -> Result<HttpResponse, AppError> {
    let dialog = KeyFormDialog {
        layout,
        key_id: None,
        title: "Create API key",
        form: KeyFormView::blank(),
        errors: KeyFormErrors::default(),
        catalogue: catalogue.groups.clone(),
    };
    dialog_response!(hx, StatusCode::OK, dialog)
}

fn form_again(
    catalogue: &Catalogue,
    hx: HxRequest,
    layout: Layout,
    key_id: Option<String>,
    title: &'static str,
    form: &KeyForm,
    errors: KeyFormErrors,
) -> Result<HttpResponse, AppError> {
    let dialog = KeyFormDialog {
        layout,
        key_id,
        title,
        form: KeyFormView::from_form(form),
        errors,
        catalogue: catalogue.groups.clone(),
    };
    dialog_response!(hx, StatusCode::UNPROCESSABLE_ENTITY, dialog)
}

/// `POST …` (create)
#[expect(
    clippy::too_many_arguments,
    reason = "an actix handler: each argument is an extractor, and the signature lists the parts it touches"
)]
pub async fn create_api_key(
    req: HttpRequest,
    trusted_proxies: web::Data<TrustedProxies>,
    server_secret: web::Data<ServerSecret>,
    catalogue: web::Data<Catalogue>,
    key_service: web::Data<KeyService>,
    layout: Layout,
    current: CurrentUser,
    hx: HxRequest,
    HtmlForm(form): HtmlForm<KeyForm>,
) -> Result<HttpResponse, AppError> {
    let (name, expiry, scopes, networks) = match parse_key_form(&form, None) {
        Ok(parsed) => parsed,
        Err(errors) => return form_again(&catalogue, hx, layout, None, "Create API key", &form, errors),
    };
    let new = NewKey {
        name,
        expiry,
        scopes,
        networks,
        allow_query_key: form.allow_query_key.is_some(),
    };
    let ip = client_ip::of_request(&req, &trusted_proxies);
    let (actor, org_id, secret) = (current.actor(), current.org.id.clone(), server_secret.get_ref().clone());
    match key_service
        .change(move |conn| keys::create(conn, &secret, &org_id, &new, &actor, Some(ip)))
        .await
    {
        Ok((detail, token)) => secret_response(hx, layout, &detail, &token, false),
        Err(AppError::Conflict(message)) => {
            let errors = KeyFormErrors {
                name: Some(message),
                ..KeyFormErrors::default()
            };
            form_again(&catalogue, hx, layout, None, "Create API key", &form, errors)
        }
        Err(other) => Err(other),
    }
}

async fn load(db: &Db, current: &CurrentUser, id: String) -> Result<KeyDetail, AppError> {
    let org_id = current.org.id.clone();
    db.run(move |conn| keys::detail(conn, &org_id, &id))
        .await
        .map_err(AppError::from)
}

/// `GET …/{id}/edit`
pub async fn edit_api_key_form(
    db: web::Data<Db>,
    catalogue: web::Data<Catalogue>,
    layout: Layout,
    current: CurrentUser,
    hx: HxRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let detail = load(&db, &current, id.into_inner()).await?;
    if let Some(at) = detail.key.revoked_at {
        return Err(AppError::Conflict(format!(
            "This key was revoked at {} and can no longer be edited.",
            super::view::utc(at)
        )));
    }
    let dialog = KeyFormDialog {
        layout,
        key_id: Some(detail.key.id.clone()),
        title: "Edit API key",
        form: KeyFormView::of_key(&detail, &catalogue),
        errors: KeyFormErrors::default(),
        catalogue: catalogue.groups.clone(),
    };
    dialog_response!(hx, StatusCode::OK, dialog)
}

/// After a change: htmx closes the dialog and refreshes the list; a plain
/// browser goes back to the list.
fn changed(hx: HxRequest) -> HttpResponse {
    if hx.wants_fragment() {
        with_trigger(
            HttpResponse::Ok().content_type("text/html; charset=utf-8").finish(),
            CHANGED,
        )
    } else {
        see_other(BASE)
    }
}

/// `POST …/{id}` (edit)
#[expect(
    clippy::too_many_arguments,
    reason = "an actix handler: each argument is an extractor, and the signature lists the parts it touches"
)]
pub async fn update_api_key(
    req: HttpRequest,
    db: web::Data<Db>,
    trusted_proxies: web::Data<TrustedProxies>,
    catalogue: web::Data<Catalogue>,
    key_service: web::Data<KeyService>,
    layout: Layout,
    current: CurrentUser,
    hx: HxRequest,
    id: web::Path<String>,
    HtmlForm(form): HtmlForm<KeyForm>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let stored = load(&db, &current, id.clone()).await?;
    // The allow-query setting is fixed at creation: it decides where the key may travel.
    let (name, expiry, scopes, networks) = match parse_key_form(&form, Some(&stored)) {
        Ok(parsed) => parsed,
        Err(errors) => {
            return form_again(&catalogue, hx, layout, Some(id), "Edit API key", &form, errors);
        }
    };
    let changes = KeyChanges {
        name,
        expiry,
        scopes,
        networks,
    };
    let ip = client_ip::of_request(&req, &trusted_proxies);
    let (actor, org_id, key_id) = (current.actor(), current.org.id.clone(), id.clone());
    match key_service
        .change(move |conn| keys::update(conn, &org_id, &key_id, &changes, &actor, Some(ip)))
        .await
    {
        Ok(_) => Ok(changed(hx)),
        Err(AppError::Conflict(message)) => {
            let errors = KeyFormErrors {
                name: Some(message),
                ..KeyFormErrors::default()
            };
            form_again(&catalogue, hx, layout, Some(id), "Edit API key", &form, errors)
        }
        Err(other) => Err(other),
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "the enable and disable handlers' extractors, passed on"
)]
async fn toggle(
    req: HttpRequest,
    trusted_proxies: web::Data<TrustedProxies>,
    key_service: web::Data<KeyService>,
    layout: Layout,
    current: CurrentUser,
    hx: HxRequest,
    id: String,
    enabled: bool,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip::of_request(&req, &trusted_proxies);
    let (actor, org_id) = (current.actor(), current.org.id.clone());
    let row = key_service
        .change(move |conn| {
            let detail = keys::set_enabled(conn, &org_id, &id, enabled, &actor, Some(ip))?;
            Ok(rows_for(conn, &[detail], store::now())?.remove(0))
        })
        .await?;
    if hx.wants_fragment() {
        // The row swaps in at once; the refresh then brings the counts up to
        // date and drops the row if the filter no longer shows it.
        let response = render(StatusCode::OK, &KeyRowPartial { layout, row })?;
        Ok(with_trigger(response, CHANGED_KEEP_DIALOG))
    } else {
        Ok(see_other(BASE))
    }
}

/// `POST …/{id}/enable`
pub async fn enable_api_key(
    req: HttpRequest,
    trusted_proxies: web::Data<TrustedProxies>,
    key_service: web::Data<KeyService>,
    layout: Layout,
    current: CurrentUser,
    hx: HxRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    toggle(
        req,
        trusted_proxies,
        key_service,
        layout,
        current,
        hx,
        id.into_inner(),
        true,
    )
    .await
}

/// `POST …/{id}/disable`
pub async fn disable_api_key(
    req: HttpRequest,
    trusted_proxies: web::Data<TrustedProxies>,
    key_service: web::Data<KeyService>,
    layout: Layout,
    current: CurrentUser,
    hx: HxRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    toggle(
        req,
        trusted_proxies,
        key_service,
        layout,
        current,
        hx,
        id.into_inner(),
        false,
    )
    .await
}

#[derive(Template)]
#[template(path = "api_keys/rotate.html", blocks = ["dialog"])]
pub struct RotateDialog {
    pub layout: Layout,
    pub key_id: String,
    pub key_name: String,
    pub expired: bool,
    pub grace_periods: Vec<(&'static str, &'static str)>,
    pub grace: String,
    pub expires_at: String,
    pub error: Option<String>,
}

fn grace_periods() -> Vec<(&'static str, &'static str)> {
    GracePeriod::ALL.iter().map(|g| (g.as_str(), g.label())).collect()
}

/// `GET …/{id}/rotate`
pub async fn rotate_api_key_form(
    db: web::Data<Db>,
    layout: Layout,
    current: CurrentUser,
    hx: HxRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let detail = load(&db, &current, id.into_inner()).await?;
    let status = detail.key.status(store::now());
    if status == KeyStatus::Revoked {
        return Err(AppError::Conflict(
            "This key is revoked; revoked keys cannot be rotated. Create a new key instead.".into(),
        ));
    }
    let dialog = RotateDialog {
        layout,
        key_id: detail.key.id.clone(),
        key_name: detail.key.name.clone(),
        expired: status == KeyStatus::Expired,
        grace_periods: grace_periods(),
        grace: GracePeriod::OneDay.as_str().to_owned(),
        expires_at: String::new(),
        error: None,
    };
    dialog_response!(hx, StatusCode::OK, dialog)
}

#[derive(serde::Deserialize)]
pub struct RotateForm {
    #[serde(default)]
    grace: String,
    #[serde(default)]
    expires_at: String,
    /// Present when the dialog asked for a new expiry (the key had expired).
    #[serde(default)]
    set_expiry: Option<String>,
}

/// `POST …/{id}/rotate`
#[expect(
    clippy::too_many_arguments,
    reason = "an actix handler: each argument is an extractor, and the signature lists the parts it touches"
)]
pub async fn rotate_api_key(
    req: HttpRequest,
    db: web::Data<Db>,
    trusted_proxies: web::Data<TrustedProxies>,
    server_secret: web::Data<ServerSecret>,
    key_service: web::Data<KeyService>,
    layout: Layout,
    current: CurrentUser,
    hx: HxRequest,
    id: web::Path<String>,
    HtmlForm(form): HtmlForm<RotateForm>,
) -> Result<HttpResponse, AppError> {
    let detail = load(&db, &current, id.into_inner()).await?;
    let again = |layout: Layout, error: String| {
        let dialog = RotateDialog {
            layout,
            key_id: detail.key.id.clone(),
            key_name: detail.key.name.clone(),
            expired: detail.key.status(store::now()) == KeyStatus::Expired,
            grace_periods: grace_periods(),
            grace: form.grace.clone(),
            expires_at: form.expires_at.chars().take(100).collect(),
            error: Some(error),
        };
        dialog_response!(hx, StatusCode::UNPROCESSABLE_ENTITY, dialog)
    };
    let grace = match GracePeriod::parse(&form.grace) {
        Ok(grace) => grace,
        Err(e) => return again(layout, e.0),
    };
    let new_expiry = if form.set_expiry.is_some() {
        match Expiry::parse(&form.expires_at, Utc::now()) {
            Ok(expiry) => Some(expiry),
            Err(e) => return again(layout, e.0),
        }
    } else {
        None
    };
    let ip = client_ip::of_request(&req, &trusted_proxies);
    let (actor, org_id, secret, key_id) = (
        current.actor(),
        current.org.id.clone(),
        server_secret.get_ref().clone(),
        detail.key.id.clone(),
    );
    match key_service
        .change(move |conn| {
            keys::rotate(
                conn,
                &secret,
                &org_id,
                &key_id,
                Rotation { grace, new_expiry },
                &actor,
                Some(ip),
            )
        })
        .await
    {
        Ok((rotated, token)) => secret_response(hx, layout, &rotated, &token, true),
        Err(AppError::Validation(message)) => again(layout, message),
        Err(other) => Err(other),
    }
}

#[derive(Template)]
#[template(path = "api_keys/confirm.html", blocks = ["dialog"])]
pub struct ConfirmDialog {
    pub layout: Layout,
    pub title: &'static str,
    pub verb: &'static str,
    pub key_id: String,
    pub key_name: String,
    pub consequence: &'static str,
}

fn confirm_dialog(layout: Layout, detail: &KeyDetail, revoke: bool) -> ConfirmDialog {
    ConfirmDialog {
        layout,
        title: if revoke { "Revoke API key" } else { "Delete API key" },
        verb: if revoke { "Revoke" } else { "Delete" },
        key_id: detail.key.id.clone(),
        key_name: detail.key.name.clone(),
        consequence: if revoke {
            "Every request made with this key will be refused from now on. The key stays in the list as Revoked, for the record. This cannot be undone."
        } else {
            "The key stops working at once and disappears from every list. Its history stays in the audit log. This cannot be undone."
        },
    }
}

/// `GET …/{id}/revoke`
pub async fn revoke_api_key_form(
    db: web::Data<Db>,
    layout: Layout,
    current: CurrentUser,
    hx: HxRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let detail = load(&db, &current, id.into_inner()).await?;
    if detail.key.revoked_at.is_some() {
        return Err(AppError::Conflict("This key is already revoked.".into()));
    }
    dialog_response!(hx, StatusCode::OK, confirm_dialog(layout, &detail, true))
}

/// `keys::revoke` or `keys::delete`.
type ConfirmedStep = fn(&mut DbConnection, &str, &str, &Actor, Option<IpAddr>) -> Result<KeyDetail, AppError>;

/// A confirmed revoke or delete: the lifecycle step, then back to the list.
async fn confirmed(
    req: HttpRequest,
    trusted_proxies: web::Data<TrustedProxies>,
    key_service: web::Data<KeyService>,
    current: CurrentUser,
    hx: HxRequest,
    id: String,
    step: ConfirmedStep,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip::of_request(&req, &trusted_proxies);
    let (actor, org_id) = (current.actor(), current.org.id.clone());
    key_service
        .change(move |conn| step(conn, &org_id, &id, &actor, Some(ip)))
        .await?;
    Ok(changed(hx))
}

/// `POST …/{id}/revoke`
pub async fn revoke_api_key(
    req: HttpRequest,
    trusted_proxies: web::Data<TrustedProxies>,
    key_service: web::Data<KeyService>,
    current: CurrentUser,
    hx: HxRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    confirmed(
        req,
        trusted_proxies,
        key_service,
        current,
        hx,
        id.into_inner(),
        keys::revoke,
    )
    .await
}

/// `GET …/{id}/delete`
pub async fn delete_api_key_form(
    db: web::Data<Db>,
    layout: Layout,
    current: CurrentUser,
    hx: HxRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let detail = load(&db, &current, id.into_inner()).await?;
    dialog_response!(hx, StatusCode::OK, confirm_dialog(layout, &detail, false))
}

/// `POST …/{id}/delete`
pub async fn delete_api_key(
    req: HttpRequest,
    trusted_proxies: web::Data<TrustedProxies>,
    key_service: web::Data<KeyService>,
    current: CurrentUser,
    hx: HxRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    confirmed(
        req,
        trusted_proxies,
        key_service,
        current,
        hx,
        id.into_inner(),
        keys::delete,
    )
    .await
}
