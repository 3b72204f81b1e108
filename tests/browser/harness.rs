//! One fresh server and one fresh headless Chromium per test: chromedriver on
//! a free port (killed when the test ends), a throw-away browser profile, a
//! screenshot of the page when the test fails, and the browser's console log
//! for the tests that check it.

use std::any::Any;
use std::future::Future;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use keyward::store::Backend;
use thirtyfour::LoggingPrefsLogLevel;
use thirtyfour::prelude::*;

use crate::find::{button, field};
use crate::support::{self, PASSWORD, TestApp};

/// Past this a test counts as hung: it fails (with a screenshot) instead of
/// blocking the run.
const TEST_TIMEOUT: Duration = Duration::from_secs(120);

/// How long chromedriver may take to listen on its port.
const CHROMEDRIVER_START: Duration = Duration::from_secs(10);

/// Headless, quiet and self-contained: no sandbox (CI containers run as
/// root), no GPU, no /dev/shm (small in containers), nothing fetched in the
/// background that could make a test slow or flaky.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
];

/// Runs `body` against a fresh server (SQLite) in a fresh headless Chromium.
///
/// The body runs in its own task so that a panic in it can be caught: the
/// page is then saved as `screenshots/<test name>.png` before the browser
/// quits and the panic is raised again. The browser always quits. Skips (or
/// fails, under `KEYWARD_TEST_REQUIRE=browser`) when Chromium is missing:
/// the harness decides that before the test runs.
pub async fn with_browser<F, Fut>(body: F)
where
    F: FnOnce(WebDriver, TestApp) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let test = test_name();
    let browser = Executables::find();
    let app = TestApp::spawn(Backend::Sqlite)
        .await
        .expect("SQLite is always available");
    let chromedriver = Chromedriver::start(&browser.chromedriver).await;
    let profile = tempfile::tempdir().expect("a directory for the Chromium profile");
    let driver = start_session(&chromedriver, &browser.chromium, profile.path()).await;

    let mut task = tokio::spawn(body(driver.clone(), app));
    let failure = match tokio::time::timeout(TEST_TIMEOUT, &mut task).await {
        Ok(Ok(())) => None,
        Ok(Err(error)) if error.is_panic() => Some(Failure::Panicked(error.into_panic())),
        Ok(Err(error)) => Some(Failure::Stopped(format!("the test was cancelled: {error}"))),
        Err(_elapsed) => {
            task.abort();
            Some(Failure::Stopped(format!(
                "{test} did not finish within {TEST_TIMEOUT:?}"
            )))
        }
    };

    if failure.is_some() {
        save_failure_evidence(&driver, &test).await;
    }
    let quit = driver.quit().await;
    match failure {
        None => quit.expect("the browser quits cleanly"),
        Some(failure) => {
            if let Err(error) = quit {
                eprintln!("the browser did not quit cleanly either: {error}");
            }
            match failure {
                // Its message was printed when it happened.
                Failure::Panicked(payload) => std::panic::resume_unwind(payload),
                Failure::Stopped(message) => panic!("{message}"),
            }
        }
    }
}

/// Why a test body did not complete.
enum Failure {
    Panicked(Box<dyn Any + Send>),
    Stopped(String),
}

/// The running test's function name. libtest runs every test on a thread
/// named after its path (`sign_in::signing_out_returns_to_the_login_page`).
fn test_name() -> String {
    std::thread::current()
        .name()
        .and_then(|path| path.rsplit("::").next())
        .filter(|name| !name.is_empty() && *name != "main")
        .unwrap_or("browser_test")
        .to_owned()
}

/// Where the Chromium and chromedriver binaries are.
struct Executables {
    chromium: PathBuf,
    chromedriver: PathBuf,
}

impl Executables {
    /// Both binaries; the harness ignores (or fails) browser tests before
    /// they get here when either is missing.
    fn find() -> Self {
        if let Some(why) = support::Part::Browser.unavailable() {
            support::missing("browser", &why);
        }
        Self {
            chromium: support::chromium_path(),
            chromedriver: support::chromedriver_path(),
        }
    }
}

/// A chromedriver process on its own port, killed when dropped (also when
/// the test panics).
struct Chromedriver {
    process: Child,
    port: u16,
}

impl Chromedriver {
    async fn start(path: &Path) -> Self {
        let port = support::free_port();
        let process = Command::new(path)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", path.display()));
        let mut chromedriver = Self { process, port };
        chromedriver.wait_until_listening().await;
        chromedriver
    }

