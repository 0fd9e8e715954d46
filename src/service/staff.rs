//! Staff tools for managing members: find and inspect users, change roles, verify addresses,
//! suspend, ban and reinstate, sign someone out everywhere, grant the supporter tier, delete.
//! Every action is checked against the permission matrix (and the staff second-factor rule),
//! acts only downwards in rank, never leaves the instance without an owner, and is written to
//! the audit log in the same transaction as the change.

use jiff::Timestamp;

use super::StoreError;
use super::access::{Access, Actor};
use super::audit;
use super::error::{ErrorCode, ServiceError};
use super::member_data::MemberDataParts;
use crate::clock::SharedClock;
use crate::domain::account::{AccountStatus, User};
use crate::domain::ids::UserId;
use crate::domain::permission::Permission;
use crate::domain::role::Role;
use crate::store::{Store, Tx};

/// One staff action on one member.
#[derive(Debug, Clone)]
pub enum StaffAction {
    SetRole(Role),
    VerifyEmail,
    Suspend { until: Timestamp, reason: String },
    Ban { reason: String },
    Reinstate,
    SignOutEverywhere,
    SetSupporter(bool),
    Delete { reason: String },
}

impl StaffAction {
    fn name(&self) -> &'static str {
        match self {
            StaffAction::SetRole(_) => "user.role",
            StaffAction::VerifyEmail => "user.verify",
            StaffAction::Suspend { .. } => "user.suspend",
            StaffAction::Ban { .. } => "user.ban",
            StaffAction::Reinstate => "user.reinstate",
            StaffAction::SignOutEverywhere => "user.sign_out",
            StaffAction::SetSupporter(_) => "user.supporter",
            StaffAction::Delete { .. } => "user.delete",
        }
    }
}

/// A page of the user list.
#[derive(Debug, Clone)]
pub struct UserPage {
    pub users: Vec<User>,
    pub total: usize,
}

#[derive(Clone)]
pub struct Staff {
    store: Store,
    access: Access,
    clock: SharedClock,
    member_data: MemberDataParts,
}

/// May `actor` do `action` to `target` (the rank rules; the permission is checked before)?
fn allowed(actor: &Actor, target: &User, action: &StaffAction) -> Result<(), ServiceError> {
    let on_self = actor.id == target.id;
    match action {
        // An owner may step down (the last-owner rule keeps one).
        StaffAction::SetRole(role) if !actor.role.may_assign(*role) => {
            return Err(ServiceError::forbidden("Only the owner changes roles."));
        }
        StaffAction::SetRole(_) | StaffAction::VerifyEmail | StaffAction::SetSupporter(_) => {}
        _ if on_self => {
            return Err(ServiceError::conflict(
                ErrorCode::NotOnYourself,
                "Staff tools do not act on your own account; use your account page.",
            ));
        }
        _ => {}
    }
    if !on_self && !actor.role.outranks(target.role) {
        return Err(ServiceError::forbidden(
            "Staff act only on members of a lower role.",
        ));
    }
    Ok(())
}

fn needs_reason(reason: &str) -> Result<String, ServiceError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ServiceError::invalid(
            "reason",
            "Give a reason (up to 500 characters); the member sees it.",
        ));
    }
    Ok(reason.to_string())
}

fn last_owner(message: &str) -> ServiceError {
    ServiceError::conflict(ErrorCode::LastOwner, message)
}

impl Staff {
    pub fn new(
        store: Store,
        access: Access,
        clock: SharedClock,
        member_data: MemberDataParts,
    ) -> Self {
        Self {
            store,
            access,
            clock,
            member_data,
        }
    }

    /// Members whose username or email starts with `query`, by username; when it is empty,
    /// all members, by username or in sign-up order.
    pub async fn find(
        &self,
        actor: &Actor,
        query: &str,
        by_username: bool,
        offset: usize,
        limit: usize,
    ) -> Result<UserPage, ServiceError> {
        self.access.require(actor, Permission::ManageUsers)?;
        let query = query.trim().to_lowercase();
        let (users, total) = self
            .store
            .read(move |rx| {
                if !query.is_empty() {
                    return rx.users().search(&query, offset, limit);
                }
                let total = rx.users().count()? as usize;
                let page = if by_username {
                    rx.users().page_by_username(offset, limit)?
                } else {
                    rx.users().page(offset, limit)?
                };
                Ok::<_, StoreError>((page, total))
            })
            .await?;
        Ok(UserPage { users, total })
    }

