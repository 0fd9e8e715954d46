//! Notifications: one per thing a member should hear about (a like, a match, a message, a
//! decision about their photo, …), with a priority and a read state. Which events notify whom
//! is the service's; here is what a notification is.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::ids::{NotificationId, UserId};

/// How much a notification matters: critical ones (security) are never held back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Priority {
    Low,
    Normal,
    High,
    Critical,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub id: NotificationId,
    pub member: UserId,
    /// The event it tells of: `like:new`, `match:new`, `message:new`, …
    pub event: String,
    pub title: String,
    pub body: String,
    /// Who did it, when someone did.
    pub actor: Option<UserId>,
    /// What it is about (a conversation, a match, an upload), as its id; one unread
    /// notification per subject: a newer one replaces it.
    pub subject: Option<String>,
    pub priority: Priority,
    pub created_at: Timestamp,
    pub read: bool,
}

/// Notifications kept per member; older ones go as new ones come.
pub const KEPT_PER_MEMBER: usize = 500;
