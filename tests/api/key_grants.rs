//! A key can never give more than it holds: what a key with `admin` on
//! `api-keys` may grant, set and rotate over the management API.

use serde_json::{Value, json};

use crate::management::call;
use crate::on_both_backends;
use crate::support::{TestApp, TestKey};

on_both_backends!(
    a_key_cannot_create_keys_wider_than_itself,
    a_key_cannot_widen_itself,
    a_key_may_rotate_only_keys_it_covers_but_may_take_away_from_any,
    full_access_keys_do_not_manage_keys,
    a_key_cannot_give_more_time_than_it_has_left
);

/// Manages keys, reads flights, from loopback only; no URL-query option.
const NARROW_ADMIN: TestKey = TestKey {
    name: "Flight automation",
    scopes: &["admin:api-keys", "read:flights"],
    networks: "127.0.0.0/8",
    allow_query_key: false,
};

async fn create(app: &TestApp, key: &str, body: Value) -> (u16, Value) {
    call(app, key, reqwest::Method::POST, "/api/v1/api-keys", Some(body)).await
}

fn refusal(answer: &(u16, Value)) -> (u16, Option<&str>) {
    (answer.0, answer.1["code"].as_str())
}

fn detail(answer: &(u16, Value)) -> &str {
    answer.1["detail"].as_str().unwrap_or_default()
}

async fn a_key_cannot_create_keys_wider_than_itself(app: TestApp) {
    let (_, _, admin) = app.org_with_api_key("Acme Aviation", NARROW_ADMIN).await;

    let wider_action = create(&app, &admin, json!({ "name": "W", "scopes": ["write:flights"] })).await;
    assert_eq!(
        refusal(&wider_action),
        (403, Some("scope_escalation")),
        "{:?}",
        wider_action.1
    );
    assert!(
        detail(&wider_action).contains("write on flights"),
        "{}",
        detail(&wider_action)
    );
    let wider_filter = create(&app, &admin, json!({ "name": "W", "scopes": ["read:*"] })).await;
    assert_eq!(refusal(&wider_filter), (403, Some("scope_escalation")));
    let full = create(&app, &admin, json!({ "name": "W", "scopes": ["*:*"] })).await;
    assert_eq!(refusal(&full), (403, Some("scope_escalation")));

    let wider_network = create(
        &app,
        &admin,
        json!({ "name": "W", "scopes": ["read:flights"], "allowed_networks": ["0.0.0.0/0"] }),
    )
    .await;
    assert_eq!(refusal(&wider_network), (403, Some("network_escalation")));
    assert!(
        detail(&wider_network).contains("0.0.0.0/0"),
        "{}",
        detail(&wider_network)
    );
    let other_family = create(
        &app,
        &admin,
        json!({ "name": "W", "scopes": ["read:flights"], "allowed_networks": ["::1/128"] }),
    )
    .await;
    assert_eq!(refusal(&other_family), (403, Some("network_escalation")));

    let query = create(
        &app,
        &admin,
        json!({ "name": "W", "scopes": ["read:flights"], "allow_query_key": true }),
    )
    .await;
    assert_eq!(refusal(&query), (403, Some("query_key_escalation")));

    let no_scopes = create(&app, &admin, json!({ "name": "W" })).await;
    assert_eq!(
        refusal(&no_scopes),
        (422, Some("invalid_fields")),
        "never full access by default"
    );
    assert_eq!(no_scopes.1["errors"][0]["field"], "scopes");

    let (_, listed) = call(&app, &admin, reqwest::Method::GET, "/api/v1/api-keys?status=all", None).await;
    assert_eq!(listed["total"], 1, "nothing was created by the refused requests");

    let narrower = create(
        &app,
        &admin,
        json!({ "name": "Flight reader", "scopes": ["read:flights/schedules"], "allowed_networks": ["127.0.0.0/16"] }),
    )
    .await;
    assert_eq!(narrower.0, 201, "{}", narrower.1);
    let defaulted = create(
        &app,
        &admin,
        json!({ "name": "Flight reader 2", "scopes": ["read:flights"] }),
    )
    .await;
    assert_eq!(defaulted.0, 201, "{}", defaulted.1);
    assert_eq!(
        defaulted.1["allowed_networks"],
        json!(["127.0.0.0/8"]),
        "networks left out are the caller's own"
    );
}

