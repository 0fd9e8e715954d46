//! Staff tools for members: find, inspect, and act (role, verify, suspend, ban, reinstate,
//! sign out everywhere, supporter, delete).

use askama::Template;
use poem::http::StatusCode;
use poem::web::{Form, Path, Query, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::{PAGE_SIZE, pager, require};
use crate::domain::account::{AccountStatus, FieldError, User};
use crate::domain::ids::UserId;
use crate::domain::permission::Permission;
use crate::domain::role::Role;
use crate::http::auth::{Viewer, verify_csrf};
use crate::http::error::AppError;
use crate::http::ui::{PageContext, flash, render, state_of};
use crate::service::access::Actor;
use crate::service::error::ServiceError;
use crate::service::staff::StaffAction;

/// A user as the admin tables show them.
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub email: String,
    pub email_verified: bool,
    pub supporter: bool,
    pub role: Role,
    pub status: String,
    pub joined: String,
}

impl From<&User> for UserRow {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            username: u.username.clone(),
            email: u.email.clone(),
            email_verified: u.email_verified,
            supporter: u.supporter,
            role: u.role,
            status: match &u.status {
                AccountStatus::Active => "active".into(),
                AccountStatus::PendingApproval => "waiting for approval".into(),
                AccountStatus::Rejected { reason } => format!("rejected: {reason}"),
                AccountStatus::Suspended { until, reason } => format!(
                    "suspended until {}: {reason}",
                    until.strftime("%Y-%m-%d %H:%M")
                ),
                AccountStatus::Banned { reason } => format!("banned: {reason}"),
            },
            joined: u.created_at.strftime("%Y-%m-%d").to_string(),
        }
    }
}

fn actor(req: &Request, viewer: &Viewer) -> Result<Actor, AppError> {
    require(req, viewer, Permission::ManageUsers)
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    page: PageContext,
    section: &'static str,
    query: String,
    users: Vec<UserRow>,
    total: usize,
    prev: Option<String>,
    next: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct ListParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    offset: usize,
}

#[handler]
pub async fn list(
    req: &Request,
    viewer: Viewer,
    Query(params): Query<ListParams>,
) -> Result<Response, AppError> {
    let actor = actor(req, &viewer)?;
    let state = state_of(req)?;
    let found = state
        .staff
        .find(&actor, &params.q, false, params.offset, PAGE_SIZE)
        .await?;
    let q = url::form_urlencoded::byte_serialize(params.q.as_bytes()).collect::<String>();
    let (prev, next) = pager(&format!("/admin/users?q={q}&"), params.offset, found.total);
    let page = UsersPage {
        page: PageContext::new(req, state, &viewer),
        section: "users",
        query: params.q,
        users: found.users.iter().map(UserRow::from).collect(),
        total: found.total,
        prev,
        next,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPage {
    page: PageContext,
    section: &'static str,
    user: UserRow,
    sessions: u64,
    may_assign_roles: bool,
    roles: Vec<Role>,
    errors: Vec<FieldError>,
}

async fn user_page(
    req: &Request,
    viewer: &Viewer,
    actor: &Actor,
    id: UserId,
    errors: Vec<FieldError>,
) -> Result<UserPage, AppError> {
    let state = state_of(req)?;
    let (user, sessions) = state.staff.user(actor, id).await?;
    Ok(UserPage {
        page: PageContext::new(req, state, viewer),
        section: "users",
        user: UserRow::from(&user),
        sessions,
        may_assign_roles: actor.role.may(Permission::ManageRoles),
        roles: vec![Role::Member, Role::Moderator, Role::Admin, Role::Owner],
        errors,
    })
}

#[handler]
pub async fn show(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let actor = actor(req, &viewer)?;
    let id: UserId = id.parse().map_err(|_| AppError::not_found())?;
    Ok(render(&user_page(req, &viewer, &actor, id, Vec::new()).await?)?.into_response())
}

#[derive(Deserialize)]
pub struct ActionInput {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    reason: String,
    /// `YYYY-MM-DDTHH:MM` from a datetime-local input, taken as UTC.
    #[serde(default)]
    until: String,
}

fn parse_action(input: &ActionInput) -> Result<StaffAction, AppError> {
    let invalid = |field: &'static str, message: &str| AppError::invalid(field, message);
    Ok(match input.action.as_str() {
        "role" => StaffAction::SetRole(match input.role.as_str() {
            "member" => Role::Member,
            "moderator" => Role::Moderator,
            "admin" => Role::Admin,
            "owner" => Role::Owner,
            _ => return Err(invalid("role", "Choose a role.")),
        }),
        "verify" => StaffAction::VerifyEmail,
        "suspend" => {
            let until = super::utc_minute(&input.until)
                .ok_or_else(|| invalid("until", "Enter a date and time."))?;
            StaffAction::Suspend {
                until,
                reason: input.reason.clone(),
            }
        }
        "ban" => StaffAction::Ban {
            reason: input.reason.clone(),
        },
        "reinstate" => StaffAction::Reinstate,
        "sign_out" => StaffAction::SignOutEverywhere,
        "supporter_on" => StaffAction::SetSupporter(true),
        "supporter_off" => StaffAction::SetSupporter(false),
        "delete" => StaffAction::Delete {
            reason: input.reason.clone(),
        },
        _ => return Err(invalid("action", "Unknown action.")),
    })
}

#[handler]
pub async fn act(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(input): Form<ActionInput>,
) -> Result<Response, AppError> {
    let actor = actor(req, &viewer)?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    let id: UserId = id.parse().map_err(|_| AppError::not_found())?;
    let action = parse_action(&input)?;
    let deleting = matches!(action, StaffAction::Delete { .. });
    match state.staff.act(&actor, id, action).await {
        Ok(()) if deleting => {
            flash::set(req, "Account deleted.");
            Ok(Redirect::see_other("/admin/users").into_response())
        }
        Ok(()) => {
            flash::set(req, "Done.");
            Ok(Redirect::see_other(format!("/admin/users/{id}")).into_response())
        }
        Err(ServiceError::Invalid(errors)) => {
            Ok(render(&user_page(req, &viewer, &actor, id, errors).await?)?
                .with_status(StatusCode::UNPROCESSABLE_ENTITY)
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}
