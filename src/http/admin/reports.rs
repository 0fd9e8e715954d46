//! The reports queue: what members reported, oldest first, with the decisions (dismiss, warn,
//! remove the photo, suspend, ban). Moderators and up; suspending and banning are for admins.

use askama::Template;
use poem::web::{Form, Path, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::{PAGE_SIZE, offset_of, pager, staff_actor};
use crate::domain::matching::{Report, ReportDecision, ReportedMessage};
use crate::http::auth::{Viewer, verify_csrf};
use crate::http::error::AppError;
use crate::http::ui::{PageContext, flash, render, state_of};

#[derive(Template)]
#[template(path = "admin/reports.html")]
struct ReportsPage {
    page: PageContext,
    section: &'static str,
    reports: Vec<(Report, Vec<ReportedMessage>)>,
    total: u64,
    prev: Option<String>,
    next: Option<String>,
}

#[handler]
pub async fn page(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    let me = staff_actor(req, &viewer)?;
    let state = state_of(req)?;
    let offset = offset_of(req);
    let (reports, total) = state.reports.open(&me, offset, PAGE_SIZE).await?;
    let (prev, next) = pager("/admin/reports?", offset, total as usize);
    Ok(render(&ReportsPage {
        page: PageContext::new(req, state, &viewer),
        section: "reports",
        reports,
        total,
        prev,
        next,
    })?
    .into_response())
}

#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
    /// `YYYY-MM-DDTHH:MM` (UTC), for a suspension.
    #[serde(default)]
    until: String,
}

#[handler]
pub async fn decide(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(input): Form<DecisionForm>,
) -> Result<Response, AppError> {
    let me = staff_actor(req, &viewer)?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    let id = id.parse().map_err(|_| AppError::not_found())?;
    let decision = ReportDecision::parse(&input.decision)
        .ok_or_else(|| AppError::invalid("decision", "Choose a decision."))?;
    let until = super::utc_minute(&input.until);
    state
        .reports
        .decide(&me, id, decision, &input.note, until)
        .await?;
    flash::set(req, "Decided.");
    Ok(Redirect::see_other("/admin/reports").into_response())
}
