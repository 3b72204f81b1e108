//! The organization-wide Usage page, and the Audit log with its CSV export.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{NaiveDate, NaiveTime};

use super::BASE;
use super::chart::{RejectionLine, UsageChart, rejection_lines};
use super::csv_export::{csv_download, iso, keyset_csv};
use super::pagination::Pagination;
use super::view::utc;
use crate::auth::guard::CurrentUser;
use crate::domain::audit::AuditAction;
use crate::error::AppError;
use crate::service::usage_report::{self, UsageReport};
use crate::store::audit::{self, AuditEvent, AuditFilter};
use crate::store::{self, Db, api_keys, usage};
use crate::web::{Layout, render};

/// The periods the Usage page offers, in days.
const PERIODS: [i64; 3] = [7, 30, 90];
/// Keys listed under "Top keys".
const TOP_KEYS: usize = 20;
/// Audit events a page.
const EVENTS_PER_PAGE: i64 = 50;

#[derive(Debug, serde::Deserialize)]
pub struct UsageQuery {
    pub days: Option<String>,
}

pub struct PeriodOption {
    pub days: i64,
    pub selected: bool,
}

pub struct TopKey {
    pub href: Option<String>,
    pub name: String,
    pub allowed: i64,
    pub rejected: i64,
    pub total: i64,
}

#[derive(Template)]
#[template(path = "api_keys/usage.html")]
struct UsagePage {
    layout: Layout,
    days: i64,
    periods: Vec<PeriodOption>,
    chart: UsageChart,
    allowed_total: i64,
    rejected_total: i64,
    top_keys: Vec<TopKey>,
    rejections: Vec<RejectionLine>,
}

/// `GET /backoffice/settings/api-keys/usage?days=30`
pub async fn show_usage(
    db: web::Data<Db>,
    layout: Layout,
    current: CurrentUser,
    query: web::Query<UsageQuery>,
) -> Result<HttpResponse, AppError> {
    let days = match query.days.as_deref().map(str::trim) {
        None | Some("") => 30,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|days| PERIODS.contains(days))
            .ok_or_else(|| {
                AppError::Validation(format!("\"{text}\" is not a period here: choose 7, 30 or 90 days."))
            })?,
    };
    let org_id = current.org.id.clone();
    let (first_day, since) = usage_report::period_start(store::now(), days);
    let (report, names) = db
        .run(move |conn| {
            let report = UsageReport::from_buckets(first_day, days, usage::buckets_since(conn, &org_id, None, since)?);
            let top: Vec<String> = report
                .keys
                .iter()
                .take(TOP_KEYS)
                .map(|k| k.api_key_id.clone())
                .collect();
            let names = api_keys::names_of(conn, &org_id, &top)?;
            Ok::<_, AppError>((report, names))
        })
        .await?;
    let names: HashMap<String, (String, bool)> = names
        .into_iter()
        .map(|(id, name, deleted_at)| (id, (name, deleted_at.is_some())))
        .collect();
    let top_keys = report
        .keys
        .iter()
        .take(TOP_KEYS)
        .map(|key| {
            let (name, deleted) = names
                .get(&key.api_key_id)
                .cloned()
                .unwrap_or_else(|| ("(unknown key)".to_owned(), true));
            TopKey {
                // Deleted keys have no page any more.
                href: (!deleted).then(|| format!("{BASE}/{}", key.api_key_id)),
                name: if deleted { format!("{name} (deleted)") } else { name },
                allowed: key.allowed,
                rejected: key.rejected,
                total: key.total(),
            }
        })
        .collect();
    let page = UsagePage {
        layout,
        days,
        periods: PERIODS
            .iter()
            .map(|&d| PeriodOption {
                days: d,
                selected: d == days,
            })
            .collect(),
        chart: UsageChart::of(&report.days),
        allowed_total: report.allowed_total(),
        rejected_total: report.rejected_total(),
        top_keys,
        rejections: rejection_lines(&report.rejections),
    };
    render(StatusCode::OK, &page)
}

/// `?action=…&q=…&from=YYYY-MM-DD&to=YYYY-MM-DD&page=…`
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct AuditQuery {
    pub action: Option<String>,
    pub q: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub page: Option<i64>,
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The dates a filter accepts: four-digit years, as the page shows them.
/// (`%Y` also reads `+262142-12-31`, the last date chrono knows, whose next
/// day does not exist.)
const FIRST_DATE: NaiveDate = NaiveDate::from_ymd_opt(1, 1, 1).expect("a valid date");
const LAST_DATE: NaiveDate = NaiveDate::from_ymd_opt(9999, 12, 31).expect("a valid date");

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("\"{text}\" is not a date: enter it as YYYY-MM-DD, e.g. 2026-11-23."))?;
    if !(FIRST_DATE..=LAST_DATE).contains(&date) {
        return Err(format!(
            "\"{text}\" is out of range: enter a date from 0001-01-01 to 9999-12-31."
        ));
    }
    Ok(date)
}

