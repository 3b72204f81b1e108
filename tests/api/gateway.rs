//! The gateway check: what it believes and from whom, straight over HTTP on
//! both backends, then behind a real nginx (`auth_request`) and a real Caddy
//! (`forward_auth`), each started by the test on free ports in front of an
//! upstream that echoes what it was told.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use keyward::api::check::GatewayHeaders;
use keyward::config::Settings;
use keyward::domain::routes::RouteMap;
use keyward::store::Backend;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::on_both_backends;
use crate::support::{TestApp, TestKey, free_port, wait_for_port};

use crate::support::Part;

crate::tests!(needs Part::Nginx; nginx_lets_through_only_what_the_key_may_do);
crate::tests!(needs Part::Caddy; caddy_forward_auth_lets_through_only_what_the_key_may_do);

/// A gateway process, ended with the test.
struct Gateway(Child);

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends `method path` exactly as written (no client-side normalisation of
/// `..` or `%2e`), with `headers`; returns the status and the body.
async fn raw_request(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: 0\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response}"));
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    (status, body)
}

const ROUTES: &str = r#"
[[route]]
method = "GET"
path = "/flights/**"
action = "read"
resource = "flights"

[[route]]
method = "POST"
path = "/flights/**"
action = "write"
resource = "flights"

[[route]]
method = "*"
path = "/crew/**"
action = "admin"
resource = "crew"
"#;

/// The route map, with no trusted proxy: every peer is a stranger.
fn routes_only(settings: &mut Settings) {
    settings.gateway_routes = RouteMap::parse(ROUTES).expect("route map");
}

/// Behind nginx on this machine: the loopback is the trusted gateway.
fn behind_nginx(settings: &mut Settings) {
    routes_only(settings);
    settings.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
}

/// Behind Traefik or Caddy on this machine: the X-Forwarded-* family.
fn behind_traefik(settings: &mut Settings) {
    behind_nginx(settings);
    settings.gateway_headers = GatewayHeaders::Forwarded;
}

/// Asks `/auth/check` directly with `headers` (and the key in X-API-Key);
/// returns the status and the problem's code (`None` for a 204).
async fn check(app: &TestApp, key: &str, headers: &[(&str, &str)]) -> (u16, Option<String>) {
    let mut request = app.client.get(app.url("/auth/check")).header("X-API-Key", key);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    if status == 204 {
        return (status, None);
    }
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = response.json().await.expect("json");
    (status, body["code"].as_str().map(str::to_owned))
}

fn refused(status: u16, code: &str) -> (u16, Option<String>) {
    (status, Some(code.to_owned()))
}

on_both_backends!(adjusting routes_only; spoofed_original_headers_from_an_untrusted_peer_are_refused);

async fn spoofed_original_headers_from_an_untrusted_peer_are_refused(app: TestApp) {
    let (_, reader, _) = gateway_keys(&app).await;
    let spoofed = [("X-Original-Method", "GET"), ("X-Original-URI", "/flights/AB123")];
    assert_eq!(check(&app, &reader, &spoofed).await, refused(403, "untrusted_gateway"));
    let forwarded = [("X-Forwarded-Method", "GET"), ("X-Forwarded-Uri", "/flights/AB123")];
    assert_eq!(
        check(&app, &reader, &forwarded).await,
        refused(403, "untrusted_gateway")
    );
    assert_eq!(check(&app, &reader, &[]).await, refused(403, "untrusted_gateway"));
}

on_both_backends!(adjusting behind_nginx;
    a_missing_original_method_or_uri_is_a_400_never_a_guess,
    the_other_header_family_disagreeing_is_a_400,
    paths_not_in_normal_form_are_refused_by_the_gateway_check,
);

