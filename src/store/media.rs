//! Media records, their indexes, per-member usage, and the reference counts of the blobs they
//! use. A record and the counts of its blobs change in the same transaction, so a blob is
//! never counted for a record that does not exist, nor missed for one that does.

use redb::{ReadableTable, ReadableTableMetadata};

use super::codec::{decode, encode};
use super::tables::{
    BLOB_REFS, BLOBS_UNREFERENCED, MEDIA, MEDIA_BY_OWNER, MEDIA_QUEUE, MEDIA_USAGE,
};
use super::{Rx, StoreError, Tx};
use crate::domain::ids::{MediaId, UserId};
use crate::domain::media::{Media, MediaState};

fn media_in(
    table: &impl ReadableTable<u128, &'static [u8]>,
    id: MediaId,
) -> Result<Option<Media>, StoreError> {
    let found = table
        .get(id.as_u128())?
        .map(|v| decode(v.value()))
        .transpose()?;
    Ok(found)
}

impl Tx<'_> {
    pub fn read_media(&self, id: MediaId) -> Result<Option<Media>, StoreError> {
        media_in(&self.txn.open_table(MEDIA)?, id)
    }

    pub fn media_usage_of(&self, owner: UserId) -> Result<u64, StoreError> {
        let usage = self
            .txn
            .open_table(MEDIA_USAGE)?
            .get(owner.as_u128())?
            .map_or(0, |v| v.value());
        Ok(usage)
    }

    /// Stores a new record: its indexes, its owner's usage and one reference per blob.
    pub fn insert_media(&self, media: &Media) -> Result<(), StoreError> {
        for blob in media.blobs() {
            self.retain_blob(&blob.sha256)?;
        }
        let usage = self.media_usage_of(media.owner)? + media.upload_size;
        self.txn
            .open_table(MEDIA_USAGE)?
            .insert(media.owner.as_u128(), usage)?;
        self.txn
            .open_table(MEDIA_BY_OWNER)?
            .insert((media.owner.as_u128(), media.id.as_u128()), ())?;
        self.write_media(media)
    }

    /// Replaces a record; blobs it gained are retained and blobs it dropped released at
    /// `now_ms`.
    pub fn update_media(&self, media: &Media, now_ms: i64) -> Result<(), StoreError> {
        let old = self
            .read_media(media.id)?
            .ok_or_else(|| StoreError::Database(format!("media {} vanished", media.id)))?;
        for blob in media.blobs() {
            self.retain_blob(&blob.sha256)?;
        }
        for blob in old.blobs() {
            self.release_blob(&blob.sha256, now_ms)?;
        }
        self.write_media(media)
    }

    fn write_media(&self, media: &Media) -> Result<(), StoreError> {
        let mut queue = self.txn.open_table(MEDIA_QUEUE)?;
        if media.state == MediaState::PendingApproval {
            queue.insert(media.id.as_u128(), ())?;
        } else {
            queue.remove(media.id.as_u128())?;
        }
        self.txn
            .open_table(MEDIA)?
            .insert(media.id.as_u128(), encode(media)?.as_slice())?;
        Ok(())
    }

    /// Removes a record with its indexes, gives back its usage and releases its blobs.
    pub fn delete_media(&self, id: MediaId, now_ms: i64) -> Result<Option<Media>, StoreError> {
        let Some(media) = self.read_media(id)? else {
            return Ok(None);
        };
        for blob in media.blobs() {
            self.release_blob(&blob.sha256, now_ms)?;
        }
        let usage = self
            .media_usage_of(media.owner)?
            .saturating_sub(media.upload_size);
        self.txn
            .open_table(MEDIA_USAGE)?
            .insert(media.owner.as_u128(), usage)?;
        self.txn
            .open_table(MEDIA_BY_OWNER)?
            .remove((media.owner.as_u128(), id.as_u128()))?;
        self.txn.open_table(MEDIA_QUEUE)?.remove(id.as_u128())?;
        self.txn.open_table(MEDIA)?.remove(id.as_u128())?;
        Ok(Some(media))
    }

    /// Removes every record of a member (their account is being deleted). The blobs become
    /// collectable at once.
    pub fn delete_media_of(&self, owner: UserId) -> Result<(), StoreError> {
        let o = owner.as_u128();
        let ids: Vec<u128> = self
            .txn
            .open_table(MEDIA_BY_OWNER)?
            .range((o, 0)..=(o, u128::MAX))?
            .map(|e| e.map(|(k, _)| k.value().1))
            .collect::<Result<_, _>>()?;
        for id in ids {
            self.delete_media(MediaId::from_u128(id), 0)?;
        }
        self.txn.open_table(MEDIA_USAGE)?.remove(o)?;
        Ok(())
    }

    pub fn retain_blob(&self, sha256: &[u8; 32]) -> Result<(), StoreError> {
        let mut refs = self.txn.open_table(BLOB_REFS)?;
        let count = refs.get(sha256)?.map_or(0, |v| v.value());
        refs.insert(sha256, count + 1)?;
        self.txn.open_table(BLOBS_UNREFERENCED)?.remove(sha256)?;
        Ok(())
    }

    /// Drops one reference; a blob with none left goes on the collector's list.
    pub fn release_blob(&self, sha256: &[u8; 32], now_ms: i64) -> Result<(), StoreError> {
        let mut refs = self.txn.open_table(BLOB_REFS)?;
        let count = refs.get(sha256)?.map_or(0, |v| v.value());
        if count > 1 {
            refs.insert(sha256, count - 1)?;
        } else {
            refs.remove(sha256)?;
            self.txn
                .open_table(BLOBS_UNREFERENCED)?
                .insert(sha256, now_ms)?;
        }
        Ok(())
    }

    /// Puts a blob file nothing references on the collector's list, unless it is there
    /// already (a crash between writing a blob and committing its record leaves such files).
    pub fn note_if_unreferenced(&self, sha256: &[u8; 32], now_ms: i64) -> Result<bool, StoreError> {
        if self.txn.open_table(BLOB_REFS)?.get(sha256)?.is_some() {
            return Ok(false);
        }
        let mut listed = self.txn.open_table(BLOBS_UNREFERENCED)?;
        if listed.get(sha256)?.is_some() {
            return Ok(false);
        }
        listed.insert(sha256, now_ms)?;
        Ok(true)
    }

    /// Takes a blob off the collector's list if it is still unreferenced and has been since
    /// before `cutoff_ms`; true when the caller may delete its file.
    pub fn forget_unreferenced_blob(
        &self,
        sha256: &[u8; 32],
        cutoff_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut listed = self.txn.open_table(BLOBS_UNREFERENCED)?;
        if self.txn.open_table(BLOB_REFS)?.get(sha256)?.is_some() {
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

impl Rx {
    pub fn media(&self, id: MediaId) -> Result<Option<Media>, StoreError> {
        media_in(&self.txn.open_table(MEDIA)?, id)
    }

    /// A member's media, newest first.
    pub fn media_of(&self, owner: UserId) -> Result<Vec<Media>, StoreError> {
        let o = owner.as_u128();
        let table = self.txn.open_table(MEDIA)?;
        let mut out = Vec::new();
        for entry in self
            .txn
            .open_table(MEDIA_BY_OWNER)?
            .range((o, 0)..=(o, u128::MAX))?
            .rev()
        {
            let id = MediaId::from_u128(entry?.0.value().1);
            out.extend(media_in(&table, id)?);
        }
        Ok(out)
    }

    /// Media waiting for approval, oldest first.
    pub fn media_queue(&self, limit: usize) -> Result<Vec<Media>, StoreError> {
        let table = self.txn.open_table(MEDIA)?;
        let mut out = Vec::new();
        for entry in self.txn.open_table(MEDIA_QUEUE)?.iter()?.take(limit) {
            out.extend(media_in(&table, MediaId::from_u128(entry?.0.value()))?);
        }
        Ok(out)
    }

    pub fn media_queue_len(&self) -> Result<u64, StoreError> {
        Ok(self.txn.open_table(MEDIA_QUEUE)?.len()?)
    }

    /// The most recent uploads on the site, newest first.
    pub fn recent_media(&self, limit: usize) -> Result<Vec<Media>, StoreError> {
        let mut out = Vec::new();
        for entry in self.txn.open_table(MEDIA)?.iter()?.rev().take(limit) {
            out.push(decode(entry?.1.value())?);
        }
        Ok(out)
    }

    pub fn media_usage(&self, owner: UserId) -> Result<u64, StoreError> {
        Ok(self
            .txn
            .open_table(MEDIA_USAGE)?
            .get(owner.as_u128())?
            .map_or(0, |v| v.value()))
    }

    pub fn blob_refs(&self, sha256: &[u8; 32]) -> Result<u64, StoreError> {
        Ok(self
            .txn
            .open_table(BLOB_REFS)?
            .get(sha256)?
            .map_or(0, |v| v.value()))
    }

    /// Blobs unreferenced since before `cutoff_ms`, at most `limit`.
    pub fn unreferenced_blobs(
        &self,
        cutoff_ms: i64,
        limit: usize,
    ) -> Result<Vec<[u8; 32]>, StoreError> {
        let mut out = Vec::new();
        for entry in self.txn.open_table(BLOBS_UNREFERENCED)?.iter()? {
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
