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

use crate::helpers::TestApp;

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
        version: 1,
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
    // Fields with a default take null for it, as the document says.
    let nulls = send(
        ann,
        json!({"title": "Letter", "direction": "incoming", "tags": null, "correspondent": null,
               "priority": null, "number": null, "due": null}),
    )
    .await;
    assert_eq!(nulls.status(), 201);
    let doc = crate::helpers::get_json(ann, &app.url("/api/openapi.json")).await;
    for field in ["tags", "correspondent", "priority", "number", "due"] {
        assert_eq!(
            doc["components"]["schemas"]["RecordInput"]["properties"][field]["nullable"], true,
            "{field}"
        );
    }
    let sideways = send(ann, json!({"title": "Letter", "direction": "sideways"})).await;
    assert!(matches!(sideways.status().as_u16(), 400 | 422));
}

/// Changes over the API: saved over the ETag they were based on (a stale save gets 409 with
/// the record now and what changed since; none at all, 428), the status moved only by the
/// workflow (403 saying why; the field itself cannot be set), members change their own and
/// moderators all, the history lists each change, watching, and the trash (admins only;
/// restoring a record whose number was reused since is a conflict).
#[tokio::test]
async fn records_change_by_version_workflow_and_role() {
    use reqwest::Method;
    use serde_json::{Value, json};
    let (app, owner, members) = crate::matching::community(&["ann", "bob"]).await;
    let [(ann, _), (bob, bob_id)] = &members[..] else {
        unreachable!()
    };
    let (moderator, _) = crate::staff::member(&app, &owner, "mia", "moderator").await;
    let call = |client, method, path: String, body: Option<Value>, tag: Option<&str>| {
        let app = &app;
        let tag = tag.map(String::from);
        async move {
            let csrf = app.api_csrf(client).await;
            let mut request = client
                .request(method, app.url(&path))
                .header("x-csrf-token", csrf);
            if let Some(tag) = tag {
                request = request.header("if-match", tag);
            }
            if let Some(body) = body {
                request = request.json(&body);
            }
            let resp = request.send().await.unwrap();
            let status = resp.status().as_u16();
            let etag = resp
                .headers()
                .get("etag")
                .map(|v| v.to_str().unwrap().to_string());
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            (status, etag, body)
        }
    };
    let (status, etag, made) = call(
        ann,
        Method::POST,
        "/api/v1/records".into(),
        Some(
            json!({"title": "Letter from the council", "direction": "incoming", "number": "AB/17"}),
        ),
        None,
    )
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(etag.as_deref(), Some("\"v1\""));
    let path = format!("/api/v1/records/{}", made["data"]["id"].as_str().unwrap());

    // No version, no save; a save over v1 makes v2.
    let edit = json!({"title": "Council letter", "due": "2026-12-24"});
    for tag in [None, Some("")] {
        let (status, _, body) =
            call(ann, Method::PATCH, path.clone(), Some(edit.clone()), tag).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (428, Some("VERSION_REQUIRED"))
        );
    }
    let (status, _, _) = call(
        ann,
        Method::PATCH,
        path.clone(),
        Some(edit.clone()),
        Some("3"),
    )
    .await;
    assert_eq!(status, 400, "not an ETag of ours");
    let (status, etag, body) =
        call(ann, Method::PATCH, path.clone(), Some(edit), Some("\"v1\"")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(etag.as_deref(), Some("\"v2\""));
    assert_eq!(body["data"]["due"], "2026-12-24");
    // Another save based on v1 is stale: it learns the record now and what changed since.
    let (status, etag, body) = call(
        ann,
        Method::PATCH,
        path.clone(),
        Some(json!({"priority": "high"})),
        Some("\"v1\""),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("VERSION_CONFLICT")),
        "{body}"
    );
    assert_eq!(etag.as_deref(), Some("\"v2\""));
    assert_eq!(body["current"]["title"], "Council letter");
    assert_eq!(
        body["current"]["priority"], "normal",
        "nothing of the stale save was kept"
    );
    let changed: Vec<&str> = body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(changed, ["title", "due"]);
    // The status is not a field to set; nor is anything unknown. The document says so.
    for body in [json!({"status": "completed"}), json!({"password": "x"})] {
        let (status, _, answer) =
            call(ann, Method::PATCH, path.clone(), Some(body), Some("\"v2\"")).await;
        assert_eq!(status, 400, "{answer}");
        assert!(
            answer["error"].as_str().unwrap().contains("unknown field"),
            "{answer}"
        );
    }
    let doc = crate::helpers::get_json(ann, &app.url("/api/openapi.json")).await;
    let parameters = doc["paths"]["/api/v1/records/{id}"]["patch"]["parameters"]
        .as_array()
        .unwrap();
    assert!(
        parameters
            .iter()
            .any(|p| p["name"] == "If-Match" && p["in"] == "header")
    );
    for name in hearth::http::api::records::STRICT_SCHEMAS {
        assert_eq!(
            doc["components"]["schemas"][name]["additionalProperties"], false,
            "{name}"
        );
    }
    // Members change their own; moderators anyone's (assigning Bob, who then watches).
    let assign = json!({"assigneeIds": [bob_id]});
    let (status, _, _) = call(
        bob,
        Method::PATCH,
        path.clone(),
        Some(assign.clone()),
        Some("\"v2\""),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, body) = call(
        &moderator,
        Method::PATCH,
        path.clone(),
        Some(assign),
        Some("\"v2\""),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["version"], 3);
    assert!(
        body["data"]["watcherIds"]
            .as_array()
            .unwrap()
            .contains(&json!(bob_id))
    );

    // Status moves: only those the workflow has, by the roles it names.
    let status_path = format!("{path}/status");
    let mv = |client, to: &str| {
        call(
            client,
            Method::POST,
            status_path.clone(),
            Some(json!({"status": to})),
            None,
        )
    };
    let (status, _, body) = mv(ann, "completed").await;
    assert_eq!(status, 403);
    assert!(
        body["error"].as_str().unwrap().contains("no move from"),
        "{body}"
    );
    assert_eq!(mv(ann, "lost").await.0, 422);
    assert_eq!(mv(ann, "in_progress").await.0, 200);
    assert_eq!(
        mv(bob, "completed").await.0,
        200,
        "an assignee moves it along"
    );
    let (status, _, body) = mv(bob, "archived").await;
    assert_eq!(status, 403);
    assert!(
        body["error"].as_str().unwrap().contains("moderator"),
        "{body}"
    );
    let (status, _, body) = mv(&moderator, "archived").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["status"], "archived");
    // An empty If-Match is no version: 428, as on a change.
    let (status, _, body) = call(
        &moderator,
        Method::POST,
        status_path.clone(),
        Some(json!({"status": "in_progress"})),
        Some(""),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (428, Some("VERSION_REQUIRED"))
    );
    // With a stale If-Match the move is refused too.
    let (status, _, _) = call(
        &moderator,
        Method::POST,
        status_path.clone(),
        Some(json!({"status": "in_progress"})),
        Some("\"v3\""),
    )
    .await;
    assert_eq!(status, 409);

    // Watching.
    let (status, _, body) = call(
        &owner,
        Method::PUT,
        format!("{path}/watching"),
        Some(json!({"watching": true})),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["watcherIds"].as_array().unwrap().len(), 3);
    assert_eq!(
        body["data"]["version"], 6,
        "watching is not a change to the record"
    );

    // The history, oldest first, with versions.
    let history = crate::helpers::get_json(ann, &app.url(&format!("{path}/history"))).await;
    let lines: Vec<(u64, &str, &str)> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["version"].as_u64().unwrap(),
                c["field"].as_str().unwrap(),
                c["new"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (1, "created", "AB/17"),
            (2, "title", "Council letter"),
            (2, "due", "2026-12-24"),
            (3, "assignees", "bob"),
            (4, "status", "In progress"),
            (5, "status", "Completed"),
            (6, "status", "Archived"),
        ]
    );
    assert_eq!(history["pagination"]["total"], 7);
    let second =
        crate::helpers::get_json(ann, &app.url(&format!("{path}/history?limit=2&page=2"))).await;
    let fields: Vec<&str> = second["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["due", "assignees"]);
    assert_eq!(second["pagination"]["hasMore"], true);

    // The trash: admins only; meanwhile the number is free, and a restore then conflicts.
    assert_eq!(
        call(ann, Method::DELETE, path.clone(), None, None).await.0,
        403
    );
    assert_eq!(
        call(&owner, Method::DELETE, path.clone(), None, None)
            .await
            .0,
        204
    );
    assert_eq!(ann.get(app.url(&path)).send().await.unwrap().status(), 404);
    let (status, _, other) = call(
        bob,
        Method::POST,
        "/api/v1/records".into(),
        Some(json!({"title": "Another letter", "direction": "incoming", "number": "ab/17"})),
        None,
    )
    .await;
    assert_eq!(status, 201);
    let other = format!("/api/v1/records/{}", other["data"]["id"].as_str().unwrap());
    let (status, _, body) = call(&owner, Method::POST, format!("{path}/restore"), None, None).await;
    assert_eq!(status, 409);
    assert!(
        body["error"].as_str().unwrap().contains("Another letter"),
        "{body}"
    );
    assert_eq!(
        call(
            &moderator,
            Method::POST,
            format!("{path}/restore"),
            None,
            None
        )
        .await
        .0,
        403
    );
    // Once the number is free again, the restore brings the record back with it.
    assert_eq!(call(&owner, Method::DELETE, other, None, None).await.0, 204);
    let (status, _, body) = call(&owner, Method::POST, format!("{path}/restore"), None, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["number"], "AB/17");
    assert_eq!(ann.get(app.url(&path)).send().await.unwrap().status(), 200);
    app.stop().await;
}

