//! `/backoffice/settings/api-keys`: System Administrators manage their
//! organization's API keys here (the role guard wraps the whole scope).
//! Every route renders a whole page for a normal request and the fragment it
//! owns for an htmx request; everything works without JavaScript.

pub mod dialogs;
pub mod export;
pub mod list;
pub mod reports;
pub mod view;

use actix_web::web;

pub const BASE: &str = "/backoffice/settings/api-keys";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("", web::get().to(list::list_api_keys))
        .route("", web::post().to(dialogs::create_api_key))
        .route("/setup", web::post().to(list::set_up_api_keys))
        .route("/new", web::get().to(dialogs::new_api_key_form))
        .route("/export.csv", web::get().to(export::export_api_keys))
        .route("/usage", web::get().to(reports::show_usage))
        .route("/audit", web::get().to(reports::show_audit_log))
        .route("/audit.csv", web::get().to(reports::export_audit_log))
        .route("/{id}", web::get().to(list::show_api_key))
        .route("/{id}", web::post().to(dialogs::update_api_key))
        .route("/{id}/edit", web::get().to(dialogs::edit_api_key_form))
        .route("/{id}/enable", web::post().to(dialogs::enable_api_key))
        .route("/{id}/disable", web::post().to(dialogs::disable_api_key))
        .route("/{id}/rotate", web::get().to(dialogs::rotate_api_key_form))
        .route("/{id}/rotate", web::post().to(dialogs::rotate_api_key))
        .route("/{id}/revoke", web::get().to(dialogs::revoke_api_key_form))
        .route("/{id}/revoke", web::post().to(dialogs::revoke_api_key))
        .route("/{id}/delete", web::get().to(dialogs::delete_api_key_form))
        .route("/{id}/delete", web::post().to(dialogs::delete_api_key));
}
