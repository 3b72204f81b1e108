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
    out_of_range_audit_dates_are_refused_beside_their_field,
    audit_entries_say_what_changed_in_words_on_the_log_the_key_page_and_the_export,
    the_audit_search_matches_client_addresses_key_ids_and_scopes,
    several_actions_and_the_key_changes_preset_filter_the_log_its_pages_and_its_export,
    bad_audit_filters_are_refused_beside_their_field_and_keep_what_was_chosen,
    a_key_pasted_into_the_audit_search_goes_no_further_than_its_key_id
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
    assert!(
        body.contains("<td data-label=\"What\">Key edited</td>"),
        "actions by their labels: {body}"
    );
    assert!(
        !body.contains("eve@other.test"),
        "another organization's events stay out"
    );

    let (_, body) = page(&app, &format!("{BASE}/audit?action=api_key_created&q=flight")).await;
    assert!(body.contains("Flight sync"), "{body}");
    assert!(body.contains("<td data-label=\"What\">Key created</td>"), "{body}");
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
        Some("time,actor_kind,actor,action,target_kind,target_id,target,client_ip,details,change")
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

/// The body's first `href` of the link whose text is `text`, unescaped.
fn href_of(body: &str, text: &str) -> String {
    let text_at = body
        .find(&format!(">{text}</a>"))
        .unwrap_or_else(|| panic!("no link {text:?}: {body}"));
    let start = body[..text_at].rfind("href=\"").expect("an href") + "href=\"".len();
    let end = start + body[start..].find('"').expect("the href ends");
    body[start..end].replace("&#38;", "&").replace("&amp;", "&")
}

/// Rows of the Audit log table whose What cell is `label`.
fn rows_of(body: &str, label: &str) -> usize {
    body.matches(&format!("<td data-label=\"What\">{label}</td>")).count()
}

async fn audit_entries_say_what_changed_in_words_on_the_log_the_key_page_and_the_export(app: TestApp) {
    app.signed_in_as(Role::SystemAdministrator).await;
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
                ("expires_at", "2099-01-01"),
                ("scope_mode", "custom"),
                ("scope_action", "read"),
                ("scope_resource", "assets"),
                ("scope_action", "write"),
                ("scope_resource", "assets"),
                ("networks", "0.0.0.0/0"),
            ],
        )
        .await;
    assert_eq!(created.status().as_u16(), 200);
    let id: String = app
        .query(|conn| {
            use diesel::prelude::*;
            use keyward::store::schema::api_keys;
            Ok(api_keys::table.select(api_keys::id).first(conn)?)
        })
        .await;
    let edited = app
        .post_form(
            &app.client,
            &format!("{BASE}/{id}"),
            &[
                ("csrf_token", &csrf),
                ("name", "Flight sync"),
                ("expires_at", ""),
                ("scope_mode", "custom"),
                ("scope_action", "read"),
                ("scope_resource", "assets"),
                ("scope_action", "read"),
                ("scope_resource", "crew"),
                ("networks", "0.0.0.0/0\n10.0.0.0/8"),
            ],
        )
        .await;
    assert_eq!(edited.status().as_u16(), 303);
    let words = [
        "Scopes: removed write on assets, added read on crew",
        "Networks: added 10.0.0.0/8",
        "Expiry: 2099-01-01 00:00 UTC → never",
    ];

    let (status, log) = page(&app, &format!("{BASE}/audit")).await;
    assert_eq!(status, 200, "{log}");
    for line in words {
        assert!(log.contains(&format!("<li>{line}</li>")), "{line}: {log}");
    }
    assert!(
        log.contains("<li>Scopes: read on assets and write on assets</li>"),
        "a new key's settings: {log}"
    );
    assert!(
        log.contains("<summary>Raw change</summary><pre>{"),
        "the raw change beside: {log}"
    );
    assert!(log.contains("&#34;before&#34;"), "with the before and after: {log}");

    let (_, key_page) = page(&app, &format!("{BASE}/{id}")).await;
    for line in words {
        assert!(key_page.contains(&format!("<li>{line}</li>")), "{line}: {key_page}");
    }
    assert!(key_page.contains("<summary>Raw change</summary>"), "{key_page}");

    let csv = app
        .client
        .get(app.url(&format!("{BASE}/audit.csv?action=api_key_updated")))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    assert!(
        csv.contains(
            "Scopes: removed write on assets, added read on crew; networks: added 10.0.0.0/8; expiry: 2099-01-01 00:00 UTC → never"
        ),
        "{csv}"
    );
}

