//! Server-rendered HTML pages. Every page works as plain HTML forms; htmx and our small script
//! only make it smoother.

pub mod account;
pub mod directory;
pub mod discover;
pub mod flash;
pub mod join;
pub mod matching;
pub mod me;
pub mod media;
pub mod messages;
pub mod notifications;
pub mod profile;
pub mod record_files;
pub mod records;
pub mod search;
pub mod stories;

use std::sync::Arc;

use askama::Template;
use poem::web::Html;
use poem::{Request, handler};

use super::auth::{Viewer, csrf_token_for};
use super::error::AppError;
use super::middleware::RequestId;
use super::routing::Routes;
use super::state::AppState;
use super::static_files::AssetUrls;
use crate::service::system::VERSION;

/// The member-facing pages.
pub fn routes() -> Routes {
    Routes::new()
        .get("/", home)
        .get("/about", about)
        .merge(account::routes())
        .merge(join::routes())
        .merge(me::routes())
        .merge(media::routes())
        .merge(profile::routes())
        .merge(directory::routes())
        .merge(discover::routes())
        .merge(stories::routes())
        .merge(records::routes())
        .merge(record_files::routes())
        .merge(messages::routes())
        .merge(notifications::routes())
        .merge(search::routes())
        .merge(matching::routes())
}

/// The signed-in user as the layout shows them.
#[derive(Debug, Clone)]
pub struct UserView {
    /// The member's id (for the page's script: to tell its own messages from others').
    pub id: String,
    pub username: String,
    pub is_staff: bool,
}

/// What the layout needs on every page.
#[derive(Debug, Clone)]
pub struct PageContext {
    pub site_name: String,
    pub user: Option<UserView>,
    pub csrf: String,
    pub flash: Option<String>,
    pub request_id: String,
    pub version: &'static str,
    pub assets: AssetUrls,
    /// Unread messages of the signed-in member (the badge in the main places).
    pub unread: u32,
    /// Their unread notifications (the badge on the bell).
    pub notifications: u32,
}

impl PageContext {
    pub fn new(req: &Request, state: &AppState, viewer: &Viewer) -> Self {
        Self {
            site_name: state.settings.current().site_name.clone(),
            user: viewer.0.as_ref().map(|s| UserView {
                id: s.user.id.to_string(),
                username: s.user.username.clone(),
                is_staff: s.user.role.is_staff(),
            }),
            csrf: csrf_token_for(req, viewer, state.tls),
            flash: flash::take(req),
            request_id: req
                .data::<RequestId>()
                .map(|r| r.0.clone())
                .unwrap_or_default(),
            version: VERSION,
            assets: (*state.assets).clone(),
            // A failed count shows no badge rather than no page.
            unread: viewer
                .0
                .as_ref()
                .map_or(0, |s| state.messages.unread_total(&s.actor()).unwrap_or(0)),
            notifications: viewer.0.as_ref().map_or(0, |s| {
                state.notifications.unread_count(&s.actor()).unwrap_or(0)
            }),
        }
    }
}

pub fn render(template: &impl Template) -> Result<Html<String>, AppError> {
    template.render().map(Html).map_err(|e| {
        tracing::error!("template error: {e}");
        AppError::internal()
    })
}

/// A page with a status other than 200 (a form sent back with its problems, say).
pub fn render_status(
    template: &impl Template,
    status: poem::http::StatusCode,
) -> Result<poem::Response, AppError> {
    use poem::IntoResponse;
    Ok(render(template)?.with_status(status).into_response())
}

/// The signed-in member, or a redirect to the sign-in page that comes back to `back_to`.
pub fn signed_in(
    viewer: &Viewer,
    back_to: &str,
) -> Result<crate::service::accounts::SignedIn, AppError> {
    viewer
        .0
        .clone()
        .ok_or_else(|| AppError::sign_in_first(back_to))
}

pub fn state_of(req: &Request) -> Result<&AppState, AppError> {
    req.data::<Arc<AppState>>()
        .map(|state| &**state)
        .ok_or_else(AppError::internal)
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    page: PageContext,
}

#[handler]
pub async fn home(req: &Request, viewer: Viewer) -> Result<Html<String>, AppError> {
    let state = state_of(req)?;
    render(&HomePage {
        page: PageContext::new(req, state, &viewer),
    })
}

#[derive(Template)]
#[template(path = "about.html")]
struct AboutPage {
    page: PageContext,
}

/// What runs the site, and the credits its data and libraries ask for.
#[handler]
pub async fn about(req: &Request, viewer: Viewer) -> Result<Html<String>, AppError> {
    let state = state_of(req)?;
    render(&AboutPage {
        page: PageContext::new(req, state, &viewer),
    })
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    page: PageContext,
    status: u16,
    heading: &'a str,
    message: &'a str,
}

/// The HTML error page (rendered without the viewer: errors must not depend on the store).
pub fn error_page(state: &AppState, request_id: &str, err: &AppError) -> String {
    let page = PageContext {
        site_name: state.settings.current().site_name.clone(),
        user: None,
        csrf: String::new(),
        flash: None,
        request_id: request_id.to_string(),
        version: VERSION,
        assets: (*state.assets).clone(),
        unread: 0,
        notifications: 0,
    };
    let heading = err.status.canonical_reason().unwrap_or("Error");
    let template = ErrorPage {
        page,
        status: err.status.as_u16(),
        heading,
        message: &err.message,
    };
    template.render().unwrap_or_else(|_| {
        format!(
            "{} {heading}. Request id: {request_id}",
            err.status.as_u16()
        )
    })
}

/// A byte count as people read it: "512 B", "1.5 KiB", "9.8 MiB".
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn byte_counts_read_as_people_say_them() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(10 * 1024 * 1024), "10.0 MiB");
    }
}
