//! Site settings: registration mode, limits, the site name. Admins and the owner.

use askama::Template;
use poem::http::StatusCode;
use poem::web::{Form, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::require;
use crate::domain::account::FieldError;
use crate::domain::permission::Permission;
use crate::domain::settings::{RegistrationMode, SettingsPatch, SiteSettings};
use crate::http::auth::{Viewer, verify_csrf};
use crate::http::error::AppError;
use crate::http::ui::{PageContext, flash, render, render_status, state_of};
use crate::service::error::ServiceError;

/// The form's values, as strings so a bad entry can be shown back as typed.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct SettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    site_name: String,
    #[serde(default)]
    registration: String,
    #[serde(default)]
    approval_queue_limit: String,
    #[serde(default)]
    api_requests_per_second: String,
    #[serde(default)]
    sign_in_attempts_per_15_minutes: String,
    #[serde(default)]
    sign_ups_per_hour: String,
    #[serde(default)]
    password_resets_per_hour: String,
    /// "yes" when the box is ticked (unticked boxes are not sent).
    #[serde(default)]
    require_staff_second_factor: String,
}

impl SettingsForm {
    fn from_settings(s: &SiteSettings) -> Self {
        Self {
            csrf: String::new(),
            site_name: s.site_name.clone(),
            registration: s.registration.as_str().to_string(),
            approval_queue_limit: s.approval_queue_limit.to_string(),
            api_requests_per_second: s.api_requests_per_second.to_string(),
            sign_in_attempts_per_15_minutes: s.sign_in_attempts_per_15_minutes.to_string(),
            sign_ups_per_hour: s.sign_ups_per_hour.to_string(),
            password_resets_per_hour: s.password_resets_per_hour.to_string(),
            require_staff_second_factor: if s.require_staff_second_factor {
                "yes".into()
            } else {
                String::new()
            },
        }
    }

    /// The change this form asks for (every field of the form; the rest stay as stored).
    fn parse(&self) -> Result<SettingsPatch, Vec<FieldError>> {
        let mut problems = Vec::new();
        let mut number = |field, raw: &str| Some(super::whole_number(&mut problems, field, raw));
        let patch = SettingsPatch {
            site_name: Some(self.site_name.clone()),
            approval_queue_limit: number("approval_queue_limit", &self.approval_queue_limit),
            api_requests_per_second: number(
                "api_requests_per_second",
                &self.api_requests_per_second,
            ),
            sign_in_attempts_per_15_minutes: number(
                "sign_in_attempts_per_15_minutes",
                &self.sign_in_attempts_per_15_minutes,
            ),
            sign_ups_per_hour: number("sign_ups_per_hour", &self.sign_ups_per_hour),
            password_resets_per_hour: number(
                "password_resets_per_hour",
                &self.password_resets_per_hour,
            ),
            require_staff_second_factor: Some(self.require_staff_second_factor == "yes"),
            registration: RegistrationMode::parse(&self.registration),
            ..SettingsPatch::default()
        };
        if patch.registration.is_none() {
            problems.push(FieldError::new(
                "registration",
                "Choose a registration mode.",
            ));
        }
        if problems.is_empty() {
            Ok(patch)
        } else {
            Err(problems)
        }
    }
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    page: PageContext,
    section: &'static str,
    form: SettingsForm,
    /// (value, label, help) per registration mode.
    modes: Vec<(&'static str, &'static str, &'static str)>,
    errors: Vec<FieldError>,
}

fn modes() -> Vec<(&'static str, &'static str, &'static str)> {
    RegistrationMode::ALL
        .into_iter()
        .map(|m| {
            let label = match m {
                RegistrationMode::Open => "Open",
                RegistrationMode::Approval => "Approval queue",
                RegistrationMode::InviteOnly => "Invite only",
                RegistrationMode::Closed => "Closed",
            };
            (m.as_str(), label, m.help())
        })
        .collect()
}

#[handler]
pub async fn form(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    require(req, &viewer, Permission::ManageSettings)?;
    let state = state_of(req)?;
    let form = SettingsForm::from_settings(&state.settings.current());
    let page = SettingsPage {
        page: PageContext::new(req, state, &viewer),
        section: "settings",
        form,
        modes: modes(),
        errors: Vec::new(),
    };
    Ok(render(&page)?.into_response())
}

#[handler]
pub async fn save(
    req: &Request,
    viewer: Viewer,
    Form(input): Form<SettingsForm>,
) -> Result<Response, AppError> {
    let actor = require(req, &viewer, Permission::ManageSettings)?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    let outcome = match input.parse() {
        Ok(patch) => state.settings.update(&actor, patch).await.map(drop),
        Err(problems) => Err(ServiceError::Invalid(problems)),
    };
    match outcome {
        Ok(()) => {
            flash::set(req, "Settings saved.");
            Ok(Redirect::see_other("/admin/settings").into_response())
        }
        Err(ServiceError::Invalid(errors)) => {
            let page = SettingsPage {
                page: PageContext::new(req, state, &viewer),
                section: "settings",
                form: input,
                modes: modes(),
                errors,
            };
            render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(e.into()),
    }
}
