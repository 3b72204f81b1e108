//! Rotate a key: choose how long the old secret keeps working (and, for an
//! expired key, its new expiry), then the new secret, shown once.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::Utc;

use super::dialog::{dialog_response, load, secret_response};
use crate::auth::client_ip::ClientIp;
use crate::auth::guard::CurrentUser;
use crate::domain::api_key::{Expiry, KeyStatus};
use crate::error::AppError;
use crate::service::keys::{self, GracePeriod, KeyDetail, KeyService, Rotation};
use crate::store::{self, Db};
use crate::web::Layout;
use crate::web::forms::HtmlForm;
use crate::web::htmx::HxRequest;

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

impl RotateDialog {
    fn new(layout: Layout, detail: &KeyDetail, grace: String, expires_at: String, error: Option<String>) -> Self {
        Self {
            layout,
            key_id: detail.key.id.clone(),
            key_name: detail.key.name.clone(),
            expired: detail.key.status(store::now()) == KeyStatus::Expired,
            grace_periods: GracePeriod::ALL.iter().map(|g| (g.as_str(), g.label())).collect(),
            grace,
            expires_at,
            error,
        }
    }
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
    if detail.key.status(store::now()) == KeyStatus::Revoked {
        return Err(AppError::Conflict(
            "This key is revoked; revoked keys cannot be rotated. Create a new key instead.".into(),
        ));
    }
    let dialog = RotateDialog::new(
        layout,
        &detail,
        GracePeriod::OneDay.as_str().to_owned(),
        String::new(),
        None,
    );
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
pub async fn rotate_api_key(
    ClientIp(ip): ClientIp,
    key_service: web::Data<KeyService>,
    layout: Layout,
    current: CurrentUser,
    hx: HxRequest,
    id: web::Path<String>,
    HtmlForm(form): HtmlForm<RotateForm>,
) -> Result<HttpResponse, AppError> {
    let detail = load(&key_service.db, &current, id.into_inner()).await?;
    let again = |layout: Layout, error: String| {
        let expires_at = form.expires_at.chars().take(100).collect();
        let dialog = RotateDialog::new(layout, &detail, form.grace.clone(), expires_at, Some(error));
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
    let (actor, org_id, secret, key_id) = (
        current.actor(),
        current.org.id.clone(),
        key_service.server_secret.clone(),
        detail.key.id.clone(),
    );
    let rotation = Rotation { grace, new_expiry };
    match key_service
        .change(move |conn| keys::rotate(conn, &secret, &org_id, &key_id, rotation, &actor, Some(ip)))
        .await
    {
        Ok((rotated, token)) => secret_response(hx, layout, &rotated, &token, true),
        Err(AppError::ExpiredKey(message)) => again(layout, message),
        Err(other) => Err(other),
    }
}
