//! `/backoffice/settings/api-keys`: System Administrators manage their
//! organization's API keys here (the role guard wraps the whole scope).
//! Every route renders a whole page for a normal request and the fragment it
//! owns for an htmx request; everything works without JavaScript.

pub mod chart;
pub mod confirm;
pub mod create;
pub mod csv_export;
pub mod detail;
pub mod dialog;
pub mod edit;
pub mod export;
pub mod feedback;
pub mod key_form;
pub mod list;
pub mod pagination;
pub mod reports;
pub mod rotate;
pub mod setup;
pub mod toggle;
pub mod view;

use actix_web::http::Method;
use actix_web::web;

use self::confirm::{Delete, Revoke};
use crate::routing::RouteTable;

pub const BASE: &str = "/backoffice/settings/api-keys";

/// Every route of the page, relative to `BASE`; all behind the System
/// Administrator guard.
pub fn route_table() -> RouteTable {
    RouteTable::default()
        .path("", (), |r| {
            r.on(Method::GET, list::list_api_keys)
                .on(Method::POST, create::create_api_key)
        })
        .path("/setup", (), |r| r.on(Method::POST, setup::set_up_api_keys))
        .path("/new", (), |r| r.on(Method::GET, create::new_api_key_form))
        .path("/export.csv", (), |r| r.on(Method::GET, export::export_api_keys))
        .path("/usage", (), |r| r.on(Method::GET, reports::show_usage))
        .path("/audit", (), |r| r.on(Method::GET, reports::show_audit_log))
        .path("/audit.csv", (), |r| r.on(Method::GET, reports::export_audit_log))
        .path("/{id}", (), |r| {
            r.on(Method::GET, detail::show_api_key)
                .on(Method::POST, edit::update_api_key)
        })
        .path("/{id}/edit", (), |r| r.on(Method::GET, edit::edit_api_key_form))
        .path("/{id}/enable", (), |r| r.on(Method::POST, toggle::set_enabled::<true>))
        .path("/{id}/disable", (), |r| {
            r.on(Method::POST, toggle::set_enabled::<false>)
        })
        .path("/{id}/rotate", (), |r| {
            r.on(Method::GET, rotate::rotate_api_key_form)
                .on(Method::POST, rotate::rotate_api_key)
        })
        .path("/{id}/revoke", (), |r| {
            r.on(Method::GET, confirm::confirm_form::<Revoke>)
                .on(Method::POST, confirm::confirmed::<Revoke>)
        })
        .path("/{id}/delete", (), |r| {
            r.on(Method::GET, confirm::confirm_form::<Delete>)
                .on(Method::POST, confirm::confirmed::<Delete>)
        })
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    route_table().register(BASE, cfg);
}
