//! Named background tasks with one shutdown signal. Every task is awaited at exit, so nothing
//! is cut off half-way through a write.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A cloneable signal that resolves once shutdown has begun.
#[derive(Clone)]
pub struct Shutdown {
    receiver: watch::Receiver<bool>,
}

impl Shutdown {
    pub async fn wait(&mut self) {
        // An error means the supervisor is gone, which is a shutdown too.
        let _ = self.receiver.wait_for(|stopping| *stopping).await;
    }

    pub fn is_triggered(&self) -> bool {
        *self.receiver.borrow()
    }
}

pub struct Supervisor {
    trigger: watch::Sender<bool>,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

impl Default for Supervisor {
    fn default() -> Self {
        Self::new()
    }
}

impl Supervisor {
    pub fn new() -> Self {
        let (trigger, _) = watch::channel(false);
        Self {
            trigger,
            tasks: Vec::new(),
        }
    }

    pub fn shutdown_signal(&self) -> Shutdown {
        Shutdown {
            receiver: self.trigger.subscribe(),
        }
    }

    /// Starts a named task; it receives the shutdown signal and should return soon after it fires.
    pub fn spawn<F, Fut>(&mut self, name: &'static str, task: F)
    where
        F: FnOnce(Shutdown) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let signal = self.shutdown_signal();
        let handle = tokio::spawn(task(signal));
        tracing::debug!(task = name, "background task started");
        self.tasks.push((name, handle));
    }

    /// Signals shutdown and waits for every task, up to `deadline` for each; stragglers are
    /// aborted and named in the log.
    pub async fn shutdown(self, deadline: Duration) {
        let _ = self.trigger.send(true);
        let wait_all = async {
            for (name, handle) in self.tasks {
                let abort = handle.abort_handle();
                match tokio::time::timeout(deadline, handle).await {
                    Ok(Ok(())) => tracing::debug!(task = name, "background task stopped"),
                    Ok(Err(e)) => {
                        tracing::error!(task = name, "background task ended abnormally: {e}")
                    }
                    Err(_) => {
                        tracing::warn!(
                            task = name,
                            "background task did not stop in time; aborting it"
                        );
                        abort.abort();
                    }
                }
            }
        };
        wait_all.await;
    }
}
