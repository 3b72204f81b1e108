//! Enable and disable a key: one handler, registered twice
//! (`set_enabled::<true>` for `…/enable`, `::<false>` for `…/disable`).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use super::BASE;
use super::dialog::{CHANGED_KEEP_DIALOG, with_trigger};
use super::list::KeyRowPartial;
use super::view::rows_for;
use crate::auth::client_ip::ClientIp;
use crate::auth::guard::CurrentUser;
use crate::error::AppError;
use crate::service::keys::{self, KeyService};
use crate::store;
use crate::web::htmx::HxRequest;
use crate::web::{Layout, render, see_other};

/// `POST …/{id}/enable` and `POST …/{id}/disable`
pub async fn set_enabled<const ENABLED: bool>(
    ClientIp(ip): ClientIp,
    key_service: web::Data<KeyService>,
    layout: Layout,
    current: CurrentUser,
    hx: HxRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (actor, org_id, id) = (current.actor(), current.org.id.clone(), id.into_inner());
    let row = key_service
        .change(move |conn| {
            let detail = keys::set_enabled(conn, &org_id, &id, ENABLED, &actor, Some(ip))?;
            Ok(rows_for(conn, &org_id, &[detail], store::now())?.remove(0))
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
