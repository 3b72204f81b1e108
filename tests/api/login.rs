use keyward::domain::role::Role;

use crate::on_both_backends;
use crate::support::{PASSWORD, TestApp};

on_both_backends!(
    signing_in_with_the_right_password_opens_the_backoffice,
    a_wrong_password_and_an_unknown_email_get_the_same_answer,
    empty_and_oversized_fields_are_refused_with_a_message,
    repeated_failures_pause_sign_in_for_the_account,
    a_disabled_user_cannot_sign_in,
    sign_in_follows_only_local_next_targets,
    a_next_target_with_a_tab_does_not_leave_the_site,
    thirty_parallel_wrong_passwords_are_evaluated_at_most_five_times,
    thirty_parallel_wrong_passwords_from_one_address_are_evaluated_at_most_twenty_times,
    a_failed_sign_in_of_a_known_user_shows_in_their_organizations_audit_log,
    system_administrators_land_on_api_keys_and_everyone_else_on_the_home_page,
    before_any_account_exists_the_sign_in_page_points_to_the_setup_link
);

async fn system_administrators_land_on_api_keys_and_everyone_else_on_the_home_page(app: TestApp) {
    let org = app.create_org("Acme Aviation").await;
    for (role, email, landing) in [
        (
            Role::SystemAdministrator,
            "sam@acme.test",
            "/backoffice/settings/api-keys",
        ),
        (Role::Administrator, "ada@acme.test", "/backoffice"),
        (Role::Member, "max@acme.test", "/backoffice"),
    ] {
        app.create_user(&org, role, email).await;
        // Straight to the sign-in page, and sent there from `/` (which asks for /backoffice).
        for login in ["/login", "/login?next=/backoffice"] {
            let client = app.new_client();
            let token = app.csrf_token(&client, login).await;
            let next = login.split_once("next=").map_or("", |(_, next)| next);
            let response = app
                .post_form(
                    &client,
                    "/login",
                    &[
                        ("csrf_token", &token),
                        ("email", email),
                        ("password", PASSWORD),
                        ("next", next),
                    ],
                )
                .await;
            assert_eq!(response.status().as_u16(), 303, "{email} from {login}");
            assert_eq!(response.headers()["location"], landing, "{email} from {login}");
        }
    }
    // A page asked for is still where a System Administrator goes.
    let client = app.new_client();
    let token = app.csrf_token(&client, "/login").await;
    let response = app
        .post_form(
            &client,
            "/login",
            &[
                ("csrf_token", &token),
                ("email", "sam@acme.test"),
                ("password", PASSWORD),
                ("next", "/backoffice/settings/api-keys/audit"),
            ],
        )
        .await;
    assert_eq!(response.headers()["location"], "/backoffice/settings/api-keys/audit");
}

async fn before_any_account_exists_the_sign_in_page_points_to_the_setup_link(app: TestApp) {
    let first_run = app.client.get(app.url("/login")).send().await.expect("request");
    let body = first_run.text().await.expect("body");
    assert!(body.contains("one-time setup link"), "{body}");
    assert!(
        body.contains("Restart <code>keyward serve</code>"),
        "how to get a new link: {body}"
    );
    // The same after a refused sign-in.
    let refused = app.sign_in_with(&app.client, "sam@acme.test", PASSWORD).await;
    assert_eq!(refused.status().as_u16(), 401);
    assert!(refused.text().await.expect("body").contains("one-time setup link"));

    let org = app.create_org("Acme Aviation").await;
    app.create_user(&org, Role::Member, "max@acme.test").await;
    let later = app.new_client().get(app.url("/login")).send().await.expect("request");
    let body = later.text().await.expect("body");
    assert!(
        !body.contains("setup link"),
        "once an account exists the note is gone: {body}"
    );
}

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
    // Not followed: the System Administrator lands where they would anyway.
    assert_eq!(foreign.headers()["location"], "/backoffice/settings/api-keys");
}

async fn a_next_target_with_a_tab_does_not_leave_the_site(app: TestApp) {
    let org = app.create_org("Acme Aviation").await;
    app.create_user(&org, Role::SystemAdministrator, "sam@acme.test").await;
    // Browsers drop the tab and would follow `//evil.example`.
    let token = app.csrf_token(&app.client, "/login?next=/%09/evil.example").await;
    let signed_in = app
        .post_form(
            &app.client,
            "/login",
            &[
                ("csrf_token", &token),
                ("email", "sam@acme.test"),
                ("password", PASSWORD),
                ("next", "/\t/evil.example"),
            ],
        )
        .await;
    assert_eq!(signed_in.status().as_u16(), 303);
    assert_eq!(signed_in.headers()["location"], "/backoffice/settings/api-keys");
    // Already signed in: /login redirects at once.
    for hostile in [
        "/%09/evil.example",
        "/%5C/evil.example",
        "/%0A/evil.example",
        "/.//evil.example",
    ] {
        let response = app
            .client
            .get(app.url(&format!("/login?next={hostile}")))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 303, "{hostile}");
        assert_eq!(response.headers()["location"], "/backoffice", "{hostile}");
    }
}

