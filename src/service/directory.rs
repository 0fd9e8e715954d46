//! The member directory, answered from memory.
//!
//! A search over 100,000 members must take milliseconds, so the directory keeps one compact
//! entry per profile in memory (a projection the store can rebuild, built on first use), with
//! the members in order of joining and of activity: a page sorted by either walks that order
//! from its cursor and stops when full; nearest and best match score every entry. A
//! bus listener notes which members changed (profile, account, photos, activity) as each
//! write commits; the next search re-reads just those from the store before it runs. Blocks
//! are read per search (they are few per member), so a block hides at once.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

// Keys are ids the server made, so a fast hash cannot be flooded.
use rustc_hash::FxHashMap;

use super::access::{Access, Actor};
use super::error::ServiceError;
use crate::clock::SharedClock;
use crate::domain::directory::{Cursor, Entry, Query, Search, Searcher, Sort, Term};
use crate::domain::ids::UserId;
use crate::domain::media::MediaState;
use crate::domain::permission::Permission;
use crate::domain::places;
use crate::domain::profile::Profile;
use crate::events::{Event, EventBus};
use crate::store::{Rx, Store, StoreError};

#[derive(Clone)]
pub struct Directory {
    store: Store,
    access: Access,
    clock: SharedClock,
    index: Arc<Index>,
}

#[derive(Default)]
struct Index {
    /// `None` until the first search builds it.
    entries: RwLock<Option<Entries>>,
    /// Members whose entry must be re-read before the next search.
    dirty: Mutex<HashSet<UserId>>,
    /// Every gender, intent and interest in use, stored once.
    terms: Mutex<Terms>,
}

/// The interned words. Members type their own interests, so words fall out of use as profiles
/// change; whenever the set has doubled since it was last swept, the words no entry holds any
/// more are dropped, so it stays within twice the words in use.
#[derive(Default)]
struct Terms {
    set: HashSet<Term>,
    sweep_at: usize,
}

/// Terms kept before the first sweep.
const TERMS_FLOOR: usize = 4096;

impl Index {
    fn term(&self, word: &str) -> Term {
        let mut terms = self.terms.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(t) = terms.set.get(word) {
            return t.clone();
        }
        if terms.set.len() >= terms.sweep_at.max(TERMS_FLOOR) {
            terms.set.retain(|t| Arc::strong_count(t) > 1);
            terms.sweep_at = terms.set.len() * 2;
        }
        let t: Term = word.into();
        terms.set.insert(t.clone());
        t
    }

    fn terms(&self, words: Vec<String>) -> Box<[Term]> {
        words.iter().map(|w| self.term(w)).collect()
    }
}

/// The index's entries, one per profile, and their orders by joining and by activity (the
/// directory's two time orders: a page in either walks from its cursor and stops when full).
#[derive(Default)]
pub struct Entries {
    list: Vec<Entry>,
    position: FxHashMap<UserId, usize>,
    by_joined: BTreeSet<(i64, UserId)>,
    by_active: BTreeSet<(i64, UserId)>,
}

impl Entries {
    pub fn all(&self) -> &[Entry] {
        &self.list
    }

    pub fn get(&self, member: UserId) -> Option<&Entry> {
        self.position.get(&member).map(|&i| &self.list[i])
    }

