//! Personal API tokens, stored under the SHA-256 of the token with a per-member index.

use redb::{MultimapTableDefinition, ReadableMultimapTable, ReadableTable};

use super::codec::decode;
use super::instance::TokenHash;
use super::tables::CatalogTable;
use super::{Rows, Rx, Snapshot, StoreError, Tx};
use crate::domain::api_token::ApiToken;
use crate::domain::ids::UserId;
use crate::events::Event;

/// SHA-256 of a personal API token → `ApiToken`.
const API_TOKENS: Rows<&[u8; 32], ApiToken> = Rows::new("api_tokens");
/// user id → SHA-256 of each of their API tokens.
const BY_USER: MultimapTableDefinition<u128, &[u8; 32]> =
    MultimapTableDefinition::new("api_tokens_by_user");

/// This aggregate's tables, for the catalog.
pub(super) const TABLES: &[&dyn CatalogTable] = &[&API_TOKENS, &BY_USER];

pub struct ApiTokens<'s, S>(&'s S);

impl Rx {
    pub fn api_tokens(&self) -> ApiTokens<'_, Self> {
        ApiTokens(self)
    }
}

impl<'t> Tx<'t> {
    pub fn api_tokens(&self) -> ApiTokens<'_, Self> {
        ApiTokens(self)
    }
}

impl<S: Snapshot> ApiTokens<'_, S> {
    pub fn get(&self, hash: &TokenHash) -> Result<Option<ApiToken>, StoreError> {
        API_TOKENS.get(self.0, hash)
    }

    /// A member's tokens with their stored hashes.
    pub fn of_user(&self, user: UserId) -> Result<Vec<(TokenHash, ApiToken)>, StoreError> {
        let index = self.0.multimap(BY_USER)?;
        let tokens = API_TOKENS.open(self.0)?;
        let mut out = Vec::new();
        for entry in index.get(user.as_u128())? {
            let hash = *entry?.value();
            if let Some(raw) = tokens.get(&hash)? {
                out.push((hash, decode(raw.value())?));
            }
        }
        Ok(out)
    }
}

impl ApiTokens<'_, Tx<'_>> {
    pub fn insert(&self, hash: &TokenHash, token: &ApiToken) -> Result<(), StoreError> {
        API_TOKENS.insert(self.0, hash, token)?;
        self.0
            .multimap(BY_USER)?
            .insert(token.user.as_u128(), hash)?;
        self.0.emit(Event::TokensChanged { user: token.user });
        Ok(())
    }

    fn remove(&self, user: UserId, hash: &TokenHash) -> Result<(), StoreError> {
        API_TOKENS.remove(self.0, hash)?;
        self.0.multimap(BY_USER)?.remove(user.as_u128(), hash)?;
        self.0.emit(Event::TokensChanged { user });
        Ok(())
    }

    /// Deletes the member's token with public handle `id`; false if there is none.
    pub fn delete(&self, user: UserId, id: &str) -> Result<bool, StoreError> {
        let found = self
            .of_user(user)?
            .into_iter()
            .find(|(_, token)| token.id == id)
            .map(|(hash, _)| hash);
        let Some(hash) = found else { return Ok(false) };
        self.remove(user, &hash)?;
        Ok(true)
    }

    /// Deletes every token of the member.
    pub fn delete_of_user(&self, user: UserId) -> Result<(), StoreError> {
        for (hash, _) in self.of_user(user)? {
            self.remove(user, &hash)?;
        }
        Ok(())
    }
}
