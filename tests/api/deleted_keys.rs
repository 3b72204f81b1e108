//! Deleted keys keep their history (issue 12, item 12): a deleted key's page
//! answers, read-only and marked deleted, with its settings, usage and
//! history; the audit log and the usage report link to it; every change to
//! it is still refused; another organization's deleted key is not found.

use chrono::TimeDelta;
use diesel::prelude::*;
use keyward::domain::role::Role;
use keyward::store::organizations::Organization;
use keyward::store::schema::{api_keys, audit_events};
use keyward::store::usage::{self, UsageDelta};
use serde_json::json;

use crate::management::{ADMIN, call};
use crate::on_both_backends;
use crate::support::{PASSWORD, TestApp};

const BASE: &str = "/backoffice/settings/api-keys";

on_both_backends!(
    a_deleted_keys_page_shows_what_it_was_read_only_with_its_history,
    every_change_to_a_deleted_key_is_still_refused,
    another_organizations_deleted_key_is_not_found,
    the_audit_log_and_the_usage_report_link_a_deleted_key_to_its_page
);

async fn page(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String) {
    let response = client.get(app.url(path)).send().await.expect("request");
    (response.status().as_u16(), response.text().await.expect("body"))
}

/// A signed-in System Administrator's organization, set up for keys, with
/// "Flight sync" (read on assets and write on crew, from 10.0.0.0/8) made
/// in the backoffice, used 7 times, edited once and deleted; returns the
/// organization and the key's id.
async fn org_with_a_deleted_key(app: &TestApp) -> (Organization, String) {
    let (org, _) = app.signed_in_as(Role::SystemAdministrator).await;
    let csrf = app.csrf_token(&app.client, BASE).await;
    app.post_form(&app.client, &format!("{BASE}/setup"), &[("csrf_token", &csrf)])
        .await;
    let created = app
        .post_form(
            &app.client,
            BASE,
            &[
                ("csrf_token", &csrf),
                ("name", "Flight sync"),
                ("scope_mode", "custom"),
                ("scope_action", "read"),
                ("scope_resource", "assets"),
                ("scope_action", "write"),
                ("scope_resource", "crew"),
                ("networks", "10.0.0.0/8"),
            ],
        )
        .await;
    assert_eq!(created.status().as_u16(), 200);
    let id: String = app
        .query(|conn| {
            Ok(api_keys::table
                .filter(api_keys::name.eq("Flight sync"))
                .select(api_keys::id)
                .first(conn)?)
        })
        .await;
    let delta = UsageDelta {
        api_key_id: id.clone(),
        org_id: org.id.clone(),
        hour: keyward::store::now() - TimeDelta::hours(2),
        outcome: "allowed".to_owned(),
        count: 7,
    };
    app.query(move |conn| Ok(usage::add(conn, &[delta])?)).await;
    let edited = app
        .post_form(
            &app.client,
            &format!("{BASE}/{id}"),
            &[
                ("csrf_token", &csrf),
                ("name", "Flight sync"),
                ("scope_mode", "custom"),
                ("scope_action", "read"),
                ("scope_resource", "assets"),
                ("networks", "10.0.0.0/8\n192.168.0.0/16"),
            ],
        )
        .await;
    assert_eq!(edited.status().as_u16(), 303);
    let deleted = app
        .post_form(&app.client, &format!("{BASE}/{id}/delete"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(deleted.status().as_u16(), 303);
    (org, id)
}

async fn a_deleted_keys_page_shows_what_it_was_read_only_with_its_history(app: TestApp) {
    let (_, id) = org_with_a_deleted_key(&app).await;

    let (status, body) = page(&app, &app.client, &format!("{BASE}/{id}")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(">Flight sync</h1>"), "{body}");
    assert!(body.contains(">Deleted</span>"), "the Deleted badge: {body}");
    let today = keyward::store::now().date();
    assert!(
        body.contains(&format!("Deleted on {today}")) && body.contains(" by system-administrator@acme.test."),
        "who deleted it, and when: {body}"
    );
    // Its settings as they were when it was deleted.
    assert!(body.contains("<code>read on assets</code>"), "{body}");
    assert!(
        !body.contains("<code>write on crew</code>"),
        "the edit had removed it: {body}"
    );
    assert!(body.contains("<code>192.168.0.0/16</code>"), "{body}");
    assert!(body.contains(">Erased<"), "its secrets are erased: {body}");
    // Its usage and its whole history, the deletion included.
    assert!(body.contains("aria-label=\"Requests per day\""), "{body}");
    for action in ["Key created", "Key edited", "Key deleted"] {
        assert!(body.contains(&format!(">{action}<")), "{action}: {body}");
    }
    assert!(body.contains("Scopes: removed write on crew"), "{body}");
    assert!(body.contains("Networks: added 192.168.0.0/16"), "{body}");
    assert!(
        body.contains("Secrets erased: the key can never be used again"),
        "{body}"
    );
    // Read-only: nothing on the page leads to a change.
    for action in ["/edit", "/enable", "/disable", "/rotate", "/revoke", "/delete"] {
        let target = format!("{BASE}/{id}{action}\"");
        assert!(!body.contains(&target), "no way to {action}: {body}");
    }
    assert!(!body.contains("hx-post"), "no action posts from this page: {body}");

    // The list never shows it.
    let (_, list) = page(&app, &app.client, &format!("{BASE}?status=all")).await;
    assert!(!list.contains("Flight sync"), "{list}");
}

async fn every_change_to_a_deleted_key_is_still_refused(app: TestApp) {
    let (org, id) = org_with_a_deleted_key(&app).await;
    let (_, admin) = app.add_api_key(&org, ADMIN).await;
    let events = {
        let id = id.clone();
        move || {
            let id = id.clone();
            move |conn: &mut keyward::store::DbConnection| {
                Ok(audit_events::table
                    .filter(audit_events::target_id.eq(id))
                    .count()
                    .get_result::<i64>(conn)?)
            }
        }
    };
    let before = app.query(events()).await;

    for path in ["/edit", "/rotate", "/revoke", "/delete"] {
        let (status, _) = page(&app, &app.client, &format!("{BASE}/{id}{path}")).await;
        assert_eq!(status, 404, "GET {path}");
    }
    let csrf = app.csrf_token(&app.client, BASE).await;
    for path in ["", "/enable", "/disable", "/rotate", "/revoke", "/delete"] {
        let response = app
            .post_form(
                &app.client,
                &format!("{BASE}/{id}{path}"),
                &[
                    ("csrf_token", &csrf),
                    ("name", "Flight sync again"),
                    ("scope_mode", "full"),
                    ("networks", "0.0.0.0/0"),
                    ("grace", "now"),
                ],
            )
            .await;
        assert_eq!(response.status().as_u16(), 404, "POST {path}");
    }
    let key = format!("/api/v1/api-keys/{id}");
    for (method, path, body) in [
        (reqwest::Method::GET, key.clone(), None),
        (
            reqwest::Method::PATCH,
            key.clone(),
            Some(json!({ "name": "Back again" })),
        ),
        (reqwest::Method::DELETE, key.clone(), None),
        (reqwest::Method::POST, format!("{key}/enable"), None),
        (reqwest::Method::POST, format!("{key}/disable"), None),
        (
            reqwest::Method::POST,
            format!("{key}/rotate"),
            Some(json!({ "grace_period": "now" })),
        ),
        (reqwest::Method::POST, format!("{key}/revoke"), None),
    ] {
        let (status, problem) = call(&app, &admin, method.clone(), &path, body).await;
        assert_eq!(status, 404, "{method} {path}: {problem}");
    }
    let (_, listed) = call(&app, &admin, reqwest::Method::GET, "/api/v1/api-keys", None).await;
    assert!(!listed.to_string().contains(&id), "the API lists it no more: {listed}");

    assert_eq!(
        app.query(events()).await,
        before,
        "nothing was done, so nothing is audited"
    );
    let (name, deleted_at): (String, Option<chrono::NaiveDateTime>) = app
        .query(move |conn| {
            Ok(api_keys::table
                .filter(api_keys::id.eq(id))
                .select((api_keys::name, api_keys::deleted_at))
                .first(conn)?)
        })
        .await;
    assert_eq!(name, "Flight sync");
    assert!(deleted_at.is_some(), "still deleted");
}

async fn another_organizations_deleted_key_is_not_found(app: TestApp) {
    let (_, id) = org_with_a_deleted_key(&app).await;
    let globex = app.create_org("Globex Airways").await;
    app.create_user(&globex, Role::SystemAdministrator, "gil@globex.test")
        .await;
    let intruder = app.new_client();
    let signed_in = app.sign_in_with(&intruder, "gil@globex.test", PASSWORD).await;
    assert_eq!(signed_in.status().as_u16(), 303);

    let (status, body) = page(&app, &intruder, &format!("{BASE}/{id}")).await;
    assert_eq!(status, 404, "{body}");
    assert!(!body.contains("Flight sync"), "{body}");
    let (_, audit) = page(&app, &intruder, &format!("{BASE}/audit?q=flight")).await;
    assert!(!audit.contains("Flight sync"), "{audit}");
}

async fn the_audit_log_and_the_usage_report_link_a_deleted_key_to_its_page(app: TestApp) {
    let (_, id) = org_with_a_deleted_key(&app).await;
    let link = format!("<a href=\"{BASE}/{id}\">Flight sync</a>");

    let (status, audit) = page(&app, &app.client, &format!("{BASE}/audit?action=api_key_deleted")).await;
    assert_eq!(status, 200, "{audit}");
    assert!(audit.contains(&link), "the deletion links the key: {audit}");
    let (_, usage) = page(&app, &app.client, &format!("{BASE}/usage")).await;
    assert!(
        usage.contains(&format!("<a href=\"{BASE}/{id}\">Flight sync (deleted)</a>")),
        "{usage}"
    );
    let (status, _) = page(&app, &app.client, &format!("{BASE}/{id}")).await;
    assert_eq!(status, 200, "the link leads to its page");
}
