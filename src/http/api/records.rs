//! `/api/v1/records`: numbered letters and documents.

use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::me::acting;
use super::reply::Reply;
use super::text::Text;
use super::{ApiTags, Data};
use crate::domain::ids::{RecordId, UserId};
use crate::domain::record::{Direction, Priority, Record, RecordDraft, Visibility};
use crate::http::auth::Viewer;
use crate::http::error::AppError;
use crate::http::ui::state_of;
use crate::service::records::NewRecord;

pub struct RecordsApi;

/// Pairs an API enum with its domain enum, both ways.
macro_rules! api_enum {
    ($(#[$doc:meta])* $api:ident <=> $domain:ident { $($(#[$vdoc:meta])* $v:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Enum, Clone, Copy, PartialEq, Eq, serde::Serialize)]
        #[oai(rename_all = "lowercase")]
        #[serde(rename_all = "lowercase")]
        pub enum $api { $($(#[$vdoc])* $v),+ }

        impl From<$api> for $domain {
            fn from(v: $api) -> Self {
                match v { $($api::$v => $domain::$v),+ }
            }
        }

        impl From<$domain> for $api {
            fn from(v: $domain) -> Self {
                match v { $($domain::$v => $api::$v),+ }
            }
        }
    };
}

api_enum!(
    /// Which way a record went.
    RecordDirection <=> Direction { Incoming, Outgoing, Internal }
);
api_enum!(
    /// How pressing a record is.
    RecordPriority <=> Priority { Low, Normal, High, Urgent }
);
api_enum!(
    /// Who may see a record.
    RecordVisibility <=> Visibility {
        /// Every member.
        Members,
        /// Moderators and up, and the people on it.
        Staff,
        /// Only the people on it (owner, assignees, watchers) and admins.
        People,
    }
);

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct RecordInput {
    /// Up to 200 characters.
    #[oai(validator(max_length = 200))]
    pub title: Text,
    /// The organisation a letter is from or to.
    #[oai(default, validator(max_length = 200))]
    pub correspondent: Text,
    /// Plain text with line breaks.
    #[oai(default, validator(max_length = 20000))]
    pub content: Text,
    pub direction: RecordDirection,
    #[oai(default = "normal_priority")]
    pub priority: RecordPriority,
    #[oai(default = "members_visibility")]
    pub visibility: RecordVisibility,
    /// A number typed by hand (an incoming letter's own); leave it out to get the next one
    /// in the format for the direction (`IN-2026-0001`). `409` when another record has it.
    #[oai(validator(max_length = 64))]
    pub number: Option<Text>,
    /// Member ids.
    #[oai(default, validator(max_items = 20))]
    pub assignee_ids: Vec<Text>,
    #[oai(default, validator(max_items = 20))]
    pub tags: Vec<Text>,
    /// `YYYY-MM-DD`.
    #[oai(validator(max_length = 10))]
    pub due: Option<Text>,
}

fn normal_priority() -> RecordPriority {
    RecordPriority::Normal
}

fn members_visibility() -> RecordVisibility {
    RecordVisibility::Members
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct RecordView {
    pub id: String,
    pub number: String,
    pub direction: RecordDirection,
    pub title: String,
    pub correspondent: String,
    pub content: String,
    /// A status of the community's workflow.
    pub status: String,
    pub priority: RecordPriority,
    pub owner_id: String,
    pub assignee_ids: Vec<String>,
    pub watcher_ids: Vec<String>,
    /// `YYYY-MM-DD`; absent when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    pub tags: Vec<String>,
    pub visibility: RecordVisibility,
    /// Goes up by one with every saved change.
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Record> for RecordView {
    fn from(r: &Record) -> Self {
        Self {
            id: r.id.to_string(),
            number: r.number.clone(),
            direction: r.direction.into(),
            title: r.title.clone(),
            correspondent: r.correspondent.clone(),
            content: r.content.clone(),
            status: r.status.clone(),
            priority: r.priority.into(),
            owner_id: r.owner.to_string(),
            assignee_ids: r.assignees.iter().map(ToString::to_string).collect(),
            watcher_ids: r.watchers.iter().map(ToString::to_string).collect(),
            due: r.due.map(|d| d.to_string()),
            tags: r.tags.clone(),
            visibility: r.visibility.into(),
            version: r.version,
            created_at: r.created_at.to_string(),
            updated_at: r.updated_at.to_string(),
        }
    }
}

#[derive(ApiResponse)]
pub enum Created {
    /// Created, with its number.
    #[oai(status = 201)]
    Created(Reply<Data<RecordView>>),
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Records")]
impl RecordsApi {
    /// Create a record
    ///
    /// Owned by the caller, at the workflow's first status; the caller and the assignees
    /// watch it. Assignees must be in good standing and able to see it.
    #[oai(path = "/records", method = "post", operation_id = "createRecord")]
    async fn create(
        &self,
        req: &Request,
        viewer: Viewer,
        body: Json<RecordInput>,
    ) -> Result<Created, AppError> {
        let me = acting(req, &viewer)?;
        let input = body.0;
        let mut assignees = Vec::with_capacity(input.assignee_ids.len());
        for id in &input.assignee_ids {
            let id: UserId =
                id.0.trim()
                    .parse()
                    .map_err(|_| AppError::invalid("assigneeIds", "Use member ids."))?;
            assignees.push(id);
        }
        let new = NewRecord {
            draft: RecordDraft {
                title: input.title.into_string(),
                correspondent: input.correspondent.into_string(),
                content: input.content.into_string(),
                tags: input.tags.into_iter().map(Text::into_string).collect(),
                due: input.due.map(Text::into_string).unwrap_or_default(),
            },
            direction: input.direction.into(),
            priority: input.priority.into(),
            visibility: input.visibility.into(),
            number: input.number.map(Text::into_string),
            assignees,
        };
        let record = state_of(req)?.records.create(&me.actor(), new).await?;
        Ok(Created::Created(Reply(Data {
            data: RecordView::from(&record),
        })))
    }

    /// Get a record
    ///
    /// `404` when there is none or the caller may not see it.
    #[oai(path = "/records/:id", method = "get", operation_id = "getRecord")]
    async fn get(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
    ) -> Result<Reply<Data<RecordView>>, AppError> {
        let me = viewer.require()?;
        let id: RecordId = id.0.parse().map_err(|_| AppError::not_found())?;
        let record = state_of(req)?.records.get(&me.actor(), id).await?;
        Ok(Reply(Data {
            data: RecordView::from(&record),
        }))
    }
}
