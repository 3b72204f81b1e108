//! Liveness and readiness probes for load balancers and orchestrators.

use actix_web::{HttpResponse, web};
use diesel::connection::SimpleConnection as _;

use crate::error::AppError;
use crate::store::Db;

/// `GET /healthz`: the process answers.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("ok")
}

/// `GET /readyz`: the database answers too.
pub async fn readyz(db: web::Data<Db>) -> Result<HttpResponse, AppError> {
    db.run(|conn| conn.batch_execute("SELECT 1")).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ready"))
}
