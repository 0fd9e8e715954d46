//! Facts about the instance itself, in the `meta` table: the schema version, when the
//! database was created, the one-time owner setup token, and the site settings.
//!
//! Settings are one JSON document (not the postcard codec) because they gain fields over time
//! and an old document must read back with defaults for the new ones.

use jiff::Timestamp;
use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::tables::CatalogTable;
use super::{Rx, Snapshot, StoreError, Tx};
use crate::domain::settings::SiteSettings;
use crate::events::Event;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

const VERSION_KEY: &str = "schema_version";
const CREATED_KEY: &str = "created_at";
const SETUP_TOKEN_KEY: &str = "setup_token_hash";
const SETUP_DONE_KEY: &str = "setup_completed_at";
const SETTINGS_KEY: &str = "site_settings";

/// This aggregate's tables, for the catalog.
pub(super) const TABLES: &[&dyn CatalogTable] = &[&META];

/// The schema version of a database, `None` for a new (empty) one.
pub(super) fn schema_version(db: &redb::Database) -> Result<Option<u32>, StoreError> {
    let txn = db.begin_read()?;
    let table = match txn.open_table(META) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let Some(raw) = table.get(VERSION_KEY)? else {
        return Ok(None);
    };
    let bytes: [u8; 4] = raw
        .value()
        .try_into()
        .map_err(|_| StoreError::Corrupt("schema version is not 4 bytes".into()))?;
    Ok(Some(u32::from_le_bytes(bytes)))
}

pub(super) fn write_schema_version(txn: &WriteTransaction, version: u32) -> Result<(), StoreError> {
    txn.open_table(META)?
        .insert(VERSION_KEY, version.to_le_bytes().as_slice())?;
    Ok(())
}

pub(super) fn write_created_at(txn: &WriteTransaction, now: Timestamp) -> Result<(), StoreError> {
    txn.open_table(META)?
        .insert(CREATED_KEY, now.as_millisecond().to_le_bytes().as_slice())?;
    Ok(())
}

/// SHA-256 of a secret token: what is stored instead of the token.
pub type TokenHash = [u8; 32];

pub struct Instance<'s, S>(&'s S);

impl Rx {
    pub fn instance(&self) -> Instance<'_, Self> {
        Instance(self)
    }
}

impl<'t> Tx<'t> {
    pub fn instance(&self) -> Instance<'_, Self> {
        Instance(self)
    }
}

impl<S: Snapshot> Instance<'_, S> {
    pub fn setup_token_hash(&self) -> Result<Option<TokenHash>, StoreError> {
        let meta = self.0.table(META)?;
        let stored = meta
            .get(SETUP_TOKEN_KEY)?
            .and_then(|v| <TokenHash>::try_from(v.value()).ok());
        Ok(stored)
    }

    pub fn setup_completed(&self) -> Result<bool, StoreError> {
        Ok(self.0.table(META)?.get(SETUP_DONE_KEY)?.is_some())
    }

    /// A key this instance made for itself (`vapid`, `unsubscribe`), if it has.
    pub fn secret(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .0
            .table(META)?
            .get(format!("secret:{name}").as_str())?
            .map(|v| v.value().to_vec()))
    }

    /// The stored settings, or the defaults when none were ever saved.
    pub fn settings(&self) -> Result<SiteSettings, StoreError> {
        let table = self.0.table(META)?;
        let Some(raw) = table.get(SETTINGS_KEY)? else {
            return Ok(SiteSettings::default());
        };
        serde_json::from_slice(raw.value())
            .map_err(|e| StoreError::Corrupt(format!("site settings: {e}")))
    }
}

impl Instance<'_, Tx<'_>> {
    pub fn set_setup_token(&self, hash: &TokenHash) -> Result<(), StoreError> {
        self.0
            .table(META)?
            .insert(SETUP_TOKEN_KEY, hash.as_slice())?;
        Ok(())
    }

    /// Spends the setup token if `hash` matches it: true once, false ever after.
    pub fn consume_setup_token(
        &self,
        hash: &TokenHash,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut meta = self.0.table(META)?;
        let matches = meta.get(SETUP_TOKEN_KEY)?.is_some_and(|stored| {
            use subtle::ConstantTimeEq;
            bool::from(stored.value().ct_eq(hash.as_slice()))
        });
        if !matches || meta.get(SETUP_DONE_KEY)?.is_some() {
            return Ok(false);
        }
        meta.remove(SETUP_TOKEN_KEY)?;
        meta.insert(
            SETUP_DONE_KEY,
            now.as_millisecond().to_le_bytes().as_slice(),
        )?;
        Ok(true)
    }

    /// The key named `name`, made by `make` and stored the first time it is asked for.
    pub fn secret_or_insert(
        &self,
        name: &str,
        make: impl FnOnce() -> Vec<u8>,
    ) -> Result<Vec<u8>, StoreError> {
        if let Some(existing) = self.secret(name)? {
            return Ok(existing);
        }
        let made = make();
        self.0
            .table(META)?
            .insert(format!("secret:{name}").as_str(), made.as_slice())?;
        Ok(made)
    }

    /// Saves the settings and tells the bus the committed value.
    pub fn put_settings(&self, settings: &SiteSettings) -> Result<(), StoreError> {
        let json = serde_json::to_vec(settings)
            .map_err(|e| StoreError::Database(format!("encode settings: {e}")))?;
        self.0.table(META)?.insert(SETTINGS_KEY, json.as_slice())?;
        self.0.emit(Event::SettingsChanged {
            settings: std::sync::Arc::new(settings.clone()),
        });
        Ok(())
    }
}
