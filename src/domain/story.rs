//! Stories: a photo or short video from the member's library with a caption, shown for 24
//! hours to their matches or to every member, then gone.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::ids::{MediaId, StoryId, UserId};

/// How long a story is shown.
pub const LIFETIME: SignedDuration = SignedDuration::from_hours(24);
pub const CAPTION_MAX: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Audience {
    /// Only members the author is matched with.
    Matches,
    /// Every member who may see the author.
    Members,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Matches => "matches",
            Self::Members => "members",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Story {
    pub id: StoryId,
    pub author: UserId,
    pub media: MediaId,
    pub caption: String,
    pub audience: Audience,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl Story {
    pub fn is_live_at(&self, now: Timestamp) -> bool {
        now < self.expires_at
    }
}
