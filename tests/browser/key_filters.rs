//! The key list's Expiring soon status, its banner, "Sort by" and the
//! capability filter ("Can", "Resource"), as an administrator uses them, at
//! 1280 px and at 375 px (issue 12, items 9 and 10).

use std::time::Duration;

use keyward::domain::role::Role;
use thirtyfour::components::SelectElement;
use thirtyfour::prelude::*;

use crate::api_keys::review_screenshots_at_both_widths;
use crate::find::{field, link, literal, sees, visible};
use crate::harness::{sign_in, with_browser};
use crate::support::{Part, TestApp};

crate::tests!(needs Part::Browser;
    the_banner_and_the_expiring_soon_status_find_the_keys_that_expire,
    sort_by_can_and_resource_narrow_the_list_in_place);

const BASE: &str = "/backoffice/settings/api-keys";
const WIDTHS: [(u32, u32); 2] = [(1280, 900), (375, 800)];

/// A set-up organization with a System Administrator (not signed in) and
/// these keys: name, scopes, days until it expires (`None`: never; a
/// moment later the page counts one whole day less).
pub async fn org_with(app: &TestApp, keys: &'static [(&'static str, &'static [&'static str], Option<i64>)]) {
    let org = app.create_org("Acme Aviation").await;
    app.create_user(&org, Role::SystemAdministrator, "sam@acme.test").await;
    let secret = app.secret.clone();
    app.db
        .transaction(move |conn| {
            use keyward::domain::api_key::{Expiry, KeyName};
            use keyward::domain::scope::{Scope, ScopeSet};
            use keyward::domain::{audit::Actor, network::NetworkList};
            keyward::service::keys::bootstrap(conn, &org, &Actor::Cli, None)?;
            for (name, scopes, days) in keys {
                let new = keyward::service::keys::NewKey {
                    name: KeyName::parse(name)?,
                    expiry: days.map(|days| Expiry::in_days(chrono::Utc::now(), days)),
                    scopes: ScopeSet::new(scopes.iter().map(|s| Scope::parse_pair(s)).collect::<Result<_, _>>()?)?,
                    networks: NetworkList::allow_all(),
                    allow_query_key: false,
                };
                keyward::service::keys::create(conn, &secret, &org.id, &new, &Actor::Cli, None)?;
            }
            Ok::<_, keyward::error::AppError>(())
        })
        .await
        .expect("keys created");
}

/// A region (a `section` named by its heading, or `role="region"`) by name.
async fn region(driver: &WebDriver, name: &str) -> WebElement {
    let name = literal(name);
    visible(
        driver,
        format!(
            "//*[self::section or @role='region'][@aria-label={name} \
             or @aria-labelledby=//*[normalize-space(.)={name}]/@id]"
        ),
        &format!("region named {name}"),
    )
    .await
}

