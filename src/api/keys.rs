//! Key management over the API (`admin` on `api-keys`): the same lifecycle
//! and audit events as the backoffice, with the calling key as the actor.
//! A key never gives more than it holds (`domain::grant`): creating,
//! changing, enabling and rotating need the caller to cover the key as it
//! will be; disabling, revoking and deleting only take away and need nothing
//! more than `admin` on `api-keys`.

use actix_web::{HttpResponse, web};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::input::{JsonObject, Problems, object};
use super::responses;
use super::schemas::{ExpiryText, KeyNameText, NetworkText, ResourceText, ScopeText};
use crate::auth::cache::KeyRecord;
use crate::auth::key_auth::KeyPrincipal;
use crate::domain::api_key::{Expiry, KeyName, KeyStatus};
use crate::domain::audit::Actor;
use crate::domain::filter::{KeySort, ListQuery, PER_PAGE};
use crate::domain::grant::{Grant, earliest};
use crate::domain::network::{Network, NetworkList};
use crate::domain::scope::{Action, Scope, ScopeSet};
use crate::domain::time::rfc3339;
use crate::domain::{ValidationError, as_written};
use crate::error::AppError;
use crate::service::key_list;
use crate::service::keys::{self, GracePeriod, KeyChanges, KeyDetail, KeyService, NewKey, Rotation};
use crate::store::{self, Db};

/// One secret of a key: its public key id and when it stops working.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SecretJson {
    pub key_id: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When a rotation ends this secret; null while it is the current one.
    #[schema(format = DateTime)]
    pub not_after: Option<String>,
}

/// A key's status, computed in this order: revoked, expired, disabled, active.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusJson {
    Active,
    Disabled,
    Expired,
    Revoked,
}

impl From<KeyStatus> for StatusJson {
    fn from(status: KeyStatus) -> Self {
        match status {
            KeyStatus::Active => Self::Active,
            KeyStatus::Disabled => Self::Disabled,
            KeyStatus::Expired => Self::Expired,
            KeyStatus::Revoked => Self::Revoked,
        }
    }
}

/// A key as the API shows it; never its secret. Times are RFC 3339 in UTC.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyJson {
    /// The key's id in this API (`{id}` in the paths).
    pub id: String,
    pub name: String,
    /// The public key id of the key's newest secret (12 characters).
    pub key_id: String,
    pub status: StatusJson,
    /// `ACTION:FILTER` each.
    pub scopes: Vec<String>,
    pub allowed_networks: Vec<String>,
    /// Whether the key may be sent as `?api_key=`.
    pub allow_query_key: bool,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    #[schema(format = DateTime)]
    pub revoked_at: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub created_by: String,
    #[schema(format = DateTime)]
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
            status: key.status(store::now()).into(),
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
    /// The key itself (`ask_` + 64 characters): shown in this response only.
    #[schema(pattern = "^ask_[0-9A-Za-z]{64}$")]
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

/// One page of the key list, in the order asked for.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyPage {
    pub items: Vec<KeyJson>,
    pub page: i64,
    pub per_page: i64,
    /// Keys the filter matches, over every page.
    pub total: i64,
}

