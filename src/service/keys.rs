//! The API key lifecycle: set up, create, edit, enable/disable, rotate,
//! revoke, delete. One implementation, each step audited, shared by the
//! backoffice, the command line and the API. Every function runs inside the
//! caller's write transaction and is confined to one organization.

use std::net::IpAddr;

use chrono::{NaiveDateTime, TimeDelta};
use serde_json::json;

use crate::auth::cache::KeyCache;
use crate::domain::api_key::{Expiry, KeyName, KeyStatus};
use crate::domain::audit::{Actor, AuditAction, Target};
use crate::domain::form_token::FormToken;
use crate::domain::network::NetworkList;
use crate::domain::scope::ScopeSet;
use crate::domain::secret::ServerSecret;
use crate::domain::time::rfc3339;
use crate::domain::token::{ApiKeyToken, OrgSigningKey, shown_key_id};
use crate::error::AppError;
use crate::store::api_keys::{self, ApiKey, KeySecret, NewApiKey, NewKeySecret};
use crate::store::organizations::{self, Organization};
use crate::store::{self, Db, DbConnection, audit, form_submissions};

/// Runs changes to keys for the handlers of both faces; one `web::Data`,
/// built at startup with the authenticator's cache.
pub struct KeyService {
    pub db: Db,
    pub key_cache: KeyCache,
    /// Derives the organizations' signing keys for the secrets that create
    /// and rotate issue.
    pub server_secret: ServerSecret,
}

impl KeyService {
    /// Runs a change to keys in one write transaction (the store numbers it
    /// in the change log), then reads the log so this instance drops the
    /// changed keys' cached records before answering: the very next request
    /// sees the change. Other organizations' keys stay cached.
    pub async fn change<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let result = self.db.transaction(work).await.map_err(AppError::from);
        // Also after a failure: a commit whose answer was lost may still
        // have happened, and reading the log costs one query.
        self.key_cache
            .catch_up(&self.db, crate::metrics::ChangeVia::Local)
            .await;
        result
    }
}

/// A key with everything its pages show.
#[derive(Debug, Clone)]
pub struct KeyDetail {
    pub key: ApiKey,
    pub scopes: ScopeSet,
    pub networks: NetworkList,
    /// Newest first.
    pub secrets: Vec<KeySecret>,
}

impl KeyDetail {
    /// The key id people recognise: the newest secret's.
    pub fn key_id_hint(&self) -> String {
        self.secrets
            .first()
            .map(|s| shown_key_id(&s.key_id))
            .unwrap_or_default()
    }

    /// The settings an audit event records before and after a change.
    fn audit_view(&self) -> serde_json::Value {
        json!({
            "name": self.key.name,
            "enabled": self.key.enabled,
            "expires_at": self.key.expires_at.map(rfc3339),
            "allow_query_key": self.key.allow_query_key,
            "scopes": self.scopes.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "networks": self.networks.iter().map(ToString::to_string).collect::<Vec<_>>(),
        })
    }

    fn target(&self) -> Target<'_> {
        Target {
            kind: "api_key",
            id: &self.key.id,
            label: &self.key.name,
        }
    }
}

/// Loads several keys' details at once (three queries, whatever the count).
pub fn details(conn: &mut DbConnection, keys: Vec<ApiKey>) -> Result<Vec<KeyDetail>, AppError> {
    let ids: Vec<String> = keys.iter().map(|k| k.id.clone()).collect();
    let scopes = api_keys::scopes_of(conn, &ids)?;
    let networks = api_keys::networks_of(conn, &ids)?;
    let secrets = api_keys::secrets_of(conn, &ids)?;
    keys.into_iter()
        .map(|key| {
            let (scopes, networks) =
                api_keys::settings_from_rows(&key.id, &scopes, &networks).map_err(AppError::unexpected)?;
            Ok(KeyDetail {
                scopes,
                networks,
                secrets: secrets.iter().filter(|s| s.api_key_id == key.id).cloned().collect(),
                key,
            })
        })
        .collect()
}

