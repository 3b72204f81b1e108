//! Browser tests: the real server (on a fresh SQLite file) driven through
//! headless Chromium over WebDriver, one browser per test. Controls are found
//! by ARIA role, accessible name, label and visible text, the way QA scripts
//! find them (DESIGN.md, "Names QA relies on").
//!
//! Needs Debian's `chromium` and `chromium-driver` packages (or
//! `KEYWARD_CHROMIUM` / `KEYWARD_CHROMEDRIVER`); without them every test here
//! skips loudly, and `KEYWARD_TEST_REQUIRE=browser` makes that a failure.
//! A failing test leaves a screenshot in `target/tmp/screenshots/`.

#[path = "../support/mod.rs"]
mod support;

mod accessibility;
mod api_keys;
mod audit_log;
mod find;
mod harness;
mod key_filters;
mod list_actions;
mod new_keys;
mod page_health;
mod people;
mod sign_in;
mod step_up;
mod two_factor;
mod usage_chart;

fn main() -> std::process::ExitCode {
    support::run_registered_tests(1)
}
