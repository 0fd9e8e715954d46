//! Notifications: what a member should hear about becomes one notification, written in the
//! same transaction as the change that caused it (a store reactor), so a committed message
//! always has its notification and a failed one never does. The in-app centre lists them,
//! counts the unread and marks them read; reading a conversation marks its notification
//! read on every device. One unread notification per subject: a second message in the same
//! conversation joins the first's ("2 new messages from …").
//!
//! Beyond the centre, [`delivery`] tells the member by email ([`email`]), on their devices
//! ([`push`]) and at their webhook ([`webhook`]) as their [`preferences`] say: a durable job
//! per notification, written with it, that waits out quiet hours and the member's own
//! presence and checks again at send time that the member may still hear of it.

pub mod delivery;
pub mod email;
pub mod preferences;
pub mod push;
pub mod webhook;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::access::{Access, Actor};
use super::error::ServiceError;
use super::member_data::MemberData;
use super::settings::Settings;
use crate::clock::SharedClock;
use crate::domain::account::User;
use crate::domain::ids::{NotificationId, UserId, uuid_v7};
use crate::domain::matching::ReportDecision;
use crate::domain::notification::{Notification, Priority};
use crate::domain::permission::Permission;
use crate::domain::record::RecordNews;
use crate::events::Event;
use crate::jobs::JobSink;
use crate::store::{Rx, Store, StoreError, Tx};

/// The most of a message a notification quotes.
const QUOTE_CHARS: usize = 140;

#[derive(Clone)]
pub struct Notifications {
    store: Store,
    access: Access,
}

