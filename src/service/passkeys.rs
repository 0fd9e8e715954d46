//! Passkeys (WebAuthn, by webauthn-rs): registering them, passwordless sign-in with a
//! discoverable credential, and using one as the second step after a password.
//!
//! A ceremony is two requests: the server sends options with a fresh challenge, the browser
//! asks the authenticator and sends back what it signed. The challenge's state waits in
//! memory between the two ([`Ceremonies`]): it is single-use, expires after five minutes and
//! does not need to outlive a restart.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Url, WebauthnError,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

use super::StoreError;
use super::accounts::{
    Accounts, ClientInfo, SecondFactorProof, SignedIn, confirm_current_password,
};
use super::error::{ErrorCode, Refusal, ServiceError};
use super::passwords::Passwords;
use crate::clock::SharedClock;
use crate::domain::account::User;
use crate::domain::ids::{PasskeyId, UserId, uuid_v7};
use crate::domain::passkey::{MAX_PASSKEYS, PasskeyRecord, check_name};
use crate::domain::secret::Secret;
use crate::store::passkeys::InsertPasskey;
use crate::store::{Rx, Store, Tx};

use super::member_data::MemberData;

type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// How long the browser has to answer a ceremony's options.
const CEREMONY_WINDOW: SignedDuration = SignedDuration::from_mins(5);
/// Ceremonies waiting at once, across all clients; anonymous sign-in options cost memory, so
/// they are bounded.
const MAX_CEREMONIES: usize = 10_000;
/// Of those, at most this many passwordless sign-ins: past it the oldest gives way, so a
/// flood of anonymous starts cannot block registrations and second steps.
const MAX_ANONYMOUS: usize = MAX_CEREMONIES / 2;

fn unavailable(why: &str) -> ServiceError {
    ServiceError::conflict(ErrorCode::PasskeysUnavailable, why)
}

fn ceremony_expired() -> ServiceError {
    ServiceError::conflict(
        ErrorCode::PasskeyRequestExpired,
        "The passkey request expired or was already answered. Start again.",
    )
}

fn busy() -> ServiceError {
    ServiceError::Unavailable(
        Refusal::new(
            ErrorCode::Busy,
            "Too many passkey requests are waiting; try again in a minute.",
        ),
        60,
    )
}

fn too_many_passkeys() -> ServiceError {
    ServiceError::invalid(
        "name",
        format!("You have {MAX_PASSKEYS} passkeys already; remove one first."),
    )
}

/// A passkey as its owner sees it.
#[derive(Debug, Clone)]
pub struct PasskeyView {
    pub id: PasskeyId,
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

impl From<&PasskeyRecord> for PasskeyView {
    fn from(r: &PasskeyRecord) -> Self {
        Self {
            id: r.id,
            name: r.name.clone(),
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        }
    }
}

/// Options for `navigator.credentials.create()` or `.get()`, and the id that pairs the
/// browser's answer with them.
#[derive(Debug, Clone)]
pub struct CeremonyStart {
    pub ceremony: String,
    /// `{"publicKey": {...}}` with binary fields in base64url, as WebAuthn's JSON form has them.
    pub options: Value,
}

enum Ceremony {
    Registration {
        user: UserId,
        name: String,
        state: PasskeyRegistration,
    },
    SignIn(DiscoverableAuthentication),
    SecondFactor {
        user: UserId,
        state: PasskeyAuthentication,
    },
}

/// Ceremonies waiting for the browser's answer, by id.
#[derive(Default)]
struct Ceremonies {
    waiting: Mutex<HashMap<String, (Timestamp, Ceremony)>>,
}

impl Ceremonies {
    fn start(&self, ceremony: Ceremony, now: Timestamp) -> Result<String> {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        if waiting.len() >= MAX_CEREMONIES {
            waiting.retain(|_, (expires, _)| *expires > now);
        }
        let is_sign_in = |c: &Ceremony| matches!(c, Ceremony::SignIn(_));
        if is_sign_in(&ceremony)
            && waiting.values().filter(|(_, c)| is_sign_in(c)).count() >= MAX_ANONYMOUS
        {
            let oldest = waiting
                .iter()
                .filter(|(_, (_, c))| is_sign_in(c))
                .min_by_key(|(_, (expires, _))| *expires)
                .map(|(id, _)| id.clone());
            if let Some(id) = oldest {
                waiting.remove(&id);
            }
        }
        if waiting.len() >= MAX_CEREMONIES {
            return Err(busy());
        }
        let id = super::tokens::new_token().expose().clone();
        waiting.insert(id.clone(), (now + CEREMONY_WINDOW, ceremony));
        Ok(id)
    }

