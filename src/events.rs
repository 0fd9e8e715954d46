//! The in-process event bus: what happened, told after it is durable.
//!
//! A write operation records events with [`Tx::emit`](crate::store::Tx::emit); the store's
//! writer hands them to the bus only after the transaction that caused them committed, in
//! commit order, and drops them when it rolled back. Two ways to listen:
//!
//! - [`EventBus::listen`]: a synchronous callback run on the writer thread before the writer
//!   answers the caller, for in-memory copies that must be current the moment a write returns
//!   (the settings cache, the sign-in cache). It must be quick and must not block.
//! - [`EventBus::subscribe`] (one topic) and [`EventBus::subscribe_member`] (everything that
//!   concerns one member): a bounded queue read from a task. A subscriber that falls more than
//!   the queue's length behind is dropped with [`Missed`]; it reloads what it needs from the
//!   store and subscribes again, so a slow reader never makes the bus hold more memory.
//!
//! Anything a member must not miss (messages, notifications) is stored as well; events only
//! say that something changed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::broadcast;

use crate::domain::ids::{
    ConversationId, MatchId, MediaId, MessageId, NotificationId, RecordId, ReportId, StoryId,
    UserId,
};
use crate::domain::settings::SiteSettings;

/// Something that happened, after it was committed.
#[derive(Debug, Clone)]
pub enum Event {
    /// A new account exists.
    MemberJoined { user: UserId },
    /// An account's record (role, standing, verification, tier, password) or its second
    /// factor changed.
    AccountChanged { user: UserId },
    /// An account and its data are gone.
    AccountDeleted { user: UserId },
    /// Sessions of this member ended (sign-out, revocation, password change, suspension).
    SessionsEnded { user: UserId },
    /// An API token of this member was created or revoked.
    TokensChanged { user: UserId },
    /// The site settings changed; this is the committed value.
    SettingsChanged { settings: Arc<SiteSettings> },
    /// An upload finished processing (ready, waiting for approval, or failed).
    MediaProcessed { media: MediaId, owner: UserId },
    /// Staff approved or rejected an upload.
    MediaDecided {
        media: MediaId,
        owner: UserId,
        approved: bool,
    },
    /// An upload was deleted by its owner or removed by staff.
    MediaRemoved { media: MediaId, owner: UserId },
    /// A member's profile was created, changed, paused or resumed.
    ProfileChanged { member: UserId },
    /// A member signed in or used a session (at most every few minutes per session).
    MemberActive { member: UserId, at_ms: i64 },
    /// `from` liked `to` (without a match yet).
    LikeNew { from: UserId, to: UserId },
    /// `member` and `other` matched (published once for each of the two).
    MatchNew {
        id: MatchId,
        member: UserId,
        other: UserId,
    },
    /// A match of `member` ended (unmatch or block; who left is not said).
    MatchEnded { id: MatchId, member: UserId },
    /// `member` and `other` no longer see each other (published for each).
    Blocked { member: UserId, other: UserId },
    /// A member reported another; it waits for the moderators.
    ReportFiled { report: ReportId },
    /// A member shared a story.
    StoryNew { story: StoryId, author: UserId },
    /// A story went: taken down by its author, or expired.
    StoryRemoved { story: StoryId, author: UserId },
    /// Someone looked at a story for the first time (told to its author).
    StoryViewed {
        story: StoryId,
        author: UserId,
        viewer: UserId,
    },
    /// A message was sent (published for each of the two members; `from` wrote it).
    MessageNew {
        conversation: ConversationId,
        message: MessageId,
        member: UserId,
        from: UserId,
    },
    /// `reader` read a conversation up to `upto` (published for each of the two, so the
    /// reader's other devices clear it and the writer sees "seen").
    MessageRead {
        conversation: ConversationId,
        upto: MessageId,
        member: UserId,
        reader: UserId,
    },
    /// A message was edited or deleted by its author (published for each of the two).
    MessageChanged {
        conversation: ConversationId,
        message: MessageId,
        member: UserId,
        deleted: bool,
    },
    /// `member` has a new notification.
    NotificationNew {
        member: UserId,
        notification: NotificationId,
        event: String,
        title: String,
    },
    /// Some of `member`'s notifications were read (on any device).
    NotificationsRead { member: UserId },
    /// A member's password was changed or reset (they are told, whoever did it).
    PasswordChanged { user: UserId },
    /// A new session began for `user` (a sign-in), from this browser and address.
    SignedIn {
        user: UserId,
        user_agent: String,
        ip: String,
    },
    /// Staff approved a sign-up that waited for approval.
    SignUpApproved { user: UserId },
    /// A moderator decided a report `reporter` made.
    ReportDecided { report: ReportId, reporter: UserId },
    /// A record was created, changed, moved to the trash, restored or purged.
    RecordChanged { record: RecordId },
    /// `member` should hear `news` of a record (`by` did it, when someone did).
    RecordNotice {
        record: RecordId,
        member: UserId,
        by: Option<UserId>,
        news: crate::domain::record::RecordNews,
    },
}

