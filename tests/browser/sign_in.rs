use keyward::domain::role::Role;
use thirtyfour::prelude::*;

use crate::harness::{button, field, link, review_screenshot, sees, sign_in, with_browser};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_system_administrator_signs_in_and_reaches_the_api_keys_page() {
    with_browser(
        "system_administrator_reaches_api_keys",
        |driver, app| async move {
            let org = app.create_org("Acme Aviation").await;
            app.create_user(&org, Role::SystemAdministrator, "sam@acme.test")
                .await;
            driver.goto(app.url("/login")).await.expect("goto");
            review_screenshot(&driver, "login").await;
            sign_in(&driver, &app, "sam@acme.test").await;
            link(&driver, "API Keys")
                .await
                .click()
                .await
                .expect("click");
            button(&driver, "Set up API keys").await;
            sees(&driver, "Set up API keys for Acme Aviation").await;
            review_screenshot(&driver, "api-keys-setup").await;
            let htmx: serde_json::Value = driver
                .execute("return typeof window.htmx", vec![])
                .await
                .expect("js")
                .json()
                .clone();
            assert_eq!(
                htmx, "object",
                "htmx loaded under the CSP with its SRI hash"
            );
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_sees_the_access_denied_page() {
    with_browser("member_access_denied", |driver, app| async move {
        let org = app.create_org("Acme Aviation").await;
        app.create_user(&org, Role::Member, "max@acme.test").await;
        sign_in(&driver, &app, "max@acme.test").await;
        driver
            .goto(app.url("/backoffice/settings/api-keys"))
            .await
            .expect("goto");
        sees(&driver, "Access denied").await;
        sees(&driver, "only for System Administrators").await;
        review_screenshot(&driver, "access-denied").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_explained_and_the_email_kept() {
    with_browser("wrong_password", |driver, app| async move {
        driver.goto(app.url("/login")).await.expect("goto");
        field(&driver, "Email")
            .await
            .send_keys("ada@acme.test")
            .await
            .expect("type");
        field(&driver, "Password")
            .await
            .send_keys("wrong")
            .await
            .expect("type");
        button(&driver, "Sign in")
            .await
            .click()
            .await
            .expect("click");
        sees(&driver, "That email and password do not match an account.").await;
        let email = field(&driver, "Email").await.value().await.expect("value");
        assert_eq!(email.as_deref(), Some("ada@acme.test"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_returns_to_the_login_page() {
    with_browser("sign_out", |driver, app| async move {
        let org = app.create_org("Acme Aviation").await;
        app.create_user(&org, Role::Administrator, "ada@acme.test")
            .await;
        sign_in(&driver, &app, "ada@acme.test").await;
        button(&driver, "Sign out")
            .await
            .click()
            .await
            .expect("click");
        sees(&driver, "You have signed out.").await;
        driver
            .find(By::XPath("//h1[normalize-space(.)='Sign in to Keyward']"))
            .await
            .expect("login page");
    })
    .await;
}
