//! Notifications per member, newest last; the unread ones, and the unread one per subject.

use redb::{ReadableTable, TableDefinition};

use super::tables::CatalogTable;
use super::{Rows, Rx, Snapshot, StoreError, Tx};
use crate::domain::ids::{NotificationId, PushSubscriptionId, UserId};
use crate::domain::notification::{KEPT_PER_MEMBER, Notification, Preferences, PushSubscription};

/// Devices remembered per member.
const KNOWN_DEVICES_KEPT: usize = 50;

/// (member, notification id) → `Notification`.
const NOTIFICATIONS: Rows<(u128, u128), Notification> = Rows::new("notifications");
/// (member, notification id) → (): the unread ones.
const UNREAD: TableDefinition<(u128, u128), ()> = TableDefinition::new("notifications_unread");
/// (member, subject) → notification id: the unread notification about a subject.
const BY_SUBJECT: TableDefinition<(u128, &str), u128> =
    TableDefinition::new("notifications_by_subject");

/// (actor, member, notification id) → (): what others were told a member did (for erasing
/// the member).
const BY_ACTOR: TableDefinition<(u128, u128, u128), ()> =
    TableDefinition::new("notifications_by_actor");

/// member → `Preferences` (absent: the defaults).
const PREFERENCES: Rows<u128, Preferences> = Rows::new("notification_preferences");
/// (member, notification id) → (): waiting for the member's next email digest.
const DIGEST: TableDefinition<(u128, u128), ()> = TableDefinition::new("notification_digest");
/// member → when their last digest went (ms).
const DIGEST_SENT: TableDefinition<u128, i64> = TableDefinition::new("notification_digest_sent");
/// (member, subscription id) → `PushSubscription`: the devices a member receives push on.
const PUSH: Rows<(u128, u128), PushSubscription> = Rows::new("push_subscriptions");

/// (member, browser fingerprint) → when it last signed in (ms): the devices a member has
/// used, so a sign-in from another one can be told of.
const KNOWN_DEVICES: TableDefinition<(u128, u64), i64> =
    TableDefinition::new("notification_known_devices");

pub(super) const TABLES: &[&dyn CatalogTable] = &[
    &KNOWN_DEVICES,
    &NOTIFICATIONS,
    &UNREAD,
    &BY_SUBJECT,
    &BY_ACTOR,
    &PREFERENCES,
    &DIGEST,
    &DIGEST_SENT,
    &PUSH,
];

pub struct Notifications<'s, S>(&'s S);

impl Rx {
    pub fn notifications(&self) -> Notifications<'_, Self> {
        Notifications(self)
    }
}

impl<'t> Tx<'t> {
    pub fn notifications(&self) -> Notifications<'_, Self> {
        Notifications(self)
    }
}

impl<S: Snapshot> Notifications<'_, S> {
    /// A member's notifications, newest first, older than `before`, at most `limit`.
    pub fn of_member(
        &self,
        member: UserId,
        before: Option<NotificationId>,
        limit: usize,
    ) -> Result<Vec<Notification>, StoreError> {
        let m = member.as_u128();
        let upper = before.map_or(u128::MAX, |b| b.as_u128().saturating_sub(1));
        let table = NOTIFICATIONS.open(self.0)?;
        let mut out = Vec::new();
        for row in table.range((m, 0)..=(m, upper))?.rev().take(limit) {
            let (_, value) = row?;
            out.push(super::codec::decode(value.value())?);
        }
        Ok(out)
    }

    pub fn unread_count(&self, member: UserId) -> Result<u32, StoreError> {
        let m = member.as_u128();
        let mut n = 0u32;
        for row in self.0.table(UNREAD)?.range((m, 0)..=(m, u128::MAX))? {
            row?;
            n = n.saturating_add(1);
        }
        Ok(n)
    }

    pub fn get(
        &self,
        member: UserId,
        id: NotificationId,
    ) -> Result<Option<Notification>, StoreError> {
        NOTIFICATIONS.get(self.0, (member.as_u128(), id.as_u128()))
    }

    /// The member's unread notification about `subject`.
    pub fn unread_about(
        &self,
        member: UserId,
        subject: &str,
    ) -> Result<Option<Notification>, StoreError> {
        let id = self
            .0
            .table(BY_SUBJECT)?
            .get((member.as_u128(), subject))?
            .map(|v| v.value());
        match id {
            Some(id) => NOTIFICATIONS.get(self.0, (member.as_u128(), id)),
            None => Ok(None),
        }
    }

    pub fn preferences(&self, member: UserId) -> Result<Preferences, StoreError> {
        Ok(PREFERENCES
            .get(self.0, member.as_u128())?
            .unwrap_or_default())
    }

    /// The notifications waiting for the member's digest, oldest first (those gone since
    /// are skipped).
    pub fn digest_of(&self, member: UserId) -> Result<Vec<Notification>, StoreError> {
        let m = member.as_u128();
        let mut out = Vec::new();
        for row in self.0.table(DIGEST)?.range((m, 0)..=(m, u128::MAX))? {
            let (key, _) = row?;
            if let Some(n) = NOTIFICATIONS.get(self.0, (m, key.value().1))? {
                out.push(n);
            }
        }
        Ok(out)
    }

    /// Members with something waiting for a digest.
    pub fn digest_members(&self) -> Result<Vec<UserId>, StoreError> {
        let mut out: Vec<UserId> = Vec::new();
        for row in self.0.table(DIGEST)?.iter()? {
            let (key, _) = row?;
            let member = UserId::from_u128(key.value().0);
            if out.last() != Some(&member) {
                out.push(member);
            }
        }
        Ok(out)
    }

    pub fn digest_sent_at(&self, member: UserId) -> Result<Option<i64>, StoreError> {
        Ok(self
            .0
            .table(DIGEST_SENT)?
            .get(member.as_u128())?
            .map(|v| v.value()))
    }

    /// The member's subscribed devices.
    pub fn push_subscriptions(&self, member: UserId) -> Result<Vec<PushSubscription>, StoreError> {
        let m = member.as_u128();
        PUSH.open(self.0)?
            .range((m, 0)..=(m, u128::MAX))?
            .map(|row| {
                let (_, value) = row?;
                super::codec::decode(value.value())
            })
            .collect()
    }

    fn ids_of(&self, member: UserId) -> Result<Vec<u128>, StoreError> {
        let m = member.as_u128();
        NOTIFICATIONS
            .open(self.0)?
            .range((m, 0)..=(m, u128::MAX))?
            .map(|e| e.map(|(k, _)| k.value().1))
            .collect::<Result<_, _>>()
            .map_err(StoreError::from)
    }
}

