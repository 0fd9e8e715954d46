//! The member's own account page: details, password change, sessions.

use askama::Template;
use poem::http::StatusCode;
use poem::web::{Form, Path, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::{PageContext, flash, render, render_status, signed_in, state_of};
use crate::domain::account::FieldError;
use crate::domain::api_token::{ApiToken, TokenScope};
use crate::domain::secret::Secret;
use crate::http::auth::{CsrfForm, Viewer, current_session_token, verify_csrf};
use crate::http::error::AppError;
use crate::http::routing::Routes;
use crate::service::accounts::{SessionView, SignedIn};
use crate::service::error::ServiceError;

/// The member's account page and its forms.
pub fn routes() -> Routes {
    Routes::new()
        .get("/account", page)
        .post("/account/password", change_password)
        .get("/account/export", export)
        .post("/account/delete", request_deletion)
        .post("/account/tokens", create_token)
        .post("/account/tokens/:id/revoke", revoke_token)
        .post("/account/sessions/:id/revoke", revoke_session)
        .post("/account/sessions/revoke-others", revoke_others)
        .post("/account/passkeys/:id/remove", remove_passkey)
        .post("/account/2fa/begin", begin_totp)
        .post("/account/2fa/confirm", confirm_totp)
        .post("/account/2fa/disable", disable_totp)
}
use crate::service::passkeys::PasskeyView;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    page: PageContext,
    username: String,
    email: String,
    role: &'static str,
    sessions: Vec<SessionView>,
    tokens: Vec<ApiToken>,
    new_token: Option<String>,
    two_factor: bool,
    passkeys: Vec<PasskeyView>,
    /// Why passkeys cannot be used at this site's address, when they cannot.
    passkeys_unavailable: Option<String>,
    /// (QR code data URI, base32 key) while enrolling.
    enrolment: Option<(String, String)>,
    recovery_codes: Option<Vec<String>>,
    is_owner: bool,
    errors: Vec<FieldError>,
}

/// The start of every form post on this page: the member, the state, and a good CSRF token.
fn member_form<'r>(
    req: &'r Request,
    viewer: &Viewer,
    csrf: &str,
) -> Result<(SignedIn, &'r crate::http::state::AppState), AppError> {
    let me = signed_in(viewer, req.uri().path())?;
    let state = state_of(req)?;
    verify_csrf(req, state, viewer, Some(csrf))?;
    Ok((me, state))
}

async fn account_page(
    req: &Request,
    viewer: &Viewer,
    errors: Vec<FieldError>,
) -> Result<AccountPage, AppError> {
    account_page_with(req, viewer, errors, None).await
}

async fn account_page_with(
    req: &Request,
    viewer: &Viewer,
    errors: Vec<FieldError>,
    new_token: Option<String>,
) -> Result<AccountPage, AppError> {
    let me = signed_in(viewer, req.uri().path())?;
    let state = state_of(req)?;
    let token = current_session_token(req, state.tls).unwrap_or_default();
    let sessions = state.accounts.sessions(me.user.id, &token).await?;
    let tokens = state.accounts.api_tokens(me.user.id).await?;
    let two_factor = state.second_factors.is_enabled(me.user.id).await?;
    let passkeys = state.passkeys.list(me.user.id).await?;
    Ok(AccountPage {
        page: PageContext::new(req, state, viewer),
        username: me.user.username.clone(),
        email: me.user.email.clone(),
        role: me.user.role.as_str(),
        sessions,
        tokens,
        new_token,
        two_factor,
        passkeys,
        passkeys_unavailable: state.passkeys.unavailable_reason().map(str::to_string),
        enrolment: None,
        recovery_codes: None,
        is_owner: me.user.role == crate::domain::role::Role::Owner,
        errors,
    })
}

/// The account page again, with the problems of the form just sent (422).
async fn invalid(
    req: &Request,
    viewer: &Viewer,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    Ok(render(&account_page(req, viewer, errors).await?)?
        .with_status(StatusCode::UNPROCESSABLE_ENTITY)
        .into_response())
}

#[handler]
pub async fn page(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    Ok(render(&account_page(req, &viewer, Vec::new()).await?)?.into_response())
}

#[derive(Deserialize)]
pub struct PasswordInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

#[handler]
pub async fn change_password(
    req: &Request,
    viewer: Viewer,
    Form(input): Form<PasswordInput>,
) -> Result<Response, AppError> {
    let (me, state) = member_form(req, &viewer, &input.csrf)?;
    let token = current_session_token(req, state.tls).unwrap_or_default();
    let outcome = state
        .accounts
        .change_password(
            &me.user,
            Secret::new(input.current_password),
            Secret::new(input.password),
            Secret::new(input.password_confirm),
            &token,
        )
        .await;
    match outcome {
        Ok(()) => {
            flash::set(
                req,
                "Password changed. You were signed out everywhere else.",
            );
            Ok(Redirect::see_other("/account").into_response())
        }
        Err(ServiceError::Invalid(errors)) => invalid(req, &viewer, errors).await,
        Err(e) => Err(e.into()),
    }
}

#[handler]
pub async fn revoke_session(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(input): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let (me, state) = member_form(req, &viewer, &input.csrf)?;
    if !state.accounts.revoke_session(me.user.id, &id).await? {
        return Err(AppError::not_found());
    }
    flash::set(req, "That session is signed out.");
    Ok(Redirect::see_other("/account").into_response())
}