/// One live key of `org_id`, or NotFound (also for other organizations' keys).
pub fn detail(conn: &mut DbConnection, org_id: &str, id: &str) -> Result<KeyDetail, AppError> {
    let key = api_keys::find(conn, org_id, id)?.ok_or(AppError::NotFound)?;
    details(conn, vec![key])?.pop().ok_or(AppError::NotFound)
}

/// One key of `org_id` as it is, or as it was when it was deleted, for the
/// key's page; NotFound for other organizations' keys. Never the start of a
/// change: those take `detail`, which refuses deleted keys.
pub fn detail_including_deleted(conn: &mut DbConnection, org_id: &str, id: &str) -> Result<KeyDetail, AppError> {
    let key = api_keys::find_including_deleted(conn, org_id, id)?.ok_or(AppError::NotFound)?;
    details(conn, vec![key])?.pop().ok_or(AppError::NotFound)
}

/// Like `detail`, with the key's row locked until the transaction ends: every
/// step that reads a key, checks it and writes it starts here, so two steps on
/// one key run one after the other on PostgreSQL too.
pub fn locked_detail(conn: &mut DbConnection, org_id: &str, id: &str) -> Result<KeyDetail, AppError> {
    api_keys::lock(conn, org_id, id)?;
    detail(conn, org_id, id)
}

/// A write that had to change the key's row changed none: the key was
/// revoked or deleted meanwhile. Never reached while the row is locked; kept
/// so that a change that did not happen is never audited.
fn ensure_changed(rows: usize, detail: &KeyDetail) -> Result<(), AppError> {
    if rows == 0 {
        return Err(AppError::Conflict(format!(
            "\"{}\" was changed by someone else meanwhile (revoked or deleted). Reload it and try again.",
            detail.key.name
        )));
    }
    Ok(())
}

/// The organization's signing key, once it is set up for API keys.
pub fn signing_key(secret: &ServerSecret, org: &Organization) -> Result<OrgSigningKey, AppError> {
    let salt = org.key_salt.as_deref().ok_or_else(|| {
        AppError::Conflict("API keys are not set up for this organization yet: use \"Set up API keys\" first.".into())
    })?;
    Ok(OrgSigningKey::derive(secret, &org.id, salt))
}

/// Provisions the organization's key-signing salt; false (and no change) if
/// it was done already.
pub fn bootstrap(
    conn: &mut DbConnection,
    org: &Organization,
    actor: &Actor,
    ip: Option<IpAddr>,
) -> Result<bool, AppError> {
    let mut salt = [0u8; 32];
    rand::fill(&mut salt[..]);
    if !api_keys::bootstrap_org(conn, &org.id, &hex::encode(salt), store::now())? {
        return Ok(false);
    }
    let target = Target::organization(&org.id, &org.name);
    audit::record(
        conn,
        Some(&org.id),
        actor,
        AuditAction::ApiKeysBootstrapped,
        Some(&target),
        json!({}),
        ip,
    )?;
    Ok(true)
}

/// What a new key is made of, already validated.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub name: KeyName,
    pub expiry: Option<Expiry>,
    pub scopes: ScopeSet,
    pub networks: NetworkList,
    pub allow_query_key: bool,
}

fn name_conflict(name: &KeyName) -> AppError {
    AppError::Conflict(format!(
        "A key named \"{name}\" already exists. Choose another name, or delete the old key first."
    ))
}

/// A write's error: a clash with the unique name index (a racing write of
/// the same name) is the name conflict, anything else as it is.
fn name_conflict_or(name: &KeyName) -> impl FnOnce(diesel::result::Error) -> AppError + '_ {
    move |error| {
        if store::is_unique_violation(&error) {
            name_conflict(name)
        } else {
            error.into()
        }
    }
}

