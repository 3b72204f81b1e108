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
    // The export's way of reading: the ids first, then the keys two a
    // chunk, with a key created before each next chunk (as another
    // administrator might).
    let seen = app
        .query(move |conn| {
            let now = keyward::store::now();
            let ids = keyward::service::key_list::ids(conn, &org_id, &KeyListFilter::default(), now)?;
            let mut seen = Vec::new();
            for (round, chunk) in ids.chunks(2).enumerate() {
                let keys = keyward::store::api_keys::by_ids(conn, &org_id, chunk)?;
                seen.extend(keys.into_iter().map(|k| k.id));
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
    assert_eq!(total, 7 + 4, "{csv}");
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

// ---- Issue 12, items 9 and 10: Expiring soon, the banner, the orders and
// the capability filter ("Can", "Resource"). ----

on_both_backends!(
    expiring_soon_lists_the_active_keys_that_expire_within_fourteen_days,
    the_banner_names_the_active_keys_that_expire_within_seven_days,
    every_order_pages_through_every_key_once_with_ties_broken_by_id,
    the_capability_filter_answers_with_the_keys_whose_scopes_allow_it,
    a_resource_that_is_not_valid_is_refused_beside_its_field,
    a_whole_key_in_resource_is_cut_to_its_key_id_and_never_reaches_the_page,
    the_export_and_the_api_list_the_keys_the_page_lists
);

/// The body of the answer to GET `path` (as htmx asks when `htmx`).
async fn text_of(app: &TestApp, path: &str, htmx: bool) -> String {
    get(app, path, htmx).await.text().await.expect("body")
}

/// A second organization, set up for keys.
async fn other_organization(app: &TestApp) -> keyward::store::organizations::Organization {
    let other = app.create_org("Other Airline").await;
    let setup = other.clone();
    app.query(move |conn| keyward::service::keys::bootstrap(conn, &setup, &Actor::Cli, None).map(drop))
        .await;
    other
}

/// What becomes of a fixture key after it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Active,
    Disabled,
    Revoked,
    Expired,
}

/// A key to arrange: name, scopes (`ACTION:FILTER`), expiry from now
/// (`None`: never), and its fate.
struct Fixture {
    name: String,
    scopes: &'static [&'static str],
    expires_in: Option<chrono::TimeDelta>,
    fate: Fate,
}

fn key(name: &str, scopes: &'static [&'static str]) -> Fixture {
    Fixture {
        name: name.to_owned(),
        scopes,
        expires_in: None,
        fate: Fate::Active,
    }
}

impl Fixture {
    fn expiring_in(self, left: chrono::TimeDelta) -> Self {
        Self {
            expires_in: Some(left),
            ..self
        }
    }

    fn ending(self, fate: Fate) -> Self {
        Self { fate, ..self }
    }
}

/// Creates the keys, in order, through the lifecycle code the app uses;
/// returns their ids.
async fn arrange(app: &TestApp, org: &keyward::store::organizations::Organization, keys: Vec<Fixture>) -> Vec<String> {
    use keyward::domain::api_key::{Expiry, KeyName};
    use keyward::domain::network::NetworkList;
    use keyward::domain::scope::{Scope, ScopeSet};
    use keyward::service::keys::{self, NewKey};
    let (secret, org_id) = (app.secret.clone(), org.id.clone());
    app.db
        .transaction(move |conn| {
            let mut ids = Vec::new();
            for fixture in keys {
                let scopes = fixture
                    .scopes
                    .iter()
                    .map(|s| Scope::parse_pair(s))
                    .collect::<Result<Vec<_>, _>>()?;
                let new = NewKey {
                    name: KeyName::parse(&fixture.name)?,
                    expiry: fixture
                        .expires_in
                        .map(|left| Expiry::at_instant(chrono::Utc::now() + left)),
                    scopes: ScopeSet::new(scopes)?,
                    networks: NetworkList::allow_all(),
                    allow_query_key: false,
                };
                let (detail, _) = keys::create(conn, &secret, &org_id, &new, &Actor::Cli, None)?;
                let id = detail.key.id;
                match fixture.fate {
                    Fate::Active => {}
                    Fate::Disabled => drop(keys::set_enabled(conn, &org_id, &id, false, &Actor::Cli, None)?),
                    Fate::Revoked => drop(keys::revoke(conn, &org_id, &id, &Actor::Cli, None)?),
                    Fate::Expired => {
                        let now = keyward::store::now();
                        keyward::store::api_keys::set_expiry(
                            conn,
                            &org_id,
                            &id,
                            Some(now - chrono::TimeDelta::hours(1)),
                            now,
                        )?;
                    }
                }
                ids.push(id);
            }
            Ok::<_, keyward::error::AppError>(ids)
        })
        .await
        .expect("keys arranged")
}

