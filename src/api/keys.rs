//! Key management over the API (`admin` on `api-keys`): the same lifecycle
//! and audit events as the backoffice, with the calling key as the actor.
//! A key never gives more than it holds (`domain::grant`): creating,
//! changing, enabling and rotating need the caller to cover the key as it
//! will be; disabling, revoking and deleting only take away and need nothing
//! more than `admin` on `api-keys`.

use actix_web::{HttpResponse, web};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::responses;
use crate::auth::cache::KeyRecord;
use crate::auth::key_auth::KeyPrincipal;
use crate::domain::api_key::{Expiry, KeyName};
use crate::domain::audit::Actor;
use crate::domain::filter::{ListQuery, PER_PAGE};
use crate::domain::grant::{Grant, earliest};
use crate::domain::network::NetworkList;
use crate::domain::scope::{Scope, ScopeSet};
use crate::domain::time::rfc3339;
use crate::error::AppError;
use crate::service::keys::{self, GracePeriod, KeyChanges, KeyDetail, KeyService, NewKey, Rotation};
use crate::store::{self, Db, api_keys};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SecretJson {
    pub key_id: String,
    pub created_at: String,
    pub not_after: Option<String>,
}

/// A key as the API shows it; never its secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyJson {
    pub id: String,
    pub name: String,
    pub key_id: String,
    pub status: &'static str,
    pub scopes: Vec<String>,
    pub allowed_networks: Vec<String>,
    pub allow_query_key: bool,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub created_at: String,
    pub created_by: String,
    pub last_used_at: Option<String>,
    pub last_used_ip: Option<String>,
    pub secrets: Vec<SecretJson>,
}

impl KeyJson {
    pub fn of(detail: &KeyDetail) -> Self {
        let key = &detail.key;
        Self {
            id: key.id.clone(),
            name: key.name.clone(),
            key_id: detail.secrets.first().map(|s| s.key_id.clone()).unwrap_or_default(),
            status: key.status(store::now()).as_str(),
            scopes: detail.scopes.iter().map(Scope::to_pair).collect(),
            allowed_networks: detail.networks.iter().map(ToString::to_string).collect(),
            allow_query_key: key.allow_query_key,
            expires_at: key.expires_at.map(rfc3339),
            revoked_at: key.revoked_at.map(rfc3339),
            created_at: rfc3339(key.created_at),
            created_by: key.created_by.clone(),
            last_used_at: key.last_used_at.map(rfc3339),
            last_used_ip: key.last_used_ip.clone(),
            secrets: detail
                .secrets
                .iter()
                .map(|s| SecretJson {
                    key_id: s.key_id.clone(),
                    created_at: rfc3339(s.created_at),
                    not_after: s.not_after.map(rfc3339),
                })
                .collect(),
        }
    }
}

/// A key with its secret: the one response that carries it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct KeyWithSecret {
    #[serde(flatten)]
    pub key: KeyJson,
    pub secret: String,
}

impl std::fmt::Debug for KeyWithSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyWithSecret")
            .field("key", &self.key)
            .field("secret", &"[redacted]")
            .finish()
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyPage {
    pub items: Vec<KeyJson>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

fn actor(principal: &KeyPrincipal) -> Actor {
    Actor::ApiKey {
        api_key_id: principal.record.api_key_id.clone(),
        key_id: principal.record.key_id.clone(),
        name: principal.record.name.clone(),
    }
}

/// Collects each field's problem, so one answer names them all.
#[derive(Default)]
struct Problems(Vec<(String, String)>);

impl Problems {
    fn check<T, E: std::fmt::Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        result.map_err(|e| self.0.push((field.to_owned(), e.to_string()))).ok()
    }

    fn into_result(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::InvalidFields(self.0))
        }
    }
}

/// What the calling key holds, and so the most it may give: until the key
/// expires, or until the secret it called with ends (one rotated out and in
/// its grace period).
fn holding(record: &KeyRecord) -> Grant<'_> {
    Grant {
        scopes: &record.scopes,
        networks: &record.networks,
        allow_query_key: record.allow_query_key,
        until: earliest(record.expires_at, record.not_after),
    }
}

/// What an existing key allows, until `until`: a caller that does not hold
/// it may not enable, change or rotate it.
fn granted_by(detail: &KeyDetail, until: Option<NaiveDateTime>) -> Grant<'_> {
    Grant {
        scopes: &detail.scopes,
        networks: &detail.networks,
        allow_query_key: detail.key.allow_query_key,
        until,
    }
}

