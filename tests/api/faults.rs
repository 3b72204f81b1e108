//! Faults: PostgreSQL stopped under load, SQLite locked by another writer,
//! and the server killed (`kill -9`) in the middle of a burst of key
//! creations. Where a process must survive or die it is the real binary,
//! started by the test on the database (and secret) of an in-process
//! instance that arranges the data and reads the database afterwards.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use keyward::domain::role::Role;
use keyward::store::schema::{api_keys, audit_events, key_networks, key_scopes, key_secrets, usage_buckets};
use keyward::store::{Backend, DatabaseUrl};
use serde_json::{Value, json};

use crate::management::ADMIN;
use crate::on_both_backends;
use crate::support::{Part, TestApp, TestKey, free_port, postgres_bin_dir};

crate::tests!(needs Part::PostgresServer; postgres_stopped_under_load_answers_503_and_recovers_without_a_restart);
crate::tests!(sqlite_locked_by_another_writer_makes_requests_wait_then_succeed_or_answer_503_never_500);
on_both_backends!(a_server_killed_during_key_creations_keeps_every_confirmed_key_and_no_half_made_one);

/// A `keyward serve` process on the deployment's database and secret,
/// killed with SIGKILL when dropped. Its log (warnings and errors) is kept
/// in a file, for the assertions' messages.
pub(crate) struct ServerProcess {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl ServerProcess {
    pub(crate) async fn start(app: &TestApp, args: &[&str]) -> ServerProcess {
        Self::start_logging(app, args, "warn").await
    }

