//! Getting in: registration modes, email verification, the approval queue, invitations and
//! password reset, with mail read from a real SMTP server.

use crate::helpers::{PASSWORD, TestApp, configure_smtp, link_in, save_settings};
use crate::smtp::SmtpSink;

async fn join(app: &TestApp, path: &str, username: &str) -> reqwest::Response {
    app.join(path, username).await.0
}

async fn can_sign_in(app: &TestApp, login: &str, password: &str) -> reqwest::Response {
    app.sign_in(&app.client(), login, password).await
}

#[tokio::test]
async fn closed_and_invite_only_modes_refuse_open_sign_up() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    // The default is invite-only.
    let resp = app.client().get(app.url("/join")).send().await.unwrap();
    assert_eq!(resp.status(), 403);
    assert!(resp.text().await.unwrap().contains("invite-only"));
    assert_eq!(join(&app, "/join", "ann").await.status(), 403);

    save_settings(&app, &owner, &[("registration", "closed")]).await;
    let resp = join(&app, "/join", "ann").await;
    assert_eq!(resp.status(), 403);
    assert!(resp.text().await.unwrap().contains("Sign-ups are closed"));
    app.stop().await;
}

#[tokio::test]
async fn open_sign_up_mails_a_single_use_verification_link() {
    let mut sink = SmtpSink::start();
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    configure_smtp(&app, &owner, sink.port).await;
    save_settings(&app, &owner, &[("registration", "open")]).await;
    let login = app
        .client()
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(login.contains("Create an account"));

    let resp = join(&app, "/join", "Ann").await;
    assert_eq!(resp.status(), 201);
    assert!(resp.text().await.unwrap().contains("We sent you an email"));
    let bad = join(&app, "/join", "ann").await;
    assert_eq!(bad.status(), 422, "the username is taken");

    // The mail is a job; run it like the workers would.
    while app.queue.run_one_pending().await.unwrap().is_some() {}
    let mail = sink.next_message().await;
    assert_eq!(mail.to, ["ann@example.test"]);
    let link = link_in(&mail.data, "verify");
    let client = app.client();
    // Opening the link (as a mail scanner would) only shows a button; nothing is confirmed.
    for _ in 0..2 {
        let page = client.get(&link).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("Confirm my address"));
    }
    let csrf = TestApp::csrf_from(&client, &link).await;
    let confirmed = client
        .post(&link)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    assert!(
        confirmed
            .text()
            .await
            .unwrap()
            .contains("your email address is confirmed")
    );
    assert_eq!(
        client.get(&link).send().await.unwrap().status(),
        404,
        "single use"
    );
    let replay = client
        .post(&link)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 404, "single use");
    assert_eq!(can_sign_in(&app, "ann", PASSWORD).await.status(), 303);
    app.stop().await;
}

