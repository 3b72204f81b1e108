//! Revoke and delete: the same flow (a confirmation that says what follows,
//! then the step), one generic pair of handlers, registered as
//! `confirm_form::<Revoke>` / `confirmed::<Revoke>` and the same for `Delete`.

use std::net::IpAddr;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::dialog::{dialog_response, load};
use super::feedback::{Done, Feedback, ReturnTo, ReturnToForm, ReturnToQuery};
use crate::auth::client_ip::ClientIp;
use crate::auth::guard::CurrentUser;
use crate::domain::audit::Actor;
use crate::error::AppError;
use crate::service::keys::{self, KeyDetail, KeyService};
use crate::service::step_up::DangerousAction;
use crate::store::{Db, DbConnection};
use crate::web::Layout;
use crate::web::htmx::HxRequest;
use crate::web::step_up::StepUpForm;

/// A step that ends a key, with the words its confirmation uses.
pub trait ConfirmedStep {
    const TITLE: &'static str;
    const VERB: &'static str;
    const CONSEQUENCE: &'static str;

    /// Refuses the confirmation when the step has nothing left to do.
    fn check(detail: &KeyDetail) -> Result<(), AppError>;

    /// `keys::revoke` or `keys::delete`.
    const APPLY: StepFn;

    /// What the message after it says.
    const DONE: Done;

    /// What its step-up dialog says it is for.
    const STEP_UP: DangerousAction;
}

/// A lifecycle step on key `id` of organization `org_id`.
pub type StepFn = fn(&mut DbConnection, &str, &str, &Actor, Option<IpAddr>) -> Result<KeyDetail, AppError>;

pub struct Revoke;

impl ConfirmedStep for Revoke {
    const TITLE: &'static str = "Revoke API key";
    const VERB: &'static str = "Revoke";
    const CONSEQUENCE: &'static str = "Every request made with this key will be refused from now on. The key stays in the list as Revoked, for the record. This cannot be undone.";

    fn check(detail: &KeyDetail) -> Result<(), AppError> {
        match detail.key.revoked_at {
            Some(_) => Err(AppError::Conflict("This key is already revoked.".into())),
            None => Ok(()),
        }
    }
    const APPLY: StepFn = keys::revoke;
    const DONE: Done = Done::Revoked;
    const STEP_UP: DangerousAction = DangerousAction::RevokeKey;
}

pub struct Delete;

impl ConfirmedStep for Delete {
    const TITLE: &'static str = "Delete API key";
    const VERB: &'static str = "Delete";
    const CONSEQUENCE: &'static str = "The key stops working at once and disappears from every list. Its history stays in the audit log. This cannot be undone.";

    fn check(_: &KeyDetail) -> Result<(), AppError> {
        Ok(())
    }
    const APPLY: StepFn = keys::delete;
    const DONE: Done = Done::Deleted;
    const STEP_UP: DangerousAction = DangerousAction::DeleteKey;
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
    /// Where the step (and Cancel) go back to.
    pub back: ReturnTo,
}

/// `GET …/{id}/revoke`, `GET …/{id}/delete`
pub async fn confirm_form<Step: ConfirmedStep>(
    db: web::Data<Db>,
    layout: Layout,
    current: CurrentUser,
    hx: HxRequest,
    id: web::Path<String>,
    query: web::Query<ReturnToQuery>,
) -> Result<HttpResponse, AppError> {
    let detail = load(&db, &current, id.into_inner()).await?;
    Step::check(&detail)?;
    let dialog = ConfirmDialog {
        layout,
        title: Step::TITLE,
        verb: Step::VERB,
        key_id: detail.key.id,
        key_name: detail.key.name,
        consequence: Step::CONSEQUENCE,
        back: query.place(),
    };
    dialog_response!(hx, StatusCode::OK, dialog)
}

/// `POST …/{id}/revoke`, `POST …/{id}/delete`: the step, then back to where
/// the confirmation was opened from (after a Delete, the list rather than the
/// key's page).
pub async fn confirmed<Step: ConfirmedStep>(
    ClientIp(ip): ClientIp,
    key_service: web::Data<KeyService>,
    current: CurrentUser,
    hx: HxRequest,
    id: web::Path<String>,
    StepUpForm { form, step_up }: StepUpForm<ReturnToForm>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    // Another organization's key is a 404 before anything is asked.
    load(&key_service.db, &current, id.clone()).await?;
    if let Some(ask) = step_up.require(Step::STEP_UP).await? {
        return Ok(ask);
    }
    let (actor, org_id) = (current.actor(), current.org.id.clone());
    let detail = key_service
        .change(move |conn| (Step::APPLY)(conn, &org_id, &id, &actor, Some(ip)))
        .await?;
    let feedback = Feedback {
        back: &form.place(),
        done: Step::DONE,
        key_id: &detail.key.id,
        key_name: &detail.key.name,
    };
    Ok(feedback.respond(hx))
}
