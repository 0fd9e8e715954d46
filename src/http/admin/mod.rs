//! The admin panel. Staff only; each page checks the permission it needs.

pub mod audit;
pub mod mail;
pub mod media;
pub mod registration;
pub mod settings;
pub mod system;
pub mod users;

use askama::Template;
use poem::{IntoResponse, Request, Response, handler};

use super::auth::Viewer;
use super::error::AppError;
use super::ui::{PageContext, render, state_of};
use crate::service::accounts::SignedIn;

/// Signed-in staff pass; anonymous visitors are sent to sign in, others get 403.
/// A whole-number form field; when it is not one, the problem is noted and 0 stands in (the
/// form comes back with the message, nothing is saved).
pub(super) fn whole_number(
    problems: &mut Vec<crate::domain::account::FieldError>,
    field: &'static str,
    raw: &str,
) -> u32 {
    raw.trim().parse().unwrap_or_else(|_| {
        problems.push(crate::domain::account::FieldError::new(
            field,
            "Enter a whole number.",
        ));
        0
    })
}

pub fn require_staff(req: &Request, viewer: &Viewer) -> Result<SignedIn, AppError> {
    match &viewer.0 {
        None => Err(AppError::sign_in_first(req.uri().path())),
        Some(s) if s.user.role.is_staff() => {
            let required = req
                .data::<crate::http::state::AppState>()
                .is_some_and(|st| st.settings.current().require_staff_second_factor);
            if required && !s.second_factor {
                return Err(AppError::new(
                    poem::http::StatusCode::FORBIDDEN,
                    "SECOND_FACTOR_REQUIRED",
                    "Staff must turn on two-factor authentication (on your account page) before using the admin panel.",
                ));
            }
            Ok(s.clone())
        }
        Some(_) => Err(AppError::forbidden()),
    }
}

#[derive(Template)]
#[template(path = "admin/overview.html")]
struct Overview {
    page: PageContext,
    section: &'static str,
}

#[handler]
pub async fn overview(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    require_staff(req, &viewer)?;
    let state = state_of(req)?;
    Ok(render(&Overview {
        page: PageContext::new(req, &state, &viewer),
        section: "overview",
    })?
    .into_response())
}
