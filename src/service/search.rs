//! Search: one index for every kind of record, fresh within seconds, with who may see what
//! inside the query.
//!
//! A module makes its records searchable by registering a [`SearchKind`]: which events
//! change which of its records, how a record becomes a [`Document`] (with its access
//! terms), and every record id (for rebuilds). A store reactor writes the changed records
//! to the search outbox in the same transaction as the change; the indexer task drains it
//! in batches, about once a second, and removes what it indexed. At start it catches up;
//! an index that is missing, unreadable or of another version is made anew and filled from
//! the database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tokio::sync::Notify;

use super::access::{Access, Actor};
use super::error::ServiceError;
use crate::clock::SharedClock;
use crate::domain::ids::{UserId, uuid_v7};
use crate::domain::permission::Permission;
use crate::domain::search::{Document, ParsedQuery, parse_query};
use crate::events::{Event, EventBus};
use crate::jobs::{EnqueueOptions, JobError, JobPlan, JobSink, Shutdown};
use crate::search::{Found, Query, SearchError, SearchIndex};
use crate::store::{Rx, Store, StoreError, Tx};

/// Outbox entries indexed per commit.
const BATCH: usize = 2_000;
/// Commits at most this often while changes keep coming.
const COMMIT_EVERY: Duration = Duration::from_secs(1);
pub use crate::domain::search::{DEPTH_MAX, PAGE_MAX};
/// Kinds one query may name, and facet filters it may carry (each a clause of the query
/// and a part of the key its shared answer is kept under).
pub const KINDS_MAX: usize = 5;
pub const FILTERS_MAX: usize = 12;
/// The longest kind or filter value.
pub const VALUE_MAX_CHARS: usize = 100;

/// A kind of record the index holds.
pub trait SearchKind: Send + Sync {
    /// `profile`, `story`, `message`, …: the first part of its documents' keys.
    fn name(&self) -> &'static str;
    /// The ids of this kind's records an event changes (read in the event's transaction).
    fn changed_by(&self, tx: &Tx<'_>, event: &Event) -> Result<Vec<String>, StoreError>;
    /// The record as a document, or `None` when it should not be found (gone, hidden).
    fn document(&self, rx: &Rx, id: &str, now: Timestamp) -> Result<Option<Document>, StoreError>;
    /// Every record id (for a rebuild).
    fn all(&self, rx: &Rx) -> Result<Vec<String>, StoreError>;
    /// The document a query names exactly (a record's number), which then comes first.
    fn exact(&self, _rx: &Rx, _q: &str, _now: Timestamp) -> Result<Option<Document>, StoreError> {
        Ok(None)
    }
}

/// What someone asks for.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub q: String,
    pub kinds: Vec<String>,
    pub filters: Vec<(String, String)>,
    pub newest_first: bool,
    pub page: usize,
    pub limit: usize,
    /// Suggestions while typing: not counted in what members look for (every keystroke
    /// would count a half word).
    pub as_you_type: bool,
}

/// The answer, with the query as read (for snippets).
#[derive(Debug, Clone)]
pub struct SearchAnswer {
    pub found: Found,
    pub query: ParsedQuery,
}

/// What members look for: (query, count), most first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PopularQueries {
    pub top: Vec<(String, u64)>,
    /// Queries that found nothing, with how often.
    pub empty: Vec<(String, u64)>,
}

/// How the index is doing, for the admin panel.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexStatus {
    pub documents: u64,
    /// Changes not indexed yet, and how old the oldest is.
    pub pending: u64,
    pub lag_ms: i64,
    pub last_commit: Option<Timestamp>,
}

#[derive(Clone)]
pub struct Search {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    access: Access,
    clock: SharedClock,
    index: SearchIndex,
    kinds: Vec<Box<dyn SearchKind>>,
    wake: Notify,
    last_commit: std::sync::Mutex<Option<Timestamp>>,
    /// Made anew at start: fill it from the database before anything else.
    needs_rebuild: std::sync::atomic::AtomicBool,
    /// Where a rebuild asked for in the admin panel goes (the queue is built later).
    jobs: std::sync::OnceLock<JobSink>,
    /// Queries asked since the last flush: query → (asked, found nothing).
    asked: std::sync::Mutex<std::collections::HashMap<String, (u64, u64)>>,
}