/// Sends the wrong passwords at once, one per email, from one browser;
/// returns the statuses.
async fn wrong_passwords_at_once(app: &TestApp, emails: Vec<String>) -> Vec<u16> {
    let client = app.new_client();
    let token = app.csrf_token(&client, "/login").await;
    let mut attempts = tokio::task::JoinSet::new();
    for (guess, email) in emails.into_iter().enumerate() {
        let (client, url, origin, token) = (client.clone(), app.url("/login"), app.address.clone(), token.clone());
        attempts.spawn(async move {
            let password = format!("guess {guess}");
            let form = [
                ("csrf_token", token.as_str()),
                ("email", email.as_str()),
                ("password", password.as_str()),
            ];
            let response = client
                .post(url)
                .header("Origin", origin)
                .form(&form)
                .send()
                .await
                .expect("request");
            response.status().as_u16()
        });
    }
    attempts.join_all().await
}

fn evaluated_and_throttled(statuses: &[u16]) -> (usize, usize) {
    (
        statuses.iter().filter(|s| **s == 401).count(),
        statuses.iter().filter(|s| **s == 429).count(),
    )
}

async fn thirty_parallel_wrong_passwords_are_evaluated_at_most_five_times(app: TestApp) {
    let org = app.create_org("Acme Aviation").await;
    app.create_user(&org, Role::Member, "max@acme.test").await;
    let statuses = wrong_passwords_at_once(&app, vec!["max@acme.test".to_owned(); 30]).await;
    assert_eq!(
        evaluated_and_throttled(&statuses),
        (5, 25),
        "only the account's limit of guesses may be checked: {statuses:?}"
    );
    // The right password is refused too while the account is paused.
    let paused = app.sign_in_with(&app.new_client(), "max@acme.test", PASSWORD).await;
    assert_eq!(paused.status().as_u16(), 429);
}

async fn thirty_parallel_wrong_passwords_from_one_address_are_evaluated_at_most_twenty_times(app: TestApp) {
    let emails = (0..30).map(|n| format!("u{n}@acme.test")).collect();
    let statuses = wrong_passwords_at_once(&app, emails).await;
    assert_eq!(
        evaluated_and_throttled(&statuses),
        (20, 10),
        "only the address's limit of guesses may be checked: {statuses:?}"
    );
}

async fn a_failed_sign_in_of_a_known_user_shows_in_their_organizations_audit_log(app: TestApp) {
    let (org, _) = app.signed_in_as(Role::SystemAdministrator).await;
    app.create_user(&org, Role::Member, "max@acme.test").await;

    let attacker = app.new_client();
    let known = app.sign_in_with(&attacker, "max@acme.test", "guess").await;
    let unknown = app.sign_in_with(&attacker, "nobody@acme.test", "guess").await;
    assert_eq!(known.status(), unknown.status());
    let known = known.text().await.expect("body").replace("max@acme.test", "EMAIL");
    let unknown = unknown.text().await.expect("body").replace("nobody@acme.test", "EMAIL");
    assert_eq!(known, unknown, "the answer does not tell which emails exist");

    let audit = app
        .client
        .get(app.url("/backoffice/settings/api-keys/audit?action=sign_in_failed"))
        .send()
        .await
        .expect("request");
    assert_eq!(audit.status().as_u16(), 200);
    let body = audit.text().await.expect("body");
    assert!(body.contains("Showing 1–1 of 1"), "{body}");
    assert!(body.contains("max@acme.test"), "{body}");
    assert!(
        !body.contains("nobody@acme.test"),
        "unknown emails belong to no organization: {body}"
    );
}

/// A server that believes `X-Forwarded-For` from the test client (127.0.0.1).
fn behind_a_proxy(settings: &mut keyward::config::Settings) {
    settings.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
}

on_both_backends!(adjusting behind_a_proxy; ipv6_clients_are_counted_per_64_block);

async fn wrong_password_from(app: &TestApp, client: &reqwest::Client, token: &str, email: &str, ip: &str) -> u16 {
    client
        .post(app.url("/login"))
        .header("Origin", &app.address)
        .header("X-Forwarded-For", ip)
        .form(&[("csrf_token", token), ("email", email), ("password", "guess")])
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

async fn ipv6_clients_are_counted_per_64_block(app: TestApp) {
    let client = app.new_client();
    let token = app.csrf_token(&client, "/login").await;
    // 20 addresses of one /64, each failing once on its own account.
    for n in 1..=20 {
        let status = wrong_password_from(
            &app,
            &client,
            &token,
            &format!("u{n}@acme.test"),
            &format!("2001:db8:1:2::{n:x}"),
        )
        .await;
        assert_eq!(status, 401, "attempt {n}");
    }
    let same_block = wrong_password_from(&app, &client, &token, "u21@acme.test", "2001:db8:1:2:ffff::1").await;
    assert_eq!(same_block, 429, "a new address in the same /64 is the same client");
    let next_block = wrong_password_from(&app, &client, &token, "u22@acme.test", "2001:db8:1:3::1").await;
    assert_eq!(next_block, 401, "another /64 has its own budget");
}
