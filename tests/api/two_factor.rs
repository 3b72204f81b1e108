//! Two-factor authentication over HTTP, on both backends: setting it up,
//! signing in with a code or a recovery code, codes used once, one step of
//! clock skew, the throttle and recovery codes under parallel requests, the
//! organization's requirement, turning it off, what the database keeps and
//! the command line's reset. Codes are computed by the test from the setup
//! key the page shows (`support::two_factor`), as an authenticator app does.

use keyward::domain::role::Role;
use keyward::store::organizations::Organization;

use crate::on_both_backends;
use crate::support::TestApp;
use crate::support::two_factor::{SETUP, code_at_offset, recovery_codes_in, setup_id_in, setup_key_in, wrong_code};

on_both_backends!(
    setting_up_shows_a_qr_code_and_the_key_and_the_first_code_turns_it_on,
    the_secret_being_set_up_is_the_same_on_every_visit_and_for_racing_ones,
    bad_codes_at_setup_are_refused_beside_the_field_and_change_nothing,
    signing_in_asks_for_the_code_after_the_password,
    between_password_and_code_the_session_reaches_nothing,
    a_code_works_once_and_one_step_either_side_but_not_two,
    malformed_codes_are_refused_without_counting_and_wrong_ones_count,
    a_recovery_code_signs_in_once,
    thirty_parallel_wrong_codes_are_evaluated_at_most_five_times,
    one_recovery_code_sent_five_times_at_once_signs_in_once,
    the_code_step_without_a_right_password_goes_back_to_sign_in,
    the_organization_requirement_sends_system_administrators_to_set_it_up_first,
    turning_the_requirement_on_needs_your_own_two_factor_and_only_system_administrators_may,
    turning_it_off_and_new_recovery_codes_need_the_current_code,
    the_database_keeps_neither_the_secret_nor_the_recovery_codes,
    the_command_line_resets_two_factor_and_ends_the_sessions
);

const ACCOUNT: &str = "/backoffice/account";
const TURN_OFF: &str = "/backoffice/account/two-factor/turn-off";
const RECOVERY_CODES: &str = "/backoffice/account/two-factor/recovery-codes";
const SECURITY: &str = "/backoffice/settings/security";

async fn body(response: reqwest::Response) -> String {
    response.text().await.expect("body")
}