fn parse_scopes(problems: &mut Problems, list: &[String]) -> Option<ScopeSet> {
    let parsed = problems.check(
        "scopes",
        list.iter().map(|s| Scope::parse_pair(s)).collect::<Result<Vec<_>, _>>(),
    )?;
    problems.check("scopes", ScopeSet::new(parsed))
}

fn parse_networks(problems: &mut Problems, list: &[String]) -> Option<NetworkList> {
    problems.check("allowed_networks", NetworkList::parse_lines(&list.join("\n")))
}

/// `?q=&status=&page=` of the API's list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeyListQuery {
    /// Matches the name or the key id.
    pub q: Option<String>,
    /// `all` (the default when left out), `active`, `disabled`, `expired` or
    /// `revoked`. The backoffice page starts at `active`; the API lists
    /// every key unless asked otherwise.
    pub status: Option<String>,
    /// From 1.
    pub page: Option<i64>,
}

impl KeyListQuery {
    fn as_list_query(&self) -> ListQuery {
        ListQuery {
            q: self.q.clone(),
            status: Some(
                self.status
                    .clone()
                    .filter(|s| !s.trim().is_empty())
                    .unwrap_or_else(|| "all".to_owned()),
            ),
            page: self.page,
        }
    }
}

/// `GET /api/v1/api-keys?q=&status=&page=`
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api-keys", params(KeyListQuery), responses((status = 200, body = KeyPage), responses::NotAuthenticated, responses::NotAllowed, (status = 400, description = "Unknown status filter", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn list_keys(
    db: web::Data<Db>,
    principal: KeyPrincipal,
    query: web::Query<KeyListQuery>,
) -> Result<web::Json<KeyPage>, AppError> {
    let query = query.as_list_query();
    let filter = query.filter()?;
    let page = query.page.unwrap_or(1).clamp(1, 1_000_000);
    let org_id = principal.record.org_id.clone();
    let (items, total) = db
        .run(move |conn| {
            let now = store::now();
            let keys = api_keys::list(conn, &org_id, &filter, now, page, PER_PAGE)?;
            let counts = api_keys::count_by_status(conn, &org_id, filter.query.as_deref(), now)?;
            let total = match filter.status {
                Some(status) => counts.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n),
                None => counts.iter().map(|(_, n)| n).sum(),
            };
            let items = keys::details(conn, keys)?.iter().map(KeyJson::of).collect();
            Ok::<_, AppError>((items, total))
        })
        .await?;
    Ok(web::Json(KeyPage {
        items,
        page,
        per_page: PER_PAGE,
        total,
    }))
}

