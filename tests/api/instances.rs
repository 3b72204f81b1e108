//! Two instances of one deployment on one PostgreSQL database.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use keyward::domain::role::Role;
use keyward::store::Backend;
use keyward::store::schema::usage_buckets;

use crate::support::TestApp;

use crate::support::Part;

crate::tests!(needs Part::Postgres; several_instances_started_together_on_a_fresh_database_all_start);

crate::tests!(needs Part::Postgres; two_instances_share_keys_changes_and_usage);

async fn two_instances_share_keys_changes_and_usage() {
    let Some(a) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let b = a.another_instance().await;
    let org = a.create_org("Acme Aviation").await;
    a.create_user(&org, Role::SystemAdministrator, "sam@acme.test").await;

    // Created on A, through A's backoffice.
    let key = a.create_key_in_backoffice("sam@acme.test", "Sync").await;
    let base = "/backoffice/settings/api-keys";
    let csrf = a.csrf_token(&a.client, base).await;

    // Used on B.
    for _ in 0..3 {
        assert_eq!(b.get_with_key("/api/v1/me", &key).await.status().as_u16(), 200);
    }
    for _ in 0..2 {
        assert_eq!(a.get_with_key("/api/v1/me", &key).await.status().as_u16(), 200);
    }

    // The session made on A works on B too.
    let cookie_client = &a.client;
    let on_b = cookie_client.get(b.url("/backoffice")).send().await.expect("request");
    assert_eq!(on_b.status().as_u16(), 200, "sessions live in the shared database");

    // Disabled on A: refused on A at once, on B at its next look for changes.
    let id: String = a
        .query(|conn| {
            Ok(keyward::store::schema::api_keys::table
                .select(keyward::store::schema::api_keys::id)
                .first(conn)?)
        })
        .await;
    a.post_form(&a.client, &format!("{base}/{id}/disable"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(a.get_with_key("/api/v1/me", &key).await.status().as_u16(), 401);
    let disabled_at = Instant::now();
    let mut refused_after = None;
    let mut allowed_while_cached = 0;
    while disabled_at.elapsed() < Duration::from_secs(3) {
        if b.get_with_key("/api/v1/me", &key).await.status().as_u16() == 401 {
            refused_after = Some(disabled_at.elapsed());
            break;
        }
        allowed_while_cached += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let refused_after = refused_after.expect("B refuses the disabled key");
    eprintln!(
        "instance B refused the disabled key {} ms after A disabled it",
        refused_after.as_millis()
    );
    // Instances look for changes every 500 ms, well within the promised
    // second; the extra margin is for a loaded two-core test machine.
    assert!(refused_after < Duration::from_millis(1250), "{refused_after:?}");

    // Usage flushed by both instances adds up in one set of buckets.
    let mut counts: Vec<(String, i64)> = Vec::new();
    for _ in 0..50 {
        let key_id = id.clone();
        counts = a
            .query(move |conn| {
                Ok(usage_buckets::table
                    .filter(usage_buckets::api_key_id.eq(key_id))
                    .select((usage_buckets::outcome, usage_buckets::count))
                    .order(usage_buckets::outcome)
                    .load(conn)?)
            })
            .await;
        let allowed = counts.iter().find(|(o, _)| o == "allowed").map_or(0, |(_, n)| *n);
        let disabled = counts.iter().find(|(o, _)| o == "key_disabled").map_or(0, |(_, n)| *n);
        if allowed == 5 + allowed_while_cached && disabled >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let allowed = counts.iter().find(|(o, _)| o == "allowed").map_or(0, |(_, n)| *n);
    assert_eq!(
        allowed,
        5 + allowed_while_cached,
        "3 on B + 2 on A, and B's until it saw the change: {counts:?}"
    );
    assert!(counts.iter().any(|(o, n)| o == "key_disabled" && *n >= 2), "{counts:?}");
}

/// How long another instance may take to see a change: it looks every
/// 500 ms, with margin for a loaded two-core test machine.
const PROPAGATION_LIMIT: Duration = Duration::from_millis(1250);

/// Asks `instance` with `key` until it is refused; how long that took.
async fn refused_within(instance: &TestApp, key: &str, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if instance.get_with_key("/api/v1/me", key).await.status().as_u16() == 401 {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

crate::on_both_backends!(a_change_stamped_by_a_clock_far_behind_is_still_seen_by_other_instances);

async fn a_change_stamped_by_a_clock_far_behind_is_still_seen_by_other_instances(a: TestApp) {
    let b = a.another_instance().await;
    let (org, id, key) = a
        .org_with_api_key("Acme Aviation", crate::support::TestKey::default())
        .await;
    assert_eq!(
        b.get_with_key("/api/v1/me", &key).await.status().as_u16(),
        200,
        "B has it cached"
    );

    // Disabled by a writer whose clock is an hour behind.
    a.query(move |conn| {
        let an_hour_ago = keyward::store::now() - chrono::TimeDelta::hours(1);
        keyward::store::write_transaction(conn, |conn| {
            keyward::store::api_keys::set_enabled(conn, &org.id, &id, false, an_hour_ago)
        })?;
        Ok(())
    })
    .await;
    let refused_after = refused_within(&b, &key, Duration::from_secs(3)).await;
    assert!(
        refused_after.is_some_and(|after| after < PROPAGATION_LIMIT),
        "B must see the change whatever its timestamp says: {refused_after:?}"
    );
}

async fn several_instances_started_together_on_a_fresh_database_all_start() {
    let Some((url, _database)) = crate::support::test_database(Backend::Postgres) else {
        return;
    };
    let secret = keyward::domain::secret::ServerSecret::generate();
    let settings = || {
        let mut settings = crate::support::test_settings(url.clone());
        settings.secret = secret.clone();
        settings
    };
    let (first, second, third, fourth) = tokio::join!(
        keyward::startup::Application::build(settings()),
        keyward::startup::Application::build(settings()),
        keyward::startup::Application::build(settings()),
        keyward::startup::Application::build(settings()),
    );
    for (n, built) in [first, second, third, fourth].into_iter().enumerate() {
        if let Err(error) = built {
            panic!("instance {n} did not start: {error}");
        }
    }
}
