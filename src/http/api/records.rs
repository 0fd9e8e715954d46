//! `/api/v1/records`: numbered letters and documents.

use poem::Request;
use poem::http::StatusCode;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::me::Done;
use super::me::acting;
use super::raw_body::{Csv, RawBody};
use super::reply::Reply;
use super::text::Text;
use super::{ApiTags, Data, Listed, PageRequest};
use crate::domain::ids::{CommentId, RecordId, UserId};
use crate::domain::record::{
    Change, Direction, Priority, Record, RecordDraft, RecordEdit, Visibility,
};
use crate::domain::record_comment::Comment;
use crate::domain::record_list::{RecordFilter, RecordSort};
use crate::http::auth::Viewer;
use crate::http::error::AppError;
use crate::http::ui::state_of;
use crate::service::error::ErrorCode;
use crate::service::records::{Edit, EditError, NewRecord};

pub struct RecordsApi;

/// The request bodies of records that refuse fields they do not know (a `status` sent to
/// be set directly, a typo): the document says so with `additionalProperties: false`.
pub const STRICT_SCHEMAS: &[&str] = &[
    "RecordInput",
    "RecordPatch",
    "StatusMove",
    "Watching",
    "CommentInput",
    "CommentEdit",
    "SavedListInput",
    "RecordSettingsView",
    "WorkflowView",
    "StatusView",
    "MoveView",
];

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
    /// The orders a records list comes in: newest or oldest created, most recently changed,
    /// soonest due (overdue first, undated last), most urgent.
    ListSort <=> RecordSort { Newest, Oldest, Updated, Due, Priority }
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
#[oai(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordInput {
    /// Up to 200 characters.
    #[oai(validator(max_length = 200))]
    pub title: Text,
    /// The organisation a letter is from or to.
    #[oai(nullable, default, validator(max_length = 200))]
    pub correspondent: Text,
    /// Plain text with line breaks.
    #[oai(nullable, default, validator(max_length = 20000))]
    pub content: Text,
    pub direction: RecordDirection,
    #[oai(nullable, default = "normal_priority")]
    pub priority: RecordPriority,
    #[oai(nullable, default = "members_visibility")]
    pub visibility: RecordVisibility,
    /// A number typed by hand (an incoming letter's own); leave it out to get the next one
    /// in the format for the direction (`IN-2026-0001`). `409` when another record has it.
    #[oai(nullable, validator(max_length = 64))]
    pub number: Option<Text>,
    /// Member ids.
    #[oai(nullable, default, validator(max_items = 20))]
    pub assignee_ids: Vec<Text>,
    #[oai(nullable, default, validator(max_items = 20))]
    pub tags: Vec<Text>,
    /// `YYYY-MM-DD`.
    #[oai(nullable, validator(max_length = 10))]
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
    Created(
        Reply<Data<RecordView>>,
        /// The version, for `If-Match` when saving a change.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum Shown {
    /// The record as it is now.
    #[oai(status = 200)]
    Shown(
        Reply<Data<RecordView>>,
        /// The version, for `If-Match` when saving a change.
        #[oai(header = "ETag")]
        String,
    ),
}

impl Shown {
    fn of(record: &Record) -> Self {
        Shown::Shown(
            Reply(Data {
                data: RecordView::from(record),
            }),
            etag(record.version),
        )
    }
}

/// A record's version as an ETag: `"v3"`.
fn etag(version: u64) -> String {
    format!("\"v{version}\"")
}

/// The `If-Match` header as sent: `None` when there is none. It is read here rather than
/// declared to poem-openapi (`api::document` describes it), so that an empty one is the
/// same `428` on every operation.
fn if_match(req: &Request) -> Option<&str> {
    req.headers()
        .get(poem::http::header::IF_MATCH)
        .map(|v| v.to_str().unwrap_or_default().trim())
}

/// The `If-Match` parameter as the document states it, for the operations that read it.
pub fn if_match_parameter(required: bool) -> serde_json::Value {
    serde_json::json!({
        "in": "header",
        "name": "If-Match",
        "required": required,
        "deprecated": false,
        "description": "The record's ETag as last read (`\"v3\"`); a change based on another version is refused with 409.",
        "schema": {"type": "string", "pattern": "^(W/)?\"v[0-9]{1,19}\"$"}
    })
}

/// The operations that read `If-Match`, and whether they need it.
pub const IF_MATCH_OPERATIONS: &[(&str, bool)] = &[("updateRecord", false), ("moveRecord", false)];

