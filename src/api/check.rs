//! `/auth/check`: the gateway check for nginx `auth_request`, Traefik
//! ForwardAuth and Caddy `forward_auth`. Answers only peers inside
//! `--trusted-proxies`; reads the original method and URI from the one header
//! family `--gateway-headers` names (a missing or repeated one, or the other
//! family saying something else, is a 400, never a guess); refuses a path not
//! in normal form; reads the key from the original request's headers (or, for
//! keys that allow it, the `api_key` of the original URI), maps the method and
//! path to a scope through the route map, and answers 204 with
//! `X-Keyward-Org` and `X-Keyward-Key-Id`, or 401/403.
//!
//! Envoy's ext_authz (which sends the original method and path on the check
//! request itself) is not supported.

use actix_web::http::header::HeaderMap;
use actix_web::{HttpRequest, HttpResponse, web};

use super::responses;
use crate::auth::client_ip;
use crate::auth::key_auth::{self, Authenticator, Need};
use crate::domain::routes::RouteMap;
use crate::error::{AppError, GatewayRefusal};

/// The one value of header `name`; `None` when absent or empty.
fn single<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<Option<&'a str>, GatewayRefusal> {
    let mut values = headers.get_all(name);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(GatewayRefusal::Malformed(format!(
            "{name} was sent more than once. The gateway must set it exactly once, replacing what the client sent."
        )));
    }
    let value = std::str::from_utf8(value.as_bytes())
        .map_err(|_| GatewayRefusal::Malformed(format!("{name} is not UTF-8.")))?;
    Ok(Some(value).filter(|v| !v.is_empty()))
}

/// The header family a gateway uses to tell the gateway check the original
/// request's method and URI. Configuration, never a guess: each gateway
/// overwrites only its own family and passes the client's others through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum GatewayHeaders {
    /// `X-Original-Method` and `X-Original-URI` (nginx `auth_request`).
    #[default]
    Original,
    /// `X-Forwarded-Method` and `X-Forwarded-Uri` (Traefik ForwardAuth, Caddy `forward_auth`).
    Forwarded,
}

impl GatewayHeaders {
    /// The (method, URI) header names of this family.
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::Original => ("X-Original-Method", "X-Original-URI"),
            Self::Forwarded => ("X-Forwarded-Method", "X-Forwarded-Uri"),
        }
    }

    /// The family this one is not.
    pub fn other(self) -> Self {
        match self {
            Self::Original => Self::Forwarded,
            Self::Forwarded => Self::Original,
        }
    }
}

/// What the gateway check reads besides the authenticator: the route map
/// from method and path to scope, and the header family the gateway uses.
pub struct GatewaySettings {
    pub routes: RouteMap,
    pub headers: GatewayHeaders,
}

/// The original request's method and URI, as the configured family tells them.
fn original_request(headers: &HeaderMap, family: GatewayHeaders) -> Result<(&str, &str), GatewayRefusal> {
    let (method_header, uri_header) = family.names();
    let method = single(headers, method_header)?.ok_or(GatewayRefusal::MissingMethod(method_header))?;
    if actix_web::http::Method::from_bytes(method.as_bytes()).is_err() {
        return Err(GatewayRefusal::Malformed(format!(
            "{method_header} is not an HTTP method: {method:?}."
        )));
    }
    let uri = single(headers, uri_header)?.ok_or(GatewayRefusal::MissingUri(uri_header))?;
    let (other_method, other_uri) = family.other().names();
    for (read, read_value, other) in [(method_header, method, other_method), (uri_header, uri, other_uri)] {
        if headers
            .get_all(other)
            .any(|value| value.as_bytes() != read_value.as_bytes())
        {
            return Err(GatewayRefusal::ConflictingHeaders { read, other });
        }
    }
    Ok((method, uri))
}

#[utoipa::path(get, path = "/auth/check", tag = "gateway", security(("api_key" = []), ("bearer" = [])), responses((status = 204, description = "Allowed; X-Keyward-Org and X-Keyward-Key-Id name the organization and key", headers(("X-Keyward-Org" = String, description = "The key's organization id"), ("X-Keyward-Key-Id" = String, description = "The key id of the secret used"))), (status = 400, description = "Two different keys (`conflicting_keys`); the original method or URI missing (`missing_original_method`, `missing_original_uri`), repeated or not well-formed (`malformed_gateway_header`), or contradicted by the other header family (`conflicting_gateway_headers`); or a path not in normal form: dot segments, encoded / or \\, NUL and other control characters, //, ; path parameters, a segment ending in a dot or a space, double encoding (`path_not_normalized`)", body = crate::error::Problem, content_type = "application/problem+json"), responses::KeyRefusals, (status = 403, description = "The peer is not in --trusted-proxies (`untrusted_gateway`), or the key is not allowed from the client address (`ip_not_allowed`), lacks the scope the route map gives the route (`insufficient_scope`), or no route matches (`route_not_mapped`)", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn check_request(
    req: HttpRequest,
    authenticator: web::Data<Authenticator>,
    gateway: web::Data<GatewaySettings>,
) -> Result<HttpResponse, AppError> {
    let peer = client_ip::peer(&req);
    if !client_ip::is_trusted(peer, &authenticator.trusted_proxies) {
        return Err(AppError::Gateway(GatewayRefusal::UntrustedPeer(peer)));
    }
    let (method, uri) = original_request(req.headers(), gateway.headers).map_err(AppError::Gateway)?;
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let route = gateway
        .routes
        .required(method, path)
        .map_err(|refused| AppError::Gateway(GatewayRefusal::PathNotNormalized(refused)))?;
    let need = match route {
        Some((action, resource)) => Need::Scope(action, resource.as_str()),
        None => Need::UnmappedRoute { method, uri: path },
    };
    let (presented, source) = authenticator
        .presented_key_in(req.headers(), query)
        .map_err(AppError::KeyRejected)?;
    let ip = client_ip::of_request(&req, &authenticator.trusted_proxies);
    let principal = key_auth::authenticate(&authenticator, &presented, source, ip, need)
        .await?
        .map_err(AppError::KeyRejected)?;
    Ok(HttpResponse::NoContent()
        .insert_header(("X-Keyward-Org", principal.record.org_id.as_str()))
        .insert_header(("X-Keyward-Key-Id", principal.record.key_id.as_str()))
        .finish())
}
