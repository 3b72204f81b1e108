//! Test harness shared by the HTTP and browser suites: starts the real server
//! on a random port against a fresh SQLite file, or a freshly created
//! PostgreSQL database (dropped again by a guard) when
//! `KEYWARD_TEST_POSTGRES_URL` is set.
//!
//! Both suites run under this file's harness (libtest-mimic) rather than
//! libtest, so that a test whose part of the machine is missing (PostgreSQL,
//! Chromium, nginx, Caddy, axe-core) shows as *ignored* in cargo's summary, never as passed,
//! with a loud banner naming the part; `KEYWARD_TEST_REQUIRE` (e.g.
//! `KEYWARD_TEST_REQUIRE=postgres,browser,nginx`) turns each such test into a
//! failure. Tests register with `tests!`, `sync_tests!` or
//! `on_both_backends!`.
#![allow(dead_code, reason = "each test binary uses a different part of the harness")]

pub mod step_up;
pub mod two_factor;

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use diesel::Connection as _;
use diesel::RunQueryDsl as _;
use keyward::config::{DatabaseSettings, Settings};
use keyward::domain::audit::Actor;
use keyward::domain::organization::OrgName;
use keyward::domain::role::Role;
use keyward::domain::secret::ServerSecret;
use keyward::domain::user::{DisplayName, Email};
use keyward::error::AppError;
use keyward::startup::Application;
use keyward::store::organizations::Organization;
use keyward::store::{Backend, DatabaseUrl, Db};

/// The password every fixture user has.
pub const PASSWORD: &str = "correct horse battery staple";

/// Whether `KEYWARD_TEST_REQUIRE` makes `part` mandatory.
pub fn required(part: &str) -> bool {
    std::env::var("KEYWARD_TEST_REQUIRE")
        .unwrap_or_default()
        .split(',')
        .any(|p| p.trim().eq_ignore_ascii_case(part))
}

/// Reached only by a test that uses a part it did not declare (the harness
/// ignores or fails the tests that declare one that is missing): a failure,
/// so that no test can pass without running.
pub fn missing(part: &str, why: &str) -> ! {
    panic!("this test needs {part} ({why}) but does not declare it: register it with `tests!(needs …)`");
}

/// A part of the machine that some tests need and a bare machine lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// A PostgreSQL server to create test databases in (`KEYWARD_TEST_POSTGRES_URL`).
    Postgres,
    /// PostgreSQL's server programs (`initdb`, `pg_ctl`, `postgres`), for tests
    /// that run a throwaway cluster of their own and stop it.
    PostgresServer,
    Browser,
    Nginx,
    Caddy,
    /// The browser and axe-core's `axe.min.js` (the accessibility test).
    Axe,
}

