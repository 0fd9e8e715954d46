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

pub use queue::{EnqueueOptions, JobOutcome, JobQueue, QueueError};
pub use schedule::{ScheduleSpec, Scheduler};
pub use supervisor::{Shutdown, Supervisor};

/// Why a job failed. `permanent` skips the remaining retries (bad input will not get better).
#[derive(Debug, Clone)]
pub struct JobError {
    pub message: String,
    pub permanent: bool,
}

impl JobError {
    pub fn retry(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: false,
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: true,
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
