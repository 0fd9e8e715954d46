//! The audit log: appended in the same transaction as the staff action it records.

use redb::ReadableTable as _;

use super::codec::{decode, encode};
use super::tables::AUDIT_LOG;
use super::{Rx, StoreError, Tx};
use crate::domain::audit::AuditEntry;

impl Tx<'_> {
    /// Appends an entry; `id` orders entries written in the same millisecond.
    pub fn append_audit(&self, id: u128, entry: &AuditEntry) -> Result<(), StoreError> {
        self.txn
            .open_table(AUDIT_LOG)?
            .insert((entry.at.as_millisecond(), id), encode(entry)?.as_slice())?;
        Ok(())
    }
}

impl Rx {
    /// The newest `limit` entries, newest first.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let table = self.txn.open_table(AUDIT_LOG)?;
        let mut out = Vec::new();
        for entry in table.iter()?.rev().take(limit) {
            let (_, v) = entry?;
            out.push(decode(v.value())?);
        }
        Ok(out)
    }
}
