//! The key lifecycle as an administrator clicks through it.

use std::time::Duration;

use keyward::domain::role::Role;
use thirtyfour::prelude::*;

use crate::find::{button, button_in, dialog, field, key_row, sees};
use crate::harness::{review_screenshot, sign_in, with_browser};

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

async fn wait_until_gone(driver: &WebDriver, xpath: &str) {
    for _ in 0..100 {
        if driver
            .find_all(By::XPath(xpath))
            .await
            .expect("find")
            .is_empty()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{xpath} is still there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_creates_a_key_copies_its_secret_and_toggles_it() {
    with_browser(|driver, app| async move {
        let org = app.create_org("Acme Aviation").await;
        app.create_user(&org, Role::SystemAdministrator, "sam@acme.test")
            .await;
        sign_in(&driver, &app, "sam@acme.test").await;
        driver
            .goto(app.url("/backoffice/settings/api-keys"))
            .await
            .expect("goto");

        // Bootstrap.
        button(&driver, "Set up API keys")
            .await
            .click()
            .await
            .expect("click");
        sees(&driver, "No API keys yet").await;

        // Create with an error, then fixed.
        button(&driver, "Create API Key")
            .await
            .click()
            .await
            .expect("click");
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
        button_in(&driver, "//dialog", "Create")
            .await
            .click()
            .await
            .expect("click");

        // The one-time secret.
        dialog(&driver, "Your new API key").await;
        let secret = driver
            .find(By::Id("new-secret"))
            .await
            .expect("secret field");
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
            driver
                .source()
                .await
                .expect("source")
                .find(&value)
                .is_none(),
            "the secret left the page"
        );
        let row = row_text(&driver, "Flight sync").await;
        assert!(row.contains("Active"), "{row}");

        // Disable and enable in the row.
        button_in(&driver, &key_row("Flight sync"), "Disable")
            .await
            .click()
            .await
            .expect("click");
        button_in(&driver, &key_row("Flight sync"), "Enable").await;
        assert!(row_text(&driver, "Flight sync").await.contains("Disabled"));
        button_in(&driver, &key_row("Flight sync"), "Enable")
            .await
            .click()
            .await
            .expect("click");
        button_in(&driver, &key_row("Flight sync"), "Disable").await;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_names_qa_relies_on_are_on_the_pages() {
    with_browser(|driver, app| async move {
        let org = app.create_org("Acme Aviation").await;
        app.create_user(&org, Role::SystemAdministrator, "sam@acme.test")
            .await;
        sign_in(&driver, &app, "sam@acme.test").await;
        driver
            .goto(app.url("/backoffice/settings/api-keys"))
            .await
            .expect("goto");
        button(&driver, "Set up API keys")
            .await
            .click()
            .await
            .expect("click");
        for name in ["Create API Key", "Export CSV", "Sign out"] {
            button(&driver, name).await;
        }
        for label in ["Search", "Status"] {
            field(&driver, label).await;
        }
        button(&driver, "Create API Key")
            .await
            .click()
            .await
            .expect("click");
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
