//! CSV downloads for auditors: every row a keyset-paged query yields, read a
//! chunk at a time so one export never holds a giant query open, with cells
//! a spreadsheet would run as formulas neutralised.

use actix_web::HttpResponse;
use actix_web::http::header;
use chrono::NaiveDateTime;

use crate::domain::time::rfc3339;
use crate::error::AppError;

/// Rows read per query while exporting.
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

/// The CSV of `header` and every chunk's records. `chunk(after, limit)`
/// returns up to `limit` records following the cursor `after` (`None`: from
/// the start) and the cursor of its last row; a short chunk is the last.
pub fn keyset_csv<Cursor, const N: usize>(
    header: [&str; N],
    mut chunk: impl FnMut(Option<&Cursor>, i64) -> Result<(Vec<[String; N]>, Option<Cursor>), AppError>,
) -> Result<Vec<u8>, AppError> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(header).map_err(AppError::unexpected)?;
    let mut after = None;
    loop {
        let (records, last) = chunk(after.as_ref(), CHUNK)?;
        for record in &records {
            out.write_record(record.iter().map(|v| neutralise(v)))
                .map_err(AppError::unexpected)?;
        }
        if (records.len() as i64) < CHUNK {
            break;
        }
        after = last;
    }
    out.into_inner().map_err(AppError::unexpected)
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
