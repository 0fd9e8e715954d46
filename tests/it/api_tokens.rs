//! Personal API tokens: bearer authentication without CSRF, read-only scope, expiry,
//! revocation, and no staff powers unless the owner gives them.

use crate::helpers::TestApp;

async fn create(
    app: &TestApp,
    owner: &reqwest::Client,
    body: serde_json::Value,
) -> (String, String) {
    let csrf = app.api_csrf(owner).await;
    let resp = owner
        .post(app.url("/api/v1/me/tokens"))
        .header("x-csrf-token", csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let created: serde_json::Value = resp.json().await.unwrap();
    (
        created["data"]["secret"].as_str().unwrap().to_string(),
        created["data"]["token"]["id"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn bearer_tokens_authenticate_scripts_within_their_scope() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    let (read, _) = create(
        &app,
        &owner,
        serde_json::json!({"name": "reader", "validForDays": 1}),
    )
    .await;
    let (write, write_id) = create(
        &app,
        &owner,
        serde_json::json!({"name": "writer", "write": true}),
    )
    .await;
    let (staff, _) = create(
        &app,
        &owner,
        serde_json::json!({"name": "ops", "staffPowers": true}),
    )
    .await;
    assert!(read.starts_with("hearth_"));

    let script = reqwest::Client::new(); // no cookies
    let me = script
        .get(app.url("/api/v1/me"))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["data"]["role"], "member", "no staff powers by default");
    assert_eq!(
        script
            .get(app.url("/api/v1/system"))
            .bearer_auth(&read)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        script
            .get(app.url("/api/v1/system"))
            .bearer_auth(&staff)
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "the owner allowed it"
    );

    // Read-only tokens cannot change anything; read-write ones can, without a CSRF token.
    let revoke_others = app.url("/api/v1/me/sessions/revoke-others");
    let refused = script
        .post(&revoke_others)
        .bearer_auth(&read)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "TOKEN_READ_ONLY");
    assert_eq!(
        script
            .post(&revoke_others)
            .bearer_auth(&write)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Expiry and revocation.
    app.clock.advance(std::time::Duration::from_secs(86_400));
    let expired = script
        .get(app.url("/api/v1/me"))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), 401);
    let owner = app.owner_client_again().await;
    let csrf = app.api_csrf(&owner).await;
    let revoked = owner
        .delete(app.url(&format!("/api/v1/me/tokens/{write_id}")))
        .header("x-csrf-token", csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    assert_eq!(
        script
            .get(app.url("/api/v1/me"))
            .bearer_auth(&write)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        script
            .get(app.url("/api/v1/me"))
            .bearer_auth("hearth_nonsense")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    app.stop().await;
}

#[tokio::test]
async fn only_the_owner_gives_tokens_staff_powers() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    let page = owner
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Keep my staff powers"));
    let csrf = TestApp::csrf_from(&owner, &app.url("/account")).await;
    let created = owner
        .post(app.url("/account/tokens"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "cli"),
            ("scope", "read"),
            ("valid_for_days", "30"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let html = created.text().await.unwrap();
    let secret = regex::Regex::new(r"hearth_[A-Za-z0-9_-]{43}")
        .unwrap()
        .find(&html)
        .expect("the secret is shown once")
        .as_str()
        .to_string();
    assert_eq!(
        reqwest::Client::new()
            .get(app.url("/api/v1/me"))
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let again = owner
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!again.contains(&secret), "never shown again");
    app.stop().await;
}

#[tokio::test]
async fn bodies_are_read_as_their_schema_says() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    let csrf = app.api_csrf(&owner).await;
    let post = |body: serde_json::Value| {
        owner
            .post(app.url("/api/v1/me/tokens"))
            .header("x-csrf-token", &csrf)
            .json(&body)
            .send()
    };
    // A string field given a boolean or a number is refused, not turned into "false".
    for name in [serde_json::json!(false), serde_json::json!(12)] {
        let resp = post(serde_json::json!({ "name": name })).await.unwrap();
        assert_eq!(resp.status(), 400, "name {name}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["code"], "BAD_REQUEST");
    }
    // Optional fields are nullable: null means "not given".
    let resp = post(serde_json::json!({"name": "n", "write": null, "validForDays": null}))
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let created: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(created["data"]["token"]["scope"], "read");
    assert!(created["data"]["token"]["expiresAt"].is_null());
    // The document says so.
    let doc = crate::helpers::get_json(&owner, &app.url("/api/openapi.json")).await;
    let props = &doc["components"]["schemas"]["NewToken"]["properties"];
    assert_eq!(props["write"]["nullable"], true);
    assert_eq!(props["name"]["type"], "string");
    app.stop().await;
}
