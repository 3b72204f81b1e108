//! Usage counts reach the database even when one of them cannot.

use std::net::IpAddr;

use reqwest::Method;

use crate::management::{ADMIN, call};
use crate::on_both_backends;
use crate::support::{TestApp, TestKey};

on_both_backends!(a_usage_count_that_cannot_be_stored_does_not_hold_back_the_others);

async fn a_usage_count_that_cannot_be_stored_does_not_hold_back_the_others(app: TestApp) {
    let (org, _, admin) = app.org_with_api_key("Acme Aviation", ADMIN).await;
    // Used by no request: what it shows comes from this buffer alone.
    let (id, _) = app
        .add_api_key(
            &org,
            TestKey {
                name: "Counted",
                ..TestKey::default()
            },
        )
        .await;
    let buffer = keyward::auth::usage::UsageBuffer::default();
    let ip: IpAddr = "192.0.2.7".parse().expect("ip");
    let now = keyward::store::now();
    buffer.record(&id, &org.id, "allowed", ip, now);
    // A key whose row is gone: its bucket breaks the foreign key.
    buffer.record("0190a0a0-0000-7000-8000-000000000000", &org.id, "allowed", ip, now);
    // The first flush writes what it can; the next ones are not stuck on the bad row.
    let _ = buffer.flush(&app.db).await;
    buffer.record(&id, &org.id, "allowed", ip, now);
    let second = buffer.flush(&app.db).await;
    assert!(
        second.is_ok(),
        "a later flush is not failed by the earlier bad row: {second:?}"
    );

    let (status, usage) = call(&app, &admin, Method::GET, "/api/v1/usage?days=1", None).await;
    assert_eq!(status, 200, "{usage}");
    let keys = usage["keys"].as_array().expect("keys");
    let mine = keys
        .iter()
        .find(|k| k["id"] == id.as_str())
        .expect("the key's usage arrived");
    assert_eq!(mine["requests"].as_i64(), Some(2), "{usage}");
}
