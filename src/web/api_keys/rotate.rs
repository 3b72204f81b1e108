//! Rotate a key: choose how long the old secret keeps working (and, for an
//! expired key, its new expiry), then the new secret, shown once. Like the
//! create form, the dialog carries a one-time token: sending it again
//! rotates nothing, so the secret just shown stays the key's newest.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::Utc;

use super::dialog::{ApiBase, already_done_response, dialog_response, load, secret_response};
use super::feedback::{ReturnTo, ReturnToQuery};
use crate::auth::client_ip::ClientIp;
use crate::auth::guard::CurrentUser;
use crate::domain::api_key::{Expiry, KeyStatus};
use crate::domain::form_token::FormToken;
use crate::error::AppError;
use crate::service::keys::{self, GracePeriod, KeyDetail, KeyService, Rotation, Submitted};
use crate::service::step_up::DangerousAction;
use crate::store::{self, Db};
use crate::web::Layout;
use crate::web::htmx::HxRequest;
use crate::web::step_up::StepUpForm;

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
    pub form_token: String,
    /// Where the new secret's Done (and Cancel) go back to.
    pub back: ReturnTo,
}

impl RotateDialog {
    fn new(
        layout: Layout,
        detail: &KeyDetail,
        grace: String,
        expires_at: String,
        error: Option<String>,
        back: ReturnTo,
    ) -> Self {
        Self {
            form_token: FormToken::generate().as_str().to_owned(),
            layout,
            key_id: detail.key.id.clone(),
            key_name: detail.key.name.clone(),
            expired: detail.key.status(store::now()) == KeyStatus::Expired,
            grace_periods: GracePeriod::ALL.iter().map(|g| (g.as_str(), g.label())).collect(),
            grace,
            expires_at,
            error,
            back,
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
    query: web::Query<ReturnToQuery>,
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
        query.place(),
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
    /// The dialog's one-time token (see `service::keys::once`).
    #[serde(default)]
    form_token: String,
    /// Where Done goes back to; see `feedback::ReturnTo`.
    #[serde(default)]
    return_to: String,
}

/// `POST …/{id}/rotate`
#[expect(
    clippy::too_many_arguments,
    reason = "an actix handler: each argument is an extractor, and the signature lists the parts it touches"
)]
pub async fn rotate_api_key(
    ClientIp(ip): ClientIp,
    key_service: web::Data<KeyService>,
    layout: Layout,
    base: ApiBase,
    current: CurrentUser,
    hx: HxRequest,
    id: web::Path<String>,
    StepUpForm { form, step_up }: StepUpForm<RotateForm>,
) -> Result<HttpResponse, AppError> {
    let detail = load(&key_service.db, &current, id.into_inner()).await?;
    if let Some(ask) = step_up.require(DangerousAction::RotateKey).await? {
        return Ok(ask);
    }
    let token = FormToken::parse(&form.form_token);
    let back = ReturnTo::or_list(Some(&form.return_to));
    let again = |layout: Layout, error: String| {
        let expires_at = form.expires_at.chars().take(100).collect();
        let mut dialog = RotateDialog::new(
            layout,
            &detail,
            form.grace.clone(),
            expires_at,
            Some(error),
            back.clone(),
        );
        if let Some(token) = &token {
            dialog.form_token = token.as_str().to_owned();
        }
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
    let once_token = token.clone();
    let submitted = key_service
        .change(move |conn| {
            keys::once(conn, &org_id, once_token.as_ref(), |conn| {
                keys::rotate(conn, &secret, &org_id, &key_id, rotation, &actor, Some(ip))
            })
        })
        .await;
    match submitted {
        Ok(Submitted::Now(rotated, secret)) => secret_response(hx, layout, &base, &rotated, &secret, true, &back),
        Ok(Submitted::Before(rotated)) => already_done_response(hx, layout, &rotated, true),
        // A second submission that lost the race to record the same token.
        Err(AppError::Conflict(message)) => {
            let Some(token) = token else {
                return Err(AppError::Conflict(message));
            };
            let org_id = current.org.id.clone();
            let before = key_service
                .db
                .run(move |conn| keys::submitted_before(conn, &org_id, &token))
                .await?;
            match before {
                Some(rotated) => already_done_response(hx, layout, &rotated, true),
                None => Err(AppError::Conflict(message)),
            }
        }
        Err(AppError::ExpiredKey(message) | AppError::Validation(message)) => again(layout, message),
        Err(other) => Err(other),
    }
}
