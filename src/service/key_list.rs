//! The key list as the backoffice page, its CSV export and the API's list
//! all read it: one page of a filter's keys, their total and the count of
//! each Status choice, or every matching id for an export.
//!
//! Search, status and order are SQL (pages by OFFSET, as before). The
//! capability filter ("Can", "Resource") is not: scopes are data with
//! wildcards and path prefixes, and only `ScopeSet::allows`, the rule
//! authentication applies, may say what a key can do. With it, the ids and
//! scope rows of every key the search matches are read (two queries, no
//! other column), weighed in Rust in the selection's order, and the page is
//! cut from the keys that pass; the counts come from the same pass, so they
//! are exact.

use chrono::NaiveDateTime;

use crate::domain::api_key::KeyStatus;
use crate::domain::filter::{Capability, KeyListFilter, KeySelection, StatusFilter, expiring_soon};
use crate::error::AppError;
use crate::store::DbConnection;
use crate::store::api_keys::{self, ApiKey};

/// How many keys each Status choice would show, for the same search and
/// capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusCounts {
    /// In `KeyStatus::ALL` order.
    pub by_status: [(KeyStatus, i64); 4],
    pub expiring_soon: i64,
}

impl StatusCounts {
    fn new() -> Self {
        Self {
            by_status: KeyStatus::ALL.map(|status| (status, 0)),
            expiring_soon: 0,
        }
    }

    /// Every key has exactly one status, so the counts give the total too.
    pub fn of(&self, filter: StatusFilter) -> i64 {
        match filter {
            StatusFilter::All => self.by_status.iter().map(|(_, n)| n).sum(),
            StatusFilter::Only(status) => self.by_status.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n),
            StatusFilter::ExpiringSoon => self.expiring_soon,
        }
    }
}

/// One page of the list.
#[derive(Debug)]
pub struct KeyListPage {
    pub keys: Vec<ApiKey>,
    /// Keys the whole filter matches, over every page.
    pub total: i64,
    pub counts: StatusCounts,
}

/// Page `page` (from 1) of `filter`'s keys of `org_id`, `per_page` a page.
pub fn page(
    conn: &mut DbConnection,
    org_id: &str,
    filter: &KeyListFilter,
    now: NaiveDateTime,
    page: i64,
    per_page: i64,
) -> Result<KeyListPage, AppError> {
    let offset = (page.max(1) - 1).saturating_mul(per_page);
    let selection = &filter.selection;
    let Some(capability) = &filter.capability else {
        let counts = counts(conn, org_id, selection.query.as_deref(), now)?;
        return Ok(KeyListPage {
            keys: api_keys::list(conn, org_id, selection, now, offset, per_page)?,
            total: counts.of(selection.status),
            counts,
        });
    };
    let (matching, counts) = capable(conn, org_id, selection, capability, now)?;
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(matching.len());
    let end = start
        .saturating_add(usize::try_from(per_page).unwrap_or(0))
        .min(matching.len());
    Ok(KeyListPage {
        keys: api_keys::by_ids(conn, org_id, &matching[start..end])?,
        total: matching.len() as i64,
        counts,
    })
}

/// The counts of each Status choice among the keys of `org_id` that the
/// search `text` matches.
pub fn counts(
    conn: &mut DbConnection,
    org_id: &str,
    text: Option<&str>,
    now: NaiveDateTime,
) -> Result<StatusCounts, AppError> {
    let mut counts = StatusCounts::new();
    for (status, count) in &mut counts.by_status {
        *count = api_keys::count(conn, org_id, text, StatusFilter::Only(*status), now)?;
    }
    counts.expiring_soon = api_keys::count(conn, org_id, text, StatusFilter::ExpiringSoon, now)?;
    Ok(counts)
}

/// The ids of every key of `org_id` that `filter` matches, in its order
/// (what an export reads).
pub fn ids(
    conn: &mut DbConnection,
    org_id: &str,
    filter: &KeyListFilter,
    now: NaiveDateTime,
) -> Result<Vec<String>, AppError> {
    match &filter.capability {
        None => Ok(api_keys::ids(conn, org_id, &filter.selection, now)?),
        Some(capability) => Ok(capable(conn, org_id, &filter.selection, capability, now)?.0),
    }
}

/// The ids, in order, of the selection's keys that have `capability`, and
/// the counts of each Status choice among all the search's keys that have it.
fn capable(
    conn: &mut DbConnection,
    org_id: &str,
    selection: &KeySelection,
    capability: &Capability,
    now: NaiveDateTime,
) -> Result<(Vec<String>, StatusCounts), AppError> {
    let mut counts = StatusCounts::new();
    let mut matching = Vec::new();
    for (id, revoked_at, expires_at, enabled, rows) in api_keys::with_scopes(conn, org_id, selection, now)? {
        // A stored scope that no longer parses means the database was
        // edited by hand: an error, never a guess either way.
        let scopes = api_keys::scope_set(&rows).map_err(AppError::unexpected)?;
        if !capability.allowed_by(&scopes) {
            continue;
        }
        let status = KeyStatus::of(revoked_at, expires_at, enabled, now);
        if let Some((_, count)) = counts.by_status.iter_mut().find(|(s, _)| *s == status) {
            *count += 1;
        }
        if expiring_soon(revoked_at, expires_at, enabled, now) {
            counts.expiring_soon += 1;
        }
        if selection.status.admits(revoked_at, expires_at, enabled, now) {
            matching.push(id);
        }
    }
    Ok((matching, counts))
}
