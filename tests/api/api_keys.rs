//! The key lifecycle in the backoffice, over HTTP.

use diesel::prelude::*;
use keyward::domain::role::Role;
use keyward::store::schema::{api_keys, audit_events, key_secrets, organizations};

use crate::on_both_backends;
use crate::support::{TestApp, secret_in};

const BASE: &str = "/backoffice/settings/api-keys";

on_both_backends!(
    setting_up_api_keys_happens_once_and_is_audited,
    a_created_key_is_shown_once_and_only_its_digest_is_stored,
    bad_key_forms_are_refused_beside_their_fields_and_write_nothing,
    the_list_searches_filters_and_counts,
    disabling_enabling_editing_and_rotating_a_key,
    a_revoked_key_cannot_be_changed_any_more,
    a_deleted_key_leaves_the_lists_and_loses_its_digests,
    another_organizations_key_is_not_found_on_every_route,
    key_names_are_shown_as_text,
    the_csv_export_follows_the_filter_and_defuses_formulas
);

/// Signs in a System Administrator of a new organization with keys set up.
async fn ready(app: &TestApp) -> String {
    let (org, _) = app.signed_in_as(Role::SystemAdministrator).await;
    let csrf = app.csrf_token(&app.client, BASE).await;
    let response = app
        .post_form(&app.client, &format!("{BASE}/setup"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(response.status().as_u16(), 303);
    org.id
}

async fn csrf(app: &TestApp) -> String {
    app.csrf_token(&app.client, &format!("{BASE}/new")).await
}

/// Creates a key through the form; returns the response body (the secret dialog).
async fn create(app: &TestApp, fields: &[(&str, &str)]) -> reqwest::Response {
    let token = csrf(app).await;
    let mut form = vec![("csrf_token", token.as_str())];
    form.extend_from_slice(fields);
    app.post_form(&app.client, BASE, &form).await
}

async fn key_id_named(app: &TestApp, name: &str) -> String {
    let name = name.to_owned();
    app.query(move |conn| {
        Ok(api_keys::table
            .filter(api_keys::name.eq(name))
            .select(api_keys::id)
            .first(conn)?)
    })
    .await
}

async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let response = app.client.get(app.url(path)).send().await.expect("request");
    (response.status().as_u16(), response.text().await.expect("body"))
}

async fn setting_up_api_keys_happens_once_and_is_audited(app: TestApp) {
    let org_id = ready(&app).await;
    let (status, body) = page(&app, BASE).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("Create API Key") && body.contains("No API keys yet"),
        "{body}"
    );
    let first_salt = {
        let id = org_id.clone();
        app.query(move |conn| {
            Ok(organizations::table
                .find(id)
                .select(organizations::key_salt)
                .first::<Option<String>>(conn)?)
        })
        .await
    };
    let csrf = app.csrf_token(&app.client, BASE).await;
    app.post_form(&app.client, &format!("{BASE}/setup"), &[("csrf_token", &csrf)])
        .await;
    let id = org_id.clone();
    let (salt, audited): (Option<String>, i64) = app
        .query(move |conn| {
            Ok((
                organizations::table
                    .find(&id)
                    .select(organizations::key_salt)
                    .first(conn)?,
                audit_events::table
                    .filter(audit_events::action.eq("api_keys_bootstrapped"))
                    .count()
                    .get_result(conn)?,
            ))
        })
        .await;
    assert!(salt.is_some());
    assert_eq!(salt, first_salt, "a second set-up changes nothing");
    assert_eq!(audited, 1);
}

