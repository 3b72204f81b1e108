//! Requests authenticated by API keys: where the key may come from, the order
//! of the checks, their problem+json answers, and what is recorded.

use std::time::Duration;

use diesel::prelude::*;
use keyward::domain::role::Role;
use keyward::store::schema::{api_keys, usage_buckets};

use crate::on_both_backends;
use crate::support::{TestApp, TestKey};

on_both_backends!(
    a_valid_key_in_the_header_or_as_bearer_identifies_the_caller,
    missing_and_malformed_keys_get_problem_answers,
    the_query_parameter_works_only_for_keys_that_allow_it,
    backoffice_changes_apply_to_the_very_next_request,
    a_rotated_out_secret_works_until_its_grace_period_ends,
    networks_are_matched_per_address_family,
    scopes_are_enforced_and_named,
    verify_answers_for_keys_of_the_callers_organization_only,
    verify_refuses_bad_bodies_with_problems,
    usage_and_last_use_are_flushed_without_a_write_per_request
);

async fn problem(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "{}",
        response.url()
    );
    (status, response.json().await.expect("json"))
}

async fn a_valid_key_in_the_header_or_as_bearer_identifies_the_caller(app: TestApp) {
    let (org, id, key) = app.org_with_api_key("Acme Aviation", TestKey::default()).await;
    let me = app.get_with_key("/api/v1/me", &key).await;
    assert_eq!(me.status().as_u16(), 200);
    let me: serde_json::Value = me.json().await.expect("json");
    assert_eq!(me["organization"]["name"], "Acme Aviation");
    assert_eq!(me["organization"]["id"], org.id.as_str());
    assert_eq!(me["id"], id.as_str());
    assert_eq!(me["key_id"], &key[4..16]);
    assert_eq!(me["scopes"][0], "*:*");
    let bearer = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("request");
    assert_eq!(bearer.status().as_u16(), 200);
}

async fn missing_and_malformed_keys_get_problem_answers(app: TestApp) {
    let (_, _, key) = app.org_with_api_key("Acme Aviation", TestKey::default()).await;
    let missing = app.client.get(app.url("/api/v1/me")).send().await.expect("request");
    assert!(
        missing.headers()["www-authenticate"]
            .to_str()
            .expect("ascii")
            .contains("missing_key")
    );
    let (status, body) = problem(missing).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("missing_key")));

    let mut typo = key.clone().into_bytes();
    typo[20] = if typo[20] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).expect("ascii");
    let unknown = keyward::domain::token::ApiKeyToken::generate();
    for bad in [
        typo.as_str(),
        "ask_short",
        " ",
        &"x".repeat(10_000),
        unknown.expose(),
        &format!("{} {}", &key[..30], &key[31..]),
    ] {
        let (status, body) = problem(app.get_with_key("/api/v1/me", bad).await).await;
        assert_eq!(status, 401, "{}", &bad[..bad.len().min(20)]);
        assert!(
            matches!(body["code"].as_str(), Some("invalid_key" | "missing_key")),
            "{body}"
        );
    }
    let conflict = app
        .client
        .get(app.url("/api/v1/me"))
        .header("X-API-Key", &key)
        .bearer_auth(unknown.expose())
        .send()
        .await
        .expect("request");
    let (status, body) = problem(conflict).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("conflicting_keys")));
    let (status, body) = problem(app.get_with_key("/api/v1/nothing-here", &key).await).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
}

async fn the_query_parameter_works_only_for_keys_that_allow_it(app: TestApp) {
    let (org, _, header_only) = app.org_with_api_key("Acme Aviation", TestKey::default()).await;
    let refused = app
        .client
        .get(app.url(&format!("/api/v1/me?api_key={header_only}")))
        .send()
        .await
        .expect("request");
    let (status, body) = problem(refused).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("query_key_not_allowed")));
    assert!(body["detail"].as_str().expect("detail").contains("X-API-Key header"));

    let (_, query_key) = app
        .add_api_key(
            &org,
            TestKey {
                name: "Legacy poller",
                allow_query_key: true,
                ..TestKey::default()
            },
        )
        .await;
    let allowed = app
        .client
        .get(app.url(&format!("/api/v1/me?api_key={query_key}")))
        .send()
        .await
        .expect("request");
    assert_eq!(allowed.status().as_u16(), 200);
    let repeated = app
        .client
        .get(app.url(&format!("/api/v1/me?api_key={query_key}&api_key={header_only}")))
        .send()
        .await
        .expect("request");
    assert_eq!(problem(repeated).await.1["code"], "conflicting_keys");
}

