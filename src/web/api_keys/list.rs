//! The keys list: search, status filter with counts, order, the capability
//! filter ("Can", "Resource"), pagination, and the banner naming the keys
//! that expire within a week. An organization not set up for keys yet gets
//! the setup screen instead.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::BASE;
use super::feedback::{FlashQuery, ReturnTo, flash_message};
use super::pagination::Pagination;
use super::setup::SetUpApiKeysPage;
use super::view::{KeyRow, rows_for};
use crate::auth::guard::CurrentUser;
use crate::domain::api_key::{KeyStatus, time_left};
use crate::domain::filter::{EXPIRING_SOON, EXPIRY_BANNER, FilterError, KeySort, ListQuery, PER_PAGE, StatusFilter};
use crate::domain::scope::Action;
use crate::error::AppError;
use crate::service::key_list::{self, StatusCounts};
use crate::service::keys;
use crate::store::{self, Db, api_keys};
use crate::web::htmx::HxRequest;
use crate::web::{Layout, render, see_other};

/// The list's URL for `query` at `page`: the one place it is built, so
/// pagination, the export link, the htmx refresh and the forms that come
/// back to the list all keep every filter.
pub fn list_url(query: &ListQuery, page: i64) -> String {
    let text = |name: &str, value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|value| format!("{name}={}", crate::web::percent_encode(value)))
    };
    let mut params: Vec<String> = [
        text("q", &query.q),
        text("can", &query.can),
        text("resource", &query.resource),
    ]
    .into_iter()
    .flatten()
    .collect();
    params.push(format!("status={}", query.status_value()));
    match query.sort() {
        Ok(KeySort::CreatedDesc) => {}
        Ok(sort) => params.push(format!("sort={}", sort.as_str())),
        // An order no select offers stays in the address it came with,
        // refused again by whoever follows it.
        Err(_) => params.extend(text("sort", &query.sort)),
    }
    if page > 1 {
        params.push(format!("page={page}"));
    }
    format!("{BASE}?{}", params.join("&"))
}

/// One choice of a select: its value, its text, whether it is chosen.
pub struct Choice {
    pub value: &'static str,
    pub label: String,
    pub selected: bool,
}

/// "2 keys expire within 7 days: Crew roster (in 20 hours), Flight sync
/// (in 3 days)", soonest first, with the link that lists them.
pub struct ExpiryBanner {
    pub sentence: String,
    pub url: String,
}

/// Names the banner lists before "and N more".
const BANNER_NAMES: i64 = 5;

