//! Routes as each web module declares them, and the table of route templates they make.
//!
//! Every module exports `routes() -> Routes`; [`Routes::build`] turns the merged list into
//! both poem's router and the [`RouteTable`], so a route cannot be served without being in
//! the table or listed without being served. The table gives `405` responses their `Allow`
//! header and metrics a bounded route label (the template, never the raw path).

use poem::endpoint::BoxEndpoint;
use poem::http::Method;
use poem::{Endpoint, EndpointExt, IntoResponse, Response, Route, RouteMethod};

/// One path and the endpoint of each method it answers.
struct PathRoutes {
    path: &'static str,
    methods: Vec<(Method, BoxEndpoint<'static, Response>)>,
}

/// A module's routes. Build with [`Routes::get`] and [`Routes::post`]; merge modules with
/// [`Routes::merge`].
#[derive(Default)]
pub struct Routes {
    paths: Vec<PathRoutes>,
    nested: Vec<(&'static str, BoxEndpoint<'static, Response>, RouteTable)>,
}

impl Routes {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn at<E>(mut self, method: Method, path: &'static str, endpoint: E) -> Self
    where
        E: Endpoint + 'static,
        E::Output: IntoResponse,
    {
        let endpoint = endpoint.map_to_response().boxed();
        match self.paths.iter_mut().find(|p| p.path == path) {
            Some(entry) => entry.methods.push((method, endpoint)),
            None => self.paths.push(PathRoutes {
                path,
                methods: vec![(method, endpoint)],
            }),
        }
        self
    }

    pub fn get<E>(self, path: &'static str, endpoint: E) -> Self
    where
        E: Endpoint + 'static,
        E::Output: IntoResponse,
    {
        self.at(Method::GET, path, endpoint)
    }

    pub fn post<E>(self, path: &'static str, endpoint: E) -> Self
    where
        E: Endpoint + 'static,
        E::Output: IntoResponse,
    {
        self.at(Method::POST, path, endpoint)
    }

    /// Serves everything under `prefix` with `endpoint`, whose own paths and methods are
    /// `table` (an OpenAPI service's, say).
    pub fn nest<E>(mut self, prefix: &'static str, endpoint: E, table: RouteTable) -> Self
    where
        E: Endpoint + 'static,
        E::Output: IntoResponse,
    {
        self.nested
            .push((prefix, endpoint.map_to_response().boxed(), table));
        self
    }

    pub fn merge(mut self, other: Routes) -> Self {
        for entry in other.paths {
            for (method, endpoint) in entry.methods {
                self = self.at(method, entry.path, endpoint);
            }
        }
        self.nested.extend(other.nested);
        self
    }

    /// The router and the table of what it serves.
    pub fn build(self) -> (Route, RouteTable) {
        let mut table = RouteTable::default();
        let mut route = Route::new();
        for entry in self.paths {
            let methods: Vec<Method> = entry.methods.iter().map(|(m, _)| m.clone()).collect();
            table.add(entry.path, &methods);
            let mut by_method = RouteMethod::new();
            for (method, endpoint) in entry.methods {
                by_method = by_method.method(method, endpoint);
            }
            route = route.at(entry.path, by_method);
        }
        for (prefix, endpoint, nested) in self.nested {
            table.merge(nested);
            route = route.nest(prefix, endpoint);
        }
        (route, table)
    }
}

#[derive(Debug, Clone)]
struct Entry {
    template: String,
    segments: Vec<Segment>,
    methods: Vec<Method>,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Literal(String),
    Param,
    /// Matches the rest of the path (`*name`).
    Rest,
}

#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    entries: Vec<Entry>,
}

fn parse(template: &str) -> Vec<Segment> {
    template
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.starts_with('*') {
                Segment::Rest
            } else if s.starts_with(':') || (s.starts_with('{') && s.ends_with('}')) {
                Segment::Param
            } else {
                Segment::Literal(s.to_string())
            }
        })
        .collect()
}

impl RouteTable {
    /// Adds `methods` for `template` (poem's `/a/:id` or OpenAPI's `/a/{id}` syntax).
    pub fn add(&mut self, template: &str, methods: &[Method]) {
        if let Some(entry) = self.entries.iter_mut().find(|e| e.template == template) {
            for m in methods {
                if !entry.methods.contains(m) {
                    entry.methods.push(m.clone());
                }
            }
            return;
        }
        self.entries.push(Entry {
            template: template.to_string(),
            segments: parse(template),
            methods: methods.to_vec(),
        });
    }

