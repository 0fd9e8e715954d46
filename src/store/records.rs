//! Records and their history. A record is saved only over the version it was read at, so two
//! edits never clobber each other; each save writes its history lines in the same
//! transaction.

use redb::ReadableTable;

use super::tables::CatalogTable;
use super::{Rows, Rx, Snapshot, StoreError, Tx};
use crate::domain::ids::RecordId;
use crate::domain::record::{Change, Record};

/// record id → `Record`.
const RECORDS: Rows<u128, Record> = Rows::new("records");
/// (record id, line) → `Change`, oldest first.
const HISTORY: Rows<(u128, u64), Change> = Rows::new("record_history");

pub(super) const TABLES: &[&dyn CatalogTable] = &[&RECORDS, &HISTORY];

pub struct Records<'s, S>(&'s S);

impl Rx {
    pub fn records(&self) -> Records<'_, Self> {
        Records(self)
    }
}

impl<'t> Tx<'t> {
    pub fn records(&self) -> Records<'_, Self> {
        Records(self)
    }
}

impl<S: Snapshot> Records<'_, S> {
    pub fn get(&self, id: RecordId) -> Result<Option<Record>, StoreError> {
        RECORDS.get(self.0, id.as_u128())
    }

    /// Everything that happened to a record, oldest first.
    pub fn history(&self, id: RecordId) -> Result<Vec<Change>, StoreError> {
        let r = id.as_u128();
        let table = HISTORY.open(self.0)?;
        let mut out = Vec::new();
        for entry in table.range((r, 0)..=(r, u64::MAX))? {
            out.push(super::codec::decode(entry?.1.value())?);
        }
        Ok(out)
    }
}

impl Records<'_, Tx<'_>> {
    /// Stores a new record (version 1) with its history's first lines.
    pub fn insert(&self, record: &Record, changes: &[Change]) -> Result<(), StoreError> {
        RECORDS.insert(self.0, record.id.as_u128(), record)?;
        self.append(record.id, changes)
    }

    /// Saves `record` over the stored one if that is still at `expected` version: the
    /// version goes up by one and the history gets `changes`. Otherwise nothing is written
    /// and the stored record comes back (`None` when there is none).
    pub fn update(
        &self,
        record: &Record,
        expected: u64,
        changes: &[Change],
    ) -> Result<Result<Record, Option<Record>>, StoreError> {
        let current = self.get(record.id)?;
        match current {
            Some(stored) if stored.version == expected => {
                let mut saved = record.clone();
                saved.version = expected + 1;
                RECORDS.insert(self.0, saved.id.as_u128(), &saved)?;
                self.append(saved.id, changes)?;
                Ok(Ok(saved))
            }
            other => Ok(Err(other)),
        }
    }

    fn append(&self, id: RecordId, changes: &[Change]) -> Result<(), StoreError> {
        let r = id.as_u128();
        let next = HISTORY
            .open(self.0)?
            .range((r, 0)..=(r, u64::MAX))?
            .next_back()
            .transpose()?
            .map_or(0, |(k, _)| k.value().1 + 1);
        for (i, change) in changes.iter().enumerate() {
            HISTORY.insert(self.0, (r, next + i as u64), change)?;
        }
        Ok(())
    }
}
