//! axe-core (the npm package, `.ci/run` installs it) on every backoffice
//! page and dialog, at 1280 px and 375 px wide, in light and in dark mode:
//! any serious or critical violation fails the test, all of them listed
//! with their rule, element and page. Each test prints what it checked.
//!
//! The pages' CSP refuses inline scripts, so axe is not added to the page:
//! it is evaluated through the DevTools protocol (`Runtime.evaluate`, which
//! the page's CSP does not govern). The width is the DevTools device
//! metrics, dark mode the emulated `prefers-color-scheme`. Every state
//! checked is also saved as a full-page review screenshot,
//! `review-axe-<page>-<width>-<mode>.png`.

use std::collections::BTreeMap;

use keyward::domain::role::Role;
use serde::Deserialize;
use thirtyfour::prelude::*;

use crate::api_keys::{press_escape, row_action};
use crate::find::{alert, button, button_in, dialog, field, heading, key_row, link, menuitem, sees};
use crate::harness::{review_screenshot_full_page, sign_in, sign_in_with, with_browser};
use crate::support::{self, PASSWORD, Part, TestApp};

crate::tests!(needs Part::Axe;
    the_first_run_sign_in_and_error_pages_have_no_serious_axe_violations,
    the_key_list_and_its_dialogs_have_no_serious_axe_violations,
    the_key_page_usage_and_audit_log_have_no_serious_axe_violations);
crate::tests!(needs Part::Axe; the_account_and_two_factor_pages_have_no_serious_axe_violations);
crate::tests!(needs Part::Axe; the_users_pages_and_link_pages_have_no_serious_axe_violations);
crate::tests!(needs Part::Axe; the_step_up_dialog_and_page_have_no_serious_axe_violations);

const BASE: &str = "/backoffice/settings/api-keys";

/// (width, height) in CSS pixels: a laptop and a phone.
const VIEWPORTS: [(u32, u32); 2] = [(1280, 900), (375, 800)];
const COLOR_SCHEMES: [&str; 2] = ["light", "dark"];
/// The impacts that fail the test.
const FAILING: [&str; 2] = ["serious", "critical"];

/// axe's answer, reduced in the page to what the report needs.
#[derive(Debug, Deserialize)]
struct Violation {
    id: String,
    impact: Option<String>,
    help: String,
    targets: Vec<String>,
}

/// Runs axe over an element tree and keeps the tally of one test.
struct Axe {
    source: String,
    version: String,
    pages: Vec<String>,
    checks: usize,
    by_impact: BTreeMap<String, usize>,
    failures: Vec<String>,
}

/// Resolves to axe's violations as a JSON string (the protocol returns
/// strings whole; an object could be cut at its depth limit).
const RUN_AXE: &str = r#"
(async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return JSON.stringify(result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    targets: v.nodes.map((n) => [].concat(n.target).join(" ")),
  })));
})()
"#;

