//! `/backoffice/settings/api-keys`: System Administrators manage their
//! organization's API keys here (the role guard wraps the whole scope).
//! Every route renders a whole page for a normal request and the fragment it
//! owns for an htmx request; everything works without JavaScript.

pub mod dialogs;
pub mod export;
pub mod list;
pub mod reports;
pub mod view;

use actix_web::http::Method;
use actix_web::web;

use crate::routing::RouteTable;

pub const BASE: &str = "/backoffice/settings/api-keys";

/// Every route of the page, relative to `BASE`; all behind the System
/// Administrator guard.
pub fn route_table() -> RouteTable {
    RouteTable::default()
        .path("", (), |r| {
            r.on(Method::GET, list::list_api_keys)
                .on(Method::POST, dialogs::create_api_key)
        })
        .path("/setup", (), |r| r.on(Method::POST, list::set_up_api_keys))
        .path("/new", (), |r| r.on(Method::GET, dialogs::new_api_key_form))
        .path("/export.csv", (), |r| r.on(Method::GET, export::export_api_keys))
        .path("/usage", (), |r| r.on(Method::GET, reports::show_usage))
        .path("/audit", (), |r| r.on(Method::GET, reports::show_audit_log))
        .path("/audit.csv", (), |r| r.on(Method::GET, reports::export_audit_log))
        .path("/{id}", (), |r| {
            r.on(Method::GET, list::show_api_key)
                .on(Method::POST, dialogs::update_api_key)
        })
        .path("/{id}/edit", (), |r| r.on(Method::GET, dialogs::edit_api_key_form))
        .path("/{id}/enable", (), |r| r.on(Method::POST, dialogs::enable_api_key))
        .path("/{id}/disable", (), |r| r.on(Method::POST, dialogs::disable_api_key))
        .path("/{id}/rotate", (), |r| {
            r.on(Method::GET, dialogs::rotate_api_key_form)
                .on(Method::POST, dialogs::rotate_api_key)
        })
        .path("/{id}/revoke", (), |r| {
            r.on(Method::GET, dialogs::revoke_api_key_form)
                .on(Method::POST, dialogs::revoke_api_key)
        })
        .path("/{id}/delete", (), |r| {
            r.on(Method::GET, dialogs::delete_api_key_form)
                .on(Method::POST, dialogs::delete_api_key)
        })
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    route_table().register(cfg);
}