/// Lists over the API: each member sees only what they may (totals too), filters and sorts
/// by name, pages, "my work", changes and the trash showing at once, and every bad
/// parameter answered with 400 or 422.
#[tokio::test]
async fn records_are_listed_filtered_and_paged() {
    use reqwest::Method;
    use serde_json::{Value, json};
    let (app, owner, members) = crate::matching::community(&["ann", "bob", "cyd"]).await;
    let [(ann, _), (bob, bob_id), (cyd, _)] = &members[..] else {
        unreachable!()
    };
    let create = |client, body: Value| {
        let app = &app;
        async move {
            let resp =
                crate::matching::send(app, client, Method::POST, "/api/v1/records", Some(body))
                    .await;
            assert_eq!(resp.status(), 201);
            let made: Value = resp.json().await.unwrap();
            // Made a second apart, so newest-first has one answer.
            app.clock.advance(std::time::Duration::from_secs(1));
            made["data"].clone()
        }
    };
    let roof = create(
        ann,
        json!({"title": "Roof repair", "direction": "incoming", "priority": "urgent",
               "due": "2026-05-20", "assigneeIds": [bob_id], "tags": ["Building"]}),
    )
    .await;
    let hall = create(
        ann,
        json!({"title": "Hall booking", "direction": "outgoing", "due": "2026-06-20",
               "assigneeIds": [bob_id]}),
    )
    .await;
    let complaint = create(
        ann,
        json!({"title": "Complaint about noise", "direction": "incoming",
               "visibility": "people", "assigneeIds": [bob_id]}),
    )
    .await;
    let minutes = create(
        bob,
        json!({"title": "Board minutes", "direction": "internal", "visibility": "staff"}),
    )
    .await;
    let list = |client: &reqwest::Client, query: &str| {
        let request = client.get(app.url(&format!("/api/v1/records{query}")));
        async move {
            let resp = request.send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap())
        }
    };
    let titles = |body: &Value| -> Vec<String> {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["title"].as_str().unwrap().to_string())
            .collect()
    };

    // Who sees what, newest first; the totals agree.
    for (client, expected) in [
        (cyd, vec!["Hall booking", "Roof repair"]),
        (
            bob,
            vec![
                "Board minutes",
                "Complaint about noise",
                "Hall booking",
                "Roof repair",
            ],
        ),
        (
            ann,
            vec!["Complaint about noise", "Hall booking", "Roof repair"],
        ),
        (
            &owner,
            vec![
                "Board minutes",
                "Complaint about noise",
                "Hall booking",
                "Roof repair",
            ],
        ),
    ] {
        let (status, body) = list(client, "").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(titles(&body), expected);
        assert_eq!(body["pagination"]["total"], expected.len());
    }
    // Filters and sorts.
    for (query, expected) in [
        (
            "?direction=incoming",
            vec!["Complaint about noise", "Roof repair"],
        ),
        ("?priority=urgent&tag=building", vec!["Roof repair"]),
        ("?dueAfter=2026-06-01", vec!["Hall booking"]),
        (
            "?dueBefore=2026-06-01&dueAfter=2026-05-01",
            vec!["Roof repair"],
        ),
        ("?overdue=true", vec!["Roof repair"]),
        ("?q=NOISE", vec!["Complaint about noise"]),
        ("?q=in-2026-0001", vec!["Roof repair"]),
        (
            "?sort=oldest",
            vec!["Roof repair", "Hall booking", "Complaint about noise"],
        ),
        (
            "?sort=due",
            vec!["Roof repair", "Hall booking", "Complaint about noise"],
        ),
        (
            "?sort=priority&limit=2",
            vec!["Roof repair", "Complaint about noise"],
        ),
        ("?sort=priority&limit=2&page=2", vec!["Hall booking"]),
        (
            &format!("?assigneeId={bob_id}&status=new")[..],
            vec!["Complaint about noise", "Hall booking", "Roof repair"],
        ),
    ] {
        let (status, body) = list(ann, query).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(titles(&body), expected, "{query}");
    }
    let (_, paged) = list(ann, "?limit=2").await;
    assert_eq!(paged["pagination"]["hasMore"], true);

    // Bob's work: open, overdue first. Finishing one takes it off; so does the trash.
    let work = |client: &reqwest::Client| {
        let request = client.get(app.url("/api/v1/me/work"));
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    assert_eq!(
        titles(&work(bob).await),
        ["Roof repair", "Hall booking", "Complaint about noise"]
    );
    let id = |r: &Value| r["id"].as_str().unwrap().to_string();
    for to in ["in_progress", "completed"] {
        let resp = crate::matching::send(
            &app,
            bob,
            Method::POST,
            &format!("/api/v1/records/{}/status", id(&roof)),
            Some(json!({"status": to})),
        )
        .await;
        assert_eq!(resp.status(), 200);
    }
    let resp = crate::matching::send(
        &app,
        &owner,
        Method::DELETE,
        &format!("/api/v1/records/{}", id(&complaint)),
        None,
    )
    .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(titles(&work(bob).await), ["Hall booking"]);
    assert_eq!(
        titles(&list(&owner, "?trashed=true").await.1),
        ["Complaint about noise"]
    );
    assert_eq!(
        list(ann, "?trashed=true").await.1["pagination"]["total"],
        0,
        "admins only"
    );
    let (_, body) = list(ann, "?overdue=true").await;
    assert_eq!(
        body["pagination"]["total"], 0,
        "a completed record is never overdue"
    );
    let (_, body) = list(cyd, "?q=minutes").await;
    assert_eq!(body["pagination"]["total"], 0, "{}", id(&minutes));
    assert_eq!(
        titles(&list(cyd, "?status=completed").await.1),
        ["Roof repair"]
    );
    let _ = hall;

    // Bad parameters: named, never a 500.
    for query in [
        "?sort=password",
        "?limit=101",
        "?limit=0",
        "?limit=-1",
        "?page=0",
        "?priority=extreme",
        "?dueBefore=tomorrow",
        "?overdue=maybe",
    ] {
        let (status, body) = list(ann, query).await;
        assert_eq!(status, 400, "{query}: {body}");
    }
    for (query, field) in [
        ("?dueBefore=2026-02-30", "dueBefore"),
        ("?dueBefore=2026-01-01&dueAfter=2026-02-01", "dueBefore"),
        ("?ownerId=nobody", "ownerId"),
    ] {
        let (status, body) = list(ann, query).await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(body["fields"][0]["field"], field, "{query}");
    }
    app.stop().await;
}

