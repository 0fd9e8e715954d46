//! What a member's open tabs hear as it happens. The server decides: each committed event
//! that concerns a member becomes a frame for them (`message:new`, `like:new`, …) with an id,
//! and clients name no channels. The last frames are kept in a bounded buffer, so a tab that
//! reconnects with the last id it saw gets what it missed; when that id is older than the
//! buffer, it is told to fetch again (`resync`). Connections are bounded per member and in
//! all, and each connection's queue is bounded: a client that falls behind is dropped and
//! resumes.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Value, json};
use tokio::sync::broadcast;

use jiff::Timestamp;

use super::error::{ErrorCode, Refusal, ServiceError};
use crate::clock::SharedClock;
use crate::domain::ids::UserId;
use crate::domain::notification::PRESENT_FOR;
use crate::events::{Event, EventBus};

/// Open streams one member may have (one per browser tab).
pub const MAX_PER_MEMBER: usize = 10;
/// Frames kept for tabs that reconnect.
const RECENT: usize = 8192;
/// Frames one connection may fall behind before it is dropped.
const QUEUE: usize = 256;

/// One event as a member's client receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Increasing; a reconnecting client sends the last one it saw.
    pub id: u64,
    /// `message:new`, `message:read`, …
    pub kind: &'static str,
    pub data: Value,
}

/// What a connection hears.
#[derive(Debug, Clone)]
pub enum Heard {
    Frame(Arc<Frame>),
    /// The member's sessions, tokens or account changed: check the credential again, and
    /// close if it no longer holds.
    Recheck,
}

/// Where a reconnecting client resumes.
#[derive(Debug, PartialEq)]
pub enum Resume {
    /// The frames after its last id (possibly none).
    Frames(Vec<Arc<Frame>>),
    /// Its last id is older than what is kept: it should fetch again.
    TooOld,
}

#[derive(Clone)]
pub struct Realtime {
    inner: Arc<Inner>,
}

struct Inner {
    clock: SharedClock,
    /// When members' last stream closed, for as long as they still count as present.
    left: Mutex<HashMap<UserId, Timestamp>>,
    next_id: AtomicU64,
    recent: Mutex<VecDeque<(UserId, Arc<Frame>)>>,
    members: Mutex<HashMap<UserId, broadcast::Sender<Heard>>>,
    connections: Mutex<Connections>,
    max_total: usize,
}

#[derive(Default)]
struct Connections {
    per_member: HashMap<UserId, usize>,
    total: usize,
}

impl Realtime {
    pub fn new(events: &EventBus, clock: SharedClock, max_total: usize) -> Self {
        // Ids start at the start time in milliseconds × 1000, so ids of a restarted server
        // are later than any it gave before.
        let first_id = u64::try_from(clock.now().as_millisecond())
            .unwrap_or(0)
            .saturating_mul(1000);
        let this = Self {
            inner: Arc::new(Inner {
                clock,
                left: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(first_id.max(1)),
                recent: Mutex::new(VecDeque::with_capacity(RECENT)),
                members: Mutex::new(HashMap::new()),
                connections: Mutex::new(Connections::default()),
                max_total,
            }),
        };
        let inner = Arc::clone(&this.inner);
        events.listen(move |event| inner.hear(event));
        this
    }

    /// Opens a stream for `member`: refused past the limits, with what the client should do.
    pub fn connect(&self, member: UserId) -> Result<Connection, ServiceError> {
        {
            let mut c = self
                .inner
                .connections
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if c.total >= self.inner.max_total {
                return Err(ServiceError::Unavailable(
                    Refusal::new(
                        ErrorCode::Busy,
                        "The server has as many live connections as it takes; try again shortly.",
                    ),
                    30,
                ));
            }
            let mine = c.per_member.entry(member).or_default();
            if *mine >= MAX_PER_MEMBER {
                return Err(ServiceError::conflict(
                    ErrorCode::TooManyStreams,
                    format!("At most {MAX_PER_MEMBER} live connections per member: close a tab."),
                ));
            }
            *mine += 1;
            c.total += 1;
        }
        let receiver = {
            let mut members = self
                .inner
                .members
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            members
                .entry(member)
                .or_insert_with(|| broadcast::channel(QUEUE).0)
                .subscribe()
        };
        Ok(Connection {
            realtime: self.clone(),
            member,
            receiver,
        })
    }

    /// The frames for `member` after `last_id`.
    pub fn resume(&self, member: UserId, last_id: u64) -> Resume {
        let recent = self
            .inner
            .recent
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let oldest = recent.front().map(|(_, f)| f.id);
        let newest = self.inner.next_id.load(Ordering::SeqCst);
        // Ids from before the oldest kept frame (or from the future) cannot be resumed.
        if oldest.is_some_and(|o| last_id + 1 < o) || last_id >= newest {
            return Resume::TooOld;
        }
        if oldest.is_none() && last_id + 1 < newest {
            return Resume::TooOld;
        }
        Resume::Frames(
            recent
                .iter()
                .filter(|(m, f)| *m == member && f.id > last_id)
                .map(|(_, f)| Arc::clone(f))
                .collect(),
        )
    }

