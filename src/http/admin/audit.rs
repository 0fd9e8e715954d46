//! The audit log page: every staff action, newest first.

use askama::Template;
use poem::{IntoResponse, Request, Response, handler};

use super::require_staff;
use crate::domain::audit::AuditEntry;
use crate::http::auth::Viewer;
use crate::http::error::AppError;
use crate::http::ui::{PageContext, render, state_of};
use crate::service::audit::Actor;

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    page: PageContext,
    section: &'static str,
    entries: Vec<AuditEntry>,
}

#[handler]
pub async fn page(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    let signed_in = require_staff(req, &viewer)?;
    let state = state_of(req)?;
    let entries = state
        .audit
        .recent(&Actor::from(&signed_in.user), 500)
        .await?
        .ok_or_else(AppError::forbidden)?;
    let page = AuditPage {
        page: PageContext::new(req, &state, &viewer),
        section: "audit",
        entries,
    };
    Ok(render(&page)?.into_response())
}