    /// `start`, logging at `level` (`KEYWARD_LOG`).
    pub(crate) async fn start_logging(app: &TestApp, args: &[&str], level: &str) -> ServerProcess {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("server.log");
        let port = free_port();
        let child = crate::startup::keyward()
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .args(["--database-url", app.db_url.connection_string()])
            .args(["--insecure-cookies", "--workers", "2"])
            .args(args)
            .env("KEYWARD_SECRET", app.secret.to_base64())
            .env("KEYWARD_LOG", level)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("the server starts");
        let mut server = ServerProcess {
            child,
            port,
            log,
            _dir: dir,
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(server.is_running(), "the server exited at start:\n{}", server.log());
            assert!(started.elapsed() < Duration::from_secs(30), "the server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("wait").is_none()
    }

    /// `kill -9`: no shutdown, no final flush.
    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A throwaway PostgreSQL cluster of the test's own, in a temp dir, on a
/// free loopback port (the shared server is never stopped). As root, its
/// programs run as `postgres`, which PostgreSQL insists on.
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl Cluster {
    fn start() -> Cluster {
        let bin = postgres_bin_dir().expect("declared: Part::PostgresServer");
        let dir = tempfile::Builder::new()
            .prefix("keyward-pg-")
            .tempdir()
            .expect("temp dir");
        let cluster = Cluster {
            dir,
            bin,
            port: free_port(),
        };
        if running_as_root() {
            let chown = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(cluster.dir.path())
                .status()
                .expect("chown runs");
            assert!(chown.success(), "the temp dir is given to the postgres user");
        }
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                path_str(&data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
        );
        let conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\nfsync = off\n",
            cluster.port,
            cluster.dir.path().display()
        );
        let mut existing = std::fs::read_to_string(data.join("postgresql.conf")).expect("postgresql.conf");
        existing.push_str(&conf);
        std::fs::write(data.join("postgresql.conf"), existing).expect("postgresql.conf written");
        cluster.up();
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn url(&self) -> DatabaseUrl {
        DatabaseUrl::parse(&format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)).expect("url")
    }

    /// Runs one of PostgreSQL's programs and waits for it.
    fn run(&self, program: &str, args: &[&str]) {
        let program = self.bin.join(program);
        let mut command = if running_as_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        let output = command.args(args).output().expect("a PostgreSQL program runs");
        assert!(
            output.status.success(),
            "{} {args:?} failed: {}{}",
            program.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn up(&self) {
        let log = self.dir.path().join("postgres.log");
        let data = self.data();
        self.run(
            "pg_ctl",
            &["-D", path_str(&data), "-l", path_str(&log), "-w", "-t", "30", "start"],
        );
    }

    /// `pg_ctl stop -m fast`: sessions are ended, as in a real outage.
    fn down(&self) {
        let data = self.data();
        self.run("pg_ctl", &["-D", path_str(&data), "-w", "-m", "fast", "stop"]);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let program = self.bin.join("pg_ctl");
        let args = ["-D", path_str(&data), "-m", "immediate", "stop"];
        let _ = if running_as_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&program)
                .args(args)
                .output()
        } else {
            Command::new(&program).args(args).output()
        };
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// What one request of the load got back: its status, content type and
/// body, or the transport error (the server went away).
#[derive(Debug, Clone)]
struct Answer {
    face: &'static str,
    phase: u8,
    result: Result<(u16, String, String), String>,
}

const BEFORE: u8 = 0;
const STOPPING: u8 = 1;
const DOWN: u8 = 2;
const BACK: u8 = 3;

async fn answer(request: reqwest::RequestBuilder) -> Result<(u16, String, String), String> {
    let response = request
        .timeout(Duration::from_secs(15))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.text().await.map_err(|e| e.to_string())?;
    Ok((status, kind, body))
}

async fn postgres_stopped_under_load_answers_503_and_recovers_without_a_restart() {
    let cluster = Arc::new(Cluster::start());
    let app = TestApp::spawn_on(cluster.url(), |_| {}).await;
    let (org, key_row, key) = app.org_with_api_key("Acme Aviation", TestKey::default()).await;
    app.create_user(&org, Role::SystemAdministrator, "ada@acme.test").await;
    app.sign_in("ada@acme.test").await;
    // Usage flushed every second, so counts are always waiting in memory
    // when PostgreSQL stops. The change log is read every 2 s and cached
    // keys are kept: until the first failed read of the log clears the
    // cache, requests are still answered (and counted) from it.
    let mut server = ServerProcess::start(
        &app,
        &[
            "--database-timeout",
            "1",
            "--usage-flush-secs",
            "1",
            "--key-refresh-ms",
            "2000",
            "--key-cache-ttl-secs",
            "60",
        ],
    )
    .await;
    let instance = Arc::new(app.through(server.port));

    let phase = Arc::new(AtomicU8::new(BEFORE));
    let stop = Arc::new(AtomicBool::new(false));
    let answers = Arc::new(Mutex::new(Vec::<Answer>::new()));
    let mut load = Vec::new();
    // Three API clients and one signed-in browser.
    for face in ["api", "api", "api", "backoffice"] {
        let (instance, phase, stop, answers, key) = (
            instance.clone(),
            phase.clone(),
            stop.clone(),
            answers.clone(),
            key.clone(),
        );
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let request = if face == "api" {
                    instance
                        .client
                        .get(instance.url("/api/v1/ping"))
                        .header("X-API-Key", &key)
                } else {
                    instance.client.get(instance.url("/backoffice/settings/api-keys"))
                };
                let result = answer(request).await;
                let phase = phase.load(Ordering::SeqCst);
                answers.lock().expect("answers").push(Answer { face, phase, result });
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }

    tokio::time::sleep(Duration::from_secs(1)).await;
    phase.store(STOPPING, Ordering::SeqCst);
    let stopping = cluster.clone();
    tokio::task::spawn_blocking(move || stopping.down())
        .await
        .expect("stopped");
    phase.store(DOWN, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let ready = answer(instance.client.get(instance.url("/readyz"))).await;
    assert!(server.is_running(), "the server survives the outage:\n{}", server.log());

    let starting = cluster.clone();
    tokio::task::spawn_blocking(move || starting.up())
        .await
        .expect("started");
    phase.store(BACK, Ordering::SeqCst);
    let back_at = Instant::now();
    let recovered = |face: &str| {
        answers
            .lock()
            .expect("answers")
            .iter()
            .any(|a| a.face == face && a.phase == BACK && matches!(a.result, Ok((200, _, _))))
    };
    while !(recovered("api") && recovered("backoffice")) {
        assert!(
            back_at.elapsed() < Duration::from_secs(20),
            "no recovery 20 s after PostgreSQL came back:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let recovery = back_at.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    for task in load {
        task.await.expect("a load client");
    }
    assert!(server.is_running(), "the server is still up:\n{}", server.log());

    let answers = answers.lock().expect("answers").clone();
    let log = server.log();
    for a in &answers {
        match &a.result {
            Err(error) => panic!("the server dropped a connection ({a:?}): {error}\n{log}"),
            Ok((200, _, _)) => {}
            Ok((503, kind, body)) if a.face == "api" => {
                assert_eq!(kind, "application/problem+json", "{a:?}");
                let problem: Value = serde_json::from_str(body).expect("a problem document");
                assert_eq!(problem["code"], "unavailable", "{a:?}");
            }
            Ok((503, kind, body)) => {
                assert!(kind.starts_with("text/html"), "{a:?}");
                assert!(body.contains("The database is unavailable right now"), "{a:?}");
                assert!(body.contains("Request id:"), "{a:?}");
            }
            Ok(_) => panic!("an answer that is neither 200 nor 503: {a:?}\n{log}"),
        }
        if a.phase == BEFORE {
            assert!(matches!(a.result, Ok((200, _, _))), "before the outage: {a:?}");
        }
    }
    let count = |face: &str, phase: u8, status: u16| {
        answers
            .iter()
            .filter(|a| a.face == face && a.phase == phase && matches!(a.result, Ok((s, _, _)) if s == status))
            .count()
    };
    assert!(
        count("api", DOWN, 503) > 0,
        "the API said 503 while PostgreSQL was down"
    );
    assert!(
        count("backoffice", DOWN, 503) > 0,
        "the backoffice said 503 while PostgreSQL was down"
    );
    let (ready_status, ready_kind, _) = ready.expect("readyz answers");
    assert_eq!((ready_status, ready_kind.as_str()), (503, "application/problem+json"));

    // Every allowed request was counted, those answered from the cache
    // during the outage included, and reaches the database after it.
    let allowed = answers
        .iter()
        .filter(|a| a.face == "api" && matches!(a.result, Ok((200, _, _))))
        .count();
    let counted = || {
        let id = key_row.clone();
        app.query(move |conn| {
            let counts: Vec<i64> = usage_buckets::table
                .filter(usage_buckets::api_key_id.eq(&id))
                .filter(usage_buckets::outcome.eq("allowed"))
                .select(usage_buckets::count)
                .load(conn)?;
            let last_used: Option<chrono::NaiveDateTime> =
                api_keys::table.find(&id).select(api_keys::last_used_at).first(conn)?;
            Ok((counts.iter().sum::<i64>(), last_used))
        })
    };
    let flushed_by = Instant::now() + Duration::from_secs(10);
    let (stored, last_used) = loop {
        let (stored, last_used) = counted().await;
        if usize::try_from(stored).ok() == Some(allowed) || Instant::now() > flushed_by {
            break (stored, last_used);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        usize::try_from(stored).ok(),
        Some(allowed),
        "usage buckets hold every allowed request ({} answered 200 during the outage)\n{log}",
        count("api", DOWN, 200) + count("api", STOPPING, 200)
    );
    assert!(last_used.is_some(), "last used is stored");
    eprintln!(
        "outage: {} answers, {allowed} allowed ({} during the outage), API 503s {}, backoffice 503s {}, \
         recovered {recovery:?} after PostgreSQL came back",
        answers.len(),
        count("api", DOWN, 200) + count("api", STOPPING, 200),
        count("api", DOWN, 503) + count("api", STOPPING, 503),
        count("backoffice", DOWN, 503) + count("backoffice", STOPPING, 503),
    );
    drop(server);
    drop(instance);
}

/// Holds SQLite's write lock from a connection of its own (`BEGIN
/// EXCLUSIVE` and a pending write) for `hold`, on a thread; returns once
/// the lock is held.
async fn lock_sqlite(path: &Path, hold: Duration) -> std::thread::JoinHandle<()> {
    use diesel::connection::SimpleConnection as _;
    let (held_tx, held_rx) = tokio::sync::oneshot::channel();
    let path = path_str(path).to_owned();
    let writer = std::thread::spawn(move || {
        let mut conn = diesel::SqliteConnection::establish(&path).expect("a connection of the other writer");
        conn.batch_execute("BEGIN EXCLUSIVE; UPDATE organizations SET name = name;")
            .expect("the lock");
        held_tx.send(()).expect("the test waits");
        std::thread::sleep(hold);
        conn.batch_execute("COMMIT").expect("commit");
    });
    held_rx.await.expect("the lock is held");
    writer
}

/// SQLite's `busy_timeout` on the server's connections (store/mod.rs).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// What the requests that write and read during a lock got back, with how long each took.
struct UnderLock {
    api_create: (u16, Value, Duration),
    api_read: (u16, Duration),
    page: (u16, Duration),
    form_create: (u16, String, Duration),
}

/// What `future` gave and how long it took.
async fn timed<T>(future: impl std::future::Future<Output = T>) -> (T, Duration) {
    let began = Instant::now();
    let result = future.await;
    (result, began.elapsed())
}

async fn requests_under_lock(app: &TestApp, admin: &str, reader: &str, csrf: &str, name: &str) -> UnderLock {
    let body = json!({ "name": format!("{name} (API)"), "scopes": ["read:flights"] });
    let form_name = format!("{name} (form)");
    let page_url = app.url("/backoffice/settings/api-keys");
    let form = [
        ("csrf_token", csrf),
        ("name", &form_name),
        ("scope_mode", "full"),
        ("networks", "0.0.0.0/0"),
    ];
    let (api_create, api_read, page, form_create) = tokio::join!(
        timed(crate::management::call(
            app,
            admin,
            reqwest::Method::POST,
            "/api/v1/api-keys",
            Some(body)
        )),
        timed(app.get_with_key("/api/v1/me", reader)),
        timed(app.client.get(&page_url).send()),
        timed(app.post_form(&app.client, "/backoffice/settings/api-keys", &form)),
    );
    let page_status = page.0.expect("request").status().as_u16();
    let form_response = form_create.0;
    let form_status = form_response.status().as_u16();
    UnderLock {
        api_create: ((api_create.0).0, (api_create.0).1, api_create.1),
        api_read: (api_read.0.status().as_u16(), api_read.1),
        page: (page_status, page.1),
        form_create: (form_status, form_response.text().await.expect("body"), form_create.1),
    }
}

async fn sqlite_locked_by_another_writer_makes_requests_wait_then_succeed_or_answer_503_never_500() {
    let app = TestApp::spawn(Backend::Sqlite)
        .await
        .expect("SQLite is always available");
    let path = app.db_url.sqlite_path().expect("a SQLite file").to_owned();
    let (org, _, admin) = app.org_with_api_key("Acme Aviation", ADMIN).await;
    app.create_user(&org, Role::SystemAdministrator, "ada@acme.test").await;
    app.sign_in("ada@acme.test").await;
    let csrf = app.csrf_token(&app.client, "/backoffice/settings/api-keys").await;
    // Keys first read while the lock is held: a cache miss reads the database.
    let reader = |name: &'static str| {
        app.add_api_key(
            &org,
            TestKey {
                name,
                ..TestKey::default()
            },
        )
    };
    let (_, short_reader) = reader("Reader 1").await;
    let (_, long_reader) = reader("Reader 2").await;

    // Shorter than the busy timeout: writes wait for the lock, then succeed;
    // reads (WAL) do not wait at all.
    let hold = Duration::from_millis(1500);
    let writer = lock_sqlite(&path, hold).await;
    let short = requests_under_lock(&app, &admin, &short_reader, &csrf, "Short lock").await;
    writer.join().expect("the other writer");
    assert_eq!(short.api_create.0, 201, "{}", short.api_create.1);
    assert!(
        short.api_create.2 >= hold - Duration::from_millis(300),
        "the write waited for the lock"
    );
    assert_eq!(short.api_read.0, 200);
    assert_eq!(short.page.0, 200);
    assert_eq!(short.form_create.0, 200);
    assert!(
        short.form_create.1.contains("Your new API key") && short.form_create.1.contains("ask_"),
        "the form made the key"
    );

    // Longer than the busy timeout: writes give up with 503, never 500;
    // reads still answer.
    let hold = BUSY_TIMEOUT + Duration::from_secs(2);
    let writer = lock_sqlite(&path, hold).await;
    let long = requests_under_lock(&app, &admin, &long_reader, &csrf, "Long lock").await;
    writer.join().expect("the other writer");
    assert_eq!(long.api_create.0, 503, "{}", long.api_create.1);
    assert_eq!(long.api_create.1["code"], "unavailable");
    assert!(long.api_create.2 >= BUSY_TIMEOUT - Duration::from_millis(300));
    assert_eq!(long.api_read.0, 200, "reading needs no lock");
    assert_eq!(long.page.0, 200, "a page that only reads is served");
    assert_eq!(long.form_create.0, 503, "{}", long.form_create.1);
    assert!(long.form_create.1.contains("The database is unavailable right now"));

    // The lock is gone: writes succeed again, and the refused ones left nothing.
    let (status, created) = crate::management::call(
        &app,
        &admin,
        reqwest::Method::POST,
        "/api/v1/api-keys",
        Some(json!({ "name": "After the lock", "scopes": ["read:flights"] })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let names: Vec<String> = app
        .query(|conn| Ok(api_keys::table.select(api_keys::name).load(conn)?))
        .await;
    assert!(!names.iter().any(|n| n.starts_with("Long lock")), "{names:?}");
    assert!(names.iter().any(|n| n == "Short lock (API)"), "{names:?}");
    assert!(names.iter().any(|n| n == "Short lock (form)"), "{names:?}");

    #[derive(QueryableByName)]
    struct IntegrityCheck {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    let mut conn = diesel::SqliteConnection::establish(path_str(&path)).expect("connect");
    let checks: Vec<IntegrityCheck> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .expect("integrity check");
    let checks: Vec<&str> = checks.iter().map(|c| c.integrity_check.as_str()).collect();
    assert_eq!(checks, ["ok"]);
    eprintln!(
        "short lock: API create {:?}, form {:?}; long lock: API create {:?}, form {:?}, page {:?}, read {:?}",
        short.api_create.2, short.form_create.2, long.api_create.2, long.form_create.2, long.page.1, long.api_read.1
    );
}

/// Creating keys over the API with `admin` until the connection breaks;
/// returns the (id, name, secret) of every key whose creation answered 2xx.
async fn create_keys_until_the_server_dies(
    instance: Arc<TestApp>,
    admin: String,
    client: usize,
    attempts: Arc<AtomicUsize>,
    confirmed: Arc<Mutex<Vec<(String, String, String)>>>,
) -> Vec<String> {
    let mut unexpected = Vec::new();
    for i in 0.. {
        attempts.fetch_add(1, Ordering::SeqCst);
        let name = format!("Burst {client}-{i}");
        let body = json!({ "name": name, "scopes": ["read:flights"], "allowed_networks": ["0.0.0.0/0"] });
        let request = instance
            .client
            .post(instance.url("/api/v1/api-keys"))
            .header("X-API-Key", &admin)
            .json(&body);
        match answer(request).await {
            Ok((201, _, body)) => {
                let created: Value = serde_json::from_str(&body).expect("json");
                let id = created["id"].as_str().expect("id").to_owned();
                let secret = created["secret"].as_str().expect("secret").to_owned();
                confirmed.lock().expect("confirmed").push((id, name, secret));
            }
            Ok((status, _, body)) => unexpected.push(format!("{name}: {status} {body}")),
            // Killed: this request's answer is lost, whatever happened to it.
            Err(_) => return unexpected,
        }
    }
    unexpected
}

async fn a_server_killed_during_key_creations_keeps_every_confirmed_key_and_no_half_made_one(app: TestApp) {
    let (org, admin_row, admin) = app.org_with_api_key("Acme Aviation", ADMIN).await;
    let mut server = ServerProcess::start(&app, &[]).await;
    let instance = Arc::new(app.through(server.port));
    let attempts = Arc::new(AtomicUsize::new(0));
    let confirmed = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..4)
        .map(|client| {
            tokio::spawn(create_keys_until_the_server_dies(
                instance.clone(),
                admin.clone(),
                client,
                attempts.clone(),
                confirmed.clone(),
            ))
        })
        .collect();
    // Killed in the middle of the burst, with creations in flight.
    let began = Instant::now();
    while confirmed.lock().expect("confirmed").len() < 30 {
        assert!(
            began.elapsed() < Duration::from_secs(30),
            "the burst is too slow:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    for client in clients {
        let unexpected = client.await.expect("a client");
        assert!(unexpected.is_empty(), "{unexpected:?}\n{}", server.log());
    }
    let confirmed = confirmed.lock().expect("confirmed").clone();
    let attempts = attempts.load(Ordering::SeqCst);

    // Restarted on the same database: every confirmed key works.
    let restarted = ServerProcess::start(&app, &[]).await;
    let after = app.through(restarted.port);
    for (id, name, secret) in &confirmed {
        let me = after.get_with_key("/api/v1/me", secret).await;
        assert_eq!(me.status().as_u16(), 200, "{name} authenticates after the restart");
        let me: Value = me.json().await.expect("json");
        assert_eq!(
            (me["id"].as_str(), me["name"].as_str()),
            (Some(id.as_str()), Some(name.as_str()))
        );
    }

    // No key is half made: each has its secret, scopes, networks and audit event.
    let org_id = org.id.clone();
    let keys: Vec<(String, i64, i64, i64, i64)> = app
        .query(move |conn| {
            let ids: Vec<String> = api_keys::table
                .filter(api_keys::org_id.eq(&org_id))
                .filter(api_keys::id.ne(&admin_row))
                .select(api_keys::id)
                .load(conn)?;
            ids.into_iter()
                .map(|id| {
                    let secrets = key_secrets::table
                        .filter(key_secrets::api_key_id.eq(&id))
                        .filter(key_secrets::digest.is_not_null())
                        .count()
                        .get_result(conn)?;
                    let scopes = key_scopes::table
                        .filter(key_scopes::api_key_id.eq(&id))
                        .count()
                        .get_result(conn)?;
                    let networks = key_networks::table
                        .filter(key_networks::api_key_id.eq(&id))
                        .count()
                        .get_result(conn)?;
                    let audited = audit_events::table
                        .filter(audit_events::target_id.eq(&id))
                        .filter(audit_events::action.eq("api_key_created"))
                        .count()
                        .get_result(conn)?;
                    Ok((id, secrets, scopes, networks, audited))
                })
                .collect::<Result<Vec<_>, keyward::error::AppError>>()
        })
        .await;
    for key in &keys {
        assert_eq!(
            (key.1, key.2, key.3, key.4),
            (1, 1, 1, 1),
            "key {} has one secret, scope, network and creation event",
            key.0
        );
    }
    assert!(
        keys.len() >= confirmed.len() && keys.len() <= attempts,
        "{} keys stored, {} confirmed, {attempts} attempted",
        keys.len(),
        confirmed.len()
    );
    eprintln!(
        "kill -9 on {:?}: {attempts} creations attempted, {} confirmed, {} stored, all whole",
        app.backend,
        confirmed.len(),
        keys.len()
    );
}