/// `GET /api/v1/api-keys/{id}`
#[utoipa::path(get, path = "/api/v1/api-keys/{id}", tag = "api-keys", params(("id" = String, Path)), responses((status = 200, body = KeyJson), responses::NotAuthenticated, responses::NotAllowed, (status = 404, description = "No such key in this organization", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn get_key(
    db: web::Data<Db>,
    principal: KeyPrincipal,
    id: web::Path<String>,
) -> Result<web::Json<KeyJson>, AppError> {
    let org_id = principal.record.org_id.clone();
    let id = id.into_inner();
    let detail = db.run(move |conn| keys::detail(conn, &org_id, &id)).await?;
    Ok(web::Json(KeyJson::of(&detail)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    pub name: String,
    /// RFC 3339, `YYYY-MM-DD` (00:00 UTC) or absent/null for never.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// `ACTION:FILTER` each (`*:*` is full access); required: a key gets no
    /// scopes by default. Only scopes the calling key's own scopes cover.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// CIDRs inside the calling key's own networks; absent = the calling
    /// key's networks.
    #[serde(default)]
    pub allowed_networks: Option<Vec<String>>,
    #[serde(default)]
    pub allow_query_key: bool,
}

/// `POST /api/v1/api-keys`
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api-keys", request_body = CreateKey, responses((status = 201, body = KeyWithSecret, description = "Created; `secret` is in this response only"), responses::NotAuthenticated, responses::NotAllowedOrMoreThanHeld, (status = 400, description = "The body could not be read", body = crate::error::Problem, content_type = "application/problem+json"), (status = 409, description = "The name is taken, or keys are not set up", body = crate::error::Problem, content_type = "application/problem+json"), (status = 422, description = "Fields that are not valid, each named", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn create_key(
    key_service: web::Data<KeyService>,
    principal: KeyPrincipal,
    web::Json(body): web::Json<CreateKey>,
) -> Result<HttpResponse, AppError> {
    let mut problems = Problems::default();
    let name = problems.check("name", KeyName::parse(&body.name));
    let expiry = problems.check(
        "expires_at",
        Expiry::parse(body.expires_at.as_deref().unwrap_or(""), chrono::Utc::now()),
    );
    // Least privilege: no scopes unless asked for (never `*:*` by default),
    // and no network beyond the caller's own.
    let scopes = match body.scopes.as_deref() {
        Some(list) => parse_scopes(&mut problems, list),
        None => problems.check::<ScopeSet, _>(
            "scopes",
            Err("List the key's scopes, e.g. [\"read:flights\"] ([\"*:*\"] is full access): a key gets no scopes by default."),
        ),
    };
    let networks = match body.allowed_networks.as_deref() {
        Some(list) => parse_networks(&mut problems, list),
        None => Some(principal.record.networks.clone()),
    };
    problems.into_result()?;
    let (Some(name), Some(expiry), Some(scopes), Some(networks)) = (name, expiry, scopes, networks) else {
        return Err(AppError::Validation("The key could not be read.".into()));
    };
    holding(&principal.record).may_give(&Grant {
        scopes: &scopes,
        networks: &networks,
        allow_query_key: body.allow_query_key,
        until: expiry.map(Expiry::naive_utc),
    })?;
    let new = NewKey {
        name,
        expiry,
        scopes,
        networks,
        allow_query_key: body.allow_query_key,
    };
    let (actor, org_id, secret, ip) = (
        actor(&principal),
        principal.record.org_id.clone(),
        key_service.server_secret.clone(),
        principal.client_ip,
    );
    let (detail, token) = key_service
        .change(move |conn| keys::create(conn, &secret, &org_id, &new, &actor, Some(ip)))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(KeyWithSecret {
            key: KeyJson::of(&detail),
            secret: token.expose().to_owned(),
        }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateKey {
    #[serde(default)]
    pub name: Option<String>,
    /// Absent: unchanged; null: never expires; a date: that expiry.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub expires_at: Option<Option<String>>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub allowed_networks: Option<Vec<String>>,
}

/// Tells a field sent as `null` (Some(None)) from one left out (None).
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// `PATCH /api/v1/api-keys/{id}`
#[utoipa::path(patch, path = "/api/v1/api-keys/{id}", tag = "api-keys", params(("id" = String, Path)), request_body = UpdateKey, responses((status = 200, body = KeyJson), responses::NotAuthenticated, responses::NotAllowedOrMoreThanHeld, (status = 404, description = "No such key", body = crate::error::Problem, content_type = "application/problem+json"), (status = 409, description = "Revoked, or the name is taken", body = crate::error::Problem, content_type = "application/problem+json"), (status = 422, description = "Fields that are not valid", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn update_key(
    key_service: web::Data<KeyService>,
    principal: KeyPrincipal,
    id: web::Path<String>,
    web::Json(body): web::Json<UpdateKey>,
) -> Result<web::Json<KeyJson>, AppError> {
    let org_id = principal.record.org_id.clone();
    let id = id.into_inner();
    let (actor, ip) = (actor(&principal), principal.client_ip);
    let caller = principal.record.clone();
    // The key is read, merged with the body and written in one transaction,
    // its row locked: two PATCHes at once cannot undo each other's fields.
    let detail = key_service
        .change(move |conn| {
            let current = keys::locked_detail(conn, &org_id, &id)?;
            let changes = merged_changes(&body, &current)?;
            // The key as it will be must be within the caller's: so a key cannot
            // widen itself, nor prolong or rename a key that holds more than it does.
            holding(&caller).may_give(&Grant {
                scopes: &changes.scopes,
                networks: &changes.networks,
                allow_query_key: current.key.allow_query_key,
                until: changes.expiry.map(Expiry::naive_utc),
            })?;
            keys::update(conn, &org_id, &id, &changes, &actor, Some(ip))
        })
        .await?;
    Ok(web::Json(KeyJson::of(&detail)))
}

/// The key's settings after a PATCH: the body's fields over `current`.
fn merged_changes(body: &UpdateKey, current: &KeyDetail) -> Result<KeyChanges, AppError> {
    let mut problems = Problems::default();
    let name = match &body.name {
        Some(name) => problems.check("name", KeyName::parse(name)),
        None => problems.check("name", KeyName::parse(&current.key.name)),
    };
    let expiry = match &body.expires_at {
        Some(value) => problems.check(
            "expires_at",
            Expiry::parse(value.as_deref().unwrap_or(""), chrono::Utc::now()),
        ),
        None => Some(current.key.expires_at.map(|t| Expiry::at_instant(t.and_utc()))),
    };
    let scopes = match &body.scopes {
        Some(list) => parse_scopes(&mut problems, list),
        None => Some(current.scopes.clone()),
    };
    let networks = match &body.allowed_networks {
        Some(list) => parse_networks(&mut problems, list),
        None => Some(current.networks.clone()),
    };
    problems.into_result()?;
    let (Some(name), Some(expiry), Some(scopes), Some(networks)) = (name, expiry, scopes, networks) else {
        return Err(AppError::Validation("The changes could not be read.".into()));
    };
    Ok(KeyChanges {
        name,
        expiry,
        scopes,
        networks,
    })
}

async fn toggle(
    key_service: web::Data<KeyService>,
    principal: KeyPrincipal,
    id: String,
    enabled: bool,
) -> Result<web::Json<KeyJson>, AppError> {
    let (actor, org_id, ip) = (actor(&principal), principal.record.org_id.clone(), principal.client_ip);
    let caller = principal.record.clone();
    let detail = key_service
        .change(move |conn| {
            // Enabling gives a key back its power: only a caller that holds it.
            if enabled {
                let target = keys::locked_detail(conn, &org_id, &id)?;
                holding(&caller).may_give(&granted_by(&target, target.key.expires_at))?;
            }
            keys::set_enabled(conn, &org_id, &id, enabled, &actor, Some(ip))
        })
        .await?;
    Ok(web::Json(KeyJson::of(&detail)))
}

/// `POST /api/v1/api-keys/{id}/enable`
#[utoipa::path(post, path = "/api/v1/api-keys/{id}/enable", tag = "api-keys", params(("id" = String, Path)), responses((status = 200, body = KeyJson), responses::NotAuthenticated, responses::NotAllowedOrMoreThanHeld, (status = 404, description = "No such key", body = crate::error::Problem, content_type = "application/problem+json"), (status = 409, description = "Revoked", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn enable_key(
    key_service: web::Data<KeyService>,
    principal: KeyPrincipal,
    id: web::Path<String>,
) -> Result<web::Json<KeyJson>, AppError> {
    toggle(key_service, principal, id.into_inner(), true).await
}

/// `POST /api/v1/api-keys/{id}/disable`
#[utoipa::path(post, path = "/api/v1/api-keys/{id}/disable", tag = "api-keys", params(("id" = String, Path)), responses((status = 200, body = KeyJson), responses::NotAuthenticated, responses::NotAllowed, (status = 404, description = "No such key", body = crate::error::Problem, content_type = "application/problem+json"), (status = 409, description = "Revoked", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn disable_key(
    key_service: web::Data<KeyService>,
    principal: KeyPrincipal,
    id: web::Path<String>,
) -> Result<web::Json<KeyJson>, AppError> {
    toggle(key_service, principal, id.into_inner(), false).await
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateKey {
    /// now, 1h, 24h (default) or 7d.
    #[serde(default)]
    pub grace_period: Option<String>,
    /// Needed for an expired key: its new expiry (null for never).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub expires_at: Option<Option<String>>,
}

/// `POST /api/v1/api-keys/{id}/rotate`
#[utoipa::path(post, path = "/api/v1/api-keys/{id}/rotate", tag = "api-keys", params(("id" = String, Path)), request_body(content = Option<RotateKey>), responses((status = 200, body = KeyWithSecret, description = "The new `secret`, in this response only"), responses::NotAuthenticated, responses::NotAllowedOrMoreThanHeld, (status = 404, description = "No such key", body = crate::error::Problem, content_type = "application/problem+json"), (status = 409, description = "Revoked", body = crate::error::Problem, content_type = "application/problem+json"), (status = 422, description = "Fields that are not valid", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn rotate_key(
    key_service: web::Data<KeyService>,
    principal: KeyPrincipal,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    // The body is optional: an empty one means "24 h grace, same expiry".
    let body: RotateKey = if body.iter().all(u8::is_ascii_whitespace) {
        RotateKey::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| AppError::Validation(format!("The JSON body could not be read: {e}")))?
    };
    let mut problems = Problems::default();
    let grace = problems.check(
        "grace_period",
        GracePeriod::parse(body.grace_period.as_deref().unwrap_or("24h")),
    );
    let new_expiry = match &body.expires_at {
        Some(value) => problems
            .check(
                "expires_at",
                Expiry::parse(value.as_deref().unwrap_or(""), chrono::Utc::now()),
            )
            .map(Some),
        None => Some(None),
    };
    problems.into_result()?;
    let (Some(grace), Some(new_expiry)) = (grace, new_expiry) else {
        return Err(AppError::Validation("The rotation could not be read.".into()));
    };
    let (actor, org_id, secret, ip, id) = (
        actor(&principal),
        principal.record.org_id.clone(),
        key_service.server_secret.clone(),
        principal.client_ip,
        id.into_inner(),
    );
    let caller = principal.record.clone();
    let (detail, token) = key_service
        .change(move |conn| {
            // The new secret is handed to the caller: only for a key it holds.
            let target = keys::locked_detail(conn, &org_id, &id)?;
            let until = new_expiry.map_or(target.key.expires_at, |expiry| expiry.map(Expiry::naive_utc));
            holding(&caller).may_give(&granted_by(&target, until))?;
            keys::rotate(
                conn,
                &secret,
                &org_id,
                &id,
                Rotation { grace, new_expiry },
                &actor,
                Some(ip),
            )
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(KeyWithSecret {
            key: KeyJson::of(&detail),
            secret: token.expose().to_owned(),
        }))
}

