//! The member's own data: the JSON export, and account deletion with a grace period that
//! signing in cancels.

use hearth::jobs::JobOutcome;

use crate::helpers::{PASSWORD, TestApp, save_settings};

async fn join(app: &TestApp, name: &str) -> reqwest::Client {
    let (resp, client) = app.join("/join", name).await;
    assert_eq!(resp.status(), 201);
    assert_eq!(app.sign_in(&client, name, PASSWORD).await.status(), 303);
    client
}

async fn request_deletion(
    app: &TestApp,
    client: &reqwest::Client,
    password: &str,
) -> reqwest::Response {
    let csrf = TestApp::csrf_from(client, &app.url("/account")).await;
    client
        .post(app.url("/account/delete"))
        .form(&[("csrf", csrf.as_str()), ("current_password", password)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn members_download_everything_held_about_them() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    save_settings(&app, &owner, &[("registration", "open")]).await;
    let ann = join(&app, "ann").await;
    let resp = ann.get(app.url("/account/export")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("hearth-ann.json")
    );
    let doc: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(doc["format"]["name"], "hearth-export");
    assert_eq!(doc["account"]["username"], "ann");
    assert_eq!(doc["account"]["email"], "ann@example.test");
    assert_eq!(doc["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(doc["two_factor"]["enabled"], false);
    assert_eq!(
        doc["passkeys"],
        serde_json::json!([]),
        "passkeys are part of the export"
    );
    let text = doc.to_string();
    assert!(!text.contains("argon2"), "no password hash in the export");
    app.stop().await;
}

#[tokio::test]
async fn deletion_waits_out_the_grace_period_and_signing_in_cancels_it() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    save_settings(&app, &owner, &[("registration", "open")]).await;

    let ann = join(&app, "ann").await;
    assert_eq!(
        request_deletion(&app, &ann, "not my password")
            .await
            .status(),
        422
    );
    let done = request_deletion(&app, &ann, PASSWORD).await;
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("Sign in before then"));
    assert_eq!(
        ann.get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "signed out everywhere"
    );

    let bob = join(&app, "bob").await;
    assert_eq!(request_deletion(&app, &bob, PASSWORD).await.status(), 200);
    // Bob changes his mind: signing in cancels.
    app.clock.advance(std::time::Duration::from_secs(86_400));
    assert_eq!(
        app.sign_in(&app.client(), "bob", PASSWORD).await.status(),
        303
    );

    // After the grace period the job deletes Ann, and leaves Bob.
    app.clock
        .advance(std::time::Duration::from_secs(15 * 86_400));
    let mut outcomes = Vec::new();
    while let Some(o) = app.queue.run_one_pending().await.unwrap() {
        outcomes.push(o);
    }
    assert!(
        outcomes
            .iter()
            .filter(|o| matches!(o, JobOutcome::Succeeded { kind, .. } if kind == "account.delete"))
            .count()
            >= 2,
        "{outcomes:?}"
    );
    assert_eq!(
        app.sign_in(&app.client(), "ann", PASSWORD).await.status(),
        401,
        "ann is gone"
    );
    app.clock.advance(std::time::Duration::from_secs(900));
    assert_eq!(
        app.sign_in(&app.client(), "bob", PASSWORD).await.status(),
        303,
        "bob stayed"
    );
    // Two weeks on, the owner's old session has lapsed: sign in again.
    let owner = app.owner_client_again().await;
    let users = owner
        .get(app.url("/admin/users?q=ann"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(users.contains("0 members"), "{users}");

    // The owner cannot delete their account this way: the instance would have no owner.
    let refused = request_deletion(&app, &owner, PASSWORD).await;
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("make someone else owner first")
    );
    app.stop().await;
}

#[tokio::test]
async fn export_and_deletion_are_in_the_api_too() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    save_settings(&app, &owner, &[("registration", "open")]).await;
    let ann = join(&app, "ann").await;
    let doc: serde_json::Value = ann
        .get(app.url("/api/v1/me/export"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["account"]["username"], "ann");
    let csrf = app.api_csrf(&ann).await;
    let resp = ann
        .post(app.url("/api/v1/me/deletion"))
        .header("x-csrf-token", csrf)
        .json(&serde_json::json!({"currentPassword": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(
        body["data"]["deletionDue"]
            .as_str()
            .unwrap()
            .starts_with("2026-06-15")
    );
    assert_eq!(
        ann.get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    app.stop().await;
}
