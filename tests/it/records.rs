//! Records: numbers made under concurrent creation (no gaps, no duplicates, a sequence per
//! direction and year, past the padding), numbers typed by hand (refused when taken), saves
//! over an old version refused, history in order.

use std::sync::Arc;

use hearth::clock::{Clock, SystemClock};
use hearth::domain::ids::{RecordId, UserId};
use hearth::domain::record::{Change, Direction, NumberFormat, Priority, Record, Visibility};
use hearth::store::{Store, StoreOptions};

#[tokio::test]
async fn numbers_have_no_gaps_or_duplicates_under_concurrent_creation() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Arc::new(Store::open(dir.path(), SystemClock.now(), StoreOptions::default()).unwrap());
    let format = Arc::new(NumberFormat::parse(Direction::Incoming.default_format()).unwrap());
    // Someone typed a letter's own number that the sequence will reach.
    let typed = store
        .write(|tx| tx.record_numbers().claim("in-2026-0010", 1_000))
        .await
        .unwrap();
    assert!(typed);
    let mut tasks = Vec::new();
    for record in 0..64u128 {
        let (store, format) = (store.clone(), format.clone());
        tasks.push(tokio::spawn(async move {
            store
                .write(move |tx| {
                    tx.record_numbers()
                        .next(Direction::Incoming, 2026, &format, record)
                })
                .await
                .unwrap()
        }));
    }
    let mut made = Vec::new();
    for t in tasks {
        made.push(t.await.unwrap());
    }
    made.sort();
    let expected: Vec<String> = (1..=65)
        .filter(|n| *n != 10)
        .map(|n| format!("IN-2026-{n:04}"))
        .collect();
    assert_eq!(
        made, expected,
        "one number each, in order, the typed one passed over"
    );

    // Another direction and the next year start their own sequences.
    let outgoing = NumberFormat::parse(Direction::Outgoing.default_format()).unwrap();
    let (a, b) = store
        .write(move |tx| {
            let numbers = tx.record_numbers();
            Ok((
                numbers.next(Direction::Outgoing, 2026, &outgoing, 100)?,
                numbers.next(Direction::Incoming, 2027, &format, 101)?,
            ))
        })
        .await
        .unwrap();
    assert_eq!((a.as_str(), b.as_str()), ("OUT-2026-0001", "IN-2027-0001"));

    // A typed number already held (in any case) is refused; released, it can be used again.
    let taken = store
        .write(|tx| tx.record_numbers().claim("IN-2026-0003", 200))
        .await
        .unwrap();
    assert!(!taken);
    let holder = store
        .read(|rx| rx.record_numbers().holder("in-2026-0010"))
        .await
        .unwrap();
    assert_eq!(holder, Some(1_000));
    let again = store
        .write(|tx| {
            tx.record_numbers().release("IN-2026-0010")?;
            tx.record_numbers().claim("IN-2026-0010", 201)
        })
        .await
        .unwrap();
    assert!(again);

    // Past the padding: 9999 → 10000.
    let wide = NumberFormat::parse("L{seq:4}").unwrap();
    let numbers = store
        .write(move |tx| {
            let n = tx.record_numbers();
            for record in 0..9_999u128 {
                n.next(Direction::Internal, 2026, &wide, 300 + record)?;
            }
            n.next(Direction::Internal, 2026, &wide, 20_000)
        })
        .await
        .unwrap();
    assert_eq!(numbers, "L10000");
    store.close().await;
}

fn change(field: &str, old: &str, new: &str) -> Change {
    Change {
        at: SystemClock.now(),
        by: UserId::from_u128(7),
        field: field.into(),
        old: old.into(),
        new: new.into(),
    }
}

/// Two saves based on the same version: one wins, the other gets the record as it now is and
/// writes nothing; the history has every line of what was saved, in order.
#[tokio::test]
async fn a_save_over_an_old_version_is_refused_and_history_keeps_order() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Arc::new(Store::open(dir.path(), SystemClock.now(), StoreOptions::default()).unwrap());
    let now = SystemClock.now();
    let record = Record {
        id: RecordId::from_u128(1),
        number: "IN-2026-0001".into(),
        direction: Direction::Incoming,
        title: "Letter from the council".into(),
        correspondent: "City Council".into(),
        content: String::new(),
        status: "new".into(),
        priority: Priority::Normal,
        owner: UserId::from_u128(7),
        assignees: Vec::new(),
        watchers: Vec::new(),
        due: None,
        tags: Vec::new(),
        visibility: Visibility::Members,
        version: 1,
        created_at: now,
        updated_at: now,
        deleted_at: None,
    };
    let first = record.clone();
    store
        .write(move |tx| {
            tx.records()
                .insert(&first, &[change("created", "", "IN-2026-0001")])
        })
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for title in ["Council letter", "Hall booking"] {
        let (store, mut edited) = (store.clone(), record.clone());
        edited.title = title.into();
        tasks.push(tokio::spawn(async move {
            store
                .write(move |tx| {
                    tx.records().update(
                        &edited,
                        1,
                        &[change("title", "Letter from the council", &edited.title)],
                    )
                })
                .await
                .unwrap()
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    let saved: Vec<&Record> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    let refused: Vec<&Option<Record>> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    assert_eq!((saved.len(), refused.len()), (1, 1));
    assert_eq!(saved[0].version, 2);
    // The refused save learns what the record is now.
    assert_eq!(refused[0].as_ref().unwrap().title, saved[0].title);

    let (stored, history) = store
        .read(|rx| {
            Ok::<_, hearth::store::StoreError>((
                rx.records().get(RecordId::from_u128(1))?,
                rx.records().history(RecordId::from_u128(1))?,
            ))
        })
        .await
        .unwrap();
    assert_eq!(stored.unwrap().title, saved[0].title);
    let fields: Vec<(&str, &str)> = history
        .iter()
        .map(|c| (c.field.as_str(), c.new.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("created", "IN-2026-0001"),
            ("title", saved[0].title.as_str())
        ]
    );
    // Nothing is saved over a record that does not exist.
    let mut ghost = record.clone();
    ghost.id = RecordId::from_u128(2);
    let missing = store
        .write(move |tx| tx.records().update(&ghost, 1, &[]))
        .await
        .unwrap();
    assert_eq!(missing, Err(None));
    store.close().await;
}
