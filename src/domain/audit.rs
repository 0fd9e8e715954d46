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

/// Which entries to show; every part is optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    pub actor: Option<UserId>,
    /// The name an actor acted under (for accounts since deleted), case-insensitive.
    pub actor_name: Option<String>,
    /// An action name, or a family of them ending in a dot (`user.`).
    pub action: Option<String>,
    /// Text the target contains (case-insensitive).
    pub target: Option<String>,
    /// From this time on (inclusive).
    pub from: Option<Timestamp>,
    /// Before this time.
    pub until: Option<Timestamp>,
}

impl AuditFilter {
    pub fn matches(&self, entry: &AuditEntry) -> bool {
        let action = self.action.as_deref().is_none_or(|a| {
            if a.ends_with('.') {
                entry.action.starts_with(a)
            } else {
                entry.action == a
            }
        });
        let target = self
            .target
            .as_deref()
            .is_none_or(|t| entry.target.to_lowercase().contains(&t.to_lowercase()));
        let actor = self.actor.is_none_or(|a| entry.actor == a)
            && self
                .actor_name
                .as_deref()
                .is_none_or(|n| entry.actor_name.eq_ignore_ascii_case(n));
        let from = self.from.is_none_or(|f| entry.at >= f);
        let until = self.until.is_none_or(|u| entry.at < u);
        action && target && actor && from && until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_match_action_families_targets_and_times() {
        let at: Timestamp = "2026-06-01T12:00:00Z".parse().unwrap();
        let entry = AuditEntry {
            at,
            actor: UserId::from_u128(1),
            actor_name: "ada".into(),
            action: "user.suspend".into(),
            target: "Mallory".into(),
            reason: String::new(),
            details: String::new(),
        };
        let f = |action: &str, target: &str| AuditFilter {
            action: Some(action.into()).filter(|a: &String| !a.is_empty()),
            target: Some(target.into()).filter(|t: &String| !t.is_empty()),
            ..AuditFilter::default()
        };
        assert!(f("user.", "").matches(&entry));
        assert!(f("user.suspend", "mall").matches(&entry));
        assert!(!f("user.ban", "").matches(&entry));
        assert!(!f("user", "").matches(&entry), "a family ends in a dot");
        assert!(!f("", "bob").matches(&entry));
        let window = AuditFilter {
            from: Some(at),
            until: Some(at + jiff::SignedDuration::from_secs(1)),
            ..AuditFilter::default()
        };
        assert!(window.matches(&entry));
        let before = AuditFilter {
            until: Some(at),
            ..AuditFilter::default()
        };
        assert!(!before.matches(&entry));
    }
}
