//! The backoffice: server-rendered pages for browsers, with htmx fragments.
//! This file holds the route table and what every page shares.

pub mod account;
pub mod api_keys;
pub mod assets;
pub mod error_pages;
pub mod forms;
pub mod health;
pub mod home;
pub mod htmx;
pub mod login;
pub mod metrics;
pub mod people;
pub mod security;
pub mod setup;
pub mod step_up;

use actix_session::SessionMiddleware;
use actix_session::config::{BrowserSession, TtlExtensionPolicy};
use actix_web::body::MessageBody;
use actix_web::cookie::SameSite;
use actix_web::dev::Payload;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{Next, from_fn};
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, HttpResponse, web};
use askama::Template;

use crate::auth::csrf::{self, CsrfSettings, CsrfToken};
use crate::auth::guard::{self, CurrentUser};
use crate::auth::session::{DbSessionStore, IDLE_TIMEOUT};
use crate::domain::role::Role;
use crate::error::AppError;
use crate::routing::{Listed, RouteTable};
use crate::store::Db;

pub const SESSION_COOKIE: &str = "keyward_session";

/// Registers the browser routes. Must come after every other scope: its empty
/// prefix matches all paths, and its default service is the 404 page.
pub fn routes(cfg: &mut web::ServiceConfig, db: &Db, csrf: &CsrfSettings) {
    let sessions = SessionMiddleware::builder(DbSessionStore::new(db.clone()), csrf.cookie_key.clone())
        .cookie_name(SESSION_COOKIE.to_owned())
        .cookie_secure(csrf.secure_cookies)
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .session_lifecycle(
            BrowserSession::default()
                .state_ttl(actix_web::cookie::time::Duration::seconds(IDLE_TIMEOUT.num_seconds()))
                .state_ttl_extension_policy(TtlExtensionPolicy::OnEveryRequest),
        )
        .build();

    cfg.service(
        web::scope("")
            .wrap(from_fn(csrf::protect))
            .wrap(sessions)
            .wrap(from_fn(error_pages::render_errors))
            .wrap(from_fn(|req, next| add_headers(&NO_STORE, req, next)))
            .configure(|cfg| public_table().register("", cfg))
            // A scope without a default service answers an unknown path
            // with the app's bare, empty 404, not the enclosing scope's page.
            .service(
                web::scope(BACKOFFICE)
                    // Inside the sign-in guard, which finds the user it reads.
                    .wrap(from_fn(account::require_two_factor_setup))
                    .wrap(from_fn(guard::require_sign_in))
                    .configure(|cfg| signed_in_table().register(BACKOFFICE, cfg))
                    .service(
                        web::scope(SECURITY_UNDER_BACKOFFICE)
                            .wrap(from_fn(guard::require_system_administrator))
                            .configure(|cfg| security::route_table().register(security::BASE, cfg))
                            .default_service(web::to(crate::error::not_found)),
                    )
                    // People administration (issue 13 item 3).
                    .service(
                        web::scope(USERS_UNDER_BACKOFFICE)
                            .wrap(from_fn(guard::require_system_administrator))
                            .configure(|cfg| people::route_table().register(people::BASE, cfg))
                            .default_service(web::to(crate::error::not_found)),
                    )
                    .service(
                        web::scope(API_KEYS_UNDER_BACKOFFICE)
                            .wrap(from_fn(guard::require_system_administrator))
                            .configure(api_keys::routes)
                            .default_service(web::to(crate::error::not_found)),
                    )
                    .default_service(web::to(crate::error::not_found)),
            )
            .default_service(web::to(crate::error::not_found)),
    );
}

