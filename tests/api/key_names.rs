//! Key names are unique within an organization whatever their case.

use reqwest::Method;
use serde_json::json;

use crate::management::{ADMIN, call};
use crate::on_both_backends;
use crate::support::TestApp;

on_both_backends!(a_name_that_differs_only_in_case_is_taken);

async fn a_name_that_differs_only_in_case_is_taken(app: TestApp) {
    let (_, _, admin) = app.org_with_api_key("Acme Aviation", ADMIN).await;
    let create = |name: &'static str| {
        call(
            &app,
            &admin,
            Method::POST,
            "/api/v1/api-keys",
            Some(json!({ "name": name, "scopes": ["read:flights"] })),
        )
    };
    let (status, first) = create("Sync").await;
    assert_eq!(status, 201, "{first}");
    let (status, problem) = create("sync").await;
    assert_eq!(status, 409, "{problem}");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.contains("already exists"), "{detail}");

    // Non-ASCII names fold too (SQLite's own lower() would not).
    let (status, _) = create("Übersicht").await;
    assert_eq!(status, 201);
    let (status, problem) = create("übersicht").await;
    assert_eq!(status, 409, "{problem}");

    // Renaming onto another key's name in another case is refused as well.
    let (status, other) = create("Nightly").await;
    assert_eq!(status, 201);
    let id = other["id"].as_str().expect("id");
    let (status, problem) = call(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/api-keys/{id}"),
        Some(json!({ "name": "SYNC" })),
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    // A key may change the case of its own name.
    let (status, renamed) = call(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/api-keys/{id}"),
        Some(json!({ "name": "NIGHTLY" })),
    )
    .await;
    assert_eq!((status, renamed["name"].as_str()), (200, Some("NIGHTLY")));
}
