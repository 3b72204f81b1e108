//! HTTP tests against the real server, on SQLite and (when configured)
//! PostgreSQL. One binary: each flow is a module.

#[path = "../support/mod.rs"]
mod support;

mod access;
mod api_keys;
mod contract;
mod csrf;
mod deleted_keys;
mod faults;
mod gateway;
mod health;
mod instances;
mod key_auth;
mod key_forms;
mod key_grants;
mod key_list;
mod key_names;
mod key_races;
mod list_feedback;
mod login;
mod logs;
mod management;
mod matrix;
mod metrics;
mod migrations;
mod new_keys;
mod openapi;
mod people;
mod reports;
mod sessions;
mod setup;
mod startup;
mod step_up;
mod two_factor;
mod usage_flush;

fn main() -> std::process::ExitCode {
    // Four a core: see run_registered_tests.
    support::run_registered_tests(4)
}