async fn a_key_cannot_widen_itself(app: TestApp) {
    let (_, id, admin) = app.org_with_api_key("Acme Aviation", NARROW_ADMIN).await;
    let path = format!("/api/v1/api-keys/{id}");
    let patch = reqwest::Method::PATCH;
    let full = call(&app, &admin, patch.clone(), &path, Some(json!({ "scopes": ["*:*"] }))).await;
    assert_eq!(refusal(&full), (403, Some("scope_escalation")), "{}", full.1);
    let more = call(
        &app,
        &admin,
        patch.clone(),
        &path,
        Some(json!({ "scopes": ["admin:api-keys", "read:flights", "write:flights"] })),
    )
    .await;
    assert_eq!(refusal(&more), (403, Some("scope_escalation")));
    let anywhere = call(
        &app,
        &admin,
        patch.clone(),
        &path,
        Some(json!({ "allowed_networks": ["0.0.0.0/0", "::/0"] })),
    )
    .await;
    assert_eq!(refusal(&anywhere), (403, Some("network_escalation")));
    let (_, unchanged) = call(&app, &admin, reqwest::Method::GET, &path, None).await;
    assert_eq!(unchanged["scopes"], json!(["read:flights", "admin:api-keys"]));
    assert_eq!(unchanged["allowed_networks"], json!(["127.0.0.0/8"]));

    let narrowed = call(
        &app,
        &admin,
        patch.clone(),
        &path,
        Some(json!({ "scopes": ["admin:api-keys"], "allowed_networks": ["127.0.0.1"] })),
    )
    .await;
    assert_eq!(narrowed.0, 200, "{}", narrowed.1);
    assert_eq!(narrowed.1["scopes"], json!(["admin:api-keys"]));
    let back = call(
        &app,
        &admin,
        patch,
        &path,
        Some(json!({ "scopes": ["admin:api-keys", "read:flights"] })),
    )
    .await;
    assert_eq!(refusal(&back), (403, Some("scope_escalation")), "narrowing is for good");
}

async fn a_key_may_rotate_only_keys_it_covers_but_may_take_away_from_any(app: TestApp) {
    let (org, _, admin) = app.org_with_api_key("Acme Aviation", NARROW_ADMIN).await;
    let (wide_id, _) = app
        .add_api_key(
            &org,
            TestKey {
                name: "Everything",
                ..TestKey::default()
            },
        )
        .await;
    let (covered_id, _) = app
        .add_api_key(
            &org,
            TestKey {
                name: "Flight reader",
                scopes: &["read:flights"],
                networks: "127.0.0.1",
                allow_query_key: false,
            },
        )
        .await;
    let post = reqwest::Method::POST;

    let rotated = call(
        &app,
        &admin,
        post.clone(),
        &format!("/api/v1/api-keys/{wide_id}/rotate"),
        None,
    )
    .await;
    assert_eq!(refusal(&rotated), (403, Some("scope_escalation")), "{}", rotated.1);
    assert!(rotated.1.get("secret").is_none());
    let (_, wide) = call(
        &app,
        &admin,
        reqwest::Method::GET,
        &format!("/api/v1/api-keys/{wide_id}"),
        None,
    )
    .await;
    assert_eq!(
        wide["secrets"].as_array().map(Vec::len),
        Some(1),
        "no new secret exists"
    );

    let enabled_wider = call(
        &app,
        &admin,
        post.clone(),
        &format!("/api/v1/api-keys/{wide_id}/enable"),
        None,
    )
    .await;
    assert_eq!(refusal(&enabled_wider), (403, Some("scope_escalation")));
    let renamed_wider = call(
        &app,
        &admin,
        reqwest::Method::PATCH,
        &format!("/api/v1/api-keys/{wide_id}"),
        Some(json!({ "expires_at": null })),
    )
    .await;
    assert_eq!(refusal(&renamed_wider), (403, Some("scope_escalation")));

    let rotated = call(
        &app,
        &admin,
        post.clone(),
        &format!("/api/v1/api-keys/{covered_id}/rotate"),
        None,
    )
    .await;
    assert_eq!(rotated.0, 200, "{}", rotated.1);
    assert!(rotated.1["secret"].as_str().is_some_and(|s| s.starts_with("ask_")));

    for (action, status) in [("disable", "disabled"), ("revoke", "revoked")] {
        let (code, body) = call(
            &app,
            &admin,
            post.clone(),
            &format!("/api/v1/api-keys/{wide_id}/{action}"),
            None,
        )
        .await;
        assert_eq!((code, body["status"].as_str()), (200, Some(status)), "{action}: {body}");
    }
    let (code, _) = call(
        &app,
        &admin,
        reqwest::Method::DELETE,
        &format!("/api/v1/api-keys/{wide_id}"),
        None,
    )
    .await;
    assert_eq!(code, 204);
}

