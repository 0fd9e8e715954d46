//! Records: numbers made under concurrent creation (no gaps, no duplicates, a sequence per
//! direction and year, past the padding), numbers typed by hand (refused when taken), saves
//! over an old version refused, history in order.

use std::sync::Arc;

use hearth::clock::{Clock, SystemClock};
use hearth::domain::ids::{RecordId, UserId};
use hearth::domain::record::RecordDraft;
use hearth::domain::record::{Change, Direction, NumberFormat, Priority, Record, Visibility};
use hearth::service::access::Actor;
use hearth::service::error::ServiceError;
use hearth::service::records::{CREATES_PER_HOUR, NewRecord};
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

/// The member with `username`, as the services see them.
pub(crate) async fn actor(app: &crate::helpers::TestApp, username: &str) -> Actor {
    let username = username.to_string();
    let user = app
        .store
        .read(move |rx| {
            let mut found = None;
            rx.users().for_each(|u| {
                if u.username == username {
                    found = Some(u);
                }
            })?;
            Ok::<_, hearth::store::StoreError>(found)
        })
        .await
        .unwrap()
        .unwrap();
    Actor::new(&user, false)
}

fn new_record(title: &str, visibility: Visibility, number: Option<&str>) -> NewRecord {
    NewRecord {
        draft: RecordDraft {
            title: title.into(),
            ..Default::default()
        },
        direction: Direction::Incoming,
        priority: Priority::Normal,
        visibility,
        number: number.map(String::from),
        assignees: Vec::new(),
    }
}

