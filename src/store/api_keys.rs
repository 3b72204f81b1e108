//! API keys and their secrets, scopes and networks. Every function takes the
//! organization id: another organization's key is simply not found.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{api_keys, key_networks, key_scopes, key_secrets, organizations};
use super::{DbConnection, UniqueRow as _, escape_like, lower, substr};
use crate::domain::ValidationError;
use crate::domain::api_key::{KeyName, KeyStatus};
use crate::domain::filter::{EXPIRING_SOON, KeySelection, KeySort, StatusFilter};
use crate::domain::network::{Network, NetworkList};
use crate::domain::scope::{Action, ResourceFilter, Scope, ScopeSet};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub enabled: bool,
    pub allow_query_key: bool,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub deleted_at: Option<NaiveDateTime>,
    pub created_by_user_id: Option<String>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub last_used_ip: Option<String>,
}

impl ApiKey {
    pub fn status(&self, now: NaiveDateTime) -> KeyStatus {
        KeyStatus::of(self.revoked_at, self.expires_at, self.enabled, now)
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = api_keys)]
pub struct NewApiKey<'a> {
    pub id: &'a str,
    pub org_id: &'a str,
    pub name: &'a str,
    /// `KeyName::fold` of the name.
    pub name_key: &'a str,
    pub enabled: bool,
    pub allow_query_key: bool,
    pub expires_at: Option<NaiveDateTime>,
    pub created_by_user_id: Option<&'a str>,
    pub created_by: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = key_secrets)]
pub struct KeySecret {
    pub id: String,
    pub api_key_id: String,
    pub org_id: String,
    pub key_id: String,
    pub digest: Option<String>,
    pub created_at: NaiveDateTime,
    pub not_after: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = key_secrets)]
pub struct NewKeySecret<'a> {
    pub id: &'a str,
    pub api_key_id: &'a str,
    pub org_id: &'a str,
    pub key_id: &'a str,
    pub digest: Option<&'a str>,
    pub created_at: NaiveDateTime,
    pub not_after: Option<NaiveDateTime>,
}

/// The key's scopes as stored: (action, resource filter), in order.
pub type StoredScope = (String, String);

pub fn insert(conn: &mut DbConnection, key: &NewApiKey<'_>) -> QueryResult<()> {
    diesel::insert_into(api_keys::table).values(key).execute(conn).map(drop)
}

pub fn insert_secret(conn: &mut DbConnection, secret: &NewKeySecret<'_>) -> QueryResult<()> {
    diesel::insert_into(key_secrets::table)
        .values(secret)
        .execute(conn)
        .map(drop)
}

