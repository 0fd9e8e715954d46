//! The catalog: every table, in one place. Keys are chosen so that the scans we need are
//! range scans; every index table is written in the same transaction as the rows it indexes.

use redb::{MultimapTableDefinition, TableDefinition, WriteTransaction};

use super::StoreError;

/// Instance facts: schema version, setup token hash, creation time.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// user id → encoded `User`.
pub const USERS: TableDefinition<u128, &[u8]> = TableDefinition::new("users");
/// lower-case username → user id.
pub const USERS_BY_USERNAME: TableDefinition<&str, u128> =
    TableDefinition::new("users_by_username");
/// lower-case email → user id.
pub const USERS_BY_EMAIL: TableDefinition<&str, u128> = TableDefinition::new("users_by_email");

/// SHA-256 of the session token → encoded `Session`.
pub const SESSIONS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("sessions");
/// user id → SHA-256 of each of their session tokens.
pub const SESSIONS_BY_USER: MultimapTableDefinition<u128, &[u8; 32]> =
    MultimapTableDefinition::new("sessions_by_user");

/// (due time in Unix ms, job id) → encoded `Job`: the queue, in the order jobs fall due.
pub const JOBS_PENDING: TableDefinition<(i64, u128), &[u8]> = TableDefinition::new("jobs_pending");
/// job id → due time, to find a pending job by id.
pub const JOBS_DUE: TableDefinition<u128, i64> = TableDefinition::new("jobs_due");
/// job id → encoded `Job` leased by a worker.
pub const JOBS_RUNNING: TableDefinition<u128, &[u8]> = TableDefinition::new("jobs_running");
/// job id → encoded `Job` that used up its attempts.
pub const JOBS_FAILED: TableDefinition<u128, &[u8]> = TableDefinition::new("jobs_failed");
/// dedupe key → job id, while the job is pending or running.
pub const JOBS_DEDUPE: TableDefinition<&str, u128> = TableDefinition::new("jobs_dedupe");
/// SHA-256 of a one-time token (email verification, password reset) → encoded `OneTimeToken`.
pub const ONE_TIME_TOKENS: TableDefinition<&[u8; 32], &[u8]> =
    TableDefinition::new("one_time_tokens");
/// user id → sign-up time (Unix ms), for accounts waiting for approval.
pub const PENDING_APPROVAL: TableDefinition<u128, i64> = TableDefinition::new("pending_approval");
/// invite id → encoded `Invite`.
pub const INVITES: TableDefinition<u128, &[u8]> = TableDefinition::new("invites");
/// SHA-256 of an invitation code → invite id.
pub const INVITES_BY_CODE: TableDefinition<&[u8; 32], u128> =
    TableDefinition::new("invites_by_code");

/// SHA-256 of a personal API token → encoded `ApiToken`.
pub const API_TOKENS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("api_tokens");
/// user id → SHA-256 of each of their API tokens.
pub const API_TOKENS_BY_USER: MultimapTableDefinition<u128, &[u8; 32]> =
    MultimapTableDefinition::new("api_tokens_by_user");

/// user id → encoded `SecondFactor` (TOTP secret, recovery code hashes).
pub const SECOND_FACTORS: TableDefinition<u128, &[u8]> = TableDefinition::new("second_factors");

/// (user id, passkey id) → encoded `PasskeyRecord`; a range scan lists a member's passkeys.
pub const PASSKEYS: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("passkeys");
/// WebAuthn credential id → (user id, passkey id): a credential belongs to one account.
pub const PASSKEYS_BY_CREDENTIAL: TableDefinition<&[u8], (u128, u128)> =
    TableDefinition::new("passkeys_by_credential");

/// media id → encoded `Media`. Ids are UUIDv7, so a reverse scan is newest first.
pub const MEDIA: TableDefinition<u128, &[u8]> = TableDefinition::new("media");
/// (owner id, media id) → (): a member's library.
pub const MEDIA_BY_OWNER: TableDefinition<(u128, u128), ()> =
    TableDefinition::new("media_by_owner");
/// media id → () for media waiting for staff approval (ids sort oldest first).
pub const MEDIA_QUEUE: TableDefinition<u128, ()> = TableDefinition::new("media_queue");
/// owner id → bytes uploaded, for the quota.
pub const MEDIA_USAGE: TableDefinition<u128, u64> = TableDefinition::new("media_usage");
/// blob SHA-256 → how many records use it. Written with the records, in their transaction.
pub const BLOB_REFS: TableDefinition<&[u8; 32], u64> = TableDefinition::new("blob_refs");
/// blob SHA-256 → when (Unix ms) its last reference went; the garbage collector's list.
pub const BLOBS_UNREFERENCED: TableDefinition<&[u8; 32], i64> =
    TableDefinition::new("blobs_unreferenced");

/// (time in Unix ms, entry id) → encoded `AuditEntry`: staff actions, oldest first.
pub const AUDIT_LOG: TableDefinition<(i64, u128), &[u8]> = TableDefinition::new("audit_log");

/// schedule name → next run (Unix ms).
pub const SCHEDULES: TableDefinition<&str, i64> = TableDefinition::new("schedules");

/// Creates every table that does not exist yet, so readers never meet a missing table.
/// Idempotent; runs at every open, so a table added by a new version needs no migration.
pub fn create_all(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(META)?;
    txn.open_table(USERS)?;
    txn.open_table(USERS_BY_USERNAME)?;
    txn.open_table(USERS_BY_EMAIL)?;
    txn.open_table(SESSIONS)?;
    txn.open_multimap_table(SESSIONS_BY_USER)?;
    txn.open_table(JOBS_PENDING)?;
    txn.open_table(JOBS_DUE)?;
    txn.open_table(JOBS_RUNNING)?;
    txn.open_table(JOBS_FAILED)?;
    txn.open_table(JOBS_DEDUPE)?;
    txn.open_table(SCHEDULES)?;
    txn.open_table(AUDIT_LOG)?;
    txn.open_table(ONE_TIME_TOKENS)?;
    txn.open_table(API_TOKENS)?;
    txn.open_table(SECOND_FACTORS)?;
    txn.open_table(PASSKEYS)?;
    txn.open_table(PASSKEYS_BY_CREDENTIAL)?;
    txn.open_table(MEDIA)?;
    txn.open_table(MEDIA_BY_OWNER)?;
    txn.open_table(MEDIA_QUEUE)?;
    txn.open_table(MEDIA_USAGE)?;
    txn.open_table(BLOB_REFS)?;
    txn.open_table(BLOBS_UNREFERENCED)?;
    txn.open_multimap_table(API_TOKENS_BY_USER)?;
    txn.open_table(PENDING_APPROVAL)?;
    txn.open_table(INVITES)?;
    txn.open_table(INVITES_BY_CODE)?;
    Ok(())
}
