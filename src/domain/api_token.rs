//! Personal API tokens for scripts: bearer tokens with a scope and an optional expiry.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::ids::UserId;
use super::role::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenScope {
    /// GET and HEAD only.
    Read,
    ReadWrite,
}

impl TokenScope {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::ReadWrite => "read-write",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiToken {
    /// Public handle (derived from the stored hash), for listing and revoking.
    pub id: String,
    pub user: UserId,
    pub name: String,
    pub scope: TokenScope,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    /// Set only by the owner: requests with this token keep the member's staff powers.
    pub staff_powers: bool,
}

impl ApiToken {
    pub fn is_valid_at(&self, now: Timestamp) -> bool {
        self.expires_at.is_none_or(|t| now < t)
    }

    /// The role a request made with this token acts with: staff powers only when allowed.
    pub fn effective_role(&self, role: Role) -> Role {
        if self.staff_powers {
            role
        } else {
            role.min(Role::Member)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_cap_the_role_unless_the_owner_allowed_staff_powers() {
        let mut t = ApiToken {
            id: "x".into(),
            user: UserId::from_u128(1),
            name: "n".into(),
            scope: TokenScope::Read,
            created_at: Timestamp::UNIX_EPOCH,
            expires_at: Some(Timestamp::UNIX_EPOCH + jiff::SignedDuration::from_hours(1)),
            staff_powers: false,
        };
        assert_eq!(t.effective_role(Role::Admin), Role::Member);
        t.staff_powers = true;
        assert_eq!(t.effective_role(Role::Admin), Role::Admin);
        assert!(t.is_valid_at(Timestamp::UNIX_EPOCH));
        assert!(!t.is_valid_at(Timestamp::UNIX_EPOCH + jiff::SignedDuration::from_hours(1)));
    }
}
