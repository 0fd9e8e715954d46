//! Media over HTTP, shared by the pages and the API: reading a multipart upload as it streams
//! in, and serving `/media/{id}/{variant}` with strong ETags, `304`, and byte ranges.

use poem::http::{HeaderMap, StatusCode, header};
use poem::web::{Multipart, Path};
use poem::{Body, IntoResponse, Request, Response, handler};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::auth::{Viewer, verify_csrf};
use super::error::AppError;
use super::routing::Routes;
use super::state::AppState;
use super::ui::state_of;
use crate::domain::account::User;
use crate::domain::media::{Media, Variant};
use crate::service::error::ErrorCode;
use crate::service::media::IncomingFile;

/// The media files themselves.
pub fn routes() -> Routes {
    Routes::new().get("/media/:id/:variant", serve)
}

/// Reads an upload: a `file` part and, for a video, an optional `poster` part. A browser form
/// sends its `csrf` part first; API clients send `X-CSRF-Token` (or use a bearer token).
/// Nothing is kept if anything goes wrong.
pub async fn receive(
    req: &Request,
    state: &AppState,
    viewer: &Viewer,
    user: &User,
    mut multipart: Multipart,
) -> Result<Media, AppError> {
    let header_checked = req.headers().contains_key("x-csrf-token")
        || viewer.0.as_ref().is_some_and(|s| s.token_scope.is_some());
    if header_checked {
        verify_csrf(req, state, viewer, None)?;
    }
    let mut csrf_checked = header_checked;
    let (mut file, mut poster): (Option<IncomingFile>, Option<IncomingFile>) = (None, None);
    while let Some(field) = multipart.next_field().await.map_err(bad_form)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "csrf" {
            check_csrf_part(req, state, viewer, field).await?;
            csrf_checked = true;
            continue;
        }
        if !csrf_checked {
            return Err(AppError::csrf());
        }
        // The poster rides on the file's admission (rate limit), so it must come after it.
        let slot = match name.as_str() {
            "file" if file.is_none() => &mut file,
            "poster" if poster.is_none() && file.is_some() => &mut poster,
            _ => {
                return Err(AppError::bad_request(
                    ErrorCode::BadForm,
                    format!(
                        "Unexpected form part {name:?}: send one `file` and then, for a video, one `poster`."
                    ),
                ));
            }
        };
        let file_name = field.file_name().unwrap_or_default().to_string();
        let mut incoming = if name == "file" {
            state.media.begin_upload(user, &file_name).await?
        } else {
            state.media.begin_poster(user).await?
        };
        read_part(field, &mut incoming).await?;
        *slot = Some(incoming);
    }
    if !csrf_checked {
        return Err(AppError::csrf());
    }
    let Some(file) = file else {
        return Err(AppError::bad_request(
            ErrorCode::NoFile,
            "Choose a photo or video to upload (form part `file`).",
        ));
    };
    Ok(state.media.finish_upload(user, file, poster).await?)
}

/// Checks a form's `csrf` part, reading at most a token's length (a part must not fill
/// memory).
pub async fn check_csrf_part(
    req: &Request,
    state: &AppState,
    viewer: &Viewer,
    field: poem::web::Field,
) -> Result<(), AppError> {
    let mut token = String::new();
    field
        .into_async_read()
        .take(256)
        .read_to_string(&mut token)
        .await
        .map_err(|_| AppError::csrf())?;
    verify_csrf(req, state, viewer, Some(token.trim()))
}

/// Something an uploaded file is written into as it arrives.
pub trait Receiver: Send {
    fn take(&mut self, chunk: &[u8]) -> impl Future<Output = Result<(), AppError>> + Send;
}

impl Receiver for IncomingFile {
    async fn take(&mut self, chunk: &[u8]) -> Result<(), AppError> {
        Ok(self.push(chunk).await?)
    }
}

impl Receiver for crate::service::records::IncomingAttachment {
    async fn take(&mut self, chunk: &[u8]) -> Result<(), AppError> {
        Ok(self.push(chunk).await?)
    }
}

/// Streams a form part into `into` a buffer at a time, as it arrives.
pub async fn read_part(field: poem::web::Field, into: &mut impl Receiver) -> Result<(), AppError> {
    let mut reader = field.into_async_read();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf).await.map_err(|e| {
            AppError::bad_request(
                ErrorCode::UploadInterrupted,
                format!("The upload did not arrive whole ({e}); try again."),
            )
        })?;
        if n == 0 {
            return Ok(());
        }
        into.take(&buf[..n]).await?;
    }
}

fn bad_form(e: poem::error::ParseMultipartError) -> AppError {
    AppError::bad_request(
        ErrorCode::BadForm,
        format!("The upload is not a readable multipart form ({e})."),
    )
}

/// One byte range of a file of `len` bytes, from a `Range` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ranged {
    /// No usable range: send everything.
    Whole,
    Part {
        start: u64,
        end: u64,
    },
    Unsatisfiable,
}

