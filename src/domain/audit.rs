//! The audit log of staff actions: who did what to whom, when, and why.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::ids::UserId;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: Timestamp,
    pub actor: UserId,
    /// The actor's username at the time (accounts can be renamed or deleted later).
    pub actor_name: String,
    /// A stable action name, e.g. `settings.update`, `user.suspend`.
    pub action: String,
    /// Whom or what it was done to, e.g. a username; empty when it applies to the site.
    pub target: String,
    /// The reason the staff member gave, if any.
    pub reason: String,
    /// What changed, for people (e.g. `registration: invite_only → open`).
    pub details: String,
}
