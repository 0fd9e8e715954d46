//! Media uploads through the real server: every file of the hostile corpus in
//! `tests/fixtures/media/` gets its status and message and leaves nothing behind; no GPS or
//! other metadata survives into served files; byte ranges; who may see what; moderation; the
//! garbage collector.

use std::path::Path;

use serde_json::{Value, json};

use crate::helpers::{TestApp, get_json};

pub(crate) fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/media")
            .join(name),
    )
    .unwrap()
}

/// An app whose job workers are off, so the test runs the processing job itself.
pub(crate) async fn app() -> TestApp {
    TestApp::spawn_with(hearth::jobs::Registry::new(), |c| c.jobs.workers = 0).await
}

/// Posts a multipart upload of `parts` (form name, file name, bytes) through the API with the
/// session's CSRF token.
pub(crate) async fn send_upload(
    app: &TestApp,
    client: &reqwest::Client,
    parts: Vec<(&'static str, &str, Vec<u8>)>,
) -> reqwest::Response {
    // The API bucket refills per second; the manual clock moves on for each upload.
    app.clock.advance(std::time::Duration::from_secs(1));
    let csrf = app.api_csrf(client).await;
    let mut form = reqwest::multipart::Form::new();
    for (name, file_name, bytes) in parts {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(file_name.to_string())
            .mime_str("application/octet-stream")
            .unwrap();
        form = form.part(name, part);
    }
    client
        .post(app.url("/api/v1/media/uploads"))
        .header("x-csrf-token", csrf)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// Uploads `name` from the corpus through the API; returns status and body.
async fn upload(app: &TestApp, client: &reqwest::Client, name: &str) -> (u16, Value) {
    let resp = send_upload(app, client, vec![("file", name, fixture(name))]).await;
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A member who joined through open sign-up and whose address staff confirmed, signed in.
async fn verified_member(app: &TestApp, owner: &reqwest::Client, name: &str) -> reqwest::Client {
    let (client, id) = crate::staff::member(app, owner, name, "member").await;
    let resp = crate::staff::staff_action(app, owner, &id, &[("action", "verify")]).await;
    assert_eq!(resp.status(), 303);
    client
}

/// Saves the media settings form: the defaults with `changes`.
pub(crate) async fn save_media_settings(
    app: &TestApp,
    owner: &reqwest::Client,
    changes: &[(&str, &str)],
) {
    let csrf = TestApp::csrf_from(owner, &app.url("/admin/media")).await;
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("max_photo_mib", "20"),
        ("max_video_mib", "100"),
        ("max_video_seconds", "180"),
        ("quota_mib", "1024"),
        ("supporter_quota_mib", "10240"),
        ("uploads_per_hour", "60"),
    ];
    for (key, value) in changes {
        match form.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => form.push((key, value)),
        }
    }
    let saved = owner
        .post(app.url("/admin/media/settings"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
}

fn files_in(dir: &Path) -> usize {
    if !dir.exists() {
        return 0;
    }
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                files_in(&e.path())
            } else {
                1
            }
        })
        .sum()
}

pub(crate) async fn process_all(app: &TestApp) {
    while app.queue.run_one_pending().await.unwrap().is_some() {}
}

