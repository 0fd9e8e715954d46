//! The durable job queue: enqueue, lease, run, then complete, retry with backoff, or fail.
//!
//! A job is leased and its attempt counted in one transaction before it runs, and its outcome
//! is recorded in another after; a crash in between leaves it leased, and the next start puts
//! it back in the queue ([`JobQueue::recover`]). Handlers run as their own tokio task, so a
//! panic fails that job and nothing else.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::Notify;

use super::{JobError, Registry, Shutdown};
use crate::clock::SharedClock;
use crate::domain::ids::{JobId, uuid_v7};
use crate::domain::job::{Job, retry_delay};
use crate::store::jobs::{Enqueued, QueueCounts};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("no job handler is registered for kind \"{0}\"")]
    UnknownKind(String),
    #[error("job payload cannot be encoded: {0}")]
    Payload(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, Default)]
pub struct EnqueueOptions {
    pub dedupe_key: Option<String>,
    /// Run no earlier than this; `None` means now.
    pub run_at: Option<Timestamp>,
}

/// What happened to a job that was run.
#[derive(Debug, Clone, PartialEq)]
pub enum JobOutcome {
    Succeeded {
        id: JobId,
        kind: String,
    },
    Retrying {
        id: JobId,
        kind: String,
        error: String,
        at: Timestamp,
    },
    Failed {
        id: JobId,
        kind: String,
        error: String,
    },
    /// Not due yet after all: it runs again at `at`, the attempt not counted.
    Postponed {
        id: JobId,
        kind: String,
        why: String,
        at: Timestamp,
    },
}

/// What code that writes jobs inside its own transactions needs: making a job and waking
/// the workers after the commit. It holds neither the store nor the handlers, so a store
/// reactor or a job handler can keep one without making a cycle that would keep the
/// database open after shutdown.
#[derive(Clone)]
pub struct JobSink {
    clock: SharedClock,
    kinds: Arc<[&'static str]>,
    wake: Arc<Notify>,
    max_attempts: u32,
}

impl JobSink {
    /// See [`JobQueue::new_job`].
    pub fn new_job(
        &self,
        kind: &str,
        payload: &impl serde::Serialize,
        options: EnqueueOptions,
    ) -> Result<Job, QueueError> {
        if !self.kinds.contains(&kind) {
            return Err(QueueError::UnknownKind(kind.to_string()));
        }
        let now = self.clock.now();
        Ok(Job {
            id: JobId(uuid_v7(now.as_millisecond(), rand::random())),
            kind: kind.to_string(),
            payload: serde_json::to_vec(payload).map_err(|e| QueueError::Payload(e.to_string()))?,
            dedupe_key: options.dedupe_key,
            attempts: 0,
            max_attempts: self.max_attempts,
            created_at: now,
            run_at: options.run_at.unwrap_or(now),
            last_error: None,
        })
    }

