//! Roles, from least to most powerful. The full permission matrix grows with the accounts
//! module; what exists today is the ordering and the staff line.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Member,
    Moderator,
    Admin,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    /// Staff may open the admin panel.
    pub fn is_staff(self) -> bool {
        self >= Role::Moderator
    }

    /// May see system internals (paths, sizes, certificates, jobs).
    pub fn may_view_system(self) -> bool {
        self >= Role::Admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_line_and_system_access() {
        assert!(!Role::Member.is_staff());
        assert!(Role::Moderator.is_staff());
        assert!(!Role::Moderator.may_view_system());
        assert!(Role::Admin.may_view_system());
        assert!(Role::Owner.may_view_system());
    }
}
