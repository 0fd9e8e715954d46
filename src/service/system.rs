//! What the System page and `/readyz` report about this instance.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use super::access::{Access, Actor};
use super::error::ServiceError;
use crate::clock::SharedClock;
use crate::domain::permission::Permission;
use crate::jobs::JobQueue;
use crate::store::jobs::QueueCounts;
use crate::store::{Store, StoreError};
use crate::tls::{CertificateStatus, TlsStatus};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone, Serialize)]
pub struct SystemStatus {
    pub version: &'static str,
    pub started_at: jiff::Timestamp,
    pub uptime_seconds: u64,
    pub data_dir: PathBuf,
    pub database_bytes: u64,
    pub data_dir_bytes: u64,
    pub disk_free_bytes: Option<u64>,
    pub jobs: QueueCounts,
    pub tls: CertificateStatus,
}

/// One readiness check and its verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

#[derive(Clone)]
pub struct System {
    store: Store,
    access: Access,
    queue: JobQueue,
    clock: SharedClock,
    tls: TlsStatus,
    data_dir: PathBuf,
    min_free_disk_bytes: u64,
    started: Instant,
    started_at: jiff::Timestamp,
}

impl System {
    pub fn new(
        store: Store,
        access: Access,
        queue: JobQueue,
        clock: SharedClock,
        tls: TlsStatus,
        data_dir: PathBuf,
        min_free_disk_bytes: u64,
    ) -> Self {
        let started_at = clock.now();
        Self {
            store,
            access,
            queue,
            clock,
            tls,
            data_dir,
            min_free_disk_bytes,
            started: Instant::now(),
            started_at,
        }
    }

    /// The instance's internals (paths, sizes, certificates, jobs): for those who manage
    /// settings.
    pub async fn status(&self, actor: &Actor) -> Result<SystemStatus, ServiceError> {
        self.access.require(actor, Permission::ManageSettings)?;
        let jobs = self.queue.counts().await?;
        let dir = self.data_dir.clone();
        let (data_dir_bytes, disk_free_bytes) =
            tokio::task::spawn_blocking(move || (dir_size(&dir), free_disk_bytes(&dir)))
                .await
                .unwrap_or((0, None));
        Ok(SystemStatus {
            version: VERSION,
            started_at: self.started_at,
            uptime_seconds: self.started.elapsed().as_secs(),
            data_dir: self
                .data_dir
                .canonicalize()
                .unwrap_or_else(|_| self.data_dir.clone()),
            database_bytes: self.store.file_size(),
            data_dir_bytes,
            disk_free_bytes,
            jobs,
            tls: self.tls.current(),
        })
    }

    /// The figures `/metrics` samples at every scrape: job counts and the database size. Cheap,
    /// unlike [`System::status`], which walks the data directory.
    pub async fn gauges(&self) -> Result<(QueueCounts, u64), StoreError> {
        Ok((self.queue.counts().await?, self.store.file_size()))
    }

    /// Readiness: the store answers, the job queue can be read, and the disk has room.
    pub async fn readiness(&self) -> Vec<Check> {
        let store = match self.store.read(|rx| rx.users().count()).await {
            Ok(_) => Check {
                name: "store",
                ok: true,
                detail: "database answers".into(),
            },
            Err(e) => Check {
                name: "store",
                ok: false,
                detail: e.to_string(),
            },
        };
        let jobs = match self.queue.counts().await {
            Ok(c) => Check {
                name: "jobs",
                ok: true,
                detail: format!(
                    "{} pending, {} running, {} failed",
                    c.pending, c.running, c.failed
                ),
            },
            Err(e) => Check {
                name: "jobs",
                ok: false,
                detail: e.to_string(),
            },
        };
        let dir = self.data_dir.clone();
        let free = tokio::task::spawn_blocking(move || free_disk_bytes(&dir))
            .await
            .ok()
            .flatten();
        let disk = match free {
            Some(free) if free >= self.min_free_disk_bytes => Check {
                name: "disk",
                ok: true,
                detail: format!("{} MiB free", free / 1_048_576),
            },
            Some(free) => Check {
                name: "disk",
                ok: false,
                detail: format!(
                    "{} MiB free, below storage.min_free_disk_mib = {}",
                    free / 1_048_576,
                    self.min_free_disk_bytes / 1_048_576
                ),
            },
            None => Check {
                name: "disk",
                ok: false,
                detail: "cannot read free space of the data directory".into(),
            },
        };
        vec![store, jobs, disk]
    }

    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }
}

fn free_disk_bytes(dir: &std::path::Path) -> Option<u64> {
    let stat = rustix::fs::statvfs(dir).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// Total size of the files under `dir` (not following links).
fn dir_size(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(entry.path()),
                Ok(t) if t.is_file() => total += entry.metadata().map(|m| m.len()).unwrap_or(0),
                _ => {}
            }
        }
    }
    total
}
