//! `/` and the backoffice home page.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;

use super::{Layout, render, see_other};
use crate::auth::guard::CurrentUser;
use crate::error::AppError;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    org_name: String,
    role_label: &'static str,
    display_name: String,
}

/// `GET /`: the backoffice is the only page for browsers.
pub async fn root() -> HttpResponse {
    see_other("/backoffice")
}

/// `GET /backoffice`
pub async fn backoffice_home(layout: Layout, current: CurrentUser) -> Result<HttpResponse, AppError> {
    let page = HomePage {
        layout,
        org_name: current.org.name,
        role_label: current.role.label(),
        display_name: current.user.display_name,
    };
    render(StatusCode::OK, &page)
}
