//! People administration: inviting users, changing their role, disabling
//! and enabling them, resetting their two-factor authentication and
//! issuing password-reset links, and the one-time links' use. One
//! implementation for the backoffice and the command line. Every change is
//! audited with its before and after; a change to who someone is or what
//! they may do ends their sessions, which live in the database, so on
//! every instance at once.

use std::net::IpAddr;

use chrono::NaiveDateTime;

use crate::domain::audit::{Actor, AuditAction, Target};
use crate::domain::people::{LinkPurpose, LinkRefusal, UserStatus, keep_a_system_administrator};
use crate::domain::role::Role;
use crate::domain::user::{DisplayName, Email};
use crate::error::AppError;
use crate::service::accounts::{self, token_digest};
use crate::store::organizations::Organization;
use crate::store::users::User;
use crate::store::{self, DbConnection, audit, sessions, user_links, users};

/// A one-time link's token, to be shown once; only its digest is stored.
pub struct IssuedLink {
    pub token: String,
    pub purpose: LinkPurpose,
    pub expires_at: NaiveDateTime,
}

impl IssuedLink {
    /// The link's path and query (the token is the secret).
    pub fn path_and_query(&self) -> String {
        format!("{}?token={}", self.purpose.path(), self.token)
    }
}

/// The organization's users.
pub fn list(conn: &mut DbConnection, org_id: &str) -> Result<Vec<User>, AppError> {
    Ok(users::list_in_org(conn, org_id)?)
}

/// A user of the organization; anyone else's is not found.
pub fn find(conn: &mut DbConnection, org_id: &str, user_id: &str) -> Result<User, AppError> {
    users::find_in_org(conn, org_id, user_id)?.ok_or(AppError::NotFound)
}

/// A user of any organization by email, for the command line.
pub fn find_by_email(conn: &mut DbConnection, email: &Email) -> Result<User, AppError> {
    users::find_by_email(conn, email.as_str())?
        .ok_or_else(|| AppError::Validation(format!("no user with the email {email}")))
}

fn target(user: &User) -> Target<'_> {
    Target::user(&user.id, &user.email)
}

fn status_of(user: &User) -> UserStatus {
    UserStatus::of(user.disabled_at, user.invited_at)
}

/// Stores a new link for `user`, replacing their unused one of the same purpose.
fn issue_link(conn: &mut DbConnection, user: &User, purpose: LinkPurpose) -> Result<IssuedLink, AppError> {
    user_links::delete_unused_for_user(conn, &user.id, Some(purpose.as_str()))?;
    let token = accounts::new_link_token();
    let now = store::now();
    let expires_at = now + purpose.validity();
    user_links::insert(
        conn,
        &user_links::NewUserLink {
            token_digest: &token_digest(&token),
            org_id: &user.org_id,
            user_id: &user.id,
            purpose: purpose.as_str(),
            created_at: now,
            expires_at,
        },
    )?;
    Ok(IssuedLink {
        token,
        purpose,
        expires_at,
    })
}

/// Invites a user: they exist at once (with a random password nobody
/// knows), and the returned link lets them set their name and password.
#[expect(
    clippy::too_many_arguments,
    reason = "each is a distinct validated part of the invitation"
)]
pub fn invite(
    conn: &mut DbConnection,
    org: &Organization,
    email: &Email,
    display_name: &DisplayName,
    role: Role,
    unusable_password_hash: &str,
    actor: &Actor,
    client_ip: Option<IpAddr>,
) -> Result<(User, IssuedLink), AppError> {
    let id = accounts::insert_user(
        conn,
        org,
        email,
        display_name,
        role,
        unusable_password_hash,
        Some(store::now()),
    )?;
    let user = find(conn, &org.id, &id)?;
    let link = issue_link(conn, &user, LinkPurpose::Invitation)?;
    audit::record(
        conn,
        Some(&org.id),
        actor,
        AuditAction::UserInvited,
        Some(&target(&user)),
        serde_json::json!({
            "link_expires_at": link.expires_at.and_utc().to_rfc3339(),
            "after": {
                "email": user.email,
                "display_name": user.display_name,
                "role": role.as_str(),
                "status": UserStatus::Invited.label(),
            },
        }),
        client_ip,
    )?;
    Ok((user, link))
}

/// Locks the organization's people and finds the user, checking that the
/// change leaves an active System Administrator.
fn find_keeping_an_admin(
    conn: &mut DbConnection,
    org_id: &str,
    user_id: &str,
    keeps_admin: impl FnOnce(&User) -> bool,
) -> Result<User, AppError> {
    users::lock_org_people(conn, org_id)?;
    let user = find(conn, org_id, user_id)?;
    let role = user.role.parse::<Role>().map_err(AppError::unexpected)?;
    let active = status_of(&user) == UserStatus::Active;
    let admins = users::count_active_system_administrators(conn, org_id)?;
    let others = admins - i64::from(role == Role::SystemAdministrator && active);
    keep_a_system_administrator(role, active, keeps_admin(&user), others)?;
    Ok(user)
}

