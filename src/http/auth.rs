//! Who is asking, and may they change state: session cookies and CSRF checks.
//!
//! The session cookie is `HttpOnly`, `SameSite=Lax`, and under TLS `Secure` with the
//! `__Host-` prefix. A cookie-authenticated state change must echo a CSRF token (the session's,
//! or before sign-in a random one kept in its own cookie) and, when the browser says where the
//! request came from (`Origin`, else `Referer`), come from this site.

use poem::http::{Method, header};
use poem::web::cookie::{Cookie, CookieJar, SameSite};
use poem::{FromRequest, Request, RequestBody};
use subtle::ConstantTimeEq;

use super::error::AppError;
use super::state::AppState;
use crate::domain::api_token::TokenScope;
use crate::service::accounts::SignedIn;
use crate::service::tokens::new_token;

pub fn session_cookie_name(tls: bool) -> &'static str {
    if tls {
        "__Host-hearth_session"
    } else {
        "hearth_session"
    }
}

fn anonymous_csrf_cookie_name(tls: bool) -> &'static str {
    if tls {
        "__Host-hearth_csrf"
    } else {
        "hearth_csrf"
    }
}

fn base_cookie(name: &'static str, value: String, tls: bool) -> Cookie {
    let mut cookie = Cookie::new_with_str(name, value);
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Lax);
    cookie.set_path("/");
    cookie.set_secure(tls);
    cookie
}

pub fn set_session_cookie(jar: &CookieJar, token: &str, tls: bool) {
    jar.add(base_cookie(
        session_cookie_name(tls),
        token.to_string(),
        tls,
    ));
}

pub fn clear_session_cookie(jar: &CookieJar, tls: bool) {
    let mut cookie = base_cookie(session_cookie_name(tls), String::new(), tls);
    cookie.set_max_age(std::time::Duration::ZERO);
    jar.add(cookie);
}

/// A form whose only field is the CSRF token (buttons that change state).
#[derive(Debug, serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// The session token from the request's cookie, if any.
pub fn current_session_token(req: &Request, tls: bool) -> Option<String> {
    req.cookie()
        .get(session_cookie_name(tls))
        .map(|c| c.value_str().to_string())
}

/// Ends the session behind the request's cookie (if any) and clears the cookie.
pub async fn end_current_session(req: &Request, state: &AppState) -> Result<(), AppError> {
    if let Some(token) = current_session_token(req, state.tls) {
        state.accounts.sign_out(&token).await?;
    }
    clear_session_cookie(req.cookie(), state.tls);
    Ok(())
}

/// The signed-in user, if any. Resolved once per request and cached in the request.
#[derive(Clone)]
pub struct Viewer(pub Option<SignedIn>);

impl<'a> FromRequest<'a> for Viewer {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        if let Some(cached) = req.data::<Viewer>() {
            return Ok(cached.clone());
        }
        let state = crate::http::ui::state_of(req)?;
        if let Some(bearer) = bearer_token(req) {
            return viewer_from_token(req, state, bearer).await;
        }
        let jar = req.cookie();
        let Some(cookie) = jar.get(session_cookie_name(state.tls)) else {
            return Ok(Viewer(None));
        };
        let token = cookie.value_str().to_string();
        if token.is_empty() || token.len() > 128 {
            return Ok(Viewer(None));
        }
        Ok(Viewer(
            state
                .accounts
                .session_user(&token)
                .await
                .map_err(AppError::from)?,
        ))
    }
}

/// The token in `Authorization: Bearer …`, if any.
fn bearer_token(req: &Request) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// A request authenticated by a personal API token: a bad token is a 401 (scripts should
/// hear about it), and a read-only token may not change anything.
async fn viewer_from_token(req: &Request, state: &AppState, bearer: &str) -> poem::Result<Viewer> {
    let invalid = || {
        AppError::new(
            poem::http::StatusCode::UNAUTHORIZED,
            crate::service::error::ErrorCode::TokenInvalid,
            "The API token is unknown, revoked or expired.",
        )
    };
    if bearer.is_empty() || bearer.len() > 128 {
        return Err(invalid().into());
    }
    let signed_in = state
        .accounts
        .token_user(bearer)
        .await
        .map_err(AppError::from)?
        .ok_or_else(invalid)?;
    let read_only = signed_in.token_scope == Some(TokenScope::Read);
    if read_only && !matches!(*req.method(), Method::GET | Method::HEAD) {
        return Err(AppError::new(
            poem::http::StatusCode::FORBIDDEN,
            crate::service::error::ErrorCode::TokenReadOnly,
            "This API token is read-only.",
        )
        .into());
    }
    Ok(Viewer(Some(signed_in)))
}

impl Viewer {
    pub fn require(self) -> Result<SignedIn, AppError> {
        self.0.ok_or_else(AppError::unauthorized)
    }
}

/// The token forms must echo: the session's when signed in, otherwise the anonymous one from
/// its cookie (set here if missing).
pub fn csrf_token_for(req: &Request, viewer: &Viewer, tls: bool) -> String {
    if let Some(signed_in) = &viewer.0 {
        return signed_in.csrf_token.clone();
    }
    let jar = req.cookie();
    let name = anonymous_csrf_cookie_name(tls);
    if let Some(existing) = jar
        .get(name)
        .map(|c| c.value_str().to_string())
        .filter(|v| v.len() == 43)
    {
        return existing;
    }
    let token = new_token().expose().clone();
    jar.add(base_cookie(name, token.clone(), tls));
    token
}

/// Checks a state-changing request: same origin, and the submitted token matches.
pub fn verify_csrf(
    req: &Request,
    state: &AppState,
    viewer: &Viewer,
    submitted: Option<&str>,
) -> Result<(), AppError> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    // A bearer token is not sent by browsers on their own, so it needs no CSRF defence.
    if viewer.0.as_ref().is_some_and(|s| s.token_scope.is_some()) {
        return Ok(());
    }
    if !same_origin(req, state) {
        tracing::warn!("refused a cross-origin state change");
        return Err(AppError::csrf());
    }
    let expected = match &viewer.0 {
        Some(signed_in) => Some(signed_in.csrf_token.clone()),
        None => req
            .cookie()
            .get(anonymous_csrf_cookie_name(state.tls))
            .map(|c| c.value_str().to_string()),
    };
    let submitted = submitted.map(str::to_string).or_else(|| {
        req.headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    });
    match (expected, submitted) {
        (Some(e), Some(s)) if !e.is_empty() && bool::from(e.as_bytes().ct_eq(s.as_bytes())) => {
            Ok(())
        }
        _ => Err(AppError::csrf()),
    }
}

pub fn is_cross_origin(req: &Request, state: &AppState) -> bool {
    !same_origin(req, state)
}

/// True when `Origin` (or failing that `Referer`) names this site, or when neither is sent
/// (non-browser clients; they cannot carry a victim's cookies anyway).
fn same_origin(req: &Request, state: &AppState) -> bool {
    let claimed = req
        .headers()
        .get(header::ORIGIN)
        .or_else(|| req.headers().get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    let Some(claimed) = claimed else { return true };
    let Ok(url) = url::Url::parse(claimed) else {
        return false;
    };
    let origin = url.origin().ascii_serialization();
    if let Some(public) = &state.public_origin {
        return &origin == public;
    }
    // No configured public URL: compare with the Host the request was sent to.
    let Some(host) = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let scheme = if state.tls { "https" } else { "http" };
    url::Url::parse(&format!("{scheme}://{host}"))
        .is_ok_and(|expected| expected.origin().ascii_serialization() == origin)
}
