//! The System page: version, uptime, storage, job queue and TLS at a glance.

use askama::Template;
use poem::{IntoResponse, Request, Response, handler};

use super::require;
use crate::domain::permission::Permission;
use crate::http::auth::Viewer;
use crate::http::error::AppError;
use crate::http::ui::{PageContext, human_bytes, render, state_of};
use crate::service::search::{IndexStatus, PopularQueries};
use crate::service::system::SystemStatus;

#[derive(Template)]
#[template(path = "admin/system.html")]
struct SystemPage {
    page: PageContext,
    section: &'static str,
    status: SystemStatus,
    uptime: String,
    database_size: String,
    data_size: String,
    free_disk: String,
    cert_expiry: String,
    search: IndexStatus,
    queries: PopularQueries,
}

#[handler]
pub async fn page(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    let actor = require(req, &viewer, Permission::ManageSettings)?;
    let state = state_of(req)?;
    let status = state.system.status(&actor).await?;
    let search = state.search.status(&actor).await?;
    let queries = state.search.popular(&actor, 10).await?;
    let now = state.system.now();
    let cert_expiry = match status.tls.not_after {
        Some(at) => {
            let days = at.duration_since(now).as_hours() / 24;
            format!("{} ({days} days left)", at.strftime("%Y-%m-%d %H:%M UTC"))
        }
        None if status.tls.mode == "off" => "no certificate (TLS is off)".into(),
        None => "not obtained yet".into(),
    };
    let page = SystemPage {
        page: PageContext::new(req, state, &viewer),
        section: "system",
        uptime: human_duration(status.uptime_seconds),
        database_size: human_bytes(status.database_bytes),
        data_size: human_bytes(status.data_dir_bytes),
        free_disk: status
            .disk_free_bytes
            .map(human_bytes)
            .unwrap_or_else(|| "unknown".into()),
        cert_expiry,
        status,
        search,
        queries,
    };
    Ok(render(&page)?.into_response())
}

pub fn human_duration(seconds: u64) -> String {
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
        seconds % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, _) => format!("{m} min {s} s"),
        (0, _, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanises() {
        assert_eq!(human_duration(42), "42 s");
        assert_eq!(human_duration(3 * 3600 + 120), "3 h 2 min");
        assert_eq!(human_duration(2 * 86_400 + 3600), "2 d 1 h");
    }
}

/// Rebuilds the search index in the background (a job; the page shows its progress as the
/// document count).
#[handler]
pub async fn rebuild_search(
    req: &Request,
    viewer: Viewer,
    poem::web::Form(input): poem::web::Form<crate::http::auth::CsrfForm>,
) -> Result<Response, AppError> {
    let actor = require(req, &viewer, Permission::ManageSettings)?;
    let state = state_of(req)?;
    crate::http::auth::verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    state.search.request_rebuild(&actor).await?;
    crate::http::ui::flash::set(
        req,
        "The search index is being rebuilt; searches keep working meanwhile, with what is indexed so far.",
    );
    Ok(poem::web::Redirect::see_other("/admin/system").into_response())
}
