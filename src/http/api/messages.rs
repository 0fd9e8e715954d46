//! `/api/v1/conversations` and `/api/v1/messages`: write to matches (or any member, when the
//! community allows it), page through a conversation both ways, read receipts, edits within
//! fifteen minutes, deletions that leave a trace.

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::me::{Done, acting};
use super::reply::Reply;
use super::text::Text;
use super::{ApiTags, Data, Feed, feed, format_keyed_cursor, id_cursor, keyed_cursor};
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::media::Variant;
use crate::domain::message::Message;
use crate::http::auth::Viewer;
use crate::http::error::AppError;
use crate::http::ui::state_of;
use crate::service::access::Actor;
use crate::service::messages::ConversationView;

pub struct MessagesApi;

/// A message. A deleted one keeps its place with no text and `deleted: true`.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    /// Time-ordered: later messages of a conversation have greater ids.
    pub id: String,
    pub conversation_id: String,
    pub author_id: String,
    /// Plain text; line breaks are `\n`. Show it as text, never as HTML.
    pub text: String,
    /// The photo sent with it (card size).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo_url: Option<String>,
    pub sent_at: String,
    /// When it was last edited (shown as "edited").
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<String>,
    pub deleted: bool,
}

impl From<&Message> for MessageView {
    fn from(m: &Message) -> Self {
        Self {
            id: m.id.to_string(),
            conversation_id: m.conversation.to_string(),
            author_id: m.author.to_string(),
            text: m.text.clone(),
            photo_url: m
                .media
                .map(|id| format!("/media/{id}/{}", Variant::Card.as_str())),
            sent_at: m.sent_at.to_string(),
            edited_at: m.edited_at.map(|t| t.to_string()),
            deleted: m.deleted,
        }
    }
}

/// A conversation as the caller sees it.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ConversationItem {
    pub id: String,
    /// The other member.
    pub member_id: String,
    /// Their display name (empty when they have no profile).
    pub display_name: String,
    /// Their main photo (thumbnail), when others may see one.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo_url: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_message: Option<MessageView>,
    pub last_activity: String,
    /// Messages the caller has not read.
    pub unread: u32,
    /// The newest message the other member has read ("seen").
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seen_up_to: Option<String>,
    /// Why the caller cannot write here any more (after an unmatch, or when the other member
    /// is no longer available); absent while they can.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed: Option<String>,
}

