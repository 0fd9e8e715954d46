//! Recurring schedules. Each schedule enqueues a job (deduplicated by schedule name) when it
//! falls due; the next run time is stored, so a restart neither skips nor repeats a run.

use std::time::Duration;

use super::{EnqueueOptions, JobQueue, Shutdown};
use crate::clock::SharedClock;
use crate::domain::schedule::{Recurrence, ScheduleError};
use crate::store::{Store, StoreError};

/// A schedule as declared in code: `("sessions.purge_expired", "every 1h")`.
#[derive(Debug, Clone)]
pub struct ScheduleSpec {
    pub name: &'static str,
    pub job_kind: &'static str,
    pub recurrence: &'static str,
}

#[derive(Debug, Clone)]
struct Schedule {
    name: &'static str,
    job_kind: &'static str,
    recurrence: Recurrence,
}

#[derive(Debug, thiserror::Error)]
pub enum SchedulesInvalid {
    #[error("{0}")]
    Recurrence(#[from] ScheduleError),
    #[error("schedule \"{name}\" runs job kind \"{kind}\", which has no handler")]
    UnknownKind {
        name: &'static str,
        kind: &'static str,
    },
}

#[derive(Clone)]
pub struct Scheduler {
    schedules: Vec<Schedule>,
    queue: JobQueue,
    store: Store,
    clock: SharedClock,
}

impl Scheduler {
    /// Validates every schedule against the queue's registry; any problem stops start-up.
    pub fn new(
        specs: &[ScheduleSpec],
        queue: JobQueue,
        store: Store,
        clock: SharedClock,
    ) -> Result<Self, Vec<SchedulesInvalid>> {
        let mut schedules = Vec::new();
        let mut problems = Vec::new();
        for spec in specs {
            if queue.registry().get(spec.job_kind).is_none() {
                problems.push(SchedulesInvalid::UnknownKind {
                    name: spec.name,
                    kind: spec.job_kind,
                });
            }
            match Recurrence::parse(spec.recurrence) {
                Ok(recurrence) => schedules.push(Schedule {
                    name: spec.name,
                    job_kind: spec.job_kind,
                    recurrence,
                }),
                Err(e) => problems.push(e.into()),
            }
        }
        if problems.is_empty() {
            Ok(Self {
                schedules,
                queue,
                store,
                clock,
            })
        } else {
            Err(problems)
        }
    }

    /// Enqueues every schedule that is due and stores its next run. Returns how many fired.
    pub async fn tick(&self) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let mut fired = 0;
        for schedule in &self.schedules {
            let name = schedule.name;
            let next = self
                .store
                .read(move |rx| rx.jobs().schedule_next_run(name))
                .await?;
            let due = next.is_some_and(|at| at <= now);
            if next.is_some() && !due {
                continue;
            }
            let following = schedule.recurrence.next_after(now);
            let job = if due {
                let options = EnqueueOptions {
                    dedupe_key: Some(format!("schedule:{name}")),
                    run_at: None,
                };
                match self.queue.new_job(schedule.job_kind, &(), options) {
                    Ok(job) => Some(job),
                    Err(e) => {
                        tracing::error!(schedule = name, "cannot build scheduled job: {e}");
                        None
                    }
                }
            } else {
                None
            };
            self.store
                .write(move |tx| {
                    if let Some(job) = &job {
                        tx.jobs().enqueue(job)?;
                    }
                    tx.jobs().set_schedule_next_run(name, following)
                })
                .await?;
            if due {
                fired += 1;
                tracing::info!(schedule = name, next = %following, "schedule fired");
            }
        }
        if fired > 0 {
            self.queue.notify();
        }
        Ok(fired)
    }

    async fn until_next(&self) -> Duration {
        let mut soonest = Duration::from_secs(60);
        let now = self.clock.now();
        for schedule in &self.schedules {
            let name = schedule.name;
            if let Ok(Some(at)) = self
                .store
                .read(move |rx| rx.jobs().schedule_next_run(name))
                .await
            {
                let wait = Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO);
                soonest = soonest.min(wait);
            }
        }
        soonest
    }

    /// Runs until shutdown, firing schedules as they fall due.
    pub async fn run(self, mut shutdown: Shutdown) {
        loop {
            if let Err(e) = self.tick().await {
                tracing::error!("scheduler error: {e}");
            }
            let wait = self.until_next().await.max(Duration::from_millis(200));
            tokio::select! {
                _ = tokio::time::timeout(wait, std::future::pending::<()>()) => {}
                () = shutdown.wait() => return,
            }
        }
    }
}
