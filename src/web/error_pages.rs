//! Turns errors on browser routes into HTML: a page with the request id for
//! normal requests, a redirect to sign-in for 401, and for htmx requests an
//! `HX-Redirect` (401) or a toast swapped into `#toasts`.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpMessage as _, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use tracing_actix_web::RequestId;

use super::htmx::{HX_REDIRECT, HX_RESWAP, HX_RETARGET, HxRequest};
use super::{Layout, render, see_other};
use crate::error::AppError;

#[derive(Template)]
#[template(path = "errors/error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    title: String,
    message: String,
    request_id: String,
}

#[derive(Template)]
#[template(path = "errors/toast.html")]
struct ErrorToast {
    message: String,
    request_id: String,
}

/// Status, title and user-facing message of an error; causes of 5xx that are
/// not ours stay in the log.
fn describe(error: &actix_web::Error, status: StatusCode) -> (StatusCode, String, String) {
    if let Some(app) = error.as_error::<AppError>() {
        return (app.status_code(), app.title().to_owned(), app.to_string());
    }
    if status.is_client_error() {
        // actix's own 4xx (a form that cannot be decoded, a payload too large)
        // say what is wrong with the request.
        let reason = status.canonical_reason().unwrap_or("Bad request").to_owned();
        return (status, reason, format!("The request could not be used: {error}"));
    }
    let unexpected = AppError::Unexpected(anyhow::anyhow!("{error}"));
    (status, unexpected.title().to_owned(), unexpected.to_string())
}

/// What the error page needs from the request, read before the request is
/// handed on (an `HttpRequest` must not be cloned around routing).
struct ErrorContext {
    htmx: bool,
    request_id: String,
    login_target: String,
}

impl ErrorContext {
    fn of(req: &HttpRequest) -> Self {
        let next = if req.method() == Method::GET {
            let query = req.query_string().to_ascii_lowercase();
            // A key pasted into a search box must not travel on into the
            // sign-in URL (and so the address bar and history): drop the query.
            if query.contains("ask_") || query.contains("ask%5f") {
                req.path()
            } else {
                req.uri().path_and_query().map_or("/backoffice", |pq| pq.as_str())
            }
        } else {
            "/backoffice"
        };
        Self {
            htmx: HxRequest::of(req).wants_fragment(),
            request_id: req
                .extensions()
                .get::<RequestId>()
                .map(ToString::to_string)
                .unwrap_or_default(),
            login_target: format!("/login?next={}", super::percent_encode(next)),
        }
    }
}

fn error_response(
    context: ErrorContext,
    layout: Layout,
    status: StatusCode,
    title: String,
    message: String,
) -> HttpResponse {
    let ErrorContext {
        htmx,
        request_id,
        login_target,
    } = context;
    if status == StatusCode::UNAUTHORIZED {
        return if htmx {
            HttpResponse::Ok().insert_header((HX_REDIRECT, login_target)).finish()
        } else {
            see_other(&login_target)
        };
    }
    let rendered = if htmx {
        render(status, &ErrorToast { message, request_id }).map(|mut response| {
            let headers = response.headers_mut();
            headers.insert(HX_RETARGET, header::HeaderValue::from_static("#toasts"));
            headers.insert(HX_RESWAP, header::HeaderValue::from_static("beforeend"));
            response
        })
    } else {
        let page = ErrorPage {
            layout,
            status: status.as_u16(),
            title,
            message,
            request_id,
        };
        render(status, &page)
    };
    rendered.unwrap_or_else(|error| {
        tracing::error!(%error, "could not render the error page");
        HttpResponse::build(status)
            .content_type("text/plain; charset=utf-8")
            .body(status.to_string())
    })
}

/// The page replaces the error, so the request log would not see its cause:
/// log server-side failures here, once.
fn log_cause(error: &actix_web::Error, status: StatusCode) {
    if status.is_server_error() {
        tracing::error!(error = %error, cause = ?error, "request failed");
    }
}

/// Middleware for every browser route.
pub async fn render_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let context = ErrorContext::of(req.request());
    match next.call(req).await {
        Ok(res) => {
            let Some(error) = res.response().error() else {
                return Ok(res.map_into_boxed_body());
            };
            let (status, title, message) = describe(error, res.status());
            log_cause(error, status);
            let (req, _) = res.into_parts();
            let response = error_response(ErrorContext::of(&req), Layout::of(&req), status, title, message);
            Ok(ServiceResponse::new(req, response))
        }
        // A middleware (session store, CSRF, guard) failed before a handler
        // ran; without the request, answer through the error itself.
        Err(error) => {
            let (status, title, message) = describe(&error, error.as_response_error().status_code());
            log_cause(&error, status);
            let layout = Layout {
                csrf_token: String::new(),
                user: None,
                assets: super::assets::urls(),
            };
            let response = error_response(context, layout, status, title, message);
            Err(InternalError::from_response(error.to_string(), response).into())
        }
    }
}
