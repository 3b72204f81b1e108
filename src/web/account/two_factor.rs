//! Setting up two-factor authentication (QR code, setup key, first code,
//! recovery codes shown once), making new recovery codes and turning it
//! off, each of the last two after the current code. Codes and secrets
//! travel only in form bodies and in `no-store` pages, never in a URL.

use std::net::IpAddr;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;

use super::{BASE, RECOVERY_CODES_PATH, TURN_OFF_PATH};
use crate::auth::client_ip::ClientIp;
use crate::auth::guard::CurrentUser;
use crate::auth::session::UserSession;
use crate::domain::two_factor::{AuthenticationCode, RECOVERY_CODE_COUNT, RecoveryCode, SecondFactor, TwoFactorKeys};
use crate::error::AppError;
use crate::service::two_factor::{self as service, PendingSetup, Refused};
use crate::store::users::User;
use crate::store::{self, Db, DbConnection};
use crate::web::{Layout, render, see_other};

/// The accessible name of the QR code.
const QR_LABEL: &str = "QR code to scan with your authenticator app";

#[derive(Template)]
#[template(path = "account/two_factor_setup.html")]
struct SetupPage {
    layout: Layout,
    setup_id: String,
    qr_code: String,
    setup_key: String,
    email: String,
    /// The organization requires it: no way back until it is done.
    required: bool,
    org_name: String,
    code_error: Option<String>,
}

#[derive(Template)]
#[template(path = "account/recovery_codes.html")]
struct RecoveryCodesPage {
    layout: Layout,
    codes: String,
    count: usize,
    /// Just set up (rather than made anew).
    set_up: bool,
}

/// What `confirm_code.html` asks a code for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Confirming {
    TurnOff,
    Regenerate,
}

#[derive(Template)]
#[template(path = "account/confirm_code.html")]
struct ConfirmCodePage {
    layout: Layout,
    turning_off: bool,
    action: &'static str,
    title: &'static str,
    button: &'static str,
    recovery_code_count: usize,
    code_error: Option<String>,
}

impl ConfirmCodePage {
    fn new(layout: Layout, confirming: Confirming, code_error: Option<String>) -> Self {
        let (action, title) = match confirming {
            Confirming::TurnOff => (TURN_OFF_PATH, "Turn off two-factor authentication"),
            Confirming::Regenerate => (RECOVERY_CODES_PATH, "Regenerate recovery codes"),
        };
        Self {
            layout,
            turning_off: confirming == Confirming::TurnOff,
            action,
            title,
            button: title,
            recovery_code_count: RECOVERY_CODE_COUNT,
            code_error,
        }
    }
}

async fn setup_page(
    db: &Db,
    keys: &web::Data<TwoFactorKeys>,
    layout: Layout,
    current: &CurrentUser,
    status: StatusCode,
    code_error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let (keys, user_id) = (keys.clone(), current.user.id.clone());
    let PendingSetup { id, secret } = db
        .transaction(move |conn| service::start_setup(conn, &keys, &user_id, store::now()))
        .await?;
    let page = SetupPage {
        layout,
        setup_id: id,
        qr_code: super::qr::svg(&secret.otpauth_uri(&current.user.email), QR_LABEL)?,
        setup_key: secret.grouped(),
        email: current.user.email.clone(),
        required: current.must_set_up_two_factor(),
        org_name: current.org.name.clone(),
        code_error,
    };
    render(status, &page)
}

/// `GET /backoffice/account/two-factor/setup`: the secret being set up (the
/// same one on every visit within the hour), as a QR code and as text.
pub async fn setup_form(
    db: web::Data<Db>,
    keys: web::Data<TwoFactorKeys>,
    layout: Layout,
    current: CurrentUser,
) -> Result<HttpResponse, AppError> {
    if current.user.totp_enabled_at.is_some() {
        return Ok(see_other(BASE));
    }
    setup_page(&db, &keys, layout, &current, StatusCode::OK, None).await
}

#[derive(serde::Deserialize)]
pub struct ConfirmSetupForm {
    #[serde(default)]
    setup_id: String,
    #[serde(default)]
    code: String,
}

/// `POST /backoffice/account/two-factor/setup`: the first code turns it on
/// and the recovery codes are shown, once.
pub async fn confirm_setup(
    db: web::Data<Db>,
    keys: web::Data<TwoFactorKeys>,
    layout: Layout,
    current: CurrentUser,
    session: UserSession,
    ClientIp(ip): ClientIp,
    form: web::Form<ConfirmSetupForm>,
) -> Result<HttpResponse, AppError> {
    if current.user.totp_enabled_at.is_some() {
        return Ok(see_other(BASE));
    }
    let form = form.into_inner();
    let code = match AuthenticationCode::parse(&form.code) {
        Ok(code) => code,
        Err(error) => {
            let message = Some(error.to_string());
            return setup_page(&db, &keys, layout, &current, StatusCode::UNPROCESSABLE_ENTITY, message).await;
        }
    };
    let (sealing, user) = (keys.clone(), current.user.clone());
    let confirmed = db
        .transaction(move |conn| {
            service::confirm_setup(conn, &sealing, &user, &form.setup_id, &code, Some(ip), store::now())
        })
        .await
        .map_err(AppError::from);
    match confirmed {
        Ok(codes) => {
            session.record_strong_check()?;
            recovery_codes_page(layout, &codes, true)
        }
        Err(AppError::Validation(message)) => {
            setup_page(
                &db,
                &keys,
                layout,
                &current,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(message),
            )
            .await
        }
        // Turned on meanwhile, in another window.
        Err(AppError::Conflict(_)) => Ok(see_other(BASE)),
        Err(error) => Err(error),
    }
}