    /// Removes and returns a live ceremony: each is answered once.
    fn take(&self, id: &str, now: Timestamp) -> Result<Ceremony> {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        match waiting.remove(id) {
            Some((expires, ceremony)) if expires > now => Ok(ceremony),
            _ => Err(ceremony_expired()),
        }
    }
}

/// The relying party: this site's origin and the host name passkeys are bound to.
fn relying_party(public_base: &str, site_name: &str) -> Result<Webauthn, String> {
    let origin =
        Url::parse(public_base).map_err(|e| format!("the site address is invalid: {e}"))?;
    let Some(url::Host::Domain(host)) = origin.host() else {
        return Err(format!(
            "Passkeys need the site to be reached by a domain name, and {public_base} is an IP address. Set server.public_url to the name members use (http://localhost:PORT works for trying Hearth out)."
        ));
    };
    let host = host.to_string();
    WebauthnBuilder::new(&host, &origin)
        .and_then(|b| b.rp_name(site_name).build())
        .map_err(|e| format!("passkeys cannot be offered for {public_base}: {e}"))
}

fn malformed(e: serde_json::Error) -> ServiceError {
    ServiceError::Malformed(Refusal::new(
        ErrorCode::PasskeyMalformed,
        format!("The passkey answer is not a WebAuthn credential in JSON form: {e}."),
    ))
}

fn not_accepted(e: &WebauthnError) -> ServiceError {
    tracing::info!(error = %e, "passkey not accepted");
    not_accepted_because(
        "The passkey was not accepted. Use a passkey registered with this site, on this site's address.",
    )
}

fn not_accepted_because(why: &str) -> ServiceError {
    ServiceError::Unauthenticated(Refusal::new(ErrorCode::PasskeyNotAccepted, why))
}

fn to_options(options: &impl serde::Serialize) -> Result<Value> {
    serde_json::to_value(options).map_err(ServiceError::internal)
}

fn stored_passkey(record: &PasskeyRecord) -> Result<Passkey> {
    serde_json::from_str(&record.credential_json)
        .map_err(|e| StoreError::Corrupt(format!("passkey {}: {e}", record.id)).into())
}

#[derive(Clone)]
pub struct Passkeys {
    store: Store,
    clock: SharedClock,
    passwords: Passwords,
    accounts: Accounts,
    relying_party: Result<Arc<Webauthn>, String>,
    ceremonies: Arc<Ceremonies>,
}

impl Passkeys {
    /// `public_base` is the site's address as members reach it; passkeys are bound to its
    /// host name.
    pub fn new(
        store: Store,
        clock: SharedClock,
        passwords: Passwords,
        accounts: Accounts,
        public_base: &str,
        site_name: &str,
    ) -> Self {
        let relying_party = relying_party(public_base, site_name).map(Arc::new);
        if let Err(why) = &relying_party {
            tracing::info!("passkeys are off: {why}");
        }
        Self {
            store,
            clock,
            passwords,
            accounts,
            relying_party,
            ceremonies: Arc::default(),
        }
    }

    /// Why passkeys cannot be used on this site, if they cannot.
    pub fn unavailable_reason(&self) -> Option<&str> {
        self.relying_party.as_ref().err().map(String::as_str)
    }