    fn merge(&mut self, other: RouteTable) {
        for entry in other.entries {
            self.add(&entry.template, &entry.methods);
        }
    }

    /// Every template with its methods, for tests and docs.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &[Method])> {
        self.entries
            .iter()
            .map(|e| (e.template.as_str(), e.methods.as_slice()))
    }

    /// Adds every path and method of an OpenAPI document.
    pub fn add_openapi(&mut self, spec: &serde_json::Value) {
        let Some(paths) = spec.get("paths").and_then(|p| p.as_object()) else {
            return;
        };
        for (path, ops) in paths {
            let methods: Vec<Method> = ops
                .as_object()
                .map(|o| {
                    o.keys()
                        .filter_map(|m| Method::from_bytes(m.to_uppercase().as_bytes()).ok())
                        .collect()
                })
                .unwrap_or_default();
            self.add(path, &methods);
        }
    }

    fn matching(&self, path: &str) -> Option<&Entry> {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        // Literal matches win over parameters: prefer the entry with most literal segments.
        self.entries
            .iter()
            .filter(|e| matches(&e.segments, &parts))
            .max_by_key(|e| {
                e.segments
                    .iter()
                    .filter(|s| matches!(s, Segment::Literal(_)))
                    .count()
            })
    }

    /// The template that serves `path`, for metrics labels.
    pub fn template_for(&self, path: &str) -> Option<&str> {
        self.matching(path).map(|e| e.template.as_str())
    }

    /// The `Allow` header value for `path` (with HEAD wherever GET is allowed).
    pub fn allow_header(&self, path: &str) -> Option<String> {
        let entry = self.matching(path)?;
        let mut methods: Vec<&str> = entry.methods.iter().map(Method::as_str).collect();
        if methods.contains(&"GET") && !methods.contains(&"HEAD") {
            methods.push("HEAD");
        }
        Some(methods.join(", "))
    }
}

fn matches(segments: &[Segment], parts: &[&str]) -> bool {
    let mut i = 0;
    for seg in segments {
        match seg {
            Segment::Rest => return i < parts.len(),
            Segment::Param if i < parts.len() => i += 1,
            Segment::Literal(l) if parts.get(i) == Some(&l.as_str()) => i += 1,
            _ => return false,
        }
    }
    i == parts.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_templates_and_builds_allow() {
        let mut t = RouteTable::default();
        t.add("/login", &[Method::GET, Method::POST]);
        t.add("/setup/:token", &[Method::GET, Method::POST]);
        t.add("/static/*path", &[Method::GET]);
        t.add("/api/v1/users/{id}", &[Method::GET]);
        t.add("/api/v1/users/me", &[Method::PATCH]);
        assert_eq!(t.template_for("/setup/abc"), Some("/setup/:token"));
        assert_eq!(t.template_for("/static/a/b.css"), Some("/static/*path"));
        assert_eq!(t.template_for("/api/v1/users/me"), Some("/api/v1/users/me"));
        assert_eq!(t.template_for("/nope"), None);
        assert_eq!(t.allow_header("/login").as_deref(), Some("GET, POST, HEAD"));
        assert_eq!(
            t.allow_header("/api/v1/users/42").as_deref(),
            Some("GET, HEAD")
        );
    }
}

#[cfg(test)]
mod build_tests {
    use super::*;
    use poem::Request;

    #[poem::handler]
    fn hello() -> &'static str {
        "hello"
    }

    #[tokio::test]
    async fn one_list_makes_both_the_router_and_the_table() {
        let (route, table) = Routes::new()
            .get("/a", hello)
            .merge(Routes::new().post("/a", hello).get("/b/:id", hello))
            .build();
        assert_eq!(table.allow_header("/a").as_deref(), Some("GET, POST, HEAD"));
        assert_eq!(table.template_for("/b/7"), Some("/b/:id"));
        for (method, path) in [
            (Method::GET, "/a"),
            (Method::POST, "/a"),
            (Method::GET, "/b/7"),
        ] {
            let req = Request::builder().method(method).uri_str(path).finish();
            let resp = route.get_response(req).await;
            assert_eq!(resp.status(), poem::http::StatusCode::OK, "{path}");
        }
        assert_eq!(table.entries().count(), 2);
    }
}
