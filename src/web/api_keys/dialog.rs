//! What the key dialogs share. For htmx each dialog answers the fragment
//! that goes into the page's `<dialog>`; without JavaScript the same content
//! is a page. What follows a change is `feedback.rs`'s.

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;

use super::feedback::{Done, Feedback, ReturnTo};
use crate::auth::csrf::CsrfSettings;
use crate::auth::guard::CurrentUser;
use crate::domain::token::ApiKeyToken;
use crate::error::AppError;
use crate::service::keys::{self, KeyDetail};
use crate::store::{self, Db};
use crate::web::Layout;
use crate::web::htmx::HxRequest;

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

/// Where integrators reach this server, for the usage example: the public
/// URL's origin when one is configured, else the origin the browser used
/// (the `Origin` of the form post, which the CSRF check has held to this
/// host), else this host over http.
pub struct ApiBase(pub String);

impl ApiBase {
    fn of(req: &HttpRequest) -> Self {
        let configured = req
            .app_data::<web::Data<CsrfSettings>>()
            .and_then(|settings| settings.public_url.as_ref())
            .map(|url| url.origin().ascii_serialization());
        let origin = || {
            let sent = req.headers().get(header::ORIGIN)?.to_str().ok()?;
            let origin = url::Url::parse(sent).ok()?.origin();
            origin.is_tuple().then(|| origin.ascii_serialization())
        };
        let host = || {
            let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok());
            format!("http://{}", host.unwrap_or("localhost"))
        };
        Self(configured.or_else(origin).unwrap_or_else(host))
    }
}

impl FromRequest for ApiBase {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Self::of(req)))
    }
}

/// The one time a key's secret is shown: after create and after rotate.
#[derive(Template)]
#[template(path = "api_keys/secret.html", blocks = ["dialog"])]
pub struct SecretDialog {
    pub layout: Layout,
    pub key_name: String,
    pub secret: String,
    /// `curl -H "X-API-Key: …" <base>/api/v1/me`
    pub usage_example: String,
    /// After a rotation: when the previous secrets stop working.
    pub rotated: Option<OldSecretsEnd>,
    /// Where Done goes without JavaScript (a GET form): the place the
    /// change came from, with its message.
    pub done_action: String,
    pub done_fields: Vec<(String, String)>,
}

/// When a rotated key's previous secrets stop (or stopped) working.
pub struct OldSecretsEnd {
    pub at: String,
    pub passed: bool,
}

impl OldSecretsEnd {
    /// The latest end of the secrets older than the newest one.
    fn of(detail: &KeyDetail) -> Option<Self> {
        let at = detail.secrets.iter().skip(1).filter_map(|s| s.not_after).max()?;
        Some(Self {
            at: super::view::utc(at),
            passed: at <= store::now(),
        })
    }
}

/// The new secret of `detail`, shown once; the list (or key page) behind
/// refreshes, and the message waits for the dialog to close.
pub fn secret_response(
    hx: HxRequest,
    layout: Layout,
    base: &ApiBase,
    detail: &KeyDetail,
    token: &ApiKeyToken,
    rotated: bool,
    back: &ReturnTo,
) -> Result<HttpResponse, AppError> {
    let done = if rotated { Done::Rotated } else { Done::Created };
    let secret = token.expose();
    let (done_action, done_fields) = back.flash_form(done, &detail.key.id);
    let dialog = SecretDialog {
        layout,
        key_name: detail.key.name.clone(),
        usage_example: format!("curl -H \"X-API-Key: {secret}\" {}/api/v1/me", base.0),
        secret: secret.to_owned(),
        rotated: if rotated { OldSecretsEnd::of(detail) } else { None },
        done_action,
        done_fields,
    };
    let mut response = dialog_response!(hx, StatusCode::OK, dialog)?;
    let feedback = Feedback {
        back,
        done,
        key_id: &detail.key.id,
        key_name: &detail.key.name,
    };
    response
        .headers_mut()
        .insert(header::HeaderName::from_static("hx-trigger"), feedback.trigger(false));
    Ok(response)
}

/// A form that shows a secret, sent again (a reload, a double click): what
/// it made the first time, and that its secret cannot be shown again.
#[derive(Template)]
#[template(path = "api_keys/already_done.html", blocks = ["dialog"])]
pub struct AlreadyDoneDialog {
    pub layout: Layout,
    pub title: &'static str,
    pub key_id: String,
    pub key_name: String,
    pub rotated: bool,
    /// When the key was created (create) or last changed (rotate).
    pub at: String,
}

pub fn already_done_response(
    hx: HxRequest,
    layout: Layout,
    detail: &KeyDetail,
    rotated: bool,
) -> Result<HttpResponse, AppError> {
    let dialog = AlreadyDoneDialog {
        layout,
        title: if rotated {
            "API key already rotated"
        } else {
            "API key already created"
        },
        key_id: detail.key.id.clone(),
        key_name: detail.key.name.clone(),
        rotated,
        at: super::view::utc(if rotated {
            detail.secrets.first().map_or(detail.key.updated_at, |s| s.created_at)
        } else {
            detail.key.created_at
        }),
    };
    dialog_response!(hx, StatusCode::OK, dialog)
}
