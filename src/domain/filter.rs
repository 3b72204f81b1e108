//! The keys list's query (`?q=…&status=…&page=…`) as the backoffice and the
//! API read it, and the filter it becomes.

use super::ValidationError;
use super::api_key::KeyStatus;
use super::token::key_id_if_key_shaped;

/// Keys per page of the list, in the backoffice and the API.
pub const PER_PAGE: i64 = 25;

/// What the list shows: search text, status filter, page.
#[derive(Debug, Clone)]
pub struct KeyListFilter {
    /// Matches the name (case-insensitive substring) or a key id prefix.
    pub query: Option<String>,
    /// `None` = all statuses.
    pub status: Option<KeyStatus>,
}

/// `?q=…&status=…&page=…`
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ListQuery {
    pub q: Option<String>,
    pub status: Option<String>,
    pub page: Option<i64>,
}

impl ListQuery {
    /// The status filter; `active` unless `all` or another status is asked for.
    pub fn status(&self) -> Result<Option<KeyStatus>, ValidationError> {
        match self.status.as_deref().map(str::trim) {
            None | Some("") => Ok(Some(KeyStatus::Active)),
            Some("all") => Ok(None),
            Some(other) => KeyStatus::parse(other).map(Some).ok_or_else(|| {
                ValidationError(format!(
                    "\"{other}\" is not a status filter: use active, disabled, expired, revoked or all."
                ))
            }),
        }
    }

    /// This query with a key (or more of one than its key id) in `q`
    /// replaced by its key id (`ask_` + 12 characters), and whether it had
    /// one: a secret pasted into Search finds its key and goes no further
    /// (no page, URL or history).
    pub fn without_secret(mut self) -> (Self, bool) {
        let had_secret = super::token::cut_secret_from_search(&mut self.q);
        (self, had_secret)
    }

    pub fn filter(&self) -> Result<KeyListFilter, ValidationError> {
        Ok(KeyListFilter {
            query: self
                .q
                .as_deref()
                .map(str::trim)
                .filter(|q| !q.is_empty())
                .map(|q| match key_id_if_key_shaped(q) {
                    Some(id) => id.hint(),
                    None => q.chars().take(200).collect(),
                }),
            status: self.status()?,
        })
    }

    /// The status filter as the list's URL spells it.
    pub fn status_value(&self) -> &'static str {
        match self.status() {
            Ok(Some(status)) => status.as_str(),
            _ => "all",
        }
    }
}