fn actor(principal: &KeyPrincipal) -> Actor {
    Actor::ApiKey {
        api_key_id: principal.record.api_key_id.clone(),
        key_id: principal.record.key_id.clone(),
        name: principal.record.name.clone(),
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

/// The API reads lists as sent: at most `max` entries before duplicates
/// are dropped, so the document's `maxItems` is the rule.
fn at_most(list: &[String], max: usize) -> Result<(), String> {
    if list.len() > max {
        Err(format!("send at most {max} entries, not {}.", list.len()))
    } else {
        Ok(())
    }
}

fn parse_scopes(problems: &mut Problems, list: &[String]) -> Option<ScopeSet> {
    problems.check("scopes", at_most(list, ScopeSet::MAX))?;
    let parsed = problems.check(
        "scopes",
        list.iter()
            .map(|s| Scope::parse_exact(s))
            .collect::<Result<Vec<_>, _>>(),
    )?;
    problems.check("scopes", ScopeSet::new(parsed))
}

/// Each entry one network, as written (the backoffice's text box splits
/// lines and commas and trims them; an API entry holding a newline used to
/// become two networks).
fn parse_networks(problems: &mut Problems, list: &[String]) -> Option<NetworkList> {
    problems.check("allowed_networks", at_most(list, NetworkList::MAX))?;
    let parsed = problems.check(
        "allowed_networks",
        list.iter()
            .map(|n| as_written(n).and_then(Network::parse))
            .collect::<Result<Vec<_>, _>>(),
    )?;
    problems.check("allowed_networks", NetworkList::new(parsed))
}

/// A key name as sent: 1–100 characters, no surrounding white space.
fn parse_name(raw: &str) -> Result<KeyName, crate::domain::ValidationError> {
    as_written(raw).and_then(KeyName::parse)
}

/// An expiry as sent: null is never, a string an RFC 3339 date or date-time.
fn parse_expiry(raw: Option<&str>) -> Result<Option<Expiry>, crate::domain::ValidationError> {
    raw.map(|raw| Expiry::parse_rfc3339(raw, chrono::Utc::now()))
        .transpose()
}

/// The list's status filter: `expiring` is the active keys that expire
/// within 14 days.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusFilter {
    All,
    Active,
    Expiring,
    Disabled,
    Expired,
    Revoked,
}

impl StatusFilter {
    fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Active => "active",
            Self::Expiring => "expiring",
            Self::Disabled => "disabled",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

/// The list's order. Keys that never expire or were never used come last
/// in both directions; ties go by `id`.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SortOrder {
    CreatedDesc,
    CreatedAsc,
    NameAsc,
    NameDesc,
    ValidUntilAsc,
    ValidUntilDesc,
    LastUsedDesc,
    LastUsedAsc,
}

impl SortOrder {
    fn as_sort(self) -> KeySort {
        match self {
            Self::CreatedDesc => KeySort::CreatedDesc,
            Self::CreatedAsc => KeySort::CreatedAsc,
            Self::NameAsc => KeySort::NameAsc,
            Self::NameDesc => KeySort::NameDesc,
            Self::ValidUntilAsc => KeySort::ValidUntilAsc,
            Self::ValidUntilDesc => KeySort::ValidUntilDesc,
            Self::LastUsedDesc => KeySort::LastUsedDesc,
            Self::LastUsedAsc => KeySort::LastUsedAsc,
        }
    }
}

/// An action the capability filter asks about. `*` is a request that needs
/// the `*` action itself (a key holding `*` there); leave `can` out for
/// "any action".
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
pub enum CanAction {
    #[serde(rename = "read")]
    #[schema(rename = "read")]
    Read,
    #[serde(rename = "write")]
    #[schema(rename = "write")]
    Write,
    #[serde(rename = "admin")]
    #[schema(rename = "admin")]
    Admin,
    #[serde(rename = "*")]
    #[schema(rename = "*")]
    Any,
}

impl CanAction {
    fn as_action(self) -> Action {
        match self {
            Self::Read => Action::Read,
            Self::Write => Action::Write,
            Self::Admin => Action::Admin,
            Self::Any => Action::Any,
        }
    }
}

/// The last page the list answers: past the keys it is empty.
const LAST_PAGE: i64 = 1_000_000;

/// `?q=&status=&sort=&can=&resource=&page=` of the API's list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeyListQuery {
    /// Matches the name (any case) or a key id prefix; a key pasted here is
    /// searched by its key id. Surrounding white space is ignored, and only
    /// the first 200 characters count.
    pub q: Option<String>,
    /// Left out: every status. The backoffice page starts at `active`; the
    /// API lists every key unless asked otherwise.
    #[param(inline)]
    pub status: Option<StatusFilter>,
    /// Left out: `created-desc` (newest first).
    #[param(inline)]
    pub sort: Option<SortOrder>,
    /// Only keys whose scopes allow this action (on `resource`, or on some
    /// resource when `resource` is left out), by the rule authentication
    /// applies. Left out: any action.
    #[param(inline)]
    pub can: Option<CanAction>,
    /// Only keys whose scopes allow `can` (any action when left out) on
    /// this resource, wildcards and path prefixes included: `write:assets`
    /// covers `assets/42`.
    #[param(value_type = Option<ResourceText>)]
    pub resource: Option<String>,
    /// From 1 (the default).
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<i64>,
}

