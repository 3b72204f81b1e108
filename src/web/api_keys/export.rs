//! `GET …/export.csv`: the key list as filtered, for auditors.

use actix_web::{HttpResponse, web};

use super::csv_export::{csv_download, iso, keyset_csv};
use crate::auth::guard::CurrentUser;
use crate::domain::filter::ListQuery;
use crate::error::AppError;
use crate::service::keys;
use crate::store::{self, Db, api_keys};

/// `GET /backoffice/settings/api-keys/export.csv?q=…&status=…`
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
            keyset_csv(header, |after, limit| {
                let keys = api_keys::list_after(conn, &org_id, &filter, now, after, limit)?;
                let last = keys.last().map(|k| (k.created_at, k.id.clone()));
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
                Ok((records, last))
            })
        })
        .await?;
    Ok(csv_download("api-keys", body))
}
