//! First run: the one-time setup link, the owner account, sign-in, the System page, sign-out;
//! and the CSRF and session rules that guard them.

use crate::helpers::{PASSWORD, TestApp};

#[tokio::test]
async fn the_setup_link_creates_the_owner_once() {
    let app = TestApp::spawn().await;
    let link = app.setup_link.clone().unwrap();
    assert!(link.starts_with(&format!("{}/setup/", app.base)), "{link}");
    let client = app.client();

    let wrong = client
        .get(app.url("/setup/not-the-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 404);

    // Invalid input: 422 with the problems listed, nothing created.
    let csrf = TestApp::csrf_from(&client, &link).await;
    let bad = client
        .post(&link)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "x"),
            ("email", "nope"),
            ("password", "short"),
            ("password_confirm", "short"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let html = bad.text().await.unwrap();
    assert!(
        html.contains("3 to 32 characters")
            && html.contains("email address")
            && html.contains("at least 12"),
        "{html}"
    );

    let ok = client
        .post(&link)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "Owner"),
            ("email", "owner@example.test"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);
    assert_eq!(ok.headers()["location"], "/login");
    let login_page = client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(login_page.contains("Owner account created"), "flash shown");

    // Spent: the same link no longer works, for the form or a second owner.
    assert_eq!(client.get(&link).send().await.unwrap().status(), 404);
    let again = client
        .post(&link)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "other"),
            ("email", "other@example.test"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn the_owner_signs_in_sees_the_system_page_and_signs_out() {
    let app = TestApp::spawn().await;
    let client = app.owner_client().await;

    let system = client.get(app.url("/admin/system")).send().await.unwrap();
    assert_eq!(system.status(), 200);
    let html = system.text().await.unwrap();
    for needle in [
        "Version",
        env!("CARGO_PKG_VERSION"),
        "Uptime",
        "Job queue",
        "Pending",
        "TLS",
        "no certificate (TLS is off)",
        "Database",
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }

    let me: serde_json::Value = client
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["data"]["username"], "owner");
    assert_eq!(me["data"]["role"], "owner");
    let status: serde_json::Value = client
        .get(app.url("/api/v1/system"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["data"]["tlsMode"], "off");

    // Sign-out without the token is refused; with it, the session is gone.
    let refused = client
        .post(app.url("/logout"))
        .form(&[("csrf", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let csrf = TestApp::csrf_from(&client, &app.url("/")).await;
    let out = client
        .post(app.url("/logout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    let after = client.get(app.url("/admin/system")).send().await.unwrap();
    assert_eq!(after.status(), 303);
    assert_eq!(after.headers()["location"], "/login?next=%2Fadmin%2Fsystem");
    assert_eq!(
        client
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    app.stop().await;
}

#[tokio::test]
async fn wrong_passwords_and_unknown_users_are_refused_alike() {
    let app = TestApp::spawn().await;
    app.owner_client().await;
    let client = app.client();
    for (login, password) in [("owner", "not the password at all"), ("nobody", PASSWORD)] {
        let resp = app.sign_in(&client, login, password).await;
        assert_eq!(resp.status(), 401);
        assert!(
            resp.text()
                .await
                .unwrap()
                .contains("Wrong username, email or password.")
        );
    }
    let by_email = app.sign_in(&client, "OWNER@example.test", PASSWORD).await;
    assert_eq!(by_email.status(), 303);
    app.stop().await;
}

#[tokio::test]
async fn cross_site_and_tokenless_posts_are_refused() {
    let app = TestApp::spawn().await;
    app.owner_client().await;
    let client = app.client();
    let csrf = TestApp::csrf_from(&client, &app.url("/login")).await;

    let no_token = client
        .post(app.url("/login"))
        .form(&[("login", "owner"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 403);
    let cross = client
        .post(app.url("/login"))
        .header("origin", "https://evil.example")
        .form(&[
            ("csrf", csrf.as_str()),
            ("login", "owner"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    assert!(cross.text().await.unwrap().contains("another site"));
    let same = client
        .post(app.url("/login"))
        .header("origin", app.base.as_str())
        .form(&[
            ("csrf", csrf.as_str()),
            ("login", "owner"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 303);
    app.stop().await;
}

#[tokio::test]
async fn signing_in_replaces_the_session_token() {
    let app = TestApp::spawn().await;
    app.owner_client().await;
    let client = app.client();
    let first = app.sign_in(&client, "owner", PASSWORD).await;
    let cookie = |r: &reqwest::Response| {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|c| c.starts_with("hearth_session="))
            .unwrap()
    };
    let first_cookie = cookie(&first);
    assert!(
        first_cookie.contains("HttpOnly") && first_cookie.contains("SameSite=Lax"),
        "{first_cookie}"
    );
    let second = app.sign_in(&client, "owner", PASSWORD).await;
    assert_ne!(
        cookie(&second),
        first_cookie,
        "a new session id on every sign-in"
    );

    // The old token no longer opens anything.
    let old_token = first_cookie.split(';').next().unwrap().to_string();
    let stranger = app.client();
    let resp = stranger
        .get(app.url("/api/v1/me"))
        .header("cookie", old_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn json_sign_in_and_sign_out_need_the_csrf_header() {
    let app = TestApp::spawn().await;
    app.owner_client().await;
    let client = app.client();
    let body = serde_json::json!({"login": "owner", "password": PASSWORD});
    let resp = client
        .post(app.url("/api/v1/session"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let me: serde_json::Value = resp.json().await.unwrap();
    let csrf = me["data"]["csrfToken"].as_str().unwrap().to_string();

    assert_eq!(
        client
            .delete(app.url("/api/v1/session"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let done = client
        .delete(app.url("/api/v1/session"))
        .header("x-csrf-token", csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 204);
    assert_eq!(
        client
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    app.stop().await;
}
