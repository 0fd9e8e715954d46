//! `/api/v1/media`: a member's media library, and the moderation queue for staff. Uploads go
//! to `POST /api/v1/media/uploads` (multipart, streamed; see [`upload`]).

use super::rendered::Rendered;
use super::reply::Reply;
use super::text::Text;
use poem::Request;
use poem::web::Multipart;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::me::{Done, acting};
use super::{ApiTags, Data, Feed, Listed, PageRequest, feed, id_cursor};
use crate::domain::media::{Media, Variant};
use crate::http::auth::Viewer;
use crate::http::error::AppError;
use crate::http::ui::state_of;

pub struct MediaApi;

/// An uploaded photo or video.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct MediaView {
    pub id: String,
    pub owner_id: String,
    /// jpeg, png, gif, webp, mp4 or webm (what the bytes are, whatever the name said).
    pub format: String,
    pub original_name: String,
    pub size: u64,
    pub created_at: String,
    /// processing, pending approval, ready, failed or rejected.
    pub state: String,
    /// Why it failed or was rejected.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub width: u32,
    pub height: u32,
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    pub animated: bool,
    /// A blurhash placeholder, once processed.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blurhash: Option<String>,
    /// URLs of the variants ready so far: thumb, card, full, and video for videos.
    pub urls: Vec<VariantUrl>,
}

#[derive(Object, serde::Serialize)]
pub struct VariantUrl {
    pub variant: String,
    pub url: String,
}

impl From<&Media> for MediaView {
    fn from(m: &Media) -> Self {
        let mut urls: Vec<VariantUrl> = m
            .variants
            .iter()
            .map(|(v, _)| VariantUrl {
                variant: v.as_str().into(),
                url: format!("/media/{}/{}", m.id, v.as_str()),
            })
            .collect();
        if m.format.is_video() && m.original.is_some() {
            urls.push(VariantUrl {
                variant: Variant::Video.as_str().into(),
                url: format!("/media/{}/video", m.id),
            });
        }
        Self {
            id: m.id.to_string(),
            owner_id: m.owner.to_string(),
            format: m.format.as_str().into(),
            original_name: m.original_name.clone(),
            size: m.upload_size,
            created_at: m.created_at.to_string(),
            state: m.state.label().into(),
            reason: m.state.reason().map(str::to_string),
            width: m.width,
            height: m.height,
            duration_ms: m.duration_ms,
            animated: m.animated,
            blurhash: m.blurhash.clone(),
            urls,
        }
    }
}

#[derive(Object, serde::Serialize)]
pub struct MediaDecision {
    /// true approves; false rejects (a reason is required).
    pub approve: bool,
    #[oai(validator(max_length = 500))]
    #[oai(nullable, skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Text>,
}

#[derive(ApiResponse)]
pub enum Uploaded {
    /// Stored; processing runs in the background (`state` says where it is).
    #[oai(status = 201)]
    Created(Reply<Data<MediaView>>),
}