    fn rp(&self) -> Result<&Webauthn> {
        self.relying_party
            .as_deref()
            .map_err(|why| unavailable(why))
    }

    pub async fn list(&self, user: UserId) -> Result<Vec<PasskeyView>, StoreError> {
        let records = self
            .store
            .read(move |rx| rx.passkeys().of_user(user))
            .await?;
        Ok(records.iter().map(PasskeyView::from).collect())
    }

    /// Starts registering a passkey for a signed-in member, after checking their password: a
    /// stolen session alone must not be enough to plant a way back in.
    pub async fn begin_registration(
        &self,
        user: &User,
        name: &str,
        password: Secret<String>,
    ) -> Result<CeremonyStart> {
        let rp = self.rp()?;
        let name = check_name(name, "Passkey").map_err(|e| ServiceError::Invalid(vec![e]))?;
        confirm_current_password(&self.passwords, user, password).await?;
        let id = user.id;
        let existing = self.store.read(move |rx| rx.passkeys().of_user(id)).await?;
        if existing.len() >= MAX_PASSKEYS {
            return Err(too_many_passkeys());
        }
        let exclude = existing.iter().map(|r| r.credential_id.clone()).collect();
        let (options, state) = rp
            .start_passkey_registration(user.id.0, &user.username, &user.username, Some(exclude))
            .map_err(|e| not_accepted(&e))?;
        let mut options = to_options(&options)?;
        // Ask for a discoverable credential, so the passkey can sign in without a username.
        options["publicKey"]["authenticatorSelection"]["residentKey"] = "preferred".into();
        let ceremony = self.ceremonies.start(
            Ceremony::Registration {
                user: user.id,
                name,
                state,
            },
            self.clock.now(),
        )?;
        Ok(CeremonyStart { ceremony, options })
    }

    /// Verifies the authenticator's answer and stores the new passkey.
    pub async fn finish_registration(
        &self,
        user: &User,
        ceremony: &str,
        credential: Value,
    ) -> Result<PasskeyView> {
        let rp = self.rp()?;
        let now = self.clock.now();
        let Ceremony::Registration {
            user: owner,
            name,
            state,
        } = self.ceremonies.take(ceremony, now)?
        else {
            return Err(ceremony_expired());
        };
        if owner != user.id {
            return Err(ceremony_expired());
        }
        let answer: RegisterPublicKeyCredential =
            serde_json::from_value(credential).map_err(malformed)?;
        let passkey = rp
            .finish_passkey_registration(&answer, &state)
            .map_err(|e| {
                tracing::info!(error = %e, "passkey registration not accepted");
                ServiceError::invalid(
                    "credential",
                    "The authenticator's answer did not verify for this site. Try again, on this site's address.",
                )
            })?;
        let record = PasskeyRecord {
            id: PasskeyId(uuid_v7(now.as_millisecond(), rand::random())),
            user: user.id,
            name,
            created_at: now,
            last_used_at: None,
            credential_id: passkey.cred_id().to_vec(),
            credential_json: serde_json::to_string(&passkey)
                .map_err(|e| StoreError::Database(e.to_string()))?,
        };
        let stored = record.clone();
        let outcome = self
            .store
            .write(move |tx| {
                if tx.passkeys().of_user(stored.user)?.len() >= MAX_PASSKEYS {
                    return Ok(None);
                }
                tx.passkeys().insert(&stored).map(Some)
            })
            .await?;
        match outcome {
            Some(InsertPasskey::Inserted) => {
                tracing::info!(user = %user.id, passkey = %record.id, "passkey registered");
                Ok(PasskeyView::from(&record))
            }
            Some(InsertPasskey::CredentialTaken) => Err(ServiceError::invalid(
                "credential",
                "This passkey is already registered.",
            )),
            None => Err(too_many_passkeys()),
        }
    }

