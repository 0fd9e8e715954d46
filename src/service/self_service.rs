//! The member's own data: a JSON export of everything Hearth holds about them, and account
//! deletion with a grace period (signing in during it cancels; a job deletes afterwards).
//!
//! Both go through the member-data parts every module registers (see [`super::member_data`]).

use jiff::SignedDuration;
use serde_json::Value;

use super::StoreError;
use super::accounts::confirm_current_password;
use super::error::ServiceError;
use super::member_data::MemberDataParts;
use super::passwords::Passwords;
use crate::clock::SharedClock;
use crate::domain::account::User;
use crate::domain::ids::UserId;
use crate::domain::job::Job;
use crate::domain::secret::Secret;
use crate::jobs::{EnqueueOptions, JobError, JobPlan, JobQueue};
use crate::store::Store;

/// The job kind that deletes an account once its grace period is over.
pub const DELETE_ACCOUNT: &str = "account.delete";
/// How long a member has to change their mind.
pub const DELETION_GRACE: SignedDuration = SignedDuration::from_hours(24 * 14);

#[derive(Clone)]
pub struct SelfService {
    store: Store,
    clock: SharedClock,
    passwords: Passwords,
    queue: JobQueue,
    parts: MemberDataParts,
}

impl SelfService {
    pub fn new(
        store: Store,
        clock: SharedClock,
        passwords: Passwords,
        queue: JobQueue,
        parts: MemberDataParts,
    ) -> Self {
        Self {
            store,
            clock,
            passwords,
            queue,
            parts,
        }
    }

    /// Everything Hearth holds about `user`, as one JSON document.
    pub async fn export(&self, user: &User) -> Result<Value, StoreError> {
        let parts = self.parts.clone();
        let user = user.clone();
        let exported_at = self.clock.now().to_string();
        self.store
            .read(move |rx| parts.export(rx, &user, &exported_at))
            .await
    }

    /// Schedules the account's deletion after the grace period and signs it out everywhere.
    pub async fn request_deletion(
        &self,
        user: &User,
        password: Secret<String>,
    ) -> Result<jiff::Timestamp, ServiceError> {
        confirm_current_password(&self.passwords, user, password).await?;
        if user.role == crate::domain::role::Role::Owner {
            return Err(ServiceError::invalid(
                "current_password",
                "The owner cannot delete their account; make someone else owner first.",
            ));
        }
        let due = self.clock.now() + DELETION_GRACE;
        let options = EnqueueOptions {
            dedupe_key: Some(format!("delete-account:{}", user.id)),
            run_at: Some(due),
        };
        let job: Job = self.queue.new_job(DELETE_ACCOUNT, &user.id, options)?;
        let id = user.id;
        self.store
            .write(move |tx| {
                let Some(mut stored) = tx.users().get(id)? else {
                    return Ok(Err(ServiceError::not_found()));
                };
                stored.deletion_due = Some(due);
                tx.users().put(&stored)?;
                tx.sessions().delete_of_user(id, None)?;
                tx.jobs().enqueue(&job)?;
                Ok(Ok(()))
            })
            .await??;
        tracing::info!(user = %id, due = %due, "account deletion requested");
        Ok(due)
    }
}

/// Registers the job that deletes accounts when their grace period is over.
pub fn register_jobs(plan: &mut JobPlan, store: Store, clock: SharedClock, parts: MemberDataParts) {
    plan.register(DELETE_ACCOUNT, delete_when_due(store, clock, parts));
}

/// The `account.delete` job: deletes the account if its deletion is still due (signing in
/// in the meantime cancelled it).
fn delete_when_due(
    store: Store,
    clock: SharedClock,
    parts: MemberDataParts,
) -> impl Fn(Job) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), JobError>> + Send>>
+ Send
+ Sync
+ 'static {
    move |job| {
        let (store, now, parts) = (store.clone(), clock.now(), parts.clone());
        Box::pin(async move {
            let id: UserId = serde_json::from_slice(&job.payload)
                .map_err(|e| JobError::permanent(format!("bad payload: {e}")))?;
            let deleted = store
                .write(move |tx| {
                    let Some(user) = tx.users().get(id)? else {
                        return Ok(false);
                    };
                    match user.deletion_due {
                        Some(due) if due <= now => {
                            parts.erase_account(tx, &user)?;
                            Ok(true)
                        }
                        _ => Ok(false),
                    }
                })
                .await
                .map_err(|e| JobError::retry(e.to_string()))?;
            if deleted {
                tracing::info!(user = %id, "account deleted at the member's request");
            }
            Ok(())
        })
    }
}
