//! The notification centre: likes, matches and messages notify, written with the change that
//! caused them; one unread notification per conversation; reading the conversation clears
//! it; marking read through the API and the page; nothing for one's own messages.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, get_json};
use crate::matching::{community, send};
use crate::messages::like_each_other;

pub(crate) async fn notifications(
    app: &TestApp,
    client: &reqwest::Client,
) -> Vec<(String, String, bool)> {
    let list = get_json(client, &app.url("/api/v1/notifications")).await;
    list["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"))
        .iter()
        .map(|n| {
            (
                n["event"].as_str().unwrap().to_string(),
                n["title"].as_str().unwrap().to_string(),
                n["read"].as_bool().unwrap(),
            )
        })
        .collect()
}

async fn unread(app: &TestApp, client: &reqwest::Client) -> u64 {
    get_json(client, &app.url("/api/v1/notifications/unread")).await["data"]["unread"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn members_are_notified_once_per_thing_and_reading_clears_it() {
    let (app, _owner, members) = community(&["ann", "bob"]).await;
    let [(ann, ann_id), (bob, bob_id)] = &members[..] else {
        unreachable!()
    };
    // Bob likes Ann (she is told someone did, not who); she likes back: both matched.
    like_each_other(&app, bob, bob_id, ann, ann_id).await;
    // (Both came in the same millisecond: compared in any order.)
    let mut hers = notifications(&app, ann).await;
    hers.sort();
    let expected = [
        ("like:new", "Someone liked you", false),
        ("match:new", "You matched with bob", false),
    ];
    let expected: Vec<(String, String, bool)> = expected
        .iter()
        .map(|(e, t, r)| (e.to_string(), t.to_string(), *r))
        .collect();
    assert_eq!(hers, expected);
    let his = notifications(&app, bob).await;
    assert!(
        his.iter()
            .any(|(_, title, _)| title == "You matched with ann"),
        "{his:?}"
    );

    // Two messages from Bob: one unread notification for the conversation, quoting the last.
    let conversation = crate::messages::conversation_with(&app, bob, ann_id).await;
    let path = format!("/api/v1/conversations/{conversation}/messages");
    for text in ["Hi Ann", "Coffee on Sunday?"] {
        app.clock.advance(std::time::Duration::from_millis(5));
        assert_eq!(
            send(&app, bob, Method::POST, &path, Some(json!({"text": text})))
                .await
                .status(),
            201
        );
    }
    let list = get_json(ann, &app.url("/api/v1/notifications")).await;
    let about: Vec<&Value> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["event"] == "message:new")
        .collect();
    assert_eq!(about.len(), 1, "{list}");
    // One notification for the conversation, counting the messages, quoting the latest.
    assert_eq!(about[0]["title"], "2 new messages from bob");
    assert_eq!(about[0]["body"], "Coffee on Sunday?");
    assert_eq!(about[0]["subject"], format!("conversation:{conversation}"));
    assert_eq!(unread(&app, ann).await, 3);
    // Nobody is notified of their own messages.
    assert!(
        notifications(&app, bob)
            .await
            .iter()
            .all(|(e, _, _)| e != "message:new")
    );

    // Reading the conversation clears its notification.
    let read = send(
        &app,
        ann,
        Method::POST,
        &format!("/api/v1/conversations/{conversation}/read"),
        Some(json!({})),
    )
    .await;
    assert_eq!(read.status(), 204);
    assert_eq!(unread(&app, ann).await, 2);

    // One marked read by id, then the rest from the page.
    let first = list["data"][0]["id"].as_str().unwrap().to_string();
    let marked = send(
        &app,
        ann,
        Method::POST,
        "/api/v1/notifications/read",
        Some(json!({"ids": [first]})),
    )
    .await;
    assert_eq!(marked.status(), 200);
    let bad = send(
        &app,
        ann,
        Method::POST,
        "/api/v1/notifications/read",
        Some(json!({"ids": ["nope"]})),
    )
    .await;
    assert_eq!(bad.status(), 422);
    let page = crate::helpers::get_text(ann, &app.url("/notifications")).await;
    assert!(page.contains("Someone liked you"), "{page}");
    assert!(
        page.contains(&format!("href=\"/messages/{conversation}\"")),
        "{page}"
    );
    let csrf = TestApp::csrf_from(ann, &app.url("/notifications")).await;
    let all = ann
        .post(app.url("/notifications/read"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(all.status(), 303);
    assert_eq!(unread(&app, ann).await, 0);
    assert!(
        notifications(&app, ann)
            .await
            .iter()
            .all(|(_, _, read)| *read)
    );
}
