//! Messages through the API: who may write to whom (matches only, or any members), a
//! conversation paged both ways, unread counts and "seen", edits within fifteen minutes,
//! deletions that leave a trace, closed conversations after an unmatch or a block, the daily
//! number of new conversations, and bad input that stores nothing.

use std::time::Duration;

use hearth::events::{Event, Topic};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, get_json, get_text};
use crate::matching::{community, send};

async fn call(
    app: &TestApp,
    client: &reqwest::Client,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let resp = send(app, client, method, path, body).await;
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// `client` ends their first match.
pub(crate) async fn unmatch_first(app: &TestApp, client: &reqwest::Client) {
    let matches = get_json(client, &app.url("/api/v1/matches")).await;
    let match_id = matches["data"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = call(
        app,
        client,
        Method::DELETE,
        &format!("/api/v1/matches/{match_id}"),
        None,
    )
    .await;
    assert_eq!(status, 204, "{body}");
}

pub(crate) async fn like_each_other(
    app: &TestApp,
    x: &reqwest::Client,
    x_id: &str,
    y: &reqwest::Client,
    y_id: &str,
) {
    for (who, target) in [(x, y_id), (y, x_id)] {
        let (status, body) = call(
            app,
            who,
            Method::POST,
            "/api/v1/swipes",
            Some(json!({"swipes": [{"targetId": target, "action": "like"}]})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
}

/// The id of `client`'s conversation with `other`, started if need be.
pub(crate) async fn conversation_with(
    app: &TestApp,
    client: &reqwest::Client,
    other: &str,
) -> String {
    let (status, body) = start(app, client, other).await;
    assert_eq!(status, 200, "{body}");
    body["data"]["id"].as_str().unwrap().to_string()
}

async fn start(app: &TestApp, client: &reqwest::Client, other: &str) -> (u16, Value) {
    call(
        app,
        client,
        Method::POST,
        "/api/v1/conversations",
        Some(json!({"memberId": other})),
    )
    .await
}

pub(crate) async fn write(
    app: &TestApp,
    client: &reqwest::Client,
    conversation: &str,
    text: &str,
) -> (u16, Value) {
    // Each message a moment after the last, as people type.
    app.clock.advance(Duration::from_millis(5));
    call(
        app,
        client,
        Method::POST,
        &format!("/api/v1/conversations/{conversation}/messages"),
        Some(json!({"text": text})),
    )
    .await
}

fn texts(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{page}"))
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn matched_members_write_read_edit_and_delete() {
    let (app, _owner, members) = community(&["ann", "bob", "cyd"]).await;
    let [(ann, ann_id), (bob, bob_id), (cyd, cyd_id)] = &members[..] else {
        unreachable!()
    };

    // Only matches may write (the default): not matched yet.
    let (status, body) = start(&app, ann, bob_id).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("matches"),
        "{body}"
    );
    like_each_other(&app, ann, ann_id, bob, bob_id).await;
    let (status, opened) = start(&app, ann, bob_id).await;
    assert_eq!(status, 200, "{opened}");
    let conversation = opened["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(opened["data"]["displayName"], "bob");
    // Starting again, from either side, finds the same conversation.
    let (_, again) = start(&app, bob, ann_id).await;
    assert_eq!(again["data"]["id"], conversation.as_str());

    let mut bus = app.events.subscribe(Topic::Messages);
    let (status, first) = write(&app, ann, &conversation, "  Hi Bob!\r\nHow are you?  ").await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["data"]["text"], "Hi Bob!\nHow are you?");
    let first_id = first["data"]["id"].as_str().unwrap().to_string();
    let mut told = Vec::new();
    while let Some(Ok(event)) = bus.try_next() {
        if let Event::MessageNew { member, .. } = &*event {
            told.push(member.to_string());
        }
    }
    told.sort();
    let mut both = vec![ann_id.clone(), bob_id.clone()];
    both.sort();
    assert_eq!(told, both, "both are told at once");

    // Bob has one unread; reading clears it, and Ann sees how far he read.
    let inbox = get_json(bob, &app.url("/api/v1/conversations")).await;
    assert_eq!(inbox["data"][0]["unread"], 1, "{inbox}");
    assert_eq!(inbox["data"][0]["lastMessage"]["id"], first_id.as_str());
    assert_eq!(
        get_json(bob, &app.url("/api/v1/me/unread")).await["data"]["messages"],
        1
    );
    let (status, _) = call(
        &app,
        bob,
        Method::POST,
        &format!("/api/v1/conversations/{conversation}/read"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        get_json(bob, &app.url("/api/v1/me/unread")).await["data"]["messages"],
        0
    );
    // A read receipt names a message of this conversation, nothing else.
    let (status, body) = call(
        &app,
        bob,
        Method::POST,
        &format!("/api/v1/conversations/{conversation}/read"),
        Some(json!({"upTo": "01000000-0000-7000-8000-000000000000"})),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let seen = get_json(
        ann,
        &app.url(&format!("/api/v1/conversations/{conversation}")),
    )
    .await;
    assert_eq!(seen["data"]["seenUpTo"], first_id.as_str());

    // Paging both ways, oldest first within a page.
    for n in 2..=6 {
        let (status, _) = write(
            &app,
            if n % 2 == 0 { bob } else { ann },
            &conversation,
            &format!("message {n}"),
        )
        .await;
        assert_eq!(status, 201);
    }
    let messages = |query: &str| {
        app.url(&format!(
            "/api/v1/conversations/{conversation}/messages?{query}"
        ))
    };
    let newest = get_json(ann, &messages("limit=2")).await;
    assert_eq!(texts(&newest), ["message 5", "message 6"]);
    let older = newest["pagination"]["nextCursor"].as_str().unwrap();
    let before = get_json(ann, &messages(&format!("limit=2&before={older}"))).await;
    assert_eq!(texts(&before), ["message 3", "message 4"]);
    let after = get_json(ann, &messages(&format!("limit=3&after={first_id}"))).await;
    assert_eq!(texts(&after), ["message 2", "message 3", "message 4"]);
    let newer = after["pagination"]["nextCursor"].as_str().unwrap();
    let rest = get_json(ann, &messages(&format!("limit=3&after={newer}"))).await;
    assert_eq!(texts(&rest), ["message 5", "message 6"]);
    assert!(rest["pagination"].get("nextCursor").is_none(), "{rest}");
    assert_eq!(
        get_json(ann, &app.url("/api/v1/me/unread")).await["data"]["messages"],
        3
    );

    // Cyd sees none of it.
    let path = format!("/api/v1/conversations/{conversation}/messages");
    assert_eq!(call(&app, cyd, Method::GET, &path, None).await.0, 404);
    assert_eq!(write(&app, cyd, &conversation, "hello?").await.0, 404);
    let _ = cyd_id;

    // Bad input: nothing stored.
    for (text, field_problem) in [
        ("   ", "Write something"),
        ("evil\u{202E}txt", "invisible"),
        (&"x".repeat(4001)[..], "4,000"),
    ] {
        let (status, body) = write(&app, ann, &conversation, text).await;
        assert_eq!(status, 422, "{body}");
        assert!(
            body["fields"][0]["message"]
                .as_str()
                .unwrap()
                .contains(field_problem),
            "{body}"
        );
    }
    let (status, body) = call(
        &app,
        ann,
        Method::POST,
        &path,
        Some(json!({"text": "look", "mediaId": "01000000-0000-7000-8000-000000000000"})),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let all = get_json(ann, &messages("limit=100")).await;
    assert_eq!(all["data"].as_array().unwrap().len(), 6);

    // Edits: her own, within fifteen minutes; deletions leave a trace for both.
    let edit = |id: &str| format!("/api/v1/messages/{id}");
    let (status, edited) = call(
        &app,
        ann,
        Method::PATCH,
        &edit(&first_id),
        Some(json!({"text": "Hi Bob!"})),
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    assert!(edited["data"]["editedAt"].is_string());
    assert_eq!(
        call(
            &app,
            bob,
            Method::PATCH,
            &edit(&first_id),
            Some(json!({"text": "mine now"}))
        )
        .await
        .0,
        404
    );
    app.clock.advance(Duration::from_secs(16 * 60));
    let (status, late) = call(
        &app,
        ann,
        Method::PATCH,
        &edit(&first_id),
        Some(json!({"text": "too late"})),
    )
    .await;
    assert_eq!(
        (status, late["code"].as_str()),
        (409, Some("EDIT_WINDOW_CLOSED")),
        "{late}"
    );
    assert_eq!(
        call(&app, bob, Method::DELETE, &edit(&first_id), None)
            .await
            .0,
        404
    );
    assert_eq!(
        call(&app, ann, Method::DELETE, &edit(&first_id), None)
            .await
            .0,
        204
    );
    for who in [ann, bob] {
        let first = get_json(who, &messages("limit=100")).await["data"][0].clone();
        assert_eq!(
            (first["deleted"].as_bool(), first["text"].as_str()),
            (Some(true), Some("")),
            "{first}"
        );
    }

    // After an unmatch the conversation is read-only for both, with the reason.
    unmatch_first(&app, bob).await;
    for who in [ann, bob] {
        let (status, body) = write(&app, who, &conversation, "still there?").await;
        assert_eq!(status, 403, "{body}");
        let view = get_json(
            who,
            &app.url(&format!("/api/v1/conversations/{conversation}")),
        )
        .await;
        assert!(
            view["data"]["closed"]
                .as_str()
                .unwrap()
                .contains("not matched"),
            "{view}"
        );
        assert_eq!(
            get_json(who, &messages("limit=100")).await["data"]
                .as_array()
                .unwrap()
                .len(),
            6
        );
    }
}

#[tokio::test]
async fn a_block_closes_the_conversation_and_hides_it_from_the_blocker() {
    let (app, owner, members) = community(&["ann", "bob", "cyd", "dee", "eve"]).await;
    let [
        (ann, _),
        (bob, bob_id),
        (cyd, cyd_id),
        (_, dee_id),
        (_, eve_id),
    ] = &members[..]
    else {
        unreachable!()
    };

    // The community lets any member write to any other, two new people a day.
    let (status, body) = call(
        &app,
        &owner,
        Method::PATCH,
        "/api/v1/admin/settings",
        Some(json!({"messages": {"scope": "members", "newConversationsPerDay": 2}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, opened) = start(&app, ann, bob_id).await;
    assert_eq!(status, 200, "{opened}");
    let conversation = opened["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(write(&app, ann, &conversation, "Hello").await.0, 201);
    assert_eq!(start(&app, ann, cyd_id).await.0, 200);
    // Reopening an existing conversation is not a new one; a third new person is.
    assert_eq!(start(&app, ann, bob_id).await.0, 200);
    let (status, body) = start(&app, ann, dee_id).await;
    assert_eq!(status, 429, "{body}");
    let _ = eve_id;
    // Nobody writes to themselves; nobody unknown.
    let (_, me) = call(&app, ann, Method::GET, "/api/v1/me", None).await;
    let my_id = me["data"]["id"].as_str().unwrap_or_default().to_string();
    assert_eq!(start(&app, ann, &my_id).await.0, 422);
    assert_eq!(
        start(&app, bob, "01000000-0000-7000-8000-000000000000")
            .await
            .0,
        404
    );

    // Bob blocks Ann: gone for him, read-only for her.
    let (status, _) = call(
        &app,
        bob,
        Method::POST,
        "/api/v1/blocks",
        Some(json!({"memberId": members[0].1})),
    )
    .await;
    assert_eq!(status, 204);
    let his = get_json(bob, &app.url("/api/v1/conversations")).await;
    assert_eq!(his["data"].as_array().unwrap().len(), 0, "{his}");
    let path = format!("/api/v1/conversations/{conversation}");
    assert_eq!(call(&app, bob, Method::GET, &path, None).await.0, 404);
    assert_eq!(write(&app, bob, &conversation, "bye").await.0, 404);
    let hers = get_json(ann, &app.url(&path)).await;
    assert!(hers["data"]["closed"].is_string(), "{hers}");
    assert_eq!(write(&app, ann, &conversation, "why?").await.0, 403);
    let _ = cyd;
}

#[tokio::test]
async fn messages_work_as_plain_forms() {
    let (app, _owner, members) = community(&["ann", "bob", "cyd"]).await;
    let [(ann, ann_id), (bob, bob_id), (cyd, _)] = &members[..] else {
        unreachable!()
    };
    like_each_other(&app, ann, ann_id, bob, bob_id).await;
    let form = |client: &reqwest::Client,
                page: String,
                action: String,
                fields: Vec<(&'static str, String)>| {
        let client = client.clone();
        let app_url = app.url(&action);
        let page_url = app.url(&page);
        async move {
            let csrf = TestApp::csrf_from(&client, &page_url).await;
            let mut all = vec![("csrf", csrf)];
            all.extend(fields);
            client.post(app_url).form(&all).send().await.unwrap()
        }
    };

    // From Bob's page, "Message" opens the conversation.
    let bobs_page = format!("/members/{bob_id}");
    let page = crate::helpers::get_text(ann, &app.url(&bobs_page)).await;
    assert!(
        page.contains(&format!("action=\"/members/{bob_id}/message\"")),
        "{page}"
    );
    let opened = form(
        ann,
        bobs_page.clone(),
        format!("/members/{bob_id}/message"),
        vec![],
    )
    .await;
    assert_eq!(opened.status(), 303);
    let location = opened.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/messages/"), "{location}");
    let sent = form(
        ann,
        location.clone(),
        location.clone(),
        vec![("text", "Hi <b>Bob</b>".into())],
    )
    .await;
    assert_eq!(sent.status(), 303);

    // Bob sees a badge and the conversation; opening it reads it.
    let inbox = crate::helpers::get_text(bob, &app.url("/messages")).await;
    assert!(inbox.contains("aria-label=\"1 unread\""), "{inbox}");
    assert!(
        inbox.contains("Hi &#60;b&#62;Bob&#60;/b&#62;")
            || inbox.contains("Hi &lt;b&gt;Bob&lt;/b&gt;"),
        "{inbox}"
    );
    let his = crate::helpers::get_text(bob, &app.url(&location)).await;
    assert!(!his.contains("<b>Bob</b>"), "markup stays text");
    let inbox = crate::helpers::get_text(bob, &app.url("/messages")).await;
    assert!(!inbox.contains("<li class=\"unread\""), "{inbox}");
    let hers = crate::helpers::get_text(ann, &app.url(&location)).await;
    assert!(hers.contains("· seen"), "{hers}");

    // An empty message is refused with the reason, and nothing is sent.
    let empty = form(
        ann,
        location.clone(),
        location.clone(),
        vec![("text", "  ".into())],
    )
    .await;
    assert_eq!(empty.status(), 303);
    let hers = crate::helpers::get_text(ann, &app.url(&location)).await;
    assert!(hers.contains("Write something"), "{hers}");
    assert_eq!(hers.matches("<li class=\"message").count(), 1, "{hers}");

    // She deletes it: both see the trace.
    let id = location.trim_start_matches("/messages/");
    let messages = get_json(
        ann,
        &app.url(&format!("/api/v1/conversations/{id}/messages")),
    )
    .await;
    let message = messages["data"][0]["id"].as_str().unwrap().to_string();
    let deleted = form(
        ann,
        location.clone(),
        format!("{location}/delete/{message}"),
        vec![],
    )
    .await;
    assert_eq!(deleted.status(), 303);
    for who in [ann, bob] {
        let page = crate::helpers::get_text(who, &app.url(&location)).await;
        assert!(page.contains("Message deleted"), "{page}");
        assert!(!page.contains("Hi &"), "{page}");
    }

    // A photo from her library goes with a message.
    let photo = crate::profiles::upload_photo(&app, ann, "plain.png").await;
    crate::media::process_all(&app).await;
    let hers = crate::helpers::get_text(ann, &app.url(&location)).await;
    assert!(
        hers.contains(&format!("value=\"{photo}\"")),
        "her photo to choose"
    );
    let sent = form(
        ann,
        location.clone(),
        location.clone(),
        vec![("text", String::new()), ("media", photo.clone())],
    )
    .await;
    assert_eq!(sent.status(), 303);
    let his = crate::helpers::get_text(bob, &app.url(&location)).await;
    assert!(
        his.contains(&format!("src=\"/media/{photo}/card\"")),
        "{his}"
    );

    // Cyd is not matched with Bob: refused.
    let refused = form(cyd, bobs_page, format!("/members/{bob_id}/message"), vec![]).await;
    assert_eq!(refused.status(), 403);
}

#[tokio::test]
async fn a_report_from_a_conversation_carries_its_messages_as_they_were() {
    let (app, owner, members) = community(&["ann", "bob", "cyd"]).await;
    let [(ann, ann_id), (bob, bob_id), (cyd, cyd_id)] = &members[..] else {
        unreachable!()
    };
    like_each_other(&app, ann, ann_id, bob, bob_id).await;
    like_each_other(&app, ann, ann_id, cyd, cyd_id).await;
    let with_bob = conversation_with(&app, ann, bob_id).await;
    let with_cyd = conversation_with(&app, ann, cyd_id).await;
    let (_, rude) = write(&app, bob, &with_bob, "Something rude").await;
    let rude = rude["data"]["id"].as_str().unwrap().to_string();
    let (_, other) = write(&app, cyd, &with_cyd, "Hello from Cyd").await;
    let other = other["data"]["id"].as_str().unwrap().to_string();

    let report = |ids: Vec<String>| {
        call(
            &app,
            ann,
            Method::POST,
            "/api/v1/reports",
            Some(
                json!({"memberId": bob_id, "category": "harassment", "text": "See below", "messageIds": ids}),
            ),
        )
    };
    // A message of another conversation, or too many, is refused whole.
    let (status, body) = report(vec![rude.clone(), other]).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["fields"][0]["field"], "messageIds");
    // (21 breaks the schema: refused before the service sees it.)
    let (status, _) = report(vec![rude.clone(); 21]).await;
    assert_eq!(status, 400);
    let (status, body) = report(vec![rude.clone()]).await;
    assert_eq!(status, 201, "{body}");

    // Bob deletes it afterwards: the moderators still read what he wrote.
    assert_eq!(
        call(
            &app,
            bob,
            Method::DELETE,
            &format!("/api/v1/messages/{rude}"),
            None
        )
        .await
        .0,
        204
    );
    let queue = get_json(&owner, &app.url("/api/v1/admin/reports")).await;
    let reported = &queue["data"][0];
    assert_eq!(reported["messages"][0]["text"], "Something rude", "{queue}");
    assert_eq!(reported["messages"][0]["authorId"], bob_id.as_str());
    assert_eq!(reported["messages"][0]["deleted"], false);

    // From the conversation page: one form, with Cyd's last messages, and a block.
    let csrf = TestApp::csrf_from(ann, &app.url(&format!("/messages/{with_cyd}"))).await;
    let resp = ann
        .post(app.url(&format!("/members/{cyd_id}/report")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("category", "spam"),
            ("text", "Selling things"),
            ("conversation", with_cyd.as_str()),
            ("include_messages", "yes"),
            ("block", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let page = get_text(&owner, &app.url("/admin/reports")).await;
    assert!(page.contains("Hello from Cyd"), "{page}");
    assert!(page.contains("The messages reported (1)"), "{page}");

    // The reporter hears that the moderators decided.
    let queue = get_json(&owner, &app.url("/api/v1/admin/reports")).await;
    let id = queue["data"][0]["id"].as_str().unwrap();
    let (status, body) = call(
        &app,
        &owner,
        Method::POST,
        &format!("/api/v1/admin/reports/{id}/decision"),
        Some(json!({"decision": "warn", "note": "Be kind."})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let told = get_json(ann, &app.url("/api/v1/notifications")).await;
    assert!(
        told["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["event"] == "report:decided" && n["body"] == "Thank you: they took action."),
        "{told}"
    );
}
