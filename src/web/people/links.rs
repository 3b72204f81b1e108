//! The pages a one-time link opens, for someone not signed in: accepting an
//! invitation (`/invitation?token=…`: their name and first password) and a
//! password reset (`/password-reset?token=…`). The token is the secret: the
//! request log redacts `token=`, the table keeps only its digest, and a
//! link used, expired, or of a disabled user gets a clear page (410, or
//! 404 for one that never was) and changes nothing.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::auth::client_ip::ClientIp;
use crate::auth::password::PasswordHasher;
use crate::domain::ValidationError;
use crate::domain::people::{LinkPurpose, LinkRefusal};
use crate::domain::user::{DisplayName, NewPassword};
use crate::error::AppError;
use crate::service::people as service;
use crate::store::Db;
use crate::store::users::User;
use crate::web::{Layout, render, see_other};

/// Where a used link leads: the sign-in page, which says the password is set.
pub const PASSWORD_SET_LOGIN: &str = "/login?password_set=1";

#[derive(Template)]
#[template(path = "people/link_refused.html")]
struct RefusedPage {
    layout: Layout,
    heading: &'static str,
    message: &'static str,
}

fn refused(layout: Layout, purpose: LinkPurpose, refusal: LinkRefusal) -> Result<HttpResponse, AppError> {
    let status = match refusal {
        LinkRefusal::Unknown => StatusCode::NOT_FOUND,
        LinkRefusal::Used | LinkRefusal::Expired | LinkRefusal::UserDisabled => StatusCode::GONE,
    };
    let heading = match purpose {
        LinkPurpose::Invitation => "This invitation cannot be used",
        LinkPurpose::PasswordReset => "This password-reset link cannot be used",
    };
    render(
        status,
        &RefusedPage {
            layout,
            heading,
            message: refusal.message(purpose),
        },
    )
}

#[derive(Default)]
struct PasswordErrors {
    display_name: Option<String>,
    password: Option<String>,
    password_confirmation: Option<String>,
}

#[derive(Template)]
#[template(path = "people/set_password.html")]
struct SetPasswordPage {
    layout: Layout,
    heading: &'static str,
    intro: String,
    action: &'static str,
    button: &'static str,
    token: String,
    email: String,
    asks_name: bool,
    display_name: String,
    errors: PasswordErrors,
    form_error: Option<String>,
}

impl SetPasswordPage {
    fn new(layout: Layout, purpose: LinkPurpose, token: String, user: &User) -> Self {
        let (heading, intro, button) = match purpose {
            LinkPurpose::Invitation => (
                "Accept invitation",
                format!(
                    "You are invited to Keyward as {}. Choose your name as others will see it, and a password. This link works once.",
                    user.email
                ),
                "Accept invitation",
            ),
            LinkPurpose::PasswordReset => (
                "Choose a new password",
                format!(
                    "Choose a new password for {}. This link works once; your other sessions have ended.",
                    user.email
                ),
                "Set new password",
            ),
        };
        Self {
            layout,
            heading,
            intro,
            action: purpose.path(),
            button,
            token,
            email: user.email.clone(),
            asks_name: purpose == LinkPurpose::Invitation,
            display_name: user.display_name.clone(),
            errors: PasswordErrors::default(),
            form_error: None,
        }
    }
}

#[derive(serde::Deserialize)]
pub struct LinkQuery {
    token: Option<String>,
}

async fn open(db: &Db, purpose: LinkPurpose, token: String) -> Result<Result<User, LinkRefusal>, AppError> {
    Ok(db.run(move |conn| service::open_link(conn, purpose, &token)).await?)
}

/// `GET /invitation?token=…` and `GET /password-reset?token=…`
pub async fn link_form<const INVITATION: bool>(
    db: web::Data<Db>,
    layout: Layout,
    query: web::Query<LinkQuery>,
) -> Result<HttpResponse, AppError> {
    let purpose = purpose_of(INVITATION);
    let token = query.into_inner().token.unwrap_or_default();
    match open(&db, purpose, token.clone()).await? {
        Ok(user) => render(StatusCode::OK, &SetPasswordPage::new(layout, purpose, token, &user)),
        Err(refusal) => refused(layout, purpose, refusal),
    }
}

fn purpose_of(invitation: bool) -> LinkPurpose {
    if invitation {
        LinkPurpose::Invitation
    } else {
        LinkPurpose::PasswordReset
    }
}

#[derive(serde::Deserialize)]
pub struct SetPasswordForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirmation: String,
}

/// `POST /invitation` and `POST /password-reset`: the password is set, the
/// link spent, and the sign-in page follows.
pub async fn use_link<const INVITATION: bool>(
    db: web::Data<Db>,
    passwords: web::Data<PasswordHasher>,
    ClientIp(ip): ClientIp,
    layout: Layout,
    form: web::Form<SetPasswordForm>,
) -> Result<HttpResponse, AppError> {
    let purpose = purpose_of(INVITATION);
    let form = form.into_inner();
    let user = match open(&db, purpose, form.token.clone()).await? {
        Ok(user) => user,
        Err(refusal) => return refused(layout, purpose, refusal),
    };
    let mut errors = PasswordErrors::default();
    let message = |e: ValidationError| Some(e.to_string());
    let display_name = if INVITATION {
        DisplayName::parse(&form.display_name)
            .map_err(|e| errors.display_name = message(e))
            .ok()
    } else {
        DisplayName::parse(&user.display_name).ok()
    };
    let password = NewPassword::parse(form.password.clone())
        .map_err(|e| errors.password = message(e))
        .ok();
    if form.password != form.password_confirmation {
        errors.password_confirmation = Some("The two passwords are not the same. Type the password again.".to_owned());
    }
    let any_error =
        errors.display_name.is_some() || errors.password.is_some() || errors.password_confirmation.is_some();
    let (Some(display_name), Some(password), false) = (display_name, password, any_error) else {
        let mut page = SetPasswordPage::new(layout, purpose, form.token, &user);
        page.display_name = form.display_name.chars().take(DisplayName::MAX_LEN).collect();
        page.errors = errors;
        page.form_error = Some("Some fields need attention; see the messages beside them.".to_owned());
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let password_hash = passwords.hash(&password).await?;
    let token = form.token;
    let used = db
        .transaction(move |conn| match purpose {
            LinkPurpose::Invitation => {
                service::accept_invitation(conn, &token, &display_name, &password_hash, Some(ip))
            }
            LinkPurpose::PasswordReset => service::complete_password_reset(conn, &token, &password_hash, Some(ip)),
        })
        .await?;
    match used {
        Ok(_) => Ok(see_other(PASSWORD_SET_LOGIN)),
        Err(refusal) => refused(layout, purpose, refusal),
    }
}