async fn backoffice_changes_apply_to_the_very_next_request(app: TestApp) {
    let org = app.create_org("Acme Aviation").await;
    app.create_user(&org, Role::SystemAdministrator, "sam@acme.test").await;
    let key = app.create_key_in_backoffice("sam@acme.test", "Sync").await;
    let base = "/backoffice/settings/api-keys";
    let csrf = app.csrf_token(&app.client, base).await;
    let id: String = app
        .query(|conn| Ok(api_keys::table.select(api_keys::id).first(conn)?))
        .await;

    assert_eq!(
        app.get_with_key("/api/v1/me", &key).await.status().as_u16(),
        200,
        "now cached"
    );
    app.post_form(&app.client, &format!("{base}/{id}/disable"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(
        problem(app.get_with_key("/api/v1/me", &key).await).await.1["code"],
        "key_disabled"
    );
    app.post_form(&app.client, &format!("{base}/{id}/enable"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(app.get_with_key("/api/v1/me", &key).await.status().as_u16(), 200);
    app.post_form(&app.client, &format!("{base}/{id}/revoke"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(
        problem(app.get_with_key("/api/v1/me", &key).await).await.1["code"],
        "key_revoked"
    );
    app.post_form(&app.client, &format!("{base}/{id}/delete"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(
        problem(app.get_with_key("/api/v1/me", &key).await).await.1["code"],
        "invalid_key"
    );
}

/// Rotates through the lifecycle on the database (not through the server).
async fn rotate(app: &TestApp, org_id: &str, id: &str, grace: keyward::service::keys::GracePeriod) -> String {
    let (secret, org_id, id) = (app.secret.clone(), org_id.to_owned(), id.to_owned());
    app.db
        .transaction(move |conn| {
            let rotation = keyward::service::keys::Rotation {
                grace,
                new_expiry: None,
            };
            let actor = keyward::domain::audit::Actor::Cli;
            Ok::<_, keyward::error::AppError>(
                keyward::service::keys::rotate(conn, &secret, &org_id, &id, rotation, &actor, None)?
                    .1
                    .expose()
                    .to_owned(),
            )
        })
        .await
        .expect("rotated")
}

async fn a_rotated_out_secret_works_until_its_grace_period_ends(app: TestApp) {
    let (org, id, old) = app.org_with_api_key("Acme Aviation", TestKey::default()).await;
    let newer = rotate(&app, &org.id, &id, keyward::service::keys::GracePeriod::OneHour).await;
    assert_eq!(
        app.get_with_key("/api/v1/me", &old).await.status().as_u16(),
        200,
        "within the grace period"
    );
    assert_eq!(app.get_with_key("/api/v1/me", &newer).await.status().as_u16(), 200);
    let newest = rotate(&app, &org.id, &id, keyward::service::keys::GracePeriod::Now).await;
    // Rotated on the database directly, as another instance would: seen at the next change poll.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = problem(app.get_with_key("/api/v1/me", &newer).await).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("key_expired")));
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains("replaced by a rotation")
    );
    assert_eq!(app.get_with_key("/api/v1/me", &newest).await.status().as_u16(), 200);
}

async fn networks_are_matched_per_address_family(app: TestApp) {
    let (_, _, v4_elsewhere) = app
        .org_with_api_key(
            "Acme Aviation",
            TestKey {
                networks: "10.0.0.0/8",
                ..TestKey::default()
            },
        )
        .await;
    let (status, body) = problem(app.get_with_key("/api/v1/me", &v4_elsewhere).await).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("ip_not_allowed")));
    assert!(body["detail"].as_str().expect("detail").contains("127.0.0.1"));
    let (_, _, v6_only) = app
        .org_with_api_key(
            "Globex Airways",
            TestKey {
                networks: "::/0",
                ..TestKey::default()
            },
        )
        .await;
    assert_eq!(
        problem(app.get_with_key("/api/v1/me", &v6_only).await).await.1["code"],
        "ip_not_allowed"
    );
    let (_, _, loopback) = app
        .org_with_api_key(
            "Initech Air",
            TestKey {
                networks: "127.0.0.0/8",
                ..TestKey::default()
            },
        )
        .await;
    assert_eq!(app.get_with_key("/api/v1/me", &loopback).await.status().as_u16(), 200);
    // X-Forwarded-For is not believed from an untrusted peer.
    let forwarded = app
        .client
        .get(app.url("/api/v1/me"))
        .header("X-API-Key", &v4_elsewhere)
        .header("X-Forwarded-For", "10.1.2.3")
        .send()
        .await
        .expect("request");
    assert_eq!(forwarded.status().as_u16(), 403);
}

async fn scopes_are_enforced_and_named(app: TestApp) {
    let (_, _, reader) = app
        .org_with_api_key(
            "Acme Aviation",
            TestKey {
                scopes: &["read:assets"],
                ..TestKey::default()
            },
        )
        .await;
    let body = serde_json::json!({ "key": reader, "action": "read", "resource": "assets", "client_ip": "10.0.0.1" });
    let refused = app
        .client
        .post(app.url("/api/v1/verify"))
        .header("X-API-Key", &reader)
        .json(&body)
        .send()
        .await
        .expect("request");
    let (status, problem_body) = problem(refused).await;
    assert_eq!(
        (status, problem_body["code"].as_str()),
        (403, Some("insufficient_scope"))
    );
    assert!(
        problem_body["detail"]
            .as_str()
            .expect("detail")
            .contains("read on verify")
    );
    assert_eq!(
        app.get_with_key("/api/v1/me", &reader).await.status().as_u16(),
        200,
        "any valid key may ask who it is"
    );
}

async fn verify(app: &TestApp, caller: &str, body: serde_json::Value) -> serde_json::Value {
    let response = app
        .client
        .post(app.url("/api/v1/verify"))
        .header("X-API-Key", caller)
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.expect("json")
}

async fn verify_answers_for_keys_of_the_callers_organization_only(app: TestApp) {
    let (org, _, service) = app
        .org_with_api_key(
            "Acme Aviation",
            TestKey {
                scopes: &["read:verify"],
                ..TestKey::default()
            },
        )
        .await;
    let (_, client_key) = app
        .add_api_key(
            &org,
            TestKey {
                name: "Registry client",
                scopes: &["read:registries/private"],
                networks: "10.0.0.0/8",
                allow_query_key: false,
            },
        )
        .await;
    let ok = verify(
        &app,
        &service,
        serde_json::json!({ "key": client_key, "action": "read", "resource": "registries/private/items/42", "client_ip": "10.1.2.3" }),
    )
    .await;
    assert_eq!(ok["allowed"], true);
    assert_eq!(ok["key_id"], &client_key[4..16]);
    for (action, resource, ip, code) in [
        ("write", "registries/private/items/42", "10.1.2.3", "insufficient_scope"),
        ("read", "registries/public", "10.1.2.3", "insufficient_scope"),
        ("read", "registries/private", "192.0.2.1", "ip_not_allowed"),
        ("read", "registries/private", "::ffff:10.9.9.9", "ok"),
    ] {
        let verdict = verify(
            &app,
            &service,
            serde_json::json!({ "key": client_key, "action": action, "resource": resource, "client_ip": ip }),
        )
        .await;
        assert_eq!(verdict["code"], code, "{action} {resource} {ip}");
    }
    let (_, _, foreign) = app.org_with_api_key("Globex Airways", TestKey::default()).await;
    let other = verify(
        &app,
        &service,
        serde_json::json!({ "key": foreign, "action": "read", "resource": "x", "client_ip": "10.0.0.1" }),
    )
    .await;
    assert_eq!(
        (other["allowed"].as_bool(), other["code"].as_str()),
        (Some(false), Some("invalid_key"))
    );
}

async fn verify_refuses_bad_bodies_with_problems(app: TestApp) {
    let (_, _, service) = app.org_with_api_key("Acme Aviation", TestKey::default()).await;
    let post = |body: &'static str| {
        app.client
            .post(app.url("/api/v1/verify"))
            .header("X-API-Key", &service)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    for body in [
        "{not json",
        r#"{"key": 1, "action": "read", "resource": "x", "client_ip": "10.0.0.1"}"#,
        r#"{"action": "read"}"#,
    ] {
        let (status, problem_body) = problem(post(body).await.expect("request")).await;
        assert_eq!(
            (status, problem_body["code"].as_str()),
            (400, Some("invalid_request")),
            "{body}"
        );
    }
    let (status, problem_body) = problem(
        post(r#"{"key": "k", "action": "fly", "resource": "A//b", "client_ip": "nowhere"}"#)
            .await
            .expect("request"),
    )
    .await;
    // A body that can be read but whose fields are not valid is a 422 naming
    // each field, as in key management (it was a 400 with the fields joined).
    assert_eq!((status, problem_body["code"].as_str()), (422, Some("invalid_fields")));
    let fields: Vec<&str> = problem_body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, vec!["action", "resource", "client_ip"], "{problem_body}");
}

async fn usage_and_last_use_are_flushed_without_a_write_per_request(app: TestApp) {
    let (_, id, key) = app
        .org_with_api_key(
            "Acme Aviation",
            TestKey {
                scopes: &["read:assets"],
                ..TestKey::default()
            },
        )
        .await;
    for _ in 0..3 {
        assert_eq!(app.get_with_key("/api/v1/me", &key).await.status().as_u16(), 200);
    }
    let verify_body = serde_json::json!({ "key": key, "action": "read", "resource": "x", "client_ip": "10.0.0.1" });
    let refused = app
        .client
        .post(app.url("/api/v1/verify"))
        .header("X-API-Key", &key)
        .json(&verify_body)
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status().as_u16(), 403);
    // The flusher runs every 200 ms in tests.
    let mut counts: Vec<(String, i64)> = Vec::new();
    for _ in 0..50 {
        let key_id = id.clone();
        counts = app
            .query(move |conn| {
                Ok(usage_buckets::table
                    .filter(usage_buckets::api_key_id.eq(key_id))
                    .order(usage_buckets::outcome)
                    .select((usage_buckets::outcome, usage_buckets::count))
                    .load(conn)?)
            })
            .await;
        if counts.iter().map(|(_, n)| n).sum::<i64>() == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        counts,
        vec![("allowed".to_owned(), 3), ("insufficient_scope".to_owned(), 1)]
    );
    let key_id = id.clone();
    let (used_at, ip): (Option<chrono::NaiveDateTime>, Option<String>) = app
        .query(move |conn| {
            Ok(api_keys::table
                .find(key_id)
                .select((api_keys::last_used_at, api_keys::last_used_ip))
                .first(conn)?)
        })
        .await;
    assert!(used_at.is_some());
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));
}

on_both_backends!(a_database_outage_keeps_cached_keys_working_and_loses_no_usage);

async fn a_database_outage_keeps_cached_keys_working_and_loses_no_usage(app: TestApp) {
    let (_, id, key) = app.org_with_api_key("Acme Aviation", TestKey::default()).await;
    let (_, _, not_yet_cached) = app.org_with_api_key("Globex Airways", TestKey::default()).await;
    assert_eq!(
        app.get_with_key("/api/v1/me", &key).await.status().as_u16(),
        200,
        "now cached"
    );

    // Take every pooled connection: the database is out of reach for the server.
    let pool = app.db.pool().clone();
    let held = tokio::task::spawn_blocking(move || {
        (0..pool.max_size())
            .map(|_| pool.get().expect("a connection"))
            .collect::<Vec<_>>()
    })
    .await
    .expect("join");

    // A typo is refused without the database (checksum), a cached key still works,
    // and a key that needs the database gets a clear 503.
    // The typo is in the key id, so only the checksum can refuse it without
    // a look-up (the id is not cached and the database is out of reach).
    let mut typo = key.clone().into_bytes();
    typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).expect("ascii");
    let (status, body) = problem(app.get_with_key("/api/v1/me", &typo).await).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("invalid_key")));
    for _ in 0..3 {
        assert_eq!(app.get_with_key("/api/v1/me", &key).await.status().as_u16(), 200);
    }
    let (status, body) = problem(app.get_with_key("/api/v1/me", &not_yet_cached).await).await;
    assert_eq!((status, body["code"].as_str()), (503, Some("unavailable")));

    // Give the flusher a failed attempt or two, then bring the database back.
    tokio::time::sleep(Duration::from_millis(600)).await;
    drop(held);
    let mut allowed = 0;
    for _ in 0..50 {
        let key_id = id.clone();
        allowed = app
            .query(move |conn| {
                Ok(usage_buckets::table
                    .filter(usage_buckets::api_key_id.eq(key_id))
                    .filter(usage_buckets::outcome.eq("allowed"))
                    .select(usage_buckets::count)
                    .first::<i64>(conn)
                    .optional()?
                    .unwrap_or(0))
            })
            .await;
        if allowed == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        allowed, 4,
        "the requests made during the outage were counted once it ended"
    );
}

