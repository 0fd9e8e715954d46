//! Records and their history. A record is saved only over the version it was read at, so two
//! edits never clobber each other; each save writes its history lines in the same
//! transaction, and notes everyone on the record or in its history in `record_people`, so a
//! member's part in records is found (and erased with their account) without a scan.

use jiff::civil::Date;
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

/// (moved to the trash at, ms; record) for every record in the trash, oldest first.
const TRASH: TableDefinition<(i64, u128), ()> = TableDefinition::new("record_trash");
/// (due year, month, day; record) for every record with a due day.
const DUE: TableDefinition<(i16, i8, i8, u128), ()> = TableDefinition::new("record_due");
/// (record, reminder kind) → the due day (as `day_key`) it was sent for, so each goes once.
const REMINDED: TableDefinition<(u128, u8), (i16, i8, i8)> =
    TableDefinition::new("record_reminders");

/// (member, name) → the query string of a records list the member saved.
const FILTERS: TableDefinition<(u128, &str), &str> = TableDefinition::new("record_filters");

pub(super) const TABLES: &[&dyn CatalogTable] = &[
    &RECORDS, &HISTORY, &COMMENTS, &PEOPLE, &TRASH, &DUE, &REMINDED, &FILTERS,
];

fn day_key(d: Date) -> (i16, i8, i8) {
    (d.year(), d.month(), d.day())
}

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

    /// How many history lines a record has (they are numbered from 0 without gaps).
    pub fn history_len(&self, id: RecordId) -> Result<u64, StoreError> {
        let r = id.as_u128();
        Ok(HISTORY
            .open(self.0)?
            .range((r, 0)..=(r, u64::MAX))?
            .next_back()
            .transpose()?
            .map_or(0, |(k, _)| k.value().1 + 1))
    }

    /// History lines `offset..offset + limit`, oldest first: a range read, whatever the
    /// history's length.
    pub fn history_page(
        &self,
        id: RecordId,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<Change>, StoreError> {
        let r = id.as_u128();
        let end = offset.saturating_add(limit);
        let table = HISTORY.open(self.0)?;
        let mut out = Vec::new();
        for entry in table.range((r, offset)..(r, end))? {
            out.push(super::codec::decode(entry?.1.value())?);
        }
        Ok(out)
    }

    /// The changes that made versions after `version`, oldest first, at most the last `max`
    /// of them (read from the end).
    pub fn history_since(
        &self,
        id: RecordId,
        version: u64,
        max: usize,
    ) -> Result<Vec<Change>, StoreError> {
        let r = id.as_u128();
        let table = HISTORY.open(self.0)?;
        let mut out: Vec<Change> = Vec::new();
        for entry in table.range((r, 0)..=(r, u64::MAX))?.rev() {
            let change: Change = super::codec::decode(entry?.1.value())?;
            if change.version <= version || out.len() == max {
                break;
            }
            out.push(change);
        }
        out.reverse();
        Ok(out)
    }

    /// How many comments a record has, counting up to `max`.
    pub fn comment_count(&self, record: RecordId, max: usize) -> Result<usize, StoreError> {
        let r = record.as_u128();
        Ok(COMMENTS
            .open(self.0)?
            .range((r, 0)..=(r, u128::MAX))?
            .take(max)
            .count())
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

    /// Records due from `from` to `to` (both included), by due day.
    pub fn due_between(&self, from: Date, to: Date) -> Result<Vec<RecordId>, StoreError> {
        let (a, b) = (day_key(from), day_key(to));
        self.0
            .table(DUE)?
            .range((a.0, a.1, a.2, 0)..=(b.0, b.1, b.2, u128::MAX))?
            .map(|e| e.map(|(k, _)| RecordId::from_u128(k.value().3)))
            .collect::<Result<_, _>>()
            .map_err(Into::into)
    }

    /// Whether reminder `kind` went out for `record` due on `due`.
    pub fn reminded(&self, record: RecordId, kind: u8, due: Date) -> Result<bool, StoreError> {
        Ok(self
            .0
            .table(REMINDED)?
            .get((record.as_u128(), kind))?
            .is_some_and(|v| v.value() == day_key(due)))
    }

    /// Records moved to the trash before `before` (ms), oldest first, at most `limit`.
    pub fn trashed_before(&self, before: i64, limit: usize) -> Result<Vec<RecordId>, StoreError> {
        self.0
            .table(TRASH)?
            .range((i64::MIN, 0)..(before, 0))?
            .take(limit)
            .map(|e| e.map(|(k, _)| RecordId::from_u128(k.value().1)))
            .collect::<Result<_, _>>()
            .map_err(Into::into)
    }

    /// The lists `member` saved: (name, query string), by name.
    pub fn filters(&self, member: UserId) -> Result<Vec<(String, String)>, StoreError> {
        let m = member.as_u128();
        let table = self.0.table(FILTERS)?;
        let mut out = Vec::new();
        for entry in table.range((m, "")..)? {
            let (k, v) = entry?;
            let (owner, name) = k.value();
            if owner != m {
                break;
            }
            out.push((name.to_string(), v.value().to_string()));
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
        self.index(None, record)?;
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
                self.index(Some(&stored), &saved)?;
                self.note_people(&saved, changes)?;
                self.append(saved.id, changes)?;
                Ok(Ok(saved))
            }
            other => Ok(Err(other)),
        }
    }

    /// Keeps the due and trash tables in step with a record going from `before` to `after`.
    fn index(&self, before: Option<&Record>, after: &Record) -> Result<(), StoreError> {
        let r = after.id.as_u128();
        let due = |rec: Option<&Record>| rec.and_then(|x| x.due);
        if due(before) != after.due {
            let mut table = self.0.table(DUE)?;
            if let Some(d) = due(before) {
                let k = day_key(d);
                table.remove((k.0, k.1, k.2, r))?;
            }
            if let Some(d) = after.due {
                let k = day_key(d);
                table.insert((k.0, k.1, k.2, r), ())?;
            }
        }
        let trashed = |rec: Option<&Record>| rec.and_then(|x| x.deleted_at);
        if trashed(before) != after.deleted_at {
            let mut table = self.0.table(TRASH)?;
            if let Some(at) = trashed(before) {
                table.remove((at.as_millisecond(), r))?;
            }
            if let Some(at) = after.deleted_at {
                table.insert((at.as_millisecond(), r), ())?;
            }
        }
        Ok(())
    }

    /// Notes that reminder `kind` went out for `record` due on `due`.
    pub fn note_reminded(&self, record: RecordId, kind: u8, due: Date) -> Result<(), StoreError> {
        self.0
            .table(REMINDED)?
            .insert((record.as_u128(), kind), day_key(due))?;
        Ok(())
    }

    /// Removes a record for good with everything of it: history, comments, attachments
    /// (letting their blobs go at `now_ms`), its rows in the people, due, trash and reminder
    /// tables, and its number if it still holds it.
    pub fn purge(&self, id: RecordId, now_ms: i64) -> Result<Option<Record>, StoreError> {
        let Some(record) = self.get(id)? else {
            return Ok(None);
        };
        self.0.record_attachments().remove_all(id, now_ms)?;
        let r = id.as_u128();
        let history = self.history(id)?;
        let comments = self.comments(id)?;
        let mut people: Vec<UserId> = vec![record.owner];
        people.extend(&record.assignees);
        people.extend(&record.watchers);
        people.extend(history.iter().map(|c| c.by));
        people.extend(comments.iter().map(|c| c.author));
        {
            let mut table = self.0.table(PEOPLE)?;
            for member in people {
                table.remove((member.as_u128(), r))?;
            }
        }
        for line in 0..history.len() as u64 {
            HISTORY.remove(self.0, (r, line))?;
        }
        for c in &comments {
            COMMENTS.remove(self.0, (r, c.id.as_u128()))?;
        }
        if let Some(d) = record.due {
            let k = day_key(d);
            self.0.table(DUE)?.remove((k.0, k.1, k.2, r))?;
        }
        if let Some(at) = record.deleted_at {
            self.0.table(TRASH)?.remove((at.as_millisecond(), r))?;
        }
        {
            let mut table = self.0.table(REMINDED)?;
            let kinds: Vec<u8> = table
                .range((r, 0)..=(r, u8::MAX))?
                .map(|e| e.map(|(k, _)| k.value().1))
                .collect::<Result<_, _>>()?;
            for kind in kinds {
                table.remove((r, kind))?;
            }
        }
        let numbers = self.0.record_numbers();
        if numbers.holder(&record.number)? == Some(r) {
            numbers.release(&record.number)?;
        }
        RECORDS.remove(self.0, r)?;
        Ok(Some(record))
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

    /// Saves (or replaces) `member`'s list `name`.
    pub fn save_filter(&self, member: UserId, name: &str, query: &str) -> Result<(), StoreError> {
        self.0
            .table(FILTERS)?
            .insert((member.as_u128(), name), query)?;
        Ok(())
    }

    /// Removes `member`'s list `name`; whether there was one.
    pub fn delete_filter(&self, member: UserId, name: &str) -> Result<bool, StoreError> {
        Ok(self
            .0
            .table(FILTERS)?
            .remove((member.as_u128(), name))?
            .is_some())
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
        for (name, _) in self.filters(member)? {
            self.delete_filter(member, &name)?;
        }
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
                        .map(|n| {
                            if n == name {
                                crate::domain::account::FORMER_MEMBER
                            } else {
                                n
                            }
                        })
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
            self.0
                .record_attachments()
                .forget_adder(id, member, nobody)?;
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
        let next = self.history_len(id)?;
        for (i, change) in changes.iter().enumerate() {
            HISTORY.insert(self.0, (r, next + i as u64), change)?;
        }
        Ok(())
    }
}
