//! Everything Hearth holds about a member, module by module: each module that keeps member
//! data registers a [`MemberData`] part that exports it (the member's data export) and erases
//! it (account deletion). Export and deletion iterate the registered parts, so a module that
//! registers its part is covered by both; a test fills every module with a member's data,
//! deletes the account and finds the member's id in no table.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::domain::account::User;
use crate::store::{Rx, StoreError, Tx};

/// One module's share of a member's data.
pub trait MemberData: Send + Sync {
    /// The section name in the export, e.g. `media`.
    fn name(&self) -> &'static str;
    /// What the member may take away (no secrets that would let someone impersonate them).
    fn export(&self, rx: &Rx, user: &User) -> Result<Value, StoreError>;
    /// Removes (or anonymises, where others' records must keep their shape) everything this
    /// module holds about `user`, inside the transaction that deletes the account.
    fn erase(&self, tx: &Tx<'_>, user: &User) -> Result<(), StoreError>;
}

/// The registered parts, in order.
#[derive(Clone, Default)]
pub struct MemberDataParts {
    parts: Arc<Vec<Box<dyn MemberData>>>,
}

impl MemberDataParts {
    pub fn new(parts: Vec<Box<dyn MemberData>>) -> Self {
        Self {
            parts: Arc::new(parts),
        }
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.parts.iter().map(|p| p.name()).collect()
    }

    /// The member's data, one section per part, after a `format` header.
    pub fn export(&self, rx: &Rx, user: &User, exported_at: &str) -> Result<Value, StoreError> {
        let mut doc = serde_json::Map::new();
        doc.insert(
            "format".into(),
            json!({"name": "hearth-export", "version": 1, "exported_at": exported_at}),
        );
        for part in self.parts.iter() {
            doc.insert(part.name().into(), part.export(rx, user)?);
        }
        Ok(Value::Object(doc))
    }

    /// Erases every part's data, then the account itself, in the caller's transaction.
    pub fn erase_account(&self, tx: &Tx<'_>, user: &User) -> Result<(), StoreError> {
        for part in self.parts.iter() {
            part.erase(tx, user)?;
        }
        tx.users().delete(user)
    }
}
