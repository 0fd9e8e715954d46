//! `/api/v1/accounts` and `/api/v1/admin/…`: sign-up and password reset for visitors, and the
//! staff tools (members, invitations, approvals) for scripts and other clients.

use super::reply::Reply;
use super::text::Text;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::me::acting;
use super::{ApiTags, Data, Listed, PageRequest};
use crate::domain::account::{AccountStatus, User};
use crate::domain::ids::{InviteId, UserId};
use crate::domain::role::Role;
use crate::domain::secret::Secret;
use crate::http::auth::{Viewer, is_cross_origin};
use crate::http::error::AppError;
use crate::http::ui::join::client_info;
use crate::http::ui::state_of;
use crate::service::access::Actor;
use crate::service::registration::SignUp;
use crate::service::staff::StaffAction;

pub struct AccountsApi;

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct SignUpRequest {
    /// 3 to 32 letters, digits, `_`, `-` or `.`, starting with a letter or digit.
    #[oai(validator(pattern = r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$"))]
    pub username: Text,
    /// An address like name@example.org.
    #[oai(validator(
        max_length = 254,
        pattern = r"^[^@\s]+@[^@\s.][^@\s]*\.[^@\s]*[^@\s.]$"
    ))]
    pub email: Text,
    /// 12 to 256 characters, not a common password.
    #[oai(validator(min_length = 12, max_length = 256))]
    pub password: Text,
    /// The code from an invitation link (`/join/{code}`), when joining by invitation.
    #[oai(nullable, validator(max_length = 128))]
    pub invite_code: Option<Text>,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
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
    Created(Reply<Data<SignUpResult>>),
}

#[derive(Object, serde::Serialize)]
pub struct ResetRequest {
    #[oai(validator(max_length = 254, pattern = "@"))]
    pub email: Text,
}

#[derive(ApiResponse)]
pub enum Accepted {
    /// Accepted; if the address belongs to an account, a link is on its way.
    #[oai(status = 202)]
    Accepted,
}

/// A member as staff see them.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    pub id: String,
    pub username: String,
    pub email: String,
    pub email_verified: bool,
    pub role: String,
    /// active, pending_approval, rejected, suspended or banned.
    pub status: String,
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
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

/// How the member list is ordered.
#[derive(poem_openapi::Enum, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum MemberSort {
    /// Sign-up order, oldest first.
    #[default]
    Joined,
    /// By username.
    Username,
}

/// What a staff action does.
#[derive(poem_openapi::Enum, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum StaffActionKind {
    Role,
    Verify,
    Suspend,
    Ban,
    Reinstate,
    SignOut,
    SupporterOn,
    SupporterOff,
    Delete,
}

/// A role, from least to most powerful.
#[derive(poem_openapi::Enum, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum RoleName {
    Member,
    Moderator,
    Admin,
    Owner,
}

impl From<Role> for RoleName {
    fn from(r: Role) -> Self {
        match r {
            Role::Member => RoleName::Member,
            Role::Moderator => RoleName::Moderator,
            Role::Admin => RoleName::Admin,
            Role::Owner => RoleName::Owner,
        }
    }
}

impl From<RoleName> for Role {
    fn from(r: RoleName) -> Self {
        match r {
            RoleName::Member => Role::Member,
            RoleName::Moderator => Role::Moderator,
            RoleName::Admin => Role::Admin,
            RoleName::Owner => Role::Owner,
        }
    }
}

