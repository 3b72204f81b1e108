//! Finding things the way QA does: by ARIA role and accessible name, by
//! label, by visible text, never by CSS class or layout. WebDriver has no
//! role locator, so each role is spelled out once here as XPath, covering the
//! native element and its `role=` equivalent. An accessible name is taken as
//! the element's text or its `aria-label`; `aria-labelledby` is followed for
//! fields and dialogs. Every finder waits up to [`WAIT`] for a *visible*
//! match and panics with what it looked for.

use std::time::{Duration, Instant};

use thirtyfour::prelude::*;

/// How long an element may take to appear (htmx swaps included).
pub const WAIT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(50);

/// `text` as an XPath string literal, whatever quotes it contains.
pub fn literal(text: &str) -> String {
    if !text.contains('\'') {
        format!("'{text}'")
    } else if !text.contains('"') {
        format!("\"{text}\"")
    } else {
        let parts: Vec<String> = text.split('\'').map(|part| format!("'{part}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

/// XPath predicate: the element's accessible name is `name`.
fn named(name: &str) -> String {
    let name = literal(name);
    format!(
        "[normalize-space(.)={name} or @aria-label={name} \
         or (self::input and @value={name}) \
         or @aria-labelledby=//*[normalize-space(.)={name}]/@id]"
    )
}

const BUTTONS: &str = "*[self::button or @role='button' \
     or self::input[@type='submit' or @type='button' or @type='reset']]";

/// The first visible element matching `xpath`, waiting up to [`WAIT`],
/// scrolled to the middle of its scroll box: chromedriver clicks an element
/// the window shows without scrolling, even when a dialog's sticky footer
/// covers it, where a person (or Playwright, which retries) scrolls first.
pub async fn visible(driver: &WebDriver, xpath: String, what: &str) -> WebElement {
    let element = driver
        .query(By::XPath(xpath))
        .desc(what)
        .wait(WAIT, POLL)
        // A match may go stale while htmx swaps it; keep polling.
        .ignore_errors(true)
        .and_displayed()
        .first()
        .await
        .unwrap_or_else(|error| panic!("no visible {what} within {WAIT:?}: {error}"));
    // Best effort: the element may be swapped out in the meantime.
    let _ = element.scroll_into_view().await;
    element
}

/// A button (`<button>`, `role="button"`, submit input) by its name.
pub async fn button(driver: &WebDriver, name: &str) -> WebElement {
    visible(
        driver,
        format!("//{BUTTONS}{}", named(name)),
        &format!("button named {name:?}"),
    )
    .await
}

/// A button by its name, inside the element(s) `container` (an XPath).
pub async fn button_in(driver: &WebDriver, container: &str, name: &str) -> WebElement {
    visible(
        driver,
        format!("({container})//{BUTTONS}{}", named(name)),
        &format!("button named {name:?} in {container}"),
    )
    .await
}

/// An item of an open menu (`role="menuitem"`) by its name.
pub async fn menuitem(driver: &WebDriver, name: &str) -> WebElement {
    visible(
        driver,
        format!("//*[@role='menu']//*[@role='menuitem']{}", named(name)),
        &format!("menuitem named {name:?}"),
    )
    .await
}

/// A disclosure's `<summary>` by its name: browsers expose it as a button,
/// but ARIA gives it no role (Playwright finds it by text, not role).
pub async fn disclosure(driver: &WebDriver, name: &str) -> WebElement {
    visible(
        driver,
        format!("//details/summary{}", named(name)),
        &format!("disclosure named {name:?}"),
    )
    .await
}

/// A link by its name (anchors styled as buttons are buttons, not links).
pub async fn link(driver: &WebDriver, name: &str) -> WebElement {
    visible(
        driver,
        format!(
            "//*[(self::a[@href] and (not(@role) or @role='link')) or @role='link']{}",
            named(name)
        ),
        &format!("link named {name:?}"),
    )
    .await
}

/// A heading of `level` (`<h1>`–`<h6>` or `role="heading"` with
/// `aria-level`) by its text.
pub async fn heading(driver: &WebDriver, level: u8, name: &str) -> WebElement {
    visible(
        driver,
        format!(
            "//*[self::h{level} or (@role='heading' and @aria-level='{level}')]{}",
            named(name)
        ),
        &format!("level {level} heading {name:?}"),
    )
    .await
}

/// The page's main landmark (`<main>` or `role="main"`).
pub async fn main_content(driver: &WebDriver) -> WebElement {
    visible(driver, "//*[self::main or @role='main']".to_owned(), "main landmark").await
}

/// A form control by its label: `<label for>`, a wrapping `<label>`,
/// `aria-label` or `aria-labelledby`.
pub async fn field(driver: &WebDriver, label: &str) -> WebElement {
    let text = literal(label);
    visible(
        driver,
        format!(
            "//*[self::input or self::select or self::textarea][\
             @id=//label[normalize-space(.)={text}]/@for \
             or ancestor::label[normalize-space(.)={text}] \
             or @aria-label={text} \
             or @aria-labelledby=//*[normalize-space(.)={text}]/@id]"
        ),
        &format!("field labelled {label:?}"),
    )
    .await
}

/// An open dialog (`<dialog open>` or `role="dialog"`) by its accessible name.
pub async fn dialog(driver: &WebDriver, name: &str) -> WebElement {
    let name_text = literal(name);
    visible(
        driver,
        format!(
            "//*[self::dialog[@open] or @role='dialog'][@aria-label={name_text} \
             or @aria-labelledby=//*[normalize-space(.)={name_text}]/@id]"
        ),
        &format!("dialog named {name:?}"),
    )
    .await
}

/// The visible element with `role="alert"` (an error the page announces).
pub async fn alert(driver: &WebDriver) -> WebElement {
    visible(driver, "//*[@role='alert']".to_owned(), "alert").await
}

/// The visible element with `role="status"` (a notice the page announces).
pub async fn status(driver: &WebDriver) -> WebElement {
    visible(driver, "//*[@role='status']".to_owned(), "status message").await
}

/// Waits until the page's visible text contains `text`.
pub async fn sees(driver: &WebDriver, text: &str) {
    let deadline = Instant::now() + WAIT;
    let mut shown = String::new();
    while Instant::now() < deadline {
        // The body is replaced while a page loads; try again.
        if let Ok(body) = driver.find(By::Tag("body")).await
            && let Ok(visible_text) = body.text().await
        {
            if visible_text.contains(text) {
                return;
            }
            shown = visible_text;
        }
        tokio::time::sleep(POLL).await;
    }
    panic!("the page did not show {text:?} within {WAIT:?}; it shows:\n{shown}");
}

/// XPath of the row of the table named "API keys" whose first cell is `name`.
pub fn key_row(name: &str) -> String {
    format!(
        "//table[@aria-label='API keys' or @aria-labelledby=//*[normalize-space(.)='API keys']/@id]\
         //tr[*[1][self::td or self::th][normalize-space(.)={}]]",
        literal(name)
    )
}

mod tests {
    use super::literal;

    crate::sync_tests!(any_text_becomes_an_xpath_literal);

    fn any_text_becomes_an_xpath_literal() {
        assert_eq!(literal("Sign in"), "'Sign in'");
        assert_eq!(literal("Ada's keys"), "\"Ada's keys\"");
        assert_eq!(literal(r#"Ada's "keys""#), r#"concat('Ada', "'", 's "keys"')"#);
    }
}
