//! Start-up and the command line, run as the real binary, plus the 503 answer
//! when the database cannot serve a request.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Stdio};
use std::time::Duration;

use keyward::domain::role::Role;
use keyward::store::Backend;

use crate::support::TestApp;

use crate::support::Part;

crate::sync_tests!(
    keys_create_without_the_server_secret_is_refused_and_creates_no_secret,
    the_cli_refuses_a_scope_with_an_empty_resource_filter
);

crate::tests!(a_database_that_cannot_serve_gets_a_503_page_on_sqlite);
crate::tests!(needs Part::Postgres; a_database_that_cannot_serve_gets_a_503_page_on_postgres);
crate::sync_tests!(
    an_unknown_database_scheme_is_refused_with_a_message,
    an_unreachable_postgres_fails_start_up_after_retrying,
    a_short_server_secret_is_refused,
    postgres_without_a_secret_is_refused,
    serve_prints_a_setup_link_and_creates_the_secret_file,
    the_cli_creates_organizations_and_users,
    the_cli_provisions_keys_once_the_organization_is_set_up
);

/// The real binary, without the caller's database or secret.
pub(crate) fn keyward() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_keyward"));
    command
        .env_remove("KEYWARD_SECRET")
        .env_remove("KEYWARD_DATABASE_URL")
        .env("KEYWARD_LOG", "warn");
    command
}

fn an_unknown_database_scheme_is_refused_with_a_message() {
    let output = keyward()
        .args(["migrate", "--database-url", "mysql://localhost/keyward"])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unsupported database URL scheme \"mysql\""), "{stderr}");
}

fn an_unreachable_postgres_fails_start_up_after_retrying() {
    let output = keyward()
        .args([
            "migrate",
            "--database-url",
            "postgres://postgres@127.0.0.1:1/keyward",
            "--database-connect-attempts",
            "2",
            "--database-timeout",
            "1",
        ])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot reach the database"), "{stderr}");
    assert!(stderr.contains("after 2 attempt(s)"), "{stderr}");
    assert!(
        stderr.contains("database not reachable"),
        "each attempt is logged: {stderr}"
    );
    assert!(output.stdout.is_empty(), "logs stay off stdout");
}

fn a_short_server_secret_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = keyward()
        .current_dir(dir.path())
        .env("KEYWARD_SECRET", "c2hvcnQ=")
        .args(["serve", "--bind", "127.0.0.1:0"])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("at least 32 bytes"));
}

fn postgres_without_a_secret_is_refused() {
    let output = keyward()
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            "postgres://postgres@127.0.0.1:1/x",
        ])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("KEYWARD_SECRET"));
}

fn serve_prints_a_setup_link_and_creates_the_secret_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = keyward()
        .current_dir(dir.path())
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let stdout = child.stdout.take().expect("stdout");
    let link = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find(|line| line.contains("/setup?token="));
    child.kill().expect("kill");
    child.wait().expect("wait");
    let link = link.expect("a setup link is printed");
    assert!(link.trim().starts_with("http://127.0.0.1:"), "{link}");
    assert!(dir.path().join("keyward.db").exists());
    assert!(dir.path().join("keyward.db.secret").exists());
}

fn the_cli_creates_organizations_and_users() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("k.db");
    let db = db.to_str().expect("utf-8");
    let org = keyward()
        .args(["orgs", "create", "--name", "Acme Aviation", "--database-url", db])
        .output()
        .expect("runs");
    assert!(org.status.success(), "{}", String::from_utf8_lossy(&org.stderr));
    assert_eq!(String::from_utf8_lossy(&org.stdout).trim(), "acme-aviation");

    let mut child = keyward()
        .args([
            "users",
            "create",
            "--email",
            "ada@acme.test",
            "--role",
            "system-administrator",
        ])
        .args(["--org", "acme-aviation", "--password-stdin", "--database-url", db])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"correct horse battery staple\n")
        .expect("write");
    let created = child.wait_with_output().expect("waits");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    assert!(String::from_utf8_lossy(&created.stdout).contains("Created ada@acme.test (System Administrator)"));

    let generated = keyward()
        .args([
            "users",
            "create",
            "--email",
            "max@acme.test",
            "--role",
            "member",
            "--database-url",
            db,
        ])
        .output()
        .expect("runs");
    assert!(generated.status.success());
    assert!(String::from_utf8_lossy(&generated.stdout).contains("Password (shown once): "));

    let duplicate = keyward()
        .args([
            "users",
            "create",
            "--email",
            "MAX@acme.test",
            "--role",
            "member",
            "--database-url",
            db,
        ])
        .output()
        .expect("runs");
    assert!(!duplicate.status.success());
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("already exists"));

    let bad_role = keyward()
        .args([
            "users",
            "create",
            "--email",
            "x@acme.test",
            "--role",
            "root",
            "--database-url",
            db,
        ])
        .output()
        .expect("runs");
    assert!(!bad_role.status.success());
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("unknown role \"root\""));
}

async fn a_database_that_cannot_serve_gets_a_503_page(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.database.pool_size = 1;
        s.database.acquire_timeout = Duration::from_millis(500);
    })
    .await
    else {
        return;
    };
    app.signed_in_as(Role::Member).await;
    // Hold the only connection: every request now waits, then gives up.
    let pool = app.db.pool().clone();
    let held = tokio::task::spawn_blocking(move || pool.get().expect("the only connection"))
        .await
        .expect("join");

    let page = app.client.get(app.url("/backoffice")).send().await.expect("request");
    assert_eq!(page.status().as_u16(), 503);
    // Made by the session middleware, not a handler: it carries the headers all the same.
    crate::health::assert_security_headers(&page, true);
    let body = page.text().await.expect("body");
    assert!(body.contains("The database is unavailable right now"), "{body}");
    assert!(body.contains("Request id:"));

    let ready = app.client.get(app.url("/readyz")).send().await.expect("request");
    assert_eq!(ready.status().as_u16(), 503);
    assert_eq!(ready.headers()["content-type"], "application/problem+json");
    let problem: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(problem["code"], "unavailable");

    drop(held);
    let back = app.client.get(app.url("/backoffice")).send().await.expect("request");
    assert_eq!(back.status().as_u16(), 200, "the session survived the outage");
}