    /// The id the next frame will have; a client starting fresh resumes after the one before.
    pub fn next_id(&self) -> u64 {
        self.inner.next_id.load(Ordering::SeqCst)
    }

    /// Sends `member` a frame that is not kept for resuming (typing: stale a moment later).
    pub fn tell(&self, member: UserId, kind: &'static str, data: Value) {
        let frame = Arc::new(Frame {
            id: self.inner.next_id.fetch_add(1, Ordering::SeqCst),
            kind,
            data,
        });
        let members = self
            .inner
            .members
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = members.get(&member) {
            let _ = sender.send(Heard::Frame(frame));
        }
    }

    /// The members with a stream open now.
    pub fn online_members(&self) -> Vec<UserId> {
        self.inner
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .per_member
            .keys()
            .copied()
            .collect()
    }

    /// How many streams `member` has open now (0: offline).
    pub fn streams_of(&self, member: UserId) -> usize {
        self.inner
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .per_member
            .get(&member)
            .copied()
            .unwrap_or(0)
    }

    /// Until when `member` counts as using Hearth: [`PRESENT_FOR`] after their last stream
    /// closed, or from now while one is open; `None` when they are away.
    pub fn present_until(&self, member: UserId) -> Option<Timestamp> {
        let now = self.inner.clock.now();
        if self.streams_of(member) > 0 {
            return Some(now + PRESENT_FOR);
        }
        let left = self
            .inner
            .left
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&member)
            .copied()?;
        Some(left + PRESENT_FOR).filter(|until| *until > now)
    }

    /// Live connections now (for metrics and tests).
    pub fn connections(&self) -> usize {
        self.inner
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }
}

impl Inner {
    /// Remembers when `member` went away; those gone longer than [`PRESENT_FOR`] are
    /// forgotten whenever the map has doubled, so it stays the size of the last minutes.
    fn note_left(&self, member: UserId) {
        let now = self.clock.now();
        let mut left = self.left.lock().unwrap_or_else(PoisonError::into_inner);
        left.insert(member, now);
        if left.len() >= 1024 && left.len().is_power_of_two() {
            left.retain(|_, at| *at + PRESENT_FOR > now);
        }
    }

    /// Runs on the writer's thread for every committed event: quick, never blocking.
    fn hear(&self, event: &Event) {
        let Some(member) = event.member() else {
            return;
        };
        let heard = match frame_of(event) {
            Some((kind, data)) => {
                let frame = Arc::new(Frame {
                    id: self.next_id.fetch_add(1, Ordering::SeqCst),
                    kind,
                    data,
                });
                let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
                if recent.len() == RECENT {
                    recent.pop_front();
                }
                recent.push_back((member, Arc::clone(&frame)));
                Heard::Frame(frame)
            }
            None if rechecks(event) => Heard::Recheck,
            None => return,
        };
        let mut members = self.members.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = members.get(&member) {
            if sender.receiver_count() == 0 {
                members.remove(&member);
            } else {
                let _ = sender.send(heard);
            }
        }
    }
}

/// The frame an event is for the member it concerns, if it is one clients hear.
fn frame_of(event: &Event) -> Option<(&'static str, Value)> {
    Some(match event {
        Event::MessageNew {
            conversation,
            message,
            from,
            ..
        } => (
            "message:new",
            json!({"conversationId": conversation.to_string(), "messageId": message.to_string(), "fromId": from.to_string()}),
        ),
        Event::MessageRead {
            conversation,
            upto,
            reader,
            ..
        } => (
            "message:read",
            json!({"conversationId": conversation.to_string(), "upTo": upto.to_string(), "readerId": reader.to_string()}),
        ),
        Event::MessageChanged {
            conversation,
            message,
            deleted,
            ..
        } => (
            if *deleted {
                "message:deleted"
            } else {
                "message:edited"
            },
            json!({"conversationId": conversation.to_string(), "messageId": message.to_string()}),
        ),
        Event::LikeNew { from, .. } => ("like:new", json!({"fromId": from.to_string()})),
        Event::MatchNew { id, other, .. } => (
            "match:new",
            json!({"matchId": id.to_string(), "memberId": other.to_string()}),
        ),
        Event::MatchEnded { id, .. } => ("match:ended", json!({"matchId": id.to_string()})),
        Event::StoryViewed { story, viewer, .. } => (
            "story:viewed",
            json!({"storyId": story.to_string(), "viewerId": viewer.to_string()}),
        ),
        Event::NotificationNew {
            notification,
            event,
            title,
            ..
        } => (
            "notification:new",
            json!({"id": notification.to_string(), "event": event, "title": title}),
        ),
        Event::NotificationsRead { .. } => ("notification:read", json!({})),
        _ => return None,
    })
}

