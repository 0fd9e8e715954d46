//! TOTP two-factor authentication: enrolment with a confirming code, sign-in in two steps,
//! replayed and wrong codes refused, single-use recovery codes, and the API's `code` field.

use hearth::clock::Clock;

use crate::helpers::{PASSWORD, TestApp};

fn base32_decode(s: &str) -> Vec<u8> {
    let (mut out, mut buffer, mut bits) = (Vec::new(), 0u32, 0);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => panic!("not base32: {s}"),
        };
        buffer = (buffer << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

/// Turns TOTP on for `client`'s account through the API; returns the shared key.
pub(crate) async fn enable_totp(app: &TestApp, client: &reqwest::Client) -> Vec<u8> {
    let csrf = app.api_csrf(client).await;
    let begun: serde_json::Value = client
        .post(app.url("/api/v1/me/totp"))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = base32_decode(begun["data"]["secret"].as_str().unwrap());
    let confirmed = client
        .post(app.url("/api/v1/me/totp/confirm"))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"code": code_at(&key, app)}))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    key
}

pub(crate) fn code_at(key: &[u8], app: &TestApp) -> String {
    let totp = totp_rs::Builder::new()
        .with_secret(key.to_vec())
        .with_account_name("owner")
        .build()
        .unwrap();
    totp.generate(app.clock.now().as_second() as u64)
        .to_string()
}

async fn post(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let csrf = TestApp::csrf_from(client, &app.url("/account")).await;
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    client.post(app.url(path)).form(&form).send().await.unwrap()
}

