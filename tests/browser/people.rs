//! People administration in the browser, the way QA drives it: by role,
//! name and label. The one-time links are read from the page and opened
//! with none of the administrator's cookies; a user's other session is
//! their own cookies put back after someone changed them. Each flow runs
//! at 1280 px and at 375 px (a phone), leaving `review-people-*`
//! screenshots of each page it passes.

use diesel::prelude::*;
use keyward::domain::role::Role;
use keyward::store::schema::user_links;
use thirtyfour::components::SelectElement;
use thirtyfour::prelude::*;

use crate::accessibility::set_viewport;
use crate::find::{alert, button, field, heading, link, sees, status};
use crate::harness::{review_screenshot_full_page, sign_in, sign_in_with, with_browser};
use crate::support::{PASSWORD, Part, TestApp};
use crate::two_factor::{click, enrolled_over_http, follow, type_into, value_of};

crate::tests!(needs Part::Browser;
    an_invited_user_accepts_in_a_fresh_browser_and_a_role_change_signs_them_out_at_1280_px,
    an_invited_user_accepts_in_a_fresh_browser_and_a_role_change_signs_them_out_at_375_px,
    disabling_enabling_resetting_two_factor_and_a_password_reset_link_at_1280_px,
    disabling_enabling_resetting_two_factor_and_a_password_reset_link_at_375_px,
    the_last_system_administrator_is_refused_beside_the_control_at_1280_px,
    the_last_system_administrator_is_refused_beside_the_control_at_375_px,
    an_invited_user_whose_link_expired_is_sent_a_new_one_at_1280_px,
    an_invited_user_whose_link_expired_is_sent_a_new_one_at_375_px);

pub const USERS: &str = "/backoffice/settings/users";
pub const NEW_PASSWORD: &str = "a brand new passphrase";
pub const DISABLED: &str = "This account is disabled. Ask a System Administrator of your organization to enable it.";

/// Chooses `label` (its exact text) in the select labelled `field_label`.
pub async fn choose(driver: &WebDriver, field_label: &str, label: &str) {
    SelectElement::new(&field(driver, field_label).await)
        .await
        .expect("a select")
        .select_by_exact_text(label)
        .await
        .unwrap_or_else(|error| panic!("cannot choose {label} in {field_label}: {error}"));
}

/// Replaces what the field labelled `label` holds with `text`.
pub async fn retype(driver: &WebDriver, label: &str, text: &str) {
    field(driver, label).await.clear().await.expect("the field is cleared");
    type_into(driver, label, text).await;
}

/// The one-time link the page shows in its read-only field `label`, as a
/// path and query of the app.
pub async fn shown_link(driver: &WebDriver, app: &TestApp, label: &str) -> String {
    let link = value_of(driver, label).await;
    let path = link
        .strip_prefix(&app.url(""))
        .unwrap_or_else(|| panic!("the link {link:?} is on this server"));
    assert!(path.contains("?token="), "{path}");
    format!("/{}", path.trim_start_matches('/'))
}

/// Opens `path` with no cookies at all: a browser that has never signed in.
pub async fn in_a_fresh_browser(driver: &WebDriver, app: &TestApp, path: &str) {
    driver.delete_all_cookies().await.expect("the cookies are cleared");
    driver.goto(app.url(path)).await.expect("the page opens");
}

/// Replaces the browser's cookies with `cookies` (someone's session).
async fn restore(driver: &WebDriver, cookies: &[Cookie]) {
    driver.delete_all_cookies().await.expect("the cookies are cleared");
    for cookie in cookies {
        driver.add_cookie(cookie.clone()).await.expect("the cookie is back");
    }
}

/// Ages every one-time link past its end, in the database.
pub async fn expire_links(app: &TestApp) {
    let past = keyward::store::now() - chrono::TimeDelta::seconds(1);
    app.query(move |conn| {
        diesel::update(user_links::table)
            .set(user_links::expires_at.eq(past))
            .execute(conn)?;
        Ok(())
    })
    .await;
}

