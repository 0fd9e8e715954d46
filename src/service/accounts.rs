//! Accounts: first-run owner setup, sign-in and sign-out with server-side sessions, personal
//! API tokens.

use std::sync::Arc;

use crate::clock::SharedClock;
use crate::domain::account::{self, AccountStatus, FieldError, User};
use crate::domain::api_token::{ApiToken, TokenScope};
use crate::domain::ids::{UserId, uuid_v7};
use crate::domain::role::Role;
use crate::domain::secret::Secret;
use crate::domain::session::Session;
use crate::events::Event;
use crate::store::instance::TokenHash;
use crate::store::users::InsertUser;
use crate::store::{Rx, Store, StoreError, Tx};
use serde_json::{Value, json};

use super::access::Actor;
use super::error::{ErrorCode, Refusal, ServiceError};
use super::limits::{Limit, LimitKind, RateLimiter};
use super::member_data::MemberData;
use super::passwords::Passwords;
use super::second_factor::check_code;
use super::settings::Settings;
use super::sign_in_cache::{Credential, SignInCache};
use super::tokens::{self, hash_token, new_token};
use crate::domain::invite::{OneTimeToken, TokenPurpose};
use crate::jobs::{JobError, JobPlan};

fn wrong_credentials() -> ServiceError {
    ServiceError::Unauthenticated(Refusal::new(
        ErrorCode::WrongCredentials,
        "Wrong username, email or password.",
    ))
}

pub fn setup_link_invalid() -> ServiceError {
    ServiceError::NotFound(Refusal::new(
        ErrorCode::SetupLinkInvalid,
        "This setup link is invalid or was already used. Restart Hearth to print a new one if no owner exists yet.",
    ))
}

fn account_unavailable(why: String) -> ServiceError {
    ServiceError::Forbidden(Refusal::new(ErrorCode::AccountUnavailable, why))
}

pub fn sign_in_expired() -> ServiceError {
    ServiceError::Unauthenticated(Refusal::new(
        ErrorCode::SignInExpired,
        "The sign-in took too long. Start again with your password.",
    ))
}

/// The refusal for a username or email that is taken.
pub(crate) fn taken(which: InsertUser) -> ServiceError {
    match which {
        InsertUser::EmailTaken => ServiceError::invalid("email", "This email is already in use."),
        _ => ServiceError::invalid("username", "This username is taken."),
    }
}

/// Form input for creating the owner.
#[derive(Debug, Clone)]
pub struct NewOwner {
    pub username: String,
    pub email: String,
    pub password: Secret<String>,
    pub password_confirm: Secret<String>,
}

/// Facts about the client recorded with a session, shown in the session list.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub user_agent: String,
    pub ip: String,
}

impl ClientInfo {
    /// The key per-address limits use: the address, or its /64 for IPv6.
    pub fn address_key(&self) -> String {
        super::limits::address_key(&self.ip)
    }
}

/// Checks a signed-in member's password before a sensitive change (new password, turning
/// two-factor off, deleting the account).
pub async fn confirm_current_password(
    passwords: &Passwords,
    user: &User,
    password: Secret<String>,
) -> Result<(), ServiceError> {
    if passwords
        .verify(password, Some(user.password_hash.clone()))
        .await?
    {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "current_password",
            "The current password is wrong.",
        ))
    }
}

/// How long the second step of a sign-in may take.
pub const SECOND_FACTOR_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);

/// What the second step of a sign-in offers.
pub enum SecondFactorProof {
    /// A TOTP code or a recovery code, checked here.
    Code(String),
    /// A passkey of this member that the passkey service has verified.
    Passkey(UserId),
}

/// The result of checking a password.
pub enum SignInOutcome {
    /// Signed in: the session token for the cookie.
    SignedIn(Secret<String>, Box<SignedIn>),
    /// The password was right; a second factor is needed. The challenge goes in a cookie (or
    /// back to an API client) and is redeemed with the code.
    SecondFactorNeeded(Secret<String>),
}

