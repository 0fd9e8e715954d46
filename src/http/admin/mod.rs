//! The admin panel. Staff only; each page checks the permission it needs.

pub mod audit;
pub mod mail;
pub mod media;
pub mod profiles;
pub mod records;
pub mod registration;
pub mod reports;
pub mod settings;
pub mod system;
pub mod users;

use askama::Template;
use poem::{IntoResponse, Request, Response, handler};

use super::auth::Viewer;
use super::error::AppError;
use super::routing::Routes;
use super::ui::{PageContext, render, state_of};
use crate::domain::permission::Permission;
use crate::service::access::Actor;
use crate::service::accounts::SignedIn;

/// The admin panel's pages.
pub fn routes() -> Routes {
    Routes::new()
        .get("/admin", overview)
        .get("/admin/system", system::page)
        .post("/admin/system/search-rebuild", system::rebuild_search)
        .get("/admin/settings", settings::form)
        .post("/admin/settings", settings::save)
        .get("/admin/audit", audit::page)
        .get("/admin/users", users::list)
        .get("/admin/users/:id", users::show)
        .post("/admin/users/:id", users::act)
        .get("/admin/media", media::page)
        .post("/admin/media/settings", media::save_settings)
        .post("/admin/media/:id/decision", media::decide)
        .post("/admin/media/:id/remove", media::remove)
        .get("/admin/reports", reports::page)
        .post("/admin/reports/:id/decision", reports::decide)
        .get("/admin/profiles", profiles::page)
        .post("/admin/profiles", profiles::save)
        .get("/admin/records", records::page)
        .post("/admin/records", records::save)
        .get("/admin/approvals", registration::approvals)
        .post("/admin/approvals/:id", registration::decide)
        .get("/admin/invitations", registration::invitations)
        .post("/admin/invitations", registration::create_invitation)
        .post(
            "/admin/invitations/:id/revoke",
            registration::revoke_invitation,
        )
        .get("/admin/mail", mail::page)
        .post("/admin/mail", mail::save)
        .post("/admin/mail/test", mail::send_test)
}

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

/// A `YYYY-MM-DDTHH:MM` time from a `datetime-local` input, taken as UTC.
pub(super) fn utc_minute(raw: &str) -> Option<jiff::Timestamp> {
    jiff::civil::DateTime::strptime("%Y-%m-%dT%H:%M", raw.trim())
        .ok()
        .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
}

/// Rows per page of the admin lists.
pub const PAGE_SIZE: usize = 50;

/// `?offset=` of a list page, from the query string (0 when absent or bad).
pub fn offset_of(req: &Request) -> usize {
    #[derive(serde::Deserialize)]
    struct Offset {
        offset: Option<usize>,
    }
    req.params::<Offset>()
        .ok()
        .and_then(|o| o.offset)
        .unwrap_or(0)
}

/// Links to the previous and next pages of a list at `offset` of `total`; `base` is the
/// page's path with its query so far (ending in `?` or `&`).
pub fn pager(base: &str, offset: usize, total: usize) -> (Option<String>, Option<String>) {
    let prev = (offset > 0).then(|| format!("{base}offset={}", offset.saturating_sub(PAGE_SIZE)));
    let next = (offset + PAGE_SIZE < total).then(|| format!("{base}offset={}", offset + PAGE_SIZE));
    (prev, next)
}

/// The staff member behind a page that needs `permission`, under the same rule the services
/// apply (the permission matrix, and a second factor when the site requires one of staff);
/// anonymous visitors are sent to sign in.
pub fn require(req: &Request, viewer: &Viewer, permission: Permission) -> Result<Actor, AppError> {
    let Some(signed_in) = &viewer.0 else {
        return Err(AppError::sign_in_first(req.uri().path()));
    };
    let actor = signed_in.actor();
    state_of(req)?.access.require(&actor, permission)?;
    Ok(actor)
}

/// Signed-in staff (moderators and up) pass.
pub fn require_staff(req: &Request, viewer: &Viewer) -> Result<SignedIn, AppError> {
    require(req, viewer, Permission::Moderate)?;
    viewer.0.clone().ok_or_else(AppError::unauthorized)
}

/// The staff member who acts through this request.
pub fn staff_actor(req: &Request, viewer: &Viewer) -> Result<Actor, AppError> {
    require(req, viewer, Permission::Moderate)
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
        page: PageContext::new(req, state, &viewer),
        section: "overview",
    })?
    .into_response())
}