fn recovery_codes_page(layout: Layout, codes: &[RecoveryCode], set_up: bool) -> Result<HttpResponse, AppError> {
    let page = RecoveryCodesPage {
        layout,
        codes: codes.iter().map(RecoveryCode::expose).collect::<Vec<_>>().join("\n"),
        count: codes.len(),
        set_up,
    };
    render(StatusCode::OK, &page)
}

/// `GET /backoffice/account/two-factor/turn-off`
pub async fn turn_off_form(layout: Layout, current: CurrentUser) -> Result<HttpResponse, AppError> {
    if current.user.totp_enabled_at.is_none() {
        return Ok(see_other(BASE));
    }
    render(StatusCode::OK, &ConfirmCodePage::new(layout, Confirming::TurnOff, None))
}

/// `GET /backoffice/account/two-factor/recovery-codes`
pub async fn regenerate_form(layout: Layout, current: CurrentUser) -> Result<HttpResponse, AppError> {
    if current.user.totp_enabled_at.is_none() {
        return Ok(see_other(BASE));
    }
    render(
        StatusCode::OK,
        &ConfirmCodePage::new(layout, Confirming::Regenerate, None),
    )
}

#[derive(serde::Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// The code form again, with `error` beside the field.
fn refused(
    layout: Layout,
    confirming: Confirming,
    status: StatusCode,
    error: String,
) -> Result<HttpResponse, AppError> {
    render(status, &ConfirmCodePage::new(layout, confirming, Some(error)))
}

/// What a code form's change is: one of the service's, run in a write
/// transaction with the factor the form sent.
type CodeChange<T> = fn(
    &mut DbConnection,
    &TwoFactorKeys,
    &User,
    &SecondFactor,
    IpAddr,
    NaiveDateTime,
) -> Result<Result<T, Refused>, AppError>;

/// Runs `change` with the code the form sent, and answers with `done` of
/// its result, or the form again with the refusal beside the field.
#[expect(clippy::too_many_arguments, reason = "each is what one code form brings")]
async fn with_code<T: Send + 'static>(
    db: web::Data<Db>,
    keys: web::Data<TwoFactorKeys>,
    layout: Layout,
    current: CurrentUser,
    session: UserSession,
    ip: IpAddr,
    code: &str,
    confirming: Confirming,
    change: CodeChange<T>,
    done: impl FnOnce(Layout, T) -> Result<HttpResponse, AppError>,
) -> Result<HttpResponse, AppError> {
    let factor = match SecondFactor::parse(code) {
        Ok(factor) => factor,
        Err(error) => return refused(layout, confirming, StatusCode::UNPROCESSABLE_ENTITY, error.to_string()),
    };
    let kind = factor.kind();
    let (keys, user) = (keys.into_inner(), current.user);
    let outcome = db
        .transaction(move |conn| change(conn, &keys, &user, &factor, ip, store::now()))
        .await
        .map_err(AppError::from);
    match outcome {
        Ok(Ok(result)) => {
            session.record_strong_check()?;
            done(layout, result)
        }
        Ok(Err(refused_factor)) => refused(
            layout,
            confirming,
            StatusCode::UNPROCESSABLE_ENTITY,
            refused_factor.message(kind).to_owned(),
        ),
        Err(AppError::Validation(message)) => refused(layout, confirming, StatusCode::UNPROCESSABLE_ENTITY, message),
        Err(error @ AppError::TooManyRequests { .. }) => {
            refused(layout, confirming, StatusCode::TOO_MANY_REQUESTS, error.to_string())
        }
        Err(error) => Err(error),
    }
}

/// `POST /backoffice/account/two-factor/turn-off`
pub async fn turn_off(
    db: web::Data<Db>,
    keys: web::Data<TwoFactorKeys>,
    layout: Layout,
    current: CurrentUser,
    session: UserSession,
    ClientIp(ip): ClientIp,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let done = |_, ()| Ok(see_other(&format!("{BASE}?done=turned-off")));
    let change: CodeChange<()> = service::turn_off;
    with_code(
        db,
        keys,
        layout,
        current,
        session,
        ip,
        &form.code,
        Confirming::TurnOff,
        change,
        done,
    )
    .await
}

/// `POST /backoffice/account/two-factor/recovery-codes`: new codes, shown
/// once; the old ones stop working.
pub async fn regenerate(
    db: web::Data<Db>,
    keys: web::Data<TwoFactorKeys>,
    layout: Layout,
    current: CurrentUser,
    session: UserSession,
    ClientIp(ip): ClientIp,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let done = |layout, codes: Vec<RecoveryCode>| recovery_codes_page(layout, &codes, false);
    let change: CodeChange<Vec<RecoveryCode>> = service::regenerate_recovery_codes;
    with_code(
        db,
        keys,
        layout,
        current,
        session,
        ip,
        &form.code,
        Confirming::Regenerate,
        change,
        done,
    )
    .await
}
