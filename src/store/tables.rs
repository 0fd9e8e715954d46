//! The catalog: every aggregate's tables. Each aggregate file declares its tables privately
//! and creates them here; `create_all` runs at every open, so a table added by a new version
//! needs no migration, and readers never meet a missing table. A test compares the tables of
//! a new database with every table definition in `src/store/`, so a file that forgets to
//! register its tables fails it.

use redb::WriteTransaction;

use super::StoreError;
use super::{
    api_tokens, approvals, audit, blobs, instance, invites, jobs, media, one_time_tokens, passkeys,
    second_factors, sessions, users,
};

/// Creates every table that does not exist yet. Idempotent.
pub fn create_all(txn: &WriteTransaction) -> Result<(), StoreError> {
    instance::create_tables(txn)?;
    users::create_tables(txn)?;
    sessions::create_tables(txn)?;
    api_tokens::create_tables(txn)?;
    second_factors::create_tables(txn)?;
    passkeys::create_tables(txn)?;
    one_time_tokens::create_tables(txn)?;
    approvals::create_tables(txn)?;
    invites::create_tables(txn)?;
    media::create_tables(txn)?;
    blobs::create_tables(txn)?;
    audit::create_tables(txn)?;
    jobs::create_tables(txn)?;
    Ok(())
}
