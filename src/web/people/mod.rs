//! `/backoffice/settings/users`: System Administrators see their
//! organization's people and invite, change, disable and enable them, reset
//! their two-factor authentication and issue password-reset links (the
//! role guard wraps the whole scope). Plain pages and forms: everything
//! works without JavaScript. The one-time links are shown once, in the
//! answer to the form that made them (backoffice pages are `no-store`).

pub mod links;

use std::net::IpAddr;

use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, web};
use askama::Template;

use super::api_keys::dialog::ApiBase;
use super::step_up::StepUpForm;
use super::{Layout, render, see_other};
use crate::auth::client_ip::ClientIp;
use crate::auth::guard::CurrentUser;
use crate::auth::password::PasswordHasher;
use crate::domain::ValidationError;
use crate::domain::audit::Actor;
use crate::domain::people::{LinkPurpose, UserStatus};
use crate::domain::role::Role;
use crate::domain::time::for_people;
use crate::domain::user::{DisplayName, Email, NewPassword};
use crate::error::AppError;
use crate::routing::RouteTable;
use crate::service::people::{self as service, IssuedLink};
use crate::service::step_up::DangerousAction;
use crate::store::users::User;
use crate::store::{Db, DbConnection};

/// Where the pages are mounted (the System Administrators' guard wraps them).
pub const BASE: &str = "/backoffice/settings/users";

/// The routes, relative to `BASE`.
pub fn route_table() -> RouteTable {
    RouteTable::default()
        .path("", (), |r| r.on(Method::GET, list_users))
        .path("/invite", (), |r| {
            r.on(Method::GET, invite_user_form).on(Method::POST, invite_user)
        })
        .path("/{id}", (), |r| r.on(Method::GET, show_user))
        // Its own handler, so the step-up guard can wrap it alone.
        .path("/{id}/role", (), |r| r.on(Method::POST, change_user_role))
        .path("/{id}/disable", (), |r| r.on(Method::POST, set_user_disabled::<true>))
        .path("/{id}/enable", (), |r| r.on(Method::POST, set_user_disabled::<false>))
        .path("/{id}/reset-two-factor", (), |r| {
            r.on(Method::POST, reset_user_two_factor)
        })
        .path("/{id}/password-reset", (), |r| r.on(Method::POST, issue_password_reset))
        .path("/{id}/invitation", (), |r| r.on(Method::POST, renew_invitation))
}

/// A user as the table and their page show them.
struct Person {
    id: String,
    display_name: String,
    email: String,
    role_label: &'static str,
    two_factor: bool,
    last_sign_in: String,
    status: &'static str,
    status_class: &'static str,
    disabled: bool,
    invited: bool,
    is_you: bool,
}

impl Person {
    fn of(user: &User, current: &CurrentUser) -> Self {
        let status = UserStatus::of(user.disabled_at, user.invited_at);
        Self {
            id: user.id.clone(),
            display_name: user.display_name.clone(),
            email: user.email.clone(),
            role_label: user.role.parse::<Role>().map_or("Unknown", Role::label),
            two_factor: user.totp_enabled_at.is_some(),
            last_sign_in: user.last_sign_in_at.map_or_else(|| "Never".to_owned(), for_people),
            status: status.label(),
            status_class: match status {
                UserStatus::Active => "badge-active",
                UserStatus::Invited => "badge-expired",
                UserStatus::Disabled => "badge-disabled",
            },
            disabled: status == UserStatus::Disabled,
            invited: status == UserStatus::Invited,
            is_you: user.id == current.user.id,
        }
    }
}

/// What a change did, said once on the page it redirects to (`?done=…`:
/// a fixed code, never text from the request).
#[derive(serde::Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

fn done_message(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "role" => "Role changed. They were signed out everywhere.",
        "disabled" => "User disabled. They were signed out everywhere.",
        "enabled" => "User enabled. They can sign in again.",
        "two-factor" => "Two-factor authentication reset. They were signed out and sign in with their password alone.",
        "unchanged" => "Nothing changed.",
        _ => return None,
    })
}

#[derive(Template)]
#[template(path = "people/list.html")]
struct UsersPage {
    layout: Layout,
    org_name: String,
    people: Vec<Person>,
    done: Option<&'static str>,
}

