//! Identifiers. Time-ordered 128-bit ids (UUIDv7) so keys sort by creation and never reveal a
//! count; the newtypes keep a user id from being passed where a job id is expected.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn as_u128(self) -> u128 {
                self.0.as_u128()
            }
            pub fn from_u128(v: u128) -> Self {
                Self(Uuid::from_u128(v))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// A member account.
    UserId
);
id_type!(
    /// A durable background job.
    JobId
);
id_type!(
    /// An invitation.
    InviteId
);
id_type!(
    /// A registered passkey.
    PasskeyId
);
id_type!(
    /// An uploaded photo or video.
    MediaId
);
id_type!(
    /// A match between two members (time-ordered: newer matches sort later).
    MatchId
);
id_type!(
    /// A member's report of another member, for the moderators.
    ReportId
);
id_type!(
    /// A story: a photo with a caption, for 24 hours.
    StoryId
);
id_type!(
    /// A record: a numbered letter or document.
    RecordId
);
id_type!(
    /// A comment on a record (time-ordered: later comments sort later).
    CommentId
);
id_type!(
    /// A file attached to a record (time-ordered: later files sort later).
    AttachmentId
);
id_type!(
    /// A conversation between two members.
    ConversationId
);
id_type!(
    /// A message (time-ordered: later messages of a conversation sort later).
    MessageId
);
id_type!(
    /// A notification (time-ordered).
    NotificationId
);

id_type!(
    /// A device a member receives Web Push notifications on.
    PushSubscriptionId
);

/// Two members, the lower id first: how a match or a conversation between them is keyed.
pub fn ordered_pair(x: UserId, y: UserId) -> (UserId, UserId) {
    if x <= y { (x, y) } else { (y, x) }
}

/// Something between two members, kept as an [`ordered_pair`] (a match, a conversation).
pub trait Between {
    /// The two members, the lower id first.
    fn members(&self) -> (UserId, UserId);

    fn other(&self, me: UserId) -> UserId {
        let (a, b) = self.members();
        if a == me { b } else { a }
    }

    fn involves(&self, member: UserId) -> bool {
        let (a, b) = self.members();
        a == member || b == member
    }
}

/// Builds a UUIDv7 from a millisecond timestamp and 10 random bytes supplied by the caller,
/// so that the domain stays free of clocks and randomness sources.
pub fn uuid_v7(unix_millis: i64, random: [u8; 10]) -> Uuid {
    let millis = u64::try_from(unix_millis).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}
