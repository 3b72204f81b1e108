//! The OpenAPI 3.1 document of `/api/v1` and `/auth/check`, generated from
//! the handlers' annotations and served at `/api/v1/openapi.json`.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{check, keys, me, reports, verify};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Keyward API",
        version = "1",
        description = "Authenticate with an API key in X-API-Key (or Authorization: Bearer). Refusals are application/problem+json with a stable `code`."
    ),
    paths(
        me::ping,
        me::show_me,
        verify::verify_key,
        keys::list_keys,
        keys::create_key,
        keys::get_key,
        keys::update_key,
        keys::delete_key,
        keys::enable_key,
        keys::disable_key,
        keys::rotate_key,
        keys::revoke_key,
        reports::show_usage,
        reports::list_audit_events,
        check::check_request,
    ),
    modifiers(&KeySecurity),
    security(("api_key" = []), ("bearer" = []))
)]
pub struct ApiDoc;

struct KeySecurity;

impl Modify for KeySecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document as JSON, built once.
pub fn document() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    })
}

/// `GET /api/v1/openapi.json`
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(document())
}
