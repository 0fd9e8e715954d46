//! Runtime settings in the admin panel (with the audit log), and the sign-in rate limit.

use crate::helpers::{PASSWORD, TestApp, get_json, save_settings};

#[tokio::test]
async fn admins_change_settings_and_the_change_is_audited() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    let page = owner
        .get(app.url("/admin/settings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Only people with an invitation link can sign up."),
        "modes are explained"
    );

    let saved = save_settings(
        &app,
        &owner,
        &[("site_name", "Riverside Club"), ("registration", "open")],
    )
    .await;
    assert_eq!(saved.status(), 303);
    let home = owner
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        home.contains("Riverside Club"),
        "the new site name is in use at once"
    );

    let audit = owner
        .get(app.url("/admin/audit"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(audit.contains("settings.update"), "{audit}");
    assert!(
        audit.contains("registration: &#34;invite_only&#34; → &#34;open&#34;"),
        "{audit}"
    );
    assert!(audit.contains("site_name"));

    let bad = save_settings(
        &app,
        &owner,
        &[
            ("api_requests_per_second", "0"),
            ("sign_ups_per_hour", "many"),
            ("registration", "anarchy"),
        ],
    )
    .await;
    assert_eq!(bad.status(), 422);
    let html = bad.text().await.unwrap();
    assert!(
        html.contains("Use a number from 1 to 10000") || html.contains("Enter a whole number"),
        "{html}"
    );
    assert!(html.contains("Choose a registration mode"), "{html}");

    let anonymous = app
        .client()
        .get(app.url("/admin/settings"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 303);
    app.stop().await;
}

#[tokio::test]
async fn the_sixth_sign_in_attempt_in_fifteen_minutes_is_refused() {
    let app = TestApp::spawn().await;
    // A successful sign-in gives its attempt back: the limit counts failures.
    app.owner_client().await;
    let client = app.client();
    let body = serde_json::json!({"login": "owner", "password": "not the password at all"});
    for attempt in 1..=5 {
        let resp = client
            .post(app.url("/api/v1/session"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "attempt {attempt}");
    }
    let refused = client
        .post(app.url("/api/v1/session"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (170..=181).contains(&retry),
        "one attempt back after 15 min / 5 = 180 s, got {retry}"
    );
    assert_eq!(refused.headers()["x-ratelimit-limit"], "5");
    assert_eq!(refused.headers()["x-ratelimit-remaining"], "0");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "RATE_LIMITED");

    // Even the right password waits; after the refill it works.
    let right = serde_json::json!({"login": "owner", "password": PASSWORD});
    assert_eq!(
        client
            .post(app.url("/api/v1/session"))
            .json(&right)
            .send()
            .await
            .unwrap()
            .status(),
        429
    );
    app.clock.advance(std::time::Duration::from_secs(181));
    assert_eq!(
        client
            .post(app.url("/api/v1/session"))
            .json(&right)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // The HTML form gets the same limit as a page.
    let csrf = TestApp::csrf_from(&client, &app.url("/login")).await;
    for _ in 0..5 {
        client
            .post(app.url("/login"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("login", "owner"),
                ("password", "wrong wrong wrong"),
            ])
            .send()
            .await
            .unwrap();
    }
    let page = client
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("login", "owner"),
            ("password", "wrong wrong wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 429);
    assert!(page.headers().contains_key("retry-after"));
    assert!(page.text().await.unwrap().contains("Too many requests"));
    app.stop().await;
}

#[tokio::test]
async fn settings_over_the_api_keep_the_smtp_password_write_only() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    let csrf = app.api_csrf(&owner).await;
    let mut settings: serde_json::Value = owner
        .get(app.url("/api/v1/admin/settings"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        settings["data"]["registration"], "invite_only",
        "{settings}"
    );
    assert!(settings["data"].get("smtpPassword").is_none());

    let data = &mut settings["data"];
    data["registration"] = "open".into();
    data["mail"]["smtpHost"] = "smtp.example.org".into();
    data["mail"]["from"] = "Club <hearth@example.org>".into();
    data["mail"]["smtpPassword"] = "s3cret-s3cret".into();
    assert_eq!(data["media"]["maxPhotoMib"], 20);
    data["media"]["needsApproval"] = true.into();
    data["media"]["maxVideoSeconds"] = 60.into();
    let put = owner
        .put(app.url("/api/v1/admin/settings"))
        .header("x-csrf-token", &csrf)
        .json(&settings["data"])
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let body = put.text().await.unwrap();
    assert!(
        body.contains(r#""registration":"open""#) && !body.contains("s3cret"),
        "{body}"
    );
    assert!(body.contains(r#""needsApproval":true"#) && body.contains(r#""maxVideoSeconds":60"#));

    // What the schema bounds is refused as a malformed request (400) ...
    let send = |body: serde_json::Value| {
        owner
            .put(app.url("/api/v1/admin/settings"))
            .header("x-csrf-token", &csrf)
            .json(&body)
            .send()
    };
    let mut huge = settings["data"].clone();
    huge["media"]["maxPhotoMib"] = 100_000.into();
    assert_eq!(
        send(huge).await.unwrap().status(),
        400,
        "the schema bounds it"
    );
    let mut bad = settings["data"].clone();
    bad["registration"] = "anarchy".into();
    assert_eq!(
        send(bad).await.unwrap().status(),
        400,
        "not one of the modes"
    );
    // ... and a rule across fields as invalid (422): a mail host needs a sender.
    let mut no_sender = settings["data"].clone();
    no_sender["mail"]["from"] = "".into();
    let refused = send(no_sender).await.unwrap();
    assert_eq!(refused.status(), 422);
    let refused: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(refused["fields"][0]["field"], "from");

    // PATCH changes only what it is sent.
    let patched: serde_json::Value = owner
        .patch(app.url("/api/v1/admin/settings"))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"siteName": "Riverside", "media": {"uploadsPerHour": 7}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(patched["data"]["siteName"], "Riverside");
    assert_eq!(patched["data"]["media"]["uploadsPerHour"], 7);
    assert_eq!(patched["data"]["registration"], "open", "{patched}");
    assert_eq!(patched["data"]["mail"]["smtpHost"], "smtp.example.org");

    let audit = owner
        .get(app.url("/admin/audit"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(audit.contains("mail.smtp_password changed") && !audit.contains("s3cret"));
    app.stop().await;
}

/// Three admin forms saved at the same moment each change their own settings: every change
/// stands, and the copy in memory is what the database holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_changes_to_different_settings_all_stand() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    let csrf = TestApp::csrf_from(&owner, &app.url("/admin/settings")).await;
    let forms: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "/admin/settings",
            vec![
                ("site_name", "Riverside"),
                ("registration", "open"),
                ("approval_queue_limit", "50"),
                ("api_requests_per_second", "20"),
                ("sign_in_attempts_per_15_minutes", "5"),
                ("sign_ups_per_hour", "10"),
                ("password_resets_per_hour", "5"),
            ],
        ),
        (
            "/admin/media/settings",
            vec![
                ("max_photo_mib", "20"),
                ("max_video_mib", "100"),
                ("max_video_seconds", "180"),
                ("quota_mib", "1024"),
                ("supporter_quota_mib", "10240"),
                ("uploads_per_hour", "7"),
                ("needs_approval", "yes"),
            ],
        ),
        (
            "/admin/mail",
            vec![
                ("smtp_host", "smtp.example.org"),
                ("smtp_port", "587"),
                ("smtp_security", "starttls"),
                ("smtp_username", ""),
                ("smtp_password", ""),
                ("from", "Club <hearth@example.org>"),
            ],
        ),
    ];
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(forms.len()));
    let mut saves = Vec::new();
    for (path, fields) in forms {
        let (owner, url, csrf, start) = (owner.clone(), app.url(path), csrf.clone(), start.clone());
        let mut form: Vec<(String, String)> = vec![("csrf".into(), csrf)];
        form.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        saves.push(tokio::spawn(async move {
            start.wait().await;
            owner
                .post(url)
                .form(&form)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for save in saves {
        assert_eq!(save.await.unwrap(), 303);
    }
    let shown = get_json(&owner, &app.url("/api/v1/admin/settings")).await["data"].clone();
    assert_eq!(shown["siteName"], "Riverside", "{shown}");
    assert_eq!(shown["registration"], "open", "{shown}");
    assert_eq!(shown["media"]["uploadsPerHour"], 7, "{shown}");
    assert_eq!(shown["media"]["needsApproval"], true, "{shown}");
    assert_eq!(shown["mail"]["smtpHost"], "smtp.example.org", "{shown}");
    let stored = app.store.read(|rx| rx.instance().settings()).await.unwrap();
    assert_eq!(stored.site_name, "Riverside");
    assert_eq!(stored.media.uploads_per_hour, 7);
    assert_eq!(stored.mail.smtp_host, "smtp.example.org");
    app.stop().await;
}
