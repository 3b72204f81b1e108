//! The OpenAPI 3.1 document of `/api/v1` and `/auth/check`, generated from
//! the handlers' annotations and served at `/api/v1/openapi.json`. The
//! gateway check's header parameters follow the configured
//! `--gateway-headers`, so the document a server serves is the one it keeps.

use std::sync::OnceLock;

use actix_web::{HttpResponse, web};
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ObjectBuilder, Required, Type};
use utoipa::{Modify, OpenApi};

use super::check::{self, GatewayHeaders, GatewaySettings};
use super::{keys, me, reports, verify};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Keyward API",
        version = "1",
        description = "Authenticate with an API key in `X-API-Key` or `Authorization: Bearer`; a key created with `allow_query_key` may also come as `?api_key=` (any other key is refused there with 401 `query_key_not_allowed`, and so is a key sent in the URL and a header at once). Two different keys in one request are a 400 (`conflicting_keys`). Refusals are `application/problem+json` with a stable `code`. A key may disable, revoke, delete, rotate or narrow itself; it can never give (to itself or another key) more than it holds."
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
    security(("api_key" = []), ("bearer" = []), ("api_key_query" = []))
)]
pub struct ApiDoc;

struct KeySecurity;

impl Modify for KeySecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "The key (`ask_` + 64 letters and digits).",
            ))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("`Authorization: Bearer ask_…`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key_query",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "api_key",
                "Only for keys created with `allow_query_key` (URLs end up in logs and histories); any other key is refused here with 401 `query_key_not_allowed`.",
            ))),
        );
    }
}

fn header(name: &str, required: bool, description: String) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(if required { Required::True } else { Required::False })
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build()
}

/// The gateway check's header parameters, for the family the server reads.
struct GatewayParameters(GatewayHeaders);

impl Modify for GatewayParameters {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let (method, uri) = self.0.names();
        let (other_method, other_uri) = self.0.other().names();
        let parameters = vec![
            header(
                method,
                true,
                format!(
                    "The original request's method, set by the gateway exactly once (this server reads {method}: --gateway-headers)."
                ),
            ),
            header(
                uri,
                true,
                format!(
                    "The original request's path and query, set by the gateway exactly once. The path must be in normal form; a key may come in its query as `api_key` if the key allows it (this server reads {uri}: --gateway-headers)."
                ),
            ),
            header(
                other_method,
                false,
                format!("Must equal {method} when present (the other header family; a client may have sent it)."),
            ),
            header(
                other_uri,
                false,
                format!("Must equal {uri} when present (the other header family; a client may have sent it)."),
            ),
        ];
        if let Some(operation) = openapi
            .paths
            .paths
            .get_mut("/auth/check")
            .and_then(|item| item.get.as_mut())
        {
            operation.parameters = Some(parameters.into_iter().map(utoipa::openapi::RefOr::T).collect());
        }
    }
}

/// The document as JSON for a server reading `headers`, built once.
pub fn document(headers: GatewayHeaders) -> &'static str {
    static JSON: [OnceLock<String>; 2] = [OnceLock::new(), OnceLock::new()];
    let slot = match headers {
        GatewayHeaders::Original => &JSON[0],
        GatewayHeaders::Forwarded => &JSON[1],
    };
    slot.get_or_init(|| {
        let mut doc = ApiDoc::openapi();
        GatewayParameters(headers).modify(&mut doc);
        doc.to_pretty_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    })
}

/// `GET /api/v1/openapi.json`
pub async fn openapi_json(gateway: web::Data<GatewaySettings>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document(gateway.headers))
}
