//! What follows a change in the backoffice (issue 12, items 7, 8 and 13):
//! a browser without JavaScript comes back where it was (`return_to`, which
//! only ever names the key list or a key's page) with a one-time message the
//! page writes itself; htmx gets the message and where focus goes; a page
//! past the end says so; a key's page has its actions and facts.

use keyward::domain::audit::Actor;
use keyward::domain::role::Role;
use keyward::store::organizations::Organization;

use crate::on_both_backends;
use crate::support::{PASSWORD, TestApp, TestKey, secret_in};

const BASE: &str = "/backoffice/settings/api-keys";

on_both_backends!(
    return_to_brings_a_browser_back_to_the_list_it_left_and_nowhere_else,
    the_flash_names_a_key_of_the_organization_and_takes_no_text_from_the_query,
    every_change_tells_htmx_what_was_done_and_where_focus_goes,
    the_dialogs_carry_return_to_through_cancel_and_done,
    a_page_past_the_end_says_so_and_links_the_last_page,
    the_key_page_has_its_actions_who_revoked_it_and_the_last_address,
    a_key_whose_every_request_was_refused_says_so_beside_its_sparkline
);

/// A signed-in System Administrator of a new organization set up for keys.
async fn ready(app: &TestApp) -> Organization {
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

async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let response = app.client.get(app.url(path)).send().await.expect("request");
    (response.status().as_u16(), response.text().await.expect("body"))
}

/// The text of the page's live region.
fn status_message(html: &str) -> String {
    let start = html.find("id=\"status-message\"").expect("the live region");
    let start = html[start..].find('>').expect("its tag ends") + start + 1;
    let end = html[start..].find("</div>").expect("it ends") + start;
    html[start..end].to_owned()
}

/// POSTs `form` (with the CSRF token) as a browser without JavaScript would.
async fn post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    let csrf = app.csrf_token(&app.client, BASE).await;
    let mut fields = vec![("csrf_token", csrf.as_str())];
    fields.extend_from_slice(form);
    app.post_form(&app.client, path, &fields).await
}

/// POSTs `form` as htmx does (the token in its header).
async fn post_htmx(app: &TestApp, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    let csrf = app.csrf_token(&app.client, BASE).await;
    app.client
        .post(app.url(path))
        .header("Origin", &app.origin)
        .header("HX-Request", "true")
        .header("X-CSRF-Token", csrf)
        .form(form)
        .send()
        .await
        .expect("request")
}

fn location(response: &reqwest::Response) -> String {
    assert_eq!(response.status().as_u16(), 303, "a redirect");
    response.headers()["location"].to_str().expect("ascii").to_owned()
}

/// The events of an htmx answer's `HX-Trigger`.
fn events(response: &reqwest::Response) -> serde_json::Value {
    let header = response.headers()["hx-trigger"].to_str().expect("an ASCII header");
    serde_json::from_str(header).unwrap_or_else(|e| panic!("{header} is not JSON: {e}"))
}

