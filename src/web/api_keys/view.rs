//! How keys look on the pages: rows, times in UTC, relative "last used".

use chrono::NaiveDateTime;

use crate::domain::api_key::{KeyStatus, expiry_warning};
use crate::error::AppError;
use crate::service::keys::KeyDetail;
use crate::service::usage_report;
use crate::store::{DbConnection, usage};

/// `2026-11-23 14:05 UTC`
pub fn utc(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// "3 minutes ago", "2 days ago".
pub fn relative(at: NaiveDateTime, now: NaiveDateTime) -> String {
    let seconds = (now - at).num_seconds().max(0);
    let (n, unit) = match seconds {
        0..60 => return "just now".to_owned(),
        60..3600 => (seconds / 60, "minute"),
        3600..86_400 => (seconds / 3600, "hour"),
        86_400..2_592_000 => (seconds / 86_400, "day"),
        2_592_000..31_536_000 => (seconds / 2_592_000, "month"),
        _ => (seconds / 31_536_000, "year"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// One row of the keys table.
#[derive(Debug, Clone)]
pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub key_id_hint: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub expiry_warning: Option<String>,
    pub scopes: String,
    pub networks: String,
    pub networks_wildcard: bool,
    pub created_by: String,
    pub created: String,
    pub valid_until: String,
    pub last_used: String,
    pub last_used_exact: String,
    pub enabled: bool,
    pub revoked: bool,
    /// SVG polyline points of daily requests over the last 7 days.
    pub sparkline: String,
    pub usage_total: i64,
}

/// Rows for these keys of organization `org_id`, with their requests of each
/// of the last 7 days.
pub fn rows_for(
    conn: &mut DbConnection,
    org_id: &str,
    details: &[KeyDetail],
    now: NaiveDateTime,
) -> Result<Vec<KeyRow>, AppError> {
    const DAYS: i64 = 7;
    let ids: Vec<String> = details.iter().map(|d| d.key.id.clone()).collect();
    let (first_day, since) = usage_report::period_start(now, DAYS);
    let by_key =
        usage_report::daily_totals_by_key(first_day, DAYS, usage::buckets_since(conn, org_id, Some(&ids), since)?);
    let quiet = vec![0; DAYS as usize];
    Ok(details
        .iter()
        .map(|d| KeyRow::new(d, now, by_key.get(&d.key.id).unwrap_or(&quiet)))
        .collect())
}

impl KeyRow {
    pub fn new(detail: &KeyDetail, now: NaiveDateTime, daily_usage: &[i64]) -> Self {
        let key = &detail.key;
        let status = key.status(now);
        Self {
            id: key.id.clone(),
            name: key.name.clone(),
            key_id_hint: detail.key_id_hint(),
            status: status.label(),
            status_class: status.as_str(),
            expiry_warning: if status == KeyStatus::Revoked {
                None
            } else {
                expiry_warning(key.expires_at, now)
            },
            scopes: detail.scopes.summary(),
            networks: detail.networks.summary(),
            networks_wildcard: detail.networks.has_wildcard(),
            created_by: key.created_by.clone(),
            created: utc(key.created_at),
            valid_until: key.expires_at.map_or_else(|| "Never".to_owned(), utc),
            last_used: key
                .last_used_at
                .map_or_else(|| "Never".to_owned(), |at| relative(at, now)),
            last_used_exact: key.last_used_at.map(utc).unwrap_or_default(),
            enabled: key.enabled,
            revoked: status == KeyStatus::Revoked,
            sparkline: sparkline_points(daily_usage),
            usage_total: daily_usage.iter().sum(),
        }
    }
}

/// Points for a 70×20 polyline, oldest day first.
pub fn sparkline_points(values: &[i64]) -> String {
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = if values.len() > 1 {
        70.0 / (values.len() - 1) as f64
    } else {
        0.0
    };
    values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{:.1},{:.1}", i as f64 * step, 19.0 - (*v as f64 / max) * 18.0))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        let now = crate::store::now();
        assert_eq!(relative(now, now), "just now");
        assert_eq!(relative(now - TimeDelta::minutes(1), now), "1 minute ago");
        assert_eq!(relative(now - TimeDelta::days(3), now), "3 days ago");
    }

    #[test]
    fn sparklines_scale_to_their_maximum() {
        assert_eq!(sparkline_points(&[0, 10]), "0.0,19.0 70.0,1.0");
        assert_eq!(sparkline_points(&[0, 0]), "0.0,19.0 70.0,19.0");
    }
}
