//! What other members may see of each profile, kept in memory: the profile, its account's
//! standing and the photos others may see. Decks and directory pages show 20 to 50 profiles a
//! request, and reading each one's profile, account and photo records from redb and decoding
//! them was most of what those requests cost.
//!
//! A projection of the store, never the truth: a bus listener drops a member's entry as soon
//! as a write to their profile, account or photos commits (before the writer answers, so a
//! member sees their own change at once). An entry read while such a write was committing is
//! not kept, so a stale entry never outlives the change. At most [`MAX_ENTRIES`]; when full, a
//! quarter of them are dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

// Keys are ids the server made, so a fast hash cannot be flooded.
use rustc_hash::FxHashMap;

use crate::domain::account::AccountStatus;
use crate::domain::ids::UserId;
use crate::domain::media::{self, Media};
use crate::domain::profile::Profile;
use crate::events::{Event, EventBus};
use crate::store::{Rx, Store, StoreError};

/// Profiles kept: about 2 KB each with their JSON, so about 100 MB when full.
pub const MAX_ENTRIES: usize = 50_000;

/// One member as others may see them.
#[derive(Debug)]
pub struct PublicProfile {
    pub profile: Profile,
    /// The account's standing (the account itself, with its secrets, is not kept).
    pub status: AccountStatus,
    /// The photos others may see, in the member's order.
    pub photos: Vec<Media>,
    /// The API's JSON of what every viewer sees alike, written by the first answer that
    /// shows this entry; it lives and goes with the entry, so it is never stale.
    pub rendered: OnceLock<Box<str>>,
}

impl PublicProfile {
    pub fn new(profile: Profile, status: AccountStatus, photos: Vec<Media>) -> Self {
        Self {
            profile,
            status,
            photos,
            rendered: OnceLock::new(),
        }
    }
}

#[derive(Clone, Default)]
pub struct PublicProfiles {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: RwLock<FxHashMap<UserId, Arc<PublicProfile>>>,
    /// Counts the changes the listener saw; entries read across one are not kept.
    changes: AtomicU64,
}

impl PublicProfiles {
    pub fn new(events: &EventBus) -> Self {
        let this = Self::default();
        let inner = Arc::clone(&this.inner);
        events.listen(move |event| {
            let member = match event {
                Event::ProfileChanged { member } => *member,
                Event::AccountChanged { user } | Event::AccountDeleted { user } => *user,
                Event::MediaProcessed { owner, .. }
                | Event::MediaDecided { owner, .. }
                | Event::MediaRemoved { owner, .. } => *owner,
                _ => return,
            };
            inner.changes.fetch_add(1, Ordering::SeqCst);
            inner
                .entries
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&member);
        });
        this
    }

    /// The members' public profiles in the order asked, `None` for members without a profile
    /// or an account; from memory, reading from the store only those not kept.
    pub fn get_many(
        &self,
        store: &Store,
        members: &[UserId],
    ) -> Result<Vec<Option<Arc<PublicProfile>>>, StoreError> {
        let mut found: Vec<Option<Arc<PublicProfile>>> = {
            let entries = self
                .inner
                .entries
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            members.iter().map(|m| entries.get(m).cloned()).collect()
        };
        let missing: Vec<usize> = (0..members.len()).filter(|&i| found[i].is_none()).collect();
        if missing.is_empty() {
            return Ok(found);
        }
        // Read before the snapshot opens: a change committed after this is either in the
        // snapshot or moves the count.
        let changes = self.inner.changes.load(Ordering::SeqCst);
        let read = store.lookup(|rx| {
            missing
                .iter()
                .map(|&i| read_one(rx, members[i]))
                .collect::<Result<Vec<_>, StoreError>>()
        })?;
        let mut fresh = Vec::new();
        for (&i, public) in missing.iter().zip(read) {
            if let Some(p) = public {
                let p = Arc::new(p);
                fresh.push((members[i], Arc::clone(&p)));
                found[i] = Some(p);
            }
        }
        self.keep(fresh, changes);
        Ok(found)
    }

    /// One member's public profile (see [`Self::get_many`]).
    pub fn get(
        &self,
        store: &Store,
        member: UserId,
    ) -> Result<Option<Arc<PublicProfile>>, StoreError> {
        Ok(self.get_many(store, &[member])?.pop().flatten())
    }

    fn keep(&self, fresh: Vec<(UserId, Arc<PublicProfile>)>, changes_before: u64) {
        if fresh.is_empty() {
            return;
        }
        let mut entries = self
            .inner
            .entries
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        // Checked under the lock the listener takes too, so no change slips in between.
        if self.inner.changes.load(Ordering::SeqCst) != changes_before {
            return;
        }
        if entries.len() + fresh.len() > MAX_ENTRIES {
            let mut n = 0usize;
            entries.retain(|_, _| {
                n += 1;
                !n.is_multiple_of(4)
            });
        }
        entries.extend(fresh);
    }

    /// How many profiles are kept now.
    pub fn len(&self) -> usize {
        self.inner
            .entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn read_one(rx: &Rx, member: UserId) -> Result<Option<PublicProfile>, StoreError> {
    let (Some(profile), Some(user)) = (rx.profiles().get(member)?, rx.users().get(member)?) else {
        return Ok(None);
    };
    let mut photos = Vec::with_capacity(profile.photos.len());
    for id in &profile.photos {
        if let Some(m) = rx.media().get(*id)?
            && m.owner == member
            && media::shown_to_others(&m, &user.status)
        {
            photos.push(m);
        }
    }
    Ok(Some(PublicProfile::new(profile, user.status, photos)))
}
