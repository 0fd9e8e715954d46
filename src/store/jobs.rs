//! The durable job queue: pending (ordered by due time), running (leased), failed.
//! Moving a job between states is one transaction, so a crash leaves it in exactly one.

use jiff::Timestamp;
use redb::{ReadableTable, ReadableTableMetadata};

use super::codec::{decode, encode};
use super::tables::{JOBS_DEDUPE, JOBS_DUE, JOBS_FAILED, JOBS_PENDING, JOBS_RUNNING, SCHEDULES};
use super::{Rx, StoreError, Tx};
use crate::domain::ids::JobId;
use crate::domain::job::Job;

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

impl Tx<'_> {
    pub fn enqueue_job(&self, job: &Job) -> Result<Enqueued, StoreError> {
        if let Some(key) = &job.dedupe_key {
            let mut dedupe = self.txn.open_table(JOBS_DEDUPE)?;
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
        self.txn
            .open_table(JOBS_PENDING)?
            .insert((due, job.id.as_u128()), encode(job)?.as_slice())?;
        self.txn
            .open_table(JOBS_DUE)?
            .insert(job.id.as_u128(), due)?;
        Ok(())
    }

    /// Takes the earliest job due at or before `now`, counts the attempt, and marks it running.
    pub fn lease_due_job(&self, now: Timestamp) -> Result<Option<Job>, StoreError> {
        let mut pending = self.txn.open_table(JOBS_PENDING)?;
        let first = match pending.first()? {
            Some((key, value)) if key.value().0 <= now.as_millisecond() => {
                Some((key.value(), decode::<Job>(value.value())?))
            }
            _ => None,
        };
        let Some((key, mut job)) = first else {
            return Ok(None);
        };
        pending.remove(key)?;
        self.txn.open_table(JOBS_DUE)?.remove(key.1)?;
        job.attempts += 1;
        self.txn
            .open_table(JOBS_RUNNING)?
            .insert(job.id.as_u128(), encode(&job)?.as_slice())?;
        Ok(Some(job))
    }

    fn take_running(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        let mut running = self.txn.open_table(JOBS_RUNNING)?;
        let job = match running.remove(id.as_u128())? {
            Some(v) => Some(decode::<Job>(v.value())?),
            None => None,
        };
        Ok(job)
    }

    fn release_dedupe(&self, job: &Job) -> Result<(), StoreError> {
        if let Some(key) = &job.dedupe_key {
            self.txn.open_table(JOBS_DEDUPE)?.remove(key.as_str())?;
        }
        Ok(())
    }

    pub fn complete_job(&self, id: JobId) -> Result<(), StoreError> {
        if let Some(job) = self.take_running(id)? {
            self.release_dedupe(&job)?;
        }
        Ok(())
    }

    /// Puts a running job back in the queue to run at `run_at`.
    pub fn retry_job(&self, id: JobId, error: &str, run_at: Timestamp) -> Result<(), StoreError> {
        if let Some(mut job) = self.take_running(id)? {
            job.last_error = Some(error.to_string());
            job.run_at = run_at;
            self.insert_pending(&job)?;
        }
        Ok(())
    }

    /// Moves a running job to the failed list for good (until staff retry it).
    pub fn fail_job(&self, id: JobId, error: &str) -> Result<(), StoreError> {
        if let Some(mut job) = self.take_running(id)? {
            job.last_error = Some(error.to_string());
            self.release_dedupe(&job)?;
            self.txn
                .open_table(JOBS_FAILED)?
                .insert(id.as_u128(), encode(&job)?.as_slice())?;
        }
        Ok(())
    }

    /// After a restart nothing is really running: jobs that were leased by the previous process
    /// go back to the queue, due now. Returns how many.
    pub fn requeue_interrupted_jobs(&self, now: Timestamp) -> Result<u64, StoreError> {
        let jobs: Vec<Job> = {
            let mut running = self.txn.open_table(JOBS_RUNNING)?;
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
    pub fn retry_failed_job(&self, id: JobId, now: Timestamp) -> Result<bool, StoreError> {
        let job = match self.txn.open_table(JOBS_FAILED)?.remove(id.as_u128())? {
            Some(v) => Some(decode::<Job>(v.value())?),
            None => None,
        };
        let Some(mut job) = job else { return Ok(false) };
        job.attempts = 0;
        job.run_at = now;
        if let Some(key) = &job.dedupe_key
            && self
                .txn
                .open_table(JOBS_DEDUPE)?
                .get(key.as_str())?
                .is_some()
        {
            // An identical job is already queued; this one is redundant.
            return Ok(true);
        }
        self.enqueue_job(&job)?;
        Ok(true)
    }

    pub fn set_schedule_next_run(&self, name: &str, next: Timestamp) -> Result<(), StoreError> {
        self.txn
            .open_table(SCHEDULES)?
            .insert(name, next.as_millisecond())?;
        Ok(())
    }
}

impl Rx {
    pub fn job_counts(&self) -> Result<QueueCounts, StoreError> {
        Ok(QueueCounts {
            pending: self.txn.open_table(JOBS_PENDING)?.len()?,
            running: self.txn.open_table(JOBS_RUNNING)?.len()?,
            failed: self.txn.open_table(JOBS_FAILED)?.len()?,
        })
    }

    /// When the earliest pending job falls due, if any.
    pub fn next_job_due(&self) -> Result<Option<Timestamp>, StoreError> {
        let first = self
            .txn
            .open_table(JOBS_PENDING)?
            .first()?
            .map(|(k, _)| k.value().0);
        Ok(first.and_then(|ms| Timestamp::from_millisecond(ms).ok()))
    }

    pub fn pending_job(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        let Some(due) = self
            .txn
            .open_table(JOBS_DUE)?
            .get(id.as_u128())?
            .map(|v| v.value())
        else {
            return Ok(None);
        };
        let table = self.txn.open_table(JOBS_PENDING)?;
        let job = table
            .get((due, id.as_u128()))?
            .map(|v| decode(v.value()))
            .transpose()?;
        Ok(job)
    }

    pub fn failed_jobs(&self, limit: usize) -> Result<Vec<Job>, StoreError> {
        let table = self.txn.open_table(JOBS_FAILED)?;
        let mut out = Vec::new();
        for entry in table.iter()?.rev().take(limit) {
            let (_, v) = entry?;
            out.push(decode(v.value())?);
        }
        Ok(out)
    }

    pub fn schedule_next_run(&self, name: &str) -> Result<Option<Timestamp>, StoreError> {
        let next = self
            .txn
            .open_table(SCHEDULES)?
            .get(name)?
            .map(|v| v.value());
        Ok(next.and_then(|ms| Timestamp::from_millisecond(ms).ok()))
    }
}
