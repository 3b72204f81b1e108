//! What the key dialogs share. For htmx each dialog answers the fragment
//! that goes into the page's `<dialog>` (or the updated row); without
//! JavaScript the same content is a page. After a change htmx is told to
//! refresh the list; a plain browser goes back to it.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use askama::Template;

use super::BASE;
use crate::auth::guard::CurrentUser;
use crate::domain::token::ApiKeyToken;
use crate::error::AppError;
use crate::service::keys::{self, KeyDetail};
use crate::store::Db;
use crate::web::htmx::HxRequest;
use crate::web::{Layout, see_other};

/// htmx: refresh the list and close the dialog.
const CHANGED: &str = r#"{"api-keys-changed": true, "close-modal": true}"#;
/// htmx: refresh the list (the dialog stays, showing the secret or the row).
pub const CHANGED_KEEP_DIALOG: &str = "api-keys-changed";

pub fn with_trigger(mut response: HttpResponse, trigger: &'static str) -> HttpResponse {
    response.headers_mut().insert(
        header::HeaderName::from_static("hx-trigger"),
        HeaderValue::from_static(trigger),
    );
    response
}

/// Renders a dialog template as its fragment (htmx) or as a page.
macro_rules! dialog_response {
    ($hx:expr, $status:expr, $template:expr) => {
        if $hx.wants_fragment() {
            $crate::web::render($status, &$template.as_dialog())
        } else {
            $crate::web::render($status, &$template)
        }
    };
}
pub(super) use dialog_response;

/// The key `id` of the signed-in user's organization, as its dialogs show it.
pub async fn load(db: &Db, current: &CurrentUser, id: String) -> Result<KeyDetail, AppError> {
    let org_id = current.org.id.clone();
    db.run(move |conn| keys::detail(conn, &org_id, &id))
        .await
        .map_err(AppError::from)
}

/// After a change: htmx closes the dialog and refreshes the list; a plain
/// browser goes back to the list.
pub fn changed(hx: HxRequest) -> HttpResponse {
    if hx.wants_fragment() {
        with_trigger(
            HttpResponse::Ok().content_type("text/html; charset=utf-8").finish(),
            CHANGED,
        )
    } else {
        see_other(BASE)
    }
}

/// The one time a key's secret is shown: after create and after rotate.
#[derive(Template)]
#[template(path = "api_keys/secret.html", blocks = ["dialog"])]
pub struct SecretDialog {
    pub layout: Layout,
    pub key_name: String,
    pub secret: String,
    pub rotated: bool,
}

pub fn secret_response(
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
