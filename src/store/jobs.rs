//! The durable job queue: pending (ordered by due time), running (leased), failed; and the
//! next run of each recurring schedule. Moving a job between states is one transaction, so a
//! crash leaves it in exactly one.

use jiff::Timestamp;
use redb::{ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction};

use super::codec::decode;
use super::tables::CatalogTable;
use super::{Rows, Rx, Snapshot, StoreError, Tx};
use crate::domain::ids::JobId;
use crate::domain::job::Job;

/// (due time in Unix ms, job id) → `Job`: the queue, in the order jobs fall due.
const PENDING: Rows<(i64, u128), Job> = Rows::new("jobs_pending");
/// job id → due time, to find a pending job by id.
const DUE: TableDefinition<u128, i64> = TableDefinition::new("jobs_due");
/// job id → `Job` leased by a worker.
const RUNNING: Rows<u128, Job> = Rows::new("jobs_running");
/// job id → `Job` that used up its attempts.
const FAILED: Rows<u128, Job> = Rows::new("jobs_failed");
/// (failure time in Unix ms, job id) → (): the failed list by age, for purging.
const FAILED_BY_TIME: TableDefinition<(i64, u128), ()> =
    TableDefinition::new("jobs_failed_by_time");
/// dedupe key → job id, while the job is pending or running.
const DEDUPE: TableDefinition<&str, u128> = TableDefinition::new("jobs_dedupe");
/// schedule name → next run (Unix ms).
const SCHEDULES: TableDefinition<&str, i64> = TableDefinition::new("schedules");

/// This aggregate's tables, for the catalog.
pub(super) const TABLES: &[&dyn CatalogTable] = &[
    &PENDING,
    &DUE,
    &RUNNING,
    &FAILED,
    &FAILED_BY_TIME,
    &DEDUPE,
    &SCHEDULES,
];

/// Builds the failed list's age index of a database written before it existed (a failed job's
/// due time is when it failed).
pub(super) fn index_failed(txn: &WriteTransaction) -> Result<(), StoreError> {
    let failed = txn.open_table(FAILED.def)?;
    let mut by_time = txn.open_table(FAILED_BY_TIME)?;
    for entry in failed.iter()? {
        let (id, raw) = entry?;
        let job: Job = decode(raw.value())?;
        by_time.insert((job.run_at.as_millisecond(), id.value()), ())?;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    New(JobId),
    /// A job with the same dedupe key is already pending or running.
    Duplicate(JobId),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueCounts {
    pub pending: u64,
    pub running: u64,
    pub failed: u64,
}

pub struct Jobs<'s, S>(&'s S);

impl Rx {
    pub fn jobs(&self) -> Jobs<'_, Self> {
        Jobs(self)
    }
}

impl<'t> Tx<'t> {
    pub fn jobs(&self) -> Jobs<'_, Self> {
        Jobs(self)
    }
}

impl<S: Snapshot> Jobs<'_, S> {
    pub fn counts(&self) -> Result<QueueCounts, StoreError> {
        Ok(QueueCounts {
            pending: PENDING.open(self.0)?.len()?,
            running: RUNNING.open(self.0)?.len()?,
            failed: FAILED.open(self.0)?.len()?,
        })
    }

    /// When the earliest pending job falls due, if any.
    pub fn next_due(&self) -> Result<Option<Timestamp>, StoreError> {
        let first = PENDING.open(self.0)?.first()?.map(|(k, _)| k.value().0);
        Ok(first.and_then(|ms| Timestamp::from_millisecond(ms).ok()))
    }

    pub fn pending(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        let due = self.0.table(DUE)?.get(id.as_u128())?.map(|v| v.value());
        match due {
            Some(due) => PENDING.get(self.0, (due, id.as_u128())),
            None => Ok(None),
        }
    }

    /// Failed jobs, newest first, at most `limit`.
    pub fn failed(&self, limit: usize) -> Result<Vec<Job>, StoreError> {
        let mut out = Vec::new();
        for entry in FAILED.open(self.0)?.iter()?.rev().take(limit) {
            out.push(decode(entry?.1.value())?);
        }
        Ok(out)
    }

    pub fn schedule_next_run(&self, name: &str) -> Result<Option<Timestamp>, StoreError> {
        let next = self.0.table(SCHEDULES)?.get(name)?.map(|v| v.value());
        Ok(next.and_then(|ms| Timestamp::from_millisecond(ms).ok()))
    }
}

impl Jobs<'_, Tx<'_>> {
    pub fn enqueue(&self, job: &Job) -> Result<Enqueued, StoreError> {
        if let Some(key) = &job.dedupe_key {
            let mut dedupe = self.0.table(DEDUPE)?;
            if let Some(existing) = dedupe.get(key.as_str())? {
                return Ok(Enqueued::Duplicate(JobId::from_u128(existing.value())));
            }
            dedupe.insert(key.as_str(), job.id.as_u128())?;
        }
        self.insert_pending(job)?;
        Ok(Enqueued::New(job.id))
    }

    fn insert_pending(&self, job: &Job) -> Result<(), StoreError> {
        let due = job.run_at.as_millisecond();
        PENDING.insert(self.0, (due, job.id.as_u128()), job)?;
        self.0.table(DUE)?.insert(job.id.as_u128(), due)?;
        Ok(())
    }