#[handler]
pub async fn revoke_others(
    req: &Request,
    viewer: Viewer,
    Form(input): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let (me, state) = member_form(req, &viewer, &input.csrf)?;
    let token = current_session_token(req, state.tls);
    let n = state
        .accounts
        .sign_out_everywhere(me.user.id, token.as_deref())
        .await?;
    flash::set(
        req,
        &format!(
            "Signed out of {n} other session{}.",
            if n == 1 { "" } else { "s" }
        ),
    );
    Ok(Redirect::see_other("/account").into_response())
}

#[derive(Deserialize)]
pub struct TokenInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    valid_for_days: String,
    #[serde(default)]
    staff_powers: String,
}

#[handler]
pub async fn create_token(
    req: &Request,
    viewer: Viewer,
    Form(input): Form<TokenInput>,
) -> Result<Response, AppError> {
    let (me, state) = member_form(req, &viewer, &input.csrf)?;
    let scope = if input.scope == "read-write" {
        TokenScope::ReadWrite
    } else {
        TokenScope::Read
    };
    let days = match input.valid_for_days.trim() {
        "" => None,
        raw => Some(raw.parse().unwrap_or(0)),
    };
    let staff = input.staff_powers == "yes";
    match state
        .accounts
        .create_api_token(&me.user, &input.name, scope, days, staff)
        .await
    {
        Ok((_, secret)) => {
            let view =
                account_page_with(req, &viewer, Vec::new(), Some(secret.expose().clone())).await?;
            render_status(&view, StatusCode::CREATED)
        }
        Err(ServiceError::Invalid(errors)) => invalid(req, &viewer, errors).await,
        Err(e) => Err(e.into()),
    }
}

#[handler]
pub async fn revoke_token(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(input): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let (me, state) = member_form(req, &viewer, &input.csrf)?;
    if !state.accounts.revoke_api_token(me.user.id, &id).await? {
        return Err(AppError::not_found());
    }
    flash::set(req, "Token revoked.");
    Ok(Redirect::see_other("/account").into_response())
}

#[handler]
pub async fn begin_totp(
    req: &Request,
    viewer: Viewer,
    Form(input): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let (me, state) = member_form(req, &viewer, &input.csrf)?;
    let enrolment = state.second_factors.begin(&me.user).await?;
    let qr = format!(
        "data:image/svg+xml;base64,{}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            enrolment.qr_svg.as_bytes()
        )
    );
    let mut view = account_page(req, &viewer, Vec::new()).await?;
    view.enrolment = Some((qr, enrolment.secret_base32));
    Ok(render(&view)?.into_response())
}

#[derive(Deserialize)]
pub struct CodeInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

#[handler]
pub async fn confirm_totp(
    req: &Request,
    viewer: Viewer,
    Form(input): Form<CodeInput>,
) -> Result<Response, AppError> {
    let (me, state) = member_form(req, &viewer, &input.csrf)?;
    match state.second_factors.confirm(&me.user, &input.code).await {
        Ok(codes) => {
            let mut view = account_page(req, &viewer, Vec::new()).await?;
            view.recovery_codes = Some(codes);
            Ok(render(&view)?.into_response())
        }
        Err(ServiceError::Invalid(errors)) => invalid(req, &viewer, errors).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct PasswordOnly {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
}

#[handler]
pub async fn disable_totp(
    req: &Request,
    viewer: Viewer,
    Form(input): Form<PasswordOnly>,
) -> Result<Response, AppError> {
    let (me, state) = member_form(req, &viewer, &input.csrf)?;
    match state
        .second_factors
        .disable(&me.user, Secret::new(input.current_password))
        .await
    {
        Ok(()) => {
            flash::set(req, "Two-factor authentication is off.");
            Ok(Redirect::see_other("/account").into_response())
        }
        Err(ServiceError::Invalid(errors)) => invalid(req, &viewer, errors).await,
        Err(e) => Err(e.into()),
    }
}

/// The member's data as a JSON download. A GET: reading one's own data changes nothing.
#[handler]
pub async fn export(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    let me = signed_in(&viewer, req.uri().path())?;
    let state = state_of(req)?;
    let doc = state.self_service.export(&me.user).await?;
    let body = serde_json::to_vec_pretty(&doc).map_err(|_| AppError::internal())?;
    Ok(Response::builder()
        .content_type("application/json; charset=utf-8")
        .header(
            "content-disposition",
            format!("attachment; filename=\"hearth-{}.json\"", me.user.username),
        )
        .body(body))
}

#[handler]
pub async fn request_deletion(
    req: &Request,
    viewer: Viewer,
    Form(input): Form<PasswordOnly>,
) -> Result<Response, AppError> {
    let (me, state) = member_form(req, &viewer, &input.csrf)?;
    match state
        .self_service
        .request_deletion(&me.user, Secret::new(input.current_password))
        .await
    {
        Ok(due) => {
            crate::http::auth::end_current_session(req, state).await?;
            let view = super::join::MessagePage {
                page: PageContext::new(req, state, &Viewer(None)),
                heading: "Your account will be deleted".into(),
                paragraphs: vec![format!(
                    "You are signed out everywhere. Your account and its data go on {}. Changed your mind? Sign in before then and nothing is deleted.",
                    due.strftime("%Y-%m-%d")
                )],
                link: None,
            };
            Ok(render(&view)?.into_response())
        }
        Err(ServiceError::Invalid(errors)) => invalid(req, &viewer, errors).await,
        Err(e) => Err(e.into()),
    }
}

#[handler]
pub async fn remove_passkey(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(input): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let (me, state) = member_form(req, &viewer, &input.csrf)?;
    let id = id.parse().map_err(|_| AppError::not_found())?;
    state.passkeys.remove(me.user.id, id).await?;
    flash::set(req, "Passkey removed.");
    Ok(Redirect::see_other("/account").into_response())
}
