//! Joining and getting back in: sign-up (open, approval or invitation), email verification,
//! and password reset by mail.

use askama::Template;
use poem::http::StatusCode;
use poem::web::{Form, Path};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::{PageContext, render, render_status, state_of};
use crate::domain::account::FieldError;
use crate::domain::secret::Secret;
use crate::domain::settings::RegistrationMode;
use crate::http::auth::CsrfForm;
use crate::http::auth::{Viewer, verify_csrf};
use crate::http::error::AppError;
use crate::http::middleware::ClientIp;
use crate::http::routing::Routes;
use crate::service::accounts::ClientInfo;
use crate::service::error::{ErrorCode, Refusal, ServiceError};
use crate::service::registration::SignUp;

/// Sign-up, email verification and password reset.
pub fn routes() -> Routes {
    Routes::new()
        .get("/join", form)
        .post("/join", submit)
        .get("/join/:code", invited_form)
        .post("/join/:code", invited_submit)
        .get("/verify/:token", verify_form)
        .post("/verify/:token", verify)
        .get("/forgot", forgot_form)
        .post("/forgot", forgot_submit)
        .get("/reset/:token", reset_form)
        .post("/reset/:token", reset_submit)
}

fn closed(why: &str) -> AppError {
    ServiceError::Forbidden(Refusal::new(ErrorCode::RegistrationClosed, why)).into()
}

fn bad_link() -> AppError {
    ServiceError::NotFound(Refusal::new(
        ErrorCode::LinkInvalid,
        "This link is invalid, has expired or was already used. Ask for a new one.",
    ))
    .into()
}

#[derive(Template)]
#[template(path = "join.html")]
struct JoinPage {
    page: PageContext,
    action: String,
    notice: Option<&'static str>,
    username: String,
    email: String,
    errors: Vec<FieldError>,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub page: PageContext,
    pub heading: String,
    pub paragraphs: Vec<String>,
    pub link: Option<(String, String)>,
}

pub fn client_info(req: &Request) -> ClientInfo {
    ClientInfo {
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
    }
}

fn join_page(
    req: &Request,
    viewer: &Viewer,
    code: Option<&str>,
    input: Option<&JoinInput>,
    errors: Vec<FieldError>,
) -> Result<JoinPage, AppError> {
    let state = state_of(req)?;
    let notice = match (state.settings.current().registration, code) {
        (_, Some(_)) => Some("You were invited: welcome!"),
        (RegistrationMode::Approval, None) => {
            Some("A staff member approves each new account before it can be used.")
        }
        _ => None,
    };
    Ok(JoinPage {
        page: PageContext::new(req, state, viewer),
        action: code.map_or_else(|| "/join".to_string(), |c| format!("/join/{c}")),
        notice,
        username: input.map(|i| i.username.clone()).unwrap_or_default(),
        email: input.map(|i| i.email.clone()).unwrap_or_default(),
        errors,
    })
}

#[handler]
pub async fn form(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    let state = state_of(req)?;
    match state.settings.current().registration {
        RegistrationMode::Closed => Err(closed("Sign-ups are closed on this site.")),
        RegistrationMode::InviteOnly => Err(closed(
            "This site is invite-only: you need an invitation link to join.",
        )),
        _ => Ok(render(&join_page(req, &viewer, None, None, Vec::new())?)?.into_response()),
    }
}

#[handler]
pub async fn invited_form(
    req: &Request,
    viewer: Viewer,
    Path(code): Path<String>,
) -> Result<Response, AppError> {
    let state = state_of(req)?;
    state.registration.check_invite(&code).await?;
    Ok(render(&join_page(req, &viewer, Some(&code), None, Vec::new())?)?.into_response())
}

