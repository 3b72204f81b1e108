//! What follows a change to a key: the place the administrator goes back to
//! ([`ReturnTo`]: the list with the filters they had, or the key's page) and
//! the short message that says what was done ([`Done`]).
//!
//! With htmx the message goes into the page's live region (`role="status"`
//! in `base.html`) through an `HX-Trigger` event, with the ids of the
//! elements focus should return to. Without JavaScript the answer is a 303
//! to the place, carrying a fixed message code and the key's id
//! (`?done=disabled&key=…`); the page it lands on looks the key up in the
//! organization and shows the code's own text with the key's name. No text
//! is ever taken from the query, so the flash cannot inject content.

use actix_web::HttpResponse;
use actix_web::http::header::{HeaderName, HeaderValue};
use url::form_urlencoded;

use super::BASE;
use crate::auth::guard::CurrentUser;
use crate::error::AppError;
use crate::store::{Db, api_keys};
use crate::web::htmx::{HX_REDIRECT, HxRequest};
use crate::web::{local_path, percent_encode, see_other};

/// The longest `return_to` considered: a list address with its filters is
/// far shorter.
const MAX_RETURN_TO: usize = 2048;

/// The query parameters of the flash; never carried on in a `ReturnTo`.
const FLASH_PARAMS: [&str; 2] = ["done", "key"];

/// Where an action on a key goes back to: the key list (with its query) or
/// one key's page, a same-site path under [`BASE`] and nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnTo {
    path: String,
    /// Without the flash's own parameters.
    pairs: Vec<(String, String)>,
}

impl Default for ReturnTo {
    fn default() -> Self {
        Self::list()
    }
}

impl ReturnTo {
    /// The key list as it opens.
    pub fn list() -> Self {
        Self {
            path: BASE.to_owned(),
            pairs: Vec::new(),
        }
    }

    /// Key `id`'s page.
    pub fn key_page(id: &str) -> Self {
        Self {
            path: format!("{BASE}/{id}"),
            pairs: Vec::new(),
        }
    }

    /// `raw` if it is the list or a key's page on this site, read the way a
    /// browser reads `Location` (`crate::web::local_path`); `None` for
    /// anything else (`https://evil.example`, `//evil.example`,
    /// `/backoffice/…/../../elsewhere`, other pages under `BASE`).
    pub fn parse(raw: &str) -> Option<Self> {
        if raw.len() > MAX_RETURN_TO {
            return None;
        }
        let local = local_path(Some(raw))?;
        let (path, query) = local.split_once('?').unwrap_or((&local, ""));
        let is_key_page = path
            .strip_prefix(BASE)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(looks_like_key_id);
        if path != BASE && !is_key_page {
            return None;
        }
        let pairs = form_urlencoded::parse(query.as_bytes())
            .filter(|(name, _)| !FLASH_PARAMS.contains(&name.as_ref()))
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        Some(Self {
            path: path.to_owned(),
            pairs,
        })
    }

    /// A form's or query's `return_to`: the place it names, else the list.
    pub fn or_list(raw: Option<&str>) -> Self {
        raw.and_then(Self::parse).unwrap_or_default()
    }

    /// The key whose page this is, if it is one.
    pub fn key_page_of(&self) -> Option<&str> {
        self.path.strip_prefix(BASE)?.strip_prefix('/')
    }

    /// The path alone: a GET form's `action` (the browser replaces an
    /// action's query with the form's fields, see [`Self::query_pairs`]).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query's name/value pairs, as a GET form's hidden fields.
    pub fn query_pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// This place as a `return_to` query value (a link's `?return_to=…`).
    pub fn param(&self) -> String {
        percent_encode(&self.to_string())
    }

    /// After `done` on key `key_id`: the place to show, with the flash. A
    /// deleted key's own page is gone, so after a Delete it is the list.
    fn after(&self, done: Done, key_id: &str) -> Self {
        if done == Done::Deleted && self.key_page_of() == Some(key_id) {
            Self::list()
        } else {
            self.clone()
        }
    }

