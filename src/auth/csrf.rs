//! Cross-site request forgery protection for the browser routes: every
//! state-changing request must come from our own origin and carry the CSRF
//! token, as the `csrf_token` form field or the `X-CSRF-Token` header (which
//! htmx sends from `hx-headers` on `<body>`).
//!
//! The token is an HMAC, under a key derived from the server secret, of what
//! it is bound to: once signed in, a random value kept in the session's
//! server-side state (made at sign-in), so a token, or a token planted with
//! its cookie from a sibling subdomain, works in no other session; before
//! sign-in (the login form), the random value of a signed `keyward_csrf`
//! cookie, replaced at sign-in and sign-out.
//!
//! The origin check compares scheme, host and port with `--public-url` when it
//! is set; without it, the host of `Origin` with the request's `Host`.

use actix_session::SessionExt as _;
use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, CookieJar, Key, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, web};
use rand::RngExt as _;
use subtle::ConstantTimeEq as _;

use crate::auth::session::UserSession;
use crate::domain::public_url::PublicUrl;
use crate::domain::secret::ServerSecret;
use crate::error::AppError;

pub const COOKIE_NAME: &str = "keyward_csrf";
pub const HEADER: &str = "x-csrf-token";

/// What the CSRF check needs: the server secret tokens are derived from,
/// the key that signs the `keyward_csrf` cookie (the session cookie's too),
/// whether cookies are `Secure`, and where browsers reach the backoffice
/// (`None`: judge origins by `Host`). One `web::Data`, built at startup.
pub struct CsrfSettings {
    pub secret: ServerSecret,
    pub cookie_key: Key,
    pub secure_cookies: bool,
    pub public_url: Option<PublicUrl>,
}

/// The current request's token, for templates to embed.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// Put into a request's extensions by a handler (sign-in, sign-out) to have a
/// fresh token issued with its response.
#[derive(Debug, Clone, Copy)]
pub struct RotateCsrfToken;

fn new_token() -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(43)
        .map(char::from)
        .collect()
}

/// What a token is bound to.
enum Binding<'a> {
    /// The signed-in session's own random value (kept server-side).
    Session(&'a str),
    /// The random value of the `keyward_csrf` cookie, before sign-in.
    PreSession(&'a str),
}

/// The token a page embeds and a form must send back for `binding`.
fn token_for(secret: &ServerSecret, binding: &Binding<'_>) -> String {
    let (kind, value): (&[u8], &str) = match binding {
        Binding::Session(value) => (b"session\0", value),
        Binding::PreSession(value) => (b"pre-session\0", value),
    };
    hex::encode(secret.derive(&[b"keyward csrf v1\0", kind, value.as_bytes()]))
}

fn verified_cookie_token(req: &ServiceRequest, key: &Key) -> Option<String> {
    let cookie = req.cookie(COOKIE_NAME)?;
    let mut jar = CookieJar::new();
    jar.add_original(cookie.into_owned());
    jar.signed(key).get(COOKIE_NAME).map(|c| c.value().to_owned())
}

fn signed_cookie(token: String, key: &Key, secure: bool) -> Option<Cookie<'static>> {
    let mut jar = CookieJar::new();
    let cookie = Cookie::build(COOKIE_NAME, token)
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .finish();
    jar.signed_mut(key).add(cookie);
    jar.get(COOKIE_NAME).cloned()
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The request's own origin host (`host[:port]`), from the request line or `Host`.
fn request_host(req: &HttpRequest) -> Option<String> {
    req.uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| req.headers().get(header::HOST)?.to_str().ok().map(str::to_owned))
}

/// `host[:port]` of an origin or URL such as `https://example.com:8443/path`.
fn host_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(rest.split(['/', '?', '#']).next().unwrap_or(rest))
}

/// Same-origin check: `Origin` (or, failing that, `Referer`) must name the
/// public URL's origin (scheme, host and port) or, without one, this host.
fn check_origin(req: &HttpRequest, public_url: Option<&PublicUrl>) -> Result<(), AppError> {
    let claimed = req
        .headers()
        .get(header::ORIGIN)
        .or_else(|| req.headers().get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    let unnamed = || {
        AppError::Forbidden(
            "This form was refused because your browser did not say which site sent it. Reload the page and try again."
                .to_owned(),
        )
    };
    let Some(claimed) = claimed else {
        return Err(unnamed());
    };
    let same_origin = match public_url {
        Some(public_url) => url::Url::parse(claimed).is_ok_and(|url| url.origin() == public_url.origin()),
        None => {
            let host = request_host(req).ok_or_else(unnamed)?;
            host_of(claimed).is_some_and(|h| h.eq_ignore_ascii_case(&host))
        }
    };
    if same_origin {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "This form was sent from another site, so it was refused. Use Keyward's own pages.".to_owned(),
        ))
    }
}

