//! Second factors, one record per member.

use redb::ReadableTable;

use super::codec::{decode, encode};
use super::tables::SECOND_FACTORS;
use super::{Rx, StoreError, Tx};
use crate::domain::ids::UserId;
use crate::domain::second_factor::SecondFactor;

impl Tx<'_> {
    pub fn read_second_factor(&self, user: UserId) -> Result<Option<SecondFactor>, StoreError> {
        let found = self
            .txn
            .open_table(SECOND_FACTORS)?
            .get(user.as_u128())?
            .map(|v| decode(v.value()))
            .transpose()?;
        Ok(found)
    }

    pub fn put_second_factor(&self, user: UserId, factor: &SecondFactor) -> Result<(), StoreError> {
        self.txn
            .open_table(SECOND_FACTORS)?
            .insert(user.as_u128(), encode(factor)?.as_slice())?;
        Ok(())
    }

    pub fn delete_second_factor(&self, user: UserId) -> Result<(), StoreError> {
        self.txn
            .open_table(SECOND_FACTORS)?
            .remove(user.as_u128())?;
        Ok(())
    }
}

impl Rx {
    pub fn second_factor(&self, user: UserId) -> Result<Option<SecondFactor>, StoreError> {
        let found = self
            .txn
            .open_table(SECOND_FACTORS)?
            .get(user.as_u128())?
            .map(|v| decode(v.value()))
            .transpose()?;
        Ok(found)
    }
}
