//! The key lifecycle as an administrator clicks through it.

use std::time::Duration;

use keyward::domain::role::Role;
use thirtyfour::prelude::*;

use crate::find::{button, button_in, dialog, field, heading, key_row, link, menuitem, sees};
use crate::harness::{review_screenshot, sign_in, with_browser};

use crate::support::Part;

crate::tests!(needs Part::Browser; escape_keeps_a_secret_that_is_not_yet_acknowledged, a_whole_key_pasted_into_search_finds_its_key_and_stays_out_of_the_address, disabling_a_row_under_the_active_filter_takes_it_out_and_updates_the_counts);

crate::tests!(needs Part::Browser; an_administrator_creates_a_key_copies_its_secret_and_toggles_it, the_names_qa_relies_on_are_on_the_pages, an_administrator_edits_rotates_revokes_and_deletes_a_key, each_status_filter_shows_only_its_keys, the_usage_page_and_the_audit_log_are_reached_from_the_key_list);

/// Chooses a row's action as QA does: opens "Actions for <key>", then the
/// menuitem "<action> <key>" (e.g. "Disable Flight sync").
pub async fn row_action(driver: &WebDriver, key: &str, action: &str) {
    button(driver, &format!("Actions for {key}"))
        .await
        .click()
        .await
        .expect("the Actions menu opens");
    menuitem(driver, &format!("{action} {key}"))
        .await
        .click()
        .await
        .unwrap_or_else(|error| panic!("cannot choose {action} {key}: {error}"));
}

