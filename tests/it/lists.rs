//! The list convention on real lists: pages with totals for offset lists, cursors for feeds,
//! bounded page sizes; and the audit log's filters.

use serde_json::{Value, json};

use crate::helpers::{TestApp, get_json, save_settings};

#[tokio::test]
async fn invitations_come_a_page_at_a_time() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    let csrf = app.api_csrf(&owner).await;
    for n in 0..45 {
        app.clock.advance(std::time::Duration::from_millis(100));
        let made = owner
            .post(app.url("/api/v1/admin/invitations"))
            .header("x-csrf-token", &csrf)
            .json(&json!({"validForDays": 7, "maxUses": 1, "note": format!("invite {n}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(made.status(), 201);
    }
    app.clock.advance(std::time::Duration::from_secs(5));
    let first = get_json(&owner, &app.url("/api/v1/admin/invitations")).await;
    assert_eq!(
        first["data"].as_array().unwrap().len(),
        20,
        "the default page"
    );
    assert_eq!(
        first["pagination"],
        json!({"page": 1, "limit": 20, "total": 45, "hasMore": true})
    );
    assert_eq!(first["data"][0]["note"], "invite 44", "newest first");
    let last = get_json(&owner, &app.url("/api/v1/admin/invitations?page=3")).await;
    assert_eq!(last["data"].as_array().unwrap().len(), 5);
    assert_eq!(last["pagination"]["hasMore"], false);
    let big = get_json(&owner, &app.url("/api/v1/admin/invitations?limit=100")).await;
    assert_eq!(big["data"].as_array().unwrap().len(), 45);
    for bad in ["limit=101", "limit=0", "page=0", "page=x"] {
        let resp = owner
            .get(app.url(&format!("/api/v1/admin/invitations?{bad}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{bad}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_audit_log_is_filtered_and_paged_through_the_api() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    save_settings(&app, &owner, &[("registration", "open")]).await;
    let (_, ann) = crate::staff::member(&app, &owner, "ann", "member").await;
    let (_, bob) = crate::staff::member(&app, &owner, "bob", "member").await;
    let started = hearth::clock::Clock::now(&*app.clock);
    for (id, action) in [(&ann, "verify"), (&bob, "verify"), (&ann, "supporter_on")] {
        app.clock.advance(std::time::Duration::from_secs(60));
        let resp = crate::staff::staff_action(&app, &owner, id, &[("action", action)]).await;
        assert_eq!(resp.status(), 303);
    }
    let page = |query: &str| {
        let (owner, url) = (
            owner.clone(),
            app.url(&format!("/api/v1/admin/audit?{query}")),
        );
        async move {
            let resp = owner.get(url).send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap())
        }
    };
    let actions = |body: &Value| -> Vec<String> {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["action"].as_str().unwrap(),
                    e["target"].as_str().unwrap()
                )
            })
            .collect()
    };

    let (_, first) = page("action=user.&limit=2").await;
    assert_eq!(actions(&first), ["user.supporter ann", "user.verify bob"]);
    let cursor = first["pagination"]["nextCursor"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, rest) = page(&format!("action=user.&limit=2&cursor={cursor}")).await;
    let rest_actions = actions(&rest);
    assert_eq!(rest_actions[0], "user.verify ann");
    assert!(rest_actions.iter().all(|a| a.starts_with("user.")));

    let (_, for_ann) = page("target=ANN&action=user.").await;
    assert_eq!(actions(&for_ann), ["user.supporter ann", "user.verify ann"]);
    let (_, by_owner) = page("actor=owner&action=user.verify").await;
    assert_eq!(by_owner["data"].as_array().unwrap().len(), 2);
    assert_eq!(by_owner["data"][0]["actorName"], "owner");
    let window = format!(
        "action=user.&from={}&until={}",
        started + jiff::SignedDuration::from_secs(90),
        started + jiff::SignedDuration::from_secs(150)
    );
    let (_, in_window) = page(&window).await;
    assert_eq!(actions(&in_window), ["user.verify bob"]);

    let (status, bad) = page("cursor=not-a-cursor").await;
    assert_eq!(
        (status, bad["code"].as_str()),
        (422, Some("VALIDATION_FAILED"))
    );
    let (status, _) = page("from=yesterday").await;
    assert_eq!(status, 422);
    let member = app.client();
    crate::helpers::TestApp::sign_in(&app, &member, "ann", crate::helpers::PASSWORD).await;
    let refused = member
        .get(app.url("/api/v1/admin/audit"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    app.stop().await;
}