/// Where the signed-in part of the browser routes is mounted.
pub const BACKOFFICE: &str = "/backoffice";
/// Where the System Administrators' part is mounted, under `BACKOFFICE`
/// (so at `api_keys::BASE`, which the listing names them by).
const API_KEYS_UNDER_BACKOFFICE: &str = "/settings/api-keys";
/// Where the organization's security settings are mounted (System
/// Administrators only), so at `security::BASE`.
const SECURITY_UNDER_BACKOFFICE: &str = "/settings/security";
/// Where people administration is mounted (System Administrators only), so
/// at `people::BASE`.
const USERS_UNDER_BACKOFFICE: &str = "/settings/users";
/// The pages anyone may open: sign-in, sign-out and the first-run setup.
fn public_table() -> RouteTable {
    RouteTable::default()
        .path("/", (), |r| r.on(Method::GET, home::root))
        .path("/login", (), |r| {
            r.on(Method::GET, login::login_form).on(Method::POST, login::sign_in)
        })
        .path("/login/two-factor", (), |r| {
            r.on(Method::GET, login::second_factor_form)
                .on(Method::POST, login::verify_second_factor)
        })
        .path("/logout", (), |r| r.on(Method::POST, login::sign_out))
        .path("/setup", (), |r| {
            r.on(Method::GET, setup::setup_form)
                .on(Method::POST, setup::complete_setup)
        })
        // The one-time links of people administration.
        .path("/invitation", (), |r| {
            r.on(Method::GET, people::links::link_form::<true>)
                .on(Method::POST, people::links::use_link::<true>)
        })
        .path("/password-reset", (), |r| {
            r.on(Method::GET, people::links::link_form::<false>)
                .on(Method::POST, people::links::use_link::<false>)
        })
}

/// The pages of anyone signed in, under `BACKOFFICE` (the sign-in guard wraps them).
fn signed_in_table() -> RouteTable {
    let table = RouteTable::default().path("", (), |r| r.on(Method::GET, home::backoffice_home));
    account::routes(table)
}

/// Which guard a browser route is behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// None: anyone may open it.
    Public,
    /// Anyone signed in.
    SignedIn,
    /// System Administrators only.
    SystemAdministrator,
}

/// Every browser route with the guard in front of it, read from the tables
/// `routes` registers: the tests of who reaches what and of CSRF walk it, so
/// a route added to a table is checked without anyone listing it again.
pub fn route_listing() -> Vec<(Guard, Listed)> {
    let tagged = |guard, listing: Vec<Listed>| listing.into_iter().map(move |route| (guard, route));
    tagged(Guard::Public, public_table().listing(""))
        .chain(tagged(Guard::SignedIn, signed_in_table().listing(BACKOFFICE)))
        .chain(tagged(
            Guard::SystemAdministrator,
            api_keys::route_table().listing(api_keys::BASE),
        ))
        .chain(tagged(
            Guard::SystemAdministrator,
            security::route_table().listing(security::BASE),
        ))
        .chain(tagged(
            Guard::SystemAdministrator,
            people::route_table().listing(people::BASE),
        ))
        .collect()
}

/// Headers every response carries.
pub static SECURITY_HEADERS: [(HeaderName, HeaderValue); 5] = [
    (
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    ),
    (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    // Not `no-referrer` (as DESIGN.md had it): with that policy browsers send
    // `Origin: null` on form posts, which defeats the same-origin check.
    // `same-origin` still never tells another site which page linked to it.
    (header::REFERRER_POLICY, HeaderValue::from_static("same-origin")),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    ),
];

/// Backoffice pages are never cached: they show keys and who made them.
static NO_STORE: [(HeaderName, HeaderValue); 1] = [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))];

/// Middleware that gives a response each of `headers` it lacks. Unlike
/// actix's `DefaultHeaders`, it also reaches the error responses a middleware
/// returns as `Err` (a CSRF refusal, a session store that is down, a guard's
/// answer), which would otherwise go out without them.
pub async fn add_headers<B: MessageBody + 'static>(
    headers: &'static [(HeaderName, HeaderValue)],
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let insert_missing = |map: &mut header::HeaderMap| {
        for (name, value) in headers {
            if !map.contains_key(name) {
                map.insert(name.clone(), value.clone());
            }
        }
    };
    match next.call(req).await {
        Ok(mut res) => {
            insert_missing(res.headers_mut());
            Ok(res)
        }
        Err(error) => {
            let mut response = error.error_response();
            insert_missing(response.headers_mut());
            Err(InternalError::from_response(error.to_string(), response).into())
        }
    }
}

/// Percent-encodes a value for a URL's path or query: all but unreserved
/// characters and `/` (which needs no escape there).
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The signed-in user as the page header shows them.
#[derive(Debug, Clone)]
pub struct LayoutUser {
    pub display_name: String,
    pub email: String,
    pub role_label: &'static str,
    pub org_name: String,
    pub is_system_administrator: bool,
}

