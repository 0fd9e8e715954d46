//! Media records, their indexes and per-member usage. A record and the reference counts of
//! its blobs (see `blobs`) change in the same transaction, so a blob is never counted for a
//! record that does not exist, nor missed for one that does.

use redb::{ReadableTable, ReadableTableMetadata, TableDefinition};

use super::blobs::Sha256;
use super::codec::decode;
use super::tables::CatalogTable;
use super::{Rows, Rx, Snapshot, StoreError, Tx, Versioned};
use crate::domain::ids::{MediaId, UserId};
use crate::domain::media::{Media, MediaState};

/// media id → `Media`. Ids are UUIDv7, so a reverse scan is newest first.
const MEDIA: Rows<u128, Media> = Rows::new("media");
/// (owner id, media id) → (): a member's library.
const BY_OWNER: TableDefinition<(u128, u128), ()> = TableDefinition::new("media_by_owner");
/// media id → () for media waiting for staff approval (ids sort oldest first).
const QUEUE: TableDefinition<u128, ()> = TableDefinition::new("media_queue");
/// owner id → bytes uploaded, for the quota.
const USAGE: TableDefinition<u128, u64> = TableDefinition::new("media_usage");

/// This aggregate's tables, for the catalog.
pub(super) const TABLES: &[&dyn CatalogTable] = &[&MEDIA, &BY_OWNER, &QUEUE, &USAGE];

pub struct MediaView<'s, S>(&'s S);

impl Rx {
    pub fn media(&self) -> MediaView<'_, Self> {
        MediaView(self)
    }
}

impl<'t> Tx<'t> {
    pub fn media(&self) -> MediaView<'_, Self> {
        MediaView(self)
    }
}

impl<S: Snapshot> MediaView<'_, S> {
    pub fn get(&self, id: MediaId) -> Result<Option<Media>, StoreError> {
        MEDIA.get(self.0, id.as_u128())
    }

    pub fn usage_of(&self, owner: UserId) -> Result<u64, StoreError> {
        Ok(self
            .0
            .table(USAGE)?
            .get(owner.as_u128())?
            .map_or(0, |v| v.value()))
    }

    /// A member's media, newest first, older than `before` (from the newest when `None`),
    /// at most `limit`.
    pub fn of_owner(
        &self,
        owner: UserId,
        before: Option<MediaId>,
        limit: usize,
    ) -> Result<Vec<Media>, StoreError> {
        self.of_owner_versioned(owner, before, limit)?
            .iter()
            .map(|(_, stored)| stored.decode())
            .collect()
    }

    /// [`of_owner`](Self::of_owner), each record as stored, decoded when asked.
    pub fn of_owner_versioned(
        &self,
        owner: UserId,
        before: Option<MediaId>,
        limit: usize,
    ) -> Result<Vec<(MediaId, Versioned<Media>)>, StoreError> {
        let o = owner.as_u128();
        let upper = before.map_or(u128::MAX, MediaId::as_u128);
        let media = MEDIA.open(self.0)?;
        let mut out = Vec::new();
        for entry in self
            .0
            .table(BY_OWNER)?
            .range((o, 0)..(o, upper))?
            .rev()
            .take(limit)
        {
            let id = entry?.0.value().1;
            if let Some(stored) = MEDIA.get_versioned_in(&media, id)? {
                out.push((MediaId::from_u128(id), stored));
            }
        }
        Ok(out)
    }

    /// Media waiting for approval, oldest first, skipping `offset`, at most `limit`.
    pub fn queue(&self, offset: usize, limit: usize) -> Result<Vec<Media>, StoreError> {
        let media = MEDIA.open(self.0)?;
        let mut out = Vec::new();
        for entry in self.0.table(QUEUE)?.iter()?.skip(offset).take(limit) {
            out.extend(MEDIA.get_in(&media, entry?.0.value())?);
        }
        Ok(out)
    }

    pub fn queue_len(&self) -> Result<u64, StoreError> {
        Ok(self.0.table(QUEUE)?.len()?)
    }

    /// The most recent uploads on the site, newest first.
    pub fn recent(&self, limit: usize) -> Result<Vec<Media>, StoreError> {
        let mut out = Vec::new();
        for entry in MEDIA.open(self.0)?.iter()?.rev().take(limit) {
            out.push(decode(entry?.1.value())?);
        }
        Ok(out)
    }
}

