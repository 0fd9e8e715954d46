//! The group-commit writer.
//!
//! redb allows one write transaction at a time and each durable commit pays an fsync. One
//! thread takes write requests from a channel, applies every request already waiting (up to
//! `max_batch`) in one transaction, commits once, and only then answers each caller. Under load
//! the fsync is shared by the whole batch, so throughput grows with concurrency.
//!
//! A request that fails (a store error, or a panic) must not take its neighbours down: the
//! transaction is aborted and the batch is redone without it. Requests are therefore
//! re-runnable closures (see [`super::Store::write`]). A refusal is not a failure: it is a
//! value the request returns, so it costs its neighbours nothing.
//!
//! Each request gets its own [`Tx`] view of the shared transaction, which collects the events
//! it emits; after the commit the writer publishes them in order, before answering anyone, so
//! a caller that gets its answer can rely on every listener having seen its events.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use redb::Database;
use tokio::sync::{mpsc, oneshot};

use super::{Reactor, Reactors, StoreError, Tx};
use crate::events::{Event, EventBus};
/// A request as the writer thread sees it: apply it, then tell the caller the outcome.
trait Pending: Send {
    /// Runs the operation; `false` when it failed (its error is kept for `finish`). The events
    /// it emitted are kept until the batch commits.
    fn apply(&mut self, txn: &redb::WriteTransaction, reactors: &[Reactor]) -> bool;
    /// The events of the last successful apply.
    fn take_events(&mut self) -> Vec<Event>;
    /// Answers the caller: the kept result when the commit succeeded, else the commit error.
    fn finish(self: Box<Self>, commit: Result<(), StoreError>);
}

