use keyward::domain::role::Role;

use crate::on_both_backends;
use crate::support::{PASSWORD, TestApp};

on_both_backends!(
    a_form_without_its_csrf_token_is_refused,
    a_wrong_csrf_token_is_refused,
    a_csrf_token_from_another_session_is_refused,
    a_form_from_another_origin_is_refused,
    a_form_without_an_origin_is_refused,
    htmx_requests_may_send_the_token_as_a_header
);

async fn a_form_without_its_csrf_token_is_refused(app: TestApp) {
    let org = app.create_org("Acme Aviation").await;
    app.create_user(&org, Role::Member, "max@acme.test").await;
    app.csrf_token(&app.client, "/login").await;
    let response = app
        .post_form(
            &app.client,
            "/login",
            &[("email", "max@acme.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status().as_u16(), 403);
    let body = response.text().await.expect("body");
    assert!(body.contains("Reload the page and try again"), "{body}");
    assert!(body.contains("Request id:"), "{body}");
}

async fn a_wrong_csrf_token_is_refused(app: TestApp) {
    app.csrf_token(&app.client, "/login").await;
    let response = app
        .post_form(
            &app.client,
            "/login",
            &[("csrf_token", "forged"), ("email", "a@b.c"), ("password", "x")],
        )
        .await;
    assert_eq!(response.status().as_u16(), 403);
}

async fn a_csrf_token_from_another_session_is_refused(app: TestApp) {
    let (_, _) = app.signed_in_as(Role::Member).await;
    let stolen = app.csrf_token(&app.client, "/backoffice").await;
    let other = app.new_client();
    app.csrf_token(&other, "/login").await;
    let response = app
        .post_form(
            &other,
            "/login",
            &[
                ("csrf_token", &stolen),
                ("email", "member@acme.test"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 403);

    // The token issued before signing in is replaced at sign-in.
    let fresh = app.new_client();
    let before = app.csrf_token(&fresh, "/login").await;
    let signed_in = app.sign_in_with(&fresh, "member@acme.test", PASSWORD).await;
    assert_eq!(signed_in.status().as_u16(), 303);
    let logout = app.post_form(&fresh, "/logout", &[("csrf_token", &before)]).await;
    assert_eq!(
        logout.status().as_u16(),
        403,
        "the pre-sign-in token must not survive sign-in"
    );
}

async fn a_form_from_another_origin_is_refused(app: TestApp) {
    let token = app.csrf_token(&app.client, "/login").await;
    let response = app
        .client
        .post(app.url("/login"))
        .header("Origin", "https://evil.example")
        .form(&[("csrf_token", token.as_str()), ("email", "a@b.c"), ("password", "x")])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 403);
    assert!(response.text().await.expect("body").contains("sent from another site"));
}

async fn a_form_without_an_origin_is_refused(app: TestApp) {
    let token = app.csrf_token(&app.client, "/login").await;
    let response = app
        .client
        .post(app.url("/login"))
        .form(&[("csrf_token", token.as_str()), ("email", "a@b.c"), ("password", "x")])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 403);
}

async fn htmx_requests_may_send_the_token_as_a_header(app: TestApp) {
    app.signed_in_as(Role::Member).await;
    let token = app.csrf_token(&app.client, "/backoffice").await;
    let response = app
        .client
        .post(app.url("/logout"))
        .header("Origin", &app.address)
        .header("X-CSRF-Token", &token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 303);
}
