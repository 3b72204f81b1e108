//! Create a key: the blank form, then the one-time secret.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use super::dialog::secret_response;
use super::key_form::{self, KeyForm, KeyFormDialog, KeyFormErrors, KeyFormView};
use crate::auth::client_ip::ClientIp;
use crate::auth::guard::CurrentUser;
use crate::domain::permissions::Catalogue;
use crate::error::AppError;
use crate::service::keys::{self, KeyService, NewKey};
use crate::web::Layout;
use crate::web::forms::HtmlForm;
use crate::web::htmx::HxRequest;

/// `GET …/new`
pub async fn new_api_key_form(
    catalogue: web::Data<Catalogue>,
    layout: Layout,
    hx: HxRequest,
) -> Result<HttpResponse, AppError> {
    KeyFormDialog::new(layout, None, KeyFormView::blank(), KeyFormErrors::default(), &catalogue)
        .respond(hx, StatusCode::OK)
}

/// `POST …` (create)
pub async fn create_api_key(
    ClientIp(ip): ClientIp,
    catalogue: web::Data<Catalogue>,
    key_service: web::Data<KeyService>,
    layout: Layout,
    current: CurrentUser,
    hx: HxRequest,
    HtmlForm(form): HtmlForm<KeyForm>,
) -> Result<HttpResponse, AppError> {
    let parsed = match key_form::parse(&form, None) {
        Ok(parsed) => parsed,
        Err(errors) => return KeyFormDialog::again(layout, None, &form, errors, &catalogue, hx),
    };
    let new = NewKey {
        name: parsed.name,
        expiry: parsed.expiry,
        scopes: parsed.scopes,
        networks: parsed.networks,
        allow_query_key: form.allow_query_key.is_some(),
    };
    let (actor, org_id, secret) = (
        current.actor(),
        current.org.id.clone(),
        key_service.server_secret.clone(),
    );
    match key_service
        .change(move |conn| keys::create(conn, &secret, &org_id, &new, &actor, Some(ip)))
        .await
    {
        Ok((detail, token)) => secret_response(hx, layout, &detail, &token, false),
        Err(AppError::Conflict(message)) => {
            KeyFormDialog::again(layout, None, &form, KeyFormErrors::name_taken(message), &catalogue, hx)
        }
        Err(other) => Err(other),
    }
}
