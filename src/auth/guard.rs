//! Guards for the backoffice: who is signed in, and whether their role may
//! enter. Applied as middleware on whole scopes, so no route under them can
//! forget the check.

use actix_session::SessionExt as _;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, web};

use crate::auth::client_ip::{self, TrustedProxies};
use crate::auth::session::UserSession;
use crate::domain::audit::{Actor, AuditAction};
use crate::domain::role::Role;
use crate::error::AppError;
use crate::store::organizations::Organization;
use crate::store::users::User;
use crate::store::{Db, audit, users};

/// The signed-in user of a backoffice request, with their organization.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    pub role: Role,
    pub org: Organization,
}

impl CurrentUser {
    pub fn actor(&self) -> Actor {
        Actor::User {
            id: self.user.id.clone(),
            email: self.user.email.clone(),
        }
    }

    /// Whether they must set up two-factor authentication before anything
    /// else (their organization requires it of System Administrators).
    pub fn must_set_up_two_factor(&self) -> bool {
        crate::domain::two_factor::must_set_up(self.role, self.org.require_totp, self.user.totp_enabled_at.is_some())
    }
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            req.extensions()
                .get::<CurrentUser>()
                .cloned()
                .ok_or(AppError::Unauthorized),
        )
    }
}

/// Loads the signed-in user into the request, or answers 401 (which the
/// error pages turn into a redirect to the sign-in page).
pub async fn require_sign_in(
    db: web::Data<Db>,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let session = UserSession::from_session(req.get_session());
    let Some(user_id) = session.user_id()? else {
        return Err(AppError::Unauthorized.into());
    };
    let found = db
        .run(move |conn| users::find_with_org(conn, &user_id))
        .await
        .map_err(AppError::from)?;
    let current = match found {
        Some((user, org)) if user.disabled_at.is_none() => {
            let role = user.role.parse::<Role>().map_err(AppError::unexpected)?;
            CurrentUser { user, role, org }
        }
        // Deleted or disabled since signing in.
        _ => {
            session.sign_out();
            return Err(AppError::Unauthorized.into());
        }
    };
    req.extensions_mut().insert(current);
    next.call(req).await
}

/// Lets only System Administrators through; anyone else gets a 403 page and
/// an `access_denied` audit event.
pub async fn require_system_administrator(
    db: web::Data<Db>,
    trusted_proxies: web::Data<TrustedProxies>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let current = req
        .extensions()
        .get::<CurrentUser>()
        .cloned()
        .ok_or(AppError::Unauthorized)?;
    if current.role != Role::SystemAdministrator {
        let ip = client_ip::of_request(req.request(), &trusted_proxies);
        let details = serde_json::json!({
            "method": req.method().as_str(),
            "path": req.path(),
            "role": current.role.as_str(),
            "required_role": Role::SystemAdministrator.as_str(),
        });
        let actor = current.actor();
        let org_id = current.org.id.clone();
        db.run(move |conn| {
            audit::record(
                conn,
                Some(&org_id),
                &actor,
                AuditAction::AccessDenied,
                None,
                details,
                Some(ip),
            )
        })
        .await
        .map_err(AppError::from)?;
        let error = AppError::Forbidden(format!(
            "This page is only for System Administrators. You are signed in as {} ({}); ask a System Administrator of {} for help.",
            current.user.email,
            current.role.label(),
            current.org.name,
        ));
        // Answered here, with the request, so the 403 page keeps the
        // signed-in header (name, navigation, Sign out).
        return Ok(req.error_response(error).map_into_right_body());
    }
    next.call(req).await.map(ServiceResponse::map_into_left_body)
}
