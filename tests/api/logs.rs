//! No secret in any log: the real server binary at debug level, driven
//! over HTTP through every flow that handles a secret, and then everything it
//! printed searched for every secret it was given or gave out.

use std::io::{BufRead as _, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keyward::store::Backend;
use reqwest::cookie::CookieStore as _;

use crate::support::two_factor::{code_at_offset, recovery_codes_in, setup_id_in, setup_key_in, wrong_code};
use crate::support::{Part, csrf_token_in, secret_in, test_database};

crate::tests!(the_server_logs_no_secret_at_debug_level_on_sqlite);
crate::tests!(needs Part::Postgres; the_server_logs_no_secret_at_debug_level_on_postgres);

async fn the_server_logs_no_secret_at_debug_level_on_sqlite() {
    the_server_logs_no_secret_at_debug_level(Backend::Sqlite).await;
}

async fn the_server_logs_no_secret_at_debug_level_on_postgres() {
    the_server_logs_no_secret_at_debug_level(Backend::Postgres).await;
}

/// What the server printed, on each stream, as it printed it.
#[derive(Clone, Default)]
struct Printed {
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl Printed {
    fn collect(stream: impl Read + Send + 'static, into: Arc<Mutex<String>>) {
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let mut text = into.lock().expect("lock");
                text.push_str(&line);
                text.push('\n');
            }
        });
    }

    fn stdout(&self) -> String {
        self.stdout.lock().expect("lock").clone()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().expect("lock").clone()
    }
}

/// The server process; killed if the test ends before it is stopped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Server {
    /// SIGTERM (a graceful stop: the usage flush at shutdown is logged too),
    /// then waits for the process to end.
    fn stop(&mut self) {
        let pid = self.0.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        assert!(sent.success(), "SIGTERM sent");
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if self.0.try_wait().expect("wait").is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the server did not stop within 15 s of SIGTERM");
    }
}

/// Everything secret the test used or was given, each with what it is.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, what: impl Into<String>, value: &str) {
        assert!(value.len() >= 8, "{value:?} is too short to search for");
        if !self.0.iter().any(|(_, known)| known == value) {
            self.0.push((what.into(), value.to_owned()));
        }
    }

    /// A key: its secret part (all but `ask_` and the 12-character key id,
    /// which may be logged) is searched for, so a key printed whole or cut
    /// after its key id is found either way.
    fn add_key(&mut self, what: &str, key: &str) {
        assert_eq!(key.len(), 68, "{what} is a key: {key}");
        self.add(format!("{what} (secret part)"), &key[16..]);
    }

    /// A cookie value and, for a signed one (a 44-character MAC before the
    /// value), the value inside it.
    fn add_cookie(&mut self, name: &str, value: &str) {
        self.add(format!("the {name} cookie"), value);
        if value.len() > 44 + 8 {
            self.add(format!("the value inside the {name} cookie"), &value[44..]);
        }
    }

    /// Which secrets `text` shows, as written or form-encoded.
    fn found_in(&self, text: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(_, value)| {
                let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
                text.contains(value.as_str()) || text.contains(&encoded)
            })
            .map(|(what, _)| what.clone())
            .collect()
    }
}

/// A browser: a client whose cookie jar the test can read.
struct Browser {
    client: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
}

impl Browser {
    fn new() -> Self {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self { client, jar }
    }

    /// Every cookie the browser holds for `base` now.
    fn remember_cookies(&self, base: &str, secrets: &mut Secrets) {
        let url = base.parse().expect("url");
        let Some(header) = self.jar.cookies(&url) else {
            return;
        };
        for pair in header.to_str().expect("ascii cookies").split("; ") {
            let (name, value) = pair.split_once('=').expect("name=value");
            secrets.add_cookie(name, value);
        }
    }
}

