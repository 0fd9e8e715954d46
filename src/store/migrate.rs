//! Schema versions and migrations.
//!
//! The schema version is the number of migrations plus one. Opening a database written by an
//! older Hearth copies the file to `snapshots/` first, then runs the missing migrations in one
//! transaction; a database from a newer Hearth is refused rather than misread.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use redb::{Database, WriteTransaction};

use super::StoreError;
use super::instance::{
    schema_version as read_version, write_created_at, write_schema_version as write_version,
};

/// One step from version `to - 1` to `to`.
pub struct Migration {
    pub to: u32,
    pub description: &'static str,
    pub run: fn(&WriteTransaction) -> Result<(), StoreError>,
}

/// Every migration, in order. The first schema is version 1 and needs none.
pub const MIGRATIONS: &[Migration] = &[Migration {
    to: 2,
    description: "index accounts by role, one-time tokens by expiry and member, invitations by creator and member, the approval queue by time, the audit log by actor, failed jobs by age",
    run: index_v2,
}];

/// Schema 2 added secondary indexes; build them from the rows already there.
fn index_v2(txn: &WriteTransaction) -> Result<(), StoreError> {
    super::users::index_roles(txn)?;
    super::one_time_tokens::index_tokens(txn)?;
    super::invites::index_invites(txn)?;
    super::approvals::index_queue(txn)?;
    super::audit::index_actors(txn)?;
    super::jobs::index_failed(txn)?;
    Ok(())
}

pub fn target_version(migrations: &[Migration]) -> u32 {
    u32::try_from(migrations.len()).unwrap_or(u32::MAX - 1) + 1
}

fn open_db(path: &Path, cache_bytes: usize) -> Result<Database, StoreError> {
    Database::builder()
        .set_cache_size(cache_bytes)
        .create(path)
        .map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Locked {
                path: path.to_path_buf(),
            },
            redb::DatabaseError::Storage(redb::StorageError::Io(io)) => StoreError::io(path, &io),
            other => StoreError::from(other),
        })
}

pub fn open_and_migrate(
    path: &Path,
    data_dir: &Path,
    now: Timestamp,
    migrations: &[Migration],
    cache_bytes: usize,
) -> Result<Database, StoreError> {
    let target = target_version(migrations);
    let db = open_db(path, cache_bytes)?;
    match read_version(&db)? {
        None => {
            let txn = db.begin_write()?;
            write_version(&txn, target)?;
            super::tables::create_all(&txn)?;
            write_created_at(&txn, now)?;
            txn.commit()?;
            Ok(db)
        }
        Some(found) if found > target => Err(StoreError::NewerSchema {
            found,
            supported: target,
        }),
        Some(found) if found == target => {
            let txn = db.begin_write()?;
            super::tables::create_all(&txn)?;
            txn.commit()?;
            Ok(db)
        }
        Some(found) => {
            // Copy the file while nothing holds it open, so the snapshot is a clean database.
            drop(db);
            let snapshot = snapshot_before_migration(path, data_dir, found, now)?;
            tracing::info!(from = found, to = target, snapshot = %snapshot.display(), "migrating the database");
            let db = open_db(path, cache_bytes)?;
            let txn = db.begin_write()?;
            for m in migrations.iter().filter(|m| m.to > found) {
                tracing::info!(to = m.to, "migration: {}", m.description);
                (m.run)(&txn)?;
            }
            write_version(&txn, target)?;
            super::tables::create_all(&txn)?;
            txn.commit()?;
            Ok(db)
        }
    }
}

fn snapshot_before_migration(
    path: &Path,
    data_dir: &Path,
    version: u32,
    now: Timestamp,
) -> Result<PathBuf, StoreError> {
    let dir = data_dir.join("snapshots");
    std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, &e))?;
    let stamp = now.strftime("%Y%m%dT%H%M%SZ");
    let target = dir.join(format!("hearth-schema{version}-{stamp}.redb"));
    std::fs::copy(path, &target).map_err(|e| StoreError::io(&target, &e))?;
    std::fs::File::open(&target)
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::io(&target, &e))?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::ReadableDatabase;

    const NOTES: redb::TableDefinition<&str, &str> = redb::TableDefinition::new("notes");

    fn add_note(txn: &WriteTransaction) -> Result<(), StoreError> {
        txn.open_table(NOTES)?.insert("migrated", "yes")?;
        Ok(())
    }

    const V2: &[Migration] = &[Migration {
        to: 2,
        description: "add a note",
        run: add_note,
    }];

    #[test]
    fn migrates_after_a_snapshot_and_refuses_newer_databases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.redb");
        let now = Timestamp::from_second(1_800_000_000).unwrap();

        let db = open_and_migrate(&path, dir.path(), now, &[], 1 << 20).unwrap();
        assert_eq!(read_version(&db).unwrap(), Some(1));
        drop(db);

        let db = open_and_migrate(&path, dir.path(), now, V2, 1 << 20).unwrap();
        assert_eq!(read_version(&db).unwrap(), Some(2));
        let txn = db.begin_read().unwrap();
        assert_eq!(
            txn.open_table(NOTES)
                .unwrap()
                .get("migrated")
                .unwrap()
                .unwrap()
                .value(),
            "yes"
        );
        drop(txn);
        drop(db);

        let snapshots: Vec<_> = std::fs::read_dir(dir.path().join("snapshots"))
            .unwrap()
            .collect();
        assert_eq!(snapshots.len(), 1);
        let snap = snapshots[0].as_ref().unwrap().path();
        assert!(
            snap.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("hearth-schema1-")
        );
        // The snapshot is the version-1 database, untouched by the migration.
        let old = Database::open(&snap).unwrap();
        assert_eq!(read_version(&old).unwrap(), Some(1));
        drop(old);

        match open_and_migrate(&path, dir.path(), now, &[], 1 << 20) {
            Err(StoreError::NewerSchema {
                found: 2,
                supported: 1,
            }) => {}
            other => panic!("expected NewerSchema, got {:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn a_second_open_is_refused_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.redb");
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let _db = open_and_migrate(&path, dir.path(), now, &[], 1 << 20).unwrap();
        let err = open_and_migrate(&path, dir.path(), now, &[], 1 << 20)
            .map(|_| ())
            .unwrap_err();
        assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    }
}
