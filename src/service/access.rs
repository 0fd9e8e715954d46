//! Who is acting, and the one place that decides whether they may: the permission matrix
//! (`Role::may`) plus the staff rule that staff powers need a second factor when the site
//! asks for it. Every service that acts for staff calls [`Access::require`], so the rule holds
//! the same for admin pages, API sessions and API tokens.

use super::error::{ErrorCode, Refusal, ServiceError};
use super::settings::Settings;
use crate::domain::account::User;
use crate::domain::ids::UserId;
use crate::domain::permission::Permission;
use crate::domain::role::Role;

/// Who is acting, as services need to know it.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: UserId,
    pub username: String,
    /// Under an API token without staff powers this is capped at member.
    pub role: Role,
    /// This session (or the token's account) proved a second factor.
    pub second_factor: bool,
}

impl Actor {
    pub fn new(user: &User, second_factor: bool) -> Self {
        Self {
            id: user.id,
            username: user.username.clone(),
            role: user.role,
            second_factor,
        }
    }
}

#[derive(Clone)]
pub struct Access {
    settings: Settings,
}

impl Access {
    pub fn new(settings: Settings) -> Self {
        Self { settings }
    }

    /// `Ok` when `actor` may use `permission` now.
    pub fn require(&self, actor: &Actor, permission: Permission) -> Result<(), ServiceError> {
        if !actor.role.may(permission) {
            return Err(ServiceError::role());
        }
        if permission.is_staff_power()
            && !actor.second_factor
            && self.settings.current().require_staff_second_factor
        {
            return Err(ServiceError::Forbidden(Refusal::new(
                ErrorCode::SecondFactorRequired,
                "Staff must sign in with a second factor before using staff tools: turn on two-factor authentication on your account page, then sign in again.",
            )));
        }
        Ok(())
    }

    /// Whether `actor` may use `permission` now (for choices such as what to show).
    pub fn allows(&self, actor: &Actor, permission: Permission) -> bool {
        self.require(actor, permission).is_ok()
    }
}