impl Notifications {
    /// Registers the reactor that writes notifications (and their deliveries, through
    /// `queue`) with the changes that cause them.
    pub fn new(
        store: Store,
        access: Access,
        clock: SharedClock,
        queue: JobSink,
        settings: &Settings,
    ) -> Self {
        // A watch on the settings, not `Settings` (which holds the store that holds this).
        let settings = settings.watch();
        store.react(move |tx, event| {
            let mail_on = settings.borrow().mail.is_configured();
            react(tx, event, clock.now(), &queue, mail_on)
        });
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
fn react(
    tx: &Tx<'_>,
    event: &Event,
    now: Timestamp,
    queue: &JobSink,
    mail_on: bool,
) -> Result<(), StoreError> {
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
    let Some(draft) = draft_for(tx, event, now)? else {
        return Ok(());
    };
    // A repeat about an unread subject joins it: one notification, counted.
    let earlier = match &draft.subject {
        Some(subject) => tx
            .notifications()
            .unread_about(draft.member, subject)?
            .filter(|n| n.event == draft.event),
        None => None,
    };
    let count = earlier.as_ref().map_or(1, |n| n.count.saturating_add(1));
    let title = match (&draft.many, count) {
        (Some(many), 2..) => many(count),
        _ => draft.title,
    };
    let notification = Notification {
        id: NotificationId(uuid_v7(now.as_millisecond(), rand::random())),
        member: draft.member,
        event: draft.event.to_string(),
        title,
        body: draft.body,
        actor: draft.actor,
        subject: draft.subject,
        priority: draft.priority,
        created_at: now,
        read: false,
        count,
        told_at: earlier.and_then(|n| n.told_at),
    };
    tx.notifications().add(&notification)?;
    delivery::schedule(tx, queue, &notification, mail_on)?;
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
    /// The title when it stands for `count` events of its subject.
    many: Option<Box<dyn Fn(u32) -> String>>,
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

fn draft_for(tx: &Tx<'_>, event: &Event, now: Timestamp) -> Result<Option<Draft>, StoreError> {
    Ok(Some(match event {
        // Who liked is not said: the community decides who may see that.
        Event::LikeNew { to, .. } => Draft {
            member: *to,
            event: "like:new",
            title: "Someone liked you".into(),
            many: Some(Box::new(|n| format!("{n} people liked you"))),
            body: String::new(),
            actor: None,
            subject: Some("likes".into()),
            priority: Priority::Normal,
        },
        Event::MatchNew { id, member, other } => Draft {
            member: *member,
            event: "match:new",
            many: None,
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
            let name = name_of(tx, *from)?;
            Draft {
                member: *member,
                event: "message:new",
                title: format!("New message from {name}"),
                many: Some(Box::new(move |n| format!("{n} new messages from {name}"))),
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
            many: None,
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
            many: None,
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
            many: None,
            title: "Your password was changed".into(),
            body:
                "If this was not you, reset your password now: every other session was signed out."
                    .into(),
            actor: None,
            subject: None,
            priority: Priority::Critical,
        },
        Event::SignedIn {
            user,
            user_agent,
            ip,
        } => {
            if !is_new_device(tx, *user, user_agent, now)? {
                return Ok(None);
            }
            Draft {
                member: *user,
                event: "security:new_sign_in",
                many: None,
                title: "New sign-in to your account".into(),
                body: format!(
                    "From {} at {ip}. If this was not you, change your password and sign out everywhere.",
                    device_name(user_agent)
                ),
                actor: None,
                subject: None,
                priority: Priority::Critical,
            }
        }
        Event::SignUpApproved { user } => Draft {
            member: *user,
            event: "account:approved",
            many: None,
            title: "Welcome: your account was approved".into(),
            body: "Write your profile so others can find you.".into(),
            actor: None,
            subject: None,
            priority: Priority::Normal,
        },
        Event::ReportDecided { report, reporter } => {
            let acted = tx
                .reports()
                .get(*report)?
                .and_then(|r| r.outcome)
                .is_some_and(|o| o.decision != ReportDecision::Dismiss);
            Draft {
                member: *reporter,
                event: "report:decided",
                many: None,
                title: "The moderators looked at your report".into(),
                body: if acted {
                    "Thank you: they took action.".into()
                } else {
                    "Thank you: they found no rule broken this time.".into()
                },
                actor: None,
                subject: Some(format!("report:{report}")),
                priority: Priority::Normal,
            }
        }
        Event::RecordNotice {
            record,
            member,
            by,
            news,
        } => {
            let Some(r) = tx.records().get(*record)? else {
                return Ok(None);
            };
            record_draft(tx, &r, *member, *by, news)?
        }
        _ => return Ok(None),
    }))
}

/// What a member hears of a record: its number and title, and what happened. Repeats about
/// one record join ("3 updates on IN-2026-0001").
fn record_draft(
    tx: &Tx<'_>,
    r: &crate::domain::record::Record,
    member: UserId,
    by: Option<UserId>,
    news: &RecordNews,
) -> Result<Draft, StoreError> {
    let who = match by {
        Some(by) => tx
            .users()
            .get(by)?
            .map_or_else(|| "Someone".to_string(), |u| u.username),
        None => String::new(),
    };
    let comment_text = |c: &crate::domain::ids::CommentId| -> Result<String, StoreError> {
        Ok(tx
            .records()
            .comment(r.id, *c)?
            .map(|c| c.text.chars().take(QUOTE_CHARS).collect())
            .unwrap_or_default())
    };
    let number = r.number.clone();
    let (event, title, body, priority) = match news {
        RecordNews::Commented { comment } => (
            "record:update",
            format!("{who} commented on {number}"),
            comment_text(comment)?,
            Priority::Normal,
        ),
        RecordNews::Mentioned { comment } => (
            "record:mention",
            format!("{who} mentioned you on {number}"),
            comment_text(comment)?,
            Priority::High,
        ),
        RecordNews::Moved { from, to } => (
            "record:update",
            format!("{number} moved to {to}"),
            format!("{who} moved it from {from} to {to}."),
            Priority::Normal,
        ),
        RecordNews::Assigned => (
            "record:update",
            format!("{who} assigned {number} to you"),
            r.title.clone(),
            Priority::High,
        ),
        RecordNews::DueSoon => (
            "record:due",
            format!(
                "{number} is due {}",
                r.due.map(|d| d.to_string()).unwrap_or_default()
            ),
            r.title.clone(),
            Priority::High,
        ),
        RecordNews::Overdue => (
            "record:due",
            format!("{number} is overdue"),
            r.title.clone(),
            Priority::High,
        ),
    };
    let many_number = number.clone();
    Ok(Draft {
        member,
        event,
        title,
        many: Some(Box::new(move |n| format!("{n} updates on {many_number}"))),
        body,
        actor: by,
        // Mentions and due dates are their own subjects, so an update does not replace them.
        subject: Some(match event {
            "record:update" => format!("record:{}", r.id),
            other => format!("record:{}:{}", r.id, other.trim_start_matches("record:")),
        }),
        priority,
    })
}

/// Whether a sign-in comes from a browser the member has not signed in with before (the
/// first sign-in of an account tells nothing). Browsers are told apart by their user agent.
fn is_new_device(
    tx: &Tx<'_>,
    user: UserId,
    user_agent: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(user_agent.as_bytes());
    let mut fingerprint = [0u8; 8];
    fingerprint.copy_from_slice(&digest[..8]);
    tx.notifications()
        .note_device(user, u64::from_be_bytes(fingerprint), now.as_millisecond())
}

/// A short name for a browser from its user agent ("Firefox on Linux").
pub fn device_name(user_agent: &str) -> String {
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(marker, _)| user_agent.contains(marker))
    .map(|(_, name)| *name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(marker, _)| user_agent.contains(marker))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_string(),
        (None, Some(s)) => format!("a browser on {s}"),
        (None, None) => "an unknown browser or app".to_string(),
    }
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
