//! The organization-wide Usage page and the Audit log, over HTTP.

use chrono::TimeDelta;
use keyward::domain::audit::{Actor, AuditAction, Target};
use keyward::domain::role::Role;
use keyward::store::usage::{self, UsageDelta};

use crate::on_both_backends;
use crate::support::{TestApp, TestKey};

const BASE: &str = "/backoffice/settings/api-keys";

on_both_backends!(
    the_usage_page_totals_requests_per_day_key_and_reason,
    the_audit_log_filters_pages_and_exports_as_csv,
    out_of_range_audit_dates_are_refused_beside_their_field
);

async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let response = app.client.get(app.url(path)).send().await.expect("request");
    (response.status().as_u16(), response.text().await.expect("body"))
}

/// Adds `count` requests with `outcome` to `key`'s bucket `hours_ago` hours back.
async fn add_usage(app: &TestApp, org_id: &str, key: &str, hours_ago: i64, outcome: &str, count: i64) {
    let delta = UsageDelta {
        api_key_id: key.to_owned(),
        org_id: org_id.to_owned(),
        hour: keyward::store::now() - TimeDelta::hours(hours_ago),
        outcome: outcome.to_owned(),
        count,
    };
    app.query(move |conn| Ok(usage::add(conn, &[delta])?)).await;
}

