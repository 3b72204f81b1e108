//! `/auth/check`: the gateway check for nginx `auth_request` and
//! Traefik/Envoy forward-auth. Reads the key from the original request's
//! headers (or, for keys that allow it, the `api_key` of the original URI),
//! maps the original method and URI to a scope through the route map, and
//! answers 204 with `X-Keyward-Org` and `X-Keyward-Key-Id`, or 401/403.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::client_ip;
use crate::auth::key_auth::{self, Need};
use crate::error::AppError;
use crate::startup::AppContext;

fn header<'a>(req: &'a HttpRequest, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|name| req.headers().get(*name).and_then(|v| v.to_str().ok()))
}

#[utoipa::path(get, path = "/auth/check", tag = "gateway", responses((status = 204, description = "Allowed; X-Keyward-Org and X-Keyward-Key-Id name the organization and key"), (status = 401, description = "No key, or a key that is not valid, revoked, expired or disabled", body = crate::error::Problem, content_type = "application/problem+json"), (status = 403, description = "Not allowed from this address, lacks the scope, or no route matches", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn check_request(req: HttpRequest, ctx: web::Data<AppContext>) -> Result<HttpResponse, AppError> {
    let method = header(&req, &["x-original-method", "x-forwarded-method"])
        .unwrap_or("GET")
        .to_owned();
    let uri = header(&req, &["x-original-uri", "x-forwarded-uri"])
        .unwrap_or("/")
        .to_owned();
    let query = uri.split_once('?').map_or("", |(_, q)| q);
    let (presented, source) = key_auth::presented_key_in(req.headers(), query).map_err(AppError::KeyRejected)?;
    let ip = client_ip::of_request(&req, &ctx.trusted_proxies);
    let need = match ctx.gateway_routes.required(&method, &uri) {
        Some((action, resource)) => Need::Scope(action, resource.as_str()),
        None => Need::UnmappedRoute {
            method: &method,
            uri: uri.split('?').next().unwrap_or("/"),
        },
    };
    let principal = key_auth::authenticate(&ctx, &presented, source, ip, need)
        .await?
        .map_err(AppError::KeyRejected)?;
    Ok(HttpResponse::NoContent()
        .insert_header(("X-Keyward-Org", principal.record.org_id.as_str()))
        .insert_header(("X-Keyward-Key-Id", principal.record.key_id.as_str()))
        .finish())
}