    pub async fn remove(&self, user: UserId, id: PasskeyId) -> Result<()> {
        let removed = self
            .store
            .write(move |tx| tx.passkeys().delete(user, id))
            .await?;
        if !removed {
            return Err(ServiceError::not_found());
        }
        tracing::info!(user = %user, passkey = %id, "passkey removed");
        Ok(())
    }

    /// Options for a passwordless sign-in: the browser offers whichever of this site's
    /// passkeys the person has.
    pub fn begin_sign_in(&self, client: &ClientInfo) -> Result<CeremonyStart> {
        self.accounts.check_passkey_start_limit(client)?;
        let (options, state) = self
            .rp()?
            .start_discoverable_authentication()
            .map_err(|e| not_accepted(&e))?;
        let mut options = to_options(&options)?;
        // A button press, not the autofill UI: the browser asks right away.
        if let Some(o) = options.as_object_mut() {
            o.remove("mediation");
        }
        let ceremony = self
            .ceremonies
            .start(Ceremony::SignIn(state), self.clock.now())?;
        Ok(CeremonyStart { ceremony, options })
    }

    /// Verifies a passwordless sign-in and opens a session. The passkey proved possession and
    /// user verification (PIN or biometrics), so the session counts as two-factor.
    pub async fn finish_sign_in(
        &self,
        ceremony: &str,
        credential: Value,
        client: ClientInfo,
    ) -> Result<(Secret<String>, SignedIn)> {
        let rp = self.rp()?;
        self.accounts.check_second_step_limit(&client)?;
        let Ceremony::SignIn(state) = self.ceremonies.take(ceremony, self.clock.now())? else {
            return Err(ceremony_expired());
        };
        let answer: PublicKeyCredential = serde_json::from_value(credential).map_err(malformed)?;
        let (user_handle, credential_id) = rp
            .identify_discoverable_authentication(&answer)
            .map_err(|e| not_accepted(&e))?;
        let credential_id = credential_id.to_vec();
        let record = self
            .store
            .read(move |rx| rx.passkeys().by_credential(&credential_id))
            .await?
            .filter(|r| r.user.0 == user_handle)
            .ok_or_else(|| not_accepted(&WebauthnError::CredentialNotFound))?;
        let passkey = stored_passkey(&record)?;
        let result = rp
            .finish_discoverable_authentication_v2(&answer, state, &passkey)
            .map_err(|e| not_accepted(&e))?;
        self.record_use(record, passkey, &result).await?;
        let user = UserId(user_handle);
        self.accounts.open_passkey_session(user, client).await
    }

    /// Options for using a passkey as the second step, after the password; `challenge` is the
    /// pending sign-in's.
    pub async fn begin_second_factor(&self, challenge: &str) -> Result<CeremonyStart> {
        let rp = self.rp()?;
        let user = self.accounts.challenge_user(challenge).await?;
        let id = user.id;
        let records = self.store.read(move |rx| rx.passkeys().of_user(id)).await?;
        if records.is_empty() {
            return Err(not_accepted_because(
                "This account has no passkeys; use a code instead.",
            ));
        }
        let passkeys = records
            .iter()
            .map(stored_passkey)
            .collect::<Result<Vec<_>>>()?;
        let (options, state) = rp
            .start_passkey_authentication(&passkeys)
            .map_err(|e| not_accepted(&e))?;
        let options = to_options(&options)?;
        let ceremony = self
            .ceremonies
            .start(Ceremony::SecondFactor { user: id, state }, self.clock.now())?;
        Ok(CeremonyStart { ceremony, options })
    }

