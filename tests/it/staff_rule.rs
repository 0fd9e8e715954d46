//! The staff second-factor rule holds on every face: with "staff must use a second factor"
//! on, staff signed in with a password only are refused on every admin page and every staff
//! API operation, with a session or with a token; signed in with a second factor they pass.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, get_json};
use crate::two_factor::{code_at, enable_totp};

/// A body that passes each staff operation's schema, so the refusal comes from the rule.
fn body_for(operation: &str, settings: &Value) -> Option<Value> {
    Some(match operation {
        "actOnMember" => json!({"action": "verify"}),
        "createInvitation" => json!({"validForDays": 1, "maxUses": 1}),
        "decideApproval" | "decideMedia" => json!({"approve": true}),
        "decideReport" => json!({"decision": "dismiss"}),
        "putSettings" => settings.clone(),
        "patchSettings" => json!({"siteName": "Elsewhere"}),
        "putRecordSettings" => json!({
            "incomingFormat": "IN-{seq}", "outgoingFormat": "OUT-{seq}", "internalFormat": "INT-{seq}",
            "trashDays": 30, "reminderDays": 1,
            "workflow": {"statuses": [{"key": "new", "label": "New"}, {"key": "done", "label": "Done"}],
                         "moves": [{"from": "new", "to": "done", "least": "member"}]}
        }),
        _ => return None,
    })
}

/// Signs `client` in as `login` with the password and the current code.
async fn sign_in_with_code(app: &TestApp, client: &reqwest::Client, login: &str, key: &[u8]) {
    app.clock.advance(std::time::Duration::from_secs(31));
    assert_eq!(app.sign_in(client, login, PASSWORD).await.status(), 303);
    let csrf = TestApp::csrf_from(client, &app.url("/login/code")).await;
    let code = code_at(key, app);
    let done = client
        .post(app.url("/login/code"))
        .form(&[("csrf", csrf.as_str()), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
}

#[tokio::test]
async fn staff_without_a_second_factor_are_refused_on_every_face() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    let key = enable_totp(&app, &owner).await;
    let owner = app.client();
    sign_in_with_code(&app, &owner, "owner", &key).await;
    let csrf = app.api_csrf(&owner).await;
    let on = owner
        .patch(app.url("/api/v1/admin/settings"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"requireStaffSecondFactor": true, "registration": "open"}))
        .send()
        .await
        .unwrap();
    assert_eq!(on.status(), 200, "{}", on.text().await.unwrap());
    let settings = get_json(&owner, &app.url("/api/v1/admin/settings")).await["data"].clone();

    // An admin signed in with a password only, and a second owner's token with staff powers
    // (its account has no second factor either).
    let (ada, _) = crate::staff::member(&app, &owner, "ada", "admin").await;
    let ada_csrf = app.api_csrf(&ada).await;
    let (otto, _) = crate::staff::member(&app, &owner, "otto", "owner").await;
    let otto_csrf = app.api_csrf(&otto).await;
    let made: Value = otto
        .post(app.url("/api/v1/me/tokens"))
        .header("x-csrf-token", &otto_csrf)
        .json(&json!({"name": "ops", "write": true, "staffPowers": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = made["data"]["secret"].as_str().expect("token").to_string();

    let unknown = "00000000-0000-7000-8000-000000000000";
    let fill = |path: &str| {
        regex::Regex::new(r"\{[a-z_]+\}|:[a-z_]+")
            .unwrap()
            .replace_all(path, unknown)
            .to_string()
    };
    let refused =
        |status: u16, body: &str| status == 403 && body.contains("SECOND_FACTOR_REQUIRED");

    // Every staff operation of the API, with the session and with the token.
    let spec = get_json(&owner, &app.url("/api/openapi.json")).await;
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        if !(path.starts_with("/api/v1/admin") || path == "/api/v1/system") {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            let body = body_for(id, &settings);
            assert!(
                op.get("requestBody").is_none() || body.is_some(),
                "{id} takes a body: give it one in body_for"
            );
            let method: reqwest::Method = method.to_uppercase().parse().unwrap();
            let url = app.url(&fill(path));
            for (client, auth) in [(&ada, None), (&app.client(), Some(&token))] {
                // The API's per-client bucket refills with time.
                app.clock.advance(std::time::Duration::from_secs(1));
                let mut req = client.request(method.clone(), &url);
                req = match auth {
                    Some(token) => req.bearer_auth(token),
                    None => req.header("x-csrf-token", &ada_csrf),
                };
                if let Some(body) = &body {
                    req = req.json(body);
                }
                let resp = req.send().await.unwrap();
                let status = resp.status().as_u16();
                let text = resp.text().await.unwrap();
                assert!(
                    refused(status, &text),
                    "{method} {path} ({id}), token: {}: {status} {text}",
                    auth.is_some()
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 30, "{checked} API checks");

    // Every admin page, shown and posted to.
    let page_csrf = TestApp::csrf_from(&ada, &app.url("/account")).await;
    let mut pages = 0;
    for (template, methods) in hearth::http::route_table().entries() {
        if !template.starts_with("/admin") {
            continue;
        }
        let url = app.url(&fill(template));
        for method in methods {
            let resp = if *method == poem::http::Method::GET {
                ada.get(&url).send().await.unwrap()
            } else {
                ada.post(&url)
                    .form(&[("csrf", page_csrf.as_str())])
                    .send()
                    .await
                    .unwrap()
            };
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            assert_eq!(status, 403, "{method} {template}: {text}");
            assert!(
                text.contains("second factor"),
                "{method} {template}: {text}"
            );
            pages += 1;
        }
    }
    assert!(pages >= 20, "{pages} page checks");

    // Signed in with a second factor, the same staff pass.
    let ada_key = enable_totp(&app, &ada).await;
    let ada = app.client();
    sign_in_with_code(&app, &ada, "ada", &ada_key).await;
    for path in ["/admin/users", "/api/v1/admin/users", "/api/v1/admin/audit"] {
        let resp = ada.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
    }
    app.stop().await;
}
