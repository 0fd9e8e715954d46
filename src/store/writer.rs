//! The group-commit writer.
//!
//! redb allows one write transaction at a time and each durable commit pays an fsync. One
//! thread takes write requests from a channel, applies every request already waiting (up to
//! `max_batch`) in one transaction, commits once, and only then answers each caller. Under load
//! the fsync is shared by the whole batch, so throughput grows with concurrency.
//!
//! A request that fails must not take its neighbours down: its transaction is aborted and the
//! batch is redone without it. Requests are therefore re-runnable closures (see
//! [`super::Store::write`]). A panicking request counts as a failed one.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use redb::Database;
use tokio::sync::{mpsc, oneshot};

use super::{StoreError, Tx};

#[derive(Debug, Clone, Copy)]
pub struct WriterOptions {
    /// Most requests committed together. 1 disables group commit (for benchmarks).
    pub max_batch: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self { max_batch: 256 }
    }
}

/// A request as the writer thread sees it: apply it, then tell the caller the outcome.
trait Pending: Send {
    /// Runs the operation; `false` when it failed (its error is kept for `finish`).
    fn apply(&mut self, tx: &Tx<'_>) -> bool;
    /// Answers the caller: the kept result when the commit succeeded, else the commit error.
    fn finish(self: Box<Self>, commit: Result<(), StoreError>);
}

struct Request<F, T, E> {
    op: F,
    result: Option<Result<T, E>>,
    reply: oneshot::Sender<Result<T, E>>,
}

impl<F, T, E> Pending for Request<F, T, E>
where
    F: FnMut(&Tx<'_>) -> Result<T, E> + Send,
    T: Send,
    E: From<StoreError> + Send,
{
    fn apply(&mut self, tx: &Tx<'_>) -> bool {
        let outcome =
            std::panic::catch_unwind(AssertUnwindSafe(|| (self.op)(tx))).unwrap_or_else(|_| {
                Err(E::from(StoreError::Database(
                    "a write operation panicked".into(),
                )))
            });
        let ok = outcome.is_ok();
        self.result = Some(outcome);
        ok
    }

    fn finish(self: Box<Self>, commit: Result<(), StoreError>) {
        let answer = match (commit, self.result) {
            (Ok(()), Some(result)) => result,
            (Ok(()), None) => Err(E::from(StoreError::Database(
                "write was never applied".into(),
            ))),
            (Err(_), Some(Err(own))) => Err(own),
            (Err(e), _) => Err(E::from(e)),
        };
        // The caller may have gone away (request cancelled); the write stands regardless.
        let _ = self.reply.send(answer);
    }
}

/// Handle to the writer thread.
pub struct Writer {
    sender: Mutex<Option<mpsc::Sender<Box<dyn Pending>>>>,
    done: Mutex<Option<oneshot::Receiver<()>>>,
}

impl Writer {
    pub fn start(db: Arc<Database>, options: WriterOptions) -> Writer {
        let (sender, receiver) = mpsc::channel::<Box<dyn Pending>>(4096);
        let (done_tx, done_rx) = oneshot::channel();
        let max_batch = options.max_batch.max(1);
        let spawned = std::thread::Builder::new()
            .name("hearth-writer".into())
            .spawn(move || {
                run(&db, receiver, max_batch);
                let _ = done_tx.send(());
            });
        if let Err(e) = spawned {
            // Without a writer every write fails with WriterGone, which callers report.
            tracing::error!("cannot start the database writer thread: {e}");
        }
        Writer {
            sender: Mutex::new(Some(sender)),
            done: Mutex::new(Some(done_rx)),
        }
    }

    pub async fn submit<F, T, E>(&self, op: F) -> Result<T, E>
    where
        F: FnMut(&Tx<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let sender = self
            .sender
            .lock()
            .map_err(|_| E::from(StoreError::WriterGone))?
            .clone();
        let Some(sender) = sender else {
            return Err(E::from(StoreError::WriterGone));
        };
        let (reply, answer) = oneshot::channel();
        let request: Box<dyn Pending> = Box::new(Request {
            op,
            result: None,
            reply,
        });
        sender
            .send(request)
            .await
            .map_err(|_| E::from(StoreError::WriterGone))?;
        answer.await.map_err(|_| E::from(StoreError::WriterGone))?
    }

    /// Closes the queue and waits until everything submitted before has been committed.
    pub async fn shutdown(&self) {
        if let Ok(mut sender) = self.sender.lock() {
            sender.take();
        }
        let done = self.done.lock().ok().and_then(|mut d| d.take());
        if let Some(done) = done {
            let _ = done.await;
        }
    }
}

fn run(db: &Database, mut receiver: mpsc::Receiver<Box<dyn Pending>>, max_batch: usize) {
    let mut batch: Vec<Box<dyn Pending>> = Vec::with_capacity(max_batch);
    while let Some(first) = receiver.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match receiver.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        commit_batch(db, &mut batch);
    }
}

/// Applies and commits `batch`, answering every request in it.
fn commit_batch(db: &Database, batch: &mut Vec<Box<dyn Pending>>) {
    while !batch.is_empty() {
        let txn = match db.begin_write() {
            Ok(txn) => txn,
            Err(e) => {
                let err = StoreError::from(e);
                batch.drain(..).for_each(|r| r.finish(Err(err.clone())));
                return;
            }
        };
        let failed = {
            let tx = Tx { txn: &txn };
            batch.iter_mut().position(|request| !request.apply(&tx))
        };
        if let Some(index) = failed {
            // Roll back everything and redo the batch without the failed request.
            if let Err(e) = txn.abort() {
                tracing::warn!("aborting a write transaction failed: {e}");
            }
            batch
                .remove(index)
                .finish(Err(StoreError::Database("rolled back".into())));
            continue;
        }
        let outcome = txn.commit().map_err(StoreError::from);
        if let Err(e) = &outcome {
            tracing::error!("commit failed: {e}");
        }
        batch.drain(..).for_each(|r| r.finish(outcome.clone()));
    }
}
