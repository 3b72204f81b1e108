//! Builds the application: database pool and migrations, the parts handlers
//! and middleware take (each its own `web::Data`), the HTTP server with its
//! middleware, and background housekeeping.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use tracing_actix_web::TracingLogger;

use crate::api::check::GatewaySettings;
use crate::auth::cache::{KeyCache, spawn_change_watcher};
use crate::auth::client_ip::TrustedProxies;
use crate::auth::csrf::CsrfSettings;
use crate::auth::key_auth::Authenticator;
use crate::auth::miss_budget::MissBudget;
use crate::auth::password::PasswordHasher;
use crate::auth::usage::{Flusher, UsageBuffer, spawn_flusher};
use crate::config::{DatabaseSettings, Settings};
use crate::error::AppError;
use crate::metrics::Metrics;
use crate::service::keys::KeyService;
use crate::store::{self, Db, DbPool, form_submissions, key_changes, migrations, sessions, users};
use crate::telemetry::RequestSpan;
use crate::web::metrics::{CountRequests, MetricsAccess};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot reach the database at {url} after {attempts} attempt(s): {last_error}")]
    DatabaseUnreachable {
        url: String,
        attempts: u32,
        last_error: String,
    },
    #[error("cannot migrate the database: {0}")]
    Migration(String),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

/// Opens the pool, retrying while the database is unreachable (it may still
/// be starting), and logging each failure with the driver's own message.
/// The pool's waits and timeouts go to `metrics`.
pub async fn connect_database(settings: &DatabaseSettings, metrics: &Metrics) -> Result<DbPool, StartupError> {
    let attempts = settings.connect_attempts.max(1);
    let mut last_error = String::new();
    for attempt in 1..=attempts {
        let url = settings.url.clone();
        let (size, timeout) = (settings.pool_size, settings.acquire_timeout);
        let events = Box::new(metrics.pool_events());
        let result = tokio::task::spawn_blocking(move || store::connect(&url, size, timeout, events))
            .await
            .map_err(|e| StartupError::Other(e.to_string()))?;
        match result {
            Ok(pool) => return Ok(pool),
            Err(error) => {
                last_error = error.to_string();
                tracing::warn!(
                    database = %settings.url,
                    attempt,
                    attempts,
                    error = %last_error,
                    "database not reachable"
                );
                if attempt < attempts {
                    tokio::time::sleep(Duration::from_secs(u64::from(attempt).min(5))).await;
                }
            }
        }
    }
    Err(StartupError::DatabaseUnreachable {
        url: settings.url.to_string(),
        attempts,
        last_error,
    })
}

/// Applies pending migrations; logs what it applied.
pub async fn migrate(pool: &DbPool) -> Result<Vec<String>, StartupError> {
    let pool = pool.clone();
    let applied = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().map_err(|e| e.to_string())?;
        migrations::run_pending(&mut conn).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| StartupError::Other(e.to_string()))?
    .map_err(StartupError::Migration)?;
    for version in &applied {
        tracing::info!(%version, "applied migration");
    }
    Ok(applied)
}

/// A running server and what callers (the CLI, tests) need from it.
pub struct Application {
    port: u16,
    db: Db,
    usage: UsageBuffer,
    flusher: Flusher,
    server: Server,
}

impl Application {
    /// Connects, migrates, binds the listener (port 0 picks a free one) and
    /// prepares the server; `run_until_stopped` serves.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let metrics = Metrics::new(route_labels());
        let pool = connect_database(&settings.database, &metrics).await?;
        migrate(&pool).await?;
        let db = Db::new(pool);
        let passwords = tokio::task::spawn_blocking({
            let limit = settings.password_hash_concurrency;
            move || PasswordHasher::new(limit)
        })
        .await
        .map_err(|e| StartupError::Other(e.to_string()))?
        .map_err(|e: AppError| StartupError::Other(format!("{e:?}")))?;

