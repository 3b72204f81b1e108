use keyward::domain::role::Role;

use crate::on_both_backends;
use crate::support::{PASSWORD, TestApp, TestKey, csrf_token_in};

on_both_backends!(
    a_form_without_its_csrf_token_is_refused,
    a_wrong_csrf_token_is_refused,
    a_csrf_token_from_another_session_is_refused,
    a_form_from_another_origin_is_refused,
    a_form_without_an_origin_is_refused,
    htmx_requests_may_send_the_token_as_a_header,
    a_token_planted_with_its_cookie_in_another_session_is_refused
);

async fn a_form_without_its_csrf_token_is_refused(app: TestApp) {
    let org = app.create_org("Acme Aviation").await;
    app.create_user(&org, Role::Member, "max@acme.test").await;
    app.csrf_token(&app.client, "/login").await;
    let response = app
        .post_form(
            &app.client,
            "/login",
            &[("email", "max@acme.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status().as_u16(), 403);
    let body = response.text().await.expect("body");
    assert!(body.contains("Reload the page and try again"), "{body}");
    assert!(body.contains("Request id:"), "{body}");
}

async fn a_wrong_csrf_token_is_refused(app: TestApp) {
    app.csrf_token(&app.client, "/login").await;
    let response = app
        .post_form(
            &app.client,
            "/login",
            &[("csrf_token", "forged"), ("email", "a@b.c"), ("password", "x")],
        )
        .await;
    assert_eq!(response.status().as_u16(), 403);
}

async fn a_csrf_token_from_another_session_is_refused(app: TestApp) {
    let (_, _) = app.signed_in_as(Role::Member).await;
    let stolen = app.csrf_token(&app.client, "/backoffice").await;
    let other = app.new_client();
    app.csrf_token(&other, "/login").await;
    let response = app
        .post_form(
            &other,
            "/login",
            &[
                ("csrf_token", &stolen),
                ("email", "member@acme.test"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 403);

    // The token issued before signing in is replaced at sign-in.
    let fresh = app.new_client();
    let before = app.csrf_token(&fresh, "/login").await;
    let signed_in = app.sign_in_with(&fresh, "member@acme.test", PASSWORD).await;
    assert_eq!(signed_in.status().as_u16(), 303);
    let logout = app.post_form(&fresh, "/logout", &[("csrf_token", &before)]).await;
    assert_eq!(
        logout.status().as_u16(),
        403,
        "the pre-sign-in token must not survive sign-in"
    );
}

async fn a_form_from_another_origin_is_refused(app: TestApp) {
    let token = app.csrf_token(&app.client, "/login").await;
    let response = app
        .client
        .post(app.url("/login"))
        .header("Origin", "https://evil.example")
        .form(&[("csrf_token", token.as_str()), ("email", "a@b.c"), ("password", "x")])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 403);
    assert!(response.text().await.expect("body").contains("sent from another site"));
}

async fn a_form_without_an_origin_is_refused(app: TestApp) {
    let token = app.csrf_token(&app.client, "/login").await;
    let response = app
        .client
        .post(app.url("/login"))
        .form(&[("csrf_token", token.as_str()), ("email", "a@b.c"), ("password", "x")])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 403);
}

async fn htmx_requests_may_send_the_token_as_a_header(app: TestApp) {
    app.signed_in_as(Role::Member).await;
    let token = app.csrf_token(&app.client, "/backoffice").await;
    let response = app
        .client
        .post(app.url("/logout"))
        .header("Origin", &app.address)
        .header("X-CSRF-Token", &token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 303);
}

/// A browser whose cookies the test holds, so they can be planted in another.
struct Browser {
    session: String,
    csrf_cookie: String,
    token: String,
}

fn bare_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .cookies()
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// Signs `email` in with cookies kept by hand; returns them and the token of
/// the signed-in page.
async fn signed_in_browser(app: &TestApp, email: &str) -> Browser {
    let client = bare_client();
    let login = client.get(app.url("/login")).send().await.expect("request");
    let csrf_cookie = cookie(&login, "keyward_csrf").expect("csrf cookie");
    let token = csrf_token_in(&login.text().await.expect("body")).expect("token");
    let signed_in = client
        .post(app.url("/login"))
        .header("Origin", &app.address)
        .header("Cookie", format!("keyward_csrf={csrf_cookie}"))
        .form(&[("csrf_token", token.as_str()), ("email", email), ("password", PASSWORD)])
        .send()
        .await
        .expect("request");
    assert_eq!(signed_in.status().as_u16(), 303);
    let session = cookie(&signed_in, "keyward_session").expect("session cookie");
    let csrf_cookie = cookie(&signed_in, "keyward_csrf").unwrap_or(csrf_cookie);
    let page = client
        .get(app.url("/backoffice"))
        .header(
            "Cookie",
            format!("keyward_session={session}; keyward_csrf={csrf_cookie}"),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(page.status().as_u16(), 200);
    let token = csrf_token_in(&page.text().await.expect("body")).expect("token");
    Browser {
        session,
        csrf_cookie,
        token,
    }
}

async fn sign_out_with(app: &TestApp, session: &str, csrf_cookie: &str, token: &str) -> u16 {
    bare_client()
        .post(app.url("/logout"))
        .header("Origin", &app.address)
        .header(
            "Cookie",
            format!("keyward_session={session}; keyward_csrf={csrf_cookie}"),
        )
        .form(&[("csrf_token", token)])
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

async fn a_token_planted_with_its_cookie_in_another_session_is_refused(app: TestApp) {
    let org = app.create_org("Acme Aviation").await;
    app.create_user(&org, Role::Member, "mallory@acme.test").await;
    app.create_user(&org, Role::Member, "max@acme.test").await;
    let attacker = signed_in_browser(&app, "mallory@acme.test").await;
    let victim = signed_in_browser(&app, "max@acme.test").await;
    // A sibling subdomain can set the CSRF cookie (cookie tossing); the pair
    // it plants must not work in the victim's session.
    let planted = sign_out_with(&app, &victim.session, &attacker.csrf_cookie, &attacker.token).await;
    assert_eq!(planted, 403, "a token is good only for its own session");
    let own = sign_out_with(&app, &victim.session, &victim.csrf_cookie, &victim.token).await;
    assert_eq!(own, 303);
}

pub fn with_public_url(settings: &mut keyward::config::Settings) {
    settings.public_url = Some("https://keys.example".parse().expect("a valid public URL"));
}

on_both_backends!(adjusting with_public_url; with_a_public_url_only_its_scheme_host_and_port_pass);

async fn sign_in_from_origin(app: &TestApp, origin: &str) -> u16 {
    let client = app.new_client();
    let token = app.csrf_token(&client, "/login").await;
    client
        .post(app.url("/login"))
        .header("Origin", origin)
        .form(&[("csrf_token", token.as_str()), ("email", "a@b.c"), ("password", "x")])
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

async fn with_a_public_url_only_its_scheme_host_and_port_pass(app: TestApp) {
    // 401 is the wrong password: the form itself was accepted.
    assert_eq!(sign_in_from_origin(&app, "https://keys.example").await, 401);
    assert_eq!(sign_in_from_origin(&app, "https://keys.example:443").await, 401);
    for refused in [
        "http://keys.example",
        "https://keys.example:8443",
        "https://evil.example",
        "null",
        app.address.as_str(),
    ] {
        assert_eq!(sign_in_from_origin(&app, refused).await, 403, "{refused}");
    }
}

on_both_backends!(adjusting with_public_url; every_state_changing_browser_route_refuses_forged_requests);

/// One way a request can fail to be our own page's, and the words of the
/// refusal it must get.
struct Forgery {
    what: &'static str,
    /// The `Origin` sent (`None`: no `Origin` and no `Referer`).
    origin: Option<&'static str>,
    token: ForgedToken,
    refusal: &'static str,
}

enum ForgedToken {
    /// The session's own token.
    Own,
    /// No token at all.
    Missing,
    /// The token of another browser's session.
    OtherSession,
}

const NOT_THIS_SESSION: &str = "was not sent from this browser session";
const ANOTHER_SITE: &str = "This form was sent from another site";

const FORGERIES: [Forgery; 5] = [
    Forgery {
        what: "no CSRF token",
        origin: Some("https://keys.example"),
        token: ForgedToken::Missing,
        refusal: NOT_THIS_SESSION,
    },
    Forgery {
        what: "another session's CSRF token",
        origin: Some("https://keys.example"),
        token: ForgedToken::OtherSession,
        refusal: NOT_THIS_SESSION,
    },
    Forgery {
        what: "a foreign Origin",
        origin: Some("https://evil.example"),
        token: ForgedToken::Own,
        refusal: ANOTHER_SITE,
    },
    Forgery {
        what: "the public host's Origin with the wrong scheme",
        origin: Some("http://keys.example"),
        token: ForgedToken::Own,
        refusal: ANOTHER_SITE,
    },
    Forgery {
        what: "no Origin",
        origin: None,
        token: ForgedToken::Own,
        refusal: "did not say which site sent it",
    },
];

/// A browser of `email` (signed in) or of nobody, and its session's token.
async fn browser_of(app: &TestApp, email: Option<&str>) -> (reqwest::Client, String) {
    let client = app.new_client();
    let page = match email {
        Some(email) => {
            let signed_in = app.sign_in_with(&client, email, PASSWORD).await;
            assert_eq!(signed_in.status().as_u16(), 303, "{email} signs in");
            "/backoffice"
        }
        None => "/login",
    };
    let token = app.csrf_token(&client, page).await;
    (client, token)
}

async fn audit_events(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use keyward::store::schema::audit_events;
    app.query(|conn| Ok(audit_events::table.count().get_result(conn)?))
        .await
}

/// Every state-changing browser route the router lists, for a System
/// Administrator (whom every guard lets through) and for a signed-out
/// visitor: each forgery is refused by the CSRF check with its own words and
/// changes nothing (no audit event), while the same request with the
/// session's token from the public URL's origin is not refused by it.
async fn every_state_changing_browser_route_refuses_forged_requests(app: TestApp) {
    let started = std::time::Instant::now();
    let (org, _, _) = app.org_with_api_key("Acme Aviation", TestKey::default()).await;
    app.create_user(&org, Role::SystemAdministrator, "sam@acme.test").await;
    app.create_user(&org, Role::SystemAdministrator, "sue@acme.test").await;
    let routes: Vec<(String, String)> = keyward::web::route_listing()
        .into_iter()
        .filter_map(|(_, route)| {
            let method = route.method.expect("browser routes name their method").to_string();
            (!matches!(method.as_str(), "GET" | "HEAD")).then_some((method, route.path))
        })
        .collect();
    assert!(routes.len() >= 11, "{routes:?}");

    let mut wrong = Vec::new();
    let mut cases = 0;
    for (method, listed_path) in &routes {
        for who in [Some("sam@acme.test"), None] {
            let (client, own) = browser_of(&app, who).await;
            let (_, other) = browser_of(&app, who.map(|_| "sue@acme.test")).await;
            // A real key, so that the request that passes reaches the handler.
            let name: &'static str = Box::leak(format!("Forgery target {cases}").into_boxed_str());
            let (id, _) = app
                .add_api_key(
                    &org,
                    TestKey {
                        name,
                        ..TestKey::default()
                    },
                )
                .await;
            let path = listed_path.replace("{id}", &id);
            let send = |origin: Option<&str>, token: Option<&str>| {
                let mut request = client.request(method.parse().expect("a method"), app.url(&path));
                if let Some(origin) = origin {
                    request = request.header("Origin", origin);
                }
                let mut form = vec![("name", "Forged"), ("grace", "now")];
                if let Some(token) = token {
                    form.push(("csrf_token", token));
                }
                request.form(&form).send()
            };
            let label = format!("{method} {listed_path} ({})", who.map_or("signed out", |_| "signed in"));
            let before = audit_events(&app).await;
            for forgery in &FORGERIES {
                cases += 1;
                let token = match forgery.token {
                    ForgedToken::Own => Some(own.as_str()),
                    ForgedToken::Missing => None,
                    ForgedToken::OtherSession => Some(other.as_str()),
                };
                let response = send(forgery.origin, token).await.expect("request");
                let status = response.status().as_u16();
                let body = response.text().await.expect("body");
                if status != 403 || !body.contains(forgery.refusal) {
                    wrong.push(format!(
                        "{label} with {}: got {status}, not the CSRF refusal",
                        forgery.what
                    ));
                }
            }
            if audit_events(&app).await != before {
                wrong.push(format!(
                    "{label}: a refused request changed something (an audit event was written)"
                ));
            }
            let response = send(Some("https://keys.example"), Some(&own)).await.expect("request");
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body = response.text().await.expect("body");
            let to_sign_in = status == 303 && location.starts_with("/login?next=");
            let refused = status == 403 && FORGERIES.iter().any(|f| body.contains(f.refusal));
            if refused || (who.is_some() && to_sign_in) {
                wrong.push(format!(
                    "{label}: the browser's own request was refused too ({status} {location})"
                ));
            }
        }
    }
    println!(
        "CSRF: {} state-changing routes × 2 sessions × {} forgeries = {cases} refusals ({:.1} s)",
        routes.len(),
        FORGERIES.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        wrong.is_empty(),
        "{} CSRF cases are wrong:\n  {}",
        wrong.len(),
        wrong.join("\n  ")
    );
}
