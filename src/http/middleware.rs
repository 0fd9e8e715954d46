//! The front of every request, in one place and in this order:
//! request id and log span → client address (trusted proxies) → body size limit →
//! API rate limit → the routes → errors turned into JSON or HTML → security headers →
//! access log and metrics.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use poem::http::{HeaderValue, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};
use tracing::Instrument;

use super::error::AppError;
use super::state::AppState;
use crate::service::limits::{Decision, Limit, LimitKind};

/// The request id, available to handlers as request data.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The client's address after trusted-proxy resolution.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

#[derive(Debug, Clone)]
pub struct FrontOptions {
    /// `Strict-Transport-Security` value, when TLS is on and HSTS is enabled.
    pub hsts: Option<String>,
    pub max_body_bytes: u64,
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; \
form-action 'self'; frame-ancestors 'none'";

pub struct Front<E> {
    inner: E,
    /// Shared with every request as request data, so a request costs one reference count.
    state: Arc<AppState>,
    /// What the router serves: `Allow` headers and metric labels come from it.
    routes: super::routing::RouteTable,
}

impl<E> Front<E> {
    pub fn new(inner: E, state: AppState, routes: super::routing::RouteTable) -> Self {
        Self {
            inner,
            state: Arc::new(state),
            routes,
        }
    }
}

fn new_request_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// The client address: the peer, unless the peer is a trusted proxy, in which case the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
pub fn client_ip(req: &Request, trusted: &[ipnet::IpNet]) -> IpAddr {
    let peer = req
        .remote_addr()
        .as_socket_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    forwarded
        .split(',')
        .rev()
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

impl<E: Endpoint> Endpoint for Front<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let started = Instant::now();
        let state = &self.state;
        let ip = client_ip(&req, &state.front.trusted_proxies);
        let request_id = req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
            .filter(|_| {
                state.front.trusted_proxies.iter().any(|n| {
                    req.remote_addr()
                        .as_socket_addr()
                        .is_some_and(|a| n.contains(&a.ip()))
                })
            })
            .map(str::to_string)
            .unwrap_or_else(new_request_id);
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let json_errors = is_api(&path) || path == "/metrics" || asks_for_json(&req);
        let span = tracing::info_span!("request", id = %request_id, method = %method, path = %path, client = %ip);
        req.set_data(RequestId(request_id.clone()));
        req.set_data(ClientIp(ip));
        req.set_data(Arc::clone(&self.state));

        async move {
            let rate = is_api(&path).then(|| api_rate(state, ip));
            // The route's template, found once: body limits and metrics go by it.
            let route = self.routes.template_for(&path);
            let outcome = if body_too_large(&req, body_limit(state, route)) {
                Err(AppError::from_poem(&poem::Error::from_status(
                    StatusCode::PAYLOAD_TOO_LARGE,
                )))
            } else if let Some(refused) = rate.filter(|d| !d.allowed) {
                Err(AppError::rate_limited(&refused))
            } else {
                match self.inner.call(req).await {
                    Ok(resp) => Ok(resp.into_response()),
                    Err(e) if e.is_from_response() => Ok(e.into_response()),
                    Err(e) => {
                        let app = e
                            .downcast_ref::<AppError>()
                            .cloned()
                            .unwrap_or_else(|| AppError::from_poem(&e));
                        if app.status.is_server_error() {
                            tracing::error!("request failed: {e}");
                        }
                        Err(app)
                    }
                }
            };
            let mut resp = match outcome {
                Ok(resp) if resp.status().is_client_error() || resp.status().is_server_error() => {
                    if resp.headers().contains_key(header::CONTENT_TYPE) {
                        resp
                    } else {
                        // A bare status from deep inside (e.g. a 404 from the static files).
                        render_error(
                            state,
                            json_errors,
                            &request_id,
                            &error_for_status(resp.status()),
                        )
                    }
                }
                Ok(resp) => resp,
                Err(mut app) => {
                    if app.status == StatusCode::METHOD_NOT_ALLOWED
                        && let Some(allow) = self.routes.allow_header(&path)
                    {
                        app = app.with_header("allow", allow);
                    }
                    render_error(state, json_errors, &request_id, &app)
                }
            };
            if resp.status() == StatusCode::METHOD_NOT_ALLOWED
                && !resp.headers().contains_key(header::ALLOW)
                && let Some(allow) = self.routes.allow_header(&path)
                && let Ok(v) = HeaderValue::from_str(&allow)
            {
                resp.headers_mut().insert(header::ALLOW, v);
            }
            // A more specific limit (sign-in, sign-up) has already set its own headers.
            if let Some(d) = rate
                && !resp.headers().contains_key("x-ratelimit-limit")
            {
                let h = resp.headers_mut();
                h.insert("x-ratelimit-limit", HeaderValue::from(d.limit));
                h.insert("x-ratelimit-remaining", HeaderValue::from(d.remaining));
                h.insert("x-ratelimit-reset", HeaderValue::from(d.reset_at));
            }
            security_headers(&mut resp, state, &request_id);

            let status = resp.status().as_u16();
            let elapsed = started.elapsed();
            state.metrics.observe(
                &method,
                route.unwrap_or("unmatched"),
                status,
                elapsed.as_secs_f64(),
            );
            tracing::info!(status, micros = elapsed.as_micros() as u64, "request");
            Ok(resp)
        }
        .instrument(span)
        .await
    }
}