    /// Entries in `sort`'s order (one of the time orders), starting after `after`.
    fn ordered<'a>(
        &'a self,
        sort: Sort,
        after: Option<Cursor>,
    ) -> Box<dyn Iterator<Item = &'a Entry> + 'a> {
        let order = match sort {
            Sort::RecentlyActive => &self.by_active,
            _ => &self.by_joined,
        };
        let keys: Box<dyn Iterator<Item = &(i64, UserId)>> = match after {
            Some(cursor) => Box::new(order.range(..cursor).rev()),
            None => Box::new(order.iter().rev()),
        };
        Box::new(keys.filter_map(|(_, id)| self.get(*id)))
    }

    fn put(&mut self, member: UserId, entry: Option<Entry>) {
        if let Some((joined, active)) = self.get(member).map(|e| (e.joined_ms, e.active_ms)) {
            self.by_joined.remove(&(joined, member));
            self.by_active.remove(&(active, member));
        }
        if let Some(new) = &entry {
            self.by_joined.insert((new.joined_ms, member));
            self.by_active.insert((new.active_ms, member));
        }
        match (self.position.get(&member).copied(), entry) {
            (Some(i), Some(e)) => self.list[i] = e,
            (None, Some(e)) => {
                self.position.insert(member, self.list.len());
                self.list.push(e);
            }
            (Some(i), None) => {
                self.list.swap_remove(i);
                self.position.remove(&member);
                if let Some(moved) = self.list.get(i) {
                    self.position.insert(moved.member, i);
                }
            }
            (None, None) => {}
        }
    }
}

/// A page of the directory.
pub struct DirectoryPage {
    pub members: Vec<UserId>,
    /// Where the next page starts, when there may be one.
    pub next: Option<Cursor>,
}

impl Directory {
    pub fn new(store: Store, access: Access, clock: SharedClock, events: &EventBus) -> Self {
        let index = Arc::new(Index::default());
        let follower = Arc::clone(&index);
        events.listen(move |event| {
            let member = match event {
                Event::ProfileChanged { member } | Event::MemberActive { member, .. } => *member,
                Event::AccountChanged { user } | Event::AccountDeleted { user } => *user,
                Event::MediaProcessed { owner, .. }
                | Event::MediaDecided { owner, .. }
                | Event::MediaRemoved { owner, .. } => *owner,
                _ => return,
            };
            follower
                .dirty
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(member);
        });
        Self {
            store,
            access,
            clock,
            index,
        }
    }

    /// Members `query` finds for `actor`, in its order, after `after`.
    pub async fn search(
        &self,
        actor: &Actor,
        query: &Query,
        after: Option<Cursor>,
        limit: usize,
    ) -> Result<DirectoryPage, ServiceError> {
        self.access.require(actor, Permission::View)?;
        self.bring_up_to_date().await?;
        let me = actor.id;
        let (mine, hidden) = self.store.lookup(|rx| {
            Ok::<_, StoreError>((rx.profiles().get(me)?, rx.blocks().either_way(me)?))
        })?;
        let searcher = match mine {
            Some(p) => Searcher {
                member: me,
                place: p.place,
                intent: p.intent,
                interests: p.interests,
            },
            None => Searcher {
                member: me,
                place: None,
                intent: String::new(),
                interests: Vec::new(),
            },
        };
        ServiceError::check(query.problems(&searcher))?;
        let now = self.clock.now();
        let search = Search {
            searcher: &searcher,
            hidden: &hidden,
            today: now.to_zoned(jiff::tz::TimeZone::UTC).date(),
            now_ms: now.as_millisecond(),
        };
        let entries = self
            .index
            .entries
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let empty = Entries::default();
        let entries = entries.as_ref().unwrap_or(&empty);
        let found = match query.sort {
            Sort::Newest | Sort::RecentlyActive => {
                search.first(entries.ordered(query.sort, after), query, limit + 1)
            }
            Sort::Nearest | Sort::BestMatch => {
                search.page(entries.list.iter(), query, after, limit + 1)
            }
        };
        let next = (found.len() > limit)
            .then(|| found.get(limit - 1).map(|(e, key, _)| (*key, e.member)))
            .flatten();
        Ok(DirectoryPage {
            members: found.iter().take(limit).map(|(e, _, _)| e.member).collect(),
            next,
        })
    }

    /// Runs `f` over the index as it is now (call [`Self::bring_up_to_date`] first).
    pub fn with_entries<T>(&self, f: impl FnOnce(&Entries) -> T) -> T {
        let entries = self
            .index
            .entries
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        match entries.as_ref() {
            Some(e) => f(e),
            None => f(&Entries::default()),
        }
    }

