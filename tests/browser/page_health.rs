//! What only a browser can tell: the pages' scripts run under the Content
//! Security Policy (no inline script, no eval) and pass their Subresource
//! Integrity checks. A mistake in either shows up as a console error and a
//! page whose htmx never loaded, while every HTTP test still passes.

use keyward::domain::role::Role;
use thirtyfour::prelude::*;

use crate::find::{button, dialog, heading, link};
use crate::harness::{console_errors, sign_in, with_browser};

use crate::support::Part;

crate::tests!(needs Part::Browser; the_pages_run_htmx_under_the_csp_without_console_errors);

async fn the_pages_run_htmx_under_the_csp_without_console_errors() {
    with_browser(|driver, app| async move {
        let org = app.create_org("Acme Aviation").await;
        let email = app.create_user(&org, Role::SystemAdministrator, "sam@acme.test").await;

        driver.goto(app.url("/login")).await.expect("the login page opens");
        assert_scripts_ran_cleanly(&driver, "the login page").await;

        sign_in(&driver, &app, &email).await;
        assert_scripts_ran_cleanly(&driver, "the backoffice home").await;

        link(&driver, "API Keys")
            .await
            .click()
            .await
            .expect("the API Keys link is clicked");
        heading(&driver, 1, "API Keys").await;
        assert_scripts_ran_cleanly(&driver, "the API keys setup page").await;

        button(&driver, "Set up API keys")
            .await
            .click()
            .await
            .expect("Set up API keys is clicked");
        button(&driver, "Create API Key")
            .await
            .click()
            .await
            .expect("Create API Key is clicked");
        // htmx fetched the dialog and the page's own script opened and named it.
        dialog(&driver, "Create API key").await;
        assert_scripts_ran_cleanly(&driver, "the API keys list with its create dialog").await;

        // The check can see a violation: an inline script is refused and reported.
        driver
            .execute(
                "const script = document.createElement('script'); \
                 script.textContent = 'window.inlineRan = true'; \
                 document.head.appendChild(script); \
                 return window.inlineRan === true",
                Vec::new(),
            )
            .await
            .expect("a script runs in the page");
        let errors = console_errors(&driver).await;
        assert!(
            errors.iter().any(|error| error.contains("Content Security Policy")),
            "an inline script should have been refused and reported: {errors:?}"
        );
    })
    .await;
}

/// htmx is loaded on the current page and the console has no errors.
async fn assert_scripts_ran_cleanly(driver: &WebDriver, page: &str) {
    let htmx: String = driver
        .execute("return typeof window.htmx", Vec::new())
        .await
        .expect("a script runs in the page")
        .convert()
        .expect("typeof answers a string");
    assert_eq!(
        htmx, "object",
        "htmx did not load on {page}: the CSP or its integrity hash blocked it"
    );
    let errors = console_errors(driver).await;
    assert!(errors.is_empty(), "console errors on {page}:\n{}", errors.join("\n"));
}