async fn a_database_that_cannot_serve_gets_a_503_page_on_sqlite() {
    a_database_that_cannot_serve_gets_a_503_page(Backend::Sqlite).await;
}

async fn a_database_that_cannot_serve_gets_a_503_page_on_postgres() {
    a_database_that_cannot_serve_gets_a_503_page(Backend::Postgres).await;
}

fn the_cli_provisions_keys_once_the_organization_is_set_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("k.db");
    let db = db.to_str().expect("utf-8");
    let secret = keyward::domain::secret::ServerSecret::generate().to_base64();
    let run = |args: &[&str]| {
        keyward()
            .env("KEYWARD_SECRET", &secret)
            .args(args)
            .args(["--database-url", db])
            .output()
            .expect("runs")
    };
    assert!(
        run(&["orgs", "create", "--name", "Acme Aviation", "--slug", "acme"])
            .status
            .success()
    );

    // Least privilege: no --scope is refused, never Full access by default.
    let unscoped = run(&["keys", "create", "--org", "acme", "--name", "Sync"]);
    assert!(!unscoped.status.success());
    assert!(unscoped.stdout.is_empty(), "no key is printed");
    assert!(
        String::from_utf8_lossy(&unscoped.stderr).contains("--scope '*:*' is full access"),
        "{}",
        String::from_utf8_lossy(&unscoped.stderr)
    );

    let early = run(&[
        "keys",
        "create",
        "--org",
        "acme",
        "--name",
        "Sync",
        "--scope",
        "read:assets",
    ]);
    assert!(!early.status.success());
    assert!(String::from_utf8_lossy(&early.stderr).contains("keyward orgs bootstrap-keys --org acme"));

    assert!(run(&["orgs", "bootstrap-keys", "--org", "acme"]).status.success());
    let again = run(&["orgs", "bootstrap-keys", "--org", "acme"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("already set up"));

    let created = run(&[
        "keys",
        "create",
        "--org",
        "acme",
        "--name",
        "Sync",
        "--scope",
        "read:assets",
        "--scope",
        "write:assets",
        "--network",
        "10.0.0.0/8",
        "--expires",
        "2099-01-01",
        "--allow-query",
    ]);
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let secret = String::from_utf8_lossy(&created.stdout).trim().to_owned();
    assert!(
        keyward::domain::token::ApiKeyToken::parse(&secret).is_ok(),
        "stdout is the key alone: {secret}"
    );
    assert!(!String::from_utf8_lossy(&created.stderr).contains(&secret[16..]));

    for (args, message) in [
        (vec!["--name", "Sync"], "already exists"),
        (vec!["--name", "Other", "--scope", "delete:x"], "is not an action"),
        (
            vec!["--name", "Other", "--network", "10.0.0.1/8"],
            "did you mean 10.0.0.0/8?",
        ),
        (vec!["--name", "Other", "--expires", "2001-01-01"], "not in the future"),
        (vec!["--name", " "], "Enter a name"),
    ] {
        let mut full = vec!["keys", "create", "--org", "acme", "--scope", "read:assets"];
        full.extend(args);
        let output = run(&full);
        assert!(!output.status.success(), "{full:?}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains(message),
            "{full:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn keys_create_without_the_server_secret_is_refused_and_creates_no_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("k.db");
    let db = db.to_str().expect("utf-8");
    let run = |args: &[&str]| {
        keyward()
            .args(args)
            .args(["--database-url", db])
            .output()
            .expect("runs")
    };
    assert!(
        run(&["orgs", "create", "--name", "Acme Aviation", "--slug", "acme"])
            .status
            .success()
    );
    let output = run(&["keys", "create", "--org", "acme", "--name", "Sync", "--scope", "*:*"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("KEYWARD_SECRET") && stderr.contains("--secret-file") && stderr.contains("keyward serve"),
        "the message says what to pass: {stderr}"
    );
    assert!(output.stdout.is_empty(), "no key is printed");
    assert!(
        !dir.path().join("k.db.secret").exists(),
        "a key signed with a new secret would never verify on the server"
    );
}

fn the_cli_refuses_a_scope_with_an_empty_resource_filter() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("k.db");
    let db = db.to_str().expect("utf-8");
    // 32 bytes, base64: the secret a server beside this CLI would use.
    let secret = "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=";
    let run = |args: &[&str]| {
        keyward()
            .env("KEYWARD_SECRET", secret)
            .args(args)
            .args(["--database-url", db])
            .output()
            .expect("runs")
    };
    assert!(
        run(&["orgs", "create", "--name", "Acme Aviation", "--slug", "acme"])
            .status
            .success()
    );
    assert!(run(&["orgs", "bootstrap-keys", "--org", "acme"]).status.success());
    for scope in ["read:", "write: "] {
        let output = run(&["keys", "create", "--org", "acme", "--name", "Blank", "--scope", scope]);
        assert!(!output.status.success(), "{scope}");
        assert!(output.stdout.is_empty(), "no key printed for {scope}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("The resource filter is empty: write * for everything"),
            "{scope}: {stderr}"
        );
    }
}
