//! The key list: search (the same on both backends, and never carrying a
//! whole key), the row's Disable, and exports that page by key.

use keyward::domain::audit::Actor;
use keyward::domain::filter::KeyListFilter;
use keyward::domain::role::Role;

use crate::on_both_backends;
use crate::support::{TestApp, TestKey};

const BASE: &str = "/backoffice/settings/api-keys";

on_both_backends!(
    a_whole_key_in_search_finds_its_key_by_key_id_and_never_reaches_the_page,
    search_finds_the_same_keys_on_both_backends,
    disabling_from_the_row_refreshes_the_list_and_its_counts,
    an_export_written_while_keys_are_created_has_each_key_once,
    exports_longer_than_one_chunk_have_every_row_once
);

/// A System Administrator of a new organization with keys set up, signed in;
/// returns the organization.
async fn ready(app: &TestApp) -> keyward::store::organizations::Organization {
    let (org, _) = app.signed_in_as(Role::SystemAdministrator).await;
    let setup_org = org.clone();
    app.query(move |conn| keyward::service::keys::bootstrap(conn, &setup_org, &Actor::Cli, None).map(drop))
        .await;
    org
}

fn named(name: &'static str) -> TestKey {
    TestKey {
        name,
        ..TestKey::default()
    }
}

async fn get(app: &TestApp, path: &str, htmx: bool) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    if htmx {
        request = request.header("HX-Request", "true");
    }
    request.send().await.expect("request")
}

/// The names in the list's table for `q` (all statuses).
async fn names_found(app: &TestApp, q: &str) -> Vec<String> {
    let path = format!("{BASE}?status=all&q={}", keyward::web::percent_encode(q));
    let response = get(app, &path, false).await;
    assert_eq!(response.status().as_u16(), 200, "{q}");
    let body = response.text().await.expect("body");
    let mut names: Vec<String> = body
        .split("<tr id=\"key-")
        .skip(1)
        .filter_map(|row| {
            let start = row.find("\">")? + 2;
            let row = &row[start..];
            let start = row.find("\">")? + 2;
            let end = row[start..].find("</a>")? + start;
            Some(row[start..end].to_owned())
        })
        .collect();
    names.sort();
    names
}

async fn a_whole_key_in_search_finds_its_key_by_key_id_and_never_reaches_the_page(app: TestApp) {
    let org = ready(&app).await;
    let (_, secret) = app.add_api_key(&org, named("Flight sync")).await;
    app.add_api_key(&org, named("Crew roster")).await;
    let key_id = &secret[..16];
    let hidden = &secret[16..];

    // Without JavaScript the form's GET carries the key: it is sent on at once.
    let response = get(&app, &format!("{BASE}?q={secret}&status=all"), false).await;
    assert_eq!(response.status().as_u16(), 303);
    let location = response.headers()["location"].to_str().expect("ascii").to_owned();
    assert_eq!(location, format!("{BASE}?q={key_id}&status=all"));
    assert!(!location.contains(hidden));
    let body = get(&app, &location, false).await.text().await.expect("body");
    assert!(body.contains("Flight sync") && !body.contains("Crew roster"), "{body}");

    // htmx: the key's row, and the key id (not the key) for the address bar.
    let response = get(&app, &format!("{BASE}?q=%20{secret}%20&status=all"), true).await;
    assert_eq!(response.status().as_u16(), 200);
    let pushed = response.headers()["hx-push-url"].to_str().expect("ascii").to_owned();
    assert_eq!(pushed, format!("{BASE}?q={key_id}&status=all"));
    let body = response.text().await.expect("body");
    assert!(body.contains("Flight sync") && !body.contains("Crew roster"), "{body}");
    assert!(!body.contains(hidden), "the secret part is nowhere in the page");

    // The export link and the API search treat it the same way.
    let response = get(&app, &format!("{BASE}/export.csv?q={secret}&status=all"), false).await;
    let csv = response.text().await.expect("body");
    assert!(csv.contains("Flight sync") && !csv.contains("Crew roster"), "{csv}");
}

async fn search_finds_the_same_keys_on_both_backends(app: TestApp) {
    let org = ready(&app).await;
    let (_, secret) = app.add_api_key(&org, named("Übersicht")).await;
    app.add_api_key(&org, named("ask_sync tool")).await;
    app.add_api_key(&org, named("Crew roster")).await;
    let key_id = &secret[4..16];

    assert_eq!(names_found(&app, "übersicht").await, ["Übersicht"]);
    assert_eq!(names_found(&app, "ÜBERSICHT").await, ["Übersicht"]);
    assert_eq!(names_found(&app, "crew").await, ["Crew roster"]);
    // Key ids: a case-sensitive prefix, with or without `ask_` or "…".
    assert_eq!(names_found(&app, key_id).await, ["Übersicht"]);
    assert_eq!(
        names_found(&app, &format!("ask_{}…", &key_id[..6])).await,
        ["Übersicht"]
    );
    let swapped: String = key_id
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    if swapped != key_id {
        assert!(
            names_found(&app, &swapped).await.is_empty(),
            "{swapped} is another key id"
        );
    }
    // No id text: names only, never every key.
    assert_eq!(names_found(&app, "ask_").await, ["ask_sync tool"]);
    assert!(names_found(&app, "…").await.is_empty());
    assert!(names_found(&app, "%").await.is_empty());

    // The audit log's search folds case the same way.
    let body = get(&app, &format!("{BASE}/audit?q=%C3%BCBERSICHT"), false)
        .await
        .text()
        .await
        .expect("body");
    assert!(
        body.contains("Showing 1–1 of 1") && body.contains("Übersicht"),
        "{body}"
    );
}

