//! Operations endpoints: `/healthz` (alive), `/readyz` (able to serve), `/metrics`.

use poem::http::{StatusCode, header};
use poem::web::Json;
use poem::{IntoResponse, Request, Response, handler};
use subtle::ConstantTimeEq;

use super::error::AppError;
use super::middleware::ClientIp;
use super::routing::Routes;
use super::ui::state_of;
use crate::service::error::ErrorCode;

pub fn routes() -> Routes {
    Routes::new()
        .get("/healthz", healthz)
        .get("/readyz", readyz)
        .get("/metrics", metrics)
}

#[handler]
pub fn healthz() -> &'static str {
    "ok"
}

#[handler]
pub async fn readyz(req: &Request) -> Result<Response, AppError> {
    let state = state_of(req)?;
    let checks = state.system.readiness().await;
    let ready = checks.iter().all(|c| c.ok);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok(
        Json(serde_json::json!({ "ready": ready, "checks": checks }))
            .with_status(status)
            .into_response(),
    )
}

/// Prometheus text format. Readable from loopback, or anywhere with the configured bearer token.
#[handler]
pub async fn metrics(req: &Request) -> Result<Response, AppError> {
    let state = state_of(req)?;
    let token = state.metrics_token.as_ref();
    let from_loopback = req.data::<ClientIp>().is_some_and(|c| c.0.is_loopback());
    let bearer_ok = token.is_some_and(|expected| {
        req.headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| bool::from(given.as_bytes().ct_eq(expected.expose().as_bytes())))
    });
    if !from_loopback && !bearer_ok {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::MetricsForbidden,
            "Metrics are readable from loopback, or with the bearer token set in metrics.token.",
        ));
    }
    if let Ok((jobs, database_bytes)) = state.system.gauges().await {
        for (name, value) in [
            ("pending", jobs.pending),
            ("running", jobs.running),
            ("failed", jobs.failed),
        ] {
            state
                .metrics
                .jobs
                .get_or_create(&super::metrics::JobStateLabels { state: name })
                .set(i64::try_from(value).unwrap_or(i64::MAX));
        }
        state
            .metrics
            .database_bytes
            .set(i64::try_from(database_bytes).unwrap_or(i64::MAX));
    }
    Ok(Response::builder()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.encode()))
}