/// Opens the page of the user named `name` from the Users table.
pub async fn open_user(driver: &WebDriver, app: &TestApp, name: &str) {
    driver.goto(app.url(USERS)).await.expect("the Users page opens");
    heading(driver, 1, "Users").await;
    follow(driver, name).await;
    heading(driver, 1, name).await;
}

/// The Users table's Status cell of the row whose Name cell starts with `name`.
async fn status_in_table(driver: &WebDriver, name: &str) -> String {
    driver
        .find(By::XPath(format!(
            "//table[@aria-label='Users']//tr[td[1][starts-with(normalize-space(.), {})]]/td[@data-label='Status']",
            crate::find::literal(name)
        )))
        .await
        .unwrap_or_else(|error| panic!("no row for {name}: {error}"))
        .text()
        .await
        .expect("the cell's text")
}

fn px(width: u32) -> &'static str {
    if width < 640 { "375" } else { "1280" }
}

async fn at_width(driver: &WebDriver, width: u32) {
    set_viewport(driver, width, if width < 640 { 800 } else { 900 }).await;
}

async fn an_invited_user_accepts_in_a_fresh_browser_and_a_role_change_signs_them_out_at_1280_px() {
    invite_accept_and_change_role(1280).await;
}

async fn an_invited_user_accepts_in_a_fresh_browser_and_a_role_change_signs_them_out_at_375_px() {
    invite_accept_and_change_role(375).await;
}

