//! Lifecycle steps that race each other (PostgreSQL is the interesting
//! backend: SQLite's `BEGIN IMMEDIATE` serialises writers anyway), and the
//! rotation of an expired key.

use diesel::prelude::*;
use keyward::store::schema::{audit_events, key_secrets};
use reqwest::Method;
use serde_json::{Value, json};

use crate::management::{ADMIN, call};
use crate::on_both_backends;
use crate::support::{TestApp, TestKey};

on_both_backends!(
    a_rotation_waiting_on_an_uncommitted_revocation_is_refused,
    an_enable_waiting_on_an_uncommitted_revocation_is_refused_and_not_audited,
    rotating_an_expired_key_stops_its_old_secret_at_once,
    renewing_an_expired_key_by_editing_is_refused_so_its_old_secret_stays_ended,
    two_rotations_at_once_leave_one_secret_that_never_retires,
    a_rotation_racing_a_revocation_never_gives_a_revoked_key_a_new_secret,
    two_patches_at_once_both_take_effect
);

/// Runs `request` while key `id` is revoked by a transaction of the test's
/// own, committed only after `request` has had time to read the key and
/// reach its first write (which the open transaction holds up). Whatever the
/// timing, a correct step sees the revocation; a step that read the key
/// without locking it would act on the revoked key.
async fn during_an_uncommitted_revocation<T>(
    app: &TestApp,
    org_id: &str,
    id: &str,
    request: impl std::future::Future<Output = T>,
) -> T {
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (commit_tx, commit_rx) = std::sync::mpsc::channel::<()>();
    let (url, org_id, id) = (app.db_url.clone(), org_id.to_owned(), id.to_owned());
    let writer = std::thread::spawn(move || {
        let mut conn = keyward::store::establish(&url).expect("connect");
        keyward::store::write_transaction(&mut conn, |conn| {
            let revoked = keyward::store::api_keys::revoke(conn, &org_id, &id, keyward::store::now())?;
            assert_eq!(revoked, 1);
            ready_tx.send(()).expect("the test waits");
            commit_rx.recv().expect("the test says when to commit");
            Ok::<_, diesel::result::Error>(())
        })
        .expect("revoked");
    });
    ready_rx.await.expect("the revocation began");
    let (answer, ()) = tokio::join!(request, async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        commit_tx.send(()).expect("commit");
    });
    writer.join().expect("the revoking thread");
    answer
}

async fn a_rotation_waiting_on_an_uncommitted_revocation_is_refused(app: TestApp) {
    let (org, _, admin) = app.org_with_api_key("Acme Aviation", ADMIN).await;
    let (id, _) = app.add_api_key(&org, TARGET).await;
    let rotate = format!("/api/v1/api-keys/{id}/rotate");
    let (status, body) =
        during_an_uncommitted_revocation(&app, &org.id, &id, call(&app, &admin, Method::POST, &rotate, None)).await;
    assert_eq!(status, 409, "a revoked key gets no new secret: {body}");
    let key = id.clone();
    let secrets: i64 = app
        .query(move |conn| {
            Ok(key_secrets::table
                .filter(key_secrets::api_key_id.eq(key))
                .count()
                .get_result(conn)?)
        })
        .await;
    assert_eq!(secrets, 1);
}

