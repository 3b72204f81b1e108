use keyward::domain::role::Role;

use crate::on_both_backends;
use crate::support::{PASSWORD, TestApp};

on_both_backends!(
    signing_in_with_the_right_password_opens_the_backoffice,
    a_wrong_password_and_an_unknown_email_get_the_same_answer,
    empty_and_oversized_fields_are_refused_with_a_message,
    repeated_failures_pause_sign_in_for_the_account,
    a_disabled_user_cannot_sign_in,
    sign_in_follows_only_local_next_targets
);

async fn signing_in_with_the_right_password_opens_the_backoffice(app: TestApp) {
    let org = app.create_org("Acme Aviation").await;
    let email = app.create_user(&org, Role::Administrator, "ada@acme.test").await;
    let response = app.sign_in_with(&app.client, "  ADA@acme.test ", PASSWORD).await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(response.headers()["location"], "/backoffice");
    let home = app.client.get(app.url("/backoffice")).send().await.expect("request");
    assert_eq!(home.status().as_u16(), 200);
    let body = home.text().await.expect("body");
    assert!(
        body.contains("Acme Aviation") && body.contains("Administrator"),
        "{body}"
    );
    assert!(body.contains(&email.split('@').next().expect("local part").to_owned()));
}

async fn a_wrong_password_and_an_unknown_email_get_the_same_answer(app: TestApp) {
    let org = app.create_org("Acme Aviation").await;
    app.create_user(&org, Role::Member, "max@acme.test").await;
    let wrong = app.sign_in_with(&app.client, "max@acme.test", "not the password").await;
    let unknown = app
        .sign_in_with(&app.client, "nobody@acme.test", "not the password")
        .await;
    assert_eq!(wrong.status().as_u16(), 401);
    assert_eq!(unknown.status().as_u16(), 401);
    let wrong = wrong.text().await.expect("body");
    let unknown = unknown.text().await.expect("body");
    let message = "That email and password do not match an account.";
    assert!(wrong.contains(message) && unknown.contains(message));
    assert!(wrong.contains("value=\"max@acme.test\""), "the email is kept");
    let still_out = app.client.get(app.url("/backoffice")).send().await.expect("request");
    assert_eq!(still_out.status().as_u16(), 303);
}

async fn empty_and_oversized_fields_are_refused_with_a_message(app: TestApp) {
    let empty_email = app.sign_in_with(&app.client, "", PASSWORD).await;
    assert_eq!(empty_email.status().as_u16(), 422);
    assert!(
        empty_email
            .text()
            .await
            .expect("body")
            .contains("Enter an email address.")
    );
    let empty_password = app.sign_in_with(&app.client, "ada@acme.test", "").await;
    assert_eq!(empty_password.status().as_u16(), 422);
    assert!(
        empty_password
            .text()
            .await
            .expect("body")
            .contains("Enter your password.")
    );
    let long = format!("{}@acme.test", "a".repeat(10_000));
    let oversized = app.sign_in_with(&app.client, &long, PASSWORD).await;
    assert_eq!(oversized.status().as_u16(), 422);
    assert!(oversized.text().await.expect("body").contains("too long"));
}

async fn repeated_failures_pause_sign_in_for_the_account(app: TestApp) {
    let org = app.create_org("Acme Aviation").await;
    app.create_user(&org, Role::Member, "max@acme.test").await;
    for _ in 0..5 {
        let response = app.sign_in_with(&app.client, "max@acme.test", "guess").await;
        assert_eq!(response.status().as_u16(), 401);
    }
    // Even the right password is refused while the account is paused.
    let paused = app.sign_in_with(&app.client, "max@acme.test", PASSWORD).await;
    assert_eq!(paused.status().as_u16(), 429);
    let body = paused.text().await.expect("body");
    assert!(body.contains("Too many failed sign-in attempts"), "{body}");
    // Another account from the same address is not affected yet.
    app.create_user(&org, Role::Member, "mia@acme.test").await;
    let other = app.sign_in_with(&app.new_client(), "mia@acme.test", PASSWORD).await;
    assert_eq!(other.status().as_u16(), 303);
}

async fn a_disabled_user_cannot_sign_in(app: TestApp) {
    let org = app.create_org("Acme Aviation").await;
    let email = app.create_user(&org, Role::Member, "max@acme.test").await;
    app.query(move |conn| {
        let user = keyward::store::users::find_by_email(conn, &email)?.expect("exists");
        keyward::store::users::set_disabled(conn, &user.id, Some(keyward::store::now()))?;
        Ok(())
    })
    .await;
    let response = app.sign_in_with(&app.client, "max@acme.test", PASSWORD).await;
    assert_eq!(response.status().as_u16(), 403);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("This account is disabled")
    );
}

async fn sign_in_follows_only_local_next_targets(app: TestApp) {
    let org = app.create_org("Acme Aviation").await;
    app.create_user(&org, Role::SystemAdministrator, "sam@acme.test").await;
    let token = app.csrf_token(&app.client, "/login").await;
    let local = app
        .post_form(
            &app.client,
            "/login",
            &[
                ("csrf_token", &token),
                ("email", "sam@acme.test"),
                ("password", PASSWORD),
                ("next", "/backoffice/settings/api-keys"),
            ],
        )
        .await;
    assert_eq!(local.headers()["location"], "/backoffice/settings/api-keys");

    let other = app.new_client();
    let token = app.csrf_token(&other, "/login").await;
    let foreign = app
        .post_form(
            &other,
            "/login",
            &[
                ("csrf_token", &token),
                ("email", "sam@acme.test"),
                ("password", PASSWORD),
                ("next", "//evil.example/phish"),
            ],
        )
        .await;
    assert_eq!(foreign.headers()["location"], "/backoffice");
}