impl AuditQuery {
    /// The filter, or the message for each field that is wrong.
    fn filter(&self) -> Result<AuditFilter, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let action = non_empty(&self.action).and_then(|text| {
            AuditAction::parse(text).or_else(|| {
                errors.push((
                    "action",
                    format!("\"{text}\" is not an action: choose one from the list."),
                ));
                None
            })
        });
        let mut date = |field: &'static str, value: &Option<String>| {
            non_empty(value).and_then(|text| parse_date(text).map_err(|e| errors.push((field, e))).ok())
        };
        let from = date("from", &self.from);
        let to = date("to", &self.to);
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            errors.push((
                "to",
                "This date is before “From”: choose a later one, or swap them.".to_owned(),
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(AuditFilter {
            action,
            text: non_empty(&self.q).map(|q| q.chars().take(200).collect()),
            since: from.map(|d| d.and_time(NaiveTime::MIN)),
            // "To" is inclusive: everything before the next day.
            // Checked although parse_date bounds the year: no date from a URL may panic.
            until: to.map(|d| d.succ_opt().unwrap_or(d).and_time(NaiveTime::MIN)),
        })
    }

    fn page(&self) -> i64 {
        // Bounded like the key list's: an absurd page is an empty one, not an overflow.
        self.page.unwrap_or(1).clamp(1, 1_000_000)
    }

    /// The audit log (or its export, `path`) with these filters, at `page`.
    fn url(&self, path: &str, page: i64) -> String {
        let mut params = Vec::new();
        for (name, value) in [
            ("action", &self.action),
            ("q", &self.q),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(value) = non_empty(value) {
                params.push(format!("{name}={}", crate::web::percent_encode(value)));
            }
        }
        if page > 1 {
            params.push(format!("page={page}"));
        }
        if params.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", params.join("&"))
        }
    }
}

pub struct ActionOption {
    pub value: &'static str,
    pub label: String,
    pub selected: bool,
}

pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub target_href: Option<String>,
    pub client_ip: String,
    pub details: String,
}

impl AuditRow {
    fn of(event: AuditEvent) -> Self {
        let target_href = match (event.target_kind.as_deref(), &event.target_id) {
            (Some("api_key"), Some(id)) => Some(format!("{BASE}/{id}")),
            _ => None,
        };
        Self {
            at: utc(event.created_at),
            actor: event.actor_label,
            action: event.action.replace('_', " "),
            target: event.target_label.unwrap_or_default(),
            target_href,
            client_ip: event.client_ip.unwrap_or_default(),
            details: if event.details == "{}" {
                String::new()
            } else {
                event.details
            },
        }
    }
}

#[derive(Template)]
#[template(path = "api_keys/audit.html")]
struct AuditLogPage {
    layout: Layout,
    actions: Vec<ActionOption>,
    q: String,
    from: String,
    to: String,
    errors: HashMap<&'static str, String>,
    rows: Vec<AuditRow>,
    pagination: Pagination,
    export_url: String,
    filtered: bool,
}

/// `GET /backoffice/settings/api-keys/audit`
pub async fn show_audit_log(
    db: web::Data<Db>,
    layout: Layout,
    current: CurrentUser,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let path = format!("{BASE}/audit");
    let page = query.page();
    let selected = non_empty(&query.action);
    let actions = AuditAction::ALL
        .into_iter()
        .map(|action| ActionOption {
            value: action.as_str(),
            label: action.label(),
            selected: selected == Some(action.as_str()),
        })
        .collect();
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let mut page_view = AuditLogPage {
        layout,
        actions,
        q: text(&query.q),
        from: text(&query.from),
        to: text(&query.to),
        errors: HashMap::new(),
        rows: Vec::new(),
        pagination: Pagination::new(1, EVENTS_PER_PAGE, 0, 0, |_| String::new()),
        export_url: query.url(&format!("{BASE}/audit.csv"), 1),
        filtered: [&query.action, &query.q, &query.from, &query.to]
            .iter()
            .any(|v| non_empty(v).is_some()),
    };
    let filter = match query.filter() {
        Ok(filter) => filter,
        Err(errors) => {
            page_view.errors = errors.into_iter().collect();
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page_view);
        }
    };
    let org_id = current.org.id.clone();
    let (events, total) = db
        .run(move |conn| {
            let events = audit::search(conn, &org_id, &filter, (page - 1) * EVENTS_PER_PAGE, EVENTS_PER_PAGE)?;
            let total = audit::count(conn, &org_id, &filter)?;
            Ok::<_, AppError>((events, total))
        })
        .await?;
    page_view.pagination = Pagination::new(page, EVENTS_PER_PAGE, events.len(), total, |p| query.url(&path, p));
    page_view.rows = events.into_iter().map(AuditRow::of).collect();
    render(StatusCode::OK, &page_view)
}

/// `GET /backoffice/settings/api-keys/audit.csv`: the log as filtered.
pub async fn export_audit_log(
    db: web::Data<Db>,
    current: CurrentUser,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let filter = query.filter().map_err(|errors| {
        AppError::Validation(
            errors
                .into_iter()
                .map(|(field, message)| format!("{field}: {message}"))
                .collect::<Vec<_>>()
                .join(" "),
        )
    })?;
    let org_id = current.org.id.clone();
    let body = db
        .run(move |conn| {
            let header = [
                "time",
                "actor_kind",
                "actor",
                "action",
                "target_kind",
                "target_id",
                "target",
                "client_ip",
                "details",
            ];
            keyset_csv(header, |after, limit| {
                let events = audit::search_after(conn, &org_id, &filter, after, limit)?;
                let last = events.last().map(|e| (e.created_at, e.id.clone()));
                let records = events
                    .into_iter()
                    .map(|event| {
                        [
                            iso(Some(event.created_at)),
                            event.actor_kind,
                            event.actor_label,
                            event.action,
                            event.target_kind.unwrap_or_default(),
                            event.target_id.unwrap_or_default(),
                            event.target_label.unwrap_or_default(),
                            event.client_ip.unwrap_or_default(),
                            event.details,
                        ]
                    })
                    .collect();
                Ok((records, last))
            })
        })
        .await?;
    Ok(csv_download("audit-log", body))
}