fn items(
    req: &Request,
    actor: &Actor,
    views: &[ConversationView],
) -> Result<Vec<ConversationItem>, AppError> {
    let others: Vec<UserId> = views.iter().map(|v| v.other).collect();
    let shown = state_of(req)?.profiles.shown_as(actor, &others)?;
    Ok(views
        .iter()
        .zip(shown)
        .map(|(v, p)| ConversationItem {
            id: v.conversation.id.to_string(),
            member_id: v.other.to_string(),
            display_name: p
                .as_ref()
                .map(|p| p.profile.display_name.clone())
                .unwrap_or_default(),
            photo_url: p.as_ref().and_then(|p| {
                p.photos
                    .first()
                    .map(|m| format!("/media/{}/{}", m.id, Variant::Thumb.as_str()))
            }),
            last_message: v.last_message.as_ref().map(MessageView::from),
            last_activity: v.conversation.last_activity.to_string(),
            unread: v.mine.unread,
            seen_up_to: v.theirs.last_read.map(|m| m.to_string()),
            closed: v.closed.map(str::to_string),
        })
        .collect())
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct StartInput {
    /// Whom to write to.
    #[oai(validator(max_length = 36))]
    pub member_id: Text,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct MessageInput {
    /// Up to 4,000 characters; may be empty when a photo goes with it.
    #[oai(nullable, default, validator(max_length = 16000))]
    pub text: Text,
    /// A ready photo from the sender's library.
    #[oai(nullable, validator(max_length = 36))]
    pub media_id: Option<Text>,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct EditInput {
    /// The new text (up to 4,000 characters).
    #[oai(validator(max_length = 16000))]
    pub text: Text,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ReadInput {
    /// The newest message read; the conversation's newest when absent or null.
    #[oai(nullable, validator(max_length = 36))]
    pub up_to: Option<Text>,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct UnreadView {
    /// Unread messages in all the caller's conversations.
    pub messages: u32,
}

#[derive(ApiResponse)]
pub enum Sent {
    /// Stored: the message is durable.
    #[oai(status = 201)]
    Created(Reply<Data<MessageView>>),
}

fn conversation_id(raw: &str) -> Result<ConversationId, AppError> {
    raw.parse().map_err(|_| AppError::not_found())
}

fn message_id(raw: &str) -> Result<MessageId, AppError> {
    raw.parse().map_err(|_| AppError::not_found())
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Messages")]
impl MessagesApi {
    /// My conversations
    ///
    /// Most recently active first, each with the other member, the last message, unread
    /// count and how far the other member read. A feed (`cursor`).
    #[oai(
        path = "/conversations",
        method = "get",
        operation_id = "listConversations"
    )]
    async fn list(
        &self,
        req: &Request,
        viewer: Viewer,
        /// `nextCursor` of the page before.
        #[oai(validator(max_length = 64))]
        cursor: Query<Option<String>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
    ) -> Result<Reply<Feed<ConversationItem>>, AppError> {
        let me = viewer.require()?;
        let actor = me.actor();
        let limit = limit.0.unwrap_or(20);
        let views = state_of(req)?.messages.inbox(
            &actor,
            keyed_cursor(cursor.0.as_deref())?,
            limit as usize,
        )?;
        let next = (views.len() == limit as usize)
            .then(|| views.last())
            .flatten()
            .map(|v| {
                format_keyed_cursor((
                    v.conversation.last_activity.as_millisecond(),
                    v.conversation.id,
                ))
            });
        Ok(Reply(feed(items(req, &actor, &views)?, limit, next)))
    }

    /// Write to a member
    ///
    /// The conversation with `memberId`, started if there is none (`403` when the community
    /// lets members write only to their matches and these two are not matched; `429` past
    /// the daily number of new conversations).
    #[oai(
        path = "/conversations",
        method = "post",
        operation_id = "startConversation"
    )]
    async fn start(
        &self,
        req: &Request,
        viewer: Viewer,
        body: Json<StartInput>,
    ) -> Result<Reply<Data<ConversationItem>>, AppError> {
        let me = acting(req, &viewer)?;
        let actor = me.actor();
        let other: UserId = body
            .0
            .member_id
            .parse()
            .map_err(|_| AppError::not_found())?;
        let state = state_of(req)?;
        let c = state
            .messages
            .open(&actor, me.user.email_verified, other)
            .await?;
        let view = state.messages.conversation(&actor, c.id)?;
        let mut item = items(req, &actor, &[view])?;
        Ok(Reply(Data {
            data: item.pop().ok_or_else(AppError::internal)?,
        }))
    }

    /// Get a conversation
    #[oai(
        path = "/conversations/:id",
        method = "get",
        operation_id = "getConversation"
    )]
    async fn get(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
    ) -> Result<Reply<Data<ConversationItem>>, AppError> {
        let me = viewer.require()?;
        let actor = me.actor();
        let view = state_of(req)?
            .messages
            .conversation(&actor, conversation_id(&id.0)?)?;
        let mut item = items(req, &actor, &[view])?;
        Ok(Reply(Data {
            data: item.pop().ok_or_else(AppError::internal)?,
        }))
    }

    /// Messages of a conversation
    ///
    /// Oldest first. Without `after`: the newest `limit` (before `before`, when given), and
    /// `nextCursor` is the oldest one's id, to pass as `before` for older ones. With only
    /// `after`: the `limit` messages after it, and `nextCursor` is the newest one's id, to
    /// pass as `after` for newer ones. Either way it is absent when there are no more.
    #[oai(
        path = "/conversations/:id/messages",
        method = "get",
        operation_id = "listMessages"
    )]
    async fn messages(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
        #[oai(validator(max_length = 36))] before: Query<Option<String>>,
        #[oai(validator(max_length = 36))] after: Query<Option<String>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
    ) -> Result<Reply<Feed<MessageView>>, AppError> {
        let me = viewer.require()?;
        let limit = limit.0.unwrap_or(50);
        let before: Option<MessageId> = id_cursor(before.0.as_deref())?;
        let after: Option<MessageId> = id_cursor(after.0.as_deref())?;
        let page = state_of(req)?.messages.page(
            &me.actor(),
            conversation_id(&id.0)?,
            after,
            before,
            limit as usize,
        )?;
        let forward = after.is_some() && before.is_none();
        let next = (page.len() == limit as usize)
            .then(|| if forward { page.last() } else { page.first() })
            .flatten()
            .map(|m| m.id.to_string());
        Ok(Reply(feed(
            page.iter().map(MessageView::from).collect(),
            limit,
            next,
        )))
    }

    /// Send a message
    ///
    /// Answered once the message is durable. `403` when the conversation is closed (unmatched,
    /// blocked, the member gone), with the reason.
    #[oai(
        path = "/conversations/:id/messages",
        method = "post",
        operation_id = "sendMessage"
    )]
    async fn send(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
        body: Json<MessageInput>,
    ) -> Result<Sent, AppError> {
        let me = acting(req, &viewer)?;
        let media =
            match body.0.media_id.as_deref() {
                Some(raw) => Some(raw.parse().map_err(|_| {
                    AppError::invalid("mediaId", "Choose a photo from your library.")
                })?),
                None => None,
            };
        let message = state_of(req)?
            .messages
            .send(&me.actor(), conversation_id(&id.0)?, &body.0.text, media)
            .await?;
        Ok(Sent::Created(Reply(Data {
            data: MessageView::from(&message),
        })))
    }

    /// Mark a conversation read
    ///
    /// Up to `upTo` (the newest message when absent): its unread count goes to zero on every
    /// device, and the other member sees how far it was read.
    #[oai(
        path = "/conversations/:id/read",
        method = "post",
        operation_id = "markConversationRead"
    )]
    async fn read(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
        body: Json<ReadInput>,
    ) -> Result<Done, AppError> {
        let me = acting(req, &viewer)?;
        let upto = match body.0.up_to.as_deref() {
            Some(raw) => Some(message_id(raw)?),
            None => None,
        };
        state_of(req)?
            .messages
            .mark_read(&me.actor(), conversation_id(&id.0)?, upto)
            .await?;
        Ok(Done::Done)
    }

    /// Edit my message
    ///
    /// Within 15 minutes of sending it (`409 EDIT_WINDOW_CLOSED` after); shown as edited.
    #[oai(path = "/messages/:id", method = "patch", operation_id = "editMessage")]
    async fn edit(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
        body: Json<EditInput>,
    ) -> Result<Reply<Data<MessageView>>, AppError> {
        let me = acting(req, &viewer)?;
        let message = state_of(req)?
            .messages
            .edit(&me.actor(), message_id(&id.0)?, &body.0.text)
            .await?;
        Ok(Reply(Data {
            data: MessageView::from(&message),
        }))
    }

    /// Delete my message
    ///
    /// Both members see "message deleted" in its place.
    #[oai(
        path = "/messages/:id",
        method = "delete",
        operation_id = "deleteMessage"
    )]
    async fn delete(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
    ) -> Result<Done, AppError> {
        let me = acting(req, &viewer)?;
        state_of(req)?
            .messages
            .delete(&me.actor(), message_id(&id.0)?)
            .await?;
        Ok(Done::Done)
    }

    /// My unread messages
    #[oai(path = "/me/unread", method = "get", operation_id = "getMyUnread")]
    async fn unread(
        &self,
        req: &Request,
        viewer: Viewer,
    ) -> Result<Reply<Data<UnreadView>>, AppError> {
        let me = viewer.require()?;
        let messages = state_of(req)?.messages.unread_total(&me.actor())?;
        Ok(Reply(Data {
            data: UnreadView { messages },
        }))
    }
}
