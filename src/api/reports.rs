//! `GET /api/v1/usage` and `GET /api/v1/audit-events` (`read`), for the
//! calling key's organization.

use std::collections::BTreeMap;

use actix_web::web;
use serde::{Deserialize, Serialize};

use super::responses;
use crate::auth::key_auth::KeyPrincipal;
use crate::error::AppError;
use crate::service::usage_report::{self, UsageReport};
use crate::store::{self, Db, audit, usage};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// Days back from today (UTC), 1–90; default 30.
    #[param(minimum = 1, maximum = 90)]
    pub days: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UsageDay {
    #[schema(format = Date)]
    pub date: String,
    pub allowed: i64,
    /// Rejected requests by code.
    pub rejected: BTreeMap<String, i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Usage {
    pub days: Vec<UsageDay>,
    /// Requests per key id over the period, most first.
    pub keys: Vec<KeyUsage>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyUsage {
    pub id: String,
    pub requests: i64,
}

/// `GET /api/v1/usage?days=30`
#[utoipa::path(get, path = "/api/v1/usage", tag = "reports", params(UsageQuery), responses((status = 200, body = Usage, description = "Requests per day (UTC) and per key"), responses::BadQuery, responses::KeyRefusals, responses::NotAllowed, responses::InvalidFields))]
pub async fn show_usage(
    db: web::Data<Db>,
    principal: KeyPrincipal,
    query: web::Query<UsageQuery>,
) -> Result<web::Json<Usage>, AppError> {
    let days = query.days.unwrap_or(30);
    if !(1..=90).contains(&days) {
        return Err(AppError::InvalidFields(vec![(
            "days".into(),
            "use a number of days from 1 to 90".into(),
        )]));
    }
    let org_id = principal.record.org_id.clone();
    let (first_day, since) = usage_report::period_start(store::now(), days);
    let buckets = db
        .run(move |conn| usage::buckets_since(conn, &org_id, None, since))
        .await?;
    let report = UsageReport::from_buckets(first_day, days, buckets);
    Ok(web::Json(Usage {
        days: report
            .days
            .into_iter()
            .map(|day| UsageDay {
                date: day.date.format("%Y-%m-%d").to_string(),
                allowed: day.allowed,
                rejected: day.rejected,
            })
            .collect(),
        keys: report
            .keys
            .into_iter()
            .map(|key| KeyUsage {
                requests: key.total(),
                id: key.api_key_id,
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// 1–500; default 100.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEventJson {
    pub id: String,
    #[schema(format = DateTime)]
    pub at: String,
    pub actor_kind: String,
    pub actor: String,
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub target: Option<String>,
    pub client_ip: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// `GET /api/v1/audit-events?limit=100`: newest first.
#[utoipa::path(get, path = "/api/v1/audit-events", tag = "reports", params(AuditQuery), responses((status = 200, body = Vec<AuditEventJson>, description = "The organization's audit events, newest first"), responses::BadQuery, responses::KeyRefusals, responses::NotAllowed, responses::InvalidFields))]
pub async fn list_audit_events(
    db: web::Data<Db>,
    principal: KeyPrincipal,
    query: web::Query<AuditQuery>,
) -> Result<web::Json<Vec<AuditEventJson>>, AppError> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(AppError::InvalidFields(vec![(
            "limit".into(),
            "use a limit from 1 to 500".into(),
        )]));
    }
    let org_id = principal.record.org_id.clone();
    let events = db.run(move |conn| audit::list_for_org(conn, &org_id, limit)).await?;
    Ok(web::Json(
        events
            .into_iter()
            .map(|e| AuditEventJson {
                id: e.id,
                at: crate::domain::time::rfc3339(e.created_at),
                actor_kind: e.actor_kind,
                actor: e.actor_label,
                action: e.action,
                target_kind: e.target_kind,
                target_id: e.target_id,
                target: e.target_label,
                client_ip: e.client_ip,
                details: serde_json::from_str(&e.details).unwrap_or(serde_json::Value::Null),
            })
            .collect(),
    ))
}
