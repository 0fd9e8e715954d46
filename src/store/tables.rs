//! The catalog: every aggregate's tables. Each aggregate file declares its tables privately
//! and lists them in its `TABLES`; the catalog lists the aggregates. `create_all` runs at every
//! open, so a table added by a new version needs no migration and readers never meet a
//! missing table. A test compares the tables of a new database with every table definition
//! in `src/store/`, so a table left out of its file's list fails it.

use redb::{
    Key, MultimapTableDefinition, MultimapTableHandle, ReadableMultimapTable, ReadableTable,
    TableDefinition, TableHandle, Value, WriteTransaction,
};

use super::{Rows, Rx, StoreError};
use super::{
    api_tokens, approvals, audit, blobs, blocks, instance, invites, jobs, matches, media, messages,
    notifications, one_time_tokens, passkeys, profiles, record_attachments, record_numbers,
    records, reports, search_outbox, search_queries, second_factors, sessions, stories, swipes,
    users,
};

/// Every aggregate's tables.
const CATALOG: &[&[&dyn CatalogTable]] = &[
    instance::TABLES,
    users::TABLES,
    search_outbox::TABLES,
    search_queries::TABLES,
    sessions::TABLES,
    api_tokens::TABLES,
    second_factors::TABLES,
    passkeys::TABLES,
    one_time_tokens::TABLES,
    approvals::TABLES,
    invites::TABLES,
    media::TABLES,
    profiles::TABLES,
    swipes::TABLES,
    matches::TABLES,
    blocks::TABLES,
    reports::TABLES,
    stories::TABLES,
    record_numbers::TABLES,
    records::TABLES,
    record_attachments::TABLES,
    messages::TABLES,
    notifications::TABLES,
    blobs::TABLES,
    audit::TABLES,
    jobs::TABLES,
];

/// A row as raw bytes: key, value.
pub type RawRow = (Vec<u8>, Vec<u8>);

/// A table as the catalog sees it, whatever its key and value types.
pub trait CatalogTable {
    fn table_name(&self) -> &str;
    fn create(&self, txn: &WriteTransaction) -> Result<(), StoreError>;
    /// Every row as raw bytes, key then value (for checks that data is gone).
    fn raw_rows(&self, rx: &Rx) -> Result<Vec<RawRow>, StoreError>;
}

impl<K: Key + 'static, V: Value + 'static> CatalogTable for TableDefinition<'static, K, V> {
    fn table_name(&self) -> &str {
        self.name()
    }

    fn create(&self, txn: &WriteTransaction) -> Result<(), StoreError> {
        txn.open_table(*self)?;
        Ok(())
    }

    fn raw_rows(&self, rx: &Rx) -> Result<Vec<RawRow>, StoreError> {
        let mut out = Vec::new();
        for entry in rx.txn.open_table(*self)?.iter()? {
            let (k, v) = entry?;
            out.push((
                K::as_bytes(&k.value()).as_ref().to_vec(),
                V::as_bytes(&v.value()).as_ref().to_vec(),
            ));
        }
        Ok(out)
    }
}

impl<K: Key + 'static, V: Key + 'static> CatalogTable for MultimapTableDefinition<'static, K, V> {
    fn table_name(&self) -> &str {
        self.name()
    }

    fn create(&self, txn: &WriteTransaction) -> Result<(), StoreError> {
        txn.open_multimap_table(*self)?;
        Ok(())
    }

    fn raw_rows(&self, rx: &Rx) -> Result<Vec<RawRow>, StoreError> {
        let mut out = Vec::new();
        for entry in rx.txn.open_multimap_table(*self)?.iter()? {
            let (k, values) = entry?;
            let key = K::as_bytes(&k.value()).as_ref().to_vec();
            for v in values {
                out.push((key.clone(), V::as_bytes(&v?.value()).as_ref().to_vec()));
            }
        }
        Ok(out)
    }
}

impl<K: Key + 'static, V> CatalogTable for Rows<K, V> {
    fn table_name(&self) -> &str {
        self.def.name()
    }

    fn create(&self, txn: &WriteTransaction) -> Result<(), StoreError> {
        self.def.create(txn)
    }

    fn raw_rows(&self, rx: &Rx) -> Result<Vec<RawRow>, StoreError> {
        self.def.raw_rows(rx)
    }
}

/// Creates every table that does not exist yet. Idempotent.
pub fn create_all(txn: &WriteTransaction) -> Result<(), StoreError> {
    for table in CATALOG.iter().flat_map(|t| t.iter()) {
        table.create(txn)?;
    }
    Ok(())
}

/// The names of the tables in which some key or value contains one of `needles`.
pub fn tables_containing(rx: &Rx, needles: &[Vec<u8>]) -> Result<Vec<String>, StoreError> {
    let mut found = Vec::new();
    for table in CATALOG.iter().flat_map(|t| t.iter()) {
        let hit = table
            .raw_rows(rx)?
            .iter()
            .any(|(k, v)| needles.iter().any(|n| contains(k, n) || contains(v, n)));
        if hit {
            found.push(table.table_name().to_string());
        }
    }
    Ok(found)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