async fn an_enable_waiting_on_an_uncommitted_revocation_is_refused_and_not_audited(app: TestApp) {
    let (org, _, admin) = app.org_with_api_key("Acme Aviation", ADMIN).await;
    let (id, _) = app.add_api_key(&org, TARGET).await;
    let (status, _) = call(
        &app,
        &admin,
        Method::POST,
        &format!("/api/v1/api-keys/{id}/disable"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let enable = format!("/api/v1/api-keys/{id}/enable");
    let (status, body) =
        during_an_uncommitted_revocation(&app, &org.id, &id, call(&app, &admin, Method::POST, &enable, None)).await;
    assert_eq!(status, 409, "{body}");
    let key = id.clone();
    let enable_events: i64 = app
        .query(move |conn| {
            Ok(audit_events::table
                .filter(audit_events::target_id.eq(key))
                .filter(audit_events::action.eq("api_key_enabled"))
                .count()
                .get_result(conn)?)
        })
        .await;
    assert_eq!(enable_events, 0, "an enable that did not happen is not audited");
}

/// How many times each race is run: one round rarely hits the window.
const ROUNDS: usize = 12;

const TARGET: TestKey = TestKey {
    name: "Flight sync",
    scopes: &["read:flights"],
    networks: "0.0.0.0/0\n::/0",
    allow_query_key: false,
};

async fn rotating_an_expired_key_stops_its_old_secret_at_once(app: TestApp) {
    let (org, _, admin) = app.org_with_api_key("Acme Aviation", ADMIN).await;
    let (id, old_secret) = app.add_api_key(&org, TARGET).await;
    let (org_id, key) = (org.id.clone(), id.clone());
    app.query(move |conn| {
        let yesterday = keyward::store::now() - chrono::TimeDelta::days(1);
        keyward::store::api_keys::set_expiry(conn, &org_id, &key, Some(yesterday), keyward::store::now())?;
        Ok(())
    })
    .await;
    assert_eq!(app.get_with_key("/api/v1/me", &old_secret).await.status().as_u16(), 401);

    let (status, rotated) = call(
        &app,
        &admin,
        Method::POST,
        &format!("/api/v1/api-keys/{id}/rotate"),
        Some(json!({ "grace_period": "24h", "expires_at": "2099-01-31" })),
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["secret"].as_str().expect("the new secret");
    assert_eq!(app.get_with_key("/api/v1/me", new_secret).await.status().as_u16(), 200);
    let response = app.get_with_key("/api/v1/me", &old_secret).await;
    assert_eq!(
        response.status().as_u16(),
        401,
        "the secret of an expired key must not come back for the grace period"
    );
}

async fn renewing_an_expired_key_by_editing_is_refused_so_its_old_secret_stays_ended(app: TestApp) {
    let (org, _, admin) = app.org_with_api_key("Acme Aviation", ADMIN).await;
    let (id, old_secret) = app.add_api_key(&org, TARGET).await;
    let (org_id, key) = (org.id.clone(), id.clone());
    app.query(move |conn| {
        let yesterday = keyward::store::now() - chrono::TimeDelta::days(1);
        keyward::store::api_keys::set_expiry(conn, &org_id, &key, Some(yesterday), keyward::store::now())?;
        Ok(())
    })
    .await;
    let path = format!("/api/v1/api-keys/{id}");
    let (status, problem) = call(
        &app,
        &admin,
        Method::PATCH,
        &path,
        Some(json!({ "expires_at": "2099-01-31" })),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("expired_key")),
        "{problem}"
    );
    assert!(
        problem["detail"].as_str().is_some_and(|d| d.contains("rotate it")),
        "{problem}"
    );
    assert_eq!(app.get_with_key("/api/v1/me", &old_secret).await.status().as_u16(), 401);
    // Renaming it, expiry untouched, is still fine.
    let (status, renamed) = call(&app, &admin, Method::PATCH, &path, Some(json!({ "name": "Old sync" }))).await;
    assert_eq!((status, renamed["name"].as_str()), (200, Some("Old sync")), "{renamed}");
}

/// Secrets of `id` that never retire.
async fn never_retiring_secrets(app: &TestApp, id: &str) -> i64 {
    let id = id.to_owned();
    app.query(move |conn| {
        Ok(key_secrets::table
            .filter(key_secrets::api_key_id.eq(id))
            .filter(key_secrets::not_after.is_null())
            .count()
            .get_result(conn)?)
    })
    .await
}

async fn two_rotations_at_once_leave_one_secret_that_never_retires(app: TestApp) {
    let (org, _, admin) = app.org_with_api_key("Acme Aviation", ADMIN).await;
    for round in 0..ROUNDS {
        let (id, _) = app
            .add_api_key(
                &org,
                TestKey {
                    name: Box::leak(format!("Rotated {round}").into_boxed_str()),
                    ..TARGET
                },
            )
            .await;
        let path = format!("/api/v1/api-keys/{id}/rotate");
        let body = json!({ "grace_period": "1h" });
        let (first, second) = tokio::join!(
            call(&app, &admin, Method::POST, &path, Some(body.clone())),
            call(&app, &admin, Method::POST, &path, Some(body.clone())),
        );
        assert_eq!((first.0, second.0), (200, 200), "round {round}: {first:?} {second:?}");
        assert_eq!(
            never_retiring_secrets(&app, &id).await,
            1,
            "round {round}: only the newest secret lives on"
        );
    }
}

async fn a_rotation_racing_a_revocation_never_gives_a_revoked_key_a_new_secret(app: TestApp) {
    let (org, _, admin) = app.org_with_api_key("Acme Aviation", ADMIN).await;
    for round in 0..ROUNDS {
        let (id, _) = app
            .add_api_key(
                &org,
                TestKey {
                    name: Box::leak(format!("Raced {round}").into_boxed_str()),
                    ..TARGET
                },
            )
            .await;
        let (rotate, revoke) = (
            format!("/api/v1/api-keys/{id}/rotate"),
            format!("/api/v1/api-keys/{id}/revoke"),
        );
        let (rotated, revoked) = tokio::join!(
            call(&app, &admin, Method::POST, &rotate, None),
            call(&app, &admin, Method::POST, &revoke, None),
        );
        assert_eq!(revoked.0, 200, "round {round}: {revoked:?}");
        match rotated.0 {
            // Rotated first: the new secret belongs to a key that was live.
            200 => assert_eq!(rotated.1["status"], "active", "round {round}: {}", rotated.1),
            // Revoked first: no new secret.
            409 => {
                let key = id.clone();
                let secrets: i64 = app
                    .query(move |conn| {
                        Ok(key_secrets::table
                            .filter(key_secrets::api_key_id.eq(key))
                            .count()
                            .get_result(conn)?)
                    })
                    .await;
                assert_eq!(secrets, 1, "round {round}");
            }
            other => panic!("round {round}: rotation answered {other}: {}", rotated.1),
        }
    }
}

async fn two_patches_at_once_both_take_effect(app: TestApp) {
    let (org, _, admin) = app.org_with_api_key("Acme Aviation", ADMIN).await;
    for round in 0..ROUNDS {
        let (id, _) = app
            .add_api_key(
                &org,
                TestKey {
                    name: Box::leak(format!("Patched {round}").into_boxed_str()),
                    ..TARGET
                },
            )
            .await;
        let path = format!("/api/v1/api-keys/{id}");
        let new_name = format!("Renamed {round}");
        let (renamed, rescoped) = tokio::join!(
            call(&app, &admin, Method::PATCH, &path, Some(json!({ "name": new_name }))),
            call(
                &app,
                &admin,
                Method::PATCH,
                &path,
                Some(json!({ "scopes": ["write:flights"] }))
            ),
        );
        assert_eq!((renamed.0, rescoped.0), (200, 200), "round {round}");
        let (_, key): (u16, Value) = call(&app, &admin, Method::GET, &path, None).await;
        assert_eq!(
            key["name"],
            new_name.as_str(),
            "round {round}: the rename was lost: {key}"
        );
        assert_eq!(
            key["scopes"],
            json!(["write:flights"]),
            "round {round}: the scopes were lost: {key}"
        );
    }
}