async fn the_usage_page_totals_requests_per_day_key_and_reason(app: TestApp) {
    let (org, _) = app.signed_in_as(Role::SystemAdministrator).await;
    let setup_org = org.clone();
    app.query(move |conn| keyward::service::keys::bootstrap(conn, &setup_org, &Actor::Cli, None).map(drop))
        .await;
    let (busy, _) = app
        .add_api_key(
            &org,
            TestKey {
                name: "Flight sync",
                ..TestKey::default()
            },
        )
        .await;
    let (quiet, _) = app
        .add_api_key(
            &org,
            TestKey {
                name: "Crew roster",
                ..TestKey::default()
            },
        )
        .await;
    let (other_org, other_key, _) = app
        .org_with_api_key(
            "Other Air",
            TestKey {
                name: "Somebody else's key",
                ..TestKey::default()
            },
        )
        .await;
    add_usage(&app, &org.id, &busy, 0, "allowed", 40).await;
    add_usage(&app, &org.id, &busy, 0, "ip_not_allowed", 3).await;
    add_usage(&app, &org.id, &quiet, 1, "allowed", 2).await;
    // Ten days ago: inside 30 days, outside 7.
    add_usage(&app, &org.id, &quiet, 240, "allowed", 500).await;
    add_usage(&app, &other_org.id, &other_key, 0, "allowed", 9999).await;

    let (status, body) = page(&app, &format!("{BASE}/usage")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Last 30 days"), "{body}");
    assert!(body.contains("<dt>Allowed</dt><dd>542</dd>"), "{body}");
    assert!(body.contains("<dt>Rejected</dt><dd>3</dd>"), "{body}");
    assert!(body.contains("aria-label=\"Top keys\""));
    let quiet_at = body.find("Crew roster").expect("the quiet key is listed");
    let busy_at = body.find("Flight sync").expect("the busy key is listed");
    assert!(quiet_at < busy_at, "most requests first: 502 before 43");
    assert!(body.contains("<code>ip_not_allowed</code></td><td>3</td>"), "{body}");
    assert!(
        !body.contains("Somebody else"),
        "another organization's usage stays out"
    );
    // Between tags: a random token or key id in the page may hold "9999" too.
    assert!(!body.contains(">9999<"), "another organization's count stays out");

    let (status, body) = page(&app, &format!("{BASE}/usage?days=7")).await;
    assert_eq!(status, 200);
    assert!(body.contains("<dt>Allowed</dt><dd>42</dd>"), "{body}");

    let (status, body) = page(&app, &format!("{BASE}/usage?days=5")).await;
    assert_eq!(status, 400);
    assert!(body.contains("choose 7, 30 or 90 days"), "{body}");
}

async fn the_audit_log_filters_pages_and_exports_as_csv(app: TestApp) {
    let org = app.create_org("Acme Aviation").await;
    let email = app.create_user(&org, Role::SystemAdministrator, "sam@acme.test").await;
    app.create_key_in_backoffice(&email, "Flight sync").await;
    let csrf = app.csrf_token(&app.client, BASE).await;
    let created = app
        .post_form(
            &app.client,
            BASE,
            &[
                ("csrf_token", &csrf),
                ("name", "=HYPERLINK(\"x\")"),
                ("scope_mode", "full"),
                ("networks", "0.0.0.0/0"),
            ],
        )
        .await;
    assert_eq!(created.status().as_u16(), 200);
    // Another organization's sign-in must not show here.
    let other = app.create_org("Other Air").await;
    let other_email = app
        .create_user(&other, Role::SystemAdministrator, "eve@other.test")
        .await;
    let signed_in = app
        .sign_in_with(&app.new_client(), &other_email, crate::support::PASSWORD)
        .await;
    assert_eq!(signed_in.status().as_u16(), 303);
    // Enough events about one target for a second page.
    let org_id = org.id.clone();
    app.query(move |conn| {
        for n in 0..55 {
            keyward::store::audit::record(
                conn,
                Some(&org_id),
                &Actor::Cli,
                AuditAction::ApiKeyUpdated,
                Some(&Target {
                    kind: "api_key",
                    id: "paging-key",
                    label: "Paging key",
                }),
                serde_json::json!({ "n": n }),
                None,
            )?;
        }
        Ok(())
    })
    .await;

    let (status, body) = page(&app, &format!("{BASE}/audit")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("aria-label=\"Audit log\""));
    assert!(body.contains("api key created"), "{body}");
    assert!(
        !body.contains("eve@other.test"),
        "another organization's events stay out"
    );

    let (_, body) = page(&app, &format!("{BASE}/audit?action=api_key_created&q=flight")).await;
    assert!(body.contains("Flight sync"), "{body}");
    assert!(!body.contains("HYPERLINK"), "{body}");
    assert!(body.contains("Showing 1–1 of 1"), "{body}");

    let (_, body) = page(&app, &format!("{BASE}/audit?q=paging")).await;
    assert!(body.contains("Showing 1–50 of 55"), "{body}");
    assert!(body.contains("Next page"));
    let (_, body) = page(&app, &format!("{BASE}/audit?q=paging&page=2")).await;
    assert!(body.contains("Showing 51–55 of 55"), "{body}");
    let (status, body) = page(&app, &format!("{BASE}/audit?page={}", i64::MAX)).await;
    assert_eq!(status, 200, "an absurd page is an empty one: {body}");
    assert!(body.contains("Previous page"), "{body}");

    let today = keyward::store::now().date();
    let (_, body) = page(
        &app,
        &format!("{BASE}/audit?from={today}&to={today}&action=api_key_created"),
    )
    .await;
    assert!(body.contains("Showing 1–2 of 2"), "the To day counts whole: {body}");

    for (query, message) in [
        ("from=2026-13-01", "is not a date"),
        ("from=2026-11-23&to=2026-11-01", "before “From”"),
        ("action=nope", "is not an action"),
    ] {
        let (status, body) = page(&app, &format!("{BASE}/audit?{query}")).await;
        assert_eq!(status, 422, "{query}");
        assert!(body.contains(message), "{query}: {body}");
        assert!(
            !body.contains("aria-label=\"Audit log\""),
            "no table under a filter that is wrong"
        );
    }

    let response = app
        .client
        .get(app.url(&format!("{BASE}/audit.csv?action=api_key_created")))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/csv")
    );
    let csv = response.text().await.expect("body");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("time,actor_kind,actor,action,target_kind,target_id,target,client_ip,details")
    );
    assert_eq!(lines.count(), 2, "{csv}");
    assert!(csv.contains("'=HYPERLINK"), "formulas are neutralised: {csv}");

    let (status, _) = page(&app, &format!("{BASE}/audit.csv?from=yesterday")).await;
    assert_eq!(status, 400);
}

async fn out_of_range_audit_dates_are_refused_beside_their_field(app: TestApp) {
    app.signed_in_as(Role::SystemAdministrator).await;
    // `%Y` reads signed years of any length; +262142-12-31 is chrono's last
    // date, whose next day (the end of an inclusive "To") does not exist.
    for query in [
        "to=%2B262142-12-31",
        "from=%2B262142-12-31",
        "from=-262143-01-01",
        "to=-262143-01-01",
        "to=%2B10000-01-01",
        "from=0000-12-31",
    ] {
        let (status, body) = page(&app, &format!("{BASE}/audit?{query}")).await;
        assert_eq!(status, 422, "{query}: {body}");
        assert!(
            body.contains("is out of range: enter a date from 0001-01-01 to 9999-12-31")
                || body.contains("is not a date"),
            "{query}: {body}"
        );
        let (status, _) = page(&app, &format!("{BASE}/audit.csv?{query}")).await;
        assert!(
            status == 400 || status == 422,
            "{query}: the export refuses it too, got {status}"
        );
    }
    let (status, body) = page(&app, &format!("{BASE}/audit?from=0001-01-01&to=9999-12-31")).await;
    assert_eq!(
        status, 200,
        "the first and last four-digit dates are fine, and the server still answers: {body}"
    );
}
