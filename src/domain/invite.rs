//! Invitations and one-time tokens.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::ids::{InviteId, UserId};

/// An invitation link that lets people sign up while registration is invite-only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invite {
    pub id: InviteId,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub max_uses: u32,
    /// For staff: who it was meant for.
    pub note: String,
    pub revoked: bool,
    /// Everyone who joined with it, in order.
    pub joined: Vec<UserId>,
}

impl Invite {
    /// Why the invitation cannot be used at `now`, if it cannot.
    pub fn unusable_at(&self, now: Timestamp) -> Option<&'static str> {
        if self.revoked {
            Some("This invitation was withdrawn.")
        } else if now >= self.expires_at {
            Some("This invitation has expired.")
        } else if self.joined.len() >= self.max_uses as usize {
            Some("This invitation has been used up.")
        } else {
            None
        }
    }
}

/// What a one-time token (sent by mail) is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
    /// The password was right; the second factor is still to come.
    SecondFactor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OneTimeToken {
    pub purpose: TokenPurpose,
    pub user: UserId,
    pub expires_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invitations_expire_run_out_and_can_be_withdrawn() {
        let t0: Timestamp = "2026-06-01T00:00:00Z".parse().unwrap();
        let mut invite = Invite {
            id: InviteId::from_u128(1),
            created_by: UserId::from_u128(2),
            created_at: t0,
            expires_at: t0 + jiff::SignedDuration::from_hours(24),
            max_uses: 1,
            note: String::new(),
            revoked: false,
            joined: Vec::new(),
        };
        assert_eq!(invite.unusable_at(t0), None);
        assert!(invite.unusable_at(invite.expires_at).is_some());
        invite.joined.push(UserId::from_u128(3));
        assert_eq!(
            invite.unusable_at(t0),
            Some("This invitation has been used up.")
        );
        invite.max_uses = 5;
        invite.revoked = true;
        assert_eq!(
            invite.unusable_at(t0),
            Some("This invitation was withdrawn.")
        );
    }
}
