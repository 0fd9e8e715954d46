//! The records list, answered from memory.
//!
//! A list with filters over 100,000 records must take well under a millisecond, so every
//! record has a position (in the order they were first indexed: creation order) and each
//! value people filter by has the set of positions holding it, as a compressed bitmap
//! (status, priority, direction, visibility, owner, assignee, watcher, tag, due day). A
//! query intersects the sets the caller may see with those its filters name; the total is
//! the size of the result; a page is read from it in the order asked for without sorting
//! it. Like the directory, a bus listener notes which records changed as each write
//! commits, and the next list re-reads just those before it runs.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Mutex, PoisonError, RwLock};

use jiff::civil::Date;
use roaring::RoaringBitmap;
// Keys are ids the server made, so a fast hash cannot be flooded.
use rustc_hash::FxHashMap;

use crate::domain::ids::{RecordId, UserId};
use crate::domain::record::{Direction, Priority, Record, Visibility};
use crate::domain::record_list::{RecordFilter, RecordSort, searchable_text};
use crate::domain::role::Role;

/// What the index keeps of a record: what it filters and sorts by.
struct Entry {
    status: Box<str>,
    priority: Priority,
    direction: Direction,
    visibility: Visibility,
    owner: UserId,
    assignees: Box<[UserId]>,
    watchers: Box<[UserId]>,
    tags: Box<[Box<str>]>,
    due: Option<Date>,
    created_ms: i64,
    updated_ms: i64,
    trashed: bool,
    /// Number, title and correspondent, folded for the text filter.
    text: Box<str>,
}

impl Entry {
    fn of(r: &Record) -> Self {
        Self {
            status: r.status.as_str().into(),
            priority: r.priority,
            direction: r.direction,
            visibility: r.visibility,
            owner: r.owner,
            assignees: r.assignees.clone().into(),
            watchers: r.watchers.clone().into(),
            tags: r.tags.iter().map(|t| t.as_str().into()).collect(),
            due: r.due,
            created_ms: r.created_at.as_millisecond(),
            updated_ms: r.updated_at.as_millisecond(),
            trashed: r.deleted_at.is_some(),
            text: searchable_text(&r.number, &r.title, &r.correspondent).into(),
        }
    }
}

fn priority_slot(p: Priority) -> usize {
    match p {
        Priority::Low => 0,
        Priority::Normal => 1,
        Priority::High => 2,
        Priority::Urgent => 3,
    }
}

fn visibility_slot(v: Visibility) -> usize {
    match v {
        Visibility::Members => 0,
        Visibility::Staff => 1,
        Visibility::People => 2,
    }
}

/// The sets of positions, one per value.
#[derive(Default)]
pub(super) struct Lists {
    ids: Vec<RecordId>,
    entries: Vec<Option<Entry>>,
    positions: FxHashMap<RecordId, u32>,
    alive: RoaringBitmap,
    trashed: RoaringBitmap,
    status: HashMap<Box<str>, RoaringBitmap>,
    priority: [RoaringBitmap; 4],
    direction: [RoaringBitmap; 3],
    visibility: [RoaringBitmap; 3],
    owner: FxHashMap<UserId, RoaringBitmap>,
    assignee: FxHashMap<UserId, RoaringBitmap>,
    watcher: FxHashMap<UserId, RoaringBitmap>,
    tag: HashMap<Box<str>, RoaringBitmap>,
    due: BTreeMap<Date, RoaringBitmap>,
    /// Every position with a due day.
    dated: RoaringBitmap,
    /// The positions due before a day (the last day a list asked about), kept exact as
    /// records change, so "overdue" is one intersection; made anew when the day moves on.
    past_due: Mutex<Option<(Date, RoaringBitmap)>>,
    updated: BTreeSet<(i64, u32)>,
}

/// Adds or takes `pos` in the set of `key`, dropping sets that empty.
fn mark<K: std::hash::Hash + Eq, S: std::hash::BuildHasher>(
    map: &mut HashMap<K, RoaringBitmap, S>,
    key: K,
    pos: u32,
    on: bool,
) {
    if on {
        map.entry(key).or_default().insert(pos);
    } else if let Some(set) = map.get_mut(&key) {
        set.remove(pos);
        if set.is_empty() {
            map.remove(&key);
        }
    }
}

fn flag(set: &mut RoaringBitmap, pos: u32, on: bool) {
    if on {
        set.insert(pos);
    } else {
        set.remove(pos);
    }
}

