//! People administration over HTTP: inviting, role changes, disabling and
//! enabling, two-factor and password resets, the one-time links, the last
//! System Administrator (and its race), other organizations' users, and
//! the command line.

use diesel::prelude::*;
use keyward::domain::audit::AuditAction;
use keyward::domain::audit_change::ChangeWords;
use keyward::domain::role::Role;
use keyward::store::organizations::Organization;
use keyward::store::schema::{user_links, users};

use crate::on_both_backends;
use crate::support::{PASSWORD, TestApp};

on_both_backends!(
    an_invitation_link_is_shown_once_and_sets_the_new_users_password_once,
    invitation_errors_are_shown_beside_their_fields_and_nothing_is_created,
    changing_a_role_ends_the_users_sessions_on_every_instance,
    a_disabled_user_cannot_sign_in_and_their_links_stop_working,
    an_expired_invitation_is_refused_and_changes_nothing,
    an_invited_user_can_be_sent_a_new_invitation_link_that_replaces_the_old_one,
    a_password_reset_link_works_once_within_its_hour,
    resetting_two_factor_turns_it_off_and_ends_the_sessions,
    the_last_system_administrator_cannot_be_demoted_or_disabled,
    two_system_administrators_demoting_each_other_at_once_leave_one,
    another_organizations_user_is_not_found,
    the_users_commands_list_disable_enable_set_roles_and_print_reset_links,
);

const USERS: &str = "/backoffice/settings/users";
const NEW_PASSWORD: &str = "a brand new passphrase";

/// Posts `fields` with the CSRF token of the signed-in `client`.
async fn post(app: &TestApp, client: &reqwest::Client, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let csrf = app.csrf_token(client, USERS).await;
    let mut form = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(fields);
    app.post_form(client, path, &form).await
}

pub(crate) async fn user_id(app: &TestApp, email: &str) -> String {
    let email = email.to_owned();
    app.query(move |conn| {
        Ok(users::table
            .filter(users::email.eq(email))
            .select(users::id)
            .first(conn)?)
    })
    .await
}

async fn role_of(app: &TestApp, email: &str) -> String {
    let email = email.to_owned();
    app.query(move |conn| {
        Ok(users::table
            .filter(users::email.eq(email))
            .select(users::role)
            .first(conn)?)
    })
    .await
}

async fn audit_details(app: &TestApp, org: &Organization, action: AuditAction) -> Vec<serde_json::Value> {
    let org_id = org.id.clone();
    app.query(move |conn| {
        Ok(keyward::store::audit::list_for_org(conn, &org_id, 1000)?
            .into_iter()
            .filter(|event| event.action == action.as_str())
            .map(|event| serde_json::from_str(&event.details).expect("JSON details"))
            .collect())
    })
    .await
}

/// The one-time link in a link page, as a path and query.
fn link_in(html: &str) -> String {
    let start = html.find("id=\"one-time-link\"").expect("a link field");
    let text = &html[start..];
    let open = text.find('>').expect("textarea") + 1;
    let close = text.find("</textarea>").expect("end");
    let link = &text[open..close];
    let path = link
        .find("/invitation")
        .or_else(|| link.find("/password-reset"))
        .expect("a link path");
    link[path..].to_owned()
}

fn token_of(link: &str) -> String {
    link.split("token=").nth(1).expect("a token").to_owned()
}

async fn invite(app: &TestApp, email: &str, role: &str) -> reqwest::Response {
    post(
        app,
        &app.client,
        &format!("{USERS}/invite"),
        &[("email", email), ("display_name", "Grace Hopper"), ("role", role)],
    )
    .await
}

/// Opens `link` in a fresh browser and sets `password` (and a name).
async fn use_link(app: &TestApp, link: &str, password: &str) -> reqwest::Response {
    let client = app.new_client();
    let page = client.get(app.url(link)).send().await.expect("request");
    assert_eq!(page.status().as_u16(), 200, "the link opens");
    let html = page.text().await.expect("body");
    let csrf = crate::support::csrf_token_in(&html).expect("a csrf token");
    let path = link.split('?').next().expect("path");
    app.post_form(
        &client,
        path,
        &[
            ("csrf_token", &csrf),
            ("token", &token_of(link)),
            ("display_name", "Grace B. Hopper"),
            ("password", password),
            ("password_confirmation", password),
        ],
    )
    .await
}

