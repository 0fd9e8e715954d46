//! The web layer: the only module that names poem. It calls services and never the store.
//!
//! - [`middleware`]: request id, client address, limits, error rendering, security headers;
//! - [`ui`] and [`admin`]: HTML pages; [`api`]: the JSON API and its OpenAPI document;
//! - [`health`]: `/healthz`, `/readyz`, `/metrics`; [`static_files`]: embedded assets;
//! - [`auth`]: sessions and CSRF; [`error`]: how every error looks;
//! - [`routing`]: each module's `routes()`, merged here into the router and the route table.

pub mod admin;
pub mod api;
pub mod auth;
pub mod downloads;
pub mod error;
pub mod health;
pub mod media;
pub mod metrics;
pub mod middleware;
pub mod routing;
pub mod state;
pub mod static_files;
pub mod stream;
pub mod ui;

use poem::http::{StatusCode, header};
use poem::middleware::{CatchPanic, CookieJarManager};
use poem::{Endpoint, EndpointExt, Request, Response};

pub use state::AppState;

use routing::{RouteTable, Routes};

/// Paths that take uploads: their body limit is the media settings', not `max_body_kib`.
pub const MEDIA_UPLOAD_PATHS: &[&str] = &["/media", "/api/v1/media/uploads"];
/// Routes that take a records CSV file (up to `record_csv::IMPORT_BYTES_MAX`).
pub const RECORD_IMPORT_PATHS: &[&str] = &["/records/import", "/api/v1/records/import"];

/// Route templates that take a file for a record (up to the attachment size the admins set).
pub const RECORD_FILE_PATHS: &[&str] = &[
    "/records/:id/attachments",
    "/api/v1/records/{id}/attachments",
];

/// Every route this build serves: each web module contributes its own.
pub fn routes() -> Routes {
    Routes::new()
        .merge(ui::routes())
        .merge(admin::routes())
        .merge(media::routes())
        .merge(health::routes())
        .merge(static_files::routes())
        .merge(api::routes())
        .merge(stream::routes())
}

/// The table of every route template and its methods.
pub fn route_table() -> RouteTable {
    routes().build().1
}

/// The whole application as one poem endpoint.
pub fn endpoint(state: AppState) -> impl Endpoint<Output = Response> {
    let (router, table) = routes().build();
    let app = router
        .with(CookieJarManager::new())
        .with(CatchPanic::new().with_handler(|_| {
            tracing::error!("a request handler panicked");
            StatusCode::INTERNAL_SERVER_ERROR
        }));
    middleware::Front::new(app.map_to_response(), state, table)
}

/// The plain-HTTP listener's whole job when TLS is on: send everyone to HTTPS.
pub fn redirect_to_https(https_port: u16) -> impl Endpoint<Output = Response> {
    poem::endpoint::make_sync(move |req: Request| {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("localhost");
        let host = host
            .rsplit_once(':')
            .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
            .map_or(host, |(h, _)| h);
        let port = if https_port == 443 {
            String::new()
        } else {
            format!(":{https_port}")
        };
        let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
        Response::builder()
            .status(StatusCode::PERMANENT_REDIRECT)
            .header(header::LOCATION, format!("https://{host}{port}{path}"))
            .finish()
    })
}
