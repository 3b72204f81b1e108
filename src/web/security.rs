//! The organization's security settings (`/backoffice/settings/security`,
//! System Administrators only): whether its System Administrators must use
//! two-factor authentication.

use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, web};
use askama::Template;

use super::{Layout, render, see_other};
use crate::auth::client_ip::ClientIp;
use crate::auth::guard::CurrentUser;
use crate::error::AppError;
use crate::routing::RouteTable;
use crate::service::step_up::DangerousAction;
use crate::service::two_factor as service;
use crate::store::Db;
use crate::web::step_up::StepUpForm;

/// Where the page is mounted (the System Administrators' guard wraps it).
pub const BASE: &str = "/backoffice/settings/security";

/// The routes, relative to `BASE`.
pub fn route_table() -> RouteTable {
    RouteTable::default().path("", (), |r| {
        r.on(Method::GET, show_security_settings)
            .on(Method::POST, save_security_settings)
    })
}

#[derive(Template)]
#[template(path = "settings/security.html")]
struct SecurityPage {
    layout: Layout,
    org_name: String,
    require_two_factor: bool,
    /// The administrator's own two-factor authentication is on.
    own_two_factor: bool,
    error: Option<String>,
    saved: bool,
}

#[derive(serde::Deserialize)]
pub struct SecurityQuery {
    saved: Option<String>,
}

/// `GET /backoffice/settings/security`
pub async fn show_security_settings(
    layout: Layout,
    current: CurrentUser,
    query: web::Query<SecurityQuery>,
) -> Result<HttpResponse, AppError> {
    let page = SecurityPage {
        layout,
        org_name: current.org.name,
        require_two_factor: current.org.require_totp,
        own_two_factor: current.user.totp_enabled_at.is_some(),
        error: None,
        saved: query.saved.is_some(),
    };
    render(StatusCode::OK, &page)
}

#[derive(serde::Deserialize)]
pub struct SecurityForm {
    /// The checkbox: present when ticked.
    require_two_factor: Option<String>,
}

/// `POST /backoffice/settings/security`
pub async fn save_security_settings(
    db: web::Data<Db>,
    layout: Layout,
    current: CurrentUser,
    ClientIp(ip): ClientIp,
    StepUpForm { form, step_up }: StepUpForm<SecurityForm>,
) -> Result<HttpResponse, AppError> {
    let require = form.require_two_factor.is_some();
    if current.org.require_totp
        && !require
        && let Some(ask) = step_up.require(DangerousAction::TurnOffTwoFactorRequirement).await?
    {
        return Ok(ask);
    }
    let (org, user) = (current.org.clone(), current.user.clone());
    let saved = db
        .transaction(move |conn| service::set_requirement(conn, &org, &user, require, Some(ip)))
        .await
        .map_err(AppError::from);
    match saved {
        Ok(_) => Ok(see_other(&format!("{BASE}?saved=1"))),
        Err(AppError::Validation(message)) => {
            let page = SecurityPage {
                layout,
                org_name: current.org.name,
                require_two_factor: require,
                own_two_factor: current.user.totp_enabled_at.is_some(),
                error: Some(message),
                saved: false,
            };
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(error) => Err(error),
    }
}