impl Notifications<'_, Tx<'_>> {
    /// Stores a notification; an unread one about the same subject is replaced, and the
    /// member's oldest go past [`KEPT_PER_MEMBER`].
    pub fn add(&self, n: &Notification) -> Result<(), StoreError> {
        let m = n.member.as_u128();
        if let Some(subject) = &n.subject {
            let earlier = self
                .0
                .table(BY_SUBJECT)?
                .get((m, subject.as_str()))?
                .map(|v| v.value());
            if let Some(id) = earlier {
                self.remove(m, id)?;
            }
            self.0
                .table(BY_SUBJECT)?
                .insert((m, subject.as_str()), n.id.as_u128())?;
        }
        NOTIFICATIONS.insert(self.0, (m, n.id.as_u128()), n)?;
        if let Some(actor) = n.actor {
            self.0
                .table(BY_ACTOR)?
                .insert((actor.as_u128(), m, n.id.as_u128()), ())?;
        }
        if !n.read {
            self.0.table(UNREAD)?.insert((m, n.id.as_u128()), ())?;
        }
        let ids = self.ids_of(n.member)?;
        for id in ids.iter().take(ids.len().saturating_sub(KEPT_PER_MEMBER)) {
            self.remove(m, *id)?;
        }
        Ok(())
    }

    fn remove(&self, m: u128, id: u128) -> Result<(), StoreError> {
        if let Some(old) = NOTIFICATIONS.remove(self.0, (m, id))? {
            if let Some(actor) = old.actor {
                self.0.table(BY_ACTOR)?.remove((actor.as_u128(), m, id))?;
            }
            if let Some(subject) = &old.subject {
                let mut by_subject = self.0.table(BY_SUBJECT)?;
                let current = by_subject.get((m, subject.as_str()))?.map(|v| v.value());
                if current == Some(id) {
                    by_subject.remove((m, subject.as_str()))?;
                }
            }
        }
        self.0.table(UNREAD)?.remove((m, id))?;
        Ok(())
    }

    /// Stores a notification as it is now (its delivery noted), keeping its place.
    pub fn update(&self, n: &Notification) -> Result<(), StoreError> {
        NOTIFICATIONS.insert(self.0, (n.member.as_u128(), n.id.as_u128()), n)?;
        Ok(())
    }

    pub fn set_preferences(&self, member: UserId, p: &Preferences) -> Result<(), StoreError> {
        PREFERENCES.insert(self.0, member.as_u128(), p)?;
        Ok(())
    }

    /// Keeps the notification for the member's next digest.
    pub fn add_to_digest(&self, member: UserId, id: NotificationId) -> Result<(), StoreError> {
        self.0
            .table(DIGEST)?
            .insert((member.as_u128(), id.as_u128()), ())?;
        Ok(())
    }

    /// Empties the member's digest, noting when it went.
    pub fn digest_sent(&self, member: UserId, at_ms: i64) -> Result<(), StoreError> {
        let m = member.as_u128();
        let mut digest = self.0.table(DIGEST)?;
        let ids: Vec<u128> = digest
            .range((m, 0)..=(m, u128::MAX))?
            .map(|e| e.map(|(k, _)| k.value().1))
            .collect::<Result<_, _>>()?;
        for id in ids {
            digest.remove((m, id))?;
        }
        self.0.table(DIGEST_SENT)?.insert(m, at_ms)?;
        Ok(())
    }

