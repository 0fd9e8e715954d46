//! Likes, passes and matches; blocks; reports. The mutual like at the same instant makes one
//! match; a replayed batch changes nothing and tells no one twice; a batch is answered item by
//! item, the daily limit included; a block hides both members from each other everywhere.

use hearth::clock::Clock;
use hearth::events::{Event, Topic};
use serde_json::{Value, json};

use crate::helpers::{TestApp, get_json, save_settings};
use crate::profiles::{get, good_profile, member, put_profile, upload_photo};

/// An open community of verified members, each with a profile, plus the owner.
pub(crate) async fn community(
    names: &[&str],
) -> (TestApp, reqwest::Client, Vec<(reqwest::Client, String)>) {
    community_with(names, |_| {}).await
}

/// A community on an app whose config `tweak` changes (job workers stay off).
pub(crate) async fn community_with(
    names: &[&str],
    tweak: impl FnOnce(&mut hearth::config::Config),
) -> (TestApp, reqwest::Client, Vec<(reqwest::Client, String)>) {
    let app = TestApp::spawn_with(hearth::jobs::Registry::new(), |c| {
        c.jobs.workers = 0;
        tweak(c);
    })
    .await;
    let owner = app.owner_client().await;
    save_settings(
        &app,
        &owner,
        &[
            ("registration", "open"),
            ("api_requests_per_second", "10000"),
        ],
    )
    .await;
    let mut members = Vec::new();
    for name in names {
        let (client, id) = member(&app, &owner, name).await;
        let mut profile = good_profile();
        profile["displayName"] = json!(name);
        let (status, body) = put_profile(&app, &client, &profile).await;
        assert_eq!(status, 200, "{body}");
        members.push((client, id));
    }
    (app, owner, members)
}

pub(crate) async fn send(
    app: &TestApp,
    client: &reqwest::Client,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let csrf = app.api_csrf(client).await;
    let mut request = client
        .request(method, app.url(path))
        .header("x-csrf-token", csrf);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn swipe(
    app: &TestApp,
    client: &reqwest::Client,
    swipes: Value,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let resp = send(
        app,
        client,
        reqwest::Method::POST,
        "/api/v1/swipes",
        Some(json!({ "swipes": swipes })),
    )
    .await;
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    (status, resp.json().await.unwrap_or(Value::Null), headers)
}

fn results(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| match r["code"].as_str() {
            Some(code) => format!("{}:{code}", r["result"].as_str().unwrap()),
            None => r["result"].as_str().unwrap().to_string(),
        })
        .collect()
}

fn like(id: &str) -> Value {
    json!({"targetId": id, "action": "like"})
}

fn pass(id: &str) -> Value {
    json!({"targetId": id, "action": "pass"})
}

#[tokio::test]
async fn mutual_likes_at_the_same_instant_make_exactly_one_match() {
    let mut sink = crate::smtp::SmtpSink::start();
    let names = [
        "amy1", "bob1", "amy2", "bob2", "amy3", "bob3", "amy4", "bob4",
    ];
    let (app, owner, members) = community(&names).await;
    crate::helpers::configure_smtp(&app, &owner, sink.port).await;
    let mut bus = app.events.subscribe(Topic::Matching);

    // Four pairs, each liking the other at the same moment.
    let mut tries = Vec::new();
    for pair in members.chunks(2) {
        let ((x, x_id), (y, y_id)) = (&pair[0], &pair[1]);
        tries.push(async {
            let (first, second) = tokio::join!(
                swipe(&app, x, json!([like(y_id)])),
                swipe(&app, y, json!([like(x_id)]))
            );
            let mut got = [results(&first.1)[0].clone(), results(&second.1)[0].clone()];
            got.sort();
            got
        });
    }
    for got in futures_util::future::join_all(tries).await {
        assert_eq!(got, ["liked", "matched"]);
    }
    for (client, _) in &members {
        let matches = get_json(client, &app.url("/api/v1/matches")).await;
        assert_eq!(matches["data"].as_array().unwrap().len(), 1, "{matches}");
    }
    let mut created = 0;
    let mut likes = 0;
    while let Some(Ok(event)) = bus.try_next() {
        match &*event {
            Event::MatchNew { .. } => created += 1,
            Event::LikeNew { .. } => likes += 1,
            _ => {}
        }
    }
    assert_eq!(
        (created, likes),
        (8, 4),
        "one match per pair, told to each member"
    );

    // Replaying changes nothing and tells no one again.
    let ((a1, _), (_, b1_id)) = (&members[0], &members[1]);
    let (status, replay, _) = swipe(&app, a1, json!([like(b1_id)])).await;
    assert_eq!(status, 200);
    assert_eq!(results(&replay), ["already_done"]);
    assert!(bus.try_next().is_none());
    let matches = get_json(a1, &app.url("/api/v1/matches")).await;
    assert_eq!(matches["data"][0]["member"]["displayName"], "bob1");

    // Both members of a pair are told by mail.
    while app.queue.run_one_pending().await.unwrap().is_some() {}
    let mut told = Vec::new();
    for _ in 0..8 {
        let mail = sink.next_message().await;
        assert!(mail.data.contains("You matched with"), "{}", mail.data);
        told.extend(mail.to);
    }
    told.sort();
    told.dedup();
    assert_eq!(told.len(), 8);
}