/// The ids of the keys a list page shows, in order (each row links to its
/// key's page).
fn ids_in(body: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for part in body.split(&format!("href=\"{BASE}/")).skip(1) {
        let id = &part[..part.find('"').unwrap_or(0)];
        let uuid = id.len() == 36 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
        if uuid && !ids.iter().any(|seen| seen == id) {
            ids.push(id.to_owned());
        }
    }
    ids
}

/// The names of the keys with these ids, in the same order.
async fn names_of(app: &TestApp, ids: &[String]) -> Vec<String> {
    let ids = ids.to_vec();
    app.query(move |conn| {
        use diesel::prelude::*;
        use keyward::store::schema::api_keys;
        let named: std::collections::HashMap<String, String> = api_keys::table
            .filter(api_keys::id.eq_any(&ids))
            .select((api_keys::id, api_keys::name))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect();
        Ok(ids.iter().map(|id| named[id].clone()).collect())
    })
    .await
}

/// Every page of the list at `path` (a query without `page`): the ids in
/// order, and each page's body.
async fn every_page(app: &TestApp, path: &str) -> (Vec<String>, Vec<String>) {
    let (mut ids, mut bodies) = (Vec::new(), Vec::new());
    for page in 1.. {
        let response = get(app, &format!("{path}&page={page}"), false).await;
        assert_eq!(response.status().as_u16(), 200, "{path} page {page}");
        let body = response.text().await.expect("body");
        let shown = ids_in(&body);
        bodies.push(body);
        if shown.is_empty() {
            break;
        }
        ids.extend(shown);
    }
    (ids, bodies)
}

/// The key names a page lists for `query` (every status), sorted.
async fn listed(app: &TestApp, query: &str) -> Vec<String> {
    let (ids, _) = every_page(app, &format!("{BASE}?status=all&{query}")).await;
    let mut names = names_of(app, &ids).await;
    names.sort();
    names
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    names.sort();
    names
}

async fn expiring_soon_lists_the_active_keys_that_expire_within_fourteen_days(app: TestApp) {
    use chrono::TimeDelta;
    let org = ready(&app).await;
    let day = TimeDelta::days(1);
    arrange(
        &app,
        &org,
        vec![
            key("Just inside", &["read:*"]).expiring_in(day * 13 + TimeDelta::hours(23)),
            key("Just outside", &["read:*"]).expiring_in(day * 14 + TimeDelta::minutes(1)),
            key("Tomorrow", &["read:*"]).expiring_in(day),
            key("Paused", &["read:*"]).expiring_in(day * 3).ending(Fate::Disabled),
            key("Withdrawn", &["read:*"]).expiring_in(day * 3).ending(Fate::Revoked),
            key("Lapsed", &["read:*"]).expiring_in(day * 3).ending(Fate::Expired),
            key("Forever", &["read:*"]),
        ],
    )
    .await;
    let other = other_organization(&app).await;
    arrange(&app, &other, vec![key("Their soon key", &["read:*"]).expiring_in(day)]).await;

    let (ids, bodies) = every_page(&app, &format!("{BASE}?status=expiring")).await;
    let mut names = names_of(&app, &ids).await;
    names.sort();
    assert_eq!(names, sorted(&["Just inside", "Tomorrow"]));
    assert!(bodies[0].contains("Expiring soon (2)"), "the count beside the choice");
    assert!(bodies[0].contains("Active (4)") && bodies[0].contains("All (7)"));
    assert!(
        bodies[0].contains("value=\"expiring\" selected"),
        "the choice is shown as chosen"
    );
    let (_, empty) = every_page(&app, &format!("{BASE}?status=expiring&q=Forever")).await;
    assert!(empty[0].contains("Expiring soon (0)"), "the counts follow the search");
}

