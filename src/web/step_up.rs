//! "Confirm it's you": the guard in front of dangerous actions. A handler
//! takes its form as `StepUpForm<T>` and, once it knows the action is
//! dangerous, calls `step_up.require(action).await?`: while the session's
//! last strong check is recent this is `None` and the action goes on;
//! otherwise the answer is the step-up dialog (htmx: into `#modal`; without
//! JavaScript: a page), which posts the action's own fields back to the
//! action's own URL with the password or code. A right one records the
//! strong check on this server-side session and the action goes on with
//! those fields; a wrong one is the dialog again with the message beside the
//! field. The fields carry nothing secret; the CSRF token is the page's.

use actix_session::SessionExt as _;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderValue;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use serde::de::DeserializeOwned;

use super::htmx::{HX_RESWAP, HX_RETARGET, HxRequest};
use super::{Layout, render};
use crate::auth::client_ip::ClientIp;
use crate::auth::guard::CurrentUser;
use crate::auth::password::PasswordHasher;
use crate::auth::session::{STEP_UP_WINDOW, UserSession};
use crate::domain::two_factor::{SecondFactor, TwoFactorKeys};
use crate::error::AppError;
use crate::service::step_up::{self as service, DangerousAction, Proof};
use crate::store::{self, Db};

/// The dialog's own fields; every other field is the action's.
const MARKER: &str = "step_up";
const PASSWORD: &str = "step_up_password";
const CODE: &str = "step_up_code";
const CSRF: &str = "csrf_token";

/// A dangerous action's form: the typed fields, and the step-up guard that
/// holds them as sent to re-post them.
pub struct StepUpForm<T> {
    pub form: T,
    pub step_up: StepUp,
}

/// See the module: `require` is the one call a handler makes.
pub struct StepUp {
    req: HttpRequest,
    /// The action's fields as sent, without the CSRF token and the dialog's.
    fields: Vec<(String, String)>,
    /// The dialog's answer, when this request is the dialog's.
    answer: Option<String>,
}

impl<T: DeserializeOwned + 'static> FromRequest for StepUpForm<T> {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = web::Bytes::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let body = bytes.await?;
            let form: T = super::forms::decode(&body)?;
            let sent: Vec<(String, String)> = super::forms::decode(&body)?;
            let answered = sent.iter().any(|(name, _)| name == MARKER);
            let answer = answered.then(|| {
                sent.iter()
                    .find(|(name, _)| name == PASSWORD || name == CODE)
                    .map(|(_, value)| value.clone())
                    .unwrap_or_default()
            });
            let fields = sent
                .into_iter()
                .filter(|(name, _)| ![MARKER, PASSWORD, CODE, CSRF].contains(&name.as_str()))
                .collect();
            Ok(Self {
                form,
                step_up: StepUp { req, fields, answer },
            })
        })
    }
}

#[derive(Template)]
#[template(path = "step_up.html", blocks = ["dialog"])]
struct StepUpDialog {
    layout: Layout,
    /// What the confirmation is for ("Rotating a key").
    purpose: &'static str,
    window_minutes: i64,
    action: String,
    fields: Vec<(String, String)>,
    /// With two-factor authentication: the code field, else the password's.
    asks_code: bool,
    error: Option<String>,
    cancel: &'static str,
}

/// Where Cancel goes without JavaScript: the page the action was started from.
fn cancel_path(action: DangerousAction) -> &'static str {
    match action {
        DangerousAction::TurnOffTwoFactorRequirement => super::security::BASE,
        DangerousAction::ChangeRole => "/backoffice/settings/users",
        _ => super::api_keys::BASE,
    }
}