/// A new session for `user`, with the token for the cookie and the hash it is stored under.
fn new_session(
    user: UserId,
    client: ClientInfo,
    now: jiff::Timestamp,
) -> (Secret<String>, TokenHash, Session) {
    let token = new_token();
    let session = Session {
        user_id: user,
        created_at: now,
        last_seen_at: now,
        csrf_token: new_token().expose().clone(),
        user_agent: client.user_agent.chars().take(256).collect(),
        ip: client.ip,
        second_factor: false,
    };
    let hash = hash_token(token.expose());
    (token, hash, session)
}

/// A session as its owner sees it in the session list. `id` is a public handle derived from
/// the stored hash; it cannot be turned back into the cookie token.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub id: String,
    pub current: bool,
    pub created_at: jiff::Timestamp,
    pub last_seen_at: jiff::Timestamp,
    pub user_agent: String,
    pub ip: String,
}

/// A signed-in session as the web layer needs it.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The account; under a token without staff powers its role is capped at member.
    pub user: User,
    pub csrf_token: String,
    /// Set when the request carries a personal API token instead of the session cookie.
    pub token_scope: Option<TokenScope>,
    /// This session proved a second factor (for an API token: the account has one on).
    pub second_factor: bool,
}

impl SignedIn {
    /// The member as services see someone acting.
    pub fn actor(&self) -> Actor {
        Actor::new(&self.user, self.second_factor)
    }
}

#[derive(Clone)]
pub struct Accounts {
    store: Store,
    clock: SharedClock,
    passwords: Passwords,
    settings: Settings,
    limiter: Arc<RateLimiter>,
    /// Sessions and tokens in use, so signed-in requests need no database read.
    cache: SignInCache,
}

impl Accounts {
    pub fn new(
        store: Store,
        clock: SharedClock,
        passwords: Passwords,
        settings: Settings,
        limiter: Arc<RateLimiter>,
    ) -> Self {
        let cache = SignInCache::following(store.events());
        Self {
            store,
            clock,
            passwords,
            settings,
            limiter,
            cache,
        }
    }

    fn sign_in_limit(&self) -> Limit {
        Limit::per_window(
            self.settings.current().sign_in_attempts_per_15_minutes,
            15 * 60,
        )
    }

    /// A sign-in that succeeded gives its attempts back: the limits count failures.
    fn refund_sign_in(&self, login: Option<&str>, client: &ClientInfo) {
        let limit = self.sign_in_limit();
        self.limiter
            .refund(LimitKind::SignInAddress, &client.address_key(), limit);
        if let Some(login) = login {
            self.limiter
                .refund(LimitKind::SignInAccount, &login.to_lowercase(), limit);
        }
    }

    /// Sign-in attempts are limited per client address and per account name (known or not,
    /// so the limit does not reveal which accounts exist). Each attempt takes a token before
    /// any work is done; a successful one gives it back.
    fn check_sign_in_limits(&self, login: &str, client: &ClientInfo) -> Result<(), ServiceError> {
        let limit = self.sign_in_limit();
        // Both buckets are charged, even when the first refuses.
        let by_address = self
            .limiter
            .take(LimitKind::SignInAddress, &client.address_key(), limit);
        let by_account = self
            .limiter
            .take(LimitKind::SignInAccount, &login.to_lowercase(), limit);
        by_address.and(by_account).map_err(|decision| {
            tracing::warn!(login, ip = %client.ip, "sign-in rate limit reached");
            ServiceError::RateLimited(decision)
        })
    }

    /// When no owner exists yet, makes a new one-time setup token (replacing any earlier one)
    /// and returns it; `None` once setup is done.
    pub async fn begin_setup(&self) -> Result<Option<Secret<String>>, StoreError> {
        if self
            .store
            .read(|rx| rx.instance().setup_completed())
            .await?
        {
            return Ok(None);
        }
        let token = new_token();
        let hash = hash_token(token.expose());
        self.store
            .write(move |tx| tx.instance().set_setup_token(&hash))
            .await?;
        Ok(Some(token))
    }