#[tokio::test]
async fn every_file_in_the_corpus_gets_the_right_answer_and_refusals_leave_nothing() {
    let app = app().await;
    let owner = app.owner_client().await;
    let refused: &[(&str, u16, &str)] = &[
        ("many-frames.gif", 422, "more than 1000 frames"),
        ("bomb.png", 422, "too large to process safely"),
        ("bomb.gif", 422, "too large to process safely"),
        ("truncated.jpg", 415, "cut off"),
        ("truncated.png", 415, "cut off"),
        ("zero-bytes.jpg", 415, "empty"),
        ("script.svg", 415, "Only photos"),
        ("page.html", 415, "Only photos"),
        ("doc.pdf", 415, "Only photos"),
        ("program.elf", 415, "Only photos"),
        ("polyglot.gif", 415, "does not decode as one"),
        ("polyglot.jpg", 415, "JPEG"),
        ("long.mp4", 422, "at most 180 s"),
        ("long.webm", 422, "at most 180 s"),
        ("mov.mov", 415, "Only photos"),
    ];
    let blobs = app.data_dir().join("blobs");
    let tmp = app.data_dir().join("tmp");
    for (name, status, message) in refused {
        let (got, body) = upload(&app, &owner, name).await;
        assert_eq!(got, *status, "{name}: {body}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.contains(message), "{name}: {error}");
        assert_eq!(files_in(&blobs), 0, "{name} left a blob");
        assert_eq!(files_in(&tmp), 0, "{name} left a temp file");
    }
    let list = get_json(&owner, &app.url("/api/v1/media")).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0, "no rows");

    let accepted: &[(&str, &str)] = &[
        ("gps-rotated.jpg", "jpeg"),
        ("plain.png", "png"),
        ("plain.webp", "webp"),
        ("still.gif", "gif"),
        ("animated.gif", "gif"),
        ("png-named.jpg", "png"),
        ("huge-exif.jpg", "jpeg"),
        ("short.mp4", "mp4"),
        ("short.webm", "webm"),
    ];
    for (name, format) in accepted {
        let (got, body) = upload(&app, &owner, name).await;
        assert_eq!(got, 201, "{name}: {body}");
        assert_eq!(body["data"]["format"], *format, "{name}");
        assert_eq!(body["data"]["state"], "processing");
        assert_eq!(body["data"]["originalName"], *name);
    }
    assert_eq!(files_in(&tmp), 0, "temp files are moved, not copied");
    // The list shows each upload as it is now (the API keeps each record's JSON per version).
    let list = get_json(&owner, &app.url("/api/v1/media")).await;
    let items = list["data"].as_array().unwrap();
    assert_eq!(items.len(), accepted.len());
    assert!(items.iter().all(|i| i["state"] == "processing"), "{list}");
    process_all(&app).await;
    let list = get_json(&owner, &app.url("/api/v1/media")).await;
    let items = list["data"].as_array().unwrap();
    assert_eq!(items.len(), accepted.len());
    for item in items {
        assert_eq!(item["state"], "ready", "{item}");
    }
    let video = items.iter().find(|i| i["format"] == "webm").unwrap();
    assert_eq!(video["durationMs"], 4000);
    assert_eq!(
        (video["width"].as_u64(), video["height"].as_u64()),
        (Some(320), Some(240))
    );
    let gif = items
        .iter()
        .find(|i| i["originalName"] == "animated.gif")
        .unwrap();
    assert_eq!(gif["animated"], true);
    app.stop().await;
}