/// Distinct queries counted between two flushes (more are not counted).
const ASKED_BETWEEN_FLUSHES: usize = 10_000;

/// The outbox's entry for a deleted account (not a kind of document).
const GONE: &str = "member-gone";

/// The job that empties the index and fills it again from the database.
pub const REBUILD: &str = "search.rebuild";

impl Search {
    /// Opens the index in `dir` and registers the reactor that writes the outbox.
    pub fn open(
        store: Store,
        access: Access,
        clock: SharedClock,
        events: &EventBus,
        dir: &std::path::Path,
        kinds: Vec<Box<dyn SearchKind>>,
    ) -> Result<Search, SearchError> {
        let (index, fresh) = SearchIndex::open(dir)?;
        if fresh {
            tracing::info!(dir = %dir.display(), "search index made anew; it will be filled from the database");
        }
        let inner = Arc::new(Inner {
            store: store.clone(),
            access,
            clock: clock.clone(),
            index,
            kinds,
            wake: Notify::new(),
            last_commit: std::sync::Mutex::new(None),
            needs_rebuild: std::sync::atomic::AtomicBool::new(fresh),
            jobs: std::sync::OnceLock::new(),
            asked: std::sync::Mutex::default(),
        });
        // The reactor holds the service weakly: a strong hold would keep the store open.
        let weak = Arc::downgrade(&inner);
        store.react(move |tx, event| {
            let now = clock.now().as_millisecond();
            // A deleted account takes everything by it or open to it out of the index.
            if let Event::AccountDeleted { user } = event {
                tx.search_outbox().push(
                    uuid_v7(now, rand::random()).as_u128(),
                    GONE,
                    &user.to_string(),
                )?;
            }
            let Some(inner) = weak.upgrade() else {
                return Ok(());
            };
            for kind in &inner.kinds {
                for id in kind.changed_by(tx, event)? {
                    tx.search_outbox().push(
                        uuid_v7(now, rand::random()).as_u128(),
                        kind.name(),
                        &id,
                    )?;
                }
            }
            Ok(())
        });
        let weak = Arc::downgrade(&inner);
        events.listen(move |_| {
            if let Some(inner) = weak.upgrade() {
                inner.wake.notify_one();
            }
        });
        Ok(Search { inner })
    }

    /// Registers the rebuild job.
    pub fn register_jobs(&self, plan: &mut JobPlan) {
        let this = self.clone();
        plan.register(REBUILD, move |_job| {
            let this = this.clone();
            async move {
                let documents = this
                    .rebuild(|_, _| {})
                    .await
                    .map_err(|e| JobError::retry(e.to_string()))?;
                tracing::info!(documents, "search index rebuilt");
                Ok(())
            }
        });
    }

    /// Gives the service the queue's sink, once the queue exists.
    pub fn attach(&self, jobs: JobSink) {
        let _ = self.inner.jobs.set(jobs);
    }

    /// Asks for a rebuild in the background (admins; one at a time).
    pub async fn request_rebuild(&self, actor: &Actor) -> Result<(), ServiceError> {
        self.inner
            .access
            .require(actor, Permission::ManageSettings)?;
        let jobs = self
            .inner
            .jobs
            .get()
            .ok_or_else(|| ServiceError::internal("the job queue is not running"))?;
        let job = jobs
            .new_job(
                REBUILD,
                &(),
                EnqueueOptions {
                    dedupe_key: Some(REBUILD.into()),
                    run_at: None,
                },
            )
            .map_err(ServiceError::internal)?;
        self.inner
            .store
            .write(move |tx| tx.jobs().enqueue(&job).map(drop))
            .await?;
        jobs.notify();
        Ok(())
    }