/// A page of a list: the records' ids in order, and how many match in all.
pub(super) struct Found {
    pub ids: Vec<RecordId>,
    pub total: u64,
}

impl Lists {
    pub(super) fn len(&self) -> usize {
        self.positions.len()
    }

    /// Records (not in the trash) created in each of the `weeks` weeks up to the one holding
    /// `now_ms`, oldest week first; weeks start on Monday (UTC).
    pub(super) fn created_per_week(&self, now_ms: i64, weeks: usize) -> Vec<(Date, u64)> {
        let day = |ms: i64| {
            jiff::Timestamp::from_millisecond(ms)
                .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date())
                .unwrap_or_default()
        };
        let monday = |d: Date| {
            d.checked_sub(jiff::Span::new().days(i64::from(d.weekday().to_monday_zero_offset())))
                .unwrap_or(d)
        };
        let last = monday(day(now_ms));
        let starts: Vec<Date> = (0..weeks)
            .rev()
            .filter_map(|w| last.checked_sub(jiff::Span::new().weeks(w as i64)).ok())
            .collect();
        let mut counts = vec![0u64; starts.len()];
        for pos in &self.alive {
            if let Some(e) = &self.entries[pos as usize] {
                let week = monday(day(e.created_ms));
                if let Ok(i) = starts.binary_search(&week) {
                    counts[i] += 1;
                }
            }
        }
        starts.into_iter().zip(counts).collect()
    }

    /// How many records (not in the trash) are in `status`.
    pub(super) fn count_in(&self, status: &str) -> u64 {
        self.status
            .get(status)
            .map_or(0, |set| set.intersection_len(&self.alive))
    }

    /// Each status records are in (trashed ones too: they come back), with how many.
    pub(super) fn statuses_in_use(&self) -> Vec<(String, u64)> {
        self.status
            .iter()
            .map(|(s, set)| (s.to_string(), set.len()))
            .collect()
    }

    /// Puts `record` in the index (or takes it out when `None`: purged).
    pub(super) fn put(&mut self, id: RecordId, record: Option<&Record>) {
        let pos = match (self.positions.get(&id), record) {
            (Some(&pos), _) => pos,
            (None, None) => return,
            (None, Some(_)) => {
                let pos = self.ids.len() as u32;
                self.ids.push(id);
                self.entries.push(None);
                self.positions.insert(id, pos);
                pos
            }
        };
        if let Some(old) = self.entries[pos as usize].take() {
            self.place(pos, &old, false);
        }
        match record {
            Some(r) => {
                let entry = Entry::of(r);
                self.place(pos, &entry, true);
                self.entries[pos as usize] = Some(entry);
            }
            None => {
                self.positions.remove(&id);
            }
        }
    }

    fn place(&mut self, pos: u32, e: &Entry, on: bool) {
        flag(&mut self.alive, pos, on && !e.trashed);
        flag(&mut self.trashed, pos, on && e.trashed);
        mark(&mut self.status, e.status.clone(), pos, on);
        flag(&mut self.priority[priority_slot(e.priority)], pos, on);
        flag(&mut self.direction[e.direction.code() as usize], pos, on);
        flag(&mut self.visibility[visibility_slot(e.visibility)], pos, on);
        mark(&mut self.owner, e.owner, pos, on);
        for a in &e.assignees {
            mark(&mut self.assignee, *a, pos, on);
        }
        for w in &e.watchers {
            mark(&mut self.watcher, *w, pos, on);
        }
        for t in &e.tags {
            mark(&mut self.tag, t.clone(), pos, on);
        }
        if let Some(day) = e.due {
            if on {
                self.due.entry(day).or_default().insert(pos);
            } else if let Some(set) = self.due.get_mut(&day) {
                set.remove(pos);
                if set.is_empty() {
                    self.due.remove(&day);
                }
            }
            flag(&mut self.dated, pos, on);
            let past = self
                .past_due
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some((before, set)) = past.as_mut()
                && day < *before
            {
                flag(set, pos, on);
            }
        }
        if on {
            self.updated.insert((e.updated_ms, pos));
        } else {
            self.updated.remove(&(e.updated_ms, pos));
        }
    }

    /// The records (not in the trash) someone of `role` with id `who` may see: as
    /// `records::may_see` says, one set at a time.
    fn visible_to(&self, who: UserId, role: Role) -> RoaringBitmap {
        if role >= Role::Admin {
            return self.alive.clone();
        }
        let mut set = self.visibility[visibility_slot(Visibility::Members)].clone();
        if role.is_staff() {
            set |= &self.visibility[visibility_slot(Visibility::Staff)];
        }
        for on_it in [&self.owner, &self.assignee, &self.watcher] {
            if let Some(mine) = on_it.get(&who) {
                set |= mine;
            }
        }
        set & &self.alive
    }

    fn due_between(&self, from: Option<Date>, to: Option<Date>) -> RoaringBitmap {
        use std::ops::Bound::{Included, Unbounded};
        let lo = from.map_or(Unbounded, Included);
        let hi = to.map_or(Unbounded, Included);
        let mut set = RoaringBitmap::new();
        for days in self.due.range((lo, hi)).map(|(_, s)| s) {
            set |= days;
        }
        set
    }

    /// The page `offset..offset + limit` of what `filter` finds among the records `who`
    /// may see, in `sort` order. `closed` names the workflow's closed statuses.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn find(
        &self,
        who: UserId,
        role: Role,
        filter: &RecordFilter,
        closed: &[&str],
        today: Date,
        sort: RecordSort,
        offset: usize,
        limit: usize,
    ) -> Found {
        let empty = RoaringBitmap::new();
        let mut set = match (filter.trashed, role >= Role::Admin) {
            (false, _) => self.visible_to(who, role),
            (true, true) => self.trashed.clone(),
            (true, false) => RoaringBitmap::new(),
        };
        if let Some(s) = &filter.status {
            set &= self.status.get(s.as_str()).unwrap_or(&empty);
        }
        if let Some(p) = filter.priority {
            set &= &self.priority[priority_slot(p)];
        }
        if let Some(d) = filter.direction {
            set &= &self.direction[d.code() as usize];
        }
        if let Some(o) = filter.owner {
            set &= self.owner.get(&o).unwrap_or(&empty);
        }
        if let Some(a) = filter.assignee {
            set &= self.assignee.get(&a).unwrap_or(&empty);
        }
        if let Some(t) = &filter.tag {
            set &= self.tag.get(t.to_lowercase().as_str()).unwrap_or(&empty);
        }
        if filter.open || filter.overdue {
            for status in closed {
                if let Some(done) = self.status.get(*status) {
                    set -= done;
                }
            }
        }
        if filter.due_before.is_some() || filter.due_after.is_some() {
            set &= self.due_between(filter.due_after, filter.due_before);
        }
        if filter.overdue {
            let mut past = self.past_due.lock().unwrap_or_else(PoisonError::into_inner);
            if past.as_ref().is_none_or(|(before, _)| *before != today) {
                let yesterday = today.yesterday().unwrap_or(today);
                *past = Some((today, self.due_between(None, Some(yesterday))));
            }
            if let Some((_, due_before_today)) = past.as_ref() {
                set &= due_before_today;
            }
        }
        if let Some(words) = filter.folded_text() {
            set = set
                .iter()
                .filter(|p| {
                    self.entries[*p as usize]
                        .as_ref()
                        .is_some_and(|e| e.text.contains(words.as_str()))
                })
                .collect();
        }
        let total = set.len();
        let positions = self.page(&set, sort, offset, limit);
        Found {
            ids: positions
                .into_iter()
                .map(|p| self.ids[p as usize])
                .collect(),
            total,
        }
    }

    /// Positions `offset..offset + limit` of `set` in `sort` order.
    fn page(&self, set: &RoaringBitmap, sort: RecordSort, offset: usize, limit: usize) -> Vec<u32> {
        let len = set.len() as usize;
        if offset >= len || limit == 0 {
            return Vec::new();
        }
        let take = limit.min(len - offset);
        match sort {
            RecordSort::Newest => (0..take)
                .filter_map(|i| set.select((len - 1 - offset - i) as u32))
                .collect(),
            RecordSort::Oldest => (0..take)
                .filter_map(|i| set.select((offset + i) as u32))
                .collect(),
            RecordSort::Updated => self
                .updated
                .iter()
                .rev()
                .filter(|(_, p)| set.contains(*p))
                .skip(offset)
                .take(take)
                .map(|(_, p)| *p)
                .collect(),
            RecordSort::Priority => {
                let groups = Priority::ALL
                    .iter()
                    .rev()
                    .map(|p| &self.priority[priority_slot(*p)]);
                newest_within(set, groups, offset, take)
            }
            RecordSort::Due => {
                // A small set sorts by its entries' days; a large one goes day by day.
                if len <= SORT_IN_PLACE_MAX {
                    let mut keyed: Vec<(bool, Option<Date>, std::cmp::Reverse<u32>)> = set
                        .iter()
                        .map(|p| {
                            let due = self.entries[p as usize].as_ref().and_then(|e| e.due);
                            (due.is_none(), due, std::cmp::Reverse(p))
                        })
                        .collect();
                    keyed.sort_unstable();
                    return keyed
                        .into_iter()
                        .skip(offset)
                        .take(take)
                        .map(|(_, _, p)| p.0)
                        .collect();
                }
                let undated = set - &self.dated;
                let groups = self.due.values().chain(std::iter::once(&undated));
                newest_within(set, groups, offset, take)
            }
        }
    }
}