async fn return_to_brings_a_browser_back_to_the_list_it_left_and_nowhere_else(app: TestApp) {
    let org = ready(&app).await;
    let (id, _) = app.add_api_key(&org, named("Flight sync")).await;

    // The list the browser was on, filters and page kept, and the flash.
    let kept = format!("{BASE}?q=flight&status=all&page=1");
    let response = post(&app, &format!("{BASE}/{id}/disable"), &[("return_to", &kept)]).await;
    assert_eq!(location(&response), format!("{kept}&done=disabled&key={id}"));
    // A key's page is a place to come back to too.
    let response = post(
        &app,
        &format!("{BASE}/{id}/enable"),
        &[("return_to", &format!("{BASE}/{id}"))],
    )
    .await;
    assert_eq!(location(&response), format!("{BASE}/{id}?done=enabled&key={id}"));
    // An old flash is not carried on.
    let stale = format!("{BASE}?status=all&done=revoked&key={id}");
    let response = post(&app, &format!("{BASE}/{id}/disable"), &[("return_to", &stale)]).await;
    assert_eq!(location(&response), format!("{BASE}?status=all&done=disabled&key={id}"));

    // Anything else is ignored: the list as it opens, never another site
    // or another page.
    for hostile in [
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "https:evil.example",
        "/%09/evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "https://evil.example/backoffice/settings/api-keys",
        "/backoffice/settings/api-keys/../../login",
        "/backoffice/settings/api-keys/%2e%2e/%2e%2e/login",
        "/backoffice/settings/api-keys/usage",
        "/backoffice/settings/api-keysevil",
        "/login",
        "",
    ] {
        let response = post(&app, &format!("{BASE}/{id}/enable"), &[("return_to", hostile)]).await;
        let place = location(&response);
        assert_eq!(place, format!("{BASE}?done=enabled&key={id}"), "{hostile:?}");
        let response = post(&app, &format!("{BASE}/{id}/disable"), &[("return_to", hostile)]).await;
        assert!(
            location(&response).starts_with(&format!("{BASE}?done=disabled")),
            "{hostile:?}"
        );
    }

    // The dialogs read it from their GET and hold the list to it as well.
    let (status, edit) = page(
        &app,
        &format!(
            "{BASE}/{id}/edit?return_to={}",
            keyward::web::percent_encode("//evil.example")
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        edit.contains(&format!("name=\"return_to\" value=\"{BASE}\"")) && !edit.contains("evil.example"),
        "{edit}"
    );
}

async fn the_flash_names_a_key_of_the_organization_and_takes_no_text_from_the_query(app: TestApp) {
    let org = ready(&app).await;
    let (id, _) = app.add_api_key(&org, named("Flight sync")).await;
    let (marked_up, _) = app.add_api_key(&org, named("<b>Crew</b> roster")).await;
    let globex = app.create_org("Globex Airways").await;
    let setup = globex.clone();
    app.query(move |conn| keyward::service::keys::bootstrap(conn, &setup, &Actor::Cli, None).map(drop))
        .await;
    let (theirs, _) = app.add_api_key(&globex, named("Globex sync")).await;

    let (_, list) = page(&app, &format!("{BASE}?status=all&done=disabled&key={id}")).await;
    assert_eq!(status_message(&list), "Flight sync disabled.");
    let (_, list) = page(&app, &format!("{BASE}?done=saved&key={marked_up}")).await;
    assert_eq!(
        status_message(&list),
        "Changes to &#60;b&#62;Crew&#60;/b&#62; roster saved.",
        "the name is text"
    );
    // Nothing but a known code and a key of this organization says anything.
    for query in [
        format!("done=disabled&key={theirs}"),
        "done=disabled&key=0192f0c4-0000-7000-8000-000000000000".to_owned(),
        format!("done=%3Cscript%3Ealert(1)%3C/script%3E&key={id}"),
        format!("done=Hacked%20by%20us&key={id}"),
        "done=disabled&key=%3Cscript%3E".to_owned(),
        format!("done=disabled&message=Hacked&key=x{id}"),
        "message=Your%20account%20is%20locked".to_owned(),
        format!("key={id}"),
    ] {
        let (status, list) = page(&app, &format!("{BASE}?{query}")).await;
        assert_eq!(status, 200, "{query}");
        assert_eq!(status_message(&list), "", "{query}");
        assert!(!list.contains("Hacked") && !list.contains("locked") && !list.contains("<script>"));
    }
    // A deleted key is still named ("… deleted."); a key's page speaks
    // only of its own key.
    let response = post(&app, &format!("{BASE}/{id}/delete"), &[("return_to", BASE)]).await;
    let (_, list) = page(&app, &location(&response)).await;
    assert_eq!(status_message(&list), "Flight sync deleted.");
    let (_, other_page) = page(&app, &format!("{BASE}/{marked_up}?done=deleted&key={id}")).await;
    assert_eq!(status_message(&other_page), "");
}

async fn every_change_tells_htmx_what_was_done_and_where_focus_goes(app: TestApp) {
    let org = ready(&app).await;
    let (id, _) = app.add_api_key(&org, named("Übersicht")).await;
    let list = format!("{BASE}?status=all");
    let key_page = format!("{BASE}/{id}");

    // The row's toggle on the list: the message, and focus on the row's
    // Actions button (or the heading once the row is gone).
    let response = post_htmx(&app, &format!("{BASE}/{id}/disable"), &[("return_to", &list)]).await;
    assert_eq!(response.status().as_u16(), 200);
    let done = events(&response);
    assert_eq!(done["api-keys-changed"]["target"], "body");
    assert_eq!(done["keyward-done"]["message"], "Übersicht disabled.");
    assert_eq!(
        done["keyward-done"]["focus"],
        serde_json::json!([format!("actions-{id}"), "api-keys-heading"])
    );
    // The name travels as ASCII in the header.
    let raw = response.headers()["hx-trigger"].to_str().expect("ascii").to_owned();
    assert!(raw.contains("\\u00dcbersicht"), "{raw}");

    // On the key's page: the action's own button.
    let response = post_htmx(&app, &format!("{BASE}/{id}/enable"), &[("return_to", &key_page)]).await;
    let done = events(&response);
    assert_eq!(done["keyward-done"]["message"], "Übersicht enabled.");
    assert_eq!(
        done["keyward-done"]["focus"],
        serde_json::json!(["key-toggle", "key-heading"])
    );

    // Save closes its dialog.
    let response = post_htmx(
        &app,
        &format!("{BASE}/{id}"),
        &[
            ("name", "Übersicht v2"),
            ("scope_mode", "full"),
            ("networks", "0.0.0.0/0"),
            ("return_to", &list),
        ],
    )
    .await;
    let done = events(&response);
    assert_eq!(done["close-modal"]["target"], "body");
    assert_eq!(done["keyward-done"]["message"], "Changes to Übersicht v2 saved.");

    // Rotate: the secret dialog stays; the message waits for it to close.
    let response = post_htmx(
        &app,
        &format!("{BASE}/{id}/rotate"),
        &[("grace", "1h"), ("return_to", &list)],
    )
    .await;
    let done = events(&response);
    assert!(done.get("close-modal").is_none(), "the secret stays on screen");
    assert_eq!(
        done["keyward-done"]["message"],
        "Übersicht v2 rotated: it has a new secret."
    );

    let response = post_htmx(&app, &format!("{BASE}/{id}/revoke"), &[("return_to", &key_page)]).await;
    let done = events(&response);
    assert_eq!(done["keyward-done"]["message"], "Übersicht v2 revoked.");
    assert_eq!(done["keyward-done"]["focus"][0], "key-heading");

    // Delete on the key's page: that page is gone, so the list comes next.
    let response = post_htmx(&app, &format!("{BASE}/{id}/delete"), &[("return_to", &key_page)]).await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers().get("hx-trigger").is_none());
    let next = response.headers()["hx-redirect"].to_str().expect("ascii").to_owned();
    assert_eq!(next, format!("{BASE}?done=deleted&key={id}"));
    let (_, landed) = page(&app, &next).await;
    assert_eq!(status_message(&landed), "Übersicht v2 deleted.");

    // From the list, Delete stays on the list and names the heading.
    let (other, _) = app.add_api_key(&org, named("Crew roster")).await;
    let response = post_htmx(&app, &format!("{BASE}/{other}/delete"), &[("return_to", &list)]).await;
    let done = events(&response);
    assert_eq!(done["keyward-done"]["message"], "Crew roster deleted.");
    assert_eq!(done["keyward-done"]["focus"][1], "api-keys-heading");
}

