//! Sessions, stored under the SHA-256 of their token, with a per-member index. Every ended
//! session is told to the bus, so nothing keeps honouring it.

use jiff::Timestamp;
use redb::{MultimapTableDefinition, ReadableMultimapTable, ReadableTable};

use super::codec::decode;
use super::instance::TokenHash;
use super::tables::CatalogTable;
use super::{Rows, Rx, Snapshot, StoreError, Tx};
use crate::domain::ids::UserId;
use crate::domain::session::Session;
use crate::events::Event;

/// SHA-256 of the session token → `Session`.
const SESSIONS: Rows<&[u8; 32], Session> = Rows::new("sessions");
/// user id → SHA-256 of each of their session tokens.
const BY_USER: MultimapTableDefinition<u128, &[u8; 32]> =
    MultimapTableDefinition::new("sessions_by_user");

/// This aggregate's tables, for the catalog.
pub(super) const TABLES: &[&dyn CatalogTable] = &[&SESSIONS, &BY_USER];

pub struct Sessions<'s, S>(&'s S);

impl Rx {
    pub fn sessions(&self) -> Sessions<'_, Self> {
        Sessions(self)
    }
}

impl<'t> Tx<'t> {
    pub fn sessions(&self) -> Sessions<'_, Self> {
        Sessions(self)
    }
}

impl<S: Snapshot> Sessions<'_, S> {
    pub fn get(&self, hash: &TokenHash) -> Result<Option<Session>, StoreError> {
        SESSIONS.get(self.0, hash)
    }

    /// A member's sessions with their stored hashes.
    pub fn of_user(&self, user: UserId) -> Result<Vec<(TokenHash, Session)>, StoreError> {
        let index = self.0.multimap(BY_USER)?;
        let sessions = SESSIONS.open(self.0)?;
        let mut out = Vec::new();
        for entry in index.get(user.as_u128())? {
            let hash = *entry?.value();
            if let Some(raw) = sessions.get(&hash)? {
                out.push((hash, decode(raw.value())?));
            }
        }
        Ok(out)
    }

    pub fn count_of(&self, user: UserId) -> Result<u64, StoreError> {
        Ok(self.0.multimap(BY_USER)?.get(user.as_u128())?.len())
    }
}

impl Sessions<'_, Tx<'_>> {
    /// Stores a new session: a sign-in, which the bus hears of.
    pub fn insert(&self, hash: &TokenHash, session: &Session) -> Result<(), StoreError> {
        SESSIONS.insert(self.0, hash, session)?;
        self.0
            .multimap(BY_USER)?
            .insert(session.user_id.as_u128(), hash)?;
        self.0.emit(crate::events::Event::SignedIn {
            user: session.user_id,
            user_agent: session.user_agent.clone(),
            ip: session.ip.clone(),
        });
        Ok(())
    }

    pub fn touch(&self, hash: &TokenHash, now: Timestamp) -> Result<(), StoreError> {
        if let Some(mut session) = SESSIONS.get(self.0, hash)? {
            session.last_seen_at = now;
            SESSIONS.insert(self.0, hash, &session)?;
        }
        Ok(())
    }

    /// Ends one session; false when there was none.
    pub fn delete(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        let Some(session) = SESSIONS.remove(self.0, hash)? else {
            return Ok(false);
        };
        self.0
            .multimap(BY_USER)?
            .remove(session.user_id.as_u128(), hash)?;
        self.0.emit(Event::SessionsEnded {
            user: session.user_id,
        });
        Ok(true)
    }

    /// Ends every session of `user` except `keep`; returns how many.
    pub fn delete_of_user(
        &self,
        user: UserId,
        keep: Option<&TokenHash>,
    ) -> Result<u64, StoreError> {
        let hashes: Vec<TokenHash> = self
            .of_user(user)?
            .into_iter()
            .map(|(hash, _)| hash)
            .filter(|hash| Some(hash) != keep)
            .collect();
        for hash in &hashes {
            self.delete(hash)?;
        }
        Ok(hashes.len() as u64)
    }

    /// Ends every session no longer valid at `now`, at most `limit` per call; returns how many.
    pub fn delete_expired(&self, now: Timestamp, limit: usize) -> Result<u64, StoreError> {
        let expired: Vec<TokenHash> = {
            let sessions = SESSIONS.open(self.0)?;
            let mut expired = Vec::new();
            for entry in sessions.iter()? {
                let (key, value) = entry?;
                if !decode::<Session>(value.value())?.is_valid_at(now) {
                    expired.push(*key.value());
                    if expired.len() >= limit {
                        break;
                    }
                }
            }
            expired
        };
        for hash in &expired {
            self.delete(hash)?;
        }
        Ok(expired.len() as u64)
    }
}