impl Part {
    /// The name `KEYWARD_TEST_REQUIRE` uses.
    pub fn name(self) -> &'static str {
        match self {
            Part::Postgres => "postgres",
            Part::PostgresServer => "postgres-server",
            Part::Browser => "browser",
            Part::Nginx => "nginx",
            Part::Caddy => "caddy",
            Part::Axe => "axe",
        }
    }

    /// Whether `KEYWARD_TEST_REQUIRE` makes this part mandatory: axe-core
    /// also when it names `browser`, since the axe test is a browser test.
    pub fn required(self) -> bool {
        required(self.name()) || (self == Part::Axe && required(Part::Browser.name()))
    }

    /// Why this part cannot be used on this machine; `None` when it can.
    pub fn unavailable(self) -> Option<String> {
        match self {
            Part::Postgres => match std::env::var("KEYWARD_TEST_POSTGRES_URL") {
                Ok(url) if !url.trim().is_empty() => None,
                _ => Some(
                    "KEYWARD_TEST_POSTGRES_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/postgres)".into(),
                ),
            },
            Part::PostgresServer => postgres_bin_dir().is_none().then(|| {
                let looked_in = std::env::var("KEYWARD_PG_BIN")
                    .ok()
                    .filter(|dir| !dir.is_empty())
                    .unwrap_or_else(|| "/usr/lib/postgresql/*/bin".to_owned());
                format!(
                    "PostgreSQL's server programs are needed (apt-get install -y postgresql, or point KEYWARD_PG_BIN \
                     at the folder holding initdb, pg_ctl and postgres); not found in {looked_in}"
                )
            }),
            Part::Browser => {
                let absent: Vec<String> = [chromium_path(), chromedriver_path()]
                    .into_iter()
                    .filter(|path| !path.is_file())
                    .map(|path| path.display().to_string())
                    .collect();
                (!absent.is_empty()).then(|| {
                    format!(
                        "Chromium and chromedriver are needed (apt-get install -y chromium chromium-driver, or \
                         point KEYWARD_CHROMIUM and KEYWARD_CHROMEDRIVER at them); not found: {}",
                        absent.join(", ")
                    )
                })
            }
            Part::Nginx => (!nginx_path().is_file()).then(|| {
                format!(
                    "nginx is needed (apt-get install -y nginx, or point KEYWARD_NGINX at it); not found: {}",
                    nginx_path().display()
                )
            }),
            Part::Caddy => (!caddy_path().is_file()).then(|| {
                format!(
                    "Caddy is needed (apt-get install -y caddy, or point KEYWARD_CADDY at it); not found: {}",
                    caddy_path().display()
                )
            }),
            Part::Axe => Part::Browser.unavailable().or_else(|| {
                (!axe_path().is_file()).then(|| {
                    format!(
                        "axe-core is needed (npm install --prefix {AXE_DIR} axe-core@{AXE_VERSION}, as .ci/run \
                         does, or point KEYWARD_AXE_JS at an axe.min.js); not found: {}",
                        axe_path().display()
                    )
                })
            }),
        }
    }
}

/// `$variable` if set and not empty, else `default`.
fn executable(variable: &str, default: &str) -> std::path::PathBuf {
    std::env::var_os(variable)
        .filter(|value| !value.is_empty())
        .map_or_else(|| default.into(), Into::into)
}

pub fn chromium_path() -> std::path::PathBuf {
    executable("KEYWARD_CHROMIUM", "/usr/bin/chromium")
}

pub fn chromedriver_path() -> std::path::PathBuf {
    executable("KEYWARD_CHROMEDRIVER", "/usr/bin/chromedriver")
}

/// The folder holding `initdb` and `pg_ctl`: `$KEYWARD_PG_BIN`, else
/// Debian's newest `/usr/lib/postgresql/<version>/bin`.
pub fn postgres_bin_dir() -> Option<std::path::PathBuf> {
    let usable = |dir: &std::path::Path| ["initdb", "pg_ctl", "postgres"].iter().all(|p| dir.join(p).is_file());
    if let Some(dir) = std::env::var_os("KEYWARD_PG_BIN").filter(|v| !v.is_empty()) {
        let dir = std::path::PathBuf::from(dir);
        return usable(&dir).then_some(dir);
    }
    let mut versions: Vec<(u32, std::path::PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| usable(dir))
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir)
}

pub fn nginx_path() -> std::path::PathBuf {
    executable("KEYWARD_NGINX", "/usr/sbin/nginx")
}

pub fn caddy_path() -> std::path::PathBuf {
    executable("KEYWARD_CADDY", "/usr/bin/caddy")
}

/// The axe-core release the accessibility test is written against (and
/// `.ci/run` installs).
pub const AXE_VERSION: &str = "4.14.1";
/// Where `.ci/run` installs axe-core with npm: outside the clone, so no
/// `node_modules` is ever committed, and kept between runs.
pub const AXE_DIR: &str = "/var/tmp/keyward-axe";

/// axe-core's `axe.min.js`: `KEYWARD_AXE_JS`, else the one `.ci/run` installs.
pub fn axe_path() -> std::path::PathBuf {
    std::env::var_os("KEYWARD_AXE_JS")
        .filter(|value| !value.is_empty())
        .map_or_else(
            || format!("{AXE_DIR}/node_modules/axe-core/axe.min.js").into(),
            Into::into,
        )
}