impl StepUp {
    /// `None` when the session may take `action` now (its last strong
    /// check is recent, or this request brought the right password or
    /// code); else the answer to send instead of doing it.
    pub async fn require(&self, action: DangerousAction) -> Result<Option<HttpResponse>, AppError> {
        let session = UserSession::from_session(self.req.get_session());
        if session.strong_check_is_recent(store::now()) {
            return Ok(None);
        }
        let current = CurrentUser::extract(&self.req).await?;
        let asks_code = current.user.totp_enabled_at.is_some();
        let Some(answer) = &self.answer else {
            return self.dialog(action, asks_code, StatusCode::OK, None).map(Some);
        };
        match self.confirm(&current, asks_code, answer, action).await {
            Ok(()) => {
                session.record_strong_check()?;
                Ok(None)
            }
            Err(AppError::Validation(message)) => self
                .dialog(action, asks_code, StatusCode::UNPROCESSABLE_ENTITY, Some(message))
                .map(Some),
            Err(error @ AppError::TooManyRequests { .. }) => self
                .dialog(
                    action,
                    asks_code,
                    StatusCode::TOO_MANY_REQUESTS,
                    Some(error.to_string()),
                )
                .map(Some),
            Err(error) => Err(error),
        }
    }

    /// Checks the dialog's answer; a refusal is a `Validation` with the
    /// message for beside the field.
    async fn confirm(
        &self,
        current: &CurrentUser,
        asks_code: bool,
        answer: &str,
        action: DangerousAction,
    ) -> Result<(), AppError> {
        let db = data::<Db>(&self.req)?;
        let keys = data::<TwoFactorKeys>(&self.req)?;
        let ClientIp(ip) = ClientIp::extract(&self.req).await.map_err(AppError::unexpected)?;
        let user = current.user.clone();
        if asks_code {
            // Malformed codes are refused here, without counting.
            let factor = SecondFactor::parse(answer).map_err(|e| AppError::Validation(e.to_string()))?;
            let kind = factor.kind();
            let outcome = db
                .transaction(move |conn| {
                    service::confirm(
                        conn,
                        &keys,
                        &user,
                        Proof::SecondFactor(&factor),
                        action,
                        ip,
                        store::now(),
                    )
                })
                .await?;
            return outcome.map_err(|refused| AppError::Validation(refused.message(kind).to_owned()));
        }
        if answer.is_empty() {
            return Err(AppError::Validation("Enter your password.".to_owned()));
        }
        let reserving = user.clone();
        let reservation = db
            .transaction(move |conn| service::reserve_password(conn, &reserving, ip, store::now()))
            .await?;
        let matched = data::<PasswordHasher>(&self.req)?
            .verify(answer, Some(&current.user.password_hash))
            .await?;
        let proof = Proof::Password { matched, reservation };
        db.transaction(move |conn| service::confirm(conn, &keys, &user, proof, action, ip, store::now()))
            .await?
            .map_err(|_| AppError::Validation("That password is not right.".to_owned()))
    }

    fn dialog(
        &self,
        action: DangerousAction,
        asks_code: bool,
        status: StatusCode,
        error: Option<String>,
    ) -> Result<HttpResponse, AppError> {
        let dialog = StepUpDialog {
            layout: Layout::of(&self.req),
            purpose: action.describe(),
            window_minutes: STEP_UP_WINDOW.num_minutes(),
            action: self.req.path().to_owned(),
            fields: self.fields.clone(),
            asks_code,
            error,
            cancel: cancel_path(action),
        };
        if !HxRequest::of(&self.req).wants_fragment() {
            return render(status, &dialog);
        }
        // Into the modal whatever the action's form targeted.
        let mut response = render(status, &dialog.as_dialog())?;
        let headers = response.headers_mut();
        headers.insert(HX_RETARGET, HeaderValue::from_static("#modal"));
        headers.insert(HX_RESWAP, HeaderValue::from_static("innerHTML"));
        Ok(response)
    }
}

fn data<T: ?Sized + 'static>(req: &HttpRequest) -> Result<web::Data<T>, AppError> {
    req.app_data::<web::Data<T>>()
        .cloned()
        .ok_or_else(|| AppError::unexpected(anyhow::anyhow!("{} is not configured", std::any::type_name::<T>())))
}
