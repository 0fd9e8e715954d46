//! The stories page: the live stories the member may see, and a form to share one of their
//! uploads for 24 hours. Plain forms.

use askama::Template;
use poem::web::{Form, Path, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::{PageContext, flash, render, signed_in, state_of};
use crate::domain::media::Media;
use crate::domain::story::{Audience, Story};
use crate::http::auth::{CsrfForm, Viewer, verify_csrf};
use crate::http::error::AppError;
use crate::http::routing::Routes;
use crate::service::profiles::ProfileCard;

pub fn routes() -> Routes {
    Routes::new()
        .get("/stories", page)
        .post("/stories", share)
        .get("/stories/:id", story)
        .post("/stories/:id/delete", take_down)
}

#[derive(Template)]
#[template(path = "stories.html")]
struct StoriesPage {
    page: PageContext,
    stories: Vec<Story>,
    library: Vec<Media>,
}

#[handler]
pub async fn page(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/stories")?;
    let state = state_of(req)?;
    let stories = state.stories.feed(&me.actor(), 50)?;
    let library = super::media::ready_uploads(state, &me.user, 30).await?;
    Ok(render(&StoriesPage {
        page: PageContext::new(req, state, &viewer),
        stories,
        library,
    })?
    .into_response())
}

#[derive(Deserialize)]
pub struct ShareForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    media: String,
    #[serde(default)]
    caption: String,
    #[serde(default)]
    audience: String,
}

#[handler]
pub async fn share(
    req: &Request,
    viewer: Viewer,
    Form(input): Form<ShareForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/stories")?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    let media = input
        .media
        .parse()
        .map_err(|_| AppError::invalid("media", "Choose a photo from your library."))?;
    let audience = if input.audience == "members" {
        Audience::Members
    } else {
        Audience::Matches
    };
    state
        .stories
        .create(&me.actor(), media, &input.caption, audience)
        .await?;
    flash::set(req, "Shared for 24 hours.");
    Ok(Redirect::see_other("/stories").into_response())
}

#[derive(Template)]
#[template(path = "story.html")]
struct StoryPage {
    page: PageContext,
    story: Story,
    /// For its author: who saw it and when, newest first.
    viewers: Option<Vec<(ProfileCard, String)>>,
}

#[handler]
pub async fn story(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, req.uri().path())?;
    let state = state_of(req)?;
    let id = id.parse().map_err(|_| AppError::not_found())?;
    let actor = me.actor();
    let story = state.stories.view(&actor, id).await?;
    let viewers = if story.author == actor.id {
        let seen = state.stories.viewers(&actor, id)?;
        let cards = state.profiles.cards_for(&actor, seen)?;
        Some(
            cards
                .into_iter()
                .map(|(card, at)| (card, at.strftime("%H:%M UTC").to_string()))
                .collect(),
        )
    } else {
        None
    };
    Ok(render(&StoryPage {
        page: PageContext::new(req, state, &viewer),
        story,
        viewers,
    })?
    .into_response())
}

/// The author takes their story down before it expires.
#[handler]
pub async fn take_down(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(input): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/stories")?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    let id = id.parse().map_err(|_| AppError::not_found())?;
    state.stories.delete(&me.actor(), id).await?;
    flash::set(req, "Your story is gone.");
    Ok(Redirect::see_other("/stories").into_response())
}