impl MediaView<'_, Tx<'_>> {
    /// Stores a new record: its indexes, its owner's usage and one reference per blob.
    pub fn insert(&self, media: &Media) -> Result<(), StoreError> {
        for blob in media.blobs() {
            self.0.blobs().retain(&blob.sha256)?;
        }
        let o = media.owner.as_u128();
        let usage = self.usage_of(media.owner)? + media.upload_size;
        self.0.table(USAGE)?.insert(o, usage)?;
        self.0
            .table(BY_OWNER)?
            .insert((o, media.id.as_u128()), ())?;
        self.write(media)
    }

    /// Replaces a record; blobs it gained are retained and blobs it dropped released at
    /// `now_ms`. Returns the blobs nothing references any more.
    pub fn update(&self, media: &Media, now_ms: i64) -> Result<Vec<Sha256>, StoreError> {
        let old = self
            .get(media.id)?
            .ok_or_else(|| StoreError::Database(format!("media {} vanished", media.id)))?;
        for blob in media.blobs() {
            self.0.blobs().retain(&blob.sha256)?;
        }
        let mut freed = Vec::new();
        for blob in old.blobs() {
            if self.0.blobs().release(&blob.sha256, now_ms)? {
                freed.push(blob.sha256);
            }
        }
        self.write(media)?;
        Ok(freed)
    }

    fn write(&self, media: &Media) -> Result<(), StoreError> {
        let mut queue = self.0.table(QUEUE)?;
        if media.state == MediaState::PendingApproval {
            queue.insert(media.id.as_u128(), ())?;
        } else {
            queue.remove(media.id.as_u128())?;
        }
        MEDIA.insert(self.0, media.id.as_u128(), media)
    }

    /// Removes a record with its indexes, gives back its usage and releases its blobs.
    /// Returns the record and the blobs nothing references any more.
    pub fn delete(
        &self,
        id: MediaId,
        now_ms: i64,
    ) -> Result<Option<(Media, Vec<Sha256>)>, StoreError> {
        let Some(media) = self.get(id)? else {
            return Ok(None);
        };
        let mut freed = Vec::new();
        for blob in media.blobs() {
            if self.0.blobs().release(&blob.sha256, now_ms)? {
                freed.push(blob.sha256);
            }
        }
        let o = media.owner.as_u128();
        let usage = self
            .usage_of(media.owner)?
            .saturating_sub(media.upload_size);
        let mut usage_table = self.0.table(USAGE)?;
        if usage == 0 {
            usage_table.remove(o)?;
        } else {
            usage_table.insert(o, usage)?;
        }
        drop(usage_table);
        self.0.table(BY_OWNER)?.remove((o, id.as_u128()))?;
        self.0.table(QUEUE)?.remove(id.as_u128())?;
        MEDIA.remove(self.0, id.as_u128())?;
        Ok(Some((media, freed)))
    }

    /// Removes every record of a member (their account is being deleted); returns the blobs
    /// nothing references any more.
    pub fn delete_of_owner(&self, owner: UserId, now_ms: i64) -> Result<Vec<Sha256>, StoreError> {
        let o = owner.as_u128();
        let ids: Vec<u128> = self
            .0
            .table(BY_OWNER)?
            .range((o, 0)..=(o, u128::MAX))?
            .map(|e| e.map(|(k, _)| k.value().1))
            .collect::<Result<_, _>>()?;
        let mut freed = Vec::new();
        for id in ids {
            if let Some((_, blobs)) = self.delete(MediaId::from_u128(id), now_ms)? {
                freed.extend(blobs);
            }
        }
        self.0.table(USAGE)?.remove(o)?;
        Ok(freed)
    }
}