async fn full_access_keys_do_not_manage_keys(app: TestApp) {
    let (org, _, full) = app.org_with_api_key("Acme Aviation", TestKey::default()).await;
    let (status, problem) = call(&app, &full, reqwest::Method::GET, "/api/v1/api-keys", None).await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("insufficient_scope")));
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("admin on api-keys")
    );
    let (status, _) = create(&app, &full, json!({ "name": "Minted", "scopes": ["*:*"] })).await;
    assert_eq!(status, 403);
    assert_eq!(
        app.get_with_key("/api/v1/me", &full).await.status().as_u16(),
        200,
        "the key itself still works"
    );
    let (_, explicit) = app
        .add_api_key(
            &org,
            TestKey {
                name: "Key manager",
                scopes: &["*:*", "admin:api-keys"],
                ..TestKey::default()
            },
        )
        .await;
    let (status, _) = call(&app, &explicit, reqwest::Method::GET, "/api/v1/api-keys", None).await;
    assert_eq!(status, 200, "an explicit admin on api-keys manages keys");
}

async fn a_key_cannot_give_more_time_than_it_has_left(app: TestApp) {
    let (org, admin_id, admin) = app.org_with_api_key("Acme Aviation", NARROW_ADMIN).await;
    // The managing key stops working in an hour.
    let in_an_hour = keyward::store::now() + chrono::TimeDelta::hours(1);
    let (org_id, id) = (org.id.clone(), admin_id.clone());
    app.db
        .transaction(move |conn| {
            keyward::store::api_keys::set_expiry(conn, &org_id, &id, Some(in_an_hour), keyward::store::now())?;
            Ok::<_, keyward::error::AppError>(())
        })
        .await
        .expect("expiry set");
    let later = (in_an_hour + chrono::TimeDelta::days(1)).and_utc().to_rfc3339();
    let sooner = (in_an_hour - chrono::TimeDelta::minutes(30)).and_utc().to_rfc3339();
    let scopes = json!(["read:flights"]);

    let forever = create(&app, &admin, json!({ "name": "Forever", "scopes": scopes })).await;
    assert_eq!(refusal(&forever), (403, Some("expiry_escalation")), "{:?}", forever.1);
    let longer = create(
        &app,
        &admin,
        json!({ "name": "Longer", "scopes": scopes, "expires_at": later }),
    )
    .await;
    assert_eq!(refusal(&longer), (403, Some("expiry_escalation")), "{:?}", longer.1);
    let shorter = create(
        &app,
        &admin,
        json!({ "name": "Shorter", "scopes": scopes, "expires_at": sooner }),
    )
    .await;
    assert_eq!(shorter.0, 201, "{:?}", shorter.1);

    // Nor prolong itself, nor a key it made.
    let own = format!("/api/v1/api-keys/{admin_id}");
    let prolonged = call(
        &app,
        &admin,
        reqwest::Method::PATCH,
        &own,
        Some(json!({ "expires_at": null })),
    )
    .await;
    assert_eq!(
        refusal(&prolonged),
        (403, Some("expiry_escalation")),
        "{:?}",
        prolonged.1
    );
    let made = format!("/api/v1/api-keys/{}", shorter.1["id"].as_str().expect("id"));
    let prolonged = call(
        &app,
        &admin,
        reqwest::Method::PATCH,
        &made,
        Some(json!({ "expires_at": later })),
    )
    .await;
    assert_eq!(
        refusal(&prolonged),
        (403, Some("expiry_escalation")),
        "{:?}",
        prolonged.1
    );
    let rotated = call(
        &app,
        &admin,
        reqwest::Method::POST,
        &format!("{made}/rotate"),
        Some(json!({ "expires_at": null })),
    )
    .await;
    assert_eq!(refusal(&rotated), (403, Some("expiry_escalation")), "{:?}", rotated.1);

    // A secret in its rotation grace period ends then: so does what it may give.
    let (other_id, other) = app
        .add_api_key(
            &org,
            TestKey {
                name: "Rotated manager",
                ..NARROW_ADMIN
            },
        )
        .await;
    let rotation = call(
        &app,
        &other,
        reqwest::Method::POST,
        &format!("/api/v1/api-keys/{other_id}/rotate"),
        Some(json!({ "grace_period": "1h" })),
    )
    .await;
    assert_eq!(rotation.0, 200, "{:?}", rotation.1);
    let new_secret = rotation.1["secret"].as_str().expect("the new secret").to_owned();
    let from_old = create(&app, &other, json!({ "name": "From old", "scopes": scopes })).await;
    assert_eq!(refusal(&from_old), (403, Some("expiry_escalation")), "{:?}", from_old.1);
    let from_new = create(&app, &new_secret, json!({ "name": "From new", "scopes": scopes })).await;
    assert_eq!(from_new.0, 201, "{:?}", from_new.1);
}
