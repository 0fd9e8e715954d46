//! Reference counts of content-addressed blobs, and the collector's list of blobs nothing
//! references. Counts change in the transaction that changes the records using the blobs.

use redb::{ReadableTable, TableDefinition};

use super::tables::CatalogTable;
use super::{Rx, Snapshot, StoreError, Tx};

/// blob SHA-256 → how many records use it.
const REFS: TableDefinition<&[u8; 32], u64> = TableDefinition::new("blob_refs");
/// blob SHA-256 → when (Unix ms) its last reference went.
const UNREFERENCED: TableDefinition<&[u8; 32], i64> = TableDefinition::new("blobs_unreferenced");

/// This aggregate's tables, for the catalog.
pub(super) const TABLES: &[&dyn CatalogTable] = &[&REFS, &UNREFERENCED];

pub type Sha256 = [u8; 32];

pub struct Blobs<'s, S>(&'s S);

impl Rx {
    pub fn blobs(&self) -> Blobs<'_, Self> {
        Blobs(self)
    }
}

impl<'t> Tx<'t> {
    pub fn blobs(&self) -> Blobs<'_, Self> {
        Blobs(self)
    }
}

impl<S: Snapshot> Blobs<'_, S> {
    pub fn refs(&self, sha256: &Sha256) -> Result<u64, StoreError> {
        Ok(self.0.table(REFS)?.get(sha256)?.map_or(0, |v| v.value()))
    }

    /// Those of `shas` that nothing references.
    pub fn unused(&self, shas: Vec<Sha256>) -> Result<Vec<Sha256>, StoreError> {
        let refs = self.0.table(REFS)?;
        let mut unused = Vec::new();
        for sha in shas {
            if refs.get(&sha)?.is_none() {
                unused.push(sha);
            }
        }
        Ok(unused)
    }

    /// Blobs unreferenced since before `cutoff_ms`, at most `limit`.
    pub fn unreferenced(&self, cutoff_ms: i64, limit: usize) -> Result<Vec<Sha256>, StoreError> {
        let mut out = Vec::new();
        for entry in self.0.table(UNREFERENCED)?.iter()? {
            let (hash, since) = entry?;
            if since.value() < cutoff_ms {
                out.push(*hash.value());
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }
}

impl Blobs<'_, Tx<'_>> {
    pub fn retain(&self, sha256: &Sha256) -> Result<(), StoreError> {
        let mut refs = self.0.table(REFS)?;
        let count = refs.get(sha256)?.map_or(0, |v| v.value());
        refs.insert(sha256, count + 1)?;
        self.0.table(UNREFERENCED)?.remove(sha256)?;
        Ok(())
    }

    /// Drops one reference; a blob with none left goes on the collector's list, and true is
    /// returned so the caller can delete its file at once.
    pub fn release(&self, sha256: &Sha256, now_ms: i64) -> Result<bool, StoreError> {
        let mut refs = self.0.table(REFS)?;
        let count = refs.get(sha256)?.map_or(0, |v| v.value());
        if count > 1 {
            refs.insert(sha256, count - 1)?;
            return Ok(false);
        }
        refs.remove(sha256)?;
        self.0.table(UNREFERENCED)?.insert(sha256, now_ms)?;
        Ok(true)
    }

    /// Puts a blob file nothing references on the collector's list, unless it is there
    /// already (a crash between writing a blob and committing its record leaves such files).
    pub fn note_if_unreferenced(&self, sha256: &Sha256, now_ms: i64) -> Result<bool, StoreError> {
        if self.0.table(REFS)?.get(sha256)?.is_some() {
            return Ok(false);
        }
        let mut listed = self.0.table(UNREFERENCED)?;
        if listed.get(sha256)?.is_some() {
            return Ok(false);
        }
        listed.insert(sha256, now_ms)?;
        Ok(true)
    }

    /// Takes a blob off the collector's list if it is still unreferenced and has been since
    /// before `cutoff_ms`; true when the caller may delete its file. With `cutoff_ms` of
    /// `i64::MAX` this is the immediate release of a blob its last record just let go of.
    pub fn forget_unreferenced(&self, sha256: &Sha256, cutoff_ms: i64) -> Result<bool, StoreError> {
        let mut listed = self.0.table(UNREFERENCED)?;
        if self.0.table(REFS)?.get(sha256)?.is_some() {
            listed.remove(sha256)?;
            return Ok(false);
        }
        let since = listed.get(sha256)?.map(|v| v.value());
        match since {
            Some(since) if since < cutoff_ms => {
                listed.remove(sha256)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