async fn a_created_key_is_shown_once_and_only_its_digest_is_stored(app: TestApp) {
    ready(&app).await;
    let response = create(
        &app,
        &[
            ("name", "Flight sync"),
            ("scope_mode", "full"),
            ("networks", "0.0.0.0/0\n::/0"),
        ],
    )
    .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = response.text().await.expect("body");
    assert!(body.contains("Your new API key") && body.contains("I have copied this key"));
    let secret = secret_in(&body);
    assert!(keyward::domain::token::ApiKeyToken::parse(&secret).is_ok());

    // Nowhere else: not the list, not the detail page, not the database.
    let (_, list) = page(&app, BASE).await;
    assert!(list.contains("Flight sync") && !list.contains(&secret));
    assert!(list.contains(&secret[..16]), "the key id hint is shown");
    let id = key_id_named(&app, "Flight sync").await;
    let (_, detail) = page(&app, &format!("{BASE}/{id}")).await;
    assert!(!detail.contains(&secret[16..]));
    let (digests, details): (Vec<Option<String>>, Vec<String>) = app
        .query(|conn| {
            Ok((
                key_secrets::table.select(key_secrets::digest).load(conn)?,
                audit_events::table.select(audit_events::details).load(conn)?,
            ))
        })
        .await;
    assert_eq!(digests.len(), 1);
    let digest = digests[0].clone().expect("a digest");
    assert_eq!(digest.len(), 64);
    assert!(!digest.contains(&secret[16..]));
    assert!(
        details.iter().all(|d| !d.contains(&secret[16..])),
        "no secret in the audit log"
    );

    // The same name again is refused, and still one key.
    let again = create(
        &app,
        &[
            ("name", "Flight sync"),
            ("scope_mode", "full"),
            ("networks", "0.0.0.0/0"),
        ],
    )
    .await;
    assert_eq!(again.status().as_u16(), 422);
    assert!(again.text().await.expect("body").contains("already exists"));
    let count: i64 = app.query(|conn| Ok(api_keys::table.count().get_result(conn)?)).await;
    assert_eq!(count, 1);
}

async fn bad_key_forms_are_refused_beside_their_fields_and_write_nothing(app: TestApp) {
    ready(&app).await;
    let long = "x".repeat(101);
    let thousand: String = (0..1000)
        .map(|i| format!("10.{}.{}.0/24\n", i / 256, i % 256))
        .collect();
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("name", "")], "Enter a name"),
        (vec![("name", "   ")], "Enter a name"),
        (vec![("name", &long)], "use at most 100"),
        (
            vec![("name", "k"), ("expires_at", "2020-01-01")],
            "is not in the future",
        ),
        (vec![("name", "k"), ("expires_at", "10000-01-01")], "YYYY-MM-DD"),
        (vec![("name", "k"), ("expires_at", "31/12/2027")], "is not a date"),
        (vec![("name", "k")], "Choose what the key may do"),
        (
            vec![("name", "k"), ("scope_mode", "full"), ("networks", "")],
            "choose “Any address”",
        ),
        (vec![("name", "k"), ("scope_mode", "custom")], "at least one scope"),
        (
            vec![
                ("name", "k"),
                ("scope_mode", "custom"),
                ("scope_action", "delete"),
                ("scope_resource", "x"),
            ],
            "is not an action",
        ),
        (
            vec![
                ("name", "k"),
                ("scope_mode", "custom"),
                ("scope_action", "read"),
                ("scope_resource", "a//b"),
            ],
            "empty segment",
        ),
        (
            vec![
                ("name", "k"),
                ("scope_mode", "custom"),
                ("scope_action", "read"),
                ("scope_resource", "Assets"),
            ],
            "not a valid segment",
        ),
        (vec![("name", "k"), ("networks", "10.0.0.1/33")], "prefix length"),
        (vec![("name", "k"), ("networks", "300.1.1.1/8")], "larger than 255"),
        (
            vec![("name", "k"), ("networks", "10.0.0.1/8")],
            "did you mean 10.0.0.0/8?",
        ),
        (vec![("name", "k"), ("networks", "010.0.0.0/8")], "leading zero"),
        (vec![("name", "k"), ("networks", "fe80::1/129")], "prefix length"),
        (vec![("name", "k"), ("networks", &thousand)], "at most 100"),
    ];
    for (fields, message) in cases {
        let mut fields = fields.clone();
        if !fields.iter().any(|(k, _)| *k == "networks") {
            fields.push(("networks", "0.0.0.0/0"));
        }
        let response = create(&app, &fields).await;
        assert_eq!(response.status().as_u16(), 422, "{fields:?}");
        let body = response.text().await.expect("body");
        assert!(body.contains(message), "expected {message:?} for {fields:?}");
        assert!(body.contains("field-error"), "the message sits beside its field");
    }
    let count: i64 = app.query(|conn| Ok(api_keys::table.count().get_result(conn)?)).await;
    assert_eq!(count, 0);
}

