//! Matches, keyed by id (time-ordered), found by pair and listed per member newest first.

use redb::{ReadableTable, TableDefinition};

use super::tables::CatalogTable;
use super::{Rows, Rx, Snapshot, StoreError, Tx};
use crate::domain::ids::{MatchId, UserId};
use crate::domain::matching::Match;

/// match id → `Match`.
const MATCHES: Rows<u128, Match> = Rows::new("matches");
/// (lower member id, higher member id) → match id: at most one match per pair.
const BY_PAIR: TableDefinition<(u128, u128), u128> = TableDefinition::new("matches_by_pair");
/// (member, match id) → the other member: a member's matches, oldest first.
const BY_MEMBER: TableDefinition<(u128, u128), u128> = TableDefinition::new("matches_by_member");

pub(super) const TABLES: &[&dyn CatalogTable] = &[&MATCHES, &BY_PAIR, &BY_MEMBER];

pub struct Matches<'s, S>(&'s S);

impl Rx {
    pub fn matches(&self) -> Matches<'_, Self> {
        Matches(self)
    }
}

impl<'t> Tx<'t> {
    pub fn matches(&self) -> Matches<'_, Self> {
        Matches(self)
    }
}

impl<S: Snapshot> Matches<'_, S> {
    pub fn get(&self, id: MatchId) -> Result<Option<Match>, StoreError> {
        MATCHES.get(self.0, id.as_u128())
    }

    pub fn between(&self, x: UserId, y: UserId) -> Result<Option<Match>, StoreError> {
        let (a, b) = crate::domain::ids::ordered_pair(x, y);
        let id = self
            .0
            .table(BY_PAIR)?
            .get((a.as_u128(), b.as_u128()))?
            .map(|id| id.value());
        match id {
            Some(id) => self.get(MatchId::from_u128(id)),
            None => Ok(None),
        }
    }

    /// A member's matches, newest first, older than `before`, at most `limit`.
    pub fn of_member(
        &self,
        member: UserId,
        before: Option<MatchId>,
        limit: usize,
    ) -> Result<Vec<Match>, StoreError> {
        let m = member.as_u128();
        let upper = before.map_or(u128::MAX, |b| b.as_u128().saturating_sub(1));
        let matches = MATCHES.open(self.0)?;
        let mut out = Vec::new();
        for entry in self
            .0
            .table(BY_MEMBER)?
            .range((m, 0)..=(m, upper))?
            .rev()
            .take(limit)
        {
            out.extend(MATCHES.get_in(&matches, entry?.0.value().1)?);
        }
        Ok(out)
    }

    /// Everyone a member is matched with.
    pub fn partners_of(&self, member: UserId) -> Result<Vec<UserId>, StoreError> {
        let m = member.as_u128();
        self.0
            .table(BY_MEMBER)?
            .range((m, 0)..=(m, u128::MAX))?
            .map(|e| e.map(|(_, other)| UserId::from_u128(other.value())))
            .collect::<Result<_, _>>()
            .map_err(StoreError::from)
    }
}

impl Matches<'_, Tx<'_>> {
    pub fn insert(&self, m: &Match) -> Result<(), StoreError> {
        let (id, a, b) = (m.id.as_u128(), m.a.as_u128(), m.b.as_u128());
        self.0.table(BY_PAIR)?.insert((a, b), id)?;
        let mut by_member = self.0.table(BY_MEMBER)?;
        by_member.insert((a, id), b)?;
        by_member.insert((b, id), a)?;
        MATCHES.insert(self.0, id, m)
    }

    /// Notes the last thing that happened between the two (a message).
    pub fn touch(&self, m: &Match, at: jiff::Timestamp) -> Result<(), StoreError> {
        let mut moved = m.clone();
        moved.last_activity = at;
        MATCHES.insert(self.0, m.id.as_u128(), &moved)
    }

    pub fn delete(&self, m: &Match) -> Result<(), StoreError> {
        let (id, a, b) = (m.id.as_u128(), m.a.as_u128(), m.b.as_u128());
        self.0.table(BY_PAIR)?.remove((a, b))?;
        let mut by_member = self.0.table(BY_MEMBER)?;
        by_member.remove((a, id))?;
        by_member.remove((b, id))?;
        MATCHES.remove(self.0, id).map(drop)
    }

    /// Every match of a member (account deletion).
    pub fn erase_member(&self, member: UserId) -> Result<(), StoreError> {
        for m in self.of_member(member, None, usize::MAX)? {
            self.delete(&m)?;
        }
        Ok(())
    }
}
