//! The gateway check's path normaliser and route matcher.
//!
//! Input: lines. The first is the request URI, the second the method, and
//! the rest is also tried as a TOML route map.
//!
//! - a path in normal form, its segments written back (with `%`, `?` and
//!   `#` escaped), decodes to the same segments: it normalises to itself;
//! - no segment of a normalised path is empty, `.` or `..`, or holds `/`,
//!   `\`, `;` or a control character, or ends in a dot or a space;
//! - a refused path stays refused with more segments after it or before it;
//! - the matcher refuses exactly the paths the normaliser refuses, ignores
//!   the query, answers the same for the path written back, and picks the
//!   first route a plain glob match (`*` one segment, `**` any rest) picks;
//! - a route map that parses never panics the matcher.

#![no_main]

use keyward::domain::routes::{Route, RouteMap, request_segments};
use keyward::domain::scope::{Action, ResourceFilter};
use libfuzzer_sys::fuzz_target;

const MAP: &str = r#"
[[route]]
method = "GET"
path = "/api/flights/**"
action = "read"
resource = "flights"

[[route]]
method = "POST"
path = "/api/flights/*/delay"
action = "write"
resource = "flights"

[[route]]
path = "/api/crew/*/roster"
action = "read"
resource = "crew"

[[route]]
method = "DELETE"
path = "/**"
action = "admin"
resource = "*"
"#;

/// The segments as a path, escaping what would otherwise change its meaning.
fn written_back(segments: &[String]) -> String {
    let mut path = String::from("/");
    let escaped: Vec<String> = segments
        .iter()
        .map(|s| s.replace('%', "%25").replace('?', "%3F").replace('#', "%23"))
        .collect();
    path.push_str(&escaped.join("/"));
    path
}

/// The glob match, written out plainly.
fn glob_matches(pattern: &[String], path: &[String]) -> bool {
    for (i, p) in pattern.iter().enumerate() {
        if p == "**" {
            return true;
        }
        match path.get(i) {
            Some(s) if p == "*" || p == s => {}
            _ => return false,
        }
    }
    pattern.len() == path.len()
}

fn first_match<'a>(map: &'a RouteMap, method: &str, path: &[String]) -> Option<&'a Route> {
    map.routes
        .iter()
        .find(|r| (r.method == "*" || r.method.eq_ignore_ascii_case(method)) && glob_matches(&r.path, path))
}

fn check_map(map: &RouteMap, method: &str, uri: &str) {
    let path = uri.split('?').next().unwrap_or_default();
    let normalised = request_segments(path);
    let required = map.required(method, uri);
    assert_eq!(required.is_err(), normalised.is_err(), "{uri:?}: {required:?}");
    let Ok(segments) = normalised else {
        return;
    };
    let want = first_match(map, method, &segments).map(|r| (r.action, &r.resource));
    assert_eq!(required.as_ref().ok(), Some(&want), "{uri:?} as {segments:?}");
    let again: Result<Option<(Action, &ResourceFilter)>, _> = map.required(method, &written_back(&segments));
    assert_eq!(again.ok(), Some(want), "{uri:?} written back");
    let with_query = format!("{path}?x=/../y");
    assert_eq!(map.required(method, &with_query).ok(), Some(want));
}

fn check_path(path: &str) {
    match request_segments(path) {
        Ok(segments) => {
            for s in &segments {
                assert!(!s.is_empty() && s != "." && s != "..", "{path:?}: {s:?}");
                assert!(!s.contains(['/', '\\', ';']), "{path:?}: {s:?}");
                assert!(!s.chars().any(char::is_control), "{path:?}: {s:?}");
                assert!(!s.ends_with(['.', ' ']), "{path:?}: {s:?}");
            }
            let back = written_back(&segments);
            assert_eq!(request_segments(&back).as_ref(), Ok(&segments), "{path:?} → {back:?}");
        }
        Err(refused) => {
            assert_eq!(refused.path, path);
            if !path.is_empty() {
                assert!(request_segments(&format!("{path}/x")).is_err(), "{path:?} + /x");
                assert!(request_segments(&format!("{path}/{path}")).is_err(), "{path:?} twice");
            }
            if path.starts_with('/') {
                assert!(request_segments(&format!("/x{path}")).is_err(), "/x + {path:?}");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let uri = lines.next().unwrap_or_default();
    let method = lines.next().unwrap_or("GET");
    check_path(uri.split('?').next().unwrap_or_default());
    let map = RouteMap::parse(MAP).expect("the map above is valid");
    check_map(&map, method, uri);
    let rest: Vec<&str> = lines.collect();
    if let Ok(theirs) = RouteMap::parse(&rest.join("\n")) {
        for route in &theirs.routes {
            assert!(route.path.iter().all(|s| !s.is_empty() && s != "." && s != ".."));
            if let Some(position) = route.path.iter().position(|s| s == "**") {
                assert_eq!(position + 1, route.path.len(), "** ends the path");
            }
        }
        check_map(&theirs, method, uri);
    }
});
