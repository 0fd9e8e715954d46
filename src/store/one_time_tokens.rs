//! One-time tokens (email verification, password reset, the pending second step of a
//! sign-in), stored under their SHA-256, with indexes by expiry (so a schedule purges expired
//! ones without reading the rest) and by member (so deleting an account takes its tokens).

use jiff::Timestamp;
use redb::{
    MultimapTableDefinition, ReadableMultimapTable, ReadableTable, TableDefinition,
    WriteTransaction,
};

use super::codec::decode;
use super::instance::TokenHash;
use super::tables::CatalogTable;
use super::{Rows, Rx, Snapshot, StoreError, Tx};
use crate::domain::ids::UserId;
use crate::domain::invite::OneTimeToken;

/// SHA-256 of a one-time token → `OneTimeToken`.
const TOKENS: Rows<&[u8; 32], OneTimeToken> = Rows::new("one_time_tokens");
/// (expiry in Unix ms, token hash) → ().
const BY_EXPIRY: TableDefinition<(i64, &[u8; 32]), ()> =
    TableDefinition::new("one_time_tokens_by_expiry");
/// user id → token hashes.
const BY_USER: MultimapTableDefinition<u128, &[u8; 32]> =
    MultimapTableDefinition::new("one_time_tokens_by_user");

/// This aggregate's tables, for the catalog.
pub(super) const TABLES: &[&dyn CatalogTable] = &[&TOKENS, &BY_EXPIRY, &BY_USER];

/// Builds the indexes of a database written before they existed (schema 1 → 2).
pub(super) fn index_tokens(txn: &WriteTransaction) -> Result<(), StoreError> {
    let tokens = txn.open_table(TOKENS.def)?;
    let mut by_expiry = txn.open_table(BY_EXPIRY)?;
    let mut by_user = txn.open_multimap_table(BY_USER)?;
    for entry in tokens.iter()? {
        let (hash, raw) = entry?;
        let token: OneTimeToken = decode(raw.value())?;
        by_expiry.insert((token.expires_at.as_millisecond(), hash.value()), ())?;
        by_user.insert(token.user.as_u128(), hash.value())?;
    }
    Ok(())
}

pub struct OneTimeTokens<'s, S>(&'s S);

impl Rx {
    pub fn one_time_tokens(&self) -> OneTimeTokens<'_, Self> {
        OneTimeTokens(self)
    }
}

impl<'t> Tx<'t> {
    pub fn one_time_tokens(&self) -> OneTimeTokens<'_, Self> {
        OneTimeTokens(self)
    }
}

impl<S: Snapshot> OneTimeTokens<'_, S> {
    pub fn get(&self, hash: &TokenHash) -> Result<Option<OneTimeToken>, StoreError> {
        TOKENS.get(self.0, hash)
    }
}

impl OneTimeTokens<'_, Tx<'_>> {
    pub fn put(&self, hash: &TokenHash, token: &OneTimeToken) -> Result<(), StoreError> {
        TOKENS.insert(self.0, hash, token)?;
        self.0
            .table(BY_EXPIRY)?
            .insert((token.expires_at.as_millisecond(), hash), ())?;
        self.0
            .multimap(BY_USER)?
            .insert(token.user.as_u128(), hash)?;
        Ok(())
    }

    /// Removes and returns a token: a token works once.
    pub fn take(&self, hash: &TokenHash) -> Result<Option<OneTimeToken>, StoreError> {
        let Some(token) = TOKENS.remove(self.0, hash)? else {
            return Ok(None);
        };
        self.0
            .table(BY_EXPIRY)?
            .remove((token.expires_at.as_millisecond(), hash))?;
        self.0
            .multimap(BY_USER)?
            .remove(token.user.as_u128(), hash)?;
        Ok(Some(token))
    }

    /// Removes every token of a member.
    pub fn delete_of_user(&self, user: UserId) -> Result<(), StoreError> {
        let hashes: Vec<TokenHash> = self
            .0
            .multimap(BY_USER)?
            .get(user.as_u128())?
            .map(|e| e.map(|v| *v.value()))
            .collect::<Result<_, _>>()?;
        for hash in &hashes {
            self.take(hash)?;
        }
        Ok(())
    }

    /// Removes tokens that expired before `now`, at most `limit`; returns how many.
    pub fn purge_expired(&self, now: Timestamp, limit: usize) -> Result<u64, StoreError> {
        let expired: Vec<TokenHash> = self
            .0
            .table(BY_EXPIRY)?
            .range(..(now.as_millisecond(), &[0u8; 32]))?
            .take(limit)
            .map(|e| e.map(|(k, _)| *k.value().1))
            .collect::<Result<_, _>>()?;
        for hash in &expired {
            self.take(hash)?;
        }
        Ok(expired.len() as u64)
    }
}
