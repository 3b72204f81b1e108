//! Step-up over HTTP, on both backends: once a session's strong check is
//! older than the window (aged in the `sessions` table by
//! `support::step_up`), a dangerous action answers "Confirm it's you"
//! instead of happening; the password (or, with two-factor authentication,
//! a code) lets it happen once, in that session only; wrong answers are
//! refused beside the field, audited and throttled; other actions never ask.

use keyward::domain::role::Role;
use keyward::store::organizations::Organization;

use crate::on_both_backends;
use crate::people::user_id;
use crate::support::two_factor::code_at_offset;
use crate::support::{PASSWORD, TestApp, TestKey};

on_both_backends!(
    an_aged_session_creating_a_full_access_key_is_asked_first_and_nothing_happens,
    the_password_confirms_and_the_key_is_created_once_however_often_the_form_is_sent,
    a_wrong_password_is_refused_beside_the_field_audited_and_throttled,
    with_two_factor_the_code_confirms_and_a_password_does_not,
    a_step_up_in_one_session_does_not_help_another_and_expires_again,
    rotating_revoking_and_deleting_ask_and_another_organizations_key_is_not_found,
    widening_a_key_to_full_access_asks_and_other_changes_never_do,
    turning_off_the_two_factor_requirement_asks_and_turning_it_on_does_not,
    changing_a_users_role_asks_and_another_organizations_user_is_not_found
);

const BASE: &str = "/backoffice/settings/api-keys";
const SECURITY: &str = "/backoffice/settings/security";
const ADMIN: &str = "admin@acme.test";
const TITLE: &str = "Confirm it's you";

async fn body(response: reqwest::Response) -> String {
    response.text().await.expect("body")
}

/// An organization set up for keys with one Full access key ("Test key")
/// and a System Administrator signed in on the default client, whose
/// strong check is already old.
async fn aged_admin(app: &TestApp) -> (Organization, String) {
    let (org, id, _) = app.org_with_api_key("Acme Aviation", TestKey::default()).await;
    app.create_user(&org, Role::SystemAdministrator, ADMIN).await;
    app.sign_in(ADMIN).await;
    app.age_strong_checks(ADMIN).await;
    (org, id)
}

/// How many audit events of `action` the organization has.
async fn events(app: &TestApp, org: &Organization, action: &'static str) -> Vec<serde_json::Value> {
    let org_id = org.id.clone();
    app.query(move |conn| {
        Ok(keyward::store::audit::list_for_org(conn, &org_id, 1000)?
            .into_iter()
            .filter(|event| event.action == action)
            .map(|event| serde_json::from_str(&event.details).expect("JSON details"))
            .collect())
    })
    .await
}

/// Posts `fields` to `path` with a CSRF token of `client`'s session.
async fn post(app: &TestApp, client: &reqwest::Client, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let csrf = app.csrf_token(client, BASE).await;
    let mut form = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(fields);
    app.post_form(client, path, &form).await
}

/// The hidden fields of a step-up dialog, as its form re-posts them.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut rest = &html[html.find("id=\"dialog-title\"").expect("a step-up dialog")..];
    while let Some(at) = rest.find("<input type=\"hidden\" name=\"") {
        rest = &rest[at + 27..];
        let name_end = rest.find('"').expect("name");
        let name = rest[..name_end].to_owned();
        let value_at = rest.find("value=\"").expect("value") + 7;
        let value_end = rest[value_at..].find('"').expect("value end") + value_at;
        fields.push((
            name,
            rest[value_at..value_end].replace("&#x2f;", "/").replace("&#47;", "/"),
        ));
    }
    fields
}

/// Answers the step-up dialog `html` (its hidden fields, which hold the
/// CSRF token) with `field` = `value`, at `path`.
async fn answer(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    html: &str,
    field: &str,
    value: &str,
) -> reqwest::Response {
    let mut form = hidden_fields(html);
    form.push((field.to_owned(), value.to_owned()));
    client
        .post(app.url(path))
        .header("Origin", &app.origin)
        .form(&form)
        .send()
        .await
        .expect("request")
}

const FULL_KEY: [(&str, &str); 3] = [
    ("name", "Flight sync"),
    ("scope_mode", "full"),
    ("networks", "0.0.0.0/0"),
];

async fn asked(response: reqwest::Response) -> String {
    assert_eq!(response.status().as_u16(), 200, "the step-up dialog");
    let html = body(response).await;
    assert!(html.contains(TITLE), "asks to confirm: {html}");
    html
}

