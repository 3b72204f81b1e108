//! Key management, usage and the audit log over Keyward's own API.

use std::time::Duration;

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{TestApp, TestKey};

on_both_backends!(
    an_admin_key_manages_keys_over_the_api,
    bad_management_bodies_name_each_field,
    management_needs_admin_and_stays_in_the_organization,
    usage_and_audit_events_are_readable
);

/// Manages keys (an explicit `admin` on `api-keys`: `*:*` would not) and
/// holds the flight scopes it hands out.
pub(crate) const ADMIN: TestKey = TestKey {
    name: "Automation",
    scopes: &[
        "admin:api-keys",
        "read:usage",
        "read:audit-events",
        "read:flights",
        "write:flights",
    ],
    networks: "0.0.0.0/0\n::/0",
    allow_query_key: false,
};

pub(crate) async fn call(
    app: &TestApp,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app.client.request(method, app.url(path)).header("X-API-Key", key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn an_admin_key_manages_keys_over_the_api(app: TestApp) {
    let (_, _, admin) = app.org_with_api_key("Acme Aviation", ADMIN).await;
    let post = reqwest::Method::POST;
    let (status, created) = call(
        &app,
        &admin,
        post.clone(),
        "/api/v1/api-keys",
        Some(json!({ "name": "Flight sync", "scopes": ["read:flights"], "allowed_networks": ["10.0.0.0/8"], "expires_at": "2099-01-31" })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().expect("the secret, once").to_owned();
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["status"], "active");
    assert_eq!(created["expires_at"], "2099-01-31T00:00:00Z");
    assert_eq!(created["scopes"], json!(["read:flights"]));
    assert_eq!(
        created["created_by"].as_str().map(|s| s.starts_with("API key ask_")),
        Some(true)
    );

    let (status, fetched) = call(
        &app,
        &admin,
        reqwest::Method::GET,
        &format!("/api/v1/api-keys/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(fetched.get("secret").is_none(), "the secret is never shown again");
    assert!(!fetched.to_string().contains(&secret[16..]));

    let (_, page) = call(
        &app,
        &admin,
        reqwest::Method::GET,
        "/api/v1/api-keys?q=flight&status=all",
        None,
    )
    .await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["name"], "Flight sync");

    let (status, patched) = call(
        &app,
        &admin,
        reqwest::Method::PATCH,
        &format!("/api/v1/api-keys/{id}"),
        Some(json!({ "name": "Flight sync v2", "expires_at": null, "scopes": ["read:flights", "write:flights"] })),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["name"], "Flight sync v2");
    assert_eq!(patched["expires_at"], Value::Null);
    assert_eq!(
        patched["allowed_networks"],
        json!(["10.0.0.0/8"]),
        "left out, so unchanged"
    );

    let (_, disabled) = call(
        &app,
        &admin,
        post.clone(),
        &format!("/api/v1/api-keys/{id}/disable"),
        None,
    )
    .await;
    assert_eq!(disabled["status"], "disabled");
    let (_, enabled) = call(
        &app,
        &admin,
        post.clone(),
        &format!("/api/v1/api-keys/{id}/enable"),
        None,
    )
    .await;
    assert_eq!(enabled["status"], "active");
    let (status, rotated) = call(
        &app,
        &admin,
        post.clone(),
        &format!("/api/v1/api-keys/{id}/rotate"),
        Some(json!({ "grace_period": "1h" })),
    )
    .await;
    assert_eq!(status, 200);
    assert_ne!(rotated["secret"], secret.as_str());
    assert_eq!(rotated["secrets"].as_array().map(Vec::len), Some(2));
    let (_, revoked) = call(
        &app,
        &admin,
        post.clone(),
        &format!("/api/v1/api-keys/{id}/revoke"),
        None,
    )
    .await;
    assert_eq!(revoked["status"], "revoked");
    let (status, refused) = call(
        &app,
        &admin,
        post.clone(),
        &format!("/api/v1/api-keys/{id}/enable"),
        None,
    )
    .await;
    assert_eq!((status, refused["code"].as_str()), (409, Some("conflict")));
    let (status, _) = call(
        &app,
        &admin,
        reqwest::Method::DELETE,
        &format!("/api/v1/api-keys/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, gone) = call(
        &app,
        &admin,
        reqwest::Method::GET,
        &format!("/api/v1/api-keys/{id}"),
        None,
    )
    .await;
    assert_eq!((status, gone["code"].as_str()), (404, Some("not_found")));
}

async fn bad_management_bodies_name_each_field(app: TestApp) {
    let (_, _, admin) = app.org_with_api_key("Acme Aviation", ADMIN).await;
    let (status, problem) = call(
        &app,
        &admin,
        reqwest::Method::POST,
        "/api/v1/api-keys",
        Some(
            json!({ "name": " ", "expires_at": "2001-01-01", "scopes": ["fly:x"], "allowed_networks": ["10.0.0.1/8"] }),
        ),
    )
    .await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("invalid_fields")));
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, vec!["name", "expires_at", "scopes", "allowed_networks"]);
    for body in [
        json!({ "name": 5 }),
        json!({ "name": "x", "scopes": "read:x" }),
        json!({ "nom": "x" }),
    ] {
        let (status, problem) = call(
            &app,
            &admin,
            reqwest::Method::POST,
            "/api/v1/api-keys",
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (400, Some("invalid_request")),
            "{body}"
        );
    }
    let raw = app
        .client
        .post(app.url("/api/v1/api-keys"))
        .header("X-API-Key", &admin)
        .header("Content-Type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .expect("request");
    assert_eq!(raw.status().as_u16(), 400);
    let (status, problem) = call(
        &app,
        &admin,
        reqwest::Method::POST,
        "/api/v1/api-keys/nope/rotate",
        Some(json!({ "grace_period": "1y" })),
    )
    .await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("invalid_fields")));
}

async fn management_needs_admin_and_stays_in_the_organization(app: TestApp) {
    let (_, acme_key_id, acme_admin) = app.org_with_api_key("Acme Aviation", ADMIN).await;
    let (_, _, reader) = app
        .org_with_api_key(
            "Globex Airways",
            TestKey {
                scopes: &["read:*"],
                ..TestKey::default()
            },
        )
        .await;
    let (status, problem) = call(&app, &reader, reqwest::Method::GET, "/api/v1/api-keys", None).await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("insufficient_scope")));
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("admin on api-keys")
    );
    let (_, _, globex_admin) = app.org_with_api_key("Initech Air", ADMIN).await;
    for (method, path) in [
        (reqwest::Method::GET, format!("/api/v1/api-keys/{acme_key_id}")),
        (reqwest::Method::POST, format!("/api/v1/api-keys/{acme_key_id}/revoke")),
        (reqwest::Method::DELETE, format!("/api/v1/api-keys/{acme_key_id}")),
    ] {
        let (status, _) = call(&app, &globex_admin, method.clone(), &path, None).await;
        assert_eq!(status, 404, "{method} {path}");
    }
    let (status, _) = call(
        &app,
        &acme_admin,
        reqwest::Method::GET,
        &format!("/api/v1/api-keys/{acme_key_id}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "untouched");
}

async fn usage_and_audit_events_are_readable(app: TestApp) {
    let (_, id, admin) = app.org_with_api_key("Acme Aviation", ADMIN).await;
    call(
        &app,
        &admin,
        reqwest::Method::POST,
        "/api/v1/api-keys",
        Some(json!({ "name": "Made by automation", "scopes": ["read:usage"] })),
    )
    .await;
    let mut usage = Value::Null;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        usage = call(&app, &admin, reqwest::Method::GET, "/api/v1/usage?days=7", None)
            .await
            .1;
        if usage["keys"][0]["requests"].as_i64().unwrap_or(0) >= 2 {
            break;
        }
    }
    assert_eq!(usage["days"].as_array().map(Vec::len), Some(7));
    assert_eq!(usage["keys"][0]["id"], id.as_str());
    assert!(usage["days"][6]["allowed"].as_i64().unwrap_or(0) >= 2, "{usage}");
    let (status, problem) = call(&app, &admin, reqwest::Method::GET, "/api/v1/usage?days=1000", None).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("days")));

    let (status, events) = call(&app, &admin, reqwest::Method::GET, "/api/v1/audit-events?limit=5", None).await;
    assert_eq!(status, 200);
    let newest = &events[0];
    assert_eq!(newest["action"], "api_key_created");
    assert_eq!(newest["actor_kind"], "api_key");
    assert_eq!(newest["target"], "Made by automation");
}