    pub async fn user(&self, actor: &Actor, id: UserId) -> Result<(User, u64), ServiceError> {
        self.access.require(actor, Permission::ManageUsers)?;
        let found = self
            .store
            .read(move |rx| {
                let user = rx.users().get(id)?;
                let sessions = rx.sessions().count_of(id)?;
                Ok::<_, StoreError>(user.map(|u| (u, sessions)))
            })
            .await?;
        found.ok_or_else(ServiceError::not_found)
    }

    /// Applies `action` to `target` and records it.
    pub async fn act(
        &self,
        actor: &Actor,
        target: UserId,
        action: StaffAction,
    ) -> Result<(), ServiceError> {
        self.access.require(actor, Permission::ManageUsers)?;
        let now = self.clock.now();
        let action = match action {
            StaffAction::Suspend { until, reason } => {
                if until <= now {
                    return Err(ServiceError::invalid(
                        "until",
                        "Choose a time in the future.",
                    ));
                }
                StaffAction::Suspend {
                    until,
                    reason: needs_reason(&reason)?,
                }
            }
            StaffAction::Ban { reason } => StaffAction::Ban {
                reason: needs_reason(&reason)?,
            },
            StaffAction::Delete { reason } => StaffAction::Delete {
                reason: needs_reason(&reason)?,
            },
            other => other,
        };
        let actor = actor.clone();
        let member_data = self.member_data.clone();
        self.store
            .write(move |tx| apply(tx, &member_data, &actor, target, &action, now))
            .await?
    }
}

/// Applies one action in `tx`. Every refusal is decided before anything is written.
fn apply(
    tx: &Tx<'_>,
    member_data: &MemberDataParts,
    actor: &Actor,
    target: UserId,
    action: &StaffAction,
    now: Timestamp,
) -> Result<Result<(), ServiceError>, StoreError> {
    let Some(mut user) = tx.users().get(target)? else {
        return Ok(Err(ServiceError::not_found()));
    };
    if let Err(refused) = allowed(actor, &user, action) {
        return Ok(Err(refused));
    }
    let sole_owner = |u: &User| -> Result<bool, StoreError> {
        Ok(u.role == Role::Owner && tx.users().count_with_role(Role::Owner)? <= 1)
    };
    let (reason, details) = match action {
        StaffAction::SetRole(role) => {
            if *role != Role::Owner && sole_owner(&user)? {
                return Ok(Err(last_owner(
                    "This is the last owner: make someone else owner first.",
                )));
            }
            let details = format!("{} → {}", user.role.as_str(), role.as_str());
            user.role = *role;
            tx.users().put(&user)?;
            // A new role is a new privilege level: sessions start afresh.
            tx.sessions().delete_of_user(user.id, None)?;
            (String::new(), details)
        }
        StaffAction::VerifyEmail => {
            user.email_verified = true;
            tx.users().put(&user)?;
            (String::new(), String::new())
        }
        StaffAction::Suspend { until, reason } => {
            user.status = AccountStatus::Suspended {
                until: *until,
                reason: reason.clone(),
            };
            tx.users().put(&user)?;
            tx.sessions().delete_of_user(user.id, None)?;
            (
                reason.clone(),
                format!("until {}", until.strftime("%Y-%m-%d %H:%M UTC")),
            )
        }
        StaffAction::Ban { reason } => {
            user.status = AccountStatus::Banned {
                reason: reason.clone(),
            };
            tx.users().put(&user)?;
            tx.sessions().delete_of_user(user.id, None)?;
            (reason.clone(), String::new())
        }
        StaffAction::Reinstate => {
            user.status = AccountStatus::Active;
            tx.users().put(&user)?;
            tx.approvals().remove(user.id)?;
            (String::new(), String::new())
        }
        StaffAction::SignOutEverywhere => {
            let n = tx.sessions().delete_of_user(user.id, None)?;
            (String::new(), format!("{n} session(s)"))
        }
        StaffAction::SetSupporter(on) => {
            user.supporter = *on;
            tx.users().put(&user)?;
            let state = if *on { "granted" } else { "removed" };
            (String::new(), state.to_string())
        }
        StaffAction::Delete { reason } => {
            if sole_owner(&user)? {
                return Ok(Err(last_owner(
                    "This is the last owner and cannot be deleted.",
                )));
            }
            member_data.erase_account(tx, &user)?;
            (reason.clone(), String::new())
        }
    };
    let entry = audit::entry(actor, now, action.name(), &user.username, &reason, &details);
    audit::record(tx, &entry)?;
    Ok(Ok(()))
}
