//! Route tables: a scope's routes as data. The same table registers the
//! routes with actix and lists them, so whatever checks the list (the OpenAPI
//! test, the role-guard test) checks the router itself, not a copy of it.

use actix_web::http::Method;
use actix_web::{FromRequest, Handler, Resource, Responder, Route, web};

/// The routes of one path; each path is one actix resource, so a method it
/// does not have is answered 405.
pub struct Routes {
    routes: Vec<(Option<Method>, Route)>,
}

impl Routes {
    /// `handler` answers `method` on this path.
    pub fn on<F, Args>(mut self, method: Method, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.routes
            .push((Some(method.clone()), web::method(method).to(handler)));
        self
    }

    /// `handler` answers every method on this path (the gateway check, whose
    /// callers choose the method of their subrequest).
    pub fn any<F, Args>(mut self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.routes.push((None, web::route().to(handler)));
        self
    }
}

/// One path, what its routes share (`tag`: the API's key requirement, or
/// nothing), and its routes.
struct Entry<T> {
    path: &'static str,
    tag: T,
    routes: Routes,
}

/// The routes of a scope, in registration (and so matching) order.
pub struct RouteTable<T = ()> {
    entries: Vec<Entry<T>>,
}

impl<T> Default for RouteTable<T> {
    fn default() -> Self {
        Self { entries: Vec::new() }
    }
}

/// A listed route: `method` is `None` for one that answers every method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub method: Option<Method>,
    pub path: String,
}

impl<T> RouteTable<T> {
    pub fn path(mut self, path: &'static str, tag: T, routes: impl FnOnce(Routes) -> Routes) -> Self {
        let routes = routes(Routes { routes: Vec::new() });
        self.entries.push(Entry { path, tag, routes });
        self
    }

    /// Every route, its path prefixed with `prefix` (where the scope is mounted).
    pub fn listing(&self, prefix: &str) -> Vec<Listed> {
        self.entries
            .iter()
            .flat_map(|entry| {
                entry.routes.routes.iter().map(move |(method, _)| Listed {
                    method: method.clone(),
                    path: format!("{prefix}{}", entry.path),
                })
            })
            .collect()
    }

    /// Each path as an actix resource, with its tag, for the caller to wrap
    /// and register where `prefix` is mounted. A method the path does not
    /// answer is a 405 whose `Allow` lists the ones it does (RFC 9110), in
    /// the face's own format. Each resource is named by its whole pattern,
    /// as `listing(prefix)` gives it: the request metrics count requests by
    /// that name (`HttpRequest::match_name`, which borrows it).
    pub fn into_resources(self, prefix: &str) -> impl Iterator<Item = (T, Resource)> {
        self.entries.into_iter().map(move |entry| {
            let methods: Option<Vec<String>> = entry
                .routes
                .routes
                .iter()
                .map(|(method, _)| method.as_ref().map(ToString::to_string))
                .collect();
            let resource = entry.routes.routes.into_iter().fold(
                web::resource(entry.path).name(&format!("{prefix}{}", entry.path)),
                |resource, (_, route)| resource.route(route),
            );
            let resource = match methods {
                Some(methods) => {
                    let allow = methods.join(", ");
                    resource.default_service(web::to(move |req: actix_web::HttpRequest| {
                        let error = crate::error::AppError::MethodNotAllowed {
                            method: req.method().to_string(),
                            allow: allow.clone(),
                        };
                        async move { Err::<actix_web::HttpResponse, _>(error) }
                    }))
                }
                // A path that answers every method has no 405.
                None => resource,
            };
            (entry.tag, resource)
        })
    }
}

impl RouteTable {
    /// Registers every path, for a scope mounted at `prefix`.
    pub fn register(self, prefix: &str, cfg: &mut web::ServiceConfig) {
        for ((), resource) in self.into_resources(prefix) {
            cfg.service(resource);
        }
    }
}