async fn the_banner_names_the_active_keys_that_expire_within_seven_days(app: TestApp) {
    use chrono::TimeDelta;
    let org = ready(&app).await;
    let day = TimeDelta::days(1);
    let body = text_of(&app, BASE, false).await;
    assert!(!body.contains("Keys expiring soon"), "no banner without such keys");

    arrange(
        &app,
        &org,
        vec![key("Flight sync", &["read:*"]).expiring_in(day * 3 + TimeDelta::minutes(5))],
    )
    .await;
    let body = text_of(&app, BASE, false).await;
    assert!(
        body.contains("1 key expires within 7 days: Flight sync (in 3 days)."),
        "{body}"
    );
    arrange(
        &app,
        &org,
        vec![
            key("Crew roster", &["read:*"]).expiring_in(TimeDelta::hours(20) + TimeDelta::minutes(5)),
            key("Parts feed", &["read:*"]).expiring_in(day * 10),
            key("Paused", &["read:*"]).expiring_in(day * 2).ending(Fate::Disabled),
            key("Withdrawn", &["read:*"]).expiring_in(day * 2).ending(Fate::Revoked),
        ],
    )
    .await;
    let other = other_organization(&app).await;
    arrange(&app, &other, vec![key("Their soon key", &["read:*"]).expiring_in(day)]).await;

    // Whatever the filters show: the banner is about the organization.
    for path in [BASE.to_owned(), format!("{BASE}?status=revoked&q=nothing")] {
        let body = text_of(&app, &path, false).await;
        assert!(
            body.contains("2 keys expire within 7 days: Crew roster (in 20 hours), Flight sync (in 3 days)."),
            "{path}: {body}"
        );
        assert!(body.contains("aria-labelledby=\"expiry-banner-heading\""));
        assert!(!body.contains("Their soon key"));
        assert!(
            body.contains(&format!(
                "<a href=\"{BASE}?status=expiring&#38;sort=valid-until-asc\">Show keys expiring soon</a>"
            )),
            "the link applies the Expiring soon filter"
        );
    }
    // htmx refreshes bring it up to date, out of band.
    let fragment = text_of(&app, BASE, true).await;
    assert!(
        fragment.contains("id=\"expiry-banner\" hx-swap-oob=\"true\""),
        "{fragment}"
    );
    assert!(fragment.contains("2 keys expire within 7 days"));
}

/// When key `i` of the order test was created, expires and was last used.
type Times = (
    chrono::NaiveDateTime,
    Option<chrono::NaiveDateTime>,
    Option<chrono::NaiveDateTime>,
);

/// Key `i` of the order test, chosen so that each order has ties (broken
/// by id) and keys without an expiry or a use; one in five cannot write.
fn order_fixture(i: i64, now: chrono::NaiveDateTime) -> (Fixture, Times) {
    use chrono::TimeDelta;
    let scopes: &'static [&'static str] = if i % 5 == 0 { &["read:crew"] } else { &["write:assets"] };
    let expires = (i % 4 != 0).then(|| now + TimeDelta::days(i % 5 + 1));
    let fixture = Fixture {
        expires_in: expires.map(|at| at - now),
        ..key(&format!("Key {i:02}"), scopes)
    };
    let created = now - TimeDelta::minutes(i % 10);
    let last_used = (i % 3 != 0).then(|| now - TimeDelta::hours(i % 4));
    (fixture, (created, expires, last_used))
}

