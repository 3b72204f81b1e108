//! The keys list (search, status filter, pagination), the setup screen, and
//! the key detail page.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{NaiveDateTime, TimeDelta};

use super::BASE;
use super::view::{KeyRow, UsageChart, utc};
use crate::auth::client_ip::{self, TrustedProxies};
use crate::auth::guard::CurrentUser;
use crate::domain::api_key::KeyStatus;
use crate::domain::filter::{ListQuery, PER_PAGE};
use crate::error::AppError;
use crate::service::keys::{self, KeyDetail, KeyService};
use crate::service::usage_report::{self, UsageReport};
use crate::store::api_keys;
use crate::store::{self, Db, DbConnection, audit, usage};
use crate::web::htmx::HxRequest;
use crate::web::{Layout, render, see_other};

#[derive(Template)]
#[template(path = "api_keys/setup.html")]
struct SetUpApiKeysPage {
    layout: Layout,
    org_name: String,
}

/// The list's URL for `query` with another page (or status).
fn list_url(query: &ListQuery, page: i64) -> String {
    let mut params = vec![];
    if let Some(q) = query.q.as_deref().filter(|q| !q.trim().is_empty()) {
        params.push(format!("q={}", crate::web::percent_encode(q)));
    }
    params.push(format!("status={}", query.status_value()));
    if page > 1 {
        params.push(format!("page={page}"));
    }
    format!("{BASE}?{}", params.join("&"))
}

pub struct StatusOption {
    pub value: &'static str,
    pub label: &'static str,
    pub count: i64,
    pub selected: bool,
}

pub struct Pagination {
    pub first: i64,
    pub last: i64,
    pub total: i64,
    pub previous: Option<String>,
    pub next: Option<String>,
}

impl Pagination {
    /// Page `page` (from 1) of `total` items, `per_page` a page, of which
    /// this page shows `shown`; `url` gives another page's address.
    pub fn new(page: i64, per_page: i64, shown: usize, total: i64, url: impl Fn(i64) -> String) -> Self {
        // A page past the end shows nothing: 0, so no "Showing" line.
        let first = if shown == 0 { 0 } else { (page - 1) * per_page + 1 };
        Self {
            first,
            last: ((page - 1) * per_page + shown as i64).max(first),
            total,
            previous: (page > 1).then(|| url(page - 1)),
            next: (page * per_page < total).then(|| url(page + 1)),
        }
    }
}

#[derive(Template)]
#[template(path = "api_keys/list.html", blocks = ["table"])]
pub struct ApiKeysPage {
    pub layout: Layout,
    pub q: String,
    pub status_options: Vec<StatusOption>,
    pub rows: Vec<KeyRow>,
    pub pagination: Pagination,
    pub current_url: String,
    pub export_url: String,
    pub empty_message: String,
    /// Fragment answers carry the status filter out of band, with fresh counts.
    pub refresh_counts: bool,
}

#[derive(Template)]
#[template(path = "api_keys/row_partial.html")]
pub struct KeyRowPartial {
    pub layout: Layout,
    pub row: KeyRow,
}

/// Daily request totals (allowed + rejected) for the last `days` days, oldest first.
pub fn daily_usage(
    conn: &mut DbConnection,
    ids: &[String],
    now: NaiveDateTime,
    days: i64,
) -> Result<HashMap<String, Vec<i64>>, AppError> {
    let today = now.date();
    let since = (today - TimeDelta::days(days - 1)).and_hms_opt(0, 0, 0).unwrap_or(now);
    let mut by_key: HashMap<String, Vec<i64>> = ids.iter().map(|id| (id.clone(), vec![0; days as usize])).collect();
    for (id, hour, _, count) in usage::buckets_since(conn, ids, since)? {
        let day = (hour.date() - since.date()).num_days();
        if let (Some(series), Ok(day)) = (by_key.get_mut(&id), usize::try_from(day))
            && let Some(slot) = series.get_mut(day)
        {
            *slot += count;
        }
    }
    Ok(by_key)
}