/// Events after which a connection checks its credential again.
fn rechecks(event: &Event) -> bool {
    matches!(
        event,
        Event::SessionsEnded { .. }
            | Event::TokensChanged { .. }
            | Event::AccountChanged { .. }
            | Event::AccountDeleted { .. }
    )
}

/// One open stream; the counts go down when it is dropped.
pub struct Connection {
    realtime: Realtime,
    member: UserId,
    pub receiver: broadcast::Receiver<Heard>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        let mut c = self
            .realtime
            .inner
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_member.get_mut(&self.member) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.per_member.remove(&self.member);
                self.realtime.inner.note_left(self.member);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::domain::ids::{ConversationId, MessageId};

    fn clock() -> Arc<ManualClock> {
        Arc::new(ManualClock::new("2026-06-01T12:00:00Z".parse().unwrap()))
    }

    fn message_for(member: UserId, n: u128) -> Event {
        Event::MessageNew {
            conversation: ConversationId::from_u128(1),
            message: MessageId::from_u128(n),
            member,
            from: UserId::from_u128(99),
        }
    }

    #[test]
    fn frames_reach_their_member_and_can_be_resumed() {
        let bus = EventBus::new();
        let realtime = Realtime::new(&bus, clock(), 100);
        let (ann, bob) = (UserId::from_u128(1), UserId::from_u128(2));
        let mut anns = realtime.connect(ann).unwrap();
        let start = realtime.next_id();
        bus.publish(vec![
            message_for(ann, 1),
            message_for(bob, 2),
            message_for(ann, 3),
        ]);
        let mut got = Vec::new();
        while let Ok(Heard::Frame(f)) = anns.receiver.try_recv() {
            got.push(f.data["messageId"].as_str().unwrap().to_string());
        }
        assert_eq!(
            got,
            [
                MessageId::from_u128(1).to_string(),
                MessageId::from_u128(3).to_string()
            ]
        );
        // Resuming after the first frame gives the second of hers, not Bob's.
        let Resume::Frames(missed) = realtime.resume(ann, start) else {
            panic!("resumable")
        };
        assert_eq!(missed.len(), 1);
        assert_eq!(missed[0].id, start + 2);
        assert_eq!(realtime.resume(ann, start + 2), Resume::Frames(vec![]));
        // An id from before the buffer, or never given, cannot be resumed.
        assert_eq!(realtime.resume(ann, 5), Resume::TooOld);
        assert_eq!(realtime.resume(ann, start + 100), Resume::TooOld);
    }

    #[test]
    fn connections_are_bounded_per_member_and_in_all() {
        let bus = EventBus::new();
        let realtime = Realtime::new(&bus, clock(), 12);
        let ann = UserId::from_u128(1);
        let mut open: Vec<Connection> = (0..MAX_PER_MEMBER)
            .map(|_| realtime.connect(ann).unwrap())
            .collect();
        assert!(realtime.connect(ann).is_err(), "one tab too many");
        open.pop();
        open.push(realtime.connect(ann).expect("a closed tab frees its place"));
        let bob = UserId::from_u128(2);
        let _b1 = realtime.connect(bob).unwrap();
        let _b2 = realtime.connect(bob).unwrap();
        assert!(
            realtime.connect(UserId::from_u128(3)).is_err(),
            "the server's total"
        );
        drop(open);
        assert_eq!(realtime.connections(), 2);
    }

    #[test]
    fn credential_changes_ask_connections_to_check() {
        let bus = EventBus::new();
        let realtime = Realtime::new(&bus, clock(), 10);
        let ann = UserId::from_u128(1);
        let mut conn = realtime.connect(ann).unwrap();
        bus.publish(vec![Event::SessionsEnded { user: ann }]);
        assert!(matches!(conn.receiver.try_recv(), Ok(Heard::Recheck)));
    }

    #[test]
    fn members_stay_present_for_two_minutes_after_their_last_tab_closes() {
        let bus = EventBus::new();
        let clock = clock();
        let realtime = Realtime::new(&bus, clock.clone(), 10);
        let ann = UserId::from_u128(1);
        assert_eq!(realtime.present_until(ann), None);
        let tab = realtime.connect(ann).unwrap();
        assert!(realtime.present_until(ann).is_some());
        drop(tab);
        let left = clock.now();
        assert_eq!(realtime.present_until(ann), Some(left + PRESENT_FOR));
        clock.advance(std::time::Duration::from_secs(121));
        assert_eq!(realtime.present_until(ann), None);
    }
}