async fn a_missing_original_method_or_uri_is_a_400_never_a_guess(app: TestApp) {
    let (_, reader, _) = gateway_keys(&app).await;
    let both = [("X-Original-Method", "GET"), ("X-Original-URI", "/flights/AB123")];
    assert_eq!(check(&app, &reader, &both).await, (204, None));
    assert_eq!(
        check(&app, &reader, &[("X-Original-URI", "/flights/AB123")]).await,
        refused(400, "missing_original_method")
    );
    assert_eq!(
        check(&app, &reader, &[("X-Original-Method", "GET")]).await,
        refused(400, "missing_original_uri")
    );
    assert_eq!(
        check(
            &app,
            &reader,
            &[("X-Original-Method", ""), ("X-Original-URI", "/flights/AB123")]
        )
        .await,
        refused(400, "missing_original_method")
    );
    // The configured family is nginx's: X-Forwarded-* alone is not read.
    let forwarded = [("X-Forwarded-Method", "GET"), ("X-Forwarded-Uri", "/flights/AB123")];
    assert_eq!(
        check(&app, &reader, &forwarded).await,
        refused(400, "missing_original_method")
    );
    let repeated = app
        .client
        .get(app.url("/auth/check"))
        .header("X-API-Key", &reader)
        .header("X-Original-Method", "GET")
        .header("X-Original-Method", "DELETE")
        .header("X-Original-URI", "/flights/AB123")
        .send()
        .await
        .expect("request");
    assert_eq!(repeated.status().as_u16(), 400);
    let body: serde_json::Value = repeated.json().await.expect("json");
    assert_eq!(body["code"], "malformed_gateway_header");
}

async fn the_other_header_family_disagreeing_is_a_400(app: TestApp) {
    let (_, reader, _) = gateway_keys(&app).await;
    let (status, code) = check(
        &app,
        &reader,
        &[
            ("X-Original-Method", "GET"),
            ("X-Original-URI", "/flights/AB123"),
            ("X-Forwarded-Method", "DELETE"),
        ],
    )
    .await;
    assert_eq!((status, code.as_deref()), (400, Some("conflicting_gateway_headers")));
    let (status, code) = check(
        &app,
        &reader,
        &[
            ("X-Original-Method", "GET"),
            ("X-Original-URI", "/flights/AB123"),
            ("X-Forwarded-Uri", "/crew/roster"),
        ],
    )
    .await;
    assert_eq!((status, code.as_deref()), (400, Some("conflicting_gateway_headers")));
    let agreeing = [
        ("X-Original-Method", "GET"),
        ("X-Original-URI", "/flights/AB123"),
        ("X-Forwarded-Method", "GET"),
        ("X-Forwarded-Uri", "/flights/AB123"),
    ];
    assert_eq!(check(&app, &reader, &agreeing).await, (204, None));
}

async fn paths_not_in_normal_form_are_refused_by_the_gateway_check(app: TestApp) {
    let (_, reader, _) = gateway_keys(&app).await;
    for uri in [
        "/flights/../crew/roster",
        "/flights/%2e%2e/crew/roster",
        "/flights/.%2E/crew/roster",
        "/flights/..;/crew/roster",
        "/flights/x%2F..%2F..%2Fcrew",
        "/flights/x%5C..%5C..%5Ccrew",
        "/flights/x\\..\\..\\crew",
        "/flights/AB123%00.json",
        "/flights//AB123",
        "/flights/%zz",
        "flights/AB123",
    ] {
        let (status, code) = check(&app, &reader, &[("X-Original-Method", "GET"), ("X-Original-URI", uri)]).await;
        assert_eq!((status, code.as_deref()), (400, Some("path_not_normalized")), "{uri}");
    }
    // Normal segments are matched decoded; the query is not part of the path.
    let encoded = [
        ("X-Original-Method", "GET"),
        ("X-Original-URI", "/%66lights/AB%20123?x=../.."),
    ];
    assert_eq!(check(&app, &reader, &encoded).await, (204, None));
}

on_both_backends!(adjusting behind_traefik; the_forwarded_family_is_read_when_configured);