    /// Whether `token` is the current setup token (for showing the form).
    pub async fn setup_token_is_valid(&self, token: &str) -> Result<bool, StoreError> {
        let hash = hash_token(token);
        self.store
            .read(move |rx| {
                use subtle::ConstantTimeEq;
                let done = rx.instance().setup_completed()?;
                let stored = rx.instance().setup_token_hash()?;
                Ok::<_, StoreError>(!done && stored.is_some_and(|s| bool::from(s.ct_eq(&hash))))
            })
            .await
    }

    /// Creates the owner account and spends the setup token, in one transaction.
    pub async fn complete_setup(&self, token: &str, input: NewOwner) -> Result<User, ServiceError> {
        let checked = account::check_new_account(
            &input.username,
            &input.email,
            input.password.expose(),
            input.password_confirm.expose(),
        );
        if !self.setup_token_is_valid(token).await? {
            return Err(setup_link_invalid());
        }
        let (username, email) = checked.map_err(ServiceError::Invalid)?;
        let password_hash = self.passwords.hash(input.password).await?;
        let now = self.clock.now();
        let user = User {
            id: UserId(uuid_v7(now.as_millisecond(), rand::random())),
            username,
            email,
            password_hash,
            role: Role::Owner,
            created_at: now,
            status: AccountStatus::Active,
            // The setup link proves control of the server; the owner's address is taken on trust.
            email_verified: true,
            supporter: false,
            deletion_due: None,
        };
        let token_hash = hash_token(token);
        let stored = user.clone();
        self.store
            .write(move |tx| {
                if let Some(which) = tx.users().taken(&stored.username, &stored.email)? {
                    return Ok(Err(taken(which)));
                }
                if !tx.instance().consume_setup_token(&token_hash, now)? {
                    return Ok(Err(setup_link_invalid()));
                }
                tx.users().insert(&stored)?;
                Ok(Ok(()))
            })
            .await??;
        tracing::info!(user = %user.id, "owner account created");
        Ok(user)
    }

    /// Checks the credentials. Without a second factor this opens a session; with one it
    /// returns a short-lived challenge that [`Accounts::complete_second_factor`] redeems.
    pub async fn sign_in(
        &self,
        login: &str,
        password: Secret<String>,
        client: ClientInfo,
    ) -> Result<SignInOutcome, ServiceError> {
        let login = login.trim().to_string();
        self.check_sign_in_limits(&login, &client)?;
        let user = if login.is_empty() || login.len() > account::EMAIL_MAX {
            None
        } else {
            let login = login.clone();
            self.store
                .read(move |rx| rx.users().by_login(&login))
                .await?
        };
        // Over-long passwords are refused after the same work, to keep timing uniform.
        let too_long = password.expose().chars().count() > account::PASSWORD_MAX;
        let password = if too_long {
            Secret::new(String::new())
        } else {
            password
        };
        let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
        if !self.passwords.verify(password, stored_hash).await? || too_long {
            return Err(wrong_credentials());
        }
        let Some(user) = user else {
            return Err(wrong_credentials());
        };
        self.refund_sign_in(Some(&login), &client);
        let now = self.clock.now();
        if let Some(why) = user.sign_in_refusal(now) {
            return Err(account_unavailable(why));
        }
        let id = user.id;
        if self
            .store
            .read(move |rx| rx.second_factors().get(id))
            .await?
            .is_some_and(|f| f.is_enabled())
        {
            let challenge = new_token();
            let stored = OneTimeToken {
                purpose: TokenPurpose::SecondFactor,
                user: user.id,
                expires_at: now + SECOND_FACTOR_WINDOW,
            };
            let hash = hash_token(challenge.expose());
            self.store
                .write(move |tx| tx.one_time_tokens().put(&hash, &stored))
                .await?;
            return Ok(SignInOutcome::SecondFactorNeeded(challenge));
        }
        let (token, hash, session) = new_session(user.id, client, now);
        let csrf_token = session.csrf_token.clone();
        self.store
            .write(move |tx| {
                tx.sessions().insert(&hash, &session)?;
                tx.profiles()
                    .record_active(session.user_id, session.last_seen_at.as_millisecond())?;
                cancel_deletion(tx, session.user_id)
            })
            .await?;
        tracing::info!(user = %user.id, "signed in");
        Ok(SignInOutcome::SignedIn(
            token,
            Box::new(SignedIn {
                user,
                csrf_token,
                token_scope: None,
                second_factor: false,
            }),
        ))
    }