    pub fn add_push_subscription(&self, s: &PushSubscription) -> Result<(), StoreError> {
        PUSH.insert(self.0, (s.member.as_u128(), s.id.as_u128()), s)?;
        Ok(())
    }

    /// Forgets a device; whether it was there.
    pub fn remove_push_subscription(
        &self,
        member: UserId,
        id: PushSubscriptionId,
    ) -> Result<bool, StoreError> {
        Ok(PUSH
            .remove(self.0, (member.as_u128(), id.as_u128()))?
            .is_some())
    }

    /// Notes a sign-in from `device` (a fingerprint of the browser); whether the member has
    /// signed in before but never from it. The first device of an account is not new.
    pub fn note_device(&self, member: UserId, device: u64, at_ms: i64) -> Result<bool, StoreError> {
        let m = member.as_u128();
        let mut table = self.0.table(KNOWN_DEVICES)?;
        let known: Vec<(u64, i64)> = table
            .range((m, 0)..=(m, u64::MAX))?
            .map(|e| e.map(|(k, v)| (k.value().1, v.value())))
            .collect::<Result<_, _>>()?;
        let new = !known.is_empty() && !known.iter().any(|(d, _)| *d == device);
        table.insert((m, device), at_ms)?;
        // The least recently used go past the last 50.
        if known.len() >= KNOWN_DEVICES_KEPT {
            let mut by_age = known;
            by_age.sort_by_key(|(_, at)| *at);
            for (d, _) in by_age.iter().take(by_age.len() + 1 - KNOWN_DEVICES_KEPT) {
                if *d != device {
                    table.remove((m, *d))?;
                }
            }
        }
        Ok(new)
    }

    /// Marks some of the member's notifications read (`None`: all); how many changed.
    pub fn mark_read(
        &self,
        member: UserId,
        ids: Option<&[NotificationId]>,
    ) -> Result<u32, StoreError> {
        let m = member.as_u128();
        let unread: Vec<u128> = match ids {
            Some(ids) => ids.iter().map(|i| i.as_u128()).collect(),
            None => self
                .0
                .table(UNREAD)?
                .range((m, 0)..=(m, u128::MAX))?
                .map(|e| e.map(|(k, _)| k.value().1))
                .collect::<Result<_, _>>()?,
        };
        let mut changed = 0;
        for id in unread {
            if self.0.table(UNREAD)?.remove((m, id))?.is_none() {
                continue;
            }
            if let Some(mut n) = NOTIFICATIONS.get(self.0, (m, id))? {
                n.read = true;
                NOTIFICATIONS.insert(self.0, (m, id), &n)?;
                if let Some(subject) = &n.subject {
                    self.0.table(BY_SUBJECT)?.remove((m, subject.as_str()))?;
                }
            }
            changed += 1;
        }
        Ok(changed)
    }

    /// Marks read the member's unread notification about `subject`, if any.
    pub fn mark_subject_read(&self, member: UserId, subject: &str) -> Result<bool, StoreError> {
        let m = member.as_u128();
        let id = self
            .0
            .table(BY_SUBJECT)?
            .get((m, subject))?
            .map(|v| v.value());
        match id {
            Some(id) => Ok(self.mark_read(member, Some(&[NotificationId::from_u128(id)]))? > 0),
            None => Ok(false),
        }
    }

    /// All of a member's notifications, and those that tell others of them (account
    /// deletion).
    pub fn erase_member(&self, member: UserId) -> Result<(), StoreError> {
        let m = member.as_u128();
        for id in self.ids_of(member)? {
            self.remove(m, id)?;
        }
        let told: Vec<(u128, u128)> = self
            .0
            .table(BY_ACTOR)?
            .range((m, 0, 0)..=(m, u128::MAX, u128::MAX))?
            .map(|e| e.map(|(k, _)| (k.value().1, k.value().2)))
            .collect::<Result<_, _>>()?;
        for (other, id) in told {
            self.remove(other, id)?;
        }
        PREFERENCES.remove(self.0, m)?;
        let devices: Vec<u64> = self
            .0
            .table(KNOWN_DEVICES)?
            .range((m, 0)..=(m, u64::MAX))?
            .map(|e| e.map(|(k, _)| k.value().1))
            .collect::<Result<_, _>>()?;
        for d in devices {
            self.0.table(KNOWN_DEVICES)?.remove((m, d))?;
        }
        self.digest_sent(member, 0)?;
        self.0.table(DIGEST_SENT)?.remove(m)?;
        for s in self.push_subscriptions(member)? {
            PUSH.remove(self.0, (m, s.id.as_u128()))?;
        }
        Ok(())
    }
}