async fn the_list_searches_filters_and_counts(app: TestApp) {
    ready(&app).await;
    for name in ["Flight sync", "Crew roster", "Parts feed"] {
        let response = create(
            &app,
            &[("name", name), ("scope_mode", "full"), ("networks", "0.0.0.0/0")],
        )
        .await;
        assert_eq!(response.status().as_u16(), 200);
    }
    let roster = key_id_named(&app, "Crew roster").await;
    let csrf = app.csrf_token(&app.client, BASE).await;
    app.post_form(
        &app.client,
        &format!("{BASE}/{roster}/disable"),
        &[("csrf_token", &csrf)],
    )
    .await;

    let (_, active) = page(&app, BASE).await;
    assert!(active.contains("Flight sync") && !active.contains("Crew roster"));
    assert!(active.contains("Active (2)") && active.contains("Disabled (1)") && active.contains("All (3)"));
    let (_, disabled) = page(&app, &format!("{BASE}?status=disabled")).await;
    assert!(disabled.contains("Crew roster") && !disabled.contains("Flight sync"));
    let (_, search) = page(&app, &format!("{BASE}?q=SYNC&status=all")).await;
    assert!(search.contains("Flight sync") && !search.contains("Parts feed"));
    let hint: String = {
        let id = key_id_named(&app, "Parts feed").await;
        app.query(move |conn| {
            Ok(key_secrets::table
                .filter(key_secrets::api_key_id.eq(id))
                .select(key_secrets::key_id)
                .first(conn)?)
        })
        .await
    };
    let (_, by_key_id) = page(&app, &format!("{BASE}?q=ask_{}&status=all", &hint[..8])).await;
    assert!(by_key_id.contains("Parts feed") && !by_key_id.contains("Flight sync"));
    let (_, none) = page(&app, &format!("{BASE}?q=nothing-like-this&status=all")).await;
    assert!(none.contains("No keys match"));
    let (status, _) = page(&app, &format!("{BASE}?status=bogus")).await;
    assert_eq!(status, 400);

    // htmx asks for the table only.
    let fragment = app
        .client
        .get(app.url(&format!("{BASE}?status=all")))
        .header("HX-Request", "true")
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    assert!(fragment.contains("id=\"keys-table\"") && !fragment.contains("<html"));
}

