//! Keyward's own API under `/api/v1` and the gateway check `/auth/check`.
//! Every route states here, once, what it needs of the caller's key.

pub mod check;
pub mod me;
pub mod verify;

use actix_web::middleware::from_fn;
use actix_web::web;

use crate::auth::key_auth::{self, Need};
use crate::domain::scope::Action;
use crate::error::AppError;

/// JSON bodies that cannot be read answer problem+json, naming the problem.
fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(64 * 1024)
        .error_handler(|error, _| AppError::Validation(format!("The JSON body could not be read: {error}")).into())
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .app_data(json_config())
            .service(
                web::resource("/me")
                    .wrap(from_fn(|req, next| key_auth::require(Need::AnyValidKey, req, next)))
                    .route(web::get().to(me::show_me)),
            )
            .service(
                web::resource("/verify")
                    .wrap(from_fn(|req, next| {
                        key_auth::require(Need::Scope(Action::Read, "verify"), req, next)
                    }))
                    .route(web::post().to(verify::verify_key)),
            )
            .default_service(web::to(not_found)),
    )
    .route("/auth/check", web::route().to(check::check_request));
}

async fn not_found() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound)
}