async fn disabling_from_the_row_refreshes_the_list_and_its_counts(app: TestApp) {
    let org = ready(&app).await;
    let soon = TestKey {
        name: "Flight sync",
        ..TestKey::default()
    };
    let (id, _) = app.add_api_key(&org, soon).await;
    let csrf = app.csrf_token(&app.client, BASE).await;
    let response = app
        .client
        .post(app.url(&format!("{BASE}/{id}/disable")))
        .header("Origin", &app.address)
        .header("HX-Request", "true")
        .header("X-CSRF-Token", &csrf)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    let trigger = response.headers()["hx-trigger"].to_str().expect("ascii").to_owned();
    let events: serde_json::Value = serde_json::from_str(&trigger).expect("JSON events");
    assert_eq!(
        events["api-keys-changed"]["target"], "body",
        "the list refreshes (counts, filter): {trigger}"
    );
    // What the refresh shows under the Active filter: no row, fresh counts.
    let body = get(&app, &format!("{BASE}?status=active"), true)
        .await
        .text()
        .await
        .expect("body");
    assert!(!body.contains(&format!("key-{id}")), "{body}");
    assert!(body.contains("Active (0)") && body.contains("Disabled (1)"), "{body}");
}

async fn an_export_written_while_keys_are_created_has_each_key_once(app: TestApp) {
    let org = ready(&app).await;
    let mut before = Vec::new();
    for name in ["Key 1", "Key 2", "Key 3", "Key 4", "Key 5", "Key 6", "Key 7"] {
        before.push(app.add_api_key(&org, named(name)).await.0);
    }
    let secret = app.secret.clone();
    let org_id = org.id.clone();
    // The export's way of reading, two keys a chunk, with a key created
    // before each next chunk (as another administrator might).
    let seen = app
        .query(move |conn| {
            let filter = KeyListFilter {
                query: None,
                status: None,
            };
            let now = keyward::store::now();
            let mut seen = Vec::new();
            let mut after = None;
            for round in 0.. {
                let chunk = keyward::store::api_keys::list_after(conn, &org_id, &filter, now, after.as_ref(), 2)?;
                after = chunk.last().map(|k| (k.created_at, k.id.clone()));
                let done = chunk.len() < 2;
                seen.extend(chunk.into_iter().map(|k| k.id));
                if done {
                    break;
                }
                let new = keyward::service::keys::NewKey {
                    name: keyward::domain::api_key::KeyName::parse(&format!("Created during export {round}"))?,
                    expiry: None,
                    scopes: keyward::domain::scope::ScopeSet::full_access(),
                    networks: keyward::domain::network::NetworkList::allow_all(),
                    allow_query_key: false,
                };
                keyward::service::keys::create(conn, &secret, &org_id, &new, &Actor::Cli, None)?;
            }
            Ok(seen)
        })
        .await;
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), seen.len(), "no key twice: {seen:?}");
    before.sort();
    assert_eq!(sorted, before, "every key there when the export began, none skipped");

    // And over HTTP, more keys than one chunk of the page: each once.
    let csv = get(&app, &format!("{BASE}/export.csv?status=all"), false)
        .await
        .text()
        .await
        .expect("body");
    let mut names: Vec<&str> = csv.lines().skip(1).filter_map(|l| l.split(',').next()).collect();
    let total = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), total, "no key twice: {csv}");
    assert_eq!(total, 7 + 3, "{csv}");
}

async fn exports_longer_than_one_chunk_have_every_row_once(app: TestApp) {
    let org = ready(&app).await;
    // One more than the exports read per query (1000).
    app.add_numbered_keys(&org, "Batch key", 1001).await;
    for (path, expected) in [
        (format!("{BASE}/export.csv?status=all"), 1001),
        (format!("{BASE}/audit.csv?action=api_key_created"), 1001),
    ] {
        let csv = get(&app, &path, false).await.text().await.expect("body");
        let rows: Vec<&str> = csv.lines().skip(1).collect();
        let mut distinct = rows.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(rows.len(), expected, "{path}: every row");
        assert_eq!(distinct.len(), rows.len(), "{path}: no row twice");
    }
}
