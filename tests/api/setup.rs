use diesel::prelude::*;
use keyward::store::schema::{audit_events, organizations, users};

use crate::on_both_backends;
use crate::support::TestApp;

on_both_backends!(
    the_setup_link_creates_the_first_system_administrator_once,
    a_forged_setup_token_is_refused,
    setup_errors_are_shown_beside_their_fields_and_nothing_is_written
);

async fn issue_token(app: &TestApp) -> String {
    app.query(keyward::service::accounts::issue_setup_token)
        .await
        .expect("no users yet, so a token")
}

fn setup_form<'a>(csrf: &'a str, token: &'a str, password_confirmation: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf_token", csrf),
        ("token", token),
        ("org_name", "Acme Aviation"),
        ("display_name", "Ada Lovelace"),
        ("email", "ada@acme.test"),
        ("password", "correct horse battery staple"),
        ("password_confirmation", password_confirmation),
    ]
}

async fn the_setup_link_creates_the_first_system_administrator_once(app: TestApp) {
    let token = issue_token(&app).await;
    let csrf = app.csrf_token(&app.client, &format!("/setup?token={token}")).await;
    let done = app
        .post_form(
            &app.client,
            "/setup",
            &setup_form(&csrf, &token, "correct horse battery staple"),
        )
        .await;
    assert_eq!(done.status().as_u16(), 303);
    assert_eq!(done.headers()["location"], "/backoffice/settings/api-keys");
    // Signed in as the new System Administrator.
    let page = app
        .client
        .get(app.url("/backoffice/settings/api-keys"))
        .send()
        .await
        .expect("request");
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.expect("body").contains("Set up API keys"));

    let (orgs, roles, audited): (i64, Vec<String>, i64) = app
        .query(|conn| {
            Ok((
                organizations::table.count().get_result(conn)?,
                users::table.select(users::role).load(conn)?,
                audit_events::table
                    .filter(audit_events::action.eq_any(["organization_created", "user_created"]))
                    .count()
                    .get_result(conn)?,
            ))
        })
        .await;
    assert_eq!((orgs, roles, audited), (1, vec!["system-administrator".to_owned()], 2));

    // The link is spent: replaying it, or setting up again, changes nothing.
    let other = app.new_client();
    let again = other
        .get(app.url(&format!("/setup?token={token}")))
        .send()
        .await
        .expect("request");
    assert_eq!(again.status().as_u16(), 410);
    assert!(again.text().await.expect("body").contains("already set up"));
    let csrf = app.csrf_token(&other, "/login").await;
    let replay = app
        .post_form(
            &other,
            "/setup",
            &setup_form(&csrf, &token, "correct horse battery staple"),
        )
        .await;
    assert_eq!(replay.status().as_u16(), 410);
    assert!(app.query(keyward::service::accounts::issue_setup_token).await.is_none());
    let orgs: i64 = app
        .query(|conn| Ok(organizations::table.count().get_result(conn)?))
        .await;
    assert_eq!(orgs, 1);
}

async fn a_forged_setup_token_is_refused(app: TestApp) {
    issue_token(&app).await;
    let response = app
        .client
        .get(app.url("/setup?token=forged"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 404);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("This setup link does not work")
    );
    let csrf = app.csrf_token(&app.client, "/login").await;
    let post = app
        .post_form(
            &app.client,
            "/setup",
            &setup_form(&csrf, "forged", "correct horse battery staple"),
        )
        .await;
    assert_eq!(post.status().as_u16(), 404);
    let users: i64 = app.query(|conn| Ok(users::table.count().get_result(conn)?)).await;
    assert_eq!(users, 0);
}

async fn setup_errors_are_shown_beside_their_fields_and_nothing_is_written(app: TestApp) {
    let token = issue_token(&app).await;
    let csrf = app.csrf_token(&app.client, &format!("/setup?token={token}")).await;
    let response = app
        .post_form(
            &app.client,
            "/setup",
            &[
                ("csrf_token", &csrf),
                ("token", &token),
                ("org_name", "  "),
                ("display_name", "Ada"),
                ("email", "not-an-email"),
                ("password", "short"),
                ("password_confirmation", "different"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 422);
    let body = response.text().await.expect("body");
    for message in [
        "Enter the organization&#39;s name.",
        "That is not an email address",
        "The password is too short",
        "The two passwords are not the same",
    ] {
        assert!(body.contains(message), "missing {message:?} in {body}");
    }
    assert!(body.contains("value=\"Ada\""), "typed input is kept");
    let orgs: i64 = app
        .query(|conn| Ok(organizations::table.count().get_result(conn)?))
        .await;
    assert_eq!(orgs, 0);
}
