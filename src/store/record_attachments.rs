//! Files attached to records and the text read from them. Adding one takes a reference on
//! its blob and removing one lets it go, in the same transaction, so the collector never
//! deletes a file an attachment still names.

use redb::{ReadableTable, TableDefinition};

use super::tables::CatalogTable;
use super::{Rows, Rx, Snapshot, StoreError, Tx};
use crate::domain::ids::{AttachmentId, RecordId};
use crate::domain::record_attachment::Attachment;

/// (record id, attachment id) → `Attachment`, oldest first.
const ATTACHMENTS: Rows<(u128, u128), Attachment> = Rows::new("record_attachments");
/// attachment id → the text read from it (for search; cut to the reading limit).
const TEXTS: TableDefinition<u128, &str> = TableDefinition::new("record_attachment_texts");

pub(super) const TABLES: &[&dyn CatalogTable] = &[&ATTACHMENTS, &TEXTS];

pub struct RecordAttachments<'s, S>(&'s S);

impl Rx {
    pub fn record_attachments(&self) -> RecordAttachments<'_, Self> {
        RecordAttachments(self)
    }
}

impl<'t> Tx<'t> {
    pub fn record_attachments(&self) -> RecordAttachments<'_, Self> {
        RecordAttachments(self)
    }
}

impl<S: Snapshot> RecordAttachments<'_, S> {
    /// A record's files, oldest first.
    pub fn of(&self, record: RecordId) -> Result<Vec<Attachment>, StoreError> {
        let r = record.as_u128();
        let table = ATTACHMENTS.open(self.0)?;
        let mut out = Vec::new();
        for entry in table.range((r, 0)..=(r, u128::MAX))? {
            out.push(super::codec::decode(entry?.1.value())?);
        }
        Ok(out)
    }

    pub fn get(
        &self,
        record: RecordId,
        id: AttachmentId,
    ) -> Result<Option<Attachment>, StoreError> {
        ATTACHMENTS.get(self.0, (record.as_u128(), id.as_u128()))
    }

    /// How many files a record has, counting up to `max`.
    pub fn count(&self, record: RecordId, max: usize) -> Result<usize, StoreError> {
        let r = record.as_u128();
        Ok(ATTACHMENTS
            .open(self.0)?
            .range((r, 0)..=(r, u128::MAX))?
            .take(max)
            .count())
    }

    /// The texts read from a record's files, oldest file first, `max_chars` in all at most.
    pub fn texts(&self, record: RecordId, max_chars: usize) -> Result<Vec<String>, StoreError> {
        let table = self.0.table(TEXTS)?;
        let mut out = Vec::new();
        let mut left = max_chars;
        for a in self.of(record)? {
            if left == 0 {
                break;
            }
            if let Some(text) = table.get(a.id.as_u128())? {
                let text: String = text.value().chars().take(left).collect();
                left -= text.chars().count();
                out.push(text);
            }
        }
        Ok(out)
    }
}

impl RecordAttachments<'_, Tx<'_>> {
    /// Stores a new file on its record and takes a reference on its blob.
    pub fn add(&self, attachment: &Attachment) -> Result<(), StoreError> {
        self.0.blobs().retain(&attachment.sha256)?;
        self.put(attachment)
    }

    /// Saves what became of a file's text, with the text when some was read.
    pub fn set_text(&self, attachment: &Attachment, text: Option<&str>) -> Result<(), StoreError> {
        let mut texts = self.0.table(TEXTS)?;
        match text {
            Some(t) => texts.insert(attachment.id.as_u128(), t)?,
            None => texts.remove(attachment.id.as_u128())?,
        };
        drop(texts);
        self.put(attachment)
    }

    fn put(&self, attachment: &Attachment) -> Result<(), StoreError> {
        ATTACHMENTS.insert(
            self.0,
            (attachment.record.as_u128(), attachment.id.as_u128()),
            attachment,
        )
    }

    /// Takes a file off its record with its text, and lets its blob go (the collector deletes
    /// the bytes once nothing refers to them).
    pub fn remove(
        &self,
        record: RecordId,
        id: AttachmentId,
        now_ms: i64,
    ) -> Result<Option<Attachment>, StoreError> {
        let removed = ATTACHMENTS.remove(self.0, (record.as_u128(), id.as_u128()))?;
        if let Some(a) = &removed {
            self.0.table(TEXTS)?.remove(a.id.as_u128())?;
            self.0.blobs().release(&a.sha256, now_ms)?;
        }
        Ok(removed)
    }

    /// Files `member` added to `record` are kept (the record is the community's) as added by
    /// `nobody`, when the member's account is erased.
    pub fn forget_adder(
        &self,
        record: RecordId,
        member: crate::domain::ids::UserId,
        nobody: crate::domain::ids::UserId,
    ) -> Result<(), StoreError> {
        for mut a in self.of(record)? {
            if a.by == member {
                a.by = nobody;
                self.put(&a)?;
            }
        }
        Ok(())
    }

    /// Takes every file off a record (when it is purged).
    pub fn remove_all(&self, record: RecordId, now_ms: i64) -> Result<usize, StoreError> {
        let all = self.of(record)?;
        for a in &all {
            self.remove(record, a.id, now_ms)?;
        }
        Ok(all.len())
    }
}
