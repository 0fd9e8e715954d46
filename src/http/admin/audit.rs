//! The audit log page: every staff action, newest first, filtered by who, what, whom and
//! when, a page at a time.

use askama::Template;
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::require;
use crate::domain::audit::AuditEntry;
use crate::domain::permission::Permission;
use crate::http::auth::Viewer;
use crate::http::error::AppError;
use crate::http::ui::{PageContext, render, state_of};
use crate::service::audit::{AuditQuery, encode_cursor};

/// Entries per page.
const PAGE: usize = 100;

#[derive(Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub target: String,
    /// `YYYY-MM-DD` (UTC), inclusive.
    #[serde(default)]
    pub from: String,
    /// `YYYY-MM-DD` (UTC), inclusive.
    #[serde(default)]
    pub until: String,
    #[serde(default)]
    pub cursor: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    page: PageContext,
    section: &'static str,
    filters: Filters,
    entries: Vec<AuditEntry>,
    /// The link to the next (older) page, when there may be one.
    older: Option<String>,
}

fn day(raw: &str, next: bool) -> Result<Option<jiff::Timestamp>, AppError> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    let date: jiff::civil::Date = raw
        .trim()
        .parse()
        .map_err(|_| AppError::invalid("from", "Enter dates as YYYY-MM-DD."))?;
    let date = if next {
        date.tomorrow()
            .map_err(|_| AppError::invalid("until", "Enter a real date."))?
    } else {
        date
    };
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| Some(z.timestamp()))
        .map_err(|_| AppError::invalid("from", "Enter a real date."))
}

#[handler]
pub async fn page(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    let actor = require(req, &viewer, Permission::ManageUsers)?;
    let state = state_of(req)?;
    let filters = req.params::<Filters>().unwrap_or_default();
    let nonempty = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let query = AuditQuery {
        actor: nonempty(&filters.actor),
        action: nonempty(&filters.action),
        target: nonempty(&filters.target),
        from: day(&filters.from, false)?,
        until: day(&filters.until, true)?,
    };
    let cursor = nonempty(&filters.cursor);
    let found = state
        .audit
        .page(&actor, query, cursor.as_deref(), PAGE)
        .await?;
    let older = found.next.map(|next| {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("actor", &filters.actor)
            .append_pair("action", &filters.action)
            .append_pair("target", &filters.target)
            .append_pair("from", &filters.from)
            .append_pair("until", &filters.until)
            .append_pair("cursor", &encode_cursor(next))
            .finish();
        format!("/admin/audit?{query}")
    });
    let page = AuditPage {
        page: PageContext::new(req, state, &viewer),
        section: "audit",
        filters,
        entries: found.entries,
        older,
    };
    Ok(render(&page)?.into_response())
}
