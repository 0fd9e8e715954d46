//! `/api/v1/accounts` and `/api/v1/admin/…`: sign-up and password reset for visitors, and the
//! staff tools (members, invitations, approvals) for scripts and other clients.

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::me::acting;
use super::{ApiTags, Data};
use crate::domain::account::{AccountStatus, User};
use crate::domain::ids::{InviteId, UserId};
use crate::domain::role::Role;
use crate::domain::secret::Secret;
use crate::http::auth::{Viewer, is_cross_origin};
use crate::http::error::AppError;
use crate::http::ui::join::client_info;
use crate::http::ui::state_of;
use crate::service::audit::Actor;
use crate::service::registration::SignUp;
use crate::service::staff::StaffAction;

pub struct AccountsApi;

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct SignUpRequest {
    #[oai(validator(max_length = 64))]
    pub username: String,
    #[oai(validator(max_length = 254, pattern = "@"))]
    pub email: String,
    #[oai(validator(max_length = 256))]
    pub password: String,
    /// The code from an invitation link (`/join/{code}`), when joining by invitation.
    #[oai(validator(max_length = 128))]
    pub invite_code: Option<String>,
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct SignUpResult {
    pub id: String,
    /// The account waits for staff approval before it can sign in.
    pub needs_approval: bool,
    /// A verification link was mailed.
    pub verification_sent: bool,
}

#[derive(ApiResponse)]
pub enum SignedUp {
    /// The account exists.
    #[oai(status = 201)]
    Created(Json<Data<SignUpResult>>),
}

#[derive(Object)]
pub struct ResetRequest {
    #[oai(validator(max_length = 254, pattern = "@"))]
    pub email: String,
}

#[derive(ApiResponse)]
pub enum Accepted {
    /// Accepted; if the address belongs to an account, a link is on its way.
    #[oai(status = 202)]
    Accepted,
}

/// A member as staff see them.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct MemberView {
    pub id: String,
    pub username: String,
    pub email: String,
    pub email_verified: bool,
    pub role: String,
    /// active, pending_approval, rejected, suspended or banned.
    pub status: String,
    #[oai(skip_serializing_if_is_none)]
    pub status_reason: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub suspended_until: Option<String>,
    pub supporter: bool,
    pub created_at: String,
}

