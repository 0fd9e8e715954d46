//! What members search for, as counts only (never who): each query as read (folded words),
//! how often it was asked and how often it found nothing. At most [`QUERIES_KEPT`] distinct
//! queries: once full, only queries already counted go on counting.

use redb::{ReadableTable, ReadableTableMetadata, TableDefinition};

use super::tables::CatalogTable;
use super::{Rx, Snapshot, StoreError, Tx};

/// query → (times asked, times it found nothing).
const QUERIES: TableDefinition<&str, (u64, u64)> = TableDefinition::new("search_queries");

pub(super) const TABLES: &[&dyn CatalogTable] = &[&QUERIES];

/// Distinct queries kept.
pub const QUERIES_KEPT: u64 = 10_000;

pub struct SearchQueries<'s, S>(&'s S);

impl Rx {
    pub fn search_queries(&self) -> SearchQueries<'_, Self> {
        SearchQueries(self)
    }
}

impl<'t> Tx<'t> {
    pub fn search_queries(&self) -> SearchQueries<'_, Self> {
        SearchQueries(self)
    }
}

impl<S: Snapshot> SearchQueries<'_, S> {
    /// Every query counted, with its counts.
    pub fn all(&self) -> Result<Vec<(String, u64, u64)>, StoreError> {
        self.0
            .table(QUERIES)?
            .iter()?
            .map(|e| {
                e.map(|(k, v)| {
                    let (asked, empty) = v.value();
                    (k.value().to_string(), asked, empty)
                })
            })
            .collect::<Result<_, _>>()
            .map_err(StoreError::from)
    }
}

impl SearchQueries<'_, Tx<'_>> {
    pub fn add(&self, query: &str, asked: u64, empty: u64) -> Result<(), StoreError> {
        let mut table = self.0.table(QUERIES)?;
        let current = table.get(query)?.map(|v| v.value());
        match current {
            Some((a, e)) => {
                table.insert(query, (a + asked, e + empty))?;
            }
            None if table.len()? < QUERIES_KEPT => {
                table.insert(query, (asked, empty))?;
            }
            None => {}
        }
        Ok(())
    }
}
