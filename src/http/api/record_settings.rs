//! `/api/v1/admin/records/settings`: how records are numbered and moved along, how long the
//! trash keeps them, and when due days are reminded of (admins).

use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::accounts::RoleName;
use super::me::acting;
use super::reply::Reply;
use super::text::Text;
use super::{ApiTags, Data};
use crate::domain::settings::RecordSettings;
use crate::domain::workflow::{Move, Status, Workflow};
use crate::http::auth::Viewer;
use crate::http::error::AppError;
use crate::http::ui::state_of;

pub struct RecordSettingsApi;

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase", deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
pub struct RecordSettingsView {
    /// Number format for incoming records: text with `{year}` and one `{seq}` or `{seq:N}`
    /// (`IN-{year}-{seq:4}`); letters, digits and - / . _ # around them.
    #[oai(validator(min_length = 1, max_length = 40))]
    pub incoming_format: Text,
    #[oai(validator(min_length = 1, max_length = 40))]
    pub outgoing_format: Text,
    #[oai(validator(min_length = 1, max_length = 40))]
    pub internal_format: Text,
    /// Days a record stays in the trash before it is purged.
    #[oai(validator(minimum(value = "1"), maximum(value = "365")))]
    pub trash_days: u32,
    /// Days before its due day that owner and assignees are reminded (0: only once overdue).
    #[oai(validator(minimum(value = "0"), maximum(value = "30")))]
    pub reminder_days: u32,
    /// The largest file a record takes, in MiB (default 10).
    #[oai(
        nullable,
        default = "default_attachment_max_mib",
        validator(minimum(value = "1"), maximum(value = "100"))
    )]
    pub attachment_max_mib: u32,
    pub workflow: WorkflowView,
}

fn default_attachment_max_mib() -> u32 {
    RecordSettings::default().attachment_max_mib
}

/// The statuses (the first is where new records start) and the moves between them.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase", deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowView {
    #[oai(validator(min_items = 2, max_items = 20))]
    pub statuses: Vec<StatusView>,
    #[oai(validator(max_items = 100))]
    pub moves: Vec<MoveView>,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase", deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    /// Stable name in data and the API.
    #[oai(validator(pattern = "^[a-z0-9_]{1,32}$"))]
    pub key: String,
    #[oai(validator(min_length = 1, max_length = 40, pattern = r"\S"))]
    pub label: Text,
    /// Work is over here: not open, never overdue.
    #[oai(nullable, default)]
    pub closed: bool,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase", deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
pub struct MoveView {
    #[oai(validator(max_length = 32))]
    pub from: String,
    #[oai(validator(max_length = 32))]
    pub to: String,
    /// The least role that may make the move.
    pub least: RoleName,
}

impl From<&RecordSettings> for RecordSettingsView {
    fn from(s: &RecordSettings) -> Self {
        Self {
            incoming_format: Text(s.incoming_format.clone()),
            outgoing_format: Text(s.outgoing_format.clone()),
            internal_format: Text(s.internal_format.clone()),
            trash_days: s.trash_days,
            reminder_days: s.reminder_days,
            attachment_max_mib: s.attachment_max_mib,
            workflow: WorkflowView {
                statuses: s
                    .workflow
                    .statuses
                    .iter()
                    .map(|st| StatusView {
                        key: st.key.clone(),
                        label: Text(st.label.clone()),
                        closed: st.closed,
                    })
                    .collect(),
                moves: s
                    .workflow
                    .moves
                    .iter()
                    .map(|m| MoveView {
                        from: m.from.clone(),
                        to: m.to.clone(),
                        least: m.least.into(),
                    })
                    .collect(),
            },
        }
    }
}

impl From<RecordSettingsView> for RecordSettings {
    fn from(v: RecordSettingsView) -> Self {
        Self {
            incoming_format: v.incoming_format.into_string().trim().to_string(),
            outgoing_format: v.outgoing_format.into_string().trim().to_string(),
            internal_format: v.internal_format.into_string().trim().to_string(),
            trash_days: v.trash_days,
            reminder_days: v.reminder_days,
            attachment_max_mib: v.attachment_max_mib,
            workflow: Workflow {
                statuses: v
                    .workflow
                    .statuses
                    .into_iter()
                    .map(|s| Status {
                        key: s.key,
                        label: s.label.into_string().trim().to_string(),
                        closed: s.closed,
                    })
                    .collect(),
                moves: v
                    .workflow
                    .moves
                    .into_iter()
                    .map(|m| Move {
                        from: m.from,
                        to: m.to,
                        least: m.least.into(),
                    })
                    .collect(),
            },
        }
    }
}

#[OpenApi(prefix_path = "/v1/admin", tag = "ApiTags::Records")]
impl RecordSettingsApi {
    /// Get the record settings
    #[oai(
        path = "/records/settings",
        method = "get",
        operation_id = "getRecordSettings"
    )]
    async fn get(
        &self,
        req: &Request,
        viewer: Viewer,
    ) -> Result<Reply<Data<RecordSettingsView>>, AppError> {
        let actor = viewer.require()?.actor();
        let settings = state_of(req)?.records.settings(&actor)?;
        Ok(Reply(Data {
            data: RecordSettingsView::from(&settings),
        }))
    }

    /// Replace the record settings
    ///
    /// Takes effect at once for new records and moves. A workflow that drops a status some
    /// records are in is refused (`422` says how many): move them first.
    #[oai(
        path = "/records/settings",
        method = "put",
        operation_id = "putRecordSettings"
    )]
    async fn put(
        &self,
        req: &Request,
        viewer: Viewer,
        body: Json<RecordSettingsView>,
    ) -> Result<Reply<Data<RecordSettingsView>>, AppError> {
        let actor = acting(req, &viewer)?.actor();
        let saved = state_of(req)?
            .records
            .save_settings(&actor, body.0.into())
            .await?;
        Ok(Reply(Data {
            data: RecordSettingsView::from(&saved),
        }))
    }
}
