//! The error kinds every service shares, and the one catalog of machine-readable codes.
//!
//! A service returns [`ServiceError`]: not found, forbidden, unauthenticated, invalid (with
//! the fields to fix), conflict, malformed, rate limited, unavailable — or a failure of the
//! store or of the server itself. A module with failures of its own (media: a file that is
//! not a photo, a disk that is full) has its own error type that wraps `ServiceError` for
//! the rest. The web layer maps each kind to a status once (`http/error.rs`), and the
//! OpenAPI document lists every [`ErrorCode`] with its meaning.

use crate::domain::account::FieldError;
use crate::store::StoreError;

use super::limits::Decision;

macro_rules! error_codes {
    ($($variant:ident = $text:literal : $doc:literal,)*) => {
        /// Every machine-readable error code a response can carry, in `code`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $(#[doc = $doc] $variant,)*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as clients see it, e.g. `VALIDATION_FAILED`.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $text,)* }
            }

            /// What the code means, for the API documentation.
            pub fn meaning(self) -> &'static str {
                match self { $(ErrorCode::$variant => $doc,)* }
            }
        }
    };
}

error_codes! {
    BadRequest = "BAD_REQUEST": "The request could not be read: malformed JSON, a wrong field type, a bad parameter.",
    Unauthorized = "UNAUTHORIZED": "Not signed in.",
    Forbidden = "FORBIDDEN": "Signed in, but your role or the rules do not allow this.",
    NotFound = "NOT_FOUND": "There is nothing at this address, or nothing you may see.",
    MethodNotAllowed = "METHOD_NOT_ALLOWED": "The path exists but not with this method; see the Allow header.",
    Conflict = "CONFLICT": "The request conflicts with the current state.",
    PayloadTooLarge = "PAYLOAD_TOO_LARGE": "The request body is larger than the server accepts.",
    UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE": "The request body has a content type this operation does not take.",
    ValidationFailed = "VALIDATION_FAILED": "Well-formed input that breaks a rule; `fields` says which and why.",
    RateLimited = "RATE_LIMITED": "Too many requests; wait for Retry-After seconds.",
    Internal = "INTERNAL": "Something went wrong on the server; the request id finds it in the log.",
    ShuttingDown = "SHUTTING_DOWN": "The server is shutting down; try again shortly.",
    Busy = "BUSY": "The server is busy with this kind of work; try again after Retry-After seconds.",
    CsrfFailed = "CSRF_FAILED": "A cookie-authenticated change without the session's CSRF token, or from another site.",
    SignInRequired = "SIGN_IN_REQUIRED": "A page that needs a signed-in member (browsers are sent to sign in).",
    SecondFactorRequired = "SECOND_FACTOR_REQUIRED": "A second factor is needed: a sign-in must send `code`, and staff tools need a session signed in with one when the site requires it.",
    TokenInvalid = "TOKEN_INVALID": "The API token is unknown, revoked or expired.",
    TokenReadOnly = "TOKEN_READ_ONLY": "A read-only API token cannot change anything.",
    WrongCredentials = "WRONG_CREDENTIALS": "Wrong username, email or password.",
    WrongCode = "WRONG_CODE": "The second-factor code is not right.",
    SignInExpired = "SIGN_IN_EXPIRED": "The second step of a sign-in took too long; start again.",
    AccountUnavailable = "ACCOUNT_UNAVAILABLE": "The account is waiting for approval, rejected, suspended or banned.",
    SetupLinkInvalid = "SETUP_LINK_INVALID": "The owner setup link is invalid or was used.",
    RegistrationClosed = "REGISTRATION_CLOSED": "Sign-ups are closed, invite-only, or paused.",
    InvitationUnusable = "INVITATION_UNUSABLE": "The invitation is unknown, withdrawn, expired or used up.",
    LinkInvalid = "LINK_INVALID": "A verification or reset link that is invalid, expired or used.",
    LastOwner = "LAST_OWNER": "The instance must keep one owner.",
    NotOnYourself = "NOT_ON_YOURSELF": "Staff tools do not act on your own account.",
    PasskeysUnavailable = "PASSKEYS_UNAVAILABLE": "Passkeys need the site to be reached by a domain name.",
    PasskeyRequestExpired = "PASSKEY_REQUEST_EXPIRED": "The passkey request expired or was answered already.",
    PasskeyMalformed = "PASSKEY_MALFORMED": "The passkey answer is not a WebAuthn credential.",
    PasskeyNotAccepted = "PASSKEY_NOT_ACCEPTED": "The passkey did not verify for this site.",
    UnsupportedMedia = "UNSUPPORTED_MEDIA": "The upload is not a photo or video Hearth takes, or does not decode as one.",
    TooLarge = "TOO_LARGE": "The upload is over its size limit or the member's storage quota.",
    OverLimit = "OVER_LIMIT": "The upload decodes but is over a limit: pixels, frames or duration.",
    StorageFailed = "STORAGE_FAILED": "The server could not store the file (disk full or not writable); nothing was kept.",
    BadForm = "BAD_FORM": "An upload that is not a readable multipart form, or has unexpected parts.",
    NoFile = "NO_FILE": "An upload form without its `file` part.",
    UploadInterrupted = "UPLOAD_INTERRUPTED": "The upload did not arrive whole.",
    MetricsForbidden = "METRICS_FORBIDDEN": "Metrics are served to loopback, or with the metrics token.",
    ProfileRequired = "PROFILE_REQUIRED": "Write your profile first: liking and passing need one.",
    EditWindowClosed = "EDIT_WINDOW_CLOSED": "A message or comment can be edited only in the 15 minutes after it was written.",
    TooManyStreams = "TOO_MANY_STREAMS": "The member has as many live streams open as allowed (one per tab); close one.",
    WebhookFailed = "WEBHOOK_FAILED": "The test call to the webhook did not succeed; the message says what happened.",
    VersionConflict = "VERSION_CONFLICT": "Someone saved first: `current` is the record as it is now and `changes` what changed since the version you edited; merge and save again with the new ETag.",
    VersionRequired = "VERSION_REQUIRED": "A change to a record needs `If-Match` with the ETag it was based on, so it cannot overwrite someone else's.",
    Error = "ERROR": "Another HTTP error; the status says which.",
}

