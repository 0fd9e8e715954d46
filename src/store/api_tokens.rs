//! Personal API tokens, stored under the SHA-256 of the token with a per-user index.

use redb::{ReadableMultimapTable, ReadableTable};

use super::accounts::TokenHash;
use super::codec::{decode, encode};
use super::tables::{API_TOKENS, API_TOKENS_BY_USER};
use super::{Rx, StoreError, Tx};
use crate::domain::api_token::ApiToken;
use crate::domain::ids::UserId;

impl Tx<'_> {
    pub fn insert_api_token(&self, hash: &TokenHash, token: &ApiToken) -> Result<(), StoreError> {
        self.txn
            .open_table(API_TOKENS)?
            .insert(hash, encode(token)?.as_slice())?;
        self.txn
            .open_multimap_table(API_TOKENS_BY_USER)?
            .insert(token.user.as_u128(), hash)?;
        Ok(())
    }

    /// Deletes every token of the user (account deletion).
    pub fn delete_api_tokens_of(&self, user: UserId) -> Result<(), StoreError> {
        let hashes: Vec<TokenHash> = {
            let index = self.txn.open_multimap_table(API_TOKENS_BY_USER)?;
            index
                .get(user.as_u128())?
                .map(|e| e.map(|v| *v.value()))
                .collect::<Result<_, _>>()?
        };
        let mut tokens = self.txn.open_table(API_TOKENS)?;
        for hash in &hashes {
            tokens.remove(hash)?;
        }
        self.txn
            .open_multimap_table(API_TOKENS_BY_USER)?
            .remove_all(user.as_u128())?;
        Ok(())
    }

    /// Deletes the user's token with public handle `id`; false if there is none.
    pub fn delete_api_token(&self, user: UserId, id: &str) -> Result<bool, StoreError> {
        let found = {
            let index = self.txn.open_multimap_table(API_TOKENS_BY_USER)?;
            let tokens = self.txn.open_table(API_TOKENS)?;
            let mut found = None;
            for entry in index.get(user.as_u128())? {
                let hash = *entry?.value();
                if let Some(raw) = tokens.get(&hash)?
                    && decode::<ApiToken>(raw.value())?.id == id
                {
                    found = Some(hash);
                }
            }
            found
        };
        let Some(hash) = found else { return Ok(false) };
        self.txn.open_table(API_TOKENS)?.remove(&hash)?;
        self.txn
            .open_multimap_table(API_TOKENS_BY_USER)?
            .remove(user.as_u128(), &hash)?;
        Ok(true)
    }
}

impl Rx {
    pub fn api_token(&self, hash: &TokenHash) -> Result<Option<ApiToken>, StoreError> {
        let token = self
            .txn
            .open_table(API_TOKENS)?
            .get(hash)?
            .map(|v| decode(v.value()))
            .transpose()?;
        Ok(token)
    }

    pub fn api_tokens_of(&self, user: UserId) -> Result<Vec<ApiToken>, StoreError> {
        let index = self.txn.open_multimap_table(API_TOKENS_BY_USER)?;
        let tokens = self.txn.open_table(API_TOKENS)?;
        let mut out = Vec::new();
        for entry in index.get(user.as_u128())? {
            if let Some(raw) = tokens.get(entry?.value())? {
                out.push(decode(raw.value())?);
            }
        }
        Ok(out)
    }
}
