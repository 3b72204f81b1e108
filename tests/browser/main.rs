//! Browser tests: the real server driven through headless Chromium over
//! WebDriver (chromedriver), finding controls by role, label and text the way
//! QA scripts do. Skipped loudly when Chromium or chromedriver is missing;
//! `KEYWARD_TEST_REQUIRE=browser` makes that a failure.

#[path = "../support/mod.rs"]
mod support;

mod api_keys;
mod harness;
mod sign_in;