#[tokio::test]
async fn totp_guards_sign_in_and_recovery_codes_work_once() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;

    let page = post(&app, &owner, "/account/2fa/begin", &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("data:image/svg+xml;base64,"),
        "a QR code is shown"
    );
    let key = regex::Regex::new(r"Key: <code>([A-Z2-7]+)</code>")
        .unwrap()
        .captures(&page)
        .unwrap()[1]
        .to_string();
    let key = base32_decode(&key);

    assert_eq!(
        post(&app, &owner, "/account/2fa/confirm", &[("code", "000000")])
            .await
            .status(),
        422
    );
    let confirmed = post(
        &app,
        &owner,
        "/account/2fa/confirm",
        &[("code", &code_at(&key, &app))],
    )
    .await;
    assert_eq!(confirmed.status(), 200);
    let html = confirmed.text().await.unwrap();
    let codes: Vec<String> =
        regex::Regex::new(r"<code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code>")
            .unwrap()
            .captures_iter(&html)
            .map(|c| c[1].to_string())
            .collect();
    assert_eq!(codes.len(), 10, "ten recovery codes");

    // Sign-in now takes two steps.
    let client = app.client();
    let step1 = app.sign_in(&client, "owner", PASSWORD).await;
    assert_eq!(step1.status(), 303);
    assert!(
        step1.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login/code"),
        "{:?}",
        step1.headers()
    );
    assert_eq!(
        client
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "not signed in yet"
    );
    let code_page = app.url("/login/code");
    let send_code = |code: String| {
        let (client, url) = (client.clone(), code_page.clone());
        async move {
            let csrf = TestApp::csrf_from(&client, &url).await;
            client
                .post(&url)
                .form(&[("csrf", csrf.as_str()), ("code", code.as_str())])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(send_code("123456".into()).await.status(), 401);
    assert_eq!(
        send_code(code_at(&key, &app)).await.status(),
        401,
        "the code used to confirm is not accepted again"
    );
    app.clock.advance(std::time::Duration::from_secs(30));
    assert_eq!(send_code(code_at(&key, &app)).await.status(), 303);
    assert_eq!(
        client
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // A recovery code works once, in any case and spacing. (Code attempts count against the
    // sign-in limit too: let it refill first.)
    app.clock.advance(std::time::Duration::from_secs(900));
    let other = app.client();
    app.sign_in(&other, "owner", PASSWORD).await;
    let csrf = TestApp::csrf_from(&other, &code_page).await;
    let spaced = codes[0].to_uppercase().replace('-', " ");
    assert_eq!(
        other
            .post(&code_page)
            .form(&[("csrf", csrf.as_str()), ("code", spaced.as_str())])
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let third = app.client();
    app.clock.advance(std::time::Duration::from_secs(900));
    app.sign_in(&third, "owner", PASSWORD).await;
    let csrf = TestApp::csrf_from(&third, &code_page).await;
    assert_eq!(
        third
            .post(&code_page)
            .form(&[("csrf", csrf.as_str()), ("code", codes[0].as_str())])
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    // The API takes the code in the sign-in body.
    let api = app.client();
    let without = api
        .post(app.url("/api/v1/session"))
        .json(&serde_json::json!({"login": "owner", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), 401);
    let body: serde_json::Value = without.json().await.unwrap();
    assert_eq!(body["code"], "SECOND_FACTOR_REQUIRED");
    app.clock.advance(std::time::Duration::from_secs(30));
    let with = api
        .post(app.url("/api/v1/session"))
        .json(&serde_json::json!({"login": "owner", "password": PASSWORD, "code": code_at(&key, &app)}))
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), 200);

    // Turning it off needs the password.
    assert_eq!(
        post(
            &app,
            &client,
            "/account/2fa/disable",
            &[("current_password", "wrong wrong wrong")]
        )
        .await
        .status(),
        422
    );
    assert_eq!(
        post(
            &app,
            &client,
            "/account/2fa/disable",
            &[("current_password", PASSWORD)]
        )
        .await
        .status(),
        303
    );
    app.clock.advance(std::time::Duration::from_secs(900));
    assert_eq!(
        app.sign_in(&app.client(), "owner", PASSWORD)
            .await
            .headers()["location"],
        "/admin"
    );
    app.stop().await;
}

#[tokio::test]
async fn staff_can_be_required_to_use_a_second_factor() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    let require = |client: reqwest::Client| {
        let url = app.url("/admin/settings");
        async move {
            let csrf = TestApp::csrf_from(&client, &url).await;
            let form = [
                ("csrf", csrf.as_str()),
                ("site_name", "Hearth"),
                ("registration", "invite_only"),
                ("approval_queue_limit", "50"),
                ("api_requests_per_second", "20"),
                ("sign_in_attempts_per_15_minutes", "5"),
                ("sign_ups_per_hour", "10"),
                ("password_resets_per_hour", "5"),
                ("require_staff_second_factor", "yes"),
            ];
            client.post(&url).form(&form).send().await.unwrap()
        }
    };
    let refused = require(owner.clone()).await;
    assert_eq!(
        refused.status(),
        422,
        "not without a second factor of one's own"
    );
    assert!(refused.text().await.unwrap().contains("for yourself first"));

    // Turn it on for the owner, sign in again with the code, then require it of all staff.
    let page = post(&app, &owner, "/account/2fa/begin", &[])
        .await
        .text()
        .await
        .unwrap();
    let key = base32_decode(
        &regex::Regex::new(r"Key: <code>([A-Z2-7]+)</code>")
            .unwrap()
            .captures(&page)
            .unwrap()[1],
    );
    assert_eq!(
        post(
            &app,
            &owner,
            "/account/2fa/confirm",
            &[("code", &code_at(&key, &app))]
        )
        .await
        .status(),
        200
    );
    let strong = app.client();
    app.sign_in(&strong, "owner", PASSWORD).await;
    app.clock.advance(std::time::Duration::from_secs(30));
    let csrf = TestApp::csrf_from(&strong, &app.url("/login/code")).await;
    let code = code_at(&key, &app);
    assert_eq!(
        strong
            .post(app.url("/login/code"))
            .form(&[("csrf", csrf.as_str()), ("code", code.as_str())])
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    assert_eq!(require(strong.clone()).await.status(), 303);

    // The owner's old session (signed in before 2FA) no longer opens the admin panel.
    let blocked = owner.get(app.url("/admin/system")).send().await.unwrap();
    assert_eq!(blocked.status(), 403);
    assert!(blocked.text().await.unwrap().contains("two-factor"));
    assert_eq!(
        strong
            .get(app.url("/admin/system"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn totp_can_be_managed_over_the_api() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    let csrf = app.api_csrf(&owner).await;
    let begun: serde_json::Value = owner
        .post(app.url("/api/v1/me/totp"))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        begun["data"]["otpauthUrl"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let key = base32_decode(begun["data"]["secret"].as_str().unwrap());
    let confirmed = owner
        .post(app.url("/api/v1/me/totp/confirm"))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"code": code_at(&key, &app)}))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    let codes: serde_json::Value = confirmed.json().await.unwrap();
    assert_eq!(codes["data"]["recoveryCodes"].as_array().unwrap().len(), 10);

    let wrong = owner
        .post(app.url("/api/v1/me/totp/disable"))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"currentPassword": "nope nope nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 422);
    let off = owner
        .post(app.url("/api/v1/me/totp/disable"))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"currentPassword": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), 204);
    app.stop().await;
}

#[tokio::test]
async fn codes_guessed_from_many_addresses_still_hit_the_accounts_limit() {
    // Behind a trusted proxy, each request can claim its own client address.
    let app = TestApp::spawn_with(hearth::jobs::Registry::new(), |c| {
        c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let owner = app.owner_client().await;
    enable_totp(&app, &owner).await;

    let attempt = |n: u32| {
        app.client()
            .post(app.url("/api/v1/session"))
            .header("x-forwarded-for", format!("198.51.100.{n}"))
            .json(&serde_json::json!({"login": "owner", "password": PASSWORD, "code": "000000"}))
            .send()
    };
    for n in 1..=5 {
        assert_eq!(attempt(n).await.unwrap().status(), 401, "guess {n}");
    }
    let refused = attempt(6).await.unwrap();
    assert_eq!(
        refused.status(),
        429,
        "a sixth address does not buy a sixth guess"
    );
    assert!(refused.headers().contains_key("retry-after"));
    app.stop().await;
}