on_both_backends!(listing_keys_over_the_api_without_a_status_lists_every_status);

async fn listing_keys_over_the_api_without_a_status_lists_every_status(app: TestApp) {
    let (org, _, admin) = app.org_with_api_key("Acme Aviation", ADMIN).await;
    let (disabled_id, _) = app
        .add_api_key(
            &org,
            TestKey {
                name: "Paused sync",
                scopes: &["read:flights"],
                ..TestKey::default()
            },
        )
        .await;
    let (status, _) = call(
        &app,
        &admin,
        reqwest::Method::POST,
        &format!("/api/v1/api-keys/{disabled_id}/disable"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (_, page) = call(&app, &admin, reqwest::Method::GET, "/api/v1/api-keys", None).await;
    assert_eq!(page["total"], 2, "{page}");
    let names: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|k| k["name"].as_str())
        .collect();
    assert!(names.contains(&"Paused sync"), "{names:?}");
    let (_, active) = call(
        &app,
        &admin,
        reqwest::Method::GET,
        "/api/v1/api-keys?status=active",
        None,
    )
    .await;
    assert_eq!(active["total"], 1);
    let (_, document) = call(&app, &admin, reqwest::Method::GET, "/api/v1/openapi.json", None).await;
    let status = document["paths"]["/api/v1/api-keys"]["get"]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .find(|p| p["name"] == "status")
        .expect("a status parameter")
        .clone();
    assert!(
        status["description"]
            .as_str()
            .unwrap_or_default()
            .contains("Left out: every status"),
        "the OpenAPI document says so: {status}"
    );
    assert_eq!(
        status["schema"]["enum"],
        json!(["all", "active", "expiring", "disabled", "expired", "revoked"]),
        "{status}"
    );
}

on_both_backends!(the_api_list_reads_can_resource_and_sort_as_its_document_says);

async fn the_api_list_reads_can_resource_and_sort_as_its_document_says(app: TestApp) {
    let (org, _, admin) = app.org_with_api_key("Acme Aviation", ADMIN).await;
    app.add_api_key(
        &org,
        TestKey {
            name: "Asset writer",
            scopes: &["write:assets"],
            ..TestKey::default()
        },
    )
    .await;
    let list = |query: &'static str| call(&app, &admin, reqwest::Method::GET, query, None);
    let names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|k| k["name"].as_str().map(str::to_owned))
            .collect()
    };
    let (status, page) = list("/api/v1/api-keys?can=write&resource=assets/42").await;
    assert_eq!((status, names(&page)), (200, vec!["Asset writer".to_owned()]), "{page}");
    let (_, page) = list("/api/v1/api-keys?can=write&sort=name-asc").await;
    assert_eq!(
        names(&page),
        ["Asset writer", "Automation"],
        "write on some resource (flights, assets), by name"
    );
    let (_, page) = list("/api/v1/api-keys?can=admin&resource=api-keys").await;
    assert_eq!(names(&page), ["Automation"], "the caller itself, which manages keys");

    for (query, field) in [
        ("/api/v1/api-keys?resource=Assets", "resource"),
        ("/api/v1/api-keys?resource=assets//42", "resource"),
        ("/api/v1/api-keys?resource=", "resource"),
        ("/api/v1/api-keys?can=write&resource=%20assets", "resource"),
    ] {
        let (status, problem) = list(query).await;
        assert_eq!(status, 422, "{query}: {problem}");
        assert_eq!(problem["code"], "invalid_fields", "{query}");
        assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem}");
    }
    // A key sent as the resource is judged by its key id: the answer never
    // holds its secret part.
    let (status, answer) = call(
        &app,
        &admin,
        reqwest::Method::GET,
        &format!("/api/v1/api-keys?resource={admin}"),
        None,
    )
    .await;
    assert!(matches!(status, 200 | 422), "{status}: {answer}");
    assert!(!answer.to_string().contains(&admin[16..]), "{answer}");
    for query in [
        "/api/v1/api-keys?can=delete",
        "/api/v1/api-keys?sort=size",
        "/api/v1/api-keys?status=soon",
    ] {
        let (status, problem) = list(query).await;
        assert_eq!(status, 400, "{query}: {problem}");
    }

    let (_, document) = list("/api/v1/openapi.json").await;
    let parameters = document["paths"]["/api/v1/api-keys"]["get"]["parameters"]
        .as_array()
        .expect("parameters")
        .clone();
    let parameter = |name: &str| {
        parameters
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("a {name} parameter"))
            .clone()
    };
    assert_eq!(
        parameter("can")["schema"]["enum"],
        json!(["read", "write", "admin", "*"])
    );
    assert_eq!(
        parameter("sort")["schema"]["enum"],
        json!([
            "created-desc",
            "created-asc",
            "name-asc",
            "name-desc",
            "valid-until-asc",
            "valid-until-desc",
            "last-used-desc",
            "last-used-asc"
        ])
    );
    assert!(
        parameter("resource")
            .to_string()
            .contains("#/components/schemas/Resource"),
        "{}",
        parameter("resource")
    );
}
