//! The API reads exactly what its OpenAPI document describes, no more and no
//! less: each test here is a disagreement the contract test
//! (tests/contract/schemathesis.sh) found, or one of its kind.

use reqwest::Method;
use serde_json::{Value, json};

use crate::management::call;
use crate::on_both_backends;
use crate::support::{TestApp, TestKey};

on_both_backends!(
    json_bodies_that_are_not_objects_are_refused,
    queries_that_cannot_be_read_answer_problem_json,
    an_api_network_entry_is_one_network,
    api_values_are_read_exactly_as_written,
    rotating_an_expired_key_without_a_new_expiry_conflicts,
    a_rotation_body_of_null_means_the_defaults,
    a_method_a_path_does_not_answer_is_a_405_problem_naming_the_allowed_ones
);

/// Manages keys, verifies them and reads the reports.
const ADMIN: TestKey = TestKey {
    name: "Automation",
    scopes: &[
        "admin:api-keys",
        "read:verify",
        "read:usage",
        "read:audit-events",
        "read:flights",
    ],
    networks: "0.0.0.0/0\n::/0",
    allow_query_key: false,
};

const TARGET: TestKey = TestKey {
    name: "Flight sync",
    scopes: &["read:flights"],
    networks: "0.0.0.0/0\n::/0",
    allow_query_key: false,
};

/// Sends `body` as it is, with a JSON content type.
async fn send_raw(app: &TestApp, key: &str, method: Method, path: &str, body: &str) -> (u16, String, Value) {
    let response = app
        .client
        .request(method, app.url(path))
        .header("X-API-Key", key)
        .header("Content-Type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.expect("body");
    (status, content_type, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// serde reads a struct from an array of its fields in order, so these
/// were taken: `[]` rotated a key, and an array of a new key's fields
/// created one.
async fn json_bodies_that_are_not_objects_are_refused(app: TestApp) {
    let (org, _, admin) = app.org_with_api_key("Acme Aviation", ADMIN).await;
    let (id, _) = app.add_api_key(&org, TARGET).await;
    let cases = [
        (
            Method::POST,
            "/api/v1/api-keys".to_owned(),
            r#"["Array sync", null, ["read:flights"], null, false]"#,
        ),
        (Method::PATCH, format!("/api/v1/api-keys/{id}"), r#"["Renamed"]"#),
        (Method::POST, format!("/api/v1/api-keys/{id}/rotate"), "[]"),
        (
            Method::POST,
            "/api/v1/verify".to_owned(),
            r#"["k", "read", "flights", "10.0.0.1"]"#,
        ),
        (Method::POST, "/api/v1/api-keys".to_owned(), "\"Array sync\""),
    ];
    for (method, path, body) in cases {
        let (status, content_type, problem) = send_raw(&app, &admin, method.clone(), &path, body).await;
        assert_eq!(
            (status, content_type.as_str(), problem["code"].as_str()),
            (400, "application/problem+json", Some("invalid_request")),
            "{method} {path} {body}: {problem}"
        );
    }
    let (_, list) = call(&app, &admin, Method::GET, "/api/v1/api-keys", None).await;
    assert_eq!(list["total"], 2, "nothing was created: {list}");
    let (_, key) = call(&app, &admin, Method::GET, &format!("/api/v1/api-keys/{id}"), None).await;
    assert_eq!(
        (key["name"].as_str(), key["secrets"].as_array().map(Vec::len)),
        (Some("Flight sync"), Some(1)),
        "neither renamed nor rotated: {key}"
    );
}

/// actix answered these in text/plain, outside the document.
async fn queries_that_cannot_be_read_answer_problem_json(app: TestApp) {
    let (_, _, admin) = app.org_with_api_key("Acme Aviation", ADMIN).await;
    for path in [
        "/api/v1/api-keys?page=9223372036854775808",
        "/api/v1/api-keys?page=two",
        "/api/v1/api-keys?status=paused",
        "/api/v1/api-keys?status=%20active",
        "/api/v1/usage?days=x",
        "/api/v1/audit-events?limit=1.5",
    ] {
        let response = app
            .client
            .get(app.url(path))
            .header("X-API-Key", &admin)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 400, "{path}");
        assert_eq!(response.headers()["content-type"], "application/problem+json", "{path}");
    }
    // Read but out of range: named, and no longer quietly clamped to page 1.
    for path in ["/api/v1/api-keys?page=0", "/api/v1/api-keys?page=1000001"] {
        let (status, problem) = call(&app, &admin, Method::GET, path, None).await;
        assert_eq!(
            (status, problem["errors"][0]["field"].as_str()),
            (422, Some("page")),
            "{path}: {problem}"
        );
    }
}

/// The entries were joined with newlines and read as the backoffice's text
/// box, so one entry holding a newline or a comma became two networks.
async fn an_api_network_entry_is_one_network(app: TestApp) {
    let (_, _, admin) = app.org_with_api_key("Acme Aviation", ADMIN).await;
    for entry in [
        "10.0.0.0/8\n192.168.0.0/16",
        "10.0.0.0/8,192.168.0.0/16",
        " 10.0.0.0/8",
        "",
    ] {
        let (status, problem) = call(
            &app,
            &admin,
            Method::POST,
            "/api/v1/api-keys",
            Some(json!({ "name": "Split sync", "scopes": ["read:flights"], "allowed_networks": [entry] })),
        )
        .await;
        assert_eq!(
            (status, problem["errors"][0]["field"].as_str()),
            (422, Some("allowed_networks")),
            "{entry:?}: {problem}"
        );
    }
    let (status, created) = call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/api-keys",
        Some(json!({ "name": "Split sync", "scopes": ["read:flights"], "allowed_networks": ["10.0.0.0/8", "192.168.0.0/16"] })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["allowed_networks"], json!(["10.0.0.0/8", "192.168.0.0/16"]));
}

/// The forms trim and widen what people type; the API took the same
/// liberties, so the document could not say what it accepts.
async fn api_values_are_read_exactly_as_written(app: TestApp) {
    let (org, _, admin) = app.org_with_api_key("Acme Aviation", ADMIN).await;
    let (id, _) = app.add_api_key(&org, TARGET).await;
    let create = |field: &str, value: Value| {
        let mut body = json!({ "name": "Exact sync", "scopes": ["read:flights"] });
        body[field] = value;
        body
    };
    for (body, field) in [
        (create("name", json!(" Exact sync")), "name"),
        (create("scopes", json!(["read: flights"])), "scopes"),
        (create("scopes", json!(["read:flights "])), "scopes"),
        (create("expires_at", json!("2099-01-31 00:00")), "expires_at"),
        (create("expires_at", json!("2099-01-31T00:00")), "expires_at"),
        (create("expires_at", json!("")), "expires_at"),
        (create("scopes", json!(vec!["read:flights"; 101])), "scopes"),
    ] {
        let (status, problem) = call(&app, &admin, Method::POST, "/api/v1/api-keys", Some(body.clone())).await;
        assert_eq!(
            (status, problem["errors"][0]["field"].as_str()),
            (422, Some(field)),
            "{body}: {problem}"
        );
    }
    let (status, problem) = call(
        &app,
        &admin,
        Method::POST,
        &format!("/api/v1/api-keys/{id}/rotate"),
        Some(json!({ "grace_period": " now" })),
    )
    .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (422, Some("grace_period"))
    );
    let (status, problem) = call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/verify",
        Some(json!({ "key": "k", "action": " read", "resource": "flights ", "client_ip": " 10.0.0.1" })),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"].as_array().map(Vec::len), Some(3), "{problem}");
}

/// It was a 400, which says the request itself is malformed; it is the
/// key's state that refuses it, as a revoked key's is a 409.
async fn rotating_an_expired_key_without_a_new_expiry_conflicts(app: TestApp) {
    let (org, _, admin) = app.org_with_api_key("Acme Aviation", ADMIN).await;
    let (id, _) = app.add_api_key(&org, TARGET).await;
    let (org_id, key) = (org.id.clone(), id.clone());
    app.query(move |conn| {
        let yesterday = keyward::store::now() - chrono::TimeDelta::days(1);
        keyward::store::api_keys::set_expiry(conn, &org_id, &key, Some(yesterday), keyward::store::now())?;
        Ok(())
    })
    .await;
    let path = format!("/api/v1/api-keys/{id}/rotate");
    let (status, problem) = call(&app, &admin, Method::POST, &path, None).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("expired_key")),
        "{problem}"
    );
    let (status, rotated) = call(&app, &admin, Method::POST, &path, Some(json!({ "expires_at": null }))).await;
    assert_eq!((status, rotated["status"].as_str()), (200, Some("active")), "{rotated}");
}

