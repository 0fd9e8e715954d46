//! `/api/v1/stories`: share a photo or video for 24 hours, see the stories one may see, who
//! viewed one's own.

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::matching::{MemberAt, people};
use super::me::{Done, acting};
use super::reply::Reply;
use super::text::Text;
use super::{ApiTags, Data};
use crate::domain::story::{Audience, Story};
use crate::http::auth::Viewer;
use crate::http::error::AppError;
use crate::http::ui::state_of;

pub struct StoriesApi;

#[derive(Enum, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum StoryAudience {
    /// Only the author's matches.
    Matches,
    /// Every member who may see the author.
    Members,
}

impl From<StoryAudience> for Audience {
    fn from(a: StoryAudience) -> Self {
        match a {
            StoryAudience::Matches => Audience::Matches,
            StoryAudience::Members => Audience::Members,
        }
    }
}

impl From<Audience> for StoryAudience {
    fn from(a: Audience) -> Self {
        match a {
            Audience::Matches => StoryAudience::Matches,
            Audience::Members => StoryAudience::Members,
        }
    }
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct StoryInput {
    /// A photo or video from the member's library.
    #[oai(validator(max_length = 36))]
    pub media_id: Text,
    /// One line, up to 200 characters.
    #[oai(nullable, default, validator(max_length = 200))]
    pub caption: Text,
    pub audience: StoryAudience,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct StoryView {
    pub id: String,
    pub author_id: String,
    pub media_id: String,
    /// The image to show (the card-sized variant; a video's poster).
    pub image_url: String,
    pub caption: String,
    pub audience: StoryAudience,
    pub created_at: String,
    pub expires_at: String,
}

impl From<&Story> for StoryView {
    fn from(s: &Story) -> Self {
        Self {
            id: s.id.to_string(),
            author_id: s.author.to_string(),
            media_id: s.media.to_string(),
            image_url: format!("/media/{}/card", s.media),
            caption: s.caption.clone(),
            audience: s.audience.into(),
            created_at: s.created_at.to_string(),
            expires_at: s.expires_at.to_string(),
        }
    }
}

#[derive(ApiResponse)]
pub enum Shared {
    /// Shared for 24 hours.
    #[oai(status = 201)]
    Created(Reply<Data<StoryView>>),
}

fn story_id(raw: &str) -> Result<crate::domain::ids::StoryId, AppError> {
    raw.parse().map_err(|_| AppError::not_found())
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Profiles")]
impl StoriesApi {
    /// Share a story
    ///
    /// A photo or video from the member's library with a caption, for 24 hours, to their
    /// matches or to every member. Removed when it expires (with its upload, unless the
    /// profile shows it).
    #[oai(path = "/stories", method = "post", operation_id = "shareStory")]
    async fn share(
        &self,
        req: &Request,
        viewer: Viewer,
        body: Json<StoryInput>,
    ) -> Result<Shared, AppError> {
        let me = acting(req, &viewer)?;
        let media = body.0.media_id.parse().map_err(|_| {
            AppError::invalid("mediaId", "Choose a photo or video from your library.")
        })?;
        let story = state_of(req)?
            .stories
            .create(&me.actor(), media, &body.0.caption, body.0.audience.into())
            .await?;
        Ok(Shared::Created(Reply(Data {
            data: StoryView::from(&story),
        })))
    }

    /// Stories I may see
    ///
    /// Live stories of members the caller may see (matches-only stories from matches),
    /// newest first.
    #[oai(path = "/stories", method = "get", operation_id = "listStories")]
    async fn feed(
        &self,
        req: &Request,
        viewer: Viewer,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
    ) -> Result<Reply<Data<Vec<StoryView>>>, AppError> {
        let me = viewer.require()?;
        let stories = state_of(req)?
            .stories
            .feed(&me.actor(), limit.0.unwrap_or(50) as usize)?;
        Ok(Reply(Data {
            data: stories.iter().map(StoryView::from).collect(),
        }))
    }

    /// Get a story
    ///
    /// `404` once it has expired, or when the caller may not see it. A look is recorded for
    /// its author.
    #[oai(path = "/stories/:id", method = "get", operation_id = "getStory")]
    async fn get(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
    ) -> Result<Reply<Data<StoryView>>, AppError> {
        let me = viewer.require()?;
        let story = state_of(req)?
            .stories
            .view(&me.actor(), story_id(&id.0)?)
            .await?;
        Ok(Reply(Data {
            data: StoryView::from(&story),
        }))
    }

    /// Who viewed my story
    #[oai(
        path = "/stories/:id/viewers",
        method = "get",
        operation_id = "listStoryViewers"
    )]
    async fn viewers(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
    ) -> Result<Reply<Data<Vec<MemberAt>>>, AppError> {
        let me = viewer.require()?;
        let actor = me.actor();
        let state = state_of(req)?;
        let found = state.stories.viewers(&actor, story_id(&id.0)?)?;
        Ok(Reply(Data {
            data: people(req, &actor, found)?,
        }))
    }

    /// Take my story down
    #[oai(path = "/stories/:id", method = "delete", operation_id = "deleteStory")]
    async fn delete(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
    ) -> Result<Done, AppError> {
        let me = acting(req, &viewer)?;
        state_of(req)?
            .stories
            .delete(&me.actor(), story_id(&id.0)?)
            .await?;
        Ok(Done::Done)
    }
}