    /// Verifies the passkey and completes the pending sign-in.
    pub async fn finish_second_factor(
        &self,
        challenge: &str,
        ceremony: &str,
        credential: Value,
        client: ClientInfo,
    ) -> Result<(Secret<String>, SignedIn)> {
        let rp = self.rp()?;
        self.accounts.check_second_step_limit(&client)?;
        let Ceremony::SecondFactor { user, state } =
            self.ceremonies.take(ceremony, self.clock.now())?
        else {
            return Err(ceremony_expired());
        };
        let answer: PublicKeyCredential = serde_json::from_value(credential).map_err(malformed)?;
        let credential_id = answer.get_credential_id().to_vec();
        let record = self
            .store
            .read(move |rx| rx.passkeys().by_credential(&credential_id))
            .await?
            .filter(|r| r.user == user)
            .ok_or_else(|| not_accepted(&WebauthnError::CredentialNotFound))?;
        let passkey = stored_passkey(&record)?;
        let result = rp
            .finish_passkey_authentication(&answer, &state)
            .map_err(|e| not_accepted(&e))?;
        self.record_use(record, passkey, &result).await?;
        self.accounts
            .complete_second_factor(challenge, SecondFactorProof::Passkey(user), client)
            .await
    }

    /// Saves the new signature counter and the time of use.
    async fn record_use(
        &self,
        mut record: PasskeyRecord,
        mut passkey: Passkey,
        result: &webauthn_rs::prelude::AuthenticationResult,
    ) -> Result<()> {
        passkey.update_credential(result);
        record.last_used_at = Some(self.clock.now());
        record.credential_json =
            serde_json::to_string(&passkey).map_err(|e| StoreError::Database(e.to_string()))?;
        self.store
            .write(move |tx| {
                // Removed meanwhile: the sign-in stands, the record stays gone.
                if tx
                    .passkeys()
                    .by_credential(&record.credential_id)?
                    .is_some()
                {
                    tx.passkeys().put(&record)?;
                }
                Ok::<_, StoreError>(())
            })
            .await?;
        Ok(())
    }
}

/// The member's passkeys in the export (names and dates; the public keys are of no use to
/// them) and in account deletion.
pub fn member_data() -> Vec<Box<dyn MemberData>> {
    vec![Box::new(PasskeysPart)]
}

struct PasskeysPart;

impl MemberData for PasskeysPart {
    fn name(&self) -> &'static str {
        "passkeys"
    }

    fn export(&self, rx: &Rx, u: &User) -> Result<Value, StoreError> {
        Ok(rx
            .passkeys()
            .of_user(u.id)?
            .into_iter()
            .map(|p| serde_json::json!({"name": p.name, "created_at": p.created_at.to_string(), "last_used_at": p.last_used_at.map(|t| t.to_string())}))
            .collect())
    }

    fn erase(&self, tx: &Tx<'_>, user: &User) -> Result<(), StoreError> {
        tx.passkeys().delete_of_user(user.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passkeys_need_a_domain_name() {
        assert!(relying_party("http://127.0.0.1:8080", "Hearth").is_err());
        assert!(relying_party("http://[::1]:8080", "Hearth").is_err());
        assert!(relying_party("http://localhost:8080", "Hearth").is_ok());
        assert!(relying_party("https://club.example.org", "Hearth").is_ok());
    }

    #[test]
    fn a_ceremony_is_answered_once_and_expires() {
        let ceremonies = Ceremonies::default();
        let now: Timestamp = "2026-06-01T12:00:00Z".parse().unwrap();
        let rp = relying_party("http://localhost:8080", "Hearth").unwrap();
        let fresh = || Ceremony::SignIn(rp.start_discoverable_authentication().unwrap().1);
        let id = ceremonies.start(fresh(), now).unwrap();
        assert!(ceremonies.take(&id, now).is_ok());
        assert!(matches!(
            ceremonies.take(&id, now),
            Err(ServiceError::Conflict(r)) if r.code == ErrorCode::PasskeyRequestExpired
        ));
        let late = ceremonies.start(fresh(), now).unwrap();
        assert!(ceremonies.take(&late, now + CEREMONY_WINDOW).is_err());
    }
}
