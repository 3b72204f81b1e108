//! The application's one error type, and the one place HTTP statuses are
//! chosen. API routes answer `application/problem+json` straight from
//! `ResponseError`; browser routes get HTML pages from `web::error_pages`,
//! which reads the same status and message.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// An error a request can end with. `Display` is what the user may read; the
/// cause of `Unexpected` is only logged (once, by the request logger).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Validation(String),
    #[error("Not found. It may have been deleted, or the link is wrong.")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    /// The key has expired, and the change asked for needs a rotation (409).
    #[error("{0}")]
    ExpiredKey(String),
    /// The path exists, not with this method (405); `allow` lists its methods.
    #[error("This address does not answer {method}: use {allow}.")]
    MethodNotAllowed { method: String, allow: String },
    #[error("You need to sign in.")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{message}")]
    TooManyRequests { message: String, retry_after_secs: u64 },
    #[error("The database is unavailable right now. Try again in a minute.")]
    Unavailable,
    #[error("Something went wrong on our side. It has been logged; try again.")]
    Unexpected(#[source] anyhow::Error),
    #[error("{}", .0.message())]
    KeyRejected(crate::domain::rejection::KeyRejection),
    /// A key asked to give more than it holds (403).
    #[error(transparent)]
    Escalation(#[from] crate::domain::grant::Escalation),
    /// The gateway check cannot tell which request it is asked about.
    #[error("{0}")]
    Gateway(GatewayRefusal),
    /// Several fields of a JSON body are wrong: (field, what is wrong).
    #[error("Some fields are not valid: {}", .0.iter().map(|(f, m)| format!("{f}: {m}")).collect::<Vec<_>>().join("; "))]
    InvalidFields(Vec<(String, String)>),
}

impl AppError {
    pub fn unexpected(error: impl Into<anyhow::Error>) -> Self {
        Self::Unexpected(error.into())
    }

    /// Stable machine-readable code for problem+json answers.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "invalid_request",
            Self::NotFound => "not_found",
            Self::Conflict(_) => "conflict",
            Self::ExpiredKey(_) => "expired_key",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Unavailable => "unavailable",
            Self::Unexpected(_) => "internal_error",
            Self::KeyRejected(rejection) => rejection.code(),
            Self::Escalation(escalation) => escalation.code(),
            Self::Gateway(refusal) => refusal.code(),
            Self::InvalidFields(_) => "invalid_fields",
        }
    }

    /// Short human title for pages and problem documents.
    pub fn title(&self) -> &'static str {
        match self {
            Self::Validation(_) => "That request is not valid",
            Self::NotFound => "Not found",
            Self::Conflict(_) | Self::ExpiredKey(_) => "That conflicts with what is there",
            Self::MethodNotAllowed { .. } => "Method not allowed",
            Self::Unauthorized => "Sign-in required",
            Self::Forbidden(_) => "Access denied",
            Self::TooManyRequests { .. } => "Too many attempts",
            Self::Unavailable => "Temporarily unavailable",
            Self::Unexpected(_) => "Something went wrong",
            Self::KeyRejected(rejection) if rejection.http_status() == StatusCode::FORBIDDEN.as_u16() => "Not allowed",
            Self::KeyRejected(rejection) if rejection.http_status() == StatusCode::TOO_MANY_REQUESTS.as_u16() => {
                "Too many attempts"
            }
            Self::KeyRejected(_) => "Authentication required",
            Self::Escalation(_) => "Not allowed",
            Self::Gateway(GatewayRefusal::UntrustedPeer(_)) => "Not allowed",
            Self::Gateway(_) => "That request is not valid",
            Self::InvalidFields(_) => "Some fields are not valid",
        }
    }
}

/// Why the gateway check (`/auth/check`) refuses to answer for a request.
/// Codes are a stable contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayRefusal {
    /// The peer is not in `--trusted-proxies`: its headers are not believed.
    #[error(
        "{0} is not a trusted gateway: the gateway check answers only peers listed in --trusted-proxies (KEYWARD_TRUSTED_PROXIES). Add the gateway's address there."
    )]
    UntrustedPeer(std::net::IpAddr),
    #[error("The gateway did not send the original method in {0}. Configure it to set {0} on every check.")]
    MissingMethod(&'static str),
    #[error("The gateway did not send the original URI in {0}. Configure it to set {0} on every check.")]
    MissingUri(&'static str),
    /// A header of the configured family is repeated or not well-formed.
    #[error("{0}")]
    Malformed(String),
    /// The other family is present and says something else.
    #[error(
        "{other} disagrees with {read}, which this server reads (--gateway-headers): the client may have sent it. Make the gateway drop or overwrite {other}, or set --gateway-headers to the family the gateway sets."
    )]
    ConflictingHeaders { read: &'static str, other: &'static str },
    #[error("{0}")]
    PathNotNormalized(crate::domain::routes::PathNotNormalized),
}

