//! One error type for the web layer, and the one place where errors become responses:
//! the JSON envelope `{"error","code","statusCode"}` under `/api/`, a friendly HTML page
//! elsewhere. Every error response carries the request id.

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::account::FieldError;
use crate::service::StoreError;
use crate::service::accounts::AccountError;

/// An error as the client should see it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub fields: Vec<FieldError>,
    /// Extra response headers (`Allow`, `Retry-After`, …).
    pub headers: Vec<(&'static str, String)>,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "There is nothing at this address.",
        )
    }

    /// Sends a browser to the sign-in page, then back to `next`.
    pub fn sign_in_first(next: &str) -> Self {
        Self::new(
            StatusCode::SEE_OTHER,
            "SIGN_IN_REQUIRED",
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
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "Sign in first.")
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "Your role does not allow this.",
        )
    }

    pub fn csrf() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "CSRF_FAILED",
            "This form expired or came from another site. Reload the page and try again.",
        )
    }

    /// 429 with `Retry-After` and the `X-RateLimit-*` headers of the refusing limit.
    pub fn rate_limited(d: &crate::service::limits::Decision) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            format!(
                "Too many requests. Try again in {} s.",
                d.retry_after_seconds
            ),
        )
        .with_header("retry-after", d.retry_after_seconds.to_string())
        .with_header("x-ratelimit-limit", d.limit.to_string())
        .with_header("x-ratelimit-remaining", d.remaining.to_string())
        .with_header("x-ratelimit-reset", d.reset_seconds.to_string())
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
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
                "VALIDATION_FAILED",
                message,
            )
        }
    }

    /// The error for a failure poem or poem-openapi produced before our handlers ran.
    pub fn from_poem(err: &poem::Error) -> Self {
        let status = err.status();
        let detail = err.to_string();
        match status {
            StatusCode::NOT_FOUND => Self::not_found(),
            StatusCode::METHOD_NOT_ALLOWED => Self::new(
                status,
                "METHOD_NOT_ALLOWED",
                "This address does not accept this method; see the Allow header.",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => Self::new(
                status,
                "PAYLOAD_TOO_LARGE",
                "The request body is larger than this server accepts.",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::new(
                status,
                "UNSUPPORTED_MEDIA_TYPE",
                format!("Unsupported content type: {detail}"),
            ),
            StatusCode::BAD_REQUEST => Self::new(
                status,
                "BAD_REQUEST",
                format!("The request could not be read: {detail}"),
            ),
            StatusCode::UNAUTHORIZED => Self::unauthorized(),
            s if s.is_server_error() => Self::internal(),
            s => Self::new(
                s,
                "ERROR",
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
                "SHUTTING_DOWN",
                "The server is shutting down; try again shortly.",
            ),
            _ => Self::internal(),
        }
    }
}

impl From<AccountError> for AppError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid(fields) => Self::validation(fields),
            AccountError::SetupLinkInvalid => Self::new(
                StatusCode::NOT_FOUND,
                "SETUP_LINK_INVALID",
                "This setup link is invalid or was already used. Restart Hearth to print a new one if no owner exists yet.",
            ),
            AccountError::WrongCredentials => Self::new(
                StatusCode::UNAUTHORIZED,
                "WRONG_CREDENTIALS",
                "Wrong username, email or password.",
            ),
            AccountError::RateLimited(decision) => Self::rate_limited(&decision),
            AccountError::Refused(why) => {
                Self::new(StatusCode::FORBIDDEN, "ACCOUNT_UNAVAILABLE", why)
            }
            AccountError::ChallengeExpired => Self::new(
                StatusCode::UNAUTHORIZED,
                "SIGN_IN_EXPIRED",
                "The sign-in took too long. Start again with your password.",
            ),
            AccountError::WrongSecondFactor => Self::new(
                StatusCode::UNAUTHORIZED,
                "WRONG_CODE",
                "That code is not right. Use the current code from your app, or a recovery code.",
            ),
            AccountError::Store(e) => e.into(),
            AccountError::Hash(e) => {
                tracing::error!("{e}");
                Self::internal()
            }
        }
    }
}

