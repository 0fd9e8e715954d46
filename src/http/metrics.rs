//! Prometheus metrics: request count and latency per route template and status, plus gauges
//! read at scrape time (job queue, database size).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: &'static str,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: &'static str,
    pub route: String,
}

/// The method as a label: the standard methods by name, anything invented as `OTHER`, so a
/// client making up methods cannot grow the label set.
pub fn method_label(method: &poem::http::Method) -> &'static str {
    use poem::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobStateLabels {
    pub state: &'static str,
}

pub struct HttpMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    pub jobs: Family<JobStateLabels, Gauge>,
    pub database_bytes: Gauge,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpMetrics {
    pub fn new() -> Self {
        Self::with(|_| {})
    }

    /// The HTTP metrics, plus what `register` adds (the services' own counters).
    pub fn with(register: impl FnOnce(&mut Registry)) -> Self {
        let mut registry = Registry::with_prefix("hearth");
        register(&mut registry);
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ])
        });
        let jobs = Family::<JobStateLabels, Gauge>::default();
        let database_bytes = Gauge::default();
        registry.register(
            "http_requests",
            "HTTP requests by route template and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route template",
            latency.clone(),
        );
        registry.register("jobs", "Background jobs by state", jobs.clone());
        registry.register(
            "database_bytes",
            "Size of the database file",
            database_bytes.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            jobs,
            database_bytes,
        }
    }

    /// Counts one request; `route` is a route template or `unmatched`, never a raw path.
    pub fn observe(&self, method: &poem::http::Method, route: &str, status: u16, seconds: f64) {
        let method = method_label(method);
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route: route.to_string(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method,
                route: route.to_string(),
            })
            .observe(seconds);
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
