//! `/backoffice/settings/api-keys`: System Administrators manage their
//! organization's API keys here (the role guard wraps the whole scope).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::{Layout, render};
use crate::auth::guard::CurrentUser;
use crate::error::AppError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("", web::get().to(api_keys_page));
}

#[derive(Template)]
#[template(path = "api_keys/setup.html")]
struct SetUpApiKeysPage {
    layout: Layout,
    org_name: String,
}

/// `GET /backoffice/settings/api-keys`: until the organization is set up for
/// API keys, only the "Set up API keys" screen.
pub async fn api_keys_page(layout: Layout, current: CurrentUser) -> Result<HttpResponse, AppError> {
    render(
        StatusCode::OK,
        &SetUpApiKeysPage {
            layout,
            org_name: current.org.name,
        },
    )
}
