//! Owner setup, sign-in and sign-out pages.

use askama::Template;
use poem::http::StatusCode;
use poem::web::{Form, Json, Path, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::{PageContext, flash, render, render_status, state_of};
use crate::domain::account::FieldError;
use crate::domain::secret::Secret;
use crate::http::auth::{CsrfForm, Viewer, end_current_session, set_session_cookie, verify_csrf};
use crate::http::error::AppError;
use crate::http::routing::Routes;
use crate::http::state::AppState;
use crate::service::accounts::{
    NewOwner, SecondFactorProof, SignInOutcome, SignedIn, setup_link_invalid, sign_in_expired,
};
use crate::service::error::{ErrorCode, ServiceError};
use crate::service::passkeys::CeremonyStart;

/// Owner setup, sign-in (password, second step, passkeys) and sign-out.
pub fn routes() -> Routes {
    Routes::new()
        .get("/setup/:token", setup_form)
        .post("/setup/:token", setup_submit)
        .get("/login", login_form)
        .post("/login", login_submit)
        .post("/logout", logout)
        .get("/login/code", code_form)
        .post("/login/code", code_submit)
        .post("/login/passkey/options", passkey_options)
        .post("/login/passkey", passkey_finish)
        .post("/login/code/passkey/options", code_passkey_options)
        .post("/login/code/passkey", code_passkey_finish)
}

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
        return Err(setup_link_invalid().into());
    }
    let page = SetupPage {
        page: PageContext::new(req, state, &viewer),
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
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
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
        Err(ServiceError::Invalid(errors)) => {
            let page = SetupPage {
                page: PageContext::new(req, state, &viewer),
                token,
                username: input.username,
                email: input.email,
                errors,
            };
            render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
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
    /// Passkeys work at this site's address.
    passkeys: bool,
}

#[derive(Deserialize, Default)]
pub struct NextParam {
    #[serde(default)]
    next: String,
}

/// Only local paths are followed after sign-in, never another site.
fn safe_next(next: &str) -> Option<&str> {
    // Browsers drop tabs and newlines from URLs, so "/\t/evil.example" would become
    // "//evil.example": no control characters or whitespace at all.
    (next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control() || c.is_whitespace())
        && next.len() < 512)
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
        page: PageContext::new(req, state, &viewer),
        can_join: can_join(state),
        login: String::new(),
        next: q.next,
        error: None,
        passkeys: state.passkeys.unavailable_reason().is_none(),
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
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    let client = super::join::client_info(req);
    match state
        .accounts
        .sign_in(&input.login, Secret::new(input.password), client)
        .await
    {
        Ok(SignInOutcome::SignedIn(token, signed_in)) => {
            finish_sign_in(req, state, &token, &signed_in, &input.next).await
        }
        Ok(SignInOutcome::SecondFactorNeeded(challenge)) => {
            set_challenge_cookie(req, challenge.expose(), state.tls);
            let next =
                url::form_urlencoded::byte_serialize(input.next.as_bytes()).collect::<String>();
            Ok(Redirect::see_other(format!("/login/code?next={next}")).into_response())
        }
        Err(ServiceError::Unauthenticated(r)) if r.code == ErrorCode::WrongCredentials => {
            let page = LoginPage {
                page: PageContext::new(req, state, &viewer),
                can_join: can_join(state),
                login: input.login,
                next: input.next,
                error: Some("Wrong username, email or password.".into()),
                passkeys: state.passkeys.unavailable_reason().is_none(),
            };
            render_status(&page, StatusCode::UNAUTHORIZED)
        }
        Err(e) => Err(e.into()),
    }
}