        let listener = TcpListener::bind(settings.bind).map_err(|source| StartupError::Bind {
            address: settings.bind,
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| StartupError::Other(e.to_string()))?
            .port();

        let key_cache = KeyCache::new(settings.key_cache_capacity, settings.key_cache_ttl, metrics.clone());
        key_cache
            .start_at_latest_change(&db)
            .await
            .map_err(|e| StartupError::Other(format!("cannot read the key change log: {e}")))?;
        spawn_change_watcher(
            db.clone(),
            key_cache.clone(),
            settings.database.url.clone(),
            settings.key_changes,
        );
        let usage = UsageBuffer::default();
        let flusher = spawn_flusher(
            usage.clone(),
            db.clone(),
            settings.usage_flush_interval,
            metrics.clone(),
        );
        spawn_metrics_upkeep(metrics.clone());
        // Each part its own `web::Data`, so a handler's signature says what
        // it touches.
        let passwords = web::Data::new(passwords);
        let catalogue = web::Data::new(settings.catalogue.clone());
        let key_service = web::Data::new(KeyService {
            db: db.clone(),
            key_cache: key_cache.clone(),
            server_secret: settings.secret.clone(),
        });
        let trusted_proxies = TrustedProxies(settings.trusted_proxies.clone());
        let authenticator = web::Data::new(Authenticator {
            db: db.clone(),
            secret: settings.secret.clone(),
            key_cache: key_cache.clone(),
            miss_budget: MissBudget::new(settings.invalid_key_budget),
            usage: usage.clone(),
            trusted_proxies: trusted_proxies.clone(),
            metrics: metrics.clone(),
        });
        let metrics_access = MetricsAccess {
            allow: settings.metrics_allow.clone(),
            trusted_proxies: trusted_proxies.clone(),
        };
        let csrf = web::Data::new(CsrfSettings {
            secret: settings.secret.clone(),
            cookie_key: settings.secret.cookie_key(),
            secure_cookies: !settings.insecure_cookies,
            public_url: settings.public_url.clone(),
        });
        let gateway = web::Data::new(GatewaySettings {
            routes: settings.gateway_routes.clone(),
            headers: settings.gateway_headers,
        });
        let two_factor_keys = web::Data::new(crate::domain::two_factor::TwoFactorKeys::derive(&settings.secret));
        let db_data = web::Data::new(db.clone());
        let trusted_proxies = web::Data::new(trusted_proxies);
        let metrics_data = web::Data::new(metrics.clone());

        spawn_housekeeping(db.clone());

        let mut server = HttpServer::new(move || {
            let (db, csrf) = (db_data.clone(), csrf.clone());
            let metrics_access = metrics_access.clone();
            App::new()
                .app_data(passwords.clone())
                .app_data(catalogue.clone())
                .app_data(key_service.clone())
                .app_data(db.clone())
                .app_data(trusted_proxies.clone())
                .app_data(authenticator.clone())
                .app_data(csrf.clone())
                .app_data(gateway.clone())
                .app_data(two_factor_keys.clone())
                .app_data(metrics_data.clone())
                .wrap(from_fn(|req, next| {
                    crate::web::add_headers(&crate::web::SECURITY_HEADERS, req, next)
                }))
                .wrap(TracingLogger::<RequestSpan>::new())
                .wrap(CountRequests(metrics_data.get_ref().clone()))
                // The API first: routes are tried in order, and its requests
                // should not pay for the static route's pattern match.
                .configure(crate::api::routes)
                .service(named(HEALTHZ).route(web::get().to(crate::web::health::healthz)))
                .service(named(READYZ).route(web::get().to(crate::web::health::readyz)))
                .service(named(STATIC).route(web::get().to(crate::web::assets::serve_static)))
                // For a client outside `--metrics-allow` the guard fails and
                // the request goes on to the backoffice's 404, as any
                // unknown path does.
                .service(
                    named(crate::web::metrics::PATH)
                        .guard(actix_web::guard::fn_guard(move |ctx| metrics_access.admits(ctx)))
                        .route(web::get().to(crate::web::metrics::show_metrics)),
                )
                .configure(|cfg| crate::web::routes(cfg, &db, &csrf))
        })
        .listen(listener)
        .map_err(|source| StartupError::Bind {
            address: settings.bind,
            source,
        })?;
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        Ok(Self {
            port,
            db,
            usage,
            flusher,
            server: server.run(),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Serves until stopped (SIGINT/SIGTERM stop gracefully), then stops the
    /// periodic flusher (letting a flush it is in finish) and writes the
    /// usage still in memory.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.flusher.stop().await;
        match self.usage.flush(&self.db).await {
            Ok(buckets) => tracing::info!(buckets, "flushed usage at shutdown"),
            Err(error) => tracing::error!(%error, "could not flush usage at shutdown"),
        }
        served
    }
}

const HEALTHZ: &str = "/healthz";
const READYZ: &str = "/readyz";
const STATIC: &str = "/static/{path:.*}";

/// A resource named by its pattern, as `RouteTable` names its own: the
/// request metrics count by that name.
fn named(path: &'static str) -> actix_web::Resource {
    web::resource(path).name(path)
}

/// Every route pattern requests are counted under, in registration order.
fn route_labels() -> Vec<String> {
    let api = crate::api::route_listing().into_iter().map(|route| route.path);
    let web = crate::web::route_listing().into_iter().map(|(_, route)| route.path);
    api.chain(
        [
            crate::api::OPENAPI_PATH,
            HEALTHZ,
            READYZ,
            STATIC,
            crate::web::metrics::PATH,
        ]
        .map(String::from),
    )
    .chain(web)
    .collect()
}

/// Folds the histograms' values into their buckets every few seconds, so
/// that an instance nobody scrapes keeps a bounded memory.
fn spawn_metrics_upkeep(metrics: Metrics) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(5));
        loop {
            interval.tick().await;
            metrics.run_upkeep();
        }
    });
}

/// How long the key change log keeps an entry.
const KEY_CHANGE_RETENTION: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// Deletes expired sessions, old sign-in failures and old key changes every
/// few minutes.
fn spawn_housekeeping(db: Db) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(300));
        loop {
            interval.tick().await;
            let result = db
                .run(|conn| {
                    let now = store::now();
                    let sessions = sessions::delete_expired(conn, now)?;
                    let failures = users::delete_sign_in_failures_before(conn, now - crate::auth::throttle::WINDOW)?;
                    // Instances read the log every few seconds at the least; one that falls
                    // further behind than this drops its whole cache.
                    let changes = key_changes::delete_before(conn, now - KEY_CHANGE_RETENTION)?;
                    // A form reloaded a week later is a new request.
                    let forms = form_submissions::delete_before(conn, now - chrono::TimeDelta::days(7))?;
                    // A two-factor setup left unfinished; its page makes a new one.
                    let setups = crate::store::two_factor::delete_enrolments_before(
                        conn,
                        now - crate::service::two_factor::SETUP_LIFETIME,
                    )?;
                    Ok::<_, AppError>((sessions, failures, changes, forms, setups))
                })
                .await;
            match result {
                Ok((sessions, failures, changes, forms, setups)) => {
                    tracing::debug!(
                        sessions,
                        failures,
                        changes,
                        forms,
                        setups,
                        "housekeeping removed expired rows"
                    );
                }
                Err(error) => tracing::warn!(%error, "housekeeping failed; will retry"),
            }
        }
    });
}