#[tokio::test]
async fn approval_mode_holds_accounts_until_staff_decide() {
    let mut sink = SmtpSink::start();
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    configure_smtp(&app, &owner, sink.port).await;
    save_settings(
        &app,
        &owner,
        &[("registration", "approval"), ("approval_queue_limit", "2")],
    )
    .await;

    for name in ["bob", "cat"] {
        app.clock.advance(std::time::Duration::from_secs(1)); // a distinct sign-up time each
        let resp = join(&app, "/join", name).await;
        assert_eq!(resp.status(), 201);
        assert!(
            resp.text()
                .await
                .unwrap()
                .contains("will approve your account")
        );
    }
    let paused = join(&app, "/join", "dan").await;
    assert_eq!(paused.status(), 403);
    assert!(
        paused.text().await.unwrap().contains("paused"),
        "the queue limit pauses sign-ups"
    );

    let refused = can_sign_in(&app, "bob", PASSWORD).await;
    assert_eq!(refused.status(), 403);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("waiting for a staff member")
    );

    let queue = owner
        .get(app.url("/admin/approvals"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let ids: Vec<String> = regex::Regex::new(r#"/admin/approvals/([0-9a-f-]{36})"#)
        .unwrap()
        .captures_iter(&queue)
        .map(|c| c[1].to_string())
        .collect();
    assert_eq!(ids.len(), 2, "{queue}");
    let csrf = TestApp::csrf_from(&owner, &app.url("/admin/approvals")).await;
    let decide = |id: String, decision: &'static str, reason: &'static str| {
        let owner = owner.clone();
        let url = app.url(&format!("/admin/approvals/{id}"));
        let csrf = csrf.clone();
        async move {
            owner
                .post(url)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("decision", decision),
                    ("reason", reason),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        decide(ids[1].clone(), "reject", "").await.status(),
        422,
        "a rejection needs a reason"
    );
    assert_eq!(decide(ids[0].clone(), "approve", "").await.status(), 303);
    assert_eq!(
        decide(ids[1].clone(), "reject", "We only admit club members.")
            .await
            .status(),
        303
    );

    let bob_client = app.client();
    let bob = app.sign_in(&bob_client, "bob", PASSWORD).await;
    assert_eq!(bob.status(), 303, "{}", bob.text().await.unwrap());
    // The welcome is in his notifications too.
    let told = crate::helpers::get_json(&bob_client, &app.url("/api/v1/notifications")).await;
    assert_eq!(told["data"][0]["event"], "account:approved", "{told}");
    let rejected = can_sign_in(&app, "cat", PASSWORD).await;
    assert_eq!(rejected.status(), 403);
    assert!(
        rejected
            .text()
            .await
            .unwrap()
            .contains("We only admit club members.")
    );

    while app.queue.run_one_pending().await.unwrap().is_some() {}
    let subjects: Vec<String> = {
        let mut all = Vec::new();
        for _ in 0..4 {
            all.push(sink.next_message().await.data);
        }
        all
    };
    assert!(
        subjects
            .iter()
            .any(|m| m.contains("your account is approved"))
    );
    assert!(
        subjects
            .iter()
            .any(|m| m.contains("about your sign-up") && m.contains("club members"))
    );
    let audit = owner
        .get(app.url("/admin/audit"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(audit.contains("user.approve") && audit.contains("user.reject"));
    app.stop().await;
}

#[tokio::test]
async fn invitations_have_expiry_use_limits_and_can_be_withdrawn() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    let create = |days: &'static str, uses: &'static str, note: &'static str| {
        let owner = owner.clone();
        let page = app.url("/admin/invitations");
        async move {
            let csrf = TestApp::csrf_from(&owner, &page).await;
            let html = owner
                .post(&page)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("valid_for_days", days),
                    ("max_uses", uses),
                    ("note", note),
                ])
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let link = regex::Regex::new(r"http://localhost:\d+/join/[A-Za-z0-9_-]+")
                .unwrap()
                .find(&html)
                .expect("the new link is shown")
                .as_str()
                .to_string();
            link.split("/join/").nth(1).unwrap().to_string()
        }
    };
    let once = create("7", "1", "for Eve").await;
    let resp = join(&app, &format!("/join/{once}"), "eve").await;
    assert_eq!(resp.status(), 201);
    let used_up = join(&app, &format!("/join/{once}"), "fay").await;
    assert_eq!(used_up.status(), 404);
    assert!(used_up.text().await.unwrap().contains("used up"));

    let short = create("1", "5", "for the picnic").await;
    app.clock.advance(std::time::Duration::from_secs(25 * 3600));
    let expired = join(&app, &format!("/join/{short}"), "gus").await;
    assert!(expired.text().await.unwrap().contains("expired"));

    let withdrawn = create("7", "5", "to withdraw").await;
    let page = owner
        .get(app.url("/admin/invitations"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("eve"),
        "who joined with each invitation is listed"
    );
    let id = regex::Regex::new(r"/admin/invitations/([0-9a-f-]{36})/revoke")
        .unwrap()
        .captures(&page)
        .unwrap()[1]
        .to_string();
    let csrf = TestApp::csrf_from(&owner, &app.url("/admin/invitations")).await;
    assert_eq!(
        owner
            .post(app.url(&format!("/admin/invitations/{id}/revoke")))
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let gone = join(&app, &format!("/join/{withdrawn}"), "hal").await;
    assert!(gone.text().await.unwrap().contains("withdrawn"));
    assert_eq!(
        join(&app, "/join/not-a-real-code", "ivy").await.status(),
        404
    );
    app.stop().await;
}

#[tokio::test]
async fn password_reset_by_mail_is_single_use_and_expires() {
    let mut sink = SmtpSink::start();
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    configure_smtp(&app, &owner, sink.port).await;
    let forgot = |email: &'static str| {
        let client = app.client();
        let url = app.url("/forgot");
        async move {
            let csrf = TestApp::csrf_from(&client, &url).await;
            client
                .post(&url)
                .form(&[("csrf", csrf.as_str()), ("email", email)])
                .send()
                .await
                .unwrap()
        }
    };
    let unknown = forgot("nobody@example.test").await;
    let known = forgot("owner@example.test").await;
    assert_eq!(unknown.status(), known.status());
    let main_of = |html: String| {
        html.split("<main")
            .nth(1)
            .and_then(|m| m.split("</main>").next())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(
        main_of(unknown.text().await.unwrap()),
        main_of(known.text().await.unwrap()),
        "no hint who has an account"
    );
    while app.queue.run_one_pending().await.unwrap().is_some() {}
    let mail = sink.next_message().await;
    assert_eq!(
        mail.to,
        ["owner@example.test"],
        "only the real account gets mail"
    );
    let link = link_in(&mail.data, "reset");

    let client = app.client();
    assert_eq!(client.get(&link).send().await.unwrap().status(), 200);
    let csrf = TestApp::csrf_from(&client, &link).await;
    let set = client
        .post(&link)
        .form(&[
            ("csrf", csrf.as_str()),
            ("password", "a fresh long passphrase"),
            ("password_confirm", "a fresh long passphrase"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 303);
    assert_eq!(
        owner
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "every session ended"
    );
    assert_eq!(
        client.get(&link).send().await.unwrap().status(),
        404,
        "single use"
    );
    assert_eq!(
        can_sign_in(&app, "owner", "a fresh long passphrase")
            .await
            .status(),
        303
    );

    // A second link expires after 30 minutes.
    let again = forgot("owner@example.test").await;
    assert_eq!(again.status(), 200, "{}", again.text().await.unwrap());
    while app.queue.run_one_pending().await.unwrap().is_some() {}
    let link = link_in(&sink.next_message().await.data, "reset");
    app.clock.advance(std::time::Duration::from_secs(31 * 60));
    assert_eq!(app.client().get(&link).send().await.unwrap().status(), 404);
    app.stop().await;
}