async fn the_audit_search_matches_client_addresses_key_ids_and_scopes(app: TestApp) {
    let (org, _) = app.signed_in_as(Role::SystemAdministrator).await;
    let setup_org = org.clone();
    app.query(move |conn| keyward::service::keys::bootstrap(conn, &setup_org, &Actor::Cli, None).map(drop))
        .await;
    let (flight, _) = app
        .add_api_key(
            &org,
            TestKey {
                name: "Flight sync",
                scopes: &["write:assets"],
                ..TestKey::default()
            },
        )
        .await;
    app.add_api_key(
        &org,
        TestKey {
            name: "Crew roster",
            scopes: &["read:crew", "write:assets/42"],
            ..TestKey::default()
        },
    )
    .await;
    let (other_org, other_key, _) = app
        .org_with_api_key(
            "Other Air",
            TestKey {
                name: "Their key",
                scopes: &["write:assets"],
                ..TestKey::default()
            },
        )
        .await;
    let key_id_of = |id: String| {
        app.query(move |conn| {
            use diesel::prelude::*;
            use keyward::store::schema::key_secrets;
            Ok(key_secrets::table
                .filter(key_secrets::api_key_id.eq(id))
                .select(key_secrets::key_id)
                .first::<String>(conn)?)
        })
    };
    let flight_key_id = key_id_of(flight.clone()).await;
    let their_key_id = key_id_of(other_key.clone()).await;
    let (org_id, other_org_id, target) = (org.id.clone(), other_org.id.clone(), flight.clone());
    app.query(move |conn| {
        let about = Target {
            kind: "api_key",
            id: &target,
            label: "Flight sync",
        };
        let from = |ip: &str| Some(ip.parse().expect("an address"));
        keyward::store::audit::record(
            conn,
            Some(&org_id),
            &Actor::Cli,
            AuditAction::ApiKeyDisabled,
            Some(&about),
            serde_json::json!({ "before": { "enabled": true }, "after": { "enabled": false } }),
            from("203.0.113.7"),
        )?;
        keyward::store::audit::record(
            conn,
            Some(&org_id),
            &Actor::Cli,
            AuditAction::SignedIn,
            None,
            serde_json::json!({}),
            from("2001:db8::42"),
        )?;
        keyward::store::audit::record(
            conn,
            Some(&other_org_id),
            &Actor::Cli,
            AuditAction::SignedIn,
            None,
            serde_json::json!({}),
            from("203.0.113.7"),
        )?;
        Ok(())
    })
    .await;
    // Rotated: the old key id still finds everything about the key.
    let (rotate_org, rotated) = (org.id.clone(), flight.clone());
    let secret = app.secret.clone();
    app.db
        .transaction(move |conn| {
            let rotation = keyward::service::keys::Rotation {
                grace: keyward::service::keys::GracePeriod::Now,
                new_expiry: None,
            };
            keyward::service::keys::rotate(conn, &secret, &rotate_org, &rotated, rotation, &Actor::Cli, None).map(drop)
        })
        .await
        .expect("rotated");

    let search = |q: String| {
        let path = format!("{BASE}/audit?q={}", keyward::web::percent_encode(&q));
        let app = &app;
        async move {
            let (status, body) = page(app, &path).await;
            assert_eq!(status, 200, "{q}: {body}");
            body
        }
    };
    let shown = |body: &str| {
        body.split("Showing ")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .map(str::to_owned)
            .unwrap_or_else(|| "nothing".to_owned())
    };

    let body = search("203.0.113.7".into()).await;
    assert_eq!(shown(&body), "1–1 of 1", "our event from that address only: {body}");
    assert_eq!(rows_of(&body, "Key disabled"), 1);
    let body = search("2001:DB8::42".into()).await;
    assert_eq!(shown(&body), "1–1 of 1", "addresses in any case: {body}");
    assert_eq!(rows_of(&body, "Signed in"), 1);

    for q in [
        format!("ask_{flight_key_id}"),
        format!("ask_{flight_key_id}…"),
        flight_key_id[..6].to_owned(),
    ] {
        let body = search(q.clone()).await;
        assert_eq!(shown(&body), "1–3 of 3", "{q}: created, disabled, rotated: {body}");
        assert_eq!(
            (
                rows_of(&body, "Key created"),
                rows_of(&body, "Key disabled"),
                rows_of(&body, "Key rotated")
            ),
            (1, 1, 1),
            "{q}"
        );
        assert!(!body.contains("Crew roster"), "{q}: {body}");
    }
    let body = search(format!("ask_{their_key_id}")).await;
    assert!(
        body.contains("No entries match"),
        "another organization's key id finds nothing: {body}"
    );

    for q in ["write:assets", "write on assets"] {
        let body = search(q.to_owned()).await;
        assert_eq!(
            shown(&body),
            "1–2 of 2",
            "{q}: Flight sync's creation and rotation: {body}"
        );
        assert!(
            !body.contains("Crew roster"),
            "write on assets/42 is another scope: {body}"
        );
        assert!(!body.contains("Their key"), "{body}");
    }
    let body = search("write:asset".into()).await;
    assert!(
        body.contains("No entries match"),
        "a whole scope, not a piece of one: {body}"
    );
    for q in ["%", "_", "\\"] {
        let body = search(q.to_owned()).await;
        assert!(body.contains("No entries match"), "{q:?} matches itself only: {body}");
    }
    let body = search("<script>alert(1)</script>".into()).await;
    assert!(!body.contains("<script>alert"), "the search is shown as text: {body}");
}

