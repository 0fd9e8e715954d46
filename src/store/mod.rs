//! The store: the only module that names redb. redb is the source of truth.
//!
//! - [`tables`] is the catalog: every aggregate's tables, created at every open;
//! - [`codec`] encodes values with a version byte; [`Rows`] is the typed table that uses it;
//! - [`migrate`] brings an older database up to date, after a snapshot;
//! - [`writer`] is the group-commit writer through which every write goes;
//! - one file per aggregate (`users`, `sessions`, `media`, `jobs`, …) declares its own tables,
//!   private to that file, and a view over them: `rx.users().get(id)`, `tx.media().insert(…)`.
//!   Read operations are written once for both transactions ([`Snapshot`]); write operations
//!   exist on [`Tx`] only.
//!
//! Every write returns only after its transaction committed with fsync (redb's `Immediate`
//! durability), so an acknowledged write survives a crash.
//!
//! **Refusals are values.** A write operation returns `Err` only for a failure of the store
//! itself, which rolls back its whole group-commit batch and redoes it without the failed
//! operation. A rule the caller broke (a taken username, a used-up invitation) is an
//! `Ok(Err(refusal))`: checked before anything is changed, so committing the batch commits
//! nothing of the refused operation, and its neighbours are not redone.

pub mod api_tokens;
pub mod approvals;
pub mod audit;
pub mod blobs;
pub mod blocks;
pub mod codec;
pub mod instance;
pub mod invites;
pub mod jobs;
pub mod matches;
pub mod media;
pub mod messages;
pub mod migrate;
pub mod notifications;
pub mod one_time_tokens;
pub mod passkeys;
pub mod profiles;
pub mod record_attachments;
pub mod record_numbers;
pub mod records;
pub mod reports;
pub mod search_outbox;
pub mod search_queries;
pub mod second_factors;
pub mod sessions;
pub mod stories;
pub mod swipes;
pub mod tables;
pub mod users;
pub mod writer;

use std::borrow::Borrow;
use std::cell::RefCell;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;
use redb::{
    Database, Key, MultimapTableDefinition, ReadTransaction, ReadableDatabase,
    ReadableMultimapTable, ReadableTable, TableDefinition, Value, WriteTransaction,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::events::{Event, EventBus};

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

/// A write transaction as one write operation sees it; services never see redb itself.
/// Events recorded with [`Tx::emit`] reach the bus only if the transaction commits.
pub struct Tx<'a> {
    txn: &'a WriteTransaction,
    emitted: RefCell<Vec<Event>>,
}

/// A read transaction (a consistent snapshot).
pub struct Rx {
    txn: ReadTransaction,
}

impl Tx<'_> {
    /// Records an event to publish once this write has committed.
    pub fn emit(&self, event: Event) {
        self.emitted.borrow_mut().push(event);
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Rx {}
    impl Sealed for super::Tx<'_> {}
}

/// What read and write transactions share: opening a table to read it. The aggregate views
/// are generic over it, so a read is written once for both.
pub trait Snapshot: sealed::Sealed {
    type Table<K: Key + 'static, V: Value + 'static>: ReadableTable<K, V>;
    type Multimap<K: Key + 'static, V: Key + 'static>: ReadableMultimapTable<K, V>;

    fn table<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<Self::Table<K, V>, StoreError>;

    fn multimap<K: Key + 'static, V: Key + 'static>(
        &self,
        def: MultimapTableDefinition<'static, K, V>,
    ) -> Result<Self::Multimap<K, V>, StoreError>;
}

impl<'a> Snapshot for Tx<'a> {
    type Table<K: Key + 'static, V: Value + 'static> = redb::Table<'a, K, V>;
    type Multimap<K: Key + 'static, V: Key + 'static> = redb::MultimapTable<'a, K, V>;

    fn table<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<Self::Table<K, V>, StoreError> {
        Ok(self.txn.open_table(def)?)
    }

    fn multimap<K: Key + 'static, V: Key + 'static>(
        &self,
        def: MultimapTableDefinition<'static, K, V>,
    ) -> Result<Self::Multimap<K, V>, StoreError> {
        Ok(self.txn.open_multimap_table(def)?)
    }
}

impl Snapshot for Rx {
    type Table<K: Key + 'static, V: Value + 'static> = redb::ReadOnlyTable<K, V>;
    type Multimap<K: Key + 'static, V: Key + 'static> = redb::ReadOnlyMultimapTable<K, V>;

    fn table<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<Self::Table<K, V>, StoreError> {
        Ok(self.txn.open_table(def)?)
    }

