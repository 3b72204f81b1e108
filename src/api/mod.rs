//! Keyward's own API under `/api/v1` and the gateway check `/auth/check`.
//! Every route states here, once, what it needs of the caller's key.

pub mod check;
pub mod keys;
pub mod me;
pub mod openapi;
pub mod reports;
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

/// Every route `routes` registers, as (method, path): the OpenAPI test checks
/// the document against this list. Keep the two side by side.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/ping"),
    ("GET", "/api/v1/me"),
    ("POST", "/api/v1/verify"),
    ("GET", "/api/v1/usage"),
    ("GET", "/api/v1/audit-events"),
    ("GET", "/api/v1/api-keys"),
    ("POST", "/api/v1/api-keys"),
    ("GET", "/api/v1/api-keys/{id}"),
    ("PATCH", "/api/v1/api-keys/{id}"),
    ("DELETE", "/api/v1/api-keys/{id}"),
    ("POST", "/api/v1/api-keys/{id}/enable"),
    ("POST", "/api/v1/api-keys/{id}/disable"),
    ("POST", "/api/v1/api-keys/{id}/rotate"),
    ("POST", "/api/v1/api-keys/{id}/revoke"),
    ("GET", "/auth/check"),
];

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .app_data(json_config())
            .route("/openapi.json", web::get().to(openapi::openapi_json))
            .service(
                web::resource("/ping")
                    .wrap(from_fn(|req, next| key_auth::require(Need::AnyValidKey, req, next)))
                    .route(web::get().to(me::ping)),
            )
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
            .service(
                web::resource("/usage")
                    .wrap(from_fn(|req, next| {
                        key_auth::require(Need::Scope(Action::Read, "usage"), req, next)
                    }))
                    .route(web::get().to(reports::show_usage)),
            )
            .service(
                web::resource("/audit-events")
                    .wrap(from_fn(|req, next| {
                        key_auth::require(Need::Scope(Action::Read, "audit-events"), req, next)
                    }))
                    .route(web::get().to(reports::list_audit_events)),
            )
            .service(
                web::scope("/api-keys")
                    .wrap(from_fn(|req, next| {
                        key_auth::require(Need::Scope(Action::Admin, "api-keys"), req, next)
                    }))
                    .route("", web::get().to(keys::list_keys))
                    .route("", web::post().to(keys::create_key))
                    .route("/{id}", web::get().to(keys::get_key))
                    .route("/{id}", web::patch().to(keys::update_key))
                    .route("/{id}", web::delete().to(keys::delete_key))
                    .route("/{id}/enable", web::post().to(keys::enable_key))
                    .route("/{id}/disable", web::post().to(keys::disable_key))
                    .route("/{id}/rotate", web::post().to(keys::rotate_key))
                    .route("/{id}/revoke", web::post().to(keys::revoke_key)),
            )
            .default_service(web::to(not_found)),
    )
    .route("/auth/check", web::route().to(check::check_request));
}

async fn not_found() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound)
}