async fn the_dialogs_carry_return_to_through_cancel_and_done(app: TestApp) {
    let org = ready(&app).await;
    let (id, _) = app.add_api_key(&org, named("Flight sync")).await;
    let list = format!("{BASE}?q=flight&status=all");
    let param = keyward::web::percent_encode(&list);

    for dialog in ["edit", "rotate", "revoke", "delete"] {
        let (status, body) = page(&app, &format!("{BASE}/{id}/{dialog}?return_to={param}")).await;
        assert_eq!(status, 200, "{dialog}");
        assert!(
            body.contains(&format!("name=\"return_to\" value=\"{BASE}?q=flight&#38;status=all\"")),
            "{dialog} sends it on: {body}"
        );
        // Cancel without JavaScript is a GET form: its fields are the query.
        let cancel = &body[body.find("id=\"dialog-cancel\"").expect("a Cancel form")..];
        let cancel = &cancel[..cancel.find("</form>").expect("it ends")];
        assert!(
            cancel.contains(&format!("action=\"{BASE}\""))
                && cancel.contains("name=\"q\" value=\"flight\"")
                && cancel.contains("name=\"status\" value=\"all\""),
            "{dialog}: {cancel}"
        );
    }

    // Rotate without JavaScript: Done goes back to the list it came from,
    // with the message.
    let response = post(
        &app,
        &format!("{BASE}/{id}/rotate"),
        &[("grace", "now"), ("return_to", &list)],
    )
    .await;
    assert_eq!(response.status().as_u16(), 200);
    let body = response.text().await.expect("body");
    let done = &body[body.find("id=\"secret-done-form\"").expect("Done's form")..];
    let done = &done[..done.find("</form>").expect("it ends")];
    for field in [
        "name=\"q\" value=\"flight\"".to_owned(),
        "name=\"done\" value=\"rotated\"".to_owned(),
        format!("name=\"key\" value=\"{id}\""),
    ] {
        assert!(done.contains(&field), "{field}: {done}");
    }
    let (_, landed) = page(&app, &format!("{list}&done=rotated&key={id}")).await;
    assert_eq!(status_message(&landed), "Flight sync rotated: it has a new secret.");

    // Save without JavaScript, from the key's page: back to it.
    let response = post(
        &app,
        &format!("{BASE}/{id}"),
        &[
            ("name", "Flight sync v2"),
            ("scope_mode", "read"),
            ("networks", "10.0.0.0/8"),
            ("return_to", &format!("{BASE}/{id}")),
        ],
    )
    .await;
    let next = location(&response);
    assert_eq!(next, format!("{BASE}/{id}?done=saved&key={id}"));
    let (_, key_page) = page(&app, &next).await;
    assert_eq!(status_message(&key_page), "Changes to Flight sync v2 saved.");

    // A refused Save keeps where it goes back to.
    let response = post(
        &app,
        &format!("{BASE}/{id}"),
        &[
            ("name", ""),
            ("scope_mode", "read"),
            ("networks", "10.0.0.0/8"),
            ("return_to", &list),
        ],
    )
    .await;
    assert_eq!(response.status().as_u16(), 422);
    let body = response.text().await.expect("body");
    assert!(body.contains("name=\"return_to\" value=\"/backoffice/settings/api-keys?q=flight&#38;status=all\""));

    // Create, without JavaScript: Done leads to the list with its message.
    let csrf = app.csrf_token(&app.client, BASE).await;
    let created = app
        .post_form(
            &app.client,
            BASE,
            &[
                ("csrf_token", &csrf),
                ("name", "Parts feed"),
                ("scope_mode", "read"),
                ("networks", "10.0.0.0/8"),
            ],
        )
        .await
        .text()
        .await
        .expect("body");
    secret_in(&created);
    assert!(created.contains("name=\"done\" value=\"created\""), "{created}");
}