/// Changes a user's role and ends their sessions. Returns false, changing
/// nothing, when they already have it.
pub fn set_role(
    conn: &mut DbConnection,
    org_id: &str,
    user_id: &str,
    role: Role,
    actor: &Actor,
    client_ip: Option<IpAddr>,
) -> Result<bool, AppError> {
    let user = find_keeping_an_admin(conn, org_id, user_id, |_| role == Role::SystemAdministrator)?;
    if user.role == role.as_str() {
        return Ok(false);
    }
    users::set_role(conn, org_id, &user.id, role.as_str())?;
    let sessions_ended = sessions::delete_for_user(conn, &user.id)?;
    audit::record(
        conn,
        Some(org_id),
        actor,
        AuditAction::UserRoleChanged,
        Some(&target(&user)),
        serde_json::json!({
            "sessions_ended": sessions_ended,
            "before": { "role": user.role },
            "after": { "role": role.as_str() },
        }),
        client_ip,
    )?;
    Ok(true)
}

/// Disables a user (their sessions end, their links are refused) or enables
/// them again (links issued before stay dead). Returns false, changing nothing, when they already are.
pub fn set_disabled(
    conn: &mut DbConnection,
    org_id: &str,
    user_id: &str,
    disable: bool,
    actor: &Actor,
    client_ip: Option<IpAddr>,
) -> Result<bool, AppError> {
    let user = find_keeping_an_admin(conn, org_id, user_id, |_| !disable)?;
    if user.disabled_at.is_some() == disable {
        return Ok(false);
    }
    let before = status_of(&user);
    let (action, disabled_at, sessions_ended) = if disable {
        // Ends the sessions too; their links are refused while disabled.
        users::set_disabled(conn, &user.id, Some(store::now()))?;
        (AuditAction::UserDisabled, Some(store::now()), Some(0))
    } else {
        users::set_disabled(conn, &user.id, None)?;
        // Links issued before they were disabled do not come back.
        user_links::delete_unused_for_user(conn, &user.id, None)?;
        (AuditAction::UserEnabled, None, None)
    };
    let after = status_of(&User {
        disabled_at,
        ..user.clone()
    });
    let mut details = serde_json::json!({
        "before": { "status": before.label() },
        "after": { "status": after.label() },
    });
    if sessions_ended.is_some() {
        details["sessions_ended"] = serde_json::json!(true);
    }
    audit::record(
        conn,
        Some(org_id),
        actor,
        action,
        Some(&target(&user)),
        details,
        client_ip,
    )?;
    Ok(true)
}

/// Turns a user's two-factor authentication off (they lost their phone):
/// see `two_factor::reset`. Returns false when it was off.
pub fn reset_two_factor(
    conn: &mut DbConnection,
    org_id: &str,
    user_id: &str,
    actor: &Actor,
    client_ip: Option<IpAddr>,
) -> Result<bool, AppError> {
    let user = find(conn, org_id, user_id)?;
    crate::service::two_factor::reset(conn, &user, actor, client_ip)
}

/// Issues a one-hour password-reset link for a user and ends their
/// sessions (whoever holds them must sign in again with the new password).
/// Refused for a disabled user and for an invitation not yet accepted.
pub fn issue_password_reset(
    conn: &mut DbConnection,
    org_id: &str,
    user_id: &str,
    actor: &Actor,
    client_ip: Option<IpAddr>,
) -> Result<IssuedLink, AppError> {
    let user = find(conn, org_id, user_id)?;
    match status_of(&user) {
        UserStatus::Disabled => {
            return Err(AppError::Validation(format!(
                "{} is disabled: enable them before issuing a password-reset link.",
                user.email
            )));
        }
        UserStatus::Invited => {
            return Err(AppError::Validation(format!(
                "{} has not accepted their invitation yet: send them a new invitation link instead.",
                user.email
            )));
        }
        UserStatus::Active => {}
    }
    let link = issue_link(conn, &user, LinkPurpose::PasswordReset)?;
    let sessions_ended = sessions::delete_for_user(conn, &user.id)?;
    audit::record(
        conn,
        Some(org_id),
        actor,
        AuditAction::PasswordResetIssued,
        Some(&target(&user)),
        serde_json::json!({
            "link_expires_at": link.expires_at.and_utc().to_rfc3339(),
            "sessions_ended": sessions_ended,
        }),
        client_ip,
    )?;
    Ok(link)
}