async fn invite_accept_and_change_role(width: u32) {
    with_browser(move |driver, app| async move {
        let w = px(width);
        at_width(&driver, width).await;
        let org = app.create_org("Acme Aviation").await;
        let sam = app.create_user(&org, Role::SystemAdministrator, "sam@acme.test").await;
        sign_in(&driver, &app, &sam).await;

        follow(&driver, "Users").await;
        heading(&driver, 1, "Users").await;
        follow(&driver, "Invite user").await;
        heading(&driver, 1, "Invite user").await;
        review_screenshot_full_page(&driver, &format!("people-invite-{w}")).await;
        // A refused form keeps what was typed, each message beside its field.
        type_into(&driver, "Email", "grace@").await;
        click(&driver, "Create invitation link").await;
        alert(&driver).await;
        let email = field(&driver, "Email").await;
        let described = email.attr("aria-describedby").await.expect("attr").unwrap_or_default();
        assert!(described.contains("email-error"), "{described}");
        assert_eq!(email.attr("aria-invalid").await.expect("attr").as_deref(), Some("true"));
        review_screenshot_full_page(&driver, &format!("people-invite-errors-{w}")).await;
        retype(&driver, "Email", "grace@acme.test").await;
        type_into(&driver, "Name", "Grace Hopper").await;
        choose(&driver, "Role", "Administrator").await;
        click(&driver, "Create invitation link").await;

        heading(&driver, 1, "Invitation link").await;
        sees(&driver, "This link is shown once and works once, for 24 hours").await;
        button(&driver, "Copy").await;
        let invitation = shown_link(&driver, &app, "Invitation link").await;
        assert!(invitation.starts_with("/invitation?token="), "{invitation}");
        review_screenshot_full_page(&driver, &format!("people-invitation-link-{w}")).await;
        follow(&driver, "Done").await;
        heading(&driver, 1, "Grace Hopper").await;
        follow(&driver, "← Users").await;
        assert_eq!(status_in_table(&driver, "Grace Hopper").await, "Invited");

        // Opened with none of Sam's cookies.
        in_a_fresh_browser(&driver, &app, &invitation).await;
        heading(&driver, 1, "Accept invitation").await;
        sees(&driver, "You are invited to Keyward as grace@acme.test").await;
        review_screenshot_full_page(&driver, &format!("people-accept-invitation-{w}")).await;
        retype(&driver, "Your name", "Grace B. Hopper").await;
        type_into(&driver, "Password", NEW_PASSWORD).await;
        type_into(&driver, "Confirm password", "not the same passphrase").await;
        click(&driver, "Accept invitation").await;
        alert(&driver).await;
        sees(&driver, "The two passwords are not the same.").await;
        review_screenshot_full_page(&driver, &format!("people-accept-invitation-errors-{w}")).await;
        type_into(&driver, "Password", NEW_PASSWORD).await;
        type_into(&driver, "Confirm password", NEW_PASSWORD).await;
        click(&driver, "Accept invitation").await;
        heading(&driver, 1, "Sign in to Keyward").await;
        sees(&driver, "Your password is set. Sign in with it.").await;
        sign_in_with(&driver, &app, "grace@acme.test", NEW_PASSWORD).await;
        // An Administrator lands on the home page, not the API Keys page.
        heading(&driver, 1, "Welcome, Grace B. Hopper").await;
        let graces_session = driver.get_all_cookies().await.expect("the cookies");
        // Her cookies, put back in a cleared browser, are her session (so
        // the sign-in page below is the role change's doing).
        restore(&driver, &graces_session).await;
        driver.goto(app.url("/backoffice")).await.expect("the page answers");
        heading(&driver, 1, "Welcome, Grace B. Hopper").await;

        // Sam makes her a System Administrator.
        driver.delete_all_cookies().await.expect("the cookies are cleared");
        sign_in(&driver, &app, &sam).await;
        open_user(&driver, &app, "Grace B. Hopper").await;
        sees(&driver, "Administrator").await;
        choose(&driver, "Role", "System Administrator").await;
        click(&driver, "Change role").await;
        let notice = status(&driver).await.text().await.expect("the notice");
        assert_eq!(notice, "Role changed. They were signed out everywhere.");
        review_screenshot_full_page(&driver, &format!("people-user-role-changed-{w}")).await;

        // Her browser's next request is the sign-in page.
        restore(&driver, &graces_session).await;
        driver.goto(app.url("/backoffice")).await.expect("the page answers");
        heading(&driver, 1, "Sign in to Keyward").await;
        sign_in_with(&driver, &app, "grace@acme.test", NEW_PASSWORD).await;
        heading(&driver, 1, "API Keys").await;

        // The invitation is spent.
        in_a_fresh_browser(&driver, &app, &invitation).await;
        heading(&driver, 1, "This invitation cannot be used").await;
        sees(&driver, "This invitation has already been accepted.").await;
        review_screenshot_full_page(&driver, &format!("people-link-used-{w}")).await;
    })
    .await;
}

async fn disabling_enabling_resetting_two_factor_and_a_password_reset_link_at_1280_px() {
    disable_enable_reset(1280).await;
}

async fn disabling_enabling_resetting_two_factor_and_a_password_reset_link_at_375_px() {
    disable_enable_reset(375).await;
}

/// Fills the sign-in form and expects it refused with `message`.
async fn sign_in_refused(driver: &WebDriver, app: &TestApp, email: &str, password: &str) -> String {
    driver.goto(app.url("/login")).await.expect("the login page opens");
    type_into(driver, "Email", email).await;
    type_into(driver, "Password", password).await;
    click(driver, "Sign in").await;
    alert(driver).await.text().await.expect("the message")
}