    /// The indexer: drains the outbox (first filling a new index), committing at most about
    /// once a second, until shutdown.
    pub async fn run_indexer(self, mut shutdown: Shutdown) {
        if self
            .inner
            .needs_rebuild
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            let started = Instant::now();
            match self.rebuild(|_, _| {}).await {
                Ok(documents) => tracing::info!(
                    documents,
                    seconds = started.elapsed().as_secs_f64(),
                    "search index filled from the database"
                ),
                Err(e) => tracing::error!("search rebuild failed: {e}"),
            }
        }
        let mut last = Instant::now() - COMMIT_EVERY;
        loop {
            if shutdown.is_triggered() {
                return;
            }
            let since = last.elapsed();
            if since < COMMIT_EVERY {
                tokio::select! {
                    _ = tokio::time::timeout(COMMIT_EVERY - since, std::future::pending::<()>()) => {}
                    () = shutdown.wait() => return,
                }
            }
            if let Err(e) = self.flush_asked().await {
                tracing::warn!("search query counts not saved: {e}");
            }
            match self.index_pending().await {
                Ok(0) => {
                    tokio::select! {
                        () = self.inner.wake.notified() => {}
                        _ = tokio::time::timeout(Duration::from_secs(30), std::future::pending::<()>()) => {}
                        () = shutdown.wait() => return,
                    }
                }
                Ok(_) => last = Instant::now(),
                Err(e) => {
                    tracing::error!("search indexing failed: {e}");
                    last = Instant::now();
                }
            }
        }
    }

    /// Indexes one batch from the outbox; how many entries it took.
    pub async fn index_pending(&self) -> Result<usize, ServiceError> {
        let inner = Arc::clone(&self.inner);
        let now = self.inner.clock.now();
        let (entries, upserts, removals, gone) = self
            .inner
            .store
            .read(move |rx| {
                let pending = rx.search_outbox().oldest(BATCH)?;
                let mut upserts = Vec::new();
                let mut removals = Vec::new();
                let mut gone = Vec::new();
                let mut seen = std::collections::HashSet::new();
                for p in &pending {
                    if p.kind == GONE {
                        gone.push(p.id.clone());
                        continue;
                    }
                    let key = format!("{}:{}", p.kind, p.id);
                    if !seen.insert(key.clone()) {
                        continue;
                    }
                    match inner.kinds.iter().find(|k| k.name() == p.kind) {
                        Some(kind) => match kind.document(rx, &p.id, now)? {
                            Some(doc) => upserts.push(doc),
                            None => removals.push(key),
                        },
                        None => removals.push(key),
                    }
                }
                let entries: Vec<u128> = pending.iter().map(|p| p.entry).collect();
                Ok::<_, StoreError>((entries, upserts, removals, gone))
            })
            .await?;
        if entries.is_empty() {
            return Ok(0);
        }
        self.commit(upserts, removals, gone).await?;
        let taken = entries.len();
        self.inner
            .store
            .write(move |tx| tx.search_outbox().remove(&entries))
            .await?;
        Ok(taken)
    }

    async fn commit(
        &self,
        upserts: Vec<Document>,
        removals: Vec<String>,
        gone: Vec<String>,
    ) -> Result<(), ServiceError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || inner.index.apply(upserts, removals, gone))
            .await
            .map_err(ServiceError::internal)?
            .map_err(ServiceError::internal)?;
        *self
            .inner
            .last_commit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(self.inner.clock.now());
        Ok(())
    }

    /// Empties the index and fills it again from the database, `progress(done, total)` as
    /// it goes.
    pub async fn rebuild(&self, progress: impl Fn(u64, u64)) -> Result<u64, ServiceError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || inner.index.clear())
            .await
            .map_err(ServiceError::internal)?
            .map_err(ServiceError::internal)?;
        let inner = Arc::clone(&self.inner);
        let ids: Vec<(usize, Vec<String>)> = self
            .inner
            .store
            .read(move |rx| {
                inner
                    .kinds
                    .iter()
                    .enumerate()
                    .map(|(i, k)| Ok((i, k.all(rx)?)))
                    .collect::<Result<_, StoreError>>()
            })
            .await?;
        let total: u64 = ids.iter().map(|(_, v)| v.len() as u64).sum();
        let mut done = 0u64;
        for (kind, all) in ids {
            for chunk in all.chunks(BATCH) {
                let inner = Arc::clone(&self.inner);
                let taken = chunk.len() as u64;
                let chunk = chunk.to_vec();
                let now = self.inner.clock.now();
                let docs = self
                    .inner
                    .store
                    .read(move |rx| {
                        let k = &inner.kinds[kind];
                        let mut docs = Vec::with_capacity(chunk.len());
                        for id in &chunk {
                            docs.extend(k.document(rx, id, now)?);
                        }
                        Ok::<_, StoreError>(docs)
                    })
                    .await?;
                done += taken;
                self.commit(docs, Vec::new(), Vec::new()).await?;
                progress(done.min(total), total);
            }
        }
        let inner = Arc::clone(&self.inner);
        // The index is whole either way; merged, it answers faster.
        match tokio::task::spawn_blocking(move || inner.index.merge_segments()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("search segments not merged after the rebuild: {e}"),
            Err(e) => tracing::warn!("search segments not merged after the rebuild: {e}"),
        }
        Ok(self.inner.index.documents())
    }

    /// Saves the query counts gathered since the last time.
    pub async fn flush_asked(&self) -> Result<(), ServiceError> {
        let asked = std::mem::take(
            &mut *self
                .inner
                .asked
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        if asked.is_empty() {
            return Ok(());
        }
        self.inner
            .store
            .write(move |tx| {
                for (query, (n, empty)) in &asked {
                    tx.search_queries().add(query, *n, *empty)?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// The most asked queries, and those most often finding nothing (counts only; admins).
    pub async fn popular(&self, actor: &Actor, n: usize) -> Result<PopularQueries, ServiceError> {
        self.inner
            .access
            .require(actor, Permission::ManageSettings)?;
        self.flush_asked().await?;
        let mut all = self
            .inner
            .store
            .read(|rx| rx.search_queries().all())
            .await?;
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let top = all
            .iter()
            .take(n)
            .map(|(q, c, _)| (q.clone(), *c))
            .collect();
        all.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
        let empty = all
            .iter()
            .filter(|q| q.2 > 0)
            .take(n)
            .map(|(q, _, e)| (q.clone(), *e))
            .collect();
        Ok(PopularQueries { top, empty })
    }

    pub async fn status(&self, actor: &Actor) -> Result<IndexStatus, ServiceError> {
        self.inner
            .access
            .require(actor, Permission::ManageSettings)?;
        let now = self.inner.clock.now().as_millisecond();
        let (pending, first) = self
            .inner
            .store
            .read(|rx| {
                Ok::<_, StoreError>((rx.search_outbox().count()?, rx.search_outbox().first()?))
            })
            .await?;
        let oldest_ms = first.map(|e| i64::try_from(e >> 80).unwrap_or(now));
        Ok(IndexStatus {
            documents: self.inner.index.documents(),
            pending,
            lag_ms: oldest_ms.map_or(0, |ms| (now - ms).max(0)),
            last_commit: *self
                .inner
                .last_commit
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        })
    }

    /// Searches as `actor`: what they may see, leaving out members blocked either way.
    pub async fn search(
        &self,
        actor: &Actor,
        request: SearchRequest,
    ) -> Result<SearchAnswer, ServiceError> {
        self.inner.access.require(actor, Permission::View)?;
        let text = parse_query(&request.q).map_err(|why| ServiceError::invalid("q", why))?;
        let too_long = |v: &String| v.chars().count() > VALUE_MAX_CHARS;
        if request.kinds.len() > KINDS_MAX || request.kinds.iter().any(too_long) {
            return Err(ServiceError::invalid(
                "kind",
                format!("Name at most {KINDS_MAX} kinds, each up to {VALUE_MAX_CHARS} characters."),
            ));
        }
        if request.filters.len() > FILTERS_MAX || request.filters.iter().any(|(_, v)| too_long(v)) {
            return Err(ServiceError::invalid(
                "filters",
                format!(
                    "Use at most {FILTERS_MAX} filters, each up to {VALUE_MAX_CHARS} characters."
                ),
            ));
        }
        if text.is_empty() && request.filters.is_empty() && request.kinds.is_empty() {
            return Err(ServiceError::invalid(
                "q",
                "Type what to look for (letters or digits), or choose a filter.",
            ));
        }
        let limit = request.limit.clamp(1, PAGE_MAX);
        let offset = request.page.saturating_sub(1).saturating_mul(limit);
        if offset >= DEPTH_MAX {
            return Err(ServiceError::invalid(
                "page",
                format!("Results go {DEPTH_MAX} deep: narrow the search instead."),
            ));
        }
        let me: UserId = actor.id;
        let as_you_type = request.as_you_type;
        // A query that names one thing exactly (a record's number) finds it first.
        let exactly = (offset == 0 && request.filters.is_empty())
            .then(|| request.q.trim().to_string())
            .filter(|q| !q.is_empty() && q.chars().count() <= 64);
        let now = self.inner.clock.now();
        let inner = Arc::clone(&self.inner);
        let (blocked, partners, named) = self
            .inner
            .store
            .read(move |rx| {
                let mut named = None;
                if let Some(q) = &exactly {
                    for kind in &inner.kinds {
                        named = kind.exact(rx, q, now)?;
                        if named.is_some() {
                            break;
                        }
                    }
                }
                Ok::<_, StoreError>((
                    rx.blocks().either_way(me)?,
                    rx.matches().partners_of(me)?,
                    named,
                ))
            })
            .await?;
        // Open to them alone: their own records, and what their matches share with matches.
        let mut own_access = vec![format!("member:{me}")];
        own_access.extend(partners.iter().map(|p| format!("matches-of:{p}")));
        let query = Query {
            text: text.clone(),
            kinds: request.kinds,
            filters: request.filters,
            access: access_terms(actor),
            own_access,
            exclude_members: blocked.iter().map(ToString::to_string).collect(),
            exclude_keys: vec![format!("profile:{me}")],
            newest_first: request.newest_first,
            now_ms: self.inner.clock.now().as_millisecond(),
            offset,
            limit,
        };
        // On the request's own thread: a query whose shared part is kept takes about a
        // tenth of a millisecond, less than handing it to the blocking pool and back.
        let mut found = self
            .inner
            .index
            .search(&query)
            .map_err(ServiceError::internal)?;
        if let Some(doc) = named.filter(|d| findable_by(d, &query)) {
            let before = found.hits.len();
            found.hits.retain(|h| h.key != doc.key);
            if found.hits.len() == before {
                found.total += 1;
            }
            found.hits.insert(
                0,
                crate::search::Hit {
                    key: doc.key,
                    kind: doc.kind.to_string(),
                    link: doc.link,
                    title: doc.title,
                    body: doc.body,
                },
            );
            found.hits.truncate(limit);
        }
        if !as_you_type {
            self.count_asked(&text, found.total == 0);
        }
        Ok(SearchAnswer { found, query: text })
    }
}

impl Search {
    /// Counts a query as read (its folded words; never who asked).
    fn count_asked(&self, text: &ParsedQuery, empty: bool) {
        let mut words: Vec<String> = text.words.clone();
        words.extend(text.phrases.iter().map(|p| format!("\"{}\"", p.join(" "))));
        words.extend(text.prefix.iter().cloned());
        let query: String = words.join(" ").chars().take(100).collect();
        if query.is_empty() {
            return;
        }
        let mut asked = self
            .inner
            .asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if asked.len() >= ASKED_BETWEEN_FLUSHES && !asked.contains_key(&query) {
            return;
        }
        let entry = asked.entry(query).or_default();
        entry.0 += 1;
        entry.1 += u64::from(empty);
    }
}

/// Whether the searcher of `query` may find `doc` (named exactly, outside the index): the
/// same access terms, kinds, blocks and visibility window the index applies.
fn findable_by(doc: &Document, query: &Query) -> bool {
    let open = doc
        .access
        .iter()
        .any(|t| query.access.contains(t) || query.own_access.contains(t));
    let kind = query.kinds.is_empty() || query.kinds.iter().any(|k| k == doc.kind);
    let blocked = doc
        .member
        .as_ref()
        .is_some_and(|m| query.exclude_members.contains(m));
    let visible = doc.visible_from_ms <= query.now_ms && query.now_ms < doc.visible_until_ms;
    open && kind && !blocked && visible && !query.exclude_keys.contains(&doc.key)
}

/// What a member may find along with others: what all members may, their role's.
fn access_terms(actor: &Actor) -> Vec<String> {
    let mut terms = vec![
        "members".to_string(),
        format!("role:{}", actor.role.as_str()),
    ];
    if actor.role.is_staff() {
        terms.push("staff".into());
    }
    terms
}
