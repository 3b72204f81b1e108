//! One key's page: its actions, settings, secrets, 30 days of usage and
//! history. An action started here comes back here (after a Delete, to the
//! list), and htmx refreshes the page in place. A deleted key keeps its
//! page, read-only and marked deleted.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;

use super::BASE;
use super::chart::{RejectionLine, UsageChart, rejection_lines};
use super::feedback::{FlashQuery, ReturnTo, flash_message};
use super::reports::AuditEntry;
use super::view::{KeyRow, rows_for, utc};
use crate::auth::guard::CurrentUser;
use crate::domain::audit::AuditAction;
use crate::domain::token::{PREFIX, shown_key_id};
use crate::error::AppError;
use crate::service::keys;
use crate::service::usage_report::{self, UsageReport};
use crate::store::audit::AuditEvent;
use crate::store::{self, Db, audit, usage};
use crate::web::{Layout, percent_encode, render};

pub struct SecretLine {
    pub key_id: String,
    pub created: String,
    pub not_after: String,
    pub state: &'static str,
}

/// When a deleted key was deleted, and by whom (from its history).

#[derive(Template)]
#[template(path = "api_keys/detail.html")]
struct KeyDetailPage {
    layout: Layout,
    row: KeyRow,
    allow_query_key: bool,
    scopes: Vec<String>,
    networks: Vec<String>,
    secrets: Vec<SecretLine>,
    history: Vec<AuditEntry>,
    /// Set for a deleted key: the page is then read-only.
    deleted: Option<Ending>,
    /// The Audit log searched for this key's id.
    audit_href: String,
    chart: UsageChart,
    rejections: Vec<RejectionLine>,
    /// The key's actions come back to this page.
    back: ReturnTo,
    /// The whole public key id, to read or copy (`ask_` and 12 characters).
    key_id: String,
    last_used_ip: Option<String>,
    revoked: Option<Ending>,
    /// The message of the change that sent a browser here (no JavaScript).
    flash: Option<String>,
}

/// "Revoked at 2026-11-23 14:05 UTC by sam@acme.test": when a key was
/// revoked or deleted, and by whom, from its audit history.
pub struct Ending {
    pub at: String,
    /// `None` if the history has no such event.
    pub by: Option<String>,
}

impl Ending {
    fn of(at: Option<NaiveDateTime>, action: AuditAction, history: &[AuditEvent]) -> Option<Self> {
        let action = action.as_str();
        Some(Self {
            at: utc(at?),
            by: history
                .iter()
                .find(|event| event.action == action)
                .map(|event| event.actor_label.clone()),
        })
    }
}

/// `GET /backoffice/settings/api-keys/{id}`
pub async fn show_api_key(
    db: web::Data<Db>,
    layout: Layout,
    current: CurrentUser,
    id: web::Path<String>,
    flash: web::Query<FlashQuery>,
) -> Result<HttpResponse, AppError> {
    let org_id = current.org.id.clone();
    let id = id.into_inner();
    let flash = flash_message(&db, &current, flash.into_inner(), Some(&id)).await?;
    let (detail, row, history, buckets, now) = db
        .run(move |conn| {
            let now = store::now();
            // A deleted key keeps its page, read-only, for auditors.
            let detail = keys::detail_including_deleted(conn, &org_id, &id)?;
            let row = rows_for(conn, &org_id, std::slice::from_ref(&detail), now)?.remove(0);
            let history = audit::list_for_target(conn, &org_id, &id, 200)?;
            let (_, since) = usage_report::period_start(now, 30);
            let buckets = usage::buckets_since(conn, &org_id, Some(std::slice::from_ref(&id)), since)?;
            Ok::<_, AppError>((detail, row, history, buckets, now))
        })
        .await?;

    let (first_day, _) = usage_report::period_start(now, 30);
    let report = UsageReport::from_buckets(first_day, 30, buckets);

    let deleted = Ending::of(detail.key.deleted_at, AuditAction::ApiKeyDeleted, &history);
    let revoked = Ending::of(detail.key.revoked_at, AuditAction::ApiKeyRevoked, &history);
    let audit_href = match detail.secrets.first() {
        Some(secret) => format!(
            "{BASE}/audit?q={}",
            percent_encode(&format!("{PREFIX}{}", secret.key_id))
        ),
        None => format!("{BASE}/audit"),
    };
    // A revoked or deleted key's secrets stopped working when it was.
    let ended = match (detail.key.revoked_at, detail.key.deleted_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };

    let page = KeyDetailPage {
        back: ReturnTo::key_page(&detail.key.id),
        key_id: detail
            .secrets
            .first()
            .map(|s| format!("{PREFIX}{}", s.key_id))
            .unwrap_or_default(),
        last_used_ip: detail.key.last_used_ip.clone(),
        revoked,
        flash,
        layout,
        allow_query_key: detail.key.allow_query_key,
        scopes: detail.scopes.iter().map(ToString::to_string).collect(),
        networks: detail.networks.iter().map(ToString::to_string).collect(),
        secrets: detail
            .secrets
            .iter()
            .map(|s| SecretLine {
                key_id: shown_key_id(&s.key_id),
                created: utc(s.created_at),
                not_after: match (s.not_after, ended) {
                    (Some(at), Some(ended)) => utc(at.min(ended)),
                    (None, Some(ended)) => utc(ended),
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
        history: history.into_iter().map(AuditEntry::of).collect(),
        deleted,
        audit_href,
        chart: UsageChart::of(&report.days),
        rejections: rejection_lines(&report.rejections),
        row,
    };
    render(StatusCode::OK, &page)
}