/// `GET /backoffice/settings/users`
pub async fn list_users(
    db: web::Data<Db>,
    layout: Layout,
    current: CurrentUser,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, AppError> {
    let org_id = current.org.id.clone();
    let users = db.run(move |conn| service::list(conn, &org_id)).await?;
    let page = UsersPage {
        layout,
        org_name: current.org.name.clone(),
        people: users.iter().map(|user| Person::of(user, &current)).collect(),
        done: done_message(query.done.as_deref()),
    };
    render(StatusCode::OK, &page)
}

/// A choice of the Role select.
struct RoleOption {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

fn role_options(selected: Option<&str>) -> Vec<RoleOption> {
    Role::ALL
        .into_iter()
        .map(|role| RoleOption {
            value: role.as_str(),
            label: role.label(),
            selected: selected == Some(role.as_str()),
        })
        .collect()
}

/// A role as the form sent it, with the message shown beside the field.
fn parse_role(raw: &str) -> Result<Role, String> {
    raw.parse::<Role>()
        .map_err(|_| "Choose a role: System Administrator, Administrator or Member.".to_owned())
}

#[derive(Default)]
struct InviteErrors {
    email: Option<String>,
    display_name: Option<String>,
    role: Option<String>,
}

#[derive(Template)]
#[template(path = "people/invite.html")]
struct InvitePage {
    layout: Layout,
    email: String,
    display_name: String,
    roles: Vec<RoleOption>,
    errors: InviteErrors,
    form_error: Option<String>,
}

/// `GET /backoffice/settings/users/invite`
pub async fn invite_user_form(layout: Layout) -> Result<HttpResponse, AppError> {
    let page = InvitePage {
        layout,
        email: String::new(),
        display_name: String::new(),
        roles: role_options(Some(Role::Member.as_str())),
        errors: InviteErrors::default(),
        form_error: None,
    };
    render(StatusCode::OK, &page)
}

#[derive(serde::Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
}

#[derive(Template)]
#[template(path = "people/link.html")]
struct LinkPage {
    layout: Layout,
    heading: &'static str,
    intro: String,
    label: &'static str,
    link: String,
    validity: &'static str,
    expires_at: String,
    email: String,
    user_id: String,
}

/// The page showing `link` once; `replaced` says the previous one stopped working.
fn link_page(
    layout: Layout,
    base: &ApiBase,
    user: &User,
    link: &IssuedLink,
    replaced: bool,
) -> Result<HttpResponse, AppError> {
    let (heading, label, intro) = match link.purpose {
        LinkPurpose::Invitation => (
            "Invitation link",
            "Invitation link",
            format!(
                "{} is invited. Opening this link, they choose their name and password, then sign in.",
                user.email
            ),
        ),
        LinkPurpose::PasswordReset => (
            "Password-reset link",
            "Password-reset link",
            format!(
                "{} was signed out everywhere. Opening this link, they choose a new password, then sign in.",
                user.email
            ),
        ),
    };
    let intro = if replaced {
        format!("{intro} The previous link no longer works.")
    } else {
        intro
    };
    let page = LinkPage {
        layout,
        heading,
        intro,
        label,
        link: format!("{}{}", base.0, link.path_and_query()),
        validity: link.purpose.validity_words(),
        expires_at: for_people(link.expires_at),
        email: user.email.clone(),
        user_id: user.id.clone(),
    };
    render(StatusCode::OK, &page)
}

/// `POST /backoffice/settings/users/invite`: the link, shown this once.
pub async fn invite_user(
    db: web::Data<Db>,
    passwords: web::Data<PasswordHasher>,
    layout: Layout,
    base: ApiBase,
    current: CurrentUser,
    ClientIp(ip): ClientIp,
    form: web::Form<InviteForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut errors = InviteErrors::default();
    let message = |e: ValidationError| Some(e.to_string());
    let email = Email::parse(&form.email).map_err(|e| errors.email = message(e)).ok();
    let display_name = DisplayName::parse(&form.display_name)
        .map_err(|e| errors.display_name = message(e))
        .ok();
    let role = parse_role(&form.role).map_err(|e| errors.role = Some(e)).ok();
    let again = |layout: Layout, errors: InviteErrors| {
        let page = InvitePage {
            layout,
            email: form.email.chars().take(Email::MAX_LEN).collect(),
            display_name: form.display_name.chars().take(DisplayName::MAX_LEN).collect(),
            roles: role_options(Some(form.role.as_str())),
            errors,
            form_error: Some("Some fields need attention; see the messages beside them.".to_owned()),
        };
        render(StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    let (Some(email), Some(display_name), Some(role)) = (email, display_name, role) else {
        return again(layout, errors);
    };
    // A password nobody knows until they accept: the account cannot be
    // signed in to before then.
    let unusable = passwords.hash(&NewPassword::generate()).await?;
    let (org, actor) = (current.org.clone(), current.actor());
    let invited_email = email.clone();
    let invited = db
        .transaction(move |conn| {
            service::invite(
                conn,
                &org,
                &invited_email,
                &display_name,
                role,
                &unusable,
                &actor,
                Some(ip),
            )
        })
        .await
        .map_err(AppError::from);
    match invited {
        Ok((user, link)) => link_page(layout, &base, &user, &link, false),
        Err(AppError::Conflict(_)) => again(
            layout,
            InviteErrors {
                email: Some(crate::service::accounts::email_taken(&email)),
                ..InviteErrors::default()
            },
        ),
        Err(error) => Err(error),
    }
}

#[derive(Default)]
struct RoleErrors {
    role: Option<String>,
}

#[derive(Template)]
#[template(path = "people/user.html")]
struct UserPage {
    layout: Layout,
    person: Person,
    roles: Vec<RoleOption>,
    errors: RoleErrors,
    error: Option<String>,
    done: Option<&'static str>,
}

async fn load_user(db: &Db, current: &CurrentUser, id: String) -> Result<User, AppError> {
    let org_id = current.org.id.clone();
    Ok(db.run(move |conn| service::find(conn, &org_id, &id)).await?)
}

/// The user's page; `error` says why a change was refused (422).
async fn user_page(
    db: &Db,
    layout: Layout,
    current: &CurrentUser,
    id: String,
    errors: RoleErrors,
    error: Option<String>,
    done: Option<&'static str>,
) -> Result<HttpResponse, AppError> {
    let user = load_user(db, current, id).await?;
    let refused = errors.role.is_some() || error.is_some();
    let page = UserPage {
        layout,
        roles: role_options(Some(user.role.as_str())),
        person: Person::of(&user, current),
        errors,
        error,
        done,
    };
    let status = if refused {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render(status, &page)
}

/// `GET /backoffice/settings/users/{id}`
pub async fn show_user(
    db: web::Data<Db>,
    layout: Layout,
    current: CurrentUser,
    id: web::Path<String>,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, AppError> {
    let done = done_message(query.done.as_deref());
    user_page(
        &db,
        layout,
        &current,
        id.into_inner(),
        RoleErrors::default(),
        None,
        done,
    )
    .await
}

fn done(id: &str, code: &str) -> HttpResponse {
    see_other(&format!("{BASE}/{id}?done={code}"))
}

/// After a change the service refused (the last System Administrator, a
/// disabled user's reset link…): the page again with why, changing nothing.
async fn refused_or(
    result: Result<HttpResponse, AppError>,
    db: &Db,
    layout: Layout,
    current: &CurrentUser,
    id: String,
) -> Result<HttpResponse, AppError> {
    match result {
        Err(AppError::Validation(message)) => {
            user_page(db, layout, current, id, RoleErrors::default(), Some(message), None).await
        }
        other => other,
    }
}

#[derive(serde::Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

/// `POST /backoffice/settings/users/{id}/role`
pub async fn change_user_role(
    db: web::Data<Db>,
    layout: Layout,
    current: CurrentUser,
    ClientIp(ip): ClientIp,
    id: web::Path<String>,
    StepUpForm { form, step_up }: StepUpForm<RoleForm>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    // Not found first: another organization's id is a 404, whatever the
    // form, and before anyone is asked to confirm it's them.
    load_user(&db, &current, id.clone()).await?;
    let role = match parse_role(&form.role) {
        Ok(role) => role,
        Err(message) => {
            let errors = RoleErrors { role: Some(message) };
            return user_page(&db, layout, &current, id, errors, None, None).await;
        }
    };
    if let Some(ask) = step_up.require(DangerousAction::ChangeRole).await? {
        return Ok(ask);
    }
    let (org_id, actor, user_id) = (current.org.id.clone(), current.actor(), id.clone());
    let changed = db
        .transaction(move |conn| service::set_role(conn, &org_id, &user_id, role, &actor, Some(ip)))
        .await
        .map_err(AppError::from);
    match changed {
        Ok(changed) => Ok(done(&id, if changed { "role" } else { "unchanged" })),
        Err(AppError::Validation(message)) => {
            let errors = RoleErrors { role: Some(message) };
            user_page(&db, layout, &current, id, errors, None, None).await
        }
        Err(error) => Err(error),
    }
}

/// `POST /backoffice/settings/users/{id}/disable` and `…/enable`
pub async fn set_user_disabled<const DISABLE: bool>(
    db: web::Data<Db>,
    layout: Layout,
    current: CurrentUser,
    ClientIp(ip): ClientIp,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (org_id, actor, user_id) = (current.org.id.clone(), current.actor(), id.clone());
    let result = db
        .transaction(move |conn| service::set_disabled(conn, &org_id, &user_id, DISABLE, &actor, Some(ip)))
        .await
        .map_err(AppError::from)
        .map(|changed| {
            let code = match (changed, DISABLE) {
                (false, _) => "unchanged",
                (true, true) => "disabled",
                (true, false) => "enabled",
            };
            done(&id, code)
        });
    refused_or(result, &db, layout, &current, id.clone()).await
}

/// `POST /backoffice/settings/users/{id}/reset-two-factor`
pub async fn reset_user_two_factor(
    db: web::Data<Db>,
    current: CurrentUser,
    ClientIp(ip): ClientIp,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (org_id, actor, user_id) = (current.org.id.clone(), current.actor(), id.clone());
    let reset = db
        .transaction(move |conn| service::reset_two_factor(conn, &org_id, &user_id, &actor, Some(ip)))
        .await?;
    Ok(done(&id, if reset { "two-factor" } else { "unchanged" }))
}

/// A service step that issues a one-time link for a user of the organization.
type IssueLink = fn(&mut DbConnection, &str, &str, &Actor, Option<IpAddr>) -> Result<IssuedLink, AppError>;

/// Issues a link with `issue` and shows it this once, or the user's page
/// with why it was refused.
async fn issued_link_page(
    db: web::Data<Db>,
    layout: Layout,
    base: ApiBase,
    current: CurrentUser,
    ip: IpAddr,
    id: String,
    issue: IssueLink,
) -> Result<HttpResponse, AppError> {
    let (org_id, actor, user_id) = (current.org.id.clone(), current.actor(), id.clone());
    let issued = db
        .transaction(move |conn| {
            let link = issue(conn, &org_id, &user_id, &actor, Some(ip))?;
            Ok::<_, AppError>((service::find(conn, &org_id, &user_id)?, link))
        })
        .await
        .map_err(AppError::from);
    match issued {
        Ok((user, link)) => {
            // An invitation issued here is always a new one for someone
            // invited before (the first comes from the invite form).
            let replaces = link.purpose == LinkPurpose::Invitation;
            link_page(layout, &base, &user, &link, replaces)
        }
        Err(error) => refused_or(Err(error), &db, layout, &current, id).await,
    }
}

/// `POST /backoffice/settings/users/{id}/password-reset`: the link, shown this once.
pub async fn issue_password_reset(
    db: web::Data<Db>,
    layout: Layout,
    base: ApiBase,
    current: CurrentUser,
    ClientIp(ip): ClientIp,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    issued_link_page(
        db,
        layout,
        base,
        current,
        ip,
        id.into_inner(),
        service::issue_password_reset,
    )
    .await
}

/// `POST /backoffice/settings/users/{id}/invitation`: a new invitation link
/// for someone who has not accepted yet (the previous one stops working),
/// shown this once.
pub async fn renew_invitation(
    db: web::Data<Db>,
    layout: Layout,
    base: ApiBase,
    current: CurrentUser,
    ClientIp(ip): ClientIp,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    issued_link_page(
        db,
        layout,
        base,
        current,
        ip,
        id.into_inner(),
        service::renew_invitation,
    )
    .await
}
