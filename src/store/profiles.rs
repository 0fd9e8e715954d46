//! Member profiles, one per member under the member's id.

use redb::{ReadableTable, TableDefinition};

use super::tables::CatalogTable;
use super::{Rows, Rx, Snapshot, StoreError, Tx};
use crate::domain::ids::UserId;
use crate::domain::profile::Profile;

/// member id → `Profile`.
const PROFILES: Rows<u128, Profile> = Rows::new("profiles");

/// (viewed, viewer) → last viewed at ms: one row per viewer, updated on a repeat.
const VIEWS: TableDefinition<(u128, u128), i64> = TableDefinition::new("profile_views");
/// (viewed, viewed at ms, viewer) → (): the same, newest last.
const VIEWS_BY_TIME: TableDefinition<(u128, i64, u128), ()> =
    TableDefinition::new("profile_views_by_time");
/// (viewer, viewed) → (): whose profiles a member viewed (for erasing them).
const VIEWED: TableDefinition<(u128, u128), ()> = TableDefinition::new("profile_views_by_viewer");

/// member → when they were last active (ms): a sign-in or a session in use, at most every
/// few minutes.
const ACTIVE: TableDefinition<u128, i64> = TableDefinition::new("members_active");

/// This aggregate's tables, for the catalog.
pub(super) const TABLES: &[&dyn CatalogTable] =
    &[&PROFILES, &VIEWS, &VIEWS_BY_TIME, &VIEWED, &ACTIVE];

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

impl<S: Snapshot> Profiles<'_, S> {
    /// When the member was last active (ms), if ever.
    pub fn last_active(&self, member: UserId) -> Result<Option<i64>, StoreError> {
        Ok(self
            .0
            .table(ACTIVE)?
            .get(member.as_u128())?
            .map(|v| v.value()))
    }

    /// Every profile, decoded one at a time (for rebuilding projections).
    pub fn for_each(&self, mut f: impl FnMut(Profile)) -> Result<(), StoreError> {
        for entry in PROFILES.open(self.0)?.iter()? {
            f(super::codec::decode(entry?.1.value())?);
        }
        Ok(())
    }

    /// When `viewer` last looked at `viewed`'s profile (ms).
    pub fn viewed_at(&self, viewed: UserId, viewer: UserId) -> Result<Option<i64>, StoreError> {
        Ok(self
            .0
            .table(VIEWS)?
            .get((viewed.as_u128(), viewer.as_u128()))?
            .map(|v| v.value()))
    }

    /// Who viewed `member`'s profile, newest first: (viewer, at ms), older than `before`.
    pub fn viewers_of(
        &self,
        member: UserId,
        before: Option<(i64, UserId)>,
        limit: usize,
    ) -> Result<Vec<(UserId, i64)>, StoreError> {
        let m = member.as_u128();
        let upper = before.map_or((m, i64::MAX, u128::MAX), |(ms, id)| {
            (m, ms, id.as_u128().saturating_sub(1))
        });
        let mut out = Vec::new();
        for entry in self
            .0
            .table(VIEWS_BY_TIME)?
            .range((m, i64::MIN, 0)..=upper)?
            .rev()
            .take(limit)
        {
            let (_, ms, viewer) = entry?.0.value();
            out.push((UserId::from_u128(viewer), ms));
        }
        Ok(out)
    }
}

impl Profiles<'_, Tx<'_>> {
    /// Notes that the member is active now.
    pub fn record_active(&self, member: UserId, at_ms: i64) -> Result<(), StoreError> {
        self.0.table(ACTIVE)?.insert(member.as_u128(), at_ms)?;
        self.0
            .emit(crate::events::Event::MemberActive { member, at_ms });
        Ok(())
    }

    /// Records that `viewer` looked at `viewed`'s profile (one row per viewer).
    pub fn record_view(
        &self,
        viewed: UserId,
        viewer: UserId,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let (m, v) = (viewed.as_u128(), viewer.as_u128());
        let mut views = self.0.table(VIEWS)?;
        let mut by_time = self.0.table(VIEWS_BY_TIME)?;
        if let Some(old) = views.insert((m, v), at_ms)? {
            by_time.remove((m, old.value(), v))?;
        }
        by_time.insert((m, at_ms, v), ())?;
        self.0.table(VIEWED)?.insert((v, m), ())?;
        Ok(())
    }

    fn forget_view(&self, viewed: u128, viewer: u128) -> Result<(), StoreError> {
        if let Some(old) = self.0.table(VIEWS)?.remove((viewed, viewer))? {
            self.0
                .table(VIEWS_BY_TIME)?
                .remove((viewed, old.value(), viewer))?;
        }
        self.0.table(VIEWED)?.remove((viewer, viewed))?;
        Ok(())
    }

    /// Views of and by a member (account deletion).
    pub fn erase_views(&self, member: UserId) -> Result<(), StoreError> {
        let m = member.as_u128();
        let viewers: Vec<u128> = self
            .0
            .table(VIEWS)?
            .range((m, 0)..=(m, u128::MAX))?
            .map(|e| e.map(|(k, _)| k.value().1))
            .collect::<Result<_, _>>()?;
        for v in viewers {
            self.forget_view(m, v)?;
        }
        let viewed: Vec<u128> = self
            .0
            .table(VIEWED)?
            .range((m, 0)..=(m, u128::MAX))?
            .map(|e| e.map(|(k, _)| k.value().1))
            .collect::<Result<_, _>>()?;
        for other in viewed {
            self.forget_view(other, m)?;
        }
        Ok(())
    }

    pub fn put(&self, profile: &Profile) -> Result<(), StoreError> {
        PROFILES.insert(self.0, profile.member.as_u128(), profile)
    }

    pub fn delete(&self, member: UserId) -> Result<Option<Profile>, StoreError> {
        self.0.table(ACTIVE)?.remove(member.as_u128())?;
        PROFILES.remove(self.0, member.as_u128())
    }
}