fn error_for_status(status: StatusCode) -> AppError {
    AppError::from_poem(&poem::Error::from_status(status))
}

/// By the route's template: upload routes take files up to the media limits (a video and its
/// poster), record imports their CSV file, a record's file routes the admins' file size;
/// everything else is held to `server.max_body_kib`. The upload code enforces the exact limits
/// as the bytes arrive, so a missing or false `Content-Length` gains nothing.
fn body_limit(state: &AppState, route: Option<&str>) -> u64 {
    let is = |templates: &[&str]| route.is_some_and(|r| templates.contains(&r));
    if is(super::MEDIA_UPLOAD_PATHS) {
        let media = &state.settings.current().media;
        (u64::from(media.max_video_mib.max(media.max_photo_mib))
            + u64::from(media.max_photo_mib)
            + 1)
            * crate::domain::settings::MediaSettings::MIB
    } else if is(super::RECORD_IMPORT_PATHS) {
        crate::domain::record_csv::IMPORT_BYTES_MAX as u64 + 64 * 1024
    } else if is(super::RECORD_FILE_PATHS) {
        // The file, and a multipart form's parts around it.
        state.settings.current().records.attachment_max_bytes() + 64 * 1024
    } else {
        state.front.max_body_bytes
    }
}

fn body_too_large(req: &Request, max: u64) -> bool {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|len| len > max)
}

/// The API's per-client token bucket (a second's worth of burst).
fn api_rate(state: &AppState, ip: IpAddr) -> Decision {
    let per_second = state.settings.current().api_requests_per_second;
    let limit = Limit {
        capacity: per_second,
        per_second: f64::from(per_second),
    };
    let key = crate::service::limits::address_key(&ip.to_string());
    state.limiter.check(LimitKind::Api, &key, limit)
}

/// A page's script calling the server (a passkey ceremony) reads errors as JSON.
fn asks_for_json(req: &Request) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

fn render_error(state: &AppState, json: bool, request_id: &str, err: &AppError) -> Response {
    if json {
        err.to_json_response(request_id)
    } else {
        err.to_html_response(super::ui::error_page(state, request_id, err))
    }
}

fn security_headers(resp: &mut Response, state: &AppState, request_id: &str) {
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-request-id", v);
    }
    // A response with its own policy (a file served as a download) keeps it.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("geolocation=(self), microphone=(), camera=()"),
    );
    if let Some(hsts) = &state.front.hsts
        && let Ok(v) = HeaderValue::from_str(hsts)
    {
        h.insert(header::STRICT_TRANSPORT_SECURITY, v);
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}