/// Creates a key and returns it with its secret, which exists nowhere else.
pub fn create(
    conn: &mut DbConnection,
    secret: &ServerSecret,
    org_id: &str,
    new: &NewKey,
    actor: &Actor,
    ip: Option<IpAddr>,
) -> Result<(KeyDetail, ApiKeyToken), AppError> {
    let org = organizations::find(conn, org_id)?;
    let signing_key = signing_key(secret, &org)?;
    if api_keys::name_taken(conn, org_id, new.name.as_str(), None)? {
        return Err(name_conflict(&new.name));
    }
    let now = store::now();
    let id = store::new_id();
    let actor_label = actor.to_string();
    api_keys::insert(
        conn,
        &NewApiKey {
            id: &id,
            org_id,
            name: new.name.as_str(),
            name_key: &new.name.folded(),
            enabled: true,
            allow_query_key: new.allow_query_key,
            expires_at: new.expiry.map(Expiry::naive_utc),
            created_by_user_id: actor.user_id(),
            created_by: &actor_label,
            created_at: now,
            updated_at: now,
        },
    )
    .map_err(name_conflict_or(&new.name))?;
    let token = add_secret(conn, &signing_key, org_id, &id, now)?;
    api_keys::set_scopes(conn, &id, &new.scopes)?;
    api_keys::set_networks(conn, &id, &new.networks)?;
    let created = detail(conn, org_id, &id)?;
    let details = json!({ "after": created.audit_view(), "key_id": token.key_id().as_str() });
    audit::record(
        conn,
        Some(org_id),
        actor,
        AuditAction::ApiKeyCreated,
        Some(&created.target()),
        details,
        ip,
    )?;
    Ok((created, token))
}

fn add_secret(
    conn: &mut DbConnection,
    signing_key: &OrgSigningKey,
    org_id: &str,
    api_key_id: &str,
    now: NaiveDateTime,
) -> Result<ApiKeyToken, AppError> {
    // A key id collision (12 base62 characters) is astronomically unlikely;
    // the unique index would refuse it and the caller can simply retry.
    let token = ApiKeyToken::generate();
    let digest = token.digest(signing_key);
    api_keys::insert_secret(
        conn,
        &NewKeySecret {
            id: &store::new_id(),
            api_key_id,
            org_id,
            key_id: token.key_id().as_str(),
            digest: Some(&digest),
            created_at: now,
            not_after: None,
        },
    )?;
    Ok(token)
}

/// Refuses changes to a revoked key, naming when it was revoked.
fn ensure_not_revoked(detail: &KeyDetail, what: &str) -> Result<(), AppError> {
    match detail.key.revoked_at {
        Some(at) => Err(AppError::Conflict(format!(
            "\"{}\" was revoked at {} UTC, so it cannot be {what}. Revoking is permanent; create a new key instead.",
            detail.key.name,
            at.format("%Y-%m-%d %H:%M")
        ))),
        None => Ok(()),
    }
}

/// Changed settings of an existing key.
#[derive(Debug, Clone)]
pub struct KeyChanges {
    pub name: KeyName,
    pub expiry: Option<Expiry>,
    pub scopes: ScopeSet,
    pub networks: NetworkList,
}

pub fn update(
    conn: &mut DbConnection,
    org_id: &str,
    id: &str,
    changes: &KeyChanges,
    actor: &Actor,
    ip: Option<IpAddr>,
) -> Result<KeyDetail, AppError> {
    let before = locked_detail(conn, org_id, id)?;
    ensure_not_revoked(&before, "edited")?;
    let now = store::now();
    // A new expiry would bring an expired key's old secrets back; rotating
    // gives it one and ends them.
    if before.key.status(now) == KeyStatus::Expired && changes.expiry.map(Expiry::naive_utc) != before.key.expires_at {
        return Err(AppError::ExpiredKey(format!(
            "\"{}\" has expired: rotate it to give it a new expiry (its old secrets then stay ended).",
            before.key.name
        )));
    }
    if api_keys::name_taken(conn, org_id, changes.name.as_str(), Some(id))? {
        return Err(name_conflict(&changes.name));
    }
    let rows = api_keys::update_settings(
        conn,
        org_id,
        id,
        changes.name.as_str(),
        changes.expiry.map(Expiry::naive_utc),
        now,
    )
    .map_err(name_conflict_or(&changes.name))?;
    ensure_changed(rows, &before)?;
    api_keys::set_scopes(conn, id, &changes.scopes)?;
    api_keys::set_networks(conn, id, &changes.networks)?;
    let after = detail(conn, org_id, id)?;
    let details = json!({ "before": before.audit_view(), "after": after.audit_view() });
    audit::record(
        conn,
        Some(org_id),
        actor,
        AuditAction::ApiKeyUpdated,
        Some(&after.target()),
        details,
        ip,
    )?;
    Ok(after)
}

