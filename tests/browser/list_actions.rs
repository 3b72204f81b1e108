//! The key list and a key's page as people use them (issue 12, items 5–8
//! and 13): the list fits 1280 px and becomes cards at 375 px, each row's
//! actions sit behind one menu button that works by keyboard alone, every
//! action ends with a message in the live region and focus in a sensible
//! place, without JavaScript the filters survive an action, the numbers
//! agree, and the key's page is where you act.

use std::time::Duration;

use thirtyfour::prelude::*;

use crate::accessibility::{evaluate, set_color_scheme, set_viewport};
use crate::api_keys::{org_with_key, org_with_keys, row_action, wait_until_gone};
use crate::find::{button, dialog, disclosure, field, heading, key_row, link, sees, status, visible};
use crate::harness::{review_screenshot_full_page, sign_in, with_browser};
use crate::new_keys::without_javascript;
use crate::support::{Part, TestApp};

crate::tests!(needs Part::Browser;
    the_list_fits_1280_px_and_shows_cards_at_375_px_with_numbers_that_agree,
    the_actions_menu_works_by_keyboard_alone,
    every_action_ends_with_a_message_focus_in_a_sensible_place_and_counts_that_follow,
    without_javascript_an_action_keeps_the_filters_and_shows_its_message,
    the_key_page_is_where_you_act
);

const BASE: &str = "/backoffice/settings/api-keys";

/// The focused element's accessible name as QA reads it (its text, hidden
/// parts included, or its aria-label) and its id.
async fn focused(driver: &WebDriver) -> (String, String) {
    let answer = evaluate(
        driver,
        "(() => { const e = document.activeElement; \
           return [(e.getAttribute('aria-label') || e.textContent || '').replace(/\\s+/g, ' ').trim(), e.id]; })()",
    )
    .await;
    (
        answer[0].as_str().unwrap_or_default().to_owned(),
        answer[1].as_str().unwrap_or_default().to_owned(),
    )
}