async fn a_page_past_the_end_says_so_and_links_the_last_page(app: TestApp) {
    let org = ready(&app).await;
    for name in ["Flight sync", "Crew roster", "Parts feed"] {
        app.add_api_key(&org, named(name)).await;
    }
    let (status, past) = page(&app, &format!("{BASE}?status=all&page=99")).await;
    assert_eq!(status, 200);
    assert!(
        past.contains("Page 99 is past the end: there are 3 keys on 1 page."),
        "{past}"
    );
    assert!(
        past.contains(&format!("href=\"{BASE}?status=all\" ")) && past.contains(">Go to page 1</a>"),
        "{past}"
    );
    assert!(
        !past.contains("No active keys") && !past.contains("Previous page"),
        "{past}"
    );

    // 30 keys: two pages, and page 2 is not past the end.
    app.add_numbered_keys(&org, "Batch key", 27).await;
    let (_, second) = page(&app, &format!("{BASE}?status=active&page=2")).await;
    assert!(
        second.contains("Showing 26–30 of 30") && !second.contains("past the end"),
        "{second}"
    );
    let (_, third) = page(&app, &format!("{BASE}?status=active&page=3")).await;
    assert!(
        third.contains("Page 3 is past the end: there are 30 keys on 2 pages.")
            && third.contains(&format!("href=\"{BASE}?status=active&#38;page=2\" "))
            && third.contains(">Go to page 2</a>"),
        "{third}"
    );
    // No keys at all is still the empty state, on any page.
    let (_, none) = page(&app, &format!("{BASE}?status=disabled&page=4")).await;
    assert!(
        none.contains("No disabled keys") && !none.contains("past the end"),
        "{none}"
    );
}

