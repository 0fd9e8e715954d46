//! The store's catalog and migrations: every table defined in `src/store/` exists in a new
//! database, and a database written by an earlier schema is migrated and indexed.

use std::collections::BTreeSet;
use std::path::Path;

use hearth::domain::audit::AuditFilter;
use hearth::domain::role::Role;
use hearth::store::{Store, StoreOptions};

use crate::helpers::start_time;

/// Every table name defined in the store's source files.
fn defined_tables() -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store");
    let re = regex::Regex::new(r#"(?:TableDefinition|Rows)::new\("([a-z0-9_]+)"\)"#).unwrap();
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        // The migration module's tests define a table of their own.
        if path.file_name().unwrap() == "migrate.rs" {
            continue;
        }
        let code = std::fs::read_to_string(&path).unwrap();
        for caps in re.captures_iter(&code) {
            names.insert(caps[1].to_string());
        }
    }
    names
}

#[test]
fn every_table_in_the_source_is_created_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), start_time(), StoreOptions::default()).unwrap();
    let created: BTreeSet<String> = store.table_names().unwrap().into_iter().collect();
    let defined = defined_tables();
    assert!(
        defined.len() > 30,
        "the scan found the definitions: {defined:?}"
    );
    assert_eq!(
        defined.difference(&created).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "defined but not created (missing from its file's TABLES?)"
    );
    assert_eq!(
        created.difference(&defined).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "created but defined nowhere"
    );
}

#[tokio::test]
async fn a_schema_1_database_is_migrated_and_its_rows_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/db/schema1.redb");
    std::fs::copy(&fixture, dir.path().join("hearth.redb")).unwrap();
    let data = dir.path().to_path_buf();
    let store = tokio::task::spawn_blocking(move || {
        Store::open(&data, start_time(), StoreOptions::default())
    })
    .await
    .unwrap()
    .unwrap();
    let snapshots: Vec<_> = std::fs::read_dir(dir.path().join("snapshots"))
        .unwrap()
        .collect();
    assert_eq!(snapshots.len(), 1, "a snapshot is taken before migrating");

    let checked = store
        .read(|rx| {
            let users = rx.users();
            assert_eq!(users.count()?, 6);
            assert_eq!(users.count_with_role(Role::Owner)?, 1);
            assert_eq!(users.count_with_role(Role::Admin)?, 1);
            assert_eq!(users.count_with_role(Role::Moderator)?, 1);
            assert_eq!(users.count_with_role(Role::Member)?, 3);
            let owner = users.by_login("owner")?.unwrap();
            let bob = users.by_login("bob")?.unwrap();
            let made = rx.invites().by_creator(owner.id)?;
            assert_eq!(made.len(), 1);
            assert_eq!(made[0].joined, vec![bob.id]);
            let (found, total) = users.search("a", 0, 10)?;
            let names: Vec<_> = found.iter().map(|u| u.username.as_str()).collect();
            assert_eq!((total, names), (2, vec!["adele", "alice"]));
            let by_owner = rx.audit().page(
                &AuditFilter {
                    actor: Some(owner.id),
                    ..AuditFilter::default()
                },
                None,
                100,
            )?;
            assert!(by_owner.entries.len() >= 3, "{:?}", by_owner.entries);
            Ok::<_, hearth::store::StoreError>(())
        })
        .await;
    checked.unwrap();
    // Carol's verification link is indexed by expiry: it goes when it expires.
    let far_future = start_time() + jiff::SignedDuration::from_hours(24 * 365);
    let purged = store
        .write(move |tx| tx.one_time_tokens().purge_expired(far_future, 100))
        .await
        .unwrap();
    assert_eq!(purged, 1);
    store.close().await;
}