impl Axe {
    fn load() -> Self {
        let path = support::axe_path();
        let source = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("cannot read axe-core at {}: {error}", path.display()));
        Self {
            source,
            version: String::new(),
            pages: Vec::new(),
            checks: 0,
            by_impact: BTreeMap::new(),
            failures: Vec::new(),
        }
    }

    /// Checks the page as it is now at both widths and in both modes, and
    /// saves a screenshot of each, then goes back to 1280 px, light.
    async fn check(&mut self, driver: &WebDriver, page: &str) {
        self.pages.push(page.to_owned());
        let slug = page
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|word| !word.is_empty())
            .collect::<Vec<_>>()
            .join("-")
            .to_ascii_lowercase();
        for (width, height) in VIEWPORTS {
            set_viewport(driver, width, height).await;
            for scheme in COLOR_SCHEMES {
                set_color_scheme(driver, scheme).await;
                let violations = self.run(driver).await;
                self.checks += 1;
                for violation in violations {
                    let impact = violation.impact.unwrap_or_else(|| "unknown".to_owned());
                    *self.by_impact.entry(impact.clone()).or_default() += violation.targets.len();
                    if FAILING.contains(&impact.as_str()) {
                        for target in &violation.targets {
                            self.failures.push(format!(
                                "{page} ({width} px, {scheme}): {impact} {}: {} at `{target}`",
                                violation.id, violation.help
                            ));
                        }
                    }
                }
                review_screenshot_full_page(driver, &format!("axe-{slug}-{width}-{scheme}")).await;
            }
        }
        set_viewport(driver, VIEWPORTS[0].0, VIEWPORTS[0].1).await;
        set_color_scheme(driver, COLOR_SCHEMES[0]).await;
    }

    /// axe's violations on the current page, axe evaluated first if this
    /// document does not have it yet.
    async fn run(&mut self, driver: &WebDriver) -> Vec<Violation> {
        let loaded = evaluate(driver, "typeof window.axe === 'object'").await;
        if loaded != serde_json::Value::Bool(true) {
            evaluate(driver, &self.source).await;
        }
        if self.version.is_empty() {
            self.version = evaluate(driver, "axe.version").await.as_str().unwrap_or("?").to_owned();
        }
        let json = evaluate(driver, RUN_AXE).await;
        serde_json::from_str(json.as_str().expect("axe's answer is a string")).expect("axe's answer is JSON")
    }

    /// The check is not blind: elements planted in the page that break
    /// `rules` are reported (and removed again, not counted).
    async fn assert_detects(&mut self, driver: &WebDriver, rules: &[&str]) {
        driver
            .execute(
                "const main = document.querySelector('main'); \
                 const faint = document.createElement('p'); faint.id = 'axe-planted-faint'; \
                 faint.textContent = 'Faint text'; faint.style.color = 'color-mix(in srgb, var(--bg) 80%, var(--text))'; \
                 const image = document.createElement('img'); image.id = 'axe-planted-image'; image.src = '/favicon.ico'; \
                 main.append(faint, image);",
                Vec::new(),
            )
            .await
            .expect("the planted elements are added");
        for scheme in COLOR_SCHEMES {
            set_color_scheme(driver, scheme).await;
            let found: Vec<String> = self.run(driver).await.into_iter().map(|v| v.id).collect();
            for rule in rules {
                assert!(
                    found.iter().any(|id| id == rule),
                    "axe did not report the planted {rule} violation in {scheme} mode: {found:?}"
                );
            }
        }
        set_color_scheme(driver, COLOR_SCHEMES[0]).await;
        driver
            .execute(
                "document.getElementById('axe-planted-faint').remove(); \
                 document.getElementById('axe-planted-image').remove();",
                Vec::new(),
            )
            .await
            .expect("the planted elements are removed");
    }

    /// Prints what was checked and fails with every serious or critical
    /// violation found.
    fn finish(self) {
        let impacts = ["critical", "serious", "moderate", "minor"]
            .iter()
            .map(|impact| format!("{impact} {}", self.by_impact.get(*impact).copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join(", ");
        eprintln!(
            "axe-core {}: {} pages × {} widths × {} modes = {} checks; violations (elements) by impact: {impacts}\n  pages: {}",
            self.version,
            self.pages.len(),
            VIEWPORTS.len(),
            COLOR_SCHEMES.len(),
            self.checks,
            self.pages.join("; ")
        );
        assert!(
            self.failures.is_empty(),
            "{} serious or critical accessibility violations:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
    }
}

/// Evaluates `expression` in the page (promises awaited) and returns its
/// value; a thrown exception fails the test.
pub async fn evaluate(driver: &WebDriver, expression: &str) -> serde_json::Value {
    let answer = driver
        .cdp()
        .send_raw(
            "Runtime.evaluate",
            serde_json::json!({ "expression": expression, "awaitPromise": true, "returnByValue": true }),
        )
        .await
        .expect("Runtime.evaluate answers");
    if let Some(exception) = answer.get("exceptionDetails") {
        panic!("the script threw in the page: {exception}");
    }
    answer["result"]["value"].clone()
}

pub async fn set_viewport(driver: &WebDriver, width: u32, height: u32) {
    driver
        .cdp()
        .send_raw(
            "Emulation.setDeviceMetricsOverride",
            serde_json::json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }),
        )
        .await
        .expect("the viewport is set");
    let shown = evaluate(driver, "window.innerWidth").await;
    assert_eq!(shown.as_u64(), Some(u64::from(width)), "the page is {width} px wide");
}

