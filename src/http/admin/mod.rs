//! The admin panel. Staff only; each page checks the permission it needs.

pub mod audit;
pub mod mail;
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
pub fn require_staff(req: &Request, viewer: &Viewer) -> Result<SignedIn, AppError> {
    match &viewer.0 {
        None => Err(AppError::sign_in_first(req.uri().path())),
        Some(s) if s.user.role.is_staff() => Ok(s.clone()),
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