#[handler]
pub async fn logout(
    req: &Request,
    viewer: Viewer,
    Form(input): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    end_current_session(req, state).await?;
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

/// Sets the session cookie for a completed sign-in and sends the member on.
async fn finish_sign_in(
    req: &Request,
    state: &AppState,
    token: &Secret<String>,
    signed_in: &SignedIn,
    next: &str,
) -> Result<Response, AppError> {
    let target = open_session(req, state, token, signed_in, next).await?;
    Ok(Redirect::see_other(target).into_response())
}

/// Sets the session cookie for a completed sign-in; returns where the member goes next.
async fn open_session(
    req: &Request,
    state: &AppState,
    token: &Secret<String>,
    signed_in: &SignedIn,
    next: &str,
) -> Result<String, AppError> {
    // A fresh token on every sign-in: no session fixation.
    end_current_session(req, state).await?;
    set_session_cookie(req.cookie(), token.expose(), state.tls);
    let fallback = if signed_in.user.role.is_staff() {
        "/admin"
    } else {
        "/"
    };
    Ok(safe_next(next).unwrap_or(fallback).to_string())
}

const CHALLENGE_COOKIE: &str = "hearth_2fa";

fn set_challenge_cookie(req: &Request, challenge: &str, tls: bool) {
    let mut cookie = poem::web::cookie::Cookie::new_with_str(CHALLENGE_COOKIE, challenge);
    cookie.set_http_only(true);
    cookie.set_secure(tls);
    cookie.set_same_site(poem::web::cookie::SameSite::Strict);
    cookie.set_path("/login");
    cookie.set_max_age(std::time::Duration::from_secs(300));
    req.cookie().add(cookie);
}

#[derive(Template)]
#[template(path = "login_code.html")]
struct CodePage {
    page: PageContext,
    next: String,
    error: Option<String>,
    /// The account has passkeys, so the page offers one instead of a code.
    passkeys: bool,
}

/// Whether the member behind the pending sign-in has passkeys usable here.
async fn pending_has_passkeys(req: &Request, state: &AppState) -> bool {
    let Some(challenge) = req.cookie().get(CHALLENGE_COOKIE) else {
        return false;
    };
    if state.passkeys.unavailable_reason().is_some() {
        return false;
    }
    match state.accounts.challenge_user(challenge.value_str()).await {
        Ok(user) => state
            .passkeys
            .list(user.id)
            .await
            .is_ok_and(|p| !p.is_empty()),
        Err(_) => false,
    }
}

fn challenge_of(req: &Request) -> Result<String, AppError> {
    req.cookie()
        .get(CHALLENGE_COOKIE)
        .map(|c| c.value_str().to_string())
        .ok_or_else(|| sign_in_expired().into())
}

/// Ends the pending sign-in's cookie once it is complete.
fn clear_challenge_cookie(req: &Request) {
    let mut gone = poem::web::cookie::Cookie::new_with_str(CHALLENGE_COOKIE, "");
    gone.set_path("/login");
    gone.set_max_age(std::time::Duration::ZERO);
    req.cookie().add(gone);
}

#[handler]
pub async fn code_form(
    req: &Request,
    viewer: Viewer,
    poem::web::Query(q): poem::web::Query<NextParam>,
) -> Result<Response, AppError> {
    let state = state_of(req)?;
    if req.cookie().get(CHALLENGE_COOKIE).is_none() {
        return Ok(Redirect::see_other("/login").into_response());
    }
    Ok(render(&CodePage {
        page: PageContext::new(req, state, &viewer),
        next: q.next,
        error: None,
        passkeys: pending_has_passkeys(req, state).await,
    })?
    .into_response())
}

#[derive(Deserialize)]
pub struct CodeInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: String,
}

#[handler]
pub async fn code_submit(
    req: &Request,
    viewer: Viewer,
    Form(input): Form<CodeInput>,
) -> Result<Response, AppError> {
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    let challenge = challenge_of(req)?;
    match state
        .accounts
        .complete_second_factor(
            &challenge,
            SecondFactorProof::Code(input.code.clone()),
            super::join::client_info(req),
        )
        .await
    {
        Ok((token, signed_in)) => {
            clear_challenge_cookie(req);
            finish_sign_in(req, state, &token, &signed_in, &input.next).await
        }
        Err(ServiceError::Unauthenticated(r)) if r.code == ErrorCode::WrongCode => {
            let page = CodePage {
                page: PageContext::new(req, state, &viewer),
                next: input.next,
                error: Some(
                    "That code is not right. Use the current code from your app, or a recovery code."
                        .into(),
                ),
                passkeys: pending_has_passkeys(req, state).await,
            };
            render_status(&page, StatusCode::UNAUTHORIZED)
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /login/passkey/options`: options for a passwordless sign-in (JSON, for the page's
/// script).
#[handler]
pub async fn passkey_options(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, None)?;
    ceremony_json(
        state
            .passkeys
            .begin_sign_in(&super::join::client_info(req))?,
    )
}

/// `POST /login/code/passkey/options`: options for using a passkey as the second step.
#[handler]
pub async fn code_passkey_options(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, None)?;
    ceremony_json(
        state
            .passkeys
            .begin_second_factor(&challenge_of(req)?)
            .await?,
    )
}

fn ceremony_json(start: CeremonyStart) -> Result<Response, AppError> {
    Ok(
        Json(serde_json::json!({"ceremony": start.ceremony, "options": start.options}))
            .into_response(),
    )
}

#[derive(Deserialize)]
pub struct PasskeyAnswerInput {
    ceremony: String,
    credential: serde_json::Value,
    #[serde(default)]
    next: String,
}

/// `POST /login/passkey`: signs in with the passkey's answer; replies with where to go next.
#[handler]
pub async fn passkey_finish(
    req: &Request,
    viewer: Viewer,
    Json(input): Json<PasskeyAnswerInput>,
) -> Result<Response, AppError> {
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, None)?;
    let (token, signed_in) = state
        .passkeys
        .finish_sign_in(
            &input.ceremony,
            input.credential,
            super::join::client_info(req),
        )
        .await?;
    let target = open_session(req, state, &token, &signed_in, &input.next).await?;
    Ok(Json(serde_json::json!({"redirect": target})).into_response())
}

/// `POST /login/code/passkey`: completes a password sign-in with the passkey's answer.
#[handler]
pub async fn code_passkey_finish(
    req: &Request,
    viewer: Viewer,
    Json(input): Json<PasskeyAnswerInput>,
) -> Result<Response, AppError> {
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, None)?;
    let (token, signed_in) = state
        .passkeys
        .finish_second_factor(
            &challenge_of(req)?,
            &input.ceremony,
            input.credential,
            super::join::client_info(req),
        )
        .await?;
    clear_challenge_cookie(req);
    let target = open_session(req, state, &token, &signed_in, &input.next).await?;
    Ok(Json(serde_json::json!({"redirect": target})).into_response())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next("/account"), Some("/account"));
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/x",
            "https://evil.example",
            "",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }
}
