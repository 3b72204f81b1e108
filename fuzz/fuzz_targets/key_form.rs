//! The key create and edit forms: the body bytes decoded as the `HtmlForm`
//! extractor decodes them (`web::forms::decode`), then `key_form::parse`.
//!
//! - decoding and parsing never panic, nor does showing the form again;
//! - a refused form has a message beside at least one field;
//! - an accepted form gives the trimmed name, the expiry typed, the scopes
//!   of the scope choice and the networks of the network list: nothing
//!   added, nothing dropped;
//! - the edit form of the key it made, submitted as a browser submits it
//!   (unchanged), gives that key again: the same name, the same expiry to
//!   the instant, the same scopes and networks.

#![no_main]

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use keyward::domain::api_key::Expiry;
use keyward::domain::network::NetworkList;
use keyward::domain::permissions::Catalogue;
use keyward::domain::scope::{Action, ScopeChoice};
use keyward::service::keys::KeyDetail;
use keyward::store::api_keys::ApiKey;
use keyward::web::api_keys::key_form::{self, KeyForm, KeyFormView, ParsedKeyForm};
use keyward::web::forms;
use libfuzzer_sys::fuzz_target;

/// The fields a browser sends for the edit form `view`, in document order
/// (`templates/api_keys/key_form.html`).
fn submitted(view: &KeyFormView, catalogue: &Catalogue) -> String {
    let mut body = form_urlencoded::Serializer::new(String::new());
    body.append_pair("csrf_token", "t");
    body.append_pair("name", &view.name);
    body.append_pair("expires_at", &view.expires_at);
    if ["full", "read", "custom"].contains(&view.scope_mode.as_str()) {
        body.append_pair("scope_mode", &view.scope_mode);
    }
    for row in &view.rows {
        // a select sends its selected option, "—" (blank) when none matches
        let selected = Action::ALL.iter().find(|a| a.as_str() == row.action);
        body.append_pair("scope_action", selected.map_or("", |a| a.as_str()));
        body.append_pair("scope_resource", &row.resource);
    }
    for permission in catalogue.groups.iter().flat_map(|g| &g.permissions) {
        if view.permissions.contains(&permission.value()) {
            body.append_pair("permission", &permission.value());
        }
    }
    // a textarea's line breaks are sent as CR LF
    body.append_pair("networks", &view.networks.replace('\n', "\r\n"));
    body.finish()
}

fn detail_of(parsed: &ParsedKeyForm, allow_query_key: bool) -> KeyDetail {
    let now = Utc::now().naive_utc();
    KeyDetail {
        key: ApiKey {
            id: "key-1".to_owned(),
            org_id: "org-1".to_owned(),
            name: parsed.name.as_str().to_owned(),
            enabled: true,
            allow_query_key,
            expires_at: parsed.expiry.map(Expiry::naive_utc),
            revoked_at: None,
            deleted_at: None,
            created_by_user_id: None,
            created_by: "fuzz".to_owned(),
            created_at: now,
            updated_at: now,
            last_used_at: None,
            last_used_ip: None,
        },
        scopes: parsed.scopes.clone(),
        networks: parsed.networks.clone(),
        secrets: Vec::new(),
    }
}

fn check(form: &KeyForm, catalogue: &Catalogue) {
    let view = KeyFormView::from_form(form);
    assert!(!view.rows.is_empty(), "the form always shows a scope row to fill in");
    let parsed = match key_form::parse(form, None) {
        Ok(parsed) => parsed,
        Err(errors) => {
            assert!(
                errors.name.is_some()
                    || errors.expires_at.is_some()
                    || errors.scopes.is_some()
                    || errors.networks.is_some(),
                "refused without a message: {form:?}"
            );
            return;
        }
    };
    assert_eq!(parsed.name.as_str(), form.name.trim());
    let typed = Expiry::parse(&form.expires_at, DateTime::UNIX_EPOCH).expect("it parsed once");
    assert_eq!(parsed.expiry, typed, "{:?}", form.expires_at);
    let choice = ScopeChoice {
        mode: &form.scope_mode,
        actions: &form.scope_action,
        resources: &form.scope_resource,
        permissions: &form.permission,
    };
    assert_eq!(choice.scopes().as_ref(), Ok(&parsed.scopes));
    assert_eq!(NetworkList::parse_lines(&form.networks).as_ref(), Ok(&parsed.networks));

    // Edit the key this form made, changing nothing.
    let detail = detail_of(&parsed, form.allow_query_key.is_some());
    let body = submitted(&KeyFormView::of_key(&detail, catalogue), catalogue);
    let again: KeyForm = forms::decode(body.as_bytes()).expect("the edit form decodes");
    let edited = key_form::parse(&again, Some(&detail))
        .unwrap_or_else(|errors| panic!("the unchanged edit form is refused: {errors:?}\nbody: {body}"));
    assert_eq!(edited.name, parsed.name, "{body}");
    assert_eq!(
        edited.expiry.map(Expiry::at),
        detail.key.expires_at.map(|t| t.and_utc()),
        "{body}"
    );
    assert_eq!(edited.scopes, parsed.scopes, "{body}");
    assert_eq!(edited.networks, parsed.networks, "{body}");
}

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(Catalogue::default_catalogue);

fuzz_target!(|data: &[u8]| {
    if let Ok(form) = forms::decode::<KeyForm>(data) {
        check(&form, &CATALOGUE);
    }
});
