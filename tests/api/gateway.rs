//! The gateway check behind a real nginx (`auth_request`), started by the
//! test on free ports, in front of an upstream that echoes what it was told.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use keyward::domain::routes::RouteMap;
use keyward::store::Backend;

use crate::support::{TestApp, TestKey, missing};

use crate::support::Part;

crate::tests!(needs Part::Nginx; nginx_lets_through_only_what_the_key_may_do);

struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn nginx_binary() -> Option<PathBuf> {
    let path = crate::support::nginx_path();
    path.exists().then_some(path)
}

const ROUTES: &str = r#"
[[route]]
method = "GET"
path = "/flights/**"
action = "read"
resource = "flights"
"#;

async fn nginx_lets_through_only_what_the_key_may_do() {
    let Some(nginx) = nginx_binary() else {
        missing("nginx", "nginx (apt-get install -y nginx) for the gateway test");
    };
    let app = TestApp::spawn_with(Backend::Sqlite, |settings| {
        settings.trusted_proxies = vec!["127.0.0.1/32".parse().expect("net")];
        settings.gateway_routes = RouteMap::parse(ROUTES).expect("route map");
    })
    .await
    .expect("SQLite is always there");
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

    let dir = tempfile::tempdir().expect("tempdir");
    let (front, upstream) = (free_port(), free_port());
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
            proxy_set_header X-Forwarded-For $remote_addr;
        }}
    }}
    server {{
        listen 127.0.0.1:{upstream};
        location / {{ return 200 "upstream: org=$http_x_keyward_org key=$http_x_keyward_key_id\n"; }}
    }}
}}
"#,
        dir = dir.path().display(),
        keyward = app.port,
    );
    let conf = dir.path().join("nginx.conf");
    std::fs::write(&conf, config).expect("write config");
    let _nginx = Nginx(
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
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", front)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let get = |path: &str, key: Option<&str>| {
        let mut request = app.client.get(format!("http://127.0.0.1:{front}{path}"));
        if let Some(key) = key {
            request = request.header("X-API-Key", key);
        }
        request.send()
    };

    let allowed = get("/flights/AB123", Some(&reader)).await.expect("request");
    assert_eq!(allowed.status().as_u16(), 200);
    let echoed = allowed.text().await.expect("body");
    eprintln!("through nginx: {echoed}");
    assert!(echoed.contains(&format!("org={}", org.id)), "{echoed}");
    assert!(echoed.contains(&format!("key={}", &reader[4..16])), "{echoed}");

    for (path, key, status) in [
        ("/flights/AB123", None, 401),
        ("/flights/AB123", Some("ask_garbage"), 401),
        ("/flights/AB123", Some(writer_elsewhere.as_str()), 403),
        ("/crew/roster", Some(reader.as_str()), 403),
    ] {
        let response = get(path, key).await.expect("request");
        assert_eq!(response.status().as_u16(), status, "{path} {key:?}");
    }
    let in_query = get(&format!("/flights/AB123?api_key={reader}"), None)
        .await
        .expect("request");
    assert_eq!(in_query.status().as_u16(), 401, "this key may not travel in the URL");
}
