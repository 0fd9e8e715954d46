//! Getting in: sign-up under the registration mode in force, email verification, the approval
//! queue, invitations and password reset by mail.
//!
//! Every change and the mail it causes are written in one transaction (the mail as a
//! `mail.send` job), so a member never gets a link to something that was not saved.

use std::sync::Arc;

use jiff::SignedDuration;

use super::StoreError;
use super::access::{Access, Actor};
use super::accounts::{ClientInfo, taken};
use super::audit;
use super::error::{ErrorCode, Refusal, ServiceError};
use super::limits::{Limit, LimitKind, RateLimiter};
use super::mail::Outbox;
use super::passwords::Passwords;
use super::settings::Settings;
use super::tokens::{hash_token, new_token};
use crate::clock::SharedClock;
use crate::domain::account::{self, AccountStatus, FieldError, User};
use crate::domain::ids::{InviteId, UserId, uuid_v7};
use crate::domain::invite::{Invite, OneTimeToken, TokenPurpose};
use crate::domain::permission::Permission;
use crate::domain::role::Role;
use crate::domain::secret::Secret;
use crate::domain::settings::RegistrationMode;
use crate::events::Event;
use crate::mail::templates::Notice;
use crate::store::{Rx, Store, Tx};

use super::member_data::MemberData;

/// Verification links work this long.
pub const VERIFY_LINK_LIFETIME: SignedDuration = SignedDuration::from_hours(48);
/// Password-reset links work this long.
pub const RESET_LINK_LIFETIME: SignedDuration = SignedDuration::from_mins(30);

#[derive(Debug, Clone)]
pub struct SignUp {
    pub username: String,
    pub email: String,
    pub password: Secret<String>,
    pub password_confirm: Secret<String>,
    pub invite_code: Option<String>,
}

/// What happens next for a new member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedUp {
    pub user: UserId,
    pub needs_approval: bool,
    /// A verification link was mailed; false when mail is off (staff verify by hand).
    pub verification_sent: bool,
}

fn closed(why: &str) -> ServiceError {
    ServiceError::Forbidden(Refusal::new(ErrorCode::RegistrationClosed, why))
}

fn bad_invite(why: &str) -> ServiceError {
    ServiceError::NotFound(Refusal::new(ErrorCode::InvitationUnusable, why))
}

fn bad_link() -> ServiceError {
    ServiceError::NotFound(Refusal::new(
        ErrorCode::LinkInvalid,
        "This link is invalid, has expired or was already used. Ask for a new one.",
    ))
}

/// A page of invitations, each with the usernames of those who joined with it.
pub struct InvitePage {
    pub invites: Vec<(Invite, Vec<String>)>,
    pub total: u64,
}

/// A page of the approval queue.
pub struct ApprovalPage {
    pub users: Vec<User>,
    pub total: u64,
}

#[derive(Clone)]
pub struct Registration {
    store: Store,
    access: Access,
    clock: SharedClock,
    passwords: Passwords,
    settings: Settings,
    limiter: Arc<RateLimiter>,
    outbox: Outbox,
    public_base: Arc<str>,
}

