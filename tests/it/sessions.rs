//! A member's sessions: list, revoke one, sign out everywhere else, and a password change that
//! ends every other session.

use crate::helpers::{PASSWORD, TestApp};

async fn is_signed_in(app: &TestApp, client: &reqwest::Client) -> bool {
    client
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .status()
        == 200
}

#[tokio::test]
async fn members_list_and_revoke_their_sessions() {
    let app = TestApp::spawn().await;
    let laptop = app.owner_client().await;
    let phone = app.client();
    assert_eq!(app.sign_in(&phone, "owner", PASSWORD).await.status(), 303);

    let list: serde_json::Value = laptop
        .get(app.url("/api/v1/me/sessions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sessions = list["data"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(
        sessions[0]["current"], true,
        "the current session comes first"
    );
    assert_eq!(sessions[1]["ip"], "127.0.0.1");
    let phone_id = sessions[1]["id"].as_str().unwrap().to_string();

    // Without the CSRF header the cookie alone cannot revoke.
    let refused = laptop
        .delete(app.url(&format!("/api/v1/me/sessions/{phone_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let csrf = app.api_csrf(&laptop).await;
    let done = laptop
        .delete(app.url(&format!("/api/v1/me/sessions/{phone_id}")))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 204);
    assert!(!is_signed_in(&app, &phone).await);
    assert!(is_signed_in(&app, &laptop).await);
    let again = laptop
        .delete(app.url(&format!("/api/v1/me/sessions/{phone_id}")))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn sign_out_everywhere_else_from_the_account_page() {
    let app = TestApp::spawn().await;
    let laptop = app.owner_client().await;
    let phone = app.client();
    let tablet = app.client();
    app.sign_in(&phone, "owner", PASSWORD).await;
    app.sign_in(&tablet, "owner", PASSWORD).await;

    let page = laptop
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("(this device)") && page.contains("Sign out everywhere else"));
    let csrf = TestApp::csrf_from(&laptop, &app.url("/account")).await;
    let resp = laptop
        .post(app.url("/account/sessions/revoke-others"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let page = laptop
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Signed out of 2 other sessions."), "{page}");
    assert!(!is_signed_in(&app, &phone).await && !is_signed_in(&app, &tablet).await);
    assert!(is_signed_in(&app, &laptop).await);
    app.stop().await;
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session() {
    let app = TestApp::spawn().await;
    let laptop = app.owner_client().await;
    let phone = app.client();
    app.sign_in(&phone, "owner", PASSWORD).await;
    let csrf = app.api_csrf(&laptop).await;

    let wrong = laptop
        .post(app.url("/api/v1/me/password"))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"currentPassword": "not it at all", "newPassword": "a brand new passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 422);
    let body: serde_json::Value = wrong.json().await.unwrap();
    assert_eq!(body["fields"][0]["field"], "current_password");
    assert!(
        is_signed_in(&app, &phone).await,
        "a failed change ends nothing"
    );
    let told = |client: reqwest::Client| {
        let url = app.url("/api/v1/notifications");
        async move { crate::helpers::get_json(&client, &url).await["data"].clone() }
    };
    assert_eq!(told(laptop.clone()).await, serde_json::json!([]));

    let ok = laptop
        .post(app.url("/api/v1/me/password"))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"currentPassword": PASSWORD, "newPassword": "a brand new passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 204);
    assert!(!is_signed_in(&app, &phone).await);
    assert!(is_signed_in(&app, &laptop).await);
    // The member is told, as a critical notification.
    let notes = told(laptop.clone()).await;
    assert_eq!(notes[0]["event"], "security:password_changed", "{notes}");
    assert_eq!(notes[0]["priority"], "critical");

    let fresh = app.client();
    assert_eq!(
        app.sign_in(&fresh, "owner", PASSWORD).await.status(),
        401,
        "the old password is gone"
    );
    assert_eq!(
        app.sign_in(&fresh, "owner", "a brand new passphrase")
            .await
            .status(),
        303
    );
    app.stop().await;
}
