//! The discovery deck page: one card at a time, with big Like and Pass buttons (forms), the
//! arrow keys and touch swipes (our script presses the buttons), and an undo for the last pass.

use askama::Template;
use poem::web::{Form, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::{PageContext, flash, render, signed_in, state_of};
use crate::http::auth::{CsrfForm, Viewer, verify_csrf};
use crate::http::error::AppError;
use crate::http::routing::Routes;
use crate::service::error::{ErrorCode, ServiceError};
use crate::service::profiles::ProfileCard;

pub fn routes() -> Routes {
    Routes::new()
        .get("/discover", page)
        .post("/discover/swipe", swipe)
        .post("/discover/undo", undo)
}

#[derive(Template)]
#[template(path = "discover.html")]
struct DiscoverPage {
    page: PageContext,
    card: Option<ProfileCard>,
    /// The member has no profile yet.
    no_profile: bool,
}

#[handler]
pub async fn page(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/discover")?;
    let state = state_of(req)?;
    let actor = me.actor();
    let (card, no_profile) = match state.discovery.deck(&actor, 1).await {
        Ok(ids) => (
            state.profiles.cards(&actor, &ids)?.into_iter().next(),
            false,
        ),
        Err(ServiceError::Conflict(r)) if r.code == ErrorCode::ProfileRequired => (None, true),
        Err(e) => return Err(e.into()),
    };
    Ok(render(&DiscoverPage {
        page: PageContext::new(req, state, &viewer),
        card,
        no_profile,
    })?
    .into_response())
}

#[derive(Deserialize)]
pub struct SwipeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    member: String,
    #[serde(default)]
    action: String,
}

#[handler]
pub async fn swipe(
    req: &Request,
    viewer: Viewer,
    Form(input): Form<SwipeForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/discover")?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    let target = input
        .member
        .parse()
        .map_err(|_| AppError::invalid("member", "Choose a member from the deck."))?;
    super::matching::swipe_from_form(req, state, &me.actor(), target, &input.action, true).await
}

#[handler]
pub async fn undo(
    req: &Request,
    viewer: Viewer,
    Form(input): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/discover")?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    match state.matching.undo_last_pass(&me.actor()).await {
        Ok(_) => flash::set(req, "Brought back your last pass."),
        Err(ServiceError::NotFound(r)) => flash::set(req, &r.message),
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::see_other("/discover").into_response())
}
