//! Account deletion reaches every module: a member with data in each is deleted, and no
//! table of the database mentions their id afterwards.

use hearth::jobs::JobOutcome;

use crate::helpers::{PASSWORD, TestApp, configure_smtp, save_settings};
use crate::smtp::SmtpSink;

/// The forms a user id takes in stored keys and values: a `u128` key (little-endian), a
/// UUID in postcard (big-endian bytes), and in JSON (hyphenated).
fn needles(id: &str) -> Vec<Vec<u8>> {
    let uuid: uuid::Uuid = id.parse().unwrap();
    vec![
        uuid.as_u128().to_le_bytes().to_vec(),
        uuid.as_bytes().to_vec(),
        id.as_bytes().to_vec(),
        uuid.simple().to_string().into_bytes(),
    ]
}

async fn run_jobs(app: &TestApp) {
    while let Some(outcome) = app.queue.run_one_pending().await.unwrap() {
        if matches!(outcome, JobOutcome::Retrying { .. }) {
            break;
        }
    }
}

#[tokio::test]
async fn deleting_an_account_leaves_its_id_in_no_table() {
    let sink = SmtpSink::start();
    let app = TestApp::spawn_with(hearth::jobs::Registry::new(), |c| c.jobs.workers = 0).await;
    let owner = app.owner_client().await;
    configure_smtp(&app, &owner, sink.port).await;
    save_settings(&app, &owner, &[("registration", "open")]).await;

    // Dora is an admin with data in every module.
    let (dora, id) = crate::staff::member(&app, &owner, "dora", "admin").await;
    crate::staff::staff_action(&app, &owner, &id, &[("action", "verify")]).await;
    let csrf = app.api_csrf(&dora).await;
    let post = |path: &str, body: serde_json::Value| {
        dora.post(app.url(path))
            .header("x-csrf-token", &csrf)
            .json(&body)
            .send()
    };
    let token = post("/api/v1/me/tokens", serde_json::json!({"name": "script"}))
        .await
        .unwrap();
    assert_eq!(token.status(), 201);
    let mut phone = crate::passkeys::SoftAuthenticator::new(&app.base);
    crate::passkeys::register(&app, &dora, &mut phone).await;
    let upload = crate::media::send_upload(
        &app,
        &dora,
        vec![("file", "plain.png", crate::media::fixture("plain.png"))],
    )
    .await;
    assert_eq!(upload.status(), 201);
    let photo: serde_json::Value = upload.json().await.unwrap();
    let profile = dora
        .put(app.url("/api/v1/me/profile"))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({
            "displayName": "Dora", "birthDate": "1980-01-01", "gender": "woman",
            "intent": "friendship", "photos": [photo["data"]["id"]]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(profile.status(), 200);
    // An invitation she made, that Eve joined with; then a staff action of hers.
    let invite: serde_json::Value = post(
        "/api/v1/admin/invitations",
        serde_json::json!({"validForDays": 7, "maxUses": 3}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let code = invite["data"]["link"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let (joined, eve_client) = app.join(&format!("/join/{code}"), "eve").await;
    assert_eq!(joined.status(), 201);
    let eve = crate::staff::user_id(&app, &owner, "eve").await;
    let verified = post(
        &format!("/api/v1/admin/users/{eve}/actions"),
        serde_json::json!({"action": "verify"}),
    )
    .await
    .unwrap();
    assert_eq!(verified.status(), 204);
    // A reset link mailed to her, and two-factor authentication.
    let reset = app
        .client()
        .post(app.url("/api/v1/password-reset"))
        .json(&serde_json::json!({"email": "dora@example.test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 202);
    crate::two_factor::enable_totp(&app, &dora).await;
    // Eve and Dora match; each looks at the other; Eve reports Dora; Dora blocks the owner.
    app.clock.advance(std::time::Duration::from_secs(900));
    assert_eq!(
        app.sign_in(&eve_client, "eve", PASSWORD).await.status(),
        303
    );
    let eve_csrf = app.api_csrf(&eve_client).await;
    let eve_post = |path: &str, method: reqwest::Method, body: serde_json::Value| {
        eve_client
            .request(method, app.url(path))
            .header("x-csrf-token", &eve_csrf)
            .json(&body)
            .send()
    };
    let eve_profile = serde_json::json!({
        "displayName": "Eve", "birthDate": "1985-01-01", "gender": "woman", "intent": "friendship"
    });
    assert_eq!(
        eve_post("/api/v1/me/profile", reqwest::Method::PUT, eve_profile)
            .await
            .unwrap()
            .status(),
        200
    );
    let liked = post(
        "/api/v1/swipes",
        serde_json::json!({"swipes": [{"targetId": eve, "action": "like"}]}),
    )
    .await
    .unwrap();
    assert_eq!(liked.status(), 200);
    let matched: serde_json::Value = eve_post(
        "/api/v1/swipes",
        reqwest::Method::POST,
        serde_json::json!({"swipes": [{"targetId": id, "action": "like"}]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(matched["data"][0]["result"], "matched");
    // They write to each other.
    let opened: serde_json::Value = post(
        "/api/v1/conversations",
        serde_json::json!({"memberId": eve}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let conversation = opened["data"]["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/conversations/{conversation}/messages");
    let sent = post(&path, serde_json::json!({"text": "Hello Eve"}))
        .await
        .unwrap();
    assert_eq!(sent.status(), 201);
    let answered = eve_post(
        &path,
        reqwest::Method::POST,
        serde_json::json!({"text": "Hi!"}),
    )
    .await
    .unwrap();
    assert_eq!(answered.status(), 201);
    for (client, other) in [(&dora, &eve), (&eve_client, &id)] {
        let seen = client
            .get(app.url(&format!("/api/v1/members/{other}/profile")))
            .send()
            .await
            .unwrap();
        assert_eq!(seen.status(), 200);
    }
    let reported = eve_post(
        "/api/v1/reports",
        reqwest::Method::POST,
        serde_json::json!({"memberId": id, "category": "spam"}),
    )
    .await
    .unwrap();
    assert_eq!(reported.status(), 201);
    let owner_id = crate::staff::user_id(&app, &owner, "owner").await;
    assert_eq!(
        post("/api/v1/blocks", serde_json::json!({"memberId": owner_id}))
            .await
            .unwrap()
            .status(),
        204
    );
    // Records: one she owns and changed, and one of Eve's she is assigned to.
    let made = post(
        "/api/v1/records",
        serde_json::json!({"title": "Hall booking", "direction": "internal"}),
    )
    .await
    .unwrap();
    assert_eq!(made.status(), 201);
    let hers: serde_json::Value = made.json().await.unwrap();
    let hers = format!("/api/v1/records/{}", hers["data"]["id"].as_str().unwrap());
    let edited = dora
        .patch(app.url(&hers))
        .header("x-csrf-token", &csrf)
        .header("if-match", "\"v1\"")
        .json(&serde_json::json!({"title": "Hall booking for May"}))
        .send()
        .await
        .unwrap();
    assert_eq!(edited.status(), 200);
    let assigned = eve_post(
        "/api/v1/records",
        reqwest::Method::POST,
        serde_json::json!({"title": "Roof repair", "direction": "incoming",
                           "visibility": "people", "assigneeIds": [id]}),
    )
    .await
    .unwrap();
    assert_eq!(assigned.status(), 201);
    let eves: serde_json::Value = assigned.json().await.unwrap();
    let eves = format!("/api/v1/records/{}", eves["data"]["id"].as_str().unwrap());
    // A file she adds to Eve's record stays with it, added by nobody once she is gone.
    let record_id = eves.rsplit('/').next().unwrap();
    let attached =
        crate::record_files::attach(&app, &dora, record_id, "plan.txt", b"tables".to_vec()).await;
    assert_eq!(attached.status(), 201);
    let reassigned = eve_client
        .patch(app.url(&eves))
        .header("x-csrf-token", &eve_csrf)
        .header("if-match", "\"v2\"")
        .json(&serde_json::json!({"assigneeIds": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(reassigned.status(), 200);
    let commented = post(
        &format!("{eves}/comments"),
        serde_json::json!({"text": "On it, @eve"}),
    )
    .await
    .unwrap();
    assert_eq!(commented.status(), 201);
    run_jobs(&app).await;

    let before = app.store.tables_containing(&needles(&id)).unwrap();
    for table in [
        "users",
        "sessions",
        "api_tokens",
        "second_factors",
        "passkeys",
        "media",
        "profiles",
        "profile_views",
        "swipes",
        "likes_received",
        "swipe_log",
        "matches",
        "blocks",
        "reports",
        "conversations",
        "conversations_inbox",
        "messages",
        "messages_read",
        "notifications",
        "notifications_by_actor",
        "invites",
        "audit_log",
        "one_time_tokens",
        "records",
        "record_history",
        "record_comments",
        "record_people",
        "record_attachments",
    ] {
        assert!(
            before.iter().any(|t| t == table),
            "{table} not in {before:?}"
        );
    }

    // She deletes her account; the job runs when the grace period is over.
    let csrf = TestApp::csrf_from(&dora, &app.url("/account")).await;
    let asked = dora
        .post(app.url("/account/delete"))
        .form(&[("csrf", csrf.as_str()), ("current_password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 200);
    assert!(asked.text().await.unwrap().contains("will be deleted"));
    app.clock
        .advance(std::time::Duration::from_secs(15 * 24 * 3600));
    run_jobs(&app).await;
    // The search outbox names her until the indexer takes her out of the index.
    app.index_search().await;

    let after = app.store.tables_containing(&needles(&id)).unwrap();
    assert_eq!(after, Vec::<String>::new(), "tables still naming dora");
    // Eve's account and the invitation's use stay (the owner signs in again: two weeks passed).
    let owner = app.owner_client_again().await;
    let invites: serde_json::Value =
        crate::helpers::get_json(&owner, &app.url("/api/v1/admin/invitations")).await;
    let dora_invite = invites["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == invite["data"]["invitation"]["id"])
        .unwrap_or_else(|| panic!("{invites} {invite}"))
        .clone();
    assert_eq!(dora_invite["joined"], serde_json::json!(["eve"]));
    // The records stay the community's: hers is owned by nobody now, and Eve's history
    // no longer names her.
    let record = crate::helpers::get_json(&owner, &app.url(&hers)).await;
    assert_eq!(record["data"]["title"], "Hall booking for May");
    assert_eq!(
        record["data"]["ownerId"],
        "00000000-0000-0000-0000-000000000000"
    );
    let history = crate::helpers::get_json(&owner, &app.url(&format!("{eves}/history"))).await;
    assert_eq!(history["data"][1]["field"], "attachment", "{history}");
    assert_eq!(
        history["data"][1]["byId"],
        "00000000-0000-0000-0000-000000000000"
    );
    assert_eq!(history["data"][2]["field"], "assignees", "{history}");
    assert_eq!(history["data"][2]["old"], "a former member", "{history}");
    let files = crate::helpers::get_json(&owner, &app.url(&format!("{eves}/attachments"))).await;
    assert_eq!(files["data"][0]["name"], "plan.txt", "{files}");
    assert_eq!(
        files["data"][0]["addedById"],
        "00000000-0000-0000-0000-000000000000"
    );
    let comments = crate::helpers::get_json(&owner, &app.url(&format!("{eves}/comments"))).await;
    assert_eq!(comments["data"][0]["deleted"], true, "{comments}");
    app.stop().await;
}
