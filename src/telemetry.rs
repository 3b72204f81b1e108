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

/// The path and query of a request with secret parameters' values replaced,
/// and, as a second line of defence, anything shaped like a Keyward key
/// (`ask_` + 64 base62 characters) cut down to its public key id.
pub fn redacted_target(path: &str, query: &str) -> String {
    if query.is_empty() {
        return redact_key_shapes(path);
    }
    let query: Vec<String> = query
        .split('&')
        .map(|pair| {
            if is_secret_parameter(pair) {
                let name = pair.split('=').next().unwrap_or_default();
                format!("{name}=[redacted]")
            } else {
                pair.to_owned()
            }
        })
        .collect();
    redact_key_shapes(&format!("{path}?{}", query.join("&")))
}

/// Whether a `name=value` pair names a secret parameter once its name is
/// decoded exactly as the key authenticator decodes it (`%61pi_key` and
/// `api%5Fkey` are `api_key`). A pair that cannot be decoded counts as secret.
fn is_secret_parameter(pair: &str) -> bool {
    match serde_html_form::from_str::<Vec<(String, String)>>(pair) {
        Ok(decoded) => decoded.iter().any(|(name, _)| {
            let name = name.trim().to_ascii_lowercase();
            SECRET_PARAMETERS.contains(&name.as_str())
        }),
        Err(_) => true,
    }
}

/// Replaces every `ask_` (or `ask%5F`) followed by 64 base62 characters with
/// `ask_` + its key id (the first 12, safe to log) + `[redacted]`.
fn redact_key_shapes(text: &str) -> String {
    const BODY: usize = 64;
    const KEY_ID: usize = 12;
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut at) = (0, 0);
    while at < bytes.len() {
        let rest = &bytes[at..];
        let prefix = if rest.starts_with(b"ask_") {
            4
        } else if rest.len() >= 6 && rest.starts_with(b"ask") && rest[3..6].eq_ignore_ascii_case(b"%5f") {
            6
        } else {
            0
        };
        let body = &rest[prefix.min(rest.len())..];
        if prefix > 0 && body.len() >= BODY && body[..BODY].iter().all(u8::is_ascii_alphanumeric) {
            // Only ASCII was matched, so these are character boundaries.
            out.push_str(&text[copied..at]);
            out.push_str("ask_");
            out.push_str(&text[at + prefix..at + prefix + KEY_ID]);
            out.push_str("[redacted]");
            at += prefix + BODY;
            copied = at;
        } else {
            at += 1;
        }
    }
    out.push_str(&text[copied..]);
    out
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

    #[test]
    fn percent_encoded_secret_names_are_redacted_by_their_decoded_name() {
        for name in [
            "%61pi_key",
            "api_k%65y",
            "%61%70%69%5f%6b%65%79",
            "API_KEY",
            "%74oken",
            "api_key+",
        ] {
            assert_eq!(
                redacted_target("/api/v1/me", &format!("{name}=s3cret&page=2")),
                format!("/api/v1/me?{name}=[redacted]&page=2"),
                "{name}"
            );
        }
        assert_eq!(redacted_target("/x", "api_keys=1&key=2"), "/x?api_keys=1&key=2");
    }

    #[test]
    fn anything_shaped_like_a_key_is_cut_to_its_key_id() {
        let key = crate::domain::token::ApiKeyToken::generate();
        let key = key.expose();
        let hint = format!("ask_{}[redacted]", &key[4..16]);
        for (path, query) in [
            ("/api/v1/me", format!("q={key}")),
            ("/api/v1/me", format!("x=1&y={}", key.replacen('_', "%5F", 1))),
            ("/api/v1/me", format!("%2561pi_key={key}")),
            (&*format!("/keys/{key}/detail"), String::new()),
        ] {
            let logged = redacted_target(path, &query);
            assert!(!logged.contains(&key[16..]), "{logged}");
            assert!(logged.contains(&hint), "{logged}");
        }
        assert_eq!(
            redacted_target("/x", "q=ask_short&n=ask_"),
            "/x?q=ask_short&n=ask_",
            "not a key's shape: kept"
        );
    }
}
