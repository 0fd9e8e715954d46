//! The web layer: the only module that names poem. It calls services and never the store.
//!
//! - [`middleware`]: request id, client address, limits, error rendering, security headers;
//! - [`ui`] and [`admin`]: HTML pages; [`api`]: the JSON API and its OpenAPI document;
//! - [`health`]: `/healthz`, `/readyz`, `/metrics`; [`static_files`]: embedded assets;
//! - [`auth`]: sessions and CSRF; [`error`]: how every error looks.

pub mod admin;
pub mod api;
pub mod auth;
pub mod error;
pub mod health;
pub mod media;
pub mod metrics;
pub mod middleware;
pub mod routes_table;
pub mod state;
pub mod static_files;
pub mod ui;

use std::sync::Arc;

use poem::http::{Method, StatusCode, header};
use poem::middleware::{CatchPanic, CookieJarManager};
use poem::web::Html;
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route, get, handler, post};

pub use state::AppState;

use error::AppError;

/// Paths that take uploads: their body limit is the media settings', not `max_body_kib`.
pub const MEDIA_UPLOAD_PATHS: &[&str] = &["/media", "/api/v1/media/uploads"];
use routes_table::RouteTable;

/// Paths served outside the OpenAPI service, with their methods (for `Allow` and metrics).
const PAGE_ROUTES: &[(&str, &[Method])] = &[
    ("/", &[Method::GET]),
    ("/setup/:token", &[Method::GET, Method::POST]),
    ("/login", &[Method::GET, Method::POST]),
    ("/logout", &[Method::POST]),
    ("/login/code", &[Method::GET, Method::POST]),
    ("/login/passkey/options", &[Method::POST]),
    ("/login/passkey", &[Method::POST]),
    ("/login/code/passkey/options", &[Method::POST]),
    ("/login/code/passkey", &[Method::POST]),
    ("/account/passkeys/:id/remove", &[Method::POST]),
    ("/account/2fa/begin", &[Method::POST]),
    ("/account/2fa/confirm", &[Method::POST]),
    ("/account/2fa/disable", &[Method::POST]),
    ("/join", &[Method::GET, Method::POST]),
    ("/join/:code", &[Method::GET, Method::POST]),
    ("/verify/:token", &[Method::GET]),
    ("/forgot", &[Method::GET, Method::POST]),
    ("/reset/:token", &[Method::GET, Method::POST]),
    ("/account", &[Method::GET]),
    ("/account/password", &[Method::POST]),
    ("/account/export", &[Method::GET]),
    ("/account/delete", &[Method::POST]),
    ("/account/tokens", &[Method::POST]),
    ("/account/tokens/:id/revoke", &[Method::POST]),
    ("/account/sessions/:id/revoke", &[Method::POST]),
    ("/account/sessions/revoke-others", &[Method::POST]),
    ("/admin", &[Method::GET]),
    ("/admin/system", &[Method::GET]),
    ("/admin/settings", &[Method::GET, Method::POST]),
    ("/admin/audit", &[Method::GET]),
    ("/admin/users", &[Method::GET]),
    ("/admin/users/:id", &[Method::GET, Method::POST]),
    ("/media", &[Method::GET, Method::POST]),
    ("/media/:id", &[Method::GET]),
    ("/media/:id/delete", &[Method::POST]),
    ("/media/:id/:variant", &[Method::GET]),
    ("/admin/media", &[Method::GET]),
    ("/admin/media/settings", &[Method::POST]),
    ("/admin/media/:id/decision", &[Method::POST]),
    ("/admin/media/:id/remove", &[Method::POST]),
    ("/admin/approvals", &[Method::GET]),
    ("/admin/approvals/:id", &[Method::POST]),
    ("/admin/invitations", &[Method::GET, Method::POST]),
    ("/admin/invitations/:id/revoke", &[Method::POST]),
    ("/admin/mail", &[Method::GET, Method::POST]),
    ("/admin/mail/test", &[Method::POST]),
    ("/healthz", &[Method::GET]),
    ("/readyz", &[Method::GET]),
    ("/metrics", &[Method::GET]),
    ("/static/*path", &[Method::GET]),
    ("/api/openapi.json", &[Method::GET]),
    ("/api/docs", &[Method::GET]),
    ("/api/v1/media/uploads", &[Method::POST]),
];

/// The route table for this build: page routes plus every API operation.
pub fn route_table() -> RouteTable {
    let mut table = RouteTable::default();
    for (path, methods) in PAGE_ROUTES {
        table.add(path, methods);
    }
    table.add_openapi(&api::document());
    table
}

#[handler]
async fn metrics_endpoint(req: &Request) -> Result<Response, AppError> {
    let state = ui::state_of(req)?;
    health::metrics(req, state.metrics_token.as_ref()).await
}

