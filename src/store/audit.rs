//! The append-only audit log (the database refuses updates and deletes).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use std::net::IpAddr;

use super::DbConnection;
use super::schema::audit_events;
use diesel::sql_types::{Bool, Nullable};

use crate::domain::audit::{Actor, AuditAction, AuditFilter, Target};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: String,
    pub org_id: Option<String>,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub actor_label: String,
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub target_label: Option<String>,
    pub details: String,
    pub client_ip: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewAuditEvent<'a> {
    pub id: String,
    pub org_id: Option<&'a str>,
    pub actor_kind: &'a str,
    pub actor_id: Option<&'a str>,
    pub actor_label: &'a str,
    pub action: &'a str,
    pub target_kind: Option<&'a str>,
    pub target_id: Option<&'a str>,
    pub target_label: Option<&'a str>,
    pub details: String,
    pub client_ip: Option<String>,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, event: &NewAuditEvent<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values(event)
        .execute(conn)
        .map(drop)
}

/// The newest events of one organization.
pub fn list_for_org(conn: &mut DbConnection, org_id: &str, limit: i64) -> QueryResult<Vec<AuditEvent>> {
    audit_events::table
        .filter(audit_events::org_id.eq(org_id))
        .order((audit_events::created_at.desc(), audit_events::id.desc()))
        .limit(limit)
        .select(AuditEvent::as_select())
        .load(conn)
}

/// Appends one event.
pub fn record(
    conn: &mut DbConnection,
    org_id: Option<&str>,
    actor: &Actor,
    action: AuditAction,
    target: Option<&Target<'_>>,
    details: serde_json::Value,
    client_ip: Option<IpAddr>,
) -> QueryResult<()> {
    let actor_label = actor.to_string();
    insert(
        conn,
        &NewAuditEvent {
            id: super::new_id(),
            org_id,
            actor_kind: actor.kind(),
            actor_id: actor.id(),
            actor_label: &actor_label,
            action: action.as_str(),
            target_kind: target.map(|t| t.kind),
            target_id: target.map(|t| t.id),
            target_label: target.map(|t| t.label),
            details: details.to_string(),
            client_ip: client_ip.map(|ip| ip.to_string()),
            created_at: super::now(),
        },
    )
}

/// The newest events about one target, within one organization.
pub fn list_for_target(
    conn: &mut DbConnection,
    org_id: &str,
    target_id: &str,
    limit: i64,
) -> QueryResult<Vec<AuditEvent>> {
    audit_events::table
        .filter(audit_events::org_id.eq(org_id))
        .filter(audit_events::target_id.eq(target_id))
        .order((audit_events::created_at.desc(), audit_events::id.desc()))
        .limit(limit)
        .select(AuditEvent::as_select())
        .load(conn)
}

type Backend = <DbConnection as diesel::Connection>::Backend;

fn filtered<'a>(org_id: &'a str, filter: &'a AuditFilter) -> audit_events::BoxedQuery<'a, Backend> {
    let mut query = audit_events::table.filter(audit_events::org_id.eq(org_id)).into_boxed();
    if !filter.actions.is_empty() {
        query = query.filter(audit_events::action.eq_any(filter.actions.iter().map(|a| a.as_str())));
    }
    if let Some(search) = &filter.search {
        let like = |text: &str| format!("%{}%", super::escape_like(text));
        let pattern = like(&search.text);
        // Who acted, what it is about, from where: case-insensitive.
        let mut matches: Box<dyn BoxableExpression<audit_events::table, Backend, SqlType = Nullable<Bool>>> = Box::new(
            super::lower(audit_events::actor_label)
                .like(pattern.clone())
                .escape('\\')
                .nullable()
                .or(super::lower(audit_events::target_label.assume_not_null())
                    .like(pattern.clone())
                    .escape('\\'))
                .or(super::lower(audit_events::client_ip.assume_not_null())
                    .like(pattern)
                    .escape('\\')),
        );
        // A key id: the events about that key, or made with it.
        if let Some(prefix) = &search.key_id_prefix {
            matches = Box::new(
                matches
                    .or(audit_events::target_id
                        .assume_not_null()
                        .eq_any(super::api_keys::with_key_id_prefix(org_id, prefix)))
                    .or(audit_events::actor_id
                        .assume_not_null()
                        .eq_any(super::api_keys::with_key_id_prefix(org_id, prefix))),
            );
        }
        // A scope: the events whose settings name it, as a whole entry of a
        // list of scopes ("read on assets" is not "read on assets/42").
        if let Some(scope) = &search.scope {
            matches = Box::new(matches.or(audit_events::details.like(like(&format!("\"{scope}\""))).escape('\\')));
        }
        query = query.filter(matches);
    }
    if let Some(since) = filter.since {
        query = query.filter(audit_events::created_at.ge(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_events::created_at.lt(until));
    }
    query
}

/// One page of the organization's events that match, newest first.
pub fn search(
    conn: &mut DbConnection,
    org_id: &str,
    filter: &AuditFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<AuditEvent>> {
    filtered(org_id, filter)
        .order((audit_events::created_at.desc(), audit_events::id.desc()))
        .offset(offset)
        .limit(limit)
        .select(AuditEvent::as_select())
        .load(conn)
}

/// Up to `limit` matching events, newest first, after `after` (the
/// `(created_at, id)` of the last event of the previous chunk): keyset, so
/// events appended while an export runs shift nothing.
pub fn search_after(
    conn: &mut DbConnection,
    org_id: &str,
    filter: &AuditFilter,
    after: Option<&(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<AuditEvent>> {
    let mut query = filtered(org_id, filter);
    if let Some((at, id)) = after {
        query = query.filter(
            audit_events::created_at
                .lt(*at)
                .or(audit_events::created_at.eq(*at).and(audit_events::id.lt(id.clone()))),
        );
    }
    query
        .order((audit_events::created_at.desc(), audit_events::id.desc()))
        .limit(limit)
        .select(AuditEvent::as_select())
        .load(conn)
}

pub fn count(conn: &mut DbConnection, org_id: &str, filter: &AuditFilter) -> QueryResult<i64> {
    filtered(org_id, filter).count().get_result(conn)
}
