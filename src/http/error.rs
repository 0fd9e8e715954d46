//! One error type for the web layer, and the one place where errors become responses:
//! the JSON envelope `{"error","code","statusCode"}` under `/api/`, a friendly HTML page
//! elsewhere. Every error response carries the request id.
//!
//! Services report [`ServiceError`] kinds (and media its own); each kind maps to one status
//! here. `AppError` is a poem-openapi response too, so API handlers return
//! `Result<_, AppError>` directly.

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::account::FieldError;
use crate::service::StoreError;
use crate::service::error::{ErrorCode, Refusal, ServiceError};

/// An error as the client should see it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    pub fields: Vec<FieldError>,
    /// Extra response headers (`Allow`, `Retry-After`, …).
    pub headers: Vec<(&'static str, String)>,
    /// Extra members of the JSON body (a version conflict's `current` and `changes`).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl AppError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
            headers: Vec::new(),
            extra: serde_json::Map::new(),
        }
    }

    fn refusal(status: StatusCode, r: Refusal) -> Self {
        Self::new(status, r.code, r.message)
    }

    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Adds `name` to the JSON body (the error schema describes each such member).
    pub fn with_body_member(mut self, name: &str, value: serde_json::Value) -> Self {
        self.extra.insert(name.to_string(), value);
        self
    }

    /// An id from a path: one that does not parse is as absent as one that is not there.
    pub fn path_id<T: std::str::FromStr>(raw: &str) -> Result<T, AppError> {
        raw.parse().map_err(|_| Self::not_found())
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "There is nothing at this address.",
        )
    }

    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// Sends a browser to the sign-in page, then back to `next`.
    pub fn sign_in_first(next: &str) -> Self {
        Self::new(
            StatusCode::SEE_OTHER,
            ErrorCode::SignInRequired,
            "Sign in to see this page.",
        )
        .with_header(
            "location",
            format!(
                "/login?next={}",
                url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
            ),
        )
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "Sign in first.",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "Your role does not allow this.",
        )
    }

    pub fn csrf() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ErrorCode::CsrfFailed,
            "This form expired or came from another site. Reload the page and try again.",
        )
    }

    /// 429 with `Retry-After` and the `X-RateLimit-*` headers of the refusing limit.
    pub fn rate_limited(d: &crate::service::limits::Decision) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            format!(
                "Too many requests. Try again in {} s.",
                d.retry_after_seconds
            ),
        )
        .with_header("retry-after", d.retry_after_seconds.to_string())
        .with_header("x-ratelimit-limit", d.limit.to_string())
        .with_header("x-ratelimit-remaining", d.remaining.to_string())
        .with_header("x-ratelimit-reset", d.reset_at.to_string())
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "Something went wrong on our side. It has been logged.",
        )
    }

    pub fn validation(fields: Vec<FieldError>) -> Self {
        let message = fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            fields,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::ValidationFailed,
                message,
            )
        }
    }

    /// One field's problem (422).
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }

    /// The error for a failure poem or poem-openapi produced before our handlers ran.
    pub fn from_poem(err: &poem::Error) -> Self {
        let status = err.status();
        let detail = err.to_string();
        match status {
            StatusCode::NOT_FOUND => Self::not_found(),
            StatusCode::METHOD_NOT_ALLOWED => Self::new(
                status,
                ErrorCode::MethodNotAllowed,
                "This address does not accept this method; see the Allow header.",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => Self::new(
                status,
                ErrorCode::PayloadTooLarge,
                "The request body is larger than this server accepts.",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::new(
                status,
                ErrorCode::UnsupportedMediaType,
                format!("Unsupported content type: {detail}"),
            ),
            StatusCode::BAD_REQUEST => Self::new(
                status,
                ErrorCode::BadRequest,
                format!("The request could not be read: {detail}"),
            ),
            StatusCode::UNAUTHORIZED => Self::unauthorized(),
            s if s.is_server_error() => Self::internal(),
            s => Self::new(
                s,
                ErrorCode::Error,
                s.canonical_reason().unwrap_or("Error").to_string(),
            ),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        tracing::error!("store error: {e}");
        match e {
            StoreError::WriterGone => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::ShuttingDown,
                "The server is shutting down; try again shortly.",
            )
            .with_header("retry-after", "5".into()),
            _ => Self::internal(),
        }
    }
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound(r) => Self::refusal(StatusCode::NOT_FOUND, r),
            ServiceError::Unauthenticated(r) => Self::refusal(StatusCode::UNAUTHORIZED, r),
            ServiceError::Forbidden(r) => Self::refusal(StatusCode::FORBIDDEN, r),
            ServiceError::Invalid(fields) => Self::validation(fields),
            ServiceError::Conflict(r) => Self::refusal(StatusCode::CONFLICT, r),
            ServiceError::Malformed(r) => Self::refusal(StatusCode::BAD_REQUEST, r),
            ServiceError::TooLarge(r) => Self::refusal(StatusCode::PAYLOAD_TOO_LARGE, r),
            ServiceError::RateLimited(decision) => Self::rate_limited(&decision),
            ServiceError::Unavailable(r, retry_after) => {
                Self::refusal(StatusCode::SERVICE_UNAVAILABLE, r)
                    .with_header("retry-after", retry_after.to_string())
            }
            ServiceError::Store(e) => e.into(),
            ServiceError::Internal(why) => {
                tracing::error!("{why}");
                Self::internal()
            }
        }
    }
}