/// Created through the service: numbers made or typed (two at once with the same typed
/// number: one wins, one gets 409), visibility across roles, assignees who cannot take a
/// record on, and a draft with problems.
#[tokio::test]
async fn records_are_numbered_and_shown_to_whom_they_are_for() {
    let (app, owner_client, members) = crate::matching::community(&["ann", "bob", "cyd"]).await;
    let (ann, bob, cyd, owner) = (
        actor(&app, "ann").await,
        actor(&app, "bob").await,
        actor(&app, "cyd").await,
        actor(&app, "owner").await,
    );
    let records = &app.records;

    let made = records
        .create(
            &ann,
            new_record("Letter from the council", Visibility::Members, None),
        )
        .await
        .unwrap();
    assert_eq!(made.number, "IN-2026-0001");
    assert_eq!(made.status, "new");
    assert_eq!(made.watchers, [ann.id]);

    let (a, b) = tokio::join!(
        records.create(
            &ann,
            new_record("Their letter", Visibility::Members, Some(" AB/17 "))
        ),
        records.create(
            &bob,
            new_record("Their letter too", Visibility::Members, Some("ab/17"))
        ),
    );
    let outcomes = [a, b];
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1);
    let refused = outcomes.iter().find_map(|o| o.as_ref().err()).unwrap();
    assert!(
        matches!(refused, ServiceError::Conflict(r) if r.message.contains("AB/17") || r.message.contains("ab/17")),
        "{refused:?}"
    );

    // Only the people on it (and admins) see a people-only record; staff see staff-only ones.
    let mut private = new_record("Complaint", Visibility::People, None);
    private.assignees = vec![bob.id];
    let private = records.create(&ann, private).await.unwrap();
    assert_eq!(
        private.number, "IN-2026-0002",
        "no number was used up by the refusal"
    );
    assert_eq!(private.watchers, [ann.id, bob.id]);
    let staff_only = records
        .create(&ann, new_record("Board minutes", Visibility::Staff, None))
        .await
        .unwrap();
    for (who, record, sees) in [
        (&bob, &private, true),
        (&cyd, &private, false),
        (&owner, &private, true),
        (&ann, &staff_only, true),
        (&cyd, &staff_only, false),
        (&owner, &staff_only, true),
    ] {
        let got = records.get(who, record.id).await;
        assert_eq!(got.is_ok(), sees, "{} on {}", who.username, record.title);
        if !sees {
            assert!(matches!(got, Err(ServiceError::NotFound(_))));
        }
    }

    // Assignees who cannot take it on: suspended, or a member on a staff-only record.
    let resp = crate::staff::staff_action(
        &app,
        &owner_client,
        &members[2].1,
        &[
            ("action", "suspend"),
            ("until", "2026-07-01T12:00"),
            ("reason", "a rest"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303);
    for (visibility, assignee) in [(Visibility::Members, cyd.id), (Visibility::Staff, bob.id)] {
        let mut record = new_record("Assigned", visibility, None);
        record.assignees = vec![assignee];
        let refused = records.create(&ann, record).await.unwrap_err();
        assert!(
            matches!(&refused, ServiceError::Invalid(f) if f[0].field == "assignees"),
            "{refused:?}"
        );
    }

    // A draft with problems names each; a bad typed number too.
    let mut bad = new_record(" ", Visibility::Members, None);
    bad.draft.due = "2026-02-30".into();
    let refused = records.create(&ann, bad).await.unwrap_err();
    let ServiceError::Invalid(fields) = refused else {
        panic!("{refused:?}")
    };
    let fields: Vec<&str> = fields.iter().map(|f| f.field).collect();
    assert_eq!(fields, ["title", "due"]);
    let refused = records
        .create(&ann, new_record("Letter", Visibility::Members, Some("a b")))
        .await
        .unwrap_err();
    assert!(matches!(&refused, ServiceError::Invalid(f) if f[0].field == "number"));

    // A member creates at most so many an hour (Bob has asked once, above).
    let mut made = 0;
    let refused = loop {
        match records
            .create(
                &bob,
                new_record("Another letter", Visibility::Members, None),
            )
            .await
        {
            Ok(_) => made += 1,
            Err(e) => break e,
        }
        assert!(made <= CREATES_PER_HOUR, "no limit");
    };
    assert!(
        matches!(refused, ServiceError::RateLimited(_)),
        "{refused:?}"
    );
    assert_eq!(made, CREATES_PER_HOUR - 1);
}

/// The same through the API: 201 with the number, 409 for a typed number taken at the same
/// moment, 404 for a record the caller may not see, 422 naming the field.
#[tokio::test]
async fn records_are_created_and_read_over_the_api() {
    use reqwest::Method;
    use serde_json::{Value, json};
    let (app, _owner, members) = crate::matching::community(&["ann", "bob", "cyd"]).await;
    let [(ann, _), (bob, bob_id), (cyd, _)] = &members[..] else {
        unreachable!()
    };
    let send = |client, body: Value| {
        crate::matching::send(&app, client, Method::POST, "/api/v1/records", Some(body))
    };
    let resp = send(
        ann,
        json!({"title": "Letter from the council", "direction": "incoming"}),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let made: Value = resp.json().await.unwrap();
    assert_eq!(made["data"]["number"], "IN-2026-0001");
    assert_eq!(made["data"]["status"], "new");
    assert_eq!(made["data"]["version"], 1);

    let typed = json!({"title": "Their letter", "direction": "incoming", "number": "AB/17"});
    let (a, b) = tokio::join!(send(ann, typed.clone()), send(bob, typed));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 409]);

    let private = send(
        ann,
        json!({"title": "Complaint", "direction": "internal", "visibility": "people",
               "assigneeIds": [bob_id]}),
    )
    .await;
    assert_eq!(private.status(), 201);
    let private: Value = private.json().await.unwrap();
    assert_eq!(private["data"]["number"], "INT-2026-0001");
    let url = app.url(&format!(
        "/api/v1/records/{}",
        private["data"]["id"].as_str().unwrap()
    ));
    for (client, status) in [(ann, 200), (bob, 200), (cyd, 404)] {
        assert_eq!(client.get(&url).send().await.unwrap().status(), status);
    }
    assert_eq!(
        ann.get(app.url("/api/v1/records/not-an-id"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    let bad = send(
        ann,
        json!({"title": "Letter", "direction": "incoming", "due": "2026-02-30"}),
    )
    .await;
    assert_eq!(bad.status(), 422);
    let bad: Value = bad.json().await.unwrap();
    assert_eq!(bad["fields"][0]["field"], "due", "{bad}");
    let sideways = send(ann, json!({"title": "Letter", "direction": "sideways"})).await;
    assert!(matches!(sideways.status().as_u16(), 400 | 422));
}
