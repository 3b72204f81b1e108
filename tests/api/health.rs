use crate::on_both_backends;
use crate::support::TestApp;

on_both_backends!(
    liveness_and_readiness_answer,
    every_page_carries_the_security_headers,
    responses_made_by_middleware_carry_the_security_headers_too,
    static_assets_are_cached_by_content_hash,
    unknown_pages_get_a_404_page_with_a_request_id,
    unknown_pages_inside_the_backoffice_get_the_404_page_too
);

async fn liveness_and_readiness_answer(app: TestApp) {
    let live = app.client.get(app.url("/healthz")).send().await.expect("request");
    assert_eq!(live.status().as_u16(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.expect("request");
    assert_eq!(ready.status().as_u16(), 200);
    assert_eq!(ready.text().await.expect("body"), "ready");
}

/// The headers DESIGN.md asks of every response; `backoffice` adds `no-store`.
pub(crate) fn assert_security_headers(response: &reqwest::Response, backoffice: bool) {
    let what = format!("{} {}", response.status(), response.url());
    let headers = response.headers();
    let csp = headers
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("no CSP on {what}"))
        .to_str()
        .expect("ascii");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert_eq!(
        headers.get("x-content-type-options").map(|v| v.as_bytes()),
        Some(&b"nosniff"[..]),
        "{what}"
    );
    assert_eq!(
        headers.get("referrer-policy").map(|v| v.as_bytes()),
        Some(&b"same-origin"[..]),
        "{what}"
    );
    assert_eq!(
        headers.get("x-frame-options").map(|v| v.as_bytes()),
        Some(&b"DENY"[..]),
        "{what}"
    );
    if backoffice {
        assert_eq!(
            headers.get("cache-control").map(|v| v.as_bytes()),
            Some(&b"no-store"[..]),
            "{what}"
        );
    }
}

async fn responses_made_by_middleware_carry_the_security_headers_too(app: TestApp) {
    // The CSRF refusal: a form post without a token.
    let refused = app
        .client
        .post(app.url("/logout"))
        .header("Origin", app.url(""))
        .form(&[("x", "y")])
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status().as_u16(), 403);
    assert_security_headers(&refused, true);
    // The sign-in guard's answer to a signed-out browser, and to htmx.
    let signed_out = app.client.get(app.url("/backoffice")).send().await.expect("request");
    assert_eq!(signed_out.status().as_u16(), 303);
    assert_security_headers(&signed_out, true);
    let htmx = app
        .client
        .get(app.url("/backoffice/settings/api-keys"))
        .header("HX-Request", "true")
        .send()
        .await
        .expect("request");
    assert!(htmx.headers().contains_key("hx-redirect"));
    assert_security_headers(&htmx, true);
    // A handler's error page, the API's key refusal and an unknown API route.
    let missing = app.client.get(app.url("/no/such/page")).send().await.expect("request");
    assert_eq!(missing.status().as_u16(), 404);
    assert_security_headers(&missing, true);
    let no_key = app.client.get(app.url("/api/v1/me")).send().await.expect("request");
    assert_eq!(no_key.status().as_u16(), 401);
    assert_security_headers(&no_key, false);
    let no_route = app
        .client
        .get(app.url("/api/v1/nothing"))
        .send()
        .await
        .expect("request");
    assert_security_headers(&no_route, false);
}

async fn every_page_carries_the_security_headers(app: TestApp) {
    let response = app.client.get(app.url("/login")).send().await.expect("request");
    assert_security_headers(&response, true);
    let headers = response.headers();
    let csp = headers["content-security-policy"].to_str().expect("ascii");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "same-origin");
    assert_eq!(headers["cache-control"], "no-store");
    let body = response.text().await.expect("body");
    assert!(!body.contains("<script>"), "no inline scripts");
    assert!(!body.contains("style=\""), "no inline styles");
    assert!(!body.contains("hx-on"), "no hx-on handlers");
}

async fn static_assets_are_cached_by_content_hash(app: TestApp) {
    let page = app
        .client
        .get(app.url("/login"))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    let start = page.find("/static/vendor/htmx-").expect("htmx is linked");
    let url = &page[start..start + page[start..].find('"').expect("quoted")];
    assert!(url.contains("?v="), "{url}");
    let asset = app.client.get(app.url(url)).send().await.expect("request");
    assert_eq!(asset.status().as_u16(), 200);
    assert_eq!(asset.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert!(
        asset.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .contains("javascript")
    );
    let etag = asset.headers()["etag"].clone();
    let again = app
        .client
        .get(app.url("/static/vendor/htmx-2.0.11.min.js"))
        .header("If-None-Match", etag)
        .send()
        .await
        .expect("request");
    assert_eq!(again.status().as_u16(), 304);
    assert_eq!(again.headers()["cache-control"], "no-cache");
}

async fn unknown_pages_get_a_404_page_with_a_request_id(app: TestApp) {
    let response = app.client.get(app.url("/no/such/page")).send().await.expect("request");
    assert_eq!(response.status().as_u16(), 404);
    let body = response.text().await.expect("body");
    assert!(body.contains("Not found"), "{body}");
    assert!(body.contains("Request id:"), "{body}");
}

async fn unknown_pages_inside_the_backoffice_get_the_404_page_too(app: TestApp) {
    app.signed_in_as(keyward::domain::role::Role::SystemAdministrator).await;
    for path in ["/backoffice/no-such-page", "/backoffice/settings/api-keys/no/such/page"] {
        let response = app.client.get(app.url(path)).send().await.expect("request");
        assert_eq!(response.status().as_u16(), 404, "{path}");
        let body = response.text().await.expect("body");
        assert!(
            body.contains("Not found") && body.contains("Request id:"),
            "{path}: {body}"
        );
    }
}
