//! Roles and staff tools through the HTTP layer: the role × action matrix, acting on other
//! members' resources, suspensions and bans, and the last-owner rule.

use crate::helpers::{PASSWORD, TestApp, save_settings};

/// Creates a member through open sign-up, gives them `role` (as the owner), and returns a
/// client signed in as them with their user id.
pub(crate) async fn member(
    app: &TestApp,
    owner: &reqwest::Client,
    name: &str,
    role: &str,
) -> (reqwest::Client, String) {
    let (joined, client) = app.join("/join", name).await;
    assert_eq!(joined.status(), 201);
    let id = user_id(app, owner, name).await;
    if role != "member" {
        let resp = staff_action(app, owner, &id, &[("action", "role"), ("role", role)]).await;
        assert_eq!(resp.status(), 303);
    }
    // Several members sign in from this one address: let the sign-in bucket refill.
    app.clock.advance(std::time::Duration::from_secs(900));
    assert_eq!(app.sign_in(&client, name, PASSWORD).await.status(), 303);
    (client, id)
}

pub(crate) async fn user_id(app: &TestApp, owner: &reqwest::Client, name: &str) -> String {
    let list = owner
        .get(app.url(&format!("/admin/users?q={name}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let re = regex::Regex::new(&format!(r#"/admin/users/([0-9a-f-]{{36}})">{name}<"#)).unwrap();
    re.captures(&list)
        .unwrap_or_else(|| panic!("{name} not listed:\n{list}"))[1]
        .to_string()
}

pub(crate) async fn staff_action(
    app: &TestApp,
    client: &reqwest::Client,
    id: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let page = app.url(&format!("/admin/users/{id}"));
    let csrf = TestApp::csrf_from(client, &app.url("/account")).await;
    let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    client.post(page).form(&form).send().await.unwrap()
}

#[tokio::test]
async fn the_role_matrix_holds_through_http() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    save_settings(&app, &owner, &[("registration", "open")]).await;
    let (member_c, member_id) = member(&app, &owner, "mia", "member").await;
    let (moderator_c, moderator_id) = member(&app, &owner, "mod", "moderator").await;
    let (admin_c, admin_id) = member(&app, &owner, "ada", "admin").await;
    let (_, target_id) = member(&app, &owner, "tom", "member").await;

    let get = |c: &reqwest::Client, path: &str| {
        let (c, url) = (c.clone(), app.url(path));
        async move { c.get(url).send().await.unwrap().status().as_u16() }
    };
    // (path, member, moderator, admin, owner)
    let pages: [(&str, u16, u16, u16, u16); 6] = [
        ("/admin", 403, 200, 200, 200),
        ("/admin/system", 403, 403, 200, 200),
        ("/admin/settings", 403, 403, 200, 200),
        ("/admin/users", 403, 403, 200, 200),
        ("/admin/audit", 403, 403, 200, 200),
        ("/api/v1/system", 403, 403, 200, 200),
    ];
    for (path, m, md, a, o) in pages {
        assert_eq!(get(&member_c, path).await, m, "member {path}");
        assert_eq!(get(&moderator_c, path).await, md, "moderator {path}");
        assert_eq!(get(&admin_c, path).await, a, "admin {path}");
        assert_eq!(get(&owner, path).await, o, "owner {path}");
    }

    // Acting on someone else: admins manage members, not their equals; only the owner assigns roles.
    let suspend = [("action", "ban"), ("reason", "spam")];
    assert_eq!(
        staff_action(&app, &member_c, &target_id, &suspend)
            .await
            .status(),
        403,
        "member"
    );
    assert_eq!(
        staff_action(&app, &moderator_c, &target_id, &suspend)
            .await
            .status(),
        403,
        "moderator"
    );
    assert_eq!(
        staff_action(&app, &admin_c, &admin_id, &suspend)
            .await
            .status(),
        409,
        "not on yourself"
    );
    assert_eq!(
        staff_action(
            &app,
            &admin_c,
            &moderator_id,
            &[("action", "role"), ("role", "admin")]
        )
        .await
        .status(),
        403,
        "admins do not assign roles"
    );
    let other_admin = member(&app, &owner, "abe", "admin").await.1;
    assert_eq!(
        staff_action(&app, &admin_c, &other_admin, &suspend)
            .await
            .status(),
        403,
        "not on an equal"
    );
    assert_eq!(
        staff_action(&app, &admin_c, &target_id, &suspend)
            .await
            .status(),
        303,
        "admin bans a member"
    );
    assert_eq!(
        staff_action(&app, &admin_c, &member_id, &[("action", "supporter_on")])
            .await
            .status(),
        303
    );

    // A member cannot end another member's session through their own session list (IDOR).
    let mia_sessions: serde_json::Value = member_c
        .get(app.url("/api/v1/me/sessions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mia_session = mia_sessions["data"][0]["id"].as_str().unwrap().to_string();
    let csrf = app.api_csrf(&moderator_c).await;
    let idor = moderator_c
        .delete(app.url(&format!("/api/v1/me/sessions/{mia_session}")))
        .header("x-csrf-token", csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(idor.status(), 404);
    assert_eq!(
        member_c
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let audit = owner
        .get(app.url("/admin/audit"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        audit.contains("user.ban")
            && audit.contains("spam")
            && audit.contains("user.supporter")
            && audit.contains("member → admin")
    );
    app.stop().await;
}

#[tokio::test]
async fn suspensions_end_sessions_and_lapse() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    save_settings(&app, &owner, &[("registration", "open")]).await;
    let (mia, mia_id) = member(&app, &owner, "mia", "member").await;

    let bad = staff_action(
        &app,
        &owner,
        &mia_id,
        &[
            ("action", "suspend"),
            ("until", "2026-06-03T12:00"),
            ("reason", ""),
        ],
    )
    .await;
    assert_eq!(bad.status(), 422, "a reason is required");
    let ok = staff_action(
        &app,
        &owner,
        &mia_id,
        &[
            ("action", "suspend"),
            ("until", "2026-06-03T12:00"),
            ("reason", "cool off"),
        ],
    )
    .await;
    assert_eq!(ok.status(), 303);
    assert_eq!(
        mia.get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "sessions ended"
    );
    let refused = app.sign_in(&app.client(), "mia", PASSWORD).await;
    assert_eq!(refused.status(), 403);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("suspended until 2026-06-03 12:00 UTC: cool off")
    );

    app.clock
        .advance(std::time::Duration::from_secs(3 * 86_400));
    assert_eq!(
        app.sign_in(&app.client(), "mia", PASSWORD).await.status(),
        303,
        "the suspension lapsed"
    );
    app.stop().await;
}

#[tokio::test]
async fn nobody_locks_out_the_last_owner() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    save_settings(&app, &owner, &[("registration", "open")]).await;
    let owner_id = user_id(&app, &owner, "owner").await;
    let step_down = staff_action(
        &app,
        &owner,
        &owner_id,
        &[("action", "role"), ("role", "admin")],
    )
    .await;
    assert_eq!(step_down.status(), 409);
    assert!(step_down.text().await.unwrap().contains("last owner"));

    let (_, heir) = member(&app, &owner, "heir", "owner").await;
    assert_eq!(
        staff_action(
            &app,
            &owner,
            &owner_id,
            &[("action", "role"), ("role", "admin")]
        )
        .await
        .status(),
        303,
        "with a second owner, stepping down works"
    );
    let _ = heir;
    app.stop().await;
}
