//! `HtmlForm<T>` and `HtmlQuery<T>`: an urlencoded form body or query string
//! that may repeat fields (scope rows, permission checkboxes, the audit
//! log's actions), which actix's own `Form` and `Query` cannot read.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// Largest form body accepted (a full create form is a few KiB).
const LIMIT: usize = 256 * 1024;

pub struct HtmlForm<T>(pub T);

/// A form body decoded into `T`: what the `HtmlForm` extractor does once it
/// has the bytes (public so that the fuzz targets decode as it does).
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    if body.len() > LIMIT {
        return Err(AppError::Validation("The form is too large.".to_owned()));
    }
    serde_html_form::from_bytes(body).map_err(|e| AppError::Validation(format!("The form could not be read: {e}")))
}

impl<T: DeserializeOwned + 'static> FromRequest for HtmlForm<T> {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let body = bytes.await?;
            decode(&body).map(HtmlForm).map_err(Into::into)
        })
    }
}

/// A query string decoded into `T`, fields repeated or not
/// (`?action=a&action=b`). One it cannot read is a 400 that says why.
pub struct HtmlQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequest for HtmlQuery<T> {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            serde_html_form::from_str(req.query_string())
                .map(HtmlQuery)
                .map_err(|e| AppError::Validation(format!("The address's query could not be read: {e}")).into()),
        )
    }
}
