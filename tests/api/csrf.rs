use keyward::domain::role::Role;

use crate::on_both_backends;
use crate::support::{PASSWORD, TestApp, csrf_token_in};

on_both_backends!(
    a_form_without_its_csrf_token_is_refused,
    a_wrong_csrf_token_is_refused,
    a_csrf_token_from_another_session_is_refused,
    a_form_from_another_origin_is_refused,
    a_form_without_an_origin_is_refused,
    htmx_requests_may_send_the_token_as_a_header,
    a_token_planted_with_its_cookie_in_another_session_is_refused
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

/// A browser whose cookies the test holds, so they can be planted in another.
struct Browser {
    session: String,
    csrf_cookie: String,
    token: String,
}

fn bare_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .cookies()
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// Signs `email` in with cookies kept by hand; returns them and the token of
/// the signed-in page.
async fn signed_in_browser(app: &TestApp, email: &str) -> Browser {
    let client = bare_client();
    let login = client.get(app.url("/login")).send().await.expect("request");
    let csrf_cookie = cookie(&login, "keyward_csrf").expect("csrf cookie");
    let token = csrf_token_in(&login.text().await.expect("body")).expect("token");
    let signed_in = client
        .post(app.url("/login"))
        .header("Origin", &app.address)
        .header("Cookie", format!("keyward_csrf={csrf_cookie}"))
        .form(&[("csrf_token", token.as_str()), ("email", email), ("password", PASSWORD)])
        .send()
        .await
        .expect("request");
    assert_eq!(signed_in.status().as_u16(), 303);
    let session = cookie(&signed_in, "keyward_session").expect("session cookie");
    let csrf_cookie = cookie(&signed_in, "keyward_csrf").unwrap_or(csrf_cookie);
    let page = client
        .get(app.url("/backoffice"))
        .header(
            "Cookie",
            format!("keyward_session={session}; keyward_csrf={csrf_cookie}"),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(page.status().as_u16(), 200);
    let token = csrf_token_in(&page.text().await.expect("body")).expect("token");
    Browser {
        session,
        csrf_cookie,
        token,
    }
}

async fn sign_out_with(app: &TestApp, session: &str, csrf_cookie: &str, token: &str) -> u16 {
    bare_client()
        .post(app.url("/logout"))
        .header("Origin", &app.address)
        .header(
            "Cookie",
            format!("keyward_session={session}; keyward_csrf={csrf_cookie}"),
        )
        .form(&[("csrf_token", token)])
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

async fn a_token_planted_with_its_cookie_in_another_session_is_refused(app: TestApp) {
    let org = app.create_org("Acme Aviation").await;
    app.create_user(&org, Role::Member, "mallory@acme.test").await;
    app.create_user(&org, Role::Member, "max@acme.test").await;
    let attacker = signed_in_browser(&app, "mallory@acme.test").await;
    let victim = signed_in_browser(&app, "max@acme.test").await;
    // A sibling subdomain can set the CSRF cookie (cookie tossing); the pair
    // it plants must not work in the victim's session.
    let planted = sign_out_with(&app, &victim.session, &attacker.csrf_cookie, &attacker.token).await;
    assert_eq!(planted, 403, "a token is good only for its own session");
    let own = sign_out_with(&app, &victim.session, &victim.csrf_cookie, &victim.token).await;
    assert_eq!(own, 303);
}

fn with_public_url(settings: &mut keyward::config::Settings) {
    settings.public_url = Some("https://keys.example".parse().expect("a valid public URL"));
}

on_both_backends!(adjusting with_public_url; with_a_public_url_only_its_scheme_host_and_port_pass);

async fn sign_in_from_origin(app: &TestApp, origin: &str) -> u16 {
    let client = app.new_client();
    let token = app.csrf_token(&client, "/login").await;
    client
        .post(app.url("/login"))
        .header("Origin", origin)
        .form(&[("csrf_token", token.as_str()), ("email", "a@b.c"), ("password", "x")])
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

async fn with_a_public_url_only_its_scheme_host_and_port_pass(app: TestApp) {
    // 401 is the wrong password: the form itself was accepted.
    assert_eq!(sign_in_from_origin(&app, "https://keys.example").await, 401);
    assert_eq!(sign_in_from_origin(&app, "https://keys.example:443").await, 401);
    for refused in [
        "http://keys.example",
        "https://keys.example:8443",
        "https://evil.example",
        "null",
        app.address.as_str(),
    ] {
        assert_eq!(sign_in_from_origin(&app, refused).await, 403, "{refused}");
    }
}
