//! Mail settings (SMTP) and the test email. Admins and the owner.

use askama::Template;
use poem::http::StatusCode;
use poem::web::{Form, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::require;
use crate::domain::account::FieldError;
use crate::domain::permission::Permission;
use crate::domain::secret::Secret;
use crate::domain::settings::{MailSettings, SettingsPatch, SmtpSecurity};
use crate::http::auth::{Viewer, verify_csrf};
use crate::http::error::AppError;
use crate::http::ui::{PageContext, flash, render, state_of};
use crate::service::error::ServiceError;
use crate::service::mail::TestMailError;

fn require_settings_manager(
    req: &Request,
    viewer: &Viewer,
) -> Result<crate::service::access::Actor, AppError> {
    require(req, viewer, Permission::ManageSettings)
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct MailForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    smtp_host: String,
    #[serde(default)]
    smtp_port: String,
    #[serde(default)]
    smtp_security: String,
    #[serde(default)]
    smtp_username: String,
    /// Empty keeps the stored password.
    #[serde(default)]
    smtp_password: String,
    #[serde(default)]
    from: String,
}

impl MailForm {
    fn from_settings(m: &MailSettings) -> Self {
        Self {
            csrf: String::new(),
            smtp_host: m.smtp_host.clone(),
            smtp_port: m.smtp_port.to_string(),
            smtp_security: m.smtp_security.as_str().to_string(),
            smtp_username: m.smtp_username.clone(),
            smtp_password: String::new(),
            from: m.from.clone(),
        }
    }

    /// The mail fields as a change; an empty password keeps the stored one.
    fn parse(&self) -> Result<SettingsPatch, Vec<FieldError>> {
        let mut problems = Vec::new();
        let port = self.smtp_port.trim().parse::<u16>().unwrap_or_else(|_| {
            problems.push(FieldError::new("smtp_port", "Use a port from 1 to 65535."));
            0
        });
        let security = SmtpSecurity::parse(&self.smtp_security).unwrap_or_else(|| {
            problems.push(FieldError::new(
                "smtp_security",
                "Choose how the connection is secured.",
            ));
            SmtpSecurity::default()
        });
        let patch = SettingsPatch {
            smtp_host: Some(self.smtp_host.clone()),
            smtp_port: Some(port),
            smtp_security: Some(security),
            smtp_username: Some(self.smtp_username.clone()),
            smtp_password: (!self.smtp_password.is_empty())
                .then(|| Secret::new(self.smtp_password.clone())),
            mail_from: Some(self.from.clone()),
            ..SettingsPatch::default()
        };
        if problems.is_empty() {
            Ok(patch)
        } else {
            Err(problems)
        }
    }
}

#[derive(Template)]
#[template(path = "admin/mail.html")]
struct MailPage {
    page: PageContext,
    section: &'static str,
    form: MailForm,
    configured: bool,
    password_set: bool,
    test_to: String,
    errors: Vec<FieldError>,
}

async fn mail_page(
    req: &Request,
    viewer: &Viewer,
    form: Option<MailForm>,
    errors: Vec<FieldError>,
) -> Result<MailPage, AppError> {
    let state = state_of(req)?;
    let current = state.settings.current();
    Ok(MailPage {
        page: PageContext::new(req, state, viewer),
        section: "mail",
        form: form.unwrap_or_else(|| MailForm::from_settings(&current.mail)),
        configured: current.mail.is_configured(),
        password_set: !current.mail.smtp_password.expose().is_empty(),
        test_to: viewer
            .0
            .as_ref()
            .map(|s| s.user.email.clone())
            .unwrap_or_default(),
        errors,
    })
}

#[handler]
pub async fn page(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    require_settings_manager(req, &viewer)?;
    Ok(render(&mail_page(req, &viewer, None, Vec::new()).await?)?.into_response())
}

#[handler]
pub async fn save(
    req: &Request,
    viewer: Viewer,
    Form(input): Form<MailForm>,
) -> Result<Response, AppError> {
    let actor = require_settings_manager(req, &viewer)?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    let outcome = match input.parse() {
        Ok(patch) => state.settings.update(&actor, patch).await.map(drop),
        Err(problems) => Err(ServiceError::Invalid(problems)),
    };
    match outcome {
        Ok(()) => {
            flash::set(req, "Mail settings saved.");
            Ok(Redirect::see_other("/admin/mail").into_response())
        }
        Err(ServiceError::Invalid(errors)) => Ok(render(
            &mail_page(req, &viewer, Some(input), errors).await?,
        )?
        .with_status(StatusCode::UNPROCESSABLE_ENTITY)
        .into_response()),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct TestInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    to: String,
}

#[handler]
pub async fn send_test(
    req: &Request,
    viewer: Viewer,
    Form(input): Form<TestInput>,
) -> Result<Response, AppError> {
    let actor = require_settings_manager(req, &viewer)?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    match state.outbox.send_test(&actor, &input.to).await {
        Ok(()) => {
            flash::set(req, &format!("Test email sent to {}.", input.to.trim()));
            Ok(Redirect::see_other("/admin/mail").into_response())
        }
        Err(TestMailError::Service(e)) => Err(e.into()),
        Err(TestMailError::Mail(e)) => {
            let errors = vec![FieldError::new(
                "to",
                format!("The test email was not sent: {e}"),
            )];
            Ok(render(&mail_page(req, &viewer, None, errors).await?)?
                .with_status(StatusCode::BAD_GATEWAY)
                .into_response())
        }
    }
}
