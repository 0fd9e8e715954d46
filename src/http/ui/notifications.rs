//! The notification centre: the member's notifications, newest first, each linking to what
//! it is about; "Mark all read". Plain forms.

use askama::Template;
use poem::web::{Form, Redirect};
use poem::{IntoResponse, Request, Response, handler};

use super::{PageContext, flash, render, signed_in, state_of};
use crate::domain::notification::Notification;
use crate::http::auth::{CsrfForm, Viewer, verify_csrf};
use crate::http::error::AppError;
use crate::http::routing::Routes;

pub fn routes() -> Routes {
    Routes::new()
        .get("/notifications", page)
        .post("/notifications/read", mark_all_read)
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    page: PageContext,
    notifications: Vec<Notification>,
}

impl NotificationsPage {
    /// Where a notification leads.
    fn link(&self, n: &Notification) -> String {
        let subject = n.subject.as_deref().unwrap_or_default();
        match subject.split_once(':') {
            Some(("conversation", id)) => format!("/messages/{id}"),
            Some(("match", _)) => "/matches".into(),
            Some(("story", rest)) => format!("/stories/{}", rest.split(':').next().unwrap_or("")),
            Some(("media", _)) => "/media".into(),
            _ if subject == "likes" => "/likes".into(),
            _ => "/notifications".into(),
        }
    }

    fn when(&self, n: &Notification) -> String {
        n.created_at.strftime("%Y-%m-%d %H:%M").to_string()
    }
}

#[handler]
pub async fn page(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/notifications")?;
    let state = state_of(req)?;
    let notifications = state.notifications.list(&me.actor(), None, 100)?;
    Ok(render(&NotificationsPage {
        page: PageContext::new(req, state, &viewer),
        notifications,
    })?
    .into_response())
}

#[handler]
pub async fn mark_all_read(
    req: &Request,
    viewer: Viewer,
    Form(input): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/notifications")?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    state.notifications.mark_read(&me.actor(), None).await?;
    flash::set(req, "All read.");
    Ok(Redirect::see_other("/notifications").into_response())
}
