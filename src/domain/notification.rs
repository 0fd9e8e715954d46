//! Notifications: one per thing a member should hear about (a like, a match, a message, a
//! decision about their photo, …), with a priority and a read state. Which events notify whom
//! is the service's; here is what a notification is.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::ids::{NotificationId, PushSubscriptionId, UserId};

/// How much a notification matters: critical ones (security) are never held back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Priority {
    Low,
    Normal,
    High,
    Critical,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub id: NotificationId,
    pub member: UserId,
    /// The event it tells of: `like:new`, `match:new`, `message:new`, …
    pub event: String,
    pub title: String,
    pub body: String,
    /// Who did it, when someone did.
    pub actor: Option<UserId>,
    /// What it is about (a conversation, a match, an upload), as its id; one unread
    /// notification per subject: a newer one replaces it.
    pub subject: Option<String>,
    pub priority: Priority,
    pub created_at: Timestamp,
    pub read: bool,
    /// How many events it stands for: repeats about one subject are one notification
    /// while it is unread ("3 new messages from …").
    pub count: u32,
    /// When it last went out by email, push or webhook: repeats about its subject wait
    /// until [`REPEAT_WINDOW`] has passed.
    pub told_at: Option<Timestamp>,
}

impl Notification {
    /// The page it leads to.
    pub fn path(&self) -> String {
        let subject = self.subject.as_deref().unwrap_or_default();
        match subject.split_once(':') {
            Some(("conversation", id)) => format!("/messages/{id}"),
            Some(("match", _)) => "/matches".into(),
            Some(("story", rest)) => format!("/stories/{}", rest.split(':').next().unwrap_or("")),
            Some(("media", _)) => "/media".into(),
            _ if subject == "likes" => "/likes".into(),
            _ => "/notifications".into(),
        }
    }
}

/// A browser's Web Push subscription (RFC 8030): where the push service takes messages
/// for it, and the keys its payloads are encrypted to (RFC 8291).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushSubscription {
    pub id: PushSubscriptionId,
    pub member: UserId,
    pub endpoint: String,
    /// The browser's P-256 public key, uncompressed (65 bytes).
    pub p256dh: Vec<u8>,
    /// The browser's authentication secret (16 bytes).
    pub auth: Vec<u8>,
    /// What the member's browser called itself, to tell devices apart.
    pub device: String,
    pub created_at: Timestamp,
}

/// Devices one member may subscribe.
pub const PUSH_DEVICES_MAX: usize = 20;

/// Notifications kept per member; older ones go as new ones come.
pub const KEPT_PER_MEMBER: usize = 500;

/// Where a notification goes besides the in-app centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Channel {
    Email,
    Push,
    Webhook,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Email, Channel::Push, Channel::Webhook];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Push => "push",
            Self::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// One kind of notification a member can choose channels for.
pub struct EventKind {
    pub event: &'static str,
    /// How the settings page names it.
    pub label: &'static str,
    /// On by email unless the member says otherwise.
    pub email_by_default: bool,
}

/// Every event that notifies, in the order the settings page lists them. Push follows the
/// member's subscribed devices for all of them by default; webhooks are off until set up.
pub const EVENTS: &[EventKind] = &[
    EventKind {
        event: "message:new",
        label: "New messages",
        email_by_default: true,
    },
    EventKind {
        event: "match:new",
        label: "New matches",
        email_by_default: true,
    },
    EventKind {
        event: "like:new",
        label: "Likes",
        email_by_default: false,
    },
    EventKind {
        event: "story:viewed",
        label: "Someone saw my story",
        email_by_default: false,
    },
    EventKind {
        event: "media:approved",
        label: "An upload was approved",
        email_by_default: false,
    },
    EventKind {
        event: "media:rejected",
        label: "An upload was not approved",
        email_by_default: false,
    },
    EventKind {
        event: "report:decided",
        label: "A report I made was decided",
        email_by_default: false,
    },
    EventKind {
        event: "account:approved",
        label: "My sign-up was approved",
        email_by_default: false,
    },
    EventKind {
        event: "record:update",
        label: "Comments, status changes and assignments on records I watch",
        email_by_default: false,
    },
    EventKind {
        event: "record:mention",
        label: "Someone mentioned me on a record",
        email_by_default: true,
    },
    EventKind {
        event: "record:due",
        label: "Records of mine that are due soon or overdue",
        email_by_default: true,
    },
    EventKind {
        event: "security:new_sign_in",
        label: "A new sign-in to my account",
        email_by_default: false,
    },
    EventKind {
        event: "security:password_changed",
        label: "My password was changed",
        email_by_default: false,
    },
];

