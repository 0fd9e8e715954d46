//! Media moderation: the approval queue (a grid of thumbnails; approve, or reject with a
//! reason), the latest uploads with removal, and the media settings. Moderators and up.

use askama::Template;
use poem::web::{Form, Path, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::staff_actor;
use crate::domain::account::FieldError;
use crate::domain::media::Media;
use crate::domain::settings::{MediaSettings, SettingsPatch};
use crate::http::auth::{Viewer, verify_csrf};
use crate::http::error::AppError;
use crate::http::ui::{PageContext, flash, render, render_status, state_of};
use crate::service::error::ServiceError;

#[derive(Template)]
#[template(path = "admin/media.html")]
struct MediaPage {
    page: PageContext,
    section: &'static str,
    queue: Vec<Media>,
    recent: Vec<Media>,
    settings: MediaSettings,
    errors: Vec<FieldError>,
}

async fn media_page(
    req: &Request,
    viewer: &Viewer,
    settings: Option<MediaSettings>,
    errors: Vec<FieldError>,
) -> Result<MediaPage, AppError> {
    let me = staff_actor(req, viewer)?;
    let state = state_of(req)?;
    Ok(MediaPage {
        page: PageContext::new(req, state, viewer),
        section: "media",
        queue: state.media.queue(&me, 0, 200).await?.0,
        recent: state.media.recent(&me, 60).await?,
        settings: settings.unwrap_or_else(|| state.settings.current().media.clone()),
        errors,
    })
}

#[handler]
pub async fn page(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    Ok(render(&media_page(req, &viewer, None, Vec::new()).await?)?.into_response())
}

#[derive(Deserialize)]
pub struct DecisionInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

#[handler]
pub async fn decide(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(input): Form<DecisionInput>,
) -> Result<Response, AppError> {
    let me = staff_actor(req, &viewer)?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    let id = id.parse().map_err(|_| AppError::not_found())?;
    let approve = input.decision == "approve";
    state.media.decide(&me, id, approve, &input.reason).await?;
    flash::set(req, if approve { "Approved." } else { "Rejected." });
    Ok(Redirect::see_other("/admin/media").into_response())
}

#[derive(Deserialize)]
pub struct RemoveInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

#[handler]
pub async fn remove(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(input): Form<RemoveInput>,
) -> Result<Response, AppError> {
    let me = staff_actor(req, &viewer)?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    let id = id.parse().map_err(|_| AppError::not_found())?;
    state.media.remove(&me, id, input.reason.trim()).await?;
    flash::set(req, "Removed.");
    Ok(Redirect::see_other("/admin/media").into_response())
}

#[derive(Deserialize)]
pub struct SettingsInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    max_photo_mib: String,
    #[serde(default)]
    max_video_mib: String,
    #[serde(default)]
    max_video_seconds: String,
    #[serde(default)]
    quota_mib: String,
    #[serde(default)]
    supporter_quota_mib: String,
    #[serde(default)]
    uploads_per_hour: String,
    #[serde(default)]
    needs_approval: String,
}

#[handler]
pub async fn save_settings(
    req: &Request,
    viewer: Viewer,
    Form(input): Form<SettingsInput>,
) -> Result<Response, AppError> {
    let me = staff_actor(req, &viewer)?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    let mut problems = Vec::new();
    let mut number = |field, raw: &str| super::whole_number(&mut problems, field, raw);
    let media = MediaSettings {
        max_photo_mib: number("max_photo_mib", &input.max_photo_mib),
        max_video_mib: number("max_video_mib", &input.max_video_mib),
        max_video_seconds: number("max_video_seconds", &input.max_video_seconds),
        quota_mib: number("quota_mib", &input.quota_mib),
        supporter_quota_mib: number("supporter_quota_mib", &input.supporter_quota_mib),
        uploads_per_hour: number("uploads_per_hour", &input.uploads_per_hour),
        needs_approval: input.needs_approval == "yes",
    };
    if !problems.is_empty() {
        let view = media_page(req, &viewer, Some(media), problems).await?;
        return render_status(&view, poem::http::StatusCode::UNPROCESSABLE_ENTITY);
    }
    let patch = SettingsPatch {
        max_photo_mib: Some(media.max_photo_mib),
        max_video_mib: Some(media.max_video_mib),
        max_video_seconds: Some(media.max_video_seconds),
        quota_mib: Some(media.quota_mib),
        supporter_quota_mib: Some(media.supporter_quota_mib),
        uploads_per_hour: Some(media.uploads_per_hour),
        needs_approval: Some(media.needs_approval),
        ..SettingsPatch::default()
    };
    match state.settings.update(&me, patch).await {
        Ok(_) => {
            flash::set(req, "Media settings saved.");
            Ok(Redirect::see_other("/admin/media").into_response())
        }
        Err(ServiceError::Invalid(fields)) => {
            let view = media_page(req, &viewer, Some(media), fields).await?;
            render_status(&view, poem::http::StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(e.into()),
    }
}