/// `POST /api/v1/api-keys/{id}/revoke`
#[utoipa::path(post, path = "/api/v1/api-keys/{id}/revoke", tag = "api-keys", params(("id" = String, Path)), responses((status = 200, body = KeyJson), responses::NotAuthenticated, responses::NotAllowed, (status = 404, description = "No such key", body = crate::error::Problem, content_type = "application/problem+json"), (status = 409, description = "Already revoked", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn revoke_key(
    key_service: web::Data<KeyService>,
    principal: KeyPrincipal,
    id: web::Path<String>,
) -> Result<web::Json<KeyJson>, AppError> {
    let (actor, org_id, ip, id) = (
        actor(&principal),
        principal.record.org_id.clone(),
        principal.client_ip,
        id.into_inner(),
    );
    let detail = key_service
        .change(move |conn| keys::revoke(conn, &org_id, &id, &actor, Some(ip)))
        .await?;
    Ok(web::Json(KeyJson::of(&detail)))
}

/// `DELETE /api/v1/api-keys/{id}`
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "api-keys", params(("id" = String, Path)), responses((status = 204, description = "Deleted"), responses::NotAuthenticated, responses::NotAllowed, (status = 404, description = "No such key", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn delete_key(
    key_service: web::Data<KeyService>,
    principal: KeyPrincipal,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (actor, org_id, ip, id) = (
        actor(&principal),
        principal.record.org_id.clone(),
        principal.client_ip,
        id.into_inner(),
    );
    key_service
        .change(move |conn| keys::delete(conn, &org_id, &id, &actor, Some(ip)))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_with_its_secret_never_shows_the_secret_in_debug() {
        let secret = crate::domain::token::ApiKeyToken::generate();
        let shown = format!(
            "{:?}",
            KeyWithSecret {
                key: KeyJson {
                    id: "k1".into(),
                    name: "Flight sync".into(),
                    key_id: secret.key_id().as_str().to_owned(),
                    status: "active",
                    scopes: vec!["read:flights".into()],
                    allowed_networks: vec![],
                    allow_query_key: false,
                    expires_at: None,
                    revoked_at: None,
                    created_at: "2026-12-01T00:00:00Z".into(),
                    created_by: "command line".into(),
                    last_used_at: None,
                    last_used_ip: None,
                    secrets: vec![],
                },
                secret: secret.expose().to_owned(),
            }
        );
        assert!(!shown.contains(&secret.expose()[16..]), "{shown}");
        assert!(shown.contains("[redacted]") && shown.contains("Flight sync"));
    }
}