    /// Builds the index on first use; afterwards re-reads the members that changed.
    pub async fn bring_up_to_date(&self) -> Result<(), StoreError> {
        let built = self
            .index
            .entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some();
        if !built {
            // Changes from now on are either in the snapshot below or marked dirty.
            self.take_dirty();
            let index = Arc::clone(&self.index);
            let entries = self
                .store
                .read(move |rx| {
                    let mut entries = Entries::default();
                    let mut failed = None;
                    rx.profiles().for_each(|p| {
                        let member = p.member;
                        match entry_of(rx, p, &index) {
                            Ok(e) => entries.put(member, e),
                            Err(e) => failed = Some(e),
                        }
                    })?;
                    failed.map_or(Ok(entries), Err)
                })
                .await?;
            let mut slot = self
                .index
                .entries
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            if slot.is_none() {
                *slot = Some(entries);
            }
        }
        let dirty = self.take_dirty();
        if dirty.is_empty() {
            return Ok(());
        }
        let fresh = if dirty.len() <= 100 {
            self.store
                .lookup(|rx| read_entries(rx, &dirty, &self.index))?
        } else {
            let index = Arc::clone(&self.index);
            self.store
                .read(move |rx| read_entries(rx, &dirty, &index))
                .await?
        };
        let mut slot = self
            .index
            .entries
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(entries) = slot.as_mut() {
            for (member, entry) in fresh {
                entries.put(member, entry);
            }
        }
        Ok(())
    }

    fn take_dirty(&self) -> Vec<UserId> {
        let mut dirty = self
            .index
            .dirty
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        dirty.drain().collect()
    }
}

fn read_entries(
    rx: &Rx,
    members: &[UserId],
    index: &Index,
) -> Result<Vec<(UserId, Option<Entry>)>, StoreError> {
    let mut out = Vec::with_capacity(members.len());
    for &member in members {
        let entry = match rx.profiles().get(member)? {
            Some(p) => entry_of(rx, p, index)?,
            None => None,
        };
        out.push((member, entry));
    }
    Ok(out)
}

/// The directory's entry for a profile; `None` when its account is gone.
fn entry_of(rx: &Rx, p: Profile, index: &Index) -> Result<Option<Entry>, StoreError> {
    let Some(user) = rx.users().get(p.member)? else {
        return Ok(None);
    };
    let mut has_photo = false;
    for id in &p.photos {
        if rx
            .media()
            .get(*id)?
            .is_some_and(|m| m.owner == p.member && m.state == MediaState::Ready)
        {
            has_photo = true;
            break;
        }
    }
    let joined_ms = user.created_at.as_millisecond();
    Ok(Some(Entry {
        member: p.member,
        birth_date: p.birth_date,
        gender: index.term(&p.gender),
        intent: index.term(&p.intent),
        interests: index.terms(p.interests),
        coords: p
            .place
            .and_then(places::get)
            .map(|pl| (pl.latitude, pl.longitude)),
        place: p.place,
        has_photo,
        joined_ms,
        active_ms: rx.profiles().last_active(p.member)?.unwrap_or(joined_ms),
        listed: !p.paused,
        wants: index.terms(p.wants),
        age_min: p.age_min,
        age_max: p.age_max,
        max_distance_km: p.max_distance_km,
        email_verified: user.email_verified,
        hidden_until_ms: user.status.good_standing_from_ms(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_no_profile_uses_are_swept() {
        let index = Index::default();
        let kept: Vec<Term> = (0..10).map(|i| index.term(&format!("kept {i}"))).collect();
        for i in 0..50_000 {
            // A made-up interest, dropped at once (a profile saved again without it).
            drop(index.term(&format!("passing fancy {i}")));
        }
        {
            let terms = index.terms.lock().unwrap();
            assert!(terms.set.len() <= 2 * TERMS_FLOOR, "{}", terms.set.len());
            for t in &kept {
                assert!(terms.set.contains(t), "words in use stay");
            }
        }
        // In use, a word is shared rather than copied.
        assert!(Arc::ptr_eq(&index.term("kept 3"), &kept[3]));
    }
}
