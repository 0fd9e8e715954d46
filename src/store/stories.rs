//! Stories, by author and by expiry, and who viewed each (one row per viewer).

use redb::{ReadableTable, TableDefinition};

use super::tables::CatalogTable;
use super::{Rows, Rx, Snapshot, StoreError, Tx};
use crate::domain::ids::{StoryId, UserId};
use crate::domain::story::Story;

/// story id → `Story`.
const STORIES: Rows<u128, Story> = Rows::new("stories");
/// (author, story id) → ().
const BY_AUTHOR: TableDefinition<(u128, u128), ()> = TableDefinition::new("stories_by_author");
/// (expires at ms, story id) → (): the live stories, soonest to go first.
const BY_EXPIRY: TableDefinition<(i64, u128), ()> = TableDefinition::new("stories_by_expiry");
/// (story id, viewer) → viewed at ms.
const VIEWS: TableDefinition<(u128, u128), i64> = TableDefinition::new("story_views");
/// (viewer, story id) → (): what a member viewed (for erasing them).
const VIEWED: TableDefinition<(u128, u128), ()> = TableDefinition::new("story_views_by_viewer");

pub(super) const TABLES: &[&dyn CatalogTable] =
    &[&STORIES, &BY_AUTHOR, &BY_EXPIRY, &VIEWS, &VIEWED];

pub struct Stories<'s, S>(&'s S);

impl Rx {
    pub fn stories(&self) -> Stories<'_, Self> {
        Stories(self)
    }
}

impl<'t> Tx<'t> {
    pub fn stories(&self) -> Stories<'_, Self> {
        Stories(self)
    }
}

impl<S: Snapshot> Stories<'_, S> {
    pub fn get(&self, id: StoryId) -> Result<Option<Story>, StoreError> {
        STORIES.get(self.0, id.as_u128())
    }

    /// Stories that expire after `now_ms`, newest first, at most `limit`.
    pub fn live(&self, now_ms: i64, limit: usize) -> Result<Vec<Story>, StoreError> {
        let stories = STORIES.open(self.0)?;
        let mut out = Vec::new();
        for entry in self
            .0
            .table(BY_EXPIRY)?
            .range((now_ms.saturating_add(1), 0)..)?
            .rev()
            .take(limit)
        {
            out.extend(STORIES.get_in(&stories, entry?.0.value().1)?);
        }
        Ok(out)
    }

    pub fn of_author(&self, author: UserId) -> Result<Vec<StoryId>, StoreError> {
        let a = author.as_u128();
        self.0
            .table(BY_AUTHOR)?
            .range((a, 0)..=(a, u128::MAX))?
            .map(|e| e.map(|(k, _)| StoryId::from_u128(k.value().1)))
            .collect::<Result<_, _>>()
            .map_err(StoreError::from)
    }

    pub fn viewed(&self, id: StoryId, viewer: UserId) -> Result<bool, StoreError> {
        Ok(self
            .0
            .table(VIEWS)?
            .get((id.as_u128(), viewer.as_u128()))?
            .is_some())
    }

    /// Who viewed a story, with when (ms), newest first.
    pub fn viewers(&self, id: StoryId) -> Result<Vec<(UserId, i64)>, StoreError> {
        let s = id.as_u128();
        let mut out: Vec<(UserId, i64)> = self
            .0
            .table(VIEWS)?
            .range((s, 0)..=(s, u128::MAX))?
            .map(|e| e.map(|(k, v)| (UserId::from_u128(k.value().1), v.value())))
            .collect::<Result<_, _>>()?;
        out.sort_by_key(|(_, ms)| std::cmp::Reverse(*ms));
        Ok(out)
    }
}

impl Stories<'_, Tx<'_>> {
    pub fn insert(&self, story: &Story) -> Result<(), StoreError> {
        let id = story.id.as_u128();
        self.0
            .table(BY_AUTHOR)?
            .insert((story.author.as_u128(), id), ())?;
        self.0
            .table(BY_EXPIRY)?
            .insert((story.expires_at.as_millisecond(), id), ())?;
        STORIES.insert(self.0, id, story)
    }

    /// Records a view; `true` when it is the viewer's first.
    pub fn record_view(&self, id: StoryId, viewer: UserId, at_ms: i64) -> Result<bool, StoreError> {
        let (s, v) = (id.as_u128(), viewer.as_u128());
        let first = self.0.table(VIEWS)?.insert((s, v), at_ms)?.is_none();
        self.0.table(VIEWED)?.insert((v, s), ())?;
        Ok(first)
    }

    /// Removes a story with its views; returns it.
    pub fn delete(&self, id: StoryId) -> Result<Option<Story>, StoreError> {
        let Some(story) = STORIES.remove(self.0, id.as_u128())? else {
            return Ok(None);
        };
        let s = id.as_u128();
        self.0
            .table(BY_AUTHOR)?
            .remove((story.author.as_u128(), s))?;
        self.0
            .table(BY_EXPIRY)?
            .remove((story.expires_at.as_millisecond(), s))?;
        for (viewer, _) in self.viewers(id)? {
            self.0.table(VIEWS)?.remove((s, viewer.as_u128()))?;
            self.0.table(VIEWED)?.remove((viewer.as_u128(), s))?;
        }
        Ok(Some(story))
    }

    /// A member's stories and their views of others' (account deletion).
    pub fn erase_member(&self, member: UserId) -> Result<(), StoreError> {
        for id in self.of_author(member)? {
            self.delete(id)?;
        }
        let m = member.as_u128();
        let viewed: Vec<u128> = self
            .0
            .table(VIEWED)?
            .range((m, 0)..=(m, u128::MAX))?
            .map(|e| e.map(|(k, _)| k.value().1))
            .collect::<Result<_, _>>()?;
        for s in viewed {
            self.0.table(VIEWS)?.remove((s, m))?;
            self.0.table(VIEWED)?.remove((m, s))?;
        }
        Ok(())
    }
}
