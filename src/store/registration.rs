//! Sign-up support: one-time tokens, the approval queue and invitations.

use redb::{ReadableTable, ReadableTableMetadata};

use super::accounts::TokenHash;
use super::codec::{decode, encode};
use super::tables::{INVITES, INVITES_BY_CODE, ONE_TIME_TOKENS, PENDING_APPROVAL};
use super::{Rx, StoreError, Tx};
use crate::domain::account::User;
use crate::domain::ids::{InviteId, UserId};
use crate::domain::invite::{Invite, OneTimeToken};

impl Tx<'_> {
    pub fn put_token(&self, hash: &TokenHash, token: &OneTimeToken) -> Result<(), StoreError> {
        self.txn
            .open_table(ONE_TIME_TOKENS)?
            .insert(hash, encode(token)?.as_slice())?;
        Ok(())
    }

    /// Removes and returns a token: a token works once.
    pub fn take_token(&self, hash: &TokenHash) -> Result<Option<OneTimeToken>, StoreError> {
        let removed = self
            .txn
            .open_table(ONE_TIME_TOKENS)?
            .remove(hash)?
            .map(|v| decode(v.value()))
            .transpose()?;
        Ok(removed)
    }

    pub fn set_pending_approval(&self, user: UserId, since_ms: i64) -> Result<(), StoreError> {
        self.txn
            .open_table(PENDING_APPROVAL)?
            .insert(user.as_u128(), since_ms)?;
        Ok(())
    }

    pub fn clear_pending_approval(&self, user: UserId) -> Result<bool, StoreError> {
        Ok(self
            .txn
            .open_table(PENDING_APPROVAL)?
            .remove(user.as_u128())?
            .is_some())
    }

    pub fn pending_approval_count(&self) -> Result<u64, StoreError> {
        Ok(self.txn.open_table(PENDING_APPROVAL)?.len()?)
    }

    /// Stores an invitation; `code` (the hash of its link code) is given when it is created.
    pub fn put_invite(&self, invite: &Invite, code: Option<&TokenHash>) -> Result<(), StoreError> {
        self.txn
            .open_table(INVITES)?
            .insert(invite.id.as_u128(), encode(invite)?.as_slice())?;
        if let Some(code) = code {
            self.txn
                .open_table(INVITES_BY_CODE)?
                .insert(code, invite.id.as_u128())?;
        }
        Ok(())
    }

    pub fn read_invite(&self, id: InviteId) -> Result<Option<Invite>, StoreError> {
        let invite = self
            .txn
            .open_table(INVITES)?
            .get(id.as_u128())?
            .map(|v| decode(v.value()))
            .transpose()?;
        Ok(invite)
    }

    pub fn invite_by_code(&self, code: &TokenHash) -> Result<Option<Invite>, StoreError> {
        let id = self
            .txn
            .open_table(INVITES_BY_CODE)?
            .get(code)?
            .map(|v| v.value());
        match id {
            Some(id) => self.read_invite(InviteId::from_u128(id)),
            None => Ok(None),
        }
    }
}

impl Rx {
    pub fn one_time_token(&self, hash: &TokenHash) -> Result<Option<OneTimeToken>, StoreError> {
        let token = self
            .txn
            .open_table(ONE_TIME_TOKENS)?
            .get(hash)?
            .map(|v| decode(v.value()))
            .transpose()?;
        Ok(token)
    }

    pub fn invite_by_code(&self, code: &TokenHash) -> Result<Option<Invite>, StoreError> {
        let Some(id) = self
            .txn
            .open_table(INVITES_BY_CODE)?
            .get(code)?
            .map(|v| v.value())
        else {
            return Ok(None);
        };
        let invite = self
            .txn
            .open_table(INVITES)?
            .get(id)?
            .map(|v| decode(v.value()))
            .transpose()?;
        Ok(invite)
    }

    /// Every invitation, newest first.
    pub fn invites(&self) -> Result<Vec<Invite>, StoreError> {
        let mut out = Vec::new();
        for entry in self.txn.open_table(INVITES)?.iter()?.rev() {
            out.push(decode(entry?.1.value())?);
        }
        Ok(out)
    }

    /// Accounts waiting for approval, oldest first.
    pub fn pending_approval(&self) -> Result<Vec<User>, StoreError> {
        let mut waiting = Vec::new();
        for entry in self.txn.open_table(PENDING_APPROVAL)?.iter()? {
            let (id, since) = entry?;
            waiting.push((since.value(), id.value()));
        }
        waiting.sort_unstable();
        let mut out = Vec::new();
        for (_, id) in waiting {
            if let Some(user) = self.user(UserId::from_u128(id))? {
                out.push(user);
            }
        }
        Ok(out)
    }
}
