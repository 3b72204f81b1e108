//! Creating a key as an administrator clicks through it (issue 12, items
//! 1–4 and 17): least-privilege defaults, errors where the eye is, scope rows
//! that can be added and removed, the one-time secret with its usage
//! example, and the dialogs without JavaScript.

use std::time::Duration;

use thirtyfour::prelude::*;

use crate::api_keys::{
    org_with_key, review_screenshots_at_both_widths, row_action, set_up_api_keys_as_system_administrator,
    wait_until_gone,
};
use crate::find::{button, button_in, dialog, field, key_row, link, sees, visible};
use crate::harness::{sign_in, with_browser};
use crate::support::Part;

crate::tests!(needs Part::Browser;
    a_new_key_starts_with_least_privilege_and_warns_only_when_it_applies,
    a_refused_form_puts_its_problems_first_and_each_links_to_its_field,
    scope_rows_are_added_and_removed_and_used_only_with_custom_scopes,
    the_secret_shows_whole_with_a_usage_example_and_a_rotation_says_until_when_the_old_one_works,
    without_javascript_cancel_quick_picks_and_done_work_and_a_reload_makes_no_second_key
);

/// The date `days` from now, as the expiry field takes it.
fn in_days(days: i64) -> String {
    (chrono::Utc::now() + chrono::TimeDelta::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

async fn value_of(element: &WebElement) -> String {
    element.prop("value").await.expect("value").unwrap_or_default()
}

async fn pressed(driver: &WebDriver, name: &str) -> bool {
    button_in(driver, "//dialog", name)
        .await
        .attr("aria-pressed")
        .await
        .expect("attribute")
        .as_deref()
        == Some("true")
}

/// Whether a visible element holds `text` right now (no waiting).
async fn shows_now(driver: &WebDriver, text: &str) -> bool {
    let xpath = format!(
        "//*[contains(normalize-space(.), {})][not(*[contains(normalize-space(.), {0})])]",
        crate::find::literal(text)
    );
    for element in driver.find_all(By::XPath(xpath)).await.expect("find") {
        if element.is_displayed().await.unwrap_or(false) {
            return true;
        }
    }
    false
}

async fn open_create_dialog(driver: &WebDriver) {
    button(driver, "Create API Key").await.click().await.expect("click");
    dialog(driver, "Create API key").await;
}

async fn a_new_key_starts_with_least_privilege_and_warns_only_when_it_applies() {
    with_browser(|driver, app| async move {
        set_up_api_keys_as_system_administrator(&driver, &app).await;
        open_create_dialog(&driver).await;
        for choice in ["Full access", "Read only", "Custom scopes"] {
            let radio = field(&driver, choice).await;
            assert!(
                !radio.is_selected().await.expect("state"),
                "{choice} is not chosen for you"
            );
        }
        assert_eq!(value_of(&field(&driver, "Allowed networks").await).await, "");
        assert_eq!(value_of(&field(&driver, "Expires at").await).await, in_days(90));
        assert!(pressed(&driver, "90 days").await);
        assert!(!shows_now(&driver, "allow requests from any address").await);
        assert!(!shows_now(&driver, "ends up in server logs").await);
        review_screenshots_at_both_widths(&driver, "create-blank").await;

        // Quick picks: Never is one click away, and back.
        button_in(&driver, "//dialog", "Never")
            .await
            .click()
            .await
            .expect("click");
        assert_eq!(value_of(&field(&driver, "Expires at").await).await, "");
        assert!(pressed(&driver, "Never").await && !pressed(&driver, "90 days").await);
        button_in(&driver, "//dialog", "30 days")
            .await
            .click()
            .await
            .expect("click");
        assert_eq!(value_of(&field(&driver, "Expires at").await).await, in_days(30));

        // The warnings appear when they apply, and go when they no longer do.
        button(&driver, "Any address").await.click().await.expect("click");
        assert_eq!(
            value_of(&field(&driver, "Allowed networks").await).await,
            "0.0.0.0/0\n::/0"
        );
        sees(&driver, "0.0.0.0/0 and ::/0 allow requests from any address").await;
        let networks = field(&driver, "Allowed networks").await;
        networks.clear().await.expect("clear");
        networks.send_keys("10.0.0.0/8").await.expect("type");
        assert!(!shows_now(&driver, "allow requests from any address").await);
        let query = field(&driver, "Allow key in URL query").await;
        query.click().await.expect("tick");
        sees(&driver, "ends up in server logs, browser history and referrers").await;
        query.click().await.expect("untick");
        assert!(!shows_now(&driver, "ends up in server logs").await);

        // Nothing chosen is refused beside the scopes, never Full access.
        field(&driver, "Name")
            .await
            .send_keys("Flight sync")
            .await
            .expect("type");
        button_in(&driver, "//dialog", "Create")
            .await
            .click()
            .await
            .expect("click");
        sees(&driver, "Choose what the key may do").await;
        field(&driver, "Read only").await.click().await.expect("choose");
        button_in(&driver, "//dialog", "Create")
            .await
            .click()
            .await
            .expect("click");
        dialog(&driver, "Your new API key").await;
        field(&driver, "I have copied this key")
            .await
            .click()
            .await
            .expect("tick");
        button(&driver, "Done").await.click().await.expect("click");
        wait_until_gone(&driver, "//dialog[@open]").await;
        let row = visible(&driver, key_row("Flight sync"), "the new key's row").await;
        assert!(row.text().await.expect("text").contains("Read only"));
    })
    .await;
}

async fn a_refused_form_puts_its_problems_first_and_each_links_to_its_field() {
    with_browser(|driver, app| async move {
        set_up_api_keys_as_system_administrator(&driver, &app).await;
        open_create_dialog(&driver).await;
        field(&driver, "Allowed networks")
            .await
            .send_keys("10.1.2.3/8")
            .await
            .expect("type");
        button_in(&driver, "//dialog", "Create")
            .await
            .click()
            .await
            .expect("click");

        // The summary, named by its heading, has the focus.
        let summary = visible(
            &driver,
            "//*[@role='group'][@aria-labelledby=//*[normalize-space(.)='There are 3 problems with this key']/@id]"
                .to_owned(),
            "the problem summary",
        )
        .await;
        let mut focused = String::new();
        for _ in 0..50 {
            focused = driver
                .active_element()
                .await
                .expect("focus")
                .id()
                .await
                .expect("id")
                .unwrap_or_default();
            if focused == "key-form-problems" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(focused, "key-form-problems", "focus is on the summary");
        assert_eq!(
            summary.attr("id").await.expect("id").as_deref(),
            Some("key-form-problems")
        );
        // The messages stay beside their fields too.
        sees(&driver, "Enter a name").await;
        review_screenshots_at_both_widths(&driver, "create-with-errors").await;

        // Each line links to its field.
        let name_link = visible(
            &driver,
            "//*[@id='key-form-problems']//a[starts-with(normalize-space(.), 'Name:')]".to_owned(),
            "the Name problem's link",
        )
        .await;
        assert_eq!(
            name_link.attr("href").await.expect("href").as_deref(),
            Some("#key-name")
        );
        name_link.click().await.expect("click");
        let focused = driver.active_element().await.expect("focus");
        assert_eq!(focused.id().await.expect("id").as_deref(), Some("key-name"));
        link(
            &driver,
            "Allowed networks: \"10.1.2.3/8\" has host bits set: did you mean 10.0.0.0/8?",
        )
        .await
        .click()
        .await
        .expect("click");
        assert_eq!(
            driver
                .active_element()
                .await
                .expect("focus")
                .id()
                .await
                .expect("id")
                .as_deref(),
            Some("key-networks")
        );

        crate::harness::review_screenshot(&driver, "create-with-errors-at-networks").await;

        // "Did you mean 10.0.0.0/8?", applied with one click.
        button(&driver, "Use 10.0.0.0/8").await.click().await.expect("click");
        assert_eq!(value_of(&field(&driver, "Allowed networks").await).await, "10.0.0.0/8");
        wait_until_gone(&driver, "//button[normalize-space(.)='Use 10.0.0.0/8']").await;
        field(&driver, "Name")
            .await
            .send_keys("Flight sync")
            .await
            .expect("type");
        field(&driver, "Full access").await.click().await.expect("choose");
        button_in(&driver, "//dialog", "Create")
            .await
            .click()
            .await
            .expect("click");
        dialog(&driver, "Your new API key").await;
    })
    .await;
}

async fn scope_rows_are_added_and_removed_and_used_only_with_custom_scopes() {
    with_browser(|driver, app| async move {
        set_up_api_keys_as_system_administrator(&driver, &app).await;
        open_create_dialog(&driver).await;
        let action = field(&driver, "Action of scope 1").await;
        assert!(
            !action.is_enabled().await.expect("state"),
            "rows wait for Custom scopes"
        );
        assert!(!button(&driver, "Add scope").await.is_enabled().await.expect("state"));
        field(&driver, "Custom scopes").await.click().await.expect("choose");
        assert!(action.is_enabled().await.expect("state"));

        action.send_keys("Write").await.expect("choose");
        field(&driver, "Resource filter of scope 1")
            .await
            .send_keys("flights/sync")
            .await
            .expect("type");
        button(&driver, "Add scope").await.click().await.expect("click");
        let second = field(&driver, "Action of scope 2").await;
        assert_eq!(
            driver.active_element().await.expect("focus").element_id(),
            second.element_id(),
            "focus is on the new row"
        );
        second.send_keys("Read").await.expect("choose");
        field(&driver, "Resource filter of scope 2")
            .await
            .send_keys("registries/private")
            .await
            .expect("type");
        button(&driver, "Add scope").await.click().await.expect("click");
        button(&driver, "Remove scope 3").await.click().await.expect("click");
        button(&driver, "Remove scope 1").await.click().await.expect("click");
        // What was scope 2 is scope 1 now; no scope 2 is left.
        assert_eq!(
            value_of(&field(&driver, "Resource filter of scope 1").await).await,
            "registries/private"
        );
        assert!(
            driver
                .find_all(By::XPath("//*[@aria-label='Remove scope 2']"))
                .await
                .expect("find")
                .is_empty()
        );

        // Choosing another option turns the rows off.
        field(&driver, "Read only").await.click().await.expect("choose");
        assert!(
            !field(&driver, "Resource filter of scope 1")
                .await
                .is_enabled()
                .await
                .expect("state")
        );

        // A permission covered by another ticked one says so; ticking one
        // chooses Custom scopes.
        driver
            .find(By::XPath("//dialog//summary[normalize-space(.)='Assets']"))
            .await
            .expect("the Assets group")
            .click()
            .await
            .expect("open");
        field(&driver, "Get Children of Asset (read on assets/children)")
            .await
            .click()
            .await
            .expect("tick");
        assert!(
            field(&driver, "Custom scopes")
                .await
                .is_selected()
                .await
                .expect("state")
        );
        assert!(!shows_now(&driver, "covered by read on assets").await);
        field(&driver, "Search Assets (read on assets)")
            .await
            .click()
            .await
            .expect("tick");
        sees(&driver, "covered by read on assets").await;
        let children = field(&driver, "Get Children of Asset (read on assets/children)").await;
        let described = children
            .attr("aria-describedby")
            .await
            .expect("attribute")
            .expect("described");
        let note = driver.find(By::Id(&described)).await.expect("the note");
        assert_eq!(note.text().await.expect("text"), "covered by read on assets");

        // Create and Cancel stay in view while the form scrolls (at 375 px
        // the form is taller than the dialog).
        driver.set_window_rect(0, 0, 375, 800).await.expect("resize");
        let create = button_in(&driver, "//dialog", "Create").await;
        let in_view = driver
            .execute(
                "var d = arguments[0].closest('dialog'); d.scrollTop = d.scrollHeight / 2; \
                 var b = arguments[0].getBoundingClientRect(), v = d.getBoundingClientRect(); \
                 return [d.scrollHeight > d.clientHeight + 100, b.top >= v.top && b.bottom <= v.bottom];",
                vec![create.to_json().expect("element")],
            )
            .await
            .expect("script")
            .json()
            .clone();
        assert_eq!(
            in_view,
            serde_json::json!([true, true]),
            "scrolls, and Create stays in view"
        );
        driver.set_window_rect(0, 0, 1280, 900).await.expect("resize");
        review_screenshots_at_both_widths(&driver, "create-scrolled-with-custom-scopes").await;

        field(&driver, "Name")
            .await
            .send_keys("Registry sync")
            .await
            .expect("type");
        button(&driver, "Any address").await.click().await.expect("click");
        button_in(&driver, "//dialog", "Create")
            .await
            .click()
            .await
            .expect("click");
        dialog(&driver, "Your new API key").await;
        let scopes: Vec<(String, String)> = app
            .query(|conn| {
                use diesel::prelude::*;
                use keyward::store::schema::key_scopes;
                Ok(key_scopes::table
                    .select((key_scopes::action, key_scopes::resource))
                    .load(conn)?)
            })
            .await;
        let mut scopes: Vec<String> = scopes.into_iter().map(|(a, r)| format!("{a}:{r}")).collect();
        scopes.sort();
        assert_eq!(
            scopes,
            ["read:assets", "read:assets/children", "read:registries/private"],
            "the removed rows are gone, the ticked permissions are in"
        );
    })
    .await;
}

async fn the_secret_shows_whole_with_a_usage_example_and_a_rotation_says_until_when_the_old_one_works() {
    with_browser(|driver, app| async move {
        set_up_api_keys_as_system_administrator(&driver, &app).await;
        open_create_dialog(&driver).await;
        field(&driver, "Name").await.send_keys("Flight sync").await.expect("type");
        field(&driver, "Full access").await.click().await.expect("choose");
        button(&driver, "Any address").await.click().await.expect("click");
        button_in(&driver, "//dialog", "Create").await.click().await.expect("click");
        dialog(&driver, "Your new API key").await;

        let key = field(&driver, "API key").await;
        let secret = value_of(&key).await;
        assert!(secret.starts_with("ask_") && secret.len() == 68, "{secret}");
        let example = value_of(&field(&driver, "Usage example").await).await;
        assert_eq!(
            example,
            format!("curl -H \"X-API-Key: {secret}\" {}/api/v1/me", app.address)
        );
        button(&driver, "Copy usage example").await.click().await.expect("click");
        // The whole key is in view at both widths: it wraps, nothing is cut.
        for width in [1280, 375] {
            driver.set_window_rect(0, 0, width, 800).await.expect("resize");
            let whole = driver
                .execute(
                    "var e = arguments[0]; return e.scrollWidth <= e.clientWidth && e.scrollHeight <= e.clientHeight + 2;",
                    vec![key.to_json().expect("element")],
                )
                .await
                .expect("script")
                .json()
                .clone();
            assert_eq!(whole, serde_json::json!(true), "the whole key shows at {width} px");
        }
        driver.set_window_rect(0, 0, 1280, 900).await.expect("resize");
        review_screenshots_at_both_widths(&driver, "secret-dialog-whole-key").await;
        field(&driver, "I have copied this key").await.click().await.expect("tick");
        button(&driver, "Done").await.click().await.expect("click");
        wait_until_gone(&driver, "//dialog[@open]").await;

        // Rotated: the old secret works until the time chosen, in UTC.
        row_action(&driver, "Flight sync", "Rotate").await;
        dialog(&driver, "Rotate API key").await;
        let before = keyward::store::now();
        button_in(&driver, "//dialog", "Rotate").await.click().await.expect("click");
        dialog(&driver, "Your new API key").await;
        let until = [before, keyward::store::now()]
            .map(|t| (t + chrono::TimeDelta::hours(24)).format("%Y-%m-%d %H:%M UTC").to_string());
        let shown = driver
            .find(By::XPath("//dialog//*[starts-with(normalize-space(.), 'The previous secret keeps working until')]"))
            .await
            .expect("when the old secret ends")
            .text()
            .await
            .expect("text");
        assert!(until.iter().any(|at| shown.contains(at.as_str())), "{until:?}: {shown}");
        review_screenshots_at_both_widths(&driver, "rotate-result").await;
    })
    .await;
}

/// Turns JavaScript off in this browser's page, for every page it loads.
pub async fn without_javascript(driver: &WebDriver) {
    driver
        .cdp()
        .send_raw(
            "Emulation.setScriptExecutionDisabled",
            serde_json::json!({ "value": true }),
        )
        .await
        .expect("scripts turned off");
}

async fn without_javascript_cancel_quick_picks_and_done_work_and_a_reload_makes_no_second_key() {
    with_browser(|driver, app| async move {
        org_with_key(&app, "Crew roster").await;
        without_javascript(&driver).await;
        sign_in(&driver, &app, "sam@acme.test").await;
        let list = app.url("/backoffice/settings/api-keys");
        driver.goto(&list).await.expect("goto");
        let scripted = driver
            .execute("return document.documentElement.classList.contains('js');", vec![])
            .await
            .expect("script")
            .json()
            .clone();
        assert_eq!(scripted, serde_json::json!(false), "app.js did not run");

        // Cancel goes back to the list.
        button(&driver, "Create API Key").await.click().await.expect("click");
        dialog(&driver, "Create API key").await;
        button(&driver, "Cancel").await.click().await.expect("click");
        visible(&driver, key_row("Crew roster"), "the list").await;

        // The quick picks and "Any address" come back with the form changed.
        button(&driver, "Create API Key").await.click().await.expect("click");
        field(&driver, "Name")
            .await
            .send_keys("Flight sync")
            .await
            .expect("type");
        button(&driver, "Never").await.click().await.expect("click");
        assert_eq!(value_of(&field(&driver, "Expires at").await).await, "");
        assert_eq!(value_of(&field(&driver, "Name").await).await, "Flight sync", "kept");
        button(&driver, "365 days").await.click().await.expect("click");
        assert_eq!(value_of(&field(&driver, "Expires at").await).await, in_days(365));
        button(&driver, "Any address").await.click().await.expect("click");
        sees(&driver, "0.0.0.0/0 and ::/0 allow requests from any address").await;
        // Enter in a field creates (not the first quick pick).
        field(&driver, "Full access").await.click().await.expect("choose");
        field(&driver, "Name").await.send_keys(Key::Enter).await.expect("Enter");
        dialog(&driver, "Your new API key").await;
        let secret = value_of(&field(&driver, "API key").await).await;
        assert!(secret.starts_with("ask_"));
        review_screenshots_at_both_widths(&driver, "secret-page-without-javascript").await;

        // Done asks for the box first (the browser holds the form back), then
        // goes back to the list.
        button(&driver, "Done").await.click().await.expect("click");
        dialog(&driver, "Your new API key").await;
        field(&driver, "I have copied this key")
            .await
            .click()
            .await
            .expect("tick");
        button(&driver, "Done").await.click().await.expect("click");
        visible(&driver, key_row("Flight sync"), "the new key's row").await;

        // Reloading the page that showed a secret sends its form again:
        // nothing new is made, and no secret is shown.
        button(&driver, "Create API Key").await.click().await.expect("click");
        field(&driver, "Name")
            .await
            .send_keys("Parts feed")
            .await
            .expect("type");
        field(&driver, "Read only").await.click().await.expect("choose");
        field(&driver, "Allowed networks")
            .await
            .send_keys("10.0.0.0/8")
            .await
            .expect("type");
        button(&driver, "Create").await.click().await.expect("click");
        dialog(&driver, "Your new API key").await;
        let secret = value_of(&field(&driver, "API key").await).await;
        driver.refresh().await.expect("reload");
        dialog(&driver, "API key already created").await;
        sees(&driver, "cannot be shown again").await;
        assert!(!driver.source().await.expect("source").contains(&secret[16..]));
        review_screenshots_at_both_widths(&driver, "create-sent-again").await;
        link(&driver, "Back to API keys").await.click().await.expect("click");
        visible(&driver, key_row("Parts feed"), "the new key's row").await;
        let rows = driver.find_all(By::XPath(key_row("Parts feed"))).await.expect("rows");
        assert_eq!(rows.len(), 1, "one key");
    })
    .await;
}
