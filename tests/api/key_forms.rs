//! The create and edit forms give exactly what they show: nothing filled in
//! is dropped or widened, and an unchanged expiry stays as it was.

use chrono::{NaiveDate, TimeDelta};
use diesel::prelude::*;
use keyward::domain::role::Role;
use keyward::store::schema::{api_keys, key_scopes};
use serde_json::json;

use crate::on_both_backends;
use crate::support::{TestApp, TestKey};

const BASE: &str = "/backoffice/settings/api-keys";

on_both_backends!(
    filled_in_custom_rows_under_full_access_are_refused_and_nothing_is_created,
    a_custom_row_without_a_resource_filter_is_refused_beside_the_scopes,
    an_unchanged_expiry_is_kept_to_the_second_on_edit,
    an_expired_key_can_be_renamed_without_a_new_expiry,
    renewing_an_expired_key_in_the_form_is_refused_beside_its_expiry,
    the_api_refuses_a_scope_with_an_empty_resource_filter
);

/// A System Administrator of a new organization with keys set up, signed in.
pub async fn ready(app: &TestApp) {
    app.signed_in_as(Role::SystemAdministrator).await;
    let csrf = app.csrf_token(&app.client, BASE).await;
    let response = app
        .post_form(&app.client, &format!("{BASE}/setup"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(response.status().as_u16(), 303);
}

/// Posts the create (or, with `id`, the edit) form; returns status and body.
pub async fn submit(app: &TestApp, id: Option<&str>, fields: &[(&str, &str)]) -> (u16, String) {
    let csrf = app.csrf_token(&app.client, &format!("{BASE}/new")).await;
    let mut form = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(fields);
    let path = id.map_or_else(|| BASE.to_owned(), |id| format!("{BASE}/{id}"));
    let response = app.post_form(&app.client, &path, &form).await;
    (response.status().as_u16(), response.text().await.expect("body"))
}

pub async fn key_count(app: &TestApp) -> i64 {
    app.query(|conn| Ok(api_keys::table.count().get_result(conn)?)).await
}

async fn scopes_of(app: &TestApp, name: &str) -> Vec<(String, String)> {
    let name = name.to_owned();
    app.query(move |conn| {
        Ok(key_scopes::table
            .inner_join(api_keys::table)
            .filter(api_keys::name.eq(name))
            .select((key_scopes::action, key_scopes::resource))
            .load(conn)?)
    })
    .await
}

async fn filled_in_custom_rows_under_full_access_are_refused_and_nothing_is_created(app: TestApp) {
    ready(&app).await;
    for mode in ["full", "read"] {
        let (status, body) = submit(
            &app,
            None,
            &[
                ("name", "Asset reader"),
                ("scope_mode", mode),
                ("scope_action", "read"),
                ("scope_resource", "assets"),
                ("scope_action", ""),
                ("scope_resource", ""),
                ("networks", "0.0.0.0/0"),
            ],
        )
        .await;
        assert_eq!(status, 422, "mode {mode:?}: {body}");
        assert!(
            body.contains("You filled in custom scope rows, but") && body.contains("choose “Custom scopes”"),
            "mode {mode:?}: {body}"
        );
        assert!(!body.contains("value=\"ask_"), "no secret: no key");
    }
    assert_eq!(key_count(&app).await, 0, "nothing was created");

    // A row with only a resource filter is filled in too.
    let (status, _) = submit(
        &app,
        None,
        &[
            ("name", "Asset reader"),
            ("scope_mode", "full"),
            ("scope_action", ""),
            ("scope_resource", "assets"),
            ("networks", "0.0.0.0/0"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(key_count(&app).await, 0);

    // Blank rows beside Full access are no choice at all: that key is made.
    let (status, body) = submit(
        &app,
        None,
        &[
            ("name", "Everything"),
            ("scope_mode", "full"),
            ("scope_action", ""),
            ("scope_resource", ""),
            ("networks", "0.0.0.0/0"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(scopes_of(&app, "Everything").await, [("*".to_owned(), "*".to_owned())]);

    // Rows filled in with no choice made are the choice: exactly those.
    let (status, body) = submit(
        &app,
        None,
        &[
            ("name", "Asset reader"),
            ("scope_action", "read"),
            ("scope_resource", "assets"),
            ("networks", "0.0.0.0/0"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        scopes_of(&app, "Asset reader").await,
        [("read".to_owned(), "assets".to_owned())]
    );
}

async fn a_custom_row_without_a_resource_filter_is_refused_beside_the_scopes(app: TestApp) {
    ready(&app).await;
    let (status, body) = submit(
        &app,
        None,
        &[
            ("name", "Writer"),
            ("scope_mode", "custom"),
            ("scope_action", "read"),
            ("scope_resource", "assets"),
            ("scope_action", "write"),
            ("scope_resource", ""),
            ("networks", "0.0.0.0/0"),
        ],
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("Scope 2: The resource filter is empty: write * for everything"),
        "{body}"
    );
    assert!(body.contains("field-invalid"), "the Scopes field is marked: {body}");
    assert_eq!(key_count(&app).await, 0, "no write on everything");

    // `*` said out loud is everything, as before.
    let (status, _) = submit(
        &app,
        None,
        &[
            ("name", "Writer"),
            ("scope_mode", "custom"),
            ("scope_action", "write"),
            ("scope_resource", "*"),
            ("networks", "0.0.0.0/0"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(scopes_of(&app, "Writer").await, [("write".to_owned(), "*".to_owned())]);
}

/// Creates a key named `name` and sets its expiry to `at` directly.
async fn key_expiring_at(app: &TestApp, name: &str, at: chrono::NaiveDateTime) -> String {
    let (status, _) = submit(
        app,
        None,
        &[
            ("name", name),
            ("scope_mode", "custom"),
            ("scope_action", "read"),
            ("scope_resource", "assets"),
            ("networks", "10.0.0.0/8"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let name = name.to_owned();
    app.query(move |conn| {
        let id: String = api_keys::table
            .filter(api_keys::name.eq(&name))
            .select(api_keys::id)
            .first(conn)?;
        diesel::update(api_keys::table.find(&id))
            .set(api_keys::expires_at.eq(Some(at)))
            .execute(conn)?;
        Ok(id)
    })
    .await
}

async fn expiry_of(app: &TestApp, id: &str) -> Option<chrono::NaiveDateTime> {
    let id = id.to_owned();
    app.query(move |conn| Ok(api_keys::table.find(id).select(api_keys::expires_at).first(conn)?))
        .await
}

/// The edit form's expiry field as the page renders it.
async fn shown_expiry(app: &TestApp, id: &str) -> String {
    let body = app
        .client
        .get(app.url(&format!("{BASE}/{id}/edit")))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    let marker = "name=\"expires_at\" type=\"text\" value=\"";
    let start = body.find(marker).expect("the expiry field") + marker.len();
    let end = body[start..].find('"').expect("closed") + start;
    body[start..end].to_owned()
}

async fn an_unchanged_expiry_is_kept_to_the_second_on_edit(app: TestApp) {
    ready(&app).await;
    let at = NaiveDate::from_ymd_opt(2099, 1, 31)
        .and_then(|d| d.and_hms_opt(10, 45, 30))
        .expect("a time");
    let id = key_expiring_at(&app, "Flight sync", at).await;
    let shown = shown_expiry(&app, &id).await;
    assert_eq!(shown, "2099-01-31T10:45:30", "the form hides nothing");
    let (status, body) = submit(
        &app,
        Some(&id),
        &[
            ("name", "Flight sync v2"),
            ("expires_at", &shown),
            ("scope_mode", "custom"),
            ("scope_action", "read"),
            ("scope_resource", "assets"),
            ("networks", "10.0.0.0/8"),
        ],
    )
    .await;
    assert_eq!(status, 303, "{body}");
    assert_eq!(expiry_of(&app, &id).await, Some(at), "kept to the second");
}

async fn an_expired_key_can_be_renamed_without_a_new_expiry(app: TestApp) {
    ready(&app).await;
    let at = (keyward::store::now() - TimeDelta::days(2))
        .date()
        .and_hms_opt(8, 15, 0)
        .expect("a time");
    let id = key_expiring_at(&app, "Old sync", at).await;
    let shown = shown_expiry(&app, &id).await;
    let (status, body) = submit(
        &app,
        Some(&id),
        &[
            ("name", "Old sync (retired)"),
            ("expires_at", &shown),
            ("scope_mode", "custom"),
            ("scope_action", "read"),
            ("scope_resource", "assets"),
            ("networks", "10.0.0.0/8"),
        ],
    )
    .await;
    assert_eq!(status, 303, "renamed: {body}");
    assert_eq!(expiry_of(&app, &id).await, Some(at));
    let name: String = {
        let id = id.clone();
        app.query(move |conn| Ok(api_keys::table.find(id).select(api_keys::name).first(conn)?))
            .await
    };
    assert_eq!(name, "Old sync (retired)");

    // A changed expiry is still checked.
    let (status, body) = submit(
        &app,
        Some(&id),
        &[
            ("name", "Old sync (retired)"),
            ("expires_at", "2001-01-01"),
            ("scope_mode", "custom"),
            ("scope_action", "read"),
            ("scope_resource", "assets"),
            ("networks", "10.0.0.0/8"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("is not in the future"), "{body}");
}

async fn renewing_an_expired_key_in_the_form_is_refused_beside_its_expiry(app: TestApp) {
    ready(&app).await;
    let at = (keyward::store::now() - TimeDelta::days(2))
        .date()
        .and_hms_opt(8, 15, 0)
        .expect("a time");
    let id = key_expiring_at(&app, "Old sync", at).await;
    let (status, body) = submit(
        &app,
        Some(&id),
        &[
            ("name", "Old sync"),
            ("expires_at", "2099-01-31"),
            ("scope_mode", "custom"),
            ("scope_action", "read"),
            ("scope_resource", "assets"),
            ("networks", "10.0.0.0/8"),
        ],
    )
    .await;
    assert_eq!(status, 422, "the form again, not an error page: {body}");
    let field_error = body
        .split("id=\"key-expires-error\">")
        .nth(1)
        .and_then(|rest| rest.split("</p>").next())
        .unwrap_or_default();
    assert!(field_error.contains("rotate it"), "beside the expiry field: {body}");
    assert_eq!(expiry_of(&app, &id).await, Some(at), "nothing changed");
}

async fn the_api_refuses_a_scope_with_an_empty_resource_filter(app: TestApp) {
    let admin = TestKey {
        name: "Automation",
        scopes: &["*:*", "admin:api-keys"],
        ..TestKey::default()
    };
    let (_, _, key) = app.org_with_api_key("Acme Aviation", admin).await;
    for scope in ["read:", "write: "] {
        let response = app
            .client
            .post(app.url("/api/v1/api-keys"))
            .header("X-API-Key", &key)
            .json(&json!({ "name": "Blank", "scopes": [scope], "allowed_networks": ["10.0.0.0/8"] }))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 422, "{scope}");
        let body = response.text().await.expect("body");
        assert!(body.contains("The resource filter is empty"), "{scope}: {body}");
    }
    let count = key_count(&app).await;
    assert_eq!(count, 1, "only the admin key");
}