    fn multimap<K: Key + 'static, V: Key + 'static>(
        &self,
        def: MultimapTableDefinition<'static, K, V>,
    ) -> Result<Self::Multimap<K, V>, StoreError> {
        Ok(self.txn.open_multimap_table(def)?)
    }
}

/// A table of encoded values (see [`codec`]): the one typed getter and setter every aggregate
/// uses, in read and write transactions alike.
pub(crate) struct Rows<K: Key + 'static, V> {
    def: TableDefinition<'static, K, &'static [u8]>,
    value: PhantomData<fn() -> V>,
}

impl<K: Key + 'static, V: Serialize + DeserializeOwned> Rows<K, V> {
    pub(crate) const fn new(name: &'static str) -> Self {
        Self {
            def: TableDefinition::new(name),
            value: PhantomData,
        }
    }

    /// The raw table, for scans (decode values with [`codec::decode`]).
    pub(crate) fn open<S: Snapshot>(
        &self,
        s: &S,
    ) -> Result<S::Table<K, &'static [u8]>, StoreError> {
        s.table(self.def)
    }

    pub(crate) fn get<'k>(
        &self,
        s: &impl Snapshot,
        key: impl Borrow<K::SelfType<'k>>,
    ) -> Result<Option<V>, StoreError> {
        self.get_in(&s.table(self.def)?, key)
    }

    /// [`Rows::get`] from a table already open (reading many rows, open it once).
    pub(crate) fn get_in<'k>(
        &self,
        table: &impl ReadableTable<K, &'static [u8]>,
        key: impl Borrow<K::SelfType<'k>>,
    ) -> Result<Option<V>, StoreError> {
        let found = table
            .get(key)?
            .map(|v| codec::decode(v.value()))
            .transpose()?;
        Ok(found)
    }

    /// The row under `key` as stored, decoded only when asked (see [`Versioned`]).
    pub(crate) fn get_versioned_in<'k>(
        &self,
        table: &impl ReadableTable<K, &'static [u8]>,
        key: impl Borrow<K::SelfType<'k>>,
    ) -> Result<Option<Versioned<V>>, StoreError> {
        Ok(table.get(key)?.map(|v| Versioned::new(v.value())))
    }

    pub(crate) fn insert<'k>(
        &self,
        tx: &Tx<'_>,
        key: impl Borrow<K::SelfType<'k>>,
        value: &V,
    ) -> Result<(), StoreError> {
        tx.txn
            .open_table(self.def)?
            .insert(key, codec::encode(value)?.as_slice())?;
        Ok(())
    }

    pub(crate) fn remove<'k>(
        &self,
        tx: &Tx<'_>,
        key: impl Borrow<K::SelfType<'k>>,
    ) -> Result<Option<V>, StoreError> {
        let removed = tx
            .txn
            .open_table(self.def)?
            .remove(key)?
            .map(|v| codec::decode(v.value()))
            .transpose()?;
        Ok(removed)
    }
}

/// A row as stored, decoded only when asked. Its version is a hash of the stored bytes, so it
/// changes whenever the row does: a caller may keep what it makes from a row (an answer's JSON)
/// under the row's key and version, and skip decoding and rendering rows it has seen.
pub struct Versioned<V> {
    version: u64,
    bytes: Vec<u8>,
    value: PhantomData<fn() -> V>,
}

impl<V: DeserializeOwned> Versioned<V> {
    fn new(bytes: &[u8]) -> Self {
        use std::hash::{DefaultHasher, Hasher};
        let mut hasher = DefaultHasher::new();
        hasher.write(bytes);
        Self {
            version: hasher.finish(),
            bytes: bytes.to_vec(),
            value: PhantomData,
        }
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn decode(&self) -> Result<V, StoreError> {
        codec::decode(&self.bytes)
    }
}

/// How the store is opened.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// Most write requests committed together. 1 disables group commit (for benchmarks).
    pub max_batch: usize,
    /// Most bytes of database pages kept in memory (redb's read cache). redb's own default
    /// is 1 GiB, more than a small server has in all; beyond the cache, reads come from the
    /// operating system's file cache.
    pub cache_bytes: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_batch: 256,
            cache_bytes: 64 * 1024 * 1024,
        }
    }
}

/// The most rows one page of a list holds, and so the most a [`Store::lookup`] page reads.
pub const MAX_PAGE_ROWS: usize = 100;

/// Shared handle to the database. Clone freely.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: Arc<Database>,
    path: PathBuf,
    writer: writer::Writer,
    events: EventBus,
    reactors: Reactors,
}