    /// Tells idle workers to look at the queue again.
    pub fn notify(&self) {
        self.wake.notify_waiters();
    }
}

#[derive(Clone)]
pub struct JobQueue {
    store: Store,
    clock: SharedClock,
    registry: Arc<Registry>,
    wake: Arc<Notify>,
    max_attempts: u32,
}

/// How long a failed job stays on the failed list (for staff to look at and retry).
pub const FAILED_JOBS_KEPT: jiff::SignedDuration = jiff::SignedDuration::from_hours(24 * 30);
/// The job that forgets old failed jobs.
pub const PURGE_FAILED: &str = "jobs.purge_failed";

/// Longest a worker waits before looking at the queue again, in case the clock jumped.
const MAX_IDLE_WAIT: Duration = Duration::from_secs(30);

impl JobQueue {
    pub fn new(store: Store, clock: SharedClock, registry: Registry, max_attempts: u32) -> Self {
        Self {
            store,
            clock,
            registry: Arc::new(registry),
            wake: Arc::new(Notify::new()),
            max_attempts,
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Builds the stored form of a new job, for callers that enqueue inside their own write
    /// (`tx.jobs().enqueue(&job)`) so the job exists if and only if their change does.
    pub fn new_job(
        &self,
        kind: &str,
        payload: &impl serde::Serialize,
        options: EnqueueOptions,
    ) -> Result<Job, QueueError> {
        self.sink().new_job(kind, payload, options)
    }

    /// A [`JobSink`] for this queue.
    pub fn sink(&self) -> JobSink {
        JobSink {
            clock: self.clock.clone(),
            kinds: self.registry.kinds().collect::<Vec<_>>().into(),
            wake: Arc::clone(&self.wake),
            max_attempts: self.max_attempts,
        }
    }

    /// Stores a job durably; returns once it is committed.
    pub async fn enqueue(
        &self,
        kind: &str,
        payload: &impl serde::Serialize,
        options: EnqueueOptions,
    ) -> Result<Enqueued, QueueError> {
        let job = self.new_job(kind, payload, options)?;
        let outcome = self.store.write(move |tx| tx.jobs().enqueue(&job)).await?;
        self.notify();
        Ok(outcome)
    }

    /// Tells idle workers to look at the queue again.
    pub fn notify(&self) {
        self.wake.notify_waiters();
    }

    /// Returns jobs leased by a previous process to the queue. Call once at start, before workers run.
    pub async fn recover(&self) -> Result<u64, StoreError> {
        let now = self.clock.now();
        let n = self
            .store
            .write(move |tx| tx.jobs().requeue_interrupted(now))
            .await?;
        if n > 0 {
            tracing::info!(jobs = n, "requeued jobs interrupted by the last shutdown");
        }
        Ok(n)
    }

    pub async fn counts(&self) -> Result<QueueCounts, StoreError> {
        self.store.read(|rx| rx.jobs().counts()).await
    }

    /// Runs the earliest due job, if any, and records its outcome. Tests call this to drain
    /// the queue deterministically; workers call it in a loop.
    pub async fn run_one_pending(&self) -> Result<Option<JobOutcome>, StoreError> {
        let now = self.clock.now();
        let Some(job) = self.store.write(move |tx| tx.jobs().lease_due(now)).await? else {
            return Ok(None);
        };
        let (id, kind) = (job.id, job.kind.clone());
        let span = tracing::info_span!("job", id = %id, kind = %kind, attempt = job.attempts);
        let result = self.execute(job.clone()).await;
        let _entered = span.enter();

        let outcome = match result {
            Ok(()) => {
                self.store.write(move |tx| tx.jobs().complete(id)).await?;
                tracing::info!("job succeeded");
                JobOutcome::Succeeded { id, kind }
            }
            Err(JobError {
                postpone: Some(at),
                message,
                ..
            }) => {
                self.store
                    .write(move |tx| tx.jobs().postpone(id, at))
                    .await?;
                tracing::debug!(why = %message, until = %at, "job postponed");
                JobOutcome::Postponed {
                    id,
                    kind,
                    why: message,
                    at,
                }
            }
            Err(e) if e.permanent || job.attempts >= job.max_attempts => {
                let (error, now) = (e.message.clone(), self.clock.now());
                self.store
                    .write(move |tx| tx.jobs().fail(id, &error, now))
                    .await?;
                tracing::error!(error = %e.message, "job failed for good");
                JobOutcome::Failed {
                    id,
                    kind,
                    error: e.message,
                }
            }
            Err(e) => {
                let at = self.clock.now() + retry_delay(job.attempts, rand::random::<f64>());
                let error = e.message.clone();
                self.store
                    .write(move |tx| tx.jobs().retry(id, &error, at))
                    .await?;
                tracing::warn!(error = %e.message, retry_at = %at, "job failed; will retry");
                JobOutcome::Retrying {
                    id,
                    kind,
                    error: e.message,
                    at,
                }
            }
        };
        Ok(Some(outcome))
    }

    async fn execute(&self, job: Job) -> Result<(), JobError> {
        let Some(handler) = self.registry.get(&job.kind).cloned() else {
            return Err(JobError::permanent(format!(
                "no handler for job kind \"{}\"",
                job.kind
            )));
        };
        match tokio::spawn(handler(job)).await {
            Ok(result) => result,
            Err(e) if e.is_panic() => {
                let payload = e.into_panic();
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into());
                Err(JobError::retry(format!("the job panicked: {message}")))
            }
            Err(e) => Err(JobError::retry(format!("the job was cancelled: {e}"))),
        }
    }

    /// A worker: runs due jobs until shutdown, idling until the next job falls due or a new
    /// one is enqueued. An interrupted job stays leased and is recovered at the next start.
    pub async fn work(self, mut shutdown: Shutdown) {
        loop {
            if shutdown.is_triggered() {
                return;
            }
            // Register interest before looking, so an enqueue in between is not missed.
            let woken = self.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            // A job that has started is allowed to finish; the supervisor's deadline bounds it.
            match self.run_one_pending().await {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(e) => tracing::error!("job queue error: {e}"),
            }
            let wait = self.idle_wait().await;
            tokio::select! {
                () = &mut woken => {}
                _ = tokio::time::timeout(wait, std::future::pending::<()>()) => {}
                () = shutdown.wait() => return,
            }
        }
    }

    async fn idle_wait(&self) -> Duration {
        let next = self
            .store
            .read(|rx| rx.jobs().next_due())
            .await
            .ok()
            .flatten();
        let Some(next) = next else {
            return MAX_IDLE_WAIT;
        };
        let until = next.duration_since(self.clock.now());
        Duration::try_from(until)
            .unwrap_or(Duration::ZERO)
            .min(MAX_IDLE_WAIT)
    }
}

/// Forgets failed jobs older than [`FAILED_JOBS_KEPT`], a batch per transaction (the
/// [`PURGE_FAILED`] job; it needs only the store, so it exists before the queue does).
pub async fn purge_failed(store: &Store, clock: &SharedClock) -> Result<u64, StoreError> {
    let cutoff = clock.now() - FAILED_JOBS_KEPT;
    let total = store
        .write_in_batches(1000, move |tx| tx.jobs().purge_failed(cutoff, 1000))
        .await?;
    if total > 0 {
        tracing::info!(jobs = total, "purged old failed jobs");
    }
    Ok(total)
}

/// The queue's own upkeep: old failed jobs are forgotten daily.
pub fn register_jobs(plan: &mut super::JobPlan, store: Store, clock: SharedClock) {
    plan.register(PURGE_FAILED, move |_job| {
        let (store, clock) = (store.clone(), clock.clone());
        async move {
            purge_failed(&store, &clock)
                .await
                .map(drop)
                .map_err(|e| JobError::retry(e.to_string()))
        }
    });
    plan.schedule("purge-failed-jobs", PURGE_FAILED, "daily 03:10");
}
