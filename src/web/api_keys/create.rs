//! Create a key: the blank form, then the one-time secret. The form carries
//! a one-time token, so that sending it again (reloading the page that showed
//! the secret, a double click) makes no second key: the secret was shown
//! once, is stored nowhere, and the answer says so instead.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use super::dialog::{ApiBase, already_done_response, secret_response};
use super::feedback::ReturnTo;
use super::key_form::{self, KeyForm, KeyFormDialog, KeyFormErrors, KeyFormView};
use crate::auth::client_ip::ClientIp;
use crate::auth::guard::CurrentUser;
use crate::domain::form_token::FormToken;
use crate::domain::permissions::Catalogue;
use crate::domain::scope::ScopeSet;
use crate::error::AppError;
use crate::service::keys::{self, KeyService, NewKey, Submitted};
use crate::service::step_up::DangerousAction;
use crate::web::Layout;
use crate::web::htmx::HxRequest;
use crate::web::step_up::StepUpForm;

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
#[expect(
    clippy::too_many_arguments,
    reason = "an actix handler: each argument is an extractor, and the signature lists the parts it touches"
)]
pub async fn create_api_key(
    ClientIp(ip): ClientIp,
    catalogue: web::Data<Catalogue>,
    key_service: web::Data<KeyService>,
    layout: Layout,
    base: ApiBase,
    current: CurrentUser,
    hx: HxRequest,
    StepUpForm { form, step_up }: StepUpForm<KeyForm>,
) -> Result<HttpResponse, AppError> {
    if let Some(adjusted) = form.adjusted() {
        return KeyFormDialog::adjusted(layout, None, &adjusted, &catalogue, hx);
    }
    let parsed = match key_form::parse(&form, None) {
        Ok(parsed) => parsed,
        Err(errors) => return KeyFormDialog::again(layout, None, &form, errors, &catalogue, hx),
    };
    if parsed.scopes.covers(&ScopeSet::full_access())
        && let Some(ask) = step_up.require(DangerousAction::CreateFullAccessKey).await?
    {
        return Ok(ask);
    }
    let new = NewKey {
        name: parsed.name,
        expiry: parsed.expiry,
        scopes: parsed.scopes,
        networks: parsed.networks,
        allow_query_key: form.allow_query_key.is_some(),
    };
    let token = FormToken::parse(&form.form_token);
    let (actor, org_id, secret, once_token) = (
        current.actor(),
        current.org.id.clone(),
        key_service.server_secret.clone(),
        token.clone(),
    );
    let submitted = key_service
        .change(move |conn| {
            keys::once(conn, &org_id, once_token.as_ref(), |conn| {
                keys::create(conn, &secret, &org_id, &new, &actor, Some(ip))
            })
        })
        .await;
    match submitted {
        Ok(Submitted::Now(detail, token)) => {
            secret_response(hx, layout, &base, &detail, &token, false, &ReturnTo::list())
        }
        Ok(Submitted::Before(detail)) => already_done_response(hx, layout, &detail, false),
        Err(AppError::Conflict(message)) => {
            // A second submission that raced the first one to the same
            // name: the first one's key, not a clash with another.
            if let Some(token) = token {
                let org_id = current.org.id.clone();
                let before = key_service
                    .db
                    .run(move |conn| keys::submitted_before(conn, &org_id, &token))
                    .await?;
                if let Some(detail) = before {
                    return already_done_response(hx, layout, &detail, false);
                }
            }
            KeyFormDialog::again(layout, None, &form, KeyFormErrors::name_taken(message), &catalogue, hx)
        }
        Err(other) => Err(other),
    }
}
