//! Static files embedded in the binary (htmx, CSS, JS), served with a content
//! hash in the URL so they can be cached for a year, and the SRI hashes the
//! pages put on their `<script>` tags.

use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use rust_embed::RustEmbed;
use sha2::{Digest as _, Sha384};

#[derive(RustEmbed)]
#[folder = "static/"]
struct Static;

const HTMX: &str = "vendor/htmx-2.0.11.min.js";
const APP_JS: &str = "js/app.js";
const APP_CSS: &str = "css/app.css";

/// One asset as a page links it.
#[derive(Debug, Clone)]
pub struct Asset {
    /// `/static/<path>?v=<content hash>`
    pub url: String,
    /// `sha384-…`, for `integrity`.
    pub integrity: String,
}

/// The assets every page links.
#[derive(Debug, Clone)]
pub struct AssetUrls {
    pub htmx: Asset,
    pub app_js: Asset,
    pub app_css: Asset,
}

fn version_of(file: &rust_embed::EmbeddedFile) -> String {
    hex::encode(&file.metadata.sha256_hash()[..8])
}

fn asset(path: &str) -> Asset {
    match Static::get(path) {
        Some(file) => Asset {
            url: format!("/static/{path}?v={}", version_of(&file)),
            integrity: format!(
                "sha384-{}",
                base64::engine::general_purpose::STANDARD.encode(Sha384::digest(&file.data))
            ),
        },
        // Only reachable if a file above is renamed without updating its const;
        // the assets test catches that.
        None => Asset {
            url: format!("/static/{path}"),
            integrity: String::new(),
        },
    }
}

/// Computed once: hashing the embedded files is not free.
pub fn urls() -> &'static AssetUrls {
    static URLS: OnceLock<AssetUrls> = OnceLock::new();
    URLS.get_or_init(|| AssetUrls {
        htmx: asset(HTMX),
        app_js: asset(APP_JS),
        app_css: asset(APP_CSS),
    })
}

#[derive(serde::Deserialize)]
pub struct AssetQuery {
    v: Option<String>,
}

/// `GET /static/{path}`: immutable caching when the URL carries the current
/// content hash, revalidation by ETag otherwise.
pub async fn serve_static(req: HttpRequest, path: web::Path<String>, query: web::Query<AssetQuery>) -> HttpResponse {
    let Some(file) = Static::get(&path) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("No such file.");
    };
    let version = version_of(&file);
    let etag = format!("\"{version}\"");
    let cache_control = if query.v.as_deref() == Some(version.as_str()) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag);
    let mut response = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag.as_str()))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static(cache_control)));
    if not_modified {
        return response.finish();
    }
    response
        .content_type(file.metadata.mimetype())
        .body(file.data.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_linked_asset_is_embedded() {
        for path in [HTMX, APP_JS, APP_CSS] {
            assert!(Static::get(path).is_some(), "{path} is not in static/");
        }
        assert!(urls().htmx.url.contains("?v="));
        assert!(urls().htmx.integrity.starts_with("sha384-"));
    }
}