/// Runs inside the write that emitted an event, before it commits, for what must be written
/// together with the change (a member's notification with the message that caused it). An
/// error fails the write. Reactors see the events the operation emitted, not their own.
pub type Reactor = Arc<dyn Fn(&Tx<'_>, &Event) -> Result<(), StoreError> + Send + Sync>;

/// The registered reactors, shared with the writer thread.
pub(crate) type Reactors = Arc<std::sync::RwLock<Vec<Reactor>>>;

impl Store {
    /// Opens (or creates) the database in `data_dir`, refusing one from a newer Hearth and
    /// migrating an older one after taking a snapshot. Blocking: call from a blocking context.
    /// Committed writes' events go to the store's bus ([`Store::events`]).
    pub fn open(
        data_dir: &Path,
        now: Timestamp,
        options: StoreOptions,
    ) -> Result<Store, StoreError> {
        let events = EventBus::new();
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::io(data_dir, &e))?;
        let path = data_dir.join(DB_FILE);
        let db = migrate::open_and_migrate(
            &path,
            data_dir,
            now,
            migrate::MIGRATIONS,
            options.cache_bytes,
        )?;
        let db = Arc::new(db);
        let reactors = Reactors::default();
        let writer = writer::Writer::start(
            db.clone(),
            options.max_batch,
            events.clone(),
            reactors.clone(),
        );
        Ok(Store {
            inner: Arc::new(Inner {
                db,
                path,
                writer,
                events,
                reactors,
            }),
        })
    }

    /// Registers a [`Reactor`] for every write from now on.
    pub fn react(
        &self,
        reactor: impl Fn(&Tx<'_>, &Event) -> Result<(), StoreError> + Send + Sync + 'static,
    ) {
        if let Ok(mut reactors) = self.inner.reactors.write() {
            reactors.push(Arc::new(reactor));
        }
    }

    /// The bus that committed writes' events are published on.
    pub fn events(&self) -> &EventBus {
        &self.inner.events
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
    /// A refusal is returned as `Ok(Err(refusal))`, decided before `op` changes anything (see
    /// the module documentation).
    pub async fn write<T: Send + 'static>(
        &self,
        op: impl FnMut(&Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.inner.writer.submit(op).await
    }

    /// Runs `op` (which removes at most `batch` rows and says how many) in one write after
    /// another until it removes fewer: a purge of any size never holds the writer long.
    pub async fn write_in_batches(
        &self,
        batch: u64,
        op: impl Fn(&Tx<'_>) -> Result<u64, StoreError> + Clone + Send + 'static,
    ) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let n = self.write(op.clone()).await?;
            total += n;
            if n < batch {
                return Ok(total);
            }
        }
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

    /// Runs a small read on the calling task: a few point lookups, or one page of at most a
    /// hundred rows found through a key or an index. redb answers such a read from its page
    /// cache in microseconds, well under what handing it to a blocking thread costs (a
    /// wake-up and two context switches); that handoff was the largest cost of an
    /// authenticated list. Anything that scans (offset pages, counts, exports, sweeps) uses
    /// [`read`](Self::read).
    pub fn lookup<T, E>(&self, op: impl FnOnce(&Rx) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        self.read_blocking(op)
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

    /// The names of every table in the database (plain and multimap).
    pub fn table_names(&self) -> Result<Vec<String>, StoreError> {
        use redb::{MultimapTableHandle, TableHandle};
        let txn = self.inner.db.begin_read()?;
        let mut names: Vec<String> = txn.list_tables()?.map(|t| t.name().to_string()).collect();
        names.extend(txn.list_multimap_tables()?.map(|t| t.name().to_string()));
        names.sort();
        Ok(names)
    }

    /// The tables in which some key or value contains one of `needles` (to check that
    /// erased data is really gone).
    pub fn tables_containing(&self, needles: &[Vec<u8>]) -> Result<Vec<String>, StoreError> {
        self.read_blocking(|rx| tables::tables_containing(rx, needles))
    }

    /// Stops the writer after it has committed everything already submitted.
    /// Opens the database for a command run with the server stopped (`demo-data`,
    /// `reindex`), saying plainly when it cannot.
    pub async fn open_for_command(
        data_dir: &std::path::Path,
        now: jiff::Timestamp,
    ) -> Result<Store, String> {
        let dir = data_dir.to_path_buf();
        tokio::task::spawn_blocking(move || Store::open(&dir, now, StoreOptions::default()))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("cannot open the database in {}: {e}", data_dir.display()))
    }

    pub async fn close(&self) {
        self.inner.writer.shutdown().await;
    }
}
