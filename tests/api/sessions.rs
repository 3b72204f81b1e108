use diesel::prelude::*;
use keyward::domain::role::Role;
use keyward::store::schema::sessions;

use crate::on_both_backends;
use crate::support::TestApp;

on_both_backends!(
    signing_out_ends_the_session_on_the_server,
    signing_in_issues_a_new_session_id,
    an_idle_session_expires,
    a_session_past_the_absolute_timeout_must_sign_in_again,
    disabling_a_user_ends_their_sessions,
    session_rows_never_hold_the_cookie_value
);

/// The `keyward_session` value from a response's `Set-Cookie`.
fn set_session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.strip_prefix("keyward_session=")
                .map(|rest| rest.split(';').next().unwrap_or("").to_owned())
        })
}

/// A client without a jar that sends exactly this session cookie.
async fn get_with_session(app: &TestApp, session: &str, path: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(app.url(path))
        .header("Cookie", format!("keyward_session={session}"))
        .send()
        .await
        .expect("request")
}

async fn signing_out_ends_the_session_on_the_server(app: TestApp) {
    let org = app.create_org("Acme Aviation").await;
    app.create_user(&org, Role::Member, "max@acme.test").await;
    let signed_in = app
        .sign_in_with(&app.client, "max@acme.test", crate::support::PASSWORD)
        .await;
    let session = set_session_cookie(&signed_in).expect("a session cookie");
    assert_eq!(
        get_with_session(&app, &session, "/backoffice").await.status().as_u16(),
        200
    );

    let token = app.csrf_token(&app.client, "/backoffice").await;
    let out = app.post_form(&app.client, "/logout", &[("csrf_token", &token)]).await;
    assert_eq!(out.status().as_u16(), 303);
    assert_eq!(out.headers()["location"], "/login?signed_out=1");

    // The old cookie, replayed, no longer opens anything.
    let replayed = get_with_session(&app, &session, "/backoffice").await;
    assert_eq!(replayed.status().as_u16(), 303);
    assert_eq!(replayed.headers()["location"], "/login?next=/backoffice");
}

async fn signing_in_issues_a_new_session_id(app: TestApp) {
    let org = app.create_org("Acme Aviation").await;
    app.create_user(&org, Role::Member, "max@acme.test").await;
    let first = app
        .sign_in_with(&app.client, "max@acme.test", crate::support::PASSWORD)
        .await;
    let first = set_session_cookie(&first).expect("a session cookie");
    // Signing in again from the same browser (a signed-in user is sent away
    // from the login page, so the form is posted directly).
    let token = app.csrf_token(&app.client, "/backoffice").await;
    let second = app
        .post_form(
            &app.client,
            "/login",
            &[
                ("csrf_token", &token),
                ("email", "max@acme.test"),
                ("password", crate::support::PASSWORD),
            ],
        )
        .await;
    let second = set_session_cookie(&second).expect("a session cookie");
    assert_ne!(first, second, "signing in again must not keep the old session id");
    assert_eq!(
        get_with_session(&app, &first, "/backoffice").await.status().as_u16(),
        303
    );
    assert_eq!(
        get_with_session(&app, &second, "/backoffice").await.status().as_u16(),
        200
    );
}

async fn an_idle_session_expires(app: TestApp) {
    app.signed_in_as(Role::Member).await;
    app.query(|conn| {
        let past = keyward::store::now() - chrono::TimeDelta::minutes(1);
        diesel::update(sessions::table)
            .set(sessions::expires_at.eq(past))
            .execute(conn)?;
        Ok(())
    })
    .await;
    let response = app.client.get(app.url("/backoffice")).send().await.expect("request");
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(response.headers()["location"], "/login?next=/backoffice");
}

async fn a_session_past_the_absolute_timeout_must_sign_in_again(app: TestApp) {
    app.signed_in_as(Role::Member).await;
    app.query(|conn| {
        let states: Vec<(String, String)> = sessions::table.select((sessions::id, sessions::state)).load(conn)?;
        let thirteen_hours_ago = (keyward::store::now() - chrono::TimeDelta::hours(13))
            .and_utc()
            .timestamp();
        for (id, state) in states {
            let mut state: std::collections::HashMap<String, String> = serde_json::from_str(&state).expect("json");
            state.insert("signed_in_at".into(), thirteen_hours_ago.to_string());
            let state = serde_json::to_string(&state).expect("json");
            diesel::update(sessions::table.find(id))
                .set(sessions::state.eq(state))
                .execute(conn)?;
        }
        Ok(())
    })
    .await;
    let response = app.client.get(app.url("/backoffice")).send().await.expect("request");
    assert_eq!(response.status().as_u16(), 303);
}

async fn disabling_a_user_ends_their_sessions(app: TestApp) {
    let (_, email) = app.signed_in_as(Role::Administrator).await;
    assert_eq!(
        app.client
            .get(app.url("/backoffice"))
            .send()
            .await
            .expect("request")
            .status()
            .as_u16(),
        200
    );
    let user_id = app
        .query(move |conn| {
            let user = keyward::store::users::find_by_email(conn, &email)?.expect("exists");
            keyward::store::users::set_disabled(conn, &user.id, Some(keyward::store::now()))?;
            Ok(user.id)
        })
        .await;
    // The rows are gone, not merely refused by the guard's check of the user.
    let left: i64 = app
        .query(move |conn| {
            Ok(sessions::table
                .filter(sessions::user_id.eq(user_id))
                .count()
                .get_result(conn)?)
        })
        .await;
    assert_eq!(left, 0, "disabling deletes the user's session rows");
    let response = app.client.get(app.url("/backoffice")).send().await.expect("request");
    assert_eq!(response.status().as_u16(), 303);
}

async fn session_rows_never_hold_the_cookie_value(app: TestApp) {
    use actix_web::cookie::{Cookie, CookieJar};
    use sha2::Digest as _;

    let org = app.create_org("Acme Aviation").await;
    app.create_user(&org, Role::Member, "max@acme.test").await;
    let response = app
        .sign_in_with(&app.client, "max@acme.test", crate::support::PASSWORD)
        .await;
    let cookie = set_session_cookie(&response).expect("a session cookie");
    // The cookie is encrypted with the cookie key: open it as the server
    // does, to get the session key it carries.
    let encoded = cookie.replace("%2F", "/").replace("%3D", "=").replace("%2B", "+");
    let mut jar = CookieJar::new();
    jar.add_original(Cookie::new("keyward_session", encoded));
    let session_key = jar
        .private(&app.secret.cookie_key())
        .get("keyward_session")
        .expect("the cookie opens with the server's cookie key")
        .value()
        .to_owned();
    assert!(session_key.len() >= 32, "{session_key}");

    let rows: Vec<(String, String)> = app
        .query(|conn| Ok(sessions::table.select((sessions::id, sessions::state)).load(conn)?))
        .await;
    assert_eq!(rows.len(), 1);
    let (id, state) = &rows[0];
    assert_eq!(
        *id,
        hex::encode(sha2::Sha256::digest(session_key.as_bytes())),
        "the row id is the SHA-256 of the session key"
    );
    assert!(!id.contains(&session_key) && !state.contains(&session_key));
}
