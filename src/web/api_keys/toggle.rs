//! Enable and disable a key: one handler, registered twice
//! (`set_enabled::<true>` for `…/enable`, `::<false>` for `…/disable`).

use actix_web::{HttpResponse, web};

use super::feedback::{Done, Feedback, ReturnToForm};
use crate::auth::client_ip::ClientIp;
use crate::auth::guard::CurrentUser;
use crate::error::AppError;
use crate::service::keys::{self, KeyService};
use crate::web::forms::HtmlForm;
use crate::web::htmx::HxRequest;

/// `POST …/{id}/enable` and `POST …/{id}/disable`: then back to where the
/// form was (the list with its filters, or the key's page), whose refresh
/// brings the row, the counts and the message.
pub async fn set_enabled<const ENABLED: bool>(
    ClientIp(ip): ClientIp,
    key_service: web::Data<KeyService>,
    current: CurrentUser,
    hx: HxRequest,
    id: web::Path<String>,
    HtmlForm(form): HtmlForm<ReturnToForm>,
) -> Result<HttpResponse, AppError> {
    let (actor, org_id, id) = (current.actor(), current.org.id.clone(), id.into_inner());
    let detail = key_service
        .change(move |conn| keys::set_enabled(conn, &org_id, &id, ENABLED, &actor, Some(ip)))
        .await?;
    let feedback = Feedback {
        back: &form.place(),
        done: if ENABLED { Done::Enabled } else { Done::Disabled },
        key_id: &detail.key.id,
        key_name: &detail.key.name,
    };
    Ok(feedback.respond(hx))
}