/// Parses `bytes=a-b`, `bytes=a-` and `bytes=-n`. Several ranges are answered with the whole
/// file (allowed by RFC 9110), which players never ask for anyway.
fn parse_range(value: &str, len: u64) -> Ranged {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ranged::Whole;
    };
    if spec.contains(',') {
        return Ranged::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Ranged::Unsatisfiable;
    };
    let (a, b) = (a.trim(), b.trim());
    let parsed = match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(start), Ok(end)) if start <= end => Some((start, end.min(len.saturating_sub(1)))),
        (Ok(start), Err(_)) if b.is_empty() => Some((start, len.saturating_sub(1))),
        (Err(_), Ok(suffix)) if a.is_empty() && suffix > 0 => {
            Some((len.saturating_sub(suffix), len.saturating_sub(1)))
        }
        _ => None,
    };
    match parsed {
        Some((start, end)) if start < len && start <= end => Ranged::Part { start, end },
        _ => Ranged::Unsatisfiable,
    }
}

fn etag_matches(headers: &HeaderMap, name: header::HeaderName, etag: &str) -> bool {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

/// `GET /media/{id}/{variant}`: the file, if the viewer may see it. Unknown, hidden and
/// missing look the same (404), so ids cannot be probed.
#[handler]
pub async fn serve(
    req: &Request,
    viewer: Viewer,
    Path((id, variant)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let state = state_of(req)?;
    let Some(actor) = viewer.0.map(|s| s.actor()) else {
        return Err(AppError::not_found());
    };
    let id = id.parse().map_err(|_| AppError::not_found())?;
    let variant = Variant::parse(&variant).ok_or_else(AppError::not_found)?;
    let (blob, path) = state.media.file(&actor, id, variant).await?;
    let etag = format!("\"{}\"", blob.hex());
    let headers = req.headers();
    let common = |status: StatusCode| {
        Response::builder()
            .status(status)
            .header(header::ETAG, etag.clone())
            // Revalidated each time (a cheap 304): access can end (rejection, deletion,
            // a suspended owner) and a cached copy must not outlive it.
            .header(header::CACHE_CONTROL, "private, no-cache")
            .header(header::ACCEPT_RANGES, "bytes")
            .header(header::VARY, "Cookie")
    };
    if etag_matches(headers, header::IF_NONE_MATCH, &etag) {
        return Ok(common(StatusCode::NOT_MODIFIED).finish());
    }
    let len = blob.size;
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        // A range for another version of the file is ignored (RFC 9110 If-Range).
        Some(_)
            if headers.contains_key(header::IF_RANGE)
                && !etag_matches(headers, header::IF_RANGE, &etag) =>
        {
            Ranged::Whole
        }
        Some(value) => parse_range(value, len),
        None => Ranged::Whole,
    };
    let mut file = tokio::fs::File::open(&path).await.map_err(|e| {
        tracing::error!("media {id}: blob {} unreadable: {e}", blob.hex());
        AppError::internal()
    })?;
    let (status, start, count) = match range {
        Ranged::Whole => (StatusCode::OK, 0, len),
        Ranged::Part { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        Ranged::Unsatisfiable => {
            return Ok(common(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{len}"))
                .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body("The requested range is outside the file."));
        }
    };
    if start > 0 {
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(|_| AppError::internal())?;
    }
    let mut resp = common(status)
        .header(header::CONTENT_TYPE, blob.content_type.clone())
        .header(header::CONTENT_LENGTH, count.to_string())
        .header(header::CONTENT_DISPOSITION, "inline");
    if status == StatusCode::PARTIAL_CONTENT {
        resp = resp.header(
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{len}", start + count - 1),
        );
    }
    if req.method() == poem::http::Method::HEAD {
        return Ok(resp.finish());
    }
    Ok(resp
        .body(Body::from_async_read(file.take(count)))
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(
            parse_range("bytes=0-99", 1000),
            Ranged::Part { start: 0, end: 99 }
        );
        assert_eq!(
            parse_range("bytes=900-", 1000),
            Ranged::Part {
                start: 900,
                end: 999
            }
        );
        assert_eq!(
            parse_range("bytes=-100", 1000),
            Ranged::Part {
                start: 900,
                end: 999
            }
        );
        assert_eq!(
            parse_range("bytes=990-5000", 1000),
            Ranged::Part {
                start: 990,
                end: 999
            }
        );
        assert_eq!(parse_range("bytes=1000-", 1000), Ranged::Unsatisfiable);
        assert_eq!(parse_range("bytes=5-4", 1000), Ranged::Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 1000), Ranged::Unsatisfiable);
        assert_eq!(parse_range("bytes=abc", 1000), Ranged::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), Ranged::Whole);
        assert_eq!(parse_range("items=0-1", 1000), Ranged::Whole);
    }
}
