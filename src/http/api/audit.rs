//! `/api/v1/admin/audit`: the audit log of staff actions, newest first, filtered and read a
//! page at a time (a feed: `cursor` and `nextCursor`).

use super::reply::Reply;
use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::{Object, OpenApi};

use super::{ApiTags, Feed, PageRequest, feed};
use crate::domain::audit::AuditEntry;
use crate::http::auth::Viewer;
use crate::http::error::AppError;
use crate::http::ui::state_of;
use crate::service::audit::{AuditQuery, encode_cursor};

pub struct AuditApi;

/// One staff action.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct AuditEntryView {
    /// When, RFC 3339.
    pub at: String,
    /// The account that acted (absent once it is deleted).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
    /// The username it acted under.
    pub actor_name: String,
    /// A stable action name, e.g. `user.suspend`.
    pub action: String,
    /// Whom or what it was done to.
    pub target: String,
    pub reason: String,
    pub details: String,
}

impl From<AuditEntry> for AuditEntryView {
    fn from(e: AuditEntry) -> Self {
        Self {
            at: e.at.to_string(),
            actor_id: (e.actor.as_u128() != 0).then(|| e.actor.to_string()),
            actor_name: e.actor_name,
            action: e.action,
            target: e.target,
            reason: e.reason,
            details: e.details,
        }
    }
}

fn time(field: &'static str, raw: Option<String>) -> Result<Option<jiff::Timestamp>, AppError> {
    raw.map(|t| {
        t.parse().map_err(|_| {
            AppError::invalid(field, "Give an RFC 3339 time, e.g. 2026-07-01T00:00:00Z.")
        })
    })
    .transpose()
}

#[OpenApi(prefix_path = "/v1/admin", tag = "ApiTags::Accounts")]
impl AuditApi {
    /// Read the audit log
    ///
    /// Staff actions, newest first (admins). Filters: who acted (`actor`: a username or an
    /// account id), the action (exact, or a family ending in a dot: `user.`), text in the
    /// target, and a time range (`from` inclusive, `until` exclusive).
    #[oai(path = "/audit", method = "get", operation_id = "listAudit")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        req: &Request,
        viewer: Viewer,
        #[oai(validator(max_length = 254))] actor: Query<Option<String>>,
        #[oai(validator(max_length = 64))] action: Query<Option<String>>,
        #[oai(validator(max_length = 254))] target: Query<Option<String>>,
        /// RFC 3339, e.g. 2026-07-01T00:00:00Z.
        #[oai(validator(max_length = 64))]
        from: Query<Option<String>>,
        /// RFC 3339.
        #[oai(validator(max_length = 64))]
        until: Query<Option<String>>,
        /// `nextCursor` of the page before.
        #[oai(validator(max_length = 64))]
        cursor: Query<Option<String>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
    ) -> Result<Reply<Feed<AuditEntryView>>, AppError> {
        let me = viewer.require()?.actor();
        let query = AuditQuery {
            actor: actor.0,
            action: action.0,
            target: target.0,
            from: time("from", from.0)?,
            until: time("until", until.0)?,
        };
        let limit = PageRequest::new(None, limit.0).limit;
        let page = state_of(req)?
            .audit
            .page(&me, query, cursor.0.as_deref(), limit as usize)
            .await?;
        Ok(Reply(feed(
            page.entries.into_iter().map(AuditEntryView::from).collect(),
            limit,
            page.next.map(encode_cursor),
        )))
    }
}