#[derive(Template)]
#[template(path = "api_keys/list.html", blocks = ["table"])]
pub struct ApiKeysPage {
    pub layout: Layout,
    pub q: String,
    pub status_options: Vec<Choice>,
    pub sort_options: Vec<Choice>,
    pub can_options: Vec<Choice>,
    pub resource: String,
    /// Messages beside the "Can" and "Resource" fields.
    pub errors: HashMap<&'static str, String>,
    pub banner: Option<ExpiryBanner>,
    pub rows: Vec<KeyRow>,
    pub pagination: Pagination,
    pub current_url: String,
    pub export_url: String,
    pub empty_message: String,
    /// Fragment answers carry the status filter, the banner and the
    /// fields' messages out of band, fresh.
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

impl ApiKeysPage {
    fn error(&self, field: &str) -> &str {
        self.errors.get(field).map_or("", String::as_str)
    }
}

fn status_options(counts: &StatusCounts, chosen: Option<StatusFilter>) -> Vec<Choice> {
    let choice = |filter: StatusFilter, label: &str| Choice {
        value: filter.as_str(),
        label: format!("{label} ({})", counts.of(filter)),
        selected: chosen == Some(filter),
    };
    let mut options = vec![choice(StatusFilter::Only(KeyStatus::Active), KeyStatus::Active.label())];
    options.push(choice(StatusFilter::ExpiringSoon, "Expiring soon"));
    for status in [KeyStatus::Disabled, KeyStatus::Expired, KeyStatus::Revoked] {
        options.push(choice(StatusFilter::Only(status), status.label()));
    }
    options.push(choice(StatusFilter::All, "All"));
    options
}

fn sort_options(chosen: Option<KeySort>) -> Vec<Choice> {
    KeySort::ALL
        .into_iter()
        .map(|sort| Choice {
            value: sort.as_str(),
            label: sort.label().to_owned(),
            selected: chosen == Some(sort),
        })
        .collect()
}

fn can_options(raw: Option<&str>) -> Vec<Choice> {
    let chosen = raw.map(str::trim).unwrap_or_default();
    let mut options = vec![Choice {
        value: "",
        label: "Anything".to_owned(),
        selected: chosen.is_empty(),
    }];
    options.extend(Action::ALL.into_iter().map(|action| Choice {
        value: action.as_str(),
        label: match action {
            // Not "Any action": beside "Anything" it would read as the same.
            Action::Any => "Every action (*)".to_owned(),
            other => other.label().to_owned(),
        },
        selected: chosen == action.as_str(),
    }));
    options
}

fn banner_for(
    count: i64,
    first: &[(String, chrono::NaiveDateTime)],
    now: chrono::NaiveDateTime,
) -> Option<ExpiryBanner> {
    if count == 0 {
        return None;
    }
    let mut names: Vec<String> = first
        .iter()
        .map(|(name, at)| match time_left(*at, now) {
            Some(left) => format!("{name} ({left})"),
            None => name.clone(),
        })
        .collect();
    let more = count - first.len() as i64;
    if more > 0 {
        names.push(format!("and {more} more"));
    }
    let (keys, verb) = if count == 1 {
        ("key", "expires")
    } else {
        ("keys", "expire")
    };
    let query = ListQuery {
        status: Some(StatusFilter::ExpiringSoon.as_str().to_owned()),
        sort: Some(KeySort::ValidUntilAsc.as_str().to_owned()),
        ..ListQuery::default()
    };
    Some(ExpiryBanner {
        sentence: format!(
            "{count} {keys} {verb} within {} days: {}",
            EXPIRY_BANNER.num_days(),
            names.join(", ")
        ),
        url: list_url(&query, 1),
    })
}

/// Builds the list page for `query`: 200, or 422 when "Can" or "Resource"
/// is not valid (the page then says so beside the field, and lists no key).
pub async fn list_page(
    db: &Db,
    layout: Layout,
    current: &CurrentUser,
    query: ListQuery,
) -> Result<(StatusCode, ApiKeysPage), AppError> {
    let (filter, errors) = match query.filter() {
        Ok(filter) => (Some(filter), HashMap::new()),
        Err(FilterError::Request(error)) => return Err(error.into()),
        Err(FilterError::Fields(errors)) => (None, errors.into_iter().collect()),
    };
    let page = query.page.unwrap_or(1).clamp(1, 1_000_000);
    let org_id = current.org.id.clone();
    let search = query.selection()?.query;
    let list_filter = filter.clone();
    let (rows, total, counts, banner) = db
        .run(move |conn| {
            let now = store::now();
            let (soon, first) = api_keys::expiring_by(conn, &org_id, now, now + EXPIRY_BANNER, BANNER_NAMES)?;
            let banner = banner_for(soon, &first, now);
            let Some(filter) = list_filter else {
                // Refused fields: no rows, and the counts of the search alone.
                let counts = key_list::counts(conn, &org_id, search.as_deref(), now)?;
                return Ok::<_, AppError>((Vec::new(), 0, counts, banner));
            };
            let listed = key_list::page(conn, &org_id, &filter, now, page, PER_PAGE)?;
            let details = keys::details(conn, listed.keys)?;
            let rows = rows_for(conn, &org_id, &details, now)?;
            Ok((rows, listed.total, listed.counts, banner))
        })
        .await?;
    let all = counts.of(StatusFilter::All);
    let empty_message = match &filter {
        None => "No keys are listed until “Can” and “Resource” are corrected (see above).".to_owned(),
        Some(filter) => {
            let selection = &filter.selection;
            match (&selection.query, &filter.capability, selection.status) {
                (Some(q), None, _) => format!("No keys match \"{q}\" here. Clear the search or choose another status."),
                (Some(q), Some(capability), _) => format!(
                    "No keys match \"{q}\" and {} here. Clear the search, “Can” and “Resource”, or choose another status.",
                    capability.describe()
                ),
                (None, Some(capability), _) => format!(
                    "No keys {} here. Clear “Can” and “Resource”, or choose another status.",
                    capability.describe()
                ),
                (None, None, StatusFilter::Only(KeyStatus::Active)) if all == 0 => {
                    "No API keys yet. Use “Create API Key” to issue the first one; its secret is shown once.".to_owned()
                }
                (None, None, StatusFilter::Only(status)) => {
                    format!("No {} keys. Choose another status to see the others.", status.as_str())
                }
                (None, None, StatusFilter::ExpiringSoon) => {
                    format!("No active key expires within {} days.", EXPIRING_SOON.num_days())
                }
                (None, None, StatusFilter::All) => {
                    "No API keys yet. Use “Create API Key” to issue the first one.".to_owned()
                }
            }
        }
    };
    let sort = filter.as_ref().map(|f| f.selection.sort);
    let shown = rows.len();
    let pagination = Pagination::new(page, PER_PAGE, shown, total, |p| list_url(&query, p))
        .in_order(sort.unwrap_or_default().phrase());
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let current_url = list_url(&query, page);
    Ok((
        status,
        ApiKeysPage {
            back: ReturnTo::parse(&current_url).unwrap_or_default(),
            flash: None,
            past_end: PastEnd::of(page, shown, total, |p| list_url(&query, p)),
            layout,
            q: query.q.clone().unwrap_or_default(),
            status_options: status_options(&counts, query.status().ok()),
            sort_options: sort_options(query.sort().ok()),
            can_options: can_options(query.can.as_deref()),
            resource: query.resource.clone().unwrap_or_default(),
            errors,
            banner,
            rows,
            pagination,
            current_url,
            export_url: list_url(&query, 1).replacen(BASE, &format!("{BASE}/export.csv"), 1),
            empty_message,
            refresh_counts: false,
        },
    ))
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
    let (status, mut page) = list_page(&db, layout, &current, query).await?;
    page.flash = flash_message(&db, &current, flash.into_inner(), None).await?;
    if hx.wants_fragment() {
        page.refresh_counts = true;
        let mut response = render(status, &page.as_table())?;
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
        render(status, &page)
    }
}