/// The most positions the due-date sort orders by their entries (past it, day by day).
#[cfg(not(test))]
const SORT_IN_PLACE_MAX: usize = 4096;
/// Small in the tests, so they check both ways against each other.
#[cfg(test)]
const SORT_IN_PLACE_MAX: usize = 64;

/// Positions `offset..offset + take` of `set` taken group by group (each group's part
/// newest first), skipping whole groups by their size.
fn newest_within<'a>(
    set: &RoaringBitmap,
    groups: impl Iterator<Item = &'a RoaringBitmap>,
    mut offset: usize,
    take: usize,
) -> Vec<u32> {
    let mut out = Vec::with_capacity(take);
    for group in groups {
        let here = set.intersection_len(group) as usize;
        if offset >= here {
            offset -= here;
            continue;
        }
        let part = set & group;
        let n = part.len() as usize;
        for i in offset..n {
            if out.len() == take {
                return out;
            }
            if let Some(p) = part.select((n - 1 - i) as u32) {
                out.push(p);
            }
        }
        offset = 0;
        if out.len() == take {
            break;
        }
    }
    out
}

/// The index with the records that changed since it was last brought up to date.
#[derive(Default)]
pub(super) struct RecordIndex {
    /// `None` until the first list builds it.
    pub(super) lists: RwLock<Option<Lists>>,
    pub(super) dirty: Mutex<HashSet<RecordId>>,
}

