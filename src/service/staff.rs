//! Staff tools for managing members: find and inspect users, change roles, verify addresses,
//! suspend, ban and reinstate, sign someone out everywhere, grant the supporter tier, delete.
//! Every action is checked against the permission matrix, acts only downwards in rank, never
//! leaves the instance without an owner, and is written to the audit log in the same
//! transaction as the change.

use jiff::Timestamp;

use super::StoreError;
use super::accounts::AccountError;
use super::audit::{self, Actor};
use crate::clock::SharedClock;
use crate::domain::account::{AccountStatus, FieldError, User};
use crate::domain::ids::UserId;
use crate::domain::permission::Permission;
use crate::domain::role::Role;
use crate::store::{Store, Tx};

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("your role may not do this")]
    Forbidden,
    #[error("no such member")]
    NotFound,
    #[error("{0}")]
    Refused(&'static str),
    #[error("some fields need attention")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<AccountError> for StaffError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Store(e) => StaffError::Store(e),
            AccountError::Invalid(fields) => StaffError::Invalid(fields),
            other => StaffError::Store(StoreError::Database(other.to_string())),
        }
    }
}

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
    clock: SharedClock,
}

/// May `actor` do `action` to `target` at all (before looking at the database)?
fn allowed(actor: &Actor, target: &User, action: &StaffAction) -> Result<(), StaffError> {
    if !actor.role.may(Permission::ManageUsers) {
        return Err(StaffError::Forbidden);
    }
    let on_self = actor.id == target.id;
    match action {
        // An owner may step down (the last-owner rule keeps one).
        StaffAction::SetRole(role) if !actor.role.may_assign(*role) => {
            return Err(StaffError::Forbidden);
        }
        StaffAction::SetRole(_) | StaffAction::VerifyEmail | StaffAction::SetSupporter(_) => {}
        _ if on_self => {
            return Err(StaffError::Refused(
                "Staff tools do not act on your own account; use your account page.",
            ));
        }
        _ => {}
    }
    if !on_self && !actor.role.outranks(target.role) {
        return Err(StaffError::Forbidden);
    }
    Ok(())
}

fn needs_reason(reason: &str) -> Result<String, StaffError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(StaffError::Invalid(vec![FieldError::new(
            "reason",
            "Give a reason (up to 500 characters); the member sees it.",
        )]));
    }
    Ok(reason.to_string())
}

impl Staff {
    pub fn new(store: Store, clock: SharedClock) -> Self {
        Self { store, clock }
    }

    pub async fn find(
        &self,
        actor: &Actor,
        query: &str,
        offset: usize,
        limit: usize,
    ) -> Result<UserPage, StaffError> {
        if !actor.role.may(Permission::ManageUsers) {
            return Err(StaffError::Forbidden);
        }
        let query = query.trim().to_lowercase();
        let (users, total) = self
            .store
            .read(move |rx| rx.find_users(&query, offset, limit.min(200)))
            .await?;
        Ok(UserPage { users, total })
    }

    pub async fn user(&self, actor: &Actor, id: UserId) -> Result<(User, u64), StaffError> {
        if !actor.role.may(Permission::ManageUsers) {
            return Err(StaffError::Forbidden);
        }
        let found = self
            .store
            .read(move |rx| {
                let user = rx.user(id)?;
                let sessions = rx.session_count_for(id)?;
                Ok::<_, StoreError>(user.map(|u| (u, sessions)))
            })
            .await?;
        found.ok_or(StaffError::NotFound)
    }

    /// Applies `action` to `target` and records it.
    pub async fn act(
        &self,
        actor: &Actor,
        target: UserId,
        action: StaffAction,
    ) -> Result<(), StaffError> {
        let now = self.clock.now();
        let action = match action {
            StaffAction::Suspend { until, reason } => {
                if until <= now {
                    return Err(StaffError::Invalid(vec![FieldError::new(
                        "until",
                        "Choose a time in the future.",
                    )]));
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
        self.store
            .write(move |tx| apply(tx, &actor, target, &action, now))
            .await
    }
}

fn apply(
    tx: &Tx<'_>,
    actor: &Actor,
    target: UserId,
    action: &StaffAction,
    now: Timestamp,
) -> Result<(), StaffError> {
    let mut user = tx.read_user(target)?.ok_or(StaffError::NotFound)?;
    allowed(actor, &user, action)?;
    let (reason, details) = match action {
        StaffAction::SetRole(role) => {
            if user.role == Role::Owner && *role != Role::Owner && tx.owner_count()? <= 1 {
                return Err(StaffError::Refused(
                    "This is the last owner: make someone else owner first.",
                ));
            }
            let details = format!("{} → {}", user.role.as_str(), role.as_str());
            user.role = *role;
            tx.put_user(&user)?;
            // A new role is a new privilege level: sessions start afresh.
            tx.delete_sessions_of(user.id, None)?;
            (String::new(), details)
        }
        StaffAction::VerifyEmail => {
            user.email_verified = true;
            tx.put_user(&user)?;
            (String::new(), user.email.clone())
        }
        StaffAction::Suspend { until, reason } => {
            user.status = AccountStatus::Suspended {
                until: *until,
                reason: reason.clone(),
            };
            tx.put_user(&user)?;
            tx.delete_sessions_of(user.id, None)?;
            (
                reason.clone(),
                format!("until {}", until.strftime("%Y-%m-%d %H:%M UTC")),
            )
        }
        StaffAction::Ban { reason } => {
            user.status = AccountStatus::Banned {
                reason: reason.clone(),
            };
            tx.put_user(&user)?;
            tx.delete_sessions_of(user.id, None)?;
            (reason.clone(), String::new())
        }
        StaffAction::Reinstate => {
            user.status = AccountStatus::Active;
            tx.put_user(&user)?;
            tx.clear_pending_approval(user.id)?;
            (String::new(), String::new())
        }
        StaffAction::SignOutEverywhere => {
            let n = tx.delete_sessions_of(user.id, None)?;
            (String::new(), format!("{n} session(s)"))
        }
        StaffAction::SetSupporter(on) => {
            user.supporter = *on;
            tx.put_user(&user)?;
            (
                String::new(),
                if *on {
                    "granted".into()
                } else {
                    "removed".into()
                },
            )
        }
        StaffAction::Delete { reason } => {
            if user.role == Role::Owner && tx.owner_count()? <= 1 {
                return Err(StaffError::Refused(
                    "This is the last owner and cannot be deleted.",
                ));
            }
            tx.delete_user(&user)?;
            (reason.clone(), user.email.clone())
        }
    };
    let entry = audit::entry(actor, now, action.name(), &user.username, &reason, &details);
    tx.append_audit(audit::new_id(&entry), &entry)?;
    Ok(())
}
