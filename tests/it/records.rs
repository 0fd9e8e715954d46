//! Records: numbers made under concurrent creation (no gaps, no duplicates, a sequence per
//! direction and year, past the padding), and numbers typed by hand (refused when taken).

use std::sync::Arc;

use hearth::clock::{Clock, SystemClock};
use hearth::domain::record::{Direction, NumberFormat};
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