pub async fn set_color_scheme(driver: &WebDriver, scheme: &str) {
    driver
        .cdp()
        .send_raw(
            "Emulation.setEmulatedMedia",
            serde_json::json!({ "media": "", "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
        )
        .await
        .expect("the colour scheme is emulated");
    let matches = evaluate(
        driver,
        &format!("matchMedia('(prefers-color-scheme: {scheme})').matches"),
    )
    .await;
    assert_eq!(matches, serde_json::Value::Bool(true), "the page sees {scheme} mode");
}

/// Opens a dialog the way its control in a row does (htmx loads it into the
/// page's `<dialog>`), whatever shape the list gives its row actions.
async fn open_dialog(driver: &WebDriver, path: &str, name: &str) -> WebElement {
    driver
        .execute(
            "htmx.ajax('GET', arguments[0], { target: '#modal', swap: 'innerHTML' })",
            vec![serde_json::json!(path)],
        )
        .await
        .expect("htmx loads the dialog");
    dialog(driver, name).await
}

async fn close_dialog(driver: &WebDriver) {
    button_in(driver, "//dialog", "Cancel")
        .await
        .click()
        .await
        .expect("Cancel is clicked");
    for _ in 0..100 {
        if driver
            .find_all(By::XPath("//dialog[@open]"))
            .await
            .expect("find")
            .is_empty()
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the dialog did not close");
}

async fn type_into(driver: &WebDriver, label: &str, text: &str) {
    field(driver, label)
        .await
        .send_keys(text)
        .await
        .unwrap_or_else(|error| panic!("cannot type into {label}: {error}"));
}

async fn click(driver: &WebDriver, name: &str) {
    button(driver, name)
        .await
        .click()
        .await
        .unwrap_or_else(|error| panic!("cannot click {name}: {error}"));
}

/// The demo organization (keys in every status) with its System
/// Administrator signed in; returns the organization's id.
pub async fn signed_in_to_the_demo(driver: &WebDriver, app: &TestApp) -> String {
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
    sign_in_with(driver, app, &admin.email, admin.password.expose()).await;
    app.query(|conn| {
        Ok(
            keyward::store::organizations::find_by_slug(conn, keyward::service::accounts::DEMO_ORG_SLUG)?
                .expect("the demo organization")
                .id,
        )
    })
    .await
}

/// The id of the key named `name`.
pub async fn key_id(app: &TestApp, name: &'static str) -> String {
    app.query(move |conn| {
        use diesel::prelude::*;
        use keyward::store::schema::api_keys;
        Ok(api_keys::table
            .filter(api_keys::name.eq(name))
            .select(api_keys::id)
            .first::<String>(conn)?)
    })
    .await
}

async fn the_first_run_sign_in_and_error_pages_have_no_serious_axe_violations() {
    with_browser(|driver, app| async move {
        let mut axe = Axe::load();

        driver.goto(app.url("/login")).await.expect("the login page opens");
        heading(&driver, 1, "Sign in to Keyward").await;
        sees(&driver, "one-time setup link").await;
        axe.assert_detects(&driver, &["color-contrast", "image-alt"]).await;
        axe.check(&driver, "sign-in, first run").await;

        let token = app
            .query(keyward::service::accounts::issue_setup_token)
            .await
            .expect("no users yet, so a setup link");
        driver
            .goto(app.url(&format!("/setup?token={token}")))
            .await
            .expect("the setup page opens");
        heading(&driver, 1, "Set up Keyward").await;
        axe.check(&driver, "first-run setup").await;

        click(&driver, "Create organization").await;
        alert(&driver).await;
        axe.check(&driver, "first-run setup with errors").await;

        type_into(&driver, "Organization name", "Acme Aviation").await;
        type_into(&driver, "Your name", "Sam Sysadmin").await;
        type_into(&driver, "Email", "sam@acme.test").await;
        type_into(&driver, "Password", PASSWORD).await;
        type_into(&driver, "Confirm password", PASSWORD).await;
        click(&driver, "Create organization").await;
        heading(&driver, 1, "API Keys").await;
        button(&driver, "Set up API keys").await;
        axe.check(&driver, "API keys setup screen").await;

        click(&driver, "Set up API keys").await;
        sees(&driver, "No API keys yet").await;
        axe.check(&driver, "API keys, none yet").await;

        link(&driver, "Home").await.click().await.expect("Home is clicked");
        heading(&driver, 1, "Welcome, Sam Sysadmin").await;
        axe.check(&driver, "home").await;

        driver
            .goto(app.url("/backoffice/no-such-page"))
            .await
            .expect("the page answers");
        heading(&driver, 1, "Not found").await;
        axe.check(&driver, "404 page").await;

        click(&driver, "Sign out").await;
        heading(&driver, 1, "Sign in to Keyward").await;
        axe.check(&driver, "sign-in, signed out").await;

        type_into(&driver, "Email", "sam@acme.test").await;
        type_into(&driver, "Password", "not the password").await;
        click(&driver, "Sign in").await;
        alert(&driver).await;
        axe.check(&driver, "sign-in with an error").await;

        let org = app
            .query(|conn| Ok(keyward::store::organizations::list(conn)?.remove(0)))
            .await;
        let member = app.create_user(&org, Role::Member, "max@acme.test").await;
        sign_in(&driver, &app, &member).await;
        driver.goto(app.url(BASE)).await.expect("the page answers");
        heading(&driver, 1, "Access denied").await;
        axe.check(&driver, "403 page").await;

        axe.finish();
    })
    .await;
}

async fn the_key_list_and_its_dialogs_have_no_serious_axe_violations() {
    with_browser(|driver, app| async move {
        let mut axe = Axe::load();
        signed_in_to_the_demo(&driver, &app).await;

        driver
            .goto(app.url(&format!("{BASE}?status=all")))
            .await
            .expect("the list opens");
        driver
            .query(By::XPath(key_row("Leaked test key")))
            .first()
            .await
            .expect("the revoked key is listed");
        axe.check(&driver, "API keys, every status (cards at 375 px)").await;

        // A row's Actions menu, open.
        click(&driver, "Actions for Flight sync integration").await;
        menuitem(&driver, "Edit Flight sync integration").await;
        axe.check(&driver, "API keys, a row's actions menu open").await;
        press_escape(&driver).await;
        // An action's message in the live region.
        row_action(&driver, "Flight sync integration", "Disable").await;
        sees(&driver, "Flight sync integration disabled.").await;
        axe.check(&driver, "API keys, the message after Disable").await;
        row_action(&driver, "Flight sync integration", "Enable").await;
        sees(&driver, "Flight sync integration enabled.").await;

        driver
            .goto(app.url(&format!("{BASE}?status=all&page=99")))
            .await
            .expect("a page past the end opens");
        sees(&driver, "Page 99 is past the end").await;
        axe.check(&driver, "API keys, a page past the end").await;

        // The banner (the demo's "Crew roster export" expires in 3 days), and
        // the filters with values, then with a refused Resource.
        sees(&driver, "1 key expires within 7 days: Crew roster export").await;
        driver
            .goto(app.url(&format!("{BASE}?status=all&sort=name-asc&can=read&resource=assets")))
            .await
            .expect("the filtered list opens");
        driver
            .query(By::XPath(key_row("Legacy importer")))
            .first()
            .await
            .expect("a key that can read assets is listed");
        axe.check(&driver, "API keys, sorted and filtered by Can and Resource")
            .await;
        driver
            .goto(app.url(&format!("{BASE}?status=all&can=write&resource=assets//x")))
            .await
            .expect("the list answers");
        sees(&driver, "has an empty segment").await;
        axe.check(&driver, "API keys, Resource refused").await;

        click(&driver, "Create API Key").await;
        dialog(&driver, "Create API key").await;
        axe.check(&driver, "create dialog").await;
        button_in(&driver, "//dialog", "Create")
            .await
            .click()
            .await
            .expect("Create is clicked");
        sees(&driver, "Enter a name").await;
        axe.check(&driver, "create dialog with errors").await;
        close_dialog(&driver).await;

        let id = key_id(&app, "Flight sync integration").await;
        open_dialog(&driver, &format!("{BASE}/{id}/edit"), "Edit API key").await;
        axe.check(&driver, "edit dialog").await;
        close_dialog(&driver).await;

        open_dialog(&driver, &format!("{BASE}/{id}/revoke"), "Revoke API key").await;
        axe.check(&driver, "revoke dialog").await;
        close_dialog(&driver).await;

        open_dialog(&driver, &format!("{BASE}/{id}/delete"), "Delete API key").await;
        axe.check(&driver, "delete dialog").await;
        close_dialog(&driver).await;

        open_dialog(&driver, &format!("{BASE}/{id}/rotate"), "Rotate API key").await;
        axe.check(&driver, "rotate dialog").await;
        button_in(&driver, "//dialog", "Rotate")
            .await
            .click()
            .await
            .expect("Rotate is clicked");
        dialog(&driver, "Your new API key").await;
        axe.check(&driver, "secret dialog").await;

        axe.finish();
    })
    .await;
}

async fn the_key_page_usage_and_audit_log_have_no_serious_axe_violations() {
    with_browser(|driver, app| async move {
        let mut axe = Axe::load();
        let org_id = signed_in_to_the_demo(&driver, &app).await;
        let id = key_id(&app, "Flight sync integration").await;
        record_usage(&app, &id, 90).await;

        driver
            .goto(app.url(&format!("{BASE}/{id}")))
            .await
            .expect("the key page opens");
        heading(&driver, 1, "Flight sync integration").await;
        button(&driver, "Disable Flight sync integration").await;
        axe.check(&driver, "key page, with its actions").await;
        click(&driver, "Disable Flight sync integration").await;
        sees(&driver, "Flight sync integration disabled.").await;
        button(&driver, "Enable Flight sync integration").await;
        axe.check(&driver, "key page, the message after Disable").await;

        let revoked = key_id(&app, "Leaked test key").await;
        driver
            .goto(app.url(&format!("{BASE}/{revoked}")))
            .await
            .expect("the revoked key's page opens");
        sees(&driver, "Revoked at ").await;
        axe.check(&driver, "key page, revoked").await;

        driver
            .goto(app.url(&format!("{BASE}/usage?days=90")))
            .await
            .expect("the usage page opens");
        heading(&driver, 1, "Usage").await;
        axe.check(&driver, "usage, 90 days").await;
        driver
            .find(By::XPath("//summary[normalize-space(.)='Figures per day']"))
            .await
            .expect("the disclosure")
            .click()
            .await
            .expect("it opens");
        driver
            .query(By::XPath("//table[@aria-label='Requests per day']"))
            .and_displayed()
            .first()
            .await
            .expect("the figures are shown");
        axe.check(&driver, "usage, figures per day").await;

        driver
            .goto(app.url(&format!("{BASE}/audit")))
            .await
            .expect("the audit log opens");
        heading(&driver, 1, "Audit log").await;
        axe.check(&driver, "audit log").await;

        // Filtered by two actions and dates, a raw change open (issue 12, item 11).
        let today = keyward::store::now().date();
        driver
            .goto(app.url(&format!(
                "{BASE}/audit?action=api_key_created&action=api_key_revoked&from={}&to={today}",
                today - chrono::TimeDelta::days(30)
            )))
            .await
            .expect("the filtered audit log opens");
        driver
            .find(By::XPath("//summary[normalize-space(.)='Raw change']"))
            .await
            .expect("a raw change")
            .click()
            .await
            .expect("it opens");
        driver
            .query(By::XPath("//details[@open]//pre"))
            .and_displayed()
            .first()
            .await
            .expect("the raw change is shown");
        axe.check(&driver, "audit log, filtered, raw change open").await;

        driver
            .goto(app.url(&format!("{BASE}/audit?action=api_key.disable&from=2026-13-01")))
            .await
            .expect("the audit log answers");
        sees(&driver, "is not an action").await;
        axe.check(&driver, "audit log with errors").await;

        // A deleted key's page, read-only (issue 12, item 12).
        let deleted = key_id(&app, "Leaked test key").await;
        let (org, key) = (org_id.clone(), deleted.clone());
        app.db
            .transaction(move |conn| {
                keyward::service::keys::delete(conn, &org, &key, &keyward::domain::audit::Actor::Cli, None).map(drop)
            })
            .await
            .expect("deleted");
        driver
            .goto(app.url(&format!("{BASE}/{deleted}")))
            .await
            .expect("the deleted key's page opens");
        sees(&driver, "Deleted on").await;
        axe.check(&driver, "deleted key page").await;

        axe.finish();
    })
    .await;
}

/// Requests made with the key `id` on each of the last `days` days: allowed
/// ones, and rejections of several kinds.
pub async fn record_usage(app: &TestApp, id: &str, days: i64) {
    let id = id.to_owned();
    app.query(move |conn| {
        use diesel::prelude::*;
        use keyward::store::schema::api_keys;
        use keyward::store::usage::{self, UsageDelta};
        let org_id: String = api_keys::table
            .filter(api_keys::id.eq(&id))
            .select(api_keys::org_id)
            .first(conn)?;
        let now = keyward::store::now();
        let deltas: Vec<UsageDelta> = (0..days)
            .flat_map(|day| {
                let hour = now - chrono::TimeDelta::days(day);
                [
                    ("allowed", 400 + (day * 37) % 250),
                    ("ip_not_allowed", day % 4),
                    ("insufficient_scope", (day * 7) % 5),
                    ("key_expired", i64::from(day % 11 == 0)),
                ]
                .map(|(outcome, count)| UsageDelta {
                    api_key_id: id.clone(),
                    org_id: org_id.clone(),
                    hour,
                    outcome: outcome.to_owned(),
                    count,
                })
            })
            .filter(|delta| delta.count > 0)
            .collect();
        usage::add(conn, &deltas)?;
        // The flush records the last allowed request with its address.
        Ok(usage::touch_last_used(conn, &id, now, "203.0.113.7")?)
    })
    .await;
}

/// The account page, two-factor setup, recovery codes, turning it off and
/// new codes, the Security settings and the code step of sign-in.
async fn the_account_and_two_factor_pages_have_no_serious_axe_violations() {
    use crate::two_factor::{REQUIRE, complete_setup, enter_password, follow, tick};
    with_browser(|driver, app| async move {
        let mut axe = Axe::load();
        let org = app.create_org("Acme Aviation").await;
        let sam = app.create_user(&org, Role::SystemAdministrator, "sam@acme.test").await;
        sign_in(&driver, &app, &sam).await;

        follow(&driver, "Account").await;
        heading(&driver, 1, "Account").await;
        axe.check(&driver, "account, two-factor off").await;

        follow(&driver, "Security settings").await;
        heading(&driver, 1, "Security").await;
        axe.check(&driver, "security settings").await;
        tick(&driver, REQUIRE).await;
        click(&driver, "Save").await;
        alert(&driver).await;
        axe.check(&driver, "security settings with an error").await;

        follow(&driver, "Set up two-factor authentication").await;
        heading(&driver, 1, "Set up two-factor authentication").await;
        axe.check(&driver, "two-factor setup").await;
        type_into(&driver, "Authentication code", "12ab").await;
        click(&driver, "Verify").await;
        alert(&driver).await;
        axe.check(&driver, "two-factor setup with an error").await;
        let (key, _) = complete_setup(&driver, 0).await;
        axe.check(&driver, "recovery codes").await;

        follow(&driver, "Done").await;
        heading(&driver, 1, "Account").await;
        axe.check(&driver, "account, two-factor on").await;
        follow(&driver, "Turn off two-factor authentication").await;
        heading(&driver, 1, "Turn off two-factor authentication").await;
        axe.check(&driver, "turn off two-factor").await;
        click(&driver, "Turn off two-factor authentication").await;
        alert(&driver).await;
        axe.check(&driver, "turn off two-factor with an error").await;
        driver
            .goto(app.url("/backoffice/account/two-factor/recovery-codes"))
            .await
            .expect("the page opens");
        heading(&driver, 1, "Regenerate recovery codes").await;
        axe.check(&driver, "regenerate recovery codes").await;

        click(&driver, "Sign out").await;
        enter_password(&driver, &app, &sam).await;
        axe.check(&driver, "sign-in, authentication code").await;
        type_into(&driver, "Authentication code", "000").await;
        click(&driver, "Verify").await;
        alert(&driver).await;
        axe.check(&driver, "sign-in, authentication code with an error").await;
        follow(&driver, "Use a recovery code").await;
        field(&driver, "Recovery code").await;
        axe.check(&driver, "sign-in, recovery code").await;

        // Another System Administrator, once the organization requires it.
        follow(&driver, "Use an authentication code").await;
        let code = crate::support::two_factor::code_at_offset(&key, 1).await;
        type_into(&driver, "Authentication code", &code).await;
        click(&driver, "Verify").await;
        heading(&driver, 1, "API Keys").await;
        driver
            .goto(app.url("/backoffice/settings/security"))
            .await
            .expect("the page opens");
        tick(&driver, REQUIRE).await;
        click(&driver, "Save").await;
        sees(&driver, "Saved.").await;
        click(&driver, "Sign out").await;
        let sue = app.create_user(&org, Role::SystemAdministrator, "sue@acme.test").await;
        sign_in(&driver, &app, &sue).await;
        sees(&driver, "requires two-factor authentication for System Administrators").await;
        axe.check(&driver, "two-factor setup, required").await;

        axe.finish();
    })
    .await;
}

/// The Users page (people of every status), inviting, the one-time link,
/// a user's page with and without a refusal, and the pages the links open:
/// accepting an invitation, choosing a new password, a spent or expired link.
async fn the_users_pages_and_link_pages_have_no_serious_axe_violations() {
    use crate::people::{USERS, choose, expire_links, in_a_fresh_browser, open_user, shown_link};
    use crate::two_factor::follow;
    with_browser(|driver, app| async move {
        let mut axe = Axe::load();
        let org = app.create_org("Acme Aviation").await;
        let sam = app.create_user(&org, Role::SystemAdministrator, "sam@acme.test").await;
        for (role, email) in [
            (Role::SystemAdministrator, "sue@acme.test"),
            (Role::Administrator, "ada@acme.test"),
            (Role::Member, "max@acme.test"),
            (Role::Member, "mia@acme.test"),
            (Role::Administrator, "dan@acme.test"),
        ] {
            app.create_user(&org, role, email).await;
        }
        crate::two_factor::enrolled_over_http(&app, "sue@acme.test").await;
        sign_in(&driver, &app, &sam).await;
        for name in ["mia", "dan"] {
            open_user(&driver, &app, name).await;
            click(&driver, "Disable user").await;
            sees(&driver, "User disabled.").await;
        }

        follow(&driver, "Users").await;
        follow(&driver, "Invite user").await;
        heading(&driver, 1, "Invite user").await;
        axe.check(&driver, "invite user").await;
        type_into(&driver, "Email", "not an email").await;
        click(&driver, "Create invitation link").await;
        alert(&driver).await;
        axe.check(&driver, "invite user with errors").await;
        field(&driver, "Email").await.clear().await.expect("cleared");
        type_into(&driver, "Email", "grace.hopper.with.a.long.address@navy.example.test").await;
        type_into(&driver, "Name", "Grace Brewster Murray Hopper").await;
        choose(&driver, "Role", "Administrator").await;
        click(&driver, "Create invitation link").await;
        heading(&driver, 1, "Invitation link").await;
        axe.check(&driver, "invitation link").await;
        let invitation = shown_link(&driver, &app, "Invitation link").await;
        for email in ["kay@acme.test", "lin@acme.test"] {
            driver
                .goto(app.url(&format!("{USERS}/invite")))
                .await
                .expect("the page opens");
            type_into(&driver, "Email", email).await;
            type_into(&driver, "Name", email.split('@').next().unwrap_or("x")).await;
            click(&driver, "Create invitation link").await;
            heading(&driver, 1, "Invitation link").await;
        }

        driver.goto(app.url(USERS)).await.expect("the Users page opens");
        heading(&driver, 1, "Users").await;
        sees(&driver, "Invited").await;
        axe.check(&driver, "users, every status (cards at 375 px)").await;

        open_user(&driver, &app, "sue").await;
        axe.check(&driver, "a user's page, two-factor on").await;
        choose(&driver, "Role", "Member").await;
        click(&driver, "Change role").await;
        sees(&driver, "Role changed.").await;
        axe.check(&driver, "a user's page, the message after a change").await;
        open_user(&driver, &app, "sam").await;
        choose(&driver, "Role", "Member").await;
        click(&driver, "Change role").await;
        alert(&driver).await;
        axe.check(&driver, "a user's page, role refused").await;
        click(&driver, "Disable user").await;
        alert(&driver).await;
        axe.check(&driver, "a user's page, disabling refused").await;
        open_user(&driver, &app, "mia").await;
        axe.check(&driver, "a disabled user's page").await;
        open_user(&driver, &app, "kay").await;
        axe.check(&driver, "an invited user's page").await;
        open_user(&driver, &app, "max").await;
        click(&driver, "Issue password-reset link").await;
        heading(&driver, 1, "Password-reset link").await;
        axe.check(&driver, "password-reset link").await;
        let reset = shown_link(&driver, &app, "Password-reset link").await;

        in_a_fresh_browser(&driver, &app, &invitation).await;
        heading(&driver, 1, "Accept invitation").await;
        axe.check(&driver, "accept invitation").await;
        type_into(&driver, "Password", "short").await;
        click(&driver, "Accept invitation").await;
        alert(&driver).await;
        axe.check(&driver, "accept invitation with errors").await;

        in_a_fresh_browser(&driver, &app, &reset).await;
        heading(&driver, 1, "Choose a new password").await;
        axe.check(&driver, "choose a new password").await;
        type_into(&driver, "Password", PASSWORD).await;
        type_into(&driver, "Confirm password", PASSWORD).await;
        click(&driver, "Set new password").await;
        sees(&driver, "Your password is set. Sign in with it.").await;
        axe.check(&driver, "sign-in, password set").await;

        in_a_fresh_browser(&driver, &app, &reset).await;
        heading(&driver, 1, "This password-reset link cannot be used").await;
        axe.check(&driver, "a used password-reset link").await;
        expire_links(&app).await;
        in_a_fresh_browser(&driver, &app, &invitation).await;
        heading(&driver, 1, "This invitation cannot be used").await;
        axe.check(&driver, "an expired invitation").await;

        axe.finish();
    })
    .await;
}

/// The step-up dialog (htmx) and page (no JavaScript), each with an error.
async fn the_step_up_dialog_and_page_have_no_serious_axe_violations() {
    use crate::step_up::{TITLE, aged_admin};
    with_browser(|driver, app| async move {
        let mut axe = Axe::load();
        let id = aged_admin(&driver, &app).await;
        // The key page's Revoke opens its dialog through htmx; its Revoke
        // answers with the step-up dialog in the same place.
        driver
            .goto(app.url(&format!("{BASE}/{id}")))
            .await
            .expect("the key page opens");
        click(&driver, "Revoke Flight sync").await;
        dialog(&driver, "Revoke API key").await;
        button_in(&driver, "//dialog", "Revoke")
            .await
            .click()
            .await
            .expect("click");
        dialog(&driver, TITLE).await;
        axe.check(&driver, "step-up dialog").await;
        button_in(&driver, "//dialog", "Confirm")
            .await
            .click()
            .await
            .expect("click");
        alert(&driver).await;
        axe.check(&driver, "step-up dialog with an error").await;
        crate::new_keys::without_javascript(&driver).await;
        driver
            .goto(app.url(&format!("{BASE}/{id}/revoke")))
            .await
            .expect("the confirmation opens");
        click(&driver, "Revoke").await;
        heading(&driver, 2, TITLE).await;
        click(&driver, "Confirm").await;
        alert(&driver).await;
        // axe is a script: scripts back on for the check, on the page as it
        // was rendered and left without them (nothing of app.js ran).
        driver
            .cdp()
            .send_raw(
                "Emulation.setScriptExecutionDisabled",
                serde_json::json!({ "value": false }),
            )
            .await
            .expect("scripts turned back on");
        axe.check(&driver, "step-up page with an error").await;
        axe.finish();
    })
    .await;
}
