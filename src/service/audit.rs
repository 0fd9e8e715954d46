//! Staff actions are recorded in the audit log in the same transaction as the change itself.

use jiff::Timestamp;

use crate::domain::account::User;
use crate::domain::audit::AuditEntry;
use crate::domain::ids::{UserId, uuid_v7};
use crate::domain::role::Role;

/// Who is acting, as services need to know it.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: UserId,
    pub username: String,
    pub role: Role,
}

impl From<&User> for Actor {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            username: u.username.clone(),
            role: u.role,
        }
    }
}

pub fn entry(
    actor: &Actor,
    at: Timestamp,
    action: &str,
    target: &str,
    reason: &str,
    details: &str,
) -> AuditEntry {
    AuditEntry {
        at,
        actor: actor.id,
        actor_name: actor.username.clone(),
        action: action.to_string(),
        target: target.to_string(),
        reason: reason.to_string(),
        details: details.to_string(),
    }
}

/// A fresh id for an entry (time-ordered, random tail).
pub fn new_id(entry: &AuditEntry) -> u128 {
    uuid_v7(entry.at.as_millisecond(), rand::random()).as_u128()
}

/// Reading the audit log (admins).
#[derive(Clone)]
pub struct AuditLog {
    store: crate::store::Store,
}

impl AuditLog {
    pub fn new(store: crate::store::Store) -> Self {
        Self { store }
    }

    /// The newest `limit` entries, newest first; `None` when the actor may not read the log.
    pub async fn recent(
        &self,
        actor: &Actor,
        limit: usize,
    ) -> Result<Option<Vec<AuditEntry>>, super::StoreError> {
        if !actor
            .role
            .may(crate::domain::permission::Permission::ManageUsers)
        {
            return Ok(None);
        }
        self.store
            .read(move |rx| rx.audit_log(limit))
            .await
            .map(Some)
    }
}
