//! Starts chromedriver and a headless Chromium session per test, saves a
//! screenshot when a test fails, and finds elements by role and label.

use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use thirtyfour::prelude::*;

use crate::support::{TestApp, missing};

/// Where screenshots go: under target/, beside the other test artifacts.
pub fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

fn executable(variable: &str, default: &str) -> Option<PathBuf> {
    let path = std::env::var_os(variable).map_or_else(|| PathBuf::from(default), PathBuf::from);
    path.exists().then_some(path)
}

/// chromedriver, killed when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Runs `body` in a fresh browser against a fresh server (SQLite); on
/// failure saves `<name>.png` first. Skips when the browser is missing.
pub async fn with_browser<F, Fut>(name: &str, body: F)
where
    F: FnOnce(WebDriver, TestApp) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let install = "Chromium and chromedriver (apt-get install -y chromium chromium-driver)";
    let (Some(chromedriver), Some(chromium)) = (
        executable("KEYWARD_CHROMEDRIVER", "/usr/bin/chromedriver"),
        executable("KEYWARD_CHROMIUM", "/usr/bin/chromium"),
    ) else {
        missing("browser", install);
        return;
    };
    let app = TestApp::spawn(keyward::store::Backend::Sqlite)
        .await
        .expect("SQLite is always there");
    let port = free_port();
    let _driver = Driver(
        Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let profile = tempfile::tempdir().expect("profile dir");
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(chromium.to_str().expect("utf-8 path"))
        .expect("binary");
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        &format!("--user-data-dir={}", profile.path().display()),
    ] {
        caps.add_arg(arg).expect("arg");
    }
    let driver = WebDriver::new(format!("http://127.0.0.1:{port}"), caps)
        .await
        .expect("a browser session");
    let result = tokio::spawn(body(driver.clone(), app)).await;
    if result.is_err() {
        let path = screenshot_dir().join(format!("{name}.png"));
        let _ = driver.screenshot(&path).await;
        eprintln!("screenshot of the failure: {}", path.display());
    }
    let _ = driver.quit().await;
    if let Err(error) = result {
        std::panic::resume_unwind(error.into_panic());
    }
}

pub async fn review_screenshot(driver: &WebDriver, name: &str) {
    driver
        .screenshot(&screenshot_dir().join(format!("review-{name}.png")))
        .await
        .expect("screenshot");
}

fn literal(text: &str) -> String {
    if text.contains('\'') {
        format!("\"{text}\"")
    } else {
        format!("'{text}'")
    }
}

async fn wait_for(driver: &WebDriver, xpath: String) -> WebElement {
    driver
        .query(By::XPath(xpath.clone()))
        .wait(Duration::from_secs(5), Duration::from_millis(50))
        .first()
        .await
        .unwrap_or_else(|e| panic!("nothing matches {xpath}: {e}"))
}

/// A button (or link with role=button) by its visible name.
pub async fn button(driver: &WebDriver, name: &str) -> WebElement {
    let name = literal(name);
    wait_for(
        driver,
        format!("(//button[normalize-space(.)={name}] | //a[@role='button' and normalize-space(.)={name}])[1]"),
    )
    .await
}

/// The same, inside a given container element found by XPath.
pub async fn button_in(driver: &WebDriver, container: &str, name: &str) -> WebElement {
    let name = literal(name);
    wait_for(
        driver,
        format!("({container}//button[normalize-space(.)={name}] | {container}//a[@role='button' and normalize-space(.)={name}])[1]"),
    )
    .await
}

/// A form control by its label's text (`<label for>` or a wrapping label).
pub async fn field(driver: &WebDriver, label: &str) -> WebElement {
    let label = literal(label);
    wait_for(
        driver,
        format!(
            "(//*[@id=//label[normalize-space(.)={label}]/@for] | //label[normalize-space(.)={label}]//input)[1]"
        ),
    )
    .await
}

pub async fn link(driver: &WebDriver, name: &str) -> WebElement {
    wait_for(driver, format!("//a[normalize-space(.)={}]", literal(name))).await
}

/// An open dialog by its accessible name (its `aria-labelledby` heading).
pub async fn dialog(driver: &WebDriver, name: &str) -> WebElement {
    wait_for(
        driver,
        format!(
            "//dialog[@open and .//*[@id='dialog-title' and normalize-space(.)={}]]",
            literal(name)
        ),
    )
    .await
}

/// Waits until the page shows `text`.
pub async fn sees(driver: &WebDriver, text: &str) {
    wait_for(
        driver,
        format!("//*[contains(normalize-space(.), {})]", literal(text)),
    )
    .await;
}

/// The row of the "API keys" table whose first cell is `name`.
pub fn key_row(name: &str) -> String {
    format!(
        "//table[@aria-label='API keys']//tr[td[1][normalize-space(.)={}]]",
        literal(name)
    )
}

pub async fn sign_in(driver: &WebDriver, app: &TestApp, email: &str) {
    driver.goto(app.url("/login")).await.expect("login page");
    field(driver, "Email")
        .await
        .send_keys(email)
        .await
        .expect("type");
    field(driver, "Password")
        .await
        .send_keys(crate::support::PASSWORD)
        .await
        .expect("type");
    button(driver, "Sign in")
        .await
        .click()
        .await
        .expect("click");
    wait_for(driver, "//button[normalize-space(.)='Sign out']".to_owned()).await;
}