/// The version an `If-Match` names (`"v3"`, also weak `W/"v3"`); `428` when there is none.
fn based_on(if_match: Option<&str>) -> Result<u64, AppError> {
    let required = || {
        AppError::new(
            StatusCode::PRECONDITION_REQUIRED,
            ErrorCode::VersionRequired,
            "Send If-Match with the ETag of the record you changed (\"v3\"), so your save cannot overwrite someone else's.",
        )
    };
    let tag = if_match.filter(|t| !t.is_empty()).ok_or_else(required)?;
    tag.trim_start_matches("W/")
        .strip_prefix("\"v")
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            AppError::bad_request(
                ErrorCode::BadRequest,
                "If-Match takes the record's ETag as given, e.g. \"v3\".",
            )
        })
}

/// A refused save as the client sees it; a stale one carries the record now and what
/// changed since.
fn edit_error(e: EditError) -> AppError {
    match e {
        EditError::Refused(e) => e.into(),
        EditError::Stale { current, since } => {
            let changes: Vec<ChangeView> = since.iter().map(ChangeView::from).collect();
            AppError::new(
                StatusCode::CONFLICT,
                ErrorCode::VersionConflict,
                format!(
                    "Someone saved this record first (now version {}); look at what changed, then save again over it.",
                    current.version
                ),
            )
            .with_header("etag", etag(current.version))
            .with_body_member(
                "current",
                serde_json::to_value(RecordView::from(&*current)).unwrap_or_default(),
            )
            .with_body_member("changes", serde_json::to_value(changes).unwrap_or_default())
        }
    }
}

/// A change to a record; fields left out stay as they are.
#[derive(Object)]
#[oai(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordPatch {
    #[oai(nullable, validator(max_length = 200))]
    pub title: Option<Text>,
    #[oai(nullable, validator(max_length = 200))]
    pub correspondent: Option<Text>,
    #[oai(nullable, validator(max_length = 20000))]
    pub content: Option<Text>,
    #[oai(nullable)]
    pub priority: Option<RecordPriority>,
    #[oai(nullable)]
    pub visibility: Option<RecordVisibility>,
    /// The whole list of assignees (member ids).
    #[oai(nullable, validator(max_items = 20))]
    pub assignee_ids: Option<Vec<Text>>,
    /// The whole list of tags.
    #[oai(nullable, validator(max_items = 20))]
    pub tags: Option<Vec<Text>>,
    /// `YYYY-MM-DD`; `null` removes the due date.
    #[oai(nullable, validator(max_length = 10))]
    pub due: MaybeUndefined<Text>,
}

#[derive(Object)]
#[oai(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusMove {
    /// A status of the community's workflow, reached by a move it allows your role.
    #[oai(validator(max_length = 32))]
    pub status: Text,
}

#[derive(Object)]
#[oai(rename_all = "camelCase", deny_unknown_fields)]
pub struct Watching {
    /// Whether you watch the record (you are told of its comments, status changes and
    /// assignments).
    pub watching: bool,
}

/// One line of a record's history.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ChangeView {
    /// The record's version this change made.
    pub version: u64,
    pub at: String,
    pub by_id: String,
    /// `created`, `title`, `status`, `assignees`, `watchers`, `deleted`, `restored`, …
    pub field: String,
    pub old: String,
    pub new: String,
}

impl From<&Change> for ChangeView {
    fn from(c: &Change) -> Self {
        Self {
            version: c.version,
            at: c.at.to_string(),
            by_id: c.by.to_string(),
            field: c.field.clone(),
            old: c.old.clone(),
            new: c.new.clone(),
        }
    }
}

fn parse_members(ids: &[Text]) -> Result<Vec<UserId>, AppError> {
    ids.iter()
        .map(|id| {
            id.0.trim()
                .parse()
                .map_err(|_| AppError::invalid("assigneeIds", "Use member ids."))
        })
        .collect()
}

fn day(raw: Option<String>, field: &'static str) -> Result<Option<jiff::civil::Date>, AppError> {
    raw.map(|d| {
        d.parse()
            .map_err(|_| AppError::invalid(field, "Write the date as YYYY-MM-DD, a real day."))
    })
    .transpose()
}

