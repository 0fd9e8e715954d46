//! Mail through a real SMTP server on loopback: the admin's test email, and the durable outbox
//! (`mail.send` jobs) delivering, failing for good without SMTP, and retrying when the server
//! is unreachable.

use hearth::jobs::{EnqueueOptions, JobOutcome};
use hearth::mail::OutgoingMail;
use hearth::service::mail::SEND_MAIL;

use crate::helpers::{TestApp, configure_smtp};
use crate::smtp::SmtpSink;

fn message(to: &str) -> OutgoingMail {
    OutgoingMail {
        to: to.into(),
        subject: "Hello from the outbox".into(),
        text: "plain body".into(),
        html: "<p>html body</p>".into(),
        unsubscribe: None,
    }
}

#[tokio::test]
async fn the_admin_sends_a_test_email_through_smtp() {
    let mut sink = SmtpSink::start();
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    let page = owner
        .get(app.url("/admin/mail"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Mail is off") && page.contains("verify members by hand"),
        "the panel says why"
    );

    configure_smtp(&app, &owner, sink.port).await;
    let csrf = TestApp::csrf_from(&owner, &app.url("/admin/mail")).await;
    let resp = owner
        .post(app.url("/admin/mail/test"))
        .form(&[("csrf", csrf.as_str()), ("to", "owner@example.test")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);

    let mail = sink.next_message().await;
    assert_eq!(mail.to, ["owner@example.test"]);
    assert!(
        mail.data.contains("Subject: Hearth: test email"),
        "{}",
        mail.data
    );
    assert!(
        mail.data
            .contains(r#"From: "Riverside Club" <hearth@example.test>"#),
        "{}",
        mail.data
    );
    assert!(
        mail.data.contains("text/plain") && mail.data.contains("text/html"),
        "both versions are sent"
    );

    let audit = owner
        .get(app.url("/admin/audit"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(audit.contains("mail.smtp_host"), "the change is audited");
    app.stop().await;
}

#[tokio::test]
async fn a_failing_test_email_shows_the_servers_answer() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    // A port where nothing listens.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    configure_smtp(&app, &owner, closed).await;
    let csrf = TestApp::csrf_from(&owner, &app.url("/admin/mail")).await;
    let resp = owner
        .post(app.url("/admin/mail/test"))
        .form(&[("csrf", csrf.as_str()), ("to", "owner@example.test")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 502);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("The test email was not sent")
    );
    app.stop().await;
}

#[tokio::test]
async fn the_outbox_delivers_retries_and_gives_up_without_smtp() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    let due_later = || EnqueueOptions {
        dedupe_key: None,
        run_at: Some(app.clock.now() + jiff::SignedDuration::from_hours(1)),
    };
    use hearth::clock::Clock;

    // No SMTP host: the job fails for good, with a reason staff can read.
    app.queue
        .enqueue(SEND_MAIL, &message("a@example.test"), due_later())
        .await
        .unwrap();
    app.clock.advance(std::time::Duration::from_secs(3600));
    let outcome = app.queue.run_one_pending().await.unwrap();
    assert!(
        matches!(&outcome, Some(JobOutcome::Failed { error, .. }) if error.contains("not configured")),
        "{outcome:?}"
    );

    // Unreachable server: retried later.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    configure_smtp(&app, &owner, closed).await;
    app.queue
        .enqueue(SEND_MAIL, &message("b@example.test"), due_later())
        .await
        .unwrap();
    app.clock.advance(std::time::Duration::from_secs(3600));
    let outcome = app.queue.run_one_pending().await.unwrap();
    assert!(
        matches!(outcome, Some(JobOutcome::Retrying { .. })),
        "{outcome:?}"
    );

    // The server comes up: the retry delivers.
    let mut sink = SmtpSink::start();
    configure_smtp(&app, &owner, sink.port).await;
    app.clock.advance(std::time::Duration::from_secs(60));
    let outcome = app.queue.run_one_pending().await.unwrap();
    assert!(
        matches!(outcome, Some(JobOutcome::Succeeded { .. })),
        "{outcome:?}"
    );
    let mail = sink.next_message().await;
    assert_eq!(mail.to, ["b@example.test"]);
    assert!(mail.data.contains("Hello from the outbox"));
    app.stop().await;
}
