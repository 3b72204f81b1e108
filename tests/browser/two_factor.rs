//! Two-factor authentication in the browser, the way QA drives it: by role,
//! name and label. The test reads the setup key from the page and computes
//! the codes an authenticator app would show (`support::two_factor`).

use keyward::domain::role::Role;
use thirtyfour::prelude::*;

use crate::find::{alert, button, field, heading, link, sees, status, visible};
use crate::harness::{review_screenshot, review_screenshot_full_page, sign_in, with_browser};
use crate::support::two_factor::code_at_offset;
use crate::support::{PASSWORD, Part, TestApp};

crate::tests!(needs Part::Browser;
    a_user_sets_up_two_factor_authentication_and_signs_in_with_a_code,
    a_user_who_lost_their_phone_signs_in_with_a_recovery_code,
    a_system_administrator_is_sent_to_set_it_up_once_the_organization_requires_it);

pub const QR_CODE: &str = "QR code to scan with your authenticator app";
pub const REQUIRE: &str = "Require two-factor authentication for System Administrators";

pub async fn type_into(driver: &WebDriver, label: &str, text: &str) {
    field(driver, label)
        .await
        .send_keys(text)
        .await
        .unwrap_or_else(|error| panic!("cannot type into {label}: {error}"));
}

pub async fn click(driver: &WebDriver, name: &str) {
    button(driver, name)
        .await
        .click()
        .await
        .unwrap_or_else(|error| panic!("cannot click {name}: {error}"));
}

pub async fn follow(driver: &WebDriver, name: &str) {
    link(driver, name)
        .await
        .click()
        .await
        .unwrap_or_else(|error| panic!("cannot follow {name}: {error}"));
}

/// Ticks (or clears) the checkbox labelled `label`.
pub async fn tick(driver: &WebDriver, label: &str) {
    field(driver, label)
        .await
        .click()
        .await
        .unwrap_or_else(|error| panic!("cannot tick {label}: {error}"));
}

/// What a field holds (an input's or a textarea's value).
pub async fn value_of(driver: &WebDriver, label: &str) -> String {
    field(driver, label)
        .await
        .value()
        .await
        .expect("the field's value")
        .unwrap_or_default()
}

/// The password step only: for a user with two-factor authentication the
/// code step follows.
pub async fn enter_password(driver: &WebDriver, app: &TestApp, email: &str) {
    driver.goto(app.url("/login")).await.expect("the login page opens");
    type_into(driver, "Email", email).await;
    type_into(driver, "Password", PASSWORD).await;
    click(driver, "Sign in").await;
    heading(driver, 1, "Two-factor authentication").await;
}

/// On the setup page: reads the setup key, types the code an app would
/// show `offset` steps from now, and verifies; returns the key and the
/// recovery codes shown.
pub async fn complete_setup(driver: &WebDriver, offset: i64) -> (String, Vec<String>) {
    heading(driver, 1, "Set up two-factor authentication").await;
    visible(
        driver,
        format!("//*[@role='img'][@aria-label='{QR_CODE}']"),
        "the QR code",
    )
    .await;
    let key = value_of(driver, "Setup key").await;
    let code = code_at_offset(&key, offset).await;
    type_into(driver, "Authentication code", &code).await;
    click(driver, "Verify").await;
    heading(driver, 1, "Your recovery codes").await;
    let codes: Vec<String> = value_of(driver, "Recovery codes")
        .await
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(codes.len(), 10, "{codes:?}");
    (key, codes)
}

async fn a_user_sets_up_two_factor_authentication_and_signs_in_with_a_code() {
    with_browser(|driver, app| async move {
        let org = app.create_org("Acme Aviation").await;
        let email = app.create_user(&org, Role::SystemAdministrator, "sam@acme.test").await;
        sign_in(&driver, &app, &email).await;

        follow(&driver, "Account").await;
        heading(&driver, 1, "Account").await;
        sees(&driver, "Signing in needs only your password.").await;
        review_screenshot(&driver, "account-two-factor-off").await;
        follow(&driver, "Set up two-factor authentication").await;
        heading(&driver, 1, "Set up two-factor authentication").await;
        review_screenshot_full_page(&driver, "two-factor-setup").await;

        // A wrong code first: the message is beside the field.
        type_into(&driver, "Authentication code", "12345").await;
        click(&driver, "Verify").await;
        let message = alert(&driver).await.text().await.expect("the message");
        assert!(message.contains("that was 5"), "{message}");

        let (key, codes) = complete_setup(&driver, 0).await;
        assert!(codes.iter().all(|code| code.len() == 14), "{codes:?}");
        review_screenshot_full_page(&driver, "two-factor-recovery-codes").await;
        follow(&driver, "Done").await;
        heading(&driver, 1, "Account").await;
        sees(&driver, "10 of 10").await;
        link(&driver, "Turn off two-factor authentication").await;
        review_screenshot(&driver, "account-two-factor-on").await;

        click(&driver, "Sign out").await;
        enter_password(&driver, &app, &email).await;
        review_screenshot(&driver, "sign-in-code-step").await;
        // The setup used this step's code; the next one's works (skew).
        let code = code_at_offset(&key, 1).await;
        type_into(&driver, "Authentication code", &code).await;
        click(&driver, "Verify").await;
        heading(&driver, 1, "API Keys").await;
    })
    .await;
}

