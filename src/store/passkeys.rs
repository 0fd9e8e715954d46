//! Passkeys, listed per member and found by credential id at sign-in.

use redb::{ReadableTable, TableDefinition};

use super::codec::decode;
use super::tables::CatalogTable;
use super::{Rows, Rx, Snapshot, StoreError, Tx};
use crate::domain::ids::{PasskeyId, UserId};
use crate::domain::passkey::PasskeyRecord;

/// (user id, passkey id) → `PasskeyRecord`; a range scan lists a member's passkeys.
const PASSKEYS: Rows<(u128, u128), PasskeyRecord> = Rows::new("passkeys");
/// WebAuthn credential id → (user id, passkey id): a credential belongs to one account.
const BY_CREDENTIAL: TableDefinition<&[u8], (u128, u128)> =
    TableDefinition::new("passkeys_by_credential");

/// This aggregate's tables, for the catalog.
pub(super) const TABLES: &[&dyn CatalogTable] = &[&PASSKEYS, &BY_CREDENTIAL];

/// Whether the credential could be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertPasskey {
    Inserted,
    /// The credential is already registered (to this or another account).
    CredentialTaken,
}

pub struct Passkeys<'s, S>(&'s S);

impl Rx {
    pub fn passkeys(&self) -> Passkeys<'_, Self> {
        Passkeys(self)
    }
}

impl<'t> Tx<'t> {
    pub fn passkeys(&self) -> Passkeys<'_, Self> {
        Passkeys(self)
    }
}

impl<S: Snapshot> Passkeys<'_, S> {
    pub fn of_user(&self, user: UserId) -> Result<Vec<PasskeyRecord>, StoreError> {
        let u = user.as_u128();
        let mut out = Vec::new();
        for entry in PASSKEYS.open(self.0)?.range((u, 0)..=(u, u128::MAX))? {
            out.push(decode(entry?.1.value())?);
        }
        Ok(out)
    }

    pub fn by_credential(&self, credential_id: &[u8]) -> Result<Option<PasskeyRecord>, StoreError> {
        let key = self
            .0
            .table(BY_CREDENTIAL)?
            .get(credential_id)?
            .map(|v| v.value());
        match key {
            Some(key) => PASSKEYS.get(self.0, key),
            None => Ok(None),
        }
    }
}

impl Passkeys<'_, Tx<'_>> {
    /// Adds a passkey unless its credential is registered already (then nothing is written).
    pub fn insert(&self, record: &PasskeyRecord) -> Result<InsertPasskey, StoreError> {
        let key = (record.user.as_u128(), record.id.as_u128());
        let mut index = self.0.table(BY_CREDENTIAL)?;
        if index.get(record.credential_id.as_slice())?.is_some() {
            return Ok(InsertPasskey::CredentialTaken);
        }
        index.insert(record.credential_id.as_slice(), key)?;
        self.put(record)?;
        Ok(InsertPasskey::Inserted)
    }

    /// Replaces a passkey's record (new counter, last use); its credential id is unchanged.
    pub fn put(&self, record: &PasskeyRecord) -> Result<(), StoreError> {
        PASSKEYS.insert(self.0, (record.user.as_u128(), record.id.as_u128()), record)
    }

    /// Removes one of `user`'s passkeys; false when they have none with that id.
    pub fn delete(&self, user: UserId, id: PasskeyId) -> Result<bool, StoreError> {
        let Some(record) = PASSKEYS.remove(self.0, (user.as_u128(), id.as_u128()))? else {
            return Ok(false);
        };
        self.0
            .table(BY_CREDENTIAL)?
            .remove(record.credential_id.as_slice())?;
        Ok(true)
    }

    pub fn delete_of_user(&self, user: UserId) -> Result<(), StoreError> {
        for record in self.of_user(user)? {
            self.delete(user, record.id)?;
        }
        Ok(())
    }
}