    /// The address to land on after `done` on key `key_id`, flash included.
    pub fn with_flash(&self, done: Done, key_id: &str) -> String {
        let place = self.after(done, key_id);
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(&place.pairs);
        query.append_pair("done", done.as_str()).append_pair("key", key_id);
        format!("{}?{}", place.path, query.finish())
    }

    /// [`Self::with_flash`] as a GET form sends it: its action and fields.
    pub fn flash_form(&self, done: Done, key_id: &str) -> (String, Vec<(String, String)>) {
        let place = self.after(done, key_id);
        let mut fields = place.pairs.clone();
        fields.push(("done".to_owned(), done.as_str().to_owned()));
        fields.push(("key".to_owned(), key_id.to_owned()));
        (place.path, fields)
    }

    /// The ids of the elements focus returns to after `done` on key
    /// `key_id`, the first one that is there: on the list the row's Actions
    /// button, else the list's heading (the row left the filter or the
    /// page); on a key's page the action's own button, else its heading.
    fn focus(&self, done: Done, key_id: &str) -> Vec<String> {
        match self.after(done, key_id).key_page_of() {
            None => vec![format!("actions-{key_id}"), "api-keys-heading".to_owned()],
            Some(_) => {
                let button = match done {
                    Done::Created | Done::Saved => "key-edit",
                    Done::Disabled | Done::Enabled => "key-toggle",
                    Done::Rotated => "key-rotate",
                    Done::Revoked | Done::Deleted => "key-heading",
                };
                vec![button.to_owned(), "key-heading".to_owned()]
            }
        }
    }
}

impl std::fmt::Display for ReturnTo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.path)?;
        if !self.pairs.is_empty() {
            let mut query = form_urlencoded::Serializer::new(String::new());
            query.extend_pairs(&self.pairs);
            write!(f, "?{}", query.finish())?;
        }
        Ok(())
    }
}

/// The ids the store makes (UUIDs): hex digits and dashes, which none of the
/// other pages under `BASE` (`usage`, `audit`, `new`…) is spelled with.
fn looks_like_key_id(segment: &str) -> bool {
    !segment.is_empty() && segment.len() <= 64 && segment.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

/// `?return_to=…` of the GET that opens a dialog.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ReturnToQuery {
    pub return_to: Option<String>,
}

impl ReturnToQuery {
    pub fn place(&self) -> ReturnTo {
        ReturnTo::or_list(self.return_to.as_deref())
    }
}

/// The `return_to` field of a form that makes a change and nothing else
/// (enable, disable, revoke, delete).
#[derive(Debug, Default, serde::Deserialize)]
pub struct ReturnToForm {
    #[serde(default)]
    pub return_to: String,
}

impl ReturnToForm {
    pub fn place(&self) -> ReturnTo {
        ReturnTo::or_list(Some(&self.return_to))
    }
}

/// What was done to a key: a fixed code, so the page that shows the message
/// writes its text itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    Created,
    Saved,
    Enabled,
    Disabled,
    Rotated,
    Revoked,
    Deleted,
}

impl Done {
    const ALL: [Done; 7] = [
        Done::Created,
        Done::Saved,
        Done::Enabled,
        Done::Disabled,
        Done::Rotated,
        Done::Revoked,
        Done::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Done::Created => "created",
            Done::Saved => "saved",
            Done::Enabled => "enabled",
            Done::Disabled => "disabled",
            Done::Rotated => "rotated",
            Done::Revoked => "revoked",
            Done::Deleted => "deleted",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|done| done.as_str() == code)
    }

    /// "Flight sync disabled."
    pub fn message(self, key_name: &str) -> String {
        match self {
            Done::Created => format!("{key_name} created."),
            Done::Saved => format!("Changes to {key_name} saved."),
            Done::Enabled => format!("{key_name} enabled."),
            Done::Disabled => format!("{key_name} disabled."),
            Done::Rotated => format!("{key_name} rotated: it has a new secret."),
            Done::Revoked => format!("{key_name} revoked."),
            Done::Deleted => format!("{key_name} deleted."),
        }
    }
}

