//! Invitations, with indexes by link code, by the staff member who made them, and by the
//! members who joined with them.

use redb::{ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction};

use super::codec::decode;
use super::instance::TokenHash;
use super::tables::CatalogTable;
use super::{Rows, Rx, Snapshot, StoreError, Tx};
use crate::domain::ids::{InviteId, UserId};
use crate::domain::invite::Invite;

/// invite id → `Invite` (UUIDv7 ids: a reverse scan is newest first).
const INVITES: Rows<u128, Invite> = Rows::new("invites");
/// SHA-256 of an invitation code → invite id.
const BY_CODE: TableDefinition<&[u8; 32], u128> = TableDefinition::new("invites_by_code");
/// (creator id, invite id) → ().
const BY_CREATOR: TableDefinition<(u128, u128), ()> = TableDefinition::new("invites_by_creator");
/// member id → the invitation they joined with.
const BY_MEMBER: TableDefinition<u128, u128> = TableDefinition::new("invites_by_member");

/// This aggregate's tables, for the catalog.
pub(super) const TABLES: &[&dyn CatalogTable] = &[&INVITES, &BY_CODE, &BY_CREATOR, &BY_MEMBER];

/// Builds the creator and member indexes of a database written before they existed.
pub(super) fn index_invites(txn: &WriteTransaction) -> Result<(), StoreError> {
    let invites = txn.open_table(INVITES.def)?;
    let mut by_creator = txn.open_table(BY_CREATOR)?;
    let mut by_member = txn.open_table(BY_MEMBER)?;
    for entry in invites.iter()? {
        let (id, raw) = entry?;
        let invite: Invite = decode(raw.value())?;
        by_creator.insert((invite.created_by.as_u128(), id.value()), ())?;
        for member in &invite.joined {
            by_member.insert(member.as_u128(), id.value())?;
        }
    }
    Ok(())
}

pub struct Invites<'s, S>(&'s S);

impl Rx {
    pub fn invites(&self) -> Invites<'_, Self> {
        Invites(self)
    }
}

impl<'t> Tx<'t> {
    pub fn invites(&self) -> Invites<'_, Self> {
        Invites(self)
    }
}

impl<S: Snapshot> Invites<'_, S> {
    pub fn get(&self, id: InviteId) -> Result<Option<Invite>, StoreError> {
        INVITES.get(self.0, id.as_u128())
    }

    pub fn by_code(&self, code: &TokenHash) -> Result<Option<Invite>, StoreError> {
        let id = self.0.table(BY_CODE)?.get(code)?.map(|v| v.value());
        match id {
            Some(id) => INVITES.get(self.0, id),
            None => Ok(None),
        }
    }

    /// Invitations newest first, skipping `offset`, at most `limit`; and how many there are.
    pub fn page(&self, offset: usize, limit: usize) -> Result<(Vec<Invite>, u64), StoreError> {
        let table = INVITES.open(self.0)?;
        let mut out = Vec::new();
        for entry in table.iter()?.rev().skip(offset).take(limit) {
            out.push(decode(entry?.1.value())?);
        }
        Ok((out, table.len()?))
    }

    /// Invitations made by `creator`, newest first.
    pub fn by_creator(&self, creator: UserId) -> Result<Vec<Invite>, StoreError> {
        let c = creator.as_u128();
        let invites = INVITES.open(self.0)?;
        let mut out = Vec::new();
        for entry in self
            .0
            .table(BY_CREATOR)?
            .range((c, 0)..=(c, u128::MAX))?
            .rev()
        {
            out.extend(INVITES.get_in(&invites, entry?.0.value().1)?);
        }
        Ok(out)
    }
}

impl Invites<'_, Tx<'_>> {
    /// Stores a new invitation under the hash of its link code.
    pub fn insert(&self, invite: &Invite, code: &TokenHash) -> Result<(), StoreError> {
        let id = invite.id.as_u128();
        self.0.table(BY_CODE)?.insert(code, id)?;
        self.0
            .table(BY_CREATOR)?
            .insert((invite.created_by.as_u128(), id), ())?;
        INVITES.insert(self.0, id, invite)
    }

    /// Replaces an invitation (revoked, or someone joined); its code and creator are unchanged.
    pub fn put(&self, invite: &Invite) -> Result<(), StoreError> {
        INVITES.insert(self.0, invite.id.as_u128(), invite)
    }

    /// Records that `member` joined with `invite` (the caller checked it is usable).
    pub fn record_join(&self, invite: &mut Invite, member: UserId) -> Result<(), StoreError> {
        invite.joined.push(member);
        self.0
            .table(BY_MEMBER)?
            .insert(member.as_u128(), invite.id.as_u128())?;
        self.put(invite)
    }

    /// Forgets who a deleted member was in the invitation they joined with (the use still
    /// counts, as a nil id) and who made the invitations they made (nil as well).
    pub fn forget_member(&self, member: UserId) -> Result<(), StoreError> {
        let joined = self
            .0
            .table(BY_MEMBER)?
            .remove(member.as_u128())?
            .map(|v| v.value());
        if let Some(id) = joined
            && let Some(mut invite) = INVITES.get(self.0, id)?
        {
            for slot in invite.joined.iter_mut().filter(|m| **m == member) {
                *slot = UserId::from_u128(0);
            }
            self.put(&invite)?;
        }
        let c = member.as_u128();
        let made: Vec<u128> = self
            .0
            .table(BY_CREATOR)?
            .range((c, 0)..=(c, u128::MAX))?
            .map(|e| e.map(|(k, _)| k.value().1))
            .collect::<Result<_, _>>()?;
        let mut by_creator = self.0.table(BY_CREATOR)?;
        for id in made {
            by_creator.remove((c, id))?;
            by_creator.insert((0, id), ())?;
            if let Some(mut invite) = INVITES.get(self.0, id)? {
                invite.created_by = UserId::from_u128(0);
                self.put(&invite)?;
            }
        }
        Ok(())
    }
}