impl RecordIndex {
    pub(super) fn note(&self, id: RecordId) {
        self.dirty
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id);
    }

    pub(super) fn take_dirty(&self) -> Vec<RecordId> {
        self.dirty
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::service::records::may_see;

    fn record(rng: &mut StdRng, n: u128) -> Record {
        let people = |rng: &mut StdRng| -> Vec<UserId> {
            (0..rng.random_range(0..3))
                .map(|_| UserId::from_u128(rng.random_range(1..6)))
                .collect()
        };
        let at = jiff::Timestamp::from_millisecond(1_000 * n as i64).unwrap();
        Record {
            id: RecordId::from_u128(n),
            number: format!("IN-2026-{n:04}"),
            direction: Direction::ALL[rng.random_range(0..3)],
            title: ["Roof repair", "Hall booking", "Budget"][rng.random_range(0..3)].into(),
            correspondent: String::new(),
            content: String::new(),
            status: ["new", "in_progress", "completed"][rng.random_range(0..3)].into(),
            priority: Priority::ALL[rng.random_range(0..4)],
            owner: UserId::from_u128(rng.random_range(1..6)),
            assignees: people(rng),
            watchers: people(rng),
            due: rng
                .random_bool(0.7)
                .then(|| Date::new(2026, 6, rng.random_range(1..20)).unwrap()),
            tags: if rng.random_bool(0.5) {
                vec!["hall".into()]
            } else {
                Vec::new()
            },
            visibility: [Visibility::Members, Visibility::Staff, Visibility::People]
                [rng.random_range(0..3)],
            version: 1,
            created_at: at,
            updated_at: at
                .checked_add(jiff::SignedDuration::from_secs(rng.random_range(0..5_000)))
                .unwrap(),
            deleted_at: rng.random_bool(0.1).then_some(at),
        }
    }

    /// What the index must answer, worked out the slow way: every record checked, then
    /// sorted.
    fn by_hand(
        all: &[Record],
        who: UserId,
        role: Role,
        f: &RecordFilter,
        today: Date,
        sort: RecordSort,
    ) -> Vec<RecordId> {
        let closed = ["completed"];
        let mut found: Vec<(usize, &Record)> = all
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                if f.trashed {
                    r.deleted_at.is_some() && role >= Role::Admin
                } else {
                    r.deleted_at.is_none() && may_see(who, role, r)
                }
            })
            .filter(|(_, r)| f.status.as_ref().is_none_or(|s| *s == r.status))
            .filter(|(_, r)| f.priority.is_none_or(|p| p == r.priority))
            .filter(|(_, r)| f.assignee.is_none_or(|a| r.assignees.contains(&a)))
            .filter(|(_, r)| f.tag.as_ref().is_none_or(|t| r.tags.contains(t)))
            .filter(|(_, r)| !(f.open || f.overdue) || !closed.contains(&r.status.as_str()))
            .filter(|(_, r)| f.due_before.is_none_or(|d| r.due.is_some_and(|x| x <= d)))
            .filter(|(_, r)| !f.overdue || r.due.is_some_and(|x| x < today))
            .filter(|(_, r)| {
                f.folded_text().is_none_or(|t| {
                    searchable_text(&r.number, &r.title, &r.correspondent).contains(&t)
                })
            })
            .collect();
        let newest = |a: &(usize, &Record), b: &(usize, &Record)| b.0.cmp(&a.0);
        match sort {
            RecordSort::Newest => found.sort_by(newest),
            RecordSort::Oldest => found.sort_by_key(|(i, _)| *i),
            RecordSort::Updated => {
                found.sort_by_key(|(i, r)| std::cmp::Reverse((r.updated_at, *i)))
            }
            RecordSort::Priority => {
                found.sort_by(|a, b| b.1.priority.cmp(&a.1.priority).then(newest(a, b)))
            }
            RecordSort::Due => found.sort_by(|a, b| {
                let key = |r: &Record| (r.due.is_none(), r.due);
                key(a.1).cmp(&key(b.1)).then(newest(a, b))
            }),
        }
        found.into_iter().map(|(_, r)| r.id).collect()
    }

    /// The index answers what checking every record by hand answers, page by page, for
    /// random records, changes, filters, sorts and people of every role.
    #[test]
    fn the_index_finds_what_checking_each_record_finds() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut all: Vec<Record> = (1..=300).map(|n| record(&mut rng, n)).collect();
        let mut lists = Lists::default();
        for r in &all {
            lists.put(r.id, Some(r));
        }
        let today = Date::new(2026, 6, 10).unwrap();
        let sorts = [
            RecordSort::Newest,
            RecordSort::Oldest,
            RecordSort::Updated,
            RecordSort::Priority,
            RecordSort::Due,
        ];
        for round in 0..600 {
            // Every so often some records change (kept sets, such as the overdue one made
            // by an earlier query, follow them).
            if round % 100 == 0 {
                for _ in 0..100 {
                    let i = rng.random_range(0..all.len());
                    all[i] = record(&mut rng, i as u128 + 1);
                    lists.put(all[i].id, Some(&all[i]));
                }
            }
            let who = UserId::from_u128(rng.random_range(1..6));
            let role = [Role::Member, Role::Moderator, Role::Admin][rng.random_range(0..3)];
            let filter = RecordFilter {
                status: rng.random_bool(0.3).then(|| "new".to_string()),
                priority: rng
                    .random_bool(0.3)
                    .then(|| Priority::ALL[rng.random_range(0..4)]),
                assignee: rng
                    .random_bool(0.2)
                    .then(|| UserId::from_u128(rng.random_range(1..6))),
                tag: rng.random_bool(0.2).then(|| "hall".to_string()),
                due_before: rng
                    .random_bool(0.2)
                    .then(|| Date::new(2026, 6, 12).unwrap()),
                overdue: rng.random_bool(0.15),
                open: rng.random_bool(0.2),
                text: rng.random_bool(0.2).then(|| " ROOF ".to_string()),
                trashed: rng.random_bool(0.1),
                ..Default::default()
            };
            let sort = sorts[round % sorts.len()];
            let expected = by_hand(&all, who, role, &filter, today, sort);
            let limit = rng.random_range(1..40);
            let offset = rng.random_range(0..expected.len().max(1) + 5);
            let found = lists.find(
                who,
                role,
                &filter,
                &["completed"],
                today,
                sort,
                offset,
                limit,
            );
            assert_eq!(found.total as usize, expected.len(), "{filter:?}");
            let page: Vec<RecordId> = expected.iter().skip(offset).take(limit).copied().collect();
            assert_eq!(found.ids, page, "{filter:?} {sort:?} {offset} {limit}");
        }
        // A purged record leaves every list.
        let gone = all[0].id;
        lists.put(gone, None);
        let everything = lists.find(
            UserId::from_u128(1),
            Role::Owner,
            &RecordFilter::default(),
            &[],
            today,
            RecordSort::Newest,
            0,
            1000,
        );
        assert!(!everything.ids.contains(&gone));
    }
}