impl From<crate::service::media::MediaError> for AppError {
    fn from(e: crate::service::media::MediaError) -> Self {
        use crate::service::media::MediaError as M;
        match e {
            M::Unsupported(why) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMedia,
                why,
            ),
            M::TooLarge(why) => Self::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::TooLarge, why),
            M::OverLimit(why) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::OverLimit, why)
            }
            M::Storage(why) => Self::new(
                StatusCode::INSUFFICIENT_STORAGE,
                ErrorCode::StorageFailed,
                why,
            ),
            M::Service(e) => e.into(),
        }
    }
}

impl poem::error::ResponseError for AppError {
    fn status(&self) -> StatusCode {
        self.status
    }
}

/// API operations return `Result<_, AppError>`. The error statuses each operation documents
/// are added to the OpenAPI document by `api::document` (one table per operation id), so
/// nothing is declared here.
impl poem_openapi::ApiResponse for AppError {
    fn meta() -> poem_openapi::registry::MetaResponses {
        poem_openapi::registry::MetaResponses {
            responses: Vec::new(),
        }
    }

    fn register(_registry: &mut poem_openapi::registry::Registry) {}
}

/// The JSON error envelope.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// What went wrong and how to fix it, for people.
    pub error: String,
    /// Stable machine-readable code, e.g. `VALIDATION_FAILED`.
    pub code: &'static str,
    /// The HTTP status, repeated for clients that only see the body.
    pub status_code: u16,
    /// Per-field problems, when the input failed validation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldProblem>,
    /// The request id, also in the `X-Request-Id` header and in the server log.
    pub request_id: String,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Serialize)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

impl AppError {
    pub fn body(&self, request_id: &str) -> ErrorBody {
        ErrorBody {
            error: self.message.clone(),
            code: self.code.as_str(),
            status_code: self.status.as_u16(),
            fields: self
                .fields
                .iter()
                .map(|f| FieldProblem {
                    field: f.field.to_string(),
                    message: f.message.clone(),
                })
                .collect(),
            request_id: request_id.to_string(),
            extra: self.extra.clone(),
        }
    }

    pub fn to_json_response(&self, request_id: &str) -> Response {
        let body = serde_json::to_string(&self.body(request_id)).unwrap_or_else(|_| "{}".into());
        let mut resp = Response::builder()
            .status(self.status)
            .content_type("application/json; charset=utf-8")
            .body(body);
        self.apply_headers(&mut resp);
        resp
    }

    pub fn to_html_response(&self, page: String) -> Response {
        let mut resp = poem::web::Html(page)
            .with_status(self.status)
            .into_response();
        self.apply_headers(&mut resp);
        resp
    }

    fn apply_headers(&self, resp: &mut Response) {
        for (name, value) in &self.headers {
            if let Ok(v) = poem::http::HeaderValue::from_str(value) {
                resp.headers_mut().insert(*name, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_server_error_hides_its_cause_and_keeps_the_shape() {
        let resp = AppError::internal().to_json_response("0123456789abcdef");
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body: serde_json::Value =
            serde_json::from_slice(&resp.into_body().into_bytes().await.unwrap()).unwrap();
        assert_eq!(body["statusCode"], 500);
        assert_eq!(body["code"], "INTERNAL");
        assert_eq!(body["requestId"], "0123456789abcdef");
        assert!(body.get("fields").is_none());
    }

    #[test]
    fn validation_errors_are_422_with_fields() {
        let err = AppError::validation(vec![FieldError::new("email", "Enter an email address.")]);
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        let body = serde_json::to_value(err.body("id")).unwrap();
        assert_eq!(body["fields"][0]["field"], "email");
        assert_eq!(body["code"], "VALIDATION_FAILED");
    }

    #[test]
    fn each_service_error_kind_has_its_status() {
        let r = || Refusal::new(ErrorCode::LastOwner, "x");
        let cases: Vec<(ServiceError, u16)> = vec![
            (ServiceError::not_found(), 404),
            (ServiceError::Unauthenticated(r()), 401),
            (ServiceError::forbidden("x"), 403),
            (ServiceError::invalid("f", "x"), 422),
            (ServiceError::Conflict(r()), 409),
            (ServiceError::Malformed(r()), 400),
            (ServiceError::Unavailable(r(), 3), 503),
            (ServiceError::internal("x"), 500),
        ];
        for (e, status) in cases {
            assert_eq!(AppError::from(e).status.as_u16(), status);
        }
        let busy = AppError::from(ServiceError::Unavailable(r(), 3));
        assert!(busy.headers.contains(&("retry-after", "3".into())));
    }
}
