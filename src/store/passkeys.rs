//! Passkeys, listed per member and found by credential id at sign-in.

use redb::ReadableTable;

use super::codec::{decode, encode};
use super::tables::{PASSKEYS, PASSKEYS_BY_CREDENTIAL};
use super::{Rx, StoreError, Tx};
use crate::domain::ids::{PasskeyId, UserId};
use crate::domain::passkey::PasskeyRecord;

/// Whether the credential could be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertPasskey {
    Inserted,
    /// The credential is already registered (to this or another account).
    CredentialTaken,
}

fn passkeys_in(
    table: &impl ReadableTable<(u128, u128), &'static [u8]>,
    user: UserId,
) -> Result<Vec<PasskeyRecord>, StoreError> {
    let u = user.as_u128();
    let mut out = Vec::new();
    for entry in table.range((u, 0)..=(u, u128::MAX))? {
        out.push(decode(entry?.1.value())?);
    }
    Ok(out)
}

fn passkey_by_credential(
    index: &impl ReadableTable<&'static [u8], (u128, u128)>,
    table: &impl ReadableTable<(u128, u128), &'static [u8]>,
    credential_id: &[u8],
) -> Result<Option<PasskeyRecord>, StoreError> {
    let Some(key) = index.get(credential_id)?.map(|v| v.value()) else {
        return Ok(None);
    };
    let found = table.get(key)?.map(|v| decode(v.value())).transpose()?;
    Ok(found)
}

impl Tx<'_> {
    pub fn read_passkeys_of(&self, user: UserId) -> Result<Vec<PasskeyRecord>, StoreError> {
        passkeys_in(&self.txn.open_table(PASSKEYS)?, user)
    }

    pub fn read_passkey_by_credential(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<PasskeyRecord>, StoreError> {
        passkey_by_credential(
            &self.txn.open_table(PASSKEYS_BY_CREDENTIAL)?,
            &self.txn.open_table(PASSKEYS)?,
            credential_id,
        )
    }

    pub fn insert_passkey(&self, record: &PasskeyRecord) -> Result<InsertPasskey, StoreError> {
        let key = (record.user.as_u128(), record.id.as_u128());
        let mut index = self.txn.open_table(PASSKEYS_BY_CREDENTIAL)?;
        if index.get(record.credential_id.as_slice())?.is_some() {
            return Ok(InsertPasskey::CredentialTaken);
        }
        index.insert(record.credential_id.as_slice(), key)?;
        self.put_passkey(record)?;
        Ok(InsertPasskey::Inserted)
    }

    /// Replaces a passkey's record (new counter, last use); its credential id is unchanged.
    pub fn put_passkey(&self, record: &PasskeyRecord) -> Result<(), StoreError> {
        let key = (record.user.as_u128(), record.id.as_u128());
        self.txn
            .open_table(PASSKEYS)?
            .insert(key, encode(record)?.as_slice())?;
        Ok(())
    }

    /// Removes one of `user`'s passkeys; false when they have none with that id.
    pub fn delete_passkey(&self, user: UserId, id: PasskeyId) -> Result<bool, StoreError> {
        let removed = self
            .txn
            .open_table(PASSKEYS)?
            .remove((user.as_u128(), id.as_u128()))?
            .map(|v| decode::<PasskeyRecord>(v.value()))
            .transpose()?;
        let Some(record) = removed else {
            return Ok(false);
        };
        self.txn
            .open_table(PASSKEYS_BY_CREDENTIAL)?
            .remove(record.credential_id.as_slice())?;
        Ok(true)
    }

    pub fn delete_passkeys_of(&self, user: UserId) -> Result<(), StoreError> {
        for record in self.read_passkeys_of(user)? {
            self.delete_passkey(user, record.id)?;
        }
        Ok(())
    }
}

impl Rx {
    pub fn passkeys_of(&self, user: UserId) -> Result<Vec<PasskeyRecord>, StoreError> {
        passkeys_in(&self.txn.open_table(PASSKEYS)?, user)
    }

    pub fn passkey_by_credential(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<PasskeyRecord>, StoreError> {
        passkey_by_credential(
            &self.txn.open_table(PASSKEYS_BY_CREDENTIAL)?,
            &self.txn.open_table(PASSKEYS)?,
            credential_id,
        )
    }
}