/// Comments: threaded five deep (a parent of another record refused), edited by their author
/// for 15 minutes, deleted as tombstones, refused on a trashed record; commenters watch; the
/// watchers hear of comments and status moves, assignees that the record is theirs, and the
/// mentioned (only those who may see the record) that they were named.
#[tokio::test]
async fn comments_thread_notify_and_keep_their_rules() {
    use reqwest::Method;
    use serde_json::{Value, json};
    let (app, owner, members) = crate::matching::community(&["ann", "bob", "cyd"]).await;
    let [(ann, _), (bob, bob_id), (cyd, _)] = &members[..] else {
        unreachable!()
    };
    let call = |client, method, path: String, body: Option<Value>| {
        let app = &app;
        async move {
            let resp = crate::matching::send(app, client, method, &path, body).await;
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, made) = call(
        ann,
        Method::POST,
        "/api/v1/records".into(),
        Some(json!({"title": "Roof repair", "direction": "incoming", "assigneeIds": [bob_id]})),
    )
    .await;
    assert_eq!(status, 201);
    let record = format!("/api/v1/records/{}", made["data"]["id"].as_str().unwrap());
    let comments = format!("{record}/comments");
    let told = |client| crate::notifications::notifications(&app, client);
    assert_eq!(
        told(bob).await,
        [(
            "record:update".to_string(),
            "ann assigned IN-2026-0001 to you".to_string(),
            false
        )]
    );

    // Cyd comments naming Bob: Bob hears he was named, Ann (watching) that Cyd commented.
    let (status, first) = call(
        cyd,
        Method::POST,
        comments.clone(),
        Some(json!({"text": "@bob can you look at it?"})),
    )
    .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["data"]["depth"], 1);
    let first_id = first["data"]["id"].as_str().unwrap().to_string();
    let bob_told = told(bob).await;
    assert_eq!(bob_told.len(), 2, "{bob_told:?}");
    assert!(
        bob_told
            .iter()
            .any(|n| n.0 == "record:mention" && n.1 == "cyd mentioned you on IN-2026-0001"),
        "{bob_told:?}"
    );
    assert_eq!(told(ann).await[0].1, "cyd commented on IN-2026-0001");
    let (_, shown) = call(ann, Method::GET, record.clone(), None).await;
    assert_eq!(
        shown["data"]["watcherIds"].as_array().unwrap().len(),
        3,
        "Cyd watches now"
    );

    // Replies go five deep.
    let mut parent = first_id.clone();
    for depth in 2..=5 {
        let (status, reply) = call(
            ann,
            Method::POST,
            comments.clone(),
            Some(json!({"text": format!("reply {depth}"), "parentId": parent})),
        )
        .await;
        assert_eq!(status, 201, "{reply}");
        assert_eq!(reply["data"]["depth"], depth);
        parent = reply["data"]["id"].as_str().unwrap().to_string();
    }
    let (status, body) = call(
        ann,
        Method::POST,
        comments.clone(),
        Some(json!({"text": "too deep", "parentId": parent})),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["fields"][0]["field"], "parentId");
    // A parent from another record is refused.
    let (_, other) = call(
        ann,
        Method::POST,
        "/api/v1/records".into(),
        Some(json!({"title": "Hall booking", "direction": "internal"})),
    )
    .await;
    let other = format!("/api/v1/records/{}", other["data"]["id"].as_str().unwrap());
    let (status, body) = call(
        ann,
        Method::POST,
        format!("{other}/comments"),
        Some(json!({"text": "here?", "parentId": first_id})),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    for text in ["", "   ", "bidi\u{202E}"] {
        let (status, _) = call(
            ann,
            Method::POST,
            comments.clone(),
            Some(json!({"text": text})),
        )
        .await;
        assert_eq!(status, 422, "{text:?}");
    }

    // Editing: the author, for 15 minutes. Deleting leaves a tombstone in the thread.
    let mine = format!("{comments}/{first_id}");
    let edit = json!({"text": "@bob could you look at it?"});
    assert_eq!(
        call(bob, Method::PATCH, mine.clone(), Some(edit.clone()))
            .await
            .0,
        403
    );
    let (status, edited) = call(cyd, Method::PATCH, mine.clone(), Some(edit.clone())).await;
    assert_eq!(status, 200);
    assert!(edited["data"]["editedAt"].is_string());
    app.clock.advance(std::time::Duration::from_secs(16 * 60));
    let (status, body) = call(cyd, Method::PATCH, mine.clone(), Some(edit)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("EDIT_WINDOW_CLOSED"))
    );
    assert_eq!(call(bob, Method::DELETE, mine.clone(), None).await.0, 403);
    assert_eq!(call(cyd, Method::DELETE, mine.clone(), None).await.0, 204);
    let thread = crate::helpers::get_json(ann, &app.url(&comments)).await;
    let shape: Vec<(u64, bool, &str)> = thread["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["depth"].as_u64().unwrap(),
                c["deleted"].as_bool().unwrap(),
                c["text"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            (1, true, ""),
            (2, false, "reply 2"),
            (3, false, "reply 3"),
            (4, false, "reply 4"),
            (5, false, "reply 5"),
        ]
    );

    // A status move is told to the watchers (not to who made it).
    let (status, _) = call(
        bob,
        Method::POST,
        format!("{record}/status"),
        Some(json!({"status": "in_progress"})),
    )
    .await;
    assert_eq!(status, 200);
    // Cyd has not read hers: Ann's four replies and the move are one notification.
    let cyd_told = told(cyd).await;
    assert_eq!(
        cyd_told,
        [(
            "record:update".to_string(),
            "5 updates on IN-2026-0001".to_string(),
            false
        )]
    );
    assert!(!told(bob).await.iter().any(|n| n.1.contains("moved")));

    // Naming someone who cannot see the record tells them nothing.
    let (_, private) = call(
        ann,
        Method::POST,
        "/api/v1/records".into(),
        Some(json!({"title": "Complaint", "direction": "internal", "visibility": "people"})),
    )
    .await;
    let private = format!(
        "/api/v1/records/{}/comments",
        private["data"]["id"].as_str().unwrap()
    );
    let before = told(cyd).await.len();
    let (status, _) = call(ann, Method::POST, private, Some(json!({"text": "@cyd?"}))).await;
    assert_eq!(status, 201);
    assert_eq!(told(cyd).await.len(), before);

    // No comments on a record in the trash.
    assert_eq!(
        call(&owner, Method::DELETE, record.clone(), None).await.0,
        204
    );
    let (status, body) = call(
        ann,
        Method::POST,
        comments.clone(),
        Some(json!({"text": "still there?"})),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    app.stop().await;
}

/// The scheduled jobs: reminders to owners and assignees of open records due soon and of
/// overdue ones, each once per due day; the trash purged after its days, with everything of
/// the record.
#[tokio::test]
async fn due_reminders_go_once_and_the_trash_is_purged_in_time() {
    use hearth::jobs::EnqueueOptions;
    use reqwest::Method;
    use serde_json::{Value, json};
    let (app, owner, members) = crate::matching::community(&["ann", "bob"]).await;
    let [(ann, _), (bob, bob_id)] = &members[..] else {
        unreachable!()
    };
    // The clock reads 2026-06-01 12:00 UTC.
    let create = |body: Value| {
        let app = &app;
        async move {
            let resp =
                crate::matching::send(app, ann, Method::POST, "/api/v1/records", Some(body)).await;
            assert_eq!(resp.status(), 201);
            let made: Value = resp.json().await.unwrap();
            made["data"]["id"].as_str().unwrap().to_string()
        }
    };
    let soon = create(json!({"title": "Roof repair", "direction": "incoming",
                             "due": "2026-06-02", "assigneeIds": [bob_id]}))
    .await;
    create(json!({"title": "Hall booking", "direction": "incoming", "due": "2026-06-10"})).await;
    create(json!({"title": "Late letter", "direction": "incoming", "due": "2026-05-30"})).await;
    let done =
        create(json!({"title": "Done letter", "direction": "incoming", "due": "2026-05-31"})).await;
    for to in ["in_progress", "completed"] {
        let resp = crate::matching::send(
            &app,
            ann,
            Method::POST,
            &format!("/api/v1/records/{done}/status"),
            Some(json!({"status": to})),
        )
        .await;
        assert_eq!(resp.status(), 200);
    }
    let run = |kind: &'static str| {
        let app = &app;
        async move {
            app.queue
                .enqueue(kind, &(), EnqueueOptions::default())
                .await
                .unwrap();
            while app.queue.run_one_pending().await.unwrap().is_some() {}
        }
    };
    let due_notes = |client| {
        let app = &app;
        async move {
            crate::notifications::notifications(app, client)
                .await
                .into_iter()
                .filter(|n| n.0 == "record:due")
                .map(|n| n.1)
                .collect::<Vec<String>>()
        }
    };
    let bob_before = due_notes(bob).await;
    assert!(bob_before.is_empty(), "{bob_before:?}");
    run("records.remind").await;
    let mut ann_told = due_notes(ann).await;
    ann_told.sort();
    assert_eq!(
        ann_told,
        ["IN-2026-0001 is due 2026-06-02", "IN-2026-0003 is overdue"]
    );
    assert_eq!(due_notes(bob).await, ["IN-2026-0001 is due 2026-06-02"]);
    // Once per due day.
    run("records.remind").await;
    assert_eq!(due_notes(bob).await.len(), 1);
    // Two days on, the roof repair is overdue: told once more.
    app.clock
        .advance(std::time::Duration::from_secs(2 * 24 * 3600));
    run("records.remind").await;
    assert_eq!(due_notes(bob).await, ["2 updates on IN-2026-0001"]);

    // The trash: kept 30 days, then purged with everything of the record.
    let comment = crate::matching::send(
        &app,
        bob,
        Method::POST,
        &format!("/api/v1/records/{soon}/comments"),
        Some(json!({"text": "Roofer booked"})),
    )
    .await;
    assert_eq!(comment.status(), 201);
    let path = format!("/api/v1/records/{soon}");
    let trashed = crate::matching::send(&app, &owner, Method::DELETE, &path, None).await;
    assert_eq!(trashed.status(), 204);
    let needles = {
        let id: uuid::Uuid = soon.parse().unwrap();
        vec![id.as_u128().to_le_bytes().to_vec(), id.as_bytes().to_vec()]
    };
    app.clock
        .advance(std::time::Duration::from_secs(29 * 24 * 3600));
    run("records.purge").await;
    assert!(!app.store.tables_containing(&needles).unwrap().is_empty());
    app.clock
        .advance(std::time::Duration::from_secs(2 * 24 * 3600));
    run("records.purge").await;
    let owner = app.owner_client_again().await;
    let restore =
        crate::matching::send(&app, &owner, Method::POST, &format!("{path}/restore"), None).await;
    assert_eq!(restore.status(), 404);
    let left = app.store.tables_containing(&needles).unwrap();
    // The search outbox may still name it until the indexer runs.
    assert!(left.iter().all(|t| t == "search_outbox"), "{left:?}");
    app.stop().await;
}

