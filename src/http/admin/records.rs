//! Record settings: number formats per direction, the workflow (statuses and the moves
//! between them, each from a role up), the trash's days and the due-day reminders (admins
//! and the owner).

use askama::Template;
use poem::http::StatusCode;
use poem::web::{Form, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::require;
use crate::domain::account::FieldError;
use crate::domain::permission::Permission;
use crate::domain::settings::RecordSettings;
use crate::domain::workflow::Workflow;
use crate::http::auth::{Viewer, verify_csrf};
use crate::http::error::AppError;
use crate::http::ui::{PageContext, flash, render, render_status, state_of};
use crate::service::error::ServiceError;

/// The form's values as typed.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct RecordsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    incoming_format: String,
    #[serde(default)]
    outgoing_format: String,
    #[serde(default)]
    internal_format: String,
    #[serde(default)]
    trash_days: String,
    #[serde(default)]
    reminder_days: String,
    #[serde(default)]
    attachment_max_mib: String,
    /// One status per line: `key | Label`, or `key | Label | closed`.
    #[serde(default)]
    statuses: String,
    /// One move per line: `from -> to | role`.
    #[serde(default)]
    moves: String,
}

impl RecordsForm {
    fn from_settings(s: &RecordSettings) -> Self {
        Self {
            csrf: String::new(),
            incoming_format: s.incoming_format.clone(),
            outgoing_format: s.outgoing_format.clone(),
            internal_format: s.internal_format.clone(),
            trash_days: s.trash_days.to_string(),
            reminder_days: s.reminder_days.to_string(),
            attachment_max_mib: s.attachment_max_mib.to_string(),
            statuses: s.workflow.statuses_text(),
            moves: s.workflow.moves_text(),
        }
    }

    fn parse(&self) -> Result<RecordSettings, Vec<FieldError>> {
        let mut problems = Vec::new();
        let trash_days = super::whole_number(&mut problems, "records_trash_days", &self.trash_days);
        let reminder_days =
            super::whole_number(&mut problems, "records_reminder_days", &self.reminder_days);
        let attachment_max_mib = super::whole_number(
            &mut problems,
            "records_attachment_max_mib",
            &self.attachment_max_mib,
        );
        let workflow = match Workflow::from_text(&self.statuses, &self.moves) {
            Ok(w) => w,
            Err(lines) => {
                for (line, why) in lines {
                    problems.push(FieldError::new(
                        "records_workflow",
                        format!("{line}: {why}"),
                    ));
                }
                Workflow::default()
            }
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(RecordSettings {
            incoming_format: self.incoming_format.trim().into(),
            outgoing_format: self.outgoing_format.trim().into(),
            internal_format: self.internal_format.trim().into(),
            workflow,
            trash_days,
            reminder_days,
            attachment_max_mib,
        })
    }
}

#[derive(Template)]
#[template(path = "admin/records.html")]
struct RecordsPage {
    page: PageContext,
    section: &'static str,
    form: RecordsForm,
    errors: Vec<FieldError>,
    per_week: BarChart,
    by_status: BarChart,
}

/// Weeks the "created per week" chart shows.
const WEEKS: usize = 12;

/// A bar chart drawn as SVG by the template: each bar placed in a 600 × 200 box.
pub struct BarChart {
    pub bars: Vec<Bar>,
    pub max: u64,
}

pub struct Bar {
    pub label: String,
    pub value: u64,
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl BarChart {
    const WIDTH: u32 = 600;
    const HEIGHT: u32 = 160;

    fn of(values: Vec<(String, u64)>) -> Self {
        let max = values.iter().map(|(_, v)| *v).max().unwrap_or(0);
        let n = values.len().max(1) as u32;
        let slot = Self::WIDTH / n;
        let bars = values
            .into_iter()
            .enumerate()
            .map(|(i, (label, value))| {
                let height = (value * u64::from(Self::HEIGHT))
                    .checked_div(max)
                    .unwrap_or(0) as u32;
                Bar {
                    label,
                    value,
                    x: i as u32 * slot + slot / 8,
                    y: Self::HEIGHT - height + 20,
                    width: slot - slot / 4,
                    height,
                }
            })
            .collect();
        Self { bars, max }
    }
}

/// The page with the overview's charts above the settings form.
async fn records_page(
    req: &Request,
    state: &crate::http::state::AppState,
    viewer: &Viewer,
    me: &crate::service::access::Actor,
    form: RecordsForm,
    errors: Vec<FieldError>,
) -> Result<RecordsPage, AppError> {
    let overview = state.records.overview(me, WEEKS).await?;
    Ok(RecordsPage {
        page: PageContext::new(req, state, viewer),
        section: "records",
        form,
        errors,
        per_week: BarChart::of(
            overview
                .per_week
                .into_iter()
                .map(|(week, n)| (week.strftime("%b %-d").to_string(), n))
                .collect(),
        ),
        by_status: BarChart::of(overview.open_by_status),
    })
}

#[handler]
pub async fn page(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    let me = require(req, &viewer, Permission::ManageSettings)?;
    let state = state_of(req)?;
    let settings = state.records.settings(&me)?;
    let page = records_page(
        req,
        state,
        &viewer,
        &me,
        RecordsForm::from_settings(&settings),
        Vec::new(),
    )
    .await?;
    Ok(render(&page)?.into_response())
}

#[handler]
pub async fn save(
    req: &Request,
    viewer: Viewer,
    Form(form): Form<RecordsForm>,
) -> Result<Response, AppError> {
    let me = require(req, &viewer, Permission::ManageSettings)?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&form.csrf))?;
    let outcome = match form.parse() {
        Ok(settings) => state.records.save_settings(&me, settings).await.map(drop),
        Err(problems) => Err(ServiceError::Invalid(problems)),
    };
    match outcome {
        Ok(()) => {
            flash::set(req, "Record settings saved.");
            Ok(Redirect::see_other("/admin/records").into_response())
        }
        Err(ServiceError::Invalid(errors)) => render_status(
            &records_page(req, state, &viewer, &me, form, errors).await?,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => Err(e.into()),
    }
}
