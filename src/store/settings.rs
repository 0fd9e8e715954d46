//! Site settings: one JSON document in `meta`. JSON (not the postcard codec) because settings
//! gain fields over time and old documents must read back with defaults for the new ones.

use super::tables::META;
use super::{Rx, StoreError, Tx};
use crate::domain::settings::SiteSettings;

const KEY: &str = "site_settings";

impl Tx<'_> {
    pub fn put_settings(&self, settings: &SiteSettings) -> Result<(), StoreError> {
        let json = serde_json::to_vec(settings)
            .map_err(|e| StoreError::Database(format!("encode settings: {e}")))?;
        self.txn.open_table(META)?.insert(KEY, json.as_slice())?;
        Ok(())
    }
}

impl Rx {
    /// The stored settings, or the defaults when none were ever saved.
    pub fn settings(&self) -> Result<SiteSettings, StoreError> {
        let table = self.txn.open_table(META)?;
        let Some(raw) = table.get(KEY)? else {
            return Ok(SiteSettings::default());
        };
        serde_json::from_slice(raw.value())
            .map_err(|e| StoreError::Corrupt(format!("site settings: {e}")))
    }
}