/// The document allows `null` for the optional body; the server refused it.
async fn a_rotation_body_of_null_means_the_defaults(app: TestApp) {
    let (org, _, admin) = app.org_with_api_key("Acme Aviation", ADMIN).await;
    let (id, _) = app.add_api_key(&org, TARGET).await;
    let path = format!("/api/v1/api-keys/{id}/rotate");
    let (status, _, rotated) = send_raw(&app, &admin, Method::POST, &path, "null").await;
    assert_eq!(status, 200, "{rotated}");
    let secrets = rotated["secrets"].as_array().expect("secrets");
    assert_eq!(secrets.len(), 2, "{rotated}");
    assert!(
        secrets.iter().any(|s| !s["not_after"].is_null()),
        "the old secret got its 24 hours: {rotated}"
    );
}

/// actix's own 405 had an `Allow` but no body; every refusal of the API is
/// problem+json.
async fn a_method_a_path_does_not_answer_is_a_405_problem_naming_the_allowed_ones(app: TestApp) {
    let (_, _, admin) = app.org_with_api_key("Acme Aviation", ADMIN).await;
    for (method, path, allow) in [
        (Method::PUT, "/api/v1/api-keys/some-id", "GET, PATCH, DELETE"),
        (Method::DELETE, "/api/v1/me", "GET"),
        (Method::GET, "/api/v1/verify", "POST"),
    ] {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .header("X-API-Key", &admin)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 405, "{method} {path}");
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{method} {path}"
        );
    }
}
