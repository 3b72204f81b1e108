//! `GET …/export.csv`: the key list as filtered, for auditors.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::NaiveDateTime;

use crate::auth::guard::CurrentUser;
use crate::domain::filter::ListQuery;
use crate::domain::time::rfc3339;
use crate::error::AppError;
use crate::service::keys;
use crate::store::{self, Db, api_keys};

/// Keys read per query while exporting.
const CHUNK: i64 = 1000;

/// A cell that a spreadsheet would run as a formula gets a leading quote.
pub fn neutralise(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

/// An instant in a CSV cell: RFC 3339, or empty for none.
pub fn iso(at: Option<NaiveDateTime>) -> String {
    at.map(rfc3339).unwrap_or_default()
}

/// `GET /backoffice/settings/api-keys/export.csv?q=…&status=…`
pub async fn export_api_keys(
    db: web::Data<Db>,
    current: CurrentUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let filter = query.filter()?;
    let org_id = current.org.id.clone();
    let body = db
        .run(move |conn| {
            let now = store::now();
            let mut out = csv::Writer::from_writer(Vec::new());
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
            out.write_record(header).map_err(AppError::unexpected)?;
            let mut after = None;
            loop {
                let keys = api_keys::list_after(conn, &org_id, &filter, now, after.as_ref(), CHUNK)?;
                let count = keys.len() as i64;
                after = keys.last().map(|k| (k.created_at, k.id.clone()));
                for detail in keys::details(conn, keys)? {
                    let key = &detail.key;
                    let record = [
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
                    ];
                    out.write_record(record.iter().map(|v| neutralise(v)))
                        .map_err(AppError::unexpected)?;
                }
                if count < CHUNK {
                    break;
                }
            }
            out.into_inner().map_err(AppError::unexpected)
        })
        .await?;
    Ok(csv_download("api-keys", body))
}

/// A CSV body as a download named `<name>-<UTC time>.csv`.
pub fn csv_download(name: &str, body: Vec<u8>) -> HttpResponse {
    let filename = format!("{name}-{}.csv", chrono::Utc::now().format("%Y%m%dT%H%M%SZ"));
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::neutralise;

    #[test]
    fn formula_cells_are_neutralised() {
        assert_eq!(neutralise("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("-1"), "'-1");
        assert_eq!(neutralise("Flight sync"), "Flight sync");
    }
}
