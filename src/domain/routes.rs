//! The gateway check's route map: which scope a method and path need.
//! Loaded from TOML; the first matching route wins; a request no route
//! matches is refused.
//!
//! A request path is decoded once and must already be in normal form: each
//! `/`-separated segment is percent-decoded (invalid escapes and invalid
//! UTF-8 are refused) and matched decoded; a dot segment (`.`, `..`, also
//! encoded as `%2e` or followed by `;params`), an encoded `/` or `\`, a raw
//! `\`, a control character (`%00`…) or an empty segment (`//`) refuses the
//! whole path. Such a path is never matched: the upstream may resolve it to
//! somewhere else than it looks. A trailing `/` is allowed and ignored.

use super::ValidationError;
use super::scope::{Action, ResourceFilter};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Upper-case method, or `*` for any.
    pub method: String,
    /// `/`-separated; `*` matches one segment, `**` (last) any rest.
    pub path: Vec<String>,
    pub action: Action,
    pub resource: ResourceFilter,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouteMap {
    pub routes: Vec<Route>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteFile {
    #[serde(default)]
    route: Vec<RouteEntry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteEntry {
    #[serde(default = "any_method")]
    method: String,
    path: String,
    action: String,
    resource: String,
}

fn any_method() -> String {
    "*".to_owned()
}

fn segments(path: &str) -> Vec<String> {
    path.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// A request path the gateway check refuses to match, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("The path {path:?} is refused: {why}. Send the path in normal form.")]
pub struct PathNotNormalized {
    pub path: String,
    pub why: &'static str,
}

/// The decoded segments of a request path (without its query), or why the
/// path is not in normal form. The one place request paths are decoded.
pub fn request_segments(path: &str) -> Result<Vec<String>, PathNotNormalized> {
    let refuse = |why| PathNotNormalized {
        path: path.to_owned(),
        why,
    };
    let Some(rest) = path.strip_prefix('/') else {
        return Err(refuse("it does not start with /"));
    };
    if path.contains('#') {
        return Err(refuse("it holds a #, which never belongs in a request path"));
    }
    let raw: Vec<&str> = rest.split('/').collect();
    let last = raw.len() - 1;
    let mut decoded = Vec::with_capacity(raw.len());
    for (i, segment) in raw.into_iter().enumerate() {
        if segment.is_empty() {
            if i == last {
                break;
            }
            return Err(refuse("it has an empty segment (//)"));
        }
        if segment.contains('\\') {
            return Err(refuse("it holds a backslash"));
        }
        let text = percent_decode(segment).map_err(refuse)?;
        if text.contains(['/', '\\']) {
            return Err(refuse("it holds an encoded / or \\ (%2F, %5C)"));
        }
        if text.chars().any(char::is_control) {
            return Err(refuse("it holds a NUL or another control character"));
        }
        if text != segment && percent_decode(&text).is_ok_and(|again| again != text) {
            return Err(refuse("it is percent-encoded twice (%25 followed by an escape)"));
        }
        if text == "." || text == ".." {
            return Err(refuse("it has a . or .. segment (also as %2e)"));
        }
        // Servlet containers strip `;params` (so `..;x` is `..` and
        // `admin;x` is `admin`), and some servers drop a trailing dot or
        // space: the upstream would serve another path than the one matched.
        if text.contains(';') {
            return Err(refuse("it holds a ; (path parameters, which some servers strip)"));
        }
        if text.ends_with(['.', ' ']) {
            return Err(refuse("a segment ends in a dot or a space, which some servers drop"));
        }
        decoded.push(text);
    }
    Ok(decoded)
}

/// Strict percent-decoding: every `%` starts two hex digits, and the result
/// is UTF-8.
fn percent_decode(segment: &str) -> Result<String, &'static str> {
    if !segment.contains('%') {
        return Ok(segment.to_owned());
    }
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let byte = match bytes.get(i + 1..i + 3) {
                Some(&[high, low]) if high.is_ascii_hexdigit() && low.is_ascii_hexdigit() => {
                    hex_value(high) << 4 | hex_value(low)
                }
                _ => return Err("it has a % not followed by two hex digits"),
            };
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "it decodes to something that is not UTF-8")
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

impl RouteMap {
    pub fn parse(toml_text: &str) -> Result<Self, ValidationError> {
        let file: RouteFile = toml::from_str(toml_text)
            .map_err(|e| ValidationError::new(format!("the gateway route map is not valid TOML: {e}")))?;
        let routes = file
            .route
            .into_iter()
            .map(|entry| {
                let context = |e: ValidationError| ValidationError::new(format!("route \"{}\": {e}", entry.path));
                let path = segments(&entry.path);
                if let Some(bad) = path
                    .iter()
                    .find(|s| *s == "." || *s == ".." || s.contains(['%', '\\']) || s.chars().any(char::is_control))
                {
                    return Err(context(ValidationError::new(format!(
                        "the segment \"{bad}\" can never match: request paths are matched decoded and normalised, so write segments without ., .., % escapes or backslashes"
                    ))));
                }
                if let Some(position) = path.iter().position(|s| s == "**")
                    && position + 1 != path.len()
                {
                    return Err(context(ValidationError::new("** may only end a path")));
                }
                Ok(Route {
                    method: entry.method.trim().to_ascii_uppercase(),
                    path,
                    action: Action::parse(&entry.action).map_err(context)?,
                    resource: ResourceFilter::parse(&entry.resource).map_err(context)?,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { routes })
    }

    /// The scope `method` + `uri` needs; `None` when no route matches; an
    /// error when the path is not in normal form (see the module doc).
    pub fn required(&self, method: &str, uri: &str) -> Result<Option<(Action, &ResourceFilter)>, PathNotNormalized> {
        let path = uri.split('?').next().unwrap_or_default();
        let wanted = request_segments(path)?;
        Ok(self
            .routes
            .iter()
            .find(|route| {
                (route.method == "*" || route.method.eq_ignore_ascii_case(method)) && path_matches(&route.path, &wanted)
            })
            .map(|route| (route.action, &route.resource)))
    }
}

fn path_matches(pattern: &[String], path: &[String]) -> bool {
    match (pattern.first(), path.first()) {
        (Some(p), _) if p == "**" => true,
        (Some(p), Some(s)) if p == "*" || p == s => path_matches(&pattern[1..], &path[1..]),
        (None, None) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    "#;

    fn required<'a>(map: &'a RouteMap, method: &str, uri: &str) -> Option<(Action, &'a str)> {
        map.required(method, uri)
            .expect("a normalised path")
            .map(|(a, r)| (a, r.as_str()))
    }

    #[test]
    fn routes_map_methods_and_globs_to_scopes() {
        let map = RouteMap::parse(MAP).expect("valid");
        assert_eq!(
            required(&map, "GET", "/api/flights/AB123?x=1"),
            Some((Action::Read, "flights"))
        );
        assert_eq!(
            required(&map, "GET", "/api/flights").map(|(a, _)| a),
            Some(Action::Read)
        );
        assert_eq!(
            required(&map, "GET", "/api/flights/").map(|(a, _)| a),
            Some(Action::Read)
        );
        assert_eq!(
            required(&map, "post", "/api/flights/AB123/delay").map(|(a, _)| a),
            Some(Action::Write)
        );
        assert_eq!(
            required(&map, "POST", "/api/flights/AB123/cancel"),
            None,
            "unmapped routes are denied"
        );
        assert_eq!(required(&map, "DELETE", "/api/flights/AB123"), None);
    }

    #[test]
    fn segments_are_matched_decoded() {
        let map = RouteMap::parse(MAP).expect("valid");
        assert_eq!(
            required(&map, "POST", "/%61pi/flights/AB%20123/dela%79").map(|(a, _)| a),
            Some(Action::Write)
        );
        assert_eq!(
            request_segments("/caf%C3%A9/a.b").expect("normal"),
            vec!["café".to_owned(), "a.b".to_owned()]
        );
        assert_eq!(request_segments("/").expect("normal"), Vec::<String>::new());
    }

    #[test]
    fn paths_not_in_normal_form_are_refused_never_matched() {
        let map = RouteMap::parse(MAP).expect("valid");
        for uri in [
            "/api/flights/../crew/roster",
            "/api/flights/./AB123",
            "/api/flights/%2e%2e/crew",
            "/api/flights/%2E./crew",
            "/api/flights/.%2e/crew",
            "/api/flights/..;/crew",
            "/api/flights/..%3bx/crew",
            "/api/flights/..%2Fcrew",
            "/api/flights/x%2fy",
            "/api/flights/x%5Cy",
            "/api/flights/x\\..\\..\\crew",
            "/api/flights/x%00",
            "/api/flights/x%0a",
            "/api//flights/AB123",
            "//api/flights/AB123",
            "/api/flights/%zz",
            "/api/flights/%4",
            "/api/flights/%+4",
            "/api/flights/%C3",
            "/api/flights/%C0%AE%C0%AE",
            "/api/flights/x#/../../crew",
            "/api/flights/%252e%252e/crew",
            "/api/admin;x/users",
            "/api/admin%3Bx/users",
            "/api/admin./users",
            "/api/admin%20/users",
            "/api/admin%09/users",
            "api/flights/AB123",
            "",
            "*",
        ] {
            let refused = map.required("GET", uri).expect_err(uri);
            assert!(refused.to_string().contains("normal form"), "{uri}: {refused}");
        }
        assert!(
            map.required("GET", "/api/flights/%2e%2e")
                .expect_err("refused")
                .why
                .contains(". or ..")
        );
    }

    #[test]
    fn bad_maps_are_refused_with_the_route_named() {
        let error =
            RouteMap::parse("[[route]]\npath = \"/a/**/b\"\naction = \"read\"\nresource = \"a\"").expect_err("invalid");
        assert!(error.0.contains("route \"/a/**/b\""), "{error}");
        assert!(RouteMap::parse("[[route]]\npath = \"/a\"\naction = \"fly\"\nresource = \"a\"").is_err());
        for path in ["/a/../b", "/a/%2e%2e", "/a/b%2Fc", "/a\\\\b"] {
            let error = RouteMap::parse(&format!(
                "[[route]]\npath = \"{path}\"\naction = \"read\"\nresource = \"a\""
            ))
            .expect_err(path);
            assert!(error.0.contains("can never match"), "{path}: {error}");
        }
    }

    #[test]
    fn a_route_with_an_empty_resource_is_refused() {
        for resource in ["", "  "] {
            let error = RouteMap::parse(&format!(
                "[[route]]\npath = \"/a/**\"\naction = \"read\"\nresource = \"{resource}\""
            ))
            .expect_err("an empty resource would mean every resource");
            assert!(error.0.contains("The resource filter is empty"), "{error}");
            assert!(error.0.contains("route \"/a/**\""), "the route is named: {error}");
        }
    }

    /// RFC 3986 section 5.2.4 on `/`-separated segments.
    fn remove_dot_segments(segments: &[&str]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for segment in segments {
            match *segment {
                "." => {}
                ".." => {
                    out.pop();
                }
                other => out.push(other.to_owned()),
            }
        }
        out
    }

    /// Every way an upstream may resolve `path`: as sent, or decoded (with
    /// `\` as `/`, `;params` cut, `//` merged or not), then dot segments
    /// removed.
    fn resolutions(path: &str) -> Vec<Vec<String>> {
        let decoded = percent_encoding_lossy(path);
        let twice = percent_encoding_lossy(&decoded);
        let mut ways = Vec::new();
        for candidate in [
            path.to_owned(),
            decoded.clone(),
            decoded.replace('\\', "/"),
            twice.replace('\\', "/"),
        ] {
            let segments: Vec<&str> = candidate.split('/').skip(1).collect();
            ways.push(remove_dot_segments(&segments));
            let merged: Vec<&str> = segments.iter().copied().filter(|s| !s.is_empty()).collect();
            ways.push(remove_dot_segments(&merged));
            let unparametered: Vec<&str> = merged.iter().map(|s| s.split(';').next().unwrap_or_default()).collect();
            ways.push(remove_dot_segments(&unparametered));
        }
        ways
    }

    /// Decodes what decodes, keeps the rest: how a lenient upstream reads it.
    fn percent_encoding_lossy(path: &str) -> String {
        let bytes = path.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes.get(i..i + 3) {
                Some(&[b'%', h, l]) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
                    out.push(hex_value(h) << 4 | hex_value(l));
                    i += 3;
                }
                _ => {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    fn under(prefix: &[&str], resolved: &[String]) -> bool {
        resolved.len() >= prefix.len() && prefix.iter().zip(resolved).all(|(p, s)| p == s)
    }

    const SEGMENTS: &[&str] = &[
        "flights",
        "crew",
        "roster",
        "AB123",
        "..",
        ".",
        "%2e",
        "%2E",
        "%2e%2e",
        ".%2e",
        "%2e.",
        "..;",
        "..;x",
        "%2f",
        "%2F",
        "%5c",
        "%5C",
        "\\",
        "",
        "%00",
        "%41",
        "%zz",
        "%",
        "a%2f..",
        "..%2f",
        "..%2f..",
        "..%5c",
        "%2e%2e%2f",
        "%252e%252e",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        #[test]
        fn no_path_that_resolves_outside_a_pattern_is_allowed_by_it(
            prefix in proptest::collection::vec(proptest::sample::select(&["flights", "crew", "v1", "AB123"][..]), 1..3),
            picks in proptest::collection::vec(proptest::sample::select(SEGMENTS), 0..7),
            trailing_slash in proptest::bool::ANY,
        ) {
            let base = prefix.join("/");
            let map = RouteMap::parse(&format!(
                "[[route]]\npath = \"/{base}/*/crew\"\naction = \"write\"\nresource = \"crew\"\n\
                 [[route]]\npath = \"/{base}/**\"\naction = \"read\"\nresource = \"flights\""
            ))
            .expect("valid");
            // under the prefix as written: where an attacker starts from
            let mut path = format!("/{base}/{}", picks.join("/"));
            if trailing_slash {
                path.push('/');
            }
            if let Ok(Some((action, _))) = map.required("GET", &path) {
                for resolved in resolutions(&path) {
                    proptest::prop_assert!(under(&prefix, &resolved), "{path} allowed, but resolves to {resolved:?}");
                    if action == Action::Write {
                        let named: Vec<&String> = resolved.iter().filter(|s| !s.is_empty()).collect();
                        proptest::prop_assert!(
                            named.len() == prefix.len() + 2 && named[prefix.len() + 1] == "crew",
                            "{path} allowed as /{base}/*/crew, but resolves to {resolved:?}"
                        );
                    }
                }
            }
        }
    }
}
