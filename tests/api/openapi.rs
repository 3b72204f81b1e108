//! The OpenAPI document matches the routes the code registers.

use std::collections::BTreeSet;

use keyward::store::Backend;

use crate::support::TestApp;

crate::tests!(the_openapi_document_lists_every_route_and_nothing_else);

async fn the_openapi_document_lists_every_route_and_nothing_else() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("SQLite is always there");
    let response = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    let document: serde_json::Value = response.json().await.expect("json");
    assert!(
        document["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")),
        "{}",
        document["openapi"]
    );

    let documented: BTreeSet<(String, String)> = document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, operations)| {
            operations
                .as_object()
                .expect("operations")
                .keys()
                .map(move |method| (method.to_ascii_uppercase(), path.clone()))
        })
        .collect();
    // From the route tables the router is built from; the gateway check
    // answers any method and is documented as the GET gateways send.
    let registered: BTreeSet<(String, String)> = keyward::api::route_listing()
        .into_iter()
        .map(|route| {
            (
                route.method.map_or_else(|| "GET".to_owned(), |m| m.to_string()),
                route.path,
            )
        })
        .collect();
    assert_eq!(documented, registered);

    // Every listed route exists and wants a key: without one it is 401, never
    // 404; the gateway check first wants a trusted gateway (403).
    for (method, path) in &registered {
        let url = app.url(&path.replace("{id}", "some-id"));
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let response = app.client.request(method.clone(), url).send().await.expect("request");
        let expected = if path == "/auth/check" { 403 } else { 401 };
        assert_eq!(response.status().as_u16(), expected, "{method} {path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{method} {path}"
        );
    }
    for schema in ["KeyJson", "KeyWithSecret", "CreateKey", "Verdict", "Problem"] {
        assert!(document["components"]["schemas"][schema].is_object(), "schema {schema}");
    }
}