    /// The second step of a sign-in (a code or a passkey) is limited per client address.
    pub fn check_second_step_limit(&self, client: &ClientInfo) -> Result<(), ServiceError> {
        self.limiter
            .take(
                LimitKind::SignInAddress,
                &client.address_key(),
                self.sign_in_limit(),
            )
            .map_err(ServiceError::RateLimited)
    }

    /// Passwordless sign-ins ask for options without an account: their starts are limited
    /// per address, so nobody can fill the waiting ceremonies.
    pub fn check_passkey_start_limit(&self, client: &ClientInfo) -> Result<(), ServiceError> {
        self.limiter
            .take(
                LimitKind::PasskeyStart,
                &client.address_key(),
                Limit::per_window(30, 60),
            )
            .map_err(ServiceError::RateLimited)
    }

    /// The member a pending second-factor challenge belongs to (the challenge stays usable).
    pub async fn challenge_user(&self, challenge: &str) -> Result<User, ServiceError> {
        let hash = hash_token(challenge);
        let now = self.clock.now();
        self.store
            .read(move |rx| {
                let Some(t) = rx.one_time_tokens().get(&hash)? else {
                    return Ok(None);
                };
                if t.purpose != TokenPurpose::SecondFactor || now >= t.expires_at {
                    return Ok(None);
                }
                rx.users().get(t.user)
            })
            .await?
            .ok_or_else(sign_in_expired)
    }

    /// Redeems a second-factor challenge with a proof (a TOTP or recovery code, or a verified
    /// passkey) and opens the session. A wrong code leaves the challenge usable until it
    /// expires; attempts count against the sign-in limit.
    pub async fn complete_second_factor(
        &self,
        challenge: &str,
        proof: SecondFactorProof,
        client: ClientInfo,
    ) -> Result<(Secret<String>, SignedIn), ServiceError> {
        if let SecondFactorProof::Code(_) = proof {
            self.check_second_step_limit(&client)?;
            // Per account too: guesses from many addresses still count against the member.
            let user = self.challenge_user(challenge).await?;
            self.limiter
                .take(
                    LimitKind::SecondFactorAccount,
                    &user.id.to_string(),
                    self.sign_in_limit(),
                )
                .map_err(|decision| {
                    tracing::warn!(user = %user.id, "second-factor limit reached");
                    ServiceError::RateLimited(decision)
                })?;
        }
        let hash = hash_token(challenge);
        let now = self.clock.now();
        let now_secs = u64::try_from(now.as_second()).unwrap_or(0);
        let issuer = self.settings.current().site_name.clone();
        let (token, token_hash, template) = new_session(UserId::from_u128(0), client.clone(), now);
        let (user, session) = self
            .store
            .write(move |tx| {
                let usable = tx
                    .one_time_tokens()
                    .get(&hash)?
                    .filter(|t| t.purpose == TokenPurpose::SecondFactor && now < t.expires_at);
                let Some(t) = usable else {
                    return Ok(Err(sign_in_expired()));
                };
                let Some(user) = tx.users().get(t.user)? else {
                    return Ok(Err(sign_in_expired()));
                };
                let proven = match &proof {
                    // A wrong code changes nothing: the challenge stays for another try.
                    SecondFactorProof::Code(code) => {
                        check_code(tx, &user, code, now_secs, &issuer)?
                    }
                    SecondFactorProof::Passkey(owner) => *owner == user.id,
                };
                if !proven {
                    return Ok(Ok((user, None)));
                }
                tx.one_time_tokens().take(&hash)?;
                let session = Session {
                    user_id: user.id,
                    second_factor: true,
                    ..template.clone()
                };
                tx.sessions().insert(&token_hash, &session)?;
                tx.profiles()
                    .record_active(session.user_id, session.last_seen_at.as_millisecond())?;
                cancel_deletion(tx, user.id)?;
                Ok(Ok((user, Some(session))))
            })
            .await??;
        let Some(session) = session else {
            return Err(ServiceError::Unauthenticated(Refusal::new(
                ErrorCode::WrongCode,
                "That code is not right. Use the current code from your app, or a recovery code.",
            )));
        };
        self.refund_sign_in(None, &client);
        self.limiter.refund(
            LimitKind::SecondFactorAccount,
            &user.id.to_string(),
            self.sign_in_limit(),
        );
        tracing::info!(user = %user.id, "signed in with a second factor");
        Ok((
            token,
            SignedIn {
                user,
                csrf_token: session.csrf_token,
                token_scope: None,
                second_factor: true,
            },
        ))
    }