#[tokio::test]
async fn no_gps_or_other_metadata_survives_into_any_served_file() {
    let app = app().await;
    let owner = app.owner_client().await;
    let (status, body) = upload(&app, &owner, "gps-rotated.jpg").await;
    assert_eq!(status, 201, "{body}");
    let id = body["data"]["id"].as_str().unwrap().to_string();
    // Before processing, nothing is served: the original (with its metadata) never is.
    let early = owner
        .get(app.url(&format!("/media/{id}/full")))
        .send()
        .await
        .unwrap();
    assert_eq!(early.status(), 404);
    process_all(&app).await;
    let item = get_json(&owner, &app.url(&format!("/api/v1/media/{id}"))).await;
    assert_eq!(item["data"]["state"], "ready");
    assert_eq!(
        (
            item["data"]["width"].as_u64(),
            item["data"]["height"].as_u64()
        ),
        (Some(48), Some(64))
    );
    assert!(item["data"]["blurhash"].as_str().is_some());
    for variant in ["thumb", "card", "full"] {
        let resp = owner
            .get(app.url(&format!("/media/{id}/{variant}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{variant}");
        assert_eq!(resp.headers()["content-type"], "image/webp");
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
        assert!(
            resp.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("private")
        );
        let bytes = resp.bytes().await.unwrap();
        for marker in [
            "SECRET-EXIF-MARKER",
            "HearthTestCam",
            "SECRET-XMP-MARKER",
            "SECRET-COMMENT-MARKER",
            "SECRET-ICC-MARKER",
            "GPS",
            "Exif",
        ] {
            assert!(
                !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
                "{marker} survived in {variant}"
            );
        }
    }
    // Nothing on disk holds the metadata either: the original is deleted as soon as its
    // variants are saved, without waiting for the collector.
    let blobs = app.data_dir().join("blobs");
    use sha2::Digest;
    let original: String = sha2::Sha256::digest(fixture("gps-rotated.jpg"))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let original = blobs
        .join(&original[0..2])
        .join(&original[2..4])
        .join(&original);
    assert!(!original.exists(), "the original upload is gone");
    // Card and full are the same size for this small photo: identical bytes, stored once.
    assert_eq!(files_in(&blobs), 2, "only the variants remain");
    let mut stack = vec![blobs];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                assert!(!bytes.windows(3).any(|w| w == b"GPS"), "{path:?}");
            }
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn videos_are_served_in_byte_ranges_with_strong_etags() {
    let app = app().await;
    let owner = app.owner_client().await;
    let (status, body) = upload(&app, &owner, "short.mp4").await;
    assert_eq!(status, 201, "{body}");
    process_all(&app).await;
    let id = body["data"]["id"].as_str().unwrap();
    let url = app.url(&format!("/media/{id}/video"));
    let whole = fixture("short.mp4");
    let len = whole.len();

    let full = owner.get(&url).send().await.unwrap();
    assert_eq!(full.status(), 200);
    assert_eq!(full.headers()["accept-ranges"], "bytes");
    assert_eq!(full.headers()["content-type"], "video/mp4");
    let etag = full.headers()["etag"].to_str().unwrap().to_string();
    assert!(
        etag.starts_with('"') && etag.len() == 66,
        "SHA-256 ETag: {etag}"
    );
    assert_eq!(full.bytes().await.unwrap().as_ref(), whole.as_slice());

    let part = owner
        .get(&url)
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 10-19/{len}")
    );
    assert_eq!(part.bytes().await.unwrap().as_ref(), &whole[10..20]);

    let tail = owner
        .get(&url)
        .header("range", "bytes=-8")
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status(), 206);
    assert_eq!(tail.bytes().await.unwrap().as_ref(), &whole[len - 8..]);

    let open = owner
        .get(&url)
        .header("range", format!("bytes={}-", len - 5))
        .send()
        .await
        .unwrap();
    assert_eq!(open.status(), 206);
    assert_eq!(open.bytes().await.unwrap().len(), 5);

    for bad in [
        format!("bytes={len}-"),
        "bytes=20-10".to_string(),
        "bytes=x-y".to_string(),
    ] {
        let resp = owner.get(&url).header("range", &bad).send().await.unwrap();
        assert_eq!(resp.status(), 416, "{bad}");
        assert_eq!(resp.headers()["content-range"], format!("bytes */{len}"));
    }

    let cached = owner
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);
    let stale = owner
        .get(&url)
        .header("range", "bytes=0-0")
        .header("if-range", "\"something-else\"")
        .send()
        .await
        .unwrap();
    assert_eq!(
        stale.status(),
        200,
        "If-Range with another ETag sends the whole file"
    );
    app.stop().await;
}