fn media_id(raw: &str) -> Result<crate::domain::ids::MediaId, AppError> {
    raw.parse().map_err(|_| AppError::not_found())
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Media")]
impl MediaApi {
    /// List my media
    ///
    /// The member's uploads, newest first, in every state; a feed (`cursor`).
    #[oai(path = "/media", method = "get", operation_id = "listMyMedia")]
    async fn list(
        &self,
        req: &Request,
        viewer: Viewer,
        /// `nextCursor` of the page before.
        #[oai(validator(max_length = 36))]
        cursor: Query<Option<String>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
    ) -> Result<Reply<Feed<Rendered<MediaView>>>, AppError> {
        let me = viewer.require()?;
        let before = id_cursor(cursor.0.as_deref())?;
        let limit = PageRequest::new(None, limit.0).limit;
        let state = state_of(req)?;
        let page = state
            .media
            .library(&me.user, before, limit as usize)
            .await?;
        let views = state.media_views.get_or_render_all(
            page.items
                .iter()
                .map(|item| {
                    let make = || item.media().map(|m| MediaView::from(&m));
                    ((item.id, item.version()), make)
                })
                .collect(),
        )?;
        Ok(Reply(feed(
            views,
            limit,
            page.next.map(|id| id.to_string()),
        )))
    }

    /// Get media
    ///
    /// One upload, if the caller may see it: their own in any state, others' once ready,
    /// anything for staff.
    #[oai(path = "/media/:id", method = "get", operation_id = "getMedia")]
    async fn get(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
    ) -> Result<Reply<Data<MediaView>>, AppError> {
        let me = viewer.require()?;
        let media = state_of(req)?
            .media
            .get(&me.actor(), media_id(&id.0)?)
            .await?;
        Ok(Reply(Data {
            data: MediaView::from(&media),
        }))
    }

    /// Delete my media
    #[oai(path = "/media/:id", method = "delete", operation_id = "deleteMedia")]
    async fn delete(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
    ) -> Result<Done, AppError> {
        let me = acting(req, &viewer)?;
        state_of(req)?
            .media
            .delete(&me.actor(), media_id(&id.0)?, "")
            .await?;
        Ok(Done::Done)
    }

    /// The moderation queue
    ///
    /// Uploads waiting for approval, oldest first (moderators and up).
    #[oai(
        path = "/admin/media/queue",
        method = "get",
        operation_id = "listMediaQueue"
    )]
    async fn queue(
        &self,
        req: &Request,
        viewer: Viewer,
        #[oai(validator(minimum(value = "1"), maximum(value = "100000")))] page: Query<Option<u32>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
    ) -> Result<Reply<Listed<MediaView>>, AppError> {
        let me = viewer.require()?;
        let paging = PageRequest::new(page.0, limit.0);
        let (items, total) = state_of(req)?
            .media
            .queue(&me.actor(), paging.offset(), paging.limit())
            .await?;
        Ok(Reply(paging.answer(
            items.iter().map(MediaView::from).collect(),
            total,
        )))
    }

    /// Approve or reject media
    #[oai(
        path = "/admin/media/:id/decision",
        method = "post",
        operation_id = "decideMedia"
    )]
    async fn decide(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
        body: Json<MediaDecision>,
    ) -> Result<Reply<Data<MediaView>>, AppError> {
        let me = acting(req, &viewer)?;
        let media = state_of(req)?
            .media
            .decide(
                &me.actor(),
                media_id(&id.0)?,
                body.0.approve,
                body.0.reason.as_deref().unwrap_or_default(),
            )
            .await?;
        Ok(Reply(Data {
            data: MediaView::from(&media),
        }))
    }

    /// Remove anyone's media (staff)
    #[oai(
        path = "/admin/media/:id",
        method = "delete",
        operation_id = "removeMedia"
    )]
    async fn remove(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
    ) -> Result<Done, AppError> {
        let me = acting(req, &viewer)?;
        state_of(req)?
            .media
            .remove(&me.actor(), media_id(&id.0)?, "removed through the API")
            .await?;
        Ok(Done::Done)
    }
}

/// `POST /api/v1/media/uploads`: a multipart upload (`file`, and `poster` for a video),
/// streamed to disk. Outside poem-openapi because its upload type buffers whole files; the
/// operation is added to the OpenAPI document by hand (`api::upload_operation`).
#[poem::handler]
pub async fn upload(
    req: &Request,
    viewer: Viewer,
    multipart: Multipart,
) -> Result<poem::Response, AppError> {
    use poem::IntoResponse;
    let me = viewer.clone().require()?;
    let state = state_of(req)?;
    let media = crate::http::media::receive(req, state, &viewer, &me.user, multipart).await?;
    let body = serde_json::json!({ "data": media_json(&media) });
    Ok(poem::web::Json(body)
        .with_status(poem::http::StatusCode::CREATED)
        .into_response())
}

fn media_json(media: &Media) -> serde_json::Value {
    use poem_openapi::types::ToJSON;
    MediaView::from(media).to_json().unwrap_or_default()
}