    /// Takes the earliest job due at or before `now`, counts the attempt, and marks it running.
    pub fn lease_due(&self, now: Timestamp) -> Result<Option<Job>, StoreError> {
        let first = {
            let pending = PENDING.open(self.0)?;
            match pending.first()? {
                Some((key, value)) if key.value().0 <= now.as_millisecond() => {
                    Some((key.value(), decode::<Job>(value.value())?))
                }
                _ => None,
            }
        };
        let Some((key, mut job)) = first else {
            return Ok(None);
        };
        PENDING.remove(self.0, key)?;
        self.0.table(DUE)?.remove(key.1)?;
        job.attempts += 1;
        RUNNING.insert(self.0, job.id.as_u128(), &job)?;
        Ok(Some(job))
    }

    fn release_dedupe(&self, job: &Job) -> Result<(), StoreError> {
        if let Some(key) = &job.dedupe_key {
            self.0.table(DEDUPE)?.remove(key.as_str())?;
        }
        Ok(())
    }

    pub fn complete(&self, id: JobId) -> Result<(), StoreError> {
        if let Some(job) = RUNNING.remove(self.0, id.as_u128())? {
            self.release_dedupe(&job)?;
        }
        Ok(())
    }

    /// Puts a running job back in the queue to run at `run_at`.
    pub fn retry(&self, id: JobId, error: &str, run_at: Timestamp) -> Result<(), StoreError> {
        if let Some(mut job) = RUNNING.remove(self.0, id.as_u128())? {
            job.last_error = Some(error.to_string());
            job.run_at = run_at;
            self.insert_pending(&job)?;
        }
        Ok(())
    }

    /// Puts a running job back in the queue to run at `run_at`, its attempt not counted.
    pub fn postpone(&self, id: JobId, run_at: Timestamp) -> Result<(), StoreError> {
        if let Some(mut job) = RUNNING.remove(self.0, id.as_u128())? {
            job.attempts = job.attempts.saturating_sub(1);
            job.run_at = run_at;
            self.insert_pending(&job)?;
        }
        Ok(())
    }

    /// Moves a running job to the failed list for good (until staff retry it).
    pub fn fail(&self, id: JobId, error: &str, now: Timestamp) -> Result<(), StoreError> {
        if let Some(mut job) = RUNNING.remove(self.0, id.as_u128())? {
            job.last_error = Some(error.to_string());
            // On the failed list, the due time is when it failed.
            job.run_at = now;
            self.release_dedupe(&job)?;
            FAILED.insert(self.0, id.as_u128(), &job)?;
            self.0
                .table(FAILED_BY_TIME)?
                .insert((now.as_millisecond(), id.as_u128()), ())?;
        }
        Ok(())
    }

    /// After a restart nothing is really running: jobs that were leased by the previous process
    /// go back to the queue, due now. Returns how many.
    pub fn requeue_interrupted(&self, now: Timestamp) -> Result<u64, StoreError> {
        let jobs: Vec<Job> = {
            let mut running = RUNNING.open(self.0)?;
            let mut jobs = Vec::new();
            while let Some((_, v)) = running.pop_first()? {
                jobs.push(decode::<Job>(v.value())?);
            }
            jobs
        };
        for mut job in jobs.iter().cloned() {
            job.run_at = now;
            self.insert_pending(&job)?;
        }
        Ok(jobs.len() as u64)
    }

    /// Staff action: a failed job gets a fresh set of attempts, due now.
    pub fn retry_failed(&self, id: JobId, now: Timestamp) -> Result<bool, StoreError> {
        let Some(mut job) = self.take_failed(id)? else {
            return Ok(false);
        };
        job.attempts = 0;
        job.run_at = now;
        // An identical job already queued makes this one redundant.
        self.enqueue(&job)?;
        Ok(true)
    }

    fn take_failed(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        let Some(job) = FAILED.remove(self.0, id.as_u128())? else {
            return Ok(None);
        };
        self.0
            .table(FAILED_BY_TIME)?
            .remove((job.run_at.as_millisecond(), id.as_u128()))?;
        Ok(Some(job))
    }

    /// Forgets failed jobs that failed before `cutoff`, at most `limit`; returns how many.
    pub fn purge_failed(&self, cutoff: Timestamp, limit: usize) -> Result<u64, StoreError> {
        let old: Vec<(i64, u128)> = self
            .0
            .table(FAILED_BY_TIME)?
            .range(..(cutoff.as_millisecond(), 0))?
            .take(limit)
            .map(|e| e.map(|(k, _)| k.value()))
            .collect::<Result<_, _>>()?;
        let mut by_time = self.0.table(FAILED_BY_TIME)?;
        for key in &old {
            by_time.remove(*key)?;
            FAILED.remove(self.0, key.1)?;
        }
        Ok(old.len() as u64)
    }

    pub fn set_schedule_next_run(&self, name: &str, next: Timestamp) -> Result<(), StoreError> {
        self.0
            .table(SCHEDULES)?
            .insert(name, next.as_millisecond())?;
        Ok(())
    }
}