/// One staff action.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct StaffActionRequest {
    pub action: StaffActionKind,
    /// For `role`.
    #[oai(nullable)]
    pub role: Option<RoleName>,
    /// For suspend, ban and delete (shown to the member).
    #[oai(nullable, validator(max_length = 500))]
    pub reason: Option<Text>,
    /// For suspend: an RFC 3339 time, e.g. 2026-07-01T12:00:00Z.
    #[oai(nullable, validator(max_length = 64))]
    pub until: Option<Text>,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct NewInvitation {
    #[oai(validator(minimum(value = "1"), maximum(value = "365")))]
    pub valid_for_days: u32,
    #[oai(validator(minimum(value = "1"), maximum(value = "10000")))]
    pub max_uses: u32,
    #[oai(nullable, default, validator(max_length = 200))]
    pub note: Text,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
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

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct CreatedInvitation {
    pub invitation: InvitationView,
    /// The link to hand out; shown only in this response.
    pub link: String,
}

#[derive(ApiResponse)]
pub enum InvitationCreated {
    /// Created.
    #[oai(status = 201)]
    Created(Reply<Data<CreatedInvitation>>),
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub approve: bool,
    /// Required to reject; the member sees it.
    #[oai(nullable, validator(max_length = 500))]
    pub reason: Option<Text>,
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
    let reason = body.reason.clone().map(String::from).unwrap_or_default();
    Ok(match body.action {
        StaffActionKind::Role => StaffAction::SetRole(
            body.role
                .ok_or_else(|| {
                    AppError::invalid("role", "Give a role: member, moderator, admin or owner.")
                })?
                .into(),
        ),
        StaffActionKind::Verify => StaffAction::VerifyEmail,
        StaffActionKind::Suspend => {
            let until = body
                .until
                .as_deref()
                .and_then(|u| u.parse::<jiff::Timestamp>().ok())
                .ok_or_else(|| AppError::invalid("until", "Give an RFC 3339 time."))?;
            StaffAction::Suspend { until, reason }
        }
        StaffActionKind::Ban => StaffAction::Ban { reason },
        StaffActionKind::Reinstate => StaffAction::Reinstate,
        StaffActionKind::SignOut => StaffAction::SignOutEverywhere,
        StaffActionKind::SupporterOn => StaffAction::SetSupporter(true),
        StaffActionKind::SupporterOff => StaffAction::SetSupporter(false),
        StaffActionKind::Delete => StaffAction::Delete { reason },
    })
}

/// The staff member reading through this request.
fn staff_actor(viewer: &Viewer) -> Result<Actor, AppError> {
    Ok(viewer.clone().require()?.actor())
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Accounts")]
impl AccountsApi {
    /// Sign up
    ///
    /// Creates an account under the registration mode in force (or with an invitation code).
    #[oai(path = "/accounts", method = "post", operation_id = "signUp")]
    async fn sign_up(
        &self,
        req: &Request,
        body: Json<SignUpRequest>,
    ) -> Result<SignedUp, AppError> {
        let state = state_of(req)?;
        if is_cross_origin(req, state) {
            return Err(AppError::csrf());
        }
        let b = body.0;
        let input = SignUp {
            username: b.username.into(),
            email: b.email.into(),
            password: Secret::new(b.password.clone().into()),
            password_confirm: Secret::new(b.password.into()),
            invite_code: b.invite_code.map(String::from),
        };
        let done = state.registration.sign_up(input, &client_info(req)).await?;
        Ok(SignedUp::Created(Reply(Data {
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
    ) -> Result<Accepted, AppError> {
        let state = state_of(req)?;
        state
            .registration
            .request_password_reset(&body.0.email, &client_info(req))
            .await?;
        Ok(Accepted::Accepted)
    }

    /// List members
    ///
    /// Members whose username or email starts with `q` (ordered by username), or all members
    /// ordered by `sort` (staff who manage users).
    #[oai(path = "/admin/users", method = "get", operation_id = "listMembers")]
    async fn members(
        &self,
        req: &Request,
        viewer: Viewer,
        /// The start of a username or email address.
        #[oai(validator(max_length = 254))]
        q: Query<Option<String>>,
        sort: Query<Option<MemberSort>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100000")))] page: Query<Option<u32>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
    ) -> Result<Reply<Listed<MemberView>>, AppError> {
        let actor = staff_actor(&viewer)?;
        let paging = PageRequest::new(page.0, limit.0);
        let by_name = sort.0 == Some(MemberSort::Username);
        let found = state_of(req)?
            .staff
            .find(
                &actor,
                q.0.as_deref().unwrap_or(""),
                by_name,
                paging.offset(),
                paging.limit(),
            )
            .await?;
        Ok(Reply(paging.answer(
            found.users.iter().map(MemberView::from).collect(),
            found.total as u64,
        )))
    }

    /// Get a member
    #[oai(path = "/admin/users/:id", method = "get", operation_id = "getMember")]
    async fn member(
        &self,
        req: &Request,
        viewer: Viewer,
        #[oai(validator(max_length = 36))] id: Path<String>,
    ) -> Result<Reply<Data<MemberView>>, AppError> {
        let actor = staff_actor(&viewer)?;
        let id: UserId = id.0.parse().map_err(|_| AppError::not_found())?;
        let (user, _) = state_of(req)?.staff.user(&actor, id).await?;
        Ok(Reply(Data {
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
    ) -> Result<Done, AppError> {
        let actor = acting(req, &viewer)?.actor();
        let id: UserId = id.0.parse().map_err(|_| AppError::not_found())?;
        let action = parse_action(&body.0)?;
        state_of(req)?.staff.act(&actor, id, action).await?;
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
        #[oai(validator(minimum(value = "1"), maximum(value = "100000")))] page: Query<Option<u32>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
    ) -> Result<Reply<Listed<InvitationView>>, AppError> {
        let actor = staff_actor(&viewer)?;
        let paging = PageRequest::new(page.0, limit.0);
        let found = state_of(req)?
            .registration
            .invites(&actor, paging.offset(), paging.limit())
            .await?;
        Ok(Reply(
            paging.answer(
                found
                    .invites
                    .into_iter()
                    .map(|(i, names)| invitation_view(&i, names))
                    .collect(),
                found.total,
            ),
        ))
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
    ) -> Result<InvitationCreated, AppError> {
        let actor = acting(req, &viewer)?.actor();
        let (invite, link) = state_of(req)?
            .registration
            .create_invite(&actor, body.0.valid_for_days, body.0.max_uses, &body.0.note)
            .await?;
        Ok(InvitationCreated::Created(Reply(Data {
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
    ) -> Result<Done, AppError> {
        let actor = acting(req, &viewer)?.actor();
        let id: InviteId = id.0.parse().map_err(|_| AppError::not_found())?;
        state_of(req)?
            .registration
            .revoke_invite(&actor, id)
            .await?;
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
        #[oai(validator(minimum(value = "1"), maximum(value = "100000")))] page: Query<Option<u32>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
    ) -> Result<Reply<Listed<MemberView>>, AppError> {
        let actor = staff_actor(&viewer)?;
        let paging = PageRequest::new(page.0, limit.0);
        let queue = state_of(req)?
            .registration
            .approval_queue(&actor, paging.offset(), paging.limit())
            .await?;
        Ok(Reply(paging.answer(
            queue.users.iter().map(MemberView::from).collect(),
            queue.total,
        )))
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
    ) -> Result<Done, AppError> {
        let actor = acting(req, &viewer)?.actor();
        let id: UserId = id.0.parse().map_err(|_| AppError::not_found())?;
        state_of(req)?
            .registration
            .decide(
                &actor,
                id,
                body.0.approve,
                body.0.reason.as_deref().unwrap_or(""),
            )
            .await?;
        Ok(Done::Done)
    }
}