#[tokio::test]
async fn members_see_approved_media_staff_see_the_queue_and_decide() {
    let app = app().await;
    let owner = app.owner_client().await;
    crate::helpers::save_settings(&app, &owner, &[("registration", "open")]).await;
    let alice = verified_member(&app, &owner, "alice").await;
    let bob = verified_member(&app, &owner, "bob").await;
    let anonymous = app.client();

    // Approval on: Alice's photo waits, visible only to her and to staff.
    save_media_settings(&app, &owner, &[("needs_approval", "yes")]).await;

    let (status, body) = upload(&app, &alice, "plain.png").await;
    assert_eq!(status, 201, "{body}");
    let id = body["data"]["id"].as_str().unwrap().to_string();
    process_all(&app).await;
    let thumb = app.url(&format!("/media/{id}/thumb"));
    let api = app.url(&format!("/api/v1/media/{id}"));
    let status_for = |c: &reqwest::Client, url: &str| {
        let (c, url) = (c.clone(), url.to_string());
        async move { c.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(
        get_json(&alice, &api).await["data"]["state"],
        "pending approval"
    );
    assert_eq!(status_for(&alice, &thumb).await, 200, "the owner sees it");
    assert_eq!(
        status_for(&bob, &thumb).await,
        404,
        "another member does not, yet"
    );
    assert_eq!(status_for(&bob, &api).await, 404);
    assert_eq!(status_for(&anonymous, &thumb).await, 404);
    assert_eq!(status_for(&owner, &thumb).await, 200, "staff see the queue");
    let (moderator, _) = crate::staff::member(&app, &owner, "moira", "moderator").await;
    assert_eq!(status_for(&moderator, &thumb).await, 200, "moderators too");
    assert_eq!(
        status_for(&moderator, &app.url("/api/v1/admin/media/queue")).await,
        200
    );

    // Bob cannot decide, delete or see the queue.
    let bob_csrf = app.api_csrf(&bob).await;
    let denied = bob
        .post(app.url(&format!("/api/v1/admin/media/{id}/decision")))
        .header("x-csrf-token", &bob_csrf)
        .json(&json!({"approve": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
    let not_his = bob
        .delete(&api)
        .header("x-csrf-token", &bob_csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(
        not_his.status(),
        404,
        "someone else's media is not his to delete"
    );
    assert_eq!(
        status_for(&bob, &app.url("/api/v1/admin/media/queue")).await,
        403
    );

    // Rejecting needs a reason; the member sees it.
    let owner_csrf = app.api_csrf(&owner).await;
    let queue = get_json(&owner, &app.url("/api/v1/admin/media/queue")).await;
    assert_eq!(queue["data"].as_array().unwrap().len(), 1);
    let decide = |approve: bool, reason: Option<&str>| {
        owner
            .post(app.url(&format!("/api/v1/admin/media/{id}/decision")))
            .header("x-csrf-token", &owner_csrf)
            .json(&json!({"approve": approve, "reason": reason}))
            .send()
    };
    assert_eq!(decide(false, None).await.unwrap().status(), 422);
    assert_eq!(decide(false, Some("Blurry")).await.unwrap().status(), 200);
    let mine = get_json(&alice, &api).await;
    assert_eq!(mine["data"]["state"], "rejected");
    assert_eq!(mine["data"]["reason"], "Blurry");
    assert_eq!(status_for(&bob, &thumb).await, 404);
    let page = crate::helpers::get_text(&alice, &app.url("/media")).await;
    assert!(page.contains("Blurry"), "the library shows the reason");
    let audit = crate::helpers::get_text(&owner, &app.url("/admin/audit")).await;
    assert!(audit.contains("media.reject"));

    // A second upload is approved: now Bob sees it.
    let (_, body) = upload(&app, &alice, "still.gif").await;
    let id2 = body["data"]["id"].as_str().unwrap().to_string();
    process_all(&app).await;
    let ok = owner
        .post(app.url(&format!("/api/v1/admin/media/{id2}/decision")))
        .header("x-csrf-token", &owner_csrf)
        .json(&json!({"approve": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(
        status_for(&bob, &app.url(&format!("/media/{id2}/card"))).await,
        200
    );

    // Staff can remove anyone's media.
    let removed = owner
        .delete(app.url(&format!("/api/v1/admin/media/{id2}")))
        .header("x-csrf-token", &owner_csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    assert_eq!(
        status_for(&alice, &app.url(&format!("/media/{id2}/card"))).await,
        404
    );
    app.stop().await;
}

#[tokio::test]
async fn uploads_need_a_confirmed_address_a_csrf_token_and_room_in_the_quota() {
    let app = app().await;
    let owner = app.owner_client().await;
    // Without the CSRF token a cookie-authenticated upload is refused.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(fixture("plain.png")).file_name("plain.png"),
    );
    let resp = owner
        .post(app.url("/api/v1/media/uploads"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(files_in(&app.data_dir().join("tmp")), 0);

    // A quota of 1 MiB: the 600 KiB file fits once, not twice.
    save_media_settings(
        &app,
        &owner,
        &[("quota_mib", "1"), ("supporter_quota_mib", "1")],
    )
    .await;
    assert_eq!(upload(&app, &owner, "huge-exif.jpg").await.0, 201);
    let (status, body) = upload(&app, &owner, "huge-exif.jpg").await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("does not fit in your storage")
    );
    assert_eq!(files_in(&app.data_dir().join("tmp")), 0);

    // A member who has not confirmed their address cannot upload.
    crate::helpers::save_settings(&app, &owner, &[("registration", "open")]).await;
    let (carol, _) = crate::staff::member(&app, &owner, "carol", "member").await;
    let (status, body) = upload(&app, &carol, "plain.png").await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("Confirm your email address")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_video_with_a_poster_gets_image_variants_and_stays_as_uploaded() {
    let app = app().await;
    let owner = app.owner_client().await;
    let resp = send_upload(
        &app,
        &owner,
        vec![
            ("file", "clip.webm", fixture("short.webm")),
            ("poster", "poster.png", fixture("plain.png")),
        ],
    )
    .await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    let id = body["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        body["data"]["size"].as_u64().unwrap() as usize,
        fixture("short.webm").len() + fixture("plain.png").len(),
        "the poster counts against the quota too"
    );
    process_all(&app).await;
    let item = get_json(&owner, &app.url(&format!("/api/v1/media/{id}"))).await;
    let variants: Vec<&str> = item["data"]["urls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["variant"].as_str().unwrap())
        .collect();
    assert_eq!(variants, ["thumb", "card", "full", "video"]);
    let video = owner
        .get(app.url(&format!("/media/{id}/video")))
        .send()
        .await
        .unwrap();
    assert_eq!(video.headers()["content-type"], "video/webm");
    assert_eq!(video.bytes().await.unwrap().as_ref(), fixture("short.webm"));
    app.stop().await;
}

#[tokio::test]
async fn the_upload_rate_limit_answers_429_with_its_headers() {
    let app = app().await;
    let owner = app.owner_client().await;
    save_media_settings(&app, &owner, &[("uploads_per_hour", "1")]).await;
    assert_eq!(upload(&app, &owner, "still.gif").await.0, 201);
    let resp = send_upload(
        &app,
        &owner,
        vec![("file", "still.gif", fixture("still.gif"))],
    )
    .await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    assert_eq!(files_in(&app.data_dir().join("tmp")), 0);
    app.stop().await;
}

#[tokio::test]
async fn a_store_that_cannot_take_the_file_says_so_and_keeps_nothing() {
    let app = app().await;
    let owner = app.owner_client().await;
    // The blob folder replaced by a plain file: every write into it fails (even as root).
    let blobs = app.data_dir().join("blobs");
    std::fs::remove_dir_all(&blobs).unwrap();
    std::fs::write(&blobs, b"not a folder").unwrap();
    let (status, body) = upload(&app, &owner, "plain.png").await;
    assert_eq!(status, 507, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("nothing was stored"),
        "{body}"
    );
    assert_eq!(files_in(&app.data_dir().join("tmp")), 0);
    let list = get_json(&owner, &app.url("/api/v1/media")).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
    app.stop().await;
}

#[tokio::test]
async fn the_collector_deletes_unreferenced_blobs_after_the_grace_period_only() {
    let app = app().await;
    let owner = app.owner_client().await;
    let (status, body) = upload(&app, &owner, "plain.png").await;
    assert_eq!(status, 201, "{body}");
    process_all(&app).await;
    // A blob file as a crash would leave it: written, never committed to a record.
    let stray_hash = "ab".repeat(32);
    let blobs = app.data_dir().join("blobs");
    let stray = blobs.join("ab").join("ab").join(&stray_hash);
    std::fs::create_dir_all(stray.parent().unwrap()).unwrap();
    std::fs::write(&stray, b"half-finished").unwrap();
    let before = files_in(&blobs);

    let collect = || async {
        app.queue
            .enqueue(
                hearth::service::media::COLLECT_BLOBS,
                &(),
                hearth::jobs::EnqueueOptions::default(),
            )
            .await
            .unwrap();
        process_all(&app).await;
    };
    collect().await;
    assert_eq!(
        files_in(&blobs),
        before,
        "nothing goes before the grace period"
    );
    app.clock.advance(std::time::Duration::from_secs(2 * 3600));
    collect().await;
    assert!(!stray.exists(), "the stray file is collected");
    // What remains is exactly what the record uses: its variants (the original was released).
    let item = get_json(&owner, &app.url("/api/v1/media")).await;
    assert_eq!(item["data"][0]["state"], "ready");
    for url in item["data"][0]["urls"].as_array().unwrap() {
        let resp = owner
            .get(app.url(url["url"].as_str().unwrap()))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{url}");
    }
    assert!(files_in(&blobs) <= 3);
    app.stop().await;
}

#[tokio::test]
async fn a_file_over_its_kind_limit_is_cut_off_while_it_streams() {
    let app = app().await;
    let owner = app.owner_client().await;
    save_media_settings(&app, &owner, &[("max_photo_mib", "1")]).await;
    let mut big = vec![0xFF, 0xD8, 0xFF, 0xE0];
    big.resize(3 * 1024 * 1024, 0);
    let resp = send_upload(&app, &owner, vec![("file", "big.jpg", big)]).await;
    assert_eq!(resp.status(), 413);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("larger than the 1 MiB allowed for a photo"),
        "{body}"
    );
    assert_eq!(files_in(&app.data_dir().join("tmp")), 0);
    assert_eq!(files_in(&app.data_dir().join("blobs")), 0);
    app.stop().await;
}

#[tokio::test]
async fn a_poster_must_follow_its_video() {
    let app = app().await;
    let owner = app.owner_client().await;
    let resp = send_upload(
        &app,
        &owner,
        vec![
            ("poster", "poster.png", fixture("plain.png")),
            ("file", "clip.mp4", fixture("short.mp4")),
        ],
    )
    .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(files_in(&app.data_dir().join("tmp")), 0);
    app.stop().await;
}

#[tokio::test]
async fn a_phones_location_in_an_mp4_is_blanked_without_moving_the_media() {
    let app = app().await;
    let owner = app.owner_client().await;
    // short.mp4 with a user-data box as a phone writes it: moov/udta/©xyz with a position.
    let mut video = fixture("short.mp4");
    let moov_size = u32::from_be_bytes(video[32..36].try_into().unwrap()) as usize;
    let moov_end = 32 + moov_size;
    let location = b"+48.8582+002.2945/";
    let mut xyz = Vec::new();
    xyz.extend(((8 + 4 + location.len()) as u32).to_be_bytes());
    xyz.extend(b"\xa9xyz");
    xyz.extend([0x00, 0x12, 0x15, 0xc7]);
    xyz.extend(location);
    let mut udta = Vec::new();
    udta.extend(((8 + xyz.len()) as u32).to_be_bytes());
    udta.extend(b"udta");
    udta.extend(&xyz);
    video.splice(moov_end..moov_end, udta.iter().copied());
    video[32..36].copy_from_slice(&((moov_size + udta.len()) as u32).to_be_bytes());

    let resp = send_upload(&app, &owner, vec![("file", "trip.mp4", video.clone())]).await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    let id = body["data"]["id"].as_str().unwrap();
    process_all(&app).await;
    let served = owner
        .get(app.url(&format!("/media/{id}/video")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(served.len(), video.len(), "no byte moved");
    assert!(
        !served.windows(location.len()).any(|w| w == location),
        "the position is gone"
    );
    assert_eq!(&served[moov_end + 4..moov_end + 8], b"free");
    assert_eq!(
        &served[..moov_end],
        &video[..moov_end],
        "everything else is as uploaded"
    );
    assert_eq!(
        &served[moov_end + udta.len()..],
        &video[moov_end + udta.len()..]
    );
    let etag = owner
        .get(app.url(&format!("/media/{id}/video")))
        .send()
        .await
        .unwrap()
        .headers()["etag"]
        .to_str()
        .unwrap()
        .to_string();
    use sha2::Digest;
    let hex: String = sha2::Sha256::digest(&served)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        etag,
        format!("\"{hex}\""),
        "stored under the hash of what is served"
    );
    app.stop().await;
}