/// One registered test: its path in the suite, the part it needs, its body.
pub struct TestCase {
    /// `module_path!()` and the test's name, e.g. `api::health::liveness::sqlite`.
    pub path: &'static str,
    pub needs: Option<Part>,
    pub run: fn(),
}

inventory::collect!(TestCase);

/// Runs an async test body on its own runtime, as `#[tokio::test]` would.
pub fn block_on(body: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a test runtime")
        .block_on(body);
}

/// The test binary's `main`: every registered test, each ignored (with a
/// banner) or failed (under `KEYWARD_TEST_REQUIRE`) when its part is missing.
/// Unless `--test-threads` says otherwise, `threads_per_core` tests run at
/// once per core: the HTTP tests mostly wait (for a fresh TOTP step, a
/// change to arrive, a flush), so one thread a core leaves the cores idle.
pub fn run_registered_tests(threads_per_core: usize) -> std::process::ExitCode {
    let mut args = libtest_mimic::Arguments::from_args();
    if args.test_threads.is_none() {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        args.test_threads = Some(cores * threads_per_core);
    }
    let mut cases: Vec<&TestCase> = inventory::iter::<TestCase>.into_iter().collect();
    cases.sort_by_key(|case| case.path);
    let mut reported = Vec::new();
    let trials = cases
        .into_iter()
        .map(|case| {
            let name = case.path.split_once("::").map_or(case.path, |(_, rest)| rest);
            let absent = case.needs.and_then(|part| part.unavailable().map(|why| (part, why)));
            if let Some((part, why)) = &absent
                && !part.required()
                && !reported.contains(part)
            {
                reported.push(*part);
                eprintln!();
                eprintln!("################################################################");
                eprintln!("## IGNORED: the {} tests, because {why}", part.name());
                eprintln!("################################################################");
            }
            let ignored = absent.as_ref().is_some_and(|(part, _)| !part.required());
            let run = case.run;
            let thread_name = name.to_owned();
            libtest_mimic::Trial::test(name, move || {
                if let Some((part, why)) = absent {
                    return Err(format!(
                        "{} is required by KEYWARD_TEST_REQUIRE but unavailable: {why}",
                        part.name()
                    )
                    .into());
                }
                // A thread named after the test, as libtest gives each test:
                // the browser harness names screenshots after it.
                std::thread::Builder::new()
                    .name(thread_name)
                    .spawn(run)
                    .map_err(|e| format!("cannot start the test thread: {e}"))?
                    .join()
                    .map_err(|panic| {
                        let message = panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                            .unwrap_or_else(|| "the test panicked".to_owned());
                        message.into()
                    })
            })
            .with_ignored_flag(ignored)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}

/// Registers async test functions: `tests!(a, b)`, or
/// `tests!(needs Part::Nginx; c)` for tests that need a part of the machine.
#[macro_export]
macro_rules! tests {
    (needs $part:expr; $($name:ident),* $(,)?) => {$(
        inventory::submit! { $crate::support::TestCase {
            path: concat!(module_path!(), "::", stringify!($name)),
            needs: Some($part),
            run: || $crate::support::block_on($name()),
        }}
    )*};
    ($($name:ident),* $(,)?) => {$(
        inventory::submit! { $crate::support::TestCase {
            path: concat!(module_path!(), "::", stringify!($name)),
            needs: None,
            run: || $crate::support::block_on($name()),
        }}
    )*};
}

/// Registers plain (not async) test functions, like `tests!`.
#[macro_export]
macro_rules! sync_tests {
    (needs $part:expr; $($name:ident),* $(,)?) => {$(
        inventory::submit! { $crate::support::TestCase {
            path: concat!(module_path!(), "::", stringify!($name)),
            needs: Some($part),
            run: $name,
        }}
    )*};
    ($($name:ident),* $(,)?) => {$(
        inventory::submit! { $crate::support::TestCase {
            path: concat!(module_path!(), "::", stringify!($name)),
            needs: None,
            run: $name,
        }}
    )*};
}

fn init_logging() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        if std::env::var("TEST_LOG").is_ok() {
            keyward::telemetry::init("debug");
        }
    });
}

