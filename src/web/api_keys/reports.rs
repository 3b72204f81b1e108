//! The organization-wide Usage page, and the Audit log with its CSV export.

use std::collections::{HashMap, HashSet};

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::BASE;
use super::chart::{RejectionLine, UsageChart, rejection_lines};
use super::csv_export::{csv_download, iso, keyset_csv};
use super::pagination::Pagination;
use super::view::utc;
use crate::auth::guard::CurrentUser;
use crate::domain::audit::{ActionGroup, AuditAction, AuditFilter, AuditQuery};
use crate::domain::audit_change::ChangeWords;
use crate::domain::token::cut_secret_from_search;
use crate::error::AppError;
use crate::service::usage_report::{self, UsageReport};
use crate::store::audit::{self, AuditEvent};
use crate::store::{self, Db, api_keys, usage};
use crate::web::forms::HtmlQuery;
use crate::web::{Layout, render, see_other};

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
            let known = names.get(&key.api_key_id).cloned();
            let (name, deleted) = known.clone().unwrap_or_else(|| ("(unknown key)".to_owned(), true));
            TopKey {
                // Deleted keys keep their page, read-only.
                href: known.map(|_| format!("{BASE}/{}", key.api_key_id)),
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

/// The audit log (or its export, `path`) with the filters of `query` but
/// the actions `actions`, at `page`: pagination, the export and the presets
/// keep every filter.
fn audit_url<'a>(path: &str, query: &'a AuditQuery, actions: impl IntoIterator<Item = &'a str>, page: i64) -> String {
    let mut params: Vec<String> = actions
        .into_iter()
        .map(|action| format!("action={}", crate::web::percent_encode(action)))
        .collect();
    for (name, value) in [("q", &query.q), ("from", &query.from), ("to", &query.to)] {
        if let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
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

/// One tickable action of the Action filter.
pub struct ActionOption {
    pub value: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

/// The Action filter's actions of one group.
pub struct ActionGroupOptions {
    pub label: &'static str,
    pub options: Vec<ActionOption>,
}

/// A link that sets the Action filter to a group of actions (or to none:
/// every action), keeping the other filters.
pub struct Preset {
    pub label: &'static str,
    pub href: String,
    /// The filter shows exactly these actions now.
    pub current: bool,
}

/// One audit event as the Audit log and a key's History show it: the
/// action by its label, the change in words, the raw details beside them.
pub struct AuditEntry {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    /// A key's page (deleted keys keep theirs).
    pub target_href: Option<String>,
    pub client_ip: String,
    pub change: Vec<String>,
    /// The details as recorded, indented; empty when there are none.
    pub raw: String,
}

/// An event's details as JSON (`Null` if the stored text is not JSON).
fn details_of(event: &AuditEvent) -> serde_json::Value {
    serde_json::from_str(&event.details).unwrap_or(serde_json::Value::Null)
}

/// What `event` changed, in words: the one reading every page and export uses.
fn change_of(event: &AuditEvent) -> ChangeWords {
    ChangeWords::of(AuditAction::parse(&event.action), &details_of(event))
}

/// The label of a stored action; one the table does not know yet, spaced.
fn action_label(stored: &str) -> String {
    AuditAction::parse(stored).map_or_else(|| stored.replace('_', " "), |action| action.label().to_owned())
}

impl AuditEntry {
    pub fn of(event: AuditEvent) -> Self {
        let target_href = match (event.target_kind.as_deref(), &event.target_id) {
            (Some("api_key"), Some(id)) => Some(format!("{BASE}/{id}")),
            _ => None,
        };
        let details = details_of(&event);
        let raw = match &details {
            serde_json::Value::Object(fields) if fields.is_empty() => String::new(),
            serde_json::Value::Null => event.details.clone(),
            value => serde_json::to_string_pretty(value).unwrap_or_else(|_| event.details.clone()),
        };
        Self {
            at: utc(event.created_at),
            action: action_label(&event.action),
            change: change_of(&event).lines().to_vec(),
            raw,
            actor: event.actor_label,
            target: event.target_label.unwrap_or_default(),
            target_href,
            client_ip: event.client_ip.unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "api_keys/audit.html")]
struct AuditLogPage {
    layout: Layout,
    action_groups: Vec<ActionGroupOptions>,
    presets: Vec<Preset>,
    q: String,
    from: String,
    to: String,
    errors: HashMap<&'static str, String>,
    rows: Vec<AuditEntry>,
    pagination: Pagination,
    export_url: String,
    filtered: bool,
}

/// `GET /backoffice/settings/api-keys/audit`
pub async fn show_audit_log(
    db: web::Data<Db>,
    layout: Layout,
    current: CurrentUser,
    HtmlQuery(mut query): HtmlQuery<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let path = format!("{BASE}/audit");
    let page = query.page();
    if cut_secret_from_search(&mut query.q) {
        // A key pasted into Search (app.js cuts it first): the browser keeps
        // only the address it is sent on to, with the key id.
        return Ok(see_other(&audit_url(&path, &query, query.action_values(), page)));
    }
    let chosen: Vec<&str> = query.action_values().collect();
    let action_groups = ActionGroup::ALL
        .into_iter()
        .map(|group| ActionGroupOptions {
            label: group.label(),
            options: group
                .actions()
                .map(|action| ActionOption {
                    value: action.as_str(),
                    label: action.label(),
                    checked: chosen.contains(&action.as_str()),
                })
                .collect(),
        })
        .collect();
    let chosen_set: HashSet<&str> = chosen.iter().copied().collect();
    let presets = std::iter::once(("All actions", Vec::new()))
        .chain(
            ActionGroup::ALL
                .into_iter()
                .map(|group| (group.label(), group.actions().map(AuditAction::as_str).collect())),
        )
        .map(|(label, actions): (&'static str, Vec<&'static str>)| Preset {
            label,
            current: actions.iter().copied().collect::<HashSet<_>>() == chosen_set,
            href: audit_url(&path, &query, actions, 1),
        })
        .collect();
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let mut page_view = AuditLogPage {
        layout,
        action_groups,
        presets,
        q: text(&query.q),
        from: text(&query.from),
        to: text(&query.to),
        errors: HashMap::new(),
        rows: Vec::new(),
        pagination: Pagination::new(1, EVENTS_PER_PAGE, 0, 0, |_| String::new()),
        export_url: audit_url(&format!("{BASE}/audit.csv"), &query, chosen.iter().copied(), 1),
        filtered: query.is_filtered(),
    };
    let filter: AuditFilter = match query.filter() {
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
    page_view.pagination = Pagination::new(page, EVENTS_PER_PAGE, events.len(), total, |p| {
        audit_url(&path, &query, query.action_values(), p)
    });
    page_view.rows = events.into_iter().map(AuditEntry::of).collect();
    render(StatusCode::OK, &page_view)
}

/// `GET /backoffice/settings/api-keys/audit.csv`: the log as filtered.
pub async fn export_audit_log(
    db: web::Data<Db>,
    current: CurrentUser,
    HtmlQuery(mut query): HtmlQuery<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    if cut_secret_from_search(&mut query.q) {
        let path = format!("{BASE}/audit.csv");
        return Ok(see_other(&audit_url(&path, &query, query.action_values(), 1)));
    }
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
                "change",
            ];
            keyset_csv(header, |after, limit| {
                let events = audit::search_after(conn, &org_id, &filter, after, limit)?;
                let last = events.last().map(|e| (e.created_at, e.id.clone()));
                let records = events
                    .into_iter()
                    .map(|event| {
                        let change = change_of(&event).to_string();
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
                            change,
                        ]
                    })
                    .collect();
                Ok((records, last))
            })
        })
        .await?;
    Ok(csv_download("audit-log", body))
}