/// Waits until the table "API keys" lists exactly these keys, in order.
async fn wait_for_rows(driver: &WebDriver, expected: &[&str]) {
    let cells = "//table[@aria-label='API keys']/tbody/tr/*[1]";
    let mut shown: Vec<String> = Vec::new();
    for _ in 0..100 {
        shown.clear();
        let mut complete = true;
        for cell in driver.find_all(By::XPath(cells)).await.expect("cells") {
            match cell.text().await {
                Ok(text) => shown.push(text),
                // Replaced while being read: read again.
                Err(_) => complete = false,
            }
        }
        if complete && shown == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the table shows {shown:?}, not {expected:?}");
}

async fn wait_for_url(driver: &WebDriver, parts: &[&str]) {
    let mut url = String::new();
    for _ in 0..100 {
        url = driver.current_url().await.expect("url").to_string();
        if parts.iter().all(|part| url.contains(part)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the address {url} lacks one of {parts:?}");
}

async fn choose(driver: &WebDriver, label: &str, value: &str) {
    SelectElement::new(&field(driver, label).await)
        .await
        .unwrap_or_else(|e| panic!("{label} is a select: {e}"))
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("cannot choose {value} in {label}: {e}"));
}

async fn set_width(driver: &WebDriver, (width, height): (u32, u32)) {
    driver
        .set_window_rect(0, 0, width, height)
        .await
        .expect("the window is resized");
}

async fn the_banner_and_the_expiring_soon_status_find_the_keys_that_expire() {
    with_browser(|driver, app| async move {
        org_with(
            &app,
            &[
                ("Flight sync", &["read:*"], Some(3)),
                ("Crew roster", &["read:*"], Some(1)),
                ("Parts feed", &["read:*"], Some(10)),
                ("Archive", &["read:*"], None),
            ],
        )
        .await;
        sign_in(&driver, &app, "sam@acme.test").await;
        for width in WIDTHS {
            set_width(&driver, width).await;
            driver.goto(app.url(BASE)).await.expect("the list opens");
            wait_for_rows(&driver, &["Archive", "Parts feed", "Crew roster", "Flight sync"]).await;
            let banner = region(&driver, "Keys expiring soon").await;
            let text = banner.text().await.expect("text");
            assert!(
                text.contains("2 keys expire within 7 days: Crew roster (in 23 hours), Flight sync (in 2 days)."),
                "{text}"
            );
            link(&driver, "Show keys expiring soon")
                .await
                .click()
                .await
                .expect("the link is followed");
            wait_for_url(&driver, &["status=expiring", "sort=valid-until-asc"]).await;
            // Soonest first: the banner's link also orders by expiry.
            wait_for_rows(&driver, &["Crew roster", "Flight sync", "Parts feed"]).await;
            let status = field(&driver, "Status").await.value().await.expect("value");
            assert_eq!(status.as_deref(), Some("expiring"));
            let sort = field(&driver, "Sort by").await.value().await.expect("value");
            assert_eq!(sort.as_deref(), Some("valid-until-asc"));
            sees(&driver, "Showing 1–3 of 3, soonest expiry first").await;

            choose(&driver, "Status", "all").await;
            wait_for_rows(&driver, &["Crew roster", "Flight sync", "Parts feed", "Archive"]).await;
            choose(&driver, "Status", "expiring").await;
            wait_for_url(&driver, &["status=expiring"]).await;
            wait_for_rows(&driver, &["Crew roster", "Flight sync", "Parts feed"]).await;
            let chosen = driver
                .find(By::Css("#key-status option:checked"))
                .await
                .expect("the chosen status")
                .text()
                .await
                .expect("text");
            assert_eq!(chosen, "Expiring soon (3)");
        }
        set_width(&driver, WIDTHS[0]).await;
        driver.goto(app.url(BASE)).await.expect("the list opens");
        region(&driver, "Keys expiring soon").await;
        review_screenshots_at_both_widths(&driver, "list-expiry-banner").await;
    })
    .await;
}

async fn sort_by_can_and_resource_narrow_the_list_in_place() {
    with_browser(|driver, app| async move {
        org_with(
            &app,
            &[
                ("Full access", &["*:*"], None),
                ("Asset writer", &["write:assets"], None),
                ("Read only", &["read:*"], None),
                ("Crew writer", &["write:crew"], None),
            ],
        )
        .await;
        sign_in(&driver, &app, "sam@acme.test").await;
        for width in WIDTHS {
            set_width(&driver, width).await;
            driver.goto(app.url(BASE)).await.expect("the list opens");
            wait_for_rows(&driver, &["Crew writer", "Read only", "Asset writer", "Full access"]).await;

            choose(&driver, "Sort by", "name-asc").await;
            wait_for_rows(&driver, &["Asset writer", "Crew writer", "Full access", "Read only"]).await;
            wait_for_url(&driver, &["sort=name-asc"]).await;
            sees(&driver, "Showing 1–4 of 4, by name, A to Z").await;

            // Anything on assets/42, typed and sent with Enter.
            let resource = field(&driver, "Resource").await;
            resource.send_keys("assets/42").await.expect("typed");
            resource.send_keys(Key::Enter).await.expect("sent");
            wait_for_rows(&driver, &["Asset writer", "Full access", "Read only"]).await;
            choose(&driver, "Can", "write").await;
            wait_for_rows(&driver, &["Asset writer", "Full access"]).await;
            wait_for_url(&driver, &["can=write", "resource=assets%2F42", "sort=name-asc"]).await;
            let export = visible(
                &driver,
                "//a[normalize-space(.)='Export CSV']".to_owned(),
                "the export link",
            )
            .await
            .attr("href")
            .await
            .expect("href")
            .unwrap_or_default();
            assert!(
                export.contains("can=write")
                    && export.contains("resource=assets/42")
                    && export.contains("sort=name-asc"),
                "the export keeps the filters: {export}"
            );
            if width == WIDTHS[0] {
                review_screenshots_at_both_widths(&driver, "list-filtered-by-capability").await;
            }

            // A resource that is not one: said beside the field, no rows.
            let resource = field(&driver, "Resource").await;
            resource.clear().await.expect("cleared");
            resource.send_keys("assets//x").await.expect("typed");
            resource.send_keys(Key::Enter).await.expect("sent");
            sees(&driver, "has an empty segment").await;
            let message = driver.find(By::Id("key-resource-error")).await.expect("the message");
            assert!(
                message
                    .text()
                    .await
                    .expect("text")
                    .contains("A resource is a path such as assets")
            );
            let mut invalid = None;
            for _ in 0..100 {
                invalid = field(&driver, "Resource")
                    .await
                    .attr("aria-invalid")
                    .await
                    .expect("attribute");
                if invalid.is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert_eq!(invalid.as_deref(), Some("true"), "the field says it is invalid");
            wait_for_rows(&driver, &[]).await;
            if width == WIDTHS[0] {
                review_screenshots_at_both_widths(&driver, "list-resource-refused").await;
            }

            let resource = field(&driver, "Resource").await;
            resource.clear().await.expect("cleared");
            resource.send_keys("crew").await.expect("typed");
            resource.send_keys(Key::Enter).await.expect("sent");
            wait_for_rows(&driver, &["Crew writer", "Full access"]).await;
            assert!(
                message.text().await.unwrap_or_default().is_empty(),
                "the message is gone"
            );
            let invalid = field(&driver, "Resource")
                .await
                .attr("aria-invalid")
                .await
                .expect("attribute");
            assert_eq!(invalid, None);
        }
    })
    .await;
}
