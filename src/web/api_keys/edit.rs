//! Edit a key: its name, expiry, scopes and networks. Whether the key may be
//! sent in the query is fixed at creation: it decides where the key travels.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use super::dialog::load;
use super::feedback::{Done, Feedback, ReturnTo, ReturnToQuery};
use super::key_form::{self, KeyForm, KeyFormDialog, KeyFormErrors, KeyFormView};
use crate::auth::client_ip::ClientIp;
use crate::auth::guard::CurrentUser;
use crate::domain::permissions::Catalogue;
use crate::domain::scope::ScopeSet;
use crate::error::AppError;
use crate::service::keys::{self, KeyChanges, KeyService};
use crate::service::step_up::DangerousAction;
use crate::store::Db;
use crate::web::Layout;
use crate::web::htmx::HxRequest;
use crate::web::step_up::StepUpForm;

/// `GET …/{id}/edit`
pub async fn edit_api_key_form(
    db: web::Data<Db>,
    catalogue: web::Data<Catalogue>,
    layout: Layout,
    current: CurrentUser,
    hx: HxRequest,
    id: web::Path<String>,
    query: web::Query<ReturnToQuery>,
) -> Result<HttpResponse, AppError> {
    let detail = load(&db, &current, id.into_inner()).await?;
    if let Some(at) = detail.key.revoked_at {
        return Err(AppError::Conflict(format!(
            "This key was revoked at {} and can no longer be edited.",
            super::view::utc(at)
        )));
    }
    let form = KeyFormView::of_key(&detail, &catalogue);
    KeyFormDialog::new(layout, Some(detail.key.id), form, KeyFormErrors::default(), &catalogue)
        .returning_to(query.place())
        .respond(hx, StatusCode::OK)
}

/// `POST …/{id}` (edit)
#[expect(
    clippy::too_many_arguments,
    reason = "an actix handler: each argument is an extractor, and the signature lists the parts it touches"
)]
pub async fn update_api_key(
    ClientIp(ip): ClientIp,
    catalogue: web::Data<Catalogue>,
    key_service: web::Data<KeyService>,
    layout: Layout,
    current: CurrentUser,
    hx: HxRequest,
    id: web::Path<String>,
    StepUpForm { form, step_up }: StepUpForm<KeyForm>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let stored = load(&key_service.db, &current, id.clone()).await?;
    if let Some(adjusted) = form.adjusted() {
        return KeyFormDialog::adjusted(layout, Some(id), &adjusted, &catalogue, hx);
    }
    let again = |errors| KeyFormDialog::again(layout, Some(id.clone()), &form, errors, &catalogue, hx);
    let parsed = match key_form::parse(&form, Some(&stored)) {
        Ok(parsed) => parsed,
        Err(errors) => return again(errors),
    };
    let full_access = ScopeSet::full_access();
    if parsed.scopes.covers(&full_access)
        && !stored.scopes.covers(&full_access)
        && let Some(ask) = step_up.require(DangerousAction::WidenKeyToFullAccess).await?
    {
        return Ok(ask);
    }
    let changes = KeyChanges {
        name: parsed.name,
        expiry: parsed.expiry,
        scopes: parsed.scopes,
        networks: parsed.networks,
    };
    let (actor, org_id, key_id) = (current.actor(), current.org.id.clone(), id.clone());
    match key_service
        .change(move |conn| keys::update(conn, &org_id, &key_id, &changes, &actor, Some(ip)))
        .await
    {
        Ok(saved) => Ok(Feedback {
            back: &ReturnTo::or_list(Some(&form.return_to)),
            done: Done::Saved,
            key_id: &saved.key.id,
            key_name: &saved.key.name,
        }
        .respond(hx)),
        Err(AppError::Conflict(message)) => again(KeyFormErrors::name_taken(message)),
        // The one refusal the form cannot see for itself: a new expiry for a
        // key that has already expired (rotating it is the way).
        Err(AppError::ExpiredKey(message)) => again(KeyFormErrors {
            expires_at: Some(message),
            ..KeyFormErrors::default()
        }),
        Err(other) => Err(other),
    }
}