on_both_backends!(
    verify_treats_a_foreign_key_as_invalid_and_records_nothing_on_it,
    a_header_only_key_also_sent_in_the_query_is_refused
);

async fn verify_treats_a_foreign_key_as_invalid_and_records_nothing_on_it(app: TestApp) {
    let (_, service_id, service) = app
        .org_with_api_key(
            "Acme Aviation",
            TestKey {
                scopes: &["read:verify"],
                ..TestKey::default()
            },
        )
        .await;
    let (globex, foreign_id, foreign) = app.org_with_api_key("Globex Airways", TestKey::default()).await;
    let (org_id, id) = (globex.id.clone(), foreign_id.clone());
    app.db
        .transaction(move |conn| {
            keyward::service::keys::set_enabled(conn, &org_id, &id, false, &keyward::domain::audit::Actor::Cli, None)
                .map(drop)
        })
        .await
        .expect("disabled");
    let verdict = verify(
        &app,
        &service,
        serde_json::json!({ "key": foreign, "action": "read", "resource": "x", "client_ip": "203.0.113.9" }),
    )
    .await;
    assert_eq!(
        (verdict["allowed"].as_bool(), verdict["code"].as_str()),
        (Some(false), Some("invalid_key")),
        "{verdict}"
    );
    assert!(!verdict.to_string().contains("disabled"), "{verdict}");

    // Wait until the service's own call has been flushed: the foreign key's
    // usage, had any been counted, went into the same flush.
    for _ in 0..50 {
        let key_id = service_id.clone();
        let flushed: i64 = app
            .query(move |conn| {
                Ok(usage_buckets::table
                    .filter(usage_buckets::api_key_id.eq(key_id))
                    .select(diesel::dsl::count_star())
                    .first(conn)?)
            })
            .await;
        if flushed > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let key_id = foreign_id.clone();
    let (buckets, last_ip): (i64, Option<String>) = app
        .query(move |conn| {
            let buckets = usage_buckets::table
                .filter(usage_buckets::api_key_id.eq(key_id.clone()))
                .select(diesel::dsl::count_star())
                .first(conn)?;
            let last_ip = api_keys::table
                .find(key_id)
                .select(api_keys::last_used_ip)
                .first(conn)?;
            Ok((buckets, last_ip))
        })
        .await;
    assert_eq!(
        (buckets, last_ip),
        (0, None),
        "nothing is recorded on another organization's key"
    );
}

async fn a_header_only_key_also_sent_in_the_query_is_refused(app: TestApp) {
    let (_, _, header_only) = app.org_with_api_key("Acme Aviation", TestKey::default()).await;
    let in_url = app.url(&format!("/api/v1/me?api_key={header_only}"));
    for request in [
        app.client.get(&in_url).header("X-API-Key", &header_only),
        app.client.get(&in_url).bearer_auth(&header_only),
    ] {
        let (status, body) = problem(request.send().await.expect("request")).await;
        assert_eq!((status, body["code"].as_str()), (401, Some("query_key_not_allowed")));
    }
}

/// A budget small enough to use up, over a window no test outlasts.
fn small_invalid_key_budget(settings: &mut keyward::config::Settings) {
    settings.invalid_key_budget = keyward::auth::miss_budget::MissBudgetSettings {
        misses: 5,
        per: std::time::Duration::from_secs(3600),
    };
}

on_both_backends!(
    adjusting small_invalid_key_budget;
    a_burst_of_unknown_keys_from_one_address_is_throttled_but_valid_keys_still_work,
    verify_charges_unknown_keys_to_the_caller_not_the_address_it_names
);

async fn verify_charges_unknown_keys_to_the_caller_not_the_address_it_names(app: TestApp) {
    let (_, _, service) = app
        .org_with_api_key(
            "Acme Aviation",
            TestKey {
                scopes: &["read:verify"],
                ..TestKey::default()
            },
        )
        .await;
    let mut codes = Vec::new();
    for n in 1..=8 {
        let unknown = keyward::domain::token::ApiKeyToken::generate();
        let verdict = verify(
            &app,
            &service,
            serde_json::json!({
                "key": unknown.expose(),
                "action": "read",
                "resource": "x",
                // a new address each time: a budget per named address would never run out
                "client_ip": format!("203.0.113.{n}"),
            }),
        )
        .await;
        codes.push(verdict["code"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(codes[..5], vec!["invalid_key".to_owned(); 5][..], "{codes:?}");
    assert_eq!(codes[5..], vec!["too_many_invalid_keys".to_owned(); 3][..], "{codes:?}");
}

async fn a_burst_of_unknown_keys_from_one_address_is_throttled_but_valid_keys_still_work(app: TestApp) {
    let (org, _, valid) = app.org_with_api_key("Acme Aviation", TestKey::default()).await;
    let (other_id, _) = app
        .add_api_key(
            &org,
            TestKey {
                name: "Other",
                ..TestKey::default()
            },
        )
        .await;
    let (_, admin) = app
        .add_api_key(
            &org,
            TestKey {
                name: "Key manager",
                scopes: &["admin:api-keys"],
                ..TestKey::default()
            },
        )
        .await;
    assert_eq!(app.get_with_key("/api/v1/me", &valid).await.status().as_u16(), 200);
    assert_eq!(
        app.get_with_key("/api/v1/api-keys", &admin).await.status().as_u16(),
        200
    );
    let mut codes = Vec::new();
    let mut retry_after = None;
    for _ in 0..8 {
        let unknown = keyward::domain::token::ApiKeyToken::generate();
        let response = app.get_with_key("/api/v1/me", unknown.expose()).await;
        if response.status().as_u16() == 429 {
            retry_after = response.headers().get("retry-after").cloned();
        }
        let (status, body) = problem(response).await;
        codes.push((status, body["code"].as_str().unwrap_or_default().to_owned()));
    }
    let invalid = (401, "invalid_key".to_owned());
    let throttled = (429, "too_many_invalid_keys".to_owned());
    assert_eq!(codes[..5], vec![invalid.clone(); 5][..], "the budget: 5 misses");
    assert_eq!(codes[5..], vec![throttled; 3][..]);
    let seconds: u64 = retry_after
        .and_then(|v| v.to_str().ok().and_then(|s| s.parse().ok()))
        .expect("Retry-After in seconds");
    assert!((1..=720).contains(&seconds), "{seconds}");
    // A change on this instance empties its key cache: the valid key is read
    // again, and still not held back.
    let disabled = app
        .client
        .post(app.url(&format!("/api/v1/api-keys/{other_id}/disable")))
        .header("X-API-Key", &admin)
        .send()
        .await
        .expect("request");
    assert_eq!(disabled.status().as_u16(), 200);
    for _ in 0..3 {
        assert_eq!(
            app.get_with_key("/api/v1/me", &valid).await.status().as_u16(),
            200,
            "a valid key is never held back by the budget"
        );
    }
}

on_both_backends!(a_network_rule_written_as_mapped_ipv6_is_its_ipv4_network);

async fn a_network_rule_written_as_mapped_ipv6_is_its_ipv4_network(app: TestApp) {
    let (org, _, manager) = app
        .org_with_api_key(
            "Acme Aviation",
            TestKey {
                scopes: &["admin:api-keys"],
                ..TestKey::default()
            },
        )
        .await;
    let (id, mapped) = app
        .add_api_key(
            &org,
            TestKey {
                name: "Loopback, written as mapped IPv6",
                networks: "::ffff:127.0.0.0/104",
                ..TestKey::default()
            },
        )
        .await;
    assert_eq!(
        app.get_with_key("/api/v1/me", &mapped).await.status().as_u16(),
        200,
        "the test client (127.0.0.1) is inside ::ffff:127.0.0.0/104"
    );
    let detail: serde_json::Value = app
        .get_with_key(&format!("/api/v1/api-keys/{id}"), &manager)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(detail["allowed_networks"], serde_json::json!(["127.0.0.0/8"]));

    // A rule stored in that form before this release means the same.
    let (stored_id, stored_before) = app
        .add_api_key(
            &org,
            TestKey {
                name: "Stored before",
                networks: "10.0.0.0/8",
                ..TestKey::default()
            },
        )
        .await;
    app.query(move |conn| {
        use keyward::store::schema::key_networks;
        diesel::update(key_networks::table.filter(key_networks::api_key_id.eq(stored_id)))
            .set(key_networks::cidr.eq("::ffff:127.0.0.0/104"))
            .execute(conn)
            .map_err(Into::into)
    })
    .await;
    assert_eq!(
        app.get_with_key("/api/v1/me", &stored_before).await.status().as_u16(),
        200
    );
}