impl Registration {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Store,
        access: Access,
        clock: SharedClock,
        passwords: Passwords,
        settings: Settings,
        limiter: Arc<RateLimiter>,
        outbox: Outbox,
        public_base: Arc<str>,
    ) -> Self {
        Self {
            store,
            access,
            clock,
            passwords,
            settings,
            limiter,
            outbox,
            public_base,
        }
    }

    fn link(&self, path: &str, token: &str) -> String {
        format!("{}/{path}/{token}", self.public_base)
    }

    /// The verification notice and the stored token for `user`, to be written with the change.
    fn verification(&self, user: &User) -> (OneTimeToken, [u8; 32], Notice) {
        let token = new_token();
        let stored = OneTimeToken {
            purpose: TokenPurpose::VerifyEmail,
            user: user.id,
            expires_at: self.clock.now() + VERIFY_LINK_LIFETIME,
        };
        let notice = Notice {
            to: user.email.clone(),
            name: user.username.clone(),
            subject: "confirm your email address".into(),
            paragraphs: vec![
                "Please confirm that this is your email address. The link works for 48 hours."
                    .into(),
            ],
            action: Some((
                "Confirm my address".into(),
                self.link("verify", token.expose()),
            )),
            unsubscribe: None,
        };
        (stored, hash_token(token.expose()), notice)
    }

    fn mail_job(&self, notice: &Notice) -> Result<crate::domain::job::Job, ServiceError> {
        let site = self.settings.current().site_name.clone();
        let mail = notice
            .render(&site)
            .map_err(|e| ServiceError::internal(format!("mail template: {e}")))?;
        Ok(self.outbox.job_for(&mail)?)
    }

    /// Whether an invitation code is usable now (for showing the sign-up form).
    pub async fn check_invite(&self, code: &str) -> Result<(), ServiceError> {
        let hash = hash_token(code);
        let invite = self
            .store
            .read(move |rx| rx.invites().by_code(&hash))
            .await?;
        match invite {
            None => Err(bad_invite("This invitation link is not valid.")),
            Some(invite) => invite
                .unusable_at(self.clock.now())
                .map_or(Ok(()), |why| Err(bad_invite(why))),
        }
    }

    pub async fn sign_up(
        &self,
        input: SignUp,
        client: &ClientInfo,
    ) -> Result<SignedUp, ServiceError> {
        let settings = self.settings.current();
        let mode = settings.registration;
        if mode == RegistrationMode::Closed {
            return Err(closed("Sign-ups are closed on this site."));
        }
        if mode == RegistrationMode::InviteOnly && input.invite_code.is_none() {
            return Err(closed(
                "This site is invite-only: you need an invitation link to join.",
            ));
        }
        if let Some(code) = &input.invite_code {
            self.check_invite(code).await?;
        }
        let limit = Limit::per_window(settings.sign_ups_per_hour, 3600);
        self.limiter
            .take(LimitKind::SignUpAddress, &client.address_key(), limit)
            .map_err(ServiceError::RateLimited)?;

        let (username, email) = account::check_new_account(
            &input.username,
            &input.email,
            input.password.expose(),
            input.password_confirm.expose(),
        )
        .map_err(ServiceError::Invalid)?;

        let invited = input.invite_code.is_some();
        let needs_approval = mode == RegistrationMode::Approval && !invited;
        let password_hash = self.passwords.hash(input.password).await?;
        let now = self.clock.now();
        let user = User {
            id: UserId(uuid_v7(now.as_millisecond(), rand::random())),
            username,
            email,
            password_hash,
            role: Role::Member,
            created_at: now,
            status: if needs_approval {
                AccountStatus::PendingApproval
            } else {
                AccountStatus::Active
            },
            email_verified: false,
            supporter: false,
            deletion_due: None,
        };
        let verification = if self.outbox.is_configured() {
            let (token, hash, notice) = self.verification(&user);
            Some((token, hash, self.mail_job(&notice)?))
        } else {
            None
        };
        let verification_sent = verification.is_some();
        let invite_hash = input.invite_code.as_deref().map(hash_token);
        let approval_limit = u64::from(settings.approval_queue_limit);
        let stored = user.clone();
        self.store
            .write(move |tx| {
                // Every refusal is decided before anything is written.
                if needs_approval && tx.approvals().count()? >= approval_limit {
                    return Ok(Err(closed("Sign-ups are paused while staff catch up with the approval queue. Please try again later.")));
                }
                let mut invite = None;
                if let Some(hash) = &invite_hash {
                    let Some(found) = tx.invites().by_code(hash)? else {
                        return Ok(Err(bad_invite("This invitation link is not valid.")));
                    };
                    if let Some(why) = found.unusable_at(now) {
                        return Ok(Err(bad_invite(why)));
                    }
                    invite = Some(found);
                }
                if let Some(which) = tx.users().taken(&stored.username, &stored.email)? {
                    return Ok(Err(taken(which)));
                }
                tx.users().insert(&stored)?;
                if let Some(invite) = &mut invite {
                    tx.invites().record_join(invite, stored.id)?;
                }
                if needs_approval {
                    tx.approvals().add(stored.id, now.as_millisecond())?;
                }
                if let Some((token, hash, job)) = &verification {
                    tx.one_time_tokens().put(hash, token)?;
                    tx.jobs().enqueue(job)?;
                }
                Ok(Ok(()))
            })
            .await??;
        self.outbox.notify();
        tracing::info!(user = %user.id, needs_approval, invited, "new member signed up");
        Ok(SignedUp {
            user: user.id,
            needs_approval,
            verification_sent,
        })
    }

    /// Whether a verification link is still good (for showing its confirmation page).
    pub async fn verify_link_is_valid(&self, token: &str) -> Result<bool, ServiceError> {
        self.link_is_valid(token, TokenPurpose::VerifyEmail).await
    }

    async fn link_is_valid(
        &self,
        token: &str,
        purpose: TokenPurpose,
    ) -> Result<bool, ServiceError> {
        let hash = hash_token(token);
        let now = self.clock.now();
        let t = self
            .store
            .read(move |rx| rx.one_time_tokens().get(&hash))
            .await?;
        Ok(t.is_some_and(|t| t.purpose == purpose && now < t.expires_at))
    }

    /// Spends a verification token and marks the address verified.
    pub async fn verify_email(&self, token: &str) -> Result<User, ServiceError> {
        let hash = hash_token(token);
        let now = self.clock.now();
        self.store
            .write(move |tx| {
                let usable = tx
                    .one_time_tokens()
                    .get(&hash)?
                    .filter(|t| t.purpose == TokenPurpose::VerifyEmail && now < t.expires_at);
                let Some(user) = usable
                    .map(|t| tx.users().get(t.user))
                    .transpose()?
                    .flatten()
                else {
                    return Ok(Err(bad_link()));
                };
                tx.one_time_tokens().take(&hash)?;
                let mut user = user;
                user.email_verified = true;
                tx.users().put(&user)?;
                Ok(Ok(user))
            })
            .await?
    }

    /// Mails a password-reset link if `email` belongs to an account. The answer is the same
    /// either way, so the form does not reveal who has an account.
    pub async fn request_password_reset(
        &self,
        email: &str,
        client: &ClientInfo,
    ) -> Result<(), ServiceError> {
        let per_hour = self.settings.current().password_resets_per_hour;
        let limit = Limit::per_window(per_hour, 3600);
        let email = email.trim().to_lowercase();
        for key in [client.address_key(), email.clone()] {
            self.limiter
                .take(LimitKind::PasswordReset, &key, limit)
                .map_err(ServiceError::RateLimited)?;
        }
        if !self.outbox.is_configured() || account::normalize_email(&email).is_err() {
            return Ok(());
        }
        let lookup = email.clone();
        let Some(user) = self
            .store
            .read(move |rx| rx.users().by_login(&lookup))
            .await?
        else {
            return Ok(());
        };
        let token = new_token();
        let stored = OneTimeToken {
            purpose: TokenPurpose::ResetPassword,
            user: user.id,
            expires_at: self.clock.now() + RESET_LINK_LIFETIME,
        };
        let notice = Notice {
            to: user.email.clone(),
            name: user.username.clone(),
            subject: "reset your password".into(),
            paragraphs: vec![
                "Someone asked to reset the password of your account. If it was you, choose a new one with the link below; it works once, for 30 minutes.".into(),
                "If it was not you, ignore this message: your password stays as it is.".into(),
            ],
            action: Some(("Choose a new password".into(), self.link("reset", token.expose()))),
            unsubscribe: None,
        };
        let job = self.mail_job(&notice)?;
        let hash = hash_token(token.expose());
        self.store
            .write(move |tx| {
                tx.one_time_tokens().put(&hash, &stored)?;
                tx.jobs().enqueue(&job)
            })
            .await?;
        self.outbox.notify();
        Ok(())
    }

    /// Whether a reset link is still good (for showing the form).
    pub async fn reset_link_is_valid(&self, token: &str) -> Result<bool, ServiceError> {
        self.link_is_valid(token, TokenPurpose::ResetPassword).await
    }

    /// Sets a new password with a reset link; every session of the account ends.
    pub async fn reset_password(
        &self,
        token: &str,
        password: Secret<String>,
        confirm: Secret<String>,
    ) -> Result<(), ServiceError> {
        if let Err(e) = account::check_new_password(password.expose(), confirm.expose()) {
            return Err(ServiceError::Invalid(vec![e]));
        }
        if !self.reset_link_is_valid(token).await? {
            return Err(bad_link());
        }
        let password_hash = self.passwords.hash(password).await?;
        let hash = hash_token(token);
        let now = self.clock.now();
        let user = self
            .store
            .write(move |tx| {
                let usable = tx
                    .one_time_tokens()
                    .get(&hash)?
                    .filter(|t| t.purpose == TokenPurpose::ResetPassword && now < t.expires_at);
                let Some(mut user) = usable
                    .map(|t| tx.users().get(t.user))
                    .transpose()?
                    .flatten()
                else {
                    return Ok(Err(bad_link()));
                };
                tx.one_time_tokens().take(&hash)?;
                user.password_hash = password_hash.clone();
                // Whoever reads the mail controls the address.
                user.email_verified = true;
                tx.users().put(&user)?;
                tx.sessions().delete_of_user(user.id, None)?;
                tx.emit(Event::PasswordChanged { user: user.id });
                Ok(Ok(user.id))
            })
            .await??;
        tracing::info!(user = %user, "password reset; all sessions ended");
        Ok(())
    }

    /// Creates an invitation; returns it with the link to hand out (shown once).
    pub async fn create_invite(
        &self,
        actor: &Actor,
        valid_for_days: u32,
        max_uses: u32,
        note: &str,
    ) -> Result<(Invite, String), ServiceError> {
        self.access.require(actor, Permission::ManageUsers)?;
        let mut problems = Vec::new();
        if !(1..=365).contains(&valid_for_days) {
            problems.push(FieldError::new("valid_for_days", "Use 1 to 365 days."));
        }
        if !(1..=10_000).contains(&max_uses) {
            problems.push(FieldError::new("max_uses", "Use 1 to 10000."));
        }
        if note.chars().count() > 200 {
            problems.push(FieldError::new("note", "Use at most 200 characters."));
        }
        ServiceError::check(problems)?;
        let now = self.clock.now();
        let code = new_token();
        let invite = Invite {
            id: InviteId(uuid_v7(now.as_millisecond(), rand::random())),
            created_by: actor.id,
            created_at: now,
            expires_at: now + SignedDuration::from_hours(24 * i64::from(valid_for_days)),
            max_uses,
            note: note.trim().to_string(),
            revoked: false,
            joined: Vec::new(),
        };
        let details = format!("{max_uses} use(s), {valid_for_days} day(s)");
        let entry = audit::entry(actor, now, "invite.create", &invite.note, "", &details);
        let hash = hash_token(code.expose());
        let stored = invite.clone();
        self.store
            .write(move |tx| {
                tx.invites().insert(&stored, &hash)?;
                audit::record(tx, &entry)
            })
            .await?;
        Ok((invite, self.link("join", code.expose())))
    }

    pub async fn revoke_invite(&self, actor: &Actor, id: InviteId) -> Result<(), ServiceError> {
        self.access.require(actor, Permission::ManageUsers)?;
        let entry = audit::entry(
            actor,
            self.clock.now(),
            "invite.revoke",
            &id.to_string(),
            "",
            "",
        );
        self.store
            .write(move |tx| {
                let Some(mut invite) = tx.invites().get(id)? else {
                    return Ok(Err(ServiceError::not_found()));
                };
                invite.revoked = true;
                tx.invites().put(&invite)?;
                audit::record(tx, &entry)?;
                Ok(Ok(()))
            })
            .await?
    }

    /// A page of invitations, newest first, with the usernames of those who joined (staff).
    pub async fn invites(
        &self,
        actor: &Actor,
        offset: usize,
        limit: usize,
    ) -> Result<InvitePage, ServiceError> {
        self.access.require(actor, Permission::ManageUsers)?;
        Ok(self
            .store
            .read(move |rx| {
                let (invites, total) = rx.invites().page(offset, limit)?;
                let mut out = Vec::new();
                for invite in invites {
                    let mut names = Vec::new();
                    for id in &invite.joined {
                        match rx.users().get(*id)? {
                            Some(u) => names.push(u.username),
                            None => names.push("(deleted)".into()),
                        }
                    }
                    out.push((invite, names));
                }
                Ok::<_, StoreError>(InvitePage {
                    invites: out,
                    total,
                })
            })
            .await?)
    }

    /// Accounts waiting for approval, oldest first (staff).
    pub async fn approval_queue(
        &self,
        actor: &Actor,
        offset: usize,
        limit: usize,
    ) -> Result<ApprovalPage, ServiceError> {
        self.access.require(actor, Permission::ManageUsers)?;
        Ok(self
            .store
            .read(move |rx| {
                let mut users = Vec::new();
                for id in rx.approvals().page(offset, limit)? {
                    users.extend(rx.users().get(id)?);
                }
                Ok::<_, StoreError>(ApprovalPage {
                    users,
                    total: rx.approvals().count()?,
                })
            })
            .await?)
    }

    /// Approves or rejects a waiting account, tells the member by mail, and records it.
    pub async fn decide(
        &self,
        actor: &Actor,
        user: UserId,
        approve: bool,
        reason: &str,
    ) -> Result<(), ServiceError> {
        self.access.require(actor, Permission::ManageUsers)?;
        let reason = reason.trim().to_string();
        if !approve && reason.is_empty() {
            return Err(ServiceError::invalid("reason", "Give the member a reason."));
        }
        let target = self
            .store
            .read(move |rx| rx.users().get(user))
            .await?
            .ok_or_else(ServiceError::not_found)?;
        let notice = Notice {
            to: target.email.clone(),
            name: target.username.clone(),
            subject: if approve {
                "your account is approved".into()
            } else {
                "about your sign-up".into()
            },
            paragraphs: if approve {
                vec!["Welcome! A staff member approved your account; you can sign in now.".into()]
            } else {
                vec![format!(
                    "A staff member did not approve your sign-up. The reason given: {reason}"
                )]
            },
            action: approve.then(|| ("Sign in".to_string(), format!("{}/login", self.public_base))),
            unsubscribe: None,
        };
        let job = if self.outbox.is_configured() {
            Some(self.mail_job(&notice)?)
        } else {
            None
        };
        let action = if approve {
            "user.approve"
        } else {
            "user.reject"
        };
        let entry = audit::entry(
            actor,
            self.clock.now(),
            action,
            &target.username,
            &reason,
            "",
        );
        self.store
            .write(move |tx| {
                let Some(mut stored) = tx.users().get(user)? else {
                    return Ok(Err(ServiceError::not_found()));
                };
                if !tx.approvals().remove(user)? {
                    return Ok(Err(ServiceError::not_found()));
                }
                stored.status = if approve {
                    AccountStatus::Active
                } else {
                    AccountStatus::Rejected {
                        reason: reason.clone(),
                    }
                };
                tx.users().put(&stored)?;
                if approve {
                    tx.emit(Event::SignUpApproved { user });
                }
                if let Some(job) = &job {
                    tx.jobs().enqueue(job)?;
                }
                audit::record(tx, &entry)?;
                Ok(Ok(()))
            })
            .await??;
        self.outbox.notify();
        Ok(())
    }
}

/// Sign-up records in the export (invitations the member made) and in account deletion: the
/// approval queue entry goes, and invitations forget the member (the uses still count).
pub fn member_data() -> Vec<Box<dyn MemberData>> {
    vec![Box::new(InvitationsPart)]
}

struct InvitationsPart;

impl MemberData for InvitationsPart {
    fn name(&self) -> &'static str {
        "invitations_created"
    }

    fn export(&self, rx: &Rx, u: &User) -> Result<serde_json::Value, StoreError> {
        Ok(rx
            .invites()
            .by_creator(u.id)?
            .into_iter()
            .map(|i| serde_json::json!({"note": i.note, "created_at": i.created_at.to_string(), "expires_at": i.expires_at.to_string(), "used": i.joined.len(), "max_uses": i.max_uses}))
            .collect())
    }

    fn erase(&self, tx: &Tx<'_>, user: &User) -> Result<(), StoreError> {
        tx.approvals().remove(user.id)?;
        tx.invites().forget_member(user.id)
    }
}
