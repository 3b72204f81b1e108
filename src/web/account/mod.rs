//! The signed-in user's own account (`/backoffice/account`): who they are,
//! and their two-factor authentication (`two_factor`): setting it up,
//! recovery codes, turning it off. Also the guard that sends a System
//! Administrator whose organization requires two-factor authentication to
//! set it up before anything else.

pub mod qr;
pub mod two_factor;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage as _, HttpResponse, web};
use askama::Template;

use super::htmx::{HX_REDIRECT, HxRequest};
use super::{Layout, render, see_other};
use crate::auth::guard::CurrentUser;
use crate::domain::role::Role;
use crate::domain::two_factor::RECOVERY_CODE_COUNT;
use crate::error::AppError;
use crate::routing::RouteTable;
use crate::service::two_factor as service;
use crate::store::Db;

/// The account page.
pub const BASE: &str = "/backoffice/account";
/// The two-factor setup page: the one backoffice page a System
/// Administrator who must set it up can still open.
pub const SETUP_PATH: &str = "/backoffice/account/two-factor/setup";
pub const TURN_OFF_PATH: &str = "/backoffice/account/two-factor/turn-off";
pub const RECOVERY_CODES_PATH: &str = "/backoffice/account/two-factor/recovery-codes";

/// The account routes, added to the signed-in table (paths under
/// `/backoffice`).
pub fn routes(table: RouteTable) -> RouteTable {
    table
        .path("/account", (), |r| r.on(Method::GET, show_account))
        .path("/account/two-factor/setup", (), |r| {
            r.on(Method::GET, two_factor::setup_form)
                .on(Method::POST, two_factor::confirm_setup)
        })
        .path("/account/two-factor/turn-off", (), |r| {
            r.on(Method::GET, two_factor::turn_off_form)
                .on(Method::POST, two_factor::turn_off)
        })
        .path("/account/two-factor/recovery-codes", (), |r| {
            r.on(Method::GET, two_factor::regenerate_form)
                .on(Method::POST, two_factor::regenerate)
        })
}

/// Middleware inside the sign-in guard: a System Administrator who must set
/// up two-factor authentication (their organization requires it) gets the
/// setup page for every backoffice request, pages, forms and htmx requests
/// alike. Sign-out is outside the backoffice and still works.
pub async fn require_two_factor_setup(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let must = req
        .extensions()
        .get::<CurrentUser>()
        .is_some_and(CurrentUser::must_set_up_two_factor);
    // The path exactly: an encoded or longer variant of it is sent on too.
    if must && req.path() != SETUP_PATH {
        let response = if HxRequest::of(req.request()).wants_fragment() {
            HttpResponse::Ok().insert_header((HX_REDIRECT, SETUP_PATH)).finish()
        } else {
            see_other(SETUP_PATH)
        };
        return Ok(req.into_response(response).map_into_right_body());
    }
    next.call(req).await.map(ServiceResponse::map_into_left_body)
}

#[derive(Template)]
#[template(path = "account/account.html")]
struct AccountPage {
    layout: Layout,
    display_name: String,
    email: String,
    role_label: &'static str,
    org_name: String,
    /// "12 December 2026, 10:15 UTC" while two-factor authentication is on.
    two_factor_since: Option<String>,
    unused_recovery_codes: i64,
    recovery_code_count: usize,
    is_system_administrator: bool,
    organization_requires_two_factor: bool,
    notice: Option<&'static str>,
}

#[derive(serde::Deserialize)]
pub struct AccountQuery {
    done: Option<String>,
}

/// `GET /backoffice/account`
pub async fn show_account(
    db: web::Data<Db>,
    layout: Layout,
    current: CurrentUser,
    query: web::Query<AccountQuery>,
) -> Result<HttpResponse, AppError> {
    let user = current.user.clone();
    let status = db
        .run(move |conn| service::status(conn, &user))
        .await
        .map_err(AppError::from)?;
    let notice = match query.done.as_deref() {
        Some("turned-off") => Some("Two-factor authentication is off. Signing in needs only your password now."),
        _ => None,
    };
    let page = AccountPage {
        layout,
        display_name: current.user.display_name,
        email: current.user.email,
        role_label: current.role.label(),
        org_name: current.org.name,
        two_factor_since: status
            .enabled_at
            .map(|at| at.format("%-d %B %Y, %H:%M UTC").to_string()),
        unused_recovery_codes: status.unused_recovery_codes,
        recovery_code_count: RECOVERY_CODE_COUNT,
        is_system_administrator: current.role == Role::SystemAdministrator,
        organization_requires_two_factor: current.org.require_totp,
        notice,
    };
    render(StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_paths_are_the_ones_the_routes_register() {
        let listed: Vec<String> = super::routes(crate::routing::RouteTable::default())
            .listing(crate::web::BACKOFFICE)
            .into_iter()
            .map(|route| route.path)
            .collect();
        for path in [
            super::BASE,
            super::SETUP_PATH,
            super::TURN_OFF_PATH,
            super::RECOVERY_CODES_PATH,
        ] {
            assert!(listed.iter().any(|listed| listed == path), "{path}: {listed:?}");
        }
    }
}
