//! Keyward's own API under `/api/v1` and the gateway check `/auth/check`.
//! Every route states here, once, what it needs of the caller's key.

pub mod check;
pub mod input;
pub mod keys;
pub mod me;
pub mod openapi;
pub mod reports;
pub mod responses;
pub mod schemas;
pub mod verify;

use actix_web::http::Method;
use actix_web::middleware::from_fn;
use actix_web::web;

use crate::auth::key_auth::{self, Need};
use crate::domain::scope::Action;
use crate::routing::{Listed, RouteTable};

/// Every route of the API under `/api/v1`, each path with what it needs of
/// the caller's key.
fn v1_table() -> RouteTable<Need<'static>> {
    let admin_keys = Need::Scope(Action::Admin, "api-keys");
    RouteTable::default()
        .path("/ping", Need::AnyValidKey, |r| r.on(Method::GET, me::ping))
        .path("/me", Need::AnyValidKey, |r| r.on(Method::GET, me::show_me))
        .path("/verify", Need::Scope(Action::Read, "verify"), |r| {
            r.on(Method::POST, verify::verify_key)
        })
        .path("/usage", Need::Scope(Action::Read, "usage"), |r| {
            r.on(Method::GET, reports::show_usage)
        })
        .path("/audit-events", Need::Scope(Action::Read, "audit-events"), |r| {
            r.on(Method::GET, reports::list_audit_events)
        })
        .path("/api-keys", admin_keys, |r| {
            r.on(Method::GET, keys::list_keys).on(Method::POST, keys::create_key)
        })
        .path("/api-keys/{id}", admin_keys, |r| {
            r.on(Method::GET, keys::get_key)
                .on(Method::PATCH, keys::update_key)
                .on(Method::DELETE, keys::delete_key)
        })
        .path("/api-keys/{id}/enable", admin_keys, |r| {
            r.on(Method::POST, keys::enable_key)
        })
        .path("/api-keys/{id}/disable", admin_keys, |r| {
            r.on(Method::POST, keys::disable_key)
        })
        .path("/api-keys/{id}/rotate", admin_keys, |r| {
            r.on(Method::POST, keys::rotate_key)
        })
        .path("/api-keys/{id}/revoke", admin_keys, |r| {
            r.on(Method::POST, keys::revoke_key)
        })
}

/// The gateway check, at the root.
fn gateway_table() -> RouteTable {
    RouteTable::default().path("/auth/check", (), |r| r.any(check::check_request))
}

/// Where the API's version 1 is mounted.
const V1: &str = "/api/v1";

/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// Every route `routes` registers that needs a key (all but the OpenAPI
/// document, `OPENAPI_PATH`), read from the tables `routes` registers: the
/// OpenAPI test checks the document against it.
pub fn route_listing() -> Vec<Listed> {
    let mut listing = v1_table().listing(V1);
    listing.extend(gateway_table().listing(""));
    listing
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    let mut v1 = web::scope(V1)
        .app_data(input::json_config())
        .app_data(input::query_config())
        .service(
            web::resource("/openapi.json")
                .name(OPENAPI_PATH)
                .route(web::get().to(openapi::openapi_json)),
        );
    for (need, resource) in v1_table().into_resources(V1) {
        v1 = v1.service(resource.wrap(from_fn(move |req, next| key_auth::require(need, req, next))));
    }
    cfg.service(v1.default_service(web::to(crate::error::not_found)));
    gateway_table().register("", cfg);
}
