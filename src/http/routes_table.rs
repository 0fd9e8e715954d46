//! The table of route templates and their methods. It gives `405` responses their `Allow`
//! header and gives metrics a bounded route label (the template, never the raw path).

use poem::http::Method;

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