impl From<crate::service::media::MediaError> for AppError {
    fn from(e: crate::service::media::MediaError) -> Self {
        use crate::service::media::MediaError as M;
        match e {
            M::Unsupported(why) => {
                Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA", why)
            }
            M::TooLarge(why) => Self::new(StatusCode::PAYLOAD_TOO_LARGE, "TOO_LARGE", why),
            M::OverLimit(why) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "OVER_LIMIT", why),
            M::RateLimited(decision) => Self::rate_limited(&decision),
            M::Forbidden(why) => Self::new(StatusCode::FORBIDDEN, "FORBIDDEN", why),
            M::NotFound => Self::not_found(),
            M::Invalid(fields) => Self::validation(fields),
            M::Storage(why) => Self::new(StatusCode::INSUFFICIENT_STORAGE, "STORAGE_FAILED", why),
            M::Store(e) => e.into(),
        }
    }
}

impl From<crate::service::passkeys::PasskeyError> for AppError {
    fn from(e: crate::service::passkeys::PasskeyError) -> Self {
        use crate::service::passkeys::PasskeyError as P;
        let message = e.to_string();
        match e {
            P::Unavailable(why) => Self::new(StatusCode::CONFLICT, "PASSKEYS_UNAVAILABLE", why),
            P::CeremonyExpired => Self::new(
                StatusCode::CONFLICT,
                "PASSKEY_REQUEST_EXPIRED",
                "The passkey request expired or was already answered. Start again.",
            ),
            P::Malformed(why) => Self::new(StatusCode::BAD_REQUEST, "PASSKEY_MALFORMED", why),
            P::NotAccepted(why) => Self::new(StatusCode::UNAUTHORIZED, "PASSKEY_NOT_ACCEPTED", why),
            P::Busy => Self::new(StatusCode::SERVICE_UNAVAILABLE, "BUSY", message)
                .with_header("retry-after", "60".into()),
            P::NotFound => Self::not_found(),
            P::Account(e) => e.into(),
        }
    }
}

impl From<crate::service::registration::RegistrationError> for AppError {
    fn from(e: crate::service::registration::RegistrationError) -> Self {
        use crate::service::registration::RegistrationError as R;
        match e {
            R::Closed(why) => Self::new(StatusCode::FORBIDDEN, "REGISTRATION_CLOSED", why),
            R::BadInvite(why) => Self::new(StatusCode::NOT_FOUND, "INVITATION_UNUSABLE", why),
            R::BadLink => Self::new(
                StatusCode::NOT_FOUND,
                "LINK_INVALID",
                "This link is invalid, has expired or was already used. Ask for a new one.",
            ),
            R::Forbidden => Self::forbidden(),
            R::NoSuchUser => Self::not_found(),
            R::Account(e) => e.into(),
        }
    }
}

impl From<crate::service::staff::StaffError> for AppError {
    fn from(e: crate::service::staff::StaffError) -> Self {
        use crate::service::staff::StaffError as S;
        match e {
            S::Forbidden => Self::forbidden(),
            S::NotFound => Self::not_found(),
            S::Refused(why) => Self::new(StatusCode::CONFLICT, "REFUSED", why),
            S::Invalid(fields) => Self::validation(fields),
            S::Store(e) => e.into(),
        }
    }
}

impl poem::error::ResponseError for AppError {
    fn status(&self) -> StatusCode {
        self.status
    }
}

/// The JSON error envelope.
#[derive(Debug, Serialize, poem_openapi::Object)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// What went wrong and how to fix it, for people.
    pub error: String,
    /// Stable machine-readable code, e.g. `VALIDATION_FAILED`.
    pub code: String,
    /// The HTTP status, repeated for clients that only see the body.
    pub status_code: u16,
    /// Per-field problems, when the input failed validation.
    #[oai(skip_serializing_if_is_empty)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldProblem>,
    /// The request id, also in the `X-Request-Id` header and in the server log.
    pub request_id: String,
}

#[derive(Debug, Serialize, poem_openapi::Object)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

impl AppError {
    pub fn body(&self, request_id: &str) -> ErrorBody {
        ErrorBody {
            error: self.message.clone(),
            code: self.code.to_string(),
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
}