/// The families of events a subscriber can follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    Accounts,
    Sessions,
    Settings,
    Media,
    Profiles,
    Matching,
    Moderation,
    Messages,
    Records,
}

impl Topic {
    pub const ALL: [Topic; 9] = [
        Topic::Accounts,
        Topic::Sessions,
        Topic::Settings,
        Topic::Media,
        Topic::Profiles,
        Topic::Matching,
        Topic::Moderation,
        Topic::Messages,
        Topic::Records,
    ];
}

impl Event {
    pub fn topic(&self) -> Topic {
        match self {
            Event::MemberJoined { .. }
            | Event::PasswordChanged { .. }
            | Event::SignUpApproved { .. }
            | Event::AccountChanged { .. }
            | Event::AccountDeleted { .. } => Topic::Accounts,
            Event::SessionsEnded { .. } | Event::TokensChanged { .. } | Event::SignedIn { .. } => {
                Topic::Sessions
            }
            Event::SettingsChanged { .. } => Topic::Settings,
            Event::MediaProcessed { .. }
            | Event::MediaDecided { .. }
            | Event::MediaRemoved { .. } => Topic::Media,
            Event::ProfileChanged { .. } | Event::MemberActive { .. } => Topic::Profiles,
            Event::LikeNew { .. }
            | Event::MatchNew { .. }
            | Event::MatchEnded { .. }
            | Event::Blocked { .. } => Topic::Matching,
            Event::ReportFiled { .. } | Event::ReportDecided { .. } => Topic::Moderation,
            Event::StoryNew { .. } | Event::StoryRemoved { .. } | Event::StoryViewed { .. } => {
                Topic::Profiles
            }
            Event::MessageNew { .. }
            | Event::MessageRead { .. }
            | Event::MessageChanged { .. }
            | Event::NotificationNew { .. }
            | Event::NotificationsRead { .. } => Topic::Messages,
            Event::RecordChanged { .. } | Event::RecordNotice { .. } => Topic::Records,
        }
    }

    /// The member the event concerns, if it concerns one.
    pub fn member(&self) -> Option<UserId> {
        match self {
            Event::MemberJoined { user }
            | Event::PasswordChanged { user }
            | Event::SignUpApproved { user }
            | Event::AccountChanged { user }
            | Event::AccountDeleted { user }
            | Event::SessionsEnded { user }
            | Event::SignedIn { user, .. }
            | Event::TokensChanged { user } => Some(*user),
            Event::ReportDecided { reporter, .. } => Some(*reporter),
            Event::MediaProcessed { owner, .. }
            | Event::MediaDecided { owner, .. }
            | Event::MediaRemoved { owner, .. } => Some(*owner),
            Event::ProfileChanged { member }
            | Event::MemberActive { member, .. }
            | Event::MatchNew { member, .. }
            | Event::MatchEnded { member, .. }
            | Event::Blocked { member, .. }
            | Event::MessageNew { member, .. }
            | Event::MessageRead { member, .. }
            | Event::MessageChanged { member, .. }
            | Event::NotificationNew { member, .. }
            | Event::NotificationsRead { member }
            | Event::RecordNotice { member, .. } => Some(*member),
            Event::LikeNew { to, .. } => Some(*to),
            Event::StoryNew { author, .. }
            | Event::StoryRemoved { author, .. }
            | Event::StoryViewed { author, .. } => Some(*author),
            Event::SettingsChanged { .. }
            | Event::ReportFiled { .. }
            | Event::RecordChanged { .. } => None,
        }
    }
}

/// Events a topic subscriber may fall behind before it is dropped.
const TOPIC_QUEUE: usize = 1024;
/// Events a member subscriber may fall behind before it is dropped.
const MEMBER_QUEUE: usize = 64;

type Listener = Arc<dyn Fn(&Event) + Send + Sync>;

/// The bus. Clone freely; clones share the subscribers.
#[derive(Clone)]
pub struct EventBus {
    inner: Arc<Inner>,
}

struct Inner {
    topics: HashMap<Topic, broadcast::Sender<Arc<Event>>>,
    members: Mutex<HashMap<UserId, broadcast::Sender<Arc<Event>>>>,
    listeners: RwLock<Vec<Listener>>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    pub fn new() -> Self {
        let topics = Topic::ALL
            .into_iter()
            .map(|t| (t, broadcast::channel(TOPIC_QUEUE).0))
            .collect();
        Self {
            inner: Arc::new(Inner {
                topics,
                members: Mutex::new(HashMap::new()),
                listeners: RwLock::new(Vec::new()),
            }),
        }
    }

    /// Runs `listener` for every event, on the writer thread, before the write that caused it
    /// returns to its caller.
    pub fn listen(&self, listener: impl Fn(&Event) + Send + Sync + 'static) {
        if let Ok(mut listeners) = self.inner.listeners.write() {
            listeners.push(Arc::new(listener));
        }
    }

