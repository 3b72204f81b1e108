//! `POST /api/v1/verify`: a service of the platform asks whether a key may
//! do an action on a resource from a client address.

use std::net::IpAddr;

use actix_web::web::{self, Json};
use serde::{Deserialize, Serialize};

use super::input::{JsonObject, Problems};
use super::responses;
use super::schemas::{IpText, ResourceText};
use crate::auth::key_auth::{self, Authenticator, KeyPrincipal, KeySource, Need};
use crate::domain::as_written;
use crate::domain::scope::{Action, ResourceFilter};
use crate::error::AppError;

/// An action as the document names it (the handler reads the string and
/// names a wrong one with 422).
#[derive(utoipa::ToSchema)]
pub enum ActionName {
    #[schema(rename = "read")]
    Read,
    #[schema(rename = "write")]
    Write,
    #[schema(rename = "admin")]
    Admin,
    #[schema(rename = "*")]
    Any,
}

/// What a service asks about a key. Fields the schema does not name are
/// refused (400).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"key": "ask_0000000000000000000000000000000000000000000000000000000000000000", "action": "read", "resource": "registries/private/items/42", "client_ip": "203.0.113.7"}))]
pub struct VerifyRequest {
    /// The key the service was given: any text (one that is not a valid key
    /// is a verdict, `invalid_key`, not a refusal).
    pub key: String,
    /// The action the request needs.
    #[schema(value_type = ActionName)]
    pub action: String,
    #[schema(value_type = ResourceText)]
    pub resource: String,
    /// The address of the client that presented the key.
    #[schema(value_type = IpText)]
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

/// The verdict: whether the key may do the action on the resource from the
/// client address, and otherwise the refusal the API itself would answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Verdict {
    pub allowed: bool,
    /// `ok`, or the refusal's code (as the API itself would answer).
    pub code: &'static str,
    /// The HTTP status the API itself would answer.
    #[schema(minimum = 200, maximum = 599)]
    pub status: u16,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/verify", tag = "verify", request_body = VerifyRequest, responses((status = 200, body = Verdict, description = "The verdict, allowed or not"), responses::BadBody, responses::KeyRefusals, responses::NotAllowed, responses::InvalidFields))]
pub async fn verify_key(
    authenticator: web::Data<Authenticator>,
    caller: KeyPrincipal,
    JsonObject(request): JsonObject<VerifyRequest>,
) -> Result<Json<Verdict>, AppError> {
    let mut problems = Problems::default();
    let action = problems.check("action", as_written(&request.action).and_then(Action::parse));
    let resource = problems.check(
        "resource",
        as_written(&request.resource).and_then(ResourceFilter::parse),
    );
    let client_ip = problems.check(
        "client_ip",
        request
            .client_ip
            .parse::<IpAddr>()
            .map_err(|_| format!("{:?} is not an IP address", request.client_ip)),
    );
    problems.into_result()?;
    let (Some(action), Some(resource), Some(client_ip)) = (action, resource, client_ip) else {
        return Err(AppError::Validation("The request could not be read.".into()));
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
