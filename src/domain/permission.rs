//! The permission matrix: which role may do what. Every access check goes through
//! [`Role::may`], so the whole policy is readable in one table.

use super::role::Role;

/// Something a member may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// See members-only content.
    View,
    /// Create content (profiles, messages, records, pages).
    Create,
    /// Edit or delete what they created.
    EditOwn,
    /// Edit anyone's content.
    EditAll,
    /// Delete anyone's content.
    Delete,
    /// Work the moderation queues (reports, media approval).
    Moderate,
    /// Verify, suspend, ban, sign out and delete members; approve sign-ups; manage invitations.
    ManageUsers,
    /// Change roles (the owner only: only the owner makes admins).
    ManageRoles,
    /// Change site settings.
    ManageSettings,
    /// Move records to the trash, restore them from it.
    Discard,
}

impl Permission {
    pub const ALL: [Permission; 10] = [
        Permission::View,
        Permission::Create,
        Permission::EditOwn,
        Permission::EditAll,
        Permission::Delete,
        Permission::Moderate,
        Permission::ManageUsers,
        Permission::ManageRoles,
        Permission::ManageSettings,
        Permission::Discard,
    ];
}

impl Permission {
    /// Powers over other members' content and accounts, which the staff second-factor rule
    /// guards; the rest are every member's.
    pub fn is_staff_power(self) -> bool {
        least_role(self) > Role::Member
    }
}

/// The least role that holds each permission; roles are ordered, so a role holds every
/// permission of the roles below it.
const fn least_role(p: Permission) -> Role {
    match p {
        Permission::View | Permission::Create | Permission::EditOwn => Role::Member,
        Permission::EditAll | Permission::Delete | Permission::Moderate => Role::Moderator,
        Permission::ManageUsers | Permission::ManageSettings | Permission::Discard => Role::Admin,
        Permission::ManageRoles => Role::Owner,
    }
}

impl Role {
    pub fn may(self, p: Permission) -> bool {
        self >= least_role(p)
    }

    /// Whether `self` may act on an account of role `target` (suspend, sign out, delete):
    /// only on roles below their own, except that the owner may act on anyone.
    pub fn outranks(self, target: Role) -> bool {
        self == Role::Owner || self > target
    }

    /// Whether `self` may give someone the role `to`: role changes are the owner's.
    pub fn may_assign(self, to: Role) -> bool {
        self.may(Permission::ManageRoles) && (to != Role::Owner || self == Role::Owner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Permission::*;
    use Role::*;

    #[test]
    fn the_matrix() {
        let expected: [(Role, &[Permission]); 4] = [
            (Member, &[View, Create, EditOwn]),
            (
                Moderator,
                &[View, Create, EditOwn, EditAll, Delete, Moderate],
            ),
            (
                Admin,
                &[
                    View,
                    Create,
                    EditOwn,
                    EditAll,
                    Delete,
                    Moderate,
                    ManageUsers,
                    ManageSettings,
                    Discard,
                ],
            ),
            (Owner, &Permission::ALL),
        ];
        for (role, allowed) in expected {
            for p in Permission::ALL {
                assert_eq!(role.may(p), allowed.contains(&p), "{role:?} {p:?}");
            }
        }
    }

    #[test]
    fn only_the_owner_assigns_roles_and_staff_act_downwards() {
        assert!(Owner.may_assign(Admin));
        assert!(!Admin.may_assign(Moderator));
        assert!(Admin.outranks(Moderator) && !Admin.outranks(Admin) && !Moderator.outranks(Admin));
        assert!(Owner.outranks(Owner));
    }
}
