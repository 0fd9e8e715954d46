//! The search outbox: records to index again, written in the same transaction as the change
//! that makes them so; the indexer drains it. Keyed by a time-ordered id, so the oldest
//! entry says how far behind the index is.

use redb::{ReadableTable, ReadableTableMetadata, TableDefinition};

use super::tables::CatalogTable;
use super::{Rx, Snapshot, StoreError, Tx};

/// Entry id (UUIDv7: its time first) → `kind\nrecord id`.
const OUTBOX: TableDefinition<u128, &str> = TableDefinition::new("search_outbox");

pub(super) const TABLES: &[&dyn CatalogTable] = &[&OUTBOX];

/// One record to index again.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub entry: u128,
    pub kind: String,
    pub id: String,
}

pub struct SearchOutbox<'s, S>(&'s S);

impl Rx {
    pub fn search_outbox(&self) -> SearchOutbox<'_, Self> {
        SearchOutbox(self)
    }
}

impl<'t> Tx<'t> {
    pub fn search_outbox(&self) -> SearchOutbox<'_, Self> {
        SearchOutbox(self)
    }
}

impl<S: Snapshot> SearchOutbox<'_, S> {
    /// The oldest `limit` entries.
    pub fn oldest(&self, limit: usize) -> Result<Vec<Pending>, StoreError> {
        let mut out = Vec::new();
        for row in self.0.table(OUTBOX)?.iter()?.take(limit) {
            let (key, value) = row?;
            let (kind, id) = value.value().split_once('\n').unwrap_or(("", ""));
            out.push(Pending {
                entry: key.value(),
                kind: kind.to_string(),
                id: id.to_string(),
            });
        }
        Ok(out)
    }

    /// Entries waiting.
    pub fn count(&self) -> Result<u64, StoreError> {
        Ok(self.0.table(OUTBOX)?.len()?)
    }

    /// The id of the oldest entry (its first 48 bits are its time in ms).
    pub fn first(&self) -> Result<Option<u128>, StoreError> {
        Ok(self.0.table(OUTBOX)?.first()?.map(|(k, _)| k.value()))
    }
}

impl SearchOutbox<'_, Tx<'_>> {
    pub fn push(&self, entry: u128, kind: &str, id: &str) -> Result<(), StoreError> {
        self.0
            .table(OUTBOX)?
            .insert(entry, format!("{kind}\n{id}").as_str())?;
        Ok(())
    }

    /// Forgets entries the index has taken.
    pub fn remove(&self, entries: &[u128]) -> Result<(), StoreError> {
        let mut table = self.0.table(OUTBOX)?;
        for e in entries {
            table.remove(*e)?;
        }
        Ok(())
    }
}