/// Waits until the focused element is named `name`.
async fn focus_is_on(driver: &WebDriver, name: &str) {
    let mut now = (String::new(), String::new());
    for _ in 0..100 {
        now = focused(driver).await;
        if now.0 == name {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("focus is on {now:?}, not on {name:?}");
}

/// Presses `key` where the focus is, as a keyboard does.
async fn press(driver: &WebDriver, key: impl Into<TypingData>) {
    driver
        .action_chain()
        .send_keys(key)
        .perform()
        .await
        .expect("the key is pressed");
}

async fn shift_tab(driver: &WebDriver) {
    driver
        .action_chain()
        .key_down(Key::Shift)
        .send_keys(Key::Tab)
        .key_up(Key::Shift)
        .perform()
        .await
        .expect("Shift+Tab");
}

/// The live region's text, once it says `expected`.
async fn status_says(driver: &WebDriver, expected: &str) {
    let mut said = String::new();
    for _ in 0..100 {
        said = status(driver).await.text().await.unwrap_or_default();
        if said == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the status says {said:?}, not {expected:?}");
}

/// The text of the Status filter's option for `value`, e.g. "Active (1)".
async fn count_option(driver: &WebDriver, value: &str) -> String {
    driver
        .find(By::Css(format!("#key-status option[value={value}]")))
        .await
        .expect("the option")
        .text()
        .await
        .expect("text")
}

async fn counts_become(driver: &WebDriver, value: &str, expected: &str) {
    let mut shown = String::new();
    for _ in 0..100 {
        shown = count_option(driver, value).await;
        if shown == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the filter says {shown:?}, not {expected:?}");
}

async fn menu_is_open(driver: &WebDriver, key: &str) -> bool {
    let opener = button(driver, &format!("Actions for {key}")).await;
    opener.attr("aria-expanded").await.expect("attribute").as_deref() == Some("true")
}

/// Full-page review screenshots of the page as it is, at 1280 and 375 px,
/// light and dark, then back to 1280 px, light.
async fn review_at_both_widths_and_modes(driver: &WebDriver, name: &str) {
    for (width, height) in [(1280, 900), (375, 800)] {
        set_viewport(driver, width, height).await;
        for scheme in ["light", "dark"] {
            set_color_scheme(driver, scheme).await;
            review_screenshot_full_page(driver, &format!("{name}-{width}-{scheme}")).await;
        }
    }
    set_viewport(driver, 1280, 900).await;
    set_color_scheme(driver, "light").await;
}

/// Requests made with key `name` today: `allowed` of them allowed (and its
/// last use recorded, from 203.0.113.7, as the flush does), `refused` refused.
async fn record_requests(app: &TestApp, name: &'static str, allowed: i64, refused: i64) {
    app.query(move |conn| {
        use diesel::prelude::*;
        use keyward::store::schema::api_keys;
        use keyward::store::usage::{self, UsageDelta};
        let (id, org_id): (String, String) = api_keys::table
            .filter(api_keys::name.eq(name))
            .select((api_keys::id, api_keys::org_id))
            .first(conn)?;
        let hour = keyward::store::now();
        let deltas: Vec<UsageDelta> = [("allowed", allowed), ("ip_not_allowed", refused)]
            .into_iter()
            .filter(|(_, count)| *count > 0)
            .map(|(outcome, count)| UsageDelta {
                api_key_id: id.clone(),
                org_id: org_id.clone(),
                hour,
                outcome: outcome.to_owned(),
                count,
            })
            .collect();
        usage::add(conn, &deltas)?;
        if allowed > 0 {
            usage::touch_last_used(conn, &id, hour, "203.0.113.7")?;
        }
        Ok(())
    })
    .await;
}

async fn the_list_fits_1280_px_and_shows_cards_at_375_px_with_numbers_that_agree() {
    with_browser(|driver, app| async move {
        crate::accessibility::signed_in_to_the_demo(&driver, &app).await;
        record_requests(&app, "Flight sync integration", 12, 3).await;
        record_requests(&app, "Legacy importer", 0, 8).await;
        driver.goto(app.url(&format!("{BASE}?status=all"))).await.expect("the list opens");
        visible(&driver, key_row("Parts marketplace verification"), "the widest row").await;

        set_viewport(&driver, 1280, 900).await;
        let fits = evaluate(
            &driver,
            "(() => { const width = window.innerWidth; \
               const buttons = [...document.querySelectorAll('button[aria-haspopup=menu]')]; \
               return { page: document.documentElement.scrollWidth <= width, \
                        table: document.querySelector('table[aria-label=\"API keys\"]').getBoundingClientRect().right <= width, \
                        actions: buttons.length > 0 && buttons.every(b => b.getBoundingClientRect().right <= width), \
                        display: getComputedStyle(document.querySelector('table[aria-label=\"API keys\"]')).display }; })()",
        )
        .await;
        assert_eq!(
            fits,
            serde_json::json!({ "page": true, "table": true, "actions": true, "display": "table" }),
            "at 1280 px every column and the actions show without scrolling sideways"
        );
        // The names QA relies on: first cell the name, status cell its text.
        for (name, shown) in [
            ("Flight sync integration", "Active"),
            ("Legacy importer", "Disabled"),
            ("Old reporting job", "Expired"),
            ("Leaked test key", "Revoked"),
        ] {
            let cell = driver
                .find(By::XPath(format!("{}/td[3]", key_row(name))))
                .await
                .expect("the status cell");
            assert_eq!(cell.text().await.expect("text"), shown, "{name}");
        }

        // Numbers that agree: allowed and refused apart, and a key whose
        // every request was refused is not "Never" beside a count.
        let label = |name: &str| format!("{}//*[local-name()='svg'][@role='img']", key_row(name));
        let sparkline = driver.find(By::XPath(label("Flight sync integration"))).await.expect("sparkline");
        assert_eq!(
            sparkline.attr("aria-label").await.expect("name").as_deref(),
            Some("12 allowed and 3 refused requests in the last 7 days")
        );
        let refused = driver.find(By::XPath(label("Legacy importer"))).await.expect("sparkline");
        assert_eq!(
            refused.attr("aria-label").await.expect("name").as_deref(),
            Some("0 allowed and 8 refused requests in the last 7 days")
        );
        let last_used = driver
            .find(By::XPath(format!("{}/td[8]", key_row("Legacy importer"))))
            .await
            .expect("its Last used cell")
            .text()
            .await
            .expect("text");
        assert_eq!(last_used, "Never allowed\n8 refused in 7 days");
        review_at_both_widths_and_modes(&driver, "list-fits").await;

        // 375 px: cards, nothing wider than the screen, Sign out in view.
        set_viewport(&driver, 375, 800).await;
        let narrow = evaluate(
            &driver,
            "(() => { const width = window.innerWidth; \
               const out = document.querySelector('.whoami button'); const r = out.getBoundingClientRect(); \
               const row = document.querySelector('table[aria-label=\"API keys\"] tbody tr'); \
               const status = row.querySelector('td:nth-child(3)'); \
               return { page: document.documentElement.scrollWidth <= width, \
                        signOut: out.textContent.trim() === 'Sign out' && r.left >= 0 && r.right <= width && r.height > 0, \
                        card: getComputedStyle(row).display, \
                        label: getComputedStyle(status, '::before').content, \
                        head: document.querySelector('table[aria-label=\"API keys\"] thead').getBoundingClientRect().height <= 1 }; })()",
        )
        .await;
        assert_eq!(
            narrow,
            serde_json::json!({ "page": true, "signOut": true, "card": "block", "label": "\"Status\"", "head": true }),
            "at 375 px the keys are cards, each value under its column's name"
        );
        button(&driver, "Sign out").await;
        // A card's actions work as a row's do.
        row_action(&driver, "Legacy importer", "Enable").await;
        status_says(&driver, "Legacy importer enabled.").await;
        focus_is_on(&driver, "Actions for Legacy importer").await;
        let still = evaluate(&driver, "document.documentElement.scrollWidth <= window.innerWidth").await;
        assert_eq!(still, serde_json::json!(true), "the page still fits");
        set_viewport(&driver, 1280, 900).await;

        // A page past the end says so and leads to the last one.
        driver
            .goto(app.url(&format!("{BASE}?status=all&page=99")))
            .await
            .expect("page 99 opens");
        sees(&driver, "Page 99 is past the end: there are 6 keys on 1 page.").await;
        review_at_both_widths_and_modes(&driver, "list-past-the-end").await;
        link(&driver, "Go to page 1").await.click().await.expect("click");
        visible(&driver, key_row("Leaked test key"), "the last page's rows").await;
        assert!(!driver.current_url().await.expect("url").as_str().contains("page=99"));
    })
    .await;
}

async fn the_actions_menu_works_by_keyboard_alone() {
    with_browser(|driver, app| async move {
        // Newest first: Flight sync's row, then Crew roster's.
        org_with_keys(&app, &["Crew roster", "Flight sync"]).await;
        sign_in(&driver, &app, "sam@acme.test").await;
        driver
            .goto(app.url(&format!("{BASE}?status=all")))
            .await
            .expect("the list opens");
        let opener = button(&driver, "Actions for Flight sync").await;
        assert_eq!(
            opener.attr("aria-haspopup").await.expect("attr").as_deref(),
            Some("menu")
        );
        assert_eq!(
            opener.attr("aria-expanded").await.expect("attr").as_deref(),
            Some("false")
        );

        // Tab to it, as a keyboard does (the rows are newest first).
        field(&driver, "Search").await.focus().await.expect("focus");
        for _ in 0..30 {
            if focused(&driver).await.0 == "Actions for Flight sync" {
                break;
            }
            press(&driver, Key::Tab).await;
        }
        focus_is_on(&driver, "Actions for Flight sync").await;

        // Enter opens on the first item; arrows, Home, End and a letter move.
        press(&driver, Key::Enter).await;
        focus_is_on(&driver, "Edit Flight sync").await;
        assert!(menu_is_open(&driver, "Flight sync").await);
        visible(&driver, "//*[@role='menu']".to_owned(), "the menu").await;
        review_at_both_widths_and_modes(&driver, "list-actions-menu").await;
        focus_is_on(&driver, "Edit Flight sync").await;
        for (key, next) in [
            (Key::Down, "Disable Flight sync"),
            (Key::Down, "Rotate Flight sync"),
            (Key::Up, "Disable Flight sync"),
            (Key::Up, "Edit Flight sync"),
            (Key::Up, "Delete Flight sync"),
            (Key::Down, "Edit Flight sync"),
            (Key::End, "Delete Flight sync"),
            (Key::Home, "Edit Flight sync"),
        ] {
            press(&driver, key).await;
            focus_is_on(&driver, next).await;
        }
        press(&driver, "r").await;
        focus_is_on(&driver, "Rotate Flight sync").await;
        press(&driver, "r").await;
        focus_is_on(&driver, "Revoke Flight sync").await;

        // Escape closes it and returns to the button.
        press(&driver, Key::Escape).await;
        focus_is_on(&driver, "Actions for Flight sync").await;
        assert!(!menu_is_open(&driver, "Flight sync").await);

        // Space opens too; Tab closes it and moves on (Shift+Tab comes back).
        press(&driver, Key::Space).await;
        focus_is_on(&driver, "Edit Flight sync").await;
        press(&driver, Key::Tab).await;
        assert!(!menu_is_open(&driver, "Flight sync").await);
        assert_ne!(focused(&driver).await.0, "Edit Flight sync", "focus left the menu");
        shift_tab(&driver).await;
        focus_is_on(&driver, "Actions for Flight sync").await;

        // ArrowUp opens on the last item, ArrowDown on the first; Enter acts.
        press(&driver, Key::Up).await;
        focus_is_on(&driver, "Delete Flight sync").await;
        press(&driver, Key::Escape).await;
        press(&driver, Key::Down).await;
        focus_is_on(&driver, "Edit Flight sync").await;
        press(&driver, Key::Down).await;
        focus_is_on(&driver, "Disable Flight sync").await;
        press(&driver, Key::Enter).await;
        status_says(&driver, "Flight sync disabled.").await;
        // Under All the row stays: focus is back on its Actions button.
        focus_is_on(&driver, "Actions for Flight sync").await;
        counts_become(&driver, "active", "Active (1)").await;
        counts_become(&driver, "disabled", "Disabled (1)").await;
        assert!(
            driver
                .find(By::XPath(key_row("Flight sync")))
                .await
                .expect("row")
                .text()
                .await
                .expect("text")
                .contains("Disabled")
        );

        // Space on a link item acts as Enter does: Edit opens its dialog.
        press(&driver, Key::Enter).await;
        focus_is_on(&driver, "Edit Flight sync").await;
        press(&driver, Key::Space).await;
        dialog(&driver, "Edit API key").await;
        press(&driver, Key::Escape).await;
        wait_until_gone(&driver, "//dialog[@open]").await;
        focus_is_on(&driver, "Actions for Flight sync").await;

        // Under Active a disabled row leaves: focus goes to the heading.
        driver
            .goto(app.url(&format!("{BASE}?status=active")))
            .await
            .expect("the list opens");
        button(&driver, "Actions for Crew roster")
            .await
            .focus()
            .await
            .expect("focus");
        press(&driver, Key::Enter).await;
        focus_is_on(&driver, "Edit Crew roster").await;
        press(&driver, Key::Down).await;
        focus_is_on(&driver, "Disable Crew roster").await;
        press(&driver, Key::Space).await;
        status_says(&driver, "Crew roster disabled.").await;
        wait_until_gone(&driver, &key_row("Crew roster")).await;
        focus_is_on(&driver, "API Keys").await;
        counts_become(&driver, "active", "Active (0)").await;
        review_at_both_widths_and_modes(&driver, "list-status-message").await;

        // A link announced as a button answers Space as a button does.
        driver
            .execute(
                "document.querySelector('a[role=button]').addEventListener('click', (event) => { \
                   event.preventDefault(); document.body.dataset.pressed = event.target.textContent; });",
                Vec::new(),
            )
            .await
            .expect("a listener");
        button(&driver, "Export CSV").await.focus().await.expect("focus");
        press(&driver, Key::Space).await;
        let pressed = evaluate(&driver, "document.body.dataset.pressed || ''").await;
        assert_eq!(pressed.as_str(), Some("Export CSV"), "Space pressed it");
    })
    .await;
}

async fn every_action_ends_with_a_message_focus_in_a_sensible_place_and_counts_that_follow() {
    with_browser(|driver, app| async move {
        org_with_keys(&app, &["Crew roster", "Flight sync"]).await;
        sign_in(&driver, &app, "sam@acme.test").await;
        driver
            .goto(app.url(&format!("{BASE}?status=active")))
            .await
            .expect("the list opens");

        // Save.
        row_action(&driver, "Flight sync", "Edit").await;
        dialog(&driver, "Edit API key").await;
        let name = field(&driver, "Name").await;
        name.clear().await.expect("clear");
        name.send_keys("Flight sync v2").await.expect("type");
        button(&driver, "Save").await.click().await.expect("click");
        status_says(&driver, "Changes to Flight sync v2 saved.").await;
        focus_is_on(&driver, "Actions for Flight sync v2").await;

        // Rotate: the message waits for the secret to be put away.
        row_action(&driver, "Flight sync v2", "Rotate").await;
        dialog(&driver, "Rotate API key").await;
        button(&driver, "Rotate").await.click().await.expect("click");
        dialog(&driver, "Your new API key").await;
        field(&driver, "I have copied this key")
            .await
            .click()
            .await
            .expect("tick");
        button(&driver, "Done").await.click().await.expect("click");
        status_says(&driver, "Flight sync v2 rotated: it has a new secret.").await;
        focus_is_on(&driver, "Actions for Flight sync v2").await;

        // Enable (after a Disable under All).
        driver
            .goto(app.url(&format!("{BASE}?status=all")))
            .await
            .expect("the list opens");
        row_action(&driver, "Crew roster", "Disable").await;
        status_says(&driver, "Crew roster disabled.").await;
        row_action(&driver, "Crew roster", "Enable").await;
        status_says(&driver, "Crew roster enabled.").await;
        focus_is_on(&driver, "Actions for Crew roster").await;
        counts_become(&driver, "active", "Active (2)").await;

        // Revoke: under Active the row leaves, focus goes to the heading.
        driver
            .goto(app.url(&format!("{BASE}?status=active")))
            .await
            .expect("the list opens");
        row_action(&driver, "Flight sync v2", "Revoke").await;
        dialog(&driver, "Revoke API key").await;
        button(&driver, "Revoke").await.click().await.expect("click");
        status_says(&driver, "Flight sync v2 revoked.").await;
        wait_until_gone(&driver, &key_row("Flight sync v2")).await;
        focus_is_on(&driver, "API Keys").await;
        counts_become(&driver, "active", "Active (1)").await;
        counts_become(&driver, "revoked", "Revoked (1)").await;

        // Delete.
        driver
            .goto(app.url(&format!("{BASE}?status=revoked")))
            .await
            .expect("the list opens");
        row_action(&driver, "Flight sync v2", "Delete").await;
        dialog(&driver, "Delete API key").await;
        button(&driver, "Delete").await.click().await.expect("click");
        status_says(&driver, "Flight sync v2 deleted.").await;
        wait_until_gone(&driver, &key_row("Flight sync v2")).await;
        focus_is_on(&driver, "API Keys").await;
        counts_become(&driver, "revoked", "Revoked (0)").await;
        counts_become(&driver, "all", "All (1)").await;
    })
    .await;
}

async fn without_javascript_an_action_keeps_the_filters_and_shows_its_message() {
    with_browser(|driver, app| async move {
        org_with_keys(&app, &["Flight sync", "Crew roster"]).await;
        without_javascript(&driver).await;
        sign_in(&driver, &app, "sam@acme.test").await;
        let filtered = app.url(&format!("{BASE}?q=flight&status=all"));
        driver.goto(&filtered).await.expect("the list opens");
        let kept = |url: &str| url.contains("q=flight") && url.contains("status=all");

        // The disclosure holds the row's links and buttons, named with the key.
        disclosure(&driver, "Actions for Flight sync")
            .await
            .click()
            .await
            .expect("open");
        review_at_both_widths_and_modes(&driver, "list-actions-without-javascript").await;
        button(&driver, "Disable Flight sync")
            .await
            .click()
            .await
            .expect("click");
        status_says(&driver, "Flight sync disabled.").await;
        let url = driver.current_url().await.expect("url").to_string();
        assert!(kept(&url) && url.contains("done=disabled"), "{url}");
        assert_eq!(
            field(&driver, "Search").await.value().await.expect("value").as_deref(),
            Some("flight")
        );
        assert_eq!(
            field(&driver, "Status").await.value().await.expect("value").as_deref(),
            Some("all")
        );
        assert!(
            driver
                .find(By::XPath(key_row("Flight sync")))
                .await
                .expect("row")
                .text()
                .await
                .expect("text")
                .contains("Disabled")
        );
        assert!(
            driver
                .find_all(By::XPath(key_row("Crew roster")))
                .await
                .expect("rows")
                .is_empty(),
            "still searched"
        );

        // Rotate: its page, the secret's page, Done: back to the same list.
        disclosure(&driver, "Actions for Flight sync")
            .await
            .click()
            .await
            .expect("open");
        link(&driver, "Rotate Flight sync").await.click().await.expect("click");
        dialog(&driver, "Rotate API key").await;
        button(&driver, "Rotate").await.click().await.expect("click");
        dialog(&driver, "Your new API key").await;
        field(&driver, "I have copied this key")
            .await
            .click()
            .await
            .expect("tick");
        button(&driver, "Done").await.click().await.expect("click");
        status_says(&driver, "Flight sync rotated: it has a new secret.").await;
        assert!(kept(driver.current_url().await.expect("url").as_str()));

        // Revoke: Cancel comes back to the same list; Revoke too, with its message.
        disclosure(&driver, "Actions for Flight sync")
            .await
            .click()
            .await
            .expect("open");
        link(&driver, "Revoke Flight sync").await.click().await.expect("click");
        dialog(&driver, "Revoke API key").await;
        button(&driver, "Cancel").await.click().await.expect("click");
        heading(&driver, 1, "API Keys").await;
        assert!(kept(driver.current_url().await.expect("url").as_str()));
        disclosure(&driver, "Actions for Flight sync")
            .await
            .click()
            .await
            .expect("open");
        link(&driver, "Revoke Flight sync").await.click().await.expect("click");
        button(&driver, "Revoke").await.click().await.expect("click");
        status_says(&driver, "Flight sync revoked.").await;
        let url = driver.current_url().await.expect("url").to_string();
        assert!(kept(&url), "{url}");
        review_at_both_widths_and_modes(&driver, "list-flash-without-javascript").await;
    })
    .await;
}

async fn the_key_page_is_where_you_act() {
    with_browser(|driver, app| async move {
        org_with_key(&app, "Flight sync").await;
        record_requests(&app, "Flight sync", 5, 2).await;
        sign_in(&driver, &app, "sam@acme.test").await;
        driver.goto(app.url(BASE)).await.expect("the list opens");
        link(&driver, "Flight sync")
            .await
            .click()
            .await
            .expect("the key's page opens");
        heading(&driver, 1, "Flight sync").await;
        let page = driver.current_url().await.expect("url").to_string();
        for action in ["Edit", "Disable", "Rotate", "Revoke", "Delete"] {
            button(&driver, &format!("{action} Flight sync")).await;
        }
        sees(&driver, "203.0.113.7").await;

        // The key id, copied.
        let key_id = driver
            .find(By::Id("key-id-value"))
            .await
            .expect("the key id")
            .text()
            .await
            .expect("text");
        assert!(key_id.starts_with("ask_") && key_id.len() == 16, "{key_id}");
        button(&driver, "Copy key id").await.click().await.expect("click");
        let copied = driver
            .query(By::XPath("//*[@data-copy-status][normalize-space(.)!='']"))
            .first()
            .await
            .expect("the copy says what it did")
            .text()
            .await
            .expect("text");
        assert!(
            copied.contains("Copied") || copied.contains("copy it with Ctrl+C"),
            "{copied}"
        );
        let selected = evaluate(&driver, "window.getSelection().toString()").await;
        assert_eq!(selected.as_str(), Some(key_id.as_str()), "the key id is selected too");
        review_at_both_widths_and_modes(&driver, "key-page-actions").await;

        // Disable here: the page stays, says so, and offers Enable.
        button(&driver, "Disable Flight sync")
            .await
            .click()
            .await
            .expect("click");
        status_says(&driver, "Flight sync disabled.").await;
        focus_is_on(&driver, "Enable Flight sync").await;
        assert_eq!(driver.current_url().await.expect("url").to_string(), page);
        sees(&driver, "Disabled").await;

        // Save here.
        button(&driver, "Edit Flight sync").await.click().await.expect("click");
        dialog(&driver, "Edit API key").await;
        let name = field(&driver, "Name").await;
        name.clear().await.expect("clear");
        name.send_keys("Flight sync v2").await.expect("type");
        button(&driver, "Save").await.click().await.expect("click");
        status_says(&driver, "Changes to Flight sync v2 saved.").await;
        heading(&driver, 1, "Flight sync v2").await;
        focus_is_on(&driver, "Edit Flight sync v2").await;

        // Revoke here: who and when, and only Delete is left.
        button(&driver, "Revoke Flight sync v2")
            .await
            .click()
            .await
            .expect("click");
        dialog(&driver, "Revoke API key").await;
        button(&driver, "Revoke").await.click().await.expect("click");
        status_says(&driver, "Flight sync v2 revoked.").await;
        sees(&driver, "by sam@acme.test").await;
        let revoked = driver
            .find(By::XPath("//*[starts-with(normalize-space(.), 'Revoked at ')]"))
            .await
            .expect("when and by whom")
            .text()
            .await
            .expect("text");
        assert!(revoked.contains(" UTC by sam@acme.test"), "{revoked}");
        focus_is_on(&driver, "Flight sync v2").await;
        assert!(
            driver
                .find_all(By::XPath("//button[starts-with(normalize-space(.), 'Rotate')]"))
                .await
                .expect("find")
                .is_empty()
        );
        review_at_both_widths_and_modes(&driver, "key-page-revoked").await;

        // Delete here: the list is next, with the message.
        button(&driver, "Delete Flight sync v2")
            .await
            .click()
            .await
            .expect("click");
        dialog(&driver, "Delete API key").await;
        button(&driver, "Delete").await.click().await.expect("click");
        heading(&driver, 1, "API Keys").await;
        status_says(&driver, "Flight sync v2 deleted.").await;
        focus_is_on(&driver, "API Keys").await;
        // The message's code left the address: a reload does not repeat it.
        let url = driver.current_url().await.expect("url").to_string();
        assert!(!url.contains("done=") && !url.contains("key="), "{url}");

        // Without JavaScript: the same page comes back, with the message.
        org_with_key_in_the_same_org(&app, "Crew roster").await;
        without_javascript(&driver).await;
        driver.goto(app.url(BASE)).await.expect("the list opens");
        link(&driver, "Crew roster")
            .await
            .click()
            .await
            .expect("the key's page opens");
        let page = driver.current_url().await.expect("url").to_string();
        button(&driver, "Disable Crew roster")
            .await
            .click()
            .await
            .expect("click");
        status_says(&driver, "Crew roster disabled.").await;
        assert!(driver.current_url().await.expect("url").as_str().starts_with(&page));
        button(&driver, "Enable Crew roster").await;
        // The key id is text to select; its Copy button needs JavaScript.
        visible(&driver, "//code[@id='key-id-value']".to_owned(), "the key id").await;
        let copy = driver
            .find(By::XPath("//button[normalize-space(.)='Copy key id']"))
            .await
            .expect("the button is in the page");
        assert!(
            !copy.is_displayed().await.expect("displayed"),
            "hidden without JavaScript"
        );
    })
    .await;
}

/// Another key in the organization `org_with_key` made.
async fn org_with_key_in_the_same_org(app: &TestApp, name: &'static str) {
    let org = app
        .query(|conn| Ok(keyward::store::organizations::list(conn)?.remove(0)))
        .await;
    app.add_api_key(
        &org,
        crate::support::TestKey {
            name,
            ..crate::support::TestKey::default()
        },
    )
    .await;
}