impl GatewayRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            Self::UntrustedPeer(_) => "untrusted_gateway",
            Self::MissingMethod(_) => "missing_original_method",
            Self::MissingUri(_) => "missing_original_uri",
            Self::Malformed(_) => "malformed_gateway_header",
            Self::ConflictingHeaders { .. } => "conflicting_gateway_headers",
            Self::PathNotNormalized(_) => "path_not_normalized",
        }
    }
}

/// A list filter no control offers is a bad request (400); "Can" or
/// "Resource" that is not valid names its field (422).
impl From<crate::domain::filter::FilterError> for AppError {
    fn from(error: crate::domain::filter::FilterError) -> Self {
        match error {
            crate::domain::filter::FilterError::Request(error) => error.into(),
            crate::domain::filter::FilterError::Fields(fields) => Self::InvalidFields(
                fields
                    .into_iter()
                    .map(|(field, message)| (field.to_owned(), message))
                    .collect(),
            ),
        }
    }
}

impl From<crate::domain::ValidationError> for AppError {
    fn from(error: crate::domain::ValidationError) -> Self {
        Self::Validation(error.0)
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            Error::NotFound => Self::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                Self::Conflict("That already exists.".to_owned())
            }
            // Logged here: the 503 the user sees says nothing of the cause.
            other if crate::store::is_unavailable(&other) => {
                tracing::warn!(error = %other, "the database cannot serve the request");
                Self::Unavailable
            }
            other => Self::unexpected(other),
        }
    }
}

impl<E: Into<AppError>> From<crate::store::StoreError<E>> for AppError {
    fn from(error: crate::store::StoreError<E>) -> Self {
        match error {
            crate::store::StoreError::Work(error) => error.into(),
            crate::store::StoreError::Unavailable(pool) => pool.into(),
            crate::store::StoreError::WorkerStopped(why) => {
                Self::unexpected(anyhow::anyhow!("the database worker stopped: {why}"))
            }
        }
    }
}

impl From<r2d2::Error> for AppError {
    fn from(error: r2d2::Error) -> Self {
        // The pool timed out: the database is down or saturated.
        tracing::warn!(error = %error, "no database connection available");
        Self::Unavailable
    }
}

/// RFC 9457 problem document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'a str,
    pub status: u16,
    pub detail: String,
    pub code: &'a str,
    /// For `invalid_fields`: each field and what is wrong with it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError<'a>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FieldError<'a> {
    pub field: &'a str,
    pub message: &'a str,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Validation(_) => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict(_) | Self::ExpiredKey(_) => StatusCode::CONFLICT,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::KeyRejected(rejection) => {
                StatusCode::from_u16(rejection.http_status()).unwrap_or(StatusCode::UNAUTHORIZED)
            }
            Self::Escalation(_) => StatusCode::FORBIDDEN,
            Self::Gateway(GatewayRefusal::UntrustedPeer(_)) => StatusCode::FORBIDDEN,
            Self::Gateway(_) => StatusCode::BAD_REQUEST,
            Self::InvalidFields(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let problem = Problem {
            kind: "about:blank",
            title: self.title(),
            status: status.as_u16(),
            detail: self.to_string(),
            code: self.code(),
            errors: match self {
                Self::InvalidFields(fields) => fields
                    .iter()
                    .map(|(field, message)| FieldError { field, message })
                    .collect(),
                _ => Vec::new(),
            },
        };
        let mut response = HttpResponse::build(status);
        response.content_type("application/problem+json");
        if let Self::TooManyRequests { retry_after_secs, .. }
        | Self::KeyRejected(crate::domain::rejection::KeyRejection::TooManyInvalidKeys { retry_after_secs }) = self
        {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from(*retry_after_secs)));
        }
        if let Self::MethodNotAllowed { allow, .. } = self
            && let Ok(value) = HeaderValue::from_str(allow)
        {
            response.insert_header((header::ALLOW, value));
        }
        if status == StatusCode::UNAUTHORIZED {
            let challenge = format!("Bearer realm=\"keyward\", error=\"{}\"", self.code());
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response.insert_header((header::WWW_AUTHENTICATE, value));
            }
        }
        response.json(problem)
    }
}

/// The default service of both faces: each renders the 404 its own way.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}