async fn an_aged_session_creating_a_full_access_key_is_asked_first_and_nothing_happens(app: TestApp) {
    let (org, _) = aged_admin(&app).await;
    let html = asked(post(&app, &app.client, BASE, &FULL_KEY).await).await;
    assert!(
        html.contains("<label for=\"step-up-answer\">Password</label>"),
        "{html}"
    );
    assert!(
        html.contains(">Confirm</button>") && html.contains(">Cancel</button>"),
        "{html}"
    );
    assert!(html.contains("Creating a key with Full access"), "{html}");
    // The original fields ride along, and the dialog posts back to the action.
    let fields = hidden_fields(&html);
    for (name, value) in FULL_KEY {
        assert!(
            fields.contains(&(name.to_owned(), value.to_owned())),
            "{name} kept: {fields:?}"
        );
    }
    assert!(html.contains(&format!("action=\"{BASE}\"")), "{html}");
    assert!(!html.contains("ask_"), "no secret yet");
    assert_eq!(
        events(&app, &org, "api_key_created").await.len(),
        1,
        "only the fixture's key"
    );
    assert!(events(&app, &org, "identity_confirmed").await.is_empty());
    // htmx gets the dialog aimed at the modal, whatever the form targeted.
    let csrf = app.csrf_token(&app.client, BASE).await;
    let mut form = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(&FULL_KEY);
    let htmx = app
        .client
        .post(app.url(BASE))
        .header("Origin", &app.origin)
        .header("HX-Request", "true")
        .form(&form)
        .send()
        .await
        .expect("request");
    assert_eq!(htmx.headers()["hx-retarget"], "#modal");
    let fragment = body(htmx).await;
    assert!(fragment.contains(TITLE) && !fragment.contains("<html"), "{fragment}");
    // A read-only key is no dangerous action.
    let read_only = post(
        &app,
        &app.client,
        BASE,
        &[("name", "Reader"), ("scope_mode", "read"), ("networks", "0.0.0.0/0")],
    )
    .await;
    assert!(
        body(read_only).await.contains("id=\"new-secret\""),
        "created without asking"
    );
}

async fn the_password_confirms_and_the_key_is_created_once_however_often_the_form_is_sent(app: TestApp) {
    let (org, id) = aged_admin(&app).await;
    let html = asked(post(&app, &app.client, BASE, &FULL_KEY).await).await;
    let confirmed = answer(&app, &app.client, BASE, &html, "step_up_password", PASSWORD).await;
    assert_eq!(confirmed.status().as_u16(), 200);
    let secret_page = body(confirmed).await;
    assert!(
        secret_page.contains("id=\"new-secret\""),
        "the one-time secret follows: {secret_page}"
    );
    // The same step-up form again: the create form's one-time token holds.
    let again = body(answer(&app, &app.client, BASE, &html, "step_up_password", PASSWORD).await).await;
    assert!(!again.contains("id=\"new-secret\""), "no second secret: {again}");
    assert_eq!(
        events(&app, &org, "api_key_created").await.len(),
        2,
        "the fixture's and one more"
    );
    assert_eq!(
        events(&app, &org, "identity_confirmed").await,
        vec![serde_json::json!({ "for": "create_full_access_key", "factor": "password" })]
    );
    // Within the window nothing asks again.
    let revoked = post(&app, &app.client, &format!("{BASE}/{id}/revoke"), &[]).await;
    assert_eq!(revoked.status().as_u16(), 303, "revoked without asking");
}

async fn a_wrong_password_is_refused_beside_the_field_audited_and_throttled(app: TestApp) {
    let (org, _) = aged_admin(&app).await;
    let html = asked(post(&app, &app.client, BASE, &FULL_KEY).await).await;
    let empty = answer(&app, &app.client, BASE, &html, "step_up_password", "").await;
    assert_eq!(empty.status().as_u16(), 422);
    assert!(body(empty).await.contains("Enter your password."));
    for _ in 0..5 {
        let wrong = answer(&app, &app.client, BASE, &html, "step_up_password", "not my password").await;
        assert_eq!(wrong.status().as_u16(), 422);
        let refused = body(wrong).await;
        assert!(
            refused.contains("id=\"step-up-error\"") && refused.contains("That password is not right."),
            "{refused}"
        );
        assert!(refused.contains("aria-invalid=\"true\""));
    }
    assert_eq!(events(&app, &org, "identity_confirmation_failed").await.len(), 5);
    assert_eq!(
        events(&app, &org, "identity_confirmation_failed").await[0],
        serde_json::json!({ "for": "create_full_access_key", "factor": "password", "reason": "wrong" })
    );
    // The sixth try is throttled like a sign-in, even with the right password.
    let throttled = answer(&app, &app.client, BASE, &html, "step_up_password", PASSWORD).await;
    assert_eq!(throttled.status().as_u16(), 429);
    assert!(body(throttled).await.contains("Too many failed"));
    // It is the sign-in throttle: signing in is paused too.
    let other = app.new_client();
    assert_eq!(app.sign_in_with(&other, ADMIN, PASSWORD).await.status().as_u16(), 429);
    assert_eq!(
        events(&app, &org, "api_key_created").await.len(),
        1,
        "nothing was created"
    );
    assert!(events(&app, &org, "identity_confirmed").await.is_empty());
}

