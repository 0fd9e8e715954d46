//! Accounts, with their indexes: by username and by email (both stored lower-case, each one
//! account) and by role (to count owners and list staff without reading every account). The
//! indexes change in the same transaction as the account.

use redb::{ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction};

use super::codec::decode;
use super::tables::CatalogTable;
use super::{Rows, Rx, Snapshot, StoreError, Tx};
use crate::domain::account::User;
use crate::domain::ids::UserId;
use crate::domain::role::Role;
use crate::events::Event;

/// user id → `User`. Ids are UUIDv7, so the table is in sign-up order.
const USERS: Rows<u128, User> = Rows::new("users");
/// lower-case username → user id.
const BY_USERNAME: TableDefinition<&str, u128> = TableDefinition::new("users_by_username");
/// lower-case email → user id.
const BY_EMAIL: TableDefinition<&str, u128> = TableDefinition::new("users_by_email");
/// (role rank, user id) → ().
const BY_ROLE: TableDefinition<(u8, u128), ()> = TableDefinition::new("users_by_role");

/// This aggregate's tables, for the catalog.
pub(super) const TABLES: &[&dyn CatalogTable] = &[&USERS, &BY_USERNAME, &BY_EMAIL, &BY_ROLE];

/// Builds the role index of a database written before it existed (schema 1 → 2).
pub(super) fn index_roles(txn: &WriteTransaction) -> Result<(), StoreError> {
    let users = txn.open_table(USERS.def)?;
    let mut by_role = txn.open_table(BY_ROLE)?;
    for entry in users.iter()? {
        let (id, raw) = entry?;
        let user: User = decode(raw.value())?;
        by_role.insert((user.role.rank(), id.value()), ())?;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertUser {
    Inserted,
    UsernameTaken,
    EmailTaken,
}

pub struct Users<'s, S>(&'s S);

impl Rx {
    pub fn users(&self) -> Users<'_, Self> {
        Users(self)
    }
}

impl<'t> Tx<'t> {
    pub fn users(&self) -> Users<'_, Self> {
        Users(self)
    }
}

impl<S: Snapshot> Users<'_, S> {
    pub fn get(&self, id: UserId) -> Result<Option<User>, StoreError> {
        USERS.get(self.0, id.as_u128())
    }

    /// The username of `id`, or how a member whose account is gone is named.
    pub fn name_of(&self, id: UserId) -> Result<String, StoreError> {
        Ok(self.get(id)?.map_or_else(
            || crate::domain::account::FORMER_MEMBER.to_string(),
            |u| u.username,
        ))
    }

    /// Adds to `names` the username (or `FORMER_MEMBER`) of each of `members` it lacks: one
    /// read a member however often they are named.
    pub fn name_into(
        &self,
        names: &mut std::collections::HashMap<UserId, String>,
        members: impl IntoIterator<Item = UserId>,
    ) -> Result<(), StoreError> {
        for m in members {
            if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(m) {
                slot.insert(self.name_of(m)?);
            }
        }
        Ok(())
    }

    /// Finds a user by username or email (both stored lower-case).
    pub fn by_login(&self, login: &str) -> Result<Option<User>, StoreError> {
        let login = login.trim().to_lowercase();
        let index = if login.contains('@') {
            BY_EMAIL
        } else {
            BY_USERNAME
        };
        let id = self.0.table(index)?.get(login.as_str())?.map(|v| v.value());
        match id {
            Some(id) => self.get(UserId::from_u128(id)),
            None => Ok(None),
        }
    }

    /// Every account, decoded one at a time.
    pub fn for_each(&self, mut f: impl FnMut(User)) -> Result<(), StoreError> {
        for entry in USERS.open(self.0)?.iter()? {
            f(decode(entry?.1.value())?);
        }
        Ok(())
    }

    pub fn count(&self) -> Result<u64, StoreError> {
        Ok(USERS.open(self.0)?.len()?)
    }

    pub fn count_with_role(&self, role: Role) -> Result<u64, StoreError> {
        let r = role.rank();
        let mut n = 0;
        for entry in self.0.table(BY_ROLE)?.range((r, 0)..=(r, u128::MAX))? {
            entry?;
            n += 1;
        }
        Ok(n)
    }

    /// Accounts in sign-up order, skipping `offset`, at most `limit`.
    pub fn page(&self, offset: usize, limit: usize) -> Result<Vec<User>, StoreError> {
        let mut out = Vec::new();
        for entry in USERS.open(self.0)?.iter()?.skip(offset).take(limit) {
            out.push(decode(entry?.1.value())?);
        }
        Ok(out)
    }

    /// Accounts by username, skipping `offset`, at most `limit`.
    pub fn page_by_username(&self, offset: usize, limit: usize) -> Result<Vec<User>, StoreError> {
        let users = USERS.open(self.0)?;
        let mut out = Vec::new();
        for entry in self.0.table(BY_USERNAME)?.iter()?.skip(offset).take(limit) {
            out.extend(USERS.get_in(&users, entry?.1.value())?);
        }
        Ok(out)
    }

    /// Accounts whose username or email starts with `prefix` (lower-case), ordered by
    /// username, skipping `offset`, at most `limit`; and how many match in all. Both come
    /// from the indexes: range scans, never a walk over every account.
    pub fn search(
        &self,
        prefix: &str,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<User>, usize), StoreError> {
        let mut ids = std::collections::BTreeSet::new();
        for index in [BY_USERNAME, BY_EMAIL] {
            let table = self.0.table(index)?;
            for entry in table.range(prefix..)? {
                let (key, id) = entry?;
                if !key.value().starts_with(prefix) {
                    break;
                }
                ids.insert(id.value());
            }
        }
        let users = USERS.open(self.0)?;
        let mut matches = Vec::with_capacity(ids.len());
        for id in &ids {
            if let Some(user) = USERS.get_in(&users, *id)? {
                matches.push(user);
            }
        }
        matches.sort_by(|a, b| a.username.cmp(&b.username));
        let total = matches.len();
        Ok((
            matches.into_iter().skip(offset).take(limit).collect(),
            total,
        ))
    }

    /// Every account with `role` (staff lists are short).
    pub fn with_role(&self, role: Role) -> Result<Vec<User>, StoreError> {
        let r = role.rank();
        let users = USERS.open(self.0)?;
        let mut out = Vec::new();
        for entry in self.0.table(BY_ROLE)?.range((r, 0)..=(r, u128::MAX))? {
            out.extend(USERS.get_in(&users, entry?.0.value().1)?);
        }
        Ok(out)
    }
}

