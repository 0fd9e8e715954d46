//! Users, sessions and the one-time owner setup token.

use jiff::Timestamp;
use redb::{ReadableMultimapTable, ReadableTable};

use super::codec::{decode, encode};
use super::tables::{META, SESSIONS, SESSIONS_BY_USER, USERS, USERS_BY_EMAIL, USERS_BY_USERNAME};
use super::{Rx, StoreError, Tx};
use crate::domain::account::User;
use crate::domain::ids::UserId;
use crate::domain::session::Session;

/// SHA-256 of a secret token: what is stored instead of the token.
pub type TokenHash = [u8; 32];

const SETUP_TOKEN_KEY: &str = "setup_token_hash";
const SETUP_DONE_KEY: &str = "setup_completed_at";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertUser {
    Inserted,
    UsernameTaken,
    EmailTaken,
}

impl Tx<'_> {
    /// Inserts a user with its username and email indexes, unless either is taken.
    pub fn insert_user(&self, user: &User) -> Result<InsertUser, StoreError> {
        let mut by_name = self.txn.open_table(USERS_BY_USERNAME)?;
        let mut by_email = self.txn.open_table(USERS_BY_EMAIL)?;
        if by_name.get(user.username.as_str())?.is_some() {
            return Ok(InsertUser::UsernameTaken);
        }
        if by_email.get(user.email.as_str())?.is_some() {
            return Ok(InsertUser::EmailTaken);
        }
        let id = user.id.as_u128();
        by_name.insert(user.username.as_str(), id)?;
        by_email.insert(user.email.as_str(), id)?;
        self.txn
            .open_table(USERS)?
            .insert(id, encode(user)?.as_slice())?;
        Ok(InsertUser::Inserted)
    }

    pub fn set_setup_token(&self, hash: &TokenHash) -> Result<(), StoreError> {
        self.txn
            .open_table(META)?
            .insert(SETUP_TOKEN_KEY, hash.as_slice())?;
        Ok(())
    }

    /// Spends the setup token if `hash` matches it: true once, false ever after.
    pub fn consume_setup_token(
        &self,
        hash: &TokenHash,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut meta = self.txn.open_table(META)?;
        let matches = meta.get(SETUP_TOKEN_KEY)?.is_some_and(|stored| {
            use subtle::ConstantTimeEq;
            bool::from(stored.value().ct_eq(hash.as_slice()))
        });
        if !matches || meta.get(SETUP_DONE_KEY)?.is_some() {
            return Ok(false);
        }
        meta.remove(SETUP_TOKEN_KEY)?;
        meta.insert(
            SETUP_DONE_KEY,
            now.as_millisecond().to_le_bytes().as_slice(),
        )?;
        Ok(true)
    }

    pub fn insert_session(&self, hash: &TokenHash, session: &Session) -> Result<(), StoreError> {
        self.txn
            .open_table(SESSIONS)?
            .insert(hash, encode(session)?.as_slice())?;
        self.txn
            .open_multimap_table(SESSIONS_BY_USER)?
            .insert(session.user_id.as_u128(), hash)?;
        Ok(())
    }

    pub fn touch_session(&self, hash: &TokenHash, now: Timestamp) -> Result<(), StoreError> {
        let mut sessions = self.txn.open_table(SESSIONS)?;
        let session = match sessions.get(hash)? {
            Some(v) => Some(decode::<Session>(v.value())?),
            None => None,
        };
        if let Some(mut session) = session {
            session.last_seen_at = now;
            sessions.insert(hash, encode(&session)?.as_slice())?;
        }
        Ok(())
    }

    pub fn delete_session(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        let removed = match self.txn.open_table(SESSIONS)?.remove(hash)? {
            Some(v) => Some(decode::<Session>(v.value())?),
            None => None,
        };
        if let Some(session) = &removed {
            self.txn
                .open_multimap_table(SESSIONS_BY_USER)?
                .remove(session.user_id.as_u128(), hash)?;
        }
        Ok(removed.is_some())
    }

    /// A user, read inside this write transaction.
    pub fn read_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let table = self.txn.open_table(USERS)?;
        let user = table
            .get(id.as_u128())?
            .map(|v| decode(v.value()))
            .transpose()?;
        Ok(user)
    }

    /// A user's sessions, read inside this write transaction.
    pub fn read_sessions_of(&self, user: UserId) -> Result<Vec<(TokenHash, Session)>, StoreError> {
        sessions_in(
            &self.txn.open_multimap_table(SESSIONS_BY_USER)?,
            &self.txn.open_table(SESSIONS)?,
            user,
        )
    }

    /// Replaces a user's record. The username and email must be unchanged (their indexes are
    /// not touched here).
    pub fn put_user(&self, user: &User) -> Result<(), StoreError> {
        self.txn
            .open_table(USERS)?
            .insert(user.id.as_u128(), encode(user)?.as_slice())?;
        Ok(())
    }

    /// Removes a user with their indexes and sessions.
    pub fn delete_user(&self, user: &User) -> Result<(), StoreError> {
        self.delete_sessions_of(user.id, None)?;
        self.delete_api_tokens_of(user.id)?;
        self.delete_second_factor(user.id)?;
        self.delete_passkeys_of(user.id)?;
        self.delete_media_of(user.id)?;
        self.txn.open_table(USERS)?.remove(user.id.as_u128())?;
        self.txn
            .open_table(USERS_BY_USERNAME)?
            .remove(user.username.as_str())?;
        self.txn
            .open_table(USERS_BY_EMAIL)?
            .remove(user.email.as_str())?;
        self.txn
            .open_table(super::tables::PENDING_APPROVAL)?
            .remove(user.id.as_u128())?;
        Ok(())
    }

    /// How many owners there are (to keep at least one).
    pub fn owner_count(&self) -> Result<usize, StoreError> {
        let mut n = 0;
        for entry in self.txn.open_table(USERS)?.iter()? {
            if decode::<User>(entry?.1.value())?.role == crate::domain::role::Role::Owner {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Deletes all of a user's sessions except `keep`; returns how many.
    pub fn delete_sessions_of(
        &self,
        user: UserId,
        keep: Option<&TokenHash>,
    ) -> Result<u64, StoreError> {
        let hashes: Vec<TokenHash> = {
            let index = self.txn.open_multimap_table(SESSIONS_BY_USER)?;
            let mut hashes = Vec::new();
            for entry in index.get(user.as_u128())? {
                let hash = *entry?.value();
                if Some(&hash) != keep {
                    hashes.push(hash);
                }
            }
            hashes
        };
        for hash in &hashes {
            self.delete_session(hash)?;
        }
        Ok(hashes.len() as u64)
    }

    /// Deletes every session that is no longer valid at `now`; returns how many.
    pub fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
        let expired: Vec<TokenHash> = {
            let sessions = self.txn.open_table(SESSIONS)?;
            let mut expired = Vec::new();
            for entry in sessions.iter()? {
                let (key, value) = entry?;
                if !decode::<Session>(value.value())?.is_valid_at(now) {
                    expired.push(*key.value());
                }
            }
            expired
        };
        for hash in &expired {
            self.delete_session(hash)?;
        }
        Ok(expired.len() as u64)
    }
}

impl Rx {
    pub fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let table = self.txn.open_table(USERS)?;
        let user = table
            .get(id.as_u128())?
            .map(|v| decode(v.value()))
            .transpose()?;
        Ok(user)
    }

    /// Finds a user by username or email (both stored lower-case).
    pub fn user_by_login(&self, login: &str) -> Result<Option<User>, StoreError> {
        let login = login.trim().to_lowercase();
        let index = if login.contains('@') {
            USERS_BY_EMAIL
        } else {
            USERS_BY_USERNAME
        };
        let id = self
            .txn
            .open_table(index)?
            .get(login.as_str())?
            .map(|v| v.value());
        match id {
            Some(id) => self.user(UserId::from_u128(id)),
            None => Ok(None),
        }
    }

    /// Users whose username or email contains `query` (lower-case), in id (sign-up) order,
    /// skipping `offset`; at most `limit`. Also returns how many match in all.
    pub fn find_users(
        &self,
        query: &str,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<User>, usize), StoreError> {
        let mut page = Vec::new();
        let mut total = 0;
        for entry in self.txn.open_table(USERS)?.iter()? {
            let user: User = decode(entry?.1.value())?;
            if query.is_empty() || user.username.contains(query) || user.email.contains(query) {
                if total >= offset && page.len() < limit {
                    page.push(user);
                }
                total += 1;
            }
        }
        Ok((page, total))
    }

    pub fn user_count(&self) -> Result<u64, StoreError> {
        use redb::ReadableTableMetadata;
        Ok(self.txn.open_table(USERS)?.len()?)
    }

    pub fn setup_token_hash(&self) -> Result<Option<TokenHash>, StoreError> {
        let meta = self.txn.open_table(META)?;
        let stored = meta
            .get(SETUP_TOKEN_KEY)?
            .and_then(|v| <TokenHash>::try_from(v.value()).ok());
        Ok(stored)
    }

    pub fn setup_completed(&self) -> Result<bool, StoreError> {
        Ok(self.txn.open_table(META)?.get(SETUP_DONE_KEY)?.is_some())
    }

    pub fn session(&self, hash: &TokenHash) -> Result<Option<Session>, StoreError> {
        let table = self.txn.open_table(SESSIONS)?;
        let session = table.get(hash)?.map(|v| decode(v.value())).transpose()?;
        Ok(session)
    }

    /// A user's sessions with their stored hashes.
    pub fn sessions_of(&self, user: UserId) -> Result<Vec<(TokenHash, Session)>, StoreError> {
        sessions_in(
            &self.txn.open_multimap_table(SESSIONS_BY_USER)?,
            &self.txn.open_table(SESSIONS)?,
            user,
        )
    }

    pub fn session_count_for(&self, user: UserId) -> Result<u64, StoreError> {
        let table = self.txn.open_multimap_table(SESSIONS_BY_USER)?;
        let mut n = 0;
        for entry in table.get(user.as_u128())? {
            entry?;
            n += 1;
        }
        Ok(n)
    }
}

