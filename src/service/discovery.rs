//! The discovery deck: for each member, the candidates who suit them and whom they suit,
//! best first, precomputed and kept at most six hours old.
//!
//! A deck is ranked from the directory's in-memory index and kept in memory (a projection: at
//! most `MAX_DECKS`, the oldest dropped first; a dropped or lost deck is ranked again on its
//! next read, in milliseconds). A job recomputes a deck when the member's profile changes, an
//! hourly sweep recomputes decks older than five hours, and a read recomputes a deck that is
//! missing or older than six. Reading filters out whoever the member swiped or blocked since,
//! and whoever is no longer shown (paused, suspended; from the public profiles in memory), so
//! a swiped card never comes back. How often each member was shown lately is counted in memory (halved every
//! sweep) and damps their rank, so a few popular profiles do not fill every deck.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use jiff::Timestamp;
// Keys are ids the server made, so a fast hash cannot be flooded.
use rustc_hash::FxHashMap;

use super::access::{Access, Actor};
use super::directory::Directory;
use super::error::ServiceError;
use super::matching::shown_to;
use super::public_profiles::PublicProfiles;
use super::settings::Settings;
use super::stats::MatchingStats;
use crate::clock::SharedClock;
use crate::domain::deck::{self, Deck, DeckRules, MAX_AGE_MS};
use crate::domain::ids::UserId;
use crate::domain::permission::Permission;
use crate::events::{Event, EventBus};
use crate::jobs::{EnqueueOptions, JobError, JobPlan, JobQueue};
use crate::store::{Store, StoreError};

/// Recomputes one member's deck.
pub const PRECOMPUTE: &str = "discovery.precompute";
/// Recomputes the decks that are getting old.
pub const SWEEP: &str = "discovery.sweep";
/// A sweep recomputes decks older than this.
const SWEEP_AGE_MS: i64 = 5 * 3600 * 1000;
/// A deck that runs short is ranked again when it is older than this,
const RERANK_SHORT_MS: i64 = 60 * 1000;
/// or, when profiles changed since, older than this: a member who has seen everyone, asking
/// again and again while the community changes, costs at most one ranking per interval.
const RERANK_CHANGED_MS: i64 = 1000;
/// Decks kept in memory: the members who used discovery lately. At 100 candidates of 16
/// bytes each, about 40 MB when full.
pub const MAX_DECKS: usize = 25_000;

#[derive(Clone)]
pub struct Discovery {
    store: Store,
    access: Access,
    settings: Settings,
    clock: SharedClock,
    directory: Directory,
    public: PublicProfiles,
    exposures: Arc<RwLock<FxHashMap<UserId, u32>>>,
    decks: Arc<Mutex<FxHashMap<UserId, Deck>>>,
    /// Counts profile changes; a short deck ranked before the latest one is ranked again.
    profiles_changed: Arc<AtomicU64>,
    stats: MatchingStats,
}

