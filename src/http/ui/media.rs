//! The member's media library: upload (with progress when scripts run), list, preview, delete.

use askama::Template;
use poem::web::{Multipart, Path, Redirect};
use poem::{IntoResponse, Request, Response, handler};

use super::{PageContext, flash, render, render_status, signed_in, state_of};
use crate::domain::media::Media;
use crate::http::auth::{CsrfForm, Viewer, verify_csrf};
use crate::http::error::AppError;
use crate::http::routing::Routes;
use crate::service::error::ErrorCode;

/// Uploads shown per page of the library.
const PAGE: usize = 60;

/// The member's media library pages.
pub fn routes() -> Routes {
    Routes::new()
        .get("/media", page)
        .post("/media", upload)
        .get("/media/:id", item)
        .post("/media/:id/delete", delete)
}

#[derive(serde::Deserialize, Default)]
pub struct LibraryQuery {
    before: Option<String>,
}

#[derive(Template)]
#[template(path = "media.html")]
struct LibraryPage {
    page: PageContext,
    items: Vec<Media>,
    /// The cursor of the next page, when there is one.
    next: Option<String>,
    used_mib: String,
    quota_mib: u64,
    max_photo_mib: u32,
    max_video_mib: u32,
    max_video_seconds: u32,
    needs_approval: bool,
    error: Option<String>,
}

/// "0.4 MiB" or, under a tenth of a MiB, "12 KiB": small uploads should not read as nothing.
fn mib(bytes: u64) -> String {
    if bytes < 104_858 {
        format!("{} KiB", bytes.div_ceil(1024))
    } else {
        format!("{:.1} MiB", bytes as f64 / 1_048_576.0)
    }
}

async fn library(
    req: &Request,
    viewer: &Viewer,
    error: Option<String>,
) -> Result<LibraryPage, AppError> {
    let me = signed_in(viewer, req.uri().path())?;
    let state = state_of(req)?;
    let before = req
        .params::<LibraryQuery>()
        .ok()
        .and_then(|q| q.before)
        .and_then(|b| b.parse().ok());
    let library = state.media.library(&me.user, before, PAGE).await?;
    let (used, quota) = state.media.usage(&me.user).await?;
    let settings = state.settings.current().media.clone();
    Ok(LibraryPage {
        page: PageContext::new(req, state, viewer),
        items: library
            .items
            .iter()
            .map(|entry| entry.media())
            .collect::<Result<_, _>>()?,
        next: library.next.map(|id| id.to_string()),
        used_mib: mib(used),
        quota_mib: quota / 1_048_576,
        max_photo_mib: settings.max_photo_mib,
        max_video_mib: settings.max_video_mib,
        max_video_seconds: settings.max_video_seconds,
        needs_approval: settings.needs_approval,
        error,
    })
}

#[handler]
pub async fn page(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    Ok(render(&library(req, &viewer, None).await?)?.into_response())
}

/// `POST /media`: the upload form without scripts. Refusals come back on the page with the
/// reason and the status that says what went wrong.
#[handler]
pub async fn upload(
    req: &Request,
    viewer: Viewer,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/media")?;
    let state = state_of(req)?;
    match crate::http::media::receive(req, state, &viewer, &me.user, multipart).await {
        Ok(_) => {
            flash::set(req, "Uploaded. It will be ready in a moment.");
            Ok(Redirect::see_other("/media").into_response())
        }
        Err(e) if e.status.is_client_error() && e.code != ErrorCode::CsrfFailed => {
            let status = e.status;
            render_status(&library(req, &viewer, Some(e.message)).await?, status)
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "media_item.html")]
struct ItemPage {
    page: PageContext,
    item: Media,
    own: bool,
}

#[handler]
pub async fn item(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, req.uri().path())?;
    let state = state_of(req)?;
    let id = id.parse().map_err(|_| AppError::not_found())?;
    let item = state.media.get(&me.actor(), id).await?;
    Ok(render(&ItemPage {
        page: PageContext::new(req, state, &viewer),
        own: item.owner == me.user.id,
        item,
    })?
    .into_response())
}

#[handler]
pub async fn delete(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    poem::web::Form(input): poem::web::Form<CsrfForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/media")?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    let id = id.parse().map_err(|_| AppError::not_found())?;
    state.media.delete(&me.actor(), id, "").await?;
    flash::set(req, "Deleted.");
    Ok(Redirect::see_other("/media").into_response())
}

/// The member's uploads that are ready to share (newest first, at most `limit`), for forms
/// that pick one: a story, a photo in a message.
pub async fn ready_uploads(
    state: &crate::http::state::AppState,
    user: &crate::domain::account::User,
    limit: usize,
) -> Result<Vec<crate::domain::media::Media>, AppError> {
    Ok(state
        .media
        .library(user, None, limit)
        .await?
        .items
        .iter()
        .map(|entry| entry.media())
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|m| m.state == crate::domain::media::MediaState::Ready)
        .collect())
}