async fn disable_enable_reset(width: u32) {
    with_browser(move |driver, app| async move {
        let w = px(width);
        at_width(&driver, width).await;
        let org = app.create_org("Acme Aviation").await;
        let sam = app.create_user(&org, Role::SystemAdministrator, "sam@acme.test").await;
        let max = app.create_user(&org, Role::Member, "max@acme.test").await;
        enrolled_over_http(&app, &max).await;
        sign_in(&driver, &app, &sam).await;

        open_user(&driver, &app, "max").await;
        review_screenshot_full_page(&driver, &format!("people-user-{w}")).await;
        click(&driver, "Disable user").await;
        let notice = status(&driver).await.text().await.expect("the notice");
        assert_eq!(notice, "User disabled. They were signed out everywhere.");
        button(&driver, "Enable user").await;
        review_screenshot_full_page(&driver, &format!("people-user-disabled-{w}")).await;
        follow(&driver, "← Users").await;
        assert_eq!(status_in_table(&driver, "max").await, "Disabled");
        click(&driver, "Sign out").await;

        // The right password: told the account is disabled, and no more. A
        // wrong one: the same words as for an email nobody has.
        assert_eq!(sign_in_refused(&driver, &app, &max, PASSWORD).await, DISABLED);
        review_screenshot_full_page(&driver, &format!("people-sign-in-disabled-{w}")).await;
        let wrong = sign_in_refused(&driver, &app, &max, "not the password").await;
        let nobody = sign_in_refused(&driver, &app, "nobody@acme.test", "not the password").await;
        assert_eq!(wrong, nobody);

        sign_in(&driver, &app, &sam).await;
        open_user(&driver, &app, "max").await;
        click(&driver, "Enable user").await;
        let notice = status(&driver).await.text().await.expect("the notice");
        assert_eq!(notice, "User enabled. They can sign in again.");
        click(&driver, "Reset two-factor authentication").await;
        let notice = status(&driver).await.text().await.expect("the notice");
        assert!(notice.starts_with("Two-factor authentication reset."), "{notice}");
        let resets = driver
            .find_all(By::XPath(
                "//button[normalize-space(.)='Reset two-factor authentication']",
            ))
            .await
            .expect("the page can be searched");
        assert!(resets.is_empty(), "it is off now");

        click(&driver, "Issue password-reset link").await;
        heading(&driver, 1, "Password-reset link").await;
        let reset = shown_link(&driver, &app, "Password-reset link").await;
        assert!(reset.starts_with("/password-reset?token="), "{reset}");
        review_screenshot_full_page(&driver, &format!("people-password-reset-link-{w}")).await;

        in_a_fresh_browser(&driver, &app, &reset).await;
        heading(&driver, 1, "Choose a new password").await;
        review_screenshot_full_page(&driver, &format!("people-choose-password-{w}")).await;
        type_into(&driver, "Password", NEW_PASSWORD).await;
        type_into(&driver, "Confirm password", NEW_PASSWORD).await;
        click(&driver, "Set new password").await;
        sees(&driver, "Your password is set. Sign in with it.").await;
        // The old password no longer works; the new one does, with no code
        // asked (two-factor was reset).
        let old = sign_in_refused(&driver, &app, &max, PASSWORD).await;
        assert_eq!(old, nobody);
        sign_in_with(&driver, &app, &max, NEW_PASSWORD).await;
        heading(&driver, 1, "Welcome, max").await;

        in_a_fresh_browser(&driver, &app, &reset).await;
        heading(&driver, 1, "This password-reset link cannot be used").await;
        sees(&driver, "has already been used").await;
    })
    .await;
}

async fn the_last_system_administrator_is_refused_beside_the_control_at_1280_px() {
    last_system_administrator(1280).await;
}

async fn the_last_system_administrator_is_refused_beside_the_control_at_375_px() {
    last_system_administrator(375).await;
}

