//! Getting in: sign-up under the registration mode in force, email verification, the approval
//! queue, invitations and password reset by mail.
//!
//! Every change and the mail it causes are written in one transaction (the mail as a
//! `mail.send` job), so a member never gets a link to something that was not saved.

use std::sync::Arc;

use jiff::SignedDuration;

use super::StoreError;
use super::accounts::{AccountError, ClientInfo};
use super::audit::{self, Actor};
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
use crate::mail::templates::Notice;
use crate::store::Store;
use crate::store::accounts::InsertUser;

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

#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("{0}")]
    Closed(&'static str),
    #[error("{0}")]
    BadInvite(&'static str),
    #[error("this link is invalid, expired or already used")]
    BadLink,
    #[error("your role may not do this")]
    Forbidden,
    #[error("no such account")]
    NoSuchUser,
    #[error(transparent)]
    Account(#[from] AccountError),
}

impl From<StoreError> for RegistrationError {
    fn from(e: StoreError) -> Self {
        RegistrationError::Account(AccountError::Store(e))
    }
}

#[derive(Clone)]
pub struct Registration {
    store: Store,
    clock: SharedClock,
    passwords: Passwords,
    settings: Settings,
    limiter: Arc<RateLimiter>,
    outbox: Outbox,
    public_base: Arc<str>,
}

impl Registration {
    pub fn new(
        store: Store,
        clock: SharedClock,
        passwords: Passwords,
        settings: Settings,
        limiter: Arc<RateLimiter>,
        outbox: Outbox,
        public_base: Arc<str>,
    ) -> Self {
        Self {
            store,
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
    fn verification(
        &self,
        user: &User,
    ) -> Result<(OneTimeToken, [u8; 32], Notice), RegistrationError> {
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
        };
        Ok((stored, hash_token(token.expose()), notice))
    }

    fn mail_job(&self, notice: &Notice) -> Result<crate::domain::job::Job, RegistrationError> {
        let site = self.settings.current().site_name.clone();
        let mail = notice.render(&site).map_err(|e| {
            AccountError::Store(StoreError::Database(format!("mail template: {e}")))
        })?;
        self.outbox
            .job_for(&mail)
            .map_err(|e| AccountError::Store(StoreError::Database(e.to_string())).into())
    }

    /// Whether an invitation code is usable now (for showing the sign-up form).
    pub async fn check_invite(&self, code: &str) -> Result<(), RegistrationError> {
        let hash = hash_token(code);
        let invite = self.store.read(move |rx| rx.invite_by_code(&hash)).await?;
        match invite {
            None => Err(RegistrationError::BadInvite(
                "This invitation link is not valid.",
            )),
            Some(invite) => invite
                .unusable_at(self.clock.now())
                .map_or(Ok(()), |why| Err(RegistrationError::BadInvite(why))),
        }
    }

    pub async fn sign_up(
        &self,
        input: SignUp,
        client: &ClientInfo,
    ) -> Result<SignedUp, RegistrationError> {
        let settings = self.settings.current();
        let mode = settings.registration;
        if mode == RegistrationMode::Closed {
            return Err(RegistrationError::Closed(
                "Sign-ups are closed on this site.",
            ));
        }
        if mode == RegistrationMode::InviteOnly && input.invite_code.is_none() {
            return Err(RegistrationError::Closed(
                "This site is invite-only: you need an invitation link to join.",
            ));
        }
        if let Some(code) = &input.invite_code {
            self.check_invite(code).await?;
        }
        let limit = Limit::per_window(settings.sign_ups_per_hour, 3600);
        self.limiter
            .take(LimitKind::SignUpAddress, &client.ip, limit)
            .map_err(AccountError::RateLimited)?;

        let (username, email) = account::check_new_account(
            &input.username,
            &input.email,
            input.password.expose(),
            input.password_confirm.expose(),
        )
        .map_err(AccountError::Invalid)?;

        let invited = input.invite_code.is_some();
        let needs_approval = mode == RegistrationMode::Approval && !invited;
        let password_hash = self
            .passwords
            .hash(input.password)
            .await
            .map_err(AccountError::from)?;
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
            let (token, hash, notice) = self.verification(&user)?;
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
                if needs_approval && tx.pending_approval_count()? >= approval_limit {
                    return Err(RegistrationError::Closed("Sign-ups are paused while staff catch up with the approval queue. Please try again later."));
                }
                if let Some(hash) = &invite_hash {
                    let mut invite = tx.invite_by_code(hash)?.ok_or(RegistrationError::BadInvite("This invitation link is not valid."))?;
                    if let Some(why) = invite.unusable_at(now) {
                        return Err(RegistrationError::BadInvite(why));
                    }
                    invite.joined.push(stored.id);
                    tx.put_invite(&invite, None)?;
                }
                match tx.insert_user(&stored)? {
                    InsertUser::Inserted => {}
                    InsertUser::UsernameTaken => return Err(AccountError::Invalid(vec![FieldError::new("username", "This username is taken.")]).into()),
                    InsertUser::EmailTaken => return Err(AccountError::Invalid(vec![FieldError::new("email", "This email is already in use.")]).into()),
                }
                if needs_approval {
                    tx.set_pending_approval(stored.id, now.as_millisecond())?;
                }
                if let Some((token, hash, job)) = &verification {
                    tx.put_token(hash, token)?;
                    tx.enqueue_job(job)?;
                }
                Ok(())
            })
            .await?;
        self.outbox.notify();
        tracing::info!(user = %user.id, needs_approval, invited, "new member signed up");
        Ok(SignedUp {
            user: user.id,
            needs_approval,
            verification_sent,
        })
    }

    /// Spends a verification token and marks the address verified.
    pub async fn verify_email(&self, token: &str) -> Result<User, RegistrationError> {
        let hash = hash_token(token);
        let now = self.clock.now();
        self.store
            .write(move |tx| {
                let Some(t) = tx.take_token(&hash)? else {
                    return Err(RegistrationError::BadLink);
                };
                if t.purpose != TokenPurpose::VerifyEmail || now >= t.expires_at {
                    return Err(RegistrationError::BadLink);
                }
                let mut user = tx.read_user(t.user)?.ok_or(RegistrationError::BadLink)?;
                user.email_verified = true;
                tx.put_user(&user)?;
                Ok(user)
            })
            .await
    }

    /// Mails a password-reset link if `email` belongs to an account. The answer is the same
    /// either way, so the form does not reveal who has an account.
    pub async fn request_password_reset(
        &self,
        email: &str,
        client: &ClientInfo,
    ) -> Result<(), RegistrationError> {
        let per_hour = self.settings.current().password_resets_per_hour;
        let limit = Limit::per_window(per_hour, 3600);
        let email = email.trim().to_lowercase();
        for (kind, key) in [
            (LimitKind::PasswordReset, client.ip.clone()),
            (LimitKind::PasswordReset, email.clone()),
        ] {
            self.limiter
                .take(kind, &key, limit)
                .map_err(AccountError::RateLimited)?;
        }
        if !self.outbox.is_configured() || account::normalize_email(&email).is_err() {
            return Ok(());
        }
        let lookup = email.clone();
        let Some(user) = self.store.read(move |rx| rx.user_by_login(&lookup)).await? else {
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
        };
        let job = self.mail_job(&notice)?;
        let hash = hash_token(token.expose());
        self.store
            .write(move |tx| {
                tx.put_token(&hash, &stored)?;
                tx.enqueue_job(&job)
            })
            .await?;
        self.outbox.notify();
        Ok(())
    }

    /// Whether a reset link is still good (for showing the form).
    pub async fn reset_link_is_valid(&self, token: &str) -> Result<bool, RegistrationError> {
        let hash = hash_token(token);
        let now = self.clock.now();
        let t = self.store.read(move |rx| rx.one_time_token(&hash)).await?;
        Ok(t.is_some_and(|t| t.purpose == TokenPurpose::ResetPassword && now < t.expires_at))
    }

    /// Sets a new password with a reset link; every session of the account ends.
    pub async fn reset_password(
        &self,
        token: &str,
        password: Secret<String>,
        confirm: Secret<String>,
    ) -> Result<(), RegistrationError> {
        if let Err(e) = account::check_new_password(password.expose(), confirm.expose()) {
            return Err(AccountError::Invalid(vec![e]).into());
        }
        if !self.reset_link_is_valid(token).await? {
            return Err(RegistrationError::BadLink);
        }
        let password_hash = self
            .passwords
            .hash(password)
            .await
            .map_err(AccountError::from)?;
        let hash = hash_token(token);
        let now = self.clock.now();
        let user = self
            .store
            .write(move |tx| {
                let Some(t) = tx.take_token(&hash)? else {
                    return Err(RegistrationError::BadLink);
                };
                if t.purpose != TokenPurpose::ResetPassword || now >= t.expires_at {
                    return Err(RegistrationError::BadLink);
                }
                let mut user = tx.read_user(t.user)?.ok_or(RegistrationError::BadLink)?;
                user.password_hash = password_hash.clone();
                // Whoever reads the mail controls the address.
                user.email_verified = true;
                tx.put_user(&user)?;
                tx.delete_sessions_of(user.id, None)?;
                Ok(user.id)
            })
            .await?;
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
    ) -> Result<(Invite, String), RegistrationError> {
        if !actor.role.may(Permission::ManageUsers) {
            return Err(RegistrationError::Forbidden);
        }
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
        if !problems.is_empty() {
            return Err(AccountError::Invalid(problems).into());
        }
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
                tx.put_invite(&stored, Some(&hash))?;
                tx.append_audit(audit::new_id(&entry), &entry)
            })
            .await?;
        Ok((invite, self.link("join", code.expose())))
    }

    pub async fn revoke_invite(
        &self,
        actor: &Actor,
        id: InviteId,
    ) -> Result<(), RegistrationError> {
        if !actor.role.may(Permission::ManageUsers) {
            return Err(RegistrationError::Forbidden);
        }
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
                let mut invite = tx.read_invite(id)?.ok_or(RegistrationError::NoSuchUser)?;
                invite.revoked = true;
                tx.put_invite(&invite, None)?;
                tx.append_audit(audit::new_id(&entry), &entry)?;
                Ok(())
            })
            .await
    }

    /// Every invitation with the usernames of those who joined with it (staff).
    pub async fn invites(
        &self,
        actor: &Actor,
    ) -> Result<Vec<(Invite, Vec<String>)>, RegistrationError> {
        if !actor.role.may(Permission::ManageUsers) {
            return Err(RegistrationError::Forbidden);
        }
        Ok(self
            .store
            .read(|rx| {
                let mut out = Vec::new();
                for invite in rx.invites()? {
                    let mut names = Vec::new();
                    for id in &invite.joined {
                        if let Some(u) = rx.user(*id)? {
                            names.push(u.username);
                        }
                    }
                    out.push((invite, names));
                }
                Ok::<_, StoreError>(out)
            })
            .await?)
    }

    /// Accounts waiting for approval, oldest first (staff).
    pub async fn approval_queue(&self, actor: &Actor) -> Result<Vec<User>, RegistrationError> {
        if !actor.role.may(Permission::ManageUsers) {
            return Err(RegistrationError::Forbidden);
        }
        Ok(self.store.read(|rx| rx.pending_approval()).await?)
    }

    /// Approves or rejects a waiting account, tells the member by mail, and records it.
    pub async fn decide(
        &self,
        actor: &Actor,
        user: UserId,
        approve: bool,
        reason: &str,
    ) -> Result<(), RegistrationError> {
        if !actor.role.may(Permission::ManageUsers) {
            return Err(RegistrationError::Forbidden);
        }
        let reason = reason.trim().to_string();
        if !approve && reason.is_empty() {
            return Err(AccountError::Invalid(vec![FieldError::new(
                "reason",
                "Give the member a reason.",
            )])
            .into());
        }
        let target = self
            .store
            .read(move |rx| rx.user(user))
            .await?
            .ok_or(RegistrationError::NoSuchUser)?;
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
                if !tx.clear_pending_approval(user)? {
                    return Err(RegistrationError::NoSuchUser);
                }
                let mut stored = tx.read_user(user)?.ok_or(RegistrationError::NoSuchUser)?;
                stored.status = if approve {
                    AccountStatus::Active
                } else {
                    AccountStatus::Rejected {
                        reason: reason.clone(),
                    }
                };
                tx.put_user(&stored)?;
                if let Some(job) = &job {
                    tx.enqueue_job(job)?;
                }
                tx.append_audit(audit::new_id(&entry), &entry)?;
                Ok(())
            })
            .await?;
        self.outbox.notify();
        Ok(())
    }
}
