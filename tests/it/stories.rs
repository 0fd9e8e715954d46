//! Stories: shared for 24 hours with matches or every member, seen by whom they may be, a
//! viewer list for the author, and gone everywhere at expiry (the upload with them).

use serde_json::{Value, json};

use crate::helpers::get_json;
use crate::matching::{community, send};
use crate::profiles::{get, upload_photo};

#[tokio::test]
async fn stories_reach_whom_they_should_and_go_after_a_day() {
    let (app, _owner, members) = community(&["ann", "bob", "cyd", "dee"]).await;
    let [(ann, ann_id), (bob, bob_id), (cyd, _), (dee, _)] = &members[..] else {
        unreachable!()
    };
    let photo = upload_photo(&app, ann, "plain.png").await;
    let other = upload_photo(&app, ann, "plain.webp").await;
    let bobs = upload_photo(&app, bob, "plain.png").await;
    crate::media::process_all(&app).await;
    // Ann and Bob match; Dee blocked Ann.
    let like = |to: &str| json!({"swipes": [{"targetId": to, "action": "like"}]});
    send(
        &app,
        ann,
        reqwest::Method::POST,
        "/api/v1/swipes",
        Some(like(bob_id)),
    )
    .await;
    send(
        &app,
        bob,
        reqwest::Method::POST,
        "/api/v1/swipes",
        Some(like(ann_id)),
    )
    .await;
    let blocked = send(
        &app,
        dee,
        reqwest::Method::POST,
        "/api/v1/blocks",
        Some(json!({"memberId": ann_id})),
    )
    .await;
    assert_eq!(blocked.status(), 204);

    let share = |media: &str, audience: &str, caption: &str| {
        send(
            &app,
            ann,
            reqwest::Method::POST,
            "/api/v1/stories",
            Some(json!({"mediaId": media, "caption": caption, "audience": audience})),
        )
    };
    assert_eq!(share(&bobs, "members", "not mine").await.status(), 422);
    assert_eq!(share(&photo, "members", "bidi\u{202E}").await.status(), 422);
    let for_matches: Value = share(&photo, "matches", "Sunday hike")
        .await
        .json()
        .await
        .unwrap();
    // Stories are listed newest first; the same millisecond would leave the order open.
    app.clock.advance(std::time::Duration::from_millis(5));
    let for_all: Value = share(&other, "members", "Hello all")
        .await
        .json()
        .await
        .unwrap();
    let (matches_id, all_id) = (
        for_matches["data"]["id"].as_str().unwrap().to_string(),
        for_all["data"]["id"].as_str().unwrap().to_string(),
    );

    let captions = |client: &reqwest::Client| {
        let url = app.url("/api/v1/stories");
        let client = client.clone();
        async move {
            get_json(&client, &url).await["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["caption"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(captions(bob).await, ["Hello all", "Sunday hike"]);
    assert_eq!(captions(cyd).await, ["Hello all"]);
    assert!(captions(dee).await.is_empty(), "blocked either way");
    assert_eq!(
        get(cyd, &app.url(&format!("/api/v1/stories/{matches_id}")))
            .await
            .0,
        404
    );
    assert_eq!(
        get(dee, &app.url(&format!("/api/v1/stories/{all_id}")))
            .await
            .0,
        404
    );

    // Bob and Cyd look (twice, for Bob); Ann sees each once; others may not see the list.
    for client in [bob, bob, cyd] {
        assert_eq!(
            get(client, &app.url(&format!("/api/v1/stories/{all_id}")))
                .await
                .0,
            200
        );
    }
    let viewers = get_json(ann, &app.url(&format!("/api/v1/stories/{all_id}/viewers"))).await;
    assert_eq!(viewers["data"].as_array().unwrap().len(), 2);
    assert_eq!(
        get(bob, &app.url(&format!("/api/v1/stories/{all_id}/viewers")))
            .await
            .0,
        404
    );

    // The image itself: Cyd may fetch it, Dee (who blocked Ann) may not, even by its link.
    let image =
        |client: &reqwest::Client| client.get(app.url(&format!("/media/{other}/card"))).send();
    assert_eq!(image(cyd).await.unwrap().status(), 200);
    assert_eq!(image(dee).await.unwrap().status(), 404);

    // A day later the job removes them: not found anywhere, and the uploads are gone.
    app.clock
        .advance(std::time::Duration::from_secs(24 * 3600 + 1));
    assert_eq!(
        get(bob, &app.url(&format!("/api/v1/stories/{all_id}")))
            .await
            .0,
        404
    );
    while app.queue.run_one_pending().await.unwrap().is_some() {}
    assert!(captions(bob).await.is_empty());
    assert_eq!(
        get(ann, &app.url(&format!("/api/v1/media/{other}")))
            .await
            .0,
        404
    );
    let image = bob
        .get(app.url(&format!("/media/{other}/card")))
        .send()
        .await
        .unwrap();
    assert_eq!(image.status(), 404);
}

#[tokio::test]
async fn stories_work_as_plain_forms() {
    let (app, _owner, members) = community(&["ann", "bob"]).await;
    let [(ann, _), (bob, bob_id)] = &members[..] else {
        unreachable!()
    };
    let photo = upload_photo(&app, ann, "plain.png").await;
    crate::media::process_all(&app).await;
    let page = crate::helpers::get_text(ann, &app.url("/stories")).await;
    assert!(
        page.contains(&format!("value=\"{photo}\"")),
        "her photo to choose"
    );
    let csrf = crate::helpers::TestApp::csrf_from(ann, &app.url("/stories")).await;
    let shared = ann
        .post(app.url("/stories"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("media", photo.as_str()),
            ("caption", "Lake at <dawn>"),
            ("audience", "members"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(shared.status(), 303);
    let list = crate::helpers::get_text(bob, &app.url("/stories")).await;
    assert!(
        list.contains("Lake at &#60;dawn&#62;") || list.contains("Lake at &lt;dawn&gt;"),
        "{list}"
    );
    let id = list
        .split("href=\"/stories/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    let one = bob
        .get(app.url(&format!("/stories/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(one.status(), 200);
    let viewers = get_json(ann, &app.url(&format!("/api/v1/stories/{id}/viewers"))).await;
    assert_eq!(viewers["data"].as_array().unwrap().len(), 1);

    // Her page of the story shows who saw it; Bob's does not.
    let story = app.url(&format!("/stories/{id}"));
    let hers = crate::helpers::get_text(ann, &story).await;
    assert!(hers.contains("Seen by 1"), "{hers}");
    assert!(
        hers.contains(&format!("href=\"/members/{bob_id}\"")),
        "{hers}"
    );
    let his = crate::helpers::get_text(bob, &story).await;
    assert!(!his.contains("Seen by"), "{his}");
    // Bob cannot take it down; she can, and it is gone.
    for (who, status) in [(bob, 404), (ann, 303)] {
        let csrf = crate::helpers::TestApp::csrf_from(who, &story).await;
        let resp = who
            .post(app.url(&format!("/stories/{id}/delete")))
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), status);
    }
    assert_eq!(bob.get(&story).send().await.unwrap().status(), 404);

    // Each story holds a job and an upload for a day: a member may share 20 a day.
    let mut shared = 1;
    loop {
        let resp = send(
            &app,
            ann,
            reqwest::Method::POST,
            "/api/v1/stories",
            Some(json!({"mediaId": photo, "caption": "again", "audience": "members"})),
        )
        .await;
        if resp.status() == 429 {
            break;
        }
        assert_eq!(resp.status(), 201);
        shared += 1;
        assert!(shared <= 20, "no cap");
    }
    assert_eq!(shared, 20);
}