/// A change made to a key, and where its author goes next.
pub struct Feedback<'a> {
    pub back: &'a ReturnTo,
    pub done: Done,
    pub key_id: &'a str,
    pub key_name: &'a str,
}

/// htmx events of a change: the list (or key page) refreshes itself, the
/// dialog closes, and `keyward-done` puts the message in the live region
/// and focus back (app.js waits for an open dialog to close first).
const DONE_EVENT: &str = "keyward-done";

impl Feedback<'_> {
    /// The `HX-Trigger` value: `events` first, then the message event.
    /// Names can be any Unicode; a header carries ASCII safely, so every
    /// other character is written as a JSON `\u` escape (JSON's structure
    /// is ASCII, so only strings hold such characters).
    pub fn trigger(&self, close_dialog: bool) -> HeaderValue {
        // Each event is fired on <body> (htmx's `target`), not on the form
        // that asked: closing the dialog takes that form out of the page,
        // and events fired on it after that would reach no listener.
        let on_body = || serde_json::json!({ "target": "body" });
        let mut events = serde_json::Map::new();
        events.insert("api-keys-changed".to_owned(), on_body());
        events.insert(
            DONE_EVENT.to_owned(),
            serde_json::json!({
                "target": "body",
                "message": self.done.message(self.key_name),
                "focus": self.back.focus(self.done, self.key_id),
            }),
        );
        if close_dialog {
            events.insert("close-modal".to_owned(), on_body());
        }
        let json = serde_json::Value::Object(events).to_string();
        let mut ascii = String::with_capacity(json.len());
        for c in json.chars() {
            if c.is_ascii() {
                ascii.push(c);
            } else {
                for unit in c.encode_utf16(&mut [0; 2]) {
                    ascii.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
        HeaderValue::from_str(&ascii).unwrap_or_else(|_| HeaderValue::from_static("api-keys-changed"))
    }

    /// The answer to a change that shows nothing more: htmx refreshes the
    /// page it came from and says what was done (or, when that page is the
    /// deleted key's, goes to the list); a plain browser is sent back to
    /// where it was, with the flash.
    pub fn respond(&self, hx: HxRequest) -> HttpResponse {
        let location = self.back.with_flash(self.done, self.key_id);
        if !hx.wants_fragment() {
            return see_other(&location);
        }
        let mut response = HttpResponse::Ok().content_type("text/html; charset=utf-8").finish();
        let headers = response.headers_mut();
        if self.back.after(self.done, self.key_id) != *self.back {
            // The page the request came from is gone: a real navigation.
            if let Ok(location) = HeaderValue::from_str(&location) {
                headers.insert(HX_REDIRECT, location);
            }
        } else {
            headers.insert(HeaderName::from_static("hx-trigger"), self.trigger(true));
        }
        response
    }
}

/// `?done=…&key=…` of the page a change was sent back to.
#[derive(Debug, Default, serde::Deserialize)]
pub struct FlashQuery {
    pub done: Option<String>,
    pub key: Option<String>,
}

/// The flash's message: its code's text with the name of the key it names,
/// looked up in the signed-in user's organization (deleted keys included,
/// for "… deleted."). `None` for an unknown code or a key that is not the
/// organization's; `only` limits it to one key (a key's page).
pub async fn flash_message(
    db: &Db,
    current: &CurrentUser,
    flash: FlashQuery,
    only: Option<&str>,
) -> Result<Option<String>, AppError> {
    let (Some(done), Some(key)) = (flash.done.as_deref().and_then(Done::parse), flash.key) else {
        return Ok(None);
    };
    if !looks_like_key_id(&key) || only.is_some_and(|only| only != key) {
        return Ok(None);
    }
    let org_id = current.org.id.clone();
    let names = db
        .run(move |conn| api_keys::names_of(conn, &org_id, std::slice::from_ref(&key)))
        .await?;
    Ok(names.into_iter().next().map(|(_, name, _)| done.message(&name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0192f0c4-7d8e-7a6b-9c3d-2e1f0a9b8c7d";

    #[test]
    fn return_to_is_the_list_or_a_keys_page_and_nothing_else() {
        for (raw, kept) in [
            (BASE.to_owned(), BASE.to_owned()),
            (
                format!("{BASE}?q=sync&status=all&page=2"),
                format!("{BASE}?q=sync&status=all&page=2"),
            ),
            (format!("{BASE}/{KEY}"), format!("{BASE}/{KEY}")),
            // The flash is never carried on: it would pile up.
            (
                format!("{BASE}?status=all&done=disabled&key={KEY}"),
                format!("{BASE}?status=all"),
            ),
            (format!("{BASE}?q=a%26b"), format!("{BASE}?q=a%26b")),
        ] {
            assert_eq!(ReturnTo::parse(&raw).map(|r| r.to_string()), Some(kept), "{raw}");
        }
        for bad in [
            "https://evil.example".to_owned(),
            "//evil.example".to_owned(),
            "/\\evil.example".to_owned(),
            "https:evil.example".to_owned(),
            format!("https://evil.example{BASE}"),
            format!("//evil.example{BASE}"),
            "/backoffice".to_owned(),
            "/backoffice/settings/api-keysx".to_owned(),
            format!("{BASE}/usage"),
            format!("{BASE}/audit.csv"),
            format!("{BASE}/{KEY}/delete"),
            format!("{BASE}/../../login"),
            format!("{BASE}/%2e%2e/%2e%2e/login"),
            format!("{BASE}\t/x"),
            "javascript:alert(1)".to_owned(),
            String::new(),
            format!("{BASE}?q={}", "x".repeat(MAX_RETURN_TO)),
        ] {
            assert_eq!(ReturnTo::parse(&bad), None, "{bad:?}");
        }
        assert_eq!(ReturnTo::or_list(Some("//evil.example")), ReturnTo::list());
        assert_eq!(ReturnTo::or_list(None), ReturnTo::list());
    }

    #[test]
    fn the_flash_is_a_code_and_a_key_id_after_the_filters() {
        let list = ReturnTo::parse(&format!("{BASE}?q=sync&status=all")).expect("valid");
        assert_eq!(
            list.with_flash(Done::Disabled, KEY),
            format!("{BASE}?q=sync&status=all&done=disabled&key={KEY}")
        );
        let (action, fields) = list.flash_form(Done::Rotated, KEY);
        assert_eq!(action, BASE);
        assert_eq!(fields.last(), Some(&("key".to_owned(), KEY.to_owned())));
        // A deleted key's page is gone: the list comes next.
        let page = ReturnTo::key_page(KEY);
        assert_eq!(
            page.with_flash(Done::Deleted, KEY),
            format!("{BASE}?done=deleted&key={KEY}")
        );
        assert_eq!(
            page.with_flash(Done::Disabled, KEY),
            format!("{BASE}/{KEY}?done=disabled&key={KEY}")
        );
        assert_eq!(Done::parse("deleted"), Some(Done::Deleted));
        assert_eq!(Done::parse("<script>"), None);
    }

    #[test]
    fn the_trigger_is_ascii_json_naming_the_key() {
        let back = ReturnTo::list();
        let feedback = Feedback {
            back: &back,
            done: Done::Disabled,
            key_id: KEY,
            key_name: "Übersicht \"x\"",
        };
        let header = feedback.trigger(false);
        let text = header.to_str().expect("ASCII");
        let json: serde_json::Value = serde_json::from_str(text).expect("JSON");
        assert_eq!(json["keyward-done"]["message"], "Übersicht \"x\" disabled.");
        assert_eq!(json["keyward-done"]["focus"][0], format!("actions-{KEY}"));
        assert!(json.get("close-modal").is_none());
    }
}