/// The page's CSRF token, remembered as a secret.
async fn csrf_token(browser: &Browser, url: &str, secrets: &mut Secrets) -> String {
    let page = browser.client.get(url).send().await.expect("request");
    let token = csrf_token_in(&page.text().await.expect("body")).expect("a CSRF token");
    secrets.add("a CSRF token", &token);
    token
}

const GATEWAY_ROUTES: &str = r#"
[[route]]
path = "/cargo/**"
action = "read"
resource = "cargo"
"#;

/// Every flow that handles a secret, against the real binary on `backend`.
/// On PostgreSQL the database URL holds passwords, both ways libpq takes
/// them (the test server trusts local connections, so they are not checked).
async fn the_server_logs_no_secret_at_debug_level(backend: Backend) {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let routes = dir.path().join("routes.toml");
    std::fs::write(&routes, GATEWAY_ROUTES).expect("route map written");
    let server_secret = keyward::domain::secret::ServerSecret::generate().to_base64();
    let mut secrets = Secrets::default();
    secrets.add("the server secret", &server_secret);
    let (database_url, database) = test_database(backend).expect("a database");
    let database_url = match backend {
        Backend::Sqlite => database_url.connection_string().to_owned(),
        Backend::Postgres => {
            let (in_user_info, in_query) = ("pw-in-user-info-7Qx", "pw-in-query-3Kd");
            secrets.add("the database password in the URL's user info", in_user_info);
            secrets.add("the database password in the URL's query", in_query);
            let mut url = url::Url::parse(database_url.connection_string()).expect("a URL");
            url.set_password(Some(in_user_info)).expect("a password can be set");
            url.query_pairs_mut().append_pair("password", in_query);
            url.to_string()
        }
    };

    let mut child = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .current_dir(dir.path())
        .env_remove("KEYWARD_LOG")
        .env("KEYWARD_DATABASE_URL", &database_url)
        .env("RUST_LOG", "debug")
        .env("KEYWARD_SECRET", &server_secret)
        .args(["serve", "--bind", "127.0.0.1:0", "--insecure-cookies"])
        .args(["--trusted-proxies", "127.0.0.1/32", "--usage-flush-secs", "1"])
        .arg("--gateway-routes")
        .arg(&routes)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server starts");
    let printed = Printed::default();
    Printed::collect(child.stdout.take().expect("stdout"), printed.stdout.clone());
    Printed::collect(child.stderr.take().expect("stderr"), printed.stderr.clone());
    let mut server = Server(child);

    let deadline = Instant::now() + Duration::from_secs(30);
    let link = loop {
        if let Some(line) = printed.stdout().lines().find(|l| l.contains("/setup?token=")) {
            break line.trim().to_owned();
        }
        assert!(Instant::now() < deadline, "no setup link: {}", printed.stderr());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (base, setup_token) = link.split_once("/setup?token=").expect("a setup link");
    let (base, setup_token) = (base.to_owned(), setup_token.to_owned());
    let url = |path: &str| format!("{base}{path}");
    let keys_page = url("/backoffice/settings/api-keys");
    let browser = Browser::new();
    let password = "Tr0ub4dor & three horses!";
    let wrong_password = "not-the-password: Tr0ub4dor";
    secrets.add("the administrator's password", password);
    secrets.add("a wrong password", wrong_password);
    let form = |csrf: &str, fields: &[(&'static str, &str)]| {
        let mut form: Vec<(String, String)> = vec![("csrf_token".into(), csrf.to_owned())];
        form.extend(fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        form
    };
    let post = |path: String, form: Vec<(String, String)>| {
        browser
            .client
            .post(path)
            .header("Origin", base.as_str())
            .form(&form)
            .send()
    };

    // First-run setup, through the link the server printed.
    let csrf = csrf_token(&browser, &link, &mut secrets).await;
    let fields = [
        ("token", setup_token.as_str()),
        ("org_name", "Acme Aviation"),
        ("display_name", "Ada"),
        ("email", "ada@acme.test"),
        ("password", password),
        ("password_confirmation", password),
    ];
    let set_up = post(url("/setup"), form(&csrf, &fields)).await.expect("request");
    assert_eq!(set_up.status().as_u16(), 303, "setup completes");
    browser.remember_cookies(&base, &mut secrets);

    // Sign out, fail to sign in once, sign in.
    let csrf = csrf_token(&browser, &url("/backoffice"), &mut secrets).await;
    let out = post(url("/logout"), form(&csrf, &[])).await.expect("request");
    assert_eq!(out.status().as_u16(), 303);
    browser.remember_cookies(&base, &mut secrets);
    for (attempt, expected) in [(wrong_password, 401), (password, 303)] {
        let csrf = csrf_token(&browser, &url("/login"), &mut secrets).await;
        let signed_in = post(
            url("/login"),
            form(&csrf, &[("email", "ada@acme.test"), ("password", attempt)]),
        )
        .await
        .expect("request");
        assert_eq!(signed_in.status().as_u16(), expected, "sign-in");
        browser.remember_cookies(&base, &mut secrets);
    }

    // Keys set up; a key that may travel in the query and one that manages
    // keys, created in the backoffice.
    let csrf = csrf_token(&browser, &keys_page, &mut secrets).await;
    let bootstrapped = post(format!("{keys_page}/setup"), form(&csrf, &[]))
        .await
        .expect("request");
    assert_eq!(bootstrapped.status().as_u16(), 303);
    let create = |name: &'static str, fields: &[(&'static str, &'static str)]| {
        let mut all = vec![("name", name), ("networks", "0.0.0.0/0\n::/0")];
        all.extend_from_slice(fields);
        post(keys_page.clone(), form(&csrf, &all))
    };
    let page = create("Query key", &[("scope_mode", "full"), ("allow_query_key", "on")])
        .await
        .expect("request");
    assert_eq!(page.status().as_u16(), 200);
    let query_key = secret_in(&page.text().await.expect("body"));
    secrets.add_key("the query key", &query_key);
    let custom = [
        ("scope_mode", "custom"),
        ("scope_action", "admin"),
        ("scope_resource", "api-keys"),
        ("scope_action", "read"),
        ("scope_resource", "*"),
    ];
    let page = create("Admin key", &custom).await.expect("request");
    let admin_key = secret_in(&page.text().await.expect("body"));
    secrets.add_key("the admin key", &admin_key);

    // Rotated in the backoffice; the key's id from the API.
    let api = |method: reqwest::Method, path: &str, key: &str| {
        browser.client.request(method, url(path)).header("X-API-Key", key)
    };
    let listed: serde_json::Value = api(reqwest::Method::GET, "/api/v1/api-keys?q=Query", &admin_key)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let query_key_id = listed["items"][0]["id"].as_str().expect("the key's id").to_owned();
    let rotated = post(
        format!("{keys_page}/{query_key_id}/rotate"),
        form(&csrf, &[("grace", "1h")]),
    )
    .await
    .expect("request");
    assert_eq!(rotated.status().as_u16(), 200);
    let rotated_key = secret_in(&rotated.text().await.expect("body"));
    secrets.add_key("the rotated query key", &rotated_key);

    // Created and rotated over the API.
    let created: serde_json::Value = api(reqwest::Method::POST, "/api/v1/api-keys", &admin_key)
        .json(&serde_json::json!({"name": "API key", "scopes": ["read:cargo"]}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let api_key = created["secret"].as_str().expect("a secret").to_owned();
    secrets.add_key("the key created over the API", &api_key);
    let api_key_id = created["id"].as_str().expect("an id").to_owned();
    let rerolled: serde_json::Value = api(
        reqwest::Method::POST,
        &format!("/api/v1/api-keys/{api_key_id}/rotate"),
        &admin_key,
    )
    .send()
    .await
    .expect("request")
    .json()
    .await
    .expect("json");
    let rerolled_key = rerolled["secret"].as_str().expect("a secret").to_owned();
    secrets.add_key("the key rotated over the API", &rerolled_key);

    // Verify, the gateway check, keys in the URL query, and refusals of a
    // mistyped key and of a key in a query that does not allow it.
    let verify = api(reqwest::Method::POST, "/api/v1/verify", &query_key)
        .json(&serde_json::json!({"key": rerolled_key, "action": "read", "resource": "cargo", "client_ip": "10.0.0.1"}))
        .send()
        .await
        .expect("request");
    assert_eq!(verify.status().as_u16(), 200);
    assert!(verify.text().await.expect("body").contains("\"allowed\":true"));
    let gateway = |uri: String| {
        browser
            .client
            .get(url("/auth/check"))
            .header("X-Original-Method", "GET")
            .header("X-Original-URI", uri)
    };
    let checks = [
        gateway("/cargo/1".into()).header("X-API-Key", &api_key),
        gateway("/cargo/1".into()).bearer_auth(&rerolled_key),
        gateway(format!("/cargo/1?api_key={rotated_key}")),
    ];
    for check in checks {
        assert_eq!(
            check.send().await.expect("request").status().as_u16(),
            204,
            "gateway check"
        );
    }
    let mut mistyped = rotated_key.clone();
    let last = if mistyped.ends_with('A') { "B" } else { "A" };
    mistyped.replace_range(67.., last);
    secrets.add_key("a mistyped key", &mistyped);
    for (path, expected) in [
        (format!("/api/v1/me?api_key={query_key}"), 200),
        (format!("/api/v1/me?api_key={rotated_key}&page=2"), 200),
        (format!("/api/v1/me?api_key={admin_key}"), 401),
        (format!("/api/v1/me?api_key={mistyped}"), 401),
    ] {
        let response = browser.client.get(url(&path)).send().await.expect("request");
        assert_eq!(response.status().as_u16(), expected, "{}", &path[..20]);
    }

    // Two-factor authentication: set up (the secret, its first code, the
    // recovery codes), a wrong code, sign-ins with a code and with a
    // recovery code, new recovery codes and turning it off, each with one.
    let mut codes = Vec::new();
    let setup = url("/backoffice/account/two-factor/setup");
    let page = browser.client.get(&setup).send().await.expect("request");
    let page = page.text().await.expect("body");
    let key = setup_key_in(&page);
    secrets.add("the TOTP setup key", &key);
    secrets.add("the TOTP secret", &key.replace(' ', ""));
    let csrf = csrf_token_in(&page).expect("a CSRF token");
    let first = code_at_offset(&key, 0).await;
    codes.push(first.clone());
    let fields = [("setup_id", setup_id_in(&page)), ("code", first)];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let confirmed = post(setup.clone(), form(&csrf, &fields)).await.expect("request");
    assert_eq!(confirmed.status().as_u16(), 200, "two-factor authentication is on");
    let recovery = recovery_codes_in(&confirmed.text().await.expect("body"));
    for code in &recovery {
        secrets.add("a recovery code", code);
        secrets.add("a recovery code without its hyphens", &code.replace('-', ""));
    }
    let second_step = |answers: Vec<(&'static str, String)>| {
        let (browser, base, post) = (&browser, base.clone(), &post);
        let url = move |path: &str| format!("{base}{path}");
        async move {
            let csrf = csrf_token_in(
                &browser
                    .client
                    .get(url("/backoffice"))
                    .send()
                    .await
                    .expect("request")
                    .text()
                    .await
                    .expect("body"),
            )
            .expect("a CSRF token");
            let out = post(url("/logout"), vec![("csrf_token".into(), csrf)])
                .await
                .expect("request");
            assert_eq!(out.status().as_u16(), 303);
            let page = browser.client.get(url("/login")).send().await.expect("request");
            let csrf = csrf_token_in(&page.text().await.expect("body")).expect("a CSRF token");
            let fields = vec![
                ("csrf_token".to_owned(), csrf.clone()),
                ("email".to_owned(), "ada@acme.test".to_owned()),
                ("password".to_owned(), password.to_owned()),
            ];
            let to_code = post(url("/login"), fields).await.expect("request");
            assert_eq!(to_code.headers()["location"], "/login/two-factor");
            let mut last = 0;
            for (field, value) in answers {
                let sent = post(
                    url("/login/two-factor"),
                    vec![("csrf_token".into(), csrf.clone()), (field.to_owned(), value)],
                )
                .await
                .expect("request");
                last = sent.status().as_u16();
            }
            last
        }
    };
    let wrong = wrong_code(&key).await;
    let next = code_at_offset(&key, 1).await;
    codes.extend([wrong.clone(), next.clone()]);
    let with_code = second_step(vec![("code", wrong), ("code", next)]).await;
    assert_eq!(with_code, 303, "signed in with a code");
    browser.remember_cookies(&base, &mut secrets);
    let with_recovery = second_step(vec![("recovery_code", recovery[0].clone())]).await;
    assert_eq!(with_recovery, 303, "signed in with a recovery code");
    browser.remember_cookies(&base, &mut secrets);
    let account = |path: &str| url(&format!("/backoffice/account/two-factor/{path}"));
    let page = browser
        .client
        .get(account("recovery-codes"))
        .send()
        .await
        .expect("request");
    let csrf = csrf_token_in(&page.text().await.expect("body")).expect("a CSRF token");
    let renewed = post(account("recovery-codes"), form(&csrf, &[("code", &recovery[1])]))
        .await
        .expect("request");
    assert_eq!(renewed.status().as_u16(), 200, "new recovery codes");
    let renewed = recovery_codes_in(&renewed.text().await.expect("body"));
    for code in &renewed {
        secrets.add("a new recovery code", code);
    }
    let off = post(account("turn-off"), form(&csrf, &[("code", &renewed[0])]))
        .await
        .expect("request");
    assert_eq!(off.status().as_u16(), 303, "turned off");

    // People administration: an invitation link and a password-reset link,
    // each opened (the token in the query) and used (in the form body).
    let users = url("/backoffice/settings/users");
    let csrf = csrf_token(&browser, &users, &mut secrets).await;
    let invited = post(
        format!("{users}/invite"),
        form(
            &csrf,
            &[
                ("email", "grace@acme.test"),
                ("display_name", "Grace"),
                ("role", "member"),
            ],
        ),
    )
    .await
    .expect("request");
    assert_eq!(invited.status().as_u16(), 200, "invited");
    let page = invited.text().await.expect("body");
    let link_token = |page: &str| -> String {
        let token = page.split("?token=").nth(1).expect("a link");
        token.chars().take_while(char::is_ascii_alphanumeric).collect()
    };
    let grace_id: String = page
        .split("/backoffice/settings/users/")
        .nth(1)
        .expect("Done leads to the user")
        .chars()
        .take_while(|c| c.is_ascii_hexdigit() || *c == '-')
        .collect();
    let mut link_tokens = vec![link_token(&page)];
    let grace_password = "grace's own passphrase";
    secrets.add("an invited user's password", grace_password);
    let stranger = Browser::new();
    for (path, token) in [("/invitation", link_tokens[0].clone())] {
        secrets.add("an invitation token", &token);
        let opened = csrf_token(&stranger, &url(&format!("{path}?token={token}")), &mut secrets).await;
        let fields = [
            ("token", token.as_str()),
            ("display_name", "Grace"),
            ("password", grace_password),
            ("password_confirmation", grace_password),
        ];
        let used = stranger
            .client
            .post(url(path))
            .header("Origin", base.as_str())
            .form(&form(&opened, &fields))
            .send()
            .await
            .expect("request");
        assert_eq!(used.status().as_u16(), 303, "invitation accepted");
    }
    let reset = post(format!("{users}/{grace_id}/password-reset"), form(&csrf, &[]))
        .await
        .expect("request");
    assert_eq!(reset.status().as_u16(), 200, "a reset link");
    let token = link_token(&reset.text().await.expect("body"));
    secrets.add("a password-reset token", &token);
    link_tokens.push(token.clone());
    let new_password = "grace's newer passphrase";
    secrets.add("a reset password", new_password);
    let opened = csrf_token(&stranger, &url(&format!("/password-reset?token={token}")), &mut secrets).await;
    let fields = [
        ("token", token.as_str()),
        ("password", new_password),
        ("password_confirmation", new_password),
    ];
    let used = stranger
        .client
        .post(url("/password-reset"))
        .header("Origin", base.as_str())
        .form(&form(&opened, &fields))
        .send()
        .await
        .expect("request");
    assert_eq!(used.status().as_u16(), 303, "password reset");
    stranger.remember_cookies(&base, &mut secrets);

    // Let the usage flusher run once, then stop gracefully.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.stop();
    // The reader threads see the end of the pipes just after the exit.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (stdout, stderr) = (printed.stdout(), printed.stderr());
    drop(database);

    // Not vacuous: the log is there, at debug level, with the requests
    // (their query keys redacted), and the search finds a secret in it.
    assert!(
        stderr.matches("request finished").count() >= 20,
        "each request is logged: {stderr}"
    );
    assert!(stderr.contains("DEBUG"), "debug lines are logged: {stderr}");
    assert!(
        stderr.contains("/api/v1/me?api_key=[redacted]&page=2"),
        "requests are logged: {stderr}"
    );
    assert!(stderr.contains("flushed usage at shutdown"), "{stderr}");
    for kind in ["keyward_session cookie", "keyward_csrf cookie", "CSRF token", "key"] {
        assert!(
            secrets.0.iter().any(|(what, _)| what.contains(kind)),
            "no {kind} was collected to search for"
        );
    }
    let planted = format!("{stderr}\nrequest finished target=/x?k={}\n", &admin_key[..]);
    assert!(
        secrets
            .found_in(&planted)
            .contains(&"the admin key (secret part)".to_owned()),
        "the search finds a key planted in the log"
    );

    let mut found: Vec<String> = secrets
        .found_in(&stderr)
        .into_iter()
        .map(|what| format!("{what} (log)"))
        .collect();
    // Standard output carries what the server prints for its operator: the
    // setup link, once, and nothing else secret.
    found.extend(
        secrets
            .found_in(&stdout)
            .into_iter()
            .map(|what| format!("{what} (stdout)")),
    );
    assert_eq!(stdout.matches(setup_token.as_str()).count(), 1, "{stdout}");
    // Six digits are too few to search for alone (timestamps have them):
    // a code is found as a field, a query value or a quoted string.
    for code in &codes {
        for shape in [format!("code={code}"), format!("\"{code}\""), format!("code: {code}")] {
            if stderr.contains(&shape) || stdout.contains(&shape) {
                found.push(format!("an authentication code, as {shape}"));
            }
        }
    }
    if stderr.contains(setup_token.as_str()) {
        found.push("the setup token (log)".into());
    }
    assert!(
        stderr.contains("/password-reset?token=[redacted]"),
        "the link's request is logged, redacted"
    );
    for token in &link_tokens {
        if stderr.contains(token.as_str()) || stdout.contains(token.as_str()) {
            found.push("a one-time link's token".into());
        }
    }
    println!(
        "log search: {} secrets × {} lines printed ({:.1} s)",
        secrets.0.len() + 1,
        stdout.lines().count() + stderr.lines().count(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        found.is_empty(),
        "the server printed secrets: {}\n{stderr}",
        found.join(", ")
    );
}
