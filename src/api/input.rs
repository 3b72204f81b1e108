//! How the API reads its input: JSON bodies that must be objects, queries,
//! and the per-field problems a refusal names. Every refusal is
//! problem+json: 400 when the input cannot be read at all, 422 naming each
//! field that is not valid.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// JSON bodies that cannot be read answer problem+json, naming the problem.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(64 * 1024)
        .error_handler(|error, _| AppError::Validation(format!("The JSON body could not be read: {error}")).into())
}

/// Queries that cannot be read (a word where a number goes, an unknown
/// status, a repeated parameter) answer problem+json too, not plain text.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|error, _| AppError::Validation(format!("The query could not be read: {error}")).into())
}

/// `value` as a `T`, when it is a JSON object. serde would also read a
/// struct from an array of its fields in order (`[]` for a struct whose
/// fields all have defaults); the API's bodies are objects only.
pub fn object<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, AppError> {
    if !value.is_object() {
        return Err(AppError::Validation(
            "The JSON body could not be read: it must be an object ({…}).".into(),
        ));
    }
    serde_json::from_value(value).map_err(|e| AppError::Validation(format!("The JSON body could not be read: {e}")))
}

/// A JSON object body read as `T` (`web::Json`, with arrays and other
/// non-objects refused).
pub struct JsonObject<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonObject<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let web::Json(value) = json.await?;
            Ok(Self(object(value)?))
        })
    }
}

/// Collects each field's problem, so one answer names them all.
#[derive(Default)]
pub struct Problems(Vec<(String, String)>);

impl Problems {
    pub fn check<T, E: std::fmt::Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        result.map_err(|e| self.0.push((field.to_owned(), e.to_string()))).ok()
    }

    pub fn into_result(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::InvalidFields(self.0))
        }
    }
}
