//! The gateway check's route map: which scope a method and path need.
//! Loaded from TOML; the first matching route wins; a request no route
//! matches is refused.

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

    /// The scope `method` + `uri` needs; `None` when no route matches.
    pub fn required(&self, method: &str, uri: &str) -> Option<(Action, &ResourceFilter)> {
        let path = uri.split(['?', '#']).next().unwrap_or_default();
        let wanted = segments(path);
        self.routes
            .iter()
            .find(|route| {
                (route.method == "*" || route.method.eq_ignore_ascii_case(method)) && path_matches(&route.path, &wanted)
            })
            .map(|route| (route.action, &route.resource))
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

    #[test]
    fn routes_map_methods_and_globs_to_scopes() {
        let map = RouteMap::parse(MAP).expect("valid");
        assert_eq!(
            map.required("GET", "/api/flights/AB123?x=1")
                .map(|(a, r)| (a, r.as_str())),
            Some((Action::Read, "flights"))
        );
        assert_eq!(map.required("GET", "/api/flights").map(|(a, _)| a), Some(Action::Read));
        assert_eq!(
            map.required("post", "/api/flights/AB123/delay").map(|(a, _)| a),
            Some(Action::Write)
        );
        assert_eq!(
            map.required("POST", "/api/flights/AB123/cancel"),
            None,
            "unmapped routes are denied"
        );
        assert_eq!(map.required("DELETE", "/api/flights/AB123"), None);
    }

    #[test]
    fn bad_maps_are_refused_with_the_route_named() {
        let error =
            RouteMap::parse("[[route]]\npath = \"/a/**/b\"\naction = \"read\"\nresource = \"a\"").expect_err("invalid");
        assert!(error.0.contains("route \"/a/**/b\""), "{error}");
        assert!(RouteMap::parse("[[route]]\npath = \"/a\"\naction = \"fly\"\nresource = \"a\"").is_err());
    }

    #[test]
    fn a_route_with_a_blank_resource_is_refused_not_taken_for_everything() {
        let error = RouteMap::parse("[[route]]\npath = \"/a\"\naction = \"read\"\nresource = \"\"")
            .expect_err("a blank resource is refused");
        assert!(error.0.contains("The resource filter is empty"), "{error}");
    }
}