/// The whole application as one poem endpoint.
pub fn endpoint(state: AppState) -> impl Endpoint<Output = Response> {
    let document = api::document();
    let spec_json: Arc<str> = serde_json::to_string_pretty(&document)
        .unwrap_or_default()
        .into();
    let docs_html: Arc<str> = askama::Template::render(&api::docs::page(&document))
        .unwrap_or_default()
        .into();

    let routes = Route::new()
        .at("/", get(ui::home))
        .at(
            "/setup/:token",
            get(ui::account::setup_form).post(ui::account::setup_submit),
        )
        .at(
            "/login",
            get(ui::account::login_form).post(ui::account::login_submit),
        )
        .at("/logout", post(ui::account::logout))
        .at(
            "/login/code",
            get(ui::account::code_form).post(ui::account::code_submit),
        )
        .at("/login/passkey/options", post(ui::account::passkey_options))
        .at("/login/passkey", post(ui::account::passkey_finish))
        .at(
            "/login/code/passkey/options",
            post(ui::account::code_passkey_options),
        )
        .at(
            "/login/code/passkey",
            post(ui::account::code_passkey_finish),
        )
        .at("/account/passkeys/:id/remove", post(ui::me::remove_passkey))
        .at("/account/2fa/begin", post(ui::me::begin_totp))
        .at("/account/2fa/confirm", post(ui::me::confirm_totp))
        .at("/account/2fa/disable", post(ui::me::disable_totp))
        .at("/join", get(ui::join::form).post(ui::join::submit))
        .at(
            "/join/:code",
            get(ui::join::invited_form).post(ui::join::invited_submit),
        )
        .at("/verify/:token", get(ui::join::verify))
        .at(
            "/forgot",
            get(ui::join::forgot_form).post(ui::join::forgot_submit),
        )
        .at(
            "/reset/:token",
            get(ui::join::reset_form).post(ui::join::reset_submit),
        )
        .at("/account", get(ui::me::page))
        .at("/account/password", post(ui::me::change_password))
        .at("/account/export", get(ui::me::export))
        .at("/account/delete", post(ui::me::request_deletion))
        .at("/account/tokens", post(ui::me::create_token))
        .at("/account/tokens/:id/revoke", post(ui::me::revoke_token))
        .at("/account/sessions/:id/revoke", post(ui::me::revoke_session))
        .at(
            "/account/sessions/revoke-others",
            post(ui::me::revoke_others),
        )
        .at("/admin", get(admin::overview))
        .at("/admin/system", get(admin::system::page))
        .at(
            "/admin/settings",
            get(admin::settings::form).post(admin::settings::save),
        )
        .at("/admin/audit", get(admin::audit::page))
        .at("/admin/users", get(admin::users::list))
        .at(
            "/admin/users/:id",
            get(admin::users::show).post(admin::users::act),
        )
        .at("/media", get(ui::media::page).post(ui::media::upload))
        .at("/media/:id", get(ui::media::item))
        .at("/media/:id/delete", post(ui::media::delete))
        .at("/media/:id/:variant", get(media::serve))
        .at("/admin/media", get(admin::media::page))
        .at("/admin/media/settings", post(admin::media::save_settings))
        .at("/admin/media/:id/decision", post(admin::media::decide))
        .at("/admin/media/:id/remove", post(admin::media::remove))
        .at("/admin/approvals", get(admin::registration::approvals))
        .at("/admin/approvals/:id", post(admin::registration::decide))
        .at(
            "/admin/invitations",
            get(admin::registration::invitations).post(admin::registration::create_invitation),
        )
        .at(
            "/admin/invitations/:id/revoke",
            post(admin::registration::revoke_invitation),
        )
        .at(
            "/admin/mail",
            get(admin::mail::page).post(admin::mail::save),
        )
        .at("/admin/mail/test", post(admin::mail::send_test))
        .at("/healthz", get(health::healthz))
        .at("/readyz", get(health::readyz))
        .at("/metrics", get(metrics_endpoint))
        .at("/static/*path", get(static_files::serve))
        .at(
            "/api/openapi.json",
            get(poem::endpoint::make_sync(move |_| {
                Response::builder()
                    .content_type("application/json; charset=utf-8")
                    .body(spec_json.to_string())
            })),
        )
        .at(
            "/api/docs",
            get(poem::endpoint::make_sync(move |_| {
                Html(docs_html.to_string()).into_response()
            })),
        )
        .at("/api/v1/media/uploads", post(api::media::upload))
        .nest("/api", api::service());

    let app = routes
        .with(CookieJarManager::new())
        .with(CatchPanic::new().with_handler(|_| {
            tracing::error!("a request handler panicked");
            StatusCode::INTERNAL_SERVER_ERROR
        }));
    middleware::Front::new(app.map_to_response(), state)
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