pub fn event_kind(event: &str) -> Option<&'static EventKind> {
    EVENTS.iter().find(|k| k.event == event)
}

/// Quiet hours, in minutes after local midnight; `start > end` crosses midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHours {
    pub start: u16,
    pub end: u16,
}

impl QuietHours {
    /// 22:00–08:00, what switching quiet hours on starts from.
    pub const DEFAULT: QuietHours = QuietHours {
        start: 22 * 60,
        end: 8 * 60,
    };

    /// Quiet hours from two `HH:MM` times; why not, when they cannot be.
    pub fn parse(start: &str, end: &str) -> Result<Self, (&'static str, String)> {
        let start = parse_clock(start).map_err(|why| ("start", why))?;
        let end = parse_clock(end).map_err(|why| ("end", why))?;
        if start == end {
            return Err((
                "end",
                "Quiet hours need an end different from their start.".into(),
            ));
        }
        Ok(Self { start, end })
    }

    pub fn start_text(&self) -> String {
        clock_text(self.start)
    }

    pub fn end_text(&self) -> String {
        clock_text(self.end)
    }

    /// When quiet hours that hold at `now` in `zone` end; `None` when they do not hold.
    /// The end is found on the local calendar, so a night that loses or gains an hour to
    /// daylight saving ends at the right local time (an end the clocks skip that night is
    /// moved on by the gap, 02:30 becoming 03:30, as the clocks read it).
    pub fn until(&self, now: Timestamp, zone: &TimeZone) -> Option<Timestamp> {
        let local = now.to_zoned(zone.clone());
        let minute =
            u16::try_from(i32::from(local.hour()) * 60 + i32::from(local.minute())).unwrap_or(0);
        let (quiet, ends_tomorrow) = if self.start < self.end {
            (self.start <= minute && minute < self.end, false)
        } else {
            (
                minute >= self.start || minute < self.end,
                minute >= self.start,
            )
        };
        if !quiet {
            return None;
        }
        let mut day = local.date();
        if ends_tomorrow {
            day = day.tomorrow().ok()?;
        }
        let (h, m) = (
            i8::try_from(self.end / 60).ok()?,
            i8::try_from(self.end % 60).ok()?,
        );
        day.at(h, m, 0, 0)
            .to_zoned(zone.clone())
            .ok()
            .map(|z| z.timestamp())
    }
}

fn parse_clock(s: &str) -> Result<u16, String> {
    let why = || format!("\"{s}\" is not a time of day: use HH:MM, e.g. 22:00.");
    let (h, m) = s.trim().split_once(':').ok_or_else(why)?;
    let (h, m): (u16, u16) = (h.parse().map_err(|_| why())?, m.parse().map_err(|_| why())?);
    if h > 23 || m > 59 || s.trim().len() > 5 {
        return Err(why());
    }
    Ok(h * 60 + m)
}

fn clock_text(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// How notification emails are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Digest {
    /// One mail per notification (repeats about one subject at most every 5 minutes).
    Instant,
    Daily,
    Weekly,
}

impl Digest {
    pub const ALL: [Digest; 3] = [Digest::Instant, Digest::Daily, Digest::Weekly];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Instant => "instant",
            Self::Daily => "daily",
            Self::Weekly => "weekly",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// Time between two digests; `None` for instant mail.
    pub fn period(self) -> Option<SignedDuration> {
        match self {
            Self::Instant => None,
            Self::Daily => Some(SignedDuration::from_hours(24)),
            Self::Weekly => Some(SignedDuration::from_hours(24 * 7)),
        }
    }
}

/// The shape of a member's webhook calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WebhookPreset {
    /// Hearth's own JSON, signed with HMAC-SHA256.
    Json,
    /// An ntfy topic URL: the text as the body, the title in a header.
    Ntfy,
    /// A Telegram-style bot API (`…/sendMessage`): `{"chat_id", "text"}`.
    Telegram,
}

impl WebhookPreset {
    pub const ALL: [WebhookPreset; 3] = [Self::Json, Self::Ntfy, Self::Telegram];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Ntfy => "ntfy",
            Self::Telegram => "telegram",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// A member's webhook: where to post, and the secret its calls are signed with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookTarget {
    pub url: String,
    pub secret: String,
    pub preset: WebhookPreset,
    /// For the Telegram preset: the chat to post in.
    pub chat_id: String,
}