/// Sends an invited user a fresh invitation link (theirs expired or was
/// lost): the previous unused one stops working. Refused for a disabled
/// user and for one who has accepted already.
pub fn renew_invitation(
    conn: &mut DbConnection,
    org_id: &str,
    user_id: &str,
    actor: &Actor,
    client_ip: Option<IpAddr>,
) -> Result<IssuedLink, AppError> {
    let user = find(conn, org_id, user_id)?;
    match status_of(&user) {
        UserStatus::Disabled => {
            return Err(AppError::Validation(format!(
                "{} is disabled: enable them before sending a new invitation link.",
                user.email
            )));
        }
        UserStatus::Active => {
            return Err(AppError::Validation(format!(
                "{} has accepted their invitation already: issue a password-reset link if they cannot sign in.",
                user.email
            )));
        }
        UserStatus::Invited => {}
    }
    let purpose = LinkPurpose::Invitation;
    let previous = user_links::find_unused_for_user(conn, &user.id, purpose.as_str())?;
    let link = issue_link(conn, &user, purpose)?;
    let at = |expires_at: NaiveDateTime| expires_at.and_utc().to_rfc3339();
    audit::record(
        conn,
        Some(org_id),
        actor,
        AuditAction::InvitationRenewed,
        Some(&target(&user)),
        serde_json::json!({
            "before": { "link_expires_at": previous.map(|link| at(link.expires_at)) },
            "after": { "link_expires_at": at(link.expires_at) },
        }),
        client_ip,
    )?;
    Ok(link)
}

/// The user a link of `purpose` is for, if it can be used now.
pub fn open_link(
    conn: &mut DbConnection,
    purpose: LinkPurpose,
    token: &str,
) -> Result<Result<User, LinkRefusal>, AppError> {
    let Some(link) = user_links::find(conn, &token_digest(token))? else {
        return Ok(Err(LinkRefusal::Unknown));
    };
    if link.purpose != purpose.as_str() {
        return Ok(Err(LinkRefusal::Unknown));
    }
    let Some(user) = users::find_in_org(conn, &link.org_id, &link.user_id)? else {
        return Ok(Err(LinkRefusal::Unknown));
    };
    Ok(LinkRefusal::judge(link.used_at, link.expires_at, user.disabled_at.is_some(), store::now()).map(|()| user))
}

/// Spends a link: checked and marked used in the caller's transaction, so
/// two submissions of one link cannot both succeed.
fn use_link(conn: &mut DbConnection, purpose: LinkPurpose, token: &str) -> Result<Result<User, LinkRefusal>, AppError> {
    let user = match open_link(conn, purpose, token)? {
        Ok(user) => user,
        refused => return Ok(refused),
    };
    if !user_links::mark_used(conn, &token_digest(token), store::now())? {
        return Ok(Err(LinkRefusal::Used));
    }
    Ok(Ok(user))
}

fn actor_of(user: &User) -> Actor {
    Actor::User {
        id: user.id.clone(),
        email: user.email.clone(),
    }
}

/// Accepting an invitation: the invited user's name and first password.
pub fn accept_invitation(
    conn: &mut DbConnection,
    token: &str,
    display_name: &DisplayName,
    password_hash: &str,
    client_ip: Option<IpAddr>,
) -> Result<Result<User, LinkRefusal>, AppError> {
    let user = match use_link(conn, LinkPurpose::Invitation, token)? {
        Ok(user) => user,
        refused => return Ok(refused),
    };
    users::accept_invitation(conn, &user.id, display_name.as_str(), password_hash)?;
    audit::record(
        conn,
        Some(&user.org_id),
        &actor_of(&user),
        AuditAction::InvitationAccepted,
        Some(&target(&user)),
        serde_json::json!({
            "before": { "display_name": user.display_name, "status": UserStatus::Invited.label() },
            "after": { "display_name": display_name.as_str(), "status": UserStatus::Active.label() },
        }),
        client_ip,
    )?;
    Ok(Ok(user))
}

/// Using a password-reset link: the new password, and every session the
/// user had ends.
pub fn complete_password_reset(
    conn: &mut DbConnection,
    token: &str,
    password_hash: &str,
    client_ip: Option<IpAddr>,
) -> Result<Result<User, LinkRefusal>, AppError> {
    let user = match use_link(conn, LinkPurpose::PasswordReset, token)? {
        Ok(user) => user,
        refused => return Ok(refused),
    };
    users::set_password_hash(conn, &user.id, password_hash)?;
    let sessions_ended = sessions::delete_for_user(conn, &user.id)?;
    audit::record(
        conn,
        Some(&user.org_id),
        &actor_of(&user),
        AuditAction::PasswordResetUsed,
        Some(&target(&user)),
        serde_json::json!({ "sessions_ended": sessions_ended }),
        client_ip,
    )?;
    Ok(Ok(user))
}
