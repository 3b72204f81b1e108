//! Step-up in the browser, by role and label: once the session's strong
//! check is older than the window (aged in the database by
//! `support::step_up`), a dangerous action shows "Confirm it's you" in the
//! same flow, and after the right password or code the action completes
//! where it would have landed.

use keyward::domain::role::Role;

use crate::find::{alert, button_in, dialog, field, heading, sees};
use crate::harness::{review_screenshot, sign_in, with_browser};
use crate::new_keys::without_javascript;
use crate::support::two_factor::code_at_offset;
use crate::support::{PASSWORD, Part, TestApp, TestKey};
use crate::two_factor::{click, complete_setup, follow, type_into, value_of};

crate::tests!(needs Part::Browser;
    creating_a_full_access_key_after_ten_minutes_asks_for_the_password_then_shows_the_secret,
    with_two_factor_the_step_up_takes_a_computed_code,
    without_javascript_a_revoke_asks_on_a_page_and_lands_on_the_list);

const BASE: &str = "/backoffice/settings/api-keys";
pub const ADMIN: &str = "sam@acme.test";
pub const TITLE: &str = "Confirm it's you";

/// A set-up organization with "Flight sync" (Full access) and its System
/// Administrator signed in, their strong check aged; returns the key's id.
pub async fn aged_admin(driver: &thirtyfour::WebDriver, app: &TestApp) -> String {
    let (org, id, _) = app
        .org_with_api_key(
            "Acme Aviation",
            TestKey {
                name: "Flight sync",
                ..TestKey::default()
            },
        )
        .await;
    app.create_user(&org, Role::SystemAdministrator, ADMIN).await;
    sign_in(driver, app, ADMIN).await;
    app.age_strong_checks(ADMIN).await;
    id
}

/// Fills the create dialog for a Full access key named `name` and sends it.
pub async fn create_full_access_key(driver: &thirtyfour::WebDriver, name: &str) {
    click(driver, "Create API Key").await;
    dialog(driver, "Create API key").await;
    type_into(driver, "Name", name).await;
    field(driver, "Full access").await.click().await.expect("choose");
    click(driver, "Any address").await;
    // "Any address" re-renders the form through htmx: wait for it.
    for _ in 0..100 {
        if value_of(driver, "Allowed networks").await.contains("0.0.0.0/0") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    button_in(driver, "//dialog", "Create")
        .await
        .click()
        .await
        .expect("click");
}

async fn creating_a_full_access_key_after_ten_minutes_asks_for_the_password_then_shows_the_secret() {
    with_browser(|driver, app| async move {
        aged_admin(&driver, &app).await;
        driver.goto(app.url(BASE)).await.expect("the list opens");
        create_full_access_key(&driver, "Nightly export").await;
        dialog(&driver, TITLE).await;
        review_screenshot(&driver, "step-up-dialog").await;
        type_into(&driver, "Password", "not my password").await;
        button_in(&driver, "//dialog", "Confirm")
            .await
            .click()
            .await
            .expect("click");
        let message = alert(&driver).await.text().await.expect("the message");
        assert!(message.contains("That password is not right."), "{message}");
        review_screenshot(&driver, "step-up-dialog-with-an-error").await;
        field(&driver, "Password").await.clear().await.expect("clear");
        type_into(&driver, "Password", PASSWORD).await;
        button_in(&driver, "//dialog", "Confirm")
            .await
            .click()
            .await
            .expect("click");
        dialog(&driver, "Your new API key").await;
        sees(&driver, "Nightly export").await;
    })
    .await;
}

async fn with_two_factor_the_step_up_takes_a_computed_code() {
    with_browser(|driver, app| async move {
        aged_admin(&driver, &app).await;
        follow(&driver, "Account").await;
        follow(&driver, "Set up two-factor authentication").await;
        let (key, _) = complete_setup(&driver, 0).await;
        app.age_strong_checks(ADMIN).await;
        driver.goto(app.url(BASE)).await.expect("the list opens");
        create_full_access_key(&driver, "Nightly export").await;
        dialog(&driver, TITLE).await;
        // Setting up used this step's code; an app shows the next one soon.
        let code = code_at_offset(&key, 1).await;
        type_into(&driver, "Authentication code", &code).await;
        button_in(&driver, "//dialog", "Confirm")
            .await
            .click()
            .await
            .expect("click");
        dialog(&driver, "Your new API key").await;
    })
    .await;
}

async fn without_javascript_a_revoke_asks_on_a_page_and_lands_on_the_list() {
    with_browser(|driver, app| async move {
        let id = aged_admin(&driver, &app).await;
        without_javascript(&driver).await;
        driver
            .goto(app.url(&format!("{BASE}/{id}/revoke")))
            .await
            .expect("the confirmation opens");
        click(&driver, "Revoke").await;
        heading(&driver, 2, TITLE).await;
        review_screenshot(&driver, "step-up-page").await;
        type_into(&driver, "Password", PASSWORD).await;
        click(&driver, "Confirm").await;
        heading(&driver, 1, "API Keys").await;
        sees(&driver, "revoked").await;
    })
    .await;
}
