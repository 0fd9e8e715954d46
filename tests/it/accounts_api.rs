//! The account and staff tools through the JSON API: sign-up, members, invitations,
//! approvals.

use crate::helpers::{PASSWORD, TestApp, get_json, save_settings};

#[tokio::test]
async fn sign_up_invitations_approvals_and_staff_actions_over_json() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    let token = app.api_csrf(&owner).await;
    let visitor = app.client();
    let sign_up = |body: serde_json::Value| {
        let (c, url) = (visitor.clone(), app.url("/api/v1/accounts"));
        async move { c.post(url).json(&body).send().await.unwrap() }
    };

    // Invite-only by default: an invitation from the API lets one person in.
    let refused = sign_up(
        serde_json::json!({"username": "ann", "email": "ann@example.test", "password": PASSWORD}),
    )
    .await;
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.json::<serde_json::Value>().await.unwrap()["code"],
        "REGISTRATION_CLOSED"
    );
    let created: serde_json::Value = owner
        .post(app.url("/api/v1/admin/invitations"))
        .header("x-csrf-token", &token)
        .json(&serde_json::json!({"validForDays": 7, "maxUses": 1, "note": "for Ann"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = created["data"]["link"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let joined = sign_up(serde_json::json!({"username": "ann", "email": "ann@example.test", "password": PASSWORD, "inviteCode": code})).await;
    assert_eq!(joined.status(), 201);
    let ann_id = joined.json::<serde_json::Value>().await.unwrap()["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let invites: serde_json::Value = get_json(&owner, &app.url("/api/v1/admin/invitations")).await;
    assert_eq!(invites["data"][0]["joined"][0], "ann");

    // Approval mode: the sign-up waits; staff approve it.
    save_settings(&app, &owner, &[("registration", "approval")]).await;
    let waiting = sign_up(
        serde_json::json!({"username": "bob", "email": "bob@example.test", "password": PASSWORD}),
    )
    .await;
    assert_eq!(waiting.status(), 201);
    let body: serde_json::Value = waiting.json().await.unwrap();
    assert_eq!(body["data"]["needsApproval"], true);
    let queue: serde_json::Value = get_json(&owner, &app.url("/api/v1/admin/approvals")).await;
    let bob_id = queue["data"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(queue["data"][0]["status"], "pending_approval");
    let decided = owner
        .post(app.url(&format!("/api/v1/admin/approvals/{bob_id}")))
        .header("x-csrf-token", &token)
        .json(&serde_json::json!({"approve": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(decided.status(), 204);

    // Staff actions and the member list.
    let act = |id: String, body: serde_json::Value| {
        let (c, url, t) = (
            owner.clone(),
            app.url(&format!("/api/v1/admin/users/{id}/actions")),
            token.clone(),
        );
        async move {
            c.post(url)
                .header("x-csrf-token", t)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        act(ann_id.clone(), serde_json::json!({"action": "ban"}))
            .await
            .status(),
        422,
        "a ban needs a reason"
    );
    assert_eq!(
        act(
            ann_id.clone(),
            serde_json::json!({"action": "ban", "reason": "spam"})
        )
        .await
        .status(),
        204
    );
    assert_eq!(
        act(ann_id.clone(), serde_json::json!({"action": "dance"}))
            .await
            .status(),
        400,
        "not an action the schema lists"
    );
    let ann: serde_json::Value =
        get_json(&owner, &app.url(&format!("/api/v1/admin/users/{ann_id}"))).await;
    assert_eq!(ann["data"]["status"], "banned");
    assert_eq!(ann["data"]["statusReason"], "spam");
    let list: serde_json::Value = get_json(&owner, &app.url("/api/v1/admin/users?q=bo")).await;
    assert_eq!(list["pagination"]["total"], 1, "{list}");
    assert_eq!(list["pagination"]["hasMore"], false);
    assert_eq!(list["data"][0]["username"], "bob");
    // Pages of the whole list, by username.
    let page: serde_json::Value = get_json(
        &owner,
        &app.url("/api/v1/admin/users?sort=username&limit=2&page=2"),
    )
    .await;
    assert_eq!(page["pagination"]["total"], 3, "{page}");
    assert_eq!(page["pagination"]["page"], 2);
    assert_eq!(page["data"][0]["username"], "owner", "ann, bob | owner");
    assert_eq!(page["pagination"]["hasMore"], false);
    let too_big = owner
        .get(app.url("/api/v1/admin/users?limit=101"))
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), 400, "limit is at most 100");

    // Members cannot use the staff API.
    let bob = app.client();
    app.clock.advance(std::time::Duration::from_secs(900));
    assert_eq!(app.sign_in(&bob, "bob", PASSWORD).await.status(), 303);
    assert_eq!(
        bob.get(app.url("/api/v1/admin/users"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    app.stop().await;
}