fn member(raw: Option<String>, field: &'static str) -> Result<Option<UserId>, AppError> {
    raw.map(|m| {
        m.trim()
            .parse()
            .map_err(|_| AppError::invalid(field, "Use a member id."))
    })
    .transpose()
}

fn listed(records: &[Record], total: u64, page: PageRequest) -> Reply<Listed<RecordView>> {
    Reply(page.answer(records.iter().map(RecordView::from).collect(), total))
}

/// A comment on a record.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct CommentView {
    pub id: String,
    /// The comment this one answers; absent for a comment on the record.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// 1 on the record, one more for each reply down (at most 5).
    pub depth: u8,
    pub author_id: String,
    /// Empty once deleted.
    pub text: String,
    pub created_at: String,
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<String>,
    /// Deleted: show "comment deleted" in its place.
    pub deleted: bool,
}

impl From<&Comment> for CommentView {
    fn from(c: &Comment) -> Self {
        Self {
            id: c.id.to_string(),
            parent_id: c.parent.map(|p| p.to_string()),
            depth: c.depth,
            author_id: c.author.to_string(),
            text: c.text.clone(),
            created_at: c.created_at.to_string(),
            edited_at: c.edited_at.map(|t| t.to_string()),
            deleted: c.deleted,
        }
    }
}

#[derive(Object)]
#[oai(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommentInput {
    /// Plain text with line breaks; `@username` tells that member (if they can see the
    /// record).
    #[oai(validator(max_length = 4000))]
    pub text: Text,
    /// The comment this one answers (of the same record; replies go 5 deep).
    #[oai(nullable, validator(max_length = 36))]
    pub parent_id: Option<Text>,
}

#[derive(Object)]
#[oai(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommentEdit {
    #[oai(validator(max_length = 4000))]
    pub text: Text,
}

#[derive(ApiResponse)]
pub enum Commented {
    /// Written.
    #[oai(status = 201)]
    Created(Reply<Data<CommentView>>),
}

/// A records CSV file as a request body, read (up to the import's limit) only once the
/// handler has leave to import.
pub type CsvFile = RawBody<Csv>;

impl CsvFile {
    async fn read(self) -> Result<Vec<u8>, AppError> {
        self.0
            .into_bytes_limit(crate::domain::record_csv::IMPORT_BYTES_MAX)
            .await
            .map(|b| b.to_vec())
            .map_err(|_| {
                AppError::from_poem(&poem::Error::from_status(StatusCode::PAYLOAD_TOO_LARGE))
            })
    }
}

#[derive(ApiResponse)]
pub enum Exported {
    /// The records as CSV (UTF-8, every cell quoted; a cell starting with = + - @ has a `'`
    /// in front), streamed.
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Csv(
        poem_openapi::payload::Binary<poem::Body>,
        /// `attachment; filename="records.csv"`.
        #[oai(header = "Content-Disposition")]
        String,
    ),
}

/// What an import found.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ImportView {
    /// Rows read (0 when the file itself could not be read).
    pub rows: u32,
    /// Whether the records were stored: not a dry run, and no problems.
    pub imported: bool,
    pub problems: Vec<RowProblemView>,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct RowProblemView {
    /// The row in the file, the header being row 1 (0: the file as a whole).
    pub row: u32,
    /// The column, when the problem is one cell's.
    pub column: String,
    pub message: String,
}

#[derive(ApiResponse)]
pub enum Imported {
    /// Stored (or, on a dry run, checked without problems).
    #[oai(status = 200)]
    Done(Reply<Data<ImportView>>),
    /// Some rows have problems, each named; nothing was stored.
    #[oai(status = 422)]
    Problems(Reply<Data<ImportView>>),
}

/// A list's filters from its query parameters.
#[allow(clippy::too_many_arguments)]
fn filter_of(
    status: Option<String>,
    priority: Option<RecordPriority>,
    direction: Option<RecordDirection>,
    owner_id: Option<String>,
    assignee_id: Option<String>,
    tag: Option<String>,
    due_before: Option<String>,
    due_after: Option<String>,
    overdue: Option<bool>,
    open: Option<bool>,
    q: Option<String>,
    trashed: Option<bool>,
) -> Result<RecordFilter, AppError> {
    Ok(RecordFilter {
        status,
        priority: priority.map(Into::into),
        direction: direction.map(Into::into),
        owner: member(owner_id, "ownerId")?,
        assignee: member(assignee_id, "assigneeId")?,
        tag,
        due_before: day(due_before, "dueBefore")?,
        due_after: day(due_after, "dueAfter")?,
        overdue: overdue.unwrap_or(false),
        open: open.unwrap_or(false),
        text: q,
        trashed: trashed.unwrap_or(false),
    })
}

