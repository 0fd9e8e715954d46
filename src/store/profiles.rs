//! Member profiles, one per member under the member's id.

use super::tables::CatalogTable;
use super::{Rows, Rx, Snapshot, StoreError, Tx};
use crate::domain::ids::UserId;
use crate::domain::profile::Profile;

/// member id → `Profile`.
const PROFILES: Rows<u128, Profile> = Rows::new("profiles");

/// This aggregate's tables, for the catalog.
pub(super) const TABLES: &[&dyn CatalogTable] = &[&PROFILES];

pub struct Profiles<'s, S>(&'s S);

impl Rx {
    pub fn profiles(&self) -> Profiles<'_, Self> {
        Profiles(self)
    }
}

impl<'t> Tx<'t> {
    pub fn profiles(&self) -> Profiles<'_, Self> {
        Profiles(self)
    }
}

impl<S: Snapshot> Profiles<'_, S> {
    pub fn get(&self, member: UserId) -> Result<Option<Profile>, StoreError> {
        PROFILES.get(self.0, member.as_u128())
    }
}

impl Profiles<'_, Tx<'_>> {
    pub fn put(&self, profile: &Profile) -> Result<(), StoreError> {
        PROFILES.insert(self.0, profile.member.as_u128(), profile)
    }

    pub fn delete(&self, member: UserId) -> Result<Option<Profile>, StoreError> {
        PROFILES.remove(self.0, member.as_u128())
    }
}
