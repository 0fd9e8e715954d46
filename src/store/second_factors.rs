//! Second factors (TOTP secret and recovery codes), one record per member.

use super::tables::CatalogTable;
use super::{Rows, Rx, Snapshot, StoreError, Tx};
use crate::domain::ids::UserId;
use crate::domain::second_factor::SecondFactor;
use crate::events::Event;

/// user id → `SecondFactor`.
const SECOND_FACTORS: Rows<u128, SecondFactor> = Rows::new("second_factors");

/// This aggregate's tables, for the catalog.
pub(super) const TABLES: &[&dyn CatalogTable] = &[&SECOND_FACTORS];

pub struct SecondFactors<'s, S>(&'s S);

impl Rx {
    pub fn second_factors(&self) -> SecondFactors<'_, Self> {
        SecondFactors(self)
    }
}

impl<'t> Tx<'t> {
    pub fn second_factors(&self) -> SecondFactors<'_, Self> {
        SecondFactors(self)
    }
}

impl<S: Snapshot> SecondFactors<'_, S> {
    pub fn get(&self, user: UserId) -> Result<Option<SecondFactor>, StoreError> {
        SECOND_FACTORS.get(self.0, user.as_u128())
    }
}

impl SecondFactors<'_, Tx<'_>> {
    pub fn put(&self, user: UserId, factor: &SecondFactor) -> Result<(), StoreError> {
        SECOND_FACTORS.insert(self.0, user.as_u128(), factor)?;
        self.0.emit(Event::AccountChanged { user });
        Ok(())
    }

    pub fn delete(&self, user: UserId) -> Result<(), StoreError> {
        if SECOND_FACTORS.remove(self.0, user.as_u128())?.is_some() {
            self.0.emit(Event::AccountChanged { user });
        }
        Ok(())
    }
}