fn tokens_match(sent: Option<&str>, expected: Option<&str>) -> bool {
    match (sent, expected) {
        (Some(sent), Some(expected)) => bool::from(sent.as_bytes().ct_eq(expected.as_bytes())),
        _ => false,
    }
}

/// The `csrf_token` field of an `application/x-www-form-urlencoded` body.
fn form_field(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct CsrfField {
        csrf_token: Option<String>,
    }
    let body = std::str::from_utf8(body).ok()?;
    web::Query::<CsrfField>::from_query(body).ok()?.into_inner().csrf_token
}

/// Middleware for every browser route.
pub async fn protect(
    settings: web::Data<CsrfSettings>,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let existing = verified_cookie_token(&req, &settings.cookie_key);
    let pre_session = existing.clone().unwrap_or_else(new_token);
    // Sessions signed in before tokens were bound to them have no value of
    // their own; they keep the cookie's until they end (12 hours at most).
    let session_value = UserSession::from_session(req.get_session()).csrf_value();
    let (binding, expected) = match (&session_value, &existing) {
        (Some(value), _) => (Binding::Session(value), true),
        (None, Some(value)) => (Binding::PreSession(value), true),
        (None, None) => (Binding::PreSession(&pre_session), false),
    };
    let token = token_for(&settings.secret, &binding);
    let expected = expected.then(|| token.clone());

    let req = if is_state_changing(req.method()) {
        check_origin(req.request(), settings.public_url.as_ref())?;
        let from_header = req
            .headers()
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let (http_req, mut payload) = req.into_parts();
        let (sent, payload) = match from_header {
            Some(sent) => (Some(sent), payload),
            None => {
                let is_form = http_req
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
                if is_form {
                    let body = web::Bytes::from_request(&http_req, &mut payload).await?;
                    (form_field(&body), Payload::from(body))
                } else {
                    (None, payload)
                }
            }
        };
        if !tokens_match(sent.as_deref(), expected.as_deref()) {
            return Err(AppError::Forbidden(
                "This form has expired or was not sent from this browser session. Reload the page and try again."
                    .to_owned(),
            )
            .into());
        }
        ServiceRequest::from_parts(http_req, payload)
    } else {
        req
    };

    req.extensions_mut().insert(CsrfToken(token.clone()));
    let mut res = next.call(req).await?;

    let rotate = res.request().extensions().contains::<RotateCsrfToken>();
    let fresh = if rotate {
        Some(new_token())
    } else if existing.is_none() {
        Some(pre_session)
    } else {
        None
    };
    if let Some(cookie) = fresh.and_then(|t| signed_cookie(t, &settings.cookie_key, settings.secure_cookies)) {
        res.response_mut().add_cookie(&cookie)?;
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_read_from_origins_and_urls() {
        assert_eq!(host_of("http://127.0.0.1:8080"), Some("127.0.0.1:8080"));
        assert_eq!(host_of("https://example.com/backoffice?x=1"), Some("example.com"));
        assert_eq!(host_of("null"), None);
    }

    #[test]
    fn tokens_depend_on_what_they_are_bound_to() {
        let secret = ServerSecret::generate();
        let session = token_for(&secret, &Binding::Session("abc"));
        assert_eq!(session, token_for(&secret, &Binding::Session("abc")));
        assert_ne!(session, token_for(&secret, &Binding::Session("abd")));
        assert_ne!(session, token_for(&secret, &Binding::PreSession("abc")));
        assert_ne!(session, token_for(&ServerSecret::generate(), &Binding::Session("abc")));
    }

    #[test]
    fn tokens_must_be_present_and_equal() {
        assert!(tokens_match(Some("abc"), Some("abc")));
        assert!(!tokens_match(Some("abc"), Some("abd")));
        assert!(!tokens_match(None, Some("abc")));
        assert!(!tokens_match(Some("abc"), None));
    }

    #[test]
    fn the_token_is_read_from_a_form_body() {
        assert_eq!(form_field(b"email=a%40b.c&csrf_token=xyz"), Some("xyz".to_owned()));
        assert_eq!(form_field(b"email=a"), None);
    }
}
