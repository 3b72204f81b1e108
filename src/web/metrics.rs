//! `GET /metrics` (the Prometheus text format), for the configured client
//! addresses only, and the middleware that counts every request by route
//! pattern and status.

use std::future::{Ready, ready};
use std::net::IpAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::guard::GuardContext;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use ipnet::IpNet;

use crate::auth::client_ip::{self, TrustedProxies};
use crate::auth::key_auth::Authenticator;
use crate::metrics::{self, Metrics, RouteRow};
use crate::store::Db;

/// Where the metrics are served.
pub const PATH: &str = "/metrics";

/// Who may read the metrics: client addresses inside these networks, the
/// client address found as everywhere else (`client_ip`: the socket peer,
/// or what a trusted proxy forwards).
#[derive(Debug, Clone)]
pub struct MetricsAccess {
    pub allow: Vec<IpNet>,
    pub trusted_proxies: TrustedProxies,
}

impl MetricsAccess {
    /// Whether the request's client may read the metrics. A route guard:
    /// for anyone else the route does not exist, and the request goes on to
    /// the 404 every unknown path gets, so nothing says it is here.
    pub fn admits(&self, ctx: &GuardContext<'_>) -> bool {
        let head = ctx.head();
        let peer = head.peer_addr.map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
        let forwarded = head
            .headers()
            .get_all(header::X_FORWARDED_FOR)
            .filter_map(|v| v.to_str().ok());
        let client = client_ip::resolve(peer, forwarded, &self.trusted_proxies);
        // The same containment as trusted proxies: canonical addresses,
        // IPv4-mapped networks read as IPv4.
        client_ip::is_trusted(client, &self.allow)
    }
}

/// `GET /metrics`: the figures of this instance. The gauges read from the
/// parts themselves (cache size, pool connections) are set just before.
pub async fn show_metrics(
    metrics: web::Data<Metrics>,
    authenticator: web::Data<Authenticator>,
    db: web::Data<Db>,
) -> HttpResponse {
    metrics.set_cache_entries(authenticator.key_cache.len());
    let pool = db.pool().state();
    metrics.set_pool_state(pool.connections, pool.idle_connections);
    HttpResponse::Ok()
        .content_type(metrics::CONTENT_TYPE)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(metrics.render())
}

/// Middleware counting each answered request under the pattern of the
/// route it matched (`HttpRequest::match_name`, since resources are named
/// by their pattern, unless the path is itself a listed pattern) and its
/// status. The route is found before the request is
/// handed on, since a refusal made by a middleware comes back as an error
/// without the request.
pub struct CountRequests(pub Metrics);

impl<S, B> Transform<S, ServiceRequest> for CountRequests
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = CountRequestsService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(CountRequestsService {
            service,
            metrics: Rc::new(self.0.clone()),
        }))
    }
}

pub struct CountRequestsService<S> {
    service: S,
    /// One per worker: cloned into every request's future without an
    /// atomic operation.
    metrics: Rc<Metrics>,
}

impl<S, B> Service<ServiceRequest> for CountRequestsService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = Counted<S::Future>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let row = self.metrics.route_row(req.path(), || req.match_name());
        Counted {
            inner: self.service.call(req),
            metrics: self.metrics.clone(),
            row,
        }
    }
}

pin_project_lite::pin_project! {
    /// A request being answered; counted when it is.
    pub struct Counted<F> {
        #[pin]
        inner: F,
        metrics: Rc<Metrics>,
        row: RouteRow,
    }
}

impl<F, B> std::future::Future for Counted<F>
where
    F: std::future::Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let outcome = std::task::ready!(this.inner.poll(cx));
        let status = match &outcome {
            Ok(response) => response.status(),
            Err(error) => error.as_response_error().status_code(),
        };
        this.metrics.count_request(*this.row, status.as_u16());
        Poll::Ready(outcome)
    }
}
