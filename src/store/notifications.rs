//! Notifications per member, newest last; the unread ones, and the unread one per subject.

use redb::{ReadableTable, TableDefinition};

use super::tables::CatalogTable;
use super::{Rows, Rx, Snapshot, StoreError, Tx};
use crate::domain::ids::{NotificationId, UserId};
use crate::domain::notification::{KEPT_PER_MEMBER, Notification};

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

pub(super) const TABLES: &[&dyn CatalogTable] = &[&NOTIFICATIONS, &UNREAD, &BY_SUBJECT, &BY_ACTOR];

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
        Ok(())
    }
}