/// A refusal: which code, and a message for people saying what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
}

impl Refusal {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// What went wrong in a service, in kinds the web layer maps to statuses in one place.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ServiceError {
    /// 404: nothing there, or nothing this caller may see (so ids cannot be probed).
    #[error("{}", .0.message)]
    NotFound(Refusal),
    /// 401: the caller is not who they need to be (wrong password, expired sign-in step).
    #[error("{}", .0.message)]
    Unauthenticated(Refusal),
    /// 403: the caller may not do this.
    #[error("{}", .0.message)]
    Forbidden(Refusal),
    /// 422: the input breaks rules; each field says why.
    #[error("some fields need attention")]
    Invalid(Vec<FieldError>),
    /// 409: the current state does not allow it (the last owner, an expired ceremony).
    #[error("{}", .0.message)]
    Conflict(Refusal),
    /// 400: the input cannot be read as what it should be.
    #[error("{}", .0.message)]
    Malformed(Refusal),
    /// 413: a file over its size limit.
    #[error("{}", .0.message)]
    TooLarge(Refusal),
    /// 429, with the limit's figures for the headers.
    #[error("too many requests; try again in {} s", .0.retry_after_seconds)]
    RateLimited(Decision),
    /// 503: try again after this many seconds (busy, shutting down).
    #[error("{}", .0.message)]
    Unavailable(Refusal, u64),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// 500: a failure of the server itself (logged; the client sees no detail).
    #[error("{0}")]
    Internal(String),
}

impl ServiceError {
    pub fn not_found() -> Self {
        Self::NotFound(Refusal::new(
            ErrorCode::NotFound,
            "There is nothing at this address.",
        ))
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(Refusal::new(ErrorCode::Forbidden, message))
    }

    /// The caller's role does not hold the permission.
    pub fn role() -> Self {
        Self::forbidden("Your role does not allow this.")
    }

    /// One field's problem.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }

    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Conflict(Refusal::new(code, message))
    }

    pub fn internal(what: impl std::fmt::Display) -> Self {
        Self::Internal(what.to_string())
    }

    /// The problems so far, or `Ok` when there are none.
    pub fn check(problems: Vec<FieldError>) -> Result<(), Self> {
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Self::Invalid(problems))
        }
    }
}

impl From<super::passwords::HashError> for ServiceError {
    fn from(e: super::passwords::HashError) -> Self {
        match e {
            super::passwords::HashError::Busy => Self::Unavailable(
                Refusal::new(
                    ErrorCode::Busy,
                    "Too many passwords are being checked right now; try again in a few seconds.",
                ),
                2,
            ),
            other => Self::internal(other),
        }
    }
}

impl From<crate::jobs::QueueError> for ServiceError {
    fn from(e: crate::jobs::QueueError) -> Self {
        match e {
            crate::jobs::QueueError::Store(e) => Self::Store(e),
            other => Self::internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_screaming_snake_case_and_documented() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} twice");
            assert!(
                text.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
                "{text}"
            );
            assert!(code.meaning().ends_with('.'), "{text}: {}", code.meaning());
        }
    }
}