struct Request<F, T> {
    op: F,
    result: Option<Result<T, StoreError>>,
    events: Vec<Event>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<F, T> Pending for Request<F, T>
where
    F: FnMut(&Tx<'_>) -> Result<T, StoreError> + Send,
    T: Send,
{
    fn apply(&mut self, txn: &redb::WriteTransaction, reactors: &[Reactor]) -> bool {
        let tx = Tx {
            txn,
            emitted: Default::default(),
        };
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let result = (self.op)(&tx)?;
            let emitted = tx.emitted.borrow().clone();
            for event in &emitted {
                for reactor in reactors {
                    reactor(&tx, event)?;
                }
            }
            Ok(result)
        }))
        .unwrap_or_else(|_| Err(StoreError::Database("a write operation panicked".into())));
        let ok = outcome.is_ok();
        self.events = if ok { tx.emitted.take() } else { Vec::new() };
        self.result = Some(outcome);
        ok
    }

    fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    fn finish(self: Box<Self>, commit: Result<(), StoreError>) {
        let answer = match (commit, self.result) {
            (Ok(()), Some(result)) => result,
            (Ok(()), None) => Err(StoreError::Database("write was never applied".into())),
            (Err(_), Some(Err(own))) => Err(own),
            (Err(e), _) => Err(e),
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
    pub fn start(
        db: Arc<Database>,
        max_batch: usize,
        events: EventBus,
        reactors: Reactors,
    ) -> Writer {
        let (sender, receiver) = mpsc::channel::<Box<dyn Pending>>(4096);
        let (done_tx, done_rx) = oneshot::channel();
        let max_batch = max_batch.max(1);
        let spawned = std::thread::Builder::new()
            .name("hearth-writer".into())
            .spawn(move || {
                run(&db, receiver, max_batch, &events, &reactors);
                // Let go of the database before saying so: whoever waits on `done` may open
                // it again at once (a restart in the same process, the demo-data command).
                drop(db);
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

    pub async fn submit<F, T>(&self, op: F) -> Result<T, StoreError>
    where
        F: FnMut(&Tx<'_>) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let sender = self
            .sender
            .lock()
            .map_err(|_| StoreError::WriterGone)?
            .clone();
        let Some(sender) = sender else {
            return Err(StoreError::WriterGone);
        };
        let (reply, answer) = oneshot::channel();
        let request: Box<dyn Pending> = Box::new(Request {
            op,
            result: None,
            events: Vec::new(),
            reply,
        });
        sender
            .send(request)
            .await
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
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

fn run(
    db: &Database,
    mut receiver: mpsc::Receiver<Box<dyn Pending>>,
    max_batch: usize,
    events: &EventBus,
    reactors: &Reactors,
) {
    let mut batch: Vec<Box<dyn Pending>> = Vec::with_capacity(max_batch);
    while let Some(first) = receiver.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match receiver.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let reactors: Vec<Reactor> = reactors.read().map(|r| r.clone()).unwrap_or_default();
        commit_batch(db, &mut batch, events, &reactors);
    }
}

/// Applies and commits `batch`, publishes what it emitted, and answers every request in it.
fn commit_batch(
    db: &Database,
    batch: &mut Vec<Box<dyn Pending>>,
    events: &EventBus,
    reactors: &[Reactor],
) {
    while !batch.is_empty() {
        let txn = match db.begin_write() {
            Ok(txn) => txn,
            Err(e) => {
                let err = StoreError::from(e);
                batch.drain(..).for_each(|r| r.finish(Err(err.clone())));
                return;
            }
        };
        let failed = batch
            .iter_mut()
            .position(|request| !request.apply(&txn, reactors));
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
        match &outcome {
            Ok(()) => events.publish(batch.iter_mut().flat_map(|r| r.take_events()).collect()),
            Err(e) => tracing::error!("commit failed: {e}"),
        }
        batch.drain(..).for_each(|r| r.finish(outcome.clone()));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::super::{Store, StoreOptions};
    use crate::domain::ids::JobId;
    use crate::domain::job::Job;
    use crate::store::StoreError;

    fn job(n: u128) -> Job {
        let at = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        Job {
            id: JobId::from_u128(n),
            kind: "test".into(),
            payload: Vec::new(),
            dedupe_key: None,
            attempts: 0,
            max_attempts: 1,
            created_at: at,
            run_at: at,
            last_error: None,
        }
    }

    /// A reactor writes inside the operation's transaction: its write commits with the
    /// operation, its error fails it (and nothing of either stays), and it never sees the
    /// events reactors emit.
    #[tokio::test]
    async fn reactors_write_with_the_operation_or_fail_it() {
        use crate::domain::ids::UserId;
        use crate::events::Event;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            dir.path(),
            jiff::Timestamp::from_second(1_800_000_000).unwrap(),
            StoreOptions::default(),
        )
        .unwrap();
        let seen = std::sync::Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        store.react(move |tx, event| {
            counter.fetch_add(1, Ordering::SeqCst);
            match event {
                Event::MemberJoined { user } if user.as_u128() == 1 => {
                    tx.jobs().enqueue(&job(100))?;
                    // Emitted by a reactor: published, but not reacted to.
                    tx.emit(Event::MemberJoined {
                        user: UserId::from_u128(2),
                    });
                    Ok(())
                }
                Event::MemberJoined { .. } => {
                    Err(StoreError::Database("the reactor refuses".into()))
                }
                _ => Ok(()),
            }
        });
        let mut bus = store.events().subscribe(crate::events::Topic::Accounts);
        store
            .write(|tx| {
                tx.jobs().enqueue(&job(1))?;
                tx.emit(Event::MemberJoined {
                    user: UserId::from_u128(1),
                });
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(
            seen.load(Ordering::SeqCst),
            1,
            "its own event is not reacted to"
        );
        let failed = store
            .write(|tx| {
                tx.jobs().enqueue(&job(3))?;
                tx.emit(Event::MemberJoined {
                    user: UserId::from_u128(3),
                });
                Ok(())
            })
            .await;
        assert!(failed.is_err());
        let kept = store
            .lookup(|rx| {
                Ok::<_, StoreError>([1, 100, 3].map(|n| {
                    rx.jobs()
                        .pending(JobId::from_u128(n))
                        .map(|j| j.is_some())
                        .unwrap_or(false)
                }))
            })
            .unwrap();
        assert_eq!(kept, [true, true, false]);
        let mut published = Vec::new();
        while let Some(Ok(event)) = bus.try_next() {
            if let Event::MemberJoined { user } = &*event {
                published.push(user.as_u128());
            }
        }
        assert_eq!(published, [1, 2]);
    }

    /// Many writes at once share batches: refusals cost their neighbours nothing (each
    /// operation runs once), a failing operation is rolled back alone, and what the others
    /// wrote stands.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refusals_are_values_and_failures_roll_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            dir.path(),
            jiff::Timestamp::from_second(1_800_000_000).unwrap(),
            StoreOptions::default(),
        )
        .unwrap();
        let runs = std::sync::Arc::new(AtomicUsize::new(0));
        let mut writes = Vec::new();
        for n in 0..64u128 {
            let (store, runs) = (store.clone(), runs.clone());
            writes.push(tokio::spawn(async move {
                store
                    .write(move |tx| {
                        runs.fetch_add(1, Ordering::SeqCst);
                        if n % 2 == 1 {
                            return Ok(Err("refused"));
                        }
                        tx.jobs().enqueue(&job(n + 1))?;
                        Ok(Ok(()))
                    })
                    .await
            }));
        }
        let mut refused = 0;
        for w in writes {
            if w.await.unwrap().unwrap().is_err() {
                refused += 1;
            }
        }
        assert_eq!(refused, 32);
        assert_eq!(runs.load(Ordering::SeqCst), 64, "no operation ran twice");
        let failing = store
            .write(|tx| {
                tx.jobs().enqueue(&job(1000))?;
                Err::<(), _>(StoreError::Database("disk on fire".into()))
            })
            .await;
        assert!(failing.is_err());
        let counts = store.read(|rx| rx.jobs().counts()).await.unwrap();
        assert_eq!(counts.pending, 32, "the failed write's job was rolled back");
        store.close().await;
    }
}
