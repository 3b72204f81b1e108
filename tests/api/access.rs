//! Who reaches what: every guarded route × {signed out, member,
//! administrator, system administrator}, and organizations stay apart.

use diesel::prelude::*;
use keyward::domain::role::Role;
use keyward::store::schema::audit_events;

use crate::on_both_backends;
use crate::support::TestApp;

on_both_backends!(
    signed_out_visitors_are_sent_to_sign_in,
    a_key_in_the_address_of_a_signed_out_visitor_does_not_travel_on_to_sign_in,
    htmx_requests_from_signed_out_visitors_get_hx_redirect,
    only_system_administrators_reach_the_api_keys_page,
    a_refused_visit_is_audited,
    users_see_only_their_own_organization
);

/// Every route under the System Administrator guard, with its method, read
/// from the table the page's scope is registered from.
fn guarded() -> Vec<(String, String)> {
    keyward::web::api_keys::route_table()
        .listing(keyward::web::api_keys::BASE)
        .into_iter()
        .map(|route| {
            let method = route.method.expect("every page route names its method");
            (method.to_string(), route.path.replace("{id}", "some-id"))
        })
        .collect()
}

async fn signed_out_visitors_are_sent_to_sign_in(app: TestApp) {
    for path in ["/backoffice", "/backoffice/settings/api-keys"] {
        let response = app.client.get(app.url(path)).send().await.expect("request");
        assert_eq!(response.status().as_u16(), 303, "{path}");
        assert_eq!(response.headers()["location"], format!("/login?next={path}").as_str());
    }
}

async fn a_key_in_the_address_of_a_signed_out_visitor_does_not_travel_on_to_sign_in(app: TestApp) {
    let key = keyward::domain::token::ApiKeyToken::generate();
    for query in [
        format!("q={}", key.expose()),
        format!("q={}", key.expose().replacen("ask_", "ask%5F", 1)),
    ] {
        let response = app
            .client
            .get(app.url(&format!("/backoffice/settings/api-keys?{query}&status=all")))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 303);
        assert_eq!(
            response.headers()["location"],
            "/login?next=/backoffice/settings/api-keys",
            "{query}"
        );
    }
}

async fn htmx_requests_from_signed_out_visitors_get_hx_redirect(app: TestApp) {
    let response = app
        .client
        .get(app.url("/backoffice/settings/api-keys?q=x"))
        .header("HX-Request", "true")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["hx-redirect"],
        "/login?next=/backoffice/settings/api-keys%3Fq%3Dx"
    );
}

async fn only_system_administrators_reach_the_api_keys_page(app: TestApp) {
    let org = app.create_org("Acme Aviation").await;
    for (role, expected) in [
        (Role::Member, 403),
        (Role::Administrator, 403),
        (Role::SystemAdministrator, 200),
    ] {
        let email = format!("{}@acme.test", role.as_str());
        app.create_user(&org, role, &email).await;
        let client = app.new_client();
        let signed_in = app.sign_in_with(&client, &email, crate::support::PASSWORD).await;
        assert_eq!(signed_in.status().as_u16(), 303);
        let routes = guarded();
        assert!(routes.len() >= 19, "{routes:?}");
        for (method, path) in &routes {
            let request = match method.as_str() {
                "GET" => client.get(app.url(path)),
                _ => {
                    let csrf = app.csrf_token(&client, "/backoffice").await;
                    client
                        .post(app.url(path))
                        .header("Origin", &app.address)
                        .header("X-CSRF-Token", csrf)
                }
            };
            let response = request.send().await.expect("request");
            let status = response.status().as_u16();
            let to_login = response
                .headers()
                .get("location")
                .is_some_and(|l| l.to_str().unwrap_or("").starts_with("/login"));
            let body = response.text().await.expect("body");
            if expected == 403 {
                assert_eq!(status, 403, "{role:?} {method} {path}");
                assert!(body.contains("only for System Administrators"), "{body}");
                assert!(body.contains(role.label()), "the page says which role the user has");
            } else {
                assert!(status != 403 && !to_login, "{role:?} {method} {path}: {status}");
            }
        }
        // Everyone signed in reaches the backoffice home.
        let home = client.get(app.url("/backoffice")).send().await.expect("request");
        assert_eq!(home.status().as_u16(), 200);
    }
}

async fn a_refused_visit_is_audited(app: TestApp) {
    let (org, email) = app.signed_in_as(Role::Member).await;
    let response = app
        .client
        .get(app.url("/backoffice/settings/api-keys"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 403);
    let org_id = org.id.clone();
    let events: Vec<(String, String, String)> = app
        .query(move |conn| {
            Ok(audit_events::table
                .filter(audit_events::org_id.eq(org_id))
                .filter(audit_events::action.eq("access_denied"))
                .select((
                    audit_events::actor_label,
                    audit_events::details,
                    audit_events::client_ip.assume_not_null(),
                ))
                .load(conn)?)
        })
        .await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, email);
    assert!(events[0].1.contains("/backoffice/settings/api-keys"));
    assert_eq!(events[0].2, "127.0.0.1");
}

async fn users_see_only_their_own_organization(app: TestApp) {
    let acme = app.create_org("Acme Aviation").await;
    let globex = app.create_org("Globex Airways").await;
    app.create_user(&acme, Role::SystemAdministrator, "sam@acme.test").await;
    app.create_user(&globex, Role::SystemAdministrator, "gil@globex.test")
        .await;
    app.sign_in("gil@globex.test").await;
    for path in ["/backoffice", "/backoffice/settings/api-keys"] {
        let body = app
            .client
            .get(app.url(path))
            .send()
            .await
            .expect("request")
            .text()
            .await
            .expect("body");
        assert!(body.contains("Globex Airways"), "{path}");
        assert!(!body.contains("Acme Aviation"), "{path} shows another organization");
    }
}
