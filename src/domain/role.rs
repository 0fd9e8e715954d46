//! Roles, from least to most powerful. What each may do is in [`super::permission`].

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

    /// Position in the order of roles (0 for members): a stable number for indexes.
    pub fn rank(self) -> u8 {
        self as u8
    }

    /// Staff (moderators and up) may open the admin panel.
    pub fn is_staff(self) -> bool {
        self.may(super::permission::Permission::Moderate)
    }

    /// System internals (paths, sizes, certificates, jobs) are for those who manage settings.
    pub fn may_view_system(self) -> bool {
        self.may(super::permission::Permission::ManageSettings)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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
