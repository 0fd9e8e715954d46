//! The member's own data: a JSON export of everything Hearth holds about them, and account
//! deletion with a grace period (signing in during it cancels; a job deletes afterwards).
//!
//! Modules add their data to the export by implementing [`ExportPart`] and registering it in
//! [`SelfService::new`]'s list.

use std::sync::Arc;

use jiff::SignedDuration;
use serde_json::{Value, json};

use super::StoreError;
use super::accounts::{AccountError, confirm_current_password};
use super::passwords::Passwords;
use crate::clock::SharedClock;
use crate::domain::account::{FieldError, User};
use crate::domain::ids::UserId;
use crate::domain::job::Job;
use crate::domain::secret::Secret;
use crate::jobs::{EnqueueOptions, JobError, JobQueue};
use crate::store::{Rx, Store};

/// The job kind that deletes an account once its grace period is over.
pub const DELETE_ACCOUNT: &str = "account.delete";
/// How long a member has to change their mind.
pub const DELETION_GRACE: SignedDuration = SignedDuration::from_hours(24 * 14);

/// One section of a member's export.
pub trait ExportPart: Send + Sync {
    fn name(&self) -> &'static str;
    fn export(&self, rx: &Rx, user: &User) -> Result<Value, StoreError>;
}

struct AccountPart;
impl ExportPart for AccountPart {
    fn name(&self) -> &'static str {
        "account"
    }
    fn export(&self, _rx: &Rx, u: &User) -> Result<Value, StoreError> {
        Ok(json!({
            "id": u.id.to_string(), "username": u.username, "email": u.email, "email_verified": u.email_verified,
            "role": u.role.as_str(), "supporter": u.supporter, "created_at": u.created_at.to_string(),
            "status": format!("{:?}", u.status),
        }))
    }
}

struct SessionsPart;
impl ExportPart for SessionsPart {
    fn name(&self) -> &'static str {
        "sessions"
    }
    fn export(&self, rx: &Rx, u: &User) -> Result<Value, StoreError> {
        Ok(rx
            .sessions_of(u.id)?
            .into_iter()
            .map(|(_, s)| json!({"created_at": s.created_at.to_string(), "last_seen_at": s.last_seen_at.to_string(), "user_agent": s.user_agent, "ip": s.ip}))
            .collect())
    }
}

struct ApiTokensPart;
impl ExportPart for ApiTokensPart {
    fn name(&self) -> &'static str {
        "api_tokens"
    }
    fn export(&self, rx: &Rx, u: &User) -> Result<Value, StoreError> {
        Ok(rx
            .api_tokens_of(u.id)?
            .into_iter()
            .map(|t| json!({"name": t.name, "scope": t.scope.as_str(), "created_at": t.created_at.to_string(), "expires_at": t.expires_at.map(|e| e.to_string())}))
            .collect())
    }
}

struct SecondFactorPart;
impl ExportPart for SecondFactorPart {
    fn name(&self) -> &'static str {
        "two_factor"
    }
    fn export(&self, rx: &Rx, u: &User) -> Result<Value, StoreError> {
        // Whether it is on, not the secret: an export must not be a way to clone the factor.
        Ok(match rx.second_factor(u.id)?.filter(|f| f.is_enabled()) {
            Some(f) => {
                json!({"enabled": true, "enabled_at": f.enabled_at.map(|t| t.to_string()), "recovery_codes_left": f.recovery_codes.len()})
            }
            None => json!({"enabled": false}),
        })
    }
}

struct PasskeysPart;
impl ExportPart for PasskeysPart {
    fn name(&self) -> &'static str {
        "passkeys"
    }
    fn export(&self, rx: &Rx, u: &User) -> Result<Value, StoreError> {
        // Names and dates; the public keys are of no use to the member and stay out.
        Ok(rx
            .passkeys_of(u.id)?
            .into_iter()
            .map(|p| json!({"name": p.name, "created_at": p.created_at.to_string(), "last_used_at": p.last_used_at.map(|t| t.to_string())}))
            .collect())
    }
}

struct MediaPart;
impl ExportPart for MediaPart {
    fn name(&self) -> &'static str {
        "media"
    }
    fn export(&self, rx: &Rx, u: &User) -> Result<Value, StoreError> {
        // What was uploaded and where each file is; the files themselves download from there.
        Ok(rx
            .media_of(u.id)?
            .into_iter()
            .map(|m| {
                let files: Vec<String> = m
                    .variants
                    .iter()
                    .map(|(v, _)| format!("/media/{}/{}", m.id, v.as_str()))
                    .chain(m.format.is_video().then(|| format!("/media/{}/video", m.id)))
                    .collect();
                json!({"id": m.id.to_string(), "name": m.original_name, "format": m.format.as_str(), "uploaded_at": m.created_at.to_string(), "state": m.state.label(), "files": files})
            })
            .collect())
    }
}