/// What the shared layout (`base.html`) needs; every page template has one.
#[derive(Debug, Clone)]
pub struct Layout {
    pub csrf_token: String,
    pub user: Option<LayoutUser>,
    pub assets: &'static assets::AssetUrls,
}

impl Layout {
    pub fn of(req: &HttpRequest) -> Self {
        let extensions = req.extensions();
        Self {
            csrf_token: extensions.get::<CsrfToken>().map(|t| t.0.clone()).unwrap_or_default(),
            user: extensions.get::<CurrentUser>().map(|current| LayoutUser {
                display_name: current.user.display_name.clone(),
                email: current.user.email.clone(),
                role_label: current.role.label(),
                org_name: current.org.name.clone(),
                is_system_administrator: current.role == Role::SystemAdministrator,
            }),
            assets: assets::urls(),
        }
    }
}

impl FromRequest for Layout {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Self::of(req)))
    }
}

/// Renders a template as an HTML response with the given status.
pub fn render(status: StatusCode, template: &impl Template) -> Result<HttpResponse, AppError> {
    let body = template.render().map_err(AppError::unexpected)?;
    Ok(HttpResponse::build(status)
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ))
        .body(body))
}

/// 303 See Other to a local path.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// A `next=` target that stays on this site, as the path and query to put in
/// `Location`. It is judged the way a browser reads `Location` (the WHATWG
/// URL rules: tabs and newlines removed, `\\` taken as `/`): resolved against
/// a fixed base, it must keep the base's origin. Control characters and
/// anything not starting with `/` are refused outright.
pub fn local_path(next: Option<&str>) -> Option<String> {
    let next = next.filter(|n| n.starts_with('/') && !n.chars().any(char::is_control))?;
    let base = url::Url::parse("http://keyward.invalid/").ok()?;
    let resolved = base.join(next).ok()?;
    if resolved.origin() != base.origin() {
        return None;
    }
    let mut local = resolved.path().to_owned();
    if let Some(query) = resolved.query() {
        local.push('?');
        local.push_str(query);
    }
    // A path that still starts with `//` would be read as another host.
    (!local.starts_with("//")).then_some(local)
}

#[cfg(test)]
mod tests {
    use super::{
        API_KEYS_UNDER_BACKOFFICE, BACKOFFICE, SECURITY_UNDER_BACKOFFICE, USERS_UNDER_BACKOFFICE, api_keys, local_path,
        people, security,
    };

    #[test]
    fn the_api_keys_routes_are_mounted_where_the_listing_says() {
        assert_eq!(api_keys::BASE, format!("{BACKOFFICE}{API_KEYS_UNDER_BACKOFFICE}"));
        assert_eq!(security::BASE, format!("{BACKOFFICE}{SECURITY_UNDER_BACKOFFICE}"));
        assert_eq!(people::BASE, format!("{BACKOFFICE}{USERS_UNDER_BACKOFFICE}"));
    }

    #[test]
    fn next_targets_stay_on_this_site() {
        for (good, kept) in [
            ("/backoffice?x=1", "/backoffice?x=1"),
            ("/backoffice/settings/api-keys", "/backoffice/settings/api-keys"),
            ("/a\\b", "/a/b"),
            ("/%09/evil.example", "/%09/evil.example"),
        ] {
            assert_eq!(local_path(Some(good)).as_deref(), Some(kept), "{good:?}");
        }
        // Browsers parse `Location` by the URL standard: tabs and newlines
        // are removed and `\` is a `/`, so each of these leaves the site.
        for bad in [
            "//evil.example",
            "https://evil.example",
            "https:evil.example",
            "http:/evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "\t//evil.example",
            " //evil.example",
            " /x",
            "/.//evil.example",
            "/..//evil.example",
            "/%2e//evil.example",
            "/\u{0}/evil.example",
            "backoffice",
            "javascript:alert(1)",
            "/a\r\nSet-Cookie: x",
            "",
        ] {
            assert_eq!(local_path(Some(bad)).as_deref(), None, "{bad:?}");
        }
        assert_eq!(local_path(None).as_deref(), None);
    }
}
