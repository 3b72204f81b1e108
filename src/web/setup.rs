//! First run: the one-time setup link printed at start creates the
//! organization and its first System Administrator.

use actix_web::http::StatusCode;
use actix_web::{HttpMessage as _, HttpRequest, HttpResponse, web};
use askama::Template;

use super::{Layout, render, see_other};
use crate::auth::client_ip::ClientIp;
use crate::auth::csrf::RotateCsrfToken;
use crate::auth::password::PasswordHasher;
use crate::auth::session::UserSession;
use crate::domain::ValidationError;
use crate::domain::audit::Actor;
use crate::domain::organization::OrgName;
use crate::domain::role::Role;
use crate::domain::user::{DisplayName, Email, NewPassword};
use crate::error::AppError;
use crate::service::accounts;
use crate::store::{self, Db, users};

#[derive(Default)]
struct SetupErrors {
    org_name: Option<String>,
    display_name: Option<String>,
    email: Option<String>,
    password: Option<String>,
    password_confirmation: Option<String>,
}

impl SetupErrors {
    fn any(&self) -> bool {
        self.org_name.is_some()
            || self.display_name.is_some()
            || self.email.is_some()
            || self.password.is_some()
            || self.password_confirmation.is_some()
    }
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    layout: Layout,
    token: String,
    org_name: String,
    display_name: String,
    email: String,
    errors: SetupErrors,
    form_error: Option<String>,
}

#[derive(Template)]
#[template(path = "setup_unavailable.html")]
struct SetupUnavailablePage {
    layout: Layout,
    already_set_up: bool,
}

#[derive(serde::Deserialize)]
pub struct SetupQuery {
    token: Option<String>,
}

/// Whether setup can run with this token: `Err(true)` once someone has set
/// Keyward up, `Err(false)` for an unknown or used token.
async fn check_token(db: &Db, token: &str) -> Result<Result<(), bool>, AppError> {
    let digest = accounts::token_digest(token);
    db.run(move |conn| {
        if users::count(conn)? > 0 {
            return Ok(Err(true));
        }
        Ok::<_, AppError>(if users::setup_token_is_usable(conn, &digest)? {
            Ok(())
        } else {
            Err(false)
        })
    })
    .await
    .map_err(AppError::from)
}

fn unavailable(layout: Layout, already_set_up: bool) -> Result<HttpResponse, AppError> {
    let status = if already_set_up {
        StatusCode::GONE
    } else {
        StatusCode::NOT_FOUND
    };
    render(status, &SetupUnavailablePage { layout, already_set_up })
}

/// `GET /setup?token=…`
pub async fn setup_form(
    db: web::Data<Db>,
    layout: Layout,
    query: web::Query<SetupQuery>,
) -> Result<HttpResponse, AppError> {
    let token = query.into_inner().token.unwrap_or_default();
    if let Err(already_set_up) = check_token(&db, &token).await? {
        return unavailable(layout, already_set_up);
    }
    let page = SetupPage {
        layout,
        token,
        org_name: String::new(),
        display_name: String::new(),
        email: String::new(),
        errors: SetupErrors::default(),
        form_error: None,
    };
    render(StatusCode::OK, &page)
}

#[derive(serde::Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    org_name: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirmation: String,
}

/// `POST /setup`
pub async fn complete_setup(
    req: HttpRequest,
    db: web::Data<Db>,
    ClientIp(ip): ClientIp,
    passwords: web::Data<PasswordHasher>,
    layout: Layout,
    session: UserSession,
    form: web::Form<SetupForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    if let Err(already_set_up) = check_token(&db, &form.token).await? {
        return unavailable(layout, already_set_up);
    }

    let mut errors = SetupErrors::default();
    let message = |e: ValidationError| Some(e.to_string());
    let org_name = OrgName::parse(&form.org_name)
        .map_err(|e| errors.org_name = message(e))
        .ok();
    let display_name = DisplayName::parse(&form.display_name)
        .map_err(|e| errors.display_name = message(e))
        .ok();
    let email = Email::parse(&form.email).map_err(|e| errors.email = message(e)).ok();
    let password = NewPassword::parse(form.password.clone())
        .map_err(|e| errors.password = message(e))
        .ok();
    if form.password != form.password_confirmation {
        errors.password_confirmation = Some("The two passwords are not the same. Type the password again.".to_owned());
    }
    let (Some(org_name), Some(display_name), Some(email), Some(password), false) =
        (org_name, display_name, email, password, errors.any())
    else {
        let page = SetupPage {
            layout,
            token: form.token,
            org_name: form.org_name,
            display_name: form.display_name,
            email: form.email.chars().take(Email::MAX_LEN).collect(),
            errors,
            form_error: Some("Some fields need attention; see the messages beside them.".to_owned()),
        };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };

    let password_hash = passwords.hash(&password).await?;
    let digest = accounts::token_digest(&form.token);
    let created = db
        .transaction(move |conn| -> Result<_, AppError> {
            // Re-checked inside the transaction: two racing submissions of one
            // link must not both create an organization.
            if users::count(conn)? > 0 || !users::use_setup_token(conn, &digest, store::now())? {
                return Ok(None);
            }
            let org = accounts::create_organization(conn, &org_name, None, &Actor::System, Some(ip))?;
            let user_id = accounts::create_user(
                conn,
                &org,
                &email,
                &display_name,
                Role::SystemAdministrator,
                &password_hash,
                &Actor::System,
                Some(ip),
            )?;
            Ok(Some(user_id))
        })
        .await?;
    let Some(user_id) = created else {
        return unavailable(layout, true);
    };
    session.sign_in(&user_id)?;
    req.extensions_mut().insert(RotateCsrfToken);
    Ok(see_other("/backoffice/settings/api-keys"))
}
