//! An organization whose keys are not set up yet sees this screen instead of
//! the list; its button provisions the organization's key-signing salt.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::BASE;
use crate::auth::client_ip::ClientIp;
use crate::auth::guard::CurrentUser;
use crate::error::AppError;
use crate::service::keys::{self, KeyService};
use crate::web::{Layout, see_other};

#[derive(Template)]
#[template(path = "api_keys/setup.html")]
pub struct SetUpApiKeysPage {
    pub layout: Layout,
    pub org_name: String,
}

/// `POST /backoffice/settings/api-keys/setup`: provisions the organization's
/// key-signing salt once; a second attempt changes nothing.
pub async fn set_up_api_keys(
    ClientIp(ip): ClientIp,
    key_service: web::Data<KeyService>,
    current: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let actor = current.actor();
    let org = current.org.clone();
    key_service
        .change(move |conn| keys::bootstrap(conn, &org, &actor, Some(ip)))
        .await?;
    // Done now or already: either way the list is what comes next.
    Ok(see_other(BASE))
}