    /// Opens a session for a member whose passkey was just verified (passwordless sign-in).
    /// The account must still be allowed to sign in.
    pub async fn open_passkey_session(
        &self,
        user: UserId,
        client: ClientInfo,
    ) -> Result<(Secret<String>, SignedIn), ServiceError> {
        self.refund_sign_in(None, &client);
        let now = self.clock.now();
        let (token, token_hash, template) = new_session(user, client, now);
        let session = Session {
            second_factor: true,
            ..template
        };
        let stored = session.clone();
        let user = self
            .store
            .write(move |tx| {
                let Some(user) = tx.users().get(user)? else {
                    return Ok(Err(wrong_credentials()));
                };
                if let Some(why) = user.sign_in_refusal(now) {
                    return Ok(Err(account_unavailable(why)));
                }
                tx.sessions().insert(&token_hash, &stored)?;
                tx.profiles()
                    .record_active(stored.user_id, stored.last_seen_at.as_millisecond())?;
                cancel_deletion(tx, user.id)?;
                Ok(Ok(user))
            })
            .await??;
        tracing::info!(user = %user.id, "signed in with a passkey");
        Ok((
            token,
            SignedIn {
                user,
                csrf_token: session.csrf_token,
                token_scope: None,
                second_factor: true,
            },
        ))
    }

    /// The user behind a session token, if the session is valid; refreshes its last-seen time
    /// now and then.
    pub async fn session_user(&self, token: &str) -> Result<Option<SignedIn>, StoreError> {
        let hash = hash_token(token);
        let now = self.clock.now();
        let found = match self.cache.get(&hash) {
            Some(Credential::Session(session, user)) => Some((session, user)),
            Some(Credential::Token(..)) => None,
            None => {
                let epoch = self.cache.epoch();
                let found = self.store.lookup(|rx| {
                    let Some(session) = rx.sessions().get(&hash)? else {
                        return Ok::<_, StoreError>(None);
                    };
                    let user = rx.users().get(session.user_id)?;
                    Ok(user.map(|u| (session, u)))
                })?;
                if let Some((session, user)) = &found {
                    let copy = Credential::Session(session.clone(), user.clone());
                    self.cache.keep(hash, copy, epoch);
                }
                found
            }
        };
        let Some((session, user)) = found else {
            return Ok(None);
        };
        if !session.is_valid_at(now) || user.sign_in_refusal(now).is_some() {
            self.store
                .write(move |tx| tx.sessions().delete(&hash))
                .await?;
            return Ok(None);
        }
        if session.needs_touch_at(now) {
            self.store
                .write(move |tx| {
                    tx.sessions().touch(&hash, now)?;
                    tx.profiles()
                        .record_active(session.user_id, now.as_millisecond())
                })
                .await?;
            self.cache.touched(&hash, now);
        }
        Ok(Some(SignedIn {
            user,
            second_factor: session.second_factor,
            csrf_token: session.csrf_token,
            token_scope: None,
        }))
    }

