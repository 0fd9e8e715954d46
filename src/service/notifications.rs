//! Notifications: what a member should hear about becomes one notification, written in the
//! same transaction as the change that caused it (a store reactor), so a committed message
//! always has its notification and a failed one never does. The in-app centre lists them,
//! counts the unread and marks them read; reading a conversation marks its notification
//! read on every device. One unread notification per subject: a second message in the same
//! conversation replaces the first's.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::access::{Access, Actor};
use super::error::ServiceError;
use super::member_data::MemberData;
use crate::clock::SharedClock;
use crate::domain::account::User;
use crate::domain::ids::{NotificationId, UserId, uuid_v7};
use crate::domain::notification::{Notification, Priority};
use crate::domain::permission::Permission;
use crate::events::Event;
use crate::store::{Rx, Store, StoreError, Tx};

/// The most of a message a notification quotes.
const QUOTE_CHARS: usize = 140;

#[derive(Clone)]
pub struct Notifications {
    store: Store,
    access: Access,
}

impl Notifications {
    /// Registers the reactor that writes notifications with the changes that cause them.
    pub fn new(store: Store, access: Access, clock: SharedClock) -> Self {
        store.react(move |tx, event| react(tx, event, clock.now()));
        Self { store, access }
    }

    /// The member's notifications, newest first.
    pub fn list(
        &self,
        actor: &Actor,
        before: Option<NotificationId>,
        limit: usize,
    ) -> Result<Vec<Notification>, ServiceError> {
        self.access.require(actor, Permission::View)?;
        let me = actor.id;
        let limit = limit.min(crate::store::MAX_PAGE_ROWS);
        Ok(self
            .store
            .lookup(|rx| rx.notifications().of_member(me, before, limit))?)
    }

    pub fn unread_count(&self, actor: &Actor) -> Result<u32, ServiceError> {
        self.access.require(actor, Permission::View)?;
        let me = actor.id;
        Ok(self
            .store
            .lookup(|rx| rx.notifications().unread_count(me))?)
    }

    /// Marks some of the member's notifications read (`None`: all of them).
    pub async fn mark_read(
        &self,
        actor: &Actor,
        ids: Option<Vec<NotificationId>>,
    ) -> Result<u32, ServiceError> {
        self.access.require(actor, Permission::View)?;
        let me = actor.id;
        Ok(self
            .store
            .write(move |tx| {
                let changed = tx.notifications().mark_read(me, ids.as_deref())?;
                if changed > 0 {
                    tx.emit(Event::NotificationsRead { member: me });
                }
                Ok(changed)
            })
            .await?)
    }
}

/// The notification an event makes, written in the event's own transaction.
fn react(tx: &Tx<'_>, event: &Event, now: Timestamp) -> Result<(), StoreError> {
    // Reading a conversation clears its notification, on every device.
    if let Event::MessageRead {
        conversation,
        member,
        reader,
        ..
    } = event
        && member == reader
    {
        let subject = format!("conversation:{conversation}");
        if tx.notifications().mark_subject_read(*member, &subject)? {
            tx.emit(Event::NotificationsRead { member: *member });
        }
        return Ok(());
    }
    let Some(draft) = draft_for(tx, event)? else {
        return Ok(());
    };
    let notification = Notification {
        id: NotificationId(uuid_v7(now.as_millisecond(), rand::random())),
        member: draft.member,
        event: draft.event.to_string(),
        title: draft.title,
        body: draft.body,
        actor: draft.actor,
        subject: draft.subject,
        priority: draft.priority,
        created_at: now,
        read: false,
    };
    tx.notifications().add(&notification)?;
    tx.emit(Event::NotificationNew {
        member: notification.member,
        notification: notification.id,
        event: notification.event.clone(),
        title: notification.title.clone(),
    });
    Ok(())
}

struct Draft {
    member: UserId,
    event: &'static str,
    title: String,
    body: String,
    actor: Option<UserId>,
    subject: Option<String>,
    priority: Priority,
}

/// How a member is named to others: their display name, or "A member" without a profile.
fn name_of(tx: &Tx<'_>, member: UserId) -> Result<String, StoreError> {
    Ok(tx
        .profiles()
        .get(member)?
        .map_or_else(|| "A member".to_string(), |p| p.display_name))
}

fn draft_for(tx: &Tx<'_>, event: &Event) -> Result<Option<Draft>, StoreError> {
    Ok(Some(match event {
        // Who liked is not said: the community decides who may see that.
        Event::LikeNew { to, .. } => Draft {
            member: *to,
            event: "like:new",
            title: "Someone liked you".into(),
            body: String::new(),
            actor: None,
            subject: Some("likes".into()),
            priority: Priority::Normal,
        },
        Event::MatchNew { id, member, other } => Draft {
            member: *member,
            event: "match:new",
            title: format!("You matched with {}", name_of(tx, *other)?),
            body: String::new(),
            actor: Some(*other),
            subject: Some(format!("match:{id}")),
            priority: Priority::High,
        },
        Event::MessageNew {
            conversation,
            message,
            member,
            from,
        } if member != from => {
            let quote = tx
                .messages()
                .message(*message)?
                .map(|m| m.text.chars().take(QUOTE_CHARS).collect::<String>())
                .unwrap_or_default();
            Draft {
                member: *member,
                event: "message:new",
                title: format!("New message from {}", name_of(tx, *from)?),
                body: quote,
                actor: Some(*from),
                subject: Some(format!("conversation:{conversation}")),
                priority: Priority::Normal,
            }
        }
        Event::StoryViewed {
            story,
            author,
            viewer,
        } => Draft {
            member: *author,
            event: "story:viewed",
            title: format!("{} saw your story", name_of(tx, *viewer)?),
            body: String::new(),
            actor: Some(*viewer),
            subject: Some(format!("story:{story}:{viewer}")),
            priority: Priority::Low,
        },
        Event::MediaDecided {
            media,
            owner,
            approved,
        } => Draft {
            member: *owner,
            event: if *approved {
                "media:approved"
            } else {
                "media:rejected"
            },
            title: if *approved {
                "Your upload was approved".into()
            } else {
                "Your upload was not approved".into()
            },
            body: String::new(),
            actor: None,
            subject: Some(format!("media:{media}")),
            priority: Priority::Normal,
        },
        // Security: always told, whatever the member's preferences will say.
        Event::PasswordChanged { user } => Draft {
            member: *user,
            event: "security:password_changed",
            title: "Your password was changed".into(),
            body:
                "If this was not you, reset your password now: every other session was signed out."
                    .into(),
            actor: None,
            subject: None,
            priority: Priority::Critical,
        },
        _ => return Ok(None),
    }))
}

/// Notifications in a member's data.
pub fn member_data() -> Vec<Box<dyn MemberData>> {
    vec![Box::new(NotificationsPart)]
}

struct NotificationsPart;

impl MemberData for NotificationsPart {
    fn name(&self) -> &'static str {
        "notifications"
    }

    fn export(&self, rx: &Rx, user: &User) -> Result<Value, StoreError> {
        let all = rx.notifications().of_member(user.id, None, usize::MAX)?;
        Ok(all
            .iter()
            .map(|n| json!({"event": n.event, "title": n.title, "body": n.body, "created_at": n.created_at.to_string(), "read": n.read}))
            .collect::<Vec<_>>()
            .into())
    }

    fn erase(&self, tx: &Tx<'_>, user: &User) -> Result<(), StoreError> {
        tx.notifications().erase_member(user.id)
    }
}
