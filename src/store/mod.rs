//! The store: the only module that names redb. redb is the source of truth.
//!
//! - [`tables`] is the catalog of every table;
//! - [`codec`] encodes values with a version byte;
//! - [`migrate`] brings an older database up to date, after a snapshot;
//! - [`writer`] is the group-commit writer through which every write goes;
//! - one file per aggregate ([`accounts`], [`jobs`]) adds typed operations to [`Tx`] and [`Rx`].
//!
//! Every write returns only after its transaction committed with fsync (redb's `Immediate`
//! durability), so an acknowledged write survives a crash.

pub mod accounts;
pub mod api_tokens;
pub mod audit;
pub mod codec;
pub mod jobs;
pub mod media;
pub mod migrate;
pub mod passkeys;
pub mod registration;
pub mod second_factors;
pub mod settings;
pub mod tables;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;
use redb::{Database, ReadTransaction, ReadableDatabase, WriteTransaction};

pub use writer::WriterOptions;

/// The database file inside the data directory.
pub const DB_FILE: &str = "hearth.redb";

/// A failure of the store itself (as opposed to a rule a caller broke).
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("the database at {path} is in use by another process (is Hearth already running?)")]
    Locked { path: PathBuf },
    #[error(
        "the database was written by a newer Hearth (schema version {found}; this build supports up to {supported}). Run the newer version, or restore a backup made by this one"
    )]
    NewerSchema { found: u32, supported: u32 },
    #[error("the database is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(String),
    #[error("file system error on {path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("the database writer has stopped")]
    WriterGone,
}

impl StoreError {
    pub(crate) fn io(path: &Path, e: &std::io::Error) -> Self {
        StoreError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                match redb::Error::from(e) {
                    redb::Error::Corrupted(msg) => StoreError::Corrupt(msg),
                    other => StoreError::Database(other.to_string()),
                }
            }
        }
    )*};
}
from_redb!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// A write transaction as the aggregate files see it; services never see redb itself.
pub struct Tx<'a> {
    txn: &'a WriteTransaction,
}

/// A read transaction (a consistent snapshot).
pub struct Rx {
    txn: ReadTransaction,
}

/// Shared handle to the database. Clone freely.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: Arc<Database>,
    path: PathBuf,
    writer: writer::Writer,
}

impl Store {
    /// Opens (or creates) the database in `data_dir`, refusing one from a newer Hearth and
    /// migrating an older one after taking a snapshot. Blocking: call from a blocking context.
    pub fn open(
        data_dir: &Path,
        now: Timestamp,
        options: WriterOptions,
    ) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::io(data_dir, &e))?;
        let path = data_dir.join(DB_FILE);
        let db = migrate::open_and_migrate(&path, data_dir, now, migrate::MIGRATIONS)?;
        let db = Arc::new(db);
        let writer = writer::Writer::start(db.clone(), options);
        Ok(Store {
            inner: Arc::new(Inner { db, path, writer }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Size of the database file in bytes.
    pub fn file_size(&self) -> u64 {
        std::fs::metadata(&self.inner.path)
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// Runs `op` in a write transaction through the group-commit writer and returns once the
    /// transaction is durable. `op` may run more than once (when a neighbour in its batch fails,
    /// the batch is redone without it), so it must depend only on its captures and the database.
    pub async fn write<T, E>(
        &self,
        op: impl FnMut(&Tx<'_>) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.inner.writer.submit(op).await
    }

    /// Runs `op` on a consistent snapshot, off the async workers.
    pub async fn read<T, E>(
        &self,
        op: impl FnOnce(&Rx) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let db = self.inner.db.clone();
        tokio::task::spawn_blocking(move || {
            let rx = Rx {
                txn: db.begin_read().map_err(StoreError::from)?,
            };
            op(&rx)
        })
        .await
        .map_err(|e| E::from(StoreError::Database(format!("read task failed: {e}"))))?
    }

    /// A blocking read, for code already off the async workers.
    pub fn read_blocking<T, E>(&self, op: impl FnOnce(&Rx) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let rx = Rx {
            txn: self.inner.db.begin_read().map_err(StoreError::from)?,
        };
        op(&rx)
    }

    /// Stops the writer after it has committed everything already submitted.
    pub async fn close(&self) {
        self.inner.writer.shutdown().await;
    }
}
