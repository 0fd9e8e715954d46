//! Owner setup, sign-in and sign-out pages.

use askama::Template;
use poem::http::StatusCode;
use poem::web::{Form, Path, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::{PageContext, flash, render, state_of};
use crate::domain::account::FieldError;
use crate::domain::secret::Secret;
use crate::http::auth::{Viewer, end_current_session, set_session_cookie, verify_csrf};
use crate::http::error::AppError;
use crate::http::middleware::ClientIp;
use crate::service::accounts::{AccountError, ClientInfo, NewOwner};

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    page: PageContext,
    token: String,
    username: String,
    email: String,
    errors: Vec<FieldError>,
}

#[handler]
pub async fn setup_form(
    req: &Request,
    viewer: Viewer,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let state = state_of(req)?;
    if !state.accounts.setup_token_is_valid(&token).await? {
        return Err(AccountError::SetupLinkInvalid.into());
    }
    let page = SetupPage {
        page: PageContext::new(req, &state, &viewer),
        token,
        username: String::new(),
        email: String::new(),
        errors: Vec::new(),
    };
    Ok(render(&page)?.into_response())
}

#[derive(Deserialize)]
pub struct SetupInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

#[handler]
pub async fn setup_submit(
    req: &Request,
    viewer: Viewer,
    Path(token): Path<String>,
    Form(input): Form<SetupInput>,
) -> Result<Response, AppError> {
    let state = state_of(req)?;
    verify_csrf(req, &state, &viewer, Some(&input.csrf))?;
    let owner = NewOwner {
        username: input.username.clone(),
        email: input.email.clone(),
        password: Secret::new(input.password),
        password_confirm: Secret::new(input.password_confirm),
    };
    match state.accounts.complete_setup(&token, owner).await {
        Ok(_) => {
            flash::set(req, "Owner account created. Sign in with it now.");
            Ok(Redirect::see_other("/login").into_response())
        }
        Err(AccountError::Invalid(errors)) => {
            let page = SetupPage {
                page: PageContext::new(req, &state, &viewer),
                token,
                username: input.username,
                email: input.email,
                errors,
            };
            Ok(render(&page)?
                .with_status(StatusCode::UNPROCESSABLE_ENTITY)
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: PageContext,
    /// Sign-up is open to anyone (open or approval mode).
    can_join: bool,
    login: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct NextParam {
    #[serde(default)]
    next: String,
}

/// Only local paths are followed after sign-in, never another site.
fn safe_next(next: &str) -> Option<&str> {
    (next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') && next.len() < 512)
        .then_some(next)
}

#[handler]
pub async fn login_form(
    req: &Request,
    viewer: Viewer,
    poem::web::Query(q): poem::web::Query<NextParam>,
) -> Result<Response, AppError> {
    let state = state_of(req)?;
    let page = LoginPage {
        page: PageContext::new(req, &state, &viewer),
        can_join: can_join(&state),
        login: String::new(),
        next: q.next,
        error: None,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Deserialize)]
pub struct LoginInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

#[handler]
pub async fn login_submit(
    req: &Request,
    viewer: Viewer,
    Form(input): Form<LoginInput>,
) -> Result<Response, AppError> {
    let state = state_of(req)?;
    verify_csrf(req, &state, &viewer, Some(&input.csrf))?;
    let client = ClientInfo {
        user_agent: req
            .headers()
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string(),
        ip: req
            .data::<ClientIp>()
            .map(|c| c.0.to_string())
            .unwrap_or_default(),
    };
    match state
        .accounts
        .sign_in(&input.login, Secret::new(input.password), client)
        .await
    {
        Ok((token, signed_in)) => {
            // A fresh token on every sign-in: no session fixation.
            end_current_session(req, &state).await?;
            set_session_cookie(req.cookie(), token.expose(), state.tls);
            let fallback = if signed_in.user.role.is_staff() {
                "/admin"
            } else {
                "/"
            };
            let target = safe_next(&input.next).unwrap_or(fallback).to_string();
            Ok(Redirect::see_other(target).into_response())
        }
        Err(AccountError::WrongCredentials) => {
            let page = LoginPage {
                page: PageContext::new(req, &state, &viewer),
                can_join: can_join(&state),
                login: input.login,
                next: input.next,
                error: Some("Wrong username, email or password.".into()),
            };
            Ok(render(&page)?
                .with_status(StatusCode::UNAUTHORIZED)
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

#[handler]
pub async fn logout(
    req: &Request,
    viewer: Viewer,
    Form(input): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    let state = state_of(req)?;
    verify_csrf(req, &state, &viewer, Some(&input.csrf))?;
    end_current_session(req, &state).await?;
    flash::set(req, "You are signed out.");
    Ok(Redirect::see_other("/login").into_response())
}

fn can_join(state: &crate::http::state::AppState) -> bool {
    use crate::domain::settings::RegistrationMode;
    matches!(
        state.settings.current().registration,
        RegistrationMode::Open | RegistrationMode::Approval
    )
}
