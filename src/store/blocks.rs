//! Blocks: who blocked whom, readable from both sides.

use std::collections::HashSet;

use redb::{ReadableTable, TableDefinition};

use super::tables::CatalogTable;
use super::{Rx, Snapshot, StoreError, Tx};
use crate::domain::ids::UserId;

/// (blocker, blocked) → blocked at ms.
const BLOCKS: TableDefinition<(u128, u128), i64> = TableDefinition::new("blocks");
/// (blocked, blocker) → ().
const BLOCKED_BY: TableDefinition<(u128, u128), ()> = TableDefinition::new("blocks_by_blocked");

pub(super) const TABLES: &[&dyn CatalogTable] = &[&BLOCKS, &BLOCKED_BY];

pub struct Blocks<'s, S>(&'s S);

impl Rx {
    pub fn blocks(&self) -> Blocks<'_, Self> {
        Blocks(self)
    }
}

impl<'t> Tx<'t> {
    pub fn blocks(&self) -> Blocks<'_, Self> {
        Blocks(self)
    }
}

impl<S: Snapshot> Blocks<'_, S> {
    /// Whether either blocked the other.
    pub fn between(&self, x: UserId, y: UserId) -> Result<bool, StoreError> {
        let blocks = self.0.table(BLOCKS)?;
        let (x, y) = (x.as_u128(), y.as_u128());
        Ok(blocks.get((x, y))?.is_some() || blocks.get((y, x))?.is_some())
    }

    /// Whether `blocker` blocked `blocked` (one way).
    pub fn has_blocked(&self, blocker: UserId, blocked: UserId) -> Result<bool, StoreError> {
        Ok(self
            .0
            .table(BLOCKS)?
            .get((blocker.as_u128(), blocked.as_u128()))?
            .is_some())
    }

    /// Whom `blocker` blocked, with when (ms).
    pub fn blocked_by(&self, blocker: UserId) -> Result<Vec<(UserId, i64)>, StoreError> {
        let b = blocker.as_u128();
        self.0
            .table(BLOCKS)?
            .range((b, 0)..=(b, u128::MAX))?
            .map(|e| e.map(|(k, v)| (UserId::from_u128(k.value().1), v.value())))
            .collect::<Result<_, _>>()
            .map_err(StoreError::from)
    }

    /// Everyone `member` blocked or was blocked by.
    pub fn either_way(&self, member: UserId) -> Result<HashSet<UserId>, StoreError> {
        let m = member.as_u128();
        let mut out: HashSet<UserId> = self
            .blocked_by(member)?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        for entry in self.0.table(BLOCKED_BY)?.range((m, 0)..=(m, u128::MAX))? {
            out.insert(UserId::from_u128(entry?.0.value().1));
        }
        Ok(out)
    }
}

impl Blocks<'_, Tx<'_>> {
    pub fn insert(&self, blocker: UserId, blocked: UserId, at_ms: i64) -> Result<(), StoreError> {
        let (a, b) = (blocker.as_u128(), blocked.as_u128());
        self.0.table(BLOCKS)?.insert((a, b), at_ms)?;
        self.0.table(BLOCKED_BY)?.insert((b, a), ())?;
        Ok(())
    }

    /// Whether there was a block to lift.
    pub fn remove(&self, blocker: UserId, blocked: UserId) -> Result<bool, StoreError> {
        let (a, b) = (blocker.as_u128(), blocked.as_u128());
        self.0.table(BLOCKED_BY)?.remove((b, a))?;
        Ok(self.0.table(BLOCKS)?.remove((a, b))?.is_some())
    }

    /// Every block by or of a member (account deletion).
    pub fn erase_member(&self, member: UserId) -> Result<(), StoreError> {
        for (other, _) in self.blocked_by(member)? {
            self.remove(member, other)?;
        }
        let m = member.as_u128();
        let by: Vec<u128> = self
            .0
            .table(BLOCKED_BY)?
            .range((m, 0)..=(m, u128::MAX))?
            .map(|e| e.map(|(k, _)| k.value().1))
            .collect::<Result<_, _>>()?;
        for blocker in by {
            self.remove(UserId::from_u128(blocker), member)?;
        }
        Ok(())
    }
}
