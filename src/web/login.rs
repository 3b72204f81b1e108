//! Sign-in and sign-out, and where each role lands after signing in.

use actix_web::http::StatusCode;
use actix_web::{HttpMessage as _, HttpRequest, HttpResponse, web};
use askama::Template;

use super::{Layout, local_path, render, see_other};
use crate::auth::client_ip::ClientIp;
use crate::auth::csrf::RotateCsrfToken;
use crate::auth::password::PasswordHasher;
use crate::auth::session::UserSession;
use crate::auth::throttle;
use crate::domain::audit::{Actor, AuditAction, Target};
use crate::domain::role::Role;
use crate::domain::user::Email;
use crate::error::AppError;
use crate::store::{self, Db, audit, users};

/// The one answer for an unknown email and a wrong password.
const WRONG_CREDENTIALS: &str = "That email and password do not match an account. Check both and try again.";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    next: String,
    error: Option<String>,
    notice: Option<&'static str>,
    /// No account exists yet: the page says where the setup link is.
    first_run: bool,
}

#[derive(serde::Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

/// Where a user lands after signing in when no particular page was asked
/// for: System Administrators on API Keys, the page they come for, everyone
/// else on the home page. `/backoffice` itself (where `/` and a bare visit
/// lead) counts as no particular page.
fn landing_page(next: Option<&str>, role: Option<Role>) -> String {
    match next {
        Some(next) if next != BACKOFFICE_HOME => next.to_owned(),
        _ if role == Some(Role::SystemAdministrator) => crate::web::api_keys::BASE.to_owned(),
        _ => BACKOFFICE_HOME.to_owned(),
    }
}

const BACKOFFICE_HOME: &str = "/backoffice";

/// Whether no account exists yet (the first run, before the setup link is used).
async fn no_accounts_yet(db: &Db) -> Result<bool, AppError> {
    db.run(|conn| Ok::<_, AppError>(users::count(conn)? == 0))
        .await
        .map_err(AppError::from)
}