async fn disabling_enabling_editing_and_rotating_a_key(app: TestApp) {
    ready(&app).await;
    create(
        &app,
        &[
            ("name", "Flight sync"),
            ("scope_mode", "full"),
            ("networks", "0.0.0.0/0"),
        ],
    )
    .await;
    let id = key_id_named(&app, "Flight sync").await;
    let csrf = app.csrf_token(&app.client, BASE).await;

    let row = app
        .client
        .post(app.url(&format!("{BASE}/{id}/disable")))
        .header("Origin", &app.address)
        .header("HX-Request", "true")
        .header("X-CSRF-Token", &csrf)
        .send()
        .await
        .expect("request");
    // htmx refreshes the list itself (row, counts) and says what was done.
    let trigger = row.headers()["hx-trigger"].to_str().expect("ascii").to_owned();
    let events: serde_json::Value = serde_json::from_str(&trigger).expect("JSON events");
    assert_eq!(events["api-keys-changed"]["target"], "body", "{trigger}");
    assert_eq!(events["keyward-done"]["message"], "Flight sync disabled.", "{trigger}");
    let (_, list) = page(&app, &format!("{BASE}?status=all")).await;
    assert!(list.contains("Disabled") && list.contains(">Enable<"), "{list}");
    let enabled = app
        .post_form(&app.client, &format!("{BASE}/{id}/enable"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(enabled.status().as_u16(), 303);

    let edited = app
        .post_form(
            &app.client,
            &format!("{BASE}/{id}"),
            &[
                ("csrf_token", &csrf),
                ("name", "Flight sync v2"),
                ("expires_at", "2099-01-01"),
                ("scope_mode", "custom"),
                ("scope_action", "read"),
                ("scope_resource", "registries/private"),
                ("networks", "10.0.0.0/8"),
            ],
        )
        .await;
    assert_eq!(edited.status().as_u16(), 303);
    let (_, detail) = page(&app, &format!("{BASE}/{id}")).await;
    assert!(
        detail.contains("Flight sync v2")
            && detail.contains("read on registries/private")
            && detail.contains("10.0.0.0/8")
    );
    assert!(detail.contains("2099-01-01 00:00 UTC"));
    assert!(
        detail.contains(">Key edited<"),
        "the history names actions by their labels"
    );

    let rotated = app
        .post_form(
            &app.client,
            &format!("{BASE}/{id}/rotate"),
            &[("csrf_token", &csrf), ("grace", "1h")],
        )
        .await;
    assert_eq!(rotated.status().as_u16(), 200);
    assert!(rotated.text().await.expect("body").contains("Your new API key"));
    let secrets: Vec<Option<chrono::NaiveDateTime>> = app
        .query(move |conn| {
            Ok(key_secrets::table
                .filter(key_secrets::api_key_id.eq(id))
                .order(key_secrets::created_at)
                .select(key_secrets::not_after)
                .load(conn)?)
        })
        .await;
    assert_eq!(secrets.len(), 2);
    let grace = secrets[0].expect("the old secret ends") - keyward::store::now();
    assert!(grace > chrono::TimeDelta::minutes(55) && grace <= chrono::TimeDelta::hours(1));
    assert!(secrets[1].is_none(), "the new secret has no end");
}

async fn a_revoked_key_cannot_be_changed_any_more(app: TestApp) {
    ready(&app).await;
    create(
        &app,
        &[
            ("name", "Flight sync"),
            ("scope_mode", "full"),
            ("networks", "0.0.0.0/0"),
        ],
    )
    .await;
    let id = key_id_named(&app, "Flight sync").await;
    let (status, confirm) = page(&app, &format!("{BASE}/{id}/revoke")).await;
    assert_eq!(status, 200);
    assert!(
        confirm.contains("Revoke API key") && confirm.contains("Flight sync") && confirm.contains("cannot be undone")
    );
    let csrf = app.csrf_token(&app.client, BASE).await;
    let revoked = app
        .post_form(&app.client, &format!("{BASE}/{id}/revoke"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(revoked.status().as_u16(), 303);
    let (_, list) = page(&app, &format!("{BASE}?status=revoked")).await;
    assert!(list.contains("Flight sync") && list.contains("Revoked"));
    assert!(
        !list.contains(">Enable<") && !list.contains(">Rotate<"),
        "no action the server would refuse"
    );
    for action in ["enable", "disable", "revoke", "rotate"] {
        let response = app
            .post_form(
                &app.client,
                &format!("{BASE}/{id}/{action}"),
                &[("csrf_token", &csrf), ("grace", "now")],
            )
            .await;
        assert_eq!(response.status().as_u16(), 409, "{action}");
        assert!(response.text().await.expect("body").contains("revoked"), "{action}");
    }
}

async fn a_deleted_key_leaves_the_lists_and_loses_its_digests(app: TestApp) {
    ready(&app).await;
    create(
        &app,
        &[
            ("name", "Flight sync"),
            ("scope_mode", "full"),
            ("networks", "0.0.0.0/0"),
        ],
    )
    .await;
    let id = key_id_named(&app, "Flight sync").await;
    let (_, confirm) = page(&app, &format!("{BASE}/{id}/delete")).await;
    assert!(confirm.contains("Delete API key") && confirm.contains("Flight sync"));
    let csrf = app.csrf_token(&app.client, BASE).await;
    let deleted = app
        .post_form(&app.client, &format!("{BASE}/{id}/delete"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(deleted.status().as_u16(), 303);
    let (_, all) = page(&app, &format!("{BASE}?status=all")).await;
    assert!(!all.contains("Flight sync"));
    // Its page stays, read-only (tests/api/deleted_keys.rs).
    assert_eq!(page(&app, &format!("{BASE}/{id}")).await.0, 200);
    let key_id = id.clone();
    let (rows, digests, audited): (i64, Vec<Option<String>>, i64) = app
        .query(move |conn| {
            Ok((
                api_keys::table
                    .filter(api_keys::id.eq(&key_id))
                    .count()
                    .get_result(conn)?,
                key_secrets::table
                    .filter(key_secrets::api_key_id.eq(&key_id))
                    .select(key_secrets::digest)
                    .load(conn)?,
                audit_events::table
                    .filter(audit_events::target_id.eq(&key_id))
                    .count()
                    .get_result(conn)?,
            ))
        })
        .await;
    assert_eq!(rows, 1, "the row stays for auditors");
    assert!(digests.iter().all(Option::is_none), "digests are erased");
    assert_eq!(audited, 2, "created and deleted");
    // The name is free again.
    assert_eq!(
        create(
            &app,
            &[
                ("name", "Flight sync"),
                ("scope_mode", "full"),
                ("networks", "0.0.0.0/0")
            ]
        )
        .await
        .status()
        .as_u16(),
        200
    );
}

async fn another_organizations_key_is_not_found_on_every_route(app: TestApp) {
    ready(&app).await;
    create(
        &app,
        &[("name", "Acme key"), ("scope_mode", "full"), ("networks", "0.0.0.0/0")],
    )
    .await;
    let id = key_id_named(&app, "Acme key").await;

    let globex = app.create_org("Globex Airways").await;
    app.create_user(&globex, Role::SystemAdministrator, "gil@globex.test")
        .await;
    let intruder = app.new_client();
    app.sign_in_with(&intruder, "gil@globex.test", crate::support::PASSWORD)
        .await;
    let csrf = app.csrf_token(&intruder, BASE).await;
    app.post_form(&intruder, &format!("{BASE}/setup"), &[("csrf_token", &csrf)])
        .await;
    for path in ["", "/edit", "/rotate", "/revoke", "/delete"] {
        let response = intruder
            .get(app.url(&format!("{BASE}/{id}{path}")))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 404, "GET {path}");
    }
    for path in ["", "/enable", "/disable", "/rotate", "/revoke", "/delete"] {
        let response = app
            .post_form(
                &intruder,
                &format!("{BASE}/{id}{path}"),
                &[
                    ("csrf_token", &csrf),
                    ("name", "x"),
                    ("grace", "now"),
                    ("networks", "0.0.0.0/0"),
                ],
            )
            .await;
        assert_eq!(response.status().as_u16(), 404, "POST {path}");
    }
    let (_, list) = page(&app, &format!("{BASE}?status=all")).await;
    assert!(list.contains("Acme key") && list.contains("Active"), "nothing changed");
}

async fn key_names_are_shown_as_text(app: TestApp) {
    ready(&app).await;
    let created = create(
        &app,
        &[
            ("name", "<script>alert(1)</script>"),
            ("scope_mode", "full"),
            ("networks", "0.0.0.0/0"),
        ],
    )
    .await;
    assert_eq!(created.status().as_u16(), 200);
    let (_, list) = page(&app, BASE).await;
    assert!(!list.contains("<script>alert(1)</script>"));
    assert!(
        list.contains("&#60;script&#62;alert(1)&#60;"),
        "the name is escaped, not dropped"
    );
}

async fn the_csv_export_follows_the_filter_and_defuses_formulas(app: TestApp) {
    ready(&app).await;
    create(
        &app,
        &[
            ("name", "=HYPERLINK(\"http://x\")"),
            ("scope_mode", "full"),
            ("networks", "0.0.0.0/0"),
        ],
    )
    .await;
    create(
        &app,
        &[
            ("name", "Crew roster"),
            ("scope_mode", "full"),
            ("networks", "0.0.0.0/0"),
        ],
    )
    .await;
    let response = app
        .client
        .get(app.url(&format!("{BASE}/export.csv?status=all")))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = response.text().await.expect("body");
    let mut lines = csv.lines();
    assert!(lines.next().expect("header").starts_with("name,key_id,status,scopes"));
    assert!(csv.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{csv}");
    assert!(csv.contains("Crew roster") && csv.contains("* on *"));
    assert_eq!(csv.lines().count(), 3);
    let filtered = app
        .client
        .get(app.url(&format!("{BASE}/export.csv?q=crew&status=all")))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    assert_eq!(filtered.lines().count(), 2);
    assert!(filtered.contains("Crew roster"));
}

on_both_backends!(
    the_demo_seed_has_keys_in_every_status,
    catalogue_permissions_become_the_keys_scopes
);

async fn the_demo_seed_has_keys_in_every_status(app: TestApp) {
    let secret = keyward::domain::secret::ServerSecret::generate();
    let accounts = app
        .db
        .transaction(move |conn| keyward::service::accounts::seed_demo(conn, &secret))
        .await
        .expect("seeded");
    assert_eq!(accounts.len(), 3);
    let sysadmin = accounts
        .iter()
        .find(|a| a.role == Role::SystemAdministrator)
        .expect("a sysadmin");
    let signed_in = app
        .sign_in_with(&app.client, &sysadmin.email, sysadmin.password.expose())
        .await;
    assert_eq!(signed_in.status().as_u16(), 303);
    let (_, all) = page(&app, &format!("{BASE}?status=all")).await;
    for status in ["Active (3)", "Disabled (1)", "Expired (1)", "Revoked (1)", "All (6)"] {
        assert!(all.contains(status), "missing {status}");
    }
    assert!(all.contains("expires in 3 days") || all.contains("expires in 2 days"));
    // Seeding again refreshes passwords and adds no keys.
    let secret = keyward::domain::secret::ServerSecret::generate();
    app.db
        .transaction(move |conn| keyward::service::accounts::seed_demo(conn, &secret))
        .await
        .expect("seeded again");
    let count: i64 = app.query(|conn| Ok(api_keys::table.count().get_result(conn)?)).await;
    assert_eq!(count, 6);
}

async fn catalogue_permissions_become_the_keys_scopes(app: TestApp) {
    ready(&app).await;
    let (_, form) = page(&app, &format!("{BASE}/new")).await;
    assert!(form.contains("Search Assets") && form.contains("value=\"read:assets\""));
    let mixed = create(
        &app,
        &[
            ("name", "Mixed"),
            ("scope_mode", "full"),
            ("permission", "read:assets"),
            ("networks", "0.0.0.0/0"),
        ],
    )
    .await;
    assert_eq!(mixed.status().as_u16(), 422);
    assert!(mixed.text().await.expect("body").contains("choose"));
    let created = create(
        &app,
        &[
            ("name", "Registry reader"),
            ("scope_mode", "custom"),
            ("permission", "read:registries/private"),
            ("permission", "read:assets"),
            ("scope_action", "write"),
            ("scope_resource", "flights/sync"),
            ("networks", "0.0.0.0/0"),
        ],
    )
    .await;
    assert_eq!(created.status().as_u16(), 200);
    let id = key_id_named(&app, "Registry reader").await;
    let (_, detail) = page(&app, &format!("{BASE}/{id}")).await;
    for scope in ["read on assets", "read on registries/private", "write on flights/sync"] {
        assert!(detail.contains(scope), "missing {scope}");
    }
    // The edit form shows catalogue scopes ticked and the rest as rows.
    let (_, edit) = page(&app, &format!("{BASE}/{id}/edit")).await;
    assert!(edit.contains("value=\"read:assets\" checked"));
    assert!(edit.contains("value=\"flights/sync\""));
}

on_both_backends!(a_double_submitted_create_makes_one_key);

async fn a_double_submitted_create_makes_one_key(app: TestApp) {
    ready(&app).await;
    let token = csrf(&app).await;
    let form = [
        ("csrf_token", token.as_str()),
        ("name", "Flight sync"),
        ("scope_mode", "full"),
        ("networks", "0.0.0.0/0"),
    ];
    let (first, second) = tokio::join!(
        app.post_form(&app.client, BASE, &form),
        app.post_form(&app.client, BASE, &form)
    );
    let mut statuses = [first.status().as_u16(), second.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 422]);
    let count: i64 = app.query(|conn| Ok(api_keys::table.count().get_result(conn)?)).await;
    assert_eq!(count, 1);
}
