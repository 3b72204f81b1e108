//! htmx request detection and response headers.

use actix_web::dev::Payload;
use actix_web::http::header::HeaderName;
use actix_web::{FromRequest, HttpRequest};

/// Whether a request wants a fragment: sent by htmx (`HX-Request`) but not a
/// boosted navigation, which wants the whole page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HxRequest(pub bool);

impl HxRequest {
    pub fn of(req: &HttpRequest) -> Self {
        let headers = req.headers();
        Self(headers.contains_key("hx-request") && !headers.contains_key("hx-boosted"))
    }

    pub fn wants_fragment(self) -> bool {
        self.0
    }
}

impl FromRequest for HxRequest {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Self::of(req)))
    }
}

/// htmx's client-side redirect (a plain 3xx would be followed by XHR and
/// swapped into the page).
pub const HX_REDIRECT: HeaderName = HeaderName::from_static("hx-redirect");
pub const HX_RETARGET: HeaderName = HeaderName::from_static("hx-retarget");
pub const HX_RESWAP: HeaderName = HeaderName::from_static("hx-reswap");