async fn every_order_pages_through_every_key_once_with_ties_broken_by_id(app: TestApp) {
    use keyward::domain::filter::KeySort;
    let org = ready(&app).await;
    let now = keyward::store::now();
    let (fixtures, times): (Vec<Fixture>, Vec<Times>) = (0..36).map(|i| order_fixture(i, now)).unzip();
    let ids = arrange(&app, &org, fixtures).await;
    // Exact instants, shared by several keys: ties in every order.
    app.query(move |conn| {
        use diesel::prelude::*;
        use keyward::store::schema::api_keys;
        for (id, (created, expires, used)) in ids.iter().zip(&times) {
            diesel::update(api_keys::table.find(id))
                .set((
                    api_keys::created_at.eq(created),
                    api_keys::expires_at.eq(expires),
                    api_keys::last_used_at.eq(used),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
    .await;

    // The order each choice must give, from the rows themselves.
    /// id, folded name, times, and the actions of its scopes.
    type Row = (String, String, Times, Vec<String>);
    let org_id = org.id.clone();
    let rows: Vec<Row> = app
        .query(move |conn| {
            use diesel::prelude::*;
            use keyward::store::schema::{api_keys, key_scopes};
            let keys: Vec<(String, String, chrono::NaiveDateTime)> = api_keys::table
                .filter(api_keys::org_id.eq(&org_id))
                .select((api_keys::id, api_keys::name_key, api_keys::created_at))
                .load(conn)?;
            let mut rows = Vec::new();
            for (id, name, created) in keys {
                let (expires, used) = api_keys::table
                    .find(&id)
                    .select((api_keys::expires_at, api_keys::last_used_at))
                    .first(conn)?;
                let actions: Vec<String> = key_scopes::table
                    .filter(key_scopes::api_key_id.eq(&id))
                    .select(key_scopes::action)
                    .load(conn)?;
                rows.push((id, name, (created, expires, used), actions));
            }
            Ok(rows)
        })
        .await;
    fn nulls_last<T: Ord>(a: &Option<T>, b: &Option<T>, ascending: bool) -> std::cmp::Ordering {
        match (a, b) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(_), None) => std::cmp::Ordering::Less,
            (Some(a), Some(b)) if ascending => a.cmp(b),
            (Some(a), Some(b)) => b.cmp(a),
        }
    }
    let expected = |sort: KeySort, writers_only: bool| -> Vec<String> {
        let mut rows: Vec<&Row> = rows
            .iter()
            .filter(|row| !writers_only || row.3.iter().any(|a| a == "write"))
            .collect();
        rows.sort_by(|a, b| match sort {
            KeySort::CreatedDesc => b.2.0.cmp(&a.2.0).then(b.0.cmp(&a.0)),
            KeySort::CreatedAsc => a.2.0.cmp(&b.2.0).then(a.0.cmp(&b.0)),
            KeySort::NameAsc => a.1.cmp(&b.1).then(a.0.cmp(&b.0)),
            KeySort::NameDesc => b.1.cmp(&a.1).then(b.0.cmp(&a.0)),
            KeySort::ValidUntilAsc => nulls_last(&a.2.1, &b.2.1, true).then(a.0.cmp(&b.0)),
            KeySort::ValidUntilDesc => nulls_last(&a.2.1, &b.2.1, false).then(b.0.cmp(&a.0)),
            KeySort::LastUsedDesc => nulls_last(&a.2.2, &b.2.2, false).then(b.0.cmp(&a.0)),
            KeySort::LastUsedAsc => nulls_last(&a.2.2, &b.2.2, true).then(a.0.cmp(&b.0)),
        });
        rows.into_iter().map(|row| row.0.clone()).collect()
    };

    for sort in KeySort::ALL {
        // Without a capability (SQL pages), and with one (pages cut in Rust).
        for (capability, writers_only) in [("", false), ("&can=write&resource=assets/42", true)] {
            let path = format!("{BASE}?status=all&sort={}{capability}", sort.as_str());
            let (shown, bodies) = every_page(&app, &path).await;
            let want = expected(sort, writers_only);
            assert_eq!(shown, want, "{path}: every key once, in order, ties by id");
            assert_eq!(bodies.len(), 3, "{path}: two pages, then none");
            let total = want.len();
            assert!(
                bodies[0].contains(&format!("Showing 1–25 of {total}, {}", sort.phrase())),
                "{path}: the hint names the order"
            );
            // The address of another page, and of the export, keeps the
            // order and the filters.
            let address = |path: &str, page: i64| {
                let mut url = format!("href=\"{path}?");
                if writers_only {
                    url.push_str("can=write&#38;resource=assets/42&#38;");
                }
                url.push_str("status=all");
                if sort != KeySort::CreatedDesc {
                    url.push_str(&format!("&#38;sort={}", sort.as_str()));
                }
                if page > 1 {
                    url.push_str(&format!("&#38;page={page}"));
                }
                url + "\""
            };
            assert!(bodies[0].contains(&address(BASE, 2)), "{path}: Next page");
            assert!(bodies[1].contains(&address(BASE, 1)), "{path}: Previous page");
            assert!(
                bodies[0].contains(&address(&format!("{BASE}/export.csv"), 1)),
                "{path}: Export CSV"
            );
        }
    }
    let body = text_of(&app, &format!("{BASE}?status=all&sort=name-asc"), true).await;
    assert!(
        body.contains(&format!("hx-get=\"{BASE}?status=all&#38;sort=name-asc\"")),
        "the htmx refresh keeps the order"
    );
    assert!(body.contains("Showing 1–25 of 36, by name, A to Z"));
    let status = get(&app, &format!("{BASE}?sort=size"), false).await.status().as_u16();
    assert_eq!(status, 400, "an order no select offers");
}

async fn the_capability_filter_answers_with_the_keys_whose_scopes_allow_it(app: TestApp) {
    let org = ready(&app).await;
    arrange(
        &app,
        &org,
        vec![
            key("Full access", &["*:*"]),
            key("Read only", &["read:*"]),
            key("Asset writer", &["write:assets"]),
            key("Asset 42 writer", &["write:assets/42"]),
            key("Wildcard writer", &["write:*/42"]),
            key("Crew writer", &["write:crew", "read:crew"]),
            key("Key admin", &["admin:api-keys"]),
            key("Paused asset writer", &["write:assets"]).ending(Fate::Disabled),
        ],
    )
    .await;
    let other = other_organization(&app).await;
    arrange(&app, &other, vec![key("Their asset writer", &["write:assets"])]).await;

    let writers_of_42 = [
        "Full access",
        "Asset writer",
        "Asset 42 writer",
        "Wildcard writer",
        "Paused asset writer",
    ];
    for (query, expected) in [
        ("can=write&resource=assets/42", &writers_of_42[..]),
        // A prefix covers what lies below it, not above: `assets/42` and
        // `*/42` do not cover `assets`.
        (
            "can=write&resource=assets",
            &["Full access", "Asset writer", "Paused asset writer"][..],
        ),
        ("can=read&resource=assets/42", &["Full access", "Read only"][..]),
        // Full access (`*`) does not manage keys.
        ("can=admin&resource=api-keys", &["Key admin"][..]),
        ("can=*&resource=assets", &["Full access"][..]),
        // Any action on crew; any resource for write.
        ("resource=crew", &["Full access", "Read only", "Crew writer"][..]),
        (
            "can=write",
            &[
                "Full access",
                "Asset writer",
                "Asset 42 writer",
                "Wildcard writer",
                "Crew writer",
                "Paused asset writer",
            ][..],
        ),
        ("can=write&resource=flights", &["Full access"][..]),
        (
            "q=asset&can=write&resource=assets/42",
            &["Asset writer", "Asset 42 writer", "Paused asset writer"][..],
        ),
    ] {
        assert_eq!(listed(&app, query).await, sorted(expected), "{query}");
    }

    // The counts beside each status follow the capability (and the search).
    let body = text_of(&app, &format!("{BASE}?can=write&resource=assets/42"), false).await;
    for count in [
        "Active (4)",
        "Expiring soon (0)",
        "Disabled (1)",
        "Revoked (0)",
        "All (5)",
    ] {
        assert!(body.contains(count), "{count}");
    }
    assert!(
        body.contains("value=\"write\" selected") && body.contains("value=\"assets/42\""),
        "the fields keep what was asked"
    );
    let body = text_of(&app, &format!("{BASE}?status=revoked&can=write&resource=assets"), false).await;
    assert!(
        body.contains("No keys could write on assets here."),
        "the empty state says why"
    );
}

async fn a_resource_that_is_not_valid_is_refused_beside_its_field(app: TestApp) {
    let org = ready(&app).await;
    arrange(&app, &org, vec![key("Asset writer", &["write:assets"])]).await;
    for (resource, message) in [
        ("Assets", "is not a valid segment: use lower-case letters"),
        ("assets//42", "has an empty segment"),
        ("assets/../keys", "cannot contain . or .. segments"),
        ("%3Cscript%3E", "is not a valid segment"),
    ] {
        for htmx in [false, true] {
            let response = get(&app, &format!("{BASE}?can=write&resource={resource}"), htmx).await;
            assert_eq!(response.status().as_u16(), 422, "{resource}");
            let body = response.text().await.expect("body");
            assert!(body.contains(message), "{resource}: {body}");
            assert!(!body.contains("<script>"), "{resource}: escaped");
            assert!(ids_in(&body).is_empty(), "{resource}: no key is listed");
            if htmx {
                assert!(body.contains("<p id=\"key-resource-error\" hx-swap-oob=\"innerHTML\">"));
            } else {
                assert!(body.contains("aria-invalid=\"true\""), "the field says so");
                assert!(body.contains("id=\"key-resource-error\" data-field-error aria-live=\"polite\">"));
            }
        }
        let response = get(&app, &format!("{BASE}/export.csv?resource={resource}"), false).await;
        assert_eq!(response.status().as_u16(), 422, "the export refuses it too");
    }
    let response = get(&app, &format!("{BASE}?can=delete"), false).await;
    assert_eq!(response.status().as_u16(), 422);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("is not an action: choose read, write, admin")
    );
}

async fn the_export_and_the_api_list_the_keys_the_page_lists(app: TestApp) {
    let (org, _, admin) = app.org_with_api_key("Acme Aviation", crate::management::ADMIN).await;
    let email = "system-administrator@acme.test";
    app.create_user(&org, Role::SystemAdministrator, email).await;
    app.sign_in(email).await;
    arrange(
        &app,
        &org,
        vec![
            key("Full access", &["*:*"]),
            key("Read only", &["read:*"]).expiring_in(chrono::TimeDelta::days(3)),
            key("Asset writer", &["write:assets"]),
            key("Asset 42 writer", &["write:assets/42"]).expiring_in(chrono::TimeDelta::days(20)),
            key("Crew writer", &["write:crew"]).ending(Fate::Revoked),
        ],
    )
    .await;
    let other = other_organization(&app).await;
    arrange(&app, &other, vec![key("Their asset writer", &["write:assets"])]).await;

    for query in [
        "status=all",
        "status=all&can=write&resource=assets/42",
        "status=all&sort=name-asc&can=write",
        "status=active&sort=valid-until-asc&resource=assets",
        "status=expiring",
        "status=all&sort=name-desc&can=read&resource=flights",
        "status=revoked&can=write&resource=crew",
        "status=all&q=writer&can=*&resource=assets",
    ] {
        let (ids, _) = every_page(&app, &format!("{BASE}?{query}")).await;
        let page = names_of(&app, &ids).await;
        assert!(!page.iter().any(|n| n.starts_with("Their")), "{query}: {page:?}");

        let csv = text_of(&app, &format!("{BASE}/export.csv?{query}"), false).await;
        let exported: Vec<String> = csv
            .lines()
            .skip(1)
            .filter_map(|line| line.split(',').next())
            .map(str::to_owned)
            .collect();
        assert_eq!(exported, page, "{query}: the export, in the page's order");

        let (status, listed) = crate::management::call(
            &app,
            &admin,
            reqwest::Method::GET,
            &format!("/api/v1/api-keys?{query}"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{query}: {listed}");
        let api: Vec<String> = listed["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|k| k["name"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(api, page, "{query}: the API, in the page's order");
        assert_eq!(listed["total"], page.len(), "{query}");
    }
}

async fn a_whole_key_in_resource_is_cut_to_its_key_id_and_never_reaches_the_page(app: TestApp) {
    let org = ready(&app).await;
    let (_, secret) = app.add_api_key(&org, named("Flight sync")).await;
    let (key_id, hidden) = (&secret[..16], &secret[16..]);

    // Without JavaScript the form's GET carried the key: sent on at once.
    let response = get(&app, &format!("{BASE}?can=read&resource={secret}&status=all"), false).await;
    assert_eq!(response.status().as_u16(), 303);
    let location = response.headers()["location"].to_str().expect("ascii").to_owned();
    assert_eq!(location, format!("{BASE}?can=read&resource={key_id}&status=all"));

    for (path, htmx) in [
        (location.clone(), false),
        (format!("{BASE}?can=read&resource=%20{secret}&status=all"), true),
        (format!("{BASE}/export.csv?resource={secret}&status=all"), false),
    ] {
        let response = get(&app, &path, htmx).await;
        let pushed = response
            .headers()
            .get("hx-push-url")
            .map(|url| url.to_str().expect("ascii").to_owned());
        let body = response.text().await.expect("body");
        assert!(
            !body.contains(hidden),
            "{path}: the secret part is nowhere in the answer"
        );
        if htmx {
            assert_eq!(pushed, Some(format!("{BASE}?can=read&resource={key_id}&status=all")));
        }
    }
}