    /// The member behind a personal API token, if it is valid and the account may be used.
    pub async fn token_user(&self, bearer: &str) -> Result<Option<SignedIn>, StoreError> {
        let hash = hash_token(bearer);
        let now = self.clock.now();
        let found = match self.cache.get(&hash) {
            Some(Credential::Token(token, user, factor)) => Some((token, user, factor)),
            Some(Credential::Session(..)) => None,
            None => {
                let epoch = self.cache.epoch();
                let found = self.store.lookup(|rx| {
                    let Some(token) = rx.api_tokens().get(&hash)? else {
                        return Ok::<_, StoreError>(None);
                    };
                    let factor = rx
                        .second_factors()
                        .get(token.user)?
                        .is_some_and(|f| f.is_enabled());
                    Ok(rx.users().get(token.user)?.map(|u| (token, u, factor)))
                })?;
                if let Some((token, user, factor)) = &found {
                    let copy = Credential::Token(token.clone(), user.clone(), *factor);
                    self.cache.keep(hash, copy, epoch);
                }
                found
            }
        };
        let Some((token, mut user, second_factor)) = found else {
            return Ok(None);
        };
        if !token.is_valid_at(now) || user.sign_in_refusal(now).is_some() {
            return Ok(None);
        }
        user.role = token.effective_role(user.role);
        Ok(Some(SignedIn {
            user,
            csrf_token: String::new(),
            token_scope: Some(token.scope),
            second_factor,
        }))
    }

    /// Creates a personal API token; the secret is returned once and stored only hashed.
    /// Staff powers can be kept only on tokens the owner makes.
    pub async fn create_api_token(
        &self,
        user: &User,
        name: &str,
        scope: TokenScope,
        valid_for_days: Option<u32>,
        staff_powers: bool,
    ) -> Result<(ApiToken, Secret<String>), ServiceError> {
        let name = name.trim();
        let mut problems = Vec::new();
        if name.is_empty() || name.chars().count() > 80 {
            problems.push(FieldError::new(
                "name",
                "Name the token (up to 80 characters), e.g. backup script.",
            ));
        }
        if valid_for_days.is_some_and(|d| !(1..=3650).contains(&d)) {
            problems.push(FieldError::new(
                "valid_for_days",
                "Use 1 to 3650 days, or leave empty for no expiry.",
            ));
        }
        if staff_powers && user.role != Role::Owner {
            problems.push(FieldError::new(
                "staff_powers",
                "Only the owner may give a token staff powers.",
            ));
        }
        ServiceError::check(problems)?;
        let now = self.clock.now();
        let expires_at =
            valid_for_days.map(|d| now + jiff::SignedDuration::from_hours(24 * i64::from(d)));
        let (secret, hash, token) =
            tokens::new_api_token(user.id, name, scope, expires_at, staff_powers, now);
        let stored = token.clone();
        self.store
            .write(move |tx| tx.api_tokens().insert(&hash, &stored))
            .await?;
        Ok((token, secret))
    }

    pub async fn api_tokens(&self, user: UserId) -> Result<Vec<ApiToken>, StoreError> {
        let tokens = self
            .store
            .read(move |rx| rx.api_tokens().of_user(user))
            .await?;
        Ok(tokens.into_iter().map(|(_, t)| t).collect())
    }

