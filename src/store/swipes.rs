//! Likes and passes. The latest decision of one member about another stands; a log of likes by
//! time counts them for the daily limit (unliking does not give a like back), and each member's
//! latest pass is kept for undoing it. Only likes are logged: they are capped per day, so the
//! log stays bounded however often a member passes and undoes. "Who liked me" reads the likes
//! received, newest first.

use redb::{ReadableTable, TableDefinition};

use super::tables::CatalogTable;
use super::{Rows, Rx, Snapshot, StoreError, Tx};
use crate::domain::ids::UserId;
use crate::domain::matching::{Swipe, SwipeAction};

/// (actor, target) → `Swipe`.
const SWIPES: Rows<(u128, u128), Swipe> = Rows::new("swipes");
/// (target, actor) → (): who decided about a member (for erasing them).
const SWIPED_BY: TableDefinition<(u128, u128), ()> = TableDefinition::new("swipes_by_target");
/// (target, liked at ms, actor) → (): likes a member received, oldest first.
const LIKES_RECEIVED: TableDefinition<(u128, i64, u128), ()> =
    TableDefinition::new("likes_received");
/// (actor, at ms, target) → 0: every like of the last day or so; an actor's older lines go
/// when they next swipe.
const SWIPE_LOG: TableDefinition<(u128, i64, u128), u8> = TableDefinition::new("swipe_log");
/// actor → (target, at ms): the actor's latest pass, which they may undo.
const LAST_PASS: TableDefinition<u128, (u128, i64)> = TableDefinition::new("swipes_last_pass");
/// (target, at ms, actor) → (): the log's lines by target (for erasing a member).
const SWIPE_LOG_ABOUT: TableDefinition<(u128, i64, u128), ()> =
    TableDefinition::new("swipe_log_about");

pub(super) const TABLES: &[&dyn CatalogTable] = &[
    &SWIPES,
    &SWIPED_BY,
    &LIKES_RECEIVED,
    &SWIPE_LOG,
    &SWIPE_LOG_ABOUT,
    &LAST_PASS,
];

pub struct Swipes<'s, S>(&'s S);

impl Rx {
    pub fn swipes(&self) -> Swipes<'_, Self> {
        Swipes(self)
    }
}

impl<'t> Tx<'t> {
    pub fn swipes(&self) -> Swipes<'_, Self> {
        Swipes(self)
    }
}

impl<S: Snapshot> Swipes<'_, S> {
    pub fn get(&self, actor: UserId, target: UserId) -> Result<Option<Swipe>, StoreError> {
        SWIPES.get(self.0, (actor.as_u128(), target.as_u128()))
    }

    /// Whether `actor` liked or passed each of `targets` (the table opened once, nothing
    /// decoded: a deck checks fifty candidates a read).
    pub fn decided(&self, actor: UserId, targets: &[UserId]) -> Result<Vec<bool>, StoreError> {
        let table = SWIPES.open(self.0)?;
        let a = actor.as_u128();
        targets
            .iter()
            .map(|t| Ok(table.get((a, t.as_u128()))?.is_some()))
            .collect()
    }

    /// Likes `actor` gave at or after `since_ms`, and the time of the oldest of them.
    pub fn likes_since(
        &self,
        actor: UserId,
        since_ms: i64,
    ) -> Result<(u32, Option<i64>), StoreError> {
        let a = actor.as_u128();
        let log = self.0.table(SWIPE_LOG)?;
        let mut count = 0;
        let mut oldest = None;
        for entry in log.range((a, since_ms, 0)..=(a, i64::MAX, u128::MAX))? {
            count += 1;
            oldest.get_or_insert(entry?.0.value().1);
        }
        Ok((count, oldest))
    }

    /// Everyone `actor` liked or passed (for leaving them out of a deck).
    pub fn targets_of(&self, actor: UserId) -> Result<Vec<UserId>, StoreError> {
        let a = actor.as_u128();
        SWIPES
            .open(self.0)?
            .range((a, 0)..=(a, u128::MAX))?
            .map(|e| e.map(|(k, _)| UserId::from_u128(k.value().1)))
            .collect::<Result<_, _>>()
            .map_err(StoreError::from)
    }

    /// Who liked `target`, newest first: (member, liked at ms), at most `limit`, older than
    /// `before` (a (ms, member) position) when given.
    pub fn likers_of(
        &self,
        target: UserId,
        before: Option<(i64, UserId)>,
        limit: usize,
    ) -> Result<Vec<(UserId, i64)>, StoreError> {
        let t = target.as_u128();
        let upper = before.map_or((t, i64::MAX, u128::MAX), |(ms, id)| {
            (t, ms, id.as_u128().saturating_sub(1))
        });
        let mut out = Vec::new();
        for entry in self
            .0
            .table(LIKES_RECEIVED)?
            .range((t, i64::MIN, 0)..=upper)?
            .rev()
            .take(limit)
        {
            let (key, _) = entry?;
            let (_, ms, actor) = key.value();
            out.push((UserId::from_u128(actor), ms));
        }
        Ok(out)
    }
}