impl KeyListQuery {
    fn as_list_query(&self) -> Result<ListQuery, AppError> {
        let mut problems = Problems::default();
        let page = problems.check(
            "page",
            match self.page {
                Some(page) if !(1..=LAST_PAGE).contains(&page) => Err(format!("use a page from 1 to {LAST_PAGE}")),
                page => Ok(page),
            },
        );
        // Read as written, like every value of the API, and never blank
        // (the document's pattern); the domain then judges the resource
        // as the page does.
        if let Some(resource) = &self.resource {
            problems.check(
                "resource",
                as_written(resource).and_then(|resource| {
                    if resource.is_empty() {
                        Err(ValidationError::new(
                            "The resource is empty: send one such as assets or assets/42 (* for everything), or leave resource out.",
                        ))
                    } else {
                        Ok(())
                    }
                }),
            );
        }
        problems.into_result()?;
        Ok(ListQuery {
            q: self.q.clone(),
            status: Some(self.status.unwrap_or(StatusFilter::All).as_str().to_owned()),
            sort: self.sort.map(|sort| sort.as_sort().as_str().to_owned()),
            can: self.can.map(|can| can.as_action().as_str().to_owned()),
            resource: self.resource.clone(),
            page: page.flatten(),
        })
    }
}

/// `GET /api/v1/api-keys?q=&status=&sort=&can=&resource=&page=`
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api-keys", params(KeyListQuery), responses((status = 200, body = KeyPage, description = "One page of the organization's keys, in the order asked for (newest first by default)"), responses::BadQuery, responses::KeyRefusals, responses::NotAllowed, responses::InvalidFields))]
pub async fn list_keys(
    db: web::Data<Db>,
    principal: KeyPrincipal,
    query: web::Query<KeyListQuery>,
) -> Result<web::Json<KeyPage>, AppError> {
    let query = query.as_list_query()?;
    let filter = query.filter()?;
    let page = query.page.unwrap_or(1);
    let org_id = principal.record.org_id.clone();
    let (items, total) = db
        .run(move |conn| {
            let now = store::now();
            let listed = key_list::page(conn, &org_id, &filter, now, page, PER_PAGE)?;
            let items = keys::details(conn, listed.keys)?.iter().map(KeyJson::of).collect();
            Ok::<_, AppError>((items, listed.total))
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
#[utoipa::path(get, path = "/api/v1/api-keys/{id}", tag = "api-keys", params(("id" = String, Path, description = "The key's `id`")), responses((status = 200, body = KeyJson, description = "The key"), responses::ConflictingKeys, responses::KeyRefusals, responses::NotAllowed, responses::NoSuchKey))]
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

/// A new key. Fields the schema does not name are refused (400).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Flight sync", "scopes": ["read:flights"], "allowed_networks": ["10.0.0.0/8"], "expires_at": "2099-01-31"}))]
pub struct CreateKey {
    #[schema(value_type = KeyNameText)]
    pub name: String,
    /// Left out or null: never expires.
    #[serde(default)]
    #[schema(value_type = Option<ExpiryText>)]
    pub expires_at: Option<String>,
    /// 1–100 scopes (duplicates count, then are dropped); `["*:*"]` is full
    /// access. Required: a key gets no scopes by default. Only scopes the
    /// calling key's own scopes cover (403 `scope_escalation` otherwise).
    #[serde(default)]
    #[schema(value_type = Vec<ScopeText>, required = true, min_items = 1, max_items = 100)]
    pub scopes: Option<Vec<String>>,
    /// 1–100 networks inside the calling key's own (403
    /// `network_escalation` otherwise). Left out or null: the calling key's
    /// networks, not "any address".
    #[serde(default)]
    #[schema(value_type = Option<Vec<NetworkText>>, min_items = 1, max_items = 100)]
    pub allowed_networks: Option<Vec<String>>,
    /// Let the key be sent as `?api_key=` (only by a caller whose own key
    /// allows it: 403 `query_key_escalation`). Default false.
    #[serde(default)]
    pub allow_query_key: bool,
}

/// `POST /api/v1/api-keys`
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api-keys", request_body = CreateKey, responses((status = 201, body = KeyWithSecret, description = "Created; `secret` is in this response only", headers(("Cache-Control" = String, description = "`no-store`"))), responses::BadBody, responses::KeyRefusals, responses::NotAllowedOrMoreThanHeld, responses::NameTaken, responses::InvalidFields))]
pub async fn create_key(
    key_service: web::Data<KeyService>,
    principal: KeyPrincipal,
    JsonObject(body): JsonObject<CreateKey>,
) -> Result<HttpResponse, AppError> {
    let mut problems = Problems::default();
    let name = problems.check("name", parse_name(&body.name));
    let expiry = problems.check("expires_at", parse_expiry(body.expires_at.as_deref()));
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

/// The settings to change; each field left out (or null, but for
/// `expires_at`) stays as it is. The key as it will be must be within the
/// calling key's own (403 otherwise), so a key cannot widen itself. Fields
/// the schema does not name are refused (400).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Flight sync v2", "expires_at": null}))]
pub struct UpdateKey {
    #[serde(default)]
    #[schema(value_type = Option<KeyNameText>)]
    pub name: Option<String>,
    /// Left out: unchanged; null: never expires; a date: that expiry. An
    /// expired key's expiry cannot be changed (409 `expired_key`): rotate it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<ExpiryText>)]
    pub expires_at: Option<Option<String>>,
    /// 1–100 scopes, replacing the key's.
    #[serde(default)]
    #[schema(value_type = Option<Vec<ScopeText>>, min_items = 1, max_items = 100)]
    pub scopes: Option<Vec<String>>,
    /// 1–100 networks, replacing the key's.
    #[serde(default)]
    #[schema(value_type = Option<Vec<NetworkText>>, min_items = 1, max_items = 100)]
    pub allowed_networks: Option<Vec<String>>,
}

/// Tells a field sent as `null` (Some(None)) from one left out (None).
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// `PATCH /api/v1/api-keys/{id}`
#[utoipa::path(patch, path = "/api/v1/api-keys/{id}", tag = "api-keys", params(("id" = String, Path, description = "The key's `id`; the calling key's own included")), request_body = UpdateKey, responses((status = 200, body = KeyJson, description = "The key as it is now"), responses::BadBody, responses::KeyRefusals, responses::NotAllowedOrMoreThanHeld, responses::NoSuchKey, responses::RevokedOrNameTaken, responses::InvalidFields))]
pub async fn update_key(
    key_service: web::Data<KeyService>,
    principal: KeyPrincipal,
    id: web::Path<String>,
    JsonObject(body): JsonObject<UpdateKey>,
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
        Some(name) => problems.check("name", parse_name(name)),
        None => problems.check("name", KeyName::parse(&current.key.name)),
    };
    let expiry = match &body.expires_at {
        Some(value) => problems.check("expires_at", parse_expiry(value.as_deref())),
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
#[utoipa::path(post, path = "/api/v1/api-keys/{id}/enable", tag = "api-keys", params(("id" = String, Path, description = "The key's `id`")), responses((status = 200, body = KeyJson, description = "The key, enabled (already enabled: unchanged)"), responses::ConflictingKeys, responses::KeyRefusals, responses::NotAllowedOrMoreThanHeld, responses::NoSuchKey, responses::Revoked))]
pub async fn enable_key(
    key_service: web::Data<KeyService>,
    principal: KeyPrincipal,
    id: web::Path<String>,
) -> Result<web::Json<KeyJson>, AppError> {
    toggle(key_service, principal, id.into_inner(), true).await
}

/// `POST /api/v1/api-keys/{id}/disable`
#[utoipa::path(post, path = "/api/v1/api-keys/{id}/disable", tag = "api-keys", params(("id" = String, Path, description = "The key's `id`; the calling key may disable itself, and its requests are then refused (`key_disabled`)")), responses((status = 200, body = KeyJson, description = "The key, disabled (already disabled: unchanged)"), responses::ConflictingKeys, responses::KeyRefusals, responses::NotAllowed, responses::NoSuchKey, responses::Revoked))]
pub async fn disable_key(
    key_service: web::Data<KeyService>,
    principal: KeyPrincipal,
    id: web::Path<String>,
) -> Result<web::Json<KeyJson>, AppError> {
    toggle(key_service, principal, id.into_inner(), false).await
}

/// When the old secrets stop working after a rotation (the document's
/// enum; the handler reads the string and names a wrong one with 422).
#[derive(utoipa::ToSchema)]
pub enum GracePeriodName {
    #[schema(rename = "now")]
    Now,
    #[schema(rename = "1h")]
    OneHour,
    #[schema(rename = "24h")]
    OneDay,
    #[schema(rename = "7d")]
    SevenDays,
}

/// How to rotate; the body may be left out (24 hours' grace, same expiry).
/// Fields the schema does not name are refused (400).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"grace_period": "1h"}))]
pub struct RotateKey {
    /// When the old secrets stop working; left out or null: `24h`. An
    /// expired key's old secrets end at once whatever is chosen.
    #[serde(default)]
    #[schema(value_type = Option<GracePeriodName>)]
    pub grace_period: Option<String>,
    /// The key's new expiry (null for never); left out: unchanged. Needed
    /// for an expired key (409 `expired_key` without it).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<ExpiryText>)]
    pub expires_at: Option<Option<String>>,
}

/// `POST /api/v1/api-keys/{id}/rotate`
#[utoipa::path(post, path = "/api/v1/api-keys/{id}/rotate", tag = "api-keys", params(("id" = String, Path, description = "The key's `id`; the calling key may rotate itself (the new secret is in the answer; with `now` its old one stops at once)")), request_body(content = Option<RotateKey>, description = "Optional: empty or null means 24 hours' grace and the same expiry"), responses((status = 200, body = KeyWithSecret, description = "The new `secret`, in this response only", headers(("Cache-Control" = String, description = "`no-store`"))), responses::BadBody, responses::KeyRefusals, responses::NotAllowedOrMoreThanHeld, responses::NoSuchKey, responses::RevokedOrExpired, responses::InvalidFields))]
pub async fn rotate_key(
    key_service: web::Data<KeyService>,
    principal: KeyPrincipal,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    // The body is optional: an empty one, or JSON's `null`, means "24 h
    // grace, same expiry".
    let body: RotateKey = if body.iter().all(u8::is_ascii_whitespace) {
        RotateKey::default()
    } else {
        match serde_json::from_slice(&body)
            .map_err(|e| AppError::Validation(format!("The JSON body could not be read: {e}")))?
        {
            serde_json::Value::Null => RotateKey::default(),
            value => object(value)?,
        }
    };
    let mut problems = Problems::default();
    let grace = problems.check(
        "grace_period",
        body.grace_period.as_deref().map_or(Ok(GracePeriod::OneDay), |raw| {
            as_written(raw).and_then(GracePeriod::parse)
        }),
    );
    let new_expiry = match &body.expires_at {
        Some(value) => problems.check("expires_at", parse_expiry(value.as_deref())).map(Some),
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
#[utoipa::path(post, path = "/api/v1/api-keys/{id}/revoke", tag = "api-keys", params(("id" = String, Path, description = "The key's `id`; the calling key may revoke itself, and its requests are then refused (`key_revoked`)")), responses((status = 200, body = KeyJson, description = "The key, revoked for good"), responses::ConflictingKeys, responses::KeyRefusals, responses::NotAllowed, responses::NoSuchKey, responses::AlreadyRevoked))]
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
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "api-keys", params(("id" = String, Path, description = "The key's `id`; the calling key may delete itself, and its requests are then refused (`invalid_key`)")), responses((status = 204, description = "Deleted: gone from every list, it cannot authenticate; its history stays"), responses::ConflictingKeys, responses::KeyRefusals, responses::NotAllowed, responses::NoSuchKey))]
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
                    status: StatusJson::Active,
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