#[derive(Deserialize)]
pub struct JoinInput {
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

async fn join(
    req: &Request,
    viewer: &Viewer,
    code: Option<String>,
    input: JoinInput,
) -> Result<Response, AppError> {
    let state = state_of(req)?;
    verify_csrf(req, state, viewer, Some(&input.csrf))?;
    let sign_up = SignUp {
        username: input.username.clone(),
        email: input.email.clone(),
        password: Secret::new(input.password.clone()),
        password_confirm: Secret::new(input.password_confirm.clone()),
        invite_code: code.clone(),
    };
    match state.registration.sign_up(sign_up, &client_info(req)).await {
        Ok(done) => {
            let mut paragraphs = Vec::new();
            if done.verification_sent {
                paragraphs.push(
                    "We sent you an email: open the link in it to confirm your address."
                        .to_string(),
                );
            } else {
                paragraphs.push("A staff member will confirm your email address.".to_string());
            }
            if done.needs_approval {
                paragraphs.push("A staff member will approve your account; you can sign in once they have, and we will tell you by email.".to_string());
            }
            let link =
                (!done.needs_approval).then(|| ("Sign in".to_string(), "/login".to_string()));
            let page = MessagePage {
                page: PageContext::new(req, state, viewer),
                heading: "Welcome aboard".into(),
                paragraphs,
                link,
            };
            render_status(&page, StatusCode::CREATED)
        }
        Err(ServiceError::Invalid(errors)) => {
            let page = join_page(req, viewer, code.as_deref(), Some(&input), errors)?;
            render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(e.into()),
    }
}

#[handler]
pub async fn submit(
    req: &Request,
    viewer: Viewer,
    Form(input): Form<JoinInput>,
) -> Result<Response, AppError> {
    join(req, &viewer, None, input).await
}

#[handler]
pub async fn invited_submit(
    req: &Request,
    viewer: Viewer,
    Path(code): Path<String>,
    Form(input): Form<JoinInput>,
) -> Result<Response, AppError> {
    join(req, &viewer, Some(code), input).await
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    page: PageContext,
    token: String,
}

/// The page a verification link opens: a button that confirms. Opening the link changes
/// nothing, so mail scanners that follow links cannot confirm addresses for people.
#[handler]
pub async fn verify_form(
    req: &Request,
    viewer: Viewer,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let state = state_of(req)?;
    if !state.registration.verify_link_is_valid(&token).await? {
        return Err(bad_link());
    }
    Ok(render(&VerifyPage {
        page: PageContext::new(req, state, &viewer),
        token,
    })?
    .into_response())
}

#[handler]
pub async fn verify(
    req: &Request,
    viewer: Viewer,
    Path(token): Path<String>,
    Form(input): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    let user = state.registration.verify_email(&token).await?;
    let page = MessagePage {
        page: PageContext::new(req, state, &viewer),
        heading: "Address confirmed".into(),
        paragraphs: vec![format!(
            "Thank you, {}: your email address is confirmed.",
            user.username
        )],
        link: Some(("Continue".into(), "/".into())),
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage {
    page: PageContext,
}

#[handler]
pub async fn forgot_form(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    let state = state_of(req)?;
    Ok(render(&ForgotPage {
        page: PageContext::new(req, state, &viewer),
    })?
    .into_response())
}

#[derive(Deserialize)]
pub struct ForgotInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

#[handler]
pub async fn forgot_submit(
    req: &Request,
    viewer: Viewer,
    Form(input): Form<ForgotInput>,
) -> Result<Response, AppError> {
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    state
        .registration
        .request_password_reset(&input.email, &client_info(req))
        .await?;
    let page = MessagePage {
        page: PageContext::new(req, state, &viewer),
        heading: "Check your email".into(),
        paragraphs: vec!["If that address belongs to an account, a link for choosing a new password is on its way. It works once, for 30 minutes.".into()],
        link: None,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage {
    page: PageContext,
    token: String,
    errors: Vec<FieldError>,
}

#[handler]
pub async fn reset_form(
    req: &Request,
    viewer: Viewer,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let state = state_of(req)?;
    if !state.registration.reset_link_is_valid(&token).await? {
        return Err(bad_link());
    }
    Ok(render(&ResetPage {
        page: PageContext::new(req, state, &viewer),
        token,
        errors: Vec::new(),
    })?
    .into_response())
}

#[derive(Deserialize)]
pub struct ResetInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

#[handler]
pub async fn reset_submit(
    req: &Request,
    viewer: Viewer,
    Path(token): Path<String>,
    Form(input): Form<ResetInput>,
) -> Result<Response, AppError> {
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    match state
        .registration
        .reset_password(
            &token,
            Secret::new(input.password),
            Secret::new(input.password_confirm),
        )
        .await
    {
        Ok(()) => {
            super::flash::set(req, "Your password is changed. Sign in with the new one.");
            Ok(poem::web::Redirect::see_other("/login").into_response())
        }
        Err(ServiceError::Invalid(errors)) => {
            let page = ResetPage {
                page: PageContext::new(req, state, &viewer),
                token,
                errors,
            };
            render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(e.into()),
    }
}