async fn status_of(client: &reqwest::Client, app: &TestApp, path: &str) -> u16 {
    client
        .get(app.url(path))
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

async fn an_invitation_link_is_shown_once_and_sets_the_new_users_password_once(app: TestApp) {
    let (org, _) = app.signed_in_as(Role::SystemAdministrator).await;
    let invited = invite(&app, "grace@acme.test", "administrator").await;
    assert_eq!(invited.status().as_u16(), 200);
    assert_eq!(invited.headers()["cache-control"], "no-store");
    let link = link_in(&invited.text().await.expect("body"));
    let token = token_of(&link);
    assert_eq!(token.len(), 40);
    // Only the digest is stored.
    let digests: Vec<String> = app
        .query(|conn| Ok(user_links::table.select(user_links::token_digest).load(conn)?))
        .await;
    assert_eq!(digests, [keyward::service::accounts::token_digest(&token)]);

    // Listed as invited; not able to sign in before accepting.
    let list = app.client.get(app.url(USERS)).send().await.expect("request");
    let html = list.text().await.expect("body");
    assert!(html.contains("aria-label=\"Users\""), "the table is named Users");
    assert!(html.contains("grace@acme.test") && html.contains("Invited"), "{html}");
    let early = app.sign_in_with(&app.new_client(), "grace@acme.test", PASSWORD).await;
    assert_eq!(early.status().as_u16(), 401);

    let accepted = use_link(&app, &link, NEW_PASSWORD).await;
    assert_eq!(accepted.status().as_u16(), 303);
    assert_eq!(accepted.headers()["location"], "/login?password_set=1");
    let client = app.new_client();
    let signed_in = app.sign_in_with(&client, "grace@acme.test", NEW_PASSWORD).await;
    assert_eq!(signed_in.status().as_u16(), 303);
    assert_eq!(signed_in.headers()["location"], "/backoffice");
    assert_eq!(role_of(&app, "grace@acme.test").await, "administrator");

    // Spent: opening or posting it again changes nothing.
    assert_eq!(status_of(&app.new_client(), &app, &link).await, 410);
    let replay = app.new_client();
    let csrf = app.csrf_token(&replay, "/login").await;
    let again = app
        .post_form(
            &replay,
            "/invitation",
            &[
                ("csrf_token", &csrf),
                ("token", &token),
                ("display_name", "Mallory"),
                ("password", "another passphrase here"),
                ("password_confirmation", "another passphrase here"),
            ],
        )
        .await;
    assert_eq!(again.status().as_u16(), 410);
    assert!(again.text().await.expect("body").contains("already been accepted"));
    let forged = format!("/invitation?token={}", "x".repeat(40));
    assert_eq!(status_of(&app.new_client(), &app, &forged).await, 404);

    let invited = audit_details(&app, &org, AuditAction::UserInvited).await;
    assert_eq!(invited.len(), 1);
    assert_eq!(invited[0]["after"]["role"], "administrator");
    let accepted = audit_details(&app, &org, AuditAction::InvitationAccepted).await;
    assert_eq!(accepted.len(), 1);
    assert_eq!(
        ChangeWords::of(Some(AuditAction::InvitationAccepted), &accepted[0]).lines(),
        [
            "Status: Invited → Active",
            "Display name: Grace Hopper → Grace B. Hopper"
        ]
    );
}

async fn invitation_errors_are_shown_beside_their_fields_and_nothing_is_created(app: TestApp) {
    let (_, admin) = app.signed_in_as(Role::SystemAdministrator).await;
    let bad_role = invite(&app, "grace@acme.test", "root").await;
    assert_eq!(bad_role.status().as_u16(), 422);
    let html = bad_role.text().await.expect("body");
    assert!(html.contains("id=\"role-error\""), "{html}");
    assert!(html.contains("Choose a role"));
    let taken = invite(&app, &admin, "member").await;
    assert_eq!(taken.status().as_u16(), 422);
    let html = taken.text().await.expect("body");
    assert!(
        html.contains("id=\"email-error\"") && html.contains("already exists"),
        "{html}"
    );
    let bad_email = invite(&app, "not-an-email", "member").await;
    assert_eq!(bad_email.status().as_u16(), 422);
    let (people, links): (i64, i64) = app
        .query(|conn| {
            Ok((
                users::table.count().get_result(conn)?,
                user_links::table.count().get_result(conn)?,
            ))
        })
        .await;
    assert_eq!((people, links), (1, 0));
    // Without the CSRF token: refused.
    let forged = app
        .post_form(
            &app.client,
            &format!("{USERS}/invite"),
            &[("email", "eve@acme.test"), ("display_name", "Eve"), ("role", "member")],
        )
        .await;
    assert_eq!(forged.status().as_u16(), 403);
}

async fn changing_a_role_ends_the_users_sessions_on_every_instance(app: TestApp) {
    let (org, _) = app.signed_in_as(Role::SystemAdministrator).await;
    let member = app.create_user(&org, Role::Member, "max@acme.test").await;
    let other = app.another_instance().await;
    let theirs = other.new_client();
    assert_eq!(
        other.sign_in_with(&theirs, &member, PASSWORD).await.status().as_u16(),
        303
    );
    assert_eq!(status_of(&theirs, &other, "/backoffice").await, 200);

    let id = user_id(&app, &member).await;
    let changed = post(
        &app,
        &app.client,
        &format!("{USERS}/{id}/role"),
        &[("role", "administrator")],
    )
    .await;
    assert_eq!(changed.status().as_u16(), 303);
    assert_eq!(
        changed.headers()["location"],
        format!("{USERS}/{id}?done=role").as_str()
    );
    assert_eq!(role_of(&app, &member).await, "administrator");
    // Their next request, on the other instance, is the sign-in page.
    let next = theirs.get(other.url("/backoffice")).send().await.expect("request");
    assert_eq!(next.status().as_u16(), 303);
    assert!(
        next.headers()["location"]
            .to_str()
            .expect("location")
            .starts_with("/login")
    );

    let bad = post(&app, &app.client, &format!("{USERS}/{id}/role"), &[("role", "viewer")]).await;
    assert_eq!(bad.status().as_u16(), 422);
    assert!(bad.text().await.expect("body").contains("id=\"role-error\""));
    assert_eq!(role_of(&app, &member).await, "administrator");

    let details = audit_details(&app, &org, AuditAction::UserRoleChanged).await;
    assert_eq!(details.len(), 1);
    assert_eq!(details[0]["sessions_ended"], 1);
    assert!(
        ChangeWords::of(Some(AuditAction::UserRoleChanged), &details[0])
            .lines()
            .contains(&"Role: Member → Administrator".to_owned())
    );
}

async fn a_disabled_user_cannot_sign_in_and_their_links_stop_working(app: TestApp) {
    let (org, _) = app.signed_in_as(Role::SystemAdministrator).await;
    let member = app.create_user(&org, Role::Member, "max@acme.test").await;
    let id = user_id(&app, &member).await;
    let theirs = app.new_client();
    app.sign_in_with(&theirs, &member, PASSWORD).await;
    let issued = post(&app, &app.client, &format!("{USERS}/{id}/password-reset"), &[]).await;
    assert_eq!(issued.status().as_u16(), 200);
    let link = link_in(&issued.text().await.expect("body"));
    // Issuing the link already signed them out.
    assert_eq!(status_of(&theirs, &app, "/backoffice").await, 303);
    app.sign_in_with(&theirs, &member, PASSWORD).await;

    let disabled = post(&app, &app.client, &format!("{USERS}/{id}/disable"), &[]).await;
    assert_eq!(disabled.status().as_u16(), 303);
    assert_eq!(status_of(&theirs, &app, "/backoffice").await, 303, "signed out at once");
    let refused = app.sign_in_with(&app.new_client(), &member, PASSWORD).await;
    assert_eq!(refused.status().as_u16(), 403);
    assert!(refused.text().await.expect("body").contains("This account is disabled"));
    assert_eq!(status_of(&app.new_client(), &app, &link).await, 410);
    let reissue = post(&app, &app.client, &format!("{USERS}/{id}/password-reset"), &[]).await;
    assert_eq!(reissue.status().as_u16(), 422);
    assert!(reissue.text().await.expect("body").contains("is disabled"));

    let list = app.client.get(app.url(USERS)).send().await.expect("request");
    assert!(list.text().await.expect("body").contains("Disabled"));
    let enabled = post(&app, &app.client, &format!("{USERS}/{id}/enable"), &[]).await;
    assert_eq!(enabled.status().as_u16(), 303);
    assert_eq!(
        app.sign_in_with(&app.new_client(), &member, PASSWORD)
            .await
            .status()
            .as_u16(),
        303
    );
    // The link stays spent after enabling.
    assert_eq!(status_of(&app.new_client(), &app, &link).await, 404);

    let disabled = audit_details(&app, &org, AuditAction::UserDisabled).await;
    assert_eq!(
        ChangeWords::of(Some(AuditAction::UserDisabled), &disabled[0])
            .lines()
            .last(),
        Some(&"Status: Active → Disabled".to_owned())
    );
    assert_eq!(audit_details(&app, &org, AuditAction::UserEnabled).await.len(), 1);
    assert_eq!(
        audit_details(&app, &org, AuditAction::PasswordResetIssued).await.len(),
        1
    );
}

/// Ages every link by moving its expiry into the past, in the database.
async fn expire_links(app: &TestApp) {
    let past = keyward::store::now() - chrono::TimeDelta::seconds(1);
    app.query(move |conn| {
        diesel::update(user_links::table)
            .set(user_links::expires_at.eq(past))
            .execute(conn)?;
        Ok(())
    })
    .await;
}

async fn an_expired_invitation_is_refused_and_changes_nothing(app: TestApp) {
    app.signed_in_as(Role::SystemAdministrator).await;
    let invited = invite(&app, "grace@acme.test", "member").await;
    let link = link_in(&invited.text().await.expect("body"));
    expire_links(&app).await;
    let page = app.new_client().get(app.url(&link)).send().await.expect("request");
    assert_eq!(page.status().as_u16(), 410);
    assert!(page.text().await.expect("body").contains("has expired"));
    let invited_at: Option<chrono::NaiveDateTime> = app
        .query(|conn| {
            Ok(users::table
                .filter(users::email.eq("grace@acme.test"))
                .select(users::invited_at)
                .first(conn)?)
        })
        .await;
    assert!(invited_at.is_some(), "still only invited");
}

async fn an_invited_user_can_be_sent_a_new_invitation_link_that_replaces_the_old_one(app: TestApp) {
    let (org, _) = app.signed_in_as(Role::SystemAdministrator).await;
    let invited = invite(&app, "grace@acme.test", "member").await;
    let first = link_in(&invited.text().await.expect("body"));
    expire_links(&app).await;
    let id = user_id(&app, "grace@acme.test").await;
    let page = app
        .client
        .get(app.url(&format!("{USERS}/{id}")))
        .send()
        .await
        .expect("request");
    let html = page.text().await.expect("body");
    assert!(html.contains("Send a new invitation link"), "{html}");
    assert!(!html.contains("Issue password-reset link"), "not before they accept");

    // Without the CSRF token: refused, and the old link is not replaced.
    let forged = app
        .post_form(&app.client, &format!("{USERS}/{id}/invitation"), &[])
        .await;
    assert_eq!(forged.status().as_u16(), 403);
    let renewed = post(&app, &app.client, &format!("{USERS}/{id}/invitation"), &[]).await;
    assert_eq!(renewed.status().as_u16(), 200);
    assert_eq!(renewed.headers()["cache-control"], "no-store");
    let html = renewed.text().await.expect("body");
    assert!(html.contains("The previous link no longer works."), "{html}");
    let second = link_in(&html);
    assert_ne!(token_of(&first), token_of(&second));
    // The old link is gone (only the new one's digest is kept).
    assert_eq!(status_of(&app.new_client(), &app, &first).await, 404);
    let links: i64 = app.query(|conn| Ok(user_links::table.count().get_result(conn)?)).await;
    assert_eq!(links, 1);

    let renewals = audit_details(&app, &org, AuditAction::InvitationRenewed).await;
    assert_eq!(renewals.len(), 1);
    let words = ChangeWords::of(Some(AuditAction::InvitationRenewed), &renewals[0]);
    assert!(
        words.lines().len() == 1 && words.lines()[0].starts_with("Link expires at: "),
        "{words:?}"
    );
    assert!(
        renewals[0]["before"]["link_expires_at"].is_string(),
        "the expired link's end"
    );

    assert_eq!(use_link(&app, &second, NEW_PASSWORD).await.status().as_u16(), 303);
    // Accepted: a new invitation link is refused (422) and changes nothing.
    let again = post(&app, &app.client, &format!("{USERS}/{id}/invitation"), &[]).await;
    assert_eq!(again.status().as_u16(), 422);
    assert!(
        again
            .text()
            .await
            .expect("body")
            .contains("has accepted their invitation already")
    );
    // A disabled invited user gets none either.
    invite(&app, "hedy@acme.test", "member").await;
    let hedy = user_id(&app, "hedy@acme.test").await;
    post(&app, &app.client, &format!("{USERS}/{hedy}/disable"), &[]).await;
    let disabled = post(&app, &app.client, &format!("{USERS}/{hedy}/invitation"), &[]).await;
    assert_eq!(disabled.status().as_u16(), 422);
    assert!(disabled.text().await.expect("body").contains("is disabled"));
    // Enabled again, their old link stays dead, and a new one works.
    post(&app, &app.client, &format!("{USERS}/{hedy}/enable"), &[]).await;
    let renewed = post(&app, &app.client, &format!("{USERS}/{hedy}/invitation"), &[]).await;
    assert_eq!(renewed.status().as_u16(), 200);
    let link = link_in(&renewed.text().await.expect("body"));
    assert_eq!(use_link(&app, &link, NEW_PASSWORD).await.status().as_u16(), 303);
    assert_eq!(audit_details(&app, &org, AuditAction::InvitationRenewed).await.len(), 2);
}

async fn a_password_reset_link_works_once_within_its_hour(app: TestApp) {
    let (org, _) = app.signed_in_as(Role::SystemAdministrator).await;
    let member = app.create_user(&org, Role::Member, "max@acme.test").await;
    let id = user_id(&app, &member).await;
    let first = post(&app, &app.client, &format!("{USERS}/{id}/password-reset"), &[]).await;
    let first = link_in(&first.text().await.expect("body"));
    expire_links(&app).await;
    assert_eq!(status_of(&app.new_client(), &app, &first).await, 410);

    let second = post(&app, &app.client, &format!("{USERS}/{id}/password-reset"), &[]).await;
    let second = link_in(&second.text().await.expect("body"));
    // A short password is refused beside its field and spends nothing.
    let client = app.new_client();
    let csrf = app.csrf_token(&client, &second).await;
    let short = app
        .post_form(
            &client,
            "/password-reset",
            &[
                ("csrf_token", &csrf),
                ("token", &token_of(&second)),
                ("password", "short"),
                ("password_confirmation", "short"),
            ],
        )
        .await;
    assert_eq!(short.status().as_u16(), 422);
    assert!(short.text().await.expect("body").contains("id=\"password-error\""));
    let theirs = app.new_client();
    app.sign_in_with(&theirs, &member, PASSWORD).await;

    let used = use_link(&app, &second, NEW_PASSWORD).await;
    assert_eq!(used.status().as_u16(), 303);
    assert_eq!(
        status_of(&theirs, &app, "/backoffice").await,
        303,
        "their sessions ended"
    );
    assert_eq!(
        app.sign_in_with(&app.new_client(), &member, PASSWORD)
            .await
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        app.sign_in_with(&app.new_client(), &member, NEW_PASSWORD)
            .await
            .status()
            .as_u16(),
        303
    );
    assert_eq!(status_of(&app.new_client(), &app, &second).await, 410);
    let used = audit_details(&app, &org, AuditAction::PasswordResetUsed).await;
    assert_eq!(used.len(), 1);
    assert_eq!(used[0]["sessions_ended"], 1);
}

async fn resetting_two_factor_turns_it_off_and_ends_the_sessions(app: TestApp) {
    let (org, _) = app.signed_in_as(Role::SystemAdministrator).await;
    let member = app.create_user(&org, Role::Member, "max@acme.test").await;
    let theirs = app.new_client();
    app.sign_in_with(&theirs, &member, PASSWORD).await;
    app.enrol(&theirs).await;
    let id = user_id(&app, &member).await;
    let reset = post(&app, &app.client, &format!("{USERS}/{id}/reset-two-factor"), &[]).await;
    assert_eq!(reset.status().as_u16(), 303);
    assert_eq!(status_of(&theirs, &app, "/backoffice").await, 303);
    // The password alone signs in again.
    let again = app.sign_in_with(&app.new_client(), &member, PASSWORD).await;
    assert_eq!(again.headers()["location"], "/backoffice");
    let details = audit_details(&app, &org, AuditAction::TwoFactorReset).await;
    assert_eq!(details.len(), 1);
    assert_eq!(details[0]["before"]["two_factor"], true);
}

async fn the_last_system_administrator_cannot_be_demoted_or_disabled(app: TestApp) {
    let (org, admin) = app.signed_in_as(Role::SystemAdministrator).await;
    let id = user_id(&app, &admin).await;
    let demote = post(&app, &app.client, &format!("{USERS}/{id}/role"), &[("role", "member")]).await;
    assert_eq!(demote.status().as_u16(), 422);
    assert!(demote.text().await.expect("body").contains("last System Administrator"));
    let disable = post(&app, &app.client, &format!("{USERS}/{id}/disable"), &[]).await;
    assert_eq!(disable.status().as_u16(), 422);
    assert!(
        disable
            .text()
            .await
            .expect("body")
            .contains("last System Administrator")
    );
    assert_eq!(role_of(&app, &admin).await, "system-administrator");
    assert_eq!(
        status_of(&app.client, &app, USERS).await,
        200,
        "still signed in, still an administrator"
    );
    // An invited System Administrator does not count until they accept.
    invite(&app, "grace@acme.test", "system-administrator").await;
    let demote = post(&app, &app.client, &format!("{USERS}/{id}/role"), &[("role", "member")]).await;
    assert_eq!(demote.status().as_u16(), 422);
    assert!(audit_details(&app, &org, AuditAction::UserRoleChanged).await.is_empty());
}

async fn two_system_administrators_demoting_each_other_at_once_leave_one(app: TestApp) {
    let (org, ada) = app.signed_in_as(Role::SystemAdministrator).await;
    let grace = app
        .create_user(&org, Role::SystemAdministrator, "grace@acme.test")
        .await;
    let graces = app.new_client();
    app.sign_in_with(&graces, &grace, PASSWORD).await;
    let (ada_id, grace_id) = (user_id(&app, &ada).await, user_id(&app, &grace).await);
    let ada_csrf = app.csrf_token(&app.client, USERS).await;
    let grace_csrf = app.csrf_token(&graces, USERS).await;
    let (ada_path, grace_path) = (format!("{USERS}/{grace_id}/role"), format!("{USERS}/{ada_id}/role"));
    let ada_form = [("csrf_token", ada_csrf.as_str()), ("role", "member")];
    let grace_form = [("csrf_token", grace_csrf.as_str()), ("role", "member")];
    let (by_ada, by_grace) = tokio::join!(
        app.post_form(&app.client, &ada_path, &ada_form),
        app.post_form(&graces, &grace_path, &grace_form),
    );
    // One wins; the other is told why (422), or, if the winner's change
    // ended its session first, is sent to sign in.
    let won = |answer: &reqwest::Response| {
        answer
            .headers()
            .get("location")
            .is_some_and(|location| location.to_str().is_ok_and(|l| l.ends_with("?done=role")))
    };
    assert_eq!(
        u8::from(won(&by_ada)) + u8::from(won(&by_grace)),
        1,
        "exactly one demotion happened"
    );
    let org_id = org.id.clone();
    let admins: i64 = app
        .query(move |conn| {
            Ok(users::table
                .filter(users::org_id.eq(org_id))
                .filter(users::role.eq("system-administrator"))
                .count()
                .get_result(conn)?)
        })
        .await;
    assert_eq!(admins, 1);
}

async fn another_organizations_user_is_not_found(app: TestApp) {
    app.signed_in_as(Role::SystemAdministrator).await;
    let globex = app.create_org("Globex").await;
    let theirs = app.create_user(&globex, Role::Member, "hank@globex.test").await;
    let id = user_id(&app, &theirs).await;
    assert_eq!(status_of(&app.client, &app, &format!("{USERS}/{id}")).await, 404);
    for (action, fields) in [
        ("role", vec![("role", "system-administrator")]),
        ("role", vec![("role", "nonsense")]),
        ("disable", vec![]),
        ("enable", vec![]),
        ("reset-two-factor", vec![]),
        ("password-reset", vec![]),
        ("invitation", vec![]),
    ] {
        let answer = post(&app, &app.client, &format!("{USERS}/{id}/{action}"), &fields).await;
        assert_eq!(answer.status().as_u16(), 404, "{action}");
    }
    assert_eq!(role_of(&app, &theirs).await, "member");
    let links: i64 = app.query(|conn| Ok(user_links::table.count().get_result(conn)?)).await;
    assert_eq!(links, 0);
    let list = app.client.get(app.url(USERS)).send().await.expect("request");
    assert!(!list.text().await.expect("body").contains("hank@globex.test"));
}

async fn the_users_commands_list_disable_enable_set_roles_and_print_reset_links(app: TestApp) {
    let org = app.create_org("Acme Aviation").await;
    let admin = app.create_user(&org, Role::SystemAdministrator, "ada@acme.test").await;
    let member = app.create_user(&org, Role::Member, "max@acme.test").await;
    let db = app.db_url.connection_string();
    let run = |args: &[&str]| {
        crate::startup::keyward()
            .arg("users")
            .args(args)
            .args(["--database-url", db])
            .output()
            .expect("runs")
    };
    let listed = run(&["list"]);
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    let table = String::from_utf8_lossy(&listed.stdout);
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table.contains("max@acme.test") && table.contains("Member") && table.contains("Active"),
        "{table}"
    );

    assert!(run(&["disable", &member]).status.success());
    assert!(String::from_utf8_lossy(&run(&["list"]).stdout).contains("Disabled"));
    assert!(run(&["enable", &member]).status.success());
    let promoted = run(&["set-role", &member, "administrator"]);
    assert!(promoted.status.success());
    assert_eq!(role_of(&app, &member).await, "administrator");

    let reset = run(&["reset-password", &member, "--public-url", "https://keys.acme.test"]);
    assert!(reset.status.success(), "{}", String::from_utf8_lossy(&reset.stderr));
    let link = String::from_utf8_lossy(&reset.stdout).trim().to_owned();
    assert!(
        link.starts_with("https://keys.acme.test/password-reset?token="),
        "{link}"
    );
    let path = link.trim_start_matches("https://keys.acme.test");
    assert_eq!(use_link(&app, path, NEW_PASSWORD).await.status().as_u16(), 303);

    for (args, message) in [
        (vec!["disable", admin.as_str()], "last System Administrator"),
        (vec!["set-role", admin.as_str(), "member"], "last System Administrator"),
        (vec!["set-role", member.as_str(), "viewer"], "unknown role"),
        (
            vec!["disable", "nobody@acme.test"],
            "no user with the email nobody@acme.test",
        ),
    ] {
        let refused = run(&args);
        assert!(!refused.status.success(), "{args:?}");
        let said = String::from_utf8_lossy(&refused.stderr);
        assert!(said.contains(message), "{args:?}: {said}");
    }
    assert_eq!(role_of(&app, &admin).await, "system-administrator");
}
