//! The authorization matrix: every route the router lists (the browser
//! routes of `web::route_listing`, the API's of `api::route_listing`), called
//! as each kind of caller, and the answer each cell must get. The expected
//! answers follow from what each route needs (`EXPECTATIONS`, written from
//! DESIGN.md, not read from the router); a listed route without one fails the
//! test, so a new route cannot go unchecked. Every wrong cell is reported at
//! once.

use std::collections::HashMap;

use keyward::config::Settings;
use keyward::domain::role::Role;
use keyward::domain::routes::RouteMap;
use keyward::web::Guard;

use crate::on_both_backends;
use crate::support::{PASSWORD, TestApp, TestKey};

on_both_backends!(adjusting behind_a_gateway; every_listed_route_answers_each_kind_of_caller_as_its_guard_says);

/// The gateway check's route map: one route, so that a key can hold or lack its scope.
const GATEWAY_ROUTES: &str = r#"
[[route]]
path = "/cargo/**"
action = "read"
resource = "cargo"
"#;

/// The gateway check answers only trusted proxies: the test's client is one.
fn behind_a_gateway(settings: &mut Settings) {
    settings.gateway_routes = RouteMap::parse(GATEWAY_ROUTES).expect("route map");
    settings.trusted_proxies = vec!["127.0.0.1/32".parse().expect("network")];
}

/// Who calls. Acme's people and keys call with a key id of Acme; the foreign
/// ones (of Globex) call with a key id of Acme too, which they must not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Caller {
    SignedOut,
    Member,
    Administrator,
    SystemAdministrator,
    ForeignSystemAdministrator,
    KeyWithTheScope,
    KeyWithoutTheScope,
    ForeignKey,
}

const CALLERS: [Caller; 8] = [
    Caller::SignedOut,
    Caller::Member,
    Caller::Administrator,
    Caller::SystemAdministrator,
    Caller::ForeignSystemAdministrator,
    Caller::KeyWithTheScope,
    Caller::KeyWithoutTheScope,
    Caller::ForeignKey,
];

impl Caller {
    fn label(self) -> &'static str {
        match self {
            Caller::SignedOut => "signed out",
            Caller::Member => "Member",
            Caller::Administrator => "Administrator",
            Caller::SystemAdministrator => "System Administrator",
            Caller::ForeignSystemAdministrator => "another organization's System Administrator",
            Caller::KeyWithTheScope => "a key with the needed scope",
            Caller::KeyWithoutTheScope => "a key without the needed scope",
            Caller::ForeignKey => "another organization's key",
        }
    }

    /// The user this caller signs in as, if any.
    fn user(self) -> Option<(Role, &'static str)> {
        match self {
            Caller::Member => Some((Role::Member, "member@acme.test")),
            Caller::Administrator => Some((Role::Administrator, "administrator@acme.test")),
            Caller::SystemAdministrator => Some((Role::SystemAdministrator, "sam@acme.test")),
            Caller::ForeignSystemAdministrator => Some((Role::SystemAdministrator, "gil@globex.test")),
            _ => None,
        }
    }

    fn is_foreign(self) -> bool {
        matches!(self, Caller::ForeignSystemAdministrator | Caller::ForeignKey)
    }
}