async fn the_forwarded_family_is_read_when_configured(app: TestApp) {
    let (_, reader, _) = gateway_keys(&app).await;
    let forwarded = [
        ("X-Forwarded-Method", "GET"),
        ("X-Forwarded-Uri", "/flights/AB123"),
        ("X-Forwarded-Host", "api.example"),
        ("X-Forwarded-Proto", "https"),
    ];
    assert_eq!(check(&app, &reader, &forwarded).await, (204, None));
    let writing = [("X-Forwarded-Method", "POST"), ("X-Forwarded-Uri", "/flights/AB123")];
    assert_eq!(check(&app, &reader, &writing).await, refused(403, "insufficient_scope"));
    // Traefik passes the client's own headers through: a client calling
    // DELETE /crew/roster that adds nginx's family is refused, not believed.
    let spoofed = [
        ("X-Forwarded-Method", "DELETE"),
        ("X-Forwarded-Uri", "/crew/roster"),
        ("X-Original-Method", "GET"),
        ("X-Original-URI", "/flights/AB123"),
    ];
    assert_eq!(
        check(&app, &reader, &spoofed).await,
        refused(400, "conflicting_gateway_headers")
    );
    let only_original = [("X-Original-Method", "GET"), ("X-Original-URI", "/flights/AB123")];
    assert_eq!(
        check(&app, &reader, &only_original).await,
        refused(400, "missing_original_method")
    );
}

/// Two organizations' keys for the gateway tests: (org id, read:flights key,
/// another organization's write:flights key).
async fn gateway_keys(app: &TestApp) -> (String, String, String) {
    let (org, _, reader) = app
        .org_with_api_key(
            "Acme Aviation",
            TestKey {
                scopes: &["read:flights"],
                ..TestKey::default()
            },
        )
        .await;
    let (_, _, writer_elsewhere) = app
        .org_with_api_key(
            "Globex Airways",
            TestKey {
                scopes: &["write:flights"],
                ..TestKey::default()
            },
        )
        .await;
    (org.id, reader, writer_elsewhere)
}

async fn nginx_lets_through_only_what_the_key_may_do() {
    let nginx = crate::support::nginx_path();
    let app = TestApp::spawn_with(Backend::Sqlite, behind_nginx)
        .await
        .expect("SQLite is always there");
    let (org, reader, writer_elsewhere) = gateway_keys(&app).await;

    let dir = tempfile::tempdir().expect("tempdir");
    let (front, upstream) = (free_port(), free_port());
    // The /_keyward location is the README's, on this test's ports.
    let config = format!(
        r#"
daemon off;
user root;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{front};
        location / {{
            auth_request /_keyward;
            auth_request_set $keyward_org $upstream_http_x_keyward_org;
            auth_request_set $keyward_key $upstream_http_x_keyward_key_id;
            proxy_set_header X-Keyward-Org $keyward_org;
            proxy_set_header X-Keyward-Key-Id $keyward_key;
            proxy_pass http://127.0.0.1:{upstream};
        }}
        location = /_keyward {{
            internal;
            proxy_pass http://127.0.0.1:{keyward}/auth/check;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header X-Forwarded-Method "";
            proxy_set_header X-Forwarded-Uri "";
            proxy_set_header X-Forwarded-For $remote_addr;
        }}
    }}
    server {{
        listen 127.0.0.1:{upstream};
        location / {{ return 200 "upstream: org=$http_x_keyward_org key=$http_x_keyward_key_id uri=$uri\n"; }}
    }}
}}
"#,
        dir = dir.path().display(),
        keyward = app.port,
    );
    let conf = dir.path().join("nginx.conf");
    std::fs::write(&conf, config).expect("write config");
    let _nginx = Gateway(
        Command::new(nginx)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts"),
    );
    wait_for_port(front).await;
    through_the_gateway_only_what_the_key_may_do_passes(front, &org, &reader, &writer_elsewhere).await;

    // nginx turns any answer of the check but 401/403 into a 500: refused all the same.
    let (status, body) = raw_request(front, "GET", "/flights/../crew/roster", &[("X-API-Key", &reader)]).await;
    assert_eq!(status, 500, "nginx reports the check's 400 as an error: {body}");
    assert!(!body.contains("upstream"), "{body}");
    // A client's own X-Forwarded-Method is dropped by the README's config.
    let (status, body) = raw_request(
        front,
        "GET",
        "/flights/AB123",
        &[("X-API-Key", &reader), ("X-Forwarded-Method", "DELETE")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// What every gateway in front of Keyward must do with the keys of `gateway_keys`.
async fn through_the_gateway_only_what_the_key_may_do_passes(
    front: u16,
    org: &str,
    reader: &str,
    writer_elsewhere: &str,
) {
    let (status, echoed) = raw_request(front, "GET", "/flights/AB123", &[("X-API-Key", reader)]).await;
    assert_eq!(status, 200, "{echoed}");
    eprintln!("through the gateway: {echoed}");
    assert!(echoed.contains(&format!("org={org}")), "{echoed}");
    assert!(echoed.contains(&format!("key={}", &reader[4..16])), "{echoed}");

    for (method, path, key, status) in [
        ("GET", "/flights/AB123", None, 401),
        ("GET", "/flights/AB123", Some("ask_garbage"), 401),
        ("GET", "/flights/AB123", Some(writer_elsewhere), 403),
        ("GET", "/crew/roster", Some(reader), 403),
        ("POST", "/flights/AB123", Some(reader), 403),
        ("DELETE", "/flights/AB123", Some(reader), 403),
    ] {
        let headers: Vec<(&str, &str)> = key.map(|k| ("X-API-Key", k)).into_iter().collect();
        let (got, body) = raw_request(front, method, path, &headers).await;
        assert_eq!(got, status, "{method} {path} {key:?}: {body}");
        assert!(
            !body.contains("upstream"),
            "{method} {path} reached the upstream: {body}"
        );
    }
    // A client's own X-Original-* cannot change what is checked.
    let (got, body) = raw_request(
        front,
        "DELETE",
        "/crew/roster",
        &[
            ("X-API-Key", reader),
            ("X-Original-Method", "GET"),
            ("X-Original-URI", "/flights/AB123"),
        ],
    )
    .await;
    assert!(!body.contains("upstream") && got >= 400, "{got} {body}");
    let (got, _) = raw_request(front, "GET", &format!("/flights/AB123?api_key={reader}"), &[]).await;
    assert_eq!(got, 401, "this key may not travel in the URL");
}

fn caddyfile(dir: &Path, front: u16, upstream: u16, keyward: u16) -> String {
    format!(
        r#"{{
	admin off
	auto_https off
	storage file_system {dir}/data
}}

http://127.0.0.1:{front} {{
	forward_auth 127.0.0.1:{keyward} {{
		uri /auth/check
		copy_headers X-Keyward-Org X-Keyward-Key-Id
	}}
	reverse_proxy 127.0.0.1:{upstream}
}}