struct InvitationsPart;
impl ExportPart for InvitationsPart {
    fn name(&self) -> &'static str {
        "invitations_created"
    }
    fn export(&self, rx: &Rx, u: &User) -> Result<Value, StoreError> {
        Ok(rx
            .invites_by(u.id)?
            .into_iter()
            .map(|i| json!({"note": i.note, "created_at": i.created_at.to_string(), "expires_at": i.expires_at.to_string(), "used": i.joined.len(), "max_uses": i.max_uses}))
            .collect())
    }
}

#[derive(Clone)]
pub struct SelfService {
    store: Store,
    clock: SharedClock,
    passwords: Passwords,
    queue: JobQueue,
    parts: Arc<Vec<Box<dyn ExportPart>>>,
}

impl SelfService {
    pub fn new(store: Store, clock: SharedClock, passwords: Passwords, queue: JobQueue) -> Self {
        let parts: Vec<Box<dyn ExportPart>> = vec![
            Box::new(AccountPart),
            Box::new(SessionsPart),
            Box::new(ApiTokensPart),
            Box::new(SecondFactorPart),
            Box::new(PasskeysPart),
            Box::new(MediaPart),
            Box::new(InvitationsPart),
        ];
        Self {
            store,
            clock,
            passwords,
            queue,
            parts: Arc::new(parts),
        }
    }

    /// Everything Hearth holds about `user`, as one JSON document.
    pub async fn export(&self, user: &User) -> Result<Value, StoreError> {
        let parts = self.parts.clone();
        let user = user.clone();
        let exported_at = self.clock.now().to_string();
        self.store
            .read(move |rx| {
                let mut doc = serde_json::Map::new();
                doc.insert(
                    "format".into(),
                    json!({"name": "hearth-export", "version": 1, "exported_at": exported_at}),
                );
                for part in parts.iter() {
                    doc.insert(part.name().into(), part.export(rx, &user)?);
                }
                Ok(Value::Object(doc))
            })
            .await
    }

    /// Schedules the account's deletion after the grace period and signs it out everywhere.
    pub async fn request_deletion(
        &self,
        user: &User,
        password: Secret<String>,
    ) -> Result<jiff::Timestamp, AccountError> {
        confirm_current_password(&self.passwords, user, password).await?;
        if user.role == crate::domain::role::Role::Owner {
            return Err(AccountError::Invalid(vec![FieldError::new(
                "current_password",
                "The owner cannot delete their account; make someone else owner first.",
            )]));
        }
        let due = self.clock.now() + DELETION_GRACE;
        let options = EnqueueOptions {
            dedupe_key: Some(format!("delete-account:{}", user.id)),
            run_at: Some(due),
        };
        let job: Job = self
            .queue
            .new_job(DELETE_ACCOUNT, &user.id, options)
            .map_err(|e| AccountError::Store(StoreError::Database(e.to_string())))?;
        let id = user.id;
        self.store
            .write(move |tx| {
                let mut stored = tx.read_user(id)?.ok_or(AccountError::WrongCredentials)?;
                stored.deletion_due = Some(due);
                tx.put_user(&stored)?;
                tx.delete_sessions_of(id, None)?;
                tx.enqueue_job(&job)?;
                Ok::<_, AccountError>(())
            })
            .await?;
        tracing::info!(user = %id, due = %due, "account deletion requested");
        Ok(due)
    }
}

/// The `account.delete` job: deletes the account if its deletion is still due (signing in
/// in the meantime cancelled it).
pub fn delete_when_due(
    store: Store,
    clock: SharedClock,
) -> impl Fn(Job) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), JobError>> + Send>>
+ Send
+ Sync
+ 'static {
    move |job| {
        let (store, now) = (store.clone(), clock.now());
        Box::pin(async move {
            let id: UserId = serde_json::from_slice(&job.payload)
                .map_err(|e| JobError::permanent(format!("bad payload: {e}")))?;
            let deleted = store
                .write(move |tx| {
                    let Some(user) = tx.read_user(id)? else {
                        return Ok(false);
                    };
                    match user.deletion_due {
                        Some(due) if due <= now => {
                            tx.delete_user(&user)?;
                            Ok::<_, StoreError>(true)
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