/// A user's sessions, from the per-user index; works in read and write transactions alike.
fn sessions_in(
    index: &impl ReadableMultimapTable<u128, &'static [u8; 32]>,
    sessions: &impl ReadableTable<&'static [u8; 32], &'static [u8]>,
    user: UserId,
) -> Result<Vec<(TokenHash, Session)>, StoreError> {
    let mut out = Vec::new();
    for entry in index.get(user.as_u128())? {
        let hash = *entry?.value();
        if let Some(raw) = sessions.get(&hash)? {
            out.push((hash, decode(raw.value())?));
        }
    }
    Ok(out)
}

impl Tx<'_> {
    /// Signing in cancels a pending account deletion; true if one was pending.
    pub fn cancel_deletion(&self, user: UserId) -> Result<bool, StoreError> {
        let Some(mut stored) = self.read_user(user)? else {
            return Ok(false);
        };
        if stored.deletion_due.take().is_none() {
            return Ok(false);
        }
        self.put_user(&stored)?;
        Ok(true)
    }
}

impl Rx {
    /// Invitations created by `user` (for their data export).
    pub fn invites_by(
        &self,
        user: UserId,
    ) -> Result<Vec<crate::domain::invite::Invite>, StoreError> {
        Ok(self
            .invites()?
            .into_iter()
            .filter(|i| i.created_by == user)
            .collect())
    }
}