impl Discovery {
    // The services and projections it reads, each one argument.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Store,
        access: Access,
        settings: Settings,
        clock: SharedClock,
        directory: Directory,
        public: PublicProfiles,
        stats: MatchingStats,
        events: &EventBus,
    ) -> Self {
        let profiles_changed = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&profiles_changed);
        events.listen(move |event| {
            if let Event::ProfileChanged { .. } = event {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
        Self {
            profiles_changed,
            store,
            access,
            settings,
            clock,
            directory,
            public,
            exposures: Arc::default(),
            decks: Arc::default(),
            stats,
        }
    }

    /// Ranks and stores `member`'s deck.
    pub async fn precompute(&self, member: UserId) -> Result<Deck, ServiceError> {
        let started = std::time::Instant::now();
        let generation = self.profiles_changed.load(Ordering::Relaxed);
        self.directory.bring_up_to_date().await?;
        let excluded: HashSet<UserId> = self
            .store
            .read(move |rx| {
                let mut out: HashSet<UserId> =
                    rx.swipes().targets_of(member)?.into_iter().collect();
                out.extend(rx.blocks().either_way(member)?);
                Ok::<_, StoreError>(out)
            })
            .await?;
        let options = self.settings.current().profiles.clone();
        let rules = DeckRules {
            requires_photo: options.deck_requires_photo,
            requires_verified: options.deck_requires_verified,
        };
        let now = self.clock.now();
        let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
        // Ranking reads the counts in place; copying them would cost a map of every member
        // shown lately per deck.
        let exposures = self
            .exposures
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let candidates = self
            .directory
            .with_entries(|entries| match entries.get(member) {
                Some(me) => deck::rank(
                    me,
                    entries.all().iter(),
                    &excluded,
                    &exposures,
                    rules,
                    now.as_millisecond(),
                    today,
                ),
                None => Vec::new(),
            });
        drop(exposures);
        let deck = Deck {
            candidates,
            computed_at: now,
            profiles_seen: generation,
        };
        self.keep(member, deck.clone());
        self.stats
            .deck_precompute
            .observe(started.elapsed().as_secs_f64());
        Ok(deck)
    }

    /// Up to `limit` candidates for the member, best first.
    pub async fn deck(&self, actor: &Actor, limit: usize) -> Result<Vec<UserId>, ServiceError> {
        self.access.require(actor, Permission::View)?;
        let me = actor.id;
        let now = self.clock.now();
        let stored = self
            .decks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&me)
            .cloned();
        let mut deck = match stored {
            Some(d) if now.as_millisecond() - d.computed_at.as_millisecond() < MAX_AGE_MS => d,
            _ => self.precompute(me).await?,
        };
        self.directory.bring_up_to_date().await?;
        if !self.directory.with_entries(|e| e.get(me).is_some()) {
            return Err(super::matching::profile_required());
        }
        let mut picked = self.pick(me, &deck, limit, now)?;
        // A deck that runs short is ranked again when a profile changed since, or after a
        // minute: in a small or growing community newcomers should not wait hours to be seen.
        let age = now.as_millisecond() - deck.computed_at.as_millisecond();
        let changed = self.profiles_changed.load(Ordering::Relaxed) != deck.profiles_seen;
        let due = age > RERANK_SHORT_MS || (changed && age > RERANK_CHANGED_MS);
        if picked.len() < limit && due {
            deck = self.precompute(me).await?;
            picked = self.pick(me, &deck, limit, now)?;
        }
        let mut exposures = self
            .exposures
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        for id in &picked {
            *exposures.entry(*id).or_default() += 1;
        }
        Ok(picked)
    }

    /// The first `limit` of `deck` still shown to the member (not paused, in good standing,
    /// not blocked) and not swiped. Profiles come from memory, a chunk at a time: most of a
    /// deck's head is still there.
    fn pick(
        &self,
        me: UserId,
        deck: &Deck,
        limit: usize,
        now: Timestamp,
    ) -> Result<Vec<UserId>, ServiceError> {
        let blocked = self.store.lookup(|rx| rx.blocks().either_way(me))?;
        let mut out = Vec::with_capacity(limit);
        for chunk in deck.candidates.chunks(limit.max(16)) {
            let profiles = self.public.get_many(&self.store, chunk)?;
            let decided = self.store.lookup(|rx| rx.swipes().decided(me, chunk))?;
            for ((&id, profile), decided) in chunk.iter().zip(profiles).zip(decided) {
                if out.len() == limit {
                    break;
                }
                let shown = profile.is_some_and(|p| {
                    let hidden = blocked.contains(&id);
                    shown_to(me, &p.status, &p.profile, hidden, now)
                });
                if shown && !decided {
                    out.push(id);
                }
            }
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }

    fn keep(&self, member: UserId, deck: Deck) {
        let mut decks = self.decks.lock().unwrap_or_else(PoisonError::into_inner);
        if decks.len() >= MAX_DECKS && !decks.contains_key(&member) {
            // Drop the oldest tenth in one go, so a full map costs one pass per many inserts.
            let mut ages: Vec<(Timestamp, UserId)> =
                decks.iter().map(|(id, d)| (d.computed_at, *id)).collect();
            ages.sort_unstable();
            for (_, id) in ages.into_iter().take(MAX_DECKS / 10) {
                decks.remove(&id);
            }
        }
        decks.insert(member, deck);
    }

    /// Halves every exposure count (each sweep), so damping follows recent showings.
    fn decay(&self) {
        let mut exposures = self
            .exposures
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        exposures.retain(|_, n| {
            *n /= 2;
            *n > 0
        });
    }

    /// Recomputes decks older than the sweep age, oldest first.
    pub async fn sweep(&self) -> Result<usize, ServiceError> {
        self.decay();
        let before = self.clock.now().as_millisecond() - SWEEP_AGE_MS;
        let stale: Vec<UserId> = self
            .decks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(_, d)| d.computed_at.as_millisecond() < before)
            .map(|(id, _)| *id)
            .collect();
        for member in &stale {
            self.precompute(*member).await?;
        }
        Ok(stale.len())
    }

    pub fn register_jobs(&self, plan: &mut JobPlan) {
        let this = self.clone();
        plan.register(PRECOMPUTE, move |job| {
            let this = this.clone();
            async move {
                let member: UserId = serde_json::from_slice(&job.payload)
                    .map_err(|e| JobError::permanent(format!("bad payload: {e}")))?;
                this.precompute(member)
                    .await
                    .map(drop)
                    .map_err(|e| JobError::retry(e.to_string()))
            }
        });
        let this = self.clone();
        plan.register(SWEEP, move |_| {
            let this = this.clone();
            async move {
                this.sweep()
                    .await
                    .map(drop)
                    .map_err(|e| JobError::retry(e.to_string()))
            }
        });
        plan.schedule("discovery decks", SWEEP, "every 1h");
    }

    /// The job that recomputes `member`'s deck, for writes that change what it holds.
    pub fn precompute_job(
        queue: &JobQueue,
        member: UserId,
        now: Timestamp,
    ) -> Result<crate::domain::job::Job, crate::jobs::QueueError> {
        queue.new_job(
            PRECOMPUTE,
            &member,
            EnqueueOptions {
                dedupe_key: Some(format!("deck:{member}")),
                run_at: Some(now),
            },
        )
    }
}
