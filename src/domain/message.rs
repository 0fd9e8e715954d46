//! Messages between two members: a conversation per pair, text with an optional photo, edits
//! within fifteen minutes, deletions that leave a trace for both. The rules on values live
//! here; who may write to whom is the service's.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::ids::{Between, ConversationId, MediaId, MessageId, UserId};
use super::text::{plain_text_problem, tidy_lines};

/// The longest message, in characters.
pub const TEXT_MAX: usize = 4000;
/// How long after sending a message its author may still edit it.
pub const EDIT_WINDOW: SignedDuration = SignedDuration::from_mins(15);

/// Two members writing to each other. At most one per pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: ConversationId,
    /// The lower id of the two.
    pub a: UserId,
    pub b: UserId,
    pub started_by: UserId,
    pub created_at: Timestamp,
    /// The newest message (`None` until the first).
    pub last_message: Option<MessageId>,
    pub last_activity: Timestamp,
}

impl Between for Conversation {
    fn members(&self) -> (UserId, UserId) {
        (self.a, self.b)
    }
}

/// Where a member stands in a conversation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadState {
    /// The newest message they have read (`None`: none yet).
    pub last_read: Option<MessageId>,
    pub unread: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Time-ordered, and later than every earlier message of its conversation.
    pub id: MessageId,
    pub conversation: ConversationId,
    pub author: UserId,
    /// Plain text with line breaks; empty when deleted or when the message is a photo alone.
    pub text: String,
    pub media: Option<MediaId>,
    pub sent_at: Timestamp,
    pub edited_at: Option<Timestamp>,
    /// Deleted by its author: both see "message deleted", nothing of what it said.
    pub deleted: bool,
}

impl Message {
    /// Whether its author may still edit it at `now`.
    pub fn editable_at(&self, now: Timestamp) -> bool {
        !self.deleted && now < self.sent_at + EDIT_WINDOW
    }
}

/// A message's text as it is kept (line endings as `\n`, surrounding blank lines gone), or
/// why it cannot be sent, phrased for its writer. A photo may go without text.
pub fn check_text(text: &str, has_media: bool) -> Result<String, &'static str> {
    let text = tidy_lines(text);
    if text.is_empty() && !has_media {
        return Err("Write something, or add a photo.");
    }
    if text.chars().count() > TEXT_MAX {
        return Err("Keep a message to 4,000 characters; send the rest in another.");
    }
    if let Some(why) = plain_text_problem(&text, true) {
        return Err(why);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_tidied_and_checked() {
        assert_eq!(
            check_text("  hi\r\nthere  \n\n\n", false),
            Ok("hi\nthere".into())
        );
        assert!(check_text("   ", false).is_err());
        assert_eq!(check_text("", true), Ok(String::new()));
        assert!(check_text(&"x".repeat(TEXT_MAX + 1), false).is_err());
        assert!(check_text(&"é".repeat(TEXT_MAX), false).is_ok());
        assert!(check_text("evil\u{202E}txt", false).is_err());
        assert!(check_text("bell\u{7}", false).is_err());
    }

    #[test]
    fn edits_close_after_fifteen_minutes() {
        let sent: Timestamp = "2026-06-01T12:00:00Z".parse().unwrap();
        let mut m = Message {
            id: MessageId::from_u128(1),
            conversation: ConversationId::from_u128(1),
            author: UserId::from_u128(1),
            text: "hi".into(),
            media: None,
            sent_at: sent,
            edited_at: None,
            deleted: false,
        };
        assert!(m.editable_at(sent + SignedDuration::from_mins(14)));
        assert!(!m.editable_at(sent + EDIT_WINDOW));
        m.deleted = true;
        assert!(!m.editable_at(sent));
    }
}