pub fn set_enabled(
    conn: &mut DbConnection,
    org_id: &str,
    id: &str,
    enabled: bool,
    actor: &Actor,
    ip: Option<IpAddr>,
) -> Result<KeyDetail, AppError> {
    let before = locked_detail(conn, org_id, id)?;
    ensure_not_revoked(&before, if enabled { "enabled" } else { "disabled" })?;
    if before.key.enabled == enabled {
        return Ok(before);
    }
    let rows = api_keys::set_enabled(conn, org_id, id, enabled, store::now())?;
    ensure_changed(rows, &before)?;
    let after = detail(conn, org_id, id)?;
    let action = if enabled {
        AuditAction::ApiKeyEnabled
    } else {
        AuditAction::ApiKeyDisabled
    };
    let details = json!({ "before": { "enabled": before.key.enabled }, "after": { "enabled": enabled } });
    audit::record(conn, Some(org_id), actor, action, Some(&after.target()), details, ip)?;
    Ok(after)
}

/// How long the old secret keeps working after a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GracePeriod {
    Now,
    OneHour,
    OneDay,
    SevenDays,
}

impl GracePeriod {
    pub const ALL: [GracePeriod; 4] = [
        GracePeriod::Now,
        GracePeriod::OneHour,
        GracePeriod::OneDay,
        GracePeriod::SevenDays,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GracePeriod::Now => "now",
            GracePeriod::OneHour => "1h",
            GracePeriod::OneDay => "24h",
            GracePeriod::SevenDays => "7d",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            GracePeriod::Now => "Immediately",
            GracePeriod::OneHour => "After 1 hour",
            GracePeriod::OneDay => "After 24 hours",
            GracePeriod::SevenDays => "After 7 days",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, crate::domain::ValidationError> {
        Self::ALL.into_iter().find(|g| g.as_str() == raw.trim()).ok_or_else(|| {
            crate::domain::ValidationError::new("Choose when the old secret stops working: now, 1h, 24h or 7d.")
        })
    }

    pub fn duration(self) -> TimeDelta {
        match self {
            GracePeriod::Now => TimeDelta::zero(),
            GracePeriod::OneHour => TimeDelta::hours(1),
            GracePeriod::OneDay => TimeDelta::hours(24),
            GracePeriod::SevenDays => TimeDelta::days(7),
        }
    }
}

/// How to rotate: when the old secret stops working, and for an expired key
/// its new expiry (`Some(None)` = never).
#[derive(Debug, Clone, Copy)]
pub struct Rotation {
    pub grace: GracePeriod,
    pub new_expiry: Option<Option<Expiry>>,
}

/// Adds a new secret and ends the old ones after the grace period. An
/// expired key needs a new expiry (or "never") to become usable again, and
/// its old secrets end at once whatever the grace period: they had stopped
/// working when it expired, and a rotation must not bring them back.
pub fn rotate(
    conn: &mut DbConnection,
    secret: &ServerSecret,
    org_id: &str,
    id: &str,
    rotation: Rotation,
    actor: &Actor,
    ip: Option<IpAddr>,
) -> Result<(KeyDetail, ApiKeyToken), AppError> {
    let Rotation { grace, new_expiry } = rotation;
    let before = locked_detail(conn, org_id, id)?;
    ensure_not_revoked(&before, "rotated")?;
    let now = store::now();
    let expired = before.key.status(now) == KeyStatus::Expired;
    if expired && new_expiry.is_none() {
        return Err(AppError::ExpiredKey(format!(
            "\"{}\" has expired: give it a new expiry date (or none) to rotate it.",
            before.key.name
        )));
    }
    if let Some(expiry) = new_expiry {
        let rows = api_keys::set_expiry(conn, org_id, id, expiry.map(Expiry::naive_utc), now)?;
        ensure_changed(rows, &before)?;
    }
    let org = organizations::find(conn, org_id)?;
    let signing_key = signing_key(secret, &org)?;
    let old_secrets_end = if expired { now } else { now + grace.duration() };
    api_keys::retire_secrets(conn, id, old_secrets_end)?;
    ensure_changed(api_keys::touch(conn, org_id, id, now)?, &before)?;
    let token = add_secret(conn, &signing_key, org_id, id, now)?;
    let after = detail(conn, org_id, id)?;
    let details = json!({
        "grace_period": grace.as_str(),
        "old_secrets_end_at": rfc3339(old_secrets_end),
        "new_key_id": token.key_id().as_str(),
        "before": before.audit_view(),
        "after": after.audit_view(),
    });
    audit::record(
        conn,
        Some(org_id),
        actor,
        AuditAction::ApiKeyRotated,
        Some(&after.target()),
        details,
        ip,
    )?;
    Ok((after, token))
}

pub fn revoke(
    conn: &mut DbConnection,
    org_id: &str,
    id: &str,
    actor: &Actor,
    ip: Option<IpAddr>,
) -> Result<KeyDetail, AppError> {
    let before = locked_detail(conn, org_id, id)?;
    ensure_not_revoked(&before, "revoked again")?;
    ensure_changed(api_keys::revoke(conn, org_id, id, store::now())?, &before)?;
    let after = detail(conn, org_id, id)?;
    let details =
        json!({ "before": { "status": before.key.status(store::now()).as_str() }, "after": { "status": "revoked" } });
    audit::record(
        conn,
        Some(org_id),
        actor,
        AuditAction::ApiKeyRevoked,
        Some(&after.target()),
        details,
        ip,
    )?;
    Ok(after)
}

/// Deletes a key; returns what it was, for the confirmation message.
pub fn delete(
    conn: &mut DbConnection,
    org_id: &str,
    id: &str,
    actor: &Actor,
    ip: Option<IpAddr>,
) -> Result<KeyDetail, AppError> {
    let before = locked_detail(conn, org_id, id)?;
    ensure_changed(api_keys::delete(conn, org_id, id, store::now())?, &before)?;
    let details = json!({ "before": before.audit_view() });
    audit::record(
        conn,
        Some(org_id),
        actor,
        AuditAction::ApiKeyDeleted,
        Some(&before.target()),
        details,
        ip,
    )?;
    Ok(before)
}

/// What a backoffice form that shows a secret (create, rotate) did: its
/// change now, with the secret to show once, or nothing because the same
/// form had already made it (a reload, a double click), with the key it made.
pub enum Submitted {
    Now(KeyDetail, ApiKeyToken),
    Before(KeyDetail),
}

/// Runs `change` (a create or rotate that returns the key and its new
/// secret) unless this organization's form `token` already ran one, and
/// records the token in the same transaction. Without a token (a script
/// posting the form) the change simply runs. Two submissions racing with one
/// token cannot both commit: the second breaks the token's unique key and
/// its whole transaction is rolled back.
pub fn once(
    conn: &mut DbConnection,
    org_id: &str,
    token: Option<&FormToken>,
    change: impl FnOnce(&mut DbConnection) -> Result<(KeyDetail, ApiKeyToken), AppError>,
) -> Result<Submitted, AppError> {
    let Some(token) = token else {
        let (detail, secret) = change(conn)?;
        return Ok(Submitted::Now(detail, secret));
    };
    if let Some(api_key_id) = form_submissions::find(conn, org_id, token)? {
        return Ok(Submitted::Before(detail(conn, org_id, &api_key_id)?));
    }
    let (detail, secret) = change(conn)?;
    form_submissions::record(conn, org_id, token, &detail.key.id, store::now())?;
    Ok(Submitted::Now(detail, secret))
}

/// The key an earlier submission of the form `token` made, if one did
/// (asked again after a submission lost a race to it).
pub fn submitted_before(
    conn: &mut DbConnection,
    org_id: &str,
    token: &FormToken,
) -> Result<Option<KeyDetail>, AppError> {
    match form_submissions::find(conn, org_id, token)? {
        Some(api_key_id) => Ok(Some(detail(conn, org_id, &api_key_id)?)),
        None => Ok(None),
    }
}
