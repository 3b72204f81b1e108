//! What auditors ask (issue 12, items 11 and 12), clicked through by role,
//! label and text: several actions picked in the Audit log, the "Key
//! changes" preset, a raw change opened, and a deleted key's read-only page
//! reached from the log, at 1280 px and 375 px.

use thirtyfour::prelude::*;

use crate::accessibility::{evaluate, set_viewport};
use crate::api_keys::org_with_key;
use crate::find::{button, field, heading, link, literal, sees, visible};
use crate::harness::{review_screenshot_full_page, sign_in, with_browser};
use crate::support::{Part, TestApp};

crate::tests!(needs Part::Browser;
    an_auditor_picks_two_actions_opens_a_raw_change_and_uses_the_key_changes_preset,
    a_deleted_key_is_reached_from_the_audit_log_read_only_and_marked_deleted);

const BASE: &str = "/backoffice/settings/api-keys";

/// "Flight sync" (made by org_with_key with Full access) narrowed to read on
/// assets from 10.0.0.0/8, then disabled, by the command line.
async fn flight_sync_edited_and_disabled(app: &TestApp) -> (String, String) {
    org_with_key(app, "Flight sync").await;
    app.db
        .transaction(|conn| {
            use diesel::prelude::*;
            use keyward::domain::api_key::KeyName;
            use keyward::domain::audit::Actor;
            use keyward::domain::network::NetworkList;
            use keyward::domain::scope::{Scope, ScopeSet};
            use keyward::store::schema::api_keys;
            let (id, org_id): (String, String) =
                api_keys::table.select((api_keys::id, api_keys::org_id)).first(conn)?;
            let changes = keyward::service::keys::KeyChanges {
                name: KeyName::parse("Flight sync")?,
                expiry: None,
                scopes: ScopeSet::new(vec![Scope::parse_pair("read:assets")?])?,
                networks: NetworkList::parse_lines("10.0.0.0/8")?,
            };
            keyward::service::keys::update(conn, &org_id, &id, &changes, &Actor::Cli, None)?;
            keyward::service::keys::set_enabled(conn, &org_id, &id, false, &Actor::Cli, None)?;
            Ok::<_, keyward::error::AppError>((id, org_id))
        })
        .await
        .expect("edited and disabled")
}