/// A PostgreSQL database created for one test and dropped after it.
pub struct TestPostgresDb {
    admin_url: String,
    name: String,
}

impl TestPostgresDb {
    fn create(admin_url: &str) -> Self {
        let name = format!("keyward_test_{}", uuid::Uuid::now_v7().simple());
        let mut conn = diesel::PgConnection::establish(admin_url)
            .unwrap_or_else(|e| panic!("cannot connect to KEYWARD_TEST_POSTGRES_URL: {e}"));
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .expect("create the test database");
        Self {
            admin_url: admin_url.to_owned(),
            name,
        }
    }

    pub fn url(&self) -> String {
        with_database(&self.admin_url, &self.name)
    }
}

impl Drop for TestPostgresDb {
    fn drop(&mut self) {
        if let Ok(mut conn) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut conn);
        }
    }
}

/// `postgres://u@h:5432/postgres?x=y` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// Where a test's database lives; dropped last.
pub enum TestDatabase {
    Sqlite(tempfile::TempDir),
    Postgres(TestPostgresDb),
    /// Another instance's database, or one the test made itself: that
    /// instance or the test removes it.
    Shared,
}

/// A database for one test on `backend`, or `None` when PostgreSQL is not
/// configured (after the loud skip message).
pub fn test_database(backend: Backend) -> Option<(DatabaseUrl, TestDatabase)> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("keyward.db");
            let url = DatabaseUrl::parse(path.to_str().expect("utf-8 path")).expect("valid path");
            Some((url, TestDatabase::Sqlite(dir)))
        }
        Backend::Postgres => match std::env::var("KEYWARD_TEST_POSTGRES_URL") {
            Ok(admin_url) if !admin_url.trim().is_empty() => {
                let db = TestPostgresDb::create(&admin_url);
                let url = DatabaseUrl::parse(&db.url()).expect("valid url");
                Some((url, TestDatabase::Postgres(db)))
            }
            _ => missing(
                "postgres",
                "KEYWARD_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres)",
            ),
        },
    }
}

/// Settings for a test server: random port, fresh secret, one worker.
pub fn test_settings(url: DatabaseUrl) -> Settings {
    Settings {
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        database: DatabaseSettings {
            url,
            pool_size: 4,
            acquire_timeout: Duration::from_secs(5),
            connect_attempts: 1,
        },
        secret: ServerSecret::generate(),
        // reqwest's cookie store would not send Secure cookies over http
        insecure_cookies: true,
        public_url: None,
        trusted_proxies: Vec::new(),
        workers: Some(1),
        password_hash_concurrency: 2,
        catalogue: keyward::domain::permissions::Catalogue::default_catalogue(),
        key_cache_ttl: Duration::from_secs(300),
        key_changes: keyward::auth::cache::FollowSettings {
            poll: Duration::from_millis(500),
            listening_poll: Duration::from_secs(5),
            first_retry: Duration::from_secs(1),
        },
        key_cache_capacity: 10_000,
        invalid_key_budget: keyward::auth::miss_budget::MissBudgetSettings::default(),
        usage_flush_interval: Duration::from_millis(200),
        gateway_routes: keyward::domain::routes::RouteMap::default(),
        gateway_headers: keyward::api::check::GatewayHeaders::default(),
        metrics_allow: vec![
            "127.0.0.1/32".parse().expect("network"),
            "::1/128".parse().expect("network"),
        ],
    }
}

/// A running server and a client for it.
pub struct TestApp {
    pub address: String,
    /// The origin a browser of this app sends: its public URL's when one is
    /// configured (the only one forms are accepted from), else `address`.
    pub origin: String,
    pub port: u16,
    pub backend: Backend,
    pub db: Db,
    pub db_url: DatabaseUrl,
    /// The server's secret, for arranging keys the server can verify.
    pub secret: ServerSecret,
    pub client: reqwest::Client,
    /// Last: the database must outlive the server's use of it.
    pub database: TestDatabase,
}