    /// Follows one topic.
    pub fn subscribe(&self, topic: Topic) -> Subscription {
        let receiver = self
            .inner
            .topics
            .get(&topic)
            .map(broadcast::Sender::subscribe);
        Subscription { receiver }
    }

    /// Follows everything that concerns `member`.
    pub fn subscribe_member(&self, member: UserId) -> Subscription {
        let Ok(mut members) = self.inner.members.lock() else {
            return Subscription { receiver: None };
        };
        let sender = members
            .entry(member)
            .or_insert_with(|| broadcast::channel(MEMBER_QUEUE).0);
        Subscription {
            receiver: Some(sender.subscribe()),
        }
    }

    /// Hands committed events to listeners and subscribers, in order. Called by the store's
    /// writer after a commit; never blocks.
    pub fn publish(&self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let listeners = self
            .inner
            .listeners
            .read()
            .map(|l| l.clone())
            .unwrap_or_default();
        for event in events {
            for listener in &listeners {
                listener(&event);
            }
            let event = Arc::new(event);
            if let Some(sender) = self.inner.topics.get(&event.topic()) {
                // No subscriber is not an error: nobody is interested right now.
                let _ = sender.send(event.clone());
            }
            if let Some(member) = event.member()
                && let Ok(mut members) = self.inner.members.lock()
                && let Some(sender) = members.get(&member)
            {
                if sender.receiver_count() == 0 {
                    members.remove(&member);
                } else {
                    let _ = sender.send(event);
                }
            }
        }
    }

    /// How many members have at least one subscriber (for tests and metrics).
    pub fn member_channels(&self) -> usize {
        self.inner.members.lock().map_or(0, |mut members| {
            members.retain(|_, s| s.receiver_count() > 0);
            members.len()
        })
    }
}

/// The subscriber fell behind and was dropped: reload from the store, then subscribe again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the subscriber fell behind and was dropped; resynchronise from the store")]
pub struct Missed;

/// A stream of events for one subscriber.
pub struct Subscription {
    receiver: Option<broadcast::Receiver<Arc<Event>>>,
}

impl Subscription {
    /// The next event; `Err(Missed)` once the subscriber has fallen behind (the subscription
    /// is over then). Waits forever if the bus is gone and nothing more can come.
    pub async fn next(&mut self) -> Result<Arc<Event>, Missed> {
        let Some(receiver) = self.receiver.as_mut() else {
            return Err(Missed);
        };
        match receiver.recv().await {
            Ok(event) => Ok(event),
            Err(broadcast::error::RecvError::Lagged(_)) => {
                self.receiver = None;
                Err(Missed)
            }
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }

    /// The next event if one is waiting, without waiting.
    pub fn try_next(&mut self) -> Option<Result<Arc<Event>, Missed>> {
        let receiver = self.receiver.as_mut()?;
        match receiver.try_recv() {
            Ok(event) => Some(Ok(event)),
            Err(broadcast::error::TryRecvError::Lagged(_)) => {
                self.receiver = None;
                Some(Err(Missed))
            }
            Err(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(n: u128) -> Event {
        Event::MemberJoined {
            user: UserId::from_u128(n),
        }
    }

    #[tokio::test]
    async fn topics_and_members_get_their_events_in_order() {
        let bus = EventBus::new();
        let mut accounts = bus.subscribe(Topic::Accounts);
        let mut media = bus.subscribe(Topic::Media);
        let mut one = bus.subscribe_member(UserId::from_u128(1));
        bus.publish(vec![joined(1), joined(2)]);
        for n in [1, 2] {
            let e = accounts.next().await.unwrap();
            assert_eq!(e.member(), Some(UserId::from_u128(n)));
        }
        assert_eq!(
            one.next().await.unwrap().member(),
            Some(UserId::from_u128(1))
        );
        assert!(
            one.try_next().is_none(),
            "member 2's event is not for member 1"
        );
        assert!(media.try_next().is_none());
    }

    #[test]
    fn a_slow_subscriber_is_dropped_and_memory_stays_bounded() {
        let bus = EventBus::new();
        let mut slow = bus.subscribe_member(UserId::from_u128(7));
        bus.publish((0..MEMBER_QUEUE as u128 + 10).map(|_| joined(7)).collect());
        assert!(matches!(slow.try_next(), Some(Err(Missed))));
        assert!(slow.try_next().is_none(), "the subscription is over");
        drop(slow);
        bus.publish(vec![joined(7)]);
        assert_eq!(
            bus.member_channels(),
            0,
            "unused member channels are released"
        );
    }

    #[test]
    fn listeners_run_for_every_event() {
        let bus = EventBus::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        bus.listen(move |e| log.lock().unwrap().push(e.member()));
        bus.publish(vec![joined(1), joined(2)]);
        assert_eq!(
            *seen.lock().unwrap(),
            vec![Some(UserId::from_u128(1)), Some(UserId::from_u128(2))]
        );
    }
}
