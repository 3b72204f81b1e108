//! Sign-in and sign-out, and where each role lands after signing in. A user
//! with two-factor authentication signs in in two steps: the password, then
//! (within five minutes, on a page of its own) their code or a recovery
//! code. Between the two the session is not signed in.

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
use crate::domain::two_factor::{AuthenticationCode, RecoveryCode, SecondFactor, TwoFactorKeys};
use crate::domain::user::Email;
use crate::error::AppError;
use crate::service::two_factor::{self as two_factor, Purpose};
use crate::store::{self, Db, audit, users};

/// The second step of signing in.
pub const SECOND_FACTOR_PATH: &str = "/login/two-factor";

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
    /// After an invitation or password-reset link was used.
    password_set: Option<String>,
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
        notice: if query.password_set.is_some() {
            Some("Your password is set. Sign in with it.")
        } else {
            query.signed_out.is_some().then_some("You have signed out.")
        },
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

    if user.totp_enabled_at.is_some() {
        // The password is no failure, but the account's earlier failures
        // stay counted until the second factor is right too.
        db.transaction(move |conn| throttle::release(conn, reservation)).await?;
        session.begin_second_factor(&user.id, next.as_deref())?;
        return Ok(see_other(SECOND_FACTOR_PATH));
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

#[derive(Template)]
#[template(path = "login_two_factor.html")]
struct SecondFactorPage {
    layout: Layout,
    /// Asking for a recovery code rather than an authentication code.
    recovery: bool,
    error: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct SecondFactorQuery {
    method: Option<String>,
}

/// `?method=recovery-code` asks for a recovery code instead.
const RECOVERY_METHOD: &str = "recovery-code";

/// `GET /login/two-factor`: the code, after a right password.
pub async fn second_factor_form(
    layout: Layout,
    session: UserSession,
    query: web::Query<SecondFactorQuery>,
) -> Result<HttpResponse, AppError> {
    if session.user_id()?.is_some() {
        return Ok(see_other(BACKOFFICE_HOME));
    }
    if session.pending_sign_in()?.is_none() {
        return Ok(see_other("/login"));
    }
    let page = SecondFactorPage {
        layout,
        recovery: query.method.as_deref() == Some(RECOVERY_METHOD),
        error: None,
    };
    render(StatusCode::OK, &page)
}

#[derive(serde::Deserialize)]
pub struct SecondFactorForm {
    code: Option<String>,
    recovery_code: Option<String>,
}

/// `POST /login/two-factor`: a right code (or unused recovery code) signs
/// in. Every try counts toward the sign-in throttle like a password.
pub async fn verify_second_factor(
    req: HttpRequest,
    db: web::Data<Db>,
    keys: web::Data<TwoFactorKeys>,
    ClientIp(ip): ClientIp,
    layout: Layout,
    session: UserSession,
    form: web::Form<SecondFactorForm>,
) -> Result<HttpResponse, AppError> {
    let Some(pending) = session.pending_sign_in()? else {
        // Timed out, signed out, or never asked: start again.
        return Ok(see_other("/login"));
    };
    let form = form.into_inner();
    let recovery = form.recovery_code.is_some();
    let again = |status: StatusCode, error: String| {
        let page = SecondFactorPage {
            layout: layout.clone(),
            recovery,
            error: Some(error),
        };
        render(status, &page)
    };
    let parsed = match form.recovery_code {
        Some(raw) => RecoveryCode::parse(&raw).map(SecondFactor::Recovery),
        None => AuthenticationCode::parse(form.code.as_deref().unwrap_or_default()).map(SecondFactor::Code),
    };
    let factor = match parsed {
        Ok(factor) => factor,
        Err(error) => return again(StatusCode::UNPROCESSABLE_ENTITY, error.to_string()),
    };
    let kind = factor.kind();
    let user_id = pending.user_id.clone();
    let outcome = db
        .transaction(move |conn| -> Result<_, AppError> {
            let Some((user, _)) = users::find_with_org(conn, &user_id)? else {
                return Ok(None);
            };
            // Disabled, or two-factor reset, since the password.
            if user.disabled_at.is_some() || user.totp_enabled_at.is_none() {
                return Ok(None);
            }
            let checked = two_factor::verify(conn, &keys, &user, &factor, Purpose::SignIn, ip, store::now())?;
            if checked.is_ok() {
                users::record_sign_in(conn, &user.id, store::now())?;
                let actor = Actor::User {
                    id: user.id.clone(),
                    email: user.email.clone(),
                };
                audit::record(
                    conn,
                    Some(&user.org_id),
                    &actor,
                    AuditAction::SignedIn,
                    Some(&Target::user(&user.id, &user.email)),
                    serde_json::json!({ "second_factor": factor.kind().as_str() }),
                    Some(ip),
                )?;
            }
            Ok(Some((checked, user)))
        })
        .await
        .map_err(AppError::from);
    match outcome {
        Ok(Some((Ok(()), user))) => {
            session.sign_in(&user.id)?;
            req.extensions_mut().insert(RotateCsrfToken);
            Ok(see_other(&landing_page(
                pending.next.as_deref(),
                user.role.parse().ok(),
            )))
        }
        Ok(Some((Err(refused), _))) => again(StatusCode::UNPROCESSABLE_ENTITY, refused.message(kind).to_owned()),
        Ok(None) => {
            session.sign_out();
            Ok(see_other("/login"))
        }
        Err(error @ AppError::TooManyRequests { .. }) => again(StatusCode::TOO_MANY_REQUESTS, error.to_string()),
        Err(error) => Err(error),
    }
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