impl TestApp {
    /// Starts a server on `backend`; `None` when that backend is unavailable.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Like `spawn`, with the settings adjusted first.
    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> Option<TestApp> {
        init_logging();
        let (url, database) = test_database(backend)?;
        let mut settings = test_settings(url);
        adjust(&mut settings);
        Some(Self::start(backend, settings, database).await)
    }

    /// A server on a database the test made itself (a throwaway PostgreSQL
    /// cluster, say), which the test also removes.
    pub async fn spawn_on(url: DatabaseUrl, adjust: impl FnOnce(&mut Settings)) -> TestApp {
        init_logging();
        let backend = url.backend();
        let mut settings = test_settings(url);
        adjust(&mut settings);
        Self::start(backend, settings, TestDatabase::Shared).await
    }

    /// This deployment as reached through another instance listening on
    /// `port` (a server process the test started on the same database and
    /// secret): the helpers then talk to that instance, with this client and
    /// its cookies (sessions live in the database, so a sign-in here counts there).
    pub fn through(&self, port: u16) -> TestApp {
        let address = format!("http://127.0.0.1:{port}");
        TestApp {
            // The other instance has no public URL of its own here: a
            // browser of it sends its own address as the origin.
            origin: address.clone(),
            address,
            port,
            backend: self.backend,
            db: self.db.clone(),
            db_url: self.db_url.clone(),
            secret: self.secret.clone(),
            client: self.client.clone(),
            database: TestDatabase::Shared,
        }
    }

    /// A second instance of this deployment: same database, same secret.
    pub async fn another_instance(&self) -> TestApp {
        self.another_instance_with(|_| {}).await
    }

    /// Like `another_instance`, with its settings adjusted first.
    pub async fn another_instance_with(&self, adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let url = self.db_url.clone();
        let mut settings = test_settings(url);
        settings.secret = self.secret.clone();
        adjust(&mut settings);
        Self::start(self.backend, settings, TestDatabase::Shared).await
    }

    async fn start(backend: Backend, settings: Settings, database: TestDatabase) -> TestApp {
        let secret = settings.secret.clone();
        let db_url = settings.database.url.clone();
        let public_origin = settings
            .public_url
            .as_ref()
            .map(|url| url.origin().ascii_serialization());
        let application = Application::build(settings).await.expect("the application starts");
        let port = application.port();
        let db = application.db().clone();
        tokio::spawn(application.run_until_stopped());
        let address = format!("http://127.0.0.1:{port}");
        TestApp {
            origin: public_origin.unwrap_or_else(|| address.clone()),
            address,
            port,
            backend,
            db,
            db_url,
            secret,
            client: new_client(),
            database,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Another browser: its own cookie jar.
    pub fn new_client(&self) -> reqwest::Client {
        new_client()
    }

    /// Creates an organization through the same code the CLI uses.
    pub async fn create_org(&self, name: &str) -> Organization {
        let name = OrgName::parse(name).expect("valid name");
        self.db
            .transaction(move |conn| {
                keyward::service::accounts::create_organization(conn, &name, None, &Actor::Cli, None)
            })
            .await
            .expect("organization created")
    }

    /// Creates a user with `PASSWORD`; returns their email.
    pub async fn create_user(&self, org: &Organization, role: Role, email: &str) -> String {
        let org = org.clone();
        let email = Email::parse(email).expect("valid email");
        let name = DisplayName::parse(email.as_str().split('@').next().unwrap_or("user")).expect("valid name");
        let returned = email.to_string();
        self.db
            .transaction(move |conn| {
                keyward::service::accounts::create_user(
                    conn,
                    &org,
                    &email,
                    &name,
                    role,
                    password_hash(),
                    &Actor::Cli,
                    None,
                )
            })
            .await
            .expect("user created");
        returned
    }

    /// GET a page with `client` and return the CSRF token it embeds.
    pub async fn csrf_token(&self, client: &reqwest::Client, path: &str) -> String {
        let body = client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
            .text()
            .await
            .expect("body");
        csrf_token_in(&body).unwrap_or_else(|| panic!("no csrf token on {path}"))
    }

    /// POST a form as a browser would: same-origin `Origin` header.
    pub async fn post_form(&self, client: &reqwest::Client, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        client
            .post(self.url(path))
            .header("Origin", &self.origin)
            .form(form)
            .send()
            .await
            .expect("request")
    }

    /// Signs `client` in through the login form.
    pub async fn sign_in_with(&self, client: &reqwest::Client, email: &str, password: &str) -> reqwest::Response {
        let token = self.csrf_token(client, "/login").await;
        self.post_form(
            client,
            "/login",
            &[("csrf_token", &token), ("email", email), ("password", password)],
        )
        .await
    }

    /// Signs the default client in as `email` and checks it worked.
    pub async fn sign_in(&self, email: &str) {
        let response = self.sign_in_with(&self.client, email, PASSWORD).await;
        assert_eq!(response.status().as_u16(), 303, "sign-in as {email} should redirect");
    }

    /// A new organization with a user of `role`, signed in on the default client.
    pub async fn signed_in_as(&self, role: Role) -> (Organization, String) {
        let org = self.create_org("Acme Aviation").await;
        let email = format!("{}@acme.test", role.as_str());
        self.create_user(&org, role, &email).await;
        self.sign_in(&email).await;
        (org, email)
    }

    /// Runs a query against the app's database (for arranging and inspecting).
    pub async fn query<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut keyward::store::DbConnection) -> Result<T, AppError> + Send + 'static,
    ) -> T {
        self.db.run(work).await.expect("query")
    }
}

fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free local port")
        .port()
}

/// Waits (10 s at most) until something accepts connections on `port`.
pub async fn wait_for_port(port: u16) {
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing listens on port {port}");
}

/// Hashed once per test binary: argon2 is deliberately slow.
fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| keyward::auth::password::hash_blocking(PASSWORD).expect("hash"))
}

/// The one-time secret a create or rotate answer shows (in its "API key" field).
pub fn secret_in(html: &str) -> String {
    let field = html.find("id=\"new-secret\"").expect("the secret is shown");
    let start = html[field..].find("ask_").expect("a key in the field") + field;
    html[start..start + 68].to_owned()
}

/// The CSRF token a page embeds.
pub fn csrf_token_in(html: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// Registers `<name>::sqlite` and `<name>::postgres` tests that run the
/// same async test body (`async fn name(app: TestApp)`) against each backend;
/// `on_both_backends!(adjusting f; name)` first passes the settings to `f`.
#[macro_export]
macro_rules! on_both_backends {
    (adjusting $adjust:path; $($name:ident),* $(,)?) => {$(
        inventory::submit! { $crate::support::TestCase {
            path: concat!(module_path!(), "::", stringify!($name), "::sqlite"),
            needs: None,
            run: || $crate::support::block_on(async {
                let app = $crate::support::TestApp::spawn_with(keyward::store::Backend::Sqlite, $adjust).await;
                $name(app.expect("SQLite is always available")).await;
            }),
        }}
        inventory::submit! { $crate::support::TestCase {
            path: concat!(module_path!(), "::", stringify!($name), "::postgres"),
            needs: Some($crate::support::Part::Postgres),
            run: || $crate::support::block_on(async {
                let app = $crate::support::TestApp::spawn_with(keyward::store::Backend::Postgres, $adjust).await;
                $name(app.expect("PostgreSQL is declared")).await;
            }),
        }}
    )*};
    ($($name:ident),* $(,)?) => {
        $crate::on_both_backends!(adjusting $crate::support::default_settings; $($name),*);
    };
}

/// The settings `on_both_backends!` uses when a test adjusts none.
pub fn default_settings(_: &mut Settings) {}

/// How a test key is made; `TestKey::default()` is full access from anywhere.
pub struct TestKey {
    pub name: &'static str,
    pub scopes: &'static [&'static str],
    pub networks: &'static str,
    pub allow_query_key: bool,
}

impl Default for TestKey {
    fn default() -> Self {
        Self {
            name: "Test key",
            scopes: &["*:*"],
            networks: "0.0.0.0/0\n::/0",
            allow_query_key: false,
        }
    }
}

