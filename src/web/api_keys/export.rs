//! `GET …/export.csv`: the key list as filtered and ordered, for auditors.
//! The ids of the matching keys are read first, in one query (with "Can"
//! and "Resource", the capability pass the page makes), then the keys a
//! chunk at a time: a key created or deleted while an export runs shifts
//! nothing, so no key is written twice or skipped.

use actix_web::{HttpResponse, web};

use super::csv_export::{csv_download, iso, keyset_csv};
use crate::auth::guard::CurrentUser;
use crate::domain::filter::ListQuery;
use crate::error::AppError;
use crate::service::{key_list, keys};
use crate::store::{self, Db, api_keys};

/// `GET /backoffice/settings/api-keys/export.csv?q=…&status=…&sort=…&can=…&resource=…`
pub async fn export_api_keys(
    db: web::Data<Db>,
    current: CurrentUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let filter = query.filter()?;
    let org_id = current.org.id.clone();
    let header = [
        "name",
        "key_id",
        "status",
        "scopes",
        "allowed_networks",
        "allow_query_key",
        "created_by",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "last_used_ip",
    ];
    let body = db
        .run(move |conn| {
            let now = store::now();
            let ids = key_list::ids(conn, &org_id, &filter, now)?;
            keyset_csv(header, |after: Option<&usize>, limit| {
                let limit = usize::try_from(limit).unwrap_or(usize::MAX);
                let mut at = after.copied().unwrap_or(0);
                let mut keys = Vec::new();
                // A key deleted meanwhile is left out; the next ones fill
                // the chunk, since a short chunk ends the export.
                while keys.len() < limit && at < ids.len() {
                    let end = at.saturating_add(limit - keys.len()).min(ids.len());
                    keys.extend(api_keys::by_ids(conn, &org_id, &ids[at..end])?);
                    at = end;
                }
                let records = keys::details(conn, keys)?
                    .into_iter()
                    .map(|detail| {
                        let key = &detail.key;
                        [
                            key.name.clone(),
                            detail.key_id_hint(),
                            key.status(now).label().to_owned(),
                            detail
                                .scopes
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join("; "),
                            detail
                                .networks
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join(" "),
                            key.allow_query_key.to_string(),
                            key.created_by.clone(),
                            iso(Some(key.created_at)),
                            iso(key.expires_at),
                            iso(key.revoked_at),
                            iso(key.last_used_at),
                            key.last_used_ip.clone().unwrap_or_default(),
                        ]
                    })
                    .collect();
                Ok((records, Some(at)))
            })
        })
        .await?;
    Ok(csv_download("api-keys", body))
}
