//! `GET /api/v1/me`: who the calling key is.

use actix_web::web::Json;
use serde::Serialize;

use super::responses;
use crate::auth::key_auth::KeyPrincipal;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Organization {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub organization: Organization,
    /// The key's `id` in the management API.
    pub id: String,
    pub name: String,
    /// The public key id of the secret used.
    pub key_id: String,
    pub scopes: Vec<String>,
    pub allowed_networks: Vec<String>,
    /// RFC 3339, UTC; absent when the key never expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "keys", responses((status = 200, body = Me, description = "The calling key"), responses::ConflictingKeys, responses::KeyRefusals, responses::NotFromHere))]
pub async fn show_me(principal: KeyPrincipal) -> Json<Me> {
    let record = &principal.record;
    Json(Me {
        organization: Organization {
            id: record.org_id.clone(),
            name: record.org_name.clone(),
        },
        id: record.api_key_id.clone(),
        name: record.name.clone(),
        key_id: record.key_id.clone(),
        scopes: record.scopes.iter().map(crate::domain::scope::Scope::to_pair).collect(),
        allowed_networks: record.networks.iter().map(ToString::to_string).collect(),
        expires_at: record.expires_at.map(crate::domain::time::rfc3339),
    })
}

/// `GET /api/v1/ping`: the cheapest way for an integration to check its key.
#[utoipa::path(get, path = "/api/v1/ping", tag = "keys", responses((status = 200, body = String, description = "`pong`", content_type = "text/plain"), responses::ConflictingKeys, responses::KeyRefusals, responses::NotFromHere))]
pub async fn ping() -> &'static str {
    "pong"
}