impl Users<'_, Tx<'_>> {
    /// Inserts an account with its indexes, unless its username or email is taken (then
    /// nothing is written).
    pub fn insert(&self, user: &User) -> Result<InsertUser, StoreError> {
        let mut by_name = self.0.table(BY_USERNAME)?;
        let mut by_email = self.0.table(BY_EMAIL)?;
        if by_name.get(user.username.as_str())?.is_some() {
            return Ok(InsertUser::UsernameTaken);
        }
        if by_email.get(user.email.as_str())?.is_some() {
            return Ok(InsertUser::EmailTaken);
        }
        let id = user.id.as_u128();
        by_name.insert(user.username.as_str(), id)?;
        by_email.insert(user.email.as_str(), id)?;
        self.0.table(BY_ROLE)?.insert((user.role.rank(), id), ())?;
        USERS.insert(self.0, id, user)?;
        self.0.emit(Event::MemberJoined { user: user.id });
        Ok(InsertUser::Inserted)
    }

    /// Whether a username or email is taken, to refuse before writing anything else.
    pub fn taken(&self, username: &str, email: &str) -> Result<Option<InsertUser>, StoreError> {
        if self.0.table(BY_USERNAME)?.get(username)?.is_some() {
            return Ok(Some(InsertUser::UsernameTaken));
        }
        if self.0.table(BY_EMAIL)?.get(email)?.is_some() {
            return Ok(Some(InsertUser::EmailTaken));
        }
        Ok(None)
    }

    /// Replaces an account's record, keeping the role index in step. The username and email
    /// must be unchanged.
    pub fn put(&self, user: &User) -> Result<(), StoreError> {
        let id = user.id.as_u128();
        let old = USERS
            .get(self.0, id)?
            .ok_or_else(|| StoreError::Database(format!("user {} vanished", user.id)))?;
        if old.role != user.role {
            let mut by_role = self.0.table(BY_ROLE)?;
            by_role.remove((old.role.rank(), id))?;
            by_role.insert((user.role.rank(), id), ())?;
        }
        USERS.insert(self.0, id, user)?;
        self.0.emit(Event::AccountChanged { user: user.id });
        Ok(())
    }

    /// Removes an account and its indexes (its data in other tables is each module's to erase).
    pub fn delete(&self, user: &User) -> Result<(), StoreError> {
        let id = user.id.as_u128();
        USERS.remove(self.0, id)?;
        self.0.table(BY_USERNAME)?.remove(user.username.as_str())?;
        self.0.table(BY_EMAIL)?.remove(user.email.as_str())?;
        self.0.table(BY_ROLE)?.remove((user.role.rank(), id))?;
        self.0.emit(Event::AccountDeleted { user: user.id });
        Ok(())
    }
}
