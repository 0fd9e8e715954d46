//! The audit log: appended in the same transaction as the staff action it records, read
//! newest first a page at a time, and filtered by actor through its own index.

use redb::{ReadableTable, TableDefinition, WriteTransaction};

use super::codec::decode;
use super::tables::CatalogTable;
use super::{Rows, Rx, Snapshot, StoreError, Tx};
use crate::domain::audit::{AuditEntry, AuditFilter};
use crate::domain::ids::UserId;

/// (time in Unix ms, entry id) → `AuditEntry`, oldest first.
const AUDIT_LOG: Rows<(i64, u128), AuditEntry> = Rows::new("audit_log");
/// (actor id, time in Unix ms, entry id) → ().
const BY_ACTOR: TableDefinition<(u128, i64, u128), ()> = TableDefinition::new("audit_by_actor");

/// Most entries one page may read past without a match: a filter that matches rarely
/// answers with fewer entries and a cursor to go on from, instead of reading the whole log.
pub const SCAN_LIMIT: usize = 10_000;

/// This aggregate's tables, for the catalog.
pub(super) const TABLES: &[&dyn CatalogTable] = &[&AUDIT_LOG, &BY_ACTOR];

/// Builds the actor index of a database written before it existed.
pub(super) fn index_actors(txn: &WriteTransaction) -> Result<(), StoreError> {
    let log = txn.open_table(AUDIT_LOG.def)?;
    let mut by_actor = txn.open_table(BY_ACTOR)?;
    for entry in log.iter()? {
        let (key, raw) = entry?;
        let (at, id) = key.value();
        let entry: AuditEntry = decode(raw.value())?;
        by_actor.insert((entry.actor.as_u128(), at, id), ())?;
    }
    Ok(())
}

/// Where a page of the log starts: just older than this entry.
pub type AuditCursor = (i64, u128);

/// One page of the log, newest first, and where the next page starts (if there may be one).
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next: Option<AuditCursor>,
}

pub struct Audit<'s, S>(&'s S);

impl Rx {
    pub fn audit(&self) -> Audit<'_, Self> {
        Audit(self)
    }
}

impl<'t> Tx<'t> {
    pub fn audit(&self) -> Audit<'_, Self> {
        Audit(self)
    }
}

impl<S: Snapshot> Audit<'_, S> {
    /// Entries matching `filter`, newest first, older than `before` (from the newest when
    /// `None`), at most `limit`.
    pub fn page(
        &self,
        filter: &AuditFilter,
        before: Option<AuditCursor>,
        limit: usize,
    ) -> Result<AuditPage, StoreError> {
        let upper = before.unwrap_or((i64::MAX, u128::MAX));
        let lower = (filter.from.map_or(i64::MIN, |t| t.as_millisecond()), 0u128);
        let upper = match filter.until {
            Some(until) => upper.min((until.as_millisecond(), u128::MAX)),
            None => upper,
        };
        if lower >= upper {
            return Ok(AuditPage {
                entries: Vec::new(),
                next: None,
            });
        }
        let keys: Box<dyn Iterator<Item = Result<AuditCursor, StoreError>>> = match filter.actor {
            Some(actor) => {
                let a = actor.as_u128();
                let keys: Vec<_> = self
                    .0
                    .table(BY_ACTOR)?
                    .range((a, lower.0, lower.1)..(a, upper.0, upper.1))?
                    .rev()
                    .take(SCAN_LIMIT)
                    .map(|e| {
                        e.map(|(k, _)| (k.value().1, k.value().2))
                            .map_err(StoreError::from)
                    })
                    .collect();
                Box::new(keys.into_iter())
            }
            None => {
                let keys: Vec<_> = AUDIT_LOG
                    .open(self.0)?
                    .range(lower..upper)?
                    .rev()
                    .take(SCAN_LIMIT)
                    .map(|e| e.map(|(k, _)| k.value()).map_err(StoreError::from))
                    .collect();
                Box::new(keys.into_iter())
            }
        };
        let mut entries = Vec::new();
        let mut last = None;
        let mut scanned = 0;
        for key in keys {
            let key = key?;
            last = Some(key);
            scanned += 1;
            if let Some(entry) = AUDIT_LOG.get(self.0, key)?
                && filter.matches(&entry)
            {
                entries.push(entry);
                if entries.len() >= limit {
                    break;
                }
            }
        }
        // More may follow when the page is full, or the scan stopped at its limit.
        let next = (entries.len() >= limit || scanned >= SCAN_LIMIT)
            .then_some(last)
            .flatten();
        Ok(AuditPage { entries, next })
    }
}

impl Audit<'_, Tx<'_>> {
    /// Appends an entry; `id` orders entries written in the same millisecond.
    pub fn append(&self, id: u128, entry: &AuditEntry) -> Result<(), StoreError> {
        let at = entry.at.as_millisecond();
        self.0
            .table(BY_ACTOR)?
            .insert((entry.actor.as_u128(), at, id), ())?;
        AUDIT_LOG.insert(self.0, (at, id), entry)
    }

    /// A deleted member's entries keep their name (staff actions stay accountable) but lose
    /// the account id.
    pub fn forget_actor(&self, actor: UserId) -> Result<(), StoreError> {
        let a = actor.as_u128();
        let keys: Vec<(i64, u128)> = self
            .0
            .table(BY_ACTOR)?
            .range((a, i64::MIN, 0)..=(a, i64::MAX, u128::MAX))?
            .map(|e| e.map(|(k, _)| (k.value().1, k.value().2)))
            .collect::<Result<_, _>>()?;
        let mut by_actor = self.0.table(BY_ACTOR)?;
        for (at, id) in keys {
            by_actor.remove((a, at, id))?;
            by_actor.insert((0, at, id), ())?;
            if let Some(mut entry) = AUDIT_LOG.get(self.0, (at, id))? {
                entry.actor = UserId::from_u128(0);
                AUDIT_LOG.insert(self.0, (at, id), &entry)?;
            }
        }
        Ok(())
    }
}
