//! A new key, over HTTP as a browser without JavaScript sees it: least
//! privilege by default, the form's own buttons (quick picks, "Any address",
//! a suggested network, "Add scope", "Remove scope N") that change the form
//! and save nothing, the summary of a refused form, the one-time secret with
//! its usage example, and forms sent twice that make nothing new.

use diesel::prelude::*;
use keyward::store::schema::{api_keys, key_secrets};

use crate::csrf::with_public_url;
use crate::key_forms::{key_count, ready, submit};
use crate::on_both_backends;
use crate::support::{TestApp, secret_in};

const BASE: &str = "/backoffice/settings/api-keys";

on_both_backends!(
    a_new_key_form_starts_with_no_scope_no_network_and_ninety_days,
    the_forms_own_buttons_work_without_javascript_and_save_nothing,
    a_refused_form_sums_up_each_problem_as_a_link_to_its_field,
    sending_the_create_or_rotate_form_again_makes_nothing_new
);
on_both_backends!(adjusting with_public_url; the_secret_comes_with_a_usage_example_and_a_rotation_says_until_when_the_old_one_works);

/// The date `days` from now, as the expiry field shows it.
fn in_days(days: i64) -> String {
    (chrono::Utc::now() + chrono::TimeDelta::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// The value of the form's `name` field in `html` (an input's `value`, a
/// textarea's text).
fn field_value(html: &str, name: &str) -> String {
    let start = html
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no {name} field"));
    let rest = &html[start..];
    let tag_end = rest.find('>').expect("the tag ends");
    if let Some(value) = rest[..tag_end].find("value=\"") {
        let value = &rest[value + 7..];
        return value[..value.find('"').expect("closed")].to_owned();
    }
    let text = &rest[tag_end + 1..];
    text[..text.find("</textarea>").expect("a textarea")].to_owned()
}

/// Whether the element carrying `marker` (an attribute) has `hidden`.
fn is_hidden(html: &str, marker: &str) -> bool {
    let start = html.find(marker).unwrap_or_else(|| panic!("no {marker}"));
    let tag_end = html[start..].find('>').expect("the tag ends") + start;
    html[start..tag_end].contains(" hidden")
}

async fn a_new_key_form_starts_with_no_scope_no_network_and_ninety_days(app: TestApp) {
    ready(&app).await;
    let form = app
        .client
        .get(app.url(&format!("{BASE}/new")))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    assert!(form.contains("name=\"scope_mode\" value=\"full\""));
    assert!(!form.contains(" checked"), "no scope chosen, nothing ticked: {form}");
    assert_eq!(field_value(&form, "networks"), "", "no network chosen");
    assert!(form.contains(">Any address</button>"), "one click away");
    assert_eq!(field_value(&form, "expires_at"), in_days(90));
    assert!(form.contains("aria-pressed=\"true\">90 days</button>"), "{form}");
    assert!(form.contains("aria-pressed=\"false\">Never</button>"));
    assert!(is_hidden(&form, "data-wildcard-warning"), "nothing to warn about yet");
    assert!(is_hidden(&form, "data-query-warning"));
    assert_eq!(field_value(&form, "form_token").len(), 32);

    // Submitted as it came, it is refused beside the scopes and the networks.
    let (status, body) = submit(&app, None, &[("name", "Flight sync"), ("expires_at", &in_days(90))]).await;
    assert_eq!(status, 422);
    assert!(body.contains("Choose what the key may do"), "{body}");
    assert!(
        body.contains("or choose “Any address” to allow every address"),
        "{body}"
    );
    assert_eq!(key_count(&app).await, 0);
}

async fn the_forms_own_buttons_work_without_javascript_and_save_nothing(app: TestApp) {
    ready(&app).await;
    let typed = [
        ("name", "Flight sync"),
        ("expires_at", "2099-01-01"),
        ("scope_mode", "custom"),
        ("scope_action", "read"),
        ("scope_resource", "assets"),
        ("networks", "10.1.2.3/8\n192.168.0.0/16"),
        ("allow_query_key", "on"),
    ];
    let with = |adjust: &'static str| {
        let mut fields = typed.to_vec();
        fields.push(("adjust", adjust));
        fields
    };
    for (adjust, expires) in [
        ("expiry:30", in_days(30)),
        ("expiry:365", in_days(365)),
        ("expiry:never", String::new()),
    ] {
        let (status, body) = submit(&app, None, &with(adjust)).await;
        assert_eq!(status, 200, "{adjust}");
        assert_eq!(field_value(&body, "expires_at"), expires, "{adjust}");
        assert_eq!(field_value(&body, "name"), "Flight sync", "the rest is kept");
        assert!(!body.contains("field-error"), "no messages: nothing was judged");
        assert!(!is_hidden(&body, "data-query-warning"), "it applies: the box is ticked");
    }
    let (_, any) = submit(&app, None, &with("networks:any")).await;
    assert_eq!(field_value(&any, "networks"), "0.0.0.0/0\n::/0");
    assert!(!is_hidden(&any, "data-wildcard-warning"), "now it applies");
    let (_, fixed) = submit(&app, None, &with("networks:fix")).await;
    assert_eq!(field_value(&fixed, "networks"), "10.0.0.0/8\n192.168.0.0/16");
    let (_, added) = submit(&app, None, &with("scope:add")).await;
    assert!(added.contains("aria-label=\"Remove scope 2\""), "{added}");
    assert!(added.contains("value=\"assets\""), "the first row is kept");
    let (_, removed) = submit(&app, None, &with("scope:remove:1")).await;
    assert!(!removed.contains("value=\"assets\""), "the row is gone");
    assert!(removed.contains("aria-label=\"Remove scope 1\""), "one blank row stays");
    assert_eq!(key_count(&app).await, 0, "no button but Create saves");

    // The edit form's buttons change the form, not the key.
    let (status, _) = submit(
        &app,
        None,
        &[
            ("name", "Flight sync"),
            ("scope_mode", "full"),
            ("networks", "10.0.0.0/8"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let id: String = app
        .query(|conn| Ok(api_keys::table.select(api_keys::id).first(conn)?))
        .await;
    let (status, body) = submit(
        &app,
        Some(&id),
        &[
            ("name", "Renamed"),
            ("scope_mode", "full"),
            ("networks", "10.0.0.0/8"),
            ("adjust", "expiry:never"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Edit API key") && body.contains(">Save</button>"));
    let name: String = app
        .query(move |conn| Ok(api_keys::table.find(id).select(api_keys::name).first(conn)?))
        .await;
    assert_eq!(name, "Flight sync", "nothing saved");
}

async fn a_refused_form_sums_up_each_problem_as_a_link_to_its_field(app: TestApp) {
    ready(&app).await;
    let (status, body) = submit(&app, None, &[("networks", "10.1.2.3/8")]).await;
    assert_eq!(status, 422);
    let summary_start = body.find("id=\"key-form-problems\"").expect("a summary");
    let summary = &body[summary_start..summary_start + body[summary_start..].find("</div>").expect("closed")];
    assert!(summary.contains("tabindex=\"-1\""), "focus can move to it");
    assert!(summary.contains("There are 3 problems with this key"), "{summary}");
    for (href, field) in [
        ("#key-name", "Name: Enter a name"),
        ("#key-scopes", "Scopes: Choose what the key may do"),
        (
            "#key-networks",
            "Allowed networks: &#34;10.1.2.3/8&#34; has host bits set",
        ),
    ] {
        assert!(
            summary.contains(&format!("<a href=\"{href}\" data-error-link>{field}")),
            "{href}: {summary}"
        );
    }
    // Each message also stays beside its field, which the link's target is.
    for id in ["key-name-error", "key-scopes-error", "key-networks-error"] {
        assert!(body.contains(&format!("id=\"{id}\"")), "{id}");
    }
    for id in ["key-name", "key-scopes", "key-networks"] {
        assert!(body.contains(&format!("id=\"{id}\"")), "{id}");
    }
    // The network meant, one click away.
    assert!(
        body.contains("value=\"networks:fix\"") && body.contains(">Use 10.0.0.0/8</button>"),
        "{body}"
    );
    assert!(body.contains("data-network-fix=\"10.1.2.3/8\" data-network-meant=\"10.0.0.0/8\""));
}

async fn key_secret_count(app: &TestApp) -> i64 {
    app.query(|conn| Ok(key_secrets::table.count().get_result(conn)?)).await
}

async fn sending_the_create_or_rotate_form_again_makes_nothing_new(app: TestApp) {
    ready(&app).await;
    let form = app
        .client
        .get(app.url(&format!("{BASE}/new")))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    let token = field_value(&form, "form_token");
    let fields = [
        ("name", "Flight sync"),
        ("scope_mode", "read"),
        ("networks", "10.0.0.0/8"),
        ("form_token", token.as_str()),
    ];
    let (status, first) = submit(&app, None, &fields).await;
    assert_eq!(status, 200);
    let secret = secret_in(&first);

    // The reload: the same form again.
    let (status, again) = submit(&app, None, &fields).await;
    assert_eq!(status, 200, "{again}");
    assert!(again.contains("API key already created"), "{again}");
    assert!(again.contains("cannot be shown again") && again.contains("rotate the key"));
    assert!(!again.contains("id=\"new-secret\"") && !again.contains(&secret[16..]));
    assert_eq!(key_count(&app).await, 1);

    // A new form (a new token) is a new request: the name is then taken.
    let (status, body) = submit(&app, None, &fields[..3]).await;
    assert_eq!(status, 422);
    assert!(body.contains("already exists"));

    // Two at once with one token: one key, one secret shown.
    let form = app
        .client
        .get(app.url(&format!("{BASE}/new")))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    let token = field_value(&form, "form_token");
    let twice = [
        ("name", "Crew roster"),
        ("scope_mode", "read"),
        ("networks", "10.0.0.0/8"),
        ("form_token", token.as_str()),
    ];
    let (a, b) = tokio::join!(submit(&app, None, &twice), submit(&app, None, &twice));
    let shown = [&a.1, &b.1]
        .iter()
        .filter(|body| body.contains("id=\"new-secret\""))
        .count();
    assert_eq!((a.0, b.0, shown), (200, 200, 1), "{} / {}", a.1, b.1);
    assert_eq!(key_count(&app).await, 2);

    // Rotating: sent again, the secret just shown stays the newest.
    let id: String = app
        .query(|conn| {
            Ok(api_keys::table
                .filter(api_keys::name.eq("Flight sync"))
                .select(api_keys::id)
                .first(conn)?)
        })
        .await;
    let rotate = format!("{BASE}/{id}/rotate");
    let dialog = app
        .client
        .get(app.url(&rotate))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    let token = field_value(&dialog, "form_token");
    let csrf = app.csrf_token(&app.client, BASE).await;
    let form = [
        ("csrf_token", csrf.as_str()),
        ("grace", "1h"),
        ("form_token", token.as_str()),
    ];
    let rotated = app.post_form(&app.client, &rotate, &form).await;
    assert_eq!(rotated.status().as_u16(), 200);
    let new_secret = secret_in(&rotated.text().await.expect("body"));
    let before = key_secret_count(&app).await;
    let again = app.post_form(&app.client, &rotate, &form).await;
    let again = again.text().await.expect("body");
    assert!(again.contains("API key already rotated"), "{again}");
    assert!(!again.contains(&new_secret[16..]));
    assert_eq!(key_secret_count(&app).await, before, "no third secret");
    let check = app.get_with_key("/api/v1/me", &new_secret).await;
    assert_eq!(
        check.status().as_u16(),
        403,
        "the new secret is the key's (refused only by its network)"
    );
}

async fn the_secret_comes_with_a_usage_example_and_a_rotation_says_until_when_the_old_one_works(app: TestApp) {
    ready(&app).await;
    let (status, body) = submit(
        &app,
        None,
        &[
            ("name", "Flight sync"),
            ("scope_mode", "full"),
            ("networks", "0.0.0.0/0\n::/0"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let secret = secret_in(&body);
    let example = &body[body.find("id=\"usage-example\"").expect("a usage example")..];
    let example = &example[..example.find("</textarea>").expect("closed")];
    assert!(
        example.contains("curl -H ") && example.contains(&format!("X-API-Key: {secret}")),
        "{example}"
    );
    assert!(
        example.ends_with(" https://keys.example/api/v1/me"),
        "the public URL's origin: {example}"
    );
    assert!(body.contains("aria-label=\"Copy usage example\""));
    assert!(!body.contains("previous secret"), "nothing was rotated");
    let me = app.get_with_key("/api/v1/me", &secret).await;
    assert_eq!(me.status().as_u16(), 200, "the example's request works");

    let id: String = app
        .query(|conn| Ok(api_keys::table.select(api_keys::id).first(conn)?))
        .await;
    let csrf = app.csrf_token(&app.client, BASE).await;
    let rotate = format!("{BASE}/{id}/rotate");
    let before = keyward::store::now();
    let rotated = app
        .post_form(&app.client, &rotate, &[("csrf_token", &csrf), ("grace", "1h")])
        .await
        .text()
        .await
        .expect("body");
    let until = [before, keyward::store::now()].map(|t| {
        (t + chrono::TimeDelta::hours(1))
            .format("%Y-%m-%d %H:%M UTC")
            .to_string()
    });
    assert!(
        until.iter().any(|at| rotated.contains(&format!(
            "The previous secret keeps working until <strong>{at}</strong>"
        ))),
        "{until:?}: {rotated}"
    );
    let now = app
        .post_form(&app.client, &rotate, &[("csrf_token", &csrf), ("grace", "now")])
        .await
        .text()
        .await
        .expect("body");
    assert!(now.contains("The previous secret stopped working at"), "{now}");
}