/// Rows for these keys, with their 7-day usage.
pub fn rows_for(conn: &mut DbConnection, details: &[KeyDetail], now: NaiveDateTime) -> Result<Vec<KeyRow>, AppError> {
    let ids: Vec<String> = details.iter().map(|d| d.key.id.clone()).collect();
    let usage = daily_usage(conn, &ids, now, 7)?;
    Ok(details
        .iter()
        .map(|d| KeyRow::new(d, now, usage.get(&d.key.id).map_or(&[][..], Vec::as_slice)))
        .collect())
}

/// Builds the list page for `query`.
pub async fn list_page(
    db: &Db,
    layout: Layout,
    current: &CurrentUser,
    query: ListQuery,
) -> Result<ApiKeysPage, AppError> {
    let filter = query.filter()?;
    let page = query.page.unwrap_or(1).clamp(1, 1_000_000);
    let org_id = current.org.id.clone();
    let list_filter = filter.clone();
    let (rows, counts) = db
        .run(move |conn| {
            let now = store::now();
            let keys = api_keys::list(conn, &org_id, &list_filter, now, page, PER_PAGE)?;
            let details = keys::details(conn, keys)?;
            let rows = rows_for(conn, &details, now)?;
            let counts = api_keys::count_by_status(conn, &org_id, list_filter.query.as_deref(), now)?;
            Ok::<_, AppError>((rows, counts))
        })
        .await?;
    let all: i64 = counts.iter().map(|(_, n)| n).sum();
    // Every key has exactly one status, so the counts give the total too.
    let total = match filter.status {
        Some(status) => counts.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n),
        None => all,
    };
    let mut status_options: Vec<StatusOption> = counts
        .iter()
        .map(|(status, count)| StatusOption {
            value: status.as_str(),
            label: status.label(),
            count: *count,
            selected: filter.status == Some(*status),
        })
        .collect();
    status_options.push(StatusOption {
        value: "all",
        label: "All",
        count: all,
        selected: filter.status.is_none(),
    });
    let shown = rows.len();
    let empty_message = match (&filter.query, filter.status) {
        (Some(q), _) => format!("No keys match \"{q}\" here. Clear the search or choose another status."),
        (None, Some(KeyStatus::Active)) if all == 0 => {
            "No API keys yet. Use “Create API Key” to issue the first one; its secret is shown once.".to_owned()
        }
        (None, Some(status)) => format!("No {} keys. Choose another status to see the others.", status.as_str()),
        (None, None) => "No API keys yet. Use “Create API Key” to issue the first one.".to_owned(),
    };
    Ok(ApiKeysPage {
        layout,
        q: query.q.clone().unwrap_or_default(),
        status_options,
        rows,
        pagination: Pagination::new(page, PER_PAGE, shown, total, |p| list_url(&query, p)),
        current_url: list_url(&query, page),
        export_url: list_url(&query, 1).replacen(BASE, &format!("{BASE}/export.csv"), 1),
        empty_message,
        refresh_counts: false,
    })
}

/// `GET /backoffice/settings/api-keys`
pub async fn list_api_keys(
    db: web::Data<Db>,
    layout: Layout,
    current: CurrentUser,
    hx: HxRequest,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    if current.org.key_salt.is_none() {
        let page = SetUpApiKeysPage {
            layout,
            org_name: current.org.name,
        };
        return render(StatusCode::OK, &page);
    }
    let (query, had_secret) = query.into_inner().without_secret();
    if had_secret && !hx.wants_fragment() {
        // Without JavaScript the search form's GET carried the key: the
        // browser keeps only the address it is sent on to, with the key id.
        return Ok(see_other(&list_url(
            &query,
            query.page.unwrap_or(1).clamp(1, 1_000_000),
        )));
    }
    let mut page = list_page(&db, layout, &current, query).await?;
    if hx.wants_fragment() {
        page.refresh_counts = true;
        let mut response = render(StatusCode::OK, &page.as_table())?;
        if had_secret {
            // app.js replaces a key before it is sent; should one arrive all
            // the same, history gets the key id, not the address asked for.
            if let Ok(url) = actix_web::http::header::HeaderValue::from_str(&page.current_url) {
                response
                    .headers_mut()
                    .insert(actix_web::http::header::HeaderName::from_static("hx-push-url"), url);
            }
        }
        Ok(response)
    } else {
        render(StatusCode::OK, &page)
    }
}