/// The details of the organization's audit events of `action`, newest first.
async fn audit_details(app: &TestApp, org: &Organization, action: &'static str) -> Vec<serde_json::Value> {
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

/// Posts `fields` with the CSRF token of the page at `form_page`.
async fn submit(
    app: &TestApp,
    client: &reqwest::Client,
    form_page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let csrf = app.csrf_token(client, form_page).await;
    let mut form = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(fields);
    app.post_form(client, action, &form).await
}

async fn setting_up_shows_a_qr_code_and_the_key_and_the_first_code_turns_it_on(app: TestApp) {
    let (org, _) = app.signed_in_as(Role::SystemAdministrator).await;
    let account = body(app.client.get(app.url(ACCOUNT)).send().await.expect("request")).await;
    assert!(account.contains("Set up two-factor authentication"), "{account}");
    assert!(account.contains("Off"), "{account}");

    let page = app.client.get(app.url(SETUP)).send().await.expect("request");
    assert_eq!(page.status().as_u16(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = body(page).await;
    assert!(
        html.contains("<svg")
            && html.contains("role=\"img\" aria-label=\"QR code to scan with your authenticator app\""),
        "a server-drawn QR code with a name: {html}"
    );
    let key = setup_key_in(&html);
    assert_eq!(key.len(), 39, "32 base32 characters in groups of four: {key}");
    assert!(
        html.contains("Authentication code") && html.contains(">Verify<"),
        "{html}"
    );

    let code = code_at_offset(&key, 0).await;
    let confirmed = app.confirm_setup(&app.client, &html, &code).await;
    assert_eq!(confirmed.status().as_u16(), 200);
    assert_eq!(confirmed.headers()["cache-control"], "no-store");
    let shown = body(confirmed).await;
    let codes = recovery_codes_in(&shown);
    assert_eq!(codes.len(), 10, "{shown}");
    for code in &codes {
        assert_eq!(code.len(), 14, "xxxx-xxxx-xxxx: {code}");
    }
    assert!(shown.contains("Two-factor authentication is on."), "{shown}");

    let account = body(app.client.get(app.url(ACCOUNT)).send().await.expect("request")).await;
    assert!(account.contains("10 of 10"), "{account}");
    assert!(account.contains("Turn off two-factor authentication"), "{account}");
    // On already: the setup page sends back to the account.
    let again = app.client.get(app.url(SETUP)).send().await.expect("request");
    assert_eq!(again.status().as_u16(), 303);
    assert_eq!(again.headers()["location"], ACCOUNT);
    // The Audit log's Action filter offers every two-factor action.
    let audit = body(
        app.client
            .get(app.url("/backoffice/settings/api-keys/audit?action=two_factor_enabled"))
            .send()
            .await
            .expect("request"),
    )
    .await;
    for action in [
        "two_factor_enabled",
        "two_factor_disabled",
        "recovery_codes_regenerated",
        "recovery_code_used",
        "two_factor_code_failed",
        "two_factor_requirement_changed",
    ] {
        assert!(
            audit.contains(&format!("value=\"{action}\"")),
            "{action} in the filter: {audit}"
        );
    }
    assert_eq!(
        audit_details(&app, &org, "two_factor_enabled").await,
        vec![serde_json::json!({
            "before": { "two_factor": false },
            "after": { "two_factor": true, "unused_recovery_codes": 10 },
        })]
    );
}

async fn the_secret_being_set_up_is_the_same_on_every_visit_and_for_racing_ones(app: TestApp) {
    let (org, email) = app.signed_in_as(Role::Member).await;
    let first = body(app.client.get(app.url(SETUP)).send().await.expect("request")).await;
    let second = body(app.client.get(app.url(SETUP)).send().await.expect("request")).await;
    assert_eq!(setup_key_in(&first), setup_key_in(&second));
    assert_eq!(setup_id_in(&first), setup_id_in(&second));
    // The setup is the user's, whichever browser opens it.
    let laptop = app.new_client();
    app.sign_in_with(&laptop, &email, crate::support::PASSWORD).await;
    let third = body(laptop.get(app.url(SETUP)).send().await.expect("request")).await;
    assert_eq!(setup_key_in(&third), setup_key_in(&first));

    // A user with no setup yet, opening it in two windows at once.
    let other = app.create_user(&org, Role::Member, "mia@acme.test").await;
    let client = app.new_client();
    app.sign_in_with(&client, &other, crate::support::PASSWORD).await;
    let (a, b) = tokio::join!(client.get(app.url(SETUP)).send(), client.get(app.url(SETUP)).send());
    let (a, b) = (body(a.expect("request")).await, body(b.expect("request")).await);
    assert_eq!(
        setup_key_in(&a),
        setup_key_in(&b),
        "neither window shows a secret that cannot be confirmed"
    );
    assert_ne!(
        setup_key_in(&a),
        setup_key_in(&first),
        "each user has a secret of their own"
    );

    // The first window's form confirms what it showed.
    let code = code_at_offset(&setup_key_in(&first), 0).await;
    let confirmed = app.confirm_setup(&app.client, &first, &code).await;
    assert_eq!(confirmed.status().as_u16(), 200);
}

async fn bad_codes_at_setup_are_refused_beside_the_field_and_change_nothing(app: TestApp) {
    let (_, email) = app.signed_in_as(Role::Administrator).await;
    let html = body(app.client.get(app.url(SETUP)).send().await.expect("request")).await;
    let (key, id) = (setup_key_in(&html), setup_id_in(&html));
    let wrong = wrong_code(&key).await;
    let two_steps_ago = code_at_offset(&key, -2).await;
    for (code, says) in [
        ("", "Enter the 6-digit code"),
        ("12a456", "digits only"),
        ("12345", "that was 5"),
        ("1234567", "that was 7"),
        (wrong.as_str(), "That code does not match"),
        (two_steps_ago.as_str(), "That code does not match"),
    ] {
        let refused = submit(&app, &app.client, SETUP, SETUP, &[("setup_id", &id), ("code", code)]).await;
        assert_eq!(refused.status().as_u16(), 422, "{code:?}");
        let page = body(refused).await;
        assert!(page.contains(says), "{code:?}: {page}");
        assert!(page.contains("id=\"code-error\""), "beside the field: {page}");
        assert_eq!(setup_key_in(&page), key, "the same secret is shown again");
    }
    // A form of a setup that was started again elsewhere.
    let user_id = user_id_of(&app, &email).await;
    app.query(move |conn| {
        use diesel::prelude::*;
        use keyward::store::schema::totp_enrolments;
        diesel::delete(totp_enrolments::table.filter(totp_enrolments::user_id.eq(user_id))).execute(conn)?;
        Ok(())
    })
    .await;
    // No setup at all (it expired, or was finished elsewhere).
    let code = code_at_offset(&key, 0).await;
    let refused = submit(&app, &app.client, ACCOUNT, SETUP, &[("setup_id", &id), ("code", &code)]).await;
    assert_eq!(refused.status().as_u16(), 422);
    assert!(
        body(refused)
            .await
            .contains("This setup has expired or was finished in another window")
    );
    let restarted = body(app.client.get(app.url(SETUP)).send().await.expect("request")).await;
    assert_ne!(setup_key_in(&restarted), key);
    let code = code_at_offset(&key, 0).await;
    let refused = submit(&app, &app.client, SETUP, SETUP, &[("setup_id", &id), ("code", &code)]).await;
    assert_eq!(refused.status().as_u16(), 422);
    assert!(body(refused).await.contains("restarted in another window"));
    // Nothing is on.
    let account = body(app.client.get(app.url(ACCOUNT)).send().await.expect("request")).await;
    assert!(account.contains("Set up two-factor authentication"), "{account}");
}

async fn user_id_of(app: &TestApp, email: &str) -> String {
    let email = email.to_owned();
    app.query(move |conn| Ok(keyward::store::users::find_by_email(conn, &email)?.expect("a user").id))
        .await
}

async fn signing_in_asks_for_the_code_after_the_password(app: TestApp) {
    let (org, email) = app.signed_in_as(Role::SystemAdministrator).await;
    let enrolled = app.enrol(&app.client).await;

    let client = app.new_client();
    app.sign_in_to_second_step(&client, &email).await;
    let step = client.get(app.url("/login/two-factor")).send().await.expect("request");
    assert_eq!(step.status().as_u16(), 200);
    let page = body(step).await;
    assert!(
        page.contains("Authentication code") && page.contains("Use a recovery code"),
        "{page}"
    );
    let recovery = body(
        client
            .get(app.url("/login/two-factor?method=recovery-code"))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert!(recovery.contains("Recovery code") && recovery.contains("Use an authentication code"));

    // The setup used the current step's code: the next step's is the one
    // that works now (one step of skew).
    let code = code_at_offset(&enrolled.key, 1).await;
    let signed_in = app.send_second_factor(&client, "code", &code).await;
    assert_eq!(signed_in.status().as_u16(), 303);
    assert_eq!(signed_in.headers()["location"], "/backoffice/settings/api-keys");
    let home = client.get(app.url("/backoffice")).send().await.expect("request");
    assert_eq!(home.status().as_u16(), 200, "signed in");
    let sign_ins = audit_details(&app, &org, "signed_in").await;
    assert_eq!(
        sign_ins[0],
        serde_json::json!({ "second_factor": "authentication_code" })
    );
}

async fn between_password_and_code_the_session_reaches_nothing(app: TestApp) {
    let (org, email) = app.signed_in_as(Role::SystemAdministrator).await;
    app.enrol(&app.client).await;
    let key = app.add_api_key_to_new_setup(&org).await;
    let client = app.new_client();
    app.sign_in_to_second_step(&client, &email).await;
    let csrf = app.csrf_token(&client, "/login/two-factor").await;
    let mut checked = 0;
    for (guard, route) in keyward::web::route_listing() {
        if guard == keyward::web::Guard::Public {
            continue;
        }
        let path = route.path.replace("{id}", &uuid::Uuid::now_v7().to_string());
        let method: reqwest::Method = route.method.expect("a method").as_str().parse().expect("a method");
        let response = client
            .request(method.clone(), app.url(&path))
            .header("Origin", &app.origin)
            .form(&[("csrf_token", csrf.as_str())])
            .send()
            .await
            .expect("request");
        let location = response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            response.status().as_u16() == 303 && location.starts_with("/login?next="),
            "{method} {path} let a half signed-in session through: {} {location}",
            response.status()
        );
        checked += 1;
    }
    assert!(checked >= 20, "{checked} routes");
    // The API takes keys only: the session's cookies are no key.
    let me = client.get(app.url("/api/v1/me")).send().await.expect("request");
    assert_eq!(me.status().as_u16(), 401);
    assert!(body(me).await.contains("missing_key"));
    // With the cookies and a key, the key is what counts (and it is Acme's).
    let me = client
        .get(app.url("/api/v1/me"))
        .header("X-API-Key", &key)
        .send()
        .await
        .expect("request");
    assert_eq!(me.status().as_u16(), 200);
}

impl TestApp {
    /// Sets `org` up for keys and gives it one; returns the key.
    async fn add_api_key_to_new_setup(&self, org: &Organization) -> String {
        let setup_org = org.clone();
        self.db
            .transaction(move |conn| {
                keyward::service::keys::bootstrap(conn, &setup_org, &keyward::domain::audit::Actor::Cli, None).map(drop)
            })
            .await
            .expect("set up for keys");
        self.add_api_key(org, crate::support::TestKey::default()).await.1
    }
}

async fn a_code_works_once_and_one_step_either_side_but_not_two(app: TestApp) {
    let (org, email) = app.signed_in_as(Role::SystemAdministrator).await;
    // Set up with the code of the step before: one step of skew.
    let html = body(app.client.get(app.url(SETUP)).send().await.expect("request")).await;
    let key = setup_key_in(&html);
    let before = code_at_offset(&key, -1).await;
    let confirmed = app.confirm_setup(&app.client, &html, &before).await;
    assert_eq!(confirmed.status().as_u16(), 200, "the step before is accepted");

    let client = app.new_client();
    app.sign_in_to_second_step(&client, &email).await;
    for offset in [-2, 2] {
        let code = code_at_offset(&key, offset).await;
        let refused = app.send_second_factor(&client, "code", &code).await;
        assert_eq!(refused.status().as_u16(), 422, "{offset} steps away");
        assert!(body(refused).await.contains("That code is not right"));
    }
    let after = code_at_offset(&key, 1).await;
    let signed_in = app.send_second_factor(&client, "code", &after).await;
    assert_eq!(signed_in.status().as_u16(), 303, "the step after is accepted");

    // The same code again, in another sign-in: refused, it was used.
    let again = app.new_client();
    app.sign_in_to_second_step(&again, &email).await;
    let replayed = app.send_second_factor(&again, "code", &after).await;
    assert_eq!(replayed.status().as_u16(), 422);
    assert!(body(replayed).await.contains("That code was used already"));
    let failures = audit_details(&app, &org, "two_factor_code_failed").await;
    assert_eq!(
        failures[0],
        serde_json::json!({ "during": "sign_in", "factor": "authentication_code", "reason": "already_used" })
    );
    assert_eq!(failures.len(), 3, "two wrong codes and the replay: {failures:?}");
    let still_out = again.get(app.url("/backoffice")).send().await.expect("request");
    assert_eq!(still_out.status().as_u16(), 303);
}

async fn malformed_codes_are_refused_without_counting_and_wrong_ones_count(app: TestApp) {
    let (_, email) = app.signed_in_as(Role::Member).await;
    let enrolled = app.enrol(&app.client).await;
    let client = app.new_client();
    app.sign_in_to_second_step(&client, &email).await;
    for (code, says) in [
        ("", "Enter the 6-digit code"),
        ("abcdef", "digits only"),
        ("12345", "that was 5"),
        ("1234567", "that was 7"),
        ("12 34 5", "that was 5"),
    ] {
        let refused = app.send_second_factor(&client, "code", code).await;
        assert_eq!(refused.status().as_u16(), 422, "{code:?}");
        let page = body(refused).await;
        assert!(page.contains(says), "{code:?}: {page}");
        assert!(page.contains("id=\"second-factor-error\""), "beside the field");
    }
    for (code, says) in [
        ("", "Enter one of your recovery codes"),
        ("abc", "That is not a recovery code"),
    ] {
        let refused = app.send_second_factor(&client, "recovery_code", code).await;
        assert_eq!(refused.status().as_u16(), 422, "{code:?}");
        assert!(body(refused).await.contains(says));
    }
    // Four wrong codes count; a fifth failure is still allowed, then none.
    for _ in 0..4 {
        let code = wrong_code(&enrolled.key).await;
        assert_eq!(
            app.send_second_factor(&client, "code", &code).await.status().as_u16(),
            422
        );
    }
    // Spaces in a right code do not matter.
    let code = code_at_offset(&enrolled.key, 1).await;
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    let signed_in = app.send_second_factor(&client, "code", &spaced).await;
    assert_eq!(signed_in.status().as_u16(), 303, "malformed codes were not counted");
}

async fn a_recovery_code_signs_in_once(app: TestApp) {
    let (org, email) = app.signed_in_as(Role::SystemAdministrator).await;
    let enrolled = app.enrol(&app.client).await;
    let code = &enrolled.recovery_codes[3];

    let client = app.new_client();
    app.sign_in_to_second_step(&client, &email).await;
    // As typed from paper: upper case, spaces for hyphens.
    let typed = code.to_uppercase().replace('-', " ");
    let signed_in = app.send_second_factor(&client, "recovery_code", &typed).await;
    assert_eq!(signed_in.status().as_u16(), 303);
    let account = body(client.get(app.url(ACCOUNT)).send().await.expect("request")).await;
    assert!(account.contains("9 of 10"), "{account}");

    let again = app.new_client();
    app.sign_in_to_second_step(&again, &email).await;
    let refused = app.send_second_factor(&again, "recovery_code", code).await;
    assert_eq!(refused.status().as_u16(), 422);
    assert!(body(refused).await.contains("That recovery code was used already"));
    let unknown = app.send_second_factor(&again, "recovery_code", "0000-0000-0000").await;
    assert_eq!(unknown.status().as_u16(), 422);
    assert!(body(unknown).await.contains("That is not one of your recovery codes"));

    assert_eq!(
        audit_details(&app, &org, "recovery_code_used").await,
        vec![serde_json::json!({
            "during": "sign_in",
            "before": { "unused_recovery_codes": 10 },
            "after": { "unused_recovery_codes": 9 },
        })]
    );
    assert_eq!(
        audit_details(&app, &org, "signed_in").await[0],
        serde_json::json!({ "second_factor": "recovery_code" })
    );
}

async fn thirty_parallel_wrong_codes_are_evaluated_at_most_five_times(app: TestApp) {
    let (_, email) = app.signed_in_as(Role::Member).await;
    let enrolled = app.enrol(&app.client).await;
    let client = app.new_client();
    app.sign_in_to_second_step(&client, &email).await;
    let csrf = app.csrf_token(&client, "/login/two-factor").await;
    let wrong = wrong_code(&enrolled.key).await;
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..30 {
        let (client, url, origin) = (client.clone(), app.url("/login/two-factor"), app.origin.clone());
        let form = [("csrf_token", csrf.clone()), ("code", wrong.clone())];
        attempts.spawn(async move {
            client
                .post(url)
                .header("Origin", origin)
                .form(&form)
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        });
    }
    let statuses = attempts.join_all().await;
    let evaluated = statuses.iter().filter(|s| **s == 422).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(
        (evaluated, throttled),
        (5, 25),
        "only the account's limit of codes may be checked: {statuses:?}"
    );
    // The right code is refused too while the account is paused.
    let code = code_at_offset(&enrolled.key, 1).await;
    let paused = app.send_second_factor(&client, "code", &code).await;
    assert_eq!(paused.status().as_u16(), 429);
    assert!(body(paused).await.contains("Too many failed sign-in attempts"));
}

async fn one_recovery_code_sent_five_times_at_once_signs_in_once(app: TestApp) {
    let (_, email) = app.signed_in_as(Role::Member).await;
    let enrolled = app.enrol(&app.client).await;
    let code = enrolled.recovery_codes[0].clone();
    let mut browsers = Vec::new();
    for _ in 0..5 {
        let client = app.new_client();
        app.sign_in_to_second_step(&client, &email).await;
        let csrf = app.csrf_token(&client, "/login/two-factor").await;
        browsers.push((client, csrf));
    }
    let mut attempts = tokio::task::JoinSet::new();
    for (client, csrf) in browsers {
        let (url, origin, code) = (app.url("/login/two-factor"), app.origin.clone(), code.clone());
        attempts.spawn(async move {
            let response = client
                .post(url)
                .header("Origin", origin)
                .form(&[("csrf_token", csrf), ("recovery_code", code)])
                .send()
                .await
                .expect("request");
            let status = response.status().as_u16();
            (status, response.text().await.expect("body"))
        });
    }
    let answers = attempts.join_all().await;
    let signed_in = answers.iter().filter(|(status, _)| *status == 303).count();
    assert_eq!(signed_in, 1, "{:?}", answers.iter().map(|(s, _)| s).collect::<Vec<_>>());
    for (status, page) in answers.iter().filter(|(status, _)| *status != 303) {
        assert_eq!(*status, 422);
        assert!(page.contains("That recovery code was used already"), "{page}");
    }
}

async fn the_code_step_without_a_right_password_goes_back_to_sign_in(app: TestApp) {
    let (_, email) = app.signed_in_as(Role::Member).await;
    app.enrol(&app.client).await;
    let client = app.new_client();
    let step = client.get(app.url("/login/two-factor")).send().await.expect("request");
    assert_eq!(step.status().as_u16(), 303);
    assert_eq!(step.headers()["location"], "/login");
    let csrf = app.csrf_token(&client, "/login").await;
    let sent = app
        .post_form(
            &client,
            "/login/two-factor",
            &[("csrf_token", &csrf), ("code", "123456")],
        )
        .await;
    assert_eq!(sent.status().as_u16(), 303);
    assert_eq!(sent.headers()["location"], "/login");
    // A wrong password does not lead there either.
    let wrong = app.sign_in_with(&client, &email, "not the password").await;
    assert_eq!(wrong.status().as_u16(), 401);
    let step = client.get(app.url("/login/two-factor")).send().await.expect("request");
    assert_eq!(step.headers()["location"], "/login");
}

async fn the_organization_requirement_sends_system_administrators_to_set_it_up_first(app: TestApp) {
    let (org, _) = app.signed_in_as(Role::SystemAdministrator).await;
    app.enrol(&app.client).await;
    let saved = submit(&app, &app.client, SECURITY, SECURITY, &[("require_two_factor", "on")]).await;
    assert_eq!(saved.status().as_u16(), 303);
    assert_eq!(saved.headers()["location"], "/backoffice/settings/security?saved=1");

    let sue = app.create_user(&org, Role::SystemAdministrator, "sue@acme.test").await;
    let member = app.create_user(&org, Role::Member, "max@acme.test").await;
    let client = app.new_client();
    let signed_in = app.sign_in_with(&client, &sue, crate::support::PASSWORD).await;
    assert_eq!(signed_in.status().as_u16(), 303);
    let csrf = app.csrf_token(&client, SETUP).await;
    for (method, path) in [
        ("GET", "/backoffice"),
        ("GET", "/backoffice/settings/api-keys"),
        ("GET", "/backoffice/settings/api-keys/audit"),
        ("GET", ACCOUNT),
        ("GET", SECURITY),
        ("GET", TURN_OFF),
        ("GET", "/backoffice/no-such-page"),
        ("POST", "/backoffice/settings/api-keys/setup"),
        ("POST", SECURITY),
    ] {
        let response = client
            .request(method.parse().expect("a method"), app.url(path))
            .header("Origin", &app.origin)
            .form(&[("csrf_token", csrf.as_str())])
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 303, "{method} {path}");
        assert_eq!(response.headers()["location"], SETUP, "{method} {path}");
    }
    let htmx = client
        .get(app.url("/backoffice/settings/api-keys"))
        .header("HX-Request", "true")
        .send()
        .await
        .expect("request");
    assert_eq!(htmx.headers()["hx-redirect"], SETUP);
    // The API never takes a session, required or not.
    let api = client.get(app.url("/api/v1/me")).send().await.expect("request");
    assert_eq!(api.status().as_u16(), 401);
    // The setup page says why.
    let page = body(client.get(app.url(SETUP)).send().await.expect("request")).await;
    assert!(
        page.contains("Acme Aviation requires two-factor authentication for System Administrators"),
        "{page}"
    );
    // A Member is not affected.
    let members = app.new_client();
    app.sign_in_with(&members, &member, crate::support::PASSWORD).await;
    let home = members.get(app.url("/backoffice")).send().await.expect("request");
    assert_eq!(home.status().as_u16(), 200);
    // Sign-out still works.
    let out = app.post_form(&client, "/logout", &[("csrf_token", &csrf)]).await;
    assert_eq!(out.status().as_u16(), 303);
    assert_eq!(out.headers()["location"], "/login?signed_out=1");
    // Once set up, everything opens.
    app.sign_in_with(&client, &sue, crate::support::PASSWORD).await;
    app.enrol(&client).await;
    let keys = client
        .get(app.url("/backoffice/settings/api-keys"))
        .send()
        .await
        .expect("request");
    assert_eq!(keys.status().as_u16(), 200);
}

async fn turning_the_requirement_on_needs_your_own_two_factor_and_only_system_administrators_may(app: TestApp) {
    let (org, _) = app.signed_in_as(Role::SystemAdministrator).await;
    let page = body(app.client.get(app.url(SECURITY)).send().await.expect("request")).await;
    assert!(
        page.contains("Require two-factor authentication for System Administrators"),
        "{page}"
    );
    let refused = submit(&app, &app.client, SECURITY, SECURITY, &[("require_two_factor", "on")]).await;
    assert_eq!(refused.status().as_u16(), 422);
    let page = body(refused).await;
    assert!(
        page.contains("Set up two-factor authentication for your own account first"),
        "{page}"
    );
    assert!(page.contains("id=\"require-two-factor-error\""), "beside the checkbox");
    let org_id = org.id.clone();
    let required = app
        .query(move |conn| Ok(keyward::store::organizations::find(conn, &org_id)?.require_totp))
        .await;
    assert!(!required, "nothing changed");

    app.enrol(&app.client).await;
    let on = submit(&app, &app.client, SECURITY, SECURITY, &[("require_two_factor", "on")]).await;
    assert_eq!(on.status().as_u16(), 303);
    let saved = body(
        app.client
            .get(app.url(&format!("{SECURITY}?saved=1")))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert!(saved.contains("Saved.") && saved.contains(" checked"), "{saved}");
    let off = submit(&app, &app.client, SECURITY, SECURITY, &[]).await;
    assert_eq!(off.status().as_u16(), 303);
    let unchanged = submit(&app, &app.client, SECURITY, SECURITY, &[]).await;
    assert_eq!(unchanged.status().as_u16(), 303);
    assert_eq!(
        audit_details(&app, &org, "two_factor_requirement_changed").await,
        vec![
            serde_json::json!({
                "before": { "require_two_factor_for_system_administrators": true },
                "after": { "require_two_factor_for_system_administrators": false },
            }),
            serde_json::json!({
                "before": { "require_two_factor_for_system_administrators": false },
                "after": { "require_two_factor_for_system_administrators": true },
            }),
        ],
        "a save that changes nothing is no event"
    );

    // Administrators and Members get the 403 page, and change nothing.
    let admin = app.create_user(&org, Role::Administrator, "ada@acme.test").await;
    let client = app.new_client();
    app.sign_in_with(&client, &admin, crate::support::PASSWORD).await;
    let csrf = app.csrf_token(&client, "/backoffice").await;
    let denied = app
        .post_form(
            &client,
            SECURITY,
            &[("csrf_token", &csrf), ("require_two_factor", "on")],
        )
        .await;
    assert_eq!(denied.status().as_u16(), 403);
    assert!(body(denied).await.contains("only for System Administrators"));
    assert_eq!(
        audit_details(&app, &org, "two_factor_requirement_changed").await.len(),
        2
    );
}

async fn turning_it_off_and_new_recovery_codes_need_the_current_code(app: TestApp) {
    let (org, _) = app.signed_in_as(Role::Administrator).await;
    // Off: nothing to turn off or regenerate.
    let page = app.client.get(app.url(TURN_OFF)).send().await.expect("request");
    assert_eq!(page.headers()["location"], ACCOUNT);
    for path in [TURN_OFF, RECOVERY_CODES] {
        let refused = submit(&app, &app.client, ACCOUNT, path, &[("code", "123456")]).await;
        assert_eq!(refused.status().as_u16(), 422, "{path}");
        assert!(body(refused).await.contains("is not on for your account"), "{path}");
    }

    let enrolled = app.enrol(&app.client).await;
    let wrong = wrong_code(&enrolled.key).await;
    for path in [TURN_OFF, RECOVERY_CODES] {
        for (code, says) in [
            ("", "Enter the 6-digit code"),
            ("12345", "that was 5"),
            (wrong.as_str(), "That code is not right"),
            ("0000-0000-0000", "That is not one of your recovery codes"),
        ] {
            let refused = submit(&app, &app.client, path, path, &[("code", code)]).await;
            assert_eq!(refused.status().as_u16(), 422, "{path} {code:?}");
            let page = body(refused).await;
            assert!(page.contains(says), "{path} {code:?}: {page}");
            assert!(page.contains("Authentication code"));
        }
    }

    // New recovery codes with a code from the app; the old ones stop working.
    let code = code_at_offset(&enrolled.key, 1).await;
    let renewed = submit(&app, &app.client, RECOVERY_CODES, RECOVERY_CODES, &[("code", &code)]).await;
    assert_eq!(renewed.status().as_u16(), 200);
    let new_codes = recovery_codes_in(&body(renewed).await);
    assert_eq!(new_codes.len(), 10);
    assert!(new_codes.iter().all(|code| !enrolled.recovery_codes.contains(code)));
    let old = submit(
        &app,
        &app.client,
        TURN_OFF,
        TURN_OFF,
        &[("code", &enrolled.recovery_codes[0])],
    )
    .await;
    assert_eq!(old.status().as_u16(), 422);
    assert!(body(old).await.contains("That is not one of your recovery codes"));

    // Turned off with one of the new recovery codes (the phone is lost).
    let off = submit(&app, &app.client, TURN_OFF, TURN_OFF, &[("code", &new_codes[0])]).await;
    assert_eq!(off.status().as_u16(), 303);
    assert_eq!(off.headers()["location"], "/backoffice/account?done=turned-off");
    let account = body(
        app.client
            .get(app.url("/backoffice/account?done=turned-off"))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert!(account.contains("Two-factor authentication is off."), "{account}");
    assert!(account.contains("Set up two-factor authentication"), "{account}");
    assert_eq!(
        audit_details(&app, &org, "recovery_codes_regenerated").await,
        vec![serde_json::json!({
            "before": { "unused_recovery_codes": 10 },
            "after": { "unused_recovery_codes": 10 },
        })]
    );
    assert_eq!(
        audit_details(&app, &org, "two_factor_disabled").await,
        vec![serde_json::json!({
            "before": { "two_factor": true, "unused_recovery_codes": 9 },
            "after": { "two_factor": false, "unused_recovery_codes": 0 },
        })]
    );
    // Signing in needs only the password again.
    let client = app.new_client();
    let signed_in = app
        .sign_in_with(&client, "administrator@acme.test", crate::support::PASSWORD)
        .await;
    assert_eq!(signed_in.headers()["location"], "/backoffice");
}

async fn the_database_keeps_neither_the_secret_nor_the_recovery_codes(app: TestApp) {
    let (_, email) = app.signed_in_as(Role::Member).await;
    // While being set up.
    let html = body(app.client.get(app.url(SETUP)).send().await.expect("request")).await;
    let key = setup_key_in(&html).replace(' ', "");
    let raw = crate::support::two_factor::base32_decode(&key);
    let pending: Vec<String> = app
        .query(|conn| {
            use diesel::prelude::*;
            use keyward::store::schema::totp_enrolments;
            Ok(totp_enrolments::table.select(totp_enrolments::secret).load(conn)?)
        })
        .await;
    assert_eq!(pending.len(), 1);
    let enrolled = {
        let code = code_at_offset(&key, 0).await;
        let confirmed = app.confirm_setup(&app.client, &html, &code).await;
        recovery_codes_in(&body(confirmed).await)
    };
    let user_id = user_id_of(&app, &email).await;
    let (sealed, digests) = app
        .query(move |conn| {
            use diesel::prelude::*;
            use keyward::store::schema::{recovery_codes, users};
            let sealed: Option<String> = users::table.find(&user_id).select(users::totp_secret).first(conn)?;
            let digests: Vec<String> = recovery_codes::table
                .filter(recovery_codes::user_id.eq(&user_id))
                .select(recovery_codes::digest)
                .load(conn)?;
            Ok((sealed.expect("a sealed secret"), digests))
        })
        .await;
    assert_eq!(digests.len(), 10);
    let forms_of_the_secret = [
        key.clone(),
        key.to_lowercase(),
        hex::encode(&raw),
        base64_of(&raw),
        String::from_utf8_lossy(&raw).into_owned(),
    ];
    let stored: Vec<&String> = pending.iter().chain([&sealed]).chain(digests.iter()).collect();
    for text in &stored {
        for form in &forms_of_the_secret {
            assert!(
                !text.contains(form.as_str()),
                "the secret is stored as {form:?} in {text:?}"
            );
        }
        for code in &enrolled {
            assert!(
                !text.contains(code.as_str()) && !text.contains(&code.replace('-', "")),
                "{code} in {text}"
            );
        }
    }
    assert!(sealed.starts_with("v1."), "{sealed}");
    // The SQLite file and its write-ahead log hold none of it either.
    if let crate::support::TestDatabase::Sqlite(dir) = &app.database {
        for entry in std::fs::read_dir(dir.path()).expect("the database folder") {
            let path = entry.expect("an entry").path();
            let bytes = std::fs::read(&path).expect("readable");
            let text = String::from_utf8_lossy(&bytes);
            for form in &forms_of_the_secret[..4] {
                assert!(
                    !text.contains(form.as_str()),
                    "{} holds the secret as {form:?}",
                    path.display()
                );
            }
            assert!(
                !bytes.windows(raw.len()).any(|w| w == raw.as_slice()),
                "{} holds the raw secret",
                path.display()
            );
            for code in &enrolled {
                assert!(
                    !text.contains(&code.replace('-', "")),
                    "{} holds {code}",
                    path.display()
                );
            }
        }
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}

async fn the_command_line_resets_two_factor_and_ends_the_sessions(app: TestApp) {
    let (org, email) = app.signed_in_as(Role::SystemAdministrator).await;
    app.enrol(&app.client).await;
    let signed_in = app.client.get(app.url("/backoffice")).send().await.expect("request");
    assert_eq!(signed_in.status().as_u16(), 200);

    let run = |email: &str| {
        crate::startup::keyward()
            .args([
                "users",
                "reset-2fa",
                email,
                "--database-url",
                app.db_url.connection_string(),
            ])
            .output()
            .expect("runs")
    };
    let output = run(&email);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("Two-factor authentication is off for"), "{said}");
    // The session it had is over, on every instance.
    let ended = app.client.get(app.url("/backoffice")).send().await.expect("request");
    assert_eq!(ended.status().as_u16(), 303);
    // The password alone signs in again.
    let client = app.new_client();
    let again = app.sign_in_with(&client, &email, crate::support::PASSWORD).await;
    assert_eq!(again.headers()["location"], "/backoffice/settings/api-keys");
    let details = audit_details(&app, &org, "two_factor_reset").await;
    assert_eq!(details.len(), 1);
    assert_eq!(details[0]["reason"], "reset");
    assert_eq!(details[0]["sessions_ended"], 1);
    assert_eq!(details[0]["before"]["two_factor"], true);

    let twice = run(&email);
    assert!(twice.status.success());
    assert!(String::from_utf8_lossy(&twice.stdout).contains("nothing changed"));
    let unknown = run("nobody@acme.test");
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no user with the email nobody@acme.test"));
}