    async fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + CHROMEDRIVER_START;
        loop {
            if tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, self.port))
                .await
                .is_ok()
            {
                return;
            }
            if let Some(status) = self.process.try_wait().expect("chromedriver's status can be read") {
                panic!("chromedriver exited before listening on port {}: {status}", self.port);
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on port {} within {CHROMEDRIVER_START:?}",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // It may have exited already; either way, reap it.
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A new headless Chromium session whose console log can be read.
async fn start_session(chromedriver: &Chromedriver, chromium: &Path, profile: &Path) -> WebDriver {
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(chromium.to_str().expect("the Chromium path is UTF-8"))
        .expect("the binary capability");
    for arg in CHROMIUM_ARGS {
        caps.add_arg(arg).expect("a Chromium argument");
    }
    caps.add_arg(&format!("--user-data-dir={}", profile.display()))
        .expect("the profile argument");
    caps.set_browser_log_level(LoggingPrefsLogLevel::All)
        .expect("the logging capability");
    WebDriver::new(chromedriver.url(), caps)
        .await
        .unwrap_or_else(|error| panic!("chromedriver could not start Chromium: {error}"))
}

/// The screenshot and console log of a failed test, best effort: the browser
/// may be what failed.
async fn save_failure_evidence(driver: &WebDriver, test: &str) {
    let path = screenshot_path(test);
    match driver.screenshot(&path).await {
        Ok(()) => eprintln!("screenshot of the failure: {}", path.display()),
        Err(error) => eprintln!("no screenshot of the failure: {error}"),
    }
    if let Ok(url) = driver.current_url().await {
        eprintln!("the browser was on {url}");
    }
    if let Ok(entries) = driver.get_log("browser").await {
        for entry in entries {
            eprintln!("console {}: {}", entry.level, entry.message);
        }
    }
}

/// `<target>/tmp/screenshots/<name>.png`, the directory created.
fn screenshot_path(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap_or_else(|error| panic!("cannot create {}: {error}", dir.display()));
    dir.join(format!("{name}.png"))
}

/// Saves the whole page, beyond the viewport too, as
/// `screenshots/review-<name>.png` for people to look at (not an assertion),
/// through the DevTools protocol (WebDriver shows only the viewport).
pub async fn review_screenshot_full_page(driver: &WebDriver, name: &str) {
    use base64::Engine as _;
    let cdp = driver.cdp();
    let metrics = cdp
        .send_raw("Page.getLayoutMetrics", serde_json::json!({}))
        .await
        .expect("the page's layout metrics");
    let size = &metrics["cssContentSize"];
    let (width, height) = (
        size["width"].as_f64().unwrap_or(1280.0),
        size["height"].as_f64().unwrap_or(900.0),
    );
    let shot = cdp
        .send_raw(
            "Page.captureScreenshot",
            serde_json::json!({
                "format": "png",
                "captureBeyondViewport": true,
                "clip": { "x": 0, "y": 0, "width": width, "height": height, "scale": 1 },
            }),
        )
        .await
        .expect("a screenshot of the page");
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().expect("the screenshot's data"))
        .expect("the screenshot is base64");
    let path = screenshot_path(&format!("review-{name}"));
    std::fs::write(&path, png).unwrap_or_else(|error| panic!("cannot save {}: {error}", path.display()));
}

/// Saves the page as `screenshots/review-<name>.png` for people to look at
/// (not an assertion).
pub async fn review_screenshot(driver: &WebDriver, name: &str) {
    let path = screenshot_path(&format!("review-{name}"));
    driver
        .screenshot(&path)
        .await
        .unwrap_or_else(|error| panic!("cannot save {}: {error}", path.display()));
}

/// The console's error-level messages since the last call (each call drains
/// the buffer): CSP violations, failed integrity checks, uncaught
/// exceptions, failed loads.
pub async fn console_errors(driver: &WebDriver) -> Vec<String> {
    driver
        .get_log("browser")
        .await
        .expect("chromedriver serves the browser's console log")
        .into_iter()
        .filter(|entry| entry.level == "SEVERE")
        .map(|entry| entry.message)
        .collect()
}

/// Signs in through the login form as `email` (with the fixtures' password)
/// and waits for the signed-in page.
pub async fn sign_in(driver: &WebDriver, app: &TestApp, email: &str) {
    sign_in_with(driver, app, email, PASSWORD).await;
}

/// Signs in through the login form as `email` with `password` and waits for
/// the signed-in page.
pub async fn sign_in_with(driver: &WebDriver, app: &TestApp, email: &str, password: &str) {
    driver.goto(app.url("/login")).await.expect("the login page opens");
    field(driver, "Email")
        .await
        .send_keys(email)
        .await
        .expect("the email is typed");
    field(driver, "Password")
        .await
        .send_keys(password)
        .await
        .expect("the password is typed");
    button(driver, "Sign in")
        .await
        .click()
        .await
        .expect("Sign in is clicked");
    button(driver, "Sign out").await;
}