/// Admins set the number formats, the workflow, the trash's days and the reminders, on the
/// admin page and through the API alike: new records and moves follow at once; a workflow
/// that drops a status records are in is refused, as is a format without one `{seq}`;
/// members may do neither.
#[tokio::test]
async fn admins_set_formats_and_the_workflow_on_both_faces() {
    use reqwest::Method;
    use serde_json::{Value, json};
    let (app, owner, members) = crate::matching::community(&["ann"]).await;
    let ann = &members[0].0;
    let settings_url = "/api/v1/admin/records/settings";
    let current = crate::helpers::get_json(&owner, &app.url(settings_url)).await;
    assert_eq!(
        current["data"]["incomingFormat"], "IN-{year}-{seq:4}",
        "{current}"
    );
    assert_eq!(current["data"]["trashDays"], 30);
    assert_eq!(
        ann.get(app.url(settings_url))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );

    // A record in "new" keeps that status in any workflow.
    let resp = crate::matching::send(
        &app,
        ann,
        Method::POST,
        "/api/v1/records",
        Some(json!({"title": "Letter", "direction": "incoming"})),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let mut wanted = current["data"].clone();
    wanted["internalFormat"] = json!("L{seq}");
    wanted["workflow"] = json!({
        "statuses": [{"key": "draft", "label": "Draft"},
                     {"key": "new", "label": "New"},
                     {"key": "done", "label": "Done", "closed": true}],
        "moves": [{"from": "draft", "to": "done", "least": "member"},
                  {"from": "new", "to": "done", "least": "moderator"}]
    });
    let put = |client, body: Value| {
        crate::matching::send(&app, client, Method::PUT, settings_url, Some(body))
    };
    assert_eq!(put(ann, wanted.clone()).await.status(), 403);
    let resp = put(&owner, wanted.clone()).await;
    assert_eq!(resp.status(), 200);
    let resp = crate::matching::send(
        &app,
        ann,
        Method::POST,
        "/api/v1/records",
        Some(json!({"title": "Minutes", "direction": "internal"})),
    )
    .await;
    let made: Value = resp.json().await.unwrap();
    assert_eq!(made["data"]["number"], "L1");
    assert_eq!(
        made["data"]["status"], "draft",
        "new records start at the first status"
    );
    let moved = crate::matching::send(
        &app,
        ann,
        Method::POST,
        &format!(
            "/api/v1/records/{}/status",
            made["data"]["id"].as_str().unwrap()
        ),
        Some(json!({"status": "done"})),
    )
    .await;
    assert_eq!(moved.status(), 200);

    // Dropping "new" (a record is in it), and a format with two sequences: both named.
    let mut dropping = wanted.clone();
    dropping["workflow"]["statuses"] = json!([{"key": "draft", "label": "Draft"},
                                              {"key": "done", "label": "Done"}]);
    dropping["workflow"]["moves"] = json!([]);
    dropping["outgoingFormat"] = json!("{seq}-{seq}");
    let resp = put(&owner, dropping).await;
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["fields"][0]["field"], "records_workflow", "{body}");
    assert!(
        body["fields"][0]["message"]
            .as_str()
            .unwrap()
            .contains("1 in \"new\""),
        "{body}"
    );

    // The admin page shows the workflow as text and saves it the same way.
    let page = owner
        .get(app.url("/admin/records"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("new -&#62; done | moderator"), "{page}");
    // The overview: the two records made this week (the clock's Monday), one open in "New".
    assert!(page.contains("<title>Jun 1: 2</title>"), "{page}");
    assert!(page.contains("<title>New: 1</title>"), "{page}");
    assert!(page.contains("<title>Draft: 0</title>"), "{page}");
    let csrf = TestApp::csrf_from(&owner, &app.url("/admin/records")).await;
    let form = |statuses: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("incoming_format", "IN-{year}-{seq:4}".to_string()),
            ("outgoing_format", "OUT-{year}-{seq:4}".to_string()),
            ("internal_format", "INT-{seq:3}".to_string()),
            ("trash_days", "14".to_string()),
            ("reminder_days", "2".to_string()),
            ("attachment_max_mib", "5".to_string()),
            ("statuses", statuses.to_string()),
            (
                "moves",
                "draft -> done | member\nnew -> done | member".to_string(),
            ),
        ]
    };
    let resp = owner
        .post(app.url("/admin/records"))
        .form(&form("draft | Draft\nnew | New\ndone Done"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("statuses line 3"));
    let resp = owner
        .post(app.url("/admin/records"))
        .form(&form("draft | Draft\nnew | New\ndone | Done | closed"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let saved = crate::helpers::get_json(&owner, &app.url(settings_url)).await;
    assert_eq!(saved["data"]["internalFormat"], "INT-{seq:3}");
    assert_eq!(saved["data"]["trashDays"], 14);
    assert_eq!(saved["data"]["attachmentMaxMib"], 5);
    assert_eq!(saved["data"]["workflow"]["moves"][1]["least"], "member");
    assert_eq!(
        ann.get(app.url("/admin/records"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
            / 100,
        4
    );
    app.stop().await;
}

/// Records in search: found by those who may see them (totals too), gone from results when
/// trashed, and a number typed exactly opens that record first.
#[tokio::test]
async fn records_are_searchable_by_whom_they_are_for() {
    use reqwest::Method;
    use serde_json::{Value, json};
    let (app, owner, members) = crate::matching::community(&["ann", "bob", "cyd"]).await;
    let [(ann, _), (bob, bob_id), (cyd, _)] = &members[..] else {
        unreachable!()
    };
    let create = |body: Value| {
        let app = &app;
        async move {
            let resp =
                crate::matching::send(app, ann, Method::POST, "/api/v1/records", Some(body)).await;
            assert_eq!(resp.status(), 201);
            let made: Value = resp.json().await.unwrap();
            made["data"]["id"].as_str().unwrap().to_string()
        }
    };
    for n in 0..3 {
        create(
            json!({"title": format!("Roof repair quote {n}"), "direction": "incoming",
                      "correspondent": "Roofers Ltd"}),
        )
        .await;
    }
    let private = create(json!({"title": "Roof complaint", "direction": "incoming",
                                "visibility": "people", "assigneeIds": [bob_id]}))
    .await;
    create(
        json!({"title": "Reply about R17, R17 and R17", "direction": "outgoing",
                  "content": "R17 R17 R17"}),
    )
    .await;
    create(json!({"title": "Letter", "direction": "incoming", "number": "R17"})).await;
    app.index_search().await;
    let found = |client, q: &'static str| crate::search::search(&app, client, q);
    let (status, body) = found(ann, "q=roofers&kind=record").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["pagination"]["total"], 3, "{body}");
    for (client, total) in [(bob, 4), (cyd, 3), (&owner, 4)] {
        let (_, body) = found(client, "q=roof&kind=record").await;
        assert_eq!(body["pagination"]["total"], total, "{body}");
    }
    // The exact number first; one the searcher may not see is not found even so.
    let (_, body) = found(ann, "q=IN-2026-0002").await;
    assert_eq!(
        body["data"][0]["title"], "IN-2026-0002 · Roof repair quote 1",
        "{body}"
    );
    let (_, body) = found(ann, "q=r17").await;
    assert_eq!(body["data"][0]["title"], "R17 · Letter", "{body}");
    assert_eq!(body["pagination"]["total"], 2, "{body}");
    let (_, body) = found(bob, "q=in-2026-0004").await;
    assert_eq!(
        body["data"][0]["title"], "IN-2026-0004 · Roof complaint",
        "{body}"
    );
    let (_, body) = found(cyd, "q=IN-2026-0004").await;
    assert!(!body.to_string().contains("Roof complaint"), "{body}");
    // Trashed: gone.
    let resp = crate::matching::send(
        &app,
        &owner,
        Method::DELETE,
        &format!("/api/v1/records/{private}"),
        None,
    )
    .await;
    assert_eq!(resp.status(), 204);
    app.index_search().await;
    let (_, body) = found(bob, "q=complaint&kind=record").await;
    assert_eq!(body["pagination"]["total"], 0, "{body}");
    let (_, body) = found(bob, "q=IN-2026-0004").await;
    assert!(!body.to_string().contains("Roof complaint"), "{body}");
    app.stop().await;
}

/// CSV export: what the filter shows of the records the caller may see, with a header,
/// every cell quoted and formulas made inert, as a download. CSV import: staff only, every
/// problem named by row (then nothing stored), a dry run storing nothing either way.
#[tokio::test]
async fn records_go_out_and_come_in_as_csv() {
    use reqwest::Method;
    use serde_json::{Value, json};
    let (app, owner, members) = crate::matching::community(&["ann", "bob"]).await;
    let [(ann, _), (bob, bob_id)] = &members[..] else {
        unreachable!()
    };
    for body in [
        json!({"title": "=HYPERLINK(\"http://evil.example\")", "direction": "incoming",
               "content": "line one\nline two, with a comma", "tags": ["Hall"]}),
        json!({"title": "Board minutes", "direction": "internal", "visibility": "staff"}),
        json!({"title": "Roof", "direction": "incoming", "visibility": "people",
               "assigneeIds": [bob_id]}),
    ] {
        let resp =
            crate::matching::send(&app, ann, Method::POST, "/api/v1/records", Some(body)).await;
        assert_eq!(resp.status(), 201);
        app.clock.advance(std::time::Duration::from_secs(1));
    }
    let export = |client: &reqwest::Client, query: &str| {
        let request = client.get(app.url(&format!("/api/v1/records/export{query}")));
        async move {
            let resp = request.send().await.unwrap();
            assert_eq!(resp.status(), 200);
            assert!(
                resp.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/csv")
            );
            assert!(
                resp.headers()["content-disposition"]
                    .to_str()
                    .unwrap()
                    .starts_with("attachment")
            );
            let text = resp.text().await.unwrap();
            let mut reader = csv::Reader::from_reader(text.as_bytes());
            let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
            let rows: Vec<Vec<String>> = reader
                .records()
                .map(|r| r.unwrap().iter().map(String::from).collect())
                .collect();
            (text, header, rows)
        }
    };
    let (text, header, rows) = export(bob, "?sort=oldest").await;
    assert_eq!(header[..3], ["number", "title", "direction"]);
    let titles: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(
        titles,
        ["'=HYPERLINK(\"http://evil.example\")", "Roof"],
        "Bob sees no staff record"
    );
    assert!(
        text.starts_with("\"number\",\"title\""),
        "every cell quoted: {text}"
    );
    assert_eq!(rows[0][13], "line one\nline two, with a comma");
    assert_eq!(rows[0][9], "hall");
    assert_eq!(rows[1][6], "bob", "assignees by username");
    let (_, _, rows) = export(&owner, "?direction=internal").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][1], "Board minutes");

    // Import: staff only; problems by row; a dry run stores nothing.
    let import = |client: &reqwest::Client, csv: &str, dry: bool| {
        let csrf_client = client.clone();
        let app = &app;
        let csv = csv.to_string();
        async move {
            let csrf = app.api_csrf(&csrf_client).await;
            let resp = csrf_client
                .post(app.url(&format!("/api/v1/records/import?dryRun={dry}")))
                .header("x-csrf-token", csrf)
                .header("content-type", "text/csv")
                .body(csv)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let good = "title,direction,number,assignees,due,tags\n\
                Gas bill,incoming,GAS/1,bob,2026-07-01,bills; gas\n\
                \"Reply, to the council\",outgoing,,,,\n";
    assert_eq!(import(ann, good, true).await.0, 403);
    // A file over the limit: refused for who it is before it is read, then for its size.
    let big = "x".repeat(hearth::domain::record_csv::IMPORT_BYTES_MAX + 1);
    assert_eq!(import(ann, &big, true).await.0, 403);
    assert_eq!(import(&owner, &big, true).await.0, 413);
    let bad = "title,direction,number,assignees\n\
               Gas bill,incoming,GAS/1,nobody\n\
               Water bill,incoming,gas/1,\n\
               ,sideways,,\n";
    let (status, body) = import(&owner, bad, false).await;
    assert_eq!(status, 422, "{body}");
    let named: Vec<(u64, &str)> = body["data"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["row"].as_u64().unwrap(), p["column"].as_str().unwrap()))
        .collect();
    assert_eq!(
        named,
        [(4, "direction"), (4, "title")],
        "a file that does not read is refused before the database is asked: {body}"
    );
    let bad = "title,direction,number,assignees\n\
               Gas bill,incoming,GAS/1,nobody\n\
               Water bill,incoming,gas/1,\n";
    let (status, body) = import(&owner, bad, true).await;
    assert_eq!(status, 422, "{body}");
    let named: Vec<(u64, &str)> = body["data"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["row"].as_u64().unwrap(), p["column"].as_str().unwrap()))
        .collect();
    assert_eq!(named, [(2, "assignees"), (3, "number")], "{body}");
    let count = |client: &reqwest::Client| {
        let request = client.get(app.url("/api/v1/records"));
        async move {
            request.send().await.unwrap().json::<Value>().await.unwrap()["pagination"]["total"]
                .as_u64()
                .unwrap()
        }
    };
    let (status, body) = import(&owner, good, true).await;
    assert_eq!(
        (status, body["data"]["imported"].as_bool()),
        (200, Some(false)),
        "{body}"
    );
    assert_eq!(count(&owner).await, 3, "a dry run stores nothing");
    let (status, body) = import(&owner, good, false).await;
    assert_eq!(
        (status, body["data"]["imported"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    assert_eq!(body["data"]["rows"], 2);
    assert_eq!(count(&owner).await, 5);
    let (_, _, rows) = export(&owner, "?q=gas").await;
    assert_eq!(rows[0][0], "GAS/1");
    assert_eq!(rows[0][6], "bob");
    let (_, _, rows) = export(&owner, "?direction=outgoing").await;
    assert_eq!(rows[0][0], "OUT-2026-0001");
    // The same typed number again: refused.
    let (status, _) = import(&owner, good, false).await;
    assert_eq!(status, 422);
    // A row typing the number the sequence would give an earlier row: the sequence passes
    // over it.
    let next = "title,direction,number\nFirst,internal,\nSecond,internal,INT-2026-0002\n";
    let (status, body) = import(&owner, next, false).await;
    assert_eq!(status, 200, "{body}");
    let (_, _, rows) = export(&owner, "?direction=internal").await;
    let mut numbers: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[1].as_str(), r[0].as_str()))
        .collect();
    numbers.sort();
    assert_eq!(
        numbers,
        [
            ("Board minutes", "INT-2026-0001"),
            ("First", "INT-2026-0003"),
            ("Second", "INT-2026-0002")
        ]
    );
    app.stop().await;
}

/// The pages: a record made with the form, shown with its moves, commented on, moved along,
/// edited (a save over an old version shows what changed and keeps the typed changes), in
/// the list and "my work"; a bad filter is named.
#[tokio::test]
async fn records_work_as_plain_pages() {
    let (app, _owner, members) = crate::matching::community(&["ann", "bob"]).await;
    let [(ann, _), (bob, _)] = &members[..] else {
        unreachable!()
    };
    let csrf = TestApp::csrf_from(ann, &app.url("/records/new")).await;
    let made = ann
        .post(app.url("/records/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("title", "Roof repair"),
            ("direction", "incoming"),
            ("priority", "high"),
            ("visibility", "members"),
            ("due", "2026-06-20"),
            ("tags", "building, roof"),
            ("assignees", "@bob"),
            ("correspondent", "Roofers Ltd"),
            ("content", "Quote attached.\nPlease check."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 303);
    let at = made.headers()["location"].to_str().unwrap().to_string();
    let page = ann
        .get(app.url(&at))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("IN-2026-0001"), "{page}");
    assert!(page.contains("Move to In progress"));
    assert!(page.contains("bob"));

    // A form with problems comes back with them, keeping what was typed.
    let bad = ann
        .post(app.url("/records/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("title", "Keep me"),
            ("direction", "incoming"),
            ("priority", "normal"),
            ("visibility", "members"),
            ("due", "2026-02-30"),
            ("assignees", "nobody"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let text = bad.text().await.unwrap();
    assert!(text.contains("nobody is not a member"), "{text}");
    assert!(text.contains("value=\"Keep me\""));

    // Bob comments and moves it along.
    let bob_csrf = TestApp::csrf_from(bob, &app.url(&at)).await;
    for (path, form) in [
        (format!("{at}/comments"), vec![("text", "On it, @ann")]),
        (format!("{at}/status"), vec![("status", "in_progress")]),
    ] {
        let mut form = form;
        form.push(("csrf", bob_csrf.as_str()));
        let resp = bob.post(app.url(&path)).form(&form).send().await.unwrap();
        assert_eq!(resp.status(), 303, "{path}");
    }
    let page = ann
        .get(app.url(&at))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("On it, @ann"));
    assert!(page.contains("In progress"));

    // Bob's move made version 2: Ann's form, read at version 1, is stale.
    let stale = ann
        .post(app.url(&format!("{at}/edit")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("version", "1"),
            ("title", "Roof repair, east side"),
            ("priority", "high"),
            ("visibility", "members"),
            ("due", "2026-06-20"),
            ("tags", "building"),
            ("assignees", "bob"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 409);
    let text = stale.text().await.unwrap();
    assert!(text.contains("Changed meanwhile"), "{text}");
    assert!(
        text.contains("Roof repair, east side"),
        "her change is kept"
    );
    assert!(text.contains("name=\"version\" value=\"2\""));
    let saved = ann
        .post(app.url(&format!("{at}/edit")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("version", "2"),
            ("title", "Roof repair, east side"),
            ("priority", "high"),
            ("visibility", "members"),
            ("due", "2026-06-20"),
            ("tags", "building"),
            ("assignees", "bob"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);

    // Lists.
    let list = bob
        .get(app.url("/records?view=work"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("Roof repair, east side"), "{list}");
    let bad = ann
        .get(app.url("/records?priority=extreme"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);

    // A list saved under a name comes back as a link.
    let saved = ann
        .post(app.url("/records/lists"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Urgent roofs"),
            ("query", "q=roof&priority=high"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    let list = ann
        .get(app.url("/records"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        list.contains("href=\"/records?q=roof&#38;priority=high\""),
        "{list}"
    );
    app.stop().await;
}

/// Saved lists over the API: saved by name (the same name replaces), listed, at most 20,
/// deleted; names checked.
#[tokio::test]
async fn saved_lists_over_the_api() {
    use reqwest::Method;
    use serde_json::json;
    let (app, _owner, members) = crate::matching::community(&["ann"]).await;
    let ann = &members[0].0;
    let put = |name: &str, query: &str| {
        let path = format!("/api/v1/me/record-lists/{name}");
        let body = json!({"query": query});
        let app = &app;
        async move { crate::matching::send(app, ann, Method::PUT, &path, Some(body)).await }
    };
    assert_eq!(put("Mine", "view=work").await.status(), 204);
    assert_eq!(put("Mine", "view=work&sort=priority").await.status(), 204);
    assert_eq!(put("%20", "x=1").await.status(), 422);
    let lists = crate::helpers::get_json(ann, &app.url("/api/v1/me/record-lists")).await;
    assert_eq!(
        lists["data"],
        json!([{"name": "Mine", "query": "view=work&sort=priority"}])
    );
    for n in 1..20 {
        assert_eq!(put(&format!("list{n}"), "q=x").await.status(), 204);
    }
    assert_eq!(put("one too many", "q=x").await.status(), 422);
    let gone = crate::matching::send(
        &app,
        ann,
        Method::DELETE,
        "/api/v1/me/record-lists/Mine",
        None,
    )
    .await;
    assert_eq!(gone.status(), 204);
    let again = crate::matching::send(
        &app,
        ann,
        Method::DELETE,
        "/api/v1/me/record-lists/Mine",
        None,
    )
    .await;
    assert_eq!(again.status(), 404);
    assert_eq!(put("one too many", "q=x").await.status(), 204);
    app.stop().await;
}

/// Every change adds to a record's history, kept as long as the record: a member saves at
/// most so many changes an hour.
#[tokio::test]
async fn changes_are_bounded_per_member() {
    use hearth::service::records::{CHANGES_PER_HOUR, Edit};
    let (app, _owner, _members) = crate::matching::community(&["ann"]).await;
    let ann = actor(&app, "ann").await;
    let record = app
        .records
        .create(&ann, new_record("Letter", Visibility::Members, None))
        .await
        .unwrap();
    let mut version = record.version;
    for n in 0..CHANGES_PER_HOUR - 1 {
        let edit = Edit {
            fields: hearth::domain::record::RecordEdit {
                title: Some(format!("Letter {n}")),
                ..Default::default()
            },
            assignees: None,
        };
        version = app
            .records
            .edit(&ann, record.id, version, edit)
            .await
            .unwrap()
            .version;
    }
    // The last change allowed: a save based on the first version, told of the latest 100
    // changes only.
    let stale = app
        .records
        .edit(&ann, record.id, 1, Edit::default())
        .await
        .unwrap_err();
    let hearth::service::records::EditError::Stale { current, since } = stale else {
        panic!("{stale:?}")
    };
    assert_eq!(since.len(), 100);
    assert_eq!(since.last().unwrap().version, current.version);
    let refused = app
        .records
        .move_to(&ann, record.id, None, "in_progress".into())
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            hearth::service::records::EditError::Refused(ServiceError::RateLimited(_))
        ),
        "{refused:?}"
    );
    app.clock.advance(std::time::Duration::from_secs(3600));
    assert!(
        app.records
            .move_to(&ann, record.id, None, "in_progress".into())
            .await
            .is_ok()
    );
    app.stop().await;
}

/// A thread has an end: a record takes at most so many comments.
#[tokio::test]
async fn a_record_takes_so_many_comments() {
    use hearth::service::records::{COMMENTS_PER_HOUR, COMMENTS_PER_RECORD};
    let (app, _owner, _members) = crate::matching::community(&["ann"]).await;
    let ann = actor(&app, "ann").await;
    let record = app
        .records
        .create(&ann, new_record("Letter", Visibility::Members, None))
        .await
        .unwrap();
    for n in 0..COMMENTS_PER_RECORD {
        if n > 0 && n % COMMENTS_PER_HOUR as usize == 0 {
            app.clock.advance(std::time::Duration::from_secs(3600));
        }
        app.records
            .comment(&ann, record.id, None, &format!("note {n}"))
            .await
            .unwrap();
    }
    let refused = app
        .records
        .comment(&ann, record.id, None, "one more")
        .await
        .unwrap_err();
    assert!(matches!(refused, ServiceError::Conflict(_)), "{refused:?}");
    assert_eq!(
        app.records.comments(&ann, record.id).await.unwrap().len(),
        COMMENTS_PER_RECORD
    );
    app.stop().await;
}

/// Exports under way hold their rows' ids until sent: only so many run at once, the next is
/// told to come back shortly, and a finished one makes room.
#[tokio::test]
async fn only_so_many_exports_run_at_once() {
    use hearth::domain::record_list::{RecordFilter, RecordSort};
    use hearth::service::records::EXPORTS_AT_ONCE;
    let (app, _owner, _members) = crate::matching::community(&["ann"]).await;
    let ann = actor(&app, "ann").await;
    let mut running = Vec::new();
    for _ in 0..EXPORTS_AT_ONCE {
        running.push(
            app.records
                .export(&ann, &RecordFilter::default(), RecordSort::Newest)
                .await
                .unwrap(),
        );
    }
    let refused = app
        .records
        .export(&ann, &RecordFilter::default(), RecordSort::Newest)
        .await
        .err()
        .unwrap();
    assert!(
        matches!(refused, ServiceError::Unavailable(_, 5)),
        "{refused:?}"
    );
    let mut done = running.pop().unwrap();
    while done.next_chunk().await.unwrap().is_some() {}
    drop(done);
    assert!(
        app.records
            .export(&ann, &RecordFilter::default(), RecordSort::Newest)
            .await
            .is_ok()
    );
    app.stop().await;
}
