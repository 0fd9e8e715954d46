//! The mail outbox: messages are stored as `mail.send` jobs in the same transaction as the
//! change that causes them, and delivered by the job queue with retries and backoff.

use std::future::Future;

use super::audit::Actor;
use super::settings::Settings;
use crate::domain::job::Job;
use crate::domain::permission::Permission;
use crate::jobs::{EnqueueOptions, JobError, JobQueue, QueueError};
use crate::mail::{self, MailError, OutgoingMail};

/// The job kind that delivers one message.
pub const SEND_MAIL: &str = "mail.send";

#[derive(Debug, thiserror::Error)]
pub enum TestMailError {
    #[error("your role may not send test emails")]
    Forbidden,
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error("cannot render the message: {0}")]
    Template(String),
}

#[derive(Clone)]
pub struct Outbox {
    queue: JobQueue,
    settings: Settings,
}

impl Outbox {
    pub fn new(queue: JobQueue, settings: Settings) -> Self {
        Self { queue, settings }
    }

    /// The job that will deliver `mail`; the caller stores it with `tx.enqueue_job` inside its
    /// own write, so the message exists if and only if the change that caused it does.
    pub fn job_for(&self, mail: &OutgoingMail) -> Result<Job, QueueError> {
        self.queue
            .new_job(SEND_MAIL, mail, EnqueueOptions::default())
    }

    /// Wakes the job workers after a commit that enqueued mail.
    pub fn notify(&self) {
        self.queue.notify();
    }

    /// Whether mail can be sent at all (an SMTP host is set).
    pub fn is_configured(&self) -> bool {
        self.settings.current().mail.is_configured()
    }

    /// Sends a test message right away, so the admin sees the SMTP server's answer.
    pub async fn send_test(&self, actor: &Actor, to: &str) -> Result<(), TestMailError> {
        if !actor.role.may(Permission::ManageSettings) {
            return Err(TestMailError::Forbidden);
        }
        let settings = self.settings.current();
        let message = mail::templates::test_mail(to, &settings.site_name)
            .map_err(|e| TestMailError::Template(e.to_string()))?;
        mail::send(&settings.mail, &message).await?;
        tracing::info!(to, "test email sent");
        Ok(())
    }
}

/// The `mail.send` job handler: delivers with the mail settings in force when it runs.
pub fn deliver(
    settings: Settings,
) -> impl Fn(Job) -> std::pin::Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>
+ Send
+ Sync
+ 'static {
    move |job| {
        let settings = settings.clone();
        Box::pin(async move {
            let message: OutgoingMail = serde_json::from_slice(&job.payload)
                .map_err(|e| JobError::permanent(format!("undecodable mail: {e}")))?;
            match mail::send(&settings.current().mail, &message).await {
                Ok(()) => Ok(()),
                Err(e) if e.is_permanent() => Err(JobError::permanent(e.to_string())),
                Err(e) => Err(JobError::retry(e.to_string())),
            }
        })
    }
}
