//! The mail outbox: messages are stored as `mail.send` jobs in the same transaction as the
//! change that causes them, and delivered by the job queue with retries and backoff.

use std::future::Future;

use super::access::{Access, Actor};
use super::error::ServiceError;
use super::settings::Settings;
use crate::domain::job::Job;
use crate::domain::permission::Permission;
use crate::jobs::{EnqueueOptions, JobError, JobPlan, JobQueue, QueueError};
use crate::mail::{self, MailError, OutgoingMail};

/// The job kind that delivers one message.
pub const SEND_MAIL: &str = "mail.send";

#[derive(Debug, thiserror::Error)]
pub enum TestMailError {
    /// The SMTP server's answer, for the admin to read.
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// Registers the job that delivers mail from the outbox.
pub fn register_jobs(plan: &mut JobPlan, settings: Settings) {
    plan.register(SEND_MAIL, deliver(settings));
}

#[derive(Clone)]
pub struct Outbox {
    queue: JobQueue,
    settings: Settings,
    access: Access,
}

impl Outbox {
    pub fn new(queue: JobQueue, settings: Settings, access: Access) -> Self {
        Self {
            queue,
            settings,
            access,
        }
    }

    /// The job that will deliver `mail`; the caller stores it with `tx.jobs().enqueue` inside its
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
        self.access.require(actor, Permission::ManageSettings)?;
        let settings = self.settings.current();
        let message = mail::templates::test_mail(to, &settings.site_name)
            .map_err(|e| ServiceError::internal(format!("cannot render the message: {e}")))?;
        mail::send(&settings.mail, &message).await?;
        tracing::info!(to, "test email sent");
        Ok(())
    }
}

/// The `mail.send` job handler: delivers with the mail settings in force when it runs.
fn deliver(
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
