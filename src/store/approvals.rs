//! The approval queue: accounts that signed up in approval mode and wait for staff, keyed by
//! sign-up time so the queue reads oldest first.

use redb::{ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction};

use super::tables::CatalogTable;
use super::{Rx, Snapshot, StoreError, Tx};
use crate::domain::ids::UserId;

/// user id → sign-up time (Unix ms).
const PENDING: TableDefinition<u128, i64> = TableDefinition::new("pending_approval");
/// (sign-up time in Unix ms, user id) → (): the queue in order.
const QUEUE: TableDefinition<(i64, u128), ()> = TableDefinition::new("pending_approval_queue");

/// This aggregate's tables, for the catalog.
pub(super) const TABLES: &[&dyn CatalogTable] = &[&PENDING, &QUEUE];

/// Builds the ordered queue of a database written before it existed.
pub(super) fn index_queue(txn: &WriteTransaction) -> Result<(), StoreError> {
    let pending = txn.open_table(PENDING)?;
    let mut queue = txn.open_table(QUEUE)?;
    for entry in pending.iter()? {
        let (id, since) = entry?;
        queue.insert((since.value(), id.value()), ())?;
    }
    Ok(())
}

pub struct Approvals<'s, S>(&'s S);

impl Rx {
    pub fn approvals(&self) -> Approvals<'_, Self> {
        Approvals(self)
    }
}

impl<'t> Tx<'t> {
    pub fn approvals(&self) -> Approvals<'_, Self> {
        Approvals(self)
    }
}

impl<S: Snapshot> Approvals<'_, S> {
    pub fn count(&self) -> Result<u64, StoreError> {
        Ok(self.0.table(PENDING)?.len()?)
    }

    /// Waiting accounts, oldest first, skipping `offset`, at most `limit`.
    pub fn page(&self, offset: usize, limit: usize) -> Result<Vec<UserId>, StoreError> {
        let mut out = Vec::new();
        for entry in self.0.table(QUEUE)?.iter()?.skip(offset).take(limit) {
            out.push(UserId::from_u128(entry?.0.value().1));
        }
        Ok(out)
    }
}

impl Approvals<'_, Tx<'_>> {
    pub fn add(&self, user: UserId, since_ms: i64) -> Result<(), StoreError> {
        self.0.table(PENDING)?.insert(user.as_u128(), since_ms)?;
        self.0
            .table(QUEUE)?
            .insert((since_ms, user.as_u128()), ())?;
        Ok(())
    }

    /// Takes an account off the queue; false when it was not on it.
    pub fn remove(&self, user: UserId) -> Result<bool, StoreError> {
        let Some(since) = self
            .0
            .table(PENDING)?
            .remove(user.as_u128())?
            .map(|v| v.value())
        else {
            return Ok(false);
        };
        self.0.table(QUEUE)?.remove((since, user.as_u128()))?;
        Ok(true)
    }
}