impl TestApp {
    /// A set-up organization with one key; returns its id and the secret.
    pub async fn org_with_api_key(&self, org_name: &str, key: TestKey) -> (Organization, String, String) {
        let org = self.create_org(org_name).await;
        let setup_org = org.clone();
        self.db
            .transaction(move |conn| keyward::service::keys::bootstrap(conn, &setup_org, &Actor::Cli, None).map(drop))
            .await
            .expect("set up for keys");
        let (id, token) = self.add_api_key(&org, key).await;
        (org, id, token)
    }

    /// Another key in a set-up organization; returns its id and the secret.
    pub async fn add_api_key(&self, org: &Organization, key: TestKey) -> (String, String) {
        let (secret, org_id) = (self.secret.clone(), org.id.clone());
        self.db
            .transaction(move |conn| {
                use keyward::domain::api_key::KeyName;
                use keyward::domain::network::NetworkList;
                use keyward::domain::scope::{Scope, ScopeSet};
                let scopes = key
                    .scopes
                    .iter()
                    .map(|s| Scope::parse_pair(s))
                    .collect::<Result<Vec<_>, _>>()?;
                let new = keyward::service::keys::NewKey {
                    name: KeyName::parse(key.name)?,
                    expiry: None,
                    scopes: ScopeSet::new(scopes)?,
                    networks: NetworkList::parse_lines(key.networks)?,
                    allow_query_key: key.allow_query_key,
                };
                let (detail, token) = keyward::service::keys::create(conn, &secret, &org_id, &new, &Actor::Cli, None)?;
                Ok::<_, AppError>((detail.key.id, token.expose().to_owned()))
            })
            .await
            .expect("key created")
    }

    /// `count` full-access keys named "`prefix` 0", "`prefix` 1"… in a
    /// set-up organization, in one transaction (lists longer than a page).
    pub async fn add_numbered_keys(&self, org: &Organization, prefix: &str, count: usize) {
        let (secret, org_id, prefix) = (self.secret.clone(), org.id.clone(), prefix.to_owned());
        self.db
            .transaction(move |conn| {
                for i in 0..count {
                    let new = keyward::service::keys::NewKey {
                        name: keyward::domain::api_key::KeyName::parse(&format!("{prefix} {i}"))?,
                        expiry: None,
                        scopes: keyward::domain::scope::ScopeSet::full_access(),
                        networks: keyward::domain::network::NetworkList::allow_all(),
                        allow_query_key: false,
                    };
                    keyward::service::keys::create(conn, &secret, &org_id, &new, &Actor::Cli, None)?;
                }
                Ok::<_, AppError>(())
            })
            .await
            .expect("keys created");
    }

    /// Signs `email` in on the default client, sets the organization up for
    /// keys and creates one through the backoffice form; returns the secret
    /// shown once.
    pub async fn create_key_in_backoffice(&self, email: &str, name: &str) -> String {
        let signed_in = self.sign_in_with(&self.client, email, PASSWORD).await;
        assert_eq!(signed_in.status().as_u16(), 303);
        let base = "/backoffice/settings/api-keys";
        let csrf = self.csrf_token(&self.client, base).await;
        self.post_form(&self.client, &format!("{base}/setup"), &[("csrf_token", &csrf)])
            .await;
        let body = self
            .post_form(
                &self.client,
                base,
                &[
                    ("csrf_token", &csrf),
                    ("name", name),
                    ("scope_mode", "full"),
                    ("networks", "0.0.0.0/0"),
                ],
            )
            .await
            .text()
            .await
            .expect("body");
        secret_in(&body)
    }

    /// GET `path` with the key in `X-API-Key`.
    pub async fn get_with_key(&self, path: &str, key: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header("X-API-Key", key)
            .send()
            .await
            .expect("request")
    }
}

mod tests {
    use super::with_database;

    crate::sync_tests!(database_names_are_swapped_in_urls);

    fn database_names_are_swapped_in_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://h/db?sslmode=disable", "t1"),
            "postgres://h/t1?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "t1"), "postgres://h/t1");
    }
}