async fn with_two_factor_the_code_confirms_and_a_password_does_not(app: TestApp) {
    let (org, id) = aged_admin(&app).await;
    let enrolled = app.enrol(&app.client).await;
    app.age_strong_checks(ADMIN).await;
    let revoke = format!("{BASE}/{id}/revoke");
    let html = asked(post(&app, &app.client, &revoke, &[("return_to", BASE)]).await).await;
    assert!(
        html.contains("<label for=\"step-up-answer\">Authentication code</label>"),
        "{html}"
    );
    let password = answer(&app, &app.client, &revoke, &html, "step_up_code", PASSWORD).await;
    assert_eq!(password.status().as_u16(), 422, "a password is no code");
    let wrong = answer(&app, &app.client, &revoke, &html, "step_up_code", "000000").await;
    assert_eq!(wrong.status().as_u16(), 422);
    assert!(body(wrong).await.contains("That code is not right."));
    assert_eq!(
        events(&app, &org, "two_factor_code_failed").await[0]["during"],
        "step_up"
    );
    assert!(events(&app, &org, "api_key_revoked").await.is_empty());
    // Enrolling used this step's code; the next step's is accepted (skew).
    let code = code_at_offset(&enrolled.key, 1).await;
    let done = answer(&app, &app.client, &revoke, &html, "step_up_code", &code).await;
    assert_eq!(done.status().as_u16(), 303, "revoked");
    assert_eq!(events(&app, &org, "api_key_revoked").await.len(), 1);
    assert_eq!(
        events(&app, &org, "identity_confirmed").await,
        vec![serde_json::json!({ "for": "revoke_key", "factor": "authentication_code" })]
    );
    // A recovery code works too.
    let (second, _) = app
        .add_api_key(
            &org,
            TestKey {
                name: "Second",
                ..TestKey::default()
            },
        )
        .await;
    app.age_strong_checks(ADMIN).await;
    let delete = format!("{BASE}/{second}/delete");
    let html = asked(post(&app, &app.client, &delete, &[]).await).await;
    let done = answer(
        &app,
        &app.client,
        &delete,
        &html,
        "step_up_code",
        &enrolled.recovery_codes[0],
    )
    .await;
    assert_eq!(done.status().as_u16(), 303, "deleted");
    assert_eq!(events(&app, &org, "api_key_deleted").await.len(), 1);
}

async fn a_step_up_in_one_session_does_not_help_another_and_expires_again(app: TestApp) {
    let (org, id) = aged_admin(&app).await;
    let other = app.new_client();
    assert_eq!(app.sign_in_with(&other, ADMIN, PASSWORD).await.status().as_u16(), 303);
    app.age_strong_checks(ADMIN).await;
    let rotate = format!("{BASE}/{id}/rotate");
    let fields = [("grace", "1h"), ("form_token", "")];
    let html = asked(post(&app, &app.client, &rotate, &fields).await).await;
    let done = answer(&app, &app.client, &rotate, &html, "step_up_password", PASSWORD).await;
    assert!(body(done).await.contains("id=\"new-secret\""), "rotated");
    // The other session of the same user still has to confirm.
    asked(post(&app, &other, &rotate, &fields).await).await;
    // And this one again once its step-up is older than the window.
    app.age_strong_checks(ADMIN).await;
    asked(post(&app, &app.client, &rotate, &fields).await).await;
    assert_eq!(events(&app, &org, "api_key_rotated").await.len(), 1);
}

async fn rotating_revoking_and_deleting_ask_and_another_organizations_key_is_not_found(app: TestApp) {
    let (org, id) = aged_admin(&app).await;
    for step in ["rotate", "revoke", "delete"] {
        asked(post(&app, &app.client, &format!("{BASE}/{id}/{step}"), &[("grace", "now")]).await).await;
    }
    for action in ["api_key_rotated", "api_key_revoked", "api_key_deleted"] {
        assert!(events(&app, &org, action).await.is_empty(), "{action}");
    }
    let (_, foreign, _) = app.org_with_api_key("Other Org", TestKey::default()).await;
    for step in ["rotate", "revoke", "delete"] {
        let response = post(
            &app,
            &app.client,
            &format!("{BASE}/{foreign}/{step}"),
            &[("grace", "now")],
        )
        .await;
        assert_eq!(response.status().as_u16(), 404, "{step}");
    }
}

