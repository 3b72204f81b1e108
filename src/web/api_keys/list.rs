//! The keys list: search, status filter with counts, pagination. An
//! organization not set up for keys yet gets the setup screen instead.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::BASE;
use super::feedback::{FlashQuery, ReturnTo, flash_message};
use super::pagination::Pagination;
use super::setup::SetUpApiKeysPage;
use super::view::{KeyRow, rows_for};
use crate::auth::guard::CurrentUser;
use crate::domain::api_key::KeyStatus;
use crate::domain::filter::{ListQuery, PER_PAGE};
use crate::error::AppError;
use crate::service::keys;
use crate::store::{self, Db, api_keys};
use crate::web::htmx::HxRequest;
use crate::web::{Layout, render, see_other};

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
    /// This list as the rows' actions come back to it (`current_url`).
    pub back: ReturnTo,
    /// The message of the change that sent a browser here (no JavaScript).
    pub flash: Option<String>,
    /// A page past the last one: says so, instead of an empty list.
    pub past_end: Option<PastEnd>,
}

/// "Page 99 is past the end: there are 3 keys on 1 page."
pub struct PastEnd {
    pub page: i64,
    pub keys: i64,
    pub pages: i64,
    pub last_page_url: String,
}

impl PastEnd {
    fn of(page: i64, shown: usize, total: i64, url: impl Fn(i64) -> String) -> Option<Self> {
        let pages = (total + PER_PAGE - 1) / PER_PAGE;
        (shown == 0 && total > 0 && page > pages).then(|| Self {
            page,
            keys: total,
            pages,
            last_page_url: url(pages),
        })
    }
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
            let rows = rows_for(conn, &org_id, &details, now)?;
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
    let current_url = list_url(&query, page);
    Ok(ApiKeysPage {
        back: ReturnTo::parse(&current_url).unwrap_or_default(),
        flash: None,
        past_end: PastEnd::of(page, shown, total, |p| list_url(&query, p)),
        layout,
        q: query.q.clone().unwrap_or_default(),
        status_options,
        rows,
        pagination: Pagination::new(page, PER_PAGE, shown, total, |p| list_url(&query, p)),
        current_url,
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
    flash: web::Query<FlashQuery>,
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
    page.flash = flash_message(&db, &current, flash.into_inner(), None).await?;
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
