//! Sign-in sessions: what is stored server-side and when a session stops being valid.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::ids::UserId;

/// A session as stored. The key is the SHA-256 of the cookie token, so a copy of the database
/// does not let anyone sign in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub user_id: UserId,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// Per-session CSRF token that every cookie-authenticated state change must echo.
    pub csrf_token: String,
    pub user_agent: String,
    pub ip: String,
    /// Signed in with a second factor (what "staff must use two-factor" checks).
    pub second_factor: bool,
}

/// A session ends this long after its last use.
pub const IDLE_TIMEOUT: SignedDuration = SignedDuration::from_hours(24 * 14);
/// A session ends this long after sign-in, however active.
pub const ABSOLUTE_LIFETIME: SignedDuration = SignedDuration::from_hours(24 * 30);
/// `last_seen_at` is written at most this often, so reads do not turn into writes.
pub const TOUCH_INTERVAL: SignedDuration = SignedDuration::from_mins(5);

impl Session {
    pub fn is_valid_at(&self, now: Timestamp) -> bool {
        now < self.last_seen_at + IDLE_TIMEOUT && now < self.created_at + ABSOLUTE_LIFETIME
    }

    pub fn needs_touch_at(&self, now: Timestamp) -> bool {
        now >= self.last_seen_at + TOUCH_INTERVAL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session_at(t: Timestamp) -> Session {
        Session {
            user_id: UserId::from_u128(1),
            created_at: t,
            last_seen_at: t,
            csrf_token: String::new(),
            user_agent: String::new(),
            ip: String::new(),
            second_factor: false,
        }
    }

    #[test]
    fn sessions_expire_when_idle_and_at_their_absolute_lifetime() {
        let t0 = Timestamp::UNIX_EPOCH + SignedDuration::from_hours(1000);
        let mut s = session_at(t0);
        assert!(s.is_valid_at(t0 + SignedDuration::from_hours(24)));
        assert!(!s.is_valid_at(t0 + IDLE_TIMEOUT));
        s.last_seen_at = t0 + SignedDuration::from_hours(24 * 29);
        assert!(s.is_valid_at(t0 + SignedDuration::from_hours(24 * 29 + 1)));
        assert!(!s.is_valid_at(t0 + ABSOLUTE_LIFETIME));
    }
}