impl Swipes<'_, Tx<'_>> {
    /// Records a decision, replacing an earlier one, and drops the actor's log lines older
    /// than `forget_before_ms`.
    pub fn put(
        &self,
        actor: UserId,
        target: UserId,
        swipe: &Swipe,
        forget_before_ms: i64,
    ) -> Result<(), StoreError> {
        self.remove(actor, target)?;
        self.forget_log(actor, forget_before_ms)?;
        let (a, t, ms) = (actor.as_u128(), target.as_u128(), swipe.at.as_millisecond());
        match swipe.action {
            SwipeAction::Like => {
                self.0.table(LIKES_RECEIVED)?.insert((t, ms, a), ())?;
                self.0.table(SWIPE_LOG)?.insert((a, ms, t), 0)?;
                self.0.table(SWIPE_LOG_ABOUT)?.insert((t, ms, a), ())?;
            }
            SwipeAction::Pass => {
                self.0.table(LAST_PASS)?.insert(a, (t, ms))?;
            }
        }
        self.0.table(SWIPED_BY)?.insert((t, a), ())?;
        SWIPES.insert(self.0, (a, t), swipe)
    }

    /// Takes a decision back (unlike, undo a pass). The log keeps it, so the daily count holds.
    pub fn remove(&self, actor: UserId, target: UserId) -> Result<Option<Swipe>, StoreError> {
        let (a, t) = (actor.as_u128(), target.as_u128());
        let old = SWIPES.remove(self.0, (a, t))?;
        if let Some(old) = &old {
            self.0.table(SWIPED_BY)?.remove((t, a))?;
            match old.action {
                SwipeAction::Like => {
                    self.0
                        .table(LIKES_RECEIVED)?
                        .remove((t, old.at.as_millisecond(), a))?;
                }
                SwipeAction::Pass => {
                    let mut last = self.0.table(LAST_PASS)?;
                    let was_last = last.get(a)?.is_some_and(|v| v.value().0 == t);
                    if was_last {
                        last.remove(a)?;
                    }
                }
            }
        }
        Ok(old)
    }

    fn forget_log(&self, actor: UserId, before_ms: i64) -> Result<(), StoreError> {
        let a = actor.as_u128();
        let mut log = self.0.table(SWIPE_LOG)?;
        let old: Vec<(u128, i64, u128)> = log
            .range((a, i64::MIN, 0)..(a, before_ms, 0))?
            .map(|e| e.map(|(k, _)| k.value()))
            .collect::<Result<_, _>>()?;
        let mut about = self.0.table(SWIPE_LOG_ABOUT)?;
        for (a, ms, t) in old {
            log.remove((a, ms, t))?;
            about.remove((t, ms, a))?;
        }
        Ok(())
    }

    /// The actor's latest pass, while it stands.
    pub fn last_pass(&self, actor: UserId) -> Result<Option<UserId>, StoreError> {
        let Some((t, ms)) = self
            .0
            .table(LAST_PASS)?
            .get(actor.as_u128())?
            .map(|v| v.value())
        else {
            return Ok(None);
        };
        let target = UserId::from_u128(t);
        let standing = self.get(actor, target)?;
        Ok(standing
            .is_some_and(|s| s.action == SwipeAction::Pass && s.at.as_millisecond() == ms)
            .then_some(target))
    }

    /// Everything `member` decided and everything decided about them (account deletion).
    pub fn erase_member(&self, member: UserId) -> Result<(), StoreError> {
        let m = member.as_u128();
        let mine: Vec<u128> = SWIPES
            .open(self.0)?
            .range((m, 0)..=(m, u128::MAX))?
            .map(|e| e.map(|(k, _)| k.value().1))
            .collect::<Result<_, _>>()?;
        for t in mine {
            self.remove(member, UserId::from_u128(t))?;
        }
        let about: Vec<u128> = self
            .0
            .table(SWIPED_BY)?
            .range((m, 0)..=(m, u128::MAX))?
            .map(|e| e.map(|(k, _)| k.value().1))
            .collect::<Result<_, _>>()?;
        for a in about {
            self.remove(UserId::from_u128(a), member)?;
        }
        self.forget_log(member, i64::MAX)?;
        self.0.table(LAST_PASS)?.remove(m)?;
        let lines: Vec<(u128, i64, u128)> = self
            .0
            .table(SWIPE_LOG_ABOUT)?
            .range((m, i64::MIN, 0)..=(m, i64::MAX, u128::MAX))?
            .map(|e| e.map(|(k, _)| k.value()))
            .collect::<Result<_, _>>()?;
        let mut log = self.0.table(SWIPE_LOG)?;
        let mut about = self.0.table(SWIPE_LOG_ABOUT)?;
        for (t, ms, a) in lines {
            log.remove((a, ms, t))?;
            about.remove((t, ms, a))?;
        }
        Ok(())
    }
}