/// `POST /backoffice/settings/api-keys/setup`: provisions the organization's
/// key-signing salt once; a second attempt changes nothing.
pub async fn set_up_api_keys(
    req: HttpRequest,
    trusted_proxies: web::Data<TrustedProxies>,
    key_service: web::Data<KeyService>,
    current: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip::of_request(&req, &trusted_proxies);
    let actor = current.actor();
    let org = current.org.clone();
    key_service
        .change(move |conn| keys::bootstrap(conn, &org, &actor, Some(ip)))
        .await?;
    // Done now or already: either way the list is what comes next.
    Ok(see_other(BASE))
}

pub struct SecretLine {
    pub key_id: String,
    pub created: String,
    pub not_after: String,
    pub state: &'static str,
}

pub struct AuditLine {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub details: String,
    pub client_ip: String,
}

#[derive(Template)]
#[template(path = "api_keys/detail.html")]
struct KeyDetailPage {
    layout: Layout,
    row: KeyRow,
    allow_query_key: bool,
    scopes: Vec<String>,
    networks: Vec<String>,
    secrets: Vec<SecretLine>,
    history: Vec<AuditLine>,
    chart: UsageChart,
    rejections: Vec<(String, i64)>,
}

/// `GET /backoffice/settings/api-keys/{id}`
pub async fn show_api_key(
    db: web::Data<Db>,
    layout: Layout,
    current: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let org_id = current.org.id.clone();
    let id = id.into_inner();
    let (detail, row, history, buckets, now) = db
        .run(move |conn| {
            let now = store::now();
            let detail = keys::detail(conn, &org_id, &id)?;
            let row = rows_for(conn, std::slice::from_ref(&detail), now)?.remove(0);
            let history = audit::list_for_target(conn, &org_id, &id, 200)?;
            let (_, since) = usage_report::period_start(now, 30);
            let buckets = usage::buckets_since(conn, std::slice::from_ref(&id), since)?;
            Ok::<_, AppError>((detail, row, history, buckets, now))
        })
        .await?;

    let (first_day, _) = usage_report::period_start(now, 30);
    let report = UsageReport::from_buckets(first_day, 30, buckets);

    let page = KeyDetailPage {
        layout,
        allow_query_key: detail.key.allow_query_key,
        scopes: detail.scopes.iter().map(ToString::to_string).collect(),
        networks: detail.networks.iter().map(ToString::to_string).collect(),
        secrets: detail
            .secrets
            .iter()
            .map(|s| SecretLine {
                key_id: crate::domain::token::shown_key_id(&s.key_id),
                created: utc(s.created_at),
                // A revoked key's secrets stopped working when it was revoked.
                not_after: match (s.not_after, detail.key.revoked_at) {
                    (Some(at), Some(revoked)) => utc(at.min(revoked)),
                    (None, Some(revoked)) => utc(revoked),
                    (at, None) => at.map_or_else(|| "—".to_owned(), utc),
                },
                state: match (s.digest.is_some(), s.not_after) {
                    (false, _) => "Erased",
                    // Revoking ends every secret of the key, retiring ones too.
                    (true, _) if detail.key.revoked_at.is_some() => "Revoked",
                    (true, Some(at)) if at <= now => "Retired",
                    (true, Some(_)) => "Retiring",
                    (true, None) => "Current",
                },
            })
            .collect(),
        history: history
            .into_iter()
            .map(|e| AuditLine {
                at: utc(e.created_at),
                actor: e.actor_label,
                action: e.action.replace('_', " "),
                details: e.details,
                client_ip: e.client_ip.unwrap_or_default(),
            })
            .collect(),
        chart: UsageChart::of(&report.days),
        rejections: report.rejections,
        row,
    };
    render(StatusCode::OK, &page)
}