/// Sets two-factor authentication up for `email` over HTTP (arranging, not
/// what the test is about); returns the setup key and recovery codes.
pub async fn enrolled_over_http(app: &TestApp, email: &str) -> crate::support::two_factor::Enrolled {
    let client = app.new_client();
    let signed_in = app.sign_in_with(&client, email, PASSWORD).await;
    assert_eq!(signed_in.status().as_u16(), 303);
    app.enrol(&client).await
}

async fn a_user_who_lost_their_phone_signs_in_with_a_recovery_code() {
    with_browser(|driver, app| async move {
        let org = app.create_org("Acme Aviation").await;
        let email = app.create_user(&org, Role::Member, "max@acme.test").await;
        let enrolled = enrolled_over_http(&app, &email).await;

        enter_password(&driver, &app, &email).await;
        follow(&driver, "Use a recovery code").await;
        type_into(&driver, "Recovery code", "0000-0000-0000").await;
        click(&driver, "Verify").await;
        let message = alert(&driver).await.text().await.expect("the message");
        assert_eq!(message, "That is not one of your recovery codes.");
        review_screenshot(&driver, "sign-in-recovery-code-refused").await;
        field(&driver, "Recovery code").await.clear().await.expect("cleared");
        type_into(&driver, "Recovery code", &enrolled.recovery_codes[0]).await;
        click(&driver, "Verify").await;
        heading(&driver, 1, "Welcome, max").await;

        // Now to set up the new phone: off with another recovery code.
        follow(&driver, "Account").await;
        sees(&driver, "9 of 10").await;
        follow(&driver, "Turn off two-factor authentication").await;
        heading(&driver, 1, "Turn off two-factor authentication").await;
        type_into(&driver, "Authentication code", &enrolled.recovery_codes[1]).await;
        click(&driver, "Turn off two-factor authentication").await;
        let notice = status(&driver).await.text().await.expect("the notice");
        assert!(notice.contains("Two-factor authentication is off."), "{notice}");
        follow(&driver, "Set up two-factor authentication").await;
        complete_setup(&driver, 0).await;
    })
    .await;
}

async fn a_system_administrator_is_sent_to_set_it_up_once_the_organization_requires_it() {
    with_browser(|driver, app| async move {
        let org = app.create_org("Acme Aviation").await;
        let sam = app.create_user(&org, Role::SystemAdministrator, "sam@acme.test").await;
        let sue = app.create_user(&org, Role::SystemAdministrator, "sue@acme.test").await;
        let enrolled = enrolled_over_http(&app, &sam).await;

        // Sam requires it, on the Security page his account page links to.
        enter_password(&driver, &app, &sam).await;
        let code = code_at_offset(&enrolled.key, 1).await;
        type_into(&driver, "Authentication code", &code).await;
        click(&driver, "Verify").await;
        heading(&driver, 1, "API Keys").await;
        follow(&driver, "Account").await;
        follow(&driver, "Security settings").await;
        heading(&driver, 1, "Security").await;
        tick(&driver, REQUIRE).await;
        click(&driver, "Save").await;
        assert_eq!(status(&driver).await.text().await.expect("the notice"), "Saved.");
        let ticked = field(&driver, REQUIRE)
            .await
            .is_selected()
            .await
            .expect("the box's state");
        assert!(ticked);
        click(&driver, "Sign out").await;

        // Sue has none: every page sends her to set it up.
        sign_in(&driver, &app, &sue).await;
        heading(&driver, 1, "Set up two-factor authentication").await;
        sees(
            &driver,
            "Acme Aviation requires two-factor authentication for System Administrators",
        )
        .await;
        review_screenshot_full_page(&driver, "two-factor-setup-required").await;
        driver
            .goto(app.url("/backoffice/settings/api-keys"))
            .await
            .expect("the page answers");
        heading(&driver, 1, "Set up two-factor authentication").await;
        follow(&driver, "Account").await;
        heading(&driver, 1, "Set up two-factor authentication").await;
        let cancel = driver
            .find_all(By::XPath("//main//a[normalize-space(.)='Cancel']"))
            .await
            .expect("the page can be searched");
        assert!(cancel.is_empty(), "no way around it");
        complete_setup(&driver, 0).await;
        follow(&driver, "Done").await;
        heading(&driver, 1, "Account").await;
        driver
            .goto(app.url("/backoffice/settings/api-keys"))
            .await
            .expect("the page answers");
        heading(&driver, 1, "API Keys").await;
    })
    .await;
}