/// Replaces a key's scopes.
pub fn set_scopes(conn: &mut DbConnection, api_key_id: &str, scopes: &ScopeSet) -> QueryResult<()> {
    diesel::delete(key_scopes::table.filter(key_scopes::api_key_id.eq(api_key_id))).execute(conn)?;
    // One insert per row: MultiConnection cannot batch inserts.
    for (position, scope) in (0i32..).zip(scopes.iter()) {
        diesel::insert_into(key_scopes::table)
            .values((
                key_scopes::api_key_id.eq(api_key_id),
                key_scopes::action.eq(scope.action.as_str()),
                key_scopes::resource.eq(scope.filter.as_str()),
                key_scopes::position.eq(position),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Replaces a key's allowed networks.
pub fn set_networks(conn: &mut DbConnection, api_key_id: &str, networks: &NetworkList) -> QueryResult<()> {
    diesel::delete(key_networks::table.filter(key_networks::api_key_id.eq(api_key_id))).execute(conn)?;
    for (position, network) in (0i32..).zip(networks.iter()) {
        diesel::insert_into(key_networks::table)
            .values((
                key_networks::api_key_id.eq(api_key_id),
                key_networks::cidr.eq(network.to_string()),
                key_networks::position.eq(position),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// (id, name, deleted at) of these keys of `org_id`, deleted ones included:
/// reports name keys that made requests before they were deleted.
pub fn names_of(
    conn: &mut DbConnection,
    org_id: &str,
    ids: &[String],
) -> QueryResult<Vec<(String, String, Option<NaiveDateTime>)>> {
    api_keys::table
        .filter(api_keys::org_id.eq(org_id))
        .filter(api_keys::id.eq_any(ids))
        .select((api_keys::id, api_keys::name, api_keys::deleted_at))
        .load(conn)
}

/// A live (not deleted) key of `org_id`.
pub fn find(conn: &mut DbConnection, org_id: &str, id: &str) -> QueryResult<Option<ApiKey>> {
    api_keys::table
        .filter(api_keys::org_id.eq(org_id))
        .filter(api_keys::id.eq(id))
        .filter(api_keys::deleted_at.is_null())
        .select(ApiKey::as_select())
        .unique_row(conn)
}

/// A key of `org_id`, deleted or not: a deleted key's page still shows what
/// it was. Every change goes through `find` (live keys) instead.
pub fn find_including_deleted(conn: &mut DbConnection, org_id: &str, id: &str) -> QueryResult<Option<ApiKey>> {
    api_keys::table
        .filter(api_keys::org_id.eq(org_id))
        .filter(api_keys::id.eq(id))
        .select(ApiKey::as_select())
        .unique_row(conn)
}

/// Whether a live key of `org_id` already has `name`, in any case (other
/// than `except`).
pub fn name_taken(conn: &mut DbConnection, org_id: &str, name: &str, except: Option<&str>) -> QueryResult<bool> {
    let mut query = api_keys::table
        .filter(api_keys::org_id.eq(org_id))
        .filter(api_keys::name_key.eq(KeyName::fold(name)))
        .filter(api_keys::deleted_at.is_null())
        .into_boxed();
    if let Some(except) = except {
        query = query.filter(api_keys::id.ne(except));
    }
    Ok(query.count().get_result::<i64>(conn)? > 0)
}

/// One key's scopes, by plain equality so diesel can reuse the prepared
/// statement (an `IN (…)` list is prepared anew each time).
pub fn scopes_of_key(conn: &mut DbConnection, api_key_id: &str) -> QueryResult<Vec<(String, StoredScope)>> {
    key_scopes::table
        .filter(key_scopes::api_key_id.eq(api_key_id))
        .order(key_scopes::position)
        .select((key_scopes::api_key_id, (key_scopes::action, key_scopes::resource)))
        .load(conn)
}

/// One key's networks, likewise.
pub fn networks_of_key(conn: &mut DbConnection, api_key_id: &str) -> QueryResult<Vec<(String, String)>> {
    key_networks::table
        .filter(key_networks::api_key_id.eq(api_key_id))
        .order(key_networks::position)
        .select((key_networks::api_key_id, key_networks::cidr))
        .load(conn)
}

/// The stored rows of one key as domain values; rows that no longer parse
/// mean the database was edited by hand, which is an error, not a default.
pub fn settings_from_rows(
    api_key_id: &str,
    scopes: &[(String, StoredScope)],
    networks: &[(String, String)],
) -> Result<(ScopeSet, NetworkList), ValidationError> {
    let key_scopes = scope_set(scopes.iter().filter(|(id, _)| id == api_key_id).map(|(_, scope)| scope))?;
    let key_networks = networks
        .iter()
        .filter(|(id, _)| id == api_key_id)
        .map(|(_, cidr)| Network::parse(cidr))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((key_scopes, NetworkList::new(key_networks)?))
}

/// One key's stored scope rows as its scope set (see `settings_from_rows`).
pub fn scope_set<'a>(rows: impl IntoIterator<Item = &'a StoredScope>) -> Result<ScopeSet, ValidationError> {
    let scopes = rows
        .into_iter()
        .map(|(action, resource)| {
            Ok(Scope {
                action: Action::parse(action)?,
                filter: ResourceFilter::parse(resource)?,
            })
        })
        .collect::<Result<Vec<_>, ValidationError>>()?;
    ScopeSet::new(scopes)
}

pub fn scopes_of(conn: &mut DbConnection, api_key_ids: &[String]) -> QueryResult<Vec<(String, StoredScope)>> {
    key_scopes::table
        .filter(key_scopes::api_key_id.eq_any(api_key_ids))
        .order((key_scopes::api_key_id, key_scopes::position))
        .select((key_scopes::api_key_id, (key_scopes::action, key_scopes::resource)))
        .load(conn)
}

pub fn networks_of(conn: &mut DbConnection, api_key_ids: &[String]) -> QueryResult<Vec<(String, String)>> {
    key_networks::table
        .filter(key_networks::api_key_id.eq_any(api_key_ids))
        .order((key_networks::api_key_id, key_networks::position))
        .select((key_networks::api_key_id, key_networks::cidr))
        .load(conn)
}

/// Secrets of these keys, newest first.
pub fn secrets_of(conn: &mut DbConnection, api_key_ids: &[String]) -> QueryResult<Vec<KeySecret>> {
    key_secrets::table
        .filter(key_secrets::api_key_id.eq_any(api_key_ids))
        .order((key_secrets::created_at.desc(), key_secrets::id.desc()))
        .select(KeySecret::as_select())
        .load(conn)
}

type Backend = <DbConnection as diesel::Connection>::Backend;

/// The ids of `org_id`'s keys, deleted ones included, with a secret whose key
/// id starts with `prefix` (case-sensitive): a subquery for `eq_any`.
#[diesel::dsl::auto_type(no_type_alias)]
pub fn with_key_id_prefix<'a>(org_id: &'a str, prefix: &'a str) -> _ {
    let length: i32 = i32::try_from(prefix.len()).unwrap_or(i32::MAX);
    let start: i32 = 1;
    key_secrets::table
        .filter(key_secrets::org_id.eq(org_id))
        .filter(substr(key_secrets::key_id, start, length).eq(prefix))
        .select(key_secrets::api_key_id)
}

/// The live keys of `org_id` that match the search `text` and `status`, as
/// a query to refine.
fn filtered<'a>(
    org_id: &'a str,
    text: Option<&'a str>,
    status: StatusFilter,
    now: NaiveDateTime,
) -> api_keys::BoxedQuery<'a, Backend> {
    let mut query = api_keys::table
        .filter(api_keys::org_id.eq(org_id))
        .filter(api_keys::deleted_at.is_null())
        .into_boxed();
    if let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) {
        // Names: a case-insensitive substring (`lower` folds Unicode on both
        // backends, see store::unicode_lower).
        let by_name = lower(api_keys::name)
            .like(format!("%{}%", escape_like(&text.to_lowercase())))
            .escape('\\');
        // Key ids: a case-sensitive prefix.
        query = match crate::domain::token::key_id_prefix(text) {
            Some(prefix) => query.filter(by_name.or(api_keys::id.eq_any(with_key_id_prefix(org_id, prefix)))),
            None => query.filter(by_name),
        };
    }
    // The same rules as `KeyStatus::of` and `filter::expiring_soon`.
    let live = api_keys::expires_at.is_null().or(api_keys::expires_at.gt(now));
    query = match status {
        StatusFilter::All => query,
        StatusFilter::Only(KeyStatus::Revoked) => query.filter(api_keys::revoked_at.is_not_null()),
        StatusFilter::Only(KeyStatus::Expired) => query
            .filter(api_keys::revoked_at.is_null())
            .filter(api_keys::expires_at.le(now)),
        StatusFilter::Only(KeyStatus::Disabled) => query
            .filter(api_keys::revoked_at.is_null())
            .filter(live)
            .filter(api_keys::enabled.eq(false)),
        StatusFilter::Only(KeyStatus::Active) => query
            .filter(api_keys::revoked_at.is_null())
            .filter(live)
            .filter(api_keys::enabled.eq(true)),
        StatusFilter::ExpiringSoon => query
            .filter(api_keys::revoked_at.is_null())
            .filter(api_keys::enabled.eq(true))
            .filter(api_keys::expires_at.gt(now))
            .filter(api_keys::expires_at.le(now + EXPIRING_SOON)),
    };
    query
}

/// `query` in `sort` order. Never-expiring and never-used keys come last in
/// both directions (`IS NULL` sorts false before true on both backends;
/// `NULLS LAST` is not portable), and ties go by id, so the order is total.
fn in_order(query: api_keys::BoxedQuery<'_, Backend>, sort: KeySort) -> api_keys::BoxedQuery<'_, Backend> {
    match sort {
        KeySort::CreatedDesc => query.order((api_keys::created_at.desc(), api_keys::id.desc())),
        KeySort::CreatedAsc => query.order((api_keys::created_at.asc(), api_keys::id.asc())),
        KeySort::NameAsc => query.order((api_keys::name_key.asc(), api_keys::id.asc())),
        KeySort::NameDesc => query.order((api_keys::name_key.desc(), api_keys::id.desc())),
        KeySort::ValidUntilAsc => query.order((
            api_keys::expires_at.is_null().asc(),
            api_keys::expires_at.asc(),
            api_keys::id.asc(),
        )),
        KeySort::ValidUntilDesc => query.order((
            api_keys::expires_at.is_null().asc(),
            api_keys::expires_at.desc(),
            api_keys::id.desc(),
        )),
        KeySort::LastUsedDesc => query.order((
            api_keys::last_used_at.is_null().asc(),
            api_keys::last_used_at.desc(),
            api_keys::id.desc(),
        )),
        KeySort::LastUsedAsc => query.order((
            api_keys::last_used_at.is_null().asc(),
            api_keys::last_used_at.asc(),
            api_keys::id.asc(),
        )),
    }
}

/// The keys of the selection, in its order, as a query to refine.
fn selected<'a>(org_id: &'a str, selection: &'a KeySelection, now: NaiveDateTime) -> api_keys::BoxedQuery<'a, Backend> {
    in_order(
        filtered(org_id, selection.query.as_deref(), selection.status, now),
        selection.sort,
    )
}

/// `limit` keys of the selection from `offset` on, in its order. The page
/// is found on ids alone, then just its rows are read, so deep pages stay
/// cheap.
pub fn list(
    conn: &mut DbConnection,
    org_id: &str,
    selection: &KeySelection,
    now: NaiveDateTime,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<ApiKey>> {
    let ids: Vec<String> = selected(org_id, selection, now)
        .limit(limit)
        .offset(offset)
        .select(api_keys::id)
        .load(conn)?;
    by_ids(conn, org_id, &ids)
}

/// The ids of every key of the selection, in its order.
pub fn ids(
    conn: &mut DbConnection,
    org_id: &str,
    selection: &KeySelection,
    now: NaiveDateTime,
) -> QueryResult<Vec<String>> {
    selected(org_id, selection, now).select(api_keys::id).load(conn)
}

/// The live keys of `org_id` among `ids`, in the order of `ids` (a key
/// deleted meanwhile is left out).
pub fn by_ids(conn: &mut DbConnection, org_id: &str, ids: &[String]) -> QueryResult<Vec<ApiKey>> {
    let mut keys: std::collections::HashMap<String, ApiKey> = api_keys::table
        .filter(api_keys::org_id.eq(org_id))
        .filter(api_keys::deleted_at.is_null())
        .filter(api_keys::id.eq_any(ids))
        .select(ApiKey::as_select())
        .load::<ApiKey>(conn)?
        .into_iter()
        .map(|key| (key.id.clone(), key))
        .collect();
    Ok(ids.iter().filter_map(|id| keys.remove(id)).collect())
}

/// How many live keys of `org_id` match the search `text` and `status`.
pub fn count(
    conn: &mut DbConnection,
    org_id: &str,
    text: Option<&str>,
    status: StatusFilter,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    filtered(org_id, text, status, now).count().get_result(conn)
}

/// A key as the capability filter weighs it: id, the columns its status is
/// computed from (revoked at, expires at, enabled), and its stored scopes.
pub type KeyWithScopes = (
    String,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    bool,
    Vec<StoredScope>,
);

/// Every key of the selection's search (whatever its status), in the
/// selection's order, with its scopes: two queries, ids, status columns
/// and scope rows only.
pub fn with_scopes(
    conn: &mut DbConnection,
    org_id: &str,
    selection: &KeySelection,
    now: NaiveDateTime,
) -> QueryResult<Vec<KeyWithScopes>> {
    let text = selection.query.as_deref();
    let keys: Vec<(String, Option<NaiveDateTime>, Option<NaiveDateTime>, bool)> =
        in_order(filtered(org_id, text, StatusFilter::All, now), selection.sort)
            .select((
                api_keys::id,
                api_keys::revoked_at,
                api_keys::expires_at,
                api_keys::enabled,
            ))
            .load(conn)?;
    // The scopes of every live key of the organization: a join, since a
    // list of ids could pass the backends' limits on bound parameters. The
    // search's keys pick theirs below.
    let rows: Vec<(String, StoredScope)> = key_scopes::table
        .inner_join(api_keys::table)
        .filter(api_keys::org_id.eq(org_id))
        .filter(api_keys::deleted_at.is_null())
        .order((key_scopes::api_key_id, key_scopes::position))
        .select((key_scopes::api_key_id, (key_scopes::action, key_scopes::resource)))
        .load(conn)?;
    let mut scopes: std::collections::HashMap<String, Vec<StoredScope>> = std::collections::HashMap::new();
    for (id, scope) in rows {
        scopes.entry(id).or_default().push(scope);
    }
    Ok(keys
        .into_iter()
        .map(|(id, revoked_at, expires_at, enabled)| {
            let key_scopes = scopes.remove(&id).unwrap_or_default();
            (id, revoked_at, expires_at, enabled, key_scopes)
        })
        .collect())
}

/// The active keys of `org_id` that expire at `until` or before (soonest
/// first, ties by id): how many, and the name and expiry of the first
/// `limit`.
pub fn expiring_by(
    conn: &mut DbConnection,
    org_id: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
    limit: i64,
) -> QueryResult<(i64, Vec<(String, NaiveDateTime)>)> {
    let soon =
        || filtered(org_id, None, StatusFilter::Only(KeyStatus::Active), now).filter(api_keys::expires_at.le(until));
    let count = soon().count().get_result(conn)?;
    let first: Vec<(String, Option<NaiveDateTime>)> = in_order(soon(), KeySort::ValidUntilAsc)
        .limit(limit)
        .select((api_keys::name, api_keys::expires_at))
        .load(conn)?;
    Ok((
        count,
        first
            .into_iter()
            .filter_map(|(name, at)| at.map(|at| (name, at)))
            .collect(),
    ))
}

/// The key `id` of `org_id` while it can still change: not deleted, not revoked.
#[diesel::dsl::auto_type(no_type_alias)]
fn changeable_key<'a>(org_id: &'a str, id: &'a str) -> _ {
    api_keys::table
        .filter(api_keys::org_id.eq(org_id))
        .filter(api_keys::id.eq(id))
        .filter(api_keys::deleted_at.is_null())
        .filter(api_keys::revoked_at.is_null())
}

/// Locks the row of key `id` of `org_id` until the transaction ends, so a
/// lifecycle step reads and writes it without another step in between.
/// PostgreSQL needs it (READ COMMITTED); on SQLite the write transaction
/// (`BEGIN IMMEDIATE`) already holds the database's one write lock.
/// `FOR NO KEY UPDATE` lets usage flushes, whose rows only reference the key,
/// go on meanwhile.
pub fn lock(conn: &mut DbConnection, org_id: &str, id: &str) -> QueryResult<()> {
    match conn {
        DbConnection::Postgres(pg) => api_keys::table
            .filter(api_keys::org_id.eq(org_id))
            .filter(api_keys::id.eq(id))
            .select(api_keys::id)
            .for_no_key_update()
            .load::<String>(pg)
            .map(drop),
        DbConnection::Sqlite(_) => Ok(()),
    }
}

/// After a change of key `id` that changed `rows`: records it in the change
/// log that other instances read (nothing when no row changed).
fn changed(conn: &mut DbConnection, org_id: &str, id: &str, rows: usize, now: NaiveDateTime) -> QueryResult<usize> {
    if rows > 0 {
        super::key_changes::record(conn, org_id, id, now)?;
    }
    Ok(rows)
}

/// Updates a live key's editable settings.
pub fn update_settings(
    conn: &mut DbConnection,
    org_id: &str,
    id: &str,
    name: &str,
    expires_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let rows = diesel::update(changeable_key(org_id, id))
        .set((
            api_keys::name.eq(name),
            api_keys::name_key.eq(KeyName::fold(name)),
            api_keys::expires_at.eq(expires_at),
            api_keys::updated_at.eq(now),
        ))
        .execute(conn)?;
    changed(conn, org_id, id, rows, now)
}

/// Enables or disables a live, unrevoked key; returns rows changed.
pub fn set_enabled(
    conn: &mut DbConnection,
    org_id: &str,
    id: &str,
    enabled: bool,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let rows = diesel::update(changeable_key(org_id, id))
        .set((api_keys::enabled.eq(enabled), api_keys::updated_at.eq(now)))
        .execute(conn)?;
    changed(conn, org_id, id, rows, now)
}

/// Revokes a live key once; returns rows changed (0 if already revoked).
pub fn revoke(conn: &mut DbConnection, org_id: &str, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    let rows = diesel::update(changeable_key(org_id, id))
        .set((api_keys::revoked_at.eq(Some(now)), api_keys::updated_at.eq(now)))
        .execute(conn)?;
    changed(conn, org_id, id, rows, now)
}

/// Deletes a key: gone from lists and unusable; the row and its history stay
/// for auditors, the secret digests are erased.
pub fn delete(conn: &mut DbConnection, org_id: &str, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    let changed = diesel::update(
        api_keys::table
            .filter(api_keys::org_id.eq(org_id))
            .filter(api_keys::id.eq(id))
            .filter(api_keys::deleted_at.is_null()),
    )
    .set((api_keys::deleted_at.eq(Some(now)), api_keys::updated_at.eq(now)))
    .execute(conn)?;
    if changed > 0 {
        diesel::update(key_secrets::table.filter(key_secrets::api_key_id.eq(id)))
            .set(key_secrets::digest.eq(None::<String>))
            .execute(conn)?;
    }
    self::changed(conn, org_id, id, changed, now)
}

/// Ends every current secret of a key at `not_after` (if it would outlive it).
pub fn retire_secrets(conn: &mut DbConnection, api_key_id: &str, not_after: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        key_secrets::table
            .filter(key_secrets::api_key_id.eq(api_key_id))
            .filter(
                key_secrets::not_after
                    .is_null()
                    .or(key_secrets::not_after.gt(not_after)),
            ),
    )
    .set(key_secrets::not_after.eq(Some(not_after)))
    .execute(conn)
}

/// Sets a live, unrevoked key's new expiry (rotation of an expired key
/// needs one); returns rows changed.
pub fn set_expiry(
    conn: &mut DbConnection,
    org_id: &str,
    id: &str,
    expires_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let rows = diesel::update(changeable_key(org_id, id))
        .set((api_keys::expires_at.eq(expires_at), api_keys::updated_at.eq(now)))
        .execute(conn)?;
    changed(conn, org_id, id, rows, now)
}

/// Provisions an organization's key-signing salt once; false if it had one.
pub fn bootstrap_org(conn: &mut DbConnection, org_id: &str, salt: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let changed = diesel::update(
        organizations::table
            .filter(organizations::id.eq(org_id))
            .filter(organizations::key_salt.is_null()),
    )
    .set((
        organizations::key_salt.eq(Some(salt)),
        organizations::keys_bootstrapped_at.eq(Some(now)),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Marks a live, unrevoked key as changed (its secrets changed): other
/// instances drop it from their caches. Returns rows changed.
pub fn touch(conn: &mut DbConnection, org_id: &str, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    let rows = diesel::update(changeable_key(org_id, id))
        .set(api_keys::updated_at.eq(now))
        .execute(conn)?;
    changed(conn, org_id, id, rows, now)
}

/// Sets `name_key` where the database's `lower()` (in the migration that
/// added it) folded a name differently from `KeyName::fold`, e.g. non-ASCII
/// names on SQLite. A name that then clashes with another live key's gets
/// " (2)", " (3)", … appended, as the migration does. Returns the keys renamed.
pub fn refold_names(conn: &mut DbConnection) -> QueryResult<Vec<(String, String)>> {
    let rows: Vec<(String, String, String)> = api_keys::table
        .filter(api_keys::deleted_at.is_null())
        .select((api_keys::id, api_keys::name, api_keys::name_key))
        .load(conn)?;
    let mut renamed = Vec::new();
    for (id, name, name_key) in rows {
        if KeyName::fold(&name) == name_key {
            continue;
        }
        let mut candidate = name.clone();
        for suffix in 2.. {
            let result = diesel::update(api_keys::table.find(&id))
                .set((
                    api_keys::name.eq(&candidate),
                    api_keys::name_key.eq(KeyName::fold(&candidate)),
                ))
                .execute(conn);
            match result {
                Ok(_) => break,
                Err(error) if super::is_unique_violation(&error) && suffix < 1000 => {
                    candidate = format!("{name} ({suffix})");
                }
                Err(error) => return Err(error),
            }
        }
        if candidate != name {
            renamed.push((id, candidate));
        }
    }
    Ok(renamed)
}

/// A live secret by its public key id, with its key and organization, in one
/// query: what authentication needs on a cache miss.
pub fn find_for_auth(
    conn: &mut DbConnection,
    key_id: &str,
) -> QueryResult<Option<(KeySecret, ApiKey, crate::store::organizations::Organization)>> {
    key_secrets::table
        .inner_join(api_keys::table.inner_join(organizations::table))
        .filter(key_secrets::key_id.eq(key_id))
        .filter(key_secrets::digest.is_not_null())
        .filter(api_keys::deleted_at.is_null())
        .select((
            KeySecret::as_select(),
            ApiKey::as_select(),
            crate::store::organizations::Organization::as_select(),
        ))
        .unique_row(conn)
}