/// What a route needs of its caller.
#[derive(Debug, Clone, Copy)]
enum Access {
    /// Anyone; a signed-in caller gets `signed_in` if it is not the same.
    Public { signed_in: Option<u16> },
    /// A browser session behind this guard.
    Browser(Guard),
    /// An API key holding this scope ("" for any valid key).
    Key(&'static str),
}

/// What a request carries besides the caller's credentials. In values,
/// `{n}` is the cell's number (for unique names) and `{secret}` the secret
/// of the cell's target key.
#[derive(Debug, Clone, Copy)]
enum Body {
    Empty,
    Form(&'static [(&'static str, &'static str)]),
    Json(&'static str),
    /// The gateway check: the original request, as nginx names it.
    Gateway {
        method: &'static str,
        uri: &'static str,
    },
}

/// One route's expectation: `allowed` is the status of a caller let through
/// (of a signed-out one, for a public route).
struct Route {
    method: &'static str,
    path: &'static str,
    access: Access,
    allowed: u16,
    body: Body,
    /// It ends the caller's session (and so its CSRF token).
    signs_out: bool,
}

const fn route(method: &'static str, path: &'static str, access: Access, allowed: u16, body: Body) -> Route {
    Route {
        method,
        path,
        access,
        allowed,
        body,
        signs_out: false,
    }
}

const PUBLIC: Access = Access::Public { signed_in: None };
const SYSADMIN: Access = Access::Browser(Guard::SystemAdministrator);
const SIGNED_IN: Access = Access::Browser(Guard::SignedIn);
/// A code that is nobody's (the callers have no two-factor authentication).
const CODE_FORM: Body = Body::Form(&[("code", "123456")]);
const ADMIN_KEYS: Access = Access::Key("admin:api-keys");
const KEY_FORM: Body = Body::Form(&[("name", "Made {n}"), ("scope_mode", "read"), ("networks", "0.0.0.0/0")]);
const BASE: &str = "/backoffice/settings/api-keys";

/// Every route and what it needs: DESIGN.md's roles and scopes.
const EXPECTATIONS: &[Route] = &[
    route("GET", "/", PUBLIC, 303, Body::Empty),
    route(
        "GET",
        "/login",
        Access::Public { signed_in: Some(303) },
        200,
        Body::Empty,
    ),
    // No password: refused by the form before the throttle counts it.
    route(
        "POST",
        "/login",
        PUBLIC,
        422,
        Body::Form(&[("email", "nobody@acme.test"), ("password", "")]),
    ),
    Route {
        signs_out: true,
        ..route("POST", "/logout", PUBLIC, 303, Body::Empty)
    },
    // Someone has set Keyward up: the setup link is gone for everyone.
    route("GET", "/setup", PUBLIC, 410, Body::Empty),
    route("POST", "/setup", PUBLIC, 410, Body::Form(&[("token", "unknown")])),
    route("GET", "/backoffice", Access::Browser(Guard::SignedIn), 200, Body::Empty),
    // Two-factor authentication: no sign-in waits for a code, so the code
    // step sends everyone back; nobody has it on, so there is nothing to
    // turn off or regenerate, and a setup form of no setup is refused.
    route("GET", "/login/two-factor", PUBLIC, 303, Body::Empty),
    route("POST", "/login/two-factor", PUBLIC, 303, CODE_FORM),
    route("GET", "/backoffice/account", SIGNED_IN, 200, Body::Empty),
    route(
        "GET",
        "/backoffice/account/two-factor/setup",
        SIGNED_IN,
        200,
        Body::Empty,
    ),
    route(
        "POST",
        "/backoffice/account/two-factor/setup",
        SIGNED_IN,
        422,
        Body::Form(&[("setup_id", "not-this-one"), ("code", "123456")]),
    ),
    route(
        "GET",
        "/backoffice/account/two-factor/turn-off",
        SIGNED_IN,
        303,
        Body::Empty,
    ),
    route(
        "POST",
        "/backoffice/account/two-factor/turn-off",
        SIGNED_IN,
        422,
        CODE_FORM,
    ),
    route(
        "GET",
        "/backoffice/account/two-factor/recovery-codes",
        SIGNED_IN,
        303,
        Body::Empty,
    ),
    route(
        "POST",
        "/backoffice/account/two-factor/recovery-codes",
        SIGNED_IN,
        422,
        CODE_FORM,
    ),
    route("GET", "/backoffice/settings/security", SYSADMIN, 200, Body::Empty),
    // Turning the requirement on needs the caller's own two-factor authentication.
    route(
        "POST",
        "/backoffice/settings/security",
        SYSADMIN,
        422,
        Body::Form(&[("require_two_factor", "on")]),
    ),
    // People administration. `{id}` is filled with a key's id, which names
    // no user: a caller let through reaches the handler and gets its 404.
    route("GET", "/backoffice/settings/users", SYSADMIN, 200, Body::Empty),
    route("GET", "/backoffice/settings/users/invite", SYSADMIN, 200, Body::Empty),
    route(
        "POST",
        "/backoffice/settings/users/invite",
        SYSADMIN,
        200,
        Body::Form(&[
            ("email", "invited{n}@acme.test"),
            ("display_name", "Invited {n}"),
            ("role", "member"),
        ]),
    ),
    route("GET", "/backoffice/settings/users/{id}", SYSADMIN, 404, Body::Empty),
    route(
        "POST",
        "/backoffice/settings/users/{id}/role",
        SYSADMIN,
        404,
        Body::Form(&[("role", "member")]),
    ),
    route(
        "POST",
        "/backoffice/settings/users/{id}/disable",
        SYSADMIN,
        404,
        Body::Empty,
    ),
    route(
        "POST",
        "/backoffice/settings/users/{id}/enable",
        SYSADMIN,
        404,
        Body::Empty,
    ),
    route(
        "POST",
        "/backoffice/settings/users/{id}/reset-two-factor",
        SYSADMIN,
        404,
        Body::Empty,
    ),
    route(
        "POST",
        "/backoffice/settings/users/{id}/password-reset",
        SYSADMIN,
        404,
        Body::Empty,
    ),
    route(
        "POST",
        "/backoffice/settings/users/{id}/invitation",
        SYSADMIN,
        404,
        Body::Empty,
    ),
    // A link without a token (or an unknown one) is no link.
    route("GET", "/invitation", PUBLIC, 404, Body::Empty),
    route("POST", "/invitation", PUBLIC, 404, Body::Form(&[("token", "unknown")])),
    route("GET", "/password-reset", PUBLIC, 404, Body::Empty),
    route(
        "POST",
        "/password-reset",
        PUBLIC,
        404,
        Body::Form(&[("token", "unknown")]),
    ),
    route("GET", BASE, SYSADMIN, 200, Body::Empty),
    route("POST", BASE, SYSADMIN, 200, KEY_FORM),
    route(
        "POST",
        "/backoffice/settings/api-keys/setup",
        SYSADMIN,
        303,
        Body::Empty,
    ),
    route("GET", "/backoffice/settings/api-keys/new", SYSADMIN, 200, Body::Empty),
    route(
        "GET",
        "/backoffice/settings/api-keys/export.csv",
        SYSADMIN,
        200,
        Body::Empty,
    ),
    route("GET", "/backoffice/settings/api-keys/usage", SYSADMIN, 200, Body::Empty),
    route("GET", "/backoffice/settings/api-keys/audit", SYSADMIN, 200, Body::Empty),
    route(
        "GET",
        "/backoffice/settings/api-keys/audit.csv",
        SYSADMIN,
        200,
        Body::Empty,
    ),
    route("GET", "/backoffice/settings/api-keys/{id}", SYSADMIN, 200, Body::Empty),
    route("POST", "/backoffice/settings/api-keys/{id}", SYSADMIN, 303, KEY_FORM),
    route(
        "GET",
        "/backoffice/settings/api-keys/{id}/edit",
        SYSADMIN,
        200,
        Body::Empty,
    ),
    route(
        "POST",
        "/backoffice/settings/api-keys/{id}/enable",
        SYSADMIN,
        303,
        Body::Empty,
    ),
    route(
        "POST",
        "/backoffice/settings/api-keys/{id}/disable",
        SYSADMIN,
        303,
        Body::Empty,
    ),
    route(
        "GET",
        "/backoffice/settings/api-keys/{id}/rotate",
        SYSADMIN,
        200,
        Body::Empty,
    ),
    route(
        "POST",
        "/backoffice/settings/api-keys/{id}/rotate",
        SYSADMIN,
        200,
        Body::Form(&[("grace", "1h")]),
    ),
    route(
        "GET",
        "/backoffice/settings/api-keys/{id}/revoke",
        SYSADMIN,
        200,
        Body::Empty,
    ),
    route(
        "POST",
        "/backoffice/settings/api-keys/{id}/revoke",
        SYSADMIN,
        303,
        Body::Empty,
    ),
    route(
        "GET",
        "/backoffice/settings/api-keys/{id}/delete",
        SYSADMIN,
        200,
        Body::Empty,
    ),
    route(
        "POST",
        "/backoffice/settings/api-keys/{id}/delete",
        SYSADMIN,
        303,
        Body::Empty,
    ),
    route("GET", "/api/v1/ping", Access::Key(""), 200, Body::Empty),
    route("GET", "/api/v1/me", Access::Key(""), 200, Body::Empty),
    route(
        "POST",
        "/api/v1/verify",
        Access::Key("read:verify"),
        200,
        Body::Json(r#"{"key": "{secret}", "action": "read", "resource": "flights", "client_ip": "10.0.0.1"}"#),
    ),
    route("GET", "/api/v1/usage", Access::Key("read:usage"), 200, Body::Empty),
    route(
        "GET",
        "/api/v1/audit-events",
        Access::Key("read:audit-events"),
        200,
        Body::Empty,
    ),
    route("GET", "/api/v1/api-keys", ADMIN_KEYS, 200, Body::Empty),
    route(
        "POST",
        "/api/v1/api-keys",
        ADMIN_KEYS,
        201,
        Body::Json(r#"{"name": "Made {n}", "scopes": ["read:flights"]}"#),
    ),
    route("GET", "/api/v1/api-keys/{id}", ADMIN_KEYS, 200, Body::Empty),
    route(
        "PATCH",
        "/api/v1/api-keys/{id}",
        ADMIN_KEYS,
        200,
        Body::Json(r#"{"name": "Renamed {n}"}"#),
    ),
    route("DELETE", "/api/v1/api-keys/{id}", ADMIN_KEYS, 204, Body::Empty),
    route("POST", "/api/v1/api-keys/{id}/enable", ADMIN_KEYS, 200, Body::Empty),
    route("POST", "/api/v1/api-keys/{id}/disable", ADMIN_KEYS, 200, Body::Empty),
    route("POST", "/api/v1/api-keys/{id}/rotate", ADMIN_KEYS, 200, Body::Empty),
    route("POST", "/api/v1/api-keys/{id}/revoke", ADMIN_KEYS, 200, Body::Empty),
    route(
        "*",
        "/auth/check",
        Access::Key("read:cargo"),
        204,
        Body::Gateway {
            method: "GET",
            uri: "/cargo/manifests/7",
        },
    ),
];

/// The keys each organization has for the API callers, by the scope they
/// hold for the route ("" is the key with none of the routes' scopes; every
/// key also holds `read:flights`, the scope of the keys the routes act on).
const CALLER_KEYS: [(&str, &[&str]); 6] = [
    ("", &["read:flights"]),
    ("admin:api-keys", &["admin:api-keys", "read:flights"]),
    ("read:verify", &["read:verify", "read:flights"]),
    ("read:usage", &["read:usage", "read:flights"]),
    ("read:audit-events", &["read:audit-events", "read:flights"]),
    ("read:cargo", &["read:cargo", "read:flights"]),
];

/// The answer a cell must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// Let through: this status (a 303 that is not to sign-in).
    Allowed(u16),
    /// 303 to the sign-in page.
    ToSignIn,
    /// The 403 page that names the role needed.
    RolePage,
    /// The 404 page: another organization's key id is not found.
    NotFoundPage,
    /// A problem+json answer with this status and code.
    Problem(u16, &'static str),
}

fn expected(route: &Route, caller: Caller) -> Answer {
    let names_a_key = route.path.contains("{id}");
    match route.access {
        Access::Public { signed_in } => Answer::Allowed(match caller.user() {
            Some(_) => signed_in.unwrap_or(route.allowed),
            None => route.allowed,
        }),
        Access::Browser(guard) => match caller {
            _ if caller.user().is_none() => Answer::ToSignIn,
            Caller::Member | Caller::Administrator if guard == Guard::SystemAdministrator => Answer::RolePage,
            Caller::ForeignSystemAdministrator if names_a_key => Answer::NotFoundPage,
            _ => Answer::Allowed(route.allowed),
        },
        Access::Key(scope) => match caller {
            Caller::KeyWithTheScope => Answer::Allowed(route.allowed),
            Caller::KeyWithoutTheScope if scope.is_empty() => Answer::Allowed(route.allowed),
            Caller::KeyWithoutTheScope => Answer::Problem(403, "insufficient_scope"),
            Caller::ForeignKey if names_a_key => Answer::Problem(404, "not_found"),
            Caller::ForeignKey => Answer::Allowed(route.allowed),
            // A session is no key.
            _ => Answer::Problem(401, "missing_key"),
        },
    }
}

/// A caller's browser: its own cookies and the CSRF token of its session.
struct Browser {
    client: reqwest::Client,
    csrf: String,
}

/// Opens a browser for `caller`, signed in if it is a user.
async fn open_browser(app: &TestApp, caller: Caller) -> Browser {
    let client = app.new_client();
    let page = match caller.user() {
        Some((_, email)) => {
            let signed_in = app.sign_in_with(&client, email, PASSWORD).await;
            assert_eq!(signed_in.status().as_u16(), 303, "{email} signs in");
            "/backoffice"
        }
        None => "/login",
    };
    let csrf = app.csrf_token(&client, page).await;
    Browser { client, csrf }
}

/// A key of Acme the cell acts on.
struct Target {
    id: String,
    secret: String,
    name: String,
}

/// Which of `marks` (what, text) `body` shows.
fn leaks<'a>(body: &str, marks: &'a [(&'static str, String)]) -> Vec<&'a str> {
    marks
        .iter()
        .filter(|(_, text)| body.contains(text.as_str()))
        .map(|(what, _)| *what)
        .collect()
}

/// What was wrong with an answer, if anything.
fn judge(answer: Answer, status: u16, location: &str, content_type: &str, body: &str) -> Option<String> {
    let to_sign_in = status == 303 && location.starts_with("/login?next=");
    let problem_code = || {
        serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|json| json["code"].as_str().map(str::to_owned))
    };
    let right = match answer {
        Answer::Allowed(wanted) => status == wanted && !to_sign_in,
        Answer::ToSignIn => to_sign_in,
        Answer::RolePage => status == 403 && body.contains("only for System Administrators"),
        Answer::NotFoundPage => status == 404 && content_type.starts_with("text/html"),
        Answer::Problem(wanted, code) => {
            status == wanted
                && content_type.starts_with("application/problem+json")
                && problem_code().as_deref() == Some(code)
        }
    };
    (!right).then(|| {
        let mut got = format!("{status}");
        if !location.is_empty() {
            got.push_str(&format!(" to {location}"));
        }
        if let Some(code) = problem_code() {
            got.push_str(&format!(" code {code}"));
        } else if status >= 400 {
            got.push_str(&format!(" ({content_type})"));
        }
        format!("expected {answer:?}, got {got}")
    })
}

/// Checks the listing against the expectations: every listed route has one,
/// every expectation is listed, and each browser route is behind the guard
/// its expectation says. Returns the routes in listing order.
fn routes_to_call() -> Result<Vec<&'static Route>, Vec<String>> {
    let method = |listed: &keyward::routing::Listed| {
        listed
            .method
            .as_ref()
            .map_or_else(|| "*".to_owned(), ToString::to_string)
    };
    let mut listed: Vec<(String, String, Option<Guard>)> = keyward::web::route_listing()
        .into_iter()
        .map(|(guard, route)| (method(&route), route.path, Some(guard)))
        .collect();
    listed.extend(
        keyward::api::route_listing()
            .into_iter()
            .map(|route| (method(&route), route.path, None)),
    );
    let mut problems = Vec::new();
    let mut routes = Vec::new();
    for (method, path, guard) in &listed {
        let Some(expectation) = EXPECTATIONS.iter().find(|e| e.method == method && e.path == path) else {
            problems.push(format!(
                "{method} {path} is listed by the router but has no expectation in EXPECTATIONS"
            ));
            continue;
        };
        let expected_guard = match expectation.access {
            Access::Public { .. } => Some(Guard::Public),
            Access::Browser(guard) => Some(guard),
            Access::Key(_) => None,
        };
        if *guard != expected_guard {
            problems.push(format!(
                "{method} {path} is behind {guard:?}, but its expectation says {expected_guard:?}"
            ));
        }
        routes.push(expectation);
    }
    for expectation in EXPECTATIONS {
        if !listed
            .iter()
            .any(|(method, path, _)| method == expectation.method && path == expectation.path)
        {
            problems.push(format!(
                "{} {} has an expectation but the router does not list it",
                expectation.method, expectation.path
            ));
        }
    }
    if problems.is_empty() { Ok(routes) } else { Err(problems) }
}

/// `text` with the cell's number and its target's secret put in.
fn fill(text: &str, n: usize, target: Option<&Target>) -> String {
    let text = text.replace("{n}", &n.to_string());
    match target {
        Some(target) => text.replace("{secret}", &target.secret),
        None => text,
    }
}

/// What a cell's request got back.
struct Reply {
    status: u16,
    location: String,
    content_type: String,
    body: String,
}

/// Sends `route`'s request to `path` as `browser` (with `key`, if any).
/// Every caller sends what a browser of the site sends, its CSRF token and
/// our origin: the cells test who may, not CSRF.
async fn call(
    app: &TestApp,
    route: &Route,
    browser: &Browser,
    key: Option<&str>,
    path: &str,
    n: usize,
    target: Option<&Target>,
) -> Reply {
    let method = match route.method {
        "*" => reqwest::Method::GET,
        other => other.parse().expect("a method"),
    };
    let mut request = browser
        .client
        .request(method, app.url(path))
        .header("Origin", &app.origin)
        .header("X-CSRF-Token", &browser.csrf);
    if let Some(key) = key {
        request = request.header("X-API-Key", key);
    }
    request = match route.body {
        Body::Empty => request,
        Body::Form(fields) => {
            let fields: Vec<(&str, String)> = fields
                .iter()
                .map(|(name, value)| (*name, fill(value, n, target)))
                .collect();
            request.form(&fields)
        }
        Body::Json(json) => request
            .header("Content-Type", "application/json")
            .body(fill(json, n, target)),
        Body::Gateway { method, uri } => request
            .header("X-Original-Method", method)
            .header("X-Original-URI", uri),
    };
    let response = request.send().await.expect("request");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    Reply {
        status: response.status().as_u16(),
        location: header("location"),
        content_type: header("content-type"),
        body: response.text().await.expect("body"),
    }
}

/// `text` with every UUID (request ids, key ids in paths) replaced by `<id>`.
fn without_ids(text: &str) -> String {
    let is_uuid = |candidate: &[u8]| {
        candidate.len() == 36
            && candidate.iter().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => *b == b'-',
                _ => b.is_ascii_hexdigit(),
            })
    };
    let (bytes, mut out, mut at) = (text.as_bytes(), String::with_capacity(text.len()), 0);
    while at < bytes.len() {
        if at + 36 <= bytes.len() && is_uuid(&bytes[at..at + 36]) {
            out.push_str("<id>");
            at += 36;
        } else {
            let next = text[at..].chars().next().expect("a character");
            out.push(next);
            at += next.len_utf8();
        }
    }
    out
}

async fn every_listed_route_answers_each_kind_of_caller_as_its_guard_says(app: TestApp) {
    let started = std::time::Instant::now();
    let routes = routes_to_call()
        .unwrap_or_else(|problems| panic!("the router and the expectations disagree:\n  {}", problems.join("\n  ")));

    // Acme and Globex, each set up for keys with a key per scope the routes
    // need, and Acme's people of every role and Globex's System Administrator.
    let mut keys: HashMap<(bool, &str), String> = HashMap::new();
    let mut orgs = Vec::new();
    for (foreign, name) in [(false, "Acme Aviation"), (true, "Globex Airways")] {
        let (org, _, _) = app.org_with_api_key(name, TestKey::default()).await;
        for (scope, scopes) in CALLER_KEYS {
            let key = TestKey {
                name: if scope.is_empty() { "Caller" } else { scope },
                scopes,
                ..TestKey::default()
            };
            let (_, secret) = app.add_api_key(&org, key).await;
            keys.insert((foreign, scope), secret);
        }
        orgs.push(org);
    }
    let (acme, globex) = (&orgs[0], &orgs[1]);
    // What no answer to Globex may show of Acme.
    let mut acme_marks: Vec<(&'static str, String)> = vec![("Acme's name", "Acme Aviation".to_owned())];
    for ((foreign, _), secret) in &keys {
        if !foreign {
            acme_marks.push(("the key id of one of Acme's keys", secret[..16].to_owned()));
        }
    }
    for caller in CALLERS {
        if let Some((role, email)) = caller.user() {
            let org = if caller.is_foreign() { globex } else { acme };
            app.create_user(org, role, email).await;
        }
    }
    let mut browsers = HashMap::new();
    for caller in CALLERS {
        browsers.insert(caller, open_browser(&app, caller).await);
    }

    let mut wrong = Vec::new();
    // Answers to Acme's own callers that show Acme's marks: the leak check
    // looks for something that is there to be seen.
    let mut marks_seen_at_home = 0;
    let mut n = 0;
    for route in &routes {
        for caller in CALLERS {
            n += 1;
            // A fresh key of Acme for every cell that acts on one, so that no
            // cell depends on what another did to it.
            let needs_target =
                route.path.contains("{id}") || matches!(route.body, Body::Json(json) if json.contains("{secret}"));
            let target = if needs_target {
                // A test key's name is 'static; one small string per cell.
                let name: &'static str = Box::leak(format!("Target {n}").into_boxed_str());
                let (id, secret) = app
                    .add_api_key(
                        acme,
                        TestKey {
                            name,
                            scopes: &["read:flights"],
                            ..TestKey::default()
                        },
                    )
                    .await;
                Some(Target {
                    id,
                    secret,
                    name: name.to_owned(),
                })
            } else {
                None
            };
            let key = match (route.access, caller) {
                (Access::Key(scope), Caller::KeyWithTheScope) => keys.get(&(false, scope)),
                (Access::Key(scope), Caller::ForeignKey) => keys.get(&(true, scope)),
                (Access::Key(_), Caller::KeyWithoutTheScope) => keys.get(&(false, "")),
                // A key sent to a browser route opens nothing.
                (_, Caller::KeyWithTheScope | Caller::KeyWithoutTheScope) => keys.get(&(false, "admin:api-keys")),
                (_, Caller::ForeignKey) => keys.get(&(true, "admin:api-keys")),
                _ => None,
            };
            let path = match &target {
                Some(target) => route.path.replace("{id}", &target.id),
                None => route.path.to_owned(),
            };
            let browser = &browsers[&caller];
            let reply = call(&app, route, browser, key.map(String::as_str), &path, n, target.as_ref()).await;
            let Reply {
                status,
                location,
                content_type,
                body,
            } = &reply;
            let answer = expected(route, caller);
            let mut problems: Vec<String> = judge(answer, *status, location, content_type, body)
                .into_iter()
                .collect();
            if !caller.is_foreign() && !leaks(body, &acme_marks).is_empty() {
                marks_seen_at_home += 1;
            }
            if caller.is_foreign() {
                let mut marks = acme_marks.clone();
                if let Some(target) = &target {
                    marks.extend([
                        ("the target key's id", target.id.clone()),
                        ("the target key's key id", target.secret[..16].to_owned()),
                        ("the target key's name", target.name.clone()),
                    ]);
                }
                let leaked = leaks(body, &marks);
                if !leaked.is_empty() {
                    problems.push(format!("the answer shows {}", leaked.join(", ")));
                }
                // Nor may it tell an existing key of Acme from no key at all.
                if route.path.contains("{id}") {
                    let unknown = route.path.replace("{id}", &uuid::Uuid::now_v7().to_string());
                    let twin = call(
                        &app,
                        route,
                        browser,
                        key.map(String::as_str),
                        &unknown,
                        n,
                        target.as_ref(),
                    )
                    .await;
                    if twin.status != *status || without_ids(&twin.body) != without_ids(body) {
                        problems.push(format!(
                            "the answer differs from the one for an id that does not exist ({})",
                            twin.status
                        ));
                    }
                }
            }
            if !problems.is_empty() {
                wrong.push(format!(
                    "{} {} as {}: {}",
                    route.method,
                    route.path,
                    caller.label(),
                    problems.join("; ")
                ));
            }
            if route.signs_out {
                browsers.insert(caller, open_browser(&app, caller).await);
            }
        }
    }

    let cells = routes.len() * CALLERS.len();
    println!(
        "authorization matrix: {} routes × {} callers = {cells} cells ({:.1} s)",
        routes.len(),
        CALLERS.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        marks_seen_at_home > 0,
        "Acme's callers never saw Acme's name or key ids"
    );
    assert!(
        wrong.is_empty(),
        "{} of {cells} cells of the authorization matrix are wrong:\n  {}",
        wrong.len(),
        wrong.join("\n  ")
    );
}
