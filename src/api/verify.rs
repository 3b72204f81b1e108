//! `POST /api/v1/verify`: a service of the platform asks whether a key may
//! do an action on a resource from a client address.

use std::net::IpAddr;

use actix_web::web::{self, Json};
use serde::{Deserialize, Serialize};

use super::responses;
use crate::auth::key_auth::{self, Authenticator, KeyPrincipal, KeySource, Need};
use crate::domain::scope::{Action, ResourceFilter};
use crate::error::AppError;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The key the service was given.
    pub key: String,
    /// read, write, admin or *.
    pub action: String,
    /// The resource path the request is about, e.g. `registries/private/items/42`.
    pub resource: String,
    /// The address of the client that presented the key.
    pub client_ip: String,
}

/// By hand: the key never reaches a log line.
impl std::fmt::Debug for VerifyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyRequest")
            .field("key", &"[redacted]")
            .field("action", &self.action)
            .field("resource", &self.resource)
            .field("client_ip", &self.client_ip)
            .finish()
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Verdict {
    pub allowed: bool,
    /// `ok`, or the refusal's code (as the API itself would answer).
    pub code: &'static str,
    /// The HTTP status the API itself would answer.
    pub status: u16,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/verify", tag = "verify", request_body = VerifyRequest, responses((status = 200, body = Verdict, description = "The verdict, allowed or not"), (status = 400, description = "The body could not be read", body = crate::error::Problem, content_type = "application/problem+json"), responses::NotAuthenticated, responses::NotAllowed))]
pub async fn verify_key(
    authenticator: web::Data<Authenticator>,
    caller: KeyPrincipal,
    Json(request): Json<VerifyRequest>,
) -> Result<Json<Verdict>, AppError> {
    let mut problems = Vec::new();
    let action = Action::parse(&request.action)
        .map_err(|e| problems.push(format!("action: {e}")))
        .ok();
    let resource = ResourceFilter::parse(&request.resource)
        .map_err(|e| problems.push(format!("resource: {e}")))
        .ok();
    let client_ip = request
        .client_ip
        .trim()
        .parse::<IpAddr>()
        .map_err(|_| problems.push(format!("client_ip: \"{}\" is not an IP address", request.client_ip)))
        .ok();
    let (Some(action), Some(resource), Some(client_ip)) = (action, resource, client_ip) else {
        return Err(AppError::Validation(problems.join("; ")));
    };
    // A service sees only keys of its own organization: another's is
    // unknown, and nothing about it is checked or recorded.
    let outcome = key_auth::authenticate_in_org(
        &authenticator,
        Some(&caller.record.org_id),
        &request.key,
        KeySource::Header,
        client_ip,
        caller.client_ip,
        Need::Scope(action, resource.as_str()),
    )
    .await?;
    Ok(Json(match outcome {
        Ok(principal) => Verdict {
            allowed: true,
            code: "ok",
            status: 200,
            message: "The key may do this.".into(),
            key_id: Some(principal.record.key_id.clone()),
            organization_id: Some(principal.record.org_id.clone()),
        },
        Err(rejection) => Verdict {
            allowed: false,
            code: rejection.code(),
            status: rejection.http_status(),
            message: rejection.message(),
            key_id: None,
            organization_id: None,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::VerifyRequest;

    #[test]
    fn a_verify_request_never_shows_its_key() {
        let key = crate::domain::token::ApiKeyToken::generate();
        let request = VerifyRequest {
            key: key.expose().to_owned(),
            action: "read".into(),
            resource: "flights".into(),
            client_ip: "10.0.0.1".into(),
        };
        let shown = format!("{request:?}");
        assert!(
            !shown.contains(key.expose()) && !shown.contains(&key.expose()[16..]),
            "{shown}"
        );
        assert!(shown.contains("[redacted]") && shown.contains("flights"));
    }
}