/// A records list a member saved.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct SavedListView {
    pub name: String,
    /// The list's query string, as the records page takes it (`status=new&sort=due`).
    pub query: String,
}

#[derive(Object)]
#[oai(rename_all = "camelCase", deny_unknown_fields)]
pub struct SavedListInput {
    /// The records page's query string (up to 500 characters).
    #[oai(validator(max_length = 500))]
    pub query: Text,
}

fn comment_id(raw: &str) -> Result<CommentId, AppError> {
    AppError::path_id(raw)
}

pub(super) fn record_id(raw: &str) -> Result<RecordId, AppError> {
    AppError::path_id(raw)
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
        let assignees = parse_members(&input.assignee_ids)?;
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
        Ok(Created::Created(
            Reply(Data {
                data: RecordView::from(&record),
            }),
            etag(record.version),
        ))
    }

    /// List records
    ///
    /// The records you may see that pass every filter given, in the order asked for.
    #[oai(path = "/records", method = "get", operation_id = "listRecords")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        req: &Request,
        viewer: Viewer,
        /// A status of the workflow (`in_progress`).
        #[oai(validator(max_length = 32))]
        status: Query<Option<String>>,
        priority: Query<Option<RecordPriority>>,
        direction: Query<Option<RecordDirection>>,
        #[oai(name = "ownerId", validator(max_length = 36))] owner_id: Query<Option<String>>,
        #[oai(name = "assigneeId", validator(max_length = 36))] assignee_id: Query<Option<String>>,
        #[oai(validator(max_length = 40))] tag: Query<Option<String>>,
        /// Due on or before this day (`YYYY-MM-DD`).
        #[oai(name = "dueBefore", validator(pattern = r"^\d{4}-\d{2}-\d{2}$"))]
        due_before: Query<Option<String>>,
        /// Due on or after this day (`YYYY-MM-DD`).
        #[oai(name = "dueAfter", validator(pattern = r"^\d{4}-\d{2}-\d{2}$"))]
        due_after: Query<Option<String>>,
        /// Only records due before today in a status that is not closed.
        overdue: Query<Option<bool>>,
        /// Only records in a status that is not closed (completed, archived).
        open: Query<Option<bool>>,
        /// Words in the number, title or correspondent.
        #[oai(validator(max_length = 100))]
        q: Query<Option<String>>,
        /// The records in the trash instead (admins; others get none).
        trashed: Query<Option<bool>>,
        sort: Query<Option<ListSort>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100000")))] page: Query<Option<u32>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
    ) -> Result<Reply<Listed<RecordView>>, AppError> {
        let me = viewer.require()?;
        let filter = filter_of(
            status.0,
            priority.0,
            direction.0,
            owner_id.0,
            assignee_id.0,
            tag.0,
            due_before.0,
            due_after.0,
            overdue.0,
            open.0,
            q.0,
            trashed.0,
        )?;
        let sort = sort.0.map_or(RecordSort::Newest, Into::into);
        let page = PageRequest::new(page.0, limit.0);
        let (records, total) = state_of(req)?
            .records
            .list(&me.actor(), &filter, sort, page.offset(), page.limit())
            .await?;
        Ok(listed(&records, total, page))
    }

    /// Export records as CSV
    ///
    /// What the same filters show in the list (only records you may see), in its order, as
    /// a streamed CSV file.
    #[oai(
        path = "/records/export",
        method = "get",
        operation_id = "exportRecords"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn export(
        &self,
        req: &Request,
        viewer: Viewer,
        #[oai(validator(max_length = 32))] status: Query<Option<String>>,
        priority: Query<Option<RecordPriority>>,
        direction: Query<Option<RecordDirection>>,
        #[oai(name = "ownerId", validator(max_length = 36))] owner_id: Query<Option<String>>,
        #[oai(name = "assigneeId", validator(max_length = 36))] assignee_id: Query<Option<String>>,
        #[oai(validator(max_length = 40))] tag: Query<Option<String>>,
        #[oai(name = "dueBefore", validator(pattern = r"^\d{4}-\d{2}-\d{2}$"))] due_before: Query<
            Option<String>,
        >,
        #[oai(name = "dueAfter", validator(pattern = r"^\d{4}-\d{2}-\d{2}$"))] due_after: Query<
            Option<String>,
        >,
        overdue: Query<Option<bool>>,
        open: Query<Option<bool>>,
        #[oai(validator(max_length = 100))] q: Query<Option<String>>,
        sort: Query<Option<ListSort>>,
    ) -> Result<Exported, AppError> {
        let me = viewer.require()?;
        let filter = filter_of(
            status.0,
            priority.0,
            direction.0,
            owner_id.0,
            assignee_id.0,
            tag.0,
            due_before.0,
            due_after.0,
            overdue.0,
            open.0,
            q.0,
            None,
        )?;
        let sort = sort.0.map_or(RecordSort::Newest, Into::into);
        let export = state_of(req)?
            .records
            .export(&me.actor(), &filter, sort)
            .await?;
        let rows = futures_util::stream::unfold(export, |mut export| async move {
            match export.next_chunk().await {
                Ok(Some(bytes)) => Some((Ok(bytes), export)),
                Ok(None) => None,
                Err(e) => {
                    tracing::error!("records export stopped: {e}");
                    Some((Err(std::io::Error::other(e.to_string())), export))
                }
            }
        });
        Ok(Exported::Csv(
            poem_openapi::payload::Binary(poem::Body::from_bytes_stream(rows)),
            "attachment; filename=\"records.csv\"".into(),
        ))
    }

    /// Import records from CSV
    ///
    /// Staff. A header row naming the columns (`title` and `direction` needed; `number`,
    /// `priority`, `visibility`, `correspondent`, `due`, `tags` and `assignees` (usernames)
    /// separated by `;`, `content` optional), then one record per row, up to 10,000 rows and
    /// 5 MiB. Every problem is named by row and column (`422`) and then nothing is stored;
    /// with `dryRun=true` nothing is stored either way.
    #[oai(
        path = "/records/import",
        method = "post",
        operation_id = "importRecords"
    )]
    async fn import(
        &self,
        req: &Request,
        viewer: Viewer,
        #[oai(name = "dryRun")] dry_run: Query<Option<bool>>,
        body: CsvFile,
    ) -> Result<Imported, AppError> {
        let me = acting(req, &viewer)?;
        let records = &state_of(req)?.records;
        let leave = records.may_import(&me.actor())?;
        let csv = body.read().await?;
        let report = records
            .import(leave, csv, dry_run.0.unwrap_or(false))
            .await?;
        let view = ImportView {
            rows: u32::try_from(report.rows).unwrap_or(u32::MAX),
            imported: report.imported,
            problems: report
                .problems
                .iter()
                .map(|p| RowProblemView {
                    row: u32::try_from(p.row).unwrap_or(u32::MAX),
                    column: p.column.clone(),
                    message: p.message.clone(),
                })
                .collect(),
        };
        let ok = view.problems.is_empty();
        let reply = Reply(Data { data: view });
        Ok(if ok {
            Imported::Done(reply)
        } else {
            Imported::Problems(reply)
        })
    }

    /// My work
    ///
    /// Open records assigned to you: overdue first, then by due date, undated last.
    #[oai(path = "/me/work", method = "get", operation_id = "listMyWork")]
    async fn my_work(
        &self,
        req: &Request,
        viewer: Viewer,
        #[oai(validator(minimum(value = "1"), maximum(value = "100000")))] page: Query<Option<u32>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
    ) -> Result<Reply<Listed<RecordView>>, AppError> {
        let me = viewer.require()?;
        let page = PageRequest::new(page.0, limit.0);
        let (records, total) = state_of(req)?
            .records
            .my_work(&me.actor(), page.offset(), page.limit())
            .await?;
        Ok(listed(&records, total, page))
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
    ) -> Result<Shown, AppError> {
        let me = viewer.require()?;
        let record = state_of(req)?
            .records
            .get(&me.actor(), record_id(&id.0)?)
            .await?;
        Ok(Shown::of(&record))
    }

    /// Change a record
    ///
    /// Saved only over the version in `If-Match` (the ETag); `409` with the record now and
    /// what changed since otherwise. Members change the records they own, moderators all.
    /// The status changes through `POST /records/{id}/status`.
    #[oai(path = "/records/:id", method = "patch", operation_id = "updateRecord")]
    async fn update(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
        body: Json<RecordPatch>,
    ) -> Result<Shown, AppError> {
        let me = acting(req, &viewer)?;
        let id = record_id(&id.0)?;
        let version = based_on(if_match(req))?;
        let p = body.0;
        let edit = Edit {
            fields: RecordEdit {
                title: p.title.map(Text::into_string),
                correspondent: p.correspondent.map(Text::into_string),
                content: p.content.map(Text::into_string),
                tags: p
                    .tags
                    .map(|t| t.into_iter().map(Text::into_string).collect()),
                due: match p.due {
                    MaybeUndefined::Undefined => None,
                    MaybeUndefined::Null => Some(String::new()),
                    MaybeUndefined::Value(d) => Some(d.into_string()),
                },
                priority: p.priority.map(Into::into),
                visibility: p.visibility.map(Into::into),
            },
            assignees: p.assignee_ids.as_deref().map(parse_members).transpose()?,
        };
        let record = state_of(req)?
            .records
            .edit(&me.actor(), id, version, edit)
            .await
            .map_err(edit_error)?;
        Ok(Shown::of(&record))
    }

    /// Move a record to another status
    ///
    /// Only by a move the community's workflow allows your role (`403` says why). The owner,
    /// the assignees and moderators move records. `If-Match` is optional here: with it, the
    /// move is refused (`409`) when the record changed since.
    #[oai(
        path = "/records/:id/status",
        method = "post",
        operation_id = "moveRecord"
    )]
    async fn move_to(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
        body: Json<StatusMove>,
    ) -> Result<Shown, AppError> {
        let me = acting(req, &viewer)?;
        let id = record_id(&id.0)?;
        let version = match if_match(req) {
            Some(tag) => Some(based_on(Some(tag))?),
            None => None,
        };
        let record = state_of(req)?
            .records
            .move_to(&me.actor(), id, version, body.0.status.into_string())
            .await
            .map_err(edit_error)?;
        Ok(Shown::of(&record))
    }

    /// Watch or stop watching a record
    #[oai(
        path = "/records/:id/watching",
        method = "put",
        operation_id = "watchRecord"
    )]
    async fn watch(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
        body: Json<Watching>,
    ) -> Result<Shown, AppError> {
        let me = acting(req, &viewer)?;
        let record = state_of(req)?
            .records
            .watch(&me.actor(), record_id(&id.0)?, body.0.watching)
            .await?;
        Ok(Shown::of(&record))
    }

    /// Move a record to the trash
    ///
    /// Admins and the owner; restorable for 30 days. Its number is free for others
    /// meanwhile.
    #[oai(path = "/records/:id", method = "delete", operation_id = "trashRecord")]
    async fn trash(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
    ) -> Result<Done, AppError> {
        let me = acting(req, &viewer)?;
        state_of(req)?
            .records
            .trash(&me.actor(), record_id(&id.0)?)
            .await?;
        Ok(Done::Done)
    }

    /// Restore a record from the trash
    ///
    /// `409` when its number was given to another record since.
    #[oai(
        path = "/records/:id/restore",
        method = "post",
        operation_id = "restoreRecord"
    )]
    async fn restore(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
    ) -> Result<Shown, AppError> {
        let me = acting(req, &viewer)?;
        let record = state_of(req)?
            .records
            .restore(&me.actor(), record_id(&id.0)?)
            .await?;
        Ok(Shown::of(&record))
    }

    /// A record's history
    ///
    /// Every change (who, when, field, old → new), oldest first.
    #[oai(
        path = "/records/:id/history",
        method = "get",
        operation_id = "listRecordHistory"
    )]
    async fn history(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100000")))] page: Query<Option<u32>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
    ) -> Result<Reply<Listed<ChangeView>>, AppError> {
        let me = viewer.require()?;
        let page = PageRequest::new(page.0, limit.0);
        let (lines, total) = state_of(req)?
            .records
            .history(
                &me.actor(),
                record_id(&id.0)?,
                page.offset() as u64,
                page.limit() as u64,
            )
            .await?;
        Ok(Reply(page.answer(
            lines.iter().map(ChangeView::from).collect(),
            total,
        )))
    }

    /// A record's comments
    ///
    /// In thread order: each comment followed by its replies, oldest first at every level.
    #[oai(
        path = "/records/:id/comments",
        method = "get",
        operation_id = "listRecordComments"
    )]
    async fn comments(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100000")))] page: Query<Option<u32>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
    ) -> Result<Reply<Listed<CommentView>>, AppError> {
        let me = viewer.require()?;
        let all = state_of(req)?
            .records
            .comments(&me.actor(), record_id(&id.0)?)
            .await?;
        let views = all.iter().map(CommentView::from).collect();
        Ok(Reply(PageRequest::new(page.0, limit.0).slice(views)))
    }

    /// Comment on a record
    ///
    /// Anyone who can see the record; you start watching it. `422` for a parent of another
    /// record or a reply deeper than 5; `409` when the record is in the trash.
    #[oai(
        path = "/records/:id/comments",
        method = "post",
        operation_id = "createRecordComment"
    )]
    async fn comment(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
        body: Json<CommentInput>,
    ) -> Result<Commented, AppError> {
        let me = acting(req, &viewer)?;
        let input = body.0;
        let parent = input
            .parent_id
            .map(|p| {
                p.0.trim().parse().map_err(|_| {
                    AppError::invalid("parentId", "Reply to a comment of this record.")
                })
            })
            .transpose()?;
        let comment = state_of(req)?
            .records
            .comment(&me.actor(), record_id(&id.0)?, parent, &input.text.0)
            .await?;
        Ok(Commented::Created(Reply(Data {
            data: CommentView::from(&comment),
        })))
    }

    /// Edit my comment
    ///
    /// In the 15 minutes after it was written (`409` after).
    #[oai(
        path = "/records/:id/comments/:comment_id",
        method = "patch",
        operation_id = "editRecordComment"
    )]
    async fn edit_comment(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
        comment_id: Path<String>,
        body: Json<CommentEdit>,
    ) -> Result<Reply<Data<CommentView>>, AppError> {
        let me = acting(req, &viewer)?;
        let comment = state_of(req)?
            .records
            .edit_comment(
                &me.actor(),
                record_id(&id.0)?,
                self::comment_id(&comment_id.0)?,
                &body.0.text.0,
            )
            .await?;
        Ok(Reply(Data {
            data: CommentView::from(&comment),
        }))
    }

    /// Delete a comment
    ///
    /// Your own, or anyone's for moderators; the thread keeps a tombstone in its place.
    #[oai(
        path = "/records/:id/comments/:comment_id",
        method = "delete",
        operation_id = "deleteRecordComment"
    )]
    async fn delete_comment(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
        comment_id: Path<String>,
    ) -> Result<Done, AppError> {
        let me = acting(req, &viewer)?;
        state_of(req)?
            .records
            .delete_comment(
                &me.actor(),
                record_id(&id.0)?,
                self::comment_id(&comment_id.0)?,
            )
            .await?;
        Ok(Done::Done)
    }

    /// My saved record lists
    #[oai(
        path = "/me/record-lists",
        method = "get",
        operation_id = "listSavedRecordLists"
    )]
    async fn saved_lists(
        &self,
        req: &Request,
        viewer: Viewer,
    ) -> Result<Reply<Data<Vec<SavedListView>>>, AppError> {
        let me = viewer.require()?;
        let lists = state_of(req)?.records.saved_filters(&me.actor())?;
        Ok(Reply(Data {
            data: lists
                .into_iter()
                .map(|(name, query)| SavedListView { name, query })
                .collect(),
        }))
    }

    /// Save a record list
    ///
    /// Under a name (replacing one of that name); at most 20.
    #[oai(
        path = "/me/record-lists/:name",
        method = "put",
        operation_id = "saveRecordList"
    )]
    async fn save_list(
        &self,
        req: &Request,
        viewer: Viewer,
        #[oai(validator(max_length = 40))] name: Path<String>,
        body: Json<SavedListInput>,
    ) -> Result<Done, AppError> {
        let me = acting(req, &viewer)?;
        state_of(req)?
            .records
            .save_filter(&me.actor(), &name.0, &body.0.query.0)
            .await?;
        Ok(Done::Done)
    }

    /// Delete a saved record list
    #[oai(
        path = "/me/record-lists/:name",
        method = "delete",
        operation_id = "deleteRecordList"
    )]
    async fn delete_list(
        &self,
        req: &Request,
        viewer: Viewer,
        #[oai(validator(max_length = 40))] name: Path<String>,
    ) -> Result<Done, AppError> {
        let me = acting(req, &viewer)?;
        state_of(req)?
            .records
            .delete_filter(&me.actor(), &name.0)
            .await?;
        Ok(Done::Done)
    }
}
