//! `/api/v1/notifications`: the in-app notification centre — the list, the unread count,
//! marking some or all read.

use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::me::acting;
use super::reply::Reply;
use super::text::Text;
use super::{ApiTags, Data, Feed, feed, id_cursor};
use crate::domain::ids::NotificationId;
use crate::domain::notification::Notification;
use crate::http::auth::Viewer;
use crate::http::error::AppError;
use crate::http::ui::state_of;

pub struct NotificationsApi;

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct NotificationView {
    /// Time-ordered.
    pub id: String,
    /// What happened: `like:new`, `match:new`, `message:new`, `story:viewed`,
    /// `media:approved`, `media:rejected`.
    pub event: String,
    pub title: String,
    /// More, when there is more (the start of a message).
    pub body: String,
    /// Who did it, when someone did and it may be said.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
    /// What it is about, e.g. `conversation:<id>`, `match:<id>`, `media:<id>`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// `low`, `normal`, `high` or `critical`.
    pub priority: String,
    pub created_at: String,
    pub read: bool,
}

impl From<&Notification> for NotificationView {
    fn from(n: &Notification) -> Self {
        Self {
            id: n.id.to_string(),
            event: n.event.clone(),
            title: n.title.clone(),
            body: n.body.clone(),
            actor_id: n.actor.map(|a| a.to_string()),
            subject: n.subject.clone(),
            priority: n.priority.as_str().into(),
            created_at: n.created_at.to_string(),
            read: n.read,
        }
    }
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct UnreadNotifications {
    pub unread: u32,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct MarkRead {
    /// The notifications to mark read; all of the caller's when absent or null.
    #[oai(nullable, validator(max_items = 100, max_length = 36))]
    pub ids: Option<Vec<Text>>,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct MarkedRead {
    /// How many were unread and are read now.
    pub marked: u32,
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Messages")]
impl NotificationsApi {
    /// My notifications
    ///
    /// Newest first; a feed (`cursor`). At most 500 are kept per member.
    #[oai(
        path = "/notifications",
        method = "get",
        operation_id = "listNotifications"
    )]
    async fn list(
        &self,
        req: &Request,
        viewer: Viewer,
        /// `nextCursor` of the page before.
        #[oai(validator(max_length = 36))]
        cursor: Query<Option<String>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
    ) -> Result<Reply<Feed<NotificationView>>, AppError> {
        let me = viewer.require()?;
        let limit = limit.0.unwrap_or(20);
        let before: Option<NotificationId> = id_cursor(cursor.0.as_deref())?;
        let found = state_of(req)?
            .notifications
            .list(&me.actor(), before, limit as usize)?;
        let next = (found.len() == limit as usize)
            .then(|| found.last().map(|n| n.id.to_string()))
            .flatten();
        Ok(Reply(feed(
            found.iter().map(NotificationView::from).collect(),
            limit,
            next,
        )))
    }

    /// My unread notifications
    #[oai(
        path = "/notifications/unread",
        method = "get",
        operation_id = "countUnreadNotifications"
    )]
    async fn unread(
        &self,
        req: &Request,
        viewer: Viewer,
    ) -> Result<Reply<Data<UnreadNotifications>>, AppError> {
        let me = viewer.require()?;
        let unread = state_of(req)?.notifications.unread_count(&me.actor())?;
        Ok(Reply(Data {
            data: UnreadNotifications { unread },
        }))
    }

    /// Mark notifications read
    ///
    /// Those named in `ids`, or all of the caller's; every device hears of it.
    #[oai(
        path = "/notifications/read",
        method = "post",
        operation_id = "markNotificationsRead"
    )]
    async fn mark_read(
        &self,
        req: &Request,
        viewer: Viewer,
        body: Json<MarkRead>,
    ) -> Result<Reply<Data<MarkedRead>>, AppError> {
        let me = acting(req, &viewer)?;
        let ids = match body.0.ids {
            Some(raw) => Some(
                raw.iter()
                    .map(|id| {
                        id.parse::<NotificationId>().map_err(|_| {
                            AppError::invalid("ids", "Use the ids of your notifications.")
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };
        let marked = state_of(req)?
            .notifications
            .mark_read(&me.actor(), ids)
            .await?;
        Ok(Reply(Data {
            data: MarkedRead { marked },
        }))
    }
}
