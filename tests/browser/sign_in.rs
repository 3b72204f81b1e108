//! Signing in and out, and who gets where once signed in.

use keyward::domain::role::Role;
use thirtyfour::prelude::*;

use crate::find::{alert, button, field, heading, main_content, status};
use crate::harness::{review_screenshot, sign_in, with_browser};
use crate::support::PASSWORD;

use crate::support::Part;

crate::tests!(needs Part::Browser; a_system_administrator_signs_in_and_reaches_the_api_keys_page, a_member_sees_the_access_denied_page, wrong_password_shows_the_error_beside_the_form, signing_out_returns_to_the_login_page);

async fn a_system_administrator_signs_in_and_reaches_the_api_keys_page() {
    with_browser(|driver, app| async move {
        let org = app.create_org("Acme Aviation").await;
        let email = app.create_user(&org, Role::SystemAdministrator, "sam@acme.test").await;

        driver.goto(app.url("/login")).await.expect("the login page opens");
        heading(&driver, 1, "Sign in to Keyward").await;
        review_screenshot(&driver, "login").await;
        field(&driver, "Email")
            .await
            .send_keys(&email)
            .await
            .expect("the email is typed");
        field(&driver, "Password")
            .await
            .send_keys(PASSWORD)
            .await
            .expect("the password is typed");
        button(&driver, "Sign in")
            .await
            .click()
            .await
            .expect("Sign in is clicked");

        // Straight to API Keys, the page a System Administrator comes for.
        heading(&driver, 1, "API Keys").await;
        button(&driver, "Set up API keys").await;
        review_screenshot(&driver, "api-keys-setup").await;
    })
    .await;
}

async fn a_member_sees_the_access_denied_page() {
    with_browser(|driver, app| async move {
        let org = app.create_org("Acme Aviation").await;
        let email = app.create_user(&org, Role::Member, "max@acme.test").await;
        sign_in(&driver, &app, &email).await;
        // Members land on the home page.
        heading(&driver, 1, "Welcome, max").await;
        let nav_link = driver
            .find_all(By::XPath("//nav//a[normalize-space(.)='API Keys']"))
            .await
            .expect("the navigation can be searched");
        assert!(nav_link.is_empty(), "members are not offered the API Keys page");

        driver
            .goto(app.url("/backoffice/settings/api-keys"))
            .await
            .expect("the page answers");
        heading(&driver, 1, "Access denied").await;
        let text = main_content(&driver).await.text().await.expect("the page has text");
        assert!(
            text.contains("System Administrator"),
            "the page names the role that may enter: {text}"
        );
        review_screenshot(&driver, "access-denied").await;
    })
    .await;
}

async fn wrong_password_shows_the_error_beside_the_form() {
    with_browser(|driver, app| async move {
        let org = app.create_org("Acme Aviation").await;
        let email = app.create_user(&org, Role::SystemAdministrator, "sam@acme.test").await;

        driver.goto(app.url("/login")).await.expect("the login page opens");
        field(&driver, "Email")
            .await
            .send_keys(&email)
            .await
            .expect("the email is typed");
        field(&driver, "Password")
            .await
            .send_keys("not the password")
            .await
            .expect("the password is typed");
        button(&driver, "Sign in")
            .await
            .click()
            .await
            .expect("Sign in is clicked");

        let message = alert(&driver).await.text().await.expect("the alert text");
        assert!(
            message.contains("That email and password do not match an account."),
            "{message}"
        );
        let email_typed = field(&driver, "Email")
            .await
            .value()
            .await
            .expect("the email field's value");
        assert_eq!(email_typed.as_deref(), Some(email.as_str()), "the email is kept");
        let password_typed = field(&driver, "Password")
            .await
            .value()
            .await
            .expect("the password field's value");
        assert_eq!(password_typed.as_deref(), Some(""), "the password is never sent back");
        button(&driver, "Sign in").await;
    })
    .await;
}

async fn signing_out_returns_to_the_login_page() {
    with_browser(|driver, app| async move {
        let org = app.create_org("Acme Aviation").await;
        let email = app.create_user(&org, Role::Administrator, "ada@acme.test").await;
        sign_in(&driver, &app, &email).await;

        button(&driver, "Sign out")
            .await
            .click()
            .await
            .expect("Sign out is clicked");
        heading(&driver, 1, "Sign in to Keyward").await;
        let notice = status(&driver).await.text().await.expect("the notice");
        assert_eq!(notice, "You have signed out.");

        driver
            .goto(app.url("/backoffice"))
            .await
            .expect("the backoffice answers");
        heading(&driver, 1, "Sign in to Keyward").await;
    })
    .await;
}