/// The names of the items of a row's Actions menu, opened and closed again.
pub async fn row_actions_offered(driver: &WebDriver, key: &str) -> Vec<String> {
    let opener = button(driver, &format!("Actions for {key}")).await;
    opener.click().await.expect("the Actions menu opens");
    menuitem(driver, &format!("Delete {key}")).await;
    let mut names = Vec::new();
    for item in driver
        .find_all(By::XPath("//*[@role='menu'][not(@hidden)]//*[@role='menuitem']"))
        .await
        .expect("menu items")
    {
        // The whole name: its key's name is visually hidden text.
        let text = item.prop("textContent").await.expect("text").unwrap_or_default();
        names.push(text.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    // Focus is on the first item: Escape closes the menu.
    press_escape(driver).await;
    names
}

async fn row_text(driver: &WebDriver, name: &str) -> String {
    driver
        .query(By::XPath(key_row(name)))
        .wait(Duration::from_secs(5), Duration::from_millis(50))
        .first()
        .await
        .unwrap_or_else(|e| panic!("no row for {name}: {e}"))
        .text()
        .await
        .expect("text")
}

pub async fn wait_until_gone(driver: &WebDriver, xpath: &str) {
    for _ in 0..100 {
        if driver.find_all(By::XPath(xpath)).await.expect("find").is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{xpath} is still there");
}

/// Signs a new organization's System Administrator in and sets the
/// organization up for API keys through the page's button.
pub async fn set_up_api_keys_as_system_administrator(driver: &WebDriver, app: &crate::support::TestApp) {
    let org = app.create_org("Acme Aviation").await;
    app.create_user(&org, Role::SystemAdministrator, "sam@acme.test").await;
    sign_in(driver, app, "sam@acme.test").await;
    driver
        .goto(app.url("/backoffice/settings/api-keys"))
        .await
        .expect("goto");
    button(driver, "Set up API keys").await.click().await.expect("click");
}

async fn an_administrator_creates_a_key_copies_its_secret_and_toggles_it() {
    with_browser(|driver, app| async move {
        set_up_api_keys_as_system_administrator(&driver, &app).await;
        sees(&driver, "No API keys yet").await;

        // Create with an error, then fixed.
        button(&driver, "Create API Key").await.click().await.expect("click");
        let create = dialog(&driver, "Create API key").await;
        let networks = field(&driver, "Allowed networks").await;
        networks.clear().await.expect("clear");
        networks.send_keys("10.0.0.1/8").await.expect("type");
        button_in(&driver, "//dialog", "Create")
            .await
            .click()
            .await
            .expect("click");
        sees(&driver, "Enter a name").await;
        sees(&driver, "did you mean 10.0.0.0/8?").await;
        review_screenshot(&driver, "create-with-errors").await;
        drop(create);
        field(&driver, "Name")
            .await
            .send_keys("Flight sync")
            .await
            .expect("type");
        let networks = field(&driver, "Allowed networks").await;
        networks.clear().await.expect("clear");
        networks.send_keys("10.0.0.0/8").await.expect("type");
        // No scope is chosen for a new key: Full access is asked for.
        field(&driver, "Full access").await.click().await.expect("choose");
        button_in(&driver, "//dialog", "Create")
            .await
            .click()
            .await
            .expect("click");

        // The one-time secret.
        dialog(&driver, "Your new API key").await;
        let secret = driver.find(By::Id("new-secret")).await.expect("secret field");
        let value = secret.value().await.expect("value").expect("a key");
        assert!(value.starts_with("ask_") && value.len() == 68);
        let done = button(&driver, "Done").await;
        assert!(
            !done.is_enabled().await.expect("state"),
            "Done waits for the acknowledgement"
        );
        button(&driver, "Copy").await.click().await.expect("click");
        review_screenshot(&driver, "secret-dialog").await;
        field(&driver, "I have copied this key")
            .await
            .click()
            .await
            .expect("tick");
        assert!(done.is_enabled().await.expect("state"));
        done.click().await.expect("click");
        wait_until_gone(&driver, "//dialog[@open]").await;
        assert!(
            driver.source().await.expect("source").find(&value).is_none(),
            "the secret left the page"
        );
        let row = row_text(&driver, "Flight sync").await;
        assert!(row.contains("Active"), "{row}");

        // Disable in the row: the Active list lets it go; enable it under All.
        row_action(&driver, "Flight sync", "Disable").await;
        wait_until_gone(&driver, &key_row("Flight sync")).await;
        driver
            .goto(app.url("/backoffice/settings/api-keys?status=all"))
            .await
            .expect("goto");
        assert!(row_text(&driver, "Flight sync").await.contains("Disabled"));
        row_action(&driver, "Flight sync", "Enable").await;
        sees(&driver, "Flight sync enabled.").await;
        assert!(
            row_actions_offered(&driver, "Flight sync")
                .await
                .contains(&"Disable Flight sync".to_owned())
        );

        review_screenshot(&driver, "list-active").await;

        // Search updates the table in place and the URL.
        field(&driver, "Search")
            .await
            .send_keys("nothing-like-it")
            .await
            .expect("type");
        sees(&driver, "No keys match").await;
        assert!(
            driver
                .current_url()
                .await
                .expect("url")
                .as_str()
                .contains("q=nothing-like-it")
        );
    })
    .await;
}

async fn the_names_qa_relies_on_are_on_the_pages() {
    with_browser(|driver, app| async move {
        set_up_api_keys_as_system_administrator(&driver, &app).await;
        for name in ["Create API Key", "Export CSV", "Sign out"] {
            button(&driver, name).await;
        }
        for label in ["Search", "Status"] {
            field(&driver, label).await;
        }
        button(&driver, "Create API Key").await.click().await.expect("click");
        dialog(&driver, "Create API key").await;
        for label in ["Name", "Expires at", "Allowed networks"] {
            field(&driver, label).await;
        }
        for name in ["Create", "Cancel"] {
            button_in(&driver, "//dialog", name).await;
        }
        button_in(&driver, "//dialog", "Cancel")
            .await
            .click()
            .await
            .expect("click");
        wait_until_gone(&driver, "//dialog[@open]").await;
    })
    .await;
}

/// A System Administrator of a set-up organization with one key, made
/// through the same lifecycle code the page uses.
pub async fn org_with_key(app: &crate::support::TestApp, key_name: &'static str) {
    let org = app.create_org("Acme Aviation").await;
    app.create_user(&org, Role::SystemAdministrator, "sam@acme.test").await;
    let secret = app.secret.clone();
    app.db
        .transaction(move |conn| {
            use keyward::domain::{api_key::KeyName, audit::Actor, network::NetworkList, scope::ScopeSet};
            keyward::service::keys::bootstrap(conn, &org, &Actor::Cli, None)?;
            let new = keyward::service::keys::NewKey {
                name: KeyName::parse(key_name)?,
                expiry: None,
                scopes: ScopeSet::full_access(),
                networks: NetworkList::allow_all(),
                allow_query_key: false,
            };
            keyward::service::keys::create(conn, &secret, &org.id, &new, &Actor::Cli, None).map(drop)
        })
        .await
        .expect("key created");
}

async fn wait_closed(driver: &WebDriver) {
    for _ in 0..100 {
        if driver
            .find_all(By::XPath("//dialog[@open]"))
            .await
            .expect("find")
            .is_empty()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the dialog did not close");
}

async fn wait_gone(driver: &WebDriver, xpath: &str) {
    for _ in 0..100 {
        if driver.find_all(By::XPath(xpath)).await.expect("find").is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{xpath} is still there");
}

async fn choose_status(driver: &WebDriver, value: &str) {
    let select = thirtyfour::components::SelectElement::new(&field(driver, "Status").await)
        .await
        .expect("a select");
    select.select_by_value(value).await.expect("choose");
}

async fn an_administrator_edits_rotates_revokes_and_deletes_a_key() {
    with_browser(|driver, app| async move {
        org_with_key(&app, "Flight sync").await;
        sign_in(&driver, &app, "sam@acme.test").await;
        driver
            .goto(app.url("/backoffice/settings/api-keys"))
            .await
            .expect("goto");

        // Edit, with the warning that changes apply at once.
        row_action(&driver, "Flight sync", "Edit").await;
        dialog(&driver, "Edit API key").await;
        sees(&driver, "Changes apply to the very next request").await;
        let name = field(&driver, "Name").await;
        name.clear().await.expect("clear");
        name.send_keys("Flight sync v2").await.expect("type");
        button_in(&driver, "//dialog", "Save")
            .await
            .click()
            .await
            .expect("click");
        wait_closed(&driver).await;
        assert!(row_text(&driver, "Flight sync v2").await.contains("Active"));

        // Rotate: the new secret in the one-time dialog.
        row_action(&driver, "Flight sync v2", "Rotate").await;
        dialog(&driver, "Rotate API key").await;
        button_in(&driver, "//dialog", "Rotate")
            .await
            .click()
            .await
            .expect("click");
        dialog(&driver, "Your new API key").await;
        let secret = driver
            .find(By::Id("new-secret"))
            .await
            .expect("field")
            .value()
            .await
            .expect("value");
        assert!(secret.is_some_and(|s| s.starts_with("ask_") && s.len() == 68));
        field(&driver, "I have copied this key")
            .await
            .click()
            .await
            .expect("tick");
        button(&driver, "Done").await.click().await.expect("click");
        wait_closed(&driver).await;

        // The filter shows counts and updates the table and the URL in place.
        choose_status(&driver, "disabled").await;
        sees(&driver, "No disabled keys").await;
        assert!(
            driver
                .current_url()
                .await
                .expect("url")
                .as_str()
                .contains("status=disabled")
        );
        choose_status(&driver, "active").await;

        // Revoke, confirmed in a dialog that names the key.
        row_action(&driver, "Flight sync v2", "Revoke").await;
        let confirm = dialog(&driver, "Revoke API key").await;
        assert!(confirm.text().await.expect("text").contains("Flight sync v2"));
        sees(&driver, "cannot be undone").await;
        review_screenshot(&driver, "revoke-dialog").await;
        button_in(&driver, "//dialog", "Revoke")
            .await
            .click()
            .await
            .expect("click");
        wait_closed(&driver).await;
        wait_gone(&driver, &key_row("Flight sync v2")).await;
        // The refreshed filter still says which status is shown.
        let shown = field(&driver, "Status").await.value().await.expect("value");
        assert_eq!(shown.as_deref(), Some("active"));
        choose_status(&driver, "revoked").await;
        let row = row_text(&driver, "Flight sync v2").await;
        assert!(row.contains("Revoked"), "{row}");
        assert_eq!(
            row_actions_offered(&driver, "Flight sync v2").await,
            ["Delete Flight sync v2"],
            "a revoked key offers only Delete"
        );
        review_screenshot(&driver, "list-revoked").await;

        // The detail page: settings, secrets, usage chart, history.
        driver
            .find(By::XPath(format!(
                "{}//a[normalize-space(.)='Flight sync v2']",
                key_row("Flight sync v2")
            )))
            .await
            .expect("link")
            .click()
            .await
            .expect("click");
        sees(&driver, "Requests, last 30 days").await;
        sees(&driver, "Key revoked").await;
        review_screenshot(&driver, "detail").await;
        driver.back().await.expect("back");

        // Delete, confirmed.
        choose_status(&driver, "revoked").await;
        row_action(&driver, "Flight sync v2", "Delete").await;
        dialog(&driver, "Delete API key").await;
        review_screenshot(&driver, "delete-dialog").await;
        button_in(&driver, "//dialog", "Delete")
            .await
            .click()
            .await
            .expect("click");
        wait_closed(&driver).await;
        sees(&driver, "No revoked keys").await;
    })
    .await;
}

async fn each_status_filter_shows_only_its_keys() {
    with_browser(|driver, app| async move {
        let secret = app.secret.clone();
        let accounts = app
            .db
            .transaction(move |conn| keyward::service::accounts::seed_demo(conn, &secret))
            .await
            .expect("demo seeded");
        let admin = accounts
            .iter()
            .find(|a| a.role == Role::SystemAdministrator)
            .expect("a System Administrator");
        driver.goto(app.url("/login")).await.expect("login page");
        field(&driver, "Email")
            .await
            .send_keys(&admin.email)
            .await
            .expect("type");
        field(&driver, "Password")
            .await
            .send_keys(admin.password.expose())
            .await
            .expect("type");
        button(&driver, "Sign in").await.click().await.expect("click");
        driver
            .goto(app.url("/backoffice/settings/api-keys"))
            .await
            .expect("goto");
        for (value, label, expected_rows) in [
            ("active", "Active", 3),
            ("disabled", "Disabled", 1),
            ("expired", "Expired", 1),
            ("revoked", "Revoked", 1),
            ("all", "", 6),
        ] {
            choose_status(&driver, value).await;
            // The table is replaced in place: read all rows' text in one go and
            // retry until the new one, with this filter's rows, is there.
            let rows_xpath = "//table[@aria-label='API keys']/tbody/tr";
            let mut texts: Vec<String> = Vec::new();
            for _ in 0..100 {
                let url = driver.current_url().await.expect("url");
                let rows = driver.find_all(By::XPath(rows_xpath)).await.expect("rows");
                let mut read = Vec::new();
                for row in &rows {
                    match row.text().await {
                        Ok(text) => read.push(text),
                        Err(_) => break, // replaced while reading
                    }
                }
                let settled = read.len() == rows.len() && url.as_str().contains(&format!("status={value}"));
                texts = read;
                if settled && texts.len() == expected_rows && texts.iter().all(|t| t.contains(label)) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert_eq!(texts.len(), expected_rows, "{value}: {texts:?}");
            assert!(texts.iter().all(|t| t.contains(label)), "{value}: {texts:?}");
            review_screenshot(&driver, &format!("list-{value}")).await;
        }
    })
    .await;
}

async fn the_usage_page_and_the_audit_log_are_reached_from_the_key_list() {
    with_browser(|driver, app| async move {
        org_with_key(&app, "Flight sync").await;
        app.db
            .run(|conn| {
                use diesel::prelude::*;
                use keyward::store::schema::api_keys;
                use keyward::store::usage::{self, UsageDelta};
                let (id, org_id): (String, String) =
                    api_keys::table.select((api_keys::id, api_keys::org_id)).first(conn)?;
                let now = keyward::store::now();
                let deltas: Vec<UsageDelta> = (0..12)
                    .flat_map(|day| {
                        let hour = now - chrono::TimeDelta::days(day);
                        [("allowed", 40 + day * 7), ("ip_not_allowed", day % 3)].map(|(outcome, count)| UsageDelta {
                            api_key_id: id.clone(),
                            org_id: org_id.clone(),
                            hour,
                            outcome: outcome.to_owned(),
                            count,
                        })
                    })
                    .collect();
                Ok::<_, keyward::error::AppError>(usage::add(conn, &deltas)?)
            })
            .await
            .expect("usage recorded");
        sign_in(&driver, &app, "sam@acme.test").await;
        driver
            .goto(app.url("/backoffice/settings/api-keys"))
            .await
            .expect("the list opens");

        link(&driver, "Usage").await.click().await.expect("click");
        heading(&driver, 1, "Usage").await;
        sees(&driver, "Top keys").await;
        link(&driver, "Flight sync").await;
        review_screenshot(&driver, "usage").await;

        link(&driver, "← API keys").await.click().await.expect("click");
        link(&driver, "Audit log").await.click().await.expect("click");
        heading(&driver, 1, "Audit log").await;
        field(&driver, "Key created").await.click().await.expect("tick");
        button(&driver, "Apply").await.click().await.expect("click");
        sees(&driver, "Showing 1–1 of 1").await;
        driver
            .find(By::XPath(
                "//table[@aria-label='Audit log']//td[normalize-space(.)='Key created']",
            ))
            .await
            .expect("the creation is listed");
        button(&driver, "Export CSV").await;
        review_screenshot(&driver, "audit-log").await;
    })
    .await;
}

/// A set-up organization with a System Administrator (not signed in) and
/// these keys, the first expiring in three days; returns their secrets.
pub async fn org_with_keys(app: &crate::support::TestApp, names: &'static [&'static str]) -> Vec<String> {
    let org = app.create_org("Acme Aviation").await;
    app.create_user(&org, Role::SystemAdministrator, "sam@acme.test").await;
    let secret = app.secret.clone();
    app.db
        .transaction(move |conn| {
            use keyward::domain::api_key::{Expiry, KeyName};
            use keyward::domain::{audit::Actor, network::NetworkList, scope::ScopeSet};
            keyward::service::keys::bootstrap(conn, &org, &Actor::Cli, None)?;
            let mut secrets = Vec::new();
            for (i, name) in names.iter().enumerate() {
                let new = keyward::service::keys::NewKey {
                    name: KeyName::parse(name)?,
                    expiry: (i == 0).then(|| Expiry::in_days(chrono::Utc::now(), 3)),
                    scopes: ScopeSet::full_access(),
                    networks: NetworkList::allow_all(),
                    allow_query_key: false,
                };
                let (_, token) = keyward::service::keys::create(conn, &secret, &org.id, &new, &Actor::Cli, None)?;
                secrets.push(token.expose().to_owned());
            }
            Ok::<_, keyward::error::AppError>(secrets)
        })
        .await
        .expect("keys created")
}

pub async fn press_escape(driver: &WebDriver) {
    driver
        .active_element()
        .await
        .expect("focus")
        .send_keys(Key::Escape)
        .await
        .expect("Esc");
}

async fn escape_keeps_a_secret_that_is_not_yet_acknowledged() {
    with_browser(|driver, app| async move {
        set_up_api_keys_as_system_administrator(&driver, &app).await;
        button(&driver, "Create API Key").await.click().await.expect("click");
        dialog(&driver, "Create API key").await;
        field(&driver, "Name")
            .await
            .send_keys("Flight sync")
            .await
            .expect("type");
        // A custom row: its scope is the key's.
        field(&driver, "Custom scopes").await.click().await.expect("choose");
        field(&driver, "Action of scope 1")
            .await
            .send_keys("Read")
            .await
            .expect("choose");
        field(&driver, "Resource filter of scope 1")
            .await
            .send_keys("assets")
            .await
            .expect("type");
        button(&driver, "Any address").await.click().await.expect("click");
        button_in(&driver, "//dialog", "Create")
            .await
            .click()
            .await
            .expect("click");
        dialog(&driver, "Your new API key").await;
        let value = driver
            .find(By::Id("new-secret"))
            .await
            .expect("secret field")
            .value()
            .await
            .expect("value")
            .expect("a key");

        // Twice: browsers let a second Esc close a dialog whatever `cancel` says.
        for _ in 0..2 {
            press_escape(&driver).await;
            sees(&driver, "The key will not be shown again: copy it").await;
            dialog(&driver, "Your new API key").await;
            let shown = driver
                .find(By::Id("new-secret"))
                .await
                .expect("the secret is still there")
                .value()
                .await
                .expect("value");
            assert_eq!(shown.as_deref(), Some(value.as_str()));
        }
        review_screenshots_at_both_widths(&driver, "secret-dialog-after-escape").await;

        field(&driver, "I have copied this key")
            .await
            .click()
            .await
            .expect("tick");
        button(&driver, "Done").await.click().await.expect("click");
        wait_until_gone(&driver, "//dialog[@open]").await;
        assert!(driver.source().await.expect("source").find(&value).is_none());
    })
    .await;
}

async fn a_whole_key_pasted_into_search_finds_its_key_and_stays_out_of_the_address() {
    with_browser(|driver, app| async move {
        let secrets = org_with_keys(&app, &["Flight sync", "Crew roster"]).await;
        let (key, key_id, hidden) = (&secrets[0], &secrets[0][..16], &secrets[0][16..]);
        sign_in(&driver, &app, "sam@acme.test").await;
        driver
            .goto(app.url("/backoffice/settings/api-keys"))
            .await
            .expect("goto");
        row_text(&driver, "Crew roster").await;

        // Pasted: the value arrives in one input event.
        let search = field(&driver, "Search").await;
        driver
            .execute(
                "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
                vec![search.to_json().expect("element"), serde_json::json!(key)],
            )
            .await
            .expect("paste");
        wait_until_gone(&driver, &key_row("Crew roster")).await;
        row_text(&driver, "Flight sync").await;
        assert_eq!(search.value().await.expect("value").as_deref(), Some(key_id));
        let url = driver.current_url().await.expect("url").to_string();
        assert!(url.contains(&format!("q={key_id}")) && !url.contains(hidden), "{url}");

        // Typed, one character at a time, into a cleared field.
        search.clear().await.expect("clear");
        search.send_keys(key.as_str()).await.expect("type");
        row_text(&driver, "Flight sync").await;
        assert_eq!(search.value().await.expect("value").as_deref(), Some(key_id));
        let url = driver.current_url().await.expect("url").to_string();
        assert!(!url.contains(hidden), "{url}");
        assert!(!driver.source().await.expect("source").contains(hidden));
    })
    .await;
}

async fn disabling_a_row_under_the_active_filter_takes_it_out_and_updates_the_counts() {
    with_browser(|driver, app| async move {
        org_with_keys(&app, &["Flight sync", "Crew roster"]).await;
        sign_in(&driver, &app, "sam@acme.test").await;
        driver
            .goto(app.url("/backoffice/settings/api-keys?status=active"))
            .await
            .expect("goto");
        // The status cell says the status and nothing else; the expiry hint
        // sits beside it.
        let status_cell = driver
            .find(By::XPath(format!("{}/td[3]", key_row("Flight sync"))))
            .await
            .expect("status cell");
        assert_eq!(status_cell.text().await.expect("text"), "Active");
        assert!(row_text(&driver, "Flight sync").await.contains("expires in"));
        review_screenshots_at_both_widths(&driver, "list-status-cells").await;

        row_action(&driver, "Flight sync", "Disable").await;
        wait_until_gone(&driver, &key_row("Flight sync")).await;
        row_text(&driver, "Crew roster").await;
        let mut selected = String::new();
        for _ in 0..100 {
            selected = driver
                .find(By::Css("#key-status option:checked"))
                .await
                .expect("status filter")
                .text()
                .await
                .expect("text");
            if selected == "Active (1)" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(selected, "Active (1)");

        driver
            .goto(app.url("/backoffice/settings/api-keys/audit?to=%2B262142-12-31"))
            .await
            .expect("goto");
        sees(&driver, "is out of range: enter a date from 0001-01-01 to 9999-12-31").await;
        review_screenshots_at_both_widths(&driver, "audit-date-out-of-range").await;
    })
    .await;
}

/// Review screenshots at 1280 px and at 375 px (a phone), then back to 1280.
pub async fn review_screenshots_at_both_widths(driver: &WebDriver, name: &str) {
    review_screenshot(driver, name).await;
    driver.set_window_rect(0, 0, 375, 800).await.expect("resize");
    review_screenshot(driver, &format!("{name}-375")).await;
    driver.set_window_rect(0, 0, 1280, 900).await.expect("resize");
}
