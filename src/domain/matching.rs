//! Likes, passes, matches, blocks and reports: how members meet, and how they stop meeting.
//! The rules that need nothing but values live here; who may act on whom is the service's.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::ids::{Between, MatchId, MediaId, MessageId, ReportId, UserId};

/// How many swipes one request may carry.
pub const BATCH_MAX: usize = 50;
/// The window the daily like limit counts in.
pub const LIKE_WINDOW_MS: i64 = 24 * 3600 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SwipeAction {
    Like,
    Pass,
}

impl SwipeAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Like => "like",
            Self::Pass => "pass",
        }
    }
}

/// One member's decision about another; the latest one stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Swipe {
    pub action: SwipeAction,
    pub at: Timestamp,
}

/// Two members who liked each other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    pub id: MatchId,
    /// The lower id of the two.
    pub a: UserId,
    pub b: UserId,
    pub created_at: Timestamp,
    /// The last thing that happened between them (the match itself, later a message).
    pub last_activity: Timestamp,
}

impl Between for Match {
    fn members(&self) -> (UserId, UserId) {
        (self.a, self.b)
    }
}

/// What one swipe of a batch came to.
#[derive(Debug, Clone, PartialEq)]
pub enum SwipeOutcome {
    Liked,
    Passed,
    Matched(MatchId),
    /// The same decision was already made (a replayed batch changes nothing).
    AlreadyDone,
    Refused(SwipeRefusal),
}

/// Why one swipe was refused; the rest of its batch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwipeRefusal {
    Yourself,
    /// Unknown, deleted, or not someone the member may see (paused, suspended, banned,
    /// blocked either way).
    Unavailable,
    /// A like after the daily limit was reached.
    LimitReached,
    /// A pass on someone already matched: unmatch instead.
    AlreadyMatched,
}

impl SwipeRefusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::Yourself => "YOURSELF",
            Self::Unavailable => "UNAVAILABLE",
            Self::LimitReached => "LIMIT_REACHED",
            Self::AlreadyMatched => "ALREADY_MATCHED",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::Yourself => "You cannot like or pass yourself.",
            Self::Unavailable => "This member is not available.",
            Self::LimitReached => {
                "You have used today's likes; more become available as the day goes on."
            }
            Self::AlreadyMatched => "You are matched with this member; unmatch instead.",
        }
    }
}

/// Why a member reports another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReportCategory {
    Spam,
    Harassment,
    FakeProfile,
    InappropriatePhoto,
    Underage,
    Other,
}

impl ReportCategory {
    pub const ALL: [ReportCategory; 6] = [
        Self::Spam,
        Self::Harassment,
        Self::FakeProfile,
        Self::InappropriatePhoto,
        Self::Underage,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Spam => "spam",
            Self::Harassment => "harassment",
            Self::FakeProfile => "fake_profile",
            Self::InappropriatePhoto => "inappropriate_photo",
            Self::Underage => "underage",
            Self::Other => "other",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Spam => "Spam or scam",
            Self::Harassment => "Harassment or hate",
            Self::FakeProfile => "Fake profile",
            Self::InappropriatePhoto => "Inappropriate photo",
            Self::Underage => "Under the minimum age",
            Self::Other => "Something else",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

pub const REPORT_TEXT_MAX: usize = 2000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub id: ReportId,
    pub reporter: UserId,
    pub reported: UserId,
    pub category: ReportCategory,
    pub text: String,
    /// The photo the report is about, if it is about one.
    pub media: Option<MediaId>,
    pub created_at: Timestamp,
    /// `None` while it waits for a moderator.
    pub outcome: Option<ReportOutcome>,
}

/// A message a report points at, as it was when reported (a later edit or deletion does
/// not take the evidence away).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportedMessage {
    pub id: MessageId,
    pub author: UserId,
    pub text: String,
    pub media: Option<MediaId>,
    pub sent_at: Timestamp,
    pub deleted: bool,
}

/// Messages one report may carry.
pub const REPORTED_MESSAGES_MAX: usize = 20;

/// What a moderator decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportOutcome {
    pub decision: ReportDecision,
    pub by: UserId,
    pub at: Timestamp,
    pub note: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReportDecision {
    Dismiss,
    /// The reported member sees a warning with the moderator's note.
    Warn,
    /// The reported photo is removed.
    RemovePhoto,
    Suspend,
    Ban,
}

impl ReportDecision {
    pub const ALL: [ReportDecision; 5] = [
        Self::Dismiss,
        Self::Warn,
        Self::RemovePhoto,
        Self::Suspend,
        Self::Ban,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dismiss => "dismiss",
            Self::Warn => "warn",
            Self::RemovePhoto => "remove_photo",
            Self::Suspend => "suspend",
            Self::Ban => "ban",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// A moderator's warning, shown to the member until they acknowledge it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    pub report: ReportId,
    pub text: String,
    pub at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_ordered_and_names_round_trip() {
        let (x, y) = (UserId::from_u128(9), UserId::from_u128(3));
        assert_eq!(super::super::ids::ordered_pair(x, y), (y, x));
        assert_eq!(super::super::ids::ordered_pair(y, x), (y, x));
        for c in ReportCategory::ALL {
            assert_eq!(ReportCategory::parse(c.as_str()), Some(c));
        }
        for d in ReportDecision::ALL {
            assert_eq!(ReportDecision::parse(d.as_str()), Some(d));
        }
    }
}