async fn last_system_administrator(width: u32) {
    with_browser(move |driver, app| async move {
        let w = px(width);
        at_width(&driver, width).await;
        let org = app.create_org("Acme Aviation").await;
        let sam = app.create_user(&org, Role::SystemAdministrator, "sam@acme.test").await;
        app.create_user(&org, Role::Member, "max@acme.test").await;
        sign_in(&driver, &app, &sam).await;

        driver.goto(app.url(USERS)).await.expect("the Users page opens");
        review_screenshot_full_page(&driver, &format!("people-users-{w}")).await;
        follow(&driver, "sam").await;
        heading(&driver, 1, "sam").await;
        choose(&driver, "Role", "Member").await;
        click(&driver, "Change role").await;
        let role = field(&driver, "Role").await;
        assert_eq!(role.attr("aria-invalid").await.expect("attr").as_deref(), Some("true"));
        let described = role.attr("aria-describedby").await.expect("attr").unwrap_or_default();
        assert!(described.split(' ').any(|id| id == "role-error"), "{described}");
        let message = driver
            .find(By::Id("role-error"))
            .await
            .expect("the message")
            .text()
            .await
            .expect("its text");
        assert!(message.contains("last System Administrator"), "{message}");
        review_screenshot_full_page(&driver, &format!("people-user-role-refused-{w}")).await;

        click(&driver, "Disable user").await;
        let message = alert(&driver).await.text().await.expect("the message");
        assert!(message.contains("last System Administrator"), "{message}");
        // Beside the button: in the Access section.
        driver
            .find(By::XPath(
                "//section[@aria-labelledby='access-heading']//*[@role='alert']",
            ))
            .await
            .expect("the message is in the Access section");
        review_screenshot_full_page(&driver, &format!("people-user-disable-refused-{w}")).await;
        // Nothing changed: still a System Administrator, still signed in.
        driver.goto(app.url(USERS)).await.expect("the Users page opens");
        assert_eq!(status_in_table(&driver, "sam").await, "Active");
        link(&driver, "Invite user").await;
    })
    .await;
}

async fn an_invited_user_whose_link_expired_is_sent_a_new_one_at_1280_px() {
    new_invitation_link(1280).await;
}

async fn an_invited_user_whose_link_expired_is_sent_a_new_one_at_375_px() {
    new_invitation_link(375).await;
}

async fn new_invitation_link(width: u32) {
    with_browser(move |driver, app| async move {
        let w = px(width);
        at_width(&driver, width).await;
        let org = app.create_org("Acme Aviation").await;
        let sam = app.create_user(&org, Role::SystemAdministrator, "sam@acme.test").await;
        sign_in(&driver, &app, &sam).await;
        driver
            .goto(app.url(&format!("{USERS}/invite")))
            .await
            .expect("the page opens");
        type_into(&driver, "Email", "grace@acme.test").await;
        type_into(&driver, "Name", "Grace Hopper").await;
        click(&driver, "Create invitation link").await;
        let first = shown_link(&driver, &app, "Invitation link").await;
        expire_links(&app).await;

        in_a_fresh_browser(&driver, &app, &first).await;
        heading(&driver, 1, "This invitation cannot be used").await;
        sees(&driver, "Ask a System Administrator to send you a new invitation link.").await;
        review_screenshot_full_page(&driver, &format!("people-link-expired-{w}")).await;

        sign_in(&driver, &app, &sam).await;
        open_user(&driver, &app, "Grace Hopper").await;
        review_screenshot_full_page(&driver, &format!("people-user-invited-{w}")).await;
        click(&driver, "Send a new invitation link").await;
        heading(&driver, 1, "Invitation link").await;
        sees(&driver, "The previous link no longer works.").await;
        let second = shown_link(&driver, &app, "Invitation link").await;
        assert_ne!(first, second);

        in_a_fresh_browser(&driver, &app, &first).await;
        heading(&driver, 1, "This invitation cannot be used").await;
        in_a_fresh_browser(&driver, &app, &second).await;
        heading(&driver, 1, "Accept invitation").await;
        type_into(&driver, "Password", NEW_PASSWORD).await;
        type_into(&driver, "Confirm password", NEW_PASSWORD).await;
        click(&driver, "Accept invitation").await;
        sees(&driver, "Your password is set. Sign in with it.").await;
        sign_in_with(&driver, &app, "grace@acme.test", NEW_PASSWORD).await;
        heading(&driver, 1, "Welcome, Grace Hopper").await;
    })
    .await;
}