/// What a member chose about being told, beyond the in-app centre (which always has
/// everything).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preferences {
    /// Events told by email.
    pub email: Vec<String>,
    /// Events told to the member's subscribed devices.
    pub push: Vec<String>,
    /// Events told to the member's webhook.
    pub webhook: Vec<String>,
    pub quiet_hours: Option<QuietHours>,
    pub digest: Digest,
    pub webhook_target: Option<WebhookTarget>,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            email: EVENTS
                .iter()
                .filter(|k| k.email_by_default)
                .map(|k| k.event.to_string())
                .collect(),
            push: EVENTS.iter().map(|k| k.event.to_string()).collect(),
            webhook: Vec::new(),
            quiet_hours: None,
            digest: Digest::Instant,
            webhook_target: None,
        }
    }
}

impl Preferences {
    pub fn wants(&self, event: &str, channel: Channel) -> bool {
        self.events(channel).iter().any(|e| e == event)
    }

    pub fn events(&self, channel: Channel) -> &Vec<String> {
        match channel {
            Channel::Email => &self.email,
            Channel::Push => &self.push,
            Channel::Webhook => &self.webhook,
        }
    }

    pub fn set(&mut self, event: &str, channel: Channel, on: bool) {
        let list = match channel {
            Channel::Email => &mut self.email,
            Channel::Push => &mut self.push,
            Channel::Webhook => &mut self.webhook,
        };
        list.retain(|e| e != event);
        if on {
            list.push(event.to_string());
        }
    }
}

/// How often email and push repeat about one subject: later ones in the window wait and go
/// out as one ("3 new messages from …").
pub const REPEAT_WINDOW: SignedDuration = SignedDuration::from_mins(5);
/// A member counts as using Hearth this long after their last live connection closed: no
/// email or push until then.
pub const PRESENT_FOR: SignedDuration = SignedDuration::from_mins(2);

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn quiet_hours_cross_midnight_and_end_at_local_time_across_dst() {
        let zurich = TimeZone::get("Europe/Zurich").unwrap();
        let q = QuietHours::DEFAULT;
        // 23:00 on the night clocks go forward (29 March 2026): 08:00 CEST is 06:00 UTC.
        assert_eq!(
            q.until(at("2026-03-28T22:00:00Z"), &zurich),
            Some(at("2026-03-29T06:00:00Z"))
        );
        // The night clocks go back (25 October 2026): 08:00 CET is 07:00 UTC.
        assert_eq!(
            q.until(at("2026-10-24T21:30:00Z"), &zurich),
            Some(at("2026-10-25T07:00:00Z"))
        );
        // After midnight, the same morning's end.
        assert_eq!(
            q.until(at("2026-06-10T03:00:00Z"), &zurich),
            Some(at("2026-06-10T06:00:00Z"))
        );
        // Daytime is not quiet; the end itself is not quiet.
        assert_eq!(q.until(at("2026-06-10T12:00:00Z"), &zurich), None);
        assert_eq!(q.until(at("2026-06-10T06:00:00Z"), &zurich), None);
    }

    #[test]
    fn quiet_hours_within_a_day_and_an_end_inside_the_dst_gap() {
        let zurich = TimeZone::get("Europe/Zurich").unwrap();
        let q = QuietHours::parse("01:00", "02:30").unwrap();
        // 02:30 does not exist on 29 March 2026 in Zurich: the end is 03:30 CEST (01:30 UTC).
        assert_eq!(
            q.until(at("2026-03-29T00:30:00Z"), &zurich),
            Some(at("2026-03-29T01:30:00Z"))
        );
        assert_eq!(q.until(at("2026-06-10T10:00:00Z"), &zurich), None);
    }

    #[test]
    fn quiet_hours_refuse_equal_ends_and_bad_times() {
        assert!(QuietHours::parse("22:00", "22:00").is_err());
        assert!(QuietHours::parse("24:00", "08:00").is_err());
        assert!(QuietHours::parse("7", "08:00").is_err());
        assert!(QuietHours::parse("07:00:00", "08:00").is_err());
        assert_eq!(
            QuietHours::parse("7:05", "08:00").unwrap().start_text(),
            "07:05"
        );
    }

    #[test]
    fn defaults_mail_messages_and_matches_only() {
        let p = Preferences::default();
        assert!(p.wants("message:new", Channel::Email));
        assert!(p.wants("match:new", Channel::Email));
        assert!(!p.wants("like:new", Channel::Email));
        assert!(p.wants("like:new", Channel::Push));
        assert!(!p.wants("message:new", Channel::Webhook));
    }
}
