//! Logging: `tracing` to stdout, and one structured line per request (method,
//! path with secrets redacted, status, latency, request id). Request headers
//! are never logged, so neither is `X-API-Key` nor `Authorization`.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage as _};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; `RUST_LOG` (or `KEYWARD_LOG`) filters.
pub fn init(default_filter: &str) {
    let filter = std::env::var("KEYWARD_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new(default_filter));
    // A second init (tests) keeps the first subscriber.
    // Logs go to stderr: stdout carries what commands print for scripts
    // (a slug, a secret, the setup link).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Query parameters whose values never reach a log line.
const SECRET_PARAMETERS: [&str; 2] = ["api_key", "token"];

/// The path and query of a request with secret parameters' values replaced.
pub fn redacted_target(path: &str, query: &str) -> String {
    if query.is_empty() {
        return path.to_owned();
    }
    let query: Vec<String> = query
        .split('&')
        .map(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            let decoded = name.replace("%5F", "_").replace("%5f", "_").to_ascii_lowercase();
            if SECRET_PARAMETERS.contains(&decoded.as_str()) {
                format!("{name}=[redacted]")
            } else {
                pair.to_owned()
            }
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

#[derive(Clone, Copy)]
struct RequestStart(Instant);

/// The request span and the line logged when a request ends.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        request.extensions_mut().insert(RequestStart(Instant::now()));
        let request_id = request.extensions().get::<RequestId>().copied();
        tracing::info_span!(
            "request",
            method = %request.method(),
            target = %redacted_target(request.path(), request.query_string()),
            request_id = %request_id.map(|id| id.to_string()).unwrap_or_default(),
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let (status, started) = match outcome {
            Ok(response) => (
                response.status().as_u16(),
                response.request().extensions().get::<RequestStart>().copied(),
            ),
            Err(error) => (error.as_response_error().status_code().as_u16(), None),
        };
        let latency_ms = started.map(|s| s.0.elapsed().as_secs_f64() * 1000.0);
        DefaultRootSpanBuilder::on_request_end(span.clone(), outcome);
        let _entered = span.enter();
        match latency_ms {
            Some(ms) => tracing::info!(status, latency_ms = format_args!("{ms:.2}"), "request finished"),
            None => tracing::info!(status, "request finished"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::redacted_target;

    #[test]
    fn secret_query_values_are_redacted() {
        assert_eq!(redacted_target("/api/v1/me", ""), "/api/v1/me");
        assert_eq!(
            redacted_target("/api/v1/me", "api_key=ask_secret&page=2"),
            "/api/v1/me?api_key=[redacted]&page=2"
        );
        assert_eq!(redacted_target("/x", "API%5FKEY=ask_secret"), "/x?API%5FKEY=[redacted]");
        assert_eq!(redacted_target("/setup", "token=abc"), "/setup?token=[redacted]");
    }
}
