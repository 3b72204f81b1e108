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
    every_operation_documents_its_refusals(&document);
}

crate::tests!(the_gateway_check_documents_the_header_family_the_server_reads);

/// Each operation names the refusals every key check can give, each as
/// problem+json; parameters sit where the server reads them; the three ways
/// a key may be sent are security schemes.
fn every_operation_documents_its_refusals(document: &serde_json::Value) {
    for (path, operations) in document["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            let responses = operation["responses"].as_object().expect("responses");
            for status in ["400", "401", "403", "429", "503"] {
                assert!(responses.contains_key(status), "{method} {path} documents {status}");
            }
            for (status, response) in responses {
                if !status.starts_with('2') {
                    assert!(
                        response["content"]["application/problem+json"].is_object(),
                        "{method} {path} {status} is problem+json"
                    );
                }
            }
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let expected = if path.contains(&format!("{{{}}}", parameter["name"].as_str().unwrap_or_default())) {
                    "path"
                } else if path == "/auth/check" {
                    "header"
                } else {
                    "query"
                };
                assert_eq!(parameter["in"], expected, "{method} {path} {parameter}");
            }
        }
    }
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(
        (&schemes["api_key"]["in"], &schemes["api_key"]["name"]),
        (&serde_json::json!("header"), &serde_json::json!("X-API-Key"))
    );
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(
        (&schemes["api_key_query"]["in"], &schemes["api_key_query"]["name"]),
        (&serde_json::json!("query"), &serde_json::json!("api_key"))
    );
}

async fn the_gateway_check_documents_the_header_family_the_server_reads() {
    for (family, read, other) in [
        (
            keyward::api::check::GatewayHeaders::Original,
            "X-Original-URI",
            "X-Forwarded-Uri",
        ),
        (
            keyward::api::check::GatewayHeaders::Forwarded,
            "X-Forwarded-Uri",
            "X-Original-URI",
        ),
    ] {
        let app = TestApp::spawn_with(Backend::Sqlite, |settings| settings.gateway_headers = family)
            .await
            .expect("SQLite is always there");
        let document: serde_json::Value = app
            .client
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        let parameters = document["paths"]["/auth/check"]["get"]["parameters"]
            .as_array()
            .expect("parameters")
            .clone();
        let required = |name: &str| {
            parameters
                .iter()
                .find(|p| p["name"] == name)
                .and_then(|p| p["required"].as_bool())
        };
        assert_eq!(
            (required(read), required(other)),
            (Some(true), Some(false)),
            "{family:?}"
        );
    }
}