    pub async fn revoke_api_token(&self, user: UserId, id: &str) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.store
            .write(move |tx| tx.api_tokens().delete(user, &id))
            .await
    }

    pub async fn sign_out(&self, token: &str) -> Result<(), StoreError> {
        let hash = hash_token(token);
        self.store
            .write(move |tx| tx.sessions().delete(&hash))
            .await?;
        Ok(())
    }

    /// The member's sessions, newest activity first, marking the one behind `current_token`.
    pub async fn sessions(
        &self,
        user: UserId,
        current_token: &str,
    ) -> Result<Vec<SessionView>, StoreError> {
        let current = hash_token(current_token);
        let now = self.clock.now();
        let mut sessions: Vec<SessionView> = self
            .store
            .read(move |rx| rx.sessions().of_user(user))
            .await?
            .into_iter()
            .filter(|(_, s)| s.is_valid_at(now))
            .map(|(hash, s)| SessionView {
                id: tokens::handle(&hash),
                current: hash == current,
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
                user_agent: s.user_agent,
                ip: s.ip,
            })
            .collect();
        sessions.sort_by(|a, b| {
            b.current
                .cmp(&a.current)
                .then(b.last_seen_at.cmp(&a.last_seen_at))
        });
        Ok(sessions)
    }

    /// Ends one of the member's own sessions by its public id; false if there is none.
    pub async fn revoke_session(&self, user: UserId, id: &str) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.store
            .write(move |tx| {
                let target = tx
                    .sessions()
                    .of_user(user)?
                    .into_iter()
                    .map(|(hash, _)| hash)
                    .find(|hash| tokens::handle(hash) == id);
                match target {
                    Some(hash) => tx.sessions().delete(&hash),
                    None => Ok(false),
                }
            })
            .await
    }

    /// Ends every session of the member except the one behind `keep_token` (if given).
    pub async fn sign_out_everywhere(
        &self,
        user: UserId,
        keep_token: Option<&str>,
    ) -> Result<u64, StoreError> {
        let keep = keep_token.map(hash_token);
        let n = self
            .store
            .write(move |tx| tx.sessions().delete_of_user(user, keep.as_ref()))
            .await?;
        tracing::info!(user = %user, sessions = n, "signed out other sessions");
        Ok(n)
    }

    /// Changes the password after checking the current one; every other session ends.
    pub async fn change_password(
        &self,
        user: &User,
        current: Secret<String>,
        new: Secret<String>,
        confirm: Secret<String>,
        keep_token: &str,
    ) -> Result<(), ServiceError> {
        if let Err(e) = account::check_new_password(new.expose(), confirm.expose()) {
            return Err(ServiceError::Invalid(vec![e]));
        }
        confirm_current_password(&self.passwords, user, current).await?;
        let password_hash = self.passwords.hash(new).await?;
        let id = user.id;
        let keep = hash_token(keep_token);
        self.store
            .write(move |tx| {
                let Some(mut stored) = tx.users().get(id)? else {
                    return Ok(Err(wrong_credentials()));
                };
                stored.password_hash = password_hash.clone();
                tx.users().put(&stored)?;
                tx.emit(Event::PasswordChanged { user: id });
                tx.sessions().delete_of_user(id, Some(&keep))?;
                Ok(Ok(()))
            })
            .await??;
        tracing::info!(user = %id, "password changed; other sessions ended");
        Ok(())
    }

    /// Job: removes sessions past their idle or absolute lifetime, a batch per transaction
    /// so the writer is never held long.
    pub async fn purge_expired_sessions(&self) -> Result<u64, StoreError> {
        let now = self.clock.now();
        let total = self
            .store
            .write_in_batches(PURGE_BATCH as u64, move |tx| {
                tx.sessions().delete_expired(now, PURGE_BATCH)
            })
            .await?;
        if total > 0 {
            tracing::info!(sessions = total, "purged expired sessions");
        }
        Ok(total)
    }
}

/// Rows a purge removes per transaction.
pub const PURGE_BATCH: usize = 1000;
/// The job that removes expired sessions.
pub const PURGE_SESSIONS: &str = "sessions.purge_expired";
/// The job that removes expired one-time tokens (unused verification and reset links,
/// abandoned second steps).
pub const PURGE_TOKENS: &str = "tokens.purge_expired";

