//! The approval queue and invitations. Staff who manage users.

use askama::Template;
use poem::http::StatusCode;
use poem::web::{Form, Path, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::{PAGE_SIZE, offset_of, pager, require};
use crate::domain::account::{FieldError, User};
use crate::domain::ids::{InviteId, UserId};
use crate::domain::permission::Permission;
use crate::http::auth::{CsrfForm, Viewer, verify_csrf};
use crate::http::error::AppError;
use crate::http::ui::{PageContext, flash, render, state_of};
use crate::service::access::Actor;
use crate::service::error::ServiceError;

fn actor(req: &Request, viewer: &Viewer) -> Result<Actor, AppError> {
    require(req, viewer, Permission::ManageUsers)
}

#[derive(Template)]
#[template(path = "admin/approvals.html")]
struct ApprovalsPage {
    page: PageContext,
    section: &'static str,
    users: Vec<User>,
    total: u64,
    prev: Option<String>,
    next: Option<String>,
}

#[handler]
pub async fn approvals(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    let actor = actor(req, &viewer)?;
    let state = state_of(req)?;
    let offset = offset_of(req);
    let queue = state
        .registration
        .approval_queue(&actor, offset, PAGE_SIZE)
        .await?;
    let (prev, next) = pager("/admin/approvals?", offset, queue.total as usize);
    Ok(render(&ApprovalsPage {
        page: PageContext::new(req, state, &viewer),
        section: "approvals",
        users: queue.users,
        total: queue.total,
        prev,
        next,
    })?
    .into_response())
}

#[derive(Deserialize)]
pub struct DecisionInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

#[handler]
pub async fn decide(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(input): Form<DecisionInput>,
) -> Result<Response, AppError> {
    let actor = actor(req, &viewer)?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    let user: UserId = id.parse().map_err(|_| AppError::not_found())?;
    let approve = match input.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => {
            return Err(AppError::invalid("decision", "Choose approve or reject."));
        }
    };
    state
        .registration
        .decide(&actor, user, approve, &input.reason)
        .await?;
    flash::set(
        req,
        if approve {
            "Account approved."
        } else {
            "Sign-up rejected."
        },
    );
    Ok(Redirect::see_other("/admin/approvals").into_response())
}

/// One row of the invitations table.
struct InviteRow {
    id: String,
    note: String,
    created: String,
    expires: String,
    used: usize,
    max_uses: u32,
    joined: String,
    state: &'static str,
    revocable: bool,
}

#[derive(Template)]
#[template(path = "admin/invitations.html")]
struct InvitationsPage {
    page: PageContext,
    section: &'static str,
    invites: Vec<InviteRow>,
    total: u64,
    prev: Option<String>,
    next: Option<String>,
    new_link: Option<String>,
    errors: Vec<FieldError>,
}

async fn invitations_page(
    req: &Request,
    viewer: &Viewer,
    actor: &Actor,
    new_link: Option<String>,
    errors: Vec<FieldError>,
) -> Result<InvitationsPage, AppError> {
    let state = state_of(req)?;
    let now = state.system.now();
    let offset = offset_of(req);
    let found = state.registration.invites(actor, offset, PAGE_SIZE).await?;
    let (prev, next) = pager("/admin/invitations?", offset, found.total as usize);
    let invites = found
        .invites
        .into_iter()
        .map(|(invite, names)| {
            let unusable = invite.unusable_at(now);
            InviteRow {
                id: invite.id.to_string(),
                note: invite.note.clone(),
                created: invite.created_at.strftime("%Y-%m-%d %H:%M").to_string(),
                expires: invite.expires_at.strftime("%Y-%m-%d %H:%M").to_string(),
                used: invite.joined.len(),
                max_uses: invite.max_uses,
                joined: names.join(", "),
                state: match unusable {
                    None => "active",
                    Some(_) if invite.revoked => "withdrawn",
                    Some(_) if now >= invite.expires_at => "expired",
                    Some(_) => "used up",
                },
                revocable: !invite.revoked && unusable.is_none(),
            }
        })
        .collect();
    Ok(InvitationsPage {
        page: PageContext::new(req, state, viewer),
        section: "invitations",
        invites,
        total: found.total,
        prev,
        next,
        new_link,
        errors,
    })
}

#[handler]
pub async fn invitations(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    let actor = actor(req, &viewer)?;
    Ok(render(&invitations_page(req, &viewer, &actor, None, Vec::new()).await?)?.into_response())
}

#[derive(Deserialize)]
pub struct InviteInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    valid_for_days: String,
    #[serde(default)]
    max_uses: String,
    #[serde(default)]
    note: String,
}

#[handler]
pub async fn create_invitation(
    req: &Request,
    viewer: Viewer,
    Form(input): Form<InviteInput>,
) -> Result<Response, AppError> {
    let actor = actor(req, &viewer)?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    let days = input.valid_for_days.trim().parse().unwrap_or(0);
    let uses = input.max_uses.trim().parse().unwrap_or(0);
    match state
        .registration
        .create_invite(&actor, days, uses, &input.note)
        .await
    {
        Ok((_, link)) => Ok(render(
            &invitations_page(req, &viewer, &actor, Some(link), Vec::new()).await?,
        )?
        .with_status(StatusCode::CREATED)
        .into_response()),
        Err(ServiceError::Invalid(errors)) => Ok(render(
            &invitations_page(req, &viewer, &actor, None, errors).await?,
        )?
        .with_status(StatusCode::UNPROCESSABLE_ENTITY)
        .into_response()),
        Err(e) => Err(e.into()),
    }
}

#[handler]
pub async fn revoke_invitation(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(input): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let actor = actor(req, &viewer)?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    let id: InviteId = id.parse().map_err(|_| AppError::not_found())?;
    state.registration.revoke_invite(&actor, id).await?;
    flash::set(req, "Invitation withdrawn.");
    Ok(Redirect::see_other("/admin/invitations").into_response())
}