/// `GET /login`
pub async fn login_form(
    db: web::Data<Db>,
    layout: Layout,
    session: UserSession,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, AppError> {
    let next = local_path(query.next.as_deref());
    if session.user_id()?.is_some() {
        return Ok(see_other(next.as_deref().unwrap_or(BACKOFFICE_HOME)));
    }
    let page = LoginPage {
        layout,
        email: String::new(),
        next: next.unwrap_or_default(),
        error: None,
        notice: query.signed_out.is_some().then_some("You have signed out."),
        first_run: no_accounts_yet(&db).await?,
    };
    render(StatusCode::OK, &page)
}

#[derive(serde::Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

/// `POST /login`
pub async fn sign_in(
    req: HttpRequest,
    db: web::Data<Db>,
    ClientIp(ip): ClientIp,
    passwords: web::Data<PasswordHasher>,
    layout: Layout,
    session: UserSession,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let next = local_path(form.next.as_deref().filter(|next| !next.is_empty()));
    let first_run = no_accounts_yet(&db).await?;
    let again = |status: StatusCode, error: String| {
        let page = LoginPage {
            layout: layout.clone(),
            email: form.email.chars().take(Email::MAX_LEN).collect(),
            next: next.clone().unwrap_or_default(),
            error: Some(error),
            notice: None,
            first_run,
        };
        render(status, &page)
    };

    let email = match Email::parse(&form.email) {
        Ok(email) => email,
        Err(error) => return again(StatusCode::UNPROCESSABLE_ENTITY, error.to_string()),
    };
    if form.password.is_empty() {
        return again(StatusCode::UNPROCESSABLE_ENTITY, "Enter your password.".to_owned());
    }

    // The attempt is reserved before the password is checked, so parallel
    // guesses cannot all be checked (see `throttle`).
    let lookup_email = email.clone();
    let (reservation, user) = match db
        .transaction(move |conn| -> Result<_, AppError> {
            let reservation = throttle::reserve(conn, &lookup_email, ip, store::now())?;
            Ok((reservation, users::find_by_email(conn, lookup_email.as_str())?))
        })
        .await
        .map_err(AppError::from)
    {
        Ok(reserved) => reserved,
        Err(error @ AppError::TooManyRequests { .. }) => {
            return again(StatusCode::TOO_MANY_REQUESTS, error.to_string());
        }
        Err(error) => return Err(error),
    };

    let password_matches = passwords
        .verify(&form.password, user.as_ref().map(|u| u.password_hash.as_str()))
        .await?;

    let user = match user {
        Some(user) if password_matches => user,
        known => {
            // The reservation stays as the failure. A known user's
            // organization sees the attempt in its audit log; the answer and
            // the work done are the same whether the email is known or not.
            let failed_email = email.clone();
            db.transaction(move |conn| {
                let details = serde_json::json!({ "email": failed_email.as_str() });
                let target = known.as_ref().map(|user| Target {
                    kind: "user",
                    id: &user.id,
                    label: &user.email,
                });
                audit::record(
                    conn,
                    known.as_ref().map(|user| user.org_id.as_str()),
                    &Actor::System,
                    AuditAction::SignInFailed,
                    target.as_ref(),
                    details,
                    Some(ip),
                )?;
                Ok::<_, AppError>(())
            })
            .await?;
            return again(StatusCode::UNAUTHORIZED, WRONG_CREDENTIALS.to_owned());
        }
    };
    if user.disabled_at.is_some() {
        db.transaction(move |conn| throttle::release(conn, reservation)).await?;
        return again(
            StatusCode::FORBIDDEN,
            "This account is disabled. Ask a System Administrator of your organization to enable it.".to_owned(),
        );
    }

    let user_id = user.id.clone();
    let landing = landing_page(next.as_deref(), user.role.parse().ok());
    db.transaction(move |conn| {
        throttle::record_success(conn, &email, reservation)?;
        users::record_sign_in(conn, &user.id, store::now())?;
        let actor = Actor::User {
            id: user.id.clone(),
            email: user.email.clone(),
        };
        let target = Target {
            kind: "user",
            id: &user.id,
            label: &user.email,
        };
        audit::record(
            conn,
            Some(&user.org_id),
            &actor,
            AuditAction::SignedIn,
            Some(&target),
            serde_json::json!({}),
            Some(ip),
        )?;
        Ok::<_, AppError>(())
    })
    .await?;
    session.sign_in(&user_id)?;
    req.extensions_mut().insert(RotateCsrfToken);
    Ok(see_other(&landing))
}

/// `POST /logout`
pub async fn sign_out(
    req: HttpRequest,
    db: web::Data<Db>,
    ClientIp(ip): ClientIp,
    session: UserSession,
) -> Result<HttpResponse, AppError> {
    if let Ok(Some(user_id)) = session.user_id() {
        db.run(move |conn| {
            if let Some((user, org)) = users::find_with_org(conn, &user_id)? {
                let actor = Actor::User {
                    id: user.id.clone(),
                    email: user.email.clone(),
                };
                audit::record(
                    conn,
                    Some(&org.id),
                    &actor,
                    AuditAction::SignedOut,
                    None,
                    serde_json::json!({}),
                    Some(ip),
                )?;
            }
            Ok::<_, AppError>(())
        })
        .await?;
    }
    session.sign_out();
    req.extensions_mut().insert(RotateCsrfToken);
    Ok(see_other("/login?signed_out=1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_administrators_land_on_api_keys_unless_they_asked_for_a_page() {
        let sysadmin = Some(Role::SystemAdministrator);
        assert_eq!(landing_page(None, sysadmin), "/backoffice/settings/api-keys");
        assert_eq!(
            landing_page(Some("/backoffice"), sysadmin),
            "/backoffice/settings/api-keys"
        );
        assert_eq!(
            landing_page(Some("/backoffice/settings/api-keys/audit"), sysadmin),
            "/backoffice/settings/api-keys/audit"
        );
        for role in [Some(Role::Administrator), Some(Role::Member), None] {
            assert_eq!(landing_page(None, role), "/backoffice");
            assert_eq!(landing_page(Some("/backoffice"), role), "/backoffice");
        }
    }
}