impl From<&User> for MemberView {
    fn from(u: &User) -> Self {
        let (status, reason, until) = match &u.status {
            AccountStatus::Active => ("active", None, None),
            AccountStatus::PendingApproval => ("pending_approval", None, None),
            AccountStatus::Rejected { reason } => ("rejected", Some(reason.clone()), None),
            AccountStatus::Suspended { until, reason } => {
                ("suspended", Some(reason.clone()), Some(until.to_string()))
            }
            AccountStatus::Banned { reason } => ("banned", Some(reason.clone()), None),
        };
        Self {
            id: u.id.to_string(),
            username: u.username.clone(),
            email: u.email.clone(),
            email_verified: u.email_verified,
            role: u.role.as_str().to_string(),
            status: status.to_string(),
            status_reason: reason,
            suspended_until: until,
            supporter: u.supporter,
            created_at: u.created_at.to_string(),
        }
    }
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct MemberPage {
    pub members: Vec<MemberView>,
    /// How many members match in all.
    pub total: u64,
}

/// One staff action. `action` is one of: role, verify, suspend, ban, reinstate, sign_out,
/// supporter_on, supporter_off, delete.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct StaffActionRequest {
    #[oai(validator(max_length = 32))]
    pub action: String,
    /// For `role`: member, moderator, admin or owner.
    #[oai(validator(max_length = 16))]
    pub role: Option<String>,
    /// For suspend, ban and delete (shown to the member).
    #[oai(validator(max_length = 500))]
    pub reason: Option<String>,
    /// For suspend: an RFC 3339 time, e.g. 2026-07-01T12:00:00Z.
    #[oai(validator(max_length = 64))]
    pub until: Option<String>,
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct NewInvitation {
    pub valid_for_days: u32,
    pub max_uses: u32,
    #[oai(default, validator(max_length = 200))]
    pub note: String,
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct InvitationView {
    pub id: String,
    pub note: String,
    pub created_at: String,
    pub expires_at: String,
    pub max_uses: u32,
    /// Usernames of those who joined with it.
    pub joined: Vec<String>,
    pub revoked: bool,
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct CreatedInvitation {
    pub invitation: InvitationView,
    /// The link to hand out; shown only in this response.
    pub link: String,
}

#[derive(ApiResponse)]
pub enum InvitationCreated {
    /// Created.
    #[oai(status = 201)]
    Created(Json<Data<CreatedInvitation>>),
}

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct Decision {
    pub approve: bool,
    /// Required to reject; the member sees it.
    #[oai(validator(max_length = 500))]
    pub reason: Option<String>,
}

#[derive(ApiResponse)]
pub enum Done {
    /// Done.
    #[oai(status = 204)]
    Done,
}

fn invitation_view(invite: &crate::domain::invite::Invite, names: Vec<String>) -> InvitationView {
    InvitationView {
        id: invite.id.to_string(),
        note: invite.note.clone(),
        created_at: invite.created_at.to_string(),
        expires_at: invite.expires_at.to_string(),
        max_uses: invite.max_uses,
        joined: names,
        revoked: invite.revoked,
    }
}

fn parse_action(body: &StaffActionRequest) -> Result<StaffAction, AppError> {
    let invalid = |field: &'static str, msg: &str| {
        AppError::validation(vec![crate::domain::account::FieldError::new(field, msg)])
    };
    let reason = body.reason.clone().unwrap_or_default();
    Ok(match body.action.as_str() {
        "role" => StaffAction::SetRole(match body.role.as_deref() {
            Some("member") => Role::Member,
            Some("moderator") => Role::Moderator,
            Some("admin") => Role::Admin,
            Some("owner") => Role::Owner,
            _ => {
                return Err(invalid(
                    "role",
                    "Give a role: member, moderator, admin or owner.",
                ));
            }
        }),
        "verify" => StaffAction::VerifyEmail,
        "suspend" => {
            let until = body
                .until
                .as_deref()
                .and_then(|u| u.parse::<jiff::Timestamp>().ok())
                .ok_or_else(|| invalid("until", "Give an RFC 3339 time."))?;
            StaffAction::Suspend { until, reason }
        }
        "ban" => StaffAction::Ban { reason },
        "reinstate" => StaffAction::Reinstate,
        "sign_out" => StaffAction::SignOutEverywhere,
        "supporter_on" => StaffAction::SetSupporter(true),
        "supporter_off" => StaffAction::SetSupporter(false),
        "delete" => StaffAction::Delete { reason },
        _ => return Err(invalid("action", "Unknown action.")),
    })
}

fn staff_actor(viewer: &Viewer) -> Result<Actor, AppError> {
    Ok(Actor::from(&viewer.clone().require()?.user))
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Accounts")]
impl AccountsApi {
    /// Sign up
    ///
    /// Creates an account under the registration mode in force (or with an invitation code).
    #[oai(path = "/accounts", method = "post", operation_id = "signUp")]
    async fn sign_up(&self, req: &Request, body: Json<SignUpRequest>) -> poem::Result<SignedUp> {
        let state = state_of(req)?;
        if is_cross_origin(req, &state) {
            return Err(AppError::csrf().into());
        }
        let b = body.0;
        let input = SignUp {
            username: b.username,
            email: b.email,
            password: Secret::new(b.password.clone()),
            password_confirm: Secret::new(b.password),
            invite_code: b.invite_code,
        };
        let done = state
            .registration
            .sign_up(input, &client_info(req))
            .await
            .map_err(AppError::from)?;
        Ok(SignedUp::Created(Json(Data {
            data: SignUpResult {
                id: done.user.to_string(),
                needs_approval: done.needs_approval,
                verification_sent: done.verification_sent,
            },
        })))
    }

    /// Request a password reset
    ///
    /// Mails a single-use link (30 minutes) if the address belongs to an account. The answer
    /// is the same either way.
    #[oai(
        path = "/password-reset",
        method = "post",
        operation_id = "requestPasswordReset"
    )]
    async fn password_reset(
        &self,
        req: &Request,
        body: Json<ResetRequest>,
    ) -> poem::Result<Accepted> {
        let state = state_of(req)?;
        state
            .registration
            .request_password_reset(&body.0.email, &client_info(req))
            .await
            .map_err(AppError::from)?;
        Ok(Accepted::Accepted)
    }

    /// List members
    ///
    /// Members whose username or email contains `q`, in sign-up order (staff who manage users).
    #[oai(path = "/admin/users", method = "get", operation_id = "listMembers")]
    async fn members(
        &self,
        req: &Request,
        viewer: Viewer,
        q: Query<Option<String>>,
        offset: Query<Option<u32>>,
        limit: Query<Option<u32>>,
    ) -> poem::Result<Json<Data<MemberPage>>> {
        let actor = staff_actor(&viewer)?;
        let page = state_of(req)?
            .staff
            .find(
                &actor,
                q.0.as_deref().unwrap_or(""),
                offset.0.unwrap_or(0) as usize,
                limit.0.unwrap_or(50).clamp(1, 200) as usize,
            )
            .await
            .map_err(AppError::from)?;
        Ok(Json(Data {
            data: MemberPage {
                members: page.users.iter().map(MemberView::from).collect(),
                total: page.total as u64,
            },
        }))
    }

    /// Get a member
    #[oai(path = "/admin/users/:id", method = "get", operation_id = "getMember")]
    async fn member(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
    ) -> poem::Result<Json<Data<MemberView>>> {
        let actor = staff_actor(&viewer)?;
        let id: UserId = id.0.parse().map_err(|_| AppError::not_found())?;
        let (user, _) = state_of(req)?
            .staff
            .user(&actor, id)
            .await
            .map_err(AppError::from)?;
        Ok(Json(Data {
            data: MemberView::from(&user),
        }))
    }

    /// Act on a member
    ///
    /// Role, verify, suspend, ban, reinstate, sign out everywhere, supporter, delete. Audited.
    #[oai(
        path = "/admin/users/:id/actions",
        method = "post",
        operation_id = "actOnMember"
    )]
    async fn act(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
        body: Json<StaffActionRequest>,
    ) -> poem::Result<Done> {
        let actor = Actor::from(&acting(req, &viewer)?.user);
        let id: UserId = id.0.parse().map_err(|_| AppError::not_found())?;
        let action = parse_action(&body.0)?;
        state_of(req)?
            .staff
            .act(&actor, id, action)
            .await
            .map_err(AppError::from)?;
        Ok(Done::Done)
    }

    /// List invitations
    #[oai(
        path = "/admin/invitations",
        method = "get",
        operation_id = "listInvitations"
    )]
    async fn invitations(
        &self,
        req: &Request,
        viewer: Viewer,
    ) -> poem::Result<Json<Data<Vec<InvitationView>>>> {
        let actor = staff_actor(&viewer)?;
        let all = state_of(req)?
            .registration
            .invites(&actor)
            .await
            .map_err(AppError::from)?;
        Ok(Json(Data {
            data: all
                .into_iter()
                .map(|(i, names)| invitation_view(&i, names))
                .collect(),
        }))
    }

    /// Create an invitation
    #[oai(
        path = "/admin/invitations",
        method = "post",
        operation_id = "createInvitation"
    )]
    async fn create_invitation(
        &self,
        req: &Request,
        viewer: Viewer,
        body: Json<NewInvitation>,
    ) -> poem::Result<InvitationCreated> {
        let actor = Actor::from(&acting(req, &viewer)?.user);
        let (invite, link) = state_of(req)?
            .registration
            .create_invite(&actor, body.0.valid_for_days, body.0.max_uses, &body.0.note)
            .await
            .map_err(AppError::from)?;
        Ok(InvitationCreated::Created(Json(Data {
            data: CreatedInvitation {
                invitation: invitation_view(&invite, Vec::new()),
                link,
            },
        })))
    }

    /// Withdraw an invitation
    #[oai(
        path = "/admin/invitations/:id",
        method = "delete",
        operation_id = "revokeInvitation"
    )]
    async fn revoke_invitation(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
    ) -> poem::Result<Done> {
        let actor = Actor::from(&acting(req, &viewer)?.user);
        let id: InviteId = id.0.parse().map_err(|_| AppError::not_found())?;
        state_of(req)?
            .registration
            .revoke_invite(&actor, id)
            .await
            .map_err(AppError::from)?;
        Ok(Done::Done)
    }

    /// List the approval queue
    #[oai(
        path = "/admin/approvals",
        method = "get",
        operation_id = "listApprovals"
    )]
    async fn approvals(
        &self,
        req: &Request,
        viewer: Viewer,
    ) -> poem::Result<Json<Data<Vec<MemberView>>>> {
        let actor = staff_actor(&viewer)?;
        let users = state_of(req)?
            .registration
            .approval_queue(&actor)
            .await
            .map_err(AppError::from)?;
        Ok(Json(Data {
            data: users.iter().map(MemberView::from).collect(),
        }))
    }

    /// Approve or reject a sign-up
    #[oai(
        path = "/admin/approvals/:id",
        method = "post",
        operation_id = "decideApproval"
    )]
    async fn decide(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
        body: Json<Decision>,
    ) -> poem::Result<Done> {
        let actor = Actor::from(&acting(req, &viewer)?.user);
        let id: UserId = id.0.parse().map_err(|_| AppError::not_found())?;
        state_of(req)?
            .registration
            .decide(
                &actor,
                id,
                body.0.approve,
                body.0.reason.as_deref().unwrap_or(""),
            )
            .await
            .map_err(AppError::from)?;
        Ok(Done::Done)
    }
}
