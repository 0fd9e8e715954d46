//! Background work: the [`supervisor`] owns every long-running task and stops them on
//! shutdown; the [`queue`] runs durable jobs stored in redb; [`schedule`] enqueues recurring
//! jobs. Work that must survive a restart is always a job, never a bare task.

pub mod queue;
pub mod schedule;
pub mod supervisor;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::domain::job::Job;

pub use queue::{EnqueueOptions, JobOutcome, JobQueue, JobSink, QueueError};
pub use schedule::{ScheduleSpec, Scheduler};
pub use supervisor::{Shutdown, Supervisor};

/// Why a job did not finish. `permanent` skips the remaining retries (bad input will not get
/// better); `postpone` is no failure at all: the job runs again then, its attempt not counted
/// (a notification held for quiet hours).
#[derive(Debug, Clone)]
pub struct JobError {
    pub message: String,
    pub permanent: bool,
    pub postpone: Option<jiff::Timestamp>,
}

impl JobError {
    pub fn retry(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: false,
            postpone: None,
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: true,
            postpone: None,
        }
    }

    /// Not now: run again at `at`, saying why.
    pub fn postpone(at: jiff::Timestamp, why: impl Into<String>) -> Self {
        Self {
            message: why.into(),
            permanent: false,
            postpone: Some(at),
        }
    }
}

pub type JobFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;

/// Runs one kind of job. Handlers must be idempotent: a job interrupted by a crash runs again.
pub type JobHandler = Arc<dyn Fn(Job) -> JobFuture + Send + Sync>;

/// The job kinds this process can run.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<&'static str, JobHandler>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn register<F, Fut>(&mut self, kind: &'static str, handler: F)
    where
        F: Fn(Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        self.handlers
            .insert(kind, Arc::new(move |job| Box::pin(handler(job))));
    }

    pub fn get(&self, kind: &str) -> Option<&JobHandler> {
        self.handlers.get(kind)
    }

    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.handlers.keys().copied()
    }
}

/// What the services contribute to the background work: each registers its own job kinds and
/// recurring schedules here, and the app starts them together. A schedule naming a kind that
/// nobody registered stops start-up with the reason.
#[derive(Default)]
pub struct JobPlan {
    registry: Registry,
    schedules: Vec<ScheduleSpec>,
}

impl JobPlan {
    /// A plan starting from `registry` (tests add their own kinds).
    pub fn new(registry: Registry) -> Self {
        Self {
            registry,
            schedules: Vec::new(),
        }
    }

    pub fn register<F, Fut>(&mut self, kind: &'static str, handler: F)
    where
        F: Fn(Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        self.registry.register(kind, handler);
    }

    /// Runs `job_kind` on `recurrence` (`every 1h`, `daily 03:30`), under a unique `name`.
    pub fn schedule(
        &mut self,
        name: &'static str,
        job_kind: &'static str,
        recurrence: &'static str,
    ) {
        self.schedules.push(ScheduleSpec {
            name,
            job_kind,
            recurrence,
        });
    }

    pub fn into_parts(self) -> (Registry, Vec<ScheduleSpec>) {
        (self.registry, self.schedules)
    }
}