#[tokio::test]
async fn a_batch_is_answered_item_by_item() {
    let (app, owner, members) = community(&["ann", "bob", "cyd", "dee", "eve"]).await;
    let [
        (ann, _),
        (bob, bob_id),
        (cy, cy_id),
        (dee, dee_id),
        (_eve, eve_id),
    ] = &members[..]
    else {
        unreachable!()
    };
    let ann_id = &members[0].1;

    // Refused as a whole: nothing is stored.
    assert_eq!(swipe(&app, ann, json!([])).await.0, 400);
    let many: Vec<Value> = (0..51).map(|_| like(bob_id)).collect();
    assert_eq!(swipe(&app, ann, json!(many)).await.0, 400);
    let (status, body, _) = swipe(&app, ann, json!([like(bob_id), pass(bob_id)])).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["fields"][0]["message"]
            .as_str()
            .unwrap()
            .contains("twice")
    );
    assert_eq!(swipe(&app, ann, json!([like("nobody")])).await.0, 422);

    // Dee pauses; Ann blocked Cy.
    let paused = send(
        &app,
        dee,
        reqwest::Method::PUT,
        "/api/v1/me/profile/paused",
        Some(json!({"paused": true})),
    )
    .await;
    assert_eq!(paused.status(), 200);
    let blocked = send(
        &app,
        ann,
        reqwest::Method::POST,
        "/api/v1/blocks",
        Some(json!({"memberId": cy_id})),
    )
    .await;
    assert_eq!(blocked.status(), 204);
    let unknown = "01900000-0000-7000-8000-000000000000";
    let (status, body, _) = swipe(
        &app,
        ann,
        json!([
            like(ann_id),
            like(unknown),
            like(dee_id),
            like(cy_id),
            pass(eve_id),
            like(bob_id)
        ]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        results(&body),
        [
            "refused:YOURSELF",
            "refused:UNAVAILABLE",
            "refused:UNAVAILABLE",
            "refused:UNAVAILABLE",
            "passed",
            "liked"
        ]
    );
    // Cy cannot reach Ann either.
    assert_eq!(
        results(&swipe(&app, cy, json!([like(ann_id)])).await.1),
        ["refused:UNAVAILABLE"]
    );

    // Undo the pass; take back the like.
    let undone = send(
        &app,
        ann,
        reqwest::Method::DELETE,
        "/api/v1/swipes/last-pass",
        None,
    )
    .await;
    assert_eq!(undone.status(), 200);
    assert_eq!(
        undone.json::<Value>().await.unwrap()["data"]["memberId"],
        eve_id.as_str()
    );
    let again = send(
        &app,
        ann,
        reqwest::Method::DELETE,
        "/api/v1/swipes/last-pass",
        None,
    )
    .await;
    assert_eq!(again.status(), 404);
    let unliked = send(
        &app,
        ann,
        reqwest::Method::DELETE,
        &format!("/api/v1/likes/{bob_id}"),
        None,
    )
    .await;
    assert_eq!(unliked.status(), 204);

    // A member without a profile cannot swipe.
    let (newbie, _) = member(&app, &owner, "newbie").await;
    let (status, body, _) = swipe(&app, &newbie, json!([like(bob_id)])).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("PROFILE_REQUIRED"))
    );

    // The daily limit, two likes a day: the likes past it are refused, the rest stand.
    let csrf = app.api_csrf(&owner).await;
    let patched = owner
        .patch(app.url("/api/v1/admin/settings"))
        .header("x-csrf-token", csrf)
        .json(&json!({"profiles": {"likesPerDay": 2}}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let (status, body, headers) = swipe(&app, bob, json!([like(ann_id)])).await;
    assert_eq!((status, results(&body)), (200, vec!["liked".to_string()]));
    assert_eq!(headers["x-ratelimit-remaining"], "1");
    // Ann's like of Bob today still counts, though she took it back: one left.
    let (_, body, headers) = swipe(&app, ann, json!([like(eve_id), like(bob_id)])).await;
    assert_eq!(results(&body), ["liked", "refused:LIMIT_REACHED"]);
    assert_eq!(headers["x-ratelimit-limit"], "2");
    assert_eq!(headers["x-ratelimit-remaining"], "0");
    let reset: i64 = headers["x-ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let now = app.clock.now().as_second();
    assert!(reset > now && reset <= now + 24 * 3600, "{reset} vs {now}");
    // A day later the likes are back; Bob had liked Ann, so it is a match.
    app.clock
        .advance(std::time::Duration::from_secs(24 * 3600 + 1));
    let (_, body, _) = swipe(&app, ann, json!([like(bob_id)])).await;
    assert_eq!(results(&body), ["matched"]);
    // Matched: a pass and an unlike are refused.
    assert_eq!(
        results(&swipe(&app, ann, json!([pass(bob_id)])).await.1),
        ["refused:ALREADY_MATCHED"]
    );
    let unliked = send(
        &app,
        ann,
        reqwest::Method::DELETE,
        &format!("/api/v1/likes/{bob_id}"),
        None,
    )
    .await;
    assert_eq!(unliked.status(), 409);
}

#[tokio::test]
async fn a_block_hides_both_members_everywhere() {
    let (app, _owner, members) = community(&["ann", "bob"]).await;
    let [(ann, ann_id), (bob, bob_id)] = &members[..] else {
        unreachable!()
    };
    swipe(&app, ann, json!([like(bob_id)])).await;
    let (_, body, _) = swipe(&app, bob, json!([like(ann_id)])).await;
    assert_eq!(results(&body), ["matched"]);
    // Bob looked at Ann's profile; she sees who liked and viewed her.
    assert_eq!(
        get(bob, &app.url(&format!("/api/v1/members/{ann_id}/profile")))
            .await
            .0,
        200
    );
    let viewers = get_json(ann, &app.url("/api/v1/me/viewers")).await;
    assert_eq!(viewers["data"][0]["profile"]["memberId"], bob_id.as_str());
    let first_look = viewers["data"][0]["at"].clone();
    // One entry per viewer; a look soon after changes nothing, a look later moves it on.
    let anns_profile = app.url(&format!("/api/v1/members/{ann_id}/profile"));
    let look = || get(bob, &anns_profile);
    app.clock.advance(std::time::Duration::from_secs(60));
    assert_eq!(look().await.0, 200);
    let viewers = get_json(ann, &app.url("/api/v1/me/viewers")).await;
    assert_eq!(viewers["data"].as_array().unwrap().len(), 1);
    assert_eq!(viewers["data"][0]["at"], first_look);
    app.clock.advance(std::time::Duration::from_secs(15 * 60));
    assert_eq!(look().await.0, 200);
    let viewers = get_json(ann, &app.url("/api/v1/me/viewers")).await;
    assert_eq!(viewers["data"].as_array().unwrap().len(), 1);
    assert_ne!(viewers["data"][0]["at"], first_look);
    let likers = get_json(ann, &app.url("/api/v1/likes/received")).await;
    assert_eq!(likers["data"][0]["profile"]["memberId"], bob_id.as_str());

    let blocked = send(
        &app,
        bob,
        reqwest::Method::POST,
        "/api/v1/blocks",
        Some(json!({"memberId": ann_id})),
    )
    .await;
    assert_eq!(blocked.status(), 204);
    for (client, other) in [(ann, bob_id), (bob, ann_id)] {
        assert_eq!(
            get(
                client,
                &app.url(&format!("/api/v1/members/{other}/profile"))
            )
            .await
            .0,
            404
        );
        let page = client
            .get(app.url(&format!("/members/{other}")))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 404);
        let matches = get_json(client, &app.url("/api/v1/matches")).await;
        assert_eq!(matches["data"], json!([]));
        assert_eq!(
            results(&swipe(&app, client, json!([like(other)])).await.1),
            ["refused:UNAVAILABLE"]
        );
    }
    assert_eq!(
        get_json(ann, &app.url("/api/v1/me/viewers")).await["data"],
        json!([])
    );
    assert_eq!(
        get_json(ann, &app.url("/api/v1/likes/received")).await["data"],
        json!([])
    );
    let list = get_json(bob, &app.url("/api/v1/blocks")).await;
    assert_eq!(list["data"][0]["memberId"], ann_id.as_str());
    assert_eq!(list["pagination"]["total"], 1);

    // Lifted: they see each other again, but the match stays ended.
    let lifted = send(
        &app,
        bob,
        reqwest::Method::DELETE,
        &format!("/api/v1/blocks/{ann_id}"),
        None,
    )
    .await;
    assert_eq!(lifted.status(), 204);
    assert_eq!(
        get(ann, &app.url(&format!("/api/v1/members/{bob_id}/profile")))
            .await
            .0,
        200
    );
    assert_eq!(
        get_json(ann, &app.url("/api/v1/matches")).await["data"],
        json!([])
    );
}

#[tokio::test]
async fn reports_reach_the_moderators_and_their_decisions_the_member() {
    let (app, owner, members) = community(&["ann", "bob"]).await;
    let [(ann, ann_id), (bob, _)] = &members[..] else {
        unreachable!()
    };
    let photo = upload_photo(&app, ann, "plain.png").await;
    crate::media::process_all(&app).await;

    // Who-liked-me and who-viewed-me follow the community's choice.
    let csrf = app.api_csrf(&owner).await;
    owner
        .patch(app.url("/api/v1/admin/settings"))
        .header("x-csrf-token", csrf)
        .json(&json!({"profiles": {"whoLikedMe": "off", "whoViewedMe": "supporters"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(get(ann, &app.url("/api/v1/likes/received")).await.0, 403);
    assert_eq!(get(ann, &app.url("/api/v1/me/viewers")).await.0, 403);

    let report = |body: Value| {
        send(
            &app,
            bob,
            reqwest::Method::POST,
            "/api/v1/reports",
            Some(body),
        )
    };
    let bad = report(json!({"memberId": ann_id, "category": "spam", "text": "x\u{202E}y"})).await;
    assert_eq!(bad.status(), 422);
    let not_hers = report(json!({"memberId": ann_id, "category": "spam", "mediaId": "01900000-0000-7000-8000-000000000000"})).await;
    assert_eq!(not_hers.status(), 422);
    let filed = report(json!({"memberId": ann_id, "category": "inappropriate_photo", "text": "This photo.", "mediaId": photo})).await;
    assert_eq!(filed.status(), 201);
    let first: Value = filed.json().await.unwrap();
    // Reports are queued by time; the same millisecond would leave their order open.
    app.clock.advance(std::time::Duration::from_millis(5));
    let filed =
        report(json!({"memberId": ann_id, "category": "harassment", "text": "Rude."})).await;
    let second: Value = filed.json().await.unwrap();

    // Members cannot see the queue.
    assert_eq!(get(bob, &app.url("/api/v1/admin/reports")).await.0, 403);
    let queue = get_json(&owner, &app.url("/api/v1/admin/reports")).await;
    assert_eq!(queue["pagination"]["total"], 2);
    assert_eq!(queue["data"][0]["category"], "inappropriate_photo");

    let (app_ref, owner_ref) = (&app, &owner);
    let decide = |id: &str, body: Value| {
        let path = format!("/api/v1/admin/reports/{id}/decision");
        async move { send(app_ref, owner_ref, reqwest::Method::POST, &path, Some(body)).await }
    };
    let first_id = first["data"]["id"].as_str().unwrap();
    let second_id = second["data"]["id"].as_str().unwrap();
    assert_eq!(
        decide(
            first_id,
            json!({"decision": "remove_photo", "note": "Not allowed here."})
        )
        .await
        .status(),
        204
    );
    assert_eq!(
        get(ann, &app.url(&format!("/api/v1/media/{photo}")))
            .await
            .0,
        404
    );
    assert_eq!(
        decide(second_id, json!({"decision": "warn"}))
            .await
            .status(),
        422,
        "a warning needs a note"
    );
    assert_eq!(
        decide(
            second_id,
            json!({"decision": "warn", "note": "Please be kind."})
        )
        .await
        .status(),
        204
    );
    assert_eq!(
        decide(second_id, json!({"decision": "dismiss"}))
            .await
            .status(),
        404,
        "decided already"
    );

    let warnings = get_json(ann, &app.url("/api/v1/me/warnings")).await;
    assert_eq!(warnings["data"][0]["text"], "Please be kind.");
    let acknowledged = send(
        &app,
        ann,
        reqwest::Method::DELETE,
        &format!("/api/v1/me/warnings/{second_id}"),
        None,
    )
    .await;
    assert_eq!(acknowledged.status(), 204);
    assert_eq!(
        get_json(ann, &app.url("/api/v1/me/warnings")).await["data"],
        json!([])
    );
    assert_eq!(
        get_json(&owner, &app.url("/api/v1/admin/reports")).await["pagination"]["total"],
        0
    );

    let audit = get_json(&owner, &app.url("/api/v1/admin/audit?action=report.")).await;
    let actions: Vec<&str> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"report.warn") && actions.contains(&"report.remove_photo"),
        "{actions:?}"
    );

    // Reports are capped per member and day, so nobody can flood the queue.
    let mut filed = 0;
    loop {
        let resp = report(json!({"memberId": ann_id, "category": "spam"})).await;
        if resp.status() == 429 {
            break;
        }
        assert_eq!(resp.status(), 201);
        filed += 1;
        assert!(filed <= 20, "no cap");
    }
    assert!(filed >= 10, "{filed}");
}

/// Posts a form with the page's CSRF token.
async fn post_form(
    app: &TestApp,
    client: &reqwest::Client,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let csrf = TestApp::csrf_from(client, &app.url(page)).await;
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    client
        .post(app.url(action))
        .form(&form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_same_works_as_plain_forms() {
    let (app, owner, members) = community(&["ann", "bob"]).await;
    let [(ann, ann_id), (bob, bob_id)] = &members[..] else {
        unreachable!()
    };
    let anns_page = format!("/members/{ann_id}");
    let bobs_page = format!("/members/{bob_id}");
    let text = |client: &reqwest::Client, path: &str| {
        let url = app.url(path);
        let client = client.clone();
        async move { crate::helpers::get_text(&client, &url).await }
    };

    // Bob likes Ann from her page; she likes him back and the match is celebrated.
    let page = text(bob, &anns_page).await;
    assert!(page.contains("aria-label=\"Like ann\""), "{page}");
    let liked = post_form(
        &app,
        bob,
        &anns_page,
        &format!("{anns_page}/swipe"),
        &[("action", "like")],
    )
    .await;
    assert_eq!(liked.headers()["location"], anns_page.as_str());
    assert!(text(bob, &anns_page).await.contains("You liked ann."));
    let matched = post_form(
        &app,
        ann,
        &bobs_page,
        &format!("{bobs_page}/swipe"),
        &[("action", "like")],
    )
    .await;
    let to = matched.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/matches?new="), "{to}");
    let celebration = text(ann, &to).await;
    assert!(celebration.contains("It's a match!") && celebration.contains("Say hello"));
    assert!(
        text(bob, "/matches")
            .await
            .contains(&format!("href=\"/members/{ann_id}\""))
    );
    assert!(text(bob, &anns_page).await.contains("You matched."));
    assert!(
        text(ann, "/likes")
            .await
            .contains(&format!("href=\"/members/{bob_id}\""))
    );

    // Ann reports and blocks Bob in one go; they no longer see each other.
    let reported = post_form(
        &app,
        ann,
        &bobs_page,
        &format!("{bobs_page}/report"),
        &[
            ("category", "harassment"),
            ("text", "Rude <b>messages</b>."),
            ("block", "yes"),
        ],
    )
    .await;
    assert_eq!(reported.headers()["location"], "/blocks");
    assert_eq!(
        bob.get(app.url(&anns_page)).send().await.unwrap().status(),
        404
    );
    assert!(
        !text(bob, "/matches")
            .await
            .contains(&format!("/members/{ann_id}"))
    );

    // The owner warns Bob from the reports queue; Bob sees it until he acknowledges it.
    let queue = text(&owner, "/admin/reports").await;
    assert!(
        queue.contains("Harassment or hate")
            && (queue.contains("Rude &#60;b&#62;messages")
                || queue.contains("Rude &lt;b&gt;messages")),
        "{queue}"
    );
    let report_id = queue
        .split("/admin/reports/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_string();
    let decided = post_form(
        &app,
        &owner,
        "/admin/reports",
        &format!("/admin/reports/{report_id}/decision"),
        &[
            ("decision", "warn"),
            ("note", "Keep it kind."),
            ("until", ""),
        ],
    )
    .await;
    assert_eq!(decided.status(), 303);
    let profile = text(bob, "/profile").await;
    assert!(profile.contains("Keep it kind."), "{profile}");
    let acknowledged = post_form(
        &app,
        bob,
        "/profile",
        &format!("/warnings/{report_id}/acknowledge"),
        &[],
    )
    .await;
    assert_eq!(acknowledged.status(), 303);
    assert!(!text(bob, "/profile").await.contains("Keep it kind."));

    // Ann lifts the block.
    assert!(
        text(ann, "/blocks")
            .await
            .contains(&format!("/members/{bob_id}/unblock"))
    );
    let lifted = post_form(&app, ann, "/blocks", &format!("{bobs_page}/unblock"), &[]).await;
    assert_eq!(lifted.status(), 303);
    assert_eq!(
        ann.get(app.url(&bobs_page)).send().await.unwrap().status(),
        200
    );
}