async fn widening_a_key_to_full_access_asks_and_other_changes_never_do(app: TestApp) {
    let (org, id) = aged_admin(&app).await;
    let (reader, _) = app
        .add_api_key(
            &org,
            TestKey {
                name: "Reader",
                scopes: &["read:*"],
                ..TestKey::default()
            },
        )
        .await;
    let edit =
        |name: &'static str, mode: &'static str| [("name", name), ("scope_mode", mode), ("networks", "0.0.0.0/0")];
    // Renaming a Full access key, narrowing it, disabling and enabling: never asked.
    let renamed = post(&app, &app.client, &format!("{BASE}/{id}"), &edit("Renamed", "full")).await;
    assert_eq!(renamed.status().as_u16(), 303, "renamed");
    let narrowed = post(&app, &app.client, &format!("{BASE}/{id}"), &edit("Renamed", "read")).await;
    assert_eq!(narrowed.status().as_u16(), 303, "narrowed");
    for step in ["disable", "enable"] {
        let toggled = post(&app, &app.client, &format!("{BASE}/{id}/{step}"), &[]).await;
        assert_eq!(toggled.status().as_u16(), 303, "{step}");
    }
    assert_eq!(events(&app, &org, "api_key_updated").await.len(), 2);
    // Widening a read-only key to Full access asks.
    let widen = format!("{BASE}/{reader}");
    let html = asked(post(&app, &app.client, &widen, &edit("Reader", "full")).await).await;
    assert!(html.contains("Giving a key Full access"), "{html}");
    assert_eq!(events(&app, &org, "api_key_updated").await.len(), 2, "not widened yet");
    let done = answer(&app, &app.client, &widen, &html, "step_up_password", PASSWORD).await;
    assert_eq!(done.status().as_u16(), 303, "widened");
    assert_eq!(events(&app, &org, "api_key_updated").await.len(), 3);
    assert!(events(&app, &org, "identity_confirmed").await[0]["for"] == "widen_key_to_full_access");
}

async fn turning_off_the_two_factor_requirement_asks_and_turning_it_on_does_not(app: TestApp) {
    let (org, _) = aged_admin(&app).await;
    let enrolled = app.enrol(&app.client).await;
    app.age_strong_checks(ADMIN).await;
    let on = post(&app, &app.client, SECURITY, &[("require_two_factor", "on")]).await;
    assert_eq!(on.status().as_u16(), 303, "turned on without asking");
    let html = asked(post(&app, &app.client, SECURITY, &[]).await).await;
    assert!(html.contains("Turning off the two-factor requirement"), "{html}");
    assert_eq!(
        events(&app, &org, "two_factor_requirement_changed").await.len(),
        1,
        "still on"
    );
    let code = code_at_offset(&enrolled.key, 1).await;
    let off = answer(&app, &app.client, SECURITY, &html, "step_up_code", &code).await;
    assert_eq!(off.status().as_u16(), 303, "turned off");
    assert_eq!(events(&app, &org, "two_factor_requirement_changed").await.len(), 2);
}

async fn changing_a_users_role_asks_and_another_organizations_user_is_not_found(app: TestApp) {
    let (org, _) = aged_admin(&app).await;
    app.create_user(&org, Role::Member, "max@acme.test").await;
    let member = user_id(&app, "max@acme.test").await;
    let path = format!("/backoffice/settings/users/{member}/role");

    let html = asked(post(&app, &app.client, &path, &[("role", "administrator")]).await).await;
    assert!(
        html.contains("Changing a user&#39;s role needs you"),
        "says what for: {html}"
    );
    assert!(
        events(&app, &org, "user_role_changed").await.is_empty(),
        "nothing changed yet"
    );

    let wrong = answer(&app, &app.client, &path, &html, "step_up_password", "not the password").await;
    assert_eq!(wrong.status().as_u16(), 422, "a wrong password changes nothing");
    assert!(events(&app, &org, "user_role_changed").await.is_empty());

    let confirmed = answer(&app, &app.client, &path, &html, "step_up_password", PASSWORD).await;
    assert_eq!(confirmed.status().as_u16(), 303, "changed after confirming");
    let changed = events(&app, &org, "user_role_changed").await;
    assert_eq!(changed.len(), 1, "{changed:?}");

    // Another organization's user: 404 before anyone is asked anything.
    let other = app.create_org("Other Air").await;
    app.create_user(&other, Role::Member, "eve@other.test").await;
    let stranger = user_id(&app, "eve@other.test").await;
    app.age_strong_checks(ADMIN).await;
    let elsewhere = post(
        &app,
        &app.client,
        &format!("/backoffice/settings/users/{stranger}/role"),
        &[("role", "administrator")],
    )
    .await;
    assert_eq!(elsewhere.status().as_u16(), 404);
}
