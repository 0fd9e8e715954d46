//! The messages pages: the member's conversations, one conversation with a form to write,
//! and "Message" from a member's page. Plain forms; opening a conversation reads it.

use askama::Template;
use poem::web::{Form, Path, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::{PageContext, flash, render, signed_in, state_of};
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::media::Media;
use crate::domain::message::{Message, TEXT_MAX};
use crate::http::auth::{CsrfForm, Viewer, verify_csrf};
use crate::http::error::AppError;
use crate::http::routing::Routes;
use crate::service::access::Actor;
use crate::service::error::ServiceError;
use crate::service::messages::ConversationView;

pub fn routes() -> Routes {
    Routes::new()
        .get("/messages", inbox)
        .get("/messages/:id", conversation)
        .post("/messages/:id", write)
        .post("/messages/:id/delete/:message", delete)
        .post("/members/:id/message", start)
}

/// A conversation in a list: the other member's name and photo, and the view.
pub struct Row {
    pub view: ConversationView,
    pub name: String,
    pub photo: Option<String>,
}

fn rows(
    state: &crate::http::state::AppState,
    actor: &Actor,
    views: Vec<ConversationView>,
) -> Result<Vec<Row>, AppError> {
    let others: Vec<UserId> = views.iter().map(|v| v.other).collect();
    let shown = state.profiles.shown_as(actor, &others)?;
    Ok(views
        .into_iter()
        .zip(shown)
        .map(|(view, p)| Row {
            name: p.as_ref().map_or_else(
                || "A member".to_string(),
                |p| p.profile.display_name.clone(),
            ),
            photo: p
                .as_ref()
                .and_then(|p| p.photos.first().map(|m| format!("/media/{}/thumb", m.id))),
            view,
        })
        .collect())
}

#[derive(Template)]
#[template(path = "messages.html")]
struct InboxPage {
    page: PageContext,
    rows: Vec<Row>,
}

#[handler]
pub async fn inbox(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/messages")?;
    let state = state_of(req)?;
    let actor = me.actor();
    let views = state.messages.inbox(&actor, None, 100)?;
    Ok(render(&InboxPage {
        page: PageContext::new(req, state, &viewer),
        rows: rows(state, &actor, views)?,
    })?
    .into_response())
}

#[derive(Template)]
#[template(path = "conversation.html")]
struct ConversationPage {
    page: PageContext,
    row: Row,
    me: UserId,
    messages: Vec<Message>,
    text_max: usize,
    /// The member's ready photos, to send one.
    photos: Vec<Media>,
}

impl ConversationPage {
    /// Whether the other member has read `m` (shown under the last of mine they read).
    fn seen(&self, m: &Message) -> bool {
        m.author == self.me && self.row.view.theirs.last_read.is_some_and(|l| l >= m.id)
    }

    fn time(&self, m: &Message) -> String {
        m.sent_at.strftime("%Y-%m-%d %H:%M").to_string()
    }
}

fn conversation_id(raw: &str) -> Result<ConversationId, AppError> {
    raw.parse().map_err(|_| AppError::not_found())
}

#[handler]
pub async fn conversation(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, req.uri().path())?;
    let state = state_of(req)?;
    let actor = me.actor();
    let id = conversation_id(&id)?;
    let messages = state.messages.page(&actor, id, None, None, 100)?;
    // Opening the conversation reads it (on every device).
    let view = state.messages.mark_read(&actor, id, None).await?;
    let row = rows(state, &actor, vec![view])?
        .pop()
        .ok_or_else(AppError::internal)?;
    let photos = super::media::ready_uploads(state, &me.user, 30)
        .await?
        .into_iter()
        .filter(|m| !m.format.is_video())
        .collect();
    Ok(render(&ConversationPage {
        page: PageContext::new(req, state, &viewer),
        row,
        me: actor.id,
        messages,
        text_max: TEXT_MAX,
        photos,
    })?
    .into_response())
}

#[derive(Deserialize)]
pub struct WriteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
    /// A photo from the member's library (empty: none).
    #[serde(default)]
    media: String,
}

#[handler]
pub async fn write(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(input): Form<WriteForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, req.uri().path())?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    let id = conversation_id(&id)?;
    let media = match input.media.trim() {
        "" => None,
        raw => Some(
            raw.parse()
                .map_err(|_| AppError::invalid("media", "Choose a photo from your library."))?,
        ),
    };
    // A problem goes back to the conversation, said at the top of the page.
    match state
        .messages
        .send(&me.actor(), id, &input.text, media)
        .await
    {
        Ok(_) => {}
        Err(ServiceError::Invalid(problems)) => {
            let said: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
            flash::set(req, &said.join(" "));
        }
        Err(ServiceError::Forbidden(why)) => flash::set(req, &why.message),
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::see_other(format!("/messages/{id}#end")).into_response())
}

#[handler]
pub async fn delete(
    req: &Request,
    viewer: Viewer,
    Path((id, message)): Path<(String, String)>,
    Form(input): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, req.uri().path())?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    let id = conversation_id(&id)?;
    let message: MessageId = message.parse().map_err(|_| AppError::not_found())?;
    state.messages.delete(&me.actor(), message).await?;
    flash::set(req, "Message deleted.");
    Ok(Redirect::see_other(format!("/messages/{id}")).into_response())
}

/// "Message" on a member's page: to the conversation, started if need be.
#[handler]
pub async fn start(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(input): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, req.uri().path())?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    let other: UserId = id.parse().map_err(|_| AppError::not_found())?;
    let opened = state
        .messages
        .open(&me.actor(), me.user.email_verified, other)
        .await?;
    Ok(Redirect::see_other(format!("/messages/{}", opened.id)).into_response())
}