http://127.0.0.1:{upstream} {{
	respond "upstream: org={{header.X-Keyward-Org}} key={{header.X-Keyward-Key-Id}} uri={{uri}}"
}}
"#,
        dir = dir.display(),
    )
}

async fn caddy_forward_auth_lets_through_only_what_the_key_may_do() {
    let caddy = crate::support::caddy_path();
    let app = TestApp::spawn_with(Backend::Sqlite, behind_traefik)
        .await
        .expect("SQLite is always there");
    let (org, reader, writer_elsewhere) = gateway_keys(&app).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (front, upstream) = (free_port(), free_port());
    let conf = dir.path().join("Caddyfile");
    std::fs::write(&conf, caddyfile(dir.path(), front, upstream, app.port)).expect("write config");
    let _caddy = Gateway(
        Command::new(caddy)
            .arg("run")
            .arg("--adapter")
            .arg("caddyfile")
            .arg("--config")
            .arg(&conf)
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("caddy starts"),
    );
    wait_for_port(front).await;
    wait_for_port(upstream).await;
    through_the_gateway_only_what_the_key_may_do_passes(front, &org, &reader, &writer_elsewhere).await;

    // Caddy hands the check's own answer to the client.
    let (status, body) = raw_request(front, "GET", "/flights/../crew/roster", &[("X-API-Key", &reader)]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("path_not_normalized"), "{body}");
    let (status, body) = raw_request(
        front,
        "DELETE",
        "/crew/roster",
        &[
            ("X-API-Key", &reader),
            ("X-Original-Method", "GET"),
            ("X-Original-URI", "/flights/AB123"),
        ],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("conflicting_gateway_headers"), "{body}");
}