/// The What cells of the Audit log table, once the page shows `rows` of them.
async fn what_cells(driver: &WebDriver, rows: usize) -> Vec<String> {
    let xpath = "//table[@aria-label='Audit log']/tbody/tr/td[3]";
    let mut texts = Vec::new();
    for _ in 0..100 {
        texts.clear();
        for cell in driver.find_all(By::XPath(xpath)).await.expect("cells") {
            texts.push(cell.text().await.unwrap_or_default());
        }
        if texts.len() == rows {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    texts
}

/// Nothing on the page is wider than the window (no sideways scrolling).
async fn fits_the_window(driver: &WebDriver, what: &str) {
    let fits = evaluate(
        driver,
        "document.documentElement.scrollWidth <= window.innerWidth \
         && [...document.querySelectorAll('table')].every((t) => t.getBoundingClientRect().right <= window.innerWidth)",
    )
    .await;
    assert_eq!(fits, serde_json::Value::Bool(true), "{what} overflows the window");
}

/// Full-page review screenshots at 1280 px and 375 px (checking that the
/// narrow one fits), then back to 1280.
async fn review_at_both_widths(driver: &WebDriver, name: &str) {
    review_screenshot_full_page(driver, name).await;
    set_viewport(driver, 375, 800).await;
    fits_the_window(driver, name).await;
    review_screenshot_full_page(driver, &format!("{name}-375")).await;
    set_viewport(driver, 1280, 900).await;
}

async fn an_auditor_picks_two_actions_opens_a_raw_change_and_uses_the_key_changes_preset() {
    with_browser(|driver, app| async move {
        flight_sync_edited_and_disabled(&app).await;
        sign_in(&driver, &app, "sam@acme.test").await;
        driver.goto(app.url(BASE)).await.expect("the list opens");
        link(&driver, "Audit log").await.click().await.expect("click");
        heading(&driver, 1, "Audit log").await;
        visible(
            &driver,
            "//fieldset[legend[normalize-space(.)='Action']]".to_owned(),
            "the Action group",
        )
        .await;

        field(&driver, "Key created").await.click().await.expect("tick");
        field(&driver, "Key edited").await.click().await.expect("tick");
        button(&driver, "Apply").await.click().await.expect("click");
        sees(&driver, "Showing 1–2 of 2").await;
        let url = driver.current_url().await.expect("url");
        assert!(
            url.as_str().contains("action=api_key_created") && url.as_str().contains("action=api_key_updated"),
            "{url}"
        );
        let mut shown = what_cells(&driver, 2).await;
        shown.sort();
        assert_eq!(shown, ["Key created", "Key edited"]);
        assert!(field(&driver, "Key edited").await.is_selected().await.expect("state"));
        sees(&driver, "Scopes: removed * on *, added read on assets").await;
        sees(&driver, "Networks: removed 0.0.0.0/0 and ::/0, added 10.0.0.0/8").await;

        // The raw change of the edit, opened.
        let edit_row = format!(
            "//table[@aria-label='Audit log']/tbody/tr[td[3][normalize-space(.)={}]]",
            literal("Key edited")
        );
        visible(
            &driver,
            format!("{edit_row}//summary[normalize-space(.)='Raw change']"),
            "the edit's Raw change",
        )
        .await
        .click()
        .await
        .expect("it opens");
        let raw = visible(&driver, format!("{edit_row}//details[@open]//pre"), "the raw change")
            .await
            .text()
            .await
            .expect("text");
        assert!(
            raw.contains("\"before\"") && raw.contains("\"after\"") && raw.contains("\"read on assets\""),
            "{raw}"
        );
        review_at_both_widths(&driver, "audit-two-actions-raw-change").await;

        // The preset: every key change, no sign-in.
        link(&driver, "Key changes").await.click().await.expect("click");
        sees(&driver, "Showing 1–3 of 3").await;
        let mut shown = what_cells(&driver, 3).await;
        shown.sort();
        assert_eq!(shown, ["Key created", "Key disabled", "Key edited"]);
        assert!(!shown.iter().any(|s| s == "Signed in"), "{shown:?}");
        let current = link(&driver, "Key changes")
            .await
            .attr("aria-current")
            .await
            .expect("attr");
        assert_eq!(current.as_deref(), Some("true"));
        assert!(field(&driver, "Key disabled").await.is_selected().await.expect("state"));
        assert!(!field(&driver, "Signed in").await.is_selected().await.expect("state"));
        review_at_both_widths(&driver, "audit-key-changes").await;

        link(&driver, "All actions").await.click().await.expect("click");
        sees(&driver, "Signed in").await;
        assert!(what_cells(&driver, 7).await.iter().any(|s| s == "Signed in"));
    })
    .await;
}

async fn a_deleted_key_is_reached_from_the_audit_log_read_only_and_marked_deleted() {
    with_browser(|driver, app| async move {
        let (id, org_id) = flight_sync_edited_and_disabled(&app).await;
        app.db
            .transaction(move |conn| {
                keyward::service::keys::delete(conn, &org_id, &id, &keyward::domain::audit::Actor::Cli, None).map(drop)
            })
            .await
            .expect("deleted");
        sign_in(&driver, &app, "sam@acme.test").await;
        driver
            .goto(app.url(&format!("{BASE}/audit")))
            .await
            .expect("the audit log opens");
        field(&driver, "Key deleted").await.click().await.expect("tick");
        button(&driver, "Apply").await.click().await.expect("click");
        assert_eq!(what_cells(&driver, 1).await, ["Key deleted"]);
        visible(
            &driver,
            "//table[@aria-label='Audit log']//a[normalize-space(.)='Flight sync']".to_owned(),
            "the deleted key's link",
        )
        .await
        .click()
        .await
        .expect("click");

        heading(&driver, 1, "Flight sync").await;
        visible(
            &driver,
            "//*[contains(@class, 'badge')][normalize-space(.)='Deleted']".to_owned(),
            "the Deleted badge",
        )
        .await;
        sees(&driver, "by command line. It can no longer be used or changed").await;
        sees(&driver, "read on assets").await;
        let history = "//table[@aria-label='History']/tbody/tr/td[3]";
        let mut actions = Vec::new();
        for cell in driver.find_all(By::XPath(history)).await.expect("history") {
            actions.push(cell.text().await.expect("text"));
        }
        assert_eq!(actions, ["Key deleted", "Key disabled", "Key edited", "Key created"]);
        let secrets = driver
            .find(By::XPath("//table[@aria-label='Secrets']"))
            .await
            .expect("the Secrets table")
            .text()
            .await
            .expect("text");
        assert!(secrets.contains("Erased"), "{secrets}");
        for action in ["Edit", "Disable", "Enable", "Rotate", "Revoke", "Delete"] {
            let offered = driver
                .find_all(By::XPath(format!(
                    "//main//*[self::button or self::a or @role='button' or @role='menuitem'][normalize-space(.)={0} or starts-with(normalize-space(.), {1}) or starts-with(@aria-label, {1})]",
                    literal(action),
                    literal(&format!("{action} "))
                )))
                .await
                .expect("find");
            assert!(offered.is_empty(), "a deleted key offers no {action}");
        }
        link(&driver, "This key in the Audit log").await;
        review_at_both_widths(&driver, "deleted-key-page").await;
    })
    .await;
}