impl Accounts {
    /// Hourly upkeep: expired sessions and one-time tokens go.
    pub fn register_jobs(&self, plan: &mut JobPlan) {
        let accounts = self.clone();
        plan.register(PURGE_SESSIONS, move |_job| {
            let accounts = accounts.clone();
            async move {
                accounts
                    .purge_expired_sessions()
                    .await
                    .map(drop)
                    .map_err(|e| JobError::retry(e.to_string()))
            }
        });
        plan.schedule("purge-expired-sessions", PURGE_SESSIONS, "every 1h");
        let accounts = self.clone();
        plan.register(PURGE_TOKENS, move |_job| {
            let accounts = accounts.clone();
            async move {
                accounts
                    .purge_expired_tokens()
                    .await
                    .map(drop)
                    .map_err(|e| JobError::retry(e.to_string()))
            }
        });
        plan.schedule("purge-expired-tokens", PURGE_TOKENS, "every 1h");
    }

    /// Job: removes one-time tokens past their expiry, a batch per transaction.
    pub async fn purge_expired_tokens(&self) -> Result<u64, StoreError> {
        let now = self.clock.now();
        let total = self
            .store
            .write_in_batches(PURGE_BATCH as u64, move |tx| {
                tx.one_time_tokens().purge_expired(now, PURGE_BATCH)
            })
            .await?;
        if total > 0 {
            tracing::info!(tokens = total, "purged expired one-time tokens");
        }
        Ok(total)
    }
}

/// Signing in cancels a pending account deletion.
fn cancel_deletion(tx: &Tx<'_>, user: UserId) -> Result<(), StoreError> {
    if let Some(mut stored) = tx.users().get(user)?
        && stored.deletion_due.take().is_some()
    {
        tx.users().put(&stored)?;
    }
    Ok(())
}

/// The account's own data for the export and account deletion: the account record (deleted
/// last by the registry itself), sessions with pending one-time tokens, and API tokens.
pub fn member_data() -> Vec<Box<dyn MemberData>> {
    vec![
        Box::new(AccountPart),
        Box::new(SessionsPart),
        Box::new(ApiTokensPart),
    ]
}

struct AccountPart;

impl MemberData for AccountPart {
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

    fn erase(&self, tx: &Tx<'_>, user: &User) -> Result<(), StoreError> {
        // Links mailed to the member (verification, reset) and a pending second step.
        tx.one_time_tokens().delete_of_user(user.id)
    }
}

struct SessionsPart;

impl MemberData for SessionsPart {
    fn name(&self) -> &'static str {
        "sessions"
    }

    fn export(&self, rx: &Rx, u: &User) -> Result<Value, StoreError> {
        Ok(rx
            .sessions()
            .of_user(u.id)?
            .into_iter()
            .map(|(_, s)| json!({"created_at": s.created_at.to_string(), "last_seen_at": s.last_seen_at.to_string(), "user_agent": s.user_agent, "ip": s.ip}))
            .collect())
    }

    fn erase(&self, tx: &Tx<'_>, user: &User) -> Result<(), StoreError> {
        tx.sessions().delete_of_user(user.id, None).map(drop)
    }
}

struct ApiTokensPart;

impl MemberData for ApiTokensPart {
    fn name(&self) -> &'static str {
        "api_tokens"
    }

    fn export(&self, rx: &Rx, u: &User) -> Result<Value, StoreError> {
        Ok(rx
            .api_tokens()
            .of_user(u.id)?
            .into_iter()
            .map(|(_, t)| json!({"name": t.name, "scope": t.scope.as_str(), "created_at": t.created_at.to_string(), "expires_at": t.expires_at.map(|e| e.to_string())}))
            .collect())
    }

    fn erase(&self, tx: &Tx<'_>, user: &User) -> Result<(), StoreError> {
        tx.api_tokens().delete_of_user(user.id)
    }
}
