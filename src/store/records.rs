//! Records and their history. A record is saved only over the version it was read at, so two
//! edits never clobber each other; each save writes its history lines in the same
//! transaction, and notes everyone on the record or in its history in `record_people`, so a
//! member's part in records is found (and erased with their account) without a scan.

use redb::{ReadableTable, TableDefinition};

use super::tables::CatalogTable;
use super::{Rows, Rx, Snapshot, StoreError, Tx};
use crate::domain::ids::{CommentId, RecordId, UserId};
use crate::domain::record::{Change, Record};
use crate::domain::record_comment::Comment;

/// record id → `Record`.
const RECORDS: Rows<u128, Record> = Rows::new("records");
/// (record id, line) → `Change`, oldest first.
const HISTORY: Rows<(u128, u64), Change> = Rows::new("record_history");

/// (record id, comment id) → `Comment`, oldest first.
const COMMENTS: Rows<(u128, u128), Comment> = Rows::new("record_comments");
/// (member, record) for everyone who is or was on a record (owner, assignee, watcher),
/// changed it or commented on it.
const PEOPLE: TableDefinition<(u128, u128), ()> = TableDefinition::new("record_people");

pub(super) const TABLES: &[&dyn CatalogTable] = &[&RECORDS, &HISTORY, &COMMENTS, &PEOPLE];

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

    /// Every record (trashed ones too), in id order: oldest first.
    pub fn for_each(&self, mut f: impl FnMut(Record)) -> Result<(), StoreError> {
        for entry in RECORDS.open(self.0)?.iter()? {
            f(super::codec::decode(entry?.1.value())?);
        }
        Ok(())
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

    pub fn comment(&self, record: RecordId, id: CommentId) -> Result<Option<Comment>, StoreError> {
        COMMENTS.get(self.0, (record.as_u128(), id.as_u128()))
    }

    /// A record's comments, oldest first.
    pub fn comments(&self, record: RecordId) -> Result<Vec<Comment>, StoreError> {
        let r = record.as_u128();
        let table = COMMENTS.open(self.0)?;
        let mut out = Vec::new();
        for entry in table.range((r, 0)..=(r, u128::MAX))? {
            out.push(super::codec::decode(entry?.1.value())?);
        }
        Ok(out)
    }

    /// The records `member` is or was on, or changed.
    pub fn of_member(&self, member: UserId) -> Result<Vec<RecordId>, StoreError> {
        let m = member.as_u128();
        self.0
            .table(PEOPLE)?
            .range((m, 0)..=(m, u128::MAX))?
            .map(|e| e.map(|(k, _)| RecordId::from_u128(k.value().1)))
            .collect::<Result<_, _>>()
            .map_err(Into::into)
    }
}

impl Records<'_, Tx<'_>> {
    /// Stores a new record (version 1) with its history's first lines.
    pub fn insert(&self, record: &Record, changes: &[Change]) -> Result<(), StoreError> {
        RECORDS.insert(self.0, record.id.as_u128(), record)?;
        self.note_people(record, changes)?;
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
                self.note_people(&saved, changes)?;
                self.append(saved.id, changes)?;
                Ok(Ok(saved))
            }
            other => Ok(Err(other)),
        }
    }

    /// Sets who watches a record. Watching is not a change to the record: its version and
    /// history stay as they are.
    pub fn set_watchers(
        &self,
        id: RecordId,
        watchers: Vec<UserId>,
    ) -> Result<Option<Record>, StoreError> {
        let Some(mut record) = self.get(id)? else {
            return Ok(None);
        };
        record.watchers = watchers;
        RECORDS.insert(self.0, id.as_u128(), &record)?;
        self.note_people(&record, &[])?;
        Ok(Some(record))
    }

    /// Stores a comment (new or changed); its author counts among the record's people.
    pub fn put_comment(&self, comment: &Comment) -> Result<(), StoreError> {
        COMMENTS.insert(
            self.0,
            (comment.record.as_u128(), comment.id.as_u128()),
            comment,
        )?;
        if comment.author.as_u128() != 0 {
            self.0
                .table(PEOPLE)?
                .insert((comment.author.as_u128(), comment.record.as_u128()), ())?;
        }
        Ok(())
    }

    /// Takes `member` off every record: no longer its owner (the record stays the
    /// community's, owned by nobody), assignee or watcher; their history lines kept without
    /// their id, their name in assignment lines replaced, their comments left as tombstones.
    /// Answers the records it changed.
    pub fn erase_member(&self, member: UserId, name: &str) -> Result<Vec<RecordId>, StoreError> {
        let nobody = UserId::from_u128(0);
        let records = self.of_member(member)?;
        for &id in &records {
            if let Some(mut record) = self.get(id)? {
                if record.owner == member {
                    record.owner = nobody;
                }
                record.assignees.retain(|a| *a != member);
                record.watchers.retain(|w| *w != member);
                RECORDS.insert(self.0, id.as_u128(), &record)?;
            }
            let r = id.as_u128();
            let lines: Vec<(u64, Change)> = HISTORY
                .open(self.0)?
                .range((r, 0)..=(r, u64::MAX))?
                .map(|e| {
                    let (k, v) = e?;
                    Ok((k.value().1, super::codec::decode(v.value())?))
                })
                .collect::<Result<_, StoreError>>()?;
            for (line, mut change) in lines {
                let named = |text: &str| {
                    text.split(", ")
                        .map(|n| if n == name { "a former member" } else { n })
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let (old, new) = (named(&change.old), named(&change.new));
                if change.by == member || old != change.old || new != change.new {
                    if change.by == member {
                        change.by = nobody;
                    }
                    change.old = old;
                    change.new = new;
                    HISTORY.insert(self.0, (r, line), &change)?;
                }
            }
            for mut comment in self.comments(id)? {
                if comment.author == member {
                    comment.author = nobody;
                    comment.text.clear();
                    comment.deleted = true;
                    self.put_comment(&comment)?;
                }
            }
            self.0.table(PEOPLE)?.remove((member.as_u128(), r))?;
        }
        Ok(records)
    }

    fn note_people(&self, record: &Record, changes: &[Change]) -> Result<(), StoreError> {
        let mut people = self.0.table(PEOPLE)?;
        let r = record.id.as_u128();
        let on_it = std::iter::once(record.owner)
            .chain(record.assignees.iter().copied())
            .chain(record.watchers.iter().copied())
            .chain(changes.iter().map(|c| c.by))
            .filter(|m| m.as_u128() != 0);
        for member in on_it {
            people.insert((member.as_u128(), r), ())?;
        }
        Ok(())
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