async fn the_key_page_has_its_actions_who_revoked_it_and_the_last_address(app: TestApp) {
    let org = ready(&app).await;
    let (id, secret) = app.add_api_key(&org, named("Flight sync")).await;

    let (_, fresh) = page(&app, &format!("{BASE}/{id}")).await;
    for action in ["Edit", "Disable", "Rotate", "Revoke", "Delete"] {
        assert!(
            fresh.contains(&format!(
                ">{action}<span class=\"visually-hidden\"> Flight sync</span></button>"
            )),
            "{action} Flight sync: {fresh}"
        );
    }
    assert!(fresh.contains(&format!("name=\"return_to\" value=\"{BASE}/{id}\"")));
    // The whole key id, to copy (the button needs JavaScript; the text is
    // selectable without it).
    assert!(fresh.contains(&format!(
        "<code id=\"key-id-value\" class=\"key-id\">{}</code>",
        &secret[..16]
    )));
    assert!(fresh.contains("data-copy-target=\"key-id-value\" data-js-only>Copy key id</button>"));
    assert!(!fresh.contains(&secret[16..]), "never the secret part");
    assert!(fresh.contains("Last used from</dt><dd>—</dd>"), "{fresh}");

    // A request from an address: the flush records it with the time.
    let used_at = keyward::store::now();
    let used = id.clone();
    app.query(move |conn| {
        Ok(keyward::store::usage::touch_last_used(
            conn,
            &used,
            used_at,
            "203.0.113.7",
        )?)
    })
    .await;
    let (_, used) = page(&app, &format!("{BASE}/{id}")).await;
    assert!(
        used.contains("Last used from</dt><dd><code>203.0.113.7</code></dd>"),
        "{used}"
    );

    // Revoked: by whom and when, and only Delete is left.
    let email = format!("{}@acme.test", Role::SystemAdministrator.as_str());
    let response = post(
        &app,
        &format!("{BASE}/{id}/revoke"),
        &[("return_to", &format!("{BASE}/{id}"))],
    )
    .await;
    let next = location(&response);
    assert_eq!(
        next,
        format!("{BASE}/{id}?done=revoked&key={id}"),
        "the key's page again"
    );
    let (_, revoked) = page(&app, &next).await;
    assert_eq!(status_message(&revoked), "Flight sync revoked.");
    let line = revoked
        .split("Revoked at ")
        .nth(1)
        .and_then(|rest| rest.split(". Every").next())
        .unwrap_or_else(|| panic!("no \"Revoked at\": {revoked}"));
    assert!(line.ends_with(&format!(" UTC by {email}")), "{line}");
    assert!(!revoked.contains(">Rotate<") && !revoked.contains(">Disable<") && !revoked.contains(">Edit<"));
    assert!(revoked.contains(">Delete<span class=\"visually-hidden\"> Flight sync</span>"));

    // Another organization's administrator sees none of it.
    let globex = app.create_org("Globex Airways").await;
    app.create_user(&globex, Role::SystemAdministrator, "gil@globex.test")
        .await;
    let intruder = app.new_client();
    app.sign_in_with(&intruder, "gil@globex.test", PASSWORD).await;
    let status = intruder
        .get(app.url(&format!("{BASE}/{id}?done=revoked&key={id}")))
        .send()
        .await
        .expect("request")
        .status();
    assert_eq!(status.as_u16(), 404);
}

async fn a_key_whose_every_request_was_refused_says_so_beside_its_sparkline(app: TestApp) {
    let org = ready(&app).await;
    let (refused_only, _) = app.add_api_key(&org, named("Flight sync")).await;
    let (both, _) = app.add_api_key(&org, named("Crew roster")).await;
    let (quiet, _) = app.add_api_key(&org, named("Parts feed")).await;
    let (ids, org_id) = ((refused_only.clone(), both.clone()), org.id.clone());
    app.query(move |conn| {
        use keyward::store::usage::{self, UsageDelta};
        let hour = keyward::store::now();
        let delta = |key: &str, outcome: &str, count| UsageDelta {
            api_key_id: key.to_owned(),
            org_id: org_id.clone(),
            hour,
            outcome: outcome.to_owned(),
            count,
        };
        usage::add(
            conn,
            &[
                delta(&ids.0, "ip_not_allowed", 8),
                delta(&ids.1, "allowed", 12),
                delta(&ids.1, "insufficient_scope", 3),
            ],
        )?;
        Ok(usage::touch_last_used(conn, &ids.1, hour, "10.0.0.1")?)
    })
    .await;

    let (_, list) = page(&app, BASE).await;
    let row = |id: &str| {
        let start = list.find(&format!("<tr id=\"key-{id}\"")).expect("the row");
        list[start..start + list[start..].find("</tr>").expect("it ends")].to_owned()
    };
    let refused_row = row(&refused_only);
    assert!(
        refused_row.contains("aria-label=\"0 allowed and 8 refused requests in the last 7 days\""),
        "{refused_row}"
    );
    assert!(refused_row.contains("Never allowed<br><span class=\"hint\">8 refused in 7 days</span>"));
    assert!(refused_row.contains("spark-refused"), "the refused requests are drawn");
    let both_row = row(&both);
    assert!(both_row.contains("aria-label=\"12 allowed and 3 refused requests in the last 7 days\""));
    assert!(both_row.contains("just now"), "{both_row}");
    let quiet_row = row(&quiet);
    assert!(quiet_row.contains("aria-label=\"No requests in the last 7 days\""));
    assert!(
        quiet_row.contains(">Never</td>") && !quiet_row.contains("spark-refused"),
        "{quiet_row}"
    );

    // The key's page says the same.
    let (_, key_page) = page(&app, &format!("{BASE}/{refused_only}")).await;
    assert!(
        key_page.contains("Never allowed (8 refused in the last 7 days)"),
        "{key_page}"
    );
}