async fn several_actions_and_the_key_changes_preset_filter_the_log_its_pages_and_its_export(app: TestApp) {
    let (org, _) = app.signed_in_as(Role::SystemAdministrator).await;
    let setup_org = org.clone();
    app.query(move |conn| keyward::service::keys::bootstrap(conn, &setup_org, &Actor::Cli, None).map(drop))
        .await;
    for name in ["Flight sync", "Crew roster"] {
        app.add_api_key(
            &org,
            TestKey {
                name,
                ..TestKey::default()
            },
        )
        .await;
    }
    let org_id = org.id.clone();
    app.query(move |conn| {
        let about = Target {
            kind: "api_key",
            id: "paging-key",
            label: "Paging key",
        };
        for n in 0..60 {
            let action = if n % 2 == 0 {
                AuditAction::ApiKeyDisabled
            } else {
                AuditAction::ApiKeyEnabled
            };
            keyward::store::audit::record(
                conn,
                Some(&org_id),
                &Actor::Cli,
                action,
                Some(&about),
                serde_json::json!({}),
                None,
            )?;
        }
        Ok(())
    })
    .await;

    let (status, body) = page(
        &app,
        &format!("{BASE}/audit?action=api_key_created&action=api_key_disabled"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Showing 1–32 of 32"), "2 created and 30 disabled: {body}");
    assert_eq!(rows_of(&body, "Signed in") + rows_of(&body, "Key enabled"), 0, "{body}");
    assert!(body.contains("value=\"api_key_created\" checked") && body.contains("value=\"api_key_disabled\" checked"));
    assert!(!body.contains("value=\"api_key_enabled\" checked"), "{body}");
    let export = href_of(&body, "Export CSV");
    assert_eq!(
        export,
        format!("{BASE}/audit.csv?action=api_key_created&action=api_key_disabled"),
        "the export keeps both"
    );
    let csv = app
        .client
        .get(app.url(&export))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    assert_eq!(csv.lines().count(), 1 + 32, "{csv}");

    let (_, body) = page(
        &app,
        &format!("{BASE}/audit?action=api_key_disabled&action=api_key_enabled&q=paging"),
    )
    .await;
    assert!(body.contains("Showing 1–50 of 60"), "{body}");
    let next = href_of(&body, "Next page");
    assert_eq!(
        next,
        format!("{BASE}/audit?action=api_key_disabled&action=api_key_enabled&q=paging&page=2"),
        "pages keep every filter"
    );
    let (_, body) = page(&app, &next).await;
    assert!(body.contains("Showing 51–60 of 60"), "{body}");

    // The preset: the key lifecycle only, sign-ins hidden, the search kept.
    let (_, everything) = page(&app, &format!("{BASE}/audit?q=acme")).await;
    assert!(
        rows_of(&everything, "Signed in") >= 1,
        "the sign-in is there: {everything}"
    );
    let preset = href_of(&everything, "Key changes");
    assert!(preset.ends_with("&q=acme"), "{preset}");
    let (status, body) = page(&app, &preset).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(rows_of(&body, "Signed in"), 0, "{body}");
    assert_eq!(
        rows_of(&body, "User created") + rows_of(&body, "Organization created"),
        0,
        "{body}"
    );
    assert!(
        body.contains("aria-current=\"true\">Key changes</a>"),
        "the preset says it is on: {body}"
    );
    let (_, body) = page(
        &app,
        &format!(
            "{BASE}/audit?{}",
            preset.split_once('?').expect("a query").1.replace("&q=acme", "")
        ),
    )
    .await;
    assert!(
        body.contains("Showing 1–50 of 62"),
        "2 created, 30 disabled, 30 enabled: {body}"
    );
    assert_eq!(rows_of(&body, "Signed in"), 0, "{body}");
    let all = href_of(&body, "All actions");
    assert_eq!(all, format!("{BASE}/audit"), "All actions clears the actions");
}

async fn bad_audit_filters_are_refused_beside_their_field_and_keep_what_was_chosen(app: TestApp) {
    app.signed_in_as(Role::SystemAdministrator).await;
    for (query, field, message) in [
        (
            "action=api_key_created&action=api_key.disable",
            "audit-action-error",
            "&#34;api_key.disable&#34; is not an action",
        ),
        (
            "action=%3Cb%3Ebold%3C%2Fb%3E",
            "audit-action-error",
            "&#34;&#60;b&#62;bold&#60;/b&#62;&#34; is not an action",
        ),
        (
            "from=2026-02-30",
            "audit-from-error",
            "&#34;2026-02-30&#34; is not a date",
        ),
        (
            "from=2026-11-23&to=2026-11-01",
            "audit-to-error",
            "This date is before “From”",
        ),
        ("to=soon", "audit-to-error", "&#34;soon&#34; is not a date"),
    ] {
        let (status, body) = page(&app, &format!("{BASE}/audit?{query}")).await;
        assert_eq!(status, 422, "{query}: {body}");
        let beside = body
            .split(&format!("id=\"{field}\">"))
            .nth(1)
            .unwrap_or_else(|| panic!("{query}: no message beside the field: {body}"));
        assert!(beside.starts_with(message), "{query}: {beside}");
        assert!(
            !body.contains("aria-label=\"Audit log\""),
            "{query}: no table under a wrong filter"
        );
    }
    let (_, body) = page(&app, &format!("{BASE}/audit?action=api_key_created&from=someday")).await;
    assert!(
        body.contains("value=\"api_key_created\" checked"),
        "the ticked action stays ticked: {body}"
    );
    assert!(body.contains("value=\"someday\""), "the date stays to be fixed: {body}");
    let (status, _) = page(&app, &format!("{BASE}/audit.csv?action=api_key.disable")).await;
    assert_eq!(status, 400, "the export refuses it too");
    let (status, _) = page(&app, &format!("{BASE}/audit?page=abc")).await;
    assert_eq!(status, 400, "a page that is no number");
}

async fn a_key_pasted_into_the_audit_search_goes_no_further_than_its_key_id(app: TestApp) {
    let (org, _) = app.signed_in_as(Role::SystemAdministrator).await;
    let setup_org = org.clone();
    app.query(move |conn| keyward::service::keys::bootstrap(conn, &setup_org, &Actor::Cli, None).map(drop))
        .await;
    let (_, secret) = app.add_api_key(&org, TestKey::default()).await;
    let key_id = &secret[..16];
    for (path, sent_on) in [
        (
            format!("{BASE}/audit?action=api_key_created&q={secret}&to=2099-01-01"),
            format!("{BASE}/audit?action=api_key_created&q={key_id}&to=2099-01-01"),
        ),
        (
            format!("{BASE}/audit.csv?q=%20{secret}%20"),
            format!("{BASE}/audit.csv?q={key_id}"),
        ),
    ] {
        let response = app.client.get(app.url(&path)).send().await.expect("request");
        assert_eq!(response.status().as_u16(), 303, "{path}");
        assert_eq!(response.headers()["location"], sent_on.as_str());
        assert!(!response.text().await.expect("body").contains(&secret[16..]), "{path}");
    }
    let (_, body) = page(&app, &format!("{BASE}/audit?q={key_id}")).await;
    assert_eq!(rows_of(&body, "Key created"), 1, "the key id finds the key: {body}");
}
